/* SPDX-License-Identifier: MIT */
/*
 * The fault sweep (issue #7, item 2): every user-level flow the project
 * tests on the fake and on the real kernel (the lab's lib-* scenarios, the
 * examples' flows, dirty tracking, IOAS copy, a live update prepared and
 * called off), on the iommufd and the type1
 * backends, is run once clean to count its kernel calls, then once per call
 * with that call failing (fail_nth: opens, ioctls, mmaps, preads, pwrites).
 *
 * A scenario is a list of steps, one public call each. Around the step
 * whose kernel call fails the sweep observes what the library shows (the
 * mapping tables, a HWPT's dirty tracking) and what the kernel holds
 * (pinned bytes, open files, what the device reaches by DMA at probe
 * IOVAs), and requires:
 *  - the step returns a negative errno and both views are as before it,
 *    or, for a partial unmap, short of exactly the mappings it reports;
 *  - the same step, retried with nothing failing, does what it did in the
 *    clean run (so the rollback left nothing behind in the kernel that the
 *    library has forgotten, an IOVA still taken, say);
 *  - every other step returns what it returned in the clean run;
 *  - after every step the library's table and the device's view agree;
 *  - after teardown: no fd leaked, nothing pinned, no file open in the fake.
 * A step that succeeds although its kernel call failed has absorbed the
 * fault (an optional probe): counted, and its later steps may then differ.
 *
 * The allocation sweep does the same with the library's own allocations:
 * the clean run counts the malloc/calloc/realloc calls made from
 * libiommufd.so's code, and one run per allocation k fails the k-th with
 * ENOMEM (see "failing the library's allocations" below for what is and is
 * not counted). The failing step must return -ENOMEM; the rest is checked
 * as for a kernel call.
 *
 * Memory leaks on error paths are valgrind's and ASan's to find: the unit
 * suite runs under both (where the allocation sweep cannot run: both own
 * malloc).
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <link.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#include "fixture.h"

#define EDU "0000:00:04.0"
#define NPAGES 8u
#define IOVA_A 0x1000000ull
#define IOVA_F 0x40000000ull	/* the memfd, as examples/iommufd-ioas.c */
#define IOVA_M 0x2000000ull	/* page-sized mappings with holes */
#define MAX_STEPS 40
#define MAX_MAPS 16
#define MAX_PROBES 24

static uint64_t pg;

/* ---- failing the library's allocations ---- */

/*
 * malloc, calloc and realloc are defined here, in the executable, so that
 * they interpose on libc's for every object in the process; they forward
 * to glibc's __libc_* entry points. One is counted (and may be failed) only
 * while armed and only when its return address is in libiommufd.so's code:
 * libcheck's, glib's, the test's and the fake kernel's (a separate .so)
 * allocations are never touched. Not counted: what libc allocates on the
 * library's behalf (inside fopen, opendir, realpath, ...), and an
 * allocation the compiler turned into a tail call (its return address is
 * the caller's caller). The library calls strdup only in discovery.c,
 * which this test does not use, and no other allocating function directly.
 *
 * ASan (TSan, MSan) intercepts malloc itself and valgrind replaces it: there
 * the interposer is not built (sanitizers) or the sweep skips itself
 * (valgrind). In a static build the library's code is the executable's and
 * the sweep skips itself too.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOC_SWEEP 0
#elif defined(__has_feature)
/* TSan and MSan intercept malloc as well. */
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define ALLOC_SWEEP 0
#endif
#endif
#ifndef ALLOC_SWEEP
#define ALLOC_SWEEP 1
#endif

/* Where the failed allocation was called, as an offset into libiommufd.so
 * for addr2line; 0: none failed. */
static uintptr_t alloc_failed_pc;

/* The test is single-threaded and so is the library on these paths: no
 * atomics needed. */
static bool alloc_armed;
static unsigned long alloc_count, alloc_fail_at;

#if ALLOC_SWEEP
#define MAX_TEXT 8

static struct {
	uintptr_t lo, hi;
} lib_text[MAX_TEXT];
static size_t n_lib_text;
static uintptr_t lib_base;

/* The project builds with -fvisibility=hidden: a hidden definition would
 * interpose on nothing outside this file. */
#define INTERPOSE __attribute__((visibility("default")))

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static bool alloc_fails(const void *caller)
{
	uintptr_t pc = (uintptr_t)caller;

	if (!alloc_armed)
		return false;
	for (size_t i = 0; i < n_lib_text; i++) {
		if (pc >= lib_text[i].lo && pc < lib_text[i].hi) {
			if (++alloc_count != alloc_fail_at)
				return false;
			alloc_failed_pc = pc - lib_base;
			return true;
		}
	}
	return false;
}

INTERPOSE void *malloc(size_t n)
{
	if (alloc_fails(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

INTERPOSE void *calloc(size_t n, size_t size)
{
	if (alloc_fails(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

INTERPOSE void *realloc(void *p, size_t n)
{
	if (alloc_fails(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *name = info->dlpi_name;

	(void)size;
	(void)data;
	if (!name || !strstr(name, "libiommufd.so") ||
	    strstr(name, "libiommufd-fake"))
		return 0;
	lib_base = info->dlpi_addr;
	for (size_t i = 0; i < info->dlpi_phnum && n_lib_text < MAX_TEXT; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		lib_text[n_lib_text].lo = info->dlpi_addr + ph->p_vaddr;
		lib_text[n_lib_text].hi = lib_text[n_lib_text].lo + ph->p_memsz;
		n_lib_text++;
	}
	return 1;
}
#endif

/* Why the allocation sweep cannot run here, or NULL. */
static const char *alloc_sweep_unavailable(void)
{
#if ALLOC_SWEEP
	const char *p = getenv("LD_PRELOAD");

	if (p && strstr(p, "vgpreload"))
		return "valgrind replaces malloc";
	/* Not inside malloc: dl_iterate_phdr takes the loader's lock. */
	if (!n_lib_text)
		(void)dl_iterate_phdr(find_text, NULL);
	if (!n_lib_text)
		return "libiommufd.so's code not found among the loaded objects";
	return NULL;
#else
	return "a sanitizer intercepts malloc";
#endif
}

/* From here on count the library's allocations, failing the @fail_at-th
 * (0: none). */
static void alloc_start(unsigned long fail_at)
{
	alloc_count = 0;
	alloc_fail_at = fail_at;
	alloc_failed_pc = 0;
	alloc_armed = true;
}

static unsigned long alloc_stop(void)
{
	alloc_armed = false;
	alloc_fail_at = 0;
	return alloc_count;
}

/* The sweep's own look at the library (observe(), agree()) is not part of
 * any step: its allocations are neither counted nor failed. */
static bool alloc_pause(void)
{
	bool was = alloc_armed;

	alloc_armed = false;
	return was;
}

static void alloc_resume(bool was)
{
	alloc_armed = was;
}

/* ---- one run of a scenario ---- */

struct run {
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	enum iommufd_backend backend;
	struct iommufd_device *dev;
	struct iommufd_ioas *ioas[2];
	struct iommufd_hwpt *hwpt;
	struct iommufd_dirty_bitmap *bm;
	struct iommufd_dirty_tracker *tr;
	int attached;		/* the ioas[] the device is attached to, or -1 */
	bool master;		/* bus mastering is on: the device can DMA */
	uint64_t iova_b, iova_c;	/* chosen by the library; 0: not yet */
	uint64_t unmapped;	/* what the last unmap step reported */
	uint8_t *a, *b;		/* anonymous buffers of NPAGES pages */
	int memfd;
	uint8_t *fview;		/* the memfd's bytes, to check DMA against */
	struct iommufd_lu *lu;	/* a prepared live update */
};

struct step {
	const char *name;
	int (*fn)(struct run *r);
	/* May fail after part of its work: unmapping mappings separated by
	 * holes goes one adjacent group at a time (iommufd_ioas_unmap()),
	 * and r->unmapped says how much went. */
	bool partial;
};

struct scenario {
	const char *name;
	const struct step *steps;
	size_t n;
};

/* ---- what is observed around a step ---- */

struct obs {
	size_t n[2];
	struct iommufd_mapping m[2][MAX_MAPS];
	uint64_t pinned;
	unsigned int files;
	int dirty;		/* the HWPT's tracking; -1: no HWPT */
	size_t nprobes;
	uint64_t probe[MAX_PROBES];
	int kret[MAX_PROBES];	/* the device's DMA read there */
	uint8_t kbyte[MAX_PROBES];
};

struct collect {
	struct obs *o;
	int i;
};

static int collect_fn(const struct iommufd_mapping *m, void *data)
{
	struct collect *c = data;

	if (c->o->n[c->i] < MAX_MAPS)
		c->o->m[c->i][c->o->n[c->i]] = *m;
	c->o->n[c->i]++;
	return 0;
}

static size_t probes(const struct run *r, uint64_t *p)
{
	size_t n = 0;

	p[n++] = IOVA_A;
	p[n++] = IOVA_A + NPAGES * pg - 1;
	p[n++] = IOVA_A + NPAGES * pg;
	p[n++] = IOVA_F;
	p[n++] = IOVA_F + 3 * pg;
	for (unsigned int i = 0; i < 8; i++)
		p[n++] = IOVA_M + i * pg;
	if (r->iova_b)
		p[n++] = r->iova_b + pg;
	if (r->iova_c)
		p[n++] = r->iova_c + 2 * pg;
	return n;
}

static void observe(struct run *r, struct obs *o)
{
	bool armed = alloc_pause();

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < 2; i++) {
		struct collect c = { o, i };

		if (r->ioas[i])
			(void)iommufd_ioas_for_each_mapping(r->ioas[i], 0,
							    UINT64_MAX,
							    collect_fn, &c);
	}
	/* Buffers and the memfd are new in every run: name them by what
	 * they are, so that runs compare. */
	for (int i = 0; i < 2; i++) {
		for (size_t j = 0; j < o->n[i] && j < MAX_MAPS; j++) {
			struct iommufd_mapping *m = &o->m[i][j];
			uintptr_t va = (uintptr_t)m->vaddr;

			if (va >= (uintptr_t)r->a && va < (uintptr_t)r->a + NPAGES * pg)
				m->vaddr = (void *)(va - (uintptr_t)r->a + 1);
			else if (va >= (uintptr_t)r->b &&
				 va < (uintptr_t)r->b + NPAGES * pg)
				m->vaddr = (void *)(va - (uintptr_t)r->b + 0x100001);
			if (m->fd >= 0 && m->fd == r->memfd)
				m->fd = 1000;
		}
	}
	o->pinned = iommufd_fake_pinned_bytes(r->fake);
	o->files = iommufd_fake_open_files(r->fake);
	o->dirty = r->hwpt ? iommufd_hwpt_dirty_tracking_enabled(r->hwpt) : -1;
	o->nprobes = probes(r, o->probe);
	for (size_t i = 0; i < o->nprobes; i++) {
		o->kret[i] = iommufd_fake_device_dma(r->fake, EDU, o->probe[i],
						     &o->kbyte[i], 1, false);
	}
	alloc_resume(armed);
}

static bool same_mapping(const struct iommufd_mapping *x,
			 const struct iommufd_mapping *y)
{
	return x->iova == y->iova && x->length == y->length &&
	       x->flags == y->flags && x->fd == y->fd &&
	       x->offset == y->offset && x->vaddr == y->vaddr;
}

/* Is @m one of @o's mappings of ioas[@i]? */
static bool has_mapping(const struct obs *o, int i,
			const struct iommufd_mapping *m)
{
	for (size_t j = 0; j < o->n[i] && j < MAX_MAPS; j++)
		if (same_mapping(&o->m[i][j], m))
			return true;
	return false;
}

/*
 * @after against @before: equal, or with @partial, short of some mappings
 * (and their pages) whose bytes add up to @unmapped. Returns a reason or
 * NULL.
 */
static const char *compare(const struct obs *before, const struct obs *after,
			   bool partial, uint64_t unmapped)
{
	uint64_t gone = 0;

	for (int i = 0; i < 2; i++) {
		if (after->n[i] > before->n[i])
			return "the mapping table grew";
		for (size_t j = 0; j < after->n[i] && j < MAX_MAPS; j++)
			if (!has_mapping(before, i, &after->m[i][j]))
				return "a mapping changed";
		for (size_t j = 0; j < before->n[i] && j < MAX_MAPS; j++)
			if (!has_mapping(after, i, &before->m[i][j]))
				gone += before->m[i][j].length;
	}
	if (gone && !partial)
		return "mappings went missing";
	if (partial && gone != unmapped)
		return "the bytes reported unmapped are not the mappings gone";
	if (!partial && after->pinned != before->pinned)
		return "the kernel's pinned bytes changed";
	if (partial && after->pinned > before->pinned)
		return "the kernel pinned more";
	if (after->files != before->files)
		return "the fake's open files changed";
	if (after->dirty != before->dirty)
		return "the HWPT's dirty tracking changed";
	for (size_t i = 0; i < before->nprobes; i++) {
		if (after->kret[i] == before->kret[i] &&
		    (after->kret[i] || after->kbyte[i] == before->kbyte[i]))
			continue;
		/* Unmapped by a partial unmap: the device lost it, rightly. */
		if (partial && before->kret[i] == 0 && after->kret[i] == -EFAULT)
			continue;
		return "what the device reaches by DMA changed";
	}
	return NULL;
}

/*
 * The library's table of the IOAS the device is attached to and the
 * kernel's translation must agree at every probe: mapped there iff the
 * device's DMA gets through, and to the bytes the table says.
 */
static const char *agree_(struct run *r, const struct obs *o)
{
	if (!r->dev || !r->master || r->attached < 0)
		return NULL;
	for (size_t i = 0; i < o->nprobes; i++) {
		struct iommufd_mapping m;
		const uint8_t *want;
		int ret = iommufd_ioas_translate(r->ioas[r->attached],
						 o->probe[i], &m);

		if (ret) {
			if (o->kret[i] == 0)
				return "the device reaches an IOVA the library has not mapped";
			continue;
		}
		if (o->kret[i])
			return "the device cannot reach an IOVA the library mapped";
		want = m.vaddr ? (const uint8_t *)m.vaddr + (o->probe[i] - m.iova)
			       : r->fview + m.offset + (o->probe[i] - m.iova);
		if (o->kbyte[i] != *want)
			return "the device reads other bytes than the library mapped";
	}
	return NULL;
}

static const char *agree(struct run *r, const struct obs *o)
{
	bool armed = alloc_pause();
	const char *why = agree_(r, o);

	alloc_resume(armed);
	return why;
}

/* ---- steps: one public call each ---- */

static int st_ctx(struct run *r)
{
	IOMMUFD_OPTS(iommufd_ctx_opts, opts, .backend = r->backend);

	return iommufd_fake_ctx_new(r->fake, &opts, &r->ctx);
}

static int st_open(struct run *r)
{
	return iommufd_device_open(r->ctx, EDU, NULL, &r->dev);
}

static int ioas_new(struct run *r, int i)
{
	return iommufd_ioas_new(r->ctx, &r->ioas[i]);
}

static int st_ioas(struct run *r) { return ioas_new(r, 0); }
static int st_ioas2(struct run *r) { return ioas_new(r, 1); }

static int attach(struct run *r, int i, uint32_t flags)
{
	struct iommufd_hwpt *hwpt = NULL;
	int ret = iommufd_device_attach(r->dev, r->ioas[i], flags, &hwpt);

	if (!ret) {
		r->attached = i;
		r->hwpt = hwpt;
	}
	return ret;
}

static int st_attach(struct run *r) { return attach(r, 0, 0); }
static int st_attach2(struct run *r) { return attach(r, 1, 0); }

static int st_attach_dirty(struct run *r)
{
	return attach(r, 0, IOMMUFD_ATTACH_DIRTY_TRACKING);
}

static int st_ranges(struct run *r)
{
	struct iommufd_iova_ranges *rg = NULL;
	int ret = iommufd_ioas_get_iova_ranges(r->ioas[0], &rg);

	free(rg);
	return ret;
}

static int st_bus_master(struct run *r)
{
	uint16_t cmd = 0;
	ssize_t n;

	n = iommufd_device_region_read(r->dev, VFIO_PCI_CONFIG_REGION_INDEX, 4,
				       &cmd, 2);
	if (n != 2)
		return n < 0 ? (int)n : -EIO;
	cmd |= 0x4;
	n = iommufd_device_region_write(r->dev, VFIO_PCI_CONFIG_REGION_INDEX, 4,
					&cmd, 2);
	if (n != 2)
		return n < 0 ? (int)n : -EIO;
	r->master = true;
	return 0;
}

static int map_fixed(struct run *r, int i, void *va, uint64_t iova,
		     uint64_t len)
{
	return iommufd_ioas_map(r->ioas[i], va, len, &iova,
				IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
				IOMMUFD_MAP_FIXED_IOVA);
}

static int st_map_a(struct run *r)
{
	return map_fixed(r, 0, r->a, IOVA_A, NPAGES * pg);
}

/* The same IOVA again: -EEXIST in the clean run. */
static int st_map_a_again(struct run *r)
{
	return map_fixed(r, 0, r->b, IOVA_A, NPAGES * pg);
}

static int st_map_b(struct run *r)
{
	uint64_t iova = 0;
	int ret = iommufd_ioas_map(r->ioas[0], r->b, NPAGES * pg, &iova,
				   IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE);

	if (!ret)
		r->iova_b = iova;
	return ret;
}

static int st_map_file(struct run *r)
{
	uint64_t iova = IOVA_F;

	return iommufd_ioas_map_file(r->ioas[0], r->memfd, 0, NPAGES * pg,
				     &iova, IOMMUFD_MAP_READ |
				     IOMMUFD_MAP_WRITE |
				     IOMMUFD_MAP_FIXED_IOVA);
}

/* Pages 0-1, 3-4 and 6 of IOVA_M: three groups for one unmap. */
static int st_map_holes(struct run *r)
{
	static const unsigned int at[] = { 0, 1, 3, 4, 6 };

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int ret = map_fixed(r, 0, r->a + i * pg, IOVA_M + at[i] * pg,
				    pg);

		if (ret) {
			/* A step is one call: undo this one's earlier maps. */
			while (i--)
				(void)iommufd_ioas_unmap(r->ioas[0],
							 IOVA_M + at[i] * pg,
							 pg, 0, NULL);
			return ret;
		}
	}
	return 0;
}

static int st_translate(struct run *r)
{
	struct iommufd_mapping m;

	return iommufd_ioas_translate(r->ioas[0], IOVA_A + pg, &m);
}

static int unmap(struct run *r, uint64_t iova, uint64_t len, uint32_t flags)
{
	r->unmapped = 0;
	return iommufd_ioas_unmap(r->ioas[0], iova, len, flags, &r->unmapped);
}

/* Half of A: a split, -ENOENT in the clean run. */
static int st_unmap_half(struct run *r)
{
	return unmap(r, IOVA_A, NPAGES * pg / 2, 0);
}

static int st_unmap_a(struct run *r) { return unmap(r, IOVA_A, NPAGES * pg, 0); }

static int st_unmap_a_idem(struct run *r)
{
	return unmap(r, IOVA_A, NPAGES * pg, IOMMUFD_UNMAP_IDEMPOTENT);
}

static int st_unmap_holes(struct run *r)
{
	return unmap(r, IOVA_M, 8 * pg, 0);
}

static int st_unmap_all(struct run *r)
{
	r->unmapped = 0;
	return iommufd_ioas_unmap_all(r->ioas[0], &r->unmapped);
}

static int st_reset(struct run *r)
{
	int ret = iommufd_device_reset(r->dev);

	/* A reset clears PCI_COMMAND. */
	if (!ret)
		r->master = false;
	return ret;
}

static int st_detach(struct run *r)
{
	int ret = iommufd_device_detach(r->dev);

	if (!ret) {
		r->attached = -1;
		r->hwpt = NULL;
	}
	return ret;
}

static int st_ioas_destroy(struct run *r)
{
	int ret = iommufd_ioas_destroy(r->ioas[0]);

	if (!ret)
		r->ioas[0] = NULL;
	return ret;
}

static int st_copy(struct run *r)
{
	uint64_t iova = 0;
	int ret = iommufd_ioas_copy(r->ioas[1], &iova, r->ioas[0], IOVA_A,
				    NPAGES * pg,
				    IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE);

	if (!ret)
		r->iova_c = iova;
	return ret;
}

static int st_unmap_copy(struct run *r)
{
	r->unmapped = 0;
	return iommufd_ioas_unmap(r->ioas[1], r->iova_c, NPAGES * pg, 0,
				  &r->unmapped);
}

static int st_bitmap(struct run *r)
{
	return iommufd_dirty_bitmap_new(IOVA_A, NPAGES * pg, pg, &r->bm);
}

static int st_dirty_on(struct run *r)
{
	return iommufd_ioas_set_dirty_tracking(r->ioas[0], true);
}

static int st_dirty_off(struct run *r)
{
	return iommufd_ioas_set_dirty_tracking(r->ioas[0], false);
}

/* Live update, up to the handoff: the pre-flight, prepare (type1: every
 * vaddr invalidated) and abort (type1: the old vaddrs back). */
static int st_lu_check(struct run *r)
{
	return iommufd_lu_check(r->ctx, NULL, NULL);
}

static int st_lu_prepare(struct run *r)
{
	return iommufd_lu_prepare(r->ctx, NULL, &r->lu);
}

static int st_lu_abort(struct run *r)
{
	int rc = r->lu ? iommufd_lu_abort(r->lu) : -EINVAL;

	if (!rc)
		r->lu = NULL;
	return rc;
}

/* The device writes page 2 of A: no kernel call of the library's. */
static int st_dev_write(struct run *r)
{
	uint8_t v[16];

	memset(v, 0xd1, sizeof(v));
	return iommufd_fake_device_dma(r->fake, EDU, IOVA_A + 2 * pg, v,
				       sizeof(v), true);
}

static int st_read_dirty(struct run *r)
{
	return iommufd_ioas_read_dirty(r->ioas[0], r->bm, IOVA_A, NPAGES * pg,
				       NULL);
}

static int st_unmap_dirty(struct run *r)
{
	r->unmapped = 0;
	return iommufd_ioas_unmap_dirty(r->ioas[0], IOVA_A, NPAGES * pg, 0,
					r->bm, &r->unmapped);
}

static int st_tracker_new(struct run *r)
{
	return iommufd_dirty_tracker_new(r->ioas[0], NULL, &r->tr);
}

static int st_tracker_start(struct run *r)
{
	return iommufd_dirty_tracker_start(r->tr);
}

static int st_tracker_sync(struct run *r)
{
	return iommufd_dirty_tracker_sync(r->tr, r->bm, IOVA_A, NPAGES * pg,
					  NULL);
}

static int st_tracker_stop(struct run *r)
{
	return iommufd_dirty_tracker_stop(r->tr);
}

/* ---- the scenarios ---- */

#define STEP(f) { &#f[3], f, false }
#define PARTIAL(f) { &#f[3], f, true }
#define SCENARIO(n, s) { n, s, sizeof(s) / sizeof(s[0]) }

/* tests/vm/vm-scenarios.c: lib-ctx ... lib-unmap-all, in its order. */
static const struct step lab[] = {
	STEP(st_ctx), STEP(st_open), STEP(st_ioas), STEP(st_attach),
	STEP(st_attach), STEP(st_ranges), STEP(st_bus_master), STEP(st_map_a),
	STEP(st_map_a_again), STEP(st_map_b), STEP(st_translate),
	STEP(st_unmap_half), PARTIAL(st_unmap_a), STEP(st_unmap_a),
	STEP(st_unmap_a_idem), STEP(st_map_a), STEP(st_reset),
	STEP(st_bus_master), PARTIAL(st_unmap_all), STEP(st_unmap_all),
};

/* examples/iommufd-ioas.c: no device; memory and a memfd. */
static const struct step ioas_tour[] = {
	STEP(st_ctx), STEP(st_ioas), STEP(st_ranges), STEP(st_map_b),
	STEP(st_map_file), STEP(st_translate), PARTIAL(st_unmap_all),
	STEP(st_ioas_destroy),
};

/* examples/iommufd-dma.c, then the same memory through a memfd. */
static const struct step dma[] = {
	STEP(st_ctx), STEP(st_open), STEP(st_ioas), STEP(st_attach),
	STEP(st_bus_master), STEP(st_map_a), STEP(st_map_file),
	PARTIAL(st_unmap_a), STEP(st_detach), STEP(st_attach),
	PARTIAL(st_unmap_all),
};

/* Unmaps that go one adjacent group at a time. */
static const struct step holes[] = {
	STEP(st_ctx), STEP(st_open), STEP(st_ioas), STEP(st_attach),
	STEP(st_bus_master), STEP(st_map_holes), PARTIAL(st_unmap_holes),
	STEP(st_map_holes), STEP(st_map_a), PARTIAL(st_unmap_all),
};

/* IOAS copy, and moving the device to the copy. */
static const struct step copy[] = {
	STEP(st_ctx), STEP(st_open), STEP(st_ioas), STEP(st_ioas2),
	STEP(st_map_a), STEP(st_attach), STEP(st_bus_master), STEP(st_copy),
	STEP(st_attach2), PARTIAL(st_unmap_copy), STEP(st_copy),
	STEP(st_attach), STEP(st_detach),
};

/* lib-dirty and examples/iommufd-dirty.c: the IOAS's tracking, then the
 * tracker. iommufd: a dirty-tracking HWPT; type1: the container's. */
static const struct step dirty[] = {
	STEP(st_ctx), STEP(st_open), STEP(st_ioas), STEP(st_attach_dirty),
	STEP(st_bus_master), STEP(st_map_a), STEP(st_bitmap),
	STEP(st_dirty_on), STEP(st_dev_write), STEP(st_read_dirty),
	STEP(st_dirty_off), STEP(st_tracker_new), STEP(st_tracker_start),
	STEP(st_dev_write), STEP(st_tracker_sync), STEP(st_tracker_stop),
	STEP(st_tracker_start), PARTIAL(st_unmap_dirty), STEP(st_tracker_stop),
};

/* A live update started and called off, with what blocks one: calls while
 * prepared get EBUSY, a mapping of process memory blocks the next. */
static const struct step liveupdate[] = {
	STEP(st_ctx), STEP(st_open), STEP(st_ioas), STEP(st_attach),
	STEP(st_bus_master), STEP(st_map_file), STEP(st_lu_check),
	STEP(st_lu_prepare), STEP(st_map_a), STEP(st_lu_abort),
	STEP(st_lu_prepare), STEP(st_lu_abort), STEP(st_map_a),
	STEP(st_lu_prepare), PARTIAL(st_unmap_all),
};

static const struct scenario scenarios[] = {
	SCENARIO("lab", lab),
	SCENARIO("ioas-tour", ioas_tour),
	SCENARIO("dma", dma),
	SCENARIO("holes", holes),
	SCENARIO("copy", copy),
	SCENARIO("dirty", dirty),
	SCENARIO("liveupdate", liveupdate),
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const enum iommufd_backend backends[] = {
	IOMMUFD_BACKEND_IOMMUFD,
	IOMMUFD_BACKEND_TYPE1,
};

/* What a sweep fails in turn. */
enum kind {
	KERNEL_CALLS,
	ALLOCATIONS,
};

/*
 * Known failures: library bugs the sweep found that are not fixed yet,
 * named by the step whose kernel call or allocation fails (their numbers
 * move whenever the library's calls change). Listed, never skipped silently: a fault in
 * a listed step may fail, and a listed step where none fails any more
 * fails the test, so that the list only shrinks.
 */
struct known {
	enum kind kind;
	const char *scenario;
	enum iommufd_backend backend;
	const char *step;
};

static const struct known known_failures[] = {
	{ 0, NULL, 0, NULL },
};

static const struct known *known(enum kind kind, const char *sc,
				 enum iommufd_backend b, const char *step)
{
	for (size_t i = 0; known_failures[i].scenario; i++)
		if (known_failures[i].kind == kind &&
		    !strcmp(known_failures[i].scenario, sc) &&
		    known_failures[i].backend == b &&
		    !strcmp(known_failures[i].step, step))
			return &known_failures[i];
	return NULL;
}

/* ---- the runner ---- */

struct record {
	int ret[MAX_STEPS];
	struct obs after[MAX_STEPS];
	/* [KERNEL_CALLS]: kernel calls, [ALLOCATIONS]: the library's
	 * allocations, each before step i; [n]: after the last. */
	unsigned long calls[2][MAX_STEPS + 1];
	unsigned long total[2];			/* with the teardown */
};

struct tally {
	unsigned long swept, failed, absorbed, known;
};

static void run_begin(struct run *r, enum iommufd_backend b)
{
	memset(r, 0, sizeof(*r));
	r->backend = b;
	r->attached = -1;
	r->memfd = -1;
	r->a = buf_new(NPAGES * pg);
	r->b = buf_new(NPAGES * pg);
	for (size_t i = 0; i < NPAGES * pg; i++) {
		r->a[i] = (uint8_t)(1 + i / pg * 7 + i % 251);
		r->b[i] = (uint8_t)(0x80 + i / pg * 5 + i % 241);
	}
	r->memfd = memfd_create("fault-sweep", MFD_CLOEXEC);
	ck_assert_int_ge(r->memfd, 0);
	ck_assert_int_eq(ftruncate(r->memfd, (off_t)(NPAGES * pg)), 0);
	r->fview = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_SHARED,
			r->memfd, 0);
	ck_assert_ptr_ne(r->fview, MAP_FAILED);
	for (size_t i = 0; i < NPAGES * pg; i++)
		r->fview[i] = (uint8_t)(0x40 + i / pg * 3 + i % 239);
	fx_fake_new(&r->fake, 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(r->fake), 0);
}

/* Free what the run made (the frees may meet the injected fault too), and
 * check that the kernel was left nothing. Returns a reason or NULL. */
static const char *run_end(struct run *r, unsigned long *calls,
			   unsigned long *allocs)
{
	const char *why = NULL;
	unsigned long n;

	if (r->lu && iommufd_lu_abort(r->lu))
		iommufd_lu_free(r->lu);
	iommufd_dirty_tracker_free(r->tr);
	iommufd_dirty_bitmap_free(r->bm);
	iommufd_device_free(r->dev);
	iommufd_ctx_free(r->ctx);
	n = alloc_stop();
	if (allocs)
		*allocs = n;
	if (calls)
		*calls = iommufd_fake_call_count(r->fake);
	if (iommufd_fake_open_files(r->fake))
		why = "files left open in the fake kernel";
	else if (iommufd_fake_pinned_bytes(r->fake))
		why = "pages left pinned in the fake kernel";
	iommufd_fake_fail_clear(r->fake);
	iommufd_fake_free(r->fake);
	munmap(r->fview, NPAGES * pg);
	close(r->memfd);
	munmap(r->a, NPAGES * pg);
	munmap(r->b, NPAGES * pg);
	return why;
}

static void clean_run(const struct scenario *sc, enum iommufd_backend b,
		      struct record *rec)
{
	struct run r;
	struct obs o;
	const char *why;
	unsigned long c0;

	run_begin(&r, b);
	c0 = iommufd_fake_call_count(r.fake);
	alloc_start(0);
	for (size_t i = 0; i < sc->n; i++) {
		rec->calls[KERNEL_CALLS][i] = iommufd_fake_call_count(r.fake) - c0;
		rec->calls[ALLOCATIONS][i] = alloc_count;
		rec->ret[i] = sc->steps[i].fn(&r);
		observe(&r, &o);
		rec->after[i] = o;
		why = agree(&r, &o);
		ck_assert_msg(!why, "%s/%s clean, step %zu %s: %s", sc->name,
			      iommufd_backend_name(b), i, sc->steps[i].name, why);
	}
	rec->calls[KERNEL_CALLS][sc->n] = iommufd_fake_call_count(r.fake) - c0;
	rec->calls[ALLOCATIONS][sc->n] = alloc_count;
	why = run_end(&r, &rec->total[KERNEL_CALLS], &rec->total[ALLOCATIONS]);
	rec->total[KERNEL_CALLS] -= c0;
	ck_assert_msg(!why, "%s/%s clean: %s", sc->name,
		      iommufd_backend_name(b), why);
}

/* One run with the k-th kernel call (@kind) failing with @err, or the k-th
 * allocation. Returns false (and says why on stdout) when the library
 * misbehaved. */
static bool fault_run(const struct scenario *sc, enum iommufd_backend b,
		      enum kind kind, const struct record *rec,
		      unsigned long k, int err, bool *absorbed,
		      const char **step)
{
	const unsigned long *calls = rec->calls[kind];
	const char *bn = iommufd_backend_name(b), *why = NULL;
	struct fx_fds fds;
	struct run r;
	struct obs before, after;
	size_t at = sc->n, i;
	char leaked[512], diff[160], where[48] = "";

	for (i = 0; i < sc->n; i++)
		if (k > calls[i] && k <= calls[i + 1])
			at = i;
	*absorbed = false;
	*step = at < sc->n ? sc->steps[at].name : "teardown";
	fx_fds_snapshot(&fds);
	run_begin(&r, b);
	if (kind == KERNEL_CALLS) {
		iommufd_fake_fail_nth(r.fake, k, err);
		alloc_start(0);
	} else {
		alloc_start(k);
	}
	for (i = 0; i < sc->n && !why; i++) {
		const struct step *s = &sc->steps[i];
		int ret;

		if (i != at) {
			ret = s->fn(&r);
			if (ret != rec->ret[i])
				why = "a step the fault did not touch returned otherwise";
		} else {
			observe(&r, &before);
			ret = s->fn(&r);
			if (ret == rec->ret[i] && ret == 0) {
				*absorbed = true;
				observe(&r, &after);
				if (compare(&rec->after[i], &after, false, 0))
					why = "it absorbed the fault but left another state than the clean run's";
			} else if (ret >= 0) {
				why = "the failing step returned success";
			} else if (ret != rec->ret[i]) {
				observe(&r, &after);
				why = compare(&before, &after, s->partial,
					      r.unmapped);
				if (!why && kind == ALLOCATIONS && ret != -ENOMEM)
					why = "the failing step returned another errno than -ENOMEM";
				if (!why && s->fn(&r) != rec->ret[i])
					why = "retried with nothing failing, the step returned otherwise";
			}
		}
		if (!why) {
			observe(&r, &after);
			why = agree(&r, &after);
		}
		if (!why && (why = compare(&rec->after[i], &after, false, 0))) {
			snprintf(diff, sizeof(diff), "not the clean run's state: %s",
				 why);
			why = diff;
		}
		if (why)
			break;
	}
	if (!why)
		why = run_end(&r, NULL, NULL);
	else
		(void)run_end(&r, NULL, NULL);
	if (!why && fx_fds_leaked(&fds, leaked, sizeof(leaked)))
		why = "an fd leaked";
	if (alloc_failed_pc)
		snprintf(where, sizeof(where), " (libiommufd.so+%#lx)",
			 (unsigned long)alloc_failed_pc);
	if (why || getenv("FAULT_SWEEP_VERBOSE"))
		printf("fault-sweep: %s/%s %s k=%lu%s %s in step %zu %s, seen after step %zu %s: %s\n",
		       sc->name, bn, kind == KERNEL_CALLS ? "call" : "allocation",
		       k, where, strerror(err), at,
		       at < sc->n ? sc->steps[at].name : "teardown", i,
		       i < sc->n ? sc->steps[i].name : "teardown",
		       why ? why : *absorbed ? "absorbed" : "ok");
	return !why;
}

/* Under valgrind a run costs ~50 times more: sweep a spread of the calls
 * there (the normal runs, and ASan's, sweep them all). */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

/* Under either the allocation sweep runs at most this many faults per
 * scenario, evenly spread, to keep the test's time in bounds. */
#define MAX_ALLOC_FAULTS 150

static void sweep_one(int loop, enum kind kind)
{
	const struct scenario *sc = &scenarios[loop / 2];
	enum iommufd_backend b = backends[loop % 2];
	const char *bn = iommufd_backend_name(b);
	struct record rec;
	struct tally t = { 0 };
	unsigned long stride = 1, total;
	bool known_hit[sizeof(known_failures) / sizeof(known_failures[0])] = { 0 };
	const char *only = getenv("FAULT_SWEEP_ONLY");	/* "dirty/type1" */
	const char *only_kind = getenv("FAULT_SWEEP_KIND");	/* "alloc" */
	const char *kn_name = kind == KERNEL_CALLS ? "kernel" : "alloc";
	char name[64];

	snprintf(name, sizeof(name), "%s/%s", sc->name, bn);
	if ((only && strcmp(only, name)) || (only_kind && strcmp(only_kind, kn_name)))
		return;
	if (kind == ALLOCATIONS) {
		const char *why = alloc_sweep_unavailable();

		if (why) {
			/* Said once, not per scenario. */
			if (loop == 0)
				printf("fault-sweep: allocation sweep skipped: %s\n",
				       why);
			fflush(stdout);
			return;
		}
	}
	pg = (uint64_t)sysconf(_SC_PAGESIZE);
	memset(&rec, 0, sizeof(rec));
	ck_assert_uint_le(sc->n, MAX_STEPS);
	clean_run(sc, b, &rec);
	total = rec.total[kind];
	if (kind == KERNEL_CALLS && under_valgrind())
		stride = total / 12 + 1;
	if (kind == ALLOCATIONS && total > MAX_ALLOC_FAULTS)
		stride = (total + MAX_ALLOC_FAULTS - 1) / MAX_ALLOC_FAULTS;
	for (unsigned long k = 1; k <= total; k += stride) {
		int err = kind == ALLOCATIONS || k % 2 == 0 ? ENOMEM : EIO;
		const struct known *kn;
		const char *step;
		bool absorbed;
		bool ok = fault_run(sc, b, kind, &rec, k, err, &absorbed, &step);

		t.swept++;
		t.absorbed += absorbed;
		kn = known(kind, sc->name, b, step);
		if (!ok && kn) {
			known_hit[kn - known_failures] = true;
			t.known++;
		} else if (!ok) {
			t.failed++;
		}
	}
	/* Sampled, a listed step may be missed. */
	for (size_t i = 0; known_failures[i].scenario && stride == 1; i++)
		ck_assert_msg(known_hit[i] || known_failures[i].kind != kind ||
			      strcmp(known_failures[i].scenario, sc->name) ||
			      known_failures[i].backend != b,
			      "%s/%s: %s is listed as a known failure but no fault there fails now",
			      sc->name, bn, known_failures[i].step);
	if (kind == KERNEL_CALLS)
		printf("fault-sweep: %-9s %-7s steps %2zu calls %3lu swept %3lu absorbed %2lu known %lu failures %lu\n",
		       sc->name, bn, sc->n, total, t.swept, t.absorbed,
		       t.known, t.failed);
	else
		printf("fault-sweep: %-9s %-7s steps %2zu allocations %3lu swept %3lu absorbed %2lu known %lu failures %lu\n",
		       sc->name, bn, sc->n, total, t.swept, t.absorbed,
		       t.known, t.failed);
	fflush(stdout);
	ck_assert_msg(t.failed == 0, "%s/%s: %lu %s mishandled (see stdout)",
		      sc->name, bn, t.failed,
		      kind == KERNEL_CALLS ? "kernel call faults" :
		      "allocation failures");
}

START_TEST(sweep)
{
	sweep_one(_i, KERNEL_CALLS);
}
END_TEST

START_TEST(sweep_allocations)
{
	sweep_one(_i, ALLOCATIONS);
}
END_TEST

static Suite *fault_sweep_suite(void)
{
	Suite *s = suite_create("fault-sweep");
	TCase *tc = fx_tcase("sweep");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, sweep, 0, (int)(NSCENARIOS * 2));
	tcase_add_loop_test(tc, sweep_allocations, 0, (int)(NSCENARIOS * 2));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(fault_sweep_suite());
}

