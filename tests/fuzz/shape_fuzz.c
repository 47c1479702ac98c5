/*
 * shape_fuzz - libFuzzer target for lib/shape.c against libjq.
 *
 * The door's checks read the text of a body the receiver already took as
 * JSON (lib/jsonvalid.c, else libjq), so only input libjq parses as one
 * value goes on. Then every platform's check runs on it (no crash, no read
 * past the end), and the checks must never be stricter than the anchors
 * the mappings read through libjq: an object whose "alerts" is an array is
 * never refused by grafana or alertmanager, one with an "event" object or
 * a "messages" array never by pagerduty, one with a non-null sid,
 * search_name, results_link or result never by splunk, and an object is
 * never called "not an object".
 *
 * Every input is also a Datadog form (aur_shape_check_form, any bytes): no
 * crash, and a form with an alert_id field, which its mapping reads, is
 * never refused.
 *
 * Built and run by scripts/fuzz (make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "form.h"
#include "shape.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const platforms[] = {
	"grafana", "alertmanager", "pagerduty", "datadog", "netdata",
	"dynatrace", "splunk", "jenkins", "cloudbees", "zabbix",
};

static int kind_of(jv obj, const char *key)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	int kind = jv_is_valid(v) ? (int)jv_get_kind(v) : (int)JV_KIND_NULL;

	jv_free(v);
	return kind;
}

static void must_pass(const char *platform, const uint8_t *data, size_t size, const char *because)
{
	char why[512] = "";

	if (aur_shape_check(platform, data, size, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s refused a body with %s: %s\n", platform, because, why);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jv v;
	char why[512];

	if (size > 1 << 20)
		return 0;
	{
		jv fields = aur_form_decode((const char *)data, size);
		jv id = jv_object_get(jv_copy(fields), jv_string("alert_id"));
		int rc = aur_shape_check_form("datadog", data, size, why, sizeof(why));

		if (rc != 0 && jv_is_valid(id)) {
			fprintf(stderr, "datadog refused a form with an alert_id field: %s\n", why);
			abort();
		}
		jv_free(id);
		jv_free(fields);
	}
	v = jv_parse_sized((const char *)data, (int)size);
	if (!jv_is_valid(v)) {
		jv_free(v);
		return 0;
	}
	for (size_t k = 0; k < sizeof(platforms) / sizeof(platforms[0]); k++) {
		int rc = aur_shape_check(platforms[k], data, size, why, sizeof(why));

		/* the body's own refusal; a member's ("\"event\" is a string, not an object") may stand */
		if (rc != 0 && jv_get_kind(v) == JV_KIND_OBJECT && strstr(why, "the body is ")) {
			fprintf(stderr, "%s called an object not an object: %s\n", platforms[k], why);
			abort();
		}
	}
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		if (kind_of(v, "alerts") == JV_KIND_ARRAY) {
			must_pass("grafana", data, size, "an alerts array");
			must_pass("alertmanager", data, size, "an alerts array");
		}
		if (kind_of(v, "event") == JV_KIND_OBJECT || kind_of(v, "messages") == JV_KIND_ARRAY)
			must_pass("pagerduty", data, size, "an event object or a messages array");
		if (kind_of(v, "sid") != JV_KIND_NULL || kind_of(v, "search_name") != JV_KIND_NULL ||
		    kind_of(v, "results_link") != JV_KIND_NULL || kind_of(v, "result") != JV_KIND_NULL)
			must_pass("splunk", data, size, "a sid, search_name, results_link or result");
	}
	jv_free(v);
	return 0;
}
