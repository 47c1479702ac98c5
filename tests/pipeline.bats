#!/usr/bin/env bats
# The live pipeline end to end: aurora-recv stores deliveries, and
#   aurora-inbox follow | aurora-normalize | aurora-correlate
# turns them into incidents while they arrive. A replay of the inbox into a
# fresh database must make the same incidents (time comes from the records).

load helpers/common
load helpers/recv
load helpers/pipeline

STORM="$FIXTURES/pipeline/storm.jsonl"

setup() {
	aurora_fresh_db
	PIPE_PID=
	recv_start --db "$AURORA_DB"
	for p in alertmanager grafana datadog netdata pagerduty; do
		new_token "$p"
		printf '%s\n' "$TOKEN" > "$BATS_TEST_TMPDIR/$p.token"
	done
}

teardown() {
	pipeline_stop
	recv_stop
}

# post every delivery of the storm to its platform's webhook, in order
post_storm() {
	local platform body n=0
	while IFS= read -r line; do
		platform=$(jq -r .platform <<<"$line")
		body=$(jq -c .body <<<"$line")
		code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $(cat "$BATS_TEST_TMPDIR/$platform.token")" \
			--data-binary "$body" "$RECV_URL/api/webhooks/$platform")
		[ "$code" = 202 ] || fail "delivery $n to $platform answered $code"
		n=$((n + 1))
	done < "$STORM"
}

@test "deliveries become incidents while they arrive, and a replay of the inbox makes the same ones" {
	pipeline_start
	post_storm
	wait_lines "$BATS_TEST_TMPDIR/live.jsonl" 8 "$BATS_TEST_TMPDIR/pipeline.err"

	# the live incidents: users-db with the client that names it (both
	# alerts resolved: it waits the quiet period), cart from Datadog and
	# PagerDuty, the web fleet
	run -0 aurora-incident list --json
	jsonl_ok 'length == 3' <<<"$output"
	run -0 aurora-incident show 1 --json
	json_ok '.status == "investigating" and (.alerts | length) == 2
		and all(.alerts[]; .status == "resolved")' <<<"$output"
	jsonl_ok 'map(select(.action == "attached")) | map(.correlation.strategy) | sort
		== ["service_match", "service_match", "service_mention"]' <"$BATS_TEST_TMPDIR/live.jsonl"

	aurora-inbox replay --from 1 | aurora-normalize |
		aurora-correlate --db "$BATS_TEST_TMPDIR/replay.db" > "$BATS_TEST_TMPDIR/replay.jsonl"
	decisions() {
		jq -c '[.inbox_id, .dedup_key, .incident_id, .action, .correlation.strategy, .correlation.score]' "$1"
	}
	diff <(decisions "$BATS_TEST_TMPDIR/live.jsonl") <(decisions "$BATS_TEST_TMPDIR/replay.jsonl")
	incidents() {
		sqlite3 "$1" "SELECT id, title, status, severity, service, started_at, resolved_at,
			last_activity_ms FROM incidents ORDER BY id"
	}
	diff <(incidents "$AURORA_DB") <(incidents "$BATS_TEST_TMPDIR/replay.db")
}

@test "a pipeline stopped and started again resumes from its cursor without a gap or a repeat" {
	pipeline_start
	head -n 4 "$STORM" > "$BATS_TEST_TMPDIR/first.jsonl"
	STORM="$BATS_TEST_TMPDIR/first.jsonl" post_storm
	wait_lines "$BATS_TEST_TMPDIR/live.jsonl" 4 "$BATS_TEST_TMPDIR/pipeline.err"
	pipeline_stop
	cp "$BATS_TEST_TMPDIR/live.jsonl" "$BATS_TEST_TMPDIR/part1.jsonl"

	tail -n 4 "$FIXTURES/pipeline/storm.jsonl" > "$BATS_TEST_TMPDIR/second.jsonl"
	STORM="$BATS_TEST_TMPDIR/second.jsonl" post_storm
	pipeline_start
	wait_lines "$BATS_TEST_TMPDIR/live.jsonl" 4 "$BATS_TEST_TMPDIR/pipeline.err"
	cat "$BATS_TEST_TMPDIR/part1.jsonl" "$BATS_TEST_TMPDIR/live.jsonl" |
		jsonl_ok 'map(.inbox_id) == [1, 2, 3, 4, 5, 6, 7, 8]'
	[ "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents')" = 3 ]
}
