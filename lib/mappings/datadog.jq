# datadog.jq - Datadog webhooks integration into aurora alert records.
#
# Datadog has no fixed body: the webhook's payload template decides it, and
# every $VARIABLE arrives as a string. This mapping reads aurora's
# recommended template (see aurora-normalize(1)), Datadog's default payload
# ({id, last_updated, event_type, title, date, org, body}), and the same
# fields when Datadog encoded them as a form (aurora-inbox hands those over
# as an object of strings; a single "payload" field holding JSON works too).
#
# Identity: alert_cycle_key (trigger to recovery), else alert_id plus the
# group (alert_scope, else the {group} of a "[Triggered on {host:web-1}]"
# title), else aggreg_key, else the title without its head plus its group:
# a multi-alert monitor alerting for several groups is one alert per group,
# and the recovery of one group never resolves another. Recovered (or
# alert_type success) is resolved. Severity: alert_priority P1..P5 (or the
# title's [Pn], or a P1..P5 under priority: a template's name for
# $ALERT_PRIORITY), else alert_type (error, warning, info), else priority -
# $PRIORITY is the event's priority (normal, low), not a severity, so it
# only counts when nothing else says. The service is the service: tag (or
# scope). Templates that nest the variables under "metadata" with their
# own names ({"metadata": {"ALERT_ID": "$ALERT_ID", ...}}, as Datadog's
# StackPulse and Torq integration pages suggest) or keep them upper-case at
# the top are read too; event_tags (older templates) is the tags, and
# date_posix (epoch seconds) the time when date is absent. A monitor's
# "Test Notifications" run ("[TEST]" after the title's head, "Test
# notification triggered by ..." in the message) is a test.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config: {base_url:{datadog:URL}, ...}: the site for monitor links
# (default https://app.datadoghq.com). aurora-normalize completes the
# records (v, fingerprint, inbox_id, received_at, RFC 3339 timestamps).
# Try it alone:
#   jq -c --argjson config '{}' -f datadog.jq raw.jsonl

# "monitor,env:prod, service:web" or ["env:prod", ...] -> {"monitor":"","env":"prod","service":"web"};
# a key given twice keeps both values, comma-separated
def tag_object:
	(if type == "string" then split(",")
	 elif type == "array" then .
	 elif type == "object" then [to_entries[] | "\(.key):\(.value)"]
	 else [] end)
	| reduce (.[] | strings | ltrimstr(" ") | rtrimstr(" ") | split(":")) as $p ({};
		(if ($p | length) == 2 then $p[1] elif ($p | length) == 1 then "" else $p[1:] | join(":") end) as $v
		| .[$p[0]] as $old
		| if $old == null or $old == "" then setpath([$p[0]]; $v)
		  elif $v == "" then .
		  else setpath([$p[0]]; $old + "," + $v) end)
	| del(.[""]);

# the body may be the fields themselves or one form field holding the JSON
# (text with NUL characters is left alone: libjq 1.6's parser leaks on it)
def fields:
	if length == 1 and ((.payload // .json // .data) | type == "string" and (split("\u0000") | length) == 1) then
		((.payload // .json // .data) | try fromjson catch null) as $inner
		| if ($inner | type) == "object" then $inner else . end
	else . end;

# {"metadata": {"ALERT_ID": ...}} and top-level "ALERT_ID": the variables
# under their own names, lower-cased, beside the fields the template names
# itself (which win)
def variables:
	([(.metadata | if type == "object" then to_entries[] else empty end), to_entries[]]
	 | map(select(.key | test("^[A-Z][A-Z0-9_]*$")) | {key: (.key | ascii_downcase), value: .value})
	 | from_entries) as $vars
	| $vars + with_entries(select(.key | test("^[A-Z][A-Z0-9_]*$") | not));

# "[P1] [Triggered on {host:web-7}] CPU high" -> priority, transition, scope and plain title
def title_parts:
	if type != "string" then {text: null}
	elif startswith("[") | not then {text: .}
	else
		. as $t
		| (if startswith("[P") then split("] ") as $p
		     | if ($p | length) > 1 and ($p[0] | length) <= 3 then [$p[0][1:], ($p[1:] | join("] "))]
		       else [null, $t] end
		   else [null, $t] end) as [$prio, $rest]
		| if ($rest | startswith("[")) and ($rest | contains("]")) then
			($rest[1:] | split("]")) as $p
			| ($p[0] | split(" on ")) as $h
			| {priority: $prio, transition: $h[0],
			   scope: (if ($h | length) > 1 then $h[1:] | join(" on ") | ltrimstr("{") | rtrimstr("}") else null end),
			   text: ($p[1:] | join("]") | ltrimstr(" "))}
		  else {priority: $prio, text: $rest} end
	end;

def priorities: {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "info",
	"p1": "critical", "p2": "high", "p3": "medium", "p4": "low", "p5": "info"};
def event_priorities: {"normal": "medium", "high": "high", "low": "low"};
def alert_types: {"error": "high", "warning": "medium", "info": "info", "success": "info"};
def lookup($table): if type == "string" then $table[.] else null end;

.body as $raw
| if ($raw | type) != "object" then
	error("body is not a JSON object (\($raw | type)); Datadog needs a JSON payload template or form fields")
else . end
| (.headers | if type == "object" then .["content-type"] else null end) as $ctype
| ($raw | fields | variables) as $b
| ($b.title // $b.event_title // $b.alert_title | title_parts) as $tp0
# a monitor's "Test Notifications" run: "[Triggered] [TEST] Host down",
# "Test notification triggered by <user>." in the message
| ($tp0.text | type == "string" and startswith("[TEST] ")) as $test_title
| ($tp0 | if $test_title then .text |= ltrimstr("[TEST] ") else . end) as $tp
| ($test_title or ($b.body // $b.event_msg // $b.text_only_msg // $b.message
	| type == "string" and test("(^|\\n)Test notification triggered by "))) as $test
| ($b.alert_transition // $b.transition // $tp.transition) as $transition
| $b.alert_type as $atype
| ($b.tags // $b.event_tags | tag_object) as $tags
| ($b.alert_scope // $b.scope | if . == "" then null else . end) as $scope_s
# the group this notification is for: the scope, else the title's {group}
| ($scope_s // $tp.scope | if . == "" then null else . end) as $group
| (($scope_s // $tp.scope) | tag_object) as $scope
| ($b.alert_id // $b.monitor_id | if . == "" then null else . end) as $alert_id
| (if $transition == "Recovered" or $transition == "recovered" or $atype == "success"
   then "resolved" else "firing" end) as $status
| ((if $b.alert_cycle_key == "" then null else $b.alert_cycle_key end)
	// (if $alert_id != null then "\($alert_id)" + (if $group != null then "/\($group)" else "" end)
	    else null end)
	// (if $b.aggreg_key == "" then null else $b.aggreg_key end)
	// (if $tp.text != null and $tp.text != "" then "title:" + $tp.text
		+ (if $tp.scope != null then "/" + $tp.scope else "" end) else null end)) as $key
| if $key == null then
	error("not a Datadog alert: no alert_cycle_key, alert_id, aggreg_key or title")
else . end
| ($config | if type == "object" then .base_url else null end
   | if type == "object" then .datadog else null end // "https://app.datadoghq.com") as $site
| {
	type: "alert",
	source: "datadog",
	test: $test,
	dedup_key: $key,
	status: $status,
	severity: (($b.alert_priority // $tp.priority | lookup(priorities))
		// ($b.priority | lookup(priorities))
		// ($atype | lookup(alert_types))
		// ($b.priority | lookup(event_priorities))
		// "medium"),
	title: (if $tp.text != null and $tp.text != "" then $tp.text else "Datadog monitor \($alert_id // $key)" end),
	description: ($b.body // $b.event_msg // $b.text_only_msg // $b.message // $b.text
		| if type == "string" then ltrimstr("%%%") | rtrimstr("%%%") | ltrimstr("\n") | rtrimstr("\n")
		  else . end),
	service: ($tags.service // $scope.service),
	host: ((if $b.hostname == "" then null else $b.hostname end) // $b.host // $scope.host // $tags.host),
	entity: ($scope_s // $tp.scope // $b.hostname),
	environment: ($tags.env // $tags.environment // $scope.env // $scope.environment),
	tags: $tags,
	started_at: ($b.date // $b.date_posix // $b.last_updated),
	ended_at: (if $status == "resolved" then $b.date // $b.date_posix // $b.last_updated else null end),
	link: ((if $b.link == "" then null else $b.link end)
		// (if $alert_id != null then ($site | rtrimstr("/")) + "/monitors/\($alert_id)" else null end)),
	context: {
		event_id: $b.id,
		event_type: $b.event_type,
		alert_id: $alert_id,
		alert_cycle_key: $b.alert_cycle_key,
		alert_transition: $transition,
		alert_type: $atype,
		alert_priority: ($b.alert_priority // $tp.priority),
		priority: $b.priority,
		alert_scope: $scope_s,
		alert_status: $b.alert_status,
		alert_query: $b.alert_query,
		alert_metric: $b.alert_metric,
		aggreg_key: $b.aggreg_key,
		snapshot: $b.snapshot,
		org: $b.org,
		last_updated: $b.last_updated,
		encoding: (if $ctype | type == "string" and startswith("application/x-www-form-urlencoded")
			then "form" else null end)
	}
}
