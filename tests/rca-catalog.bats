#!/usr/bin/env bats
# aurora-rca --catalog: the built-in investigator reads the service catalog
# (a Backstage catalog-info.yaml and an aliases file written here): an
# alert's service is its component, a catalog dependency that alarms is a
# dependency hypothesis with the catalog as evidence, one that does not is
# never blamed, a deploy of a dependency is an upstream deploy, and the LLM
# investigator sees the component's dependencies. Without --catalog the
# same input gives the answer it gave before.

load helpers/common
load helpers/correlate
load helpers/llm

setup() {
	aurora_fresh_db
	IN="$BATS_TEST_TMPDIR/alerts.jsonl"
	DEC="$BATS_TEST_TMPDIR/decisions.jsonl"
	CAT="$BATS_TEST_TMPDIR/catalog"
	: >"$IN"
	STANDIN_PID=
	mkdir -p "$CAT"
	cat >"$CAT/catalog-info.yaml" <<-'EOF'
		apiVersion: backstage.io/v1alpha1
		kind: Component
		metadata:
		  name: checkout-service
		  title: Checkout Service
		  annotations:
		    pagerduty.com/service-id: PCHK001
		    datadoghq.com/service-name: checkout-web
		spec:
		  type: service
		  owner: group:default/team-shop
		  dependsOn:
		    - resource:default/payments-db
		    - component:default/cart
		---
		apiVersion: backstage.io/v1alpha1
		kind: Resource
		metadata:
		  name: payments-db
		  title: Payments Database
		spec:
		  type: database
	EOF
	cat >"$CAT/shop.aliases" <<-'EOF'
		# more names for the same services
		payments-db: pg-ledger, ledger store
		cart: basket
	EOF
}

teardown() {
	standin_stop
}

# build JOB NUMBER TIME COMMIT: a successful Jenkins build record, as aurora-normalize writes it
build() {
	jq -cn --arg job "$1" --argjson n "$2" --arg at "$3" --arg commit "$4" --argjson inbox "${INBOX_ID:-0}" '
		{v: 1, type: "alert", source: "jenkins", dedup_key: $job, fingerprint: ($job + ":" + ($n | tostring)),
		 status: "resolved", severity: "info", title: "Build \($job) #\($n) succeeded",
		 description: null, service: $job, host: null, tags: {}, labels: {}, started_at: $at, ended_at: $at,
		 link: "https://jenkins.example.test/job/\($job)/\($n)/",
		 context: {job: $job, build_number: $n, result: "SUCCESS", commit: $commit, branch: "origin/main",
			   console_url: "https://jenkins.example.test/job/\($job)/\($n)/console",
			   log_tail: "Finished: SUCCESS"},
		 received_at: $at, inbox_id: $inbox}'
}

# checkout_fails: checkout fails in Datadog and PagerDuty under the names those tools give it,
# with no label or word naming what it depends on
checkout_fails() {
	INBOX_ID=11 alert datadog d1 firing 2026-03-03T09:11:00Z checkout-web "Error rate above 5%" \
		"5xx on POST /pay" >>"$IN"
	INBOX_ID=12 alert pagerduty p1 firing 2026-03-03T09:12:00Z "Shop Checkout" "Checkout burning error budget" |
		jq -c '.context = {service_id: "PCHK001"}' >>"$IN"
}

# investigate DB [ARGS...]: correlate $IN into DB, then aurora-rca on the decisions; records in $output
investigate() {
	local db=$1
	shift
	run -0 --separate-stderr aurora-correlate --db "$db" --no-mark <"$IN"
	printf '%s\n' "$output" >"$DEC"
	run -0 --separate-stderr aurora-rca --db "$db" --no-mark "$@" <"$DEC"
	[ -n "$output" ]
}

# analysis_of SERVICE: the analysis record of the incident whose first alert is on SERVICE
analysis_of() {
	local id
	id=$(jq -r --arg s "$1" 'select(.action == "created" and .service == $s) | .incident_id' "$DEC")
	[ -n "$id" ]
	jq -c --argjson id "$id" 'select(.type == "analysis" and .incident_id == $id)' <<<"$output"
}

@test "a catalog that does not load is a configuration error (78) naming the file and line; nothing is investigated" {
	INBOX_ID=1 alert grafana g1 firing 2026-03-03T09:10:00Z checkout "checkout down" >"$IN"
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$IN"
	printf '%s\n' "$output" >"$DEC"
	printf 'cart: basket\nthis line is no statement\n' >"$CAT/broken.aliases"
	run -78 --separate-stderr aurora-rca --db "$AURORA_DB" --catalog "$CAT" <"$DEC"
	[ -z "$output" ]
	[[ $stderr == *"aurora-rca: --catalog: $CAT/broken.aliases:2: "* ]]
	run -78 --separate-stderr aurora-rca --db "$AURORA_DB" --catalog "$BATS_TEST_TMPDIR/nowhere" <"$DEC"
	[ -z "$output" ]
	[[ $stderr == *"nowhere"* ]]
	[ "$(sql 'SELECT rca_state FROM incidents WHERE id = 1')" = idle ]
	run -0 --separate-stderr aurora-rca --help
	[[ $output == *"--catalog PATH"* ]]
}

@test "an alias is its component: a label naming pg-ledger and the Payments Database's own alert make payments-db the root cause" {
	INBOX_ID=1 alert grafana g1 firing 2026-03-03T09:10:00Z "Payments Database" "too many connections" >>"$IN"
	INBOX_ID=2 alert alertmanager a1 firing 2026-03-03T09:11:00Z shop-frontend "frontend 5xx" |
		jq -c '.labels = {db: "pg-ledger", namespace: "shop"}' >>"$IN"
	# without the catalog the label's word stands alone, under the name it was given
	investigate "$BATS_TEST_TMPDIR/plain.db"
	analysis_of shop-frontend | json_ok '.root_cause.kind == "dependency" and .root_cause.entity == "pg-ledger"'
	# with it: the component's catalog name, backed by its own alarm in the other incident
	investigate "$AURORA_DB" --catalog "$CAT"
	analysis_of shop-frontend | json_ok '.root_cause.kind == "dependency" and .root_cause.entity == "payments-db"
		and (.root_cause.evidence | map(.what) | index("too many connections (payments-db'"'"'s own alert, in another incident)") != null)'
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Hypothesis 1 (dependency, %): payments-db, %, and it alarms itself (in another incident)'")" = 1 ]
}

@test "a dependency only the catalog names, alarming on its own, is the root cause with the catalog as evidence" {
	checkout_fails
	INBOX_ID=10 alert grafana g1 firing 2026-03-03T09:10:00Z pg-ledger "replication lag high" >>"$IN"
	investigate "$AURORA_DB" --catalog "$CAT"
	# Datadog's service name and PagerDuty's service id are both checkout-service
	for svc in checkout-web "Shop Checkout"; do
		analysis_of "$svc" | json_ok '.root_cause.kind == "dependency" and .root_cause.entity == "payments-db"
			and (.root_cause.evidence | map(.what)
				| index("checkout-service depends on payments-db (catalog)") != null
				and index("replication lag high (payments-db'"'"'s own alert, in another incident)") != null)'
	done
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text = 'The service catalog: checkout-service depends on payments-db (alarming), cart (no alert)'")" -ge 1 ]
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Hypothesis 1 (dependency, %): payments-db, % 1 alert of services that depend on it: checkout-service depends on payments-db (catalog), and it alarms itself (in another incident)'")" -ge 1 ]
}

@test "a catalog dependency with no alert is not blamed, only suggested for a look; without --catalog the answer is the one before" {
	checkout_fails
	investigate "$BATS_TEST_TMPDIR/plain.db"
	printf '%s\n' "$output" | jq -c 'select(.type == "analysis") | .root_cause' | sort >"$BATS_TEST_TMPDIR/plain.json"
	jsonl_ok 'all(.[]; .kind == "unknown" and .entity == null)' <"$BATS_TEST_TMPDIR/plain.json"
	investigate "$AURORA_DB" --catalog "$CAT"
	jq -en '[inputs | select(.type == "analysis")] | length >= 1 and all(.root_cause.kind == "unknown" and .root_cause.entity == null)' <<<"$output"
	[ "$(sql "SELECT count(*) FROM incident_thoughts WHERE text LIKE 'Hypothesis %'")" = 0 ]
	[ "$(sql "SELECT count(*) FROM incident_suggestions WHERE kind = 'diagnostic' AND title = 'check the health of payments-db, which checkout-service depends on (catalog)'")" -ge 1 ]
	[ "$(sql "SELECT count(*) FROM incident_suggestions WHERE title = 'check the health of cart, which checkout-service depends on (catalog)'")" -ge 1 ]
	# the run without a catalog: the answer from before, no word of a catalog
	jq -en '[inputs] | length == 2 and all(.kind == "unknown" and .entity == null and .confidence == 0.2
		and (.summary | test("^No clear cause: 1 alert on (checkout-web|Shop Checkout), with no deploy")))' \
		"$BATS_TEST_TMPDIR/plain.json"
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/plain.db" "SELECT count(*) FROM incident_suggestions WHERE title LIKE '%catalog%'")" = 0 ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/plain.db" "SELECT count(*) FROM incident_thoughts WHERE text LIKE '%catalog%'")" = 0 ]
}

@test "a deploy of a catalog dependency shortly before is an upstream deploy; a deploy of the service itself comes first" {
	INBOX_ID=1 build payments-db-deploy 77 2026-03-03T09:02:00Z 1234567890abcdef1234567890abcdef12345678 >>"$IN"
	checkout_fails
	investigate "$BATS_TEST_TMPDIR/plain.db"
	jq -en '[inputs | select(.type == "analysis")] | length >= 1 and all(.root_cause.kind == "unknown")' <<<"$output"
	investigate "$AURORA_DB" --catalog "$CAT"
	analysis_of checkout-web | json_ok '.root_cause.kind == "deploy" and .root_cause.entity == "payments-db-deploy #77"
		and (.root_cause.evidence | map(.what) | index("checkout-service depends on payments-db (catalog)") != null)'
	# a deploy of checkout itself, later, outweighs it
	aurora_fresh_db
	INBOX_ID=2 build checkout-deploy 12 2026-03-03T09:04:00Z abcdefabcdefabcdefabcdefabcdefabcdefabcd >"$BATS_TEST_TMPDIR/more.jsonl"
	cat "$BATS_TEST_TMPDIR/more.jsonl" "$IN" | jq -sc 'sort_by(.inbox_id) | .[]' >"$BATS_TEST_TMPDIR/all.jsonl"
	mv "$BATS_TEST_TMPDIR/all.jsonl" "$IN"
	investigate "$AURORA_DB" --catalog "$CAT"
	analysis_of checkout-web | json_ok '.root_cause.kind == "deploy" and .root_cause.entity == "checkout-deploy #12"'
}

@test "the LLM investigator's get_incident carries the component and its catalog dependencies" {
	checkout_fails
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$IN"
	printf '%s\n' "$output" >"$DEC"
	standin '[{"text": ["{\"summary\": \"payments-db\", \"root_cause\": {\"entity\": \"payments-db\", \"kind\": \"dependency\", \"summary\": \"s\", \"confidence\": 0.5, \"evidence\": []}, \"suggestions\": []}"]},
		{"text": ["{\"summary\": \"payments-db\", \"root_cause\": {\"entity\": \"payments-db\", \"kind\": \"dependency\", \"summary\": \"s\", \"confidence\": 0.5, \"evidence\": []}, \"suggestions\": []}"]}]'
	printf 'sk-test-key\n' >"$BATS_TEST_TMPDIR/key"
	jq -n --arg url "http://127.0.0.1:$LLM_PORT/v1" --arg key "$BATS_TEST_TMPDIR/key" \
		'{llm: {provider: "openai", url: $url, model: "test-model", api_key_file: $key, max_retries: 1}, max_steps: 2, time_cap: 20}' \
		>"$BATS_TEST_TMPDIR/rca.json"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --no-mark -j 1 --investigator llm \
		--config "$BATS_TEST_TMPDIR/rca.json" --catalog "$CAT" <"$DEC"
	jq -en '[inputs | select(.type == "analysis")] | length >= 1 and all(.root_cause.entity == "payments-db")' <<<"$output"
	jq -sc '.[0].body.messages[1].content' "$BATS_TEST_TMPDIR/requests.jsonl" >"$BATS_TEST_TMPDIR/first.json"
	json_ok 'sub("^[^\n]*\n"; "") | fromjson
		| .catalog == {component: "checkout-service", depends_on: ["payments-db", "cart"]}' <"$BATS_TEST_TMPDIR/first.json"
	# without a catalog, no such member
	aurora_fresh_db
	: >"$BATS_TEST_TMPDIR/requests.jsonl"
	run -0 --separate-stderr aurora-correlate --db "$AURORA_DB" --no-mark <"$IN"
	printf '%s\n' "$output" >"$DEC"
	run -0 --separate-stderr aurora-rca --db "$AURORA_DB" --no-mark -j 1 --investigator llm \
		--config "$BATS_TEST_TMPDIR/rca.json" <"$DEC"
	jq -sc '.[0].body.messages[1].content' "$BATS_TEST_TMPDIR/requests.jsonl" >"$BATS_TEST_TMPDIR/first.json"
	json_ok 'sub("^[^\n]*\n"; "") | fromjson | has("catalog") | not' <"$BATS_TEST_TMPDIR/first.json"
}
