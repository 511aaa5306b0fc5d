/* SPDX-License-Identifier: MIT */
/*
 * One ops table, one implementation per kernel interface: iommufd.c (native)
 * and type1.c (the legacy VFIO container and group, also as iommufd's
 * /dev/vfio/vfio compat layer serves them). The object files above
 * (ctx.c, ioas.c, ...) hold no ioctl numbers; they call these.
 *
 * Flags arrive as the library's enum iommufd_map_flags; each backend
 * translates them to its kernel's. Every operation returns 0 or -errno and
 * changes nothing on failure.
 */
#ifndef IOMMUFD_BACKEND_H
#define IOMMUFD_BACKEND_H

#include <stdint.h>
#include <stddef.h>

#include <stdbool.h>
#include <sys/types.h>

#include <iommufd/ctx.h>

struct iommufd_ctx;
struct iommufd_ioas;
struct iommufd_iova_range;
struct iommufd_iova_ranges;
struct iommufd_device;
struct iommufd_hwpt;
struct iommufd_hw_info;
struct iommufd_device_info;
struct iommufd_region_info;
struct iommufd_irq_info;
struct iommufd_ioas_limits;
struct mt_entry;
struct vfio_reset_info;
struct lu_check;
struct lu_desc;

struct iommufd_backend_ops {
	const char *name;

	/* Fill ctx->features; called once, right after the fd is known. */
	void (*probe)(struct iommufd_ctx *ctx);

	int (*option)(struct iommufd_ctx *ctx, uint32_t option_id, uint16_t op,
		      uint32_t object_id, uint64_t *val);

	/* Sets ioas->id. */
	int (*ioas_alloc)(struct iommufd_ioas *ioas);
	int (*ioas_destroy)(struct iommufd_ioas *ioas);
	/* *iova is in/out: the kernel's choice comes back without FIXED_IOVA. */
	int (*ioas_map)(struct iommufd_ioas *ioas, void *vaddr, uint64_t length,
			uint64_t *iova, uint32_t flags);
	int (*ioas_map_file)(struct iommufd_ioas *ioas, int fd, uint64_t offset,
			     uint64_t length, uint64_t *iova, uint32_t flags);
	int (*ioas_unmap)(struct iommufd_ioas *ioas, uint64_t iova,
			  uint64_t length, uint64_t *unmapped);
	int (*ioas_copy)(struct iommufd_ioas *dst, uint64_t *dst_iova,
			 struct iommufd_ioas *src, uint64_t src_iova,
			 uint64_t length, uint32_t flags);
	/* *out malloc'd, EMSGSIZE handled inside. */
	int (*ioas_iova_ranges)(struct iommufd_ioas *ioas,
				struct iommufd_iova_ranges **out);
	int (*ioas_allow_iovas)(struct iommufd_ioas *ioas,
				const struct iommufd_iova_range *ranges,
				size_t nr);

	/* Bind the opened device file to the context; sets dev->devid. A
	 * @vf_token (16 bytes) the kernel cannot take is -EOPNOTSUPP. */
	int (*device_bind)(struct iommufd_device *dev, const uint8_t *vf_token);
	/*
	 * Attach the device's RID (@pasid NULL) or one PASID to @ioas or
	 * @hwpt (exactly one is set); replaces an existing attachment.
	 * *out_pt_id: what the kernel attached (its own HWPT for an IOAS).
	 * @probe: the caller is trying candidates, an EINVAL ("incompatible")
	 * is expected and logged only at debug level.
	 */
	int (*device_attach)(struct iommufd_device *dev,
			     struct iommufd_ioas *ioas,
			     struct iommufd_hwpt *hwpt, const uint32_t *pasid,
			     bool probe, uint32_t *out_pt_id);
	int (*device_detach)(struct iommufd_device *dev, const uint32_t *pasid);
	/* -ENODEV: the device has no IOMMU of its own (emulated). */
	int (*device_hw_info)(struct iommufd_device *dev,
			      struct iommufd_hw_info *info);
	/* A HWPT for @dev's IOMMU over hwpt->ioas with hwpt->flags (enum
	 * iommufd_hwpt_flags); sets hwpt->id. */
	int (*hwpt_alloc)(struct iommufd_hwpt *hwpt, struct iommufd_device *dev);
	int (*hwpt_destroy)(struct iommufd_hwpt *hwpt);

	/* The ops below are optional (NULL); type1.c has them. */

	/* Set up ctx->backend_priv before probe; -errno fails the context. */
	int (*ctx_init)(struct iommufd_ctx *ctx);
	/* Free ctx->backend_priv, after every object of the context went. */
	void (*ctx_release)(struct iommufd_ctx *ctx);
	/*
	 * The library picks the IOVA of a map or copy the caller did not fix
	 * (the kernel cannot): set e->iova for e->length (e->backing, e->fd
	 * as they will be stored). Called with the IOAS's table write-locked
	 * and no exclusive owner; the map then goes on as a fixed one.
	 * -ENOSPC when nothing fits. NULL: the kernel chooses.
	 */
	int (*ioas_choose_iova)(struct iommufd_ioas *ioas, struct mt_entry *e);
	/* iommufd_ioas_get_limits(); NULL: -EOPNOTSUPP. */
	int (*ioas_limits)(struct iommufd_ioas *ioas,
			   struct iommufd_ioas_limits *out);
	/*
	 * Open the device whose sysfs directory is @devdir some other way
	 * than through a device file (type1: through its VFIO group); sets
	 * dev->fd. NULL: device.c opens the cdev and calls device_bind.
	 * dev->open_ioas: opts->ioas (NULL when not given).
	 */
	int (*device_open)(struct iommufd_device *dev, const char *devdir,
			   const uint8_t *vf_token);
	/* After device.c closed dev->fd: release what device_open took. */
	void (*device_close)(struct iommufd_device *dev);
	/* A hot reset the kernel lists by IOMMU group (!info->by_devid). */
	int (*device_hot_reset_groups)(struct iommufd_device *dev,
				       const struct vfio_reset_info *info);

	/*
	 * IOMMU dirty tracking (optional; iommufd.c has them). Switch a HWPT's
	 * tracking on (the kernel starts it clean) or off. Read: OR into
	 * @data (bit n = the @page_size page at iova + n * page_size, u64
	 * words as the kernel writes them) the pages written in [iova, iova +
	 * length), which the caller knows to be wholly mapped, and clear them
	 * unless @no_clear.
	 */
	int (*hwpt_set_dirty_tracking)(struct iommufd_hwpt *hwpt, bool enable);
	int (*hwpt_get_dirty_bitmap)(struct iommufd_hwpt *hwpt, uint64_t iova,
				     uint64_t length, uint64_t page_size,
				     uint64_t *data, bool no_clear);
	/*
	 * Dirty tracking of a backend without HWPTs, for a whole IOAS (type1.c:
	 * VFIO_IOMMU_DIRTY_PAGES in every container mapping it). set: START
	 * (or STOP) where not started (stopped) yet, all or nothing. get: OR
	 * into @data (bit n = the @page_size page at iova + n * page_size;
	 * @page_size the containers' dirty page size) the pages dirty in
	 * [iova, iova + length), clearing them; the range starts and ends on
	 * mapping edges or outside mappings. -EINVAL when a container mapping
	 * the IOAS is not tracking.
	 */
	int (*ioas_set_dirty_tracking)(struct iommufd_ioas *ioas, bool enable);
	int (*ioas_get_dirty_bitmap)(struct iommufd_ioas *ioas, uint64_t iova,
				     uint64_t length, uint64_t page_size,
				     uint64_t *data);
	/*
	 * Whether every container mapping @ioas is tracking (false when none
	 * maps it). Under objects_lock.
	 */
	bool (*ioas_dirty_tracking_on)(struct iommufd_ioas *ioas);
	/*
	 * Unmap [iova, iova + length) (a run of whole mappings) from every
	 * container, each with one VFIO_IOMMU_UNMAP_DMA that reports its
	 * dirty pages (GET_DIRTY_BITMAP, atomic in the kernel), ORed into
	 * @data (bit n = the @page_size page at iova + n * page_size, @words
	 * u64s; @page_size the containers' smallest IOMMU page). *unmapped as
	 * ioas_unmap. On failure the mappings are back in every container and
	 * @data is unchanged. Under objects_lock, every container tracking.
	 */
	int (*ioas_unmap_dirty)(struct iommufd_ioas *ioas, uint64_t iova,
				uint64_t length, uint64_t page_size,
				uint64_t *data, size_t words,
				uint64_t *unmapped);

	/*
	 * Live update (liveupdate.c, lu-desc.h). A backend without lu_save
	 * cannot be updated (the check says so). Each is all or nothing.
	 *
	 * lu_check: report what of this backend blocks an update (missing
	 * kernel features, state it cannot carry) with lu_check_feature() /
	 * lu_check_state(); under objects_lock.
	 * lu_quiesce: the old process, check passed: stop the kernel using
	 * this process's addresses (type1: UNMAP_DMA with VADDR for every
	 * mapping of every container); NULL: nothing to do (iommufd).
	 * lu_unquiesce: undo it at abort (type1: MAP_DMA with VADDR at the
	 * old vaddrs).
	 * lu_save: add the backend's fds (lu_desc_add_fd(LU_FD_BACKEND or
	 * LU_FD_CTX)) and its section (backend_data) to @d, whose generic
	 * part (IOAS, maps, HWPTs, devices) is filled already.
	 * lu_restore: the new process; ctx->fd, the IOAS (ids, tables whose
	 * file entries hold this process's fd numbers), HWPTs and devices
	 * (fds, devids, attachments) are rebuilt without any kernel call:
	 * rebuild ctx->backend_priv, each ioas->priv and dev->priv from
	 * @d. No kernel call that changes anything; failure frees what it
	 * made.
	 * lu_takeover: make this process the owner of the DMA: iommufd:
	 * IOMMU_IOAS_CHANGE_PROCESS; type1: mmap each file range and
	 * MAP_DMA with VADDR. On failure nothing changed in the kernel.
	 */
	void (*lu_check)(struct iommufd_ctx *ctx, struct lu_check *chk);
	int (*lu_quiesce)(struct iommufd_ctx *ctx);
	int (*lu_unquiesce)(struct iommufd_ctx *ctx);
	int (*lu_save)(struct iommufd_ctx *ctx, struct lu_desc *d);
	int (*lu_restore)(struct iommufd_ctx *ctx, const struct lu_desc *d);
	int (*lu_takeover)(struct iommufd_ctx *ctx);
};

/* liveupdate.c, for lu_check: one blocker each. @what is a printf format. */
void lu_check_feature(struct lu_check *chk, enum iommufd_feature feature,
		      const char *what, ...)
	__attribute__((format(printf, 3, 4)));
void lu_check_state(struct lu_check *chk, const char *what, ...)
	__attribute__((format(printf, 2, 3)));

extern const struct iommufd_backend_ops iommufd_backend_iommufd;
extern const struct iommufd_backend_ops iommufd_backend_type1;

/*
 * vfio.c: the VFIO device uAPI, the same whichever backend bound the device
 * (every backend reuses it). Each call returns 0 (or a byte count) or -errno,
 * logs a failed kernel call with the device's name, and changes nothing in
 * the library.
 */
int vfio_device_get_info(struct iommufd_device *dev,
			 struct iommufd_device_info *info);
/* Walks the capability chain (sparse mmap areas). */
int vfio_device_get_region(struct iommufd_device *dev, uint32_t index,
			   struct iommufd_region_info *info);
int vfio_device_get_irq_info(struct iommufd_device *dev, uint32_t index,
			     struct iommufd_irq_info *info);
/* TRIGGER with eventfds; count 0 disables the index (DATA_NONE). */
int vfio_device_set_irqs(struct iommufd_device *dev, uint32_t index,
			 uint32_t start, uint32_t count, const int *fds);
int vfio_device_reset(struct iommufd_device *dev);

/* One device a hot reset affects (struct vfio_pci_dependent_device). */
struct vfio_reset_dep {
	uint32_t id;			/* devid (by_devid) or IOMMU group */
	uint16_t segment;
	uint8_t bus;
	uint8_t devfn;
};

/* With by_devid: id VFIO_RESET_OWNED is "owned through its group, not
 * bound", VFIO_RESET_NOT_OWNED "not owned by this iommufd". */
#define VFIO_RESET_OWNED 0u
#define VFIO_RESET_NOT_OWNED UINT32_MAX

struct vfio_reset_info {
	bool by_devid;			/* the cdev form: devids, not groups */
	bool all_owned;			/* every affected device is owned */
	uint32_t nr;
	struct vfio_reset_dep dep[];
};

/* GET_PCI_HOT_RESET_INFO, the buffer grown until it fits; *out malloc'd. */
int vfio_device_hot_reset_info(struct iommufd_device *dev,
			       struct vfio_reset_info **out);
/* PCI_HOT_RESET; a cdev passes no group fds (@nr 0). */
int vfio_device_hot_reset(struct iommufd_device *dev, const int *group_fds,
			  uint32_t nr);
/* pread/pwrite at @off of the device fd until @len bytes are done or the
 * kernel stops: the bytes done, or -errno when none was. */
ssize_t vfio_device_rw(struct iommufd_device *dev, uint64_t off, void *buf,
		       size_t len, bool write);
int vfio_device_mmap(struct iommufd_device *dev, uint64_t off, size_t len,
		     int prot, void **out);
int vfio_device_munmap(struct iommufd_device *dev, void *addr, size_t len);

/*
 * Device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*). probe: 0 when the
 * driver can log (failures are the answer: not logged). start: @ranges in
 * the kernel's {iova, length} terms are taken from the library's inclusive
 * ones; *page_size in: the granule asked, out: the driver's. report: OR into
 * @data the pages of [iova, iova + length) written, clearing the log.
 */
int vfio_device_dma_logging_probe(struct iommufd_device *dev);
int vfio_device_dma_logging_start(struct iommufd_device *dev,
				  const struct iommufd_iova_range *ranges,
				  size_t nr, uint64_t *page_size);
int vfio_device_dma_logging_stop(struct iommufd_device *dev);
int vfio_device_dma_logging_report(struct iommufd_device *dev, uint64_t iova,
				   uint64_t length, uint64_t page_size,
				   uint64_t *data);

#endif
