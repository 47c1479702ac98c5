/*
 * form.h - application/x-www-form-urlencoded bodies as jv objects.
 *
 * Some platforms (Jenkins' notification plugin, old Splunk and Nagios
 * scripts) post their payload as form text. The receiver keeps the body
 * as it came; whoever turns a stored delivery into a raw record (inbox.c)
 * and aurora-normalize, for raw records whose form body nobody decoded,
 * decode it here, the same way.
 */
#ifndef AURORA_FORM_H
#define AURORA_FORM_H

#include <stddef.h>
#include <jq.h>

/* 1 when content_type (may be NULL) names form text, parameters allowed. */
int aur_form_is_type(const char *content_type);

/*
 * s[0..len) decoded into an object of strings: pairs split at '&', key and
 * value at the first '=', '+' as a space and %XX as its byte (a '%' not
 * followed by two hex digits stays as it is); a pair without '=' has the
 * value "", an empty pair is skipped, a repeated key keeps its last value.
 * Caller frees with jv_free.
 */
jv aur_form_decode(const char *s, size_t len);

#endif
