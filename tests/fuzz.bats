#!/usr/bin/env bats
# The fuzz targets' corpora replayed without libFuzzer (tests/fuzz/replay.c):
# every input that once failed (tests/fuzz/regress/<target>/) and the seeds
# (tests/fuzz/corpus/<target>/) go through each target as the build under
# test compiled it; under make check that is gcc's ASan+UBSan build, so a
# crash, a sanitizer report, a leak or a failed check of the target fails.
# make fuzz (scripts/fuzz) is where new inputs are looked for.

load helpers/common

# replay TARGET: every input of its corpora, once each; all must pass
replay() {
	local t=$1 dirs=() d n
	for d in "$AURORA_TOP/tests/fuzz/corpus/$t" "$AURORA_TOP/tests/fuzz/regress/$t"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ "${#dirs[@]}" -gt 0 ]
	n=$(find "${dirs[@]}" -type f | wc -l)
	[ "$n" -gt 0 ]
	# full allocation stacks, so the libjq suppressions of tests/fuzz/lsan.supp can match
	run -0 env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:fast_unwind_on_malloc=0" \
		LSAN_OPTIONS="suppressions=$AURORA_TOP/tests/fuzz/lsan.supp" \
		"$AURORA_BIN/fuzz/$t" "${dirs[@]}"
	assert_output --partial "replay: $n inputs, no failure"
	refute_output --partial "runtime error"
}

@test "fuzz: every target has a replay binary and seeds" {
	local f t
	for f in "$AURORA_TOP"/tests/fuzz/*_fuzz.c; do
		t=$(basename "$f" .c)
		[ -x "$AURORA_BIN/fuzz/$t" ] || fail "no $AURORA_BIN/fuzz/$t (make all / make san build it)"
		[ -n "$(ls "$AURORA_TOP/tests/fuzz/corpus/$t" "$AURORA_TOP/tests/fuzz/regress/$t" 2>/dev/null)" ] ||
			fail "no seeds for $t in tests/fuzz/corpus/$t or tests/fuzz/regress/$t"
	done
}

@test "fuzz: the replay runs each file named; one it cannot read fails it" {
	printf 'not a catalog\n' >"$BATS_TEST_TMPDIR/ok"
	run -0 "$AURORA_BIN/fuzz/catalog_fuzz" "$BATS_TEST_TMPDIR/ok"
	assert_output --partial "replay: 1 inputs, no failure"
	# a file that cannot be read is a failure too, not an input skipped
	run -1 "$AURORA_BIN/fuzz/catalog_fuzz" "$BATS_TEST_TMPDIR/missing"
	assert_output --partial "missing"
}

@test "fuzz: api_fuzz replays clean" { replay api_fuzz; }
@test "fuzz: auth_fuzz replays clean" { replay auth_fuzz; }
@test "fuzz: catalog_fuzz replays clean" { replay catalog_fuzz; }
@test "fuzz: diag_fuzz replays clean" { replay diag_fuzz; }
@test "fuzz: http_conn_fuzz replays clean" { replay http_conn_fuzz; }
@test "fuzz: http_mhd_fuzz replays clean" { replay http_mhd_fuzz; }
@test "fuzz: jsonl_fuzz replays clean" { replay jsonl_fuzz; }
@test "fuzz: llm_stream_fuzz replays clean" { replay llm_stream_fuzz; }
@test "fuzz: normalize_fuzz replays clean" { replay normalize_fuzz; }
@test "fuzz: sha256_fuzz replays clean" { replay sha256_fuzz; }
@test "fuzz: shape_fuzz replays clean" { replay shape_fuzz; }
