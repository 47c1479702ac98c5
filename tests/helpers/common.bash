# common.bash - shared by every bats file: binaries, a fresh database, ports,
# waiting for files and processes, webhook tokens, and JSON assertions that
# fail on empty input (json_ok, jsonl_ok).
#
#   load helpers/common
#
# AURORA_BIN is the directory of the binaries under test (make check sets it
# to the sanitized build); PATH gets it first so tests run commands by name.

AURORA_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${AURORA_BIN:=$AURORA_TOP/build}"
export AURORA_BIN
PATH="$AURORA_BIN:$PATH"
export FIXTURES="$AURORA_TOP/tests/fixtures"

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

# A fresh database per test, in the test's own temporary directory.
aurora_fresh_db() {
	export AURORA_DB="$BATS_TEST_TMPDIR/aurora.db"
	rm -f "$AURORA_DB" "$AURORA_DB-wal" "$AURORA_DB-shm"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Wait until something accepts connections on 127.0.0.1:$1 (up to ~10 s).
wait_port() {
	local port=$1
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "nothing listens on 127.0.0.1:$port" >&2
	return 1
}

# lines_in FILE: the number of lines in FILE (0 when it does not exist).
lines_in() {
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# wait_lines FILE N [LOG]: wait until FILE has at least N lines (up to ~10 s);
# when it does not, say so with LOG (a process's stderr, say) and fail.
wait_lines() {
	local file=$1 n=$2 log=${3:-}
	for _ in $(seq 1 200); do
		[ "$(lines_in "$file")" -ge "$n" ] && return 0
		sleep 0.05
	done
	echo "$file has $(lines_in "$file") lines, not $n${log:+; $log: $(cat "$log" 2>/dev/null)}" >&2
	return 1
}

# stop_pids PID...: end background processes: SIGTERM to each, then wait for
# each (one that is gone already is fine)
stop_pids() {
	local pid
	for pid in "$@"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		wait "$pid" 2>/dev/null || true
	done
}

# wait_file FILE [PID]: wait until FILE exists and is not empty (up to ~10 s;
# less when the process PID, which is to write it, ends first).
wait_file() {
	for _ in $(seq 1 200); do
		[ -s "$1" ] && return 0
		[ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$1" ] && return 0
	echo "$1 did not appear" >&2
	return 1
}

# sql SQL...: sqlite3 on $AURORA_DB, waiting up to 5 s for a lock held elsewhere.
sql() {
	sqlite3 -cmd '.timeout 5000' "$AURORA_DB" "$@"
}

# new_token PLATFORM: a webhook token for PLATFORM from aurora-connector, in $TOKEN.
# shellcheck disable=SC2016,SC2034,SC2154 # jq's $p; TOKEN is for the caller, $output from run
new_token() {
	run -0 --separate-stderr aurora-connector token "$1" --json
	json_ok '.platform == $p and (.token | length) >= 16
		and (.webhook_url | endswith("/api/webhooks/" + $p) or contains("/api/webhooks/" + $p + "?"))' \
		--arg p "$1" <<<"$output" || fail "unexpected token output: $output"
	TOKEN=$(jq -r .token <<<"$output")
}

# Skip the test when an optional peer is missing; required peers must not use this.
requires() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 || skip "$cmd is not installed"
	done
}

# not_aurora_files: two databases that are not aurora's, $BATS_TEST_TMPDIR/other.db
# (SQLite holding a table of its own) and text.db (not SQLite), for the 78 tests.
not_aurora_files() {
	sqlite3 "$BATS_TEST_TMPDIR/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1)"
	printf 'hello, not a database%.0s\n' $(seq 1 20) >"$BATS_TEST_TMPDIR/text.db"
	cp "$BATS_TEST_TMPDIR/text.db" "$BATS_TEST_TMPDIR/text.copy"
}

# not_aurora_untouched: both files are as not_aurora_files left them (no aurora
# tables planted, no WAL mode set, not a byte changed)
not_aurora_untouched() {
	assert_equal "$(sqlite3 "$BATS_TEST_TMPDIR/other.db" "SELECT group_concat(name) FROM sqlite_master")" t
	assert_equal "$(sqlite3 "$BATS_TEST_TMPDIR/other.db" "PRAGMA journal_mode")" delete
	cmp "$BATS_TEST_TMPDIR/text.db" "$BATS_TEST_TMPDIR/text.copy"
}

# ---- JSON assertions --------------------------------------------------------
# Debian's jq 1.6 `jq -e F` exits 0 when it reads nothing, so `cmd | jq -e F`
# passes when cmd printed nothing. These fail on empty input, and say why.
#
#   json_ok FILTER [JQ_OPTION...] <<<"$output"   one JSON value, FILTER true of it
#   jsonl_ok FILTER [JQ_OPTION...] <FILE         one or more JSON values, FILTER
#                                                true of them as one array (jq -s)
# JQ_OPTIONs go before the filter: --arg NAME VALUE, --argjson, --slurpfile...

json_ok() {
	local filter=$1 in
	shift
	in=$(cat)
	jq -en "$@" "[inputs] | length == 1 and (.[0] | $filter
	)" <<<"$in" >/dev/null && return 0
	json_failed "one JSON value" "$filter" "$in"
}

jsonl_ok() {
	local filter=$1 in
	shift
	in=$(cat)
	jq -en "$@" "[inputs] | length > 0 and ($filter
	)" <<<"$in" >/dev/null && return 0
	json_failed "JSON values" "$filter" "$in"
}

# json_failed WANTED FILTER INPUT: the message of a failed JSON assertion
json_failed() {
	if [ -z "${3//[[:space:]]/}" ]; then
		echo "wanted $1, got nothing" >&2
	else
		printf 'wanted %s of which this is true:\n  %s\ngot:\n%s\n' "$1" "$2" "$(head -c 4000 <<<"$3")" >&2
	fi
	return 1
}
