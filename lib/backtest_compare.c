/*
 * backtest_compare.c - the comparison of a backtest (backtest_impl.h):
 * each incident of side A paired with the incident of side B that holds
 * most of its records, the records that moved, the changes (split, merged,
 * moved, only A, only B) grouped and ordered, and the summary, all as jv
 * for the writers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>

#include "backtest.h"
#include "backtest_impl.h"
#include "xalloc.h"
#include "banned.h"

static jv num(long long x)
{
	return jv_number((double)x);
}

static jv id_or_null(long long id)
{
	return id > 0 ? num(id) : jv_null();
}

static jv str_or_null(const char *s)
{
	return s ? jv_string(s) : jv_null();
}
struct pair {
	long long a, b; /* incidents, 0 for none */
	size_t n;       /* records A put in a and B in b */
	size_t first;   /* the first of them */
	int opener;     /* that first record opened (in the range) both a and b */
};

static int by_ab(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

static int by_ba(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

static int by_a_first(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

/* incidents opened by the same record first, then the strongest overlap; ties: the pair that began first */
static int by_overlap(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->opener != q->opener)
		return p->opener ? -1 : 1;
	if (p->n != q->n)
		return p->n > q->n ? -1 : 1;
	return p->first < q->first ? -1 : p->first > q->first;
}

/* A moved record and the change it is told under (group_of). */
struct moved_ref {
	long long group;
	size_t idx;
};

static int by_group(const void *x, const void *y)
{
	const struct moved_ref *p = x, *q = y;

	if (p->group != q->group)
		return p->group < q->group ? -1 : 1;
	return p->idx < q->idx ? -1 : p->idx > q->idx;
}

struct compare {
	struct pair *ab; /* by a, then first */
	struct pair *ba; /* by b, then first */
	size_t npairs;
	struct moved_ref *mv; /* by group, then record */
	long long moved;
	long long split;
	long long merged;
};

/* The distinct (A incident, B incident) pairs of the records, with their counts. */
static void build_pairs(struct run *r, struct compare *c)
{
	struct pair *all = aur_xcalloc(r->nitems ? r->nitems : 1, sizeof(*all));
	size_t n = 0;

	for (size_t i = 0; i < r->nitems; i++)
		all[i] = (struct pair){ r->items[i].p[SIDE_A].incident, r->items[i].p[SIDE_B].incident, 1, i, 0 };
	qsort(all, r->nitems, sizeof(*all), by_ab);
	for (size_t i = 0; i < r->nitems; i++) {
		if (n && all[n - 1].a == all[i].a && all[n - 1].b == all[i].b) {
			all[n - 1].n++;
			continue;
		}
		all[n++] = all[i];
	}
	c->npairs = n;
	c->ab = all;
	c->ba = aur_xcalloc(n ? n : 1, sizeof(*c->ba));
	memcpy(c->ba, all, n * sizeof(*all));
	qsort(c->ab, n, sizeof(*all), by_a_first);
	qsort(c->ba, n, sizeof(*all), by_ba);
}

/*
 * Pair A's incidents with B's one to one, greedily: an A and a B incident
 * that the same record opened are the same incident whatever else B
 * merges into it; the rest by the records they share.
 */
static void pair_incidents(struct run *r, struct compare *c)
{
	struct pair *order = aur_xcalloc(c->npairs ? c->npairs : 1, sizeof(*order));
	size_t n = 0;

	for (size_t i = 0; i < c->npairs; i++) {
		struct pair p = c->ab[i];

		if (p.a <= 0 || p.b <= 0)
			continue;
		p.opener = backtest_incident_at(&r->side[SIDE_A], p.a)->first == p.first &&
			   backtest_incident_at(&r->side[SIDE_B], p.b)->first == p.first;
		order[n++] = p;
	}
	qsort(order, n, sizeof(*order), by_overlap);
	for (size_t i = 0; i < n; i++) {
		struct incident *a = backtest_incident_at(&r->side[SIDE_A], order[i].a);
		struct incident *b = backtest_incident_at(&r->side[SIDE_B], order[i].b);

		if (!a->partner && !b->partner) {
			a->partner = order[i].b;
			b->partner = order[i].a;
		}
	}
	free(order);
}

static long long partner_of(struct run *r, int s, long long id)
{
	struct incident *inc = id > 0 ? backtest_incident_at(&r->side[s], id) : NULL;

	return inc ? inc->partner : 0;
}

static int moved(struct run *r, const struct item *it)
{
	long long a = it->p[SIDE_A].incident;
	long long b = it->p[SIDE_B].incident;

	if (!a && !b)
		return 0;
	return !(a > 0 && b > 0 && partner_of(r, SIDE_A, a) == b);
}

/*
 * The change a moved record is told under: its A incident; else (A put it
 * in none) the A partner of its B incident; else its B incident, as a
 * negative number: one A never opened.
 */
static long long group_of(struct run *r, const struct item *it)
{
	long long a = it->p[SIDE_A].incident;
	long long b = it->p[SIDE_B].incident;

	if (a > 0)
		return a;
	return partner_of(r, SIDE_B, b) ? partner_of(r, SIDE_B, b) : -b;
}

/* Which A incidents B treats differently; the split and merged counts. */
static void mark_changes(struct run *r, struct compare *c)
{
	for (size_t i = 0; i < c->npairs; i++) {
		const struct pair *p = &c->ab[i];
		long long pb = partner_of(r, SIDE_A, p->a);
		long long pa = partner_of(r, SIDE_B, p->b);

		if (p->a > 0 && p->b != pb)
			backtest_incident_at(&r->side[SIDE_A], p->a)->changed = 1;
		if (p->b > 0 && p->a != pa && pa > 0)
			backtest_incident_at(&r->side[SIDE_A], pa)->changed = 1;
	}
	/* split: an A incident over two B incidents or more */
	for (size_t i = 0, k; i < c->npairs; i = k) {
		size_t real = 0;

		for (k = i; k < c->npairs && c->ab[k].a == c->ab[i].a; k++)
			real += c->ab[k].b > 0;
		if (c->ab[i].a > 0 && real >= 2)
			c->split++;
	}
	/* merged: a B incident holding records of two A incidents or more */
	for (size_t i = 0, k; i < c->npairs; i = k) {
		size_t real = 0;

		for (k = i; k < c->npairs && c->ba[k].b == c->ba[i].b; k++)
			real += c->ba[k].a > 0;
		if (c->ba[i].b > 0 && real >= 2)
			c->merged++;
	}
	c->mv = aur_xcalloc(r->nitems ? r->nitems : 1, sizeof(*c->mv));
	for (size_t i = 0; i < r->nitems; i++)
		if (moved(r, &r->items[i]))
			c->mv[c->moved++] = (struct moved_ref){ group_of(r, &r->items[i]), i };
	qsort(c->mv, (size_t)c->moved, sizeof(*c->mv), by_group);
}

static jv placement_json(const struct placement *p)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("incident"), id_or_null(p->incident));
	o = jv_object_set(o, jv_string("action"), jv_string(p->action ? p->action : "other"));
	o = jv_object_set(o, jv_string("strategy"), str_or_null(p->strategy));
	return jv_object_set(o, jv_string("reason"), str_or_null(p->reason));
}

static jv item_json(const struct item *it)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("inbox_id"), num(it->inbox_id));
	o = jv_object_set(o, jv_string("source"), str_or_null(it->source));
	o = jv_object_set(o, jv_string("dedup_key"), str_or_null(it->dedup_key));
	o = jv_object_set(o, jv_string("title"), str_or_null(it->title));
	o = jv_object_set(o, jv_string("at"), str_or_null(it->at));
	o = jv_object_set(o, jv_string("a"), placement_json(&it->p[SIDE_A]));
	return jv_object_set(o, jv_string("b"), placement_json(&it->p[SIDE_B]));
}

static jv incident_json(struct run *r, int s, long long id)
{
	struct incident *inc = backtest_incident_at(&r->side[s], id);
	jv o = jv_object();

	o = jv_object_set(o, jv_string("incident"), num(id));
	o = jv_object_set(o, jv_string("title"), str_or_null(inc->title));
	o = jv_object_set(o, jv_string("service"), str_or_null(inc->service));
	o = jv_object_set(o, jv_string("started_at"), str_or_null(inc->started_at));
	return jv_object_set(o, jv_string("alerts"), num((long long)inc->n));
}

/* The range [*lo, *hi) of pairs in list (sorted on a or b) whose field equals id. */
static void pair_range(const struct pair *list, size_t n, int on_b, long long id, size_t *lo, size_t *hi)
{
	size_t l = 0, h = n;

	while (l < h) {
		size_t m = l + (h - l) / 2;
		long long v = on_b ? list[m].b : list[m].a;

		if (v < id)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	for (h = l; h < n && (on_b ? list[h].b : list[h].a) == id; h++)
		;
	*hi = h;
}

/* Where B put the records of group g: one entry per B incident (or none), first first. */
static jv b_side_json(struct run *r, struct compare *c, long long g, jv *merged_with, int *split)
{
	jv list = jv_array();
	size_t lo, hi;
	int real = 0;

	if (g > 0) {
		pair_range(c->ab, c->npairs, 0, g, &lo, &hi);
	} else {
		/* a B incident A never opened: its records A left in none */
		size_t l2, h2;

		pair_range(c->ab, c->npairs, 0, 0, &l2, &h2);
		for (lo = l2; lo < h2 && c->ab[lo].b != -g; lo++)
			;
		hi = lo < h2 ? lo + 1 : lo;
	}
	for (size_t i = lo; i < hi; i++) {
		const struct pair *p = &c->ab[i];
		jv e;
		size_t bl, bh;
		jv also = jv_array();
		long long outside = 0;

		if (!p->b) {
			e = jv_object_set(jv_object(), jv_string("incident"), jv_null());
			list = jv_array_append(list, jv_object_set(e, jv_string("alerts"), num((long long)p->n)));
			continue;
		}
		real++;
		pair_range(c->ba, c->npairs, 1, p->b, &bl, &bh);
		for (size_t k = bl; k < bh; k++) {
			if (c->ba[k].a == p->a)
				continue;
			if (c->ba[k].a > 0) {
				also = jv_array_append(also, num(c->ba[k].a));
				*merged_with = jv_array_append(*merged_with, num(c->ba[k].a));
			} else {
				outside += (long long)c->ba[k].n;
			}
		}
		e = incident_json(r, SIDE_B, p->b);
		e = jv_object_set(e, jv_string("alerts_of_a"), num((long long)p->n));
		e = jv_object_set(e, jv_string("also_from_a"), also);
		e = jv_object_set(e, jv_string("from_no_incident"), num(outside));
		list = jv_array_append(list, e);
	}
	*split = real >= 2;
	return list;
}

struct group {
	long long id;  /* > 0: an A incident; < 0: a B incident A never opened */
	size_t first;
};

static int by_first(const void *x, const void *y)
{
	const struct group *p = x, *q = y;

	return p->first < q->first ? -1 : p->first > q->first;
}

/* The numbers of a, sorted, each once (jq 1.6 has no jv_unique). */
static jv unique_sorted(jv a)
{
	jv out = jv_array();
	double prev = -1;

	a = jv_sort(a, jv_copy(a));
	jv_array_foreach(a, i, x) {
		double v = jv_number_value(x);

		if (i == 0 || v != prev)
			out = jv_array_append(out, jv_copy(x));
		prev = v;
		jv_free(x);
	}
	jv_free(a);
	return out;
}

static jv change_json(struct run *r, struct compare *c, const struct group *g)
{
	jv ch = jv_object();
	jv merged = jv_array();
	jv movedl = jv_array();
	jv bl;
	int split = 0;
	size_t lo, hi;

	ch = jv_object_set(ch, jv_string("v"), jv_number(1));
	ch = jv_object_set(ch, jv_string("type"), jv_string("change"));
	ch = jv_object_set(ch, jv_string("a"), g->id > 0 ? incident_json(r, SIDE_A, g->id) : jv_null());
	bl = b_side_json(r, c, g->id, &merged, &split);
	ch = jv_object_set(ch, jv_string("b"), bl);
	ch = jv_object_set(ch, jv_string("split"), jv_bool(split));
	ch = jv_object_set(ch, jv_string("merged_with"), unique_sorted(merged));
	lo = 0;
	hi = (size_t)c->moved;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (c->mv[m].group < g->id)
			lo = m + 1;
		else
			hi = m;
	}
	for (; lo < (size_t)c->moved && c->mv[lo].group == g->id; lo++)
		movedl = jv_array_append(movedl, item_json(&r->items[c->mv[lo].idx]));
	return jv_object_set(ch, jv_string("moved"), movedl);
}

static jv settings_json(const struct aur_backtest_side *s)
{
	jv a = jv_array();

	for (size_t i = 0; i < s->ngiven; i++)
		a = jv_array_append(a, jv_string(s->given[i]));
	return jv_object_set(jv_object(), jv_string("settings"), a);
}

void backtest_compare(struct run *r, struct aur_backtest *res)
{
	struct compare c = { 0 };
	struct group *groups;
	size_t ng = 0;
	jv sum = jv_object();

	build_pairs(r, &c);
	pair_incidents(r, &c);
	mark_changes(r, &c);
	groups = aur_xcalloc((size_t)(r->side[SIDE_A].ninc + r->side[SIDE_B].ninc) + 1, sizeof(*groups));
	for (size_t id = 1; id < r->side[SIDE_A].ninc; id++)
		if (r->side[SIDE_A].inc[id].n && r->side[SIDE_A].inc[id].changed)
			groups[ng++] = (struct group){ (long long)id, r->side[SIDE_A].inc[id].first };
	for (size_t id = 1; id < r->side[SIDE_B].ninc; id++) {
		struct incident *b = &r->side[SIDE_B].inc[id];
		size_t lo, hi;

		if (!b->n || b->partner)
			continue;
		/* unpaired, and holding records A put in no incident: a change of its own */
		pair_range(c.ba, c.npairs, 1, (long long)id, &lo, &hi);
		while (lo < hi && c.ba[lo].a != 0)
			lo++;
		if (lo < hi)
			groups[ng++] = (struct group){ -(long long)id, b->first };
	}
	qsort(groups, ng, sizeof(*groups), by_first);

	sum = jv_object_set(sum, jv_string("v"), jv_number(1));
	sum = jv_object_set(sum, jv_string("type"), jv_string("summary"));
	sum = jv_object_set(sum, jv_string("from_id"), id_or_null(r->first_id));
	sum = jv_object_set(sum, jv_string("to_id"), id_or_null(r->last_id));
	sum = jv_object_set(sum, jv_string("from"), r->deliveries ? jv_string(r->first_at) : jv_null());
	sum = jv_object_set(sum, jv_string("to"), r->deliveries ? jv_string(r->last_at) : jv_null());
	sum = jv_object_set(sum, jv_string("a"), settings_json(r->settings[SIDE_A]));
	sum = jv_object_set(sum, jv_string("b"), settings_json(r->settings[SIDE_B]));
	sum = jv_object_set(sum, jv_string("warmup_deliveries"), num(r->warm_deliveries));
	sum = jv_object_set(sum, jv_string("deliveries"), num(r->deliveries));
	sum = jv_object_set(sum, jv_string("rejected"), num(r->rejected));
	sum = jv_object_set(sum, jv_string("alerts"), num((long long)r->nitems));
	sum = jv_object_set(sum, jv_string("incidents_a"), num(r->side[SIDE_A].created));
	sum = jv_object_set(sum, jv_string("incidents_b"), num(r->side[SIDE_B].created));
	sum = jv_object_set(sum, jv_string("alerts_moved"), num(c.moved));
	sum = jv_object_set(sum, jv_string("split"), num(c.split));
	sum = jv_object_set(sum, jv_string("merged"), num(c.merged));
	sum = jv_object_set(sum, jv_string("changes"), num((long long)ng));
	sum = jv_object_set(sum, jv_string("joins_a"), jv_copy(r->side[SIDE_A].joins));
	sum = jv_object_set(sum, jv_string("joins_b"), jv_copy(r->side[SIDE_B].joins));
	res->summary = sum;
	res->changes = jv_array();
	for (size_t i = 0; i < ng; i++)
		res->changes = jv_array_append(res->changes, change_json(r, &c, &groups[i]));
	free(groups);
	free(c.ab);
	free(c.ba);
	free(c.mv);
}
