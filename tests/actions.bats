#!/usr/bin/env bats
# actions.bats - what a browser page does with aurora-recv: log in with the
# operator token (an HttpOnly, SameSite=Strict cookie), act on incidents
# (resolve, reopen, merge, acknowledge, comment, postmortem) and connectors
# (token, enable, disable, rca, base-url, test) over HTTP, the cross-site
# refusal of cookie requests, the security headers of every answer, and the
# event stream's default format (incident_update for EventSource's
# onmessage). Real aurora-recv on 127.0.0.1, curl, real SQLite files.

bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv

setup() {
	aurora_fresh_db
	RECV_PID=
	PIDS=()
	STREAM_URL=
	SSE_QUERY=
	export AURORA_PUBLIC_URL=https://aurora.example.test
	new_operator_token alice
}

teardown() {
	recv_teardown
}

# act PATH [JSON]: POST JSON (default: no body) with the operator token as Bearer; status in $output
act() {
	if [ $# -gt 1 ]; then
		api -X POST -H 'Content-Type: application/json' --data-binary "$2" "$1"
	else
		api -X POST "$1"
	fi
}

# three incidents: 1 and 2 open, 3 resolved
three() {
	create_incident '{"source_type":"manual","alert_title":"checkout is slow","alert_service":"checkout"}'
	create_incident '{"source_type":"manual","alert_title":"checkout errors","alert_service":"checkout"}'
	create_incident '{"source_type":"manual","alert_title":"old one"}'
	run -0 --separate-stderr aurora-incident resolve 3
}

# status ID: the stored status
status() {
	sqlite3 "$AURORA_DB" "SELECT status FROM incidents WHERE id = $1"
}

# --- login, logout, me ---------------------------------------------------------------

@test "POST /api/login sets an HttpOnly, SameSite=Strict cookie that opens the operator routes; logout clears it" {
	recv_start
	http -X POST -H "Origin: $RECV_URL" -H 'Content-Type: application/json' \
		--data-binary "{\"token\":\"$OPTOKEN\"}" "$RECV_URL/api/login"
	assert_output 204
	run -0 header Set-Cookie
	assert_output "aurora_token=$OPTOKEN; HttpOnly; SameSite=Strict; Path=/"
	http -H "Cookie: aurora_token=$OPTOKEN" "$RECV_URL/api/me"
	assert_output 200
	json '. == {"name": "alice"}'
	http -X POST -H "Origin: $RECV_URL" -H "Cookie: aurora_token=$OPTOKEN" "$RECV_URL/api/logout"
	assert_output 204
	run -0 header Set-Cookie
	assert_output 'aurora_token=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/'
	http "$RECV_URL/api/me"
	assert_output 401
}

@test "POST /api/login: a wrong token is 401 and sets no cookie; a foreign Origin is 403; a bad body 400" {
	recv_start
	http -X POST -H "Origin: $RECV_URL" -H 'Content-Type: application/json' \
		--data-binary '{"token":"0123456789abcdef"}' "$RECV_URL/api/login"
	assert_output 401
	json '.error == "wrong operator token"'
	run -0 header Set-Cookie
	assert_output ''
	http -X POST -H 'Origin: http://evil.example' -H 'Content-Type: application/json' \
		--data-binary "{\"token\":\"$OPTOKEN\"}" "$RECV_URL/api/login"
	assert_output 403
	json '.error == "cross-site request refused"'
	run -0 header Set-Cookie
	assert_output ''
	http -X POST -H "Origin: $RECV_URL" -H 'Content-Type: application/json' --data-binary '{"token":7}' \
		"$RECV_URL/api/login"
	assert_output 400
	run -0 header Set-Cookie
	assert_output ''
}

# --- cross-site requests ----------------------------------------------------------------

@test "a cookie POST without Origin or Referer, or from another site, is 403 and changes nothing; Bearer is exempt" {
	recv_start
	three
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" "$RECV_URL/api/incidents/1/resolve"
	assert_output 403
	json '.error == "cross-site request refused"'
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H 'Origin: http://evil.example' "$RECV_URL/api/incidents/1/resolve"
	assert_output 403
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H "Origin: http://localhost:$RECV_PORT" \
		"$RECV_URL/api/incidents/1/resolve"
	assert_output 403
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H 'Referer: http://evil.example/x' \
		"$RECV_URL/api/incidents/1/resolve"
	assert_output 403
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H 'Content-Type: application/json' \
		--data-binary '{"source_type":"manual","alert_title":"forged"}' "$RECV_URL/api/incidents"
	assert_output 403
	assert_equal "$(status 1)" investigating
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents')" 3
	# the same page's Origin, or its Referer, is taken
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H "Origin: $RECV_URL" "$RECV_URL/api/incidents/1/acknowledge"
	assert_output 200
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H "Referer: $RECV_URL/incidents/2" \
		"$RECV_URL/api/incidents/2/acknowledge"
	assert_output 200
	# a form under Referrer-Policy: no-referrer says Origin: null; the browser's Sec-Fetch-Site decides
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H 'Origin: null' -H 'Sec-Fetch-Site: cross-site' \
		"$RECV_URL/api/incidents/1/comments"
	assert_output 403
	http -X POST -H "Cookie: aurora_token=$OPTOKEN" -H 'Origin: null' -H 'Sec-Fetch-Site: same-origin' \
		-H 'Content-Type: application/json' --data-binary '{"text":"from a form"}' "$RECV_URL/api/incidents/1/comments"
	assert_output 200
	# reading is not refused: GET with the cookie and no Origin
	http -H "Cookie: aurora_token=$OPTOKEN" "$RECV_URL/api/incidents/1"
	assert_output 200
	# Bearer without Origin works: a browser never adds it on its own
	act /api/incidents/1/resolve
	assert_output 200
	assert_equal "$(status 1)" resolved
}

@test "--no-auth on loopback: a tool without Origin may change things, a page of another site may not" {
	recv_start --no-auth
	three
	http -X POST "$RECV_URL/api/incidents/1/acknowledge"
	assert_output 200
	json '.acknowledged.by == "anonymous"'
	http -X POST -H 'Origin: http://evil.example' "$RECV_URL/api/incidents/2/resolve"
	assert_output 403
	assert_equal "$(status 2)" investigating
	http -X POST -H "Origin: $RECV_URL" "$RECV_URL/api/incidents/2/resolve"
	assert_output 200
	http "$RECV_URL/api/me"
	assert_output 200
	json '. == {"name": "anonymous"}'
}

# --- security headers ------------------------------------------------------------------

# has_security_headers FILE: the three headers in a saved answer head
has_security_headers() {
	local h
	h=$(tr -d '\r' <"$1")
	grep -qx "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" <<<"$h" ||
		fail "no CSP in: $h"
	grep -qx 'X-Content-Type-Options: nosniff' <<<"$h" || fail "no nosniff in: $h"
	grep -qx 'Referrer-Policy: no-referrer' <<<"$h" || fail "no Referrer-Policy in: $h"
}

@test "every answer carries the CSP, nosniff and no-referrer: a webhook, the API, a 404, a 401" {
	new_token grafana
	recv_start
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	assert_output 202
	has_security_headers "$RESP_HEADERS"
	api /api/incidents
	assert_output 200
	has_security_headers "$RESP_HEADERS"
	api /nowhere
	assert_output 404
	has_security_headers "$RESP_HEADERS"
	http "$RECV_URL/api/incidents"
	assert_output 401
	has_security_headers "$RESP_HEADERS"
}

@test "one connection per process (tcpserver): the same headers, actions written in place, a connector test" {
	run -0 --separate-stderr aurora-incident create --title 'one at a time'
	"$(command -v tcpserver)" -1 -H -R -l localhost 127.0.0.1 0 aurora-recv --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/tcp.log" >"$BATS_TEST_TMPDIR/tcp.out" 2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	PIDS+=("$!")
	tcp_wait
	api /api/me
	assert_output 200
	json '. == {"name": "alice"}'
	has_security_headers "$RESP_HEADERS"
	api /nowhere
	assert_output 404
	has_security_headers "$RESP_HEADERS"
	act /api/incidents/1/acknowledge
	assert_output 200
	json '.acknowledged.by == "alice"'
	has_security_headers "$RESP_HEADERS"
	# the sample goes to this address, where tcpserver starts another process for it
	act /api/connectors/netdata/test
	assert_output 200
	json '.status == 202 and (.inbox_id | type == "number")'
}

# --- incident actions ---------------------------------------------------------------------

@test "resolve, reopen and merge answer the incident after the change; 409 with the reason for an illegal move" {
	recv_start
	three
	act /api/incidents/1/resolve '{"reason":"rolled back"}'
	assert_output 200
	json '.id == 1 and .status == "resolved" and .type == "incident"'
	act /api/incidents/1/resolve
	assert_output 409
	json '.error | test("resolved")'
	act /api/incidents/1/reopen
	assert_output 200
	json '.status == "investigating"'
	act /api/incidents/2/reopen
	assert_output 409
	assert_equal "$(status 2)" investigating
	act /api/incidents/1/merge '{"into":2}'
	assert_output 200
	json '.status == "merged" and .merged_into == 2'
	# into a closed incident: refused, nothing half-applied
	act /api/incidents/2/merge '{"into":3}'
	assert_output 409
	assert_equal "$(status 2)" investigating
	assert_equal "$(status 3)" resolved
	act /api/incidents/2/merge '{"into":"3"}'
	assert_output 400
	json '.error | test("into")'
	act /api/incidents/2/merge '{"into":99}'
	assert_output 404
	act /api/incidents/2/resolve '{"reason":5}'
	assert_output 400
	assert_equal "$(status 2)" investigating
}

@test "incident actions: 404 unknown incident or action, 400 bad id or body, 405 for GET, 401 without a token" {
	recv_start
	three
	act /api/incidents/99/resolve
	assert_output 404
	json '.error == "no incident 99"'
	act /api/incidents/x/resolve
	assert_output 400
	act /api/incidents/1/explode
	assert_output 404
	act /api/incidents/1/resolve '[1]'
	assert_output 400
	act /api/incidents/1/resolve '{"reason":'
	assert_output 400
	json '.error | test("malformed JSON")'
	api /api/incidents/1/resolve
	assert_output 405
	http -X POST "$RECV_URL/api/incidents/1/resolve"
	assert_output 401
	assert_equal "$(status 1)" investigating
}

@test "acknowledge stores who (the token's name) and when, once: a second one is 409; an event says so" {
	recv_start
	three
	act /api/incidents/1/acknowledge '{}'
	assert_output 200
	json '.acknowledged.by == "alice" and (.acknowledged.at | test("^20[0-9-]+T"))'
	json '[.events[] | select(.event == "incident.acknowledged")] | length == 1'
	act /api/incidents/1/acknowledge
	assert_output 409
	json '.error | test("already acknowledged by alice")'
	act /api/incidents/3/acknowledge
	assert_output 409
	json '.error | test("resolved")'
	api /api/incidents/2
	json '.acknowledged == null and .comments == []'
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.acknowledged.by == "alice"' <<<"$output"
}

@test "comments: stored with who and when, on the timeline; 400 for an empty or 4001-byte text" {
	recv_start
	three
	act /api/incidents/2/comments '{"text":"rolled back <b>v2</b>"}'
	assert_output 200
	json '.comments | length == 1'
	json '.comments[0] | .by == "alice" and .text == "rolled back <b>v2</b>" and (.id | type == "number") and (.at | type == "string")'
	json '[.events[] | select(.event == "comment.added")][0].data | .by == "alice" and .comment_id == 1'
	act /api/incidents/3/comments '{"text":"a note after the fact"}'
	assert_output 200
	act /api/incidents/2/comments '{"text":""}'
	assert_output 400
	act /api/incidents/2/comments '{}'
	assert_output 400
	act /api/incidents/2/comments "{\"text\":\"$(head -c 4001 /dev/zero | tr '\0' a)\"}"
	assert_output 400
	act /api/incidents/2/comments "{\"text\":\"$(head -c 4000 /dev/zero | tr '\0' a)\"}"
	assert_output 200
	act /api/incidents/99/comments '{"text":"x"}'
	assert_output 404
	assert_equal "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incident_comments')" 3
}

@test "postmortem: generated from the template and stored, then the stored one, regenerate on request" {
	recv_start
	three
	act /api/incidents/3/postmortem '{}'
	assert_output 200
	json '.generated_by == "template" and .generated == true and (.markdown | test("old one"))'
	act /api/incidents/3/postmortem
	assert_output 200
	json '.generated == false and .generated_by == "template"'
	act /api/incidents/3/postmortem '{"regenerate":true}'
	assert_output 200
	json '.generated == true'
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT count(*) FROM events WHERE type = 'postmortem.generated'")" 2
	act /api/incidents/3/postmortem '{"regenerate":"yes"}'
	assert_output 400
	act /api/incidents/99/postmortem
	assert_output 404
}

@test "aurora-incident ack and comment: the same rules from the shell, exit 65 for a second ack" {
	run -0 --separate-stderr aurora-incident create --title 'one'
	run -0 --separate-stderr aurora-incident create --title 'three'
	run -0 --separate-stderr aurora-incident create --title 'three'
	run -0 --separate-stderr aurora-incident resolve 3
	run -0 --separate-stderr aurora-incident ack 1 --by bob
	assert_output 'incident 1 acknowledged by bob'
	run -65 --separate-stderr aurora-incident ack 1 --by carol
	[[ "$stderr" == *"already acknowledged by bob"* ]] || fail "$stderr"
	run -65 --separate-stderr aurora-incident ack 3
	run -1 --separate-stderr aurora-incident ack 99
	run -0 --separate-stderr aurora-incident comment 1 'paged the owner' --by bob
	assert_output 'incident 1: comment 1 by bob'
	run -65 --separate-stderr aurora-incident comment 1 ''
	run -2 --separate-stderr aurora-incident comment 1
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.acknowledged.by == "bob" and .comments[0].text == "paged the owner" and .comments[0].by == "bob"' <<<"$output"
	run -0 --separate-stderr aurora-incident show 1
	[[ "$output" == *"acknowledged  by bob at "* ]] || fail "$output"
	[[ "$output" == *"comment.added"* ]] || fail "$output"
}

# --- connectors --------------------------------------------------------------------------

@test "GET /api/connectors is the list of aurora-connector list --json" {
	recv_start
	api /api/connectors
	assert_output 200
	run -0 --separate-stderr aurora-connector list --json
	jq -en --slurpfile api "$RESP" '[inputs] as $cli | ($api[0] | map(del(.connected))) == ($cli | map(del(.connected))) and ($cli | length == 9)' <<<"$output"
}

@test "connector actions: token (shown once, rotates), enable, disable, rca, base-url; 404 unknown platform, 400 bad body" {
	recv_start
	act /api/connectors/grafana/token
	assert_output 200
	json '(.token | test("^[0-9a-f]{64}$")) and .webhook_url == "https://aurora.example.test/api/webhooks/grafana?token=\(.token)"'
	local first
	first=$(jq -r .token "$RESP")
	act /api/connectors/grafana/token
	assert_output 200
	local second
	second=$(jq -r .token "$RESP")
	[ "$first" != "$second" ]
	post grafana "$(body 1)" -H "Authorization: Bearer $first"
	assert_output 401
	post grafana "$(body 2)" -H "Authorization: Bearer $second"
	assert_output 202
	act /api/connectors/datadog/disable
	assert_output 200
	json '.platform == "datadog" and .enabled == false'
	act /api/connectors/datadog/enable
	assert_output 200
	json '.enabled == true'
	act /api/connectors/jenkins/rca '{"on":false}'
	assert_output 200
	json '.rca == false'
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT rca FROM connectors WHERE platform = 'jenkins'")" 0
	act /api/connectors/jenkins/rca '{"on":"off"}'
	assert_output 400
	act /api/connectors/jenkins/base-url '{"url":"https://ci.example.test"}'
	assert_output 200
	json '.base_url == "https://ci.example.test"'
	act /api/connectors/jenkins/base-url '{"url":"https://u:p@ci.example.test"}'
	assert_output 400
	act /api/connectors/jenkins/base-url '{"url":"ftp://x"}'
	assert_output 400
	act /api/connectors/jenkins/base-url '{"url":null}'
	assert_output 200
	json '.base_url == null'
	act /api/connectors/nope/enable
	assert_output 404
	act /api/connectors/grafana/fly
	assert_output 404
}

@test "connector test: the sample goes through this receiver with a one-use token: status, ms and the inbox id" {
	recv_start
	act /api/connectors/alertmanager/test
	assert_output 200
	json '.status == 202 and (.ms | type == "number") and (.inbox_id | type == "number")'
	local id
	id=$(jq -r .inbox_id "$RESP")
	assert_equal "$(sqlite3 "$AURORA_DB" "SELECT platform || ' ' || test FROM inbox WHERE id = $id")" 'alertmanager 1'
	act /api/connectors/alertmanager/disable
	act /api/connectors/alertmanager/test
	assert_output 200
	json '.status == 404 and .inbox_id == null'
}

# --- the event stream -------------------------------------------------------------------------

# update_of NAME KIND: the data of the first incident_update of KIND in stream NAME (waits up to ~10 s)
update_of() {
	for _ in $(seq 1 200); do
		output=$(sse_data "$1" | jq -c --arg k "$2" 'select(.type == "incident_update" and .kind == $k)' | head -1)
		[ -n "$output" ] && return 0
		sleep 0.05
	done
	fail "no $2 in stream $1: $(cat "$BATS_TEST_TMPDIR/$1.sse")"
}

@test "the default stream has no event: lines, only incident_update data for onmessage: created, merged, acknowledged, comment" {
	recv_start
	stream_start s
	three
	act /api/incidents/1/acknowledge
	act /api/incidents/1/comments '{"text":"hi"}'
	act /api/incidents/1/merge '{"into":2}'
	update_of s created
	json_ok '.event == "incident.created" and .incident_id == 1 and (.id | type == "number") and (.at | type == "string") and (.data.incident.id == 1)' <<<"$output"
	update_of s status_changed
	update_of s acknowledged
	json_ok '.incident_id == 1 and .data.by == "alice"' <<<"$output"
	update_of s comment_added
	update_of s merged
	json_ok '.event == "incident.merged_in" and .incident_id == 2' <<<"$output"
	run -1 grep -c '^event:' "$BATS_TEST_TMPDIR/s.sse"
	# every message is id, data, empty line; ids are the events' ids
	diff <(sse_ids s) <(sqlite3 "$AURORA_DB" 'SELECT id FROM events ORDER BY id')
	diff <(sse_data s | jq -r .event) <(sqlite3 "$AURORA_DB" 'SELECT type FROM events ORDER BY id')
}

@test "?named=1 keeps the named format; Last-Event-ID resumes the default stream without gaps or repeats" {
	recv_start
	SSE_QUERY='?named=1' stream_start n
	create_incident '{"source_type":"manual","alert_title":"named"}'
	wait_file_line "$BATS_TEST_TMPDIR/n.sse" '^event: incident.created'
	sse_data n | json_ok '.type == "event" and .v == 1 and .event == "incident.created"'
	create_incident '{"source_type":"manual","alert_title":"second"}'
	stream_start r -H "Authorization: Bearer $OPTOKEN" -H 'Last-Event-ID: 1'
	for _ in $(seq 1 100); do
		[ "$(sse_ids r | wc -l)" -ge 1 ] && break
		sleep 0.05
	done
	assert_equal "$(sse_ids r | tr '\n' ' ')" '2 '
	sse_data r | json_ok '.type == "incident_update" and .kind == "created" and .incident_id == 2'
}

@test "the cookie opens the stream for a browser (EventSource sends no Authorization)" {
	recv_start
	stream_start c -H "Cookie: aurora_token=$OPTOKEN"
	create_incident '{"source_type":"manual","alert_title":"cookie"}'
	update_of c created
}
