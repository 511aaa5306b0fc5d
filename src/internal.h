/* SPDX-License-Identifier: MIT */
/* What the library's object files share. Never installed. */
#ifndef IOMMUFD_INTERNAL_H
#define IOMMUFD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdbool.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>
#include <iommufd/hwpt.h>
#include "kernel/kernel.h"
#include "backend/backend.h"

#define IOMMUFD_EXPORT __attribute__((visibility("default")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Intrusive doubly linked list, circular with a head node. */
struct list_node {
	struct list_node *prev, *next;
};

static inline void list_init(struct list_node *head)
{
	head->prev = head->next = head;
}

static inline void list_add_tail(struct list_node *head, struct list_node *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

struct iommufd_ctx {
	struct iommufd_kernel kernel;
	const struct iommufd_backend_ops *backend;
	enum iommufd_backend backend_kind;	/* never AUTO */
	void *backend_priv;		/* the backend's (type1: its groups) */
	int fd;
	bool owns_fd;

	pthread_mutex_t log_lock;	/* log_fn/log_data/log_level change together */
	iommufd_log_fn log_fn;
	void *log_data;
	enum iommufd_log_level log_level;

	uint64_t features;		/* bit n = enum iommufd_feature n */

	/* Live update (liveupdate.c). lu_prepared: between prepare and abort
	 * or handoff, calls that change objects or mappings fail -EBUSY.
	 * handed_over: another process owns the kernel objects now; freeing
	 * only closes fds, no unmap, detach or destroy reaches the kernel. */
	bool lu_prepared;
	bool handed_over;
	/* Fds a live update handed to this context beyond ctx->fd and the
	 * devices' (the files its mappings name, the backend's own):
	 * closed by iommufd_ctx_free(), after the backend's ctx_release,
	 * which must not close them itself. */
	int *lu_fds;
	size_t nr_lu_fds;

	pthread_mutex_t objects_lock;
	struct list_node ioas_list;	/* struct iommufd_ioas.ctx_node */
	/* struct iommufd_device.ctx_node. objects_lock also guards every
	 * attachment, HWPT list and HWPT user count (device.c, hwpt.c), and
	 * is held across their kernel calls: attach order must be decided
	 * against a list nobody changes meanwhile. */
	struct list_node device_list;
};

/*
 * Options structs: accept a caller's smaller struct (older header) and refuse
 * a larger one whose unknown tail is not zero, as the kernel does.
 */
int opts_check(const void *opts, size_t user_sz, size_t lib_sz);
#define OPTS_VALID(opts, type) \
	(!(opts) || opts_check((opts), (opts)->sz, sizeof(struct type)) == 0)
/* Field @f of @opts, or @def when the caller's struct is too old to have it. */
#define OPTS_GET(opts, f, def)                                               \
	(((opts) && (opts)->sz >= __builtin_offsetof(__typeof__(*(opts)), f) + \
				       sizeof((opts)->f)) ? (opts)->f : (def))

void ctx_log(struct iommufd_ctx *ctx, enum iommufd_log_level level,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define ctx_err(ctx, ...) ctx_log(ctx, IOMMUFD_LOG_ERR, __VA_ARGS__)
#define ctx_warn(ctx, ...) ctx_log(ctx, IOMMUFD_LOG_WARN, __VA_ARGS__)
#define ctx_info(ctx, ...) ctx_log(ctx, IOMMUFD_LOG_INFO, __VA_ARGS__)
#define ctx_dbg(ctx, ...) ctx_log(ctx, IOMMUFD_LOG_DEBUG, __VA_ARGS__)

/* Log a failed kernel call, with a sentence for errnos users misread
 * (EFAULT on map, ENOMEM from RLIMIT_MEMLOCK, ENOENT on unmap, ...). */
void ctx_log_kernel_error(struct iommufd_ctx *ctx, const char *call, int err);

static inline void ctx_set_feature(struct iommufd_ctx *ctx,
				   enum iommufd_feature f)
{
	ctx->features |= UINT64_C(1) << f;
}

/*
 * The entry libiommufd-fake uses to build a context on a fake kernel. Exported
 * in the LIBIOMMUFD_PRIVATE version node: not API, no promises.
 */
IOMMUFD_EXPORT int iommufd__ctx_new_on_kernel(const struct iommufd_kernel *k,
					      const struct iommufd_ctx_opts *opts,
					      struct iommufd_ctx **out);

/* liveupdate.c: 0, or -EBUSY (logged, naming @call) while a live update
 * is prepared or after the context was handed over: no object or mapping
 * may change under a description that is, or was, the truth. */
int ctx_lu_busy(struct iommufd_ctx *ctx, const char *call);
/* Another process owns the kernel objects: free memory, close fds, and
 * leave the kernel alone. */
static inline bool ctx_handed_over(const struct iommufd_ctx *ctx)
{
	return __atomic_load_n(&ctx->handed_over, __ATOMIC_ACQUIRE);
}

/* ctx.c, for a live update's new process: a context over the inherited
 * @fd of a @kind backend (type1 covers vfio-compat), set up and probed
 * without creating any kernel object. The fd is not owned (owns_fd false)
 * until the caller says so. */
int ctx_new_inherited(const struct iommufd_kernel *k,
		      enum iommufd_backend kind, int fd,
		      const struct iommufd_ctx_opts *opts,
		      struct iommufd_ctx **out);

/* ioas.c: context teardown destroys what the caller left behind. */
void ioas_free_all(struct iommufd_ctx *ctx);
/*
 * ioas.c, for backends: own the IOAS as unmap_all does. Waits until no map,
 * unmap or copy is in flight and keeps new ones waiting until the end call,
 * so every table entry is LIVE and the table does not change meanwhile
 * (readers go on). -EDEADLK from inside iommufd_ioas_for_each_mapping().
 * Never call with the table lock held.
 */
int ioas_exclusive_begin(struct iommufd_ioas *ioas);
void ioas_exclusive_end(struct iommufd_ioas *ioas);

/*
 * A hardware page table. On its IOAS's list (ioas->hwpts) from allocation to
 * destruction, so iommufd_device_attach() can offer it to other devices.
 */
struct iommufd_hwpt {
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	uint32_t id;			/* kernel HWPT ID */
	uint32_t flags;			/* enum iommufd_hwpt_flags */
	/* Made by iommufd_device_attach(): destroyed with its last user. */
	bool lib_owned;
	unsigned int users;		/* RID and PASID attachments made here */
	struct iommufd_hwpt *ioas_next;
	/* IOMMU dirty tracking switched on (tracking.c), under objects_lock. */
	bool dirty_enabled;
};

struct iommufd_device_pasid {
	uint32_t pasid;
	struct iommufd_hwpt *hwpt;
};

struct device_regions;
struct dma_logging;

struct iommufd_device {
	struct iommufd_ctx *ctx;
	struct list_node ctx_node;	/* on ctx->device_list */
	int fd;
	bool owns_fd;
	uint32_t devid;
	char pci_addr[20];		/* "" when not a PCI function */
	char name[64];			/* for log lines: PCI address, UUID, vfioN */

	/* Under ctx->objects_lock. */
	struct iommufd_ioas *ioas;	/* the RID's IOAS; NULL when detached */
	struct iommufd_hwpt *hwpt;	/* NULL: the IOAS directly (emulated
					 * device, or the kernel's own domain) */
	uint32_t pt_id;			/* what the kernel attached */
	struct iommufd_device_pasid *pasids;
	size_t nr_pasids;
	/* IOMMU_GET_HW_INFO never changes: asked once by attach. 0 unknown,
	 * 1 known, -ENODEV no IOMMU of its own (emulated). */
	int hw_state;
	struct iommufd_hw_info hw;

	struct device_regions *regions;	/* device.c's region info cache */
	void *priv;			/* the backend's (type1: the group) */
	/* opts->ioas, for the backend's device_open (type1: the container of
	 * that IOAS to join); only during the open. */
	struct iommufd_ioas *open_ioas;
	/* DMA logging state (tracking.c), under ctx->objects_lock. */
	struct dma_logging *logging;
};

/*
 * Live update's rebuild (liveupdate.c), no kernel call: an IOAS with the
 * kernel's @id on ctx's list; a LIVE table entry (@fd -1: memory at
 * @backing, else the file's fd in this process and its offset); its
 * allow-list; a HWPT on @ioas's list; a device over @fd (not owned until
 * dev->owns_fd is set) attached as described (@ioas NULL: detached).
 */
int ioas_restore(struct iommufd_ctx *ctx, uint32_t id,
		 struct iommufd_ioas **out);
int ioas_restore_map(struct iommufd_ioas *ioas, uint64_t iova,
		     uint64_t length, int fd, uint64_t backing, uint32_t prot);
int ioas_restore_allowed(struct iommufd_ioas *ioas,
			 const struct iommufd_iova_range *ranges, size_t nr);
/* ioas.c: the allow-list last set (iommufd_ioas_allow_iovas()), copied
 * (*out malloc'd, NULL when empty). */
int ioas_get_allowed(struct iommufd_ioas *ioas,
		     struct iommufd_iova_range **out, size_t *nr);
int hwpt_restore(struct iommufd_ioas *ioas, uint32_t id, uint32_t flags,
		 bool lib_owned, struct iommufd_hwpt **out);
int device_restore(struct iommufd_ctx *ctx, int fd, uint32_t devid,
		   const char *name, const char *pci_addr,
		   struct iommufd_ioas *ioas, struct iommufd_hwpt *hwpt,
		   uint32_t pt_id, struct iommufd_device **out);

/* device.c, hwpt.c: context teardown, in this order, before ioas_free_all():
 * devices (which drops their HWPTs' users), then the HWPTs left. */
void device_free_all(struct iommufd_ctx *ctx);
void hwpt_free_all(struct iommufd_ctx *ctx);
/* hwpt.c, under objects_lock: a new HWPT on @ioas's list, and the drop of
 * one user (a library-owned HWPT goes with its last one). */
int hwpt_alloc_locked(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		      uint32_t flags, bool lib_owned, struct iommufd_hwpt **out);
void hwpt_put_locked(struct iommufd_hwpt *hwpt);
int hwpt_destroy_locked(struct iommufd_hwpt *hwpt);
/* device.c, under objects_lock: IOMMU_GET_HW_INFO into dev->hw, asked once.
 * 0, -ENODEV (no IOMMU of its own: emulated), or this attempt's error. */
int device_hw_info_locked(struct iommufd_device *dev);
/* tracking.c, under objects_lock, from device free before the fd closes:
 * stop the device's DMA logging and free its state. */
void tracking_device_release_locked(struct iommufd_device *dev);

#endif
