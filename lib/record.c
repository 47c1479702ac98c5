#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jvio.h"
#include "record.h"
#include "sha256.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* timestamps after 9999-12-31 are nonsense */
#define MAX_TIME_MS 253402300800000LL

/* The fields a mapping's record may carry, in the order they are printed. */
enum field {
	F_TYPE,
	F_SOURCE,
	F_KIND,
	F_DEDUP_KEY,
	F_STATUS,
	F_SEVERITY,
	F_TEST,
	F_TITLE,
	F_DESCRIPTION,
	F_SERVICE,
	F_HOST,
	F_ENTITY,
	F_ENVIRONMENT,
	F_TAGS,
	F_LABELS,
	F_STARTED_AT,
	F_ENDED_AT,
	F_OCCURRED_AT,
	F_LINK,
	F_CONTEXT,
	/* set by aurora-normalize whatever the mapping says */
	F_V,
	F_FINGERPRINT,
	F_INBOX_ID,
	F_INBOX_PART,
	F_INBOX_PARTS,
	F_RECEIVED_AT,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"type", "source", "kind", "dedup_key", "status", "severity", "test", "title",
	"description", "service", "host", "entity", "environment", "tags", "labels",
	"started_at", "ended_at", "occurred_at", "link", "context",
	"v", "fingerprint", "inbox_id", "inbox_part", "inbox_parts", "received_at",
};

struct aur_record_printer {
	jv keys[F_COUNT];          /* field_names as jv strings, made once */
	struct aur_buf tmp_source; /* texts of numbers */
	struct aur_buf tmp_key;
};

struct aur_record_printer *aur_record_printer_new(void)
{
	struct aur_record_printer *p = aur_xcalloc(1, sizeof(*p));

	for (int i = 0; i < F_COUNT; i++)
		p->keys[i] = jv_string(field_names[i]);
	aur_buf_init(&p->tmp_source, 0);
	aur_buf_init(&p->tmp_key, 0);
	return p;
}

void aur_record_printer_free(struct aur_record_printer *p)
{
	if (!p)
		return;
	for (int i = 0; i < F_COUNT; i++)
		jv_free(p->keys[i]);
	aur_buf_release(&p->tmp_source);
	aur_buf_release(&p->tmp_key);
	free(p);
}

/* ---- small helpers ---------------------------------------------------- */

#define ADD(b, lit) aur_buf_add((b), (lit), sizeof(lit) - 1)
/* ,"name": and a text field's value (text_field); name is a literal */
#define TEXT_FIELD(b, name, v) text_field((b), ",\"" name "\":", sizeof(",\"" name "\":") - 1, (v))

static jv get(jv obj, jv key)
{
	return jv_object_get(jv_copy(obj), jv_copy(key));
}

static size_t str_len(jv s)
{
	return (size_t)jv_string_length_bytes(jv_copy(s));
}

/*
 * The text of v: a non-empty string as it is, a number or boolean as its
 * JSON text (kept in tmp). 1 with *s and *len set, or 0 for anything else.
 */
static int text_of(jv v, struct aur_buf *tmp, const char **s, size_t *len)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		*s = jv_string_value(v);
		*len = str_len(v);
		return *len > 0;
	case JV_KIND_NUMBER:
		aur_buf_reset(tmp);
		if (aur_jvio_dump(v, tmp) < 0)
			return 0;
		*s = tmp->data;
		*len = tmp->len;
		return 1;
	case JV_KIND_TRUE:
		*s = "true";
		*len = 4;
		return 1;
	case JV_KIND_FALSE:
		*s = "false";
		*len = 5;
		return 1;
	default:
		return 0;
	}
}

/* Print v as a string field: strings, numbers and booleans as text, the rest null. */
static int put_text(struct aur_buf *b, jv v)
{
	int rc;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (str_len(v) == 0)
			return ADD(b, "null");
		return aur_jvio_dump_str(jv_string_value(v), str_len(v), b);
	case JV_KIND_NUMBER:
		rc = ADD(b, "\"");
		if (rc == 0)
			rc = aur_jvio_dump(v, b);
		if (rc == 0)
			rc = ADD(b, "\"");
		return rc;
	case JV_KIND_TRUE:
		return ADD(b, "\"true\"");
	case JV_KIND_FALSE:
		return ADD(b, "\"false\"");
	default:
		return ADD(b, "null");
	}
}

/*
 * A title as a JSON string, cut at AUR_RECORD_TITLE_MAX bytes (on a UTF-8
 * character boundary, with an ellipsis): a title is shown in lists, pages and
 * every event of the stream, and an alert named by a megabyte of text would
 * carry it everywhere. POST /api/incidents refuses titles over the same size.
 */
static int put_title(struct aur_buf *b, const char *s, size_t len)
{
	static const char ellipsis[] = { '\xE2', '\x80', '\xA6' }; /* U+2026 in UTF-8 */
	char cut[AUR_RECORD_TITLE_MAX];
	size_t n = AUR_RECORD_TITLE_MAX - sizeof(ellipsis);

	if (len <= AUR_RECORD_TITLE_MAX)
		return aur_jvio_dump_str(s, len, b);
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(cut, s, n);
	memcpy(cut + n, ellipsis, sizeof(ellipsis));
	return aur_jvio_dump_str(cut, n + sizeof(ellipsis), b);
}

static int text_field(struct aur_buf *b, const char *key, size_t keylen, jv v)
{
	int rc = aur_buf_add(b, key, keylen);

	return rc | put_text(b, v);
}

enum object_kind {
	OBJ_AS_IS,    /* the object as the mapping made it */
	OBJ_STRINGS,  /* tags, labels: strings kept (even ""), numbers and booleans as text, the rest dropped */
	OBJ_SPARSE    /* context: null and empty-string members dropped */
};

/* Print v as an object field (see enum object_kind); anything but an object is {}. */
static int put_object(struct aur_buf *b, jv v, enum object_kind kind)
{
	int rc;
	int first = 1;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return ADD(b, "{}");
	if (kind == OBJ_AS_IS)
		return aur_jvio_dump(v, b);
	rc = ADD(b, "{");
	for (int i = jv_object_iter(v); rc == 0 && jv_object_iter_valid(v, i); i = jv_object_iter_next(v, i)) {
		jv x = jv_object_iter_value(v, i);
		jv_kind xk = jv_get_kind(x);
		int keep;
		jv k;

		if (kind == OBJ_STRINGS)
			keep = xk == JV_KIND_STRING || xk == JV_KIND_NUMBER || xk == JV_KIND_TRUE ||
			       xk == JV_KIND_FALSE;
		else
			keep = xk != JV_KIND_NULL && !(xk == JV_KIND_STRING && str_len(x) == 0);
		if (!keep) {
			jv_free(x);
			continue;
		}
		k = jv_object_iter_key(v, i);
		if (!first)
			rc = ADD(b, ",");
		first = 0;
		if (rc == 0)
			rc = aur_jvio_dump_str(jv_string_value(k), str_len(k), b);
		if (rc == 0)
			rc = ADD(b, ":");
		if (rc == 0)
			rc = kind == OBJ_STRINGS && xk != JV_KIND_STRING ? put_text(b, x) : aur_jvio_dump(x, b);
		jv_free(k);
		jv_free(x);
	}
	return rc ? rc : ADD(b, "}");
}

/* Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by size. */
static int epoch_ms(double d, long long *ms)
{
	double a;

	if (!isfinite(d) || d <= 0)
		return -1;
	if (d >= 1e17)
		a = d / 1e6;
	else if (d >= 1e14)
		a = d / 1e3;
	else if (d >= 1e11)
		a = d;
	else
		a = d * 1000.0;
	if (a >= (double)MAX_TIME_MS)
		return -1;
	*ms = llround(a);
	return *ms > 0 ? 0 : -1;
}

/* digits with at most one decimal point */
static int is_decimal(const char *s, size_t len)
{
	int dots = 0;
	int digits = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return 0;
	}
	return digits > 0 && dots <= 1;
}

int aur_record_time_ms(jv v, long long *ms)
{
	const char *s;
	size_t len;
	char buf[64];

	switch (jv_get_kind(v)) {
	case JV_KIND_NUMBER:
		return epoch_ms(jv_number_value(v), ms);
	case JV_KIND_STRING:
		s = jv_string_value(v);
		len = str_len(v);
		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len == 0 || len >= sizeof(buf))
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (is_decimal(buf, len))
			return epoch_ms(strtod(buf, NULL), ms);
		if (aur_time_parse_ms(buf, ms) < 0)
			return -1;
		return *ms > 0 && *ms < MAX_TIME_MS ? 0 : -1;
	default:
		return -1;
	}
}

static int put_time(struct aur_buf *b, long long ms)
{
	char t[32];
	int rc;

	if (ms < 0)
		return ADD(b, "null");
	aur_time_format_ms(ms, t, sizeof(t));
	rc = ADD(b, "\"");
	if (rc == 0)
		rc = aur_buf_adds(b, t);
	if (rc == 0)
		rc = ADD(b, "\"");
	return rc;
}

/* Lower-case copy of a short word into out (NUL-terminated); 0 when it does not fit. */
static int lower_word(const char *s, size_t len, char *out, size_t outlen)
{
	if (len + 1 > outlen)
		return 0;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[len] = '\0';
	return 1;
}


/* ---- the record checker and printer ----------------------------------- */

static const char *const severities[] = { "critical", "high", "medium", "low", "info" };

static void fingerprint(const char *src, size_t srclen, const char *key, size_t keylen, char hex[33])
{
	struct aur_sha256_ctx ctx;
	unsigned char md[AUR_SHA256_LEN];

	aur_sha256_init(&ctx);
	aur_sha256_update(&ctx, src, srclen);
	aur_sha256_update(&ctx, ":", 1);
	aur_sha256_update(&ctx, key, keylen);
	aur_sha256_final(&ctx, md);
	/* a fingerprint is the first 16 bytes of the digest, in hex */
	aur_hex_encode(md, 16, hex);
}

/* Copy the members of rec that are none of aurora's fields. */
static int put_extras(struct aur_buf *b, jv rec)
{
	int rc = 0;

	for (int i = jv_object_iter(rec); rc == 0 && jv_object_iter_valid(rec, i);
	     i = jv_object_iter_next(rec, i)) {
		jv k = jv_object_iter_key(rec, i);
		const char *name = jv_string_value(k);
		int known = 0;

		for (int f = 0; f < F_COUNT && !known; f++)
			known = !strcmp(name, field_names[f]);
		if (!known) {
			jv x = jv_object_iter_value(rec, i);

			rc = ADD(b, ",");
			if (rc == 0)
				rc = aur_jvio_dump_str(name, str_len(k), b);
			if (rc == 0)
				rc = ADD(b, ":");
			if (rc == 0)
				rc = aur_jvio_dump(x, b);
			jv_free(x);
		}
		jv_free(k);
	}
	return rc;
}

static int put_tail(struct aur_buf *b, const struct aur_record_delivery *d)
{
	int rc = ADD(b, ",\"inbox_id\":");

	if (rc == 0)
		rc = jv_is_valid(d->id) ? aur_jvio_dump(d->id, b) : ADD(b, "null");
	/* numbered so a stage can tell it has all of a delivery (resume.h) */
	if (rc == 0 && jv_get_kind(d->id) != JV_KIND_NULL) {
		char n[48];

		snprintf(n, sizeof(n), ",\"inbox_part\":%zu,\"inbox_parts\":%zu", d->part, d->parts);
		rc = aur_buf_adds(b, n);
	}
	if (rc == 0)
		rc = ADD(b, ",\"received_at\":\"");
	if (rc == 0)
		rc = aur_buf_adds(b, d->received);
	if (rc == 0)
		rc = ADD(b, "\"");
	return rc;
}

/* The record's source, or the platform when it names none. */
static void source_of(struct aur_record_printer *p, jv v, const struct aur_record_delivery *d, const char **s,
		      size_t *len)
{
	const char *t;
	size_t tl;

	if (text_of(v, &p->tmp_source, &t, &tl)) {
		*s = t;
		*len = tl;
	} else {
		*s = d->platform;
		*len = d->platform_len;
	}
}

/* One record a mapping emitted, taken apart. */
struct record {
	jv f[F_COUNT];      /* each field, invalid when absent */
	int present;        /* how many of them are present */
	int test;
	const char *key;    /* dedup_key as text, NULL when none */
	size_t keylen;
};

static int put_note(struct aur_record_printer *p, const struct record *r, const struct aur_record_delivery *d,
		    struct aur_buf *b)
{
	const char *src, *word;
	size_t srclen, wlen;
	long long ms;
	int out = 0;

	source_of(p, r->f[F_SOURCE], d, &src, &srclen);
	out |= ADD(b, "{\"v\":1,\"type\":\"note\",\"source\":");
	out |= aur_jvio_dump_str(src, srclen, b);
	out |= ADD(b, ",\"kind\":");
	if (text_of(r->f[F_KIND], &p->tmp_source, &word, &wlen))
		out |= aur_jvio_dump_str(word, wlen, b);
	else
		out |= ADD(b, "\"note\"");
	if (r->test)
		out |= ADD(b, ",\"test\":true");
	out |= ADD(b, ",\"dedup_key\":");
	out |= r->key ? aur_jvio_dump_str(r->key, r->keylen, b) : ADD(b, "null");
	out |= ADD(b, ",\"title\":");
	/* no title: the kind says what it is */
	if (text_of(r->f[F_TITLE], &p->tmp_source, &word, &wlen) ||
	    text_of(r->f[F_KIND], &p->tmp_source, &word, &wlen))
		out |= put_title(b, word, wlen);
	else
		out |= ADD(b, "\"note\"");
	out |= TEXT_FIELD(b, "description", r->f[F_DESCRIPTION]);
	out |= TEXT_FIELD(b, "service", r->f[F_SERVICE]);
	out |= TEXT_FIELD(b, "host", r->f[F_HOST]);
	out |= TEXT_FIELD(b, "link", r->f[F_LINK]);
	out |= ADD(b, ",\"occurred_at\":");
	out |= put_time(b, aur_record_time_ms(r->f[F_OCCURRED_AT], &ms) == 0 ? ms : d->received_ms);
	out |= ADD(b, ",\"context\":");
	out |= put_object(b, r->f[F_CONTEXT], OBJ_SPARSE);
	return out ? -E2BIG : 0;
}

/* A word field (status, severity) in lower case into out; 0 when it is none or too long. */
static int word_of(struct aur_record_printer *p, jv v, char *out, size_t outlen)
{
	const char *word;
	size_t wlen;

	return text_of(v, &p->tmp_source, &word, &wlen) && lower_word(word, wlen, out, outlen);
}

static int put_alert(struct aur_record_printer *p, const struct record *r, const struct aur_record_delivery *d,
		     struct aur_buf *b, char *err, size_t errlen)
{
	const char *src, *word;
	size_t srclen, wlen, i;
	char status[16], severity[16], hex[33], what[64];
	long long started, ended = -1;
	int resolved;
	int out = 0;

	if (!word_of(p, r->f[F_STATUS], status, sizeof(status)) ||
	    (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0)) {
		aur_jvio_describe(r->f[F_STATUS], what, sizeof(what));
		snprintf(err, errlen, "alert status must be firing or resolved, not %s", what);
		return -EINVAL;
	}
	resolved = status[0] == 'r';
	if (!word_of(p, r->f[F_SEVERITY], severity, sizeof(severity)))
		severity[0] = '\0';
	for (i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		if (!strcmp(severity, severities[i]))
			break;
	if (i == sizeof(severities) / sizeof(severities[0])) {
		aur_jvio_describe(r->f[F_SEVERITY], what, sizeof(what));
		snprintf(err, errlen, "alert severity must be critical, high, medium, low or info, not %s",
			 what);
		return -EINVAL;
	}
	source_of(p, r->f[F_SOURCE], d, &src, &srclen);
	fingerprint(src, srclen, r->key, r->keylen, hex);
	/*
	 * ended_at: a resolved alert's end, else the delivery's time;
	 * started_at: the platform's start, else the end of a resolved alert,
	 * else the delivery's time
	 */
	if (resolved && aur_record_time_ms(r->f[F_ENDED_AT], &ended) < 0)
		ended = d->received_ms;
	if (aur_record_time_ms(r->f[F_STARTED_AT], &started) < 0)
		started = resolved ? ended : d->received_ms;

	out |= ADD(b, "{\"v\":1,\"type\":\"alert\",\"source\":");
	out |= aur_jvio_dump_str(src, srclen, b);
	out |= ADD(b, ",\"dedup_key\":");
	out |= aur_jvio_dump_str(r->key, r->keylen, b);
	out |= ADD(b, ",\"fingerprint\":\"");
	out |= aur_buf_add(b, hex, 32);
	out |= ADD(b, "\",\"status\":\"");
	out |= aur_buf_adds(b, status);
	out |= ADD(b, "\",\"severity\":\"");
	out |= aur_buf_adds(b, severity);
	out |= ADD(b, "\"");
	if (r->test)
		out |= ADD(b, ",\"test\":true");
	out |= ADD(b, ",\"title\":");
	if (text_of(r->f[F_TITLE], &p->tmp_source, &word, &wlen))
		out |= put_title(b, word, wlen);
	else
		out |= put_title(b, r->key, r->keylen);
	out |= TEXT_FIELD(b, "description", r->f[F_DESCRIPTION]);
	out |= TEXT_FIELD(b, "service", r->f[F_SERVICE]);
	out |= TEXT_FIELD(b, "host", r->f[F_HOST]);
	out |= TEXT_FIELD(b, "entity", r->f[F_ENTITY]);
	out |= TEXT_FIELD(b, "environment", r->f[F_ENVIRONMENT]);
	out |= ADD(b, ",\"tags\":");
	out |= put_object(b, r->f[F_TAGS], OBJ_STRINGS);
	out |= ADD(b, ",\"labels\":");
	out |= put_object(b, r->f[F_LABELS], OBJ_STRINGS);
	out |= ADD(b, ",\"started_at\":");
	out |= put_time(b, started);
	out |= ADD(b, ",\"ended_at\":");
	out |= put_time(b, ended);
	out |= TEXT_FIELD(b, "link", r->f[F_LINK]);
	out |= ADD(b, ",\"context\":");
	out |= put_object(b, r->f[F_CONTEXT], OBJ_SPARSE);
	if (out) {
		snprintf(err, errlen, "record too large to print");
		return -E2BIG;
	}
	return 0;
}

int aur_record_print(struct aur_record_printer *p, jv rec, const struct aur_record_delivery *d,
		     struct aur_buf *b, struct aur_record_counts *c, char *err, size_t errlen)
{
	struct record r = { .present = 0 };
	const char *type = "alert";
	int note;
	int rc = -EINVAL;

	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "mapping emitted a %s, not a record object",
			 jv_kind_name(jv_get_kind(rec)));
		return -EINVAL;
	}
	for (int i = 0; i < F_COUNT; i++) {
		r.f[i] = get(rec, p->keys[i]);
		r.present += jv_is_valid(r.f[i]);
	}
	if (jv_get_kind(r.f[F_TYPE]) == JV_KIND_STRING) {
		type = jv_string_value(r.f[F_TYPE]);
	} else if (jv_is_valid(r.f[F_TYPE]) && jv_get_kind(r.f[F_TYPE]) != JV_KIND_NULL) {
		snprintf(err, errlen, "record \"type\" is a %s", jv_kind_name(jv_get_kind(r.f[F_TYPE])));
		goto out;
	}
	note = strcmp(type, "note") == 0;
	if (!note && strcmp(type, "alert") != 0) {
		snprintf(err, errlen, "record type \"%.40s\" is neither alert nor note", type);
		goto out;
	}
	r.test = d->test || jv_get_kind(r.f[F_TEST]) == JV_KIND_TRUE;
	if (!text_of(r.f[F_DEDUP_KEY], &p->tmp_key, &r.key, &r.keylen)) {
		r.key = NULL;
		if (!note) {
			snprintf(err, errlen, "alert without a dedup_key");
			goto out;
		}
	}
	if (note) {
		rc = put_note(p, &r, d, b);
		if (rc < 0)
			snprintf(err, errlen, "record too large to print");
	} else {
		rc = put_alert(p, &r, d, b, err, errlen);
	}
	if (rc < 0)
		goto out;
	rc = put_tail(b, d);
	if (rc == 0 && r.present < jv_object_length(jv_copy(rec)))
		rc = put_extras(b, rec);
	if (rc == 0)
		rc = ADD(b, "}\n");
	if (rc < 0) {
		snprintf(err, errlen, "record too large to print");
		goto out;
	}
	if (c) {
		c->alerts += !note;
		c->notes += note;
		c->tests += !note && r.test;
	}
out:
	for (int i = 0; i < F_COUNT; i++)
		jv_free(r.f[i]);
	return rc;
}
