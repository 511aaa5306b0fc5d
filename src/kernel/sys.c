/* SPDX-License-Identifier: MIT */
/* The seam on real syscalls. Every fd opened here is O_CLOEXEC. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kernel.h"

static int sys_open(void *priv, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int sys_close(void *priv, int fd)
{
	/* Linux releases the fd even when close reports an error: never retry. */
	return close(fd) ? -errno : 0;
}

static int sys_ioctl(void *priv, int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int sys_stat(void *priv, const char *path, struct stat *st)
{
	return stat(path, st) ? -errno : 0;
}

static int sys_fstat(void *priv, int fd, struct stat *st)
{
	return fstat(fd, st) ? -errno : 0;
}

static int sys_mmap(void *priv, size_t length, int prot, int flags, int fd,
		    off_t offset, void **out)
{
	void *p = mmap(NULL, length, prot, flags, fd, offset);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

static int sys_munmap(void *priv, void *addr, size_t length)
{
	return munmap(addr, length) ? -errno : 0;
}

static ssize_t sys_pread(void *priv, int fd, void *buf, size_t count,
			 off_t offset)
{
	ssize_t n;

	do {
		n = pread(fd, buf, count, offset);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t sys_pwrite(void *priv, int fd, const void *buf, size_t count,
			  off_t offset)
{
	ssize_t n;

	do {
		n = pwrite(fd, buf, count, offset);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static const char *sys_sysfs_root(void *priv)
{
	return "/sys";
}

static int sys_preserve(void *priv, int **fds, size_t *nr)
{
	(void)priv;
	*fds = NULL;
	*nr = 0;
	return 0;
}

/* The real kernel's state never left it: there is nothing to take. */
static int sys_restore(void *priv, const int *fds, size_t nr)
{
	(void)priv;
	(void)fds;
	return nr ? -EOPNOTSUPP : 0;
}

const struct iommufd_kernel_ops iommufd_sys_kernel_ops = {
	.name = "sys",
	.open = sys_open,
	.close = sys_close,
	.ioctl = sys_ioctl,
	.stat = sys_stat,
	.fstat = sys_fstat,
	.mmap = sys_mmap,
	.munmap = sys_munmap,
	.pread = sys_pread,
	.pwrite = sys_pwrite,
	.sysfs_root = sys_sysfs_root,
	.preserve = sys_preserve,
	.restore = sys_restore,
};
