/* SPDX-License-Identifier: MIT */
/* The iommufd context: the /dev/iommu fd, the kernel it reaches, and logging. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/iommufd.h>

#include "internal.h"

#define IOMMUFD_DEV_PATH "/dev/iommu"
#define IOMMUFD_SYSFS_DEV "/sys/class/misc/iommu/dev"
#define VFIO_CONTAINER_PATH "/dev/vfio/vfio"
/* /dev/vfio/vfio: the misc device with VFIO's static minor, whether VFIO or
 * iommufd's compat layer (CONFIG_IOMMUFD_VFIO_CONTAINER) registers it. */
#define VFIO_CONTAINER_DEVNUM makedev(10, 196)

static const char *const feature_names[IOMMUFD_FEATURE__COUNT] = {
	[IOMMUFD_FEATURE_IOAS] = "ioas",
	[IOMMUFD_FEATURE_VFIO_COMPAT] = "vfio_compat",
	[IOMMUFD_FEATURE_HWPT_ALLOC] = "hwpt_alloc",
	[IOMMUFD_FEATURE_HW_INFO] = "hw_info",
	[IOMMUFD_FEATURE_DIRTY_TRACKING] = "dirty_tracking",
	[IOMMUFD_FEATURE_HWPT_INVALIDATE] = "hwpt_invalidate",
	[IOMMUFD_FEATURE_FAULT_QUEUE] = "fault_queue",
	[IOMMUFD_FEATURE_IOAS_MAP_FILE] = "ioas_map_file",
	[IOMMUFD_FEATURE_VIOMMU] = "viommu",
	[IOMMUFD_FEATURE_CHANGE_PROCESS] = "change_process",
	[IOMMUFD_FEATURE_VEVENTQ] = "veventq",
	[IOMMUFD_FEATURE_PASID] = "pasid",
	[IOMMUFD_FEATURE_HW_QUEUE] = "hw_queue",
	[IOMMUFD_FEATURE_HW_INFO_TYPE] = "hw_info_type",
	[IOMMUFD_FEATURE_TYPE1] = "type1",
	[IOMMUFD_FEATURE_TYPE1V2] = "type1v2",
	[IOMMUFD_FEATURE_UNMAP_ALL] = "unmap_all",
	[IOMMUFD_FEATURE_UPDATE_VADDR] = "update_vaddr",
	[IOMMUFD_FEATURE_DMA_CC] = "dma_cc",
};

static const char *const backend_names[] = {
	[IOMMUFD_BACKEND_AUTO] = "auto",
	[IOMMUFD_BACKEND_IOMMUFD] = "iommufd",
	[IOMMUFD_BACKEND_TYPE1] = "type1",
	[IOMMUFD_BACKEND_VFIO_COMPAT] = "vfio-compat",
};

IOMMUFD_EXPORT const char *iommufd_backend_name(enum iommufd_backend backend)
{
	if ((unsigned int)backend >= ARRAY_SIZE(backend_names))
		return NULL;
	return backend_names[backend];
}

IOMMUFD_EXPORT const char *iommufd_feature_name(enum iommufd_feature feature)
{
	if ((unsigned int)feature >= IOMMUFD_FEATURE__COUNT)
		return NULL;
	return feature_names[feature];
}

static const char *const level_names[] = {
	[IOMMUFD_LOG_ERR] = "err",
	[IOMMUFD_LOG_WARN] = "warn",
	[IOMMUFD_LOG_INFO] = "info",
	[IOMMUFD_LOG_DEBUG] = "debug",
};

static void stderr_log(void *data, enum iommufd_log_level level,
		       const char *msg)
{
	const char *name = (unsigned int)level < ARRAY_SIZE(level_names) &&
			   level_names[level] ? level_names[level] : "log";

	fprintf(stderr, "libiommufd: %s: %s\n", name, msg);
}

/* LIBIOMMUFD_LOG=err|warn|info|debug sends messages to stderr. */
static bool env_log_level(enum iommufd_log_level *level)
{
	const char *v = secure_getenv("LIBIOMMUFD_LOG");

	if (!v || !*v)
		return false;
	for (unsigned int i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (level_names[i] && !strcasecmp(v, level_names[i])) {
			*level = (enum iommufd_log_level)i;
			return true;
		}
	}
	*level = IOMMUFD_LOG_DEBUG;
	return true;
}

static bool env_wants_fake(void)
{
	const char *v = getenv("LIBIOMMUFD_FAKE");

	return v && (!strcmp(v, "1") || !strcasecmp(v, "yes") ||
		     !strcasecmp(v, "true"));
}

static int ctx_alloc(const struct iommufd_kernel *k,
		     const struct iommufd_ctx_opts *opts,
		     struct iommufd_ctx **out)
{
	struct iommufd_ctx *ctx;
	enum iommufd_log_level env_level;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->kernel = *k;
	ctx->backend = &iommufd_backend_iommufd;
	ctx->backend_kind = IOMMUFD_BACKEND_IOMMUFD;
	ctx->fd = -1;
	pthread_mutex_init(&ctx->log_lock, NULL);
	pthread_mutex_init(&ctx->objects_lock, NULL);
	list_init(&ctx->ioas_list);
	list_init(&ctx->device_list);

	ctx->log_fn = OPTS_GET(opts, log_fn, NULL);
	ctx->log_data = OPTS_GET(opts, log_data, NULL);
	ctx->log_level = OPTS_GET(opts, log_level, 0);
	if (!ctx->log_level)
		ctx->log_level = IOMMUFD_LOG_WARN;
	if (!ctx->log_fn && env_log_level(&env_level)) {
		ctx->log_fn = stderr_log;
		ctx->log_level = env_level;
	}
	*out = ctx;
	return 0;
}

static void ctx_release(struct iommufd_ctx *ctx)
{
	if (ctx->backend->ctx_release)
		ctx->backend->ctx_release(ctx);
	if (ctx->owns_fd && ctx->fd >= 0)
		kernel_close(&ctx->kernel, ctx->fd);
	for (size_t i = 0; i < ctx->nr_lu_fds; i++)
		close(ctx->lu_fds[i]);
	free(ctx->lu_fds);
	pthread_mutex_destroy(&ctx->objects_lock);
	pthread_mutex_destroy(&ctx->log_lock);
	free(ctx);
}

static void ctx_probe(struct iommufd_ctx *ctx)
{
	ctx->backend->probe(ctx);
	for (unsigned int f = 0; f < IOMMUFD_FEATURE__COUNT; f++)
		ctx_dbg(ctx, "feature %s: %s", feature_names[f],
			iommufd_ctx_has_feature(ctx, f) ? "yes" : "no");
}

/*
 * The backend asked for: opts->backend, or LIBIOMMUFD_BACKEND when that is
 * AUTO (the environment never overrides an explicit choice).
 */
static int wanted_backend(struct iommufd_ctx *ctx,
			  const struct iommufd_ctx_opts *opts, bool use_env,
			  enum iommufd_backend *out)
{
	enum iommufd_backend b = OPTS_GET(opts, backend, IOMMUFD_BACKEND_AUTO);
	const char *v;

	if ((unsigned int)b >= ARRAY_SIZE(backend_names)) {
		ctx_err(ctx, "unknown backend %u", (unsigned int)b);
		return -EINVAL;
	}
	v = use_env ? secure_getenv("LIBIOMMUFD_BACKEND") : NULL;
	if (b == IOMMUFD_BACKEND_AUTO && v && *v) {
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(backend_names); i++)
			if (!strcasecmp(v, backend_names[i]))
				break;
		if (i == ARRAY_SIZE(backend_names)) {
			ctx_err(ctx, "LIBIOMMUFD_BACKEND=%s: not auto, iommufd, type1 or vfio-compat",
				v);
			return -EINVAL;
		}
		b = (enum iommufd_backend)i;
	}
	*out = b;
	return 0;
}

/* With ctx->fd set: the backend's state, the kind check, the probe. */
static int ctx_setup(struct iommufd_ctx *ctx,
		     const struct iommufd_backend_ops *ops,
		     enum iommufd_backend want)
{
	int ret;

	ctx->backend = ops;
	ctx->backend_kind = ops == &iommufd_backend_iommufd ?
				    IOMMUFD_BACKEND_IOMMUFD :
				    IOMMUFD_BACKEND_TYPE1;
	/* type1's init tells VFIO's container from iommufd's compat one. */
	if (ops->ctx_init) {
		ret = ops->ctx_init(ctx);
		if (ret)
			return ret;
	}
	if (want == IOMMUFD_BACKEND_VFIO_COMPAT &&
	    ctx->backend_kind != IOMMUFD_BACKEND_VFIO_COMPAT) {
		ctx_err(ctx, "%s is VFIO's own container, not iommufd's compat layer (CONFIG_IOMMUFD_VFIO_CONTAINER): the vfio-compat backend is not available",
			VFIO_CONTAINER_PATH);
		return -ENODEV;
	}
	if (want == IOMMUFD_BACKEND_TYPE1 &&
	    ctx->backend_kind == IOMMUFD_BACKEND_VFIO_COMPAT)
		ctx_info(ctx, "%s is served by iommufd's compat layer: the type1 backend runs as vfio-compat",
			 VFIO_CONTAINER_PATH);
	ctx_probe(ctx);
	ctx_dbg(ctx, "backend %s", backend_names[ctx->backend_kind]);
	return 0;
}

static int ctx_open(const struct iommufd_kernel *k,
		    const struct iommufd_ctx_opts *opts,
		    struct iommufd_ctx **out)
{
	const struct iommufd_backend_ops *ops = &iommufd_backend_iommufd;
	enum iommufd_backend want;
	struct iommufd_ctx *ctx;
	int ret, iommu_err = 0;

	ret = ctx_alloc(k, opts, &ctx);
	if (ret)
		return ret;
	ret = wanted_backend(ctx, opts, true, &want);
	if (ret)
		goto fail;
	ret = -ENOENT;
	if (want == IOMMUFD_BACKEND_AUTO || want == IOMMUFD_BACKEND_IOMMUFD) {
		ret = kernel_open(k, IOMMUFD_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (ret < 0) {
			iommu_err = ret;
			if (want == IOMMUFD_BACKEND_AUTO)
				ctx_dbg(ctx, "cannot open %s (%s kernel): %s: trying the VFIO type1 container",
					IOMMUFD_DEV_PATH, k->ops->name,
					strerror(-ret));
			else
				ctx_err(ctx, "cannot open %s (%s kernel): %s%s",
					IOMMUFD_DEV_PATH, k->ops->name,
					strerror(-ret),
					ret == -ENOENT ? ": this kernel has no iommufd (CONFIG_IOMMUFD)" : "");
		}
	}
	/* AUTO falls back when this kernel has no iommufd for us, not on a
	 * failure of the moment (EMFILE, ENOMEM: those are the answer). */
	if (ret < 0 && want != IOMMUFD_BACKEND_IOMMUFD &&
	    (!iommu_err || iommu_err == -ENOENT || iommu_err == -ENODEV ||
	     iommu_err == -ENXIO || iommu_err == -EACCES ||
	     iommu_err == -EPERM)) {
		ops = &iommufd_backend_type1;
		ret = kernel_open(k, VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
		if (ret < 0 && iommu_err) {
			ctx_err(ctx, "cannot open %s (%s kernel): %s%s, nor %s: %s",
				IOMMUFD_DEV_PATH, k->ops->name,
				strerror(-iommu_err),
				iommu_err == -ENOENT ? " (no CONFIG_IOMMUFD)" : "",
				VFIO_CONTAINER_PATH, strerror(-ret));
			ret = iommu_err;
		} else if (ret < 0) {
			ctx_err(ctx, "cannot open %s (%s kernel): %s%s",
				VFIO_CONTAINER_PATH, k->ops->name,
				strerror(-ret),
				ret == -ENOENT ? ": this kernel has no VFIO container (CONFIG_VFIO_CONTAINER, vfio_iommu_type1)" : "");
		}
	}
	if (ret < 0)
		goto fail;
	ctx->fd = ret;
	ctx->owns_fd = true;
	ret = ctx_setup(ctx, ops, want);
	if (ret)
		goto fail;
	*out = ctx;
	return 0;
fail:
	ctx_release(ctx);
	return ret;
}

static int kernel_for_env(struct iommufd_kernel *k)
{
	if (env_wants_fake())
		return iommufd_fake_kernel_load(k);
	k->ops = &iommufd_sys_kernel_ops;
	k->priv = NULL;
	return 0;
}

IOMMUFD_EXPORT int iommufd_ctx_new(const struct iommufd_ctx_opts *opts,
				   struct iommufd_ctx **out)
{
	struct iommufd_kernel k;
	int ret;

	if (!out)
		return -EINVAL;
	if (opts && opts_check(opts, opts->sz, sizeof(*opts)))
		return opts->sz < sizeof(size_t) ? -EINVAL : -E2BIG;
	if (OPTS_GET(opts, flags, 0) & ~0u)
		return -EINVAL;	/* TAKE_FD only means something to adopt */
	ret = kernel_for_env(&k);
	if (ret)
		return ret;
	return ctx_open(&k, opts, out);
}

IOMMUFD_EXPORT int iommufd__ctx_new_on_kernel(const struct iommufd_kernel *k,
					      const struct iommufd_ctx_opts *opts,
					      struct iommufd_ctx **out)
{
	if (!k || !out)
		return -EINVAL;
	if (opts && opts_check(opts, opts->sz, sizeof(*opts)))
		return opts->sz < sizeof(size_t) ? -EINVAL : -E2BIG;
	if (OPTS_GET(opts, flags, 0))
		return -EINVAL;
	return ctx_open(k, opts, out);
}

int ctx_new_inherited(const struct iommufd_kernel *k,
		      enum iommufd_backend kind, int fd,
		      const struct iommufd_ctx_opts *opts,
		      struct iommufd_ctx **out)
{
	const struct iommufd_backend_ops *ops;
	struct iommufd_ctx *ctx;
	int ret;

	if (kind == IOMMUFD_BACKEND_IOMMUFD)
		ops = &iommufd_backend_iommufd;
	else if (kind == IOMMUFD_BACKEND_TYPE1 ||
		 kind == IOMMUFD_BACKEND_VFIO_COMPAT)
		ops = &iommufd_backend_type1;
	else
		return -EINVAL;
	ret = ctx_alloc(k, opts, &ctx);
	if (ret)
		return ret;
	ctx->fd = fd;
	ctx->owns_fd = false;
	/* AUTO: type1's init tells VFIO's container from the compat one
	 * again, whatever the old process called it. */
	ret = ctx_setup(ctx, ops, IOMMUFD_BACKEND_AUTO);
	if (ret) {
		ctx_release(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

/* The device number of /dev/iommu: from the node if this mount namespace has
 * one, else from sysfs ("major:minor"), as a manager may pass the fd into a
 * sandbox without /dev/iommu. */
static int iommufd_devnum(const struct iommufd_kernel *k, dev_t *devnum)
{
	struct stat st;
	char buf[32];
	unsigned int major, minor;
	ssize_t n;
	int fd, ret;

	ret = kernel_stat(k, IOMMUFD_DEV_PATH, &st);
	if (!ret && S_ISCHR(st.st_mode)) {
		*devnum = st.st_rdev;
		return 0;
	}
	fd = kernel_open(k, IOMMUFD_SYSFS_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENODEV;
	n = kernel_pread(k, fd, buf, sizeof(buf) - 1, 0);
	kernel_close(k, fd);
	if (n <= 0)
		return -ENODEV;
	buf[n] = '\0';
	if (sscanf(buf, "%u:%u", &major, &minor) != 2)
		return -ENODEV;
	*devnum = makedev(major, minor);
	return 0;
}

IOMMUFD_EXPORT int iommufd_ctx_adopt(int fd, const struct iommufd_ctx_opts *opts,
				     struct iommufd_ctx **out)
{
	struct iommufd_kernel k;
	struct iommufd_ctx *ctx;
	enum iommufd_backend want;
	struct stat st;
	dev_t devnum;
	uint32_t flags;
	int ret;

	if (!out || fd < 0)
		return -EINVAL;
	if (opts && opts_check(opts, opts->sz, sizeof(*opts)))
		return opts->sz < sizeof(size_t) ? -EINVAL : -E2BIG;
	flags = OPTS_GET(opts, flags, 0);
	if (flags & ~(uint32_t)IOMMUFD_CTX_TAKE_FD)
		return -EINVAL;
	ret = kernel_for_env(&k);
	if (ret)
		return ret;
	ret = ctx_alloc(&k, opts, &ctx);
	if (ret)
		return ret;

	ret = wanted_backend(ctx, opts, false, &want);
	if (ret)
		goto fail;
	ret = kernel_fstat(&k, fd, &st);
	if (ret) {
		ctx_err(ctx, "adopt: fd %d: %s", fd, strerror(-ret));
		goto fail;
	}
	if (S_ISCHR(st.st_mode) && st.st_rdev == VFIO_CONTAINER_DEVNUM) {
		/* A VFIO container (or iommufd's compat one): type1. */
		if (want == IOMMUFD_BACKEND_IOMMUFD) {
			ctx_err(ctx, "adopt: fd %d is %s, not /dev/iommu",
				fd, VFIO_CONTAINER_PATH);
			ret = -ENODEV;
			goto fail;
		}
		ctx->fd = fd;
		ctx->owns_fd = flags & IOMMUFD_CTX_TAKE_FD;
		ret = ctx_setup(ctx, &iommufd_backend_type1, want);
		if (ret) {
			ctx->owns_fd = false;	/* the caller's on failure */
			goto fail;
		}
		*out = ctx;
		return 0;
	}
	if (want == IOMMUFD_BACKEND_TYPE1 ||
	    want == IOMMUFD_BACKEND_VFIO_COMPAT) {
		ctx_err(ctx, "adopt: fd %d is not %s", fd, VFIO_CONTAINER_PATH);
		ret = -ENODEV;
		goto fail;
	}
	ret = iommufd_devnum(&k, &devnum);
	if (ret) {
		ctx_err(ctx, "adopt: cannot find /dev/iommu's device number to check fd %d against",
			fd);
		goto fail;
	}
	if (!S_ISCHR(st.st_mode) || st.st_rdev != devnum) {
		ctx_err(ctx, "adopt: fd %d is not /dev/iommu", fd);
		ret = -ENODEV;
		goto fail;
	}
	ctx->fd = fd;
	ctx->owns_fd = flags & IOMMUFD_CTX_TAKE_FD;
	ret = ctx_setup(ctx, &iommufd_backend_iommufd, want);
	if (ret) {
		ctx->owns_fd = false;
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	ctx_release(ctx);
	return ret;
}

IOMMUFD_EXPORT void iommufd_ctx_free(struct iommufd_ctx *ctx)
{
	if (!ctx)
		return;
	/* Each holds the next: devices their HWPTs, HWPTs their IOAS. */
	device_free_all(ctx);
	hwpt_free_all(ctx);
	ioas_free_all(ctx);
	ctx_release(ctx);
}

IOMMUFD_EXPORT int iommufd_ctx_fd(const struct iommufd_ctx *ctx)
{
	return ctx ? ctx->fd : -EINVAL;
}

IOMMUFD_EXPORT enum iommufd_backend iommufd_ctx_backend(const struct iommufd_ctx *ctx)
{
	return ctx ? ctx->backend_kind : IOMMUFD_BACKEND_AUTO;
}

IOMMUFD_EXPORT bool iommufd_ctx_is_fake(const struct iommufd_ctx *ctx)
{
	return ctx && ctx->kernel.ops != &iommufd_sys_kernel_ops;
}

IOMMUFD_EXPORT const char *iommufd_ctx_sysfs_root(const struct iommufd_ctx *ctx)
{
	return ctx ? kernel_sysfs_root(&ctx->kernel) : NULL;
}

IOMMUFD_EXPORT void iommufd_ctx_set_log(struct iommufd_ctx *ctx,
					iommufd_log_fn fn, void *data,
					enum iommufd_log_level level)
{
	if (!ctx)
		return;
	pthread_mutex_lock(&ctx->log_lock);
	ctx->log_fn = fn;
	ctx->log_data = data;
	ctx->log_level = level ? level : IOMMUFD_LOG_WARN;
	pthread_mutex_unlock(&ctx->log_lock);
}

IOMMUFD_EXPORT bool iommufd_ctx_has_feature(const struct iommufd_ctx *ctx,
					    enum iommufd_feature feature)
{
	if (!ctx || (unsigned int)feature >= IOMMUFD_FEATURE__COUNT)
		return false;
	/* type1 learns some extensions later, from a device's container. */
	return __atomic_load_n(&ctx->features, __ATOMIC_RELAXED) &
	       (UINT64_C(1) << feature);
}

IOMMUFD_EXPORT int iommufd_ctx_set_rlimit_mode(struct iommufd_ctx *ctx,
					       enum iommufd_rlimit_mode mode)
{
	uint64_t val = mode;

	if (!ctx)
		return -EINVAL;
	if (mode != IOMMUFD_RLIMIT_USER && mode != IOMMUFD_RLIMIT_PROCESS)
		return -EINVAL;
	return ctx->backend->option(ctx, IOMMU_OPTION_RLIMIT_MODE,
				    IOMMU_OPTION_OP_SET, 0, &val);
}

IOMMUFD_EXPORT int iommufd_ctx_get_rlimit_mode(struct iommufd_ctx *ctx,
					       enum iommufd_rlimit_mode *mode)
{
	uint64_t val = 0;
	int ret;

	if (!ctx || !mode)
		return -EINVAL;
	ret = ctx->backend->option(ctx, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_GET, 0, &val);
	if (ret)
		return ret;
	*mode = (enum iommufd_rlimit_mode)val;
	return 0;
}
