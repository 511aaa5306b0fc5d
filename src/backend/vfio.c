/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device uAPI that does not depend on how the device was bound:
 * GET_INFO, GET_REGION_INFO (with its capability chain), GET_IRQ_INFO,
 * SET_IRQS, RESET, the hot-reset pair, and region access through pread,
 * pwrite and mmap of the device fd. The iommufd backend (cdev) and the type1
 * backend (group) share it; every VFIO device ioctl the library issues is in
 * this file or, for binding and attaching, in the backend's.
 *
 * Kernel structs are translated here into the library's, and the variable-
 * length answers (capability chains, hot-reset lists) are grown and walked
 * here, with every offset the kernel returns checked against the buffer: a
 * buggy driver must not make the library read past its own allocation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "../internal.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* Bounds the retries of answers that grow between two calls (hot-reset
 * lists, capability chains): a device set changing under us that often is
 * a kernel bug, not a reason to spin. */
#define GROW_TRIES 8

static void dev_log_error(struct iommufd_device *dev, const char *call,
			  int err)
{
	char what[128];

	snprintf(what, sizeof(what), "%s: %s", dev->name, call);
	ctx_log_kernel_error(dev->ctx, what, err);
}

static int dev_ioctl(struct iommufd_device *dev, unsigned long request,
		     void *arg, const char *name)
{
	int rc = kernel_ioctl(&dev->ctx->kernel, dev->fd, request, arg);

	if (rc < 0) {
		dev_log_error(dev, name, rc);
		return rc;
	}
	return 0;
}

#define DEV_IOCTL(dev, req, arg) dev_ioctl((dev), (req), (arg), #req)

int vfio_device_get_info(struct iommufd_device *dev,
			 struct iommufd_device_info *info)
{
	struct vfio_device_info k = { .argsz = sizeof(k) };
	int rc;

	rc = DEV_IOCTL(dev, VFIO_DEVICE_GET_INFO, &k);
	if (rc)
		return rc;
	info->flags = k.flags;
	info->num_regions = k.num_regions;
	info->num_irqs = k.num_irqs;
	return 0;
}

/* ---- regions ---- */

static uint32_t region_flags(uint32_t k)
{
	uint32_t f = 0;

	if (k & VFIO_REGION_INFO_FLAG_READ)
		f |= IOMMUFD_REGION_READ;
	if (k & VFIO_REGION_INFO_FLAG_WRITE)
		f |= IOMMUFD_REGION_WRITE;
	if (k & VFIO_REGION_INFO_FLAG_MMAP)
		f |= IOMMUFD_REGION_MMAP;
	return f;
}

/*
 * The sparse-mmap capability in the chain of @k (@len bytes as the kernel
 * filled them), or NULL. Each header must lie inside the buffer and each
 * next offset must move forward, so a malformed chain ends the walk.
 */
static const struct vfio_region_info_cap_sparse_mmap *
find_sparse(struct iommufd_device *dev, const struct vfio_region_info *k,
	    size_t len)
{
	const uint8_t *base = (const uint8_t *)k;
	uint32_t off = k->cap_offset;

	while (off) {
		struct vfio_info_cap_header hdr;

		if (off < sizeof(*k) || off > len ||
		    len - off < sizeof(hdr) || off % 8) {
			ctx_warn(dev->ctx,
				 "%s: region %u: capability at offset %u lies outside the %zu bytes returned; ignored",
				 dev->name, k->index, off, len);
			return NULL;
		}
		memcpy(&hdr, base + off, sizeof(hdr));
		if (hdr.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			const struct vfio_region_info_cap_sparse_mmap *s =
				(const void *)(base + off);
			size_t need = sizeof(*s);

			if (len - off < need ||
			    (len - off - need) / sizeof(s->areas[0]) <
				    s->nr_areas) {
				ctx_warn(dev->ctx,
					 "%s: region %u: sparse mmap capability truncated; ignored",
					 dev->name, k->index);
				return NULL;
			}
			return s;
		}
		if (hdr.next && hdr.next <= off) {
			ctx_warn(dev->ctx,
				 "%s: region %u: capability chain loops back; ignored",
				 dev->name, k->index);
			return NULL;
		}
		off = hdr.next;
	}
	return NULL;
}

static void fill_region(struct iommufd_device *dev,
			const struct vfio_region_info *k, size_t len,
			struct iommufd_region_info *info)
{
	const struct vfio_region_info_cap_sparse_mmap *s = NULL;

	memset(info, 0, sizeof(*info));
	info->index = k->index;
	info->flags = region_flags(k->flags);
	info->size = k->size;
	info->offset = k->offset;
	if (!(k->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return;
	if (k->flags & VFIO_REGION_INFO_FLAG_CAPS)
		s = find_sparse(dev, k, len);
	if (!s) {
		info->nr_mmap_areas = 1;
		info->mmap_areas[0].offset = 0;
		info->mmap_areas[0].size = k->size;
		return;
	}
	for (uint32_t i = 0; i < s->nr_areas; i++) {
		struct vfio_region_sparse_mmap_area a;

		memcpy(&a, &s->areas[i], sizeof(a));
		if (!a.size)
			continue;
		if (info->nr_mmap_areas == ARRAY_SIZE(info->mmap_areas)) {
			/* Fewer areas only means fewer places to mmap. */
			ctx_warn(dev->ctx,
				 "%s: region %u has %u mmap areas; only %zu are kept",
				 dev->name, k->index, s->nr_areas,
				 ARRAY_SIZE(info->mmap_areas));
			break;
		}
		info->mmap_areas[info->nr_mmap_areas].offset = a.offset;
		info->mmap_areas[info->nr_mmap_areas].size = a.size;
		info->nr_mmap_areas++;
	}
}

int vfio_device_get_region(struct iommufd_device *dev, uint32_t index,
			   struct iommufd_region_info *info)
{
	struct vfio_region_info *k;
	size_t len = sizeof(*k);	/* most regions have no chain */
	int rc = -EAGAIN;

	/* With too small a buffer the kernel sets argsz to what it needs and
	 * leaves cap_offset 0: grow and ask again. */
	for (unsigned int tries = 0; tries < GROW_TRIES; tries++) {
		k = calloc(1, len);
		if (!k)
			return -ENOMEM;
		k->argsz = (uint32_t)len;
		k->index = index;
		rc = kernel_ioctl(&dev->ctx->kernel, dev->fd,
				  VFIO_DEVICE_GET_REGION_INFO, k);
		if (rc < 0) {
			/* An index past the last region is how callers find
			 * the end: not worth a warning. */
			if (rc == -EINVAL)
				ctx_dbg(dev->ctx,
					"%s: VFIO_DEVICE_GET_REGION_INFO %u: no such region",
					dev->name, index);
			else
				dev_log_error(dev, "VFIO_DEVICE_GET_REGION_INFO",
					      rc);
			free(k);
			return rc;
		}
		if ((k->flags & VFIO_REGION_INFO_FLAG_CAPS) && k->argsz > len &&
		    !k->cap_offset) {
			len = k->argsz;
			free(k);
			rc = -EAGAIN;
			continue;
		}
		fill_region(dev, k, k->argsz < len ? k->argsz : len, info);
		free(k);
		return 0;
	}
	ctx_err(dev->ctx, "%s: region %u: the capability chain kept growing",
		dev->name, index);
	return rc;
}

/* ---- interrupts ---- */

int vfio_device_get_irq_info(struct iommufd_device *dev, uint32_t index,
			     struct iommufd_irq_info *info)
{
	struct vfio_irq_info k = { .argsz = sizeof(k), .index = index };
	int rc;

	rc = kernel_ioctl(&dev->ctx->kernel, dev->fd, VFIO_DEVICE_GET_IRQ_INFO,
			  &k);
	if (rc < 0) {
		if (rc == -EINVAL)
			ctx_dbg(dev->ctx,
				"%s: VFIO_DEVICE_GET_IRQ_INFO %u: no such index",
				dev->name, index);
		else
			dev_log_error(dev, "VFIO_DEVICE_GET_IRQ_INFO", rc);
		return rc;
	}
	info->index = k.index;
	info->flags = k.flags;
	info->count = k.count;
	return 0;
}

int vfio_device_set_irqs(struct iommufd_device *dev, uint32_t index,
			 uint32_t start, uint32_t count, const int *fds)
{
	struct vfio_irq_set *set;
	size_t len = sizeof(*set) + (size_t)count * sizeof(int32_t);
	int rc;

	if (count > (UINT32_MAX - sizeof(*set)) / sizeof(int32_t))
		return -EINVAL;
	set = calloc(1, len);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)len;
	set->index = index;
	set->start = start;
	set->count = count;
	if (count) {
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
		for (uint32_t i = 0; i < count; i++) {
			int32_t fd = fds[i] < 0 ? -1 : fds[i];

			memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
		}
	} else {
		set->flags = VFIO_IRQ_SET_DATA_NONE |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
	}
	rc = DEV_IOCTL(dev, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return rc;
}

int vfio_device_reset(struct iommufd_device *dev)
{
	return DEV_IOCTL(dev, VFIO_DEVICE_RESET, NULL);
}

/* ---- hot reset ---- */

int vfio_device_hot_reset_info(struct iommufd_device *dev,
			       struct vfio_reset_info **out)
{
	struct vfio_pci_hot_reset_info *k = NULL;
	uint32_t cap = 1;	/* a slot with one function: one call */
	int rc = -EAGAIN;

	/* ENOSPC comes with the count needed now; the set can change between
	 * two calls (a device hot-added on the bus), so grow until it fits. */
	for (unsigned int tries = 0; tries < GROW_TRIES; tries++) {
		size_t len = sizeof(*k) + (size_t)cap * sizeof(k->devices[0]);
		struct vfio_reset_info *r;

		free(k);
		k = calloc(1, len);
		if (!k)
			return -ENOMEM;
		k->argsz = (uint32_t)len;
		rc = kernel_ioctl(&dev->ctx->kernel, dev->fd,
				  VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, k);
		if (rc == -ENOSPC && k->count > cap) {
			cap = k->count;
			continue;
		}
		if (rc < 0) {
			if (rc == -ENODEV)
				ctx_info(dev->ctx,
					 "%s: no bus or slot reset: the device is on a root bus or its bus cannot be reset",
					 dev->name);
			else
				dev_log_error(dev,
					      "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO",
					      rc);
			break;
		}
		if (k->count > cap) {
			rc = -EPROTO;	/* success with more than fits */
			break;
		}
		r = malloc(sizeof(*r) + (size_t)k->count * sizeof(r->dep[0]));
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		r->by_devid = k->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID;
		r->all_owned = k->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
		r->nr = k->count;
		for (uint32_t i = 0; i < k->count; i++) {
			r->dep[i].id = k->devices[i].devid;
			r->dep[i].segment = k->devices[i].segment;
			r->dep[i].bus = k->devices[i].bus;
			r->dep[i].devfn = k->devices[i].devfn;
		}
		free(k);
		*out = r;
		return 0;
	}
	free(k);
	return rc == -ENOSPC ? -EAGAIN : rc;
}

int vfio_device_hot_reset(struct iommufd_device *dev, const int *group_fds,
			  uint32_t nr)
{
	struct vfio_pci_hot_reset *k;
	size_t len = sizeof(*k) + (size_t)nr * sizeof(int32_t);
	int rc;

	if (nr > 1024)
		return -EINVAL;
	k = calloc(1, len);
	if (!k)
		return -ENOMEM;
	k->argsz = (uint32_t)len;
	k->count = nr;
	for (uint32_t i = 0; i < nr; i++)
		k->group_fds[i] = group_fds[i];
	rc = DEV_IOCTL(dev, VFIO_DEVICE_PCI_HOT_RESET, k);
	free(k);
	return rc;
}

/* ---- region access ---- */

ssize_t vfio_device_rw(struct iommufd_device *dev, uint64_t off, void *buf,
		       size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (off + done > (uint64_t)INT64_MAX)
			return done ? (ssize_t)done : -EOVERFLOW;
		if (write)
			n = kernel_pwrite(&dev->ctx->kernel, dev->fd,
					  (const char *)buf + done, len - done,
					  (off_t)(off + done));
		else
			n = kernel_pread(&dev->ctx->kernel, dev->fd,
					 (char *)buf + done, len - done,
					 (off_t)(off + done));
		if (n < 0) {
			if (done)
				break;
			dev_log_error(dev, write ? "pwrite" : "pread", (int)n);
			return n;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int vfio_device_mmap(struct iommufd_device *dev, uint64_t off, size_t len,
		     int prot, void **out)
{
	int rc;

	if (off > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	rc = kernel_mmap(&dev->ctx->kernel, len, prot, MAP_SHARED, dev->fd,
			 (off_t)off, out);
	if (rc < 0)
		dev_log_error(dev, "mmap", rc);
	return rc;
}

int vfio_device_munmap(struct iommufd_device *dev, void *addr, size_t len)
{
	int rc = kernel_munmap(&dev->ctx->kernel, addr, len);

	if (rc < 0)
		dev_log_error(dev, "munmap", rc);
	return rc;
}

/* ---- DMA logging (device dirty tracking) ---- */

/*
 * VFIO_DEVICE_FEATURE with @len bytes of feature data after the header.
 * The header and data go in one buffer, as the kernel reads them.
 */
static int device_feature(struct iommufd_device *dev, uint32_t flags,
			  void *data, size_t len, bool quiet, const char *name)
{
	struct vfio_device_feature *f;
	size_t sz = sizeof(*f) + len;
	int rc;

	f = calloc(1, sz);
	if (!f)
		return -ENOMEM;
	f->argsz = (uint32_t)sz;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	rc = kernel_ioctl(&dev->ctx->kernel, dev->fd, VFIO_DEVICE_FEATURE, f);
	if (rc < 0) {
		if (!quiet)
			dev_log_error(dev, name, rc);
	} else if (len) {
		memcpy(data, f->data, len);
		rc = 0;
	} else {
		rc = 0;
	}
	free(f);
	return rc;
}

int vfio_device_dma_logging_probe(struct iommufd_device *dev)
{
	return device_feature(dev,
			      VFIO_DEVICE_FEATURE_DMA_LOGGING_START |
				      VFIO_DEVICE_FEATURE_PROBE |
				      VFIO_DEVICE_FEATURE_SET,
			      NULL, 0, true, "DMA_LOGGING_START (probe)");
}

int vfio_device_dma_logging_start(struct iommufd_device *dev,
				  const struct iommufd_iova_range *ranges,
				  size_t nr, uint64_t *page_size)
{
	struct vfio_device_feature_dma_logging_control ctl = { 0 };
	struct vfio_device_feature_dma_logging_range *k;
	int rc;

	if (!nr || nr > UINT32_MAX)
		return -EINVAL;
	k = calloc(nr, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		k[i].iova = ranges[i].start;
		k[i].length = ranges[i].last - ranges[i].start + 1;
	}
	ctl.page_size = *page_size;
	ctl.num_ranges = (uint32_t)nr;
	ctl.ranges = (uintptr_t)k;
	rc = device_feature(dev,
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_START |
				    VFIO_DEVICE_FEATURE_SET,
			    &ctl, sizeof(ctl), false,
			    "VFIO_DEVICE_FEATURE DMA_LOGGING_START");
	free(k);
	if (!rc)
		*page_size = ctl.page_size;
	return rc;
}

int vfio_device_dma_logging_stop(struct iommufd_device *dev)
{
	return device_feature(dev,
			      VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP |
				      VFIO_DEVICE_FEATURE_SET,
			      NULL, 0, false,
			      "VFIO_DEVICE_FEATURE DMA_LOGGING_STOP");
}

int vfio_device_dma_logging_report(struct iommufd_device *dev, uint64_t iova,
				   uint64_t length, uint64_t page_size,
				   uint64_t *data)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.bitmap = (uintptr_t)data,
	};

	return device_feature(dev,
			      VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT |
				      VFIO_DEVICE_FEATURE_GET,
			      &rep, sizeof(rep), false,
			      "VFIO_DEVICE_FEATURE DMA_LOGGING_REPORT");
}
