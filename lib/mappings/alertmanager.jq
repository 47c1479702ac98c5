# alertmanager.jq - Prometheus Alertmanager webhook_config ("version":"4")
# into aurora alert records.
#
# One record per alert of the group, each with that alert's own status
# (the group says "firing" while any alert fires). Identity is the alert
# fingerprint; labels are kept whole; severity comes from the severity
# label. The service is the alert's subject, read from the labels as
# aurora's correlation reads them (lib/subject.c): the first of service,
# service_name, app.kubernetes.io/name, app, k8s-app, source_workload,
# deployment, statefulset, daemonset, pod (as its workload), container,
# namespace, target and job whose value is not the exporter's own
# (kube-state-metrics, kubelet, node-exporter, blackbox, ...), so an
# exporter's alert names what it is about; a probe's (blackbox) subject is
# the host of the URL it probes; an alert about a host only has no
# service. startsAt and endsAt are the times ("0001-01-01T00:00:00Z" is
# none). An absolute generatorURL is the link; a relative one is joined to
# the Prometheus URL when one is known ($config.base_url.alertmanager:
# aurora-normalize --prometheus-url, or the alertmanager connector's base
# URL), else the link is the alert in Alertmanager's UI (externalURL).
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config: {base_url:{PLATFORM:URL}, splunk:{...}}.
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
# (contains/1, not test/1: jq 1.6 compiles a regular expression at every
# call. Its contains/1 stops at a NUL byte, which test/1 sees past: a
# string with one is left to test/1.)
def has_nul: tojson | contains("\\u0000");
def exporter:
	type == "string" and (ascii_downcase
	| if has_nul then test("kube-state-metrics|kubelet|node-exporter|blackbox|cadvisor|exporter|prometheus|alertmanager|pushgateway|kube-proxy|otel-collector")
	  else contains("kube-state-metrics") or contains("kubelet") or contains("node-exporter") or contains("blackbox")
		or contains("cadvisor") or contains("exporter") or contains("prometheus") or contains("alertmanager")
		or contains("pushgateway") or contains("kube-proxy") or contains("otel-collector") end);

# exporters that report about the whole cluster: their instance is the
# exporter's own address, not a host the alert is about
def cluster_exporter:
	type == "string" and (ascii_downcase
	| if has_nul then test("kube-state-metrics|pushgateway|otel-collector")
	  else contains("kube-state-metrics") or contains("pushgateway") or contains("otel-collector") end);

# test("^[0-9.]+$"), the regular expression only for a string without letters
def digits_dots: if ascii_downcase != ascii_upcase then false else test("^[0-9.]+$") end;

# test("^https?://")
def absolute_url: startswith("http://") or startswith("https://");

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
		 | select(. != null and . != "" and (digits_dots | not))),
		(if (($l.job | text // "") | test("blackbox|probe")) or (($l.instance | text // "") | contains("://"))
		 then $l.instance | url_host | select(. != null and (digits_dots | not)) else empty end),
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

# the alert in Alertmanager's own UI: externalURL's alert list filtered on
# the alert's labels
def am_link($ext; $l):
	if ($ext | type) == "string" and ($ext | test("^https?://[^/:]")) and ($l | length) > 0 then
		($ext | rtrimstr("/")) + "/#/alerts?filter="
		+ ("{" + ([$l | to_entries[] | select(.value | type == "string")
			| "\(.key)=\"\(.value | gsub("\""; "\\\""))\""] | join(",")) + "}" | @uri)
	else null end;

# "http://prometheus:9090/prom/" -> "http://prometheus:9090"
def origin: if type == "string" then capture("^(?<o>https?://[^/]+)").o // null else null end;

# the link: an absolute generatorURL; a relative one resolved against the
# Prometheus URL when known, as a browser would ("/graph?..." keeps the
# URL's scheme and host, "graph?..." goes below its path); else the alert
# in Alertmanager
def alert_link($gen; $prom; $ext; $l):
	($gen | text) as $g
	| ($prom | if type == "string" and absolute_url then . else null end) as $p
	| if $g != null and ($g | absolute_url) then $g
	elif $g != null and $p != null and ($g | startswith("/")) then $g | join_url($p | origin)
	elif $g != null and $p != null then $g | join_url($p)
	else am_link($ext; $l) end;

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
		service: subject($l),
		host: host_label($l),
		entity: entity($l),
		environment: ($l.environment // $l.env // $l.deployment_environment // $l.stage),
		labels: $l,
		started_at: (.startsAt | when),
		ended_at: (if $status == "resolved" then .endsAt | when else null end),
		link: alert_link(.generatorURL; $config.base_url.alertmanager?; $base; $l),
		context: {
			alertname: $l.alertname,
			annotations: $a,
			group_key: $g.groupKey,
			group_labels: $g.groupLabels,
			receiver: $g.receiver,
			external_url: $base,
			generator_url: .generatorURL,
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
