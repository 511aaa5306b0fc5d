/* SPDX-License-Identifier: MIT */
/*
 * Dirty-bitmap passes against memcpy of the same bytes, in one run: the
 * bitmap of a guest (default 1 TiB at 4 KiB pages = 32 MiB of bits) counted,
 * merged into another (word-aligned, and shifted by one page), walked for
 * dirty runs at 0.1%, 10% and 90% random density, exported, and converted to
 * 2 MiB pages. Figures are bitmap bytes per second; each is the best of
 * ROUNDS, with the rounds of every pass interleaved so drift hits all alike.
 * Beside them, iommufd_collapse_ranges() of 1M ranges (4-64 KiB mappings at
 * random IOVAs of the guest, unsorted) to the 256 of one DMA_LOGGING_START,
 * timed beside qsort(3) of the same ranges by start, the sort any collapse
 * has to do.
 *
 * Usage: bench-dirty [GUEST_GIB] [ROUNDS]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iommufd/iommufd.h>

#define PAGE 4096ull
#define IOVA_BASE (1ull << 40)
#define NR_RANGES (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-dirty: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(EXIT_FAILURE);
}

/* xorshift64*: reproducible across runs and machines. */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Each page dirty with probability @ppm / 1e6, independently. Written
 * straight into the words (little-endian: byte i holds pages 8i..8i+7). */
static void fill(struct iommufd_dirty_bitmap *bm, uint32_t ppm, uint64_t seed)
{
	size_t nw;
	unsigned char *b = (unsigned char *)iommufd_dirty_bitmap_words(bm, &nw);
	uint32_t thr = (uint32_t)(((uint64_t)ppm << 16) / 1000000);

	for (size_t i = 0; i < nw * 8; i++) {
		uint64_t r = rng(&seed);
		unsigned char v = 0;

		/* 8 pages from 16-bit slices of two draws. */
		for (unsigned int k = 0; k < 4; k++)
			v |= (uint8_t)(((r >> (16 * k)) & 0xffff) < thr) << k;
		r = rng(&seed);
		for (unsigned int k = 0; k < 4; k++)
			v |= (uint8_t)(((r >> (16 * k)) & 0xffff) < thr) << (k + 4);
		b[i] = v;
	}
}

struct walk {
	uint64_t runs, bytes;
};

static int on_run(uint64_t iova, uint64_t length, void *data)
{
	struct walk *w = data;

	(void)iova;
	w->runs++;
	w->bytes += length;
	return 0;
}

/* Make the compiler assume @p is read and written here: the memcpy must
 * really copy (clang would otherwise turn a memcpy from a memset buffer into
 * a memset, or drop it). */
static void escape(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static int cmp_start(const void *a, const void *b)
{
	const struct iommufd_iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void keep(double *best, double t)
{
	if (t < *best)
		*best = t;
}

int main(int argc, char **argv)
{
	uint64_t gib = argc > 1 ? strtoull(argv[1], NULL, 0) : 1024;
	unsigned int rounds = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 5;
	static const uint32_t density_ppm[3] = { 1000, 100000, 900000 };
	static const char *const density_name[3] = { "0.1%", "10%", "90%" };
	static const char *const density_key[3] = { "0p1", "10", "90" };
	struct iommufd_dirty_bitmap *a, *b, *shifted, *dens[3], *conv;
	double t_memcpy = 1e99, t_count = 1e99, t_merge = 1e99, t_shift = 1e99;
	double t_iter[3] = { 1e99, 1e99, 1e99 }, t_export = 1e99, t_conv = 1e99;
	double t_collapse = 1e99, t_qsort = 1e99;
	struct iommufd_iova_range *ranges, *collapsed, *sorted;
	size_t ncollapsed = 0;
	uint64_t rseed = 77;
	struct walk walks[3];
	uint64_t length, counted = 0, sink = 0;
	size_t nw, bytes;
	void *src, *dst, *out;
	int ret;

	if (!gib || !rounds || gib > (1ull << 24)) {
		fprintf(stderr, "usage: bench-dirty [GUEST_GIB 1..2^24] [ROUNDS > 0]\n");
		return EXIT_FAILURE;
	}
	length = gib << 30;
	ret = iommufd_dirty_bitmap_new(IOVA_BASE, length, PAGE, &a);
	if (!ret)
		ret = iommufd_dirty_bitmap_new(IOVA_BASE, length, PAGE, &b);
	/* One page off: every word of the merge is a shifted OR. */
	if (!ret)
		ret = iommufd_dirty_bitmap_new(IOVA_BASE + PAGE, length, PAGE,
					       &shifted);
	for (unsigned int d = 0; d < 3 && !ret; d++)
		ret = iommufd_dirty_bitmap_new(IOVA_BASE, length, PAGE, &dens[d]);
	if (ret)
		die("iommufd_dirty_bitmap_new", ret);
	iommufd_dirty_bitmap_words(a, &nw);
	bytes = nw * 8;
	src = malloc(bytes);
	dst = malloc(bytes);
	out = malloc(bytes);
	ranges = malloc(NR_RANGES * sizeof(*ranges));
	collapsed = malloc(IOMMUFD_DMA_LOGGING_MAX_RANGES * sizeof(*collapsed));
	sorted = malloc(NR_RANGES * sizeof(*sorted));
	if (!src || !dst || !out || !ranges || !collapsed || !sorted)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < NR_RANGES; i++) {
		uint64_t len = PAGE << (rng(&rseed) % 5);

		ranges[i].start = IOVA_BASE + rng(&rseed) % (length / PAGE) * PAGE;
		if (ranges[i].start + len > IOVA_BASE + length)
			len = IOVA_BASE + length - ranges[i].start;
		ranges[i].last = ranges[i].start + len - 1;
	}
	/* Touch everything before timing. */
	memset(dst, 0, bytes);
	memset(out, 0, bytes);
	fill(a, 100000, 1);
	/* memcpy copies what the passes read: a 10% bitmap. */
	memcpy(src, iommufd_dirty_bitmap_words(a, NULL), bytes);
	escape(src);
	fill(b, 100000, 2);
	fill(shifted, 100000, 3);
	for (unsigned int d = 0; d < 3; d++)
		fill(dens[d], density_ppm[d], 10 + d);

	for (unsigned int r = 0; r < rounds; r++) {
		double t0;

		escape(dst);
		t0 = now();
		memcpy(dst, src, bytes);
		escape(dst);
		keep(&t_memcpy, now() - t0);

		t0 = now();
		counted = iommufd_dirty_bitmap_count(a);
		keep(&t_count, now() - t0);

		t0 = now();
		ret = iommufd_dirty_bitmap_merge(b, a);
		keep(&t_merge, now() - t0);
		if (ret)
			die("iommufd_dirty_bitmap_merge", ret);

		t0 = now();
		ret = iommufd_dirty_bitmap_merge(b, shifted);
		keep(&t_shift, now() - t0);
		if (ret)
			die("iommufd_dirty_bitmap_merge (shifted)", ret);

		for (unsigned int d = 0; d < 3; d++) {
			memset(&walks[d], 0, sizeof(walks[d]));
			t0 = now();
			ret = iommufd_dirty_bitmap_for_each_run(dens[d], on_run,
								&walks[d]);
			keep(&t_iter[d], now() - t0);
			if (ret)
				die("iommufd_dirty_bitmap_for_each_run", ret);
		}

		t0 = now();
		ret = iommufd_dirty_bitmap_export(a, IOVA_BASE, length, out, bytes);
		keep(&t_export, now() - t0);
		if (ret)
			die("iommufd_dirty_bitmap_export", ret);

		t0 = now();
		ret = iommufd_dirty_bitmap_convert(dens[0], 2ull << 20, &conv);
		keep(&t_conv, now() - t0);
		if (ret)
			die("iommufd_dirty_bitmap_convert", ret);
		sink += iommufd_dirty_bitmap_count(conv);
		iommufd_dirty_bitmap_free(conv);

		t0 = now();
		ret = iommufd_collapse_ranges(ranges, NR_RANGES,
					      IOMMUFD_DMA_LOGGING_MAX_RANGES,
					      collapsed, &ncollapsed);
		keep(&t_collapse, now() - t0);
		if (ret)
			die("iommufd_collapse_ranges", ret);

		memcpy(sorted, ranges, NR_RANGES * sizeof(*sorted));
		t0 = now();
		qsort(sorted, NR_RANGES, sizeof(*sorted), cmp_start);
		keep(&t_qsort, now() - t0);
		sink += sorted[0].start;
	}

	double gb = bytes / 1e9;
	double memcpy_gbps = gb / t_memcpy, count_gbps = gb / t_count;
	double merge_gbps = gb / t_merge, shift_gbps = gb / t_shift;
	double export_gbps = gb / t_export, conv_gbps = gb / t_conv;
	double iter_gbps[3];

	printf("guest %" PRIu64 " GiB at 4 KiB pages: %zu bytes of bitmap, "
	       "best of %u rounds\n", gib, bytes, rounds);
	printf("%-24s %10s %10s\n", "pass", "GB/s", "x memcpy");
	printf("%-24s %10.2f %10.2f\n", "memcpy", memcpy_gbps, 1.0);
	printf("%-24s %10.2f %10.2f\n", "count", count_gbps,
	       count_gbps / memcpy_gbps);
	printf("%-24s %10.2f %10.2f\n", "merge (aligned)", merge_gbps,
	       merge_gbps / memcpy_gbps);
	printf("%-24s %10.2f %10.2f\n", "merge (shifted 1 page)", shift_gbps,
	       shift_gbps / memcpy_gbps);
	for (unsigned int d = 0; d < 3; d++) {
		char name[32];

		iter_gbps[d] = gb / t_iter[d];
		snprintf(name, sizeof(name), "iterate %s", density_name[d]);
		printf("%-24s %10.2f %10.2f   %" PRIu64 " runs, %.1f Mruns/s\n",
		       name, iter_gbps[d], iter_gbps[d] / memcpy_gbps,
		       walks[d].runs, walks[d].runs / t_iter[d] / 1e6);
	}
	printf("%-24s %10.2f %10.2f\n", "export", export_gbps,
	       export_gbps / memcpy_gbps);
	printf("%-24s %10.2f %10.2f\n", "convert 4K->2M (0.1%)", conv_gbps,
	       conv_gbps / memcpy_gbps);
	printf("collapse of %u ranges to %zu: %.1f ms (%.2f Mranges/s); "
	       "qsort of them: %.1f ms; collapse/qsort %.2f\n", NR_RANGES,
	       ncollapsed, t_collapse * 1e3, NR_RANGES / t_collapse / 1e6,
	       t_qsort * 1e3, t_collapse / t_qsort);
	printf("guest_gib=%" PRIu64 " bitmap_bytes=%zu rounds=%u dirty_pages=%" PRIu64
	       " memcpy_gbps=%.2f count_gbps=%.2f merge_gbps=%.2f "
	       "merge_shifted_gbps=%.2f", gib, bytes, rounds, counted,
	       memcpy_gbps, count_gbps, merge_gbps, shift_gbps);
	for (unsigned int d = 0; d < 3; d++)
		printf(" iterate_%s_gbps=%.2f iterate_%s_runs=%" PRIu64,
		       density_key[d], iter_gbps[d], density_key[d], walks[d].runs);
	printf(" export_gbps=%.2f convert_2m_gbps=%.2f count_over_memcpy=%.3f "
	       "merge_over_memcpy=%.3f merge_shifted_over_memcpy=%.3f",
	       export_gbps, conv_gbps, count_gbps / memcpy_gbps,
	       merge_gbps / memcpy_gbps, shift_gbps / memcpy_gbps);
	for (unsigned int d = 0; d < 3; d++)
		printf(" iterate_%s_over_memcpy=%.3f", density_key[d],
		       iter_gbps[d] / memcpy_gbps);
	printf(" export_over_memcpy=%.3f convert_2m_over_memcpy=%.3f"
	       " collapse_ranges=%u collapse_to=%zu collapse_ms=%.2f"
	       " collapse_mranges_per_s=%.2f qsort_ms=%.2f"
	       " collapse_over_qsort=%.3f\n",
	       export_gbps / memcpy_gbps, conv_gbps / memcpy_gbps, NR_RANGES,
	       ncollapsed, t_collapse * 1e3, NR_RANGES / t_collapse / 1e6,
	       t_qsort * 1e3, t_collapse / t_qsort);

	iommufd_dirty_bitmap_free(a);
	iommufd_dirty_bitmap_free(b);
	iommufd_dirty_bitmap_free(shifted);
	for (unsigned int d = 0; d < 3; d++)
		iommufd_dirty_bitmap_free(dens[d]);
	free(src);
	free(dst);
	free(out);
	free(ranges);
	free(collapsed);
	free(sorted);
	return sink == 0xdeadbeef ? EXIT_FAILURE : EXIT_SUCCESS;
}
