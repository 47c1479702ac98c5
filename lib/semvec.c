#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be32.h"
#include "semvec.h"
#include "xalloc.h"
#include "banned.h"

void aur_semvec_init(struct aur_semvec *sv, float *v)
{
	sv->dense = 0;
	sv->sparse.n = 0;
	sv->dims = 0;
	sv->v = v;
}

int aur_semvec_of(const struct aur_embeddings *e, const struct aur_textvec_stats *stats, const char *text,
		  struct aur_semvec *out, char *err, size_t errlen)
{
	int rc = 0;

	out->dense = 0;
	if (e && e->url && out->v) {
		if (aur_embeddings_fetch(e, text, out->v, &out->dims, err, errlen) == 0) {
			out->dense = 1;
			return 0;
		}
		rc = -1;
	}
	aur_textvec_vector(stats, text, &out->sparse);
	return rc;
}

void aur_semvec_blob(const struct aur_semvec *v, uint32_t count, struct aur_buf *out)
{
	unsigned char head[5];

	aur_be32_store(head, count);
	head[4] = v->dense ? 'D' : 'S';
	aur_buf_reset(out);
	aur_buf_add(out, head, sizeof(head));
	if (v->dense) {
		unsigned char dims[4];

		aur_be32_store(dims, (uint32_t)v->dims);
		aur_buf_add(out, dims, 4);
		aur_buf_add(out, v->v, v->dims * sizeof(float));
	} else {
		size_t n = aur_textvec_blob_size(&v->sparse);
		unsigned char *tmp = aur_xmalloc(n);

		aur_textvec_to_blob(&v->sparse, tmp);
		aur_buf_add(out, tmp, n);
		free(tmp);
	}
}

uint32_t aur_semvec_unblob(const void *blob, size_t len, struct aur_semvec *v)
{
	const unsigned char *p = blob;

	v->dense = 0;
	v->sparse.n = 0;
	v->dims = 0;
	if (!blob || len < 5)
		return 0;
	if (p[4] == 'D' && v->v && len >= 9) {
		uint32_t dims = aur_be32_load(p + 5);

		if (dims == 0 || dims > AUR_EMBEDDINGS_MAX_DIMS || len != 9 + (size_t)dims * sizeof(float))
			return 0;
		memcpy(v->v, p + 9, (size_t)dims * sizeof(float));
		v->dims = dims;
		v->dense = 1;
		return aur_be32_load(p);
	}
	if (p[4] != 'S' || aur_textvec_from_blob(p + 5, len - 5, &v->sparse) < 0)
		return 0;
	return aur_be32_load(p);
}

double aur_semvec_cosine(const struct aur_semvec *a, const struct aur_semvec *b)
{
	if (a->dense != b->dense)
		return 0;
	if (a->dense)
		return a->dims == b->dims ? aur_embeddings_cosine(a->v, b->v, a->dims) : 0;
	return aur_textvec_cosine(&a->sparse, &b->sparse);
}

void aur_semvec_add(struct aur_semvec *acc, uint32_t count, const struct aur_semvec *v)
{
	double norm = 0;

	if (!v->dense) {
		if (acc->dense) {
			acc->dense = 0;
			count = 0;
		}
		aur_textvec_add(&acc->sparse, count, &v->sparse);
		return;
	}
	if (!acc->v)
		return;
	if (!acc->dense || acc->dims != v->dims) {
		acc->dense = 1;
		acc->dims = v->dims;
		count = 0;
	}
	for (size_t i = 0; i < v->dims; i++) {
		acc->v[i] = acc->v[i] * (float)count + v->v[i];
		norm += (double)acc->v[i] * acc->v[i];
	}
	norm = sqrt(norm);
	for (size_t i = 0; i < v->dims && norm > 0; i++)
		acc->v[i] = (float)(acc->v[i] / norm);
}
