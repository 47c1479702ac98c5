# cloudbees.jq - CloudBees CI build notifications into aurora alert records.
# CloudBees CI is a Jenkins distribution and sends through the same plugins,
# so this is the program of jenkins.jq; "source" is "cloudbees" and relative
# URLs are joined to $config.base_url.cloudbees (aurora-normalize
# --cloudbees-url, or the connector's base URL in the database).
#
# Formats: the Notification plugin (one POST per phase: QUEUED, STARTED,
# COMPLETED, FINALIZED; FINISHED in its older versions; no phase at all
# from senders that copy its format), a pipeline step posting
# {service, environment, result, build_number, build_url, git:{commit_sha,
# branch}} (aurora's Jenkinsfile snippet), the Outbound WebHook plugin
# ({buildName, buildUrl, event, projectName}), the Global Build
# Notification plugin ({eventId, eventType, jobName, result, url, ...};
# its first versions sent no eventType), the Statistics Gatherer plugin's
# build events ({jobName, fullJobName, number, result, ciUrl, buildUrl,
# startTime | endTime}; its queue and job events are notes) and the
# Lightstep Incident Response plugin
# ({jobName, buildNum, buildUrl, buildTime, status, severity}).
#
# Only a finished build is an alert: FAILURE, UNSTABLE and ABORTED fire,
# SUCCESS resolves (a recovery), whether or not a phase is named;
# QUEUED, STARTED, NOT_BUILT and a result aurora does not know are notes.
# Identity is the job (its full path), so build 129's SUCCESS resolves
# build 128's FAILURE; the build number is the occurrence, in context with
# the commit, branch, culprits and console URL. Relative URLs are joined to
# $config.base_url[platform] (aurora-normalize --jenkins-url,
# --cloudbees-url, or the connector's base URL in the database).
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. Try it alone:
#   jq -c --argjson config '{"base_url":{"cloudbees":"https://ci.example.test/"}}' -f cloudbees.jq raw.jsonl

def obj: if type == "object" then . else {} end;
def num: if type == "number" then . elif type == "string" then (tonumber? // null) else null end;

# an absolute URL as it is; a relative one joined to $base; null without a base
def join_url($base):
	if type != "string" or . == "" then null
	elif startswith("https://") or startswith("http://") then .
	elif $base == null or $base == "" then null
	else ($base | rtrimstr("/")) + "/" + ltrimstr("/") end;

# an absolute http(s) URL, else null
def absolute_url: if type == "string" and (startswith("https://") or startswith("http://")) then . else null end;

# "job/team/job/shop-api/" -> "team/shop-api"
def job_path:
	if type != "string" then null
	else split("/") | map(select(. != "" and . != "job")) | join("/") | if . == "" then null else . end end;

# words in upper case, the usual spellings without the cost of ascii_upcase
def upper_words: {"QUEUED": "QUEUED", "STARTED": "STARTED", "COMPLETED": "COMPLETED",
	"FINALIZED": "FINALIZED", "NONE": "NONE", "SUCCESS": "SUCCESS", "FAILURE": "FAILURE",
	"UNSTABLE": "UNSTABLE", "ABORTED": "ABORTED", "NOT_BUILT": "NOT_BUILT",
	"queued": "QUEUED", "started": "STARTED", "completed": "COMPLETED", "finalized": "FINALIZED",
	"success": "SUCCESS", "failure": "FAILURE", "unstable": "UNSTABLE", "aborted": "ABORTED",
	"not_built": "NOT_BUILT", "failed": "FAILED", "FAILED": "FAILED", "fixed": "FIXED", "FIXED": "FIXED",
	"FINISHED": "FINISHED", "finished": "FINISHED"};
# null for a missing or empty word
def upper: if type == "string" and . != "" then upper_words[.] // ascii_upcase else null end;

def result_status:
	{"FAILURE": "firing", "UNSTABLE": "firing", "ABORTED": "firing", "SUCCESS": "resolved",
	 "FAILED": "firing", "FIXED": "resolved"}[. // ""];
def result_severity:
	{"FAILURE": "high", "FAILED": "high", "UNSTABLE": "medium", "ABORTED": "low",
	 "SUCCESS": "info", "FIXED": "info"}[. // ""] // "medium";
def result_words:
	{"FAILURE": "failed", "FAILED": "failed", "UNSTABLE": "is unstable", "ABORTED": "was aborted",
	 "SUCCESS": "succeeded", "FIXED": "succeeded"};
def phase_words:
	{"QUEUED": "queued", "STARTED": "started", "COMPLETED": "completed", "FINALIZED": "finalized",
	 "FINISHED": "finished", "NOT_BUILT": "not built", "NONE": "event", "INPROGRESS": "started"};

# the phases after which a build has its result (FINISHED: older versions of
# the Notification plugin; NONE: the notifyEndpoints pipeline step; none at all:
# a sender that copies the format without the phase)
def finished_phase: . == null or . == "COMPLETED" or . == "FINALIZED" or . == "FINISHED" or . == "NONE";

# the service: a SERVICE-like build parameter, else the job's own name
# (the last part of its path, the branch dropped for a multibranch job)
def service_of($params; $job; $branch):
	($params.SERVICE // $params.service // $params.APP // $params.app // $params.SERVICE_NAME)
	// ($job | if type != "string" then null
		else split("/") as $p
		| (if ($p | length) > 1 and $branch != null and $p[-1] == $branch then $p[:-1] else $p end)
		| .[-1] end);

# one build event; every argument already read from the payload
def build_record($src; $job; $number; $phase; $result; $link; $started; $ctx; $params; $branch; $env):
	($result | result_status) as $status
	| ($job // "build") as $name
	| (if $number != null then "\($name) #\($number)" else $name end) as $what
	| if $status == null then
		{type: "note", source: $src,
		 kind: (if $result == "NOT_BUILT" then "build_not_built"
			elif $phase != null then "build_\(phase_words[$phase] // "event" | split(" ") | join("_"))"
			else "build_event" end),
		 dedup_key: $job,
		 title: "Build \($what) \(if $result != null then (phase_words[$result] // ($result | ascii_downcase))
			else phase_words[$phase // "NONE"] // ($phase | ascii_downcase) end)",
		 service: service_of($params; $job; $branch),
		 link: $link, occurred_at: $started, context: $ctx}
	else {
		type: "alert",
		source: $src,
		dedup_key: $job,
		status: $status,
		severity: ($result | result_severity),
		title: "Build \($what) \(result_words[$result])",
		description: ($ctx.log_tail // (if ($ctx.tests_failed // 0) > 0
			then "\($ctx.tests_failed) of \($ctx.tests_total) tests failed" else null end)),
		service: service_of($params; $job; $branch),
		entity: $job,
		environment: ($env // $params.DEPLOY_ENV // $params.ENVIRONMENT // $params.ENV // $params.environment),
		started_at: $started,
		ended_at: (if $status == "resolved" then $started else null end),
		link: $link,
		context: $ctx
	} end;

# the last 2000 characters of a log; an empty log is none
def log_tail: if type != "string" or . == "" then null elif length > 2000 then .[-2000:] else . end;

def console($url): if $url != null then ($url | rtrimstr("/")) + "/console" else null end;

def notification_plugin($b; $src; $base):
	($b.build | obj) as $bd
	| ($bd.scm | obj) as $scm
	| ($bd.parameters | obj) as $params
	| (($b.url | job_path) // $b.fullName // $b.full_name // $b.name) as $job
	| ($bd.number | num) as $number
	| ($bd.phase | upper) as $phase
	| ($bd.status // $bd.result | upper) as $result
	# full_url is absolute when Jenkins knows its root URL; else the build's
	# own url, else the job's url and the number, joined to the base URL
	| (($bd.full_url | absolute_url) // ($bd.url | join_url($base))
	   // (if ($b.url | type) == "string" and $number != null
		then ($b.url | rtrimstr("/")) + "/\($number)/" | join_url($base) else null end)) as $build_url
	| ($scm.branch | if type == "string" then ltrimstr("origin/") | ltrimstr("refs/heads/") else null end) as $branch
	| ($bd.test_summary | obj) as $tests
	| if $job == null or $job == "" then error("not a Jenkins notification: no job name or url") else . end
	| if ($phase | finished_phase) and $result != null then
		build_record($src; $job; $number; $phase; $result; $build_url; $bd.timestamp; {
			job: $job,
			display_name: $b.display_name,
			build_number: $number,
			occurrence: $number,
			phase: $phase,
			result: $result,
			queue_id: $bd.queue_id,
			duration_ms: $bd.duration,
			build_url: ($build_url // $bd.url),
			console_url: console($build_url),
			job_url: ($b.url | join_url($base)),
			commit: $scm.commit,
			branch: $scm.branch,
			scm_url: $scm.url,
			changes: ($scm.changes | if type == "array" and length > 0 then . else null end),
			culprits: ($scm.culprits | if type == "array" and length > 0 then . else null end),
			parameters: (if $params != {} then $params else null end),
			tests_total: $tests.total,
			tests_failed: $tests.failed,
			failed_tests: ($tests.failed_tests | if type == "array" and length > 0 then .[0:50] else null end),
			notes: $bd.notes,
			log_tail: ($bd.log | log_tail)
		}; $params; $branch; null)
	  else
		build_record($src; $job; $number; $phase; null; $build_url; $bd.timestamp;
			{job: $job, build_number: $number, phase: $phase, queue_id: $bd.queue_id,
			 build_url: ($build_url // $bd.url)}; $params; $branch; null)
	  end;

# a pipeline step posting aurora's snippet
def snippet($b; $src; $base):
	($b.git | obj) as $git
	| ($b.result // $b.status | upper) as $result
	| ($b.job_name // $b.job // $b.service) as $job
	| ($b.build_number | num) as $number
	| ($b.build_url | join_url($base)) as $build_url
	| ($git.branch // $b.branch) as $branch
	| build_record($src; $job; $number; null; $result; $build_url; ($b.timestamp // $b.finished_at); {
		job: $job, build_number: $number, occurrence: $number, result: $result,
		build_url: ($build_url // $b.build_url), console_url: console($build_url),
		commit: ($git.commit_sha // $git.commit // $b.commit), branch: $branch,
		log_tail: ($b.log | log_tail)
	  }; {SERVICE: $b.service}; $branch; ($b.environment // $b.env));

# Outbound WebHook plugin: event start|success|failure|unstable
def outbound($b; $src; $base):
	($b.event | upper) as $ev
	| $b.projectName as $job
	| (($b.buildNumber | num) // ($b.buildName | if type == "string" then ltrimstr("#") else . end | num)) as $number
	| ($b.buildUrl | join_url($base)) as $build_url
	| (if $ev == "SUCCESS" or $ev == "FAILURE" or $ev == "UNSTABLE" or $ev == "ABORTED" then $ev
	   else null end) as $result
	| build_record($src; $job; $number; (if $result == null then ({"START": "STARTED"}[$ev] // $ev) else null end);
		$result; $build_url; null; {
		job: $job, build_number: $number, occurrence: $number, event: $b.event,
		build_url: ($build_url // $b.buildUrl), console_url: console($build_url),
		build_vars: $b.buildVars
	  }; ($b.buildVars | obj); null; null);

# the build number at the end of a build URL ("…/job/test/32/" -> 32)
def number_in_url:
	if type != "string" then null
	else split("/") | map(select(. != "")) | (.[-1] // "") | if test("^[0-9]+$") then tonumber else null end end;

# Global Build Notification plugin: eventType started|completed; its first
# versions sent no eventType, only a result once the build completed
def global_notification($b; $src; $base):
	($b.eventType | upper) as $ev
	| $b.jobName as $job
	| ($b.result | upper) as $result
	| ($b.url | join_url($base)) as $build_url
	| (($b.number // $b.buildNumber | num) // ($b.url | number_in_url)) as $number
	| ($ev == "COMPLETED" or ($ev == null and $result != null)) as $done
	| build_record($src; $job; $number; (if $done then null else $ev // "NONE" end);
		(if $done then $result else null end); $build_url; $b.timestamp; {
		job: $job, build_number: $number, occurrence: $number, event_id: $b.eventId,
		result: (if $done then $result else null end), duration_ms: $b.duration,
		build_url: ($build_url // $b.url), console_url: console($build_url),
		causes: $b.causes, annotation: $b.annotation
	  }; ($b.parameters | obj); null; null);

# Statistics Gatherer plugin, build events: result INPROGRESS with startTime
# when a build starts, SUCCESS|FAILURE|ABORTED... with endTime when it is
# finalized; buildUrl is relative to the payload's own ciUrl
def statistics_gatherer($b; $src; $base):
	($b.result | upper) as $result
	| ($b.fullJobName // $b.jobName) as $job
	| ($b.number | num) as $number
	| ($b.ciUrl | absolute_url // $base) as $root
	| ($b.buildUrl | join_url($root)) as $build_url
	| ($b.scmInfo | obj) as $scm
	| ($scm.branch | if type == "string" then ltrimstr("origin/") | ltrimstr("refs/heads/") else null end) as $branch
	| (if $result == "INPROGRESS" then null else $result end) as $done
	| build_record($src; $job; $number; (if $done == null then "INPROGRESS" else null end); $done;
		$build_url; ($b.endTime // $b.startTime); {
		job: $job, build_number: $number, occurrence: $number, result: $done,
		duration_ms: $b.duration, build_url: ($build_url // $b.buildUrl), console_url: console($build_url),
		commit: $scm.commit, branch: $scm.branch, scm_url: $scm.url,
		failure_causes: ($b.buildFailureCauses | if type == "array" and length > 0 then . else null end),
		started_by: $b.startedUsername
	  }; ($b.parameters | obj); $branch; null);

# Statistics Gatherer plugin, queue and job events: notes, nothing failed
def statistics_queue($b; $src):
	($b.status | upper) as $st
	| $b.jobName as $job
	| {type: "note", source: $src, kind: "build_queue", dedup_key: $job,
	   title: "Build \($job) \(if $st == "LEFT" then "left the queue" elif $st == "ENTERED" then "moved on in the queue"
		else "queued" end)",
	   service: service_of({}; $job; null),
	   occurred_at: ($b.exitTime // $b.entryTime),
	   context: {job: $job, queue_id: $b.jenkinsQueueId, queue_status: $b.status, started_by: $b.startedBy,
		ci_url: $b.ciUrl}};
def statistics_job($b; $src):
	($b.status | upper) as $st
	| {type: "note", source: $src, kind: "job_event", dedup_key: $b.name,
	   title: "Job \($b.name) \(if $st == "DELETED" then "deleted" elif $b.createdDate != null then "created"
		elif $st == "DISABLED" then "disabled" else "updated" end)",
	   service: service_of({}; $b.name; null),
	   occurred_at: ($b.createdDate // $b.updatedDate),
	   context: {job: $b.name, job_status: $b.status, user: ($b.userId // $b.userName), ci_url: $b.ciUrl}};

# Java's Date.toString(), "Tue Mar 08 15:14:07 IST 2022", as RFC 3339; the
# zone by the names Java gives the usual zones (IST is India's, as Java
# reads it); null for a zone not in the table
def java_date:
	{"UTC": "+00:00", "GMT": "+00:00", "WET": "+00:00", "BST": "+01:00", "CET": "+01:00", "CEST": "+02:00",
	 "EET": "+02:00", "EEST": "+03:00", "MSK": "+03:00", "IST": "+05:30", "SGT": "+08:00", "CST": "-06:00",
	 "CDT": "-05:00", "EST": "-05:00", "EDT": "-04:00", "MST": "-07:00", "MDT": "-06:00", "PST": "-08:00",
	 "PDT": "-07:00", "JST": "+09:00", "KST": "+09:00", "AEST": "+10:00", "AEDT": "+11:00"} as $zones
	| {"Jan": "01", "Feb": "02", "Mar": "03", "Apr": "04", "May": "05", "Jun": "06", "Jul": "07",
	   "Aug": "08", "Sep": "09", "Oct": "10", "Nov": "11", "Dec": "12"} as $months
	| if type != "string" then null
	else split(" ") | map(select(. != ""))
		| if length == 6 and $months[.[1]] != null and $zones[.[4]] != null
			and (.[2] | test("^[0-9]{1,2}$")) and (.[3] | test("^[0-9]{2}:[0-9]{2}:[0-9]{2}$"))
			and (.[5] | test("^[0-9]{4}$"))
		  then "\(.[5])-\($months[.[1]])-\(if (.[2] | length) == 1 then "0" else "" end)\(.[2])T\(.[3])\($zones[.[4]])"
		  else null end
	end;

# Lightstep Incident Response plugin: status failure|unstable|aborted, or
# resolved when a build succeeds again; the severity is the one its user
# chose for that status
def lightstep($b; $src; $base):
	({"failure": "FAILURE", "unstable": "UNSTABLE", "aborted": "ABORTED", "resolved": "SUCCESS"}[$b.status]) as $result
	| $b.jobName as $job
	| (($b.buildNum | num) // ($b.buildName | if type == "string" then ltrimstr("#") else . end | num)) as $number
	| (($b.source_url // $b.buildUrl) | join_url($base)) as $build_url
	| build_record($src; $job; $number; null; $result; $build_url; ($b.buildTime | java_date); {
		job: $job, build_number: $number, occurrence: $number, result: $result, build_id: $b.buildId,
		duration: $b.buildDuration, build_url: ($build_url // $b.buildUrl), console_url: console($build_url)
	  }; {}; null; null)
	| if .type == "alert" then
		.severity = ({"critical": "critical", "high": "high", "moderate": "medium", "low": "low",
			"informational": "info", "clear": "info"}[$b.severity] // .severity)
	  else . end;

(.platform // "jenkins") as $src
| ($config | obj | .base_url | obj | .[$src | tostring]) as $base
| .body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type)); only the JSON format of the Notification plugin is read")
elif ($b.build | type) == "object" then
	notification_plugin($b; $src; $base)
elif $b.build != null then
	error("\"build\" is a \($b.build | type), not an object")
elif $b.projectName != null and $b.event != null then
	outbound($b; $src; $base)
elif ($b.jobName != null or $b.fullJobName != null) and $b.ciUrl != null and $b.result != null then
	statistics_gatherer($b; $src; $base)
elif $b.jobName != null and $b.jenkinsQueueId != null then
	statistics_queue($b; $src)
elif $b.name != null and $b.ciUrl != null and ($b.createdDate != null or $b.updatedDate != null) then
	statistics_job($b; $src)
elif $b.jobName != null and ($b.eventType != null or $b.eventId != null) then
	global_notification($b; $src; $base)
elif $b.jobName != null and ($b.buildNum != null or $b.buildName != null) and $b.status != null then
	lightstep($b; $src; $base)
elif ($b.result // $b.status) != null and ($b.build_number != null or $b.build_url != null) then
	snippet($b; $src; $base)
else
	error("not a Jenkins build notification: no \"build\" object")
end
