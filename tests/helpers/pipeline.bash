# pipeline.bash - the live pipeline in the background:
#   aurora-inbox follow | aurora-normalize | aurora-correlate
#
#   load helpers/pipeline      (after helpers/common)
#
# The test's setup sets PIPE_PID= and its teardown calls pipeline_stop.

# pipeline_start [FOLLOW_OPTION...]: the pipeline on $AURORA_DB, its decisions
# in $BATS_TEST_TMPDIR/live.jsonl, the three stages' stderr in pipeline.err,
# its subshell in PIPE_PID. The arrays NORMALIZE_OPTS and CORRELATE_OPTS,
# when set, add options to those stages.
# Without FOLLOW_OPTIONs, follow keeps its place in $BATS_TEST_TMPDIR/cursor:
# a first start begins after the newest row and writes the cursor file as it
# starts, so this returns once the file is there (rows stored from then on
# are followed); a later start resumes after the cursor.
pipeline_start() {
	local cursor=$BATS_TEST_TMPDIR/cursor
	[ $# -gt 0 ] || set -- --cursor "$cursor"
	(
		aurora-inbox follow "$@" |
			aurora-normalize ${NORMALIZE_OPTS[@]+"${NORMALIZE_OPTS[@]}"} |
			aurora-correlate ${CORRELATE_OPTS[@]+"${CORRELATE_OPTS[@]}"} >"$BATS_TEST_TMPDIR/live.jsonl"
	) 2>"$BATS_TEST_TMPDIR/pipeline.err" 3>&- &
	PIPE_PID=$!
	[ "$1" = --cursor ] || return 0
	wait_file "$cursor" || fail "aurora-inbox follow wrote no cursor: $(cat "$BATS_TEST_TMPDIR/pipeline.err")"
}

# pipeline_stop: the pipeline's processes first (once their subshell is gone
# they have no parent to find them by), then the subshell
pipeline_stop() {
	[ -n "${PIPE_PID:-}" ] || return 0
	pkill -TERM -P "$PIPE_PID" 2>/dev/null || true
	wait "$PIPE_PID" 2>/dev/null || true
	PIPE_PID=
}
