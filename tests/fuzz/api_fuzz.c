/*
 * api_fuzz - libFuzzer target for the incident API's bodies (lib/api.c):
 * a manual incident (POST /api/incidents, aur_incident_create_from_json)
 * and the actions on incidents and connectors (resolve, reopen, merge,
 * acknowledge, comments, postmortem; base-url, rca, enable, disable,
 * token), plus the list's filters, through the real routes.
 *
 * Each input is a fresh database (in memory: a copy of one that
 * aur_db_open migrated, with two incidents), and one connection served as aurora-recv serves
 * one under inetd (one-connection mode, one thread, --no-auth). The input
 * is a sequence of requests separated by the bytes FF FE: a request's
 * first byte picks the route, the rest is its JSON body (for the list, its
 * query string, percent-encoded), so sequences walk the lifecycle.
 * Beyond the sanitizers:
 *   - every answer is one of the statuses the contract lists for a bad
 *     body or a refused move (never 500, never 503: nothing else holds the
 *     database);
 *   - afterwards the database passes PRAGMA integrity_check and
 *     foreign_key_check, and every incident's status is one of the
 *     lifecycle's.
 * Built and run by scripts/fuzz (make fuzz) and replayed by make check.
 */
#define _GNU_SOURCE

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <sqlite3.h>

#include "api.h"
#include "api_incidents.h"
#include "buf.h"
#include "db.h"
#include "dbpool.h"
#include "http.h"
#include "incident_view.h"
#include "opauth.h"
#include "sse.h"
#include "harness.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 8

static const char *const routes[] = {
	"POST /api/incidents",
	"POST /api/incidents/1/resolve",
	"POST /api/incidents/1/reopen",
	"POST /api/incidents/1/merge",
	"POST /api/incidents/1/acknowledge",
	"POST /api/incidents/1/comments",
	"POST /api/incidents/1/postmortem",
	"POST /api/incidents/2/merge",
	"POST /api/incidents/2/resolve",
	"POST /api/connectors/grafana/base-url",
	"POST /api/connectors/grafana/rca",
	"POST /api/connectors/pagerduty/disable",
	"POST /api/connectors/pagerduty/enable",
	"POST /api/connectors/datadog/token",
	"GET /api/incidents?",
	"GET /api/incidents/1",
	"GET /api/incidents/2",
	"GET /api/connectors",
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "api_fuzz: %s: %.400s\n", what, detail ? detail : "");
	abort();
}

/* One request: the route picked by body[0], the rest its body (or query). */
static void add_request(struct aur_buf *b, const uint8_t *seg, size_t n)
{
	const char *route = routes[seg[0] % NROUTES];
	char head[160];

	if (!strncmp(route, "GET ", 4)) {
		aur_buf_add(b, route, strlen(route));
		for (size_t i = 1; i < n && route[strlen(route) - 1] == '?'; i++) {
			char hex[4];
			unsigned char c = seg[i];

			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '=' || c == '&' || c == '-') {
				aur_buf_add(b, (const char *)&seg[i], 1);
			} else {
				snprintf(hex, sizeof(hex), "%%%02X", c);
				aur_buf_add(b, hex, 3);
			}
		}
		aur_buf_add(b, " HTTP/1.1\r\nHost: fuzz\r\n\r\n", 25);
		return;
	}
	snprintf(head, sizeof(head),
		 "%s HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n",
		 route, n - 1);
	aur_buf_add(b, head, strlen(head));
	aur_buf_add(b, (const char *)seg + 1, n - 1);
}

static int split_requests(struct aur_buf *b, const uint8_t *data, size_t size)
{
	size_t at = 0;
	int count = 0;

	while (at < size && count < MAX_REQUESTS) {
		const uint8_t *sep = memmem(data + at, size - at, "\xff\xfe", 2);
		size_t n = sep ? (size_t)(sep - data) - at : size - at;

		if (n > 0) {
			add_request(b, data + at, n);
			count++;
		}
		at += n + 2;
	}
	return count;
}

/* Every answer, one after another: none a 5xx (a handler's failure, or a database that stays locked). */
static void check_answers(const char *out, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *head = out + pos;
		const char *end = memmem(head, len - pos, "\r\n\r\n", 4);
		const char *cl;
		unsigned long long n;

		if (len - pos < 12 || memcmp(head, "HTTP/1.1 ", 9) != 0 || !end)
			fail("not an HTTP answer", head);
		if (head[9] == '5')
			fail("a server error", head);
		cl = memmem(head, (size_t)(end - head), "\r\nContent-Length: ", 18);
		if (!cl)
			return;
		pos = (size_t)(end - out) + 4;
		n = strtoull(cl + 18, NULL, 10);
		if (n > len - pos)
			fail("an answer cut short", head);
		pos += n;
	}
}

static void check_db(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		fail("integrity_check", sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		fail("the database is damaged", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		fail("foreign_key_check", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		fail("a row breaks a foreign key in table", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db,
			       "SELECT id FROM incidents WHERE status NOT IN "
			       "('investigating', 'analyzed', 'resolved', 'merged')",
			       -1, &st, NULL) != SQLITE_OK)
		fail("incidents", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		fail("an incident in no state of the lifecycle", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* The database every input starts from: migrated, with two incidents; serialized once. */
static unsigned char *image;
static sqlite3_int64 image_size;

static void make_image(void)
{
	static const char *const bodies[] = {
		"{\"source_type\":\"manual\",\"alert_title\":\"disk full\",\"alert_service\":\"db\"}",
		"{\"source_type\":\"manual\",\"alert_title\":\"latency\",\"severity\":\"high\"}",
	};
	sqlite3 *db = NULL;
	char err[512];
	long long id;

	if (aur_db_open(&db, ":memory:", NULL, err, sizeof(err)) < 0)
		fail("cannot open the database", err);
	for (size_t i = 0; i < 2; i++)
		if (aur_api_incidents_create(db, jv_parse(bodies[i]), 1772618400000LL, &id, err, sizeof(err)) < 0)
			fail("cannot seed an incident", err);
	image = sqlite3_serialize(db, "main", &image_size, 0);
	if (!image)
		fail("cannot serialize the database", sqlite3_errmsg(db));
	aur_db_close(db);
}

/* A fresh copy of the image, set up as aur_db_open sets a connection up (migrating it took most of an input's time). */
static sqlite3 *fresh_db(void)
{
	unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)image_size);
	sqlite3 *db = NULL;
	char err[512];

	if (!copy || sqlite3_open(":memory:", &db) != SQLITE_OK)
		fail("cannot open the database", NULL);
	memcpy(copy, image, (size_t)image_size);
	if (sqlite3_deserialize(db, "main", copy, image_size, image_size,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
		fail("cannot load the database", sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 1000);
	sqlite3_extended_result_codes(db, 1);
	if (aur_db_exec(db, "PRAGMA foreign_keys = ON", err, sizeof(err)) < 0 ||
	    aur_db_exec(db, "PRAGMA temp_store = MEMORY", err, sizeof(err)) < 0)
		fail("cannot set the database up", err);
	return db;
}

static void free_image(void)
{
	sqlite3_free(image);
	image = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_image();
	atexit(free_image);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile sig_atomic_t stop;
	struct aur_api_options ao;
	struct aur_opauth_options oo = { 1, NULL };
	struct aur_sse_options so;
	struct aur_http_options ho;
	struct aur_dbpool *pool = NULL;
	struct aur_opauth *auth = NULL;
	struct aur_sse *sse = NULL;
	struct aur_api *api = NULL;
	struct aur_http *h = NULL;
	sqlite3 *db = NULL;
	struct aur_buf in;
	struct fuzz_peer p;
	char err[512];

	if (size > 65536)
		return 0;
	aur_buf_init(&in, 0);
	if (split_requests(&in, data, size) == 0) {
		aur_buf_release(&in);
		return 0;
	}
	db = fresh_db();
	aur_dbpool_new(&pool, ":memory:", 1000, db);
	aur_opauth_new(&auth, &oo, pool);
	aur_sse_options_init(&so);
	so.stop = &stop;
	aur_api_options_init(&ao);
	if (aur_sse_new(&sse, &so, ":memory:", pool, 0, err, sizeof(err)) < 0 ||
	    aur_api_new(&api, &ao, pool, db, 0, auth, sse, err, sizeof(err)) < 0)
		fail("cannot set up the API", err);
	aur_http_options_init(&ho);
	ho.read_timeout_s = 2;
	aur_http_new(&h, &ho);
	if (aur_api_routes(api, h) < 0)
		fail("cannot add the routes", NULL);
	if (fuzz_serve_one(h, "127.0.0.1", &stop, (const uint8_t *)in.data, in.len, &p, err, sizeof(err)) < 0)
		fail("the connection failed", err);
	aur_http_free(h);
	aur_api_free(api);
	aur_sse_free(sse);
	aur_opauth_free(auth);
	aur_dbpool_free(pool);
	/* API_FUZZ_SHOW=1: the answers on stderr, to see what an input did */
	if (getenv("API_FUZZ_SHOW"))
		fprintf(stderr, "%.*s\n", (int)p.len, p.out);
	check_answers(p.out, p.len);
	check_db(db);
	aur_db_close(db);
	free(p.out);
	aur_buf_release(&in);
	return 0;
}
