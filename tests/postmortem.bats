#!/usr/bin/env bats
# aurora-incident postmortem from an investigated incident: the template with
# the investigation's findings, and the model of aurora-rca's configuration
# (tests/helpers/llm-standin.py, OpenAI and Anthropic) with every way it falls
# back to the template, the key kept out of everything.

# shellcheck disable=SC2016 # jq's $names in the single-quoted filters of json_ok and jsonl_ok
load helpers/common
load helpers/llm
load helpers/correlate
load helpers/recv

KEY=sk-test-pm-0123456789abcdef-secret

MODEL_DOC='# Postmortem: checkout latency high

## Summary

Checkout was slow because checkout-host-1 ran hot.

## Impact

Unknown.

## Timeline

- 09:10 UTC the alert fired.

## Root cause

Host checkout-host-1, confidence 0.71.

## Resolution

Still open.

## Action items

- [ ] read the system log of checkout-host-1'

setup() {
	aurora_fresh_db
	printf '%s\n' "$KEY" >"$BATS_TEST_TMPDIR/key"
	: >"$BATS_TEST_TMPDIR/requests.jsonl"
	STANDIN_PID=
	RECV_PID=
	unset AURORA_RCA_CONFIG
	INBOX_ID=1 alert grafana g1 firing 2026-03-03T09:10:00Z checkout "checkout latency high" \
		"p99 over 2s" checkout-host-1 >"$BATS_TEST_TMPDIR/alerts.jsonl"
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$BATS_TEST_TMPDIR/alerts.jsonl"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/decisions.jsonl"
	# the built-in investigator: a host root cause with evidence, suggestions, thoughts
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" <"$BATS_TEST_TMPDIR/decisions.jsonl"
	[ "$(sql 'SELECT status || " " || rca_state FROM incidents WHERE id = 1')" = "analyzed complete" ]
}

teardown() {
	standin_stop
	recv_stop
}

# config PROVIDER [JQ-EXTRA]: $BATS_TEST_TMPDIR/rca.json for the stand-in
config() {
	jq -n --arg p "$1" --arg url "http://127.0.0.1:$LLM_PORT/v1" --arg key "$BATS_TEST_TMPDIR/key" '{
		llm: {provider: $p, url: $url, model: "pm-model", api_key_file: $key, max_retries: 1}}
		| '"${2:-.}" >"$BATS_TEST_TMPDIR/rca.json"
}

# stored: the stored postmortem of incident 1
stored() {
	sql 'SELECT postmortem FROM incidents WHERE id = 1'
}

# generated_by: who wrote each postmortem of incident 1, in order
generated_by() {
	sql "SELECT json_extract(data, '\$.generated_by') FROM events WHERE type = 'postmortem.generated' AND incident_id = 1 ORDER BY id"
}

# template_fallback WHY-PATTERN: the last run fell back to the template, saying why on one line
template_fallback() {
	[[ $output == "# Postmortem: incident #1, checkout latency high"* ]]
	assert_line "- **Blamed:** \`checkout-host-1\`"
	[ "$(generated_by | tail -n 1)" = template ]
	[ "$(stored)" = "$output" ]
	[ "$(grep -c "model's postmortem was not used" <<<"$stderr")" = 1 ]
	[[ $stderr == *"$1"* ]] || { echo "stderr: $stderr" >&2; false; }
	no_key
}

@test "template: the root cause's summary, kind, entity, confidence and evidence with id and link, the suggestions, the notes, the timeline" {
	run -0 --separate-stderr aurora-incident postmortem 1
	[ -n "$output" ]
	summary=$(sql "SELECT json_extract(root_cause, '$.summary') FROM incidents WHERE id = 1")
	[ -n "$summary" ]
	assert_line "$summary"
	assert_line "- **Kind:** host"
	assert_line "- **Blamed:** \`checkout-host-1\`"
	assert_line --regexp '^- \*\*Confidence:\*\* [0-9]+%$'
	assert_line "- checkout latency high [id 1] (<https://example.test/g1>)"
	# every suggestion the investigation made is an action item, its command beside it
	[ "$(sql 'SELECT count(*) FROM incident_suggestions WHERE incident_id = 1')" -ge 1 ]
	while IFS='|' read -r title command; do
		assert_line --partial "- [ ] **$title**"
		[ -z "$command" ] || assert_line "  \`$command\`"
	done < <(sql "SELECT title, command FROM incident_suggestions WHERE incident_id = 1 ORDER BY id")
	# every thought is a note, every event a timeline line
	while IFS= read -r text; do
		assert_line --partial ") $text"
	done < <(sql "SELECT text FROM incident_thoughts WHERE incident_id = 1 ORDER BY id")
	assert_line --partial "**rca.completed**"
	assert_line --partial "**incident.created**"
	[ "$(generated_by)" = template ]
	[ "$(stored)" = "$output" ]
	[ -z "$stderr" ]
}

@test "llm (openai): one request without tools carrying the incident's facts; the model's text is stored, generated_by llm:MODEL" {
	standin "$(jq -cn --arg d "$MODEL_DOC" '[{text: [$d[0:40], $d[40:]]}]')"
	config openai
	run -0 --separate-stderr aurora-incident postmortem 1 --config "$BATS_TEST_TMPDIR/rca.json"
	[[ $output == "$MODEL_DOC"* ]]
	assert_line --partial "by the model pm-model (openai)"
	[ "$(stored)" = "$output" ]
	[ "$(generated_by)" = "llm:pm-model" ]
	[ -z "$stderr" ]
	# the request: a system prompt asking for the sections, the facts as JSON, no tools, the key only in its header
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 1 ]
	json_ok '.path == "/v1/chat/completions" and .headers.authorization == "Bearer \($key)"
		and (.body | has("tools") | not) and .body.model == "pm-model"
		and (.body.messages[0].role == "system") and (.body.messages[0].content | test("blameless"))
		and ([("Summary", "Impact", "Timeline", "Root cause", "Resolution", "Action items") as $s
			| .body.messages[0].content | contains("## " + $s)] | all)
		and (.body.messages[1].content | sub("^[^{]*"; "") | fromjson
			| .id == 1 and .title == "checkout latency high"
			and .root_cause.entity == "checkout-host-1" and .root_cause.kind == "host"
			and .root_cause.evidence[0].link == "https://example.test/g1"
			and (.alerts[0].title == "checkout latency high") and (.alerts[0].host == "checkout-host-1")
			and (.thoughts | length >= 2) and (.suggestions | length >= 1)
			and ([.events[].event] | index("rca.completed") != null))' --arg key "$KEY" <"$BATS_TEST_TMPDIR/requests.jsonl"
	# the key went in the header and nowhere else
	[ "$(jq -c '.body' "$BATS_TEST_TMPDIR/requests.jsonl" | grep -c -- "$KEY")" = 0 ]
	no_key
	# stored: printed again as it is, no second request
	run -0 --separate-stderr aurora-incident postmortem 1 --config "$BATS_TEST_TMPDIR/rca.json"
	[[ $output == "$MODEL_DOC"* ]]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 1 ]
}

@test "llm (anthropic) through AURORA_RCA_CONFIG: a code fence around the answer is dropped; --regenerate asks again" {
	standin "$(jq -cn --arg d "$MODEL_DOC" '[{text: ["```markdown\n", $d, "\n```\n"]}, {text: [$d]}]')"
	config anthropic
	AURORA_RCA_CONFIG="$BATS_TEST_TMPDIR/rca.json" run -0 --separate-stderr aurora-incident postmortem 1
	[[ $output == "$MODEL_DOC"* ]]
	assert_line --partial "by the model pm-model (anthropic)"
	refute_line --partial '```'
	[ "$(stored)" = "$output" ]
	[ "$(generated_by)" = "llm:pm-model" ]
	json_ok '.path == "/v1/messages" and .headers["x-api-key"] == $key
		and (.body | has("tools") | not) and (.body.system | test("blameless"))
		and (.body.messages[0].content | tostring | test("checkout-host-1"))' --arg key "$KEY" <"$BATS_TEST_TMPDIR/requests.jsonl"
	no_key
	AURORA_RCA_CONFIG="$BATS_TEST_TMPDIR/rca.json" run -0 --separate-stderr aurora-incident postmortem 1 --regenerate
	[[ $output == "$MODEL_DOC"* ]]
	[ "$(generated_by)" = "$(printf 'llm:pm-model\nllm:pm-model')" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 2 ]
}

@test "--template ignores the configuration: no request, the template's document" {
	standin "$(jq -cn --arg d "$MODEL_DOC" '[{text: [$d]}]')"
	config openai
	AURORA_RCA_CONFIG="$BATS_TEST_TMPDIR/rca.json" run -0 --separate-stderr aurora-incident postmortem 1 --template
	[[ $output == "# Postmortem: incident #1, checkout latency high"* ]]
	[ "$(generated_by)" = template ]
	[ -z "$stderr" ]
	run -0 --separate-stderr aurora-incident postmortem 1 --template --regenerate --config /nonexistent/rca.json
	[[ $output == "# Postmortem: incident #1"* ]]
	[ ! -s "$BATS_TEST_TMPDIR/requests.jsonl" ]
}

@test "provider answering 500 through its retries: the template, one line on stderr, exit 0" {
	standin '[{"status": 500, "error_message": "overloaded '"$KEY"'"}, {"status": 500, "error_message": "overloaded"}]'
	config openai
	run -0 --separate-stderr aurora-incident postmortem 1 --config "$BATS_TEST_TMPDIR/rca.json"
	template_fallback "500"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 2 ]
}

@test "garbage: a malformed stream, an empty answer, one without a heading, one cut at max_tokens" {
	local turns=('{"malformed": "{not json"}' '{"text": ["  \n"]}' '{"text": ["just some words, no heading"]}'
		'{"text": ["# Postmortem\n\ncut"], "stop": "length"}')
	local whys=("" "the answer was empty" "no Markdown heading" "token limit")
	local nth # not i: bats' run sets a global i
	for nth in "${!turns[@]}"; do
		: >"$BATS_TEST_TMPDIR/requests.jsonl"
		rm -f "$BATS_TEST_TMPDIR/port"
		standin "[${turns[$nth]}]"
		config openai
		run -0 --separate-stderr aurora-incident postmortem 1 --regenerate --config "$BATS_TEST_TMPDIR/rca.json"
		template_fallback "${whys[$nth]}"
		[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" -ge 1 ]
		standin_stop
	done
	[ "$(generated_by | sort -u)" = template ]
	[ "$(generated_by | wc -l)" = 4 ]
}

@test "a provider hanging past --llm-timeout, or not listening: the template in time, exit 0" {
	standin '[{"hang": 30, "text": ["# late"]}]'
	config openai
	start=$(date +%s)
	run -0 --separate-stderr aurora-incident postmortem 1 --llm-timeout 2 --config "$BATS_TEST_TMPDIR/rca.json"
	[ $(($(date +%s) - start)) -lt 10 ]
	template_fallback "within 2 s"
	standin_stop
	rm -f "$BATS_TEST_TMPDIR/port"
	LLM_PORT=$(free_port)
	config openai
	run -0 --separate-stderr aurora-incident postmortem 1 --regenerate --config "$BATS_TEST_TMPDIR/rca.json"
	template_fallback ""
}

@test "misuse: a bad --llm-timeout is 2, a bad configuration is 78 naming the field, the options belong to postmortem" {
	run -2 --separate-stderr aurora-incident postmortem 1 --llm-timeout 0
	[[ $stderr == *"--llm-timeout"* ]]
	printf '{"llm": {"provider": "openai", "model": "m", "api_key": "%s"}}\n' "$KEY" >"$BATS_TEST_TMPDIR/bad.json"
	run -78 --separate-stderr aurora-incident postmortem 1 --config "$BATS_TEST_TMPDIR/bad.json"
	[[ $stderr == *"api_key"* ]]
	[[ $stderr != *"$KEY"* ]]
	[ -z "$output" ]
	[ -z "$(stored)" ]
	run -2 --separate-stderr aurora-incident show 1 --template
	[[ $stderr == *"show does not take --template"* ]]
	run -0 --separate-stderr aurora-incident --help
	assert_output --partial "postmortem ID [--regenerate] [--config FILE] [--llm-timeout SECONDS]"
}

@test "aurora-recv --rca-config: POST /api/incidents/1/postmortem has the model write it on a thread of its own" {
	standin "$(jq -cn --arg d "$MODEL_DOC" '[{hang: 3, text: [$d]}]')"
	config openai
	new_operator_token ops
	recv_start --db "$AURORA_DB" --rca-config "$BATS_TEST_TMPDIR/rca.json"
	curl -sS -o "$BATS_TEST_TMPDIR/pm.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $OPTOKEN" \
		"$RECV_URL/api/incidents/1/postmortem" >"$BATS_TEST_TMPDIR/pm.code" 3>&- &
	local pm=$!
	sleep 0.5
	# meanwhile other changes are not held up by the model
	local start
	start=$(date +%s%N)
	api -X POST -H 'Content-Type: application/json' --data-binary '{"text":"while the model writes"}' \
		/api/incidents/1/comments
	assert_output 200
	[ $((($(date +%s%N) - start) / 1000000)) -lt 1500 ]
	wait "$pm"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/pm.code")" 200
	json_ok '.generated_by == "llm:pm-model" and .generated == true
		and (.markdown | startswith($d))' --arg d "$MODEL_DOC" <"$BATS_TEST_TMPDIR/pm.json"
	[ "$(generated_by)" = "llm:pm-model" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/requests.jsonl")" = 1 ]
}

@test "aurora-recv: a bad --rca-config exits 78 naming it; a bad AURORA_RCA_CONFIG only warns and the template writes" {
	printf '{"llm": {"provider": "nope"}}\n' >"$BATS_TEST_TMPDIR/bad.json"
	run -78 --separate-stderr aurora-recv --db "$AURORA_DB" --listen 127.0.0.1:0 --rca-config "$BATS_TEST_TMPDIR/bad.json"
	[[ "$stderr" == *"--rca-config"* ]] || fail "$stderr"
	new_operator_token ops
	AURORA_RCA_CONFIG="$BATS_TEST_TMPDIR/bad.json" recv_start --db "$AURORA_DB"
	api -X POST /api/incidents/1/postmortem
	assert_output 200
	json '.generated_by == "template"'
	grep -q 'AURORA_RCA_CONFIG' "$BATS_TEST_TMPDIR/recv.log"
}
