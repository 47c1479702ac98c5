#!/usr/bin/env bats
# aurora-incident: list, show, create, resolve, reopen, merge, postmortem, watch,
# over a real database filled by aurora-correlate (and sqlite3 where the
# investigation's tables are needed).

load helpers/common
load helpers/correlate

setup() {
	aurora_fresh_db
	# the schema: any command that opens the database read-write migrates it
	aurora-correlate </dev/null >/dev/null
	WATCH_PIDS=()
}

teardown() {
	stop_pids "${WATCH_PIDS[@]}"
}

# inbox_row ID PLATFORM BODY: an inbox row as aurora-recv stores it
inbox_row() {
	sqlite3 "$AURORA_DB" "INSERT INTO inbox(id, platform, received_at, received_ms, content_type, body, body_sha256)
		VALUES ($1, '$2', '2026-03-03T18:00:06.000Z', 1772560806000, 'application/json',
		CAST('$3' AS BLOB), lower(hex(randomblob(32))));"
}

# Two checkout alerts (one incident, #1) and one unrelated batch alert (#2).
two_incidents() {
	local f="$BATS_TEST_TMPDIR/alerts.jsonl"
	inbox_row 1 grafana '{"title":"CheckoutLatencyHigh","state":"alerting"}'
	{
		INBOX_ID=1 alert grafana g1 firing 2026-03-03T18:00:06.464Z checkout CheckoutLatencyHigh "p99 over 2 s" checkout-1
		SEVERITY=critical alert grafana g2 firing 2026-03-03T18:01:06.000Z checkout CheckoutErrorsHigh
		SEVERITY=low alert datadog d1 firing 2026-03-03T19:00:01.000Z batch "Disk almost full on batch-7"
	} >"$f"
	correlate "$f"
}

# Everything a transition could touch, to show that a refused one changed nothing.
snapshot() {
	sqlite3 "$AURORA_DB" "SELECT * FROM incidents ORDER BY id;
		SELECT * FROM events ORDER BY id;
		SELECT id, incident_id, status FROM alerts ORDER BY id;
		SELECT * FROM incident_alerts ORDER BY 1, 2;
		SELECT id, incident_id FROM incident_thoughts ORDER BY id;
		SELECT id, incident_id FROM incident_suggestions ORDER BY id;
		SELECT * FROM open_incident_services ORDER BY 1, 2;"
}

# new_incident TITLE [STATUS]: a manual incident, optionally forced into STATUS
new_incident() {
	local id
	id=$(aurora-incident create --title "$1" --service "svc-$1") || return 1
	[ -z "${2:-}" ] || sql "UPDATE incidents SET status = '$2' WHERE id = $id"
	echo "$id"
}

@test "--help prints the full usage on stdout and exits 0; --version prints the version" {
	run -0 --separate-stderr aurora-incident --help
	assert_output --partial "usage: aurora-incident [--db PATH] COMMAND"
	assert_output --partial "merge SRC --into DST"
	assert_output --partial "watch [--from EVENT_ID]"
	[ -z "$stderr" ]
	run -0 --separate-stderr aurora-incident show 3 -h
	assert_output --partial "postmortem ID [--regenerate]"
	run -0 --separate-stderr aurora-incident --version
	assert_output "aurora-incident 0.1.0"
}

@test "misuse prints a short usage on stderr and exits 2" {
	run -2 --separate-stderr aurora-incident
	[ -z "$output" ]
	[[ $stderr == *"no command given"* ]]
	[[ $stderr == *"usage: aurora-incident"* ]]
	run -2 --separate-stderr aurora-incident frobnicate
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
	run -2 --separate-stderr aurora-incident show
	[[ $stderr == *"show needs one ID"* ]]
	run -2 --separate-stderr aurora-incident show 1 2
	run -2 --separate-stderr aurora-incident show seven
	[[ $stderr == *"show wants an incident id: seven"* ]]
	run -2 --separate-stderr aurora-incident list --into 3
	[[ $stderr == *"list does not take --into"* ]]
	run -2 --separate-stderr aurora-incident create --service x
	[[ $stderr == *"create needs --title"* ]]
	run -2 --separate-stderr aurora-incident merge 1
	[[ $stderr == *"merge needs --into DST"* ]]
	run -2 --separate-stderr aurora-incident merge 1 --into x
	run -2 --separate-stderr aurora-incident list --limit -3
	run -2 --separate-stderr aurora-incident list --since yesterday
	[[ $stderr == *"--since wants RFC 3339 or a duration"* ]]
	run -2 --separate-stderr aurora-incident list --status open-ish
	[[ $stderr == *"--status: must be one of investigating, analyzed, resolved, merged, open"* ]]
	run -2 --separate-stderr aurora-incident watch --poll-ms 0
	run -2 --separate-stderr aurora-incident list --bogus
	[[ $stderr == *"--bogus"* ]]
}

@test "a database that does not exist is refused (78) and not created, except by create" {
	local db="$BATS_TEST_TMPDIR/nope.db"
	run -78 --separate-stderr aurora-incident --db "$db" list
	[[ $stderr == *"no database at $db"* ]]
	run -78 --separate-stderr aurora-incident resolve 1 --db "$db"
	[ ! -e "$db" ]
	run -0 --separate-stderr aurora-incident --db "$db" create --title first
	assert_output "1"
	[ -s "$db" ]
}

@test "create: a manual incident with defaults, its id on stdout, an incident.created event" {
	run -0 --separate-stderr aurora-incident create --title "Checkout is slow"
	assert_output "1"
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.id == 1 and .title == "Checkout is slow" and .status == "investigating"
		and .severity == "medium" and .service == "" and .source_type == "manual"
		and .rca_state == "idle" and .metadata == {} and .alerts == [] and .alert_count == 0
		and .resolved_at == null and .duration_ms == null' <<<"$output"
	json_ok '.events | length == 1 and .[0].event == "incident.created" and .[0].incident_id == 1
		and .[0].data.source_type == "manual" and .[0].data.incident.title == "Checkout is slow"' <<<"$output"
}

@test "create --json prints the object; every field of POST /api/incidents is kept" {
	run -0 --separate-stderr aurora-incident create --json --title "DB down" --service users-db \
		--severity critical --source-type grafana --metadata '{"team":"db","runbook":"https://wiki/db"}'
	json_ok '.v == 1 and .type == "incident" and .id == 1 and .title == "DB down"
		and .service == "users-db" and .severity == "critical" and .source_type == "grafana"
		and .metadata == {"team":"db","runbook":"https://wiki/db"}' <<<"$output"
	[ "$(sql 'SELECT metadata FROM incidents WHERE id = 1')" = '{"team":"db","runbook":"https://wiki/db"}' ]
}

@test "create: an invalid field exits 65, names the field, and creates nothing" {
	run -65 --separate-stderr aurora-incident create --title x --severity urgent
	[[ $stderr == *"severity: must be one of critical, high, medium, low, info (got 'urgent')"* ]]
	run -65 --separate-stderr aurora-incident create --title x --metadata '["a"]'
	[[ $stderr == *"alert_metadata: must be a JSON object"* ]]
	run -65 --separate-stderr aurora-incident create --title x --metadata '{"a":'
	[[ $stderr == *"alert_metadata"* ]]
	# what libjq would read and quietly change (NaN to null, 1e999 to 1.8e308, bad bytes to U+FFFD)
	run -65 --separate-stderr aurora-incident create --title x --metadata '{"cpu":{"load":[0.5,1e999]}}'
	[[ $stderr == *"alert_metadata.cpu.load[1]: NaN or a number out of range"* ]] || fail "$stderr"
	run -65 --separate-stderr aurora-incident create --title x --metadata '{"cpu":nan}'
	[[ $stderr == *"alert_metadata: --metadata is not strict JSON"* ]] || fail "$stderr"
	run -65 --separate-stderr aurora-incident create --title x --metadata $'{"team":"d\xffb"}'
	[[ $stderr == *"alert_metadata: --metadata is not strict JSON"* ]] || fail "$stderr"
	run -65 --separate-stderr aurora-incident create --title $'x\xff'
	[[ $stderr == *"alert_title: --title is not UTF-8"* ]] || fail "$stderr"
	run -65 --separate-stderr aurora-incident create --title x --service $'s\xc3'
	[[ $stderr == *"alert_service: --service is not UTF-8"* ]] || fail "$stderr"
	run -65 --separate-stderr aurora-incident create --title x --source-type 'Bad Type'
	[[ $stderr == *"source_type"* ]]
	run -65 --separate-stderr aurora-incident create --title ""
	[[ $stderr == *"alert_title: must not be empty"* ]]
	run -65 --separate-stderr aurora-incident create --title "$(head -c 1001 /dev/zero | tr '\0' x)"
	[[ $stderr == *"alert_title: longer than 1000 bytes"* ]]
	[ -z "$output" ]
	[ "$(sql 'SELECT count(*) FROM incidents')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM events')" = 0 ]
}

@test "list: a table for people, newest first; an empty database prints the header only" {
	run -0 --separate-stderr aurora-incident list
	assert_output --regexp '^ +ID +STATUS +SEVERITY +STARTED +ALERTS +SERVICE +TITLE$'
	two_incidents
	run -0 --separate-stderr aurora-incident list
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 1 --regexp '^ +2 +investigating +low +2026-03-03T19:00:01.000Z +1 +batch +Disk almost full on batch-7$'
	assert_line --index 2 --regexp '^ +1 +investigating +critical +2026-03-03T18:00:06.464Z +2 +checkout +CheckoutLatencyHigh$'
}

@test "list --json: one incident record per line" {
	two_incidents
	run -0 --separate-stderr aurora-incident --json list
	[ "${#lines[@]}" -eq 2 ]
	jsonl_ok 'map(.id) == [2, 1] and all(.[]; .v == 1 and .type == "incident"
		and (keys | sort) == (["v","type","id","title","status","severity","service","source_type",
			"source_link","started_at","updated_at","resolved_at","duration_ms","rca_state",
			"merged_into","previous_incident","alert_count"] | sort))
		and .[1].alert_count == 2 and .[1].source_link == "https://example.test/g1"' <<<"$output"
}

@test "list filters: --status (open too), --service, --since (relative and RFC 3339), --limit" {
	two_incidents
	aurora-incident create --title manual --service checkout >/dev/null
	aurora-incident resolve 2 >/dev/null
	aurora-incident create --title later >/dev/null
	aurora-incident merge 4 --into 3 >/dev/null
	ids() { jq -sc 'map(.id)' <<<"$output"; }
	run -0 --separate-stderr aurora-incident list --json --status resolved
	[ "$(ids)" = "[2]" ]
	run -0 --separate-stderr aurora-incident list --json --status merged
	[ "$(ids)" = "[4]" ]
	run -0 --separate-stderr aurora-incident list --json --status open
	[ "$(ids)" = "[3,1]" ]
	sql "UPDATE incidents SET status = 'analyzed' WHERE id = 1"
	run -0 --separate-stderr aurora-incident list --json --status analyzed
	[ "$(ids)" = "[1]" ]
	run -0 --separate-stderr aurora-incident list --json --status investigating
	[ "$(ids)" = "[3]" ]
	run -0 --separate-stderr aurora-incident list --json --service checkout
	[ "$(ids)" = "[3,1]" ]
	run -0 --separate-stderr aurora-incident list --json --service nothing
	[ -z "$output" ]
	run -0 --separate-stderr aurora-incident list --json --since 1h
	[ "$(ids)" = "[4,3]" ]
	run -0 --separate-stderr aurora-incident list --json --since 2026-03-03T18:30:00Z
	[ "$(ids)" = "[4,3,2]" ]
	run -0 --separate-stderr aurora-incident list --json --since 2026-03-03T19:30:00+01:00
	[ "$(ids)" = "[4,3,2]" ]
	run -0 --separate-stderr aurora-incident list --json --limit 2
	[ "$(ids)" = "[4,3]" ]
	run -0 --separate-stderr aurora-incident list --json --limit 0 --status open --service checkout --since 30d
	[ "$(ids)" = "[3]" ]
}

@test "show --json: one object with every documented field, root_cause null until set" {
	two_incidents
	run -0 --separate-stderr aurora-incident --db "$AURORA_DB" show 1 --json
	[ "${#lines[@]}" -eq 1 ]
	json_ok '(keys | sort) == (["v","type","id","title","status","severity","service","source_type",
		"source_link","started_at","updated_at","resolved_at","duration_ms","rca_state","summary",
		"root_cause","postmortem","merged_into","previous_incident","merged_from","metadata",
		"alert_count","event_count","alerts","events","thoughts","suggestions","acknowledged",
		"comments"] | sort)' <<<"$output"
	json_ok 'has("root_cause") and .root_cause == null and .summary == null and .postmortem == null
		and .acknowledged == null and .comments == []
		and .v == 1 and .type == "incident" and .severity == "critical" and .service == "checkout"
		and .source_type == "grafana" and .source_link == "https://example.test/g1"
		and .alert_count == 2 and (.alerts | length) == 2 and .event_count == (.events | length)' <<<"$output"
	sql "UPDATE incidents SET root_cause = 'Deploy v42 exhausted the users-db pool', summary = 'Checkout failing',
		status = 'analyzed', rca_state = 'complete' WHERE id = 1"
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.root_cause == "Deploy v42 exhausted the users-db pool" and .summary == "Checkout failing"
		and .status == "analyzed" and .rca_state == "complete"' <<<"$output"
}

@test "show --json: alerts carry the record, the raw delivery and how they joined; events the timeline" {
	two_incidents
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.alerts[0] | .source == "grafana" and .dedup_key == "g1" and .status == "firing"
		and .severity == "high" and .title == "CheckoutLatencyHigh" and .service == "checkout"
		and .host == "checkout-1" and .count == 1 and .first_inbox_id == 1 and .current_incident == 1
		and .link == "https://example.test/g1"
		and .record.type == "alert" and .record.dedup_key == "g1"
		and .raw.type == "raw" and .raw.id == 1 and .raw.platform == "grafana"
		and .raw.body == {"title":"CheckoutLatencyHigh","state":"alerting"}
		and .correlation.strategy == "none"' <<<"$output"
	json_ok '.alerts[1] | .dedup_key == "g2" and .raw == null and .first_inbox_id == null
		and .correlation.strategy == "service_match" and .correlation.score == 0.9
		and .correlation.matched_incident == 1 and (.correlation.reason | test("checkout"))' <<<"$output"
	json_ok '[.events[].event] == ["incident.created", "alert.attached"]
		and all(.events[]; .incident_id == 1 and (.id | type) == "number" and (.at | type) == "string")
		and .events[1].data.strategy == "service_match"' <<<"$output"
}

@test "show: an alert that opened its incident says so, even when a candidate it did not join scored under the threshold" {
	local f="$BATS_TEST_TMPDIR/alerts.jsonl"
	{
		SEVERITY=critical alert grafana g1 firing 2026-03-03T18:00:00.000Z checkout CheckoutLatencyHigh
		alert datadog d1 firing 2026-03-03T18:00:30.000Z backup "Disk almost full on backup host"
		alert datadog d2 firing 2026-03-03T18:00:40.000Z backup "Disk almost full on backup host, second volume"
	} >"$f"
	correlate "$f"
	# the second incident's opener had a time_cluster candidate (#1) it did not join
	run -0 jq -sc '[.[] | [.action, .incident_id, .correlation.strategy]]' "$BATS_TEST_TMPDIR/out.jsonl"
	assert_output '[["created",1,"none"],["created",2,"time_cluster"],["attached",2,"service_match"]]'
	run -0 --separate-stderr aurora-incident show 2
	assert_line --regexp '^      opened the incident: best candidate 1 scored'
	assert_line --partial 'joined by service_match'
	refute_line --partial 'joined by time_cluster'
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '[.alerts[].correlation.opened] == [true, false]' <<<"$output"
	run -0 --separate-stderr aurora-incident postmortem 2
	assert_output --partial '; opened the incident: best candidate 1'
	# shellcheck disable=SC2016
	refute_output --partial 'joined by `time_cluster`'
}

@test "show for people: fields, summary, root cause, timeline, alerts with joins, thoughts, suggestions" {
	two_incidents
	sql "UPDATE incidents SET root_cause = 'pool exhausted', summary = 'checkout failing' WHERE id = 1;
		INSERT INTO incident_thoughts(incident_id, at, text) VALUES (1, '2026-03-03T18:02:00.000Z', 'looked at deploys');
		INSERT INTO incident_suggestions(incident_id, at, kind, title, command, risk)
		VALUES (1, '2026-03-03T18:03:00.000Z', 'diagnostic', 'Check the pool', 'psql -c \"show pool\"', 'none');"
	run -0 --separate-stderr aurora-incident show 1
	assert_line "incident #1: CheckoutLatencyHigh"
	assert_line --regexp '^status +investigating \(rca idle\)$'
	assert_line --regexp '^link +https://example.test/g1$'
	assert_line "  checkout failing"
	assert_line "  pool exhausted"
	assert_line "timeline (2 events):"
	assert_line --partial "#1 alert.attached [critical] checkout: CheckoutLatencyHigh (alert #2 CheckoutErrorsHigh joined by service_match 0.90"
	assert_line "alerts (2):"
	assert_line --partial "joined by service_match (score 0.90, matched #1)"
	assert_line --partial 'delivery #1 from grafana at 2026-03-03T18:00:06.000Z: {"title":"CheckoutLatencyHigh"'
	assert_line --partial "[thought] looked at deploys"
	assert_line --partial "#1 [diagnostic, risk none] Check the pool"
	assert_line '      $ psql -c "show pool"'
}

@test "show: an unknown id exits 1 with a message" {
	run -1 --separate-stderr aurora-incident show 42
	[ -z "$output" ]
	[[ $stderr == *"no incident 42"* ]]
	run -1 --separate-stderr aurora-incident show 42 --json
	[ -z "$output" ]
}

@test "show: control characters from a webhook never reach the terminal" {
	printf '%s\n' "$(alert grafana esc firing 2026-03-03T18:00:00Z web $'evil\e[2J\x07title')" >"$BATS_TEST_TMPDIR/a.jsonl"
	correlate "$BATS_TEST_TMPDIR/a.jsonl"
	run -0 --separate-stderr aurora-incident show 1
	assert_line "incident #1: evil?[2J?title"
	run -0 --separate-stderr aurora-incident list
	refute_output --partial $'\e'
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.title == "evil\u001b[2J\u0007title"' <<<"$output"
}

@test "lifecycle, legal: resolve (from investigating and analyzed), reopen, each with its event" {
	local a b
	a=$(new_incident a)
	b=$(new_incident b analyzed)
	run -0 --separate-stderr aurora-incident resolve "$a" --reason "rolled back v42"
	assert_output "incident $a resolved"
	run -0 --separate-stderr aurora-incident show "$a" --json
	json_ok '.status == "resolved" and (.resolved_at | type) == "string" and .duration_ms >= 0
		and (.events[-1] | .event == "incident.status_changed" and .data.from == "investigating"
			and .data.to == "resolved" and .data.reason == "rolled back v42")' <<<"$output"
	run -0 --separate-stderr aurora-incident resolve "$b"
	run -0 --separate-stderr aurora-incident show "$b" --json
	json_ok '.status == "resolved" and (.events[-1].data | .from == "analyzed" and .to == "resolved"
		and .reason == "resolved by an operator")' <<<"$output"
	run -0 --separate-stderr aurora-incident reopen "$a"
	assert_output "incident $a reopened"
	run -0 --separate-stderr aurora-incident show "$a" --json
	json_ok '.status == "investigating" and .resolved_at == null and .duration_ms == null
		and (.events[-1].data | .from == "resolved" and .to == "investigating")
		and ([.events[].event] == ["incident.created", "incident.status_changed", "incident.status_changed"])' <<<"$output"
}

@test "lifecycle, legal: merge from investigating and from analyzed" {
	local a b c
	a=$(new_incident a)
	b=$(new_incident b analyzed)
	c=$(new_incident c)
	run -0 --separate-stderr aurora-incident merge "$a" --into "$c"
	assert_output "incident $a merged into $c"
	run -0 --separate-stderr aurora-incident merge "$b" --into "$c"
	[ "$(sql "SELECT group_concat(status || ':' || ifnull(merged_into, '-'), ' ') FROM incidents ORDER BY id")" = \
		"merged:$c merged:$c investigating:-" ]
	run -0 --separate-stderr aurora-incident show "$b" --json
	json_ok '.events[-1].data | .from == "analyzed" and .to == "merged" and .reason == "merged into incident 3"' <<<"$output"
}

@test "lifecycle, illegal: every refused move exits 65 and changes nothing, not even the events" {
	local inv ana res mer dst before
	inv=$(new_incident inv)
	ana=$(new_incident ana analyzed)
	res=$(new_incident res)
	aurora-incident resolve "$res" >/dev/null
	mer=$(new_incident mer)
	dst=$(new_incident dst)
	aurora-incident merge "$mer" --into "$dst" >/dev/null
	before=$(snapshot)
	run -65 --separate-stderr aurora-incident resolve "$res"
	[[ $stderr == *"incident $res is resolved: it cannot become resolved"* ]]
	run -65 --separate-stderr aurora-incident resolve "$mer"
	[[ $stderr == *"is merged: it cannot become resolved"* ]]
	run -65 --separate-stderr aurora-incident reopen "$inv"
	[[ $stderr == *"is investigating: it cannot become investigating"* ]]
	run -65 --separate-stderr aurora-incident reopen "$ana"
	[[ $stderr == *"is analyzed: it cannot become investigating"* ]]
	run -65 --separate-stderr aurora-incident reopen "$mer"
	run -65 --separate-stderr aurora-incident merge "$res" --into "$inv"
	[[ $stderr == *"only open incidents merge"* ]]
	run -65 --separate-stderr aurora-incident merge "$inv" --into "$res"
	run -65 --separate-stderr aurora-incident merge "$inv" --into "$mer"
	run -65 --separate-stderr aurora-incident merge "$mer" --into "$inv"
	run -65 --separate-stderr aurora-incident merge "$inv" --into "$inv"
	[[ $stderr == *"cannot merge incident $inv into itself"* ]]
	[ -z "$output" ]
	[ "$(snapshot)" = "$before" ]
}

@test "an unknown incident exits 1 for resolve, reopen and merge, and changes nothing" {
	local a before
	a=$(new_incident a)
	before=$(snapshot)
	run -1 --separate-stderr aurora-incident resolve 99
	[[ $stderr == *"no incident 99"* ]]
	run -1 --separate-stderr aurora-incident reopen 99
	run -1 --separate-stderr aurora-incident merge 99 --into "$a"
	run -1 --separate-stderr aurora-incident merge "$a" --into 99
	[[ $stderr == *"no incident 99"* ]]
	[ "$(snapshot)" = "$before" ]
}

@test "merge moves alerts, join records, thoughts and suggestions, with an event on both sides" {
	two_incidents
	sql "INSERT INTO incident_thoughts(incident_id, at, text) VALUES (2, '2026-03-03T19:01:00.000Z', 'disk grows 1%/h');
		INSERT INTO incident_suggestions(incident_id, at, kind, title, risk) VALUES (2, '2026-03-03T19:02:00.000Z', 'fix', 'Rotate logs', 'low');"
	run -0 --separate-stderr aurora-incident merge 2 --into 1
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '.status == "merged" and .merged_into == 1 and .alerts == [] and .alert_count == 0
		and .thoughts == [] and .suggestions == []
		and (.events[-1] | .event == "incident.status_changed" and .data.to == "merged")' <<<"$output"
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.status == "investigating" and .alert_count == 3 and .merged_from == [2] and .severity == "critical"
		and ([.alerts[].dedup_key] | sort) == ["d1", "g1", "g2"]
		and (.alerts[] | select(.dedup_key == "d1") | .current_incident == 1 and .correlation.strategy == "none")
		and [.thoughts[].text] == ["disk grows 1%/h"] and [.suggestions[].title] == ["Rotate logs"]
		and ([.events[] | select(.event == "incident.merged_in") | .data.from] == [2])
		and ([.events[] | select(.incident_id == 2) | .event] == ["incident.created", "incident.status_changed"])' <<<"$output"
	[ "$(sql 'SELECT count(*) FROM incident_alerts WHERE incident_id = 2')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM open_incident_services WHERE incident_id = 2')" = 0 ]
}

@test "a recurrence after resolution keeps the alert listed under the earlier incident" {
	local f="$BATS_TEST_TMPDIR/a.jsonl"
	{
		alert grafana r1 firing 2026-03-03T10:00:00.000Z api ApiDown
		alert grafana r1 resolved 2026-03-03T10:05:00.000Z api ApiDown
		alert grafana r1 firing 2026-03-03T12:00:00.000Z api ApiDown
	} >"$f"
	correlate "$f"
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '.previous_incident == 1 and .alert_count == 1 and .alerts[0].current_incident == 2' <<<"$output"
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.status == "resolved" and .alert_count == 1 and .alerts[0].dedup_key == "r1"
		and .alerts[0].current_incident == 2 and .duration_ms == 300000
		and (.events | map(.event) | index("alert.resolved") != null)' <<<"$output"
}

@test "an incident's alerts, show and postmortem count only what that incident saw, not a later recurrence" {
	local f="$BATS_TEST_TMPDIR/a.jsonl"
	{
		alert grafana r1 firing 2026-03-03T10:00:00.000Z api ApiDown
		alert grafana r1 firing 2026-03-03T10:01:00.000Z api ApiDown
		alert grafana r1 firing 2026-03-03T10:02:00.000Z api ApiDown
		alert grafana r1 resolved 2026-03-03T10:05:00.000Z api ApiDown
		alert grafana r1 firing 2026-03-03T12:00:00.000Z api ApiDown
		alert grafana r1 firing 2026-03-03T12:01:00.000Z api ApiDown
	} >"$f"
	correlate "$f" --quiet-period 0
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.status == "resolved" and (.alerts | length == 1) and .alerts[0].count == 4
		and .alerts[0].status == "resolved" and .alerts[0].last_seen == "2026-03-03T10:05:00.000Z"
		and .alerts[0].first_seen == "2026-03-03T10:00:00.000Z"' <<<"$output"
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '.status == "investigating" and .alerts[0].count == 2 and .alerts[0].status == "firing"
		and .alerts[0].first_seen == "2026-03-03T12:00:00.000Z"' <<<"$output"
	run -0 --separate-stderr aurora-incident postmortem 1
	assert_line "- **Alerts:** 1 distinct alert, 4 notifications in total"
	assert_output --partial "seen 4 times from 2026-03-03T10:00:00.000Z to 2026-03-03T10:05:00.000Z"
	run -0 --separate-stderr aurora-incident postmortem 2
	assert_line "- **Alerts:** 1 distinct alert, 2 notifications in total"
}

@test "postmortem: the sections, the timeline from the events, action items from the suggestions" {
	two_incidents
	sql "UPDATE incidents SET summary = 'Checkout failed for 20 minutes.', root_cause = 'Deploy v42 exhausted the users-db pool' WHERE id = 1;
		INSERT INTO incident_thoughts(incident_id, at, kind, text) VALUES (1, '2026-03-03T18:02:00.000Z', 'evidence', 'pool at 100/100 since 18:00');
		INSERT INTO incident_suggestions(incident_id, at, kind, title, command, risk, text)
		VALUES (1, '2026-03-03T18:03:00.000Z', 'fix', 'Roll back checkout to v41', 'kubectl rollout undo deploy/checkout', 'medium', 'v42 preceded the errors'),
		       (1, '2026-03-03T18:04:00.000Z', 'action', 'Alert on pool saturation', '', 'none', '');"
	aurora-incident resolve 1 --reason "rolled back" >/dev/null
	sql "SELECT '\`' || at || '\` **' || type || '**' FROM events WHERE incident_id = 1 ORDER BY id" >"$BATS_TEST_TMPDIR/events"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/events")" -eq 3 ]
	run -0 --separate-stderr aurora-incident postmortem 1
	assert_line "# Postmortem: incident #1, CheckoutLatencyHigh"
	for section in "## Summary" "## Impact" "## Timeline" "## Root cause" "### Investigation notes" "## Contributing alerts" "## Action items"; do
		assert_line "$section"
	done
	refute_output --partial "still open"
	assert_line "Checkout failed for 20 minutes."
	assert_line "Deploy v42 exhausted the users-db pool"
	assert_line --regexp '^- \*\*Duration:\*\* '
	assert_line "- **Alerts:** 2 distinct alerts, 2 notifications in total"
	assert_line "- **Services:** checkout"
	assert_line "- **Severity:** critical"
	# every event of the incident is in the timeline, in order
	# shellcheck disable=SC2016
	[ "$(grep -o '^- `[^`]*` \*\*[a-z._]*\*\*' <<<"$output" | cut -c3-)" = "$(cat "$BATS_TEST_TMPDIR/events")" ]
	assert_line --partial "(investigating -> resolved: rolled back)"
	assert_line --partial "(evidence) pool at 100/100 since 18:00"
	assert_line --partial "- **CheckoutErrorsHigh** from \`grafana\`, service \`checkout\`"
	assert_line --partial "joined by \`service_match\` (score 0.90)"
	assert_line "- [ ] **Roll back checkout to v41** (fix, risk medium): v42 preceded the errors"
	assert_line "  \`kubectl rollout undo deploy/checkout\`"
	assert_line "- [ ] **Alert on pool saturation** (action, risk none)"
}

@test "postmortem: stored and printed again, regenerated on request, one event per generation" {
	two_incidents
	local first
	run -0 --separate-stderr aurora-incident postmortem 2
	first=$output
	assert_line --partial "this incident is still open (status investigating)"
	assert_line "_No action items were suggested._"
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'postmortem.generated' AND incident_id = 2")" = 1 ]
	[ "$(sql 'SELECT postmortem FROM incidents WHERE id = 2')" = "$first" ]
	sql "INSERT INTO incident_suggestions(incident_id, at, kind, title, risk) VALUES (2, '2026-03-03T19:05:00.000Z', 'fix', 'Grow the volume', 'low')"
	run -0 --separate-stderr aurora-incident postmortem 2
	[ "$output" = "$first" ]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'postmortem.generated'")" = 1 ]
	run -0 --separate-stderr aurora-incident postmortem 2 --regenerate
	assert_line "- [ ] **Grow the volume** (fix, risk low)"
	# the first generation is now part of the timeline
	assert_line --partial "**postmortem.generated**"
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'postmortem.generated'")" = 2 ]
	[ "$(sql "SELECT json_extract(data, '\$.regenerated') FROM events WHERE type = 'postmortem.generated' ORDER BY id")" = "$(printf '0\n1')" ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 2')" = investigating ]
	run -0 --separate-stderr aurora-incident show 2 --json
	json_ok '(.postmortem | startswith("# Postmortem: incident #2"))' <<<"$output"
}

@test "postmortem: a merged incident says where it went; an unknown id exits 1" {
	two_incidents
	aurora-incident merge 2 --into 1 >/dev/null
	run -0 --separate-stderr aurora-incident postmortem 2
	assert_line --partial "this incident was merged into incident #1"
	assert_line "_No alerts joined this incident._"
	run -1 --separate-stderr aurora-incident postmortem 9
	[[ $stderr == *"no incident 9"* ]]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'postmortem.generated'")" = 1 ]
}

@test "watch prints events another process appends, within a second, and stops cleanly on SIGINT" {
	local out="$BATS_TEST_TMPDIR/watch.txt" js="$BATS_TEST_TMPDIR/watch.jsonl" start end status
	two_incidents
	aurora-incident watch >"$out" 2>"$BATS_TEST_TMPDIR/watch.err" &
	WATCH_PIDS+=($!)
	aurora-incident --db "$AURORA_DB" watch --json >"$js" &
	WATCH_PIDS+=($!)
	sleep 0.3
	start=$(date +%s%N)
	aurora-incident create --title "Payments 502" --service payments --severity high >/dev/null
	wait_lines "$out" 1
	wait_lines "$js" 1
	end=$(date +%s%N)
	[ $(((end - start) / 1000000)) -lt 1000 ]
	aurora-incident resolve 3 --reason "done" >/dev/null
	wait_lines "$out" 2
	wait_lines "$js" 2
	# it started after the newest event: the earlier ones are not printed
	[ "$(wc -l <"$out")" -eq 2 ]
	run -0 grep -cE '^20[0-9-]+T[0-9:.]+Z #3 incident.created \[high\] payments: Payments 502 \{"source_type":"manual"\}$' "$out"
	run -0 grep -c ' #3 incident.status_changed \[high\] payments: Payments 502 (investigating -> resolved: done)$' "$out"
	jsonl_ok 'length == 2 and all(.[]; .v == 1 and .type == "event" and .incident_id == 3
		and ((keys | sort) == (["v","type","id","at","event","incident_id","data"] | sort)))
		and map(.event) == ["incident.created", "incident.status_changed"]
		and .[1].data.reason == "done" and .[0].id + 1 == .[1].id' <"$js"
	kill -INT "${WATCH_PIDS[0]}"
	kill -TERM "${WATCH_PIDS[1]}"
	status=0
	wait "${WATCH_PIDS[0]}" || status=$?
	[ "$status" -eq 0 ]
	wait "${WATCH_PIDS[1]}" || status=$?
	[ "$status" -eq 0 ]
	WATCH_PIDS=()
	[ ! -s "$BATS_TEST_TMPDIR/watch.err" ]
}

@test "watch --from replays the log from an event id, then follows it" {
	local js="$BATS_TEST_TMPDIR/watch.jsonl"
	two_incidents
	aurora-incident watch --from 2 --json --poll-ms 50 >"$js" &
	WATCH_PIDS+=($!)
	wait_lines "$js" 2
	jsonl_ok 'map(.id) == [2, 3] and map(.event) == ["alert.attached", "incident.created"]' <"$js"
	aurora-incident merge 2 --into 1 >/dev/null
	wait_lines "$js" 4
	jsonl_ok 'map(.event)[2:] == ["incident.status_changed", "incident.merged_in"]
		and .[2].incident_id == 2 and .[3].incident_id == 1' <"$js"
}

@test "watch ends with 0 when the reader of its output goes away" {
	local codes
	two_incidents
	timeout 10 aurora-incident watch --from 1 --json | head -n 1 >"$BATS_TEST_TMPDIR/one.jsonl"
	codes="${PIPESTATUS[*]}"
	[ "$codes" = "0 0" ]
	json_ok '.id == 1 and .event == "incident.created"' <"$BATS_TEST_TMPDIR/one.jsonl"
}

@test "a file that is not an aurora database is refused (78) by every subcommand, create too" {
	not_aurora_files
	local f
	for f in other text; do
		run -78 --separate-stderr aurora-incident --db "$BATS_TEST_TMPDIR/$f.db" list
		[[ $stderr == *"$f.db is not an aurora database"* ]] || fail "stderr: $stderr"
		run -78 --separate-stderr aurora-incident --db "$BATS_TEST_TMPDIR/$f.db" create --title x
		[[ $stderr == *"$f.db is not an aurora database"* ]] || fail "stderr: $stderr"
		assert_output ""
	done
	not_aurora_untouched
}
