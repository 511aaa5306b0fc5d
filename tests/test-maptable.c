/* SPDX-License-Identifier: MIT */
/*
 * The mapping table on its own, against a simple reference model.
 *
 * The reference divides a window of IOVA space into units of UNIT bytes; each
 * entry starts on a unit boundary and ends inside its last unit, so two
 * entries overlap exactly when their unit ranges do, and owner[] (the start
 * unit of the entry covering a unit, or -1) answers every question in O(1).
 */
#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maptable.h"

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

#define UNIT 4096ull
#define BASE 0x100000000ull

/* ck_assert records every passing check through a syscall; hot loops use
 * this instead, which only costs anything on failure. */
#define CHECK(x)                                                         \
	do {                                                             \
		if (!(x))                                                \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x); \
	} while (0)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

/* 1M normally; a tenth of that under valgrind, which is 30-50x slower. */
static size_t big_n(void)
{
	return under_valgrind() ? 100000 : 1000000;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct mt_entry ent(uint64_t iova, uint64_t length)
{
	struct mt_entry e = {
		.iova = iova,
		.length = length,
		.backing = iova ^ 0x5a5a5a5a,
		.fd = -1,
		.prot = 3,
	};
	return e;
}

struct ref {
	size_t units;
	int64_t *owner;		/* start unit of the covering entry, or -1 */
	uint64_t *len;		/* bytes, at the start unit; 0 = no entry */
	size_t count;
};

static void ref_init(struct ref *r, size_t units)
{
	r->units = units;
	r->owner = malloc(units * sizeof(*r->owner));
	r->len = calloc(units, sizeof(*r->len));
	ck_assert(r->owner && r->len);
	for (size_t i = 0; i < units; i++)
		r->owner[i] = -1;
	r->count = 0;
}

static void ref_fini(struct ref *r)
{
	free(r->owner);
	free(r->len);
}

static size_t units_of(uint64_t len)
{
	return (len + UNIT - 1) / UNIT;
}

static bool ref_overlaps(const struct ref *r, size_t u, size_t nu)
{
	for (size_t i = u; i < u + nu && i < r->units; i++)
		if (r->owner[i] >= 0)
			return true;
	return false;
}

static void ref_insert(struct ref *r, size_t u, uint64_t len)
{
	for (size_t i = u; i < u + units_of(len); i++)
		r->owner[i] = u;
	r->len[u] = len;
	r->count++;
}

static void ref_remove(struct ref *r, size_t u)
{
	for (size_t i = u; i < u + units_of(r->len[u]); i++)
		r->owner[i] = -1;
	r->len[u] = 0;
	r->count--;
}

/* The table holds exactly the reference's entries, in order. */
static void compare_all(struct maptable *t, const struct ref *r)
{
	struct mt_iter it;
	struct mt_entry *e = maptable_first(t, &it);
	size_t n = 0;

	CHECK((maptable_check(t)) == (0));
	CHECK((maptable_count(t)) == (r->count));
	for (size_t u = 0; u < r->units; u++) {
		if (!r->len[u])
			continue;
		CHECK(e);
		CHECK((e->iova) == (BASE + u * UNIT));
		CHECK((e->length) == (r->len[u]));
		CHECK((e->backing) == (e->iova ^ 0x5a5a5a5a));
		e = maptable_next(&it);
		n++;
	}
	CHECK(!e);
	CHECK((n) == (r->count));
}

static void random_entry(const struct ref *r, size_t *u, uint64_t *len)
{
	size_t nu = 1 + rnd() % 4;

	*u = rnd() % (r->units - nu);
	*len = nu * UNIT - (rnd() % 2 ? rnd() % UNIT : 0);
}

START_TEST(test_empty)
{
	struct maptable t;
	struct mt_iter it;

	maptable_init(&t);
	ck_assert_ptr_null(maptable_find(&t, 0));
	ck_assert_ptr_null(maptable_find(&t, UINT64_MAX));
	ck_assert_ptr_null(maptable_seek(&t, 0, &it));
	ck_assert_ptr_null(maptable_first(&t, &it));
	ck_assert_ptr_null(maptable_next(&it));
	ck_assert_int_eq(maptable_remove(&t, 0), -ENOENT);
	ck_assert_uint_eq(maptable_remove_range(&t, 0, UINT64_MAX), 0);
	ck_assert_uint_eq(maptable_count(&t), 0);
	ck_assert_int_eq(maptable_check(&t), 0);
	maptable_clear(&t);
}
END_TEST

START_TEST(test_boundaries)
{
	struct maptable t;
	struct mt_entry e, *p, *c;
	struct mt_iter it;

	maptable_init(&t);
	e = ent(0, 0);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), -EINVAL);
	e = ent(UINT64_MAX - 4095, 4097);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), -EINVAL);
	e = ent(2, UINT64_MAX);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), -EINVAL);
	e = ent(1, UINT64_MAX);		/* ends exactly at UINT64_MAX */
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), 0);
	ck_assert_int_eq(maptable_remove(&t, 1), 0);
	ck_assert_uint_eq(maptable_count(&t), 0);

	/* Starting at 0, and ending at the last byte of the space. */
	e = ent(0, 4096);
	ck_assert_int_eq(maptable_insert(&t, &e, &p, NULL), 0);
	ck_assert_uint_eq(p->iova, 0);
	e = ent(UINT64_MAX - 4095, 4096);
	ck_assert_int_eq(maptable_insert(&t, &e, &p, NULL), 0);
	ck_assert_uint_eq(mt_last(p), UINT64_MAX);

	ck_assert_ptr_nonnull(maptable_find(&t, 0));
	ck_assert_ptr_nonnull(maptable_find(&t, 4095));
	ck_assert_ptr_null(maptable_find(&t, 4096));
	ck_assert_ptr_null(maptable_find(&t, UINT64_MAX - 4096));
	p = maptable_find(&t, UINT64_MAX);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->iova, UINT64_MAX - 4095);

	/* Overlaps at both ends are refused and name the conflict. */
	e = ent(4095, 2);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, &c), -EEXIST);
	ck_assert_uint_eq(c->iova, 0);
	e = ent(UINT64_MAX, 1);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, &c), -EEXIST);
	ck_assert_uint_eq(c->iova, UINT64_MAX - 4095);
	e = ent(4096, UINT64_MAX - 8191);	/* the whole hole, exactly */
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), 0);
	ck_assert_uint_eq(maptable_count(&t), 3);
	ck_assert_int_eq(maptable_check(&t), 0);

	/* seek lands on the containing entry, else the next. */
	p = maptable_seek(&t, 5000, &it);
	ck_assert_uint_eq(p->iova, 4096);
	p = maptable_next(&it);
	ck_assert_uint_eq(p->iova, UINT64_MAX - 4095);
	ck_assert_ptr_null(maptable_next(&it));

	/* Range removal keeps what it only intersects. */
	ck_assert_uint_eq(maptable_remove_range(&t, 1, UINT64_MAX), 2);
	ck_assert_uint_eq(maptable_count(&t), 1);
	ck_assert_uint_eq(maptable_remove_range(&t, 0, UINT64_MAX), 1);
	ck_assert_uint_eq(maptable_count(&t), 0);

	/* The whole space but its last byte, then that byte. */
	e = ent(0, UINT64_MAX);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), 0);
	e = ent(UINT64_MAX, 1);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), 0);
	ck_assert_ptr_nonnull(maptable_find(&t, UINT64_MAX - 1));
	ck_assert_uint_eq(maptable_find(&t, UINT64_MAX)->length, 1);
	ck_assert_int_eq(maptable_remove(&t, 1), -ENOENT);
	ck_assert_int_eq(maptable_remove(&t, UINT64_MAX), 0);
	ck_assert_int_eq(maptable_remove(&t, 0), 0);
	ck_assert_int_eq(maptable_check(&t), 0);
	maptable_clear(&t);
}
END_TEST

START_TEST(test_overlap_cases)
{
	static const struct {
		uint64_t iova, length;
		int rc;
	} cases[] = {
		{ 0x10000, 0x1000, -EEXIST },	/* identical */
		{ 0x10800, 0x100, -EEXIST },	/* inside */
		{ 0xf000, 0x3000, -EEXIST },	/* around */
		{ 0xf000, 0x1001, -EEXIST },	/* over the start */
		{ 0x10fff, 0x10, -EEXIST },	/* over the end */
		{ 0xf000, 0x1000, 0 },		/* adjacent below */
		{ 0x11000, 0x1000, 0 },		/* adjacent above */
	};
	struct maptable t;
	struct mt_entry e = ent(0x10000, 0x1000);

	maptable_init(&t);
	ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = ent(cases[i].iova, cases[i].length);
		ck_assert_int_eq(maptable_insert(&t, &e, NULL, NULL),
				 cases[i].rc);
	}
	ck_assert_uint_eq(maptable_count(&t), 3);
	ck_assert_uint_eq(maptable_remove_range(&t, 0xf000, 0x11fff), 3);
	maptable_clear(&t);
}
END_TEST

/* Random inserts, finds, removes and range removes against the reference. */
START_TEST(test_random_reference)
{
	const size_t n = big_n();
	struct maptable t;
	struct ref r;
	struct mt_entry e, *p;
	size_t inserted = 0, tries = 0;

	rng_state = 0x9e3779b97f4a7c15ull;
	maptable_init(&t);
	ref_init(&r, n * 8);

	while (inserted < n) {
		size_t u;
		uint64_t len;
		int rc;

		random_entry(&r, &u, &len);
		e = ent(BASE + u * UNIT, len);
		rc = maptable_insert(&t, &e, &p, NULL);
		tries++;
		if (ref_overlaps(&r, u, units_of(len))) {
			CHECK((rc) == (-EEXIST));
			continue;
		}
		CHECK((rc) == (0));
		CHECK((p->iova) == (e.iova));
		ref_insert(&r, u, len);
		inserted++;
	}
	compare_all(&t, &r);

	/* Finds at random points, inside and outside entries. */
	for (size_t i = 0; i < n; i++) {
		size_t u = rnd() % r.units;
		uint64_t iova = BASE + u * UNIT + rnd() % UNIT;
		int64_t s = r.owner[u];

		p = maptable_find(&t, iova);
		if (s >= 0 && iova - (BASE + s * UNIT) < r.len[s]) {
			CHECK(p);
			CHECK((p->iova) == (BASE + s * UNIT));
		} else {
			CHECK(!p);
		}
	}

	/* Exact removes; misses by a byte fail. */
	for (size_t i = 0; i < n / 2; i++) {
		size_t u = rnd() % r.units;
		int64_t s = r.owner[u];

		if (s < 0) {
			CHECK((maptable_remove(&t, BASE + u * UNIT)) == (-ENOENT));
			continue;
		}
		CHECK((maptable_remove(&t, BASE + s * UNIT + 1)) == (-ENOENT));
		CHECK((maptable_remove(&t, BASE + s * UNIT)) == (0));
		ref_remove(&r, s);
	}
	compare_all(&t, &r);

	/* Mixed inserts and removes, and range removes with a model. */
	for (size_t i = 0; i < n / 2; i++) {
		size_t u;
		uint64_t len;

		if (rnd() % 64 == 0) {
			size_t a = rnd() % r.units, nu = 1 + rnd() % 64;
			uint64_t first = BASE + a * UNIT + rnd() % 2;
			uint64_t last = BASE + (a + nu) * UNIT - 1 - rnd() % 2;
			size_t want = 0;

			if (a + nu > r.units)
				continue;
			for (size_t k = a; k < a + nu; k++) {
				uint64_t iova = BASE + k * UNIT;

				if (r.len[k] && iova >= first &&
				    iova + r.len[k] - 1 <= last) {
					ref_remove(&r, k);
					want++;
				}
			}
			CHECK((maptable_remove_range(&t, first, last)) == (want));
			continue;
		}
		random_entry(&r, &u, &len);
		if (r.owner[u] >= 0 && rnd() % 2) {
			size_t s = r.owner[u];

			CHECK((maptable_remove(&t, BASE + s * UNIT)) == (0));
			ref_remove(&r, s);
			continue;
		}
		e = ent(BASE + u * UNIT, len);
		if (ref_overlaps(&r, u, units_of(len))) {
			CHECK((maptable_insert(&t, &e, NULL, NULL)) == (-EEXIST));
		} else {
			CHECK((maptable_insert(&t, &e, NULL, NULL)) == (0));
			ref_insert(&r, u, len);
		}
		if (i % 65536 == 0)
			CHECK((maptable_check(&t)) == (0));
	}
	compare_all(&t, &r);

	/* Seeks walk the remaining entries in order from random points. */
	for (size_t i = 0; i < 1000; i++) {
		size_t u = rnd() % r.units, k = u, steps = 0;
		uint64_t iova = BASE + u * UNIT + rnd() % UNIT;
		struct mt_iter it;

		p = maptable_seek(&t, iova, &it);
		if (r.owner[u] >= 0 &&
		    iova - (BASE + r.owner[u] * UNIT) < r.len[r.owner[u]]) {
			k = r.owner[u];
		} else {
			k = u + 1;
		}
		for (; k < r.units && steps < 100; k++) {
			if (!r.len[k])
				continue;
			CHECK(p);
			CHECK((p->iova) == (BASE + k * UNIT));
			p = maptable_next(&it);
			steps++;
		}
		if (k == r.units)
			CHECK(!p);
	}

	/* Remove the rest in big random ranges. */
	while (r.count) {
		size_t nu = 1 + rnd() % (r.units / 8);
		int64_t a0 = (int64_t)(rnd() % (r.units + nu)) - (int64_t)nu;
		size_t a = a0 < 0 ? 0 : a0, want = 0;

		if (a + nu > r.units)
			nu = r.units - a;
		for (size_t k = a; k < a + nu; k++) {
			if (r.len[k] && units_of(r.len[k]) + k <= a + nu) {
				ref_remove(&r, k);
				want++;
			}
		}
		CHECK((maptable_remove_range(&t, BASE + a * UNIT,
							BASE + (a + nu) * UNIT - 1)) == (want));
		CHECK((maptable_check(&t)) == (0));
	}
	compare_all(&t, &r);
	CHECK((maptable_mem_bytes(&t)) == (0));
	maptable_clear(&t);
	ref_fini(&r);
}
END_TEST

/*
 * Cost per mapping and operation rates at 1M mappings, in ascending,
 * descending and random IOVA order. Printed for the record, never asserted
 * against a time; the memory bound (64 bytes per mapping including malloc's
 * chunk headers, measured with mallinfo2) is asserted.
 */
static void measure(const char *order, int mode)
{
	const size_t n = big_n();
	struct mallinfo2 before, after;
	struct maptable t;
	uint64_t *keys = malloc(n * sizeof(*keys));
	double t0, t1, t2, t3;
	double per_map, per_node;

	CHECK(keys);
	for (size_t i = 0; i < n; i++)
		keys[i] = BASE + i * 2 * UNIT;
	if (mode == 1) {
		for (size_t i = 0; i < n / 2; i++) {
			uint64_t x = keys[i];

			keys[i] = keys[n - 1 - i];
			keys[n - 1 - i] = x;
		}
	} else if (mode == 2) {
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = rnd() % (i + 1);
			uint64_t x = keys[i];

			keys[i] = keys[j];
			keys[j] = x;
		}
	}

	maptable_init(&t);
	before = mallinfo2();
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct mt_entry e = ent(keys[i], UNIT);

		CHECK((maptable_insert(&t, &e, NULL, NULL)) == (0));
	}
	t1 = now();
	after = mallinfo2();
	for (size_t i = 0; i < n; i++)
		CHECK(maptable_find(&t, keys[i] + 17));
	t2 = now();
	CHECK((maptable_check(&t)) == (0));
	per_node = (double)maptable_mem_bytes(&t) / n;
	per_map = (double)(after.uordblks + after.hblkhd - before.uordblks -
			   before.hblkhd) / n;
	for (size_t i = 0; i < n; i++)
		CHECK((maptable_remove(&t, keys[i])) == (0));
	t3 = now();
	CHECK((maptable_count(&t)) == (0));
	CHECK((maptable_check(&t)) == (0));
	printf("maptable %-10s %zu mappings: %.1f bytes/mapping (nodes %.1f), "
	       "insert %.2f M/s, find %.2f M/s, remove %.2f M/s\n",
	       order, n, per_map, per_node, n / (t1 - t0) / 1e6,
	       n / (t2 - t1) / 1e6, n / (t3 - t2) / 1e6);
	fflush(stdout);
	CHECK(per_map <= 64.0 && per_node <= 64.0);
	maptable_clear(&t);
	free(keys);
}

START_TEST(test_measure_ascending)
{
	measure("ascending", 0);
}
END_TEST

START_TEST(test_measure_descending)
{
	measure("descending", 1);
}
END_TEST

START_TEST(test_measure_random)
{
	rng_state = 42;
	measure("random", 2);
}
END_TEST

/* unmap_all of a big table: the wholesale path and the leaf-by-leaf one. */
START_TEST(test_remove_range_bulk)
{
	const size_t n = big_n();
	struct maptable t;

	maptable_init(&t);
	for (size_t i = 0; i < n; i++) {
		struct mt_entry e = ent(BASE + i * UNIT, UNIT);

		CHECK((maptable_insert(&t, &e, NULL, NULL)) == (0));
	}
	/* Everything but the first and last entries: leaf by leaf. */
	CHECK((maptable_remove_range(&t, BASE + UNIT,
						BASE + (n - 1) * UNIT - 1)) == (n - 2));
	CHECK((maptable_check(&t)) == (0));
	CHECK((maptable_count(&t)) == (2));
	CHECK(maptable_find(&t, BASE));
	CHECK(maptable_find(&t, BASE + (n - 1) * UNIT));
	CHECK((maptable_remove_range(&t, 0, UINT64_MAX)) == (2));
	CHECK((maptable_mem_bytes(&t)) == (0));
	maptable_clear(&t);
}
END_TEST

static Suite *maptable_suite(void)
{
	Suite *s = suite_create("maptable");
	TCase *tc = fx_tcase("core");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_boundaries);
	tcase_add_test(tc, test_overlap_cases);
	tcase_add_test(tc, test_random_reference);
	tcase_add_test(tc, test_remove_range_bulk);
	tcase_add_test(tc, test_measure_ascending);
	tcase_add_test(tc, test_measure_descending);
	tcase_add_test(tc, test_measure_random);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(maptable_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
