/* SPDX-License-Identifier: MIT */
/*
 * vm-scenarios: the real-kernel lab's scenarios written against libiommufd's
 * public API only (no ioctl, no <linux/vfio.h>).
 *
 *     vm-scenarios --bdf BDF --group N [--expect-backend NAME]
 *     vm-scenarios --list
 *
 * Inside the lab's guest (Debian's 6.1: no iommufd) the context's AUTO
 * backend resolves to VFIO type1. On the host it runs unchanged on the fake
 * kernel: LIBIOMMUFD_FAKE=1 (edu at 0000:00:04.0, group 1), with
 * LIBIOMMUFD_FAKE_KERNEL=6.1 to emulate the lab's kernel; the suite compares
 * both runs scenario by scenario (tests/scenario-parity.sh).
 *
 * Prints one "VMTEST lib-<name> PASS|FAIL|SKIP [reason]" line per scenario,
 * in the order of scenario_names[], and exits 1 when one failed. A scenario
 * whose outcome depends on the machine rather than on the kernel or the
 * library also prints "VMTEST-FACT lib-<name> key=value" before its result:
 * parity compares outcomes only between machines that agree on the facts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>
#include <iommufd/discovery.h>
#include <iommufd/tracking.h>

/* edu's registers, vfio-pci's indexes and the device helpers, shared with
 * the examples (examples/edu.h; meson.build adds examples/ to the include
 * path). Public API only, like the rest of this program. */
#include "edu.h"

/* VFIO_DEVICE_FLAGS_* (the values of <linux/vfio.h>, which this program
 * does not include). */
#define DEVICE_FLAGS_RESET (1u << 0)
#define DEVICE_FLAGS_PCI (1u << 1)

#define BUF_SIZE (UINT64_C(2) << 20)
#define IOVA_A UINT64_C(0x200000)	/* fixed, below edu's 28-bit DMA mask */
#define SRC_OFF 0x1000u
#define DST_OFF 0x10000u
#define XFER 3000u			/* each DMA under EDU_BUF_SIZE */
#define DMA_TIMEOUT_MS 20000
#define IRQ_TIMEOUT_MS 20000
#define PAGE 4096u			/* type1's dirty page size in the lab */

/* The lab's usable IOVA ranges: intel-iommu with 39 address bits, less the
 * x86 MSI window [0xfee00000, 0xfeefffff]. */
static const struct iommufd_iova_range lab_ranges[] = {
	{ 0, UINT64_C(0xfedfffff) },
	{ UINT64_C(0xfef00000), UINT64_C(0x7fffffffff) },
};

static const char *const scenario_names[] = {
	"lib-ctx",
	"lib-discovery",
	"lib-open",
	"lib-attach",
	"lib-ranges",
	"lib-map",
	"lib-dma-to-device",
	"lib-dma-to-ram",
	"lib-msi",
	"lib-dirty",
	"lib-unmap",
	"lib-dma-unmapped-blocked",
	"lib-reset",
	"lib-unmap-all",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct lab {
	const char *bdf;
	int group_id;
	const char *expect_backend;	/* NULL: derived in lib-ctx */
	struct iommufd_ctx *ctx;
	struct iommufd_device *dev;
	struct iommufd_ioas *ioas;
	bool attached;
	uint8_t *buf_a, *buf_b;		/* BUF_SIZE each */
	bool a_mapped, b_mapped;
	uint64_t iova_b;		/* chosen by the kernel or library */
	bool dma_ready;			/* bus mastering on, DMA round trip done */
	bool unmapped_a;		/* lib-unmap took A away */
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

/* A prerequisite: false (and the scenario FAILs as not run) unless @ok. */
static bool need(struct lab *lab, const char *name, bool ok, const char *what)
{
	if (!ok)
		FAIL(name, "not run: %s", what);
	return ok;
}

static const char *err(int ret)
{
	return strerror(ret < 0 ? -ret : ret);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- device access through the library ---------------------------------- */

/* Set bus mastering (and memory decoding) in PCI_COMMAND; *before and
 * *after (may be NULL) get the register around the change. */
static int bus_master(struct lab *lab, uint16_t *before, uint16_t *after)
{
	return edu_pci_command_set(lab->dev,
				   EDU_PCI_COMMAND_MASTER | EDU_PCI_COMMAND_MEMORY,
				   before, after, NULL);
}

/* Start one XFER-byte transfer; with @wait, poll until it is done. */
static int lab_dma(struct lab *lab, uint64_t src, uint64_t dst, uint32_t cmd,
		   bool wait)
{
	if (!wait)
		return edu_dma_start(lab->dev, (uint32_t)src, (uint32_t)dst, XFER,
				     cmd);
	return edu_dma(lab->dev, (uint32_t)src, (uint32_t)dst, XFER, cmd,
		       DMA_TIMEOUT_MS, NULL);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* RAM (A + SRC_OFF) -> device: 0, or FAIL @name and false. */
static bool dma_to_device(struct lab *lab, const char *name, unsigned int seed)
{
	int ret;

	fill(lab->buf_a + SRC_OFF, XFER, seed);
	ret = lab_dma(lab, IOVA_A + SRC_OFF, EDU_BUF_ADDR, 0, true);
	if (ret) {
		FAIL(name, "DMA RAM->device (IOVA 0x%" PRIx64 "): %s",
		     IOVA_A + SRC_OFF, err(ret));
		return false;
	}
	return true;
}

/* Device -> RAM (A + DST_OFF), then the bytes must be seed's pattern. */
static bool dma_to_ram_matches(struct lab *lab, const char *name,
			       unsigned int seed)
{
	uint8_t *dst = lab->buf_a + DST_OFF, want[XFER];
	int ret;

	memset(dst, 0xaa, XFER);
	ret = lab_dma(lab, EDU_BUF_ADDR, IOVA_A + DST_OFF, EDU_DMA_TO_RAM, true);
	if (ret) {
		FAIL(name, "DMA device->RAM (IOVA 0x%" PRIx64 "): %s",
		     IOVA_A + DST_OFF, err(ret));
		return false;
	}
	fill(want, XFER, seed);
	for (size_t i = 0; i < XFER; i++) {
		if (dst[i] != want[i]) {
			FAIL(name, "byte %zu is 0x%02x, want 0x%02x", i, dst[i],
			     want[i]);
			return false;
		}
	}
	return true;
}

static int map_a(struct lab *lab)
{
	uint64_t iova = IOVA_A;
	int ret;

	ret = iommufd_ioas_map(lab->ioas, lab->buf_a, BUF_SIZE, &iova,
			       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
			       IOMMUFD_MAP_FIXED_IOVA);
	if (!ret && iova != IOVA_A)
		return -EFAULT;
	if (!ret)
		lab->a_mapped = true;
	return ret;
}

/* ---- scenarios ------------------------------------------------------------ */

/* major.minor of the running kernel (uname), 0 if unreadable. */
static unsigned int kernel_version(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major << 8 | minor;
}

static void scenario_ctx(struct lab *lab)
{
	const char *n = "lib-ctx";
	IOMMUFD_OPTS(iommufd_ctx_opts, opts, .backend = IOMMUFD_BACKEND_AUTO);
	const char *name, *want = lab->expect_backend;
	bool fake;
	int ret;

	ret = iommufd_ctx_new(&opts, &lab->ctx);
	if (ret) {
		lab->ctx = NULL;
		FAIL(n, "iommufd_ctx_new (AUTO): %s", err(ret));
		return;
	}
	fake = iommufd_ctx_is_fake(lab->ctx);
	name = iommufd_backend_name(iommufd_ctx_backend(lab->ctx));
	if (!name) {
		FAIL(n, "backend %d has no name", (int)iommufd_ctx_backend(lab->ctx));
		return;
	}
	/* A real kernel before 6.2 has no iommufd: AUTO must be type1. */
	if (!want && !fake && kernel_version() && kernel_version() < (6u << 8 | 2))
		want = "type1";
	if (want && strcmp(name, want)) {
		FAIL(n, "AUTO chose backend %s, want %s (%s kernel)", name, want,
		     fake ? "fake" : "real");
		return;
	}
	PASS(n, "AUTO backend %s on the %s kernel%s", name,
	     fake ? "fake" : "real", want ? "" : " (no expectation)");
}

static bool has_region(const struct iommufd_iommu_group_info *g,
		       uint64_t start, uint64_t last, enum iommufd_resv_type type)
{
	for (size_t i = 0; i < g->nr_reserved; i++)
		if (g->reserved[i].start == start && g->reserved[i].last == last &&
		    g->reserved[i].type == type)
			return true;
	return false;
}

static void scenario_discovery(struct lab *lab)
{
	const char *n = "lib-discovery";
	struct iommufd_vfio_device_info info, *devs = NULL;
	struct iommufd_iommu_group_info *group = NULL;
	struct iommufd_discover_opts opts;
	char want_group[IOMMUFD_NAME_SIZE];
	size_t nr = 0;
	bool listed = false, member = false;
	int ret;

	/* The context says which sysfs to read: "/sys" on the real kernel
	 * (through libudev), the fake kernel's own tree on the fake. */
	if (!need(lab, n, lab->ctx, "no context (lib-ctx failed)"))
		return;
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.sysfs_root = iommufd_ctx_sysfs_root(lab->ctx);
	if (!opts.sysfs_root) {
		FAIL(n, "the context has no sysfs root");
		return;
	}

	ret = iommufd_discover_device_opts(&opts, lab->bdf, &info);
	if (ret) {
		FAIL(n, "iommufd_discover_device(%s): %s", lab->bdf, err(ret));
		return;
	}
	printf("  %s %04x:%04x class 0x%06x driver %s vfio %d group %d %s unit %s cdev %s\n",
	       info.pci_addr, info.vendor_id, info.device_id, info.class_code,
	       info.driver[0] ? info.driver : "-", info.vfio, info.iommu_group,
	       info.group_path[0] ? info.group_path : "-",
	       info.iommu_unit[0] ? info.iommu_unit : "-",
	       info.has_cdev ? info.cdev_path : "-");
	if (info.error) {
		FAIL(n, "%s: its sysfs entry reads as malformed: %s (has_cdev %d %s %u:%u)",
		     lab->bdf, err(info.error), info.has_cdev, info.cdev_path,
		     info.cdev_major, info.cdev_minor);
		return;
	}
	/* A device file has a device number (6.1 has vfio-dev/vfioN, but
	 * without "dev": no file). */
	if (info.has_cdev && !info.cdev_major && !info.cdev_minor) {
		FAIL(n, "%s: has_cdev with %s but no device number", lab->bdf,
		     info.cdev_path);
		return;
	}
	if (info.vendor_id != EDU_VENDOR || info.device_id != EDU_DEVICE) {
		FAIL(n, "%s is %04x:%04x, not edu %04x:%04x", lab->bdf,
		     info.vendor_id, info.device_id, EDU_VENDOR, EDU_DEVICE);
		return;
	}
	if (strcmp(info.driver, "vfio-pci") || !info.vfio) {
		FAIL(n, "%s is bound to \"%s\" (vfio %d), not vfio-pci", lab->bdf,
		     info.driver, info.vfio);
		return;
	}
	snprintf(want_group, sizeof(want_group), "/dev/vfio/%d", lab->group_id);
	if (info.iommu_group != lab->group_id || strcmp(info.group_path, want_group)) {
		FAIL(n, "group %d (%s), want %d (%s)", info.iommu_group,
		     info.group_path, lab->group_id, want_group);
		return;
	}

	ret = iommufd_discover_devices(&opts, &devs, &nr);
	if (ret) {
		FAIL(n, "iommufd_discover_devices: %s", err(ret));
		return;
	}
	for (size_t i = 0; i < nr; i++)
		listed |= !strcmp(devs[i].pci_addr, info.pci_addr) && devs[i].vfio;
	iommufd_vfio_device_info_free(devs, nr);
	if (!listed) {
		FAIL(n, "%s is not among the %zu VFIO devices enumerated", lab->bdf, nr);
		return;
	}

	ret = iommufd_discover_iommu_group_opts(&opts, (uint32_t)lab->group_id, &group);
	if (ret) {
		FAIL(n, "iommufd_discover_iommu_group(%d): %s", lab->group_id, err(ret));
		return;
	}
	for (size_t i = 0; i < group->nr_devices; i++)
		member |= !strcmp(group->devices[i], info.pci_addr);
	printf("  group %u type %s, %zu devices, %zu reserved regions\n", group->id,
	       group->type[0] ? group->type : "-", group->nr_devices,
	       group->nr_reserved);
	for (size_t i = 0; i < group->nr_reserved; i++)
		printf("    reserved [0x%" PRIx64 ", 0x%" PRIx64 "] %s\n",
		       group->reserved[i].start, group->reserved[i].last,
		       iommufd_resv_type_name(group->reserved[i].type));
	if (group->error) {
		FAIL(n, "group %d: sysfs entry unreadable: %s", lab->group_id,
		     err(group->error));
	} else if (!member) {
		FAIL(n, "group %d does not list %s", lab->group_id, info.pci_addr);
	} else if (!has_region(group, 0xfee00000, 0xfeefffff, IOMMUFD_RESV_MSI)) {
		FAIL(n, "group %d has no msi reserved region [0xfee00000, 0xfeefffff]",
		     lab->group_id);
	} else {
		PASS(n, "%s edu on vfio-pci, group %d, %zu reserved regions (msi window), cdev %s",
		     info.pci_addr, lab->group_id, group->nr_reserved,
		     info.has_cdev ? "yes" : "no");
	}
	iommufd_iommu_group_info_free(group, 1);
}

static void scenario_open(struct lab *lab)
{
	const char *n = "lib-open";
	struct iommufd_device_info info;
	char want[IOMMUFD_PCI_ADDR_SIZE];
	uint32_t ident;
	int ret;

	if (!need(lab, n, lab->ctx, "no context (lib-ctx failed)"))
		return;
	ret = iommufd_device_open(lab->ctx, lab->bdf, NULL, &lab->dev);
	if (ret) {
		lab->dev = NULL;
		FAIL(n, "iommufd_device_open(%s): %s", lab->bdf, err(ret));
		return;
	}
	if (iommufd_pci_addr_normalize(lab->bdf, want, sizeof(want)) ||
	    strcmp(iommufd_device_pci_addr(lab->dev), want)) {
		FAIL(n, "device's address is \"%s\", want %s",
		     iommufd_device_pci_addr(lab->dev), lab->bdf);
		return;
	}
	ret = iommufd_device_get_info(lab->dev, &info);
	if (ret) {
		FAIL(n, "iommufd_device_get_info: %s", err(ret));
		return;
	}
	printf("  device flags 0x%x regions %u irqs %u\n", info.flags,
	       info.num_regions, info.num_irqs);
	if (!(info.flags & DEVICE_FLAGS_PCI) || info.num_regions <= EDU_CONFIG_REGION ||
	    info.num_irqs <= EDU_MSI_IRQ_INDEX) {
		FAIL(n, "not a vfio-pci device (flags 0x%x, %u regions, %u irqs)",
		     info.flags, info.num_regions, info.num_irqs);
		return;
	}
	ret = edu_read32(lab->dev, EDU_REG_IDENT, &ident);
	if (ret || ident != EDU_IDENT_VALUE) {
		FAIL(n, "BAR0 ident: %s 0x%08x, want 0x%08x", ret ? err(ret) : "read",
		     ret ? 0 : ident, EDU_IDENT_VALUE);
		return;
	}
	PASS(n, "%s, BAR0 ident 0x%08x", want, ident);
}

static void scenario_attach(struct lab *lab)
{
	const char *n = "lib-attach";
	struct iommufd_hwpt *hwpt = NULL;
	int ret;

	if (!need(lab, n, lab->dev, "no device (lib-open failed)"))
		return;
	ret = iommufd_ioas_new(lab->ctx, &lab->ioas);
	if (ret) {
		lab->ioas = NULL;
		FAIL(n, "iommufd_ioas_new: %s", err(ret));
		return;
	}
	ret = iommufd_device_attach(lab->dev, lab->ioas, 0, &hwpt);
	if (ret) {
		FAIL(n, "iommufd_device_attach: %s", err(ret));
		return;
	}
	lab->attached = true;
	/* Attaching again to the same IOAS is allowed and changes nothing. */
	ret = iommufd_device_attach(lab->dev, lab->ioas, 0, NULL);
	if (ret) {
		FAIL(n, "attaching again to the same IOAS: %s", err(ret));
		return;
	}
	PASS(n, "IOAS %u, %s", iommufd_ioas_id(lab->ioas),
	     hwpt ? "through a HWPT" : "direct (no HWPT)");
}

static void scenario_ranges(struct lab *lab)
{
	const char *n = "lib-ranges";
	struct iommufd_iova_ranges *r = NULL;
	bool same;
	int ret;

	if (!need(lab, n, lab->attached, "not attached (lib-attach failed)"))
		return;
	ret = iommufd_ioas_get_iova_ranges(lab->ioas, &r);
	if (ret) {
		FAIL(n, "iommufd_ioas_get_iova_ranges: %s", err(ret));
		return;
	}
	printf("  alignment 0x%" PRIx64 ", %zu ranges\n", r->alignment, r->nr);
	for (size_t i = 0; i < r->nr; i++)
		printf("    [0x%" PRIx64 ", 0x%" PRIx64 "]\n", r->range[i].start,
		       r->range[i].last);
	same = r->nr == ARRAY_SIZE(lab_ranges);
	for (size_t i = 0; same && i < r->nr; i++)
		same = r->range[i].start == lab_ranges[i].start &&
		       r->range[i].last == lab_ranges[i].last;
	if (!same)
		FAIL(n, "%zu ranges, want [0, 0xfedfffff] and [0xfef00000, 0x7fffffffff]",
		     r->nr);
	else if (!r->alignment || (r->alignment & (r->alignment - 1)) ||
		 IOVA_A % r->alignment || BUF_SIZE % r->alignment)
		FAIL(n, "alignment 0x%" PRIx64 " is not a power of two dividing 2 MiB",
		     r->alignment);
	else
		PASS(n, "[0, 0xfedfffff] [0xfef00000, 0x7fffffffff], alignment 0x%" PRIx64,
		     r->alignment);
	free(r);
}

/* The translation of @iova must be @vaddr's 2 MiB mapping at @base. */
static bool check_translate(struct lab *lab, const char *n, uint64_t base,
			    uint8_t *vaddr, uint64_t off)
{
	struct iommufd_mapping m;
	int ret;

	ret = iommufd_ioas_translate(lab->ioas, base + off, &m);
	if (ret) {
		FAIL(n, "translate 0x%" PRIx64 ": %s", base + off, err(ret));
		return false;
	}
	if (m.iova != base || m.length != BUF_SIZE || m.vaddr != vaddr ||
	    m.fd != -1 || m.flags != (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)) {
		FAIL(n, "translate 0x%" PRIx64 ": iova 0x%" PRIx64 " length 0x%" PRIx64
		     " vaddr %p fd %d flags 0x%x, want 0x%" PRIx64 " 0x%" PRIx64 " %p -1 0x%x",
		     base + off, m.iova, m.length, m.vaddr, m.fd, m.flags, base,
		     BUF_SIZE, (void *)vaddr, IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE);
		return false;
	}
	return true;
}

static bool in_ranges(uint64_t iova, uint64_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(lab_ranges); i++)
		if (iova >= lab_ranges[i].start && iova + len - 1 <= lab_ranges[i].last)
			return true;
	return false;
}

static void scenario_map(struct lab *lab)
{
	const char *n = "lib-map";
	struct iommufd_mapping m;
	uint64_t iova = IOVA_A;
	int ret;

	if (!need(lab, n, lab->attached, "not attached (lib-attach failed)"))
		return;
	ret = map_a(lab);
	if (ret) {
		FAIL(n, "map 2 MiB at fixed IOVA 0x%" PRIx64 ": %s", IOVA_A, err(ret));
		return;
	}
	/* The same IOVA again must be refused. */
	ret = iommufd_ioas_map(lab->ioas, lab->buf_b, BUF_SIZE, &iova,
			       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
			       IOMMUFD_MAP_FIXED_IOVA);
	if (ret != -EEXIST) {
		FAIL(n, "a second map at 0x%" PRIx64 " returned %s, want EEXIST",
		     IOVA_A, ret ? err(ret) : "success");
		return;
	}
	ret = iommufd_ioas_map(lab->ioas, lab->buf_b, BUF_SIZE, &lab->iova_b,
			       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE);
	if (ret) {
		FAIL(n, "map 2 MiB at an IOVA of the library's choice: %s", err(ret));
		return;
	}
	lab->b_mapped = true;
	if (!in_ranges(lab->iova_b, BUF_SIZE) ||
	    (lab->iova_b < IOVA_A + BUF_SIZE && IOVA_A < lab->iova_b + BUF_SIZE)) {
		FAIL(n, "chosen IOVA 0x%" PRIx64 " is outside the ranges or overlaps 0x%" PRIx64,
		     lab->iova_b, IOVA_A);
		return;
	}
	if (!check_translate(lab, n, IOVA_A, lab->buf_a, 0) ||
	    !check_translate(lab, n, IOVA_A, lab->buf_a, BUF_SIZE - 1) ||
	    !check_translate(lab, n, lab->iova_b, lab->buf_b, 0x12345))
		return;
	ret = iommufd_ioas_translate(lab->ioas, IOVA_A + BUF_SIZE, &m);
	if (ret != -ENOENT && !(ret == 0 && m.iova == lab->iova_b)) {
		FAIL(n, "translate past the fixed mapping: %s, want ENOENT",
		     ret ? err(ret) : "found");
		return;
	}
	if (iommufd_ioas_mapping_count(lab->ioas) != 2) {
		FAIL(n, "%zu mappings, want 2", iommufd_ioas_mapping_count(lab->ioas));
		return;
	}
	PASS(n, "fixed 0x%" PRIx64 " and chosen 0x%" PRIx64 ", 2 MiB each, translated",
	     IOVA_A, lab->iova_b);
}

static void scenario_dma_to_device(struct lab *lab)
{
	const char *n = "lib-dma-to-device";
	uint16_t before = 0, after = 0;
	int ret;

	if (!need(lab, n, lab->a_mapped, "nothing mapped (lib-map failed)"))
		return;
	ret = bus_master(lab, &before, &after);
	if (ret) {
		FAIL(n, "setting bus mastering in PCI_COMMAND (0x%04x -> 0x%04x): %s",
		     before, after, err(ret));
		return;
	}
	printf("  PCI_COMMAND 0x%04x -> 0x%04x\n", before, after);
	if (!dma_to_device(lab, n, 1))
		return;
	PASS(n, "%u bytes IOVA 0x%" PRIx64 " -> device 0x%x", XFER,
	     IOVA_A + SRC_OFF, EDU_BUF_ADDR);
}

static void scenario_dma_to_ram(struct lab *lab)
{
	const char *n = "lib-dma-to-ram";

	if (!need(lab, n, lab->a_mapped, "nothing mapped (lib-map failed)"))
		return;
	if (!dma_to_ram_matches(lab, n, 1))
		return;
	lab->dma_ready = true;
	PASS(n, "%u bytes device 0x%x -> IOVA 0x%" PRIx64 " equal what was sent",
	     XFER, EDU_BUF_ADDR, IOVA_A + DST_OFF);
}

static void scenario_msi(struct lab *lab)
{
	const char *n = "lib-msi";
	struct iommufd_irq_info irq = { 0 };
	const char *why = NULL;
	uint64_t count = 0;
	uint32_t status = 0;
	int efd, ret;

	if (!need(lab, n, lab->dma_ready, "no DMA (lib-dma-to-ram failed)"))
		return;
	/* Nothing pending from earlier transfers. */
	(void)edu_irq_ack(lab->dev, &status);
	ret = edu_msi_to_eventfd(lab->dev, &efd, &irq, &why);
	if (ret == -ENODEV) {
		FAIL(n, "MSI index: count %u flags 0x%x", irq.count, irq.flags);
		return;
	}
	if (ret) {
		FAIL(n, "%s: %s", why, err(ret));
		return;
	}
	/* A transfer without the interrupt bit must not signal. */
	if (!dma_to_device(lab, n, 3))
		goto out;
	if (read(efd, &count, sizeof(count)) == sizeof(count)) {
		FAIL(n, "eventfd signalled %" PRIu64 " times before any interrupt", count);
		goto out;
	}
	fill(lab->buf_a + SRC_OFF, XFER, 4);
	ret = lab_dma(lab, IOVA_A + SRC_OFF, EDU_BUF_ADDR, EDU_DMA_IRQ, false);
	if (ret) {
		FAIL(n, "starting a DMA with interrupt: %s", err(ret));
		goto out;
	}
	ret = edu_msi_wait(efd, IRQ_TIMEOUT_MS, &count);
	if (ret) {
		(void)edu_read32(lab->dev, EDU_REG_IRQ_STATUS, &status);
		FAIL(n, "no MSI within %d ms (%s, irq status 0x%x)",
		     IRQ_TIMEOUT_MS, err(ret), status);
		goto out;
	}
	ret = edu_irq_ack(lab->dev, &status);
	if (ret) {
		FAIL(n, "interrupt status: %s", err(ret));
		goto out;
	}
	if (!(status & EDU_IRQ_STATUS_DMA)) {
		FAIL(n, "interrupt status 0x%x lacks the DMA bit 0x%x", status,
		     EDU_IRQ_STATUS_DMA);
		goto out;
	}
	ret = edu_msi_disable(lab->dev);
	close(efd);
	if (ret)
		FAIL(n, "disabling MSI (count 0): %s", err(ret));
	else
		PASS(n, "eventfd count %" PRIu64 " status 0x%x, then disabled", count,
		     status);
	return;
out:
	(void)edu_msi_disable(lab->dev);
	close(efd);
}

/*
 * Dirty pages through the library on the type1 backend: enable tracking on
 * the IOAS (VFIO_IOMMU_DIRTY_PAGES START on its container), let the device
 * write one page, read the dirty bitmap over mapping A, disable. A type1
 * container with an IOMMU-backed device cannot see which pages were
 * written: it reports every pinned page dirty, even pages only read
 * (VM-LAB.md). So the written page must be dirty and the count must equal
 * A's pages; the count is printed as a fact. The fake kernel at 6.1 models
 * the same rule, so parity compares like with like.
 */
static void scenario_dirty(struct lab *lab)
{
	const char *n = "lib-dirty";
	struct iommufd_dirty_bitmap *bm = NULL;
	uint64_t count, want = BUF_SIZE / PAGE;
	uint64_t written = IOVA_A + DST_OFF;
	bool enabled = false;
	int dirty, ret;

	if (!need(lab, n, lab->a_mapped, "nothing mapped (lib-map failed)") ||
	    !need(lab, n, lab->dma_ready, "no DMA (lib-dma-to-ram failed)"))
		return;
	ret = iommufd_dirty_bitmap_new(IOVA_A, BUF_SIZE, PAGE, &bm);
	if (ret) {
		FAIL(n, "iommufd_dirty_bitmap_new: %s", err(ret));
		return;
	}
	/* Fill the device's buffer first, so that the only DMA while tracking
	 * is the one write into RAM. */
	if (!dma_to_device(lab, n, 11))
		goto out;
	ret = iommufd_ioas_set_dirty_tracking(lab->ioas, true);
	if (ret) {
		FAIL(n, "iommufd_ioas_set_dirty_tracking(on): %s", err(ret));
		goto out;
	}
	enabled = true;
	/* XFER bytes at DST_OFF: one page. */
	if (!dma_to_ram_matches(lab, n, 11))
		goto out;
	ret = iommufd_ioas_read_dirty(lab->ioas, bm, IOVA_A, BUF_SIZE, NULL);
	if (ret) {
		FAIL(n, "iommufd_ioas_read_dirty: %s", err(ret));
		goto out;
	}
	count = iommufd_dirty_bitmap_count(bm);
	dirty = iommufd_dirty_bitmap_test(bm, written, PAGE);
	printf("VMTEST-FACT %s dirty-pages=%" PRIu64 "\n", n, count);
	if (dirty != 1) {
		FAIL(n, "the page the device wrote (IOVA 0x%" PRIx64 ") reads %s",
		     written, dirty < 0 ? err(dirty) : "clean");
		goto out;
	}
	if (count != want) {
		FAIL(n, "%" PRIu64 " pages dirty, want all %" PRIu64
		     " mapped pages (type1 reports every pinned page)", count, want);
		goto out;
	}
	enabled = false;
	ret = iommufd_ioas_set_dirty_tracking(lab->ioas, false);
	if (ret) {
		FAIL(n, "iommufd_ioas_set_dirty_tracking(off): %s", err(ret));
		goto out;
	}
	PASS(n, "the written page is dirty, %" PRIu64 " of %" PRIu64
	     " mapped pages dirty (type1: every pinned page), tracking off again",
	     count, want);
out:
	if (enabled)
		(void)iommufd_ioas_set_dirty_tracking(lab->ioas, false);
	iommufd_dirty_bitmap_free(bm);
}

static void scenario_unmap(struct lab *lab)
{
	const char *n = "lib-unmap";
	uint64_t unmapped = 0;
	struct iommufd_mapping m;
	int ret;

	if (!need(lab, n, lab->a_mapped, "nothing mapped (lib-map failed)"))
		return;
	/* Half of a mapping: a split, refused, and the mapping stays whole. */
	ret = iommufd_ioas_unmap(lab->ioas, IOVA_A, BUF_SIZE / 2, 0, &unmapped);
	if (ret != -ENOENT) {
		FAIL(n, "unmapping half of the mapping returned %s, want ENOENT",
		     ret ? err(ret) : "success");
		return;
	}
	if (unmapped) {
		FAIL(n, "the refused split reports 0x%" PRIx64 " bytes unmapped", unmapped);
		return;
	}
	if (!check_translate(lab, n, IOVA_A, lab->buf_a, BUF_SIZE / 2 + 0x100))
		return;
	/* The kernel must still have all of it: DMA through both halves. */
	if (lab->dma_ready) {
		if (!dma_to_device(lab, n, 7) || !dma_to_ram_matches(lab, n, 7))
			return;
	}

	ret = iommufd_ioas_unmap(lab->ioas, IOVA_A, BUF_SIZE, 0, &unmapped);
	if (ret) {
		FAIL(n, "unmapping 0x%" PRIx64 "+2 MiB: %s", IOVA_A, err(ret));
		return;
	}
	lab->a_mapped = false;
	lab->unmapped_a = true;
	if (unmapped != BUF_SIZE) {
		FAIL(n, "unmapped 0x%" PRIx64 " bytes, want 0x%" PRIx64, unmapped, BUF_SIZE);
		return;
	}
	ret = iommufd_ioas_translate(lab->ioas, IOVA_A, &m);
	if (ret != -ENOENT) {
		FAIL(n, "translate after unmap: %s, want ENOENT", ret ? err(ret) : "found");
		return;
	}
	/* Nothing left there: ENOENT, or 0 bytes when idempotent. */
	ret = iommufd_ioas_unmap(lab->ioas, IOVA_A, BUF_SIZE, 0, &unmapped);
	if (ret != -ENOENT) {
		FAIL(n, "a second unmap returned %s, want ENOENT", ret ? err(ret) : "success");
		return;
	}
	ret = iommufd_ioas_unmap(lab->ioas, IOVA_A, BUF_SIZE,
				 IOMMUFD_UNMAP_IDEMPOTENT, &unmapped);
	if (ret || unmapped) {
		FAIL(n, "an idempotent second unmap: %s, 0x%" PRIx64 " bytes",
		     ret ? err(ret) : "success", unmapped);
		return;
	}
	PASS(n, "0x%" PRIx64 " bytes; a split was refused (ENOENT) and the mapping survived%s",
	     BUF_SIZE, lab->dma_ready ? " (DMA through it still worked)" : "");
}

static void scenario_unmapped_blocked(struct lab *lab)
{
	const char *n = "lib-dma-unmapped-blocked";
	uint8_t *dst = lab->buf_a + DST_OFF;
	int ret;

	if (!need(lab, n, lab->unmapped_a, "nothing was unmapped (lib-unmap failed)") ||
	    !need(lab, n, lab->dma_ready, "no DMA (lib-dma-to-ram failed)"))
		return;
	memset(dst, 0x5a, XFER);
	ret = lab_dma(lab, EDU_BUF_ADDR, IOVA_A + DST_OFF, EDU_DMA_TO_RAM, true);
	if (ret) {
		FAIL(n, "DMA to the unmapped IOVA 0x%" PRIx64 ": %s", IOVA_A + DST_OFF,
		     err(ret));
		return;
	}
	for (size_t i = 0; i < XFER; i++) {
		if (dst[i] != 0x5a) {
			FAIL(n, "byte %zu changed to 0x%02x: the DMA landed", i, dst[i]);
			return;
		}
	}
	PASS(n, "DMA to unmapped IOVA 0x%" PRIx64 " completed, destination untouched",
	     IOVA_A + DST_OFF);
}

/*
 * Whether the device can reset is a property of the machine, not of the
 * kernel or the library: edu behind a PCIe root port (the lab) resets its
 * bus; edu on a root bus (the fake's, VM_EDU_BUS=root) has no method. The
 * scenario says which machine it ran on (VMTEST-FACT), resets where the
 * device advertises it and checks the refusal where it does not.
 */
static void scenario_reset(struct lab *lab)
{
	const char *n = "lib-reset";
	struct iommufd_device_info info;
	uint32_t ident = 0;
	bool can;
	int ret;

	if (!need(lab, n, lab->attached, "not attached (lib-attach failed)"))
		return;
	/* DMA after the reset (or the refusal) needs A mapped again. */
	if (!lab->a_mapped) {
		ret = map_a(lab);
		if (ret) {
			FAIL(n, "mapping 0x%" PRIx64 " again: %s", IOVA_A, err(ret));
			return;
		}
	}
	ret = iommufd_device_get_info(lab->dev, &info);
	if (ret) {
		FAIL(n, "iommufd_device_get_info: %s", err(ret));
		return;
	}
	can = info.flags & DEVICE_FLAGS_RESET;
	printf("VMTEST-FACT %s reset=%s\n", n, can ? "yes" : "no");
	ret = iommufd_device_reset(lab->dev);
	if (can && ret) {
		FAIL(n, "iommufd_device_reset: %s", err(ret));
		return;
	}
	if (!can && ret != -EINVAL) {
		FAIL(n, "the device has no reset method, but iommufd_device_reset returned %s, want EINVAL",
		     ret ? err(ret) : "success");
		return;
	}
	ret = edu_read32(lab->dev, EDU_REG_IDENT, &ident);
	if (ret || ident != EDU_IDENT_VALUE) {
		FAIL(n, "ident after the reset: %s 0x%08x", ret ? err(ret) : "read", ident);
		return;
	}
	/* A reset clears PCI_COMMAND: bus mastering again, then DMA. */
	if (lab->dma_ready) {
		ret = bus_master(lab, NULL, NULL);
		if (ret) {
			FAIL(n, "bus mastering after the reset: %s", err(ret));
			return;
		}
		if (!dma_to_device(lab, n, 9) || !dma_to_ram_matches(lab, n, 9))
			return;
	}
	if (!can) {
		SKIP(n, "the device has no reset method (VFIO_DEVICE_FLAGS_RESET clear): refused with EINVAL, device still works");
		return;
	}
	PASS(n, "reset%s", lab->dma_ready ? "; DMA works after it" : "");
}

static void scenario_unmap_all(struct lab *lab)
{
	const char *n = "lib-unmap-all";
	uint64_t unmapped = 0, want = 0;
	struct iommufd_mapping m;
	uint8_t *dst = lab->buf_a + DST_OFF;
	bool a = lab->a_mapped;
	int ret;

	if (!need(lab, n, lab->attached, "not attached (lib-attach failed)"))
		return;
	want = (lab->a_mapped ? BUF_SIZE : 0) + (lab->b_mapped ? BUF_SIZE : 0);
	ret = iommufd_ioas_unmap_all(lab->ioas, &unmapped);
	if (ret) {
		FAIL(n, "iommufd_ioas_unmap_all: %s", err(ret));
		return;
	}
	lab->a_mapped = lab->b_mapped = false;
	if (unmapped != want || !want) {
		FAIL(n, "unmapped 0x%" PRIx64 " bytes, want 0x%" PRIx64, unmapped, want);
		return;
	}
	if (iommufd_ioas_mapping_count(lab->ioas) != 0) {
		FAIL(n, "%zu mappings left", iommufd_ioas_mapping_count(lab->ioas));
		return;
	}
	ret = iommufd_ioas_translate(lab->ioas, lab->iova_b, &m);
	if (ret != -ENOENT) {
		FAIL(n, "translate 0x%" PRIx64 " after unmap_all: %s, want ENOENT",
		     lab->iova_b, ret ? err(ret) : "found");
		return;
	}
	ret = iommufd_ioas_unmap_all(lab->ioas, &unmapped);
	if (ret || unmapped) {
		FAIL(n, "unmap_all of an empty IOAS: %s, 0x%" PRIx64 " bytes",
		     ret ? err(ret) : "success", unmapped);
		return;
	}
	/* The kernel dropped them too: a DMA into A's old IOVA is blocked. */
	if (a && lab->dma_ready) {
		memset(dst, 0x5a, XFER);
		ret = lab_dma(lab, EDU_BUF_ADDR, IOVA_A + DST_OFF, EDU_DMA_TO_RAM, true);
		if (ret) {
			FAIL(n, "DMA after unmap_all: %s", err(ret));
			return;
		}
		for (size_t i = 0; i < XFER; i++) {
			if (dst[i] != 0x5a) {
				FAIL(n, "byte %zu changed to 0x%02x: a DMA landed after unmap_all",
				     i, dst[i]);
				return;
			}
		}
	}
	PASS(n, "0x%" PRIx64 " bytes in 2 mappings%s", want,
	     a && lab->dma_ready ? "; DMA into them is blocked" : "");
}

/* ---- main ----------------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --bdf BDF --group N [--expect-backend iommufd|type1|vfio-compat]\n"
		"       %s --list\n", prog, prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bdf", required_argument, NULL, 'b' },
		{ "group", required_argument, NULL, 'g' },
		{ "expect-backend", required_argument, NULL, 'e' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct lab lab_storage = { .group_id = -1 };
	struct lab *lab = &lab_storage;
	double t0 = now();
	char *end;
	int c, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			lab->bdf = optarg;
			break;
		case 'g':
			errno = 0;
			lab->group_id = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg)
				lab->group_id = -1;
			break;
		case 'e':
			lab->expect_backend = optarg;
			break;
		case 'l':
			for (size_t i = 0; i < ARRAY_SIZE(scenario_names); i++)
				printf("%s\n", scenario_names[i]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (!lab->bdf || lab->group_id < 0 || optind != argc) {
		usage(argv[0]);
		return 2;
	}
	lab->buf_a = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	lab->buf_b = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (lab->buf_a == MAP_FAILED || lab->buf_b == MAP_FAILED) {
		fprintf(stderr, "mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(lab->buf_b, 0x3c, BUF_SIZE);

	scenario_ctx(lab);
	scenario_discovery(lab);
	scenario_open(lab);
	scenario_attach(lab);
	scenario_ranges(lab);
	scenario_map(lab);
	scenario_dma_to_device(lab);
	scenario_dma_to_ram(lab);
	scenario_msi(lab);
	scenario_dirty(lab);
	scenario_unmap(lab);
	scenario_unmapped_blocked(lab);
	scenario_reset(lab);
	scenario_unmap_all(lab);

	/* Teardown: device first (it detaches), then the IOAS. */
	iommufd_device_free(lab->dev);
	if (lab->ioas) {
		ret = iommufd_ioas_destroy(lab->ioas);
		if (ret)
			printf("  note: iommufd_ioas_destroy: %s\n", err(ret));
	}
	iommufd_ctx_free(lab->ctx);
	printf("  %.1f s, %d failed\n", now() - t0, lab->failures);
	return lab->failures ? 1 : 0;
}
