#!/usr/bin/env bats
# run_diagnostic (lib/diag.c): allowed commands run without a shell, with a
# clean environment, a time limit and an output cap, their secrets redacted;
# everything else is refused. Driven through `unit-tests diag-run ALLOWFILE
# TIMEOUT_MS MAX_OUTPUT COMMAND`, which prints the result as one JSON object.

# shellcheck disable=SC2016 # the jq filters quote commands in backquotes
load helpers/common

setup() {
	export DIAG="$FIXTURES/diag"
	export ALLOW="$BATS_TEST_TMPDIR/allow.conf"
	cat >"$ALLOW" <<-CONF
		# the tests' allow-list
		/bin/echo diag <arg>
		$DIAG/showenv
		$DIAG/leak
		$DIAG/orphan
		$DIAG/selfkill
		$DIAG/badinterp
		sleep <num>
		seq 1 <num>
		cat ...
		kubectl ...
		aws ...
		git ...
		systemctl ...
		env ...
		printenv
		CONF
}

# the result's field $1 checked with jq filter $2 (fails on empty output)
result() {
	jq -en "input | $1" <<<"$output"
}

@test "diag: an allowed command runs and its output comes back" {
	run -0 unit-tests diag-run "$ALLOW" 5000 0 "/bin/echo diag hello"
	result '.output == "diag hello\n"'
	result '.exit_code == 0 and .timed_out == false and .truncated == false'
	result '.describe == "exit 0"'
}

@test "diag: the command gets a clean environment, / as its directory, /dev/null as input and no other descriptors" {
	export AURORA_DIAG_CANARY=leaked
	exec 7>"$BATS_TEST_TMPDIR/fd7" 8<"$ALLOW"
	run -0 unit-tests diag-run "$ALLOW" 5000 0 "$DIAG/showenv"
	exec 7>&- 8<&-
	result '.exit_code == 0'
	# the shell running the fixture adds PWD; nothing else beyond the four
	result '[.output | split("\n")[] | select(test("^[A-Z_]+=")) | split("=")[0]]
		== ["HOME", "LANG", "LC_ALL", "PATH", "PWD"]'
	result '.output | contains("HOME=/nonexistent\n")'
	result '.output | contains("PATH=/usr/local/bin:/usr/bin:/bin\n")'
	result '.output | contains("cwd=/\n") and contains("stdin=\n")'
	result '.output | contains("fd7=closed\nfd8=closed\n")'
	refute_output --partial leaked
}

@test "diag: @env in the allow-list adds one of its variables" {
	printf '@env KUBECONFIG=/etc/aurora/kubeconfig\n@env HOME=/var/lib/aurora\n' >>"$ALLOW"
	run -0 unit-tests diag-run "$ALLOW" 5000 0 "$DIAG/showenv"
	result '.output | contains("KUBECONFIG=/etc/aurora/kubeconfig\n")'
	result '.output | contains("HOME=/var/lib/aurora\n")'
	result '.output | contains("nonexistent") | not'
}

@test "diag: a command that runs too long is killed at the time limit" {
	run -0 unit-tests diag-run "$ALLOW" 300 0 "sleep 30"
	result '.timed_out == true and .signal == 9 and .exit_code == null and .reaped == true'
	# a loose bound: killed at 300 ms, not left to run its 30 s
	result '.elapsed_ms >= 300 and .elapsed_ms < 5000'
	result '.describe | startswith("killed at the time limit")'
}

@test "diag: a child left behind holding the output does not hold the runner" {
	run -0 unit-tests diag-run "$ALLOW" 20000 0 "$DIAG/orphan"
	result '.output == "started\n" and .exit_code == 0 and .timed_out == false'
	result '.elapsed_ms < 5000'
}

@test "diag: a command ended by a signal says which" {
	run -0 unit-tests diag-run "$ALLOW" 5000 0 "$DIAG/selfkill"
	result '.output == "going\n" and .signal == 9 and .exit_code == null and .timed_out == false'
	result '.describe == "killed by signal 9"'
}

@test "diag: a program execve cannot start exits 127 and says so" {
	run -0 unit-tests diag-run "$ALLOW" 5000 0 "$DIAG/badinterp"
	result '.exit_code == 127 and .output == "cannot execute \($ENV.DIAG)/badinterp\n"'
}

@test "diag: output past the cap is cut, counted and said" {
	# seq 1 100000 prints 588,895 bytes
	run -0 unit-tests diag-run "$ALLOW" 10000 1000 "seq 1 100000"
	result '.output | length == 1000'
	result '.output | startswith("1\n2\n3\n")'
	result '.truncated == true and .discarded == 587895 and .exit_code == 0'
	result '.describe == "exit 0, output cut at 1000 bytes (587895 more discarded)"'
}

@test "diag: secrets in the output come back redacted" {
	run -0 unit-tests diag-run "$ALLOW" 5000 0 "$DIAG/leak"
	result '.exit_code == 0 and .redactions >= 5'
	result '.output | contains("status: ok") and contains("[redacted]")'
	result '.output | contains("postgres://app:[redacted]@db")'
	refute_output --partial hunter2
	refute_output --partial pa55word
	refute_output --partial AKIAIOSFODNN7EXAMPLE
	refute_output --partial abcdefghij
	refute_output --partial MIIEvQIBADAN
}

@test "diag: shell metacharacters are refused, never interpreted" {
	local pwned="$BATS_TEST_TMPDIR/pwned"
	for c in "/bin/echo diag x;touch $pwned" "/bin/echo diag x | touch $pwned" \
		"/bin/echo diag \$(touch $pwned)" "/bin/echo diag \`touch $pwned\`" \
		"/bin/echo diag x > $pwned" "/bin/echo diag x && touch $pwned" \
		"/bin/echo diag 'x'" "/bin/echo diag *"; do
		run -1 unit-tests diag-run "$ALLOW" 5000 0 "$c"
		result '.refused | test("^refused: .* in the command because commands run without a shell")'
	done
	[ ! -e "$pwned" ]
}

@test "diag: the built-in deny list wins over the allow-list" {
	for c in "cat /etc/shadow" "kubectl get secret db -o yaml" "kubectl delete pod web-1" \
		"aws secretsmanager get-secret-value --secret-id prod" "git push" \
		"systemctl restart nginx" "env" "printenv" "cat /root/.ssh/id_rsa"; do
		run -1 unit-tests diag-run "$ALLOW" 5000 0 "$c"
		result '.refused | test("^refused: `.*` because .*the built-in deny list refuses it whatever the allow-list says$")'
	done
}

@test "diag: a command no rule names is refused" {
	run -1 unit-tests diag-run "$ALLOW" 5000 0 "/bin/echo other"
	result '.refused == "refused: `/bin/echo other` because no rule of the allow-list \($ENV.ALLOW) permits it"'
	run -1 unit-tests diag-run "$ALLOW" 5000 0 "sleep -1"
	result '.refused | startswith("refused: `sleep -1` because no rule")'
}

@test "diag: an allow-list with an error is a configuration error naming its line" {
	printf 'uname\nls <file>\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run -78 --separate-stderr unit-tests diag-run "$BATS_TEST_TMPDIR/bad.conf" 5000 0 "uname"
	[ -z "$output" ]
	[[ "$stderr" == "unit-tests: $BATS_TEST_TMPDIR/bad.conf: line 2: "* ]]
}

@test "diag: examples/rca-allow.conf loads and runs its host diagnostics" {
	run -0 unit-tests diag-run "$AURORA_TOP/examples/rca-allow.conf" 5000 0 "df -h"
	result '.exit_code == 0 and (.output | contains("Filesystem"))'
	run -1 unit-tests diag-run "$AURORA_TOP/examples/rca-allow.conf" 5000 0 "kubectl get secrets -A"
	result '.refused | contains("deny list")'
}
