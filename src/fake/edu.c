/* SPDX-License-Identifier: MIT */
/*
 * QEMU's edu device (hw/misc/edu.c, PCI 1234:11e8) as a model behind a fake
 * PCI function: BAR0's registers, the factorial unit, the interrupt status
 * with MSI (vector 0, when enabled through VFIO_DEVICE_SET_IRQS) or INTx, and
 * the DMA engine, whose transfers go through the device's IOMMU translation
 * of the moment (device.c) into the memory mapped there.
 *
 *   0x00 (RO) identification 0x010000ed      0x60 (WO) raise interrupt
 *   0x04 (RW) liveness: reads ~written       0x64 (WO) acknowledge interrupt
 *   0x08 (RW) factorial                      0x80 (RW) DMA source
 *   0x20 (RW) status: bit 0 computing,       0x88 (RW) DMA destination
 *             bit 7 interrupt on factorial   0x90 (RW) DMA count
 *   0x24 (RO) interrupt status               0x98 (RW) DMA command: bit 0
 *                                                      start, bit 1 device
 *                                                      to RAM, bit 2 raise
 *                                                      0x100 when done
 *
 * Below 0x80 only 4-byte accesses count; from 0x80, 4 and 8. The device's
 * buffer is at device address 0x40000, 4096 bytes; a transfer must lie in
 * it, ending before 0x41000 (QEMU 7.2 aborts on one that ends there; the
 * model refuses it and counts nothing). DMA addresses are clamped to the
 * device's 28-bit DMA mask, as QEMU does.
 *
 * Unlike QEMU, the model is synchronous: the factorial and the DMA complete
 * during the write that starts them (poll bit 0 as on QEMU: it is already
 * clear). A transfer that faults in the IOMMU moves no byte at all (QEMU's
 * would move the pages before the fault).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake-internal.h"

#define EDU_ID 0x010000edu
#define EDU_STATUS_COMPUTING 0x01u
#define EDU_STATUS_IRQFACT 0x80u
#define EDU_FACT_IRQ 0x00000001u
#define EDU_DMA_IRQ 0x00000100u
#define EDU_DMA_RUN 0x1u
#define EDU_DMA_TO_RAM 0x2u	/* direction: device to RAM */
#define EDU_DMA_IRQ_ON_DONE 0x4u
#define EDU_DMA_START 0x40000u
#define EDU_DMA_SIZE 4096u
#define EDU_DMA_MASK ((UINT64_C(1) << 28) - 1)

struct edu {
	uint32_t addr4;
	uint32_t fact;
	uint32_t status;
	uint32_t irq_status;
	uint64_t dma_src, dma_dst, dma_cnt, dma_cmd;
	uint8_t dma_buf[EDU_DMA_SIZE];
};

static struct edu *to_edu(struct fake_device *dev)
{
	return dev->model_priv;
}

static bool msi_enabled(const struct fake_device *dev)
{
	/* vfio-pci enables MSI at the device when the user asks it to. */
	return dev->irq_type == 1 /* VFIO_PCI_MSI_IRQ_INDEX */;
}

static void raise_irq(struct fake_device *dev, uint32_t val)
{
	struct edu *edu = to_edu(dev);

	edu->irq_status |= val;
	if (edu->irq_status)
		fake_pci_set_irq(dev, true);
}

static void lower_irq(struct fake_device *dev, uint32_t val)
{
	struct edu *edu = to_edu(dev);

	edu->irq_status &= ~val;
	if (!edu->irq_status && !msi_enabled(dev))
		fake_pci_set_irq(dev, false);
}

/* edu_check_range(): [addr, addr + size) within the buffer, ending before
 * its end. */
static bool in_buffer(uint64_t addr, uint64_t size)
{
	uint64_t end1 = addr + size, end2 = EDU_DMA_START + EDU_DMA_SIZE;

	return addr >= EDU_DMA_START && addr < end2 && end1 > addr &&
	       end1 >= EDU_DMA_START && end1 < end2;
}

static void do_dma(struct fake_device *dev)
{
	struct edu *edu = to_edu(dev);
	bool to_ram = edu->dma_cmd & EDU_DMA_TO_RAM;
	uint64_t dev_addr = to_ram ? edu->dma_src : edu->dma_dst;
	uint64_t iova = (to_ram ? edu->dma_dst : edu->dma_src) & EDU_DMA_MASK;

	if (in_buffer(dev_addr, edu->dma_cnt))
		(void)fake_device_dma(dev, iova,
				      edu->dma_buf + (dev_addr - EDU_DMA_START),
				      (size_t)edu->dma_cnt, to_ram);
	edu->dma_cmd &= ~(uint64_t)EDU_DMA_RUN;
	if (edu->dma_cmd & EDU_DMA_IRQ_ON_DONE)
		raise_irq(dev, EDU_DMA_IRQ);
}

static void do_factorial(struct fake_device *dev)
{
	struct edu *edu = to_edu(dev);
	uint32_t n = edu->fact, val = 1;

	while (n > 1)
		val *= n--;
	edu->fact = val;
	edu->status &= ~EDU_STATUS_COMPUTING;
	if (edu->status & EDU_STATUS_IRQFACT)
		raise_irq(dev, EDU_FACT_IRQ);
}

static bool edu_read(struct fake_device *dev, uint64_t off, unsigned int size,
		     uint64_t *val)
{
	struct edu *edu = to_edu(dev);

	if (off < 0x80 ? size != 4 : (size != 4 && size != 8))
		return false;
	*val = UINT64_MAX;
	switch (off) {
	case 0x00:
		*val = EDU_ID;
		break;
	case 0x04:
		*val = edu->addr4;
		break;
	case 0x08:
		*val = edu->fact;
		break;
	case 0x20:
		*val = edu->status;
		break;
	case 0x24:
		*val = edu->irq_status;
		break;
	case 0x80:
		*val = edu->dma_src;
		break;
	case 0x88:
		*val = edu->dma_dst;
		break;
	case 0x90:
		*val = edu->dma_cnt;
		break;
	case 0x98:
		*val = edu->dma_cmd;
		break;
	}
	return true;
}

static void dma_reg_write(struct edu *edu, uint64_t *reg, uint64_t val)
{
	if (edu->dma_cmd & EDU_DMA_RUN)
		return;	/* busy */
	*reg = val;
}

static void edu_write(struct fake_device *dev, uint64_t off, unsigned int size,
		      uint64_t val)
{
	struct edu *edu = to_edu(dev);

	if (off < 0x80 ? size != 4 : (size != 4 && size != 8))
		return;
	switch (off) {
	case 0x04:
		edu->addr4 = ~(uint32_t)val;
		break;
	case 0x08:
		if (edu->status & EDU_STATUS_COMPUTING)
			break;
		edu->fact = (uint32_t)val;
		edu->status |= EDU_STATUS_COMPUTING;
		do_factorial(dev);
		break;
	case 0x20:
		if (val & EDU_STATUS_IRQFACT)
			edu->status |= EDU_STATUS_IRQFACT;
		else
			edu->status &= ~EDU_STATUS_IRQFACT;
		break;
	case 0x60:
		raise_irq(dev, (uint32_t)val);
		break;
	case 0x64:
		lower_irq(dev, (uint32_t)val);
		break;
	case 0x80:
		dma_reg_write(edu, &edu->dma_src, val);
		break;
	case 0x88:
		dma_reg_write(edu, &edu->dma_dst, val);
		break;
	case 0x90:
		dma_reg_write(edu, &edu->dma_cnt, val);
		break;
	case 0x98:
		if (!(val & EDU_DMA_RUN))
			break;
		if (edu->dma_cmd & EDU_DMA_RUN)
			break;
		edu->dma_cmd = val;
		do_dma(dev);
		break;
	}
}

static void edu_reset(struct fake_device *dev)
{
	struct edu *edu = to_edu(dev);

	edu->status = 0;
	edu->irq_status = 0;
	edu->dma_src = edu->dma_dst = edu->dma_cnt = edu->dma_cmd = 0;
	fake_pci_set_irq(dev, false);
}

static void edu_free(struct fake_device *dev)
{
	free(dev->model_priv);
	dev->model_priv = NULL;
}

/* The registers and the DMA buffer, as they are: one process's build of
 * the model reads another's (the same library, so the same layout). */
static size_t edu_save(struct fake_device *dev, void *buf)
{
	if (buf)
		memcpy(buf, to_edu(dev), sizeof(struct edu));
	return sizeof(struct edu);
}

static int edu_load(struct fake_device *dev, const void *buf, size_t len)
{
	if (len != sizeof(struct edu))
		return -EINVAL;
	memcpy(to_edu(dev), buf, len);
	return 0;
}

static const struct fake_dev_model edu_model = {
	.name = "edu",
	.model_bar = 0,
	.read = edu_read,
	.write = edu_write,
	.reset = edu_reset,
	.free = edu_free,
	.save = edu_save,
	.load = edu_load,
};

int fake_edu_setup(struct fake_device *dev)
{
	struct edu *edu = calloc(1, sizeof(*edu));

	if (!edu)
		return -ENOMEM;
	dev->model = &edu_model;
	dev->model_priv = edu;
	return 0;
}
