# normalize.bash - helpers for tests/normalize.bats (load after helpers/common).
#
# A test builds its input with add_raw (raw records around fixture bodies),
# runs aurora-normalize with `normalize STATUS [OPTIONS...]` and checks the
# records with `expect 'JQ FILTER'`, which sees all output records as one
# array (jq -s) and must yield true.

NFIX="$FIXTURES/normalize"

normalize_setup() {
	IN=$BATS_TEST_TMPDIR/in.jsonl
	OUT=$BATS_TEST_TMPDIR/out.jsonl
	: >"$IN"
	: >"$OUT"
	unset AURORA_MAPPINGS AURORA_JENKINS_URL AURORA_CLOUDBEES_URL AURORA_DB
	# aurora-normalize reads ./aurora.db when there is one: not the checkout's
	cd "$BATS_TEST_TMPDIR" || fail "no $BATS_TEST_TMPDIR"
}

# add_raw PLATFORM BODYFILE [ID] [RECEIVED_AT] [HEADERS_JSON]: append a raw
# record, as aurora-inbox writes them, whose body is the JSON in BODYFILE
# (relative names are under the fixtures). ID defaults to the line number.
add_raw() {
	local platform=$1 file=$2 id=${3:-} at=${4:-2026-03-04T10:00:00Z}
	local headers=${5:-'{"content-type":"application/json","user-agent":"test"}'}
	[[ $file == /* ]] || file=$NFIX/$file
	[ -n "$id" ] || id=$(($(wc -l <"$IN") + 1))
	jq -c --arg p "$platform" --argjson id "$id" --arg at "$at" --argjson h "$headers" \
		'{v: 1, type: "raw", id: $id, platform: $p, received_at: $at, remote: "127.0.0.1",
		  headers: $h, body: .}' "$file" >>"$IN" || fail "bad fixture $file"
}

# add_raw_text PLATFORM TEXTFILE CONTENT_TYPE: a raw record whose body arrived as text
add_raw_text() {
	local file=$2 id
	[[ $file == /* ]] || file=$NFIX/$file
	id=$(($(wc -l <"$IN") + 1))
	jq -c -R -s --arg p "$1" --arg ct "$3" --argjson id "$id" \
		'{v: 1, type: "raw", id: $id, platform: $p, received_at: "2026-03-04T10:00:00Z",
		  remote: "127.0.0.1", headers: {"content-type": $ct}, body: .}' "$file" >>"$IN" ||
		fail "bad fixture $file"
}

# add_line TEXT: append one line as it is
add_line() {
	printf '%s\n' "$1" >>"$IN"
}

# normalize STATUS [OPTION...]: run aurora-normalize with $IN on standard
# input, expect exit STATUS; the records land in $OUT, standard error in $stderr
normalize() {
	local want=$1
	shift
	run "-$want" --separate-stderr aurora-normalize "$@" <"$IN"
	printf '%s' "$output" >"$OUT"
	[ -z "$output" ] || printf '\n' >>"$OUT"
}

# expect FILTER [JQ ARGS...]: FILTER over the array of output records is true
expect() {
	local filter=$1
	shift
	jq -e -s "$@" "$filter" "$OUT" >/dev/null ||
		fail "$(printf 'expected: %s\nrecords:\n%s\nstderr:\n%s' "$filter" "$(cat "$OUT")" "${stderr:-}")"
}

# sha256 fingerprint aurora documents: first 32 hex digits of SHA-256("source:dedup_key")
fingerprint_of() {
	printf '%s:%s' "$1" "$2" | sha256sum | cut -c1-32
}

# ---- real senders (the previous issue's peers) ----------------------------

# need CMD...: fail unless every command is installed (required peers)
need() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			fail "$cmd is required: run sh scripts/install-deps"
	done
}

# background NAME CMD...: start CMD with its output in $BATS_TEST_TMPDIR/NAME.log
background() {
	local name=$1
	shift
	"$@" >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
	PEER_PIDS+=("$!")
}

stop_peers() {
	local pid
	for pid in "${PEER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PEER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	PEER_PIDS=()
}

# start_recv: aurora-recv on 127.0.0.1 with a fresh database; its URL in $RECV
start_recv() {
	aurora_fresh_db
	background recv aurora-recv --listen 127.0.0.1:0 --port-file "$BATS_TEST_TMPDIR/recv.port" \
		--db "$AURORA_DB" --log-file "$BATS_TEST_TMPDIR/recv-diagnostics.log"
	for _ in $(seq 1 200); do
		[ -s "$BATS_TEST_TMPDIR/recv.port" ] && break
		sleep 0.05
	done
	local port
	port=$(cat "$BATS_TEST_TMPDIR/recv.port" 2>/dev/null) ||
		fail "aurora-recv did not start: $(cat "$BATS_TEST_TMPDIR"/recv*.log)"
	[[ $port =~ ^[0-9]+$ ]] || fail "bad port file: $port"
	wait_port "$port"
	# shellcheck disable=SC2034 # used by the tests
	RECV=http://127.0.0.1:$port
}

# new_token PLATFORM: a webhook token for PLATFORM in $TOKEN
new_token() {
	run -0 --separate-stderr aurora-connector token "$1" --json
	TOKEN=$(jq -r .token <<<"$output")
	if [ -z "$TOKEN" ] || [ "$TOKEN" = null ]; then
		fail "no token in: $output"
	fi
}

# wait_inbox PLATFORM N: wait until the inbox holds N deliveries of PLATFORM;
# their raw records are then in $IN
wait_inbox() {
	local platform=$1 want=$2 n=0
	for _ in $(seq 1 150); do
		aurora-inbox list --platform "$platform" --json >"$IN" || fail "aurora-inbox list failed"
		n=$(wc -l <"$IN")
		[ "$n" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "the inbox holds $n of $want $platform deliveries: $(cat "$BATS_TEST_TMPDIR/recv-diagnostics.log" 2>/dev/null)"
}
