// SPDX-License-Identifier: MIT
/*
 * Discovery of VFIO devices, IOMMU groups and IOMMU units, from sysfs, and a
 * monitor of VFIO bind/unbind uevents.
 *
 * Two ways to enumerate, one way to read. On the machine's /sys, the devices
 * of a bus or class come from libudev's enumerator; on any other tree laid
 * out as /sys (a fake kernel's), from readdir(3) of its bus/pci/devices,
 * bus/mdev/devices and class/iommu. Either way, a device is then a directory
 * path, and its attributes, links and subdirectories are read with plain
 * open(2), readlink(2) and readdir(3) relative to it, as are the groups in
 * <root>/kernel/iommu_groups (libudev has no enumerator for those). A test
 * bed that redirects /sys (umockdev) redirects libudev and those plain calls
 * alike.
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

#include <libudev.h>

#include <iommufd/discovery.h>
#include "internal.h"
#include "sysfs-parse.h"

#define SYS_ROOT "/sys"
#define VFIO_CDEV_DIR "/dev/vfio/devices/"
/* The largest reserved_regions file read: a few thousand regions. */
#define RESV_FILE_MAX (256 * 1024)
/* The largest other attribute: sysfs gives at most a page. */
#define ATTR_MAX 4096

/* ---------------------------------------------------------------------------
 * PCI addresses. The text parsers are in sysfs-parse.c: every build has
 * them, and fuzz/fuzz-sysfs.c drives them alone.
 */

IOMMUFD_EXPORT int iommufd_pci_addr_normalize(const char *pci_addr, char *out,
					      size_t len)
{
	char buf[IOMMUFD_PCI_ADDR_SIZE];
	int ret;

	if (!out)
		return -EINVAL;
	ret = sysfs_pci_addr_parse(pci_addr, buf);
	if (ret)
		return ret;
	if (strlen(buf) >= len)
		return -ERANGE;
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

/* Canonical addresses order by domain width, then as strings. */
static int pci_addr_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* ---------------------------------------------------------------------------
 * Helpers over sysfs.
 */

/* Copy @src into @dst[size]: -ENAMETOOLONG (and "") when it does not fit. */
static int copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static void set_error(int *error, int err)
{
	if (!*error)
		*error = err;
}

static int join_path(char *buf, size_t size, const char *a, const char *b)
{
	if ((size_t)snprintf(buf, size, "%s/%s", a, b) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* The last path component of the target of the link @dir/@name. -ENOENT when
 * there is no such link, -EBADMSG when it is not a link or its target has no
 * name. */
static int read_link_base(const char *dir, const char *name, char *buf,
			  size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int ret;

	ret = join_path(path, sizeof(path), dir, name);
	if (ret)
		return ret;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == EINVAL ? -EBADMSG : -errno;	/* not a link */
	target[n] = '\0';
	return sysfs_link_base(target, buf, size);
}

/* A growing list of strings. */
struct strv {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv *s, const char *str)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strdup(str);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static void strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort @s and move it into one block: a NULL-terminated pointer array
 * followed by the strings; NULL when empty. @s is cleared. */
static int strv_pack(struct strv *s, int (*cmp)(const void *, const void *),
		     char ***out)
{
	size_t total, off;
	char **block;

	*out = NULL;
	if (!s->n) {
		strv_clear(s);
		return 0;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp);
	total = (s->n + 1) * sizeof(char *);
	for (size_t i = 0; i < s->n; i++)
		total += strlen(s->v[i]) + 1;
	block = malloc(total);
	if (!block) {
		strv_clear(s);
		return -ENOMEM;
	}
	off = (s->n + 1) * sizeof(char *);
	for (size_t i = 0; i < s->n; i++) {
		size_t l = strlen(s->v[i]) + 1;

		block[i] = (char *)block + off;
		memcpy(block[i], s->v[i], l);
		off += l;
	}
	block[s->n] = NULL;
	strv_clear(s);
	*out = block;
	return 0;
}

/* The entries of a directory ("." and ".." left out), unsorted. */
static int list_dir(const char *path, struct strv *s)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = opendir(path);	/* glibc opens it O_CLOEXEC */
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = strv_push(s, de->d_name);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

/* Read a whole sysfs file of at most @max bytes. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *nb;
	ssize_t r;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				ret = -EFBIG;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!ret && n > max)
		ret = -EFBIG;
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * The attribute @name of the sysfs object at @dir, as text without its
 * trailing newline, into @buf: -ENOENT no such attribute, -EBADMSG it holds a
 * NUL or is longer than a sysfs attribute can be, -ENAMETOOLONG it does not
 * fit @buf; other errors of open(2) and read(2) as they come.
 */
static int read_attr(const char *dir, const char *name, char *buf,
		     size_t size)
{
	char path[PATH_MAX];
	char *text;
	size_t len;
	int ret;

	ret = join_path(path, sizeof(path), dir, name);
	if (!ret)
		ret = read_file(path, ATTR_MAX, &text, &len);
	if (ret)
		return ret == -EFBIG ? -EBADMSG : ret;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (memchr(text, '\0', len)) {
		ret = -EBADMSG;
	} else if (len >= size) {
		ret = -ENAMETOOLONG;
	} else {
		memcpy(buf, text, len);
		buf[len] = '\0';
	}
	free(text);
	if (ret && size)
		buf[0] = '\0';
	return ret;
}

/* A word of visible ASCII, whatever the locale. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

/*
 * The sysfs tree discovery reads. On the machine's own /sys, enumerations go
 * through libudev (which knows no other root, and which a test bed such as
 * umockdev redirects); elsewhere they walk the tree's bus and class
 * directories. Everything else is read by path, the same way for both: a
 * test bed that redirects /sys redirects plain file calls too.
 */
struct sysfs {
	const char *root;	/* "/sys", or the tree given */
	struct udev *udev;	/* set on /sys only */
};

/* "/sys", with or without trailing slashes. */
static bool is_sys_root(const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return n == 4 && !memcmp(root, SYS_ROOT, 4);
}

static int sysfs_init(struct sysfs *fs, const struct iommufd_discover_opts *opts)
{
	const char *root = OPTS_GET(opts, sysfs_root, NULL);
	struct stat st;

	memset(fs, 0, sizeof(*fs));
	if (!root || is_sys_root(root)) {
		fs->root = SYS_ROOT;
		fs->udev = udev_new();
		return fs->udev ? 0 : -ENOMEM;
	}
	if (!*root)
		return -EINVAL;
	/* Room for the longest path below it. */
	if (strlen(root) > PATH_MAX / 2)
		return -ENAMETOOLONG;
	if (stat(root, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	fs->root = root;
	return 0;
}

static void sysfs_fini(struct sysfs *fs)
{
	udev_unref(fs->udev);
	fs->udev = NULL;
}

/* A path below the root: "<root>/<rel>". */
static int sysfs_path(const struct sysfs *fs, char *buf, size_t size,
		      const char *rel)
{
	return join_path(buf, size, fs->root, rel);
}

/*
 * The syspaths of the devices of a bus or class: libudev's @subsystem on
 * /sys, the entries of <root>/@dir elsewhere (none when there is no such
 * directory). Unsorted.
 */
static int sysfs_list(const struct sysfs *fs, const char *subsystem,
		      const char *dir, struct strv *out)
{
	struct udev_list_entry *le;
	struct udev_enumerate *en;
	char path[PATH_MAX], sub[PATH_MAX];
	struct strv names = { 0 };
	int ret;

	if (!fs->udev) {
		ret = sysfs_path(fs, path, sizeof(path), dir);
		if (!ret)
			ret = list_dir(path, &names);
		if (ret) {
			strv_clear(&names);
			return ret == -ENOENT ? 0 : ret;
		}
		for (size_t i = 0; i < names.n && !ret; i++) {
			ret = join_path(sub, sizeof(sub), path, names.v[i]);
			if (!ret)
				ret = strv_push(out, sub);
			else if (ret == -ENAMETOOLONG)
				ret = 0;	/* no such device here */
		}
		strv_clear(&names);
		return ret;
	}
	en = udev_enumerate_new(fs->udev);
	if (!en)
		return -ENOMEM;
	ret = udev_enumerate_add_match_subsystem(en, subsystem);
	if (!ret)
		ret = udev_enumerate_scan_devices(en);
	if (ret > 0)
		ret = 0;
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
		if (ret)
			break;
		ret = strv_push(out, udev_list_entry_get_name(le));
	}
	udev_enumerate_unref(en);
	return ret;
}

/* ---------------------------------------------------------------------------
 * IOMMU units.
 */

IOMMUFD_EXPORT void iommufd_iommu_unit_info_free(struct iommufd_iommu_unit_info *units,
						 size_t nr)
{
	if (!units)
		return;
	for (size_t i = 0; i < nr; i++)
		free(units[i].devices);
	free(units);
}

static int cmp_unit(const void *a, const void *b)
{
	const struct iommufd_iommu_unit_info *x = a, *y = b;

	return strverscmp(x->name, y->name);
}

static int scan_units(const struct sysfs *fs,
		      struct iommufd_iommu_unit_info **out, size_t *nr)
{
	struct iommufd_iommu_unit_info *units = NULL, *u;
	struct strv paths = { 0 };
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr = 0;
	ret = sysfs_list(fs, "iommu", "class/iommu", &paths);
	if (ret)
		goto out;
	if (!paths.n)
		goto out;
	units = calloc(paths.n, sizeof(*units));
	if (!units) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < paths.n; i++) {
		struct strv s = { 0 };
		char path[PATH_MAX];
		int err;

		u = &units[n++];
		if (copy_str(u->name, sizeof(u->name),
			     sysfs_path_base(paths.v[i])))
			set_error(&u->error, -EBADMSG);
		err = join_path(path, sizeof(path), paths.v[i], "devices");
		if (!err)
			err = list_dir(path, &s);
		if (err == -ENOMEM) {
			strv_clear(&s);
			ret = -ENOMEM;
			goto out;
		}
		/* A unit without a devices directory has no devices. */
		if (err && err != -ENOENT)
			set_error(&u->error, err);
		ret = strv_pack(&s, cmp_strp, &u->devices);
		if (ret)
			goto out;
		while (u->devices && u->devices[u->nr_devices])
			u->nr_devices++;
	}
	qsort(units, n, sizeof(*units), cmp_unit);
	*out = units;
	*nr = n;
	units = NULL;
	n = 0;
	ret = 0;
out:
	iommufd_iommu_unit_info_free(units, n);
	strv_clear(&paths);
	return ret;
}

static int check_discover_opts(const struct iommufd_discover_opts *opts)
{
	if (opts && opts_check(opts, opts->sz, sizeof(*opts)))
		return opts->sz < sizeof(size_t) ? -EINVAL : -E2BIG;
	if (OPTS_GET(opts, flags, 0) &
	    ~(uint32_t)(IOMMUFD_DISCOVER_ALL_PCI | IOMMUFD_DISCOVER_MDEV))
		return -EINVAL;
	return 0;
}

/* Check @opts and open the tree it names. */
static int discover_begin(const struct iommufd_discover_opts *opts,
			  struct sysfs *fs)
{
	int ret = check_discover_opts(opts);

	if (ret) {
		memset(fs, 0, sizeof(*fs));
		return ret;
	}
	return sysfs_init(fs, opts);
}

IOMMUFD_EXPORT int iommufd_discover_iommu_units(const struct iommufd_discover_opts *opts,
						struct iommufd_iommu_unit_info **out,
						size_t *nr)
{
	struct sysfs fs;
	int ret;

	if (!out || !nr)
		return -EINVAL;
	*out = NULL;
	*nr = 0;
	ret = discover_begin(opts, &fs);
	if (!ret)
		ret = scan_units(&fs, out, nr);
	sysfs_fini(&fs);
	return ret;
}

/* ---------------------------------------------------------------------------
 * Devices.
 */

static bool driver_is_vfio(const char *driver)
{
	/* vfio-pci and its variant drivers: mlx5_vfio_pci, hisi_acc_vfio_pci,
	 * nvgrace-gpu-vfio-pci, virtio-vfio-pci... */
	return driver && strstr(driver, "vfio");
}

/* An mdev's name: a UUID, as the kernel prints it (lower case). */
static bool is_uuid(const char *s)
{
	return !sysfs_uuid_parse(s, NULL);
}

/* A required ("0x%04x") or optional ID attribute. */
static void read_id(const char *syspath, const char *attr,
		    unsigned int digits, bool required, uint32_t *out,
		    int *error)
{
	char v[32];
	uint64_t x;
	int ret;

	*out = 0;
	ret = read_attr(syspath, attr, v, sizeof(v));
	if (ret == -ENOENT) {
		if (required)
			set_error(error, -EBADMSG);
		return;
	}
	if (ret || sysfs_parse_hex_attr(v, digits, &x)) {
		set_error(error, ret && ret != -ENAMETOOLONG ? ret : -EBADMSG);
		return;
	}
	*out = (uint32_t)x;
}

/* The device node of the sysfs device @dir: DEVNAME of its uevent
 * ("vfio/devices/vfio0", relative to /dev), else /dev/vfio/devices/<name>. */
static void read_cdev_node(const char *dir, const char *name, char *buf,
			   size_t size, int *error)
{
	char uevent[ATTR_MAX + 1], node[PATH_MAX];
	const char *p, *devname = NULL;
	size_t len = 0;

	if (!read_attr(dir, "uevent", uevent, sizeof(uevent))) {
		for (p = uevent; *p; p += len + (p[len] == '\n')) {
			len = strcspn(p, "\n");
			if (len > 8 && !strncmp(p, "DEVNAME=", 8)) {
				devname = p + 8;
				len -= 8;
				break;
			}
		}
	}
	if (devname) {
		if ((size_t)snprintf(node, sizeof(node), "%s%.*s",
				     devname[0] == '/' ? "" : "/dev/",
				     (int)len, devname) >= sizeof(node) ||
		    !printable(node)) {
			set_error(error, -EBADMSG);
			devname = NULL;
		}
	}
	if (!devname)
		snprintf(node, sizeof(node), VFIO_CDEV_DIR "%s", name);
	if (copy_str(buf, size, node))
		set_error(error, -ENAMETOOLONG);
}

/* The VFIO device file under @syspath/vfio-dev/. 0 with has_cdev false when
 * there is none; -ENOMEM only on allocation failure, other problems in
 * *error (and so in info->error). */
static int read_cdev(const char *syspath, struct iommufd_vfio_device_info *info,
		     int *error)
{
	struct strv s = { 0 };
	char dir[PATH_MAX], path[PATH_MAX], dev[32];
	const char *name = NULL;
	int ret;

	ret = join_path(dir, sizeof(dir), syspath, "vfio-dev");
	if (!ret)
		ret = list_dir(dir, &s);
	if (ret) {
		strv_clear(&s);
		if (ret == -ENOMEM)
			return ret;
		if (ret != -ENOENT)
			set_error(error, ret);
		return 0;
	}
	for (size_t i = 0; i < s.n; i++) {
		uint32_t index;

		/* "vfioN", or "noiommu-vfioN" in vfio's no-IOMMU mode. */
		if (sysfs_parse_vfio_dev_name(s.v[i], true, &index))
			continue;
		if (name) {	/* one device, one file */
			set_error(error, -EBADMSG);
			break;
		}
		name = s.v[i];
	}
	if (!name) {
		/* An empty or odd vfio-dev directory. */
		if (s.n)
			set_error(error, -EBADMSG);
		strv_clear(&s);
		return 0;
	}
	info->vfio = true;
	ret = join_path(path, sizeof(path), dir, name);
	if (ret) {
		set_error(error, ret);
		strv_clear(&s);
		return 0;
	}
	ret = read_attr(path, "dev", dev, sizeof(dev));
	if (ret == -ENOENT) {
		/* Linux 6.1 to 6.5 put the VFIO device in sysfs without a
		 * device file: no CONFIG_VFIO_DEVICE_CDEV before 6.6. */
		strv_clear(&s);
		return 0;
	}
	info->has_cdev = true;
	if (ret ||
	    sysfs_parse_devnum(dev, &info->cdev_major, &info->cdev_minor))
		set_error(error, -EBADMSG);
	read_cdev_node(path, name, info->cdev_path, sizeof(info->cdev_path),
		       error);
	strv_clear(&s);
	return 0;
}

static void read_group_link(const char *syspath,
			    struct iommufd_vfio_device_info *info)
{
	char base[64];
	uint64_t id;
	int ret;

	info->iommu_group = -1;
	ret = read_link_base(syspath, "iommu_group", base, sizeof(base));
	if (ret == -ENOENT)
		return;
	if (ret || sysfs_parse_dec_str(base, INT32_MAX, &id)) {
		set_error(&info->error, -EBADMSG);
		return;
	}
	info->iommu_group = (int32_t)id;
}

/* <root>/kernel/iommu_groups/<id>, or its file @name. */
static int group_path(const struct sysfs *fs, uint32_t id, const char *name,
		      char *buf, size_t size)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%u%s%s", id,
		 name ? "/" : "", name ? name : "");
	return sysfs_path(fs, buf, size, rel);
}

static void set_group_path(const struct sysfs *fs,
			   struct iommufd_vfio_device_info *info)
{
	char dir[PATH_MAX], name[64];
	bool noiommu;

	if (!info->vfio || info->iommu_group < 0)
		return;
	/* vfio's no-IOMMU mode names its fake groups so. */
	noiommu = !group_path(fs, (uint32_t)info->iommu_group, NULL, dir,
			      sizeof(dir)) &&
		  !read_attr(dir, "name", name, sizeof(name)) &&
		  !strcmp(name, "vfio-noiommu");
	snprintf(info->group_path, sizeof(info->group_path), "/dev/vfio/%s%d",
		 noiommu ? "noiommu-" : "", info->iommu_group);
}

/* The IOMMU unit of a device: its "iommu" link, else the unit whose devices/
 * directory names it. @units may be NULL: scanned on demand. */
static int read_unit(const struct sysfs *fs, const char *syspath,
		     struct iommufd_vfio_device_info *info,
		     const struct iommufd_iommu_unit_info *units, size_t nr)
{
	struct iommufd_iommu_unit_info *own = NULL;
	int ret;

	ret = read_link_base(syspath, "iommu", info->iommu_unit,
			     sizeof(info->iommu_unit));
	if (!ret)
		return 0;
	if (ret != -ENOENT) {
		set_error(&info->error, ret == -ENAMETOOLONG ? ret : -EBADMSG);
		return 0;
	}
	if (!units) {
		ret = scan_units(fs, &own, &nr);
		if (ret)
			return ret == -ENOMEM ? ret : 0;
		units = own;
	}
	for (size_t i = 0; i < nr && !info->iommu_unit[0]; i++)
		for (size_t j = 0; j < units[i].nr_devices; j++)
			if (!strcmp(units[i].devices[j], info->name)) {
				copy_str(info->iommu_unit,
					 sizeof(info->iommu_unit),
					 units[i].name);
				break;
			}
	iommufd_iommu_unit_info_free(own, nr);
	return 0;
}

enum fill_what {
	FILL_UNIT = 1u << 0,
};

/*
 * Everything about the device at @syspath (its sysfs directory, or a link to
 * it) on @bus. -ENOMEM, or -ENODEV when there is no such directory or its
 * name is not a proper name on @bus; problems with its sysfs entry go to
 * info->error.
 */
static int fill_device(const struct sysfs *fs, const char *syspath,
		       enum iommufd_device_bus bus, unsigned int what,
		       const struct iommufd_iommu_unit_info *units, size_t nr,
		       struct iommufd_vfio_device_info *info, int *cdev_error)
{
	const char *sysname = sysfs_path_base(syspath);
	int cdev_err = 0;
	struct stat st;
	uint32_t v;
	int ret;

	memset(info, 0, sizeof(info[0]));
	info->iommu_group = -1;
	info->bus = bus;
	if (bus == IOMMUFD_BUS_PCI) {
		if (sysfs_pci_addr_parse(sysname, info->pci_addr) ||
		    strcmp(sysname, info->pci_addr))
			return -ENODEV;
	} else if (!is_uuid(sysname)) {
		return -ENODEV;
	}
	copy_str(info->name, sizeof(info->name), sysname);
	if (stat(syspath, &st) || !S_ISDIR(st.st_mode))
		return -ENODEV;

	if (bus == IOMMUFD_BUS_PCI) {
		read_id(syspath, "vendor", 4, true, &v, &info->error);
		info->vendor_id = (uint16_t)v;
		read_id(syspath, "device", 4, true, &v, &info->error);
		info->device_id = (uint16_t)v;
		read_id(syspath, "subsystem_vendor", 4, false, &v, &info->error);
		info->subsystem_vendor_id = (uint16_t)v;
		read_id(syspath, "subsystem_device", 4, false, &v, &info->error);
		info->subsystem_device_id = (uint16_t)v;
		read_id(syspath, "class", 6, false, &info->class_code,
			&info->error);
	}

	ret = read_link_base(syspath, "driver", info->driver,
			     sizeof(info->driver));
	if (!ret)
		info->vfio = bus == IOMMUFD_BUS_MDEV ||
			     driver_is_vfio(info->driver);
	else if (ret != -ENOENT)
		set_error(&info->error, ret == -ENAMETOOLONG ? ret : -EBADMSG);
	ret = read_cdev(syspath, info, &cdev_err);
	if (ret)
		return ret;
	set_error(&info->error, cdev_err);
	if (cdev_error)
		*cdev_error = cdev_err;
	read_group_link(syspath, info);
	set_group_path(fs, info);
	if (what & FILL_UNIT) {
		ret = read_unit(fs, syspath, info, units, nr);
		if (ret)
			return ret;
	}
	return 0;
}

IOMMUFD_EXPORT void iommufd_vfio_device_info_free(struct iommufd_vfio_device_info *devs,
						  size_t nr)
{
	free(devs);
}

/* PCI devices by address, then mdevs by name. */
static int cmp_device(const void *a, const void *b)
{
	const struct iommufd_vfio_device_info *x = a, *y = b;

	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->bus == IOMMUFD_BUS_PCI)
		return pci_addr_cmp(x->pci_addr, y->pci_addr);
	return strcmp(x->name, y->name);
}

/* A growing array of device entries. */
struct devv {
	struct iommufd_vfio_device_info *v;
	size_t n, cap;
};

/* Add the devices of one bus that @flags asks for to @d. */
static int scan_bus(const struct sysfs *fs, enum iommufd_device_bus bus,
		    uint32_t flags, unsigned int what,
		    const struct iommufd_iommu_unit_info *units, size_t nr_units,
		    struct devv *d)
{
	struct strv paths = { 0 };
	int ret;

	if (bus == IOMMUFD_BUS_PCI)
		ret = sysfs_list(fs, "pci", "bus/pci/devices", &paths);
	else
		ret = sysfs_list(fs, "mdev", "bus/mdev/devices", &paths);
	for (size_t i = 0; i < paths.n && !ret; i++) {
		if (d->n == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 16;
			struct iommufd_vfio_device_info *nv;

			nv = realloc(d->v, cap * sizeof(*nv));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			d->v = nv;
			d->cap = cap;
		}
		ret = fill_device(fs, paths.v[i], bus, what, units, nr_units,
				  &d->v[d->n], NULL);
		if (ret == -ENODEV) {
			ret = 0;	/* gone since the scan, or no device */
			continue;
		}
		if (!ret && (d->v[d->n].vfio ||
			     (bus == IOMMUFD_BUS_PCI &&
			      (flags & IOMMUFD_DISCOVER_ALL_PCI))))
			d->n++;
	}
	strv_clear(&paths);
	return ret;
}

static int scan_devices(const struct sysfs *fs, uint32_t flags,
			unsigned int what,
			struct iommufd_vfio_device_info **out, size_t *nr)
{
	struct iommufd_iommu_unit_info *units = NULL;
	struct devv d = { 0 };
	size_t nr_units = 0;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	if (what & FILL_UNIT) {
		ret = scan_units(fs, &units, &nr_units);
		if (ret)
			return ret;
	}
	ret = scan_bus(fs, IOMMUFD_BUS_PCI, flags, what, units, nr_units, &d);
	if (!ret && (flags & IOMMUFD_DISCOVER_MDEV))
		ret = scan_bus(fs, IOMMUFD_BUS_MDEV, flags, what, units,
			       nr_units, &d);
	iommufd_iommu_unit_info_free(units, nr_units);
	if (ret || !d.n) {
		free(d.v);
		return ret;
	}
	qsort(d.v, d.n, sizeof(*d.v), cmp_device);
	*out = d.v;
	*nr = d.n;
	return 0;
}

IOMMUFD_EXPORT int iommufd_discover_devices(const struct iommufd_discover_opts *opts,
					    struct iommufd_vfio_device_info **out,
					    size_t *nr)
{
	struct sysfs fs;
	int ret;

	if (!out || !nr)
		return -EINVAL;
	*out = NULL;
	*nr = 0;
	ret = discover_begin(opts, &fs);
	if (!ret)
		ret = scan_devices(&fs, OPTS_GET(opts, flags, 0), FILL_UNIT,
				   out, nr);
	sysfs_fini(&fs);
	return ret;
}

/* One device by name, a PCI address or an mdev's UUID: -EINVAL, -ENOENT,
 * -ENOMEM, or an error of @opts. */
static int lookup_device(const struct iommufd_discover_opts *opts,
			 const char *name, unsigned int what,
			 struct iommufd_vfio_device_info *info, int *cdev_error)
{
	char canon[IOMMUFD_NAME_SIZE], rel[PATH_MAX], path[PATH_MAX];
	enum iommufd_device_bus bus = IOMMUFD_BUS_PCI;
	struct sysfs fs;
	int ret;

	if (!name)
		return -EINVAL;
	if (!sysfs_pci_addr_parse(name, canon)) {
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s", canon);
	} else if (!sysfs_uuid_parse(name, canon)) {
		bus = IOMMUFD_BUS_MDEV;
		snprintf(rel, sizeof(rel), "bus/mdev/devices/%s", canon);
	} else {
		return -EINVAL;
	}
	ret = discover_begin(opts, &fs);
	if (!ret)
		ret = sysfs_path(&fs, path, sizeof(path), rel);
	if (!ret) {
		ret = fill_device(&fs, path, bus, what, NULL, 0, info,
				  cdev_error);
		if (ret == -ENODEV)
			ret = -ENOENT;
	}
	sysfs_fini(&fs);
	return ret;
}

IOMMUFD_EXPORT int iommufd_discover_device_opts(const struct iommufd_discover_opts *opts,
						const char *name,
						struct iommufd_vfio_device_info *out)
{
	if (!out)
		return -EINVAL;
	return lookup_device(opts, name, FILL_UNIT, out, NULL);
}

IOMMUFD_EXPORT int iommufd_discover_device(const char *pci_addr,
					   struct iommufd_vfio_device_info *out)
{
	return iommufd_discover_device_opts(NULL, pci_addr, out);
}

IOMMUFD_EXPORT int iommufd_find_cdev_opts(const struct iommufd_discover_opts *opts,
					  const char *name, char *path,
					  size_t len)
{
	struct iommufd_vfio_device_info info;
	int ret, cdev_err = 0;

	if (!path)
		return -EINVAL;
	ret = lookup_device(opts, name, 0, &info, &cdev_err);
	if (ret)
		return ret;
	if (!info.vfio || !info.has_cdev)
		return -ENODEV;
	/* Only what concerns the device file: a bad vendor ID is no reason. */
	if (cdev_err)
		return cdev_err == -ENAMETOOLONG ? -ERANGE : -EBADMSG;
	if (strlen(info.cdev_path) >= len)
		return -ERANGE;
	memcpy(path, info.cdev_path, strlen(info.cdev_path) + 1);
	return 0;
}

IOMMUFD_EXPORT int iommufd_find_cdev(const char *pci_addr, char *path,
				     size_t len)
{
	return iommufd_find_cdev_opts(NULL, pci_addr, path, len);
}

/* ---------------------------------------------------------------------------
 * IOMMU groups.
 */

IOMMUFD_EXPORT void iommufd_iommu_group_info_free(struct iommufd_iommu_group_info *groups,
						  size_t nr)
{
	if (!groups)
		return;
	for (size_t i = 0; i < nr; i++) {
		free(groups[i].devices);
		free(groups[i].reserved);
	}
	free(groups);
}

/* -ENOENT when there is no such group, -ENOMEM; other problems in g->error. */
static int read_group(const struct sysfs *fs, uint32_t id,
		      struct iommufd_iommu_group_info *g)
{
	struct strv s = { 0 };
	char dir[PATH_MAX], path[PATH_MAX];
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(g, 0, sizeof(*g));
	g->id = id;
	ret = group_path(fs, id, NULL, dir, sizeof(dir));
	if (ret)
		return ret;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return -ENOENT;

	/* No type file before Linux 5.11. */
	ret = read_attr(dir, "type", g->type, sizeof(g->type));
	if (!ret && !printable(g->type))
		ret = -EBADMSG;
	if (ret && ret != -ENOENT) {
		g->type[0] = '\0';
		set_error(&g->error, ret == -ENAMETOOLONG ? -EBADMSG : ret);
	}

	/* Every byte of the file goes to the parser (a NUL is an error);
	 * none before Linux 4.11. */
	ret = join_path(path, sizeof(path), dir, "reserved_regions");
	if (!ret)
		ret = read_file(path, RESV_FILE_MAX, &text, &len);
	if (!ret) {
		ret = iommufd_parse_reserved_regions(text, len, &g->reserved,
						     &g->nr_reserved);
		free(text);
		if (ret == -EINVAL)
			set_error(&g->error, -EBADMSG);
		else if (ret)
			goto fail;
	} else if (ret == -ENOMEM) {
		goto fail;
	} else if (ret != -ENOENT) {
		set_error(&g->error, ret == -EFBIG ? -EBADMSG : ret);
	}

	ret = join_path(path, sizeof(path), dir, "devices");
	if (!ret)
		ret = list_dir(path, &s);
	if (ret == -ENOMEM)
		goto fail;
	if (ret)
		set_error(&g->error, -EBADMSG);	/* every group has devices/ */
	ret = strv_pack(&s, cmp_strp, &g->devices);
	if (ret)
		goto fail;
	while (g->devices && g->devices[g->nr_devices])
		g->nr_devices++;
	return 0;
fail:
	strv_clear(&s);
	free(g->reserved);
	g->reserved = NULL;
	g->nr_reserved = 0;
	return ret;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int scan_groups(const struct sysfs *fs,
		       struct iommufd_iommu_group_info **out, size_t *nr)
{
	struct iommufd_iommu_group_info *groups = NULL;
	struct strv s = { 0 };
	char dir[PATH_MAX];
	uint32_t *ids = NULL;
	size_t n = 0, nids = 0;
	int ret;

	*out = NULL;
	*nr = 0;
	ret = sysfs_path(fs, dir, sizeof(dir), "kernel/iommu_groups");
	if (!ret)
		ret = list_dir(dir, &s);
	if (ret) {
		strv_clear(&s);
		/* No IOMMU, no groups. */
		return ret == -ENOENT ? 0 : ret;
	}
	if (!s.n)
		goto out;
	ids = calloc(s.n, sizeof(*ids));
	if (!ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		uint64_t id;

		if (!sysfs_parse_dec_str(s.v[i], UINT32_MAX, &id))
			ids[nids++] = (uint32_t)id;
	}
	if (!nids)
		goto out;
	qsort(ids, nids, sizeof(*ids), cmp_u32);
	groups = calloc(nids, sizeof(*groups));
	if (!groups) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nids; i++) {
		ret = read_group(fs, ids[i], &groups[n]);
		if (ret == -ENOENT)
			continue;	/* gone since the listing */
		if (ret)
			goto out;
		n++;
	}
	ret = 0;
	if (n) {
		*out = groups;
		*nr = n;
		groups = NULL;
		n = 0;
	}
out:
	iommufd_iommu_group_info_free(groups, n);
	free(ids);
	strv_clear(&s);
	return ret;
}

IOMMUFD_EXPORT int iommufd_discover_iommu_groups(const struct iommufd_discover_opts *opts,
						 struct iommufd_iommu_group_info **out,
						 size_t *nr)
{
	struct sysfs fs;
	int ret;

	if (!out || !nr)
		return -EINVAL;
	*out = NULL;
	*nr = 0;
	ret = discover_begin(opts, &fs);
	if (!ret)
		ret = scan_groups(&fs, out, nr);
	sysfs_fini(&fs);
	return ret;
}

IOMMUFD_EXPORT int iommufd_discover_iommu_group_opts(const struct iommufd_discover_opts *opts,
						     uint32_t id,
						     struct iommufd_iommu_group_info **out)
{
	struct iommufd_iommu_group_info *g;
	struct sysfs fs;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ret = discover_begin(opts, &fs);
	if (ret) {
		sysfs_fini(&fs);
		return ret;
	}
	g = calloc(1, sizeof(*g));
	ret = g ? read_group(&fs, id, g) : -ENOMEM;
	sysfs_fini(&fs);
	if (ret) {
		free(g);
		return ret;
	}
	*out = g;
	return 0;
}

IOMMUFD_EXPORT int iommufd_discover_iommu_group(uint32_t id,
						struct iommufd_iommu_group_info **out)
{
	return iommufd_discover_iommu_group_opts(NULL, id, out);
}

/* ---------------------------------------------------------------------------
 * The monitor.
 */

struct iommufd_monitor {
	struct udev *udev;
	struct udev_monitor *mon;
	/* The devices known bound to VFIO: an unbind uevent does not say which
	 * driver the device left. */
	struct iommufd_vfio_device_info *bound;
	size_t nr_bound;
};

/* The machine's /sys, through the monitor's libudev. */
static struct sysfs monitor_sysfs(const struct iommufd_monitor *m)
{
	return (struct sysfs){ .root = SYS_ROOT, .udev = m->udev };
}

static int monitor_resync(struct iommufd_monitor *m)
{
	struct sysfs fs = monitor_sysfs(m);
	struct iommufd_vfio_device_info *devs;
	size_t nr;
	int ret;

	ret = scan_devices(&fs, 0, FILL_UNIT, &devs, &nr);
	if (ret)
		return ret;
	free(m->bound);
	m->bound = devs;
	m->nr_bound = nr;
	return 0;
}

static ssize_t monitor_find(const struct iommufd_monitor *m, const char *addr)
{
	for (size_t i = 0; i < m->nr_bound; i++)
		if (!strcmp(m->bound[i].pci_addr, addr))
			return (ssize_t)i;
	return -1;
}

static void monitor_forget(struct iommufd_monitor *m, size_t i)
{
	memmove(&m->bound[i], &m->bound[i + 1],
		(m->nr_bound - i - 1) * sizeof(*m->bound));
	m->nr_bound--;
}

static int monitor_remember(struct iommufd_monitor *m,
			    const struct iommufd_vfio_device_info *info)
{
	struct iommufd_vfio_device_info *nb;
	ssize_t i = monitor_find(m, info->pci_addr);

	if (i >= 0) {
		m->bound[i] = *info;
		return 0;
	}
	nb = realloc(m->bound, (m->nr_bound + 1) * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	m->bound = nb;
	m->bound[m->nr_bound++] = *info;
	return 0;
}

IOMMUFD_EXPORT void iommufd_monitor_free(struct iommufd_monitor *mon)
{
	if (!mon)
		return;
	udev_monitor_unref(mon->mon);
	udev_unref(mon->udev);
	free(mon->bound);
	free(mon);
}

IOMMUFD_EXPORT int iommufd_monitor_new(const struct iommufd_monitor_opts *opts,
				       struct iommufd_monitor **out)
{
	struct iommufd_monitor *m;
	uint32_t flags;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts && opts_check(opts, opts->sz, sizeof(*opts)))
		return opts->sz < sizeof(size_t) ? -EINVAL : -E2BIG;
	flags = OPTS_GET(opts, flags, 0);
	if (flags & ~(uint32_t)IOMMUFD_MONITOR_KERNEL)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->udev = udev_new();
	if (!m->udev) {
		ret = -ENOMEM;
		goto fail;
	}
	/* The socket is SOCK_CLOEXEC | SOCK_NONBLOCK. */
	errno = 0;
	m->mon = udev_monitor_new_from_netlink(m->udev,
		flags & IOMMUFD_MONITOR_KERNEL ? "kernel" : "udev");
	if (!m->mon) {
		ret = errno ? -errno : -ENOMEM;
		goto fail;
	}
	ret = udev_monitor_filter_add_match_subsystem_devtype(m->mon, "pci",
							      NULL);
	if (ret < 0)
		goto fail;
	ret = udev_monitor_enable_receiving(m->mon);
	if (ret < 0)
		goto fail;
	/* Listen first, then look: a device bound in between is reported. */
	ret = monitor_resync(m);
	if (ret)
		goto fail;
	*out = m;
	return 0;
fail:
	iommufd_monitor_free(m);
	return ret < 0 ? ret : -EIO;
}

IOMMUFD_EXPORT int iommufd_monitor_fd(const struct iommufd_monitor *mon)
{
	if (!mon)
		return -EINVAL;
	return udev_monitor_get_fd(mon->mon);
}

/* 1 and *ev filled when @dev's uevent is one to report, 0 when not,
 * -ENOMEM. */
static int monitor_event(struct iommufd_monitor *m, struct udev_device *dev,
			 struct iommufd_monitor_event *ev)
{
	const char *action = udev_device_get_action(dev);
	const char *sysname = udev_device_get_sysname(dev);
	const char *syspath = udev_device_get_syspath(dev);
	struct sysfs fs = monitor_sysfs(m);
	char addr[IOMMUFD_PCI_ADDR_SIZE];
	struct iommufd_vfio_device_info info;
	const char *driver;
	ssize_t i;
	int ret;

	if (!action || !sysname || !syspath ||
	    sysfs_pci_addr_parse(sysname, addr) || strcmp(addr, sysname))
		return 0;
	i = monitor_find(m, addr);

	if (!strcmp(action, "bind")) {
		/* The driver the event names; sysfs as it is now for the rest
		 * (the event may be old: the device may be gone again). */
		driver = udev_device_get_property_value(dev, "DRIVER");
		ret = fill_device(&fs, syspath, IOMMUFD_BUS_PCI, FILL_UNIT,
				  NULL, 0, &info, NULL);
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			memset(&info, 0, sizeof(info));
			info.iommu_group = -1;
			memcpy(info.pci_addr, addr, sizeof(addr));
			memcpy(info.name, addr, sizeof(addr));
		}
		/* The event's driver decides; sysfs may have moved on. */
		if (driver) {
			info.vfio = driver_is_vfio(driver);
			if (copy_str(info.driver, sizeof(info.driver), driver))
				set_error(&info.error, -ENAMETOOLONG);
		}
		if (info.vfio) {
			ret = monitor_remember(m, &info);
			if (ret)
				return ret;
			ev->action = IOMMUFD_MONITOR_BOUND;
			ev->device = info;
			return 1;
		}
		/* Bound to another driver: we missed its unbind. */
		if (i < 0)
			return 0;
	} else if (strcmp(action, "unbind") && strcmp(action, "remove")) {
		return 0;
	}
	if (i < 0)
		return 0;
	ev->action = IOMMUFD_MONITOR_UNBOUND;
	ev->device = m->bound[i];
	monitor_forget(m, (size_t)i);
	return 1;
}

IOMMUFD_EXPORT int iommufd_monitor_read(struct iommufd_monitor *mon,
					struct iommufd_monitor_event *ev)
{
	struct udev_device *dev;
	int ret;

	if (!mon || !ev)
		return -EINVAL;
	for (;;) {
		errno = 0;
		dev = udev_monitor_receive_device(mon->mon);
		if (!dev) {
			ret = errno ? -errno : -EAGAIN;
			if (ret == -EINTR)
				continue;
			if (ret == -ENOBUFS) {
				int err = monitor_resync(mon);

				if (err)
					return err;
			}
			return ret;
		}
		memset(ev, 0, sizeof(*ev));
		ret = monitor_event(mon, dev, ev);
		udev_device_unref(dev);
		if (ret)
			return ret < 0 ? ret : 0;
	}
}
