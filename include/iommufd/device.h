/* SPDX-License-Identifier: MIT */
/*
 * VFIO devices opened through their cdev (/dev/vfio/devices/vfioX), bound to
 * the context's iommufd, attached to an IOAS or HWPT.
 */
#ifndef IOMMUFD_DEVICE_H
#define IOMMUFD_DEVICE_H

#include <sys/types.h>
#include <iommufd/common.h>
#include <iommufd/ctx.h>
#include <iommufd/ioas.h>
#include <iommufd/hwpt.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_device;

enum iommufd_device_flags {
	/* iommufd_device_adopt(): the device owns the fd and closes it. */
	IOMMUFD_DEVICE_TAKE_FD = 1u << 0,
};

struct iommufd_device_opts {
	size_t sz;
	uint32_t flags;			/* enum iommufd_device_flags */
	const uint8_t *vf_token;	/* 16-byte UUID shared with the PF, or NULL */
	/*
	 * The IOAS the device will be attached to, when known at open (a
	 * VMM's case), or NULL. type1: the device's VFIO group joins that
	 * IOAS's one container (shared by the groups opened so, memory pinned
	 * once) and stays in it while any device of the group is open;
	 * attaching to it is then bookkeeping, to another IOAS -EBUSY.
	 * iommufd: ignored (attach as usual). Of the same context.
	 */
	struct iommufd_ioas *ioas;
};

/* @name: a PCI address ("0000:00:04.0" or "00:04.0"), an mdev UUID, a sysfs
 * device directory, or a device file path ("/dev/vfio/devices/vfio0").
 * Found through sysfs, opened (O_CLOEXEC), checked to be the file sysfs
 * names (st_rdev), and bound. */
int iommufd_device_open(struct iommufd_ctx *ctx, const char *name,
			const struct iommufd_device_opts *opts,
			struct iommufd_device **out);

/* A cdev fd opened by a manager: checked against sysfs (its st_rdev must be
 * that of a vfio-dev node) before it is bound. On failure the fd is left
 * open, whatever the flags. */
int iommufd_device_adopt(struct iommufd_ctx *ctx, int fd,
			 const struct iommufd_device_opts *opts,
			 struct iommufd_device **out);

/* Detach (PASIDs and RID), then close the fd if the device owns it, which
 * unbinds it: an adopted fd the caller kept stays bound to the iommufd. */
void iommufd_device_free(struct iommufd_device *dev);

int iommufd_device_fd(const struct iommufd_device *dev);
uint32_t iommufd_device_id(const struct iommufd_device *dev);	/* the devid */
/* "0000:00:04.0"; empty when the device is not a PCI function (an mdev). */
const char *iommufd_device_pci_addr(const struct iommufd_device *dev);

/* Attach (or replace the attachment) to an IOAS, letting the kernel choose
 * its domain, or to a HWPT. A HWPT of the library's left without devices by
 * a replace or detach is destroyed. Detaching a detached device is 0. */
int iommufd_device_attach_ioas(struct iommufd_device *dev,
			       struct iommufd_ioas *ioas);
int iommufd_device_attach_hwpt(struct iommufd_device *dev,
			       struct iommufd_hwpt *hwpt);
int iommufd_device_detach(struct iommufd_device *dev);

int iommufd_device_attach_pasid(struct iommufd_device *dev, uint32_t pasid,
				struct iommufd_hwpt *hwpt);
int iommufd_device_detach_pasid(struct iommufd_device *dev, uint32_t pasid);

enum iommufd_attach_flags {
	IOMMUFD_ATTACH_DIRTY_TRACKING = 1u << 0, /* want a dirty-tracking HWPT */
};

/*
 * Attach the way a VMM should: reuse a compatible HWPT already serving @ioas
 * (the kernel's EINVAL means "incompatible": try the next), else allocate one
 * (with dirty tracking when asked and the IOMMU can); a device without an
 * IOMMU of its own (emulated, mdev-like) attaches @ioas directly. *out_hwpt
 * (may be NULL) is the HWPT used, NULL for a direct attach. The library owns
 * HWPTs it allocates here and destroys them when their last device leaves.
 * IOMMUFD_ATTACH_DIRTY_TRACKING is a wish: where the IOMMU cannot track, the
 * device is attached without (logged); iommufd_hwpt_flags() tells.
 */
int iommufd_device_attach(struct iommufd_device *dev, struct iommufd_ioas *ioas,
			  uint32_t flags, struct iommufd_hwpt **out_hwpt);

enum iommufd_hw_info_type {
	IOMMUFD_HW_INFO_NONE = 0,
	IOMMUFD_HW_INFO_INTEL_VTD = 1,
	IOMMUFD_HW_INFO_ARM_SMMUV3 = 2,
	IOMMUFD_HW_INFO_TEGRA241_CMDQV = 3,
};

enum iommufd_hw_caps {
	IOMMUFD_HW_CAP_DIRTY_TRACKING = 1u << 0,
	IOMMUFD_HW_CAP_PCI_PASID_EXEC = 1u << 1,
	IOMMUFD_HW_CAP_PCI_PASID_PRIV = 1u << 2,
};

struct iommufd_hw_info {
	enum iommufd_hw_info_type type;
	uint64_t capabilities;		/* enum iommufd_hw_caps */
	uint8_t max_pasid_log2;		/* 0: no PASID */
	uint32_t data_len;		/* bytes of vendor data in data[] */
	uint8_t data[256];		/* vendor struct (struct iommu_hw_info_vtd ...) */
};

/* -ENODEV for a device without an IOMMU of its own (emulated). Asked of the
 * kernel once per device. */
int iommufd_device_get_hw_info(struct iommufd_device *dev,
			       struct iommufd_hw_info *info);

struct iommufd_device_info {
	uint32_t flags;			/* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions;
	uint32_t num_irqs;
};

int iommufd_device_get_info(struct iommufd_device *dev,
			    struct iommufd_device_info *info);

enum iommufd_region_flags {
	IOMMUFD_REGION_READ = 1u << 0,
	IOMMUFD_REGION_WRITE = 1u << 1,
	IOMMUFD_REGION_MMAP = 1u << 2,
};

struct iommufd_region_area {
	uint64_t offset;		/* within the region */
	uint64_t size;
};

struct iommufd_region_info {
	uint32_t index;
	uint32_t flags;			/* enum iommufd_region_flags */
	uint64_t size;
	uint64_t offset;		/* of the region in the device fd */
	/* Where mmap is allowed; with no sparse capability, the whole region
	 * when IOMMUFD_REGION_MMAP is set. */
	uint32_t nr_mmap_areas;
	struct iommufd_region_area mmap_areas[16];
};

int iommufd_device_get_region(struct iommufd_device *dev, uint32_t index,
			      struct iommufd_region_info *info);
/* Bounds-checked access inside region @index: -EINVAL when @offset is past
 * the region (or it cannot be read/written), -ERANGE when the access starts
 * inside and runs past its end. Returns bytes done or -errno. */
ssize_t iommufd_device_region_read(struct iommufd_device *dev, uint32_t index,
				   uint64_t offset, void *buf, size_t len);
ssize_t iommufd_device_region_write(struct iommufd_device *dev, uint32_t index,
				    uint64_t offset, const void *buf,
				    size_t len);
/* mmap [offset, offset + len) of region @index (MAP_SHARED; @offset page
 * aligned); -EACCES when any part lies outside the region's mmap areas. */
int iommufd_device_region_mmap(struct iommufd_device *dev, uint32_t index,
			       uint64_t offset, size_t len, int prot,
			       void **out);
int iommufd_device_region_munmap(struct iommufd_device *dev, void *addr,
				 size_t len);

struct iommufd_irq_info {
	uint32_t index;
	uint32_t flags;			/* VFIO_IRQ_INFO_* */
	uint32_t count;
};

int iommufd_device_get_irq_info(struct iommufd_device *dev, uint32_t index,
				struct iommufd_irq_info *info);
/* Wire vectors [start, start + count) of IRQ @index to eventfds (-1 leaves
 * a vector unwired). count 0 disables the whole index. */
int iommufd_device_set_irqs(struct iommufd_device *dev, uint32_t index,
			    uint32_t start, uint32_t count, const int *fds);

int iommufd_device_reset(struct iommufd_device *dev);
/* Reset every device on the bus/slot. -EPERM, with the offending device
 * logged, when an affected device is not owned by this context's iommufd
 * (no reset is attempted); -ENODEV when the bus cannot be reset. */
int iommufd_device_hot_reset(struct iommufd_device *dev);

#ifdef __cplusplus
}
#endif

#endif
