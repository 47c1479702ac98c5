#!/usr/bin/env bats
# framing.bats - aurora-recv's one framing policy (RFC 9112) in both HTTP
# engines: the accept loop (--listen, libmicrohttpd) and one connection per
# process (tcpserver, aurora's own HTTP/1.1). Every ambiguous request is
# answered once, in JSON, and the connection ends (Connection: close), so a
# request hidden in its body is never read, let alone stored. Then the log
# lines that quote what a hostile client or record sent: no control
# characters reach them.

bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv

setup() {
	aurora_fresh_db
	# bytes and connections here, not payloads: any JSON is a delivery (shapes: door.bats)
	export AURORA_SHAPE_CHECK=off
	RECV_PID=
	PIDS=()
	new_token grafana
	recv_start -v
	LISTEN_PORT=$RECV_PORT
	# one aurora-recv process per connection, as inetd would run it
	tcpserver -1 -H -R 127.0.0.1 0 aurora-recv -v --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/conn.log" >"$BATS_TEST_TMPDIR/tcp.out" \
		2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	PIDS+=("$!")
	wait_file "$BATS_TEST_TMPDIR/tcp.out" || fail "tcpserver did not start: $(cat "$BATS_TEST_TMPDIR/tcp.err")"
	CONN_PORT=$(cat "$BATS_TEST_TMPDIR/tcp.out")
	# the start of a delivery and a whole one, which is stored when it is read
	POST="POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
	HIDDEN="${POST}Content-Length: 10\r\nConnection: close\r\n\r\n{\"hid\":1}\n"
}

teardown() {
	recv_teardown
	# what aurora-recv under tcpserver writes to stderr reaches tcpserver's
	[ ! -s "$BATS_TEST_TMPDIR/tcp.err" ] || fail "stray output: $(cat "$BATS_TEST_TMPDIR/tcp.err")"
}

# send ENGINE PIECE...: the pieces (\r, \n, \xNN escapes) on one connection to
# ENGINE (listen or conn) through rawhttp.py; what came back is in $RAW, and
# $RAW_RC is 0 when the server closed the connection, 3 when it did not.
send() {
	local port
	ENGINE=$1
	shift
	port=$LISTEN_PORT
	[ "$ENGINE" = listen ] || port=$CONN_PORT
	RAW=$BATS_TEST_TMPDIR/raw.out
	RAW_RC=0
	"$AURORA_TOP/tests/helpers/rawhttp.py" --timeout 8 "$port" "$@" >"$RAW" || RAW_RC=$?
}

# refused STATUS ERROR-ERE: the last send got exactly one answer, STATUS with
# Connection: close and a JSON body whose .error matches ERROR-ERE, and the
# server closed the connection after it.
refused() {
	local want=$1 ere=$2 body
	[ "$RAW_RC" = 0 ] || fail "$ENGINE: the connection stayed open (rc $RAW_RC): $(cat -A "$RAW")"
	run -0 grep -ac '^HTTP/1\.1 ' "$RAW"
	[ "$output" = 1 ] || fail "$ENGINE: $output answers, not one: $(cat -A "$RAW")"
	run -0 head -n 1 "$RAW"
	[[ $output == "HTTP/1.1 $want "* ]] || fail "$ENGINE: answered '$output', not $want"
	grep -aqi '^Connection: close' "$RAW" || fail "$ENGINE: no Connection: close: $(cat -A "$RAW")"
	grep -aqi '^Content-Type: application/json' "$RAW" || fail "$ENGINE: not JSON: $(cat -A "$RAW")"
	body=$(sed '1,/^\r$/d' "$RAW")
	# shellcheck disable=SC2016 # $ere is jq's
	run -0 jq -enr --arg ere "$ere" 'input | .error | strings | select(test($ere))' <<<"$body"
	[ -n "$output" ] || fail "$ENGINE: error does not match '$ere': $body"
}

# both STATUS ERROR-ERE PIECE...: send the pieces to each engine; each refuses them
both() {
	local want=$1 ere=$2 engine
	shift 2
	for engine in listen conn; do
		send "$engine" "$@"
		refused "$want" "$ere"
	done
}

# stored: the number of deliveries in the inbox
stored() {
	run -0 --separate-stderr aurora-inbox list --json
	jq -s 'length' <<<"$output"
}

# hidden_is_stored_when_read: the hidden request on its own is stored, so
# that the counts of 0 before it prove it was never read
hidden_is_stored_when_read() {
	send conn "$HIDDEN"
	run -0 head -n 1 "$RAW"
	assert_output $'HTTP/1.1 202 Accepted\r'
	assert_equal "$(stored)" 1
}

# --- Content-Length ---------------------------------------------------------------

@test "two Content-Lengths (0, then 80 over a second request) are 400; the hidden request is never stored" {
	both 400 '^conflicting Content-Length values$' "${POST}Content-Length: 0\r\nContent-Length: 80\r\n\r\n$HIDDEN"
	both 400 '^conflicting Content-Length values$' "${POST}Content-Length: 80\r\nContent-Length: 0\r\n\r\n$HIDDEN"
	assert_equal "$(stored)" 0
	hidden_is_stored_when_read
}

@test "the same Content-Length twice is 400 too, and so is a list of them" {
	both 400 '^repeated Content-Length$' "${POST}Content-Length: 10\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	send conn "${POST}Content-Length: 10, 10\r\n\r\n{\"n\":100}\n"
	refused 400 '^bad Content-Length$'
	assert_equal "$(stored)" 0
}

@test "Content-Length beside Transfer-Encoding: chunked is 400, in either order; nothing is stored" {
	both 400 '^both Content-Length and Transfer-Encoding$' \
		"${POST}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n$(printf '%x' 74)\r\n$HIDDEN\r\n0\r\n\r\n"
	both 400 '^both Content-Length and Transfer-Encoding$' \
		"${POST}Transfer-Encoding: chunked\r\nContent-Length: 74\r\n\r\n0\r\n\r\n$HIDDEN"
	assert_equal "$(stored)" 0
	hidden_is_stored_when_read
}

# --- Transfer-Encoding --------------------------------------------------------------

@test "a transfer coding other than chunked is 501 at once: gzip, chunked / xchunked / identity" {
	local chunked="a\r\n{\"n\":100}\n\r\n0\r\n\r\n"
	both 501 "^transfer coding 'gzip' is not supported \\(only chunked is\\)$" \
		"${POST}Transfer-Encoding: gzip, chunked\r\n\r\n$chunked"
	both 501 "^transfer coding 'xchunked' is not supported" "${POST}Transfer-Encoding: xchunked\r\n\r\n$chunked"
	both 501 "^transfer coding 'identity' is not supported" "${POST}Transfer-Encoding: identity\r\n\r\n$chunked"
	both 501 "^transfer coding 'chunked;ext=1' is not supported" \
		"${POST}Transfer-Encoding: chunked;ext=1\r\n\r\n$chunked"
	assert_equal "$(stored)" 0
}

@test "chunked twice, chunked not last, a repeated Transfer-Encoding or a malformed list is 400" {
	local chunked="a\r\n{\"n\":100}\n\r\n0\r\n\r\n"
	both 400 '^Transfer-Encoding applies chunked more than once$' \
		"${POST}Transfer-Encoding: chunked, chunked\r\n\r\n$chunked"
	both 400 '^Transfer-Encoding does not end with chunked$' "${POST}Transfer-Encoding: chunked, gzip\r\n\r\n$chunked"
	both 400 '^repeated Transfer-Encoding$' \
		"${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n$chunked"
	both 400 '^malformed Transfer-Encoding' "${POST}Transfer-Encoding: chunked,\r\n\r\n$chunked"
	both 400 '^malformed Transfer-Encoding' "${POST}Transfer-Encoding: \"chunked\"\r\n\r\n$chunked"
	assert_equal "$(stored)" 0
	# one chunked coding, whatever its case, is read and stored
	send listen "${POST}Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n$chunked"
	run -0 head -n 1 "$RAW"
	assert_output $'HTTP/1.1 202 Accepted\r'
	assert_equal "$(stored)" 1
}

# --- the head ------------------------------------------------------------------------

@test "HTTP/1.1 without Host, or with two, is 400; HTTP/1.0 needs none" {
	both 400 '^HTTP/1\.1 request without a Host header field$' \
		"POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 '^repeated Host$' "${POST}Host: u\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	assert_equal "$(stored)" 0
	send listen "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	run -0 head -n 1 "$RAW"
	assert_output $'HTTP/1.1 202 Accepted\r'
	assert_equal "$(stored)" 1
}

@test "obsolete line folding is 400; nothing of the folded request is stored" {
	both 400 'folding' "${POST}X-A: 1\r\n  folded\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 'folding' "${POST}Content-Length: 10\r\nX-A: 1\r\n\tContent-Length: 0\r\n\r\n{\"n\":100}\n"
	assert_equal "$(stored)" 0
}

@test "a NUL byte in the request line or in a header field is 400" {
	both 400 'NUL byte' "POST /api/webhooks/grafana?token=$TOKEN\x00x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 'NUL byte' "${POST}X-A: a\x00b\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	# a NUL that would hide the second Content-Length of the smuggling case
	both 400 'NUL byte' "${POST}Content-Length: 0\x00\r\nX-B: 1\r\n\r\n$HIDDEN"
	both 400 'NUL byte' "${POST}Content-Length: 10\r\nX-A: a\x00b\r\n\r\n{\"n\":100}\n"
	assert_equal "$(stored)" 0
}

@test "a CR or another control character in a header field, or a name that is not a token, is 400" {
	both 400 'CR|control character' "${POST}X-A: a\rb\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 '^control character in a header field value$' "${POST}X-A: a\x1bb\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 '^control character in a header field value$' "${POST}X-A: a\x7fb\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 '^invalid character in a header field name$' "${POST}X-\x01A: 1\r\nContent-Length: 10\r\n\r\n{\"n\":100}\n"
	both 400 "^whitespace between a header field name and ':'$" "${POST}Content-Length : 10\r\n\r\n{\"n\":100}\n"
	assert_equal "$(stored)" 0
}

# --- the path -----------------------------------------------------------------------

@test "%00, %2F or a dot segment in the path is 400, never a route" {
	local head="HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 10\r\n"
	local rest="?token=$TOKEN $head\r\n{\"n\":100}\n"
	both 400 '^a percent-encoded NUL \(%00\) in the request path$' "POST /api/webhooks/grafana%00x$rest"
	both 400 '^a percent-encoded NUL \(%00\) in the request path$' "POST /api/webhooks/grafana%00$rest"
	both 400 "^a percent-encoded '/' \\(%2F\\) in the request path$" "POST /api/webhooks%2fgrafana$rest"
	both 400 "^a '\\.' or '\\.\\.' segment in the request path$" "POST /api/webhooks/%2e%2E/webhooks/grafana$rest"
	both 400 "^a '\\.' or '\\.\\.' segment in the request path$" "POST /api/webhooks/./grafana$rest"
	both 400 "^a '\\.' or '\\.\\.' segment in the request path$" "POST /api/webhooks/grafana/.%2e$rest"
	assert_equal "$(stored)" 0
	# other escapes are decoded as before: %67 is g
	send listen "POST /api/webhooks/%67rafana?token=$TOKEN ${head}Connection: close\r\n\r\n{\"n\":100}\n"
	run -0 head -n 1 "$RAW"
	assert_output $'HTTP/1.1 202 Accepted\r'
	assert_equal "$(stored)" 1
}

# --- what libmicrohttpd answers itself ----------------------------------------------

@test "a Content-Length that is not a number is 400 and ends the connection in both engines" {
	# the accept loop's answer is libmicrohttpd's own (HTML; man aurora-recv, HTTP FRAMING)
	local engine
	for engine in listen conn; do
		send "$engine" "${POST}Content-Length: -1\r\n\r\n$HIDDEN"
		assert_equal "$RAW_RC" 0
		run -0 grep -ac '^HTTP/1\.1 400 ' "$RAW"
		[ "$output" -ge 1 ] || fail "$engine: $(cat -A "$RAW")"
		refute grep -aq '202 Accepted' "$RAW"
	done
	send conn "${POST}Content-Length: -1\r\n\r\n$HIDDEN"
	refused 400 '^bad Content-Length$'
	assert_equal "$(stored)" 0
}

# --- logs ----------------------------------------------------------------------------

# clean_log FILE: FILE has lines and none holds a control character
clean_log() {
	[ -s "$1" ] || fail "$1 is empty"
	if LC_ALL=C grep -naP '[\x00-\x1f\x7f]' "$1"; then
		fail "control characters in $1: $(cat -A "$1")"
	fi
}

@test "a hostile path reaches the log with its control characters escaped, in both engines" {
	local engine log
	for engine in listen conn; do
		log=$BATS_TEST_TMPDIR/recv.log
		[ "$engine" = listen ] || log=$BATS_TEST_TMPDIR/conn.log
		# logged with its path: a request without an operator token, a framing error
		send "$engine" "GET /api/incidents/1%0Aaurora-recv:%20FORGED%1B[2J%09%7F HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
		run -0 head -n 1 "$RAW"
		assert_output $'HTTP/1.1 401 Unauthorized\r'
		send "$engine" "GET /x%0Aaurora-recv:%20FORGED%1B[2J HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
		refused 400 '^conflicting Content-Length values$'
		wait_file_line "$log" '/1\\x0aaurora-recv: FORGED\\x1b\[2J\\x09\\x7f from 127\.0\.0\.1: 401'
		wait_file_line "$log" '400 conflicting Content-Length values'
		clean_log "$log"
		refute grep -aq '^aurora-recv: FORGED' "$log"
	done
}

@test "aurora-correlate quotes bad input with its control characters escaped" {
	# the type holds ESC [31m as JSON writes it (a raw ESC in a string is not JSON)
	printf '{"v":1,"type":"alert\\u001b[31m"}\nxx\033]0;title\007 \302\233 caf\303\251\n' >"$BATS_TEST_TMPDIR/bad.jsonl"
	run -1 --separate-stderr aurora-correlate --db "$AURORA_DB" <"$BATS_TEST_TMPDIR/bad.jsonl"
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/correlate.err"
	clean_log "$BATS_TEST_TMPDIR/correlate.err"
	grep -aqF 'alert\x1b[31m' "$BATS_TEST_TMPDIR/correlate.err"
	# a C1 control (U+009B) is escaped; other UTF-8 text is kept
	grep -aqF 'xx\x1b]0;title\x07 \xc2\x9b caf'$'\303\251' "$BATS_TEST_TMPDIR/correlate.err"
}
