# llm.bash - the stand-in LLM server (tests/helpers/llm-standin.py) for
# tests/llm.bats and tests/rca-llm.bats.
#
#   load helpers/llm       (after helpers/common)
#
# standin sets STANDIN_PID and LLM_PORT; the stand-in logs every request it
# received to $BATS_TEST_TMPDIR/requests.jsonl; standin_stop ends it.
# shellcheck disable=SC2034

# standin SCRIPT-JSON: start the stand-in with that script; sets LLM_PORT
standin() {
	printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/script.json"
	python3 "$AURORA_TOP/tests/helpers/llm-standin.py" "$BATS_TEST_TMPDIR/port" \
		"$BATS_TEST_TMPDIR/script.json" "$BATS_TEST_TMPDIR/requests.jsonl" 3>&- &
	STANDIN_PID=$!
	wait_file "$BATS_TEST_TMPDIR/port" "$STANDIN_PID"
	LLM_PORT=$(cat "$BATS_TEST_TMPDIR/port")
}

# standin_stop: end the stand-in, if one runs
standin_stop() {
	if [ -n "${STANDIN_PID:-}" ]; then
		kill "$STANDIN_PID" 2>/dev/null || true
		wait "$STANDIN_PID" 2>/dev/null || true
	fi
	STANDIN_PID=
}

# received N: the Nth request the stand-in got (0-based), one JSON line
received() {
	jq -c -s ".[$1]" "$BATS_TEST_TMPDIR/requests.jsonl"
}

# no_key: the API key ($KEY) is nowhere in what the last run printed
# ($output, $stderr) or in what the database holds
# shellcheck disable=SC2154 # $output and $stderr come from bats' run
no_key() {
	[[ $output != *"$KEY"* ]]
	[[ $stderr != *"$KEY"* ]]
	run -1 grep -c -- "$KEY" <(sqlite3 "$AURORA_DB" .dump)
	[ "$output" = 0 ]
}
