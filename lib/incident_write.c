#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "incident.h"
#include "incident_text.h"
#include "incident_view.h"
#include "incident_write.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

/* How long a write waits for the database lock. */
#define WRITE_DEADLINE_MS 5000

static void set_err(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
}

static jv set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

/* One write: what it is and its arguments (those its kind uses). */
enum kind { CREATE, MOVE, MERGE, ACKNOWLEDGE, COMMENT };

struct change {
	enum kind kind;
	long long id;                     /* the incident; MERGE: the one merged */
	long long dst;                    /* MERGE: the one it merges into */
	const char *to;                   /* MOVE: the new status */
	const char *reason;               /* MOVE: why */
	const char *by;                   /* ACKNOWLEDGE, COMMENT: who */
	const char *text;                 /* COMMENT */
	const struct aur_incident_new *n; /* CREATE */
	long long now_ms;
	long long new_id;                 /* CREATE, COMMENT: the row made */
};

static int acknowledge_in(sqlite3 *db, long long id, const char *by, long long now_ms, char *err, size_t errlen);
static int comment_in(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
		      long long *cid, char *err, size_t errlen);

/* Change c in a transaction of its own. */
static int run(sqlite3 *db, struct change *c, char *err, size_t errlen)
{
	long long until = aur_db_deadline(WRITE_DEADLINE_MS);
	char dummy[1];
	int rc;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		return rc;
	switch (c->kind) {
	case CREATE:
		rc = aur_incident_insert(db, c->n, c->now_ms, &c->new_id, err, errlen);
		break;
	case MOVE:
		rc = aur_incident_set_status(db, c->id, c->to, c->reason, c->now_ms, err, errlen);
		break;
	case MERGE:
		rc = aur_incident_merge(db, c->id, c->dst, c->now_ms, err, errlen);
		break;
	case ACKNOWLEDGE:
		rc = acknowledge_in(db, c->id, c->by, c->now_ms, err, errlen);
		break;
	case COMMENT:
		rc = comment_in(db, c->id, c->by, c->text, c->now_ms, &c->new_id, err, errlen);
		break;
	}
	if (rc == 0)
		rc = aur_db_commit_by(db, until, err, errlen);
	if (rc < 0)
		aur_db_rollback(db);
	return rc;
}

int aur_incident_write_create(sqlite3 *db, const struct aur_incident_new *n, long long now_ms, long long *id,
			      char *err, size_t errlen)
{
	struct change c = { .kind = CREATE, .n = n, .now_ms = now_ms };
	int rc = run(db, &c, err, errlen);

	if (rc == 0)
		*id = c.new_id;
	return rc;
}

int aur_incident_write_resolve(sqlite3 *db, long long id, const char *reason, long long now_ms, char *err,
			       size_t errlen)
{
	struct change c = { .kind = MOVE, .id = id, .to = "resolved", .now_ms = now_ms };

	c.reason = reason ? reason : "resolved by an operator";
	return run(db, &c, err, errlen);
}

int aur_incident_write_reopen(sqlite3 *db, long long id, long long now_ms, char *err, size_t errlen)
{
	struct change c = { .kind = MOVE, .id = id, .to = "investigating", .now_ms = now_ms };

	c.reason = "reopened by an operator";
	return run(db, &c, err, errlen);
}

int aur_incident_write_merge(sqlite3 *db, long long src, long long dst, long long now_ms, char *err,
			     size_t errlen)
{
	struct change c = { .kind = MERGE, .id = src, .dst = dst, .now_ms = now_ms };

	if (dst <= 0) {
		if (err && errlen)
			snprintf(err, errlen, "no incident %lld", dst);
		return -ENOENT;
	}
	return run(db, &c, err, errlen);
}

/* A read of incident id that found no row (-ENOENT) or failed. */
static int no_row(sqlite3 *db, int rc, long long id, char *err, size_t errlen)
{
	if (rc != SQLITE_DONE)
		return aur_db_step_end(db, rc, "incident", err, errlen);
	if (err && errlen)
		snprintf(err, errlen, "no incident %lld", id);
	return -ENOENT;
}

/* The status and acknowledgement of id in *status, *by, *at (empty when none). 0, -ENOENT, -EBUSY, -EIO. */
static int read_ack(sqlite3 *db, long long id, char *status, size_t slen, char *by, size_t blen, char *at,
		    size_t alen, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT status, acknowledged_by, acknowledged_at FROM incidents WHERE id = ?",
				err, errlen);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *b = (const char *)sqlite3_column_text(st, 1);
		const char *a = (const char *)sqlite3_column_text(st, 2);

		snprintf(status, slen, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(by, blen, "%s", b ? b : "");
		snprintf(at, alen, "%s", a ? a : "");
		rc = 0;
	} else {
		rc = no_row(db, rc, id, err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Inside the transaction: acknowledge id, or -EPERM with the reason. */
static int acknowledge_in(sqlite3 *db, long long id, const char *by, long long now_ms, char *err, size_t errlen)
{
	char status[32];
	char who[AUR_INCIDENT_AUTHOR_MAX + 1];
	char when[40];
	sqlite3_stmt *st = NULL;
	int rc = read_ack(db, id, status, sizeof(status), who, sizeof(who), when, sizeof(when), err, errlen);

	if (rc < 0)
		return rc;
	if (who[0]) {
		snprintf(err, errlen, "incident %lld is already acknowledged by %s at %s", id, who, when);
		return -EPERM;
	}
	if (strcmp(status, "investigating") != 0 && strcmp(status, "analyzed") != 0) {
		snprintf(err, errlen, "incident %lld is %s: only an open incident (investigating or analyzed) can be "
				      "acknowledged", id, status);
		return -EPERM;
	}
	aur_time_format_ms(now_ms, when, sizeof(when));
	rc = aur_db_prepare(db, &st, "UPDATE incidents SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?", err,
			    errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = aur_db_step_end(db, sqlite3_step(st), "acknowledge", err, errlen);
	sqlite3_finalize(st);
	if (rc == 0 && aur_incident_event(db, id, "incident.acknowledged", set(jv_object(), "by", jv_string(by)),
					  now_ms) < 0) {
		set_err(err, errlen, "event", db);
		rc = -EIO;
	}
	return rc;
}

/* Inside the transaction: add a comment to id; *cid its id. */
static int comment_in(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
		      long long *cid, char *err, size_t errlen)
{
	char status[32];
	char who[AUR_INCIDENT_AUTHOR_MAX + 1];
	char when[40];
	sqlite3_stmt *st = NULL;
	jv data;
	int rc = read_ack(db, id, status, sizeof(status), who, sizeof(who), when, sizeof(when), err, errlen);

	if (rc < 0)
		return rc;
	aur_time_format_ms(now_ms, when, sizeof(when));
	rc = aur_db_prepare(db, &st, "INSERT INTO incident_comments (incident_id, at, author, text) VALUES (?, ?, ?, ?)",
			    err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	rc = aur_db_step_end(db, sqlite3_step(st), "comment", err, errlen);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	*cid = sqlite3_last_insert_rowid(db);
	data = set(jv_object(), "comment_id", jv_number((double)*cid));
	data = set(data, "by", jv_string(by));
	data = set(data, "text", jv_string(text));
	if (aur_incident_event(db, id, "comment.added", data, now_ms) < 0) {
		set_err(err, errlen, "event", db);
		rc = -EIO;
	}
	return rc;
}

/* 1 when text is valid UTF-8 without NUL. */
static int utf8_ok(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *p < 0xc2))
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* The author of an acknowledgement or comment: 1 to AUR_INCIDENT_AUTHOR_MAX bytes, UTF-8, no control character. */
static int author_ok(const char *by)
{
	size_t n = strlen(by);

	if (n == 0 || n > AUR_INCIDENT_AUTHOR_MAX || !utf8_ok(by))
		return 0;
	for (const char *p = by; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int aur_incident_write_acknowledge(sqlite3 *db, long long id, const char *by, long long now_ms, char *err,
				   size_t errlen)
{
	struct change c = { .kind = ACKNOWLEDGE, .id = id, .by = by, .now_ms = now_ms };

	if (!by || !author_ok(by)) {
		snprintf(err, errlen, "by: 1 to %d bytes of text without control characters", AUR_INCIDENT_AUTHOR_MAX);
		return -EINVAL;
	}
	return run(db, &c, err, errlen);
}

int aur_incident_write_comment(sqlite3 *db, long long id, const char *by, const char *text, long long now_ms,
			       long long *comment_id, char *err, size_t errlen)
{
	struct change c = { .kind = COMMENT, .id = id, .by = by, .text = text, .now_ms = now_ms };
	int rc;

	if (!by || !author_ok(by)) {
		snprintf(err, errlen, "by: 1 to %d bytes of text without control characters", AUR_INCIDENT_AUTHOR_MAX);
		return -EINVAL;
	}
	if (!text || !*text || strlen(text) > AUR_INCIDENT_COMMENT_MAX || !utf8_ok(text)) {
		snprintf(err, errlen, "text: 1 to %d bytes of UTF-8", AUR_INCIDENT_COMMENT_MAX);
		return -EINVAL;
	}
	rc = run(db, &c, err, errlen);
	if (rc == 0 && comment_id)
		*comment_id = c.new_id;
	return rc;
}

/* The stored postmortem of id into *md (NULL when none). 0, -ENOENT, -EBUSY, -EIO. */
static int stored_postmortem(sqlite3 *db, long long id, char **md, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = aur_db_prepare(db, &st, "SELECT postmortem FROM incidents WHERE id = ?", err, errlen);

	*md = NULL;
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*md = aur_xstrdup((const char *)sqlite3_column_text(st, 0));
		rc = 0;
	} else {
		rc = no_row(db, rc, id, err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The template: aur_incident_text_postmortem, bounded. */
static int template_postmortem(void *arg, jv incident, long long now_ms, char **md, char *by, size_t bylen, char *err,
			       size_t errlen)
{
	struct aur_buf b;
	long long id = 0;
	int rc;

	(void)arg;
	aur_buf_init(&b, AUR_INCIDENT_POSTMORTEM_MAX);
	rc = aur_incident_text_postmortem(incident, now_ms, &b);
	if (rc < 0) {
		jv v = jv_object_get(jv_copy(incident), jv_string("id"));

		if (jv_get_kind(v) == JV_KIND_NUMBER)
			id = (long long)jv_number_value(v);
		jv_free(v);
		if (err && errlen)
			snprintf(err, errlen, "postmortem of incident %lld: longer than %zu bytes", id,
				 AUR_INCIDENT_POSTMORTEM_MAX);
		aur_buf_release(&b);
		return rc;
	}
	*md = aur_buf_detach(&b, NULL);
	if (!*md)
		*md = aur_xstrdup("");
	snprintf(by, bylen, "template");
	aur_buf_release(&b);
	return 0;
}

int aur_incident_write_postmortem(sqlite3 *db, long long id, int regenerate, long long now_ms, char **md,
			    int *generated, char *err, size_t errlen)
{
	return aur_incident_write_postmortem_with(db, id, regenerate, now_ms, NULL, NULL, md, generated, err, errlen);
}

int aur_incident_write_postmortem_with(sqlite3 *db, long long id, int regenerate, long long now_ms,
				 aur_incident_write_postmortem_fn write, void *arg, char **md, int *generated, char *err,
				 size_t errlen)
{
	long long until;
	sqlite3_stmt *st = NULL;
	char when[32];
	char by[128] = "";
	char *doc = NULL;
	size_t len = 0;
	jv o = jv_invalid();
	long long ev;
	int began = 0;
	int rc;

	*md = NULL;
	*generated = 0;
	rc = stored_postmortem(db, id, md, err, errlen);
	if (rc < 0 || (*md && !regenerate))
		goto out;
	free(*md);
	*md = NULL;
	/*
	 * Written outside any transaction: a model may take a minute, and the
	 * pipeline must not wait for it to write.
	 */
	rc = aur_incident_show(db, id, &o, err, errlen);
	if (rc == 0)
		rc = (write ? write : template_postmortem)(arg, o, now_ms, &doc, by, sizeof(by), err, errlen);
	if (rc == 0 && !doc) {
		snprintf(err, errlen, "postmortem of incident %lld: nothing was written", id);
		rc = -EIO;
	}
	if (rc == 0)
		len = strlen(doc);
	if (rc == 0 && len > AUR_INCIDENT_POSTMORTEM_MAX) {
		snprintf(err, errlen, "postmortem of incident %lld: longer than %zu bytes", id,
			 AUR_INCIDENT_POSTMORTEM_MAX);
		rc = -E2BIG;
	}
	if (rc < 0)
		goto out;
	until = aur_db_deadline(WRITE_DEADLINE_MS);
	rc = aur_db_begin_by(db, until, err, errlen);
	if (rc < 0)
		goto out;
	began = 1;
	/* another process may have written one while we wrote ours */
	rc = stored_postmortem(db, id, md, err, errlen);
	if (rc < 0 || (*md && !regenerate))
		goto out;
	free(*md);
	*md = NULL;
	rc = aur_db_prepare(db, &st, "UPDATE incidents SET postmortem = ?, updated_at = ? WHERE id = ?", err, errlen);
	if (rc < 0)
		goto out;
	aur_time_format_ms(now_ms, when, sizeof(when));
	sqlite3_bind_text(st, 1, doc, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = aur_db_step_end(db, sqlite3_step(st), "postmortem", err, errlen);
	if (rc < 0)
		goto out;
	ev = aur_incident_event(db, id, "postmortem.generated",
				set(set(set(jv_object(), "regenerated", jv_bool(regenerate)), "bytes",
					jv_number((double)len)),
				    "generated_by", jv_string(by)),
				now_ms);
	if (ev < 0) {
		set_err(err, errlen, "events", db);
		rc = (int)ev;
		goto out;
	}
	rc = aur_db_commit_by(db, until, err, errlen);
	if (rc == 0) {
		*md = doc;
		doc = NULL;
		*generated = 1;
	}
out:
	sqlite3_finalize(st);
	if (began && rc < 0)
		aur_db_rollback(db);
	if (began && rc == 0 && !*generated)
		aur_db_rollback(db); /* found one stored meanwhile: nothing written */
	if (rc < 0) {
		free(*md);
		*md = NULL;
	}
	free(doc);
	jv_free(o);
	return rc;
}

