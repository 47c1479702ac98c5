# peers.bash - real senders (Alertmanager, the Netdata agent's notifier) and
# the aurora-recv they deliver to, for tests/peers.bats and the end-to-end
# tests of tests/normalize.bats.
#
#   load helpers/peers      (after helpers/common)
#
# Background processes go in PEER_PIDS (the test's setup empties it);
# stop_peers ends them.

# need CMD...: fail unless every command is installed (required peers: a
# missing one fails the test instead of skipping it)
need() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			fail "$cmd is required: run sh scripts/install-deps"
	done
}

# background NAME CMD...: start CMD with its output in $BATS_TEST_TMPDIR/NAME.log;
# fd 3 is closed so bats does not wait for it
background() {
	local name=$1
	shift
	"$@" >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
	PEER_PIDS+=("$!")
}

# stop_peers: end every background process, and wait for them
stop_peers() {
	stop_pids "${PEER_PIDS[@]}"
	PEER_PIDS=()
}

# start_recv: aurora-recv on 127.0.0.1 with a fresh database, its log in
# $BATS_TEST_TMPDIR/recv.log; sets RECV_PID, RECV_PORT and RECV (its URL)
start_recv() {
	aurora_fresh_db
	background recv aurora-recv --listen 127.0.0.1:0 --port-file "$BATS_TEST_TMPDIR/recv.port" \
		--db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv-diagnostics.log"
	RECV_PID=$!
	wait_file "$BATS_TEST_TMPDIR/recv.port" "$RECV_PID" ||
		fail "aurora-recv did not start: $(cat "$BATS_TEST_TMPDIR"/recv*.log)"
	RECV_PORT=$(cat "$BATS_TEST_TMPDIR/recv.port")
	[[ $RECV_PORT =~ ^[0-9]+$ ]] || fail "bad port file: $RECV_PORT"
	wait_port "$RECV_PORT"
	# shellcheck disable=SC2034 # used by the tests
	RECV=http://127.0.0.1:$RECV_PORT
}

# wait_inbox PLATFORM N [FILE]: wait (up to ~15 s) until the inbox holds N
# deliveries of PLATFORM; their raw records are then in FILE (default
# $BATS_TEST_TMPDIR/PLATFORM.jsonl)
wait_inbox() {
	local platform=$1 want=$2 f=${3:-$BATS_TEST_TMPDIR/$1.jsonl} n=0
	for _ in $(seq 1 150); do
		aurora-inbox list --platform "$platform" --json >"$f" || fail "aurora-inbox list failed"
		n=$(wc -l <"$f")
		[ "$n" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "the inbox holds $n of $want $platform deliveries; logs:
$(tail -n 20 "$BATS_TEST_TMPDIR"/*.log 2>/dev/null)"
}

# alertmanager_start [OPTION...]: a real Alertmanager (clustering off) on a
# free port, configured from the operator's example (examples/alertmanager.yml)
# with $RECV's webhook URL, $TOKEN and short timers (group_wait 1s,
# group_interval 2s); OPTIONs go to prometheus-alertmanager. Returns once it
# is ready; its URL is in AM, its log in $BATS_TEST_TMPDIR/alertmanager.log.
alertmanager_start() {
	local port cfg=$BATS_TEST_TMPDIR/alertmanager.yml
	port=$(free_port)
	sed -e "s|'http://127.0.0.1:9797/api/webhooks/alertmanager'|'$RECV/api/webhooks/alertmanager'|" \
		-e "s|'PASTE-TOKEN-HERE'|'$TOKEN'|" \
		-e 's|group_wait: 30s |group_wait: 1s |' -e 's|group_interval: 5m |group_interval: 2s |' \
		"$AURORA_TOP/examples/alertmanager.yml" >"$cfg"
	grep -qF "url: '$RECV/api/webhooks/alertmanager'" "$cfg" || fail "url not substituted"
	grep -qF "credentials: '$TOKEN'" "$cfg" || fail "credentials not substituted"
	grep -q 'group_wait: 1s ' "$cfg" || fail "group_wait not substituted"
	grep -q 'group_interval: 2s ' "$cfg" || fail "group_interval not substituted"
	run -0 amtool check-config "$cfg"

	background alertmanager prometheus-alertmanager --config.file="$cfg" \
		--storage.path="$BATS_TEST_TMPDIR/am" --web.listen-address="127.0.0.1:$port" \
		--cluster.listen-address= "$@"
	wait_port "$port" || fail "alertmanager: $(cat "$BATS_TEST_TMPDIR/alertmanager.log")"
	AM=http://127.0.0.1:$port
	for _ in $(seq 1 200); do
		curl -fsS "$AM/-/ready" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "alertmanager is not ready: $(cat "$BATS_TEST_TMPDIR/alertmanager.log")"
}
