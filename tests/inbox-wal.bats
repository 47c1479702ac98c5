#!/usr/bin/env bats
# aurora-inbox follow and the WAL: a follow whose reader lags must not keep
# a read transaction open, or the WAL can never restart and grows without
# bound under load (scripts/bench-soak found it at 5 GB after ten minutes).

load helpers/common
load helpers/inbox

setup() {
	aurora_fresh_db
	aurora_schema
	FOLLOW_PID=
	exec 5<&-
}

teardown() {
	if [ -n "$FOLLOW_PID" ]; then
		# a follow stuck in write(2) does not see SIGTERM (the bug the second test is about)
		kill "$FOLLOW_PID" 2>/dev/null || true
		sleep 0.5
		kill -9 "$FOLLOW_PID" 2>/dev/null || true
		wait "$FOLLOW_PID" 2>/dev/null || true
	fi
	exec 5<&- 2>/dev/null || true
}

# 300 rows of 8 KiB: far more than a pipe holds
fill_big() {
	sqlite3 "$AURORA_DB" "PRAGMA busy_timeout = 5000;
		WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 300)
		INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256)
		SELECT 'grafana', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
			CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
			CAST(json_object('n', i, 'pad', hex(zeroblob(4096))) AS BLOB),
			lower(hex(randomblob(32))) FROM k;" >/dev/null
}

# follow_blocked: aurora-inbox follow writing into a pipe nobody reads, until it blocks there
follow_blocked() {
	mkfifo "$BATS_TEST_TMPDIR/pipe"
	# held open for reading and never read: the pipe fills and follow's write blocks
	exec 5<>"$BATS_TEST_TMPDIR/pipe"
	aurora-inbox -v follow --from 0 >"$BATS_TEST_TMPDIR/pipe" 2>"$BATS_TEST_TMPDIR/follow.err" 3>&- &
	FOLLOW_PID=$!
	# blocked: it has written more than a few records and writes no more
	local i was=-1 now
	for i in $(seq 1 100); do
		now=$(awk '$1 == "wchar:" { print $2 }' "/proc/$FOLLOW_PID/io" 2>/dev/null)
		[ -n "$now" ] && [ "$now" -ge 16384 ] && [ "$now" = "$was" ] && return 0
		was=${now:--1}
		sleep 0.3
	done
	fail "follow never blocked writing: $(cat "/proc/$FOLLOW_PID/io" 2>/dev/null)"
}

@test "follow blocked on a full pipe holds no read transaction: the WAL is checkpointed and emptied under it" {
	fill_big
	follow_blocked
	# a write after follow read its batch, so the WAL has frames past follow's snapshot
	inbox_insert grafana '{"n":"after"}'
	run -0 sqlite3 -cmd ".timeout 2000" "$AURORA_DB" "PRAGMA wal_checkpoint(TRUNCATE);"
	# busy|log frames|checkpointed frames: 0 busy, and the WAL emptied to nothing
	assert_output '0|0|0'
	[ "$(stat -c %s "$AURORA_DB-wal")" -eq 0 ] || fail "the WAL is $(stat -c %s "$AURORA_DB-wal") bytes"
	# and follow still delivers everything once its reader reads
	local out=$BATS_TEST_TMPDIR/out
	timeout 20 head -n 301 <&5 >"$out"
	run -0 jq -sc '[.[] | .id]' "$out"
	assert_output "[$(seq -s, 1 301)]"
}

@test "follow blocked on a full pipe still stops on SIGTERM, with 0" {
	fill_big
	follow_blocked
	kill -TERM "$FOLLOW_PID"
	local i
	for i in $(seq 1 50); do
		kill -0 "$FOLLOW_PID" 2>/dev/null || break
		sleep 0.1
	done
	run -0 wait "$FOLLOW_PID"
	FOLLOW_PID=
	run -0 cat "$BATS_TEST_TMPDIR/follow.err"
	assert_output --partial 'stopping'
}
