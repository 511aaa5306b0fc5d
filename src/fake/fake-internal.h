/* SPDX-License-Identifier: MIT */
/*
 * libiommufd-fake internals: the model of the kernel's objects.
 *
 * The shape follows the kernel on purpose, so that a reader who knows
 * drivers/iommu/iommufd/ finds the same things here:
 *
 *   struct iommufd_fake      the "machine": open files, memlock, version
 *   struct fake_file         a struct file: identity (memfd inode), f_count,
 *                            file operations, private_data
 *   struct fake_ictx         struct iommufd_ctx: the object table of one
 *                            /dev/iommu open file
 *   struct fake_object       struct iommufd_object: type, id, users
 *   struct fake_ioas         struct iommufd_ioas around a struct fake_iopt
 *                            (io_pagetable): areas, allowed and reserved
 *   struct fake_area         struct iopt_area: an IOVA range over a slice of
 *   struct fake_pages        struct iopt_pages: the pinned memory (user VA
 *                            or file), shared by copies
 *   struct fake_hwpt         struct iommufd_hwpt_paging: a domain of one
 *                            IOMMU unit over an IOAS
 *   struct fake_idev         struct iommufd_device (a bound PCI function)
 *   struct fake_access       struct iommufd_access (a bound emulated device)
 *
 * and the machine around them:
 *
 *   struct fake_unit         an IOMMU instance (struct iommu_device)
 *   struct fake_device       a PCI function (struct pci_dev with vfio-pci's
 *                            struct vfio_pci_core_device) or an mdev
 *   struct fake_df           struct vfio_device_file: an open device cdev
 *
 * Locking: one mutex per fake (fake->lock) serialises every call of the
 * raw face and the seam; nothing below takes another lock.
 */
#ifndef IOMMUFD_FAKE_INTERNAL_H
#define IOMMUFD_FAKE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>

#include <iommufd/fake.h>

#include "../kernel/kernel.h"

#define FAKE_EXPORT __attribute__((visibility("default")))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define fake_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

/* Kernel versions as one comparable number. */
#define FAKE_KVER(major, minor) (((major) << 8) | (minor))
#define FAKE_KVER_DEFAULT FAKE_KVER(6, 17)
/* The oldest kernel emulated: 6.1, VFIO type1 containers without iommufd. */
#define FAKE_KVER_MIN FAKE_KVER(6, 1)
/* iommufd (/dev/iommu, and VFIO groups accepting an iommufd) from 6.2. */
#define FAKE_KVER_IOMMUFD FAKE_KVER(6, 2)

/* /dev/iommu is a misc device; its minor is dynamic, the fake picks one. */
#define FAKE_MISC_MAJOR 10
#define FAKE_IOMMU_MINOR 123
#define FAKE_IOMMU_PATH "/dev/iommu"
/* glibc's makedev() as a constant expression, for static tables. */
#define FAKE_MKDEV(ma, mi)                                                  \
	((dev_t)(((mi) & 0xffu) | (((ma) & 0xfffu) << 8) |                  \
		 ((uint64_t)((mi) & ~0xffu) << 12) |                         \
		 ((uint64_t)((ma) & ~0xfffu) << 32)))

/* Transparent huge page size: the kernel's max alignment for auto IOVAs. */
#define FAKE_HPAGE_SIZE (UINT64_C(2) << 20)

struct fake_file;
struct fake_ictx;

/* ------------------------------------------------------------------ */
/* Files: the kernel's struct file and file_operations.               */

/*
 * Operations of one file type. A missing operation behaves as the VFS does
 * for a driver without it: mmap -ENODEV, read/write -EINVAL, ioctl -ENOTTY.
 * Every operation runs under fake->lock and returns >= 0 or -errno.
 */
struct fake_file_ops {
	const char *name;
	long (*ioctl)(struct fake_file *file, unsigned long cmd, void *arg);
	/* *out holds the caller's address hint on entry (NULL: none). */
	int (*mmap)(struct fake_file *file, size_t length, int prot, int flags,
		    off_t offset, void **out);
	ssize_t (*read)(struct fake_file *file, void *buf, size_t count,
			off_t offset);
	ssize_t (*write)(struct fake_file *file, const void *buf, size_t count,
			 off_t offset);
	/* f_count reached zero: free private_data. The fd is already closed. */
	void (*release)(struct fake_file *file);
	/* What fstat(2) reports for this file (identity fields are kept). */
	mode_t st_mode;
	dev_t st_rdev;
};

struct fake_file {
	struct iommufd_fake *fake;
	const struct fake_file_ops *ops;
	/* Identity: the inode of the memfd behind every fd of this file. */
	dev_t dev;
	ino_t ino;
	/* fds of this process known to refer to this file */
	unsigned int nfds;
	/* f_count: known fds plus references the model holds (fake_file_get) */
	unsigned int refs;
	void *private_data;
	/* What fstat(2) reports as st_rdev: ops->st_rdev unless the file type
	 * sets its own (a VFIO device file: 511:N). */
	dev_t st_rdev;
	struct fake_file *prev, *next;	/* fake->files */
};

/* Create a file of @ops with a new fd (memfd); @cloexec as O_CLOEXEC. */
int fake_file_create(struct iommufd_fake *fake, const struct fake_file_ops *ops,
		     void *private_data, bool cloexec, struct fake_file **out);
void fake_file_get(struct fake_file *file);
void fake_file_put(struct fake_file *file);
/* The file an fd refers to, or NULL (*err: -EBADF closed fd, 0 other file). */
struct fake_file *fake_fd_lookup(struct iommufd_fake *fake, int fd, int *err);
/* An fd (inherited, received) known to reach @file: counted as the fds
 * fake_file_create() returns are. */
int fake_fd_adopt(struct iommufd_fake *fake, int fd, struct fake_file *file);
/* Undo a fake_file_create() whose fd never reached the user. */
void fake_file_abort(struct fake_file *file, int fd);

/* ------------------------------------------------------------------ */
/* The machine.                                                        */

struct fake_range {
	uint64_t start;
	uint64_t last;
};

/* A file the model keeps open for MAP_FILE areas (the kernel's get_file()),
 * one fd per inode however many areas use it. */
struct fake_fileref {
	dev_t dev;
	ino_t ino;
	int fd;
	unsigned int refs;
	struct fake_fileref *next;
};

struct fake_fail_ioctl {
	unsigned long request;
	int err;
	unsigned int count;	/* 0: until cleared */
};

struct iommufd_fake {
	pthread_mutex_t lock;

	unsigned int kver;		/* FAKE_KVER() */
	uint64_t page_size;

	/* Pinned-page accounting (RLIMIT_MEMLOCK of the fake process). */
	uint64_t memlock_limit;		/* bytes */
	uint64_t pinned_pages;

	/* Reserved IOVA regions every IOAS excludes, sorted, disjoint. */
	struct fake_range *reserved;
	size_t nr_reserved;

	/* Files held by MAP_FILE areas. */
	struct fake_fileref *filerefs;

	/* Open files and the fds known to reach them. */
	struct fake_file *files;
	unsigned int nr_files;
	struct fake_file **fdtab;	/* indexed by fd */
	size_t fdtab_len;

	/* The machine: IOMMU units and devices (machine.c), the sysfs tree
	 * that describes them (sysfs.c). */
	struct fake_unit *units;
	struct fake_device *devices;
	char *sysfs_dir;		/* the mkdtemp() directory, or NULL */
	char *sysfs_root;		/* sysfs_dir + "/sys" */
	pid_t sysfs_pid;		/* the process that made the tree */
	bool sysfs_failed;		/* could not make one: no tree */

	/* Legacy VFIO (group.c): the VFIO groups of the machine, and what
	 * /dev/vfio/vfio opens (enum iommufd_fake_vfio_container_mode). */
	struct fake_vgroup *vgroups;
	int vfio_container_mode;
	unsigned int vfio_dma_entry_limit;	/* type1's dma_entry_limit */
	/* VFIO extensions (numbers < 64) this kernel answers 0 for: a type1
	 * driver as an older or other kernel has it. */
	uint64_t vfio_hidden_exts;

	/* Each preserve's number (persist.c), never 0. */
	uint64_t persist_gen;

	/* Fault injection. */
	unsigned long calls;
	unsigned long fail_at;		/* 0: none */
	int fail_err;
	struct fake_fail_ioctl *fail_ioctls;
	size_t nr_fail_ioctls;
};

/* Count a call; if an injected failure is due, return -err. */
int fake_count_call(struct iommufd_fake *fake, bool is_ioctl,
		    unsigned long request);

/* Pinned-page accounting. */
int fake_charge_pinned(struct iommufd_fake *fake, uint64_t npages);
void fake_uncharge_pinned(struct iommufd_fake *fake, uint64_t npages);

/* User memory of this process, accessed as the kernel does: a bad pointer
 * is -EFAULT, never a crash. */
int fake_copy_from_user(void *dst, const void *usrc, size_t len);
int fake_copy_to_user(void *udst, const void *src, size_t len);
/* -EFAULT unless [uaddr, uaddr + len) is entirely mapped. */
int fake_check_user_range(uint64_t uaddr, uint64_t len, uint64_t page_size);

/* The raw face, returning -errno (the exported wrappers set errno). */
int fake_do_open(struct iommufd_fake *fake, const char *path, int flags);
int fake_do_close(struct iommufd_fake *fake, int fd);
long fake_do_ioctl(struct iommufd_fake *fake, int fd, unsigned long request,
		   void *arg);
int fake_do_stat(struct iommufd_fake *fake, const char *path, struct stat *st);
int fake_do_fstat(struct iommufd_fake *fake, int fd, struct stat *st);
int fake_do_mmap(struct iommufd_fake *fake, void *addr, size_t length,
		 int prot, int flags, int fd, off_t offset, void **out);
int fake_do_munmap(struct iommufd_fake *fake, void *addr, size_t length);
ssize_t fake_do_pread(struct iommufd_fake *fake, int fd, void *buf,
		      size_t count, off_t offset);
ssize_t fake_do_pwrite(struct iommufd_fake *fake, int fd, const void *buf,
		       size_t count, off_t offset);

/* ------------------------------------------------------------------ */
/* iommufd objects (iommufd.c).                                        */

enum fake_obj_type {
	FAKE_OBJ_NONE,
	FAKE_OBJ_ANY = FAKE_OBJ_NONE,
	FAKE_OBJ_DEVICE,
	FAKE_OBJ_HWPT_PAGING,
	FAKE_OBJ_HWPT_NESTED,
	FAKE_OBJ_IOAS,
	FAKE_OBJ_ACCESS,
	FAKE_OBJ_FAULT,
	FAKE_OBJ_VIOMMU,
	FAKE_OBJ_VDEVICE,
	FAKE_OBJ_VEVENTQ,
	FAKE_OBJ_HW_QUEUE,
	FAKE_OBJ__COUNT,
};

struct fake_object {
	enum fake_obj_type type;
	uint32_t id;
	/* 1 for the object table, +1 per object or file that holds it */
	unsigned int users;
};

/* The kernel's iommufd_object_ops: what destroying a type involves. */
struct fake_object_ops {
	void (*destroy)(struct fake_ictx *ictx, struct fake_object *obj);
};

struct fake_ictx {
	struct iommufd_fake *fake;
	struct fake_file *file;
	struct fake_object **objects;	/* index = id; [0] unused */
	uint32_t nr_slots;
	uint32_t next_free;		/* lowest id that may be free */
	unsigned int nr_objects;
	struct fake_ioas *vfio_ioas;	/* IOMMU_VFIO_IOAS; holds no users */
	bool account_mm;		/* IOMMU_OPTION_RLIMIT_MODE */
};

/* One command being executed: the kernel's struct iommufd_ucmd. */
struct fake_ucmd {
	struct fake_ictx *ictx;
	void *ubuffer;		/* the caller's struct */
	uint32_t user_size;
	void *cmd;		/* the kernel copy, zero-extended */
	uint32_t ksize;		/* the struct size at the emulated version */
	unsigned int kver;
};

/* Copy min(user size, kernel size) of the command back to the caller. */
int fake_ucmd_respond(struct fake_ucmd *ucmd);

int fake_object_alloc(struct fake_ictx *ictx, struct fake_object *obj,
		      enum fake_obj_type type);
/* Room in the object table for @id: 0, -ENOMEM, -EBUSY past the 31-bit
 * IDs the kernel's xarray takes. */
int fake_object_slots(struct fake_ictx *ictx, uint32_t id);
/* Undo fake_object_alloc() of an object that was never seen. */
void fake_object_abort(struct fake_ictx *ictx, struct fake_object *obj);
/* NULL (the kernel's -ENOENT) for an unknown id or an object of another
 * type; FAKE_OBJ_ANY matches every type. */
struct fake_object *fake_object_get(struct fake_ictx *ictx, uint32_t id,
				    enum fake_obj_type type);

/*
 * The kernel's iommufd_object_destroy_user(): the caller drops the user it
 * held, and the object, which only the table may still hold, goes.
 */
void fake_object_destroy_user(struct fake_ictx *ictx, struct fake_object *obj);
/* iommufd_object_put_and_try_destroy(): drop a user; destroy the object if
 * only the table holds it then. */
void fake_object_put_and_try_destroy(struct fake_ictx *ictx,
				     struct fake_object *obj);

bool fake_kver_has_flag(unsigned int kver, unsigned int nr, uint32_t flag);
/* The flags of iommufd command @nr that kernel @kver knows. */
uint32_t fake_valid_flags(unsigned int kver, unsigned int nr);
/* The iommufd of an fd (a reference the caller must drop with
 * fake_file_put(ictx->file)): -EBADF no such fd, -EBADFD not an iommufd. */
struct fake_ictx *fake_ictx_from_fd(struct iommufd_fake *fake, int fd,
				    int *err);

/* ------------------------------------------------------------------ */
/* IOAS and io_pagetable (ioas.c).                                     */

enum fake_pages_type {
	FAKE_PAGES_USER,
	FAKE_PAGES_FILE,
};

struct fake_area;

struct fake_pages {
	unsigned int refs;		/* areas using it */
	enum fake_pages_type type;
	uint64_t uptr;			/* USER: page-aligned user VA */
	struct fake_fileref *file;	/* FILE: our reference on the file */
	uint64_t start;			/* FILE: page-aligned file offset */
	uint64_t npages;
	uint64_t npinned;		/* charged to the memlock limit */
	bool writable;
	struct fake_area *areas;	/* list through area->pages_next */
	/* USER pages of a process that exec'd or handed over its state: the
	 * pinned pages outlive its address space, and are reached through
	 * this file at backing_start from then on (persist.c). */
	struct fake_fileref *backing;
	uint64_t backing_start;
	/* persist.c: its index in the preserve numbered fake->persist_gen,
	 * so that shared pages are found in O(1) per area. */
	uint64_t persist_gen;
	uint32_t persist_idx;
};

struct fake_area {
	/* AVL tree of the io_pagetable, ordered by iova */
	struct fake_area *left, *right;
	int height;
	uint64_t sub_min;		/* lowest iova in the subtree */
	uint64_t sub_max;		/* highest last in the subtree */
	uint64_t sub_gap;		/* largest hole between its areas */

	uint64_t iova;
	uint64_t last;
	struct fake_pages *pages;
	uint64_t start_byte;		/* offset of iova in pages */
	uint32_t prot;			/* IOMMU_IOAS_MAP_READABLE|WRITEABLE */
	struct fake_area *pages_next;
};

struct fake_reserved {
	struct fake_range range;
	const void *owner;		/* NULL: fake-wide region */
};

struct fake_iopt {
	struct fake_area *root;
	uint64_t nr_areas;
	struct fake_range *allowed;	/* sorted, disjoint */
	size_t nr_allowed;
	struct fake_reserved *reserved;	/* sorted by start; may overlap */
	size_t nr_reserved;
	size_t cap_reserved;
	uint64_t iova_alignment;
	bool disable_large_pages;
};

struct fake_hwpt;

struct fake_ioas {
	struct fake_object obj;
	struct fake_iopt iopt;
	struct fake_hwpt *hwpts;	/* HWPTs over this IOAS (hwpt_list) */
};

struct fake_ioas *fake_ioas_alloc(struct fake_ictx *ictx);
void fake_ioas_destroy(struct fake_ictx *ictx, struct fake_object *obj);
struct fake_ioas *fake_get_ioas(struct fake_ictx *ictx, uint32_t id);
/*
 * Reserve [start, last] for @owner: -EADDRINUSE if an area or an allowed
 * range intersects it. @dry_run only checks (and makes room, so that the
 * real call cannot fail).
 */
int fake_iopt_reserve(struct fake_iopt *iopt, uint64_t start, uint64_t last,
		      const void *owner, bool dry_run);
/* Drop every reserved range of @owner (never NULL). */
void fake_iopt_unreserve(struct fake_iopt *iopt, const void *owner);

/*
 * A device's access to the IOAS at @iova: read (or, @write, write) @len
 * bytes of the memory mapped there. All or nothing: -ENOENT when part of
 * the range is not mapped, -EPERM when a mapping lacks the permission,
 * with *fault_iova the first IOVA that failed; -EFAULT when the memory
 * behind a mapping is gone.
 */
int fake_iopt_rw(struct iommufd_fake *fake, struct fake_iopt *iopt,
		 uint64_t iova, void *buf, size_t len, bool write,
		 uint64_t *fault_iova);
/*
 * iopt_for_each_contig_area() from @iova up to @last: false when no area
 * holds @iova, else true with *contig_last the end of the run of areas
 * that follow each other without a hole, capped at @last.
 */
bool fake_iopt_contig(struct fake_iopt *iopt, uint64_t iova, uint64_t last,
		      uint64_t *contig_last);
/* persist.c: put back an area of a preserved IOAS (no checks, no charge). */
int fake_iopt_restore_area(struct fake_iopt *iopt, uint64_t iova,
			   uint64_t last, uint32_t prot, uint64_t start_byte,
			   struct fake_pages *pages);
/* Drop a reference on a file held by pages. */
void fake_fileref_put(struct iommufd_fake *fake, struct fake_fileref *ref);

int fake_ioas_alloc_ioctl(struct fake_ucmd *ucmd);
int fake_ioas_allow_iovas(struct fake_ucmd *ucmd);
int fake_ioas_copy(struct fake_ucmd *ucmd);
int fake_ioas_iova_ranges(struct fake_ucmd *ucmd);
int fake_ioas_map(struct fake_ucmd *ucmd);
int fake_ioas_map_file(struct fake_ucmd *ucmd);
int fake_ioas_unmap(struct fake_ucmd *ucmd);
int fake_ioas_option(struct fake_ucmd *ucmd);
int fake_ioas_change_process(struct fake_ucmd *ucmd);

/* Every IOAS of every open iommufd file of @fake, for fake-wide changes. */
typedef int (*fake_ioas_fn)(struct fake_ioas *ioas, void *arg);
int fake_for_each_ioas(struct iommufd_fake *fake, fake_ioas_fn fn, void *arg);

/* The iommufd file type (iommufd.c). */
extern const struct fake_file_ops fake_iommufd_fops;
int fake_iommufd_open(struct iommufd_fake *fake, int flags);

/* ------------------------------------------------------------------ */
/* The machine: IOMMU units, PCI functions, emulated devices           */

/* The kernel's IOMMU_NO_PASID. */
#define FAKE_NO_PASID 0u

/* VFIO device cdevs: a dynamic chrdev region ("vfio-dev"), minor = index. */
#define FAKE_VFIO_DEV_MAJOR 511
#define FAKE_VFIO_DEV_PREFIX "/dev/vfio/devices/vfio"
#define FAKE_KVER_VFIO_CDEV FAKE_KVER(6, 6)

/* vfio-pci's region offsets within the device fd: index << 40. */
#define FAKE_VFIO_PCI_OFFSET_SHIFT 40
#define FAKE_VFIO_PCI_INDEX_TO_OFFSET(i) ((uint64_t)(i) << FAKE_VFIO_PCI_OFFSET_SHIFT)
#define FAKE_VFIO_PCI_OFFSET_MASK ((UINT64_C(1) << FAKE_VFIO_PCI_OFFSET_SHIFT) - 1)

#define FAKE_PCI_CFG_SIZE 256
#define FAKE_PCIE_CFG_SIZE 4096
#define FAKE_NR_BARS 6

/* A reserved region of an IOMMU unit: what iommu_get_resv_regions() gives
 * for the devices behind it. */
struct fake_resv {
	uint64_t start;
	uint64_t last;
	int type;			/* enum iommufd_resv_type */
};

/* An IOMMU instance (a DMAR unit, an SMMU): /sys/class/iommu/<name>. */
struct fake_unit {
	struct fake_unit *next;
	char name[64];
	uint32_t hw_info_type;		/* IOMMU_HW_INFO_TYPE_* */
	uint64_t cap_reg, ecap_reg;	/* INTEL_VTD data */
	bool dirty_tracking;		/* IOMMU_CAP_DIRTY_TRACKING */
	bool nest_parent;		/* can allocate NEST_PARENT domains */
	uint8_t pasid_log2;		/* 0: no PASID */
	uint64_t page_size;		/* smallest IOPTE size */
	uint64_t aperture_start;	/* the domains' geometry */
	uint64_t aperture_last;
	struct fake_resv *resv;
	size_t nr_resv;
};

enum fake_dev_kind {
	FAKE_DEV_PCI,		/* a PCI function behind an IOMMU unit */
	FAKE_DEV_EMULATED,	/* an mdev-like VFIO device: no IOMMU */
};

struct fake_device;
struct fake_df;

/*
 * Dirty pages: sorted, disjoint, non-adjacent runs of page indexes (the
 * page size is the owner's: the fake's PAGE_SIZE for a HWPT's IOPTE dirty
 * bits, the tracked page size for a device's DMA log).
 */
struct fake_dirty {
	struct fake_range *runs;
	size_t nr;
	size_t cap;
};

/* Mark pages [first, last]: false when out of memory (nothing changed). */
bool fake_dirty_add(struct fake_dirty *d, uint64_t first, uint64_t last);
/* Forget pages [first, last]: -ENOMEM only when a run must split and no
 * room was reserved (fake_dirty_reserve()). */
int fake_dirty_clear(struct fake_dirty *d, uint64_t first, uint64_t last);
bool fake_dirty_reserve(struct fake_dirty *d, size_t extra);
void fake_dirty_free(struct fake_dirty *d);

/*
 * The kernel's iova_bitmap (drivers/iommu/iommufd/iova_bitmap.c) over a
 * user bitmap of u64 words: bit n stands for the granule of 1 << pgshift
 * bytes at iova + (n << pgshift), pgshift that of page_size's lowest set
 * bit (__ffs()). Bits are only ever set: the caller zeroes its bitmap. The
 * kernel pins the user's pages window by window; the walk stops at the
 * first page it cannot pin (or write): what lies past it is neither
 * reported nor cleared, and the walk answers EFAULT.
 */
struct fake_iova_bitmap {
	uint64_t iova;
	uint64_t last;			/* the last IOVA the bitmap covers */
	unsigned int pgshift;
	uint64_t uptr;
	uint64_t need;			/* bytes of words the bitmap spans */
	uint64_t avail;			/* of them, in pages that can be pinned */
	bool stopped;			/* a word past avail, or unwritable */
	/* the word being built */
	bool have_word;
	uint64_t word_idx;
	uint64_t word;
};

/* iova_bitmap_alloc() and the pinning of the bitmap's pages (page_size
 * non-zero; [iova, last] non-empty, last may be UINT64_MAX). */
void fake_iova_bitmap_init(struct fake_iova_bitmap *bm, uint64_t iova,
			   uint64_t last, uint64_t page_size, uint64_t uptr);
/*
 * The read-and-clear of a driver: report the pages of @d (1 << @shift bytes
 * each; @all: every page) that meet [start, last], a part of the bitmap's
 * range, and forget them from @d when @clear. 0; -EFAULT the bitmap stopped
 * short (what came before it is reported, and cleared); -ENOMEM.
 */
int fake_iova_bitmap_report(struct fake_iova_bitmap *bm, struct fake_dirty *d,
			    unsigned int shift, bool all, uint64_t start,
			    uint64_t last, bool clear);

/*
 * Device dirty tracking: the DMA logging of a VFIO variant driver (mlx5's
 * and pds' log_ops). The device logs its own DMA writes that fall in the
 * ranges it was asked to track, at the page size it chose.
 */
struct fake_dma_log {
	bool supported;			/* the driver has log_ops */
	uint32_t max_ranges;		/* the tracker's; 0: none below vfio's */
	bool active;			/* DMA_LOGGING_START .. STOP */
	unsigned int shift;		/* log2 of the tracked page size */
	struct fake_range *ranges;	/* tracked, sorted, disjoint */
	size_t nr_ranges;
	struct fake_dirty dirty;	/* pages of 1 << shift bytes */
	bool dirty_all;			/* lost track: every page is dirty */
};

/* A BAR: backed by a memfd (mmap-able, read and written through it) unless
 * a device model emulates its registers. */
struct fake_bar {
	uint64_t size;			/* 0: no BAR */
	uint32_t flags;			/* IOMMUFD_FAKE_BAR_* */
	int memfd;			/* -1: none */
	uint64_t msix_start;		/* the MSI-X table and PBA (table_size 0: none) */
	uint64_t msix_size;
	uint64_t hole_start;		/* the pages no mmap may cover */
	uint64_t hole_size;
};

/* A device model (edu): registers of a BAR, reset. */
struct fake_dev_model {
	const char *name;
	int model_bar;			/* the BAR whose accesses it handles */
	/* An access of @size (1, 2, 4, 8) at @off: false if the model ignores
	 * it (reads then give all ones). */
	bool (*read)(struct fake_device *dev, uint64_t off, unsigned int size,
		     uint64_t *val);
	void (*write)(struct fake_device *dev, uint64_t off, unsigned int size,
		      uint64_t val);
	void (*reset)(struct fake_device *dev);
	void (*free)(struct fake_device *dev);
	/* Live update: the model's state as bytes (@buf NULL: the size), and
	 * back (-EINVAL for bytes it did not write). */
	size_t (*save)(struct fake_device *dev, void *buf);
	int (*load)(struct fake_device *dev, const void *buf, size_t len);
};

struct fake_device {
	struct fake_device *next;	/* fake->devices, sorted by name */
	struct iommufd_fake *fake;
	enum fake_dev_kind kind;
	char name[64];			/* "0000:00:04.0" or an mdev UUID */
	uint32_t domain;		/* PCI: segment, bus, devfn */
	uint8_t bus, devfn;
	uint16_t vendor_id, device_id;
	uint16_t subsystem_vendor_id, subsystem_device_id;
	uint32_t class_code;
	uint8_t revision;
	struct fake_unit *unit;		/* NULL: no IOMMU (emulated) */
	int32_t group;			/* IOMMU group number */
	char driver[64];		/* "" unbound, "vfio-pci", "nvme"... */
	int vfio_index;			/* VFIO device index (cdev minor), -1 */
	uint32_t reset_group;		/* hot-reset bus; 0: root bus, none */
	bool reset_works;		/* function reset (FLR) */
	bool pcie;
	bool pasid;			/* PASID capable (with a unit that is) */

	/* Config space: the bytes, which bits a write may change. */
	uint32_t cfg_size;
	uint8_t cfg[FAKE_PCIE_CFG_SIZE];
	uint8_t wmask[FAKE_PCIE_CFG_SIZE];
	uint8_t msi_cap, msix_cap;	/* offsets, 0: none */
	uint16_t saved_cmd;		/* PCI_COMMAND saved at open */

	struct fake_bar bars[FAKE_NR_BARS];

	/* Interrupts, as vfio-pci's irq_type and contexts. */
	uint32_t nr_intx, nr_msi, nr_msix;
	int irq_type;			/* VFIO_PCI_*_IRQ_INDEX, -1: none */
	int *irq_efds;			/* MSI/MSI-X: eventfds (our dups), -1 */
	uint32_t nr_irq_efds;
	int intx_efd;
	bool intx_masked;		/* masked (by the user, or automasked) */
	bool intx_level;		/* the device asserts INTx */
	int err_efd, req_efd;
	bool low_power;			/* LOW_POWER_ENTRY */

	const struct fake_dev_model *model;
	void *model_priv;
	/* The driver's migration support (its mig_ops): VFIO_MIGRATION_*
	 * flags, 0 for none. */
	uint64_t migration_flags;
	struct fake_dma_log log;	/* the driver's log_ops */

	/* VFIO: the open device files, the one bound to an iommufd. */
	struct fake_df *files;
	struct fake_df *bound;
	unsigned int open_count;	/* bound (vfio_df_open) files: 0 or 1 */

	/* DMA as the IOMMU saw it. */
	uint64_t dmas;
	uint64_t faults;
	uint64_t last_fault_iova;
	bool last_fault_write;
	int last_fault_reason;
};

/* One open VFIO device file (the kernel's struct vfio_device_file). */
struct fake_df {
	struct fake_df *next;		/* dev->files */
	struct fake_device *dev;	/* NULL once the device is gone */
	struct fake_file *file;
	struct fake_ictx *ictx;		/* bound: holds a reference on its file */
	struct fake_object *idobj;	/* the DEVICE (or ACCESS) object */
	uint32_t devid;
	bool access_granted;
	bool attached;			/* vdev->iommufd_attached */
	/* PASID 0 (IOMMU_NO_PASID) in vdev->pasids: the RID attached through
	 * the PASID path, as the kernel lets it be. */
	bool pasid0;
	/* Opened through its VFIO group (VFIO_GROUP_GET_DEVICE_FD): holds a
	 * reference on the group's file; NULL for a cdev. */
	struct fake_vgroup *group;
};

/* The iommufd objects of a bound device. */
struct fake_pasid_attach {
	uint32_t pasid;
	struct fake_hwpt *hwpt;
};

struct fake_idev {
	struct fake_object obj;
	struct fake_ictx *ictx;
	struct fake_device *dev;
	struct fake_hwpt *hwpt;		/* the RID's attachment, or NULL */
	struct fake_pasid_attach *pasids;
	size_t nr_pasids;
};

struct fake_access {
	struct fake_object obj;
	struct fake_ictx *ictx;
	struct fake_device *dev;
	struct fake_ioas *ioas;		/* attached IOAS (holds a user) */
};

struct fake_hwpt {
	struct fake_object obj;
	struct fake_ictx *ictx;
	struct fake_ioas *ioas;		/* holds a user */
	struct fake_unit *unit;		/* the domain's IOMMU (its owner) */
	struct fake_hwpt *ioas_next;	/* ioas->hwpts */
	uint32_t flags;			/* IOMMU_HWPT_ALLOC_* */
	bool auto_domain;
	bool nest_parent;
	bool pasid_compat;
	bool dirty_ops;			/* allocated with DIRTY_TRACKING */
	bool dirty_enabled;		/* SET_DIRTY_TRACKING */
	bool dirty_all;			/* lost track: every page is dirty */
	struct fake_object *fault;	/* holds a user */
	struct fake_dirty dirty;	/* IOPTE dirty bits, PAGE_SIZE pages */
};

/* machine.c */
struct fake_device *fake_device_find(struct iommufd_fake *fake,
				     const char *name);
struct fake_device *fake_device_by_vfio_index(struct iommufd_fake *fake,
					      unsigned int index);
struct fake_unit *fake_unit_find(struct iommufd_fake *fake, const char *name);
/* The device is a VFIO device (bound to vfio-pci, or emulated) with a cdev
 * at this kernel version. */
bool fake_device_has_cdev(const struct fake_device *dev);
/* A driver that does DMA itself, so owns its device's IOMMU group (not
 * vfio-pci, pci-stub, pcieport, an mdev driver, nor none). */
bool fake_driver_claims_dma(const char *driver);
void fake_machine_free(struct iommufd_fake *fake);
int fake_add_default_machine(struct iommufd_fake *fake);

/* vfio.c: the VFIO device cdev file. */
extern const struct fake_file_ops fake_vfio_device_fops;
int fake_vfio_device_open(struct iommufd_fake *fake, struct fake_device *dev,
			  int flags);
/* Detach a device file from a device that is going away. */
void fake_vfio_forget_device(struct fake_df *df);
/* The device wrote [iova, iova + len): its DMA log records what falls in
 * the tracked ranges. */
void fake_dma_log_mark(struct fake_device *dev, uint64_t iova, uint64_t len);
/* The driver's log_stop (at close, and when the device goes). */
void fake_dma_log_stop(struct fake_device *dev);

/* pci.c: vfio-pci's side of a device (and the emulated device's driver). */
void fake_pci_init_config(struct fake_device *dev);
int fake_pci_alloc_bars(struct fake_device *dev);
void fake_pci_free(struct fake_device *dev);
long fake_pci_ioctl(struct fake_df *df, unsigned long cmd, void *arg);
int fake_pci_feature(struct fake_df *df, uint32_t flags, void *arg,
		     size_t argsz);
/* vfio_check_feature(): 1 to go on, 0 for a successful PROBE, -errno. */
int fake_vfio_check_feature(uint32_t flags, size_t argsz, uint32_t supported,
			    size_t minsz);
ssize_t fake_pci_rw(struct fake_df *df, void *buf, size_t count, off_t off,
		    bool write);
int fake_pci_mmap(struct fake_df *df, size_t length, int prot, int flags,
		  off_t offset, void **out);
/* vfio_pci_core_enable()/disable(): on the first open and the last close. */
void fake_pci_open_device(struct fake_device *dev);
void fake_pci_close_device(struct fake_device *dev);
/* The device raises (or lowers) its interrupt: MSI vector 0 if MSI is
 * enabled, else INTx (a level). */
void fake_pci_set_irq(struct fake_device *dev, bool level);
bool fake_pci_bus_master(const struct fake_device *dev);

/* device.c: the iommufd side of devices (drivers/iommu/iommufd/device.c). */
int fake_idev_bind(struct fake_ictx *ictx, struct fake_device *dev,
		   struct fake_idev **out);
void fake_idev_unbind(struct fake_idev *idev);
int fake_idev_attach(struct fake_idev *idev, uint32_t pasid, uint32_t *pt_id);
int fake_idev_replace(struct fake_idev *idev, uint32_t pasid, uint32_t *pt_id);
void fake_idev_detach(struct fake_idev *idev, uint32_t pasid);
bool fake_idev_pasid_attached(struct fake_idev *idev, uint32_t pasid);
/* iommufd_hw_pagetable_attach() of one HWPT, and its undo. */
int fake_idev_attach_hwpt(struct fake_idev *idev, uint32_t pasid,
			  struct fake_hwpt *hwpt);
void fake_idev_undo_attach(struct fake_idev *idev, uint32_t pasid,
			   struct fake_hwpt *hwpt);
int fake_access_create(struct fake_ictx *ictx, struct fake_device *dev,
		       struct fake_access **out);
void fake_access_destroy(struct fake_access *access);
int fake_access_attach(struct fake_access *access, uint32_t ioas_id,
		       bool replace);
void fake_access_detach(struct fake_access *access);
void fake_idev_destroy(struct fake_ictx *ictx, struct fake_object *obj);
void fake_access_destroy_obj(struct fake_ictx *ictx, struct fake_object *obj);
/* Bytes the device reads or writes at @iova through its current
 * translation: 0, -EFAULT (an IOMMU fault, recorded on the device), -EIO
 * (bus mastering off: nothing happens). */
int fake_device_dma(struct fake_device *dev, uint64_t iova, void *buf,
		    size_t len, bool write);
/* The device's devid in @ictx: > 0; -ENOENT owned through its group but not
 * bound; -ENODEV not owned (vfio_iommufd_get_dev_id()). */
int fake_device_devid(struct fake_device *dev, struct fake_ictx *ictx);

/* hwpt.c: HWPT objects (drivers/iommu/iommufd/hw_pagetable.c). */
/*
 * iommufd_hwpt_paging_alloc(): a paging HWPT over @ioas for @idev's IOMMU,
 * with @flags (IOMMU_HWPT_ALLOC_*, checked against the IOMMU); attached to
 * @idev at @pasid first when @immediate (the automatic-domain path). The
 * new object is in the table; fake_object_abort() undoes it.
 */
int fake_hwpt_paging_alloc(struct fake_ictx *ictx, struct fake_ioas *ioas,
			   struct fake_idev *idev, uint32_t flags,
			   bool immediate, uint32_t pasid,
			   struct fake_hwpt **out);
void fake_hwpt_destroy(struct fake_ictx *ictx, struct fake_object *obj);
/* A device's IOMMU driver accepts the domain (iommu_attach_*()): 0, or
 * -EINVAL (the kernel's "incompatible domain"). */
int fake_hwpt_driver_compat(struct fake_hwpt *hwpt, struct fake_device *dev,
			    uint32_t pasid);
/* The caller's reference on a HWPT it took from an attachment. */
void fake_hwpt_put(struct fake_ictx *ictx, struct fake_hwpt *hwpt);
/* A device wrote [iova, iova + len) through the HWPT: the IOMMU sets the
 * IOPTEs' dirty bits while tracking is on. */
void fake_hwpt_mark_dirty(struct fake_hwpt *hwpt, uint64_t iova, uint64_t len);
/* [iova, last] was unmapped: its IOPTEs, dirty bits and all, are gone. */
void fake_hwpt_forget_dirty(struct fake_hwpt *hwpt, uint64_t iova,
			    uint64_t last);
int fake_hwpt_alloc_ioctl(struct fake_ucmd *ucmd);
int fake_get_hw_info_ioctl(struct fake_ucmd *ucmd);
int fake_hwpt_set_dirty_tracking_ioctl(struct fake_ucmd *ucmd);
int fake_hwpt_get_dirty_bitmap_ioctl(struct fake_ucmd *ucmd);

/* edu.c */
int fake_edu_setup(struct fake_device *dev);

/* ------------------------------------------------------------------ */
/* Legacy VFIO: groups, containers, the type1 IOMMU (group.c, type1.c)  */

/* /dev/vfio/vfio: misc 10:196. /dev/vfio/N: the "vfio" chrdev region, a
 * dynamic major (the fake picks one distinct from vfio-dev's), minor in
 * the order the groups appeared. */
#define FAKE_VFIO_CONTAINER_PATH "/dev/vfio/vfio"
#define FAKE_VFIO_MINOR 196
#define FAKE_VFIO_GROUP_PREFIX "/dev/vfio/"
#define FAKE_VFIO_GROUP_MAJOR 510

struct fake_container;
struct fake_type1;

/*
 * A VFIO group (the kernel's struct vfio_group): there is one for every
 * IOMMU group with a VFIO device in it (a device bound to vfio-pci, or an
 * emulated device, whose group is VFIO_EMULATED_IOMMU). Its file is open at
 * most once; the container (or iommufd) it is set to goes with that file.
 */
struct fake_vgroup {
	struct fake_vgroup *next;	/* fake->vgroups, by number */
	struct iommufd_fake *fake;
	int32_t group;			/* the IOMMU group number */
	unsigned int minor;		/* of /dev/vfio/N */
	bool emulated;
	struct fake_file *file;		/* group->opened_file, or NULL */
	struct fake_container *container;	/* holds the container's file */
	struct fake_vgroup *container_next;
	struct fake_ictx *ictx;		/* set to an iommufd: holds its file */
	unsigned int container_users;	/* 1 + device files of the group */
};

/* The VFIO groups follow the machine: call after a device appears, goes,
 * or changes driver. */
int fake_vgroups_sync(struct iommufd_fake *fake);
void fake_vgroups_free(struct iommufd_fake *fake);
struct fake_vgroup *fake_vgroup_find(struct iommufd_fake *fake, int32_t group);
/* The group's file is open (a device of it cannot change driver). */
bool fake_vgroup_busy(struct iommufd_fake *fake, int32_t group);
/* The group's DMA is owned by a VFIO container (iommu_group_claim_dma_owner
 * by the group): no iommufd may bind a device of it. */
bool fake_vgroup_container_owned(struct iommufd_fake *fake, int32_t group);
/* The type1 IOMMU translating the group's DMA, or NULL. */
struct fake_type1 *fake_vgroup_type1(struct iommufd_fake *fake, int32_t group);

/* "/dev/vfio/vfio" or "/dev/vfio/N": open, or stat (-ENOENT otherwise). */
int fake_vfio_legacy_open(struct iommufd_fake *fake, const char *path,
			  int flags);
int fake_vfio_legacy_stat(struct iommufd_fake *fake, const char *path,
			  mode_t *mode, dev_t *rdev);
/* Ranks for iommufd_fake_free(): files that hold others go first. */
int fake_vfio_legacy_file_rank(const struct fake_file *file);
/* VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and VFIO_DEVICE_PCI_HOT_RESET on a
 * device opened through its group (group ids, group fds). */
int fake_vgroup_hot_reset_info(struct fake_df *df, void *arg);
int fake_vgroup_hot_reset(struct fake_df *df, void *arg);

/* vfio.c: a device file for the group path (VFIO_GROUP_GET_DEVICE_FD):
 * opened (vfio_df_open()), and bound to @ictx and attached to its compat
 * IOAS when the group is set to an iommufd. Returns the fd. */
int fake_vfio_group_device_open(struct fake_vgroup *vg,
				struct fake_device *dev, struct fake_ictx *ictx);

/* type1.c: vfio_iommu_type1. */
/* VFIO_CHECK_EXTENSION of the type1 driver (@iommu NULL: no container set). */
int fake_type1_check_extension(struct iommufd_fake *fake,
			       struct fake_type1 *iommu, unsigned long arg);
int fake_type1_open(struct iommufd_fake *fake, unsigned long type,
		    struct fake_type1 **out);
void fake_type1_release(struct fake_type1 *iommu);
int fake_type1_attach_group(struct fake_type1 *iommu, struct fake_vgroup *vg);
void fake_type1_detach_group(struct fake_type1 *iommu, struct fake_vgroup *vg);
long fake_type1_ioctl(struct fake_type1 *iommu, unsigned long cmd, void *arg);
/*
 * A device's DMA through the container: a device behind an IOMMU through
 * the pinned pages of its mappings (all or nothing), an emulated device
 * through vfio_dma_rw(). 0; -ENOENT not mapped, -EPERM no permission,
 * -EFAULT the memory is gone, -EBUSY vaddrs are being updated (emulated),
 * with *fault_iova the IOVA that failed.
 */
int fake_type1_dma(struct fake_type1 *iommu, bool emulated, uint64_t iova,
		   void *buf, size_t len, bool write, uint64_t *fault_iova);
/* Live update (persist.c): the type1 IOMMU's state as plain values. */
struct fake_type1_state {
	bool v2, nesting, dirty_tracking, had_domain;
	unsigned int dma_avail;
	uint64_t pgsize_bitmap;
	unsigned int nr_domain_groups;
	struct fake_range *iovas;	/* get: borrowed; restore: taken */
	size_t nr_iovas;
	size_t nr_dmas;
};

/*
 * A mapping the fake made of pinned pages (a type1 entry's alias of the
 * user's shared memory, a restored backing), shared by every entry inside
 * it: the kernel needs no VMA per mapping, and a VMA apiece would stop at
 * vm.max_map_count. Unmapped with its last reference.
 */
struct fake_pinmap {
	void *addr;
	size_t len;
	unsigned int refs;		/* under fake->lock */
};

void fake_pinmap_put(struct fake_pinmap *pm);

struct fake_type1_dma_state {
	uint64_t iova, size, vaddr;
	uint64_t pinned_addr;		/* get: where the pinned pages are */
	/* restore: where the pinned pages are now, in alias_map (a
	 * reference, taken) */
	void *alias;
	struct fake_pinmap *alias_map;
	uint32_t prot;
	bool iommu_mapped, vaddr_invalid;
	uint64_t npinned;
	uint64_t *bitmap;		/* get: borrowed; restore: taken */
	size_t bitmap_words;
};

void fake_type1_get_state(struct fake_type1 *iommu,
			  struct fake_type1_state *st);
void fake_type1_get_dma(struct fake_type1 *iommu, size_t i,
			struct fake_type1_dma_state *d);
/* The attached groups, in order; NULL past the last. */
struct fake_vgroup *fake_type1_group(struct fake_type1 *iommu, size_t i);
int fake_type1_restore(struct iommufd_fake *fake, struct fake_type1_state *st,
		       struct fake_type1 **out);
int fake_type1_restore_dma(struct fake_type1 *iommu,
			   struct fake_type1_dma_state *d);
int fake_type1_restore_group(struct fake_type1 *iommu, struct fake_vgroup *vg);
/* The restore builds aside, then moves the model into the caller's fake. */
void fake_type1_set_fake(struct fake_type1 *iommu, struct iommufd_fake *fake);
void fake_container_set_fake(struct fake_file *file, struct iommufd_fake *fake);

/* group.c: the files of legacy VFIO, for a live update. */
bool fake_file_is_vgroup(const struct fake_file *file);
bool fake_file_is_container(const struct fake_file *file);
struct fake_type1 *fake_container_type1(const struct fake_file *file);
/* Make @file a container with @iommu (may be NULL). */
int fake_container_restore(struct fake_file *file, struct fake_type1 *iommu);
/* Make @file the group's open file, set to @container (a container file)
 * or @ictx, or neither. */
void fake_vgroup_restore(struct fake_vgroup *vg, struct fake_file *file,
			 struct fake_file *container, struct fake_ictx *ictx,
			 unsigned int container_users);
/* vfio.c: a device file opened through its group. */
extern const struct fake_file_ops fake_vfio_group_device_fops;

/* iommufd's VFIO compatibility ioctls (vfio_compat.c), on any iommufd. */
long fake_vfio_compat_ioctl(struct fake_ictx *ictx, unsigned long cmd,
			    void *arg);
/* iommufd_vfio_compat_ioas_create(): the compat IOAS, made if missing. */
int fake_vfio_compat_ioas_create(struct fake_ictx *ictx);
/* iommufd.c: /dev/vfio/vfio served by iommufd (IOMMUFD_VFIO_CONTAINER). */
int fake_iommufd_open_vfio_compat(struct iommufd_fake *fake, int flags);

/* sysfs.c: the machine's sysfs tree. Each returns 0, -errno; with no tree
 * (none could be made) they do nothing. */
int fake_sysfs_ensure(struct iommufd_fake *fake);
int fake_sysfs_add_unit(struct iommufd_fake *fake, struct fake_unit *unit);
int fake_sysfs_add_device(struct iommufd_fake *fake, struct fake_device *dev);
void fake_sysfs_remove_device(struct iommufd_fake *fake,
			      struct fake_device *dev);
/* The driver link, the bus driver directory and vfio-dev/. */
int fake_sysfs_update_driver(struct iommufd_fake *fake,
			     struct fake_device *dev, const char *old_driver,
			     int old_vfio_index);
/* class/vfio/<N> of a VFIO group (@add), or its removal. */
int fake_sysfs_vfio_group(struct iommufd_fake *fake,
			  const struct fake_vgroup *vg, bool add);
/* What depends on the kernel version: class/misc/iommu (iommufd, 6.2). */
int fake_sysfs_update_version(struct iommufd_fake *fake);
void fake_sysfs_destroy(struct iommufd_fake *fake);

/* fake.c: why iommufd_fake_default() returned NULL (a negative errno). */
int fake_default_error(void);

#endif
