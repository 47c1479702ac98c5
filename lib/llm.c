/*
 * llm.c - the LLM client's configuration, its results and the HTTP call
 * (llm.h): the key read at each call and wiped after it, the provider's
 * headers, retries of 429, 5xx and transport errors with backoff under one
 * deadline, and the bounds of an error body. The request body comes from
 * llm_request.c and the answer's bytes go through llm_stream.c's parser
 * (llm_impl.h lists the module's files).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jq.h>

#include "auth.h"
#include "buf.h"
#include "jvio.h"
#include "llm.h"
#include "llm_impl.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_KEY 4096
#define MAX_ERROR_BODY (64u << 10)
#define DEFAULT_RETRIES 4
#define DEFAULT_CONNECT_MS 10000
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000
#define ANTHROPIC_VERSION "2023-06-01"
#define AZURE_API_VERSION "2024-10-21"

int llm_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *aur_llm_provider_name(enum aur_llm_provider p)
{
	switch (p) {
	case AUR_LLM_AZURE:
		return "azure";
	case AUR_LLM_ANTHROPIC:
		return "anthropic";
	case AUR_LLM_OPENAI:
	default:
		return "openai";
	}
}

/* ---- configuration ---- */

void aur_llm_config_release(struct aur_llm_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->url);
	free(cfg->model);
	free(cfg->key_file);
	free(cfg->key_env);
	free(cfg->api_version);
	memset(cfg, 0, sizeof(*cfg));
}

/* consumes v */
static int cfg_string(jv v, const char *name, char **out, char *err, size_t errlen)
{
	int rc = 0;

	if (jv_get_kind(v) != JV_KIND_STRING || jv_string_length_bytes(jv_copy(v)) == 0) {
		rc = llm_fail(err, errlen, -EINVAL, "llm.%s must be a non-empty string", name);
	} else {
		free(*out);
		*out = aur_xstrdup(jv_string_value(v));
	}
	jv_free(v);
	return rc;
}

/* consumes v */
static int cfg_number(jv v, const char *name, double lo, double hi, double *out, char *err, size_t errlen)
{
	int rc = 0;

	if (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < lo || jv_number_value(v) > hi)
		rc = llm_fail(err, errlen, -EINVAL, "llm.%s must be a number from %.0f to %.0f", name, lo, hi);
	else
		*out = jv_number_value(v);
	jv_free(v);
	return rc;
}

int aur_llm_config_parse(jv obj, struct aur_llm_config *cfg, char *err, size_t errlen)
{
	int rc = -EINVAL;
	int ollama = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (jv_get_kind(obj) != JV_KIND_OBJECT) {
		llm_fail(err, errlen, rc, "llm configuration must be a JSON object");
		goto out;
	}
	jv_object_foreach(obj, k, v)
	{
		const char *name = jv_string_value(k);
		double n = 0;
		int r = 0;

		if (strcmp(name, "provider") == 0) {
			const char *p = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";

			if (strcmp(p, "openai") == 0 || strcmp(p, "vllm") == 0 || strcmp(p, "llamacpp") == 0)
				cfg->provider = AUR_LLM_OPENAI;
			else if (strcmp(p, "ollama") == 0)
				cfg->provider = AUR_LLM_OPENAI, ollama = 1;
			else if (strcmp(p, "azure") == 0)
				cfg->provider = AUR_LLM_AZURE;
			else if (strcmp(p, "anthropic") == 0)
				cfg->provider = AUR_LLM_ANTHROPIC;
			else
				r = llm_fail(err, errlen, -EINVAL,
					     "llm.provider must be openai, azure, anthropic, ollama, vllm or llamacpp");
		} else if (strcmp(name, "url") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->url, err, errlen);
		} else if (strcmp(name, "model") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->model, err, errlen);
		} else if (strcmp(name, "api_key_file") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->key_file, err, errlen);
		} else if (strcmp(name, "api_key_env") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->key_env, err, errlen);
		} else if (strcmp(name, "api_version") == 0) {
			r = cfg_string(jv_copy(v), name, &cfg->api_version, err, errlen);
		} else if (strcmp(name, "connect_timeout_ms") == 0) {
			r = cfg_number(jv_copy(v), name, 1, 600000, &n, err, errlen);
			cfg->connect_timeout_ms = (long)n;
		} else if (strcmp(name, "max_tokens") == 0) {
			r = cfg_number(jv_copy(v), name, 1, 1000000, &n, err, errlen);
			cfg->max_tokens = (long)n;
		} else if (strcmp(name, "max_response_bytes") == 0) {
			r = cfg_number(jv_copy(v), name, 1024, 1 << 30, &n, err, errlen);
			cfg->max_response = (size_t)n;
		} else if (strcmp(name, "max_event_bytes") == 0) {
			r = cfg_number(jv_copy(v), name, 1024, 1 << 30, &n, err, errlen);
			cfg->max_event = (size_t)n;
		} else if (strcmp(name, "max_retries") == 0) {
			r = cfg_number(jv_copy(v), name, 0, 20, &n, err, errlen);
			cfg->max_retries = n == 0 ? -1 : (int)n;
		} else if (strcmp(name, "api_key") == 0) {
			r = llm_fail(err, errlen, -EINVAL,
				     "llm.api_key is not read: put the key in a file (api_key_file) or a variable (api_key_env)");
		} else {
			r = llm_fail(err, errlen, -EINVAL, "llm.%.64s is not a known setting", name);
		}
		jv_free(k);
		jv_free(v);
		if (r < 0)
			goto out;
	}
	if (!cfg->url) {
		if (cfg->provider == AUR_LLM_AZURE) {
			llm_fail(err, errlen, rc, "llm.url is required for azure (https://R.openai.azure.com/openai/deployments/D)");
			goto out;
		}
		cfg->url = aur_xstrdup(cfg->provider == AUR_LLM_ANTHROPIC ? "https://api.anthropic.com/v1"
				       : ollama                           ? "http://127.0.0.1:11434/v1"
									  : "https://api.openai.com/v1");
	}
	if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0) {
		llm_fail(err, errlen, rc, "llm.url must start with http:// or https://");
		goto out;
	}
	if (!cfg->model && cfg->provider != AUR_LLM_AZURE) {
		llm_fail(err, errlen, rc, "llm.model is required for %s", aur_llm_provider_name(cfg->provider));
		goto out;
	}
	if (cfg->key_file && cfg->key_env) {
		llm_fail(err, errlen, rc, "llm.api_key_file and llm.api_key_env are exclusive");
		goto out;
	}
	rc = 0;
out:
	jv_free(obj);
	if (rc < 0)
		aur_llm_config_release(cfg);
	return rc;
}

/* ---- results ---- */

void aur_llm_result_init(struct aur_llm_result *r)
{
	memset(r, 0, sizeof(*r));
	r->tool_calls = jv_array();
}

void aur_llm_result_release(struct aur_llm_result *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->stop);
	jv_free(r->tool_calls);
	r->text = NULL;
	r->stop = NULL;
	r->tool_calls = jv_null();
}
/* the key from its file or variable into key[MAX_KEY]; "" when none is configured. A key
 * with a control character is refused: it would end the header line it is sent in. */
static int load_key(const struct aur_llm_config *cfg, char *key, char *err, size_t errlen)
{
	const char *from = cfg->key_env ? "variable" : "file";
	const char *name = cfg->key_env ? cfg->key_env : cfg->key_file;
	size_t n = 0;
	int rc = -EINVAL;
	FILE *f;

	key[0] = '\0';
	if (cfg->key_env) {
		const char *v = getenv(cfg->key_env);

		n = v ? strlen(v) : 0;
		if (n == 0 || n >= MAX_KEY) {
			llm_fail(err, errlen, rc, "the api key variable %.64s is unset, empty or too long", name);
			goto out;
		}
		memcpy(key, v, n + 1);
	} else if (cfg->key_file) {
		f = fopen(cfg->key_file, "r");
		if (!f) {
			llm_fail(err, errlen, rc, "cannot read the api key file %.200s: %s", name, strerror(errno));
			goto out;
		}
		n = fread(key, 1, MAX_KEY - 1, f);
		fclose(f);
		key[n] = '\0';
		while (n > 0 && isspace((unsigned char)key[n - 1]))
			key[--n] = '\0';
		if (n == 0) {
			llm_fail(err, errlen, rc, "the api key file %.200s is empty", name);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) {
			llm_fail(err, errlen, rc, "the api key %s %.200s holds a control character or more than one line",
				 from, name);
			goto out;
		}
	rc = 0;
out:
	if (rc < 0)
		aur_auth_wipe(key, MAX_KEY);
	return rc;
}

/* replace every copy of key in s by [redacted] (in place: s never grows) */
static void redact(char *s, const char *key)
{
	static const char mark[] = "[redacted]";
	size_t klen = strlen(key);
	char *p;

	if (klen == 0)
		return;
	while ((p = strstr(s, key)) != NULL) {
		size_t tail = strlen(p + klen);

		if (klen >= sizeof(mark) - 1) {
			memcpy(p, mark, sizeof(mark) - 1);
			memmove(p + sizeof(mark) - 1, p + klen, tail + 1);
		} else {
			/* a key shorter than the mark: blank it instead of growing s past cap */
			memset(p, '*', klen);
		}
	}
}

struct attempt {
	struct aur_llm_stream *stream;
	struct aur_buf errbody;  /* a non-2xx answer's body */
	CURL *curl;
	long status;
	long long retry_after_ms; /* -1 when the answer gave none */
	int event_stream;         /* Content-Type: text/event-stream */
	int stream_rc;            /* why the write callback stopped */
	/* text already passed on by earlier attempts: not passed again */
	aur_llm_text_fn on_text;
	void *arg;
	size_t delivered;
	size_t seen;
};

static int pass_text(void *arg, const char *text, size_t len)
{
	struct attempt *a = arg;
	size_t skip = 0;
	int rc = 0;

	if (a->seen < a->delivered)
		skip = a->delivered - a->seen < len ? a->delivered - a->seen : len;
	a->seen += len;
	if (skip < len && a->on_text)
		rc = a->on_text(a->arg, text + skip, len - skip);
	if (a->seen > a->delivered)
		a->delivered = a->seen;
	return rc;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t len = size * n;
	char line[128];
	char *v;

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* a new answer (a 100 Continue, a redirect): forget the last one's headers */
		a->retry_after_ms = -1;
		a->event_stream = 0;
		return len;
	}
	v = strchr(line, ':');
	if (!v)
		return len;
	*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "retry-after-ms") == 0 && isdigit((unsigned char)*v)) {
		a->retry_after_ms = strtoll(v, NULL, 10);
	} else if (strcasecmp(line, "retry-after") == 0 && isdigit((unsigned char)*v) && a->retry_after_ms < 0) {
		/* delta-seconds; an HTTP-date is left to the backoff */
		long long secs = strtoll(v, NULL, 10);

		a->retry_after_ms = secs > 86400 ? 86400000LL : secs * 1000;
	} else if (strcasecmp(line, "content-type") == 0) {
		a->event_stream = strncasecmp(v, "text/event-stream", 17) == 0;
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t len = size * n;

	if (a->status == 0)
		curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->status);
	if (a->status < 200 || a->status > 299) {
		/* an error body is only read for its message: the rest is dropped, not an error */
		if (a->errbody.len < MAX_ERROR_BODY)
			aur_buf_add(&a->errbody, p, len < MAX_ERROR_BODY - a->errbody.len ? len
										  : MAX_ERROR_BODY - a->errbody.len);
		return len;
	}
	if (!a->event_stream) {
		a->stream_rc = -EPROTO;
		return 0;
	}
	a->stream_rc = aur_llm_stream_feed(a->stream, p, len, NULL, 0);
	return a->stream_rc < 0 ? 0 : len;
}

static void sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
	char line[MAX_KEY + 64];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	n = curl_slist_append(h, line);
	aur_auth_wipe(line, sizeof(line));
	if (!n) {
		fputs("aurora: out of memory\n", stderr);
		abort();
	}
	return n;
}

static char *endpoint(const struct aur_llm_config *cfg)
{
	struct aur_buf u;
	size_t n = strlen(cfg->url);

	aur_buf_init(&u, 0);
	while (n > 0 && cfg->url[n - 1] == '/')
		n--;
	aur_buf_add(&u, cfg->url, n);
	if (cfg->provider == AUR_LLM_ANTHROPIC)
		aur_buf_adds(&u, "/messages");
	else
		aur_buf_adds(&u, "/chat/completions");
	if (cfg->provider == AUR_LLM_AZURE)
		aur_buf_addf(&u, "?api-version=%s", cfg->api_version ? cfg->api_version : AZURE_API_VERSION);
	return aur_buf_detach(&u, NULL);
}

/* the provider's message from an error body, or the body's start when it is not JSON */
static void body_message(const struct aur_buf *b, char *out, size_t outlen)
{
	jv e = jv_invalid();
	size_t k = 0;

	if (aur_jvio_parse(b->data ? b->data : "", b->len, &e, NULL, 0) < 0)
		e = jv_invalid();
	if (llm_kind_is(e, JV_KIND_OBJECT)) {
		llm_error_message(e, out, outlen);
	} else {
		jv_free(e);
		/* printable bytes only: an error page may hold anything */
		for (size_t i = 0; b->data && i < b->len && k + 1 < outlen && k < 120; i++)
			out[k++] = isprint((unsigned char)b->data[i]) ? b->data[i] : ' ';
		out[k] = '\0';
		if (k == 0)
			snprintf(out, outlen, "empty body");
	}
}

int aur_llm_chat(const struct aur_llm_config *cfg, jv messages, jv tools, aur_llm_text_fn on_text,
		 void *arg, long long deadline_ms, struct aur_llm_result *res, char *err, size_t errlen)
{
	char key[MAX_KEY];
	char msg[LLM_MAX_PROVIDER_MSG + 128];
	struct curl_slist *headers = NULL;
	struct attempt a;
	char *url = NULL;
	char *bodytext = NULL;
	jv body = jv_invalid();
	int retries = cfg->max_retries < 0 ? 0 : cfg->max_retries == 0 ? DEFAULT_RETRIES : cfg->max_retries;
	long long backoff = BACKOFF_FIRST_MS;
	int attempts = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	aur_buf_init(&a.errbody, MAX_ERROR_BODY);
	a.on_text = on_text;
	a.arg = arg;
	aur_llm_result_init(res);
	key[0] = '\0';
	rc = load_key(cfg, key, err, errlen);
	if (rc < 0)
		goto out;
	rc = aur_llm_request_body(cfg, messages, tools, &body, err, errlen);
	if (rc < 0)
		goto out;
	{
		jv text = jv_dump_string(jv_copy(body), 0);

		bodytext = aur_xstrdup(jv_string_value(text));
		jv_free(text);
	}
	url = endpoint(cfg);
	headers = add_header(headers, "Content-Type", "application/json");
	headers = add_header(headers, "Accept", "text/event-stream");
	if (cfg->provider == AUR_LLM_ANTHROPIC)
		headers = add_header(headers, "anthropic-version",
				     cfg->api_version ? cfg->api_version : ANTHROPIC_VERSION);
	if (key[0] && cfg->provider == AUR_LLM_ANTHROPIC)
		headers = add_header(headers, "x-api-key", key);
	else if (key[0] && cfg->provider == AUR_LLM_AZURE)
		headers = add_header(headers, "api-key", key);
	else if (key[0]) {
		char bearer[MAX_KEY + 8];

		snprintf(bearer, sizeof(bearer), "Bearer %s", key);
		headers = add_header(headers, "Authorization", bearer);
		aur_auth_wipe(bearer, sizeof(bearer));
	}
	a.curl = curl_easy_init();
	if (!a.curl) {
		rc = llm_fail(err, errlen, -ENOMEM, "cannot start libcurl");
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		long long left = deadline_ms - aur_time_mono_ms();
		long long wait;
		CURLcode cc;
		int retry;

		if (left <= 0) {
			rc = llm_fail(err, errlen, -ETIMEDOUT, "%s: no answer within the time limit (%d attempts)", url,
				      attempt);
			goto out;
		}
		aur_llm_stream_free(a.stream);
		a.stream = aur_llm_stream_new(cfg->provider, cfg->max_response, cfg->max_event, pass_text, &a);
		a.seen = 0;
		a.status = 0;
		a.stream_rc = 0;
		a.retry_after_ms = -1;
		a.event_stream = 0;
		aur_buf_reset(&a.errbody);
		curl_easy_reset(a.curl);
		curl_easy_setopt(a.curl, CURLOPT_URL, url);
		curl_easy_setopt(a.curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(a.curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(a.curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(a.curl, CURLOPT_POSTFIELDS, bodytext);
		curl_easy_setopt(a.curl, CURLOPT_TIMEOUT_MS, (long)left);
		curl_easy_setopt(a.curl, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_MS));
		curl_easy_setopt(a.curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(a.curl, CURLOPT_HEADERDATA, &a);
		curl_easy_setopt(a.curl, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(a.curl, CURLOPT_WRITEDATA, &a);
		/* the key goes to this host only: no redirects to follow elsewhere */
		curl_easy_setopt(a.curl, CURLOPT_FOLLOWLOCATION, 0L);
		cc = curl_easy_perform(a.curl);
		attempts = attempt + 1;
		curl_easy_getinfo(a.curl, CURLINFO_RESPONSE_CODE, &a.status);
		if (cc == CURLE_WRITE_ERROR && a.stream_rc == -EPROTO && !a.event_stream) {
			rc = llm_fail(err, errlen, -EPROTO, "%s: HTTP %ld answer is not an event stream", url, a.status);
			goto out;
		}
		if (cc == CURLE_WRITE_ERROR && a.stream_rc < 0) {
			aur_llm_result_release(res);
			aur_llm_stream_finish(a.stream, res, msg, sizeof(msg));
			redact(msg, key);
			rc = llm_fail(err, errlen, a.stream_rc, "%s: %s", url, msg);
			goto out;
		}
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			rc = llm_fail(err, errlen, -ETIMEDOUT, "%s: no complete answer within the time limit (%d attempts)",
				      url, attempt + 1);
			goto out;
		}
		if (cc == CURLE_OK && a.status >= 200 && a.status <= 299) {
			aur_llm_result_release(res);
			rc = aur_llm_stream_finish(a.stream, res, msg, sizeof(msg));
			if (rc < 0) {
				redact(msg, key);
				llm_fail(err, errlen, rc, "%s: %s", url, msg);
			}
			goto out;
		}
		retry = cc != CURLE_OK || a.status == 429 || a.status >= 500;
		if (cc != CURLE_OK) {
			snprintf(msg, sizeof(msg), "%s", curl_easy_strerror(cc));
			rc = -EIO;
		} else {
			char pm[LLM_MAX_PROVIDER_MSG + 64];

			body_message(&a.errbody, pm, sizeof(pm));
			redact(pm, key);
			snprintf(msg, sizeof(msg), "HTTP %ld: %s", a.status, pm);
			rc = retry ? -EAGAIN
			   : a.status == 401 || a.status == 403 ? -EACCES
								  : -EINVAL;
		}
		if (!retry || attempt >= retries) {
			llm_fail(err, errlen, rc, "%s: %s%s", url, msg, retry ? " (retries exhausted)" : "");
			goto out;
		}
		wait = a.retry_after_ms >= 0 ? a.retry_after_ms : backoff;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		if (wait >= deadline_ms - aur_time_mono_ms()) {
			llm_fail(err, errlen, rc, "%s: %s (the next try, in %lld ms, would pass the time limit)", url, msg,
				 wait);
			goto out;
		}
		sleep_ms(wait);
	}
out:
	aur_auth_wipe(key, sizeof(key));
	if (rc < 0) {
		aur_llm_result_release(res);
		res->text = aur_xstrdup("");
		res->stop = aur_xstrdup("");
		res->tool_calls = jv_array();
	}
	/* set last: aur_llm_stream_finish fills res afresh */
	res->attempts = attempts;
	res->status = (int)a.status;
	if (a.curl)
		curl_easy_cleanup(a.curl);
	/* curl_slist_free_all does not wipe: the header lines hold the key */
	for (struct curl_slist *h = headers; h; h = h->next)
		aur_auth_wipe(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	aur_llm_stream_free(a.stream);
	aur_buf_release(&a.errbody);
	free(url);
	free(bodytext);
	jv_free(body);
	return rc;
}
