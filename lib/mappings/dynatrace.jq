# dynatrace.jq - Dynatrace problem notifications (custom integration /
# webhook with placeholders) into aurora alert records.
#
# Reads aurora's recommended template (see aurora-normalize(1)):
#   {ProblemID, PID, State, ProblemTitle, ProblemSeverity, ProblemImpact,
#    ProblemURL, ImpactedEntity, ImpactedEntities, Tags, ProblemDetailsJSON}
# and also ProblemDetailsJSONv2, ProblemDetailsText, "Problem URL", and
# placeholders quoted by mistake ("{ImpactedEntities}" as a string).
#
# Identity is PID (stable from OPEN to RESOLVED). State OPEN is firing;
# RESOLVED, CLOSED or MERGED, or status CLOSED in the problem details, is
# resolved. The "Send test notification" button's delivery is a test.
# Davis root-cause details go into context.root_cause.
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. $config: {base_url:{PLATFORM:URL}, splunk:{...}} (unused here).
# Try it alone:  jq -c --argjson config '{}' -f dynatrace.jq raw.jsonl

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
def arr: if type == "array" then . else [] end;
def trim: if startswith(" ") or startswith("\t") or startswith("\n") then .[1:] | trim
	elif endswith(" ") or endswith("\t") or endswith("\n") then .[:-1] | trim else . end;
# a placeholder the template author put in quotes arrives as JSON text
def unquote: if type == "string" and (startswith("{") or startswith("[")) then (try fromjson catch .) else . end;

# "env:prod, team:payments, [Kubernetes]app:shop, tier-1" -> {"env":"prod",...,"tier-1":""}
def tag_object:
	(if type == "string" then split(",")
	 elif type == "array" then map(if type == "object" then "\(.key // "")\(if .value != null then ":" + (.value | tostring) else "" end)" else str // empty end)
	 else [] end)
	| reduce (.[] | trim | (if startswith("[") and contains("]") then split("]")[1:] | join("]") else . end)
		| select(. != "")) as $t ({};
		($t | split(":")) as $p
		| [$p[0], ($p[1:] | join(":"))] as $kv
		| if .[$kv[0]] == null or .[$kv[0]] == "" then .[$kv[0]] = $kv[1]
		  elif $kv[1] == "" then .
		  else .[$kv[0]] += "," + $kv[1] end);

def severity_of:
	{"AVAILABILITY": "critical", "ERROR": "high", "PERFORMANCE": "medium",
	 "RESOURCE_CONTENTION": "medium", "RESOURCE": "medium", "CUSTOM_ALERT": "medium",
	 "MONITORING_UNAVAILABLE": "low", "INFO": "info"}[nz // "" | ascii_upcase];

.body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type))")
else . end
| ($b.ProblemDetailsJSON | unquote | obj) as $d1
| ($b.ProblemDetailsJSONv2 | unquote | obj) as $d2
| ($b.PID // $b.Pid // $b.pid // $d1.id // $d2.problemId | nz) as $pid
| ($b.ProblemID // $b.ProblemId // $d1.displayName // $d2.displayId | nz) as $problem_id
| if $pid == null and $problem_id == null then
	error("not a Dynatrace problem notification: no PID or ProblemID")
else . end
| ($b.State // $b.state | nz // "" | ascii_upcase) as $state
| ($d1.status // $d2.status | nz // "" | ascii_upcase) as $dstatus
| (if $state == "RESOLVED" or $state == "CLOSED" or $state == "MERGED" or $dstatus == "CLOSED"
   then "resolved" else "firing" end) as $status
| ($b.ProblemTitle // $d2.title // $b.Title | nz) as $title
| ([$b.ImpactedEntities | unquote | arr[] | obj | select(length > 0)]
   + [$d2.impactedEntities | arr[] | obj | {type: (.entityId.type? // .type), name: .name, entity: (.entityId.id? // .entity)}]) as $entities
| ([$entities[] | select((.type | nz // "" | ascii_upcase) == "SERVICE") | .name | nz] | .[0]) as $svc_entity
| ([$entities[] | select((.type | nz // "" | ascii_upcase) == "HOST") | .name | nz] | .[0]) as $host_entity
| (if ($b.Tags | nz) != null then $b.Tags
   elif ($d1.tagsOfAffectedEntities | type) == "array" then $d1.tagsOfAffectedEntities
   elif ($d2.entityTags | type) == "array" then $d2.entityTags
   else null end | tag_object) as $tags
| ($b.ImpactedEntity // $b.ImpactedEntityNames // $b.NamesOfImpactedEntities | nz
   | if . != null and (split(" ") | length == 3 and .[1] == "impacted" and .[2] == "entities") then null else . end) as $impacted
| ($pid == "99999" or $problem_id == "999" or $title == "Dynatrace problem notification test run") as $test
| ([$d1.rankedEvents | arr[] | obj | select(.isRootCause == true)]) as $rc_events
| ($d2.rootCauseEntity | obj) as $rc_entity
| {
	type: "alert",
	source: "dynatrace",
	dedup_key: ($pid // $problem_id),
	status: $status,
	severity: (($b.ProblemSeverity // $d1.severityLevel // $d2.severityLevel | severity_of)
		// (if $test then "info" else "medium" end)),
	test: $test,
	title: ($title // "Dynatrace problem \($problem_id // $pid)"),
	description: ($b.ProblemDetailsText // $b.ProblemDetailsMarkdown | nz),
	service: ($svc_entity // $tags.service // $impacted // ($entities[0].name? | nz)),
	host: ($host_entity // $tags.host),
	entity: (($entities[0].entity? | nz) // ($rc_entity.entityId.id? | nz) // ($entities[0].name? | nz) // $impacted),
	environment: ($tags.env // $tags.environment // $tags.Environment | nz),
	tags: $tags,
	labels: {},
	started_at: ($d1.startTime // $d2.startTime),
	ended_at: (if $status == "resolved" then ($d1.endTime // $d2.endTime) else null end),
	link: ($b.ProblemURL // $b["Problem URL"] // $b.ProblemUrl | nz),
	context: {
		problem_id: $problem_id,
		state: (if $state == "" then null else $state end),
		details_status: (if $dstatus == "" then null else $dstatus end),
		merged: (if $state == "MERGED" then true else null end),
		impact: ($b.ProblemImpact // $d1.impactLevel // $d2.impactLevel | nz),
		severity_level: ($b.ProblemSeverity // $d1.severityLevel // $d2.severityLevel | nz),
		impacted_entity: ($b.ImpactedEntity | nz),
		impacted_entities: (if ($entities | length) > 0 then $entities else null end),
		management_zones: ($d2.managementZones | if type == "array" and length > 0 then map(.name? // .) else null end),
		root_cause: (if ($rc_events | length) > 0 or ($rc_entity | length) > 0 or $d1.hasRootCause == true then {
			has_root_cause: ($d1.hasRootCause // (($rc_entity | length) > 0)),
			entity: ($rc_entity.name | nz // ($rc_events[0].entityName? | nz)),
			entity_id: ($rc_entity.entityId.id? // $rc_events[0].entityId? | nz),
			events: (if ($rc_events | length) > 0 then $rc_events else null end)
		} else null end)
	}
}
