# alertmanager.jq - Prometheus Alertmanager webhook_config ("version":"4")
# into aurora alert records.
#
# One record per alert of the group, each with that alert's own status
# (the group says "firing" while any alert fires). Identity is the alert
# fingerprint; labels are kept whole; severity comes from the severity
# label; the service from the service, service_name, app, job or namespace
# label, the first one present.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# Output: alert and note objects. aurora-normalize completes them: it adds
# v, fingerprint, inbox_id and received_at, turns timestamps of any form
# into RFC 3339 UTC, text fields into strings or null, drops null and empty
# context members and keeps only string values in tags and labels.
# Try it alone:
#   jq -c --argjson config '{}' -f alertmanager.jq raw.jsonl

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
def severity: if type == "string" then sev_words[.] // sev_words[ascii_downcase] else null end;

# an absolute URL as it is; a relative one joined to $base; null without a base
def join_url($base):
	if type != "string" or . == "" then null
	elif startswith("http://") or startswith("https://") then .
	elif $base == null or $base == "" then null
	else ($base | rtrimstr("/")) + "/" + ltrimstr("/") end;

# an instance label "db-3:9100" -> "db-3" (host:port has one colon; IPv6 has more)
def host_of:
	if type != "string" then null else split(":") as $p | if ($p | length) == 2 then $p[0] else . end end;

def obj: if type == "object" then . else {} end;

# one alert of the group: . is the alert, $g the group, $base its externalURL
def group_alert($g; $base; $gresolved):
	if type != "object" then error("alerts[] holds a \(type), not an alert object") else . end
	| (.labels | obj) as $l
	| (.annotations | obj) as $a
	| (if .status == "resolved" then "resolved" elif .status == "firing" then "firing"
	   elif $gresolved then "resolved" else "firing" end) as $status
	| {
		type: "alert",
		source: "alertmanager",
		dedup_key: ((.fingerprint | if . == "" then null else . end)
			// ("labels:" + ([$l | to_entries[] | "\(.key)=\(.value)"] | sort | join(",")))),
		status: $status,
		severity: (($l.severity // $l.priority // $l.level | severity) // "medium"),
		title: ($a.summary // $a.title // $l.alertname // "Alertmanager alert"),
		description: ($a.description // $a.message),
		service: ($l.service // $l.service_name // $l.app // $l.job // $l.namespace),
		host: ($l.host // $l.hostname // $l.nodename // $l.node // ($l.instance | host_of)),
		entity: ($l.instance // $l.pod // $l.container // $l.deployment),
		environment: ($l.environment // $l.env // $l.deployment_environment // $l.stage),
		labels: $l,
		started_at: .startsAt,
		ended_at: (if $status == "resolved" then .endsAt else null end),
		link: (.generatorURL | join_url($base)),
		context: {
			alertname: $l.alertname,
			annotations: $a,
			group_key: $g.groupKey,
			group_labels: $g.groupLabels,
			receiver: $g.receiver,
			external_url: $base,
			notification_reason: $g.notification_reason,
			route_labels: $g.routeLabels
		}
	};

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.alerts | type) == "array" then
	if $b.alerts == [] then
		{type: "note", source: "alertmanager", kind: "empty_group", dedup_key: $b.groupKey,
		 title: "Alertmanager notification without alerts",
		 context: {receiver: $b.receiver, group_key: $b.groupKey}}
	else
		($b.externalURL | if type == "string" then . else null end) as $base
		| ($b.status == "resolved") as $gresolved
		| $b.alerts[] | group_alert($b; $base; $gresolved)
	end,
	(if ($b.truncatedAlerts | type) == "number" and $b.truncatedAlerts > 0 then
		{type: "note", source: "alertmanager", kind: "alerts_truncated", dedup_key: $b.groupKey,
		 title: "Alertmanager left \($b.truncatedAlerts) alerts out of this notification (max_alerts)",
		 context: {truncated_alerts: $b.truncatedAlerts, group_key: $b.groupKey}}
	else empty end)
elif $b.alerts != null then
	error("\"alerts\" is a \($b.alerts | type), not an array")
else
	error("not an Alertmanager webhook: no \"alerts\" array")
end
