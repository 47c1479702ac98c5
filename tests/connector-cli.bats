#!/usr/bin/env bats
# connector-cli.bats - aurora-connector through the commands' front door
# (lib/cmd.c): usage errors say what is wrong and touch no database; a
# write that fails (a full disk) fails the run with 74, tables and JSON
# alike.

bats_require_minimum_version 1.5.0
load helpers/common

setup() {
	aurora_fresh_db
}

@test "usage errors exit 2 with the reason, the usage and where to read more, and create no database" {
	run -2 --separate-stderr aurora-connector
	assert_output ""
	[[ $stderr == *"aurora-connector: no command given"* ]]
	[[ $stderr == *"usage: aurora-connector"* ]]
	[[ $stderr == *"try 'aurora-connector --help' for more"* ]]
	run -2 --separate-stderr aurora-connector list extra
	[[ $stderr == *"list takes no arguments"* ]]
	run -2 --separate-stderr aurora-connector list --value x
	[[ $stderr == *"list does not take --value"* ]]
	run -2 --separate-stderr aurora-connector secret grafana --value x --clear
	[[ $stderr == *"--value, --stdin and --clear exclude each other"* ]]
	run -2 --separate-stderr aurora-connector frobnicate
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
	[ ! -e "$AURORA_DB" ]
}

@test "stdout on a full disk is an I/O error (74): list, list --json, show, url, operator-tokens, --help" {
	run -0 aurora-connector list
	[[ $output == *"grafana"* ]]
	for args in "list" "list --json" "show grafana" "show grafana --json" "url grafana" "operator-tokens" \
		"public-url" "--help" "--version"; do
		# shellcheck disable=SC2086 # the words of args are the arguments
		run -74 --separate-stderr bash -c "aurora-connector $args > /dev/full"
		[[ $stderr == *"write error: No space left on device"* ]]
	done
}

@test "a new token that cannot be printed is an error (74), not a token nobody saw" {
	run -74 --separate-stderr bash -c 'aurora-connector token grafana > /dev/full'
	[[ $stderr == *"write error"* ]]
	run -74 --separate-stderr bash -c 'aurora-connector operator-token ops --json > /dev/full'
	[[ $stderr == *"write error"* ]]
}
