#!/usr/bin/env bats
# real.bats - payloads other people wrote: the platforms' documentation
# samples and other projects' fixtures (tests/fixtures/real/PLATFORM/SOURCES.md
# says where each comes from and under which licence). Each case's .expect.json
# says what the payload means; tests/helpers/real_check.py holds
# aurora-normalize to it.

bats_require_minimum_version 1.5.0
load helpers/common

REAL=$FIXTURES/real
CHECK=$AURORA_TOP/tests/helpers/real_check.py

# real PLATFORM: every case of PLATFORM means what its expectation says
real() {
	local n
	n=$(find "$REAL/$1" -name '*.expect.json' | wc -l)
	[ "$n" -ge 1 ] || fail "no cases for $1"
	run -0 "$CHECK" "$REAL/$1"
	assert_output --partial "$n cases, 0 failed"
}

@test "the checker fails a case whose record differs, and one with no record" {
	mkdir -p "$BATS_TEST_TMPDIR/grafana"
	cp "$REAL/grafana/"*.json "$BATS_TEST_TMPDIR/grafana/"
	first=$(find "$BATS_TEST_TMPDIR/grafana" -name '*.expect.json' | sort | head -1)
	jq '.records[0].title = "not this title"' "$first" >"$BATS_TEST_TMPDIR/x" && mv "$BATS_TEST_TMPDIR/x" "$first"
	echo '{"hello":"world"}' >"$BATS_TEST_TMPDIR/grafana/zz-not-grafana.json"
	echo '{"source":"made here","records":[{"type":"alert"}]}' >"$BATS_TEST_TMPDIR/grafana/zz-not-grafana.expect.json"
	run -1 "$CHECK" "$BATS_TEST_TMPDIR/grafana"
	assert_output --partial '.title: want "not this title"'
	assert_output --partial 'zz-not-grafana: want 1 records, got 0'
	assert_output --partial ', 2 failed'
}

@test "every case names its source, and its platform's SOURCES.md lists it with a licence" {
	local n=0 dir case
	while IFS= read -r f; do
		json_ok 'has("source") and (.source | length > 0)' <"$f" >/dev/null || fail "$f: no source"
		dir=$(dirname "$f")
		case=$(basename "$f" .expect.json)
		grep -F "$case" "$dir/SOURCES.md" | grep -qi 'licen[cs]e' ||
			fail "$dir/SOURCES.md has no line naming $case and its licence"
		n=$((n + 1))
	done < <(find "$REAL" -name '*.expect.json')
	[ "$n" -ge 9 ] || fail "only $n cases"
}

@test "real Grafana payloads" { real grafana; }
@test "real Alertmanager payloads" { real alertmanager; }
@test "real PagerDuty payloads" { real pagerduty; }
@test "real Datadog payloads" { real datadog; }
@test "real Netdata payloads" { real netdata; }
@test "real Dynatrace payloads" { real dynatrace; }
@test "real Splunk payloads" { real splunk; }
@test "real Jenkins payloads" { real jenkins; }
@test "real CloudBees CI payloads" { real cloudbees; }
