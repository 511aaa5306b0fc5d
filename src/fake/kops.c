/* SPDX-License-Identifier: MIT */
/*
 * The seam for libiommufd: struct iommufd_kernel_ops over the fake kernel,
 * a library context on a given fake, and the process-wide default fake that
 * LIBIOMMUFD_FAKE=1 selects (reached through iommufd__fake_default_kernel).
 *
 * Unlike the raw face, every operation returns -errno and never touches
 * errno's meaning for the caller.
 */
#include <errno.h>

#include "../internal.h"
#include "fake-internal.h"

static int kops_open(void *priv, const char *path, int flags)
{
	struct iommufd_fake *fake = priv;
	int ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_open(fake, path, flags);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static int kops_close(void *priv, int fd)
{
	struct iommufd_fake *fake = priv;
	int ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_close(fake, fd);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static int kops_ioctl(void *priv, int fd, unsigned long request, void *arg)
{
	struct iommufd_fake *fake = priv;
	long ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_ioctl(fake, fd, request, arg);
	pthread_mutex_unlock(&fake->lock);
	return (int)ret;
}

static int kops_stat(void *priv, const char *path, struct stat *st)
{
	struct iommufd_fake *fake = priv;
	int ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_stat(fake, path, st);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static int kops_fstat(void *priv, int fd, struct stat *st)
{
	struct iommufd_fake *fake = priv;
	int ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_fstat(fake, fd, st);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static int kops_mmap(void *priv, size_t length, int prot, int flags, int fd,
		     off_t offset, void **out)
{
	struct iommufd_fake *fake = priv;
	int ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_mmap(fake, NULL, length, prot, flags, fd, offset, out);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static int kops_munmap(void *priv, void *addr, size_t length)
{
	struct iommufd_fake *fake = priv;
	int ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_munmap(fake, addr, length);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static ssize_t kops_pread(void *priv, int fd, void *buf, size_t count,
			  off_t offset)
{
	struct iommufd_fake *fake = priv;
	ssize_t ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_pread(fake, fd, buf, count, offset);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static ssize_t kops_pwrite(void *priv, int fd, const void *buf, size_t count,
			   off_t offset)
{
	struct iommufd_fake *fake = priv;
	ssize_t ret;

	pthread_mutex_lock(&fake->lock);
	ret = fake_do_pwrite(fake, fd, buf, count, offset);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static const char *kops_sysfs_root(void *priv)
{
	return iommufd_fake_sysfs_root(priv);
}

static int kops_preserve(void *priv, int **fds, size_t *nr)
{
	return iommufd_fake_preserve(priv, fds, nr);
}

static int kops_restore(void *priv, const int *fds, size_t nr)
{
	return iommufd_fake_restore(priv, fds, nr);
}

static const struct iommufd_kernel_ops fake_kernel_ops = {
	.name = "fake",
	.open = kops_open,
	.close = kops_close,
	.ioctl = kops_ioctl,
	.stat = kops_stat,
	.fstat = kops_fstat,
	.mmap = kops_mmap,
	.munmap = kops_munmap,
	.pread = kops_pread,
	.pwrite = kops_pwrite,
	.sysfs_root = kops_sysfs_root,
	.preserve = kops_preserve,
	.restore = kops_restore,
};

FAKE_EXPORT int iommufd_fake_ctx_new(struct iommufd_fake *fake,
				     const struct iommufd_ctx_opts *opts,
				     struct iommufd_ctx **out)
{
	struct iommufd_kernel k = { .ops = &fake_kernel_ops, .priv = fake };

	if (!fake || !out)
		return -EINVAL;
	return iommufd__ctx_new_on_kernel(&k, opts, out);
}

FAKE_EXPORT int iommufd__fake_default_kernel(struct iommufd_kernel *out);

FAKE_EXPORT int iommufd__fake_default_kernel(struct iommufd_kernel *out)
{
	struct iommufd_fake *fake = iommufd_fake_default();

	if (!out)
		return -EINVAL;
	if (!fake)
		return fake_default_error();
	out->ops = &fake_kernel_ops;
	out->priv = fake;
	return 0;
}
