/*
 * semvec.h - an alert's or an incident's meaning as a vector: textvec's
 * sparse one, or a dense embedding from an endpoint (embeddings.h).
 *
 * Correlation compares an alert with the centroid of each candidate
 * incident's alerts; the centroid is stored as a blob on the incident. This
 * module is the vector beside textvec: which kind a vector is, its blob, the
 * cosine of two, and a centroid grown by one more text. Vectors of different
 * kinds (an endpoint added or removed later) compare as 0. No allocation but
 * the blob's buffer; the dense floats are the caller's.
 */
#ifndef AURORA_SEMVEC_H
#define AURORA_SEMVEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "embeddings.h"
#include "textvec.h"

struct aur_semvec {
	int dense;
	struct aur_textvec sparse;
	size_t dims;
	float *v; /* AUR_EMBEDDINGS_MAX_DIMS floats (the caller's) when dense is possible, else NULL */
};

/* An empty vector whose dense floats are v (borrowed; NULL: sparse only). */
void aur_semvec_init(struct aur_semvec *sv, float *v);

/*
 * The vector of text into out: the endpoint's embedding when e is given
 * (non-NULL url) and answers, else the built-in one from stats. 0; when the
 * endpoint failed, the built-in vector all the same, -1 and err says why.
 */
int aur_semvec_of(const struct aur_embeddings *e, const struct aur_textvec_stats *stats, const char *text,
		  struct aur_semvec *out, char *err, size_t errlen);

/* The blob of v, the centroid of count texts, into out (reset first): a 4-byte count, a kind byte, the vector. */
void aur_semvec_blob(const struct aur_semvec *v, uint32_t count, struct aur_buf *out);

/* The count of texts in blob, with v filled (empty, and 0, when the blob is none or foreign). */
uint32_t aur_semvec_unblob(const void *blob, size_t len, struct aur_semvec *v);

/* Cosine of a and b, 0 when they are of different kinds or sizes. */
double aur_semvec_cosine(const struct aur_semvec *a, const struct aur_semvec *b);

/* acc = the centroid of its count texts and v. */
void aur_semvec_add(struct aur_semvec *acc, uint32_t count, const struct aur_semvec *v);

#endif
