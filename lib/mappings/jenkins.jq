# jenkins.jq - Jenkins build notifications into aurora alert records.
# cloudbees.jq is the same program: CloudBees CI sends through the same
# plugins. "source" is the raw record's platform (jenkins or cloudbees).
#
# Formats: the Notification plugin (one POST per phase: QUEUED, STARTED,
# COMPLETED, FINALIZED), a pipeline step posting
# {service, environment, result, build_number, build_url, git:{commit_sha,
# branch}} (aurora's Jenkinsfile snippet), the Outbound WebHook plugin
# ({buildName, buildUrl, event, projectName}) and the Global Build
# Notification plugin ({eventType, jobName, result, url, ...}).
#
# Only a finished build is an alert: FAILURE, UNSTABLE and ABORTED fire,
# SUCCESS resolves (a recovery); QUEUED, STARTED and NOT_BUILT are notes.
# Identity is the job (its full path), so build 129's SUCCESS resolves
# build 128's FAILURE; the build number is the occurrence, in context with
# the commit, branch, culprits and console URL. Relative URLs are joined to
# $config.base_url[platform] (aurora-normalize --jenkins-url,
# --cloudbees-url, or the connector's base URL in the database).
#
# Input: one raw record {v, type:"raw", id, platform, received_at, headers,
# body}. Try it alone:
#   jq -c --argjson config '{"base_url":{"jenkins":"https://ci.example.test/"}}' -f jenkins.jq raw.jsonl

def obj: if type == "object" then . else {} end;
def num: if type == "number" then . elif type == "string" then (tonumber? // null) else null end;

# an absolute URL as it is; a relative one joined to $base; null without a base
def join_url($base):
	if type != "string" or . == "" then null
	elif startswith("https://") or startswith("http://") then .
	elif $base == null or $base == "" then null
	else ($base | rtrimstr("/")) + "/" + ltrimstr("/") end;

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
	"not_built": "NOT_BUILT", "failed": "FAILED", "FAILED": "FAILED", "fixed": "FIXED", "FIXED": "FIXED"};
def upper: if type == "string" then upper_words[.] // ascii_upcase else null end;

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
	 "NOT_BUILT": "not built", "NONE": "event"};

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
		 title: "Build \($what) \(if $result != null then (phase_words[$result] // $result)
			else phase_words[$phase // "NONE"] // $phase end)",
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
	| ($bd.status | upper) as $result
	| (($bd.full_url | join_url($base)) // ($bd.url | join_url($base))) as $build_url
	| ($scm.branch | if type == "string" then ltrimstr("origin/") | ltrimstr("refs/heads/") else null end) as $branch
	| ($bd.test_summary | obj) as $tests
	| if $job == null or $job == "" then error("not a Jenkins notification: no job name or url") else . end
	| if $phase == "COMPLETED" or $phase == "FINALIZED" or ($phase == "NONE" and $result != null) then
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
	| ($b.buildName | if type == "string" then ltrimstr("#") else . end | num) as $number
	| ($b.buildUrl | join_url($base)) as $build_url
	| (if $ev == "SUCCESS" or $ev == "FAILURE" or $ev == "UNSTABLE" or $ev == "ABORTED" then $ev
	   else null end) as $result
	| build_record($src; $job; $number; (if $result == null then ({"START": "STARTED"}[$ev] // $ev) else null end);
		$result; $build_url; null; {
		job: $job, build_number: $number, occurrence: $number, event: $b.event,
		build_url: ($build_url // $b.buildUrl), console_url: console($build_url),
		build_vars: $b.buildVars
	  }; ($b.buildVars | obj); null; null);

# Global Build Notification plugin: eventType started|completed
def global_notification($b; $src; $base):
	($b.eventType | upper) as $ev
	| $b.jobName as $job
	| ($b.result | upper) as $result
	| ($b.url | join_url($base)) as $build_url
	| ($b.number // $b.buildNumber | num) as $number
	| build_record($src; $job; $number; (if $ev == "COMPLETED" then null else $ev end);
		(if $ev == "COMPLETED" then $result else null end); $build_url; $b.timestamp; {
		job: $job, build_number: $number, occurrence: $number, event_id: $b.eventId,
		result: $result, duration_ms: $b.duration, build_url: ($build_url // $b.url),
		console_url: console($build_url), causes: $b.causes, annotation: $b.annotation
	  }; ($b.parameters | obj); null; null);

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
elif $b.jobName != null and $b.eventType != null then
	global_notification($b; $src; $base)
elif ($b.result // $b.status) != null and ($b.build_number != null or $b.build_url != null) then
	snippet($b; $src; $base)
else
	error("not a Jenkins build notification: no \"build\" object")
end
