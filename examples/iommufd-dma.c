/* SPDX-License-Identifier: MIT */
/*
 * iommufd-dma: a DMA round trip with QEMU's edu device (PCI 1234:11e8)
 * through libiommufd. Find the device, open it, attach it to an IOAS, map
 * memory at a fixed IOVA, let the device copy bytes in and out again, take
 * its completion interrupt on an eventfd, and show that once the memory is
 * unmapped the IOMMU stops the device from writing there.
 *
 *   iommufd-dma [--bdf DDDD:BB:DD.F]
 *
 * One line per step, "ok" or what failed. Exit status 0 when every step
 * passed, 77 when this machine has nothing to run on (no edu device bound
 * to vfio-pci, no way to open it), 1 when a step failed.
 *
 * It runs unchanged on libiommufd's fake kernel, which models edu, and on a
 * real kernel with edu bound to vfio-pci, as in QEMU: -device
 * intel-iommu,intremap=on,caching-mode=on -device edu. The library drives
 * iommufd and the device file where the kernel has them (6.6+), else VFIO's
 * type1 container and the device's group (Debian 12's 6.1).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>

#include "example-ctx.h"

#define PROG "iommufd-dma"

#define EXIT_SKIP 77

/* vfio-pci's region and IRQ indexes (<linux/vfio.h>). */
#define BAR0_REGION 0		/* VFIO_PCI_BAR0_REGION_INDEX */
#define CONFIG_REGION 7		/* VFIO_PCI_CONFIG_REGION_INDEX */
#define MSI_IRQ_INDEX 1		/* VFIO_PCI_MSI_IRQ_INDEX */

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MASTER 0x4

/* edu's registers in BAR0 (QEMU hw/misc/edu.c). */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IDENT 0x00
#define EDU_IDENT_VALUE 0x010000edu
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_RUN 0x1u
#define EDU_DMA_TO_RAM 0x2u	/* direction: device -> RAM */
#define EDU_DMA_IRQ 0x4u	/* raise interrupt 0x100 when done */
#define EDU_DMA_IRQ_STATUS 0x100u
/* The device's own buffer, at device address 0x40000; QEMU 7.2 aborts on a
 * transfer that ends at its end (0x41000), so stay below 4096 bytes. */
#define EDU_BUF_ADDR 0x40000u
#define XFER_LEN 2048u

/* edu's DMA mask is 28 bits: IOVAs below 1 << 28. Two pages: the source
 * the device reads, then the destination it writes. */
#define IOVA_BASE UINT64_C(0x1000000)
#define PAGE 4096u
#define BUF_LEN (2 * PAGE)
#define IOVA_SRC IOVA_BASE
#define IOVA_DST (IOVA_BASE + PAGE)

/* Each DMA takes ~100 ms of virtual time under QEMU's TCG. */
#define DMA_TIMEOUT_MS 5000
#define IRQ_TIMEOUT_MS 5000

struct run {
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct iommufd_ioas *ioas;
	uint8_t *buf;			/* BUF_LEN bytes: src page, dst page */
	int efd;
	bool attached, mapped, irq_wired;
	const char *bdf;		/* --bdf */
	struct iommufd_vfio_device_info edu;
};

/* "<step>: ok (detail)" */
__attribute__((format(printf, 2, 3)))
static void ok(const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ok", step);
	if (fmt) {
		printf(" (");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(")");
	}
	printf("\n");
	fflush(stdout);
}

/* "<step>: FAILED: why" (or "SKIPPED: why"); returns @status. */
__attribute__((format(printf, 3, 4)))
static int failed(int status, const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s: ", step, status == EXIT_SKIP ? "SKIPPED" : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return status;
}

static int edu_read32(struct run *r, uint64_t off, uint32_t *val)
{
	uint32_t le;
	ssize_t n = iommufd_device_region_read(r->dev, BAR0_REGION, off, &le,
					       sizeof(le));

	if (n < 0)
		return (int)n;
	if (n != sizeof(le))
		return -EIO;
	*val = le32toh(le);
	return 0;
}

/* 4-byte accesses only: the DMA registers take 4 and 8, and a 4-byte write
 * sets the whole register (our IOVAs are below 4 GiB). */
static int edu_write32(struct run *r, uint64_t off, uint32_t val)
{
	uint32_t le = htole32(val);
	ssize_t n = iommufd_device_region_write(r->dev, BAR0_REGION, off, &le,
						sizeof(le));

	if (n < 0)
		return (int)n;
	return n == sizeof(le) ? 0 : -EIO;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Program one transfer and wait, boundedly, for the device to finish. */
static int edu_dma(struct run *r, uint32_t src, uint32_t dst, uint32_t len,
		   uint32_t cmd, const char **why)
{
	uint64_t deadline;
	uint32_t v = 0;
	int ret;

	*why = "programming the DMA registers";
	ret = edu_write32(r, EDU_DMA_SRC, src);
	if (!ret)
		ret = edu_write32(r, EDU_DMA_DST, dst);
	if (!ret)
		ret = edu_write32(r, EDU_DMA_COUNT, len);
	if (!ret)
		ret = edu_write32(r, EDU_DMA_CMD, cmd | EDU_DMA_RUN);
	if (ret)
		return ret;
	*why = "waiting for the DMA to complete";
	deadline = now_ms() + DMA_TIMEOUT_MS;
	for (;;) {
		ret = edu_read32(r, EDU_DMA_CMD, &v);
		if (ret)
			return ret;
		if (!(v & EDU_DMA_RUN))
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static void fill_pattern(uint8_t *p, size_t len)
{
	static const char msg[] = "libiommufd: edu DMA round trip. ";

	for (size_t i = 0; i < len; i++)
		p[i] = i < sizeof(msg) - 1 ? (uint8_t)msg[i] : (uint8_t)(i * 7 + 3);
}

static int find_edu(struct run *r)
{
	const char *step = "find the edu device";
	const char *root = example_sysfs_root(r->ctx);
	struct iommufd_vfio_device_info *devs = NULL;
	struct iommufd_discover_opts opts;
	size_t nr = 0;
	bool found = false;
	int ret;

	if (!root)
		return failed(EXIT_FAILURE, step, "the fake kernel has no sysfs tree");
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.sysfs_root = root;
	if (r->bdf) {
		ret = iommufd_discover_device_opts(&opts, r->bdf, &r->edu);
		if (ret == -EINVAL)
			return failed(EXIT_FAILURE, step,
				      "%s is not a PCI address", r->bdf);
		if (ret == -ENOENT)
			return failed(EXIT_SKIP, step, "no PCI device %s in %s",
				      r->bdf, root);
		if (ret)
			return failed(EXIT_FAILURE, step, "%s: %s", r->bdf,
				      strerror(-ret));
		if (r->edu.bus != IOMMUFD_BUS_PCI ||
		    r->edu.vendor_id != EDU_VENDOR ||
		    r->edu.device_id != EDU_DEVICE)
			return failed(EXIT_SKIP, step,
				      "%s is %04x:%04x, not an edu device (%04x:%04x)",
				      r->edu.name, r->edu.vendor_id,
				      r->edu.device_id, EDU_VENDOR, EDU_DEVICE);
		found = true;
	} else {
		ret = iommufd_discover_devices(&opts, &devs, &nr);
		if (ret)
			return failed(EXIT_FAILURE, step, "discovery in %s: %s",
				      root, strerror(-ret));
		for (size_t i = 0; i < nr && !found; i++) {
			if (devs[i].vendor_id == EDU_VENDOR &&
			    devs[i].device_id == EDU_DEVICE) {
				r->edu = devs[i];
				found = true;
			}
		}
		iommufd_vfio_device_info_free(devs, nr);
		if (!found)
			return failed(EXIT_SKIP, step,
				      "no PCI %04x:%04x bound to vfio-pci in %s",
				      EDU_VENDOR, EDU_DEVICE, root);
	}
	if (!r->edu.vfio)
		return failed(EXIT_SKIP, step, "%s is bound to %s, not to vfio-pci",
			      r->edu.name,
			      r->edu.driver[0] ? r->edu.driver : "no driver");
	/* iommufd needs the device file; VFIO's type1 container the group. */
	if (!r->edu.has_cdev && (!r->ctx || !r->edu.group_path[0]))
		return failed(EXIT_SKIP, step,
			      "%s (%s, group %s) has no VFIO device file: this kernel has no CONFIG_VFIO_DEVICE_CDEV (Linux 6.6+)",
			      r->edu.name, r->edu.driver,
			      r->edu.group_path[0] ? r->edu.group_path : "none");
	ok(step, "%s, %s, %s, IOMMU group %d, unit %s", r->edu.name,
	   r->edu.driver,
	   r->edu.has_cdev ? r->edu.cdev_path : r->edu.group_path,
	   r->edu.iommu_group,
	   r->edu.iommu_unit[0] ? r->edu.iommu_unit : "unknown");
	return 0;
}

/* Every step after the context; the first failure ends the run. */
static int run_steps(struct run *r)
{
	struct iommufd_irq_info irq;
	uint16_t cmd_le, cmd;
	uint64_t iova = IOVA_BASE, unmapped = 0;
	uint32_t v = 0;
	const char *why = NULL;
	struct pollfd pfd;
	uint64_t count;
	ssize_t n;
	int ret;

	/* By name: the library finds the device file (iommufd) or the group
	 * (VFIO type1) in the context's sysfs. */
	ret = iommufd_device_open(r->ctx, r->edu.name, NULL, &r->dev);
	if (ret && !r->edu.has_cdev)
		return failed(EXIT_SKIP, "open the device",
			      "%s: %s (it has no VFIO device file: Linux 6.6+ with CONFIG_VFIO_DEVICE_CDEV)",
			      r->edu.name, strerror(-ret));
	if (ret)
		return failed(EXIT_FAILURE, "open the device", "%s: %s",
			      r->edu.name, strerror(-ret));
	ok("open the device", "%s, devid %u", r->edu.name,
	   iommufd_device_id(r->dev));

	ret = iommufd_ioas_new(r->ctx, &r->ioas);
	if (!ret)
		ret = iommufd_device_attach(r->dev, r->ioas, 0, NULL);
	if (ret)
		return failed(EXIT_FAILURE, "attach to an IOAS", "%s",
			      strerror(-ret));
	r->attached = true;
	ok("attach to an IOAS", "IOAS %u", iommufd_ioas_id(r->ioas));

	r->buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->buf == MAP_FAILED) {
		r->buf = NULL;
		return failed(EXIT_FAILURE, "map memory", "mmap: %s",
			      strerror(errno));
	}
	fill_pattern(r->buf, PAGE);
	memset(r->buf + PAGE, 0xa5, PAGE);
	ret = iommufd_ioas_map(r->ioas, r->buf, BUF_LEN, &iova,
			       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
			       IOMMUFD_MAP_FIXED_IOVA);
	if (ret)
		return failed(EXIT_FAILURE, "map memory",
			      "%u KiB at IOVA 0x%" PRIx64 ": %s", BUF_LEN >> 10,
			      IOVA_BASE, strerror(-ret));
	r->mapped = true;
	ok("map memory", "%u KiB at IOVA 0x%" PRIx64 "-0x%" PRIx64, BUF_LEN >> 10,
	   iova, iova + BUF_LEN - 1);

	/* vfio-pci leaves bus mastering off. */
	n = iommufd_device_region_read(r->dev, CONFIG_REGION, PCI_COMMAND,
				       &cmd_le, sizeof(cmd_le));
	if (n != sizeof(cmd_le))
		return failed(EXIT_FAILURE, "enable bus mastering",
			      "reading PCI_COMMAND: %s",
			      strerror(n < 0 ? (int)-n : EIO));
	cmd = le16toh(cmd_le);
	cmd_le = htole16(cmd | PCI_COMMAND_MASTER);
	n = iommufd_device_region_write(r->dev, CONFIG_REGION, PCI_COMMAND,
					&cmd_le, sizeof(cmd_le));
	if (n != sizeof(cmd_le))
		return failed(EXIT_FAILURE, "enable bus mastering",
			      "writing PCI_COMMAND: %s",
			      strerror(n < 0 ? (int)-n : EIO));
	ok("enable bus mastering", "PCI_COMMAND 0x%04x -> 0x%04x", cmd,
	   cmd | PCI_COMMAND_MASTER);

	ret = edu_read32(r, EDU_IDENT, &v);
	if (ret)
		return failed(EXIT_FAILURE, "check the ident register", "%s",
			      strerror(-ret));
	if (v != EDU_IDENT_VALUE)
		return failed(EXIT_FAILURE, "check the ident register",
			      "0x%08x, expected 0x%08x", v, EDU_IDENT_VALUE);
	ok("check the ident register", "0x%08x", v);

	ret = iommufd_device_get_irq_info(r->dev, MSI_IRQ_INDEX, &irq);
	if (!ret && irq.count < 1)
		ret = -ENODEV;
	if (!ret) {
		r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ret = r->efd < 0 ? -errno : 0;
	}
	if (!ret)
		ret = iommufd_device_set_irqs(r->dev, MSI_IRQ_INDEX, 0, 1,
					      &r->efd);
	if (ret)
		return failed(EXIT_FAILURE, "wire MSI to an eventfd", "%s",
			      strerror(-ret));
	r->irq_wired = true;
	ok("wire MSI to an eventfd", "vector 0 of %u", irq.count);

	ret = edu_dma(r, (uint32_t)IOVA_SRC, EDU_BUF_ADDR, XFER_LEN, 0, &why);
	if (ret)
		return failed(EXIT_FAILURE, "DMA RAM -> device", "%s: %s", why,
			      strerror(-ret));
	ok("DMA RAM -> device", "%u bytes from IOVA 0x%" PRIx64, XFER_LEN,
	   IOVA_SRC);

	ret = edu_dma(r, EDU_BUF_ADDR, (uint32_t)IOVA_DST, XFER_LEN,
		      EDU_DMA_TO_RAM | EDU_DMA_IRQ, &why);
	if (ret)
		return failed(EXIT_FAILURE, "DMA device -> RAM", "%s: %s", why,
			      strerror(-ret));
	ok("DMA device -> RAM", "%u bytes to IOVA 0x%" PRIx64 ", interrupt on completion",
	   XFER_LEN, IOVA_DST);

	for (size_t i = 0; i < PAGE; i++) {
		uint8_t want = i < XFER_LEN ? r->buf[i] : 0xa5;

		if (r->buf[PAGE + i] != want)
			return failed(EXIT_FAILURE, "verify the bytes",
				      "byte %zu is 0x%02x, expected 0x%02x", i,
				      r->buf[PAGE + i], want);
	}
	ok("verify the bytes", "%u bytes came back, the rest untouched",
	   XFER_LEN);

	pfd = (struct pollfd){ .fd = r->efd, .events = POLLIN };
	ret = poll(&pfd, 1, IRQ_TIMEOUT_MS);
	if (ret < 0)
		return failed(EXIT_FAILURE, "interrupt", "poll: %s",
			      strerror(errno));
	if (ret == 0)
		return failed(EXIT_FAILURE, "interrupt",
			      "no MSI within %d ms", IRQ_TIMEOUT_MS);
	if (read(r->efd, &count, sizeof(count)) != sizeof(count))
		return failed(EXIT_FAILURE, "interrupt", "eventfd read: %s",
			      strerror(errno));
	ret = edu_read32(r, EDU_IRQ_STATUS, &v);
	if (!ret && !(v & EDU_DMA_IRQ_STATUS))
		return failed(EXIT_FAILURE, "interrupt",
			      "interrupt status 0x%x, expected 0x%x set", v,
			      EDU_DMA_IRQ_STATUS);
	if (!ret)
		ret = edu_write32(r, EDU_IRQ_ACK, v);
	if (ret)
		return failed(EXIT_FAILURE, "interrupt", "%s", strerror(-ret));
	ok("interrupt", "MSI on the eventfd, status 0x%x, acknowledged", v);

	ret = iommufd_ioas_unmap(r->ioas, IOVA_BASE, BUF_LEN, 0, &unmapped);
	if (ret)
		return failed(EXIT_FAILURE, "unmap memory", "%s", strerror(-ret));
	r->mapped = false;
	ok("unmap memory", "%" PRIu64 " KiB", unmapped >> 10);

	/* The device writes to where the destination was mapped; the IOMMU
	 * has no translation any more and blocks it (a DMAR fault in the
	 * kernel log on real hardware). */
	memset(r->buf + PAGE, 0x5a, PAGE);
	ret = edu_dma(r, EDU_BUF_ADDR, (uint32_t)IOVA_DST, XFER_LEN,
		      EDU_DMA_TO_RAM, &why);
	if (ret)
		return failed(EXIT_FAILURE, "DMA to the unmapped IOVA", "%s: %s",
			      why, strerror(-ret));
	for (size_t i = 0; i < PAGE; i++)
		if (r->buf[PAGE + i] != 0x5a)
			return failed(EXIT_FAILURE, "DMA to the unmapped IOVA",
				      "byte %zu of the old destination changed to 0x%02x: the write went through",
				      i, r->buf[PAGE + i]);
	ok("DMA to the unmapped IOVA", "blocked: the old destination is untouched");
	return 0;
}

static void cleanup(struct run *r)
{
	if (r->irq_wired)
		iommufd_device_set_irqs(r->dev, MSI_IRQ_INDEX, 0, 0, NULL);
	if (r->efd >= 0)
		close(r->efd);
	if (r->mapped)
		iommufd_ioas_unmap(r->ioas, IOVA_BASE, BUF_LEN, 0, NULL);
	if (r->attached)
		iommufd_device_detach(r->dev);
	iommufd_device_free(r->dev);
	if (r->ioas)
		iommufd_ioas_destroy(r->ioas);
	if (r->buf)
		munmap(r->buf, BUF_LEN);
	iommufd_ctx_free(r->ctx);
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--bdf DDDD:BB:DD.F]\n", PROG);
	return status;
}

int main(int argc, char **argv)
{
	struct run r = { .efd = -1 };
	int ctx_err, status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bdf") && i + 1 < argc)
			r.bdf = argv[++i];
		else if (!strncmp(argv[i], "--bdf=", 6))
			r.bdf = argv[i] + 6;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, EXIT_SUCCESS);
		else
			return usage(stderr, 2);
	}

	/* Without a context on a real kernel, still say what sysfs shows of
	 * the device. */
	ctx_err = example_ctx_new(PROG, &r.ctx);
	if (ctx_err && !example_sysfs_root(NULL))
		status = failed(EXIT_FAILURE, "open a context", "%s",
				strerror(-ctx_err));
	else
		status = find_edu(&r);
	if (!status && ctx_err)
		status = failed(EXIT_SKIP, "open a context", "%s",
				strerror(-ctx_err));
	if (!status)
		status = run_steps(&r);
	cleanup(&r);
	if (!status)
		printf("%s: every step passed\n", PROG);
	return status;
}
