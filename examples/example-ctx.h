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
