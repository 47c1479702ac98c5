#!/usr/bin/env bats
# Every delivery accounted for: each inbox row ends as alerts (with how
# many), a note, a test or an error that says why, through the real
# pipeline (aurora-recv on 127.0.0.1, then
#   aurora-inbox follow | aurora-normalize | aurora-correlate
# on the same SQLite file); aurora-inbox list --state and stats, the
# connector views and GET /api/{platform}/status show it, and an error is
# an event on the stream.

load helpers/common
load helpers/recv
load helpers/pipeline

setup() {
	aurora_fresh_db
	PIDS=()
	PIPE_PID=
	recv_start --db "$AURORA_DB"
	for p in alertmanager splunk grafana; do
		new_token "$p"
		printf '%s\n' "$TOKEN" >"$BATS_TEST_TMPDIR/$p.token"
	done
	new_operator_token ops
}

teardown() {
	pipeline_stop
	recv_teardown
}

# deliver PLATFORM JSON: POST it to the platform's webhook; 202 expected
deliver() {
	printf '%s' "$2" >"$BATS_TEST_TMPDIR/delivery.json"
	post "$1" "$BATS_TEST_TMPDIR/delivery.json" -H "Authorization: Bearer $(cat "$BATS_TEST_TMPDIR/$1.token")"
	[ "$output" = 202 ] || fail "delivery to $1 answered $output: $(cat "$RESP")"
}

# deliver_refused PLATFORM JSON: POST a body without the platform's shape: 422
# at the door; then an operator replays it from the quarantine into the
# inbox, where the pipeline meets a body it cannot use
deliver_refused() {
	printf '%s' "$2" >"$BATS_TEST_TMPDIR/delivery.json"
	post "$1" "$BATS_TEST_TMPDIR/delivery.json" -H "Authorization: Bearer $(cat "$BATS_TEST_TMPDIR/$1.token")"
	[ "$output" = 422 ] || fail "delivery to $1 answered $output: $(cat "$RESP")"
	run -0 jq -en 'input | .quarantine_id' "$RESP"
	run -0 --separate-stderr aurora-inbox quarantine replay "$output"
}

# settled N: wait until N inbox rows exist and none is pending (10 s at most)
settled() {
	for _ in $(seq 1 200); do
		[ "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM inbox WHERE state IS NOT NULL')" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "inbox: $(sqlite3 "$AURORA_DB" 'SELECT id, state FROM inbox'); pipeline: $(cat "$BATS_TEST_TMPDIR/pipeline.err")"
}

# three alerts from one Alertmanager group: one delivery, three records
GROUP='{"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","status":"firing","receiver":"aurora",
 "externalURL":"http://am.example.test",
 "alerts":[
  {"status":"firing","labels":{"alertname":"DiskFull","service":"ledger","instance":"db-1"},"annotations":{"summary":"disk full on db-1"},"startsAt":"2026-03-04T10:00:00Z","fingerprint":"a1"},
  {"status":"firing","labels":{"alertname":"DiskFull","service":"ledger","instance":"db-2"},"annotations":{"summary":"disk full on db-2"},"startsAt":"2026-03-04T10:00:00Z","fingerprint":"a2"},
  {"status":"firing","labels":{"alertname":"DiskFull","service":"ledger","instance":"db-3"},"annotations":{"summary":"disk full on db-3"},"startsAt":"2026-03-04T10:00:00Z","fingerprint":"a3"}]}'
EMPTY='{"version":"4","groupKey":"{}:{alertname=\"Nothing\"}","status":"firing","receiver":"aurora","alerts":[]}'
NOT_SPLUNK='{"hello":"world"}'

# the four outcomes, in inbox order: 1 alerts (3), 2 note, 3 error, 4 test
deliver_each_state() {
	deliver alertmanager "$GROUP"
	deliver alertmanager "$EMPTY"
	deliver_refused splunk "$NOT_SPLUNK"
	run -0 --separate-stderr aurora-connector test alertmanager --url "$RECV_URL"
	settled 4
}

@test "every delivery ends as alerts, note, test or error, each reached through the pipeline" {
	pipeline_start --resume correlate
	deliver_each_state
	run -0 --separate-stderr aurora-inbox list --json --limit 0
	[ -n "$output" ]
	jsonl_ok 'map([.id, .platform, .state, .alert_count, .state_reason]) == [
		[1, "alertmanager", "alerts", 3, null],
		[2, "alertmanager", "note", 0, null],
		[3, "splunk", "error", 0, "not a Splunk webhook: no sid, search_name or result"],
		[4, "alertmanager", "test", 0, null]]' <<<"$output"
	# the error's decision: nothing correlated, and why
	jq -en '[inputs | select(.inbox_id == 3)] | length == 1 and .[0].type == "decision"
		and .[0].action == "failed" and .[0].incident_id == null and .[0].platform == "splunk"
		and (.[0].correlation.reason | startswith("not normalized: not a Splunk webhook"))' \
		"$BATS_TEST_TMPDIR/live.jsonl"
	# aurora-normalize still reports it on its stderr
	grep -q 'splunk (inbox 3): not a Splunk webhook' "$BATS_TEST_TMPDIR/pipeline.err"
}

@test "list shows the state column and --state keeps one state; an unknown state exits 2" {
	pipeline_start --resume correlate
	deliver_each_state
	run -0 --separate-stderr aurora-inbox list
	assert_line --index 0 --regexp ' +TEST +STATE$'
	assert_line --index 1 --regexp '^ +1  .* alertmanager .* alerts 3$'
	assert_line --index 2 --regexp '^ +2  .* note$'
	assert_line --index 3 --regexp '^ +3  .* splunk .* error: not a Splunk webhook: no sid, search_name or result$'
	assert_line --index 4 --regexp '^ +4  .* test +test$'
	run -0 --separate-stderr aurora-inbox list --state error --json
	[ -n "$output" ]
	jsonl_ok 'map(.id) == [3] and .[0].state == "error"' <<<"$output"
	run -0 --separate-stderr aurora-inbox list --json --state alerts --platform alertmanager
	jsonl_ok 'map(.id) == [1] and .[0].alert_count == 3' <<<"$output"
	run -0 --separate-stderr aurora-inbox list --json --state alerts --platform splunk
	assert_output ""
	# a delivery no stage decided yet is pending
	pipeline_stop
	deliver_refused splunk '{"hello":"later"}'
	run -0 --separate-stderr aurora-inbox list --state pending --json
	jsonl_ok 'map([.id, .state]) == [[5, "pending"]]' <<<"$output" || fail "$output"
	run -2 --separate-stderr aurora-inbox list --state broken
	[[ $stderr == *"unknown state 'broken'; states: alerts note test error unknown pending"* ]]
}

@test "stats counts deliveries per platform and state within the window; a split delivery counts once" {
	pipeline_start --resume correlate
	deliver_each_state
	# two days ago: outside the default window of 24 hours
	sqlite3 "$AURORA_DB" "INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256, state, state_reason)
		VALUES ('splunk', '2026-01-01T00:00:00.000Z', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 2 * 86400000,
			CAST('{}' AS BLOB), 'x', 'error', 'old')"
	run -0 --separate-stderr aurora-inbox stats --json
	[ -n "$output" ]
	json_ok '.type == "inbox_stats" and .platforms == [
		{"platform": "alertmanager", "alerts": 1, "note": 1, "test": 1, "error": 0, "unknown": 0,
		 "pending": 0, "total": 3, "alert_records": 3},
		{"platform": "splunk", "alerts": 0, "note": 0, "test": 0, "error": 1, "unknown": 0,
		 "pending": 0, "total": 1, "alert_records": 0}]' <<<"$output"
	run -0 --separate-stderr aurora-inbox stats --since 3d --json
	json_ok '.platforms[1] | .platform == "splunk" and .error == 2 and .total == 2' <<<"$output"
	run -0 --separate-stderr aurora-inbox stats --since 3d --until 1d --json
	json_ok '.platforms == [{"platform": "splunk", "alerts": 0, "note": 0, "test": 0, "error": 1,
		"unknown": 0, "pending": 0, "total": 1, "alert_records": 0}]' <<<"$output"
	run -0 --separate-stderr aurora-inbox stats
	assert_line --index 1 --regexp '^PLATFORM +ALERTS +NOTE +TEST +ERROR +UNKNOWN +PENDING +TOTAL +RECORDS$'
	assert_line --index 2 --regexp '^alertmanager +1 +1 +1 +0 +0 +0 +3 +3$'
	assert_line --index 3 --regexp '^splunk +0 +0 +0 +1 +0 +0 +1 +0$'
	run -2 --separate-stderr aurora-inbox stats --since yesterday
}

@test "a delivery read twice (a restarted pipeline) keeps its count and says its error once" {
	pipeline_start --resume correlate
	deliver_each_state
	pipeline_stop
	# the whole inbox again, as after a crash before the resume point moved
	aurora-inbox replay --from 1 | aurora-normalize 2>/dev/null | aurora-correlate >/dev/null 2>&1 || true
	run -0 sqlite3 "$AURORA_DB" "SELECT id || ':' || state || ':' || alert_count FROM inbox ORDER BY id"
	assert_output "$(printf '1:alerts:3\n2:note:0\n3:error:0\n4:test:0')"
	run -0 sqlite3 "$AURORA_DB" "SELECT count(*) FROM events WHERE type = 'delivery.error'"
	assert_output 1
	run -0 sqlite3 "$AURORA_DB" "SELECT count(*), sum(count) FROM alerts"
	assert_output "3|3"
}

@test "a record aurora-correlate rejects, and a mapping that makes nothing, end as errors that say why" {
	pipeline_start --resume correlate
	deliver alertmanager "$GROUP"
	deliver_refused grafana '{"anything":1}'
	settled 2
	pipeline_stop
	# an operator's mapping that makes nothing of a Grafana delivery
	mkdir "$BATS_TEST_TMPDIR/maps"
	echo 'empty' >"$BATS_TEST_TMPDIR/maps/grafana.jq"
	run -0 --separate-stderr aurora-inbox show 2 --json
	run -0 --separate-stderr aurora-normalize --mappings "$BATS_TEST_TMPDIR/maps" <<<"$output"
	json_ok '.type == "error" and .inbox_id == 2 and .reason == "the mapping made no record of it"' <<<"$output"
	[[ $stderr == *"grafana (inbox 2): the mapping made no record of it"* ]]
	printf '%s\n' "$output" | aurora-correlate --no-mark >/dev/null
	run -0 sqlite3 "$AURORA_DB" "SELECT state || '|' || state_reason FROM inbox WHERE id = 2"
	assert_output "error|the mapping made no record of it"
	# part 2 of 3 of delivery 1 broken on its way to aurora-correlate
	run -0 --separate-stderr aurora-inbox show 1 --json
	aurora-normalize <<<"$output" | jq -c 'if .inbox_part == 2 then .status = "open" else . end' \
		>"$BATS_TEST_TMPDIR/parts.jsonl"
	run -1 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/parts.jsonl"
	[[ $stderr == *"alert status must be firing or resolved"* ]]
	run -0 sqlite3 "$AURORA_DB" "SELECT state || '|' || alert_count || '|' || state_reason FROM inbox WHERE id = 1"
	assert_output "error|2|record 2 of 3: aurora-correlate rejected it: alert status must be firing or resolved"
}

@test "the status endpoint and aurora-connector show received, rejected, failed to normalize and the last error" {
	pipeline_start --resume correlate
	api /api/splunk/status
	assert_output 200
	json '.received == 0 and .rejected == 0 and .failed_to_normalize == 0 and .last_error == null'
	deliver_each_state
	deliver_refused splunk '{"hello":"again"}'
	settled 5
	post splunk "$BATS_TEST_TMPDIR/delivery.json" -H "Authorization: Bearer wrong"
	assert_output 401
	api_until /api/splunk/status '.rejected == 3'
	# two refused at the door (422) and replayed by hand, then a wrong token (401): a replay
	# is no new reception, so received stays 0
	json '.platform == "splunk" and .received == 0 and .rejected == 3 and .failed_to_normalize == 2
		and .last_error.inbox_id == 5
		and .last_error.reason == "not a Splunk webhook: no sid, search_name or result"
		and (.last_error.received_at | test("^20[0-9-]{8}T[0-9:.]{12}Z$"))'
	api /api/alertmanager/status
	json '.failed_to_normalize == 0 and .last_error == null'
	run -0 --separate-stderr aurora-connector show splunk --json
	json_ok '.received == 0 and .rejected == 3 and .failed_to_normalize == 2 and .last_error.inbox_id == 5' <<<"$output"
	run -0 --separate-stderr aurora-connector show splunk
	assert_line --regexp '^failed_to_normalize +2$'
	assert_line --regexp '^last_error +inbox 5, received 20[0-9-]{8}T[0-9:.]{12}Z: not a Splunk webhook: no sid, search_name or result$'
	run -0 --separate-stderr aurora-connector list
	assert_line --regexp '^splunk +yes +on +set +n/a +0 +3 +2 '
	run -0 --separate-stderr aurora-connector list --json
	jsonl_ok 'map(select(.platform == "splunk"))[0].failed_to_normalize == 2' <<<"$output"
	api /api/connectors
	json 'map(select(.platform == "splunk"))[0].last_error.inbox_id == 5'
	run -2 --separate-stderr aurora-connector show nosuch
}

@test "test deliveries count in neither received nor last_webhook_received; last_test_ok says them" {
	run -0 --separate-stderr aurora-connector test alertmanager --url "$RECV_URL"
	api /api/alertmanager/status
	assert_output 200
	json '.received == 0 and .last_webhook_received == null and .connected == true'
	run -0 --separate-stderr aurora-connector show alertmanager --json
	json_ok '.received == 0 and .last_webhook_received == null and (.last_test_ok | type) == "string"' <<<"$output"
	deliver alertmanager "$GROUP"
	api /api/alertmanager/status
	json '.received == 1 and (.last_webhook_received | test("^20[0-9-]{8}T"))'
	run -0 sqlite3 "$AURORA_DB" "SELECT count(*) FROM inbox WHERE platform = 'alertmanager'"
	assert_output 2
}

@test "a delivery error is an event on the stream with no incident, and aurora-incident watch prints it" {
	stream_start plain
	SSE_QUERY='?named=1' stream_start named
	pipeline_start --resume correlate
	deliver_refused splunk "$NOT_SPLUNK"
	settled 1
	wait_file_line "$BATS_TEST_TMPDIR/plain.sse" '^data: .*delivery_error'
	wait_file_line "$BATS_TEST_TMPDIR/named.sse" '^event: delivery.error$'
	run -0 sse_data plain
	jq -en '[inputs | select(.kind == "delivery_error")] | length == 1
		and (.[0] | .type == "incident_update" and .event == "delivery.error" and .incident_id == null
		and .data.inbox_id == 1 and .data.platform == "splunk"
		and .data.reason == "not a Splunk webhook: no sid, search_name or result")' <<<"$output"
	run -0 sse_data named
	jq -en '[inputs | select(.event == "delivery.error")] | length == 1 and .[0].incident_id == null' <<<"$output"
	run -0 --separate-stderr timeout --preserve-status -s INT 2 aurora-incident watch --from 0 --json
	jq -en '[inputs] | length == 1 and .[0].event == "delivery.error" and .[0].data.inbox_id == 1' <<<"$output"
	run -0 --separate-stderr timeout --preserve-status -s INT 2 aurora-incident watch --from 0
	assert_output --regexp '^20[0-9-]{8}T[0-9:.]{12}Z delivery\.error splunk delivery 1 not used: not a Splunk webhook'
}

@test "a database from before delivery states: what the pipeline had passed is unknown, the rest pending" {
	# schema 9, as the release before this one left it
	sqlite3 "$AURORA_DB" "DROP INDEX inbox_state; DROP INDEX events_incident_type; ALTER TABLE inbox DROP COLUMN state;
		ALTER TABLE inbox DROP COLUMN state_reason; ALTER TABLE inbox DROP COLUMN alert_count;
		ALTER TABLE incident_alerts DROP COLUMN opened; ALTER TABLE incident_alerts DROP COLUMN notifications;
		ALTER TABLE incident_alerts DROP COLUMN last_seen; ALTER TABLE incident_alerts DROP COLUMN status;
		ALTER TABLE connectors DROP COLUMN added; ALTER TABLE connectors DROP COLUMN hmac_header;
		DROP TABLE quarantine; ALTER TABLE connectors DROP COLUMN last_rejected_ms;
		ALTER TABLE connectors DROP COLUMN last_rejected_status; ALTER TABLE connectors DROP COLUMN last_rejected_reason;
		PRAGMA user_version = 9;
		INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256, test) VALUES
			('alertmanager', '2026-03-04T10:00:00.000Z', 1772618400000, CAST('{}' AS BLOB), 'a', 1),
			('alertmanager', '2026-03-04T10:00:01.000Z', 1772618401000, CAST('{}' AS BLOB), 'b', 0),
			('alertmanager', '2026-03-04T10:00:02.000Z', 1772618402000, CAST('{}' AS BLOB), 'c', 0);
		UPDATE stage_marks SET inbox_id = 2 WHERE stage = 'correlate';
		UPDATE connectors SET received_count = 3 WHERE platform = 'alertmanager'"
	# readers do not migrate: no states to show yet
	run -0 --separate-stderr aurora-inbox list
	assert_line --index 1 --regexp '^ +1  .* test +-$'
	run -78 --separate-stderr aurora-inbox list --state error
	[[ $stderr == *"predates delivery states"* ]]
	run -78 --separate-stderr aurora-inbox stats
	run -0 --separate-stderr aurora-connector show alertmanager --json
	json_ok '.received == 2 and .failed_to_normalize == 0' <<<"$output"
	run -0 sqlite3 "$AURORA_DB" "PRAGMA user_version; SELECT id || ':' || coalesce(state, 'pending') FROM inbox ORDER BY id"
	assert_output "$(printf '14\n1:test\n2:unknown\n3:pending')"
	run -0 --separate-stderr aurora-inbox list --state unknown --json
	json_ok '.id == 2 and (.state_reason | startswith("decided before aurora recorded"))' <<<"$output"
}
