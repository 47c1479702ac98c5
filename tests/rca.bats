#!/usr/bin/env bats
# aurora-rca: investigations started from decisions, live thoughts, the end
# states (complete, error, cancelled), -j, the time limit, the rate limit,
# crash recovery, Jenkins gating, the resume mark.

load helpers/common
load helpers/correlate
load helpers/recv

setup() {
	aurora_fresh_db
	IN="$BATS_TEST_TMPDIR/alerts.jsonl"
	DEC="$BATS_TEST_TMPDIR/decisions.jsonl"
	: >"$IN"
	RCA_PIDS=()
}

teardown() {
	local p
	for p in "${RCA_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}

# build SOURCE JOB NUMBER RESULT TIME COMMIT: a finished build record, as aurora-normalize writes it
build() {
	jq -cn --arg source "$1" --arg job "$2" --argjson n "$3" --arg result "$4" --arg at "$5" --arg commit "$6" \
		--argjson inbox "${INBOX_ID:-0}" '
		{v: 1, type: "alert", source: $source, dedup_key: $job, fingerprint: ($job + ":" + ($n | tostring)),
		 status: (if $result == "SUCCESS" then "resolved" else "firing" end),
		 severity: (if $result == "SUCCESS" then "info" else "high" end),
		 title: "Build \($job) #\($n) \(if $result == "SUCCESS" then "succeeded" else "failed" end)",
		 description: null, service: $job, host: null, tags: {}, labels: {}, started_at: $at, ended_at: $at,
		 link: "https://jenkins.example.test/job/\($job)/\($n)/",
		 context: {job: $job, build_number: $n, result: $result, commit: $commit, branch: "origin/main",
			   console_url: "https://jenkins.example.test/job/\($job)/\($n)/console", culprits: ["dev1"],
			   log_tail: "Running tests\nERROR: test_totals failed\nFinished: \($result)"},
		 received_at: $at}
		+ (if $inbox > 0 then {inbox_id: $inbox} else {} end)'
}

# deploy_then_errors: a deploy of shipping, then shipping degrades in three tools
deploy_then_errors() {
	{
		INBOX_ID=1 build jenkins shipping-deploy 508 SUCCESS 2026-03-03T09:02:34Z 4793c8669191b0d662029d43e7aee5410f9b9894
		INBOX_ID=2 alert splunk s1 firing 2026-03-03T09:09:40Z shipping "Shipping 5xx spike"
		INBOX_ID=3 alert pagerduty p1 firing 2026-03-03T09:12:17Z "Shipping API" "shipping burning error budget fast"
		INBOX_ID=4 alert dynatrace d1 firing 2026-03-03T09:13:17Z shipping "Failure rate increase"
	} >>"$IN"
}

# services N [MINUTES]: N incidents of unrelated services, MINUTES (default 600) apart
services() {
	local i
	for i in $(seq 1 "$1"); do
		INBOX_ID=$i alert grafana "g$i" firing "$(date -u -d "@$((1772532000 + (i - 1) * ${2:-600} * 60))" +%FT%TZ)" \
			"svc$i" "svc$i latency high" "" "svc$i-host-1" >>"$IN"
	done
}

# wait_sql SQL WANT: until the query answers WANT (up to ~20 s)
wait_sql() {
	local i
	for i in $(seq 1 400); do
		[ "$(sqlite3 "$AURORA_DB" "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "'$1' never answered '$2' (last: $(sqlite3 "$AURORA_DB" "$1"))" >&2
	return 1
}

@test "--help, --version, misuse, and --investigator llm without a configuration (78)" {
	run -0 aurora-rca --help
	assert_output --partial "--investigator NAME"
	run -0 aurora-rca --version
	assert_output --regexp '^aurora-rca [0-9]+\.[0-9]+\.[0-9]+$'
	run -2 --separate-stderr aurora-rca -j 0
	[[ $stderr == *"usage: aurora-rca"* ]]
	run -2 --separate-stderr aurora-rca --rate 30
	[[ $stderr == *"--rate"* ]]
	run -2 --separate-stderr aurora-rca --investigator magic
	[[ $stderr == *"magic"* ]]
	run -2 --separate-stderr aurora-rca --sync always
	[[ $stderr == *"--sync: 'always' is not full or normal"* ]]
	run -78 --separate-stderr aurora-rca --investigator llm </dev/null
	[[ $stderr == *"no LLM configuration"* ]]
	[ -z "$output" ]
}

@test "a created incident goes idle -> running -> complete and analyzed: thoughts, suggestions, root cause, events" {
	deploy_then_errors
	decide
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = idle ]
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.jsonl"
	# records: thoughts first, then suggestions, then one analysis, all of incident 1
	jq -en '[inputs] | length >= 6 and all(.[]; .v == 1 and .incident_id == 1)
		and (map(.type) | unique) == ["analysis", "suggestion", "thought"]
		and .[-1].type == "analysis" and .[-1].status == "analyzed" and .[-1].rca_state == "complete"
		and .[-1].root_cause.kind == "deploy" and .[-1].root_cause.entity == "shipping-deploy #508"
		and (.[-1].root_cause.summary | test("4793c86"))
		and (.[-1].root_cause.confidence > 0.5 and .[-1].root_cause.confidence <= 1)
		and (.[-1].root_cause.evidence | length >= 1)' <"$BATS_TEST_TMPDIR/out.jsonl"
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
	# the lifecycle in the events log, in order
	run -0 sql "SELECT type FROM events WHERE incident_id = 1 AND type LIKE 'rca.%' ORDER BY id"
	assert_output "$(printf 'rca.started\nrca.completed')"
	[ "$(sql "SELECT min(id) < (SELECT min(id) FROM events WHERE type = 'thought.added') FROM events WHERE type = 'rca.started'")" = 1 ]
	[ "$(sql "SELECT max(id) < (SELECT id FROM events WHERE type = 'rca.completed') FROM events WHERE type IN ('thought.added', 'suggestion.added')")" = 1 ]
	# one event per thought and per suggestion
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'thought.added'")" = "$(sql 'SELECT count(*) FROM incident_thoughts')" ]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'suggestion.added'")" = "$(sql 'SELECT count(*) FROM incident_suggestions')" ]
	# the suggestions fit a deploy: git show of the commit, a rollback
	[ "$(sql "SELECT count(*) FROM incident_suggestions WHERE kind = 'diagnostic' AND command = 'git show 4793c8669191b0d662029d43e7aee5410f9b9894'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_suggestions WHERE kind = 'fix' AND title LIKE 'roll back shipping-deploy%'")" = 1 ]
	# show and the API see it all, the root cause as an object
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.root_cause.entity == "shipping-deploy #508" and .rca_state == "complete"
		and (.thoughts | length >= 4) and (.thoughts | map(.id) == (map(.id) | sort))
		and (.thoughts[0].text | test("^Gathered 3 alerts"))
		and (.suggestions | length >= 2)' <<<"$output"
	run -0 aurora-incident show 1
	assert_output --partial "kind deploy, entity shipping-deploy #508"
	# the resume mark moved past every delivery
	[ "$(sql "SELECT inbox_id FROM stage_marks WHERE stage = 'rca'")" = 4 ]
}

@test "--pass prints every decision read before the records it leads to, in one stream" {
	deploy_then_errors
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --pass <"$DEC"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.jsonl"
	# the four decisions as read, in order, the created one before its investigation's records
	jq -en --slurpfile dec "$DEC" '[inputs] as $all | ($all | map(select(.type == "decision"))) == $dec
		and ($all | map(.type) | index("decision")) == 0
		and ($all | map(select(.type == "analysis")) | length) == 1
		and ($all | map(.type) | index("thought")) > ($all | map(.type == "decision" and .action == "created") | index(true))' \
		<"$BATS_TEST_TMPDIR/out.jsonl"
}

@test "the postmortem carries the investigation's finding: its summary, kind, what it blames, confidence and evidence" {
	deploy_then_errors
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	aurora-incident resolve 1 --reason "rolled back" >/dev/null
	run -0 --separate-stderr aurora-incident postmortem 1
	summary=$(sql "SELECT json_extract(root_cause, '$.summary') FROM incidents WHERE id = 1")
	[ -n "$summary" ]
	assert_line "$summary"
	assert_line "- **Kind:** deploy"
	# shellcheck disable=SC2016 # the backquotes are Markdown
	assert_line '- **Blamed:** `shipping-deploy #508`'
	assert_line --regexp '^- \*\*Confidence:\*\* [0-9]+%$'
	assert_line "### Evidence"
	# each piece of evidence the investigation named, as a line of the list
	[ "$(sql "SELECT json_array_length(root_cause, '$.evidence') FROM incidents WHERE id = 1")" -ge 1 ]
	while IFS= read -r what; do
		assert_line --partial "- $what"
	done < <(sql "SELECT json_extract(value, '$.what') FROM incidents, json_each(json_extract(root_cause, '$.evidence')) WHERE id = 1")
	refute_output --partial "No root cause was recorded"
}

@test "every build is remembered: the deploy before the trouble is blamed though a later build of its job replaced its alert row" {
	deploy_then_errors
	INBOX_ID=5 build jenkins shipping-deploy 509 SUCCESS 2026-03-03T09:40:00Z 1111111111111111111111111111111111111111 >>"$IN"
	decide
	[ "$(sql "SELECT count(*) FROM alerts WHERE source = 'jenkins'")" = 1 ]
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -j 1 <"$DEC"
	run -0 sql "SELECT job || ' #' || number || ' ' || result FROM builds ORDER BY number"
	assert_output "$(printf 'shipping-deploy #508 SUCCESS\nshipping-deploy #509 SUCCESS')"
	aurora-incident show 1 --json | json_ok '.root_cause.entity == "shipping-deploy #508"'
}

@test "the same decisions again change nothing: no second investigation, no thought twice" {
	deploy_then_errors
	decide
	run -0 aurora-rca --db "$AURORA_DB" <"$DEC"
	[ -n "$output" ]
	local thoughts events
	thoughts=$(sql 'SELECT count(*) FROM incident_thoughts')
	events=$(sql 'SELECT count(*) FROM events')
	run -0 aurora-rca --db "$AURORA_DB" <"$DEC"
	[ -z "$output" ]
	[ "$(sql 'SELECT count(*) FROM incident_thoughts')" = "$thoughts" ]
	[ "$(sql 'SELECT count(*) FROM events')" = "$events" ]
}

@test "a replay into a fresh store says the same things and reaches the same answer (row ids aside)" {
	deploy_then_errors
	services 3 30
	decide
	run -0 aurora-rca --db "$AURORA_DB" -j 2 <"$DEC"
	jq -c 'del(.at, .id)' <<<"$output" | sort >"$BATS_TEST_TMPDIR/first"
	[ -s "$BATS_TEST_TMPDIR/first" ]
	aurora_fresh_db
	decide
	run -0 aurora-rca --db "$AURORA_DB" -j 2 <"$DEC"
	jq -c 'del(.at, .id)' <<<"$output" | sort >"$BATS_TEST_TMPDIR/second"
	cmp "$BATS_TEST_TMPDIR/first" "$BATS_TEST_TMPDIR/second"
}

@test "nothing points anywhere: no clear cause, kind unknown, low confidence" {
	INBOX_ID=1 alert grafana g1 firing 2026-03-03T10:00:00Z checkout "checkout latency high" >>"$IN"
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].root_cause.kind == "unknown"
		and .[-1].root_cause.entity == null and .[-1].root_cause.confidence < 0.5
		and (.[-1].root_cause.summary | test("^No clear cause"))' <<<"$output"
}

@test "-j 2 runs investigations side by side, -j 1 one after another; both wait for all at the end of input" {
	services 4
	decide
	AURORA_RCA_STEP_DELAY_MS=60 run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -j 2 <"$DEC"
	[ "$(sql "SELECT count(*) FROM incidents WHERE rca_state = 'complete'")" = 4 ]
	[ "$(jq -c 'select(.type == "analysis")' <<<"$output" | wc -l)" -eq 4 ]
	# side by side: the thoughts of two incidents interleave in the store
	run -0 sql "SELECT incident_id FROM incident_thoughts ORDER BY id"
	local changes
	changes=$(awk 'NR > 1 && $1 != prev { n++ } { prev = $1 } END { print n + 0 }' <<<"$output")
	[ "$changes" -gt 3 ]

	aurora_fresh_db
	decide
	AURORA_RCA_STEP_DELAY_MS=20 run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -j 1 <"$DEC"
	[ "$(sql "SELECT count(*) FROM incidents WHERE rca_state = 'complete'")" = 4 ]
	run -0 sql "SELECT incident_id FROM incident_thoughts ORDER BY id"
	changes=$(awk 'NR > 1 && $1 != prev { n++ } { prev = $1 } END { print n + 0 }' <<<"$output")
	[ "$changes" -eq 3 ]
}

@test "past --timeout the investigation is killed and the incident says so: rca_state error" {
	services 1
	decide
	AURORA_RCA_STEP_DELAY_MS=5000 run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --timeout 300ms <"$DEC"
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "investigating error" ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE kind = 'error' AND text LIKE '%time limit of 300 ms%'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'rca.failed'")" = 1 ]
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].rca_state == "error"' <<<"$output"
	[[ $stderr == *"time limit"* ]]
}

@test "over --rate (by the incidents' own clock) an incident is still there, with a thought saying why it was not investigated" {
	services 3 20
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --rate 2/1h <"$DEC"
	run -0 sql "SELECT id || ' ' || rca_state FROM incidents ORDER BY id"
	assert_output "$(printf '1 complete\n2 complete\n3 idle')"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = 3 AND kind = 'note' AND text LIKE 'Not investigated: the rate limit of 2 investigations per 3600 s%'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = 3")" = 1 ]
	# an hour of incident time later the limit has room again
	aurora_fresh_db
	: >"$IN"
	services 3 40
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --rate 2/1h <"$DEC"
	[ "$(sql "SELECT count(*) FROM incidents WHERE rca_state = 'complete'")" = 3 ]
}

@test "Jenkins incidents are investigated only while the connector's RCA switch is on" {
	INBOX_ID=1 build jenkins payments-build 77 FAILURE 2026-03-03T10:00:00Z abc1234 >>"$IN"
	# off (the default): logged by aurora-correlate, no incident, nothing to investigate
	decide
	run -0 aurora-rca --db "$AURORA_DB" <"$DEC"
	[ -z "$output" ]
	[ "$(sql 'SELECT count(*) FROM incidents')" = 0 ]
	# on: an incident, investigated
	aurora_fresh_db
	run -0 aurora-connector rca jenkins on
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = complete ]
	# the failed build is what broke, its log's failing line says how
	jq -en '[inputs] | .[-1].root_cause | .kind == "build" and .entity == "payments-build #77"
		and (.summary | test("ERROR: test_totals failed"))' <<<"$output"
	# switched off between the incident and its investigation: a thought says why not
	aurora_fresh_db
	run -0 aurora-connector rca jenkins on
	decide
	run -0 aurora-connector rca jenkins off
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = idle ]
	[ "$(sql "SELECT text FROM incident_thoughts WHERE incident_id = 1")" = "Not investigated: RCA is off for jenkins (aurora-connector rca jenkins on turns it on)" ]
}

@test "a thought reaches aurora-incident watch while the investigation is still running" {
	local js="$BATS_TEST_TMPDIR/watch.jsonl"
	services 1
	decide
	aurora-incident watch --json --poll-ms 20 >"$js" 3>&- &
	RCA_PIDS+=($!)
	AURORA_RCA_STEP_DELAY_MS=400 aurora-rca --db "$AURORA_DB" <"$DEC" >"$BATS_TEST_TMPDIR/rca.out" 3>&- &
	RCA_PIDS+=($!)
	local i
	for i in $(seq 1 400); do
		grep -q '"event":"thought.added"' "$js" && break
		sleep 0.02
	done
	grep -q '"event":"thought.added"' "$js"
	# seen while the investigation runs: not complete yet
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = running ]
	wait "${RCA_PIDS[1]}"
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = complete ]
	for i in $(seq 1 200); do
		grep -q '"event":"rca.completed"' "$js" && break
		sleep 0.02
	done
	jq -en '[inputs] | map(.event) | index("thought.added") < index("rca.completed")' <"$js"
}

@test "the SSE stream carries a thought while the investigation runs; GET /api/incidents/{id} has the root cause object" {
	local sse="$BATS_TEST_TMPDIR/sse.txt" i
	deploy_then_errors
	decide
	recv_start --no-auth --db "$AURORA_DB"
	RCA_PIDS+=("$RECV_PID")
	# named events (?named=1): the format aurora-recv(1) keeps for tools
	curl -sN --max-time 60 "$RECV_URL/api/incidents/stream?named=1" >"$sse" 3>&- &
	RCA_PIDS+=($!)
	AURORA_RCA_STEP_DELAY_MS=400 aurora-rca --db "$AURORA_DB" <"$DEC" >/dev/null 3>&- &
	local rca=$!
	RCA_PIDS+=("$rca")
	for i in $(seq 1 400); do
		grep -q 'thought.added' "$sse" && break
		sleep 0.02
	done
	grep -q '^event: thought.added' "$sse"
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = running ]
	wait "$rca"
	run -0 curl -s --max-time 5 "$RECV_URL/api/incidents/1"
	json_ok '.rca_state == "complete" and .status == "analyzed"
		and .root_cause.entity == "shipping-deploy #508" and .root_cause.kind == "deploy"
		and (.thoughts | length >= 4) and (.suggestions | length >= 2)' <<<"$output"
}

@test "the default stream (no ?named) gives a page's onmessage incident_update of kind thought_added and rca_completed" {
	local sse="$BATS_TEST_TMPDIR/sse.txt" i
	deploy_then_errors
	decide
	recv_start --no-auth --db "$AURORA_DB"
	RCA_PIDS+=("$RECV_PID")
	curl -sN --max-time 60 "$RECV_URL/api/incidents/stream" >"$sse" 3>&- &
	RCA_PIDS+=($!)
	for i in $(seq 1 100); do
		grep -q '^: events after' "$sse" && break
		sleep 0.02
	done
	aurora-rca --db "$AURORA_DB" <"$DEC" >/dev/null 3>&-
	for i in $(seq 1 400); do
		grep -q '"kind":"rca_completed"' "$sse" && break
		sleep 0.02
	done
	run -1 grep -c '^event:' "$sse"
	run -0 sed -n 's/^data: //p' "$sse"
	jq -en '[inputs] | all(.type == "incident_update")
		and (map(select(.kind == "thought_added")) | length >= 1 and all(.event == "thought.added" and .incident_id == 1))
		and (map(select(.kind == "suggestion_added")) | length >= 1)
		and (map(select(.kind == "rca_completed")) | length == 1)' <<<"$output"
}

@test "a crash (kill -9 of parent and child) leaves it running; the next start restarts it without a thought twice" {
	deploy_then_errors
	decide
	AURORA_RCA_STEP_DELAY_MS=300 aurora-rca --db "$AURORA_DB" <"$DEC" >/dev/null 2>&1 3>&- &
	local parent=$! child
	RCA_PIDS+=("$parent")
	wait_sql "SELECT count(*) >= 2 FROM incident_thoughts" 1
	child=$(pgrep -P "$parent")
	[ -n "$child" ]
	RCA_PIDS+=("$child")
	kill -9 "$parent" "$child"
	wait "$parent" || true
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = running ]
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" </dev/null
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'rca.restarted'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE kind = 'note' AND text LIKE 'Investigation restarted: %(restart 1 of 2)'")" = 1 ]
	[ "$(sql 'SELECT count(*) - count(DISTINCT text) FROM incident_thoughts')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM incident_thoughts')" -ge 4 ]
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].rca_state == "complete"' <<<"$output"
}

@test "one left running after two restarts is failed visibly instead of restarted again" {
	deploy_then_errors
	decide
	sql "UPDATE incidents SET rca_state = 'running'"
	sql "INSERT INTO events (at, type, incident_id) VALUES ('x', 'rca.restarted', 1), ('x', 'rca.restarted', 1)"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" </dev/null
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = error ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE kind = 'error' AND text LIKE '%restarted twice%'")" = 1 ]
	jq -en '[inputs] | .[0].type == "analysis" and .[0].rca_state == "error"' <<<"$output"
}

@test "merged during the investigation: it stops, and the surviving incident gets its findings and a thought" {
	services 1
	decide
	run -0 aurora-incident create --title "the bigger one" --service other
	AURORA_RCA_STEP_DELAY_MS=300 aurora-rca --db "$AURORA_DB" <"$DEC" >"$BATS_TEST_TMPDIR/rca.out" 2>&1 3>&- &
	local pid=$!
	RCA_PIDS+=("$pid")
	wait_sql "SELECT count(*) >= 1 FROM incident_thoughts WHERE incident_id = 1" 1
	run -0 aurora-incident merge 1 --into 2
	wait "$pid"
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "merged error" ]
	[ "$(sql "SELECT count(*) FROM events WHERE incident_id = 1 AND type = 'rca.cancelled'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = 2 AND kind = 'note' AND text LIKE 'The investigation of incident #1 stopped: it was merged into #2%'")" = 1 ]
	# what it found before the merge went with the merge; nothing after it went to #1
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = 2 AND kind = 'thought'")" -ge 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = 1 AND kind = 'thought'")" = 0 ]
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 2')" = idle ]
}

@test "a later alert joining a complete investigation adds a thought and leaves the conclusion alone" {
	deploy_then_errors
	decide
	run -0 aurora-rca --db "$AURORA_DB" <"$DEC"
	local rc_before
	rc_before=$(sql 'SELECT root_cause FROM incidents WHERE id = 1')
	: >"$IN"
	INBOX_ID=5 alert grafana g9 firing 2026-03-03T09:20:00Z shipping "shipping p99 above 3s" >>"$IN"
	decide
	json_ok '.action == "attached" and .incident_id == 1' <"$DEC"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	json_ok '.type == "thought" and .kind == "note" and (.text | test("^A later alert joined after the conclusion: grafana"))' <<<"$output"
	[ "$(sql 'SELECT root_cause FROM incidents WHERE id = 1')" = "$rc_before" ]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'rca.completed'")" = 1 ]
	# the alerts after it are not noted one by one: a storm would bury the investigation
	: >"$IN"
	INBOX_ID=6 alert grafana g10 firing 2026-03-03T09:21:00Z shipping "shipping p99 above 4s" >>"$IN"
	INBOX_ID=7 alert grafana g11 firing 2026-03-03T09:22:00Z shipping "shipping p99 above 5s" >>"$IN"
	decide
	[ "$(jq -c 'select(.action == "attached" and .incident_id == 1)' "$DEC" | wc -l)" = 2 ]
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(jq -c 'select(.type == "thought")' <<<"$output" | wc -l)" = 0 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = 1 AND text LIKE 'A later alert joined%'")" = 1 ]
}

@test "lines that are not decisions are rejected: exit 1, 65 under --strict" {
	printf '%s\n' '{"v":1,"type":"alert"}' 'not json' >"$DEC"
	run -1 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[[ $stderr == *"line 1: not a decision record"* ]]
	[[ $stderr == *"2 records rejected"* ]]
	run -65 --separate-stderr aurora-rca --db "$AURORA_DB" --strict <"$DEC"
	[ -z "$output" ]
}

@test "it stops with 0 when the reader of its output goes away, also while its input is idle" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	# a writer holds the fifo open: only the reader leaving can end aurora-rca
	sleep 60 >"$BATS_TEST_TMPDIR/in" 3>&- &
	RCA_PIDS+=($!)
	# shellcheck disable=SC2016 # expanded by the inner bash
	run -0 bash -c 'aurora-rca --db "$AURORA_DB" <"$1" | true; echo "status ${PIPESTATUS[0]}"' _ "$BATS_TEST_TMPDIR/in"
	assert_output "status 0"
	# it did start: its first run gave the stage its resume point
	[ "$(sql "SELECT count(*) FROM stage_marks WHERE stage = 'rca'")" = 1 ]
}
