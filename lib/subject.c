#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "subject.h"
#include "textvec.h"
#include "banned.h"

/*
 * Names that belong to the monitoring itself: an alert whose service or
 * job label says one of these is about something else (its namespace,
 * workload, pod, instance or target).
 */
static const char *const exporter_marks[] = {
	"kube-state-metrics", "kubelet", "node-exporter", "blackbox", "cadvisor", "exporter",
	"prometheus", "alertmanager", "pushgateway", "kube-proxy", "otel-collector", NULL,
};

/* namespaces that hold the platform, not an application */
static const char *const system_namespaces[] = {
	"kube-system", "kube-public", "kube-node-lease", "monitoring", "default", NULL,
};

/* Prometheus-style labels (Alertmanager, Grafana) naming the subject, best first. */
struct source_key {
	const char *key;
	const char *kind;
	enum { PLAIN, POD, PATH, TARGET, HOST } how;
};

static const struct source_key label_keys[] = {
	{ "service", "service", PLAIN },
	{ "service_name", "service", PLAIN },
	{ "app.kubernetes.io/name", "service", PLAIN },
	{ "app_kubernetes_io_name", "service", PLAIN },
	{ "app", "service", PLAIN },
	{ "k8s-app", "service", PLAIN },
	{ "source_workload", "workload", PLAIN },
	{ "deployment", "workload", PLAIN },
	{ "statefulset", "workload", PLAIN },
	{ "daemonset", "workload", PLAIN },
	/* the pod before its container: a container may be a sidecar (istio-proxy) */
	{ "pod", "pod", POD },
	{ "container", "workload", PLAIN },
	{ "namespace", "namespace", PLAIN },
	{ "target", "target", TARGET },
	{ "job", "service", PLAIN },
	{ NULL, NULL, PLAIN },
};

/* Datadog tags and Dynatrace's [Kubernetes] tags. */
static const struct source_key tag_keys[] = {
	{ "service", "service", PLAIN },
	{ "kube_deployment", "workload", PLAIN },
	{ "kube_stateful_set", "workload", PLAIN },
	{ "kube_daemon_set", "workload", PLAIN },
	{ "kube_service", "service", PLAIN },
	{ "kube_app_name", "service", PLAIN },
	{ "app", "service", PLAIN },
	{ "svc", "service", PLAIN },
	{ "kube_container_name", "workload", PLAIN },
	{ "pod_name", "pod", POD },
	{ "kube_namespace", "namespace", PLAIN },
	{ "namespace", "namespace", PLAIN },
	{ NULL, NULL, PLAIN },
};

/* hosts, after everything that names a service */
static const struct source_key host_keys[] = {
	{ "node", "host", HOST },
	{ "nodename", "host", HOST },
	{ "hostname", "host", HOST },
	{ "host", "host", HOST },
	{ "instance", "host", HOST },
	{ NULL, NULL, PLAIN },
};

/* a probe's instance is the target it probes (a URL or a DNS name) */
static const struct source_key probe_keys[] = {
	{ "instance", "target", TARGET },
	{ NULL, NULL, PLAIN },
};

/* labels and tags that name a service the alert depends on */
static const char *const dependency_keys[] = {
	"upstream", "db", "database", "peer.service", "peer_service", "depends_on", "dependency",
	"destination_service", "destination_workload", "remote_service", "backend", NULL,
};

static int in_list(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

static int is_exporter(const char *name)
{
	char low[AUR_SUBJECT_NAME_MAX];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = '\0';
	for (int k = 0; exporter_marks[k]; k++)
		if (strstr(low, exporter_marks[k]))
			return 1;
	return 0;
}

/* A string member of obj, borrowed (obj keeps it alive), or NULL. */
static const char *member(jv obj, const char *key)
{
	jv v;
	const char *s = NULL;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s && *s ? s : NULL;
}

/* "https://api.shop.example.com:443/healthz" -> "api.shop.example.com" */
static void target_name(const char *s, char *out, size_t outlen)
{
	const char *p = strstr(s, "://");
	size_t n;

	p = p ? p + 3 : s;
	n = strcspn(p, ":/?#");
	snprintf(out, outlen, "%.*s", (int)n, p);
	for (char *q = out; *q; q++)
		*q = (char)tolower((unsigned char)*q);
}

/*
 * A log file's name as a service: Kubernetes' container logs are
 * /var/log/containers/<pod>_<namespace>_<container>-<id>.log; other paths
 * say nothing about a service.
 */
static int path_key(const char *path, char *key, size_t keylen)
{
	const char *base = strrchr(path, '/');
	char tmp[256];
	char *us;

	base = base ? base + 1 : path;
	snprintf(tmp, sizeof(tmp), "%s", base);
	us = strchr(tmp, '_');
	if (!us || !strchr(us + 1, '_'))
		return 0;
	*us = '\0';
	aur_textvec_pod_key(tmp, key, keylen);
	return key[0] != '\0';
}

static void set_ref(struct aur_subject_ref *r, const char *name, const char *from, const char *fromkey)
{
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (fromkey)
		snprintf(r->from, sizeof(r->from), "%s %s", from, fromkey);
	else
		snprintf(r->from, sizeof(r->from), "%s", from);
}

/* The key of name read as sk says; 0 when it names no subject. */
static int key_of(const struct source_key *sk, const char *name, char *key, size_t keylen)
{
	key[0] = '\0';
	switch (sk->how) {
	case POD:
		aur_textvec_pod_key(name, key, keylen);
		break;
	case PATH:
		return path_key(name, key, keylen);
	case TARGET:
		target_name(name, key, keylen);
		if (strspn(key, "0123456789.") == strlen(key)) {
			key[0] = '\0';
			return 0;
		}
		break;
	case HOST:
		aur_textvec_host_key(name, key, keylen);
		break;
	default:
		aur_textvec_service_key(name, key, keylen);
	}
	return key[0] != '\0';
}

static int from_table(struct aur_subject *out, jv obj, const struct source_key *table, const char *what)
{
	for (int i = 0; table[i].key; i++) {
		const char *v = member(obj, table[i].key);

		if (!v || is_exporter(v))
			continue;
		if (!strcmp(table[i].key, "namespace") || !strcmp(table[i].key, "kube_namespace")) {
			if (in_list(system_namespaces, v))
				continue;
		}
		if (!strcmp(table[i].key, "container") && !strcmp(v, "POD"))
			continue;
		if (!key_of(&table[i], v, out->s.key, sizeof(out->s.key)))
			continue;
		out->kind = table[i].kind;
		set_ref(&out->s, v, what, table[i].key);
		return 1;
	}
	return 0;
}

static int probe_job(const char *job)
{
	return job && (strstr(job, "blackbox") || strstr(job, "probe"));
}

static void add_dep(struct aur_subject *out, const char *name, const char *from, const char *fromkey)
{
	struct aur_subject_ref *r;
	char one[AUR_SUBJECT_NAME_MAX];

	/* a tag given twice arrives comma-separated */
	while (name && *name && out->ndeps < AUR_SUBJECT_MAX_DEPS) {
		size_t n = strcspn(name, ",");

		snprintf(one, sizeof(one), "%.*s", (int)n, name);
		name += n + (name[n] == ',');
		r = &out->dep[out->ndeps];
		aur_textvec_service_key(one, r->key, sizeof(r->key));
		/* a Redis db "0" or a flag "true" names no service */
		if (strlen(r->key) < 2 || !strpbrk(r->key, "abcdefghijklmnopqrstuvwxyz") ||
		    !strcmp(r->key, "true") || !strcmp(r->key, "false") || !strcmp(r->key, out->s.key))
			continue;
		for (size_t i = 0; i < out->ndeps; i++)
			if (!strcmp(out->dep[i].key, r->key))
				goto next;
		set_ref(r, one, from, fromkey);
		out->ndeps++;
next:;
	}
}

static void dependencies(struct aur_subject *out, jv labels, jv tags, jv context)
{
	for (int i = 0; dependency_keys[i]; i++) {
		add_dep(out, member(labels, dependency_keys[i]), "label", dependency_keys[i]);
		add_dep(out, member(tags, dependency_keys[i]), "tag", dependency_keys[i]);
	}
	/* Dynatrace: Davis' root-cause entity, when it is not the alert's own */
	if (jv_get_kind(context) == JV_KIND_OBJECT) {
		jv rc = jv_object_get(jv_copy(context), jv_string("root_cause"));

		add_dep(out, member(rc, "entity"), "Dynatrace root cause", NULL);
		jv_free(rc);
	}
}

void aur_subject_of(jv rec, struct aur_subject *out)
{
	jv labels = jv_object_get(jv_copy(rec), jv_string("labels"));
	jv tags = jv_object_get(jv_copy(rec), jv_string("tags"));
	jv context = jv_object_get(jv_copy(rec), jv_string("context"));
	const char *service = member(rec, "service");
	const char *host = member(rec, "host");
	static const struct source_key plain = { "service", "service", PLAIN };
	static const struct source_key host_key = { "host", "host", HOST };
	int found = 0;

	memset(out, 0, sizeof(*out));
	out->kind = "";
	/* a service named as such, unless it is the exporter's or the host standing in */
	if (service && !is_exporter(service) && !(host && !strcmp(service, host))) {
		if (strchr(service, '/')) {
			if (path_key(service, out->s.key, sizeof(out->s.key))) {
				out->kind = "workload";
				set_ref(&out->s, service, "log file", NULL);
				found = 1;
			}
		} else if (key_of(&plain, service, out->s.key, sizeof(out->s.key))) {
			out->kind = "service";
			set_ref(&out->s, service, "service", NULL);
			found = 1;
		}
	}
	if (!found)
		found = from_table(out, labels, label_keys, "label");
	if (!found)
		found = from_table(out, tags, tag_keys, "tag");
	if (!found && (probe_job(member(labels, "job")) || (member(labels, "instance") &&
							     strstr(member(labels, "instance"), "://"))))
		found = from_table(out, labels, probe_keys, "label");
	if (!found)
		found = from_table(out, labels, host_keys, "label");
	if (!found && host && key_of(&host_key, host, out->s.key, sizeof(out->s.key))) {
		out->kind = "host";
		set_ref(&out->s, host, "host", NULL);
	}
	dependencies(out, labels, tags, context);
	jv_free(labels);
	jv_free(tags);
	jv_free(context);
}

int aur_subject_is_heartbeat(jv rec)
{
	static const char *const names[] = {
		"watchdog", "deadmansswitch", "deadmanssnitch", "infoinhibitor", "heartbeat", NULL,
	};
	jv labels = jv_object_get(jv_copy(rec), jv_string("labels"));
	jv context = jv_object_get(jv_copy(rec), jv_string("context"));
	const char *name = member(labels, "alertname");
	char low[64];
	size_t n = 0;
	int hit = 0;

	if (!name)
		name = member(context, "alertname");
	for (; name && name[n] && n + 1 < sizeof(low); n++)
		low[n] = (char)tolower((unsigned char)name[n]);
	low[n] = '\0';
	if (name)
		hit = in_list(names, low);
	jv_free(labels);
	jv_free(context);
	return hit;
}

static jv ref_json(const struct aur_subject_ref *r)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("name"), jv_string(r->name));
	o = jv_object_set(o, jv_string("key"), jv_string(r->key));
	return jv_object_set(o, jv_string("from"), jv_string(r->from));
}

jv aur_subject_json(const struct aur_subject *s)
{
	jv o = s->s.key[0] ? ref_json(&s->s) : jv_object();
	jv deps = jv_array();

	o = jv_object_set(o, jv_string("kind"), s->kind[0] ? jv_string(s->kind) : jv_null());
	for (size_t i = 0; i < s->ndeps; i++)
		deps = jv_array_append(deps, ref_json(&s->dep[i]));
	return jv_object_set(o, jv_string("depends_on"), deps);
}
