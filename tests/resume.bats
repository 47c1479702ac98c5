#!/usr/bin/env bats
# The pipeline's resume point: aurora-inbox follow | aurora-normalize |
# aurora-correlate restarted after any stage dies (kill -9 included) decides
# every delivery exactly once, at the pace of a supervisor that restarts the
# whole pipeline when it ends (aurora(7), examples/aurora-pipeline.service).

load helpers/common
load helpers/inbox

setup() {
	aurora_fresh_db
	aurora_schema
	STOP="$BATS_TEST_TMPDIR/stop"
	SUPERVISOR_PID=
	FEED_PID=
}

teardown() {
	touch "$STOP"
	# the children first: once their parent is gone nothing finds them
	for pid in $FEED_PID $SUPERVISOR_PID; do
		pkill -TERM -P "$pid" 2>/dev/null || true
	done
	stop_pids $FEED_PID $SUPERVISOR_PID
}

# stage_kill NAME: kill -9 the supervised pipeline's NAME (aurora-inbox, ...)
stage_kill() {
	local pid
	pid=$(pgrep -P "$SUPERVISOR_PID" -f "^$1( |$)" | head -n 1)
	[ -n "$pid" ] && kill -KILL "$pid"
}

# sq SQL: the test database through the sqlite3 shell, waiting out a lock (a
# reader after a killed writer may have to wait for the WAL's recovery)
sq() {
	local opts=()
	while [[ $1 == -* ]]; do
		opts+=("$1" "$2")
		shift 2
	done
	sqlite3 -cmd '.timeout 10000' "${opts[@]}" "$AURORA_DB" "$@"
}

# am_fill FROM TO: Alertmanager deliveries FROM..TO (our own numbering), delivery i
# carrying 1 + i % 3 alerts, each a new identity; one transaction.
am_fill() {
	sq "PRAGMA busy_timeout = 10000;
		WITH RECURSIVE k(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM k WHERE i < $2),
		parts(i, j) AS (SELECT i, 1 FROM k UNION ALL SELECT i, j + 1 FROM parts WHERE j < 1 + i % 3)
		INSERT INTO inbox(platform, received_at, received_ms, content_type, body, body_sha256)
		SELECT 'alertmanager', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
			CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'application/json',
			CAST(json_object('version', '4', 'status', 'firing', 'receiver', 'aurora',
				'groupKey', 'g' || i, 'alerts', (SELECT json_group_array(json_object(
					'status', 'firing', 'fingerprint', printf('%08x%08x', i, j),
					'labels', json_object('alertname', 'Fault' || i || '_' || j,
						'service', 'svc' || (i % 7), 'severity', 'critical'),
					'annotations', json_object('summary', 'fault ' || i || ' part ' || j),
					'startsAt', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
					'endsAt', '0001-01-01T00:00:00Z'))
				FROM parts p WHERE p.i = k.i)) AS BLOB),
			lower(hex(randomblob(32)))
		FROM k ORDER BY i;" >/dev/null
}

# alerts_in FROM TO: how many alerts am_fill FROM TO made
alerts_in() {
	local n=0 i
	for ((i = $1; i <= $2; i++)); do n=$((n + 1 + i % 3)); done
	echo "$n"
}

mark() {
	sq "SELECT inbox_id FROM stage_marks WHERE stage = '${1:-correlate}'"
}

# The pipeline as the docs run it: started again whenever it ends, until $STOP exists.
supervise() {
	(
		while [ ! -e "$STOP" ]; do
			aurora-inbox --db "$AURORA_DB" follow --poll-ms 200 2>>"$BATS_TEST_TMPDIR/follow.err" |
				aurora-normalize 2>>"$BATS_TEST_TMPDIR/normalize.err" |
				aurora-correlate >>"$BATS_TEST_TMPDIR/decisions.jsonl" 2>>"$BATS_TEST_TMPDIR/correlate.err" ||
				true # a killed stage ends the pipeline: start it again
			echo "pipeline ended" >>"$BATS_TEST_TMPDIR/restarts"
			sleep 0.1
		done
	) 3>&- &
	SUPERVISOR_PID=$!
}

# wait_mark ID: until the correlate mark reaches ID (up to ~60 s)
wait_mark() {
	for _ in $(seq 1 600); do
		[ "$(mark)" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "the mark is at $(mark), not $1" >&2
	return 1
}

# Every delivery ended in exactly one committed decision: each alert identity
# stored once and counted once, each joined one incident once, and the mark at
# the newest delivery.
exactly_once() {
	local deliveries=$1 alerts=$2
	run -0 sq "SELECT count(*), sum(count), count(DISTINCT first_inbox_id),
		max(count), (SELECT count(*) FROM incident_alerts),
		(SELECT count(DISTINCT alert_id) FROM incident_alerts) FROM alerts"
	[ "$output" = "$alerts|$alerts|$deliveries|1|$alerts|$alerts" ] ||
		fail "alerts, counted, deliveries, max count, joins, joined alerts: $output (want $alerts alerts from $deliveries deliveries, each once)"
	[ "$(mark)" = "$(sq 'SELECT max(id) FROM inbox')" ]
}

@test "follow resumes after the correlate stage's mark by default; --resume names a stage; an unknown one is 78" {
	am_fill 1 3
	[ "$(mark)" = 0 ]
	# a new database's mark is 0: everything in it is still to be decided
	run -0 --separate-stderr timeout --preserve-status -s INT 1 aurora-inbox follow --poll-ms 50
	[ "$(jq -s 'map(.id)' <<<"$output" | jq -c .)" = "[1,2,3]" ]
	sq "UPDATE stage_marks SET inbox_id = 2"
	run -0 --separate-stderr timeout --preserve-status -s INT 1 aurora-inbox follow --poll-ms 50
	[ "$(jq -s -c 'map(.id)' <<<"$output")" = "[3]" ]
	sq "INSERT INTO stage_marks VALUES ('rca', 1, 0)"
	run -0 --separate-stderr timeout --preserve-status -s INT 1 aurora-inbox follow --resume rca --poll-ms 50
	[ "$(jq -s -c 'map(.id)' <<<"$output")" = "[2,3]" ]
	run -78 --separate-stderr aurora-inbox follow --resume nosuchstage
	[[ $stderr == *"no stage 'nosuchstage' has marked its progress"* ]]
	run -2 --separate-stderr aurora-inbox follow --resume rca --from 1
	[[ $stderr == *"--resume goes without --from and --cursor"* ]]
}

@test "aurora-correlate moves the mark past whole deliveries only; --mark names it, --no-mark leaves it" {
	am_fill 1 2 # delivery 1: 2 alerts, delivery 2: 3 alerts
	run -0 --separate-stderr aurora-inbox replay --from 1
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/raw.jsonl"
	run -0 --separate-stderr aurora-normalize "$BATS_TEST_TMPDIR/raw.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/alerts.jsonl"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/alerts.jsonl")" = 5 ]
	# the first part of delivery 1 only: committed, but the delivery is not whole
	head -n 1 "$BATS_TEST_TMPDIR/alerts.jsonl" >"$BATS_TEST_TMPDIR/part.jsonl"
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/part.jsonl"
	[ "$(jq -r .action <<<"$output")" = created ]
	[ "$(mark)" = 0 ]
	# delivery 1 whole and two parts of delivery 2
	head -n 4 "$BATS_TEST_TMPDIR/alerts.jsonl" >"$BATS_TEST_TMPDIR/more.jsonl"
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/more.jsonl"
	# the part already decided is said so, and counted once
	[ "$(jq -s -c 'map(.action)' <<<"$output")" = '["deduplicated","attached","created","attached"]' ]
	[[ $(jq -s -r '.[0].correlation.reason' <<<"$output") == *"already counted"* ]]
	[ "$(mark)" = 1 ]
	run -0 --separate-stderr aurora-correlate --no-mark <"$BATS_TEST_TMPDIR/alerts.jsonl"
	[ "$(mark)" = 1 ]
	run -0 --separate-stderr aurora-correlate --mark replay <"$BATS_TEST_TMPDIR/alerts.jsonl"
	[ "$(mark)" = 1 ]
	[ "$(mark replay)" = 2 ]
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/alerts.jsonl"
	[ "$(mark)" = 2 ]
	# marks never move back
	run -0 --separate-stderr aurora-correlate <"$BATS_TEST_TMPDIR/part.jsonl"
	[ "$(mark)" = 2 ]
	exactly_once 2 5
}

@test "normalize and correlate stop at once, with 0, when the next stage dies while they wait for input" {
	local in="$BATS_TEST_TMPDIR/in" out="$BATS_TEST_TMPDIR/out"
	for stage in aurora-normalize aurora-correlate; do
		rm -f "$in" "$out"
		mkfifo "$in" "$out"
		"$stage" <"$in" >"$out" 2>"$BATS_TEST_TMPDIR/$stage.err" &
		pid=$!
		exec 7>"$in" # upstream: open, silent
		exec 8<"$out" # downstream: reads nothing, then dies
		sleep 0.3
		kill -0 "$pid"
		exec 8<&-
		wait_exit "$pid" || fail "$stage kept waiting for input after its reader died"
		exec 7>&-
		[ "$waited" = 0 ] || fail "$stage exited $waited: $(cat "$BATS_TEST_TMPDIR/$stage.err")"
	done
}

@test "kill -9 of each stage at random moments, under a backlog and a live feed: every delivery decided exactly once" {
	am_fill 1 400
	supervise
	local next=401 kills=0
	for round in $(seq 1 12); do
		# the live feed: a few deliveries between kills
		am_fill "$next" $((next + 9))
		next=$((next + 10))
		sleep "0.$((RANDOM % 5 + 1))"
		case $((round % 3)) in
		0) victim=aurora-inbox ;;
		1) victim=aurora-normalize ;;
		2) victim=aurora-correlate ;;
		esac
		if stage_kill "$victim"; then
			kills=$((kills + 1))
		fi
	done
	last=$((next - 1))
	wait_mark "$(sq 'SELECT max(id) FROM inbox')"
	[ "$kills" -ge 6 ] || fail "only $kills of 12 kills found their stage"
	[ "$(lines_in "$BATS_TEST_TMPDIR/restarts")" -ge 6 ] || fail "the pipeline was restarted only $(lines_in "$BATS_TEST_TMPDIR/restarts") times"
	exactly_once "$last" "$(alerts_in 1 "$last")"
	# the decisions printed: at least one for every alert (a delivery in flight at a kill
	# is read again, and its second decision says "already counted"; a kill between a
	# commit and its printing leaves only that second one; a kill in the middle of
	# stdio's write to the file leaves a cut line, which the restarted stage's first
	# line continues: that line is read from its last start of a record)
	run -0 jq -R -s -r '[split("\n")[] | (fromjson? // (.[rindex("{\"v\":1,"):] | fromjson?)) | select(.action != "deduplicated" or
			(.correlation.reason | test("already counted"))) | .dedup_key] | unique | length' \
		"$BATS_TEST_TMPDIR/decisions.jsonl"
	[ "$output" = "$(alerts_in 1 "$last")" ]
}

@test "kill -9 of aurora-correlate while the pipeline is idle loses nothing: the next delivery is decided" {
	am_fill 1 5
	supervise
	wait_mark 5
	for victim in aurora-correlate aurora-normalize aurora-inbox; do
		stage_kill "$victim" || fail "no $victim running"
		sleep 0.3
		n=$(($(sq 'SELECT count(*) FROM inbox') + 1))
		am_fill "$n" "$n"
		wait_mark "$(sq 'SELECT max(id) FROM inbox')"
	done
	exactly_once 8 "$(alerts_in 1 8)"
}

# am_body I: the Alertmanager delivery number I, as am_fill makes it
am_body() {
	local i=$1 j sep='' alerts=''
	for ((j = 1; j <= 1 + i % 3; j++)); do
		alerts+=$(printf '%s{"status":"firing","fingerprint":"%08x%08x","labels":{"alertname":"Fault%d_%d","service":"svc%d","severity":"critical"},"annotations":{"summary":"fault %d part %d"},"startsAt":"2026-12-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}' \
			"$sep" "$i" "$j" "$i" "$j" $((i % 7)) "$i" "$j")
		sep=,
	done
	printf '{"version":"4","status":"firing","receiver":"aurora","groupKey":"g%d","alerts":[%s]}' "$i" "$alerts"
}

# sender K N URL: posts deliveries K*1000+1 .. K*1000+N, each again until it is
# answered 202 (as Alertmanager retries), and writes "I STATUS ID" lines to sent.K
sender() {
	local k=$1 n=$2 url=$3 i code body
	for ((i = k * 1000 + 1; i <= k * 1000 + n; i++)); do
		body=$BATS_TEST_TMPDIR/bodies/$i.json
		am_body "$i" >"$body"
		code=000
		for _ in $(seq 1 200); do
			code=$(curl -s -o "$body.resp" -w '%{http_code}' --max-time 5 \
				-H 'Content-Type: application/json' --data-binary "@$body" "$url") || code=000
			[ "$code" = 202 ] && break
			[ -e "$STOP" ] && break
			sleep 0.05
		done
		echo "$i $code $(jq -r .id "$body.resp" 2>/dev/null)" >>"$BATS_TEST_TMPDIR/sent.$k"
	done
}

# After senders ran: every 202 names the inbox row holding exactly the body sent,
# each body is stored once, and the pipeline decides each of its alerts once.
reconcile_202s() {
	local expected_alerts=0 i code id want got stored
	cat "$BATS_TEST_TMPDIR"/sent.* >"$BATS_TEST_TMPDIR/sent"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/sent")" = "$1" ] || fail "$(wc -l <"$BATS_TEST_TMPDIR/sent") of $1 deliveries were sent"
	sq -separator ' ' 'SELECT id, body_sha256 FROM inbox' | sort >"$BATS_TEST_TMPDIR/stored"
	while read -r i code id; do
		[ "$code" = 202 ] || fail "delivery $i was never answered 202 (last: $code)"
		want=$(sha256sum "$BATS_TEST_TMPDIR/bodies/$i.json" | cut -d' ' -f1)
		got=$(awk -v id="$id" '$1 == id { print $2 }' "$BATS_TEST_TMPDIR/stored")
		[ "$got" = "$want" ] || fail "delivery $i answered 202 id $id, but row $id holds ${got:-nothing}"
		# the stored body itself, byte for byte, against its hash
		sq "SELECT writefile('$BATS_TEST_TMPDIR/row', body) FROM inbox WHERE id = $id" >/dev/null
		stored=$(sha256sum "$BATS_TEST_TMPDIR/row" | cut -d' ' -f1)
		[ "$stored" = "$want" ] || fail "row $id's body does not hash to its body_sha256"
		expected_alerts=$((expected_alerts + 1 + i % 3))
	done <"$BATS_TEST_TMPDIR/sent"
	# each body once: retries of a stored delivery were recognised
	[ "$(cut -d' ' -f2 "$BATS_TEST_TMPDIR/stored" | sort | uniq -d | wc -l)" = 0 ] || fail "a body was stored twice"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/stored")" = "$1" ] || fail "$(wc -l <"$BATS_TEST_TMPDIR/stored") rows for $1 deliveries"
	wait_mark "$(sq 'SELECT max(id) FROM inbox')"
	exactly_once "$1" "$expected_alerts"
}

@test "kill -9 of aurora-recv's accept loop under 16 senders, restarted: every 202 is stored, every delivery decided once" {
	run -0 --separate-stderr aurora-connector token alertmanager --json
	token=$(jq -r .token <<<"$output")
	port=$(free_port)
	mkdir "$BATS_TEST_TMPDIR/bodies"
	supervise
	(
		set +e
		while [ ! -e "$STOP" ]; do
			aurora-recv --listen "127.0.0.1:$port" --log-file "$BATS_TEST_TMPDIR/recv.log" \
				2>>"$BATS_TEST_TMPDIR/recv.err" &
			echo $! >"$BATS_TEST_TMPDIR/recv.pid"
			wait
			echo ended >>"$BATS_TEST_TMPDIR/recv.ends"
		done
	) 3>&- &
	FEED_PID=$!
	wait_port "$port"
	pids=()
	for k in $(seq 1 16); do
		sender "$k" 12 "http://127.0.0.1:$port/api/webhooks/alertmanager?token=$token" 3>&- &
		pids+=("$!")
	done
	for _ in 1 2 3 4; do
		sleep "0.$((RANDOM % 5 + 3))"
		kill -KILL "$(cat "$BATS_TEST_TMPDIR/recv.pid")"
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	reconcile_202s 192
	# the receiver never died by itself: only the four kills ended it
	[ "$(lines_in "$BATS_TEST_TMPDIR/recv.ends")" = 4 ] || fail "aurora-recv ended $(lines_in "$BATS_TEST_TMPDIR/recv.ends") times: $(cat "$BATS_TEST_TMPDIR/recv.err")"
	run -1 grep -q "ERROR: AddressSanitizer\|runtime error" "$BATS_TEST_TMPDIR/recv.err"
}

@test "kill -9 of one-connection aurora-recv processes under tcpserver and 16 senders: every 202 is stored, every delivery decided once" {
	requires tcpserver
	run -0 --separate-stderr aurora-connector token alertmanager --json
	token=$(jq -r .token <<<"$output")
	mkdir "$BATS_TEST_TMPDIR/bodies"
	supervise
	tcpserver -1 -c 40 -H -R 127.0.0.1 0 aurora-recv --log-file "$BATS_TEST_TMPDIR/recv.log" \
		>"$BATS_TEST_TMPDIR/tcpserver.out" 2>"$BATS_TEST_TMPDIR/tcpserver.err" 3>&- &
	FEED_PID=$!
	wait_file "$BATS_TEST_TMPDIR/tcpserver.out"
	port=$(cut -d' ' -f1 <"$BATS_TEST_TMPDIR/tcpserver.out")
	pids=()
	for k in $(seq 1 16); do
		sender "$k" 12 "http://127.0.0.1:$port/api/webhooks/alertmanager?token=$token" 3>&- &
		pids+=("$!")
	done
	# a one-connection process lives for one delivery: aim at them until
	# eight are hit (one may end between pgrep and kill) or the senders end;
	# on a loaded machine the senders may end first, so three is enough
	kills=0
	while [ "$kills" -lt 8 ] && [ -n "$(ps -o pid= -p "$(IFS=,; echo "${pids[*]}")")" ]; do
		sleep 0.0$((RANDOM % 4 + 1))
		victim=$(pgrep -P "$FEED_PID" | shuf -n 1)
		[ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	[ "$kills" -ge 3 ] || fail "only $kills connections were killed"
	reconcile_202s 192
}
