#!/usr/bin/env bats
# aurora-incident through the front door (lib/cmd.c): --help on every
# subcommand, usage errors (exit 2), stdout checked at the end: a full disk
# is exit 74 with a message, a reader that went away ends a reading command
# with 0 and a changing one with 74.

load helpers/common
load helpers/front

SUBCOMMANDS=(list show create resolve reopen merge ack comment postmortem watch prune retention)

setup() {
	aurora_fresh_db
}

@test "--help after every subcommand prints the full usage on stdout and exits 0" {
	help_after_each aurora-incident "${SUBCOMMANDS[@]}"
}

@test "usage errors: what is wrong, the usage and 'try --help' on stderr, nothing on stdout, exit 2" {
	usage_error aurora-incident list --frobnicate
	[[ $stderr == *"aurora-incident: unknown option --frobnicate"* ]]
	run -2 --separate-stderr aurora-incident list --limit
	[[ $stderr == *"--limit needs a value"* ]]
	run -2 --separate-stderr aurora-incident comment 1
	[[ $stderr == *"comment needs an ID and a TEXT"* ]]
	run -2 --separate-stderr aurora-incident retention 30d 60d
	[[ $stderr == *"retention takes at most one argument"* ]]
}

@test "a full disk on stdout is exit 74 with a message, not silence" {
	run -0 aurora-incident create --title "disk full" --service api
	[ "$output" = 1 ]
	run -74 --separate-stderr to_full aurora-incident list
	[[ $stderr == *"write error: No space left on device"* ]]
	run -74 --separate-stderr to_full aurora-incident show 1
	[[ $stderr == *"write error"* ]]
	run -74 --separate-stderr to_full aurora-incident create --title second
	[[ $stderr == *"write error"* ]]
	run -74 --separate-stderr to_full aurora-incident --help
	# the incident was made all the same: the write that failed was its id
	run -0 aurora-incident list --json
	[ "$(printf '%s\n' "$output" | jq -sc 'map(.title) | sort')" = '["disk full","second"]' ]
}

@test "the reader of stdout gone: list ends with 0 quietly, create and resolve exit 74 saying so" {
	run -0 aurora-incident create --title first
	[ "$output" = 1 ]
	run -0 --separate-stderr closed_pipe aurora-incident list
	[ -z "$stderr" ]
	run -74 --separate-stderr closed_pipe aurora-incident create --title unseen
	[[ $stderr == *"write error: Broken pipe"* ]]
	run -74 --separate-stderr closed_pipe aurora-incident resolve 1
	[[ $stderr == *"write error: Broken pipe"* ]]
	run -0 aurora-incident show 1 --json
	[ "$(jq -en 'input | .status' <<<"$output")" = '"resolved"' ]
}
