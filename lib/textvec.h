/*
 * textvec.h - the words of alerts: service keys, terms and similarity vectors.
 *
 * Correlation compares alerts by what they say. This module turns text into
 *   - a service key: "Shipping API", "checkout-api (prod)", "svc:checkout-prod",
 *     "CheckoutController", "Checkout - Production" -> "checkout" (role and
 *     environment words at the ends go, "checkout-db" stays "checkout-db");
 *     a host "auth-3.prod:9100" -> "auth" (a fleet of numbered hosts is one key);
 *   - terms: lowercase words and hyphenated names ("users-db"), stop words
 *     dropped, for the open-incident term index and for mentions;
 *   - a sparse vector of hashed words and character trigrams weighted by
 *     TF-IDF, where document frequencies live in AUR_TEXTVEC_BUCKETS hashed
 *     counters (kept in the store by the caller).
 * Deterministic, no network, no allocation beyond the caller's structs.
 */
#ifndef AURORA_TEXTVEC_H
#define AURORA_TEXTVEC_H

#include <stddef.h>
#include <stdint.h>

#define AUR_TEXTVEC_BUCKETS 65536u
#define AUR_TEXTVEC_MAX_DIMS 256
#define AUR_TEXTVEC_MAX_TERMS 64
#define AUR_TEXTVEC_TERM_MAX 64

struct aur_textvec_entry {
	uint32_t bucket;
	float weight;
};

/* A sparse vector, entries sorted by bucket, weights L2-normalized. */
struct aur_textvec {
	size_t n;
	struct aur_textvec_entry e[AUR_TEXTVEC_MAX_DIMS];
};

struct aur_textvec_terms {
	size_t n;
	char term[AUR_TEXTVEC_MAX_TERMS][AUR_TEXTVEC_TERM_MAX];
};

/* Document frequencies per bucket and the number of documents counted. */
struct aur_textvec_stats {
	uint32_t docs;
	uint32_t df[AUR_TEXTVEC_BUCKETS];
};

/* Service key of a service name into out ("" when name is empty). */
void aur_textvec_service_key(const char *name, char *out, size_t outlen);
/*
 * A workload's key from a pod's name: "returns-api-tc8sb4kjpg-jz69x" and
 * "search-es-0" -> "returns", "search-es".
 */
void aur_textvec_pod_key(const char *pod, char *out, size_t outlen);
/* A host's own name: lowercase, no scheme, port or domain ("DB-3.prod:9100" -> "db-3"). */
void aur_textvec_host_name(const char *host, char *out, size_t outlen);
/* Service key of a host name into out ("" when host is empty). */
void aur_textvec_host_key(const char *host, char *out, size_t outlen);

/*
 * The distinct terms of text, in order of first appearance, at most
 * AUR_TEXTVEC_MAX_TERMS; words shorter than 2 characters, numbers-only words
 * and stop words are left out, and so are "@handles". Without parts, DNS
 * names ("api.shop.example.com") and address:port endpoints are terms
 * too; a wildcard is "*.shop.example.com" and a host of four labels or
 * more also gives "~shop.example.com", the wildcard that would cover it.
 * Hyphenated names count as one term
 * ("users-db"); with parts, their parts are further terms ("users", "db").
 * Whole terms are what a mention of a service is matched on: "catalog-db-1"
 * does not mention "catalog".
 */
void aur_textvec_terms(const char *text, struct aur_textvec_terms *out, int parts);

/*
 * Whether a term reads as the name of something (a service, a host, a DNS
 * name): "orders-db", "web-3", "gateway.acquirer.example", but not the
 * ordinary hyphenated words "30-day", "non-ready", "oom-killed".
 */
int aur_textvec_names_something(const char *term);

/*
 * Count text as one more document in stats (each bucket once per document).
 * Call it once per new alert identity, before aur_textvec_vector.
 */
void aur_textvec_learn(struct aur_textvec_stats *stats, const char *text);

/* In how many documents of stats the word term appeared (hash collisions included). */
uint32_t aur_textvec_term_df(const struct aur_textvec_stats *stats, const char *term);

/* The TF-IDF vector of text under stats (stats may be NULL: plain TF). */
void aur_textvec_vector(const struct aur_textvec_stats *stats, const char *text, struct aur_textvec *out);

/* Cosine similarity of two normalized vectors, 0..1. */
double aur_textvec_cosine(const struct aur_textvec *a, const struct aur_textvec *b);

/*
 * acc = normalize(acc * weight_acc + v): the running centroid of an
 * incident's alerts. weight_acc is how many vectors acc already holds.
 * Dimensions past AUR_TEXTVEC_MAX_DIMS keep the heaviest entries.
 */
void aur_textvec_add(struct aur_textvec *acc, unsigned weight_acc, const struct aur_textvec *v);

/* Serialize to bytes (caller's buffer of aur_textvec_blob_size) / back. */
size_t aur_textvec_blob_size(const struct aur_textvec *v);
void aur_textvec_to_blob(const struct aur_textvec *v, unsigned char *out);
/* 0, or -EINVAL for a blob that is not a vector (v is then empty). */
int aur_textvec_from_blob(const void *blob, size_t len, struct aur_textvec *v);

#endif
