# alertmanager.jq - Prometheus Alertmanager webhook_config ("version":"4")
# into aurora alert records.
#
# One record per alert of the group, each with that alert's own status
# (the group's status is "firing" while any alert fires). Identity is the
# alert fingerprint; labels are kept whole.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# aurora-normalize adds v, fingerprint, inbox_id and received_at and turns
# every timestamp into RFC 3339 UTC. Try it alone:
#   jq -c --argjson config '{}' -f alertmanager.jq raw.jsonl

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

def group_alert($g):
	if type != "object" then error("alerts[] holds a \(type), not an alert object") else . end
	| (.labels | strmap) as $l
	| (.annotations | strmap) as $a
	| (if .status == "resolved" then "resolved"
	   elif .status == "firing" then "firing"
	   elif $g.status == "resolved" then "resolved"
	   else "firing" end) as $status
	| {
		type: "alert",
		source: "alertmanager",
		dedup_key: ((.fingerprint | nz)
			// ("labels:" + ([$l | to_entries[] | "\(.key)=\(.value)"] | sort | join(",")))),
		status: $status,
		severity: (($l.severity // $l.priority // $l.level | sev_word) // "medium"),
		title: ($a.summary // $a.title // $l.alertname // "Alertmanager alert"),
		description: ($a.description // $a.message),
		service: ($l.service // $l.service_name // $l.app // $l.job // $l.namespace),
		host: ($l.host // $l.hostname // $l.nodename // $l.node // ($l.instance | host_of)),
		entity: ($l.instance // $l.pod // $l.container // $l.deployment),
		environment: ($l.environment // $l.env // $l.deployment_environment // $l.stage),
		tags: {},
		labels: $l,
		started_at: .startsAt,
		ended_at: (if $status == "resolved" then .endsAt else null end),
		link: (.generatorURL | join_url($g.externalURL)),
		context: {
			alertname: $l.alertname,
			annotations: $a,
			group_key: ($g.groupKey | nz),
			group_status: ($g.status | nz),
			group_labels: ($g.groupLabels | strmap),
			receiver: ($g.receiver | nz),
			external_url: ($g.externalURL | nz),
			payload_version: ($g.version | nz),
			notification_reason: ($g.notification_reason | nz),
			route_labels: (if ($g.routeLabels | type) == "object" then $g.routeLabels else null end),
			truncated_alerts: (if ($g.truncatedAlerts | type) == "number" and $g.truncatedAlerts > 0
				then $g.truncatedAlerts else null end)
		}
	};

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.alerts | type) == "array" then
	if ($b.alerts | length) == 0 then
		{type: "note", source: "alertmanager", kind: "empty_group",
		 dedup_key: ($b.groupKey | nz), title: "Alertmanager notification without alerts",
		 context: {receiver: ($b.receiver | nz), group_key: ($b.groupKey | nz)}}
	else $b.alerts[] | group_alert($b) end,
	(if ($b.truncatedAlerts | type) == "number" and $b.truncatedAlerts > 0 then
		{type: "note", source: "alertmanager", kind: "alerts_truncated",
		 dedup_key: ($b.groupKey | nz),
		 title: "Alertmanager left \($b.truncatedAlerts) alerts out of this notification (max_alerts)",
		 context: {truncated_alerts: $b.truncatedAlerts, group_key: ($b.groupKey | nz)}}
	else empty end)
elif $b.alerts != null then
	error("\"alerts\" is a \($b.alerts | type), not an array")
else
	error("not an Alertmanager webhook: no \"alerts\" array")
end
