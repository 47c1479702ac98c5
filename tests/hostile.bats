#!/usr/bin/env bats
# hostile.bats - aurora-recv against hostile input, in both HTTP engines: the
# accept loop (--listen, libmicrohttpd) and one connection per process
# (tcpserver, aurora's own HTTP/1.1). CR/LF smuggled into anything that could
# be reflected, 100 KB of headers, traversal and NUL in the platform segment,
# malformed bodies (each 400 with its line and column, none leaking), bodies
# that are not UTF-8, nested 10,000 deep, 1 MiB strings, numbers out
# of range, SQL in every field of every platform's payload and of manual
# incidents, slow bodies and 10,000 idle connections. Each is answered with
# the right 4xx or a close; nothing is stored that should not be (the SQLite
# file is read); the receiver serves on; its open files and memory come back.
# Framing (RFC 9112) is tests/framing.bats; slow heads and caps tests/faults.bats.
# shellcheck disable=SC2153 # new_token sets TOKEN, helpers/common FIXTURES

bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv

PLATFORMS=(grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins cloudbees)

setup() {
	aurora_fresh_db
	unset AURORA_SHAPE_CHECK
	RECV_PID=
	LOCK_PID=
	PIDS=()
	new_token grafana
	new_operator_token ops
	recv_start -v
	LISTEN_PORT=$RECV_PORT
	tcp_start
}

teardown() {
	recv_teardown
	[ ! -s "$BATS_TEST_TMPDIR/tcp.err" ] || fail "stray output under tcpserver: $(cat "$BATS_TEST_TMPDIR/tcp.err")"
}

# tcp_start: one aurora-recv process per connection under
# tcpserver, as inetd would run it; sets CONN_PORT.
tcp_start() {
	tcpserver -1 -H -R 127.0.0.1 0 aurora-recv -v --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/conn.log" >"$BATS_TEST_TMPDIR/tcp.out" \
		2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	PIDS+=("$!")
	TCP_PID=$!
	for _ in $(seq 1 200); do [ -s "$BATS_TEST_TMPDIR/tcp.out" ] && break; sleep 0.05; done
	CONN_PORT=$(cat "$BATS_TEST_TMPDIR/tcp.out")
	[ -n "$CONN_PORT" ] || fail "tcpserver did not start: $(cat "$BATS_TEST_TMPDIR/tcp.err")"
}

# port_of ENGINE: the port of listen or conn
port_of() {
	if [ "$1" = listen ]; then echo "$LISTEN_PORT"; else echo "$CONN_PORT"; fi
}

# send ENGINE TEXT: TEXT (\r, \n, \xNN escapes) on one connection to ENGINE
# (bash's /dev/tcp: no interpreter to start, the machine may be busy); what
# came back is in $RAW, $RAW_RC is 0 when the server closed the connection.
send() {
	ENGINE=$1
	RAW_RC=0
	raw "$(port_of "$ENGINE")" "$2" 8 || RAW_RC=$?
}

# send_big ENGINE TEXT: as send, through rawhttp.py, which keeps reading when
# the server closes before it took all of TEXT
send_big() {
	ENGINE=$1
	RAW=$BATS_TEST_TMPDIR/raw.out
	RAW_RC=0
	"$AURORA_TOP/tests/helpers/rawhttp.py" --timeout 8 "$(port_of "$ENGINE")" "$2" >"$RAW" || RAW_RC=$?
}

# answered STATUS...: the last send got one answer, with one of the STATUSes;
# its body, when it has one, is JSON (libmicrohttpd's own 431 aside)
answered() {
	local code
	run -0 grep -ac '^HTTP/1\.1 ' "$RAW"
	[ "$output" = 1 ] || fail "$ENGINE: $output answers, not one: $(head -c 2000 "$RAW" | cat -A)"
	code=$(head -n 1 "$RAW" | cut -d' ' -f2)
	[[ " $* " == *" $code "* ]] || fail "$ENGINE: answered $code, not one of $*: $(head -c 2000 "$RAW" | cat -A)"
}

# head_clean: the head of the last answer has only the header fields aurora
# sends (none named by the attacker), each line ending in CRLF, and its body
# is one JSON value holding no raw control character
head_clean() {
	local head body
	head=$(sed '/^\r$/q' "$RAW")
	[ -n "$head" ] || fail "$ENGINE: no answer"
	if grep -aiq '^\(X-Evil\|Set-Cookie\|Injected\)' <<<"$head"; then
		fail "$ENGINE: an injected header field: $(cat -A <<<"$head")"
	fi
	# every line of the head: the status line, or NAME: VALUE, and a CR before each LF
	run -0 awk '!/\r$/ { bad++ } END { print bad + 0 }' <<<"$head"
	assert_output 0
	if sed '1d; /^\r$/d' <<<"$head" | grep -avq $'^[A-Za-z0-9-]*: [^\r]*\r$'; then
		fail "$ENGINE: a header line that is not a field: $(cat -A <<<"$head")"
	fi
	body=$(sed '1,/^\r$/d' "$RAW")
	if [ -n "$body" ]; then
		if LC_ALL=C grep -aqP '[\x00-\x1f]' <<<"${body%$'\n'}"; then
			fail "$ENGINE: a raw control character in the body: $(cat -A <<<"$body")"
		fi
		run -0 jq -en 'input | type' <<<"$body"
	fi
}

# still_serving ENGINE N: GET /healthz is 200 at once; then delivery N is posted, its status in $output
still_serving() {
	local url
	url=http://127.0.0.1:$(port_of "$1")
	run -0 curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$url/healthz"
	assert_output 200
	run -0 curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "@$(body "$2")" "$url/api/webhooks/grafana"
}

# count TABLE: its rows
count() {
	sqlite3 "$AURORA_DB" "SELECT count(*) FROM $1"
}

# fds PID: the process's open files; rss PID: its resident memory in KiB
fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l
}
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# --- reflected values ------------------------------------------------------------------

@test "CR/LF smuggled into the path, query, token, login and incident fields never makes a header line, in either engine" {
	local engine p evil='%0d%0aX-Evil:%201%0d%0aSet-Cookie:%20a=b%0d%0a%0d%0a<html>'
	for engine in listen conn; do
		p=$(port_of "$engine")
		for path in "/api/webhooks/x$evil" "/api/x$evil/status" "/api/webhooks/grafana?token=a$evil" \
			"/api/incidents/1$evil" "/api/incidents?service=a$evil" "/api/incidents/stream$evil" \
			"/$evil" "/api/incidents/1/$evil"; do
			send "$engine" "GET $path HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $OPTOKEN\r\nConnection: close\r\n\r\n"
			answered 200 400 401 404 405
			head_clean
		done
		# the same in bodies: the login token and every field of a manual incident
		local login='{"token":"ab\\r\\nSet-Cookie: a=b\\r\\nX-Evil: 1"}'
		send "$engine" "POST /api/login HTTP/1.1\r\nHost: t\r\nOrigin: http://t\r\nContent-Type: application/json\r\nContent-Length: $(printf "%b" "$login" | wc -c)\r\nConnection: close\r\n\r\n$login"
		answered 400 401
		head_clean
	done
	# a manual incident whose every field holds CR/LF: stored as sent, answered 201 with a Location of digits
	local inc='{"source_type":"manual","alert_title":"t\r\nX-Evil: 1\r\n\r\n<b>","alert_service":"s\r\nSet-Cookie: a=b","source_link":"https://x.test/\r\nX-Evil: 2","alert_metadata":{"k\r\nX-Evil: 3":"v\r\n"}}'
	for engine in listen conn; do
		send "$engine" "POST /api/incidents HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $OPTOKEN\r\nContent-Type: application/json\r\nContent-Length: $(printf '%s' "$inc" | wc -c)\r\nConnection: close\r\n\r\n${inc//\\/\\\\}"
		answered 201 400
		head_clean
		if head -n 1 "$RAW" | grep -q ' 201 '; then
			grep -aq $'^Location: /api/incidents/[0-9]*\r$' "$RAW" || fail "$ENGINE: $(cat -A "$RAW")"
		fi
	done
	run -0 sqlite3 "$AURORA_DB" "SELECT count(*) FROM incidents WHERE title = 't' || char(13, 10) || 'X-Evil: 1' || char(13, 10, 13, 10) || '<b>'"
	assert_output 2
	still_serving listen 1
	assert_output 202
	still_serving conn 2
	assert_output 202
}

# --- sizes ------------------------------------------------------------------------------

@test "100 KB of headers, in one field or in 2000, is 431 and the connection closes; nothing is stored" {
	local big many engine
	big=$(head -c 102400 /dev/zero | tr '\0' a)
	many=$(for i in $(seq 1 2000); do printf 'X-H%d: %044d\\r\\n' "$i" 0; done)
	for engine in listen conn; do
		send_big "$engine" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nX-Big: $big\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
		assert_equal "$RAW_RC" 0
		answered 431
		send_big "$engine" "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\n${many}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
		assert_equal "$RAW_RC" 0
		answered 431
		# a 100 KB request line too
		send_big "$engine" "GET /healthz?$big HTTP/1.1\r\nHost: t\r\n\r\n"
		assert_equal "$RAW_RC" 0
		answered 414 431 400
	done
	assert_equal "$(count inbox)" 0
	assert_equal "$(count quarantine)" 0
	still_serving listen 1
	assert_output 202
	still_serving conn 2
	assert_output 202
}

# --- the platform segment ----------------------------------------------------------------

@test "traversal, NUL, backslashes, overlong dots and SQL in the platform segment are 400 or 404, never a route or a file" {
	local engine path
	: >"$BATS_TEST_TMPDIR/marker"
	for engine in listen conn; do
		for path in '..%2f..%2fetc%2fpasswd' '..%2F' '%2e%2e' '..' '%2e' 'grafana%2f..%2f..%2finbox' \
			'grafana%00' 'grafana%00.json' '..%5c..%5cetc%5cpasswd' '..\\..\\etc' '%c0%ae%c0%ae' \
			'%e0%80%ae%e0%80%ae' 'grafana%20' 'GRAFANA' "grafana'%20OR%20'1'='1" 'grafana;DROP%20TABLE%20inbox' \
			"$(printf 'a%.0s' $(seq 1 5000))" '%ff%fe%fd' 'grafana/../grafana' '%2e%2e/webhooks/grafana'; do
			send "$engine" "POST /api/webhooks/$path?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"n\":99}\n"
			answered 400 404
			head_clean
		done
		# a raw NUL, and a raw byte that is not UTF-8
		send "$engine" "POST /api/webhooks/gra\x00fana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"n\":99}\n"
		answered 400
		send "$engine" "POST /api/webhooks/gra\xfffana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"n\":99}\n"
		answered 400 404
		head_clean
		# the status route's segment the same way
		send "$engine" "GET /api/..%2f..%2fetc%2fpasswd/status HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $OPTOKEN\r\nConnection: close\r\n\r\n"
		answered 400 404
	done
	assert_equal "$(count inbox)" 0
	assert_equal "$(count quarantine)" 0
	# nothing was created outside the test's files (a path used as a file name would be)
	run -0 find "$BATS_TEST_TMPDIR" "$AURORA_TOP" -maxdepth 3 -newer "$BATS_TEST_TMPDIR/marker" \( -name '*passwd*' -o -name 'inbox' \)
	assert_output ''
	still_serving listen 1
	assert_output 202
	still_serving conn 2
	assert_output 202
}

# --- bodies ------------------------------------------------------------------------------

# deliver ENGINE PLATFORM FILE: POST FILE with the platform's token; $output is the status, $RESP the answer
deliver() {
	http -H 'Content-Type: application/json' -H "Authorization: Bearer ${TOKENS[$2]:-$TOKEN}" \
		--data-binary "@$3" "http://127.0.0.1:$(port_of "$1")/api/webhooks/$2"
}

# stored_as FILE: the newest inbox row holds FILE's bytes exactly
stored_as() {
	sqlite3 "$AURORA_DB" "SELECT writefile('$BATS_TEST_TMPDIR/stored', body) FROM inbox ORDER BY id DESC LIMIT 1" >/dev/null
	cmp "$1" "$BATS_TEST_TMPDIR/stored"
}

# pipeline: every stored delivery through aurora-normalize and aurora-correlate, as the pipeline runs them
pipeline() {
	run -0 --separate-stderr aurora-inbox replay --from 1
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/alerts.jsonl"
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/alerts.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/decisions.jsonl"
	run -0 sqlite3 "$AURORA_DB" 'PRAGMA integrity_check'
	assert_output ok
}

@test "malformed webhook bodies are 400 with the line and column, store nothing and leak nothing, in either engine" {
	local engine f i grafana=$TOKEN
	local -A where=()
	declare -gA TOKENS=()
	new_token alertmanager
	TOKENS[alertmanager]=$TOKEN
	TOKEN=$grafana
	# each file: the body, and where the door says it went wrong (line, column of the byte; bytes from 1)
	printf '{"alerts":[] "b":1}' >"$BATS_TEST_TMPDIR/m-separator.json"
	where[separator]="expected ',' or '}': '\"' at line 1, column 14"
	printf '{"alerts":[{"status":"firing",\n"labels":{"alertname":"cut' >"$BATS_TEST_TMPDIR/m-truncated.json"
	where[truncated]="unterminated string: '\"' at line 2, column 23"
	printf '{"alerts":[\n' >"$BATS_TEST_TMPDIR/m-ended.json"
	where[ended]="expected a value: end of input at line 2, column 1"
	printf '{"alerts":[]}\n\n  }x' >"$BATS_TEST_TMPDIR/m-trailing.json"
	where[trailing]="unexpected data after the JSON value: '}' at line 3, column 3"
	printf '{\n"alerts":[],\n"s":"a\tb"}' >"$BATS_TEST_TMPDIR/m-control.json"
	where[control]="control character in string: byte 0x09 at line 3, column 7"
	python3 -c 'print("[" * 10000 + "]" * 10000)' >"$BATS_TEST_TMPDIR/m-deep.json"
	where[deep]="exceeds depth limit for parsing: '[' at line 1, column 257"
	# what libjq 1.6 read as numbers but RFC 8259 does not: nan, a leading zero, +1, .5, 1.
	printf '{"alerts":[],\n"v":nan}' >"$BATS_TEST_TMPDIR/m-nan.json"
	where[nan]="unexpected character: 'n' at line 2, column 5"
	printf '{"alerts":[],"v":01}' >"$BATS_TEST_TMPDIR/m-zero.json"
	where[zero]="expected ',' or '}': '1' at line 1, column 19"
	printf '{"alerts":[],"v":+1}' >"$BATS_TEST_TMPDIR/m-plus.json"
	where[plus]="unexpected character: '+' at line 1, column 18"
	printf '{"alerts":[],"v":.5}' >"$BATS_TEST_TMPDIR/m-dot.json"
	where[dot]="unexpected character: '.' at line 1, column 18"
	printf '{"alerts":[],"v":1.}' >"$BATS_TEST_TMPDIR/m-frac.json"
	where[frac]="invalid number: '}' at line 1, column 20"
	for engine in listen conn; do
		for f in separator truncated ended trailing control deep nan zero plus dot frac; do
			# three times: a leak grows with each (ASan's leak check on the sanitizer build)
			for i in 1 2 3; do
				deliver "$engine" alertmanager "$BATS_TEST_TMPDIR/m-$f.json"
				[ "$output" = 400 ] || fail "$engine $f: $output $(head -c 300 "$RESP")"
				run -0 jq -r .error "$RESP"
				assert_output "malformed JSON: ${where[$f]}"
			done
		done
	done
	assert_equal "$(count inbox)" 0
	assert_equal "$(count quarantine)" 0
	# what jvio reads and libjq 1.6 did too is let in as before: a lone low surrogate escape, invalid UTF-8
	printf '{"alerts":[],"s":"\\udc00 \xff"}' >"$BATS_TEST_TMPDIR/lenient.json"
	deliver listen alertmanager "$BATS_TEST_TMPDIR/lenient.json"
	assert_output 202
	stored_as "$BATS_TEST_TMPDIR/lenient.json"
	# a body the door let in before it was strict stays as stored and reads as before: nan is null, 01 is 1
	run -0 sqlite3 "$AURORA_DB" "INSERT INTO inbox (platform, received_at, received_ms, body, body_sha256)
		VALUES ('alertmanager', '2026-12-01T00:00:00Z', 1764547200000, CAST('{\"alerts\":[],\"v\":nan,\"w\":01}' AS BLOB), 'old')"
	run -0 --separate-stderr aurora-inbox replay --from 2
	[ -n "$output" ] || fail "nothing replayed"
	jq -en 'input | .body == {"alerts":[],"v":null,"w":1}' <<<"$output"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/old.jsonl"
	run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/old.jsonl"
	still_serving listen 1
	assert_output 202
	still_serving conn 2
	assert_output 202
	# nothing leaked: the receiver exits 0 with nothing on stderr, each one-connection process too
	recv_stop
	stop_pids "${PIDS[@]}"
	PIDS=()
	[ ! -s "$BATS_TEST_TMPDIR/tcp.err" ] || fail "under tcpserver: $(cat "$BATS_TEST_TMPDIR/tcp.err")"
}

@test "webhook bodies: not UTF-8 is stored as sent; nested 10,000 deep is 400; a 1 MiB string fits or is 413; numbers out of range are kept as sent" {
	declare -gA TOKENS=()
	local engine n=0 f
	# a Grafana delivery whose strings hold bytes that are not UTF-8 (an overlong '/', a surrogate)
	printf '{"alerts":[{"status":"firing","labels":{"alertname":"bad\xff\xfe\xc0\xafutf8","service":"s\xed\xa0\x80"}}]}' \
		>"$BATS_TEST_TMPDIR/utf8.json"
	# a lone surrogate escape is not JSON
	printf '{"alerts":[{"status":"firing","labels":{"alertname":"\\ud800 x"}}]}' >"$BATS_TEST_TMPDIR/surrogate.json"
	python3 -c 'print("[" * 10000 + "]" * 10000)' >"$BATS_TEST_TMPDIR/deep1.json"
	python3 -c 'print("{\"alerts\":[{\"labels\":" + "{\"a\":" * 10000 + "1" + "}" * 10000 + "}]}")' >"$BATS_TEST_TMPDIR/deep2.json"
	# a 1 MiB string: just under --max-body, and just over
	python3 -c 'import json; print(json.dumps({"alerts":[{"status":"firing","labels":{"alertname":"big"},"annotations":{"summary":"s"*(1048576-200)}}]}))' \
		>"$BATS_TEST_TMPDIR/big.json"
	python3 -c 'import json; print(json.dumps({"alerts":[{"labels":{"alertname":"a"*1048576}}]}))' >"$BATS_TEST_TMPDIR/huge.json"
	printf '{"alerts":[{"status":"firing","labels":{"alertname":"numbers"},"startsAt":1e999,"endsAt":-1e999,"fingerprint":123456789012345678901234567890,"values":{"A":1e-999,"B":-0,"C":18446744073709551617}}],"orgId":1e400,"truncatedAlerts":-9223372036854775809}' \
		>"$BATS_TEST_TMPDIR/numbers.json"
	for engine in listen conn; do
		for f in utf8 big numbers; do
			deliver "$engine" grafana "$BATS_TEST_TMPDIR/$f.json"
			[ "$output" = 202 ] || fail "$engine $f: $output $(head -c 300 "$RESP")"
			n=$((n + 1))
			# a second engine sees the first one's delivery as a retry: same id, nothing stored
			[ "$engine" = conn ] || stored_as "$BATS_TEST_TMPDIR/$f.json"
		done
		for f in deep1 deep2; do
			deliver "$engine" grafana "$BATS_TEST_TMPDIR/$f.json"
			[ "$output" = 400 ] || fail "$engine $f: $output $(head -c 300 "$RESP")"
			json '.error | test("depth")'
		done
		deliver "$engine" grafana "$BATS_TEST_TMPDIR/surrogate.json"
		assert_output 400
		json '.error | test("surrogate")'
		deliver "$engine" grafana "$BATS_TEST_TMPDIR/huge.json"
		assert_output 413
	done
	assert_equal "$(count inbox)" 3
	assert_equal "$(count quarantine)" 0
	# the stored ones go through the pipeline: each decided, the database whole
	pipeline
	run -0 sqlite3 "$AURORA_DB" 'SELECT count(*) FROM inbox WHERE state IS NULL'
	assert_output 0
	still_serving listen 1
	assert_output 202
	still_serving conn 2
	assert_output 202
}

@test "manual incidents: not UTF-8, nested 10,000 deep, 1 MiB strings, numbers out of range, bad ids, filters and Last-Event-IDs are 4xx; nothing is stored" {
	local engine b
	printf '{"source_type":"manual","alert_title":"bad\xff\xfeutf8"}' >"$BATS_TEST_TMPDIR/i1.json"
	python3 -c 'print("{\"source_type\":\"manual\",\"alert_title\":\"t\",\"alert_metadata\":" + "{\"a\":" * 10000 + "1" + "}" * 10000 + "}")' \
		>"$BATS_TEST_TMPDIR/i2.json"
	python3 -c 'import json; print(json.dumps({"source_type":"manual","alert_title":"t"*(1048576-100)}))' >"$BATS_TEST_TMPDIR/i3.json"
	python3 -c 'import json; print(json.dumps({"source_type":"manual","alert_title":"t","alert_service":"s"*(1048576-100)}))' >"$BATS_TEST_TMPDIR/i4.json"
	python3 -c 'import json; print(json.dumps({"source_type":"manual","alert_title":"t","alert_metadata":{"k":"m"*1048576}}))' >"$BATS_TEST_TMPDIR/i5.json"
	printf '{"source_type":"manual","alert_title":"t","alert_metadata":{"n":1e999}}' >"$BATS_TEST_TMPDIR/i6.json"
	printf '{"source_type":"manual","alert_title":1e999}' >"$BATS_TEST_TMPDIR/i7.json"
	printf '{"source_type":"manual","alert_title":"t","severity":-1e999}' >"$BATS_TEST_TMPDIR/i8.json"
	printf '{"source_type":"manual","alert_title":"t","alert_metadata":{"n":-1e999}}' >"$BATS_TEST_TMPDIR/i9.json"
	python3 -c 'print("[" * 10000 + "]" * 10000)' >"$BATS_TEST_TMPDIR/i10.json"
	for engine in listen conn; do
		RECV_URL=http://127.0.0.1:$(port_of "$engine")
		for b in 1 2 3 4 5 6 7 8 9 10; do
			api -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/i$b.json" /api/incidents
			[[ $output == 4?? ]] || fail "$engine i$b: $output $(head -c 300 "$RESP")"
			[ "$output" = 413 ] || json '.error | type == "string"'
		done
		for path in /api/incidents/99999999999999999999999 /api/incidents/1e999 /api/incidents/-1 /api/incidents/0x10 \
			'/api/incidents?limit=1e999' '/api/incidents?limit=99999999999999999999' '/api/incidents?before=-1' \
			'/api/incidents?since=99999999999999999999999' '/api/incidents?since=1e999s' \
			/api/incidents/99999999999999999999999/resolve; do
			if [[ $path == */resolve ]]; then
				api -H 'Content-Type: application/json' --data-binary '{}' "$path"
			else
				api "$path"
			fi
			[[ $output == 40[04] ]] || fail "$engine $path: $output $(head -c 300 "$RESP")"
		done
		# the event stream's resume point: an id out of range is 400, not a stream from 0
		for id in 99999999999999999999999 18446744073709551616 -1 1e999 abc; do
			api -H "Last-Event-ID: $id" --max-time 5 /api/incidents/stream
			[ "$output" = 400 ] || fail "$engine Last-Event-ID $id: $output $(head -c 300 "$RESP")"
		done
	done
	assert_equal "$(count incidents)" 0
	assert_equal "$(count events)" 0
	still_serving listen 1
	assert_output 202
	still_serving conn 2
	assert_output 202
}

# --- SQL ---------------------------------------------------------------------------------

SQL="'); DROP TABLE inbox; -- \" OR 1=1; DELETE FROM incidents WHERE '1'='1"

# sqlize FILE: FILE's JSON with $SQL appended to every string in it, and a label named by it
sqlize() {
	jq -c --arg sql "$SQL" 'walk(if type == "string" then . + $sql
		elif type == "object" and has("alertname") then . + {($sql): $sql} else . end)' "$1"
}

@test "SQL in every field of every platform's payload is stored and shown as text: no table dropped, no row lost" {
	declare -gA TOKENS=()
	local p f n=0 engine=listen fixtures=(
		grafana:normalize/grafana/firing.json alertmanager:normalize/alertmanager/mixed-group.json
		pagerduty:normalize/pagerduty/triggered.json datadog:normalize/datadog/triggered.json
		netdata:normalize/netdata/critical.json dynatrace:normalize/dynatrace/open.json
		splunk:normalize/splunk/result.json jenkins:normalize/jenkins/completed-failure.json
		cloudbees:real/cloudbees/notification-no-phase-failure.json)
	run -0 sqlite3 "$AURORA_DB" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)"
	local schema=$output
	for p in "${PLATFORMS[@]}"; do
		new_token "$p"
		TOKENS[$p]=$TOKEN
	done
	for f in "${fixtures[@]}"; do
		p=${f%%:*}
		sqlize "$FIXTURES/${f#*:}" >"$BATS_TEST_TMPDIR/$p.json"
		deliver "$engine" "$p" "$BATS_TEST_TMPDIR/$p.json"
		[ "$output" = 202 ] || fail "$p: $output $(cat "$RESP")"
		stored_as "$BATS_TEST_TMPDIR/$p.json"
		n=$((n + 1))
		engine=$([ "$engine" = listen ] && echo conn || echo listen)
	done
	# SQL in the token is a wrong token
	http -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/grafana.json" \
		"$RECV_URL/api/webhooks/grafana?token='%20OR%20'1'='1"
	assert_output 401
	http -H "Authorization: Bearer ' OR 1=1 --" -H 'Content-Type: application/json' \
		--data-binary "@$BATS_TEST_TMPDIR/grafana.json" "$RECV_URL/api/webhooks/grafana"
	assert_output 401
	assert_equal "$(count inbox)" "$n"
	pipeline
	# every table is still there, every delivery decided, and the text came through as text
	run -0 sqlite3 "$AURORA_DB" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)"
	assert_output "$schema"
	assert_equal "$(count inbox)" "$n"
	run -0 sqlite3 "$AURORA_DB" 'SELECT count(*) FROM inbox WHERE state IS NULL'
	assert_output 0
	printf '%s' "$SQL" >"$BATS_TEST_TMPDIR/sql"
	run -0 sqlite3 "$AURORA_DB" "SELECT count(*) FROM incidents WHERE instr(title, CAST(readfile('$BATS_TEST_TMPDIR/sql') AS TEXT)) > 0"
	[ "$output" -ge 5 ] || fail "only $output incidents carry the text in their titles"
	# through the API too: a service named with SQL finds only its own incidents
	api -G --data-urlencode "service=x$SQL" /api/incidents
	assert_output 200
	json 'length == 0'
}

@test "SQL in every field of a manual incident is stored and read back as text; in source_type it is 400" {
	local engine inc
	inc=$(jq -cn --arg sql "$SQL" '{source_type: "manual", alert_title: ("t" + $sql), alert_service: ("s" + $sql),
		severity: "high", source_link: ("https://x.test/" + $sql), alert_metadata: {("k" + $sql): ("v" + $sql), n: [$sql]}}')
	run -0 sqlite3 "$AURORA_DB" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)"
	local schema=$output
	for engine in listen conn; do
		RECV_URL=http://127.0.0.1:$(port_of "$engine")
		create_incident "$inc"
		api "/api/incidents/$ID"
		assert_output 200
		jq -e --argjson inc "$inc" '.title == $inc.alert_title and .service == $inc.alert_service' "$RESP" >/dev/null ||
			fail "$engine: $(head -c 1000 "$RESP")"
		api -H 'Content-Type: application/json' --data-binary "$(jq -c --arg sql "$SQL" '.source_type += $sql' <<<"$inc")" /api/incidents
		assert_output 400
		json '.error | startswith("source_type")'
		api -H 'Content-Type: application/json' --data-binary "$(jq -cn --arg sql "$SQL" '{text: $sql}')" "/api/incidents/$ID/comments"
		[[ $output == 20? ]] || fail "$engine: comment answered $output $(cat "$RESP")"
		api -H 'Content-Type: application/json' --data-binary "$(jq -cn --arg sql "$SQL" '{reason: $sql}')" "/api/incidents/$ID/resolve"
		assert_output 200
		api -H 'Content-Type: application/json' --data-binary "{\"into\":\"1 OR 1=1\"}" "/api/incidents/$ID/merge"
		[[ $output == 40? ]] || fail "$engine: merge answered $output"
	done
	run -0 sqlite3 "$AURORA_DB" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)"
	assert_output "$schema"
	assert_equal "$(count incidents)" 2
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT count(*) FROM incidents WHERE status = 'resolved'")" 2
	run -0 sqlite3 "$AURORA_DB" 'PRAGMA integrity_check'
	assert_output ok
}

# --- slow and idle clients ---------------------------------------------------------------

@test "accept loop: 40 bodies trickling against 32 connections are cut off at --body-timeout; deliveries still get 202" {
	recv_stop
	recv_start -v --max-connections 32 --body-timeout 2 --read-timeout 30
	LISTEN_PORT=$RECV_PORT
	"$AURORA_TOP/tests/helpers/slowclients.py" --mode body --token "$TOKEN" --addresses 10 \
		--ready "$BATS_TEST_TMPDIR/slow.ready" "$RECV_PORT" 40 5 >"$BATS_TEST_TMPDIR/slow.out" 2>&1 3>&- &
	PIDS+=("$!")
	for _ in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/slow.ready" ] && break; sleep 0.05; done
	for n in 1 2 3; do
		post grafana "$(body "$n")" -H "Authorization: Bearer $TOKEN" --max-time 4
		assert_output 202
	done
	wait "${PIDS[-1]}"
	run -0 cat "$BATS_TEST_TMPDIR/slow.out"
	assert_output 'closed 40 of 40'
	assert_equal "$(count inbox)" 3
}

@test "accept loop: 10,000 idle connections: deliveries still get 202 within a second, and open files and memory come back" {
	local before_fd before_rss round
	# the connections come from 50 addresses (the per-address cap is 256)
	run -0 bash -c 'ulimit -Hn'
	[ "$output" = unlimited ] || [ "$output" -ge 10100 ] ||
		skip "the hard limit of open files is $output: 10,000 client sockets do not fit"
	for round in 1 2; do
		"$AURORA_TOP/tests/helpers/idleconns.py" --addresses 50 --ready "$BATS_TEST_TMPDIR/idle.ready" \
			"$LISTEN_PORT" 10000 30 >"$BATS_TEST_TMPDIR/idle.out" 2>&1 3>&- &
		PIDS+=("$!")
		for _ in $(seq 1 400); do [ -s "$BATS_TEST_TMPDIR/idle.ready" ] && break; sleep 0.05; done
		[ -s "$BATS_TEST_TMPDIR/idle.ready" ] || fail "$(cat "$BATS_TEST_TMPDIR/idle.out")"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/idle.ready")" 'open 10000'
		post grafana "$(body "$round")" -H "Authorization: Bearer $TOKEN" --max-time 1
		assert_output 202
		# at most --max-reading (128) of them are still held
		[ "$(fds "$RECV_PID")" -lt 400 ] || fail "$(fds "$RECV_PID") open files"
		kill -TERM "${PIDS[-1]}"
		wait "${PIDS[-1]}"
		unset 'PIDS[-1]'
		rm "$BATS_TEST_TMPDIR/idle.ready"
		run -0 cat "$BATS_TEST_TMPDIR/idle.out"
		[[ $output =~ ^opened\ 10000\ of\ 10000,\ closed\ ([0-9]+) ]] || fail "$output"
		[ "${BASH_REMATCH[1]}" -ge 9000 ] || fail "$output"
		if [ "$round" = 1 ]; then
			# 10,000 closes take a while on a loaded machine: up to 10 s
			for _ in $(seq 1 200); do [ "$(fds "$RECV_PID")" -le 40 ] && break; sleep 0.05; done
			before_fd=$(fds "$RECV_PID")
			before_rss=$(rss "$RECV_PID")
		fi
	done
	# the second round leaves what the first left: no open file and no memory kept
	for _ in $(seq 1 200); do [ "$(fds "$RECV_PID")" -le "$before_fd" ] && break; sleep 0.05; done
	assert_equal "$(fds "$RECV_PID")" "$before_fd"
	rss_flat "$before_rss"
	assert_equal "$(count inbox)" 2
}

@test "one connection: 40 idle connections under tcpserver -c 40 end at --read-timeout and leave no process behind" {
	local tcp=$TCP_PID start ms
	kill "$tcp"
	wait "$tcp" || true
	rm -f "$BATS_TEST_TMPDIR/tcp.out"
	# each connection is a process and holds one of tcpserver's -c places until
	# --read-timeout; past tcpserver's listen backlog (20) the kernel holds the
	# rest, so more would measure its SYN-ACK retries, not aurora-recv
	tcpserver -1 -H -R -c 40 127.0.0.1 0 aurora-recv --read-timeout 2 --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/conn.log" >"$BATS_TEST_TMPDIR/tcp.out" 2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	TCP_PID=$!
	PIDS+=("$TCP_PID")
	for _ in $(seq 1 200); do [ -s "$BATS_TEST_TMPDIR/tcp.out" ] && break; sleep 0.05; done
	CONN_PORT=$(cat "$BATS_TEST_TMPDIR/tcp.out")
	start=$(date +%s%N)
	run -0 "$AURORA_TOP/tests/helpers/idleconns.py" "$CONN_PORT" 40 20
	assert_output 'opened 40 of 40, closed 40 by the server'
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -lt 12000 ] || fail "the last idle connection was closed after $ms ms"
	for _ in $(seq 1 100); do [ -z "$(pgrep -P "$TCP_PID")" ] && break; sleep 0.05; done
	run -1 pgrep -P "$TCP_PID"
	still_serving conn 1
	assert_output 202
}

# sanitized: the binaries under test are built with AddressSanitizer, whose
# quarantine keeps freed memory (its leak check at exit stands in for RSS)
sanitized() {
	grep -q __asan_init "$(command -v aurora-recv)"
}

# rss_flat BEFORE: the receiver's RSS is within 4 MiB of BEFORE (SQLite's page
# cache and malloc's arenas settle there), unless sanitized
rss_flat() {
	local now
	now=$(rss "$RECV_PID")
	echo "# rss $1 -> $now KiB" >&3
	sanitized && return 0
	[ "$now" -le $(($1 + 4096)) ] || fail "RSS grew from $1 to $now KiB"
}

@test "after all of it the accept loop holds the open files and memory it held before" {
	local before_fd before_rss round engine=listen big
	big=$(head -c 102400 /dev/zero | tr '\0' a)
	python3 -c 'print("[" * 10000 + "]" * 10000)' >"$BATS_TEST_TMPDIR/deep.json"
	python3 -c 'import json; print(json.dumps({"alerts":[{"status":"firing","labels":{"alertname":"a"*1000000}}]}))' >"$BATS_TEST_TMPDIR/big.json"
	for round in 1 2 3 4; do
		for _ in 1 2 3; do
			send_big listen "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nX-Big: $big\r\nContent-Length: 2\r\n\r\n{}"
			send listen "POST /api/webhooks/..%2f..%2fetc?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
			send listen "POST /api/webhooks/x%0d%0aX-Evil:1?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
			http -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/deep.json" "$RECV_URL/api/webhooks/grafana"
			assert_output 400
			api -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/deep.json" /api/incidents
			assert_output 400
		done
		# a 1 MB delivery: the same body each round, a retry after the first
		http -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/big.json" "$RECV_URL/api/webhooks/grafana"
		assert_output 202
		sleep 0.3
		if [ "$round" = 2 ]; then
			before_fd=$(fds "$RECV_PID")
			before_rss=$(rss "$RECV_PID")
		fi
	done
	assert_equal "$(fds "$RECV_PID")" "$before_fd"
	rss_flat "$before_rss"
	assert_equal "$(count inbox)" 1
}
