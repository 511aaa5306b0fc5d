/* SPDX-License-Identifier: MIT */
/*
 * Legacy VFIO of the fake kernel: the VFIO groups (/dev/vfio/N) and the
 * container (/dev/vfio/vfio), with the device files a group hands out and
 * the group side of a PCI hot reset. The type1 IOMMU a container drives is
 * in type1.c; iommufd's own /dev/vfio/vfio (IOMMUFD_VFIO_CONTAINER) is an
 * iommufd file (iommufd.c) whose VFIO ioctls are in type1.c too. Modelled
 * on drivers/vfio/{group.c,container.c} and vfio_pci_core.c of Linux 6.1
 * (with what later kernels added: groups set to an iommufd from 6.2, the
 * device cdev's exclusion from 6.6); the rules are the kernel's, the code
 * is ours.
 *
 * A VFIO group exists while a VFIO device of its IOMMU group does (bound to
 * vfio-pci, or an emulated device, whose group is VFIO_EMULATED_IOMMU). Its
 * file can be open once (EBUSY). Set to a container, the group's DMA is
 * owned by VFIO: the container claims it at VFIO_GROUP_SET_CONTAINER (EPERM
 * when a kernel driver or an iommufd has it), and its devices DMA through
 * the container's type1 IOMMU once VFIO_SET_IOMMU is done. The container
 * lives while its fd or a group holds it; the last group to leave takes the
 * IOMMU (and every mapping) with it.
 *
 * The fake refuses to change the driver of (or remove) a device whose group
 * file is open, where the kernel would let a vfio-pci unbind go through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/vfio.h>

#include "fake-internal.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* The kernel's struct vfio_container. */
struct fake_container {
	struct iommufd_fake *fake;
	struct fake_file *file;
	struct fake_vgroup *groups;	/* through vg->container_next */
	struct fake_type1 *iommu;	/* VFIO_SET_IOMMU done */
};

static const struct fake_file_ops group_fops;
static const struct fake_file_ops container_fops;

/* ------------------------------------------------------------------ */
/* The machine's VFIO groups                                           */

static bool is_vfio_device(const struct fake_device *dev)
{
	return dev->vfio_index >= 0 && dev->group >= 0;
}

struct fake_vgroup *fake_vgroup_find(struct iommufd_fake *fake, int32_t group)
{
	for (struct fake_vgroup *vg = fake->vgroups; vg; vg = vg->next)
		if (vg->group == group)
			return vg;
	return NULL;
}

static bool group_has_vfio_device(struct iommufd_fake *fake, int32_t group,
				  bool *emulated)
{
	for (struct fake_device *dev = fake->devices; dev; dev = dev->next) {
		if (dev->group == group && is_vfio_device(dev)) {
			*emulated = dev->kind == FAKE_DEV_EMULATED;
			return true;
		}
	}
	return false;
}

/* ida_alloc_max(): the lowest free minor. */
static unsigned int minor_alloc(struct iommufd_fake *fake)
{
	for (unsigned int minor = 0;; minor++) {
		struct fake_vgroup *vg;

		for (vg = fake->vgroups; vg; vg = vg->next)
			if (vg->minor == minor)
				break;
		if (!vg)
			return minor;
	}
}

int fake_vgroups_sync(struct iommufd_fake *fake)
{
	struct fake_vgroup **p;
	bool emulated;
	int ret = 0;

	/* Groups without a VFIO device go (an open one stays: the machine
	 * refuses the changes that would leave it empty). */
	for (p = &fake->vgroups; *p;) {
		struct fake_vgroup *vg = *p;

		if (vg->file || group_has_vfio_device(fake, vg->group, &emulated)) {
			p = &vg->next;
			continue;
		}
		*p = vg->next;
		(void)fake_sysfs_vfio_group(fake, vg, false);
		free(vg);
	}
	/* New ones come, in the order of their IOMMU group numbers. */
	for (struct fake_device *dev = fake->devices; dev; dev = dev->next) {
		struct fake_vgroup *vg;

		if (!is_vfio_device(dev) || fake_vgroup_find(fake, dev->group))
			continue;
		vg = calloc(1, sizeof(*vg));
		if (!vg)
			return -ENOMEM;
		vg->fake = fake;
		vg->group = dev->group;
		vg->emulated = dev->kind == FAKE_DEV_EMULATED;
		vg->minor = minor_alloc(fake);
		for (p = &fake->vgroups; *p && (*p)->group < vg->group;
		     p = &(*p)->next)
			;
		vg->next = *p;
		*p = vg;
		if (!ret)
			ret = fake_sysfs_vfio_group(fake, vg, true);
	}
	return ret;
}

void fake_vgroups_free(struct iommufd_fake *fake)
{
	while (fake->vgroups) {
		struct fake_vgroup *vg = fake->vgroups;

		fake->vgroups = vg->next;
		free(vg);
	}
}

bool fake_vgroup_busy(struct iommufd_fake *fake, int32_t group)
{
	struct fake_vgroup *vg = group >= 0 ? fake_vgroup_find(fake, group) : NULL;

	return vg && vg->file;
}

bool fake_vgroup_container_owned(struct iommufd_fake *fake, int32_t group)
{
	struct fake_vgroup *vg = group >= 0 ? fake_vgroup_find(fake, group) : NULL;

	return vg && vg->container && !vg->emulated;
}

struct fake_type1 *fake_vgroup_type1(struct iommufd_fake *fake, int32_t group)
{
	struct fake_vgroup *vg = group >= 0 ? fake_vgroup_find(fake, group) : NULL;

	if (!vg || !vg->container)
		return NULL;
	return vg->container->iommu;
}

/* iommu_group_dma_owner_claimed(): a kernel driver doing DMA, or an iommufd
 * that bound a device, owns the group. An emulated group is VFIO's own. */
static bool dma_owner_claimed(struct fake_vgroup *vg)
{
	if (vg->emulated)
		return false;
	for (struct fake_device *p = vg->fake->devices; p; p = p->next) {
		if (p->group != vg->group)
			continue;
		if (fake_driver_claims_dma(p->driver) || p->bound)
			return true;
	}
	return false;
}

static bool has_iommu(const struct fake_vgroup *vg)
{
	return vg->container || vg->ictx;
}

/* ------------------------------------------------------------------ */
/* The container: /dev/vfio/vfio (drivers/vfio/container.c)            */

static void container_attach(struct fake_container *c, struct fake_vgroup *vg)
{
	vg->container = c;
	vg->container_users = 1;
	vg->container_next = c->groups;
	c->groups = vg;
	fake_file_get(c->file);
}

/* vfio_group_detach_container(): the last group takes the IOMMU along. */
static void container_detach(struct fake_vgroup *vg)
{
	struct fake_container *c = vg->container;

	if (c->iommu)
		fake_type1_detach_group(c->iommu, vg);
	for (struct fake_vgroup **p = &c->groups; *p; p = &(*p)->container_next) {
		if (*p == vg) {
			*p = vg->container_next;
			break;
		}
	}
	vg->container = NULL;
	vg->container_next = NULL;
	vg->container_users = 0;
	if (c->iommu && !c->groups) {
		fake_type1_release(c->iommu);
		c->iommu = NULL;
	}
	fake_file_put(c->file);
}

/* vfio_container_attach_group() */
static int container_attach_group(struct fake_container *c,
				  struct fake_vgroup *vg)
{
	int ret;

	if (!vg->emulated && dma_owner_claimed(vg))
		return -EPERM;	/* iommu_group_claim_dma_owner() */
	if (c->iommu) {
		ret = fake_type1_attach_group(c->iommu, vg);
		if (ret)
			return ret;
	}
	container_attach(c, vg);
	return 0;
}

/* vfio_ioctl_set_iommu(): type1 is the only IOMMU driver registered. */
static long container_set_iommu(struct fake_container *c, unsigned long arg)
{
	struct fake_type1 *iommu;
	struct fake_vgroup *vg, *done;
	int ret;

	if (!c->groups || c->iommu)
		return -EINVAL;
	if (fake_type1_check_extension(c->fake, NULL, arg) <= 0)
		return -ENODEV;
	ret = fake_type1_open(c->fake, arg, &iommu);
	if (ret)
		return ret;
	/* __vfio_container_attach_groups(): all or none */
	for (vg = c->groups; vg; vg = vg->container_next) {
		ret = fake_type1_attach_group(iommu, vg);
		if (ret)
			break;
	}
	if (ret) {
		for (done = c->groups; done != vg; done = done->container_next)
			fake_type1_detach_group(iommu, done);
		fake_type1_release(iommu);
		return ret;
	}
	c->iommu = iommu;
	return 0;
}

static long container_ioctl(struct fake_file *file, unsigned long cmd,
			    void *arg)
{
	struct fake_container *c = file->private_data;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		/* No driver set: the answer of any registered driver. */
		return fake_type1_check_extension(c->fake, c->iommu,
						  (unsigned long)arg);
	case VFIO_SET_IOMMU:
		return container_set_iommu(c, (unsigned long)arg);
	default:
		if (!c->iommu)
			return -EINVAL;
		return fake_type1_ioctl(c->iommu, cmd, arg);
	}
}

static void container_release(struct fake_file *file)
{
	struct fake_container *c = file->private_data;

	/* Groups hold the file: none is left, nor an IOMMU. */
	if (c->iommu)
		fake_type1_release(c->iommu);
	free(c);
}

static const struct fake_file_ops container_fops = {
	.name = "vfio-container",
	.ioctl = container_ioctl,
	.release = container_release,
	.st_mode = S_IFCHR | 0666,
	.st_rdev = FAKE_MKDEV(FAKE_MISC_MAJOR, FAKE_VFIO_MINOR),
};

static int container_open(struct iommufd_fake *fake, int flags)
{
	struct fake_container *c = calloc(1, sizeof(*c));
	struct fake_file *file;
	int fd;

	if (!c)
		return -ENOMEM;
	c->fake = fake;
	fd = fake_file_create(fake, &container_fops, c, flags & O_CLOEXEC, &file);
	if (fd < 0) {
		free(c);
		return fd;
	}
	c->file = file;
	return fd;
}

/* ------------------------------------------------------------------ */
/* The group file: /dev/vfio/N (drivers/vfio/group.c)                  */

static int group_get_status(struct fake_vgroup *vg, void *arg)
{
	size_t minsz = offsetofend(struct vfio_group_status, flags);
	struct vfio_group_status status;

	if (fake_copy_from_user(&status, arg, minsz))
		return -EFAULT;
	if (status.argsz < minsz)
		return -EINVAL;
	status.flags = 0;
	/* With an iommufd the ownership is claimed at GET_DEVICE_FD: VIABLE
	 * then, even if opening a device will fail. */
	if (has_iommu(vg))
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET |
				VFIO_GROUP_FLAGS_VIABLE;
	else if (!dma_owner_claimed(vg))
		status.flags |= VFIO_GROUP_FLAGS_VIABLE;
	return fake_copy_to_user(arg, &status, minsz);
}

static int group_set_container(struct fake_vgroup *vg, void *arg)
{
	struct iommufd_fake *fake = vg->fake;
	struct fake_file *file;
	int32_t fd;
	int ret;

	if (fake_copy_from_user(&fd, arg, sizeof(fd)))
		return -EFAULT;
	file = fake_fd_lookup(fake, fd, &ret);
	if (ret)
		return ret;	/* EBADF: fdget() */
	if (has_iommu(vg))
		return -EINVAL;
	if (file && file->ops == &container_fops)
		return container_attach_group(file->private_data, vg);
	/* An iommufd (6.2): its compat IOAS, made now if need be, is where
	 * the devices attach when they are opened. */
	if (file && file->ops == &fake_iommufd_fops &&
	    fake->kver >= FAKE_KVER_IOMMUFD) {
		struct fake_ictx *ictx = file->private_data;

		ret = fake_vfio_compat_ioas_create(ictx);
		if (ret)
			return ret;
		fake_file_get(ictx->file);
		vg->ictx = ictx;
		return 0;
	}
	/* Not a container: 6.1 knew no other kind. */
	return fake->kver >= FAKE_KVER_IOMMUFD ? -EBADFD : -EINVAL;
}

static int group_unset_container(struct fake_vgroup *vg)
{
	if (!has_iommu(vg))
		return -EINVAL;
	if (vg->container) {
		if (vg->container_users != 1)
			return -EBUSY;	/* device files are open */
		container_detach(vg);
	}
	if (vg->ictx) {
		/* Devices opened through the group stay bound. */
		fake_file_put(vg->ictx->file);
		vg->ictx = NULL;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* uuid_parse() */
static bool uuid_valid(const char *s)
{
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : hexval(s[i]) < 0)
			return false;
	}
	return true;
}

/*
 * vfio_pci_core_match(): "DDDD:BB:DD.F" optionally followed by
 * " vf_token=UUID". 1 a match, 0 none, -EINVAL a bad option or a token for
 * a device that is neither an SR-IOV PF nor a VF (none of the fake's is).
 */
static int pci_match(const struct fake_device *dev, const char *buf)
{
	size_t len = strlen(dev->name);
	bool vf_token = false;

	if (strncmp(dev->name, buf, len))
		return 0;
	buf += len;
	if (*buf && *buf != ' ')
		return 0;
	while (*buf) {
		if (*buf == ' ') {
			buf++;
			continue;
		}
		if (vf_token || strncmp(buf, "vf_token=", 9))
			return -EINVAL;	/* unknown or duplicate option */
		buf += 9;
		if (strlen(buf) < 36 || !uuid_valid(buf))
			return -EINVAL;
		vf_token = true;
		buf += 36;
	}
	/* vfio_pci_validate_vf_token(): "VF token incorrectly provided" */
	return vf_token ? -EINVAL : 1;
}

/* strndup_user(arg, PAGE_SIZE) */
static int copy_name(const void *arg, char *name, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (fake_copy_from_user(&name[i], (const char *)arg + i, 1))
			return -EFAULT;
		if (!name[i])
			return 0;
	}
	return -EINVAL;
}

static int group_get_device_fd(struct fake_vgroup *vg, void *arg)
{
	struct iommufd_fake *fake = vg->fake;
	struct fake_device *dev = NULL;
	char *name;
	int ret;

	name = malloc(fake->page_size);
	if (!name)
		return -ENOMEM;
	ret = copy_name(arg, name, fake->page_size);
	if (ret) {
		free(name);
		return ret;
	}
	/* vfio_device_get_from_name(): the first device that matches */
	for (struct fake_device *p = fake->devices; p && !dev; p = p->next) {
		if (p->group != vg->group || !is_vfio_device(p))
			continue;
		if (p->kind == FAKE_DEV_PCI) {
			ret = pci_match(p, name);
			if (ret < 0) {
				free(name);
				return ret;
			}
			if (ret)
				dev = p;
		} else if (!strcmp(p->name, name)) {
			dev = p;
		}
	}
	free(name);
	if (!dev)
		return -ENODEV;
	/* vfio_device_assign_container() / vfio_df_group_open(): a container
	 * with an IOMMU, or an iommufd */
	if (vg->container ? !vg->container->iommu : !vg->ictx)
		return -EINVAL;
	return fake_vfio_group_device_open(vg, dev, vg->ictx);
}

static long group_ioctl(struct fake_file *file, unsigned long cmd, void *arg)
{
	struct fake_vgroup *vg = file->private_data;

	switch (cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(vg, arg);
	case VFIO_GROUP_GET_STATUS:
		return group_get_status(vg, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(vg, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset_container(vg);
	default:
		return -ENOTTY;
	}
}

/* Device files hold the group's file, so no device is open here. */
static void group_release(struct fake_file *file)
{
	struct fake_vgroup *vg = file->private_data;

	if (vg->container)
		container_detach(vg);
	if (vg->ictx) {
		fake_file_put(vg->ictx->file);
		vg->ictx = NULL;
	}
	vg->file = NULL;
	/* A group whose last VFIO device went meanwhile goes now. */
	(void)fake_vgroups_sync(vg->fake);
}

static const struct fake_file_ops group_fops = {
	.name = "vfio-group",
	.ioctl = group_ioctl,
	.release = group_release,
	.st_mode = S_IFCHR | 0600,
	.st_rdev = 0,	/* per group: FAKE_VFIO_GROUP_MAJOR:minor */
};

static int group_open(struct fake_vgroup *vg, int flags)
{
	struct fake_file *file;
	int fd;

	if (vg->file)
		return -EBUSY;	/* one open file per group */
	fd = fake_file_create(vg->fake, &group_fops, vg, flags & O_CLOEXEC,
			      &file);
	if (fd < 0)
		return fd;
	file->st_rdev = makedev(FAKE_VFIO_GROUP_MAJOR, vg->minor);
	vg->file = file;
	return fd;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */

/* The group of "/dev/vfio/N", N in decimal without leading zeros. */
static struct fake_vgroup *group_lookup(struct iommufd_fake *fake,
					const char *path)
{
	const char *p = path + strlen(FAKE_VFIO_GROUP_PREFIX);
	long n = 0;

	if (strncmp(path, FAKE_VFIO_GROUP_PREFIX, strlen(FAKE_VFIO_GROUP_PREFIX)))
		return NULL;
	if (*p < '0' || *p > '9' || (*p == '0' && p[1]))
		return NULL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || n > INT32_MAX / 10)
			return NULL;
		n = n * 10 + (*p - '0');
	}
	return n <= INT32_MAX ? fake_vgroup_find(fake, (int32_t)n) : NULL;
}

int fake_vfio_legacy_open(struct iommufd_fake *fake, const char *path,
			  int flags)
{
	struct fake_vgroup *vg;

	if (!strcmp(path, FAKE_VFIO_CONTAINER_PATH)) {
		if (fake->vfio_container_mode == IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD &&
		    fake->kver >= FAKE_KVER_IOMMUFD)
			return fake_iommufd_open_vfio_compat(fake, flags);
		return container_open(fake, flags);
	}
	vg = group_lookup(fake, path);
	if (!vg)
		return -ENOENT;
	return group_open(vg, flags);
}

int fake_vfio_legacy_stat(struct iommufd_fake *fake, const char *path,
			  mode_t *mode, dev_t *rdev)
{
	struct fake_vgroup *vg;

	if (!strcmp(path, FAKE_VFIO_CONTAINER_PATH)) {
		*mode = container_fops.st_mode;
		*rdev = container_fops.st_rdev;
		return 0;
	}
	vg = group_lookup(fake, path);
	if (!vg)
		return -ENOENT;
	*mode = group_fops.st_mode;
	*rdev = makedev(FAKE_VFIO_GROUP_MAJOR, vg->minor);
	return 0;
}

int fake_vfio_legacy_file_rank(const struct fake_file *file)
{
	if (file->ops == &group_fops)
		return 1;
	if (file->ops == &container_fops)
		return 2;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hot reset through a group (vfio_pci_core.c)                          */

/* The PCI functions a bus reset of @dev resets, as pci.c walks them. */
static size_t reset_peers(struct fake_device *dev, struct fake_device **out,
			  size_t max)
{
	size_t n = 0;

	for (struct fake_device *p = dev->fake->devices; p; p = p->next) {
		if (p->kind != FAKE_DEV_PCI || p->reset_group != dev->reset_group)
			continue;
		if (n < max)
			out[n] = p;
		n++;
	}
	return n;
}

int fake_vgroup_hot_reset_info(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_dependent_device *devices = NULL;
	struct fake_device *dev = df->dev, **peers = NULL;
	struct vfio_pci_hot_reset_info hdr;
	size_t count;
	int ret = 0;

	if (fake_copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	hdr.flags = 0;
	if (!dev->reset_group)
		return -ENODEV;	/* neither a slot nor a bus reset */
	count = reset_peers(dev, NULL, 0);
	if (hdr.argsz < sizeof(hdr) + count * sizeof(*devices)) {
		hdr.count = (uint32_t)count;
		ret = -ENOSPC;
		goto out;
	}
	peers = calloc(count, sizeof(*peers));
	devices = calloc(count, sizeof(*devices));
	if (!peers || !devices) {
		free(peers);
		free(devices);
		return -ENOMEM;
	}
	reset_peers(dev, peers, count);
	/* vfio_pci_fill_devs(): group ids; a device without a group cannot
	 * be reset by a user */
	for (size_t i = 0; i < count; i++) {
		if (peers[i]->group < 0) {
			ret = -EPERM;
			goto out;
		}
		devices[i].group_id = (uint32_t)peers[i]->group;
		devices[i].segment = (uint16_t)peers[i]->domain;
		devices[i].bus = peers[i]->bus;
		devices[i].devfn = peers[i]->devfn;
	}
	hdr.count = (uint32_t)count;
out:
	if (fake_copy_to_user(arg, &hdr, minsz))
		ret = -EFAULT;
	if (!ret && fake_copy_to_user((char *)arg + sizeof(hdr), devices,
				      count * sizeof(*devices)))
		ret = -EFAULT;
	free(peers);
	free(devices);
	return ret;
}

int fake_vgroup_hot_reset(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct fake_device *dev = df->dev, **peers = NULL;
	struct iommufd_fake *fake = dev->fake;
	struct fake_vgroup **groups = NULL;
	struct vfio_pci_hot_reset hdr;
	int32_t *fds = NULL;
	size_t count;
	int ret = 0;

	if (fake_copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags)
		return -EINVAL;
	if (!dev->reset_group)
		return -ENODEV;
	count = reset_peers(dev, NULL, 0);
	/* Somewhere between 1 and the number of devices: group fds */
	if (!hdr.count || hdr.count > count)
		return -EINVAL;
	fds = calloc(hdr.count, sizeof(*fds));
	groups = calloc(hdr.count, sizeof(*groups));
	peers = calloc(count, sizeof(*peers));
	if (!fds || !groups || !peers) {
		ret = -ENOMEM;
		goto out;
	}
	if (fake_copy_from_user(fds, (char *)arg + minsz,
				hdr.count * sizeof(*fds))) {
		ret = -EFAULT;
		goto out;
	}
	for (uint32_t i = 0; i < hdr.count; i++) {
		struct fake_file *file = fake_fd_lookup(fake, fds[i], &ret);

		if (ret == -EBADF)
			goto out;
		ret = 0;
		if (!file || file->ops != &group_fops) {
			ret = -EINVAL;	/* not a VFIO group */
			goto out;
		}
		groups[i] = file->private_data;
	}
	reset_peers(dev, peers, count);
	/* vfio_pci_dev_set_hot_reset(): every function of the bus is a
	 * vfio-pci device, each in one of the groups given */
	for (size_t i = 0; i < count && !ret; i++) {
		bool found = false;

		if (peers[i]->vfio_index < 0) {
			ret = -EINVAL;
			break;
		}
		for (uint32_t j = 0; j < hdr.count && !found; j++)
			found = groups[j]->group == peers[i]->group;
		if (!found)
			ret = -EINVAL;
	}
	/* The reset: each device model back to power-on (as pci.c's). */
	for (size_t i = 0; i < count && !ret; i++) {
		if (peers[i]->model && peers[i]->model->reset)
			peers[i]->model->reset(peers[i]);
		peers[i]->intx_level = false;
	}
out:
	free(fds);
	free(groups);
	free(peers);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Live update (persist.c)                                             */

bool fake_file_is_vgroup(const struct fake_file *file)
{
	return file->ops == &group_fops;
}

bool fake_file_is_container(const struct fake_file *file)
{
	return file->ops == &container_fops;
}

struct fake_type1 *fake_container_type1(const struct fake_file *file)
{
	return ((struct fake_container *)file->private_data)->iommu;
}

int fake_container_restore(struct fake_file *file, struct fake_type1 *iommu)
{
	struct fake_container *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fake = file->fake;
	c->file = file;
	c->iommu = iommu;
	file->ops = &container_fops;
	file->private_data = c;
	return 0;
}

void fake_vgroup_restore(struct fake_vgroup *vg, struct fake_file *file,
			 struct fake_file *container, struct fake_ictx *ictx,
			 unsigned int container_users)
{
	vg->file = file;
	file->ops = &group_fops;
	file->private_data = vg;
	vg->ictx = ictx;
	if (container) {
		struct fake_container *c = container->private_data;
		struct fake_vgroup **p = &c->groups;

		/* in the order the state lists them */
		while (*p)
			p = &(*p)->container_next;
		*p = vg;
		vg->container = c;
		vg->container_users = container_users;
	}
}

void fake_container_set_fake(struct fake_file *file, struct iommufd_fake *fake)
{
	struct fake_container *c = file->private_data;

	c->fake = fake;
	if (c->iommu)
		fake_type1_set_fake(c->iommu, fake);
}
