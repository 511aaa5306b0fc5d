/* SPDX-License-Identifier: MIT */
/*
 * IO address spaces: the IOVA -> memory mappings that HWPTs and devices use.
 *
 * Each IOAS keeps a userspace table of its mappings, so callers can translate
 * an IOVA back to memory and iterate mappings without asking the kernel.
 * All calls on one IOAS may be made from many threads at once.
 */
#ifndef IOMMUFD_IOAS_H
#define IOMMUFD_IOAS_H

#include <iommufd/common.h>
#include <iommufd/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_ioas;

enum iommufd_map_flags {
	IOMMUFD_MAP_READ = 1u << 0,	  /* DMA may read the memory */
	IOMMUFD_MAP_WRITE = 1u << 1,	  /* DMA may write the memory */
	IOMMUFD_MAP_FIXED_IOVA = 1u << 2, /* map at *iova; else the kernel picks */
};

enum iommufd_unmap_flags {
	/* "Nothing mapped in the range" is success with 0 bytes unmapped, as
	 * VFIO type1 behaves. Splitting a mapping is still an error. */
	IOMMUFD_UNMAP_IDEMPOTENT = 1u << 0,
};

struct iommufd_iova_range {
	uint64_t start;
	uint64_t last;		/* inclusive */
};

struct iommufd_iova_ranges {
	uint64_t alignment;	/* every IOVA and length must be a multiple */
	size_t nr;
	struct iommufd_iova_range range[];
};

/* One entry of the mapping table. */
struct iommufd_mapping {
	uint64_t iova;
	uint64_t length;
	uint32_t flags;		/* IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE */
	int fd;			/* file-backed: the fd given to map_file; else -1 */
	uint64_t offset;	/* file-backed: offset of iova in the file */
	void *vaddr;		/* memory-backed: address of iova; else NULL */
};

int iommufd_ioas_new(struct iommufd_ctx *ctx, struct iommufd_ioas **out);

/* Destroy the kernel object and free the handle. -EBUSY (and the handle stays
 * valid) while a device or HWPT still uses the IOAS. */
int iommufd_ioas_destroy(struct iommufd_ioas *ioas);

uint32_t iommufd_ioas_id(const struct iommufd_ioas *ioas);
struct iommufd_ctx *iommufd_ioas_ctx(const struct iommufd_ioas *ioas);

/* Map @length bytes at @vaddr. With IOMMUFD_MAP_FIXED_IOVA the mapping lands
 * at *iova, else the kernel picks the IOVA and stores it in *iova. */
int iommufd_ioas_map(struct iommufd_ioas *ioas, void *vaddr, uint64_t length,
		     uint64_t *iova, uint32_t flags);

/* Map @length bytes of the file @fd (a memfd) from @offset. The library keeps
 * no reference to @fd: the kernel does. -EOPNOTSUPP before Linux 6.13. */
int iommufd_ioas_map_file(struct iommufd_ioas *ioas, int fd, uint64_t offset,
			  uint64_t length, uint64_t *iova, uint32_t flags);

/* Unmap every mapping inside [iova, iova + length). The range must cover whole
 * mappings: -ENOENT if it would split one, or if nothing is mapped there
 * (unless IOMMUFD_UNMAP_IDEMPOTENT). @unmapped (may be NULL) gets the bytes
 * unmapped. iova 0 with length UINT64_MAX means everything (unmap_all).
 * Mappings separated by holes are unmapped one adjacent group at a time: if
 * the kernel fails a later group, the earlier ones stay unmapped, the call
 * fails, and @unmapped reports what went. */
int iommufd_ioas_unmap(struct iommufd_ioas *ioas, uint64_t iova,
		       uint64_t length, uint32_t flags, uint64_t *unmapped);

/* Unmap everything; success on an empty IOAS. */
int iommufd_ioas_unmap_all(struct iommufd_ioas *ioas, uint64_t *unmapped);

/* Map into @dst the memory that @src maps at exactly [src_iova, src_iova +
 * length): -ENOENT unless that range is exactly one mapping of @src. Both IOAS
 * must belong to one context. */
int iommufd_ioas_copy(struct iommufd_ioas *dst, uint64_t *dst_iova,
		      struct iommufd_ioas *src, uint64_t src_iova,
		      uint64_t length, uint32_t flags);

/* The IOVA ranges usable for mapping now, and their alignment. *out is
 * allocated with malloc(3); release it with free(3). */
int iommufd_ioas_get_iova_ranges(struct iommufd_ioas *ioas,
				 struct iommufd_iova_ranges **out);

/* Replace the allow-list: IOVA ranges that must stay usable (attaching a
 * device that would narrow them then fails). nr == 0 clears it. */
int iommufd_ioas_allow_iovas(struct iommufd_ioas *ioas,
			     const struct iommufd_iova_range *ranges,
			     size_t nr);

int iommufd_ioas_set_huge_pages(struct iommufd_ioas *ioas, bool enable);
int iommufd_ioas_get_huge_pages(struct iommufd_ioas *ioas, bool *enabled);

/* Find the mapping that contains @iova: -ENOENT if none. */
int iommufd_ioas_translate(struct iommufd_ioas *ioas, uint64_t iova,
			   struct iommufd_mapping *out);

typedef int (*iommufd_mapping_fn)(const struct iommufd_mapping *m, void *data);

/* Call @fn for each mapping that intersects [first, last], in IOVA order.
 * A non-zero return from @fn stops the walk and is returned. @fn runs with the
 * table read-locked: it may translate, count and walk this IOAS, but map,
 * unmap, copy and destroy of this IOAS fail with -EDEADLK from inside @fn. */
int iommufd_ioas_for_each_mapping(struct iommufd_ioas *ioas, uint64_t first,
				  uint64_t last, iommufd_mapping_fn fn,
				  void *data);

size_t iommufd_ioas_mapping_count(struct iommufd_ioas *ioas);

enum iommufd_ioas_limits_flags {
	/* The kernel answered. Without it (type1 before a device is
	 * attached) the fields hold the library's assumptions: the CPU page
	 * size and up, no count limit, no dirty tracking. */
	IOMMUFD_LIMITS_KERNEL = 1u << 0,
	/* The kernel can track dirty pages (dirty_* are valid). */
	IOMMUFD_LIMITS_DIRTY_TRACKING = 1u << 1,
};

/* What the kernel allows an IOAS now (iommufd_ioas_get_limits()). */
struct iommufd_ioas_limits {
	size_t sz;			/* in: sizeof(struct iommufd_ioas_limits) */
	uint32_t flags;			/* enum iommufd_ioas_limits_flags */
	uint64_t page_sizes;		/* IOMMU page sizes: bit n = 2^n bytes */
	/* More mappings the kernel accepts (type1's DMA_AVAIL, the least
	 * over the IOAS's containers); UINT64_MAX: no count limit. */
	uint64_t mappings_avail;
	uint64_t dirty_page_sizes;	/* dirty tracking granularities */
	uint64_t dirty_bitmap_max;	/* bytes of bitmap one query may ask */
};

/* -EOPNOTSUPP on the iommufd backend (for now). */
int iommufd_ioas_get_limits(struct iommufd_ioas *ioas,
			    struct iommufd_ioas_limits *out);

#ifdef __cplusplus
}
#endif

#endif
