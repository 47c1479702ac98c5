#!/usr/bin/env bats
# aurora-inbox through the front door (lib/cmd.c): --help on every
# subcommand, usage errors (exit 2), stdout checked at the end: a full disk
# is exit 74 with a message, a reader that went away ends a reading command
# with 0 and one that changes the database with 74.

load helpers/common
load helpers/front

SUBCOMMANDS=(list stats show follow replay prune retention quarantine)

setup() {
	aurora_fresh_db
	# the schema, as aurora-recv or aurora-connector make it
	aurora-connector list >/dev/null
}

@test "--help after every subcommand prints the full usage on stdout and exits 0" {
	help_after_each aurora-inbox "${SUBCOMMANDS[@]}"
}

@test "usage errors: what is wrong, the usage and 'try --help' on stderr, nothing on stdout, exit 2" {
	usage_error aurora-inbox list --frobnicate
	[[ $stderr == *"aurora-inbox: unknown option --frobnicate"* ]]
	run -2 --separate-stderr aurora-inbox follow --poll-ms
	[[ $stderr == *"--poll-ms needs a value"* ]]
	run -2 --separate-stderr aurora-inbox prune --batch 0
	[[ $stderr == *"--batch wants rows per transaction"* ]]
	run -2 --separate-stderr aurora-inbox quarantine frob 1
	[[ $stderr == *"quarantine wants list, show ID, replay ID or drop ID"* ]]
}

@test "a full disk on stdout is exit 74 with a message, not silence" {
	run -74 --separate-stderr to_full aurora-inbox list
	[[ $stderr == *"write error: No space left on device"* ]]
	run -74 --separate-stderr to_full aurora-inbox retention
	[[ $stderr == *"write error"* ]]
	run -74 --separate-stderr to_full aurora-inbox --version
	run -0 aurora-inbox --version
	[ "$output" = "aurora-inbox 0.1.0" ]
}

@test "the reader of stdout gone: list ends with 0 quietly, retention set exits 74 saying so" {
	run -0 --separate-stderr closed_pipe aurora-inbox list
	[ -z "$stderr" ]
	run -74 --separate-stderr closed_pipe aurora-inbox retention 12h
	[[ $stderr == *"write error: Broken pipe"* ]]
	# the setting was stored all the same
	run -0 aurora-inbox retention
	[ "$output" = 12h ]
}
