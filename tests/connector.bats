#!/usr/bin/env bats
# aurora-connector: the connectors page - switches, tokens, secrets, URLs, test deliveries.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common

PLATFORMS="grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins cloudbees"

setup() {
	aurora_fresh_db
	unset AURORA_PUBLIC_URL
	STANDIN_PID=
	RECV_PID=
}

teardown() {
	# shellcheck disable=SC2086 # each is one pid or empty
	stop_pids $STANDIN_PID $RECV_PID
}

# connector P: that platform's line of `list --json`
connector() {
	run -0 --separate-stderr aurora-connector list --json
	printf '%s\n' "$output" | jq -c --arg p "$1" 'select(.platform == $p)'
}

# standin STATUS [BODY] [SLEEP]: the HTTP stand-in on a free port, in $STANDIN_PORT;
# each request lands in $BATS_TEST_TMPDIR/standin/. A port that free_port
# found free may still be bound by a client socket: then try another.
standin() {
	local try
	mkdir -p "$BATS_TEST_TMPDIR/standin"
	for try in 1 2 3 4 5; do
		STANDIN_PORT=$(free_port)
		STANDIN_DIR="$BATS_TEST_TMPDIR/standin" STANDIN_STATUS=$1 STANDIN_BODY=${2:-} \
			STANDIN_SLEEP=${3:-0} STANDIN_DB=$AURORA_DB \
			tcpserver -H -R -l localhost 127.0.0.1 "$STANDIN_PORT" "$FIXTURES/connector/standin-http" \
			2> "$BATS_TEST_TMPDIR/standin.err" &
		STANDIN_PID=$!
		for _ in $(seq 1 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$STANDIN_PORT") 2>/dev/null; then
				return 0
			fi
			kill -0 "$STANDIN_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$STANDIN_PID" 2>/dev/null || true
		wait "$STANDIN_PID" 2>/dev/null || true
	done
	cat "$BATS_TEST_TMPDIR/standin.err" >&2
	return 1
}

# the value of header NAME in the request the stand-in recorded
header() {
	sed -n "s/^$1: //Ip" "$BATS_TEST_TMPDIR/standin/request.headers"
}

@test "--help prints the full usage on stdout and exits 0; --version prints the version" {
	run -0 --separate-stderr aurora-connector --help
	assert_output --partial "usage: aurora-connector"
	assert_output --partial "secret P [--value S | --stdin | --clear] [--json]"
	assert_output --partial "test P [--url BASE] [--timeout SEC] [--json]"
	[ -z "$stderr" ]
	run -0 --separate-stderr aurora-connector --version
	assert_output "aurora-connector 0.1.0"
	[ ! -e "$AURORA_DB" ]
}

@test "misuse prints a short usage on stderr and exits 2" {
	run -2 --separate-stderr aurora-connector
	[ -z "$output" ]
	[[ $stderr == *"no command given"* ]]
	[[ $stderr == *"usage: aurora-connector"* ]]
	run -2 --separate-stderr aurora-connector launch grafana
	[[ $stderr == *"unknown command 'launch'"* ]]
	run -2 --separate-stderr aurora-connector enable
	[[ $stderr == *"enable: wrong number of arguments"* ]]
	run -2 --separate-stderr aurora-connector list extra
	run -2 --separate-stderr aurora-connector token grafana --value x
	[[ $stderr == *"token does not take --value"* ]]
	run -2 --separate-stderr aurora-connector rca grafana maybe
	[[ $stderr == *"rca: on or off, not 'maybe'"* ]]
	run -2 --separate-stderr aurora-connector secret grafana --value a --clear
	[[ $stderr == *"exclude each other"* ]]
	run -2 --separate-stderr aurora-connector base-url jenkins https://ci.example.test --clear
	run -2 --separate-stderr aurora-connector test grafana --timeout 0
	run -2 --separate-stderr aurora-connector test grafana --url ftp://x
}

@test "an unknown platform exits 2 with the list of platforms, for every command that takes one" {
	for cmd in enable disable "rca" token secret url base-url credentials test; do
		if [ "$cmd" = rca ]; then
			run -2 --separate-stderr aurora-connector rca graphite on
		else
			run -2 --separate-stderr aurora-connector "$cmd" graphite
		fi
		[[ $stderr == *"unknown platform 'graphite'; platforms: $PLATFORMS"* ]]
	done
}

@test "list creates the database and shows every platform; Jenkins and CloudBees start with RCA off" {
	run -0 --separate-stderr aurora-connector list
	[ -f "$AURORA_DB" ]
	[ "${#lines[@]}" -eq 10 ]
	assert_line --index 0 --regexp '^PLATFORM +ENABLED +RCA +TOKEN +SECRET +RECEIVED +REJECTED +FAILED +LAST RECEIVED +CONNECTED +WEBHOOK URL$'
	assert_line --index 1 --regexp '^grafana +yes +on +- +- +0 +0 +0 +never +no +http://127\.0\.0\.1:9797/api/webhooks/grafana$'
	assert_line --index 2 --regexp '^alertmanager +yes +on +- +n/a +0 +0 +0 +never +no +http://127\.0\.0\.1:9797/api/webhooks/alertmanager$'
	assert_line --index 8 --regexp '^jenkins +yes +off +- +n/a '
	assert_line --index 9 --regexp '^cloudbees +yes +off +- +n/a '
	run -0 --separate-stderr aurora-connector list --json
	[ "${#lines[@]}" -eq 9 ]
	jsonl_ok '
		map(.platform) == ($ps | split(" ")) and
		all(.[]; .v == 1 and .type == "connector" and .enabled == true and .token_set == false
			and .secret_set == false and .connected == false and .received == 0 and .rejected == 0
			and .last_webhook_received == null and .base_url == null
			and .webhook_url == "http://127.0.0.1:9797/api/webhooks/" + .platform) and
		(map(select(.rca == false)) | map(.platform)) == ["jenkins", "cloudbees"] and
		(map(select(.signs)) | map(.platform)) == ["grafana", "pagerduty"]' --arg ps "$PLATFORMS" <<<"$output"
}

@test "list shows counts, the last delivery and connected from the store" {
	aurora-connector list >/dev/null
	now=$(date +%s%3N)
	sql "UPDATE connectors SET received_count = 12, rejected_count = 3, last_received_ms = $now
		WHERE platform = 'datadog'"
	sql "UPDATE connectors SET received_count = 1, last_received_ms = $((now - 25 * 3600 * 1000))
		WHERE platform = 'splunk'"
	connector datadog | json_ok '.received == 12 and .rejected == 3 and .connected == true
		and (.last_webhook_received | test("^20[0-9-]{8}T[0-9:.]{12}Z$"))'
	connector splunk | json_ok '.connected == false and .last_webhook_received != null'
	run -0 --separate-stderr aurora-connector list
	assert_line --regexp '^datadog +yes +on +- +n/a +12 +3 +0 +20[0-9-]{8}T[0-9:.]{12}Z +yes '
}

@test "enable, disable and rca change only what they name" {
	run -0 --separate-stderr aurora-connector disable netdata
	[ -z "$output" ]
	run -0 --separate-stderr aurora-connector rca jenkins on
	run -0 --separate-stderr aurora-connector rca grafana off
	connector netdata | json_ok '.enabled == false and .rca == true'
	connector jenkins | json_ok '.enabled == true and .rca == true'
	connector grafana | json_ok '.enabled == true and .rca == false'
	connector cloudbees | json_ok '.rca == false'
	run -0 --separate-stderr aurora-connector enable netdata
	connector netdata | json_ok '.enabled == true'
	[ "$(sql "SELECT count(*) FROM connectors WHERE enabled = 1")" = 9 ]
}

@test "token prints the webhook URL with ?token= and the Bearer form once, and keeps only its hash" {
	run -0 --separate-stderr aurora-connector token grafana
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} =~ ^http://127\.0\.0\.1:9797/api/webhooks/grafana\?token=([0-9a-f]{64})$ ]]
	token=${BASH_REMATCH[1]}
	assert_line --index 1 "Authorization: Bearer $token"
	[ "$(sql "SELECT token_hash FROM connectors WHERE platform = 'grafana'")" = \
	  "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" ]
	sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	run -1 grep -q "$token" "$AURORA_DB"
	connector grafana | json_ok '.token_set == true and (.webhook_url | contains("token") | not)'
	# rotation: a new token, the old hash is gone
	old=$(sql "SELECT token_hash FROM connectors WHERE platform = 'grafana'")
	run -0 --separate-stderr aurora-connector token grafana
	[[ ${lines[0]} != *"$token"* ]]
	[ "$(sql "SELECT token_hash FROM connectors WHERE platform = 'grafana'")" != "$old" ]
}

@test "token --json prints platform, token and the webhook URL with the token" {
	aurora-connector public-url https://aurora.example.test/hooks/
	run -0 --separate-stderr aurora-connector --json token jenkins
	json_ok '(keys == ["platform","token","webhook_url"]) and .platform == "jenkins"
		and (.token | test("^[0-9a-f]{64}$"))
		and .webhook_url == "https://aurora.example.test/hooks/api/webhooks/jenkins?token=" + .token' <<<"$output"
	token=$(printf '%s\n' "$output" | jq -r .token)
	[ "$(sql "SELECT token_hash FROM connectors WHERE platform = 'jenkins'")" = \
	  "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" ]
}

@test "secret is refused for platforms that do not sign, with the reason" {
	for p in alertmanager datadog netdata dynatrace splunk jenkins cloudbees; do
		run -2 --separate-stderr aurora-connector secret "$p"
		[[ $stderr == *"$p does not sign its deliveries; only grafana and pagerduty take a secret"* ]]
	done
	[ "$(sql "SELECT count(*) FROM connectors WHERE hmac_secret IS NOT NULL")" = 0 ]
}

@test "secret generates one and prints it once; --value, --stdin and --clear set and clear it" {
	run -0 --separate-stderr aurora-connector secret grafana
	[[ $output =~ ^[0-9a-f]{64}$ ]]
	[ "$(sql "SELECT hmac_secret FROM connectors WHERE platform = 'grafana'")" = "$output" ]
	run -0 --separate-stderr aurora-connector secret pagerduty --value 'pd-s3cret/+='
	[ -z "$output" ]
	[ "$(sql "SELECT hmac_secret FROM connectors WHERE platform = 'pagerduty'")" = 'pd-s3cret/+=' ]
	printf '  pasted-secret\r\n' > "$BATS_TEST_TMPDIR/secret"
	run -0 --separate-stderr aurora-connector secret pagerduty --stdin < "$BATS_TEST_TMPDIR/secret"
	[ "$(sql "SELECT hmac_secret FROM connectors WHERE platform = 'pagerduty'")" = 'pasted-secret' ]
	connector pagerduty | json_ok '.secret_set == true'
	run -0 --separate-stderr aurora-connector secret pagerduty --clear
	[ "$(sql "SELECT hmac_secret IS NULL FROM connectors WHERE platform = 'pagerduty'")" = 1 ]
	connector pagerduty | json_ok '.secret_set == false'
}

@test "secret --json; a bad secret on stdin exits 65 and changes nothing" {
	run -0 --separate-stderr aurora-connector secret grafana --json
	json_ok '.platform == "grafana" and .secret_set == true and (.secret | test("^[0-9a-f]{64}$"))' <<<"$output"
	run -0 --separate-stderr aurora-connector secret grafana --json --clear
	json_ok '. == {"platform":"grafana","secret_set":false}' <<<"$output"
	run -65 --separate-stderr aurora-connector secret pagerduty --stdin < /dev/null
	[[ $stderr == *"one line with the secret"* ]]
	printf 'line one\nline two\n' > "$BATS_TEST_TMPDIR/two"
	run -65 --separate-stderr aurora-connector secret pagerduty --stdin < "$BATS_TEST_TMPDIR/two"
	head -c 300 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/long"
	run -65 --separate-stderr aurora-connector secret pagerduty --stdin < "$BATS_TEST_TMPDIR/long"
	run -2 --separate-stderr aurora-connector secret pagerduty --value ""
	[ "$(sql "SELECT count(*) FROM connectors WHERE hmac_secret IS NOT NULL")" = 0 ]
}

@test "url prints the webhook URL without any secret; public-url prints, sets and yields to the environment" {
	aurora-connector token splunk >/dev/null
	run -0 --separate-stderr aurora-connector url splunk
	assert_output "http://127.0.0.1:9797/api/webhooks/splunk"
	run -0 --separate-stderr aurora-connector public-url
	assert_output "http://127.0.0.1:9797"
	run -0 --separate-stderr aurora-connector public-url https://aurora.example.test:8443/
	[ "$(sql "SELECT value FROM settings WHERE key = 'public_url'")" = "https://aurora.example.test:8443" ]
	run -0 --separate-stderr aurora-connector public-url
	assert_output "https://aurora.example.test:8443"
	run -0 --separate-stderr aurora-connector url splunk
	assert_output "https://aurora.example.test:8443/api/webhooks/splunk"
	AURORA_PUBLIC_URL=http://10.0.0.5:9797 run -0 --separate-stderr aurora-connector url splunk
	assert_output "http://10.0.0.5:9797/api/webhooks/splunk"
	run -2 --separate-stderr aurora-connector public-url "aurora.example.test"
	run -2 --separate-stderr aurora-connector public-url "https://a.example.test/?token=x"
	[ "$(sql "SELECT value FROM settings WHERE key = 'public_url'")" = "https://aurora.example.test:8443" ]
}

@test "base-url prints, sets and clears the platform's own URL" {
	run -0 --separate-stderr aurora-connector base-url jenkins
	[ -z "$output" ]
	run -0 --separate-stderr aurora-connector base-url jenkins https://ci.example.test/jenkins/
	run -0 --separate-stderr aurora-connector base-url jenkins
	assert_output "https://ci.example.test/jenkins/"
	connector jenkins | json_ok '.base_url == "https://ci.example.test/jenkins/"'
	run -2 --separate-stderr aurora-connector base-url jenkins "not a url"
	run -0 --separate-stderr aurora-connector base-url jenkins --clear
	[ "$(sql "SELECT base_url IS NULL FROM connectors WHERE platform = 'jenkins'")" = 1 ]
}

@test "credentials: the API user and token of jenkins and cloudbees, the token from stdin only and never printed" {
	local tok=jenkins-api-token-0123456789abcdef
	run -0 --separate-stderr aurora-connector credentials jenkins
	assert_output "jenkins: no credentials"
	run -0 --separate-stderr aurora-connector credentials jenkins aurora-reader --stdin <<<"  $tok  "
	[ -z "$output" ]
	[ "$(sql "SELECT api_user || ' ' || api_token FROM connectors WHERE platform = 'jenkins'")" = "aurora-reader $tok" ]
	run -0 --separate-stderr aurora-connector credentials jenkins
	assert_output "jenkins: user aurora-reader, API token set"
	run -0 --separate-stderr aurora-connector credentials jenkins --json
	json_ok '. == {platform: "jenkins", user: "aurora-reader", token_set: true}' <<<"$output"
	connector jenkins | json_ok '.credentials_set == true and .credentials_user == "aurora-reader"'
	connector cloudbees | json_ok '.credentials_set == false and .credentials_user == null'
	# the token is in no output of any command
	run -0 --separate-stderr aurora-connector list
	local out="$output $stderr"
	run -0 --separate-stderr aurora-connector list --json
	out+=" $output $stderr"
	[[ $out != *"$tok"* ]]
	# never on the command line; a user, and only for jenkins and cloudbees
	run -2 --separate-stderr aurora-connector credentials jenkins aurora-reader
	[[ $stderr == *"on stdin"* ]]
	run -2 --separate-stderr aurora-connector credentials jenkins aurora-reader "$tok"
	run -2 --separate-stderr aurora-connector credentials jenkins --stdin <<<"$tok"
	run -2 --separate-stderr aurora-connector credentials jenkins 'a:b' --stdin <<<"$tok"
	run -2 --separate-stderr aurora-connector credentials grafana
	[[ $stderr == *"jenkins and cloudbees"* ]]
	run -65 --separate-stderr aurora-connector credentials cloudbees someone --stdin </dev/null
	[ "$(sql "SELECT api_user || api_token FROM connectors WHERE platform = 'jenkins'")" = "aurora-reader$tok" ]
	run -0 --separate-stderr aurora-connector credentials jenkins --clear
	[ "$(sql "SELECT api_user IS NULL AND api_token IS NULL FROM connectors WHERE platform = 'jenkins'")" = 1 ]
	run -0 --separate-stderr aurora-connector credentials jenkins
	assert_output "jenkins: no credentials"
	# a base URL with a password in it is refused: it would be printed
	run -2 --separate-stderr aurora-connector base-url jenkins "https://u:$tok@ci.example.test/"
	[[ $stderr != *"$tok"* ]]
	[ "$(sql "SELECT base_url IS NULL FROM connectors WHERE platform = 'jenkins'")" = 1 ]
}

@test "options mean the same before and after the command" {
	other="$BATS_TEST_TMPDIR/other.db"
	unset AURORA_DB
	mkdir "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd"
	run -0 --separate-stderr aurora-connector --db "$other" rca cloudbees on
	run -0 --separate-stderr aurora-connector --db "$other" list --json
	first=$output
	run -0 --separate-stderr aurora-connector list --db "$other" --json
	[ "$output" = "$first" ]
	run -0 --separate-stderr aurora-connector --json list --db="$other"
	[ "$output" = "$first" ]
	jsonl_ok 'map(select(.platform == "cloudbees"))[0].rca == true' <<<"$output"
	[ ! -e ./aurora.db ]
}

@test "test: nothing listening is a temporary failure (75) and the test token is spent" {
	port=$(free_port)
	run -75 --separate-stderr aurora-connector test grafana --url "http://127.0.0.1:$port"
	[[ $stderr == *"grafana: no answer from http://127.0.0.1:$port/api/webhooks/grafana"* ]]
	run -75 --separate-stderr aurora-connector test datadog --url "http://127.0.0.1:$port" --json
	json_ok '.type == "connector_test" and .platform == "datadog" and .status == null
		and .ok == false and (.error | length > 0)' <<<"$output"
	[ "$(sql "SELECT count(*) FROM connectors WHERE test_token_hash IS NOT NULL")" = 0 ]
}

@test "test: the request carries the sample, a stored one-use Bearer token, and the PagerDuty signature and id" {
	run -0 aurora-connector secret pagerduty --value pd-secret
	standin "401 Unauthorized" '{"error":"bad token"}'
	start=$(date +%s%3N)
	run -1 --separate-stderr aurora-connector test pagerduty --url "http://127.0.0.1:$STANDIN_PORT/"
	assert_output --regexp '^pagerduty: HTTP 401 in [0-9.]+ ms$'
	[[ $stderr == *'pagerduty: the receiver answered 401: {"error":"bad token"}'* ]]
	head -n 1 "$BATS_TEST_TMPDIR/standin/request.headers" | grep -qx 'POST /api/webhooks/pagerduty HTTP/1.1'
	[ "$(header Content-Type)" = application/json ]
	token=$(header Authorization | sed -n 's/^Bearer \([0-9a-f]\{64\}\)$/\1/p')
	[ -n "$token" ]
	# during the request the store held the token's hash, valid for about a minute
	IFS='|' read -r hash expires < "$BATS_TEST_TMPDIR/standin/connector.row"
	[ "$hash" = "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" ]
	[ "$expires" -ge $((start + 59000)) ]
	[ "$expires" -le $((start + 62000)) ]
	# afterwards it is spent
	[ "$(sql "SELECT test_token_hash IS NULL FROM connectors WHERE platform = 'pagerduty'")" = 1 ]
	body="$BATS_TEST_TMPDIR/standin/request.body"
	expect="v1=$(openssl dgst -sha256 -hmac pd-secret -r < "$body" | cut -d' ' -f1)"
	[ "$(header X-PagerDuty-Signature)" = "$expect" ]
	[[ $(header X-Webhook-Id) =~ ^[0-9a-f]{32}$ ]]
	json_ok '.event.event_type == "incident.triggered" and .event.resource_type == "incident"
		and (.event.data.number | type) == "number" and .event.data.status == "triggered"' <"$body"
	run -1 grep -q '@NOW\|@NONCE' "$body"
}

@test "test: Grafana signs '<unix>:<body>' and sends the timestamp header; times are now" {
	run -0 --separate-stderr aurora-connector secret grafana --json
	secret=$(printf '%s\n' "$output" | jq -r .secret)
	standin "400 Bad Request" '{"error":"nope"}'
	run -1 --separate-stderr aurora-connector test grafana --url "http://127.0.0.1:$STANDIN_PORT"
	stamp=$(header X-Grafana-Alerting-Signature-Timestamp)
	now=$(date +%s)
	[ "$stamp" -ge $((now - 30)) ]
	[ "$stamp" -le "$now" ]
	body="$BATS_TEST_TMPDIR/standin/request.body"
	expect=$({ printf '%s:' "$stamp"; cat "$body"; } | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
	[ "$(header X-Grafana-Alerting-Signature)" = "$expect" ]
	json_ok '.version == "1" and .alerts[0].labels.alertname == "TestAlert"
		and (.alerts[0].startsAt | startswith($day)) and (.alerts[0].fingerprint | test("^[0-9a-f]{16}$"))' --arg day "$(date -u +%Y-%m-%d)" <"$body"
	[ -z "$(header X-Webhook-Id)" ]
}

@test "test: platforms without a secret send no signature; every sample is valid JSON with no placeholder left" {
	standin "404 Not Found" '{"error":"unknown or disabled platform"}'
	for p in $PLATFORMS; do
		rm -f "$BATS_TEST_TMPDIR/standin/request.body"
		run -1 --separate-stderr aurora-connector test "$p" --url "http://127.0.0.1:$STANDIN_PORT"
		body="$BATS_TEST_TMPDIR/standin/request.body"
		json_ok 'type == "object"' <"$body"
		run -1 grep -q '@NOW\|@NONCE\|@@' "$body"
		[ -z "$(header X-Grafana-Alerting-Signature)" ]
		[ -z "$(header X-PagerDuty-Signature)" ]
	done
}

@test "test: a 5xx or 429 from the receiver is temporary (75), another 4xx exits 1 with its error" {
	standin "503 Service Unavailable" '{"error":"store busy"}'
	run -75 --separate-stderr aurora-connector test alertmanager --url "http://127.0.0.1:$STANDIN_PORT"
	assert_output --regexp '^alertmanager: HTTP 503 in [0-9.]+ ms$'
	[[ $stderr == *'the receiver answered 503: {"error":"store busy"}'* ]]
	kill "$STANDIN_PID"; wait "$STANDIN_PID" 2>/dev/null || true
	standin "429 Too Many Requests" '{"error":"rate limited"}'
	run -75 --separate-stderr aurora-connector test splunk --url "http://127.0.0.1:$STANDIN_PORT" --json
	json_ok '.status == 429 and .ok == false and .response == {"error":"rate limited"}' <<<"$output"
	kill "$STANDIN_PID"; wait "$STANDIN_PID" 2>/dev/null || true
	standin "413 Payload Too Large" '{"error":"too large"}'
	run -1 --separate-stderr aurora-connector test jenkins --url "http://127.0.0.1:$STANDIN_PORT"
	[[ $stderr == *'jenkins: the receiver answered 413: {"error":"too large"}'* ]]
}

@test "test: a receiver that does not answer in --timeout is temporary (75)" {
	standin "202 Accepted" '{"accepted":true,"id":1}' 5
	started=$(date +%s)
	run -75 --separate-stderr aurora-connector test dynatrace --url "http://127.0.0.1:$STANDIN_PORT" --timeout 1
	[ $(($(date +%s) - started)) -lt 4 ]
	[[ $stderr == *"dynatrace: no answer from"* ]]
}

@test "test: without --url the delivery goes to the public URL; a disabled platform is warned about" {
	standin "404 Not Found" '{"error":"platform disabled"}'
	aurora-connector public-url "http://127.0.0.1:$STANDIN_PORT"
	aurora-connector disable netdata
	run -1 --separate-stderr aurora-connector test netdata
	[[ $stderr == *"netdata is disabled"* ]]
	head -n 1 "$BATS_TEST_TMPDIR/standin/request.headers" | grep -qx 'POST /api/webhooks/netdata HTTP/1.1'
	json_ok '.alarm == "test_alarm" and .chart == "test.chart" and (.when | type) == "number"
		and (.unique_id | type) == "number"' <"$BATS_TEST_TMPDIR/standin/request.body"
}

# The success path needs the real receiver (cmd/aurora-recv.c); the failure
# paths above use the stand-in. Skipped only while aurora-recv is not built.
@test "test through aurora-recv: every platform's sample is accepted (202), stored with test=1, connected" {
	[ -x "$AURORA_BIN/aurora-recv" ] || skip "aurora-recv is not built yet (cmd/aurora-recv.c)"
	run -0 aurora-connector secret grafana
	run -0 aurora-connector secret pagerduty
	port_file="$BATS_TEST_TMPDIR/port"
	aurora-recv --listen 127.0.0.1:0 --port-file "$port_file" 2> "$BATS_TEST_TMPDIR/recv.err" &
	RECV_PID=$!
	for _ in $(seq 1 200); do [ -s "$port_file" ] && break; sleep 0.05; done
	port=$(cat "$port_file")
	wait_port "$port"
	n=0
	for p in $PLATFORMS; do
		n=$((n + 1))
		run -0 --separate-stderr aurora-connector test "$p" --url "http://127.0.0.1:$port"
		assert_output --regexp "^$p: HTTP 202 in [0-9.]+ ms, inbox id $n\$"
	done
	# a second test is a new delivery, not a sender's retry
	run -0 --separate-stderr aurora-connector test grafana --url "http://127.0.0.1:$port" --json
	json_ok '.status == 202 and .ok == true and .response.accepted == true
		and .response.id == 10 and (.response.duplicate // false) == false' <<<"$output"
	run -0 --separate-stderr aurora-inbox list --json
	jsonl_ok '
		length == 10 and all(.[]; .test == true and (.body | type) == "object")
		and (.[0:9] | map(.platform)) == ($ps | split(" "))' --arg ps "$PLATFORMS" <<<"$output"
	run -0 --separate-stderr aurora-connector list --json
	jsonl_ok 'all(.[]; .connected == true and .last_test_ok != null)' <<<"$output"
	[ "$(sql "SELECT count(*) FROM connectors WHERE test_token_hash IS NOT NULL")" = 0 ]
}

# --- operator tokens (the receiver's incident API) ------------------------------------

@test "operator-token creates a token, prints it once and keeps only its SHA-256; again it rotates" {
	run -0 --separate-stderr aurora-connector operator-token alice
	assert_output --regexp '^[0-9a-f]{64}$'
	local first=$output
	[ "$(sql "SELECT token_hash FROM operator_tokens WHERE name = 'alice'")" = \
		"$(printf '%s' "$first" | sha256sum | cut -d' ' -f1)" ]
	[ "$(sql "SELECT count(*) FROM operator_tokens WHERE token_hash LIKE '%$first%'")" = 0 ]
	sql "SELECT created_at FROM operator_tokens" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'
	run -0 --separate-stderr aurora-connector operator-token alice --json
	json_ok '.name == "alice" and (.token | test("^[0-9a-f]{64}$")) and .rotated == true' <<<"$output"
	local second
	second=$(jq -r .token <<<"$output")
	[ "$second" != "$first" ]
	[ "$(sql "SELECT count(*) FROM operator_tokens")" = 1 ]
	[ "$(sql "SELECT token_hash FROM operator_tokens")" = "$(printf '%s' "$second" | sha256sum | cut -d' ' -f1)" ]
	run -0 --separate-stderr aurora-connector operator-token bob --json
	json_ok '.name == "bob" and .rotated == false' <<<"$output"
}

@test "operator-tokens lists names and creation times, never a token or its hash" {
	run -0 --separate-stderr aurora-connector operator-tokens
	assert_output "NAME                             CREATED"
	run -0 --separate-stderr aurora-connector operator-tokens --json
	assert_output ""
	run -0 --separate-stderr aurora-connector operator-token ops
	local token=$output
	run -0 --separate-stderr aurora-connector operator-token dashboard.wall-1
	run -0 --separate-stderr aurora-connector operator-tokens
	assert_line --index 0 --regexp '^NAME +CREATED$'
	assert_line --index 1 --regexp '^dashboard\.wall-1 +[0-9]{4}-[0-9]{2}-[0-9]{2}T'
	assert_line --index 2 --regexp '^ops +[0-9]{4}-'
	refute_output --partial "$token"
	run -0 --separate-stderr aurora-connector operator-tokens --json
	jsonl_ok 'map(.name) == ["dashboard.wall-1", "ops"]
		and all(.[]; .v == 1 and .type == "operator_token" and keys == ["created_at", "name", "type", "v"])' <<<"$output"
	refute_output --partial "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
}

@test "revoke-operator-token deletes the token; an unknown name exits 1; bad names are usage errors" {
	run -0 --separate-stderr aurora-connector operator-token ops
	run -0 --separate-stderr aurora-connector revoke-operator-token ops
	[ "$(sql "SELECT count(*) FROM operator_tokens")" = 0 ]
	run -1 --separate-stderr aurora-connector revoke-operator-token ops
	[[ $stderr == *"no operator token named 'ops'"* ]]
	for name in '' 'two words' '.leading-dot' "$(printf 'x%.0s' $(seq 1 65))" 'semi;colon'; do
		run -2 --separate-stderr aurora-connector operator-token "$name"
		[[ $stderr == *"is not a name"* ]] || fail "name '$name': $stderr"
	done
	run -2 --separate-stderr aurora-connector operator-token
	run -2 --separate-stderr aurora-connector operator-tokens extra
	run -2 --separate-stderr aurora-connector revoke-operator-token ops --json
	[ "$(sql "SELECT count(*) FROM operator_tokens")" = 0 ]
}

@test "a file that is not an aurora database is refused (78) and left untouched" {
	not_aurora_files
	local f
	for f in other text; do
		run -78 --separate-stderr aurora-connector --db "$BATS_TEST_TMPDIR/$f.db" list
		[[ $stderr == *"$f.db is not an aurora database"* ]] || fail "stderr: $stderr"
		run -78 --separate-stderr aurora-connector --db "$BATS_TEST_TMPDIR/$f.db" token grafana
		assert_output ""
	done
	not_aurora_untouched
}
