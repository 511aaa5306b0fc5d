/* SPDX-License-Identifier: MIT */
/*
 * Dirty bitmaps against a naive model (one bool per page): every operation
 * with random ranges from a fixed seed, the edges (first and last page, word
 * boundaries, windows that are not whole words, a window ending at 2^64),
 * bad input that must change nothing, the little-endian layout byte by byte,
 * conversion both ways, merges with partial overlap, and run iteration.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/iommufd.h>

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

/* xorshift64*: the same sequence on every run and machine. */
static uint64_t seed;

static uint64_t rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 0x2545F4914F6CDD1DULL;
}

/* A value in [0, n), n > 0. */
static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* ---- the model ---- */

struct model {
	uint64_t iova, ps, n;
	bool *b;
};

static void model_init(struct model *m, uint64_t iova, uint64_t npages,
		       uint64_t ps)
{
	m->iova = iova;
	m->ps = ps;
	m->n = npages;
	m->b = calloc(npages, sizeof(bool));
	ck_assert_ptr_nonnull(m->b);
}

static void model_fini(struct model *m)
{
	free(m->b);
}

/* Pages [*first, *end) a byte range touches, or (inward) covers whole. */
static void model_pages(const struct model *m, uint64_t iova, uint64_t len,
			bool inward, uint64_t *first, uint64_t *end)
{
	uint64_t off = iova - m->iova;

	if (inward) {
		*first = off / m->ps + (off % m->ps != 0);
		*end = (off + len) / m->ps;
	} else {
		*first = off / m->ps;
		*end = (off + len - 1) / m->ps + 1;
	}
}

static void model_fill(struct model *m, uint64_t first, uint64_t end, bool v)
{
	for (uint64_t i = first; i < end; i++)
		m->b[i] = v;
}

static uint64_t model_count(const struct model *m, uint64_t first,
			    uint64_t end)
{
	uint64_t c = 0;

	for (uint64_t i = first; i < end; i++)
		c += m->b[i];
	return c;
}

static bool word_bit(const uint64_t *w, uint64_t i)
{
	return (le64toh(w[i / 64]) >> (i % 64)) & 1;
}

/* The bitmap's words say exactly what the model says, tail bits zero. */
static void check_same(struct iommufd_dirty_bitmap *bm, const struct model *m)
{
	size_t nw;
	uint64_t *w = iommufd_dirty_bitmap_words(bm, &nw);

	ck_assert_uint_eq(nw, (m->n + 63) / 64);
	for (uint64_t i = 0; i < m->n; i++)
		if (word_bit(w, i) != m->b[i])
			ck_abort_msg("page %llu: bitmap %d, model %d",
				     (unsigned long long)i, word_bit(w, i),
				     m->b[i]);
	for (uint64_t i = m->n; i < nw * 64; i++)
		ck_assert_msg(!word_bit(w, i), "tail bit %llu set",
			      (unsigned long long)i);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm),
			  model_count(m, 0, m->n));
}

/* A random byte range inside the window: page-aligned or not, short or
 * long, often at an edge. */
static void rnd_range(const struct model *m, uint64_t *iova, uint64_t *len)
{
	uint64_t size = m->n * m->ps, off, l;

	switch (rnd_below(6)) {
	case 0:	/* first page */
		off = 0;
		l = 1 + rnd_below(m->ps);
		break;
	case 1:	/* last page */
		l = 1 + rnd_below(m->ps);
		off = size - l;
		break;
	case 2:	/* whole pages from around a word boundary */
		off = rnd_below((m->n + 63) / 64) * 64 + rnd_below(3);
		off = off > 0 ? off - 1 : 0;
		if (off >= m->n)
			off = m->n - 1;
		off *= m->ps;
		l = m->ps * (1 + rnd_below(130));
		if (l > size - off)
			l = size - off;
		break;
	case 3:	/* the whole window */
		off = 0;
		l = size;
		break;
	default:
		off = rnd_below(size);
		l = size - off;
		if (rnd_below(2) && l > m->ps * 200)
			l = m->ps * 200;
		l = 1 + rnd_below(l);
		break;
	}
	*iova = m->iova + off;
	*len = l;
}

/* ---- runs ---- */

struct run {
	uint64_t iova, len;
};

struct runs {
	size_t n, max, stop_after;
	struct run *r;
	struct iommufd_dirty_bitmap *clear_bm;	/* clear each run reported */
};

static int collect(uint64_t iova, uint64_t len, void *data)
{
	struct runs *rs = data;

	if (rs->n == rs->max) {
		rs->max = rs->max ? rs->max * 2 : 16;
		rs->r = realloc(rs->r, rs->max * sizeof(*rs->r));
		ck_assert_ptr_nonnull(rs->r);
	}
	rs->r[rs->n].iova = iova;
	rs->r[rs->n].len = len;
	rs->n++;
	if (rs->clear_bm)
		ck_assert_int_eq(iommufd_dirty_bitmap_clear(rs->clear_bm, iova,
							    len), 0);
	if (rs->stop_after && rs->n == rs->stop_after)
		return 77;
	return 0;
}

/* The model's maximal runs within pages [first, end). */
static void model_runs(const struct model *m, uint64_t first, uint64_t end,
		       struct runs *rs)
{
	uint64_t i = first;

	memset(rs, 0, sizeof(*rs));
	while (i < end) {
		uint64_t s;

		if (!m->b[i]) {
			i++;
			continue;
		}
		s = i;
		while (i < end && m->b[i])
			i++;
		collect(m->iova + s * m->ps, (i - s) * m->ps, rs);
	}
}

static void check_runs(const struct runs *got, const struct runs *want)
{
	ck_assert_uint_eq(got->n, want->n);
	for (size_t i = 0; i < got->n; i++) {
		ck_assert_uint_eq(got->r[i].iova, want->r[i].iova);
		ck_assert_uint_eq(got->r[i].len, want->r[i].len);
	}
}

/* ---- random operations against the model ---- */

struct shape {
	uint64_t iova, npages, ps;
};

static const struct shape shapes[] = {
	{ 0, 1, 4096 },
	{ 0x100000, 63, 4096 },
	{ 0x100000, 64, 4096 },
	{ 0x100000, 65, 4096 },
	{ 4096 * 3, 127, 4096 },
	{ 0, 128, 1 },
	{ 7, 129, 1 },
	{ 512 * 5, 1000, 512 },
	{ 1ull << 40, 4099, 4096 },
	{ 1ull << 41, 777, 2ull << 20 },
	/* A window that ends at 2^64. */
	{ 0 - 300 * 4096ull, 300, 4096 },
	{ 0 - (1ull << 30) * 5, 5, 1ull << 30 },
};

static void random_ops(const struct shape *sh, unsigned int nops)
{
	struct iommufd_dirty_bitmap *bm;
	struct model m;

	ck_assert_int_eq(iommufd_dirty_bitmap_new(sh->iova, sh->npages * sh->ps,
						  sh->ps, &bm), 0);
	model_init(&m, sh->iova, sh->npages, sh->ps);
	ck_assert_uint_eq(iommufd_dirty_bitmap_iova(bm), sh->iova);
	ck_assert_uint_eq(iommufd_dirty_bitmap_length(bm), sh->npages * sh->ps);
	ck_assert_uint_eq(iommufd_dirty_bitmap_page_size(bm), sh->ps);
	check_same(bm, &m);

	for (unsigned int op = 0; op < nops; op++) {
		uint64_t iova, len, first, end, c;
		struct runs got = { 0 }, want;

		rnd_range(&m, &iova, &len);
		switch (rnd_below(8)) {
		case 0:
		case 1:
		case 2:
			ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, iova, len), 0);
			model_pages(&m, iova, len, false, &first, &end);
			model_fill(&m, first, end, true);
			break;
		case 3:
		case 4:
			ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, iova, len), 0);
			model_pages(&m, iova, len, true, &first, &end);
			model_fill(&m, first, end, false);
			break;
		case 5:
			model_pages(&m, iova, len, false, &first, &end);
			ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, iova, len),
					 model_count(&m, first, end) != 0);
			break;
		case 6:
			model_pages(&m, iova, len, false, &first, &end);
			c = ~0ull;
			ck_assert_int_eq(iommufd_dirty_bitmap_count_range(bm, iova,
									  len, &c), 0);
			ck_assert_uint_eq(c, model_count(&m, first, end));
			break;
		case 7:
			model_pages(&m, iova, len, false, &first, &end);
			model_runs(&m, first, end, &want);
			ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run_range(
						 bm, iova, len, collect, &got), 0);
			check_runs(&got, &want);
			free(got.r);
			free(want.r);
			break;
		}
		check_same(bm, &m);
	}
	iommufd_dirty_bitmap_clear_all(bm);
	model_fill(&m, 0, m.n, false);
	check_same(bm, &m);
	iommufd_dirty_bitmap_free(bm);
	model_fini(&m);
}

START_TEST(test_random_ops)
{
	seed = 0x1badb002 + (uint64_t)_i;
	random_ops(&shapes[_i], 600);
}
END_TEST

/* Fill a bitmap and its model at random with a given density (percent). */
static void fill_random(struct iommufd_dirty_bitmap *bm, struct model *m,
			unsigned int pct)
{
	for (uint64_t i = 0; i < m->n; i++) {
		m->b[i] = rnd_below(100) < pct;
		if (m->b[i])
			ck_assert_int_eq(iommufd_dirty_bitmap_set(
				bm, m->iova + i * m->ps, m->ps), 0);
	}
}

/* Runs of random length, so words of all-ones and all-zeroes appear. */
static void fill_runs(struct iommufd_dirty_bitmap *bm, struct model *m)
{
	uint64_t i = 0;
	bool v = rnd_below(2);

	while (i < m->n) {
		uint64_t l = 1 + rnd_below(rnd_below(4) ? 8 : 300);

		if (l > m->n - i)
			l = m->n - i;
		if (v)
			ck_assert_int_eq(iommufd_dirty_bitmap_set(
				bm, m->iova + i * m->ps, l * m->ps), 0);
		model_fill(m, i, i + l, v);
		i += l;
		v = !v;
	}
}

/* ---- construction and bad input ---- */

START_TEST(test_new_bad)
{
	struct iommufd_dirty_bitmap *bm = (void *)0x1;

	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 4096, 4096, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 4096, 0, &bm), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 4096 * 3, 3, &bm), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 6000, 6000, &bm), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 0, 4096, &bm), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(512, 4096, 4096, &bm), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 4096 + 512, 4096, &bm),
			 -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0 - 4096ull, 8192, 4096, &bm),
			 -EOVERFLOW);
	ck_assert_int_eq(iommufd_dirty_bitmap_new((1ull << 63) + 4096,
						  1ull << 63, 4096, &bm),
			 -EOVERFLOW);
	/* Misaligned beats overflow. */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0 - 2048ull, 8192, 4096, &bm),
			 -EINVAL);
	ck_assert_ptr_eq(bm, (void *)0x1);

	/* The largest windows are fine: from 0, or up to the last byte of
	 * the space (at 1 TiB pages: 2^24 - 1 of them, 2 MiB of bits). */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 0 - (1ull << 40), 1ull << 40,
						  &bm), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, 0 - (2ull << 40), 1), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, 0 - (1ull << 40), 1),
			 -ERANGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 1);
	iommufd_dirty_bitmap_free(bm);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(1ull << 40, 0 - (1ull << 40),
						  1ull << 40, &bm), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, 0 - 1ull, 1), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, 0 - 4096ull, 4096), 1);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, 1ull << 40, 4096), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 1);
	iommufd_dirty_bitmap_free(bm);

	/* NULL handles. */
	iommufd_dirty_bitmap_free(NULL);
	iommufd_dirty_bitmap_clear_all(NULL);
	ck_assert_uint_eq(iommufd_dirty_bitmap_iova(NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_length(NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_page_size(NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(NULL), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_set(NULL, 0, 1), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_clear(NULL, 0, 1), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(NULL, 0, 1), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(NULL, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(NULL, 4096, &bm), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(NULL, collect, NULL),
			 -EINVAL);
	{
		size_t nw = 5;

		ck_assert_ptr_null(iommufd_dirty_bitmap_words(NULL, &nw));
		ck_assert_uint_eq(nw, 0);
	}
}
END_TEST

/* Every kind of bad range: the right errno, and the bitmap unchanged. */
START_TEST(test_bad_ranges_change_nothing)
{
	const uint64_t base = 1ull << 32, ps = 4096, n = 100;
	struct iommufd_dirty_bitmap *bm, *other, *conv = (void *)0x1;
	uint64_t snap[2], buf[2], c = 12345;
	struct runs rs = { 0 };
	size_t nw;
	uint64_t *w;
	struct {
		uint64_t iova, len;
		int err;
	} bad[] = {
		{ base, 0, -EINVAL },
		{ base - 1, 2, -ERANGE },		/* starts before */
		{ base - ps, ps, -ERANGE },		/* wholly before */
		{ base + n * ps - 1, 2, -ERANGE },	/* ends after */
		{ base + n * ps, 1, -ERANGE },		/* wholly after */
		{ base - ps, (n + 2) * ps, -ERANGE },	/* covers it */
		{ base + ps, 0 - ps, -EOVERFLOW },	/* wraps */
		{ 0 - 1ull, 2, -EOVERFLOW },
	};

	seed = 42;
	ck_assert_int_eq(iommufd_dirty_bitmap_new(base, n * ps, ps, &bm), 0);
	for (uint64_t i = 0; i < n; i += 1 + rnd_below(3))
		ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, base + i * ps, 1), 0);
	w = iommufd_dirty_bitmap_words(bm, &nw);
	ck_assert_uint_eq(nw, 2);
	memcpy(snap, w, sizeof(snap));
	memset(buf, 0xa5, sizeof(buf));

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint64_t iova = bad[k].iova, len = bad[k].len;
		int err = bad[k].err;

		ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, iova, len), err);
		ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, iova, len), err);
		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, iova, len), err);
		ck_assert_int_eq(iommufd_dirty_bitmap_count_range(bm, iova, len, &c),
				 err);
		ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run_range(
					 bm, iova, len, collect, &rs), err);
		/* Export and import take whole pages: a misaligned range is
		 * -EINVAL before anything else. */
		if (!((iova | len) & (ps - 1))) {
			ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, iova, len,
								     buf, sizeof(buf)), err);
			ck_assert_int_eq(iommufd_dirty_bitmap_import(bm, iova, len,
								     buf, sizeof(buf)), err);
		}
		ck_assert_int_eq(memcmp(snap, w, sizeof(snap)), 0);
	}
	ck_assert_uint_eq(c, 12345);
	ck_assert_uint_eq(rs.n, 0);
	for (size_t i = 0; i < 2; i++)
		ck_assert_uint_eq(buf[i], 0xa5a5a5a5a5a5a5a5ull);

	/* Misaligned windows for export and import. */
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, base + 1, ps, buf,
						     sizeof(buf)), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_import(bm, base, ps + 1, buf,
						     sizeof(buf)), -EINVAL);
	/* Buffers too small: 100 pages need two words. */
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, base, n * ps, buf, 15),
			 -ENOSPC);
	ck_assert_int_eq(iommufd_dirty_bitmap_import(bm, base, n * ps, buf, 8),
			 -ENOSPC);
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, base, ps, buf, 0),
			 -ENOSPC);
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, base, ps, NULL, 8),
			 -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_import(bm, base, ps, NULL, 8),
			 -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_count_range(bm, base, ps, NULL),
			 -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run_range(bm, base, ps,
								 NULL, NULL),
			 -EINVAL);
	for (size_t i = 0; i < 2; i++)
		ck_assert_uint_eq(buf[i], 0xa5a5a5a5a5a5a5a5ull);

	/* Merges that cannot be. */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(base, n * ps, 2 * ps, &other), 0);
	iommufd_dirty_bitmap_set(other, base, n * ps);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(bm, other), -EINVAL);
	iommufd_dirty_bitmap_free(other);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(base + n * ps, ps, ps, &other), 0);
	iommufd_dirty_bitmap_set(other, base + n * ps, ps);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(bm, other), -ERANGE);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(other, bm), -ERANGE);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(bm, NULL), -EINVAL);
	iommufd_dirty_bitmap_free(other);

	/* Conversions that cannot be. */
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 0, &conv), -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 3 * 4096, &conv),
			 -EINVAL);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 4096, NULL), -EINVAL);
	ck_assert_ptr_eq(conv, (void *)0x1);

	ck_assert_int_eq(memcmp(snap, w, sizeof(snap)), 0);
	iommufd_dirty_bitmap_free(bm);
}
END_TEST

/* A coarser conversion whose window would grow to all of 2^64. */
START_TEST(test_convert_overflow)
{
	struct iommufd_dirty_bitmap *bm, *out = (void *)0x1;

	/* [2^40, 2^64 - 2^40) at 2^40: coarser, it would be [0, 2^64). */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(1ull << 40, 0 - (2ull << 40),
						  1ull << 40, &bm), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 1ull << 41, &out),
			 -EOVERFLOW);
	ck_assert_ptr_eq(out, (void *)0x1);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 1ull << 62, &out), -EOVERFLOW);
	iommufd_dirty_bitmap_free(bm);

	ck_assert_int_eq(iommufd_dirty_bitmap_new(1ull << 40, 1ull << 20, 4096, &bm), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, (1ull << 40) + 5 * 4096, 1), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 1ull << 63, &out), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_iova(out), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_length(out), 1ull << 63);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(out), 1);
	iommufd_dirty_bitmap_free(out);
	iommufd_dirty_bitmap_free(bm);
}
END_TEST

/* ---- layout ---- */

START_TEST(test_le_layout)
{
	const uint64_t ps = 4096, n = 200;
	struct iommufd_dirty_bitmap *bm;
	const unsigned char *bytes;
	unsigned char out[4 * 8 + 1];
	uint64_t pages[] = { 0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 130, 199 };
	size_t nw;

	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, n * ps, ps, &bm), 0);
	for (size_t k = 0; k < sizeof(pages) / sizeof(pages[0]); k++)
		ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, pages[k] * ps + 100,
							  1), 0);
	bytes = (const unsigned char *)iommufd_dirty_bitmap_words(bm, &nw);
	ck_assert_uint_eq(nw, 4);
	/* Bit n of word n / 64 of LE words = bit n % 8 of byte n / 8. */
	for (uint64_t i = 0; i < nw * 64; i++) {
		bool want = false;

		for (size_t k = 0; k < sizeof(pages) / sizeof(pages[0]); k++)
			want |= pages[k] == i;
		ck_assert_int_eq((bytes[i / 8] >> (i % 8)) & 1, want);
	}
	ck_assert_uint_eq(bytes[0], 0x83);	/* pages 0, 1, 7 */
	ck_assert_uint_eq(bytes[1], 0x03);	/* pages 8, 9 */
	ck_assert_uint_eq(bytes[7], 0x80);	/* page 63 */
	ck_assert_uint_eq(bytes[8], 0x03);	/* pages 64, 65 */
	ck_assert_uint_eq(bytes[16], 0x05);	/* pages 128, 130 */
	ck_assert_uint_eq(bytes[24], 0x80);	/* page 199 = bit 7 of word 3 */

	/* Export to an unaligned buffer: the same bytes. */
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, 0, n * ps, out + 1, 32),
			 0);
	ck_assert_uint_eq(out[0], 0xee);
	ck_assert_int_eq(memcmp(out + 1, bytes, 32), 0);

	/* From page 1: everything one bit down. */
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, ps, (n - 1) * ps, out + 1,
						     32), 0);
	ck_assert_uint_eq(out[1], 0xc1);	/* pages 1, 7, 8 -> bits 0, 6, 7 */
	ck_assert_uint_eq(out[2], 0x01);	/* page 9 -> bit 8 */
	ck_assert_uint_eq(out[8], 0xc0);	/* pages 63, 64 -> bits 62, 63 */
	ck_assert_uint_eq(out[25], 0x40);	/* page 199 -> bit 198 */
	iommufd_dirty_bitmap_free(bm);
}
END_TEST

static void check_all_zero(struct iommufd_dirty_bitmap *bm)
{
	size_t nw;
	uint64_t *w = iommufd_dirty_bitmap_words(bm, &nw);

	for (size_t i = 0; i < nw; i++)
		ck_assert_uint_eq(w[i], 0);
}

/* Bits the kernel (or a caller) wrote past the last page never show. */
START_TEST(test_tail_bits_ignored)
{
	const uint64_t ps = 4096, n = 70;
	struct iommufd_dirty_bitmap *bm, *conv, *dst;
	struct runs rs = { 0 };
	uint64_t *w, out[2], c;
	size_t nw;

	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, n * ps, ps, &bm), 0);
	w = iommufd_dirty_bitmap_words(bm, &nw);
	ck_assert_uint_eq(nw, 2);
	w[1] = htole64(~0ull << (n - 64));	/* pages 70..127: not there */
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, 0, n * ps), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_count_range(bm, 0, n * ps, &c), 0);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, collect, &rs), 0);
	ck_assert_uint_eq(rs.n, 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, 0, n * ps, out,
						     sizeof(out)), 0);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, 3 * ps, (n - 3) * ps,
						     out, sizeof(out)), 0);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 0);
	for (unsigned int k = 0; k <= 8; k++) {
		ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, ps << k, &conv), 0);
		check_all_zero(conv);
		iommufd_dirty_bitmap_free(conv);
		ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, ps >> k, &conv), 0);
		check_all_zero(conv);
		iommufd_dirty_bitmap_free(conv);
	}
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 200 * ps, ps, &dst), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(dst, bm), 0);
	check_all_zero(dst);
	/* The last real page still counts, and a set keeps the tail. */
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, (n - 1) * ps, ps), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 1);
	ck_assert_int_eq(iommufd_dirty_bitmap_merge(dst, bm), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(dst), 1);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(dst, (n - 1) * ps, ps), 1);
	iommufd_dirty_bitmap_free(dst);
	iommufd_dirty_bitmap_free(bm);
}
END_TEST

/* ---- export and import ---- */

START_TEST(test_export_import)
{
	const struct shape *sh = &shapes[_i];
	struct iommufd_dirty_bitmap *bm, *bm2;
	struct model m, m2;
	uint64_t words_cap = (sh->npages + 63) / 64 + 2;
	unsigned char *buf = malloc(words_cap * 8 + 1);

	ck_assert_ptr_nonnull(buf);
	seed = 0xfeed + (uint64_t)_i;
	ck_assert_int_eq(iommufd_dirty_bitmap_new(sh->iova, sh->npages * sh->ps,
						  sh->ps, &bm), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(sh->iova, sh->npages * sh->ps,
						  sh->ps, &bm2), 0);
	model_init(&m, sh->iova, sh->npages, sh->ps);
	model_init(&m2, sh->iova, sh->npages, sh->ps);
	fill_runs(bm, &m);
	fill_random(bm2, &m2, 30);

	for (unsigned int round = 0; round < 200; round++) {
		uint64_t first = rnd_below(m.n), n = 1 + rnd_below(m.n - first);
		uint64_t nw = (n + 63) / 64;
		unsigned char *p = buf + rnd_below(2);	/* maybe unaligned */
		size_t size = nw * 8 + rnd_below(2) * 8;

		/* Export: bit i = page first + i; nothing past the range. */
		memset(buf, 0xcc, words_cap * 8 + 1);
		ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, m.iova + first * m.ps,
							     n * m.ps, p, size), 0);
		for (uint64_t i = 0; i < nw * 64; i++) {
			bool bit = (p[i / 8] >> (i % 8)) & 1;

			ck_assert_int_eq(bit, i < n ? m.b[first + i] : false);
		}
		for (uint64_t i = nw * 8; i < size; i++)
			ck_assert_uint_eq(p[i], 0xcc);
		ck_assert_int_eq(iommufd_dirty_bitmap_export(bm, m.iova + first * m.ps,
							     n * m.ps, p, nw * 8 - 1),
				 -ENOSPC);

		/* Import it (with junk past the range) into bm2: an OR. */
		if (n % 64)
			p[(nw - 1) * 8 + 7] |= 0x80;
		ck_assert_int_eq(iommufd_dirty_bitmap_import(bm2, m.iova + first * m.ps,
							     n * m.ps, p, nw * 8), 0);
		for (uint64_t i = 0; i < n; i++)
			m2.b[first + i] |= m.b[first + i];
		check_same(bm2, &m2);
		if (round % 16 == 15) {
			/* Now and then, start over. */
			iommufd_dirty_bitmap_clear_all(bm2);
			model_fill(&m2, 0, m2.n, false);
			iommufd_dirty_bitmap_clear_all(bm);
			model_fill(&m, 0, m.n, false);
			fill_runs(bm, &m);
		}
	}
	iommufd_dirty_bitmap_free(bm);
	iommufd_dirty_bitmap_free(bm2);
	model_fini(&m);
	model_fini(&m2);
	free(buf);
}
END_TEST

/* Export the whole bitmap, import into a clean one: the same words. */
START_TEST(test_export_import_roundtrip)
{
	const uint64_t ps = 4096, n = 1000;
	struct iommufd_dirty_bitmap *a, *b;
	struct model m;
	uint64_t buf[16];
	size_t nw;

	seed = 99;
	ck_assert_int_eq(iommufd_dirty_bitmap_new(ps * 64, n * ps, ps, &a), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(ps * 64, n * ps, ps, &b), 0);
	model_init(&m, ps * 64, n, ps);
	fill_random(a, &m, 50);
	ck_assert_int_eq(iommufd_dirty_bitmap_export(a, ps * 64, n * ps, buf,
						     sizeof(buf)), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_import(b, ps * 64, n * ps, buf,
						     sizeof(buf)), 0);
	check_same(b, &m);
	iommufd_dirty_bitmap_words(a, &nw);
	ck_assert_uint_eq(nw, 16);
	ck_assert_int_eq(memcmp(iommufd_dirty_bitmap_words(a, NULL),
				iommufd_dirty_bitmap_words(b, NULL),
				nw * 8), 0);
	ck_assert_int_eq(memcmp(buf, iommufd_dirty_bitmap_words(a, NULL),
				nw * 8), 0);
	iommufd_dirty_bitmap_free(a);
	iommufd_dirty_bitmap_free(b);
	model_fini(&m);
}
END_TEST

/* ---- merge ---- */

START_TEST(test_merge)
{
	const uint64_t ps = 4096;
	seed = 0x5eed;

	for (unsigned int round = 0; round < 120; round++) {
		/* Windows in pages around a common origin: every relation
		 * (partial overlap either side, inside, around, same), and
		 * every shift mod 64. */
		uint64_t origin = 1ull << 36;
		uint64_t dn = 1 + rnd_below(round % 4 ? 300 : 3);
		uint64_t sn = 1 + rnd_below(round % 3 ? 300 : 3);
		uint64_t d0 = origin + rnd_below(200) * ps;
		uint64_t s0 = origin + rnd_below(200) * ps;
		struct iommufd_dirty_bitmap *dst, *src;
		struct model md, ms;
		uint64_t lo, hi;

		if (round == 0)
			s0 = d0, sn = dn;
		ck_assert_int_eq(iommufd_dirty_bitmap_new(d0, dn * ps, ps, &dst), 0);
		ck_assert_int_eq(iommufd_dirty_bitmap_new(s0, sn * ps, ps, &src), 0);
		model_init(&md, d0, dn, ps);
		model_init(&ms, s0, sn, ps);
		if (round % 2)
			fill_runs(src, &ms);
		else
			fill_random(src, &ms, 40);
		fill_random(dst, &md, 10);

		lo = d0 > s0 ? d0 : s0;
		hi = d0 + dn * ps < s0 + sn * ps ? d0 + dn * ps : s0 + sn * ps;
		if (lo >= hi) {
			ck_assert_int_eq(iommufd_dirty_bitmap_merge(dst, src), -ERANGE);
		} else {
			ck_assert_int_eq(iommufd_dirty_bitmap_merge(dst, src), 0);
			for (uint64_t a = lo; a < hi; a += ps)
				md.b[(a - d0) / ps] |= ms.b[(a - s0) / ps];
		}
		check_same(dst, &md);
		check_same(src, &ms);
		/* Merging with itself changes nothing. */
		ck_assert_int_eq(iommufd_dirty_bitmap_merge(dst, dst), 0);
		check_same(dst, &md);
		iommufd_dirty_bitmap_free(dst);
		iommufd_dirty_bitmap_free(src);
		model_fini(&md);
		model_fini(&ms);
	}
}
END_TEST

/* ---- conversion ---- */

/* What a conversion must give, from the model. */
static void model_convert(const struct model *src, uint64_t ps,
			  struct model *out)
{
	uint64_t iova = src->iova & ~(ps - 1);
	uint64_t end = src->iova + src->n * src->ps;	/* may be 0: 2^64 */
	uint64_t len = ((end - 1) | (ps - 1)) - iova + 1;

	model_init(out, iova, len / ps, ps);
	for (uint64_t f = 0; f < src->n; f++) {
		if (!src->b[f])
			continue;
		if (ps >= src->ps) {
			out->b[(src->iova + f * src->ps - iova) / ps] = true;
		} else {
			uint64_t r = src->ps / ps;

			model_fill(out, f * r, (f + 1) * r, true);
		}
	}
}

static void convert_check(struct iommufd_dirty_bitmap *bm, struct model *m,
			  uint64_t ps)
{
	struct iommufd_dirty_bitmap *out;
	struct model want;

	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, ps, &out), 0);
	model_convert(m, ps, &want);
	ck_assert_uint_eq(iommufd_dirty_bitmap_iova(out), want.iova);
	ck_assert_uint_eq(iommufd_dirty_bitmap_length(out), want.n * ps);
	ck_assert_uint_eq(iommufd_dirty_bitmap_page_size(out), ps);
	check_same(out, &want);
	iommufd_dirty_bitmap_free(out);
	model_fini(&want);
}

START_TEST(test_convert)
{
	const uint64_t ps = 4096;
	/* Windows that start and end mid coarse page, and aligned ones. */
	const struct {
		uint64_t iova, n;
	} win[] = {
		{ 0, 1 },
		{ 0, 64 },
		{ ps * 3, 5 },
		{ (1ull << 30) - ps * 17, 1000 },
		{ (1ull << 40) + ps * 1, 2049 },
		{ 0 - ps * 700, 700 },		/* ends at 2^64 */
	};

	seed = 0xc0ffee;
	for (size_t k = 0; k < sizeof(win) / sizeof(win[0]); k++) {
		for (unsigned int fill = 0; fill < 3; fill++) {
			struct iommufd_dirty_bitmap *bm;
			struct model m;

			ck_assert_int_eq(iommufd_dirty_bitmap_new(win[k].iova,
								  win[k].n * ps,
								  ps, &bm), 0);
			model_init(&m, win[k].iova, win[k].n, ps);
			if (fill == 0)
				fill_random(bm, &m, 3);
			else if (fill == 1)
				fill_random(bm, &m, 60);
			else
				fill_runs(bm, &m);
			/* Coarser: 2x .. 2^20x, if the window still fits. */
			for (unsigned int d = 0; d <= 20; d++) {
				uint64_t cps = ps << d;

				if ((win[k].iova & ~(cps - 1)) == 0 &&
				    ((win[k].iova + win[k].n * ps - 1) | (cps - 1)) ==
				    UINT64_MAX)
					continue;
				convert_check(bm, &m, cps);
			}
			/* Finer: 2x .. 128x (4096x for small windows). */
			for (unsigned int d = 1; d <= (win[k].n > 64 ? 7 : 12); d++)
				convert_check(bm, &m, ps >> d);
			iommufd_dirty_bitmap_free(bm);
			model_fini(&m);
		}
	}
}
END_TEST

/* One dirty page at a time, at every position of a window that starts mid
 * coarse page: each lands in the right coarse page, including the pages at
 * the top of a word that carry into the next coarse page. */
START_TEST(test_convert_single_pages)
{
	const uint64_t ps = 4096, n = 200;

	static const unsigned int offsets[] = { 0, 1, 3, 17, 33 };

	for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
		unsigned int o = offsets[k];
		struct iommufd_dirty_bitmap *bm;
		struct model m;

		ck_assert_int_eq(iommufd_dirty_bitmap_new((1ull << 30) + o * ps,
							  n * ps, ps, &bm), 0);
		model_init(&m, (1ull << 30) + o * ps, n, ps);
		for (uint64_t p = 0; p < n; p++) {
			ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, m.iova + p * ps,
								  ps), 0);
			m.b[p] = true;
			for (unsigned int d = 1; d <= 7; d++)
				convert_check(bm, &m, ps << d);
			convert_check(bm, &m, ps >> 3);
			ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, m.iova + p * ps,
								    ps), 0);
			m.b[p] = false;
		}
		iommufd_dirty_bitmap_free(bm);
		model_fini(&m);
	}
}
END_TEST

/* Finer then back: the same bitmap. Coarser then finer: a superset. */
START_TEST(test_convert_roundtrip)
{
	const uint64_t ps = 1ull << 21;
	struct iommufd_dirty_bitmap *bm, *fine, *back, *coarse;
	struct model m;

	seed = 7;
	ck_assert_int_eq(iommufd_dirty_bitmap_new(ps * 5, 300 * ps, ps, &bm), 0);
	model_init(&m, ps * 5, 300, ps);
	fill_random(bm, &m, 20);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 4096, &fine), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(fine),
			  iommufd_dirty_bitmap_count(bm) * 512);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(fine, ps, &back), 0);
	check_same(back, &m);

	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, ps * 8, &coarse), 0);
	iommufd_dirty_bitmap_free(back);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(coarse, ps, &back), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_iova(back), 0);
	for (uint64_t i = 0; i < m.n; i++)
		if (m.b[i])
			ck_assert_int_eq(iommufd_dirty_bitmap_test(back,
				m.iova + i * ps, ps), 1);
	iommufd_dirty_bitmap_free(coarse);
	iommufd_dirty_bitmap_free(back);
	iommufd_dirty_bitmap_free(fine);
	iommufd_dirty_bitmap_free(bm);
	model_fini(&m);
}
END_TEST

/* ---- iteration ---- */

START_TEST(test_runs)
{
	const uint64_t ps = 4096, n = 4099;
	struct iommufd_dirty_bitmap *bm;
	struct runs got = { 0 }, want;
	struct model m;

	seed = 0xabc;
	ck_assert_int_eq(iommufd_dirty_bitmap_new(1ull << 32, n * ps, ps, &bm), 0);
	model_init(&m, 1ull << 32, n, ps);

	/* Empty: no call. */
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, collect, &got), 0);
	ck_assert_uint_eq(got.n, 0);

	/* Everything: one run. */
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, 1ull << 32, n * ps), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, collect, &got), 0);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_uint_eq(got.r[0].iova, 1ull << 32);
	ck_assert_uint_eq(got.r[0].len, n * ps);
	got.n = 0;
	/* A range cuts the run at its (rounded-out) edges. */
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run_range(
				 bm, (1ull << 32) + 100 * ps + 5, 64 * ps,
				 collect, &got), 0);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_uint_eq(got.r[0].iova, (1ull << 32) + 100 * ps);
	ck_assert_uint_eq(got.r[0].len, 65 * ps);
	got.n = 0;
	iommufd_dirty_bitmap_clear_all(bm);

	for (unsigned int fill = 0; fill < 4; fill++) {
		iommufd_dirty_bitmap_clear_all(bm);
		model_fill(&m, 0, n, false);
		if (fill == 3)
			fill_runs(bm, &m);
		else
			fill_random(bm, &m, fill == 0 ? 1 : fill == 1 ? 50 : 97);
		/* Runs at the first and last pages and word boundaries. */
		iommufd_dirty_bitmap_set(bm, m.iova, ps);
		iommufd_dirty_bitmap_set(bm, m.iova + (n - 1) * ps, ps);
		iommufd_dirty_bitmap_set(bm, m.iova + 63 * ps, 2 * ps);
		iommufd_dirty_bitmap_clear(bm, m.iova + 128 * ps, ps);
		m.b[0] = m.b[n - 1] = m.b[63] = m.b[64] = true;
		m.b[128] = false;
		check_same(bm, &m);

		model_runs(&m, 0, n, &want);
		ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, collect,
								   &got), 0);
		check_runs(&got, &want);
		/* In order, maximal: each run ends before the next starts,
		 * with a clean page between. */
		for (size_t i = 1; i < got.n; i++)
			ck_assert_uint_gt(got.r[i].iova,
					  got.r[i - 1].iova + got.r[i - 1].len);

		/* Early stop: the callback's value comes back, no more
		 * calls. */
		if (want.n >= 3) {
			free(got.r);
			memset(&got, 0, sizeof(got));
			got.stop_after = 3;
			ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(
						 bm, collect, &got), 77);
			ck_assert_uint_eq(got.n, 3);
			got.stop_after = 0;
		}

		/* Clearing each run as it is reported: the walk still sees
		 * every run, and leaves the bitmap clean. */
		free(got.r);
		memset(&got, 0, sizeof(got));
		got.clear_bm = bm;
		ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, collect,
								   &got), 0);
		check_runs(&got, &want);
		ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
		free(got.r);
		memset(&got, 0, sizeof(got));
		free(want.r);
	}
	iommufd_dirty_bitmap_free(bm);
	model_fini(&m);
}
END_TEST

/* ---- rounding rules, spelled out ---- */

START_TEST(test_rounding)
{
	const uint64_t ps = 4096;
	struct iommufd_dirty_bitmap *bm;
	uint64_t c;

	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, 10 * ps, ps, &bm), 0);
	/* Set rounds out: two bytes across a page boundary dirty two pages. */
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, 2 * ps - 1, 2), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 2);
	/* Clear rounds in: a part of a page clears nothing. */
	ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, ps, ps - 1), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, ps + 1, ps * 2 - 2), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 2);
	/* ... and [ps + 1, 3 ps + 1) covers page 2 whole. */
	ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, ps + 1, ps * 2), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, 2 * ps, ps), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, ps - 1, 2 * ps + 1), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
	/* Test and count round out: one byte of a dirty page is dirty. */
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, 5 * ps, ps), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, 6 * ps - 1, 1), 1);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, 6 * ps, 1), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_count_range(bm, 4 * ps + 9, ps, &c),
			 0);
	ck_assert_uint_eq(c, 1);
	iommufd_dirty_bitmap_free(bm);
}
END_TEST

/* A bitmap big enough for the word-wide inner loops (popcount, skips). */
START_TEST(test_large)
{
	const uint64_t ps = 4096, n = 1 << 18;	/* 1 GiB, 32 KiB of bits */
	struct iommufd_dirty_bitmap *bm, *coarse;
	struct runs got = { 0 }, want;
	struct model m;
	uint64_t c;

	seed = 0x1a46e;
	ck_assert_int_eq(iommufd_dirty_bitmap_new(0, n * ps, ps, &bm), 0);
	model_init(&m, 0, n, ps);
	for (unsigned int k = 0; k < 40; k++) {
		uint64_t f = rnd_below(n), l = 1 + rnd_below(n / 20);

		if (l > n - f)
			l = n - f;
		ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, f * ps, l * ps), 0);
		model_fill(&m, f, f + l, true);
	}
	for (unsigned int k = 0; k < 2000; k++) {
		uint64_t f = rnd_below(n);

		ck_assert_int_eq(iommufd_dirty_bitmap_clear(bm, f * ps, ps), 0);
		m.b[f] = false;
	}
	check_same(bm, &m);
	for (unsigned int k = 0; k < 50; k++) {
		uint64_t f = rnd_below(n), l = 1 + rnd_below(n - f);

		ck_assert_int_eq(iommufd_dirty_bitmap_count_range(bm, f * ps,
								  l * ps, &c), 0);
		ck_assert_uint_eq(c, model_count(&m, f, f + l));
		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, f * ps, l * ps),
				 c != 0);
	}
	model_runs(&m, 0, n, &want);
	ck_assert_int_eq(iommufd_dirty_bitmap_for_each_run(bm, collect, &got), 0);
	check_runs(&got, &want);
	free(got.r);
	free(want.r);
	ck_assert_int_eq(iommufd_dirty_bitmap_convert(bm, 2ull << 20, &coarse), 0);
	for (uint64_t p = 0; p < n / 512; p++)
		ck_assert_int_eq(iommufd_dirty_bitmap_test(coarse, p << 21, 1),
				 model_count(&m, p * 512, (p + 1) * 512) != 0);
	iommufd_dirty_bitmap_free(coarse);
	iommufd_dirty_bitmap_free(bm);
	model_fini(&m);
}
END_TEST

static Suite *dirty_suite(void)
{
	Suite *s = suite_create("dirty-bitmap");
	TCase *tc = fx_tcase("bitmap");
	int nshapes = (int)(sizeof(shapes) / sizeof(shapes[0]));

	tcase_add_test(tc, test_new_bad);
	tcase_add_test(tc, test_bad_ranges_change_nothing);
	tcase_add_test(tc, test_convert_overflow);
	tcase_add_test(tc, test_rounding);
	tcase_add_loop_test(tc, test_random_ops, 0, nshapes);
	tcase_add_test(tc, test_le_layout);
	tcase_add_test(tc, test_tail_bits_ignored);
	tcase_add_loop_test(tc, test_export_import, 0, nshapes);
	tcase_add_test(tc, test_export_import_roundtrip);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_convert);
	tcase_add_test(tc, test_convert_single_pages);
	tcase_add_test(tc, test_convert_roundtrip);
	tcase_add_test(tc, test_runs);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dirty_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
