# pagerduty.jq - PagerDuty webhooks into aurora alert records.
#
# V3 webhook subscriptions: one {"event":{...}} per delivery. An event whose
# data is an incident (incident.triggered, .acknowledged, .resolved,
# .reopened, .escalated, .priority_updated, ...) becomes an alert record
# whose identity is the PagerDuty incident id; triggered and acknowledged
# are firing, resolved is resolved. Events about something else (a note, a
# responder, a status update, a service) become notes. pagey.ping is a test.
# The deprecated V2 envelope {"messages":[...]} is mapped the same way, one
# record per message.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# aurora-normalize adds v, fingerprint, inbox_id and received_at and turns
# every timestamp into RFC 3339 UTC. Try it alone:
#   jq -c --argjson config '{}' -f pagerduty.jq raw.jsonl

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
def arr: if type == "array" then . else [] end;

# a PagerDuty reference object ({id, type, summary, ...}) as its name
def ref_name: obj | (.summary // .name // .id | nz);

# priority P1..P5 first (when the account uses priorities), else urgency
def severity_of($d):
	({"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "info"}
	 [($d.priority | obj | (.summary // .name) | nz // "" | ascii_upcase)])
	// ({"high": "high", "low": "low"}[($d.urgency | nz // "" | ascii_downcase)])
	// "medium";

def incident_alert($e; $d; $version):
	($e.event_type // $e.event | nz // "") as $type
	| ($d.status | nz // "") as $st
	| (if $st == "resolved" or $type == "incident.resolved" or $type == "incident.resolve"
	   then "resolved" else "firing" end) as $status
	| ([$d.teams | arr[] | ref_name | select(. != null)] | join(",")) as $teams
	| {
		type: "alert",
		source: "pagerduty",
		dedup_key: ($d.id | nz),
		status: $status,
		severity: severity_of($d),
		title: ($d.title // $d.summary // ($d.trigger_summary_data | obj | .subject)
			// $d.description | nz // "PagerDuty incident \($d.incident_number // $d.number // $d.id)"),
		description: ($d.description // ($d.body | obj | .details) | nz),
		service: ($d.service | ref_name),
		host: null,
		entity: ($d.incident_key | nz),
		environment: null,
		tags: ({}
			+ (if $teams != "" then {team: $teams} else {} end)
			+ (if ($d.urgency | nz) != null then {urgency: ($d.urgency | nz)} else {} end)
			+ (if ($d.priority | ref_name) != null then {priority: ($d.priority | ref_name)} else {} end)),
		labels: {},
		started_at: ($d.created_at // $d.created_on),
		ended_at: (if $status == "resolved"
			then ($e.occurred_at // $e.created_on // $d.last_status_change_at // $d.last_status_change_on)
			else null end),
		link: ($d.html_url | nz),
		context: {
			webhook_version: $version,
			event_id: ($e.id | nz),
			event_type: (if $type == "" then null else $type end),
			occurred_at: ($e.occurred_at // $e.created_on | nz),
			incident_number: ($d.number // $d.incident_number),
			incident_key: ($d.incident_key | nz),
			pagerduty_status: (if $st == "" then null else $st end),
			acknowledged: (if $st == "acknowledged" then true else null end),
			urgency: ($d.urgency | nz),
			priority: ($d.priority | ref_name),
			service_id: ($d.service | obj | .id | nz),
			escalation_policy: ($d.escalation_policy | ref_name),
			assignees: ([$d.assignees | arr[] | obj | (.summary // (.assignee | obj | .summary) // .name) | nz]
				| if length > 0 then . else null end),
			teams: (if $teams != "" then $teams else null end),
			agent: ($e.agent | ref_name),
			resolve_reason: (if ($d.resolve_reason | type) == "object" then $d.resolve_reason else null end),
			incident_type: ($d.incident_type | obj | .name | nz)
		}
	};

def v3($e):
	($e.event_type | nz // "") as $type
	| ($e.data | obj) as $d
	| if $type == "pagey.ping" or $e.resource_type == "pagey" then
		{type: "alert", source: "pagerduty", test: true,
		 dedup_key: ("pagey.ping:" + ($e.id | nz // "ping")),
		 status: "firing", severity: "info",
		 title: ($d.message | nz // "PagerDuty webhook ping"),
		 started_at: $e.occurred_at,
		 context: {event_id: ($e.id | nz), event_type: $type}}
	elif $d.type == "incident" or ($type | startswith("incident.")) and ($d.id | nz) != null
		and ($d.status | nz) != null then
		incident_alert($e; $d; 3)
	else
		($d.incident | obj) as $inc
		| {type: "note", source: "pagerduty",
		   kind: (if $type == "" then "pagerduty_event" else $type end),
		   dedup_key: ($inc.id | nz),
		   title: ("PagerDuty \(if $type == "" then "event" else $type end)"
			+ (if ($inc | ref_name) != null then " on \($inc | ref_name)" else "" end)),
		   service: ($d.service | ref_name),
		   link: ($inc.html_url // $d.html_url | nz),
		   occurred_at: $e.occurred_at,
		   context: {event_id: ($e.id | nz), event_type: $type, resource_type: ($e.resource_type | nz),
			     data: $d}}
	end;

def v2($m):
	if ($m | type) != "object" then error("messages[] holds a \($m | type), not a message object")
	elif ($m.incident | type) == "object" then incident_alert($m; $m.incident; 2)
	else {type: "note", source: "pagerduty", kind: ($m.event // $m.type | nz // "pagerduty_v2_message"),
	      title: "PagerDuty V2 \($m.event // $m.type | nz // "message") without an incident",
	      occurred_at: $m.created_on, context: {webhook_version: 2, message_id: ($m.id | nz)}}
	end;

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.event | type) == "object" then
	v3($b.event)
elif ($b.messages | type) == "array" then
	$b.messages[] | v2(.)
else
	error("not a PagerDuty webhook: no V3 \"event\" object and no V2 \"messages\" array")
end
