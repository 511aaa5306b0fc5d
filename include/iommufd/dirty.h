/* SPDX-License-Identifier: MIT */
/*
 * Dirty bitmaps: one bit per page of an IOVA window, the currency every dirty
 * source (iommufd HWPTs, VFIO device DMA logging, type1 containers) reports
 * into.
 *
 * The bits are kept as the kernel and QEMU lay them out: little-endian 64-bit
 * words, bit n of word n / 64 = the page at iova + n * page_size. Bits past
 * the last page are always zero and are never reported dirty.
 *
 * Ranges are IOVA-based: [iova, iova + length) must lie inside the window
 * (-ERANGE), length 0 is -EINVAL, and a range that wraps past 2^64 is
 * -EOVERFLOW. Partial pages round outward for set, test, count and
 * iteration (any page the range touches), and inward for clear (only pages
 * the range covers whole), so no call ever loses a dirty page.
 *
 * Not thread-safe: calls that only read a bitmap may run at once, but a call
 * that changes one must not run at the same time as any other call on it.
 */
#ifndef IOMMUFD_DIRTY_H
#define IOMMUFD_DIRTY_H

#include <iommufd/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_dirty_bitmap;

/* A clean bitmap of [iova, iova + length) at @page_size (a power of two;
 * @iova and @length multiples of it, @length > 0). -EOVERFLOW when the window
 * wraps past 2^64, -ENOMEM when its words cannot be allocated. */
int iommufd_dirty_bitmap_new(uint64_t iova, uint64_t length,
			     uint64_t page_size,
			     struct iommufd_dirty_bitmap **out);
void iommufd_dirty_bitmap_free(struct iommufd_dirty_bitmap *bm);

uint64_t iommufd_dirty_bitmap_iova(const struct iommufd_dirty_bitmap *bm);
uint64_t iommufd_dirty_bitmap_length(const struct iommufd_dirty_bitmap *bm);
uint64_t iommufd_dirty_bitmap_page_size(const struct iommufd_dirty_bitmap *bm);

/* Mark dirty every page the range touches. */
int iommufd_dirty_bitmap_set(struct iommufd_dirty_bitmap *bm, uint64_t iova,
			     uint64_t length);
/* Mark clean every page the range covers whole; partial pages stay as they
 * are. */
int iommufd_dirty_bitmap_clear(struct iommufd_dirty_bitmap *bm, uint64_t iova,
			       uint64_t length);
void iommufd_dirty_bitmap_clear_all(struct iommufd_dirty_bitmap *bm);
/* 1 when a page the range touches is dirty, 0 when none is. */
int iommufd_dirty_bitmap_test(const struct iommufd_dirty_bitmap *bm,
			      uint64_t iova, uint64_t length);

/* Dirty pages in the whole bitmap, and among the pages a range touches. */
uint64_t iommufd_dirty_bitmap_count(const struct iommufd_dirty_bitmap *bm);
int iommufd_dirty_bitmap_count_range(const struct iommufd_dirty_bitmap *bm,
				     uint64_t iova, uint64_t length,
				     uint64_t *count);

/* Called with each maximal run of dirty pages, in IOVA order. */
typedef int (*iommufd_dirty_run_fn)(uint64_t iova, uint64_t length,
				    void *data);

/* Call @fn for each run of dirty pages (within the pages the range touches,
 * runs cut at its edges). A non-zero return from @fn stops the walk and is
 * returned; else 0. @fn may clear pages already reported. */
int iommufd_dirty_bitmap_for_each_run(const struct iommufd_dirty_bitmap *bm,
				      iommufd_dirty_run_fn fn, void *data);
int iommufd_dirty_bitmap_for_each_run_range(const struct iommufd_dirty_bitmap *bm,
					    uint64_t iova, uint64_t length,
					    iommufd_dirty_run_fn fn, void *data);

/* OR into @dst the dirty pages of @src where their windows overlap.
 * -EINVAL when the page sizes differ (convert first), -ERANGE when the
 * windows do not overlap. */
int iommufd_dirty_bitmap_merge(struct iommufd_dirty_bitmap *dst,
			       const struct iommufd_dirty_bitmap *src);

/* A new bitmap of @src at @page_size. Coarser: the window grows outward to
 * whole pages of the new size, and a page is dirty when any page of @src in
 * it is. Finer: the same window; every page inside a dirty page is dirty. */
int iommufd_dirty_bitmap_convert(const struct iommufd_dirty_bitmap *src,
				 uint64_t page_size,
				 struct iommufd_dirty_bitmap **out);

/* Copy the pages of [iova, iova + length) (whole pages) into @buf as
 * little-endian u64 words, bit 0 = the page at @iova, bits past the range
 * zero. @size (bytes) must be at least 8 * ceil(pages / 64): else -ENOSPC. */
int iommufd_dirty_bitmap_export(const struct iommufd_dirty_bitmap *bm,
				uint64_t iova, uint64_t length, void *buf,
				size_t size);
/* OR into the pages of [iova, iova + length) (whole pages) a report in that
 * layout, bit 0 = the page at @iova: a kernel report of a window. Bits of
 * @buf past the range are ignored. */
int iommufd_dirty_bitmap_import(struct iommufd_dirty_bitmap *bm,
				uint64_t iova, uint64_t length,
				const void *buf, size_t size);

/* The bitmap's own words, for a kernel call that fills them in place: bit n
 * of word n / 64 = page n, little-endian on every host (on a big-endian host,
 * read a word with le64toh()). *nwords (may be NULL) gets their number.
 * Bits written past the last page are ignored. */
uint64_t *iommufd_dirty_bitmap_words(struct iommufd_dirty_bitmap *bm,
				     size_t *nwords);

#ifdef __cplusplus
}
#endif

#endif
