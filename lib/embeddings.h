/*
 * embeddings.h - text vectors from an OpenAI-compatible embeddings endpoint.
 *
 * POST {url} with {"model": M, "input": TEXT} and, when a key is given,
 * "Authorization: Bearer KEY"; the answer's data[0].embedding is the vector
 * (OpenAI, Azure OpenAI, Ollama's /v1/embeddings, vLLM, llama.cpp server).
 * The request has a time limit and the answer a size limit.
 */
#ifndef AURORA_EMBEDDINGS_H
#define AURORA_EMBEDDINGS_H

#include <stddef.h>

#define AUR_EMBEDDINGS_MAX_DIMS 8192

struct aur_embeddings {
	const char *url;    /* borrowed */
	const char *model;  /* borrowed; NULL sends "text-embedding-3-small" */
	const char *key;    /* borrowed; NULL sends no Authorization */
	long timeout_ms;
};

/*
 * Fetch the embedding of text into out[0..*dims) (out holds
 * AUR_EMBEDDINGS_MAX_DIMS floats), L2-normalized. 0; -ETIMEDOUT; -EIO for a
 * transport error or an HTTP status other than 2xx; -EPROTO for an answer
 * without a numeric embedding. err says which.
 */
int aur_embeddings_fetch(const struct aur_embeddings *e, const char *text, float *out, size_t *dims,
			 char *err, size_t errlen);

/* Cosine of two normalized vectors of dims floats, clamped to 0..1. */
double aur_embeddings_cosine(const float *a, const float *b, size_t dims);

#endif
