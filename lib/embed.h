/*
 * embed.h - data files compiled into the binaries (scripts/embed).
 *
 * The files of lib/mappings and lib/samples travel inside every binary, so an
 * installed aurora needs no share directory to work.
 */
#ifndef AURORA_EMBED_H
#define AURORA_EMBED_H

#include <stddef.h>

/*
 * The bytes of dir/name ("samples", "grafana"), NUL-terminated, with *len
 * set; borrowed for the life of the process. NULL when there is no such file.
 */
const char *aur_embed_find(const char *dir, const char *name, size_t *len);

/* Call fn for each file in dir, in build order. */
void aur_embed_each(const char *dir, void (*fn)(const char *name, const char *data, size_t len, void *arg),
		    void *arg);

#endif
