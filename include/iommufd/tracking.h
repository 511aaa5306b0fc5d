/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking: which pages of an IOAS devices wrote, for live migration.
 * Every source reports into a struct iommufd_dirty_bitmap (dirty.h), ORing
 * its pages in: a caller clears the bitmap, syncs, and sends what is set.
 *
 * Three sources, one per way a device can be watched:
 *  - the IOMMU (iommufd, Linux 6.7): a HWPT allocated with
 *    IOMMUFD_HWPT_DIRTY_TRACKING, once tracking is enabled, sets a dirty bit
 *    in every IOPTE a device behind it writes through. It sees every write
 *    of every device attached to that HWPT, nothing else.
 *  - the device (VFIO DMA logging, Linux 6.2, drivers such as mlx5 and
 *    pds): the device logs its own writes within at most 256 IOVA ranges
 *    it was given at start. Pages outside those ranges are reported dirty:
 *    the device may have written them.
 *  - the VFIO type1 container (the type1 backend, any Linux with VFIO):
 *    VFIO_IOMMU_DIRTY_PAGES. A container reports every page a device of
 *    it could have written: every page it maps once an IOMMU-backed device
 *    is in it (the IOMMU has no dirty bits for type1), only the pages an
 *    emulated device pinned otherwise. It reads whole mappings and always
 *    clears.
 *  - nothing: a device whose HWPT does not track and that cannot log
 *    (an emulated, mdev-like device reaches memory through the kernel's
 *    access path, which no source watches) counts as having written every
 *    page of the IOAS it can reach (the tracker's IOMMUFD_DIRTY_SOURCE_ALL).
 *
 * Dirty bits are IOVA-based and go with the mapping: pages a device wrote
 * and that are then unmapped are not reported by any source. During
 * migration, sync a range before unmapping it (as QEMU does).
 *
 * Windows. A read or sync covers [iova, iova + length), which must lie
 * inside the bitmap's window (-ERANGE), rounded outward to whole pages of the
 * bitmap; for the IOMMU the page edges should also be multiples of the
 * IOAS's IOVA alignment (iommufd_ioas_get_iova_ranges()). Only mapped IOVAs
 * are asked of the kernel, one maximal run of adjacent mappings at a time,
 * each in kernel calls of at most max_bitmap_bytes of bitmap: the split is
 * invisible in the result.
 *
 * Thread safety: tracking calls are serialised with attaching and detaching
 * within a context (they hold its object lock across their kernel calls);
 * the bitmap they write must not be used by another thread meanwhile. Do
 * not call them from inside an iommufd_ioas_for_each_mapping() callback.
 */
#ifndef IOMMUFD_TRACKING_H
#define IOMMUFD_TRACKING_H

#include <iommufd/common.h>
#include <iommufd/ioas.h>
#include <iommufd/hwpt.h>
#include <iommufd/device.h>
#include <iommufd/dirty.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IOMMU dirty tracking ---- */

enum iommufd_dirty_read_flags {
	/* Report the dirty pages and leave them dirty (IOMMU sources only:
	 * a device's DMA log is always cleared as it is read). */
	IOMMUFD_DIRTY_NO_CLEAR = 1u << 0,
};

/* How the default kernel call is bounded: 2 MiB of bitmap (64 GiB of IOVA
 * at 4 KiB pages). */
#define IOMMUFD_DIRTY_MAX_BITMAP_BYTES (UINT64_C(2) << 20)

struct iommufd_dirty_read_opts {
	size_t sz;			/* sizeof(struct iommufd_dirty_read_opts) */
	uint32_t flags;			/* enum iommufd_dirty_read_flags */
	/* Bytes of bitmap one kernel call fills at most, a multiple of 8
	 * (at least 8); 0: IOMMUFD_DIRTY_MAX_BITMAP_BYTES. */
	uint64_t max_bitmap_bytes;
};

/*
 * On the type1 backend (no HWPTs) the IOAS calls below drive the dirty
 * tracking of every VFIO container mapping the IOAS instead: a container
 * that cannot track (iommufd's vfio-compat layer) is -EOPNOTSUPP,
 * IOMMUFD_DIRTY_NO_CLEAR is -EOPNOTSUPP, a read grows to the whole mappings
 * it touches (-ERANGE when they reach outside the bitmap), and a container
 * bound to the IOAS after tracking was enabled makes reads fail (-EINVAL)
 * until it is enabled again.
 */

/*
 * Switch dirty tracking of one HWPT on or off. Enabling starts from a clean
 * slate (the kernel clears every dirty bit); enabling an enabled HWPT, or
 * disabling a disabled one, is 0 and asks nothing of the kernel.
 * -EOPNOTSUPP (logged) when the HWPT was not allocated with
 * IOMMUFD_HWPT_DIRTY_TRACKING or the kernel has no dirty tracking (6.7).
 */
int iommufd_hwpt_set_dirty_tracking(struct iommufd_hwpt *hwpt, bool enable);
/* Whether tracking is on (as the library switched it). */
bool iommufd_hwpt_dirty_tracking_enabled(const struct iommufd_hwpt *hwpt);

/*
 * The same for every HWPT serving @ioas (iommufd_hwpt_ioas() == ioas) that
 * a device is attached to or that can track. All or nothing: if the kernel
 * fails one HWPT, those already switched are switched back and the error is
 * returned (a HWPT switched back on starts clean again: read before you
 * disable). -EOPNOTSUPP (logged, nothing switched) when enabling and a
 * device of @ioas writes through a HWPT that cannot track, or through the
 * kernel's own domain (attached with iommufd_device_attach_ioas()).
 * Emulated devices are not the IOMMU's: see the tracker.
 */
int iommufd_ioas_set_dirty_tracking(struct iommufd_ioas *ioas, bool enable);

/*
 * OR into @bm the pages of [iova, iova + length) the IOMMU saw written
 * through @hwpt, and clear them there (unless IOMMUFD_DIRTY_NO_CLEAR).
 * @opts may be NULL. -EOPNOTSUPP (logged) as for set_dirty_tracking;
 * -EINVAL when tracking is off; -ERANGE when the range is not inside @bm's
 * window. On a kernel error the pages read so far are in @bm (and cleared in
 * the kernel), the rest are not.
 */
int iommufd_hwpt_read_dirty(struct iommufd_hwpt *hwpt,
			    struct iommufd_dirty_bitmap *bm, uint64_t iova,
			    uint64_t length,
			    const struct iommufd_dirty_read_opts *opts);

/*
 * The same over every HWPT serving @ioas whose tracking is on. -EOPNOTSUPP
 * (logged) when a device of @ioas writes through a HWPT or domain that is
 * not tracking: its writes would be missing.
 */
int iommufd_ioas_read_dirty(struct iommufd_ioas *ioas,
			    struct iommufd_dirty_bitmap *bm, uint64_t iova,
			    uint64_t length,
			    const struct iommufd_dirty_read_opts *opts);

/*
 * Unmap [iova, iova + length) by the rules of iommufd_ioas_unmap() (the
 * range must cover whole mappings: a split is -ENOENT with nothing changed;
 * nothing mapped is -ENOENT unless IOMMUFD_UNMAP_IDEMPOTENT, the only flag)
 * and OR into @bm the pages of the unmapped mappings devices wrote, which no
 * source can report once they are gone. @bm must cover the range (-ERANGE,
 * checked first: nothing changes); there is no unmap-all form. @unmapped
 * (may be NULL) gets the bytes unmapped.
 *
 * iommufd: the dirty bits of every HWPT of @ioas whose tracking is on are
 * read (without clearing: they go with the mappings), then the range is
 * unmapped. The kernel has no atomic form: a device write between the read
 * and the unmap is lost; it lands in pages the guest is giving up anyway.
 * type1: one VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
 * per container (atomic in the kernel), at the containers' smallest IOMMU
 * page; a coarser @bm gets every page touched by a dirty one, a finer one
 * every page inside a dirty one.
 *
 * When the dirty pages cannot be told (tracking off, a kernel or backend
 * without it, a device writing through a HWPT or domain that is not
 * tracking, a container not tracking or unable to), the range is still
 * unmapped and every page unmapped is reported dirty, as a VMM migrating
 * must assume (logged at debug level, warning for an untracked device). No
 * container mapping @ioas (type1): nothing could write, nothing is dirty.
 * Emulated devices and device DMA logging are not consulted (see
 * iommufd_dirty_tracker_sync(): sync a range before unmapping it).
 *
 * @bm changes only for what was unmapped: a failure of the kernel leaves
 * the mappings, the dirty state and @bm as they were. As with
 * iommufd_ioas_unmap(), mappings separated by holes go one adjacent group at
 * a time: if a later group fails, the earlier ones are gone and their pages
 * are in @bm.
 */
int iommufd_ioas_unmap_dirty(struct iommufd_ioas *ioas, uint64_t iova,
			     uint64_t length, uint32_t flags,
			     struct iommufd_dirty_bitmap *bm,
			     uint64_t *unmapped);

/* ---- device dirty tracking (VFIO DMA logging) ---- */

/* VFIO's limit on the ranges of one DMA_LOGGING_START (PAGE_SIZE / 16 with
 * 4 KiB pages). */
#define IOMMUFD_DMA_LOGGING_MAX_RANGES 256

/*
 * Collapse @n IOVA ranges (in any order; they may overlap or touch) into at
 * most @max sorted, disjoint, non-adjacent ranges in @out that cover all of
 * them: overlapping and touching ranges are joined, then, while there are
 * more than @max, the two neighbours with the smallest gap between them are
 * joined (the lowest such pair first), which covers the fewest bytes that
 * no input covers. Every output edge is an input edge. O(n log n) time; @out
 * needs room for min(n, max) ranges and may be @in. *nout gets the count.
 * -EINVAL: NULL pointers (with n > 0), max 0 with n > 0, or a range whose
 * last is below its start; -ENOMEM.
 */
int iommufd_collapse_ranges(const struct iommufd_iova_range *in, size_t n,
			    size_t max, struct iommufd_iova_range *out,
			    size_t *nout);

/* 0 when @dev can log its DMA (DEVICE_FEATURE PROBE); -ENOTTY when its
 * driver cannot (vfio-pci itself cannot; nor can a kernel before 6.2). */
int iommufd_device_dma_logging_probe(struct iommufd_device *dev);

struct iommufd_dma_logging_opts {
	size_t sz;			/* sizeof(struct iommufd_dma_logging_opts) */
	/* The granule asked for (a power of two, at least 4096); the driver
	 * may choose another (see iommufd_device_dma_logging_ranges()). 0:
	 * the CPU's page size. */
	uint64_t page_size;
	/* At most this many ranges (1..256); 0: 256. */
	uint32_t max_ranges;
	/* The ranges to track; NULL: the mappings of the IOAS the device is
	 * attached to, now. Either way collapsed to max_ranges
	 * (iommufd_collapse_ranges()) after rounding out to page_size. */
	const struct iommufd_iova_range *ranges;
	size_t nr_ranges;
};

/*
 * Start logging @dev's DMA writes. @opts may be NULL. -EBUSY when logging
 * is already on; -EINVAL with nothing to track (no ranges given, and the
 * device is not attached or its IOAS maps nothing); -ENOTTY (logged) when
 * the device cannot log. Mappings made afterwards are not tracked (their
 * pages are reported dirty): restart to track them.
 */
int iommufd_device_dma_logging_start(struct iommufd_device *dev,
				     const struct iommufd_dma_logging_opts *opts);
/* Stop logging; 0 when it was off. */
int iommufd_device_dma_logging_stop(struct iommufd_device *dev);
bool iommufd_device_dma_logging_active(const struct iommufd_device *dev);

/*
 * The ranges being tracked, as the kernel was given them: *nr in, the room
 * in @ranges (may be 0 with @ranges NULL); out, how many there are
 * (-ENOSPC when more than the room). *page_size (may be NULL) gets the
 * driver's granule. -EINVAL when logging is off.
 */
int iommufd_device_dma_logging_ranges(struct iommufd_device *dev,
				      struct iommufd_iova_range *ranges,
				      size_t *nr, uint64_t *page_size);

/*
 * OR into @bm the pages of [iova, iova + length) @dev wrote, clearing its
 * log for them, and every page of the range outside the tracked ranges.
 * -EINVAL when logging is off; -ERANGE outside @bm's window. @opts may be
 * NULL; IOMMUFD_DIRTY_NO_CLEAR is -EOPNOTSUPP (the kernel always clears).
 */
int iommufd_device_dma_logging_report(struct iommufd_device *dev,
				      struct iommufd_dirty_bitmap *bm,
				      uint64_t iova, uint64_t length,
				      const struct iommufd_dirty_read_opts *opts);

/* ---- the tracker: one dirty view of an IOAS ---- */

struct iommufd_dirty_tracker;

enum iommufd_dirty_source {
	IOMMUFD_DIRTY_SOURCE_NONE = 0,	  /* not covered (not started) */
	IOMMUFD_DIRTY_SOURCE_IOMMU = 1,	  /* its HWPT's dirty bits */
	IOMMUFD_DIRTY_SOURCE_DEVICE = 2,  /* the device's DMA logging */
	IOMMUFD_DIRTY_SOURCE_ALL = 3,	  /* untracked: all it reaches is dirty */
	IOMMUFD_DIRTY_SOURCE_CONTAINER = 4, /* its VFIO type1 container's */
};

/* "none", "iommu", "device", "all", "container"; NULL for an unknown
 * value. */
const char *iommufd_dirty_source_name(enum iommufd_dirty_source source);

enum iommufd_dirty_tracker_flags {
	/* Never use device DMA logging (a device without IOMMU tracking
	 * then counts as ALL). */
	IOMMUFD_TRACKER_NO_DEVICE_LOGGING = 1u << 0,
};

struct iommufd_dirty_tracker_opts {
	size_t sz;			/* sizeof(struct iommufd_dirty_tracker_opts) */
	uint32_t flags;			/* enum iommufd_dirty_tracker_flags */
	uint64_t page_size;		/* DMA logging granule; 0: CPU page */
	uint32_t max_ranges;		/* DMA logging ranges; 0: 256 */
	uint64_t max_bitmap_bytes;	/* per kernel call; 0: the default */
};

/* A stopped tracker of @ioas. @opts may be NULL. It holds no reference:
 * free it before its IOAS and context. */
int iommufd_dirty_tracker_new(struct iommufd_ioas *ioas,
			      const struct iommufd_dirty_tracker_opts *opts,
			      struct iommufd_dirty_tracker **out);
/* Stops it if started, then frees it. */
void iommufd_dirty_tracker_free(struct iommufd_dirty_tracker *t);

/*
 * Start watching every device attached to the IOAS: each gets IOMMU
 * tracking when its HWPT was allocated with it, else DMA logging over the
 * IOAS's mappings when its driver can, else ALL; on the type1 backend, the
 * containers' tracking when they can, else ALL. All or nothing: on failure
 * what was started is stopped. -EBUSY when started.
 */
int iommufd_dirty_tracker_start(struct iommufd_dirty_tracker *t);
/* Stop every source it started; 0 when stopped. A source that would not
 * stop stays on and tracked (the tracker still started, sync still reads
 * it): the error comes back and the next stop tries it again. */
int iommufd_dirty_tracker_stop(struct iommufd_dirty_tracker *t);

/*
 * OR into @bm every page of [iova, iova + length) any source reports dirty,
 * clearing the sources (unless IOMMUFD_DIRTY_NO_CLEAR, which only IOMMU and
 * ALL sources take: -EOPNOTSUPP when a device logs or a container tracks).
 * A device attached to the IOAS since start, or whose HWPT or log went
 * away, counts as ALL. -EINVAL when stopped.
 */
int iommufd_dirty_tracker_sync(struct iommufd_dirty_tracker *t,
			       struct iommufd_dirty_bitmap *bm, uint64_t iova,
			       uint64_t length,
			       const struct iommufd_dirty_read_opts *opts);

struct iommufd_dirty_tracker_device {
	struct iommufd_device *dev;
	enum iommufd_dirty_source source;
};

/* The devices covered since start and the source each got: *nr in, the room
 * in @out (may be 0 with @out NULL); out, how many (-ENOSPC when more than
 * the room). */
int iommufd_dirty_tracker_devices(struct iommufd_dirty_tracker *t,
				  struct iommufd_dirty_tracker_device *out,
				  size_t *nr);

#ifdef __cplusplus
}
#endif

#endif
