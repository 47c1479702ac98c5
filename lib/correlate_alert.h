/*
 * correlate_alert.h - the parts of an alert record correlation reads.
 *
 * One alert record (normalize.h's schema) read once into a struct: its
 * identity, status, time (received_at, else started_at), whose it is (its
 * subject, resolved through the catalog when one is given), its host's own
 * name and the text its vector and terms come from. The correlator, its
 * store and its candidate search all read this struct, never the record.
 */
#ifndef AURORA_CORRELATE_ALERT_H
#define AURORA_CORRELATE_ALERT_H

#include <stddef.h>
#include <jq.h>

#include "subject.h"

struct aur_catalog;

/* Strings borrowed from the record, which must outlive the struct. */
struct aur_correlate_alert {
	const char *source;
	const char *dedup_key;
	const char *fingerprint;
	const char *status;
	const char *severity;
	const char *title;
	const char *description;
	const char *service;
	const char *host;
	const char *link;
	long long t_ms;        /* when it was observed */
	long long started_ms;
	long long inbox_id;
	int test;
	int info;              /* info severity: never opens an incident, is no activity */
	int heartbeat;         /* Watchdog and the like: the same */
	struct aur_subject subj;
	char service_key[128];
	char host_name[128];
	char text[2048];
};

/*
 * Read alert record rec (borrowed) into a; cat (may be NULL) resolves its
 * subject and adds the component's dependencies. 0, or -EINVAL with err
 * saying what is missing (source, dedup_key, a firing/resolved status, a
 * time). An unknown severity reads as "medium", a missing title as the
 * dedup_key.
 */
int aur_correlate_alert_read(jv rec, const struct aur_catalog *cat, struct aur_correlate_alert *a, char *err,
			     size_t errlen);

#endif
