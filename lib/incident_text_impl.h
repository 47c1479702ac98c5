/*
 * incident_text_impl.h - the private half of incident_text.h, shared by its
 * two files and included by nothing else:
 *   incident_text.c     the list table, one line per event and the show
 *                       page, and the writer and field getters below
 *   incident_text_md.c  the postmortem document in Markdown
 * The writer stops at the first failure and remembers it, so a formatter
 * writes on without checking each piece and returns w.rc at its end.
 */
#ifndef AURORA_INCIDENT_TEXT_IMPL_H
#define AURORA_INCIDENT_TEXT_IMPL_H

#include <jq.h>

#include "buf.h"

/* A writer that stops at the first failure and remembers it. */
struct itext_w {
	struct aur_buf *b;
	int rc;
};

void itext_put(struct itext_w *w, const char *s);
__attribute__((format(printf, 2, 3))) void itext_putf(struct itext_w *w, const char *fmt, ...);
/* Append s with control characters as '?' (tabs as spaces; newlines kept when block). */
void itext_put_clean(struct itext_w *w, const char *s, int block);
/* A duration as "42s", "3m 5s", "2h 10m" or "1d 4h". */
void itext_put_duration(struct itext_w *w, long long ms);
/* The part of an event line after its type: "[sev] service: title (details)". */
void itext_put_event_details(struct itext_w *w, jv ev);
/* Each element of array field k of o through fn. */
void itext_each(struct itext_w *w, jv o, const char *k, void (*fn)(struct itext_w *w, jv el));

/*
 * Field k of object o: the string (borrowed: o keeps its reference, so the
 * text lives as long as o), or NULL when absent or not a string.
 */
const char *itext_gs(jv o, const char *k);
/* Field k of object o as a string, or dflt when absent, null or empty. */
const char *itext_gsd(jv o, const char *k, const char *dflt);
/* Field k as a number into *n: 1, or 0 when absent or not a number. */
int itext_gn(jv o, const char *k, long long *n);
/* Field k (a new reference; jv_invalid when absent). */
jv itext_get(jv o, const char *k);
/* Array field k's length (0 when absent). */
int itext_count_of(jv o, const char *k);
/* Whether the alert of correlation c opened its incident. */
int itext_opened(jv c);

#endif
