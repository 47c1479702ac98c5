# pagerduty.jq - PagerDuty webhooks into aurora alert records.
#
# V3 webhook subscriptions: one {"event":{...}} per delivery. An event whose
# data is an incident (incident.triggered, .acknowledged, .resolved,
# .reopened, .escalated, .priority_updated, ...) becomes an alert record
# whose identity is the PagerDuty incident id; triggered and acknowledged
# are firing, resolved is resolved. Events about something else (a note, a
# responder, a status update, a service) become notes. pagey.ping is a test.
# The deprecated V2 envelope {"messages":[{event, incident, ...}]} and the
# older V1 one {"messages":[{type, data:{incident}, created_on}]} are
# mapped the same way, one record per message.
#
# Time: the incident's reopened_at (a reopened incident fires again from
# then), else its created_at (V1: created_on), else the event's own time
# (V3 occurred_at, V1/V2 created_on): a V3 incident.triggered often
# carries no created_at, and the event is when it started.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# Output: alert and note objects. aurora-normalize completes them: it adds
# v, fingerprint, inbox_id and received_at, turns timestamps of any form
# into RFC 3339 UTC, text fields into strings or null, drops null and empty
# context members and keeps only string values in tags and labels.
# Try it alone:
#   jq -c --argjson config '{}' -f pagerduty.jq raw.jsonl

def obj: if type == "object" then . else {} end;
def arr: if type == "array" then . else [] end;

# a PagerDuty reference ({id, type, summary, ...}) as its name
def ref_name: if type == "object" then .summary // .name // .id else null end;

# priority P1..P5 first (when the account uses priorities), else urgency
def priorities: {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "info",
	"p1": "critical", "p2": "high", "p3": "medium", "p4": "low", "p5": "info"};
def urgencies: {"high": "high", "low": "low", "HIGH": "high", "LOW": "low"};
def severity_of($d):
	($d.priority | ref_name) as $p
	| (if $p | type == "string" then priorities[$p] else null end)
	// (if $d.urgency | type == "string" then urgencies[$d.urgency] else null end)
	// "medium";

def incident_alert($e; $d; $version):
	($e.event_type // $e.event // $e.type) as $type
	| (if $d.status == "resolved" or $type == "incident.resolved" or $type == "incident.resolve"
	   then "resolved" else "firing" end) as $status
	| {
		type: "alert",
		source: "pagerduty",
		dedup_key: $d.id,
		status: $status,
		severity: severity_of($d),
		title: ($d.title // $d.summary // ($d.trigger_summary_data | obj | .subject) // $d.description
			// "PagerDuty incident \($d.number // $d.incident_number // $d.id)"),
		description: ($d.description // ($d.body | obj | .details)),
		service: ($d.service | ref_name),
		entity: $d.incident_key,
		tags: {urgency: $d.urgency, priority: ($d.priority | ref_name),
			team: ([$d.teams | arr[] | ref_name | strings] | if length > 0 then join(",") else null end)},
		started_at: ($d.reopened_at // $d.created_at // $d.created_on // $e.occurred_at // $e.created_on),
		ended_at: (if $status == "resolved" then $e.occurred_at // $e.created_on // $d.last_status_change_at
			// $d.last_status_change_on else null end),
		link: $d.html_url,
		context: {
			webhook_version: $version,
			event_id: $e.id,
			event_type: $type,
			occurred_at: ($e.occurred_at // $e.created_on),
			incident_number: ($d.number // $d.incident_number),
			incident_key: $d.incident_key,
			pagerduty_status: $d.status,
			acknowledged: (if $d.status == "acknowledged" then true else null end),
			urgency: $d.urgency,
			priority: ($d.priority | ref_name),
			service_id: ($d.service | obj | .id),
			escalation_policy: ($d.escalation_policy | ref_name),
			assignees: ([$d.assignees | arr[] | obj | (.summary // (.assignee | ref_name))]
				| if length > 0 then . else null end),
			agent: ($e.agent | ref_name),
			resolve_reason: ($d.resolve_reason | if type == "object" then . else null end),
			incident_type: ($d.incident_type | obj | .name)
		}
	};

def v3($e):
	$e.event_type as $type
	| ($e.data | obj) as $d
	| if $type == "pagey.ping" or $e.resource_type == "pagey" then
		{type: "alert", source: "pagerduty", test: true,
		 dedup_key: "pagey.ping:\($e.id // "ping")",
		 status: "firing", severity: "info",
		 title: ($d.message // "PagerDuty webhook ping"),
		 started_at: $e.occurred_at,
		 context: {event_id: $e.id, event_type: $type}}
	elif $d.type == "incident" or ($type | type == "string" and startswith("incident."))
		and $d.id != null and $d.status != null then
		incident_alert($e; $d; 3)
	else
		($d.incident | obj) as $inc
		| ($type // "event") as $what
		| {type: "note", source: "pagerduty",
		   kind: (if $type == null then "pagerduty_event" else $type end),
		   dedup_key: $inc.id,
		   title: ("PagerDuty \($what)" + (if ($inc | ref_name) != null then " on \($inc | ref_name)" else "" end)),
		   service: ($d.service | ref_name),
		   link: ($inc.html_url // $d.html_url),
		   occurred_at: $e.occurred_at,
		   context: {event_id: $e.id, event_type: $type, resource_type: $e.resource_type, data: $d}}
	end;

def v2($m):
	if ($m | type) != "object" then error("messages[] holds a \($m | type), not a message object")
	elif ($m.incident | type) == "object" then incident_alert($m; $m.incident; 2)
	elif ($m.data | obj | .incident | type) == "object" then incident_alert($m; $m.data.incident; 1)
	else {type: "note", source: "pagerduty", kind: ($m.event // $m.type // "pagerduty_v2_message"),
	      title: "PagerDuty V2 \($m.event // $m.type // "message") without an incident",
	      occurred_at: $m.created_on, context: {webhook_version: 2, message_id: $m.id}}
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
