/*
 * normalize.h - platform payloads into aurora's common alert records.
 *
 * A normalizer holds one jq program per platform: the built-in mappings
 * compiled into the binary (lib/mappings/<platform>.jq) and, overriding or
 * adding to them, the <platform>.jq files of an operator's directory. Each
 * program is compiled once, on first use for a built-in and at start-up for
 * an operator's file, and then run on every raw record of its platform.
 *
 * A mapping reads the raw record ({v, type:"raw", id, platform,
 * received_at, headers, body}) with $config bound to
 *   {"base_url": {PLATFORM: URL, ...},
 *    "splunk": {"service_fields": [...], "severity_fields": [...],
 *               "host_fields": [...], "status_fields": [...]}}
 * and emits zero or more objects of type "alert" or "note". The normalizer
 * then hands each one to record.h, which checks and completes it: "v":1
 * and "type" first and the fields in schema order, the fingerprint,
 * inbox_id and received_at added, every timestamp in RFC 3339 UTC with
 * milliseconds, one compact JSON line. aurora(7) has the schema.
 *
 * A raw record is accepted whole or rejected whole: when the mapping fails
 * (jq's error(), or a type error) or one of its records breaks the schema,
 * nothing of that record is printed and the reason comes back to the caller.
 */
#ifndef AURORA_NORMALIZE_H
#define AURORA_NORMALIZE_H

#include <stddef.h>
#include <jq.h>

#include "buf.h"

struct aur_normalizer;

struct aur_normalize_options {
	/* operator mappings, <platform>.jq each; NULL or "": built-ins only */
	const char *mappings_dir;
	/* platform of input lines that are payloads, not raw records; NULL: reject them */
	const char *default_platform;
	/* bases for relative Jenkins / CloudBees CI URLs; NULL: the database's */
	const char *jenkins_url;
	const char *cloudbees_url;
	/* base of Alertmanager alerts' relative generatorURL (the Prometheus
	 * external URL); NULL: the alertmanager connector's base URL, else none */
	const char *prometheus_url;
	/* comma lists of Splunk result fields; NULL: the defaults */
	const char *splunk_service_fields;  /* service,service_name,app */
	const char *splunk_severity_fields; /* severity,urgency,log_level */
	const char *splunk_host_fields;     /* host */
	const char *splunk_status_fields;   /* aurora_status,alert_status,status */
	/*
	 * Database whose connectors.base_url fills the bases not given above.
	 * Opened read-only and only when the file exists; NULL: none.
	 */
	const char *db_path;
};

/*
 * Outcome of one aur_normalize_line / aur_normalize_value call: the
 * counts, and which delivery it was, also when the line is rejected (so
 * the caller can say what became of that delivery: an "error" record).
 */
struct aur_normalize_result {
	size_t alerts;
	size_t notes;
	size_t tests;         /* alerts marked "test": true, counted in alerts too */
	long long inbox_id;   /* the raw record's id, 0 when it has none (or the line is no raw record) */
	char platform[72];    /* its platform, "" when unknown */
	char received_at[32]; /* its received_at as RFC 3339 UTC, "" when unknown */
	char reason[512];     /* why it was rejected, without the "platform (inbox N): " prefix */
};

/*
 * Build a normalizer: read the operator's directory and compile every file
 * in it. *out is freed with aur_normalize_free. Returns 0; -ENOENT or
 * -ENOTDIR when the directory is missing, -EIO when a file cannot be read,
 * -EINVAL when a mapping does not compile (err names the file and carries
 * jq's message). A database that is missing or cannot be read is not an
 * error (see aur_normalize_remark); a file that is not an aurora database
 * is: -ENODATA.
 */
int aur_normalize_new(struct aur_normalizer **out, const struct aur_normalize_options *o,
		      char *err, size_t errlen);
/* Free everything, NULL-safe. */
void aur_normalize_free(struct aur_normalizer *n);

/*
 * Something worth telling the operator that did not stop start-up (the
 * database could not be read), or NULL. Borrowed until aur_normalize_free.
 */
const char *aur_normalize_remark(const struct aur_normalizer *n);

/*
 * Compile every mapping now, built-ins included (the --check option).
 * 0, or -EINVAL with the file and jq's message in err.
 */
int aur_normalize_check(struct aur_normalizer *n, char *err, size_t errlen);

/* Call fn for every platform with a mapping, in name order; origin is "built-in" or a path. */
void aur_normalize_each(const struct aur_normalizer *n,
			void (*fn)(const char *platform, const char *origin, void *arg), void *arg);

/*
 * Normalize one input line (line[0..len), not necessarily NUL-terminated):
 * parse it, run its platform's mapping and append the records to out, one
 * compact JSON object and a newline each. res (may be NULL) gets the
 * counts and the delivery. Returns 0; -EINVAL when the line is rejected (invalid JSON, not
 * a raw record, unknown platform, not the platform's shape, a record that
 * breaks the schema), with a one-line reason in err and out unchanged;
 * -ENOEXEC when a built-in mapping does not compile (a broken build; err
 * says which).
 */
int aur_normalize_line(struct aur_normalizer *n, const char *line, size_t len,
		       struct aur_buf *out, struct aur_normalize_result *res,
		       char *err, size_t errlen);

/* The same for an already parsed value (consumed). */
int aur_normalize_value(struct aur_normalizer *n, jv in, struct aur_buf *out,
			struct aur_normalize_result *res, char *err, size_t errlen);

#endif
