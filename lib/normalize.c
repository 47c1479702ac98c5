#define _DEFAULT_SOURCE /* realpath */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "db.h"
#include "embed.h"
#include "form.h"
#include "jsonl.h"
#include "jvio.h"
#include "normalize.h"
#include "record.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* a mapping file larger than this is not a mapping */
#define MAX_MAPPING_BYTES ((size_t)1024 * 1024)
/* records one raw record may produce (a 16 MiB line holds ~100k alerts) */
#define MAX_RECORDS_PER_LINE 1000000u
/* bytes of output one raw record may produce */
#define MAX_OUTPUT_BYTES ((size_t)1024 * 1024 * 1024)

/* keys of the raw record */
enum raw_field { R_TYPE, R_PLATFORM, R_ID, R_RECEIVED_AT, R_HEADERS, R_BODY, R_CONTENT_TYPE, R_TEST, R_COUNT };

static const char *const raw_names[R_COUNT] = {
	"type", "platform", "id", "received_at", "headers", "body", "content-type", "test",
};

struct mapping {
	char *platform;  /* owned */
	char *origin;    /* owned: "built-in" or the file's path */
	char *program;   /* owned text of an operator's file; NULL for a built-in */
	const char *text;
	int user;        /* from the operator's directory */
	jq_state *jq;    /* NULL until compiled */
};

struct aur_normalizer {
	struct mapping *maps;
	size_t nmaps;
	struct mapping *last;      /* the mapping used last, looked at first */
	char *libdir;              /* absolute operator directory, for include/import */
	char *default_platform;
	jv config;
	jv rkeys[R_COUNT];
	struct aur_record_printer *printer;
	jv *outs;                  /* one raw record's output, before checking */
	size_t nouts;
	size_t capouts;
	struct aur_buf msgs;       /* jq's compile messages */
	char remark[512];
};

static jv get(jv obj, jv key)
{
	return jv_object_get(jv_copy(obj), jv_copy(key));
}

static size_t str_len(jv s)
{
	return (size_t)jv_string_length_bytes(jv_copy(s));
}

/* ---- compiling -------------------------------------------------------- */

/* jq's error callback while compiling: keep the first line of each message. */
static void compile_msg(void *data, jv msg)
{
	struct aur_buf *b = data;
	jv s = jv_get_kind(msg) == JV_KIND_STRING ? msg : jq_format_error(msg);
	const char *text;
	size_t len, digits;

	if (jv_get_kind(s) != JV_KIND_STRING) {
		jv_free(s);
		return;
	}
	text = jv_string_value(s);
	if (!strncmp(text, "jq: error: ", 11))
		text += 11;
	else if (!strncmp(text, "jq: ", 4))
		text += 4;
	/* "jq: 2 compile errors" only counts the messages before it */
	digits = strspn(text, "0123456789");
	if (digits > 0 && !strncmp(text + digits, " compile error", 14)) {
		jv_free(s);
		return;
	}
	len = strcspn(text, "\n");
	while (len && (text[len - 1] == ':' || text[len - 1] == ' '))
		len--;
	if (b->len)
		aur_buf_add(b, "; ", 2);
	aur_buf_add(b, text, len);
	jv_free(s);
}

static int compile(struct aur_normalizer *n, struct mapping *m, char *err, size_t errlen)
{
	jv arg, args;

	aur_buf_reset(&n->msgs);
	m->jq = jq_init();
	if (!m->jq) {
		snprintf(err, errlen, "mapping %s: out of memory", m->origin);
		return -ENOMEM;
	}
	jq_set_error_cb(m->jq, compile_msg, &n->msgs);
	if (m->user && n->libdir)
		jq_set_attr(m->jq, jv_string("JQ_LIBRARY_PATH"),
			    jv_array_append(jv_array(), jv_string(n->libdir)));
	arg = jv_object_set(jv_object(), jv_string("name"), jv_string("config"));
	arg = jv_object_set(arg, jv_string("value"), jv_copy(n->config));
	args = jv_array_append(jv_array(), arg);
	if (!jq_compile_args(m->jq, m->text, args)) {
		snprintf(err, errlen, "mapping %s does not compile: %s", m->origin,
			 n->msgs.len ? n->msgs.data : "unknown error");
		jq_teardown(&m->jq);
		m->jq = NULL;
		return -EINVAL;
	}
	return 0;
}

/* ---- set-up ----------------------------------------------------------- */

static struct mapping *find_mapping(struct aur_normalizer *n, const char *platform)
{
	if (n->last && !strcasecmp(n->last->platform, platform))
		return n->last;
	for (size_t i = 0; i < n->nmaps; i++) {
		if (!strcasecmp(n->maps[i].platform, platform)) {
			n->last = &n->maps[i];
			return n->last;
		}
	}
	return NULL;
}

static struct mapping *add_mapping(struct aur_normalizer *n, const char *platform)
{
	struct mapping *m = find_mapping(n, platform);

	if (m) {
		free(m->origin);
		free(m->program);
		m->origin = NULL;
		m->program = NULL;
		return m;
	}
	n->maps = aur_xrealloc(n->maps, (n->nmaps + 1) * sizeof(*n->maps));
	n->last = NULL;
	m = &n->maps[n->nmaps++];
	memset(m, 0, sizeof(*m));
	m->platform = aur_xstrdup(platform);
	return m;
}

static void add_builtin(const char *name, const char *data, size_t len, void *arg)
{
	struct aur_normalizer *n = arg;
	struct mapping *m;

	(void)len;
	m = add_mapping(n, name);
	m->origin = aur_xstrdup("built-in");
	m->text = data;
}

/* a platform name: letters, digits, '-' and '_', not starting with '_' */
static int platform_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '_')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct aur_buf b;
	char chunk[8192];
	size_t got;
	int rc = -EIO;

	aur_buf_init(&b, MAX_MAPPING_BYTES);
	if (!f) {
		snprintf(err, errlen, "mapping %s: %s", path, strerror(errno));
		goto out;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (aur_buf_add(&b, chunk, got) < 0) {
			snprintf(err, errlen, "mapping %s: larger than %zu bytes", path, MAX_MAPPING_BYTES);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "mapping %s: read error", path);
		goto out;
	}
	*out = aur_buf_detach(&b, NULL);
	rc = 0;
out:
	if (f)
		fclose(f);
	aur_buf_release(&b);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct aur_normalizer *n, const char *dir, char *err, size_t errlen)
{
	DIR *d = NULL;
	struct dirent *e;
	char **names = NULL;
	size_t nnames = 0;
	struct aur_buf path;
	int rc = -EIO;

	aur_buf_init(&path, PATH_MAX);
	d = opendir(dir);
	if (!d) {
		rc = errno == ENOTDIR ? -ENOTDIR : errno == ENOENT ? -ENOENT : -EIO;
		snprintf(err, errlen, "mappings directory %s: %s", dir, strerror(errno));
		goto out;
	}
	n->libdir = realpath(dir, NULL);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 3 || strcmp(e->d_name + len - 3, ".jq") != 0 ||
		    !platform_name_ok(e->d_name, len - 3))
			continue;
		names = aur_xrealloc(names, (nnames + 1) * sizeof(*names));
		names[nnames++] = aur_xstrndup(e->d_name, len - 3);
	}
	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nnames; i++) {
		struct mapping *m;
		char *text = NULL;

		aur_buf_reset(&path);
		if (aur_buf_addf(&path, "%s/%s.jq", dir, names[i]) < 0) {
			snprintf(err, errlen, "mappings directory %s: path too long", dir);
			goto out;
		}
		rc = read_file(path.data, &text, err, errlen);
		if (rc < 0)
			goto out;
		m = add_mapping(n, names[i]);
		if (m->jq)
			jq_teardown(&m->jq);
		m->jq = NULL;
		m->origin = aur_xstrdup(path.data);
		m->program = text;
		m->text = text;
		m->user = 1;
		rc = compile(n, m, err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	aur_buf_release(&path);
	return rc;
}

/* "a, b,c" -> ["a","b","c"]; NULL -> the defaults */
static jv field_list(const char *csv, const char *defaults)
{
	jv list = jv_array();
	const char *p = csv ? csv : defaults;

	while (*p) {
		size_t len = strcspn(p, ",");
		size_t a = 0, z = len;

		while (a < z && isspace((unsigned char)p[a]))
			a++;
		while (z > a && isspace((unsigned char)p[z - 1]))
			z--;
		if (z > a)
			list = jv_array_append(list, jv_string_sized(p + a, (int)(z - a)));
		p += len;
		if (*p == ',')
			p++;
	}
	return list;
}

/*
 * Base URLs from the connectors table, for the platforms not set yet, into
 * *base. A missing database is a remark; a file that is not an aurora
 * database is -ENODATA with err set (the wrong file was named).
 */
static int read_db_base_urls(struct aur_normalizer *n, const char *path, jv *base, char *err, size_t errlen)
{
	struct aur_db_options o;
	struct stat st;
	sqlite3 *db = NULL;
	sqlite3_stmt *st_urls = NULL;
	char e[256] = "";
	int rc = 0;

	if (stat(path, &st) != 0) {
		snprintf(n->remark, sizeof(n->remark),
			 "database %s does not exist; no connector base URLs read", path);
		goto out;
	}
	aur_db_options_init(&o);
	o.readonly = 1;
	rc = aur_db_open(&db, path, &o, e, sizeof(e));
	if (rc == -ENODATA) {
		snprintf(err, errlen, "--db: %s", e);
		goto out;
	}
	if (rc < 0) {
		rc = 0;
		snprintf(n->remark, sizeof(n->remark), "connector base URLs not read: %s", e);
		goto out;
	}
	if (aur_db_prepare(db, &st_urls,
			   "SELECT platform, base_url FROM connectors"
			   " WHERE base_url IS NOT NULL AND base_url <> ''",
			   e, sizeof(e)) < 0) {
		snprintf(n->remark, sizeof(n->remark), "connector base URLs not read from %s: %s", path, e);
		goto out;
	}
	while (sqlite3_step(st_urls) == SQLITE_ROW) {
		const char *platform = (const char *)sqlite3_column_text(st_urls, 0);
		const char *url = (const char *)sqlite3_column_text(st_urls, 1);
		jv have;

		if (!platform || !url)
			continue;
		have = jv_object_get(jv_copy(*base), jv_string(platform));
		if (!jv_is_valid(have))
			*base = jv_object_set(*base, jv_string(platform), jv_string(url));
		jv_free(have);
	}
out:
	sqlite3_finalize(st_urls);
	aur_db_close(db);
	return rc;
}

int aur_normalize_new(struct aur_normalizer **out, const struct aur_normalize_options *o,
		      char *err, size_t errlen)
{
	struct aur_normalizer *n = aur_xcalloc(1, sizeof(*n));
	jv base, splunk;
	int rc = -EIO;

	*out = NULL;
	for (int i = 0; i < R_COUNT; i++)
		n->rkeys[i] = jv_string(raw_names[i]);
	n->config = jv_null();
	aur_buf_init(&n->msgs, 4096);
	n->printer = aur_record_printer_new();
	if (o->default_platform && *o->default_platform)
		n->default_platform = aur_xstrdup(o->default_platform);

	base = jv_object();
	if (o->jenkins_url && *o->jenkins_url)
		base = jv_object_set(base, jv_string("jenkins"), jv_string(o->jenkins_url));
	if (o->cloudbees_url && *o->cloudbees_url)
		base = jv_object_set(base, jv_string("cloudbees"), jv_string(o->cloudbees_url));
	if (o->prometheus_url && *o->prometheus_url)
		base = jv_object_set(base, jv_string("alertmanager"), jv_string(o->prometheus_url));
	if (o->db_path && *o->db_path) {
		rc = read_db_base_urls(n, o->db_path, &base, err, errlen);
		if (rc < 0) {
			jv_free(base);
			goto out;
		}
	}
	splunk = jv_object();
	splunk = jv_object_set(splunk, jv_string("service_fields"),
			       field_list(o->splunk_service_fields, "service,service_name,app"));
	splunk = jv_object_set(splunk, jv_string("severity_fields"),
			       field_list(o->splunk_severity_fields, "severity,urgency,log_level"));
	splunk = jv_object_set(splunk, jv_string("host_fields"), field_list(o->splunk_host_fields, "host"));
	splunk = jv_object_set(splunk, jv_string("status_fields"),
			       field_list(o->splunk_status_fields, "aurora_status,alert_status,status"));
	jv_free(n->config);
	n->config = jv_object_set(jv_object_set(jv_object(), jv_string("base_url"), base),
				  jv_string("splunk"), splunk);

	aur_embed_each("mappings", add_builtin, n);
	if (o->mappings_dir && *o->mappings_dir) {
		rc = load_dir(n, o->mappings_dir, err, errlen);
		if (rc < 0)
			goto out;
	}
	*out = n;
	n = NULL;
	rc = 0;
out:
	aur_normalize_free(n);
	return rc;
}

void aur_normalize_free(struct aur_normalizer *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nmaps; i++) {
		if (n->maps[i].jq)
			jq_teardown(&n->maps[i].jq);
		free(n->maps[i].platform);
		free(n->maps[i].origin);
		free(n->maps[i].program);
	}
	free(n->maps);
	for (size_t i = 0; i < n->nouts; i++)
		jv_free(n->outs[i]);
	free(n->outs);
	for (int i = 0; i < R_COUNT; i++)
		jv_free(n->rkeys[i]);
	jv_free(n->config);
	free(n->libdir);
	free(n->default_platform);
	aur_buf_release(&n->msgs);
	aur_record_printer_free(n->printer);
	free(n);
}

const char *aur_normalize_remark(const struct aur_normalizer *n)
{
	return n && n->remark[0] ? n->remark : NULL;
}

int aur_normalize_check(struct aur_normalizer *n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n->nmaps; i++) {
		if (!n->maps[i].jq) {
			int rc = compile(n, &n->maps[i], err, errlen);

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct mapping *x = *(const struct mapping *const *)a;
	const struct mapping *y = *(const struct mapping *const *)b;

	return strcmp(x->platform, y->platform);
}

void aur_normalize_each(const struct aur_normalizer *n,
			void (*fn)(const char *platform, const char *origin, void *arg), void *arg)
{
	const struct mapping **v = aur_xcalloc(n->nmaps ? n->nmaps : 1, sizeof(struct mapping *));

	for (size_t i = 0; i < n->nmaps; i++)
		v[i] = &n->maps[i];
	qsort(v, n->nmaps, sizeof(struct mapping *), cmp_mapping);
	for (size_t i = 0; i < n->nmaps; i++)
		fn(v[i]->platform, v[i]->origin, arg);
	free(v);
}

/* ---- running ---------------------------------------------------------- */

static void clear_outs(struct aur_normalizer *n)
{
	for (size_t i = 0; i < n->nouts; i++)
		jv_free(n->outs[i]);
	n->nouts = 0;
	/* a huge group grew the list: give the memory back */
	if (n->capouts > 4096) {
		free(n->outs);
		n->outs = NULL;
		n->capouts = 0;
	}
}

/* Run m on raw (consumed); the records land in n->outs. 0 or -EINVAL. */
static int run(struct aur_normalizer *n, struct mapping *m, jv raw, char *err, size_t errlen)
{
	jq_start(m->jq, raw, 0);
	for (;;) {
		jv r = jq_next(m->jq);

		if (!jv_is_valid(r)) {
			if (jv_invalid_has_msg(jv_copy(r))) {
				jv msg = jv_invalid_get_msg(r);

				aur_jvio_describe(msg, err, errlen);
				jv_free(msg);
				return -EINVAL;
			}
			jv_free(r);
			if (jq_halted(m->jq)) {
				snprintf(err, errlen, "mapping halted");
				return -EINVAL;
			}
			return 0;
		}
		if (n->nouts >= MAX_RECORDS_PER_LINE) {
			jv_free(r);
			snprintf(err, errlen, "mapping emitted more than %u records", MAX_RECORDS_PER_LINE);
			return -EINVAL;
		}
		if (n->nouts == n->capouts) {
			n->capouts = n->capouts ? n->capouts * 2 : 64;
			n->outs = aur_xrealloc(n->outs, n->capouts * sizeof(*n->outs));
		}
		n->outs[n->nouts++] = r;
	}
}

/* A raw record whose body is form text that nobody decoded yet: decode it. */
static jv decode_form_body(struct aur_normalizer *n, jv raw)
{
	jv body = get(raw, n->rkeys[R_BODY]);
	jv headers, ctype;

	if (jv_get_kind(body) != JV_KIND_STRING) {
		jv_free(body);
		return raw;
	}
	headers = get(raw, n->rkeys[R_HEADERS]);
	ctype = jv_get_kind(headers) == JV_KIND_OBJECT ? get(headers, n->rkeys[R_CONTENT_TYPE]) : jv_null();
	if (jv_get_kind(ctype) == JV_KIND_STRING && aur_form_is_type(jv_string_value(ctype)))
		raw = jv_object_set(raw, jv_copy(n->rkeys[R_BODY]),
				    aur_form_decode(jv_string_value(body), str_len(body)));
	jv_free(ctype);
	jv_free(headers);
	jv_free(body);
	return raw;
}

/* a platform name fit to quote in a message */
static void quote_platform(jv p, char *out, size_t outlen)
{
	const char *s = jv_string_value(p);
	size_t len = str_len(p);

	if (platform_name_ok(s, len))
		snprintf(out, outlen, "\"%s\"", s);
	else
		snprintf(out, outlen, "(a name that is not one)");
}

int aur_normalize_value(struct aur_normalizer *n, jv in, struct aur_buf *out,
			struct aur_normalize_result *res, char *err, size_t errlen)
{
	struct aur_record_delivery lc;
	struct aur_record_counts counts = { 0 };
	struct mapping *m;
	jv raw = jv_invalid(), type = jv_invalid(), platform = jv_invalid(), id = jv_invalid();
	jv received = jv_invalid(), body = jv_invalid(), flag = jv_invalid();
	size_t mark = out->len;
	size_t max = out->max;
	char why[512] = "";
	char prefix[128] = "";
	int rc = -EINVAL;

	if (res)
		memset(res, 0, sizeof(*res));
	if (jv_get_kind(in) == JV_KIND_OBJECT)
		type = get(in, n->rkeys[R_TYPE]);
	if (jv_get_kind(type) == JV_KIND_STRING && !strcmp(jv_string_value(type), "raw")) {
		raw = in;
	} else if (n->default_platform) {
		raw = jv_object_set(jv_object(), jv_string("v"), jv_number(1));
		raw = jv_object_set(raw, jv_string("type"), jv_string("raw"));
		raw = jv_object_set(raw, jv_string("id"), jv_null());
		raw = jv_object_set(raw, jv_string("platform"), jv_string(n->default_platform));
		raw = jv_object_set(raw, jv_string("received_at"), jv_null());
		raw = jv_object_set(raw, jv_string("headers"), jv_object());
		raw = jv_object_set(raw, jv_string("body"), in);
	} else {
		if (jv_get_kind(in) != JV_KIND_OBJECT)
			snprintf(err, errlen, "not a raw record: a JSON %s", jv_kind_name(jv_get_kind(in)));
		else if (!jv_is_valid(type))
			snprintf(err, errlen, "not a raw record: no \"type\" (give --platform for bare payloads)");
		else
			snprintf(err, errlen, "not a raw record: \"type\" is not \"raw\"");
		jv_free(in);
		goto out;
	}
	platform = get(raw, n->rkeys[R_PLATFORM]);
	if (jv_get_kind(platform) != JV_KIND_STRING || str_len(platform) == 0) {
		snprintf(err, errlen, "raw record without a platform");
		goto out;
	}
	id = get(raw, n->rkeys[R_ID]);
	if (res) {
		snprintf(res->platform, sizeof(res->platform), "%s", jv_string_value(platform));
		if (jv_get_kind(id) == JV_KIND_NUMBER && jv_number_value(id) >= 1 &&
		    jv_number_value(id) < 9007199254740992.0)
			res->inbox_id = (long long)jv_number_value(id);
	}
	if (jv_get_kind(id) == JV_KIND_NUMBER || jv_get_kind(id) == JV_KIND_STRING) {
		char idtext[48];

		aur_jvio_describe(id, idtext, sizeof(idtext));
		snprintf(prefix, sizeof(prefix), "%.64s (inbox %s): ", jv_string_value(platform), idtext);
	} else {
		snprintf(prefix, sizeof(prefix), "%.64s: ", jv_string_value(platform));
	}
	m = find_mapping(n, jv_string_value(platform));
	if (!m) {
		char q[80];

		quote_platform(platform, q, sizeof(q));
		if (!platform_name_ok(jv_string_value(platform), str_len(platform)))
			snprintf(err, errlen, "unknown platform %s: no built-in mapping%s", q,
				 n->libdir ? " and none in the mappings directory" : "");
		else if (n->libdir)
			snprintf(err, errlen, "unknown platform %s: no built-in mapping and none in the mappings"
				 " directory: add %.256s/%s.jq", q, n->libdir, jv_string_value(platform));
		else
			snprintf(err, errlen, "unknown platform %s: no built-in mapping: write %s.jq in a mappings"
				 " directory and give it with --mappings DIR or $AURORA_MAPPINGS", q,
				 jv_string_value(platform));
		goto out;
	}
	if (!m->jq) {
		rc = compile(n, m, err, errlen);
		if (rc < 0) {
			rc = -ENOEXEC;
			goto out;
		}
		rc = -EINVAL;
	}
	body = get(raw, n->rkeys[R_BODY]);
	if (!jv_is_valid(body)) {
		snprintf(err, errlen, "%sraw record without a body", prefix);
		goto out;
	}
	raw = decode_form_body(n, raw);

	lc.platform = m->platform;
	lc.platform_len = strlen(m->platform);
	lc.id = jv_get_kind(id) == JV_KIND_INVALID ? jv_null() : id;
	flag = get(raw, n->rkeys[R_TEST]);
	lc.test = jv_get_kind(flag) == JV_KIND_TRUE;
	received = get(raw, n->rkeys[R_RECEIVED_AT]);
	if (jv_get_kind(received) == JV_KIND_INVALID || jv_get_kind(received) == JV_KIND_NULL) {
		/* none given (a bare payload, a hand-written record): received as it is read */
		lc.received_ms = aur_time_now_ms();
	} else if (aur_record_time_ms(received, &lc.received_ms) < 0) {
		/* one given that cannot be read is never swapped for another time */
		char what[64];

		aur_jvio_describe(received, what, sizeof(what));
		snprintf(err, errlen, "%sreceived_at is not a time: %s", prefix, what);
		goto out;
	}
	aur_time_format_ms(lc.received_ms, lc.received, sizeof(lc.received));
	if (res)
		snprintf(res->received_at, sizeof(res->received_at), "%s", lc.received);

	clear_outs(n);
	rc = run(n, m, raw, why, sizeof(why));
	raw = jv_invalid();
	if (rc < 0) {
		snprintf(err, errlen, "%s%s", prefix, why);
		goto out;
	}
	if (out->max > mark + MAX_OUTPUT_BYTES)
		out->max = mark + MAX_OUTPUT_BYTES;
	lc.parts = n->nouts;
	for (size_t i = 0; i < n->nouts; i++) {
		lc.part = i + 1;
		rc = aur_record_print(n->printer, n->outs[i], &lc, out, &counts, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "%s%s", prefix, why);
			goto out;
		}
	}
	if (res) {
		res->alerts = counts.alerts;
		res->notes = counts.notes;
		res->tests = counts.tests;
	}
	rc = 0;
out:
	if (rc < 0 && out->len > mark) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	if (rc < 0 && res) {
		/* the reason without the prefix: the delivery is named apart */
		snprintf(res->reason, sizeof(res->reason), "%s",
			 !strncmp(err, prefix, strlen(prefix)) ? err + strlen(prefix) : err);
	}
	out->max = max;
	clear_outs(n);
	jv_free(raw);
	jv_free(type);
	jv_free(platform);
	jv_free(id);
	jv_free(received);
	jv_free(body);
	jv_free(flag);
	return rc;
}

int aur_normalize_line(struct aur_normalizer *n, const char *line, size_t len,
		       struct aur_buf *out, struct aur_normalize_result *res,
		       char *err, size_t errlen)
{
	jv v;
	char why[256];

	if (res)
		memset(res, 0, sizeof(*res));
	if (aur_jvio_parse(line, len, &v, why, sizeof(why)) < 0) {
		aur_jsonl_invalid(err, errlen, why, line, len);
		return -EINVAL;
	}
	return aur_normalize_value(n, v, out, res, err, errlen);
}
