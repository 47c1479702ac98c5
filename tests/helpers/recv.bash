# recv.bash - aurora-recv in the background, HTTP through curl, tokens and
# signatures made here, raw sockets through bash's /dev/tcp.
#
#   load helpers/recv      (after helpers/common)
#
# The variables these functions set (TOKEN, RESP, RAW_MS, LOCK_PID, ...) are
# what the tests read.
# shellcheck disable=SC2034,SC2154

RECV_FIXTURES="$FIXTURES/recv"

# recv_start [OPTION...]: aurora-recv --listen 127.0.0.1:0 in the background,
# diagnostics in $BATS_TEST_TMPDIR/recv.log; sets RECV_PID, RECV_PORT, RECV_URL.
recv_start() {
	local portfile="$BATS_TEST_TMPDIR/recv.port"
	rm -f "$portfile"
	aurora-recv --listen 127.0.0.1:0 --port-file "$portfile" \
		--log-file "$BATS_TEST_TMPDIR/recv.log" "$@" \
		>"$BATS_TEST_TMPDIR/recv.out" 2>"$BATS_TEST_TMPDIR/recv.err" 3>&- &
	RECV_PID=$!
	wait_file "$portfile" "$RECV_PID" || fail "aurora-recv did not start: $(cat "$BATS_TEST_TMPDIR"/recv.*)"
	RECV_PORT=$(cat "$portfile")
	RECV_URL=http://127.0.0.1:$RECV_PORT
}

# recv_stop: SIGTERM, then the exit status must be 0 and stderr empty
# (nothing stray, no sanitizer report).
recv_stop() {
	local rc=0
	[ -n "${RECV_PID:-}" ] || return 0
	kill -TERM "$RECV_PID" 2>/dev/null || true
	wait "$RECV_PID" || rc=$?
	RECV_PID=
	[ "$rc" -eq 0 ] || fail "aurora-recv exited $rc: $(cat "$BATS_TEST_TMPDIR/recv.err")"
	[ ! -s "$BATS_TEST_TMPDIR/recv.err" ] || fail "aurora-recv wrote to stderr: $(cat "$BATS_TEST_TMPDIR/recv.err")"
}

# recv_teardown: end the background helpers a test started (their pids in
# PIDS, and LOCK_PID), then the receiver (recv_stop's checks included).
recv_teardown() {
	# shellcheck disable=SC2086 # LOCK_PID is one word or none
	stop_pids "${PIDS[@]}" ${LOCK_PID:-}
	recv_stop
}

# launcher NAME COMMAND...: a launcher (systemd-socket-activate, tcpserver) in
# the background, its output in $BATS_TEST_TMPDIR/NAME.out and .err; its pid
# goes in PIDS, so recv_teardown ends it.
launcher() {
	local name=$1
	shift
	"$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	PIDS+=("$!")
}

# tcp_start [OPTION...]: aurora-recv under tcpserver on 127.0.0.1, one process per
# connection, diagnostics in recv.log; sets RECV_PORT and RECV_URL.
tcp_start() {
	launcher tcp tcpserver -1 -H -R 127.0.0.1 0 aurora-recv -v --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/recv.log" "$@"
	tcp_wait
}

# tcp_wait: wait until the tcpserver started with its output in
# $BATS_TEST_TMPDIR/tcp.out (launcher tcp ...) prints its port; sets RECV_PORT
# and RECV_URL
tcp_wait() {
	wait_file "$BATS_TEST_TMPDIR/tcp.out" ||
		fail "tcpserver did not start: $(cat "$BATS_TEST_TMPDIR/tcp.err" 2>/dev/null)"
	RECV_PORT=$(head -n 1 "$BATS_TEST_TMPDIR/tcp.out")
	RECV_URL=http://127.0.0.1:$RECV_PORT
}

# set_secret PLATFORM SECRET
set_secret() {
	run -0 --separate-stderr aurora-connector secret "$1" --value "$2"
}

# hmac SECRET FILE: lowercase hex HMAC-SHA256 of the file's bytes
hmac() {
	openssl dgst -sha256 -hmac "$1" -r "$2" | cut -d' ' -f1
}

# http CURL-ARGS...: curl with the answer's body in $RESP and headers in
# $RESP_HEADERS; $output is the status code. A receiver that never answers
# fails the test after a minute instead of hanging the suite.
http() {
	RESP=$BATS_TEST_TMPDIR/resp.body
	RESP_HEADERS=$BATS_TEST_TMPDIR/resp.headers
	run -0 curl -sS --max-time 60 -o "$RESP" -D "$RESP_HEADERS" -w '%{http_code}' "$@"
}

# post PLATFORM FILE [CURL-ARGS...]: POST FILE as JSON to the webhook route.
post() {
	local platform=$1 file=$2
	shift 2
	http -H 'Content-Type: application/json' --data-binary "@$file" "$@" \
		"$RECV_URL/api/webhooks/$platform"
}

# header NAME: the value of a response header of the last http call
header() {
	tr -d '\r' <"$RESP_HEADERS" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' \
		'tolower($1) == n { print $2 }'
}

# json FILTER: FILTER is true of the last answer's body (one JSON value)
json() {
	json_ok "$1" <"$RESP" || fail "answer $(cat "$RESP") does not satisfy $1"
}

# body N: a small distinct JSON body in $BATS_TEST_TMPDIR/body.N; prints the path.
# It has the field every platform's shape check looks for (alerts, sid, PID,
# result), so aurora-recv stores it whatever the platform (tests/door.bats
# is where shapes are tested); its length is what it was before the checks.
body() {
	printf '{"alerts":[],"sid":1,"PID":1,"result":1,"n":%s,"pad":"%s"}' "$1" "$(head -c 9 /dev/zero | tr '\0' x)" \
		>"$BATS_TEST_TMPDIR/body.$1"
	echo "$BATS_TEST_TMPDIR/body.$1"
}

# rows [WHERE]: number of inbox rows
rows() {
	sqlite3 "$AURORA_DB" "SELECT count(*) FROM inbox ${1:-}"
}

# raw PORT TEXT [SECONDS]: send TEXT (printf %b escapes) on a new connection
# and read until the server closes it or SECONDS (default 5) pass; the answer
# is in $RAW, the milliseconds it took in $RAW_MS. Not through `run`: it
# sets variables.
raw() {
	local port=$1 text=$2 secs=${3:-5} start rc=0
	RAW=$BATS_TEST_TMPDIR/raw.out
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	start=$(date +%s%N)
	printf '%b' "$text" >&5
	timeout "$secs" cat <&5 >"$RAW" || rc=$?
	exec 5<&- 5>&-
	RAW_MS=$((($(date +%s%N) - start) / 1000000))
	return "$rc"
}

# wait_file_line FILE PATTERN: wait (up to ~10 s) until FILE has a line matching PATTERN
wait_file_line() {
	for _ in $(seq 1 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line matching '$2' in $1: $(cat "$1" 2>/dev/null)"
}

# hold_lock SECONDS: a background sqlite3 holds the database's write lock
# (BEGIN EXCLUSIVE) for SECONDS; returns once it has it. LOCK_PID is it.
hold_lock() {
	local mark=$BATS_TEST_TMPDIR/locked
	rm -f "$mark"
	sqlite3 "$AURORA_DB" "BEGIN EXCLUSIVE;" ".shell touch $mark" ".shell sleep $1" "ROLLBACK;" \
		>/dev/null 2>&1 3>&- &
	LOCK_PID=$!
	for _ in $(seq 1 200); do
		[ -e "$mark" ] && return 0
		sleep 0.02
	done
	fail "sqlite3 did not take the lock"
}

# --- the operator side: tokens, the incident API, event streams -----------------

# new_operator_token NAME: an operator token from aurora-connector, in $OPTOKEN.
new_operator_token() {
	run -0 --separate-stderr aurora-connector operator-token "$1" --json
	OPTOKEN=$(jq -ern "input | .token" <<<"$output") || fail "no token in: $output"
}

# api CURL-ARGS... PATH: http with the operator token (Bearer) to $RECV_URL$PATH.
api() {
	local path=${*: -1}
	http -H "Authorization: Bearer $OPTOKEN" "${@:1:$#-1}" "$RECV_URL$path"
}

# api_until PATH FILTER: GET PATH (as api does) until its JSON answer satisfies
# FILTER, up to ~5 s (counts that go through the writer come with its next
# batch); the last answer is in $RESP.
api_until() {
	for _ in $(seq 1 100); do
		api "$1"
		json_ok "$2" <"$RESP" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "GET $1 still answers $(cat "$RESP"), of which $2 is not true"
}

# create_incident JSON: POST it to /api/incidents; 201 expected; the id in $ID.
create_incident() {
	api -H 'Content-Type: application/json' --data-binary "$1" /api/incidents
	[ "$output" = 201 ] || fail "POST /api/incidents answered $output: $(cat "$RESP")"
	ID=$(jq -ern "input | .id" "$RESP")
}

# stream_start NAME [CURL-ARGS...]: curl -sN on the event stream of $RECV_URL in the
# background (output in $BATS_TEST_TMPDIR/NAME.sse, at most 60 s), with the
# operator token unless CURL-ARGS bring their own; returns once the stream is open
# (its ": events after" comment). The curl's pid is in STREAM_PID and in PIDS.
# SSE_QUERY (for example '?named=1') is appended to the stream's path.
stream_start() {
	local name=$1 out
	shift
	out=$BATS_TEST_TMPDIR/$name.sse
	: >"$out"
	if [ $# -eq 0 ]; then
		set -- -H "Authorization: Bearer $OPTOKEN"
	fi
	curl -sN --max-time 60 "$@" "${STREAM_URL:-$RECV_URL}/api/incidents/stream${SSE_QUERY:-}" >"$out" 2>&1 3>&- &
	STREAM_PID=$!
	PIDS+=("$STREAM_PID")
	wait_file_line "$out" '^: events after'
}

# sse_ids NAME: the id: lines of a stream's output so far, one number a line
sse_ids() {
	sed -n 's/^id: //p' "$BATS_TEST_TMPDIR/$1.sse"
}

# sse_data NAME: the data: lines so far, as JSON lines
sse_data() {
	sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/$1.sse"
}
