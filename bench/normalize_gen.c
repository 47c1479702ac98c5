/*
 * normalize_gen - realistic raw records for the aurora-normalize bench.
 *
 *   normalize_gen N OUT [SPLITDIR]
 *
 * Writes N raw records ({"v":1,"type":"raw",...}), mixed across the nine
 * platforms in the proportions of a busy installation, to OUT; with
 * SPLITDIR also one file per platform (SPLITDIR/<platform>.jsonl, same
 * records, same order) for tools that run one mapping at a time. The bodies
 * follow the payloads of shared/PLATFORMS.md: Grafana and Alertmanager
 * groups of one to four alerts with mixed statuses, PagerDuty incident
 * events and pings, Datadog transitions, Netdata WARNING/CRITICAL/CLEAR,
 * Dynatrace OPEN/RESOLVED problems, Splunk result rows, and Jenkins and
 * CloudBees builds through their four phases. The output depends on N only
 * (a fixed seed), so two runs compare.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jvio.h"
#include "timeutil.h"
#include "banned.h"

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static const char *const services[] = {
	"checkout", "cart", "payments", "search", "inventory", "shipping", "auth", "catalog",
	"notifications", "profile", "orders-db", "users-db",
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

static const char *pick_service(void)
{
	return services[rnd(NSERVICES)];
}

static jv s(const char *text)
{
	return jv_string(text);
}

static jv fmt_time(long long ms)
{
	char t[32];

	aur_time_format_ms(ms, t, sizeof(t));
	return jv_string(t);
}

static jv hex(unsigned digits)
{
	char b[65];
	static const char d[] = "0123456789abcdef";

	for (unsigned i = 0; i < digits && i < 64; i++)
		b[i] = d[rnd(16)];
	b[digits < 64 ? digits : 64] = '\0';
	return jv_string(b);
}

static jv obj2(const char *k1, jv v1, const char *k2, jv v2)
{
	return jv_object_set(jv_object_set(jv_object(), s(k1), v1), s(k2), v2);
}

static jv set(jv o, const char *k, jv v)
{
	return jv_object_set(o, s(k), v);
}

static const char *const am_alerts[][3] = {
	{ "HighLatency", "%s p95 latency above 2s", "p95 latency of %s over 2s for 5 minutes" },
	{ "ErrorRateHigh", "%s 5xx rate above 5%%", "more than 5%% of %s requests fail" },
	{ "PodCrashLooping", "%s pod restarting", "a %s pod restarted 5 times in 10 minutes" },
	{ "DiskAlmostFull", "disk on %s above 90%%", "filesystem /var of %s is 91%% full" },
	{ "ConsumerLagHigh", "%s consumer lag growing", "consumer group %s is falling behind" },
};

static jv am_alert(int grafana, long long now, const char *svc, int resolved)
{
	unsigned k = rnd(5);
	char summary[160], desc[200], inst[64], url[200];
	jv labels, annotations, a;
	long long start = now - 60000LL * (1 + rnd(120));

	snprintf(summary, sizeof(summary), am_alerts[k][1], svc);
	snprintf(desc, sizeof(desc), am_alerts[k][2], svc);
	snprintf(inst, sizeof(inst), "%s-%u:9100", svc, 1 + rnd(6));
	labels = obj2("alertname", s(am_alerts[k][0]), "service", s(svc));
	labels = set(labels, "severity", s(rnd(3) ? "warning" : "critical"));
	labels = set(labels, "instance", s(inst));
	labels = set(labels, "job", s(grafana ? "grafana" : "node"));
	if (grafana)
		labels = set(labels, "grafana_folder", s("Production"));
	else
		labels = set(labels, "namespace", s("prod"));
	annotations = obj2("summary", s(summary), "description", s(desc));
	a = obj2("status", s(resolved ? "resolved" : "firing"), "labels", labels);
	a = set(a, "annotations", annotations);
	a = set(a, "startsAt", fmt_time(start));
	a = set(a, "endsAt", resolved ? fmt_time(now - 1000) : s("0001-01-01T00:00:00Z"));
	if (grafana) {
		snprintf(url, sizeof(url), "https://grafana.example.test/alerting/grafana/%x/view?orgId=1",
			 rnd(1u << 30));
		a = set(a, "generatorURL", s(url));
	} else {
		a = set(a, "generatorURL",
			s("http://prometheus.example.test:9090/graph?g0.expr=up%3D%3D0&g0.tab=1"));
	}
	a = set(a, "fingerprint", hex(16));
	if (grafana) {
		a = set(a, "silenceURL", s("https://grafana.example.test/alerting/silence/new?alertmanager=grafana"));
		a = set(a, "dashboardURL", s("https://grafana.example.test/d/abc123?orgId=1"));
		a = set(a, "panelURL", s("https://grafana.example.test/d/abc123?orgId=1&viewPanel=4"));
		a = set(a, "values", obj2("A", jv_number(rnd(10000) / 100.0), "C", jv_number(1)));
		a = set(a, "valueString", s("[ var='A' labels={service=x} value=47.97 ], [ var='C' value=1 ]"));
		a = set(a, "orgId", jv_number(1));
	}
	return a;
}

static jv group(int grafana, long long now)
{
	unsigned n = 1 + (rnd(4) == 0 ? rnd(4) : 0);
	const char *svc = pick_service();
	jv alerts = jv_array(), b, common;
	int any_firing = 0;

	for (unsigned i = 0; i < n; i++) {
		int resolved = rnd(3) == 0;

		any_firing |= !resolved;
		alerts = jv_array_append(alerts, am_alert(grafana, now, svc, resolved));
	}
	common = obj2("service", s(svc), "severity", s("warning"));
	b = obj2("receiver", s(grafana ? "ops-webhook" : "aurora"), "status", s(any_firing ? "firing" : "resolved"));
	if (grafana)
		b = set(b, "orgId", jv_number(1));
	b = set(b, "alerts", alerts);
	b = set(b, "groupLabels", obj2("service", s(svc), "grafana_folder", s("Production")));
	b = set(b, "commonLabels", common);
	b = set(b, "commonAnnotations", jv_object());
	b = set(b, "externalURL", s(grafana ? "https://grafana.example.test/" : "http://alertmanager.example.test:9093"));
	b = set(b, "version", s(grafana ? "1" : "4"));
	b = set(b, "groupKey", s("{}/{service=\"x\"}:{alertname=\"HighLatency\"}"));
	b = set(b, "truncatedAlerts", jv_number(0));
	if (grafana) {
		b = set(b, "title", s("[FIRING:1] HighLatency Production"));
		b = set(b, "state", s(any_firing ? "alerting" : "ok"));
		b = set(b, "message", s("**Firing**\n\nValue: A=2.41, C=1\nLabels: alertname=HighLatency"));
	}
	return b;
}

static jv pagerduty(long long now)
{
	static const char *const types[] = { "incident.triggered", "incident.acknowledged", "incident.resolved" };
	const char *svc = pick_service();
	unsigned t = rnd(20) == 0 ? 3 : rnd(3);
	char title[160], svcname[80], id[32], url[128];
	jv data, ev;

	snprintf(id, sizeof(id), "Q%08X%05X", rnd(1u << 31), rnd(1u << 20));
	if (t == 3) {
		ev = obj2("id", hex(26), "event_type", s("pagey.ping"));
		ev = set(ev, "resource_type", s("pagey"));
		ev = set(ev, "occurred_at", fmt_time(now));
		ev = set(ev, "agent", jv_null());
		ev = set(ev, "client", jv_null());
		ev = set(ev, "data", obj2("message", s("Hello from your friend Pagey!"), "type", s("ping")));
		return jv_object_set(jv_object(), s("event"), ev);
	}
	snprintf(title, sizeof(title), "%s: %s p99 latency above 2s", svc, svc);
	snprintf(svcname, sizeof(svcname), "%c%s API", svc[0] - 32, svc + 1);
	snprintf(url, sizeof(url), "https://example.pagerduty.com/incidents/%s", id);
	data = obj2("id", s(id), "type", s("incident"));
	data = set(data, "number", jv_number(1000 + rnd(9000)));
	data = set(data, "self", s("https://api.pagerduty.com/incidents/Q1"));
	data = set(data, "html_url", s(url));
	data = set(data, "status", s(t == 0 ? "triggered" : t == 1 ? "acknowledged" : "resolved"));
	data = set(data, "incident_key", s(svc));
	data = set(data, "created_at", fmt_time(now - 600000));
	data = set(data, "title", s(title));
	data = set(data, "service", obj2("id", s("PSV0001"), "summary", s(svcname)));
	data = set(data, "assignees", jv_array());
	data = set(data, "teams", jv_array());
	data = set(data, "escalation_policy", obj2("id", s("PEP0001"), "summary", s("Default")));
	data = set(data, "priority", rnd(2) ? jv_null() : obj2("id", s("PPRIO"), "summary", s("P2")));
	data = set(data, "urgency", s(rnd(4) ? "high" : "low"));
	data = set(data, "conference_bridge", jv_null());
	data = set(data, "resolve_reason", jv_null());
	data = set(data, "incident_type", set(jv_object(), "name", s("incident_default")));
	ev = obj2("id", hex(26), "event_type", s(types[t]));
	ev = set(ev, "resource_type", s("incident"));
	ev = set(ev, "occurred_at", fmt_time(now));
	ev = set(ev, "agent", jv_null());
	ev = set(ev, "client", jv_null());
	ev = set(ev, "data", data);
	return jv_object_set(jv_object(), s("event"), ev);
}

static jv datadog(long long now)
{
	const char *svc = pick_service();
	int recovered = rnd(3) == 0;
	char title[200], tags[200], date[32], link[128];
	jv b;

	snprintf(title, sizeof(title), "[%s on {service:%s}] %s requests slow",
		 recovered ? "Recovered" : "Triggered", svc, svc);
	snprintf(tags, sizeof(tags), "monitor,env:prod,service:%s,team:%s-team", svc, svc);
	snprintf(date, sizeof(date), "%lld", now);
	snprintf(link, sizeof(link), "https://app.datadoghq.com/event/event?id=%u%u", rnd(1u << 30), rnd(1u << 30));
	b = obj2("id", s("7864205519384412002"), "title", s(title));
	b = set(b, "body", s("%%%\nmedian response time doubled in 5 minutes\n%%%"));
	b = set(b, "event_type", s("query_alert_monitor"));
	b = set(b, "alert_id", s("91827364"));
	b = set(b, "alert_cycle_key", hex(32));
	b = set(b, "alert_transition", s(recovered ? "Recovered" : "Triggered"));
	b = set(b, "alert_type", s(recovered ? "success" : "error"));
	b = set(b, "alert_priority", s("P2"));
	b = set(b, "priority", s("normal"));
	b = set(b, "alert_scope", s(""));
	b = set(b, "tags", s(tags));
	b = set(b, "date", s(date));
	b = set(b, "last_updated", s(date));
	b = set(b, "hostname", s(""));
	b = set(b, "link", s(link));
	b = set(b, "org", obj2("id", s("210455"), "name", s("Example Corp")));
	return b;
}

static jv netdata(long long now)
{
	static const char *const st[] = { "WARNING", "CRITICAL", "CLEAR" };
	unsigned k = rnd(3);
	char host[64];
	jv b;

	snprintf(host, sizeof(host), "%s-%u", pick_service(), 1 + rnd(8));
	b = obj2("alarm", s("10min_cpu_usage"), "status", s(st[k]));
	b = set(b, "old_status", s(k == 0 ? "CLEAR" : k == 1 ? "WARNING" : "CRITICAL"));
	b = set(b, "hostname", s(host));
	b = set(b, "chart", s("system.cpu"));
	b = set(b, "family", s("cpu"));
	b = set(b, "value", jv_number(50 + rnd(500) / 10.0));
	b = set(b, "units", s("%"));
	b = set(b, "when", jv_number((double)(now / 1000)));
	b = set(b, "info", s("average CPU utilization over the last 10 minutes"));
	b = set(b, "alarm_id", jv_number(1460598602 + rnd(1000)));
	b = set(b, "unique_id", jv_number(1789567293 + rnd(100000)));
	b = set(b, "event_id", jv_number(1 + rnd(9)));
	return b;
}

static jv dynatrace(long long now)
{
	const char *svc = pick_service();
	int resolved = rnd(3) == 0;
	char pid[64], pnum[32], url[160], tags[96], ent[40];
	jv b, details, ents;

	snprintf(pid, sizeof(pid), "-%u%u_%lldV2", rnd(1u << 30), rnd(1u << 30), now - 300000);
	snprintf(pnum, sizeof(pnum), "P-%u", 10000 + rnd(90000));
	snprintf(url, sizeof(url), "https://abc12345.live.dynatrace.com/#problems/problemdetails;pid=%s", pid);
	snprintf(tags, sizeof(tags), "env:prod, service:%s, [Kubernetes]app:%s", svc, svc);
	snprintf(ent, sizeof(ent), "SERVICE-%08X%08X", rnd(1u << 31), rnd(1u << 31));
	ents = jv_array_append(jv_array(),
			       jv_object_set(obj2("type", s("SERVICE"), "name", s(svc)), s("entity"), s(ent)));
	details = obj2("id", s(pid), "displayName", s(pnum));
	details = set(details, "startTime", jv_number((double)(now - 300000)));
	details = set(details, "endTime", jv_number(resolved ? (double)now : -1));
	details = set(details, "status", s(resolved ? "CLOSED" : "OPEN"));
	details = set(details, "impactLevel", s("SERVICE"));
	details = set(details, "severityLevel", s("PERFORMANCE"));
	details = set(details, "hasRootCause", jv_true());
	b = obj2("ProblemID", s(pnum), "PID", s(pid));
	b = set(b, "State", s(resolved ? "RESOLVED" : "OPEN"));
	b = set(b, "ProblemTitle", s("Response time degradation"));
	b = set(b, "ProblemSeverity", s(rnd(4) ? "PERFORMANCE" : "AVAILABILITY"));
	b = set(b, "ProblemImpact", s("SERVICE"));
	b = set(b, "ProblemURL", s(url));
	b = set(b, "ImpactedEntity", s(svc));
	b = set(b, "ImpactedEntities", ents);
	b = set(b, "Tags", s(tags));
	b = set(b, "ProblemDetailsJSON", details);
	return b;
}

static jv splunk(long long now)
{
	const char *svc = pick_service();
	char sid[128], link[256], name[96], t[32], count[16];
	jv b, row;

	snprintf(sid, sizeof(sid), "scheduler__svc_alerts__search__RMD5%08x%08x_at_%lld_%u", rnd(1u << 31),
		 rnd(1u << 31), now / 1000, rnd(10000));
	snprintf(link, sizeof(link), "https://splunk.example.test:8000/app/search/@go?sid=%s", sid);
	snprintf(name, sizeof(name), "%c%s 5xx spike", svc[0] - 32, svc + 1);
	snprintf(t, sizeof(t), "%lld", now / 1000 - 60);
	snprintf(count, sizeof(count), "%u", 50 + rnd(500));
	row = obj2("service", s(svc), "status", s("503"));
	row = set(row, "count", s(count));
	row = set(row, "severity", s(rnd(2) ? "high" : "medium"));
	row = set(row, "_time", s(t));
	b = obj2("sid", s(sid), "search_name", s(name));
	b = set(b, "app", s("search"));
	b = set(b, "owner", s("svc_alerts"));
	b = set(b, "results_link", s(link));
	b = set(b, "result", row);
	return b;
}

static jv jenkins(long long now, int cloudbees)
{
	static const char *const phases[] = { "QUEUED", "STARTED", "COMPLETED", "FINALIZED" };
	const char *svc = pick_service();
	unsigned ph = rnd(4), number = 100 + rnd(900);
	char job[64], url[96], burl[128], full[192];
	jv b, build, scm;

	snprintf(job, sizeof(job), "%s-%s", svc, rnd(2) ? "build" : "deploy");
	snprintf(url, sizeof(url), "job/%s/", job);
	snprintf(burl, sizeof(burl), "job/%s/%u/", job, number);
	snprintf(full, sizeof(full), "https://%s.example.test/%s", cloudbees ? "cloudbees" : "jenkins", burl);
	scm = obj2("url", s("https://git.example.test/shop/api.git"), "branch", s("origin/main"));
	scm = set(scm, "commit", hex(40));
	scm = set(scm, "changes", jv_array_append(jv_array(), s("src/cart.c")));
	scm = set(scm, "culprits", jv_array_append(jv_array(), s("alice")));
	build = obj2("full_url", s(full), "number", jv_number(number));
	build = set(build, "queue_id", jv_number(5000 + rnd(1000)));
	build = set(build, "phase", s(phases[ph]));
	if (ph >= 2)
		build = set(build, "status", s(rnd(3) ? "SUCCESS" : rnd(2) ? "FAILURE" : "UNSTABLE"));
	build = set(build, "url", s(burl));
	build = set(build, "timestamp", jv_number((double)now));
	build = set(build, "duration", jv_number(ph >= 2 ? 60000 + rnd(200000) : 0));
	build = set(build, "scm", scm);
	build = set(build, "parameters", set(jv_object(), "DEPLOY_ENV", s("staging")));
	build = set(build, "log", s(""));
	build = set(build, "artifacts", jv_object());
	b = obj2("name", s(job), "display_name", s(job));
	b = set(b, "url", s(url));
	b = set(b, "build", build);
	return b;
}

/* platform names and their share of the traffic, in percent */
static const struct {
	const char *name;
	unsigned share;
} mix[] = {
	{ "grafana", 20 }, { "alertmanager", 15 }, { "pagerduty", 10 }, { "datadog", 10 },
	{ "netdata", 15 }, { "dynatrace", 8 }, { "splunk", 8 }, { "jenkins", 10 }, { "cloudbees", 4 },
};
#define NPLATFORMS (sizeof(mix) / sizeof(mix[0]))

static jv body_for(unsigned p, long long now)
{
	switch (p) {
	case 0:
		return group(1, now);
	case 1:
		return group(0, now);
	case 2:
		return pagerduty(now);
	case 3:
		return datadog(now);
	case 4:
		return netdata(now);
	case 5:
		return dynatrace(now);
	case 6:
		return splunk(now);
	case 7:
		return jenkins(now, 0);
	default:
		return jenkins(now, 1);
	}
}

static const char *const agents[] = {
	"Grafana/12.1.0", "Alertmanager/0.25.0", "PagerDuty-Webhook/V3.0", "Datadog Webhook",
	"curl/7.88.1", "Dynatrace", "Splunk", "Java/17.0.9", "Java/17.0.9",
};

int main(int argc, char **argv)
{
	FILE *out = NULL, *split[NPLATFORMS] = { NULL };
	struct aur_buf b;
	long long now = 1772604000000LL;
	unsigned long n;
	int rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: normalize_gen N OUT [SPLITDIR]\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	aur_buf_init(&b, 0);
	out = fopen(argv[2], "w");
	if (!out) {
		fprintf(stderr, "normalize_gen: %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	for (unsigned p = 0; argc > 3 && p < NPLATFORMS; p++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.jsonl", argv[3], mix[p].name);
		split[p] = fopen(path, "w");
		if (!split[p]) {
			fprintf(stderr, "normalize_gen: %s: %s\n", path, strerror(errno));
			goto out;
		}
	}
	for (unsigned long i = 1; i <= n; i++) {
		unsigned r = rnd(100), p = 0, acc = 0;
		jv raw, headers;

		for (p = 0; p < NPLATFORMS - 1; p++) {
			acc += mix[p].share;
			if (r < acc)
				break;
		}
		now += rnd(4000);
		headers = obj2("content-type", s("application/json"), "user-agent", s(agents[p]));
		raw = obj2("v", jv_number(1), "type", s("raw"));
		raw = set(raw, "id", jv_number((double)i));
		raw = set(raw, "platform", s(mix[p].name));
		raw = set(raw, "received_at", fmt_time(now));
		raw = set(raw, "remote", s("10.0.3.17"));
		raw = set(raw, "headers", headers);
		raw = set(raw, "body", body_for(p, now));
		aur_buf_reset(&b);
		if (aur_jvio_dump(raw, &b) < 0 || aur_buf_add(&b, "\n", 1) < 0) {
			jv_free(raw);
			fprintf(stderr, "normalize_gen: cannot print record %lu\n", i);
			goto out;
		}
		jv_free(raw);
		fwrite(b.data, 1, b.len, out);
		if (split[p])
			fwrite(b.data, 1, b.len, split[p]);
	}
	rc = 0;
out:
	for (unsigned p = 0; p < NPLATFORMS; p++)
		if (split[p] && fclose(split[p]) != 0)
			rc = 1;
	if (out && fclose(out) != 0)
		rc = 1;
	aur_buf_release(&b);
	return rc;
}
