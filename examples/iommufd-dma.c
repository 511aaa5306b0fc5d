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
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>

#include "edu.h"
#include "example-ctx.h"
#include "example-edu.h"
#include "example-steps.h"

#define PROG "iommufd-dma"


/* edu's registers and helpers: edu.h. Half of the device's buffer (a
 * transfer must stay below EDU_BUF_SIZE). */
#define XFER_LEN 2048u

/* edu's DMA mask is 28 bits: IOVAs below 1 << 28. Two pages: the source
 * the device reads, then the destination it writes. */
#define IOVA_BASE UINT64_C(0x1000000)
#define PAGE 4096u
#define BUF_LEN (2 * PAGE)
#define IOVA_SRC IOVA_BASE
#define IOVA_DST (IOVA_BASE + PAGE)

/* Each DMA takes ~100 ms of virtual time under QEMU's TCG. */
#define DMA_TIMEOUT_MS EDU_DMA_TIMEOUT_MS
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

/* One transfer through edu.h, waited for; *why says which half failed. */
static int run_dma(struct run *r, uint32_t src, uint32_t dst, uint32_t len,
		   uint32_t cmd, const char **why)
{
	return edu_dma(r->dev, src, dst, len, cmd, DMA_TIMEOUT_MS, why);
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
	int ret = example_find_edu(PROG, step, &r->ctx, r->bdf, &r->edu);

	if (ret)
		return ret;
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
	uint16_t cmd = 0, cmd_after = 0;
	uint64_t iova = IOVA_BASE, unmapped = 0;
	uint32_t v = 0;
	const char *why = NULL;
	uint64_t count;
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
	ret = edu_bus_master(r->dev, &cmd, &cmd_after, &why);
	if (ret)
		return failed(EXIT_FAILURE, "enable bus mastering", "%s: %s",
			      why, strerror(-ret));
	ok("enable bus mastering", "PCI_COMMAND 0x%04x -> 0x%04x", cmd,
	   cmd_after);

	ret = edu_read32(r->dev, EDU_REG_IDENT, &v);
	if (ret)
		return failed(EXIT_FAILURE, "check the ident register", "%s",
			      strerror(-ret));
	if (v != EDU_IDENT_VALUE)
		return failed(EXIT_FAILURE, "check the ident register",
			      "0x%08x, expected 0x%08x", v, EDU_IDENT_VALUE);
	ok("check the ident register", "0x%08x", v);

	ret = edu_msi_to_eventfd(r->dev, &r->efd, &irq, &why);
	if (ret)
		return failed(EXIT_FAILURE, "wire MSI to an eventfd", "%s: %s",
			      why, strerror(-ret));
	r->irq_wired = true;
	ok("wire MSI to an eventfd", "vector 0 of %u", irq.count);

	ret = run_dma(r, (uint32_t)IOVA_SRC, EDU_BUF_ADDR, XFER_LEN, 0, &why);
	if (ret)
		return failed(EXIT_FAILURE, "DMA RAM -> device", "%s: %s", why,
			      strerror(-ret));
	ok("DMA RAM -> device", "%u bytes from IOVA 0x%" PRIx64, XFER_LEN,
	   IOVA_SRC);

	ret = run_dma(r, EDU_BUF_ADDR, (uint32_t)IOVA_DST, XFER_LEN,
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

	ret = edu_msi_wait(r->efd, IRQ_TIMEOUT_MS, &count);
	if (ret == -ETIMEDOUT)
		return failed(EXIT_FAILURE, "interrupt",
			      "no MSI within %d ms", IRQ_TIMEOUT_MS);
	if (ret)
		return failed(EXIT_FAILURE, "interrupt", "eventfd: %s",
			      strerror(-ret));
	ret = edu_irq_ack(r->dev, &v);
	if (!ret && !(v & EDU_IRQ_STATUS_DMA))
		return failed(EXIT_FAILURE, "interrupt",
			      "interrupt status 0x%x, expected 0x%x set", v,
			      EDU_IRQ_STATUS_DMA);
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
	ret = run_dma(r, EDU_BUF_ADDR, (uint32_t)IOVA_DST, XFER_LEN,
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
		edu_msi_disable(r->dev);
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
