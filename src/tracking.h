/* SPDX-License-Identifier: MIT */
/* What tracking.c (IOMMU dirty tracking, DMA logging) and tracker.c share.
 * Never installed. */
#ifndef IOMMUFD_SRC_TRACKING_H
#define IOMMUFD_SRC_TRACKING_H

#include <iommufd/tracking.h>
#include "internal.h"

/* A device's DMA logging (dev->logging), under ctx->objects_lock. */
struct dma_logging {
	bool active;
	uint64_t page_size;		/* the driver's granule */
	size_t nr;
	struct iommufd_iova_range *ranges;	/* sorted, disjoint */
};

/* Whole pages of a bitmap: [first, last]. */
struct dirty_window {
	uint64_t first, last;
};

/* [iova, iova + length) checked against @bm and rounded out to its pages. */
int dirty_window(const struct iommufd_dirty_bitmap *bm, uint64_t iova,
		 uint64_t length, struct dirty_window *w);
/* The read options, checked: flags and the per-call bitmap bound. */
int dirty_read_opts(const struct iommufd_dirty_read_opts *opts,
		    uint32_t *flags, uint64_t *max_bytes);

/* Set in @bm every page of @w that @ioas maps now (an untracked device's
 * reach). Takes the IOAS's table lock; no kernel call. */
int dirty_mark_mapped(struct iommufd_ioas *ioas,
		      struct iommufd_dirty_bitmap *bm,
		      const struct dirty_window *w);

/* Everything below: under ctx->objects_lock. */

bool hwpt_listed_locked(const struct iommufd_ioas *ioas,
			const struct iommufd_hwpt *hwpt);
bool device_listed_locked(struct iommufd_ctx *ctx,
			  const struct iommufd_device *dev);

/* Whether @hwpt can track at all: -EOPNOTSUPP (logged) if not. */
int hwpt_dirty_capable_locked(struct iommufd_hwpt *hwpt);
int hwpt_dirty_set_locked(struct iommufd_hwpt *hwpt, bool enable);
int hwpt_dirty_read_locked(struct iommufd_hwpt *hwpt,
			   struct iommufd_dirty_bitmap *bm,
			   const struct dirty_window *w, uint32_t flags,
			   uint64_t max_bytes);

/* Dirty tracking of VFIO type1 containers, for backends without HWPTs. */
bool dirty_by_container(const struct iommufd_ctx *ctx);
/* 0 and *ps; 1 when no container maps @ioas; -EOPNOTSUPP (logged). */
int container_dirty_page_size(struct iommufd_ioas *ioas, uint64_t *ps);
int container_set_locked(struct iommufd_ioas *ioas, bool enable);
int container_read_locked(struct iommufd_ioas *ioas,
			  struct iommufd_dirty_bitmap *bm,
			  const struct dirty_window *w, uint32_t flags,
			  uint64_t max_bytes);

/* 0 when the device can log; -ENOTTY when it cannot; other errors are the
 * kernel's (logged). */
int dma_logging_probe_locked(struct iommufd_device *dev);
int dma_logging_start_locked(struct iommufd_device *dev, uint64_t page_size,
			     uint32_t max_ranges,
			     const struct iommufd_iova_range *ranges,
			     size_t nr);
int dma_logging_stop_locked(struct iommufd_device *dev);
bool dma_logging_active_locked(const struct iommufd_device *dev);
int dma_logging_report_locked(struct iommufd_device *dev,
			      struct iommufd_dirty_bitmap *bm,
			      const struct dirty_window *w,
			      uint64_t max_bytes);

/*
 * ioas.c: unmap [iova, iova + length) by iommufd_ioas_unmap()'s rules (whole
 * mappings, splits refused from the table, IDEMPOTENT), each maximal run of
 * adjacent mappings [first, last] through @fn, which unmaps it in the kernel
 * and sets *bytes. Arguments are the caller's to check. The caller may hold
 * ctx->objects_lock (taken before the IOAS's claims, as attach does).
 */
typedef int (*ioas_unmap_run_fn)(struct iommufd_ioas *ioas, uint64_t first,
				 uint64_t last, uint64_t *bytes, void *arg);
int ioas_unmap_runs(struct iommufd_ioas *ioas, uint64_t iova, uint64_t length,
		    uint32_t flags, ioas_unmap_run_fn fn, void *arg,
		    uint64_t *unmapped);

#endif
