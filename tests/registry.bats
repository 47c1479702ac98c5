#!/usr/bin/env bats
# Platforms an operator adds: `aurora-connector add NAME` registers one in
# the connectors table (the registry of platforms), aurora-recv serves its
# webhook and status routes without a restart, and aurora-normalize reads
# its deliveries with the operator's jq mapping. Zabbix stands in for any
# platform aurora does not know.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/recv
load helpers/pipeline

ZABBIX_MAPPINGS="$FIXTURES/normalize/mappings/zabbix"
PROBLEM="$FIXTURES/normalize/zabbix-problem.json"
RECOVERY="$FIXTURES/normalize/zabbix-recovery.json"
BUILTINS="grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins cloudbees"

setup() {
	aurora_fresh_db
	unset AURORA_PUBLIC_URL AURORA_MAPPINGS
	RECV_PID=
	PIPE_PID=
	PIDS=()
}

teardown() {
	pipeline_stop
	recv_teardown
}

# add_zabbix [OPTION...]: aurora-connector add zabbix --json; the token in $TOKEN
add_zabbix() {
	run -0 --separate-stderr aurora-connector add zabbix --json "$@"
	[ -n "$output" ]
	TOKEN=$(jq -ern 'input | .token' <<<"$output") || fail "no token in: $output"
}

# answer FILTER: the last HTTP answer's body satisfies FILTER (fails on an empty body)
answer() {
	jq -en "input | $1" <"$RESP" >/dev/null || fail "answer '$(cat "$RESP")' does not satisfy $1"
}

# names: the platforms aurora-connector list --json shows, space-separated
names() {
	run -0 --separate-stderr aurora-connector list --json
	[ -n "$output" ]
	jq -rn '[inputs | .platform] | join(" ")' <<<"$output"
}

# post_until PLATFORM FILE STATUS [CURL-ARGS...]: post until the answer is
# STATUS, for 3 s at most (the receiver's cache age is 1 s); fails otherwise
post_until() {
	local platform=$1 file=$2 want=$3
	shift 3
	for _ in $(seq 1 60); do
		post "$platform" "$file" "$@"
		[ "$output" = "$want" ] && return 0
		sleep 0.05
	done
	fail "POST $platform answered $output, not $want, for 3 s: $(cat "$RESP")"
}

@test "an added platform end to end: Zabbix over HTTP with its token, the real pipeline, an incident, its recovery resolves it" {
	add_zabbix
	recv_start
	NORMALIZE_OPTS=(--mappings "$ZABBIX_MAPPINGS")
	CORRELATE_OPTS=(--quiet-period 0)
	pipeline_start

	post zabbix "$PROBLEM" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	answer '.accepted == true and (.id | type) == "number"'
	wait_lines "$BATS_TEST_TMPDIR/live.jsonl" 1 "$BATS_TEST_TMPDIR/pipeline.err"
	run -0 jq -enr 'input | select(.type == "decision") | [.action, .source, .status, .severity, .service, .host, .started_at, .incident_id] | @tsv' \
		"$BATS_TEST_TMPDIR/live.jsonl"
	assert_output "$(printf 'created\tzabbix\tfiring\thigh\tstorefront\tweb-2\t2026-03-04T10:15:00.000Z\t1')"
	run -0 --separate-stderr aurora-incident show 1 --json
	[ -n "$output" ]
	json_ok '.status == "investigating" and .severity == "high" and .service == "storefront"
		and .source_type == "zabbix" and (.title | test("High CPU utilization on web-2"))' <<<"$output"

	post zabbix "$RECOVERY" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	wait_lines "$BATS_TEST_TMPDIR/live.jsonl" 2 "$BATS_TEST_TMPDIR/pipeline.err"
	run -0 jq -enr '[inputs] | .[1] | [.action, .status, .incident_id, .ended_at] | @tsv' "$BATS_TEST_TMPDIR/live.jsonl"
	assert_output "$(printf 'resolved\tresolved\t1\t2026-03-04T10:41:00.000Z')"
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.status == "resolved"' <<<"$output"
	# nothing on the pipeline's stderr: every record had its mapping
	run -0 cat "$BATS_TEST_TMPDIR/pipeline.err"
	assert_output ''
}

@test "an added platform's webhook needs its token: none or a wrong one is 401, counted, nothing stored" {
	add_zabbix
	recv_start
	post zabbix "$PROBLEM"
	assert_output 401
	answer '.error | test("missing token")'
	post zabbix "$PROBLEM" -H 'Authorization: Bearer wrong'
	assert_output 401
	answer '.error == "wrong token for platform zabbix"'
	assert_equal "$(rows)" 0
	post zabbix "$PROBLEM" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	http -H 'Content-Type: application/json' --data-binary "@$RECOVERY" "$RECV_URL/api/webhooks/zabbix?token=$TOKEN"
	assert_output 202
	assert_equal "$(rows "WHERE platform = 'zabbix'")" 2
	for _ in $(seq 1 100); do
		[ "$(sqlite3 "$AURORA_DB" "SELECT rejected_count FROM connectors WHERE platform = 'zabbix'")" = 2 ] && break
		sleep 0.05
	done
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT received_count || ' ' || rejected_count FROM connectors WHERE platform = 'zabbix'")" "2 2"
}

@test "--hmac-header: token only until a secret is set, then the hex HMAC-SHA256 of the body in that header" {
	add_zabbix --hmac-header X-Zabbix-Signature
	json_ok '.platform == "zabbix" and .added == true and .hmac_header == "X-Zabbix-Signature"
		and (.token as $t | .webhook_url | endswith("/api/webhooks/zabbix?token=" + $t))' <<<"$output"
	[[ $stderr == *"deliveries are checked by token only until a secret is set (aurora-connector secret zabbix)"* ]]
	recv_start
	post zabbix "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202

	set_secret zabbix s3cret
	run -0 --separate-stderr aurora-connector list --json
	jq -en '[inputs | select(.platform == "zabbix")] | length == 1 and .[0].signs == true and .[0].secret_set == true' <<<"$output"
	post_until zabbix "$(body 2)" 401 -H "Authorization: Bearer $TOKEN"
	answer '.error == "missing X-Zabbix-Signature header (the HMAC-SHA256 of the body, in hex)"'
	post zabbix "$(body 2)" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: $(hmac other "$(body 2)")"
	assert_output 401
	answer '.error == "X-Zabbix-Signature does not match the body"'
	post zabbix "$(body 2)" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: $(hmac s3cret "$(body 3)")"
	assert_output 401
	post zabbix "$(body 2)" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: nothex"
	assert_output 401
	answer '.error == "X-Zabbix-Signature is not a SHA-256 hex digest"'
	# the right one, in either case, with or without a sha256= prefix; the header name in any case
	post zabbix "$(body 2)" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: $(hmac s3cret "$(body 2)")"
	assert_output 202
	post zabbix "$(body 4)" -H "Authorization: Bearer $TOKEN" \
		-H "x-zabbix-signature: sha256=$(hmac s3cret "$(body 4)" | tr a-f A-F)"
	assert_output 202
	# a signature does not stand in for the token
	post zabbix "$(body 5)" -H "X-Zabbix-Signature: $(hmac s3cret "$(body 5)")"
	assert_output 401
	assert_equal "$(rows "WHERE platform = 'zabbix'")" 3
	# a platform added without the header takes no secret
	run -0 --separate-stderr aurora-connector add plain
	run -2 --separate-stderr aurora-connector secret plain --value x
	[[ $stderr == *"plain was added without --hmac-header: it takes no secret"* ]]
}

@test "a platform added while aurora-recv runs is served without a restart, and a removed one is 404 again" {
	new_token grafana
	GRAFANA_TOKEN=$TOKEN
	recv_start
	post zabbix "$PROBLEM" -H 'Authorization: Bearer x'
	assert_output 404
	answer '.error | test("unknown platform .zabbix.: aurora-connector list shows the platforms, aurora-connector add registers one")'
	add_zabbix
	post_until zabbix "$PROBLEM" 202 -H "Authorization: Bearer $TOKEN"
	answer '.accepted == true'
	# the built-ins are still served beside it
	post grafana "$(body 1)" -H "Authorization: Bearer $GRAFANA_TOKEN"
	assert_output 202
	run -0 --separate-stderr aurora-connector remove zabbix
	post_until zabbix "$RECOVERY" 404 -H "Authorization: Bearer $TOKEN"
	answer '.error | test("unknown platform .zabbix.")'
	# and back again, with a new token
	add_zabbix
	post_until zabbix "$RECOVERY" 202 -H "Authorization: Bearer $TOKEN"
	assert_equal "$(rows "WHERE platform = 'zabbix'")" 2
}

@test "add refuses bad names with exit 2 and a built-in or existing one with exit 1, saying why" {
	for name in Zabbix _zabbix 'zab bix' 'zab/bix' 'zäbbix' "$(printf 'a%.0s' $(seq 1 33))"; do
		run -2 --separate-stderr aurora-connector add "$name"
		[[ $stderr == *"add: '$name' is not a platform name: 1 to 32 of a-z 0-9 - _, starting with a letter or digit"* ]]
	done
	run -2 --separate-stderr aurora-connector add -- -zabbix
	[[ $stderr == *"add: '-zabbix' is not a platform name"* ]]
	run -2 --separate-stderr aurora-connector add zabbix --hmac-header 'X Sig'
	[[ $stderr == *"'X Sig' is not a header name for the signature"* ]]
	run -2 --separate-stderr aurora-connector add zabbix --hmac-header Authorization
	run -1 --separate-stderr aurora-connector add grafana
	[[ $stderr == *"add: grafana is a built-in platform: it is there already"* ]]
	assert_equal "$(names)" "$BUILTINS"

	run -0 --separate-stderr aurora-connector add "$(printf 'a%.0s' $(seq 1 32))"
	run -0 --separate-stderr aurora-connector add zabbix-6_0
	[[ $stderr == *"zabbix-6_0: added; aurora-normalize needs its mapping, zabbix-6_0.jq in the mappings directory"* ]]
	assert_line --index 0 --regexp '^http://127\.0\.0\.1:9797/api/webhooks/zabbix-6_0\?token=[0-9a-f]{64}$'
	assert_line --index 1 --regexp '^Authorization: Bearer [0-9a-f]{64}$'
	run -1 --separate-stderr aurora-connector add zabbix-6_0
	[[ $stderr == *"add: platform zabbix-6_0 exists already"* ]]
	assert_equal "$(names)" "$BUILTINS $(printf 'a%.0s' $(seq 1 32)) zabbix-6_0"
	# only the hash of the token is kept
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT added, length(token_hash) FROM connectors WHERE platform = 'zabbix-6_0'")" "1|64"
	run -2 --separate-stderr aurora-connector add
	run -2 --separate-stderr aurora-connector token --hmac-header X grafana
}

@test "remove: an added platform goes and its inbox rows stay; a built-in cannot be removed" {
	add_zabbix
	recv_start
	post zabbix "$PROBLEM" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	run -0 --separate-stderr aurora-connector remove zabbix -v
	[[ $stderr == *"zabbix: removed; its inbox rows stay"* ]]
	assert_equal "$(names)" "$BUILTINS"
	assert_equal "$(rows "WHERE platform = 'zabbix'")" 1
	run -0 --separate-stderr aurora-inbox list --platform zabbix --json
	[ -n "$output" ]
	json_ok '.platform == "zabbix" and .body.trigger_id == "20455"' <<<"$output"
	run -2 --separate-stderr aurora-connector remove zabbix
	[[ $stderr == *"unknown platform 'zabbix'; platforms: $BUILTINS (aurora-connector add NAME registers one)"* ]]
	run -2 --separate-stderr aurora-connector token zabbix
	run -2 --separate-stderr aurora-inbox list --platform nosuch
	[[ $stderr == *"unknown platform 'nosuch'; platforms: $BUILTINS"* ]]

	for p in $BUILTINS; do
		run -1 --separate-stderr aurora-connector remove "$p"
		[[ $stderr == *"remove: $p is a built-in platform and cannot be removed (aurora-connector disable $p refuses its deliveries)"* ]]
	done
	assert_equal "$(names)" "$BUILTINS"
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT count(*) FROM connectors")" 9
}

@test "GET /api/NAME/status and the connectors page show an added platform; an unknown one is 404" {
	add_zabbix --hmac-header X-Zabbix-Signature
	new_operator_token ops
	AURORA_PUBLIC_URL=https://aurora.example.test recv_start
	api /api/zabbix/status
	assert_output 200
	answer '.platform == "zabbix" and .added == true and .enabled == true and .connected == false
		and .webhook_url == "https://aurora.example.test/api/webhooks/zabbix"
		and .last_webhook_received == null and .received == 0'
	post zabbix "$PROBLEM" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	api /api/zabbix/status
	assert_output 200
	answer '.connected == true and .received == 1 and .rejected == 0'
	api /api/grafana/status
	assert_output 200
	answer '.platform == "grafana" and .added == false'
	api /api/nosuch/status
	assert_output 404
	answer '.error == "unknown platform '"'nosuch'"'"'
	http "$RECV_URL/api/zabbix/status"
	assert_output 401

	api /api/connectors
	assert_output 200
	answer 'map(.platform) == ["grafana","alertmanager","pagerduty","datadog","netdata","dynatrace","splunk","jenkins","cloudbees","zabbix"]
		and (.[9] | .added == true and .signs == true and .hmac_header == "X-Zabbix-Signature" and .token_set == true
			and .received == 1)'
	# the page's actions work on it; its test webhook says there is no sample to send
	api -X POST -H 'Content-Type: application/json' --data-binary '{}' /api/connectors/zabbix/disable
	assert_output 200
	answer '.platform == "zabbix" and .enabled == false'
	post_until zabbix "$RECOVERY" 404 -H "Authorization: Bearer $TOKEN"
	answer '.error == "platform zabbix is disabled"'
	api -X POST -H 'Content-Type: application/json' --data-binary '{}' /api/connectors/zabbix/test
	assert_output 400
	answer '.error | test("zabbix was added by an operator: aurora has no sample payload of it")'
	api -X POST -H 'Content-Type: application/json' --data-binary '{}' /api/connectors/nosuch/enable
	assert_output 404
}

@test "aurora-normalize names the fix when an added platform has no mapping" {
	add_zabbix
	recv_start
	post zabbix "$PROBLEM" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	run -0 --separate-stderr aurora-inbox list --platform zabbix --json
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -1 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw.jsonl"
	# the delivery's error record, for aurora-correlate to write down (aurora(7))
	json_ok '.type == "error" and .platform == "zabbix" and (.reason | test("write zabbix.jq"))' <<<"$output"
	[[ $stderr == *"unknown platform \"zabbix\": no built-in mapping: write zabbix.jq in a mappings directory and give it with --mappings DIR or \$AURORA_MAPPINGS"* ]]
	mkdir "$BATS_TEST_TMPDIR/maps"
	run -1 --separate-stderr aurora-normalize --mappings "$BATS_TEST_TMPDIR/maps" "$BATS_TEST_TMPDIR/raw.jsonl"
	[[ $stderr == *"unknown platform \"zabbix\": no built-in mapping and none in the mappings directory: add $BATS_TEST_TMPDIR/maps/zabbix.jq"* ]]
	# the file it names is the fix
	cp "$ZABBIX_MAPPINGS/zabbix.jq" "$BATS_TEST_TMPDIR/maps/zabbix.jq"
	AURORA_MAPPINGS="$BATS_TEST_TMPDIR/maps" run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw.jsonl"
	json_ok '.type == "alert" and .source == "zabbix" and .dedup_key == "20455/web-2"' <<<"$output"
}

@test "one-connection mode (tcpserver) serves an added platform too, and a removed one is 404" {
	add_zabbix --hmac-header X-Zabbix-Signature
	set_secret zabbix s3cret
	tcpserver -1 -H -R -l localhost 127.0.0.1 0 aurora-recv --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/recv.log" >"$BATS_TEST_TMPDIR/tcp.out" 2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	PIDS+=("$!")
	tcp_wait
	post zabbix "$PROBLEM" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: $(hmac s3cret "$PROBLEM")"
	assert_output 202
	answer '.accepted == true'
	post zabbix "$RECOVERY" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: $(hmac s3cret "$PROBLEM")"
	assert_output 401
	run -0 --separate-stderr aurora-connector remove zabbix
	# each connection is a new process: the removal counts at once
	post zabbix "$RECOVERY" -H "Authorization: Bearer $TOKEN" -H "X-Zabbix-Signature: $(hmac s3cret "$RECOVERY")"
	assert_output 404
	assert_equal "$(rows "WHERE platform = 'zabbix'")" 1
}
