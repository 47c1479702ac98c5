# common.bash - shared by every bats file: binaries, a fresh database, ports.
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
