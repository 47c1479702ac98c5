# grafana.jq - Grafana alerting webhooks into aurora alert records.
#
# Formats: unified alerting ("version":"1", the default contact point),
# Grafana Cloud / Mimir contact points in the Alertmanager format
# ("version":"4"), and legacy dashboard alerting (Grafana 10 and older).
#
# One alert record per alert of the group, each with that alert's own
# status (the group says "firing" while any alert fires); identity is the
# alert's fingerprint; labels are kept whole; a relative generatorURL is
# joined to externalURL; the Test button's TestAlert is marked as a test.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# Output: alert and note objects. aurora-normalize completes them: it adds
# v, fingerprint, inbox_id and received_at, turns timestamps of any form
# into RFC 3339 UTC, text fields into strings or null, drops null and empty
# context members and keeps only string values in tags and labels.
# Try it alone:
#   jq -c --argjson config '{}' -f grafana.jq raw.jsonl

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
	elif startswith("https://") or startswith("http://") then .
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
	| $l.alertname as $name
	| {
		type: "alert",
		source: "grafana",
		dedup_key: ((.fingerprint | if . == "" then null else . end)
			// ("labels:" + ([$l | to_entries[] | "\(.key)=\(.value)"] | sort | join(",")))),
		status: $status,
		severity: (($l.severity // $l.priority // $l.level | severity)
			// (if $name == "TestAlert" then "info" elif $name == "DatasourceError" then "high"
			    else "medium" end)),
		test: ($name == "TestAlert"),
		title: ($a.summary // $a.title // $name // "Grafana alert"),
		description: ($a.description // $a.message // .valueString),
		service: ($l.service // $l.service_name // $l.app // $l.job // $l.namespace),
		host: ($l.host // $l.hostname // $l.nodename // $l.node // ($l.instance | host_of)),
		entity: ($l.instance // $l.pod // $l.container // $l.deployment),
		environment: ($l.environment // $l.env // $l.deployment_environment // $l.stage),
		labels: $l,
		started_at: .startsAt,
		ended_at: (if $status == "resolved" then .endsAt else null end),
		link: ((.generatorURL | join_url($base)) // (.panelURL | join_url($base))
			// (.dashboardURL | join_url($base))),
		context: {
			alertname: $name,
			annotations: $a,
			group_key: $g.groupKey,
			receiver: $g.receiver,
			org_id: (.orgId // $g.orgId),
			values: .values,
			value_string: .valueString,
			rule_uid: .ruleUID,
			silence_url: .silenceURL,
			dashboard_url: .dashboardURL,
			panel_url: .panelURL,
			image_url: .imageURL,
			payload_version: $g.version
		}
	};

# legacy dashboard alerting: one rule per delivery
def legacy($b):
	($b.tags | obj) as $t
	| ($b.state | if type == "string" then ascii_downcase else "" end) as $state
	| ($b.ruleName // $b.title // "Grafana legacy alert") as $title
	| "legacy-rule:\($b.orgId // 1):\($b.ruleId // $title)" as $key
	| if $state == "paused" or $state == "pending" then
		{type: "note", source: "grafana", kind: "rule_\($state)", dedup_key: $key,
		 title: "\($title) is \($state)", link: $b.ruleUrl,
		 context: {rule_id: $b.ruleId, dashboard_id: $b.dashboardId, panel_id: $b.panelId}}
	else {
		type: "alert",
		source: "grafana",
		dedup_key: $key,
		status: (if $state == "ok" then "resolved" else "firing" end),
		severity: (($t.severity // $t.priority | severity) // "medium"),
		title: $title,
		description: $b.message,
		service: ($t.service // $t.app // $t.job // $t.namespace),
		host: ($t.host // $t.hostname // ($t.instance | host_of)),
		entity: $t.instance,
		environment: ($t.environment // $t.env),
		tags: $t,
		link: $b.ruleUrl,
		context: {
			state: $state,
			rule_id: $b.ruleId,
			dashboard_id: $b.dashboardId,
			panel_id: $b.panelId,
			org_id: $b.orgId,
			eval_matches: (if ($b.evalMatches | type) == "array" and ($b.evalMatches | length) > 0
				then $b.evalMatches else null end),
			image_url: $b.imageUrl,
			no_data: (if $state == "no_data" then true else null end)
		}
	} end;

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif ($b.alerts | type) == "array" then
	if $b.alerts == [] then
		{type: "note", source: "grafana", kind: "empty_group", dedup_key: $b.groupKey,
		 title: "Grafana notification without alerts",
		 context: {receiver: $b.receiver, group_key: $b.groupKey}}
	else
		($b.externalURL | if type == "string" then . else null end) as $base
		| ($b.status == "resolved") as $gresolved
		| $b.alerts[] | group_alert($b; $base; $gresolved)
	end,
	(if ($b.truncatedAlerts | type) == "number" and $b.truncatedAlerts > 0 then
		{type: "note", source: "grafana", kind: "alerts_truncated", dedup_key: $b.groupKey,
		 title: "Grafana left \($b.truncatedAlerts) alerts out of this notification (max alerts)",
		 context: {truncated_alerts: $b.truncatedAlerts, group_key: $b.groupKey}}
	else empty end)
elif $b.alerts != null then
	error("\"alerts\" is a \($b.alerts | type), not an array")
elif $b.ruleId != null or $b.evalMatches != null or $b.ruleName != null then
	legacy($b)
else
	error("not a Grafana webhook: no \"alerts\" array and no legacy rule fields")
end
