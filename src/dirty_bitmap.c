/* SPDX-License-Identifier: MIT */
/*
 * Dirty bitmaps: one bit per page of an IOVA window, kept in the layout the
 * kernel and QEMU use (little-endian u64 words, bit n of word n / 64 = page
 * n), so a backend can hand the words straight to the kernel.
 *
 * Every pass works a word at a time: bit loops only at the edges of a range,
 * popcount and count-trailing-zeros inside, and merges as an OR loop the
 * compiler vectorizes. Bits past the last page are kept zero by every call
 * that writes, and masked off by every call that reads (the kernel, or a
 * caller through iommufd_dirty_bitmap_words(), may have written them).
 *
 * The words hold little-endian values on every host: ld()/st() convert (a
 * no-op on little-endian hosts). Passes that only move, OR, clear or count
 * whole words need no conversion at all.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/dirty.h>
#include "internal.h"

struct iommufd_dirty_bitmap {
	uint64_t iova;
	uint64_t length;
	uint64_t page_size;
	unsigned int shift;		/* log2(page_size) */
	uint64_t npages;
	size_t nwords;			/* ceil(npages / 64) */
	uint64_t *words;		/* little-endian values */
};

static inline uint64_t ld(const uint64_t *w, size_t i)
{
	return le64toh(w[i]);
}

static inline void st(uint64_t *w, size_t i, uint64_t v)
{
	w[i] = htole64(v);
}

/* Word @i of a caller's buffer, which may be unaligned. */
static inline uint64_t ldu(const void *p, size_t i)
{
	uint64_t v;

	memcpy(&v, (const unsigned char *)p + i * sizeof(v), sizeof(v));
	return le64toh(v);
}

/* The low @k bits, 1 <= k <= 64. */
static inline uint64_t low_mask(unsigned int k)
{
	return k >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << k) - 1;
}

static inline uint64_t words_for(uint64_t pages)
{
	return pages / 64 + (pages % 64 != 0);
}

static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* ---- popcount of whole words: the POPCNT instruction where the CPU has it */

#define POPCOUNT_WORDS_BODY                                          \
	uint64_t a = 0, b = 0, c = 0, d = 0;                           \
	size_t i = 0;                                                  \
	for (; i + 4 <= n; i += 4) {                                   \
		a += (uint64_t)__builtin_popcountll(w[i]);             \
		b += (uint64_t)__builtin_popcountll(w[i + 1]);         \
		c += (uint64_t)__builtin_popcountll(w[i + 2]);         \
		d += (uint64_t)__builtin_popcountll(w[i + 3]);         \
	}                                                              \
	for (; i < n; i++)                                             \
		a += (uint64_t)__builtin_popcountll(w[i]);             \
	return a + b + c + d;

static uint64_t popcount_words_generic(const uint64_t *w, size_t n)
{
	POPCOUNT_WORDS_BODY
}

#if (defined(__x86_64__) || defined(__i386__)) && !defined(__POPCNT__)
__attribute__((target("popcnt")))
static uint64_t popcount_words_hw(const uint64_t *w, size_t n)
{
	POPCOUNT_WORDS_BODY
}

static uint64_t popcount_words(const uint64_t *w, size_t n)
{
	if (n >= 8 && __builtin_cpu_supports("popcnt"))
		return popcount_words_hw(w, n);
	return popcount_words_generic(w, n);
}
#else
#define popcount_words popcount_words_generic
#endif

/* ---- bit ranges [first, end) of a bitmap's own words ---- */

/* Masks of the first and last words of a non-empty range. */
static inline void edge_masks(uint64_t first, uint64_t end, size_t *i,
			      size_t *last, uint64_t *head, uint64_t *tail)
{
	*i = first >> 6;
	*last = (end - 1) >> 6;
	*head = ~UINT64_C(0) << (first & 63);
	*tail = ~UINT64_C(0) >> (63 - ((end - 1) & 63));
}

static void bits_set(uint64_t *w, uint64_t first, uint64_t end)
{
	uint64_t head, tail;
	size_t i, last;

	if (first >= end)
		return;
	edge_masks(first, end, &i, &last, &head, &tail);
	if (i == last) {
		st(w, i, ld(w, i) | (head & tail));
		return;
	}
	st(w, i, ld(w, i) | head);
	memset(w + i + 1, 0xff, (last - i - 1) * sizeof(*w));
	st(w, last, ld(w, last) | tail);
}

static void bits_clear(uint64_t *w, uint64_t first, uint64_t end)
{
	uint64_t head, tail;
	size_t i, last;

	if (first >= end)
		return;
	edge_masks(first, end, &i, &last, &head, &tail);
	if (i == last) {
		st(w, i, ld(w, i) & ~(head & tail));
		return;
	}
	st(w, i, ld(w, i) & ~head);
	memset(w + i + 1, 0, (last - i - 1) * sizeof(*w));
	st(w, last, ld(w, last) & ~tail);
}

static uint64_t bits_count(const uint64_t *w, uint64_t first, uint64_t end)
{
	uint64_t head, tail;
	size_t i, last;

	if (first >= end)
		return 0;
	edge_masks(first, end, &i, &last, &head, &tail);
	if (i == last)
		return (uint64_t)__builtin_popcountll(ld(w, i) & head & tail);
	return (uint64_t)__builtin_popcountll(ld(w, i) & head) +
	       popcount_words(w + i + 1, last - i - 1) +
	       (uint64_t)__builtin_popcountll(ld(w, last) & tail);
}

static bool words_any(const uint64_t *w, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] |
		    w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return true;
	for (; i < n; i++)
		if (w[i])
			return true;
	return false;
}

static bool bits_any(const uint64_t *w, uint64_t first, uint64_t end)
{
	uint64_t head, tail;
	size_t i, last;

	if (first >= end)
		return false;
	edge_masks(first, end, &i, &last, &head, &tail);
	if (i == last)
		return ld(w, i) & head & tail;
	return (ld(w, i) & head) || words_any(w + i + 1, last - i - 1) ||
	       (ld(w, last) & tail);
}

/*
 * The first bit at or after @pos and before @end that is set (@invert 0) or
 * clear (@invert ~0); @end when there is none. Bits at or past @end are never
 * looked at as candidates.
 */
static uint64_t find_next(const uint64_t *w, uint64_t pos, uint64_t end,
			  uint64_t invert)
{
	size_t i, last;
	uint64_t x, r;

	if (pos >= end)
		return end;
	i = pos >> 6;
	last = (end - 1) >> 6;
	x = (ld(w, i) ^ invert) & (~UINT64_C(0) << (pos & 63));
	while (!x) {
		if (i == last)
			return end;
		i++;
		/* Skip runs of uninteresting words eight at a time. */
		while (last - i >= 8) {
			uint64_t all = invert;

			for (size_t k = 0; k < 8; k++)
				all = invert ? all & w[i + k] : all | w[i + k];
			if (all != invert)
				break;
			i += 8;
		}
		x = ld(w, i) ^ invert;
	}
	r = ((uint64_t)i << 6) + (uint64_t)__builtin_ctzll(x);
	return r < end ? r : end;
}

/* @k bits (1..64) of LE words @src from bit @pos; reads only the words
 * holding bits [pos, pos + k). */
static inline uint64_t extract(const void *src, uint64_t pos, unsigned int k)
{
	size_t i = pos >> 6;
	unsigned int b = pos & 63;
	uint64_t v = ldu(src, i) >> b;

	if (b + k > 64)
		v |= ldu(src, i + 1) << (64 - b);
	return v & low_mask(k);
}

static void or_words(uint64_t *restrict d, const unsigned char *restrict s,
		     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, s + i * sizeof(v), sizeof(v));
		d[i] |= v;
	}
}

/* OR bits [sf, sf + n) of LE words @src into bits [df, df + n) of @dst.
 * Reads no word of @src past the one holding bit sf + n - 1. */
static void bits_or(uint64_t *dst, uint64_t df, const void *src, uint64_t sf,
		    uint64_t n)
{
	unsigned int off = df & 63, b;
	size_t j, full, si;

	if (!n)
		return;
	if (off) {
		unsigned int k = n < 64u - off ? (unsigned int)n : 64u - off;

		j = df >> 6;
		st(dst, j, ld(dst, j) | extract(src, sf, k) << off);
		df += k;
		sf += k;
		n -= k;
	}
	j = df >> 6;
	full = n >> 6;
	si = sf >> 6;
	b = sf & 63;
	if (!b) {
		or_words(dst + j, (const unsigned char *)src + si * 8, full);
	} else {
		for (size_t i = 0; i < full; i++) {
			uint64_t v = ldu(src, si + i) >> b |
				     ldu(src, si + i + 1) << (64 - b);

			st(dst, j + i, ld(dst, j + i) | v);
		}
	}
	if (n & 63)
		st(dst, j + full, ld(dst, j + full) |
		   extract(src, sf + (uint64_t)full * 64, n & 63));
}

/* ---- objects ---- */

static int bitmap_alloc(uint64_t iova, uint64_t length, uint64_t page_size,
			struct iommufd_dirty_bitmap **out)
{
	struct iommufd_dirty_bitmap *bm;
	uint64_t nwords;

	if (!out || !is_pow2(page_size) || !length ||
	    ((iova | length) & (page_size - 1)))
		return -EINVAL;
	if (length - 1 > UINT64_MAX - iova)
		return -EOVERFLOW;
	bm = calloc(1, sizeof(*bm));
	if (!bm)
		return -ENOMEM;
	bm->iova = iova;
	bm->length = length;
	bm->page_size = page_size;
	bm->shift = (unsigned int)__builtin_ctzll(page_size);
	bm->npages = length >> bm->shift;
	nwords = words_for(bm->npages);
	if (nwords > SIZE_MAX / sizeof(uint64_t)) {
		free(bm);
		return -ENOMEM;
	}
	bm->nwords = (size_t)nwords;
	/* calloc: a large bitmap costs no page until it is written. */
	bm->words = calloc(bm->nwords, sizeof(uint64_t));
	if (!bm->words) {
		free(bm);
		return -ENOMEM;
	}
	*out = bm;
	return 0;
}

/* The last word with the bits past the last page cleared. */
static inline uint64_t tail_mask(const struct iommufd_dirty_bitmap *bm)
{
	return low_mask((unsigned int)((bm->npages - 1) % 64) + 1);
}

static inline uint64_t iova_last(const struct iommufd_dirty_bitmap *bm)
{
	return bm->iova + (bm->length - 1);
}

/*
 * The pages [*first, *end) of @bm that [iova, iova + length) touches
 * (outward), or covers whole (inward: may be empty, *first >= *end).
 */
static int range_pages(const struct iommufd_dirty_bitmap *bm, uint64_t iova,
		       uint64_t length, bool inward, uint64_t *first,
		       uint64_t *end)
{
	uint64_t off, off_last;

	if (!bm || !length)
		return -EINVAL;
	if (length - 1 > UINT64_MAX - iova)
		return -EOVERFLOW;
	if (iova < bm->iova || iova + (length - 1) > iova_last(bm))
		return -ERANGE;
	off = iova - bm->iova;
	off_last = off + (length - 1);
	if (inward) {
		*first = (off + (bm->page_size - 1)) >> bm->shift;
		*end = (off_last + 1) >> bm->shift;
	} else {
		*first = off >> bm->shift;
		*end = (off_last >> bm->shift) + 1;
	}
	return 0;
}

/* Import and export: whole pages only, and a buffer of whole words. */
static int window_pages(const struct iommufd_dirty_bitmap *bm, uint64_t iova,
			uint64_t length, size_t size, uint64_t *first,
			uint64_t *n)
{
	uint64_t end;
	int ret;

	if (!bm || ((iova | length) & (bm->page_size - 1)))
		return -EINVAL;
	ret = range_pages(bm, iova, length, false, first, &end);
	if (ret)
		return ret;
	*n = end - *first;
	if (words_for(*n) > size / sizeof(uint64_t))
		return -ENOSPC;
	return 0;
}

IOMMUFD_EXPORT int iommufd_dirty_bitmap_new(uint64_t iova, uint64_t length,
					    uint64_t page_size,
					    struct iommufd_dirty_bitmap **out)
{
	return bitmap_alloc(iova, length, page_size, out);
}

IOMMUFD_EXPORT void iommufd_dirty_bitmap_free(struct iommufd_dirty_bitmap *bm)
{
	if (!bm)
		return;
	free(bm->words);
	free(bm);
}

IOMMUFD_EXPORT uint64_t
iommufd_dirty_bitmap_iova(const struct iommufd_dirty_bitmap *bm)
{
	return bm ? bm->iova : 0;
}

IOMMUFD_EXPORT uint64_t
iommufd_dirty_bitmap_length(const struct iommufd_dirty_bitmap *bm)
{
	return bm ? bm->length : 0;
}

IOMMUFD_EXPORT uint64_t
iommufd_dirty_bitmap_page_size(const struct iommufd_dirty_bitmap *bm)
{
	return bm ? bm->page_size : 0;
}

IOMMUFD_EXPORT int iommufd_dirty_bitmap_set(struct iommufd_dirty_bitmap *bm,
					    uint64_t iova, uint64_t length)
{
	uint64_t first, end;
	int ret = range_pages(bm, iova, length, false, &first, &end);

	if (ret)
		return ret;
	bits_set(bm->words, first, end);
	return 0;
}

IOMMUFD_EXPORT int iommufd_dirty_bitmap_clear(struct iommufd_dirty_bitmap *bm,
					      uint64_t iova, uint64_t length)
{
	uint64_t first, end;
	int ret = range_pages(bm, iova, length, true, &first, &end);

	if (ret)
		return ret;
	bits_clear(bm->words, first, end);
	return 0;
}

IOMMUFD_EXPORT void
iommufd_dirty_bitmap_clear_all(struct iommufd_dirty_bitmap *bm)
{
	if (bm)
		memset(bm->words, 0, bm->nwords * sizeof(uint64_t));
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_test(const struct iommufd_dirty_bitmap *bm, uint64_t iova,
			  uint64_t length)
{
	uint64_t first, end;
	int ret = range_pages(bm, iova, length, false, &first, &end);

	if (ret)
		return ret;
	return bits_any(bm->words, first, end);
}

IOMMUFD_EXPORT uint64_t
iommufd_dirty_bitmap_count(const struct iommufd_dirty_bitmap *bm)
{
	return bm ? bits_count(bm->words, 0, bm->npages) : 0;
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_count_range(const struct iommufd_dirty_bitmap *bm,
				 uint64_t iova, uint64_t length,
				 uint64_t *count)
{
	uint64_t first, end;
	int ret;

	if (!count)
		return -EINVAL;
	ret = range_pages(bm, iova, length, false, &first, &end);
	if (ret)
		return ret;
	*count = bits_count(bm->words, first, end);
	return 0;
}

/*
 * Runs from the transitions of each word: bit b of x ^ (x << 1 | carry) is
 * set where page b differs from the page before it, so every run costs two
 * count-trailing-zeros and no search. Words without a transition (clean
 * outside a run, all dirty inside one) are skipped eight at a time.
 */
struct run_state {
	uint64_t start, in_run;
};

/* The runs that end in word @i (bits @x), given the state before it. */
static inline int word_runs(const struct iommufd_dirty_bitmap *bm, size_t i,
			    uint64_t x, struct run_state *st,
			    iommufd_dirty_run_fn fn, void *data)
{
	uint64_t t = x ^ (x << 1 | st->in_run);

	while (t) {
		uint64_t p = ((uint64_t)i << 6) + (uint64_t)__builtin_ctzll(t);
		int ret;

		t &= t - 1;
		if (!st->in_run) {
			st->start = p;
			st->in_run = 1;
			continue;
		}
		st->in_run = 0;
		ret = fn(bm->iova + (st->start << bm->shift),
			 (p - st->start) << bm->shift, data);
		if (ret)
			return ret;
	}
	return 0;
}

static int for_each_run(const struct iommufd_dirty_bitmap *bm, uint64_t first,
			uint64_t end, iommufd_dirty_run_fn fn, void *data)
{
	const uint64_t *w = bm->words;
	struct run_state st = { 0, 0 };
	uint64_t head, tail;
	size_t i, last;
	int ret;

	if (first >= end)
		return 0;
	edge_masks(first, end, &i, &last, &head, &tail);
	if (i == last)
		head &= tail;
	ret = word_runs(bm, i, ld(w, i) & head, &st, fn, data);
	if (ret || i == last)
		goto out;
	for (i++; i < last; i++) {
		uint64_t fill = 0 - st.in_run;

		/* Skip whole words equal to the run state, four at a time. */
		while (last - i > 4 &&
		       !((w[i] ^ fill) | (w[i + 1] ^ fill) |
			 (w[i + 2] ^ fill) | (w[i + 3] ^ fill)))
			i += 4;
		if (w[i] == fill)
			continue;
		ret = word_runs(bm, i, ld(w, i), &st, fn, data);
		if (ret)
			return ret;
	}
	ret = word_runs(bm, last, ld(w, last) & tail, &st, fn, data);
out:
	if (ret)
		return ret;
	if (st.in_run)
		return fn(bm->iova + (st.start << bm->shift),
			  (end - st.start) << bm->shift, data);
	return 0;
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_for_each_run(const struct iommufd_dirty_bitmap *bm,
				  iommufd_dirty_run_fn fn, void *data)
{
	if (!bm || !fn)
		return -EINVAL;
	return for_each_run(bm, 0, bm->npages, fn, data);
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_for_each_run_range(const struct iommufd_dirty_bitmap *bm,
					uint64_t iova, uint64_t length,
					iommufd_dirty_run_fn fn, void *data)
{
	uint64_t first, end;
	int ret;

	if (!fn)
		return -EINVAL;
	ret = range_pages(bm, iova, length, false, &first, &end);
	if (ret)
		return ret;
	return for_each_run(bm, first, end, fn, data);
}

IOMMUFD_EXPORT int iommufd_dirty_bitmap_merge(struct iommufd_dirty_bitmap *dst,
					      const struct iommufd_dirty_bitmap *src)
{
	uint64_t lo, hi;

	if (!dst || !src || dst->page_size != src->page_size)
		return -EINVAL;
	lo = dst->iova > src->iova ? dst->iova : src->iova;
	hi = iova_last(dst) < iova_last(src) ? iova_last(dst) : iova_last(src);
	if (lo > hi)
		return -ERANGE;
	if (dst == src)
		return 0;
	bits_or(dst->words, (lo - dst->iova) >> dst->shift, src->words,
		(lo - src->iova) >> src->shift, ((hi - lo) >> dst->shift) + 1);
	return 0;
}

/*
 * Bit gathering and spreading for page-size ratios R = 2^d < 64. In a word,
 * layout j (0 <= j <= 6 - d) is blocks of 2^j bits at stride R * 2^j: layout
 * 0 is one bit at each multiple of R, layout 6 - d is 64 / R packed bits.
 * Step j turns layout j into layout j + 1 (gather) or back (spread).
 */
struct regroup {
	unsigned int d, steps;
	uint64_t layout[7];
};

static void regroup_init(struct regroup *g, unsigned int d)
{
	g->d = d;
	g->steps = 6 - d;
	for (unsigned int j = 0; j <= g->steps; j++) {
		uint64_t block = low_mask(1u << j), m = 0;
		unsigned int stride = (1u << d) << j;

		for (unsigned int pos = 0; pos < 64; pos += stride)
			m |= block << pos;
		g->layout[j] = m;
	}
}

/* Bit k of the result = OR of bits [kR, kR + R) of @x. */
static inline uint64_t gather(const struct regroup *g, uint64_t x)
{
	for (unsigned int s = 1; s < (1u << g->d); s <<= 1)
		x |= x >> s;
	x &= g->layout[0];
	for (unsigned int j = 0; j < g->steps; j++)
		x = (x | x >> (((1u << g->d) - 1) << j)) & g->layout[j + 1];
	return x;
}

/* Bits [kR, kR + R) of the result = bit k of @x (k < 64 / R). */
static inline uint64_t spread(const struct regroup *g, uint64_t x)
{
	x &= g->layout[g->steps];
	for (unsigned int j = g->steps; j-- > 0;)
		x = (x | x << (((1u << g->d) - 1) << j)) & g->layout[j];
	for (unsigned int s = 1; s < (1u << g->d); s <<= 1)
		x |= x << s;
	return x;
}

/* Word @i of @bm with the bits past the last page cleared. */
static inline uint64_t word_masked(const struct iommufd_dirty_bitmap *bm,
				   size_t i)
{
	uint64_t w = ld(bm->words, i);

	return i == bm->nwords - 1 ? w & tail_mask(bm) : w;
}

static void convert_finer(const struct iommufd_dirty_bitmap *src,
			  struct iommufd_dirty_bitmap *dst, unsigned int d)
{
	struct regroup g;
	unsigned int per;

	if (d >= 6) {
		/* Each dirty page is 2^(d - 6) whole words of ones. */
		uint64_t pos = 0, s, e;

		while ((s = find_next(src->words, pos, src->npages, 0)) <
		       src->npages) {
			e = find_next(src->words, s + 1, src->npages,
				      ~UINT64_C(0));
			bits_set(dst->words, s << d, e << d);
			pos = e;
		}
		return;
	}
	/* Each source word becomes R words, each from 64 / R of its bits. */
	regroup_init(&g, d);
	per = 64u >> d;
	for (size_t i = 0; i < src->nwords; i++) {
		uint64_t x = word_masked(src, i);

		if (!x)
			continue;
		for (unsigned int c = 0; c < (1u << d); c++) {
			uint64_t bits = (x >> (c * per)) & low_mask(per);

			if (bits)
				st(dst->words, (i << d) + c, spread(&g, bits));
		}
	}
}

static void convert_coarser(const struct iommufd_dirty_bitmap *src,
			    struct iommufd_dirty_bitmap *dst, unsigned int d)
{
	/* Source page f lies in destination page (f + o) >> d. */
	uint64_t o = (src->iova - dst->iova) >> src->shift;
	struct regroup g;
	unsigned int per;

	if (d >= 6) {
		/* Find a dirty page, mark its destination page, and go on
		 * from the next destination page: a word-wise scan. */
		uint64_t pos = 0, s, c;

		while ((s = find_next(src->words, pos, src->npages, 0)) <
		       src->npages) {
			c = (s + o) >> d;
			st(dst->words, c >> 6,
			   ld(dst->words, c >> 6) | UINT64_C(1) << (c & 63));
			pos = ((c + 1) << d) - o;
		}
		return;
	}
	/* Source word i covers destination pages from i * 64 / R: its bits
	 * shifted up by o (< R) gather into 64 / R bits there, and the o bits
	 * shifted out land in the one page after them. */
	regroup_init(&g, d);
	per = 64u >> d;
	for (size_t i = 0; i < src->nwords; i++) {
		uint64_t x = word_masked(src, i), c;

		if (!x)
			continue;
		c = (uint64_t)i * per;
		st(dst->words, c >> 6,
		   ld(dst->words, c >> 6) | gather(&g, x << o) << (c & 63));
		if (o && x >> (64 - o)) {
			c += per;
			st(dst->words, c >> 6,
			   ld(dst->words, c >> 6) | UINT64_C(1) << (c & 63));
		}
	}
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_convert(const struct iommufd_dirty_bitmap *src,
			     uint64_t page_size,
			     struct iommufd_dirty_bitmap **out)
{
	struct iommufd_dirty_bitmap *dst;
	uint64_t iova, last;
	unsigned int shift;
	int ret;

	if (!src || !out || !is_pow2(page_size))
		return -EINVAL;
	shift = (unsigned int)__builtin_ctzll(page_size);
	/* Coarser: the window grows outward to whole new pages. */
	iova = src->iova & ~(page_size - 1);
	last = iova_last(src) | (page_size - 1);
	if (iova == 0 && last == UINT64_MAX)
		return -EOVERFLOW;
	ret = bitmap_alloc(iova, last - iova + 1, page_size, &dst);
	if (ret)
		return ret;
	if (shift == src->shift) {
		memcpy(dst->words, src->words, src->nwords * sizeof(uint64_t));
		st(dst->words, dst->nwords - 1, word_masked(src, src->nwords - 1));
	} else if (shift < src->shift) {
		convert_finer(src, dst, src->shift - shift);
	} else {
		convert_coarser(src, dst, shift - src->shift);
	}
	*out = dst;
	return 0;
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_export(const struct iommufd_dirty_bitmap *bm,
			    uint64_t iova, uint64_t length, void *buf,
			    size_t size)
{
	unsigned char *p = buf;
	uint64_t first, n, nw, v;
	int ret;

	if (!buf)
		return -EINVAL;
	ret = window_pages(bm, iova, length, size, &first, &n);
	if (ret)
		return ret;
	nw = words_for(n);
	if (!(first & 63)) {
		memcpy(p, bm->words + (first >> 6), nw * sizeof(uint64_t));
	} else {
		for (uint64_t j = 0; j + 1 < nw; j++) {
			v = htole64(extract(bm->words, first + j * 64, 64));
			memcpy(p + j * 8, &v, sizeof(v));
		}
	}
	/* The last word: only bits of the range, never the tail. */
	v = htole64(extract(bm->words, first + (nw - 1) * 64,
			    (unsigned int)((n - 1) % 64) + 1));
	memcpy(p + (nw - 1) * 8, &v, sizeof(v));
	return 0;
}

IOMMUFD_EXPORT int
iommufd_dirty_bitmap_import(struct iommufd_dirty_bitmap *bm, uint64_t iova,
			    uint64_t length, const void *buf, size_t size)
{
	uint64_t first, n;
	int ret;

	if (!buf)
		return -EINVAL;
	ret = window_pages(bm, iova, length, size, &first, &n);
	if (ret)
		return ret;
	bits_or(bm->words, first, buf, 0, n);
	return 0;
}

IOMMUFD_EXPORT uint64_t *
iommufd_dirty_bitmap_words(struct iommufd_dirty_bitmap *bm, size_t *nwords)
{
	if (nwords)
		*nwords = bm ? bm->nwords : 0;
	return bm ? bm->words : NULL;
}
