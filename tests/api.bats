#!/usr/bin/env bats
# api.bats - aurora-recv's operator side: the incident API (POST and GET
# /api/incidents, GET /api/incidents/ID), the event stream (GET
# /api/incidents/stream, Server-Sent Events) and the operator tokens that
# guard them, --no-auth on loopback, streams in the accept loop and in
# one-connection modes. Real processes, real sockets on 127.0.0.1, real
# SQLite files; the live pipeline where a webhook must become an event.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv
load helpers/pipeline

setup() {
	aurora_fresh_db
	RECV_PID=
	PIPE_PID=
	LOCK_PID=
	PIDS=()
	STREAM_URL=
	# these tests read the named-event format (event: incident.created); tests/actions.bats reads the default
	SSE_QUERY='?named=1'
	export AURORA_PUBLIC_URL=https://aurora.example.test
	new_operator_token ops
}

teardown() {
	pipeline_stop
	recv_teardown
}

# wait_count NAME N: until stream NAME has shown N events (10 s at most)
wait_count() {
	for _ in $(seq 1 200); do
		[ "$(sse_ids "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "stream $1 has $(sse_ids "$1" | wc -l) events, want $2: $(cat "$BATS_TEST_TMPDIR/$1.sse")"
}

# --- POST /api/incidents ----------------------------------------------------------

@test "POST /api/incidents creates an incident: 201 {id}, a Location, and the row aurora-incident shows" {
	recv_start
	api -H 'Content-Type: application/json' --data-binary \
		'{"source_type":"manual","alert_title":"checkout is down","alert_service":"checkout","severity":"critical","alert_metadata":{"ticket":"OPS-7"}}' \
		/api/incidents
	assert_output 201
	json '. == {"id": 1}'
	assert_equal "$(header Location)" /api/incidents/1
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.title == "checkout is down" and .service == "checkout" and .severity == "critical"
		and .status == "investigating" and .source_type == "manual" and .metadata == {"ticket": "OPS-7"}
		and (.events | map(.event) == ["incident.created"])' <<<"$output"
	# only the required fields: the defaults
	create_incident '{"source_type":"grafana","alert_title":"disk full"}'
	assert_equal "$ID" 2
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '.severity == "medium" and .service == "" and .metadata == {}' <<<"$output"
}

@test "POST /api/incidents: 400 names the field that is wrong, and nothing is stored" {
	recv_start
	bad() {
		api -H 'Content-Type: application/json' --data-binary "$1" /api/incidents
		assert_output 400
		json_ok '.error | startswith($f)' --arg f "$2" <"$RESP" >/dev/null ||
			fail "$1: the error does not start with '$2': $(cat "$RESP")"
	}
	bad '{"alert_title":"t"}' 'source_type: required'
	bad '{"source_type":"Bad Type!","alert_title":"t"}' 'source_type:'
	bad '{"source_type":7,"alert_title":"t"}' 'source_type: must be a string'
	bad '{"source_type":"manual"}' 'alert_title: required'
	bad '{"source_type":"manual","alert_title":""}' 'alert_title: must not be empty'
	bad '{"source_type":"manual","alert_title":["t"]}' 'alert_title: must be a string'
	bad "{\"source_type\":\"manual\",\"alert_title\":\"$(head -c 1001 /dev/zero | tr '\0' t)\"}" 'alert_title: longer than'
	bad '{"source_type":"manual","alert_title":"t","alert_service":5}' 'alert_service: must be a string'
	bad '{"source_type":"manual","alert_title":"t","severity":"urgent"}' 'severity: must be one of critical, high, medium, low, info'
	bad '{"source_type":"manual","alert_title":"t","alert_metadata":"x"}' 'alert_metadata: must be a JSON object'
	bad '["source_type","manual"]' 'body: must be a JSON object'
	bad '{"source_type":' 'malformed JSON'
	# what libjq would read and quietly change is refused, never stored changed
	bad '{"source_type":"manual","alert_title":"t","alert_metadata":{"load":1e999}}' 'alert_metadata.load: NaN or a number out of range'
	bad '{"source_type":"manual","alert_title":"t","alert_metadata":{"a":[1,{"b":-1e400}]}}' 'alert_metadata.a[1].b: NaN'
	bad '{"source_type":"manual","alert_title":"t","alert_metadata":{"load":nan}}' "malformed JSON: unexpected character: 'n' at byte 68"
	bad '{"source_type":"manual","alert_title":"t","alert_metadata":{"n":007}}' "malformed JSON: expected ',' or '}': '0' at byte 66"
	bad $'{"source_type":"manual","alert_title":"t\xff"}' 'not strict JSON'
	bad '{"source_type":"manual","alert_title":"t\ud800"}' 'not strict JSON'
	api -H 'Content-Type: application/json' -X POST /api/incidents
	assert_output 411
	api -H 'Content-Type: application/json' --data-binary '' /api/incidents
	assert_output 400
	json '.error | test("empty body")'
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents')" 0
}

@test "POST /api/incidents: malformed JSON of every kind is 400 saying what and where, nothing is stored, the receiver leaks nothing" {
	local n=0
	recv_start
	# malformed FILE-CONTENT MESSAGE: POST the bytes (printf %b) and expect 400 with exactly that error
	malformed() {
		n=$((n + 1))
		printf '%b' "$1" >"$BATS_TEST_TMPDIR/bad.$n"
		api -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/bad.$n" /api/incidents
		[ "$output" = 400 ] || fail "body $n: answered $output: $(cat "$RESP")"
		json_ok '.error == $m' --arg m "malformed JSON: $2" <"$RESP" >/dev/null ||
			fail "body $n: the error is not 'malformed JSON: $2': $(cat "$RESP")"
	}
	# truncated: in a string, after a key, before the closing brace
	malformed '{"source_type":"manual","alert_title":"chec' "unterminated string: '\"' at byte 39"
	malformed '{"source_type":' 'expected a value at end of input'
	malformed '{"source_type":"manual","alert_title":"t"' "expected ',' or '}' at end of input"
	# trailing garbage, a second value
	malformed '{"source_type":"manual","alert_title":"t"} x' "unexpected data after the JSON value: 'x' at byte 44"
	malformed '{"source_type":"manual","alert_title":"t"}{}' "unexpected data after the JSON value: '{' at byte 43"
	# a value without its separator: where libjq 1.6's parser leaked (make check's receiver must end clean)
	malformed '{"source_type":"manual" "alert_title":"t"}' "expected ',' or '}': '\"' at byte 25"
	malformed '["a" "b"]' "expected ',' or ']': '\"' at byte 6"
	# raw control characters in a string (JSON escapes them)
	malformed '{"source_type":"manual","alert_title":"a\tb"}' 'control character in string: byte 0x09 at byte 41'
	malformed '{"source_type":"manual","alert_title":"a\nb"}' 'control character in string: byte 0x0a at byte 41'
	malformed '{"source_type":"manual","alert_title":"\001"}' 'control character in string: byte 0x01 at byte 40'
	# nested past 256 (in the metadata), and 10,000 deep
	python3 -c 'print("{\"source_type\":\"manual\",\"alert_title\":\"t\",\"alert_metadata\":" + "{\"a\":" * 300 + "1" + "}" * 301)' \
		>"$BATS_TEST_TMPDIR/deep1"
	python3 -c 'print("[" * 10000 + "]" * 10000)' >"$BATS_TEST_TMPDIR/deep2"
	for f in deep1 deep2; do
		api -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/$f" /api/incidents
		[ "$output" = 400 ] || fail "$f: answered $output: $(head -c 300 "$RESP")"
		json '.error | test("^malformed JSON: exceeds depth limit for parsing: .+ at byte [0-9]+$")'
	done
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents')" 0
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM events')" 0
	# the receiver serves on, and the same body well-formed is created
	create_incident '{"source_type":"manual","alert_title":"t"}'
	assert_equal "$ID" 1
}

@test "POST /api/incidents: 415 for a body that is not JSON by its type, 413 past --max-body, 405 for PUT" {
	recv_start --max-body 200
	api -H 'Content-Type: text/plain' --data-binary '{"source_type":"manual","alert_title":"t"}' /api/incidents
	assert_output 415
	json '.error | test("not JSON")'
	# curl's default form type is not JSON either
	api --data-binary '{"source_type":"manual","alert_title":"t"}' /api/incidents
	assert_output 415
	api -H 'Content-Type: application/json; charset=utf-8' \
		--data-binary "{\"source_type\":\"manual\",\"alert_title\":\"$(head -c 300 /dev/zero | tr '\0' t)\"}" /api/incidents
	assert_output 413
	api -X PUT -H 'Content-Type: application/json' --data-binary '{}' /api/incidents
	assert_output 405
	[[ $(header Allow) == *POST* ]]
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents')" 0
}

@test "POST /api/incidents: 503 with Retry-After while the database stays locked" {
	recv_start --busy-timeout 200
	hold_lock 7
	api -H 'Content-Type: application/json' --data-binary '{"source_type":"manual","alert_title":"t"}' /api/incidents
	assert_output 503
	[ -n "$(header Retry-After)" ]
	json '.error | test("busy")'
	kill "$LOCK_PID"
	wait "$LOCK_PID" || true
	LOCK_PID=
	create_incident '{"source_type":"manual","alert_title":"t"}'
}

# --- GET /api/incidents, GET /api/incidents/ID ---------------------------------------

@test "GET /api/incidents lists newest first, with the filters of aurora-incident list and paging" {
	recv_start
	for i in 1 2 3 4 5; do
		svc=web
		[ $((i % 2)) -eq 0 ] && svc=db
		create_incident "{\"source_type\":\"manual\",\"alert_title\":\"incident $i\",\"alert_service\":\"$svc\"}"
	done
	run -0 --separate-stderr aurora-incident resolve 2
	api /api/incidents
	assert_output 200
	json 'map(.id) == [5, 4, 3, 2, 1] and all(.type == "incident")'
	# the list entry is what aurora-incident list --json prints
	run -0 --separate-stderr aurora-incident list --json
	jsonl_ok '. == $api[0]' --slurpfile api "$RESP" <<<"$output"
	api '/api/incidents?service=db'
	json 'map(.id) == [4, 2]'
	api '/api/incidents?status=resolved'
	json 'map(.id) == [2]'
	api '/api/incidents?status=open&service=db'
	json 'map(.id) == [4]'
	api '/api/incidents?limit=2'
	json 'map(.id) == [5, 4]'
	api '/api/incidents?limit=2&before=4'
	json 'map(.id) == [3, 2]'
	api '/api/incidents?since=1h'
	json 'length == 5'
	api "/api/incidents?since=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
	json 'length == 0'
	api '/api/incidents?since=2020-01-01T00:00:00Z&service=web'
	json 'map(.id) == [5, 3, 1]'
	api '/api/incidents?service=nothing'
	json '. == []'
}

@test "GET /api/incidents: 400 for a bad filter, naming it" {
	recv_start
	for q in 'status=sleeping' 'limit=0' 'limit=abc' 'limit=1001' 'before=x' 'since=yesterday' 'colour=red'; do
		api "/api/incidents?$q"
		[ "$output" = 400 ] || fail "?$q answered $output"
		json_ok '.error | contains($f)' --arg f "${q%%=*}" <"$RESP" >/dev/null ||
			fail "?$q: the error does not name ${q%%=*}: $(cat "$RESP")"
	done
}

@test "GET /api/incidents/ID is the object of aurora-incident show --json; 404 unknown, 400 not a number" {
	recv_start
	create_incident '{"source_type":"manual","alert_title":"queue backlog","alert_service":"jobs","severity":"low"}'
	api "/api/incidents/$ID"
	assert_output 200
	run -0 --separate-stderr aurora-incident show "$ID" --json
	json_ok '. == $api[0]' --slurpfile api "$RESP" <<<"$output"
	json '.title == "queue backlog" and (.events | length) == 1 and has("alerts") and has("thoughts")'
	api /api/incidents/99
	assert_output 404
	json '.error == "no incident 99"'
	for id in abc 0 -1 1.5 1x 99999999999999999999999; do
		api "/api/incidents/$id"
		[ "$output" = 400 ] || fail "/api/incidents/$id answered $output"
		json '.error | test("positive integer")'
	done
	api -X POST -H 'Content-Type: application/json' --data-binary '{}' "/api/incidents/$ID"
	assert_output 405
}

# --- operator tokens ------------------------------------------------------------------

@test "the operator routes refuse a request without the operator token or with a wrong one: 401, WWW-Authenticate" {
	new_token grafana
	recv_start
	for path in /api/incidents /api/incidents/1 /api/incidents/stream /api/grafana/status; do
		http "$RECV_URL$path"
		[ "$output" = 401 ] || fail "$path without a token answered $output"
		[[ $(header WWW-Authenticate) == Bearer* ]] || fail "$path: no WWW-Authenticate: Bearer"
		json '.error | test("operator token required")'
		http -H 'Authorization: Bearer not-a-token' "$RECV_URL$path"
		[ "$output" = 401 ] || fail "$path with a wrong token answered $output"
		[[ $(header WWW-Authenticate) == *invalid_token* ]]
		json '.error == "wrong operator token"'
	done
	http -H 'Content-Type: application/json' --data-binary '{"source_type":"manual","alert_title":"t"}' \
		"$RECV_URL/api/incidents"
	assert_output 401
	# a webhook token is no operator token, and an operator token no webhook token
	http -H "Authorization: Bearer $TOKEN" "$RECV_URL/api/incidents"
	assert_output 401
	post grafana "$(body 1)" -H "Authorization: Bearer $OPTOKEN"
	assert_output 401
	# another scheme is no operator token either
	http -u "x:$OPTOKEN" "$RECV_URL/api/incidents"
	assert_output 401
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents')" 0
}

@test "the operator token works as Bearer and as the aurora_token cookie; a revoked or rotated token stops at once" {
	recv_start
	http -H "Authorization: Bearer $OPTOKEN" "$RECV_URL/api/incidents"
	assert_output 200
	http -H "Authorization: bearer   $OPTOKEN" "$RECV_URL/api/incidents"
	assert_output 200
	http -b "aurora_token=$OPTOKEN" "$RECV_URL/api/incidents"
	assert_output 200
	http -b "theme=dark; aurora_token=$OPTOKEN" "$RECV_URL/api/grafana/status"
	assert_output 200
	json '.platform == "grafana"'
	# a second operator's token works beside the first
	local first=$OPTOKEN
	new_operator_token dashboard
	http -b "aurora_token=$OPTOKEN" "$RECV_URL/api/incidents"
	assert_output 200
	run -0 --separate-stderr aurora-connector revoke-operator-token dashboard
	http -b "aurora_token=$OPTOKEN" "$RECV_URL/api/incidents"
	assert_output 401
	# rotation: the old token stops, the new one works
	OPTOKEN=$first
	api /api/incidents
	assert_output 200
	new_operator_token ops
	http -H "Authorization: Bearer $first" "$RECV_URL/api/incidents"
	assert_output 401
	api /api/incidents
	assert_output 200
}

@test "--no-auth on 127.0.0.1 lifts the operator token, never the webhook token" {
	new_token grafana
	recv_start --no-auth -v
	http "$RECV_URL/api/incidents"
	assert_output 200
	http -H 'Content-Type: application/json' --data-binary '{"source_type":"manual","alert_title":"t"}' \
		"$RECV_URL/api/incidents"
	assert_output 201
	http "$RECV_URL/api/grafana/status"
	assert_output 200
	post grafana "$(body 1)"
	assert_output 401
	post grafana "$(body 1)" -H 'Authorization: Bearer wrong'
	assert_output 401
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	grep -q 'operator routes without a token (--no-auth)' "$BATS_TEST_TMPDIR/recv.log"
}

@test "--no-auth is refused (exit 2, nothing served) on an address that is not loopback" {
	run -2 --separate-stderr aurora-recv --no-auth --listen 0.0.0.0:0 --port-file "$BATS_TEST_TMPDIR/port"
	[[ $stderr == *"--no-auth is refused"*"0.0.0.0:"*"not a loopback address"* ]] || fail "stderr: $stderr"
	[ ! -e "$BATS_TEST_TMPDIR/port" ]
	run -2 --separate-stderr aurora-recv --no-auth --listen '[::]:0'
	[[ $stderr == *"--no-auth is refused"* ]]
	# loopback in any form is fine
	recv_start --no-auth -v
	recv_stop
	# one-connection mode: the local address of the connection decides
	local ip
	ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -n 1 || true)
	[ -n "$ip" ] || skip "no address other than loopback on this machine"
	launcher tcp tcpserver -1 -H -R "$ip" 0 aurora-recv --no-auth --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/recv.log"
	wait_file "$BATS_TEST_TMPDIR/tcp.out"
	# the connection is closed unanswered: curl sees an empty reply (52) or a
	# reset (56), as the timing goes, never an answer
	local code=0 answer
	answer=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://$ip:$(cat "$BATS_TEST_TMPDIR/tcp.out")/api/incidents") || code=$?
	[ "$answer" = 000 ] || fail "answered $answer"
	[[ $code == 52 || $code == 56 ]] || fail "curl exited $code"
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" "no-auth is refused: the connection came in on $ip:"
}

# --- the event stream ---------------------------------------------------------------

@test "a stream starts at the newest event: nothing old, then each new event as id, event and data" {
	recv_start
	create_incident '{"source_type":"manual","alert_title":"before the stream"}'
	stream_start s
	grep -qx ': events after 1' "$BATS_TEST_TMPDIR/s.sse"
	create_incident '{"source_type":"manual","alert_title":"after","alert_service":"api"}'
	wait_count s 1
	run -0 sse_ids s
	assert_output 2
	grep -qx 'event: incident.created' "$BATS_TEST_TMPDIR/s.sse"
	sse_data s | jsonl_ok 'map(select(.id == 2)) | length == 1 and (.[0] | .v == 1 and .type == "event"
		and .event == "incident.created" and .incident_id == 2 and .data.incident.title == "after"
		and (.at | test("^[0-9]{4}-")))'
	# the record is the events row, as aurora-incident show --json has it
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '.events[0] == ($ev[0] | del(.v, .type))' --slurpfile ev <(sse_data s) <<<"$output"
}

@test "the stream carries status changes and merges; each message is id, event, data and an empty line" {
	recv_start
	stream_start s
	create_incident '{"source_type":"manual","alert_title":"one"}'
	create_incident '{"source_type":"manual","alert_title":"two"}'
	run -0 --separate-stderr aurora-incident resolve 1
	run -0 --separate-stderr aurora-incident reopen 1
	run -0 --separate-stderr aurora-incident merge 2 --into 1
	local n
	n=$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM events')
	wait_count s "$n"
	# ids in order, every event of the table, each named by its type
	diff <(sse_ids s) <(sqlite3 "$AURORA_DB" 'SELECT id FROM events ORDER BY id')
	diff <(sed -n 's/^event: //p' "$BATS_TEST_TMPDIR/s.sse") <(sqlite3 "$AURORA_DB" 'SELECT type FROM events ORDER BY id')
	sse_data s | jsonl_ok 'map(.event) | index("incident.status_changed") != null and index("incident.merged_in") != null'
	# the framing: "id:", "event:", "data:", then an empty line, for every message
	awk '/^id: / { if (state != 0) bad = 1; state = 1; next }
		/^event: / { if (state != 1) bad = 1; state = 2; next }
		/^data: / { if (state != 2) bad = 1; state = 3; next }
		/^$/ { if (state != 0 && state != 3) bad = 1; state = 0; next }
		/^: / { next }
		{ bad = 1 }
		END { exit bad }' "$BATS_TEST_TMPDIR/s.sse"
}

@test "a subscriber connected before a webhook sees the incident.created event the live pipeline writes" {
	new_token grafana
	recv_start
	pipeline_start
	stream_start s
	post grafana "$RECV_FIXTURES/grafana.json" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	wait_file_line "$BATS_TEST_TMPDIR/s.sse" '^event: incident.created'
	sse_data s | jsonl_ok 'map(select(.event == "incident.created")) | length == 1 and .[0].incident_id == 1'
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.service == "checkout" and (.alerts | length) == 1' <<<"$output"
}

@test "a reconnect with Last-Event-ID misses nothing and repeats nothing" {
	recv_start
	stream_start a
	create_incident '{"source_type":"manual","alert_title":"one"}'
	create_incident '{"source_type":"manual","alert_title":"two"}'
	wait_count a 2
	kill "$STREAM_PID"
	local last
	last=$(sse_ids a | tail -n 1)
	assert_equal "$last" 2
	# while the subscriber is away
	create_incident '{"source_type":"manual","alert_title":"three"}'
	run -0 --separate-stderr aurora-incident resolve 1
	create_incident '{"source_type":"manual","alert_title":"four"}'
	stream_start b -H "Authorization: Bearer $OPTOKEN" -H "Last-Event-ID: $last"
	grep -qx ": events after $last" "$BATS_TEST_TMPDIR/b.sse"
	wait_count b 3
	# and after the reconnect, live again
	create_incident '{"source_type":"manual","alert_title":"five"}'
	wait_count b 4
	cat <(sse_ids a) <(sse_ids b) >"$BATS_TEST_TMPDIR/all"
	diff "$BATS_TEST_TMPDIR/all" <(sqlite3 "$AURORA_DB" 'SELECT id FROM events ORDER BY id')
	# a receiver started later holds none of these in memory: they come from the
	# database, in order; ?last_event_id= is the same as the header
	recv_stop
	recv_start
	stream_start c -H "Authorization: Bearer $OPTOKEN" -G -d last_event_id=0
	wait_count c 6
	diff <(sse_ids c) <(sqlite3 "$AURORA_DB" 'SELECT id FROM events ORDER BY id')
	api -H 'Last-Event-ID: x' /api/incidents/stream
	assert_output 400
	json '.error | test("Last-Event-ID")'
}

@test "a heartbeat comment comes every --sse-heartbeat seconds while nothing happens" {
	recv_start --sse-heartbeat 1
	stream_start s
	sleep 2.6
	local beats
	beats=$(grep -c '^: keep-alive$' "$BATS_TEST_TMPDIR/s.sse")
	[ "$beats" -ge 2 ] && [ "$beats" -le 3 ] || fail "$beats keep-alives in 2.6 s: $(cat "$BATS_TEST_TMPDIR/s.sse")"
	run -0 sse_ids s
	assert_output ""
}

@test "50 subscribers at once all see the event, and webhooks keep flowing meanwhile" {
	new_token grafana
	recv_start
	local i
	for i in $(seq 1 50); do
		curl -sN --max-time 30 -H "Authorization: Bearer $OPTOKEN" "$RECV_URL/api/incidents/stream" \
			>"$BATS_TEST_TMPDIR/m$i.sse" 2>&1 3>&- &
		PIDS+=("$!")
	done
	for i in $(seq 1 50); do
		wait_file_line "$BATS_TEST_TMPDIR/m$i.sse" '^: events after'
	done
	for i in $(seq 1 20); do
		post grafana "$(body "$i")" -H "Authorization: Bearer $TOKEN" --max-time 2
		assert_output 202
	done
	create_incident '{"source_type":"manual","alert_title":"for everyone"}'
	for i in $(seq 1 50); do
		wait_file_line "$BATS_TEST_TMPDIR/m$i.sse" '^id: 1$'
		[ "$(grep -c '^id: ' "$BATS_TEST_TMPDIR/m$i.sse")" -eq 1 ] || fail "subscriber $i: $(cat "$BATS_TEST_TMPDIR/m$i.sse")"
	done
	assert_equal "$(rows)" 20
}

@test "--max-streams caps the streams: 503 with Retry-After past it, room again when one leaves" {
	recv_start --max-streams 2
	stream_start s1
	local first=$STREAM_PID
	stream_start s2
	api /api/incidents/stream
	assert_output 503
	[ -n "$(header Retry-After)" ]
	json '.error | test("too many event streams")'
	# the rest of the API is not capped
	api /api/incidents
	assert_output 200
	# the server notices at once that a parked stream's client left (not only at the next heartbeat)
	kill "$first"
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "Authorization: Bearer $OPTOKEN" \
			"$RECV_URL/api/incidents/stream" >"$BATS_TEST_TMPDIR/code" || true
		[ "$(cat "$BATS_TEST_TMPDIR/code")" = 200 ] && break
		sleep 0.1
	done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 200
}

@test "SIGTERM with streams open ends each stream cleanly and exits 0" {
	recv_start
	stream_start s
	local curl_pid=$STREAM_PID rc=0
	recv_stop
	wait "$curl_pid" || rc=$?
	# curl saw the chunked body end, not a cut connection
	assert_equal "$rc" 0
}

@test "tcpserver (one connection per process): the stream works until the client goes away" {
	launcher tcp tcpserver -1 -H -R 127.0.0.1 0 aurora-recv --db "$AURORA_DB" --sse-heartbeat 1 \
		--log-file "$BATS_TEST_TMPDIR/recv.log" -v
	tcp_wait
	stream_start s
	run -0 --separate-stderr aurora-incident create --title 'under tcpserver' --json
	wait_count s 1
	sse_data s | json_ok '.event == "incident.created" and .data.incident.title == "under tcpserver"'
	wait_file_line "$BATS_TEST_TMPDIR/s.sse" '^: keep-alive'
	# the API answers in this mode too, one process per connection
	create_incident '{"source_type":"manual","alert_title":"posted under tcpserver"}'
	wait_count s 2
	# the client leaves: its process ends (tcpserver reports each end)
	kill "$STREAM_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'connection closed' "$BATS_TEST_TMPDIR/recv.log")" -ge 2 ] && break
		sleep 0.05
	done
	[ "$(grep -c 'connection closed' "$BATS_TEST_TMPDIR/recv.log")" -ge 2 ] ||
		fail "the stream's process did not end: $(cat "$BATS_TEST_TMPDIR/recv.log")"
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/tcp.err")" 0
}

@test "systemd-socket-activate --inetd (Accept=yes): the stream resumes with Last-Event-ID in its own process" {
	local port
	port=$(free_port)
	launcher sa systemd-socket-activate -a --inetd -l "127.0.0.1:$port" \
		aurora-recv --db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv.log"
	wait_port "$port"
	wait_file_line "$BATS_TEST_TMPDIR/sa.err" 'died with code 0'
	RECV_URL=http://127.0.0.1:$port
	run -0 --separate-stderr aurora-incident create --title 'first'
	run -0 --separate-stderr aurora-incident create --title 'second'
	stream_start s -H "Authorization: Bearer $OPTOKEN" -H 'Last-Event-ID: 1'
	wait_count s 1
	run -0 --separate-stderr aurora-incident create --title 'third'
	wait_count s 2
	diff <(sse_ids s) <(printf '2\n3\n')
	refute grep -q 'died with code [1-9]' "$BATS_TEST_TMPDIR/sa.err"
}

@test "--no-auth in a one-connection mode on loopback serves the stream without a token" {
	launcher tcp tcpserver -1 -H -R 127.0.0.1 0 aurora-recv --db "$AURORA_DB" --no-auth \
		--log-file "$BATS_TEST_TMPDIR/recv.log"
	tcp_wait
	stream_start s -H 'Accept: text/event-stream'
	run -0 --separate-stderr aurora-incident create --title 'no token needed'
	wait_count s 1
}
