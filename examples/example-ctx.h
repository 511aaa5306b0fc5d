/* SPDX-License-Identifier: MIT */
/* How the examples get a context: the machine's kernel when it has VFIO or
 * iommufd at all (/dev/iommu or /dev/vfio), else libiommufd's fake kernel,
 * saying so. LIBIOMMUFD_FAKE=1 in the environment picks the fake anyway. */
#ifndef EXAMPLE_CTX_H
#define EXAMPLE_CTX_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <iommufd/iommufd.h>

/* LIBIOMMUFD_FAKE as libiommufd reads it. */
static inline bool example_env_fake(void)
{
	const char *v = getenv("LIBIOMMUFD_FAKE");

	return v && (!strcmp(v, "1") || !strcasecmp(v, "yes") ||
		     !strcasecmp(v, "true"));
}

/* The kernel interface a context drives: iommufd, or (on kernels without
 * it, such as Debian 12's 6.1) VFIO's type1 container. */
static inline const char *example_ctx_api(const struct iommufd_ctx *ctx)
{
	switch (iommufd_ctx_backend(ctx)) {
	case IOMMUFD_BACKEND_IOMMUFD:
		return "iommufd (/dev/iommu)";
	case IOMMUFD_BACKEND_TYPE1:
		return "VFIO type1 container (/dev/vfio/vfio)";
	case IOMMUFD_BACKEND_VFIO_COMPAT:
		return "iommufd's VFIO compat container (/dev/vfio/vfio)";
	default:
		return "an unknown interface";
	}
}

/*
 * Open a context, telling @say (stdout, or stderr when stdout carries data)
 * which kernel it is on. On failure *ctx is NULL and the reason is on
 * stderr: a real kernel with neither iommufd nor VFIO gives -ENOENT.
 */
static inline int example_ctx_open(const char *prog, FILE *say,
				   struct iommufd_ctx **ctx)
{
	int ret;

	*ctx = NULL;
	if (access("/dev/iommu", F_OK) != 0 && access("/dev/vfio", F_OK) != 0 &&
	    !getenv("LIBIOMMUFD_FAKE")) {
		fprintf(say, "%s: no /dev/iommu and no /dev/vfio on this machine: running on libiommufd's fake kernel\n",
			prog);
		setenv("LIBIOMMUFD_FAKE", "1", 1);
	}
	ret = iommufd_ctx_new(NULL, ctx);
	if (ret) {
		*ctx = NULL;
		fprintf(stderr, "%s: cannot open a libiommufd context: %s%s\n", prog,
			strerror(-ret),
			ret == -ENOENT ? " (neither /dev/iommu nor /dev/vfio/vfio)" : "");
		return ret;
	}
	fprintf(say, "%s: kernel: %s, through %s\n", prog,
		iommufd_ctx_is_fake(*ctx) ? "fake (libiommufd-fake)" : "real",
		example_ctx_api(*ctx));
	return 0;
}

static inline int example_ctx_new(const char *prog, struct iommufd_ctx **ctx)
{
	return example_ctx_open(prog, stdout, ctx);
}

/*
 * @dev (found in @ctx's sysfs) has no VFIO device file but a group: so it is
 * on Linux 6.2 to 6.5, or a kernel without CONFIG_VFIO_DEVICE_CDEV, whose
 * iommufd cannot open it. Such a kernel still opens the group through a VFIO
 * container, so reopen *ctx on the type1 backend (VFIO's own container, or
 * iommufd's compat one) instead of giving up. 0 when *ctx can open @dev
 * (reopened or not); else the error of opening the container, *ctx as it
 * was.
 */
static inline int example_ctx_for_device(const char *prog,
					 struct iommufd_ctx **ctx,
					 const char *dev, bool has_cdev,
					 const char *group_path)
{
	struct iommufd_ctx_opts opts;
	struct iommufd_ctx *type1;
	int ret;

	if (has_cdev || !group_path[0] ||
	    iommufd_ctx_backend(*ctx) != IOMMUFD_BACKEND_IOMMUFD)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.backend = IOMMUFD_BACKEND_TYPE1;
	ret = iommufd_ctx_new(&opts, &type1);
	if (ret)
		return ret;
	printf("%s: %s has no VFIO device file (CONFIG_VFIO_DEVICE_CDEV, Linux 6.6+): using its group %s through %s instead\n",
	       prog, dev, group_path, example_ctx_api(type1));
	iommufd_ctx_free(*ctx);
	*ctx = type1;
	return 0;
}

/* The sysfs tree that goes with @ctx: the fake kernel's own, or /sys. With
 * no context, /sys unless the fake kernel was asked for (then NULL: there
 * is no tree to read). */
static inline const char *example_sysfs_root(const struct iommufd_ctx *ctx)
{
	if (ctx)
		return iommufd_ctx_sysfs_root(ctx);
	return example_env_fake() ? NULL : "/sys";
}

#endif
