# front.bash - checks of the front door every command shares (lib/cmd.c).
#
#   load helpers/front

# closed_pipe CMD...: CMD with stdout a pipe whose reader has already gone; exits with CMD's status
closed_pipe() {
	bash -c 'set -o pipefail; { sleep 0.3; "$@"; } | true' closed_pipe "$@"
}

# to_full CMD...: CMD with stdout on /dev/full (every write fails with ENOSPC)
to_full() {
	"$@" >/dev/full
}

# help_after_each PROG SUB...: "PROG SUB --help" prints PROG's full usage on stdout, nothing on stderr, exit 0
help_after_each() {
	local prog=$1 c
	shift
	for c in "$@"; do
		run -0 --separate-stderr "$prog" "$c" --help
		assert_output --partial "usage: $prog [--db PATH] COMMAND"
		assert_output --partial "exit status:"
		[ -z "$stderr" ]
	done
}

# usage_error PROG ARG... : exit 2, nothing on stdout; stderr has the usage and "try 'PROG --help'"
usage_error() {
	local prog=$1
	run -2 --separate-stderr "$@"
	[ -z "$output" ]
	[[ $stderr == *"usage: $prog"* ]]
	[[ $stderr == *"try '$prog --help' for more"* ]]
}
