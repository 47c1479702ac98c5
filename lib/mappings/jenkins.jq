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

def str: if type == "string" then . elif type == "number" or type == "boolean" then tostring else null end;
def nz: str | if . == "" then null else . end;
def obj: if type == "object" then . else {} end;
def arr: if type == "array" then . else [] end;

def join_url($base):
	nz | if . == null then null
	elif startswith("http://") or startswith("https://") then .
	elif ($base | nz) == null then null
	else ($base | rtrimstr("/")) + "/" + ltrimstr("/") end;

# "job/team/job/shop-api/" -> "team/shop-api"
def job_path:
	nz | if . == null then null
	else split("/") | map(select(. != "" and . != "job")) | join("/") | if . == "" then null else . end end;

def result_status:
	{"FAILURE": "firing", "UNSTABLE": "firing", "ABORTED": "firing", "SUCCESS": "resolved",
	 "FAILED": "firing", "FIXED": "resolved", "BACK TO NORMAL": "resolved"}[. // ""];
def result_severity:
	{"FAILURE": "high", "FAILED": "high", "UNSTABLE": "medium", "ABORTED": "low",
	 "SUCCESS": "info", "FIXED": "info", "BACK TO NORMAL": "info"}[. // ""] // "medium";

def service_of($params; $job; $branch):
	($params.SERVICE // $params.service // $params.APP // $params.app // $params.SERVICE_NAME | nz)
	// ($job | if . == null then null
		else split("/") as $p
		| (if ($p | length) > 1 and ($branch != null) and ($p[-1] == $branch) then $p[:-1] else $p end)
		| .[-1] end);

# one finished or unfinished build; every argument already normalized
def build_record($src; $job; $number; $phase; $result; $link; $started; $ctx; $params; $branch; $env):
	($result | result_status) as $status
	| ($job // "build") as $name
	| (if $number != null then "\($name) #\($number)" else $name end) as $what
	| if $status == null then
		{type: "note", source: $src,
		 kind: (if $result == "NOT_BUILT" then "build_not_built"
			elif $phase != null then "build_\($phase | ascii_downcase)"
			else "build_event" end),
		 dedup_key: $job,
		 title: "Build \($what) \(if $result != null then $result
			elif $phase != null then $phase else "event" end | ascii_downcase)",
		 service: service_of($params; $job; $branch),
		 link: $link, occurred_at: $started, context: $ctx}
	else {
		type: "alert",
		source: $src,
		dedup_key: $job,
		status: $status,
		severity: ($result | result_severity),
		title: "Build \($what) \({"FAILURE": "failed", "FAILED": "failed", "UNSTABLE": "is unstable",
			"ABORTED": "was aborted"}[$result] // (if $status == "resolved" then "succeeded"
			else $result | ascii_downcase end))",
		description: ($ctx.log_tail // (if $ctx.tests_failed != null and $ctx.tests_failed > 0
			then "\($ctx.tests_failed) of \($ctx.tests_total) tests failed" else null end)),
		service: service_of($params; $job; $branch),
		host: null,
		entity: $job,
		environment: ($env // $params.DEPLOY_ENV // $params.ENVIRONMENT // $params.ENV // $params.environment | nz),
		tags: {},
		labels: {},
		started_at: $started,
		ended_at: (if $status == "resolved" then $started else null end),
		link: $link,
		context: $ctx
	} end;

# the last lines of a log, bounded
def log_tail: nz | if . == null then null else (if length > 2000 then .[-2000:] else . end) end;

def notification_plugin($b; $src; $base):
	($b.build | obj) as $bd
	| ($bd.scm | obj) as $scm
	| ($bd.parameters | obj) as $params
	| (($b.url | job_path) // ($b.fullName // $b.full_name | nz) // ($b.name | nz)) as $job
	| ($bd.number | if type == "number" then . else (str | tonumber? // null) end) as $number
	| ($bd.phase | nz // "" | ascii_upcase) as $phase
	| ($bd.status | nz | if . == null then null else ascii_upcase end) as $result
	| (($bd.full_url | join_url($base)) // ($bd.url | join_url($base))) as $build_url
	| ($scm.branch | nz) as $branch_raw
	| ($branch_raw | if . == null then null else ltrimstr("origin/") | ltrimstr("refs/heads/") end) as $branch
	| ($bd.test_summary | obj) as $tests
	| if $job == null then error("not a Jenkins notification: no job name or url") else . end
	| if ($phase == "COMPLETED" or $phase == "FINALIZED" or $phase == "NONE") | not then
		build_record($src; $job; $number; (if $phase == "" then null else $phase end); null;
			$build_url; $bd.timestamp;
			{job: $job, build_number: $number, phase: $phase, queue_id: $bd.queue_id,
			 build_url: ($bd.url | nz)}; $params; $branch; null)
	  else
		build_record($src; $job; $number; $phase; $result; $build_url; $bd.timestamp; {
			job: $job,
			display_name: ($b.display_name | nz),
			build_number: $number,
			occurrence: $number,
			phase: $phase,
			result: $result,
			queue_id: $bd.queue_id,
			duration_ms: ($bd.duration | if type == "number" then . else null end),
			build_url: $build_url,
			console_url: (if $build_url != null then ($build_url | rtrimstr("/")) + "/console" else null end),
			job_url: ($b.url | join_url($base)),
			commit: ($scm.commit | nz),
			branch: $branch_raw,
			scm_url: ($scm.url | nz),
			changes: ($scm.changes | if type == "array" and length > 0 then . else null end),
			culprits: ($scm.culprits | if type == "array" and length > 0 then . else null end),
			parameters: (if ($params | length) > 0 then $params else null end),
			tests_total: ($tests.total | if type == "number" then . else null end),
			tests_failed: ($tests.failed | if type == "number" then . else null end),
			failed_tests: ($tests.failed_tests | if type == "array" and length > 0 then .[0:50] else null end),
			notes: ($bd.notes | nz),
			log_tail: ($bd.log | log_tail)
		}; $params; $branch; null)
	  end;

# a pipeline step posting aurora's snippet
def snippet($b; $src; $base):
	($b.git | obj) as $git
	| ($b.result // $b.status | nz | if . == null then null else ascii_upcase end) as $result
	| ($b.job_name // $b.job // $b.service | nz) as $job
	| ($b.build_number | if type == "number" then . else (str | tonumber? // null) end) as $number
	| ($b.build_url | join_url($base)) as $build_url
	| build_record($src; $job; $number; null; $result; $build_url; ($b.timestamp // $b.finished_at); {
		job: $job, build_number: $number, occurrence: $number, result: $result,
		build_url: $build_url,
		console_url: (if $build_url != null then ($build_url | rtrimstr("/")) + "/console" else null end),
		commit: ($git.commit_sha // $git.commit // $b.commit | nz),
		branch: ($git.branch // $b.branch | nz),
		log_tail: ($b.log | log_tail)
	  }; {SERVICE: ($b.service | nz)}; ($git.branch // $b.branch | nz); ($b.environment // $b.env | nz));

# Outbound WebHook plugin: event start|success|failure|unstable
def outbound($b; $src; $base):
	($b.event | nz // "" | ascii_downcase) as $ev
	| ($b.projectName | nz) as $job
	| ($b.buildName | nz // "" | ltrimstr("#") | tonumber? // null) as $number
	| ($b.buildUrl | join_url($base)) as $build_url
	| ({"success": "SUCCESS", "failure": "FAILURE", "unstable": "UNSTABLE", "aborted": "ABORTED"}[$ev]) as $result
	| build_record($src; $job; $number; (if $result == null then ($ev | ascii_upcase) else null end);
		$result; $build_url; null; {
		job: $job, build_number: $number, occurrence: $number, event: $ev, build_url: $build_url,
		console_url: (if $build_url != null then ($build_url | rtrimstr("/")) + "/console" else null end),
		build_vars: ($b.buildVars | if type == "object" then . else null end)
	  }; ($b.buildVars | obj); null; null);

# Global Build Notification plugin: eventType started|completed
def global_notification($b; $src; $base):
	($b.eventType | nz // "" | ascii_downcase) as $ev
	| ($b.jobName | nz) as $job
	| ($b.result | nz | if . == null then null else ascii_upcase end) as $result
	| ($b.url | join_url($base)) as $build_url
	| ($b.number // $b.buildNumber | if type == "number" then . else (str | tonumber? // null) end) as $number
	| build_record($src; $job; $number; (if $ev == "completed" then null else ($ev | ascii_upcase) end);
		(if $ev == "completed" then $result else null end); $build_url; $b.timestamp; {
		job: $job, build_number: $number, occurrence: $number, event_id: ($b.eventId | nz),
		result: $result, duration_ms: $b.duration, build_url: $build_url,
		console_url: (if $build_url != null then ($build_url | rtrimstr("/")) + "/console" else null end),
		causes: $b.causes, annotation: $b.annotation
	  }; ($b.parameters | obj); null; null);

(.platform | nz // "jenkins") as $src
| ($config.base_url? | obj | .[$src] | nz) as $base
| .body as $b
| if ($b | type) != "object" then
	error("body is not a JSON object (\($b | type)); only the JSON format of the Notification plugin is read")
elif ($b.build | type) == "object" then
	notification_plugin($b; $src; $base)
elif $b.build != null then
	error("\"build\" is a \($b.build | type), not an object")
elif ($b.projectName | nz) != null and ($b.event | nz) != null then
	outbound($b; $src; $base)
elif ($b.jobName | nz) != null and ($b.eventType | nz) != null then
	global_notification($b; $src; $base)
elif ($b.result // $b.status | nz) != null and ($b.build_number != null or $b.build_url != null) then
	snippet($b; $src; $base)
else
	error("not a Jenkins build notification: no \"build\" object")
end
