/* SPDX-License-Identifier: MIT */
/* Diagnostics: the context's log callback, and sentences for misread errnos. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int opts_check(const void *opts, size_t user_sz, size_t lib_sz)
{
	const unsigned char *p = opts;

	if (user_sz < sizeof(size_t))
		return -EINVAL;
	/* A newer caller's struct: only zeroes may stand where we know nothing. */
	for (size_t i = lib_sz; i < user_sz; i++)
		if (p[i])
			return -E2BIG;
	return 0;
}

void ctx_log(struct iommufd_ctx *ctx, enum iommufd_log_level level,
	     const char *fmt, ...)
{
	char msg[512];
	iommufd_log_fn fn;
	void *data;
	va_list ap;

	pthread_mutex_lock(&ctx->log_lock);
	fn = ctx->log_fn;
	data = ctx->log_data;
	if (!fn || level > ctx->log_level) {
		pthread_mutex_unlock(&ctx->log_lock);
		return;
	}
	pthread_mutex_unlock(&ctx->log_lock);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(data, level, msg);
}

/* Kernel answers that, bare, send users down the wrong path. */
static const char *kernel_error_hint(const char *call, int err)
{
	switch (err) {
	case EFAULT:
		if (strstr(call, "MAP"))
			return "the kernel cannot pin this memory (not mapped, or not ordinary memory such as a PCI BAR?)";
		break;
	case ENOMEM:
		return "out of memory, or pinning would pass RLIMIT_MEMLOCK (raise it with ulimit -l or prlimit)";
	case ENOENT:
		if (strstr(call, "UNMAP"))
			return "nothing is mapped there, or the range would split an existing mapping";
		return "no such object ID or IOVA";
	case EINVAL:
		if (strstr(call, "ATTACH"))
			return "the device cannot use this domain (incompatible IOMMU or page table)";
		break;
	case EEXIST:
		return "the IOVA range overlaps an existing mapping";
	case ENOTTY:
		return "this kernel does not have this ioctl";
	case EOPNOTSUPP:
		return "this kernel does not support a flag or value used";
	case EBUSY:
		return "the object is still in use (attached device or dependent object)";
	default:
		break;
	}
	return NULL;
}

void ctx_log_kernel_error(struct iommufd_ctx *ctx, const char *call, int err)
{
	const char *hint;

	if (err < 0)
		err = -err;
	hint = kernel_error_hint(call, err);
	if (hint)
		ctx_log(ctx, IOMMUFD_LOG_WARN, "%s: %s: %s", call,
			strerror(err), hint);
	else
		ctx_log(ctx, IOMMUFD_LOG_WARN, "%s: %s", call, strerror(err));
}
