/* SPDX-License-Identifier: MIT */
/*
 * The mapping table alone at 1M mappings: insert, lookup and remove rates,
 * and the memory each mapping costs (node bytes, and what malloc really
 * handed out). Random-order figures sit beside ascending ones, the VMM's
 * common pattern, measured in the same run.
 *
 * Usage: bench-maptable [N]
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maptable.h"

#define PAGE 4096u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* xorshift64*: reproducible across runs and machines. */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void shuffle(uint64_t *v, size_t n, uint64_t seed)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng(&seed) % (i + 1);
		uint64_t t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

struct result {
	double insert, find, remove;	/* ops per second */
	double node_bytes, heap_bytes;	/* per mapping */
};

static int run(const uint64_t *order, size_t n, struct result *r)
{
	struct maptable t;
	struct mallinfo2 before, after;
	uint64_t hits = 0, seed = 7;
	double t0;

	maptable_init(&t);
	before = mallinfo2();
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct mt_entry e = {
			.iova = order[i] * PAGE,
			.length = PAGE,
			.backing = 0x7f0000000000ull + order[i] * PAGE,
			.fd = -1,
			.prot = 3,
		};
		if (maptable_insert(&t, &e, NULL, NULL))
			return -1;
	}
	r->insert = n / (now() - t0);
	after = mallinfo2();
	r->node_bytes = (double)maptable_mem_bytes(&t) / n;
	r->heap_bytes = (double)(after.uordblks + after.hblkhd -
				 before.uordblks - before.hblkhd) / n;

	t0 = now();
	for (size_t i = 0; i < n; i++) {
		uint64_t iova = (rng(&seed) % n) * PAGE + PAGE / 2;

		hits += maptable_find(&t, iova) != NULL;
	}
	r->find = n / (now() - t0);
	if (hits != n)
		return -1;

	t0 = now();
	for (size_t i = 0; i < n; i++)
		if (maptable_remove(&t, order[i] * PAGE))
			return -1;
	r->remove = n / (now() - t0);
	if (maptable_count(&t))
		return -1;
	maptable_clear(&t);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	struct result seq, rnd;
	uint64_t *order;

	if (!n) {
		fprintf(stderr, "usage: bench-maptable [N > 0]\n");
		return EXIT_FAILURE;
	}
	order = malloc(n * sizeof(*order));
	if (!order)
		return EXIT_FAILURE;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (run(order, n, &seq))
		goto broken;
	shuffle(order, n, 42);
	if (run(order, n, &rnd))
		goto broken;

	printf("%-10s %12s %12s %12s %10s %10s\n", "order", "insert/s",
	       "find/s", "remove/s", "node B/map", "heap B/map");
	printf("%-10s %12.0f %12.0f %12.0f %10.1f %10.1f\n", "ascending",
	       seq.insert, seq.find, seq.remove, seq.node_bytes, seq.heap_bytes);
	printf("%-10s %12.0f %12.0f %12.0f %10.1f %10.1f\n", "random",
	       rnd.insert, rnd.find, rnd.remove, rnd.node_bytes, rnd.heap_bytes);
	printf("mappings=%zu seq_insert_ops=%.0f seq_find_ops=%.0f "
	       "seq_remove_ops=%.0f seq_bytes_per_mapping=%.1f "
	       "rnd_insert_ops=%.0f rnd_find_ops=%.0f rnd_remove_ops=%.0f "
	       "rnd_bytes_per_mapping=%.1f rnd_over_seq_insert=%.3f\n",
	       n, seq.insert, seq.find, seq.remove, seq.heap_bytes, rnd.insert,
	       rnd.find, rnd.remove, rnd.heap_bytes, rnd.insert / seq.insert);
	free(order);
	return EXIT_SUCCESS;
broken:
	fprintf(stderr, "bench-maptable: the table lost or refused an entry\n");
	free(order);
	return EXIT_FAILURE;
}
