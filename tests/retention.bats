#!/usr/bin/env bats
# Retention: aurora-inbox prune and aurora-incident prune, what they delete
# and what they keep, the retention settings, pruning while the receiver and
# the pipeline run, and the nightly replay example (examples/*.cron).

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/recv

DAY=86400000

setup() {
	aurora_fresh_db
	PIDS=()
	PIPE_PID=
	RECV_PID=
	run -0 aurora-connector list
}

teardown() {
	if [ -n "${PIPE_PID:-}" ]; then
		pkill -TERM -P "$PIPE_PID" 2>/dev/null || true
		wait "$PIPE_PID" 2>/dev/null || true
	fi
	recv_teardown
}

# old_rows N DAYS: N inbox rows received DAYS days ago, in one transaction
old_rows() {
	sql "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $1)
		INSERT INTO inbox(platform, received_at, received_ms, body, body_sha256)
		SELECT 'grafana', 'x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - $2 * $DAY + i,
			CAST(json_object('n', i) AS BLOB), lower(hex(randomblob(16))) FROM k"
}

# incident ID STATUS RESOLVED_DAYS_AGO: an incident row (resolved_at that long ago, or NULL with -)
incident() {
	local at="NULL"
	[ "$3" = - ] || at="strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-$3 days')"
	sql "INSERT INTO incidents(id, title, status, started_at, started_ms, last_activity_ms, updated_at, resolved_at)
		VALUES ($1, 'incident $1', '$2', 'x', 0, 0, coalesce($at, 'x'), $at)"
}

# alert_row ID INCIDENT|NULL FIRST_INBOX LAST_INBOX [LAST_SEEN_DAYS_AGO]
alert_row() {
	local seen=$((${5:-0} * DAY))
	sql "INSERT INTO alerts(id, source, dedup_key, status, record, first_seen, first_seen_ms, last_seen,
			last_seen_ms, first_inbox_id, last_inbox_id, incident_id)
		VALUES ($1, 'grafana', 'k$1', 'firing', '{}', 'x', 0, 'x',
			CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - $seen, $3, $4, $2)"
}

# link INCIDENT ALERT INBOX: an incident_alerts row
link() {
	sql "INSERT INTO incident_alerts(incident_id, alert_id, strategy, score, inbox_id, joined_at)
		VALUES ($1, $2, 'service_match', 1, $3, 'x')"
}

# no_orphans: nothing refers to a row that is gone
no_orphans() {
	local n
	n=$(sql "SELECT
		(SELECT count(*) FROM alerts WHERE incident_id IS NOT NULL AND incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM incident_alerts WHERE incident_id NOT IN (SELECT id FROM incidents)
			OR alert_id NOT IN (SELECT id FROM alerts))
		+ (SELECT count(*) FROM events WHERE incident_id IS NOT NULL AND incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM incident_thoughts WHERE incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM incident_suggestions WHERE incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM incident_comments WHERE incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM open_incident_services WHERE incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM open_incident_terms WHERE incident_id NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM incidents WHERE previous_incident NOT IN (SELECT id FROM incidents)
			OR merged_into NOT IN (SELECT id FROM incidents))
		+ (SELECT count(*) FROM heartbeats WHERE silent_incident NOT IN (SELECT id FROM incidents))")
	[ "$n" = 0 ] || fail "$n rows refer to rows that are gone"
	[ -z "$(sql 'PRAGMA foreign_key_check')" ] || fail "foreign_key_check: $(sql 'PRAGMA foreign_key_check')"
}

# the inbox fixture of the first tests: ids 1-10 forty days old, 11-12 new;
# correlate has read up to 8; an open incident's alerts came from 3, 4 and
# 5; a resolved one's from 6
inbox_fixture() {
	old_rows 10 40
	old_rows 2 0
	sql "UPDATE stage_marks SET inbox_id = 8 WHERE stage = 'correlate'"
	incident 1 investigating -
	incident 2 resolved 1
	alert_row 1 1 3 4
	alert_row 2 1 NULL NULL
	link 1 2 5
	alert_row 3 2 6 6
	# alerts of no incident: one last seen 40 days ago, one today
	alert_row 4 NULL NULL NULL 40
	alert_row 5 NULL NULL NULL 0
	# builds: job a's 1 and 2 are old (2 is its newest: kept), job b's 7 is new
	sql "INSERT INTO builds(source, job, number, at_ms, record) VALUES
		('jenkins', 'a', 1, 0, '{}'), ('jenkins', 'a', 2, 1, '{}'),
		('jenkins', 'b', 7, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), '{}')"
	# events of no incident: one old, one new; one of the open incident, old
	sql "INSERT INTO events(at, type, incident_id, data) VALUES
		(strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-40 days'), 'delivery.test', NULL, '{}'),
		(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'delivery.test', NULL, '{}'),
		(strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-40 days'), 'incident.created', 1, '{}')"
}

@test "prune deletes old deliveries read by every stage, and keeps an open incident's, the unread and the newest" {
	inbox_fixture
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --json
	[ -n "$output" ]
	json_ok '.v == 1 and .type == "prune" and .table == "inbox" and .older_than == "30d"
		and .dry_run == false and .deleted == {"inbox": 5, "alerts": 1, "builds": 1, "events": 1, "quarantine": 0}
		and .kept == {"open_incident": 3, "unread": 2} and .slowest_stage == "correlate" and .mark == 8' <<<"$output"
	# 1, 2, 6 (a resolved incident's), 7 and 8 are gone; 3-5 an open incident's, 9-10 unread
	[ "$(sql 'SELECT group_concat(id) FROM inbox')" = 3,4,5,9,10,11,12 ] || fail "inbox: $(sql 'SELECT group_concat(id) FROM inbox')"
	[ "$(sql 'SELECT group_concat(id) FROM (SELECT id FROM alerts ORDER BY id)')" = 1,2,3,5 ]
	[ "$(sql "SELECT group_concat(j) FROM (SELECT job || number AS j FROM builds ORDER BY id)")" = a2,b7 ]
	[ "$(sql 'SELECT count(*) FROM events WHERE incident_id IS NULL')" = 1 ]
	[ "$(sql 'SELECT count(*) FROM events WHERE incident_id = 1')" = 1 ]
	# the warning names the stage that holds the unread ones
	[[ "$stderr" == *"stage correlate has not read past inbox id 8"* ]] || fail "stderr: $stderr"
}

@test "a stage behind the others holds the inbox at its mark; a second prune deletes nothing more" {
	old_rows 10 40
	sql "UPDATE stage_marks SET inbox_id = 10 WHERE stage = 'correlate';
		INSERT INTO stage_marks(stage, inbox_id, updated_ms) VALUES ('rca', 4, 0)"
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --json
	json_ok '.deleted.inbox == 4 and .kept.unread == 5 and .slowest_stage == "rca" and .mark == 4' <<<"$output"
	[ "$(sql 'SELECT group_concat(id) FROM inbox')" = 5,6,7,8,9,10 ]
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --json
	json_ok '.deleted.inbox == 0' <<<"$output"
	[ "$(sql 'SELECT count(*) FROM inbox')" = 6 ]
}

@test "the newest delivery stays, so the next one gets a higher id than any stage mark" {
	old_rows 5 40
	sql "UPDATE stage_marks SET inbox_id = 5 WHERE stage = 'correlate'"
	run -0 --separate-stderr aurora-inbox prune --older-than 1h --json
	json_ok '.deleted.inbox == 4' <<<"$output"
	[ "$(sql 'SELECT group_concat(id) FROM inbox')" = 5 ]
	recv_start --db "$AURORA_DB"
	new_token grafana
	post grafana "$(body 1)" -H "Authorization: Bearer $TOKEN"
	[ "$output" = 202 ]
	[ "$(sql 'SELECT max(id) FROM inbox')" = 6 ]
}

@test "prune --dry-run counts what prune would delete and changes nothing" {
	inbox_fixture
	before=$(sql 'SELECT (SELECT group_concat(id) FROM inbox), (SELECT count(*) FROM alerts),
		(SELECT count(*) FROM builds), (SELECT count(*) FROM events)')
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --dry-run --json
	[ -n "$output" ]
	json_ok '.dry_run == true and .batches == 0
		and .deleted == {"inbox": 5, "alerts": 1, "builds": 1, "events": 1, "quarantine": 0}
		and .kept == {"open_incident": 3, "unread": 2}' <<<"$output"
	[ "$(sql 'SELECT (SELECT group_concat(id) FROM inbox), (SELECT count(*) FROM alerts),
		(SELECT count(*) FROM builds), (SELECT count(*) FROM events)')" = "$before" ]
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --dry-run
	[[ "$output" == "would prune 5 deliveries received before "*"(older than 30d)"* ]] || fail "$output"
	# and the real one deletes what the dry run counted
	run -0 --separate-stderr aurora-inbox prune --older-than 30d
	[[ "$output" == "pruned 5 deliveries received before "* ]] || fail "$output"
	[ "$(sql 'SELECT count(*) FROM inbox')" = 7 ]
}

@test "small batches: each is its own transaction, and the result is the same" {
	old_rows 1000 40
	sql "UPDATE stage_marks SET inbox_id = 1000 WHERE stage = 'correlate'"
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --batch 100 --pause-ms 0 --json
	# 999 deleted (the newest stays) in 10 inbox transactions, plus one each for alerts, builds,
	# events and the quarantine
	json_ok '.deleted.inbox == 999 and .batches == 14' <<<"$output"
	[ "$(sql 'SELECT count(*) FROM inbox')" = 1 ]
	run -2 --separate-stderr aurora-inbox prune --batch 0
	run -2 --separate-stderr aurora-inbox prune --pause-ms soon
}

@test "the quarantine is pruned by age too" {
	old_rows 3 40
	sql "UPDATE stage_marks SET inbox_id = 3 WHERE stage = 'correlate';
		INSERT INTO quarantine (platform, received_at, received_ms, body, reason) VALUES
			('grafana', 'then', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 40 * $DAY, 'a', 'x'),
			('grafana', 'then', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 39 * $DAY, 'b', 'x'),
			('grafana', 'now', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'c', 'x')"
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --json
	json_ok '.deleted.quarantine == 2 and .deleted.inbox == 2' <<<"$output"
	[ "$(sql 'SELECT group_concat(body) FROM quarantine')" = c ]
}

@test "retention settings: defaults, set, shown, used by prune without an age, never, refused values" {
	run -0 --separate-stderr aurora-inbox retention
	[ "$output" = 30d ]
	run -0 --separate-stderr aurora-incident retention
	[ "$output" = 90d ]
	run -0 --separate-stderr aurora-inbox retention 45d
	[ "$output" = 45d ]
	run -0 --separate-stderr aurora-inbox retention --json
	json_ok '.v == 1 and .type == "retention" and .table == "inbox" and .retention == "45d"' <<<"$output"
	[ "$(sql "SELECT value FROM settings WHERE key = 'retention.inbox'")" = 45d ]

	old_rows 3 40
	old_rows 3 50
	sql "UPDATE stage_marks SET inbox_id = 6 WHERE stage = 'correlate'"
	# 45d: only the 50-day-old rows (ids 4-5; 6 is the newest)
	run -0 --separate-stderr aurora-inbox prune --json
	json_ok '.older_than == "45d" and .deleted.inbox == 2' <<<"$output"
	run -0 --separate-stderr aurora-inbox retention never
	[ "$output" = never ]
	run -0 --separate-stderr aurora-inbox prune --json
	[ -z "$output" ]
	[ "$(sql 'SELECT count(*) FROM inbox')" = 4 ]
	# an explicit age still works under never
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --json
	json_ok '.deleted.inbox == 3' <<<"$output"

	run -2 --separate-stderr aurora-inbox retention 30m
	[[ "$stderr" == *"an hour or more"* ]]
	run -2 --separate-stderr aurora-inbox retention soon
	run -2 --separate-stderr aurora-inbox prune --older-than 10m
	run -2 --separate-stderr aurora-incident retention 0d
	run -0 --separate-stderr aurora-incident retention 120d
	[ "$(sql "SELECT value FROM settings WHERE key = 'retention.incidents'")" = 120d ]
	run -0 --separate-stderr aurora-inbox retention default
	[ "$output" = 30d ]
	[ "$(sql "SELECT count(*) FROM settings WHERE key = 'retention.inbox'")" = 0 ]
	# a value set by hand that is not one: 65, nothing pruned
	sql "INSERT INTO settings(key, value) VALUES ('retention.inbox', 'a while')"
	run -65 --separate-stderr aurora-inbox prune
	[[ "$stderr" == *"retention.inbox is 'a while'"* ]]
	run -78 --separate-stderr aurora-inbox --db "$BATS_TEST_TMPDIR/none.db" prune
	[ ! -e "$BATS_TEST_TMPDIR/none.db" ]
}

# the incident fixture:
#   1 resolved 100 days ago, with two alerts, events, a thought, a suggestion, a comment: goes
#   2 resolved 100 days ago, the previous incident of open 3: stays
#   3 open
#   4 resolved 10 days ago: stays
#   5 merged 100 days ago into 1: goes
#   6 merged 100 days ago into open 3: stays
#   7 resolved 100 days ago, the incident of a heartbeat still silent: stays
#   8 resolved 100 days ago, the previous incident of 4 (kept): goes, 4 forgets it
#   alert 12 belongs to 1 but joined 4 too: stays, without an incident
incident_fixture() {
	incident 1 resolved 100
	incident 2 resolved 100
	incident 3 investigating -
	incident 4 resolved 10
	incident 5 merged 100
	incident 6 merged 100
	incident 7 resolved 100
	incident 8 resolved 100
	sql "UPDATE incidents SET previous_incident = 2 WHERE id = 3;
		UPDATE incidents SET merged_into = 1 WHERE id = 5;
		UPDATE incidents SET merged_into = 3 WHERE id = 6;
		UPDATE incidents SET previous_incident = 8 WHERE id = 4;
		INSERT INTO heartbeats(source, dedup_key, last_seen_ms, silent_incident) VALUES ('grafana', 'hb', 0, 7)"
	alert_row 11 1 NULL NULL
	alert_row 12 1 NULL NULL
	alert_row 13 3 NULL NULL
	alert_row 14 4 NULL NULL
	link 1 11 NULL
	link 1 12 NULL
	link 4 12 NULL
	link 3 13 NULL
	link 4 14 NULL
	sql "INSERT INTO events(at, type, incident_id) VALUES ('x', 'incident.created', 1), ('x', 'alert.attached', 1),
			('x', 'incident.created', 3), ('x', 'incident.created', 5);
		INSERT INTO incident_thoughts(incident_id, at, text) VALUES (1, 'x', 'thinking'), (3, 'x', 'open');
		INSERT INTO incident_suggestions(incident_id, at, title) VALUES (1, 'x', 'restart it');
		INSERT INTO incident_comments(incident_id, at, author, text) VALUES (1, 'x', 'ann', 'done'), (3, 'x', 'bob', 'on it')"
}

@test "incident prune deletes long-resolved incidents with everything that belongs to them, and nothing is left dangling" {
	incident_fixture
	run -0 --separate-stderr aurora-incident prune --resolved-before 90d --json
	[ -n "$output" ]
	json_ok '.v == 1 and .type == "prune" and .table == "incidents" and .resolved_before == "90d"
		and .deleted == {"incidents": 3, "alerts": 1, "incident_alerts": 2, "events": 3, "thoughts": 1,
			"suggestions": 1, "comments": 1}
		and .kept.referenced == 2 and .unlinked == 2' <<<"$output"
	[ "$(sql 'SELECT group_concat(id) FROM (SELECT id FROM incidents ORDER BY id)')" = 2,3,4,6,7 ]
	[ "$(sql 'SELECT group_concat(id) FROM (SELECT id FROM alerts ORDER BY id)')" = 12,13,14 ]
	[ "$(sql 'SELECT incident_id IS NULL FROM alerts WHERE id = 12')" = 1 ]
	[ "$(sql 'SELECT group_concat(x) FROM (SELECT incident_id || ":" || alert_id AS x FROM incident_alerts ORDER BY 1)')" = 3:13,4:12,4:14 ]
	[ "$(sql 'SELECT previous_incident IS NULL FROM incidents WHERE id = 4')" = 1 ]
	[ "$(sql 'SELECT previous_incident FROM incidents WHERE id = 3')" = 2 ]
	[ "$(sql 'SELECT count(*) FROM incident_comments WHERE incident_id = 3')" = 1 ]
	no_orphans
	# what is left is what it was: show works on every kept incident
	for id in 2 3 4 6 7; do
		run -0 --separate-stderr aurora-incident show "$id" --json
		json_ok '.id == $id' --argjson id "$id" <<<"$output"
	done
}

@test "incident prune --dry-run counts the same and changes nothing; the setting is its default age" {
	incident_fixture
	before=$(sql .dump | md5sum)
	run -0 --separate-stderr aurora-incident prune --dry-run --json
	json_ok '.dry_run == true and .resolved_before == "90d" and .deleted.incidents == 3
		and .deleted.alerts == 1 and .deleted.incident_alerts == 2 and .deleted.events == 3
		and .deleted.comments == 1' <<<"$output"
	[ "$(sql .dump | md5sum)" = "$before" ]
	run -0 --separate-stderr aurora-incident retention 120d
	run -0 --separate-stderr aurora-incident prune --json
	json_ok '.deleted.incidents == 0' <<<"$output"
	run -0 --separate-stderr aurora-incident prune
	[[ "$output" == "pruned 0 incidents resolved or merged before "* ]] || fail "$output"
	run -2 --separate-stderr aurora-incident prune --resolved-before 5m
	run -2 --separate-stderr aurora-incident prune 3
}

@test "every table that refers to incidents is one incident prune knows" {
	# a table added later with a reference to incidents must be added to lib/retention.c
	run -0 sql "SELECT group_concat(m.name || '.' || f.\"from\", ' ') FROM sqlite_master m,
		pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f.\"table\" = 'incidents' ORDER BY 1"
	[ -n "$output" ]
	for ref in $output; do
		case $ref in
		incidents.merged_into | incidents.previous_incident | alerts.incident_id | incident_alerts.incident_id | \
			open_incident_services.incident_id | open_incident_terms.incident_id | events.incident_id | \
			incident_thoughts.incident_id | incident_suggestions.incident_id | incident_comments.incident_id) ;;
		*) fail "$ref refers to incidents: aurora-incident prune does not delete it" ;;
		esac
	done
}

# deliveries DIR N: N distinct Alertmanager bodies (one alert each) in DIR/1.json ...
deliveries() {
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		jq -c --arg n "$i" '.alerts[0].labels.alertname = "Lag\($n)" | .alerts[0].fingerprint = "f\($n)"' \
			"$FIXTURES/pipeline/alertmanager-firing.json" >"$1/$i.json"
	done
}

@test "pruning while the receiver and the pipeline run: every 202 stays stored, every delivery is decided" {
	old_rows 3000 40
	sql "UPDATE stage_marks SET inbox_id = 3000 WHERE stage = 'correlate'"
	recv_start --db "$AURORA_DB" --rate 0
	new_token alertmanager
	(
		aurora-inbox follow | aurora-normalize | aurora-correlate >"$BATS_TEST_TMPDIR/live.jsonl"
	) 2>"$BATS_TEST_TMPDIR/pipeline.err" 3>&- &
	PIPE_PID=$!
	deliveries "$BATS_TEST_TMPDIR/d" 120
	# the deliveries in the background, recording each answer
	(
		for i in $(seq 1 120); do
			curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
				-H "Authorization: Bearer $TOKEN" --data-binary "@$BATS_TEST_TMPDIR/d/$i.json" \
				"$RECV_URL/api/webhooks/alertmanager"
		done >"$BATS_TEST_TMPDIR/codes"
	) 3>&- &
	sender=$!
	PIDS+=("$sender")
	# prunes in small batches all the while
	n=0
	deleted=0
	while kill -0 "$sender" 2>/dev/null; do
		run -0 --separate-stderr aurora-inbox prune --older-than 30d --batch 50 --pause-ms 0 --json
		d=$(jq -en 'input | .deleted.inbox' <<<"$output")
		deleted=$((deleted + d))
		n=$((n + 1))
	done
	wait "$sender"
	# the prunes ran while deliveries arrived, and deleted the old rows then
	[ "$n" -ge 1 ]
	[ "$deleted" -ge 2999 ] || fail "$deleted old rows deleted while deliveries arrived"
	[ "$(grep -c '^202$' "$BATS_TEST_TMPDIR/codes")" = 120 ] || fail "answers: $(sort "$BATS_TEST_TMPDIR/codes" | uniq -c)"
	# the old rows are gone but the newest of them; every accepted delivery is stored
	run -0 --separate-stderr aurora-inbox prune --older-than 30d --json
	[ "$(sql 'SELECT count(*) FROM inbox WHERE id <= 3000')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM inbox WHERE id > 3000')" = 120 ]
	# and decided: each delivery's id has its decision, and the mark reaches the newest
	for _ in $(seq 1 200); do
		[ "$(sql "SELECT inbox_id FROM stage_marks WHERE stage = 'correlate'")" = 3120 ] && break
		sleep 0.05
	done
	[ "$(sql "SELECT inbox_id FROM stage_marks WHERE stage = 'correlate'")" = 3120 ] ||
		fail "mark at $(sql "SELECT inbox_id FROM stage_marks") : $(cat "$BATS_TEST_TMPDIR/pipeline.err")"
	jq -en '[inputs.inbox_id] | unique == [range(3001; 3121)]' "$BATS_TEST_TMPDIR/live.jsonl"
	[ "$(sql 'SELECT count(*) FROM alerts')" = 120 ]
}

# the command of a cron line, with /var/lib/aurora moved to DIR
cron_command() {
	grep -v '^#' "$1" | grep . | sed -E 's/^([^ ]+ +){5}[^ ]+ +//' | sed "s|/var/lib/aurora|$2|g"
}

@test "the replay example makes the incident of a Jenkins failure when RCA is on for Jenkins" {
	run -0 aurora-connector rca jenkins on
	recv_start --db "$AURORA_DB"
	new_token jenkins
	sed -e "s/\"@@NOW_MS@@\"/$(date +%s%3N)/" -e 's/"@@NONCE_DEC@@"/17/' "$AURORA_TOP/lib/samples/jenkins.json" \
		>"$BATS_TEST_TMPDIR/jenkins.json"
	post jenkins "$BATS_TEST_TMPDIR/jenkins.json" -H "Authorization: Bearer $TOKEN"
	[ "$output" = 202 ]
	# the live database as the example has it, and the example's command
	dir=$BATS_TEST_TMPDIR/var
	mkdir -p "$dir"
	cp "$AURORA_DB" "$dir/aurora.db"
	[ ! -e "$AURORA_DB-wal" ] || cp "$AURORA_DB-wal" "$dir/aurora.db-wal"
	cmd=$(cron_command "$AURORA_TOP/examples/aurora-replay.cron" "$dir")
	[ -n "$cmd" ]
	run -0 sh -c "$cmd"
	[ "$(sqlite3 "$dir/replay.db" "SELECT rca FROM connectors WHERE platform = 'jenkins'")" = 1 ]
	[ "$(sqlite3 "$dir/replay.db" "SELECT count(*) FROM incidents WHERE source_type = 'jenkins'")" = 1 ] ||
		fail "no Jenkins incident: $(cat "$dir/replay-decisions.jsonl" "$dir/replay.log")"
	jq -en '[inputs | select(.action == "created")] | length == 1' "$dir/replay-decisions.jsonl"
}

@test "the prune example runs both prunes against the database" {
	old_rows 5 40
	sql "UPDATE stage_marks SET inbox_id = 5 WHERE stage = 'correlate'"
	incident 1 resolved 100
	dir=$BATS_TEST_TMPDIR/var
	mkdir -p "$dir"
	cp "$AURORA_DB" "$dir/aurora.db"
	cmd=$(cron_command "$AURORA_TOP/examples/aurora-prune.cron" "$dir")
	[ -n "$cmd" ]
	run -0 sh -c "$cmd"
	[ "$(sqlite3 "$dir/aurora.db" 'SELECT count(*) FROM inbox')" = 1 ]
	[ "$(sqlite3 "$dir/aurora.db" 'SELECT count(*) FROM incidents')" = 0 ]
	grep -q '^pruned 4 deliveries' "$dir/prune.log"
	grep -q '^pruned 1 incidents' "$dir/prune.log"
}
