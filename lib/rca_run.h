/*
 * rca_run.h - one investigation from start to end, as a child of aurora-rca
 * runs it: the investigator's steps written to the store the moment they
 * are made (rca.h), each also passed on as a JSON line (thought,
 * suggestion, analysis records) to out, and the end recorded: complete,
 * failed, or cancelled because the incident was merged meanwhile (the
 * surviving incident then gets a thought saying so; the findings so far
 * moved to it with the merge).
 */
#ifndef AURORA_RCA_RUN_H
#define AURORA_RCA_RUN_H

#include <stddef.h>
#include <sqlite3.h>

#include "investigate.h"
#include "jsonl.h"

/*
 * Investigate incident id with inv on db (the caller's own connection).
 * 0 when the investigation ended complete or cancelled by a merge; a
 * negative code with err set when it failed (the incident is then marked
 * rca_state error with a thought saying why, when the store lets it).
 */
int aur_rca_run(sqlite3 *db, int busy_ms, const struct aur_investigator *inv, const struct aur_inv_options *o,
		long long id, struct aur_jsonl_writer *out, char *err, size_t errlen);

#endif
