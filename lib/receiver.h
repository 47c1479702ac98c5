/*
 * receiver.h - aurora-recv assembled: the parts of the receiver built into
 * one server over a socket lib/listen.c found.
 *
 * The parts are recv.h's webhook routes with their committer (the writer
 * of the inbox) and connector cache, the operator side (opauth.h's token
 * check, sse.h's event streams, api.h's incident routes), web.h's page,
 * and the HTTP engine (http.h). Two shapes:
 *
 *   a listening socket   libmicrohttpd's threads, one writer thread
 *                        committing the deliveries of concurrent requests
 *                        together, reads through a pool of read-only
 *                        connections, manual incidents through a
 *                        connection of their own;
 *   one connection       everything in the calling thread on one database
 *                        connection, keep-alive included, until it closes.
 *
 * Signals stay with the caller: block SIGTERM and SIGINT before
 * aur_receiver_new (its threads inherit the mask) and call
 * aur_receiver_drain when one comes. What was aurora-recv's main file is
 * here so that the command holds only its options and its exits.
 */
#ifndef AURORA_RECEIVER_H
#define AURORA_RECEIVER_H

#include <signal.h>
#include <stddef.h>

#include "api.h"
#include "committer.h"
#include "db.h"
#include "http.h"
#include "listen.h"
#include "recv.h"
#include "sse.h"

struct aur_receiver_options {
	const char *db_path;   /* borrowed; required */
	const char *port_file; /* borrowed; the bound port and a newline go there (NULL: nowhere) */
	int no_auth;           /* operator routes without a token (checked by the caller) */
	struct aur_http_options http;
	struct aur_sse_options sse;
	struct aur_api_options api;
	struct aur_recv_options recv;
	struct aur_committer_options commit;
	struct aur_db_options dbo;
	/* One line per event (level as in log.h); NULL drops them. */
	void (*log)(int level, const char *msg);
};

/*
 * The defaults of every part, with log as every part's log callback and
 * stop as the event streams' (set by the caller's signal handler; may be
 * NULL).
 */
void aur_receiver_options_init(struct aur_receiver_options *o, void (*log)(int level, const char *msg),
			       volatile sig_atomic_t *stop);

/*
 * Set a numeric or enumerated setting by its option name without "--"
 * ("max-body", "rate", "sync", "busy-timeout", ...: the table in
 * receiver.c, which aurora-recv(1) documents). arg is borrowed. 0; -ENOENT
 * for a name that is not one of them; -EINVAL with err saying what is
 * wrong ("--max-body: 'x' is not a number from 1 to 1073741824").
 */
int aur_receiver_option_set(struct aur_receiver_options *o, const char *name, const char *arg, char *err,
			    size_t errlen);

struct aur_receiver;

/*
 * Open the database (o->db_path) and build the server on l->fd: a
 * listening socket starts accepting (and writes o->port_file), a
 * connection is ready for aur_receiver_run_connection. o is copied, its
 * strings borrowed until aur_receiver_free. 0; else err says why and the
 * return is aur_db_open's error (-EBUSY, -ENODATA, -EIO...), -EIO when the
 * port file cannot be written, or -ENOTRECOVERABLE when a part cannot be
 * set up (threads, routes, the engine). *out is set either way: free it.
 */
int aur_receiver_new(struct aur_receiver **out, const struct aur_receiver_options *o, const struct aur_listen *l,
		     char *err, size_t errlen);

/*
 * One-connection mode: serve until the connection closes or *stop is set.
 * Then, when the WAL has grown past a limit and nobody else uses the
 * database, empty it (each such process would otherwise read all of it
 * again). 0, or -ENOTRECOVERABLE when the event loop failed.
 */
int aur_receiver_run_connection(struct aur_receiver *r, const volatile sig_atomic_t *stop);

/*
 * Accept loop at SIGTERM: accept nothing new, end the event streams, let
 * requests in progress finish and be stored (3 s at most), commit what is
 * queued, and let the resumed requests answer (5 s at most). Then free.
 */
void aur_receiver_drain(struct aur_receiver *r);

/* Threads the accept loop runs (after the caps), for the start-up line. */
unsigned aur_receiver_threads(const struct aur_receiver *r);

/* Everything, in order; NULL-safe. */
void aur_receiver_free(struct aur_receiver *r);

#endif
