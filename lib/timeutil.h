/*
 * timeutil.h - wall-clock and monotonic time, and RFC 3339 text.
 */
#ifndef AURORA_TIMEUTIL_H
#define AURORA_TIMEUTIL_H

#include <stddef.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
long long aur_time_now_ms(void);
/* Milliseconds on CLOCK_MONOTONIC, for intervals and deadlines. */
long long aur_time_mono_ms(void);
/*
 * Format ms since the epoch as RFC 3339 UTC with milliseconds,
 * "2026-03-03T18:00:06.464Z", into out (at least 25 bytes). Returns out.
 */
char *aur_time_format_ms(long long ms, char *out, size_t outlen);
/*
 * Parse RFC 3339 / ISO 8601 (fractions of any length, Z or +hh:mm offsets),
 * epoch seconds or epoch milliseconds (digits; more than 11 digits means ms).
 * 0 with *ms set, or -EINVAL.
 */
int aur_time_parse_ms(const char *s, long long *ms);
/* A span of ms milliseconds as people write it, into out: "45s", "3m", "1h05m". */
void aur_time_span_text(long long ms, char *out, size_t outlen);

#endif
