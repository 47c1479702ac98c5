#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "correlate_opts.h"
#include "banned.h"

enum kind { SCORE, DURATION, DURATION_OR_OFF /* 0 turns it off */, SWITCH };

struct setting {
	struct aur_correlate_option opt;
	enum kind kind;
	size_t offset; /* of the field in struct aur_correlate_config */
};

#define FIELD(f) offsetof(struct aur_correlate_config, f)

static const struct setting settings[] = {
	{ { "window", "DUR", "candidates: open incidents active within DUR (default 30m)" }, DURATION,
	  FIELD(window_ms) },
	{ { "time-window", "DUR", "time_cluster window from an incident's latest activity (5m)" }, DURATION,
	  FIELD(time_window_ms) },
	{ { "threshold", "X", "join the best candidate scoring at least X (0.75)" }, SCORE, FIELD(threshold) },
	{ { "service-score", "X", "score of service_match (0.9)" }, SCORE, FIELD(w_service) },
	{ { "mention-score", "X", "score of service_mention (0.85)" }, SCORE, FIELD(w_mention) },
	{ { "time-score", "X", "score of time_cluster (0.7: alone it does not join)" }, SCORE, FIELD(w_time) },
	{ { "max-distance", "X", "semantic_similarity kept when 1 - cosine < X (0.3)" }, SCORE,
	  FIELD(max_distance) },
	{ { "dependency-score", "X", "score of dependency (0.85)" }, SCORE, FIELD(w_dependency) },
	{ { "quiet-period", "DUR", "resolve an incident DUR after its last alert resolved (10m)" },
	  DURATION_OR_OFF, FIELD(quiet_ms) },
	{ { "stale-after", "DUR", "incidents older than DUR join on no time or text (12h)" },
	  DURATION_OR_OFF, FIELD(stale_ms) },
	{ { "heartbeat-silence", "DUR", "a heartbeat unseen for DUR opens an incident (0: off, the default)" },
	  DURATION_OR_OFF, FIELD(heartbeat_silence_ms) },
	{ { "semantic-across-services", NULL, "let similarity join alerts of different named services" }, SWITCH,
	  FIELD(semantic_across_services) },
};

#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

const struct aur_correlate_option *aur_correlate_option_at(size_t i)
{
	return i < SETTING_COUNT ? &settings[i].opt : NULL;
}

static int set_score(double *field, const char *name, const char *s, char *err, size_t errlen)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1) {
		snprintf(err, errlen, "--%s: '%s' is not a number from 0 to 1", name, s);
		return -EINVAL;
	}
	*field = v;
	return 0;
}

static int set_duration(long long *field, const char *name, const char *s, int zero_ok, char *err,
			size_t errlen)
{
	long long ms;

	if (zero_ok && !strcmp(s, "0")) {
		*field = 0;
		return 0;
	}
	if (aur_cli_parse_duration_ms(s, &ms) < 0 || ms <= 0) {
		snprintf(err, errlen, "--%s: '%s' is not a duration (like 90s, 5m, 1h)", name, s);
		return -EINVAL;
	}
	*field = ms;
	return 0;
}

int aur_correlate_config_set(struct aur_correlate_config *cfg, const char *name, const char *value, char *err,
			     size_t errlen)
{
	for (size_t i = 0; i < SETTING_COUNT; i++) {
		const struct setting *s = &settings[i];
		char *field = (char *)cfg + s->offset;

		if (strcmp(s->opt.name, name) != 0)
			continue;
		if (s->kind == SWITCH) {
			if (value) {
				snprintf(err, errlen, "--%s: takes no value", name);
				return -EINVAL;
			}
			*(int *)(void *)field = 1;
			return 0;
		}
		if (!value) {
			snprintf(err, errlen, "--%s: needs a value", name);
			return -EINVAL;
		}
		if (s->kind == SCORE)
			return set_score((double *)(void *)field, name, value, err, errlen);
		return set_duration((long long *)(void *)field, name, value, s->kind == DURATION_OR_OFF, err, errlen);
	}
	snprintf(err, errlen, "--%s: not a correlation setting", name);
	return -ENOENT;
}

int aur_correlate_options_help(struct aur_buf *b)
{
	const struct aur_correlate_option *o;
	int rc = 0;

	for (size_t i = 0; rc == 0 && (o = aur_correlate_option_at(i)) != NULL; i++) {
		char name[64];

		snprintf(name, sizeof(name), "--%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
		if (strlen(name) < 20)
			rc = aur_buf_addf(b, "  %-20s %s\n", name, o->help);
		else
			rc = aur_buf_addf(b, "  %s\n  %-20s %s\n", name, "", o->help);
	}
	return rc;
}

size_t aur_correlate_options_getopt(struct option *opts, size_t n, size_t max, int first_code)
{
	const struct aur_correlate_option *o;

	for (size_t i = 0; n + 1 < max && (o = aur_correlate_option_at(i)) != NULL; i++, n++)
		opts[n] = (struct option){ o->name, o->value ? required_argument : no_argument, NULL, first_code + (int)i };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	return n;
}
