/* SPDX-License-Identifier: MIT */
/*
 * The fake kernel's machine: open files and the fds that reach them, the
 * emulated kernel version, the memlock limit, fake-wide reserved IOVA
 * regions, fault injection, user-memory access, and the raw uAPI face.
 *
 * Files are real: every open returns a memfd, and the model keys its state on
 * the memfd's inode, so dup(2), fd passing and fork see one file as they
 * would a kernel file. The model counts the fds it knows of (those it
 * returned, and dups it meets on a lookup); the file is released when the
 * last of them is closed through the fake, as the kernel releases a file
 * when its last reference goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include "fake-internal.h"

/* Memory another "process" writes is undefined to valgrind, unless told. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MARK_DEFINED(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#endif
#ifndef MARK_DEFINED
#define MARK_DEFINED(p, n) ((void)(p), (void)(n))
#endif

/* ------------------------------------------------------------------ */
/* User memory                                                         */

/*
 * The kernel's copy_{from,to}_user(): fault instead of crashing. Reading
 * our own address space through process_vm_readv(2) gives exactly that.
 * Where the syscall is not permitted (seccomp), fall back to memcpy.
 */
static bool pvm_unavailable;

static int pvm_copy(void *local, const void *remote, size_t len, bool write)
{
	struct iovec l = { .iov_base = local, .iov_len = len };
	struct iovec r = { .iov_base = (void *)remote, .iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	if (__atomic_load_n(&pvm_unavailable, __ATOMIC_RELAXED))
		goto fallback;
	if (write)
		n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	else
		n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	if (n == (ssize_t)len) {
		MARK_DEFINED(write ? (void *)remote : local, len);
		return 0;
	}
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		__atomic_store_n(&pvm_unavailable, true, __ATOMIC_RELAXED);
		goto fallback;
	}
	return -EFAULT;

fallback:
	if (!remote)
		return -EFAULT;
	if (write)
		memcpy((void *)remote, local, len);
	else
		memcpy(local, remote, len);
	return 0;
}

int fake_copy_from_user(void *dst, const void *usrc, size_t len)
{
	return pvm_copy(dst, usrc, len, false);
}

int fake_copy_to_user(void *udst, const void *src, size_t len)
{
	return pvm_copy((void *)src, udst, len, true);
}

/*
 * pin_user_pages() fails with EFAULT where no VMA backs the range. mincore(2)
 * answers ENOMEM for such a range without touching the pages.
 */
int fake_check_user_range(uint64_t uaddr, uint64_t len, uint64_t page_size)
{
	unsigned char vec[4096];
	uint64_t start = uaddr & ~(page_size - 1);
	uint64_t end;

	if (__builtin_add_overflow(uaddr, len, &end) ||
	    __builtin_add_overflow(end, page_size - 1, &end))
		return -EFAULT;
	end &= ~(page_size - 1);
	if (end > (uint64_t)UINTPTR_MAX)
		return -EFAULT;
	while (start < end) {
		uint64_t chunk = end - start;

		if (chunk > sizeof(vec) * page_size)
			chunk = sizeof(vec) * page_size;
		if (mincore((void *)(uintptr_t)start, chunk, vec))
			return -EFAULT;
		start += chunk;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files and fds                                                       */

static int fdtab_set(struct iommufd_fake *fake, int fd, struct fake_file *file)
{
	if ((size_t)fd >= fake->fdtab_len) {
		size_t len = fake->fdtab_len ? fake->fdtab_len : 64;
		struct fake_file **tab;

		while (len <= (size_t)fd)
			len *= 2;
		tab = realloc(fake->fdtab, len * sizeof(*tab));
		if (!tab)
			return -ENOMEM;
		memset(tab + fake->fdtab_len, 0,
		       (len - fake->fdtab_len) * sizeof(*tab));
		fake->fdtab = tab;
		fake->fdtab_len = len;
	}
	fake->fdtab[fd] = file;
	return 0;
}

static struct fake_file *fdtab_get(struct iommufd_fake *fake, int fd)
{
	if (fd < 0 || (size_t)fd >= fake->fdtab_len)
		return NULL;
	return fake->fdtab[fd];
}

static void file_release(struct fake_file *file)
{
	struct iommufd_fake *fake = file->fake;

	if (file->prev)
		file->prev->next = file->next;
	else
		fake->files = file->next;
	if (file->next)
		file->next->prev = file->prev;
	fake->nr_files--;
	if (file->ops->release)
		file->ops->release(file);
	free(file);
}

void fake_file_get(struct fake_file *file)
{
	file->refs++;
}

void fake_file_put(struct fake_file *file)
{
	if (--file->refs == 0)
		file_release(file);
}

/* Forget that @fd reaches @file: the fd was closed or now names another. */
static void fd_unregister(struct iommufd_fake *fake, int fd)
{
	struct fake_file *file = fdtab_get(fake, fd);

	if (!file)
		return;
	fake->fdtab[fd] = NULL;
	file->nfds--;
	fake_file_put(file);
}

static int fd_register(struct iommufd_fake *fake, int fd, struct fake_file *file)
{
	int ret = fdtab_set(fake, fd, file);

	if (ret)
		return ret;
	file->nfds++;
	file->refs++;
	return 0;
}

int fake_fd_adopt(struct iommufd_fake *fake, int fd, struct fake_file *file)
{
	return fd_register(fake, fd, file);
}

int fake_file_create(struct iommufd_fake *fake, const struct fake_file_ops *ops,
		     void *private_data, bool cloexec, struct fake_file **out)
{
	struct fake_file *file;
	struct stat st;
	int fd, ret;

	file = calloc(1, sizeof(*file));
	if (!file)
		return -ENOMEM;
	fd = memfd_create("iommufd-fake", cloexec ? MFD_CLOEXEC : 0);
	if (fd < 0) {
		ret = -errno;
		free(file);
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		free(file);
		return ret;
	}
	file->fake = fake;
	file->ops = ops;
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->private_data = private_data;
	file->st_rdev = ops->st_rdev;
	/* A stale entry (an fd closed behind our back) is replaced. */
	fd_unregister(fake, fd);
	ret = fd_register(fake, fd, file);
	if (ret) {
		close(fd);
		free(file);
		return ret;
	}
	file->next = fake->files;
	if (fake->files)
		fake->files->prev = file;
	fake->files = file;
	fake->nr_files++;
	*out = file;
	return fd;
}

void fake_file_abort(struct fake_file *file, int fd)
{
	struct iommufd_fake *fake = file->fake;

	close(fd);
	fd_unregister(fake, fd);
}

struct fake_file *fake_fd_lookup(struct iommufd_fake *fake, int fd, int *err)
{
	struct fake_file *file;
	struct stat st;

	*err = 0;
	if (fd < 0 || fstat(fd, &st)) {
		*err = -EBADF;
		if (fd >= 0)
			fd_unregister(fake, fd);
		return NULL;
	}
	file = fdtab_get(fake, fd);
	if (file && file->dev == st.st_dev && file->ino == st.st_ino)
		return file;
	if (file)
		fd_unregister(fake, fd);
	for (file = fake->files; file; file = file->next) {
		if (file->dev != st.st_dev || file->ino != st.st_ino)
			continue;
		/* A dup the model has not met yet: it reaches this file. */
		if (fd_register(fake, fd, file)) {
			*err = -ENOMEM;
			return NULL;
		}
		return file;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Fault injection                                                     */

int fake_count_call(struct iommufd_fake *fake, bool is_ioctl,
		    unsigned long request)
{
	fake->calls++;
	if (fake->fail_at && fake->calls == fake->fail_at) {
		fake->fail_at = 0;
		return -fake->fail_err;
	}
	if (!is_ioctl)
		return 0;
	for (size_t i = 0; i < fake->nr_fail_ioctls; i++) {
		struct fake_fail_ioctl *f = &fake->fail_ioctls[i];
		int err = f->err;

		if (f->request != request)
			continue;
		if (f->count && --f->count == 0) {
			fake->fail_ioctls[i] =
				fake->fail_ioctls[--fake->nr_fail_ioctls];
		}
		return -err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Pinned-page accounting                                              */

int fake_charge_pinned(struct iommufd_fake *fake, uint64_t npages)
{
	uint64_t limit = fake->memlock_limit / fake->page_size;
	uint64_t total;

	if (__builtin_add_overflow(fake->pinned_pages, npages, &total) ||
	    total > limit)
		return -ENOMEM;
	fake->pinned_pages = total;
	return 0;
}

void fake_uncharge_pinned(struct iommufd_fake *fake, uint64_t npages)
{
	fake->pinned_pages -= npages;
}

/* ------------------------------------------------------------------ */
/* The raw face (under fake->lock, returning -errno)                   */

/* The device of "/dev/vfio/devices/vfioN", if it has that cdev. */
static struct fake_device *vfio_cdev_lookup(struct iommufd_fake *fake,
					    const char *path)
{
	const char *p = path + strlen(FAKE_VFIO_DEV_PREFIX);
	unsigned long index = 0;

	if (strncmp(path, FAKE_VFIO_DEV_PREFIX, strlen(FAKE_VFIO_DEV_PREFIX)))
		return NULL;
	if (*p < '0' || *p > '9' || (*p == '0' && p[1]))
		return NULL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || index > 1u << 20)
			return NULL;
		index = index * 10 + (unsigned long)(*p - '0');
	}
	return fake_device_by_vfio_index(fake, (unsigned int)index);
}

int fake_do_open(struct iommufd_fake *fake, const char *path, int flags)
{
	struct fake_device *dev;
	int ret = fake_count_call(fake, false, 0);

	if (ret)
		return ret;
	if (!path)
		return -EFAULT;
	if (!strcmp(path, FAKE_IOMMU_PATH)) {
		if (fake->kver < FAKE_KVER_IOMMUFD)
			return -ENOENT;	/* no iommufd before 6.2 */
		return fake_iommufd_open(fake, flags);
	}
	dev = vfio_cdev_lookup(fake, path);
	if (dev)
		return fake_vfio_device_open(fake, dev, flags);
	/* /dev/vfio/vfio and /dev/vfio/N */
	return fake_vfio_legacy_open(fake, path, flags);
}

int fake_do_close(struct iommufd_fake *fake, int fd)
{
	int err;
	struct fake_file *file = fake_fd_lookup(fake, fd, &err);

	if (err == -EBADF)
		return -EBADF;
	if (close(fd))
		err = -errno;
	else
		err = 0;
	if (file)
		fd_unregister(fake, fd);
	return err;
}

long fake_do_ioctl(struct iommufd_fake *fake, int fd, unsigned long request,
		   void *arg)
{
	struct fake_file *file;
	int err = fake_count_call(fake, true, request);

	if (err)
		return err;
	file = fake_fd_lookup(fake, fd, &err);
	if (!file)
		return err ? err : -ENOTTY;
	if (!file->ops->ioctl)
		return -ENOTTY;
	return file->ops->ioctl(file, request, arg);
}

static void fill_devnode_stat(struct stat *st, mode_t mode, dev_t rdev)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5);	/* devtmpfs */
	st->st_ino = 1000 + minor(rdev);
	st->st_mode = mode;
	st->st_nlink = 1;
	st->st_rdev = rdev;
	st->st_blksize = 4096;
}

int fake_do_stat(struct iommufd_fake *fake, const char *path, struct stat *st)
{
	struct fake_device *dev;
	mode_t mode;
	dev_t rdev;
	int ret;

	if (!path || !st)
		return -EFAULT;
	if (!strcmp(path, FAKE_IOMMU_PATH) && fake->kver >= FAKE_KVER_IOMMUFD) {
		fill_devnode_stat(st, fake_iommufd_fops.st_mode,
				  fake_iommufd_fops.st_rdev);
		return 0;
	}
	dev = vfio_cdev_lookup(fake, path);
	if (dev) {
		fill_devnode_stat(st, fake_vfio_device_fops.st_mode,
				  makedev(FAKE_VFIO_DEV_MAJOR,
					  (unsigned int)dev->vfio_index));
		return 0;
	}
	ret = fake_vfio_legacy_stat(fake, path, &mode, &rdev);
	if (ret)
		return ret;
	fill_devnode_stat(st, mode, rdev);
	return 0;
}

int fake_do_fstat(struct iommufd_fake *fake, int fd, struct stat *st)
{
	struct fake_file *file;
	int err;

	if (!st)
		return -EFAULT;
	file = fake_fd_lookup(fake, fd, &err);
	if (err)
		return err;
	if (fstat(fd, st))
		return -errno;
	if (file) {
		st->st_mode = file->ops->st_mode;
		st->st_rdev = file->st_rdev;
		st->st_size = 0;
		st->st_blocks = 0;
	}
	return 0;
}

int fake_do_mmap(struct iommufd_fake *fake, void *addr, size_t length,
		 int prot, int flags, int fd, off_t offset, void **out)
{
	struct fake_file *file = NULL;
	void *p;
	int err = fake_count_call(fake, false, 0);

	if (err)
		return err;
	if (!(flags & MAP_ANONYMOUS)) {
		file = fake_fd_lookup(fake, fd, &err);
		if (err)
			return err;
	}
	if (file) {
		if (!file->ops->mmap)
			return -ENODEV;
		*out = addr;
		return file->ops->mmap(file, length, prot, flags, offset, out);
	}
	p = mmap(addr, length, prot, flags, fd, offset);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

int fake_do_munmap(struct iommufd_fake *fake, void *addr, size_t length)
{
	(void)fake;
	if (munmap(addr, length))
		return -errno;
	return 0;
}

/* What pread and pwrite share: the call counts (and may be failed by
 * injection), then the fd is resolved; NULL *file is a file the model does
 * not own, served by the real syscall. */
static int io_begin(struct iommufd_fake *fake, int fd, struct fake_file **file)
{
	int err = fake_count_call(fake, false, 0);

	if (err)
		return err;
	*file = fake_fd_lookup(fake, fd, &err);
	return err;
}

ssize_t fake_do_pread(struct iommufd_fake *fake, int fd, void *buf,
		      size_t count, off_t offset)
{
	struct fake_file *file;
	ssize_t n;
	int err = io_begin(fake, fd, &file);

	if (err)
		return err;
	if (file) {
		if (!file->ops->read)
			return -EINVAL;
		return file->ops->read(file, buf, count, offset);
	}
	n = pread(fd, buf, count, offset);
	return n < 0 ? -errno : n;
}

ssize_t fake_do_pwrite(struct iommufd_fake *fake, int fd, const void *buf,
		       size_t count, off_t offset)
{
	struct fake_file *file;
	ssize_t n;
	int err = io_begin(fake, fd, &file);

	if (err)
		return err;
	if (file) {
		if (!file->ops->write)
			return -EINVAL;
		return file->ops->write(file, buf, count, offset);
	}
	n = pwrite(fd, buf, count, offset);
	return n < 0 ? -errno : n;
}

/* ------------------------------------------------------------------ */
/* Exported API                                                        */

static int errno_ret(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

FAKE_EXPORT int iommufd_fake_new(struct iommufd_fake **out)
{
	struct iommufd_fake *fake;
	long page_size = sysconf(_SC_PAGESIZE);

	if (!out)
		return -EINVAL;
	fake = calloc(1, sizeof(*fake));
	if (!fake)
		return -ENOMEM;
	if (pthread_mutex_init(&fake->lock, NULL)) {
		free(fake);
		return -ENOMEM;
	}
	fake->kver = FAKE_KVER_DEFAULT;
	fake->page_size = page_size > 0 ? (uint64_t)page_size : 4096;
	fake->memlock_limit = UINT64_MAX;
	fake->vfio_dma_entry_limit = UINT16_MAX;
	*out = fake;
	return 0;
}

/*
 * Drop the whole model. The fds it handed out stay the caller's to close:
 * closing them here could close an unrelated file once the caller closes
 * the same number later.
 */
FAKE_EXPORT void iommufd_fake_free(struct iommufd_fake *fake)
{
	if (!fake)
		return;
	pthread_mutex_lock(&fake->lock);
	for (size_t fd = 0; fd < fake->fdtab_len; fd++)
		fd_unregister(fake, (int)fd);
	/*
	 * Files the model still holds itself: those that hold others go
	 * first (device and fault files, then VFIO groups, which hold
	 * containers and iommufds, then containers, then iommufds).
	 */
	for (int pass = 0; pass < 4; pass++) {
		struct fake_file *file = fake->files;

		while (file) {
			int rank = file->ops == &fake_iommufd_fops ?
					   3 : fake_vfio_legacy_file_rank(file);

			if (rank > pass) {
				file = file->next;
				continue;
			}
			file->refs = 1;
			fake_file_put(file);
			file = fake->files;	/* the list changed */
		}
	}
	fake_vgroups_free(fake);
	fake_machine_free(fake);
	fake_sysfs_destroy(fake);
	pthread_mutex_unlock(&fake->lock);
	pthread_mutex_destroy(&fake->lock);
	free(fake->fdtab);
	free(fake->reserved);
	free(fake->fail_ioctls);
	free(fake);
}

static struct iommufd_fake *default_fake;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

/* The default fake is never freed; its sysfs tree goes at exit (only in
 * the process that made it: a forked child leaves it to its parent). */
static void default_exit(void)
{
	struct iommufd_fake *fake = default_fake;

	if (!fake || pthread_mutex_trylock(&fake->lock))
		return;
	fake_sysfs_destroy(fake);
	pthread_mutex_unlock(&fake->lock);
}

/*
 * LIBIOMMUFD_FAKE_KERNEL=MAJOR.MINOR ("6.1"): the default fake emulates that
 * kernel (iommufd_fake_set_kernel_version()). Unset or empty: 6.17. Anything
 * else (malformed, older than 6.1) is -EINVAL: then there is no default fake,
 * rather than one emulating a kernel the caller did not ask for.
 */
static int default_kernel_version(struct iommufd_fake *fake)
{
	const char *v = getenv("LIBIOMMUFD_FAKE_KERNEL");
	unsigned long part[2];
	char *end;

	if (!v || !*v)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (*v < '0' || *v > '9')
			return -EINVAL;
		errno = 0;
		part[i] = strtoul(v, &end, 10);
		if (errno || part[i] > 255 || *end != (i ? '\0' : '.'))
			return -EINVAL;
		v = end + 1;
	}
	return iommufd_fake_set_kernel_version(fake, (unsigned int)part[0],
					       (unsigned int)part[1]);
}

/* Why there is no default fake, for the seam to report (not -ENOMEM for a
 * mistyped LIBIOMMUFD_FAKE_KERNEL). */
static int default_err;

/*
 * IOMMUFD_FAKE_STATE_ENV: the process was exec'd in a live update and its
 * fake kernel comes with it. Unset once taken, so that a child of this
 * process does not restore it again.
 */
static int default_restore(struct iommufd_fake *fake, const char *v)
{
	size_t nr = 1, n = 0;
	int *fds, ret;

	for (const char *p = v; *p; p++)
		nr += *p == ',';
	fds = calloc(nr, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (const char *p = v; n < nr; n++) {
		char *end;
		long fd;

		errno = 0;
		fd = strtol(p, &end, 10);
		if (errno || end == p || fd < 0 || fd > INT32_MAX ||
		    (*end != ',' && *end != '\0')) {
			free(fds);
			return -EINVAL;
		}
		fds[n] = (int)fd;
		p = end + 1;
	}
	ret = iommufd_fake_restore(fake, fds, nr);
	free(fds);
	return ret;
}

static void default_init(void)
{
	const char *state = getenv(IOMMUFD_FAKE_STATE_ENV);
	int ret = iommufd_fake_new(&default_fake);

	if (ret) {
		default_fake = NULL;
		default_err = ret;
		return;
	}
	if (state) {
		/* A restore that fails is no reason to hand out a fresh
		 * machine the caller's devices are not on. */
		ret = default_restore(default_fake, state);
		unsetenv(IOMMUFD_FAKE_STATE_ENV);
		if (ret) {
			iommufd_fake_free(default_fake);
			default_fake = NULL;
			default_err = ret;
			return;
		}
		atexit(default_exit);
		return;
	}
	ret = default_kernel_version(default_fake);
	if (ret) {
		iommufd_fake_free(default_fake);
		default_fake = NULL;
		default_err = ret;
		return;
	}
	/*
	 * Without its machine (no room for a sysfs tree, say) the default fake
	 * still serves iommufd: devices are a part of it, not a condition.
	 */
	(void)iommufd_fake_add_default_machine(default_fake);
	atexit(default_exit);
}

FAKE_EXPORT struct iommufd_fake *iommufd_fake_default(void)
{
	pthread_once(&default_once, default_init);
	return default_fake;
}

int fake_default_error(void)
{
	pthread_once(&default_once, default_init);
	return default_err;
}

FAKE_EXPORT int iommufd_fake_open(struct iommufd_fake *fake, const char *path,
				  int flags)
{
	int ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_open(fake, path, flags);
	pthread_mutex_unlock(&fake->lock);
	return errno_ret(ret);
}

FAKE_EXPORT int iommufd_fake_ioctl(struct iommufd_fake *fake, int fd,
				   unsigned long request, void *arg)
{
	long ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_ioctl(fake, fd, request, arg);
	pthread_mutex_unlock(&fake->lock);
	return errno_ret(ret);
}

FAKE_EXPORT int iommufd_fake_close(struct iommufd_fake *fake, int fd)
{
	int ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_close(fake, fd);
	pthread_mutex_unlock(&fake->lock);
	return errno_ret(ret);
}

FAKE_EXPORT int iommufd_fake_stat(struct iommufd_fake *fake, const char *path,
				  struct stat *st)
{
	int ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_stat(fake, path, st);
	pthread_mutex_unlock(&fake->lock);
	return errno_ret(ret);
}

FAKE_EXPORT int iommufd_fake_fstat(struct iommufd_fake *fake, int fd,
				   struct stat *st)
{
	int ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_fstat(fake, fd, st);
	pthread_mutex_unlock(&fake->lock);
	return errno_ret(ret);
}

FAKE_EXPORT ssize_t iommufd_fake_pread(struct iommufd_fake *fake, int fd,
				       void *buf, size_t count, off_t offset)
{
	ssize_t ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_pread(fake, fd, buf, count, offset);
	pthread_mutex_unlock(&fake->lock);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

FAKE_EXPORT ssize_t iommufd_fake_pwrite(struct iommufd_fake *fake, int fd,
					const void *buf, size_t count,
					off_t offset)
{
	ssize_t ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_pwrite(fake, fd, buf, count, offset);
	pthread_mutex_unlock(&fake->lock);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

FAKE_EXPORT void *iommufd_fake_mmap(struct iommufd_fake *fake, void *addr,
				    size_t length, int prot, int flags, int fd,
				    off_t offset)
{
	void *p = NULL;
	int ret;

	if (!fake) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_mmap(fake, addr, length, prot, flags, fd, offset, &p);
	pthread_mutex_unlock(&fake->lock);
	if (ret < 0) {
		errno = -ret;
		return MAP_FAILED;
	}
	return p;
}

FAKE_EXPORT int iommufd_fake_munmap(struct iommufd_fake *fake, void *addr,
				    size_t length)
{
	int ret;

	if (!fake)
		return errno_ret(-EINVAL);
	pthread_mutex_lock(&fake->lock);
	ret = fake_do_munmap(fake, addr, length);
	pthread_mutex_unlock(&fake->lock);
	return errno_ret(ret);
}

FAKE_EXPORT int iommufd_fake_set_kernel_version(struct iommufd_fake *fake,
						unsigned int major,
						unsigned int minor)
{
	unsigned int kver;

	if (!fake || minor > 255 || major > 255)
		return -EINVAL;
	kver = FAKE_KVER(major, minor);
	if (kver < FAKE_KVER_MIN)
		return -EINVAL;	/* 6.1 (type1 only) is the oldest modelled */
	pthread_mutex_lock(&fake->lock);
	fake->kver = kver;
	/* VFIO device cdevs (and their vfio-dev/ in sysfs) arrived in 6.6,
	 * iommufd (class/misc/iommu) in 6.2. */
	for (struct fake_device *dev = fake->devices; dev; dev = dev->next)
		(void)fake_sysfs_update_driver(fake, dev, dev->driver,
					       dev->vfio_index);
	(void)fake_sysfs_update_version(fake);
	pthread_mutex_unlock(&fake->lock);
	return 0;
}

FAKE_EXPORT int iommufd_fake_set_vfio_container_mode(
	struct iommufd_fake *fake, enum iommufd_fake_vfio_container_mode mode)
{
	if (!fake || (mode != IOMMUFD_FAKE_VFIO_CONTAINER_LEGACY &&
		      mode != IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD))
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	fake->vfio_container_mode = mode;
	pthread_mutex_unlock(&fake->lock);
	return 0;
}

FAKE_EXPORT int iommufd_fake_set_vfio_dma_entry_limit(struct iommufd_fake *fake,
						      unsigned int limit)
{
	if (!fake)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	fake->vfio_dma_entry_limit = limit;
	pthread_mutex_unlock(&fake->lock);
	return 0;
}

FAKE_EXPORT void iommufd_fake_set_memlock_limit(struct iommufd_fake *fake,
						uint64_t bytes)
{
	if (!fake)
		return;
	pthread_mutex_lock(&fake->lock);
	fake->memlock_limit = bytes;
	pthread_mutex_unlock(&fake->lock);
}

FAKE_EXPORT uint64_t iommufd_fake_pinned_bytes(struct iommufd_fake *fake)
{
	uint64_t bytes;

	if (!fake)
		return 0;
	pthread_mutex_lock(&fake->lock);
	bytes = fake->pinned_pages * fake->page_size;
	pthread_mutex_unlock(&fake->lock);
	return bytes;
}

/* A dry run first (which also makes room), so a refusal changes no IOAS. */
static int check_reserve(struct fake_ioas *ioas, void *arg)
{
	const struct fake_range *r = arg;

	return fake_iopt_reserve(&ioas->iopt, r->start, r->last, NULL, true);
}

static int do_reserve(struct fake_ioas *ioas, void *arg)
{
	const struct fake_range *r = arg;

	return fake_iopt_reserve(&ioas->iopt, r->start, r->last, NULL, false);
}

FAKE_EXPORT int iommufd_fake_add_reserved_region(struct iommufd_fake *fake,
						 uint64_t start, uint64_t last)
{
	struct fake_range r = { .start = start, .last = last };
	struct fake_range *tab;
	size_t i;
	int ret;

	if (!fake || start > last)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	tab = realloc(fake->reserved, (fake->nr_reserved + 1) * sizeof(*tab));
	if (!tab) {
		ret = -ENOMEM;
		goto out;
	}
	fake->reserved = tab;
	ret = fake_for_each_ioas(fake, check_reserve, &r);
	if (ret)
		goto out;
	ret = fake_for_each_ioas(fake, do_reserve, &r);
	if (ret)
		goto out;
	for (i = fake->nr_reserved; i > 0 && tab[i - 1].start > start; i--)
		tab[i] = tab[i - 1];
	tab[i] = r;
	fake->nr_reserved++;
out:
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT void iommufd_fake_fail_nth(struct iommufd_fake *fake,
				       unsigned long n, int err)
{
	if (!fake)
		return;
	pthread_mutex_lock(&fake->lock);
	fake->fail_at = n ? fake->calls + n : 0;
	fake->fail_err = err < 0 ? -err : err;
	pthread_mutex_unlock(&fake->lock);
}

FAKE_EXPORT void iommufd_fake_fail_ioctl(struct iommufd_fake *fake,
					 unsigned long request, int err,
					 unsigned int count)
{
	struct fake_fail_ioctl *tab;
	size_t i;

	if (!fake)
		return;
	pthread_mutex_lock(&fake->lock);
	for (i = 0; i < fake->nr_fail_ioctls; i++)
		if (fake->fail_ioctls[i].request == request)
			break;
	if (i == fake->nr_fail_ioctls) {
		tab = realloc(fake->fail_ioctls, (i + 1) * sizeof(*tab));
		if (!tab)
			goto out;
		fake->fail_ioctls = tab;
		fake->nr_fail_ioctls++;
	}
	fake->fail_ioctls[i] = (struct fake_fail_ioctl){
		.request = request,
		.err = err < 0 ? -err : err,
		.count = count,
	};
out:
	pthread_mutex_unlock(&fake->lock);
}

FAKE_EXPORT void iommufd_fake_fail_clear(struct iommufd_fake *fake)
{
	if (!fake)
		return;
	pthread_mutex_lock(&fake->lock);
	fake->fail_at = 0;
	fake->nr_fail_ioctls = 0;
	pthread_mutex_unlock(&fake->lock);
}

FAKE_EXPORT unsigned long iommufd_fake_call_count(struct iommufd_fake *fake)
{
	unsigned long n;

	if (!fake)
		return 0;
	pthread_mutex_lock(&fake->lock);
	n = fake->calls;
	pthread_mutex_unlock(&fake->lock);
	return n;
}

FAKE_EXPORT unsigned int iommufd_fake_open_files(struct iommufd_fake *fake)
{
	unsigned int n;

	if (!fake)
		return 0;
	pthread_mutex_lock(&fake->lock);
	n = fake->nr_files;
	pthread_mutex_unlock(&fake->lock);
	return n;
}
