/* SPDX-License-Identifier: MIT */
/*
 * The iommufd side of devices: binding (DEVICE objects, and ACCESS objects
 * for emulated devices), attaching to an IOAS or a HWPT (with automatic
 * domains), replacing, detaching, PASIDs, device reserved regions, and DMA
 * through the resulting translation. Modelled on
 * drivers/iommu/iommufd/device.c; the rules are the kernel's, the code is
 * ours.
 *
 * The kernel attaches a whole IOMMU group to a domain: the first device of a
 * group to attach decides the group's HWPT, the others must attach to the
 * same one. Here the group's attachment is found from the devices of the
 * iommufd that are in the group.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

static struct fake_idev *to_idev(struct fake_object *obj)
{
	return fake_container_of(obj, struct fake_idev, obj);
}

/* ------------------------------------------------------------------ */
/* Groups                                                              */

static struct fake_hwpt *idev_hwpt(const struct fake_idev *idev,
				   uint32_t pasid)
{
	if (pasid == FAKE_NO_PASID)
		return idev->hwpt;
	for (size_t i = 0; i < idev->nr_pasids; i++)
		if (idev->pasids[i].pasid == pasid)
			return idev->pasids[i].hwpt;
	return NULL;
}

bool fake_idev_pasid_attached(struct fake_idev *idev, uint32_t pasid)
{
	return pasid != FAKE_NO_PASID && idev_hwpt(idev, pasid);
}

/* The next device of @ictx in @group from *pos on (the igroup's devices). */
static struct fake_idev *group_next(struct fake_ictx *ictx, int32_t group,
				    uint32_t *pos)
{
	while (*pos < ictx->nr_slots) {
		struct fake_object *obj = ictx->objects[(*pos)++];

		if (obj && obj->type == FAKE_OBJ_DEVICE &&
		    to_idev(obj)->dev->group == group)
			return to_idev(obj);
	}
	return NULL;
}

#define for_each_group_idev(ictx, grp, cur)                                   \
	for (uint32_t _pos = 1; ((cur) = group_next((ictx), (grp), &_pos));)

/* The group's attachment for @pasid (the igroup's pasid_attach). */
static struct fake_hwpt *group_hwpt(struct fake_idev *idev, uint32_t pasid)
{
	struct fake_idev *cur;

	for_each_group_idev(idev->ictx, idev->dev->group, cur) {
		struct fake_hwpt *hwpt = idev_hwpt(cur, pasid);

		if (hwpt)
			return hwpt;
	}
	return NULL;
}

static bool group_has_pasids(struct fake_idev *idev)
{
	struct fake_idev *cur;

	for_each_group_idev(idev->ictx, idev->dev->group, cur)
		if (cur->nr_pasids)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Binding                                                             */

/* iommu_device_claim_dma_owner(): the group belongs to this iommufd or to
 * no one; a kernel driver doing DMA on a device of it owns it. */
static int claim_dma_owner(struct fake_ictx *ictx, struct fake_device *dev)
{
	/* A VFIO container claimed the group (VFIO_GROUP_SET_CONTAINER). */
	if (fake_vgroup_container_owned(ictx->fake, dev->group))
		return -EPERM;
	for (struct fake_device *p = ictx->fake->devices; p; p = p->next) {
		if (p == dev || p->group != dev->group)
			continue;
		if (fake_driver_claims_dma(p->driver))
			return -EPERM;
		if (p->bound && p->bound->ictx != ictx)
			return -EPERM;
	}
	return 0;
}

int fake_idev_bind(struct fake_ictx *ictx, struct fake_device *dev,
		   struct fake_idev **out)
{
	struct fake_idev *idev;
	int ret;

	if (!dev->unit || dev->group < 0)
		return -ENODEV;	/* iommufd_get_group(): no IOMMU group */
	ret = claim_dma_owner(ictx, dev);
	if (ret)
		return ret;
	idev = calloc(1, sizeof(*idev));
	if (!idev)
		return -ENOMEM;
	ret = fake_object_alloc(ictx, &idev->obj, FAKE_OBJ_DEVICE);
	if (ret) {
		free(idev);
		return ret;
	}
	/* The calling driver is a user until the unbind. */
	idev->obj.users++;
	idev->ictx = ictx;
	idev->dev = dev;
	*out = idev;
	return 0;
}

void fake_idev_unbind(struct fake_idev *idev)
{
	fake_object_destroy_user(idev->ictx, &idev->obj);
}

void fake_idev_destroy(struct fake_ictx *ictx, struct fake_object *obj)
{
	struct fake_idev *idev = to_idev(obj);

	(void)ictx;
	free(idev->pasids);
	free(idev);
}

int fake_device_devid(struct fake_device *dev, struct fake_ictx *ictx)
{
	if (dev->bound && dev->bound->ictx == ictx &&
	    dev->kind == FAKE_DEV_PCI)
		return (int)dev->bound->devid;
	/* iommufd_ctx_has_group(): a device of its group is bound here. */
	for (struct fake_device *p = dev->fake->devices; p; p = p->next)
		if (p->group == dev->group && dev->group >= 0 && p->bound &&
		    p->bound->ictx == ictx && p->kind == FAKE_DEV_PCI)
			return -ENOENT;
	return -ENODEV;
}

/* ------------------------------------------------------------------ */
/* Attaching                                                           */

/* iopt_table_enforce_dev_resv_regions(): the device's reserved regions
 * leave the IOAS (EADDRINUSE if mapped or in the allow list). */
static int enforce_resv(struct fake_ioas *ioas, struct fake_idev *idev)
{
	const struct fake_unit *unit = idev->dev->unit;

	for (size_t i = 0; i < unit->nr_resv; i++) {
		const struct fake_resv *r = &unit->resv[i];
		int ret;

		if (r->type == IOMMUFD_RESV_DIRECT_RELAXABLE)
			continue;
		ret = fake_iopt_reserve(&ioas->iopt, r->start, r->last, idev,
					false);
		if (ret) {
			fake_iopt_unreserve(&ioas->iopt, idev);
			return ret;
		}
	}
	return 0;
}

/* iommufd_hwpt_pasid_compat() */
static int pasid_compat(struct fake_hwpt *hwpt, struct fake_idev *idev,
			uint32_t pasid)
{
	if (pasid == FAKE_NO_PASID) {
		if (!hwpt->pasid_compat && group_has_pasids(idev))
			return -EINVAL;
	} else {
		struct fake_hwpt *rid = group_hwpt(idev, FAKE_NO_PASID);

		if (!hwpt->pasid_compat)
			return -EINVAL;
		if (rid && !rid->pasid_compat)
			return -EINVAL;
	}
	return 0;
}

/* Make room for one more PASID attachment, so the commit cannot fail. */
static int pasids_reserve(struct fake_idev *idev)
{
	struct fake_pasid_attach *tab;

	tab = realloc(idev->pasids, (idev->nr_pasids + 1) * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	idev->pasids = tab;
	return 0;
}

static void record_attach(struct fake_idev *idev, uint32_t pasid,
			  struct fake_hwpt *hwpt)
{
	if (pasid == FAKE_NO_PASID) {
		idev->hwpt = hwpt;
		return;
	}
	for (size_t i = 0; i < idev->nr_pasids; i++) {
		if (idev->pasids[i].pasid == pasid) {
			idev->pasids[i].hwpt = hwpt;
			return;
		}
	}
	idev->pasids[idev->nr_pasids].pasid = pasid;
	idev->pasids[idev->nr_pasids].hwpt = hwpt;
	idev->nr_pasids++;
}

static void record_detach(struct fake_idev *idev, uint32_t pasid)
{
	if (pasid == FAKE_NO_PASID) {
		idev->hwpt = NULL;
		return;
	}
	for (size_t i = 0; i < idev->nr_pasids; i++) {
		if (idev->pasids[i].pasid == pasid) {
			idev->pasids[i] = idev->pasids[--idev->nr_pasids];
			return;
		}
	}
}

/* iommufd_hw_pagetable_attach(): reserved regions first, then (for the
 * group's first device) the domain's compatibility with the device. */
int fake_idev_attach_hwpt(struct fake_idev *idev, uint32_t pasid,
			  struct fake_hwpt *hwpt)
{
	struct fake_hwpt *old = group_hwpt(idev, pasid);
	bool resv = pasid == FAKE_NO_PASID;
	int ret;

	if (idev_hwpt(idev, pasid))
		return -EBUSY;	/* attach does not overwrite: replace does */
	if (old && old != hwpt)
		return -EINVAL;
	if (pasid != FAKE_NO_PASID) {
		ret = pasids_reserve(idev);
		if (ret)
			return ret;
	}
	if (resv) {
		ret = enforce_resv(hwpt->ioas, idev);
		if (ret)
			return ret;
	}
	if (!old) {
		ret = pasid_compat(hwpt, idev, pasid);
		if (!ret)
			ret = fake_hwpt_driver_compat(hwpt, idev->dev, pasid);
		if (ret) {
			if (resv)
				fake_iopt_unreserve(&hwpt->ioas->iopt, idev);
			return ret;
		}
	}
	record_attach(idev, pasid, hwpt);
	hwpt->obj.users++;
	return 0;
}

/* Undo fake_idev_attach_hwpt() of a HWPT being aborted. */
void fake_idev_undo_attach(struct fake_idev *idev, uint32_t pasid,
			   struct fake_hwpt *hwpt)
{
	record_detach(idev, pasid);
	if (pasid == FAKE_NO_PASID)
		fake_iopt_unreserve(&hwpt->ioas->iopt, idev);
	hwpt->obj.users--;
}

/* iommufd_device_do_replace(): the group moves to @hwpt; *old_out is the
 * HWPT left behind, whose reference the caller drops. */
static int do_replace(struct fake_idev *idev, uint32_t pasid,
		      struct fake_hwpt *hwpt, struct fake_hwpt **old_out)
{
	struct fake_hwpt *old = group_hwpt(idev, pasid);
	bool resv = pasid == FAKE_NO_PASID;
	struct fake_idev *cur;
	bool new_ioas;
	int ret = 0;

	*old_out = NULL;
	if (!old || !idev_hwpt(idev, pasid))
		return -EINVAL;
	if (hwpt == old)
		return 0;
	new_ioas = resv && hwpt->ioas != old->ioas;
	if (new_ioas) {
		for_each_group_idev(idev->ictx, idev->dev->group, cur) {
			if (idev_hwpt(cur, pasid) != old)
				continue;
			ret = enforce_resv(hwpt->ioas, cur);
			if (ret)
				break;
		}
	}
	if (!ret) {
		ret = pasid_compat(hwpt, idev, pasid);
		if (!ret)
			ret = fake_hwpt_driver_compat(hwpt, idev->dev, pasid);
	}
	if (ret) {
		if (new_ioas) {
			for_each_group_idev(idev->ictx, idev->dev->group, cur)
				fake_iopt_unreserve(&hwpt->ioas->iopt, cur);
		}
		return ret;
	}
	/* Commit: the reservations and the references move. */
	for_each_group_idev(idev->ictx, idev->dev->group, cur) {
		if (idev_hwpt(cur, pasid) != old)
			continue;
		if (new_ioas)
			fake_iopt_unreserve(&old->ioas->iopt, cur);
		record_attach(cur, pasid, hwpt);
		hwpt->obj.users++;
		old->obj.users--;
	}
	old->obj.users++;	/* the caller's, dropped by fake_hwpt_put() */
	*old_out = old;
	return 0;
}

/*
 * iommufd_device_auto_get_domain(): any automatic domain of the IOAS that
 * takes the device (EINVAL means "incompatible": try the next); otherwise a
 * new one. A manually allocated HWPT is never picked.
 */
static int auto_get_domain(struct fake_idev *idev, uint32_t pasid,
			   struct fake_ioas *ioas, uint32_t *pt_id,
			   bool replace, struct fake_hwpt **destroy)
{
	struct fake_hwpt *hwpt;
	int ret;

	*destroy = NULL;
	for (hwpt = ioas->hwpts; hwpt; hwpt = hwpt->ioas_next) {
		if (!hwpt->auto_domain)
			continue;
		if (replace)
			ret = do_replace(idev, pasid, hwpt, destroy);
		else
			ret = fake_idev_attach_hwpt(idev, pasid, hwpt);
		if (ret == -EINVAL)
			continue;
		if (ret)
			return ret;
		*pt_id = hwpt->obj.id;
		return 0;
	}
	/* Attach immediately; a replace attaches after allocating. */
	ret = fake_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, !replace, pasid,
				     &hwpt);
	if (ret)
		return ret;
	if (replace) {
		ret = do_replace(idev, pasid, hwpt, destroy);
		if (ret) {
			fake_object_abort(idev->ictx, &hwpt->obj);
			return ret;
		}
	}
	hwpt->auto_domain = true;
	*pt_id = hwpt->obj.id;
	return 0;
}

/* iommufd_device_change_pt() */
static int change_pt(struct fake_idev *idev, uint32_t pasid, uint32_t *pt_id,
		     bool replace)
{
	struct fake_object *obj = fake_object_get(idev->ictx, *pt_id,
						  FAKE_OBJ_ANY);
	struct fake_hwpt *destroy = NULL;
	int ret;

	if (!obj)
		return -ENOENT;
	switch (obj->type) {
	case FAKE_OBJ_HWPT_PAGING: {
		struct fake_hwpt *hwpt =
			fake_container_of(obj, struct fake_hwpt, obj);

		if (replace)
			ret = do_replace(idev, pasid, hwpt, &destroy);
		else
			ret = fake_idev_attach_hwpt(idev, pasid, hwpt);
		break;
	}
	case FAKE_OBJ_IOAS:
		ret = auto_get_domain(idev, pasid,
				      fake_container_of(obj, struct fake_ioas,
							obj),
				      pt_id, replace, &destroy);
		break;
	default:
		return -EINVAL;
	}
	if (!ret && destroy)
		fake_hwpt_put(idev->ictx, destroy);
	return ret;
}

int fake_idev_attach(struct fake_idev *idev, uint32_t pasid, uint32_t *pt_id)
{
	int ret = change_pt(idev, pasid, pt_id, false);

	if (ret)
		return ret;
	/* Pairs with the detach: a device with an attachment stays. */
	idev->obj.users++;
	return 0;
}

int fake_idev_replace(struct fake_idev *idev, uint32_t pasid, uint32_t *pt_id)
{
	return change_pt(idev, pasid, pt_id, true);
}

void fake_idev_detach(struct fake_idev *idev, uint32_t pasid)
{
	struct fake_hwpt *hwpt = idev_hwpt(idev, pasid);

	if (!hwpt)
		return;
	record_detach(idev, pasid);
	if (pasid == FAKE_NO_PASID)
		fake_iopt_unreserve(&hwpt->ioas->iopt, idev);
	fake_hwpt_put(idev->ictx, hwpt);
	idev->obj.users--;
}

/* ------------------------------------------------------------------ */
/* Access objects: emulated devices                                    */

int fake_access_create(struct fake_ictx *ictx, struct fake_device *dev,
		       struct fake_access **out)
{
	struct fake_access *access = calloc(1, sizeof(*access));
	int ret;

	if (!access)
		return -ENOMEM;
	ret = fake_object_alloc(ictx, &access->obj, FAKE_OBJ_ACCESS);
	if (ret) {
		free(access);
		return ret;
	}
	/* The calling driver is a user until iommufd_access_destroy(). */
	access->obj.users++;
	access->ictx = ictx;
	access->dev = dev;
	*out = access;
	return 0;
}

void fake_access_detach(struct fake_access *access)
{
	if (!access->ioas)
		return;
	access->ioas->obj.users--;
	access->ioas = NULL;
}

void fake_access_destroy(struct fake_access *access)
{
	fake_access_detach(access);
	fake_object_destroy_user(access->ictx, &access->obj);
}

void fake_access_destroy_obj(struct fake_ictx *ictx, struct fake_object *obj)
{
	struct fake_access *access =
		fake_container_of(obj, struct fake_access, obj);

	(void)ictx;
	fake_access_detach(access);
	free(access);
}

/* iommufd_access_attach() / iommufd_access_replace(): an IOAS only. */
int fake_access_attach(struct fake_access *access, uint32_t ioas_id,
		       bool replace)
{
	struct fake_ioas *ioas;

	if (!replace && access->ioas)
		return -EINVAL;
	if (replace && !access->ioas)
		return -ENOENT;
	ioas = fake_get_ioas(access->ictx, ioas_id);
	if (!ioas)
		return -ENOENT;
	if (ioas == access->ioas)
		return 0;
	ioas->obj.users++;
	fake_access_detach(access);
	access->ioas = ioas;
	return 0;
}

/* ------------------------------------------------------------------ */
/* DMA                                                                 */

/* The HWPT translating the device's requests without PASID. */
static struct fake_hwpt *device_rid_hwpt(struct fake_device *dev)
{
	struct fake_idev *idev;

	if (!dev->bound || !dev->bound->idobj ||
	    dev->bound->idobj->type != FAKE_OBJ_DEVICE)
		return NULL;
	idev = to_idev(dev->bound->idobj);
	return idev->hwpt ? idev->hwpt : group_hwpt(idev, FAKE_NO_PASID);
}

int fake_device_dma(struct fake_device *dev, uint64_t iova, void *buf,
		    size_t len, bool write)
{
	struct fake_iopt *iopt = NULL;
	struct fake_hwpt *hwpt = NULL;
	struct fake_type1 *type1 = NULL;
	uint64_t fault_iova = iova;
	int ret = -ENODEV;

	if (dev->kind == FAKE_DEV_PCI && !fake_pci_bus_master(dev))
		return -EIO;
	if (dev->kind == FAKE_DEV_EMULATED) {
		struct fake_df *df = dev->bound;

		if (df && df->idobj && df->idobj->type == FAKE_OBJ_ACCESS) {
			struct fake_access *access = fake_container_of(
				df->idobj, struct fake_access, obj);

			if (access->ioas)
				iopt = &access->ioas->iopt;
		}
	} else {
		hwpt = device_rid_hwpt(dev);
		if (hwpt)
			iopt = &hwpt->ioas->iopt;
	}
	/* Not bound to an iommufd: a VFIO container's type1 IOMMU, if the
	 * group has one. */
	if (!iopt && !dev->bound)
		type1 = fake_vgroup_type1(dev->fake, dev->group);
	if (iopt)
		ret = fake_iopt_rw(dev->fake, iopt, iova, buf, len, write,
				   &fault_iova);
	else if (type1)
		ret = fake_type1_dma(type1, dev->kind == FAKE_DEV_EMULATED,
				     iova, buf, len, write, &fault_iova);
	if (ret) {
		dev->faults++;
		dev->last_fault_iova = fault_iova;
		dev->last_fault_write = write;
		dev->last_fault_reason = ret;
		return -EFAULT;
	}
	dev->dmas++;
	if (write) {
		/* The IOMMU dirties the IOPTEs it wrote through; the device
		 * logs its own writes (its DMA logging, whatever translates). */
		if (hwpt)
			fake_hwpt_mark_dirty(hwpt, iova, len);
		fake_dma_log_mark(dev, iova, len);
	}
	return 0;
}
