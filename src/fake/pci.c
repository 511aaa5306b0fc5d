/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci's side of a fake PCI function: the device ioctls (GET_INFO,
 * GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET, the hot-reset pair), the
 * regions (config space with the command register honoured, BARs backed by
 * memfds or emulated by a device model) and their mmap, interrupts wired to
 * eventfds, and the low-power features. Modelled on
 * drivers/vfio/pci/vfio_pci_core.c, vfio_pci_intrs.c and vfio_pci_rdwr.c;
 * the rules are the kernel's, the code is ours.
 *
 * The emulated (mdev-like) device uses the same code as its "driver", minus
 * what samples/vfio-mdev drivers lack: hot reset, mmap, device features.
 *
 * What vfio-pci does that is not modelled: virtualising more of config space
 * than the command register, BARs and the MSI/MSI-X control words (the rest is
 * read-only), ioeventfds, INTx unmask through an eventfd (irqfd), SR-IOV and
 * VF tokens, VGA and ROM regions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include "fake-internal.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* Config space registers (pci_regs.h). */
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_BAR0 0x10
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3c
#define CFG_INT_PIN 0x3d
#define CMD_IO 0x0001
#define CMD_MEMORY 0x0002
#define CMD_MASTER 0x0004
#define CMD_SERR 0x0100
#define CMD_INTX_DISABLE 0x0400
#define STATUS_CAP_LIST 0x0010
#define CAP_ID_MSI 0x05
#define CAP_ID_MSIX 0x11
#define CAP_ID_EXP 0x10
#define EXT_CAP_ID_PASID 0x1b
#define MSI_FLAGS_ENABLE 0x0001
#define MSIX_FLAGS_ENABLE 0x8000

#define CAP_MSI_AT 0x40
#define CAP_MSIX_AT 0x50
#define CAP_EXP_AT 0x60

static uint16_t cfg_read16(const struct fake_device *dev, unsigned int off)
{
	return (uint16_t)(dev->cfg[off] | dev->cfg[off + 1] << 8);
}

static void cfg_write16(struct fake_device *dev, unsigned int off, uint16_t v)
{
	dev->cfg[off] = (uint8_t)v;
	dev->cfg[off + 1] = (uint8_t)(v >> 8);
}

static void cfg_write32(struct fake_device *dev, unsigned int off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		dev->cfg[off + (unsigned int)i] = (uint8_t)(v >> (8 * i));
}

static void wmask32(struct fake_device *dev, unsigned int off, uint32_t m)
{
	for (int i = 0; i < 4; i++)
		dev->wmask[off + (unsigned int)i] = (uint8_t)(m >> (8 * i));
}

static void wmask16(struct fake_device *dev, unsigned int off, uint16_t m)
{
	dev->wmask[off] = (uint8_t)m;
	dev->wmask[off + 1] = (uint8_t)(m >> 8);
}

bool fake_pci_bus_master(const struct fake_device *dev)
{
	if (dev->kind == FAKE_DEV_EMULATED)
		return true;
	return cfg_read16(dev, CFG_COMMAND) & CMD_MASTER;
}

static bool memory_enabled(const struct fake_device *dev)
{
	if (dev->kind == FAKE_DEV_EMULATED)
		return true;
	return cfg_read16(dev, CFG_COMMAND) & CMD_MEMORY;
}

static unsigned int ilog2_u32(uint32_t v)
{
	unsigned int l = 0;

	while (v >>= 1)
		l++;
	return l;
}

/* ------------------------------------------------------------------ */
/* Config space                                                        */

void fake_pci_init_config(struct fake_device *dev)
{
	uint64_t mem32 = 0xe0000000, mem64 = UINT64_C(0x8000000000);
	uint32_t io = 0xc000 + (uint32_t)dev->devfn * 0x100;
	uint8_t *next = &dev->cfg[CFG_CAP_PTR];
	bool has_io = false, has_mem = false;

	dev->cfg_size = dev->pcie ? FAKE_PCIE_CFG_SIZE : FAKE_PCI_CFG_SIZE;
	memset(dev->cfg, 0, sizeof(dev->cfg));
	memset(dev->wmask, 0, sizeof(dev->wmask));
	cfg_write16(dev, 0x00, dev->vendor_id);
	cfg_write16(dev, 0x02, dev->device_id);
	dev->cfg[0x08] = dev->revision;
	dev->cfg[0x09] = (uint8_t)dev->class_code;
	dev->cfg[0x0a] = (uint8_t)(dev->class_code >> 8);
	dev->cfg[0x0b] = (uint8_t)(dev->class_code >> 16);
	cfg_write16(dev, 0x2c, dev->subsystem_vendor_id);
	cfg_write16(dev, 0x2e, dev->subsystem_device_id);
	dev->cfg[CFG_INT_PIN] = dev->nr_intx ? 1 : 0;
	dev->wmask[CFG_INT_LINE] = 0xff;
	wmask16(dev, CFG_COMMAND, CMD_IO | CMD_MEMORY | CMD_MASTER | CMD_SERR |
					  CMD_INTX_DISABLE);

	/* BARs, at addresses the "firmware" gave them; writable bits are the
	 * address bits, so that sizing by writing all ones works. */
	for (int i = 0; i < FAKE_NR_BARS; i++) {
		const struct fake_bar *b = &dev->bars[i];
		unsigned int off = CFG_BAR0 + 4u * (unsigned int)i;
		uint64_t addr;

		if (!b->size)
			continue;
		if (b->flags & IOMMUFD_FAKE_BAR_IO) {
			io = (io + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
			cfg_write32(dev, off, io | 1);
			wmask32(dev, off, ~((uint32_t)b->size - 1) & ~3u);
			io += (uint32_t)b->size;
			has_io = true;
			continue;
		}
		has_mem = true;
		if (b->flags & IOMMUFD_FAKE_BAR_MEM64) {
			mem64 = (mem64 + b->size - 1) & ~(b->size - 1);
			addr = mem64;
			mem64 += b->size;
		} else {
			mem32 = (mem32 + b->size - 1) & ~(b->size - 1);
			addr = mem32;
			mem32 += b->size;
		}
		cfg_write32(dev, off, (uint32_t)addr |
					      ((b->flags & IOMMUFD_FAKE_BAR_MEM64) ? 4 : 0) |
					      ((b->flags & IOMMUFD_FAKE_BAR_PREFETCH) ? 8 : 0));
		wmask32(dev, off, (uint32_t)~(b->size - 1) & ~0xfu);
		if (b->flags & IOMMUFD_FAKE_BAR_MEM64) {
			cfg_write32(dev, off + 4, (uint32_t)(addr >> 32));
			wmask32(dev, off + 4, (uint32_t)(~(b->size - 1) >> 32));
			i++;
		}
	}
	/* As firmware (and then the host driver) left it: vfio-pci clears bus
	 * mastering when it opens the device. */
	if (dev->kind == FAKE_DEV_PCI)
		cfg_write16(dev, CFG_COMMAND, CMD_SERR | CMD_MASTER |
						      (has_mem ? CMD_MEMORY : 0) |
						      (has_io || has_mem ? CMD_IO : 0));

	if (dev->nr_msi) {
		unsigned int at = CAP_MSI_AT;

		*next = (uint8_t)at;
		dev->cfg[at] = CAP_ID_MSI;
		/* 64-bit, Multiple Message Capable = log2(vectors) */
		cfg_write16(dev, at + 2, (uint16_t)(0x80 | ilog2_u32(dev->nr_msi) << 1));
		wmask16(dev, at + 2, 0x0071);		/* enable, MME */
		wmask32(dev, at + 4, 0xfffffffc);	/* address */
		wmask32(dev, at + 8, 0xffffffff);
		wmask16(dev, at + 12, 0xffff);		/* data */
		dev->msi_cap = (uint8_t)at;
		next = &dev->cfg[at + 1];
	}
	if (dev->nr_msix) {
		unsigned int at = CAP_MSIX_AT;
		int bir = 0;

		for (int i = 0; i < FAKE_NR_BARS; i++)
			if (dev->bars[i].flags & IOMMUFD_FAKE_BAR_MSIX)
				bir = i;
		*next = (uint8_t)at;
		dev->cfg[at] = CAP_ID_MSIX;
		cfg_write16(dev, at + 2, (uint16_t)(dev->nr_msix - 1));
		wmask16(dev, at + 2, 0xc000);		/* enable, function mask */
		cfg_write32(dev, at + 4, (uint32_t)dev->bars[bir].msix_start |
						 (uint32_t)bir);
		cfg_write32(dev, at + 8, (uint32_t)(dev->bars[bir].msix_start +
						    16u * dev->nr_msix) |
						 (uint32_t)bir);
		dev->msix_cap = (uint8_t)at;
		next = &dev->cfg[at + 1];
	}
	if (dev->pcie) {
		unsigned int at = CAP_EXP_AT;

		*next = (uint8_t)at;
		dev->cfg[at] = CAP_ID_EXP;
		cfg_write16(dev, at + 2, 0x0002);	/* v2, endpoint */
		/* Device Capabilities: Function Level Reset */
		cfg_write32(dev, at + 4, dev->reset_works ? 1u << 28 : 0);
		next = &dev->cfg[at + 1];
		if (dev->pasid && dev->unit && dev->unit->pasid_log2) {
			/* PASID extended capability: max width, enabled */
			cfg_write32(dev, 0x100, EXT_CAP_ID_PASID | 1u << 16);
			cfg_write16(dev, 0x104,
				    (uint16_t)(dev->unit->pasid_log2 << 8));
			cfg_write16(dev, 0x106, 0x0001);
		}
	}
	if (dev->cfg[CFG_CAP_PTR])
		cfg_write16(dev, CFG_STATUS, STATUS_CAP_LIST);
}

/* One aligned access of 1, 2 or 4 bytes. */
static void config_access(struct fake_device *dev, unsigned int off,
			  unsigned int size, uint8_t *data, bool write)
{
	uint16_t old_cmd = cfg_read16(dev, CFG_COMMAND);

	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i;

		if (!write) {
			data[i] = dev->cfg[o];
			continue;
		}
		dev->cfg[o] = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) |
					(data[i] & dev->wmask[o]));
	}
	/* Unmasking INTx at the device lets a pending level through. */
	if (write && (old_cmd & CMD_INTX_DISABLE) &&
	    !(cfg_read16(dev, CFG_COMMAND) & CMD_INTX_DISABLE) &&
	    dev->intx_level)
		fake_pci_set_irq(dev, true);
}

static ssize_t config_rw(struct fake_device *dev, char *ubuf, size_t count,
			 uint64_t pos, bool write)
{
	size_t done = 0;

	/* vfio_config_do_rw(): the whole access within config space. */
	if (pos >= dev->cfg_size || count > dev->cfg_size - pos)
		return -EFAULT;
	while (done < count) {
		unsigned int off = (unsigned int)(pos + done);
		size_t left = count - done;
		unsigned int size = (left >= 4 && !(off % 4)) ? 4 :
				    (left >= 2 && !(off % 2)) ? 2 : 1;
		uint8_t data[4];

		if (write) {
			if (fake_copy_from_user(data, ubuf + done, size))
				return done ? (ssize_t)done : -EFAULT;
			config_access(dev, off, size, data, true);
		} else {
			config_access(dev, off, size, data, false);
			if (fake_copy_to_user(ubuf + done, data, size))
				return done ? (ssize_t)done : -EFAULT;
		}
		done += size;
	}
	return (ssize_t)done;
}

/* ------------------------------------------------------------------ */
/* BARs                                                                */

static bool bar_is_model(const struct fake_device *dev, int bar)
{
	return dev->model && dev->model->model_bar == bar;
}

int fake_pci_alloc_bars(struct fake_device *dev)
{
	uint64_t page = dev->fake->page_size;

	for (int i = 0; i < FAKE_NR_BARS; i++) {
		struct fake_bar *b = &dev->bars[i];
		uint64_t len = (b->size + page - 1) & ~(page - 1);
		int fd;

		if (!b->size || bar_is_model(dev, i))
			continue;
		fd = memfd_create("iommufd-fake-bar", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)len)) {
			int ret = -errno;

			close(fd);
			return ret;
		}
		b->memfd = fd;
	}
	return 0;
}

static void close_efd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void fake_pci_free(struct fake_device *dev)
{
	for (int i = 0; i < FAKE_NR_BARS; i++)
		close_efd(&dev->bars[i].memfd);
	for (uint32_t i = 0; i < dev->nr_irq_efds; i++)
		close_efd(&dev->irq_efds[i]);
	free(dev->irq_efds);
	dev->irq_efds = NULL;
	dev->nr_irq_efds = 0;
	close_efd(&dev->intx_efd);
	close_efd(&dev->err_efd);
	close_efd(&dev->req_efd);
	fake_dma_log_stop(dev);
}

/* One access of 1, 2, 4 or 8 bytes at @off of a BAR. */
static void bar_access(struct fake_device *dev, int bar, uint64_t off,
		       unsigned int size, uint8_t *data, bool write)
{
	const struct fake_bar *b = &dev->bars[bar];
	uint64_t val = 0;

	/* The MSI-X table and PBA belong to vfio-pci: reads give all ones,
	 * writes are dropped. */
	if (b->msix_size && off < b->msix_start + b->msix_size &&
	    off + size > b->msix_start) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (bar_is_model(dev, bar)) {
		if (write) {
			memcpy(&val, data, size);
			dev->model->write(dev, off, size, val);
			return;
		}
		if (!dev->model->read(dev, off, size, &val))
			val = UINT64_MAX;
		memcpy(data, &val, size);
		return;
	}
	if (write) {
		if (pwrite(b->memfd, data, size, (off_t)off) != (ssize_t)size)
			return;
	} else if (pread(b->memfd, data, size, (off_t)off) != (ssize_t)size) {
		memset(data, 0xff, size);
	}
}

static ssize_t bar_rw(struct fake_device *dev, int bar, char *ubuf,
		      size_t count, uint64_t pos, bool write)
{
	const struct fake_bar *b = &dev->bars[bar];
	size_t done = 0;

	if (!b->size)
		return -EINVAL;
	if (pos >= b->size)
		return -EINVAL;
	if (count > b->size - pos)
		count = (size_t)(b->size - pos);
	/* vfio_pci_core_do_io_rw(): MMIO with memory decode off is -EIO. */
	if (!(b->flags & IOMMUFD_FAKE_BAR_IO) && !memory_enabled(dev))
		return -EIO;
	while (done < count) {
		uint64_t off = pos + done;
		size_t left = count - done;
		unsigned int size = (left >= 8 && !(off % 8)) ? 8 :
				    (left >= 4 && !(off % 4)) ? 4 :
				    (left >= 2 && !(off % 2)) ? 2 : 1;
		uint8_t data[8];

		if (write) {
			if (fake_copy_from_user(data, ubuf + done, size))
				return done ? (ssize_t)done : -EFAULT;
			bar_access(dev, bar, off, size, data, true);
		} else {
			bar_access(dev, bar, off, size, data, false);
			if (fake_copy_to_user(ubuf + done, data, size))
				return done ? (ssize_t)done : -EFAULT;
		}
		done += size;
	}
	return (ssize_t)done;
}

/* vfio_pci_probe_mmaps(): memory BARs of at least a page. */
static bool bar_mmappable(const struct fake_device *dev, int bar)
{
	const struct fake_bar *b = &dev->bars[bar];

	if (dev->kind == FAKE_DEV_EMULATED || !b->size || b->memfd < 0)
		return false;
	if (b->flags & (IOMMUFD_FAKE_BAR_IO | IOMMUFD_FAKE_BAR_NO_MMAP))
		return false;
	return b->size >= dev->fake->page_size;
}

/* The BAR whose upper half index @i is (a 64-bit BAR's second slot). */
static bool bar_is_upper_half(const struct fake_device *dev, int i)
{
	return i > 0 && dev->bars[i - 1].size &&
	       (dev->bars[i - 1].flags & IOMMUFD_FAKE_BAR_MEM64);
}

ssize_t fake_pci_rw(struct fake_df *df, void *buf, size_t count, off_t off,
		    bool write)
{
	struct fake_device *dev = df->dev;
	uint64_t index = (uint64_t)off >> FAKE_VFIO_PCI_OFFSET_SHIFT;
	uint64_t pos = (uint64_t)off & FAKE_VFIO_PCI_OFFSET_MASK;

	if (!count)
		return 0;
	if (off < 0 || index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return config_rw(dev, buf, count, pos, write);
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		if (bar_is_upper_half(dev, (int)index))
			return -EINVAL;
		return bar_rw(dev, (int)index, buf, count, pos, write);
	default:	/* no ROM, no VGA */
		return -EINVAL;
	}
}

int fake_pci_mmap(struct fake_df *df, size_t length, int prot, int flags,
		  off_t offset, void **out)
{
	struct fake_device *dev = df->dev;
	uint64_t page = dev->fake->page_size;
	uint64_t index = (uint64_t)offset >> FAKE_VFIO_PCI_OFFSET_SHIFT;
	uint64_t start = (uint64_t)offset & FAKE_VFIO_PCI_OFFSET_MASK;
	const struct fake_bar *b;
	uint64_t phys_len;
	void *p;

	/* mmap(2)'s own checks come first. */
	if (!length || (offset & (off_t)(page - 1)) || offset < 0)
		return -EINVAL;
	if (dev->kind == FAKE_DEV_EMULATED)
		return -EINVAL;	/* the driver has no mmap */
	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	if ((flags & MAP_TYPE) != MAP_SHARED)
		return -EINVAL;
	if (index >= VFIO_PCI_ROM_REGION_INDEX)
		return -EINVAL;
	if (bar_is_upper_half(dev, (int)index) || !bar_mmappable(dev, (int)index))
		return -EINVAL;
	b = &dev->bars[index];
	phys_len = (b->size + page - 1) & ~(page - 1);
	if (length > phys_len || start > phys_len - length)
		return -EINVAL;
	/* The MSI-X table's pages: vfio-pci refuses them (before 4.16, and
	 * variant drivers with sparse areas). */
	if (b->hole_size && start < b->hole_start + b->hole_size &&
	    start + length > b->hole_start)
		return -EINVAL;
	p = mmap(*out, length, prot, flags, b->memfd, (off_t)start);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */

/* eventfd_ctx_fdget(): our own reference (a dup) on an eventfd. */
static int eventfd_get(int fd, int *out)
{
	char link[64], target[64];
	struct stat st;
	ssize_t n;
	int dup;

	if (fd < 0 || fstat(fd, &st))
		return -EBADF;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]"))
			return -EINVAL;
	}
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return -errno;
	*out = dup;
	return 0;
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one)) {
		/* a full counter: the kernel would saturate it too */
	}
}

static void irqs_disable(struct fake_device *dev)
{
	for (uint32_t i = 0; i < dev->nr_irq_efds; i++)
		close_efd(&dev->irq_efds[i]);
	free(dev->irq_efds);
	dev->irq_efds = NULL;
	dev->nr_irq_efds = 0;
	close_efd(&dev->intx_efd);
	dev->intx_masked = false;
	dev->irq_type = -1;
}

void fake_pci_set_irq(struct fake_device *dev, bool level)
{
	if (!level) {
		dev->intx_level = false;
		return;
	}
	if ((dev->irq_type == VFIO_PCI_MSI_IRQ_INDEX ||
	     dev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX) &&
	    dev->nr_irq_efds) {
		eventfd_signal(dev->irq_efds[0]);	/* edge: vector 0 */
		return;
	}
	dev->intx_level = true;
	if (dev->irq_type != VFIO_PCI_INTX_IRQ_INDEX || dev->intx_masked ||
	    (cfg_read16(dev, CFG_COMMAND) & CMD_INTX_DISABLE))
		return;
	/* vfio_intx_handler(): signal, and mask until the user unmasks. */
	eventfd_signal(dev->intx_efd);
	dev->intx_masked = true;
}

static uint32_t irq_count(const struct fake_device *dev, uint32_t index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return dev->cfg[CFG_INT_PIN] ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		return dev->nr_msi;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return dev->nr_msix;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return dev->pcie ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

static int intx_unmask(struct fake_device *dev)
{
	dev->intx_masked = false;
	if (dev->intx_level)
		fake_pci_set_irq(dev, true);
	return 0;
}

static int set_intx_mask(struct fake_device *dev, uint32_t start,
			 uint32_t count, uint32_t flags, const uint8_t *data)
{
	if (dev->irq_type != VFIO_PCI_INTX_IRQ_INDEX || start || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		return -ENOTTY;
	if ((flags & VFIO_IRQ_SET_DATA_NONE) || data[0])
		dev->intx_masked = true;
	return 0;
}

static int set_intx_unmask(struct fake_device *dev, uint32_t start,
			   uint32_t count, uint32_t flags, const uint8_t *data)
{
	if (dev->irq_type != VFIO_PCI_INTX_IRQ_INDEX || start || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		return -ENOTTY;	/* irqfd unmask: not modelled */
	if ((flags & VFIO_IRQ_SET_DATA_NONE) || data[0])
		return intx_unmask(dev);
	return 0;
}

static int set_intx_trigger(struct fake_device *dev, uint32_t start,
			    uint32_t count, uint32_t flags, const uint8_t *data)
{
	bool is_intx = dev->irq_type == VFIO_PCI_INTX_IRQ_INDEX;

	if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		irqs_disable(dev);
		return 0;
	}
	if ((!is_intx && dev->irq_type >= 0) || start || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd;
		int efd = -1, ret;

		memcpy(&fd, data, sizeof(fd));
		if (fd >= 0) {
			ret = eventfd_get(fd, &efd);
			if (ret)
				return ret;
		}
		if (!is_intx) {
			dev->irq_type = VFIO_PCI_INTX_IRQ_INDEX;
			dev->intx_masked = false;
		}
		close_efd(&dev->intx_efd);
		dev->intx_efd = efd;
		/* A level already asserted fires once the line is wired. */
		if (dev->intx_level && !dev->intx_masked)
			fake_pci_set_irq(dev, true);
		return 0;
	}
	if (!is_intx)
		return -EINVAL;
	if ((flags & VFIO_IRQ_SET_DATA_NONE) || data[0]) {
		eventfd_signal(dev->intx_efd);
		dev->intx_masked = true;
	}
	return 0;
}

static int set_msi_trigger(struct fake_device *dev, uint32_t index,
			   uint32_t start, uint32_t count, uint32_t flags,
			   const uint8_t *data)
{
	bool is_this = dev->irq_type == (int)index;
	bool msix = index == VFIO_PCI_MSIX_IRQ_INDEX;

	if (is_this && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		irqs_disable(dev);
		return 0;
	}
	if (!is_this && dev->irq_type >= 0)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		uint32_t nvec = is_this ? dev->nr_irq_efds : start + count;
		int *efds;

		if (!nvec)
			return -EINVAL;
		/* MSI's vector count is fixed at enable; MSI-X grows (dynamic
		 * allocation). */
		if (is_this && start + count > nvec) {
			if (!msix)
				return -EINVAL;
			nvec = start + count;
		}
		efds = malloc(nvec * sizeof(*efds));
		if (!efds)
			return -ENOMEM;
		for (uint32_t i = 0; i < nvec; i++)
			efds[i] = i < dev->nr_irq_efds ? dev->irq_efds[i] : -1;
		/* Take every new eventfd before changing anything. */
		for (uint32_t i = 0; i < count; i++) {
			int32_t fd;
			int ret;

			memcpy(&fd, data + i * sizeof(fd), sizeof(fd));
			efds[start + i] = -2 - (int)i;	/* placeholder */
			if (fd < 0)
				continue;
			ret = eventfd_get(fd, &efds[start + i]);
			if (ret) {
				for (uint32_t j = 0; j < i; j++)
					if (efds[start + j] >= 0)
						close(efds[start + j]);
				free(efds);
				return ret;
			}
		}
		for (uint32_t i = 0; i < count; i++) {
			if (start + i < dev->nr_irq_efds)
				close_efd(&dev->irq_efds[start + i]);
			if (efds[start + i] < -1)
				efds[start + i] = -1;
		}
		free(dev->irq_efds);
		dev->irq_efds = efds;
		dev->nr_irq_efds = nvec;
		dev->irq_type = (int)index;
		return 0;
	}
	if (!is_this)
		return -EINVAL;
	for (uint32_t i = start; i < start + count && i < dev->nr_irq_efds; i++)
		if ((flags & VFIO_IRQ_SET_DATA_NONE) || data[i - start])
			eventfd_signal(dev->irq_efds[i]);
	return 0;
}

/* vfio_pci_set_ctx_trigger_single(): the ERR and REQ eventfds. */
static int set_single_trigger(int *efd, uint32_t count, uint32_t flags,
			      const uint8_t *data)
{
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*efd >= 0) {
			if (count)
				eventfd_signal(*efd);
			else
				close_efd(efd);
		}
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (!count)
			return -EINVAL;
		if (data[0] && *efd >= 0)
			eventfd_signal(*efd);
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd;
		int new_fd, ret;

		if (!count)
			return -EINVAL;
		memcpy(&fd, data, sizeof(fd));
		if (fd == -1) {
			close_efd(efd);
		} else if (fd >= 0) {
			ret = eventfd_get(fd, &new_fd);
			if (ret)
				return ret;
			close_efd(efd);
			*efd = new_fd;
		}
		return 0;
	}
	return -EINVAL;
}

static int ioctl_set_irqs(struct fake_device *dev, void *arg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	uint32_t dtype, max, size = 0;
	struct vfio_irq_set hdr;
	uint8_t *data = NULL;
	int ret;

	if (fake_copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	max = irq_count(dev, hdr.index);
	/* vfio_set_irqs_validate_and_prepare() */
	if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS ||
	    hdr.count >= UINT32_MAX - hdr.start ||
	    (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK |
			   VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	if (hdr.start >= max || hdr.start + hdr.count > max)
		return -EINVAL;
	dtype = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	if (dtype == VFIO_IRQ_SET_DATA_BOOL)
		size = 1;
	else if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
		size = 4;
	else if (dtype != VFIO_IRQ_SET_DATA_NONE)
		return -EINVAL;
	if (size) {
		if (hdr.argsz - minsz < (uint64_t)hdr.count * size)
			return -EINVAL;
		if (hdr.count) {
			data = malloc((size_t)hdr.count * size);
			if (!data)
				return -ENOMEM;
			if (fake_copy_from_user(data, (char *)arg + minsz,
						(size_t)hdr.count * size)) {
				free(data);
				return -EFAULT;
			}
		}
	}
	/* vfio_pci_set_irqs_ioctl(): no handler is ENOTTY. */
	ret = -ENOTTY;
	switch (hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) {
	case VFIO_IRQ_SET_ACTION_MASK:
		if (hdr.index == VFIO_PCI_INTX_IRQ_INDEX)
			ret = set_intx_mask(dev, hdr.start, hdr.count,
					    hdr.flags, data);
		break;
	case VFIO_IRQ_SET_ACTION_UNMASK:
		if (hdr.index == VFIO_PCI_INTX_IRQ_INDEX)
			ret = set_intx_unmask(dev, hdr.start, hdr.count,
					      hdr.flags, data);
		break;
	case VFIO_IRQ_SET_ACTION_TRIGGER:
		switch (hdr.index) {
		case VFIO_PCI_INTX_IRQ_INDEX:
			ret = set_intx_trigger(dev, hdr.start, hdr.count,
					       hdr.flags, data);
			break;
		case VFIO_PCI_MSI_IRQ_INDEX:
		case VFIO_PCI_MSIX_IRQ_INDEX:
			ret = set_msi_trigger(dev, hdr.index, hdr.start,
					      hdr.count, hdr.flags, data);
			break;
		case VFIO_PCI_ERR_IRQ_INDEX:
			if (dev->pcie)
				ret = set_single_trigger(&dev->err_efd,
							 hdr.count, hdr.flags,
							 data);
			break;
		case VFIO_PCI_REQ_IRQ_INDEX:
			ret = set_single_trigger(&dev->req_efd, hdr.count,
						 hdr.flags, data);
			break;
		}
		break;
	}
	free(data);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Open and close (vfio_pci_core_enable/disable)                       */

void fake_pci_open_device(struct fake_device *dev)
{
	uint16_t cmd = cfg_read16(dev, CFG_COMMAND);
	bool has_mem = false, has_io = false;

	for (int i = 0; i < FAKE_NR_BARS; i++) {
		if (!dev->bars[i].size)
			continue;
		if (dev->bars[i].flags & IOMMUFD_FAKE_BAR_IO)
			has_io = true;
		else
			has_mem = true;
	}
	/* pci_clear_master(), pci_enable_device(), INTx unmasked */
	cmd &= (uint16_t)~(CMD_MASTER | CMD_INTX_DISABLE);
	if (has_mem)
		cmd |= CMD_MEMORY;
	if (has_io)
		cmd |= CMD_IO;
	if (dev->kind == FAKE_DEV_PCI)
		cfg_write16(dev, CFG_COMMAND, cmd);
	dev->saved_cmd = cfg_read16(dev, CFG_COMMAND);
	dev->irq_type = -1;
	dev->low_power = false;
}

void fake_pci_close_device(struct fake_device *dev)
{
	irqs_disable(dev);
	close_efd(&dev->err_efd);
	close_efd(&dev->req_efd);
	dev->low_power = false;
	/* The driver's close stops its DMA logging (mlx5 frees the tracker). */
	fake_dma_log_stop(dev);
	/* The virtual MSI/MSI-X enables go with vfio's vconfig. */
	if (dev->msi_cap)
		dev->cfg[dev->msi_cap + 2] &= (uint8_t)~MSI_FLAGS_ENABLE;
	if (dev->msix_cap)
		dev->cfg[dev->msix_cap + 3] &= (uint8_t)~(MSIX_FLAGS_ENABLE >> 8);
	/* Reset (where it works) and restore the state saved at open: bus
	 * mastering off. */
	if (dev->reset_works && dev->model && dev->model->reset)
		dev->model->reset(dev);
	if (dev->kind == FAKE_DEV_PCI)
		cfg_write16(dev, CFG_COMMAND, dev->saved_cmd);
}

/* ------------------------------------------------------------------ */
/* Ioctls                                                              */

static int ioctl_get_info(struct fake_device *dev, void *arg)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info = { 0 };

	if (fake_copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.argsz < sizeof(info))
		minsz = info.argsz;
	else
		minsz = sizeof(info);
	info.flags = VFIO_DEVICE_FLAGS_PCI;
	if (dev->reset_works)
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return fake_copy_to_user(arg, &info, minsz);
}

static int ioctl_get_region_info(struct fake_device *dev, void *arg)
{
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	uint64_t page = dev->fake->page_size;
	struct vfio_region_info_cap_sparse_mmap hdr = { 0 };
	struct vfio_region_sparse_mmap_area areas[2] = { { 0 } };
	uint8_t caps[sizeof(hdr) + sizeof(areas)];
	struct vfio_region_info info;
	size_t caps_size = 0;

	if (fake_copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.offset = FAKE_VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.size = dev->cfg_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX: {
		const struct fake_bar *b = &dev->bars[info.index];

		info.offset = FAKE_VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.size = bar_is_upper_half(dev, (int)info.index) ? 0 : b->size;
		if (!info.size) {
			info.flags = 0;
			break;
		}
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		if (!bar_mmappable(dev, (int)info.index))
			break;
		info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
		if (b->hole_size) {
			uint32_t n = 0;
			uint64_t end = (b->size + page - 1) & ~(page - 1);

			if (b->hole_start) {
				areas[n].offset = 0;
				areas[n].size = b->hole_start;
				n++;
			}
			if (b->hole_start + b->hole_size < end) {
				areas[n].offset = b->hole_start + b->hole_size;
				areas[n].size = end - areas[n].offset;
				n++;
			}
			hdr.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
			hdr.header.version = 1;
			hdr.nr_areas = n;
			memcpy(caps, &hdr, sizeof(hdr));
			memcpy(caps + sizeof(hdr), areas, n * sizeof(areas[0]));
			caps_size = sizeof(hdr) + n * sizeof(areas[0]);
		}
		break;
	}
	case VFIO_PCI_ROM_REGION_INDEX:
		info.offset = FAKE_VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.flags = 0;
		info.size = 0;
		break;
	default:	/* no VGA, no device-specific regions */
		return -EINVAL;
	}
	if (caps_size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + caps_size) {
			info.argsz = (uint32_t)(sizeof(info) + caps_size);
			info.cap_offset = 0;
		} else {
			if (fake_copy_to_user((char *)arg + sizeof(info), caps,
					      caps_size))
				return -EFAULT;
			info.cap_offset = sizeof(info);
		}
	}
	return fake_copy_to_user(arg, &info, minsz);
}

static int ioctl_get_irq_info(struct fake_device *dev, void *arg)
{
	size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (fake_copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !dev->pcie)
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = irq_count(dev, info.index);
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else if (info.index != VFIO_PCI_MSIX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_NORESIZE;	/* MSI-X: dynamic */
	return fake_copy_to_user(arg, &info, minsz);
}

static void device_reset(struct fake_device *dev)
{
	/* pci_try_reset_function() saves and restores config space around
	 * the reset: only the device's own state goes back to power-on. */
	if (dev->model && dev->model->reset)
		dev->model->reset(dev);
	dev->intx_level = false;
}

/* The devices a hot reset of @dev's bus resets, sorted (pci_walk_bus()). */
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

/* In the device set: a vfio-pci device of the same bus. */
static bool in_dev_set(const struct fake_device *p)
{
	return p->vfio_index >= 0;
}

static int ioctl_hot_reset_info(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_dependent_device *devices;
	struct fake_device *dev = df->dev;
	struct vfio_pci_hot_reset_info hdr;
	struct fake_device **peers;
	size_t count;
	int ret = 0;

	if (fake_copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	hdr.flags = 0;
	if (!dev->reset_group)
		return -ENODEV;	/* the root bus: no slot or bus reset */
	count = reset_peers(dev, NULL, 0);
	if (count > (hdr.argsz - sizeof(hdr)) / sizeof(*devices)) {
		hdr.count = (uint32_t)count;
		if (fake_copy_to_user(arg, &hdr, minsz))
			return -EFAULT;
		return -ENOSPC;
	}
	peers = calloc(count, sizeof(*peers));
	devices = calloc(count, sizeof(*devices));
	if (!peers || !devices) {
		free(peers);
		free(devices);
		return -ENOMEM;
	}
	reset_peers(dev, peers, count);
	/* Through a cdev: devids, and whether all are owned. */
	hdr.flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		    VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	for (size_t i = 0; i < count; i++) {
		struct fake_device *p = peers[i];

		devices[i].segment = (uint16_t)p->domain;
		devices[i].bus = p->bus;
		devices[i].devfn = p->devfn;
		if (!in_dev_set(p)) {
			devices[i].devid = (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
		} else {
			int id = fake_device_devid(p, df->ictx);

			if (id > 0)
				devices[i].devid = (uint32_t)id;
			else if (id == -ENOENT)
				devices[i].devid = VFIO_PCI_DEVID_OWNED;
			else
				devices[i].devid = (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
		}
		if (devices[i].devid == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED)
			hdr.flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	}
	if (fake_copy_to_user((char *)arg + sizeof(hdr), devices,
			      count * sizeof(*devices)))
		ret = -EFAULT;
	hdr.count = (uint32_t)count;
	if (!ret && fake_copy_to_user(arg, &hdr, minsz))
		ret = -EFAULT;
	free(peers);
	free(devices);
	return ret;
}

static int ioctl_hot_reset(struct fake_df *df, void *arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct fake_device *dev = df->dev;
	struct vfio_pci_hot_reset hdr;
	struct fake_device **peers;
	size_t count;
	int ret = 0;

	if (fake_copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags)
		return -EINVAL;
	/* A cdev passes no group fds. */
	if (hdr.count)
		return -EINVAL;
	if (!dev->reset_group)
		return -ENODEV;
	count = reset_peers(dev, NULL, 0);
	peers = calloc(count, sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	reset_peers(dev, peers, count);
	/* vfio_pci_dev_set_hot_reset(): every device of the bus is in the
	 * device set, and each is owned by this iommufd (bound to it, or in a
	 * group some device of which is). */
	for (size_t i = 0; i < count && !ret; i++) {
		int id;

		if (!in_dev_set(peers[i])) {
			ret = -EINVAL;
			break;
		}
		id = fake_device_devid(peers[i], df->ictx);
		if (id <= 0 && id != -ENOENT)
			ret = -EINVAL;
	}
	if (!ret)
		for (size_t i = 0; i < count; i++)
			device_reset(peers[i]);
	free(peers);
	return ret;
}

long fake_pci_ioctl(struct fake_df *df, unsigned long cmd, void *arg)
{
	struct fake_device *dev = df->dev;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return ioctl_get_info(dev, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return ioctl_get_region_info(dev, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return ioctl_get_irq_info(dev, arg);
	case VFIO_DEVICE_SET_IRQS:
		return ioctl_set_irqs(dev, arg);
	case VFIO_DEVICE_RESET:
		if (!dev->reset_works)
			return -EINVAL;
		device_reset(dev);
		return 0;
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		if (dev->kind != FAKE_DEV_PCI)
			return -ENOTTY;
		return ioctl_hot_reset_info(df, arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		if (dev->kind != FAKE_DEV_PCI)
			return -ENOTTY;
		return ioctl_hot_reset(df, arg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------------ */
/* Device features of vfio-pci (vfio_pci_core_ioctl_feature())          */

int fake_vfio_check_feature(uint32_t flags, size_t argsz, uint32_t supported,
			    size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) &
	    ~supported)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

int fake_pci_feature(struct fake_df *df, uint32_t flags, void *arg,
		     size_t argsz)
{
	struct fake_device *dev = df->dev;
	int ret;

	if (dev->kind != FAKE_DEV_PCI)
		return -EINVAL;	/* the mdev driver has no device_feature */
	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		ret = fake_vfio_check_feature(flags, argsz,
					      VFIO_DEVICE_FEATURE_SET, 0);
		if (ret != 1)
			return ret;
		if (dev->low_power)
			return -EINVAL;
		dev->low_power = true;
		return 0;
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: {
		struct vfio_device_low_power_entry_with_wakeup entry;
		int efd;

		ret = fake_vfio_check_feature(flags, argsz,
					      VFIO_DEVICE_FEATURE_SET,
					      sizeof(entry));
		if (ret != 1)
			return ret;
		if (fake_copy_from_user(&entry, arg, sizeof(entry)))
			return -EFAULT;
		if (entry.wakeup_eventfd < 0)
			return -EINVAL;
		ret = eventfd_get(entry.wakeup_eventfd, &efd);
		if (ret)
			return ret;
		if (dev->low_power) {
			close(efd);
			return -EINVAL;
		}
		/* The wakeup fires when the device resumes (not modelled:
		 * the eventfd is only held until LOW_POWER_EXIT). */
		close(efd);
		dev->low_power = true;
		return 0;
	}
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		ret = fake_vfio_check_feature(flags, argsz,
					      VFIO_DEVICE_FEATURE_SET, 0);
		if (ret != 1)
			return ret;
		dev->low_power = false;
		return 0;
	case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:	/* not an SR-IOV PF */
	default:
		return -ENOTTY;
	}
}
