/*
 * normalize_fuzz - libFuzzer target for aurora-normalize's engine.
 *
 * One input is one line. A line that starts with '{' goes to
 * aur_normalize_line as it is (a raw record, or anything else a stream
 * could carry). Any other line is a payload: its first byte picks the
 * platform (and whether the headers say the body is a form), the rest is
 * the body, parsed as JSON or, when it is not JSON, kept as text.
 *
 * Beyond the sanitizers, it checks what must always hold:
 *   - lib/jvio prints exactly what jv_dump_string prints for anything it
 *     parsed, and its own output parses back to an equal value;
 *   - a normalized line is either rejected with a reason and no output, or
 *     accepted with only complete JSON lines, each an object whose first
 *     members are "v":1 and "type".
 *
 * Built and run by scripts/fuzz (make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jvio.h"
#include "normalize.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct aur_normalizer *normalizer;

static const char *const platforms[] = {
	"grafana", "alertmanager", "pagerduty", "datadog", "netdata",
	"dynatrace", "splunk", "jenkins", "cloudbees",
};
#define NPLATFORMS (sizeof(platforms) / sizeof(platforms[0]))

static void free_normalizer(void)
{
	aur_normalize_free(normalizer);
	normalizer = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct aur_normalize_options o = { 0 };
	char err[1024];

	(void)argc;
	(void)argv;
	o.jenkins_url = "https://jenkins.example.test/";
	if (aur_normalize_new(&normalizer, &o, err, sizeof(err)) < 0 ||
	    aur_normalize_check(normalizer, err, sizeof(err)) < 0) {
		fprintf(stderr, "normalize_fuzz: %s\n", err);
		abort();
	}
	/* libjq's compiled programs look leaked to LeakSanitizer unless freed */
	atexit(free_normalizer);
	return 0;
}

/* jvio and libjq agree on the text of v, and the text reads back as v */
static void check_jvio(const char *s, size_t len)
{
	struct aur_buf b;
	char err[256];
	jv v, back, lib;

	if (aur_jvio_parse(s, len, &v, err, sizeof(err)) < 0)
		return;
	aur_buf_init(&b, 0);
	if (aur_jvio_dump(v, &b) == 0) {
		lib = jv_dump_string(jv_copy(v), 0);
		if (strcmp(jv_string_value(lib), b.data) != 0) {
			fprintf(stderr, "jvio: %s\nlibjq: %s\n", b.data, jv_string_value(lib));
			abort();
		}
		jv_free(lib);
		if (aur_jvio_parse(b.data, b.len, &back, err, sizeof(err)) < 0) {
			fprintf(stderr, "jvio cannot read its own output: %s\n", err);
			abort();
		}
		if (!jv_equal(jv_copy(v), back)) {
			fprintf(stderr, "jvio round trip changed the value: %s\n", b.data);
			abort();
		}
	}
	jv_free(v);
	aur_buf_release(&b);
}

/* every output line is a complete JSON object starting {"v":1,"type": */
static void check_output(const struct aur_buf *out)
{
	const char *p = out->data;
	const char *end = out->data + out->len;
	char err[256];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		jv v;

		if (!nl || strncmp(p, "{\"v\":1,\"type\":", 14) != 0) {
			fprintf(stderr, "bad output line: %.200s\n", p);
			abort();
		}
		if (aur_jvio_parse(p, (size_t)(nl - p), &v, err, sizeof(err)) < 0) {
			fprintf(stderr, "output is not JSON (%s): %.200s\n", err, p);
			abort();
		}
		jv_free(v);
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_buf out;
	struct aur_normalize_result res;
	char err[1024];
	int rc;

	aur_buf_init(&out, 0);
	if (size > 0 && data[0] == '{') {
		check_jvio((const char *)data, size);
		rc = aur_normalize_line(normalizer, (const char *)data, size, &out, &res, err, sizeof(err));
	} else {
		unsigned pick = size > 0 ? data[0] : 0;
		const char *body_text = size > 0 ? (const char *)data + 1 : "";
		size_t body_len = size > 0 ? size - 1 : 0;
		jv raw, body;

		check_jvio(body_text, body_len);
		if (aur_jvio_parse(body_text, body_len, &body, err, sizeof(err)) < 0)
			body = jv_string_sized(body_text, (int)body_len);
		raw = jv_object_set(jv_object(), jv_string("type"), jv_string("raw"));
		raw = jv_object_set(raw, jv_string("id"), jv_number(1));
		raw = jv_object_set(raw, jv_string("platform"), jv_string(platforms[pick % NPLATFORMS]));
		raw = jv_object_set(raw, jv_string("received_at"), jv_string("2026-03-04T10:00:00Z"));
		raw = jv_object_set(raw, jv_string("headers"),
				    jv_object_set(jv_object(), jv_string("content-type"),
						  jv_string(pick & 0x80 ? "application/x-www-form-urlencoded"
									: "application/json")));
		raw = jv_object_set(raw, jv_string("body"), body);
		rc = aur_normalize_value(normalizer, raw, &out, &res, err, sizeof(err));
	}
	if (rc < 0 && out.len != 0) {
		fprintf(stderr, "rejected (%s) but printed %zu bytes\n", err, out.len);
		abort();
	}
	if (rc == 0)
		check_output(&out);
	aur_buf_release(&out);
	return 0;
}
