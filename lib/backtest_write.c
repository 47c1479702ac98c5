/*
 * backtest_write.c - the two writers of a backtest's result (backtest.h):
 * JSON lines (the summary, then one change a line) and a text table for a
 * person, which lists at most TEXT_MOVED_MAX moved alerts per change.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jq.h>

#include "backtest.h"
#include "backtest_impl.h"
#include "banned.h"

/* moved alerts listed per change in the text table (the JSON has them all) */
#define TEXT_MOVED_MAX 10

static int put_line(FILE *f, jv v)
{
	jv s = jv_dump_string(v, 0);
	int rc = fputs(jv_string_value(s), f) == EOF || fputc('\n', f) == EOF ? -EIO : 0;

	jv_free(s);
	return rc;
}

int aur_backtest_write_json(const struct aur_backtest *r, FILE *f)
{
	jv changes = jv_copy(r->changes);
	int rc = put_line(f, jv_copy(r->summary));

	jv_array_foreach(changes, i, ch) {
		(void)i;
		if (rc == 0)
			rc = put_line(f, ch);
		else
			jv_free(ch);
	}
	jv_free(changes);
	return rc;
}

/* Field k of o as text in buf: a string, an integer, or "-" for anything else. */
static const char *text_of(jv o, const char *k, char *buf, size_t len)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));

	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(buf, len, "%s", jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		snprintf(buf, len, "%lld", (long long)jv_number_value(v));
	else
		snprintf(buf, len, "-");
	jv_free(v);
	return buf;
}

static long long num_of(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	long long n = jv_get_kind(v) == JV_KIND_NUMBER ? (long long)jv_number_value(v) : 0;

	jv_free(v);
	return n;
}

static void text_settings(FILE *f, char side, jv sum)
{
	jv s = jv_object_get(jv_object_get(jv_copy(sum), jv_string(side == 'A' ? "a" : "b")),
			     jv_string("settings"));

	fprintf(f, "  %c: ", side);
	if (jv_array_length(jv_copy(s)) == 0)
		fputs("defaults", f);
	jv_array_foreach(s, i, x) {
		fprintf(f, "%s%s", i ? " " : "", jv_string_value(x));
		jv_free(x);
	}
	fputc('\n', f);
	jv_free(s);
}

static void text_placement(FILE *f, char side, jv p)
{
	char id[32], action[32], why[600];
	int none = num_of(p, "incident") == 0;

	if (none)
		fprintf(f, "%c: no incident, %s", side, text_of(p, "action", action, sizeof(action)));
	else
		fprintf(f, "%c#%s %s", side, text_of(p, "incident", id, sizeof(id)),
			text_of(p, "action", action, sizeof(action)));
	text_of(p, "reason", why, sizeof(why));
	if (strcmp(why, "-") != 0)
		fprintf(f, " (%s)", why);
}

static void text_change(FILE *f, jv ch)
{
	jv a = jv_object_get(jv_copy(ch), jv_string("a"));
	jv b = jv_object_get(jv_copy(ch), jv_string("b"));
	jv mv = jv_object_get(jv_copy(ch), jv_string("moved"));
	jv mw = jv_object_get(jv_copy(ch), jv_string("merged_with"));
	char t1[40], t2[256], t3[512], t4[32];
	int nmoved = jv_array_length(jv_copy(mv));

	fputc('\n', f);
	if (jv_get_kind(a) == JV_KIND_OBJECT)
		fprintf(f, "A#%s  %s  %s  %s  (%lld alert%s)\n", text_of(a, "incident", t4, sizeof(t4)),
			text_of(a, "started_at", t1, sizeof(t1)), text_of(a, "service", t2, sizeof(t2)),
			text_of(a, "title", t3, sizeof(t3)), num_of(a, "alerts"), num_of(a, "alerts") == 1 ? "" : "s");
	else
		fputs("not an incident in A: alerts A opened no incident for\n", f);
	fputs("  B:", f);
	jv_array_foreach(b, i, e) {
		jv id = jv_object_get(jv_copy(e), jv_string("incident"));

		if (jv_get_kind(id) == JV_KIND_NUMBER)
			fprintf(f, "%s #%lld %s (%lld of its %lld)", i ? "," : "", (long long)jv_number_value(id),
				text_of(e, "title", t3, sizeof(t3)), num_of(e, "alerts_of_a"), num_of(e, "alerts"));
		else
			fprintf(f, "%s no incident (%lld)", i ? "," : "", num_of(e, "alerts"));
		jv_free(id);
		jv_free(e);
	}
	fputc('\n', f);
	if (jv_array_length(jv_copy(mw)) > 0) {
		fputs("  merged by B with A", f);
		jv_array_foreach(mw, i, x) {
			fprintf(f, "%s#%lld", i ? ", " : " ", (long long)jv_number_value(x));
			jv_free(x);
		}
		fputc('\n', f);
	}
	jv_array_foreach(mv, i, it) {
		jv pa = jv_object_get(jv_copy(it), jv_string("a"));
		jv pb = jv_object_get(jv_copy(it), jv_string("b"));

		if (i < TEXT_MOVED_MAX) {
			fprintf(f, "  moved: inbox %lld %s %s  ", num_of(it, "inbox_id"),
				text_of(it, "source", t4, sizeof(t4)), text_of(it, "title", t3, sizeof(t3)));
			text_placement(f, 'A', pa);
			fputs(" -> ", f);
			text_placement(f, 'B', pb);
			fputc('\n', f);
		}
		jv_free(pa);
		jv_free(pb);
		jv_free(it);
	}
	if (nmoved > TEXT_MOVED_MAX)
		fprintf(f, "  ... and %d more moved (the JSON output lists them all)\n", nmoved - TEXT_MOVED_MAX);
	jv_free(a);
	jv_free(b);
	jv_free(mv);
	jv_free(mw);
}

int aur_backtest_write_text(const struct aur_backtest *r, FILE *f)
{
	jv s = r->summary;
	jv changes = jv_copy(r->changes);
	char t1[40], t2[40];

	if (num_of(s, "deliveries") == 0)
		fputs("backtest: no deliveries in the range\n", f);
	else
		fprintf(f, "backtest of inbox %lld to %lld, received %s to %s\n", num_of(s, "from_id"),
			num_of(s, "to_id"), text_of(s, "from", t1, sizeof(t1)), text_of(s, "to", t2, sizeof(t2)));
	text_settings(f, 'A', s);
	text_settings(f, 'B', s);
	fprintf(f, "%lld deliveries (%lld rejected; %lld before them replayed as warm-up), %lld alerts\n",
		num_of(s, "deliveries"), num_of(s, "rejected"), num_of(s, "warmup_deliveries"), num_of(s, "alerts"));
	fprintf(f, "incidents: A %lld, B %lld\n", num_of(s, "incidents_a"), num_of(s, "incidents_b"));
	fprintf(f, "alerts moved %lld; A incidents split by B %lld; B incidents merging A incidents %lld;"
		   " changes %lld\n",
		num_of(s, "alerts_moved"), num_of(s, "split"), num_of(s, "merged"), num_of(s, "changes"));
	jv_array_foreach(changes, i, ch) {
		(void)i;
		text_change(f, ch);
		jv_free(ch);
	}
	jv_free(changes);
	return ferror(f) ? -EIO : 0;
}
