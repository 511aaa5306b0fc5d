/* SPDX-License-Identifier: MIT */
/*
 * One IOAS hammered from many threads: fixed and kernel-chosen maps, exact and
 * range unmaps, copies, translations, walks and unmap_all, on private ranges
 * (where each thread keeps an exact model and checks every answer) and on
 * shared ranges (where threads collide on purpose). At the end the table must
 * hold exactly what the kernel holds, and every private model must match.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/iommufd.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#include "fixture.h"

/* The kernel seam, to wrap the fake kernel with a gate (below). */
#include "../src/kernel/kernel.h"

/* Private entries of libiommufd and libiommufd-fake (LIBIOMMUFD_PRIVATE). */
int iommufd__ctx_new_on_kernel(const struct iommufd_kernel *k,
			       const struct iommufd_ctx_opts *opts,
			       struct iommufd_ctx **out);
int iommufd__fake_default_kernel(struct iommufd_kernel *out);

#define PAGE 4096ull
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)

#define NTHREADS 8
#define SLOTS 64			/* private slots per thread */
#define SLOT_STRIDE 0x10000ull
#define PRIV_BASE(t) (0x10000000ull + (uint64_t)(t) * 0x1000000ull)
#define SHARED_BASE 0x80000000ull
#define SHARED_PAGES 1024ull
#define AUTO_FIRST 0x200000000ull
#define AUTO_LAST 0x2ffffffffull
#define DST_SHARED_BASE 0x90000000ull
#define MAX_AUTO 32
#define BUF_PAGES 256

/* ck_assert reports passing checks through a syscall and is not meant for
 * threads; this only acts on failure. */
#define CHECK(x)                                                         \
	do {                                                             \
		if (!(x))                                                \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x); \
	} while (0)

static unsigned int iterations(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload") ? 300 : 3000;
}

struct shared {
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas, *dst;
	char *buf;
	pthread_barrier_t barrier;
	pthread_mutex_t stop_lock;	/* a mutex, not an atomic: helgrind */
	bool phase2_stop;
};

struct worker {
	struct shared *sh;
	pthread_t thread;
	unsigned int id;
	uint64_t rng;
	/* the private model: length of the mapping at each slot (0 = none) */
	uint64_t slot_len[SLOTS];
	void *slot_va[SLOTS];
	uint64_t auto_iova[MAX_AUTO], auto_len[MAX_AUTO];
	size_t nauto;
	uint64_t copy_iova[MAX_AUTO], copy_len[MAX_AUTO];
	size_t ncopy;
	unsigned long ops, eexist, enoent;
};

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

static void *random_va(struct worker *w, uint64_t len)
{
	uint64_t pages = len / PAGE;

	return w->sh->buf + (rnd(w) % (BUF_PAGES - pages + 1)) * PAGE;
}

/* ---- walks ---- */

struct walk_state {
	struct worker *w;
	uint64_t prev_last;
	bool any;
	size_t seen_private;
	int bad;
};

static int walk_check(const struct iommufd_mapping *m, void *data)
{
	struct walk_state *s = data;
	struct worker *w = s->w;
	uint64_t base = PRIV_BASE(w->id);

	/* Ordered and disjoint. */
	if (s->any && m->iova <= s->prev_last)
		s->bad = 1;
	s->any = true;
	s->prev_last = m->iova + m->length - 1;
	/* Our own range is ours alone: it matches the model exactly. */
	if (m->iova >= base && m->iova < base + SLOTS * SLOT_STRIDE) {
		uint64_t slot = (m->iova - base) / SLOT_STRIDE;

		if (m->iova != base + slot * SLOT_STRIDE ||
		    m->length != w->slot_len[slot] ||
		    m->vaddr != w->slot_va[slot])
			s->bad = 2;
		s->seen_private++;
	}
	return 0;
}

static size_t model_count(const struct worker *w)
{
	size_t n = 0;

	for (int i = 0; i < SLOTS; i++)
		n += w->slot_len[i] != 0;
	return n;
}

/* ---- phase 1: private models plus shared collisions ---- */

static void op_private(struct worker *w)
{
	struct iommufd_ioas *ioas = w->sh->ioas;
	unsigned int slot = rnd(w) % SLOTS;
	uint64_t iova = PRIV_BASE(w->id) + slot * SLOT_STRIDE, bytes = 0, at;
	int rc;

	if (w->slot_len[slot]) {
		/* A split first (refused, nothing changes), then the real one. */
		if (w->slot_len[slot] > PAGE) {
			rc = iommufd_ioas_unmap(ioas, iova, PAGE, 0, &bytes);
			CHECK(rc == -ENOENT);
			at = iova + PAGE;
			rc = iommufd_ioas_map(ioas, w->sh->buf, PAGE, &at,
					      FIXED);
			CHECK(rc == -EEXIST);
		}
		rc = iommufd_ioas_unmap(ioas, iova, w->slot_len[slot], 0,
					&bytes);
		CHECK(rc == 0);
		CHECK(bytes == w->slot_len[slot]);
		w->slot_len[slot] = 0;
		w->slot_va[slot] = NULL;
	} else {
		uint64_t len = (1 + rnd(w) % 4) * PAGE;
		void *va = random_va(w, len);

		at = iova;
		rc = iommufd_ioas_map(ioas, va, len, &at, FIXED);
		CHECK(rc == 0);
		CHECK(at == iova);
		w->slot_len[slot] = len;
		w->slot_va[slot] = va;
	}
}

static void op_translate(struct worker *w)
{
	struct iommufd_mapping m;
	unsigned int slot = rnd(w) % SLOTS;
	uint64_t base = PRIV_BASE(w->id) + slot * SLOT_STRIDE;
	uint64_t off = rnd(w) % (4 * PAGE);
	int rc = iommufd_ioas_translate(w->sh->ioas, base + off, &m);

	if (off < w->slot_len[slot]) {
		CHECK(rc == 0);
		CHECK(m.iova == base && m.length == w->slot_len[slot]);
		CHECK(m.vaddr == w->slot_va[slot] && m.fd == -1);
	} else {
		CHECK(rc == -ENOENT);
	}
	if (w->nauto) {
		size_t i = rnd(w) % w->nauto;

		rc = iommufd_ioas_translate(w->sh->ioas,
					    w->auto_iova[i] + w->auto_len[i] - 1,
					    &m);
		CHECK(rc == 0 && m.iova == w->auto_iova[i]);
	}
}

static void op_walk(struct worker *w)
{
	struct walk_state s = { .w = w };
	int rc;

	rc = iommufd_ioas_for_each_mapping(w->sh->ioas, 0, UINT64_MAX,
					   walk_check, &s);
	CHECK(rc == 0);
	CHECK(s.bad == 0);
	CHECK(s.seen_private == model_count(w));
}

static void op_shared_map(struct worker *w)
{
	uint64_t len = (1 + rnd(w) % 8) * PAGE;
	uint64_t iova = SHARED_BASE + (rnd(w) % SHARED_PAGES) * PAGE;
	int rc = iommufd_ioas_map(w->sh->ioas, random_va(w, len), len, &iova,
				  FIXED);

	CHECK(rc == 0 || rc == -EEXIST);
	w->eexist += rc == -EEXIST;
}

static void op_shared_unmap(struct worker *w, struct iommufd_ioas *ioas,
			    uint64_t base)
{
	uint64_t len = (1 + rnd(w) % 32) * PAGE;
	uint64_t iova = base + (rnd(w) % SHARED_PAGES) * PAGE, bytes = 1;
	uint32_t flags = rnd(w) % 2 ? IOMMUFD_UNMAP_IDEMPOTENT : 0;
	int rc = iommufd_ioas_unmap(ioas, iova, len, flags, &bytes);

	CHECK(rc == 0 || rc == -ENOENT);
	if (rc == 0)
		CHECK(bytes <= len);
	w->enoent += rc == -ENOENT;
}

static void op_auto(struct worker *w)
{
	int rc;

	if (w->nauto == MAX_AUTO || (w->nauto && rnd(w) % 2)) {
		size_t i = rnd(w) % w->nauto;
		uint64_t bytes = 0;

		rc = iommufd_ioas_unmap(w->sh->ioas, w->auto_iova[i],
					w->auto_len[i], 0, &bytes);
		CHECK(rc == 0 && bytes == w->auto_len[i]);
		w->nauto--;
		w->auto_iova[i] = w->auto_iova[w->nauto];
		w->auto_len[i] = w->auto_len[w->nauto];
	} else {
		uint64_t len = (1 + rnd(w) % 4) * PAGE, iova = 0;

		rc = iommufd_ioas_map(w->sh->ioas, random_va(w, len), len,
				      &iova, MAP_RW);
		CHECK(rc == 0);
		CHECK(iova >= AUTO_FIRST && iova + len - 1 <= AUTO_LAST);
		w->auto_iova[w->nauto] = iova;
		w->auto_len[w->nauto] = len;
		w->nauto++;
	}
}

/* Copy one of our private mappings into dst (kernel-chosen), or drop one. */
static void op_copy_private(struct worker *w)
{
	unsigned int slot = rnd(w) % SLOTS;
	struct iommufd_mapping m;
	int rc;

	if (w->ncopy == MAX_AUTO || (w->ncopy && rnd(w) % 2)) {
		size_t i = rnd(w) % w->ncopy;
		uint64_t bytes = 0;

		rc = iommufd_ioas_unmap(w->sh->dst, w->copy_iova[i],
					w->copy_len[i], 0, &bytes);
		CHECK(rc == 0 && bytes == w->copy_len[i]);
		w->ncopy--;
		w->copy_iova[i] = w->copy_iova[w->ncopy];
		w->copy_len[i] = w->copy_len[w->ncopy];
		return;
	}
	if (!w->slot_len[slot])
		return;
	{
		uint64_t src = PRIV_BASE(w->id) + slot * SLOT_STRIDE, iova = 0;

		rc = iommufd_ioas_copy(w->sh->dst, &iova, w->sh->ioas, src,
				       w->slot_len[slot], MAP_RW);
		CHECK(rc == 0);
		rc = iommufd_ioas_translate(w->sh->dst, iova, &m);
		CHECK(rc == 0 && m.vaddr == w->slot_va[slot]);
		w->copy_iova[w->ncopy] = iova;
		w->copy_len[w->ncopy] = w->slot_len[slot];
		w->ncopy++;
	}
}

/* Copy whatever some shared IOVA maps into dst's shared window. */
static void op_copy_shared(struct worker *w)
{
	struct iommufd_mapping m;
	uint64_t at = SHARED_BASE + (rnd(w) % SHARED_PAGES) * PAGE, iova;
	int rc;

	if (iommufd_ioas_translate(w->sh->ioas, at, &m))
		return;
	iova = DST_SHARED_BASE + (rnd(w) % SHARED_PAGES) * PAGE;
	rc = iommufd_ioas_copy(w->sh->dst, &iova, w->sh->ioas, m.iova,
			       m.length, FIXED);
	/* The source may be gone by now; the target may be taken. */
	CHECK(rc == 0 || rc == -ENOENT || rc == -EEXIST);
}

static void *phase1(void *arg)
{
	struct worker *w = arg;
	unsigned int n = iterations();

	pthread_barrier_wait(&w->sh->barrier);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int r = rnd(w) % 100;

		if (r < 25)
			op_private(w);
		else if (r < 40)
			op_shared_map(w);
		else if (r < 50)
			op_shared_unmap(w, w->sh->ioas, SHARED_BASE);
		else if (r < 60)
			op_auto(w);
		else if (r < 75)
			op_translate(w);
		else if (r < 80)
			op_walk(w);
		else if (r < 87)
			op_copy_private(w);
		else if (r < 95)
			op_copy_shared(w);
		else
			op_shared_unmap(w, w->sh->dst, DST_SHARED_BASE);
		w->ops++;
	}
	return NULL;
}

/* ---- phase 2: unmap_all against everything else ---- */

static void *phase2(void *arg)
{
	struct worker *w = arg;
	unsigned int n = iterations() / 2;

	pthread_barrier_wait(&w->sh->barrier);
	if (w->id == 0) {
		for (unsigned int i = 0; i < n / 8; i++) {
			uint64_t bytes;

			CHECK(iommufd_ioas_unmap_all(w->sh->ioas, &bytes) == 0);
			if (i % 2)
				CHECK(iommufd_ioas_unmap_all(w->sh->dst,
							     &bytes) == 0);
		}
		pthread_mutex_lock(&w->sh->stop_lock);
		w->sh->phase2_stop = true;
		pthread_mutex_unlock(&w->sh->stop_lock);
		return NULL;
	}
	for (;;) {
		unsigned int r = rnd(w) % 100;
		struct iommufd_mapping m;
		uint64_t iova = 0, len = (1 + rnd(w) % 4) * PAGE;
		bool stop;
		int rc;

		pthread_mutex_lock(&w->sh->stop_lock);
		stop = w->sh->phase2_stop;
		pthread_mutex_unlock(&w->sh->stop_lock);
		if (stop)
			break;

		if (r < 30) {
			op_shared_map(w);
		} else if (r < 50) {
			op_shared_unmap(w, w->sh->ioas, SHARED_BASE);
		} else if (r < 70) {
			rc = iommufd_ioas_map(w->sh->ioas, random_va(w, len),
					      len, &iova, MAP_RW);
			CHECK(rc == 0);
			/* unmap_all may have taken it already */
			rc = iommufd_ioas_unmap(w->sh->ioas, iova, len, 0, NULL);
			CHECK(rc == 0 || rc == -ENOENT);
		} else if (r < 85) {
			op_copy_shared(w);
		} else {
			iova = SHARED_BASE + (rnd(w) % SHARED_PAGES) * PAGE;
			rc = iommufd_ioas_translate(w->sh->ioas, iova, &m);
			CHECK(rc == 0 || rc == -ENOENT);
			if (!rc)
				CHECK(iova - m.iova < m.length);
		}
		w->ops++;
	}
	return NULL;
}

/* Destructive: the kernel holds exactly the table's mappings. */
struct collect {
	struct iommufd_mapping *m;
	size_t n, cap;
};

static int collect_cb(const struct iommufd_mapping *m, void *data)
{
	struct collect *c = data;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->m = realloc(c->m, c->cap * sizeof(*c->m));
		ck_assert_ptr_nonnull(c->m);
	}
	c->m[c->n++] = *m;
	return 0;
}

static void check_kernel_matches(struct shared *sh, struct iommufd_ioas *ioas)
{
	int fd = iommufd_ctx_fd(sh->ctx);
	struct collect c = { 0 };
	struct iommu_ioas_unmap cmd;

	ck_assert_int_eq(iommufd_ioas_for_each_mapping(ioas, 0, UINT64_MAX,
						       collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, iommufd_ioas_mapping_count(ioas));
	for (size_t i = 0; i < c.n; i++) {
		cmd = (struct iommu_ioas_unmap){
			.size = sizeof(cmd),
			.ioas_id = iommufd_ioas_id(ioas),
			.iova = c.m[i].iova,
			.length = c.m[i].length,
		};
		ck_assert_msg(iommufd_fake_ioctl(sh->fake, fd, IOMMU_IOAS_UNMAP,
						 &cmd) == 0,
			      "table entry [0x%llx, +0x%llx) not in the kernel",
			      (unsigned long long)c.m[i].iova,
			      (unsigned long long)c.m[i].length);
		ck_assert_uint_eq(cmd.length, c.m[i].length);
	}
	cmd = (struct iommu_ioas_unmap){
		.size = sizeof(cmd),
		.ioas_id = iommufd_ioas_id(ioas),
		.iova = 0,
		.length = UINT64_MAX,
	};
	ck_assert_int_eq(iommufd_fake_ioctl(sh->fake, fd, IOMMU_IOAS_UNMAP,
					    &cmd), 0);
	ck_assert_msg(cmd.length == 0,
		      "the kernel held 0x%llx bytes the table did not know",
		      (unsigned long long)cmd.length);
	free(c.m);
}

START_TEST(hammer)
{
	struct iommufd_iova_range autow = { AUTO_FIRST, AUTO_LAST };
	struct worker *w = calloc(NTHREADS, sizeof(*w));
	struct shared sh = { 0 };
	unsigned long total = 0;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(iommufd_fake_new(&sh.fake), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(sh.fake, NULL, &sh.ctx), 0);
	ck_assert_int_eq(iommufd_ioas_new(sh.ctx, &sh.ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(sh.ctx, &sh.dst), 0);
	/* Kernel-chosen IOVAs stay out of the fixed ranges. */
	ck_assert_int_eq(iommufd_ioas_allow_iovas(sh.ioas, &autow, 1), 0);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(sh.dst, &autow, 1), 0);
	sh.buf = mmap(NULL, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh.buf, MAP_FAILED);
	memset(sh.buf, 1, BUF_PAGES * PAGE);

	/* Phase 1. */
	pthread_barrier_init(&sh.barrier, NULL, NTHREADS);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		w[i].sh = &sh;
		w[i].id = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, phase1,
						&w[i]), 0);
	}
	for (unsigned int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
	pthread_barrier_destroy(&sh.barrier);

	/* No lost mapping: every private model and auto list is in the table. */
	for (unsigned int i = 0; i < NTHREADS; i++) {
		struct walk_state s = { .w = &w[i] };
		struct iommufd_mapping m;

		ck_assert_int_eq(iommufd_ioas_for_each_mapping(
					 sh.ioas, PRIV_BASE(i),
					 PRIV_BASE(i) + SLOTS * SLOT_STRIDE - 1,
					 walk_check, &s), 0);
		ck_assert_int_eq(s.bad, 0);
		ck_assert_uint_eq(s.seen_private, model_count(&w[i]));
		for (size_t k = 0; k < w[i].nauto; k++) {
			ck_assert_int_eq(iommufd_ioas_translate(
						 sh.ioas, w[i].auto_iova[k], &m),
					 0);
			ck_assert_uint_eq(m.length, w[i].auto_len[k]);
		}
		for (size_t k = 0; k < w[i].ncopy; k++) {
			ck_assert_int_eq(iommufd_ioas_translate(
						 sh.dst, w[i].copy_iova[k], &m),
					 0);
			ck_assert_uint_eq(m.length, w[i].copy_len[k]);
		}
		total += w[i].ops;
	}
	ck_assert_uint_eq(total, (unsigned long)NTHREADS * iterations());

	/* Phase 2: unmap_all racing maps, unmaps, copies and readers. */
	pthread_mutex_init(&sh.stop_lock, NULL);
	pthread_barrier_init(&sh.barrier, NULL, NTHREADS);
	for (unsigned int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, phase2,
						&w[i]), 0);
	for (unsigned int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
	pthread_barrier_destroy(&sh.barrier);

	{
		unsigned long ops = 0, eexist = 0, enoent = 0;

		for (unsigned int i = 0; i < NTHREADS; i++) {
			ops += w[i].ops;
			eexist += w[i].eexist;
			enoent += w[i].enoent;
		}
		printf("threads: %u threads, %lu operations, %lu EEXIST and %lu ENOENT collisions, %zu + %zu mappings left\n",
		       NTHREADS, ops, eexist, enoent,
		       iommufd_ioas_mapping_count(sh.ioas),
		       iommufd_ioas_mapping_count(sh.dst));
		fflush(stdout);
	}
	pthread_mutex_destroy(&sh.stop_lock);
	check_kernel_matches(&sh, sh.ioas);
	check_kernel_matches(&sh, sh.dst);
	iommufd_ctx_free(sh.ctx);
	fx_fake_free(sh.fake);
	munmap(sh.buf, BUF_PAGES * PAGE);
	free(w);
}
END_TEST

/*
 * Dirty bits under DMA: the edu device writes while other threads map,
 * unmap, translate, walk and read its dirty bits on the same IOAS. Each
 * mapper owns a slice of IOVA and a buffer of its own (so that what it
 * reads back was written by the device, not by a neighbour), and drives
 * device DMA into its own slots: a mapped slot must take the write, an
 * unmapped one must fault. One writer DMAs into a window that stays mapped,
 * even pages only; one reader harvests the window's dirty bits while the
 * writer runs; one walker checks that no translation or walk ever shows a
 * torn entry (an IOVA, length and vaddr that do not belong together).
 *
 * With an IOMMU that tracks (iommufd, 6.7+) the harvest must be exactly the
 * pages written; with a VFIO type1 container (6.1) every page the container
 * pins reads dirty, so each read must be exactly the window.
 */
#define DT_MAPPERS 4
#define DT_THREADS (DT_MAPPERS + 3)	/* + writer, reader, walker */
#define DT_SLOTS 32
#define DT_SLOT_PAGES 4ull
#define DT_SLICE(t) (0x40000000ull + (uint64_t)(t) * 0x1000000ull)
#define DT_WIN 0x20000000ull
#define DT_WIN_PAGES 64ull
#define DT_EDU "0000:00:04.0"

struct dt_shared {
	struct iommufd_fake *fake;
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *hwpt;	/* NULL on type1 */
	bool type1;
	unsigned int iters;
	char *bufs[DT_MAPPERS];
	pthread_barrier_t barrier;
	pthread_mutex_t lock;		/* guards what follows */
	uint64_t written, seen;		/* window pages, bit n = page n */
	unsigned int writers_left;
	unsigned long reads, dmas, faults, translates, walks;
};

struct dt_mapper {
	struct dt_shared *sh;
	pthread_t thread;
	unsigned int id;
	uint64_t rng;
	uint64_t len[DT_SLOTS];		/* the model: 0 = not mapped */
};

static uint64_t dt_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* Whether @m is an entry some mapper could have made: one slot, the slot's
 * own memory, a whole number of pages it allows. */
static bool dt_entry_whole(const struct dt_shared *sh,
			   const struct iommufd_mapping *m)
{
	uint64_t t, slot, span = DT_SLOTS * DT_SLOT_PAGES * PAGE;

	if (m->iova == DT_WIN)
		return m->length == DT_WIN_PAGES * PAGE;
	if (m->iova < DT_SLICE(0))
		return false;
	t = (m->iova - DT_SLICE(0)) / 0x1000000ull;
	if (t >= DT_MAPPERS || m->iova - DT_SLICE(t) >= span)
		return false;
	slot = (m->iova - DT_SLICE(t)) / (DT_SLOT_PAGES * PAGE);
	return m->iova == DT_SLICE(t) + slot * DT_SLOT_PAGES * PAGE &&
	       m->length && m->length % PAGE == 0 &&
	       m->length <= DT_SLOT_PAGES * PAGE &&
	       m->vaddr == sh->bufs[t] + slot * DT_SLOT_PAGES * PAGE;
}

static void *dt_mapper_run(void *arg)
{
	struct dt_mapper *w = arg;
	struct dt_shared *sh = w->sh;
	char *mine = sh->bufs[w->id];
	unsigned long dmas = 0, faults = 0;

	pthread_barrier_wait(&sh->barrier);
	for (unsigned int i = 0; i < sh->iters; i++) {
		unsigned int slot = dt_rnd(&w->rng) % DT_SLOTS;
		uint64_t iova = DT_SLICE(w->id) + slot * DT_SLOT_PAGES * PAGE;
		char *va = mine + slot * DT_SLOT_PAGES * PAGE;
		unsigned int r = dt_rnd(&w->rng) % 4;
		struct iommufd_mapping m;
		uint64_t at = iova, bytes = 0, off;
		uint8_t pat[64], back[64];
		int rc;

		if (r == 0 && w->len[slot]) {
			rc = iommufd_ioas_unmap(sh->ioas, iova, w->len[slot], 0,
						&bytes);
			CHECK(rc == 0 && bytes == w->len[slot]);
			w->len[slot] = 0;
		} else if (r == 0) {
			uint64_t len = (1 + dt_rnd(&w->rng) % DT_SLOT_PAGES) *
				       PAGE;

			rc = iommufd_ioas_map(sh->ioas, va, len, &at, FIXED);
			CHECK(rc == 0 && at == iova);
			w->len[slot] = len;
		} else if (r == 1) {
			off = dt_rnd(&w->rng) % (DT_SLOT_PAGES * PAGE);
			rc = iommufd_ioas_translate(sh->ioas, iova + off, &m);
			if (off < w->len[slot])
				CHECK(rc == 0 && m.iova == iova &&
				      m.length == w->len[slot] &&
				      m.vaddr == va);
			else
				CHECK(rc == -ENOENT);
		} else {
			/* The device's view must be the model's. */
			off = dt_rnd(&w->rng) % (DT_SLOT_PAGES * PAGE -
						 sizeof(pat));
			memset(pat, (int)(i & 0xff) | 1, sizeof(pat));
			rc = iommufd_fake_device_dma(sh->fake, DT_EDU,
						     iova + off, pat,
						     sizeof(pat), true);
			if (off + sizeof(pat) <= w->len[slot]) {
				CHECK(rc == 0);
				CHECK(memcmp(va + off, pat, sizeof(pat)) == 0);
				rc = iommufd_fake_device_dma(sh->fake, DT_EDU,
							     iova + off, back,
							     sizeof(back),
							     false);
				CHECK(rc == 0);
				CHECK(memcmp(back, pat, sizeof(pat)) == 0);
				dmas++;
			} else {
				/* a DMA the mapping does not wholly cover
				 * transfers nothing */
				CHECK(rc == -EFAULT);
				faults++;
			}
		}
	}
	pthread_mutex_lock(&sh->lock);
	sh->dmas += dmas;
	sh->faults += faults;
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

static void *dt_writer_run(void *arg)
{
	struct dt_mapper *w = arg;
	struct dt_shared *sh = w->sh;
	uint8_t data[256];

	memset(data, 0xd1, sizeof(data));
	pthread_barrier_wait(&sh->barrier);
	for (unsigned int i = 0; i < sh->iters; i++) {
		/* Even pages only: an odd page that reads dirty was never
		 * written. Pages 0..31 only: 32..63 must stay clean. */
		uint64_t page = 2 * (dt_rnd(&w->rng) % (DT_WIN_PAGES / 4));
		uint64_t off = dt_rnd(&w->rng) % (PAGE - sizeof(data));

		CHECK(iommufd_fake_device_dma(sh->fake, DT_EDU,
					      DT_WIN + page * PAGE + off, data,
					      sizeof(data), true) == 0);
		pthread_mutex_lock(&sh->lock);
		sh->written |= 1ull << page;
		sh->dmas++;
		pthread_mutex_unlock(&sh->lock);
	}
	pthread_mutex_lock(&sh->lock);
	sh->writers_left--;
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

/* One harvest of the window, in one of three ways by @how (through the
 * HWPT, through the IOAS, through the IOAS without clearing: a container
 * always clears); returns its pages. */
static uint64_t dt_harvest(struct dt_shared *sh, struct iommufd_dirty_bitmap *bm,
			   unsigned int how)
{
	struct iommufd_dirty_read_opts nc = {
		.sz = sizeof(nc), .flags = IOMMUFD_DIRTY_NO_CLEAR,
	};
	uint64_t got = 0;
	int rc;

	iommufd_dirty_bitmap_clear_all(bm);
	if (sh->hwpt && how % 3 == 0)
		rc = iommufd_hwpt_read_dirty(sh->hwpt, bm, DT_WIN,
					     DT_WIN_PAGES * PAGE, NULL);
	else
		rc = iommufd_ioas_read_dirty(sh->ioas, bm, DT_WIN,
					     DT_WIN_PAGES * PAGE,
					     how % 3 == 1 && !sh->type1 ? &nc :
									 NULL);
	CHECK(rc == 0);
	for (uint64_t p = 0; p < DT_WIN_PAGES; p++)
		if (iommufd_dirty_bitmap_test(bm, DT_WIN + p * PAGE, PAGE) == 1)
			got |= 1ull << p;
	return got;
}

static void dt_check_harvest(struct dt_shared *sh, uint64_t got)
{
	if (sh->type1)
		CHECK(got == UINT64_MAX);	/* every pinned page */
	else
		CHECK((got & ~0x5555555555555555ull) == 0 &&
		      (got >> 32) == 0);
}

static void *dt_reader_run(void *arg)
{
	struct dt_mapper *w = arg;
	struct dt_shared *sh = w->sh;
	struct iommufd_dirty_bitmap *bm = NULL;
	unsigned long reads = 0;
	bool more = true;

	CHECK(iommufd_dirty_bitmap_new(DT_WIN, DT_WIN_PAGES * PAGE, PAGE,
				       &bm) == 0);
	pthread_barrier_wait(&sh->barrier);
	/* At least as long as the writer writes, so that reads race it. */
	for (unsigned int i = 0; more || i < sh->iters / 4; i++) {
		uint64_t got = dt_harvest(sh, bm, i);

		dt_check_harvest(sh, got);
		pthread_mutex_lock(&sh->lock);
		sh->seen |= got;
		more = sh->writers_left != 0;
		pthread_mutex_unlock(&sh->lock);
		reads++;
	}
	pthread_mutex_lock(&sh->lock);
	sh->reads += reads;
	pthread_mutex_unlock(&sh->lock);
	iommufd_dirty_bitmap_free(bm);
	return NULL;
}

struct dt_walk {
	const struct dt_shared *sh;
	uint64_t prev_last;
	bool any;
	size_t n;
	int bad;
};

static int dt_walk_cb(const struct iommufd_mapping *m, void *data)
{
	struct dt_walk *s = data;

	if ((s->any && m->iova <= s->prev_last) || !dt_entry_whole(s->sh, m))
		s->bad = 1;
	s->any = true;
	s->prev_last = m->iova + m->length - 1;
	s->n++;
	return 0;
}

static void *dt_walker_run(void *arg)
{
	struct dt_mapper *w = arg;
	struct dt_shared *sh = w->sh;
	unsigned long translates = 0, walks = 0;

	pthread_barrier_wait(&sh->barrier);
	for (unsigned int i = 0; i < sh->iters; i++) {
		if (i % 8 == 0) {
			struct dt_walk s = { .sh = sh };

			CHECK(iommufd_ioas_for_each_mapping(sh->ioas, 0,
							    UINT64_MAX,
							    dt_walk_cb,
							    &s) == 0);
			CHECK(s.bad == 0);
			walks++;
		} else {
			unsigned int t = dt_rnd(&w->rng) % DT_MAPPERS;
			uint64_t iova = DT_SLICE(t) +
					dt_rnd(&w->rng) %
						(DT_SLOTS * DT_SLOT_PAGES * PAGE);
			struct iommufd_mapping m;
			int rc = iommufd_ioas_translate(sh->ioas, iova, &m);

			CHECK(rc == 0 || rc == -ENOENT);
			if (rc == 0)
				CHECK(iova - m.iova < m.length &&
				      dt_entry_whole(sh, &m));
			translates++;
		}
	}
	pthread_mutex_lock(&sh->lock);
	sh->translates += translates;
	sh->walks += walks;
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

static void dirty_under_dma(unsigned int minor)
{
	IOMMUFD_OPTS(iommufd_ctx_opts, opts);
	struct dt_mapper w[DT_THREADS];
	struct dt_shared sh = { .iters = iterations() };
	struct iommufd_ctx *ctx;
	struct iommufd_device *edu;
	struct iommufd_dirty_bitmap *bm;
	char *win;
	uint64_t iova = DT_WIN, final;

	ck_assert_int_eq(iommufd_fake_new(&sh.fake), 0);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(sh.fake, 6, minor), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(sh.fake), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(sh.fake, &opts, &ctx), 0);
	sh.type1 = iommufd_ctx_backend(ctx) == IOMMUFD_BACKEND_TYPE1;
	ck_assert_int_eq(sh.type1, minor < 2);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &sh.ioas), 0);
	ck_assert_int_eq(iommufd_device_open(ctx, DT_EDU, NULL, &edu), 0);
	win = mmap(NULL, DT_WIN_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(win, MAP_FAILED);
	memset(win, 0, DT_WIN_PAGES * PAGE);
	for (unsigned int t = 0; t < DT_MAPPERS; t++) {
		sh.bufs[t] = mmap(NULL, DT_SLOTS * DT_SLOT_PAGES * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(sh.bufs[t], MAP_FAILED);
		memset(sh.bufs[t], 0, DT_SLOTS * DT_SLOT_PAGES * PAGE);
	}
	ck_assert_int_eq(iommufd_ioas_map(sh.ioas, win, DT_WIN_PAGES * PAGE,
					  &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_device_attach(edu, sh.ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &sh.hwpt), 0);
	ck_assert_int_eq(sh.hwpt == NULL, sh.type1);
	bus_master(edu);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(sh.ioas, true), 0);

	pthread_mutex_init(&sh.lock, NULL);
	sh.writers_left = 1;
	pthread_barrier_init(&sh.barrier, NULL, DT_THREADS);
	for (unsigned int t = 0; t < DT_THREADS; t++) {
		void *(*fn)(void *) = t < DT_MAPPERS	   ? dt_mapper_run :
				      t == DT_MAPPERS	   ? dt_writer_run :
				      t == DT_MAPPERS + 1 ? dt_reader_run :
							     dt_walker_run;

		memset(&w[t], 0, sizeof(w[t]));
		w[t].sh = &sh;
		w[t].id = t;
		w[t].rng = 0x9e3779b97f4a7c15ull * (t + 101);
		ck_assert_int_eq(pthread_create(&w[t].thread, NULL, fn, &w[t]),
				 0);
	}
	for (unsigned int t = 0; t < DT_THREADS; t++)
		ck_assert_int_eq(pthread_join(w[t].thread, NULL), 0);
	pthread_barrier_destroy(&sh.barrier);
	pthread_mutex_destroy(&sh.lock);

	/* Nothing written is lost, nothing unwritten is reported. */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(DT_WIN, DT_WIN_PAGES * PAGE,
						  PAGE, &bm), 0);
	final = dt_harvest(&sh, bm, 2);
	dt_check_harvest(&sh, final);
	if (!sh.type1) {
		ck_assert_uint_eq(sh.seen | final, sh.written);
		/* ... and the bits it reported were cleared */
		ck_assert_uint_eq(dt_harvest(&sh, bm, 2), 0);
	}
	iommufd_dirty_bitmap_free(bm);
	for (unsigned int t = 0; t < DT_MAPPERS; t++) {
		struct dt_walk s = { .sh = &sh };
		size_t n = 0;

		for (unsigned int k = 0; k < DT_SLOTS; k++)
			n += w[t].len[k] != 0;
		ck_assert_int_eq(iommufd_ioas_for_each_mapping(
					 sh.ioas, DT_SLICE(t),
					 DT_SLICE(t + 1) - 1, dt_walk_cb, &s),
				 0);
		ck_assert_int_eq(s.bad, 0);
		ck_assert_uint_eq(s.n, n);
	}
	printf("threads: dirty under DMA, %s, %u threads (%u mappers, 1 DMA writer, 1 dirty reader, 1 walker), %u iterations each; %lu DMAs, %lu faults as predicted, %lu dirty reads, %lu translations, %lu walks\n",
	       sh.type1 ? "type1 6.1" : "iommufd", DT_THREADS, DT_MAPPERS,
	       sh.iters, sh.dmas, sh.faults, sh.reads, sh.translates, sh.walks);
	fflush(stdout);

	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(sh.ioas, false), 0);
	iommufd_device_free(edu);
	iommufd_ctx_free(ctx);
	fx_fake_free(sh.fake);
	munmap(win, DT_WIN_PAGES * PAGE);
	for (unsigned int t = 0; t < DT_MAPPERS; t++)
		munmap(sh.bufs[t], DT_SLOTS * DT_SLOT_PAGES * PAGE);
}

START_TEST(dirty_under_dma_iommufd)
{
	dirty_under_dma(17);
}
END_TEST

START_TEST(dirty_under_dma_type1)
{
	dirty_under_dma(1);
}
END_TEST

/*
 * Nothing waits for the kernel: a kernel wrapped so that one chosen ioctl
 * blocks until the test opens a gate. While a map (or unmap) sits in the
 * kernel, readers, disjoint maps and unmaps must complete, and only
 * operations overlapping the mapping in flight may wait.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long request;		/* 0: nothing blocks */
	bool entered, open;
	struct iommufd_kernel inner;
};

static struct gate gate = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};
static struct iommufd_kernel_ops gated_ops;

static int gated_ioctl(void *priv, int fd, unsigned long request, void *arg)
{
	pthread_mutex_lock(&gate.lock);
	if (gate.request && request == gate.request) {
		gate.request = 0;	/* block this one call only */
		gate.entered = true;
		pthread_cond_broadcast(&gate.cond);
		while (!gate.open)
			pthread_cond_wait(&gate.cond, &gate.lock);
	}
	pthread_mutex_unlock(&gate.lock);
	return gate.inner.ops->ioctl(priv, fd, request, arg);
}

static void gate_arm(unsigned long request)
{
	pthread_mutex_lock(&gate.lock);
	gate.request = request;
	gate.entered = false;
	gate.open = false;
	pthread_mutex_unlock(&gate.lock);
}

static void gate_wait_entered(void)
{
	pthread_mutex_lock(&gate.lock);
	while (!gate.entered)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = true;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

struct bg_op {
	pthread_t thread;
	struct iommufd_ioas *ioas;
	void *va;
	uint64_t iova, length;
	bool unmap;
	int rc;
	pthread_mutex_t lock;
	bool done;
};

static void *bg_run(void *arg)
{
	struct bg_op *op = arg;
	uint64_t iova = op->iova;
	int rc;

	if (op->unmap)
		rc = iommufd_ioas_unmap(op->ioas, op->iova, op->length, 0, NULL);
	else
		rc = iommufd_ioas_map(op->ioas, op->va, op->length, &iova,
				      FIXED);
	pthread_mutex_lock(&op->lock);
	op->rc = rc;
	op->done = true;
	pthread_mutex_unlock(&op->lock);
	return NULL;
}

static void bg_start(struct bg_op *op, struct iommufd_ioas *ioas, void *va,
		     uint64_t iova, uint64_t length, bool unmap)
{
	memset(op, 0, sizeof(*op));
	pthread_mutex_init(&op->lock, NULL);
	op->ioas = ioas;
	op->va = va;
	op->iova = iova;
	op->length = length;
	op->unmap = unmap;
	ck_assert_int_eq(pthread_create(&op->thread, NULL, bg_run, op), 0);
}

static bool bg_done(struct bg_op *op)
{
	bool done;

	pthread_mutex_lock(&op->lock);
	done = op->done;
	pthread_mutex_unlock(&op->lock);
	return done;
}

static int bg_join(struct bg_op *op)
{
	ck_assert_int_eq(pthread_join(op->thread, NULL), 0);
	pthread_mutex_destroy(&op->lock);
	return op->rc;
}

START_TEST(nothing_waits_for_the_kernel)
{
	struct iommufd_kernel k;
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	struct iommufd_mapping m;
	struct bg_op slow, blocked;
	uint64_t iova;
	char *buf;

	ck_assert_int_eq(iommufd__fake_default_kernel(&gate.inner), 0);
	gated_ops = *gate.inner.ops;
	gated_ops.ioctl = gated_ioctl;
	k.ops = &gated_ops;
	k.priv = gate.inner.priv;
	ck_assert_int_eq(iommufd__ctx_new_on_kernel(&k, NULL, &ctx), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	buf = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(buf, MAP_FAILED);
	iova = 0x100000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, FIXED), 0);

	/* A map stuck in the kernel. */
	gate_arm(IOMMU_IOAS_MAP);
	bg_start(&slow, ioas, buf + PAGE, 0x200000, 2 * PAGE, false);
	gate_wait_entered();
	/* Readers go on; the pending mapping is invisible. */
	ck_assert_int_eq(iommufd_ioas_translate(ioas, 0x100000, &m), 0);
	ck_assert_int_eq(iommufd_ioas_translate(ioas, 0x200000, &m), -ENOENT);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 1);
	/* Disjoint maps and unmaps go on. */
	iova = 0x300000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, MAP_RW), 0);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, iova, PAGE, 0, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x300000, PAGE, 0, NULL), 0);
	/* An overlapping map waits for the outcome... */
	bg_start(&blocked, ioas, buf, 0x201000, PAGE, false);
	usleep(50 * 1000);
	ck_assert(!bg_done(&blocked));
	ck_assert(!bg_done(&slow));
	gate_open();
	ck_assert_int_eq(bg_join(&slow), 0);
	/* ...which is a mapping there. */
	ck_assert_int_eq(bg_join(&blocked), -EEXIST);
	ck_assert_int_eq(iommufd_ioas_translate(ioas, 0x201000, &m), 0);
	ck_assert_uint_eq(m.iova, 0x200000);

	/* An unmap stuck in the kernel: the mapping stays visible. */
	gate_arm(IOMMU_IOAS_UNMAP);
	bg_start(&slow, ioas, NULL, 0x200000, 2 * PAGE, true);
	gate_wait_entered();
	ck_assert_int_eq(iommufd_ioas_translate(ioas, 0x200000, &m), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 2);
	iova = 0x400000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, FIXED), 0);
	/* A map over the dying mapping waits, then succeeds. */
	bg_start(&blocked, ioas, buf, 0x200000, PAGE, false);
	usleep(50 * 1000);
	ck_assert(!bg_done(&blocked));
	gate_open();
	ck_assert_int_eq(bg_join(&slow), 0);
	ck_assert_int_eq(bg_join(&blocked), 0);
	ck_assert_int_eq(iommufd_ioas_translate(ioas, 0x200000, &m), 0);
	ck_assert_uint_eq(m.length, PAGE);

	iommufd_ctx_free(ctx);
	munmap(buf, 16 * PAGE);
}
END_TEST

/* The process-wide default fake kernel is made on first use and lives until
 * exit; made here, before the fd snapshot of fx_tcase(), its files are not
 * counted as the gate test's leak. */
static void default_fake_up(void)
{
	ck_assert_ptr_nonnull(iommufd_fake_default());
}

static Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = fx_tcase("threads");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, default_fake_up, NULL);
	tcase_add_test(tc, hammer);
	tcase_add_test(tc, nothing_waits_for_the_kernel);
	tcase_add_test(tc, dirty_under_dma_iommufd);
	tcase_add_test(tc, dirty_under_dma_type1);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(threads_suite());
}
