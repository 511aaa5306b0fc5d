/* SPDX-License-Identifier: MIT */
/*
 * VFIO devices: finding a device's file through sysfs, opening or adopting
 * it, binding it to the context, attaching it, and the VFIO device calls.
 *
 * Finding. Whatever the caller names the device by (a PCI address, an mdev
 * UUID, a sysfs directory, a /dev path or an fd), sysfs under the kernel's
 * root (kernel_sysfs_root(): "/sys", or the fake kernel's tree) is the
 * reference: <device>/vfio-dev/vfioN/dev holds the device number of its file,
 * and an opened or adopted fd must carry exactly that number. A /dev node can
 * be stale or replaced (a container's /dev, a race with an unbind); sysfs and
 * the fd's st_rdev cannot disagree about what the file is. Sysfs is read with
 * plain file calls: it is a real tree under either kernel.
 *
 * Attaching. iommufd_device_attach() is how a VMM shares HWPTs: each HWPT on
 * the IOAS's list (hwpt.c) is offered to the device, oldest first, and the
 * kernel's EINVAL means "this domain is not for your IOMMU", so the next is
 * tried; only when none takes the device is a HWPT allocated for it (owned by
 * the library, destroyed with its last device). The answer to "does this
 * device have an IOMMU of its own, and can it track dirty pages" comes from
 * IOMMU_GET_HW_INFO, asked once per device: it must be known before any
 * candidate is tried, since an emulated device answers ENOENT, not EINVAL,
 * to a HWPT (its access object takes IOASes only).
 *
 * All attachment state (dev->ioas/hwpt/pasids, HWPT lists and users) is
 * guarded by ctx->objects_lock, held across the kernel calls that change it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "maptable.h"
#include "sysfs-parse.h"

#define CDEV_PREFIX "/dev/vfio/devices/vfio"
#define DEVICE_FLAGS_ALL IOMMUFD_DEVICE_TAKE_FD
#define ATTACH_FLAGS_ALL IOMMUFD_ATTACH_DIRTY_TRACKING

/* vfio-pci has 9 regions (BARs, ROM, config, VGA); device-specific regions
 * follow. Those below this index are cached: region info never changes
 * while the device is open, and a register access should not cost an
 * extra ioctl. */
#define REGION_CACHE 16

struct device_regions {
	pthread_mutex_t lock;
	uint32_t valid;			/* bit n: info[n] is filled */
	struct iommufd_region_info info[REGION_CACHE];
};

/* ---- sysfs ---- */

/* Names longer than their buffer are cut: they only go into log lines. */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int path_join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* A "major:minor\n" file. */
static int read_devnum(const char *path, dev_t *out)
{
	char text[32];
	unsigned int ma, mi;
	int rc = read_text(path, text, sizeof(text));

	if (rc)
		return rc;
	if (sysfs_parse_devnum_lenient(text, &ma, &mi))
		return -EBADMSG;
	*out = makedev(ma, mi);
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* "vfio<N>", N without leading zeros. */
static bool vfio_dev_name(const char *s, unsigned int *index)
{
	uint32_t v;

	if (sysfs_parse_vfio_dev_name(s, false, &v))
		return false;
	*index = v;
	return true;
}

/* The VFIO device file of the device at @devdir: its index and number.
 * -ENOENT when the device has none. */
static int find_vfio_dev(const char *devdir, unsigned int *index, dev_t *num)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *d;
	DIR *dh;
	int rc = -ENOENT;

	if (path_join(dir, sizeof(dir), devdir, "vfio-dev"))
		return -ENAMETOOLONG;
	dh = opendir(dir);
	if (!dh)
		return -ENOENT;
	while ((d = readdir(dh))) {
		if (!vfio_dev_name(d->d_name, index))
			continue;
		rc = snprintf(path, sizeof(path), "%s/%s/dev", dir, d->d_name) <
				     (int)sizeof(path) ?
			     read_devnum(path, num) :
			     -ENAMETOOLONG;
		break;
	}
	closedir(dh);
	return rc;
}

/* The driver bound to the device at @devdir, "" for none. */
static void driver_name(const char *devdir, char *buf, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	buf[0] = '\0';
	if (path_join(link, sizeof(link), devdir, "driver"))
		return;
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	copy_cut(buf, len, sysfs_path_base(target));
}

/* What the library knows of a device before it opens it. */
struct target {
	char devdir[PATH_MAX];		/* its sysfs directory */
	char name[64];			/* PCI address, UUID or directory name */
	char pci[20];			/* "" unless a PCI function */
	unsigned int index;		/* vfio<index> */
	dev_t devnum;			/* of its VFIO device file */
};

static void target_names(struct target *t)
{
	const char *base = strrchr(t->devdir, '/');
	char pci[20];

	base = base ? base + 1 : t->devdir;
	copy_cut(t->name, sizeof(t->name), base);
	/* A PCI function's directory is named by its address, in the
	 * kernel's spelling. */
	t->pci[0] = '\0';
	if (!sysfs_pci_addr_parse_padded(base, pci) && !strcmp(pci, base))
		memcpy(t->pci, pci, sizeof(t->pci));
}

/*
 * Which device's file has number @num: a scan of class/vfio-dev, whose
 * entries link to <device>/vfio-dev/vfioN. -ENODEV when none does (not a
 * VFIO device file).
 */
static int target_from_devnum(const char *root, dev_t num, struct target *t)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *d;
	DIR *dh;
	int rc = -ENODEV;

	if (path_join(dir, sizeof(dir), root, "class/vfio-dev"))
		return -ENAMETOOLONG;
	dh = opendir(dir);
	if (!dh)
		return -ENODEV;
	while ((d = readdir(dh))) {
		unsigned int index;
		dev_t n;
		char *real, *slash;

		if (!vfio_dev_name(d->d_name, &index))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/dev", dir, d->d_name) >=
			    (int)sizeof(path) ||
		    read_devnum(path, &n) || n != num)
			continue;
		/* .../<device>/vfio-dev/vfioN: two levels up. */
		path[strlen(path) - strlen("/dev")] = '\0';
		real = realpath(path, NULL);
		if (!real) {
			rc = -errno;
			break;
		}
		for (int up = 0; up < 2; up++) {
			slash = strrchr(real, '/');
			if (slash && slash != real)
				*slash = '\0';
		}
		if (strlen(real) >= sizeof(t->devdir)) {
			free(real);
			rc = -ENAMETOOLONG;
			break;
		}
		strcpy(t->devdir, real);
		free(real);
		t->index = index;
		t->devnum = n;
		target_names(t);
		rc = 0;
		break;
	}
	closedir(dh);
	return rc;
}

/* The device at @t->devdir must have a VFIO device file: which, or say why
 * not. */
static int target_vfio_dev(struct iommufd_ctx *ctx, struct target *t)
{
	char driver[64];
	int rc = find_vfio_dev(t->devdir, &t->index, &t->devnum);

	if (rc != -ENOENT) {
		if (rc)
			ctx_err(ctx, "%s: cannot read its vfio-dev entry in sysfs: %s",
				t->name, strerror(-rc));
		return rc;
	}
	driver_name(t->devdir, driver, sizeof(driver));
	if (!driver[0])
		ctx_err(ctx, "%s is not bound to any driver: bind it to vfio-pci to use it",
			t->name);
	else if (!strcmp(driver, "vfio-pci") || strstr(driver, "vfio"))
		ctx_err(ctx, "%s is bound to %s but has no VFIO device file: this kernel lacks CONFIG_VFIO_DEVICE_CDEV (Linux 6.6), use its VFIO group",
			t->name, driver);
	else
		ctx_err(ctx, "%s is bound to %s, not to vfio-pci: it has no VFIO device file",
			t->name, driver);
	return -ENODEV;
}

/* Sysfs root of the context's kernel, or NULL (logged). */
static const char *sysfs_root(struct iommufd_ctx *ctx)
{
	const char *root = kernel_sysfs_root(&ctx->kernel);

	if (!root)
		ctx_err(ctx, "the %s kernel has no sysfs to find devices in",
			ctx->kernel.ops->name);
	return root;
}

/*
 * Resolve @name to a device with a VFIO device file. *cdev is the path to
 * open: the caller's, when @name is a /dev path, else the canonical one.
 * With @cdev NULL (a backend that opens devices through their VFIO group),
 * only the device's sysfs directory and names are found.
 */
static int resolve(struct iommufd_ctx *ctx, const char *name,
		   struct target *t, char *cdev, size_t cdev_len)
{
	const char *root = sysfs_root(ctx);
	size_t rlen;
	char canon[40];
	int rc;

	if (!root)
		return -ENODEV;
	rlen = strlen(root);
	memset(t, 0, sizeof(*t));
	if (!strncmp(name, root, rlen) && name[rlen] == '/') {
		/* A sysfs directory: bus/pci/devices/<bdf>, devices/... */
		size_t len = strlen(name);

		while (len > rlen + 1 && name[len - 1] == '/')
			len--;
		if (len >= sizeof(t->devdir))
			return -ENAMETOOLONG;
		memcpy(t->devdir, name, len);
		t->devdir[len] = '\0';
		if (!is_dir(t->devdir)) {
			ctx_err(ctx, "%s: no such device in sysfs", name);
			return -ENOENT;
		}
		target_names(t);
	} else if (name[0] == '/') {
		/* A device file, by whatever path: its number says which. */
		struct stat st;

		rc = kernel_stat(&ctx->kernel, name, &st);
		if (rc) {
			ctx_err(ctx, "%s: %s", name, strerror(-rc));
			return rc;
		}
		if (!S_ISCHR(st.st_mode)) {
			ctx_err(ctx, "%s is not a character device", name);
			return -ENODEV;
		}
		rc = target_from_devnum(root, st.st_rdev, t);
		if (rc) {
			ctx_err(ctx, "%s (%u:%u) is not a VFIO device file",
				name, major(st.st_rdev), minor(st.st_rdev));
			return rc;
		}
		if (!cdev)
			return 0;
		if (strlen(name) >= cdev_len)
			return -ENAMETOOLONG;
		strcpy(cdev, name);
		return 0;
	} else if (!sysfs_pci_addr_parse_padded(name, canon)) {
		rc = snprintf(t->devdir, sizeof(t->devdir),
			      "%s/bus/pci/devices/%s", root, canon);
		if (rc < 0 || (size_t)rc >= sizeof(t->devdir))
			return -ENAMETOOLONG;
		if (!is_dir(t->devdir)) {
			ctx_err(ctx, "no PCI device %s", canon);
			return -ENOENT;
		}
		snprintf(t->name, sizeof(t->name), "%s", canon);
		memcpy(t->pci, canon, sizeof(t->pci));
	} else if (!sysfs_uuid_parse(name, canon)) {
		rc = snprintf(t->devdir, sizeof(t->devdir),
			      "%s/bus/mdev/devices/%s", root, canon);
		if (rc < 0 || (size_t)rc >= sizeof(t->devdir))
			return -ENAMETOOLONG;
		if (!is_dir(t->devdir)) {
			ctx_err(ctx, "no mediated device %s", canon);
			return -ENOENT;
		}
		snprintf(t->name, sizeof(t->name), "%s", canon);
	} else {
		ctx_err(ctx, "\"%s\" is not a PCI address, an mdev UUID, a sysfs path or a /dev path",
			name);
		return -EINVAL;
	}
	if (!cdev)
		return 0;
	rc = target_vfio_dev(ctx, t);
	if (rc)
		return rc;
	snprintf(cdev, cdev_len, CDEV_PREFIX "%u", t->index);
	return 0;
}

/* ---- lifetime ---- */

static void set_rid(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		    struct iommufd_hwpt *hwpt, uint32_t pt_id);

static void device_release(struct iommufd_device *dev)
{
	if (dev->regions) {
		pthread_mutex_destroy(&dev->regions->lock);
		free(dev->regions);
	}
	free(dev->pasids);
	free(dev);
}

static int check_opts(const struct iommufd_device_opts *opts, uint32_t valid)
{
	int rc;

	if (!opts)
		return 0;
	rc = opts_check(opts, opts->sz, sizeof(*opts));
	if (rc)
		return rc;
	if (OPTS_GET(opts, flags, 0) & ~valid)
		return -EINVAL;
	return 0;
}

/* A device handle on @fd, in no list yet, owning nothing. */
static int device_alloc(struct iommufd_ctx *ctx, int fd,
			struct iommufd_device **out)
{
	struct iommufd_device *dev = calloc(1, sizeof(*dev));
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->regions = calloc(1, sizeof(*dev->regions));
	if (!dev->regions) {
		free(dev);
		return -ENOMEM;
	}
	rc = -pthread_mutex_init(&dev->regions->lock, NULL);
	if (rc) {
		free(dev->regions);
		free(dev);
		return rc;
	}
	dev->ctx = ctx;
	dev->fd = fd;
	list_init(&dev->ctx_node);
	*out = dev;
	return 0;
}

/* Bind @fd (checked to be @t's file) and make the handle. On failure the
 * caller still has the fd. With @fd -1, the backend opens the device
 * (device_open: type1, through its group). */
static int device_create(struct iommufd_ctx *ctx, int fd, bool owns_fd,
			 const struct target *t,
			 const struct iommufd_device_opts *opts,
			 struct iommufd_device **out)
{
	struct iommufd_device *dev;
	int rc;

	rc = ctx_lu_busy(ctx, "device open");
	if (rc)
		return rc;
	if (fd < 0 ? !ctx->backend->device_open : !ctx->backend->device_bind) {
		ctx_err(ctx, "the %s backend cannot bind device files",
			ctx->backend->name);
		return -EOPNOTSUPP;
	}
	rc = device_alloc(ctx, fd, &dev);
	if (rc)
		return rc;
	dev->owns_fd = owns_fd;
	snprintf(dev->name, sizeof(dev->name), "%s", t->name);
	memcpy(dev->pci_addr, t->pci, sizeof(dev->pci_addr));

	dev->open_ioas = OPTS_GET(opts, ioas, NULL);
	if (dev->open_ioas && dev->open_ioas->ctx != ctx) {
		ctx_err(ctx, "%s: opts->ioas is an IOAS of another context",
			dev->name);
		device_release(dev);
		return -EINVAL;
	}
	if (fd < 0)
		rc = ctx->backend->device_open(dev, t->devdir,
					       OPTS_GET(opts, vf_token, NULL));
	else
		rc = ctx->backend->device_bind(dev,
					       OPTS_GET(opts, vf_token, NULL));
	dev->open_ioas = NULL;
	if (rc) {
		device_release(dev);
		return rc;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	list_add_tail(&ctx->device_list, &dev->ctx_node);
	pthread_mutex_unlock(&ctx->objects_lock);
	if (fd >= 0)
		ctx_dbg(ctx, "%s: vfio%u bound, devid %u", dev->name, t->index,
			dev->devid);
	*out = dev;
	return 0;
}

int device_restore(struct iommufd_ctx *ctx, int fd, uint32_t devid,
		   const char *name, const char *pci_addr,
		   struct iommufd_ioas *ioas, struct iommufd_hwpt *hwpt,
		   uint32_t pt_id, struct iommufd_device **out)
{
	struct iommufd_device *dev;
	int rc;

	rc = device_alloc(ctx, fd, &dev);
	if (rc)
		return rc;
	dev->devid = devid;
	copy_cut(dev->name, sizeof(dev->name), name);
	copy_cut(dev->pci_addr, sizeof(dev->pci_addr), pci_addr);
	pthread_mutex_lock(&ctx->objects_lock);
	if (ioas)
		set_rid(dev, ioas, hwpt, pt_id);
	list_add_tail(&ctx->device_list, &dev->ctx_node);
	pthread_mutex_unlock(&ctx->objects_lock);
	ctx_dbg(ctx, "%s: taken over, devid %u", dev->name, devid);
	*out = dev;
	return 0;
}

IOMMUFD_EXPORT int iommufd_device_open(struct iommufd_ctx *ctx,
				       const char *name,
				       const struct iommufd_device_opts *opts,
				       struct iommufd_device **out)
{
	struct target *t;
	char cdev[PATH_MAX];
	struct stat st;
	int fd, rc;

	if (!ctx || !name || !out)
		return -EINVAL;
	/* The device always owns a file it opened: TAKE_FD means nothing. */
	rc = check_opts(opts, 0);
	if (rc)
		return rc;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (ctx->backend->device_open) {
		/* type1: through the device's VFIO group, no device file */
		rc = resolve(ctx, name, t, NULL, 0);
		if (!rc)
			rc = device_create(ctx, -1, true, t, opts, out);
		goto out;
	}
	rc = resolve(ctx, name, t, cdev, sizeof(cdev));
	if (rc)
		goto out;
	fd = kernel_open(&ctx->kernel, cdev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		ctx_err(ctx, "%s: cannot open %s: %s", t->name, cdev,
			strerror(-rc));
		goto out;
	}
	rc = kernel_fstat(&ctx->kernel, fd, &st);
	if (!rc && (!S_ISCHR(st.st_mode) || st.st_rdev != t->devnum)) {
		ctx_err(ctx, "%s: %s is not the device file sysfs names (%u:%u): a stale /dev, or the device changed driver",
			t->name, cdev, major(t->devnum), minor(t->devnum));
		rc = -ENODEV;
	}
	if (!rc)
		rc = device_create(ctx, fd, true, t, opts, out);
	if (rc)
		kernel_close(&ctx->kernel, fd);
out:
	free(t);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_adopt(struct iommufd_ctx *ctx, int fd,
					const struct iommufd_device_opts *opts,
					struct iommufd_device **out)
{
	const char *root;
	struct target *t;
	struct stat st;
	int rc;

	if (!ctx || fd < 0 || !out)
		return -EINVAL;
	rc = check_opts(opts, DEVICE_FLAGS_ALL);
	if (rc)
		return rc;
	if (!ctx->backend->device_bind) {
		/* A device fd from a VFIO group is an anonymous inode: nothing
		 * in sysfs can vouch for it. */
		ctx_err(ctx, "adopt: the %s backend cannot adopt a device fd (a device file from a VFIO group cannot be checked against sysfs): open the device by name",
			ctx->backend->name);
		return -EOPNOTSUPP;
	}
	rc = kernel_fstat(&ctx->kernel, fd, &st);
	if (rc) {
		ctx_err(ctx, "adopt: fd %d: %s", fd, strerror(-rc));
		return rc;
	}
	if (!S_ISCHR(st.st_mode)) {
		ctx_err(ctx, "adopt: fd %d is not a character device, so not a VFIO device file",
			fd);
		return -ENODEV;
	}
	root = sysfs_root(ctx);
	if (!root)
		return -ENODEV;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	rc = target_from_devnum(root, st.st_rdev, t);
	if (rc) {
		ctx_err(ctx, "adopt: fd %d (%u:%u) is not a VFIO device file sysfs knows",
			fd, major(st.st_rdev), minor(st.st_rdev));
	} else {
		rc = device_create(ctx, fd,
				   OPTS_GET(opts, flags, 0) &
					   IOMMUFD_DEVICE_TAKE_FD,
				   t, opts, out);
	}
	free(t);
	return rc;
}

/* ---- attachment bookkeeping (under objects_lock) ---- */

/* The RID is now attached to @ioas through @hwpt (NULL: the IOAS itself),
 * or detached (@ioas NULL). */
static void set_rid(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		    struct iommufd_hwpt *hwpt, uint32_t pt_id)
{
	struct iommufd_hwpt *old = dev->hwpt;

	if (hwpt)
		hwpt->users++;
	dev->ioas = ioas;
	dev->hwpt = hwpt;
	dev->pt_id = pt_id;
	if (old)
		hwpt_put_locked(old);
}

static struct iommufd_device_pasid *find_pasid(struct iommufd_device *dev,
					       uint32_t pasid)
{
	for (size_t i = 0; i < dev->nr_pasids; i++)
		if (dev->pasids[i].pasid == pasid)
			return &dev->pasids[i];
	return NULL;
}

static void drop_pasid(struct iommufd_device *dev,
		       struct iommufd_device_pasid *p)
{
	struct iommufd_hwpt *hwpt = p->hwpt;

	*p = dev->pasids[--dev->nr_pasids];
	hwpt_put_locked(hwpt);
}

/* Detach everything, unbind (close, when the fd is ours), free. */
static void device_free_locked(struct iommufd_device *dev)
{
	struct iommufd_ctx *ctx = dev->ctx;
	bool kernel = !ctx_handed_over(ctx);

	list_del(&dev->ctx_node);
	if (ctx->lu_prepared)
		ctx_err(ctx, "%s: freed while a live update is prepared: the saved description names it still",
			dev->name);
	/* An adopted fd the caller keeps would go on logging. */
	tracking_device_release_locked(dev);
	/*
	 * Detach explicitly even when closing would: a mapping of a region
	 * keeps the file (and with it the attachment) alive past close, and
	 * its HWPT could not be destroyed. Failures only leave the kernel
	 * holding what close (or, for an adopted fd, its owner) releases.
	 * Handed over, the attachments are the new process's.
	 */
	for (size_t i = 0; kernel && i < dev->nr_pasids; i++)
		ctx->backend->device_detach(dev, &dev->pasids[i].pasid);
	if (kernel && dev->ioas)
		ctx->backend->device_detach(dev, NULL);
	if (dev->owns_fd)
		kernel_close(&ctx->kernel, dev->fd);
	if (ctx->backend->device_close)
		ctx->backend->device_close(dev);
	while (dev->nr_pasids)
		drop_pasid(dev, &dev->pasids[0]);
	set_rid(dev, NULL, NULL, 0);
	ctx_dbg(ctx, "%s: freed", dev->name);
	device_release(dev);
}

IOMMUFD_EXPORT void iommufd_device_free(struct iommufd_device *dev)
{
	struct iommufd_ctx *ctx;

	if (!dev)
		return;
	ctx = dev->ctx;
	pthread_mutex_lock(&ctx->objects_lock);
	device_free_locked(dev);
	pthread_mutex_unlock(&ctx->objects_lock);
}

void device_free_all(struct iommufd_ctx *ctx)
{
	pthread_mutex_lock(&ctx->objects_lock);
	while (!list_empty(&ctx->device_list))
		device_free_locked(container_of(ctx->device_list.next,
						struct iommufd_device,
						ctx_node));
	pthread_mutex_unlock(&ctx->objects_lock);
}

IOMMUFD_EXPORT int iommufd_device_fd(const struct iommufd_device *dev)
{
	return dev ? dev->fd : -EINVAL;
}

IOMMUFD_EXPORT uint32_t iommufd_device_id(const struct iommufd_device *dev)
{
	return dev ? dev->devid : 0;
}

IOMMUFD_EXPORT const char *iommufd_device_pci_addr(const struct iommufd_device *dev)
{
	return dev ? dev->pci_addr : "";
}

/* ---- attach ---- */

static int attach_rid(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		      struct iommufd_hwpt *hwpt, bool probe)
{
	uint32_t pt_id = 0;
	int rc;

	rc = dev->ctx->backend->device_attach(dev, hwpt ? NULL : ioas, hwpt,
					      NULL, probe, &pt_id);
	if (rc)
		return rc;
	set_rid(dev, ioas, hwpt, pt_id);
	ctx_dbg(dev->ctx, "%s: attached to IOAS %u through %s %u", dev->name,
		ioas->id, hwpt ? "HWPT" : "the kernel's", pt_id);
	return 0;
}

IOMMUFD_EXPORT int iommufd_device_attach_ioas(struct iommufd_device *dev,
					      struct iommufd_ioas *ioas)
{
	int rc;

	if (!dev || !ioas || ioas->ctx != dev->ctx)
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = ctx_lu_busy(dev->ctx, "device attach");
	if (!rc)
		rc = attach_rid(dev, ioas, NULL, false);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_attach_hwpt(struct iommufd_device *dev,
					      struct iommufd_hwpt *hwpt)
{
	int rc;

	if (!dev || !hwpt || hwpt->ctx != dev->ctx)
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = ctx_lu_busy(dev->ctx, "device attach");
	if (!rc)
		rc = attach_rid(dev, hwpt->ioas, hwpt, false);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_detach(struct iommufd_device *dev)
{
	int rc;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	/* Asked even when the library thinks the device is detached: a
	 * detached device's detach is a no-op for the kernel too. */
	rc = ctx_lu_busy(dev->ctx, "device detach");
	if (!rc)
		rc = dev->ctx->backend->device_detach(dev, NULL);
	if (!rc)
		set_rid(dev, NULL, NULL, 0);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_attach_pasid(struct iommufd_device *dev,
					       uint32_t pasid,
					       struct iommufd_hwpt *hwpt)
{
	struct iommufd_ctx *ctx;
	struct iommufd_device_pasid *p;
	uint32_t pt_id = 0;
	int rc;

	if (!dev || !hwpt || hwpt->ctx != dev->ctx)
		return -EINVAL;
	ctx = dev->ctx;
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_PASID)) {
		ctx_err(ctx, "%s: PASID attach needs Linux 6.15", dev->name);
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	rc = ctx_lu_busy(ctx, "device attach_pasid");
	if (rc)
		goto out;
	p = find_pasid(dev, pasid);
	if (!p) {
		/* Room first, so the record cannot fail after the kernel
		 * attached. */
		struct iommufd_device_pasid *v =
			realloc(dev->pasids,
				(dev->nr_pasids + 1) * sizeof(*v));

		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
		dev->pasids = v;
	}
	rc = ctx->backend->device_attach(dev, NULL, hwpt, &pasid, false,
					 &pt_id);
	if (rc)
		goto out;
	hwpt->users++;
	if (p) {
		struct iommufd_hwpt *old = p->hwpt;

		p->hwpt = hwpt;
		hwpt_put_locked(old);
	} else {
		dev->pasids[dev->nr_pasids].pasid = pasid;
		dev->pasids[dev->nr_pasids].hwpt = hwpt;
		dev->nr_pasids++;
	}
	ctx_dbg(ctx, "%s: PASID %u attached to HWPT %u", dev->name, pasid,
		pt_id);
out:
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_detach_pasid(struct iommufd_device *dev,
					       uint32_t pasid)
{
	struct iommufd_ctx *ctx;
	struct iommufd_device_pasid *p;
	int rc;

	if (!dev)
		return -EINVAL;
	ctx = dev->ctx;
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_PASID)) {
		ctx_err(ctx, "%s: PASID detach needs Linux 6.15", dev->name);
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&ctx->objects_lock);
	rc = ctx_lu_busy(ctx, "device detach_pasid");
	if (!rc)
		rc = ctx->backend->device_detach(dev, &pasid);
	if (!rc) {
		p = find_pasid(dev, pasid);
		if (p)
			drop_pasid(dev, p);
	}
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

int device_hw_info_locked(struct iommufd_device *dev)
{
	int rc;

	if (dev->hw_state)
		return dev->hw_state > 0 ? 0 : dev->hw_state;
	if (!dev->ctx->backend->device_hw_info)
		return -EOPNOTSUPP;
	rc = dev->ctx->backend->device_hw_info(dev, &dev->hw);
	if (!rc)
		dev->hw_state = 1;
	else if (rc == -ENODEV)
		dev->hw_state = -ENODEV;
	return rc;
}

/*
 * Offer @dev each HWPT serving @ioas (with dirty tracking, if @dirty): 0 and
 * *out when one took it, 1 when none did, or an error other than the
 * kernel's "incompatible".
 */
static int attach_existing(struct iommufd_device *dev,
			   struct iommufd_ioas *ioas, bool dirty,
			   struct iommufd_hwpt **out)
{
	for (struct iommufd_hwpt *h = ioas->hwpts; h; h = h->ioas_next) {
		int rc;

		if (dirty && !(h->flags & IOMMUFD_HWPT_DIRTY_TRACKING))
			continue;
		if (h == dev->hwpt) {
			*out = h;	/* attached to it already */
			return 0;
		}
		rc = attach_rid(dev, ioas, h, true);
		if (rc == -EINVAL)
			continue;
		if (rc)
			return rc;
		*out = h;
		return 0;
	}
	return 1;
}

static int attach_vmm(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		      uint32_t flags, struct iommufd_hwpt **out)
{
	struct iommufd_ctx *ctx = dev->ctx;
	bool dirty = flags & IOMMUFD_ATTACH_DIRTY_TRACKING;
	struct iommufd_hwpt *hwpt;
	int rc;

	if (!ctx->backend->hwpt_alloc) {
		/* type1: no HWPTs; the IOAS's mappings go to the device's
		 * container. */
		if (dirty)
			ctx_info(ctx, "%s: the %s backend has no HWPTs: attached without IOMMU dirty tracking",
				 dev->name, ctx->backend->name);
		*out = NULL;
		return attach_rid(dev, ioas, NULL, false);
	}
	rc = device_hw_info_locked(dev);
	if (rc == -ENODEV) {
		/* An emulated device reaches the IOAS through the kernel's
		 * access path; HWPTs are not for it. Its dirty pages, if
		 * any, are the VFIO driver's business (DMA logging). */
		if (dirty)
			ctx_info(ctx, "%s: emulated device, attached without an IOMMU and so without IOMMU dirty tracking",
				 dev->name);
		*out = NULL;
		return attach_rid(dev, ioas, NULL, false);
	}
	if (rc)
		return rc;
	/* As QEMU does: without tracking the VM still runs, migration will
	 * have to find dirty pages another way. iommufd_hwpt_flags() says. */
	if (dirty && !iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_DIRTY_TRACKING)) {
		ctx_info(ctx, "%s: this kernel cannot track dirty pages (Linux 6.7): attaching without dirty tracking",
			 dev->name);
		dirty = false;
	} else if (dirty &&
		   !(dev->hw.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING)) {
		ctx_info(ctx, "%s: its IOMMU cannot track dirty pages: attaching without dirty tracking",
			 dev->name);
		dirty = false;
	}
	rc = attach_existing(dev, ioas, dirty, out);
	if (rc <= 0)
		return rc;

	/* None serves this device's IOMMU: one of its own. */
	rc = hwpt_alloc_locked(dev, ioas,
			       dirty ? IOMMUFD_HWPT_DIRTY_TRACKING : 0, true,
			       &hwpt);
	if (rc == -EOPNOTSUPP && dirty) {
		ctx_info(ctx, "%s: attaching without dirty tracking", dev->name);
		rc = hwpt_alloc_locked(dev, ioas, 0, true, &hwpt);
	}
	if (rc == -EOPNOTSUPP) {
		/* The IOMMU driver makes no domain for userspace: let the
		 * kernel attach the IOAS with a domain of its choosing. */
		ctx_info(ctx, "%s: no HWPT for this IOMMU: attaching the IOAS directly",
			 dev->name);
		*out = NULL;
		return attach_rid(dev, ioas, NULL, false);
	}
	if (rc)
		return rc;
	rc = attach_rid(dev, ioas, hwpt, false);
	if (rc) {
		int rc2 = hwpt_destroy_locked(hwpt);

		if (rc2)
			ctx_warn(ctx, "HWPT %u made for %s stays after the attach failed: %d",
				 hwpt->id, dev->name, rc2);
		return rc;
	}
	*out = hwpt;
	return 0;
}

IOMMUFD_EXPORT int iommufd_device_attach(struct iommufd_device *dev,
					 struct iommufd_ioas *ioas,
					 uint32_t flags,
					 struct iommufd_hwpt **out_hwpt)
{
	struct iommufd_hwpt *hwpt = NULL;
	int rc;

	if (!dev || !ioas || ioas->ctx != dev->ctx ||
	    (flags & ~(uint32_t)ATTACH_FLAGS_ALL))
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = ctx_lu_busy(dev->ctx, "device attach");
	if (!rc)
		rc = attach_vmm(dev, ioas, flags, &hwpt);
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	if (!rc && out_hwpt)
		*out_hwpt = hwpt;
	return rc;
}

/* ---- information ---- */

IOMMUFD_EXPORT int iommufd_device_get_hw_info(struct iommufd_device *dev,
					      struct iommufd_hw_info *info)
{
	int rc;

	if (!dev || !info)
		return -EINVAL;
	pthread_mutex_lock(&dev->ctx->objects_lock);
	rc = device_hw_info_locked(dev);
	if (!rc)
		*info = dev->hw;
	pthread_mutex_unlock(&dev->ctx->objects_lock);
	/* Said here, not in device_hw_info_locked(): attach asks it too, and
	 * a type1 attach needs no answer. */
	if (rc == -EOPNOTSUPP && !dev->ctx->backend->device_hw_info)
		ctx_err(dev->ctx, "%s: the %s backend has no IOMMU_GET_HW_INFO (iommufd and a VFIO device file, Linux 6.6)",
			dev->name, dev->ctx->backend->name);
	return rc;
}

IOMMUFD_EXPORT int iommufd_device_get_info(struct iommufd_device *dev,
					   struct iommufd_device_info *info)
{
	if (!dev || !info)
		return -EINVAL;
	return vfio_device_get_info(dev, info);
}

IOMMUFD_EXPORT int iommufd_device_get_region(struct iommufd_device *dev,
					     uint32_t index,
					     struct iommufd_region_info *info)
{
	struct device_regions *r;
	int rc;

	if (!dev || !info)
		return -EINVAL;
	r = dev->regions;
	if (index < REGION_CACHE) {
		pthread_mutex_lock(&r->lock);
		if (r->valid & (UINT32_C(1) << index)) {
			*info = r->info[index];
			pthread_mutex_unlock(&r->lock);
			return 0;
		}
		pthread_mutex_unlock(&r->lock);
	}
	rc = vfio_device_get_region(dev, index, info);
	if (rc || index >= REGION_CACHE)
		return rc;
	pthread_mutex_lock(&r->lock);
	r->info[index] = *info;
	r->valid |= UINT32_C(1) << index;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

IOMMUFD_EXPORT int iommufd_device_get_irq_info(struct iommufd_device *dev,
					       uint32_t index,
					       struct iommufd_irq_info *info)
{
	if (!dev || !info)
		return -EINVAL;
	return vfio_device_get_irq_info(dev, index, info);
}

/* ---- regions ---- */

/* [offset, offset + len) inside region @index, which allows @need:
 * the region's info, or -EINVAL (outside, or not allowed), -ERANGE (starts
 * inside, runs past the end). */
static int region_range(struct iommufd_device *dev, uint32_t index,
			uint64_t offset, uint64_t len, uint32_t need,
			struct iommufd_region_info *info)
{
	int rc = iommufd_device_get_region(dev, index, info);

	if (rc)
		return rc;
	if ((info->flags & need) != need) {
		ctx_dbg(dev->ctx, "%s: region %u cannot be %s", dev->name,
			index, need & IOMMUFD_REGION_WRITE ? "written" : "read");
		return -EINVAL;
	}
	if (offset > info->size || (offset == info->size && len)) {
		ctx_dbg(dev->ctx, "%s: offset 0x%llx is past region %u (0x%llx bytes)",
			dev->name, (unsigned long long)offset, index,
			(unsigned long long)info->size);
		return -EINVAL;
	}
	if (len > info->size - offset) {
		ctx_dbg(dev->ctx, "%s: [0x%llx, +0x%llx) runs past region %u (0x%llx bytes)",
			dev->name, (unsigned long long)offset,
			(unsigned long long)len, index,
			(unsigned long long)info->size);
		return -ERANGE;
	}
	return 0;
}

IOMMUFD_EXPORT ssize_t iommufd_device_region_read(struct iommufd_device *dev,
						  uint32_t index,
						  uint64_t offset, void *buf,
						  size_t len)
{
	struct iommufd_region_info info;
	int rc;

	if (!dev || (!buf && len) || len > SSIZE_MAX)
		return -EINVAL;
	rc = region_range(dev, index, offset, len, IOMMUFD_REGION_READ, &info);
	if (rc)
		return rc;
	if (!len)
		return 0;
	return vfio_device_rw(dev, info.offset + offset, buf, len, false);
}

IOMMUFD_EXPORT ssize_t iommufd_device_region_write(struct iommufd_device *dev,
						   uint32_t index,
						   uint64_t offset,
						   const void *buf, size_t len)
{
	struct iommufd_region_info info;
	int rc;

	if (!dev || (!buf && len) || len > SSIZE_MAX)
		return -EINVAL;
	rc = region_range(dev, index, offset, len, IOMMUFD_REGION_WRITE,
			  &info);
	if (rc)
		return rc;
	if (!len)
		return 0;
	return vfio_device_rw(dev, info.offset + offset, (void *)buf, len,
			      true);
}

/* Whether the mmap areas of @info cover [first, last] (areas may touch). */
static bool areas_cover(const struct iommufd_region_info *info,
			uint64_t first, uint64_t last)
{
	uint64_t at = first;

	/* Each round moves @at past one area, so at most nr rounds. */
	for (uint32_t round = 0; round <= info->nr_mmap_areas; round++) {
		bool moved = false;

		for (uint32_t i = 0; i < info->nr_mmap_areas; i++) {
			const struct iommufd_region_area *a =
				&info->mmap_areas[i];
			uint64_t a_last = a->offset + (a->size - 1);

			if (!a->size || a_last < a->offset)
				continue;
			if (at < a->offset || at > a_last)
				continue;
			if (a_last >= last)
				return true;
			at = a_last + 1;
			moved = true;
		}
		if (!moved)
			return false;
	}
	return false;
}

IOMMUFD_EXPORT int iommufd_device_region_mmap(struct iommufd_device *dev,
					      uint32_t index, uint64_t offset,
					      size_t len, int prot, void **out)
{
	struct iommufd_region_info info;
	long sys_page = sysconf(_SC_PAGESIZE);
	uint64_t page = sys_page > 0 ? (uint64_t)sys_page : 4096;
	uint64_t span;
	int rc;

	if (!dev || !out || !len || offset % page)
		return -EINVAL;
	/* The kernel maps whole pages: all of them must be in the areas. */
	span = ((uint64_t)len + page - 1) & ~(page - 1);
	if (span < len || offset + span < offset)
		return -EINVAL;
	rc = iommufd_device_get_region(dev, index, &info);
	if (rc)
		return rc;
	if (!(info.flags & IOMMUFD_REGION_MMAP) ||
	    !areas_cover(&info, offset, offset + (span - 1))) {
		ctx_err(dev->ctx, "%s: region %u: [0x%llx, +0x%zx) is not inside its mmap areas%s",
			dev->name, index, (unsigned long long)offset, len,
			info.flags & IOMMUFD_REGION_MMAP ? "" :
				" (the region cannot be mapped: use read and write)");
		return -EACCES;
	}
	if (info.offset + offset < info.offset)
		return -EINVAL;
	return vfio_device_mmap(dev, info.offset + offset, len, prot, out);
}

IOMMUFD_EXPORT int iommufd_device_region_munmap(struct iommufd_device *dev,
						void *addr, size_t len)
{
	if (!dev || !addr || !len)
		return -EINVAL;
	return vfio_device_munmap(dev, addr, len);
}

/* ---- interrupts and resets ---- */

IOMMUFD_EXPORT int iommufd_device_set_irqs(struct iommufd_device *dev,
					   uint32_t index, uint32_t start,
					   uint32_t count, const int *fds)
{
	if (!dev || (count && !fds))
		return -EINVAL;
	return vfio_device_set_irqs(dev, index, start, count, fds);
}

IOMMUFD_EXPORT int iommufd_device_reset(struct iommufd_device *dev)
{
	if (!dev)
		return -EINVAL;
	return vfio_device_reset(dev);
}

IOMMUFD_EXPORT int iommufd_device_hot_reset(struct iommufd_device *dev)
{
	struct vfio_reset_info *info;
	int rc;

	if (!dev)
		return -EINVAL;
	rc = vfio_device_hot_reset_info(dev, &info);
	if (rc)
		return rc;
	if (!info->by_devid && dev->ctx->backend->device_hot_reset_groups) {
		/* type1: every affected group must be open here. */
		rc = dev->ctx->backend->device_hot_reset_groups(dev, info);
		free(info);
		return rc;
	}
	if (!info->by_devid) {
		/* Group ids: the legacy path's answer, for a device file
		 * from a group, which this handle is not. */
		ctx_err(dev->ctx, "%s: the kernel lists the hot reset by group, not by device",
			dev->name);
		free(info);
		return -EOPNOTSUPP;
	}
	if (!info->all_owned) {
		/* The kernel would refuse too, with an EINVAL that does not
		 * say who: name every device in the way. */
		rc = -EPERM;
		for (uint32_t i = 0; i < info->nr; i++) {
			const struct vfio_reset_dep *d = &info->dep[i];

			if (d->id != VFIO_RESET_NOT_OWNED)
				continue;
			ctx_err(dev->ctx,
				"%s: hot reset refused: it would also reset %04x:%02x:%02x.%x, which this context does not own (open it here, or it is bound to another driver)",
				dev->name, d->segment, d->bus, d->devfn >> 3,
				d->devfn & 7);
		}
		free(info);
		return rc;
	}
	free(info);
	return vfio_device_hot_reset(dev, NULL, 0);
}
