/* SPDX-License-Identifier: MIT */
/*
 * The dirty tracker: one view of an IOAS's dirty pages whatever watches
 * each device (tracking.h says what each source means).
 *
 * Start picks a source per device attached to the IOAS (its RID): the IOMMU
 * when its HWPT was allocated with dirty tracking (switched on here unless
 * it already was, and switched off at stop only if switched on here), else
 * the device's DMA logging when its driver can log (started here over the
 * IOAS's mappings, unless already on), else ALL. On the type1 backend every
 * device of the IOAS gets the containers' tracking when they can track
 * (switched on at start, off at stop). Sync ORs every source into
 * the caller's bitmap: each HWPT once however many devices share it, each
 * logging device, and, once, the IOAS's mappings in the window for every
 * device counted as ALL.
 *
 * The tracker holds no reference on devices or HWPTs; it finds them again,
 * under the context's object lock, in the context's device list and the
 * IOAS's HWPT list, so a device freed or detached since start is simply
 * gone (its dirty pages with it: sync before detaching) and a device
 * attached since, or one whose HWPT or log went away, counts as ALL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "maptable.h"
#include "tracking.h"

#define TRACKER_FLAGS_ALL IOMMUFD_TRACKER_NO_DEVICE_LOGGING

struct tracked {
	struct iommufd_device *dev;
	enum iommufd_dirty_source source;
	struct iommufd_hwpt *hwpt;	/* IOMMU: the HWPT it writes through */
	bool enabled_here;		/* IOMMU: switched on by this tracker */
	bool started_here;		/* DEVICE: logging started by this tracker */
};

struct iommufd_dirty_tracker {
	struct iommufd_ioas *ioas;
	uint32_t flags;
	uint64_t page_size;
	uint32_t max_ranges;
	uint64_t max_bitmap_bytes;

	/* Under ctx->objects_lock. */
	bool started;
	bool container_here;		/* type1: the containers' tracking */
	struct tracked *dev;
	size_t nr;
};

IOMMUFD_EXPORT const char *
iommufd_dirty_source_name(enum iommufd_dirty_source source)
{
	switch (source) {
	case IOMMUFD_DIRTY_SOURCE_NONE:
		return "none";
	case IOMMUFD_DIRTY_SOURCE_IOMMU:
		return "iommu";
	case IOMMUFD_DIRTY_SOURCE_DEVICE:
		return "device";
	case IOMMUFD_DIRTY_SOURCE_ALL:
		return "all";
	case IOMMUFD_DIRTY_SOURCE_CONTAINER:
		return "container";
	}
	return NULL;
}

IOMMUFD_EXPORT int
iommufd_dirty_tracker_new(struct iommufd_ioas *ioas,
			  const struct iommufd_dirty_tracker_opts *opts,
			  struct iommufd_dirty_tracker **out)
{
	struct iommufd_dirty_tracker *t;
	uint64_t ps, maxb;
	uint32_t maxr, flags;

	if (!ioas || !out)
		return -EINVAL;
	if (opts) {
		int rc = opts_check(opts, opts->sz, sizeof(*opts));

		if (rc)
			return rc;
	}
	flags = OPTS_GET(opts, flags, 0);
	ps = OPTS_GET(opts, page_size, 0);
	maxr = OPTS_GET(opts, max_ranges, 0);
	maxb = OPTS_GET(opts, max_bitmap_bytes, 0);
	if ((flags & ~(uint32_t)TRACKER_FLAGS_ALL) ||
	    (ps && (ps & (ps - 1) || ps < 4096)) ||
	    maxr > IOMMUFD_DMA_LOGGING_MAX_RANGES || maxb % 8)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ioas = ioas;
	t->flags = flags;
	t->page_size = ps;
	t->max_ranges = maxr;
	t->max_bitmap_bytes = maxb ? maxb : IOMMUFD_DIRTY_MAX_BITMAP_BYTES;
	*out = t;
	return 0;
}

/*
 * Stop what this tracker started, newest first; the first error. A source
 * that would not stop stays listed (and the tracker started), so that the
 * caller's next stop tries it again rather than leaving it on unseen.
 */
static int undo_locked(struct iommufd_dirty_tracker *t)
{
	struct iommufd_ctx *ctx = t->ioas->ctx;
	size_t keep = t->nr;	/* what stays: t->dev[keep .. nr) */
	int first = 0;

	for (size_t i = t->nr; i-- > 0;) {
		struct tracked *d = &t->dev[i];
		int rc = 0;

		if (d->started_here && device_listed_locked(ctx, d->dev))
			rc = dma_logging_stop_locked(d->dev);
		else if (d->enabled_here && hwpt_listed_locked(t->ioas, d->hwpt))
			rc = hwpt_dirty_set_locked(d->hwpt, false);
		if (!rc)
			continue;
		if (d->started_here)
			ctx_warn(ctx, "dirty tracker: %s: its DMA logging could not be stopped: %d",
				 d->dev->name, rc);
		else
			ctx_warn(ctx, "dirty tracker: HWPT %u: its dirty tracking could not be switched off: %d",
				 d->hwpt->id, rc);
		if (!first)
			first = rc;
		/* keep > i: slots past i are done with; order is kept. */
		t->dev[--keep] = *d;
	}
	memmove(t->dev, &t->dev[keep], (t->nr - keep) * sizeof(*t->dev));
	t->nr -= keep;
	if (t->container_here) {
		int rc = container_set_locked(t->ioas, false);

		if (rc) {
			ctx_warn(ctx, "dirty tracker: IOAS %u: the dirty tracking of its VFIO containers could not be switched off: %d",
				 t->ioas->id, rc);
			if (!first)
				first = rc;
		} else {
			t->container_here = false;
		}
	}
	t->started = t->nr || t->container_here;
	return first;
}

/* Pick and start @dev's source into @d. */
static int start_one_locked(struct iommufd_dirty_tracker *t,
			    struct iommufd_device *dev, struct tracked *d)
{
	struct iommufd_hwpt *h = dev->hwpt;
	int rc;

	memset(d, 0, sizeof(*d));
	d->dev = dev;
	if (h && (h->flags & IOMMUFD_HWPT_DIRTY_TRACKING) &&
	    dev->ctx->backend->hwpt_set_dirty_tracking &&
	    iommufd_ctx_has_feature(dev->ctx, IOMMUFD_FEATURE_DIRTY_TRACKING)) {
		bool was_on = h->dirty_enabled;

		/* Another device of this tracker may share it: switched on
		 * once, by the first. */
		rc = hwpt_dirty_set_locked(h, true);
		if (rc)
			return rc;
		d->source = IOMMUFD_DIRTY_SOURCE_IOMMU;
		d->hwpt = h;
		d->enabled_here = !was_on;
		return 0;
	}
	if (!(t->flags & IOMMUFD_TRACKER_NO_DEVICE_LOGGING)) {
		if (dma_logging_active_locked(dev)) {
			d->source = IOMMUFD_DIRTY_SOURCE_DEVICE;
			return 0;	/* the caller's logging: left on at stop */
		}
		rc = dma_logging_probe_locked(dev);
		if (!rc) {
			rc = dma_logging_start_locked(dev, t->page_size,
						      t->max_ranges, NULL, 0);
			if (rc)
				return rc;
			d->source = IOMMUFD_DIRTY_SOURCE_DEVICE;
			d->started_here = true;
			return 0;
		}
		if (rc != -ENOTTY)
			return rc;
	}
	d->source = IOMMUFD_DIRTY_SOURCE_ALL;
	return 0;
}

IOMMUFD_EXPORT int iommufd_dirty_tracker_start(struct iommufd_dirty_tracker *t)
{
	struct iommufd_ctx *ctx;
	size_t cap = 0;
	int rc = 0;

	if (!t)
		return -EINVAL;
	ctx = t->ioas->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	if (t->started) {
		pthread_mutex_unlock(&ctx->objects_lock);
		return -EBUSY;
	}
	for (struct list_node *n = ctx->device_list.next;
	     n != &ctx->device_list; n = n->next)
		cap += container_of(n, struct iommufd_device, ctx_node)->ioas ==
		       t->ioas;
	free(t->dev);
	t->dev = calloc(cap ? cap : 1, sizeof(*t->dev));
	t->nr = 0;
	if (!t->dev)
		rc = -ENOMEM;
	/* type1: one tracking for every device of the IOAS, if its
	 * containers can (else each device on its own). */
	if (!rc && dirty_by_container(ctx)) {
		uint64_t ps;

		rc = container_dirty_page_size(t->ioas, &ps);
		if (!rc) {
			rc = container_set_locked(t->ioas, true);
			t->container_here = !rc;
		} else if (rc == 1 || rc == -EOPNOTSUPP) {
			rc = 0;
		}
	}
	for (struct list_node *n = ctx->device_list.next;
	     !rc && n != &ctx->device_list; n = n->next) {
		struct iommufd_device *dev =
			container_of(n, struct iommufd_device, ctx_node);

		if (dev->ioas != t->ioas)
			continue;
		if (t->container_here) {
			memset(&t->dev[t->nr], 0, sizeof(t->dev[t->nr]));
			t->dev[t->nr].dev = dev;
			t->dev[t->nr].source = IOMMUFD_DIRTY_SOURCE_CONTAINER;
		} else {
			rc = start_one_locked(t, dev, &t->dev[t->nr]);
		}
		if (rc)
			break;
		ctx_info(ctx, "dirty tracker of IOAS %u: %s: dirty pages from %s",
			 t->ioas->id, dev->name,
			 iommufd_dirty_source_name(t->dev[t->nr].source));
		t->nr++;
	}
	if (rc)
		undo_locked(t);
	else
		t->started = true;
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_dirty_tracker_stop(struct iommufd_dirty_tracker *t)
{
	struct iommufd_ctx *ctx;
	int rc = 0;

	if (!t)
		return -EINVAL;
	ctx = t->ioas->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	if (t->started)
		rc = undo_locked(t);
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT void iommufd_dirty_tracker_free(struct iommufd_dirty_tracker *t)
{
	if (!t)
		return;
	iommufd_dirty_tracker_stop(t);
	free(t->dev);
	free(t);
}

static struct tracked *find_tracked(struct iommufd_dirty_tracker *t,
				    const struct iommufd_device *dev)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->dev[i].dev == dev)
			return &t->dev[i];
	return NULL;
}

/* The source @dev has now (it is attached to the tracker's IOAS). */
static enum iommufd_dirty_source
source_now_locked(struct iommufd_dirty_tracker *t, struct iommufd_device *dev)
{
	struct tracked *d = find_tracked(t, dev);

	if (!d)
		return IOMMUFD_DIRTY_SOURCE_ALL;	/* attached since */
	switch (d->source) {
	case IOMMUFD_DIRTY_SOURCE_IOMMU:
		if (dev->hwpt == d->hwpt && d->hwpt->dirty_enabled)
			return d->source;
		break;
	case IOMMUFD_DIRTY_SOURCE_DEVICE:
		if (dma_logging_active_locked(dev))
			return d->source;
		break;
	case IOMMUFD_DIRTY_SOURCE_CONTAINER:
		if (t->container_here)
			return d->source;
		break;
	default:
		break;
	}
	return IOMMUFD_DIRTY_SOURCE_ALL;
}

IOMMUFD_EXPORT int
iommufd_dirty_tracker_sync(struct iommufd_dirty_tracker *t,
			   struct iommufd_dirty_bitmap *bm, uint64_t iova,
			   uint64_t length,
			   const struct iommufd_dirty_read_opts *opts)
{
	struct iommufd_ctx *ctx;
	struct iommufd_hwpt **hwpts = NULL;
	size_t nr_hwpts = 0;
	struct dirty_window w;
	uint64_t max_bytes;
	uint32_t flags;
	bool all = false, logging = false, container = false;
	int rc;

	if (!t || !bm)
		return -EINVAL;
	rc = dirty_read_opts(opts, &flags, &max_bytes);
	if (!rc)
		rc = dirty_window(bm, iova, length, &w);
	if (rc)
		return rc;
	/* Unless the caller says otherwise, the tracker's own bound. */
	if (!OPTS_GET(opts, max_bitmap_bytes, 0))
		max_bytes = t->max_bitmap_bytes;
	ctx = t->ioas->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	if (!t->started) {
		rc = -EINVAL;
		goto out;
	}
	hwpts = calloc(t->nr ? t->nr : 1, sizeof(*hwpts));
	if (!hwpts) {
		rc = -ENOMEM;
		goto out;
	}
	/* What to read: each HWPT once, whether any device logs or is ALL. */
	for (struct list_node *n = ctx->device_list.next;
	     n != &ctx->device_list; n = n->next) {
		struct iommufd_device *dev =
			container_of(n, struct iommufd_device, ctx_node);
		size_t i;

		if (dev->ioas != t->ioas)
			continue;
		switch (source_now_locked(t, dev)) {
		case IOMMUFD_DIRTY_SOURCE_IOMMU:
			for (i = 0; i < nr_hwpts && hwpts[i] != dev->hwpt; i++)
				;
			if (i == nr_hwpts && nr_hwpts < t->nr)
				hwpts[nr_hwpts++] = dev->hwpt;
			break;
		case IOMMUFD_DIRTY_SOURCE_DEVICE:
			logging = true;
			break;
		case IOMMUFD_DIRTY_SOURCE_CONTAINER:
			container = true;
			break;
		default:
			all = true;
			break;
		}
	}
	if (logging && (flags & IOMMUFD_DIRTY_NO_CLEAR)) {
		ctx_err(ctx, "dirty tracker of IOAS %u: a device's DMA log is always cleared as it is read (no IOMMUFD_DIRTY_NO_CLEAR)",
			t->ioas->id);
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (container && (flags & IOMMUFD_DIRTY_NO_CLEAR)) {
		ctx_err(ctx, "dirty tracker of IOAS %u: a VFIO container clears dirty pages as it reports them (no IOMMUFD_DIRTY_NO_CLEAR)",
			t->ioas->id);
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (all)
		rc = dirty_mark_mapped(t->ioas, bm, &w);
	/* Containers bound since start begin tracking now (their devices
	 * count as ALL meanwhile); the others are not asked again. */
	if (!rc && container)
		rc = container_set_locked(t->ioas, true);
	if (!rc && container)
		rc = container_read_locked(t->ioas, bm, &w, flags, max_bytes);
	for (size_t i = 0; !rc && i < nr_hwpts; i++)
		rc = hwpt_dirty_read_locked(hwpts[i], bm, &w, flags, max_bytes);
	for (struct list_node *n = ctx->device_list.next;
	     !rc && logging && n != &ctx->device_list; n = n->next) {
		struct iommufd_device *dev =
			container_of(n, struct iommufd_device, ctx_node);

		if (dev->ioas == t->ioas &&
		    source_now_locked(t, dev) == IOMMUFD_DIRTY_SOURCE_DEVICE)
			rc = dma_logging_report_locked(dev, bm, &w, max_bytes);
	}
out:
	pthread_mutex_unlock(&ctx->objects_lock);
	free(hwpts);
	return rc;
}

IOMMUFD_EXPORT int
iommufd_dirty_tracker_devices(struct iommufd_dirty_tracker *t,
			      struct iommufd_dirty_tracker_device *out,
			      size_t *nr)
{
	struct iommufd_ctx *ctx;
	int rc = 0;

	if (!t || !nr || (*nr && !out))
		return -EINVAL;
	ctx = t->ioas->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	if (t->nr > *nr) {
		rc = -ENOSPC;
	} else {
		for (size_t i = 0; i < t->nr; i++) {
			out[i].dev = t->dev[i].dev;
			out[i].source = t->dev[i].source;
		}
	}
	*nr = t->nr;
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}
