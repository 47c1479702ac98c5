#!/usr/bin/env bats
# normalize.bats - aurora-normalize: raw records in, alert and note records out.
#
# Fixtures under tests/fixtures/normalize/<platform>/ are payload bodies
# composed from shared/PLATFORMS.md; add_raw wraps them into raw records the
# way aurora-inbox writes them. Output is checked with jq -e, never as text.
# shellcheck disable=SC2016 # jq filters in single quotes use jq's $variables

bats_require_minimum_version 1.5.0
load helpers/common
load helpers/normalize
load helpers/peers

setup() {
	normalize_setup
	PEER_PIDS=()
}

teardown() {
	stop_peers
}

# ---- the command ------------------------------------------------------------

@test "--version prints the version, --help the full usage on stdout" {
	run -0 --separate-stderr aurora-normalize --version
	assert_output "aurora-normalize 0.1.0"
	run -0 --separate-stderr aurora-normalize --help
	assert_output --partial "usage: aurora-normalize"
	assert_output --partial "--mappings DIR"
	assert_output --partial "Exit status"
	[ -z "$stderr" ]
}

@test "a bad option is a usage error: exit 2, short usage on stderr, nothing on stdout" {
	run -2 --separate-stderr aurora-normalize --no-such-option
	assert_output ""
	[[ $stderr == *"unknown option --no-such-option"* ]]
	[[ $stderr == *"usage: aurora-normalize"* ]]
	run -2 --separate-stderr aurora-normalize --mappings
	assert_output ""
}

@test "--check compiles and lists every built-in mapping" {
	run -0 --separate-stderr aurora-normalize --check
	local p
	for p in grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins cloudbees; do
		assert_line "$p	built-in"
	done
}

@test "the built-in mappings are plain jq programs the jq command line runs too, to the same records" {
	local p f
	for p in grafana alertmanager pagerduty datadog netdata dynatrace splunk jenkins; do
		f=$(find "$NFIX/$p" -name '*.json' | sort | head -1)
		add_raw "$p" "$f"
		run -0 jq -c --argjson config '{}' -f "$AURORA_TOP/lib/mappings/$p.jq" "$IN"
		jsonl_ok 'length >= 1 and all(.[]; .type == "alert" or .type == "note")' <<<"$output" >/dev/null ||
			fail "$p.jq under jq: $output"
		jq -c '[.type, .dedup_key, .status, .title]' <<<"$output" >"$BATS_TEST_TMPDIR/by-jq"
		# aurora-normalize runs the same program: the same records, before it completes them
		normalize 0
		jq -c '[.type, .dedup_key, .status, .title]' "$OUT" >"$BATS_TEST_TMPDIR/by-normalize"
		[ -s "$BATS_TEST_TMPDIR/by-normalize" ] || fail "aurora-normalize printed nothing for $p"
		cmp "$BATS_TEST_TMPDIR/by-jq" "$BATS_TEST_TMPDIR/by-normalize" ||
			fail "$p: jq and aurora-normalize differ: $(cat "$BATS_TEST_TMPDIR/by-jq" "$BATS_TEST_TMPDIR/by-normalize")"
		: >"$IN"
	done
}

@test "every record: v first and type second, schema fields, RFC 3339 UTC milliseconds, fingerprint" {
	add_raw grafana grafana/mixed-group.json 41 2026-03-04T10:00:00.5+01:00
	add_raw pagerduty pagerduty/resolved.json 42
	add_raw netdata netdata/clear.json 43
	add_raw jenkins jenkins/queued.json 44
	normalize 0
	expect 'length == 5'
	expect 'all(.[]; (keys_unsorted[0:2] == ["v", "type"]) and .v == 1)'
	expect '[.[] | select(.type == "alert")] | length == 4 and all(.[];
		(keys_unsorted == ["v", "type", "source", "dedup_key", "fingerprint", "status", "severity",
			"title", "description", "service", "host", "entity", "environment", "tags", "labels",
			"started_at", "ended_at", "link", "context", "inbox_id", "inbox_part", "inbox_parts",
			"received_at"])
		and (.status == "firing" or .status == "resolved")
		and ([.severity] | inside(["critical", "high", "medium", "low", "info"]))
		and (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$"))
		and (.received_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$"))
		and (.fingerprint | test("^[0-9a-f]{32}$"))
		and (.tags | type) == "object" and (.labels | type) == "object" and (.context | type) == "object")'
	expect '[.[].inbox_id] == [41, 41, 42, 43, 44]'
	# the parts of one delivery are numbered, so a stage knows when it has all of them
	expect '[.[] | [.inbox_part, .inbox_parts]] == [[1, 2], [2, 2], [1, 1], [1, 1], [1, 1]]'
	expect '.[0].received_at == "2026-03-04T09:00:00.500Z"'
	expect '.[4] | .type == "note" and (keys_unsorted == ["v", "type", "source", "kind", "dedup_key",
		"title", "description", "service", "host", "link", "occurred_at", "context", "inbox_id",
		"inbox_part", "inbox_parts", "received_at"])'
	local fp
	fp=$(fingerprint_of grafana 5c0e27b1a9d4f388)
	expect '.[0].fingerprint == $fp' --arg fp "$fp"
	fp=$(fingerprint_of pagerduty Q2W3E4R5T6Y7U8)
	expect '.[2].fingerprint == $fp' --arg fp "$fp"
}

# ---- Grafana ----------------------------------------------------------------

@test "grafana: a firing alert" {
	add_raw grafana grafana/firing.json 7
	normalize 0
	expect 'length == 1 and (.[0] | .type == "alert" and .source == "grafana"
		and .dedup_key == "9a41d7c03be2f615" and .status == "firing" and .severity == "critical"
		and .title == "checkout p95 above 2s" and .description == "p95 latency over 2s for 5 minutes"
		and .service == "checkout" and .started_at == "2025-03-04T10:15:00.123Z" and .ended_at == null
		and .link == "https://grafana.example.test/alerting/grafana/c4x9/view?orgId=1"
		and .labels == {"alertname": "CheckoutLatencyHigh", "grafana_folder": "Payments",
			"service": "checkout", "severity": "critical"}
		and .context.values == {"A": 2.41, "C": 1}
		and .context.dashboard_url == "https://grafana.example.test/d/pay01?orgId=1"
		and .context.annotations.summary == "checkout p95 above 2s"
		and (has("test") | not) and .inbox_id == 7)'
}

@test "grafana: a mixed group gives one record per alert with the alert's own status" {
	add_raw grafana grafana/mixed-group.json
	normalize 0
	expect 'length == 2'
	expect '.[0] | .status == "resolved" and .dedup_key == "5c0e27b1a9d4f388"
		and .started_at == "2025-03-04T08:01:30.500Z" and .ended_at == "2025-03-04T08:47:00.500Z"
		and .severity == "medium" and .service == "orders-db" and .host == "db-3"
		and .entity == "db-3:9100" and .context.group_key == "{}:{alertname=\"DiskAlmostFull\"}"'
	expect '.[1] | .status == "firing" and .dedup_key == "77aa01f0c3b2d4e6" and .ended_at == null
		and .host == "db-4" and (.context | has("values") | not) and (.context | has("value_string") | not)'
}

@test "grafana: the Test button's TestAlert is a test; a relative generatorURL joins externalURL" {
	add_raw grafana grafana/test-alert.json
	normalize 0
	expect 'length == 1 and (.[0] | .test == true and .severity == "info" and .status == "firing"
		and .title == "Notification test" and .link == "https://grafana.example.test/?orgId=1"
		and .context.alertname == "TestAlert" and (.context | has("dashboard_url") | not))'
}

@test "grafana: Grafana Cloud's Alertmanager-format payload" {
	add_raw grafana grafana/cloud-am-format.json
	normalize 0
	expect 'length == 1 and (.[0] | .source == "grafana" and .dedup_key == "0123456789abcdef"
		and .severity == "high" and .service == "storefront" and .environment == "prod"
		and .title == "ErrorRateHigh" and .description == "5xx above 5% for 10 minutes"
		and .link == "https://acme.grafana.net/alerting/grafana/err1/view"
		and .context.payload_version == "4")'
}

@test "grafana: legacy dashboard alerting - alerting fires, ok resolves, paused is a note" {
	add_raw grafana grafana/legacy-alerting.json
	add_raw grafana grafana/legacy-ok.json
	add_raw grafana grafana/legacy-paused.json
	normalize 0
	expect 'length == 3 and ([.[0:2][] | .dedup_key] | unique == ["legacy-rule:1:7"])'
	expect '.[0] | .status == "firing" and .severity == "high" and .service == "orders"
		and .title == "Queue depth" and .description == "queue depth above 10000"
		and .context.eval_matches[0].value == 12034'
	expect '.[1] | .status == "resolved" and .severity == "medium"'
	expect '.[2] | .type == "note" and .kind == "rule_paused" and .title == "Queue depth is paused"'
}

@test "grafana: an empty group and truncated alerts are notes, not silence" {
	add_raw grafana grafana/empty-truncated.json
	normalize 0
	expect 'length == 2 and all(.[]; .type == "note")
		and ([.[].kind] == ["empty_group", "alerts_truncated"])
		and .[1].context.truncated_alerts == 12'
}

@test "grafana: missing optional fields - identity from the labels, title from alertname" {
	add_raw grafana grafana/missing-optional.json
	normalize 0
	expect 'length == 1 and (.[0] | .status == "firing"
		and .dedup_key == "labels:alertname=NoFingerprint,job=billing"
		and .title == "NoFingerprint" and .service == "billing" and .severity == "medium"
		and .link == null and .description == null and .started_at == "2026-03-03T09:00:00.000Z")'
}

@test "grafana: wrong types are coerced, not fatal" {
	add_raw grafana grafana/wrong-types.json
	normalize 0
	expect 'length == 1 and (.[0] | .dedup_key == "12345" and .status == "resolved"
		and .severity == "critical" and .title == "Weird" and .service == "cart"
		and .labels == {"alertname": "Weird", "service": "cart", "severity": "CRITICAL", "replicas": "3", "empty": ""}
		and .started_at == "2025-03-04T10:20:00.000Z" and .ended_at == "2025-03-04T11:20:00.000Z"
		and .link == null and .context.values == "n/a")'
}

@test "grafana: a body that is not a group is rejected with the reason" {
	add_line '{"v":1,"type":"raw","id":5,"platform":"grafana","received_at":"2026-03-04T10:00:00Z","headers":{},"body":{"alerts":"many"}}'
	add_line '{"v":1,"type":"raw","id":6,"platform":"grafana","received_at":"2026-03-04T10:00:00Z","headers":{},"body":{"alerts":[1]}}'
	add_line '{"v":1,"type":"raw","id":7,"platform":"grafana","received_at":"2026-03-04T10:00:00Z","headers":{},"body":"<html>"}'
	add_line '{"v":1,"type":"raw","id":8,"platform":"grafana","received_at":"2026-03-04T10:00:00Z","headers":{},"body":{"hello":"world"}}'
	normalize 1
	# nothing but an error record per delivery, for the last stage to mark it (aurora(7))
	expect 'map(.type) == ["error", "error", "error", "error"] and map(.inbox_id) == [5, 6, 7, 8]
		and all(.[]; .platform == "grafana" and .received_at == "2026-03-04T10:00:00.000Z")
		and .[0].reason == "\"alerts\" is a string, not an array"'
	[[ $stderr == *'line 1: grafana (inbox 5): "alerts" is a string, not an array'* ]]
	[[ $stderr == *'line 2: grafana (inbox 6): alerts[] holds a number, not an alert object'* ]]
	[[ $stderr == *'line 3: grafana (inbox 7): body is not a JSON object (string)'* ]]
	[[ $stderr == *'line 4: grafana (inbox 8): not a Grafana webhook'* ]]
}

@test "a received_at that is not a time rejects its line; an absent or null one is the time of reading" {
	local body='"headers":{},"body":{"status":"firing","alerts":[]}'
	add_line '{"v":1,"type":"raw","id":1,"platform":"grafana","received_at":"yesterday",'"$body"'}'
	add_line '{"v":1,"type":"raw","id":2,"platform":"grafana","received_at":"",'"$body"'}'
	add_line '{"v":1,"type":"raw","id":3,"platform":"grafana","received_at":{"at":1},'"$body"'}'
	add_line '{"v":1,"type":"raw","id":4,"platform":"grafana","received_at":-5,'"$body"'}'
	add_line '{"v":1,"type":"raw","id":5,"platform":"grafana",'"$body"'}'
	add_line '{"v":1,"type":"raw","id":6,"platform":"grafana","received_at":null,'"$body"'}'
	add_line '{"v":1,"type":"raw","id":7,"platform":"grafana","received_at":"2026-03-04T10:00:00Z",'"$body"'}'
	normalize 1
	[[ $stderr == *'line 1: grafana (inbox 1): received_at is not a time: yesterday'* ]] || fail "$stderr"
	[[ $stderr == *'line 2: grafana (inbox 2): received_at is not a time: '* ]] || fail "$stderr"
	[[ $stderr == *'line 3: grafana (inbox 3): received_at is not a time: {"at":1}'* ]] || fail "$stderr"
	[[ $stderr == *'line 4: grafana (inbox 4): received_at is not a time: -5'* ]] || fail "$stderr"
	[[ $stderr == *'4 of 7 lines rejected'* ]] || fail "$stderr"
	expect 'map(select(.type == "error") | .inbox_id) == [1, 2, 3, 4]
		and (map(select(.type != "error")) | [.[].inbox_id] == [5, 6, 7] and .[2].received_at == "2026-03-04T10:00:00.000Z"
		and ([.[0, 1].received_at | test("^[0-9]{4}-")] == [true, true]))'
	normalize 65 --strict
}

# ---- Alertmanager -----------------------------------------------------------

@test "alertmanager: a resolved group" {
	add_raw alertmanager alertmanager/resolved.json
	normalize 0
	expect 'length == 1 and (.[0] | .source == "alertmanager" and .status == "resolved"
		and .dedup_key == "5c0e27b1a9d4f388" and .severity == "medium" and .title == "Disk /var above 90%"
		and .service == "node" and .host == "db-3" and .entity == "db-3:9100"
		and .started_at == "2025-03-04T08:01:30.500Z" and .ended_at == "2025-03-04T08:47:00.500Z"
		and (.link | startswith("http://prometheus.example.test:9090/graph"))
		and .labels.mountpoint == "/var" and .context.receiver == "incident-bridge")'
}

@test "alertmanager: a mixed group keeps each alert's status, service and time zone" {
	add_raw alertmanager alertmanager/mixed-group.json
	normalize 0
	expect 'length == 3 and ([.[].status] == ["firing", "resolved", "firing"])
		and ([.[].dedup_key] | unique | length == 3)'
	expect '.[0] | .service == "cart" and .entity == "cart-7d9f-abc" and .environment == "prod"
		and .severity == "critical" and .started_at == "2026-03-03T18:00:06.464Z"
		and .context.notification_reason == "new alerts in group"'
	expect '.[1] | .ended_at == "2026-03-03T17:59:00.000Z"'
	expect '.[2] | .service == "search" and .title == "PodCrashLooping"
		and .link == "http://alertmanager.example.test:9093/#/alerts?filter=%7Balertname%3D%22PodCrashLooping%22%2Cnamespace%3D%22shop%22%2Cseverity%3D%22critical%22%2Cpod%3D%22search-1%22%7D"
		and .started_at == "2026-03-03T17:01:00.000Z"'
}

@test "alertmanager: a relative generatorURL resolves against --prometheus-url, then \$AURORA_PROMETHEUS_URL, then the connector's base URL; never a bare path" {
	add_raw alertmanager "$FIXTURES/real/alertmanager/am025-ksm-deployment-relative-url.json"
	local graph='/prometheus/graph?g0.expr=kube_deployment_spec_replicas%7Bjob%3D%22kube-state-metrics%22%7D+%3E+kube_deployment_status_replicas_available%7Bjob%3D%22kube-state-metrics%22%7D&g0.tab=1'
	local db=$BATS_TEST_TMPDIR/conn.db
	normalize 0
	expect 'length == 1 and (.[0].link | startswith("http://alertmanager.example.test:9093/#/alerts?filter=%7Balertname%3D%22KubeDeploymentReplicasMismatch%22"))
		and .[0].context.generator_url == $g' --arg g "$graph"
	# a path from the root keeps the URL's scheme and host; a relative one goes below its path
	normalize 0 --prometheus-url http://prom.example.test:9090/prometheus/
	expect '.[0].link == "http://prom.example.test:9090" + $g' --arg g "$graph"
	AURORA_PROMETHEUS_URL=http://env.example.test normalize 0
	expect '.[0].link == "http://env.example.test" + $g' --arg g "$graph"
	run -0 --separate-stderr aurora-connector --db "$db" base-url alertmanager https://db.example.test
	normalize 0 --db "$db"
	expect '.[0].link == "https://db.example.test" + $g' --arg g "$graph"
	AURORA_PROMETHEUS_URL=http://env.example.test normalize 0 --db "$db" --prometheus-url http://opt.example.test
	expect '.[0].link == "http://opt.example.test" + $g' --arg g "$graph"
	# a base that is not an http(s) URL is no base
	normalize 0 --prometheus-url prom:9090
	expect '.[0].link | startswith("http://alertmanager.example.test:9093/#/alerts?filter=")'
	add_raw alertmanager "$FIXTURES/real/alertmanager/am025-node-exporter-two-nodes.json"
	normalize 0 --prometheus-url http://opt.example.test
	expect 'length == 3 and (.[1].link | startswith("http://prometheus-k8s-0:9090/graph?"))'
}

@test "alertmanager: a group of 10000 alerts" {
	jq -c -n '{v: 1, type: "raw", id: 1, platform: "alertmanager", received_at: "2026-03-04T10:00:00Z",
		headers: {}, body: {version: "4", status: "firing", groupKey: "big", externalURL: "http://am:9093",
		alerts: [range(10000) | {status: (if . % 3 == 0 then "resolved" else "firing" end),
			labels: {alertname: "Big", instance: "node-\(.):9100", service: "fleet"},
			annotations: {summary: "node \(.) is hot"},
			startsAt: "2026-03-04T09:00:00Z", endsAt: (if . % 3 == 0 then "2026-03-04T09:30:00Z" else "0001-01-01T00:00:00Z" end),
			fingerprint: "fp\(.)"}]}}' >"$IN"
	normalize 0
	expect 'length == 10000 and ([.[].dedup_key] | unique | length == 10000)
		and ([.[] | select(.status == "resolved")] | length == 3334)
		and all(.[]; .inbox_id == 1 and .service == "fleet")'
}

# ---- PagerDuty --------------------------------------------------------------

@test "pagerduty: triggered and acknowledged fire, resolved resolves, one identity" {
	add_raw pagerduty pagerduty/triggered.json
	add_raw pagerduty pagerduty/acknowledged.json
	add_raw pagerduty pagerduty/resolved.json
	normalize 0
	expect 'length == 3 and ([.[].status] == ["firing", "firing", "resolved"])
		and ([.[].dedup_key] | unique == ["Q2W3E4R5T6Y7U8"]) and ([.[].fingerprint] | unique | length == 1)'
	expect '.[0] | .severity == "high" and .service == "Storage" and .title == "Disk almost full on db-3"
		and .entity == "disk-db3-var" and .started_at == "2025-03-04T10:21:07.000Z"
		and .link == "https://acme.pagerduty.com/incidents/Q2W3E4R5T6Y7U8"
		and .tags == {"urgency": "high", "team": "SRE"} and .context.assignees == ["Dana Ops"]
		and .context.incident_number == 4412 and .context.event_type == "incident.triggered"'
	expect '.[1].context.acknowledged == true'
	expect '.[2] | .severity == "critical" and .ended_at == "2025-03-04T11:02:45.318Z"
		and .context.priority == "P1" and .context.agent == "Dana Ops"'
}

@test "pagerduty: pagey.ping is a test, not an alert to act on" {
	add_raw pagerduty pagerduty/ping.json
	normalize 0
	expect 'length == 1 and (.[0] | .type == "alert" and .test == true and .severity == "info"
		and .title == "Hello from your friend Pagey!" and .dedup_key == "pagey.ping:01J8607229F556836C09DDDDB7")'
}

@test "pagerduty: an annotation is a note about the incident" {
	add_raw pagerduty pagerduty/annotated.json
	normalize 0
	expect 'length == 1 and (.[0] | .type == "note" and .kind == "incident.annotated"
		and .dedup_key == "Q2W3E4R5T6Y7U8" and .title == "PagerDuty incident.annotated on Disk almost full on db-3"
		and .occurred_at == "2025-03-04T10:40:00.000Z" and .context.data.content == "cleaning /var/log")'
}

@test "pagerduty: the deprecated V2 envelope is mapped, one record per message" {
	add_raw pagerduty pagerduty/v2.json
	normalize 0
	expect 'length == 2 and ([.[].status] == ["firing", "resolved"]) and ([.[].dedup_key] == ["PIJ90N7", "PIJ90N8"])
		and .[0].title == "CPU above 90% on srv01" and .[0].service == "Web" and .[0].severity == "high"
		and .[1].severity == "low" and .[1].ended_at == "2014-09-23T15:10:00.000Z"
		and all(.[]; .context.webhook_version == 2)'
}

# ---- Datadog ----------------------------------------------------------------

@test "datadog: a trigger and its recovery share the alert cycle" {
	add_raw datadog datadog/triggered.json
	add_raw datadog datadog/recovered.json
	normalize 0
	expect 'length == 2 and ([.[].status] == ["firing", "resolved"])
		and ([.[].dedup_key] | unique == ["6f1e2d3c4b5a69788796a5b4c3d2e1f0"])'
	expect '.[0] | .severity == "high" and .service == "web" and .host == "web-7" and .environment == "prod"
		and .title == "CPU high on web tier" and .description == "CPU above 90% on web-7 for 10 minutes"
		and .tags == {"monitor": "", "env": "prod", "service": "web", "team": "frontend"}
		and .entity == "host:web-7,env:prod" and .started_at == "2025-03-04T10:45:00.000Z"
		and .link == "https://app.datadoghq.com/event/event?id=7864205519384412002"'
	expect '.[1] | .ended_at == "2025-03-04T11:15:00.000Z" and .context.alert_transition == "Recovered"'
}

@test "datadog: form-encoded deliveries, decoded by aurora-inbox or still as text" {
	local form='{"content-type":"application/x-www-form-urlencoded"}'
	add_raw datadog datadog/form-fields.json 1 2026-03-04T10:00:00Z "$form"
	add_raw_text datadog datadog/form-text.txt application/x-www-form-urlencoded
	normalize 0
	expect 'length == 2 and all(.[]; .dedup_key == "6f1e2d3c4b5a69788796a5b4c3d2e1f0"
		and .status == "firing" and .service == "web" and .title == "CPU high on web tier"
		and .context.encoding == "form")'
	expect '.[1].tags == {"monitor": "", "env": "prod", "service": "web", "team": "frontend"}'
}

@test "datadog: Datadog's default payload - transition, priority and identity from the title" {
	add_raw datadog datadog/default-template.json
	normalize 0
	expect 'length == 1 and (.[0] | .status == "firing" and .severity == "medium"
		and .title == "Latency rising" and .dedup_key == "title:Latency rising/service:api,env:staging"
		and .service == "api" and .environment == "staging" and .description == "latency p99 above 800ms"
		and .context.alert_transition == "Warn")'
}

@test "datadog: without a cycle key the identity is the monitor and its scope" {
	add_raw datadog datadog/no-cycle-key.json
	normalize 0
	expect 'length == 1 and (.[0] | .dedup_key == "5551212/host:db-1" and .severity == "medium"
		and .service == "users-db" and .host == "db-1" and .started_at == "2025-03-04T10:45:00.000Z"
		and .link == "https://app.datadoghq.com/monitors/5551212")'
}

@test "datadog: a multi-alert monitor is one alert per group, named by the scope or the title" {
	# one monitor (42) alerting for two hosts; the template has no alert_scope,
	# the group is only in the title; web-2 recovers, web-1 does not
	local g
	for g in web-1 web-2; do
		printf '{"title":"[Triggered on {host:%s}] Disk full","alert_id":"42","alert_transition":"Triggered",
			"alert_type":"error","priority":"normal","date":"1741085100000"}' "$g" >"$BATS_TEST_TMPDIR/$g.json"
		add_raw datadog "$BATS_TEST_TMPDIR/$g.json"
	done
	printf '%s' '{"title":"[Recovered on {host:web-2}] Disk full","alert_id":"42","alert_transition":"Recovered",
		"alert_type":"success","date":"1741085400000"}' >"$BATS_TEST_TMPDIR/recovered.json"
	add_raw datadog "$BATS_TEST_TMPDIR/recovered.json"
	normalize 0
	expect '[.[].dedup_key] == ["42/host:web-1", "42/host:web-2", "42/host:web-2"]
		and [.[].status] == ["firing", "firing", "resolved"] and [.[].host] == ["web-1", "web-2", "web-2"]
		and .[0].severity == "high" and .[2].ended_at == "2025-03-04T10:50:00.000Z"'
}

@test "datadog: variables nested under metadata or kept upper-case, event_tags and date_posix" {
	printf '%s' '{"body":"%%%\ndisk /var above 95%\n%%%","title":"[Triggered on {host:web-1}] Disk full",
		"date":"1741085100000","metadata":{"ALERT_ID":"42","ALERT_TRANSITION":"Triggered",
		"ALERT_SCOPE":"host:web-1","ALERT_TYPE":"warning","ALERT_PRIORITY":"P2","TAGS":"monitor,service:files"}}' \
		>"$BATS_TEST_TMPDIR/metadata.json"
	printf '%s' '{"ALERT_ID":"7","ALERT_TITLE":"[Triggered on {host:db-1}] Lag","ALERT_TRANSITION":"Triggered",
		"ALERT_TYPE":"error","PRIORITY":"P1","event_tags":"host:db-1,service:users-db,monitor",
		"date_posix":"1741085100"}' >"$BATS_TEST_TMPDIR/upper.json"
	add_raw datadog "$BATS_TEST_TMPDIR/metadata.json"
	add_raw datadog "$BATS_TEST_TMPDIR/upper.json"
	normalize 0
	expect '.[0] | .dedup_key == "42/host:web-1" and .severity == "high" and .service == "files"
		and .title == "Disk full" and .description == "disk /var above 95%"'
	expect '.[1] | .dedup_key == "7/host:db-1" and .severity == "critical" and .service == "users-db"
		and .host == "db-1" and .title == "Lag" and .started_at == "2025-03-04T10:45:00.000Z"'
}

# ---- Netdata ----------------------------------------------------------------

@test "netdata: WARNING, CRITICAL and CLEAR of one alarm on one host" {
	add_raw netdata netdata/warning.json
	add_raw netdata netdata/critical.json
	add_raw netdata netdata/clear.json
	normalize 0
	expect 'length == 3 and ([.[].status] == ["firing", "firing", "resolved"])
		and ([.[].severity] == ["medium", "critical", "medium"])
		and ([.[].dedup_key] | unique == ["db-3/disk_space._var/disk_space_usage"])
		and all(.[]; .service == "db-3" and .host == "db-3" and .entity == "db-3/disk_space._var")'
	expect '.[0] | .started_at == "2025-03-04T09:20:00.000Z" and .title == "disk_space_usage on db-3"
		and .context.chart == "disk_space._var" and .context.family == "/var"
		and .context.value == 91.2 and .context.units == "%"'
	expect '.[2] | .ended_at == "2025-03-04T10:27:00.000Z" and .context.old_status == "WARNING"'
}

@test "netdata: the same alarm on two hosts stays two alerts" {
	add_raw netdata netdata/warning.json
	add_raw netdata netdata/warning-other-host.json
	normalize 0
	expect 'length == 2 and ([.[].dedup_key] | unique | length == 2) and ([.[].host] == ["db-3", "db-4"])'
}

@test "netdata: alarm-notify.sh test is a test" {
	add_raw netdata netdata/agent-test.json
	normalize 0
	expect 'length == 1 and .[0].test == true and .[0].title == "test_alarm on ops-1"'
}

@test "netdata: Netdata Cloud alert, reachability, nested variant and test notification" {
	add_raw netdata netdata/cloud-alert.json
	add_raw netdata netdata/cloud-reachability.json
	add_raw netdata netdata/cloud-nested.json
	add_raw netdata netdata/cloud-test.json
	normalize 0
	expect 'length == 4'
	expect '.[0] | .dedup_key == "acme-prod/web-7/system.cpu/10min_cpu_usage" and .status == "firing"
		and .severity == "critical" and .host == "web-7" and .service == "web-7"
		and .started_at == "2025-03-04T10:30:12.000Z" and .context.class == "Utilization"
		and .link == "https://app.netdata.cloud/alerts/redirect?alert=10min_cpu_usage&node=web-7"'
	expect '.[1] | .dedup_key == "reachability/web-9" and .status == "firing" and .severity == "critical"
		and .title == "web-9 is unreachable"'
	expect '.[2] | .dedup_key == "acme-prod/cache-2/system.ram/ram_in_use" and .severity == "medium"
		and .host == "cache-2" and .description == "system memory utilization" and .context.value == 91.3'
	expect '.[3] | .test == true and .severity == "info"'
}

# ---- Dynatrace --------------------------------------------------------------

@test "dynatrace: an open problem and its resolution" {
	add_raw dynatrace dynatrace/open.json
	add_raw dynatrace dynatrace/resolved.json
	normalize 0
	expect 'length == 2 and ([.[].status] == ["firing", "resolved"])
		and ([.[].dedup_key] | unique == ["-4412089912347755120_1741086000000V2"])'
	expect '.[0] | .severity == "medium" and .service == "checkout-api" and .entity == "SERVICE-1A2B3C4D5E6F7081"
		and .environment == "prod" and .title == "Response time degradation"
		and .tags == {"env": "prod", "team": "payments", "tier-1": "", "app": "checkout"}
		and .started_at == "2025-03-04T11:00:00.000Z" and .ended_at == null
		and .context.problem_id == "P-250318" and .context.root_cause.has_root_cause == true
		and .context.root_cause.entity == "pay-host-2" and (.context.root_cause.events | length) == 1'
	expect '.[1] | .severity == "critical" and .ended_at == "2025-03-04T12:00:00.000Z"
		and .context.details_status == "CLOSED"'
}

@test "dynatrace: the test notification is a test" {
	add_raw dynatrace dynatrace/test-notification.json
	normalize 0
	expect 'length == 1 and .[0].test == true and .[0].dedup_key == "99999"'
}

@test "dynatrace: placeholders quoted by mistake, Problems API v2 details" {
	add_raw dynatrace dynatrace/quoted-placeholders.json
	add_raw dynatrace dynatrace/v2-details.json
	normalize 0
	expect '.[0] | .severity == "critical" and .host == "db-7" and .service == "orders-db"
		and .entity == "HOST-0011223344556677" and .started_at == "2025-03-04T11:00:00.000Z"
		and .link == "https://abc12345.live.dynatrace.com/#problems/problemdetails;pid=-77_1741086000000V2"'
	expect '.[1] | .status == "resolved" and .severity == "high" and .service == "payments"
		and .environment == "prod" and .ended_at == "2025-03-04T11:16:40.000Z"
		and .context.problem_id == "P-88" and .context.root_cause.entity == "payments-jvm"
		and .context.management_zones == ["Payments"]'
}

@test "dynatrace: problem details under the names templates give them, times from startTime" {
	printf '%s' '{"State":"OPEN","PID":"-1_1V2","ProblemTitle":"CPU saturation","ProblemSeverity":"RESOURCE_CONTENTION",
		"ProblemDetails":{"id":"-1_1V2","startTime":1741086000000,"endTime":-1,"status":"OPEN"}}' \
		>"$BATS_TEST_TMPDIR/named.json"
	printf '%s' '{"State":"RESOLVED","PID":"-2_1V2","ProblemTitle":"","ProblemSeverity":"MONITORING_UNAVAILABLE",
		"problemDetailsJSON":{"id":"-2_1V2","displayName":"P-2","startTime":1741086000000,
		"endTime":1741089600000,"status":"CLOSED"},"ProblemDetailsText":"Host unreachable"}' \
		>"$BATS_TEST_TMPDIR/lower.json"
	add_raw dynatrace "$BATS_TEST_TMPDIR/named.json"
	add_raw dynatrace "$BATS_TEST_TMPDIR/lower.json"
	normalize 0
	expect '.[0] | .status == "firing" and .severity == "medium" and .title == "CPU saturation"
		and .started_at == "2025-03-04T11:00:00.000Z" and .ended_at == null and .description == null'
	expect '.[1] | .status == "resolved" and .severity == "low" and .title == "Dynatrace problem P-2"
		and .started_at == "2025-03-04T11:00:00.000Z" and .ended_at == "2025-03-04T12:00:00.000Z"
		and .description == "Host unreachable"'
}

# ---- Splunk -----------------------------------------------------------------

@test "splunk: a result row - identity from search and app, sid as the occurrence" {
	add_raw splunk splunk/result.json
	normalize 0
	expect 'length == 1 and (.[0] | .status == "firing" and .severity == "high"
		and .dedup_key == "search/Checkout 5xx spike|service=checkout" and .service == "checkout"
		and .title == "Checkout 5xx spike" and .started_at == "2025-03-04T11:19:00.000Z"
		and .context.sid == "scheduler__svc_alerts__search__RMD5f3a9c1e27b4d6a08_at_1741087200_4421"
		and .context.result.count == "148"
		and (.link | startswith("https://splunk.example.test:8000/app/search/@go?sid=")))'
}

@test "splunk: an ad-hoc search without a name" {
	add_raw splunk splunk/adhoc.json
	normalize 0
	expect 'length == 1 and (.[0] | .dedup_key == "search/adhoc/1741087300.1234|host=web-3"
		and .title == "Splunk ad-hoc search 1741087300.1234" and .host == "web-3"
		and .severity == "high" and .description == "upstream timed out"
		and .started_at == "2025-03-04T11:21:30.250Z")'
}

@test "splunk: which result fields hold service, severity and host is configurable" {
	add_raw splunk splunk/custom-fields.json
	normalize 0
	expect '.[0] | .service == null and .severity == "medium" and .host == null'
	normalize 0 --splunk-service-fields component,service --splunk-severity-fields ' prio ' \
		--splunk-host-fields node
	expect '.[0] | .service == "billing-worker" and .severity == "critical" and .host == "worker-4"
		and .status == "firing" and .started_at == "2025-03-04T11:05:00.000Z"'
}

@test "splunk: a search that says resolved resolves its alert" {
	add_raw splunk splunk/result.json
	add_raw splunk splunk/resolved.json
	normalize 0
	expect '([.[].status] == ["firing", "resolved"]) and (.[0].dedup_key == .[1].dedup_key)
		and .[1].ended_at == "2025-03-04T12:19:00.000Z"'
}

@test "splunk: a result's source (the file its event came from) is not the service unless asked" {
	printf '%s' '{"sid":"s1","search_name":"sudo","app":"search","owner":"admin",
		"result":{"source":"/var/log/auth.log","host":"myserver","_time":"1483557272"}}' \
		>"$BATS_TEST_TMPDIR/source.json"
	printf '%s' '{"sid":"s2","search_name":"errors","app":"search",
		"result":{"source":"/var/log/app.log","service_name":"billing","app":"billing-ui"}}' \
		>"$BATS_TEST_TMPDIR/names.json"
	add_raw splunk "$BATS_TEST_TMPDIR/source.json"
	add_raw splunk "$BATS_TEST_TMPDIR/names.json"
	normalize 0
	expect '.[0] | .service == null and .host == "myserver" and .dedup_key == "search/sudo|host=myserver"'
	expect '.[1].service == "billing"'
	normalize 0 --splunk-service-fields source
	expect '.[0].service == "/var/log/auth.log" and .[1].service == "/var/log/app.log"'
}

# ---- Jenkins and CloudBees CI ----------------------------------------------

@test "jenkins: QUEUED and STARTED are notes, COMPLETED and FINALIZED with FAILURE fire" {
	add_raw jenkins jenkins/queued.json
	add_raw jenkins jenkins/started.json
	add_raw jenkins jenkins/completed-failure.json
	add_raw jenkins jenkins/finalized-failure.json
	normalize 0
	expect 'length == 4 and ([.[].type] == ["note", "note", "alert", "alert"])
		and ([.[0:2][].kind] == ["build_queued", "build_started"])
		and .[0].title == "Build shop-api #128 queued"'
	expect 'all(.[2:][]; .status == "firing" and .severity == "high" and .dedup_key == "shop-api"
		and .source == "jenkins" and .service == "shop-api" and .environment == "staging"
		and .title == "Build shop-api #128 failed" and .description == "3 of 412 tests failed"
		and .link == "https://jenkins.example.test/job/shop-api/128/"
		and .context.build_number == 128 and .context.commit == "3c9e1f0a7b2d4e6f8091a2b3c4d5e6f708192a3b"
		and .context.branch == "origin/main" and .context.culprits == ["alice"]
		and .context.console_url == "https://jenkins.example.test/job/shop-api/128/console"
		and .context.failed_tests == ["tests.test_cart.test_totals"])'
	expect '.[3].started_at == "2025-03-04T11:25:00.123Z"'
}

@test "jenkins: a later SUCCESS of the same job resolves the failure" {
	add_raw jenkins jenkins/finalized-failure.json
	add_raw jenkins jenkins/finalized-success.json
	normalize 0
	expect '([.[].status] == ["firing", "resolved"]) and .[0].fingerprint == .[1].fingerprint
		and .[1].severity == "info" and .[1].title == "Build shop-api #129 succeeded"
		and .[1].ended_at == "2025-03-04T12:25:00.000Z"'
}

@test "jenkins and cloudbees: relative URLs join the configured base URL" {
	add_raw jenkins jenkins/relative-urls.json
	add_raw cloudbees jenkins/relative-urls.json
	normalize 0
	expect 'all(.[]; .link == null and .context.build_url == "job/shop-api/128/")
		and ([.[].source] == ["jenkins", "cloudbees"]) and .[0].fingerprint != .[1].fingerprint'
	normalize 0 --jenkins-url https://ci.example.test/ --cloudbees-url https://cb.example.test/cjoc
	expect '.[0].link == "https://ci.example.test/job/shop-api/128/"
		and .[0].context.console_url == "https://ci.example.test/job/shop-api/128/console"
		and .[1].link == "https://cb.example.test/cjoc/job/shop-api/128/" and .[1].severity == "medium"'
	AURORA_JENKINS_URL=https://env.example.test normalize 0
	expect '.[0].link == "https://env.example.test/job/shop-api/128/" and .[1].link == null'
}

@test "jenkins: base URLs from the connectors table; a missing --db is not created" {
	add_raw jenkins jenkins/relative-urls.json
	add_raw cloudbees jenkins/relative-urls.json
	local db=$BATS_TEST_TMPDIR/conn.db
	run -0 --separate-stderr aurora-connector --db "$db" base-url jenkins https://db.example.test/jenkins
	normalize 0 --db "$db"
	expect '.[0].link == "https://db.example.test/jenkins/job/shop-api/128/" and .[1].link == null'
	# an option beats the database
	normalize 0 --db "$db" --jenkins-url https://opt.example.test
	expect '.[0].link == "https://opt.example.test/job/shop-api/128/"'
	normalize 0 --db "$BATS_TEST_TMPDIR/nothing.db"
	[ ! -e "$BATS_TEST_TMPDIR/nothing.db" ]
	expect 'length == 2'
}

@test "with neither --db nor AURORA_DB, ./aurora.db gives the base URLs, as for every command" {
	add_raw jenkins jenkins/relative-urls.json
	run -0 --separate-stderr aurora-connector --db ./aurora.db base-url jenkins https://cwd.example.test/ci
	normalize 0
	expect '.[0].link == "https://cwd.example.test/ci/job/shop-api/128/"'
	AURORA_DB=$BATS_TEST_TMPDIR/other.db normalize 0
	expect '.[0].link == null'
}

@test "--db naming a file that is not an aurora database stops before any input is read (78)" {
	add_raw jenkins jenkins/relative-urls.json
	not_aurora_files
	local f
	for f in other text; do
		normalize 78 --db "$BATS_TEST_TMPDIR/$f.db"
		[[ $stderr == *"--db: $BATS_TEST_TMPDIR/$f.db is not an aurora database"* ]] || fail "stderr: $stderr"
		assert_output ""
		AURORA_DB="$BATS_TEST_TMPDIR/$f.db" normalize 78
	done
	not_aurora_untouched
}

@test "jenkins: pipeline snippet, Outbound WebHook and Global Build Notification payloads" {
	add_raw jenkins jenkins/pipeline-snippet.json
	add_raw jenkins jenkins/outbound-webhook.json
	add_raw jenkins jenkins/global-notification.json
	normalize 0 --jenkins-url https://jenkins.example.test
	expect '.[0] | .dedup_key == "checkout" and .status == "firing" and .service == "checkout"
		and .environment == "production" and .context.commit == "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
		and .link == "https://jenkins.example.test/job/checkout-deploy/88/"'
	expect '.[1] | .dedup_key == "nightly" and .status == "firing" and .service == "reports"
		and .context.build_number == 16'
	expect '.[2] | .dedup_key == "infra/terraform-apply" and .severity == "low" and .service == "terraform-apply"
		and .environment == "prod" and .title == "Build infra/terraform-apply #41 was aborted"'
}

# add_body PLATFORM JSON: a raw record whose body is JSON (written to a file first)
add_body() {
	local f
	f=$BATS_TEST_TMPDIR/body-$(($(wc -l <"$IN") + 1)).json
	printf '%s\n' "$2" >"$f"
	add_raw "$1" "$f"
}

@test "jenkins: a finished build with or without a phase: none, FINISHED (older plugin versions), lower case, build.result for build.status; QUEUED, STARTED and unknown results are notes" {
	local b='"name": "api-build", "url": "job/api-build/"'
	add_body jenkins "{$b, \"build\": {\"number\": 43, \"status\": \"FAILURE\"}}"
	add_body jenkins "{$b, \"build\": {\"number\": 43, \"phase\": \"FINISHED\", \"status\": \"FAILURE\"}}"
	add_body jenkins "{$b, \"build\": {\"number\": 43, \"phase\": \"finalized\", \"status\": \"UNSTABLE\"}}"
	add_body cloudbees "{$b, \"build\": {\"number\": 44, \"status\": \"SUCCESS\"}}"
	add_body jenkins "{$b, \"build\": {\"number\": 44, \"phase\": \"STARTED\", \"status\": \"FAILURE\"}}"
	add_body jenkins "{$b, \"build\": {\"number\": 44, \"phase\": \"QUEUED\", \"status\": \"\"}}"
	add_body jenkins "{$b, \"build\": {\"number\": 44, \"phase\": \"FINALIZED\", \"status\": \"BLABLA\"}}"
	add_body jenkins "{$b, \"build\": {\"number\": 44}}"
	add_body jenkins "{$b, \"build\": {\"number\": 45, \"result\": \"ABORTED\"}}"
	normalize 0
	expect 'length == 9 and ([.[].type] == ["alert", "alert", "alert", "alert", "note", "note", "note", "note", "alert"])
		and .[8].title == "Build api-build #45 was aborted"'
	expect '[.[0:4][] | [.status, .severity, .dedup_key]] == [["firing", "high", "api-build"],
		["firing", "high", "api-build"], ["firing", "medium", "api-build"], ["resolved", "info", "api-build"]]'
	expect '[.[0:4][].title] == ["Build api-build #43 failed", "Build api-build #43 failed",
		"Build api-build #43 is unstable", "Build api-build #44 succeeded"]'
	expect '[.[4:8][].title] == ["Build api-build #44 started", "Build api-build #44 queued",
		"Build api-build #44 blabla", "Build api-build #44 event"]'
}

@test "jenkins: the link is an absolute full_url, else the build's url, else the job's url and number, joined to the base URL; build timestamps as epoch ms or as the old plugin's text" {
	add_body jenkins '{"name": "a", "url": "job/a/", "build": {"number": 1, "status": "FAILURE",
		"full_url": "https://jenkins.example.test/job/a/1/", "url": "job/a/1/", "timestamp": 1741087500123}}'
	add_body jenkins '{"name": "b", "url": "job/b/", "build": {"number": 2, "status": "FAILURE",
		"full_url": "job/elsewhere/2/", "url": "job/b/2/", "timestamp": "2017-05-16T12:34:56.7+00:00"}}'
	add_body jenkins '{"name": "c", "url": "job/c/", "build": {"number": 3, "status": "FAILURE"}}'
	normalize 0
	expect '[.[].link] == ["https://jenkins.example.test/job/a/1/", null, null]'
	normalize 0 --jenkins-url https://ci.example.test/root/
	expect '[.[].link] == ["https://jenkins.example.test/job/a/1/", "https://ci.example.test/root/job/b/2/",
		"https://ci.example.test/root/job/c/3/"]'
	expect '[.[].started_at] == ["2025-03-04T11:25:00.123Z", "2017-05-16T12:34:56.700Z", "2026-03-04T10:00:00.000Z"]'
}

@test "jenkins: Lightstep Incident Response events keep their user's severity and resolve on status resolved; a buildTime in a zone Java names is read, an unknown zone is not" {
	local b='"jobName": "payments", "buildName": "#7", "buildUrl": "https://jenkins.example.test/job/payments/7/"'
	add_body jenkins "{$b, \"buildNum\": 7, \"status\": \"failure\", \"severity\": \"critical\", \"buildTime\": \"Tue Mar 08 15:14:07 PST 2022\"}"
	add_body jenkins "{$b, \"buildNum\": 7, \"status\": \"unstable\", \"severity\": \"moderate\", \"buildTime\": \"Tue Mar 08 15:14:07 XYZ 2022\"}"
	add_body jenkins "{$b, \"status\": \"resolved\", \"severity\": \"clear\", \"buildTime\": \"Wed Mar 9 08:00:00 UTC 2022\"}"
	normalize 0
	expect '[.[] | [.status, .severity, .dedup_key, .context.build_number]] == [["firing", "critical", "payments", 7],
		["firing", "medium", "payments", 7], ["resolved", "info", "payments", 7]]'
	expect '[.[].started_at] == ["2022-03-08T23:14:07.000Z", "2026-03-04T10:00:00.000Z", "2022-03-09T08:00:00.000Z"]
		and .[2].ended_at == "2022-03-09T08:00:00.000Z"'
}

# ---- bad input --------------------------------------------------------------

@test "bad lines are reported with their number and skipped; the stream goes on; exit 1" {
	add_line 'this is not json'
	add_raw netdata netdata/warning.json
	add_line '[1, 2, 3]'
	add_line '{"type":"something-else"}'
	add_line '{"v":1,"type":"raw","id":9,"platform":"zabbix","body":{}}'
	add_line ''
	add_line '{"v":1,"type":"raw","id":10,"platform":"netdata","body":{"hello":1}}'
	add_line '{"v":1,"type":"raw","id":11,"platform":"netdata"}'
	add_raw netdata netdata/clear.json
	normalize 1
	expect 'map(select(.type != "error")) | length == 2 and ([.[].status] == ["firing", "resolved"])'
	# only lines that name a delivery (a raw record with an id) give an error record
	expect 'map(select(.type == "error") | .inbox_id) == [9, 10, 11]'
	[[ $stderr == *"aurora-normalize: line 1: invalid JSON: "* ]]
	[[ $stderr == *"aurora-normalize: line 3: not a raw record: a JSON array"* ]]
	[[ $stderr == *'aurora-normalize: line 4: not a raw record: "type" is not "raw"'* ]]
	[[ $stderr == *'aurora-normalize: line 5: unknown platform "zabbix"'* ]]
	[[ $stderr == *"aurora-normalize: line 7: netdata (inbox 10): not a Netdata notification"* ]]
	[[ $stderr == *"aurora-normalize: line 8: netdata (inbox 11): raw record without a body"* ]]
	[[ $stderr == *"6 of 9 lines rejected"* ]]
	[[ $stderr != *"line 6"* ]]
	normalize 65 --strict
	expect 'map(select(.type != "error")) | length == 2'
}

@test "deep nesting: within libjq's depth limit it passes, beyond it the line is rejected" {
	local deep
	deep=$(jq -n -c '{sid: "s1", search_name: "deep", app: "search",
		result: {service: "x", blob: (reduce range(200) as $i ("leaf"; [.]))}}')
	printf '%s' "$deep" >"$BATS_TEST_TMPDIR/deep.json"
	add_raw splunk "$BATS_TEST_TMPDIR/deep.json"
	# 10000 levels: built as text, jq cannot build it either
	printf '{"v":1,"type":"raw","id":2,"platform":"splunk","body":{"sid":"s2","result":%s1%s}}\n' \
		"$(printf '[%.0s' $(seq 10000))" "$(printf ']%.0s' $(seq 10000))" >>"$IN"
	add_raw splunk splunk/result.json
	normalize 1
	expect 'length == 2 and .[0].service == "x" and (.[0].context.result.blob | flatten == ["leaf"])'
	[[ $stderr == *"line 2: invalid JSON: exceeds depth limit"* ]]
}

@test "invalid UTF-8 becomes U+FFFD; the output is valid UTF-8 JSON" {
	printf '{"v":1,"type":"raw","id":1,"platform":"netdata","body":{"alarm":"disk\xff\xfe_usage","status":"WARNING","hostname":"db-\xc3\x28","info":"caf\xc3\xa9 \\ud800 ok","when":1741080000}}\n' >"$IN"
	normalize 0
	iconv -f UTF-8 -t UTF-8 "$OUT" >/dev/null
	expect 'length == 1 and (.[0] | .context.alarm == "disk\ufffd\ufffd_usage" and .host == "db-\ufffd("
		and .description == "café \ufffd ok")'
}

@test "a line longer than 16 MiB is rejected, the next one still read" {
	{
		printf '{"v":1,"type":"raw","id":1,"platform":"splunk","body":{"sid":"x","result":{"big":"'
		head -c 17000000 /dev/zero | tr '\0' a
		printf '"}}}\n'
	} >"$IN"
	add_raw netdata netdata/warning.json
	normalize 1
	expect 'length == 1 and .[0].source == "netdata"'
	[[ $stderr == *"line 1: line longer than 16777216 bytes"* ]]
}

@test "aurora-connector's test samples normalize as tests, on every platform" {
	local f
	for f in "$AURORA_TOP"/lib/samples/*.json; do
		jq -c --arg p "$(basename "$f" .json)" '{v: 1, type: "raw", id: 1, platform: $p,
			received_at: "2026-03-04T10:00:00Z", headers: {}, body: ., test: true}' "$f" >>"$IN"
	done
	normalize 0
	expect 'length == 9 and all(.[]; .type == "alert" and .test == true)
		and ([.[].source] | sort == ["alertmanager", "cloudbees", "datadog", "dynatrace", "grafana",
			"jenkins", "netdata", "pagerduty", "splunk"])'
}

@test "files named on the command line are read in turn; messages name the file" {
	add_raw netdata netdata/warning.json
	add_line 'oops'
	cp "$IN" "$BATS_TEST_TMPDIR/second.jsonl"
	run -1 --separate-stderr aurora-normalize "$IN" - "$BATS_TEST_TMPDIR/second.jsonl" </dev/null
	printf '%s\n' "$output" >"$OUT"
	expect 'length == 2 and all(.[]; .source == "netdata")'
	[[ $stderr == *"aurora-normalize: $IN: line 2: invalid JSON"* ]]
	[[ $stderr == *"aurora-normalize: $BATS_TEST_TMPDIR/second.jsonl: line 2: invalid JSON"* ]]
}

@test "a write error on standard output exits 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	add_raw netdata netdata/warning.json
	run -74 --separate-stderr bash -c 'aurora-normalize "$1" >/dev/full' _ "$IN"
	[[ $stderr == *"write error"* ]]
}

@test "an unreadable input file exits 74" {
	run -74 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/no-such-file"
	[[ $stderr == *"no-such-file"* ]]
}

@test "--platform reads bare payloads; raw records still go by their own platform" {
	jq -c . "$NFIX/netdata/warning.json" >"$IN"
	add_raw grafana grafana/firing.json 5
	normalize 0 --platform netdata
	expect 'length == 2 and .[0].source == "netdata" and .[0].inbox_id == null
		and .[1].source == "grafana" and .[1].inbox_id == 5'
	normalize 1
	[[ $stderr == *'line 1: not a raw record: no "type" (give --platform for bare payloads)'* ]]
}

# ---- operator mappings ------------------------------------------------------

@test "--mappings DIR adds a platform aurora does not ship (Zabbix, the README's example)" {
	add_raw zabbix zabbix-problem.json 3
	add_raw zabbix zabbix-recovery.json 4
	normalize 0 --mappings "$NFIX/mappings/zabbix"
	expect 'length == 2 and (.[0] | .source == "zabbix" and .dedup_key == "20455/web-2"
		and .status == "firing" and .severity == "high" and .service == "storefront" and .host == "web-2"
		and .environment == "prod" and .tags == {"service": "storefront", "env": "prod"}
		and .started_at == "2026-03-04T10:15:00.000Z" and .ended_at == null and .inbox_id == 3)
		and (.[1] | .status == "resolved" and .fingerprint == $fp and .ended_at == "2026-03-04T10:41:00.000Z")' \
		--arg fp "$(fingerprint_of zabbix 20455/web-2)"
	AURORA_MAPPINGS=$NFIX/mappings/zabbix normalize 0
	expect 'length == 2 and .[0].source == "zabbix"'
	run -0 --separate-stderr aurora-normalize --mappings "$NFIX/mappings/zabbix" --check
	assert_line "zabbix	$NFIX/mappings/zabbix/zabbix.jq"
	assert_line "grafana	built-in"
}

@test "--mappings DIR overrides a built-in mapping; the others stay built-in" {
	add_raw grafana grafana/mixed-group.json
	add_raw netdata netdata/warning.json
	normalize 0 --mappings "$NFIX/mappings/override"
	expect 'length == 2 and (.[0] | .source == "grafana-custom" and .title == "group of 2"
		and .context.override == true and .severity == "low") and .[1].source == "netdata"'
}

@test "an operator's mappings can include helper files that start with an underscore" {
	add_line '{"v":1,"type":"raw","id":1,"platform":"helped","body":{"id":"x1","level":"P","text":"pump down"}}'
	add_line '{"v":1,"type":"raw","id":2,"platform":"_common","body":{}}'
	normalize 1 --mappings "$NFIX/mappings/withhelper"
	expect 'map(select(.type != "error")) | length == 1 and .[0].severity == "critical" and .[0].title == "pump down"'
	[[ $stderr == *'line 2: unknown platform (a name that is not one)'* ]]
}

@test "a delivery from aurora-connector test marks every record a test" {
	add_raw grafana grafana/mixed-group.json
	jq -c '.test = true' "$IN" >"$BATS_TEST_TMPDIR/t.jsonl"
	cat "$BATS_TEST_TMPDIR/t.jsonl" >>"$IN"
	normalize 0
	expect 'length == 4 and ([.[] | has("test")] == [false, false, true, true]) and .[2].test == true'
}

@test "a mapping that does not compile exits 78 naming the file and jq's message" {
	normalize 78 --mappings "$NFIX/mappings/broken"
	assert_output ""
	[[ $stderr == *"mapping $NFIX/mappings/broken/broken.jq does not compile: syntax error"* ]]
	[[ $stderr == *"line 3"* ]]
	run -78 --separate-stderr aurora-normalize --mappings "$BATS_TEST_TMPDIR/no-such-dir" --check
	[[ $stderr == *"mappings directory $BATS_TEST_TMPDIR/no-such-dir"* ]]
}

@test "records that break the schema are rejected with the reason" {
	local body
	for body in '{"status":"open","severity":"low"}' '{"status":"firing","severity":"warning"}' \
		'{"status":"firing","severity":"LOW"}'; do
		jq -n -c --argjson b "$body" '{v: 1, type: "raw", id: 1, platform: "badrecord", body: $b}' >>"$IN"
	done
	normalize 1 --mappings "$NFIX/mappings/badrecord"
	expect 'map(select(.type != "error")) | length == 1 and .[0].severity == "low"'
	expect 'map(select(.type == "error") | .reason) == ["alert status must be firing or resolved, not open",
		"alert severity must be critical, high, medium, low or info, not warning"]'
	[[ $stderr == *'line 1: badrecord (inbox 1): alert status must be firing or resolved, not open'* ]]
	[[ $stderr == *'line 2: badrecord (inbox 1): alert severity must be critical, high, medium, low or info, not warning'* ]]
}

@test "what the normalizer completes: timestamps of any form, text, tags, context, extras" {
	jq -n -c '{v: 1, type: "raw", id: 1, platform: "echo", received_at: "1741087200", body: [
		{dedup_key: "a", status: "FIRING", severity: "High", started_at: 1741087200},
		{dedup_key: "b", status: "resolved", severity: "low", started_at: "1741087200123",
		 ended_at: "2025-03-04T12:20:00.123456789+02:00"},
		{dedup_key: "c", status: "firing", severity: "info", started_at: 1741087200123456,
		 title: 42, service: "", host: true, link: {}, tags: {a: 1, b: null, c: "", d: [1], e: "x"},
		 context: {keep: 0, drop: null, empty: "", nested: {n: null}}, extra: [1, 2], v: 9,
		 fingerprint: "mine", inbox_id: 77},
		{dedup_key: 5, status: "firing", severity: "medium", started_at: "nonsense", test: true},
		{type: "note", kind: "hello", occurred_at: "2026-03-04T10:00:00Z", context: {a: null}},
		{dedup_key: "e", status: "resolved", severity: "info", started_at: "0001-01-01T00:00:00Z", ended_at: -1}
	]}' >"$IN"
	normalize 0 --mappings "$NFIX/mappings/echo"
	expect 'length == 6 and all(.[]; .source == "echo" and .inbox_id == 1
		and .received_at == "2025-03-04T11:20:00.000Z")'
	expect '.[0] | .status == "firing" and .severity == "high" and .started_at == "2025-03-04T11:20:00.000Z"
		and .title == "a" and .ended_at == null'
	expect '.[1] | .started_at == "2025-03-04T11:20:00.123Z" and .ended_at == "2025-03-04T10:20:00.123Z"'
	expect '.[2] | .started_at == "2025-03-04T11:20:00.123Z" and .title == "42" and .service == null
		and .host == "true" and .link == null and .tags == {"a": "1", "c": "", "e": "x"}
		and .context == {"keep": 0, "nested": {"n": null}} and .extra == [1, 2] and .v == 1
		and .fingerprint != "mine" and .inbox_id == 1'
	expect '.[3] | .dedup_key == "5" and .test == true and .started_at == "2025-03-04T11:20:00.000Z"'
	expect '.[4] | .type == "note" and .kind == "hello" and .title == "hello" and .dedup_key == null
		and .occurred_at == "2026-03-04T10:00:00.000Z" and .context == {}'
	expect '.[5] | .started_at == "2025-03-04T11:20:00.000Z" and .ended_at == "2025-03-04T11:20:00.000Z"'
}

# ---- end to end with real senders -------------------------------------------

@test "end to end: a real Alertmanager through aurora-recv and aurora-inbox into alert records" {
	need prometheus-alertmanager amtool aurora-recv aurora-connector aurora-inbox
	start_recv
	new_token alertmanager
	alertmanager_start
	local started ended
	started=$(date -u -d '-10 sec' +%Y-%m-%dT%H:%M:%SZ)
	run -0 amtool --alertmanager.url="$AM" alert add NormalizeE2E \
		severity=critical instance=db-3:9100 job=node service=orders-db \
		--annotation=summary='e2e: disk almost full' --start="$started"
	wait_inbox alertmanager 1 "$IN"
	ended=$(date -u -d '-1 sec' +%Y-%m-%dT%H:%M:%SZ)
	run -0 amtool --alertmanager.url="$AM" alert add NormalizeE2E \
		severity=critical instance=db-3:9100 job=node service=orders-db \
		--annotation=summary='e2e: disk almost full' --start="$started" --end="$ended"
	wait_inbox alertmanager 2 "$IN"

	normalize 0
	expect 'length == 2 and ([.[].status] == ["firing", "resolved"])
		and ([.[].dedup_key] | unique | length == 1) and (.[0].dedup_key | test("^[0-9a-f]{16}$"))
		and all(.[]; .source == "alertmanager" and .severity == "critical" and .service == "orders-db"
			and .host == "db-3" and .title == "e2e: disk almost full" and (.inbox_id | type) == "number")
		and .[0].ended_at == null'
	expect '.[0].started_at == ($s | sub("Z$"; ".000Z")) and .[1].ended_at == ($e | sub("Z$"; ".000Z"))' \
		--arg s "$started" --arg e "$ended"
}

@test "end to end: the Netdata agent's alarm-notify.sh test through aurora-recv and aurora-inbox" {
	need aurora-recv aurora-connector aurora-inbox curl
	local notify dir=$BATS_TEST_TMPDIR/netdata
	notify=$(dpkg -L netdata-plugins-bash 2>/dev/null | grep '/alarm-notify\.sh$') ||
		fail "alarm-notify.sh not found: netdata-plugins-bash is required (sh scripts/install-deps)"
	start_recv
	new_token netdata
	mkdir -p "$dir/cache"
	sed "s|^AURORA_NETDATA_URL=.*|AURORA_NETDATA_URL=\"$RECV/api/webhooks/netdata?token=$TOKEN\"|" \
		"$AURORA_TOP/examples/netdata-health_alarm_notify.conf" >"$dir/health_alarm_notify.conf"
	run -0 --separate-stderr env NETDATA_USER_CONFIG_DIR="$dir" \
		NETDATA_STOCK_CONFIG_DIR="$(dirname "$notify")/../conf.d" NETDATA_CACHE_DIR="$dir/cache" \
		NETDATA_REGISTRY_URL=http://127.0.0.1:1 "$notify" test
	wait_inbox netdata 3 "$IN"

	normalize 0
	expect 'length == 3 and ([.[].status] == ["firing", "firing", "resolved"])
		and ([.[].severity] == ["medium", "critical", "critical"])
		and ([.[].dedup_key] | unique | length == 1) and all(.[]; .test == true
			and .source == "netdata" and .host == $h and .context.chart == "test.chart")' \
		--arg h "$(hostname)"
}

@test "a title over 1000 bytes is cut on a character boundary and ends in an ellipsis; a shorter one is kept whole" {
	# 3000 bytes of two-byte characters, then one of exactly 1000 bytes
	jq -c --arg long "$(printf 'é%.0s' $(seq 1 1500))" --arg edge "$(printf 'x%.0s' $(seq 1 1000))" \
		'.alerts[0].labels.alertname = $long | .alerts[1].labels.alertname = $edge
		 | .alerts[0].annotations = {} | .alerts[1].annotations = {}' \
		"$NFIX/alertmanager/mixed-group.json" >"$BATS_TEST_TMPDIR/long.json"
	add_raw alertmanager "$BATS_TEST_TMPDIR/long.json"
	normalize 0
	expect 'length >= 2
		and (.[0].title | utf8bytelength <= 1000 and endswith("…") and startswith("éé")
			and (rtrimstr("…") | test("^é+$")))
		and (.[1].title == ("x" * 1000))'
}
