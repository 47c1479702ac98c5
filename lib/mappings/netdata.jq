# netdata.jq - Netdata notifications into aurora alert records.
#
# Netdata Agent: the JSON that aurora's documented custom_sender() posts
# (see aurora-normalize(1) for the function to paste into
# health_alarm_notify.conf):
#   {alarm, status, old_status, hostname, chart, family, value, units, when,
#    info, alarm_id, unique_id, event_id}
# Netdata Cloud: the webhook integration's alert notification, its
# reachability notification, its test notification, and the nested variant
# ({alert:{name,state,chart,rendered}, node:{hostname}, space:{...}}).
#
# Identity always includes the host, so the same alarm on ten hosts stays
# ten alerts. CLEAR (Cloud: severity "clear", reachable again) is resolved.
# Netdata has no service: the host stands in unless the body names one.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# Try it alone:  jq -c --argjson config '{}' -f netdata.jq raw.jsonl

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
def num: if type == "number" then . elif type == "string" then (tonumber? // null) else null end;

def status_sev: {"CRITICAL": "critical", "WARNING": "medium", "CLEAR": "info"}[. // ""];

# the agent's ${alarm} is "name = value units"; the name is what we want
def alarm_name: nz | if . == null then null else split(" = ")[0] end;

# the node name from a Cloud alert_url (...&node=web-7&...) or its message
def cloud_node($b):
	(($b.alert_url // $b.alarm_url | nz // "") | split("?")
	 | if length > 1 then .[1] | split("&") | map(select(startswith("node=")) | ltrimstr("node="))
	   | .[0] else null end | nz)
	// ($b.node | if type == "object" then (.hostname // .name) else . end | nz)
	// ($b.message | nz // "" | split(" ") | if length > 2 and (.[1] == "needs" or .[1] == "recovered"
		or .[1] == "is") then .[0] else null end);

def agent($b):
	($b.hostname // $b.host | nz) as $host
	| ($b.alarm // $b.name | alarm_name) as $alarm
	| ($b.chart | nz) as $chart
	| ($b.status | nz // "" | ascii_upcase) as $st
	| ($b.old_status | nz // "" | ascii_upcase) as $old
	| if $alarm == null and ($b.alarm_id | nz) == null then
		error("not a Netdata notification: no alarm name or alarm_id")
	  elif $st != "CRITICAL" and $st != "WARNING" and $st != "CLEAR" then
		{type: "note", source: "netdata", kind: "netdata_status",
		 dedup_key: ([$host, $chart, ($alarm // ($b.alarm_id | nz))] | map(select(. != null)) | join("/")),
		 title: "\($alarm // "alarm") on \($host // "unknown host") is \(if $st == "" then "without status" else $st end)",
		 service: ($b.service | nz // $host), host: $host, occurred_at: $b.when,
		 context: {status: $st, old_status: $old, chart: $chart}}
	  else
		(if $st == "CLEAR" then "resolved" else "firing" end) as $status
		| ($b.value | num) as $value
		| ($b.units | nz) as $units
		| {
			type: "alert",
			source: "netdata",
			dedup_key: ([$host, $chart, ($alarm // ($b.alarm_id | nz))] | map(select(. != null)) | join("/")),
			status: $status,
			severity: (if $st == "CLEAR" then ($old | status_sev) // "info" else $st | status_sev end),
			test: ($alarm == "test_alarm" and ($chart == null or $chart == "test.chart")),
			title: "\($alarm // "alarm \($b.alarm_id)") on \($host // "unknown host")",
			description: ([($b.info | nz),
				(if $value != null then "value \($value)\(if $units != null then " " + $units else "" end)"
				 else null end)] | map(select(. != null)) | join("; ") | if . == "" then null else . end),
			service: ($b.service | nz // $host),
			host: $host,
			entity: (if $host != null and $chart != null then "\($host)/\($chart)" else $chart // $host end),
			environment: ($b.environment // $b.env | nz),
			tags: {},
			labels: {},
			started_at: (if $status == "firing" then $b.when
				elif ($b.non_clear_duration | num) != null and ($b.when | num) != null
				then ($b.when | num) - ($b.non_clear_duration | num)
				else null end),
			ended_at: (if $status == "resolved" then $b.when else null end),
			link: ($b.goto_url // $b.url | nz),
			context: {
				alarm: $alarm,
				chart: $chart,
				family: ($b.family | nz),
				classification: ($b.classification // $b.class | nz),
				value: $value,
				old_value: ($b.old_value | num),
				units: $units,
				status: $st,
				old_status: (if $old == "" then null else $old end),
				alarm_id: $b.alarm_id,
				unique_id: $b.unique_id,
				event_id: $b.event_id,
				info: ($b.info | nz),
				duration: ($b.duration | num),
				non_clear_duration: ($b.non_clear_duration | num),
				calc_expression: ($b.calc_expression | nz),
				total_warnings: ($b.total_warnings | num),
				total_critical: ($b.total_critical | num)
			}
		}
	  end;

def cloud_alert($b):
	(if ($b.alert | type) == "object" then $b.alert else {} end) as $nested
	| (if ($nested | length) > 0 then ($nested.name | nz) else ($b.alert | nz) end) as $alarm
	| (if ($nested | length) > 0 then ($nested.state | obj | .status) else $b.severity end
		| nz // "" | ascii_downcase) as $sev
	| (cloud_node($b)) as $node
	| (if ($nested | length) > 0 then ($nested.chart | obj | .name) else ($b.chart // $b.context) end | nz) as $chart
	| ($b.space | if type == "object" then (.slug // .name) else . end | nz) as $space
	| (if $sev == "clear" then "resolved" else "firing" end) as $status
	| {
		type: "alert",
		source: "netdata",
		dedup_key: ([$space, $node, $chart, $alarm] | map(. // "") | join("/")),
		status: $status,
		severity: ({"critical": "critical", "warning": "medium", "clear": "info"}[$sev] // "medium"),
		title: "\($alarm // "Netdata alert") on \($node // $space // "unknown node")",
		description: ((if ($nested | length) > 0 then ($nested.rendered | obj | .info) else null end)
			// $b.info // $b.message | nz),
		service: $node,
		host: $node,
		entity: (if $node != null and $chart != null then "\($node)/\($chart)" else $chart // $node end),
		environment: null,
		tags: {},
		labels: {},
		started_at: (if $status == "firing" then $b.date else null end),
		ended_at: (if $status == "resolved" then $b.date else null end),
		link: ($b.alert_url // $b.alarm_url | nz),
		context: {
			alert: $alarm,
			chart: $chart,
			context: ($b.context | nz),
			family: ($b.family | nz),
			class: ($b.class | nz),
			space: $space,
			rooms: ($b.Rooms // $b.rooms | if type == "object" then . else null end),
			message: ($b.message | nz),
			duration: ($b.duration | nz),
			value: (if ($nested | length) > 0 then ($nested.state | obj | .value) else null end),
			additional_active_critical_alerts: ($b.additional_active_critical_alerts | num),
			additional_active_warning_alerts: ($b.additional_active_warning_alerts | num),
			severity: (if $sev == "" then null else $sev end)
		}
	};

def reachability($b):
	($b.host | nz) as $host
	| ($b.status.reachable == true) as $up
	| {
		type: "alert",
		source: "netdata",
		dedup_key: "reachability/\($host // "unknown")",
		status: (if $up then "resolved" else "firing" end),
		severity: (if $up then "info" else "critical" end),
		title: "\($host // "node") is \(if $up then "reachable again" else "unreachable" end)",
		description: ($b.message | nz),
		service: $host,
		host: $host,
		entity: $host,
		link: ($b.url | nz),
		context: {reachable: $up, status_text: ($b.status.text | nz), severity: ($b.severity | nz)}
	};

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.status | type) == "object" and ($b.status | has("reachable")) then
	reachability($b)
elif ($b.alarm // $b.name | nz) != null and ($b.status | type) == "string"
	or ($b.alarm_id != null and ($b.hostname // $b.host) != null) then
	agent($b)
elif ($b.token | nz) != null then
	{type: "alert", source: "netdata", test: true,
	 dedup_key: "netdata-cloud-test", status: "firing", severity: "info",
	 title: ($b.message | nz // "Netdata Cloud test notification"),
	 context: {token: ($b.token | nz)}}
elif ($b.alert | type) == "object" or (($b.alert | nz) != null and $b.severity != null) then
	cloud_alert($b)
else
	error("not a Netdata notification: no alarm/status (Agent) and no alert/severity (Cloud)")
end
