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
# from $config.splunk (aurora-normalize --splunk-*-fields):
#   {service_fields:["service","app","source"],
#    severity_fields:["severity","urgency","log_level"],
#    host_fields:["host"], status_fields:["aurora_status","alert_status","status"]}
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. Try it alone:
#   jq -c --argjson config '{"splunk":{}}' -f splunk.jq raw.jsonl

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
def fieldlist($default): if type == "array" then map(str // empty) else $default end;

# the first non-empty value among the result fields named in $names
def pick($row; $names):
	[$names[] as $f | $row[$f] | (if type == "array" then .[0] else . end) | nz] | .[0];

# Splunk alert severities (1 debug .. 6 fatal), ES urgencies, log levels, words
def severity_of:
	{"6": "critical", "5": "critical", "4": "high", "3": "medium", "2": "info", "1": "info",
	 "critical": "critical", "crit": "critical", "fatal": "critical", "severe": "critical",
	 "emergency": "critical", "emerg": "critical", "alert": "critical", "p1": "critical",
	 "high": "high", "error": "high", "err": "high", "major": "high", "p2": "high",
	 "medium": "medium", "warning": "medium", "warn": "medium", "moderate": "medium", "p3": "medium",
	 "low": "low", "minor": "low", "p4": "low",
	 "info": "info", "informational": "info", "information": "info", "notice": "info",
	 "debug": "info", "trace": "info", "p5": "info"}[nz // "" | ascii_downcase];

def resolved_words: {"resolved": true, "ok": true, "clear": true, "cleared": true,
	"recovered": true, "closed": true, "normal": true, "success": true};

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
elif $b.sid == null and $b.search_name == null and $b.result == null then
	error("not a Splunk webhook: no sid, search_name or result")
else . end
| ($config.splunk? | obj) as $cfg
| ($b.result | if type == "array" then (.[0] // {}) else . end | obj) as $row
| ($cfg.service_fields | fieldlist(["service", "app", "source"])) as $service_fields
| ($cfg.severity_fields | fieldlist(["severity", "urgency", "log_level"])) as $severity_fields
| ($cfg.host_fields | fieldlist(["host"])) as $host_fields
| ($cfg.status_fields | fieldlist(["aurora_status", "alert_status", "status"])) as $status_fields
| ($b.search_name | nz) as $name
| ($b.app | nz // "search") as $app
| ($b.sid | nz) as $sid
| pick($row; $service_fields) as $service
| pick($row; $host_fields) as $host
| ([$status_fields[] as $f | $row[$f] | nz // empty | ascii_downcase | select(resolved_words[.])] | length > 0) as $resolved
| {
	type: "alert",
	source: "splunk",
	dedup_key: ("\($app)/" + (if $name != null then $name else "adhoc/\($sid // "unknown")" end)
		+ (if $service != null then "|service=" + $service else "" end)
		+ (if $host != null then "|host=" + $host else "" end)),
	status: (if $resolved then "resolved" else "firing" end),
	severity: ((pick($row; $severity_fields) | severity_of) // "medium"),
	title: ($name // "Splunk ad-hoc search \($sid // "")"),
	description: ($row.description // $row.message // $row.summary // $row.reason | nz),
	service: $service,
	host: $host,
	entity: ($row.entity // $row.instance // $row.src // $row.dest | nz // $host),
	environment: ($row.environment // $row.env | nz),
	tags: {},
	labels: {},
	started_at: ($row._time // $row.time),
	ended_at: (if $resolved then ($row._time // $row.time) else null end),
	link: ($b.results_link | nz),
	context: {
		sid: $sid,
		occurrence: $sid,
		search_name: $name,
		app: ($b.app | nz),
		owner: ($b.owner | nz),
		result: $row
	}
}
