#!/usr/bin/env bats
# aurora-rca reading a build's console from Jenkins when its notification
# carried no log: only under the connector's base URL, with its credentials
# (HTTP basic), bounded in time and size, stored for the next investigation,
# and the API token in no output. The Jenkins is tests/helpers/jenkins-standin.py.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/correlate

TOKEN=11d7c2a9e4b35f80a6c1d2e3f4a5b6c7d8
TOKEN_B64=$(printf 'aurora-reader:%s' "$TOKEN" | base64 -w0)

setup() {
	aurora_fresh_db
	IN="$BATS_TEST_TMPDIR/alerts.jsonl"
	DEC="$BATS_TEST_TMPDIR/decisions.jsonl"
	REQ="$BATS_TEST_TMPDIR/requests.jsonl"
	: >"$IN"
	JPID=
	jenkins_config '{}'
	jenkins_start
}

teardown() {
	if [ -n "$JPID" ]; then
		kill "$JPID" 2>/dev/null || true
		wait "$JPID" 2>/dev/null || true
	fi
}

# jenkins_config PATCH: the stand-in's configuration, the defaults merged with PATCH (JSON)
jenkins_config() {
	jq -n --arg token "$TOKEN" --argjson patch "$1" '
		{prefix: "/jenkins", user: "aurora-reader", token: $token, mode: "ok",
		 consoles: {
			"payments-build/77": "Started by an SCM change\n[INFO] compiling 214 files\nERROR: test_totals failed: expected 42, got 41\nFinished: FAILURE\n",
			"shop-api/5": "Started\nException in thread main: java.lang.OutOfMemoryError\nFinished: FAILURE\n",
			"team/payments/9": "Started\nnpm error Missing script: lint\nFinished: FAILURE\n",
			"team/ledger/3": "Started\nERROR: ledger migrations failed\nFinished: FAILURE\n",
			"shipping-deploy/508": "Deploying shipping 4793c86 to production\nWARNING: readiness probe failed on 2 of 6 pods, continuing\nFinished: SUCCESS\n",
			"api-build/43": "Started by an SCM change\nnpm error Test failed: api contract v2 mismatch\nFinished: FAILURE\n"
		 }} * $patch' >"$BATS_TEST_TMPDIR/jenkins.json"
}

# jenkins_start: the stand-in on a free port; JPORT, JBASE (the base URL to configure)
jenkins_start() {
	rm -f "$BATS_TEST_TMPDIR/jport"
	: >"$REQ"
	python3 "$AURORA_TOP/tests/helpers/jenkins-standin.py" "$BATS_TEST_TMPDIR/jport" \
		"$BATS_TEST_TMPDIR/jenkins.json" "$REQ" 3>&- &
	JPID=$!
	wait_file "$BATS_TEST_TMPDIR/jport" "$JPID"
	JPORT=$(cat "$BATS_TEST_TMPDIR/jport")
	JBASE="http://127.0.0.1:$JPORT/jenkins/"
}

# configure [TOKEN]: the Jenkins connector's base URL and credentials (the token on stdin)
configure() {
	run -0 aurora-connector base-url jenkins "$JBASE"
	run -0 aurora-connector credentials jenkins aurora-reader --stdin <<<"${1:-$TOKEN}"
}

# requests: how many requests the stand-in received
requests() {
	wc -l <"$REQ"
}

# build SOURCE JOB N RESULT TIME [CONTEXT]: a finished build whose notification carried
# no log, its build URL relative (the notification plugin's without a base URL);
# CONTEXT (JSON) is merged into its context, and its build_url is also its link
build() {
	local ctx='{}'
	[ $# -ge 6 ] && ctx=$6
	jq -cn --arg source "$1" --arg job "$2" --argjson n "$3" --arg result "$4" --arg at "$5" --argjson ctx "$ctx" \
		--argjson inbox "${INBOX_ID:-0}" '
		({job: $job, build_number: $n, result: $result, commit: "4793c8669191b0d662029d43e7aee5410f9b9894",
		  branch: "origin/main", build_url: "job/\($job | split("/") | join("/job/"))/\($n)/"} + $ctx) as $c
		| {v: 1, type: "alert", source: $source, dedup_key: $job, fingerprint: ($job + ":" + ($n | tostring)),
		 status: (if $result == "SUCCESS" then "resolved" else "firing" end),
		 severity: (if $result == "SUCCESS" then "info" else "high" end),
		 title: "Build \($job) #\($n) \(if $result == "SUCCESS" then "succeeded" else "failed" end)",
		 description: null, service: $job, host: null, tags: {}, labels: {}, started_at: $at, ended_at: $at,
		 link: $c.build_url, context: $c, received_at: $at}
		+ (if $inbox > 0 then {inbox_id: $inbox} else {} end)'
}

# nophase SOURCE NUMBER STATUS TIME: a raw delivery of the Notification plugin's format without
# a phase, aurora issue 12's example: full_url as the issue gives it ("..."), the job's URL relative
nophase() {
	jq -cn --arg source "$1" --argjson n "$2" --arg status "$3" --arg at "$4" '
		{v: 1, type: "raw", id: $n, platform: $source, received_at: $at, headers: {},
		 body: {build: {number: $n, status: $status, full_url: "...",
			scm: {commit: "4793c8669191b0d662029d43e7aee5410f9b9894", branch: "main"}},
		  name: "api-build", url: "job/api-build/"}}'
}

# normalize_decide: $RAW through aurora-normalize (base URLs from the store) and aurora-correlate into $DEC
normalize_decide() {
	run -0 --separate-stderr aurora-normalize --db "$AURORA_DB" <"$RAW"
	[ -n "$output" ]
	printf '%s\n' "$output" >"$IN"
	decide
}

# fresh: a new store, no alerts, no requests seen (the stand-in keeps running)
fresh() {
	aurora_fresh_db
	: >"$IN"
	: >"$REQ"
}

# failed_payments: one failed build of payments-build, an incident of its own (RCA on for jenkins)
failed_payments() {
	run -0 aurora-connector rca jenkins on
	INBOX_ID=1 build jenkins payments-build 77 FAILURE 2026-03-03T10:00:00Z >>"$IN"
	decide
}

# thoughts_like PATTERN [INCIDENT]: how many thoughts of the incident (1) match the SQL LIKE pattern
thoughts_like() {
	local q="'"
	sql "SELECT count(*) FROM incident_thoughts WHERE incident_id = ${2:-1} AND text LIKE '${1//$q/$q$q}'"
}

@test "--fetch-timeout is in --help; a bad one is a usage error" {
	run -0 aurora-rca --help
	assert_output --partial "--fetch-timeout DUR"
	run -2 --separate-stderr aurora-rca --fetch-timeout soon
	[[ $stderr == *"--fetch-timeout"* ]]
	run -2 --separate-stderr aurora-rca --fetch-timeout 11m
	[ -z "$output" ]
}

@test "a failed build without a log: its console is read under the base URL with basic auth; the failing line is the evidence" {
	configure
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/rca.out"
	# one request, for the console text, with the credentials
	[ "$(requests)" -eq 1 ]
	json_ok '.path == "/jenkins/job/payments-build/77/consoleText" and .authorized' <"$REQ"
	run -0 --separate-stderr aurora-incident show 1 --json
	jq -en --arg link "${JBASE}job/payments-build/77/console" 'input
		| .status == "analyzed" and .rca_state == "complete"
		and .root_cause.kind == "build" and .root_cause.entity == "payments-build #77"
		and (.root_cause.summary | test("ERROR: test_totals failed: expected 42, got 41"))
		and any(.root_cause.evidence[]; .link == $link and (.what | test("^the console of payments-build #77: ERROR: test_totals failed")))
		and any(.thoughts[]; .text == "The console of payments-build #77 (\($link)) says: ERROR: test_totals failed: expected 42, got 41")' <<<"$output"
	# the analysis record aurora-rca printed says the same
	jq -en '[inputs | select(.type == "analysis")] | length == 1 and (.[0].root_cause.summary | test("test_totals failed"))' \
		<"$BATS_TEST_TMPDIR/rca.out"
	# its tail is stored on the build's row, with the console link
	[ "$(sql "SELECT console_excerpt LIKE '%ERROR: test_totals failed%' AND console_url = '${JBASE}job/payments-build/77/console' FROM builds WHERE job = 'payments-build' AND number = 77")" = 1 ]
}

@test "where the console is: the notification's console URL, else its build URL, else the job path (folders as job/A/job/B)" {
	configure
	run -0 aurora-connector rca jenkins on
	{
		INBOX_ID=1 build jenkins shop-api 5 FAILURE 2026-03-03T10:00:00Z \
			"{\"build_url\": \"${JBASE}job/shop-api/5/\", \"console_url\": \"${JBASE}job/shop-api/5/console\"}"
		INBOX_ID=2 build jenkins team/payments 9 FAILURE 2026-03-03T14:00:00Z
		INBOX_ID=3 build jenkins team/ledger 3 FAILURE 2026-03-03T18:00:00Z '{"build_url": null}'
	} >>"$IN"
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -j 1 <"$DEC"
	[ "$(sql "SELECT count(*) FROM incidents WHERE status = 'analyzed'")" = 3 ]
	run -0 jq -r '.path' "$REQ"
	assert_output "$(printf '%s\n' /jenkins/job/shop-api/5/consoleText /jenkins/job/team/job/payments/9/consoleText \
		/jenkins/job/team/job/ledger/3/consoleText)"
	[ "$(sql "SELECT count(*) FROM incidents WHERE root_cause LIKE '%OutOfMemoryError%'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incidents WHERE root_cause LIKE '%npm error Missing script: lint%'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incidents WHERE root_cause LIKE '%ERROR: ledger migrations failed%'")" = 1 ]
}

@test "a deploy suspect's console is read too, with Jenkins RCA off: its failing line is in the thought naming the build and in the evidence" {
	configure
	{
		INBOX_ID=1 build jenkins shipping-deploy 508 SUCCESS 2026-03-03T09:02:34Z
		INBOX_ID=2 alert splunk s1 firing 2026-03-03T09:09:40Z shipping "Shipping 5xx spike"
		INBOX_ID=3 alert pagerduty p1 firing 2026-03-03T09:12:17Z "Shipping API" "shipping burning error budget fast"
		INBOX_ID=4 alert dynatrace d1 firing 2026-03-03T09:13:17Z shipping "Failure rate increase"
	} >>"$IN"
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 1 ]
	json_ok '.path == "/jenkins/job/shipping-deploy/508/consoleText" and .authorized' <"$REQ"
	run -0 --separate-stderr aurora-incident show 1 --json
	jq -en --arg link "${JBASE}job/shipping-deploy/508/console" 'input
		| .status == "analyzed" and .root_cause.kind == "deploy" and .root_cause.entity == "shipping-deploy #508"
		and any(.root_cause.evidence[]; .what == "the console of shipping-deploy #508: WARNING: readiness probe failed on 2 of 6 pods, continuing" and .link == $link)
		and any(.thoughts[]; .text == "The console of shipping-deploy #508 (\($link)) says: WARNING: readiness probe failed on 2 of 6 pods, continuing")' <<<"$output"
}

@test "a CloudBees build is read with the cloudbees connector's base URL and credentials, not Jenkins'" {
	jenkins_config '{"prefix": "/cjoc"}'
	run -0 aurora-connector base-url jenkins "$JBASE"
	run -0 aurora-connector credentials jenkins someone-else --stdin <<<"not-the-token"
	run -0 aurora-connector base-url cloudbees "http://127.0.0.1:$JPORT/cjoc"
	run -0 aurora-connector credentials cloudbees aurora-reader --stdin <<<"$TOKEN"
	run -0 aurora-connector rca cloudbees on
	INBOX_ID=1 build cloudbees payments-build 77 FAILURE 2026-03-03T10:00:00Z >>"$IN"
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 1 ]
	json_ok '.path == "/cjoc/job/payments-build/77/consoleText" and .authorized' <"$REQ"
	[ "$(thoughts_like "The console of payments-build #77 (http://127.0.0.1:$JPORT/cjoc/job/payments-build/77/console) says: ERROR: test_totals failed%")" = 1 ]
	[ "$(sql "SELECT count(*) FROM builds WHERE source = 'cloudbees' AND console_excerpt IS NOT NULL")" = 1 ]
}

@test "wrong credentials: a thought says HTTP 401 and the investigation still completes (analyzed); a build Jenkins does not know: 404" {
	configure not-the-token
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 1 ]
	json_ok '.authorized == false' <"$REQ"
	[ "$(thoughts_like "The console of payments-build #77 was not read from ${JBASE}job/payments-build/77/consoleText: HTTP 401: jenkins refused the credentials%")" = 1 ]
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
	[ "$(sql "SELECT json_extract(root_cause, '$.kind') FROM incidents WHERE id = 1")" = build ]
	[ "$(sql "SELECT count(*) FROM builds WHERE console_excerpt IS NOT NULL")" = 0 ]

	fresh
	configure
	run -0 aurora-connector rca jenkins on
	INBOX_ID=1 build jenkins payments-build 78 FAILURE 2026-03-03T10:00:00Z >>"$IN"
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(thoughts_like "The console of payments-build #78 was not read from %: HTTP 404: jenkins has no such build%")" = 1 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = analyzed ]
}

@test "a slow Jenkins is cut at --fetch-timeout: a thought says it timed out, the investigation completes in time" {
	jenkins_config '{"mode": "slow", "delay": 20}'
	configure
	failed_payments
	local t0=$SECONDS
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --fetch-timeout 1s <"$DEC"
	[ $((SECONDS - t0)) -lt 8 ]
	[ "$(requests)" -eq 1 ]
	[ "$(thoughts_like "The console of payments-build #77 was not read from %: timed out after 1000 ms")" = 1 ]
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
	# --fetch-timeout 0s: no console is read at all
	fresh
	configure
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --fetch-timeout 0s <"$DEC"
	[ "$(requests)" -eq 0 ]
	[ "$(thoughts_like 'The console of %')" = 0 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = analyzed ]
}

@test "a huge console: its last MiB is read and the failing line at its end found; past 32 MiB it is not read at all" {
	jenkins_config '{"mode": "huge", "huge_bytes": 3145728, "chunked": true,
		"consoles": {"payments-build/77": "\nERROR: disk quota exceeded writing artifacts\nFinished: FAILURE\n"}}'
	configure
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(thoughts_like 'The console of payments-build #77 (%) says: ERROR: disk quota exceeded writing artifacts')" = 1 ]
	# what is stored is the console's tail, a few KiB, not the console
	[ "$(sql "SELECT length(console_excerpt) BETWEEN 100 AND 8192 FROM builds WHERE number = 77")" = 1 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = analyzed ]
	# 40 MiB, announced by Content-Length or not: refused, said, and the investigation completes
	local chunked
	for chunked in false true; do
		jenkins_config '{"mode": "huge", "huge_bytes": 41943040, "chunked": '"$chunked"',
			"consoles": {"payments-build/77": "\nERROR: disk quota exceeded\n"}}'
		fresh
		configure
		failed_payments
		run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
		[ "$(thoughts_like 'The console of payments-build #77 was not read from %: the answer is larger than 33554432 bytes')" = 1 ]
		[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
		[ "$(sql "SELECT count(*) FROM builds WHERE console_excerpt IS NOT NULL")" = 0 ]
	done
}

@test "a console URL outside the base URL is not fetched, nor a redirect followed: the stand-in sees no request there" {
	configure
	run -0 aurora-connector rca jenkins on
	local other
	other=$(free_port)
	{
		INBOX_ID=1 build jenkins shop-api 5 FAILURE 2026-03-03T10:00:00Z \
			"{\"console_url\": \"http://127.0.0.1:$JPORT/elsewhere/job/shop-api/5/console\"}"
		INBOX_ID=2 build jenkins team/payments 9 FAILURE 2026-03-03T14:00:00Z \
			"{\"console_url\": \"http://127.0.0.1:$other/jenkins/job/team/job/payments/9/console\"}"
		INBOX_ID=3 build jenkins team/ledger 3 FAILURE 2026-03-03T18:00:00Z \
			"{\"console_url\": \"${JBASE}../elsewhere/job/team/job/ledger/3/console\"}"
		INBOX_ID=4 build jenkins payments-build 77 FAILURE 2026-03-03T22:00:00Z \
			"{\"console_url\": \"${JBASE}job/payments-build/77/%2e%2e/%2e%2e/%2e%2e/console\"}"
	} >>"$IN"
	decide
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -j 1 <"$DEC"
	[ "$(requests)" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM incidents WHERE status = 'analyzed'")" = 4 ]
	[ "$(thoughts_like "The console of shop-api #5 was not read: http://127.0.0.1:$JPORT/elsewhere/job/shop-api/5/consoleText is outside the jenkins base URL $JBASE (its path is not under the base URL's path)" 1)" = 1 ]
	[ "$(thoughts_like "The console of team/payments #9 was not read: % is outside the jenkins base URL % (it names another host or port than the base URL)" 2)" = 1 ]
	[ "$(thoughts_like "The console of team/ledger #3 was not read: % is outside the jenkins base URL %" 3)" = 1 ]
	[ "$(thoughts_like "The console of payments-build #77 was not read: % is outside the jenkins base URL % (the URL holds % an encoded dot%" 4)" = 1 ]

	# a redirect elsewhere is an answer, not a place to go
	jenkins_config '{"mode": "redirect"}'
	fresh
	configure
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 1 ]
	json_ok '.path == "/jenkins/job/payments-build/77/consoleText"' <"$REQ"
	[ "$(thoughts_like 'The console of payments-build #77 was not read from %: HTTP 302: a redirect, not followed%')" = 1 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = analyzed ]
}

@test "the API token is in no output: stdout, stderr, thoughts, show, events, the store - even when the console echoes it" {
	jenkins_config '{"mode": "echo"}'
	configure
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -v <"$DEC"
	local all="$output $stderr"
	[ "$(requests)" -eq 1 ]
	# it was read: the failing line is there, what carried the token is not
	[ "$(thoughts_like 'The console of payments-build #77 (%) says: ERROR: test_totals failed%')" = 1 ]
	run -0 --separate-stderr aurora-incident show 1 --json
	all+=" $output $stderr"
	run -0 --separate-stderr aurora-incident show 1
	all+=" $output $stderr"
	run -0 --separate-stderr aurora-connector list --json
	all+=" $output $stderr"
	run -0 sql "SELECT text FROM incident_thoughts; SELECT data FROM events; SELECT root_cause FROM incidents;
		SELECT title || command || text FROM incident_suggestions; SELECT console_excerpt FROM builds"
	all+=" $output"
	[[ $all == *"test_totals failed"* ]]
	[[ $all != *"$TOKEN"* ]]
	[[ $all != *"$TOKEN_B64"* ]]
	# nor after a refusal (401), nor a timeout
	fresh
	configure "$TOKEN-wrong"
	failed_payments
	jenkins_config '{"mode": "slow", "delay": 5}'
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" -v --fetch-timeout 300ms <"$DEC"
	all="$output $stderr $(sql 'SELECT text FROM incident_thoughts')"
	[[ $all == *"timed out after 300 ms"* ]]
	[[ $all != *"$TOKEN"* ]]
}

@test "a second investigation reads the stored console: no second fetch, no thought twice" {
	configure
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 1 ]
	local thoughts
	thoughts=$(sql "SELECT count(*) FROM incident_thoughts WHERE kind = 'thought'")
	# an interruption left it running: the next start investigates it again
	sql "UPDATE incidents SET rca_state = 'running', status = 'investigating' WHERE id = 1"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" </dev/null
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
	[ "$(sql "SELECT count(*) FROM events WHERE type = 'rca.restarted'")" = 1 ]
	[ "$(requests)" -eq 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE kind = 'thought'")" = "$thoughts" ]
	[ "$(thoughts_like 'The console of payments-build #77 (%) says: ERROR: test_totals failed%')" = 1 ]
	[ "$(sql "SELECT root_cause LIKE '%test_totals failed%' FROM incidents WHERE id = 1")" = 1 ]
}

@test "no credentials: a thought says so and nothing is fetched; no base URL: nothing is said or fetched" {
	run -0 aurora-connector base-url jenkins "$JBASE"
	failed_payments
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 0 ]
	[ "$(thoughts_like 'The console of payments-build #77 was not read: jenkins has a base URL but no credentials (aurora-connector credentials jenkins USER --stdin)')" = 1 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = analyzed ]

	fresh
	failed_payments
	run -0 --separate-stderr aurora-connector credentials jenkins aurora-reader --stdin <<<"$TOKEN"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 0 ]
	[ "$(thoughts_like 'The console of %')" = 0 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = analyzed ]
}

@test "issue 12's example, a failed build with no phase: normalize, correlate, an incident; with RCA on its console is read and blamed; #44's SUCCESS resolves it" {
	RAW="$BATS_TEST_TMPDIR/raw.jsonl"
	configure
	nophase jenkins 43 FAILURE 2026-03-03T10:00:00Z >"$RAW"
	# RCA off (the default): a firing alert, logged by aurora-correlate, no incident, nothing fetched
	normalize_decide
	json_ok '.type == "alert" and .status == "firing" and .severity == "high" and .dedup_key == "api-build"
		and .title == "Build api-build #43 failed" and .context.result == "FAILURE"' <"$IN"
	json_ok '.link == $link' --arg link "${JBASE}job/api-build/43/" <"$IN"
	json_ok '.action == "logged" and .incident_id == null' <"$DEC"
	run -0 aurora-rca --db "$AURORA_DB" <"$DEC"
	[ -z "$output" ]
	[ "$(sql 'SELECT count(*) FROM incidents')" = 0 ]
	[ "$(requests)" -eq 0 ]

	# RCA on: an incident, investigated like any failed build
	fresh
	configure
	run -0 aurora-connector rca jenkins on
	normalize_decide
	json_ok '.action == "created" and .incident_id == 1 and .source == "jenkins"' <"$DEC"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$DEC"
	[ "$(requests)" -eq 1 ]
	json_ok '.path == "/jenkins/job/api-build/43/consoleText" and .authorized' <"$REQ"
	run -0 --separate-stderr aurora-incident show 1 --json
	json_ok '.status == "analyzed" and .rca_state == "complete"
		and .root_cause.kind == "build" and .root_cause.entity == "api-build #43"
		and (.root_cause.summary | test("api contract v2 mismatch"))' <<<"$output"

	# build #44 of the same job succeeds: the same alert resolves, in the same incident
	nophase jenkins 44 SUCCESS 2026-03-03T10:20:00Z >"$RAW"
	normalize_decide
	json_ok '.status == "resolved" and .dedup_key == "api-build" and .action == "resolved" and .incident_id == 1' <"$DEC"
	[ "$(sql "SELECT count(*) FROM alerts WHERE source = 'jenkins'")" = 1 ]
	[ "$(sql "SELECT status FROM alerts WHERE source = 'jenkins'")" = resolved ]
}
