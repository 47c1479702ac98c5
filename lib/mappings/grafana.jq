# grafana.jq - Grafana alerting webhooks into aurora alert records.
#
# Formats: unified alerting ("version":"1", the default contact point,
# Grafana 8 to 12), Grafana Cloud / Mimir contact points in the
# Alertmanager format ("version":"4"), and legacy dashboard alerting
# (Grafana 10 and older).
#
# One alert record per alert of the group, each with that alert's own
# status (the group says "firing" while any alert fires); identity is the
# alert's fingerprint; labels are kept whole. The service is the alert's
# subject read from its labels as aurora's correlation reads them
# (lib/subject.c; see alertmanager.jq). A relative generatorURL is joined
# to externalURL. The Test button's alert (TestAlert) and the legacy Test
# button's (rule id 0, "Test notification" / "Test rule") are tests.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config: {base_url:{PLATFORM:URL}, splunk:{...}} (base_url.grafana:
# the base of an Alertmanager-format alert's relative Prometheus link).
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
	elif startswith("http://") or startswith("https://") then .
	elif $base == null or $base == "" then null
	else ($base | rtrimstr("/")) + "/" + ltrimstr("/") end;

def obj: if type == "object" then . else {} end;
def text: if type == "string" and . != "" then . else null end;

# the host of a URL or of "host:port"; an IPv6 address stays whole
def url_host:
	if type != "string" then null
	elif contains("://") then split("://")[1] | split("/")[0] | split("?")[0] | split("#")[0]
		| sub(":[0-9]+$"; "") | ascii_downcase | text
	else split(":") as $p | if ($p | length) == 2 then $p[0] else . end end;

# the Alertmanager time "0001-01-01T00:00:00Z" means none
def when: if type == "string" and startswith("0001-01-01") then null else . end;

# names of the monitoring itself, as lib/subject.c has them: a label with
# one of these says which exporter reported, not what the alert is about
def exporter:
	type == "string" and (ascii_downcase | test("kube-state-metrics|kubelet|node-exporter|blackbox|cadvisor|exporter|prometheus|alertmanager|pushgateway|kube-proxy|otel-collector"));

# exporters that report about the whole cluster: their instance is the
# exporter's own address, not a host the alert is about
def cluster_exporter: type == "string" and (ascii_downcase | test("kube-state-metrics|pushgateway|otel-collector"));

# namespaces that hold the platform, not an application (comparisons, not
# index/1, which leaks in jq 1.6)
def system_namespace:
	. == "kube-system" or . == "kube-public" or . == "kube-node-lease" or . == "monitoring" or . == "default";

# a pod's workload, as lib/textvec.c reads it: "api-7d9f8b6c5d-x2x4q" and
# "ledger-0" are pods of "api" and "ledger"
def pod_workload:
	(split("-")) as $w
	| if ($w | length) > 1 and ($w[-1] | test("^[0-9]+$")) then $w[:-1] | join("-")
	elif ($w | length) > 1 and ($w[-1] | test("^[a-z0-9]{5}$")) then
		if ($w | length) > 2 and ($w[-2] | test("^[a-z0-9]{6,10}$")) and ($w[-2] | test("[0-9]"))
		then $w[:-2] | join("-") else $w[:-1] | join("-") end
	else . end;

# the subject of an alert from its labels (see the header), or null
def subject($l):
	first(
		(["service", "service_name", "app.kubernetes.io/name", "app_kubernetes_io_name", "app", "k8s-app",
		  "source_workload", "deployment", "statefulset", "daemonset", "pod", "container", "namespace",
		  "target", "job"][] as $k
		 | $l[$k] | text | select(. != null and (exporter | not))
		 | select($k != "namespace" or (system_namespace | not))
		 | select($k != "container" or . != "POD")
		 | if $k == "pod" then pod_workload elif $k == "target" then url_host else . end
		 | select(. != null and . != "" and (test("^[0-9.]+$") | not))),
		(if (($l.job | text // "") | test("blackbox|probe")) or (($l.instance | text // "") | contains("://"))
		 then $l.instance | url_host | select(. != null and (test("^[0-9.]+$") | not)) else empty end),
		null);

# the host an alert is about: a host label, else its instance unless that
# is a cluster-wide exporter's own address
def host_label($l):
	($l.host // $l.hostname // $l.nodename // $l.node | text)
	// (if ($l.job | cluster_exporter) or ($l.service | cluster_exporter) then null
	    else $l.instance | text | url_host end);

# the most specific thing named: the pod, workload, volume claim or instance
def entity($l):
	first(
		(($l.pod, $l.deployment, $l.statefulset, $l.daemonset, $l.persistentvolumeclaim)
		 | text | select(. != null and (exporter | not))),
		(if ($l.job | cluster_exporter) or ($l.service | cluster_exporter) then empty
		 else $l.instance | text | select(. != null) end),
		null);

# the alert in Alertmanager's own UI (a Grafana Cloud / Mimir payload in
# the Alertmanager format): externalURL's alert list filtered on the labels
def am_link($ext; $l):
	if ($ext | type) == "string" and ($ext | test("^https?://[^/:]")) and ($l | length) > 0 then
		($ext | rtrimstr("/")) + "/#/alerts?filter="
		+ ("{" + ([$l | to_entries[] | select(.value | type == "string")
			| "\(.key)=\"\(.value | gsub("\""; "\\\""))\""] | join(",")) + "}" | @uri)
	else null end;

# "https://acme.grafana.net/alertmanager" -> "https://acme.grafana.net"
def origin: if type == "string" then capture("^(?<o>https?://[^/]+)").o // null else null end;

# the link of a unified alert: generatorURL (a relative one is Grafana's own
# and joins externalURL), else the panel, else the dashboard. In the
# Alertmanager format (Grafana Cloud, Mimir) a relative "/alerting/..." is
# a Grafana-managed rule on externalURL's host; another relative one is
# the Prometheus one, joined to base_url.grafana when known, else the link
# is the alert in Alertmanager
def alert_link($g; $base):
	if $g.version == "4" then
		(.generatorURL | text) as $gen
		| if $gen != null and ($gen | test("^https?://")) then $gen
		  elif $gen != null and ($gen | test("^/?alerting/")) and ($base | origin) != null
		  then $gen | join_url($base | origin)
		  elif $gen != null and ($config.base_url.grafana? | text) != null then $gen | join_url($config.base_url.grafana)
		  else am_link($base; .labels | obj) end
	else (.generatorURL | join_url($base)) // (.panelURL | join_url($base)) // (.dashboardURL | join_url($base)) end;

# Grafana's Test button (unified alerting, 8.x to 12.x): alertname TestAlert
def unified_test: (.labels | obj | .alertname) == "TestAlert";

# the legacy Test button: rule id 0 (real rules count from 1) with the test's
# own words ("Test notification" / "Test rule", "Someone is testing ...")
def legacy_test:
	.ruleId == 0 and ((.ruleName == "Test notification") or (.ruleName == "Test rule")
		or ((.message | text // "") | test("testing the alert notification"; "i"))
		or ((.title | text // "") | test("Test notification$")));

# the host of a legacy alert: a tag, else the one instance its evalMatches
# name (the series that matched)
def legacy_host($b; $t):
	($t.host // $t.hostname // $t.nodename // ($t.instance | text | url_host))
	// ([$b.evalMatches | if type == "array" then .[] else empty end | .tags | obj
	     | (.host // .hostname // (.instance | text | url_host)) | text | select(. != null)] | unique
	    | if length == 1 then .[0] else null end);

# one alert of the group: . is the alert, $g the group, $base its externalURL
def group_alert($g; $base; $gresolved):
	if type != "object" then error("alerts[] holds a \(type), not an alert object") else . end
	| (.labels | obj) as $l
	| (.annotations | obj) as $a
	| (if .status == "resolved" then "resolved" elif .status == "firing" then "firing"
	   elif $gresolved then "resolved" else "firing" end) as $status
	| $l.alertname as $name
	| unified_test as $test
	| {
		type: "alert",
		source: "grafana",
		dedup_key: ((.fingerprint | if . == "" then null else . end)
			// ("labels:" + ([$l | to_entries[] | "\(.key)=\(.value)"] | sort | join(",")))),
		status: $status,
		severity: (($l.severity // $l.priority // $l.level | severity)
			// (if $test then "info" elif $name == "DatasourceError" then "high"
			    else "medium" end)),
		test: $test,
		title: ($a.summary // $a.title // $name // "Grafana alert"),
		description: ($a.description // $a.message // .valueString),
		service: (if $test then null else subject($l) end),
		host: (if $test then null else host_label($l) end),
		entity: (if $test then null else entity($l) end),
		environment: ($l.environment // $l.env // $l.deployment_environment // $l.stage),
		labels: $l,
		started_at: (.startsAt | when),
		ended_at: (if $status == "resolved" then .endsAt | when else null end),
		link: alert_link($g; $base),
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
	| ($b | legacy_test) as $test
	| if $state == "paused" or $state == "pending" then
		{type: "note", source: "grafana", kind: "rule_\($state)", dedup_key: $key,
		 test: $test, title: "\($title) is \($state)", link: $b.ruleUrl,
		 context: {rule_id: $b.ruleId, dashboard_id: $b.dashboardId, panel_id: $b.panelId}}
	else {
		type: "alert",
		source: "grafana",
		dedup_key: $key,
		status: (if $state == "ok" then "resolved" else "firing" end),
		severity: (($t.severity // $t.priority | severity) // (if $test then "info" else "medium" end)),
		test: $test,
		title: $title,
		description: $b.message,
		service: (if $test then null else subject($t) end),
		host: (if $test then null else legacy_host($b; $t) end),
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
		 test: ([$b.alerts[]? | select(type == "object") | unified_test] | length > 0 and all),
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
