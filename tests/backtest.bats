#!/usr/bin/env bats
# aurora-correlate backtest: a stretch of a real inbox replayed with two
# settings into scratch databases, and what would change. The day in the
# fixture: three checkout alerts a minute apart (one incident by default),
# then two search alerts ten minutes apart (one incident by default).

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/inbox
load helpers/backtest
load helpers/recv

DAY="$FIXTURES/backtest/day.jsonl"

setup() {
	aurora_fresh_db
	aurora_schema
	inbox_load "$DAY"
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR"
	PIPE_PID=
	POST_PID=
	RECV_PID=
}

teardown() {
	if [ -n "${POST_PID:-}" ]; then
		kill "$POST_PID" 2>/dev/null || true
		wait "$POST_PID" 2>/dev/null || true
	fi
	if [ -n "${PIPE_PID:-}" ]; then
		pkill -TERM -P "$PIPE_PID" 2>/dev/null || true
		wait "$PIPE_PID" 2>/dev/null || true
	fi
	if [ -n "${RECV_PID:-}" ]; then
		kill -TERM "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
}

# backtest ARGS...: the backtest of the whole fixture day; JSON lines in $output.
# Every moved alert is listed under exactly one change.
backtest() {
	run -0 --separate-stderr aurora-correlate backtest --from 1 "$@"
	[ -n "$output" ] || fail "no output; stderr: $stderr"
	jsonl_ok '(.[0].alerts_moved == (map(select(.type == "change") | .moved | length) | add // 0))
		and (.[0].changes == (map(select(.type == "change")) | length))' <<<"$output" ||
		fail "moved alerts or changes do not add up: $output"
}

summary() {
	jq -en --argjson want "$1" 'first(inputs | select(.type == "summary")) | . as $s
		| $want | to_entries | all(.value == $s[.key])' <<<"$output" ||
		fail "summary is not $1: $(head -n 1 <<<"$output")"
}

@test "a threshold of 1 splits each incident the defaults join: counts and the alerts that move" {
	backtest --b threshold=1
	summary '{"deliveries": 5, "rejected": 0, "alerts": 5, "incidents_a": 2, "incidents_b": 5,
		"alerts_moved": 3, "split": 2, "merged": 0, "changes": 2, "from_id": 1, "to_id": 5,
		"from": "2026-03-17T10:00:00.000Z", "to": "2026-03-17T11:40:00.000Z"}'
	# the summary comes first
	jsonl_ok '.[0] | .a.settings == [] and .b.settings == ["threshold=1"] and .warmup_deliveries == 0
		and .joins_a == {service_match: 3} and .joins_b == {}' <<<"$output"
	# one change per A incident, in the order of the day; each names where B put its alerts
	jsonl_ok 'map(select(.type == "change")) | length == 2
		and (map(.a.incident) == [1, 2]) and (map(.a.service) == ["checkout", "search"])
		and (map(.a.alerts) == [3, 2]) and all(.split) and all(.merged_with == [])
		and (map(.b | length) == [3, 2])' <<<"$output"
	# the moved alerts: A attached them, B opened an incident of its own, and says why
	jsonl_ok 'map(select(.type == "change") | .moved[]) as $m
		| ($m | map(.inbox_id)) == [2, 3, 5]
		and ($m | all(.a.action == "attached" and .a.strategy == "service_match"))
		and ($m | all(.b.action == "created" and (.b.reason | test("under 1.00"))))
		and ($m | map(.a.incident)) == [1, 1, 2]' <<<"$output"
}

@test "a shorter window splits only the alerts that come later than it" {
	backtest --b window=5m
	summary '{"incidents_a": 2, "incidents_b": 3, "alerts_moved": 1, "split": 1, "merged": 0, "changes": 1}'
	jsonl_ok 'map(select(.type == "change")) | .[0]
		| .a.service == "search" and (.moved | map(.inbox_id)) == [5]
		and (.moved[0].b.reason | test("no open incident"))' <<<"$output"
}

@test "the other way round, B merges what A splits, and the same alerts move" {
	backtest --a threshold=1
	summary '{"incidents_a": 5, "incidents_b": 2, "alerts_moved": 3, "split": 0, "merged": 2, "changes": 5}'
	jsonl_ok 'map(select(.type == "change")) | .[0]
		| .a.incident == 1 and .merged_with == [2, 3] and .moved == []
		and .b == [{incident: 1, title: .b[0].title, service: "checkout",
			started_at: "2026-03-17T10:00:00.000Z", alerts: 3, alerts_of_a: 1,
			also_from_a: [2, 3], from_no_incident: 0}]' <<<"$output"
}

@test "identical settings change nothing, and a backtest gives the same answer every time" {
	backtest
	summary '{"deliveries": 5, "alerts": 5, "incidents_a": 2, "incidents_b": 2, "alerts_moved": 0,
		"split": 0, "merged": 0, "changes": 0}'
	[ "$(wc -l <<<"$output")" -eq 1 ]
	backtest --a threshold=0.8 --b threshold=0.8 --a window=10m --b window=10m
	summary '{"incidents_a": 2, "incidents_b": 2, "alerts_moved": 0, "changes": 0}'
	[ "$(wc -l <<<"$output")" -eq 1 ]

	backtest --b threshold=1
	first=$output
	backtest --b threshold=1
	[ "$output" = "$first" ]
}

@test "switches and settings by the correlator's option names, with or without --" {
	backtest --b --semantic-across-services --b=--threshold=1 --a time-score=0.7
	summary '{"incidents_b": 5, "alerts_moved": 3}'
	jsonl_ok '.[0] | .b.settings == ["semantic-across-services", "threshold=1"]
		and .a.settings == ["time-score=0.7"]' <<<"$output"
}

@test "the live database and its WAL are not changed by a byte, and the scratch files are gone" {
	# a live database as a running receiver keeps it: open, with frames in its WAL
	recv_start --db "$AURORA_DB"
	new_token alertmanager
	head -n 1 "$DAY" | jq -c .body > "$BATS_TEST_TMPDIR/body.json"
	run -0 curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $TOKEN" --data-binary "@$BATS_TEST_TMPDIR/body.json" \
		"$RECV_URL/api/webhooks/alertmanager"
	[ "$output" = 202 ]
	[ "$(stat -c %s "$AURORA_DB-wal")" -gt 0 ]
	# the receiver checkpoints after it answers, sooner or later as the machine
	# is busy: the files are compared once they hold still for half a second
	before=$(sha256sum "$AURORA_DB" "$AURORA_DB-wal")
	for _ in $(seq 1 20); do
		sleep 0.5
		[ "$(sha256sum "$AURORA_DB" "$AURORA_DB-wal")" = "$before" ] && break
		before=$(sha256sum "$AURORA_DB" "$AURORA_DB-wal")
	done
	files_before=$(ls "$AURORA_DB"*)
	backtest --b threshold=1 --b window=1s
	summary '{"deliveries": 6, "alerts": 6, "incidents_a": 2, "incidents_b": 5}'
	[ "$(sha256sum "$AURORA_DB" "$AURORA_DB-wal")" = "$before" ]
	[ "$(ls "$AURORA_DB"*)" = "$files_before" ]
	# nothing left in the scratch directory, nothing written to the live tables
	[ -z "$(ls -A "$TMPDIR")" ]
	[ "$(sqlite3 "$AURORA_DB" 'SELECT (SELECT count(*) FROM incidents) + (SELECT count(*) FROM alerts)')" = 0 ]
}

@test "a range by inbox id or by time: --from inclusive, --to an id inclusive, a time exclusive" {
	backtest --to 3
	summary '{"deliveries": 3, "from_id": 1, "to_id": 3, "incidents_a": 1, "warmup_deliveries": 0}'
	run -0 --separate-stderr aurora-correlate backtest --from 4 --b threshold=1
	summary '{"deliveries": 2, "from_id": 4, "to_id": 5, "incidents_a": 1, "incidents_b": 2, "alerts_moved": 1}'
	run -0 --separate-stderr aurora-correlate backtest --from 2026-03-17T10:01:00Z --to 2026-03-17T11:40:00Z
	summary '{"deliveries": 3, "from_id": 2, "to_id": 4}'
	# the default is the last 24 hours: the fixture day is long past
	run -0 --separate-stderr aurora-correlate backtest
	summary '{"deliveries": 0, "alerts": 0, "from_id": null, "changes": 0}'
}

@test "a warm-up replays what came just before the range, so the incidents open at its start are there" {
	# by default the larger window (30m): the 10:00 checkout alert opens the incident first
	run -0 --separate-stderr aurora-correlate backtest --from 2 --b threshold=1
	summary '{"warmup_deliveries": 1, "deliveries": 4, "alerts": 4, "incidents_a": 1, "incidents_b": 4,
		"alerts_moved": 2, "split": 2}'
	jsonl_ok 'map(select(.type == "change")) | .[0].a
		| .incident == 1 and .started_at == "2026-03-17T10:00:00.000Z" and .alerts == 2' <<<"$output"
	# without it, the 10:01 alert opens an incident of its own
	run -0 --separate-stderr aurora-correlate backtest --from 2 --warmup 0 --b threshold=1
	summary '{"warmup_deliveries": 0, "deliveries": 4, "incidents_a": 2, "incidents_b": 4, "alerts_moved": 2}'
	# a window of 2h on one side reaches back further than the 30 minutes of the defaults
	run -0 --separate-stderr aurora-correlate backtest --from 4 --b window=2h
	summary '{"warmup_deliveries": 3, "deliveries": 2, "incidents_a": 1, "changes": 0}'
	run -2 --separate-stderr aurora-correlate backtest --warmup soon
	[[ "$stderr" == *"--warmup: 'soon' is not a duration"* ]]
}

@test "--text: a table for people with the counts, the changes and why each alert moved" {
	run -0 --separate-stderr aurora-correlate backtest --from 1 --b threshold=1 --text
	assert_line --index 0 "backtest of inbox 1 to 5, received 2026-03-17T10:00:00.000Z to 2026-03-17T11:40:00.000Z"
	assert_line "  A: defaults"
	assert_line "  B: threshold=1"
	assert_line "incidents: A 2, B 5"
	assert_line --partial "alerts moved 3; A incidents split by B 2"
	assert_line --regexp '^A#1  2026-03-17T10:00:00.000Z  checkout  .*\(3 alerts\)$'
	assert_line --regexp '^  moved: inbox 2 alertmanager .* A#1 attached \(same service key checkout \(from .checkout., service\)\) -> B#2 created'
}

@test "a bad setting is 65 naming it; a bad range 2; no database 66; not an aurora database 78" {
	run -65 --separate-stderr aurora-correlate backtest --b threshold=2
	[[ "$stderr" == *"'threshold=2'"*"is not a number from 0 to 1"* ]]
	run -65 --separate-stderr aurora-correlate backtest --a no-such-setting=1
	[[ "$stderr" == *"'no-such-setting=1'"*"not a correlation setting"* ]]
	run -65 --separate-stderr aurora-correlate backtest --b semantic-across-services=yes
	[[ "$stderr" == *"takes no value"* ]]
	run -65 --separate-stderr aurora-correlate backtest --b window
	[[ "$stderr" == *"--window: needs a value"* ]]
	[ -z "$output" ]

	run -2 --separate-stderr aurora-correlate backtest --from yesterday-ish
	[[ "$stderr" == *"--from: 'yesterday-ish' is not an inbox id or a time"* ]]
	run -2 --separate-stderr aurora-correlate backtest extra
	[[ "$stderr" == *"backtest takes no arguments"* ]]
	run -2 --separate-stderr aurora-correlate backtest --bogus
	[[ "$stderr" == *"unknown option --bogus"* ]]

	run -66 --separate-stderr aurora-correlate backtest --db "$BATS_TEST_TMPDIR/none.db"
	[[ "$stderr" == *"no database at $BATS_TEST_TMPDIR/none.db"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/none.db" ]

	not_aurora_files
	run -78 --separate-stderr aurora-correlate backtest --db "$BATS_TEST_TMPDIR/other.db"
	[[ "$stderr" == *"not an aurora database"* ]]
	run -78 --separate-stderr aurora-correlate backtest --db "$BATS_TEST_TMPDIR/text.db"
	[[ "$stderr" == *"not an aurora database"* ]]
	not_aurora_untouched
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "a live pipeline keeps writing the same database while backtests run: neither waits on the other" {
	recv_start --db "$AURORA_DB"
	new_token alertmanager
	(
		aurora-inbox follow --from 6 | aurora-normalize |
			aurora-correlate > "$BATS_TEST_TMPDIR/live.jsonl"
	) 2> "$BATS_TEST_TMPDIR/pipeline.err" 3>&- &
	PIPE_PID=$!
	# 60 deliveries through the receiver, as fast as it answers
	(
		for i in $(seq 1 60); do
			jq -c --arg n "$i" '.body | .alerts[0].fingerprint = "live\($n)"
				| .alerts[0].labels.service = "svc\($n)"' <<<"$(head -n 1 "$DAY")" > "$BATS_TEST_TMPDIR/body.$i"
			curl -s -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
				--data-binary "@$BATS_TEST_TMPDIR/body.$i" "$RECV_URL/api/webhooks/alertmanager"
		done
	) 3>&- &
	POST_PID=$!
	for _ in 1 2 3 4 5 6; do
		run -0 --separate-stderr aurora-correlate backtest --from 1 --b threshold=1
		jsonl_ok '.[0] | .type == "summary" and .deliveries >= 5 and .alerts >= 5' <<<"$output"
		[[ "$stderr" != *locked* ]]
	done
	wait "$POST_PID"
	POST_PID=
	wait_lines "$BATS_TEST_TMPDIR/live.jsonl" 60
	[[ "$(cat "$BATS_TEST_TMPDIR/pipeline.err")" != *locked* ]]
	# everything the receiver took is in the last backtest's range now
	run -0 --separate-stderr aurora-correlate backtest --from 1
	summary '{"deliveries": 65, "alerts": 65, "changes": 0}'
}

@test "a backtest stopped by SIGTERM removes its scratch files and ends the way the signal asks" {
	# the day 2,000 times over, a day apart: a backtest long enough to stop halfway
	sqlite3 "$AURORA_DB" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 2000)
		INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256)
		SELECT platform, received_at, received_ms + i * 86400000, body, lower(hex(randomblob(32)))
		FROM inbox, k ORDER BY i, inbox.id"
	aurora-correlate backtest --from 1 --b threshold=1 > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	for _ in $(seq 1 200); do
		compgen -G "$TMPDIR/aurora-backtest-*/b.db" >/dev/null && break
		sleep 0.05
	done
	compgen -G "$TMPDIR/aurora-backtest-*/b.db"
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$waited" -eq 143 ]
	[ -z "$(ls -A "$TMPDIR")" ]
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	grep -q "stopped" "$BATS_TEST_TMPDIR/err"
}

@test "side A with the live settings makes what the pipeline makes of the same deliveries, on every platform" {
	# the pipeline's storm (Alertmanager, Grafana, Datadog, Netdata, PagerDuty), 20 s apart
	aurora_fresh_db
	aurora_schema
	jq -c --argjson i "$(date -d 2026-03-17T12:00:00Z +%s)" -n \
		'[inputs] | to_entries[] | .value + {at: (($i + 20 * .key) | todate)}' \
		"$FIXTURES/pipeline/storm.jsonl" > "$BATS_TEST_TMPDIR/storm.jsonl"
	inbox_load "$BATS_TEST_TMPDIR/storm.jsonl"
	aurora-inbox replay --from 1 | aurora-normalize |
		aurora-correlate --db "$BATS_TEST_TMPDIR/replay.db" > "$BATS_TEST_TMPDIR/replay.jsonl"
	want=$(jq -sc '{incidents_a: map(select(.action == "created")) | length,
		joins_a: (map(select(.action == "attached")) | group_by(.correlation.strategy)
			| map({(.[0].correlation.strategy): length}) | add),
		alerts: map(select(.type == "decision")) | length}' "$BATS_TEST_TMPDIR/replay.jsonl")
	backtest --b threshold=1
	summary "$want"
	summary '{"deliveries": 8, "incidents_a": 3, "rejected": 0}'
}

@test "an incident B merges others into stays the one its first alert opened: the others' alerts move" {
	aurora_fresh_db
	aurora_schema
	# checkout at 10:00, then three search alerts from 10:20: B joins them by time alone
	inbox_load "$FIXTURES/backtest/merge.jsonl"
	backtest --b threshold=0.7 --b time-window=30m
	summary '{"deliveries": 4, "incidents_a": 2, "incidents_b": 1, "alerts_moved": 3, "split": 0, "merged": 1,
		"changes": 2, "joins_b": {"time_cluster": 1, "service_match": 2}}'
	jsonl_ok 'map(select(.type == "change"))
		| (.[0].a.incident == 1 and .[0].merged_with == [2] and .[0].moved == []
		   and .[0].b[0].alerts_of_a == 1 and .[0].b[0].alerts == 4)
		and (.[1].a.incident == 2 and .[1].merged_with == [1] and (.[1].moved | map(.inbox_id)) == [2, 3, 4]
		   and .[1].moved[0].b.strategy == "time_cluster")' <<<"$output"
}
