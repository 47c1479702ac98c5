# normalize.bash - helpers for tests/normalize.bats (load after helpers/common).
#
# A test builds its input with add_raw (raw records around fixture bodies),
# runs aurora-normalize with `normalize STATUS [OPTIONS...]` and checks the
# records with `expect 'JQ FILTER'`, which sees all output records as one
# array (jq -s), must yield true, and fails when there are none.

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

# expect FILTER [JQ ARGS...]: there are output records, and FILTER over their
# array is true (no records fails, whatever the filter)
expect() {
	local filter=$1
	shift
	jsonl_ok "$filter" "$@" <"$OUT" 2>/dev/null ||
		fail "$(printf 'expected: %s\nrecords:\n%s\nstderr:\n%s' "$filter" "$(cat "$OUT")" "${stderr:-}")"
}

# sha256 fingerprint aurora documents: first 32 hex digits of SHA-256("source:dedup_key")
fingerprint_of() {
	printf '%s:%s' "$1" "$2" | sha256sum | cut -c1-32
}
