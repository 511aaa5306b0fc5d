/* SPDX-License-Identifier: MIT */
/*
 * iommufd_collapse_ranges(), as DMA logging start uses it: a guest's
 * mappings (default 1M ranges of 4 KiB with random gaps of 1 to 1000 pages)
 * collapsed to the 256 ranges VFIO takes. Beside it, in the same run: memcpy
 * of the input (the floor: reading it once), qsort of the input's gaps (the
 * "sort every gap" way), the collapse of the same ranges shuffled (sorted
 * first), and at 16K ranges the kernel's own way (vfio_combine_iova_ranges:
 * join the closest pair, again and again, O(n * (n - 256))) against the
 * library on those same 16K ranges. Each figure is the best of ROUNDS.
 *
 * Usage: bench-collapse [RANGES] [ROUNDS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iommufd/iommufd.h>

#define MAX_RANGES 256
#define SMALL 16384

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-collapse: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(EXIT_FAILURE);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void keep(double *best, double t)
{
	if (t < *best)
		*best = t;
}

/* Keeps the compiler from dropping work whose result is unused. */
static void escape(void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The kernel's vfio_combine_iova_ranges(), on an array. */
static size_t combine_naive(struct iommufd_iova_range *r, size_t n, size_t max)
{
	while (n > max) {
		uint64_t best = UINT64_MAX;
		size_t at = 1;

		for (size_t i = 1; i < n; i++) {
			uint64_t gap = r[i].start - r[i - 1].last - 1;

			if (gap < best) {
				best = gap;
				at = i;
			}
		}
		r[at - 1].last = r[at].last;
		memmove(&r[at], &r[at + 1], (n - at - 1) * sizeof(*r));
		n--;
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)1 << 20;
	unsigned int rounds = argc > 2 ? (unsigned int)atoi(argv[2]) : 5;
	double t_lib = 1e9, t_memcpy = 1e9, t_sort = 1e9, t_shuf = 1e9;
	double t_naive = 1e9, t_small = 1e9;
	struct iommufd_iova_range *in, *shuf, *out, *copy, small_out[MAX_RANGES];
	uint64_t *gaps, seed = 0x1234567, at = 0;
	size_t nout = 0, nsmall = 0;
	int ret;

	if (n < 2 * SMALL || !rounds) {
		fprintf(stderr, "usage: bench-collapse [RANGES >= %d] [ROUNDS > 0]\n",
			2 * SMALL);
		return 2;
	}
	in = malloc(n * sizeof(*in));
	shuf = malloc(n * sizeof(*shuf));
	out = malloc(n * sizeof(*out));
	copy = malloc(n * sizeof(*copy));
	gaps = malloc(n * sizeof(*gaps));
	if (!in || !shuf || !out || !copy || !gaps)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < n; i++) {
		in[i].start = at;
		in[i].last = at + 4095;
		at += 4096 * (2 + rng(&seed) % 1000);
	}
	memcpy(shuf, in, n * sizeof(*in));
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng(&seed) % (i + 1));
		struct iommufd_iova_range t = shuf[i];

		shuf[i] = shuf[j];
		shuf[j] = t;
	}

	for (unsigned int r = 0; r < rounds; r++) {
		double t0;

		t0 = now();
		memcpy(copy, in, n * sizeof(*in));
		escape(copy);
		keep(&t_memcpy, now() - t0);

		t0 = now();
		ret = iommufd_collapse_ranges(in, n, MAX_RANGES, out, &nout);
		escape(out);
		keep(&t_lib, now() - t0);
		if (ret || nout != MAX_RANGES)
			die("iommufd_collapse_ranges", ret ? ret : EPROTO);

		t0 = now();
		for (size_t i = 0; i + 1 < n; i++)
			gaps[i] = in[i + 1].start - in[i].last - 1;
		qsort(gaps, n - 1, sizeof(*gaps), cmp_u64);
		escape(gaps);
		keep(&t_sort, now() - t0);

		t0 = now();
		ret = iommufd_collapse_ranges(shuf, n, MAX_RANGES, out, &nout);
		escape(out);
		keep(&t_shuf, now() - t0);
		if (ret || nout != MAX_RANGES)
			die("iommufd_collapse_ranges (shuffled)", ret ? ret : EPROTO);

		t0 = now();
		ret = iommufd_collapse_ranges(in, SMALL, MAX_RANGES, small_out,
					      &nsmall);
		escape(small_out);
		keep(&t_small, now() - t0);
		if (ret)
			die("iommufd_collapse_ranges (small)", ret);
	}
	/* Once: it is slow. The same answer, or the bench is wrong. */
	{
		double t0;

		memcpy(copy, in, SMALL * sizeof(*in));
		t0 = now();
		if (combine_naive(copy, SMALL, MAX_RANGES) != nsmall)
			die("combine_naive", EPROTO);
		t_naive = now() - t0;
		if (memcmp(copy, small_out, nsmall * sizeof(*copy)))
			die("combine_naive and the library differ", EPROTO);
	}

	printf("collapse %zu ranges to %d: %.2f ms (%.1f ns/range), %.1fx a memcpy of the input (%.2f ms), %.2fx faster than qsort of its gaps (%.2f ms)\n",
	       n, MAX_RANGES, t_lib * 1e3, t_lib * 1e9 / (double)n,
	       t_lib / t_memcpy, t_memcpy * 1e3, t_sort / t_lib, t_sort * 1e3);
	printf("collapse %zu shuffled ranges to %d: %.2f ms (%.1fx the sorted input)\n",
	       n, MAX_RANGES, t_shuf * 1e3, t_shuf / t_lib);
	printf("collapse %d ranges to %d: library %.3f ms, the kernel's pairwise join %.1f ms: %.0fx\n",
	       SMALL, MAX_RANGES, t_small * 1e3, t_naive * 1e3,
	       t_naive / t_small);
	printf("ranges=%zu collapse_ms=%.3f ns_per_range=%.2f vs_memcpy=%.2f vs_qsort_gaps=%.2f shuffled_ms=%.3f small_vs_pairwise=%.0f\n",
	       n, t_lib * 1e3, t_lib * 1e9 / (double)n, t_lib / t_memcpy,
	       t_sort / t_lib, t_shuf * 1e3, t_naive / t_small);
	free(in);
	free(shuf);
	free(out);
	free(copy);
	free(gaps);
	return 0;
}
