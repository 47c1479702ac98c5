#!/usr/bin/env bats
# recv.bats - aurora-recv: every route and status, tokens and signatures,
# limits, each launch mode for real (--listen, systemd-socket-activate with
# and without Accept, --inetd, tcpserver), and durability under concurrency
# and kill -9. Real processes, real sockets on 127.0.0.1, real SQLite files.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv

setup() {
	aurora_fresh_db
	# bytes and connections here, not payloads: any JSON is a delivery (shapes: door.bats)
	export AURORA_SHAPE_CHECK=off
	RECV_PID=
	LOCK_PID=
	PIDS=()
	export AURORA_PUBLIC_URL=https://aurora.example.test
}

teardown() {
	recv_teardown
}

# --- the command line -------------------------------------------------------

@test "--help prints the whole usage on stdout and exits 0" {
	run -0 --separate-stderr aurora-recv --help
	assert_output --partial 'usage: aurora-recv'
	assert_output --partial '--max-batch N'
	assert_output --partial '--grafana-timestamp-header NAME'
	assert_equal "$stderr" ""
}

@test "--version prints the version and exits 0" {
	run -0 --separate-stderr aurora-recv --version
	assert_output --regexp '^aurora-recv [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "a bad option, value or argument exits 2 with a short usage on stderr" {
	run -2 --separate-stderr aurora-recv --no-such-option
	assert_output ""
	[[ $stderr == *"unknown option --no-such-option"* ]]
	[[ $stderr == *"usage: aurora-recv"* ]]
	run -2 --separate-stderr aurora-recv --max-body 0 --listen 127.0.0.1:0
	[[ $stderr == *"--max-body: '0' is not a number"* ]]
	run -2 --separate-stderr aurora-recv --sync sometimes
	[[ $stderr == *"--sync"* ]]
	run -2 --separate-stderr aurora-recv --listen
	[[ $stderr == *"needs a value"* ]]
	run -2 --separate-stderr aurora-recv stray
	[[ $stderr == *"unexpected argument 'stray'"* ]]
}

@test "with no socket handed over and no --listen it exits 2 and says why" {
	run -2 --separate-stderr aurora-recv </dev/null
	[[ $stderr == *"no --listen"* ]]
	[ ! -e "$AURORA_DB" ]
}

# --- routes ------------------------------------------------------------------

@test "GET /healthz is 200 {status: ok}; an unknown path is 404 and a wrong method 405, in JSON" {
	recv_start
	http "$RECV_URL/healthz"
	assert_output 200
	json '.status == "ok"'
	assert_equal "$(header Content-Type)" application/json
	http "$RECV_URL/api/nothing/here"
	assert_output 404
	json '.error | test("no such resource")'
	http -X POST --data-binary '{}' "$RECV_URL/healthz"
	assert_output 405
	json '.error | test("POST")'
	assert_equal "$(header Allow)" "GET, HEAD"
}

@test "a delivery with a Bearer token is answered 202 with its id and kept byte for byte" {
	new_token grafana
	recv_start
	post grafana "$RECV_FIXTURES/grafana.json" -H "Authorization: Bearer $TOKEN" -H 'X-Request-Id: r-1'
	assert_output 202
	json '.accepted == true and .id == 1 and (has("duplicate") | not)'
	assert_equal "$(header Content-Type)" application/json
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT lower(hex(body)) FROM inbox WHERE id = 1')" \
		"$(od -An -tx1 -v "$RECV_FIXTURES/grafana.json" | tr -d ' \n')"
	run -0 sqlite3 -json "$AURORA_DB" 'SELECT platform, remote, content_type, headers, test FROM inbox'
	json_ok 'length == 1 and (.[0] | .platform == "grafana" and .remote == "127.0.0.1"
		and .content_type == "application/json" and .test == 0
		and (.headers | fromjson | .["content-type"] == "application/json"
			and .["x-request-id"] == "r-1" and (.["user-agent"] | startswith("curl/"))
			and (has("authorization") | not)))' <<<"$output"
}

@test "PUT with the token as the Basic password, and POST with ?token=, are accepted" {
	new_token alertmanager
	recv_start
	http -X PUT -H 'Content-Type: application/json' --data-binary "@$(body 1)" -u "am:$TOKEN" \
		"$RECV_URL/api/webhooks/alertmanager"
	assert_output 202
	json '.id == 1'
	http -H 'Content-Type: application/json' --data-binary "@$(body 2)" \
		"$RECV_URL/api/webhooks/alertmanager?token=$TOKEN"
	assert_output 202
	json '.id == 2'
	assert_equal "$(rows "WHERE platform = 'alertmanager'")" 2
}

@test "a missing or wrong token is 401 each way, before the body is read" {
	new_token splunk
	recv_start
	post splunk "$(body 1)"
	assert_output 401
	json '.error | test("missing token")'
	post splunk "$(body 1)" -H 'Authorization: Bearer not-the-token'
	assert_output 401
	json '.error == "wrong token for platform splunk"'
	post splunk "$(body 1)" -u "splunk:not-the-token"
	assert_output 401
	http -H 'Content-Type: application/json' --data-binary "@$(body 1)" \
		"$RECV_URL/api/webhooks/splunk?token=not-the-token"
	assert_output 401
	# decided at header time: the answer comes without the body being sent
	raw "$RECV_PORT" "POST /api/webhooks/splunk?token=nope HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
	grep -q '^HTTP/1.1 401' "$RAW"
	[ "$RAW_MS" -lt 3000 ]
	assert_equal "$(rows)" 0
}

@test "a platform with neither token nor secret is 401 telling the operator what to run" {
	recv_start
	post dynatrace "$(body 1)" -H 'Authorization: Bearer anything'
	assert_output 401
	json '.error | test("aurora-connector token dynatrace")'
	assert_equal "$(rows)" 0
}

@test "an unknown platform is 404, a disabled one is 404 saying so" {
	new_token jenkins
	run -0 --separate-stderr aurora-connector disable jenkins
	recv_start
	post nosuch "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 404
	json ".error | test(\"unknown platform 'nosuch'\")"
	post jenkins "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 404
	json '.error == "platform jenkins is disabled"'
	assert_equal "$(rows)" 0
}

@test "other methods on a webhook are 405 with Allow: POST, PUT" {
	new_token grafana
	recv_start
	http "$RECV_URL/api/webhooks/grafana?token=$TOKEN"
	assert_output 405
	assert_equal "$(header Allow)" "POST, PUT"
	json '.error | test("GET")'
	http -X DELETE "$RECV_URL/api/webhooks/grafana?token=$TOKEN"
	assert_output 405
	# an unknown platform is 404 before the method matters
	http -X DELETE "$RECV_URL/api/webhooks/nosuch"
	assert_output 404
}

@test "no length is 411, and a Content-Length over --max-body is 413 without reading the body" {
	new_token grafana
	recv_start --max-body 100
	raw "$RECV_PORT" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	grep -q '^HTTP/1.1 411' "$RAW"
	sed '1,/^\r$/d' "$RAW" >"$BATS_TEST_TMPDIR/raw.json"
	json_ok '.error | test("Content-Length required")' <"$BATS_TEST_TMPDIR/raw.json"
	# the body is never sent: the answer must not wait for it
	raw "$RECV_PORT" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
	grep -q '^HTTP/1.1 413' "$RAW"
	[ "$RAW_MS" -lt 3000 ]
	sed '1,/^\r$/d' "$RAW" >"$BATS_TEST_TMPDIR/raw.json"
	json_ok '.error | test("5000 bytes passes the limit of 100 bytes")' <"$BATS_TEST_TMPDIR/raw.json"
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	assert_equal "$(rows)" 1
}

@test "a chunked body is counted as it arrives: over --max-body is 413, under is stored" {
	new_token grafana
	recv_start --max-body 1000
	{ printf '{"pad":"'; head -c 5000 /dev/zero | tr '\0' x; printf '"}'; } >"$BATS_TEST_TMPDIR/big.json"
	post grafana "$BATS_TEST_TMPDIR/big.json" -H 'Transfer-Encoding: chunked' -H "Authorization: Bearer $TOKEN"
	assert_output 413
	json '.error | test("limit of 1000 bytes")'
	post grafana "$(body 1)" -H 'Transfer-Encoding: chunked' -H "Authorization: Bearer $TOKEN"
	assert_output 202
	assert_equal "$(rows)" 1
}

@test "a content type that is not JSON is 415; Datadog may post a form; none means JSON" {
	new_token grafana
	local grafana=$TOKEN
	new_token datadog
	recv_start
	http -H 'Content-Type: text/plain' --data-binary "@$(body 1)" "$RECV_URL/api/webhooks/grafana?token=$grafana"
	assert_output 415
	json ".error | test(\"'text/plain' is not JSON\")"
	http -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$(body 2)" \
		"$RECV_URL/api/webhooks/grafana?token=$grafana"
	assert_output 415
	http -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$RECV_FIXTURES/datadog.form" \
		"$RECV_URL/api/webhooks/datadog?token=$TOKEN"
	assert_output 202
	http -H 'Content-Type;' --data-binary "@$(body 3)" "$RECV_URL/api/webhooks/grafana?token=$grafana"
	assert_output 202
	http -H 'Content-Type: application/json; charset=UTF-8' --data-binary "@$(body 4)" \
		"$RECV_URL/api/webhooks/grafana?token=$grafana"
	assert_output 202
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT content_type FROM inbox WHERE platform = 'datadog'")" \
		application/x-www-form-urlencoded
	assert_equal "$(rows)" 3
}

@test "malformed JSON is 400 with its line and column; an empty body is 400" {
	new_token grafana
	recv_start
	printf '{"a": 1,\n "b": }\n' >"$BATS_TEST_TMPDIR/bad.json"
	post grafana "$BATS_TEST_TMPDIR/bad.json" -H "Authorization: Bearer $TOKEN"
	assert_output 400
	json '.error | test("^malformed JSON: .* at line 2, column [0-9]+$")'
	: >"$BATS_TEST_TMPDIR/empty.json"
	post grafana "$BATS_TEST_TMPDIR/empty.json" -H "Authorization: Bearer $TOKEN"
	assert_output 400
	json '.error == "empty body"'
	printf '{"s": "\\ud83d"}' >"$BATS_TEST_TMPDIR/surrogate.json"
	post grafana "$BATS_TEST_TMPDIR/surrogate.json" -H "Authorization: Bearer $TOKEN"
	assert_output 400
	json '.error | test("surrogate")'
	printf '[1, 2]\n[3]' >"$BATS_TEST_TMPDIR/two.json"
	post grafana "$BATS_TEST_TMPDIR/two.json" -H "Authorization: Bearer $TOKEN"
	assert_output 400
	assert_equal "$(rows)" 0
	# escapes, pairs, UTF-8, nesting, numbers: JSON that is fine is stored
	printf '{"a":[{"b":"\\ud83d\\ude00 \\u00e9 \xc3\xa9 \\n"},-0.5e+3,true,false,null,[[]],{}]}' \
		>"$BATS_TEST_TMPDIR/good.json"
	post grafana "$BATS_TEST_TMPDIR/good.json" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	assert_equal "$(rows)" 1
}

@test "over the platform's rate limit is 429 with Retry-After, and nothing is stored" {
	new_token grafana
	recv_start --rate 0.01 --burst 1
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	post grafana "$(body 2)" -H "Authorization: Bearer $TOKEN"
	assert_output 429
	json '.error | test("rate limit")'
	[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]]
	assert_equal "$(rows)" 1
}

@test "a database locked past --busy-timeout is 503 with Retry-After, and 202 once it is free" {
	new_token grafana
	recv_start --busy-timeout 200
	hold_lock 4
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 503
	json '.error | test("locked")'
	[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]]
	wait "$LOCK_PID"
	LOCK_PID=
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	assert_equal "$(rows)" 1
}

# post_at_once N [PAUSE]: N distinct deliveries to grafana on N connections at
# once (PAUSE seconds apart); each answer's "CODE SECONDS" in answer.I, its
# headers in headers.I.
post_at_once() {
	local i pids=()
	for i in $(seq 1 "$1"); do
		[ "$i" -eq 1 ] || sleep "${2:-0}"
		curl -sS -o /dev/null -D "$BATS_TEST_TMPDIR/headers.$i" -w '%{http_code} %{time_total}' \
			-H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
			--data-binary "@$(body "$i")" "$RECV_URL/api/webhooks/grafana" \
			>"$BATS_TEST_TMPDIR/answer.$i" 3>&- &
		pids+=("$!")
	done
	for i in "${pids[@]}"; do wait "$i"; done
}

# busy_within N SECONDS: each of the N answers is 503 with Retry-After, in under SECONDS
busy_within() {
	local i answer
	for i in $(seq 1 "$1"); do
		answer=$(cat "$BATS_TEST_TMPDIR/answer.$i")
		assert_equal "${answer% *}" 503
		grep -qi '^retry-after: [1-9]' "$BATS_TEST_TMPDIR/headers.$i" ||
			fail "no Retry-After in: $(cat "$BATS_TEST_TMPDIR/headers.$i")"
		awk -v s="${answer#* }" -v max="$2" 'BEGIN { exit !(s < max) }' ||
			fail "answer $i took ${answer#* } s"
	done
}

@test "deliveries queued behind one that waited for a locked database wait one busy timeout in all, not one each" {
	new_token grafana
	# batches of one: before, the fourth delivery waited four busy timeouts
	recv_start --busy-timeout 1500 --max-batch 1
	hold_lock 15
	post_at_once 4
	# one timeout is 1.5 s; two would be 3 s: the bound sits at two
	busy_within 4 3.0
	run -0 grep -c '503 the database stayed locked past the busy timeout' "$BATS_TEST_TMPDIR/recv.log"
	assert_output 4
	assert_equal "$(rows)" 0
}

@test "too many header fields or too many header bytes are 431" {
	new_token grafana
	recv_start --max-headers 20 --max-header-bytes 2048
	local extra=()
	for i in $(seq 1 25); do extra+=(-H "X-Extra-$i: $i"); done
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN" "${extra[@]}"
	assert_output 431
	json '.error | test("header fields \\(limit 20\\)")'
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN" -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' a)"
	assert_output 431
	json '.error | test("bytes \\(limit 2048\\)")'
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
}

# --- signatures ----------------------------------------------------------------

@test "Grafana: a valid signature alone authenticates, with and without the timestamp header" {
	set_secret grafana gr-secret
	recv_start
	local f sig ts
	f=$(body 1)
	sig=$(hmac gr-secret "$f")
	post grafana "$f" -H "X-Grafana-Alerting-Signature: $sig"
	assert_output 202
	f=$(body 2)
	ts=$(date +%s)
	{ printf '%s:' "$ts"; cat "$f"; } >"$BATS_TEST_TMPDIR/signed"
	sig=$(hmac gr-secret "$BATS_TEST_TMPDIR/signed")
	post grafana "$f" -H "X-Grafana-Alerting-Signature: $sig" -H "X-Grafana-Alerting-Signature-Timestamp: $ts"
	assert_output 202
	run -0 sqlite3 "$AURORA_DB" 'SELECT headers FROM inbox WHERE id = 2'
	json_ok '.["x-grafana-alerting-signature-timestamp"] == $ts
		and .["x-grafana-alerting-signature"] == $sig' --arg ts "$ts" --arg sig "$sig" <<<"$output"
}

@test "Grafana: a wrong, a missing and a stale signature are 401" {
	set_secret grafana gr-secret
	recv_start --signature-skew 60
	local f sig ts
	f=$(body 1)
	post grafana "$f" -H "X-Grafana-Alerting-Signature: $(hmac other-secret "$f")"
	assert_output 401
	json '.error | test("does not match")'
	post grafana "$f"
	assert_output 401
	json '.error | test("missing X-Grafana-Alerting-Signature")'
	ts=$(($(date +%s) - 3600))
	{ printf '%s:' "$ts"; cat "$f"; } >"$BATS_TEST_TMPDIR/signed"
	sig=$(hmac gr-secret "$BATS_TEST_TMPDIR/signed")
	post grafana "$f" -H "X-Grafana-Alerting-Signature: $sig" -H "X-Grafana-Alerting-Signature-Timestamp: $ts"
	assert_output 401
	json '.error | test("away from now \\(limit 60 s\\)")'
	assert_equal "$(rows)" 0
}

@test "a platform with a secret rejects unsigned deliveries even with the right token" {
	new_token grafana
	set_secret grafana gr-secret
	recv_start
	local f
	f=$(body 1)
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	assert_output 401
	json '.error == "missing X-Grafana-Alerting-Signature header"'
	post grafana "$f" -H "X-Grafana-Alerting-Signature: $(hmac gr-secret "$f")"
	assert_output 401
	json '.error | test("missing token")'
	post grafana "$f" -H "Authorization: Bearer $TOKEN" -H "X-Grafana-Alerting-Signature: $(hmac gr-secret "$f")"
	assert_output 202
}

@test "PagerDuty: during a rotation two v1= signatures, one valid, pass; none valid is 401" {
	set_secret pagerduty pd-secret
	recv_start
	local f="$RECV_FIXTURES/pagerduty.json"
	post pagerduty "$f" -H 'X-Webhook-Id: w-1' \
		-H "X-PagerDuty-Signature: v1=$(hmac old-secret "$f"),v1=$(hmac pd-secret "$f")"
	assert_output 202
	post pagerduty "$f" -H 'X-Webhook-Id: w-2' \
		-H "X-PagerDuty-Signature: v1=$(hmac old-secret "$f"),v1=$(hmac older-secret "$f")"
	assert_output 401
	json '.error | test("does not match")'
	post pagerduty "$f" -H 'X-Webhook-Id: w-3'
	assert_output 401
	assert_equal "$(rows)" 1
}

@test "a rotated secret and a rotated token count at once; the old ones stop working" {
	set_secret pagerduty first-secret
	new_token splunk
	local old_token=$TOKEN f
	recv_start
	f=$(body 1)
	post pagerduty "$f" -H "X-PagerDuty-Signature: v1=$(hmac first-secret "$f")"
	assert_output 202
	post splunk "$f" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	set_secret pagerduty second-secret
	new_token splunk
	# past the cache's recheck interval (100 ms), well inside its refresh (1 s)
	sleep 0.2
	f=$(body 2)
	post pagerduty "$f" -H "X-PagerDuty-Signature: v1=$(hmac second-secret "$f")"
	assert_output 202
	post splunk "$f" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	f=$(body 3)
	post pagerduty "$f" -H "X-PagerDuty-Signature: v1=$(hmac first-secret "$f")"
	assert_output 401
	post splunk "$f" -H "Authorization: Bearer $old_token"
	assert_output 401
	assert_equal "$(rows)" 4
}

# --- idempotency, status ----------------------------------------------------------

@test "a sender's retry is answered with the first id and stored once (X-Webhook-Id; the same body)" {
	set_secret pagerduty pd-secret
	new_token grafana
	recv_start
	local f="$RECV_FIXTURES/pagerduty.json" sig first
	sig="v1=$(hmac pd-secret "$f")"
	post pagerduty "$f" -H "X-PagerDuty-Signature: $sig" -H 'X-Webhook-Id: d-1'
	assert_output 202
	first=$(jq .id "$RESP")
	post pagerduty "$f" -H "X-PagerDuty-Signature: $sig" -H 'X-Webhook-Id: d-1'
	assert_output 202
	json ".id == $first and .duplicate == true"
	# the same body under another delivery id is another delivery
	post pagerduty "$f" -H "X-PagerDuty-Signature: $sig" -H 'X-Webhook-Id: d-2'
	assert_output 202
	json ".id != $first and (has(\"duplicate\") | not)"
	post grafana "$RECV_FIXTURES/grafana.json" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	first=$(jq .id "$RESP")
	post grafana "$RECV_FIXTURES/grafana.json" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	json ".id == $first and .duplicate == true"
	assert_equal "$(rows "WHERE platform = 'pagerduty'")" 2
	assert_equal "$(rows "WHERE platform = 'grafana'")" 1
}

# recent_table DB: the shared memory of DB's recent deliveries (recent.h)
recent_table() {
	echo "/dev/shm/aurora-recent-$(stat -c '%d-%i' "$1")"
}

@test "a retry is still recognised after a restart, with the table gone or damaged, and from another process" {
	new_token grafana
	local f="$RECV_FIXTURES/grafana.json" first port table
	recv_start
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	first=$(jq .id "$RESP")
	table=$(recent_table "$AURORA_DB")
	[ -s "$table" ]
	recv_stop
	# the table outlives the process
	recv_start
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	json ".id == $first and .duplicate == true"
	recv_stop
	# gone (as after a reboot): rebuilt from the inbox's window
	rm "$table"
	recv_start
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	json ".id == $first and .duplicate == true"
	recv_stop
	# something else in its place: started anew and rebuilt
	dd if=/dev/urandom of="$table" bs=4096 count=64 conv=notrunc status=none
	recv_start
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	json ".id == $first and .duplicate == true"
	# a one-connection process sees what the accept loop stored
	launcher tcp tcpserver -1 -H -R -l localhost 127.0.0.1 0 aurora-recv --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/tcp.log"
	tcp_wait
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	json ".id == $first and .duplicate == true"
	assert_equal "$(rows)" 1
}

@test "the table of another database (a device and inode used again) is not taken for this one's" {
	local a=$AURORA_DB b=$BATS_TEST_TMPDIR/b.db x y tb
	new_token grafana
	recv_start
	x=$(body 1)
	post grafana "$x" -H "Authorization: Bearer $TOKEN"
	json '.id == 1'
	recv_stop
	export AURORA_DB=$b
	new_token grafana
	recv_start
	y=$(body 2)
	post grafana "$y" -H "Authorization: Bearer $TOKEN"
	json '.id == 1'
	recv_stop
	# b's table becomes a's, as if b had a's device and inode: same boot, same last id
	tb=$(recent_table "$b")
	cat "$(recent_table "$a")" >"$tb"
	recv_start
	post grafana "$y" -H "Authorization: Bearer $TOKEN"
	json '.id == 1 and .duplicate == true'
	assert_equal "$(rows)" 1
}

@test "a database renamed while its receiver runs keeps its table when that receiver exits: the table's header is judged, not the old path" {
	local a=$AURORA_DB a2=$BATS_TEST_TMPDIR/renamed.db pid2 port2 f
	new_token grafana
	recv_start
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	json '.id == 1'
	# the same file under a new name: the running receiver still has it open
	for f in "" -wal -shm; do
		[ ! -e "$a$f" ] || mv "$a$f" "$a2$f"
	done
	aurora-recv --listen 127.0.0.1:0 --port-file "$BATS_TEST_TMPDIR/port2" --db "$a2" \
		--log-file "$BATS_TEST_TMPDIR/recv2.log" 2>"$BATS_TEST_TMPDIR/recv2.err" 3>&- &
	pid2=$!
	wait_file "$BATS_TEST_TMPDIR/port2" "$pid2"
	port2=$(cat "$BATS_TEST_TMPDIR/port2")
	run -0 curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $TOKEN" --data-binary "@$(body 2)" "http://127.0.0.1:$port2/api/webhooks/grafana"
	[ "$output" = 202 ]
	kill -TERM "$pid2"
	wait "$pid2"
	[ ! -s "$BATS_TEST_TMPDIR/recv2.err" ]
	[ -e "$(recent_table "$a2")" ]
	# the first receiver's path is gone; the database is not
	recv_stop
	[ -e "$(recent_table "$a2")" ]
	[ "$(sqlite3 "$a2" 'SELECT count(*) FROM inbox')" = 2 ]
}

@test "the table of a deleted database is swept by the next receiver's first delivery, or by its last user at exit" {
	local a=$AURORA_DB b=$BATS_TEST_TMPDIR/b.db c=$BATS_TEST_TMPDIR/c.db ta tb tc pid tok_a tok_b tok_c
	# every database made before any is deleted: no device and inode used again
	new_token grafana
	tok_a=$TOKEN
	AURORA_DB=$b new_token grafana
	tok_b=$TOKEN
	AURORA_DB=$c new_token grafana
	tok_c=$TOKEN
	ta=$(recent_table "$a")
	tb=$(recent_table "$b")
	tc=$(recent_table "$c")
	recv_start
	post grafana "$(body 1)" -H "Authorization: Bearer $tok_a"
	assert_output 202
	[ -s "$ta" ]
	recv_stop
	# a's table outlives its process while a stands; then a is deleted
	[ -s "$ta" ]
	rm -f "$a" "$a-wal" "$a-shm"
	# c's receiver maps c's table, and c is deleted under it
	aurora-recv --db "$c" --listen 127.0.0.1:0 --port-file "$BATS_TEST_TMPDIR/c.port" \
		--log-file "$BATS_TEST_TMPDIR/c.log" 3>&- &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 1 200); do [ -s "$BATS_TEST_TMPDIR/c.port" ] && break; sleep 0.05; done
	http -H 'Content-Type: application/json' -H "Authorization: Bearer $tok_c" --data-binary "@$(body 2)" \
		"http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/c.port")/api/webhooks/grafana"
	assert_output 202
	[ -s "$tc" ]
	rm -f "$c" "$c-wal" "$c-shm"
	# b's first delivery sweeps a's table (its database is gone, nobody maps it), not c's (mapped)
	export AURORA_DB=$b
	recv_start
	post grafana "$(body 3)" -H "Authorization: Bearer $tok_b"
	assert_output 202
	[ -s "$tb" ]
	[ ! -e "$ta" ] || fail "the table of the deleted database is still there"
	[ -s "$tc" ] || fail "a table still mapped was swept"
	# c's receiver, the last to map c's table, takes it along at exit
	kill -TERM "$pid"
	wait "$pid" || fail "c's receiver exited $?: $(cat "$BATS_TEST_TMPDIR/c.log")"
	[ ! -e "$tc" ] || fail "the table of a deleted database outlived its last receiver"
	recv_stop
	# b stands: its table stays for the next receiver
	[ -s "$tb" ]
}

@test "a retry is checked against the inbox row: a row stored by hand counts, a changed row does not" {
	new_token grafana
	local f g sha now id
	f=$(body 1)
	g=$(body 2)
	recv_start
	# stored without the receiver (an older version, by hand): caught up before the next store
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	now=$(($(date +%s%N) / 1000000))
	sqlite3 "$AURORA_DB" "INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256)
		VALUES ('grafana', '2026-01-01T00:00:00Z', $now, readfile('$f'), '$sha')"
	id=$(sqlite3 "$AURORA_DB" "SELECT max(id) FROM inbox")
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	json ".id == $id and .duplicate == true"
	# the table names a candidate; a row that no longer holds that body is not a match
	post grafana "$g" -H "Authorization: Bearer $TOKEN"
	id=$(jq .id "$RESP")
	sqlite3 "$AURORA_DB" "UPDATE inbox SET body_sha256 = 'changed' WHERE id = $id"
	post grafana "$g" -H "Authorization: Bearer $TOKEN"
	json ".id != $id and (has(\"duplicate\") | not)"
	assert_equal "$(rows)" 3
}

@test "--dedup-window: the same body after the window is a new delivery" {
	new_token grafana
	local f first
	f=$(body 1)
	recv_start --dedup-window 1
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	first=$(jq .id "$RESP")
	sleep 1.2
	post grafana "$f" -H "Authorization: Bearer $TOKEN"
	json ".id != $first and (has(\"duplicate\") | not)"
	assert_equal "$(rows)" 2
}

@test "GET /api/PLATFORM/status reports the connector to operators; its webhook URL holds no secret" {
	new_token grafana
	new_operator_token ops
	run -0 --separate-stderr aurora-connector base-url grafana https://grafana.example.test
	recv_start
	# operational data: the operator token, never the platform's webhook token
	http "$RECV_URL/api/grafana/status"
	assert_output 401
	http -H "Authorization: Bearer $TOKEN" "$RECV_URL/api/grafana/status"
	assert_output 401
	api /api/grafana/status
	assert_output 200
	json '.platform == "grafana" and .enabled == true and .connected == false
		and .base_url == "https://grafana.example.test"
		and .webhook_url == "https://aurora.example.test/api/webhooks/grafana"
		and .last_webhook_received == null and .received == 0 and .rejected == 0'
	refute grep -q "$TOKEN" "$RESP"
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	post grafana "$(body 2)" -H "Authorization: Bearer wrong"
	assert_output 401
	http -H 'Content-Type: text/csv' --data-binary "@$(body 3)" "$RECV_URL/api/webhooks/grafana?token=$TOKEN"
	assert_output 415
	# rejections are counted through the writer, with the next batch
	api_until /api/grafana/status '.rejected == 2'
	json '.connected == true and (.last_webhook_received | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))
		and .received == 1 and .rejected == 2'
	api /api/nosuch/status
	assert_output 404
	api -X POST /api/grafana/status
	assert_output 405
}

# --- slow clients -------------------------------------------------------------------

@test "a client that stops halfway is cut off within --read-timeout" {
	new_token grafana
	recv_start --read-timeout 2
	raw "$RECV_PORT" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"half\":" 10
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ]
	raw "$RECV_PORT" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\n" 10
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ]
	assert_equal "$(rows)" 0
}

@test "a body trickling in byte by byte must still be complete within --read-timeout" {
	new_token grafana
	recv_start --read-timeout 2
	local start rc=0 ms
	exec 5<>"/dev/tcp/127.0.0.1/$RECV_PORT"
	printf 'POST /api/webhooks/grafana?token=%s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n' "$TOKEN" >&5
	start=$(date +%s%N)
	# one byte every 0.25 s keeps the idle timer young for 10 s
	(for _ in $(seq 1 40); do printf ' ' >&5 || exit 0; sleep 0.25; done) 2>/dev/null 3>&- &
	PIDS+=("$!")
	timeout 10 cat <&5 >"$BATS_TEST_TMPDIR/trickle.out" || rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	exec 5<&- 5>&-
	assert_equal "$rc" 0
	[ "$ms" -lt 5000 ] || fail "the trickling client was served for $ms ms"
	assert_equal "$(rows)" 0
}

# --- concurrency and durability -----------------------------------------------------

@test "200 concurrent deliveries are all answered 202 and stored exactly once" {
	new_token grafana
	recv_start
	seq 1 200 >"$BATS_TEST_TMPDIR/nums"
	mkdir "$BATS_TEST_TMPDIR/answers"
	run -0 xargs -a "$BATS_TEST_TMPDIR/nums" -P 50 -I{} curl -sS -o "$BATS_TEST_TMPDIR/answers/{}" \
		-w '%{http_code}\n' -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
		--data-binary '{"n":{}}' "$RECV_URL/api/webhooks/grafana"
	assert_equal "$(grep -c '^202$' <<<"$output")" 200
	cat "$BATS_TEST_TMPDIR"/answers/* | jq -r .id | sort -n >"$BATS_TEST_TMPDIR/ids"
	sqlite3 "$AURORA_DB" 'SELECT id FROM inbox ORDER BY id' >"$BATS_TEST_TMPDIR/rows"
	assert_equal "$(sort -un "$BATS_TEST_TMPDIR/ids" | wc -l)" 200
	run -0 diff "$BATS_TEST_TMPDIR/ids" "$BATS_TEST_TMPDIR/rows"
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(DISTINCT body) FROM inbox')" 200
}

@test "kill -9 in the middle of a load loses no delivery that was answered 202" {
	new_token grafana
	recv_start
	local w acked
	for w in 1 2 3 4; do
		(for i in $(seq 1 1000); do
			curl -sS -w ' %{http_code}\n' -H 'Content-Type: application/json' \
				-H "Authorization: Bearer $TOKEN" --data-binary "{\"w\":$w,\"i\":$i}" \
				"$RECV_URL/api/webhooks/grafana" >>"$BATS_TEST_TMPDIR/acks.$w" 2>/dev/null || break
		done) 3>&- &
		PIDS+=("$!")
	done
	for _ in $(seq 1 200); do
		[ "$(cat "$BATS_TEST_TMPDIR"/acks.* 2>/dev/null | grep -c ' 202$')" -ge 100 ] && break
		sleep 0.05
	done
	kill -9 "$RECV_PID"
	wait "$RECV_PID" || true
	RECV_PID=
	for w in "${PIDS[@]}"; do wait "$w" || true; done
	PIDS=()
	cat "$BATS_TEST_TMPDIR"/acks.* | grep ' 202$' | sed 's/ 202$//' | jq -r .id | sort -n >"$BATS_TEST_TMPDIR/acked"
	acked=$(wc -l <"$BATS_TEST_TMPDIR/acked")
	[ "$acked" -ge 100 ] || fail "only $acked deliveries were acknowledged before the kill"
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT count(*) FROM inbox WHERE id IN ($(paste -sd, "$BATS_TEST_TMPDIR/acked"))")" "$acked"
}

@test "SIGTERM lets the queued deliveries finish and exits 0" {
	new_token grafana
	recv_start -v
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	recv_stop
	grep -q 'SIGTERM: finishing the queued deliveries' "$BATS_TEST_TMPDIR/recv.log"
	assert_equal "$(rows)" 1
}

# --- launch modes -----------------------------------------------------------------

@test "systemd Accept=no: one process serves every connection of the listening socket on fd 3" {
	new_token grafana
	local port
	port=$(free_port)
	launcher sa systemd-socket-activate -l "127.0.0.1:$port" \
		aurora-recv -v --db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv.log"
	wait_port "$port"
	RECV_URL=http://127.0.0.1:$port
	for i in 1 2 3; do
		post grafana "$(body "$i")" -H "Authorization: Bearer $TOKEN" -H 'Connection: close'
		assert_output 202
	done
	assert_equal "$(grep -c "accepting on 127.0.0.1:$port (systemd accept=no)" "$BATS_TEST_TMPDIR/recv.log")" 1
	assert_equal "$(rows)" 3
	# systemd-socket-activate became aurora-recv: SIGTERM ends it cleanly
	local rc=0
	kill -TERM "${PIDS[0]}"
	wait "${PIDS[0]}" || rc=$?
	PIDS=()
	assert_equal "$rc" 0
	refute grep -v -e '^Listening on' -e '^Communication attempt' -e '^Execing' "$BATS_TEST_TMPDIR/sa.err"
}

@test "a listening socket on fd 0 (s6-tcpserverd, inetd wait): one process runs the accept loop on it" {
	new_token grafana
	local port rc=0
	port=$(free_port)
	# without --accept, --inetd hands over the listening socket itself on fd 0
	launcher sa systemd-socket-activate --inetd -l "127.0.0.1:$port" \
		aurora-recv -v --db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv.log"
	wait_port "$port"
	RECV_URL=http://127.0.0.1:$port
	for i in 1 2; do
		post grafana "$(body "$i")" -H "Authorization: Bearer $TOKEN" -H 'Connection: close'
		assert_output 202
	done
	assert_equal "$(grep -c "accepting on 127.0.0.1:$port (listening socket on stdin)" "$BATS_TEST_TMPDIR/recv.log")" 1
	assert_equal "$(rows)" 2
	kill -TERM "${PIDS[0]}"
	wait "${PIDS[0]}" || rc=$?
	PIDS=()
	assert_equal "$rc" 0
}

@test "systemd Accept=yes: the connection on fd 3 is served, keep-alive included, then the process exits" {
	new_token grafana
	local port
	port=$(free_port)
	launcher sa systemd-socket-activate -a -l "127.0.0.1:$port" \
		aurora-recv -v --db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv.log"
	wait_port "$port"
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'connection closed'
	: >"$BATS_TEST_TMPDIR/recv.log"
	# two requests on one connection: one process answers both
	run -0 curl -sS -w ' %{http_code}\n' -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
		--data-binary "@$(body 1)" "http://127.0.0.1:$port/api/webhooks/grafana" \
		--next -sS -w ' %{http_code}\n' -X PUT -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $TOKEN" --data-binary "@$(body 2)" "http://127.0.0.1:$port/api/webhooks/grafana"
	assert_line --index 0 '{"accepted":true,"id":1} 202'
	assert_line --index 1 '{"accepted":true,"id":2} 202'
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'connection closed'
	assert_equal "$(grep -c 'serving one connection (systemd accept=yes) from 127.0.0.1' "$BATS_TEST_TMPDIR/recv.log")" 1
	grep -q 'Child [0-9]* died with code 0' "$BATS_TEST_TMPDIR/sa.err"
	refute grep -q 'died with code [1-9]' "$BATS_TEST_TMPDIR/sa.err"
	run -0 sqlite3 "$AURORA_DB" "SELECT remote FROM inbox"
	assert_output $'127.0.0.1\n127.0.0.1'
}

@test "systemd Accept=yes with StandardInput=socket (--inetd): the connection on fd 0 is served" {
	new_token grafana
	local port
	port=$(free_port)
	launcher sa systemd-socket-activate -a --inetd -l "127.0.0.1:$port" \
		aurora-recv -v --db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv.log"
	wait_port "$port"
	RECV_URL=http://127.0.0.1:$port
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	json '.id == 1'
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'serving one connection (inetd) from 127.0.0.1'
	refute grep -q 'died with code [1-9]' "$BATS_TEST_TMPDIR/sa.err"
	assert_equal "$(rows)" 1
}

@test "tcpserver: POST and PUT with bodies are answered 202, the peer comes from TCPREMOTEIP" {
	new_token grafana
	launcher tcp tcpserver -1 -H -R -l localhost 127.0.0.1 0 aurora-recv -v --db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv.log"
	tcp_wait
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	post grafana "$(body 2)" -X PUT -H "Authorization: Bearer $TOKEN"
	assert_output 202
	http "$RECV_URL/healthz"
	assert_output 200
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'serving one connection (inetd) from 127.0.0.1'
	run -0 sqlite3 "$AURORA_DB" "SELECT remote FROM inbox"
	assert_output $'127.0.0.1\n127.0.0.1'
	# nothing stray on tcpserver's stderr, which the handlers inherit
	for _ in $(seq 1 100); do [ "$(grep -c 'connection closed' "$BATS_TEST_TMPDIR/recv.log")" -ge 3 ] && break; sleep 0.05; done
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/tcp.err")" 0
}

@test "when fd 2 is the client socket, diagnostics never reach the client" {
	new_token grafana
	# inetd style: the connection on fds 0, 1 and 2; debug logging says a lot
	launcher tcp env AURORA_LOG=debug tcpserver -1 -H -R -l localhost 127.0.0.1 0 \
		sh -c 'exec aurora-recv -vv "$@" 2>&1' aurora-recv
	tcp_wait
	raw "$RECV_PORT" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"a\":1}\n"
	grep -q '^HTTP/1.1 202' "$RAW"
	sed '1,/^\r$/d' "$RAW" >"$BATS_TEST_TMPDIR/raw.json"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/raw.json")" '{"accepted":true,"id":1}'
	refute grep -q 'aurora-recv' "$RAW"
	# with --log-file the same lines go to the file instead
	launcher tcp2 env AURORA_LOG=debug tcpserver -1 -H -R -l localhost 127.0.0.1 0 \
		sh -c 'exec aurora-recv -vv "$@" 2>&1' aurora-recv --log-file "$BATS_TEST_TMPDIR/recv.log"
	for _ in $(seq 1 200); do [ -s "$BATS_TEST_TMPDIR/tcp2.out" ] && break; sleep 0.05; done
	raw "$(cat "$BATS_TEST_TMPDIR/tcp2.out")" "POST /api/webhooks/grafana?token=nope HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"a\":2}\n"
	grep -q '^HTTP/1.1 401' "$RAW"
	refute grep -q 'aurora-recv' "$RAW"
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" '401 wrong token for platform grafana'
}

# --- one connection per process: aurora's own HTTP/1.1 (tcpserver) ---------------

# send [--timeout SEC] [--pause SEC] [--after-100] PIECE...: the pieces (printf-like
# escapes) on one connection to $RECV_PORT through tests/helpers/rawhttp.py; what
# came back is in the file $RAW, the helper's status in $RAW_RC (0: the server
# closed the connection, 3: it did not within the timeout), the time in $RAW_MS.
send() {
	local opts=() start
	while [[ $1 == --* ]]; do
		opts+=("$1")
		[ "$1" = --after-100 ] || { shift; opts+=("$1"); }
		shift
	done
	RAW=$BATS_TEST_TMPDIR/raw.out
	start=$(date +%s%N)
	RAW_RC=0
	"$AURORA_TOP/tests/helpers/rawhttp.py" "${opts[@]}" "$RECV_PORT" "$@" >"$RAW" || RAW_RC=$?
	RAW_MS=$((($(date +%s%N) - start) / 1000000))
}

# status_lines: the status line of every answer in $RAW, one a line, without CR
# (an answer's body need not end in a newline: the next one follows at once)
status_lines() {
	grep -ao $'HTTP/1\\.1 [0-9][0-9][0-9] [^\r]*' "$RAW"
}

# raw_body: the body of the (single) answer in $RAW
raw_body() {
	sed '1,/^\r$/d' "$RAW"
}

@test "one connection: pipelined requests are answered in order from one read" {
	new_token grafana
	tcp_start
	local req="POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n"
	send "$req{\"n\":1}$req{\"n\":2}GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output $'HTTP/1.1 202 Accepted\nHTTP/1.1 202 Accepted\nHTTP/1.1 200 OK'
	grep -aq '{"accepted":true,"id":1}HTTP/1.1 202' "$RAW"
	grep -aq '{"accepted":true,"id":2}HTTP/1.1 200' "$RAW"
	assert_equal "$(tail -c 15 "$RAW")" '{"status":"ok"}'
	run -0 sqlite3 "$AURORA_DB" "SELECT CAST(body AS TEXT) FROM inbox ORDER BY id"
	assert_output $'{"n":1}\n{"n":2}'
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'connection closed'
	assert_equal "$(grep -c 'serving one connection' "$BATS_TEST_TMPDIR/recv.log")" 1
}

@test "one connection: a chunked body with extensions and a trailer is stored byte for byte" {
	new_token grafana
	tcp_start --max-body 64
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\n{\"a\":\r\n0a\r\n\"\\\\u00e9 x\"\r\n1\r\n}\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	run -0 status_lines
	assert_output $'HTTP/1.1 202 Accepted\nHTTP/1.1 200 OK'
	run -0 sqlite3 "$AURORA_DB" "SELECT hex(body) FROM inbox"
	assert_output "$(printf '{"a":"\\u00e9 x"}' | od -An -tx1 | tr -d ' \n' | tr '[:lower:]' '[:upper:]')"
	# past --max-body as it arrives: 413, and the connection goes on
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n$(printf '%064d' 0)\r\n40\r\n$(printf '%064d' 0)\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	run -0 status_lines
	assert_output $'HTTP/1.1 413 Content Too Large\nHTTP/1.1 200 OK'
	grep -aq '"error":"body passed the limit of 64 bytes"' "$RAW"
	# a chunk size that is not hex is 400, and the connection ends
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	assert_equal "$(rows)" 1
}

@test "one connection: Expect: 100-continue gets 100 only when the body is wanted" {
	new_token grafana
	tcp_start
	send --after-100 "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n" '{"n":1}'
	assert_equal "$RAW_RC" 0
	assert_equal "$(head -c 25 "$RAW" | tr '\r\n' 'RN')" 'HTTP/1.1 100 ContinueRNRN'
	run -0 status_lines
	assert_output $'HTTP/1.1 100 Continue\nHTTP/1.1 202 Accepted'
	# a wrong token is refused before the body: no 100, and the connection ends
	send "POST /api/webhooks/grafana?token=nope HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n"
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output 'HTTP/1.1 401 Unauthorized'
	grep -aq '^Connection: close' "$RAW"
	assert_equal "$(rows)" 1
}

@test "one connection: HTTP/1.0 closes after the answer unless it asks for keep-alive" {
	tcp_start
	send --timeout 10 'GET /healthz HTTP/1.0\r\n\r\n'
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -lt 3000 ]
	run -0 status_lines
	assert_output 'HTTP/1.1 200 OK'
	grep -aq '^Connection: close' "$RAW"
	assert_equal "$(raw_body)" '{"status":"ok"}'
	send --timeout 10 'GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n'
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output $'HTTP/1.1 200 OK\nHTTP/1.1 200 OK'
}

@test "one connection: a delivery queued for the write lock waits one busy timeout in all" {
	new_token grafana
	tcp_start --busy-timeout 2000
	hold_lock 15
	# the first process waits in SQLite, the second for the side lock: before,
	# it had it at 1.7 s and then waited a whole timeout again (3.7 s in all)
	post_at_once 2 0.3
	busy_within 2 3.0
	assert_equal "$(rows)" 0
}

@test "one connection: a malformed request line is 400 in JSON, another version 505" {
	tcp_start
	send 'GET  /healthz HTTP/1.1\r\nHost: t\r\n\r\n'
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	grep -aq '^Content-Type: application/json' "$RAW"
	raw_body | json_ok '.error == "malformed request line: expected METHOD SP target SP HTTP/1.1"'
	send 'GET /healthz HTTP/1.1 extra\r\nHost: t\r\n\r\n'
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	send 'GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n'
	run -0 status_lines
	assert_output 'HTTP/1.1 505 HTTP Version Not Supported'
	raw_body | json_ok '.error | test("version 2.0 is not supported")'
}

@test "one connection: obsolete line folding, whitespace before ':', no ':' are 400; gzip coding 501" {
	tcp_start
	send 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  continued\r\n\r\n'
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	raw_body | json_ok '.error == "obsolete line folding in the header fields"'
	send 'GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n'
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	raw_body | json_ok '.error | test("whitespace between a header field name and")'
	send 'GET /healthz HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n'
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	raw_body | json_ok '.error == "header field without \u0027:\u0027"'
	send 'POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'
	run -0 status_lines
	assert_output 'HTTP/1.1 501 Not Implemented'
	raw_body | json_ok '.error | test("transfer coding")'
}

@test "one connection: too many header fields or bytes are 431, and the connection ends" {
	tcp_start --max-headers 5 --max-header-bytes 512
	send 'GET /healthz HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output 'HTTP/1.1 431 Request Header Fields Too Large'
	raw_body | json_ok '.error == "request has 6 header fields (limit 5)"'
	send "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: $(printf '%0600d' 0)\r\n\r\n"
	run -0 status_lines
	assert_output 'HTTP/1.1 431 Request Header Fields Too Large'
	raw_body | json_ok '.error | test("bytes \\(limit 512\\)$")'
}

@test "one connection: two Content-Lengths, or one beside chunked, are 400" {
	new_token grafana
	tcp_start
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n{\"n\":1}"
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	raw_body | json_ok '.error == "conflicting Content-Length values"'
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"n\":1}\r\n0\r\n\r\n"
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	raw_body | json_ok '.error == "both Content-Length and Transfer-Encoding"'
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: -7\r\n\r\n"
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	# the same length twice is refused too (RFC 9112 leaves it to the server; tests/framing.bats)
	send "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"n\":1}"
	run -0 status_lines
	assert_output 'HTTP/1.1 400 Bad Request'
	raw_body | json_ok '.error == "repeated Content-Length"'
	assert_equal "$(rows)" 0
}

@test "one connection: HEAD gets the headers of GET and no body; the connection goes on" {
	tcp_start
	send 'HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
	assert_equal "$RAW_RC" 0
	run -0 status_lines
	assert_output $'HTTP/1.1 200 OK\nHTTP/1.1 200 OK'
	assert_equal "$(grep -ac '^Content-Length: 15' "$RAW")" 2
	assert_equal "$(grep -ac 'status' "$RAW")" 1
	assert_equal "$(tail -c 15 "$RAW")" '{"status":"ok"}'
}

@test "one connection: a client that stops halfway is cut off within --read-timeout, unanswered" {
	new_token grafana
	tcp_start --read-timeout 2
	send --timeout 10 "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"half\":"
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ]
	assert_equal "$(wc -c <"$RAW")" 0
	send --timeout 10 "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\n"
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ]
	assert_equal "$(wc -c <"$RAW")" 0
	# a body trickling in must still be complete within the timeout after the headers
	send --timeout 10 --pause 0.5 "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n" '{' '"' 'a' '"' ':' '1' '}' ' ' '\n'
	[ "$RAW_MS" -lt 4500 ]
	assert_equal "$(wc -c <"$RAW")" 0
	assert_equal "$(rows)" 0
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'body not complete within 2 s, closing'
}

@test "a file that is not an aurora database is refused at start (78) and left untouched" {
	not_aurora_files
	local f
	for f in other text; do
		run -78 --separate-stderr aurora-recv --db "$BATS_TEST_TMPDIR/$f.db" --listen 127.0.0.1:0
		[[ $stderr == *"$f.db is not an aurora database"* ]] || fail "stderr: $stderr"
	done
	not_aurora_untouched
}
