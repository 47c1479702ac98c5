# datadog.jq - Datadog webhooks integration into aurora alert records.
#
# Datadog has no fixed body: the webhook's payload template decides it, and
# every $VARIABLE arrives as a string. This mapping reads aurora's
# recommended template (see aurora-normalize(1)), Datadog's default payload
# ({id, last_updated, event_type, title, date, org, body}), and the same
# fields when Datadog encoded them as a form (aurora-inbox hands those over
# as an object of strings; a single "payload" field holding JSON works too).
#
# Identity: alert_cycle_key (trigger to recovery), else alert_id plus
# alert_scope, else aggreg_key, else the title without its transition.
# Recovered (or alert_type success) is resolved. Severity: alert_priority
# P1..P5, else priority (normal, high, low), else alert_type.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. $config: {base_url:{datadog:URL}, ...}: the site for monitor links
# (default https://app.datadoghq.com). Try it alone:
#   jq -c --argjson config '{}' -f datadog.jq raw.jsonl

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
def trim: if startswith(" ") or startswith("\t") or startswith("\n") then .[1:] | trim
	elif endswith(" ") or endswith("\t") or endswith("\n") then .[:-1] | trim else . end;

# "env:prod, service:web,monitor" or ["env:prod", ...] -> {"env":"prod","service":"web","monitor":""}
def tag_object:
	(if type == "string" then split(",")
	 elif type == "array" then map(str // empty)
	 elif type == "object" then [to_entries[] | "\(.key):\(.value | str // "")"]
	 else [] end)
	| reduce (.[] | trim | select(. != "")) as $t ({};
		($t | split(":")) as $p
		| [$p[0], ($p[1:] | join(":"))] as $kv
		| if .[$kv[0]] == null or .[$kv[0]] == "" then .[$kv[0]] = $kv[1]
		  elif $kv[1] == "" then .
		  else .[$kv[0]] += "," + $kv[1] end);

# the body may be the fields themselves or one form field holding the JSON
def fields:
	if (keys | length) == 1 and ((.payload // .json // .data) | type) == "string" then
		((.payload // .json // .data) | try fromjson catch null) as $inner
		| if ($inner | type) == "object" then $inner else . end
	else . end;

# "[P1] [Triggered on {host:web-7}] CPU high" -> transition, scope and plain title
def title_parts:
	. as $t
	| (if startswith("[P") then split("] ") as $p
	     | if ($p | length) > 1 and ($p[0] | length) <= 3 then [$p[0][1:], ($p[1:] | join("] "))] else [null, $t] end
	   else [null, $t] end) as [$prio, $rest]
	| if ($rest | startswith("[")) and ($rest | contains("]")) then
		($rest[1:] | split("]")) as $p
		| ($p[0] | split(" on ")) as $h
		| {priority: $prio, transition: $h[0],
		   scope: (if ($h | length) > 1 then $h[1:] | join(" on ") | ltrimstr("{") | rtrimstr("}") else null end),
		   text: ($p[1:] | join("]") | trim)}
	else {priority: $prio, transition: null, scope: null, text: $rest} end;

.body as $raw
| (.headers | obj | .["content-type"] | nz // "" | ascii_downcase) as $ctype
| if ($raw | type) != "object" then
	error("body is not a JSON object (\($raw | type)); Datadog needs a JSON payload template or form fields")
else . end
| ($raw | fields) as $b
| (($b.title // $b.event_title // $b.alert_title | nz // "") | title_parts) as $tp
| ($b.alert_transition // $b.transition | nz // $tp.transition // "") as $transition
| ($b.alert_type | nz // "" | ascii_downcase) as $atype
| ($b.tags | tag_object) as $tags
| ($b.alert_scope // $b.scope | nz) as $scope_s
| (($scope_s // $tp.scope // "") | tag_object) as $scope
| ($b.alert_id // $b.monitor_id | nz) as $alert_id
| (if ($transition | ascii_downcase) == "recovered" or $atype == "success" then "resolved" else "firing" end) as $status
| (($b.alert_cycle_key | nz)
	// (if $alert_id != null then $alert_id + (if $scope_s != null then "/" + $scope_s else "" end) else null end)
	// ($b.aggreg_key | nz)
	// (if $tp.text != "" then "title:" + $tp.text + (if $tp.scope != null then "/" + $tp.scope else "" end) else null end)) as $key
| if $key == null then
	error("not a Datadog alert: no alert_cycle_key, alert_id, aggreg_key or title")
else . end
| ($config.base_url.datadog? // "https://app.datadoghq.com" | nz // "https://app.datadoghq.com") as $site
| {
	type: "alert",
	source: "datadog",
	dedup_key: $key,
	status: $status,
	severity: (({"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "info"}
			[($b.alert_priority | nz // $tp.priority // "" | ascii_upcase)])
		// ({"normal": "medium", "high": "high", "low": "low"}[($b.priority | nz // "" | ascii_downcase)])
		// ({"error": "high", "warning": "medium", "info": "info", "success": "info"}[$atype])
		// "medium"),
	title: (if $tp.text != "" then $tp.text else "Datadog monitor \($alert_id // $key)" end),
	description: ($b.body // $b.event_msg // $b.text_only_msg // $b.message // $b.text | nz
		| if . == null then null
		  else ltrimstr("%%%") | rtrimstr("%%%") | ltrimstr("\n") | rtrimstr("\n") | trim end
		| if . == "" then null else . end),
	service: ($tags.service // $scope.service | nz),
	host: ($b.hostname // $b.host | nz // $scope.host // $tags.host | nz),
	entity: ($scope_s // $tp.scope // ($b.hostname | nz)),
	environment: ($tags.env // $tags.environment // $scope.env // $scope.environment | nz),
	tags: $tags,
	labels: {},
	started_at: ($b.date // $b.last_updated),
	ended_at: (if $status == "resolved" then ($b.date // $b.last_updated) else null end),
	link: ($b.link | nz // (if $alert_id != null then ($site | rtrimstr("/")) + "/monitors/" + $alert_id else null end)),
	context: {
		event_id: ($b.id | nz),
		event_type: ($b.event_type | nz),
		alert_id: $alert_id,
		alert_cycle_key: ($b.alert_cycle_key | nz),
		alert_transition: (if $transition == "" then null else $transition end),
		alert_type: (if $atype == "" then null else $atype end),
		alert_priority: ($b.alert_priority | nz),
		priority: ($b.priority | nz),
		alert_scope: $scope_s,
		alert_status: ($b.alert_status | nz),
		alert_query: ($b.alert_query | nz),
		alert_metric: ($b.alert_metric | nz),
		aggreg_key: ($b.aggreg_key | nz),
		snapshot: ($b.snapshot | nz),
		org: ($b.org | if type == "object" then . else nz end),
		last_updated: ($b.last_updated | nz),
		encoding: (if $ctype | startswith("application/x-www-form-urlencoded") then "form" else null end)
	}
}
