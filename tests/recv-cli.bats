#!/usr/bin/env bats
# recv-cli.bats - aurora-recv through the commands' front door (lib/cmd.c):
# usage errors, a failed write of --help, and a usage error under inetd,
# where fd 2 is the client's socket and must never get a byte of it.

# shellcheck disable=SC2016 # "$0" and "$AURORA_DB" expand in the inner shell of bash -c
bats_require_minimum_version 1.5.0
load helpers/common

setup() {
	aurora_fresh_db
	PIDS=()
}

teardown() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

@test "usage errors exit 2 with the reason, the usage and where to read more, and bind nothing" {
	local port
	port=$(free_port)
	run -2 --separate-stderr aurora-recv --listen "127.0.0.1:$port" --max-streams lots
	assert_output ""
	[[ $stderr == *"aurora-recv: --max-streams: 'lots' is not a number from 0 to 100000"* ]]
	[[ $stderr == *"usage: aurora-recv"* ]]
	[[ $stderr == *"try 'aurora-recv --help' for more"* ]]
	run -2 --separate-stderr aurora-recv --listen "127.0.0.1:$port" --rate fast
	[[ $stderr == *"--rate: 'fast' is not a rate"* ]]
	run -2 --separate-stderr aurora-recv --listen "127.0.0.1:$port" --grafana-timestamp-header 'a b'
	[[ $stderr == *"is not a header name"* ]]
	run -2 --separate-stderr aurora-recv --listen "127.0.0.1:$port" one two
	[[ $stderr == *"unexpected argument 'one'"* ]]
	[ ! -e "$AURORA_DB" ]
}

@test "--help and --version on a full disk are an I/O error (74), not silence" {
	run -74 --separate-stderr bash -c 'aurora-recv --help > /dev/full'
	[[ $stderr == *"aurora-recv: write error"* ]]
	run -74 --separate-stderr bash -c 'aurora-recv --version > /dev/full'
	[[ $stderr == *"write error"* ]]
}

@test "under inetd a usage error never reaches the client on fd 2: it exits 2 and the client gets nothing" {
	requires systemd-socket-activate
	local port
	port=$(free_port)
	systemd-socket-activate -a --inetd -l "127.0.0.1:$port" aurora-recv --db "$AURORA_DB" --no-such-option \
		>"$BATS_TEST_TMPDIR/sa.out" 2>"$BATS_TEST_TMPDIR/sa.err" 3>&- &
	PIDS+=("$!")
	wait_port "$port"
	# curl: 52 an empty reply, or 56 the connection reset; never an answer
	run -0 bash -c 'curl -s --max-time 10 "$0"; echo "curl exit $?"' "http://127.0.0.1:$port/healthz"
	[[ $output == "curl exit 52" || $output == "curl exit 56" ]]
	for _ in $(seq 1 100); do
		grep -q 'died with code' "$BATS_TEST_TMPDIR/sa.err" && break
		sleep 0.1
	done
	run -0 grep -c 'died with code 2' "$BATS_TEST_TMPDIR/sa.err"
}
