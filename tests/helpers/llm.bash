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
	for _ in $(seq 1 200); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.05
	done
	LLM_PORT=$(cat "$BATS_TEST_TMPDIR/port")
	[ -n "$LLM_PORT" ]
}

# standin_stop: end the stand-in, if one runs
standin_stop() {
	if [ -n "${STANDIN_PID:-}" ]; then
		kill "$STANDIN_PID" 2>/dev/null || true
		wait "$STANDIN_PID" 2>/dev/null || true
	fi
	STANDIN_PID=
}
