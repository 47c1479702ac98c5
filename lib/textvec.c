#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textvec.h"
#include "xalloc.h"
#include "banned.h"

static const char *const stop_words[] = {
	"a", "about", "above", "after", "all", "an", "and", "any", "are", "as", "at", "be",
	"been", "below", "but", "by", "can", "for", "from", "has", "have", "in", "into", "is",
	"it", "its", "last", "more", "no", "not", "of", "on", "or", "our", "out", "over",
	"per", "than", "that", "the", "their", "then", "there", "this", "to", "too", "under",
	"was", "were", "when", "which", "while", "will", "with", "within", NULL,
};

static const char *const service_suffixes[] = {
	"api", "service", "svc", "app", "server", "srv", NULL,
};

static int is_stop(const char *w)
{
	for (int i = 0; stop_words[i]; i++)
		if (!strcmp(stop_words[i], w))
			return 1;
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

void aur_textvec_service_key(const char *name, char *out, size_t outlen)
{
	size_t n;
	int stripped = 1;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!name)
		return;
	n = lower_trim(name, out, outlen);
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)out[i]) || out[i] == '_')
			out[i] = '-';
	/* "shipping-api" and "Shipping API" name the service "shipping" */
	while (stripped) {
		stripped = 0;
		for (int i = 0; service_suffixes[i]; i++) {
			size_t sl = strlen(service_suffixes[i]);

			if (n > sl + 1 && out[n - sl - 1] == '-' && !strcmp(out + n - sl, service_suffixes[i])) {
				n -= sl + 1;
				out[n] = '\0';
				stripped = 1;
			}
		}
	}
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

void aur_textvec_terms(const char *text, struct aur_textvec_terms *out, int parts)
{
	const char *p = text ? text : "";

	out->n = 0;
	while (*p) {
		const char *start;
		size_t n;

		while (*p && !word_char((unsigned char)*p))
			p++;
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
		if (!n)
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

static void put32(unsigned char *p, uint32_t x)
{
	p[0] = (unsigned char)(x >> 24);
	p[1] = (unsigned char)(x >> 16);
	p[2] = (unsigned char)(x >> 8);
	p[3] = (unsigned char)x;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void aur_textvec_to_blob(const struct aur_textvec *v, unsigned char *out)
{
	put32(out, (uint32_t)v->n);
	for (size_t i = 0; i < v->n; i++) {
		uint32_t bits;

		memcpy(&bits, &v->e[i].weight, 4);
		put32(out + 4 + i * 8, v->e[i].bucket);
		put32(out + 8 + i * 8, bits);
	}
}

int aur_textvec_from_blob(const void *blob, size_t len, struct aur_textvec *v)
{
	const unsigned char *p = blob;
	uint32_t n;

	v->n = 0;
	if (!blob || len < 4)
		return -EINVAL;
	n = get32(p);
	if (n > AUR_TEXTVEC_MAX_DIMS || len != 4 + (size_t)n * 8)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t bits = get32(p + 8 + (size_t)i * 8);

		v->e[i].bucket = get32(p + 4 + (size_t)i * 8) % AUR_TEXTVEC_BUCKETS;
		memcpy(&v->e[i].weight, &bits, 4);
	}
	v->n = n;
	return 0;
}
