# splunk.jq - Splunk's webhook alert action into aurora alert records.
#
# Body (fixed by Splunk): {sid, search_name (null for ad-hoc searches), app,
# owner, results_link, result}, where result is the first result row, a
# map of field -> string (multivalue fields arrive as arrays).
#
# Identity: app + search_name, plus the service and host found in the
# result row, so a "for each result" alert on many services stays many
# alerts. sid (one search run) is the occurrence, kept in context. Splunk
# never sends a resolve: an alert resolves only when its search puts
# resolved, ok, clear, recovered or closed in a status field.
#
# Which result fields hold the service, severity, host and status comes
# from $config.splunk (aurora-normalize --splunk-*-fields). A result's
# source is the file or input its event was read from (/var/log/auth.log),
# not a service, so it is never read as one by default:
#   {service_fields:["service","service_name","app"],
#    severity_fields:["severity","urgency","log_level"],
#    host_fields:["host"], status_fields:["aurora_status","alert_status","status"]}
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. Try it alone:
#   jq -c --argjson config '{"splunk":{}}' -f splunk.jq raw.jsonl

def obj: if type == "object" then . else {} end;
def fieldlist($default): if type == "array" then map(strings) else $default end;

# the first non-empty value among the result fields named in $names
def pick($row; $names):
	first($names[] as $f | $row[$f] | (if type == "array" then .[0] else . end)
		| select(. != null and . != "")) // null;

# Splunk alert severities (1 debug .. 6 fatal), ES urgencies, log levels, words
def severities:
	{"6": "critical", "5": "critical", "4": "high", "3": "medium", "2": "info", "1": "info",
	 "critical": "critical", "crit": "critical", "fatal": "critical", "severe": "critical",
	 "emergency": "critical", "emerg": "critical", "alert": "critical", "p1": "critical",
	 "high": "high", "error": "high", "err": "high", "major": "high", "p2": "high",
	 "medium": "medium", "warning": "medium", "warn": "medium", "moderate": "medium", "p3": "medium",
	 "low": "low", "minor": "low", "p4": "low",
	 "info": "info", "informational": "info", "information": "info", "notice": "info",
	 "debug": "info", "trace": "info", "p5": "info"};
def severity_of:
	if type == "string" then severities[.] // severities[ascii_downcase]
	elif type == "number" then severities[tostring]
	else null end;

def resolved_words: {"resolved": true, "ok": true, "clear": true, "cleared": true,
	"recovered": true, "closed": true, "normal": true, "success": true};
def is_resolve: type == "string" and (resolved_words[.] // resolved_words[ascii_downcase] // false);

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif $b.sid == null and $b.search_name == null and $b.result == null then
	error("not a Splunk webhook: no sid, search_name or result")
else . end
| ($config | obj | .splunk | obj) as $cfg
| ($b.result | if type == "array" then (.[0] // {}) else . end | obj) as $row
| pick($row; $cfg.service_fields | fieldlist(["service", "service_name", "app"])) as $service
| pick($row; $cfg.host_fields | fieldlist(["host"])) as $host
| ($cfg.status_fields | fieldlist(["aurora_status", "alert_status", "status"])) as $status_fields
| ([$status_fields[] as $f | $row[$f] | select(is_resolve)] | length > 0) as $resolved
| (if $b.search_name == "" then null else $b.search_name end) as $name
| ($b.app // "search") as $app
| $b.sid as $sid
| {
	type: "alert",
	source: "splunk",
	dedup_key: ("\($app)/" + (if $name != null then $name else "adhoc/\($sid // "unknown")" end)
		+ (if $service != null then "|service=\($service)" else "" end)
		+ (if $host != null then "|host=\($host)" else "" end)),
	status: (if $resolved then "resolved" else "firing" end),
	severity: ((pick($row; $cfg.severity_fields | fieldlist(["severity", "urgency", "log_level"]))
		| severity_of) // "medium"),
	title: ($name // "Splunk ad-hoc search \($sid // "")"),
	description: ($row.description // $row.message // $row.summary // $row.reason),
	service: $service,
	host: $host,
	entity: ($row.entity // $row.instance // $row.src // $row.dest // $host),
	environment: ($row.environment // $row.env),
	started_at: ($row._time // $row.time),
	ended_at: (if $resolved then ($row._time // $row.time) else null end),
	link: $b.results_link,
	context: {
		sid: $sid,
		occurrence: $sid,
		search_name: $name,
		app: $b.app,
		owner: $b.owner,
		result: $row
	}
}
