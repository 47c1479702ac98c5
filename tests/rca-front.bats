#!/usr/bin/env bats
# aurora-rca through the front door (lib/cmd.c), a program of one command:
# usage errors (exit 2), help and version, stdout checked at the end.

load helpers/common
load helpers/front

setup() {
	aurora_fresh_db
}

@test "usage errors: what is wrong, the usage and 'try --help' on stderr, nothing on stdout, exit 2" {
	usage_error aurora-rca stray </dev/null
	[[ $stderr == *"aurora-rca: unexpected argument 'stray'"* ]]
	run -2 --separate-stderr aurora-rca -j </dev/null
	[[ $stderr == *"-j needs a value"* ]]
	run -2 --separate-stderr aurora-rca -j 0 </dev/null
	[[ $stderr == *"-j: '0' is not a number from 1 to 64"* ]]
	run -2 --separate-stderr aurora-rca --rate 3 </dev/null
	[[ $stderr == *"--rate: '3' is not N/DURATION"* ]]
	run -2 --separate-stderr aurora-rca --investigator oracle </dev/null
	[[ $stderr == *"--investigator: 'oracle' is not builtin or llm"* ]]
	[ ! -e "$AURORA_DB" ]
}

@test "--help and --version on stdout, exit 0; a full disk there is 74 with a message" {
	run -0 --separate-stderr aurora-rca --help
	assert_output --partial "aurora-rca - investigate every new incident"
	[ -z "$stderr" ]
	run -0 aurora-rca --version
	[ "$output" = "aurora-rca 0.1.0" ]
	run -74 --separate-stderr to_full aurora-rca --help
	[[ $stderr == *"write error: No space left on device"* ]]
}

@test "-q keeps the rejected-records warning off stderr" {
	run -1 --separate-stderr aurora-rca -q <<<'not json'
	[ -z "$stderr" ]
	run -1 --separate-stderr aurora-rca <<<'not json'
	[[ $stderr == *"1 record rejected"* ]]
}

@test "a configuration that cannot be used is 78 before the database is touched" {
	run -78 --separate-stderr env -u AURORA_RCA_CONFIG aurora-rca --investigator llm </dev/null
	[[ $stderr == *"no LLM configuration"* ]]
	run -78 --separate-stderr aurora-rca --catalog "$BATS_TEST_TMPDIR/nowhere" </dev/null
	[[ $stderr == *"--catalog:"* ]]
	[ ! -e "$AURORA_DB" ]
}
