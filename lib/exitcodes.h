/*
 * exitcodes.h - the one exit-code table of every aurora command.
 *
 * Documented in aurora(7). Numbers follow sysexits(3) where one fits.
 */
#ifndef AURORA_EXITCODES_H
#define AURORA_EXITCODES_H

enum {
	AUR_EXIT_OK = 0,        /* success */
	AUR_EXIT_REJECTED = 1,  /* finished, but some records were rejected */
	AUR_EXIT_USAGE = 2,     /* bad command line */
	AUR_EXIT_DATAERR = 65,  /* bad input under --strict, illegal transition */
	AUR_EXIT_NOINPUT = 66,  /* a file named on the command line does not exist */
	AUR_EXIT_SOFTWARE = 70, /* internal error */
	AUR_EXIT_IOERR = 74,    /* input/output error */
	AUR_EXIT_TEMPFAIL = 75, /* temporary: database busy, HTTP 5xx, timeout */
	AUR_EXIT_CONFIG = 78    /* configuration: bad mapping, missing secret */
};

#endif
