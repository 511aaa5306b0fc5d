/* SPDX-License-Identifier: MIT */
/*
 * iommufd-dirty: dirty tracking with QEMU's edu device (PCI 1234:11e8)
 * through libiommufd, as a VMM migrating a guest would use it. Open the
 * device, attach it asking for a dirty-tracking HWPT, map 16 pages, start a
 * dirty tracker over the IOAS, let the device write some of the pages (and
 * read another), print the pages the tracker reports dirty, then sync again
 * and show that the view is clean.
 *
 *   iommufd-dirty [--bdf DDDD:BB:DD.F]
 *
 * Exit status 0 when the dirty pages are exactly the pages the device wrote
 * and the second sync is clean; 77 when this machine has nothing to run on
 * (no edu device bound to vfio-pci) or nothing that tracks edu's writes
 * page by page (no IOMMU dirty tracking: before Linux 6.7, an IOMMU without
 * it, or VFIO's type1 container, which reports every mapped page of a
 * container with an IOMMU-backed device); 1 when a step failed.
 *
 * On a machine without /dev/iommu or /dev/vfio it runs on libiommufd's fake
 * kernel, whose dmar0 tracks dirty pages.
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

#include "edu.h"
#include "example-ctx.h"
#include "example-edu.h"
#include "example-steps.h"

#define PROG "iommufd-dirty"

/* edu's registers and helpers: edu.h. */
#define DMA_TIMEOUT_MS EDU_DMA_TIMEOUT_MS

/* Below edu's 28-bit DMA mask. */
#define IOVA_BASE UINT64_C(0x1000000)
#define PAGE 4096u
#define NPAGES 16u

/* What the device writes: offset from IOVA_BASE and length. The second
 * crosses from page 4 into page 5. */
static const struct {
	uint32_t off, len;
} writes[] = {
	{ 1 * PAGE + 0x100, 64 },
	{ 5 * PAGE - 16, 32 },
	{ 11 * PAGE + PAGE - 8, 8 },
};
/* And what it only reads: never dirty. */
#define READ_OFF (8 * PAGE)

struct run {
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct iommufd_ioas *ioas;
	struct iommufd_dirty_tracker *tracker;
	struct iommufd_dirty_bitmap *bm;
	uint8_t *mem;
	bool mapped;
	const char *bdf;
	char name[64];
};

/* One edu transfer, waited for. */
static int run_dma(struct run *r, uint32_t src, uint32_t dst, uint32_t len,
		   uint32_t cmd)
{
	return edu_dma(r->dev, src, dst, len, cmd, DMA_TIMEOUT_MS, NULL);
}

/* The first edu bound to VFIO in the context's sysfs, or --bdf. */
static int find_edu(struct run *r)
{
	const char *step = "find the edu device";
	struct iommufd_vfio_device_info one;
	int ret = example_find_edu(PROG, step, &r->ctx, r->bdf, &one);

	if (ret)
		return ret;
	snprintf(r->name, sizeof(r->name), "%s", one.name);
	ok(step, "%s, IOMMU unit %s", one.name,
	   one.iommu_unit[0] ? one.iommu_unit : "unknown");
	return 0;
}

static bool written(uint64_t page)
{
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		if (page >= writes[i].off / PAGE &&
		    page <= (writes[i].off + writes[i].len - 1) / PAGE)
			return true;
	return false;
}

struct show {
	char text[256];
	size_t len;
};

static int show_run(uint64_t iova, uint64_t length, void *data)
{
	struct show *s = data;
	uint64_t first = (iova - IOVA_BASE) / PAGE;
	uint64_t last = first + length / PAGE - 1;
	int n;

	if (first == last)
		n = snprintf(s->text + s->len, sizeof(s->text) - s->len, " %" PRIu64,
			     first);
	else
		n = snprintf(s->text + s->len, sizeof(s->text) - s->len,
			     " %" PRIu64 "-%" PRIu64, first, last);
	if (n > 0 && (size_t)n < sizeof(s->text) - s->len)
		s->len += (size_t)n;
	return 0;
}

/* Why the tracker fell back to counting every mapped page dirty, naming
 * what is missing: the kernel's feature, or the hardware's. */
static const char *no_tracking_why(const struct iommufd_ctx *ctx,
				   enum iommufd_dirty_source source)
{
	if (source == IOMMUFD_DIRTY_SOURCE_CONTAINER)
		return "a VFIO type1 container reports all it maps; IOMMU dirty tracking needs iommufd's IOMMU_HWPT_ALLOC_DIRTY_TRACKING, Linux 6.7+";
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_DIRTY_TRACKING))
		return "this kernel has no IOMMU dirty tracking, IOMMU_HWPT_ALLOC_DIRTY_TRACKING of Linux 6.7+, and the device no DMA logging";
	return "its IOMMU cannot track dirty pages and the device has no DMA logging";
}

static int run_steps(struct run *r)
{
	struct iommufd_dirty_tracker_device d;
	struct iommufd_hwpt *hwpt = NULL;
	struct show s = { .len = 0 };
	uint64_t iova = IOVA_BASE;
	const char *why = NULL;
	size_t n = 1;
	int ret;

	ret = iommufd_device_open(r->ctx, r->name, NULL, &r->dev);
	if (ret)
		return failed(EXIT_FAILURE, "open the device", "%s: %s", r->name,
			      strerror(-ret));
	ok("open the device", "%s", r->name);

	ret = iommufd_ioas_new(r->ctx, &r->ioas);
	if (!ret)
		ret = iommufd_device_attach(r->dev, r->ioas,
					    IOMMUFD_ATTACH_DIRTY_TRACKING, &hwpt);
	if (ret)
		return failed(EXIT_FAILURE, "attach with dirty tracking", "%s",
			      strerror(-ret));
	ok("attach with dirty tracking", "%s",
	   !hwpt ? "no HWPT: the IOAS directly" :
	   iommufd_hwpt_flags(hwpt) & IOMMUFD_HWPT_DIRTY_TRACKING ?
		   "a dirty-tracking HWPT" :
		   "a HWPT without dirty tracking: the IOMMU cannot");

	r->mem = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED) {
		r->mem = NULL;
		return failed(EXIT_FAILURE, "map memory", "mmap: %s",
			      strerror(errno));
	}
	memset(r->mem, 0, NPAGES * PAGE);
	ret = iommufd_ioas_map(r->ioas, r->mem, NPAGES * PAGE, &iova,
			       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
				       IOMMUFD_MAP_FIXED_IOVA);
	if (ret)
		return failed(EXIT_FAILURE, "map memory", "%s", strerror(-ret));
	r->mapped = true;
	ok("map memory", "%u pages at IOVA 0x%" PRIx64, NPAGES, IOVA_BASE);

	ret = edu_bus_master(r->dev, NULL, NULL, &why);
	if (ret)
		return failed(EXIT_FAILURE, "enable bus mastering", "%s: %s",
			      why, strerror(-ret));

	ret = iommufd_dirty_tracker_new(r->ioas, NULL, &r->tracker);
	if (!ret)
		ret = iommufd_dirty_tracker_start(r->tracker);
	if (!ret)
		ret = iommufd_dirty_tracker_devices(r->tracker, &d, &n);
	if (ret)
		return failed(EXIT_FAILURE, "start dirty tracking", "%s",
			      strerror(-ret));
	if (d.source == IOMMUFD_DIRTY_SOURCE_ALL ||
	    d.source == IOMMUFD_DIRTY_SOURCE_CONTAINER)
		return failed(EXIT_SKIP, "start dirty tracking",
			      "nothing tracks %s's writes page by page here (%s): every mapped page counts as dirty",
			      r->name, no_tracking_why(r->ctx, d.source));
	ok("start dirty tracking", "%s: dirty pages from the %s", r->name,
	   d.source == IOMMUFD_DIRTY_SOURCE_IOMMU ? "IOMMU" : "device's DMA log");

	ret = iommufd_dirty_bitmap_new(IOVA_BASE, NPAGES * PAGE, PAGE, &r->bm);
	if (ret)
		return failed(EXIT_FAILURE, "dirty bitmap", "%s", strerror(-ret));

	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		ret = run_dma(r, EDU_BUF_ADDR,
			      (uint32_t)(IOVA_BASE + writes[i].off),
			      writes[i].len, EDU_DMA_TO_RAM);
		if (ret)
			return failed(EXIT_FAILURE, "DMA device -> RAM",
				      "%u bytes at +0x%x: %s", writes[i].len,
				      writes[i].off, strerror(-ret));
	}
	ret = run_dma(r, (uint32_t)(IOVA_BASE + READ_OFF), EDU_BUF_ADDR, 64, 0);
	if (ret)
		return failed(EXIT_FAILURE, "DMA RAM -> device", "%s",
			      strerror(-ret));
	ok("DMA", "%zu writes into RAM, one read from page %u",
	   sizeof(writes) / sizeof(writes[0]), READ_OFF / PAGE);

	ret = iommufd_dirty_tracker_sync(r->tracker, r->bm, IOVA_BASE,
					 NPAGES * PAGE, NULL);
	if (ret)
		return failed(EXIT_FAILURE, "read the dirty pages", "%s",
			      strerror(-ret));
	iommufd_dirty_bitmap_for_each_run(r->bm, show_run, &s);
	printf("dirty pages:%s\n", s.len ? s.text : " none");
	for (uint64_t p = 0; p < NPAGES; p++) {
		int dirty = iommufd_dirty_bitmap_test(r->bm, IOVA_BASE + p * PAGE,
						      PAGE);

		if (dirty != (int)written(p))
			return failed(EXIT_FAILURE, "read the dirty pages",
				      "page %" PRIu64 " is %s, but the device %s it",
				      p, dirty ? "dirty" : "clean",
				      dirty ? "did not write" : "wrote");
	}
	ok("read the dirty pages", "exactly the %" PRIu64 " pages written",
	   iommufd_dirty_bitmap_count(r->bm));

	/* That sync cleared the sources: the next one starts clean. */
	iommufd_dirty_bitmap_clear_all(r->bm);
	ret = iommufd_dirty_tracker_sync(r->tracker, r->bm, IOVA_BASE,
					 NPAGES * PAGE, NULL);
	if (ret)
		return failed(EXIT_FAILURE, "read again", "%s", strerror(-ret));
	if (iommufd_dirty_bitmap_count(r->bm))
		return failed(EXIT_FAILURE, "read again",
			      "%" PRIu64 " pages still dirty",
			      iommufd_dirty_bitmap_count(r->bm));
	printf("dirty pages: none\n");
	ok("read again", "clean");

	ret = iommufd_dirty_tracker_stop(r->tracker);
	if (ret)
		return failed(EXIT_FAILURE, "stop dirty tracking", "%s",
			      strerror(-ret));
	ok("stop dirty tracking", NULL);
	return 0;
}

static void cleanup(struct run *r)
{
	iommufd_dirty_tracker_free(r->tracker);
	iommufd_dirty_bitmap_free(r->bm);
	if (r->mapped)
		iommufd_ioas_unmap(r->ioas, IOVA_BASE, NPAGES * PAGE, 0, NULL);
	iommufd_device_free(r->dev);
	if (r->ioas)
		iommufd_ioas_destroy(r->ioas);
	if (r->mem)
		munmap(r->mem, NPAGES * PAGE);
	iommufd_ctx_free(r->ctx);
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	int status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bdf") && i + 1 < argc) {
			r.bdf = argv[++i];
		} else if (!strncmp(argv[i], "--bdf=", 6)) {
			r.bdf = argv[i] + 6;
		} else {
			fprintf(stderr, "usage: %s [--bdf DDDD:BB:DD.F]\n", PROG);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	status = example_ctx_new(PROG, &r.ctx);
	if (status)
		return status == -ENOENT ? EXIT_SKIP : EXIT_FAILURE;
	status = find_edu(&r);
	if (!status)
		status = run_steps(&r);
	cleanup(&r);
	if (!status)
		printf("%s: every step passed\n", PROG);
	return status;
}
