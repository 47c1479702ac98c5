#!/usr/bin/env bats
# aurora-rca --investigator llm against tests/helpers/llm-standin.py: the tool
# loop (tools run, results sent back, thoughts in order), run_diagnostic
# through an allow-list, and every way it falls back to the built-in
# investigator (step cap, provider failure, a malformed answer), with the key
# kept out of everything it writes.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/llm
load helpers/correlate

KEY=sk-test-0123456789abcdef-secret

setup() {
	aurora_fresh_db
	printf '%s\n' "$KEY" >"$BATS_TEST_TMPDIR/key"
	: >"$BATS_TEST_TMPDIR/requests.jsonl"
	STANDIN_PID=
	HTTP_PID=
	IN="$BATS_TEST_TMPDIR/alerts.jsonl"
	DEC="$BATS_TEST_TMPDIR/decisions.jsonl"
	INBOX_ID=1 alert grafana g1 firing 2026-03-03T09:10:00Z checkout "checkout latency high" \
		"p99 over 2s" checkout-host-1 >"$IN"
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$IN"
	printf '%s\n' "$output" >"$DEC"
}

teardown() {
	if [ -n "$HTTP_PID" ]; then
		kill "$HTTP_PID" 2>/dev/null || true
		wait "$HTTP_PID" 2>/dev/null || true
	fi
	standin_stop
}

# config [JQ-EXTRA]: $BATS_TEST_TMPDIR/rca.json for the stand-in, with the allow-list
config() {
	jq -n --arg url "http://127.0.0.1:$LLM_PORT/v1" --arg key "$BATS_TEST_TMPDIR/key" \
		--arg allow "$AURORA_TOP/tests/fixtures/rca-llm/allow.conf" '{
		llm: {provider: "openai", url: $url, model: "test-model", api_key_file: $key, max_retries: 1},
		allow_list: $allow, max_steps: 4, time_cap: 20} | '"${1:-.}" >"$BATS_TEST_TMPDIR/rca.json"
}

# answer JSON: a stand-in turn whose text is that final answer
answer() {
	jq -cn --arg a "$1" '{text: ["Looked at everything.\n", $a]}'
}

GOOD='{"summary": "checkout is slow because of its database", "root_cause": {"entity": "checkout-db",
 "kind": "dependency", "summary": "checkout-db is saturated", "confidence": 1.7,
 "evidence": [{"what": "checkout latency high", "id": 1}, {"what": "bogus"}, 5]},
 "suggestions": [{"kind": "diagnostic", "command": "uname -s", "description": "look at the host", "risk": "low"},
 {"kind": "reboot", "command": "reboot", "description": "not a kind", "risk": "high"},
 {"kind": "fix", "command": null, "description": "fail checkout-db over", "risk": "medium"}]}'

@test "llm: without a configuration it is a configuration error (78); a bad one names the field" {
	run -78 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm <"$DEC"
	[[ $stderr == *"no LLM configuration"* ]]
	[ -z "$output" ]
	printf '{"llm": {"provider": "openai", "model": "m", "api_key": "%s"}}\n' "$KEY" >"$BATS_TEST_TMPDIR/bad.json"
	run -78 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/bad.json" <"$DEC"
	[[ $stderr == *"api_key"* ]]
	[[ $stderr != *"$KEY"* ]]
	printf '{"llm": {"provider": "openai", "model": "m"}, "max_stepz": 3}\n' >"$BATS_TEST_TMPDIR/bad.json"
	AURORA_RCA_CONFIG="$BATS_TEST_TMPDIR/bad.json" run -78 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm <"$DEC"
	[[ $stderr == *"max_stepz"* ]]
	# a file that is not JSON says where (lib/jvio's reason), and that it is not JSON
	printf '{"llm": {"provider": "openai" "model": "m"}}\n' >"$BATS_TEST_TMPDIR/bad.json"
	run -78 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/bad.json" <"$DEC"
	[[ $stderr == *"bad.json: not JSON: expected ',' or '}': '\"' at byte 31"* ]] || fail "$stderr"
}

@test "llm: tool calls run and their results go back; the model's root cause is the analysis; thoughts in order" {
	standin '[{"text": ["Let me look at the incident.\n"], "tool_calls": [{"id": "c1", "name": "get_incident", "arguments": {}},
		{"id": "c2", "name": "recent_changes", "arguments": {}}]}, '"$(answer "$GOOD")"']'
	config
	AURORA_RCA_CONFIG="$BATS_TEST_TMPDIR/rca.json" run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].status == "analyzed"
		and .[-1].root_cause.kind == "dependency" and .[-1].root_cause.entity == "checkout-db"
		and .[-1].root_cause.confidence == 1
		and (.[-1].root_cause.evidence == [{what: "checkout latency high", id: 1}])' <<<"$output"
	[ "$(sql 'SELECT status || " " || rca_state || " " || summary FROM incidents WHERE id = 1')" = "analyzed complete checkout is slow because of its database" ]
	# the thoughts, in the order they happened
	run -0 sql "SELECT text FROM incident_thoughts WHERE incident_id = 1 ORDER BY id"
	[[ ${lines[0]} == "Asking openai model test-model"* ]]
	[ "${lines[1]}" = "Let me look at the incident." ]
	[ "${lines[2]}" = "Tool call: get_incident {}" ]
	[[ ${lines[3]} == "Tool result: get_incident, "* ]]
	[ "${lines[4]}" = "Tool call: recent_changes {}" ]
	[[ ${lines[5]} == "Tool result: recent_changes, "* ]]
	[ "${lines[6]}" = "Looked at everything." ]
	[[ ${lines[7]} == "Conclusion (confidence 1.00): checkout is slow"* ]]
	[ "${#lines[@]}" = 8 ]
	# two valid suggestions of three
	run -0 sql "SELECT kind || '|' || title || '|' || command || '|' || risk FROM incident_suggestions ORDER BY id"
	assert_output "$(printf 'diagnostic|look at the host|uname -s|low\nfix|fail checkout-db over||medium')"
	# the first request: the system prompt, the incident with its alert, the tools; the key only in its header
	received 0 | json_ok '.body.messages[0].role == "system"
		and (.body.messages[0].content | test("read-only SRE investigator"))
		and (.body.messages[1].content | test("checkout latency high"))
		and ([.body.tools[].function.name] | index("run_diagnostic") != null)
		and ([.body.tools[].function.name] | index("http_get") == null)'
	# the second: both tool results, with the incident's alert in get_incident's
	received 1 | json_ok '[.body.messages[] | select(.role == "tool")] | length == 2
		and (.[0].tool_call_id == "c1") and (.[0].content | fromjson | .alerts[0].title == "checkout latency high")
		and (.[1].tool_call_id == "c2") and (.[1].content | fromjson | type == "array")'
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 2 ]
	no_key
}

@test "llm: run_diagnostic runs an allowed command and sends its output back; a refused one sends the refusal and says so" {
	standin '[{"tool_calls": [{"id": "d1", "name": "run_diagnostic", "arguments": {"command": "uname -s"}},
		{"id": "d2", "name": "run_diagnostic", "arguments": {"command": "cat /etc/shadow"}},
		{"id": "d3", "name": "run_diagnostic", "arguments": {"command": "uname -s"}}]}, '"$(answer "$GOOD")"']'
	config
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -en '[inputs] | .[-1].root_cause.entity == "checkout-db"' <<<"$output"
	received 1 | json_ok '[.body.messages[] | select(.role == "tool")] | length == 3
		and (.[0].content | test("^exit 0\nLinux"))
		and (.[1].content | test("^refused: "))
		and (.[2].content | test("already"))'
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text = 'Ran uname -s: exit 0'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'run_diagnostic refused: %'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text = 'Refused a repeated call of run_diagnostic'")" = 1 ]
	no_key
}

@test "llm: the step cap ends it without an answer: the built-in investigator finishes, a thought says why" {
	standin '[{"tool_calls": [{"id": "a", "name": "related_alerts", "arguments": {}}]},
		{"tool_calls": [{"id": "b", "name": "similar_incidents", "arguments": {}}]},
		{"tool_calls": [{"id": "c", "name": "get_incident", "arguments": {}}]}]'
	config '.max_steps = 2'
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].status == "analyzed" and .[-1].rca_state == "complete"' <<<"$output"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text = 'Falling back to the built-in investigator: the step cap of 2 was reached without a final answer'")" = 1 ]
	# the built-in's own thoughts follow it
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Gathered %' AND id > (SELECT id FROM incident_thoughts WHERE text LIKE 'Falling back%')")" = 1 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 2 ]
	no_key
}

@test "llm: a provider answering 500, or hanging past the time cap, falls back to the built-in" {
	standin '[{"status": 500, "error_message": "boom"}, {"status": 500, "error_message": "boom"}]'
	config
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].status == "analyzed"' <<<"$output"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Falling back to the built-in investigator: the LLM provider failed: %'")" = 1 ]
	no_key
	teardown
	STANDIN_PID=
	aurora_fresh_db
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$IN"
	rm -f "$BATS_TEST_TMPDIR/port"
	standin '[{"hang": 30, "text": ["late"]}]'
	config '.time_cap = 2'
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].status == "analyzed" and .[-1].rca_state == "complete"' <<<"$output"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Falling back to the built-in investigator: the LLM provider failed: %'")" = 1 ]
	no_key
}

@test "llm: a malformed final answer falls back to the built-in" {
	standin '['"$(answer '{"summary": "x", "root_cause": {"kind": "gremlins", "summary": "y", "confidence": 0.5}}')"']'
	config
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].root_cause.kind != "gremlins"' <<<"$output"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Falling back to the built-in investigator: the model''s answer is not a valid result: root_cause.kind %'")" = 1 ]
	no_key
}

@test "llm: http_get fetches only under a configured base URL; anything else is refused and a thought says so" {
	python3 -u -m http.server --bind 127.0.0.1 --directory "$AURORA_TOP/tests/fixtures/rca-llm" 0 \
		>"$BATS_TEST_TMPDIR/http.out" 2>&1 &
	HTTP_PID=$!
	for _ in $(seq 1 200); do
		grep -q 'port [0-9]' "$BATS_TEST_TMPDIR/http.out" && break
		sleep 0.05
	done
	HPORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/http.out" | head -1)
	[ -n "$HPORT" ]
	base="http://127.0.0.1:$HPORT/status/"
	standin '[{"tool_calls": [{"id": "h1", "name": "http_get", "arguments": {"url": "'"$base"'db.txt"}},
		{"id": "h2", "name": "http_get", "arguments": {"url": "http://127.0.0.1:'"$HPORT"'/allow.conf"}},
		{"id": "h3", "name": "http_get", "arguments": {"url": "'"$base"'../allow.conf"}}]}, '"$(answer "$GOOD")"']'
	config '.http_allow = ["'"$base"'"]'
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -en '[inputs] | .[-1].root_cause.entity == "checkout-db"' <<<"$output"
	received 0 | json_ok '[.body.tools[].function.name] | index("http_get") != null'
	received 1 | json_ok '[.body.messages[] | select(.role == "tool")] | length == 3
		and (.[0].content | test("^HTTP 200\ncheckout-db: degraded"))
		and (.[1].content | test("^refused: ")) and (.[2].content | test("^refused: "))'
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text = 'http_get ${base}db.txt: HTTP 200, 44 bytes'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'http_get refused %: not under a configured base URL'")" = 2 ]
	no_key
}

@test "llm: a provider echoing the key in a 401 falls back without the key reaching a thought, stdout or stderr" {
	standin '[{"status": 401, "error_message": "Incorrect API key provided: '"$KEY"'"}]'
	config
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --investigator llm --config "$BATS_TEST_TMPDIR/rca.json" -v <"$DEC"
	jq -en '[inputs] | .[-1].type == "analysis" and .[-1].status == "analyzed"' <<<"$output"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Falling back to the built-in investigator: the LLM provider failed: %'")" = 1 ]
	# the key went to the provider, in its header only
	received 0 | json_ok '.headers.authorization == "Bearer \($k)"' --arg k "$KEY"
	no_key
}
