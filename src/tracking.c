/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking by the IOMMU (a HWPT's dirty bits) and by the device (VFIO
 * DMA logging), the range collapse DMA logging needs, and the chunked reader
 * both report through. The kernel calls are the backends'
 * (hwpt_set_dirty_tracking and hwpt_get_dirty_bitmap in iommufd.c, the
 * DMA_LOGGING features in vfio.c); the tracker over both is tracker.c.
 *
 * Reading. The kernel reads a HWPT's dirty bits one IOPTE walk over mapped
 * areas that follow each other: an IOVA nothing maps ends the walk (an
 * error on a real kernel, bits silently missing on others). So a window is
 * read one maximal run of adjacent mappings at a time, the runs found in
 * the IOAS's table (iommufd_ioas_for_each_mapping(), never holding the
 * table lock across a kernel call); each run goes to the kernel in calls of
 * at most max_bitmap_bytes of bitmap. A call whose first page is the first
 * page of a word of the caller's bitmap, at the bitmap's page size, on a
 * little-endian host, has the kernel set the bits in place (it only ever
 * sets bits); any other call (the first of a run starting mid-word, a run
 * whose edges are finer than the bitmap's pages) goes through a zeroed
 * scratch buffer that is ORed in after. Either way a chunk edge changes
 * nothing in the result. A mapping unmapped between finding a run and
 * reading it makes the kernel stop early: its pages are gone from the IOAS,
 * and with them their dirty bits, as they would be had the unmap come first.
 *
 * The enabled state of each HWPT is kept here (hwpt->dirty_enabled): the
 * kernel clears every dirty bit when tracking is switched on, so switching
 * on a HWPT that is on already would lose pages. Lists, attachments and that
 * state are guarded by ctx->objects_lock, held across the kernel calls as
 * device.c and hwpt.c do.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "maptable.h"
#include "tracking.h"

/* The smallest page DMA_LOGGING_REPORT takes (SZ_4K in vfio_main.c). */
#define LOGGING_MIN_PAGE UINT64_C(4096)

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint64_t cpu_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}

/* ---- windows and options ---- */

int dirty_window(const struct iommufd_dirty_bitmap *bm, uint64_t iova,
		 uint64_t length, struct dirty_window *w)
{
	uint64_t ps, bfirst, blast, last;

	if (!bm || !length)
		return -EINVAL;
	if (__builtin_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	ps = iommufd_dirty_bitmap_page_size(bm);
	bfirst = iommufd_dirty_bitmap_iova(bm);
	blast = bfirst + (iommufd_dirty_bitmap_length(bm) - 1);
	if (iova < bfirst || last > blast)
		return -ERANGE;
	/* The bitmap's window is whole pages: rounding stays inside it. */
	w->first = iova & ~(ps - 1);
	w->last = last | (ps - 1);
	return 0;
}

int dirty_read_opts(const struct iommufd_dirty_read_opts *opts,
		    uint32_t *flags, uint64_t *max_bytes)
{
	uint64_t max;

	if (opts) {
		int rc = opts_check(opts, opts->sz, sizeof(*opts));

		if (rc)
			return rc;
	}
	*flags = OPTS_GET(opts, flags, 0);
	if (*flags & ~(uint32_t)IOMMUFD_DIRTY_NO_CLEAR)
		return -EINVAL;
	max = OPTS_GET(opts, max_bitmap_bytes, 0);
	if (!max)
		max = IOMMUFD_DIRTY_MAX_BITMAP_BYTES;
	if (max % 8)
		return -EINVAL;
	*max_bytes = max;
	return 0;
}

/* ---- the chunked reader ---- */

/* One kernel call: OR into @data the dirty pages of [iova, iova + length). */
typedef int (*kread_fn)(void *arg, uint64_t iova, uint64_t length,
			uint64_t page_size, uint64_t *data);

struct reader {
	struct iommufd_dirty_bitmap *bm;
	uint64_t bm_iova, bm_ps;
	unsigned int bm_shift;
	uint64_t max_pages;		/* per kernel call */
	uint64_t min_ps;		/* the smallest page the kernel takes */
	/* The kernel's page size, whatever the span (type1); 0: the
	 * largest the span allows, at most the bitmap's. */
	uint64_t fixed_ps;
	/* The kernel writes whole words rather than setting bits (type1):
	 * never into the bitmap in place. */
	bool no_direct;
	kread_fn fn;
	void *arg;
	uint64_t *scratch;
	size_t scratch_words;
};

static void reader_init(struct reader *r, struct iommufd_dirty_bitmap *bm,
			uint64_t max_bytes, uint64_t min_ps, kread_fn fn,
			void *arg)
{
	memset(r, 0, sizeof(*r));
	r->bm = bm;
	r->bm_iova = iommufd_dirty_bitmap_iova(bm);
	r->bm_ps = iommufd_dirty_bitmap_page_size(bm);
	r->bm_shift = (unsigned int)__builtin_ctzll(r->bm_ps);
	r->max_pages = max_bytes > UINT64_MAX / 8 ? UINT64_MAX : max_bytes * 8;
	r->min_ps = min_ps;
	r->fn = fn;
	r->arg = arg;
}

static void reader_release(struct reader *r)
{
	free(r->scratch);
	r->scratch = NULL;
}

/* The largest page size, at most the bitmap's, that [a, b] is made of. */
static uint64_t span_page_size(const struct reader *r, uint64_t a, uint64_t b)
{
	uint64_t ps = r->bm_ps, end = b + 1;	/* 0: the top of the space */

	while (ps > 1 && ((a & (ps - 1)) || (end & (ps - 1))))
		ps >>= 1;
	return ps;
}

static int scratch_get(struct reader *r, size_t words)
{
	if (words > r->scratch_words) {
		uint64_t *n = realloc(r->scratch, words * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->scratch = n;
		r->scratch_words = words;
	}
	memset(r->scratch, 0, words * sizeof(*r->scratch));
	return 0;
}

/* OR @n pages of @kps at @iova, reported in r->scratch, into the bitmap
 * (pages coarser than the bitmap's set every page of it they touch). */
static int scratch_merge(struct reader *r, uint64_t iova, uint64_t n,
			 uint64_t kps)
{
	unsigned int kshift = (unsigned int)__builtin_ctzll(kps);
	size_t words = (size_t)((n + 63) / 64);

	/* The kernel writes its own unsigned longs: 64-bit, native order. */
	for (size_t i = 0; i < words; i++)
		r->scratch[i] = htole64(r->scratch[i]);
	if (kps == r->bm_ps)
		return iommufd_dirty_bitmap_import(r->bm, iova, n << kshift,
						   r->scratch,
						   words * sizeof(uint64_t));
	/* Finer or coarser than the bitmap: each run of dirty pages sets the
	 * bitmap's pages it touches. */
	for (uint64_t p = 0; p < n;) {
		uint64_t w = le64toh(r->scratch[p / 64]) >> (p % 64), q;
		int rc;

		if (!w) {
			p = (p / 64 + 1) * 64;
			continue;
		}
		p += (uint64_t)__builtin_ctzll(w);
		if (p >= n)
			break;
		for (q = p + 1; q < n; q++)
			if (!(le64toh(r->scratch[q / 64]) >> (q % 64) & 1))
				break;
		rc = iommufd_dirty_bitmap_set(r->bm, iova + (p << kshift),
					      (q - p) << kshift);
		if (rc)
			return rc;
		p = q;
	}
	return 0;
}

/* Read [a, b] (whole pages of the bitmap or finer, all mapped/tracked). */
static int read_span(struct reader *r, uint64_t a, uint64_t b)
{
	const bool le = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&
			!r->no_direct;
	uint64_t kps = r->fixed_ps ? r->fixed_ps : span_page_size(r, a, b);
	uint64_t cur = a;
	unsigned int kshift = (unsigned int)__builtin_ctzll(kps);
	/* Keep every call's length below 2^64. */
	uint64_t cap = (UINT64_C(1) << 63) >> kshift;
	size_t nwords;
	uint64_t *words = iommufd_dirty_bitmap_words(r->bm, &nwords);

	if (kps < r->min_ps)
		return -EINVAL;
	for (;;) {
		uint64_t left = ((b - cur) >> kshift) + 1;
		uint64_t n = left, len;
		uint64_t idx = (cur - r->bm_iova) >> r->bm_shift;
		bool direct = le && kps == r->bm_ps && idx % 64 == 0;
		int rc;

		if (n > r->max_pages)
			n = r->max_pages;
		if (kps == r->bm_ps && idx % 64 && n > r->max_pages - idx % 64)
			n = r->max_pages - idx % 64;	/* then word-aligned */
		if (n > cap)
			n = cap;
		len = n << kshift;
		if (direct) {
			rc = r->fn(r->arg, cur, len, kps, words + idx / 64);
		} else {
			rc = scratch_get(r, (size_t)((n + 63) / 64));
			if (!rc)
				rc = r->fn(r->arg, cur, len, kps, r->scratch);
			if (!rc)
				rc = scratch_merge(r, cur, n, kps);
		}
		if (rc)
			return rc;
		if (b - cur <= len - 1)
			return 0;
		cur += len;
	}
}

/* ---- runs of adjacent mappings ---- */

struct run_walk {
	uint64_t cur, last;
	bool have;
	uint64_t a, b;
};

static int run_cb(const struct iommufd_mapping *m, void *data)
{
	struct run_walk *w = data;
	uint64_t mlast = m->iova + (m->length - 1);
	uint64_t a = m->iova > w->cur ? m->iova : w->cur;
	uint64_t b = mlast < w->last ? mlast : w->last;

	if (!w->have) {
		w->have = true;
		w->a = a;
		w->b = b;
		return b == w->last;
	}
	if (w->b == UINT64_MAX || a != w->b + 1)
		return 1;	/* a hole: the run ends */
	w->b = b;
	return b == w->last;
}

/* The first run of adjacent mappings in [cur, last]: 0 and [*a, *b], 1 when
 * nothing is mapped there. */
static int next_run(struct iommufd_ioas *ioas, uint64_t cur, uint64_t last,
		    uint64_t *a, uint64_t *b)
{
	struct run_walk w = { .cur = cur, .last = last };
	int rc = iommufd_ioas_for_each_mapping(ioas, cur, last, run_cb, &w);

	if (rc < 0)
		return rc;
	if (!w.have)
		return 1;
	*a = w.a;
	*b = w.b;
	return 0;
}

struct mark_walk {
	struct iommufd_dirty_bitmap *bm;
	const struct dirty_window *w;
};

static int mark_cb(const struct iommufd_mapping *m, void *data)
{
	struct mark_walk *mw = data;
	uint64_t mlast = m->iova + (m->length - 1);
	uint64_t a = m->iova > mw->w->first ? m->iova : mw->w->first;
	uint64_t b = mlast < mw->w->last ? mlast : mw->w->last;

	return iommufd_dirty_bitmap_set(mw->bm, a, b - a + 1);
}

int dirty_mark_mapped(struct iommufd_ioas *ioas,
		      struct iommufd_dirty_bitmap *bm,
		      const struct dirty_window *w)
{
	struct mark_walk mw = { .bm = bm, .w = w };

	return iommufd_ioas_for_each_mapping(ioas, w->first, w->last, mark_cb,
					     &mw);
}

/* ---- objects still there ---- */

bool hwpt_listed_locked(const struct iommufd_ioas *ioas,
			const struct iommufd_hwpt *hwpt)
{
	for (const struct iommufd_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
		if (h == hwpt)
			return true;
	return false;
}

bool device_listed_locked(struct iommufd_ctx *ctx,
			  const struct iommufd_device *dev)
{
	for (struct list_node *n = ctx->device_list.next;
	     n != &ctx->device_list; n = n->next)
		if (container_of(n, struct iommufd_device, ctx_node) == dev)
			return true;
	return false;
}

/* ---- IOMMU dirty tracking ---- */

static int backend_dirty_capable(struct iommufd_ctx *ctx)
{
	if (!ctx->backend->hwpt_set_dirty_tracking ||
	    !ctx->backend->hwpt_get_dirty_bitmap) {
		ctx_err(ctx, "the %s backend has no IOMMU dirty tracking",
			ctx->backend->name);
		return -EOPNOTSUPP;
	}
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_DIRTY_TRACKING)) {
		ctx_err(ctx, "this kernel has no IOMMU dirty tracking (IOMMU_HWPT_SET_DIRTY_TRACKING, Linux 6.7)");
		return -EOPNOTSUPP;
	}
	return 0;
}

int hwpt_dirty_capable_locked(struct iommufd_hwpt *hwpt)
{
	int rc = backend_dirty_capable(hwpt->ctx);

	if (rc)
		return rc;
	if (!(hwpt->flags & IOMMUFD_HWPT_DIRTY_TRACKING)) {
		ctx_err(hwpt->ctx,
			"HWPT %u was allocated without IOMMUFD_HWPT_DIRTY_TRACKING (or its IOMMU cannot track dirty pages): it cannot track",
			hwpt->id);
		return -EOPNOTSUPP;
	}
	return 0;
}

int hwpt_dirty_set_locked(struct iommufd_hwpt *hwpt, bool enable)
{
	int rc;

	if (hwpt->dirty_enabled == enable)
		return 0;
	rc = hwpt_dirty_capable_locked(hwpt);
	if (rc)
		return rc;
	rc = hwpt->ctx->backend->hwpt_set_dirty_tracking(hwpt, enable);
	if (rc)
		return rc;
	hwpt->dirty_enabled = enable;
	ctx_dbg(hwpt->ctx, "HWPT %u: dirty tracking %s", hwpt->id,
		enable ? "on" : "off");
	return 0;
}

struct hwpt_read {
	struct iommufd_hwpt *hwpt;
	bool no_clear;
};

static int hwpt_kread(void *arg, uint64_t iova, uint64_t length,
		      uint64_t page_size, uint64_t *data)
{
	struct hwpt_read *hr = arg;

	return hr->hwpt->ctx->backend->hwpt_get_dirty_bitmap(
		hr->hwpt, iova, length, page_size, data, hr->no_clear);
}

int hwpt_dirty_read_locked(struct iommufd_hwpt *hwpt,
			   struct iommufd_dirty_bitmap *bm,
			   const struct dirty_window *w, uint32_t flags,
			   uint64_t max_bytes)
{
	struct hwpt_read hr = {
		.hwpt = hwpt,
		.no_clear = flags & IOMMUFD_DIRTY_NO_CLEAR,
	};
	struct reader r;
	uint64_t cur = w->first;
	int rc;

	rc = hwpt_dirty_capable_locked(hwpt);
	if (rc)
		return rc;
	if (!hwpt->dirty_enabled) {
		ctx_err(hwpt->ctx, "HWPT %u: dirty tracking is off: nothing to read",
			hwpt->id);
		return -EINVAL;
	}
	reader_init(&r, bm, max_bytes, 1, hwpt_kread, &hr);
	for (;;) {
		uint64_t a, b;

		rc = next_run(hwpt->ioas, cur, w->last, &a, &b);
		if (rc)
			break;
		rc = read_span(&r, a, b);
		if (rc || b == w->last)
			break;
		cur = b + 1;
	}
	reader_release(&r);
	return rc < 0 ? rc : 0;
}

IOMMUFD_EXPORT int iommufd_hwpt_set_dirty_tracking(struct iommufd_hwpt *hwpt,
						   bool enable)
{
	int rc;

	if (!hwpt)
		return -EINVAL;
	pthread_mutex_lock(&hwpt->ctx->objects_lock);
	rc = ctx_lu_busy(hwpt->ctx, "HWPT dirty tracking");
	if (!rc)
		rc = hwpt_dirty_set_locked(hwpt, enable);
	pthread_mutex_unlock(&hwpt->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT bool
iommufd_hwpt_dirty_tracking_enabled(const struct iommufd_hwpt *hwpt)
{
	bool on;

	if (!hwpt)
		return false;
	pthread_mutex_lock(&hwpt->ctx->objects_lock);
	on = hwpt->dirty_enabled;
	pthread_mutex_unlock(&hwpt->ctx->objects_lock);
	return on;
}

IOMMUFD_EXPORT int iommufd_hwpt_read_dirty(struct iommufd_hwpt *hwpt,
					   struct iommufd_dirty_bitmap *bm,
					   uint64_t iova, uint64_t length,
					   const struct iommufd_dirty_read_opts *opts)
{
	struct dirty_window w;
	uint64_t max_bytes;
	uint32_t flags;
	int rc;

	if (!hwpt || !bm)
		return -EINVAL;
	rc = dirty_read_opts(opts, &flags, &max_bytes);
	if (!rc)
		rc = dirty_window(bm, iova, length, &w);
	if (rc)
		return rc;
	pthread_mutex_lock(&hwpt->ctx->objects_lock);
	rc = hwpt_dirty_read_locked(hwpt, bm, &w, flags, max_bytes);
	pthread_mutex_unlock(&hwpt->ctx->objects_lock);
	return rc;
}

/* Whether @dev's writes into @ioas through @h (NULL: the IOAS itself) are
 * seen by a HWPT that can track (@need_on: and is tracking). */
static int attachment_tracked_locked(struct iommufd_ioas *ioas,
				     struct iommufd_device *dev,
				     struct iommufd_hwpt *h, bool need_on)
{
	struct iommufd_ctx *ctx = ioas->ctx;

	if (!h) {
		/* Emulated devices never go through the IOMMU: not its
		 * business (the tracker counts them). */
		if (device_hw_info_locked(dev) == -ENODEV)
			return 0;
		ctx_err(ctx,
			"%s is attached to IOAS %u through the kernel's own domain, which cannot track dirty pages: attach it with iommufd_device_attach(IOMMUFD_ATTACH_DIRTY_TRACKING)",
			dev->name, ioas->id);
		return -EOPNOTSUPP;
	}
	if (!(h->flags & IOMMUFD_HWPT_DIRTY_TRACKING)) {
		ctx_err(ctx,
			"%s writes into IOAS %u through HWPT %u, which was allocated without dirty tracking (or its IOMMU cannot track)",
			dev->name, ioas->id, h->id);
		return -EOPNOTSUPP;
	}
	if (need_on && !h->dirty_enabled) {
		ctx_err(ctx,
			"%s writes into IOAS %u through HWPT %u, whose dirty tracking is off",
			dev->name, ioas->id, h->id);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Every device writing into @ioas (by its RID or a PASID) is tracked: 0, or
 * -EOPNOTSUPP naming the first that is not. */
static int ioas_devices_tracked_locked(struct iommufd_ioas *ioas,
				       bool need_on)
{
	struct iommufd_ctx *ctx = ioas->ctx;

	for (struct list_node *n = ctx->device_list.next;
	     n != &ctx->device_list; n = n->next) {
		struct iommufd_device *dev =
			container_of(n, struct iommufd_device, ctx_node);
		int rc = 0;

		if (dev->ioas == ioas)
			rc = attachment_tracked_locked(ioas, dev, dev->hwpt,
						       need_on);
		for (size_t p = 0; !rc && p < dev->nr_pasids; p++)
			if (dev->pasids[p].hwpt->ioas == ioas)
				rc = attachment_tracked_locked(
					ioas, dev, dev->pasids[p].hwpt,
					need_on);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- dirty tracking of VFIO type1 containers ---- */

bool dirty_by_container(const struct iommufd_ctx *ctx)
{
	return !ctx->backend->hwpt_set_dirty_tracking &&
	       ctx->backend->ioas_set_dirty_tracking &&
	       ctx->backend->ioas_get_dirty_bitmap && ctx->backend->ioas_limits;
}

/*
 * The dirty page size of the containers mapping @ioas: 0 and *ps; 1 when
 * no container maps it (nothing can write into it); -EOPNOTSUPP (logged)
 * when one cannot track.
 */
int container_dirty_page_size(struct iommufd_ioas *ioas, uint64_t *ps)
{
	struct iommufd_ioas_limits lim = { .sz = sizeof(lim) };
	int rc = ioas->ctx->backend->ioas_limits(ioas, &lim);

	if (rc)
		return rc;
	if (!(lim.flags & IOMMUFD_LIMITS_KERNEL))
		return 1;
	if (!(lim.flags & IOMMUFD_LIMITS_DIRTY_TRACKING)) {
		ctx_err(ioas->ctx,
			"IOAS %u: a VFIO container mapping it cannot track dirty pages (no VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: iommufd's /dev/vfio/vfio compat layer has none)",
			ioas->id);
		return -EOPNOTSUPP;
	}
	*ps = lim.dirty_page_sizes & -lim.dirty_page_sizes;
	return 0;
}

static int container_kread(void *arg, uint64_t iova, uint64_t length,
			   uint64_t page_size, uint64_t *data)
{
	struct iommufd_ioas *ioas = arg;

	return ioas->ctx->backend->ioas_get_dirty_bitmap(ioas, iova, length,
							 page_size, data);
}

struct edge_walk {
	uint64_t iova;
	bool found;
	uint64_t first, last;
};

static int edge_cb(const struct iommufd_mapping *m, void *data)
{
	struct edge_walk *e = data;

	e->found = true;
	e->first = m->iova;
	e->last = m->iova + (m->length - 1);
	return 1;
}

/* The mapping containing @iova, if any. */
static int mapping_at(struct iommufd_ioas *ioas, uint64_t iova,
		      struct edge_walk *e)
{
	int rc;

	e->found = false;
	rc = iommufd_ioas_for_each_mapping(ioas, iova, iova, edge_cb, e);
	return rc < 0 ? rc : 0;
}

struct chunk_walk {
	uint64_t cur, kps, max_pages;
	bool have;
	uint64_t a, b;
};

/* Whole mappings from cur on, as many as fit in max_pages (at least one). */
static int chunk_cb(const struct iommufd_mapping *m, void *data)
{
	struct chunk_walk *c = data;
	uint64_t mlast = m->iova + (m->length - 1);

	if (!c->have) {
		c->have = true;
		c->a = m->iova > c->cur ? m->iova : c->cur;
		c->b = mlast;
		return 0;
	}
	if ((mlast - c->a) / c->kps >= c->max_pages)
		return 1;
	c->b = mlast;
	return 0;
}

/*
 * Read @w from the containers mapping @ioas. type1 reads only whole
 * mappings (a range that splits one is EINVAL) and always clears: the
 * window grows to the mappings it touches, which must stay inside the
 * bitmap, and each call takes whole mappings.
 */
int container_read_locked(struct iommufd_ioas *ioas,
			  struct iommufd_dirty_bitmap *bm,
			  const struct dirty_window *w, uint32_t flags,
			  uint64_t max_bytes)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	uint64_t kps, first = w->first, last = w->last, cur;
	uint64_t bfirst = iommufd_dirty_bitmap_iova(bm);
	uint64_t blast = bfirst + (iommufd_dirty_bitmap_length(bm) - 1);
	struct edge_walk e;
	struct reader r;
	int rc;

	if (flags & IOMMUFD_DIRTY_NO_CLEAR) {
		ctx_err(ctx, "IOAS %u: a VFIO container clears dirty pages as it reports them (no IOMMUFD_DIRTY_NO_CLEAR)",
			ioas->id);
		return -EOPNOTSUPP;
	}
	rc = container_dirty_page_size(ioas, &kps);
	if (rc)
		return rc < 0 ? rc : 0;
	rc = mapping_at(ioas, first, &e);
	if (!rc && e.found && e.first < first)
		first = e.first;
	if (!rc)
		rc = mapping_at(ioas, last, &e);
	if (rc)
		return rc;
	if (e.found && e.last > last)
		last = e.last;
	first &= ~(kps - 1);
	last |= kps - 1;
	if (first < bfirst || last > blast) {
		ctx_err(ctx, "IOAS %u: a VFIO container reads whole mappings: [0x%llx, 0x%llx] reaches outside the bitmap",
			ioas->id, (unsigned long long)first,
			(unsigned long long)last);
		return -ERANGE;
	}
	reader_init(&r, bm, max_bytes, 1, container_kread, ioas);
	r.fixed_ps = kps;
	r.no_direct = true;
	/* Calls are bounded here, by whole mappings, not by read_span. */
	r.max_pages = UINT64_MAX;
	cur = first;
	for (;;) {
		struct chunk_walk c = {
			.cur = cur, .kps = kps,
			.max_pages = max_bytes > UINT64_MAX / 8 ? UINT64_MAX :
				     max_bytes * 8,
		};

		rc = iommufd_ioas_for_each_mapping(ioas, cur, last, chunk_cb, &c);
		if (rc < 0 || !c.have)
			break;
		rc = read_span(&r, c.a & ~(kps - 1), c.b | (kps - 1));
		if (rc || (c.b | (kps - 1)) >= last)
			break;
		cur = (c.b | (kps - 1)) + 1;
	}
	reader_release(&r);
	return rc < 0 ? rc : 0;
}

int container_set_locked(struct iommufd_ioas *ioas, bool enable)
{
	uint64_t ps;
	int rc = 0;

	if (enable)
		rc = container_dirty_page_size(ioas, &ps);
	if (rc < 0)
		return rc;
	rc = ioas->ctx->backend->ioas_set_dirty_tracking(ioas, enable);
	if (!rc)
		ctx_dbg(ioas->ctx, "IOAS %u: dirty tracking of its VFIO containers %s",
			ioas->id, enable ? "on" : "off");
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_set_dirty_tracking(struct iommufd_ioas *ioas,
						   bool enable)
{
	struct iommufd_ctx *ctx;
	struct iommufd_hwpt **done = NULL;
	size_t nr = 0, cap = 0;
	int rc;

	if (!ioas)
		return -EINVAL;
	ctx = ioas->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	rc = ctx_lu_busy(ctx, "IOAS dirty tracking");
	if (rc) {
		pthread_mutex_unlock(&ctx->objects_lock);
		return rc;
	}
	if (dirty_by_container(ctx)) {
		rc = container_set_locked(ioas, enable);
		pthread_mutex_unlock(&ctx->objects_lock);
		return rc;
	}
	rc = backend_dirty_capable(ctx);
	if (!rc && enable)
		rc = ioas_devices_tracked_locked(ioas, false);
	for (struct iommufd_hwpt *h = ioas->hwpts; !rc && h; h = h->ioas_next) {
		if (h->dirty_enabled == enable ||
		    !(h->flags & IOMMUFD_HWPT_DIRTY_TRACKING))
			continue;
		if (nr == cap) {
			struct iommufd_hwpt **n;

			cap = cap ? cap * 2 : 8;
			n = realloc(done, cap * sizeof(*n));
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			done = n;
		}
		rc = hwpt_dirty_set_locked(h, enable);
		if (!rc)
			done[nr++] = h;
	}
	if (rc) {
		/* Back to how it was, newest first. */
		while (nr--) {
			int rc2 = hwpt_dirty_set_locked(done[nr], !enable);

			if (rc2)
				ctx_warn(ctx,
					 "HWPT %u: dirty tracking could not be switched back %s: %d",
					 done[nr]->id, enable ? "off" : "on",
					 rc2);
		}
	} else {
		ctx_dbg(ctx, "IOAS %u: dirty tracking %s (%zu HWPTs switched)",
			ioas->id, enable ? "on" : "off", nr);
	}
	pthread_mutex_unlock(&ctx->objects_lock);
	free(done);
	return rc;
}

IOMMUFD_EXPORT int iommufd_ioas_read_dirty(struct iommufd_ioas *ioas,
					   struct iommufd_dirty_bitmap *bm,
					   uint64_t iova, uint64_t length,
					   const struct iommufd_dirty_read_opts *opts)
{
	struct iommufd_ctx *ctx;
	struct dirty_window w;
	uint64_t max_bytes;
	uint32_t flags;
	int rc;

	if (!ioas || !bm)
		return -EINVAL;
	rc = dirty_read_opts(opts, &flags, &max_bytes);
	if (!rc)
		rc = dirty_window(bm, iova, length, &w);
	if (rc)
		return rc;
	ctx = ioas->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	if (dirty_by_container(ctx)) {
		rc = container_read_locked(ioas, bm, &w, flags, max_bytes);
		pthread_mutex_unlock(&ctx->objects_lock);
		return rc;
	}
	rc = backend_dirty_capable(ctx);
	if (!rc)
		rc = ioas_devices_tracked_locked(ioas, true);
	for (struct iommufd_hwpt *h = ioas->hwpts; !rc && h; h = h->ioas_next)
		if (h->dirty_enabled)
			rc = hwpt_dirty_read_locked(h, bm, &w, flags, max_bytes);
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

/* ---- unmapping with the dirty bits ---- */

enum unmap_dirty_mode {
	UD_NONE,	/* nothing can write into the IOAS: nothing dirty */
	UD_ALL,		/* no source can tell: every page unmapped is dirty */
	UD_HWPT,	/* the HWPTs' dirty bits, read then unmapped */
	UD_CONTAINER,	/* type1: VFIO_IOMMU_UNMAP_DMA GET_DIRTY_BITMAP */
};

struct unmap_dirty {
	enum unmap_dirty_mode mode;
	struct iommufd_dirty_bitmap *bm;
	uint64_t kps;			/* UD_CONTAINER: the containers' page */
};

static int set_run_cb(uint64_t iova, uint64_t length, void *data)
{
	return iommufd_dirty_bitmap_set(data, iova, length);
}

/*
 * One run [first, last] of whole mappings, under objects_lock. The pages
 * are gathered into a scratch bitmap of the run alone, made before the
 * kernel is asked, and ORed into the caller's only once the run is
 * unmapped (ORing allocates nothing: it cannot fail then).
 */
static int unmap_dirty_run(struct iommufd_ioas *ioas, uint64_t first,
			   uint64_t last, uint64_t *bytes, void *arg)
{
	struct unmap_dirty *ud = arg;
	struct iommufd_ctx *ctx = ioas->ctx;
	struct iommufd_dirty_bitmap *scratch = NULL;
	uint64_t length = last - first + 1, ps, a, b;
	int rc;

	switch (ud->mode) {
	case UD_NONE:
	case UD_ALL:
		rc = ctx->backend->ioas_unmap(ioas, first, length, bytes);
		if (!rc && ud->mode == UD_ALL)
			rc = iommufd_dirty_bitmap_set(ud->bm, first, length);
		return rc;
	case UD_CONTAINER: {
		size_t words = 0;
		uint64_t *data;

		/* Mapping edges are multiples of the containers' page. */
		rc = iommufd_dirty_bitmap_new(first, length, ud->kps, &scratch);
		if (rc)
			return rc;
		data = iommufd_dirty_bitmap_words(scratch, &words);
		rc = ctx->backend->ioas_unmap_dirty(ioas, first, length,
						    ud->kps, data, words,
						    bytes);
		break;
	}
	case UD_HWPT:
	default: {
		struct dirty_window w = { first, last };

		ps = iommufd_dirty_bitmap_page_size(ud->bm);
		a = first & ~(ps - 1);
		b = last | (ps - 1);
		rc = iommufd_dirty_bitmap_new(a, b - a + 1, ps, &scratch);
		if (rc)
			return rc;
		/* NO_CLEAR: the bits go with the mappings anyway, and a
		 * failed unmap then leaves the HWPTs as they were. */
		for (struct iommufd_hwpt *h = ioas->hwpts; !rc && h;
		     h = h->ioas_next)
			if (h->dirty_enabled)
				rc = hwpt_dirty_read_locked(
					h, scratch, &w, IOMMUFD_DIRTY_NO_CLEAR,
					IOMMUFD_DIRTY_MAX_BITMAP_BYTES);
		if (!rc)
			rc = ctx->backend->ioas_unmap(ioas, first, length,
						      bytes);
		break;
	}
	}
	if (!rc)
		rc = iommufd_dirty_bitmap_for_each_run(scratch, set_run_cb,
						       ud->bm);
	iommufd_dirty_bitmap_free(scratch);
	return rc;
}

/* How the dirty pages of @ioas can be told now (ud->mode, ud->kps): 0, or
 * the kernel's error asking the containers. Under objects_lock. */
static int unmap_dirty_mode(struct iommufd_ioas *ioas, struct unmap_dirty *ud)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	bool any = false;

	ud->mode = UD_ALL;
	if (dirty_by_container(ctx)) {
		int rc;

		if (!ctx->backend->ioas_unmap_dirty ||
		    !ctx->backend->ioas_dirty_tracking_on)
			return 0;
		rc = container_dirty_page_size(ioas, &ud->kps);
		if (rc == 1) {
			ud->mode = UD_NONE;
			return 0;
		}
		if (rc == -EOPNOTSUPP)
			return 0;	/* logged: cannot track */
		if (rc)
			return rc;
		if (!ctx->backend->ioas_dirty_tracking_on(ioas)) {
			ctx_dbg(ctx, "IOAS %u: its VFIO containers are not all tracking dirty pages: every page unmapped is reported dirty",
				ioas->id);
			return 0;
		}
		ud->mode = UD_CONTAINER;
		return 0;
	}
	if (!ctx->backend->hwpt_set_dirty_tracking ||
	    !ctx->backend->hwpt_get_dirty_bitmap ||
	    !iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_DIRTY_TRACKING)) {
		ctx_dbg(ctx, "IOAS %u: no IOMMU dirty tracking: every page unmapped is reported dirty",
			ioas->id);
		return 0;
	}
	for (struct iommufd_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
		if (h->dirty_enabled)
			any = true;
	if (!any) {
		ctx_dbg(ctx, "IOAS %u: dirty tracking is off: every page unmapped is reported dirty",
			ioas->id);
		return 0;
	}
	if (ioas_devices_tracked_locked(ioas, true)) {
		ctx_warn(ctx, "IOAS %u: a device writes into it untracked: every page unmapped is reported dirty",
			 ioas->id);
		return 0;
	}
	ud->mode = UD_HWPT;
	return 0;
}

IOMMUFD_EXPORT int iommufd_ioas_unmap_dirty(struct iommufd_ioas *ioas,
					    uint64_t iova, uint64_t length,
					    uint32_t flags,
					    struct iommufd_dirty_bitmap *bm,
					    uint64_t *unmapped)
{
	struct unmap_dirty ud = { .bm = bm };
	struct iommufd_ctx *ctx;
	struct dirty_window w;
	int rc;

	if (!ioas || !bm)
		return -EINVAL;
	if (flags & ~(uint32_t)IOMMUFD_UNMAP_IDEMPOTENT)
		return -EINVAL;
	rc = dirty_window(bm, iova, length, &w);
	if (rc)
		return rc;
	ctx = ioas->ctx;
	/* Before the IOAS's claims, as attach (which waits for them) does. */
	pthread_mutex_lock(&ctx->objects_lock);
	rc = unmap_dirty_mode(ioas, &ud);
	if (!rc)
		rc = ioas_unmap_runs(ioas, iova, length, flags,
				     unmap_dirty_run, &ud, unmapped);
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

/* ---- collapsing ranges ---- */

static int cmp_range(const void *x, const void *y)
{
	const struct iommufd_iova_range *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->last > b->last) - (a->last < b->last);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

static void swap_u64(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

/*
 * The @k-th smallest (0-based) of @v[0..n), reordering @v: quickselect
 * with a median-of-three pivot and a three-way partition (runs of equal
 * gaps are common), falling back to sorting what is left when it recurses
 * too deep, so O(n) expected and O(n log n) at worst.
 */
static uint64_t select_kth(uint64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;	/* the answer is in v[lo..hi) */
	unsigned int budget = 2;

	for (size_t m = n; m > 1; m >>= 1)
		budget++;
	budget *= 2;
	while (hi - lo > 16) {
		size_t mid = lo + (hi - lo) / 2, lt = lo, i = lo, gt = hi;
		uint64_t pivot;

		if (!budget--) {
			qsort(v + lo, hi - lo, sizeof(*v), cmp_u64);
			return v[k];
		}
		if (v[mid] < v[lo])
			swap_u64(&v[mid], &v[lo]);
		if (v[hi - 1] < v[lo])
			swap_u64(&v[hi - 1], &v[lo]);
		if (v[hi - 1] < v[mid])
			swap_u64(&v[hi - 1], &v[mid]);
		pivot = v[mid];
		/* v[lo..lt) < pivot, v[lt..i) == pivot, v[gt..hi) > pivot */
		while (i < gt) {
			if (v[i] < pivot)
				swap_u64(&v[lt++], &v[i++]);
			else if (v[i] > pivot)
				swap_u64(&v[i], &v[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	qsort(v + lo, hi - lo, sizeof(*v), cmp_u64);
	return v[k];
}

IOMMUFD_EXPORT int iommufd_collapse_ranges(const struct iommufd_iova_range *in,
					   size_t n, size_t max,
					   struct iommufd_iova_range *out,
					   size_t *nout)
{
	struct iommufd_iova_range *tmp = NULL;
	const struct iommufd_iova_range *src = in;
	size_t m = n, k, fill_eq, less = 0, j = 0;
	uint64_t *gaps, thr;
	bool clean = true;

	if (!nout || (n && (!in || !out)))
		return -EINVAL;
	if (!n) {
		*nout = 0;
		return 0;
	}
	if (!max)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (in[i].start > in[i].last)
			return -EINVAL;
		/* Sorted with a gap of at least one byte to the previous. */
		if (i && (in[i - 1].last == UINT64_MAX ||
			  in[i].start <= in[i - 1].last + 1))
			clean = false;
	}
	if (!clean) {
		tmp = malloc(n * sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		memcpy(tmp, in, n * sizeof(*tmp));
		qsort(tmp, n, sizeof(*tmp), cmp_range);
		m = 0;
		for (size_t i = 0; i < n; i++) {
			if (m && (tmp[m - 1].last == UINT64_MAX ||
				  tmp[i].start <= tmp[m - 1].last + 1)) {
				if (tmp[i].last > tmp[m - 1].last)
					tmp[m - 1].last = tmp[i].last;
				continue;
			}
			tmp[m++] = tmp[i];
		}
		src = tmp;
	}
	if (m <= max) {
		memmove(out, src, m * sizeof(*out));
		*nout = m;
		free(tmp);
		return 0;
	}

	/* Fill the k smallest of the m - 1 gaps: those below the k-th
	 * smallest, then the first ones equal to it. */
	k = m - max;
	gaps = malloc((m - 1) * sizeof(*gaps));
	if (!gaps) {
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i + 1 < m; i++)
		gaps[i] = src[i + 1].start - src[i].last - 1;
	thr = select_kth(gaps, m - 1, k - 1);
	for (size_t i = 0; i + 1 < m; i++)
		less += src[i + 1].start - src[i].last - 1 < thr;
	fill_eq = k - less;
	free(gaps);

	/* out may be in: out[j] is written only once src[j] was read. */
	{
		struct iommufd_iova_range cur = src[0];

		for (size_t i = 0; i + 1 < m; i++) {
			uint64_t gap = src[i + 1].start - src[i].last - 1;
			bool fill = gap < thr;

			if (!fill && gap == thr && fill_eq) {
				fill = true;
				fill_eq--;
			}
			if (fill) {
				cur.last = src[i + 1].last;
			} else {
				out[j++] = cur;
				cur = src[i + 1];
			}
		}
		out[j++] = cur;
	}
	*nout = j;
	free(tmp);
	return 0;
}

/* ---- device DMA logging ---- */

bool dma_logging_active_locked(const struct iommufd_device *dev)
{
	return dev->logging && dev->logging->active;
}

int dma_logging_probe_locked(struct iommufd_device *dev)
{
	int rc = vfio_device_dma_logging_probe(dev);

	/* An mdev's driver has no device features at all (EINVAL). */
	if (rc == -EINVAL || rc == -ENOTTY || rc == -EOPNOTSUPP) {
		ctx_dbg(dev->ctx, "%s: its driver cannot log DMA (%d)",
			dev->name, rc);
		return -ENOTTY;
	}
	if (rc)
		ctx_log_kernel_error(dev->ctx,
				     "VFIO_DEVICE_FEATURE DMA_LOGGING_START (probe)",
				     rc);
	return rc;
}

struct collect {
	struct iommufd_iova_range *r;
	size_t nr, cap;
};

/* Mappings into ranges, adjacent ones joined. */
static int collect_cb(const struct iommufd_mapping *m, void *data)
{
	struct collect *c = data;
	uint64_t last = m->iova + (m->length - 1);

	if (c->nr && c->r[c->nr - 1].last != UINT64_MAX &&
	    c->r[c->nr - 1].last + 1 == m->iova) {
		c->r[c->nr - 1].last = last;
		return 0;
	}
	if (c->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct iommufd_iova_range *n = realloc(c->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->r = n;
		c->cap = cap;
	}
	c->r[c->nr].start = m->iova;
	c->r[c->nr].last = last;
	c->nr++;
	return 0;
}

int dma_logging_start_locked(struct iommufd_device *dev, uint64_t page_size,
			     uint32_t max_ranges,
			     const struct iommufd_iova_range *ranges,
			     size_t nr)
{
	struct iommufd_ctx *ctx = dev->ctx;
	struct collect c = { 0 };
	uint64_t ps = page_size ? page_size : cpu_page_size();
	size_t max = max_ranges ? max_ranges : IOMMUFD_DMA_LOGGING_MAX_RANGES;
	size_t n;
	int rc;

	if (dma_logging_active_locked(dev))
		return -EBUSY;
	/* Reports come in 4 KiB pages or more: so must the ranges' edges. */
	if (!is_pow2(ps) || ps < LOGGING_MIN_PAGE ||
	    max > IOMMUFD_DMA_LOGGING_MAX_RANGES)
		return -EINVAL;
	if (ranges) {
		c.r = malloc((nr ? nr : 1) * sizeof(*c.r));
		if (!c.r)
			return -ENOMEM;
		memcpy(c.r, ranges, nr * sizeof(*c.r));
		c.nr = nr;
	} else if (dev->ioas) {
		rc = iommufd_ioas_for_each_mapping(dev->ioas, 0, UINT64_MAX,
						   collect_cb, &c);
		if (rc) {
			free(c.r);
			return rc;
		}
	} else {
		ctx_err(ctx, "%s: DMA logging: no ranges given and the device is not attached to an IOAS",
			dev->name);
		return -EINVAL;
	}
	if (!c.nr) {
		ctx_err(ctx, "%s: DMA logging: nothing to track (no ranges; its IOAS maps nothing)",
			dev->name);
		free(c.r);
		return -EINVAL;
	}
	for (size_t i = 0; i < c.nr; i++) {
		if (c.r[i].start > c.r[i].last) {
			free(c.r);
			return -EINVAL;
		}
		c.r[i].start &= ~(ps - 1);
		c.r[i].last |= ps - 1;
	}
	rc = iommufd_collapse_ranges(c.r, c.nr, max, c.r, &n);
	if (rc) {
		free(c.r);
		return rc;
	}
	if (!dev->logging) {
		dev->logging = calloc(1, sizeof(*dev->logging));
		if (!dev->logging) {
			free(c.r);
			return -ENOMEM;
		}
	}
	rc = vfio_device_dma_logging_start(dev, c.r, n, &ps);
	if (rc) {
		if (rc == -ENOTTY)
			ctx_err(ctx, "%s: its driver cannot log DMA (vfio-pci cannot; variant drivers such as mlx5's can)",
				dev->name);
		free(c.r);
		return rc;
	}
	if (n < c.cap) {
		struct iommufd_iova_range *s = realloc(c.r, n * sizeof(*s));

		if (s)
			c.r = s;
	}
	dev->logging->active = true;
	dev->logging->page_size = ps;
	dev->logging->nr = n;
	dev->logging->ranges = c.r;
	ctx_dbg(ctx, "%s: DMA logging on: %zu ranges (from %zu), %llu-byte pages",
		dev->name, n, c.nr, (unsigned long long)ps);
	return 0;
}

int dma_logging_stop_locked(struct iommufd_device *dev)
{
	struct dma_logging *l = dev->logging;
	int rc;

	if (!l || !l->active)
		return 0;
	rc = vfio_device_dma_logging_stop(dev);
	if (rc)
		return rc;
	free(l->ranges);
	l->ranges = NULL;
	l->nr = 0;
	l->active = false;
	ctx_dbg(dev->ctx, "%s: DMA logging off", dev->name);
	return 0;
}

void tracking_device_release_locked(struct iommufd_device *dev)
{
	if (!dev->logging)
		return;
	/* Handed over, the device's logging is the new process's. */
	if (dev->logging->active &&
	    (ctx_handed_over(dev->ctx) || dma_logging_stop_locked(dev)))
		free(dev->logging->ranges);
	free(dev->logging);
	dev->logging = NULL;
}

static int logging_kread(void *arg, uint64_t iova, uint64_t length,
			 uint64_t page_size, uint64_t *data)
{
	return vfio_device_dma_logging_report(arg, iova, length, page_size,
					      data);
}

int dma_logging_report_locked(struct iommufd_device *dev,
			      struct iommufd_dirty_bitmap *bm,
			      const struct dirty_window *w,
			      uint64_t max_bytes)
{
	struct dma_logging *l = dev->logging;
	struct reader r;
	uint64_t cur = w->first;
	bool done = false;
	int rc = 0;

	if (!l || !l->active) {
		ctx_err(dev->ctx, "%s: DMA logging is off: nothing to report",
			dev->name);
		return -EINVAL;
	}
	if (iommufd_dirty_bitmap_page_size(bm) < LOGGING_MIN_PAGE) {
		ctx_err(dev->ctx, "%s: DMA logging reports pages of 4 KiB or more, not %llu bytes",
			dev->name,
			(unsigned long long)iommufd_dirty_bitmap_page_size(bm));
		return -EINVAL;
	}
	reader_init(&r, bm, max_bytes, LOGGING_MIN_PAGE, logging_kread, dev);
	for (size_t i = 0; i < l->nr && !done && !rc; i++) {
		const struct iommufd_iova_range *t = &l->ranges[i];
		uint64_t a, b;

		if (t->last < cur)
			continue;
		if (t->start > w->last)
			break;
		/* Outside what the device tracks: it may have written it. */
		if (t->start > cur) {
			rc = iommufd_dirty_bitmap_set(bm, cur, t->start - cur);
			if (rc)
				break;
		}
		a = t->start > cur ? t->start : cur;
		b = t->last < w->last ? t->last : w->last;
		rc = read_span(&r, a, b);
		if (b == w->last)
			done = true;
		else
			cur = b + 1;
	}
	if (!rc && !done)
		rc = iommufd_dirty_bitmap_set(bm, cur, w->last - cur + 1);
	reader_release(&r);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_dma_logging_probe(struct iommufd_device *dev)
{
	int rc;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = dma_logging_probe_locked(dev);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int
iommufd_device_dma_logging_start(struct iommufd_device *dev,
				 const struct iommufd_dma_logging_opts *opts)
{
	int rc;

	if (!dev)
		return -EINVAL;
	if (opts) {
		rc = opts_check(opts, opts->sz, sizeof(*opts));
		if (rc)
			return rc;
		if (OPTS_GET(opts, nr_ranges, 0) && !OPTS_GET(opts, ranges, NULL))
			return -EINVAL;
	}
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = ctx_lu_busy(dev->ctx, "DMA logging start");
	if (!rc)
		rc = dma_logging_start_locked(dev, OPTS_GET(opts, page_size, 0),
				      OPTS_GET(opts, max_ranges, 0),
				      OPTS_GET(opts, ranges, NULL),
				      OPTS_GET(opts, nr_ranges, 0));
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_dma_logging_stop(struct iommufd_device *dev)
{
	int rc;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = ctx_lu_busy(dev->ctx, "DMA logging stop");
	if (!rc)
		rc = dma_logging_stop_locked(dev);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT bool
iommufd_device_dma_logging_active(const struct iommufd_device *dev)
{
	bool on;

	if (!dev)
		return false;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	on = dma_logging_active_locked(dev);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return on;
}

IOMMUFD_EXPORT int
iommufd_device_dma_logging_ranges(struct iommufd_device *dev,
				  struct iommufd_iova_range *ranges,
				  size_t *nr, uint64_t *page_size)
{
	struct dma_logging *l;
	int rc = 0;

	if (!dev || !nr || (*nr && !ranges))
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	l = dev->logging;
	if (!l || !l->active) {
		rc = -EINVAL;
	} else {
		if (l->nr > *nr)
			rc = -ENOSPC;
		else
			memcpy(ranges, l->ranges, l->nr * sizeof(*ranges));
		*nr = l->nr;
		if (page_size)
			*page_size = l->page_size;
	}
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int
iommufd_device_dma_logging_report(struct iommufd_device *dev,
				  struct iommufd_dirty_bitmap *bm,
				  uint64_t iova, uint64_t length,
				  const struct iommufd_dirty_read_opts *opts)
{
	struct dirty_window w;
	uint64_t max_bytes;
	uint32_t flags;
	int rc;

	if (!dev || !bm)
		return -EINVAL;
	rc = dirty_read_opts(opts, &flags, &max_bytes);
	if (!rc && (flags & IOMMUFD_DIRTY_NO_CLEAR)) {
		ctx_err(dev->ctx, "%s: a DMA log is always cleared as it is read (no IOMMUFD_DIRTY_NO_CLEAR)",
			dev->name);
		rc = -EOPNOTSUPP;
	}
	if (!rc)
		rc = dirty_window(bm, iova, length, &w);
	if (rc)
		return rc;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = dma_logging_report_locked(dev, bm, &w, max_bytes);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}
