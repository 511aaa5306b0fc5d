/* SPDX-License-Identifier: MIT */
/*
 * libiommufd-fake: a model of the kernel's iommufd and VFIO objects, for tests
 * of the library and of programs that issue their own ioctls.
 *
 * The raw face behaves like libc: -1 and errno. Fds it returns are real fds
 * (distinct open files); the model keys its state on the open file, so dup(2)
 * shares it as in the kernel. Paths: "/dev/iommu" opens an iommufd,
 * "/dev/vfio/devices/vfioN" the VFIO device file (cdev) of a device,
 * "/dev/vfio/vfio" a VFIO container and "/dev/vfio/N" the VFIO group of IOMMU
 * group N (legacy VFIO with the type1 IOMMU).
 *
 * A fake kernel runs on a machine: IOMMU units, PCI functions behind them and
 * emulated (mdev-like) devices, described by a real sysfs tree in a private
 * temporary directory. iommufd_fake_new() makes an empty machine; the default
 * fake kernel (and iommufd_fake_add_default_machine()) has an edu DMA device,
 * a NIC and an emulated device.
 */
#ifndef IOMMUFD_FAKE_H
#define IOMMUFD_FAKE_H

#include <sys/types.h>
#include <iommufd/common.h>
#include <iommufd/ctx.h>
#include <iommufd/discovery.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_fake;
struct stat;

int iommufd_fake_new(struct iommufd_fake **out);
void iommufd_fake_free(struct iommufd_fake *fake);

/* The process's default fake kernel: the one LIBIOMMUFD_FAKE=1 selects.
 * Created on first use, with the default machine; never freed (its sysfs
 * tree is removed at exit). */
struct iommufd_fake *iommufd_fake_default(void);

/* The raw uAPI face. */
int iommufd_fake_open(struct iommufd_fake *fake, const char *path, int flags);
int iommufd_fake_ioctl(struct iommufd_fake *fake, int fd, unsigned long request,
		       void *arg);
int iommufd_fake_close(struct iommufd_fake *fake, int fd);
int iommufd_fake_stat(struct iommufd_fake *fake, const char *path,
		      struct stat *st);
int iommufd_fake_fstat(struct iommufd_fake *fake, int fd, struct stat *st);
/* Regions of a VFIO device file (vfio-pci's index << 40 offsets); other
 * fds pass through to the system calls. mmap returns MAP_FAILED on error. */
ssize_t iommufd_fake_pread(struct iommufd_fake *fake, int fd, void *buf,
			   size_t count, off_t offset);
ssize_t iommufd_fake_pwrite(struct iommufd_fake *fake, int fd, const void *buf,
			    size_t count, off_t offset);
void *iommufd_fake_mmap(struct iommufd_fake *fake, void *addr, size_t length,
			int prot, int flags, int fd, off_t offset);
int iommufd_fake_munmap(struct iommufd_fake *fake, void *addr, size_t length);

/* A library context on this fake kernel. */
int iommufd_fake_ctx_new(struct iommufd_fake *fake,
			 const struct iommufd_ctx_opts *opts,
			 struct iommufd_ctx **out);

/* Emulate the uAPI of mainline kernel major.minor (>= 6.1): newer ioctls give
 * ENOTTY, newer flags EOPNOTSUPP, newer struct tails E2BIG. 6.1 has no
 * iommufd at all (/dev/iommu is ENOENT): VFIO type1 containers only; device
 * cdevs come with 6.6. Default: 6.17. */
int iommufd_fake_set_kernel_version(struct iommufd_fake *fake,
				    unsigned int major, unsigned int minor);

/* What /dev/vfio/vfio is. LEGACY: VFIO's container with the type1 IOMMU
 * (CONFIG_VFIO_CONTAINER, the default). IOMMUFD: an iommufd serving the
 * type1 ioctls on its compat IOAS (CONFIG_IOMMUFD_VFIO_CONTAINER), from 6.2;
 * on an older kernel version /dev/vfio/vfio stays VFIO's. Groups (/dev/vfio/N)
 * take either. */
enum iommufd_fake_vfio_container_mode {
	IOMMUFD_FAKE_VFIO_CONTAINER_LEGACY = 0,
	IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD = 1,
};

int iommufd_fake_set_vfio_container_mode(
	struct iommufd_fake *fake, enum iommufd_fake_vfio_container_mode mode);

/* vfio_iommu_type1's dma_entry_limit module parameter: the mappings a type1
 * container set up afterwards allows (default 65535; more: ENOSPC). */
int iommufd_fake_set_vfio_dma_entry_limit(struct iommufd_fake *fake,
					  unsigned int limit);

/* Emulate a VFIO type1 driver without extension @ext (VFIO_UNMAP_ALL,
 * VFIO_UPDATE_VADDR, VFIO_TYPE1v2_IOMMU, ...: an older or other kernel):
 * VFIO_CHECK_EXTENSION answers 0, and what needs it is refused (EINVAL). */
int iommufd_fake_hide_vfio_extension(struct iommufd_fake *fake,
				     unsigned long ext);

/* RLIMIT_MEMLOCK of the fake process, in bytes (default: unlimited).
 * Pinning past it fails with ENOMEM. */
void iommufd_fake_set_memlock_limit(struct iommufd_fake *fake, uint64_t bytes);
uint64_t iommufd_fake_pinned_bytes(struct iommufd_fake *fake);

/* A reserved IOVA region (an MSI window, say) that every IOAS of this fake
 * kernel excludes from mapping, as a device's reserved region would. */
int iommufd_fake_add_reserved_region(struct iommufd_fake *fake, uint64_t start,
				     uint64_t last);

/* Fault injection. A call counts each open, ioctl, mmap, pread and pwrite
 * (close never fails). fail_nth: the n-th call from now (1 = the next) fails
 * with @err and changes nothing. fail_ioctl: the next @count calls of ioctl
 * @request fail with @err (count 0 = until cleared). */
void iommufd_fake_fail_nth(struct iommufd_fake *fake, unsigned long n, int err);
void iommufd_fake_fail_ioctl(struct iommufd_fake *fake, unsigned long request,
			     int err, unsigned int count);
void iommufd_fake_fail_clear(struct iommufd_fake *fake);
/* Calls seen so far (see fail_nth for what counts). */
unsigned long iommufd_fake_call_count(struct iommufd_fake *fake);

/* Open files the model holds (fds not yet closed): for leak checks. */
unsigned int iommufd_fake_open_files(struct iommufd_fake *fake);

/* ------------------------------------------------------------------ */
/* The machine. Configuration calls return 0 or a negative errno.      */

/* The root of the machine's sysfs tree ("<tmpdir>/sys"), mirroring /sys:
 * bus/pci/devices, kernel/iommu_groups, class/iommu, class/misc/iommu.
 * NULL when no tree could be made. Removed by iommufd_fake_free(). */
const char *iommufd_fake_sysfs_root(struct iommufd_fake *fake);

/* An IOMMU instance. */
struct iommufd_fake_resv_region {
	uint64_t start;
	uint64_t last;			/* inclusive */
	enum iommufd_resv_type type;
};

struct iommufd_fake_iommu_opts {
	size_t sz;			/* sizeof(struct iommufd_fake_iommu_opts) */
	const char *name;		/* "dmar0": /sys/class/iommu/<name> */
	/* IOMMU_GET_HW_INFO: IOMMU_HW_INFO_TYPE_NONE (0), or _INTEL_VTD (1)
	 * with these registers as its data. */
	uint32_t hw_info_type;
	uint64_t vtd_cap_reg;
	uint64_t vtd_ecap_reg;
	bool dirty_tracking;		/* IOMMU_HW_CAP_DIRTY_TRACKING */
	bool nest_parent;		/* IOMMU_HWPT_ALLOC_NEST_PARENT works */
	uint8_t pasid_log2;		/* PASID width; 0: no PASID */
	uint64_t page_size;		/* smallest page, a power of two; 0: 4096 */
	/* The domains' IOVA aperture; both 0: [0, 2^48 - 1]. */
	uint64_t aperture_start;
	uint64_t aperture_last;
	/* Reserved regions of every device behind the unit. NULL: the x86 MSI
	 * window [0xfee00000, 0xfeefffff]; non-NULL with nr_reserved 0: none. */
	const struct iommufd_fake_resv_region *reserved;
	size_t nr_reserved;
};

int iommufd_fake_add_iommu(struct iommufd_fake *fake,
			   const struct iommufd_fake_iommu_opts *opts);

/* A PCI function. */
enum iommufd_fake_bar_flags {
	IOMMUFD_FAKE_BAR_IO = 1u << 0,		/* an I/O port BAR */
	IOMMUFD_FAKE_BAR_MEM64 = 1u << 1,	/* 64-bit memory BAR */
	IOMMUFD_FAKE_BAR_PREFETCH = 1u << 2,
	IOMMUFD_FAKE_BAR_NO_MMAP = 1u << 3,	/* read/write only */
	/* Holds the MSI-X table (at offset 0) and PBA: those pages cannot be
	 * mmap()ed, and the region reports a sparse-mmap capability. */
	IOMMUFD_FAKE_BAR_MSIX = 1u << 4,
};

struct iommufd_fake_bar {
	uint64_t size;			/* 0: no BAR; else a power of two */
	uint32_t flags;			/* enum iommufd_fake_bar_flags */
};

enum iommufd_fake_pci_flags {
	IOMMUFD_FAKE_PCI_PCIE = 1u << 0,	/* PCIe: 4 KiB config, ERR irq */
	IOMMUFD_FAKE_PCI_NO_INTX = 1u << 1,	/* interrupt pin 0 */
	IOMMUFD_FAKE_PCI_NO_RESET = 1u << 2,	/* no function reset */
	IOMMUFD_FAKE_PCI_NO_PASID = 1u << 3,	/* no PASID capability */
};

struct iommufd_fake_pci_opts {
	size_t sz;			/* sizeof(struct iommufd_fake_pci_opts) */
	const char *bdf;		/* "0000:00:05.0" */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint32_t class_code;		/* 0x020000 */
	uint8_t revision;
	const char *iommu;		/* the unit's name; NULL: no IOMMU */
	int32_t iommu_group;		/* with an IOMMU: the group (>= 0) */
	/* The driver bound: NULL is "vfio-pci", "" none, else any name (a
	 * device bound to another driver has no VFIO device file). */
	const char *driver;
	struct iommufd_fake_bar bars[6];
	uint32_t msi_vectors;		/* 0: no MSI capability; else 1..32 */
	uint32_t msix_vectors;		/* 0: no MSI-X; needs a BAR_MSIX BAR */
	uint32_t flags;			/* enum iommufd_fake_pci_flags */
	/* Devices with the same non-zero value share a bus that a hot reset
	 * resets together; 0: the root bus, no hot reset. */
	uint32_t reset_group;
};

int iommufd_fake_add_pci_device(struct iommufd_fake *fake,
				const struct iommufd_fake_pci_opts *opts);

/* QEMU's edu device (1234:11e8, BAR0 1 MiB of registers, MSI and INTx),
 * bound to vfio-pci. It does DMA through the IOMMU translation of the
 * moment. Its BAR0 is read and written, not mmap()ed. */
int iommufd_fake_add_edu(struct iommufd_fake *fake, const char *bdf,
			 const char *iommu, int32_t iommu_group);

/* An emulated VFIO device (an mdev): no IOMMU, its DMA through iommufd's
 * access path; a config space and a 4 KiB BAR0 that can be read and
 * written. */
struct iommufd_fake_emulated_opts {
	size_t sz;			/* sizeof(struct iommufd_fake_emulated_opts) */
	const char *uuid;		/* its name: "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001" */
	int32_t iommu_group;		/* the group vfio makes for it (>= 0) */
};

int iommufd_fake_add_emulated_device(struct iommufd_fake *fake,
				     const struct iommufd_fake_emulated_opts *opts);

/* Remove a device (-EBUSY while a file of it is open). */
int iommufd_fake_remove_device(struct iommufd_fake *fake, const char *name);

/* Bind a PCI device to another driver ("vfio-pci", "nvme"; "" unbinds). Its
 * VFIO device file comes and goes with vfio-pci; -EBUSY while one is open. */
int iommufd_fake_bind_driver(struct iommufd_fake *fake, const char *name,
			     const char *driver);

/* The path of a device's VFIO device file into @path: -ENODEV when it has
 * none, -ERANGE when @len is too small. */
int iommufd_fake_device_cdev(struct iommufd_fake *fake, const char *name,
			     char *path, size_t len);

/* DMA as the device would do it, through its current IOMMU translation (or,
 * for an emulated device, its IOAS access), an iommufd's or a VFIO type1
 * container's: 0; -EFAULT an IOMMU fault (then nothing is transferred, and
 * the fault is recorded); -EIO bus mastering is off. */
int iommufd_fake_device_dma(struct iommufd_fake *fake, const char *name,
			    uint64_t iova, void *buf, size_t len, bool write);

/* What the IOMMU saw of a device's DMA (the DMAR fault log). */
struct iommufd_fake_dma_stats {
	size_t sz;			/* sizeof(struct iommufd_fake_dma_stats) */
	uint64_t dmas;			/* transfers that completed */
	uint64_t faults;		/* transfers the IOMMU blocked */
	uint64_t last_fault_iova;
	bool last_fault_write;
	/* -ENOENT not mapped, -EPERM not permitted (a read-only mapping),
	 * -ENODEV no translation (not attached), -EFAULT the memory behind
	 * the mapping is gone, -EBUSY a type1 container refused an emulated
	 * device's access (vaddrs being updated) */
	int last_fault_reason;
};

int iommufd_fake_dma_stats(struct iommufd_fake *fake, const char *name,
			   struct iommufd_fake_dma_stats *out);

/* What the VFIO driver of a PCI device supports beyond vfio-pci, as the
 * mlx5 and pds variant drivers do. Both -ENOENT for an unknown device,
 * -EINVAL for an emulated one, -EBUSY while a file of the device is open.
 *
 * DMA logging (device dirty tracking, VFIO_DEVICE_FEATURE_DMA_LOGGING_*,
 * 6.2+): the device logs its own DMA writes within the ranges it was asked
 * to track; its tracker takes at most @max_ranges ranges (0: no limit below
 * VFIO's 256) and merges those it is given beyond that, neighbours with the
 * smallest gap first, so that it tracks the gaps too. !@supported: ENOTTY,
 * as vfio-pci answers (then @max_ranges must be 0). */
int iommufd_fake_set_dma_logging(struct iommufd_fake *fake, const char *name,
				 bool supported, uint32_t max_ranges);

/* Migration (VFIO_DEVICE_FEATURE_MIGRATION): @flags the VFIO_MIGRATION_*
 * the driver reports (PRE_COPY from 6.3); 0: none (ENOTTY); anything else
 * must hold STOP_COPY. The device stays RUNNING: migration states and data
 * are not modelled. */
int iommufd_fake_set_migration(struct iommufd_fake *fake, const char *name,
			       uint64_t flags);

/* The default machine: dmar0 (INTEL_VTD, dirty tracking, PASID) with edu at
 * 0000:00:04.0 (group 1); dmar1 (no dirty tracking) with an 8086:10d3 NIC at
 * 0000:00:05.0 (group 2); an emulated device (group 3). */
int iommufd_fake_add_default_machine(struct iommufd_fake *fake);

/* Live update: the fake kernel outlives neither an exec nor its process, as
 * the real one does, so its model travels with the fds.
 *
 * The environment variable that names the fds of a preserved fake kernel
 * across exec: "fd,fd,..." in the order iommufd_fake_preserve() gave them. */
#define IOMMUFD_FAKE_STATE_ENV "LIBIOMMUFD_FAKE_STATE"

/* Write the model (machine, open files, iommufd objects, devices' state)
 * into a new memfd. *fds (malloc'd, *nr entries, all O_CLOEXEC, the
 * caller's to pass on and close): that memfd first, then every fd the model
 * itself holds that the new process needs (MAP_FILE files, BAR memory,
 * pinned memory). The fake is not changed. -EOPNOTSUPP for what cannot
 * travel (fault queues, vIOMMUs, nested HWPTs).
 * Fault injection and IRQ eventfds are not preserved. */
int iommufd_fake_preserve(struct iommufd_fake *fake, int **fds, size_t *nr);
/* Replace @fake's machine and state (-EBUSY if it has an open file) by a
 * preserved one; the files are found again through this process's fds that
 * reach them. -EINVAL or -EBADMSG for a malformed state, @fake unchanged.
 * On success the fake owns fds[]; on failure the caller still does. */
int iommufd_fake_restore(struct iommufd_fake *fake, const int *fds, size_t nr);

#ifdef __cplusplus
}
#endif

#endif
