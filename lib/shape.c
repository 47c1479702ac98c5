#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "form.h"
#include "jvio.h"
#include "shape.h"
#include "banned.h"

/* Longest field name compared; longer names match nothing we look for. */
#define KEY_MAX 64
/* Most fields one platform looks for. */
#define WANT_MAX 24

enum kind { K_NONE = 0, K_OBJECT, K_ARRAY, K_STRING, K_NUMBER, K_BOOL, K_NULL, K_ANY };

static const char *const kind_names[] = {
	[K_NONE] = "nothing", [K_OBJECT] = "an object", [K_ARRAY] = "an array", [K_STRING] = "a string",
	[K_NUMBER] = "a number", [K_BOOL] = "a boolean", [K_NULL] = "null", [K_ANY] = "anything",
};

/*
 * A field looked for: its name, whether it matches loosely (case and
 * separators ignored), and the kind that settles it alone (K_ANY: any value
 * but null; K_NONE: it only counts with others). A field that settles it
 * ends the scan there: an Alertmanager body is known by its "alerts" array,
 * usually its third field, without reading the alerts.
 */
struct want {
	const char *key; /* loose ones written normalized: lowercase letters and digits */
	int loose;
	enum kind enough;
};

/* What was found for each wanted field: its kind and its value's text. */
struct found {
	enum kind kind;
	size_t at;
	size_t len;
};

struct scan {
	const unsigned char *s;
	size_t n;
	size_t i;
};

/* Whitespace as libjq reads it (it also takes \f and \v, and the receiver lets libjq decide). */
static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void skip_ws(struct scan *t)
{
	while (t->i < t->n && is_ws(t->s[t->i]))
		t->i++;
}

static enum kind kind_at(const struct scan *t)
{
	if (t->i >= t->n)
		return K_NONE;
	switch (t->s[t->i]) {
	case '{': return K_OBJECT;
	case '[': return K_ARRAY;
	case '"': return K_STRING;
	case 't':
	case 'f': return K_BOOL;
	case 'n': return K_NULL;
	default: return K_NUMBER;
	}
}

/* Past the string starting at t->i (its opening quote). 0, or -1 when it does not end. */
static int skip_string(struct scan *t)
{
	for (t->i++; t->i < t->n; t->i++) {
		if (t->s[t->i] == '\\')
			t->i++;
		else if (t->s[t->i] == '"')
			break;
	}
	if (t->i >= t->n)
		return -1;
	t->i++;
	return 0;
}

/*
 * Past the value at t->i. Nested values are skipped by counting brackets
 * outside strings: the text is JSON already, so they pair up. 0, or -1 when
 * the text ends first.
 */
static int skip_value(struct scan *t)
{
	size_t depth = 0;

	if (t->i >= t->n)
		return -1;
	if (t->s[t->i] == '"')
		return skip_string(t);
	if (t->s[t->i] != '{' && t->s[t->i] != '[') {
		while (t->i < t->n && !is_ws(t->s[t->i]) && t->s[t->i] != ',' && t->s[t->i] != '}' &&
		       t->s[t->i] != ']')
			t->i++;
		return 0;
	}
	while (t->i < t->n) {
		unsigned char c = t->s[t->i];

		if (c == '"') {
			if (skip_string(t) < 0)
				return -1;
			continue;
		}
		t->i++;
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return 0;
		}
	}
	return -1;
}

static int hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned char c = p[k];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Read the field name at t->i (a string) into key, escapes decoded; a
 * character past ASCII becomes 0xff, which no wanted name holds. *klen is
 * KEY_MAX + 1 when the name is longer than KEY_MAX. 0, or -1.
 */
static int read_key(struct scan *t, char *key, size_t *klen)
{
	size_t len = 0;

	for (t->i++; t->i < t->n && t->s[t->i] != '"'; t->i++) {
		unsigned char c = t->s[t->i];
		unsigned u;

		if (c == '\\') {
			if (++t->i >= t->n)
				return -1;
			c = t->s[t->i];
			if (c == 'u') {
				if (t->i + 4 >= t->n || hex4(t->s + t->i + 1, &u) < 0)
					return -1;
				t->i += 4;
				c = u < 0x80 ? (unsigned char)u : 0xff;
			} else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f') {
				c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : '\f';
			}
		} else if (c >= 0x80) {
			c = 0xff;
		}
		if (len < KEY_MAX)
			key[len] = (char)c;
		len++;
	}
	if (t->i >= t->n)
		return -1;
	t->i++;
	*klen = len > KEY_MAX ? KEY_MAX + 1 : len;
	return 0;
}

/* key as a loose name: lowercase letters and digits only ("Alert_ID" -> "alertid"). */
static size_t loosen(const char *key, size_t len, char *out)
{
	size_t m = 0;

	for (size_t k = 0; k < len; k++) {
		char c = key[k];

		if (c >= 'A' && c <= 'Z')
			out[m++] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[m++] = c;
	}
	return m;
}

/* Which of w the field key is (a name matches one at most), or -1. */
static int which(const struct want *w, size_t nw, const char *key, size_t klen)
{
	char loose[KEY_MAX];
	size_t llen;

	if (klen > KEY_MAX)
		return -1;
	llen = loosen(key, klen, loose);
	for (size_t k = 0; k < nw; k++) {
		size_t wl = strlen(w[k].key);

		if (w[k].loose ? (wl == llen && !memcmp(w[k].key, loose, llen))
			       : (wl == klen && !memcmp(w[k].key, key, klen)))
			return (int)k;
	}
	return -1;
}

/* Does a value of kind settle the check for w? */
static int settles(const struct want *w, enum kind kind)
{
	return (w->enough == K_ANY && kind != K_NULL) || (w->enough != K_NONE && w->enough == kind);
}

/*
 * The members of the object whose text is s[0..n) (from its '{'): for each
 * of w, what it holds. 0; 1 when a field that settles the check was found
 * (the scan stops there); -1 when the text cannot be read.
 */
static int scan_object(const unsigned char *s, size_t n, const struct want *w, size_t nw, struct found *found)
{
	struct scan t = { s, n, 0 };
	char key[KEY_MAX];
	size_t klen;
	int k;

	memset(found, 0, nw * sizeof(*found));
	skip_ws(&t);
	if (kind_at(&t) != K_OBJECT)
		return -1;
	t.i++;
	for (;;) {
		struct found v;

		skip_ws(&t);
		if (t.i < t.n && t.s[t.i] == '}')
			return 0;
		if (kind_at(&t) != K_STRING || read_key(&t, key, &klen) < 0)
			return -1;
		skip_ws(&t);
		if (t.i >= t.n || t.s[t.i] != ':')
			return -1;
		t.i++;
		skip_ws(&t);
		v.kind = kind_at(&t);
		v.at = t.i;
		k = which(w, nw, key, klen);
		/* settled before its value is read: the alerts are never scanned */
		if (k >= 0 && settles(&w[k], v.kind))
			return 1;
		if (skip_value(&t) < 0)
			return -1;
		v.len = t.i - v.at;
		if (k >= 0)
			found[k] = v; /* the last of a repeated field wins, as in jq */
		skip_ws(&t);
		if (t.i < t.n && t.s[t.i] == ',')
			t.i++;
		else if (t.i < t.n && t.s[t.i] == '}')
			return 0;
		else
			return -1;
	}
}

/* Present with a value (jq's .key != null: a null field is a missing one). */
static int has(const struct found *f)
{
	return f->kind != K_NONE && f->kind != K_NULL;
}

/* Any of found[from..to) present. */
static int any(const struct found *f, size_t from, size_t to)
{
	for (size_t k = from; k < to; k++)
		if (has(&f[k]))
			return 1;
	return 0;
}

/* One platform's check: 0 fits, else -EINVAL with why (the "not a X webhook: " prefix is added). */
struct shape {
	const char *platform;
	const char *what;   /* "an Alertmanager webhook" */
	const struct want *want;
	size_t nwant;
	int (*check)(const unsigned char *body, const struct found *f, char *why, size_t n);
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Grafana: unified alerting's "alerts" array (also Cloud's Alertmanager format), or a legacy rule. */
static const struct want grafana_want[] = {
	{ "alerts", 0, K_ARRAY }, { "ruleId", 0, K_ANY }, { "ruleName", 0, K_ANY }, { "ruleUrl", 0, K_ANY },
	{ "evalMatches", 0, K_ANY },
};

static int grafana(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (f[0].kind == K_ARRAY || any(f, 1, COUNT(grafana_want)))
		return 0;
	if (has(&f[0]))
		snprintf(why, n, "\"alerts\" is %s, not an array", kind_names[f[0].kind]);
	else
		snprintf(why, n, "no \"alerts\" array (unified alerting) and no ruleId, ruleName, ruleUrl or"
				 " evalMatches (legacy alerting)");
	return -EINVAL;
}

/* Alertmanager: webhook version 4 and every other: an "alerts" array. */
static const struct want alertmanager_want[] = { { "alerts", 0, K_ARRAY } };

static int alertmanager(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (f[0].kind == K_ARRAY)
		return 0;
	if (has(&f[0]))
		snprintf(why, n, "\"alerts\" is %s, not an array", kind_names[f[0].kind]);
	else
		snprintf(why, n, "no \"alerts\" array");
	return -EINVAL;
}

/* PagerDuty: V3 one "event" object; V1 and V2 a "messages" array. */
static const struct want pagerduty_want[] = { { "event", 0, K_OBJECT }, { "messages", 0, K_ARRAY } };

static int pagerduty(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (f[0].kind == K_OBJECT || f[1].kind == K_ARRAY)
		return 0;
	if (has(&f[0]))
		snprintf(why, n, "\"event\" is %s, not an object", kind_names[f[0].kind]);
	else if (has(&f[1]))
		snprintf(why, n, "\"messages\" is %s, not an array", kind_names[f[1].kind]);
	else
		snprintf(why, n, "no \"event\" object (V3) and no \"messages\" array (V1, V2)");
	return -EINVAL;
}

/*
 * Datadog: the payload is the user's template, so any field of the default
 * template or named after one of Datadog's $VARIABLES will do.
 */
static const struct want datadog_want[] = {
	{ "id", 1, K_ANY },           { "title", 1, K_ANY },        { "body", 1, K_ANY },          { "eventtitle", 1, K_ANY },
	{ "eventmsg", 1, K_ANY },     { "eventtype", 1, K_ANY },    { "textonlymsg", 1, K_ANY },   { "alertid", 1, K_ANY },
	{ "alerttitle", 1, K_ANY },   { "alertstatus", 1, K_ANY },  { "alertcyclekey", 1, K_ANY }, { "alerttransition", 1, K_ANY },
	{ "alerttype", 1, K_ANY },    { "alertpriority", 1, K_ANY }, { "alertscope", 1, K_ANY },   { "alertquery", 1, K_ANY },
	{ "alertmetric", 1, K_ANY },  { "aggregkey", 1, K_ANY },    { "monitorid", 1, K_ANY },     { "transition", 1, K_ANY },
	{ "lastupdated", 1, K_ANY },  { "date", 1, K_ANY },         { "tags", 1, K_ANY },          { "hostname", 1, K_ANY },
};

static int datadog(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (any(f, 0, COUNT(datadog_want)))
		return 0;
	snprintf(why, n, "none of the fields of Datadog's default payload or of a template of its variables"
			 " (title, body, alert_id, alert_cycle_key, alert_transition, alert_type, event_type, date,"
			 " tags, ...)");
	return -EINVAL;
}

/*
 * Netdata: the Agent's custom_sender (alarm, alarm_id, name and status),
 * Cloud's alert (alert, alert_url), its test (token) and its reachability
 * notice (status {"reachable": ...}).
 */
static const struct want netdata_want[] = {
	{ "alarm", 1, K_ANY }, { "alarmid", 1, K_ANY }, { "uniqueid", 1, K_ANY }, { "alert", 1, K_ANY },
	{ "alerturl", 1, K_ANY }, { "alarmurl", 1, K_ANY }, { "token", 1, K_ANY }, { "name", 1, K_NONE },
	{ "status", 1, K_NONE },
};
static const struct want reachable_want[] = { { "reachable", 0, K_NONE } };

static int netdata(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	struct found r;

	if (any(f, 0, 7) || (has(&f[7]) && has(&f[8])))
		return 0;
	if (f[8].kind == K_OBJECT && scan_object(body + f[8].at, f[8].len, reachable_want, 1, &r) == 0 &&
	    r.kind != K_NONE)
		return 0;
	snprintf(why, n, "no alarm, alarm_id or name and status (Agent), and no alert, token or reachability"
			 " status (Cloud)");
	return -EINVAL;
}

/* Dynatrace: a custom template of problem placeholders, under whatever names it gives them. */
static const struct want dynatrace_want[] = {
	{ "pid", 1, K_ANY },                  { "problemid", 1, K_ANY },           { "problemtitle", 1, K_ANY },
	{ "problemurl", 1, K_ANY },           { "problemseverity", 1, K_ANY },     { "problemimpact", 1, K_ANY },
	{ "problemdetailsjson", 1, K_ANY },   { "problemdetailsjsonv2", 1, K_ANY }, { "problemdetailstext", 1, K_ANY },
	{ "problemdetailshtml", 1, K_ANY },   { "problemdetailsmarkdown", 1, K_ANY }, { "impactedentity", 1, K_ANY },
	{ "impactedentities", 1, K_ANY },     { "impactedentitynames", 1, K_ANY }, { "namesofimpactedentities", 1, K_ANY },
	{ "state", 1, K_ANY },                { "displayid", 1, K_ANY },           { "problem", 1, K_ANY },
};

static int dynatrace(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (any(f, 0, COUNT(dynatrace_want)))
		return 0;
	snprintf(why, n, "none of the problem placeholders' fields (PID, ProblemID, ProblemTitle, State,"
			 " ProblemSeverity, ImpactedEntities, ProblemDetailsJSON, ...)");
	return -EINVAL;
}

/* Splunk: the webhook alert action's sid, search_name, results_link, result. */
static const struct want splunk_want[] = {
	{ "sid", 0, K_ANY }, { "search_name", 0, K_ANY }, { "results_link", 0, K_ANY }, { "result", 0, K_ANY },
};

static int splunk(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (any(f, 0, COUNT(splunk_want)))
		return 0;
	snprintf(why, n, "no sid, search_name, results_link or result");
	return -EINVAL;
}

/*
 * Jenkins and CloudBees CI: the Notification plugin's "build" (with or
 * without a phase), and the other notifiers' fields (Outbound WebHook,
 * Global Build Notification, Statistics Gatherer, Lightstep incident
 * response, a pipeline's own httpRequest).
 */
static const struct want jenkins_want[] = {
	{ "build", 1, K_ANY },      { "buildnumber", 1, K_ANY }, { "buildurl", 1, K_ANY },   { "buildname", 1, K_ANY },
	{ "buildstatus", 1, K_ANY }, { "buildresult", 1, K_ANY }, { "jobname", 1, K_ANY },   { "projectname", 1, K_ANY },
	{ "fullname", 1, K_ANY },   { "fullurl", 1, K_ANY },     { "eventtype", 1, K_ANY },  { "phase", 1, K_ANY },
	{ "result", 1, K_ANY },     { "job", 1, K_ANY },        { "ciurl", 1, K_ANY },
	{ "jenkinsurl", 1, K_ANY }, { "fulljobname", 1, K_ANY }, { "jenkinsqueueid", 1, K_ANY },
	{ "buildid", 1, K_ANY },    { "buildnum", 1, K_ANY },    { "buildstatusurl", 1, K_ANY },
	{ "buildstatussummary", 1, K_ANY },
};

static int jenkins(const unsigned char *body, const struct found *f, char *why, size_t n)
{
	(void)body;
	if (any(f, 0, COUNT(jenkins_want)))
		return 0;
	snprintf(why, n, "no \"build\" object (Notification plugin) and none of the other notifiers' fields"
			 " (jobName, projectName, build_number, build_url, result, ciUrl, ...)");
	return -EINVAL;
}

/* The platforms with a check; any other has none. */
static const struct shape shapes[] = {
	{ "grafana", "a Grafana webhook", grafana_want, COUNT(grafana_want), grafana },
	{ "alertmanager", "an Alertmanager webhook", alertmanager_want, COUNT(alertmanager_want), alertmanager },
	{ "pagerduty", "a PagerDuty webhook", pagerduty_want, COUNT(pagerduty_want), pagerduty },
	{ "datadog", "a Datadog webhook", datadog_want, COUNT(datadog_want), datadog },
	{ "netdata", "a Netdata notification", netdata_want, COUNT(netdata_want), netdata },
	{ "dynatrace", "a Dynatrace problem notification", dynatrace_want, COUNT(dynatrace_want), dynatrace },
	{ "splunk", "a Splunk webhook", splunk_want, COUNT(splunk_want), splunk },
	{ "jenkins", "a Jenkins build notification", jenkins_want, COUNT(jenkins_want), jenkins },
	{ "cloudbees", "a CloudBees CI build notification", jenkins_want, COUNT(jenkins_want), jenkins },
};

static const struct shape *shape_of(const char *platform)
{
	for (size_t k = 0; platform && k < COUNT(shapes); k++)
		if (!strcmp(shapes[k].platform, platform))
			return &shapes[k];
	return NULL;
}

int aur_shape_check(const char *platform, const void *body, size_t len, char *why, size_t n)
{
	const struct shape *sh = shape_of(platform);
	struct found found[WANT_MAX];
	struct scan t = { body, len, 0 };
	char detail[512];
	enum kind top;
	int rc;

	if (!sh)
		return 0;
	/* libjq takes a UTF-8 byte order mark */
	if (len >= 3 && !memcmp(body, "\xef\xbb\xbf", 3))
		t.i = 3;
	skip_ws(&t);
	top = kind_at(&t);
	if (top == K_NONE || (top == K_NUMBER && t.s[t.i] != '-' && (t.s[t.i] < '0' || t.s[t.i] > '9')))
		return 0; /* nothing this scanner knows: lenient */
	if (top != K_OBJECT) {
		snprintf(why, n, "not %s: the body is %s, not an object", sh->what, kind_names[top]);
		return -EINVAL;
	}
	rc = sh->nwant > WANT_MAX ? -1 : scan_object(t.s + t.i, t.n - t.i, sh->want, sh->nwant, found);
	if (rc != 0)
		return 0; /* settled by one field; or unreadable here, and the mapping decides */
	if (sh->check(t.s + t.i, found, detail, sizeof(detail)) == 0)
		return 0;
	snprintf(why, n, "not %s: %s", sh->what, detail);
	return -EINVAL;
}

/*
 * The JSON text a lone payload, json or data field of fields holds, when it
 * is an object (lib/mappings/datadog.jq, fields: text with a NUL is not
 * read); borrowed from fields. NULL otherwise.
 */
static const char *form_wrapped_json(jv fields, size_t *len)
{
	static const char *const wrappers[] = { "payload", "json", "data" };

	if (jv_object_length(jv_copy(fields)) != 1)
		return NULL;
	for (size_t k = 0; k < COUNT(wrappers); k++) {
		jv str = jv_object_get(jv_copy(fields), jv_string(wrappers[k]));
		const char *s;
		jv inner;
		int object = 0;

		if (jv_get_kind(str) != JV_KIND_STRING) {
			jv_free(str);
			continue;
		}
		/* fields holds the string too: it outlives str */
		s = jv_string_value(str);
		*len = (size_t)jv_string_length_bytes(jv_copy(str));
		jv_free(str);
		if (!memchr(s, '\0', *len) && aur_jvio_parse(s, *len, &inner, NULL, 0) == 0) {
			object = jv_get_kind(inner) == JV_KIND_OBJECT;
			jv_free(inner);
		}
		return object ? s : NULL;
	}
	return NULL;
}

int aur_shape_check_form(const char *platform, const void *body, size_t len, char *why, size_t n)
{
	jv fields;
	struct aur_buf text;
	const char *wrapped;
	size_t wlen = 0;
	int rc = 0;

	if (!shape_of(platform))
		return 0;
	fields = aur_form_decode(body, len);
	wrapped = form_wrapped_json(fields, &wlen);
	if (wrapped) {
		rc = aur_shape_check(platform, wrapped, wlen, why, n);
	} else {
		/* a decoded byte is at most six as JSON (\u0001); anything past that is not judged */
		aur_buf_init(&text, len * 6 + 64);
		if (aur_jvio_dump(fields, &text) == 0)
			rc = aur_shape_check(platform, text.data, text.len, why, n);
		aur_buf_release(&text);
	}
	jv_free(fields);
	return rc;
}
