/* SPDX-License-Identifier: MIT */
/*
 * HWPT objects (the kernel's iommufd_hwpt_paging over an iommu_domain) and
 * the commands about them and about a device's IOMMU: IOMMU_HWPT_ALLOC,
 * IOMMU_GET_HW_INFO and IOMMU_HWPT_SET_DIRTY_TRACKING. Modelled on
 * drivers/iommu/iommufd/{hw_pagetable.c,device.c} and the VT-d driver's
 * answers; the rules are the kernel's, the code is ours.
 *
 * A HWPT belongs to the IOMMU unit of the device it was allocated for: a
 * device behind another unit cannot attach to it (EINVAL, the kernel's
 * "incompatible domain"). It holds its IOAS (which then cannot be destroyed)
 * and reserves in it what lies outside the unit's aperture. Its dirty bits
 * are kept per IOVA page while tracking is on; reading them is a later model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

#define V(maj, min) FAKE_KVER(maj, min)

/* ------------------------------------------------------------------ */
/* Dirty bits                                                          */

static uint64_t hash_page(uint64_t page)
{
	page ^= page >> 33;
	page *= UINT64_C(0xff51afd7ed558ccd);
	page ^= page >> 33;
	return page;
}

static bool dirty_insert(struct fake_dirty *d, uint64_t page)
{
	size_t i;

	if ((d->nr + 1) * 4 > d->cap * 3) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		uint64_t *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return false;
		for (size_t j = 0; j < d->cap; j++) {
			if (!d->slots[j])
				continue;
			for (i = hash_page(d->slots[j] - 1) & (cap - 1); slots[i];
			     i = (i + 1) & (cap - 1))
				;
			slots[i] = d->slots[j];
		}
		free(d->slots);
		d->slots = slots;
		d->cap = cap;
	}
	for (i = hash_page(page) & (d->cap - 1); d->slots[i];
	     i = (i + 1) & (d->cap - 1))
		if (d->slots[i] == page + 1)
			return true;
	d->slots[i] = page + 1;
	d->nr++;
	return true;
}

static void dirty_clear(struct fake_dirty *d)
{
	free(d->slots);
	memset(d, 0, sizeof(*d));
}

/*
 * The IOMMU sets the dirty bit of every IOPTE a device writes through while
 * tracking is on (the hook for IOMMU_HWPT_GET_DIRTY_BITMAP, a later model).
 * Without memory to record a page, the HWPT's pages all count as dirty.
 */
void fake_hwpt_mark_dirty(struct fake_hwpt *hwpt, uint64_t iova, uint64_t len)
{
	uint64_t page_size = hwpt->ictx->fake->page_size;

	if (!hwpt->dirty_enabled || !len)
		return;
	for (uint64_t p = iova / page_size; p <= (iova + len - 1) / page_size;
	     p++) {
		if (!dirty_insert(&hwpt->dirty, p)) {
			hwpt->dirty_all = true;
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* HWPT objects                                                        */

int fake_hwpt_driver_compat(struct fake_hwpt *hwpt, struct fake_device *dev,
			    uint32_t pasid)
{
	const struct fake_unit *unit = dev->unit;

	/* The domain was made by (and for) another IOMMU. */
	if (hwpt->unit != unit)
		return -EINVAL;
	/* A dirty-tracking domain on an IOMMU without the capability. */
	if (hwpt->dirty_ops && !unit->dirty_tracking)
		return -EINVAL;
	if (pasid != FAKE_NO_PASID) {
		/* iommu_attach_device_pasid(): within the device's PASIDs */
		if (!dev->pasid || !unit->pasid_log2 ||
		    pasid >= UINT32_C(1) << unit->pasid_log2)
			return -EINVAL;
	}
	return 0;
}

/* iopt_table_add_domain(): the domain's page size and aperture. */
static int add_domain(struct fake_ioas *ioas, struct fake_hwpt *hwpt)
{
	const struct fake_unit *unit = hwpt->unit;
	struct fake_iopt *iopt = &ioas->iopt;
	int ret = 0;

	if (unit->page_size > hwpt->ictx->fake->page_size)
		return -EINVAL;	/* an IOVA alignment above PAGE_SIZE */
	if (unit->aperture_start)
		ret = fake_iopt_reserve(iopt, 0, unit->aperture_start - 1, hwpt,
					false);
	if (!ret && unit->aperture_last != UINT64_MAX)
		ret = fake_iopt_reserve(iopt, unit->aperture_last + 1,
					UINT64_MAX, hwpt, false);
	if (ret) {
		fake_iopt_unreserve(iopt, hwpt);
		return ret;
	}
	hwpt->ioas_next = ioas->hwpts;
	ioas->hwpts = hwpt;
	return 0;
}

void fake_hwpt_destroy(struct fake_ictx *ictx, struct fake_object *obj)
{
	struct fake_hwpt *hwpt = fake_container_of(obj, struct fake_hwpt, obj);
	struct fake_ioas *ioas = hwpt->ioas;

	(void)ictx;
	for (struct fake_hwpt **p = &ioas->hwpts; *p; p = &(*p)->ioas_next) {
		if (*p == hwpt) {
			*p = hwpt->ioas_next;
			break;
		}
	}
	fake_iopt_unreserve(&ioas->iopt, hwpt);
	ioas->obj.users--;
	if (hwpt->fault)
		hwpt->fault->users--;
	dirty_clear(&hwpt->dirty);
	free(hwpt);
}

void fake_hwpt_put(struct fake_ictx *ictx, struct fake_hwpt *hwpt)
{
	/* An automatic domain goes with its last attachment. */
	if (hwpt->auto_domain)
		fake_object_put_and_try_destroy(ictx, &hwpt->obj);
	else
		hwpt->obj.users--;
}

int fake_hwpt_paging_alloc(struct fake_ictx *ictx, struct fake_ioas *ioas,
			   struct fake_idev *idev, uint32_t flags,
			   bool immediate, uint32_t pasid,
			   struct fake_hwpt **out)
{
	const uint32_t valid = IOMMU_HWPT_ALLOC_NEST_PARENT |
			       IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			       IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
	const struct fake_unit *unit = idev->dev->unit;
	struct fake_hwpt *hwpt;
	int ret;

	/* An IOMMU driver without domain_alloc_paging_flags() takes none. */
	if (flags && unit->hw_info_type == IOMMU_HW_INFO_TYPE_NONE)
		return -EOPNOTSUPP;
	if (flags & ~valid)
		return -EOPNOTSUPP;
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !unit->dirty_tracking)
		return -EOPNOTSUPP;
	if ((flags & IOMMU_HWPT_FAULT_ID_VALID) &&
	    (flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return -EOPNOTSUPP;
	/* The VT-d driver: a nesting parent needs nested translation. */
	if ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && !unit->nest_parent)
		return -EOPNOTSUPP;

	hwpt = calloc(1, sizeof(*hwpt));
	if (!hwpt)
		return -ENOMEM;
	ret = fake_object_alloc(ictx, &hwpt->obj, FAKE_OBJ_HWPT_PAGING);
	if (ret) {
		free(hwpt);
		return ret;
	}
	hwpt->ictx = ictx;
	hwpt->ioas = ioas;
	hwpt->unit = idev->dev->unit;
	hwpt->flags = flags;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	hwpt->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	hwpt->dirty_ops = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	ioas->obj.users++;

	if (immediate) {
		ret = fake_idev_attach_hwpt(idev, pasid, hwpt);
		if (ret)
			goto abort;
	}
	ret = add_domain(ioas, hwpt);
	if (ret) {
		if (immediate)
			fake_idev_undo_attach(idev, pasid, hwpt);
		goto abort;
	}
	*out = hwpt;
	return 0;
abort:
	fake_object_abort(ictx, &hwpt->obj);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static struct fake_idev *get_idev(struct fake_ictx *ictx, uint32_t id)
{
	struct fake_object *obj = fake_object_get(ictx, id, FAKE_OBJ_DEVICE);

	return obj ? fake_container_of(obj, struct fake_idev, obj) : NULL;
}

/*
 * A nested HWPT over a nesting parent: the checks the kernel makes before
 * the driver builds the nested domain, which is not modelled (EOPNOTSUPP).
 */
static int nested_alloc(struct fake_hwpt *parent, struct fake_idev *idev,
			const struct iommu_hwpt_alloc *cmd)
{
	if ((cmd->flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) ||
	    !cmd->data_len ||
	    idev->dev->unit->hw_info_type == IOMMU_HW_INFO_TYPE_NONE)
		return -EOPNOTSUPP;
	if (parent->auto_domain || !parent->nest_parent ||
	    parent->unit != idev->dev->unit)
		return -EINVAL;
	return -EOPNOTSUPP;
}

int fake_hwpt_alloc_ioctl(struct fake_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct fake_ictx *ictx = ucmd->ictx;
	uint32_t valid = fake_valid_flags(ucmd->kver, IOMMUFD_CMD_HWPT_ALLOC);
	struct fake_object *pt_obj;
	struct fake_hwpt *hwpt;
	struct fake_idev *idev;
	int ret;

	if (ucmd->kver < V(6, 7)) {
		/* 6.6: no flags at all, checked up front; pt_id an IOAS. */
		if ((cmd->flags & ~valid) || cmd->__reserved)
			return -EOPNOTSUPP;
		idev = get_idev(ictx, cmd->dev_id);
		if (!idev)
			return -ENOENT;
		pt_obj = fake_object_get(ictx, cmd->pt_id, FAKE_OBJ_IOAS);
		if (!pt_obj)
			return -ENOENT;
	} else {
		if (cmd->__reserved)
			return -EOPNOTSUPP;
		if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
		    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
			return -EINVAL;
		idev = get_idev(ictx, cmd->dev_id);
		if (!idev)
			return -ENOENT;
		pt_obj = fake_object_get(ictx, cmd->pt_id, FAKE_OBJ_ANY);
		if (!pt_obj)
			return -EINVAL;
	}

	switch (pt_obj->type) {
	case FAKE_OBJ_IOAS:
		/* Flags this kernel does not know are unknown to the IOMMU
		 * driver too; user data for a paging domain: no driver takes
		 * it. */
		if (cmd->flags & ~valid)
			return -EOPNOTSUPP;
		if (cmd->data_len)
			return -EOPNOTSUPP;
		ret = fake_hwpt_paging_alloc(ictx,
					     fake_container_of(pt_obj,
							       struct fake_ioas,
							       obj),
					     idev, cmd->flags, false, FAKE_NO_PASID,
					     &hwpt);
		if (ret)
			return ret;
		break;
	case FAKE_OBJ_HWPT_PAGING:
		return nested_alloc(fake_container_of(pt_obj, struct fake_hwpt,
						      obj),
				    idev, cmd);
	default:
		return -EINVAL;
	}

	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct fake_object *fault = fake_object_get(ictx, cmd->fault_id,
							    FAKE_OBJ_FAULT);

		if (!fault) {
			fake_object_abort(ictx, &hwpt->obj);
			return -ENOENT;
		}
		hwpt->fault = fault;
		fault->users++;
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	ret = fake_ucmd_respond(ucmd);
	if (ret)
		fake_object_abort(ictx, &hwpt->obj);
	return ret;
}

int fake_get_hw_info_ioctl(struct fake_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	const uint8_t *raw = ucmd->cmd;
	struct iommu_hw_info_vtd vtd = { 0 };
	const struct fake_unit *unit;
	struct fake_idev *idev;
	uint32_t data_len = 0, copy_len;
	const void *data = NULL;
	char *uptr = (char *)(uintptr_t)cmd->data_uptr;

	if (cmd->flags & ~fake_valid_flags(ucmd->kver, IOMMUFD_CMD_GET_HW_INFO))
		return -EOPNOTSUPP;
	/* Before 6.15 out_max_pasid_log2 was part of a __u32 __reserved. */
	if ((ucmd->kver < V(6, 15) && raw[28]) || cmd->__reserved[0] ||
	    cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	/* Drivers do not take a random input type. */
	if (!(cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE))
		cmd->in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;
	idev = get_idev(ucmd->ictx, cmd->dev_id);
	if (!idev)
		return -ENOENT;
	unit = idev->dev->unit;

	if (unit->hw_info_type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
		/* intel_iommu_hw_info() */
		if (cmd->in_data_type != IOMMU_HW_INFO_TYPE_DEFAULT &&
		    cmd->in_data_type != IOMMU_HW_INFO_TYPE_INTEL_VTD)
			return -EOPNOTSUPP;
		vtd.cap_reg = unit->cap_reg;
		vtd.ecap_reg = unit->ecap_reg;
		data = &vtd;
		data_len = sizeof(vtd);
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	} else {
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	}

	/* min(user, kernel) bytes, the rest of the user's buffer zeroed, and
	 * the kernel's length back. */
	copy_len = cmd->data_len < data_len ? cmd->data_len : data_len;
	if (copy_len && fake_copy_to_user(uptr, data, copy_len))
		return -EFAULT;
	for (uint32_t off = copy_len; off < cmd->data_len;) {
		static const uint8_t zeros[256];
		uint32_t n = cmd->data_len - off;

		if (n > sizeof(zeros))
			n = sizeof(zeros);
		if (fake_copy_to_user(uptr + off, zeros, n))
			return -EFAULT;
		off += n;
	}
	cmd->data_len = data_len;

	cmd->out_capabilities = 0;
	if (unit->dirty_tracking)
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	cmd->out_max_pasid_log2 = 0;
	if (ucmd->kver >= V(6, 15) && idev->dev->pasid)
		cmd->out_max_pasid_log2 = unit->pasid_log2;
	return fake_ucmd_respond(ucmd);
}

int fake_hwpt_set_dirty_tracking_ioctl(struct fake_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct fake_object *obj;
	struct fake_hwpt *hwpt;
	bool enable;

	/* The kernel does not look at __reserved here. */
	if (cmd->flags & ~fake_valid_flags(ucmd->kver,
					   IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	obj = fake_object_get(ucmd->ictx, cmd->hwpt_id, FAKE_OBJ_HWPT_PAGING);
	if (!obj)
		return -ENOENT;
	hwpt = fake_container_of(obj, struct fake_hwpt, obj);
	/* iopt_set_dirty_tracking(): a domain without dirty ops. */
	if (!hwpt->dirty_ops)
		return -EOPNOTSUPP;
	enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	/* Enabling starts from a clean snapshot. */
	if (enable) {
		dirty_clear(&hwpt->dirty);
		hwpt->dirty_all = false;
	}
	hwpt->dirty_enabled = enable;
	return 0;
}
