/* SPDX-License-Identifier: MIT */
/*
 * The iommufd context: one /dev/iommu file shared by every IOAS, HWPT and
 * device of a process, opened by the library or handed over by a manager.
 */
#ifndef IOMMUFD_CTX_H
#define IOMMUFD_CTX_H

#include <iommufd/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_ctx;

enum iommufd_ctx_flags {
	/* iommufd_ctx_adopt(): the context owns the fd and closes it on free. */
	IOMMUFD_CTX_TAKE_FD = 1u << 0,
};

/* Which kernel interface a context drives. */
enum iommufd_backend {
	/* iommufd when /dev/iommu exists, else the VFIO type1 container.
	 * LIBIOMMUFD_BACKEND=iommufd|type1|vfio-compat overrides it. */
	IOMMUFD_BACKEND_AUTO = 0,
	IOMMUFD_BACKEND_IOMMUFD,	/* /dev/iommu and VFIO device cdevs */
	IOMMUFD_BACKEND_TYPE1,		/* /dev/vfio/vfio containers and groups */
	/* type1 ioctls on /dev/vfio/vfio served by iommufd's compat layer */
	IOMMUFD_BACKEND_VFIO_COMPAT,
};

struct iommufd_ctx_opts {
	size_t sz;		/* sizeof(struct iommufd_ctx_opts) */
	uint32_t flags;		/* enum iommufd_ctx_flags */
	iommufd_log_fn log_fn;	/* NULL: silent, unless LIBIOMMUFD_LOG is set */
	void *log_data;
	enum iommufd_log_level log_level; /* 0 means IOMMUFD_LOG_WARN */
	enum iommufd_backend backend;	/* 0: IOMMUFD_BACKEND_AUTO */
};

/*
 * Kernel features, probed once when the context is created. Each is named
 * after the uAPI it stands for; the version is the first mainline kernel that
 * had it.
 */
enum iommufd_feature {
	IOMMUFD_FEATURE_IOAS,		  /* 6.2: IOAS alloc/map/unmap/copy/ranges/option */
	IOMMUFD_FEATURE_VFIO_COMPAT,	  /* 6.2: IOMMU_VFIO_IOAS */
	IOMMUFD_FEATURE_HWPT_ALLOC,	  /* 6.6 */
	IOMMUFD_FEATURE_HW_INFO,	  /* 6.6: IOMMU_GET_HW_INFO */
	IOMMUFD_FEATURE_DIRTY_TRACKING,	  /* 6.7: HWPT dirty tracking and bitmap */
	IOMMUFD_FEATURE_HWPT_INVALIDATE,  /* 6.8 */
	IOMMUFD_FEATURE_FAULT_QUEUE,	  /* 6.11: fault queues, HWPT fault_id */
	IOMMUFD_FEATURE_IOAS_MAP_FILE,	  /* 6.13 */
	IOMMUFD_FEATURE_VIOMMU,		  /* 6.13: vIOMMU and vDEVICE objects */
	IOMMUFD_FEATURE_CHANGE_PROCESS,	  /* 6.14: IOMMU_IOAS_CHANGE_PROCESS */
	IOMMUFD_FEATURE_VEVENTQ,	  /* 6.15 */
	IOMMUFD_FEATURE_PASID,		  /* 6.15: PASID-capable HWPTs */
	IOMMUFD_FEATURE_HW_QUEUE,	  /* 6.17 */
	IOMMUFD_FEATURE_HW_INFO_TYPE,	  /* 6.17: GET_HW_INFO with an input type */
	/* VFIO container extensions (VFIO_CHECK_EXTENSION), on the type1 and
	 * vfio-compat backends only. 6.1 reports UPDATE_VADDR and DMA_CC
	 * only once a container has an IOMMU: they appear when a device is
	 * first opened. */
	IOMMUFD_FEATURE_TYPE1,		  /* VFIO_TYPE1_IOMMU */
	IOMMUFD_FEATURE_TYPE1V2,	  /* VFIO_TYPE1v2_IOMMU (3.14) */
	IOMMUFD_FEATURE_UNMAP_ALL,	  /* 5.13: VFIO_DMA_UNMAP_FLAG_ALL */
	IOMMUFD_FEATURE_UPDATE_VADDR,	  /* 5.13: MAP/UNMAP_FLAG_VADDR */
	IOMMUFD_FEATURE_DMA_CC,		  /* VFIO_DMA_CC_IOMMU: coherent DMA */
	IOMMUFD_FEATURE__COUNT,
};

enum iommufd_rlimit_mode {
	IOMMUFD_RLIMIT_USER = 0,	/* pins charged to the user (default) */
	IOMMUFD_RLIMIT_PROCESS = 1,	/* pins charged to the process (privileged) */
};

/* Open /dev/iommu. With LIBIOMMUFD_FAKE=1 in the environment, open the
 * process's default fake kernel instead. @opts may be NULL. */
int iommufd_ctx_new(const struct iommufd_ctx_opts *opts,
		    struct iommufd_ctx **out);

/* Use an iommufd opened by someone else (a manager passing it over a socket,
 * or an inherited fd). The fd is checked to really be /dev/iommu; it is closed
 * by iommufd_ctx_free() only with IOMMUFD_CTX_TAKE_FD in opts->flags. */
int iommufd_ctx_adopt(int fd, const struct iommufd_ctx_opts *opts,
		      struct iommufd_ctx **out);

/* Destroy every object still owned by the context, then close the fd if the
 * context owns it. Accepts NULL. */
void iommufd_ctx_free(struct iommufd_ctx *ctx);

int iommufd_ctx_fd(const struct iommufd_ctx *ctx);
/* The backend the context runs on (never IOMMUFD_BACKEND_AUTO), and its
 * name: "iommufd", "type1", "vfio-compat". */
enum iommufd_backend iommufd_ctx_backend(const struct iommufd_ctx *ctx);
const char *iommufd_backend_name(enum iommufd_backend backend);
bool iommufd_ctx_is_fake(const struct iommufd_ctx *ctx);
/* Where the context's kernel keeps its sysfs: "/sys", or a fake kernel's own
 * tree (for struct iommufd_discover_opts's sysfs_root). NULL for a NULL
 * @ctx, or a fake kernel that could not make its tree. */
const char *iommufd_ctx_sysfs_root(const struct iommufd_ctx *ctx);

void iommufd_ctx_set_log(struct iommufd_ctx *ctx, iommufd_log_fn fn,
			 void *data, enum iommufd_log_level level);

bool iommufd_ctx_has_feature(const struct iommufd_ctx *ctx,
			     enum iommufd_feature feature);
/* "ioas_map_file", ...; NULL for an unknown value. */
const char *iommufd_feature_name(enum iommufd_feature feature);

int iommufd_ctx_set_rlimit_mode(struct iommufd_ctx *ctx,
				enum iommufd_rlimit_mode mode);
int iommufd_ctx_get_rlimit_mode(struct iommufd_ctx *ctx,
				enum iommufd_rlimit_mode *mode);

#ifdef __cplusplus
}
#endif

#endif
