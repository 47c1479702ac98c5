#!/usr/bin/env bats
# aurora-correlate: dedup, every strategy, resolution, recurrence, gating, bad input.

load helpers/common
load helpers/correlate

setup() {
	aurora_fresh_db
	IN="$BATS_TEST_TMPDIR/in.jsonl"
	: > "$IN"
}

@test "the first alert creates an incident, a second on the same service attaches by service_match" {
	alert grafana fp1 firing 2026-03-03T18:00:00Z checkout "checkout p95 above 2s" >> "$IN"
	alert datadog cyc1 firing 2026-03-03T18:01:00Z "Checkout API" "checkout error rate high" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	expect_decision 1 '.type == "decision" and .action == "created" and .incident_id == 1
		and .source == "grafana" and .dedup_key == "fp1" and .v == 1'
	expect_decision 2 '.action == "attached" and .incident_id == 1
		and .correlation.strategy == "service_match" and .correlation.score == 0.9
		and .correlation.matched_incident == 1 and (.correlation.reason | test("checkout"))'
	[ "$(sql 'SELECT count(*) FROM incidents')" = 1 ]
	[ "$(sql "SELECT strategy || ' ' || score FROM incident_alerts WHERE alert_id = 2")" = "service_match 0.9" ]
	[ "$(sql "SELECT type FROM events ORDER BY id")" = "$(printf 'incident.created\nalert.attached')" ]
}

@test "the same alert identity again is deduplicated: one alert row, its count grows, no second incident" {
	alert grafana fp1 firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	alert grafana fp1 firing 2026-03-03T18:04:00Z checkout "checkout slow" >> "$IN"
	alert grafana fp1 firing 2026-03-03T22:04:00Z checkout "checkout slow" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	expect_decision 2 '.action == "deduplicated" and .incident_id == 1 and .correlation.strategy == "dedup"'
	expect_decision 3 '.action == "deduplicated" and .incident_id == 1'
	[ "$(sql 'SELECT count(*) || " " || max(count) FROM alerts')" = "1 3" ]
	[ "$(sql 'SELECT count(*) FROM incidents')" = 1 ]
}

@test "a replayed delivery (same inbox id) changes nothing" {
	INBOX_ID=7 alert grafana fp1 firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	INBOX_ID=7 alert grafana fp1 firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "deduplicated" and (.correlation.reason | test("already counted"))'
	[ "$(sql 'SELECT count FROM alerts')" = 1 ]
}

@test "when every alert of an incident resolves, the incident resolves itself and says why" {
	alert alertmanager a1 firing 2026-03-03T03:02:00Z payments "payments 5xx ratio above 5%" >> "$IN"
	alert grafana g1 firing 2026-03-03T03:02:30Z payments "payments 5xx ratio above 5%" >> "$IN"
	alert alertmanager a1 resolved 2026-03-03T03:09:00Z payments "payments 5xx ratio above 5%" >> "$IN"
	alert grafana g1 resolved 2026-03-03T03:11:00Z payments "payments 5xx ratio above 5%" >> "$IN"
	correlate "$IN" --quiet-period 0
	[ "$status" -eq 0 ]
	expect_decision 3 '.action == "resolved" and .incident_id == 1'
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = resolved ]
	expect_decision 4 '.action == "resolved" and .incident_id == 1'
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = resolved ]
	sql "SELECT data FROM events WHERE type = 'incident.status_changed'" |
		jq -e '.from == "investigating" and .to == "resolved" and .reason == "all 2 alerts resolved"'
}

@test "a resolved incident never absorbs new alerts: a recurrence opens a new incident linked to it" {
	alert grafana g1 firing 2026-03-03T03:00:00Z payments "payments errors" >> "$IN"
	alert grafana g1 resolved 2026-03-03T03:05:00Z payments "payments errors" >> "$IN"
	alert datadog d1 firing 2026-03-03T03:06:00Z payments "payments latency" >> "$IN"
	alert grafana g1 firing 2026-03-03T03:10:00Z payments "payments errors" >> "$IN"
	correlate "$IN" --quiet-period 0
	[ "$status" -eq 0 ]
	expect_decision 3 '.action == "created" and .incident_id == 2'
	expect_decision 4 '.action == "attached" and .incident_id == 2'
	[ "$(sql 'SELECT incident_id FROM alerts WHERE dedup_key = "g1"')" = 2 ]
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = resolved ]
	# a recurrence that creates its incident links back to the earlier one
	: > "$IN"
	alert grafana g1 resolved 2026-03-03T03:12:00Z payments "payments errors" >> "$IN"
	alert datadog d1 resolved 2026-03-03T03:12:00Z payments "payments latency" >> "$IN"
	alert grafana g1 firing 2026-03-03T08:00:00Z payments "payments errors" >> "$IN"
	correlate "$IN" --quiet-period 0
	expect_decision 3 '.action == "created" and .incident_id == 3 and (.correlation.reason | test("recurs after incident 2"))'
	[ "$(sql 'SELECT previous_incident FROM incidents WHERE id = 3')" = 2 ]
}

@test "service_mention joins a database's incident and the clients that name it, both ways" {
	alert alertmanager db1 firing 2026-03-03T18:00:00Z users-db "users-db replica lagging" >> "$IN"
	alert grafana c1 firing 2026-03-03T18:00:30Z search "search errors talking to users-db" >> "$IN"
	alert grafana c2 firing 2026-03-03T18:01:00Z profile "profile consumer lag growing" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_mention"
		and .correlation.score == 0.85'
	expect_decision 3 '.action == "created" and .incident_id == 2'
	# the other order: the clients first, then the database they named
	aurora_fresh_db
	: > "$IN"
	alert grafana c1 firing 2026-03-03T18:00:00Z search "search errors talking to orders-db" >> "$IN"
	alert alertmanager db1 firing 2026-03-03T18:01:00Z orders-db "orders-db connection pool exhausted" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_mention"'
}

@test "a hyphenated host name is not a mention of its first word" {
	alert netdata "catalog-db-1:disk" firing 2026-03-03T15:00:00Z "" "disk_space_usage on catalog-db-1" "disk /var space" catalog-db-1 >> "$IN"
	alert datadog cyc firing 2026-03-03T15:02:00Z catalog "catalog container OOM killed" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "created" and .incident_id == 2'
}

@test "the same alarm on a fleet of numbered hosts is one incident" {
	for h in 1 2 3; do
		alert netdata "search-$h:cpu" firing "2026-03-03T21:00:1${h}Z" "" "10min_cpu_usage on search-$h" "average CPU" "search-$h" >> "$IN"
	done
	correlate "$IN"
	expect_decision 1 '.action == "created"'
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_match"'
	expect_decision 3 '.action == "attached" and .incident_id == 1'
}

@test "semantic_similarity joins alerts without a service that say the same thing" {
	alert splunk s1 firing 2026-03-03T12:00:00Z "" "disk latency spike on storage array" >> "$IN"
	alert dynatrace p1 firing 2026-03-03T12:02:00Z "" "storage array disk latency spike" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "attached" and .correlation.strategy == "semantic_similarity"
		and .correlation.score >= 0.7 and (.correlation.reason | test("cosine"))'
}

@test "time alone does not join unrelated services by default; --time-score above the threshold makes it" {
	alert grafana s1 firing 2026-03-03T12:00:00Z search "search requests slow" >> "$IN"
	alert datadog c1 firing 2026-03-03T12:01:00Z cart "cart container OOM killed" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "created" and .incident_id == 2 and .correlation.strategy == "time_cluster"
		and .correlation.matched_incident == 1 and (.correlation.reason | test("under 0.75"))'
	aurora_fresh_db
	correlate "$IN" --time-score 0.8
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "time_cluster"'
}

@test "an open incident past the window is no candidate" {
	alert grafana s1 firing 2026-03-03T12:00:00Z search "search requests slow" >> "$IN"
	alert grafana s2 firing 2026-03-03T13:00:00Z search "search p99 above 2s" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "created" and .incident_id == 2'
	aurora_fresh_db
	correlate "$IN" --window 2h
	expect_decision 2 '.action == "attached" and .incident_id == 1'
}

@test "jenkins builds are logged while RCA is off for the connector, and make incidents when it is on" {
	alert jenkins shop-api firing 2026-03-03T09:00:00Z shop-api "shop-api build #128 FAILURE" >> "$IN"
	alert jenkins shop-api resolved 2026-03-03T09:20:00Z shop-api "shop-api build #129 SUCCESS" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	expect_decision 1 '.action == "logged" and .incident_id == null'
	expect_decision 2 '.action == "logged" and .incident_id == null'
	[ "$(sql 'SELECT count(*) FROM incidents')" = 0 ]
	[ "$(sql 'SELECT count(*) || " " || status FROM alerts')" = "1 resolved" ]

	aurora_fresh_db
	aurora-connector rca jenkins on >/dev/null
	correlate "$IN" --quiet-period 0
	expect_decision 1 '.action == "created" and .incident_id == 1'
	expect_decision 2 '.action == "resolved" and .incident_id == 1'
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = resolved ]
}

@test "notes and test deliveries are logged, never incidents" {
	jq -cn '{v:1, type:"note", source:"jenkins", inbox_id:3, text:"build queued"}' >> "$IN"
	alert pagerduty ping firing 2026-03-03T12:00:00Z "" "pagey ping" | jq -c '.test = true' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	expect_decision 1 '.type == "decision" and .action == "logged" and .incident_id == null and .inbox_id == 3'
	expect_decision 2 '.action == "logged" and .incident_id == null'
	[ "$(sql 'SELECT count(*) FROM incidents')" = 0 ]
}

@test "bad lines are reported with their line number, skipped, and counted in the exit code" {
	alert grafana fp1 firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	echo '{"v":1,"type":"alert","source":"grafana"' >> "$IN"
	echo '{"v":1,"type":"alert","source":"grafana","status":"firing","received_at":"2026-03-03T18:00:00Z"}' >> "$IN"
	echo '{"v":1,"type":"alert","source":"grafana","dedup_key":"x","status":"burning","received_at":"2026-03-03T18:00:00Z"}' >> "$IN"
	echo '{"v":1,"type":"alert","source":"grafana","dedup_key":"x","status":"firing"}' >> "$IN"
	echo '{"v":1,"type":"raw","id":1}' >> "$IN"
	alert grafana fp2 firing 2026-03-03T18:01:00Z checkout "checkout errors" >> "$IN"
	WANT=1 correlate "$IN"
	[ "$status" -eq 1 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out.jsonl")" -eq 2 ]
	expect_decision 2 '.action == "attached" and .dedup_key == "fp2"'
	[[ "$stderr" == *"line 2: invalid JSON"* ]]
	[[ "$stderr" == *"line 3: alert record without dedup_key"* ]]
	[[ "$stderr" == *"line 4: alert status must be firing or resolved"* ]]
	[[ "$stderr" == *"line 5: alert record has neither received_at nor started_at"* ]]
	[[ "$stderr" == *"line 6: not an alert record (type raw)"* ]]
	[[ "$stderr" == *"5 records rejected"* ]]
	aurora_fresh_db
	WANT=65 correlate "$IN" --strict
	[ "$status" -eq 65 ]
}

@test "the same input gives the same incidents and decisions, run after run (time comes from the records)" {
	alert grafana a firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	alert grafana b firing 2026-03-03T18:00:10Z search "search errors talking to checkout" >> "$IN"
	alert datadog c firing 2026-03-03T18:20:00Z cart "cart OOM" >> "$IN"
	alert grafana a resolved 2026-03-03T18:30:00Z checkout "checkout slow" >> "$IN"
	correlate "$IN"
	cp "$BATS_TEST_TMPDIR/out.jsonl" "$BATS_TEST_TMPDIR/first.jsonl"
	sql "SELECT id, title, status, started_at, last_activity_ms FROM incidents" > "$BATS_TEST_TMPDIR/first.sql"
	AURORA_DB="$BATS_TEST_TMPDIR/second.db"
	sleep 1
	correlate "$IN"
	sql "SELECT id, title, status, started_at, last_activity_ms FROM incidents" > "$BATS_TEST_TMPDIR/second.sql"
	# four decisions and two incidents, not two empty runs that agree
	[ "$(wc -l <"$BATS_TEST_TMPDIR/first.jsonl")" -eq 4 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/first.sql")" -eq 2 ]
	cmp "$BATS_TEST_TMPDIR/first.jsonl" "$BATS_TEST_TMPDIR/out.jsonl"
	cmp "$BATS_TEST_TMPDIR/first.sql" "$BATS_TEST_TMPDIR/second.sql"
}

@test "an alert of a merged incident follows it into the incident that absorbed it" {
	alert grafana a firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	alert datadog b firing 2026-03-03T18:00:10Z cart "cart OOM" >> "$IN"
	correlate "$IN"
	sql "BEGIN; UPDATE incidents SET status = 'merged', merged_into = 2 WHERE id = 1;
	     UPDATE alerts SET incident_id = 2 WHERE incident_id = 1; COMMIT;"
	: > "$IN"
	alert grafana a firing 2026-03-03T18:05:00Z checkout "checkout slow" >> "$IN"
	correlate "$IN"
	expect_decision 1 '.action == "deduplicated" and .incident_id == 2'
}

@test "incident severity is the worst of its alerts" {
	alert grafana a firing 2026-03-03T18:00:00Z checkout "checkout slow" | jq -c '.severity = "low"' >> "$IN"
	alert grafana b firing 2026-03-03T18:01:00Z checkout "checkout down" | jq -c '.severity = "critical"' >> "$IN"
	alert grafana c firing 2026-03-03T18:02:00Z checkout "checkout meh" | jq -c '.severity = "medium"' >> "$IN"
	correlate "$IN"
	[ "$(sql 'SELECT severity FROM incidents WHERE id = 1')" = critical ]
}

@test "usage: --help, --version, bad options and values" {
	run -0 aurora-correlate --help
	[[ "$output" == *"--time-window"* ]]
	run -0 aurora-correlate --version
	[ "$output" = "aurora-correlate 0.1.0" ]
	run -2 --separate-stderr aurora-correlate --bogus
	[[ "$stderr" == *"usage:"* ]]
	run -2 --separate-stderr aurora-correlate --threshold 2
	[[ "$stderr" == *"not a number from 0 to 1"* ]]
	run -2 --separate-stderr aurora-correlate --window soon
	[[ "$stderr" == *"not a duration"* ]]
	run -2 --separate-stderr aurora-correlate extra
	[[ "$stderr" == *"unexpected argument 'extra'"* ]]
}

@test "a database locked past the busy timeout exits 75 and the record is not half-written" {
	alert grafana a firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	correlate "$IN"
	: > "$IN"
	alert grafana b firing 2026-03-03T18:01:00Z checkout "checkout down" >> "$IN"
	mkfifo "$BATS_TEST_TMPDIR/hold"
	sqlite3 "$AURORA_DB" < "$BATS_TEST_TMPDIR/hold" &
	holder=$!
	exec 9>"$BATS_TEST_TMPDIR/hold"
	echo "BEGIN EXCLUSIVE; SELECT 1;" >&9
	sleep 0.3
	WANT=75 correlate "$IN" --busy-timeout 200
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$holder"
	[ "$status" -eq 75 ]
	[ "$(sql 'SELECT count(*) FROM alerts')" = 1 ]
}

start_embeddings() {
	python3 "$AURORA_TOP/tests/helpers/embeddings-standin.py" "$BATS_TEST_TMPDIR/embed.port" \
		"$BATS_TEST_TMPDIR/embed.log" &
	EMBED_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$BATS_TEST_TMPDIR/embed.port" ] && break
		sleep 0.05
	done
	EMBED_PORT=$(cat "$BATS_TEST_TMPDIR/embed.port")
}

teardown() {
	[ -z "${EMBED_PID:-}" ] || kill "$EMBED_PID" 2>/dev/null || true
}

@test "with AURORA_EMBED_URL the similarity comes from the embeddings endpoint" {
	start_embeddings
	alert splunk s1 firing 2026-03-03T12:00:00Z "" "disk latency spike on storage array" >> "$IN"
	alert dynatrace p1 firing 2026-03-03T12:02:00Z "" "storage array disk latency spike" >> "$IN"
	alert dynatrace p2 firing 2026-03-03T12:03:00Z "" "login page returns blank" >> "$IN"
	AURORA_EMBED_URL="http://127.0.0.1:$EMBED_PORT/v1/embeddings" AURORA_EMBED_MODEL=nomic-embed-text \
		AURORA_EMBED_KEY=sk-test correlate "$IN"
	[ "$status" -eq 0 ]
	expect_decision 2 '.action == "attached" and .correlation.strategy == "semantic_similarity"
		and .correlation.score >= 0.9'
	expect_decision 3 '.action == "created"'
	[ "$(wc -l < "$BATS_TEST_TMPDIR/embed.log")" -eq 3 ]
	head -n 1 "$BATS_TEST_TMPDIR/embed.log" | jq -e '.path == "/v1/embeddings" and .authorization == "Bearer sk-test"
		and .body.model == "nomic-embed-text" and .body.input == "disk latency spike on storage array"'
	[ "$(sql "SELECT substr(hex(vector), 9, 2) FROM incidents WHERE id = 1")" = 44 ]
}

@test "an unreachable embeddings endpoint is a warning: the built-in vectorizer stands in" {
	port=$(free_port)
	alert splunk s1 firing 2026-03-03T12:00:00Z "" "disk latency spike on storage array" >> "$IN"
	alert dynatrace p1 firing 2026-03-03T12:02:00Z "" "storage array disk latency spike" >> "$IN"
	AURORA_EMBED_URL="http://127.0.0.1:$port/v1/embeddings" correlate "$IN"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"line 1: embeddings endpoint http://127.0.0.1:$port/v1/embeddings"*"using the built-in vectorizer"* ]]
	expect_decision 2 '.action == "attached" and .correlation.strategy == "semantic_similarity"'
}

@test "an alert naming a host of an incident by its own name joins it" {
	alert alertmanager d1 firing 2026-03-03T15:00:00Z "" "disk almost full" "/var above 90%" "db-3.prod:9100" >> "$IN"
	alert grafana e1 firing 2026-03-03T15:01:00Z orders "orders timeouts talking to db-3" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_mention"
		and (.correlation.reason | test("db-3"))'
}

@test "similar text does not join two named services that share nothing, unless asked to" {
	alert grafana s1 firing 2026-03-03T12:00:00Z search "search requests slow" "median response time doubled" >> "$IN"
	alert grafana c1 firing 2026-03-03T12:01:00Z cart "cart requests slow" "median response time doubled" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "created" and .incident_id == 2'
	aurora_fresh_db
	correlate "$IN" --semantic-across-services
	expect_decision 2 '.action == "attached" and .correlation.strategy == "semantic_similarity"'
}

@test "two clients naming the same dependency join before the dependency alerts itself" {
	alert grafana i1 firing 2026-03-03T18:01:00Z inventory "inventory errors talking to orders-db" >> "$IN"
	alert grafana p1 firing 2026-03-03T18:01:30Z payments "payments errors talking to orders-db" >> "$IN"
	alert grafana s1 firing 2026-03-03T18:02:00Z search "search p99 latency above 2s" >> "$IN"
	correlate "$IN"
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_mention"
		and .correlation.reason == "both name '"'"'orders-db'"'"'"'
	expect_decision 3 '.action == "created" and .incident_id == 2'
}

@test "a file that is not an aurora database is refused (78) and left untouched, not migrated" {
	not_aurora_files
	alert grafana fp1 firing 2026-03-03T18:00:00Z checkout "checkout slow" >> "$IN"
	local f
	for f in other text; do
		run -78 --separate-stderr aurora-correlate --db "$BATS_TEST_TMPDIR/$f.db" <"$IN"
		[[ $stderr == *"$f.db is not an aurora database"* ]] || fail "stderr: $stderr"
		assert_output ""
	done
	not_aurora_untouched
}

@test "one service under each tool's name is one incident, and every decision says which key joined it" {
	alert pagerduty p1 firing 2026-03-05T09:00:00Z "Checkout - Production" "checkout: error budget fast burn" >> "$IN"
	alert alertmanager a1 firing 2026-03-05T09:01:00Z "checkout-api (prod)" "error budget fast burn" >> "$IN"
	alert datadog d1 firing 2026-03-05T09:02:00Z "" "5xx rate at 34%" |
		amend '.tags = {env: "prod", svc: "checkout-prod"}' >> "$IN"
	alert dynatrace t1 firing 2026-03-05T09:03:00Z CheckoutController "Failure rate increase" >> "$IN"
	alert datadog d2 firing 2026-03-05T09:04:00Z "" "containers restarting" |
		amend '.tags = {kube_deployment: "checkout-api"}' >> "$IN"
	alert alertmanager a2 firing 2026-03-05T09:05:00Z kube-prometheus-stack-kube-state-metrics \
		"Deployment has not matched the expected number of replicas." |
		amend '.labels = {job: "kube-state-metrics", namespace: "checkout", deployment: "checkout-api"}' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	run -0 jq -sc 'map(.incident_id) | unique' "$BATS_TEST_TMPDIR/out.jsonl"
	[ "$output" = "[1]" ]
	run -0 jq -sc 'map(.service_key) | unique' "$BATS_TEST_TMPDIR/out.jsonl"
	[ "$output" = '["checkout"]' ]
	expect_decision 1 '.action == "created" and .subject.name == "Checkout - Production" and .subject.kind == "service"'
	expect_decision 2 '.correlation.strategy == "service_match"
		and .correlation.reason == "same service key checkout (from '"'checkout-api (prod)'"', service)"'
	expect_decision 3 '.subject == {name: "checkout-prod", key: "checkout", from: "tag svc", kind: "service", depends_on: []}'
	expect_decision 4 '.subject.name == "CheckoutController" and .correlation.strategy == "service_match"'
	expect_decision 5 '.subject.from == "tag kube_deployment" and .subject.kind == "workload"'
	# the exporter's own service label is not the subject: the deployment is
	expect_decision 6 '.subject.from == "label deployment" and .subject.key == "checkout"
		and .correlation.strategy == "service_match"'
}

@test "checkout and checkout-db stay two services: one incident each" {
	alert grafana g1 firing 2026-03-05T09:00:00Z checkout "checkout: 5xx rate at 20%" >> "$IN"
	alert alertmanager a1 firing 2026-03-05T09:01:00Z checkout-db "replication lag above 30s" >> "$IN"
	alert pagerduty p1 firing 2026-03-05T09:02:00Z "Checkout DB" "replication lag above 30s" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.action == "created" and .incident_id == 2 and .service_key == "checkout-db"'
	expect_decision 3 '.action == "attached" and .incident_id == 2 and .correlation.strategy == "service_match"'
}

@test "exporter alerts: the subject is the pod's workload, the probe's target or the node, not the exporter" {
	alert grafana g1 firing 2026-03-05T09:00:00Z returns "returns: containers restarting" >> "$IN"
	alert alertmanager k1 firing 2026-03-05T09:01:00Z kube-prometheus-stack-kube-state-metrics \
		"Pod is crash looping." |
		amend '.labels = {job: "kube-state-metrics", namespace: "kube-system",
			pod: "returns-api-tc8sb4kjpg-jz69x"}' >> "$IN"
	alert alertmanager b1 firing 2026-03-05T09:02:00Z "" "probe failing" |
		amend '.labels = {job: "blackbox-http", instance: "https://Loyalty.example.com/healthz"}' >> "$IN"
	alert alertmanager n1 firing 2026-03-05T09:03:00Z node-exporter "disk almost full" "" 10.0.0.7 |
		amend '.labels = {job: "node-exporter", instance: "10.0.0.7:9100", nodename: "web-7.prod"}' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.incident_id == 1 and .subject.kind == "pod" and .subject.key == "returns"'
	expect_decision 3 '.subject.kind == "target" and .subject.key == "loyalty.example.com"'
	expect_decision 4 '.subject.kind == "host" and .subject.key == "web" and .subject.from == "label nodename"'
	# the incident is the target's, not the blackbox exporter's
	[ "$(sql 'SELECT service FROM incidents WHERE id = 2')" = loyalty.example.com ]
}

@test "dependency: a client naming a failing datastore in a label joins its incident, whichever came first" {
	alert alertmanager db1 firing 2026-03-05T09:00:00Z search-es "Elasticsearch cluster red" >> "$IN"
	alert grafana c1 firing 2026-03-05T09:01:00Z catalog "catalog: waiting for connections" |
		amend '.labels = {db: "search-es"}' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "dependency"
		and .correlation.score == 0.85 and .correlation.reason == "depends on search-es (label db '"'search-es'"')"
		and .subject.depends_on[0].key == "search-es"'

	# the client first: the datastore's own alert finds the incident by what its alerts depend on
	aurora_fresh_db
	: > "$IN"
	alert datadog c1 firing 2026-03-05T09:00:00Z "" "catalog: calls failing" |
		amend '.tags = {service: "catalog", "peer.service": "cart-api"}' >> "$IN"
	alert grafana up1 firing 2026-03-05T09:02:00Z cart "cart: pods not ready" >> "$IN"
	alert grafana c2 firing 2026-03-05T09:03:00Z search "search: calls failing" |
		amend '.labels = {upstream: "cart"}' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "dependency"
		and .correlation.reason == "the incident'"'"'s alerts depend on cart"'
	expect_decision 3 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "dependency"'
}

@test "dependency: two clients of one service join before the service alerts itself" {
	alert grafana c1 firing 2026-03-05T09:00:00Z catalog "catalog: outbound errors" |
		amend '.labels = {upstream: "cart"}' >> "$IN"
	alert alertmanager c2 firing 2026-03-05T09:02:00Z "" "search: 5xx rate at 22%" |
		amend '.labels = {namespace: "search", destination_service: "cart-api.cart.svc.cluster.local"}' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.action == "attached" and .incident_id == 1
		and (.correlation.reason | startswith("both depend on cart (label destination_service"))'
}

@test "flapping: an alert firing again within the quiet period rejoins its incident; after it, a new one" {
	alert datadog f1 firing 2026-03-05T09:00:00Z inventory "inventory: error budget fast burn" >> "$IN"
	alert datadog f1 resolved 2026-03-05T09:02:00Z inventory "inventory: error budget fast burn" >> "$IN"
	alert datadog f1 firing 2026-03-05T09:05:00Z inventory "inventory: error budget fast burn" >> "$IN"
	alert datadog f1 resolved 2026-03-05T09:06:00Z inventory "inventory: error budget fast burn" >> "$IN"
	alert datadog f1 firing 2026-03-05T12:00:00Z inventory "inventory: error budget fast burn" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 3 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "flapping"
		and (.correlation.reason | startswith("flapping: re-fired 3m after all alerts resolved"))'
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = resolved ]
	expect_decision 5 '.action == "created" and .incident_id == 2
		and (.correlation.reason | test("recurs after incident 1"))'

	# a shorter quiet period: the same re-fire is a recurrence
	aurora_fresh_db
	correlate "$IN" --quiet-period 2m
	[ "$status" -eq 0 ]
	expect_decision 3 '.action == "created" and .incident_id == 2'
}

@test "info alerts and heartbeats open no incident: logged with the reason, attached where they correlate" {
	alert alertmanager w1 firing 2026-03-05T09:00:00Z "" "An alert that should always be firing" |
		amend '.severity = "info" | .labels = {alertname: "Watchdog"}' >> "$IN"
	alert alertmanager w2 firing 2026-03-05T09:00:00Z "" "dead man's switch" |
		amend '.labels = {alertname: "DeadMansSwitch"}' >> "$IN"
	alert datadog i1 firing 2026-03-05T09:01:00Z returns-api "Autoscaling: returns scaled out" |
		amend '.severity = "info"' >> "$IN"
	alert grafana g1 firing 2026-03-05T09:02:00Z returns "returns: containers restarting" >> "$IN"
	alert datadog i2 firing 2026-03-05T09:03:00Z returns-api "Autoscaling: returns scaled in" |
		amend '.severity = "info"' >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 1 '.action == "logged" and .incident_id == null
		and (.correlation.reason | startswith("a heartbeat"))'
	expect_decision 2 '.action == "logged" and .incident_id == null'
	expect_decision 3 '.action == "logged" and (.correlation.reason | startswith("info severity: opens no incident"))'
	expect_decision 4 '.action == "created" and .incident_id == 1'
	expect_decision 5 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_match"'
	[ "$(sql 'SELECT count(*) FROM incidents')" = 1 ]
	[ "$(sql 'SELECT count(*) FROM alerts')" = 5 ]
}

@test "activity counts no repeats: a chatty alert does not hold its incident open for what comes hours later" {
	alert grafana s1 firing 2026-03-05T09:00:00Z inventory "inventory: error budget slow burn" >> "$IN"
	alert grafana s1 firing 2026-03-05T10:00:00Z inventory "inventory: error budget slow burn" >> "$IN"
	alert grafana s1 firing 2026-03-05T11:00:00Z inventory "inventory: error budget slow burn" >> "$IN"
	alert grafana c1 firing 2026-03-05T11:05:00Z inventory "inventory: containers restarting" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 3 '.action == "deduplicated" and .incident_id == 1'
	expect_decision 4 '.action == "created" and .incident_id == 2'
}

@test "an incident older than --stale-after takes no alert on time alone, still on its service" {
	alert grafana p1 firing 2026-03-05T10:00:00Z payments "payments errors" >> "$IN"
	alert grafana p2 firing 2026-03-05T10:25:00Z payments "payments latency" >> "$IN"
	alert grafana p3 firing 2026-03-05T10:50:00Z payments "payments timeouts" >> "$IN"
	alert grafana p4 firing 2026-03-05T11:07:00Z payments "payments saturation" >> "$IN"
	alert grafana s1 firing 2026-03-05T11:10:00Z search "search slow" >> "$IN"
	alert grafana p5 firing 2026-03-05T11:12:00Z payments "payments 5xx" >> "$IN"
	correlate "$IN" --time-score 0.8 --stale-after 1h
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 5 '.action == "created" and .incident_id == 2'
	expect_decision 6 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "service_match"'
	# younger than the limit, time alone joins (as --time-score asks)
	aurora_fresh_db
	correlate "$IN" --time-score 0.8
	[ "$status" -eq 0 ]
	expect_decision 5 '.action == "attached" and .incident_id == 1 and .correlation.strategy == "time_cluster"'
}

@test "ordinary hyphenated words are not service names; DNS names and endpoints are" {
	alert grafana a1 firing 2026-03-05T09:00:00Z payments "payments: 30-day error budget burning, non-ready pods, rate-limited, out-of-memory" >> "$IN"
	alert grafana b1 firing 2026-03-05T09:01:00Z search "search: 30-day error budget burning, non-ready pods, rate-limited, out-of-memory" >> "$IN"
	alert grafana c1 firing 2026-03-05T09:02:00Z checkout "checkout: outbound calls to gateway.acquirer.example failing" >> "$IN"
	alert grafana d1 firing 2026-03-05T09:03:00Z profile "profile: lookup gateway.acquirer.example: no such host" >> "$IN"
	alert grafana e1 firing 2026-03-05T09:04:00Z orders "orders: lookup x on 10.96.0.10:53: server misbehaving" >> "$IN"
	alert grafana f1 firing 2026-03-05T09:05:00Z cart "cart: lookup y on 10.96.0.10:53: server misbehaving" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.action == "created" and .incident_id == 2'
	expect_decision 4 '.action == "attached" and .incident_id == 3
		and .correlation.reason == "both name '"'gateway.acquirer.example'"'"'
	expect_decision 6 '.action == "attached" and .incident_id == 4
		and .correlation.reason == "both name '"'10.96.0.10:53'"'"'
}

@test "--catalog that cannot be loaded exits 78 with the reason; bad durations are usage errors" {
	run -78 --separate-stderr aurora-correlate --db "$AURORA_DB" --catalog "$BATS_TEST_TMPDIR/none.yaml" < /dev/null
	[[ "$stderr" == *"--catalog: "*"none.yaml"* ]]
	run -2 --separate-stderr aurora-correlate --db "$AURORA_DB" --quiet-period soon < /dev/null
	[[ "$stderr" == *"--quiet-period: 'soon' is not a duration"* ]]
	run -0 aurora-correlate --help
	[[ "$output" == *"--quiet-period DUR"* && "$output" == *"--stale-after DUR"* && "$output" == *"--catalog PATH"* ]]
}

@test "a wildcard certificate joins the hosts it covers; two hosts of one domain or one runbook site do not" {
	alert alertmanager b1 firing 2026-03-05T09:00:00Z "" "TLS certificate of https://www.shop.example.com/ has expired" |
		amend '.labels = {job: "blackbox-https", instance: "https://www.shop.example.com/"}' >> "$IN"
	alert alertmanager c1 firing 2026-03-05T09:01:00Z auth-api "auth: TLS handshakes failing" \
		"x509: certificate has expired or is not yet valid (CN=*.shop.example.com)" >> "$IN"
	alert grafana p1 firing 2026-03-05T09:02:00Z loyalty "probe of https://loyalty.internal.example.org/healthz failing" \
		"runbook: https://runbooks.example.org/probes" >> "$IN"
	alert grafana p2 firing 2026-03-05T09:03:00Z cart "probe of https://cart.internal.example.org/healthz failing" \
		"runbook: https://runbooks.example.org/probes" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 2 '.action == "attached" and .incident_id == 1
		and .correlation.reason == "'"'*.shop.example.com' covers a host the incident names"'"'
	expect_decision 3 '.action == "created" and .incident_id == 2'
	expect_decision 4 '.action == "created" and .incident_id == 3'
}

@test "a dependency learned from one outage's labels links the next outage, where no alert names it" {
	alert grafana c1 firing 2026-03-05T09:00:00Z inventory "inventory: queries slow" |
		amend '.labels = {db: "users-db"}' >> "$IN"
	alert grafana c1 resolved 2026-03-05T09:10:00Z inventory "inventory: queries slow" >> "$IN"
	alert grafana i1 firing 2026-03-06T08:42:00Z inventory "inventory: requests taking 2400ms" >> "$IN"
	alert alertmanager r1 firing 2026-03-06T08:43:20Z users-db "Postgresql replication lag" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	expect_decision 4 '.action == "attached" and .incident_id == 2 and .correlation.strategy == "dependency"
		and .correlation.reason == "inventory depends on users-db (learned from label db)"'
	[ "$(sql 'SELECT service_key || " " || depends_on || " " || source FROM service_dependencies')" = \
		"inventory users-db label db" ]
	# nothing learned: time alone does not join them
	aurora_fresh_db
	tail -n 2 "$IN" > "$BATS_TEST_TMPDIR/day2.jsonl"
	correlate "$BATS_TEST_TMPDIR/day2.jsonl"
	[ "$status" -eq 0 ]
	expect_decision 2 '.action == "created" and .incident_id == 2'
}

@test "an incident waiting its quiet period and then merged or reopened by hand is not resolved by the wait" {
	alert grafana a1 firing 2026-03-05T09:00:00Z payments "payments errors" >> "$IN"
	alert grafana b1 firing 2026-03-05T09:00:30Z search "search errors" >> "$IN"
	alert grafana a1 resolved 2026-03-05T09:02:00Z payments "payments errors" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	[ "$(sql 'SELECT status || " " || (resolve_pending_ms IS NOT NULL) FROM incidents WHERE id = 1')" = "investigating 1" ]
	run -0 aurora-incident merge 1 --into 2
	[ "$(sql 'SELECT status || " " || (resolve_pending_ms IS NULL) FROM incidents WHERE id = 1')" = "merged 1" ]
	: > "$IN"
	alert grafana c1 firing 2026-03-05T09:30:00Z cart "cart errors" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	expect_decision 1 '.action == "created" and .incident_id == 3'
	[ "$(sql 'SELECT status FROM incidents WHERE id = 1')" = merged ]
}

# heartbeat SOURCE KEY TIME: an Alertmanager-style Watchdog alert record
heartbeat() {
	alert "$1" "$2" firing "$3" "" Watchdog | amend '.severity = "none" | .labels = {alertname: "Watchdog"}'
}

@test "--heartbeat-silence: a heartbeat unseen past the limit opens one incident, and its return resolves it" {
	heartbeat alertmanager wd 2026-03-17T10:00:00Z >> "$IN"
	alert grafana a1 firing 2026-03-17T10:05:00Z checkout "checkout latency" >> "$IN"
	alert grafana a2 firing 2026-03-17T10:20:00Z search "search errors" >> "$IN"
	alert grafana a3 firing 2026-03-17T10:21:00Z search "search errors again" >> "$IN"
	heartbeat alertmanager wd 2026-03-17T10:25:00Z >> "$IN"
	correlate "$IN" --heartbeat-silence 10m
	[ "$status" -eq 0 ]
	# five records, and one decision more: the silence found at 10:20
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out.jsonl")" = 6 ]
	expect_decision 4 '.action == "created" and .correlation.strategy == "heartbeat_silence"
		and .source == "alertmanager" and .dedup_key == "silence:wd" and .service == "alertmanager"
		and (.title | test("alerting path from alertmanager is silent: no \"Watchdog\" since 2026-03-17T10:00:00"))
		and (.correlation.reason | test("for 10m"))'
	id=$(decision 4 | jq -r .incident_id)
	[ "$(sql "SELECT count(*) FROM incidents WHERE title LIKE 'The alerting path%'")" = 1 ]
	decision 6 | jq -en "input | .action == \"logged\" and (.correlation.reason | endswith(\"ends the silence of incident $id\"))"
	[ "$(sql "SELECT status FROM incidents WHERE id = $id")" = resolved ]
	[ "$(sql "SELECT silent_incident IS NULL FROM heartbeats")" = 1 ]
}

@test "without --heartbeat-silence a heartbeat that stops opens nothing" {
	heartbeat alertmanager wd 2026-03-17T10:00:00Z >> "$IN"
	alert grafana a1 firing 2026-03-17T14:00:00Z checkout "checkout latency" >> "$IN"
	correlate "$IN"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out.jsonl")" = 2 ]
	[ "$(sql 'SELECT count(*) FROM incidents')" = 1 ]
	[ "$(sql 'SELECT count(*) FROM heartbeats')" = 0 ]
}

@test "--heartbeat-silence: while the input is idle the clock finds the silence; a replay of old records does not" {
	local now out=$BATS_TEST_TMPDIR/live.jsonl
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	{ heartbeat alertmanager wd "$now"; sleep 4; } |
		aurora-correlate --db "$AURORA_DB" --heartbeat-silence 1s > "$out"
	jq -en '[inputs] | length == 2 and .[1].action == "created" and .[1].correlation.strategy == "heartbeat_silence"' < "$out"
	[ "$(sql "SELECT count(*) FROM incidents WHERE status = 'investigating'")" = 1 ]
	# last year's records, then an idle input: nothing is silent "now"
	AURORA_DB=$BATS_TEST_TMPDIR/replay.db
	{ heartbeat alertmanager wd 2025-03-17T10:00:00Z; sleep 3; } |
		aurora-correlate --db "$AURORA_DB" --heartbeat-silence 1s > "$out"
	jq -en '[inputs] | length == 1 and .[0].action == "logged"' < "$out"
	[ "$(sql 'SELECT count(*) FROM incidents')" = 0 ]
}
