# grafana.jq - Grafana alerting webhooks into aurora alert records.
#
# Formats: unified alerting ("version":"1", the default contact point),
# Grafana Cloud / Mimir contact points in the Alertmanager format
# ("version":"4"), and legacy dashboard alerting (Grafana 10 and older).
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# Output: one alert record per alert of the group, each with that alert's
# own status; notes for deliveries that carry no alert. aurora-normalize
# adds v, fingerprint, inbox_id and received_at and turns every timestamp
# into RFC 3339 UTC. Try it alone:
#   jq -c --argjson config '{}' -f grafana.jq raw.jsonl

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
# a string->string map: other values become their JSON text, empty ones go
def strmap: obj | if ([.[] | select(type != "string" or . == "")] | length) == 0 then .
	else with_entries(.value |= (str // (if . == null then "" else tojson end))
		| select(.value != "")) end;

# severity words as people put them in labels, into aurora's five levels
def sev_words: {
	"critical": "critical", "crit": "critical", "fatal": "critical", "emergency": "critical",
	"emerg": "critical", "alert": "critical", "disaster": "critical", "page": "critical",
	"sev0": "critical", "sev1": "critical", "p0": "critical", "p1": "critical",
	"high": "high", "error": "high", "err": "high", "major": "high", "severe": "high",
	"sev2": "high", "p2": "high",
	"medium": "medium", "warning": "medium", "warn": "medium", "average": "medium",
	"moderate": "medium", "sev3": "medium", "p3": "medium",
	"low": "low", "minor": "low", "sev4": "low", "p4": "low",
	"info": "info", "informational": "info", "information": "info", "notice": "info",
	"debug": "info", "none": "info", "ok": "info", "normal": "info", "sev5": "info", "p5": "info"
};
def sev_word: nz | if . == null then null else sev_words[ascii_downcase] end;

# an absolute URL as it is; a relative one joined to $base (null when no base)
def join_url($base):
	nz | if . == null then null
	elif startswith("http://") or startswith("https://") then .
	elif ($base | nz) == null then null
	else ($base | rtrimstr("/")) + "/" + ltrimstr("/") end;

# "db-3:9100" -> "db-3"; anything else unchanged
def host_of:
	if . == null then null
	else (split(":")) as $p
	| if ($p | length) == 2 and (($p[1] | tonumber?) != null) then $p[0] else . end end;

# one alert of a group ($g); . is the alert object
def group_alert($g):
	if type != "object" then error("alerts[] holds a \(type), not an alert object") else . end
	| (.labels | strmap) as $l
	| (.annotations | strmap) as $a
	| ($l.alertname // "") as $name
	| (if .status == "resolved" then "resolved"
	   elif .status == "firing" then "firing"
	   elif $g.status == "resolved" then "resolved"
	   else "firing" end) as $status
	| {
		type: "alert",
		source: "grafana",
		dedup_key: ((.fingerprint | nz)
			// ("labels:" + ([$l | to_entries[] | "\(.key)=\(.value)"] | sort | join(",")))),
		status: $status,
		severity: (($l.severity // $l.priority // $l.level | sev_word)
			// (if $name == "TestAlert" then "info"
			    elif $name == "DatasourceError" then "high"
			    else "medium" end)),
		test: ($name == "TestAlert"),
		title: ($a.summary // $a.title // (if $name == "" then null else $name end)
			// "Grafana alert"),
		description: ($a.description // $a.message // (.valueString | nz)),
		service: ($l.service // $l.service_name // $l.app // $l.job // $l.namespace),
		host: ($l.host // $l.hostname // $l.nodename // $l.node // ($l.instance | host_of)),
		entity: ($l.instance // $l.pod // $l.container // $l.deployment),
		environment: ($l.environment // $l.env // $l.deployment_environment // $l.stage),
		tags: {},
		labels: $l,
		started_at: .startsAt,
		ended_at: (if $status == "resolved" then .endsAt else null end),
		link: ((.generatorURL | join_url($g.externalURL))
			// (.panelURL | join_url($g.externalURL))
			// (.dashboardURL | join_url($g.externalURL))),
		context: {
			alertname: (if $name == "" then null else $name end),
			annotations: $a,
			group_key: ($g.groupKey | nz),
			group_status: ($g.status | nz),
			receiver: ($g.receiver | nz),
			org_id: (.orgId // $g.orgId),
			values: .values,
			value_string: (.valueString | nz),
			rule_uid: (.ruleUID | nz),
			silence_url: (.silenceURL | join_url($g.externalURL)),
			dashboard_url: (.dashboardURL | join_url($g.externalURL)),
			panel_url: (.panelURL | join_url($g.externalURL)),
			image_url: (.imageURL | nz),
			external_url: ($g.externalURL | nz),
			payload_version: ($g.version | nz),
			truncated_alerts: (if ($g.truncatedAlerts | type) == "number" and $g.truncatedAlerts > 0
				then $g.truncatedAlerts else null end)
		}
	};

# legacy dashboard alerting: one rule per delivery
def legacy($b):
	($b.tags | strmap) as $t
	| ($b.state | str // "" | ascii_downcase) as $state
	| ($b.ruleName // $b.title | nz // "Grafana legacy alert") as $title
	| ("legacy-rule:\($b.orgId // 1):\($b.ruleId // $title)") as $key
	| if $state == "paused" or $state == "pending" then
		{type: "note", source: "grafana", kind: "rule_\($state)", dedup_key: $key,
		 title: "\($title) is \($state)", link: ($b.ruleUrl | nz),
		 context: {rule_id: $b.ruleId, dashboard_id: $b.dashboardId, panel_id: $b.panelId}}
	else {
		type: "alert",
		source: "grafana",
		dedup_key: $key,
		status: (if $state == "ok" then "resolved" else "firing" end),
		severity: (($t.severity // $t.priority | sev_word) // "medium"),
		title: $title,
		description: ($b.message | nz),
		service: ($t.service // $t.app // $t.job // $t.namespace),
		host: ($t.host // $t.hostname // ($t.instance | host_of)),
		entity: ($t.instance),
		environment: ($t.environment // $t.env),
		tags: $t,
		labels: {},
		started_at: null,
		ended_at: null,
		link: ($b.ruleUrl | nz),
		context: {
			state: $state,
			rule_id: $b.ruleId,
			dashboard_id: $b.dashboardId,
			panel_id: $b.panelId,
			org_id: $b.orgId,
			eval_matches: (if ($b.evalMatches | type) == "array" and ($b.evalMatches | length) > 0
				then $b.evalMatches else null end),
			image_url: ($b.imageUrl | nz),
			no_data: (if $state == "no_data" then true else null end)
		}
	} end;

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.alerts | type) == "array" then
	if ($b.alerts | length) == 0 then
		{type: "note", source: "grafana", kind: "empty_group",
		 dedup_key: ($b.groupKey | nz), title: "Grafana notification without alerts",
		 context: {receiver: ($b.receiver | nz), group_key: ($b.groupKey | nz)}}
	else $b.alerts[] | group_alert($b) end,
	(if ($b.truncatedAlerts | type) == "number" and $b.truncatedAlerts > 0 then
		{type: "note", source: "grafana", kind: "alerts_truncated",
		 dedup_key: ($b.groupKey | nz),
		 title: "Grafana left \($b.truncatedAlerts) alerts out of this notification (max alerts)",
		 context: {truncated_alerts: $b.truncatedAlerts, group_key: ($b.groupKey | nz)}}
	else empty end)
elif $b.alerts != null then
	error("\"alerts\" is a \($b.alerts | type), not an array")
elif $b.ruleId != null or $b.evalMatches != null or $b.ruleName != null then
	legacy($b)
else
	error("not a Grafana webhook: no \"alerts\" array and no legacy rule fields")
end
