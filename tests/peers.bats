#!/usr/bin/env bats
# peers.bats - real senders on 127.0.0.1 deliver to aurora-recv, and what
# they sent lands in the inbox:
#   - Prometheus Alertmanager 0.25 (Debian's prometheus-alertmanager, clustering
#     off), configured from examples/alertmanager.yml, alerts pushed with
#     amtool: a firing group, then the resolved one;
#   - the Netdata agent's notifier (alarm-notify.sh from netdata-plugins-bash)
#     with the custom_sender of examples/netdata-health_alarm_notify.conf:
#     `alarm-notify.sh test` sends WARNING, CRITICAL and CLEAR.
# Both peers are required (scripts/install-deps installs them): a missing one
# fails the test instead of skipping it.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
bats_require_minimum_version 1.5.0
load helpers/common
load helpers/peers

setup() {
	PEER_PIDS=()
	RECV_PID=
	need aurora-recv aurora-connector aurora-inbox jq curl
	start_recv
}

# End every background process; the receiver must stop cleanly on SIGTERM
# (exit 0) with no sanitizer report (make check runs the ASan+UBSan build).
teardown() {
	local pid rc=0
	for pid in "${PEER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PEER_PIDS[@]}"; do
		if [ "$pid" = "${RECV_PID-}" ]; then
			wait "$pid" 2>/dev/null || rc=$?
		else
			wait "$pid" 2>/dev/null || true
		fi
	done
	if [ -n "${RECV_PID-}" ] && { [ "$rc" -ne 0 ] ||
		grep -qE 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/recv.log"; }; then
		echo "aurora-recv exited $rc:" >&2
		cat "$BATS_TEST_TMPDIR/recv.log" >&2
		return 1
	fi
}

# RFC 3339 UTC time, $1 seconds from now (negative: in the past).
rfc3339() {
	date -u -d "$1 sec" +%Y-%m-%dT%H:%M:%SZ
}

@test "a real Alertmanager delivers a firing group, then the resolved group, which end as one resolved incident" {
	need prometheus-alertmanager amtool
	new_token alertmanager
	alertmanager_start --log.level=debug
	local am=$AM started ended

	# firing: started 10 s ago, so the group is older than group_wait
	started=$(rfc3339 -10)
	run -0 amtool --alertmanager.url="$am" alert add AuroraPeerTest severity=critical \
		instance=db-3:9100 job=node --annotation=summary='peer test: disk almost full' \
		--start="$started"
	wait_inbox alertmanager 1

	# resolved: the same alert again with endsAt in the past
	ended=$(rfc3339 -1)
	run -0 amtool --alertmanager.url="$am" alert add AuroraPeerTest severity=critical \
		instance=db-3:9100 job=node --annotation=summary='peer test: disk almost full' \
		--start="$started" --end="$ended"
	wait_inbox alertmanager 2

	local f=$BATS_TEST_TMPDIR/alertmanager.jsonl
	# exactly two deliveries, both raw records of the alertmanager platform
	jsonl_ok 'length == 2 and all(.[]; .v == 1 and .type == "raw" and .platform == "alertmanager"
		and (.id | type) == "number" and .remote == "127.0.0.1")' <"$f"
	# the sender is Alertmanager, posting JSON; the token is not kept
	jsonl_ok 'all(.[]; (.headers["user-agent"] | startswith("Alertmanager/"))
		and (.headers["content-type"] | startswith("application/json"))
		and (.headers | has("authorization") | not))' <"$f"
	# firing, then resolved, Alertmanager's version 4 format
	jsonl_ok '
		map(.body) as [$f, $r]
		| $f.version == "4" and $r.version == "4"
		and $f.status == "firing" and $r.status == "resolved"
		and $f.receiver == "aurora" and $f.groupKey == $r.groupKey
		and ($f.groupKey | contains("AuroraPeerTest"))
		and ($f.alerts | length) == 1 and ($r.alerts | length) == 1
		and $f.alerts[0].status == "firing" and $r.alerts[0].status == "resolved"
		and $f.alerts[0].startsAt == $started and $r.alerts[0].startsAt == $started
		and $f.alerts[0].endsAt == "0001-01-01T00:00:00Z" and $r.alerts[0].endsAt == $ended
		and $f.alerts[0].annotations.summary == "peer test: disk almost full"' --arg started "$started" --arg ended "$ended" <"$f"
	# the same alert in both: labels and fingerprint equal
	jsonl_ok 'map(.body.alerts[0]) as [$f, $r]
		| $f.labels == {"alertname": "AuroraPeerTest", "severity": "critical",
			"instance": "db-3:9100", "job": "node"}
		and $r.labels == $f.labels
		and ($f.fingerprint | test("^[0-9a-f]{16}$")) and $r.fingerprint == $f.fingerprint' <"$f"

	# show gives the same record by id
	local first
	first=$(jq -s '.[0].id' "$f")
	run -0 --separate-stderr aurora-inbox show "$first" --json
	json_ok '.id == $id and .platform == "alertmanager"
		and .body.status == "firing" and .body.alerts[0].labels.alertname == "AuroraPeerTest"' --argjson id "$first" <<<"$output"

	# end to end: the two deliveries become alert records, then one incident that resolved
	local alerts=$BATS_TEST_TMPDIR/alerts.jsonl decisions=$BATS_TEST_TMPDIR/decisions.jsonl
	aurora-inbox replay --from 1 >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize <"$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$alerts"
	jsonl_ok 'length == 2 and all(.[]; .type == "alert" and .source == "alertmanager")
		and .[0].dedup_key == .[1].dedup_key
		and .[0].status == "firing" and .[1].status == "resolved"
		and .[0].severity == "critical" and .[0].title == "peer test: disk almost full"
		and .[0].host == "db-3" and .[1].ended_at != null' --arg started "$started" <"$alerts"
	# --quiet-period 0: resolved at once, without the wait for a flapping re-fire
	run -0 --separate-stderr aurora-correlate --quiet-period 0 <"$alerts"
	printf '%s\n' "$output" >"$decisions"
	jsonl_ok '[.[].action] == ["created", "resolved"] and .[0].incident_id == .[1].incident_id' <"$decisions"
	run -0 --separate-stderr aurora-incident show "$(jq -s '.[0].incident_id' "$decisions")" --json
	json_ok '.status == "resolved" and (.alerts | length) == 1 and .severity == "critical"' <<<"$output"
}

# The Netdata notifier, its user configuration in $BATS_TEST_TMPDIR/netdata
# with aurora's example and URL $1; alarm-notify.sh's path in $NOTIFY.
netdata_config() {
	NOTIFY=$(dpkg -L netdata-plugins-bash | grep '/alarm-notify\.sh$') ||
		fail "alarm-notify.sh not found: netdata-plugins-bash is required (sh scripts/install-deps)"
	[ -x "$NOTIFY" ] || fail "$NOTIFY is not executable"
	local dir=$BATS_TEST_TMPDIR/netdata
	mkdir -p "$dir/cache"
	sed "s|^AURORA_NETDATA_URL=.*|AURORA_NETDATA_URL=\"$1\"|" \
		"$AURORA_TOP/examples/netdata-health_alarm_notify.conf" >"$dir/health_alarm_notify.conf"
	grep -qxF "AURORA_NETDATA_URL=\"$1\"" "$dir/health_alarm_notify.conf" || fail "URL not substituted"
}

# alarm-notify.sh test, reading the stock configuration of the package and
# then ours, as the agent does with /etc/netdata.
netdata_test() {
	local dir=$BATS_TEST_TMPDIR/netdata
	run "$@" --separate-stderr env NETDATA_USER_CONFIG_DIR="$dir" \
		NETDATA_STOCK_CONFIG_DIR="$(dirname "$NOTIFY")/../conf.d" NETDATA_CACHE_DIR="$dir/cache" \
		NETDATA_REGISTRY_URL=http://127.0.0.1:1 "$NOTIFY" test
}

@test "the Netdata agent's alarm-notify.sh test delivers WARNING, CRITICAL and CLEAR, which normalize as tests" {
	new_token netdata
	netdata_config "$RECV/api/webhooks/netdata?token=$TOKEN"
	netdata_test -0
	# the custom sender saw a 202 for each of the three
	# shellcheck disable=SC2154 # run --separate-stderr sets $stderr
	assert_equal "$(grep -c "INFO: sent aurora notification for" <<<"$stderr")" 3
	wait_inbox netdata 3

	local f=$BATS_TEST_TMPDIR/netdata.jsonl host
	host=$(hostname)
	jsonl_ok 'length == 3 and all(.[]; .v == 1 and .type == "raw" and .platform == "netdata"
		and (.headers["content-type"] | startswith("application/json"))
		and (.headers["user-agent"] | startswith("curl/")))' <"$f"
	jsonl_ok '[.[].body | [.status, .old_status, .event_id]]
		== [["WARNING", "CLEAR", 1], ["CRITICAL", "WARNING", 2], ["CLEAR", "CRITICAL", 3]]' <"$f"
	# every documented key, with its JSON type
	jsonl_ok 'all(.[].body;
		(keys == (["alarm", "status", "old_status", "hostname", "chart", "family", "value",
			"units", "when", "info", "alarm_id", "unique_id", "event_id"] | sort))
		and .alarm == "test_alarm" and .hostname == $host and .chart == "test.chart"
		and .family == "test.family" and .value == 100 and .units == "units"
		and .info == "this is a test alarm to verify notifications work"
		and .alarm_id == 1 and .unique_id == 1
		and (.when | type) == "number" and (now - .when | fabs) < 300)' --arg host "$host" <"$f"

	# end to end: the agent's test alarm normalizes as three test records, which open no incident
	aurora-inbox replay --from 1 >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize <"$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/alerts.jsonl"
	jsonl_ok 'length == 3 and all(.[]; .type == "alert" and .source == "netdata"
			and .test == true and .host == $host)
		and ([.[].status] == ["firing", "firing", "resolved"])
		and ([.[].dedup_key] | unique | length) == 1' --arg host "$host" <"$BATS_TEST_TMPDIR/alerts.jsonl"
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/alerts.jsonl"
	jsonl_ok 'length == 3 and all(.[]; .action == "logged" and .incident_id == null)' <<<"$output"
}

@test "the Netdata custom_sender reports a rejected delivery as failed" {
	new_token netdata
	netdata_config "$RECV/api/webhooks/netdata?token=not-the-token"
	netdata_test -1
	# shellcheck disable=SC2154 # run --separate-stderr sets $stderr
	assert_equal "$(grep -c "ERROR: failed to send aurora notification for .*: HTTP status 401" <<<"$stderr")" 3
	run -0 --separate-stderr aurora-inbox list --platform netdata --json
	assert_equal "$output" ""
}
