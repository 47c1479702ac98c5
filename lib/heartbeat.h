/*
 * heartbeat.h - the alerting path's own pulse. Alerts that always fire to
 * prove the path works (Alertmanager's Watchdog, DeadMansSwitch ...) open
 * no incident; with a silence limit set (aurora-correlate
 * --heartbeat-silence), each one's last arrival is remembered, and one that
 * stops arriving opens an incident: "the alerting path from X is silent".
 * Its next arrival resolves that incident. Time is the records' own (and,
 * while the input is idle, the clock's), so a replay gives the same answer.
 */
#ifndef AURORA_HEARTBEAT_H
#define AURORA_HEARTBEAT_H

#include <stddef.h>
#include <sqlite3.h>

/* An incident opened for a heartbeat that went silent. */
struct aur_heartbeat_silence {
	long long incident_id;
	char source[64];
	char dedup_key[256];
	char heartbeat[512];  /* the heartbeat's own title */
	char title[768];      /* the incident's */
	char service[256];
	long long last_seen_ms;
};

/*
 * A heartbeat arrived at t_ms (inside the caller's transaction). When it
 * had gone silent, the incident opened for that is resolved and its id
 * returned in *resolved (0 otherwise). 0 or aur_db_errno().
 */
int aur_heartbeat_seen(sqlite3 *db, const char *source, const char *dedup_key, const char *title,
		       const char *service, long long t_ms, long long *resolved, char *err, size_t errlen);

/*
 * Heartbeats last seen more than silence_ms before now_ms, with no incident
 * for it yet: open one each (inside the caller's transaction), at most max,
 * described in out[0..*n). 0 or aur_db_errno().
 */
int aur_heartbeat_check(sqlite3 *db, long long now_ms, long long silence_ms, struct aur_heartbeat_silence *out,
			size_t max, size_t *n, char *err, size_t errlen);

#endif
