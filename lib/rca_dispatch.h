/*
 * rca_dispatch.h - aurora-rca's loop: decision records in; each newly
 * created incident claimed (rca_state running, committed) and investigated
 * in a child process (rca_run.h), at most jobs_max at a time, under a time
 * limit and a rate limit by the incidents' own clock; the children's
 * thought, suggestion and analysis records printed; the resume point moved
 * past deliveries whose decisions are handled; investigations a crash left
 * running restarted (or failed after two restarts) before reading starts.
 */
#ifndef AURORA_RCA_DISPATCH_H
#define AURORA_RCA_DISPATCH_H

#include <signal.h>
#include <stddef.h>
#include <sqlite3.h>

#include "db.h"
#include "investigate.h"
#include "jsonl.h"

#define AUR_RCA_JOBS_MAX 64

struct aur_rca_settings {
	const char *db_path;        /* each child opens its own connection */
	struct aur_db_options dbo;
	const struct aur_investigator *inv;
	struct aur_inv_options io;
	int jobs_max;               /* 1..AUR_RCA_JOBS_MAX (2) */
	long long timeout_ms;       /* an investigation's limit (60 s) */
	long long rate_n;           /* at most rate_n started per rate_ms (30 per 10 min) */
	long long rate_ms;
	const char *stage;          /* the resume point moved ("rca"), NULL for none */
	int pass;                   /* print every record read too */
};

/* The defaults of aurora-rca(1). */
void aur_rca_settings_init(struct aur_rca_settings *s);

/*
 * Run until the end of in (then wait for every investigation), *stop, or
 * the reader of standard output going away (*gone = 1; the children are
 * killed and their incidents stay running for the next start). db is the
 * caller's connection to s->db_path. Records rejected are counted in
 * *rejected. Returns an exit code: AUR_EXIT_OK, AUR_EXIT_IOERR,
 * AUR_EXIT_TEMPFAIL (the store stayed busy).
 */
int aur_rca_dispatch(const struct aur_rca_settings *s, sqlite3 *db, struct aur_jsonl_reader *in,
		     const volatile sig_atomic_t *stop, unsigned long *rejected, int *gone);

#endif
