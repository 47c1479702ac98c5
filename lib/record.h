/*
 * record.h - aurora's common record schema: check one record a mapping
 * emitted and print it.
 *
 * A mapping (normalize.h) turns a platform's payload into objects of type
 * "alert" or "note". This module is the other half of aurora-normalize:
 * it checks each such object against the schema of aurora(7) and prints it
 * as one compact JSON line with "v":1 and "type" first and the fields in
 * schema order; it adds the fingerprint, inbox_id, inbox_part/inbox_parts
 * and received_at, turns every timestamp into RFC 3339 UTC with
 * milliseconds, and copies the members that are none of aurora's fields
 * after them. The text is built by hand (lib/jvio) rather than through an
 * object and jv_dump_string: printing was the larger part of
 * aurora-normalize's time before (scripts/bench-normalize).
 *
 * It knows nothing of jq programs, platforms' mappings or input lines:
 * those stay in normalize.c, which runs the mappings and hands each record
 * here with what its delivery contributes.
 */
#ifndef AURORA_RECORD_H
#define AURORA_RECORD_H

#include <stddef.h>
#include <jq.h>

#include "buf.h"

/* What one delivery (a raw record) contributes to every record made from it. */
/* Bytes of a record's title at most; a longer one is cut, ending in an ellipsis. */
#define AUR_RECORD_TITLE_MAX 1000

struct aur_record_delivery {
	const char *platform;  /* borrowed: the source of records that name none */
	size_t platform_len;
	jv id;                 /* borrowed: the raw record's id, jv_null() when none */
	size_t part, parts;    /* this record is part of parts made from the delivery */
	char received[32];     /* RFC 3339 */
	long long received_ms;
	int test;              /* the delivery came from aurora-connector test */
};

/* Records printed, by kind; aur_record_print adds to them. */
struct aur_record_counts {
	size_t alerts;
	size_t notes;
	size_t tests;          /* alerts marked "test": true, counted in alerts too */
};

struct aur_record_printer;

/* A printer: the schema's keys and scratch space. Free with aur_record_printer_free. */
struct aur_record_printer *aur_record_printer_new(void);
/* Free everything, NULL-safe. */
void aur_record_printer_free(struct aur_record_printer *p);

/*
 * Check the record rec (borrowed) that a mapping emitted for delivery d and
 * append it to b as one compact JSON object and a newline; add it to c (may
 * be NULL). Returns 0; -EINVAL when it breaks the schema, -E2BIG when it
 * does not fit in b, with a one-line reason in err either way. On failure b
 * may hold part of the record: callers remember b->len and cut back.
 */
int aur_record_print(struct aur_record_printer *p, jv rec, const struct aur_record_delivery *d,
		     struct aur_buf *b, struct aur_record_counts *c, char *err, size_t errlen);

/*
 * A timestamp of any form aurora meets (RFC 3339 and its relatives, epoch
 * seconds, milliseconds, microseconds or nanoseconds as a number or a
 * decimal string) into milliseconds since the epoch. 0 with *ms set, or -1
 * when v is none of them or lies outside year 1970 to 9999.
 */
int aur_record_time_ms(jv v, long long *ms);

#endif
