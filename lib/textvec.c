#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be32.h"
#include "textvec.h"
#include "xalloc.h"
#include "banned.h"

/* in strcmp order, without repeats: is_stop bisects it */
static const char *const stop_words[] = {
	"a", "about", "above", "after", "all", "an", "and", "any", "are", "as", "at", "be",
	"been", "below", "but", "by", "can", "for", "from", "has", "have", "in", "into", "is",
	"it", "its", "last", "more", "no", "not", "of", "on", "or", "our", "out", "over",
	"per", "than", "that", "the", "their", "then", "there", "this", "to", "too", "under",
	"was", "were", "when", "which", "while", "will", "with", "within", NULL,
};

/* role words a service's name often ends with: "Shipping API", "CheckoutController" */
static const char *const role_words[] = {
	"api", "service", "svc", "app", "server", "srv", "controller", "handler", NULL,
};

/* environment words a name carries at either end: "checkout-prod", "Reviews - Production" */
static const char *const env_words[] = {
	"prod", "production", "prd", "staging", "stage", "stg", "dev", "development", "qa", "uat",
	"preprod", "canary", NULL,
};

static int in_list(const char *const *list, const char *w, size_t n)
{
	for (int i = 0; list[i]; i++)
		if (strlen(list[i]) == n && !strncmp(list[i], w, n))
			return 1;
	return 0;
}

/* Bisected: every word of every alert's text is looked up, four times an alert. */
static int is_stop(const char *w)
{
	size_t lo = 0;
	size_t hi = sizeof(stop_words) / sizeof(stop_words[0]) - 1; /* without the NULL */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(stop_words[mid], w);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static uint32_t fnv1a(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t word_bucket(const char *w, size_t n)
{
	return fnv1a(fnv1a(2166136261u, "w", 1), w, n) % AUR_TEXTVEC_BUCKETS;
}

/* Lowercase and trim into out; returns the length. */
static size_t lower_trim(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	while (*in && isspace((unsigned char)*in))
		in++;
	for (; *in && n + 1 < outlen; in++)
		out[n++] = (char)tolower((unsigned char)*in);
	while (n && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
	return n;
}

/*
 * The name without what only says how it was written: a tag's "key:" head
 * ("svc:checkout-prod"), parenthesized notes ("(prod)"), a DNS name's domain
 * ("cart-api.cart.svc.cluster.local"), CamelCase ("CheckoutController"
 * becomes "checkout-controller"), separators (spaces, "_", " - ").
 */
static size_t name_words(const char *name, char *out, size_t outlen)
{
	const char *colon = strchr(name, ':');
	size_t n = 0;
	int depth = 0;

	while (*name && isspace((unsigned char)*name))
		name++;
	/* "kube_deployment:checkout-api": the value; "web-1:9100" keeps its host */
	if (colon && colon > name && !memchr(name, ' ', (size_t)(colon - name)) &&
	    colon[1] && !isdigit((unsigned char)colon[1]))
		name = colon + 1;
	for (const char *p = name; *p && n + 2 < outlen; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '(' || ch == '[') {
			depth++;
			continue;
		}
		if (ch == ')' || ch == ']') {
			depth -= depth > 0;
			continue;
		}
		if (depth)
			continue;
		/* a DNS name: its first label is the name */
		if (ch == '.' && !strchr(p, ' '))
			break;
		if (isupper(ch) && p > name && (islower((unsigned char)p[-1]) ||
						 (isupper((unsigned char)p[-1]) && islower((unsigned char)p[1]))))
			out[n++] = '-';
		out[n++] = isalnum(ch) ? (char)tolower(ch) : '-';
	}
	out[n] = '\0';
	return n;
}

void aur_textvec_service_key(const char *name, char *out, size_t outlen)
{
	char tmp[256];
	const char *tok[32];
	size_t len[32];
	size_t ntok = 0;
	size_t first = 0;
	size_t n = 0;
	int changed = 1;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!name)
		return;
	name_words(name, tmp, sizeof(tmp));
	for (char *p = tmp; *p && ntok < 32;) {
		while (*p == '-')
			p++;
		if (!*p)
			break;
		tok[ntok] = p;
		while (*p && *p != '-')
			p++;
		len[ntok] = (size_t)(p - tok[ntok]);
		ntok++;
	}
	/* "checkout-api-prod", "prod-checkout": the service is "checkout"; "checkout-db" stays */
	while (changed && ntok - first > 1) {
		changed = 0;
		if (in_list(env_words, tok[first], len[first])) {
			first++;
			changed = 1;
		} else if (in_list(env_words, tok[ntok - 1], len[ntok - 1]) ||
			   in_list(role_words, tok[ntok - 1], len[ntok - 1])) {
			ntok--;
			changed = 1;
		}
	}
	for (size_t i = first; i < ntok && n + len[i] + 2 < outlen; i++) {
		if (n)
			out[n++] = '-';
		memcpy(out + n, tok[i], len[i]);
		n += len[i];
	}
	out[n] = '\0';
}

/*
 * A workload's key from one of its pods' names: a Deployment's pod
 * "returns-api-tc8sb4kjpg-jz69x" (ReplicaSet hash, pod suffix), a
 * StatefulSet's "search-es-0" (ordinal) -> the service key of the rest.
 */
void aur_textvec_pod_key(const char *pod, char *out, size_t outlen)
{
	char tmp[256];
	size_t n;
	char *dash;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!pod)
		return;
	n = lower_trim(pod, tmp, sizeof(tmp));
	dash = strrchr(tmp, '-');
	if (dash && dash > tmp && strspn(dash + 1, "0123456789") == strlen(dash + 1) && dash[1]) {
		*dash = '\0';
	} else if (dash && dash > tmp && strlen(dash + 1) == 5 && strspn(dash + 1, "abcdefghijklmnopqrstuvwxyz0123456789") == 5) {
		*dash = '\0';
		dash = strrchr(tmp, '-');
		/* the ReplicaSet's pod-template hash: 6 to 10 characters, a digit among them */
		if (dash && dash > tmp && strlen(dash + 1) >= 6 && strlen(dash + 1) <= 10 &&
		    strspn(dash + 1, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(dash + 1) &&
		    strpbrk(dash + 1, "0123456789"))
			*dash = '\0';
	}
	(void)n;
	aur_textvec_service_key(tmp, out, outlen);
}

void aur_textvec_host_name(const char *host, char *out, size_t outlen)
{
	size_t end;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!host)
		return;
	lower_trim(host, out, outlen);
	/* a URL or host:port: keep the host; an IP address stays whole */
	if (strstr(out, "://")) {
		char *p = strstr(out, "://") + 3;

		memmove(out, p, strlen(p) + 1);
	}
	end = strcspn(out, ":/");
	out[end] = '\0';
	if (strspn(out, "0123456789.") == end)
		return;
	out[strcspn(out, ".")] = '\0';
}

void aur_textvec_host_key(const char *host, char *out, size_t outlen)
{
	size_t n;

	aur_textvec_host_name(host, out, outlen);
	n = strlen(out);
	if (!n || strspn(out, "0123456789.") == n)
		return;
	/* web-7, web7, web_07: a numbered member of the "web" fleet */
	while (n && isdigit((unsigned char)out[n - 1]))
		n--;
	while (n && (out[n - 1] == '-' || out[n - 1] == '_'))
		n--;
	if (n)
		out[n] = '\0';
}

static int word_char(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

static void add_term(struct aur_textvec_terms *t, const char *w, size_t n)
{
	char term[AUR_TEXTVEC_TERM_MAX];

	if (n < 2 || n >= sizeof(term) || t->n >= AUR_TEXTVEC_MAX_TERMS)
		return;
	for (size_t i = 0; i < n; i++)
		term[i] = (char)tolower((unsigned char)w[i]);
	term[n] = '\0';
	if (strspn(term, "0123456789.") == n || is_stop(term))
		return;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->term[i], term))
			return;
	memcpy(t->term[t->n++], term, n + 1);
}

static int dns_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '*' || c == '_';
}

/*
 * An IPv4 address with its port ("lookup x on 10.96.0.10:53"): the
 * endpoint several clients fail talking to is one thing they share.
 * Addresses without a port are left out (they are as often the alert's
 * own host). 1 when start..n is an address, whatever was added.
 */
static int endpoint_term(const char *start, size_t n, struct aur_textvec_terms *out)
{
	char term[AUR_TEXTVEC_TERM_MAX];
	size_t dots = 0;
	size_t port;

	if (strspn(start, "0123456789.") < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		dots += start[i] == '.';
	if (dots != 3 || start[n] != ':')
		return 1;
	port = strspn(start + n + 1, "0123456789");
	if (port == 0 || port > 5 || n + 1 + port >= sizeof(term))
		return 1;
	memcpy(term, start, n + 1 + port);
	term[n + 1 + port] = '\0';
	add_term(out, term, n + 1 + port);
	return 1;
}

/*
 * DNS names in text ("gateway.acquirer.example", "CN=*.shop.example.com"):
 * the name whole (not a URL's host: links to one runbook site are no
 * shared failure); a wildcard as
 * "*.shop.example.com"; a host of four labels or more also as
 * "~shop.example.com", the wildcard that would cover it (correlation
 * matches it with "*.shop.example.com" only: a certificate and the hosts
 * it covers meet, two hosts of one domain do not). Numbers (addresses, versions) are not names;
 * cluster-internal domains are left alone.
 */
static void dns_terms(const char *text, struct aur_textvec_terms *out)
{
	const char *p = text;

	while (*p) {
		const char *start;
		size_t n;
		size_t dots = 0;
		const char *last;
		int wildcard;

		while (*p && !dns_char((unsigned char)*p))
			p++;
		start = p;
		while (*p && dns_char((unsigned char)*p))
			p++;
		n = (size_t)(p - start);
		wildcard = n > 2 && start[0] == '*' && start[1] == '.';
		while (n && (*start == '*' || *start == '.')) {
			start++;
			n--;
		}
		while (n && (start[n - 1] == '.' || start[n - 1] == '-'))
			n--;
		if (n < 5 || n >= AUR_TEXTVEC_TERM_MAX || memchr(start, '*', n))
			continue;
		if (endpoint_term(start, n, out))
			continue;
		for (size_t i = 0; i < n; i++)
			dots += start[i] == '.';
		last = start + n;
		while (last > start && last[-1] != '.')
			last--;
		if (dots < 2 || !isalpha((unsigned char)*last) || strspn(last, "abcdefghijklmnopqrstuvwxyz"
							   "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < (size_t)(start + n - last))
			continue;
		if (wildcard) {
			char w[AUR_TEXTVEC_TERM_MAX];

			snprintf(w, sizeof(w), "*.%.*s", (int)n, start);
			add_term(out, w, strlen(w));
			continue;
		}
		/*
		 * A URL's host (a runbook, a dashboard) is not a name two alerts
		 * share by being failures of it; it still meets a wildcard.
		 */
		if (start - text < 3 || strncmp(start - 3, "://", 3) != 0)
			add_term(out, start, n);
		if (dots >= 3 && !(n > 6 && !strncmp(start + n - 6, ".local", 6)) &&
		    !(n > 9 && !strncmp(start + n - 9, ".internal", 9))) {
			const char *parent = (const char *)memchr(start, '.', n) + 1;
			char w[AUR_TEXTVEC_TERM_MAX];

			snprintf(w, sizeof(w), "~%.*s", (int)(n - (size_t)(parent - start)), parent);
			add_term(out, w, strlen(w));
		}
	}
}

void aur_textvec_terms(const char *text, struct aur_textvec_terms *out, int parts)
{
	const char *p = text ? text : "";

	out->n = 0;
	while (*p) {
		const char *start;
		size_t n;
		int handle;

		while (*p && !word_char((unsigned char)*p))
			p++;
		/* "@slack-checkout-oncall" is where a notification goes, not a name in the text */
		handle = p > (text ? text : "") && p[-1] == '@';
		start = p;
		while (*p && word_char((unsigned char)*p))
			p++;
		n = (size_t)(p - start);
		while (n && (start[n - 1] == '-' || start[n - 1] == '_'))
			n--;
		while (n && (*start == '-' || *start == '_')) {
			start++;
			n--;
		}
		if (!n || handle)
			continue;
		add_term(out, start, n);
		if (parts && (memchr(start, '-', n) || memchr(start, '_', n))) {
			size_t i = 0;

			while (i < n) {
				size_t j = i;

				while (j < n && start[j] != '-' && start[j] != '_')
					j++;
				add_term(out, start + i, j - i);
				i = j + 1;
			}
		}
	}
	if (!parts && text)
		dns_terms(text, out);
}

/* prefixes and words that make ordinary hyphenated words ("non-ready", "oom-killed", "30-day") */
static const char *const word_prefixes[] = {
	"non", "re", "pre", "post", "anti", "auto", "co", "de", "multi", "over", "under", "self", "semi",
	"sub", "super", "un", "out", "cross", "high", "low", "well", "long", "short", "up", "down", "half",
	"all", "full", "per", "in", "on", "off", "read", "write", "oom", "x", "e", "end", "one", "two",
	"time", "rate", "mid", "near", "real", "so", "top", "last", "built", "follow", "roll", "sign", "opt",
	"set", "fail", "cool", "warm", "best", "dead", "slow", "fast", "single", "double", "ad", "ex", "add", "plug", "check", "start", NULL,
};

/* "out-of-memory", "up-to-date", "rate-limited", "oom-killed": words, not names */
static int ordinary_parts(const char *term)
{
	char part[AUR_TEXTVEC_TERM_MAX];
	const char *p = term;
	size_t n = 0;

	while (*p) {
		n = strcspn(p, "-");
		if (n < sizeof(part)) {
			memcpy(part, p, n);
			part[n] = '\0';
			if (is_stop(part))
				return 1;
		}
		p += n;
		if (*p == '-')
			p++;
	}
	/* the last part a past participle */
	return n >= 4 && !strcmp(term + strlen(term) - 2, "ed");
}

int aur_textvec_names_something(const char *term)
{
	const char *dash = strchr(term, '-');
	size_t n = strlen(term);

	if (strchr(term, '.'))
		return 1; /* a DNS name or an address:port */
	if (!dash || strchr(term, '_') || term[0] == '-' || term[n - 1] == '-')
		return 0;
	/* "30-day", "5xx-rate": a quantity, not a name */
	if (isdigit((unsigned char)term[0]) || ordinary_parts(term))
		return 0;
	return !in_list(word_prefixes, term, (size_t)(dash - term));
}

/* The hashed features of text: words (weight 1) and character trigrams of words (0.3). */
struct features {
	size_t n;
	uint32_t bucket[AUR_TEXTVEC_MAX_DIMS * 4];
	float tf[AUR_TEXTVEC_MAX_DIMS * 4];
};

static void feature_add(struct features *f, uint32_t bucket, float w)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->bucket[i] == bucket) {
			f->tf[i] += w;
			return;
		}
	}
	if (f->n < sizeof(f->bucket) / sizeof(f->bucket[0])) {
		f->bucket[f->n] = bucket;
		f->tf[f->n++] = w;
	}
}

static void features_of(const char *text, struct features *f)
{
	struct aur_textvec_terms terms;

	f->n = 0;
	aur_textvec_terms(text, &terms, 1);
	for (size_t i = 0; i < terms.n; i++) {
		const char *w = terms.term[i];
		size_t n = strlen(w);
		char padded[AUR_TEXTVEC_TERM_MAX + 2];

		feature_add(f, word_bucket(w, n), 1.0f);
		if (memchr(w, '-', n) || memchr(w, '_', n))
			continue;
		snprintf(padded, sizeof(padded), " %s ", w);
		for (size_t j = 0; j + 3 <= n + 2; j++)
			feature_add(f, fnv1a(fnv1a(2166136261u, "c", 1), padded + j, 3) % AUR_TEXTVEC_BUCKETS, 0.3f);
	}
}

uint32_t aur_textvec_term_df(const struct aur_textvec_stats *stats, const char *term)
{
	return stats->df[word_bucket(term, strlen(term))];
}

void aur_textvec_learn(struct aur_textvec_stats *stats, const char *text)
{
	struct features *f = aur_xcalloc(1, sizeof(*f));

	features_of(text, f);
	stats->docs++;
	for (size_t i = 0; i < f->n; i++)
		stats->df[f->bucket[i]]++;
	free(f);
}

static int by_weight_desc(const void *a, const void *b)
{
	const struct aur_textvec_entry *x = a;
	const struct aur_textvec_entry *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

static int by_bucket(const void *a, const void *b)
{
	const struct aur_textvec_entry *x = a;
	const struct aur_textvec_entry *y = b;

	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

/* Keep the heaviest AUR_TEXTVEC_MAX_DIMS entries of e[0..n), normalize, sort by bucket. */
static void finish(struct aur_textvec_entry *e, size_t n, struct aur_textvec *out)
{
	double norm = 0;

	if (n > AUR_TEXTVEC_MAX_DIMS) {
		qsort(e, n, sizeof(*e), by_weight_desc);
		n = AUR_TEXTVEC_MAX_DIMS;
	}
	for (size_t i = 0; i < n; i++)
		norm += (double)e[i].weight * e[i].weight;
	norm = sqrt(norm);
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (norm <= 0 || e[i].weight <= 0)
			continue;
		out->e[out->n].bucket = e[i].bucket;
		out->e[out->n].weight = (float)(e[i].weight / norm);
		out->n++;
	}
	qsort(out->e, out->n, sizeof(out->e[0]), by_bucket);
}

void aur_textvec_vector(const struct aur_textvec_stats *stats, const char *text, struct aur_textvec *out)
{
	struct features *f = aur_xcalloc(1, sizeof(*f));
	struct aur_textvec_entry *tmp;

	features_of(text, f);
	tmp = aur_xcalloc(f->n ? f->n : 1, sizeof(*tmp));
	for (size_t i = 0; i < f->n; i++) {
		double idf = 1.0;

		if (stats && stats->docs)
			idf = log((1.0 + stats->docs) / (1.0 + stats->df[f->bucket[i]])) + 1.0;
		tmp[i].bucket = f->bucket[i];
		tmp[i].weight = (float)(f->tf[i] * idf);
	}
	finish(tmp, f->n, out);
	free(tmp);
	free(f);
}

double aur_textvec_cosine(const struct aur_textvec *a, const struct aur_textvec *b)
{
	size_t i = 0;
	size_t j = 0;
	double dot = 0;

	while (i < a->n && j < b->n) {
		if (a->e[i].bucket == b->e[j].bucket)
			dot += (double)a->e[i++].weight * b->e[j++].weight;
		else if (a->e[i].bucket < b->e[j].bucket)
			i++;
		else
			j++;
	}
	return dot < 0 ? 0 : dot > 1 ? 1 : dot;
}

void aur_textvec_add(struct aur_textvec *acc, unsigned weight_acc, const struct aur_textvec *v)
{
	struct aur_textvec_entry merged[AUR_TEXTVEC_MAX_DIMS * 2];
	size_t i = 0;
	size_t j = 0;
	size_t n = 0;
	float wa = (float)(weight_acc ? weight_acc : 0);

	while (i < acc->n || j < v->n) {
		if (j >= v->n || (i < acc->n && acc->e[i].bucket < v->e[j].bucket)) {
			merged[n].bucket = acc->e[i].bucket;
			merged[n++].weight = acc->e[i++].weight * wa;
		} else if (i >= acc->n || v->e[j].bucket < acc->e[i].bucket) {
			merged[n++] = v->e[j++];
		} else {
			merged[n].bucket = acc->e[i].bucket;
			merged[n++].weight = acc->e[i++].weight * wa + v->e[j++].weight;
		}
	}
	finish(merged, n, acc);
}

size_t aur_textvec_blob_size(const struct aur_textvec *v)
{
	return 4 + v->n * 8;
}

void aur_textvec_to_blob(const struct aur_textvec *v, unsigned char *out)
{
	aur_be32_store(out, (uint32_t)v->n);
	for (size_t i = 0; i < v->n; i++) {
		uint32_t bits;

		memcpy(&bits, &v->e[i].weight, 4);
		aur_be32_store(out + 4 + i * 8, v->e[i].bucket);
		aur_be32_store(out + 8 + i * 8, bits);
	}
}

int aur_textvec_from_blob(const void *blob, size_t len, struct aur_textvec *v)
{
	const unsigned char *p = blob;
	uint32_t n;

	v->n = 0;
	if (!blob || len < 4)
		return -EINVAL;
	n = aur_be32_load(p);
	if (n > AUR_TEXTVEC_MAX_DIMS || len != 4 + (size_t)n * 8)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t bits = aur_be32_load(p + 8 + (size_t)i * 8);

		v->e[i].bucket = aur_be32_load(p + 4 + (size_t)i * 8) % AUR_TEXTVEC_BUCKETS;
		memcpy(&v->e[i].weight, &bits, 4);
	}
	v->n = n;
	return 0;
}
