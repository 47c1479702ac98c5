#!/usr/bin/env bats
# correlate-cli.bats - aurora-correlate through the commands' front door
# (lib/cmd.c): usage errors of each form (no command word, catalog,
# backtest), and a write that fails (a full disk) fails the run with 74.

# shellcheck disable=SC2016 # "$0" and "$AURORA_DB" expand in the inner shell of bash -c
bats_require_minimum_version 1.5.0
load helpers/common
load helpers/correlate

setup() {
	aurora_fresh_db
	IN="$BATS_TEST_TMPDIR/in.jsonl"
	alert grafana a firing 2026-03-03T18:00:00Z checkout "checkout slow" > "$IN"
}

@test "usage errors exit 2 with the reason, the usage and where to read more, for each form" {
	run -2 --separate-stderr aurora-correlate --busy-timeout soon < "$IN"
	assert_output ""
	[[ $stderr == *"aurora-correlate: --busy-timeout: 'soon' is not milliseconds"* ]]
	[[ $stderr == *"usage: aurora-correlate"* ]]
	[[ $stderr == *"try 'aurora-correlate --help' for more"* ]]
	run -2 --separate-stderr aurora-correlate --mark "" < "$IN"
	[[ $stderr == *"--mark: a stage name of 1 to 64 characters"* ]]
	run -2 --separate-stderr aurora-correlate catalog
	[[ $stderr == *"catalog: wrong number of arguments"* ]]
	run -2 --separate-stderr aurora-correlate catalog "$IN" --strict
	[[ $stderr == *"catalog does not take --strict"* ]]
	run -2 --separate-stderr aurora-correlate backtest --strict
	[[ $stderr == *"backtest does not take --strict"* ]]
	run -2 --separate-stderr aurora-correlate --from 1h < "$IN"
	[[ $stderr == *"--from goes with a command"* ]]
	[ ! -e "$AURORA_DB" ]
}

@test "decisions to a full disk are an I/O error (74); what was decided is committed" {
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark < "$IN"
	[[ $output == *'"action":"created"'* ]]
	aurora_fresh_db
	run -74 --separate-stderr bash -c 'aurora-correlate --db "$AURORA_DB" < "$0" > /dev/full' "$IN"
	[[ $stderr == *"No space left on device"* ]]
	run -0 sqlite3 "$AURORA_DB" 'SELECT count(*) FROM incidents'
	[ "$output" = 1 ]
	run -74 --separate-stderr bash -c 'aurora-correlate --help > /dev/full'
	[[ $stderr == *"write error"* ]]
}
