#!/usr/bin/env bats
# aurora-correlate catalog: Backstage catalog-info YAML and aliases files,
# what resolves to what, what is refused (ambiguity, bad YAML, limits).

load helpers/common

setup() {
	CAT="$FIXTURES/catalog"
	T="$BATS_TEST_TMPDIR"
}

# Check the records printed (in $output) with a jq filter over their array;
# fails on empty output when the filter asks for anything.
records() {
	jq -en "[inputs] | $1" <<<"$output"
}

@test "a Backstage directory: files in subdirectories, several documents each, a System; Groups, other files and dot directories skipped" {
	run -0 --separate-stderr aurora-correlate catalog "$CAT/backstage"
	[ -z "$stderr" ]
	records 'length == 6 and all(.v == 1 and .type == "component")'
	records 'map(.name) | sort == ["billing", "cart", "checkout-service", "payments-db", "redis", "shop"]'
	records '.[] | select(.name == "shop") | .kind == "System" and .title == "Web Shop" and .described'
	records '.[] | select(.name == "checkout-service") |
		.kind == "Component" and .title == "Checkout Service"
		and .aliases == ["checkout-api (prod)", "svc:checkout-prod"]
		and .identities == {pagerduty: ["PCHK001"], datadog: ["checkout"],
			dynatrace: ["SERVICE-5D8A1C2B3E4F5A6B"], kubernetes: ["checkout-api"], grafana: ["checkout"]}
		and (.depends_on | sort) == ["cart", "payments-db", "redis"]
		and (.source | endswith("backstage/shop/catalog-info.yaml:5"))'
	# spec.dependencyOf of payments-db makes billing depend on it; billing and redis are only named
	records '.[] | select(.name == "billing") | .depends_on == ["payments-db"] and .described == false and .kind == null'
	records '.[] | select(.name == "redis") | .described == false and .depends_on == []'
	records '.[] | select(.name == "payments-db") | .kind == "Resource" and (.source | endswith("platform/payments.yml:4"))'
	# extra.aliases adds to the YAML's cart; .archive/old.yaml (a second cart) is never read
	records '.[] | select(.name == "cart") | .aliases == ["Shopping Cart", "basket"]
		and .identities.datadog == ["cart-web"] and .identities.kubernetes == ["cart"]
		and (.source | endswith("shop/catalog-info.yaml:30"))'
}

@test "an aliases file: aliases, tool identities and dependencies, comments left out" {
	run -0 --separate-stderr aurora-correlate catalog "$CAT/services.aliases"
	[ -z "$stderr" ]
	records 'length == 5'
	records '.[] | select(.name == "checkout") |
		.aliases == ["Checkout Service", "checkout-web", "svc:checkout-prod"]
		and .identities == {pagerduty: ["PCHK001"], datadog: ["checkout"], kubernetes: ["checkout-api"]}
		and .depends_on == ["payments-db", "redis"] and .kind == null and .described
		and (.source | endswith("services.aliases:2"))'
	records '.[] | select(.name == "search") | .depends_on == ["catalog-api"]'
	records '.[] | select(.name == "catalog-api") | .described == false'
	records '[.[].aliases[], .[].depends_on[]] | length == 9 and all(test("#|datastores") | not)'
}

@test "names resolve as sent, by title, alias, entity reference, tool identity and through the service key" {
	run -0 --separate-stderr aurora-correlate catalog "$CAT/backstage" \
		"Checkout Service" checkout CHECKOUT-SERVICE checkout_service "checkout-svc" "svc:checkout-prod" \
		"Checkout-API (prod)" "component:shop/cart" basket "Shopping Cart" "payments database" \
		pagerduty:PCHK001 datadog:checkout kubernetes:checkout-api dynatrace:SERVICE-5D8A1C2B3E4F5A6B \
		grafana:checkout datadog:cart-web kubernetes:cart pagerduty:0123456789abcdef0123456789abcdef
	records 'length == 19 and all(.type == "resolution")'
	records '.[0:7] | all(.component == "checkout-service" and .tool == "any")'
	records '.[7:10] | all(.component == "cart")'
	records '.[10].component == "payments-db"'
	records '.[11] == {v: 1, type: "resolution", tool: "pagerduty", name: "PCHK001", component: "checkout-service"}'
	records '.[12:15] | all(.component == "checkout-service")'
	records '.[15].tool == "grafana" and .[15].component == "checkout-service"'
	records '.[16:19] | all(.component == "cart")'
}

@test "what the catalog does not know resolves to null and exits 1; checkout-db is not checkout" {
	run -1 --separate-stderr aurora-correlate catalog "$CAT/backstage" checkout-db PCHK001 pagerduty:PNONE "team-checkout" shop
	records 'length == 5 and (.[0:4] | all(.component == null)) and .[4].component == "shop"'
	records '.[1].tool == "any" and .[2].tool == "pagerduty" and .[2].name == "PNONE"'
}

@test "two components claiming one alias are refused with 78, naming both" {
	mkdir "$T/cat"
	cp "$CAT/backstage/platform/payments.yml" "$T/cat/"
	printf 'checkout: web, Checkout\nsearch: Web\n' > "$T/cat/web.aliases"
	run -78 --separate-stderr aurora-correlate catalog "$T/cat"
	[ -z "$output" ]
	[[ "$stderr" == *"web.aliases:"*"alias 'Web' is claimed by both checkout"*"and search"*"ambiguous"* ]]
	# an alias that is another component's name, across files
	printf 'checkout: payments-db\n' > "$T/cat/web.aliases"
	run -78 --separate-stderr aurora-correlate catalog "$T/cat"
	[ -z "$output" ]
	[[ "$stderr" == *"alias 'payments-db' of checkout is the name of payments-db ($T/cat/payments.yml:4)"* ]]
}

@test "one kind described twice under one name (two namespaces) is refused with both places" {
	printf 'kind: Component\nmetadata: {name: cart, namespace: a}\n---\nkind: Component\nmetadata:\n  namespace: b\n  name: cart\n' > "$T/two.yaml"
	run -78 --separate-stderr aurora-correlate catalog "$T/two.yaml"
	[ -z "$output" ]
	[[ "$stderr" == *"two.yaml:7: Component cart is described twice (first at $T/two.yaml:2)"* ]]
}

@test "YAML that does not parse: exit 78 with the file, line and column, nothing on stdout" {
	mkdir -p "$T/cat/team"
	cp "$CAT/backstage/platform/payments.yml" "$T/cat/"
	printf 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\n  aliases: [basket\n  title: Cart\n' \
		> "$T/cat/team/catalog-info.yaml"
	run -78 --separate-stderr aurora-correlate catalog "$T/cat"
	[ -z "$output" ]
	[[ "$stderr" == "aurora-correlate: $T/cat/team/catalog-info.yaml:6:"*"flow sequence"*"line 5"* ]]
	# a second document that is no entity
	printf 'kind: Component\nmetadata: {name: a}\n---\n- just\n- a list\n' > "$T/cat/team/catalog-info.yaml"
	run -78 --separate-stderr aurora-correlate catalog "$T/cat"
	[ -z "$output" ]
	[[ "$stderr" == *"team/catalog-info.yaml:4: an entity is not a mapping"* ]]
	# an aliases line that is not one
	printf '# fine\nCheckout Service: checkout\n' > "$T/bad.aliases"
	run -78 --separate-stderr aurora-correlate catalog "$T/bad.aliases"
	[ -z "$output" ]
	[[ "$stderr" == *"bad.aliases:2: 'Service' is not a tool"*"a name holds no blanks"* ]]
}

@test "past the limits: a file over 4 MiB, YAML nested too deep: exit 78" {
	head -c 4194305 /dev/zero | tr '\0' '#' > "$T/huge.aliases"
	run -78 --separate-stderr aurora-correlate catalog "$T/huge.aliases"
	[ -z "$output" ]
	[[ "$stderr" == *"huge.aliases: larger than 4194304 bytes"* ]]
	printf 'kind: Component\nmetadata: {name: a, title: %s}\n' "$(printf '[%.0s' $(seq 1 80))" > "$T/deep.yaml"
	run -78 --separate-stderr aurora-correlate catalog "$T/deep.yaml"
	[ -z "$output" ]
	[[ "$stderr" == *"deep.yaml:2: nested deeper than 64 levels"* ]]
}

@test "a missing path exits 66; no path is a usage error (2)" {
	run -66 --separate-stderr aurora-correlate catalog "$T/nowhere"
	[ -z "$output" ]
	[[ "$stderr" == *"$T/nowhere: No such file or directory"* ]]
	run -2 --separate-stderr aurora-correlate catalog
	[ -z "$output" ]
	[[ "$stderr" == *"usage: aurora-correlate catalog PATH"* ]]
}

@test "a PagerDuty service two components share loads, resolves to neither and says so" {
	printf 'search pagerduty: PTEAM01\nbrowse pagerduty: PTEAM01\nsearch: Product Search\n' > "$T/team.aliases"
	run -1 --separate-stderr aurora-correlate catalog "$T/team.aliases" pagerduty:PTEAM01 pagerduty:search
	records '.[0].component == null and .[1].component == "search"'
	[[ "$stderr" == *"pagerduty 'PTEAM01' is shared by search and browse: it finds neither"* ]]
}

@test "500 generated components in 5 files load and resolve in well under a second" {
	mkdir "$T/big"
	for f in 0 1 2 3 4; do
		for i in $(seq $((f * 100)) $((f * 100 + 99))); do
			dep=$(( (i + 1) % 500 ))
			printf -- '---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-%d\n  title: Service %d\n  annotations:\n    pagerduty.com/service-id: P%05d\n    datadoghq.com/service-name: dd-svc-%d\nspec:\n  dependsOn: [component:default/svc-%d]\n' \
				"$i" "$i" "$i" "$i" "$dep"
		done > "$T/big/part-$f.yaml"
	done
	start=$(date +%s%N)
	run -0 --separate-stderr aurora-correlate catalog "$T/big"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "500 components in ${ms} ms" >&3
	records 'length == 500 and all(.described and (.depends_on | length) == 1)'
	records '.[] | select(.name == "svc-499") | .depends_on == ["svc-0"] and .identities.pagerduty == ["P00499"]'
	[ "$ms" -lt 1000 ]
	run -0 --separate-stderr aurora-correlate catalog "$T/big" "Service 250" pagerduty:P00007 datadog:dd-svc-42 SVC_300
	records 'map(.component) == ["svc-250", "svc-7", "svc-42", "svc-300"]'
}

@test "the examples in examples/catalog load, the YAML and the aliases file together" {
	run -0 --separate-stderr aurora-correlate catalog "$AURORA_TOP/examples/catalog"
	[ -z "$stderr" ]
	records 'length == 7 and (map(.name) | index("team-shop") == null)'
	records '.[] | select(.name == "cart") | .aliases == ["basket", "svc:cart-prod"] and .kind == "Component"'
	records '.[] | select(.name == "billing") | (.depends_on | sort) == ["payments-db", "rabbitmq"]'
	run -0 --separate-stderr aurora-correlate catalog "$AURORA_TOP/examples/catalog" invoicing kubernetes:checkout-api
	records 'map(.component) == ["billing", "checkout-service"]'
}
