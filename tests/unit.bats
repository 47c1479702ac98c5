#!/usr/bin/env bats
# The lib/ unit tests (tests/unit/unit.c), built beside the commands.

load helpers/common

@test "lib unit tests pass" {
	run -0 "$AURORA_BIN/unit-tests"
	assert_output --partial " passed, 0 failed"
	refute_output --partial "FAIL"
}
