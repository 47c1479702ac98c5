#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "form.h"
#include "inbox.h"
#include "recent.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

enum {
	ST_FIND_KEY,
	ST_CHECK_BODY,
	ST_BUCKET_GET,
	ST_BUCKET_PUT,
	ST_INSERT,
	ST_COUNT_OK,
	ST_COUNT_REJECT,
	ST_QUARANTINE,
	ST_QUARANTINE_TRIM,
	ST_COUNT
};

static const char *const statements[ST_COUNT] = {
	[ST_FIND_KEY] = "SELECT id FROM inbox WHERE delivery_key = ?",
	[ST_CHECK_BODY] = "SELECT 1 FROM inbox WHERE id = ?1 AND platform = ?2 AND body_sha256 = ?3"
			  " AND received_ms >= ?4",
	[ST_BUCKET_GET] = "SELECT tokens, updated_ms FROM rate_limits WHERE platform = ?",
	[ST_BUCKET_PUT] = "INSERT INTO rate_limits(platform, tokens, updated_ms) VALUES (?, ?, ?)"
			  " ON CONFLICT(platform) DO UPDATE SET tokens = excluded.tokens,"
			  " updated_ms = excluded.updated_ms",
	[ST_INSERT] = "INSERT INTO inbox(platform, received_at, received_ms, remote, content_type,"
		      " headers, body, body_sha256, delivery_key, test)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_COUNT_OK] = "UPDATE connectors SET received_count = received_count + ?5,"
			" last_received = CASE WHEN ?1 THEN last_received ELSE ?2 END,"
			" last_received_ms = CASE WHEN ?1 THEN last_received_ms ELSE ?3 END,"
			" last_test_ok_ms = CASE WHEN ?1 THEN ?3 ELSE last_test_ok_ms END,"
			" test_token_hash = CASE WHEN ?1 THEN NULL ELSE test_token_hash END"
			" WHERE platform = ?4",
	[ST_COUNT_REJECT] = "UPDATE connectors SET rejected_count = rejected_count + 1,"
			    " last_rejected_ms = CASE WHEN ?2 IS NULL THEN last_rejected_ms ELSE ?3 END,"
			    " last_rejected_status = CASE WHEN ?2 IS NULL THEN last_rejected_status ELSE ?4 END,"
			    " last_rejected_reason = coalesce(?2, last_rejected_reason)"
			    " WHERE platform = ?1",
	[ST_QUARANTINE] = "INSERT INTO quarantine(platform, received_at, received_ms, remote, content_type,"
			  " headers, body, reason, test) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* the newest quarantine_max rows of the platform stay (index quarantine_platform_id) */
	[ST_QUARANTINE_TRIM] = "DELETE FROM quarantine WHERE platform = ?1 AND id <= (SELECT id FROM quarantine"
			       " WHERE platform = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
};

/* Quarantine rows between trims to quarantine_max: a platform holds at most that many more. */
#define QUARANTINE_TRIM_EVERY 64

struct aur_inbox_writer {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct aur_recent *recent; /* the dedup window's deliveries by body hash */
	char note[512];            /* why recent is private to this process, or "" */
};

void aur_inbox_limits_init(struct aur_inbox_limits *l)
{
	l->rate_per_s = 200;
	l->burst = 2000;
	l->dedup_window_ms = 10LL * 60 * 1000;
	l->commit_deadline_ms = 5000;
	l->quarantine_max = 10000;
}

int aur_inbox_writer_new(struct aur_inbox_writer **out, sqlite3 *db, char *err, size_t errlen)
{
	struct aur_inbox_writer *w = aur_xcalloc(1, sizeof(*w));
	int rc = 0;

	w->db = db;
	if (aur_recent_open(&w->recent, sqlite3_db_filename(db, "main"), w->note, sizeof(w->note)) == 0)
		w->note[0] = '\0';
	for (int i = 0; i < ST_COUNT && rc == 0; i++)
		rc = aur_db_prepare(db, &w->st[i], statements[i], err, errlen);
	if (rc < 0) {
		aur_inbox_writer_free(w);
		w = NULL;
	}
	*out = w;
	return rc;
}

void aur_inbox_writer_free(struct aur_inbox_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(w->st[i]);
	aur_recent_close(w->recent);
	free(w);
}

const char *aur_inbox_writer_note(const struct aur_inbox_writer *w)
{
	return w->note[0] ? w->note : NULL;
}

/* Step a statement expected to return at most one integer; 1 found, 0 none, <0 error. */
static int step_id(sqlite3_stmt *st, long long *id)
{
	int rc = sqlite3_step(st);
	int ret;

	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		ret = 1;
	} else {
		ret = rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : aur_db_errno(rc);
}

static int find_retry(struct aur_inbox_writer *w, const struct aur_inbox_limits *lim,
		      struct aur_delivery *d, const char *key, const char *sha)
{
	long long ids[8];
	sqlite3_stmt *st;
	size_t n;

	if (key) {
		st = w->st[ST_FIND_KEY];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		return step_id(st, &d->id);
	}
	/* the table only names candidates: the inbox row must say the same */
	n = aur_recent_find(w->recent, d->platform, sha, d->received_ms - lim->dedup_window_ms, ids, 8);
	st = w->st[ST_CHECK_BODY];
	for (size_t i = 0; i < n; i++) {
		long long one;
		int rc;

		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_text(st, 2, d->platform, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, d->received_ms - lim->dedup_window_ms);
		rc = step_id(st, &one);
		if (rc != 0) {
			if (rc == 1)
				d->id = ids[i];
			return rc;
		}
	}
	return 0;
}

/* Take one token from the platform's bucket: 1 taken, 0 empty (retry_after set), <0 error. */
static int take_token(struct aur_inbox_writer *w, const struct aur_inbox_limits *lim,
		      struct aur_delivery *d)
{
	sqlite3_stmt *st = w->st[ST_BUCKET_GET];
	double tokens = lim->burst;
	long long now = d->received_ms;
	int taken = 1;
	int rc;

	if (lim->rate_per_s <= 0)
		return 1;
	sqlite3_bind_text(st, 1, d->platform, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		long long then = sqlite3_column_int64(st, 1);

		tokens = sqlite3_column_double(st, 0);
		if (now > then)
			tokens += (double)(now - then) / 1000.0 * lim->rate_per_s;
		else
			now = then;
		if (tokens > lim->burst)
			tokens = lim->burst;
	} else if (rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return aur_db_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (tokens >= 1.0) {
		tokens -= 1.0;
	} else {
		taken = 0;
		d->retry_after_s = (int)((1.0 - tokens) / lim->rate_per_s) + 1;
	}
	st = w->st[ST_BUCKET_PUT];
	sqlite3_bind_text(st, 1, d->platform, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, tokens);
	sqlite3_bind_int64(st, 3, now);
	rc = step_done(st);
	return rc < 0 ? rc : taken;
}

/* Add n received deliveries of platform, the newest at when_ms, to its connector row. */
static int count_received(struct aur_inbox_writer *w, const char *platform, long long when_ms, int test, int n)
{
	sqlite3_stmt *st = w->st[ST_COUNT_OK];
	char when[32];

	aur_time_format_ms(when_ms, when, sizeof(when));
	sqlite3_bind_int(st, 1, test);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, when_ms);
	sqlite3_bind_text(st, 4, platform, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, n);
	return step_done(st);
}

/*
 * The connector rows of the batch's stored, non-test deliveries: one UPDATE
 * per platform rather than one per delivery.
 */
static int count_batch(struct aur_inbox_writer *w, struct aur_delivery **batch, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct aur_delivery *d = batch[i];
		long long newest = d->received_ms;
		int count = 0;
		int seen = 0;

		if (d->result != AUR_DELIVERY_STORED || d->test)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = batch[j]->result == AUR_DELIVERY_STORED && !batch[j]->test &&
			       !strcmp(batch[j]->platform, d->platform);
		if (seen)
			continue;
		for (size_t j = i; j < n; j++) {
			if (batch[j]->result != AUR_DELIVERY_STORED || batch[j]->test ||
			    strcmp(batch[j]->platform, d->platform) != 0)
				continue;
			count++;
			if (batch[j]->received_ms > newest)
				newest = batch[j]->received_ms;
		}
		rc = count_received(w, d->platform, newest, 0, count);
	}
	return rc;
}

/*
 * Parameters 1 to 7 of an inbox or quarantine row: platform, received_at
 * (written into when, which must outlive the step), received_ms, remote,
 * content_type, headers, body.
 */
static void bind_delivery(sqlite3_stmt *st, const struct aur_delivery *d, char *when, size_t whenlen)
{
	aur_time_format_ms(d->received_ms, when, whenlen);
	sqlite3_bind_text(st, 1, d->platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, d->received_ms);
	sqlite3_bind_text(st, 4, d->remote ? d->remote : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, d->content_type ? d->content_type : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, d->headers_json ? d->headers_json : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 7, d->body_len ? d->body : "", d->body_len, SQLITE_STATIC);
}

static int insert(struct aur_inbox_writer *w, struct aur_delivery *d, const char *key, const char *sha)
{
	sqlite3_stmt *st = w->st[ST_INSERT];
	char when[32];
	int rc;

	bind_delivery(st, d, when, sizeof(when));
	sqlite3_bind_text(st, 8, sha, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(st, 9, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, d->test != 0);
	rc = step_done(st);
	if (rc < 0)
		return rc;
	d->id = sqlite3_last_insert_rowid(w->db);
	aur_recent_add(w->recent, d->platform, sha, d->id, d->received_ms);
	/*
	 * a test delivery moves its own fields now (last_test_ok), and counts
	 * in neither received nor last_received: both are what the platform
	 * itself sent (aurora-recv(1), STATUS); the rest are counted once per batch
	 */
	return d->test ? count_received(w, d->platform, d->received_ms, 1, 0) : 0;
}

/* One more rejection in the platform's connector row, and why, when d says. */
static int count_rejected(struct aur_inbox_writer *w, const struct aur_delivery *d)
{
	sqlite3_stmt *st = w->st[ST_COUNT_REJECT];

	sqlite3_bind_text(st, 1, d->platform, -1, SQLITE_STATIC);
	if (d->reason) {
		sqlite3_bind_text(st, 2, d->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, d->received_ms);
		sqlite3_bind_int(st, 4, (int)d->status);
	}
	return step_done(st);
}

/*
 * Keep a delivery refused at the door: a token from the platform's bucket
 * as for a stored one, the row, the oldest past quarantine_max gone, and
 * the rejection counted with its reason.
 */
static int quarantine(struct aur_inbox_writer *w, const struct aur_inbox_limits *lim, struct aur_delivery *d)
{
	sqlite3_stmt *st = w->st[ST_QUARANTINE];
	char when[32];
	int rc;

	rc = take_token(w, lim, d);
	if (rc == 0)
		d->result = AUR_DELIVERY_RATE_LIMITED;
	if (rc <= 0)
		return rc;
	bind_delivery(st, d, when, sizeof(when));
	sqlite3_bind_text(st, 8, d->reason ? d->reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, d->test != 0);
	rc = step_done(st);
	if (rc < 0)
		return rc;
	d->id = sqlite3_last_insert_rowid(w->db);
	/*
	 * The trim steps over quarantine_max index entries: once every
	 * QUARANTINE_TRIM_EVERY rows, not for each (a flood of refused bodies
	 * went from 13,000/s to 2,900/s with a trim per row).
	 */
	if (lim->quarantine_max > 0 && d->id % QUARANTINE_TRIM_EVERY == 0) {
		st = w->st[ST_QUARANTINE_TRIM];
		sqlite3_bind_text(st, 1, d->platform, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, lim->quarantine_max);
		rc = step_done(st);
	}
	if (rc == 0)
		rc = count_rejected(w, d);
	if (rc == 0)
		d->result = AUR_DELIVERY_QUARANTINED;
	return rc;
}

static int store_one(struct aur_inbox_writer *w, const struct aur_inbox_limits *lim,
		     struct aur_delivery *d)
{
	const char *sha = d->body_sha256;
	struct aur_buf key;
	int rc;

	if (d->kind == AUR_DELIVERY_REJECT) {
		rc = count_rejected(w, d);
		if (rc == 0)
			d->result = AUR_DELIVERY_COUNTED;
		return rc;
	}
	if (d->kind == AUR_DELIVERY_QUARANTINE)
		return quarantine(w, lim, d);
	aur_buf_init(&key, 1024);
	if (d->delivery_id && *d->delivery_id &&
	    aur_buf_addf(&key, "%s:%s", d->platform, d->delivery_id) < 0)
		aur_buf_reset(&key);
	rc = find_retry(w, lim, d, key.len ? key.data : NULL, sha);
	if (rc == 1) {
		d->result = AUR_DELIVERY_DUPLICATE;
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = take_token(w, lim, d);
	if (rc == 0) {
		d->result = AUR_DELIVERY_RATE_LIMITED;
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = insert(w, d, key.len ? key.data : NULL, sha);
	if (rc == 0)
		d->result = AUR_DELIVERY_STORED;
out:
	aur_buf_release(&key);
	return rc;
}

int aur_inbox_store(struct aur_inbox_writer *w, const struct aur_inbox_limits *lim, long long until_ms,
		    struct aur_delivery **batch, size_t n, char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		batch[i]->result = AUR_DELIVERY_PENDING;
		batch[i]->id = 0;
		batch[i]->retry_after_s = 0;
	}
	rc = aur_db_begin_by(w->db, until_ms, err, errlen);
	if (rc < 0)
		return rc;
	rc = aur_recent_sync(w->recent, w->db, lim->dedup_window_ms, aur_time_now_ms(), err, errlen);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = store_one(w, lim, batch[i]);
		if (rc < 0)
			snprintf(err, errlen, "inbox: %s", sqlite3_errmsg(w->db));
	}
	if (rc == 0) {
		rc = count_batch(w, batch, n);
		if (rc < 0)
			snprintf(err, errlen, "connectors: %s", sqlite3_errmsg(w->db));
	}
	if (rc == 0)
		rc = aur_db_commit_by(w->db, until_ms, err, errlen);
	if (rc < 0) {
		aur_db_rollback(w->db);
		for (size_t i = 0; i < n; i++) {
			batch[i]->result = AUR_DELIVERY_PENDING;
			batch[i]->id = 0;
		}
	}
	return rc;
}

jv aur_inbox_row_to_raw(sqlite3_stmt *st)
{
	const char *platform = (const char *)sqlite3_column_text(st, 1);
	const char *received = (const char *)sqlite3_column_text(st, 2);
	const char *remote = (const char *)sqlite3_column_text(st, 3);
	const char *ctype = (const char *)sqlite3_column_text(st, 4);
	const char *headers_text = (const char *)sqlite3_column_text(st, 5);
	const char *body = sqlite3_column_blob(st, 6);
	int body_len = sqlite3_column_bytes(st, 6);
	jv headers = headers_text ? jv_parse(headers_text) : jv_object();
	jv payload;
	jv raw;

	if (jv_get_kind(headers) != JV_KIND_OBJECT) {
		jv_free(headers);
		headers = jv_object();
	}
	if (!body)
		body = "";
	if (aur_form_is_type(ctype)) {
		payload = aur_form_decode(body, (size_t)body_len);
	} else {
		payload = jv_parse_sized(body, body_len);
		if (!jv_is_valid(payload)) {
			jv_free(payload);
			payload = jv_string_sized(body, body_len);
		}
	}
	raw = jv_object();
	raw = jv_object_set(raw, jv_string("v"), jv_number(1));
	raw = jv_object_set(raw, jv_string("type"), jv_string("raw"));
	raw = jv_object_set(raw, jv_string("id"), jv_number((double)sqlite3_column_int64(st, 0)));
	raw = jv_object_set(raw, jv_string("platform"), jv_string(platform ? platform : ""));
	raw = jv_object_set(raw, jv_string("received_at"), jv_string(received ? received : ""));
	raw = jv_object_set(raw, jv_string("remote"), jv_string(remote ? remote : ""));
	raw = jv_object_set(raw, jv_string("headers"), headers);
	raw = jv_object_set(raw, jv_string("body"), payload);
	if (sqlite3_column_int(st, 7))
		raw = jv_object_set(raw, jv_string("test"), jv_true());
	return raw;
}
