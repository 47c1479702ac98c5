# correlate.bash - alert records for aurora-correlate tests.
# shellcheck disable=SC2154 # $output and $status come from bats' run
#
# alert SOURCE KEY STATUS TIME SERVICE TITLE [DESCRIPTION [HOST]]
# prints one alert record line (the contract aurora-normalize writes); its
# severity is $SEVERITY (default high), its inbox_id $INBOX_ID (default none).
alert() {
	jq -cn --arg source "$1" --arg key "$2" --arg status "$3" --arg at "$4" \
		--arg service "$5" --arg title "$6" --arg desc "${7:-}" --arg host "${8:-}" \
		--argjson inbox "${INBOX_ID:-0}" --arg severity "${SEVERITY:-high}" '
		{v: 1, type: "alert", source: $source, dedup_key: $key, fingerprint: ($source + ":" + $key),
		 status: $status, severity: $severity, title: $title, description: $desc,
		 service: (if $service == "" then null else $service end),
		 host: (if $host == "" then null else $host end),
		 tags: {}, labels: {}, started_at: $at, ended_at: null, link: "https://example.test/\($key)",
		 context: {}, received_at: $at}
		+ (if $inbox > 0 then {inbox_id: $inbox} else {} end)'
}

# correlate FILE [ARGS...]: run aurora-correlate on FILE into $BATS_TEST_TMPDIR/out.jsonl;
# it must exit WANT (default 0)
correlate() {
	local in=$1
	shift
	run "-${WANT:-0}" --separate-stderr aurora-correlate --db "$AURORA_DB" "$@" < "$in"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out.jsonl"
}

# decision N: the Nth decision line (1-based) of the last correlate run
decision() {
	sed -n "${1}p" "$BATS_TEST_TMPDIR/out.jsonl"
}

# amend FILTER: an alert line (stdin) changed by a jq FILTER: labels, tags, severity...
amend() {
	jq -c "$1"
}

# expect_decision N FILTER: decision N of the last correlate run satisfies FILTER (fails when there is none)
expect_decision() {
	decision "$1" | jq -en "input | $2"
}

# decide: aurora-correlate --no-mark on $IN, its decisions (there must be some) in $DEC
decide() {
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$IN"
	[ -n "$output" ] || fail "aurora-correlate decided nothing on $(cat "$IN")"
	printf '%s\n' "$output" >"$DEC"
}
