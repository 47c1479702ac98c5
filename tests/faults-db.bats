#!/usr/bin/env bats
# faults-db.bats - the database and the model on a bad day, in every stage:
# the disk fills (a small tmpfs) and empties again; another writer holds the
# database past the busy timeout; aurora-inbox follow reads on while the
# database is checkpointed, vacuumed and pruned under it; the LLM endpoint
# resets, answers garbage or never ends; aurora-rca's investigator is killed
# with -9; the files are copied as a power loss would leave them after each
# 202. Nothing answered 202 is lost, nothing is half-written, every stage
# recovers. The receiver's own start/stop and slow clients: tests/faults.bats.

bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv
load helpers/correlate

setup() {
	aurora_fresh_db
	RECV_PID=
	LOCK_PID=
	PIDS=()
	DISK=
}

teardown() {
	[ -z "${LOCK_PID:-}" ] || PIDS+=("$LOCK_PID")
	recv_teardown
	if [ -n "$DISK" ]; then
		umount "$DISK" 2>/dev/null || umount -l "$DISK" 2>/dev/null || true
	fi
}

# tcp_start: one aurora-recv process per connection under tcpserver; sets CONN_URL
tcp_start() {
	tcpserver -1 -H -R 127.0.0.1 0 aurora-recv -v --db "$AURORA_DB" "$@" \
		--log-file "$BATS_TEST_TMPDIR/conn.log" >"$BATS_TEST_TMPDIR/tcp.out" \
		2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	PIDS+=("$!")
	for _ in $(seq 1 200); do [ -s "$BATS_TEST_TMPDIR/tcp.out" ] && break; sleep 0.05; done
	[ -s "$BATS_TEST_TMPDIR/tcp.out" ] || fail "tcpserver did not start: $(cat "$BATS_TEST_TMPDIR/tcp.err")"
	CONN_URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/tcp.out")
}

# am N [PAD]: an Alertmanager delivery of one new alert (service svcN) in
# $BATS_TEST_TMPDIR/am.N, PAD bytes of padding beside it; prints the path
am() {
	jq -cn --argjson i "$1" --arg pad "$(head -c "${2:-16}" /dev/zero | tr '\0' x)" \
		'{version: "4", status: "firing", receiver: "aurora", groupKey: "g\($i)", pad: $pad,
		  alerts: [{status: "firing", fingerprint: "f\($i)",
			labels: {alertname: "Fault\($i)", service: "svc\($i)", severity: "critical"},
			annotations: {summary: "fault \($i) on svc\($i)"},
			startsAt: "2026-12-07T10:00:00Z", endsAt: "0001-01-01T00:00:00Z"}]}' >"$BATS_TEST_TMPDIR/am.$1"
	echo "$BATS_TEST_TMPDIR/am.$1"
}

# deliver URL N [PAD]: POST delivery N to URL's alertmanager route; $output is the status
deliver() {
	http -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
		--data-binary "@$(am "$2" "${3:-16}")" "$1/api/webhooks/alertmanager"
}

# sq SQL: the database through the sqlite3 shell, waiting out a lock
sq() {
	sqlite3 -cmd '.timeout 10000' "$AURORA_DB" "$@"
}

# whole: the database passes SQLite's integrity check
whole() {
	run -0 sq 'PRAGMA integrity_check'
	assert_output ok
}

# mark STAGE: a stage's resume point
mark() {
	sq "SELECT inbox_id FROM stage_marks WHERE stage = '$1'"
}

# pipeline_once: the pipeline as make run starts it, until the rca mark
# reaches the newest delivery (at most ~30 s); its records in pipeline.jsonl
pipeline_once() {
	local newest pid
	newest=$(sq 'SELECT max(id) FROM inbox')
	(
		aurora-inbox follow --resume rca --poll-ms 100 | aurora-normalize | aurora-correlate |
			aurora-rca --pass >>"$BATS_TEST_TMPDIR/pipeline.jsonl"
	) 2>>"$BATS_TEST_TMPDIR/pipeline.err" 3>&- &
	pid=$!
	for _ in $(seq 1 300); do
		[ "$(mark rca)" -ge "$newest" ] && [ "$(sq "SELECT count(*) FROM incidents WHERE rca_state IN ('idle', 'running')")" = 0 ] && break
		sleep 0.1
	done
	pkill -TERM -P "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ "$(mark rca)" -ge "$newest" ] || fail "the rca mark is at $(mark rca), not $newest: $(cat "$BATS_TEST_TMPDIR/pipeline.err")"
}

# exactly_once N: deliveries 1..N each made one alert, in one incident, investigated to the end, no thought twice
exactly_once() {
	run -0 sq "SELECT count(*), sum(count), max(count) FROM alerts"
	assert_output "$1|$1|1"
	run -0 sq "SELECT count(*), count(DISTINCT title) FROM incidents"
	assert_output "$1|$1"
	run -0 sq "SELECT count(*) FROM incidents WHERE rca_state != 'complete'"
	assert_output 0
	run -0 sq "SELECT count(*) FROM (SELECT incident_id, text FROM incident_thoughts GROUP BY 1, 2 HAVING count(*) > 1)"
	assert_output 0
}

# --- the disk fills -----------------------------------------------------------------------

# small_disk MiB: the test database on a tmpfs of that size (skips where mount is not allowed)
small_disk() {
	DISK=$BATS_TEST_TMPDIR/disk
	mkdir -p "$DISK"
	if ! mount -t tmpfs -o "size=${1}m" tmpfs "$DISK" 2>"$BATS_TEST_TMPDIR/mount.err"; then
		DISK=
		skip "a tmpfs cannot be mounted here ($(cat "$BATS_TEST_TMPDIR/mount.err")): run as root with CAP_SYS_ADMIN"
	fi
	export AURORA_DB=$DISK/aurora.db
}

# fill_disk: no free byte left on it, and no room left inside the WAL either
fill_disk() {
	sq 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	dd if=/dev/zero of="$DISK/filler" bs=64k 2>/dev/null || true
	run -0 df --output=avail "$DISK"
	[ "${lines[1]// /}" = 0 ] || fail "the disk still has ${lines[1]} KiB free"
}

@test "the disk fills: deliveries are 503 with Retry-After in both engines, no stage half-writes, and every stage recovers when space returns" {
	small_disk 8
	new_token alertmanager
	recv_start -v
	tcp_start
	# the resume points exist before anything arrives (make run does this)
	run -0 --separate-stderr aurora-rca </dev/null
	for n in 1 2 3; do
		deliver "$RECV_URL" "$n"
		assert_output 202
	done
	# deliveries 1 and 2 decided (not investigated yet) before the disk fills
	run -0 --separate-stderr aurora-inbox replay --from 1
	printf '%s\n' "$output" | head -n 2 >"$BATS_TEST_TMPDIR/raw12.jsonl"
	run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw12.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/alerts12.jsonl"
	run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/alerts12.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/decisions12.jsonl"
	fill_disk
	# the receiver, both engines: 503 with Retry-After, and nothing stored
	for url in "$RECV_URL" "$CONN_URL"; do
		for n in 4 5; do
			deliver "$url" "$n" 20000
			[ "$output" = 503 ] || fail "$url: $output $(cat "$RESP")"
			[ -n "$(header Retry-After)" ] || fail "$url: no Retry-After: $(cat "$RESP_HEADERS")"
			json '.error | test("disk is full")'
		done
	done
	# a body refused at the door cannot be quarantined either: 503, not 422
	python3 -c 'import json; print(json.dumps({"not_alerts": "x" * 50000}))' >"$BATS_TEST_TMPDIR/shapeless.json"
	for url in "$RECV_URL" "$CONN_URL"; do
		http -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
			--data-binary "@$BATS_TEST_TMPDIR/shapeless.json" "$url/api/webhooks/alertmanager"
		[ "$output" = 503 ] || fail "$url: $output $(cat "$RESP")"
		[ -n "$(header Retry-After)" ]
	done
	assert_equal "$(rows)" 3
	assert_equal "$(sq 'SELECT count(*) FROM quarantine')" 0
	# aurora-correlate: deciding delivery 3 fails as a whole, its mark stays
	run -0 --separate-stderr aurora-inbox replay --from 3
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/raw3.jsonl"
	run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw3.jsonl"
	run -75 --separate-stderr aurora-correlate <<<"$output"
	[[ $stderr == *"disk is full"* ]] || fail "$stderr"
	assert_equal "$(sq 'SELECT count(*) FROM incidents')" 2
	assert_equal "$(mark correlate)" 0
	# aurora-rca: the investigations of 1 and 2 cannot be written; nothing of them is
	# (75 as aurora(7) says for ENOSPC: temporary, like a lock), naming what failed
	run -75 --separate-stderr aurora-rca <"$BATS_TEST_TMPDIR/decisions12.jsonl"
	[[ $stderr == *"incident 1: claiming its investigation: "*"disk is full"* ]] || fail "$stderr"
	run -0 sq "SELECT count(*) FROM incidents WHERE rca_state = 'idle'"
	assert_output 2
	assert_equal "$(sq 'SELECT count(*) FROM incident_thoughts')" 0
	assert_equal "$(mark rca)" 0
	# aurora-inbox follow reads on
	run -0 --separate-stderr timeout --preserve-status -s INT 2 aurora-inbox follow --resume rca --poll-ms 100
	run -0 jq -sc 'map(.id)' <<<"$output"
	assert_output '[1,2,3]'
	whole
	# space returns: the receiver stores again, and the pipeline picks up where each stage stood
	rm "$DISK/filler"
	for n in 4 5; do
		deliver "$RECV_URL" "$n" 20000
		assert_output 202
		deliver "$CONN_URL" "$n" 20000
		assert_output 202
		json '.duplicate == true'
	done
	pipeline_once
	exactly_once 5
	whole
}

# --- another writer holds the lock --------------------------------------------------------

# hold_immediate SECONDS: a background python holds the write lock (BEGIN IMMEDIATE) for SECONDS
hold_immediate() {
	local mark=$BATS_TEST_TMPDIR/locked
	rm -f "$mark"
	python3 -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO settings(key, value) VALUES (\"faults-db\", \"held\") ON CONFLICT(key) DO UPDATE SET value = excluded.value")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
db.execute("ROLLBACK")
' "$AURORA_DB" "$mark" "$1" 3>&- &
	LOCK_PID=$!
	for _ in $(seq 1 200); do
		[ -e "$mark" ] && return 0
		sleep 0.05
	done
	fail "python did not take the lock"
}

@test "a writer holding the database past the busy timeout: 503 or 75 in every stage, nothing half-written, all of it done once the lock goes" {
	new_token alertmanager
	new_operator_token ops
	recv_start -v --busy-timeout 500
	tcp_start --busy-timeout 500
	run -0 --separate-stderr aurora-rca </dev/null
	for n in 1 2; do
		deliver "$RECV_URL" "$n"
		assert_output 202
	done
	run -0 --separate-stderr aurora-inbox replay --from 1
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/alerts.jsonl"
	# delivery 1 decided before the lock: its incident waits for aurora-rca
	head -n 1 "$BATS_TEST_TMPDIR/alerts.jsonl" >"$BATS_TEST_TMPDIR/alert1.jsonl"
	run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/alert1.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/decision1.jsonl"
	hold_immediate 20
	# the receiver, both engines, and the incident API: 503 with Retry-After
	for url in "$RECV_URL" "$CONN_URL"; do
		deliver "$url" 3
		[ "$output" = 503 ] || fail "$url: $output $(cat "$RESP")"
		[ -n "$(header Retry-After)" ]
	done
	api -H 'Content-Type: application/json' --data-binary '{"source_type":"manual","alert_title":"t"}' /api/incidents
	[ "$output" = 503 ] || fail "POST /api/incidents: $output $(cat "$RESP")"
	[ -n "$(header Retry-After)" ]
	# aurora-correlate and aurora-rca: 75, nothing written
	run -75 --separate-stderr aurora-correlate --busy-timeout 300 <"$BATS_TEST_TMPDIR/alerts.jsonl"
	assert_equal "$(sq 'SELECT count(*) FROM incidents')" 1
	assert_equal "$(mark correlate)" 0
	run -75 --separate-stderr aurora-rca --busy-timeout 300 <"$BATS_TEST_TMPDIR/decision1.jsonl"
	assert_equal "$(sq 'SELECT rca_state FROM incidents')" idle
	assert_equal "$(sq 'SELECT count(*) FROM incident_thoughts')" 0
	assert_equal "$(mark rca)" 0
	# follow only reads: it goes on
	run -0 --separate-stderr timeout --preserve-status -s INT 2 aurora-inbox follow --resume rca --poll-ms 100
	run -0 jq -sc 'map(.id)' <<<"$output"
	assert_output '[1,2]'
	assert_equal "$(rows)" 2
	kill "$LOCK_PID"
	wait "$LOCK_PID" || true
	LOCK_PID=
	whole
	for url in "$RECV_URL" "$CONN_URL"; do
		deliver "$url" 3
		assert_output 202
	done
	pipeline_once
	exactly_once 3
	run -0 sq "SELECT count(*) FROM settings WHERE key = 'faults-db'"
	assert_output 0
}

# --- follow under maintenance ---------------------------------------------------------------

@test "aurora-inbox follow reads on through a checkpoint, VACUUM and a prune of the database under it: every new row once, in order" {
	new_token alertmanager
	recv_start
	for n in 1 2 3 4 5 6; do
		deliver "$RECV_URL" "$n" 2000
		assert_output 202
	done
	# the first four are old enough to prune and every stage has read them
	sq "UPDATE inbox SET received_ms = received_ms - 40 * 86400000, received_at = '2026-01-01T00:00:00.000Z' WHERE id <= 4;
		INSERT INTO stage_marks(stage, inbox_id, updated_ms) VALUES ('correlate', 4, 0), ('rca', 4, 0)
		ON CONFLICT(stage) DO UPDATE SET inbox_id = 4"
	aurora-inbox follow --from 5 --poll-ms 100 >"$BATS_TEST_TMPDIR/follow.out" 2>"$BATS_TEST_TMPDIR/follow.err" 3>&- &
	PIDS+=("$!")
	local follow=$! n=7
	wait_file_line "$BATS_TEST_TMPDIR/follow.out" '"id":6'
	for step in checkpoint vacuum prune checkpoint-truncate vacuum-into; do
		case $step in
		checkpoint) run -0 sq 'PRAGMA wal_checkpoint(PASSIVE)' ;;
		checkpoint-truncate) run -0 sq 'PRAGMA wal_checkpoint(TRUNCATE)' ;;
		vacuum) run -0 sq 'VACUUM' ;;
		vacuum-into) run -0 sq "VACUUM INTO '$BATS_TEST_TMPDIR/copy.db'" ;;
		prune) run -0 --separate-stderr aurora-inbox prune --older-than 30d ;;
		esac
		deliver "$RECV_URL" "$n" 2000
		assert_output 202
		wait_file_line "$BATS_TEST_TMPDIR/follow.out" "\"id\":$n,"
		n=$((n + 1))
	done
	kill -0 "$follow" || fail "follow ended: $(cat "$BATS_TEST_TMPDIR/follow.err")"
	run -0 sq 'SELECT count(*) FROM inbox WHERE id <= 4'
	[ "$output" -lt 4 ] || fail "the prune deleted nothing"
	run -0 jq -sc 'map(.id)' "$BATS_TEST_TMPDIR/follow.out"
	assert_output '[5,6,7,8,9,10,11]'
	kill -INT "$follow"
	wait "$follow"
	[ ! -s "$BATS_TEST_TMPDIR/follow.err" ] || fail "$(cat "$BATS_TEST_TMPDIR/follow.err")"
	whole
}

# --- the LLM endpoint misbehaves ------------------------------------------------------------

@test "llm: an endpoint that resets, answers garbage, a status line that is not HTTP, or streams without end: the investigation ends within its cap and falls back" {
	local mode start ms
	printf 'sk-test-key\n' >"$BATS_TEST_TMPDIR/key"
	for mode in reset garbage status endless; do
		aurora_fresh_db
		rm -f "$BATS_TEST_TMPDIR/port"
		"$AURORA_TOP/tests/helpers/llm-hostile.py" "$mode" "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/requests.$mode" 3>&- &
		PIDS+=("$!")
		for _ in $(seq 1 200); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.05; done
		jq -n --arg url "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/v1" --arg key "$BATS_TEST_TMPDIR/key" \
			--arg allow "$AURORA_TOP/tests/fixtures/rca-llm/allow.conf" '{
			llm: {provider: "openai", url: $url, model: "m", api_key_file: $key, max_retries: 1},
			allow_list: $allow, max_steps: 4, time_cap: 4}' >"$BATS_TEST_TMPDIR/rca.json"
		INBOX_ID=1 alert grafana g1 firing 2026-03-03T09:10:00Z checkout "checkout latency high" >"$BATS_TEST_TMPDIR/in.jsonl"
		run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/in.jsonl"
		printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/dec.jsonl"
		start=$(date +%s%N)
		run -0 --separate-stderr timeout 30 aurora-rca --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$BATS_TEST_TMPDIR/dec.jsonl"
		ms=$((($(date +%s%N) - start) / 1000000))
		[ "$ms" -lt 12000 ] || fail "$mode: the investigation took $ms ms with a time cap of 4 s"
		jq -en '[inputs] | .[-1].type == "analysis" and .[-1].status == "analyzed" and .[-1].rca_state == "complete"' <<<"$output" ||
			fail "$mode: $output $stderr"
		run -0 sq "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Falling back to the built-in investigator: %'"
		[ "$output" = 1 ] || fail "$mode: $(sq 'SELECT kind, text FROM incident_thoughts')"
		[ -s "$BATS_TEST_TMPDIR/requests.$mode" ] || fail "$mode: the endpoint was never asked"
		kill "${PIDS[-1]}"
		wait "${PIDS[-1]}" || true
		unset 'PIDS[-1]'
	done
}

# --- kill -9 of an investigation ---------------------------------------------------------------

@test "kill -9 of aurora-rca's investigator alone: the incident fails visibly (rca_state error, a thought, rca.failed), never a thought twice" {
	INBOX_ID=1 build_alert >"$BATS_TEST_TMPDIR/in.jsonl"
	run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/in.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/dec.jsonl"
	AURORA_RCA_STEP_DELAY_MS=300 aurora-rca <"$BATS_TEST_TMPDIR/dec.jsonl" >"$BATS_TEST_TMPDIR/rca.out" 2>"$BATS_TEST_TMPDIR/rca.err" 3>&- &
	local parent=$! child
	PIDS+=("$parent")
	for _ in $(seq 1 200); do
		[ "$(sq 'SELECT count(*) >= 2 FROM incident_thoughts')" = 1 ] && break
		sleep 0.05
	done
	child=$(pgrep -P "$parent")
	[ -n "$child" ] || fail "no investigator child"
	kill -9 "$child"
	local rc=0
	wait "$parent" || rc=$?
	assert_equal "$rc" 0
	# failed visibly, never left running, each thought once
	run -0 sq 'SELECT rca_state FROM incidents WHERE id = 1'
	assert_output error
	run -0 sq "SELECT count(*) FROM incident_thoughts WHERE kind = 'error' AND text LIKE '%died of signal 9%'"
	assert_output 1
	run -0 sq "SELECT count(*) FROM events WHERE type = 'rca.failed'"
	assert_output 1
	run -0 sq "SELECT count(*) FROM (SELECT text FROM incident_thoughts GROUP BY text HAVING count(*) > 1)"
	assert_output 0
	# the next start leaves a failed investigation failed: no restart, no thought again
	run -0 sq 'SELECT count(*) FROM incident_thoughts'
	local thoughts=$output
	run -0 --separate-stderr aurora-rca <"$BATS_TEST_TMPDIR/dec.jsonl"
	assert_equal "$(sq 'SELECT count(*) FROM incident_thoughts')" "$thoughts"
	assert_equal "$(sq 'SELECT rca_state FROM incidents WHERE id = 1')" error
	whole
}

@test "kill -9 of aurora-rca alone: its investigator dies with it, and the next start concludes once" {
	INBOX_ID=1 build_alert >"$BATS_TEST_TMPDIR/in.jsonl"
	run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/in.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/dec.jsonl"
	AURORA_RCA_STEP_DELAY_MS=300 aurora-rca <"$BATS_TEST_TMPDIR/dec.jsonl" >/dev/null 2>"$BATS_TEST_TMPDIR/rca.err" 3>&- &
	local parent=$! child state
	PIDS+=("$parent")
	for _ in $(seq 1 200); do
		[ "$(sq 'SELECT count(*) >= 2 FROM incident_thoughts')" = 1 ] && break
		sleep 0.05
	done
	child=$(pgrep -P "$parent")
	[ -n "$child" ] || fail "no investigator child"
	PIDS+=("$child")
	kill -9 "$parent"
	wait "$parent" || true
	# an orphan going on would conclude beside the restarted investigation
	for _ in $(seq 1 20); do
		state=$(awk '/^State:/ { print $2 }' "/proc/$child/status" 2>/dev/null) || state=gone
		[[ $state == Z || $state == gone || -z $state ]] && break
		sleep 0.05
	done
	[[ $state == Z || $state == gone || -z $state ]] || fail "the investigator outlived its parent (state $state)"
	run -0 --separate-stderr env AURORA_RCA_STEP_DELAY_MS=300 aurora-rca </dev/null
	sleep 1
	run -0 sq "SELECT rca_state, (SELECT count(*) FROM events WHERE type = 'rca.completed'),
		(SELECT count(*) FROM events WHERE type = 'rca.restarted') FROM incidents WHERE id = 1"
	assert_output 'complete|1|1'
	run -0 sq "SELECT count(*) FROM (SELECT text FROM incident_thoughts GROUP BY text HAVING count(*) > 1)"
	assert_output 0
	whole
}

# build_alert: an alert record of a shipping outage after its deploy (an investigation of a few steps)
build_alert() {
	alert splunk s1 firing 2026-03-03T09:09:40Z shipping "Shipping 5xx spike" "errors after the deploy" shipping-1
}

@test "the disk fills during an investigation: its process exits 75 (temporary), not 70 (a bug); the incident waits for the next start, which concludes once" {
	small_disk 8
	INBOX_ID=1 build_alert >"$BATS_TEST_TMPDIR/in.jsonl"
	run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/in.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/dec.jsonl"
	AURORA_RCA_STEP_DELAY_MS=400 aurora-rca <"$BATS_TEST_TMPDIR/dec.jsonl" >"$BATS_TEST_TMPDIR/rca.out" \
		2>"$BATS_TEST_TMPDIR/rca.err" 3>&- &
	local parent=$! rc=0
	PIDS+=("$parent")
	for _ in $(seq 1 200); do
		[ "$(sq 'SELECT count(*) >= 1 FROM incident_thoughts')" = 1 ] && break
		sleep 0.05
	done
	assert_equal "$(sq 'SELECT rca_state FROM incidents WHERE id = 1')" running
	fill_disk
	wait "$parent" || rc=$?
	# an investigation that failed is on its incident, not in the exit status; here nothing can be written
	assert_equal "$rc" 0
	grep -q 'incident 1: investigation failed: its process exited with status 75 (temporary: the database stayed locked or the disk is full)' \
		"$BATS_TEST_TMPDIR/rca.err" || fail "$(cat "$BATS_TEST_TMPDIR/rca.err")"
	grep -q 'disk is full' "$BATS_TEST_TMPDIR/rca.err" || fail "$(cat "$BATS_TEST_TMPDIR/rca.err")"
	assert_equal "$(sq 'SELECT rca_state FROM incidents WHERE id = 1')" running
	whole
	# space returns: the next start restarts it and concludes once
	rm "$DISK/filler"
	run -0 --separate-stderr aurora-rca </dev/null
	assert_equal "$(sq 'SELECT rca_state FROM incidents WHERE id = 1')" complete
	run -0 sq "SELECT count(*) FROM (SELECT text FROM incident_thoughts GROUP BY text HAVING count(*) > 1)"
	assert_output 0
	whole
}

# --- power loss -------------------------------------------------------------------------------

@test "power loss after each 202: a copy of the database and WAL taken with the receiver frozen holds every delivery answered so far" {
	new_token alertmanager
	recv_start --max-batch 4
	local n copies=0 id before
	mkdir "$BATS_TEST_TMPDIR/copies"
	# four senders post at once; after each 202 the receiver is frozen and its
	# files copied as they are on disk (the -shm is memory: a power loss loses it)
	for n in $(seq 1 24); do
		am "$n" $((n * 37 % 900)) >/dev/null
	done
	for s in 0 1 2 3; do
		(
			for n in $(seq $((s * 6 + 1)) $((s * 6 + 6))); do
				code=$(curl -s -o "$BATS_TEST_TMPDIR/answer.$n" -w '%{http_code}' --max-time 20 \
					-H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
					--data-binary "@$BATS_TEST_TMPDIR/am.$n" "$RECV_URL/api/webhooks/alertmanager")
				[ "$code" = 202 ] || continue
				(
					flock 9
					kill -STOP "$RECV_PID"
					dir=$BATS_TEST_TMPDIR/copies/$n
					mkdir "$dir"
					cp "$AURORA_DB" "$dir/aurora.db"
					[ ! -e "$AURORA_DB-wal" ] || cp "$AURORA_DB-wal" "$dir/aurora.db-wal"
					kill -CONT "$RECV_PID"
					jq -r .id "$BATS_TEST_TMPDIR/answer.$n" >>"$BATS_TEST_TMPDIR/copies/order"
				) 9>"$BATS_TEST_TMPDIR/copies.lock"
			done
		) 3>&- &
		PIDS+=("$!")
	done
	for s in 0 1 2 3; do wait "${PIDS[-1]}"; unset 'PIDS[-1]'; done
	kill -9 "$RECV_PID"
	wait "$RECV_PID" || true
	RECV_PID=
	# each copy holds its delivery, byte for byte, and every one copied before it
	for n in $(seq 1 24); do
		[ -d "$BATS_TEST_TMPDIR/copies/$n" ] || fail "delivery $n was not answered 202: $(cat "$BATS_TEST_TMPDIR/answer.$n")"
		id=$(jq -er .id "$BATS_TEST_TMPDIR/answer.$n")
		run -0 sqlite3 "$BATS_TEST_TMPDIR/copies/$n/aurora.db" "PRAGMA integrity_check; SELECT writefile('$BATS_TEST_TMPDIR/got', body) FROM inbox WHERE id = $id"
		[ "${lines[0]}" = ok ] || fail "copy $n: $output"
		cmp "$BATS_TEST_TMPDIR/am.$n" "$BATS_TEST_TMPDIR/got" || fail "copy $n lacks delivery $n (id $id)"
		before=$(sed "/^$id\$/q" "$BATS_TEST_TMPDIR/copies/order" | paste -sd,)
		run -0 sqlite3 "$BATS_TEST_TMPDIR/copies/$n/aurora.db" "SELECT count(*) FROM inbox WHERE id IN ($before)"
		assert_output "$(tr ',' '\n' <<<"$before" | wc -l)"
		copies=$((copies + 1))
	done
	# and the last state of all: the database after kill -9 holds all 24
	assert_equal "$(rows)" 24
	assert_equal "$copies" 24
}
