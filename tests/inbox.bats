#!/usr/bin/env bats
# aurora-inbox: list, show, follow, replay over a real SQLite inbox.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/inbox

setup() {
	aurora_fresh_db
	aurora_schema
	FOLLOW_PID=
}

teardown() {
	if [ -n "$FOLLOW_PID" ]; then
		kill "$FOLLOW_PID" 2>/dev/null || true
		wait "$FOLLOW_PID" 2>/dev/null || true
	fi
}

# every raw record in FILE has exactly the contract's keys (list adds what became of the
# delivery: state, state_reason, alert_count)
all_raw() {
	jsonl_ok 'length > 0 and all(.[]; .v == 1 and .type == "raw" and (.id | type) == "number"
		and (.platform | type) == "string" and (.received_at | type) == "string"
		and (.remote | type) == "string" and (.headers | type) == "object" and has("body")
		and ((keys - ["test", "state", "state_reason", "alert_count"])
			== (["v","type","id","platform","received_at","remote","headers","body"] | sort)))' <"$1"
}

# the ids in FILE, as one line "1 2 3"
ids_in() {
	jq -r '.id' "$1" | tr '\n' ' ' | sed 's/ $//'
}

@test "--help prints the full usage on stdout and exits 0; --version prints the version" {
	run -0 --separate-stderr aurora-inbox --help
	assert_output --partial "usage: aurora-inbox"
	assert_output --partial "follow [--from ID] [--cursor FILE] [--resume STAGE]"
	assert_output --partial "replay (--since TIME | --from ID)"
	[ -z "$stderr" ]
	run -0 --separate-stderr aurora-inbox list -h
	assert_output --partial "usage: aurora-inbox"
	run -0 --separate-stderr aurora-inbox --version
	assert_output "aurora-inbox 0.1.0"
}

@test "misuse prints a short usage on stderr and exits 2" {
	run -2 --separate-stderr aurora-inbox
	[ -z "$output" ]
	[[ $stderr == *"no command given"* ]]
	[[ $stderr == *"usage: aurora-inbox"* ]]
	run -2 --separate-stderr aurora-inbox frobnicate
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
	run -2 --separate-stderr aurora-inbox list --cursor x
	[[ $stderr == *"list does not take --cursor"* ]]
	run -2 --separate-stderr aurora-inbox show
	[[ $stderr == *"show: wrong number of arguments"* ]]
	run -2 --separate-stderr aurora-inbox show abc
	[[ $stderr == *"show wants an inbox id: abc"* ]]
	run -2 --separate-stderr aurora-inbox list --limit -3
	run -2 --separate-stderr aurora-inbox list --bogus
	[[ $stderr == *"unknown option --bogus"* ]]
	run -2 --separate-stderr aurora-inbox list --platform
	[[ $stderr == *"--platform needs a value"* ]]
	run -2 --separate-stderr aurora-inbox follow --poll-ms 0
	run -2 --separate-stderr aurora-inbox replay
	[[ $stderr == *"exactly one of --since TIME and --from ID"* ]]
	run -2 --separate-stderr aurora-inbox replay --since 1h --from 3
	run -2 --separate-stderr aurora-inbox replay --since yesterday
	[[ $stderr == *"--since wants RFC 3339 or a duration"* ]]
}

@test "an unknown platform exits 2 and lists the platforms" {
	run -2 --separate-stderr aurora-inbox list --platform graphite
	[[ $stderr == *"unknown platform 'graphite'"* ]]
	[[ $stderr == *"grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins cloudbees"* ]]
}

@test "a database that does not exist is a configuration error (78) and is not created" {
	run -78 --separate-stderr aurora-inbox --db "$BATS_TEST_TMPDIR/nope.db" list
	[[ $stderr == *"no database at $BATS_TEST_TMPDIR/nope.db"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/nope.db" ]
	AURORA_DB="$BATS_TEST_TMPDIR/none.db" run -78 --separate-stderr aurora-inbox follow
	[ ! -e "$BATS_TEST_TMPDIR/none.db" ]
}

@test "a file that is not an aurora database is a configuration error (78)" {
	echo "hello" > "$BATS_TEST_TMPDIR/text.db"
	run -78 --separate-stderr aurora-inbox --db "$BATS_TEST_TMPDIR/text.db" list
	[[ $stderr == *"is not an aurora database"* ]]
	sqlite3 "$BATS_TEST_TMPDIR/other.db" "CREATE TABLE t(x)"
	run -78 --separate-stderr aurora-inbox --db "$BATS_TEST_TMPDIR/other.db" list --json
	[[ $stderr == *"is not an aurora database"* ]]
}

@test "list prints a table for people: id, time, platform, remote, bytes, content type, test, state" {
	inbox_insert grafana '{"a":1}'
	inbox_insert datadog 'title=x' application/x-www-form-urlencoded
	inbox_insert pagerduty '{"event":{}}' application/json 0 1
	run -0 --separate-stderr aurora-inbox list
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 0 --regexp '^ +ID +RECEIVED AT +PLATFORM +REMOTE +BYTES +CONTENT TYPE +TEST +STATE$'
	assert_line --index 1 --regexp '^ +1  20[0-9-]{8}T[0-9:.]{12}Z +grafana +192\.0\.2\.7 +7  application/json +pending$'
	assert_line --index 2 --regexp '^ +2  .* datadog +192\.0\.2\.7 +7  application/x-www-form-urlencoded +pending$'
	assert_line --index 3 --regexp '^ +3  .* pagerduty +192\.0\.2\.7 +12  application/json +test +pending$'
}

@test "list --json prints raw records exactly as the contract says" {
	inbox_insert grafana '{"alerts":[{"status":"firing"}]}'
	inbox_insert datadog 'title=CPU+high&alert_transition=Triggered&x=%41%' application/x-www-form-urlencoded
	inbox_insert netdata 'not json at all' text/plain
	inbox_insert pagerduty '{"event":{"id":"E1"}}' application/json 0 1
	run -0 --separate-stderr aurora-inbox list --json
	[ -z "$stderr" ]
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out"
	all_raw "$BATS_TEST_TMPDIR/out"
	[ "$(ids_in "$BATS_TEST_TMPDIR/out")" = "1 2 3 4" ]
	sed -n 1p "$BATS_TEST_TMPDIR/out" | json_ok '.platform == "grafana" and .body == {"alerts":[{"status":"firing"}]}
		and .remote == "192.0.2.7" and .headers == {"content-type":"application/json","user-agent":"bats"}
		and (.received_at | test("^20[0-9-]{8}T[0-9:]{8}\\.[0-9]{3}Z$")) and (has("test") | not)'
	sed -n 2p "$BATS_TEST_TMPDIR/out" | json_ok '.body == {"title":"CPU high","alert_transition":"Triggered","x":"A%"}'
	sed -n 3p "$BATS_TEST_TMPDIR/out" | json_ok '.body == "not json at all"'
	sed -n 4p "$BATS_TEST_TMPDIR/out" | json_ok '.test == true and .body.event.id == "E1"'
	jsonl_ok 'length == 4 and all(.[]; .state == "pending" and .state_reason == null and .alert_count == null)' \
		<"$BATS_TEST_TMPDIR/out"
}

@test "list shows the newest 50 by default; --limit N, --limit 0 for all, --since ID pages forward" {
	inbox_fill 60 grafana
	run -0 --separate-stderr aurora-inbox list --json
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out"
	[ "$(lines_in "$BATS_TEST_TMPDIR/out")" -eq 50 ]
	[ "$(ids_in "$BATS_TEST_TMPDIR/out")" = "$(seq -s ' ' 11 60)" ]
	run -0 --separate-stderr aurora-inbox list --json --limit 3
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "58 59 60 " ]
	run -0 --separate-stderr aurora-inbox list --json --limit 0
	[ "${#lines[@]}" -eq 60 ]
	run -0 --separate-stderr aurora-inbox list --json --since 5 --limit 2
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "6 7 " ]
	run -0 --separate-stderr aurora-inbox list --json --since 58
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "59 60 " ]
}

@test "list --platform keeps one platform" {
	inbox_insert grafana '{"n":1}'
	inbox_insert datadog '{"n":2}'
	inbox_insert grafana '{"n":3}'
	run -0 --separate-stderr aurora-inbox list --platform grafana --json
	[ "${#lines[@]}" -eq 2 ]
	jsonl_ok 'map(.platform) == ["grafana","grafana"] and map(.body.n) == [1,3]' <<<"$output"
	run -0 --separate-stderr aurora-inbox list --platform splunk --json
	[ -z "$output" ]
}

@test "options mean the same before and after the command" {
	inbox_insert grafana '{"n":1}'
	inbox_insert alertmanager '{"n":2}'
	other="$BATS_TEST_TMPDIR/other.db"
	cp "$AURORA_DB" "$other"
	unset AURORA_DB
	mkdir "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd"
	run -0 --separate-stderr aurora-inbox --db "$other" list --json --platform alertmanager
	first=$output
	run -0 --separate-stderr aurora-inbox list --db "$other" --json --platform alertmanager
	[ "$output" = "$first" ]
	run -0 --separate-stderr aurora-inbox --platform=alertmanager --json list --db="$other"
	[ "$output" = "$first" ]
	json_ok '.id == 2 and .platform == "alertmanager"' <<<"$output"
}

@test "show prints one record pretty for people, one line with --json; an unknown id exits 1" {
	inbox_insert grafana '{"status":"firing","alerts":[]}'
	run -0 --separate-stderr aurora-inbox show 1
	[ "${#lines[@]}" -gt 5 ]
	assert_line --index 0 "{"
	assert_line '  "type": "raw",'
	json_ok '.id == 1 and .body.status == "firing"' <<<"$output"
	pretty=$(printf '%s\n' "$output" | jq -c .)
	run -0 --separate-stderr aurora-inbox show 1 --json
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "$pretty" ]
	run -1 --separate-stderr aurora-inbox show 2
	[ -z "$output" ]
	[[ $stderr == *"no inbox row with id 2"* ]]
}

@test "list and replay walk more rows than one batch, in order, each once" {
	inbox_fill 1300 splunk
	run -0 --separate-stderr aurora-inbox replay --from 1
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out"
	[ "$(lines_in "$BATS_TEST_TMPDIR/out")" -eq 1300 ]
	jsonl_ok '[.[].id] == [range(1; 1301)] and [.[].body.n] == [range(1; 1301)]' <"$BATS_TEST_TMPDIR/out"
	run -0 --separate-stderr aurora-inbox list --json --limit 0 --since 700
	[ "${#lines[@]}" -eq 600 ]
}

@test "replay --since a duration, --until, --platform" {
	inbox_insert grafana '{"age":"3h"}' application/json 10800
	inbox_insert datadog '{"age":"90m"}' application/json 5400
	inbox_insert grafana '{"age":"20m"}' application/json 1200
	inbox_insert grafana '{"age":"now"}'
	run -0 --separate-stderr aurora-inbox replay --since 2h
	[ "$(printf '%s\n' "$output" | jq -r .body.age | tr '\n' ' ')" = "90m 20m now " ]
	run -0 --separate-stderr aurora-inbox replay --since 2h --until 10m
	[ "$(printf '%s\n' "$output" | jq -r .body.age | tr '\n' ' ')" = "90m 20m " ]
	run -0 --separate-stderr aurora-inbox replay --since 1d --platform grafana
	[ "$(printf '%s\n' "$output" | jq -r .body.age | tr '\n' ' ')" = "3h 20m now " ]
	run -0 --separate-stderr aurora-inbox replay --since 7200s --until 30m --platform grafana
	[ -z "$output" ]
}

@test "replay --since RFC 3339 and --from ID (inclusive)" {
	inbox_insert grafana '{"n":1}' application/json 7200
	inbox_insert grafana '{"n":2}' application/json 60
	inbox_insert grafana '{"n":3}'
	since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
	run -0 --separate-stderr aurora-inbox replay --since "$since"
	[ "$(printf '%s\n' "$output" | jq -r .body.n | tr '\n' ' ')" = "2 3 " ]
	offset=$(date -d '-1 hour' +%Y-%m-%dT%H:%M:%S%:z)
	run -0 --separate-stderr aurora-inbox replay --since "$offset"
	[ "$(printf '%s\n' "$output" | jq -r .body.n | tr '\n' ' ')" = "2 3 " ]
	run -0 --separate-stderr aurora-inbox replay --from 2
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "2 3 " ]
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out"
	all_raw "$BATS_TEST_TMPDIR/out"
	run -0 --separate-stderr aurora-inbox replay --from 9
	[ -z "$output" ]
}

@test "follow prints only new rows, complete and in order, the moment they commit" {
	inbox_insert grafana '{"old":true}'
	cursor="$BATS_TEST_TMPDIR/cursor"
	out="$BATS_TEST_TMPDIR/out"
	aurora-inbox follow --cursor "$cursor" > "$out" 2> "$BATS_TEST_TMPDIR/err" &
	FOLLOW_PID=$!
	wait_file "$cursor"
	[ "$(cat "$cursor")" = 1 ]
	inbox_insert grafana '{"n":2}'
	wait_lines "$out" 1
	inbox_insert datadog '{"n":3}'
	inbox_insert grafana '{"n":4}'
	inbox_fill 5 pagerduty
	wait_lines "$out" 8
	all_raw "$out"
	[ "$(ids_in "$out")" = "2 3 4 5 6 7 8 9" ]
	jsonl_ok '.[0].body == {"n":2} and .[1].platform == "datadog" and [.[3:][].body.n] == [1,2,3,4,5]' <"$out"
	for _ in $(seq 1 100); do [ "$(cat "$cursor")" = 9 ] && break; sleep 0.05; done
	[ "$(cat "$cursor")" = 9 ]
	kill -TERM "$FOLLOW_PID"
	wait_exit "$FOLLOW_PID"
	FOLLOW_PID=
	[ "$waited" -eq 0 ]
	[ "$(lines_in "$out")" -eq 8 ]
}

@test "a follow killed and restarted with its cursor resumes exactly: no gap, no repeat" {
	cursor="$BATS_TEST_TMPDIR/cursor"
	out1="$BATS_TEST_TMPDIR/out1"
	out2="$BATS_TEST_TMPDIR/out2"
	inbox_fill 3 grafana
	aurora-inbox follow --cursor "$cursor" > "$out1" 2>/dev/null &
	FOLLOW_PID=$!
	wait_file "$cursor"
	inbox_fill 4 alertmanager
	wait_lines "$out1" 4
	for _ in $(seq 1 100); do [ "$(cat "$cursor")" = 7 ] && break; sleep 0.05; done
	kill -KILL "$FOLLOW_PID"
	wait "$FOLLOW_PID" 2>/dev/null || true
	FOLLOW_PID=
	# rows that arrive while nobody follows
	inbox_fill 3 netdata
	aurora-inbox follow --cursor "$cursor" > "$out2" 2>/dev/null &
	FOLLOW_PID=$!
	wait_lines "$out2" 3
	inbox_fill 2 splunk
	wait_lines "$out2" 5
	all_raw "$out2"
	[ "$(ids_in "$out1")" = "4 5 6 7" ]
	[ "$(ids_in "$out2")" = "8 9 10 11 12" ]
	jsonl_ok 'map(.platform) == ["netdata","netdata","netdata","splunk","splunk"]' <"$out2"
}

@test "a follow restarted before any row arrived misses nothing (the cursor is written at start)" {
	cursor="$BATS_TEST_TMPDIR/cursor"
	inbox_fill 2 grafana
	aurora-inbox follow --cursor "$cursor" > /dev/null 2>&1 &
	FOLLOW_PID=$!
	wait_file "$cursor"
	kill -TERM "$FOLLOW_PID"
	wait_exit "$FOLLOW_PID"
	FOLLOW_PID=
	inbox_insert datadog '{"while":"down"}'
	out="$BATS_TEST_TMPDIR/out"
	aurora-inbox follow --cursor "$cursor" > "$out" 2>/dev/null &
	FOLLOW_PID=$!
	wait_lines "$out" 1
	json_ok '.id == 3 and .body.while == "down"' <"$out"
}

@test "follow --from ID starts there (inclusive) and --platform filters; --from wins over the cursor" {
	inbox_insert grafana '{"n":1}'
	inbox_insert datadog '{"n":2}'
	inbox_insert grafana '{"n":3}'
	cursor="$BATS_TEST_TMPDIR/cursor"
	echo 3 > "$cursor"
	out="$BATS_TEST_TMPDIR/out"
	aurora-inbox follow --from 1 --platform grafana --cursor "$cursor" > "$out" 2>/dev/null &
	FOLLOW_PID=$!
	wait_lines "$out" 2
	inbox_insert datadog '{"n":4}'
	inbox_insert grafana '{"n":5}'
	wait_lines "$out" 3
	[ "$(ids_in "$out")" = "1 3 5" ]
	for _ in $(seq 1 100); do [ "$(cat "$cursor")" = 5 ] && break; sleep 0.05; done
	[ "$(cat "$cursor")" = 5 ]
}

@test "follow ends with 0 on SIGINT too" {
	aurora-inbox follow > /dev/null 2>&1 &
	FOLLOW_PID=$!
	sleep 0.3
	kill -INT "$FOLLOW_PID"
	wait_exit "$FOLLOW_PID"
	FOLLOW_PID=
	[ "$waited" -eq 0 ]
}

@test "follow exits 0 when the reader of its output goes away, even while idle" {
	inbox_fill 3 grafana
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	aurora-inbox follow --from 1 > "$BATS_TEST_TMPDIR/fifo" 2> "$BATS_TEST_TMPDIR/err" &
	FOLLOW_PID=$!
	head -n 1 "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/first"
	json_ok '.id == 1' <"$BATS_TEST_TMPDIR/first"
	wait_exit "$FOLLOW_PID"
	FOLLOW_PID=
	[ "$waited" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "a cursor file that does not hold an id exits 65 and is left alone" {
	cursor="$BATS_TEST_TMPDIR/cursor"
	echo "twelve" > "$cursor"
	run -65 --separate-stderr aurora-inbox follow --cursor "$cursor"
	[[ $stderr == *"does not hold an inbox id"* ]]
	[ "$(cat "$cursor")" = twelve ]
}

@test "a write error on stdout exits 74; the cursor does not move past what was not written" {
	inbox_insert grafana '{"n":1}'
	run -74 --separate-stderr bash -c 'aurora-inbox list --json > /dev/full'
	[[ $stderr == *"write error"* ]]
	run -74 --separate-stderr bash -c 'aurora-inbox show 1 > /dev/full'
	cursor="$BATS_TEST_TMPDIR/cursor"
	echo 0 > "$cursor"
	run -74 --separate-stderr bash -c "aurora-inbox follow --cursor '$cursor' > /dev/full"
	[ "$(cat "$cursor")" = 0 ]
}

@test "readers never write the database" {
	inbox_fill 3 grafana
	sqlite3 "$AURORA_DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	before=$(sha256sum < "$AURORA_DB")
	run -0 --separate-stderr aurora-inbox list --json
	jq -en '[inputs] | length == 3' <<<"$output"
	run -0 --separate-stderr aurora-inbox replay --since 1h
	jq -en '[inputs] | length == 3 and .[1].id == 2' <<<"$output"
	run -0 --separate-stderr aurora-inbox show 2
	[ -n "$output" ]
	[ "$(sha256sum < "$AURORA_DB")" = "$before" ]
	[ "$(sqlite3 "$AURORA_DB" 'SELECT count(*) FROM inbox')" = 3 ]
}

# inbox_insert_file PLATFORM FILE CONTENT_TYPE: a row whose body is FILE, byte for byte
inbox_insert_file() {
	sqlite3 "$AURORA_DB" "INSERT INTO inbox(platform, received_at, received_ms, content_type, body, body_sha256)
		VALUES ('$1', '2025-03-04T08:47:01.000Z', 1741078021000, '$3', readfile('$2'), 'x')" >/dev/null
}

@test "raw records from stored payloads: multi-line Unicode JSON, a Datadog form body, bytes that are not UTF-8" {
	inbox_insert_file alertmanager "$FIXTURES/inbox/alertmanager-resolved.json" application/json
	inbox_insert_file datadog "$FIXTURES/inbox/datadog-form.txt" "application/x-www-form-urlencoded; charset=utf-8"
	inbox_insert_file splunk "$FIXTURES/inbox/latin1.txt" text/plain
	run -0 --separate-stderr aurora-inbox replay --from 1
	[ "${#lines[@]}" -eq 3 ]
	printf '%s\n' "${lines[0]}" > "$BATS_TEST_TMPDIR/am"
	json_ok '.body == $want[0]
		and .received_at == "2025-03-04T08:47:01.000Z"
		and .body.commonAnnotations.summary == "Disk /var above 90% — “db-3” ✓"' --slurpfile want "$FIXTURES/inbox/alertmanager-resolved.json" <"$BATS_TEST_TMPDIR/am"
	json_ok '.body.title == "[Triggered on {host:web-7}] CPU high"
		and .body.tags == "monitor,env:prod,service:web" and .body.date == "1741086900000"
		and .body.body == "%%%\nCPU above 80%\n%%%" and .body.alert_transition == "Triggered"' <<<"${lines[1]}"
	json_ok '(.body | type) == "string" and (.body | startswith("caf"))
		and (.body | contains("not utf-8"))' <<<"${lines[2]}"
}

@test "follow is woken by commits, not the poll, also through a symlinked database path" {
	# with an hour between polls only inotify can deliver these rows in time
	mkdir "$BATS_TEST_TMPDIR/link"
	ln -s "$AURORA_DB" "$BATS_TEST_TMPDIR/link/aurora.db"
	for db in "$AURORA_DB" "$BATS_TEST_TMPDIR/link/aurora.db"; do
		out="$BATS_TEST_TMPDIR/out.$RANDOM"
		cursor="$out.cursor"
		aurora-inbox follow --db "$db" --poll-ms 3600000 --cursor "$cursor" > "$out" 2>/dev/null &
		FOLLOW_PID=$!
		wait_file "$cursor"
		inbox_insert netdata '{"via":"inotify"}'
		wait_lines "$out" 1
		json_ok '.platform == "netdata" and .body.via == "inotify"' <"$out"
		kill "$FOLLOW_PID"
		wait_exit "$FOLLOW_PID"
		FOLLOW_PID=
	done
}
