/* SPDX-License-Identifier: MIT */
/*
 * vfio-type1-raw: the first real-kernel lab scenario program.
 *
 * Drives QEMU's edu device through the raw VFIO type1 ioctls of the system's
 * <linux/vfio.h>, without libiommufd, so that the lab itself is proven before
 * the library's programs run in it.  Run inside the guest as
 *     vfio-type1-raw --bdf 0000:00:01.0 --group 1
 * Prints one "VMTEST <name> PASS|FAIL|SKIP [reason]" line per scenario and
 * exits 1 if any scenario failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

/* edu BAR0 registers (QEMU hw/misc/edu.c, documented in VM-LAB.md). */
#define EDU_IDENT 0x00
#define EDU_LIVENESS 0x04
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 0x1u
#define EDU_CMD_TO_RAM 0x2u
#define EDU_CMD_IRQ 0x4u
#define EDU_IRQ_DMA 0x100u
#define EDU_IDENT_VALUE 0x010000edu
#define EDU_BUF 0x40000u /* device-side buffer, 4096 bytes */

#define BUF_SIZE (2u << 20)
#define IOVA_BASE 0x200000ull /* below 1 << 28: edu's DMA mask */
#define XFER 3000u            /* keep each DMA under 4096 bytes */
#define PAGE 4096u

struct lab {
	const char *bdf;
	int group_id;
	int container, group, device;
	uint8_t *buf;       /* BUF_SIZE bytes, mapped at IOVA_BASE when mapped */
	bool mapped;
	volatile uint8_t *bar0;
	size_t bar0_size;
	uint64_t config_off;
	int failures;
};

static void report(struct lab *lab, const char *name, const char *result,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct lab *lab, const char *name, const char *result,
		   const char *fmt, ...)
{
	char reason[512] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	if (!strcmp(result, "FAIL"))
		lab->failures++;
	printf("VMTEST %s %s%s%s\n", name, result, reason[0] ? " " : "", reason);
	fflush(stdout);
}

#define PASS(name, ...) report(lab, name, "PASS", __VA_ARGS__)
#define FAIL(name, ...) report(lab, name, "FAIL", __VA_ARGS__)
#define SKIP(name, ...) report(lab, name, "SKIP", __VA_ARGS__)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rd32(struct lab *lab, unsigned int off)
{
	return *(volatile uint32_t *)(lab->bar0 + off);
}

static void wr32(struct lab *lab, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(lab->bar0 + off) = v;
}

/* ---- container, group, IOMMU info ---------------------------------------- */

static void print_info_caps(struct vfio_iommu_type1_info *info, bool *have_migration)
{
	uint32_t off = info->cap_offset;

	*have_migration = false;
	while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		switch (h->id) {
		case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;

			for (uint32_t i = 0; i < r->nr_iovas; i++)
				printf("  iova range [0x%" PRIx64 ", 0x%" PRIx64 "]\n",
				       (uint64_t)r->iova_ranges[i].start,
				       (uint64_t)r->iova_ranges[i].end);
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
			struct vfio_iommu_type1_info_dma_avail *a = (void *)h;

			printf("  dma mappings available %u\n", a->avail);
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
			struct vfio_iommu_type1_info_cap_migration *m = (void *)h;

			printf("  migration pgsizes 0x%" PRIx64 " max bitmap %" PRIu64 "\n",
			       (uint64_t)m->pgsize_bitmap, (uint64_t)m->max_dirty_bitmap_size);
			*have_migration = true;
			break;
		}
		default:
			printf("  unknown cap %u\n", h->id);
		}
		off = h->next;
	}
}

/* The IOVA range list must contain [IOVA_BASE, IOVA_BASE + BUF_SIZE). */
static bool iova_allowed(struct vfio_iommu_type1_info *info)
{
	uint32_t off = info->cap_offset;

	while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;

			for (uint32_t i = 0; i < r->nr_iovas; i++)
				if (r->iova_ranges[i].start <= IOVA_BASE &&
				    r->iova_ranges[i].end >= IOVA_BASE + BUF_SIZE - 1)
					return true;
			return false;
		}
		off = h->next;
	}
	return true; /* no list: nothing excluded */
}

static int map_buffer(struct lab *lab)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)lab->buf,
		.iova = IOVA_BASE,
		.size = BUF_SIZE,
	};

	if (ioctl(lab->container, VFIO_IOMMU_MAP_DMA, &map))
		return -errno;
	lab->mapped = true;
	return 0;
}

static bool scenario_map(struct lab *lab, bool *have_migration)
{
	const char *n = "type1-map";
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_iommu_type1_info *info;
	char path[64];
	int ret;

	lab->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (lab->container < 0) {
		FAIL(n, "open /dev/vfio/vfio: %s", strerror(errno));
		return false;
	}
	ret = ioctl(lab->container, VFIO_GET_API_VERSION);
	if (ret != VFIO_API_VERSION) {
		FAIL(n, "VFIO_GET_API_VERSION returned %d", ret);
		return false;
	}
	if (ioctl(lab->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		FAIL(n, "no VFIO_TYPE1v2_IOMMU extension");
		return false;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", lab->group_id);
	lab->group = open(path, O_RDWR | O_CLOEXEC);
	if (lab->group < 0) {
		FAIL(n, "open %s: %s", path, strerror(errno));
		return false;
	}
	if (ioctl(lab->group, VFIO_GROUP_GET_STATUS, &status)) {
		FAIL(n, "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
		return false;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		FAIL(n, "group %d is not viable (flags 0x%x)", lab->group_id, status.flags);
		return false;
	}
	if (ioctl(lab->group, VFIO_GROUP_SET_CONTAINER, &lab->container)) {
		FAIL(n, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
		return false;
	}
	if (ioctl(lab->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		FAIL(n, "VFIO_SET_IOMMU TYPE1v2: %s", strerror(errno));
		return false;
	}

	/* GET_INFO twice: once for the size of the capability chain. */
	info = calloc(1, sizeof(*info));
	if (!info)
		abort();
	info->argsz = sizeof(*info);
	if (ioctl(lab->container, VFIO_IOMMU_GET_INFO, info)) {
		FAIL(n, "VFIO_IOMMU_GET_INFO: %s", strerror(errno));
		free(info);
		return false;
	}
	if (info->argsz > sizeof(*info)) {
		uint32_t need = info->argsz;

		free(info);
		info = calloc(1, need);
		if (!info)
			abort();
		info->argsz = need;
		if (ioctl(lab->container, VFIO_IOMMU_GET_INFO, info)) {
			FAIL(n, "VFIO_IOMMU_GET_INFO with caps: %s", strerror(errno));
			free(info);
			return false;
		}
	}
	printf("  iommu flags 0x%x pgsizes 0x%" PRIx64 "\n", info->flags,
	       (uint64_t)info->iova_pgsizes);
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS) || !info->cap_offset) {
		FAIL(n, "VFIO_IOMMU_GET_INFO reported no capabilities");
		free(info);
		return false;
	}
	print_info_caps(info, have_migration);
	if (!iova_allowed(info)) {
		FAIL(n, "IOVA 0x%llx+0x%x is outside the reported ranges", IOVA_BASE, BUF_SIZE);
		free(info);
		return false;
	}
	free(info);

	lab->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (lab->buf == MAP_FAILED) {
		FAIL(n, "mmap: %s", strerror(errno));
		return false;
	}
	memset(lab->buf, 0, BUF_SIZE);
	ret = map_buffer(lab);
	if (ret) {
		FAIL(n, "VFIO_IOMMU_MAP_DMA: %s", strerror(-ret));
		return false;
	}
	/* The same range again must be refused: it is already mapped. */
	ret = map_buffer(lab);
	if (ret != -EEXIST) {
		FAIL(n, "mapping the same IOVA twice returned %s, want EEXIST",
		     ret ? strerror(-ret) : "success");
		return false;
	}
	PASS(n, "2 MiB at IOVA 0x%llx", IOVA_BASE);
	return true;
}

/* ---- device ---------------------------------------------------------------- */

static bool scenario_device(struct lab *lab)
{
	const char *n = "type1-device";
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_region_info bar = { .argsz = sizeof(bar),
					.index = VFIO_PCI_BAR0_REGION_INDEX };
	uint16_t cmd;
	uint32_t ident, live;
	void *p;

	lab->device = ioctl(lab->group, VFIO_GROUP_GET_DEVICE_FD, lab->bdf);
	if (lab->device < 0) {
		FAIL(n, "VFIO_GROUP_GET_DEVICE_FD %s: %s", lab->bdf, strerror(errno));
		return false;
	}
	if (ioctl(lab->device, VFIO_DEVICE_GET_INFO, &dinfo)) {
		FAIL(n, "VFIO_DEVICE_GET_INFO: %s", strerror(errno));
		return false;
	}
	printf("  device flags 0x%x regions %u irqs %u\n", dinfo.flags,
	       dinfo.num_regions, dinfo.num_irqs);
	if (!(dinfo.flags & VFIO_DEVICE_FLAGS_PCI)) {
		FAIL(n, "not a PCI device (flags 0x%x)", dinfo.flags);
		return false;
	}

	/* vfio-pci leaves bus mastering off. */
	if (ioctl(lab->device, VFIO_DEVICE_GET_REGION_INFO, &cfg)) {
		FAIL(n, "GET_REGION_INFO config: %s", strerror(errno));
		return false;
	}
	lab->config_off = cfg.offset;
	if (pread(lab->device, &cmd, 2, (off_t)(cfg.offset + PCI_COMMAND)) != 2) {
		FAIL(n, "read PCI_COMMAND: %s", strerror(errno));
		return false;
	}
	printf("  PCI_COMMAND 0x%04x\n", cmd);
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(lab->device, &cmd, 2, (off_t)(cfg.offset + PCI_COMMAND)) != 2) {
		FAIL(n, "write PCI_COMMAND: %s", strerror(errno));
		return false;
	}
	if (pread(lab->device, &cmd, 2, (off_t)(cfg.offset + PCI_COMMAND)) != 2 ||
	    !(cmd & PCI_COMMAND_MASTER)) {
		FAIL(n, "bus mastering did not stick (PCI_COMMAND 0x%04x)", cmd);
		return false;
	}

	if (ioctl(lab->device, VFIO_DEVICE_GET_REGION_INFO, &bar)) {
		FAIL(n, "GET_REGION_INFO BAR0: %s", strerror(errno));
		return false;
	}
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size < 0x100) {
		FAIL(n, "BAR0 cannot be mmapped (flags 0x%x size 0x%llx)", bar.flags,
		     (unsigned long long)bar.size);
		return false;
	}
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, lab->device,
		 (off_t)bar.offset);
	if (p == MAP_FAILED) {
		FAIL(n, "mmap BAR0: %s", strerror(errno));
		return false;
	}
	lab->bar0 = p;
	lab->bar0_size = bar.size;
	ident = rd32(lab, EDU_IDENT);
	if (ident != EDU_IDENT_VALUE) {
		FAIL(n, "ident 0x%08x, want 0x%08x", ident, EDU_IDENT_VALUE);
		return false;
	}
	wr32(lab, EDU_LIVENESS, 0x12345678);
	live = rd32(lab, EDU_LIVENESS);
	if (live != (uint32_t)~0x12345678u) {
		FAIL(n, "liveness read 0x%08x, want 0x%08x", live, ~0x12345678u);
		return false;
	}
	PASS(n, "%s ident 0x%08x BAR0 0x%llx bytes", lab->bdf, ident,
	     (unsigned long long)bar.size);
	return true;
}

/* Start one edu DMA and wait for it; returns 0 or -ETIMEDOUT. */
static int edu_dma(struct lab *lab, uint64_t src, uint64_t dst, uint32_t count,
		   uint32_t flags)
{
	double deadline = now() + 20.0;

	wr32(lab, EDU_DMA_SRC, (uint32_t)src);
	wr32(lab, EDU_DMA_DST, (uint32_t)dst);
	wr32(lab, EDU_DMA_CNT, count);
	wr32(lab, EDU_DMA_CMD, EDU_CMD_START | flags);
	while (rd32(lab, EDU_DMA_CMD) & EDU_CMD_START) {
		if (now() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static bool dma_to_device(struct lab *lab, const char *n, unsigned int seed)
{
	fill(lab->buf + 0x1000, XFER, seed);
	if (edu_dma(lab, IOVA_BASE + 0x1000, EDU_BUF, XFER, 0)) {
		FAIL(n, "DMA RAM->device did not complete in 20 s");
		return false;
	}
	return true;
}

static bool dma_to_ram_matches(struct lab *lab, const char *n, unsigned int seed)
{
	uint8_t *dst = lab->buf + 0x10000, want[XFER];

	memset(dst, 0xaa, XFER);
	if (edu_dma(lab, EDU_BUF, IOVA_BASE + 0x10000, XFER, EDU_CMD_TO_RAM)) {
		FAIL(n, "DMA device->RAM did not complete in 20 s");
		return false;
	}
	fill(want, XFER, seed);
	for (size_t i = 0; i < XFER; i++) {
		if (dst[i] != want[i]) {
			FAIL(n, "byte %zu is 0x%02x, want 0x%02x", i, dst[i], want[i]);
			return false;
		}
	}
	return true;
}

/* ---- MSI ------------------------------------------------------------------- */

static int set_msi(struct lab *lab, int efd)
{
	_Alignas(uint64_t) char storage[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)storage;

	memset(storage, 0, sizeof(storage));
	set->argsz = efd >= 0 ? sizeof(storage) : sizeof(*set);
	set->flags = (efd >= 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		     VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->start = 0;
	set->count = efd >= 0 ? 1 : 0;
	if (efd >= 0)
		memcpy(set->data, &efd, sizeof(int32_t));
	return ioctl(lab->device, VFIO_DEVICE_SET_IRQS, set) ? -errno : 0;
}

static void scenario_msi(struct lab *lab)
{
	const char *n = "type1-msi";
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_MSI_IRQ_INDEX };
	struct pollfd pfd;
	uint64_t count = 0;
	uint32_t status;
	int efd, ret;

	if (ioctl(lab->device, VFIO_DEVICE_GET_IRQ_INFO, &irq)) {
		FAIL(n, "GET_IRQ_INFO MSI: %s", strerror(errno));
		return;
	}
	if (irq.count < 1 || !(irq.flags & VFIO_IRQ_INFO_EVENTFD)) {
		FAIL(n, "MSI index: count %u flags 0x%x", irq.count, irq.flags);
		return;
	}
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		FAIL(n, "eventfd: %s", strerror(errno));
		return;
	}
	ret = set_msi(lab, efd);
	if (ret) {
		FAIL(n, "SET_IRQS MSI eventfd: %s", strerror(-ret));
		close(efd);
		return;
	}
	if (!dma_to_device(lab, n, 3)) {
		set_msi(lab, -1);
		close(efd);
		return;
	}
	/* Nothing may have fired yet: no interrupt was asked for. */
	if (read(efd, &count, sizeof(count)) == sizeof(count)) {
		FAIL(n, "eventfd signalled %" PRIu64 " times before any interrupt", count);
		set_msi(lab, -1);
		close(efd);
		return;
	}
	fill(lab->buf + 0x1000, XFER, 4);
	wr32(lab, EDU_DMA_SRC, IOVA_BASE + 0x1000);
	wr32(lab, EDU_DMA_DST, EDU_BUF);
	wr32(lab, EDU_DMA_CNT, XFER);
	wr32(lab, EDU_DMA_CMD, EDU_CMD_START | EDU_CMD_IRQ);
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ret = poll(&pfd, 1, 20000);
	if (ret != 1) {
		FAIL(n, "no MSI within 20 s (poll %d, irq status 0x%x)", ret,
		     rd32(lab, EDU_IRQ_STATUS));
		set_msi(lab, -1);
		close(efd);
		return;
	}
	if (read(efd, &count, sizeof(count)) != sizeof(count)) {
		FAIL(n, "eventfd read: %s", strerror(errno));
		set_msi(lab, -1);
		close(efd);
		return;
	}
	status = rd32(lab, EDU_IRQ_STATUS);
	wr32(lab, EDU_IRQ_ACK, status);
	ret = set_msi(lab, -1);
	close(efd);
	if (!(status & EDU_IRQ_DMA)) {
		FAIL(n, "interrupt status 0x%x lacks the DMA bit 0x%x", status, EDU_IRQ_DMA);
		return;
	}
	if (ret) {
		FAIL(n, "disabling MSI: %s", strerror(-ret));
		return;
	}
	PASS(n, "eventfd count %" PRIu64 " status 0x%x", count, status);
}

/* ---- unmap ----------------------------------------------------------------- */

static bool scenario_unmap(struct lab *lab)
{
	const char *n = "type1-unmap";
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA_BASE, .size = BUF_SIZE,
	};

	if (ioctl(lab->container, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
		FAIL(n, "VFIO_IOMMU_UNMAP_DMA: %s", strerror(errno));
		return false;
	}
	lab->mapped = false;
	if (unmap.size != BUF_SIZE) {
		FAIL(n, "unmapped 0x%llx bytes, want 0x%x", (unsigned long long)unmap.size,
		     BUF_SIZE);
		return false;
	}
	/* A second unmap of the same range finds nothing. */
	unmap = (struct vfio_iommu_type1_dma_unmap){
		.argsz = sizeof(unmap), .iova = IOVA_BASE, .size = BUF_SIZE,
	};
	if (ioctl(lab->container, VFIO_IOMMU_UNMAP_DMA, &unmap) || unmap.size != 0) {
		FAIL(n, "second unmap: %s, size 0x%llx", strerror(errno),
		     (unsigned long long)unmap.size);
		return false;
	}
	PASS(n, "0x%x bytes", BUF_SIZE);
	return true;
}

/* Does one line of the kernel log contain both strings? */
static bool kernel_log_has(const char *a, const char *b)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	bool found = false;
	char *log, *line, *save = NULL;
	int len;

	if (size <= 0)
		return false;
	log = malloc((size_t)size + 1);
	if (!log)
		return false;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, size);
	if (len > 0) {
		log[len] = '\0';
		for (line = strtok_r(log, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save))
			found = strstr(line, a) && strstr(line, b);
	}
	free(log);
	return found;
}

static void scenario_unmapped_blocked(struct lab *lab)
{
	const char *n = "type1-dma-unmapped-blocked";
	uint8_t *dst = lab->buf + 0x10000;
	char fault[64];

	/* The device buffer holds seed 4's pattern; RAM holds 0x5a. */
	memset(dst, 0x5a, XFER);
	if (edu_dma(lab, EDU_BUF, IOVA_BASE + 0x10000, XFER, EDU_CMD_TO_RAM)) {
		FAIL(n, "DMA to an unmapped IOVA did not complete in 20 s");
		return;
	}
	for (size_t i = 0; i < XFER; i++) {
		if (dst[i] != 0x5a) {
			FAIL(n, "byte %zu changed to 0x%02x: the DMA landed", i, dst[i]);
			return;
		}
	}
	/* The IOMMU should have reported it; the fault is logged asynchronously. */
	snprintf(fault, sizeof(fault), "fault addr 0x%llx", IOVA_BASE + 0x10000);
	for (int tries = 0; tries < 20; tries++) {
		if (kernel_log_has("DMAR", fault)) {
			PASS(n, "destination untouched, DMAR fault logged");
			return;
		}
		usleep(50000);
	}
	PASS(n, "destination untouched (no DMAR fault line in the kernel log)");
}

/* ---- reset ----------------------------------------------------------------- */

static void scenario_reset(struct lab *lab)
{
	const char *n = "type1-reset";
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	uint16_t cmd;

	if (ioctl(lab->device, VFIO_DEVICE_GET_INFO, &dinfo)) {
		FAIL(n, "VFIO_DEVICE_GET_INFO: %s", strerror(errno));
		return;
	}
	if (!(dinfo.flags & VFIO_DEVICE_FLAGS_RESET)) {
		/* Then the kernel must refuse the reset, not pretend. */
		if (ioctl(lab->device, VFIO_DEVICE_RESET) == 0) {
			FAIL(n, "VFIO_DEVICE_RESET succeeded without FLAGS_RESET");
			return;
		}
		SKIP(n, "the device has no reset method (VFIO_DEVICE_RESET: %s)",
		     strerror(errno));
		return;
	}
	if (ioctl(lab->device, VFIO_DEVICE_RESET)) {
		FAIL(n, "VFIO_DEVICE_RESET: %s", strerror(errno));
		return;
	}
	if (rd32(lab, EDU_IDENT) != EDU_IDENT_VALUE) {
		FAIL(n, "ident after reset 0x%08x", rd32(lab, EDU_IDENT));
		return;
	}
	/* The reset may clear bus mastering: set it again, then DMA must work. */
	if (pread(lab->device, &cmd, 2, (off_t)(lab->config_off + PCI_COMMAND)) != 2) {
		FAIL(n, "read PCI_COMMAND: %s", strerror(errno));
		return;
	}
	printf("  PCI_COMMAND after reset 0x%04x\n", cmd);
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(lab->device, &cmd, 2, (off_t)(lab->config_off + PCI_COMMAND)) != 2) {
		FAIL(n, "write PCI_COMMAND: %s", strerror(errno));
		return;
	}
	if (!lab->mapped) {
		int ret = map_buffer(lab);

		if (ret) {
			FAIL(n, "MAP_DMA after reset: %s", strerror(-ret));
			return;
		}
	}
	if (!dma_to_device(lab, n, 5) || !dma_to_ram_matches(lab, n, 5))
		return;
	PASS(n, "DMA works after the reset");
}

/* ---- dirty pages ----------------------------------------------------------- */

static int dirty_ctl(struct lab *lab, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return ioctl(lab->container, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

static int dirty_get(struct lab *lab, uint64_t *bitmap, size_t bitmap_bytes)
{
	_Alignas(uint64_t) char storage[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
				      sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)storage;
	struct vfio_iommu_type1_dirty_bitmap_get *get = (void *)d->data;

	memset(storage, 0, sizeof(storage));
	memset(bitmap, 0, bitmap_bytes);
	d->argsz = sizeof(storage);
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	get->iova = IOVA_BASE;
	get->size = BUF_SIZE;
	get->bitmap.pgsize = PAGE;
	get->bitmap.size = bitmap_bytes;
	get->bitmap.data = (__u64 *)bitmap;
	return ioctl(lab->container, VFIO_IOMMU_DIRTY_PAGES, d) ? -errno : 0;
}

static void scenario_dirty(struct lab *lab, bool have_migration)
{
	const char *n = "type1-dirty-pages";
	uint64_t bitmap[BUF_SIZE / PAGE / 64];
	unsigned int dirty = 0, page = 0x10000 / PAGE;
	int ret;

	if (!have_migration) {
		SKIP(n, "no VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION");
		return;
	}
	if (!lab->mapped && (ret = map_buffer(lab))) {
		FAIL(n, "MAP_DMA: %s", strerror(-ret));
		return;
	}
	ret = dirty_get(lab, bitmap, sizeof(bitmap));
	if (ret != -EINVAL) {
		FAIL(n, "GET_BITMAP before START returned %s, want EINVAL",
		     ret ? strerror(-ret) : "success");
		return;
	}
	ret = dirty_ctl(lab, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	if (ret) {
		FAIL(n, "DIRTY_PAGES START: %s", strerror(-ret));
		return;
	}
	/* Clear what START reported, then DMA into one page. */
	ret = dirty_get(lab, bitmap, sizeof(bitmap));
	if (ret) {
		FAIL(n, "DIRTY_PAGES GET_BITMAP: %s", strerror(-ret));
		dirty_ctl(lab, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
		return;
	}
	if (!dma_to_device(lab, n, 6) || !dma_to_ram_matches(lab, n, 6)) {
		dirty_ctl(lab, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
		return;
	}
	ret = dirty_get(lab, bitmap, sizeof(bitmap));
	if (ret) {
		FAIL(n, "DIRTY_PAGES GET_BITMAP after DMA: %s", strerror(-ret));
		dirty_ctl(lab, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
		return;
	}
	for (unsigned int i = 0; i < BUF_SIZE / PAGE; i++)
		dirty += (bitmap[i / 64] >> (i % 64)) & 1;
	ret = dirty_ctl(lab, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	if (!((bitmap[page / 64] >> (page % 64)) & 1)) {
		FAIL(n, "page %u written by DMA is not dirty (%u of %u dirty)", page,
		     dirty, BUF_SIZE / PAGE);
		return;
	}
	if (ret) {
		FAIL(n, "DIRTY_PAGES STOP: %s", strerror(-ret));
		return;
	}
	ret = dirty_get(lab, bitmap, sizeof(bitmap));
	if (ret != -EINVAL) {
		FAIL(n, "GET_BITMAP after STOP returned %s, want EINVAL",
		     ret ? strerror(-ret) : "success");
		return;
	}
	/* type1 reports every pinned page dirty, even pages only read. */
	PASS(n, "%u of %u pages dirty, DMA'd page %u among them", dirty, BUF_SIZE / PAGE,
	     page);
}

/* ---- main ------------------------------------------------------------------ */

static const char *const all_names[] = {
	"type1-map", "type1-device", "type1-dma-to-device", "type1-dma-to-ram",
	"type1-msi", "type1-unmap", "type1-dma-unmapped-blocked", "type1-reset",
	"type1-dirty-pages",
};

static void fail_rest(struct lab *lab, size_t from, const char *why)
{
	for (size_t i = from; i < sizeof(all_names) / sizeof(all_names[0]); i++)
		FAIL(all_names[i], "not run: %s", why);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bdf", required_argument, NULL, 'b' },
		{ "group", required_argument, NULL, 'g' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct lab lab_storage = { .group_id = -1, .container = -1, .group = -1,
				   .device = -1 };
	struct lab *lab = &lab_storage;
	bool have_migration = false;
	double t0 = now();
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			lab->bdf = optarg;
			break;
		case 'g':
			lab->group_id = atoi(optarg);
			break;
		case 'l':
			for (size_t i = 0; i < sizeof(all_names) / sizeof(all_names[0]); i++)
				printf("%s\n", all_names[i]);
			return 0;
		default:
			fprintf(stderr, "usage: %s --bdf BDF --group N | --list\n", argv[0]);
			return 2;
		}
	}
	if (!lab->bdf || lab->group_id < 0) {
		fprintf(stderr, "usage: %s --bdf BDF --group N | --list\n", argv[0]);
		return 2;
	}

	if (!scenario_map(lab, &have_migration)) {
		fail_rest(lab, 1, "type1-map failed");
		return 1;
	}
	if (!scenario_device(lab)) {
		fail_rest(lab, 2, "type1-device failed");
		return 1;
	}
	if (dma_to_device(lab, "type1-dma-to-device", 1))
		PASS("type1-dma-to-device", "%u bytes IOVA 0x%llx -> device 0x%x", XFER,
		     IOVA_BASE + 0x1000, EDU_BUF);
	if (dma_to_ram_matches(lab, "type1-dma-to-ram", 1))
		PASS("type1-dma-to-ram", "%u bytes device 0x%x -> IOVA 0x%llx match", XFER,
		     EDU_BUF, IOVA_BASE + 0x10000);
	scenario_msi(lab);
	if (scenario_unmap(lab))
		scenario_unmapped_blocked(lab);
	else
		FAIL("type1-dma-unmapped-blocked", "not run: type1-unmap failed");
	scenario_reset(lab);
	scenario_dirty(lab, have_migration);

	printf("  %.1f s, %d failed\n", now() - t0, lab->failures);
	return lab->failures ? 1 : 0;
}
