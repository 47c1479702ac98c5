/*
 * inbox.h - the durable inbox: storing deliveries, reading raw records.
 *
 * Writing: a batch of deliveries goes into one transaction (group commit).
 * For each delivery, in order: a sender's retry is found (its delivery id,
 * else the same platform and body within the dedup window) and answered with
 * the first id; else the platform's token bucket (shared by every receiver
 * process through the rate_limits table) must hold a token; else the row is
 * inserted and the connector's counters move. Nothing is acknowledged before
 * aur_inbox_store returns 0, which is after COMMIT. A delivery refused at the
 * door (shape.h) goes into the quarantine table instead, in the same
 * transaction as the rest of its batch, after taking a token from the same
 * bucket: a flood of bad payloads is bounded like one of good ones.
 *
 * Reading: rows become raw records
 *   {"v":1,"type":"raw","id","platform","received_at","remote","headers","body"}
 * with body the payload as JSON, a form-encoded body as an object of its
 * fields, and anything else as a string.
 */
#ifndef AURORA_INBOX_H
#define AURORA_INBOX_H

#include <stddef.h>
#include <sqlite3.h>
#include <jq.h>

enum aur_delivery_kind {
	AUR_DELIVERY_STORE = 0, /* a delivery to store */
	AUR_DELIVERY_REJECT = 1,    /* only count a rejected delivery for platform */
	AUR_DELIVERY_QUARANTINE = 2 /* refused at the door: keep it in the quarantine, count it */
};

enum aur_delivery_result {
	AUR_DELIVERY_PENDING = 0,
	AUR_DELIVERY_STORED,       /* new row; id set */
	AUR_DELIVERY_DUPLICATE,    /* a retry of an earlier delivery; id is the first one's */
	AUR_DELIVERY_RATE_LIMITED, /* not stored; retry_after_s set */
	AUR_DELIVERY_COUNTED,      /* a REJECT entry was counted */
	AUR_DELIVERY_QUARANTINED   /* a QUARANTINE entry was kept and counted; id is its quarantine id */
};

struct aur_delivery {
	/* in: all borrowed for the duration of aur_inbox_store */
	enum aur_delivery_kind kind;
	const char *platform;
	const char *remote;        /* peer address, or "" */
	const char *content_type;  /* as sent, or "" */
	const char *headers_json;  /* compact JSON object of the headers kept, or NULL for {} */
	const void *body;
	size_t body_len;
	const char *body_sha256;   /* aur_sha256_hex of body: hashed by the caller, outside the one writer */
	const char *delivery_id;   /* sender's delivery id (PagerDuty X-Webhook-Id), or NULL */
	int test;                  /* sent by `aurora-connector test` */
	long long received_ms;
	/*
	 * REJECT and QUARANTINE: the HTTP status answered and why, kept as the
	 * connector's last rejection (reason NULL: only counted)
	 */
	unsigned status;
	const char *reason;
	/* out */
	enum aur_delivery_result result;
	long long id;
	int retry_after_s;
};

struct aur_inbox_limits {
	double rate_per_s;         /* token refill per platform; <= 0 disables the limit */
	double burst;              /* bucket size */
	long long dedup_window_ms; /* body-hash retries are recognised this long */
	int commit_deadline_ms;    /* a delivery waits for the write lock at most this long in all,
				      counted from aur_committer_submit; then -EBUSY */
	long long quarantine_max;  /* quarantine rows kept per platform, the oldest go first, trimmed
				      every 64th row (so up to 64 more for a while); <= 0: no cap */
};

/* Defaults: 200/s, burst 2000, 10 minutes, 5000 ms, 10000 quarantine rows. */
void aur_inbox_limits_init(struct aur_inbox_limits *l);

struct aur_inbox_writer;

/* Prepare the statements on db (borrowed; must outlive w). 0 or aur_db_errno(). */
int aur_inbox_writer_new(struct aur_inbox_writer **w, sqlite3 *db, char *err, size_t errlen);
/* NULL-safe. */
void aur_inbox_writer_free(struct aur_inbox_writer *w);

/* Why retries are recognised in this process only (recent.h): a warning to log, or NULL. */
const char *aur_inbox_writer_note(const struct aur_inbox_writer *w);

/*
 * Store n deliveries in one transaction, filling each one's result. 0 once
 * committed; -EBUSY when the lock could not be had or the commit could not
 * finish before until_ms (CLOCK_MONOTONIC, see aur_db_begin_by: BEGIN and
 * COMMIT share it), -ENOSPC when the disk is full, -EIO otherwise: then
 * nothing of the batch is stored and every result is PENDING.
 */
int aur_inbox_store(struct aur_inbox_writer *w, const struct aur_inbox_limits *lim, long long until_ms,
		    struct aur_delivery **batch, size_t n, char *err, size_t errlen);

/*
 * The columns a raw record is made of, for SELECTs that feed
 * aur_inbox_row_to_raw: use as "SELECT " AUR_INBOX_RAW_COLUMNS " FROM inbox ...".
 */
#define AUR_INBOX_RAW_COLUMNS "id, platform, received_at, remote, content_type, headers, body, test"

/* Build the raw record of the current row of st (selected with AUR_INBOX_RAW_COLUMNS). Caller frees. */
jv aur_inbox_row_to_raw(sqlite3_stmt *st);

#endif
