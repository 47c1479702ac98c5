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

bats_require_minimum_version 1.5.0
load helpers/common

# Fail unless every command is installed.
need() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			fail "$cmd is required: run sh scripts/install-deps"
	done
}

# Start a background process with its output in $BATS_TEST_TMPDIR/NAME.log;
# teardown ends it. fd 3 is closed so bats does not wait for it.
background() {
	local name=$1
	shift
	"$@" >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
	PEER_PIDS+=("$!")
}

setup() {
	PEER_PIDS=()
	RECV_PID=
	aurora_fresh_db
	need aurora-recv aurora-connector aurora-inbox jq curl
	background recv aurora-recv --listen 127.0.0.1:0 --port-file "$BATS_TEST_TMPDIR/recv.port" \
		--db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv-diagnostics.log"
	RECV_PID=$!
	for _ in $(seq 1 200); do
		[ -s "$BATS_TEST_TMPDIR/recv.port" ] && break
		kill -0 "$RECV_PID" 2>/dev/null || break
		sleep 0.05
	done
	RECV_PORT=$(cat "$BATS_TEST_TMPDIR/recv.port" 2>/dev/null) ||
		fail "aurora-recv did not start: $(cat "$BATS_TEST_TMPDIR"/recv*.log)"
	[[ $RECV_PORT =~ ^[0-9]+$ ]] || fail "bad port file: $RECV_PORT"
	wait_port "$RECV_PORT"
	RECV=http://127.0.0.1:$RECV_PORT
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

# A token for platform $1, from aurora-connector, in $TOKEN.
new_token() {
	run -0 --separate-stderr aurora-connector token "$1" --json
	jq -e --arg p "$1" '.platform == $p and (.token | length) >= 16
		and (.webhook_url | endswith("/api/webhooks/" + $p) or contains("/api/webhooks/" + $p + "?"))' \
		<<<"$output" >/dev/null || fail "unexpected token output: $output"
	TOKEN=$(jq -r .token <<<"$output")
}

# Wait (up to ~15 s) until the inbox holds $2 deliveries of platform $1; the
# raw records are then in $BATS_TEST_TMPDIR/$1.jsonl.
wait_inbox() {
	local platform=$1 want=$2 f=$BATS_TEST_TMPDIR/$1.jsonl n=0
	for _ in $(seq 1 150); do
		aurora-inbox list --platform "$platform" --json >"$f" || fail "aurora-inbox list failed"
		n=$(wc -l <"$f")
		[ "$n" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "the inbox holds $n of $want $platform deliveries; logs:
$(tail -n 20 "$BATS_TEST_TMPDIR"/*.log 2>/dev/null)"
}

# RFC 3339 UTC time, $1 seconds from now (negative: in the past).
rfc3339() {
	date -u -d "$1 sec" +%Y-%m-%dT%H:%M:%SZ
}

@test "a real Alertmanager delivers a firing group, then the resolved group, which end as one resolved incident" {
	need prometheus-alertmanager amtool
	new_token alertmanager
	local am_port cfg=$BATS_TEST_TMPDIR/alertmanager.yml
	am_port=$(free_port)

	# the operator's example, with this receiver's URL and token and short timers
	sed -e "s|'http://127.0.0.1:9797/api/webhooks/alertmanager'|'$RECV/api/webhooks/alertmanager'|" \
		-e "s|'PASTE-TOKEN-HERE'|'$TOKEN'|" \
		-e 's|group_wait: 30s |group_wait: 1s |' -e 's|group_interval: 5m |group_interval: 2s |' \
		"$AURORA_TOP/examples/alertmanager.yml" >"$cfg"
	grep -qF "url: '$RECV/api/webhooks/alertmanager'" "$cfg" || fail "url not substituted"
	grep -qF "credentials: '$TOKEN'" "$cfg" || fail "credentials not substituted"
	grep -q 'group_wait: 1s ' "$cfg" || fail "group_wait not substituted"
	grep -q 'group_interval: 2s ' "$cfg" || fail "group_interval not substituted"
	run -0 amtool check-config "$cfg"

	background alertmanager prometheus-alertmanager --config.file="$cfg" \
		--storage.path="$BATS_TEST_TMPDIR/am" --web.listen-address="127.0.0.1:$am_port" \
		--cluster.listen-address= --log.level=debug
	wait_port "$am_port" || fail "alertmanager: $(cat "$BATS_TEST_TMPDIR/alertmanager.log")"
	local am=http://127.0.0.1:$am_port started ended
	for _ in $(seq 1 100); do
		curl -fsS "$am/-/ready" >/dev/null 2>&1 && break
		sleep 0.05
	done

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
	jq -e -s 'length == 2 and all(.[]; .v == 1 and .type == "raw" and .platform == "alertmanager"
		and (.id | type) == "number" and .remote == "127.0.0.1")' "$f"
	# the sender is Alertmanager, posting JSON; the token is not kept
	jq -e -s 'all(.[]; (.headers["user-agent"] | startswith("Alertmanager/"))
		and (.headers["content-type"] | startswith("application/json"))
		and (.headers | has("authorization") | not))' "$f"
	# firing, then resolved, Alertmanager's version 4 format
	jq -e -s --arg started "$started" --arg ended "$ended" '
		map(.body) as [$f, $r]
		| $f.version == "4" and $r.version == "4"
		and $f.status == "firing" and $r.status == "resolved"
		and $f.receiver == "aurora" and $f.groupKey == $r.groupKey
		and ($f.groupKey | contains("AuroraPeerTest"))
		and ($f.alerts | length) == 1 and ($r.alerts | length) == 1
		and $f.alerts[0].status == "firing" and $r.alerts[0].status == "resolved"
		and $f.alerts[0].startsAt == $started and $r.alerts[0].startsAt == $started
		and $f.alerts[0].endsAt == "0001-01-01T00:00:00Z" and $r.alerts[0].endsAt == $ended
		and $f.alerts[0].annotations.summary == "peer test: disk almost full"' "$f"
	# the same alert in both: labels and fingerprint equal
	jq -e -s 'map(.body.alerts[0]) as [$f, $r]
		| $f.labels == {"alertname": "AuroraPeerTest", "severity": "critical",
			"instance": "db-3:9100", "job": "node"}
		and $r.labels == $f.labels
		and ($f.fingerprint | test("^[0-9a-f]{16}$")) and $r.fingerprint == $f.fingerprint' "$f"

	# show gives the same record by id
	local first
	first=$(jq -s '.[0].id' "$f")
	run -0 --separate-stderr aurora-inbox show "$first" --json
	jq -e --argjson id "$first" '.id == $id and .platform == "alertmanager"
		and .body.status == "firing" and .body.alerts[0].labels.alertname == "AuroraPeerTest"' <<<"$output"

	# end to end: the two deliveries become alert records, then one incident that resolved
	local alerts=$BATS_TEST_TMPDIR/alerts.jsonl decisions=$BATS_TEST_TMPDIR/decisions.jsonl
	aurora-inbox replay --from 1 >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize <"$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$alerts"
	jq -e -s --arg started "$started" 'length == 2 and all(.[]; .type == "alert" and .source == "alertmanager")
		and .[0].dedup_key == .[1].dedup_key
		and .[0].status == "firing" and .[1].status == "resolved"
		and .[0].severity == "critical" and .[0].title == "peer test: disk almost full"
		and .[0].host == "db-3" and .[1].ended_at != null' "$alerts"
	# --quiet-period 0: resolved at once, without the wait for a flapping re-fire
	run -0 --separate-stderr aurora-correlate --quiet-period 0 <"$alerts"
	printf '%s\n' "$output" >"$decisions"
	jq -e -s '[.[].action] == ["created", "resolved"] and .[0].incident_id == .[1].incident_id' "$decisions"
	run -0 --separate-stderr aurora-incident show "$(jq -s '.[0].incident_id' "$decisions")" --json
	jq -e '.status == "resolved" and (.alerts | length) == 1 and .severity == "critical"' <<<"$output"
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
	jq -e -s 'length == 3 and all(.[]; .v == 1 and .type == "raw" and .platform == "netdata"
		and (.headers["content-type"] | startswith("application/json"))
		and (.headers["user-agent"] | startswith("curl/")))' "$f"
	jq -e -s '[.[].body | [.status, .old_status, .event_id]]
		== [["WARNING", "CLEAR", 1], ["CRITICAL", "WARNING", 2], ["CLEAR", "CRITICAL", 3]]' "$f"
	# every documented key, with its JSON type
	jq -e -s --arg host "$host" 'all(.[].body;
		(keys == (["alarm", "status", "old_status", "hostname", "chart", "family", "value",
			"units", "when", "info", "alarm_id", "unique_id", "event_id"] | sort))
		and .alarm == "test_alarm" and .hostname == $host and .chart == "test.chart"
		and .family == "test.family" and .value == 100 and .units == "units"
		and .info == "this is a test alarm to verify notifications work"
		and .alarm_id == 1 and .unique_id == 1
		and (.when | type) == "number" and (now - .when | fabs) < 300)' "$f"

	# end to end: the agent's test alarm normalizes as three test records, which open no incident
	aurora-inbox replay --from 1 >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize <"$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/alerts.jsonl"
	jq -e -s --arg host "$host" 'length == 3 and all(.[]; .type == "alert" and .source == "netdata"
			and .test == true and .host == $host)
		and ([.[].status] == ["firing", "firing", "resolved"])
		and ([.[].dedup_key] | unique | length) == 1' "$BATS_TEST_TMPDIR/alerts.jsonl"
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/alerts.jsonl"
	jq -e -s 'length == 3 and all(.[]; .action == "logged" and .incident_id == null)' <<<"$output"
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
