/* SPDX-License-Identifier: MIT */
/*
 * Discovery: which PCI devices are bound to VFIO and where their device files
 * are, the IOMMU groups (with their reserved regions) and the IOMMU units of
 * the machine, and a monitor that reports devices bound to or unbound from
 * VFIO. Everything is read from sysfs; nothing needs a context and nothing
 * opens a device.
 *
 * Which sysfs: the machine's own /sys by default, enumerated through libudev,
 * or any directory laid out as /sys is (opts->sysfs_root), walked with
 * readdir(3): the tree of a fake kernel, iommufd_ctx_sysfs_root() of a
 * context. Attributes and links are read the same way in both cases.
 *
 * Results are arrays of plain structs allocated by the library and released
 * with the matching *_info_free(). Fixed-size strings are always
 * NUL-terminated; an empty string means "none" or "unknown". Each struct ends
 * with reserved space the library zeroes, where later versions put new fields.
 *
 * Problems found in one entry (a sysfs file that does not read as the kernel
 * writes it) do not fail a whole enumeration: the entry is still returned,
 * with the fields that could not be read left empty and the first such
 * problem in its `error` member (-EBADMSG: malformed sysfs content).
 *
 * All calls are thread-safe; one monitor is used by one thread at a time.
 */
#ifndef IOMMUFD_DISCOVERY_H
#define IOMMUFD_DISCOVERY_H

#include <iommufd/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "DDDD:BB:DD.F" (the domain may have up to 8 hex digits) and its NUL. */
#define IOMMUFD_PCI_ADDR_SIZE 20
/* Driver, IOMMU unit and group type names, /dev paths. */
#define IOMMUFD_NAME_SIZE 64

enum iommufd_discover_flags {
	/* iommufd_discover_devices(): every PCI device, not only those bound
	 * to VFIO (an lspci-like view). */
	IOMMUFD_DISCOVER_ALL_PCI = 1u << 0,
	/* iommufd_discover_devices(): also the mediated devices
	 * (/sys/bus/mdev/devices) bound to a driver; every mdev driver is a
	 * VFIO driver. They come after the PCI devices, sorted by name. */
	IOMMUFD_DISCOVER_MDEV = 1u << 1,
};

/* Every discovery call takes every flag; each flag concerns only the calls
 * it names, so one opts serves them all. */
struct iommufd_discover_opts {
	size_t sz;		/* sizeof(struct iommufd_discover_opts) */
	uint32_t flags;		/* enum iommufd_discover_flags */
	/* The sysfs tree to read. NULL or "/sys": the machine's, through
	 * libudev. Else a directory laid out as /sys (bus/pci/devices,
	 * bus/mdev/devices, kernel/iommu_groups, class/iommu), such as
	 * iommufd_ctx_sysfs_root() of a context on a fake kernel. Device and
	 * group file paths in results stay /dev paths: they are the names
	 * to open through that kernel. */
	const char *sysfs_root;
};

/* The bus a VFIO device sits on. */
enum iommufd_device_bus {
	IOMMUFD_BUS_PCI = 0,
	IOMMUFD_BUS_MDEV = 1,	/* a mediated (emulated) device */
};

struct iommufd_vfio_device_info {
	char pci_addr[IOMMUFD_PCI_ADDR_SIZE];	/* "0000:00:01.0"; "" for an mdev */
	enum iommufd_device_bus bus;
	/* The sysfs name: the PCI address, or the mdev's UUID
	 * ("83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"). */
	char name[IOMMUFD_NAME_SIZE];
	/* PCI only (0 for an mdev): */
	uint16_t vendor_id;			/* 0x1234 */
	uint16_t device_id;			/* 0x11e8 */
	uint16_t subsystem_vendor_id;		/* 0 when sysfs has none */
	uint16_t subsystem_device_id;
	uint32_t class_code;			/* 0x00ff00: class, subclass, prog-if */
	char driver[IOMMUFD_NAME_SIZE];		/* "vfio-pci"; "" when unbound */
	/* Bound to vfio-pci or a vfio-pci variant driver (mlx5_vfio_pci...),
	 * an mdev bound to any driver, or has a VFIO device file. */
	bool vfio;
	/* The VFIO device file (kernel 6.6+, CONFIG_VFIO_DEVICE_CDEV). */
	bool has_cdev;
	char cdev_path[IOMMUFD_NAME_SIZE];	/* "/dev/vfio/devices/vfio0" */
	uint32_t cdev_major;			/* from vfio-dev/vfioX/dev: compare */
	uint32_t cdev_minor;			/* with the opened file's st_rdev */
	int32_t iommu_group;			/* -1: the device has no IOMMU group */
	/* The legacy VFIO group file, for the type1 container: "/dev/vfio/7",
	 * or "/dev/vfio/noiommu-7"; "" unless the device is bound to VFIO and
	 * has a group. */
	char group_path[IOMMUFD_NAME_SIZE];
	char iommu_unit[IOMMUFD_NAME_SIZE];	/* "dmar0"; "" when unknown */
	int error;				/* 0, or what could not be read */
	uint32_t __reserved[8];
};

/* The type of a reserved region, as /sys/kernel/iommu_groups/N/reserved_regions
 * names it. */
enum iommufd_resv_type {
	IOMMUFD_RESV_DIRECT = 0,		/* "direct": identity-mapped (RMRR) */
	IOMMUFD_RESV_DIRECT_RELAXABLE = 1,	/* "direct-relaxable" */
	IOMMUFD_RESV_RESERVED = 2,		/* "reserved": never mappable */
	IOMMUFD_RESV_MSI = 3,			/* "msi": the MSI doorbell window */
};

struct iommufd_reserved_region {
	uint64_t start;
	uint64_t last;		/* inclusive */
	enum iommufd_resv_type type;
};

struct iommufd_iommu_group_info {
	uint32_t id;				/* /sys/kernel/iommu_groups/<id> */
	/* "DMA", "DMA-FQ", "identity", "blocked", "unmanaged"...; "" on
	 * kernels without the type file (before 5.11). */
	char type[IOMMUFD_NAME_SIZE];
	size_t nr_devices;
	char **devices;		/* device names, sorted (PCI: "0000:00:01.0") */
	size_t nr_reserved;
	struct iommufd_reserved_region *reserved;	/* in file order */
	int error;		/* 0, or what could not be read */
	uint32_t __reserved[8];
};

struct iommufd_iommu_unit_info {
	char name[IOMMUFD_NAME_SIZE];	/* /sys/class/iommu/<name>: "dmar0" */
	size_t nr_devices;
	char **devices;			/* device names, sorted */
	int error;			/* 0, or what could not be read */
	uint32_t __reserved[8];
};

/*
 * PCI devices bound to VFIO (all PCI devices with IOMMUFD_DISCOVER_ALL_PCI),
 * sorted by address, then (with IOMMUFD_DISCOVER_MDEV) the mediated devices
 * bound to a driver, sorted by name. *out (NULL when *nr is 0) is released
 * with iommufd_vfio_device_info_free(). @opts may be NULL. Beyond the
 * per-entry problems above: -ENOENT, -ENOTDIR, -EACCES when
 * opts->sysfs_root is no directory that can be read, -EINVAL when it is "".
 */
int iommufd_discover_devices(const struct iommufd_discover_opts *opts,
			     struct iommufd_vfio_device_info **out, size_t *nr);
void iommufd_vfio_device_info_free(struct iommufd_vfio_device_info *devs,
				   size_t nr);

/* One device, whatever its driver: a PCI address ("DDDD:BB:DD.F" or
 * "BB:DD.F") or an mdev's UUID. -EINVAL for a malformed name, -ENOENT when
 * there is no such device. */
int iommufd_discover_device(const char *pci_addr,
			    struct iommufd_vfio_device_info *out);
/* The same in the sysfs tree of @opts (may be NULL). */
int iommufd_discover_device_opts(const struct iommufd_discover_opts *opts,
				 const char *name,
				 struct iommufd_vfio_device_info *out);

/*
 * The VFIO device file of a PCI device ("DDDD:BB:DD.F", or "BB:DD.F" for
 * domain 0000) or an mdev (its UUID) into @path: -EINVAL malformed name,
 * -ENOENT no such device, -ENODEV the device is not bound to VFIO or has no
 * device file (a kernel without CONFIG_VFIO_DEVICE_CDEV: use the group),
 * -EBADMSG its sysfs entry is malformed, -ERANGE @path is too small.
 */
int iommufd_find_cdev(const char *pci_addr, char *path, size_t len);
/* The same in the sysfs tree of @opts (may be NULL). */
int iommufd_find_cdev_opts(const struct iommufd_discover_opts *opts,
			   const char *name, char *path, size_t len);

/* Write the canonical form "dddd:bb:dd.f" of @pci_addr ("DDDD:BB:DD.F" or
 * "BB:DD.F", hex digits of either case) into @out: -EINVAL malformed, -ERANGE
 * @out too small. */
int iommufd_pci_addr_normalize(const char *pci_addr, char *out, size_t len);

/* Every IOMMU group, sorted by id; 0 groups when the machine has no IOMMU.
 * Release with iommufd_iommu_group_info_free(). @opts may be NULL. */
int iommufd_discover_iommu_groups(const struct iommufd_discover_opts *opts,
				  struct iommufd_iommu_group_info **out,
				  size_t *nr);
/* One group, released with iommufd_iommu_group_info_free(*out, 1): -ENOENT
 * when there is no such group. */
int iommufd_discover_iommu_group(uint32_t id,
				 struct iommufd_iommu_group_info **out);
/* The same in the sysfs tree of @opts (may be NULL). */
int iommufd_discover_iommu_group_opts(const struct iommufd_discover_opts *opts,
				      uint32_t id,
				      struct iommufd_iommu_group_info **out);
void iommufd_iommu_group_info_free(struct iommufd_iommu_group_info *groups,
				   size_t nr);

/* Every IOMMU unit (/sys/class/iommu) with the devices behind it, sorted by
 * name. Release with iommufd_iommu_unit_info_free(). @opts may be NULL. */
int iommufd_discover_iommu_units(const struct iommufd_discover_opts *opts,
				 struct iommufd_iommu_unit_info **out,
				 size_t *nr);
void iommufd_iommu_unit_info_free(struct iommufd_iommu_unit_info *units,
				  size_t nr);

/*
 * Parse the text of a reserved_regions file: lines "0x<start> 0x<last>
 * <type>\n" (1 to 16 hex digits each; the newline may be missing on the last
 * line). Strict: any malformed line, start > last or unknown type gives
 * -EINVAL and allocates nothing. Reads at most @len bytes of @text; empty
 * text is 0 regions with *out NULL. Release *out with free(3).
 */
int iommufd_parse_reserved_regions(const char *text, size_t len,
				   struct iommufd_reserved_region **out,
				   size_t *nr);
/* "direct", "direct-relaxable", "reserved", "msi"; NULL for an unknown value. */
const char *iommufd_resv_type_name(enum iommufd_resv_type type);

/*
 * The monitor: devices bound to or unbound from VFIO, from the uevents the
 * kernel sends when a PCI device's driver changes. The machine's own /sys
 * only.
 */
struct iommufd_monitor;

enum iommufd_monitor_flags {
	/* Listen to the kernel's uevents rather than udev's. Sooner, and works
	 * without udevd, but /dev nodes may not be ready (or have their final
	 * permissions) when the event arrives. */
	IOMMUFD_MONITOR_KERNEL = 1u << 0,
};

struct iommufd_monitor_opts {
	size_t sz;		/* sizeof(struct iommufd_monitor_opts) */
	uint32_t flags;		/* enum iommufd_monitor_flags */
};

enum iommufd_monitor_action {
	IOMMUFD_MONITOR_BOUND = 1,	/* now bound to a VFIO driver */
	IOMMUFD_MONITOR_UNBOUND = 2,	/* no longer bound to it (or removed) */
};

struct iommufd_monitor_event {
	enum iommufd_monitor_action action;
	/* BOUND: the device as sysfs shows it now. UNBOUND: as it was last
	 * seen bound (its cdev and group are gone or going). */
	struct iommufd_vfio_device_info device;
};

int iommufd_monitor_new(const struct iommufd_monitor_opts *opts,
			struct iommufd_monitor **out);
/* Readable (poll(2) POLLIN) when events may be pending. Owned by the monitor;
 * non-blocking and close-on-exec. */
int iommufd_monitor_fd(const struct iommufd_monitor *mon);
/* The next event: 0 and *ev filled, -EAGAIN when nothing is pending,
 * -ENOBUFS when the kernel dropped events (the monitor resynchronised its
 * view; enumerate again). */
int iommufd_monitor_read(struct iommufd_monitor *mon,
			 struct iommufd_monitor_event *ev);
void iommufd_monitor_free(struct iommufd_monitor *mon);

#ifdef __cplusplus
}
#endif

#endif
