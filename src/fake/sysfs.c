/* SPDX-License-Identifier: MIT */
/*
 * The machine's sysfs: a real directory tree in a private temporary directory
 * (mkdtemp() in $TMPDIR, else /tmp), laid out as the kernel lays out /sys, so
 * that code reading sysfs with plain file calls works on the fake kernel with
 * a different root (iommufd_fake_sysfs_root()). What is modelled:
 *
 *   bus/pci/devices/<bdf>            -> ../../../devices/pci<dddd>:<bb>/<bdf>
 *   devices/pci<dddd>:<bb>/<bdf>/    vendor device subsystem_vendor
 *                                    subsystem_device class revision
 *                                    driver -> bus/pci/drivers/<driver>
 *                                    iommu_group -> kernel/iommu_groups/<n>
 *                                    iommu -> devices/virtual/iommu/<unit>
 *                                    vfio-dev/vfio<N>/dev ("511:N")
 *   bus/pci/drivers/<driver>/<bdf>   -> the device
 *   kernel/iommu_groups/<n>/         devices/<bdf> -> the device, type,
 *                                    reserved_regions
 *   class/iommu/<unit>               -> ../../devices/virtual/iommu/<unit>
 *   devices/virtual/iommu/<unit>/    devices/<bdf> -> the device,
 *                                    intel-iommu/{cap,ecap} (VT-d)
 *   class/vfio-dev/vfio<N>           -> the device's vfio-dev/vfio<N>
 *   class/misc/iommu/dev             "10:123" (/dev/iommu; from 6.2)
 *   class/misc/vfio/dev              "10:196" (/dev/vfio/vfio)
 *   class/vfio/<N>                   -> devices/virtual/vfio/<N>, whose dev
 *                                    is the major:minor of /dev/vfio/N
 *   bus/mdev/devices/<uuid>          -> devices/virtual/mtty/mtty/<uuid>
 *
 * Links are relative, as the kernel's are. The tree belongs to the process
 * that made it: a forked child never removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

#define PATH_LEN 512

static const char *const resv_names[] = {
	[IOMMUFD_RESV_DIRECT] = "direct",
	[IOMMUFD_RESV_DIRECT_RELAXABLE] = "direct-relaxable",
	[IOMMUFD_RESV_RESERVED] = "reserved",
	[IOMMUFD_RESV_MSI] = "msi",
};

__attribute__((format(printf, 3, 4)))
static int relpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int abspath(struct iommufd_fake *fake, char *buf, size_t len,
		   const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", fake->sysfs_root, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p of a path relative to the root. */
static int mkdirs(struct iommufd_fake *fake, const char *rel)
{
	char path[PATH_LEN];
	size_t base;
	int ret = abspath(fake, path, sizeof(path), rel);

	if (ret)
		return ret;
	base = strlen(fake->sysfs_root) + 1;
	for (char *p = path + base;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

__attribute__((format(printf, 4, 5)))
static int write_file(struct iommufd_fake *fake, const char *rel,
		      const char *name, const char *fmt, ...)
{
	char path[PATH_LEN], text[4096];
	va_list ap;
	ssize_t n;
	int fd, len, ret;

	ret = relpath(path, sizeof(path), "%s/%s/%s", fake->sysfs_root, rel,
		      name);
	if (ret)
		return ret;
	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(text))
		return -EOVERFLOW;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, text, (size_t)len);
	ret = n == len ? 0 : (n < 0 ? -errno : -EIO);
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/* Split @path into its '/'-separated components (in place). */
static size_t split(char *path, char **comps, size_t max)
{
	char *save = NULL;
	size_t n = 0;

	for (char *tok = strtok_r(path, "/", &save); tok && n < max;
	     tok = strtok_r(NULL, "/", &save))
		comps[n++] = tok;
	return n;
}

/* A link at @rel (relative to the root) to @target (also relative to the
 * root), written as the kernel writes its links: relative to the link's
 * directory, through their nearest common ancestor. */
static int make_link(struct iommufd_fake *fake, const char *rel,
		     const char *target)
{
	char path[PATH_LEN], link[PATH_LEN] = "", r[PATH_LEN], t[PATH_LEN];
	char *rc[32], *tc[32];
	size_t nr, nt, k = 0, pos = 0;
	int ret;

	ret = relpath(r, sizeof(r), "%s", rel);
	if (!ret)
		ret = relpath(t, sizeof(t), "%s", target);
	if (ret)
		return ret;
	nr = split(r, rc, ARRAY_SIZE(rc));
	nt = split(t, tc, ARRAY_SIZE(tc));
	if (!nr || !nt)
		return -EINVAL;
	nr--;	/* the link's own name */
	while (k < nr && k < nt && !strcmp(rc[k], tc[k]))
		k++;
	for (size_t i = k; i < nr; i++) {
		ret = relpath(link + pos, sizeof(link) - pos, "../");
		if (ret)
			return ret;
		pos += 3;
	}
	for (size_t i = k; i < nt; i++) {
		ret = relpath(link + pos, sizeof(link) - pos, "%s%s", tc[i],
			      i + 1 < nt ? "/" : "");
		if (ret)
			return ret;
		pos += strlen(link + pos);
	}
	ret = abspath(fake, path, sizeof(path), rel);
	if (ret)
		return ret;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	if (symlink(link, path))
		return -errno;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf_abs(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

__attribute__((format(printf, 2, 3)))
static void rm_rf(struct iommufd_fake *fake, const char *fmt, ...)
{
	char rel[PATH_LEN], path[PATH_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    abspath(fake, path, sizeof(path), rel))
		return;
	rm_rf_abs(path);
}

/* ------------------------------------------------------------------ */
/* The skeleton                                                        */

/* The iommufd misc device: there from 6.2. */
static int update_iommu_misc(struct iommufd_fake *fake)
{
	int ret;

	if (fake->kver < FAKE_KVER_IOMMUFD) {
		rm_rf(fake, "class/misc/iommu");
		rm_rf(fake, "devices/virtual/misc/iommu");
		return 0;
	}
	ret = mkdirs(fake, "devices/virtual/misc/iommu");
	if (!ret)
		ret = write_file(fake, "devices/virtual/misc/iommu", "dev",
				 "%u:%u\n", FAKE_MISC_MAJOR, FAKE_IOMMU_MINOR);
	if (!ret)
		ret = make_link(fake, "class/misc/iommu",
				"devices/virtual/misc/iommu");
	return ret;
}

static int make_skeleton(struct iommufd_fake *fake)
{
	static const char *const dirs[] = {
		"bus/pci/devices", "bus/pci/drivers", "bus/mdev/devices",
		"bus/mdev/drivers", "kernel/iommu_groups", "class/iommu",
		"class/vfio-dev", "class/misc", "class/vfio",
		"devices/virtual/iommu", "devices/virtual/vfio",
		"devices/virtual/misc/vfio",
	};
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !ret; i++)
		ret = mkdirs(fake, dirs[i]);
	if (!ret)
		ret = update_iommu_misc(fake);
	if (!ret)
		ret = write_file(fake, "devices/virtual/misc/vfio", "dev",
				 "%u:%u\n", FAKE_MISC_MAJOR, FAKE_VFIO_MINOR);
	if (!ret)
		ret = make_link(fake, "class/misc/vfio",
				"devices/virtual/misc/vfio");
	return ret;
}

int fake_sysfs_update_version(struct iommufd_fake *fake)
{
	if (!fake->sysfs_root)
		return 0;
	return update_iommu_misc(fake);
}

int fake_sysfs_vfio_group(struct iommufd_fake *fake,
			  const struct fake_vgroup *vg, bool add)
{
	char dir[PATH_LEN], link[PATH_LEN];
	int ret;

	if (!fake->sysfs_root)
		return 0;
	ret = relpath(dir, sizeof(dir), "devices/virtual/vfio/%d", vg->group);
	if (!ret)
		ret = relpath(link, sizeof(link), "class/vfio/%d", vg->group);
	if (ret)
		return ret;
	if (add) {
		ret = mkdirs(fake, dir);
		if (!ret)
			ret = write_file(fake, dir, "dev", "%u:%u\n",
					 FAKE_VFIO_GROUP_MAJOR, vg->minor);
		if (!ret)
			ret = make_link(fake, link, dir);
		if (!ret)
			return 0;
	}
	rm_rf(fake, "%s", link);
	rm_rf(fake, "%s", dir);
	return ret;
}

int fake_sysfs_ensure(struct iommufd_fake *fake)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_LEN];
	int n;

	if (fake->sysfs_root || fake->sysfs_failed)
		return 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt == 1 || !tmp || !*tmp)
			tmp = "/tmp";
		n = snprintf(dir, sizeof(dir), "%s/iommufd-fake-XXXXXX", tmp);
		if (n < 0 || (size_t)n >= sizeof(dir) - 8)
			continue;
		if (mkdtemp(dir))
			break;
		dir[0] = '\0';
	}
	if (!dir[0])
		goto fail;
	fake->sysfs_dir = strdup(dir);
	fake->sysfs_root = malloc(strlen(dir) + sizeof("/sys"));
	if (!fake->sysfs_dir || !fake->sysfs_root) {
		rmdir(dir);
		goto fail;
	}
	strcpy(fake->sysfs_root, dir);
	strcat(fake->sysfs_root, "/sys");
	fake->sysfs_pid = getpid();
	if (mkdir(fake->sysfs_root, 0755) || make_skeleton(fake)) {
		rm_rf_abs(dir);
		goto fail;
	}
	return 0;
fail:
	/* No tree: the model works on, and iommufd_fake_sysfs_root() says
	 * NULL. */
	free(fake->sysfs_dir);
	free(fake->sysfs_root);
	fake->sysfs_dir = NULL;
	fake->sysfs_root = NULL;
	fake->sysfs_failed = true;
	return 0;
}

void fake_sysfs_destroy(struct iommufd_fake *fake)
{
	if (fake->sysfs_dir && fake->sysfs_pid == getpid())
		rm_rf_abs(fake->sysfs_dir);
	free(fake->sysfs_dir);
	free(fake->sysfs_root);
	fake->sysfs_dir = NULL;
	fake->sysfs_root = NULL;
}

/* ------------------------------------------------------------------ */
/* Units, groups, devices                                              */

int fake_sysfs_add_unit(struct iommufd_fake *fake, struct fake_unit *unit)
{
	char dir[PATH_LEN], link[PATH_LEN];
	int ret;

	fake_sysfs_ensure(fake);
	if (!fake->sysfs_root)
		return 0;
	ret = relpath(dir, sizeof(dir), "devices/virtual/iommu/%s", unit->name);
	if (!ret)
		ret = relpath(link, sizeof(link), "class/iommu/%s", unit->name);
	if (ret)
		return ret;
	ret = mkdirs(fake, dir);
	if (!ret) {
		char sub[PATH_LEN];

		ret = relpath(sub, sizeof(sub), "%s/devices", dir);
		if (!ret)
			ret = mkdirs(fake, sub);
	}
	if (!ret && unit->hw_info_type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
		char sub[PATH_LEN];

		ret = relpath(sub, sizeof(sub), "%s/intel-iommu", dir);
		if (!ret)
			ret = mkdirs(fake, sub);
		if (!ret)
			ret = write_file(fake, sub, "cap", "%llx\n",
					 (unsigned long long)unit->cap_reg);
		if (!ret)
			ret = write_file(fake, sub, "ecap", "%llx\n",
					 (unsigned long long)unit->ecap_reg);
		if (!ret)
			ret = write_file(fake, sub, "version", "1:0\n");
	}
	if (!ret)
		ret = make_link(fake, link, dir);
	if (ret) {
		rm_rf(fake, "%s", link);
		rm_rf(fake, "%s", dir);
	}
	return ret;
}

/* Where a device lives in the tree, and its bus. */
static int device_dir(const struct fake_device *dev, char *buf, size_t len)
{
	if (dev->kind == FAKE_DEV_EMULATED)
		return relpath(buf, len, "devices/virtual/mtty/mtty/%s",
			       dev->name);
	return relpath(buf, len, "devices/pci%04x:%02x/%s", dev->domain,
		       dev->bus, dev->name);
}

static const char *device_bus(const struct fake_device *dev)
{
	return dev->kind == FAKE_DEV_EMULATED ? "mdev" : "pci";
}

static int cmp_resv(const void *a, const void *b)
{
	const struct fake_resv *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* kernel/iommu_groups/<n>: made with its first device, gone with its last. */
static int update_group(struct iommufd_fake *fake, int32_t group)
{
	struct fake_device *dev, *first = NULL;
	char dir[PATH_LEN], text[4096];
	struct fake_resv *resv = NULL;
	size_t nr = 0, pos = 0;
	int ret;

	if (group < 0)
		return 0;
	for (dev = fake->devices; dev; dev = dev->next)
		if (dev->group == group && !first)
			first = dev;
	if (!first) {
		rm_rf(fake, "kernel/iommu_groups/%d", group);
		return 0;
	}
	ret = relpath(dir, sizeof(dir), "kernel/iommu_groups/%d/devices", group);
	if (!ret)
		ret = mkdirs(fake, dir);
	if (ret)
		return ret;
	dir[strlen(dir) - strlen("/devices")] = '\0';
	ret = write_file(fake, dir, "type", "%s\n",
			 first->unit ? "DMA" : "unknown");
	if (ret)
		return ret;
	if (first->unit && first->unit->nr_resv) {
		nr = first->unit->nr_resv;
		resv = malloc(nr * sizeof(*resv));
		if (!resv)
			return -ENOMEM;
		memcpy(resv, first->unit->resv, nr * sizeof(*resv));
		qsort(resv, nr, sizeof(*resv), cmp_resv);
	}
	text[0] = '\0';
	for (size_t i = 0; i < nr; i++) {
		int n = snprintf(text + pos, sizeof(text) - pos,
				 "0x%016llx 0x%016llx %s\n",
				 (unsigned long long)resv[i].start,
				 (unsigned long long)resv[i].last,
				 resv_names[resv[i].type]);

		if (n < 0 || (size_t)n >= sizeof(text) - pos)
			break;
		pos += (size_t)n;
	}
	free(resv);
	return write_file(fake, dir, "reserved_regions", "%s", text);
}

int fake_sysfs_add_device(struct iommufd_fake *fake, struct fake_device *dev)
{
	char dir[PATH_LEN], link[PATH_LEN], target[PATH_LEN];
	int ret;

	fake_sysfs_ensure(fake);
	if (!fake->sysfs_root)
		return 0;
	ret = device_dir(dev, dir, sizeof(dir));
	if (!ret)
		ret = mkdirs(fake, dir);
	if (ret)
		return ret;
	if (dev->kind == FAKE_DEV_PCI) {
		ret = write_file(fake, dir, "vendor", "0x%04x\n", dev->vendor_id);
		if (!ret)
			ret = write_file(fake, dir, "device", "0x%04x\n",
					 dev->device_id);
		if (!ret)
			ret = write_file(fake, dir, "subsystem_vendor", "0x%04x\n",
					 dev->subsystem_vendor_id);
		if (!ret)
			ret = write_file(fake, dir, "subsystem_device", "0x%04x\n",
					 dev->subsystem_device_id);
		if (!ret)
			ret = write_file(fake, dir, "class", "0x%06x\n",
					 dev->class_code);
		if (!ret)
			ret = write_file(fake, dir, "revision", "0x%02x\n",
					 dev->revision);
		if (ret)
			return ret;
	}
	ret = relpath(link, sizeof(link), "bus/%s/devices/%s", device_bus(dev),
		      dev->name);
	if (!ret)
		ret = make_link(fake, link, dir);
	if (ret)
		return ret;
	if (dev->unit) {
		ret = relpath(target, sizeof(target), "devices/virtual/iommu/%s",
			      dev->unit->name);
		if (!ret)
			ret = relpath(link, sizeof(link), "%s/iommu", dir);
		if (!ret)
			ret = make_link(fake, link, target);
		if (!ret)
			ret = relpath(link, sizeof(link), "%s/devices/%s",
				      target, dev->name);
		if (!ret)
			ret = make_link(fake, link, dir);
		if (ret)
			return ret;
	}
	if (dev->group >= 0) {
		ret = update_group(fake, dev->group);
		if (!ret)
			ret = relpath(link, sizeof(link),
				      "kernel/iommu_groups/%d/devices/%s",
				      dev->group, dev->name);
		if (!ret)
			ret = make_link(fake, link, dir);
		if (!ret)
			ret = relpath(target, sizeof(target),
				      "kernel/iommu_groups/%d", dev->group);
		if (!ret)
			ret = relpath(link, sizeof(link), "%s/iommu_group", dir);
		if (!ret)
			ret = make_link(fake, link, target);
		if (ret)
			return ret;
	}
	return fake_sysfs_update_driver(fake, dev, "", -1);
}

void fake_sysfs_remove_device(struct iommufd_fake *fake,
			      struct fake_device *dev)
{
	char dir[PATH_LEN];

	if (!fake->sysfs_root || device_dir(dev, dir, sizeof(dir)))
		return;
	rm_rf(fake, "bus/%s/devices/%s", device_bus(dev), dev->name);
	if (dev->driver[0])
		rm_rf(fake, "bus/%s/drivers/%s/%s", device_bus(dev),
		      dev->driver, dev->name);
	if (dev->vfio_index >= 0)
		rm_rf(fake, "class/vfio-dev/vfio%d", dev->vfio_index);
	if (dev->unit)
		rm_rf(fake, "devices/virtual/iommu/%s/devices/%s",
		      dev->unit->name, dev->name);
	if (dev->group >= 0)
		rm_rf(fake, "kernel/iommu_groups/%d/devices/%s", dev->group,
		      dev->name);
	rm_rf(fake, "%s", dir);
	if (dev->group >= 0) {
		/* update_group() looks at the machine's devices: this one is
		 * still listed, so count it out by hand. */
		int32_t group = dev->group;

		dev->group = -1;
		(void)update_group(fake, group);
		dev->group = group;
	}
}

int fake_sysfs_update_driver(struct iommufd_fake *fake,
			     struct fake_device *dev, const char *old_driver,
			     int old_vfio_index)
{
	char dir[PATH_LEN], link[PATH_LEN], target[PATH_LEN];
	const char *bus = device_bus(dev);
	int ret;

	if (!fake->sysfs_root)
		return 0;
	ret = device_dir(dev, dir, sizeof(dir));
	if (ret)
		return ret;
	/* Out with the old... */
	rm_rf(fake, "%s/driver", dir);
	rm_rf(fake, "%s/vfio-dev", dir);
	if (old_driver && old_driver[0])
		rm_rf(fake, "bus/%s/drivers/%s/%s", bus, old_driver, dev->name);
	if (old_vfio_index >= 0)
		rm_rf(fake, "class/vfio-dev/vfio%d", old_vfio_index);
	/* ...in with the new. */
	if (dev->driver[0]) {
		ret = relpath(target, sizeof(target), "bus/%s/drivers/%s", bus,
			      dev->driver);
		if (!ret)
			ret = mkdirs(fake, target);
		if (!ret)
			ret = relpath(link, sizeof(link), "%s/%s", target,
				      dev->name);
		if (!ret)
			ret = make_link(fake, link, dir);
		if (!ret)
			ret = relpath(link, sizeof(link), "%s/driver", dir);
		if (!ret)
			ret = make_link(fake, link, target);
		if (ret)
			return ret;
	}
	if (fake_device_has_cdev(dev)) {
		ret = relpath(target, sizeof(target), "%s/vfio-dev/vfio%d", dir,
			      dev->vfio_index);
		if (!ret)
			ret = mkdirs(fake, target);
		if (!ret)
			ret = write_file(fake, target, "dev", "%d:%d\n",
					 FAKE_VFIO_DEV_MAJOR, dev->vfio_index);
		if (!ret)
			ret = relpath(link, sizeof(link), "class/vfio-dev/vfio%d",
				      dev->vfio_index);
		if (!ret)
			ret = make_link(fake, link, target);
	}
	return ret;
}
