#!/usr/bin/env bats
# normalize-cli.bats - aurora-normalize through the commands' front door
# (lib/cmd.c): usage errors, and a write that fails (a full disk) fails the
# run with 74 whether records, --check's list or --help went there.

# shellcheck disable=SC2016 # "$0" and "$AURORA_DB" expand in the inner shell of bash -c
bats_require_minimum_version 1.5.0
load helpers/common

setup() {
	aurora_fresh_db
	BODY="$BATS_TEST_TMPDIR/firing.json"
	jq -c . "$FIXTURES/normalize/grafana/firing.json" > "$BODY"
}

@test "usage errors exit 2 with the reason, the usage and where to read more" {
	run -2 --separate-stderr aurora-normalize -p
	assert_output ""
	[[ $stderr == *"aurora-normalize: -p needs a value"* ]]
	[[ $stderr == *"usage: aurora-normalize"* ]]
	[[ $stderr == *"try 'aurora-normalize --help' for more"* ]]
	run -2 --separate-stderr aurora-normalize --strict=yes
	[[ $stderr == *"aurora-normalize: "* ]]
	[[ $stderr == *"usage: aurora-normalize"* ]]
}

@test "stdout on a full disk is an I/O error (74): records, --check, --help" {
	run -0 --separate-stderr aurora-normalize -p grafana "$BODY"
	[[ $output == *'"type":"alert"'* ]]
	run -74 --separate-stderr bash -c 'aurora-normalize -p grafana "$0" > /dev/full' "$BODY"
	[[ $stderr == *"write error: No space left on device"* ]]
	run -74 --separate-stderr bash -c 'aurora-normalize --check > /dev/full'
	[[ $stderr == *"write error"* ]]
	run -74 --separate-stderr bash -c 'aurora-normalize --help > /dev/full'
	[[ $stderr == *"write error"* ]]
}
