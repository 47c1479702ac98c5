#!/usr/bin/env bats
# faults.bats - aurora-recv's accept loop on an operator's bad day: started and
# stopped while senders are already posting (every answer must be the truth),
# and slow or idle clients that must not hold it up (deadlines for the request
# head and body, caps on connections). Slow clients against one-connection
# mode too. Real processes, real sockets on 127.0.0.1, real SQLite files.

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
}

teardown() {
	recv_teardown
}

# --- start and stop under load ---------------------------------------------------

# sender N ROUND PORT: POST distinct bodies to alertmanager on PORT until
# $BATS_TEST_TMPDIR/stop.ROUND exists (at most 60 s); each delivery's body file,
# status (000: no answer) and answer file go to send.ROUND.N as one line.
sender() {
	local n=$1 round=$2 port=$3 i=0 f code end=$((SECONDS + 60))
	local dir=$BATS_TEST_TMPDIR/sent
	while [ ! -e "$BATS_TEST_TMPDIR/stop.$round" ] && [ "$SECONDS" -lt "$end" ]; do
		i=$((i + 1))
		f=$dir/$round.$n.$i
		# distinct bodies of varied sizes, so a row holding another request's memory shows
		printf '{"round":%d,"sender":%d,"i":%d,"pad":"%*s"}' "$round" "$n" "$i" $(((n * 131 + i * 17) % 1500)) x >"$f"
		code=$(curl -s -o "$f.answer" -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' --data-binary "@$f" \
			"http://127.0.0.1:$port/api/webhooks/alertmanager") || true
		echo "$f ${code:-000} $f.answer" >>"$BATS_TEST_TMPDIR/send.$round.$n"
		# nothing listens yet, or any more: as a platform retrying, not a busy loop
		[ "${code:-000}" != 000 ] || sleep 0.05
	done
}

# acks ROUND: deliveries of ROUND answered 202 so far
acks() {
	cat "$BATS_TEST_TMPDIR"/send."$1".* 2>/dev/null | grep -c ' 202 ' || true
}

@test "started and stopped under load, three times (--threads 64, 1, 8): every 202 is a committed row with the body sent, no other answer left one" {
	new_token alertmanager
	mkdir "$BATS_TEST_TMPDIR/sent"
	local round port n rc threads
	for round in 1 2 3; do
		# 64 workers made the start-up race certain; one and eight take other paths through libmicrohttpd
		threads=$((round == 1 ? 64 : round == 2 ? 1 : 8))
		port=$(free_port)
		for n in $(seq 1 16); do
			sender "$n" "$round" "$port" 3>&- &
			PIDS+=("$!")
		done
		# the senders are already posting (and failing) when the receiver starts
		sleep 0.3
		aurora-recv --listen "127.0.0.1:$port" --threads "$threads" --log-file "$BATS_TEST_TMPDIR/recv.$round.log" \
			>"$BATS_TEST_TMPDIR/recv.out" 2>"$BATS_TEST_TMPDIR/recv.$round.err" 3>&- &
		RECV_PID=$!
		for _ in $(seq 1 100); do
			[ "$(acks "$round")" -ge 40 ] && break
			kill -0 "$RECV_PID" 2>/dev/null || break
			sleep 0.05
		done
		# SIGTERM while they still post
		kill -TERM "$RECV_PID" 2>/dev/null || true
		rc=0
		wait "$RECV_PID" || rc=$?
		RECV_PID=
		sleep 0.2
		touch "$BATS_TEST_TMPDIR/stop.$round"
		for n in "${PIDS[@]}"; do wait "$n" || true; done
		PIDS=()
		[ "$rc" -eq 0 ] || fail "round $round: aurora-recv exited $rc: $(head -c 3000 "$BATS_TEST_TMPDIR/recv.$round.err")"
		[ ! -s "$BATS_TEST_TMPDIR/recv.$round.err" ] || fail "round $round: $(head -c 3000 "$BATS_TEST_TMPDIR/recv.$round.err")"
		[ "$(acks "$round")" -ge 20 ] || fail "round $round: only $(acks "$round") deliveries were answered 202"
	done
	run -0 "$AURORA_TOP/tests/helpers/reconcile.py" "$AURORA_DB" "$BATS_TEST_TMPDIR"/send.*
	echo "$output" >"$BATS_TEST_TMPDIR/reconcile.out"
	assert_line --partial '; 0 violations'
}

@test "SIGTERM: a body still arriving is stored and answered 202 with Connection: close; one that never ends is cut off unanswered" {
	new_token grafana
	recv_start -v
	local head="POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n"
	"$AURORA_TOP/tests/helpers/rawhttp.py" --timeout 10 --pause 2 --ready "$BATS_TEST_TMPDIR/late.sent" \
		"$RECV_PORT" "$head{\"a\":" '1}\n' >"$BATS_TEST_TMPDIR/late.out" 3>&- &
	PIDS+=("$!")
	"$AURORA_TOP/tests/helpers/rawhttp.py" --timeout 10 --ready "$BATS_TEST_TMPDIR/never.sent" \
		"$RECV_PORT" "$head{\"b\":" >"$BATS_TEST_TMPDIR/never.out" 3>&- &
	PIDS+=("$!")
	# both have sent their first half (python can be slow to start on a busy machine)
	wait_file "$BATS_TEST_TMPDIR/late.sent" "${PIDS[0]}"
	wait_file "$BATS_TEST_TMPDIR/never.sent" "${PIDS[1]}"
	sleep 0.5
	# both bodies are halfway when the receiver is told to stop
	recv_stop
	wait "${PIDS[0]}"
	wait "${PIDS[1]}"
	PIDS=()
	grep -aq '^HTTP/1.1 202 Accepted' "$BATS_TEST_TMPDIR/late.out" || fail "late: $(cat "$BATS_TEST_TMPDIR/late.out")"
	grep -aqi '^Connection: close' "$BATS_TEST_TMPDIR/late.out"
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/never.out")" 0
	run -0 sqlite3 "$AURORA_DB" 'SELECT body FROM inbox'
	assert_output '{"a":1}'
}

# --- slow and idle clients ---------------------------------------------------------

# trickle [--timeout SEC] [--pause SEC] PIECE...: the pieces (printf-like escapes)
# on one connection to $RECV_PORT through tests/helpers/rawhttp.py, --pause
# between them; what came back is in $RAW, the helper's status in $RAW_RC (0:
# the server closed the connection, 3: not within the timeout), the time in $RAW_MS.
trickle() {
	local opts=() start
	while [[ $1 == --* ]]; do
		opts+=("$1" "$2")
		shift 2
	done
	RAW=$BATS_TEST_TMPDIR/raw.out
	start=$(date +%s%N)
	RAW_RC=0
	"$AURORA_TOP/tests/helpers/rawhttp.py" "${opts[@]}" "$RECV_PORT" "$@" >"$RAW" || RAW_RC=$?
	RAW_MS=$((($(date +%s%N) - start) / 1000000))
}

# bytes TEXT: TEXT as one argument per character, for trickle
bytes() {
	local i
	BYTES=()
	for ((i = 0; i < ${#1}; i++)); do BYTES+=("${1:i:1}"); done
}

# slow_clients NAME ARGS...: tests/helpers/slowclients.py ARGS in the background,
# its report in $BATS_TEST_TMPDIR/NAME.out; returns once every connection is open.
slow_clients() {
	local name=$1
	shift
	"$AURORA_TOP/tests/helpers/slowclients.py" --ready "$BATS_TEST_TMPDIR/$name.ready" "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>&1 3>&- &
	PIDS+=("$!")
	for _ in $(seq 1 200); do
		[ -s "$BATS_TEST_TMPDIR/$name.ready" ] && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.05
	done
	fail "the slow clients did not connect: $(cat "$BATS_TEST_TMPDIR/$name.out")"
}

@test "accept loop: a request head that keeps trickling is cut off at --head-timeout, unanswered" {
	recv_start -v --head-timeout 2 --read-timeout 30
	# one byte every 0.4 s keeps any idle timer young for 12 s
	bytes "X-Slow: $(printf '%30s' '' | tr ' ' a)"
	trickle --timeout 15 --pause 0.4 'POST /api/webhooks/grafana HTTP/1.1\r\nHost: t\r\n' "${BYTES[@]}"
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ] || fail "closed after $RAW_MS ms, not about 2 s"
	assert_equal "$(wc -c <"$RAW")" 0
	# a connection that sends nothing at all is a head that never comes
	trickle --timeout 15 ''
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ] || fail "the silent one closed after $RAW_MS ms"
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'slow clients: closed 1 connections whose request head took over 2 s'
}

@test "accept loop: a body that keeps trickling is cut off at --body-timeout, unanswered and not stored" {
	new_token grafana
	recv_start -v --body-timeout 2 --read-timeout 30
	bytes '{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}'
	trickle --timeout 15 --pause 0.4 "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${#BYTES[@]}\r\n\r\n" "${BYTES[@]}"
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ] || fail "closed after $RAW_MS ms, not about 2 s"
	assert_equal "$(wc -c <"$RAW")" 0
	assert_equal "$(rows)" 0
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'body not complete within 2 s, closing\|whose body took over 2 s'
}

@test "accept loop: 40 slow heads against 32 connections: the longest waiting are closed, deliveries still get 202" {
	new_token grafana
	# without --max-reading's eviction 40 slow clients hold all 32 connections
	recv_start --max-connections 32 --max-streams 0 --head-timeout 60 --read-timeout 60
	slow_clients slow --addresses 10 "$RECV_PORT" 40 30
	# (a delivery that had to wait for the slow clients to leave would not make it in time)
	for n in 1 2 3; do
		post grafana "$(body "$n")" -H "Authorization: Bearer $TOKEN" --max-time 3
		assert_output 202
	done
	assert_equal "$(rows)" 3
	kill -TERM "${PIDS[-1]}"
	wait "${PIDS[-1]}"
	run -0 cat "$BATS_TEST_TMPDIR/slow.out"
	# at most half of --max-connections (16) stay; the others were closed
	[[ $output =~ ^closed\ ([0-9]+)\ of\ 40$ ]] || fail "slowclients.py said: $output"
	[ "${BASH_REMATCH[1]}" -ge 24 ] || fail "$output"
}

# keepalive_post FD N: POST body N to grafana on the open connection FD (the
# answer to a delivery comes after its body, so libmicrohttpd keeps the
# connection); prints the status line
keepalive_post() {
	local line len=0 b="{\"n\":$2}"
	printf 'POST /api/webhooks/grafana?token=%s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
		"$TOKEN" "${#b}" "$b" >&"$1" || return 1
	IFS= read -r -t 5 line <&"$1" || return 1
	printf '%s\n' "${line%$'\r'}"
	while IFS= read -r -t 5 line <&"$1"; do
		line=${line%$'\r'}
		[ -n "$line" ] || break
		[[ ${line,,} =~ ^content-length:\ *([0-9]+) ]] && len=${BASH_REMATCH[1]}
	done
	[ "$len" -eq 0 ] || read -r -t 5 -N "$len" line <&"$1"
}

@test "accept loop: a kept-alive connection between requests goes after the new ones that never finished a head" {
	new_token grafana
	recv_start --max-reading 4 --head-timeout 60 --read-timeout 60
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$RECV_PORT"
	run -0 keepalive_post "$fd" 1
	assert_output 'HTTP/1.1 202 Accepted'
	# twelve slow new connections come after it: each past the cap closes the oldest new one
	slow_clients slow --addresses 4 "$RECV_PORT" 12 30
	run -0 keepalive_post "$fd" 2
	assert_output 'HTTP/1.1 202 Accepted'
	exec {fd}>&-
	kill -TERM "${PIDS[-1]}"
	wait "${PIDS[-1]}"
	run -0 cat "$BATS_TEST_TMPDIR/slow.out"
	assert_output 'closed 9 of 12'
	assert_equal "$(rows)" 2
}

@test "accept loop: past --max-per-address a new connection from that address is closed at once; others are served" {
	new_token grafana
	recv_start --max-per-address 4
	slow_clients slow "$RECV_PORT" 4 6
	# the fifth from 127.0.0.1: closed before any answer
	trickle --timeout 5 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'
	assert_equal "$RAW_RC" 0
	assert_equal "$(wc -c <"$RAW")" 0
	# from another address, and once the four are gone, from this one again
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN" --interface 127.0.0.2
	assert_output 202
	kill "${PIDS[-1]}"
	wait "${PIDS[-1]}" || true
	# libmicrohttpd counts a closed connection off its address a moment later:
	# a post closed at once is not stored, so it is simply sent again
	for _ in $(seq 1 50); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $TOKEN" --data-binary "@$(body 2)" \
			"$RECV_URL/api/webhooks/grafana") || true
		[ "$code" = 202 ] && break
		sleep 0.1
	done
	assert_equal "$code" 202
	assert_equal "$(rows)" 2
}

@test "accept loop: clients that send half a head and leave at once free their place within a second, not at --head-timeout" {
	new_token grafana
	recv_start -v --max-per-address 4 --head-timeout 60
	# libmicrohttpd misses the end of a stream that comes with the last bytes
	# (lib/http_watch.c): without the watch's sweep, 4 of these stay open for
	# the whole minute and the cap refuses 127.0.0.1
	run -0 "$AURORA_TOP/tests/helpers/slowclients.py" --mode leave "$RECV_PORT" 50 0
	assert_output 'left 50'
	for _ in $(seq 1 30); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $TOKEN" --data-binary "@$(body 1)" \
			"$RECV_URL/api/webhooks/grafana") || true
		[ "$code" = 202 ] && break
		sleep 0.1
	done
	assert_equal "$code" 202
	assert_equal "$(rows)" 1
}

@test "one connection: a trickling head is cut off at --head-timeout, a trickling body at --body-timeout" {
	new_token grafana
	tcp_start --head-timeout 2 --body-timeout 2 --read-timeout 30
	bytes "X-Slow: $(printf '%30s' '' | tr ' ' a)"
	trickle --timeout 15 --pause 0.4 'POST /api/webhooks/grafana HTTP/1.1\r\nHost: t\r\n' "${BYTES[@]}"
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ] || fail "the head was cut after $RAW_MS ms, not about 2 s"
	assert_equal "$(wc -c <"$RAW")" 0
	bytes '{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}'
	trickle --timeout 15 --pause 0.4 "POST /api/webhooks/grafana?token=$TOKEN HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${#BYTES[@]}\r\n\r\n" "${BYTES[@]}"
	assert_equal "$RAW_RC" 0
	[ "$RAW_MS" -ge 1500 ] && [ "$RAW_MS" -lt 5000 ] || fail "the body was cut after $RAW_MS ms, not about 2 s"
	assert_equal "$(wc -c <"$RAW")" 0
	assert_equal "$(rows)" 0
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'request head not complete within 2 s, closing'
	wait_file_line "$BATS_TEST_TMPDIR/recv.log" 'body not complete within 2 s, closing'
}
