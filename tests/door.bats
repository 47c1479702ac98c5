#!/usr/bin/env bats
# door.bats - refused at the door: aurora-recv answers 422 to a JSON body
# without its platform's shape (lib/shape.c), keeps it in the quarantine
# (aurora-inbox quarantine), counts it as rejected and shows why in the
# status; every shape a platform really sends, however unusual, goes in.
# Both engines: the accept loop and one process per connection (tcpserver).

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
bats_require_minimum_version 1.5.0
load helpers/common
load helpers/recv

PLATFORMS=(grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins cloudbees)

setup() {
	aurora_fresh_db
	unset AURORA_SHAPE_CHECK
	RECV_PID=
	LOCK_PID=
	PIDS=()
	declare -gA TOKENS=()
}

teardown() {
	recv_teardown
}

# tokens: a webhook token for every platform, in TOKENS[platform]
tokens() {
	local p
	for p in "${PLATFORMS[@]}"; do
		new_token "$p"
		# shellcheck disable=SC2153 # new_token sets TOKEN
		TOKENS[$p]=$TOKEN
	done
}

# deliver PLATFORM FILE [CONTENT-TYPE]: POST FILE with the platform's token; $output is the status
deliver() {
	http -H "Content-Type: ${3:-application/json}" -H "Authorization: Bearer ${TOKENS[$1]}" \
		--data-binary "@$2" "$RECV_URL/api/webhooks/$1"
}

# text NAME CONTENT: a body file with CONTENT; prints its path
text() {
	printf '%s' "$2" >"$BATS_TEST_TMPDIR/$1"
	echo "$BATS_TEST_TMPDIR/$1"
}

# tcp_recv: aurora-recv under tcpserver (one process per connection); sets RECV_URL
tcp_recv() {
	tcpserver -1 -H -R -l localhost 127.0.0.1 0 aurora-recv -v --db "$AURORA_DB" \
		--log-file "$BATS_TEST_TMPDIR/tcp.log" >"$BATS_TEST_TMPDIR/tcp.out" 2>"$BATS_TEST_TMPDIR/tcp.err" 3>&- &
	PIDS+=("$!")
	tcp_wait
}

# q SQL: one value from the database
q() {
	run -0 sqlite3 "$AURORA_DB" "$1"
	printf '%s\n' "$output"
}

# the part of each platform's reason that names what is missing
declare -gA MISSING=(
	[grafana]='no "alerts" array (unified alerting) and no ruleId'
	[alertmanager]='no "alerts" array'
	[pagerduty]='no "event" object (V3) and no "messages" array (V1, V2)'
	[datadog]='alert_id, alert_cycle_key'
	[netdata]='no alarm, alarm_id'
	[dynatrace]='PID, ProblemID'
	[splunk]='no sid, search_name, results_link or result'
	[jenkins]='no "build" object'
	[cloudbees]='no "build" object'
)

@test "every platform: a body without its shape is 422 naming what is missing, quarantined, counted, and the status shows why" {
	local p f
	tokens
	new_operator_token ops
	recv_start
	f=$(text hello.json '{"hello":"world"}')
	for p in "${PLATFORMS[@]}"; do
		deliver "$p" "$f"
		[ "$output" = 422 ] || fail "$p answered $output: $(cat "$RESP")"
		json_ok '(.error | startswith("not a") and contains($m))
			and .platform == $p and (.quarantine_id | type == "number")' --arg p "$p" --arg m "${MISSING[$p]}" <"$RESP" >/dev/null ||
			fail "$p: $(cat "$RESP")"
		cp "$RESP" "$BATS_TEST_TMPDIR/answer.$p"
	done
	assert_equal "$(rows)" 0
	for p in "${PLATFORMS[@]}"; do
		assert_equal "$(q "SELECT count(*) FROM quarantine WHERE platform = '$p' AND CAST(body AS TEXT) = '{\"hello\":\"world\"}'")" 1
		assert_equal "$(q "SELECT rejected_count, received_count FROM connectors WHERE platform = '$p'")" '1|0'
		api "/api/$p/status"
		assert_output 200
		json_ok '.rejected == 1 and .received == 0
			and .last_rejection.status == 422 and .last_rejection.reason == $a[0].error
			and (.last_rejection.at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' --slurpfile a "$BATS_TEST_TMPDIR/answer.$p" <"$RESP" >/dev/null ||
			fail "$p status: $(cat "$RESP")"
	done
	# any rejection is the last one: a wrong token says so
	http -H 'Content-Type: application/json' -H 'Authorization: Bearer wrong' --data-binary "@$f" \
		"$RECV_URL/api/webhooks/splunk"
	assert_output 401
	api_until /api/splunk/status '.rejected == 2'
	json '.rejected == 2 and .last_rejection.status == 401 and .last_rejection.reason == "wrong token for platform splunk"'
}

@test "the 422 waits for the quarantine row's commit, as a 202 waits for the inbox's" {
	tokens
	recv_start
	hold_lock 1
	local start ms
	start=$(date +%s%N)
	deliver alertmanager "$(text bad.json '{"receiver":"x","status":"firing"}')"
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_output 422
	[ "$ms" -ge 700 ] || fail "answered after $ms ms, while the database was locked"
	# answered means committed: the row is there for any reader at once
	assert_equal "$(q "SELECT count(*) FROM quarantine WHERE platform = 'alertmanager'")" 1
	wait "$LOCK_PID"
	LOCK_PID=
	# and when it cannot commit it is not a 422 but "try again"
	recv_stop
	recv_start --busy-timeout 300
	hold_lock 2
	deliver alertmanager "$BATS_TEST_TMPDIR/bad.json"
	assert_output 503
	[ -n "$(header Retry-After)" ]
	wait "$LOCK_PID"
	LOCK_PID=
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 1
}

@test "one connection (tcpserver): the same 422 and quarantine, and a good body still 202" {
	tokens
	tcp_recv
	deliver pagerduty "$(text bad.json '{"messages":{"not":"a list"}}')"
	assert_output 422
	json '.error == "not a PagerDuty webhook: \"messages\" is an object, not an array" and .platform == "pagerduty"
		and .quarantine_id == 1'
	deliver pagerduty "$AURORA_TOP/lib/samples/pagerduty.json"
	assert_output 202
	json '.accepted == true and .id == 1'
	assert_equal "$(q "SELECT count(*) FROM quarantine WHERE platform = 'pagerduty'")" 1
	assert_equal "$(rows)" 1
	assert_equal "$(q "SELECT rejected_count, last_rejected_status FROM connectors WHERE platform = 'pagerduty'")" '1|422'
	wait_file_line "$BATS_TEST_TMPDIR/tcp.log" 'serving one connection'
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/tcp.err")" 0
}

@test "a body that is JSON but not an object is 422 too; malformed JSON stays 400 and is not quarantined" {
	tokens
	recv_start
	deliver splunk "$(text array.json '[{"sid":"1"}]')"
	assert_output 422
	json '.error == "not a Splunk webhook: the body is an array, not an object"'
	deliver grafana "$(text string.json '"alerts"')"
	assert_output 422
	json '.error == "not a Grafana webhook: the body is a string, not an object"'
	deliver grafana "$(text notarray.json '{"alerts":"none"}')"
	assert_output 422
	json '.error == "not a Grafana webhook: \"alerts\" is a string, not an array"'
	deliver grafana "$(text broken.json '{"alerts":[')"
	assert_output 400
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 3
}

@test "a Datadog form that is not a Datadog alert is 422 and quarantined as the same fields in JSON are, in both engines; forms of its fields go in" {
	local json_error engine
	tokens
	recv_start
	# the JSON first: the answer the form must get
	deliver datadog "$(text hello.json '{"hello":"world","x":"1"}')"
	assert_output 422
	json_error=$(jq -er '.error' "$RESP")
	[[ $json_error == "not a Datadog webhook: "*"${MISSING[datadog]}"* ]] || fail "$json_error"
	# its fields as a form, and text that is no form of Datadog's at all (one field named by the text)
	for engine in listen conn; do
		[ "$engine" = listen ] || tcp_recv
		deliver datadog "$(text hello.form 'hello=world&x=1')" application/x-www-form-urlencoded
		[ "$output" = 422 ] || fail "$engine: a form without Datadog's fields answered $output: $(cat "$RESP")"
		json_ok '.error == $e and .platform == "datadog" and (.quarantine_id | type == "number")' \
			--arg e "$json_error" <"$RESP" >/dev/null || fail "$engine: $(cat "$RESP")"
		deliver datadog "$(text plain.form 'CPU is high on web-7')" 'application/x-www-form-urlencoded; charset=utf-8'
		assert_output 422
		json '.error | startswith("not a Datadog webhook: none of the fields")'
		# a lone payload field holding JSON is read as that JSON (the mapping reads it so): checked as it
		deliver datadog "$(text wrapped-bad.form 'payload=%7B%22hello%22%3A%22world%22%7D')" application/x-www-form-urlencoded
		assert_output 422
		json_ok '.error == $e' --arg e "$json_error" <"$RESP" >/dev/null || fail "$engine: $(cat "$RESP")"
		deliver datadog "$(text wrapped.form 'payload=%7B%22alert_id%22%3A%2291827364%22%2C%22title%22%3A%22CPU%22%7D')" \
			application/x-www-form-urlencoded
		assert_output 202
	done
	# (the second engine's is the same delivery again: one row)
	assert_equal "$(rows)" 1
	assert_equal "$(q "SELECT count(*) FROM quarantine WHERE platform = 'datadog'")" 7
	# kept as sent, with its type: aurora-inbox shows and replays it decoded, as a stored form
	assert_equal "$(q "SELECT count(*) FROM quarantine WHERE content_type LIKE 'application/x-www-form-urlencoded%'")" 6
	run -0 --separate-stderr aurora-inbox quarantine show 2 --json
	json_ok '.body == {"hello": "world", "x": "1"} and .content_type == "application/x-www-form-urlencoded"
		and .reason == $e' --arg e "$json_error" <<<"$output" >/dev/null || fail "$output"
	# the fixtures' forms of Datadog's fields are accepted, as before
	deliver datadog "$FIXTURES/normalize/datadog/form-text.txt" application/x-www-form-urlencoded
	assert_output 202
	deliver datadog "$FIXTURES/inbox/datadog-form.txt" application/x-www-form-urlencoded
	assert_output 202
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 7
}

@test "valid but unusual shapes are accepted" {
	local n=0
	tokens
	recv_start
	# accept PLATFORM JSON: 202 expected
	accept() {
		n=$((n + 1))
		deliver "$1" "$(text "unusual.$n.json" "$2")"
		[ "$output" = 202 ] || fail "$1 $2: answered $output $(cat "$RESP")"
	}
	accept grafana "$(cat "$FIXTURES/normalize/grafana/legacy-alerting.json")"
	accept grafana '{"title":"[Alerting] Test notification","ruleId":0,"ruleName":"Test notification","state":"alerting","evalMatches":[]}'
	accept grafana '{"version":"4","status":"resolved","alerts":[],"truncatedAlerts":3}'
	accept alertmanager '{"version":"4","groupKey":"{}:{}","alerts":[]}'
	accept alertmanager '{"\u0061lerts":[{"status":"firing","labels":{}}]}'
	accept pagerduty '{"messages":[{"type":"incident.trigger","data":{"incident":{"id":"P1","status":"triggered"}}}]}'
	accept pagerduty '{"event":{"event_type":"pagey.ping","resource_type":"pagey","data":{"type":"ping"}}}'
	accept datadog '{"ALERT_ID":"1234","MESSAGE":"free text"}'
	accept datadog '{"Alert Title":"[Triggered] cpu","anything":1}'
	accept datadog '{"id":"1","title":"t","body":"b","event_type":"query_alert_monitor","date":"1","org":{"id":"1"}}'
	accept netdata '{"status":{"reachable":false,"text":"unreachable"},"host":"web-1","severity":"critical"}'
	accept netdata '{"Alarm":"disk_space","Status":"WARNING","Node":"db-3"}'
	accept netdata '{"name":"ram_in_use","status":"CRITICAL","host":"web-7"}'
	accept netdata '{"message":"test","token":"abc"}'
	accept dynatrace '{"Problem ID":"P-1","Problem URL":"https://x/","state":"OPEN"}'
	accept dynatrace '{"problem_title":"Response time degradation","impacted_entities":[]}'
	accept splunk '{"sid":"rt_1","search_name":null,"app":"search","owner":"admin","results_link":"https://s/","result":{}}'
	accept jenkins '{"build":{"number":43,"status":"FAILURE","full_url":"https://ci/job/api-build/43/","scm":{"commit":"abc","branch":"main"}},"name":"api-build","url":"job/api-build/"}'
	accept jenkins '{"buildName":"#16","buildUrl":"https://ci/job/x/16/","event":"failure","projectName":"x"}'
	accept cloudbees '{"jobName":"deploy","eventType":"completed","result":"FAILURE"}'
	accept cloudbees '{"JOB_NAME":"deploy","BUILD_NUMBER":"7","BUILD_URL":"https://cb/job/deploy/7/"}'
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 0
	assert_equal "$(rows)" "$n"
}

@test "every fixture, sample and real payload is accepted; Datadog forms and text keep working" {
	local f p n=0 want=0 expect ct
	tokens
	recv_start --rate 0
	for p in "${PLATFORMS[@]}"; do
		for f in "$FIXTURES/normalize/$p"/*.json "$AURORA_TOP/lib/samples/$p.json"; do
			[ -e "$f" ] || continue
			want=$((want + 1))
			deliver "$p" "$f"
			[ "$output" = 202 ] || fail "$f: answered $output $(cat "$RESP")"
			n=$((n + 1))
		done
	done
	[ "$n" -ge 50 ] || fail "only $n normalize fixtures and samples"
	# the corpus of real payloads, whatever is there now: a case its mapping
	# itself refuses ("rejected": true) may be refused at the door too
	while IFS= read -r f; do
		p=$(basename "$(dirname "$f")")
		[[ " ${PLATFORMS[*]} " == *" $p "* ]] || continue
		expect=${f%.json}.expect.json
		ct=application/json
		[ ! -e "$expect" ] || ct=$(jq -r '.headers["content-type"] // "application/json"' "$expect")
		deliver "$p" "$f" "$ct"
		if [ "$output" != 202 ]; then
			[ "$output" = 422 ] && [ -e "$expect" ] && json_ok '.rejected == true' <"$expect" >/dev/null ||
				fail "$f: answered $output $(cat "$RESP")"
		fi
		n=$((n + 1))
	done < <(find "$FIXTURES/real" -name '*.json' ! -name '*.expect.json' 2>/dev/null | sort)
	[ "$n" -ge "$want" ]
	# Datadog's forms of its fields pass the same check as JSON (tests below)
	deliver datadog "$FIXTURES/normalize/datadog/form-text.txt" application/x-www-form-urlencoded
	assert_output 202
	deliver datadog "$FIXTURES/inbox/datadog-form.txt" application/x-www-form-urlencoded
	assert_output 202
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 0
}

@test "aurora-inbox quarantine lists, shows, replays into the inbox, and drops" {
	local bad1 bad2
	tokens
	recv_start
	bad1=$(text bad1.json '{"hello":"splunk"}')
	bad2=$(text bad2.json '{"hello":"grafana"}')
	deliver splunk "$bad1"
	assert_output 422
	deliver grafana "$bad2"
	assert_output 422
	run -0 --separate-stderr aurora-inbox quarantine
	assert_line --index 0 --regexp '^ +ID +RECEIVED AT +PLATFORM +REMOTE +BYTES +REASON$'
	assert_line --index 1 --regexp '^ +2 +[0-9-]+T[0-9:.]+Z +grafana +127\.0\.0\.1 +19 +not a Grafana webhook: no "alerts" array'
	assert_line --index 2 --regexp '^ +1 .* splunk +127\.0\.0\.1 +18 +not a Splunk webhook: no sid'
	run -0 --separate-stderr aurora-inbox quarantine list --json --platform splunk
	[ "${#lines[@]}" -eq 1 ]
	json_ok '.v == 1 and .type == "quarantined" and .id == 1 and .platform == "splunk"
		and .body == {"hello":"splunk"} and .content_type == "application/json"
		and (.reason | startswith("not a Splunk webhook")) and .headers["content-type"] == "application/json"' \
		<<<"$output" >/dev/null
	# show prints the body byte for byte
	run -0 --separate-stderr aurora-inbox quarantine show 2
	assert_output '{"hello":"grafana"}'
	run -0 --separate-stderr aurora-inbox --db "$AURORA_DB" quarantine show 2 --json
	json_ok '.id == 2 and .platform == "grafana" and .body.hello == "grafana"' <<<"$output" >/dev/null
	# replay: an inbox row with the same body, gone from the quarantine
	run -0 --separate-stderr aurora-inbox quarantine replay 1
	assert_output 'quarantine 1 replayed as inbox 1'
	run -0 --separate-stderr aurora-inbox show 1 --json
	json_ok '.type == "raw" and .id == 1 and .platform == "splunk" and .body == {"hello":"splunk"}
		and .remote == "127.0.0.1"' <<<"$output" >/dev/null
	assert_equal "$(q "SELECT count(*) FROM quarantine WHERE id = 1")" 0
	assert_equal "$(q "SELECT body_sha256 FROM inbox WHERE id = 1")" "$(sha256sum "$bad1" | cut -d' ' -f1)"
	run -1 --separate-stderr aurora-inbox quarantine replay 1
	[[ $stderr == *"no quarantined delivery with id 1"* ]]
	# drop
	run -0 --separate-stderr aurora-inbox quarantine drop 2
	assert_output 'quarantine 2 dropped'
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 0
	run -1 --separate-stderr aurora-inbox quarantine drop 2
	[[ $stderr == *"no quarantined delivery with id 2"* ]]
	run -1 --separate-stderr aurora-inbox quarantine show 2
	run -0 --separate-stderr aurora-inbox quarantine --json
	assert_output ''
	# misuse is 2
	run -2 --separate-stderr aurora-inbox quarantine show
	[[ $stderr == *"wants a quarantine id"* ]]
	run -2 --separate-stderr aurora-inbox quarantine replay x
	run -2 --separate-stderr aurora-inbox quarantine frob 1
	[[ $stderr == *"list, show ID, replay ID or drop ID"* ]]
	run -2 --separate-stderr aurora-inbox quarantine drop 1 --platform grafana
}

@test "a replayed delivery goes down the pipeline like any other" {
	tokens
	recv_start
	jq 'del(.alerts)' "$AURORA_TOP/lib/samples/alertmanager.json" | jq '.alarms = [] ' >"$BATS_TEST_TMPDIR/x.json"
	deliver alertmanager "$BATS_TEST_TMPDIR/x.json"
	assert_output 422
	# the operator fixes it and replays the original: the mapping explains it
	run -0 --separate-stderr aurora-inbox quarantine replay 1
	run -1 --separate-stderr aurora-normalize < <(aurora-inbox replay --from 1)
	[[ $stderr == *'not an Alertmanager webhook: no "alerts" array'* ]]
}

@test "--no-shape-check and AURORA_SHAPE_CHECK=off store any JSON, and any Datadog form; --quarantine-max keeps the newest" {
	local f
	tokens
	f=$(text hello.json '{"hello":"world"}')
	recv_start --no-shape-check
	deliver splunk "$f"
	assert_output 202
	deliver datadog "$(text hello.form 'hello=world')" application/x-www-form-urlencoded
	assert_output 202
	recv_stop
	AURORA_SHAPE_CHECK=off recv_start
	deliver netdata "$f"
	assert_output 202
	deliver datadog "$(text hello2.form 'hello=world&x=2')" application/x-www-form-urlencoded
	assert_output 202
	recv_stop
	assert_equal "$(rows)" 4
	assert_equal "$(q "SELECT count(*) FROM quarantine")" 0
	# trimmed to the newest N every 64th quarantined row
	recv_start --quarantine-max 2
	for i in $(seq 1 65); do
		deliver dynatrace "$(text "q$i.json" "{\"n\":$i}")"
		[ "$output" = 422 ] || fail "body $i: $output"
	done
	run -0 sqlite3 "$AURORA_DB" "SELECT CAST(body AS TEXT) FROM quarantine ORDER BY id"
	assert_output $'{"n":63}\n{"n":64}\n{"n":65}'
	assert_equal "$(q "SELECT rejected_count FROM connectors WHERE platform = 'dynatrace'")" 65
}
