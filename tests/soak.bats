#!/usr/bin/env bats
# soak.bats - the short form of scripts/bench-soak (issue 14): mixed load from
# all nine platforms through recv | follow | normalize | correlate | rca, and
# the counts reconciled: every 202 stored, decided once, no incident twice.
# The ten-minute form, with its figures, is in make bench.

load helpers/common

@test "soak, 30 s at 60 deliveries/s across nine platforms: every 202 stored and decided once, no error, incidents = created decisions" {
	run -0 env SOAK_CHECK=1 SOAK_SECONDS=30 SOAK_RATE=60 SOAK_TMP="$BATS_TEST_TMPDIR" \
		sh "$AURORA_TOP/scripts/bench-soak"
	refute_output --partial LOST
	# the drivers' 202s: about 30 s x 60/s, allowing a loaded machine to fall behind
	local answered
	answered=$(sed -n 's/^  ok    202s answered = inbox rows  *\([0-9][0-9]*\)$/\1/p' <<<"$output")
	[ -n "$answered" ] || fail "no reconciliation line in: $output"
	((answered >= 1200)) || fail "only $answered deliveries answered 202"
	assert_line --regexp "^  ok    decision lines \(one per alert, none twice\) +$answered$"
	assert_line --regexp '^  ok    incidents = distinct .created. decisions +[1-9][0-9]*$'
	assert_line --regexp '^  incidents: [1-9][0-9]*, investigated to an end: [1-9][0-9]*$'
}

@test "soak: a correlator that swallows its input is reported as loss, exit 1" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	for c in aurora-recv aurora-connector aurora-inbox aurora-normalize aurora-rca; do
		ln -s "$AURORA_BIN/$c" "$bin/$c"
	done
	printf '#!/bin/sh\ncat >/dev/null\n' >"$bin/aurora-correlate"
	chmod +x "$bin/aurora-correlate"
	# nothing moves once the load ends: 3 s of that is the verdict
	run -1 env AURORA_BIN="$bin" SOAK_CHECK=1 SOAK_SECONDS=3 SOAK_RATE=30 SOAK_STALL=3 SOAK_TMP="$BATS_TEST_TMPDIR" \
		sh "$AURORA_TOP/scripts/bench-soak"
	assert_line --regexp '^  LOST  inbox rows left pending +[1-9][0-9]*, expected 0$'
	assert_line --regexp '^  LOST  decision lines \(one per alert, none twice\) +0, expected [1-9][0-9]*$'
}
