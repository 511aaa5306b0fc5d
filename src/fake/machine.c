/* SPDX-License-Identifier: MIT */
/*
 * The fake kernel's machine: IOMMU units (DMAR units, SMMUs), the PCI
 * functions behind them with their IOMMU groups and drivers, and emulated
 * (mdev-like) VFIO devices. This is the configuration API of fake.h; the
 * devices' behaviour is in pci.c (vfio-pci), edu.c (a device model), vfio.c
 * (the VFIO device file) and device.c/hwpt.c (the iommufd side).
 *
 * Every change here is mirrored in the machine's sysfs tree (sysfs.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

#define VFIO_PCI_DRIVER "vfio-pci"
#define EMULATED_DRIVER "vfio_mdev"

/* ------------------------------------------------------------------ */
/* Options structs: the library's rule (a larger struct with a non-zero   */
/* tail is refused, a smaller one is zero-extended).                      */

static int opts_copy(void *dst, size_t dst_sz, const void *opts)
{
	size_t sz;

	if (!opts)
		return -EINVAL;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return -EINVAL;
	for (size_t i = dst_sz; i < sz; i++)
		if (((const unsigned char *)opts)[i])
			return -E2BIG;
	memset(dst, 0, dst_sz);
	memcpy(dst, opts, sz < dst_sz ? sz : dst_sz);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

struct fake_device *fake_device_find(struct iommufd_fake *fake,
				     const char *name)
{
	for (struct fake_device *dev = fake->devices; dev; dev = dev->next)
		if (!strcmp(dev->name, name))
			return dev;
	return NULL;
}

bool fake_device_has_cdev(const struct fake_device *dev)
{
	return dev->vfio_index >= 0 && dev->fake->kver >= FAKE_KVER_VFIO_CDEV;
}

struct fake_device *fake_device_by_vfio_index(struct iommufd_fake *fake,
					      unsigned int index)
{
	for (struct fake_device *dev = fake->devices; dev; dev = dev->next)
		if (dev->vfio_index == (int)index && fake_device_has_cdev(dev))
			return dev;
	return NULL;
}

struct fake_unit *fake_unit_find(struct iommufd_fake *fake, const char *name)
{
	for (struct fake_unit *unit = fake->units; unit; unit = unit->next)
		if (!strcmp(unit->name, name))
			return unit;
	return NULL;
}

/* The VFIO device index: ida_alloc(), the lowest free. */
static int vfio_index_alloc(struct iommufd_fake *fake)
{
	for (int index = 0;; index++) {
		struct fake_device *dev;

		for (dev = fake->devices; dev; dev = dev->next)
			if (dev->vfio_index == index)
				break;
		if (!dev)
			return index;
	}
}

static bool valid_name(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (!len || len >= sizeof(((struct fake_unit *)0)->name))
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return !strpbrk(name, "/\n");
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

/* "DDDD:BB:DD.F" (hex, either case) into its canonical lower-case form. */
static int parse_bdf(const char *bdf, struct fake_device *dev)
{
	static const char shape[] = "hhhh:hh:hh.h";
	unsigned int v[4] = { 0 };
	int field = 0;

	if (!bdf || strlen(bdf) != sizeof(shape) - 1)
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] != 'h') {
			if (bdf[i] != shape[i])
				return -EINVAL;
			field++;
			continue;
		}
		if (hexval(bdf[i]) < 0)
			return -EINVAL;
		v[field] = v[field] * 16 + (unsigned int)hexval(bdf[i]);
	}
	if (v[2] > 31 || v[3] > 7)
		return -EINVAL;
	dev->domain = v[0];
	dev->bus = (uint8_t)v[1];
	dev->devfn = (uint8_t)(v[2] << 3 | v[3]);
	snprintf(dev->name, sizeof(dev->name), "%04x:%02x:%02x.%x", v[0], v[1],
		 v[2], v[3]);
	return 0;
}

static int parse_uuid(const char *uuid, char *out, size_t len)
{
	if (!uuid || strlen(uuid) != 36 || len < 37)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? uuid[i] != '-' : hexval(uuid[i]) < 0)
			return -EINVAL;
		out[i] = dash ? '-' : "0123456789abcdef"[hexval(uuid[i])];
	}
	out[36] = '\0';
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* A group is behind one IOMMU unit (or is an emulated device's own). */
static int check_group(struct iommufd_fake *fake, int32_t group,
		       struct fake_unit *unit)
{
	if (group < 0)
		return -EINVAL;
	for (struct fake_device *dev = fake->devices; dev; dev = dev->next)
		if (dev->group == group && (dev->unit != unit || !unit))
			return -EINVAL;
	return 0;
}

/* Drivers that leave the group's DMA to VFIO (the kernel's
 * driver_managed_dma, or no DMA at all). */
bool fake_driver_claims_dma(const char *driver)
{
	return driver[0] && strcmp(driver, VFIO_PCI_DRIVER) &&
	       strcmp(driver, "pci-stub") && strcmp(driver, "pcieport") &&
	       strcmp(driver, EMULATED_DRIVER);
}

/* ------------------------------------------------------------------ */
/* Devices                                                             */

static struct fake_device *device_new(struct iommufd_fake *fake)
{
	struct fake_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->fake = fake;
	dev->vfio_index = -1;
	dev->group = -1;
	dev->irq_type = -1;
	dev->intx_efd = -1;
	dev->err_efd = -1;
	dev->req_efd = -1;
	for (int i = 0; i < FAKE_NR_BARS; i++)
		dev->bars[i].memfd = -1;
	return dev;
}

static void device_free(struct fake_device *dev)
{
	if (!dev)
		return;
	while (dev->files) {
		struct fake_df *df = dev->files;

		dev->files = df->next;
		fake_vfio_forget_device(df);
	}
	if (dev->model && dev->model->free)
		dev->model->free(dev);
	fake_pci_free(dev);
	free(dev);
}

static void device_link(struct iommufd_fake *fake, struct fake_device *dev)
{
	struct fake_device **p = &fake->devices;

	while (*p && strcmp((*p)->name, dev->name) < 0)
		p = &(*p)->next;
	dev->next = *p;
	*p = dev;
}

static void device_unlink(struct iommufd_fake *fake, struct fake_device *dev)
{
	for (struct fake_device **p = &fake->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			return;
		}
	}
}

/* Link the device, then describe it in sysfs; undo both on failure. */
static int device_publish(struct iommufd_fake *fake, struct fake_device *dev)
{
	int ret;

	device_link(fake, dev);
	ret = fake_sysfs_add_device(fake, dev);
	if (!ret)
		ret = fake_vgroups_sync(fake);	/* its VFIO group */
	if (ret) {
		fake_sysfs_remove_device(fake, dev);
		device_unlink(fake, dev);
		device_free(dev);
		(void)fake_vgroups_sync(fake);
	}
	return ret;
}

static int check_bars(const struct iommufd_fake_pci_opts *o, int *msix_bar)
{
	*msix_bar = -1;
	for (int i = 0; i < FAKE_NR_BARS; i++) {
		const struct iommufd_fake_bar *b = &o->bars[i];
		uint32_t known = IOMMUFD_FAKE_BAR_IO | IOMMUFD_FAKE_BAR_MEM64 |
				 IOMMUFD_FAKE_BAR_PREFETCH |
				 IOMMUFD_FAKE_BAR_NO_MMAP |
				 IOMMUFD_FAKE_BAR_MSIX;

		if (!b->size) {
			if (b->flags)
				return -EINVAL;
			continue;
		}
		if ((b->flags & ~known) || !is_pow2(b->size))
			return -EINVAL;
		if (b->flags & IOMMUFD_FAKE_BAR_IO) {
			if (b->size < 4 || b->size > 256 ||
			    (b->flags & ~IOMMUFD_FAKE_BAR_IO))
				return -EINVAL;
			continue;
		}
		if (b->size < 16)
			return -EINVAL;
		if (b->flags & IOMMUFD_FAKE_BAR_MEM64) {
			/* The upper half takes the next BAR's slot. */
			if (i == FAKE_NR_BARS - 1 || o->bars[i + 1].size ||
			    o->bars[i + 1].flags)
				return -EINVAL;
		} else if (b->size > (UINT64_C(1) << 31)) {
			return -EINVAL;
		}
		if (b->size > (UINT64_C(1) << 40))
			return -EINVAL;
		if (b->flags & IOMMUFD_FAKE_BAR_MSIX) {
			if (*msix_bar >= 0)
				return -EINVAL;
			*msix_bar = i;
		}
		if (b->flags & IOMMUFD_FAKE_BAR_MEM64)
			i++;
	}
	if ((*msix_bar >= 0) != (o->msix_vectors > 0))
		return -EINVAL;
	if (o->msix_vectors > 2048)
		return -EINVAL;
	if (*msix_bar >= 0) {
		uint64_t need = 16ull * o->msix_vectors +
				8ull * ((o->msix_vectors + 63) / 64);

		if (need > o->bars[*msix_bar].size)
			return -EINVAL;
	}
	if (o->msi_vectors && (!is_pow2(o->msi_vectors) || o->msi_vectors > 32))
		return -EINVAL;
	return 0;
}

static int add_pci(struct iommufd_fake *fake,
		   const struct iommufd_fake_pci_opts *o,
		   int (*setup)(struct fake_device *))
{
	uint32_t known = IOMMUFD_FAKE_PCI_PCIE | IOMMUFD_FAKE_PCI_NO_INTX |
			 IOMMUFD_FAKE_PCI_NO_RESET | IOMMUFD_FAKE_PCI_NO_PASID;
	const char *driver = o->driver ? o->driver : VFIO_PCI_DRIVER;
	struct fake_unit *unit = NULL;
	struct fake_device *dev;
	int msix_bar, ret;

	if ((o->flags & ~known) || o->class_code > 0xffffff ||
	    strlen(driver) >= sizeof(dev->driver) || strpbrk(driver, "/\n") ||
	    !strcmp(driver, ".") || !strcmp(driver, ".."))
		return -EINVAL;
	ret = check_bars(o, &msix_bar);
	if (ret)
		return ret;
	if (o->iommu) {
		unit = fake_unit_find(fake, o->iommu);
		if (!unit)
			return -ENOENT;
		ret = check_group(fake, o->iommu_group, unit);
		if (ret)
			return ret;
	} else if (!strcmp(driver, VFIO_PCI_DRIVER)) {
		return -EINVAL;	/* vfio-pci needs an IOMMU group */
	}

	dev = device_new(fake);
	if (!dev)
		return -ENOMEM;
	ret = parse_bdf(o->bdf, dev);
	if (ret) {
		device_free(dev);
		return ret;
	}
	if (fake_device_find(fake, dev->name)) {
		device_free(dev);
		return -EEXIST;
	}
	dev->kind = FAKE_DEV_PCI;
	dev->vendor_id = o->vendor_id;
	dev->device_id = o->device_id;
	dev->subsystem_vendor_id = o->subsystem_vendor_id;
	dev->subsystem_device_id = o->subsystem_device_id;
	dev->class_code = o->class_code;
	dev->revision = o->revision;
	dev->unit = unit;
	dev->group = unit ? o->iommu_group : -1;
	snprintf(dev->driver, sizeof(dev->driver), "%s", driver);
	dev->reset_group = o->reset_group;
	dev->reset_works = !(o->flags & IOMMUFD_FAKE_PCI_NO_RESET);
	dev->pcie = o->flags & IOMMUFD_FAKE_PCI_PCIE;
	dev->pasid = !(o->flags & IOMMUFD_FAKE_PCI_NO_PASID);
	dev->nr_intx = (o->flags & IOMMUFD_FAKE_PCI_NO_INTX) ? 0 : 1;
	dev->nr_msi = o->msi_vectors;
	dev->nr_msix = o->msix_vectors;
	for (int i = 0; i < FAKE_NR_BARS; i++) {
		dev->bars[i].size = o->bars[i].size;
		dev->bars[i].flags = o->bars[i].flags;
	}
	if (msix_bar >= 0) {
		uint64_t page = fake->page_size;
		struct fake_bar *b = &dev->bars[msix_bar];

		b->msix_start = 0;
		b->msix_size = 16ull * o->msix_vectors +
			       8ull * ((o->msix_vectors + 63) / 64);
		b->hole_start = 0;
		b->hole_size = (b->msix_size + page - 1) & ~(page - 1);
		if (b->hole_size > b->size)
			b->hole_size = b->size;
	}
	if (setup) {
		ret = setup(dev);
		if (ret) {
			device_free(dev);
			return ret;
		}
	}
	fake_pci_init_config(dev);
	ret = fake_pci_alloc_bars(dev);
	if (ret) {
		device_free(dev);
		return ret;
	}
	if (!strcmp(driver, VFIO_PCI_DRIVER))
		dev->vfio_index = vfio_index_alloc(fake);
	return device_publish(fake, dev);
}

/* ------------------------------------------------------------------ */
/* Exported configuration calls                                        */

FAKE_EXPORT const char *iommufd_fake_sysfs_root(struct iommufd_fake *fake)
{
	const char *root;

	if (!fake)
		return NULL;
	pthread_mutex_lock(&fake->lock);
	(void)fake_sysfs_ensure(fake);
	root = fake->sysfs_root;
	pthread_mutex_unlock(&fake->lock);
	return root;
}

static int add_iommu(struct iommufd_fake *fake,
		     const struct iommufd_fake_iommu_opts *o)
{
	static const struct fake_resv msi_window = {
		.start = 0xfee00000, .last = 0xfeefffff, .type = IOMMUFD_RESV_MSI,
	};
	struct fake_unit *unit, **p;
	int ret;

	if (!valid_name(o->name))
		return -EINVAL;
	if (o->hw_info_type != IOMMU_HW_INFO_TYPE_NONE &&
	    o->hw_info_type != IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return -EINVAL;
	if (o->pasid_log2 > 20 || (o->page_size && !is_pow2(o->page_size)))
		return -EINVAL;
	if (o->aperture_start > o->aperture_last)
		return -EINVAL;
	if (o->nr_reserved && !o->reserved)
		return -EINVAL;
	for (size_t i = 0; o->reserved && i < o->nr_reserved; i++)
		if (o->reserved[i].start > o->reserved[i].last ||
		    (unsigned int)o->reserved[i].type > IOMMUFD_RESV_MSI)
			return -EINVAL;
	if (fake_unit_find(fake, o->name))
		return -EEXIST;

	unit = calloc(1, sizeof(*unit));
	if (!unit)
		return -ENOMEM;
	snprintf(unit->name, sizeof(unit->name), "%s", o->name);
	unit->hw_info_type = o->hw_info_type;
	unit->cap_reg = o->vtd_cap_reg;
	unit->ecap_reg = o->vtd_ecap_reg;
	unit->dirty_tracking = o->dirty_tracking;
	unit->nest_parent = o->nest_parent;
	unit->pasid_log2 = o->pasid_log2;
	unit->page_size = o->page_size ? o->page_size : 4096;
	if (!o->aperture_start && !o->aperture_last) {
		unit->aperture_last = (UINT64_C(1) << 48) - 1;
	} else {
		unit->aperture_start = o->aperture_start;
		unit->aperture_last = o->aperture_last;
	}
	unit->nr_resv = o->reserved ? o->nr_reserved : 1;
	if (unit->nr_resv) {
		unit->resv = calloc(unit->nr_resv, sizeof(*unit->resv));
		if (!unit->resv) {
			free(unit);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < unit->nr_resv; i++) {
		if (!o->reserved) {
			unit->resv[i] = msi_window;
			continue;
		}
		unit->resv[i].start = o->reserved[i].start;
		unit->resv[i].last = o->reserved[i].last;
		unit->resv[i].type = (int)o->reserved[i].type;
	}

	for (p = &fake->units; *p && strcmp((*p)->name, unit->name) < 0;
	     p = &(*p)->next)
		;
	unit->next = *p;
	*p = unit;
	ret = fake_sysfs_add_unit(fake, unit);
	if (ret) {
		*p = unit->next;
		free(unit->resv);
		free(unit);
	}
	return ret;
}

FAKE_EXPORT int iommufd_fake_add_iommu(struct iommufd_fake *fake,
				       const struct iommufd_fake_iommu_opts *opts)
{
	struct iommufd_fake_iommu_opts o;
	int ret;

	if (!fake)
		return -EINVAL;
	ret = opts_copy(&o, sizeof(o), opts);
	if (ret)
		return ret;
	pthread_mutex_lock(&fake->lock);
	ret = add_iommu(fake, &o);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT int iommufd_fake_add_pci_device(struct iommufd_fake *fake,
					    const struct iommufd_fake_pci_opts *opts)
{
	struct iommufd_fake_pci_opts o;
	int ret;

	if (!fake)
		return -EINVAL;
	ret = opts_copy(&o, sizeof(o), opts);
	if (ret)
		return ret;
	pthread_mutex_lock(&fake->lock);
	ret = add_pci(fake, &o, NULL);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

/* QEMU's hw/misc/edu.c as a PCI function: a conventional PCI device (256
 * bytes of config space), INTx pin A, one 64-bit MSI vector, no PCIe, no
 * power management, no FLR (so no function reset). */
static int add_edu(struct iommufd_fake *fake, const char *bdf,
		   const char *iommu, int32_t group)
{
	struct iommufd_fake_pci_opts o = {
		.sz = sizeof(o),
		.bdf = bdf,
		.vendor_id = 0x1234,
		.device_id = 0x11e8,
		.subsystem_vendor_id = 0x1af4,
		.subsystem_device_id = 0x1100,
		.class_code = 0x00ff00,
		.revision = 0x10,
		.iommu = iommu,
		.iommu_group = group,
		.bars = { [0] = { .size = 1u << 20, .flags = IOMMUFD_FAKE_BAR_NO_MMAP } },
		.msi_vectors = 1,
		.flags = IOMMUFD_FAKE_PCI_NO_RESET | IOMMUFD_FAKE_PCI_NO_PASID,
	};

	if (!iommu)
		return -EINVAL;
	return add_pci(fake, &o, fake_edu_setup);
}

FAKE_EXPORT int iommufd_fake_add_edu(struct iommufd_fake *fake, const char *bdf,
				     const char *iommu, int32_t iommu_group)
{
	int ret;

	if (!fake)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	ret = add_edu(fake, bdf, iommu, iommu_group);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

/* An mdev in the manner of samples/vfio-mdev/mtty: a virtual PCI device
 * (vfio-pci's region and IRQ layout) whose "DMA" goes through iommufd's
 * access path. */
static int add_emulated(struct iommufd_fake *fake,
			const struct iommufd_fake_emulated_opts *o)
{
	struct fake_device *dev;
	int ret;

	ret = check_group(fake, o->iommu_group, NULL);
	if (ret)
		return ret;
	dev = device_new(fake);
	if (!dev)
		return -ENOMEM;
	ret = parse_uuid(o->uuid, dev->name, sizeof(dev->name));
	if (ret) {
		device_free(dev);
		return ret;
	}
	if (fake_device_find(fake, dev->name)) {
		device_free(dev);
		return -EEXIST;
	}
	dev->kind = FAKE_DEV_EMULATED;
	dev->vendor_id = 0x4348;
	dev->device_id = 0x3253;
	dev->class_code = 0x070002;
	dev->group = o->iommu_group;
	snprintf(dev->driver, sizeof(dev->driver), "%s", EMULATED_DRIVER);
	dev->reset_works = true;
	dev->nr_intx = 1;
	dev->nr_msi = 1;
	dev->bars[0].size = 4096;
	dev->bars[0].flags = IOMMUFD_FAKE_BAR_NO_MMAP;
	fake_pci_init_config(dev);
	ret = fake_pci_alloc_bars(dev);
	if (ret) {
		device_free(dev);
		return ret;
	}
	dev->vfio_index = vfio_index_alloc(fake);
	return device_publish(fake, dev);
}

FAKE_EXPORT int iommufd_fake_add_emulated_device(
	struct iommufd_fake *fake, const struct iommufd_fake_emulated_opts *opts)
{
	struct iommufd_fake_emulated_opts o;
	int ret;

	if (!fake)
		return -EINVAL;
	ret = opts_copy(&o, sizeof(o), opts);
	if (ret)
		return ret;
	pthread_mutex_lock(&fake->lock);
	ret = add_emulated(fake, &o);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT int iommufd_fake_remove_device(struct iommufd_fake *fake,
					   const char *name)
{
	struct fake_device *dev;
	int ret = 0;

	if (!fake || !name)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	dev = fake_device_find(fake, name);
	if (!dev) {
		ret = -ENOENT;
	} else if (dev->files || fake_vgroup_busy(fake, dev->group)) {
		ret = -EBUSY;	/* vfio_unregister_group_dev() would wait */
	} else {
		fake_sysfs_remove_device(fake, dev);
		device_unlink(fake, dev);
		device_free(dev);
		(void)fake_vgroups_sync(fake);
	}
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static int bind_driver(struct iommufd_fake *fake, const char *name,
		       const char *driver)
{
	struct fake_device *dev = fake_device_find(fake, name);
	char old[sizeof(dev->driver)];
	int old_index, ret;

	if (!dev)
		return -ENOENT;
	if (dev->kind != FAKE_DEV_PCI || strlen(driver) >= sizeof(dev->driver) ||
	    strpbrk(driver, "/\n") || !strcmp(driver, ".") ||
	    !strcmp(driver, ".."))
		return -EINVAL;
	if (!strcmp(dev->driver, driver))
		return 0;
	if (dev->files)
		return -EBUSY;	/* the unbind would wait for the last close */
	/* The fake keeps the devices of an open VFIO group as they are. */
	if (fake_vgroup_busy(fake, dev->group))
		return -EBUSY;
	if (!strcmp(driver, VFIO_PCI_DRIVER) && !dev->unit)
		return -ENODEV;	/* vfio-pci's probe: no IOMMU group */
	/* A DMA-doing kernel driver cannot probe while VFIO owns the group
	 * (iommu_device_use_default_domain(): EBUSY). */
	if (fake_driver_claims_dma(driver)) {
		for (struct fake_device *p = fake->devices; p; p = p->next)
			if (p->group == dev->group && p->bound)
				return -EBUSY;
	}
	memcpy(old, dev->driver, sizeof(old));
	old_index = dev->vfio_index;
	snprintf(dev->driver, sizeof(dev->driver), "%s", driver);
	dev->vfio_index = -1;
	if (!strcmp(driver, VFIO_PCI_DRIVER))
		dev->vfio_index = vfio_index_alloc(fake);
	ret = fake_sysfs_update_driver(fake, dev, old, old_index);
	if (!ret)
		ret = fake_vgroups_sync(fake);	/* the group follows vfio-pci */
	if (ret) {
		int new_index = dev->vfio_index;
		char cur[sizeof(dev->driver)];

		memcpy(cur, dev->driver, sizeof(cur));
		memcpy(dev->driver, old, sizeof(old));
		dev->vfio_index = old_index;
		(void)fake_sysfs_update_driver(fake, dev, cur, new_index);
		(void)fake_vgroups_sync(fake);
	}
	return ret;
}

FAKE_EXPORT int iommufd_fake_bind_driver(struct iommufd_fake *fake,
					 const char *name, const char *driver)
{
	int ret;

	if (!fake || !name || !driver)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	ret = bind_driver(fake, name, driver);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT int iommufd_fake_device_cdev(struct iommufd_fake *fake,
					 const char *name, char *path,
					 size_t len)
{
	struct fake_device *dev;
	int ret = 0;

	if (!fake || !name || (!path && len))
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	dev = fake_device_find(fake, name);
	if (!dev)
		ret = -ENOENT;
	else if (!fake_device_has_cdev(dev))
		ret = -ENODEV;
	else if ((size_t)snprintf(path, len, FAKE_VFIO_DEV_PREFIX "%d",
				  dev->vfio_index) >= len)
		ret = -ERANGE;
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT int iommufd_fake_device_dma(struct iommufd_fake *fake,
					const char *name, uint64_t iova,
					void *buf, size_t len, bool write)
{
	struct fake_device *dev;
	int ret;

	if (!fake || !name || (!buf && len))
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	dev = fake_device_find(fake, name);
	ret = dev ? fake_device_dma(dev, iova, buf, len, write) : -ENOENT;
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

FAKE_EXPORT int iommufd_fake_dma_stats(struct iommufd_fake *fake,
				       const char *name,
				       struct iommufd_fake_dma_stats *out)
{
	struct iommufd_fake_dma_stats st = { .sz = sizeof(st) };
	struct fake_device *dev;
	size_t sz;

	if (!fake || !name || !out || out->sz < sizeof(size_t))
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	dev = fake_device_find(fake, name);
	if (dev) {
		st.dmas = dev->dmas;
		st.faults = dev->faults;
		st.last_fault_iova = dev->last_fault_iova;
		st.last_fault_write = dev->last_fault_write;
		st.last_fault_reason = dev->last_fault_reason;
	}
	pthread_mutex_unlock(&fake->lock);
	if (!dev)
		return -ENOENT;
	/* Fill what the caller's struct has room for. */
	sz = out->sz < sizeof(st) ? out->sz : sizeof(st);
	st.sz = out->sz;
	memcpy(out, &st, sz);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The default machine                                                 */

int fake_add_default_machine(struct iommufd_fake *fake)
{
	/* Values as QEMU's intel-iommu reports them with aw-bits=39. */
	struct iommufd_fake_iommu_opts dmar0 = {
		.sz = sizeof(dmar0),
		.name = "dmar0",
		.hw_info_type = IOMMU_HW_INFO_TYPE_INTEL_VTD,
		.vtd_cap_reg = 0x00d2008c22260286ull,
		.vtd_ecap_reg = 0x0000000000f00f5eull,
		.dirty_tracking = true,
		.nest_parent = true,
		.pasid_log2 = 20,
		.aperture_last = (UINT64_C(1) << 39) - 1,
	};
	struct iommufd_fake_iommu_opts dmar1 = {
		.sz = sizeof(dmar1),
		.name = "dmar1",
		.hw_info_type = IOMMU_HW_INFO_TYPE_INTEL_VTD,
		.vtd_cap_reg = 0x00d2008c22260286ull,
		.vtd_ecap_reg = 0x0000000000f00f1eull,
		.aperture_last = (UINT64_C(1) << 48) - 1,
	};
	/* An Intel 82574L (e1000e): BAR0 128 KiB of registers, BAR2 32 bytes
	 * of I/O ports, BAR3 16 KiB holding the MSI-X table. */
	struct iommufd_fake_pci_opts nic = {
		.sz = sizeof(nic),
		.bdf = "0000:00:05.0",
		.vendor_id = 0x8086,
		.device_id = 0x10d3,
		.subsystem_vendor_id = 0x8086,
		.subsystem_device_id = 0x0000,
		.class_code = 0x020000,
		.iommu = "dmar1",
		.iommu_group = 2,
		.bars = {
			[0] = { .size = 128u << 10 },
			[2] = { .size = 32, .flags = IOMMUFD_FAKE_BAR_IO },
			[3] = { .size = 16u << 10, .flags = IOMMUFD_FAKE_BAR_MSIX },
		},
		.msi_vectors = 1,
		.msix_vectors = 5,
		.flags = IOMMUFD_FAKE_PCI_PCIE,
	};
	struct iommufd_fake_emulated_opts mdev = {
		.sz = sizeof(mdev),
		.uuid = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		.iommu_group = 3,
	};
	int ret;

	ret = add_iommu(fake, &dmar0);
	if (!ret)
		ret = add_iommu(fake, &dmar1);
	if (!ret)
		ret = add_edu(fake, "0000:00:04.0", "dmar0", 1);
	if (!ret)
		ret = add_pci(fake, &nic, NULL);
	if (!ret)
		ret = add_emulated(fake, &mdev);
	return ret;
}

FAKE_EXPORT int iommufd_fake_add_default_machine(struct iommufd_fake *fake)
{
	int ret;

	if (!fake)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	ret = fake_add_default_machine(fake);
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

void fake_machine_free(struct iommufd_fake *fake)
{
	while (fake->devices) {
		struct fake_device *dev = fake->devices;

		fake->devices = dev->next;
		device_free(dev);
	}
	while (fake->units) {
		struct fake_unit *unit = fake->units;

		fake->units = unit->next;
		free(unit->resv);
		free(unit);
	}
}
