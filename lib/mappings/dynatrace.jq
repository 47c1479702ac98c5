# dynatrace.jq - Dynatrace problem notifications (custom integration /
# webhook with placeholders) into aurora alert records.
#
# Reads aurora's recommended template (see aurora-normalize(1)):
#   {ProblemID, PID, State, ProblemTitle, ProblemSeverity, ProblemImpact,
#    ProblemURL, ImpactedEntity, ImpactedEntities, Tags, ProblemDetailsJSON}
# and also ProblemDetailsJSONv2, ProblemDetailsText, "Problem URL", and
# placeholders quoted by mistake ("{ImpactedEntities}" arriving as text).
# Common templates name the details differently: {ProblemDetailsJSON} under
# "ProblemDetails", "problemDetailsJSON" or "Problem Details JSON" (an
# object), {ProblemDetailsText|HTML|Markdown} under "ProblemDetails" (a
# string, kept as the description). The details' startTime / endTime
# (epoch ms) are the alert's times.
#
# Identity is PID (stable from OPEN to RESOLVED). State OPEN is firing;
# RESOLVED, CLOSED or MERGED, or status CLOSED in the problem details, is
# resolved. The service is the impacted SERVICE entity, else the service:
# tag, else the impacted entity. The "Send test notification" button's
# delivery (ProblemID 999, title "Dynatrace problem notification test run")
# is a test. Davis root-cause details go into context.root_cause.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}; $config is unused here. aurora-normalize completes the records
# (v, fingerprint, inbox_id, received_at, RFC 3339 timestamps).
# Try it alone:  jq -c --argjson config '{}' -f dynatrace.jq raw.jsonl

def obj: if type == "object" then . else {} end;
def arr: if type == "array" then . else [] end;
# a placeholder the template author put in quotes arrives as JSON text
# (text with NUL characters is left alone: libjq 1.6's parser leaks on it)
def unquote:
	if type == "string" and (startswith("{") or startswith("[")) and (split("\u0000") | length) == 1
	then (try fromjson catch .) else . end;

# "env:prod, team:payments, [Kubernetes]app:shop, tier-1" -> {"env":"prod",...,"tier-1":""};
# a key given twice keeps both values, comma-separated
def tag_object:
	(if type == "string" then split(",")
	 elif type == "array" then map(if type == "object" then
		"\(.key // "")\(if .value != null then ":\(.value)" else "" end)" else . end)
	 else [] end)
	| reduce (.[] | strings | ltrimstr(" ") | rtrimstr(" ")
		| (if startswith("[") and contains("]") then split("]")[1:] | join("]") else . end)
		| split(":")) as $p ({};
		(if ($p | length) == 2 then $p[1] elif ($p | length) == 1 then "" else $p[1:] | join(":") end) as $v
		| .[$p[0]] as $old
		| if $old == null or $old == "" then setpath([$p[0]]; $v)
		  elif $v == "" then .
		  else setpath([$p[0]]; $old + "," + $v) end)
	| del(.[""]);

def severities: {"AVAILABILITY": "critical", "ERROR": "high", "PERFORMANCE": "medium",
	"RESOURCE_CONTENTION": "medium", "RESOURCE": "medium", "CUSTOM_ALERT": "medium",
	"MONITORING_UNAVAILABLE": "low", "INFO": "info"};
def states: {"OPEN": "OPEN", "RESOLVED": "RESOLVED", "CLOSED": "CLOSED", "MERGED": "MERGED",
	"open": "OPEN", "resolved": "RESOLVED", "closed": "CLOSED", "merged": "MERGED"};
def upper($table): if type == "string" then $table[.] // ascii_upcase else "" end;

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
else . end
# the first of the names templates give the v1 details that holds an object
# ([...][0], not first(): libjq 1.6's try inside unquote catches first's break)
| ([($b.ProblemDetailsJSON, $b.problemDetailsJSON, $b.ProblemDetails, $b["Problem Details JSON"],
	$b.problemDetails) | unquote | objects][0] // {}) as $d1
# an empty placeholder ("ProblemTitle": "") says nothing
| (first(($b.ProblemDetailsText, $b.ProblemDetailsMarkdown, $b.ProblemDetailsHTML, $b.ProblemDetails,
	$b["Problem Details Text"], $b["Problem Details HTML"]) | strings | select(. != "")) // null) as $details_text
| ([($b.ProblemDetailsJSONv2, $b.problemDetailsJSONv2) | unquote | objects][0] // {}) as $d2
| ($b.PID // $b.Pid // $b.pid // $d1.id // $d2.problemId) as $pid
| ($b.ProblemID // $b.ProblemId // $d1.displayName // $d2.displayId) as $problem_id
| if ($pid == null or $pid == "") and ($problem_id == null or $problem_id == "") then
	error("not a Dynatrace problem notification: no PID or ProblemID")
else . end
| ($b.State // $b.state | upper(states)) as $state
| ($d1.status // $d2.status | upper(states)) as $dstatus
| (if $state == "RESOLVED" or $state == "CLOSED" or $state == "MERGED" or $dstatus == "CLOSED"
   then "resolved" else "firing" end) as $status
| (first(($b.ProblemTitle, $d2.title, $b.Title, $b.title) | strings | select(. != "")) // null) as $title
| ([$b.ImpactedEntities | unquote | arr[] | objects | select(length > 0)]
   + [$d2.impactedEntities | arr[] | objects
      | {type: (.entityId | obj | .type // null), name: .name, entity: (.entityId | obj | .id // null)}]) as $entities
| (first($entities[] | select(.type == "SERVICE") | .name) // null) as $svc_entity
| (first($entities[] | select(.type == "HOST") | .name) // null) as $host_entity
| (if $b.Tags != null and $b.Tags != "" then $b.Tags
   elif ($d1.tagsOfAffectedEntities | type) == "array" then $d1.tagsOfAffectedEntities
   else $d2.entityTags end | tag_object) as $tags
| ($b.ImpactedEntity // $b.ImpactedEntityNames // $b.NamesOfImpactedEntities
   | if type == "string" and contains(" impacted entities") then null else . end) as $impacted
| ("\($pid)" == "99999" or "\($problem_id)" == "999"
   or $title == "Dynatrace problem notification test run") as $test
| [$d1.rankedEvents | arr[] | objects | select(.isRootCause == true)] as $rc_events
| ($d2.rootCauseEntity | obj) as $rc_entity
| ($b.ProblemSeverity // $d1.severityLevel // $d2.severityLevel) as $sev
| {
	type: "alert",
	source: "dynatrace",
	dedup_key: (if $pid == null or $pid == "" then $problem_id else $pid end),
	status: $status,
	severity: (($sev | if type == "string" then severities[.] // severities[ascii_upcase] else null end)
		// (if $test then "info" else "medium" end)),
	test: $test,
	title: ($title // "Dynatrace problem \($problem_id // $pid)"),
	description: $details_text,
	service: ($svc_entity // $tags.service // $impacted // $entities[0].name),
	host: ($host_entity // $tags.host),
	entity: ($entities[0].entity // ($rc_entity.entityId | obj | .id) // $entities[0].name // $impacted),
	environment: ($tags.env // $tags.environment // $tags.Environment),
	tags: $tags,
	started_at: ($d1.startTime // $d2.startTime),
	ended_at: (if $status == "resolved" then $d1.endTime // $d2.endTime else null end),
	link: ($b.ProblemURL // $b["Problem URL"] // $b.ProblemUrl),
	context: {
		problem_id: $problem_id,
		state: $state,
		details_status: $dstatus,
		merged: (if $state == "MERGED" then true else null end),
		impact: ($b.ProblemImpact // $d1.impactLevel // $d2.impactLevel),
		severity_level: $sev,
		impacted_entity: $b.ImpactedEntity,
		impacted_entities: (if $entities != [] then $entities else null end),
		management_zones: ($d2.managementZones | if type == "array" and length > 0 then map(.name? // .) else null end),
		root_cause: (if $rc_events != [] or $rc_entity != {} or $d1.hasRootCause == true then {
			has_root_cause: (if $d1.hasRootCause != null then $d1.hasRootCause else $rc_entity != {} end),
			entity: ($rc_entity.name // $rc_events[0].entityName),
			entity_id: (($rc_entity.entityId | obj | .id) // $rc_events[0].entityId),
			events: (if $rc_events != [] then $rc_events else null end)
		} else null end)
	}
}
