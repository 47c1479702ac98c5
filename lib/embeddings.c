#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jq.h>

#include "buf.h"
#include "embeddings.h"
#include "jvio.h"
#include "banned.h"

#define MAX_ANSWER (8u << 20)

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct aur_buf *b = arg;

	if (aur_buf_add(b, p, size * n) < 0)
		return 0;
	return size * n;
}

static int parse_answer(const struct aur_buf *b, float *out, size_t *dims, char *err, size_t errlen)
{
	jv answer = jv_invalid();
	jv vec = jv_invalid();
	double norm = 0;
	int n;
	int rc = -EPROTO;

	/* lib/jvio, not jv_parse_sized: libjq 1.6's parser leaks on some malformed text */
	if (aur_jvio_parse(b->data ? b->data : "", b->len, &answer, NULL, 0) < 0) {
		snprintf(err, errlen, "embeddings endpoint answered with something that is not JSON");
		goto out;
	}
	vec = jv_getpath(jv_copy(answer),
			 JV_ARRAY(jv_string("data"), jv_number(0), jv_string("embedding")));
	if (jv_get_kind(vec) != JV_KIND_ARRAY || (n = jv_array_length(jv_copy(vec))) <= 0 ||
	    n > (int)AUR_EMBEDDINGS_MAX_DIMS) {
		snprintf(err, errlen, "embeddings answer has no data[0].embedding array of 1..%d numbers",
			 (int)AUR_EMBEDDINGS_MAX_DIMS);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(vec), i);

		if (jv_get_kind(x) != JV_KIND_NUMBER) {
			jv_free(x);
			snprintf(err, errlen, "embedding element %d is not a number", i);
			goto out;
		}
		out[i] = (float)jv_number_value(x);
		norm += (double)out[i] * out[i];
		jv_free(x);
	}
	norm = sqrt(norm);
	for (int i = 0; i < n && norm > 0; i++)
		out[i] = (float)(out[i] / norm);
	*dims = (size_t)n;
	rc = 0;
out:
	jv_free(vec);
	jv_free(answer);
	return rc;
}

int aur_embeddings_fetch(const struct aur_embeddings *e, const char *text, float *out, size_t *dims,
			 char *err, size_t errlen)
{
	struct curl_slist *headers = NULL;
	struct aur_buf answer;
	struct aur_buf auth;
	jv body;
	jv body_text;
	CURL *curl;
	CURLcode cc;
	long status = 0;
	int rc = -EIO;

	*dims = 0;
	aur_buf_init(&answer, MAX_ANSWER);
	aur_buf_init(&auth, 4096);
	body = jv_object();
	body = jv_object_set(body, jv_string("model"), jv_string(e->model ? e->model : "text-embedding-3-small"));
	body = jv_object_set(body, jv_string("input"), jv_string(text));
	body_text = jv_dump_string(body, 0);
	curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "cannot start libcurl");
		goto out;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (e->key && *e->key && aur_buf_addf(&auth, "Authorization: Bearer %s", e->key) == 0)
		headers = curl_slist_append(headers, auth.data);
	curl_easy_setopt(curl, CURLOPT_URL, e->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, jv_string_value(body_text));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, e->timeout_ms > 0 ? e->timeout_ms : 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(curl);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "embeddings endpoint %s timed out", e->url);
		rc = -ETIMEDOUT;
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "embeddings endpoint %s: %s", e->url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "embeddings endpoint %s answered HTTP %ld", e->url, status);
		goto out;
	}
	rc = parse_answer(&answer, out, dims, err, errlen);
out:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	jv_free(body_text);
	aur_buf_release(&answer);
	aur_buf_release(&auth);
	return rc;
}

double aur_embeddings_cosine(const float *a, const float *b, size_t dims)
{
	double dot = 0;

	for (size_t i = 0; i < dims; i++)
		dot += (double)a[i] * b[i];
	return dot < 0 ? 0 : dot > 1 ? 1 : dot;
}
