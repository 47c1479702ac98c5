#ifndef AURORA_CORRELATE_OPTS_H
#define AURORA_CORRELATE_OPTS_H

#include <getopt.h>
#include <stddef.h>

#include "buf.h"

#include "correlate.h"

/*
 * The correlator's settings as command-line options, in one table, so the
 * live correlator and anything that replays with other settings (a
 * backtest) read them the same way.
 */
struct aur_correlate_option {
	const char *name;  /* the long option, without "--" */
	const char *value; /* the value's name in --help (DUR, X), NULL for a switch */
	const char *help;  /* one line for --help, after the option's name */
};

/* The i-th option of the table, or NULL past its end. */
const struct aur_correlate_option *aur_correlate_option_at(size_t i);

/*
 * Apply option NAME (without "--") with VALUE (NULL for a switch) to cfg.
 * 0; -ENOENT for a name not in the table; -EINVAL for a value that does
 * not fit (err says "--name: 'value' is not ...").
 */
int aur_correlate_config_set(struct aur_correlate_config *cfg, const char *name, const char *value, char *err,
			     size_t errlen);

/*
 * The table as getopt long options, after the n already in opts (room for
 * max in all, the terminating zero entry included): option i gets code
 * first_code + i. The new total, without the zero entry.
 */
size_t aur_correlate_options_getopt(struct option *opts, size_t n, size_t max, int first_code);

/*
 * Append the table to b as --help lists it: "  --name VALUE  help" a
 * line, the help on a line of its own under a long name. 0, or -ENOSPC
 * past b's maximum.
 */
int aur_correlate_options_help(struct aur_buf *b);

#endif
