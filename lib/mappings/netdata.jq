# netdata.jq - Netdata notifications into aurora alert records.
#
# Netdata Agent: the JSON that aurora's documented custom_sender() posts
# (examples/netdata-health_alarm_notify.conf, aurora-normalize(1)):
#   {alarm, status, old_status, hostname, chart, family, value, units, when,
#    info, alarm_id, unique_id, event_id}
# Netdata Cloud: the webhook integration's alert notification, its
# reachability notification, its test notification, and the nested variant
# ({alert:{name,state,chart,rendered}, node:{hostname}, space:{...}}).
#
# Identity always includes the host, so the same alarm on ten hosts stays
# ten alerts. CLEAR (Cloud: severity "clear", reachable again) is resolved.
# Netdata has no service: the host stands in unless the body names one.
# The agent's `alarm-notify.sh test` (test_alarm on test.chart) is a test.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config is unused here. aurora-normalize completes the records
# (v, fingerprint, inbox_id, received_at, RFC 3339 timestamps).
# Try it alone:  jq -c --argjson config '{}' -f netdata.jq raw.jsonl

def obj: if type == "object" then . else {} end;
def num: if type == "number" then . elif type == "string" then (tonumber? // null) else null end;

# the agent's statuses, whatever their case
def statuses: {"CRITICAL": "CRITICAL", "WARNING": "WARNING", "CLEAR": "CLEAR",
	"critical": "CRITICAL", "warning": "WARNING", "clear": "CLEAR",
	"Critical": "CRITICAL", "Warning": "WARNING", "Clear": "CLEAR"};
def status_word: if type == "string" then statuses[.] // ascii_upcase else "" end;
def status_sev: {"CRITICAL": "critical", "WARNING": "medium", "CLEAR": "info"}[.];

# the agent's ${alarm} is "name = value units"; the name is what we want
def alarm_name: if type == "string" and contains(" = ") then split(" = ")[0] else . end;

# the node of a Cloud notification: alert_url's node= parameter, the nested
# node object, or the first word of "web-7 needs attention, ..."
def cloud_node($b):
	(($b.alert_url // $b.alarm_url) | if type == "string" and contains("node=") then
		split("node=")[1] | split("&")[0] else null end)
	// ($b.node | if type == "object" then .hostname // .name else . end)
	// ($b.message | if type == "string" then split(" ") as $w
		| if ($w | length) > 2 and ($w[1] == "needs" or $w[1] == "recovered" or $w[1] == "is")
		  then $w[0] else null end else null end);

def agent($b):
	($b.hostname // $b.host) as $host
	| ($b.alarm // $b.name | alarm_name) as $alarm
	| $b.chart as $chart
	| ($b.status | status_word) as $st
	| ($b.old_status | status_word) as $old
	| ([$host, $chart, ($alarm // $b.alarm_id)] | map(select(. != null and . != "") | tostring)
	   | join("/")) as $key
	| if $alarm == null and $b.alarm_id == null then
		error("not a Netdata notification: no alarm name or alarm_id")
	  elif $st != "CRITICAL" and $st != "WARNING" and $st != "CLEAR" then
		{type: "note", source: "netdata", kind: "netdata_status", dedup_key: $key,
		 title: "\($alarm // "alarm") on \($host // "unknown host") is \(if $st == "" then "without status" else $st end)",
		 service: ($b.service // $host), host: $host, occurred_at: $b.when,
		 context: {status: $st, old_status: $old, chart: $chart}}
	  else
		(if $st == "CLEAR" then "resolved" else "firing" end) as $status
		| ($b.value | num) as $value
		| {
			type: "alert",
			source: "netdata",
			dedup_key: $key,
			status: $status,
			severity: (if $st == "CLEAR" then ($old | status_sev) // "info" else $st | status_sev end),
			test: ($alarm == "test_alarm" and ($chart == null or $chart == "test.chart")),
			title: "\($alarm // "alarm \($b.alarm_id)") on \($host // "unknown host")",
			description: (if $value != null then
				"\($b.info // $alarm): \($value)\(if $b.units != null then " " + ($b.units | tostring) else "" end)"
				else $b.info end),
			service: ($b.service // $host),
			host: $host,
			entity: (if $host != null and $chart != null then "\($host)/\($chart)" else $chart // $host end),
			environment: ($b.environment // $b.env),
			started_at: (if $status == "firing" then $b.when
				elif ($b.non_clear_duration | num) != null and ($b.when | num) != null
				then ($b.when | num) - ($b.non_clear_duration | num)
				else null end),
			ended_at: (if $status == "resolved" then $b.when else null end),
			link: ($b.goto_url // $b.url),
			context: {
				alarm: $alarm,
				chart: $chart,
				family: $b.family,
				classification: ($b.classification // $b.class),
				value: $value,
				old_value: ($b.old_value | num),
				units: $b.units,
				status: $st,
				old_status: (if $old == "" then null else $old end),
				alarm_id: $b.alarm_id,
				unique_id: $b.unique_id,
				event_id: $b.event_id,
				info: $b.info,
				duration: $b.duration,
				non_clear_duration: $b.non_clear_duration,
				calc_expression: $b.calc_expression,
				total_warnings: $b.total_warnings,
				total_critical: $b.total_critical
			}
		}
	  end;

def cloud_alert($b):
	($b.alert | if type == "object" then . else null end) as $nested
	| (if $nested != null then $nested.name else $b.alert end) as $alarm
	| (if $nested != null then ($nested.state | obj | .status) else $b.severity end
		| if type == "string" then ascii_downcase else "" end) as $sev
	| cloud_node($b) as $node
	| (if $nested != null then ($nested.chart | obj | .name) else $b.chart // $b.context end) as $chart
	| ($b.space | if type == "object" then .slug // .name else . end) as $space
	| (if $sev == "clear" then "resolved" else "firing" end) as $status
	| {
		type: "alert",
		source: "netdata",
		dedup_key: ([$space, $node, $chart, $alarm] | map(. // "" | tostring) | join("/")),
		status: $status,
		severity: ({"critical": "critical", "warning": "medium", "clear": "info"}[$sev] // "medium"),
		title: "\($alarm // "Netdata alert") on \($node // $space // "unknown node")",
		description: ((if $nested != null then ($nested.rendered | obj | .info) else null end)
			// $b.info // $b.message),
		service: $node,
		host: $node,
		entity: (if $node != null and $chart != null then "\($node)/\($chart)" else $chart // $node end),
		started_at: (if $status == "firing" then $b.date else null end),
		ended_at: (if $status == "resolved" then $b.date else null end),
		link: ($b.alert_url // $b.alarm_url),
		context: {
			alert: $alarm,
			chart: $chart,
			context: $b.context,
			family: $b.family,
			class: $b.class,
			space: $space,
			rooms: ($b.Rooms // $b.rooms),
			message: $b.message,
			duration: $b.duration,
			value: (if $nested != null then ($nested.state | obj | .value) else null end),
			additional_active_critical_alerts: $b.additional_active_critical_alerts,
			additional_active_warning_alerts: $b.additional_active_warning_alerts,
			severity: $sev
		}
	};

def reachability($b):
	$b.host as $host
	| ($b.status.reachable == true) as $up
	| {
		type: "alert",
		source: "netdata",
		dedup_key: "reachability/\($host // "unknown")",
		status: (if $up then "resolved" else "firing" end),
		severity: (if $up then "info" else "critical" end),
		title: "\($host // "node") is \(if $up then "reachable again" else "unreachable" end)",
		description: $b.message,
		service: $host,
		host: $host,
		entity: $host,
		link: $b.url,
		context: {reachable: $up, status_text: $b.status.text, severity: $b.severity}
	};

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.status | type) == "object" and ($b.status | has("reachable")) then
	reachability($b)
elif ($b.alarm // $b.name) != null and ($b.status | type) == "string"
	or ($b.alarm_id != null and ($b.hostname // $b.host) != null) then
	agent($b)
elif $b.token != null and $b.token != "" then
	{type: "alert", source: "netdata", test: true,
	 dedup_key: "netdata-cloud-test", status: "firing", severity: "info",
	 title: ($b.message // "Netdata Cloud test notification"),
	 context: {token: $b.token}}
elif ($b.alert | type) == "object" or ($b.alert != null and $b.severity != null) then
	cloud_alert($b)
else
	error("not a Netdata notification: no alarm/status (Agent) and no alert/severity (Cloud)")
end
