/* SPDX-License-Identifier: MIT */
/*
 * The one seam between libiommufd and the kernel. Everything the library asks
 * of the kernel goes through these operations, so the same code runs on real
 * syscalls (sys.c) and on the fake kernel (libiommufd-fake, loaded by fake.c).
 *
 * Unlike libc, every operation returns a negative errno on failure, so callers
 * never look at errno.
 */
#ifndef IOMMUFD_KERNEL_H
#define IOMMUFD_KERNEL_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>

struct iommufd_kernel_ops {
	const char *name;	/* "sys" or "fake" */
	int (*open)(void *priv, const char *path, int flags);
	int (*close)(void *priv, int fd);
	int (*ioctl)(void *priv, int fd, unsigned long request, void *arg);
	int (*stat)(void *priv, const char *path, struct stat *st);
	int (*fstat)(void *priv, int fd, struct stat *st);
	int (*mmap)(void *priv, size_t length, int prot, int flags, int fd,
		    off_t offset, void **out);
	int (*munmap)(void *priv, void *addr, size_t length);
	ssize_t (*pread)(void *priv, int fd, void *buf, size_t count,
			 off_t offset);
	ssize_t (*pwrite)(void *priv, int fd, const void *buf, size_t count,
			  off_t offset);
	/* Where this kernel's sysfs is: "/sys", or the fake's own tree. */
	const char *(*sysfs_root)(void *priv);
	/* Live update: the fds that carry this kernel's state to another
	 * process, beyond the iommufd/VFIO fds themselves. sys: the real
	 * kernel outlives processes: *fds NULL, *nr 0. fake:
	 * iommufd_fake_preserve(). */
	int (*preserve)(void *priv, int **fds, size_t *nr);
	/* The receiving side (SCM_RIGHTS, or an exec): take a preserved
	 * state. sys: -EOPNOTSUPP when nr > 0, else 0. fake:
	 * iommufd_fake_restore() on this kernel's fake. */
	int (*restore)(void *priv, const int *fds, size_t nr);
};

struct iommufd_kernel {
	const struct iommufd_kernel_ops *ops;
	void *priv;
};

extern const struct iommufd_kernel_ops iommufd_sys_kernel_ops;

/* The default fake kernel of libiommufd-fake, loaded on demand (dlopen), so
 * the core library does not link the fake one. */
int iommufd_fake_kernel_load(struct iommufd_kernel *out);

/*
 * The symbol libiommufd-fake exports (in its private version node) for the
 * loader above: fills @out with the fake's ops and the default fake kernel.
 */
#define IOMMUFD_FAKE_KERNEL_SYMBOL "iommufd__fake_default_kernel"
typedef int (*iommufd_fake_kernel_fn)(struct iommufd_kernel *out);

static inline int kernel_open(const struct iommufd_kernel *k, const char *path,
			      int flags)
{
	return k->ops->open(k->priv, path, flags);
}

static inline int kernel_close(const struct iommufd_kernel *k, int fd)
{
	return k->ops->close(k->priv, fd);
}

static inline int kernel_ioctl(const struct iommufd_kernel *k, int fd,
			       unsigned long request, void *arg)
{
	return k->ops->ioctl(k->priv, fd, request, arg);
}

static inline int kernel_stat(const struct iommufd_kernel *k, const char *path,
			      struct stat *st)
{
	return k->ops->stat(k->priv, path, st);
}

static inline int kernel_fstat(const struct iommufd_kernel *k, int fd,
			       struct stat *st)
{
	return k->ops->fstat(k->priv, fd, st);
}

static inline int kernel_mmap(const struct iommufd_kernel *k, size_t length,
			      int prot, int flags, int fd, off_t offset,
			      void **out)
{
	return k->ops->mmap(k->priv, length, prot, flags, fd, offset, out);
}

static inline int kernel_munmap(const struct iommufd_kernel *k, void *addr,
				size_t length)
{
	return k->ops->munmap(k->priv, addr, length);
}

static inline ssize_t kernel_pread(const struct iommufd_kernel *k, int fd,
				   void *buf, size_t count, off_t offset)
{
	return k->ops->pread(k->priv, fd, buf, count, offset);
}

static inline ssize_t kernel_pwrite(const struct iommufd_kernel *k, int fd,
				    const void *buf, size_t count, off_t offset)
{
	return k->ops->pwrite(k->priv, fd, buf, count, offset);
}

static inline const char *kernel_sysfs_root(const struct iommufd_kernel *k)
{
	return k->ops->sysfs_root(k->priv);
}

static inline int kernel_preserve(const struct iommufd_kernel *k, int **fds,
				  size_t *nr)
{
	return k->ops->preserve(k->priv, fds, nr);
}

static inline int kernel_restore(const struct iommufd_kernel *k,
				 const int *fds, size_t nr)
{
	return k->ops->restore(k->priv, fds, nr);
}

#endif
