/*
 * investigate_llm_config.c - the LLM investigator's configuration file
 * (investigate.h, aur_inv_llm_load): the model ("llm", llm.h), the
 * allow-list its commands go through (diag.h), the base URLs http_get may
 * fetch under and the caps of a conversation. Read whole, bounded, and
 * strict: an unknown key is an error, so a typo never drops a setting.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "investigate.h"
#include "investigate_llm_impl.h"
#include "jvio.h"
#include "llm.h"
#include "xalloc.h"
#include "banned.h"

#define CONFIG_MAX (1 << 20)

int inv_llm_in_set(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (!strcmp(s, set[i]))
			return 1;
	return 0;
}
void aur_inv_llm_free(struct aur_inv_llm *c)
{
	if (!c)
		return;
	aur_llm_config_release(&c->llm);
	aur_diag_policy_free(c->policy);
	jv_free(c->http_allow);
	free(c);
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rc = 0;

	if (!f)
		return -errno;
	buf = aur_xmalloc(CONFIG_MAX + 1);
	n = fread(buf, 1, CONFIG_MAX + 1, f);
	if (ferror(f))
		rc = -EIO;
	else if (n > CONFIG_MAX)
		rc = -EFBIG;
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* An integer setting of obj in [lo, hi]: 0 (def when absent) or -EINVAL. */
static int int_field(jv obj, const char *key, long long lo, long long hi, long long def, long long *out)
{
	jv v = jv_object_get(jv_copy(obj), jv_string(key));
	double d;

	*out = def;
	if (jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_NUMBER) {
		jv_free(v);
		return -EINVAL;
	}
	d = jv_number_value(v);
	jv_free(v);
	if (d != floor(d) || d < (double)lo || d > (double)hi)
		return -EINVAL;
	*out = (long long)d;
	return 0;
}

int aur_inv_llm_load(const char *path, struct aur_inv_llm **out, char *err, size_t errlen)
{
	static const char *const known[] = { "llm", "allow_list", "max_steps", "time_cap", "max_tool_result_bytes",
					     "http_allow", NULL };
	struct aur_inv_llm *c = aur_xcalloc(1, sizeof(*c));
	char *text = NULL;
	int nprefix;
	char sub[512];
	char perr[256];
	size_t len = 0;
	long long n;
	jv doc = jv_invalid(), v;
	int rc;

	*out = NULL;
	c->http_allow = jv_array();
	rc = read_file(path, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	/* lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some malformed text */
	if (aur_jvio_parse(text, len, &doc, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "%s: not JSON: %s", path, perr);
		rc = -EINVAL;
		goto out;
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		rc = -EINVAL;
		goto out;
	}
	jv_object_foreach(doc, key, val)
	{
		if (rc == 0 && !inv_llm_in_set(jv_string_value(key), known)) {
			snprintf(err, errlen, "%s: unknown setting \"%.100s\"", path, jv_string_value(key));
			rc = -EINVAL;
		}
		jv_free(key);
		jv_free(val);
	}
	if (rc < 0)
		goto out;
	if (int_field(doc, "max_steps", 1, 50, 8, &n) < 0) {
		snprintf(err, errlen, "%s: max_steps: a whole number from 1 to 50", path);
		rc = -EINVAL;
		goto out;
	}
	c->max_steps = (int)n;
	if (int_field(doc, "time_cap", 1, 3600, 45, &n) < 0) {
		snprintf(err, errlen, "%s: time_cap: whole seconds from 1 to 3600", path);
		rc = -EINVAL;
		goto out;
	}
	c->time_cap_ms = n * 1000;
	if (int_field(doc, "max_tool_result_bytes", 256, 65536, 8192, &n) < 0) {
		snprintf(err, errlen, "%s: max_tool_result_bytes: from 256 to 65536", path);
		rc = -EINVAL;
		goto out;
	}
	c->max_result = (size_t)n;
	v = jv_object_get(jv_copy(doc), jv_string("allow_list"));
	if (jv_get_kind(v) == JV_KIND_STRING) {
		rc = aur_diag_policy_load(jv_string_value(v), &c->policy, sub, sizeof(sub));
		if (rc < 0)
			snprintf(err, errlen, "%s: allow_list: %s", path, rc == -EINVAL ? sub : strerror(-rc));
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		snprintf(err, errlen, "%s: allow_list: a file name", path);
		rc = -EINVAL;
	}
	jv_free(v);
	if (rc < 0)
		goto out;
	v = jv_object_get(jv_copy(doc), jv_string("http_allow"));
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		nprefix = jv_array_length(jv_copy(v));
		for (int i = 0; rc == 0 && i < nprefix; i++) {
			jv u = jv_array_get(jv_copy(v), i);

			if (jv_get_kind(u) != JV_KIND_STRING || i >= 32 ||
			    (strncmp(jv_string_value(u), "http://", 7) != 0 &&
			     strncmp(jv_string_value(u), "https://", 8) != 0) ||
			    strlen(jv_string_value(u)) < 10) {
				snprintf(err, errlen, "%s: http_allow: up to 32 URL prefixes starting http:// or https://",
					 path);
				rc = -EINVAL;
				jv_free(u);
			} else {
				c->http_allow = jv_array_append(c->http_allow, u);
			}
		}
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		snprintf(err, errlen, "%s: http_allow: a list of URL prefixes", path);
		rc = -EINVAL;
	}
	jv_free(v);
	if (rc < 0)
		goto out;
	v = jv_object_get(jv_copy(doc), jv_string("llm"));
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		snprintf(err, errlen, "%s: no \"llm\" object (provider, url, model, api_key_file or api_key_env)", path);
		rc = -EINVAL;
		goto out;
	}
	rc = aur_llm_config_parse(v, &c->llm, sub, sizeof(sub));
	if (rc < 0) {
		snprintf(err, errlen, "%s: llm: %s", path, sub);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	jv_free(doc);
	free(text);
	if (c) {
		aur_diag_policy_free(c->policy);
		jv_free(c->http_allow);
		free(c);
	}
	return rc;
}

const struct aur_llm_config *aur_inv_llm_config(const struct aur_inv_llm *c)
{
	return &c->llm;
}
