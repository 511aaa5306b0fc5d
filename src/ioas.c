/* SPDX-License-Identifier: MIT */
/*
 * IO address spaces and their mapping tables.
 *
 * Concurrency. A rwlock guards the table; no kernel call ever runs under it,
 * so readers (translate, for_each_mapping, mapping_count) never wait for the
 * kernel, and map/unmap calls on disjoint ranges issue their ioctls in
 * parallel. What an operation claims while the lock is dropped is recorded in
 * the table:
 *
 *  - PENDING entry: a fixed-IOVA map or copy in flight. Invisible to readers;
 *    overlapping maps and unmaps wait for it to become LIVE or go away.
 *  - DYING entry: an unmap in flight. Still visible to readers; overlapping
 *    maps and unmaps wait for it to go away or come back LIVE.
 *  - pins on a LIVE entry: copies in flight reading it as their source; an
 *    unmap of it waits, so the copy's backing cannot go stale.
 *  - inflight: every operation that holds one of the above, or a kernel-chosen
 *    map whose IOVA the table does not know yet.
 *  - exclusive: unmap_all owns the IOAS. It waits for inflight to drain, and
 *    new mutations wait for it; its single (0, U64_MAX) call then cannot take
 *    a mapping from under an operation in flight.
 *
 * Waits are on one condition variable per IOAS (wait_gen changes whenever a
 * claim is resolved). Nothing waits while holding a claim, except unmap_all
 * (exclusive, waiting for inflight) and a kernel-chosen map or copy waiting
 * for a PENDING/DYING entry its new IOVA collides with (inflight, waiting for
 * an owner that itself never waits): no cycle, no deadlock. A copy that must
 * wait at its destination drops its source pin first and starts over.
 *
 * Unmapping never hands the kernel a range with holes. The kernel removes the
 * areas of a range one by one and stops at the first one the range would
 * split (ENOENT, with the earlier ones gone and no byte count); a hole could
 * also hold a kernel-chosen mapping another thread just made and the table
 * does not know yet. So the library decides splits and "nothing there" from
 * the table, and unmaps each maximal run of adjacent mappings with one exact
 * call. A single run (the usual case) is all-or-nothing; if a later run
 * fails, the runs before it are gone in the kernel and in the table, the rest
 * stay, and the table still equals the kernel.
 *
 * for_each_mapping runs its callback under the read lock. The lock prefers
 * writers (so a stream of readers cannot starve map/unmap), which would make
 * a nested read lock deadlock; a thread-local list of the IOAS a thread is
 * walking lets nested reads skip the lock, and mutations from a callback
 * fail with -EDEADLK instead of hanging.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>

#include "internal.h"
#include "maptable.h"
#include "tracking.h"

#define MAP_FLAGS_ALL \
	(IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE | IOMMUFD_MAP_FIXED_IOVA)
#define MAP_PROT (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)

/* ---- read-side reentrancy ---- */

struct held {
	const struct iommufd_ioas *ioas;
	struct held *prev;
};

static __thread struct held *tls_held;

static bool held_by_me(const struct iommufd_ioas *ioas)
{
	for (const struct held *h = tls_held; h; h = h->prev)
		if (h->ioas == ioas)
			return true;
	return false;
}

/* Returns whether the lock was taken (false: this thread already holds it). */
static bool read_lock(struct iommufd_ioas *ioas)
{
	if (held_by_me(ioas))
		return false;
	pthread_rwlock_rdlock(&ioas->lock);
	return true;
}

static void write_lock(struct iommufd_ioas *ioas)
{
	pthread_rwlock_wrlock(&ioas->lock);
}

static void unlock(struct iommufd_ioas *ioas)
{
	pthread_rwlock_unlock(&ioas->lock);
}

/* ---- waiting ---- */

/* Under the write lock: note the current generation and count us in. */
static uint64_t wait_prepare(struct iommufd_ioas *ioas)
{
	uint64_t gen;

	pthread_mutex_lock(&ioas->wait_lock);
	gen = ioas->wait_gen;
	ioas->waiters++;
	pthread_mutex_unlock(&ioas->wait_lock);
	return gen;
}

/* Without the lock: sleep until a claim was resolved after wait_prepare(). */
static void wait_finish(struct iommufd_ioas *ioas, uint64_t gen)
{
	pthread_mutex_lock(&ioas->wait_lock);
	while (ioas->wait_gen == gen)
		pthread_cond_wait(&ioas->wait_cond, &ioas->wait_lock);
	ioas->waiters--;
	pthread_mutex_unlock(&ioas->wait_lock);
}

/* Called with the write lock held; returns with it held again. */
static void wait_change(struct iommufd_ioas *ioas)
{
	uint64_t gen = wait_prepare(ioas);

	unlock(ioas);
	wait_finish(ioas, gen);
	write_lock(ioas);
}

/* Under the write lock, after resolving a claim. */
static void wake(struct iommufd_ioas *ioas)
{
	pthread_mutex_lock(&ioas->wait_lock);
	ioas->wait_gen++;
	if (ioas->waiters)
		pthread_cond_broadcast(&ioas->wait_cond);
	pthread_mutex_unlock(&ioas->wait_lock);
}

static bool entry_busy(const struct mt_entry *e)
{
	return e->state != MT_LIVE || e->pins;
}

/*
 * What the table says about mapping [first, last], under the write lock:
 * 0 free, -EEXIST overlaps a LIVE entry (the kernel would refuse too),
 * -EAGAIN overlaps only entries whose fate is being decided.
 */
static int range_state(struct iommufd_ioas *ioas, uint64_t first,
		       uint64_t last)
{
	struct mt_iter it;
	struct mt_entry *e;
	int rc = 0;

	for (e = maptable_seek(&ioas->table, first, &it); e && e->iova <= last;
	     e = maptable_next(&it)) {
		if (e->state == MT_LIVE)
			return -EEXIST;
		rc = -EAGAIN;
	}
	return rc;
}

static void fill_mapping(const struct mt_entry *e, struct iommufd_mapping *m)
{
	m->iova = e->iova;
	m->length = e->length;
	m->flags = e->prot;
	m->fd = e->fd;
	if (e->fd >= 0) {
		m->offset = e->backing;
		m->vaddr = NULL;
	} else {
		m->offset = 0;
		m->vaddr = (void *)(uintptr_t)e->backing;
	}
}

/* ---- lifetime ---- */

static void ioas_release(struct iommufd_ioas *ioas)
{
	maptable_clear(&ioas->table);
	free(ioas->allowed);
	pthread_cond_destroy(&ioas->wait_cond);
	pthread_mutex_destroy(&ioas->wait_lock);
	pthread_rwlock_destroy(&ioas->lock);
	free(ioas);
}

/* The handle without its kernel object; freed with ioas_release(). */
static int ioas_create(struct iommufd_ctx *ctx, struct iommufd_ioas **out)
{
	struct iommufd_ioas *ioas;
	pthread_rwlockattr_t attr;
	int rc;

	ioas = calloc(1, sizeof(*ioas));
	if (!ioas)
		return -ENOMEM;
	ioas->ctx = ctx;
	list_init(&ioas->ctx_node);
	maptable_init(&ioas->table);

	rc = -pthread_rwlockattr_init(&attr);
	if (rc)
		goto err_free;
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = -pthread_rwlock_init(&ioas->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc)
		goto err_free;
	rc = -pthread_mutex_init(&ioas->wait_lock, NULL);
	if (rc)
		goto err_rwlock;
	rc = -pthread_cond_init(&ioas->wait_cond, NULL);
	if (rc)
		goto err_mutex;
	*out = ioas;
	return 0;

err_mutex:
	pthread_mutex_destroy(&ioas->wait_lock);
err_rwlock:
	pthread_rwlock_destroy(&ioas->lock);
err_free:
	free(ioas);
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_new(struct iommufd_ctx *ctx,
				    struct iommufd_ioas **out)
{
	struct iommufd_ioas *ioas;
	int rc;

	if (!ctx || !out)
		return -EINVAL;
	rc = ctx_lu_busy(ctx, "IOAS new");
	if (rc)
		return rc;
	rc = ioas_create(ctx, &ioas);
	if (rc)
		return rc;
	rc = ctx->backend->ioas_alloc(ioas);
	if (rc) {
		ioas_release(ioas);
		return rc;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	list_add_tail(&ctx->ioas_list, &ioas->ctx_node);
	pthread_mutex_unlock(&ctx->objects_lock);
	ctx_dbg(ctx, "IOAS %u created", ioas->id);
	*out = ioas;
	return 0;
}

int ioas_restore(struct iommufd_ctx *ctx, uint32_t id,
		 struct iommufd_ioas **out)
{
	struct iommufd_ioas *ioas;
	int rc;

	rc = ioas_create(ctx, &ioas);
	if (rc)
		return rc;
	ioas->id = id;
	pthread_mutex_lock(&ctx->objects_lock);
	list_add_tail(&ctx->ioas_list, &ioas->ctx_node);
	pthread_mutex_unlock(&ctx->objects_lock);
	ctx_dbg(ctx, "IOAS %u taken over", id);
	*out = ioas;
	return 0;
}

int ioas_restore_map(struct iommufd_ioas *ioas, uint64_t iova,
		     uint64_t length, int fd, uint64_t backing, uint32_t prot)
{
	struct mt_entry e = {
		.iova = iova,
		.length = length,
		.backing = backing,
		.fd = fd,
		.prot = (uint8_t)(prot & MAP_PROT),
		.state = MT_LIVE,
	};
	int rc;

	write_lock(ioas);
	rc = maptable_insert(&ioas->table, &e, NULL, NULL);
	unlock(ioas);
	return rc;
}

static int ranges_dup(const struct iommufd_iova_range *ranges, size_t nr,
		      struct iommufd_iova_range **out)
{
	*out = NULL;
	if (!nr)
		return 0;
	*out = malloc(nr * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, ranges, nr * sizeof(**out));
	return 0;
}

int ioas_restore_allowed(struct iommufd_ioas *ioas,
			 const struct iommufd_iova_range *ranges, size_t nr)
{
	struct iommufd_iova_range *v;
	int rc = ranges_dup(ranges, nr, &v);

	if (rc)
		return rc;
	pthread_mutex_lock(&ioas->ctx->objects_lock);
	free(ioas->allowed);
	ioas->allowed = v;
	ioas->nr_allowed = nr;
	pthread_mutex_unlock(&ioas->ctx->objects_lock);
	return 0;
}

int ioas_get_allowed(struct iommufd_ioas *ioas,
		     struct iommufd_iova_range **out, size_t *nr)
{
	int rc = ranges_dup(ioas->allowed, ioas->nr_allowed, out);

	*nr = rc ? 0 : ioas->nr_allowed;
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_destroy(struct iommufd_ioas *ioas)
{
	struct iommufd_ctx *ctx;
	int rc;

	if (!ioas)
		return -EINVAL;
	if (held_by_me(ioas))
		return -EDEADLK;
	ctx = ioas->ctx;
	/* Handed over: the IOAS is the new process's; forget ours. */
	if (!ctx_handed_over(ctx)) {
		rc = ctx_lu_busy(ctx, "IOAS destroy");
		if (!rc)
			rc = ctx->backend->ioas_destroy(ioas);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	list_del(&ioas->ctx_node);
	pthread_mutex_unlock(&ctx->objects_lock);
	ctx_dbg(ctx, "IOAS %u destroyed", ioas->id);
	ioas_release(ioas);
	return 0;
}

void ioas_free_all(struct iommufd_ctx *ctx)
{
	pthread_mutex_lock(&ctx->objects_lock);
	while (!list_empty(&ctx->ioas_list)) {
		struct iommufd_ioas *ioas = container_of(ctx->ioas_list.next,
							 struct iommufd_ioas,
							 ctx_node);
		int rc;

		list_del(&ioas->ctx_node);
		/* An adopted fd outlives us: leave nothing behind in it
		 * (unless another process owns it all now). */
		rc = ctx_handed_over(ctx) ? 0 :
					    ctx->backend->ioas_destroy(ioas);
		if (rc)
			ctx_warn(ctx, "IOAS %u left in the kernel at context free: %d",
				 ioas->id, rc);
		ioas_release(ioas);
	}
	pthread_mutex_unlock(&ctx->objects_lock);
}

IOMMUFD_EXPORT uint32_t iommufd_ioas_id(const struct iommufd_ioas *ioas)
{
	return ioas ? ioas->id : 0;
}

IOMMUFD_EXPORT struct iommufd_ctx *iommufd_ioas_ctx(const struct iommufd_ioas *ioas)
{
	return ioas ? ioas->ctx : NULL;
}

/* ---- mapping ---- */

static int check_map_flags(uint32_t flags)
{
	if (flags & ~MAP_FLAGS_ALL)
		return -EINVAL;
	if (!(flags & MAP_PROT))
		return -EINVAL;
	return 0;
}

static bool overflows(uint64_t start, uint64_t length)
{
	return length - 1 > UINT64_MAX - start;
}

/*
 * Claim what a map needs before its kernel call, under the write lock. A
 * fixed IOVA gets a PENDING entry (@e); a kernel-chosen one only counts as
 * inflight. Where the backend chooses IOVAs itself (type1), the choice is
 * made here and the map goes on as a fixed one (*fixed becomes true).
 * Returns with the lock held, 0 or an error (nothing claimed).
 */
static int map_claim(struct iommufd_ioas *ioas, struct mt_entry *e, bool *fixed)
{
	int rc;

	for (;;) {
		if (ioas->exclusive) {
			wait_change(ioas);
			continue;
		}
		/* Checked here, under the lock and after any exclusive owner
		 * (a live update's prepare drains the IOAS so): a map that
		 * passes is one the prepare waits for. */
		rc = ctx_lu_busy(ioas->ctx, "IOAS map");
		if (rc)
			return rc;
		if (!*fixed && ioas->ctx->backend->ioas_choose_iova) {
			rc = ioas->ctx->backend->ioas_choose_iova(ioas, e);
			if (rc)
				return rc;
			*fixed = true;
		}
		if (!*fixed)
			break;
		rc = range_state(ioas, e->iova, mt_last(e));
		if (rc == -EAGAIN) {
			wait_change(ioas);
			continue;
		}
		if (rc == -EEXIST) {
			ctx_dbg(ioas->ctx,
				"IOAS %u: [0x%llx, +0x%llx) overlaps a mapping",
				ioas->id, (unsigned long long)e->iova,
				(unsigned long long)e->length);
			return rc;
		}
		e->state = MT_PENDING;
		rc = maptable_insert(&ioas->table, e, NULL, NULL);
		if (rc)
			return rc;
		ioas->npending++;
		break;
	}
	ioas->inflight++;
	return 0;
}

/*
 * Record a kernel-chosen mapping the kernel has made, under the write lock.
 * The IOVA may collide with an entry whose removal (or failed map) is not
 * recorded yet: wait for it. A LIVE collision means the table missed an
 * unmap done behind the library's back; the kernel is right, the entry goes.
 */
static int record_new(struct iommufd_ioas *ioas, struct mt_entry *e)
{
	struct mt_entry *c;
	int rc;

	e->state = MT_LIVE;
	for (;;) {
		struct mt_iter it;
		bool busy = false;

		rc = maptable_insert(&ioas->table, e, NULL, &c);
		if (rc != -EEXIST)
			return rc;
		for (c = maptable_seek(&ioas->table, e->iova, &it);
		     c && c->iova <= mt_last(e); c = maptable_next(&it))
			if (c->state != MT_LIVE)
				busy = true;
		if (busy) {
			wait_change(ioas);
			continue;
		}
		ctx_err(ioas->ctx,
			"IOAS %u: the kernel mapped [0x%llx, +0x%llx) over mappings the table holds; dropping them",
			ioas->id, (unsigned long long)e->iova,
			(unsigned long long)e->length);
		while ((c = maptable_seek(&ioas->table, e->iova, &it)) &&
		       c->iova <= mt_last(e))
			maptable_remove(&ioas->table, c->iova);
	}
}

/* After the kernel call of a claimed map, under the write lock. */
static int map_commit(struct iommufd_ioas *ioas, struct mt_entry *e,
		      bool fixed, int rc)
{
	if (fixed) {
		struct mt_entry *p = maptable_find(&ioas->table, e->iova);

		/* Nobody else removes or changes a PENDING entry. */
		ioas->npending--;
		if (!p || p->iova != e->iova || p->state != MT_PENDING) {
			ctx_err(ioas->ctx, "IOAS %u: pending mapping at 0x%llx lost",
				ioas->id, (unsigned long long)e->iova);
		} else if (!rc) {
			p->state = MT_LIVE;
		} else {
			maptable_remove(&ioas->table, e->iova);
		}
	} else if (!rc) {
		rc = record_new(ioas, e);
		if (rc) {
			uint64_t bytes = 0;
			int rc2;

			/* The kernel has a mapping the table cannot hold:
			 * undo it. Nobody else knows its IOVA yet. */
			unlock(ioas);
			rc2 = ioas->ctx->backend->ioas_unmap(ioas, e->iova,
							     e->length, &bytes);
			write_lock(ioas);
			if (rc2)
				ctx_err(ioas->ctx,
					"IOAS %u: cannot undo the mapping at 0x%llx: %d",
					ioas->id, (unsigned long long)e->iova,
					rc2);
		}
	}
	ioas->inflight--;
	wake(ioas);
	return rc;
}

static int do_map(struct iommufd_ioas *ioas, void *vaddr, int fd,
		  uint64_t offset, uint64_t length, uint64_t *iova,
		  uint32_t flags)
{
	bool fixed = flags & IOMMUFD_MAP_FIXED_IOVA;
	struct mt_entry e = {
		.iova = fixed ? *iova : 0,
		.length = length,
		.backing = fd >= 0 ? offset : (uintptr_t)vaddr,
		.fd = fd,
		.prot = flags & MAP_PROT,
	};
	uint64_t got;
	int rc;

	if (held_by_me(ioas))
		return -EDEADLK;
	write_lock(ioas);
	rc = map_claim(ioas, &e, &fixed);
	unlock(ioas);
	if (rc)
		return rc;
	got = e.iova;
	if (fixed)
		flags |= IOMMUFD_MAP_FIXED_IOVA;

	if (fd >= 0)
		rc = ioas->ctx->backend->ioas_map_file(ioas, fd, offset, length,
						       &got, flags);
	else
		rc = ioas->ctx->backend->ioas_map(ioas, vaddr, length, &got,
						  flags);
	if (!rc && fixed && got != e.iova) {
		ctx_err(ioas->ctx, "IOAS %u: fixed map landed at 0x%llx",
			ioas->id, (unsigned long long)got);
	}
	e.iova = fixed ? e.iova : got;

	write_lock(ioas);
	rc = map_commit(ioas, &e, fixed, rc);
	unlock(ioas);
	if (!rc)
		*iova = e.iova;
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_map(struct iommufd_ioas *ioas, void *vaddr,
				    uint64_t length, uint64_t *iova,
				    uint32_t flags)
{
	int rc;

	if (!ioas || !vaddr || !iova || !length)
		return -EINVAL;
	rc = check_map_flags(flags);
	if (rc)
		return rc;
	if (overflows((uintptr_t)vaddr, length) ||
	    ((flags & IOMMUFD_MAP_FIXED_IOVA) && overflows(*iova, length)))
		return -EOVERFLOW;
	return do_map(ioas, vaddr, -1, 0, length, iova, flags);
}

IOMMUFD_EXPORT int iommufd_ioas_map_file(struct iommufd_ioas *ioas, int fd,
					 uint64_t offset, uint64_t length,
					 uint64_t *iova, uint32_t flags)
{
	int rc;

	if (!ioas || !iova || !length)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	rc = check_map_flags(flags);
	if (rc)
		return rc;
	if (overflows(offset, length) ||
	    ((flags & IOMMUFD_MAP_FIXED_IOVA) && overflows(*iova, length)))
		return -EOVERFLOW;
	/* type1 maps an mmap of the file (backend/type1.c). */
	if (ioas->ctx->backend == &iommufd_backend_iommufd &&
	    !iommufd_ctx_has_feature(ioas->ctx, IOMMUFD_FEATURE_IOAS_MAP_FILE)) {
		ctx_dbg(ioas->ctx, "IOAS map_file: the kernel has no IOMMU_IOAS_MAP_FILE (6.13)");
		return -EOPNOTSUPP;
	}
	return do_map(ioas, NULL, fd, offset, length, iova, flags);
}

/* ---- unmapping ---- */

struct run {
	uint64_t first, last;
	uint64_t bytes;
};

struct runs {
	struct run *v;
	size_t n, cap;
	struct run inline_v[4];
};

static int runs_add(struct runs *r, const struct mt_entry *e)
{
	struct run *cur = r->n ? &r->v[r->n - 1] : NULL;

	/* Extend the current run when adjacent, while its length stays below
	 * U64_MAX (the kernel refuses larger lengths, and reads 0 + U64_MAX as
	 * "everything"). */
	if (cur && cur->last != UINT64_MAX && cur->last + 1 == e->iova &&
	    mt_last(e) - cur->first < UINT64_MAX - 1) {
		cur->last = mt_last(e);
		cur->bytes += e->length;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap * 2;
		struct run *v;

		if (r->v == r->inline_v) {
			v = malloc(cap * sizeof(*v));
			if (v)
				memcpy(v, r->v, r->n * sizeof(*v));
		} else {
			v = realloc(r->v, cap * sizeof(*v));
		}
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct run){ e->iova, mt_last(e), e->length };
	return 0;
}

static void set_state(struct iommufd_ioas *ioas, uint64_t first,
		      uint64_t last, enum mt_state from, enum mt_state to)
{
	struct mt_iter it;
	struct mt_entry *e;

	for (e = maptable_seek(&ioas->table, first, &it); e && e->iova <= last;
	     e = maptable_next(&it))
		if (e->state == from && e->iova >= first && mt_last(e) <= last)
			e->state = to;
}

/*
 * Under the write lock: decide from the table, then mark the mappings of
 * [first, last] DYING and list them as runs. 1 = nothing to unmap.
 */
static int unmap_claim(struct iommufd_ioas *ioas, uint64_t first,
		       uint64_t last, struct runs *runs)
{
	for (;;) {
		struct mt_iter it;
		struct mt_entry *e;
		bool busy = false, split = false, any = false;
		int rc;

		if (ioas->exclusive) {
			wait_change(ioas);
			continue;
		}
		rc = ctx_lu_busy(ioas->ctx, "IOAS unmap");
		if (rc)
			return rc;
		for (e = maptable_seek(&ioas->table, first, &it);
		     e && e->iova <= last; e = maptable_next(&it)) {
			bool inside = e->iova >= first && mt_last(e) <= last;

			if (e->state == MT_LIVE && !inside)
				split = true;
			else if (entry_busy(e))
				busy = true;
			any = true;
		}
		if (split) {
			ctx_dbg(ioas->ctx,
				"IOAS %u: unmap [0x%llx, 0x%llx] would split a mapping",
				ioas->id, (unsigned long long)first,
				(unsigned long long)last);
			return -ENOENT;
		}
		if (busy) {
			wait_change(ioas);
			continue;
		}
		if (!any)
			return 1;
		break;
	}

	/* Every entry in the range is LIVE, idle and wholly inside. */
	{
		struct mt_iter it;
		struct mt_entry *e;

		for (e = maptable_seek(&ioas->table, first, &it);
		     e && e->iova <= last; e = maptable_next(&it)) {
			if (runs_add(runs, e)) {
				set_state(ioas, first, last, MT_DYING, MT_LIVE);
				return -ENOMEM;
			}
			e->state = MT_DYING;
		}
	}
	ioas->inflight++;
	return 0;
}

/* The backend's unmap of one run: the plain iommufd_ioas_unmap(). */
static int backend_unmap_run(struct iommufd_ioas *ioas, uint64_t first,
			     uint64_t last, uint64_t *bytes, void *arg)
{
	(void)arg;
	return ioas->ctx->backend->ioas_unmap(ioas, first, last - first + 1,
					      bytes);
}

int ioas_unmap_runs(struct iommufd_ioas *ioas, uint64_t iova, uint64_t length,
		    uint32_t flags, ioas_unmap_run_fn fn, void *arg,
		    uint64_t *unmapped)
{
	struct runs runs = { 0 };
	uint64_t first, last, done = 0;
	size_t i;
	int rc;

	if (held_by_me(ioas))
		return -EDEADLK;

	first = iova;
	last = iova + (length - 1);
	runs.v = runs.inline_v;
	runs.cap = ARRAY_SIZE(runs.inline_v);

	write_lock(ioas);
	rc = unmap_claim(ioas, first, last, &runs);
	unlock(ioas);
	if (rc) {
		if (rc == 1) {
			/* Nothing mapped in the range. */
			rc = flags & IOMMUFD_UNMAP_IDEMPOTENT ? 0 : -ENOENT;
			if (!rc && unmapped)
				*unmapped = 0;
		}
		goto out;
	}

	rc = 0;
	for (i = 0; i < runs.n && !rc; i++) {
		struct run *r = &runs.v[i];
		uint64_t bytes = 0;

		rc = fn(ioas, r->first, r->last, &bytes, arg);
		if (!rc && bytes != r->bytes)
			ctx_err(ioas->ctx,
				"IOAS %u: the kernel unmapped 0x%llx bytes at 0x%llx where the table had 0x%llx",
				ioas->id, (unsigned long long)bytes,
				(unsigned long long)r->first,
				(unsigned long long)r->bytes);
		if (!rc)
			done += bytes;
	}
	/* Runs [0, i - 1) (all of them on success) are gone. */
	write_lock(ioas);
	for (size_t k = 0; k < runs.n; k++) {
		struct run *r = &runs.v[k];

		if (!rc || k + 1 < i)
			maptable_remove_range(&ioas->table, r->first, r->last);
		else
			set_state(ioas, r->first, r->last, MT_DYING, MT_LIVE);
	}
	ioas->inflight--;
	wake(ioas);
	unlock(ioas);
	if (unmapped && (!rc || done))
		*unmapped = done;
out:
	if (runs.v != runs.inline_v)
		free(runs.v);
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_unmap(struct iommufd_ioas *ioas, uint64_t iova,
				      uint64_t length, uint32_t flags,
				      uint64_t *unmapped)
{
	if (!ioas || !length)
		return -EINVAL;
	if (flags & ~(uint32_t)IOMMUFD_UNMAP_IDEMPOTENT)
		return -EINVAL;
	if (overflows(iova, length))
		return -EOVERFLOW;
	/* The kernel's own spelling of "everything". */
	if (iova == 0 && length == UINT64_MAX)
		return iommufd_ioas_unmap_all(ioas, unmapped);
	return ioas_unmap_runs(ioas, iova, length, flags, backend_unmap_run,
			       NULL, unmapped);
}

IOMMUFD_EXPORT int iommufd_ioas_unmap_all(struct iommufd_ioas *ioas,
					  uint64_t *unmapped)
{
	struct mt_iter it;
	struct mt_entry *e;
	uint64_t table_bytes = 0, bytes = 0;
	int rc;

	if (!ioas)
		return -EINVAL;
	if (held_by_me(ioas))
		return -EDEADLK;

	write_lock(ioas);
	while (ioas->exclusive)
		wait_change(ioas);
	rc = ctx_lu_busy(ioas->ctx, "IOAS unmap all");
	if (rc) {
		unlock(ioas);
		return rc;
	}
	ioas->exclusive = true;
	while (ioas->inflight)
		wait_change(ioas);
	/* Everything is LIVE now, and stays so until we are done. */
	for (e = maptable_first(&ioas->table, &it); e; e = maptable_next(&it))
		table_bytes += e->length;
	unlock(ioas);

	rc = ioas->ctx->backend->ioas_unmap(ioas, 0, UINT64_MAX, &bytes);

	write_lock(ioas);
	if (!rc) {
		if (bytes != table_bytes)
			ctx_warn(ioas->ctx,
				 "IOAS %u: unmap all freed 0x%llx bytes; the table knew of 0x%llx",
				 ioas->id, (unsigned long long)bytes,
				 (unsigned long long)table_bytes);
		maptable_clear(&ioas->table);
	}
	ioas->exclusive = false;
	wake(ioas);
	unlock(ioas);
	if (!rc && unmapped)
		*unmapped = bytes;
	return rc;
}

int ioas_exclusive_begin(struct iommufd_ioas *ioas)
{
	if (held_by_me(ioas))
		return -EDEADLK;
	write_lock(ioas);
	while (ioas->exclusive)
		wait_change(ioas);
	ioas->exclusive = true;
	while (ioas->inflight)
		wait_change(ioas);
	unlock(ioas);
	return 0;
}

void ioas_exclusive_end(struct iommufd_ioas *ioas)
{
	write_lock(ioas);
	ioas->exclusive = false;
	wake(ioas);
	unlock(ioas);
}

/* ---- copy ---- */

/* Under src's write lock: drop a copy's pin. */
static void unpin_locked(struct iommufd_ioas *src, uint64_t src_iova)
{
	struct mt_entry *e = maptable_find(&src->table, src_iova);

	if (e && e->iova == src_iova && e->pins)
		e->pins--;
	src->inflight--;
	wake(src);
}

static void unpin(struct iommufd_ioas *src, uint64_t src_iova)
{
	write_lock(src);
	unpin_locked(src, src_iova);
	unlock(src);
}

IOMMUFD_EXPORT int iommufd_ioas_copy(struct iommufd_ioas *dst,
				     uint64_t *dst_iova,
				     struct iommufd_ioas *src, uint64_t src_iova,
				     uint64_t length, uint32_t flags)
{
	bool fixed = flags & IOMMUFD_MAP_FIXED_IOVA;
	struct mt_entry e;
	uint64_t got;
	int rc;

	if (!dst || !src || !dst_iova || !length)
		return -EINVAL;
	rc = check_map_flags(flags);
	if (rc)
		return rc;
	if (overflows(src_iova, length) || (fixed && overflows(*dst_iova, length)))
		return -EOVERFLOW;
	if (dst->ctx != src->ctx)
		return -EINVAL;
	if (held_by_me(src) || held_by_me(dst))
		return -EDEADLK;

again:
	/* Pin the source mapping: it must be exactly one LIVE entry. */
	write_lock(src);
	for (;;) {
		struct mt_entry *s;

		if (src->exclusive) {
			wait_change(src);
			continue;
		}
		s = maptable_find(&src->table, src_iova);
		if (s && s->state != MT_LIVE && s->iova == src_iova &&
		    s->length == length) {
			wait_change(src);
			continue;
		}
		if (!s || s->state == MT_PENDING || s->iova != src_iova ||
		    s->length != length) {
			unlock(src);
			ctx_dbg(src->ctx,
				"IOAS %u: copy source [0x%llx, +0x%llx) is not one mapping",
				src->id, (unsigned long long)src_iova,
				(unsigned long long)length);
			return -ENOENT;
		}
		if (s->pins == UINT16_MAX) {
			wait_change(src);
			continue;
		}
		s->pins++;
		src->inflight++;
		e = *s;
		break;
	}
	unlock(src);

	e.iova = fixed ? *dst_iova : 0;
	e.prot = flags & MAP_PROT;
	e.pins = 0;

	/* Claim the destination, or let go of everything and wait. */
	write_lock(dst);
	if (dst->exclusive ||
	    (fixed && range_state(dst, e.iova, mt_last(&e)) == -EAGAIN)) {
		uint64_t gen;

		if (src == dst) {
			unpin_locked(src, src_iova);
			gen = wait_prepare(dst);
			unlock(dst);
		} else {
			gen = wait_prepare(dst);
			unlock(dst);
			unpin(src, src_iova);
		}
		wait_finish(dst, gen);
		goto again;
	}
	rc = map_claim(dst, &e, &fixed);	/* cannot wait now */
	if (rc) {
		if (src == dst) {
			unpin_locked(src, src_iova);
			unlock(dst);
		} else {
			unlock(dst);
			unpin(src, src_iova);
		}
		return rc;
	}
	unlock(dst);
	if (fixed)
		flags |= IOMMUFD_MAP_FIXED_IOVA;

	got = e.iova;
	rc = dst->ctx->backend->ioas_copy(dst, &got, src, src_iova, length,
					  flags);
	unpin(src, src_iova);
	if (!fixed)
		e.iova = got;

	write_lock(dst);
	rc = map_commit(dst, &e, fixed, rc);
	unlock(dst);
	if (!rc)
		*dst_iova = e.iova;
	return rc;
}

/* ---- kernel-only queries and settings ---- */

IOMMUFD_EXPORT int iommufd_ioas_get_iova_ranges(struct iommufd_ioas *ioas,
						struct iommufd_iova_ranges **out)
{
	if (!ioas || !out)
		return -EINVAL;
	return ioas->ctx->backend->ioas_iova_ranges(ioas, out);
}

IOMMUFD_EXPORT int iommufd_ioas_allow_iovas(struct iommufd_ioas *ioas,
					    const struct iommufd_iova_range *ranges,
					    size_t nr)
{
	struct iommufd_ctx *ctx;
	struct iommufd_iova_range *v;
	int rc;

	if (!ioas || (nr && !ranges) || nr > UINT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nr; i++)
		if (ranges[i].start > ranges[i].last)
			return -EINVAL;
	ctx = ioas->ctx;
	/* Kept for a live update's description: the kernel cannot say. */
	rc = ranges_dup(ranges, nr, &v);
	if (rc)
		return rc;
	rc = ctx_lu_busy(ctx, "IOAS allow_iovas");
	if (!rc)
		rc = ctx->backend->ioas_allow_iovas(ioas, ranges, nr);
	if (rc) {
		free(v);
		return rc;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	free(ioas->allowed);
	ioas->allowed = v;
	ioas->nr_allowed = nr;
	pthread_mutex_unlock(&ctx->objects_lock);
	return 0;
}

IOMMUFD_EXPORT int iommufd_ioas_set_huge_pages(struct iommufd_ioas *ioas,
					       bool enable)
{
	uint64_t val = enable;
	int rc;

	if (!ioas)
		return -EINVAL;
	rc = ctx_lu_busy(ioas->ctx, "IOAS set_huge_pages");
	if (rc)
		return rc;
	return ioas->ctx->backend->option(ioas->ctx, IOMMU_OPTION_HUGE_PAGES,
					  IOMMU_OPTION_OP_SET, ioas->id, &val);
}

IOMMUFD_EXPORT int iommufd_ioas_get_huge_pages(struct iommufd_ioas *ioas,
					       bool *enabled)
{
	uint64_t val = 0;
	int rc;

	if (!ioas || !enabled)
		return -EINVAL;
	rc = ioas->ctx->backend->option(ioas->ctx, IOMMU_OPTION_HUGE_PAGES,
					IOMMU_OPTION_OP_GET, ioas->id, &val);
	if (!rc)
		*enabled = val != 0;
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_get_limits(struct iommufd_ioas *ioas,
					    struct iommufd_ioas_limits *out)
{
	struct iommufd_ioas_limits l;
	size_t n;
	int rc;

	if (!ioas || !out || out->sz < offsetof(struct iommufd_ioas_limits,
						flags) + sizeof(out->flags))
		return -EINVAL;
	if (!ioas->ctx->backend->ioas_limits) {
		ctx_dbg(ioas->ctx, "IOAS %u: the %s backend reports no limits",
			ioas->id, ioas->ctx->backend->name);
		return -EOPNOTSUPP;
	}
	memset(&l, 0, sizeof(l));
	rc = ioas->ctx->backend->ioas_limits(ioas, &l);
	if (rc)
		return rc;
	/* As much as the caller's struct holds; a newer one's tail zeroed. */
	n = out->sz < sizeof(l) ? out->sz : sizeof(l);
	l.sz = out->sz;
	if (out->sz > sizeof(l))
		memset((char *)out + sizeof(l), 0, out->sz - sizeof(l));
	memcpy(out, &l, n);
	return 0;
}

/* ---- readers ---- */

IOMMUFD_EXPORT int iommufd_ioas_translate(struct iommufd_ioas *ioas,
					  uint64_t iova,
					  struct iommufd_mapping *out)
{
	struct mt_entry *e;
	bool locked;
	int rc = -ENOENT;

	if (!ioas || !out)
		return -EINVAL;
	locked = read_lock(ioas);
	e = maptable_find(&ioas->table, iova);
	if (e && e->state != MT_PENDING) {
		fill_mapping(e, out);
		rc = 0;
	}
	if (locked)
		unlock(ioas);
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_for_each_mapping(struct iommufd_ioas *ioas,
						 uint64_t first, uint64_t last,
						 iommufd_mapping_fn fn,
						 void *data)
{
	struct held h;
	struct mt_iter it;
	struct mt_entry *e;
	bool locked;
	int rc = 0;

	if (!ioas || !fn || first > last)
		return -EINVAL;
	locked = read_lock(ioas);
	h.ioas = ioas;
	h.prev = tls_held;
	tls_held = &h;
	for (e = maptable_seek(&ioas->table, first, &it); e && e->iova <= last;
	     e = maptable_next(&it)) {
		struct iommufd_mapping m;

		if (e->state == MT_PENDING)
			continue;
		fill_mapping(e, &m);
		rc = fn(&m, data);
		if (rc)
			break;
	}
	tls_held = h.prev;
	if (locked)
		unlock(ioas);
	return rc;
}

IOMMUFD_EXPORT size_t iommufd_ioas_mapping_count(struct iommufd_ioas *ioas)
{
	size_t n;
	bool locked;

	if (!ioas)
		return 0;
	locked = read_lock(ioas);
	n = maptable_count(&ioas->table) - ioas->npending;
	if (locked)
		unlock(ioas);
	return n;
}
