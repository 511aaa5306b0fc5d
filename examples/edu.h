/* SPDX-License-Identifier: MIT */
/*
 * edu.h: driving QEMU's edu device (PCI 1234:11e8, hw/misc/edu.c) through
 * libiommufd's public API only, for the examples and the real-kernel lab
 * (tests/vm/vm-scenarios.c). Header-only on purpose: each program stays one
 * file that links libiommufd and nothing else, and none of this is API the
 * library should promise.
 *
 * What the device is (/work/shared/VM-LAB.md): BAR0 holds 32-bit registers;
 * a DMA engine copies between the device's own 4 KiB buffer and an IOVA;
 * completion can raise an MSI. Everything goes through the VFIO region
 * read/write calls rather than an mmap of BAR0, because that is what works
 * the same on the fake kernel, on iommufd and on VFIO's type1 container.
 *
 * The functions return 0 or a negative errno, like the library. Those with
 * a `why` argument set it (when not NULL) to the step that failed, so that
 * a caller can say more than strerror().
 */
#ifndef EXAMPLES_EDU_H
#define EXAMPLES_EDU_H

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/types.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>

/* ---- vfio-pci's indexes (the values of <linux/vfio.h>, which the users of
 * this header do not include: they use the library's API only) ---- */
#define EDU_BAR0_REGION 0		/* VFIO_PCI_BAR0_REGION_INDEX */
#define EDU_CONFIG_REGION 7		/* VFIO_PCI_CONFIG_REGION_INDEX */
#define EDU_MSI_IRQ_INDEX 1		/* VFIO_PCI_MSI_IRQ_INDEX */
#define EDU_IRQ_INFO_EVENTFD (1u << 0)	/* VFIO_IRQ_INFO_EVENTFD */

/* PCI config space (<linux/pci_regs.h>), prefixed to stay clear of it. */
#define EDU_PCI_COMMAND 0x04
#define EDU_PCI_COMMAND_MEMORY 0x2u
#define EDU_PCI_COMMAND_MASTER 0x4u

/* ---- the device ---- */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

/* BAR0 registers. */
#define EDU_REG_IDENT 0x00		/* reads EDU_IDENT_VALUE */
#define EDU_IDENT_VALUE 0x010000edu
#define EDU_REG_LIVENESS 0x04		/* reads back ~(what was written) */
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64		/* write the status bits to clear */
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98

/* EDU_REG_DMA_CMD bits. */
#define EDU_DMA_RUN 0x1u		/* write: start; read: still busy */
#define EDU_DMA_TO_RAM 0x2u		/* direction: device -> RAM (0: RAM -> device) */
#define EDU_DMA_IRQ 0x4u		/* raise EDU_IRQ_STATUS_DMA when done */
/* The interrupt status bit of a finished DMA that asked for one. */
#define EDU_IRQ_STATUS_DMA 0x100u

/* The device's own buffer, at device address 0x40000, 4096 bytes. QEMU 7.2
 * aborts on a transfer that ends exactly at its end (0x41000): keep every
 * transfer shorter than EDU_BUF_SIZE. */
#define EDU_BUF_ADDR 0x40000u
#define EDU_BUF_SIZE 4096u
/* The default DMA mask is 28 bits: IOVAs the device uses must lie below. */
#define EDU_DMA_LIMIT (UINT64_C(1) << 28)

/* A DMA takes ~100 ms of virtual time under QEMU's TCG; this is a bound for
 * a wait that should never be reached, not an expected duration. */
#define EDU_DMA_TIMEOUT_MS 5000

static inline uint64_t edu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One 32-bit BAR0 register. The registers are little-endian; whole 4-byte
 * accesses only, since a short read or write would be a different access to
 * the device (a short transfer is -EIO).
 */
static inline int edu_read32(struct iommufd_device *dev, uint64_t off,
			     uint32_t *val)
{
	uint32_t le;
	ssize_t n = iommufd_device_region_read(dev, EDU_BAR0_REGION, off, &le,
					       sizeof(le));

	if (n < 0)
		return (int)n;
	if (n != sizeof(le))
		return -EIO;
	*val = le32toh(le);
	return 0;
}

/* The DMA address registers are 8 bytes wide, but a 4-byte write sets the
 * whole register in QEMU's model, and every IOVA edu can reach is below
 * 4 GiB (EDU_DMA_LIMIT): 4-byte writes suffice everywhere. */
static inline int edu_write32(struct iommufd_device *dev, uint64_t off,
			      uint32_t val)
{
	uint32_t le = htole32(val);
	ssize_t n = iommufd_device_region_write(dev, EDU_BAR0_REGION, off, &le,
						sizeof(le));

	if (n < 0)
		return (int)n;
	return n == sizeof(le) ? 0 : -EIO;
}

/*
 * Set @bits (EDU_PCI_COMMAND_MASTER, maybe EDU_PCI_COMMAND_MEMORY) in
 * PCI_COMMAND through the config region. vfio-pci leaves bus mastering off
 * (0x0103 in the lab): without it the device's DMA never reaches the IOMMU.
 * The register is read back, because vfio-pci virtualises config space and
 * may not take every bit: -EIO unless bus mastering reads as on. *before
 * and *after (either may be NULL) get the register around the change.
 */
static inline int edu_pci_command_set(struct iommufd_device *dev,
				      uint16_t bits, uint16_t *before,
				      uint16_t *after, const char **why)
{
	const char *dummy;
	uint16_t le, cmd;
	ssize_t n;

	if (!why)
		why = &dummy;
	*why = "reading PCI_COMMAND";
	n = iommufd_device_region_read(dev, EDU_CONFIG_REGION, EDU_PCI_COMMAND,
				       &le, sizeof(le));
	if (n != sizeof(le))
		return n < 0 ? (int)n : -EIO;
	cmd = le16toh(le);
	if (before)
		*before = cmd;
	*why = "writing PCI_COMMAND";
	le = htole16(cmd | bits);
	n = iommufd_device_region_write(dev, EDU_CONFIG_REGION, EDU_PCI_COMMAND,
					&le, sizeof(le));
	if (n != sizeof(le))
		return n < 0 ? (int)n : -EIO;
	*why = "reading PCI_COMMAND back";
	n = iommufd_device_region_read(dev, EDU_CONFIG_REGION, EDU_PCI_COMMAND,
				       &le, sizeof(le));
	if (n != sizeof(le))
		return n < 0 ? (int)n : -EIO;
	cmd = le16toh(le);
	if (after)
		*after = cmd;
	*why = "bus mastering did not stick";
	return cmd & EDU_PCI_COMMAND_MASTER ? 0 : -EIO;
}

/* Bus mastering on, the rest of PCI_COMMAND as it was. */
static inline int edu_bus_master(struct iommufd_device *dev, uint16_t *before,
				 uint16_t *after, const char **why)
{
	return edu_pci_command_set(dev, EDU_PCI_COMMAND_MASTER, before, after,
				   why);
}

/*
 * Program one transfer of @len bytes from @src to @dst (an IOVA on the RAM
 * side, EDU_BUF_ADDR + offset on the device's) and start it; @cmd adds
 * EDU_DMA_TO_RAM and/or EDU_DMA_IRQ. The start bit goes last: writing the
 * command register is what starts the engine with the other three.
 */
static inline int edu_dma_start(struct iommufd_device *dev, uint32_t src,
				uint32_t dst, uint32_t len, uint32_t cmd)
{
	int ret;

	ret = edu_write32(dev, EDU_REG_DMA_SRC, src);
	if (!ret)
		ret = edu_write32(dev, EDU_REG_DMA_DST, dst);
	if (!ret)
		ret = edu_write32(dev, EDU_REG_DMA_COUNT, len);
	if (!ret)
		ret = edu_write32(dev, EDU_REG_DMA_CMD, cmd | EDU_DMA_RUN);
	return ret;
}

/*
 * Wait for the running transfer to finish: poll the busy bit (1 ms apart)
 * for at most @timeout_ms, then -ETIMEDOUT. Polling rather than the
 * interrupt, because only a transfer started with EDU_DMA_IRQ raises one,
 * and a bounded wait, because a device that never finishes (a DMA the IOMMU
 * blocked on a broken emulation) must fail the program, not hang it. A DMA
 * the IOMMU blocks still completes on edu: the write is simply dropped.
 */
static inline int edu_dma_wait(struct iommufd_device *dev, int timeout_ms)
{
	uint64_t deadline = edu_now_ms() + (uint64_t)timeout_ms;
	uint32_t v = 0;
	int ret;

	for (;;) {
		ret = edu_read32(dev, EDU_REG_DMA_CMD, &v);
		if (ret)
			return ret;
		if (!(v & EDU_DMA_RUN))
			return 0;
		if (edu_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* One transfer, started and waited for; *why says which half failed. */
static inline int edu_dma(struct iommufd_device *dev, uint32_t src,
			  uint32_t dst, uint32_t len, uint32_t cmd,
			  int timeout_ms, const char **why)
{
	const char *dummy;
	int ret;

	if (!why)
		why = &dummy;
	*why = "programming the DMA registers";
	ret = edu_dma_start(dev, src, dst, len, cmd);
	if (ret)
		return ret;
	*why = "waiting for the DMA to complete";
	return edu_dma_wait(dev, timeout_ms);
}

/*
 * Wire vector 0 of the MSI index to a new non-blocking eventfd, returned in
 * *efd (-1 on failure; the caller closes it after edu_msi_disable()). edu
 * has one MSI vector and no INTx worth using under vfio-pci: an eventfd is
 * how VFIO delivers interrupts to user space. *irq (may be NULL) gets the
 * index's info. -ENODEV when the index has no vector or cannot signal an
 * eventfd.
 */
static inline int edu_msi_to_eventfd(struct iommufd_device *dev, int *efd,
				     struct iommufd_irq_info *irq,
				     const char **why)
{
	struct iommufd_irq_info local;
	const char *dummy;
	int ret;

	if (!why)
		why = &dummy;
	if (!irq)
		irq = &local;
	*efd = -1;
	*why = "iommufd_device_get_irq_info(MSI)";
	ret = iommufd_device_get_irq_info(dev, EDU_MSI_IRQ_INDEX, irq);
	if (ret)
		return ret;
	*why = "the MSI index has no vector that signals an eventfd";
	if (irq->count < 1 || !(irq->flags & EDU_IRQ_INFO_EVENTFD))
		return -ENODEV;
	*why = "eventfd";
	*efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*efd < 0) {
		*efd = -1;
		return -errno;
	}
	*why = "iommufd_device_set_irqs(MSI, eventfd)";
	ret = iommufd_device_set_irqs(dev, EDU_MSI_IRQ_INDEX, 0, 1, efd);
	if (ret) {
		close(*efd);
		*efd = -1;
	}
	return ret;
}

/* Unwire the whole MSI index (count 0), before closing the eventfd. */
static inline int edu_msi_disable(struct iommufd_device *dev)
{
	return iommufd_device_set_irqs(dev, EDU_MSI_IRQ_INDEX, 0, 0, NULL);
}

/*
 * Wait up to @timeout_ms for the eventfd to be signalled and consume it:
 * *count gets the number of interrupts since the last read. -ETIMEDOUT when
 * none came. The eventfd is non-blocking, so poll() does the waiting.
 */
static inline int edu_msi_wait(int efd, int timeout_ms, uint64_t *count)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	ssize_t n;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	n = read(efd, count, sizeof(*count));
	if (n < 0)
		return -errno;
	return n == sizeof(*count) ? 0 : -EIO;
}

/*
 * Read the interrupt status into *status and acknowledge exactly those
 * bits: edu keeps its (level) interrupt asserted until they are cleared,
 * and the next MSI needs a fresh edge.
 */
static inline int edu_irq_ack(struct iommufd_device *dev, uint32_t *status)
{
	int ret = edu_read32(dev, EDU_REG_IRQ_STATUS, status);

	if (!ret && *status)
		ret = edu_write32(dev, EDU_REG_IRQ_ACK, *status);
	return ret;
}

#endif
