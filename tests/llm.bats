#!/usr/bin/env bats
# lib/llm.c against tests/helpers/llm-standin.py: streamed text, tool call
# round trips, retries, deadlines, malformed and truncated streams, and where
# the API key goes, for OpenAI-compatible endpoints and Anthropic's. The
# client runs through `unit-tests llm-chat FILE` (tests/unit/unit.c), which
# prints the result as one JSON line.

load helpers/common
load helpers/llm

KEY=sk-test-0123456789abcdef-secret

setup() {
	printf '%s\n' "$KEY" >"$BATS_TEST_TMPDIR/key"
	: >"$BATS_TEST_TMPDIR/requests.jsonl"
	STANDIN_PID=
}

teardown() {
	standin_stop
}

# request FILE PROVIDER [JQ-EXTRA]: a request file for llm-chat, one user message
# and one tool, the key from the key file; JQ-EXTRA edits it further
request() {
	local url="http://127.0.0.1:$LLM_PORT/v1"
	[ "$2" = azure ] && url="http://127.0.0.1:$LLM_PORT/openai/deployments/gpt4o"
	jq -n --arg p "$2" --arg url "$url" --arg key "$BATS_TEST_TMPDIR/key" '{
		config: {provider: $p, url: $url, model: "test-model", api_key_file: $key, max_retries: 3},
		messages: [{role: "system", content: "You investigate incidents."},
			{role: "user", content: "Incident 7: disk full on db-1"}],
		tools: [{name: "run_diagnostic", description: "run an allowed command",
			parameters: {type: "object", properties: {command: {type: "string"}}}}],
		timeout_ms: 10000} | '"${3:-.}" >"$1"
}

@test "openai: text streamed in deltas, the key only in the Authorization header" {
	standin '[{"text": ["Disk ", "full ", "on db-1."]}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "Disk full on db-1."
		and .deltas == ["Disk ", "full ", "on db-1."] and .stop == "end" and .attempts == 1
		and .tool_calls == []'
	run -0 received 0
	jq -en --argjson q "$output" --arg key "$KEY" '$q | .path == "/v1/chat/completions"
		and .headers.authorization == "Bearer \($key)" and .headers.accept == "text/event-stream"
		and .body.stream == true and .body.model == "test-model"
		and .body.messages[0] == {role: "system", content: "You investigate incidents."}
		and .body.tools[0].type == "function" and .body.tools[0].function.name == "run_diagnostic"'
	run -0 jq -c '{body, others, query}' "$BATS_TEST_TMPDIR/requests.jsonl"
	refute_output --partial "$KEY"
}

@test "anthropic: text streamed, x-api-key and anthropic-version sent, system at the top" {
	standin '[{"text": ["Disk ", "full ", "on db-1."]}]'
	request "$BATS_TEST_TMPDIR/req.json" anthropic
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "Disk full on db-1."
		and (.deltas | length) == 3 and .stop == "end"'
	run -0 received 0
	jq -en --argjson q "$output" --arg key "$KEY" '$q | .path == "/v1/messages"
		and .headers["x-api-key"] == $key and .headers["anthropic-version"] == "2023-06-01"
		and .headers.authorization == null
		and .body.system == "You investigate incidents." and .body.max_tokens > 0
		and .body.messages == [{role: "user", content: [{type: "text", text: "Incident 7: disk full on db-1"}]}]
		and .body.tools[0].input_schema.type == "object"'
	run -0 jq -c '{body, others, query}' "$BATS_TEST_TMPDIR/requests.jsonl"
	refute_output --partial "$KEY"
}

@test "azure: api-key header and api-version on the deployment's URL" {
	standin '[{"text": ["ok"]}]'
	request "$BATS_TEST_TMPDIR/req.json" azure '.config.api_version = "2024-10-21"'
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "ok"'
	run -0 received 0
	jq -en --argjson q "$output" --arg key "$KEY" '$q | .path == "/openai/deployments/gpt4o/chat/completions"
		and .query == "api-version=2024-10-21" and .headers["api-key"] == $key
		and .headers.authorization == null'
}

@test "openai: a tool call round trip; the second request carries the tool result" {
	standin '[{"text": ["Checking the disk."], "tool_calls": [{"id": "call_1", "name": "run_diagnostic",
		"arguments": {"command": "df -h /var"}}], "pieces": 5},
		{"text": ["The disk is full."]}]'
	request "$BATS_TEST_TMPDIR/req1.json" openai
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req1.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .stop == "tool_calls" and .text == "Checking the disk."
		and .tool_calls == [{id: "call_1", name: "run_diagnostic", arguments: {command: "df -h /var"}}]'
	jq --argjson r "$output" '.messages += [
		{role: "assistant", content: $r.text, tool_calls: $r.tool_calls},
		{role: "tool", tool_call_id: "call_1", content: "/dev/sda1 100% /var"}]' \
		"$BATS_TEST_TMPDIR/req1.json" >"$BATS_TEST_TMPDIR/req2.json"
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req2.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "The disk is full." and .stop == "end"'
	run -0 received 1
	jq -en --argjson q "$output" '$q.body.messages[-2:] == [
		{role: "assistant", content: "Checking the disk.", tool_calls: [{id: "call_1", type: "function",
			function: {name: "run_diagnostic", arguments: "{\"command\":\"df -h /var\"}"}}]},
		{role: "tool", tool_call_id: "call_1", content: "/dev/sda1 100% /var"}]'
}

@test "anthropic: a tool call round trip; the second request carries a tool_result block" {
	standin '[{"text": ["Checking the disk."], "tool_calls": [{"id": "toolu_1", "name": "run_diagnostic",
		"arguments": {"command": "df -h /var"}}], "pieces": 5},
		{"text": ["The disk is full."]}]'
	request "$BATS_TEST_TMPDIR/req1.json" anthropic
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req1.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .stop == "tool_calls"
		and .tool_calls == [{id: "toolu_1", name: "run_diagnostic", arguments: {command: "df -h /var"}}]'
	jq --argjson r "$output" '.messages += [
		{role: "assistant", content: $r.text, tool_calls: $r.tool_calls},
		{role: "tool", tool_call_id: "toolu_1", content: "/dev/sda1 100% /var"}]' \
		"$BATS_TEST_TMPDIR/req1.json" >"$BATS_TEST_TMPDIR/req2.json"
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req2.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "The disk is full."'
	run -0 received 1
	jq -en --argjson q "$output" '$q.body.messages[-2:] == [
		{role: "assistant", content: [{type: "text", text: "Checking the disk."},
			{type: "tool_use", id: "toolu_1", name: "run_diagnostic", input: {command: "df -h /var"}}]},
		{role: "user", content: [{type: "tool_result", tool_use_id: "toolu_1",
			content: "/dev/sda1 100% /var"}]}]'
}

@test "openai: a stream written one byte at a time gives the same tool calls" {
	standin '[{"tool_calls": [{"id": "a", "name": "run_diagnostic", "arguments": {"command": "uptime"}},
		{"id": "b", "name": "related_alerts", "arguments": {}}], "write_bytes": 1}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .tool_calls == [
		{id: "a", name: "run_diagnostic", arguments: {command: "uptime"}},
		{id: "b", name: "related_alerts", arguments: {}}]'
}

@test "anthropic: tool arguments that are not JSON are reported as such" {
	standin '[{"tool_calls": [{"id": "t", "name": "run_diagnostic", "arguments": "{\"command\": \"df"}]}]'
	request "$BATS_TEST_TMPDIR/req.json" anthropic
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .tool_calls[0].id == "t"
		and .tool_calls[0].arguments == null and .tool_calls[0].arguments_text == "{\"command\": \"df"
		and (.tool_calls[0].error | test("not valid JSON"))'
}

@test "429 with Retry-After, then success: the wait is honoured" {
	standin '[{"status": 429, "retry_after": 1, "error_message": "rate limited"}, {"text": ["ok"]}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "ok" and .attempts == 2 and .elapsed_ms >= 1000'
	run -0 jq -s 'length' "$BATS_TEST_TMPDIR/requests.jsonl"
	assert_output 2
}

@test "429 whose Retry-After passes the deadline ends at once with EAGAIN" {
	standin '[{"status": 429, "retry_after": 60}, {"text": ["never"]}]'
	request "$BATS_TEST_TMPDIR/req.json" anthropic '.timeout_ms = 5000'
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EAGAIN" and .attempts == 1 and .status == 429
		and (.error | test("time limit"))'
	assert_equal "$stderr" "unit-tests: llm-chat: $(jq -r .error <<<"$output")"
}

@test "500 and 503 are retried with backoff, then success" {
	standin '[{"status": 500}, {"status": 503}, {"text": ["recovered"]}]'
	request "$BATS_TEST_TMPDIR/req.json" anthropic
	run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok" and .text == "recovered" and .attempts == 3'
}

@test "5xx past the retries: EAGAIN with the provider's message" {
	standin '[{"status": 502, "error_message": "upstream down"}, {"status": 502, "error_message": "upstream down"}]'
	request "$BATS_TEST_TMPDIR/req.json" openai '.config.max_retries = 1'
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EAGAIN" and .attempts == 2
		and (.error | test("HTTP 502: server_error: upstream down \\(retries exhausted\\)"))'
}

@test "400 is not retried and says the provider's message" {
	standin '[{"status": 400, "error_message": "model not found"}, {"text": ["never"]}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EINVAL" and .attempts == 1 and (.error | test("model not found"))'
}

@test "a hang is cut at the deadline with ETIMEDOUT" {
	standin '[{"hang": 60, "text": ["late"]}]'
	request "$BATS_TEST_TMPDIR/req.json" openai '.timeout_ms = 1500'
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	# far below the hang: the deadline, not the server, ended it
	jq -en --argjson r "$output" '$r | .rc == "ETIMEDOUT" and .elapsed_ms >= 1400 and .elapsed_ms < 30000'
}

@test "malformed streams are EPROTO, for both providers" {
	standin '[{"text": ["a", "b"], "malformed": "{\"choices\": [oops"},
		{"text": ["a", "b"], "malformed": "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {"}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EPROTO" and (.error | test("not a JSON object")) and .attempts == 1'
	request "$BATS_TEST_TMPDIR/req.json" anthropic
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EPROTO" and (.error | test("not a JSON object"))'
}

@test "truncated streams are EPROTO, for both providers" {
	standin '[{"text": ["a", "b", "c"], "truncate": 3}, {"text": ["a", "b", "c"], "truncate": 5},
		{"raw": "data: {\"choices\":[{\"delta\":{\"content\":\"half"}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EPROTO" and (.error | test("truncated"))'
	request "$BATS_TEST_TMPDIR/req.json" anthropic
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EPROTO" and (.error | test("no message_stop"))'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EPROTO"'
}

@test "an answer that is not an event stream is EPROTO" {
	standin '[{"raw": "{\"choices\": []}", "content_type": "application/json"}]'
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EPROTO" and (.error | test("not an event stream"))'
}

@test "a provider message that echoes the key: EACCES, the key redacted everywhere" {
	standin '[{"status": 401, "error_message": "Incorrect API key provided: '"$KEY"'"}]'
	request "$BATS_TEST_TMPDIR/req.json" anthropic
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EACCES" and (.error | test("Incorrect API key provided: \\[redacted\\]"))'
	refute_output --partial "$KEY"
	assert [ -n "$stderr" ]
	[[ $stderr != *"$KEY"* ]]
}

@test "the key from a variable; a missing key file is named, not read" {
	standin '[{"text": ["ok"]}]'
	request "$BATS_TEST_TMPDIR/req.json" openai 'del(.config.api_key_file) | .config.api_key_env = "LLM_TEST_KEY"'
	LLM_TEST_KEY=$KEY run -0 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "ok"'
	run -0 received 0
	jq -en --argjson q "$output" --arg key "$KEY" '$q.headers.authorization == "Bearer \($key)"'
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EINVAL" and (.error | test("LLM_TEST_KEY is unset")) and .attempts == 0'
	request "$BATS_TEST_TMPDIR/req.json" openai '.config.api_key_file = "/nonexistent/key"'
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EINVAL" and (.error | test("/nonexistent/key"))'
	run -0 jq -s 'length' "$BATS_TEST_TMPDIR/requests.jsonl"
	assert_output 1
}

@test "a refused connection is retried, then EIO" {
	standin '[]'
	local port
	port=$(free_port)
	request "$BATS_TEST_TMPDIR/req.json" openai ".config.url = \"http://127.0.0.1:$port/v1\" | .config.max_retries = 1"
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EIO" and .attempts == 2 and (.error | test("retries exhausted"))'
}

@test "a key of two lines is refused before anything is sent" {
	standin '[{"text": ["never"]}]'
	printf 'sk-first\nsk-second\n' >"$BATS_TEST_TMPDIR/key"
	request "$BATS_TEST_TMPDIR/req.json" openai
	run -1 --separate-stderr unit-tests llm-chat "$BATS_TEST_TMPDIR/req.json"
	jq -en --argjson r "$output" '$r | .rc == "EINVAL" and (.error | test("more than one line")) and .attempts == 0'
	refute_output --partial sk-first
	run -0 jq -s 'length' "$BATS_TEST_TMPDIR/requests.jsonl"
	assert_output 0
}
