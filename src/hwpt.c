/* SPDX-License-Identifier: MIT */
/*
 * Hardware page tables, and the per-IOAS list that iommufd_device_attach()
 * picks from.
 *
 * Every HWPT the library knows is on its IOAS's list (ioas->hwpts, oldest
 * first, so the HWPT most devices share is tried first), whether the caller
 * made it (iommufd_hwpt_new) or iommufd_device_attach() did. users counts the
 * RID and PASID attachments made through the library; a HWPT made by
 * attach is destroyed when the count drops to zero, one made by the caller
 * only when the caller says so. The kernel holds its own references (a HWPT
 * keeps its IOAS, an attached device keeps its HWPT: EBUSY), so the library
 * never has to refuse a destroy on its own count; it asks the kernel.
 *
 * Lists and counts are guarded by ctx->objects_lock, held across the kernel
 * calls (see internal.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "maptable.h"

#define HWPT_FLAGS_ALL \
	(IOMMUFD_HWPT_NEST_PARENT | IOMMUFD_HWPT_DIRTY_TRACKING | \
	 IOMMUFD_HWPT_PASID)

static void hwpt_link(struct iommufd_hwpt *hwpt)
{
	struct iommufd_hwpt **p = &hwpt->ioas->hwpts;

	while (*p)
		p = &(*p)->ioas_next;
	hwpt->ioas_next = NULL;
	*p = hwpt;
}

static void hwpt_unlink(struct iommufd_hwpt *hwpt)
{
	for (struct iommufd_hwpt **p = &hwpt->ioas->hwpts; *p;
	     p = &(*p)->ioas_next) {
		if (*p == hwpt) {
			*p = hwpt->ioas_next;
			break;
		}
	}
	hwpt->ioas_next = NULL;
}

int hwpt_alloc_locked(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		      uint32_t flags, bool lib_owned, struct iommufd_hwpt **out)
{
	struct iommufd_ctx *ctx = dev->ctx;
	struct iommufd_hwpt *hwpt;
	int rc;

	if (!ctx->backend->hwpt_alloc) {
		ctx_err(ctx, "the %s backend has no HWPTs", ctx->backend->name);
		return -EOPNOTSUPP;
	}
	hwpt = calloc(1, sizeof(*hwpt));
	if (!hwpt)
		return -ENOMEM;
	hwpt->ctx = ctx;
	hwpt->ioas = ioas;
	hwpt->flags = flags;
	hwpt->lib_owned = lib_owned;
	rc = ctx->backend->hwpt_alloc(hwpt, dev);
	if (rc) {
		free(hwpt);
		return rc;
	}
	hwpt_link(hwpt);
	ctx_dbg(ctx, "HWPT %u created for %s over IOAS %u (flags 0x%x%s)",
		hwpt->id, dev->name, ioas->id, flags,
		lib_owned ? ", owned by the library" : "");
	*out = hwpt;
	return 0;
}

int hwpt_restore(struct iommufd_ioas *ioas, uint32_t id, uint32_t flags,
		 bool lib_owned, struct iommufd_hwpt **out)
{
	struct iommufd_hwpt *hwpt = calloc(1, sizeof(*hwpt));

	if (!hwpt)
		return -ENOMEM;
	hwpt->ctx = ioas->ctx;
	hwpt->ioas = ioas;
	hwpt->id = id;
	hwpt->flags = flags;
	hwpt->lib_owned = lib_owned;
	pthread_mutex_lock(&ioas->ctx->objects_lock);
	hwpt_link(hwpt);
	pthread_mutex_unlock(&ioas->ctx->objects_lock);
	*out = hwpt;
	return 0;
}

int hwpt_destroy_locked(struct iommufd_hwpt *hwpt)
{
	/* Handed over: the HWPT is the new process's; forget ours. */
	int rc = ctx_handed_over(hwpt->ctx) ? 0 :
		 hwpt->ctx->backend->hwpt_destroy(hwpt);

	if (rc)
		return rc;
	ctx_dbg(hwpt->ctx, "HWPT %u destroyed", hwpt->id);
	hwpt_unlink(hwpt);
	free(hwpt);
	return 0;
}

void hwpt_put_locked(struct iommufd_hwpt *hwpt)
{
	int rc;

	if (--hwpt->users || !hwpt->lib_owned)
		return;
	rc = hwpt_destroy_locked(hwpt);
	if (rc)
		/* Still listed: attach may reuse it, context free retries. */
		ctx_warn(hwpt->ctx,
			 "HWPT %u lost its last device but cannot be destroyed (%d); it stays until the context is freed",
			 hwpt->id, rc);
}

void hwpt_free_all(struct iommufd_ctx *ctx)
{
	pthread_mutex_lock(&ctx->objects_lock);
	for (struct list_node *n = ctx->ioas_list.next; n != &ctx->ioas_list;
	     n = n->next) {
		struct iommufd_ioas *ioas =
			container_of(n, struct iommufd_ioas, ctx_node);

		while (ioas->hwpts) {
			struct iommufd_hwpt *hwpt = ioas->hwpts;
			int rc = hwpt_destroy_locked(hwpt);

			if (!rc)
				continue;
			/* An adopted iommufd outlives us: say what stays. */
			ctx_warn(ctx, "HWPT %u left in the kernel at context free: %d",
				 hwpt->id, rc);
			hwpt_unlink(hwpt);
			free(hwpt);
		}
	}
	pthread_mutex_unlock(&ctx->objects_lock);
}

IOMMUFD_EXPORT int iommufd_hwpt_new(struct iommufd_device *dev,
				    struct iommufd_ioas *ioas, uint32_t flags,
				    struct iommufd_hwpt **out)
{
	struct iommufd_ctx *ctx;
	int rc;

	if (!dev || !ioas || !out || (flags & ~(uint32_t)HWPT_FLAGS_ALL))
		return -EINVAL;
	ctx = dev->ctx;
	if (ioas->ctx != ctx)
		return -EINVAL;
	/* Where the context knows the kernel lacks the flag, say so rather
	 * than let a bare EOPNOTSUPP come back. */
	rc = ctx_lu_busy(ctx, "HWPT new");
	if (rc)
		return rc;
	if ((flags & IOMMUFD_HWPT_DIRTY_TRACKING) &&
	    !iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_DIRTY_TRACKING)) {
		ctx_err(ctx, "%s: dirty-tracking HWPTs need Linux 6.7", dev->name);
		return -EOPNOTSUPP;
	}
	if ((flags & IOMMUFD_HWPT_PASID) &&
	    !iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_PASID)) {
		ctx_err(ctx, "%s: PASID-capable HWPTs need Linux 6.15", dev->name);
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	/* An emulated device's ID names an access object, which the kernel
	 * does not find as a device (ENOENT, also its answer for other
	 * things): ask what the device is first, once. */
	rc = device_hw_info_locked(dev);
	if (rc == -ENODEV)
		ctx_err(ctx, "%s has no IOMMU of its own (an emulated device): no HWPT can be made for it",
			dev->name);
	if (!rc || rc == -EOPNOTSUPP)
		rc = hwpt_alloc_locked(dev, ioas, flags, false, out);
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_hwpt_destroy(struct iommufd_hwpt *hwpt)
{
	struct iommufd_ctx *ctx;
	int rc;

	if (!hwpt)
		return -EINVAL;
	ctx = hwpt->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	rc = ctx_handed_over(ctx) ? 0 : ctx_lu_busy(ctx, "HWPT destroy");
	if (!rc)
		rc = hwpt_destroy_locked(hwpt);
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT uint32_t iommufd_hwpt_id(const struct iommufd_hwpt *hwpt)
{
	return hwpt ? hwpt->id : 0;
}

IOMMUFD_EXPORT uint32_t iommufd_hwpt_flags(const struct iommufd_hwpt *hwpt)
{
	return hwpt ? hwpt->flags : 0;
}

IOMMUFD_EXPORT struct iommufd_ioas *iommufd_hwpt_ioas(const struct iommufd_hwpt *hwpt)
{
	return hwpt ? hwpt->ioas : NULL;
}
