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
	RECV_PID=
	LOCK_PID=
	PIDS=()
}

teardown() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	recv_stop
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

@test "started and stopped under load, three times: every 202 is a committed row with the body sent, no other answer left one" {
	new_token alertmanager
	mkdir "$BATS_TEST_TMPDIR/sent"
	local round port n rc
	for round in 1 2 3; do
		port=$(free_port)
		for n in $(seq 1 16); do
			sender "$n" "$round" "$port" 3>&- &
			PIDS+=("$!")
		done
		# the senders are already posting (and failing) when the receiver starts
		sleep 0.3
		aurora-recv --listen "127.0.0.1:$port" --threads 64 --log-file "$BATS_TEST_TMPDIR/recv.$round.log" \
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
