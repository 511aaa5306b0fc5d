/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device file of the fake kernel (/dev/vfio/devices/vfioN, Linux
 * 6.6+): open, VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT and
 * DETACH, VFIO_DEVICE_FEATURE (with the core's migration and DMA logging
 * features: device dirty tracking), and the hand-off of the other ioctls,
 * reads, writes and mmaps to the device's driver (pci.c). Modelled on
 * drivers/vfio/{vfio_main.c,device_cdev.c,iommufd.c}; the rules are the
 * kernel's, the code is ours.
 *
 * A device file is unusable until it is bound: every ioctl but BIND_IOMMUFD,
 * and read, write and mmap, fail with EINVAL. A device binds once (one file
 * at a time); closing the bound file detaches and unbinds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/vfio.h>

#include "fake-internal.h"

#define V(maj, min) FAKE_KVER(maj, min)
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* PASID flags of ATTACH/DETACH arrived in 6.15, the VF token in 6.17. */
#define KVER_PASID V(6, 15)
#define KVER_BIND_TOKEN V(6, 17)

static bool is_emulated(const struct fake_df *df)
{
	return df->dev->kind == FAKE_DEV_EMULATED;
}

/* ------------------------------------------------------------------ */
/* Bind and unbind                                                     */

/* vfio_df_open() and the iommufd bind of the driver's open. */
static int df_open(struct fake_df *df, struct fake_ictx *ictx)
{
	struct fake_device *dev = df->dev;
	int ret;

	/* Only the group path opens a device twice. */
	if (dev->open_count)
		return -EINVAL;
	if (is_emulated(df)) {
		struct fake_access *access;

		ret = fake_access_create(ictx, dev, &access);
		if (ret)
			return ret;
		df->idobj = &access->obj;
	} else {
		struct fake_idev *idev;

		ret = fake_idev_bind(ictx, dev, &idev);
		if (ret)
			return ret;
		df->idobj = &idev->obj;
	}
	df->devid = df->idobj->id;
	df->ictx = ictx;
	dev->open_count = 1;
	dev->bound = df;
	fake_pci_open_device(dev);
	return 0;
}

/* vfio_df_close(): the driver's close, then the iommufd unbind. */
static void df_close(struct fake_df *df)
{
	struct fake_device *dev = df->dev;

	fake_pci_close_device(dev);
	if (is_emulated(df)) {
		fake_access_destroy(fake_container_of(df->idobj,
						      struct fake_access, obj));
	} else {
		struct fake_idev *idev =
			fake_container_of(df->idobj, struct fake_idev, obj);

		/* vfio_iommufd_physical_unbind(): PASIDs, the RID, the device */
		while (idev->nr_pasids)
			fake_idev_detach(idev, idev->pasids[0].pasid);
		if (df->pasid0)
			fake_idev_detach(idev, FAKE_NO_PASID);
		if (df->attached)
			fake_idev_detach(idev, FAKE_NO_PASID);
		fake_idev_unbind(idev);
	}
	df->attached = false;
	df->pasid0 = false;
	df->idobj = NULL;
	dev->open_count = 0;
	dev->bound = NULL;
}

static void df_unbind(struct fake_df *df)
{
	struct fake_ictx *ictx = df->ictx;

	if (!df->access_granted)
		return;
	df->access_granted = false;
	if (df->dev)
		df_close(df);
	df->ictx = NULL;
	fake_file_put(ictx->file);
}

static long df_bind(struct fake_df *df, void *arg)
{
	struct fake_device *dev = df->dev;
	unsigned int kver = dev->fake->kver;
	size_t minsz = offsetofend(struct vfio_device_bind_iommufd, out_devid);
	struct vfio_device_bind_iommufd bind;
	uint32_t valid = 0, user_size;
	size_t ksize = minsz;
	struct fake_ictx *ictx;
	int ret;

	if (fake_copy_from_user(&user_size, arg, sizeof(user_size)))
		return -EFAULT;
	if (user_size < minsz)
		return -EINVAL;
	if (kver >= KVER_BIND_TOKEN) {
		/* copy_struct_from_user() of the whole struct (the 6.17 fix):
		 * zero-extended, a non-zero unknown tail is E2BIG. */
		ksize = sizeof(bind);
		valid = VFIO_DEVICE_BIND_FLAG_TOKEN;
	}
	memset(&bind, 0, sizeof(bind));
	if (fake_copy_from_user(&bind, arg, user_size < ksize ? user_size : ksize))
		return -EFAULT;
	if (kver >= KVER_BIND_TOKEN && user_size > ksize) {
		for (size_t i = ksize; i < user_size; i++) {
			uint8_t b;

			if (fake_copy_from_user(&b, (char *)arg + i, 1))
				return -EFAULT;
			if (b)
				return -E2BIG;
		}
	}
	if (bind.iommufd < 0 || (bind.flags & ~valid))
		return -EINVAL;
	/* BIND_IOMMUFD is for cdev fds only. */
	if (df->group)
		return -EINVAL;
	/* One device file binds once. */
	if (df->access_granted)
		return -EINVAL;
	/*
	 * vfio_df_check_token(): none of the fake's devices is an SR-IOV PF
	 * or VF, so a token is "incorrectly provided" (vfio-pci), or one the
	 * driver cannot check (an mdev driver): EINVAL either way.
	 */
	if (bind.flags & VFIO_DEVICE_BIND_FLAG_TOKEN) {
		uint8_t uuid[16];

		if (fake_copy_from_user(uuid, (void *)(uintptr_t)bind.token_uuid_ptr,
					sizeof(uuid)))
			return -EFAULT;
		return -EINVAL;
	}
	ictx = fake_ictx_from_fd(dev->fake, bind.iommufd, &ret);
	if (!ictx)
		return ret;
	ret = df_open(df, ictx);
	if (ret) {
		fake_file_put(ictx->file);
		return ret;
	}
	if (fake_copy_to_user((char *)arg +
				      offsetof(struct vfio_device_bind_iommufd,
					       out_devid),
			      &df->devid, sizeof(df->devid))) {
		df_close(df);
		df->ictx = NULL;
		fake_file_put(ictx->file);
		return -EFAULT;
	}
	df->access_granted = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Attach and detach                                                   */

static int df_attach_ioas(struct fake_df *df, uint32_t *pt_id)
{
	int ret;

	if (is_emulated(df)) {
		ret = fake_access_attach(fake_container_of(df->idobj,
							   struct fake_access,
							   obj),
					 *pt_id, df->attached);
	} else {
		struct fake_idev *idev =
			fake_container_of(df->idobj, struct fake_idev, obj);

		if (df->attached)
			ret = fake_idev_replace(idev, FAKE_NO_PASID, pt_id);
		else
			ret = fake_idev_attach(idev, FAKE_NO_PASID, pt_id);
	}
	if (!ret)
		df->attached = true;
	return ret;
}

static void df_detach_ioas(struct fake_df *df)
{
	if (!df->attached)
		return;
	if (is_emulated(df))
		fake_access_detach(fake_container_of(df->idobj,
						     struct fake_access, obj));
	else
		fake_idev_detach(fake_container_of(df->idobj, struct fake_idev,
						   obj),
				 FAKE_NO_PASID);
	df->attached = false;
}

static int df_pasid_attach(struct fake_df *df, uint32_t pasid, uint32_t *pt_id)
{
	struct fake_idev *idev =
		fake_container_of(df->idobj, struct fake_idev, obj);
	int ret;

	/*
	 * vfio_iommufd_physical_pasid_attach_ioas() keeps the PASIDs it
	 * attached in an ida; PASID 0 is the kernel's IOMMU_NO_PASID, so it
	 * attaches the RID (EBUSY if the RID is attached already).
	 */
	if (pasid == FAKE_NO_PASID) {
		if (df->pasid0)
			return fake_idev_replace(idev, pasid, pt_id);
		ret = fake_idev_attach(idev, pasid, pt_id);
		if (!ret)
			df->pasid0 = true;
		return ret;
	}
	if (fake_idev_pasid_attached(idev, pasid))
		return fake_idev_replace(idev, pasid, pt_id);
	/* ida_alloc_range(&vdev->pasids, pasid, pasid) */
	if (pasid > INT32_MAX)
		return -ENOSPC;
	return fake_idev_attach(idev, pasid, pt_id);
}

static long df_ioctl_attach(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	uint32_t valid = df->dev->fake->kver >= KVER_PASID ?
				 VFIO_DEVICE_ATTACH_PASID : 0;
	struct vfio_device_attach_iommufd_pt attach = { 0 };
	int ret;

	if (fake_copy_from_user(&attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz)
		return -EINVAL;
	if (attach.flags & ~valid)
		return -EINVAL;
	if (attach.flags & VFIO_DEVICE_ATTACH_PASID) {
		size_t xend = offsetofend(struct vfio_device_attach_iommufd_pt,
					  pasid);

		if (is_emulated(df))
			return -EOPNOTSUPP;	/* no pasid_attach_ioas */
		if (attach.argsz < xend)
			return -EINVAL;
		if (fake_copy_from_user(&attach.pasid, (char *)arg + minsz,
					xend - minsz))
			return -EFAULT;
		ret = df_pasid_attach(df, attach.pasid, &attach.pt_id);
	} else {
		ret = df_attach_ioas(df, &attach.pt_id);
	}
	if (ret)
		return ret;
	if (fake_copy_to_user((char *)arg +
				      offsetof(struct vfio_device_attach_iommufd_pt,
					       pt_id),
			      &attach.pt_id, sizeof(attach.pt_id))) {
		/* As the kernel does: the RID's detach, whatever was attached */
		df_detach_ioas(df);
		return -EFAULT;
	}
	return 0;
}

static long df_ioctl_detach(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	uint32_t valid = df->dev->fake->kver >= KVER_PASID ?
				 VFIO_DEVICE_DETACH_PASID : 0;
	struct vfio_device_detach_iommufd_pt detach = { 0 };

	if (fake_copy_from_user(&detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz)
		return -EINVAL;
	if (detach.flags & ~valid)
		return -EINVAL;
	if (detach.flags & VFIO_DEVICE_DETACH_PASID) {
		size_t xend = offsetofend(struct vfio_device_detach_iommufd_pt,
					  pasid);
		struct fake_idev *idev;

		if (is_emulated(df))
			return -EOPNOTSUPP;
		if (detach.argsz < xend)
			return -EINVAL;
		if (fake_copy_from_user(&detach.pasid, (char *)arg + minsz,
					xend - minsz))
			return -EFAULT;
		idev = fake_container_of(df->idobj, struct fake_idev, obj);
		if (detach.pasid == FAKE_NO_PASID && df->pasid0) {
			fake_idev_detach(idev, FAKE_NO_PASID);
			df->pasid0 = false;
		} else if (fake_idev_pasid_attached(idev, detach.pasid)) {
			fake_idev_detach(idev, detach.pasid);
		}
		return 0;
	}
	df_detach_ioas(df);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Device features (vfio_ioctl_device_feature())                        */

/*
 * Features of the VFIO core that a driver backs with its mig_ops (migration)
 * and its log_ops (DMA logging): vfio_main.c checks the request, the driver
 * does the work. A device has them when the machine says its driver has
 * them (iommufd_fake_set_migration(), iommufd_fake_set_dma_logging()), as
 * mlx5's and pds' variant drivers do; vfio-pci itself has neither (ENOTTY).
 */

/* VFIO_DEVICE_FEATURE_DMA_LOGGING_* (6.2); MIG_DATA_SIZE and PRE_COPY (6.3) */
#define KVER_DMA_LOGGING V(6, 2)
#define KVER_PRE_COPY V(6, 3)
/* The tracked page sizes of the fake's tracker (mlx5 clamps to its caps). */
#define LOG_MIN_SHIFT 12
#define LOG_MAX_SHIFT 30

static uint64_t migration_flags(const struct fake_device *dev)
{
	uint64_t flags = dev->migration_flags;

	if (dev->fake->kver < KVER_PRE_COPY)
		flags &= ~(uint64_t)VFIO_MIGRATION_PRE_COPY;
	return flags;
}

static int feature_migration(struct fake_df *df, uint32_t flags, void *arg,
			     size_t argsz)
{
	struct fake_device *dev = df->dev;
	int ret;

	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_MIGRATION: {
		struct vfio_device_feature_migration mig = {
			.flags = migration_flags(dev),
		};

		if (!dev->migration_flags)
			return -ENOTTY;
		ret = fake_vfio_check_feature(flags, argsz,
					      VFIO_DEVICE_FEATURE_GET,
					      sizeof(mig));
		if (ret != 1)
			return ret;
		return fake_copy_to_user(arg, &mig, sizeof(mig));
	}
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: {
		struct vfio_device_feature_mig_state mig;

		if (!dev->migration_flags)
			return -ENOTTY;
		ret = fake_vfio_check_feature(flags, argsz,
					      VFIO_DEVICE_FEATURE_GET |
						      VFIO_DEVICE_FEATURE_SET,
					      sizeof(mig));
		if (ret != 1)
			return ret;
		if (fake_copy_from_user(&mig, arg, sizeof(mig)))
			return -EFAULT;
		/*
		 * The device is always RUNNING: the migration states and their
		 * data fds are not modelled. vfio_mig_get_next_state() refuses
		 * an unknown state (EINVAL); staying in RUNNING is a no-op.
		 */
		ret = 0;
		if (flags & VFIO_DEVICE_FEATURE_GET)
			mig.device_state = VFIO_DEVICE_STATE_RUNNING;
		else if (mig.device_state >= VFIO_DEVICE_STATE_NR)
			ret = -EINVAL;
		else if (mig.device_state != VFIO_DEVICE_STATE_RUNNING)
			ret = -EOPNOTSUPP;
		mig.data_fd = -1;
		if (fake_copy_to_user(arg, &mig, sizeof(mig)))
			return -EFAULT;
		return ret;
	}
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
		if (dev->fake->kver < KVER_PRE_COPY)
			return fake_pci_feature(df, flags, arg, argsz);
		if (!dev->migration_flags)
			return -ENOTTY;
		ret = fake_vfio_check_feature(
			flags, argsz, VFIO_DEVICE_FEATURE_GET,
			sizeof(struct vfio_device_feature_mig_data_size));
		if (ret != 1)
			return ret;
		return -EOPNOTSUPP;	/* no migration data: not modelled */
	default:
		return -ENOTTY;
	}
}

static int cmp_range_start(const void *a, const void *b)
{
	const struct fake_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * vfio_combine_iova_ranges(): while there are more ranges than the tracker
 * takes, merge the two neighbours with the smallest gap (the first such
 * pair), so that the tracker covers the gap too.
 */
static void combine_ranges(struct fake_range *r, size_t *n, size_t max)
{
	while (*n > max && *n > 1) {
		uint64_t min_gap = UINT64_MAX;
		size_t at = 1;

		for (size_t i = 1; i < *n; i++) {
			uint64_t gap = r[i].start - r[i - 1].last;

			if (gap < min_gap) {
				min_gap = gap;
				at = i;
			}
		}
		r[at - 1].last = r[at].last;
		memmove(&r[at], &r[at + 1], (*n - at - 1) * sizeof(*r));
		(*n)--;
	}
}

/* The driver's log_start (mlx5vf_start_page_tracker()): one tracker per
 * device; the page size rounded down to a power of two and clamped to what
 * the tracker does; more ranges than it takes merged. */
static int log_start(struct fake_device *dev, struct fake_range *nodes,
		     size_t n, uint64_t *page_size)
{
	struct fake_dma_log *log = &dev->log;
	unsigned int shift = LOG_MIN_SHIFT;
	size_t kept = 0;

	if (log->active)
		return -EINVAL;
	if (*page_size)
		shift = 63 - (unsigned int)__builtin_clzll(*page_size);
	if (shift < LOG_MIN_SHIFT)
		shift = LOG_MIN_SHIFT;
	if (shift > LOG_MAX_SHIFT)
		shift = LOG_MAX_SHIFT;
	/* A range of length 0 (but one) tracks nothing. */
	for (size_t i = 0; i < n; i++)
		if (nodes[i].start <= nodes[i].last)
			nodes[kept++] = nodes[i];
	qsort(nodes, kept, sizeof(*nodes), cmp_range_start);
	if (log->max_ranges)
		combine_ranges(nodes, &kept, log->max_ranges);
	log->ranges = nodes;
	log->nr_ranges = kept;
	log->shift = shift;
	log->active = true;
	log->dirty_all = false;
	*page_size = UINT64_C(1) << shift;
	return 0;
}

void fake_dma_log_stop(struct fake_device *dev)
{
	struct fake_dma_log *log = &dev->log;

	free(log->ranges);
	log->ranges = NULL;
	log->nr_ranges = 0;
	fake_dirty_free(&log->dirty);
	log->dirty_all = false;
	log->active = false;
}

void fake_dma_log_mark(struct fake_device *dev, uint64_t iova, uint64_t len)
{
	struct fake_dma_log *log = &dev->log;
	uint64_t last;

	if (!log->active || !len)
		return;
	if (__builtin_add_overflow(iova, len - 1, &last))
		last = UINT64_MAX;
	for (size_t i = 0; i < log->nr_ranges; i++) {
		const struct fake_range *r = &log->ranges[i];
		uint64_t a = iova > r->start ? iova : r->start;
		uint64_t b = last < r->last ? last : r->last;

		if (a > b)
			continue;
		if (!fake_dirty_add(&log->dirty, a >> log->shift,
				    b >> log->shift))
			log->dirty_all = true;
	}
}

/* vfio_ioctl_device_feature_logging_start() */
static int logging_start(struct fake_device *dev, uint32_t flags, void *arg,
			 size_t argsz)
{
	const uint32_t max_nodes =
		(uint32_t)(dev->fake->page_size /
			   sizeof(struct vfio_device_feature_dma_logging_range));
	struct vfio_device_feature_dma_logging_control control;
	struct vfio_device_feature_dma_logging_range range;
	struct fake_range *nodes;
	uint64_t page_size;
	uint32_t nnodes;
	int ret;

	ret = fake_vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET,
				      sizeof(control));
	if (ret != 1)
		return ret;
	if (fake_copy_from_user(&control, arg, sizeof(control)))
		return -EFAULT;
	nnodes = control.num_ranges;
	if (!nnodes)
		return -EINVAL;
	if (nnodes > max_nodes)
		return -E2BIG;
	nodes = calloc(nnodes, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (uint32_t i = 0; i < nnodes; i++) {
		uint64_t end, u = control.ranges + (uint64_t)i * sizeof(range);

		if (fake_copy_from_user(&range, (const void *)(uintptr_t)u,
					sizeof(range))) {
			ret = -EFAULT;
			goto out;
		}
		/* IS_ALIGNED(): a page size of 0 aligns only 0 */
		if ((range.iova & (control.page_size - 1)) ||
		    (range.length & (control.page_size - 1))) {
			ret = -EINVAL;
			goto out;
		}
		if (__builtin_add_overflow(range.iova, range.length, &end)) {
			ret = -EOVERFLOW;
			goto out;
		}
		nodes[i].start = range.iova;
		nodes[i].last = range.iova + range.length - 1;
		/* interval_tree_iter_first(): overlapping ranges (in any
		 * order: the tree sorts them) */
		for (uint32_t j = 0; j < i; j++) {
			if (nodes[j].start <= nodes[i].last &&
			    nodes[j].last >= nodes[i].start) {
				ret = -EINVAL;
				goto out;
			}
		}
	}
	page_size = control.page_size;
	ret = log_start(dev, nodes, nnodes, &page_size);
	if (ret)
		goto out;
	control.page_size = page_size;
	nodes = NULL;	/* the tracker's now */
	if (fake_copy_to_user(arg, &control, sizeof(control))) {
		fake_dma_log_stop(dev);
		ret = -EFAULT;
	}
out:
	free(nodes);
	return ret;
}

/* vfio_ioctl_device_feature_logging_report(), and the driver's
 * log_read_and_clear for what it tracked */
static int logging_report(struct fake_device *dev, uint32_t flags, void *arg,
			  size_t argsz)
{
	struct vfio_device_feature_dma_logging_report report;
	struct fake_dma_log *log = &dev->log;
	struct fake_iova_bitmap bm;
	uint64_t end;
	int ret;

	ret = fake_vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET,
				      sizeof(report));
	if (ret != 1)
		return ret;
	if (fake_copy_from_user(&report, arg, sizeof(report)))
		return -EFAULT;
	if (report.page_size < 4096 ||
	    (report.page_size & (report.page_size - 1)))
		return -EINVAL;
	if (__builtin_add_overflow(report.iova, report.length, &end))
		return -EOVERFLOW;
	/* iova_bitmap_for_each() pins the first window before asking the
	 * driver anything */
	fake_iova_bitmap_init(&bm, report.iova,
			      report.length ? end - 1 : report.iova,
			      report.page_size, report.bitmap);
	if (!bm.avail)
		return -EFAULT;
	/* mlx5vf_tracker_read_and_clear(): no tracker, EINVAL */
	if (!log->active)
		return -EINVAL;
	if (!report.length)
		return 0;
	return fake_iova_bitmap_report(&bm, &log->dirty, log->shift,
				       log->dirty_all, report.iova, end - 1,
				       true);
}

static int feature_dma_logging(struct fake_df *df, uint32_t flags, void *arg,
			       size_t argsz)
{
	struct fake_device *dev = df->dev;
	int ret;

	if (dev->fake->kver < KVER_DMA_LOGGING)	/* unknown to the core */
		return fake_pci_feature(df, flags, arg, argsz);
	if (!dev->log.supported)
		return -ENOTTY;
	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
		return logging_start(dev, flags, arg, argsz);
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
		ret = fake_vfio_check_feature(flags, argsz,
					      VFIO_DEVICE_FEATURE_SET, 0);
		if (ret != 1)
			return ret;
		fake_dma_log_stop(dev);	/* no tracker: nothing to do */
		return 0;
	default:
		return logging_report(dev, flags, arg, argsz);
	}
}

static long df_ioctl_feature(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_device_feature, flags);
	struct vfio_device_feature feature;
	void *data = (char *)arg + minsz;
	size_t argsz;

	if (fake_copy_from_user(&feature, arg, minsz))
		return -EFAULT;
	if (feature.argsz < minsz)
		return -EINVAL;
	if (feature.flags &
	    ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
	      VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	/* GET and SET exclude each other but with PROBE. */
	if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_SET) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	argsz = feature.argsz - minsz;
	switch (feature.flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_MIGRATION:
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
		return feature_migration(df, feature.flags, data, argsz);
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		return feature_dma_logging(df, feature.flags, data, argsz);
	default:
		return fake_pci_feature(df, feature.flags, data, argsz);
	}
}

/* ------------------------------------------------------------------ */
/* The file                                                            */

/* A device file from VFIO_GROUP_GET_DEVICE_FD: no cdev ioctls, and a hot
 * reset names groups. */
static long group_df_ioctl(struct fake_df *df, unsigned long cmd, void *arg)
{
	switch (cmd) {
	case VFIO_DEVICE_BIND_IOMMUFD:
		if (df->dev->fake->kver < FAKE_KVER_VFIO_CDEV)
			return -ENOTTY;	/* unknown: the driver's answer */
		return df_bind(df, arg);
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return -ENOTTY;	/* cdev only: vfio-pci knows them not */
	case VFIO_DEVICE_FEATURE:
		return df_ioctl_feature(df, arg);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		if (df->dev->kind != FAKE_DEV_PCI)
			return -ENOTTY;
		return fake_vgroup_hot_reset_info(df, arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		if (df->dev->kind != FAKE_DEV_PCI)
			return -ENOTTY;
		return fake_vgroup_hot_reset(df, arg);
	default:
		return fake_pci_ioctl(df, cmd, arg);
	}
}

static long vfio_fops_ioctl(struct fake_file *file, unsigned long cmd,
			    void *arg)
{
	struct fake_df *df = file->private_data;

	if (!df->dev)
		return -ENODEV;
	if (df->group)
		return group_df_ioctl(df, cmd, arg);
	if (cmd == VFIO_DEVICE_BIND_IOMMUFD)
		return df_bind(df, arg);
	if (!df->access_granted)
		return -EINVAL;
	switch (cmd) {
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return df_ioctl_attach(df, arg);
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return df_ioctl_detach(df, arg);
	case VFIO_DEVICE_FEATURE:
		return df_ioctl_feature(df, arg);
	default:
		return fake_pci_ioctl(df, cmd, arg);
	}
}

static ssize_t vfio_fops_read(struct fake_file *file, void *buf, size_t count,
			      off_t offset)
{
	struct fake_df *df = file->private_data;

	if (!df->dev || !df->access_granted)
		return -EINVAL;
	return fake_pci_rw(df, buf, count, offset, false);
}

static ssize_t vfio_fops_write(struct fake_file *file, const void *buf,
			       size_t count, off_t offset)
{
	struct fake_df *df = file->private_data;

	if (!df->dev || !df->access_granted)
		return -EINVAL;
	return fake_pci_rw(df, (void *)buf, count, offset, true);
}

static int vfio_fops_mmap(struct fake_file *file, size_t length, int prot,
			  int flags, off_t offset, void **out)
{
	struct fake_df *df = file->private_data;

	if (!df->dev || !df->access_granted)
		return -EINVAL;
	return fake_pci_mmap(df, length, prot, flags, offset, out);
}

/* vfio_df_group_close(): the last file of the device closes it (and
 * unbinds it from the group's iommufd). */
static void group_df_release(struct fake_df *df)
{
	struct fake_device *dev = df->dev;
	struct fake_vgroup *vg = df->group;

	if (dev && dev->bound == df && dev->open_count > 1) {
		/* The binding belongs to the device: another file keeps it. */
		for (struct fake_df *o = dev->files; o; o = o->next) {
			if (o == df || o->group != vg)
				continue;
			o->ictx = df->ictx;
			o->idobj = df->idobj;
			o->devid = df->devid;
			o->attached = df->attached;
			df->ictx = NULL;
			df->idobj = NULL;
			df->attached = false;
			dev->bound = o;
			break;
		}
	}
	if (dev && --dev->open_count == 0) {
		if (dev->bound == df) {
			struct fake_ictx *ictx = df->ictx;

			df_close(df);
			df->ictx = NULL;
			fake_file_put(ictx->file);
		} else {
			fake_pci_close_device(dev);
		}
	}
	vg->container_users--;
	fake_file_put(vg->file);
}

static void vfio_fops_release(struct fake_file *file)
{
	struct fake_df *df = file->private_data;

	if (df->group)
		group_df_release(df);
	else
		df_unbind(df);
	if (df->dev) {
		for (struct fake_df **p = &df->dev->files; *p; p = &(*p)->next) {
			if (*p == df) {
				*p = df->next;
				break;
			}
		}
	}
	free(df);
}

const struct fake_file_ops fake_vfio_device_fops = {
	.name = "vfio-device",
	.ioctl = vfio_fops_ioctl,
	.mmap = vfio_fops_mmap,
	.read = vfio_fops_read,
	.write = vfio_fops_write,
	.release = vfio_fops_release,
	.st_mode = S_IFCHR | 0600,
	.st_rdev = 0,	/* per file: the device's major:minor */
};

int fake_vfio_device_open(struct iommufd_fake *fake, struct fake_device *dev,
			  int flags)
{
	struct fake_file *file;
	struct fake_df *df;
	int fd;

	df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	df->dev = dev;
	fd = fake_file_create(fake, &fake_vfio_device_fops, df,
			      flags & O_CLOEXEC, &file);
	if (fd < 0) {
		free(df);
		return fd;
	}
	df->file = file;
	file->st_rdev = makedev(FAKE_VFIO_DEV_MAJOR,
				(unsigned int)dev->vfio_index);
	df->next = dev->files;
	dev->files = df;
	return fd;
}

void fake_vfio_forget_device(struct fake_df *df)
{
	df->dev = NULL;
}

/* An anonymous inode ("[vfio-device]"): no file type, no device number. */
const struct fake_file_ops fake_vfio_group_device_fops = {
	.name = "[vfio-device]",
	.ioctl = vfio_fops_ioctl,
	.mmap = vfio_fops_mmap,
	.read = vfio_fops_read,
	.write = vfio_fops_write,
	.release = vfio_fops_release,
	.st_mode = 0600,
	.st_rdev = 0,
};

/* The first open through an iommufd-set group: bind, then attach to the
 * compat IOAS (vfio_iommufd_compat_attach_ioas()). */
static int group_df_first_open_iommufd(struct fake_df *df,
				       struct fake_ictx *ictx)
{
	uint32_t ioas_id;
	int ret;

	ret = df_open(df, ictx);
	if (ret)
		return ret;
	if (ictx->vfio_ioas) {
		ioas_id = ictx->vfio_ioas->obj.id;
		ret = df_attach_ioas(df, &ioas_id);
	} else {
		ret = -ENODEV;	/* the user cleared the compat IOAS */
	}
	if (ret) {
		df_close(df);
		return ret;
	}
	fake_file_get(ictx->file);
	return 0;
}

int fake_vfio_group_device_open(struct fake_vgroup *vg,
				struct fake_device *dev, struct fake_ictx *ictx)
{
	struct iommufd_fake *fake = vg->fake;
	struct fake_file *file;
	struct fake_df *df;
	int fd, ret;

	/* Opened through its cdev: the group cannot open it too (the cdev's
	 * bind already refused a device opened through the group). */
	if (dev->bound && !dev->bound->group)
		return -EBUSY;
	df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	df->dev = dev;
	df->group = vg;
	/* The kernel installs the fd with O_CLOEXEC. */
	fd = fake_file_create(fake, &fake_vfio_group_device_fops, df, true, &file);
	if (fd < 0) {
		free(df);
		return fd;
	}
	df->file = file;
	if (dev->open_count == 0) {
		if (ictx) {
			ret = group_df_first_open_iommufd(df, ictx);
			if (ret) {
				/* the release must not see an open device */
				df->group = NULL;
				fake_file_abort(file, fd);
				return ret;
			}
		} else {
			dev->open_count = 1;
			fake_pci_open_device(dev);
		}
	} else {
		dev->open_count++;
	}
	df->access_granted = true;
	vg->container_users++;
	fake_file_get(vg->file);
	df->next = dev->files;
	dev->files = df;
	return fd;
}

/* ------------------------------------------------------------------ */
/* The machine: what a device's driver supports                        */

static int device_config(struct iommufd_fake *fake, const char *name,
			 struct fake_device **out)
{
	struct fake_device *dev = fake_device_find(fake, name);

	if (!dev)
		return -ENOENT;
	if (dev->kind != FAKE_DEV_PCI)
		return -EINVAL;	/* an mdev driver has neither */
	if (dev->files)
		return -EBUSY;	/* the driver is in use */
	*out = dev;
	return 0;
}

FAKE_EXPORT int iommufd_fake_set_dma_logging(struct iommufd_fake *fake,
					     const char *name, bool supported,
					     uint32_t max_ranges)
{
	struct fake_device *dev;
	int ret;

	if (!fake || !name || (!supported && max_ranges))
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	ret = device_config(fake, name, &dev);
	if (!ret) {
		dev->log.supported = supported;
		dev->log.max_ranges = max_ranges;
	}
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT int iommufd_fake_set_migration(struct iommufd_fake *fake,
					   const char *name, uint64_t flags)
{
	const uint64_t known = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			       VFIO_MIGRATION_PRE_COPY;
	struct fake_device *dev;
	int ret;

	/* vfio_pci_core_register_device(): migration means STOP_COPY */
	if (!fake || !name || (flags & ~known) ||
	    (flags && !(flags & VFIO_MIGRATION_STOP_COPY)))
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	ret = device_config(fake, name, &dev);
	if (!ret)
		dev->migration_flags = flags;
	pthread_mutex_unlock(&fake->lock);
	return ret;
}
