/* SPDX-License-Identifier: MIT */
/*
 * HWPT objects (the kernel's iommufd_hwpt_paging over an iommu_domain) and
 * the commands about them and about a device's IOMMU: IOMMU_HWPT_ALLOC,
 * IOMMU_GET_HW_INFO, IOMMU_HWPT_SET_DIRTY_TRACKING and
 * IOMMU_HWPT_GET_DIRTY_BITMAP. Modelled on
 * drivers/iommu/iommufd/{hw_pagetable.c,device.c,io_pagetable.c,
 * iova_bitmap.c} and the VT-d driver's answers; the rules are the
 * kernel's, the code is ours.
 *
 * A HWPT belongs to the IOMMU unit of the device it was allocated for: a
 * device behind another unit cannot attach to it (EINVAL, the kernel's
 * "incompatible domain"). It holds its IOAS (which then cannot be destroyed)
 * and reserves in it what lies outside the unit's aperture. Its dirty bits
 * are kept per IOVA page while tracking is on (a device's DMA writes set
 * them, an unmap drops them with the IOPTEs, enabling tracking clears
 * them) and read, and cleared, through IOMMU_HWPT_GET_DIRTY_BITMAP. The
 * user's bitmap is written as the kernel's iova_bitmap writes it (bits set,
 * never cleared), a model shared with VFIO's DMA logging reports (vfio.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

#define V(maj, min) FAKE_KVER(maj, min)

/* ------------------------------------------------------------------ */
/* Dirty records: runs of pages                                        */

/* The first run that ends at or after @page. */
static size_t dirty_lower(const struct fake_dirty *d, uint64_t page)
{
	size_t lo = 0, hi = d->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->runs[mid].last < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool fake_dirty_reserve(struct fake_dirty *d, size_t extra)
{
	struct fake_range *runs;
	size_t cap;

	if (d->nr + extra <= d->cap)
		return true;
	cap = d->cap ? d->cap * 2 : 16;
	while (cap < d->nr + extra)
		cap *= 2;
	runs = realloc(d->runs, cap * sizeof(*runs));
	if (!runs)
		return false;
	d->runs = runs;
	d->cap = cap;
	return true;
}

bool fake_dirty_add(struct fake_dirty *d, uint64_t first, uint64_t last)
{
	/* Runs that overlap [first, last] or touch it merge with it. */
	size_t i = dirty_lower(d, first ? first - 1 : 0), j = i;

	while (j < d->nr &&
	       (last == UINT64_MAX || d->runs[j].start <= last + 1))
		j++;
	if (i == j) {
		if (!fake_dirty_reserve(d, 1))
			return false;
		memmove(&d->runs[i + 1], &d->runs[i],
			(d->nr - i) * sizeof(*d->runs));
		d->runs[i].start = first;
		d->runs[i].last = last;
		d->nr++;
		return true;
	}
	if (d->runs[i].start > first)
		d->runs[i].start = first;
	d->runs[i].last = d->runs[j - 1].last > last ? d->runs[j - 1].last :
						       last;
	memmove(&d->runs[i + 1], &d->runs[j], (d->nr - j) * sizeof(*d->runs));
	d->nr -= j - i - 1;
	return true;
}

int fake_dirty_clear(struct fake_dirty *d, uint64_t first, uint64_t last)
{
	size_t i = dirty_lower(d, first), j;

	if (i == d->nr || d->runs[i].start > last)
		return 0;
	if (d->runs[i].start < first && d->runs[i].last > last) {
		/* a hole in the middle of one run */
		if (!fake_dirty_reserve(d, 1))
			return -ENOMEM;
		memmove(&d->runs[i + 2], &d->runs[i + 1],
			(d->nr - i - 1) * sizeof(*d->runs));
		d->runs[i + 1].start = last + 1;
		d->runs[i + 1].last = d->runs[i].last;
		d->runs[i].last = first - 1;
		d->nr++;
		return 0;
	}
	if (d->runs[i].start < first)
		d->runs[i++].last = first - 1;
	for (j = i; j < d->nr && d->runs[j].last <= last; j++)
		;
	if (j < d->nr && d->runs[j].start <= last)
		d->runs[j].start = last + 1;
	memmove(&d->runs[i], &d->runs[j], (d->nr - j) * sizeof(*d->runs));
	d->nr -= j - i;
	return 0;
}

void fake_dirty_free(struct fake_dirty *d)
{
	free(d->runs);
	memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------------ */
/* The user's bitmap (the kernel's iova_bitmap)                        */

/*
 * Bytes from @uaddr on, up to @len, in pages that pin_user_pages() could
 * pin: those a VMA backs (mincore() answers ENOMEM for the others).
 */
static uint64_t user_prefix(uint64_t uaddr, uint64_t len)
{
	const uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned char vec[256];
	uint64_t page = uaddr & ~(ps - 1), end;

	if (__builtin_add_overflow(uaddr, len, &end) || end > UINTPTR_MAX) {
		end = (uint64_t)UINTPTR_MAX & ~(ps - 1);
		if (end <= uaddr)
			return 0;
		len = end - uaddr;
	}
	while (page < end) {
		uint64_t n = (end - page + ps - 1) / ps, k;

		if (n > sizeof(vec))
			n = sizeof(vec);
		if (!mincore((void *)(uintptr_t)page, n * ps, vec)) {
			page += n * ps;
			continue;
		}
		/* a page of the chunk is not mapped: the first one */
		for (k = 0; k < n; k++)
			if (mincore((void *)(uintptr_t)(page + k * ps), ps, vec))
				break;
		page += k * ps;
		return page > uaddr ? page - uaddr : 0;
	}
	return len;
}

void fake_iova_bitmap_init(struct fake_iova_bitmap *bm, uint64_t iova,
			   uint64_t last, uint64_t page_size, uint64_t uptr)
{
	uint64_t words;

	memset(bm, 0, sizeof(*bm));
	bm->iova = iova;
	bm->last = last;
	bm->pgshift = (unsigned int)__builtin_ctzll(page_size);
	bm->uptr = uptr;
	words = (((last - iova) >> bm->pgshift) >> 6) + 1;
	bm->need = words * sizeof(uint64_t);
	bm->avail = user_prefix(uptr, bm->need);
}

/* OR the word being built into the user's: false if it cannot be. */
static bool bitmap_flush(struct fake_iova_bitmap *bm)
{
	uint64_t off, v;
	char *uaddr;

	if (!bm->have_word)
		return true;
	bm->have_word = false;
	off = bm->word_idx * sizeof(uint64_t);
	if (off >= bm->avail || bm->avail - off < sizeof(uint64_t))
		return false;
	uaddr = (char *)(uintptr_t)(bm->uptr + off);
	if (fake_copy_from_user(&v, uaddr, sizeof(v)))
		return false;
	v |= bm->word;
	return !fake_copy_to_user(uaddr, &v, sizeof(v));
}

/* Set bits [b0, b1]; false (with *stop_bit) when the bitmap stops short. */
static bool bitmap_set_bits(struct fake_iova_bitmap *bm, uint64_t b0,
			    uint64_t b1, uint64_t *stop_bit)
{
	for (uint64_t w = b0 >> 6; w <= b1 >> 6; w++) {
		unsigned int lo = w == b0 >> 6 ? (unsigned int)(b0 & 63) : 0;
		unsigned int hi = w == b1 >> 6 ? (unsigned int)(b1 & 63) : 63;
		uint64_t mask = (UINT64_MAX >> (63 - hi)) & (UINT64_MAX << lo);

		if (bm->have_word && bm->word_idx != w) {
			uint64_t prev = bm->word_idx;

			if (!bitmap_flush(bm)) {
				*stop_bit = prev << 6;
				return false;
			}
		}
		if (!bm->have_word) {
			bm->have_word = true;
			bm->word_idx = w;
			bm->word = 0;
		}
		bm->word |= mask;
	}
	return true;
}

int fake_iova_bitmap_report(struct fake_iova_bitmap *bm, struct fake_dirty *d,
			    unsigned int shift, bool all, uint64_t start,
			    uint64_t last, bool clear)
{
	struct fake_range whole = { start >> shift, last >> shift };
	const struct fake_range *runs;
	size_t nr = all ? 1 : d->nr;
	uint64_t stop_bit = 0, clear_last = last;
	bool stopped = false;

	/* Clearing splits at most one run: make room first, so that what was
	 * reported is always cleared. The room may move the runs: read them
	 * only after. */
	if (clear && !all && !fake_dirty_reserve(d, 1))
		return -ENOMEM;
	runs = all ? &whole : d->runs;
	for (size_t i = all ? 0 : dirty_lower(d, start >> shift);
	     i < nr && runs[i].start <= last >> shift; i++) {
		uint64_t a = runs[i].start << shift;
		uint64_t b = (runs[i].last << shift) | ((UINT64_C(1) << shift) - 1);

		if (a < start)
			a = start;
		if (b > last)
			b = last;
		if (!bitmap_set_bits(bm, (a - bm->iova) >> bm->pgshift,
				     (b - bm->iova) >> bm->pgshift, &stop_bit)) {
			stopped = true;
			break;
		}
	}
	if (!stopped && bm->have_word) {
		uint64_t idx = bm->word_idx;

		if (!bitmap_flush(bm)) {
			stop_bit = idx << 6;
			stopped = true;
		}
	}
	/* Nor is a bitmap whose pages could not all be pinned walked to its
	 * end (the next window's pin fails). */
	if (!stopped && bm->avail < bm->need) {
		uint64_t first_bad = bm->avail / sizeof(uint64_t);

		if (((last - bm->iova) >> bm->pgshift) >> 6 >= first_bad) {
			stop_bit = first_bad << 6;
			stopped = true;
		}
	}
	if (stopped) {
		uint64_t stop_iova = bm->iova + (stop_bit << bm->pgshift);

		bm->stopped = true;
		/* Forget only the pages wholly reported before the stop. */
		if (stop_iova <= start ||
		    (stop_iova >> shift) <= (start >> shift))
			clear = false;
		else
			clear_last = ((stop_iova >> shift) << shift) - 1;
	}
	if (clear && !all)
		(void)fake_dirty_clear(d, start >> shift, clear_last >> shift);
	return stopped ? -EFAULT : 0;
}

/* ------------------------------------------------------------------ */
/* The IOPTE dirty bits of a HWPT                                      */

static unsigned int page_shift(const struct fake_hwpt *hwpt)
{
	return (unsigned int)__builtin_ctzll(hwpt->ictx->fake->page_size);
}

/*
 * The IOMMU sets the dirty bit of every IOPTE a device writes through while
 * tracking is on. Without memory to record a page, the HWPT's pages all
 * count as dirty (until tracking is enabled again).
 */
void fake_hwpt_mark_dirty(struct fake_hwpt *hwpt, uint64_t iova, uint64_t len)
{
	unsigned int shift = page_shift(hwpt);
	uint64_t last;

	if (!hwpt->dirty_enabled || !len)
		return;
	if (__builtin_add_overflow(iova, len - 1, &last))
		last = UINT64_MAX;
	if (!fake_dirty_add(&hwpt->dirty, iova >> shift, last >> shift))
		hwpt->dirty_all = true;
}

void fake_hwpt_forget_dirty(struct fake_hwpt *hwpt, uint64_t iova,
			    uint64_t last)
{
	unsigned int shift = page_shift(hwpt);

	if (fake_dirty_clear(&hwpt->dirty, iova >> shift, last >> shift))
		hwpt->dirty_all = true;	/* could not split: over-report */
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
	fake_dirty_free(&hwpt->dirty);
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
		fake_dirty_free(&hwpt->dirty);
		hwpt->dirty_all = false;
	}
	hwpt->dirty_enabled = enable;
	return 0;
}

/*
 * iommufd_hwpt_get_dirty_bitmap(): the kernel's checks in its order, then
 * iopt_read_and_clear_dirty_data(). The driver (VT-d) reads the IOPTEs of
 * the areas that follow each other from @iova on: the first IOVA not mapped
 * ends the walk (the kernel's contiguous-area iterator fails there), and so
 * does a HWPT whose tracking is off (the driver refuses to read it). Both
 * failures, like a bitmap the kernel cannot pin, are swallowed by
 * iommu_read_and_clear_dirty(), which returns 0 whatever its walk met: the
 * bits it did not reach are simply not set.
 */
int fake_hwpt_get_dirty_bitmap_ioctl(struct fake_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct fake_iova_bitmap bm;
	struct fake_object *obj;
	struct fake_hwpt *hwpt;
	uint64_t align, last, contig_last;
	int ret;

	if ((cmd->flags & ~fake_valid_flags(ucmd->kver,
					    IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	obj = fake_object_get(ucmd->ictx, cmd->hwpt_id, FAKE_OBJ_HWPT_PAGING);
	if (!obj)
		return -ENOENT;
	hwpt = fake_container_of(obj, struct fake_hwpt, obj);

	/* iommufd_check_iova_range() */
	align = hwpt->ioas->iopt.iova_alignment;
	if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	if ((cmd->iova & (align - 1)) || ((last + 1) & (align - 1)))
		return -EINVAL;
	if (!cmd->page_size)
		return -EINVAL;
	if ((cmd->iova & (cmd->page_size - 1)) ||
	    ((last + 1) & (cmd->page_size - 1)))
		return -EINVAL;

	/* iommu_read_and_clear_dirty(): a domain without dirty ops */
	if (!hwpt->dirty_ops)
		return -EOPNOTSUPP;
	if (!hwpt->dirty_enabled)
		return 0;
	if (!fake_iopt_contig(&hwpt->ioas->iopt, cmd->iova, last, &contig_last))
		return 0;
	fake_iova_bitmap_init(&bm, cmd->iova, last, cmd->page_size, cmd->data);
	ret = fake_iova_bitmap_report(&bm, &hwpt->dirty, page_shift(hwpt),
				      hwpt->dirty_all, cmd->iova, contig_last,
				      !(cmd->flags &
					IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	return ret == -ENOMEM ? ret : 0;
}
