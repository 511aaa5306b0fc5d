// SPDX-License-Identifier: MIT
/*
 * Discovery: the reserved_regions parser and PCI address checks in plain C;
 * devices, groups, units and cdevs in the sysfs tree of a fake kernel
 * (opts->sysfs_root: enumeration by readdir); then devices, groups, units,
 * cdev lookup and the bind/unbind monitor on fake sysfs trees built with
 * umockdev (the .umockdev files in tests/sysfs for devices, this file for
 * /sys/kernel/iommu_groups; enumeration through libudev).
 *
 * umockdev redirects /sys only in a process that has libumockdev-preload
 * loaded first. Run under `umockdev-wrapper`, or with
 * LD_PRELOAD=libumockdev-preload.so.0 in the environment; run bare, the
 * program re-executes itself so. Built without umockdev (no umockdev.h), only
 * the plain tests run.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <iommufd/discovery.h>
#include <iommufd/fake.h>

#if defined(__has_include)
#if __has_include(<umockdev.h>)
#include <umockdev.h>
#define HAVE_UMOCKDEV 1
#endif
#endif

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "tests"
#endif

/* ---------------------------------------------------------------------------
 * The reserved_regions parser.
 */

/* A copy of @len bytes of @s that ends right before a PROT_NONE page, so a
 * read past @len faults. */
struct guard {
	char *base;
	size_t page;
};

static const char *guarded(struct guard *g, const char *s, size_t len)
{
	if (!g->base) {
		g->page = (size_t)sysconf(_SC_PAGESIZE);
		g->base = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(g->base, MAP_FAILED);
		ck_assert_int_eq(mprotect(g->base + g->page, g->page, PROT_NONE), 0);
	}
	ck_assert_uint_le(len, g->page);
	memcpy(g->base + g->page - len, s, len);
	return g->base + g->page - len;
}

static void guard_free(struct guard *g)
{
	if (g->base)
		munmap(g->base, 2 * g->page);
}

static int parse_guarded(struct guard *g, const char *s, size_t len,
			 struct iommufd_reserved_region **r, size_t *n)
{
	return iommufd_parse_reserved_regions(guarded(g, s, len), len, r, n);
}

START_TEST(test_parse_kernel_format)
{
	static const char text[] =
		"0x00000000000e8000 0x00000000000e8fff direct\n"
		"0x00000000fee00000 0x00000000feefffff msi\n"
		"0x0000000100000000 0x00000001000fffff direct-relaxable\n"
		"0x000000fd00000000 0x000000ffffffffff reserved\n";
	struct iommufd_reserved_region *r = (void *)1;
	struct guard g = { 0 };
	size_t n = 99;

	ck_assert_int_eq(parse_guarded(&g, text, strlen(text), &r, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(r[0].start, 0xe8000);
	ck_assert_uint_eq(r[0].last, 0xe8fff);
	ck_assert_int_eq(r[0].type, IOMMUFD_RESV_DIRECT);
	ck_assert_uint_eq(r[1].start, 0xfee00000);
	ck_assert_uint_eq(r[1].last, 0xfeefffff);
	ck_assert_int_eq(r[1].type, IOMMUFD_RESV_MSI);
	ck_assert_uint_eq(r[2].start, 0x100000000ull);
	ck_assert_uint_eq(r[2].last, 0x1000fffffull);
	ck_assert_int_eq(r[2].type, IOMMUFD_RESV_DIRECT_RELAXABLE);
	ck_assert_uint_eq(r[3].start, 0xfd00000000ull);
	ck_assert_uint_eq(r[3].last, 0xffffffffffull);
	ck_assert_int_eq(r[3].type, IOMMUFD_RESV_RESERVED);
	free(r);

	/* The last newline may be missing (libudev strips it). */
	ck_assert_int_eq(parse_guarded(&g, text, strlen(text) - 1, &r, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(r[3].type, IOMMUFD_RESV_RESERVED);
	free(r);

	/* Only @len bytes count: the first line alone. */
	ck_assert_int_eq(iommufd_parse_reserved_regions(text, 45, &r, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(r[0].last, 0xe8fff);
	free(r);
	guard_free(&g);
}
END_TEST

START_TEST(test_parse_edges)
{
	struct iommufd_reserved_region *r = (void *)1;
	struct guard g = { 0 };
	size_t n = 99;
	const char *s;

	/* Empty: no regions, nothing allocated. */
	ck_assert_int_eq(iommufd_parse_reserved_regions("", 0, &r, &n), 0);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(n, 0);
	r = (void *)1;
	ck_assert_int_eq(iommufd_parse_reserved_regions(NULL, 0, &r, &n), 0);
	ck_assert_ptr_null(r);

	/* Short and full-width numbers, either case, start == last. */
	s = "0x0 0x0 msi";
	ck_assert_int_eq(parse_guarded(&g, s, strlen(s), &r, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].last, 0);
	free(r);
	s = "0xFFFFFFFFFFFFFFFF 0xffffffffffffffff reserved\n";
	ck_assert_int_eq(parse_guarded(&g, s, strlen(s), &r, &n), 0);
	ck_assert_uint_eq(r[0].start, UINT64_MAX);
	ck_assert_uint_eq(r[0].last, UINT64_MAX);
	free(r);

	/* Bad arguments. */
	ck_assert_int_eq(iommufd_parse_reserved_regions(NULL, 1, &r, &n), -EINVAL);
	ck_assert_int_eq(iommufd_parse_reserved_regions("", 0, NULL, &n), -EINVAL);
	ck_assert_int_eq(iommufd_parse_reserved_regions("", 0, &r, NULL), -EINVAL);

	ck_assert_str_eq(iommufd_resv_type_name(IOMMUFD_RESV_DIRECT), "direct");
	ck_assert_str_eq(iommufd_resv_type_name(IOMMUFD_RESV_DIRECT_RELAXABLE),
			 "direct-relaxable");
	ck_assert_str_eq(iommufd_resv_type_name(IOMMUFD_RESV_RESERVED), "reserved");
	ck_assert_str_eq(iommufd_resv_type_name(IOMMUFD_RESV_MSI), "msi");
	ck_assert_ptr_null(iommufd_resv_type_name((enum iommufd_resv_type)4));
	guard_free(&g);
}
END_TEST

static const struct {
	const char *text;
	size_t len;	/* 0: strlen */
} bad_texts[] = {
	{ "\n" },					/* empty line */
	{ "0x1 0x2 msi\n\n" },				/* blank line after */
	{ "0x1 0x2 msi\n\n0x3 0x4 msi\n" },		/* blank line between */
	{ "0x1 0x2 msi\n0x1 0x2 msi\n0xg 0x2 msi\n" },	/* bad hex, 3rd line */
	{ "0x 0x2 msi\n" },				/* no digits */
	{ "1 0x2 msi\n" },				/* no 0x */
	{ "0X1 0x2 msi\n" },				/* 0X */
	{ "-0x1 0x2 msi\n" },
	{ "+0x1 0x2 msi\n" },
	{ "0x00000000000000001 0x2 msi\n" },		/* 17 digits */
	{ "0x1 0x10000000000000000 msi\n" },		/* too big */
	{ "0x2 0x1 msi\n" },				/* start > last */
	{ "0xffffffffffffffff 0x0 direct\n" },
	{ "0x1 0x2 MSI\n" },				/* unknown type */
	{ "0x1 0x2 msix\n" },
	{ "0x1 0x2 ms\n" },
	{ "0x1 0x2 direct-\n" },
	{ "0x1 0x2 direct-relaxablex\n" },
	{ "0x1 0x2 sw-msi\n" },
	{ "0x1 0x2 \n" },				/* empty type */
	{ "0x1 0x2\n" },				/* missing type */
	{ "0x1\n" },					/* missing fields */
	{ "0x1 \n" },
	{ "0x1" },
	{ "0x1 0x2" },
	{ "0x1 0x2 " },
	{ "0x1 0x2 msi junk\n" },			/* trailing junk */
	{ "0x1 0x2 msi \n" },				/* trailing space */
	{ "0x1 0x2 msi\r\n" },				/* CRLF */
	{ "0x1  0x2 msi\n" },				/* two spaces */
	{ " 0x1 0x2 msi\n" },				/* leading space */
	{ "0x1\t0x2\tmsi\n" },				/* tabs */
	{ "0x1 0x2 msi\n0x1 0x2 msi\n garbage" },
	{ "0x1 0x2 m\0si\n", 13 },			/* a NUL in the type */
	{ "0x1\0 0x2 msi\n", 13 },			/* a NUL after a number */
	{ "0x1 0x2 msi\n\0", 13 },			/* a NUL after a good line */
	{ "\0", 1 },
	{ "garbage\n" },
	{ ("0x00000000fee00000 0x00000000feefffff msi\n"
	   "0x00000000fee00000 0x00000000feefffff msi\n"
	   "0x00000000fee00000 0x00000000feefffff msi\n"
	   "0x00000000fee00000 0x00000000feefffff msi "
	   "0x00000000fee00000 0x00000000feefffff msi\n") }, /* a line too long */
};

START_TEST(test_parse_malformed)
{
	struct guard g = { 0 };

	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		const char *t = bad_texts[i].text;
		size_t len = bad_texts[i].len ? bad_texts[i].len : strlen(t);
		struct iommufd_reserved_region *r = (void *)1;
		size_t n = 99;
		int ret = parse_guarded(&g, t, len, &r, &n);

		ck_assert_msg(ret == -EINVAL, "text %zu: got %d", i, ret);
		ck_assert_ptr_null(r);
		ck_assert_uint_eq(n, 0);
	}
	guard_free(&g);
}
END_TEST

/* Every prefix of good text: a prefix that cuts a line is an error (except
 * where it happens to end a shorter valid line), and nothing is read past
 * the prefix. */
START_TEST(test_parse_prefixes)
{
	static const char text[] =
		"0x00000000000e8000 0x00000000000e8fff direct\n"
		"0x00000000fee00000 0x00000000feefffff msi\n";
	struct guard g = { 0 };

	for (size_t len = 0; len <= strlen(text); len++) {
		struct iommufd_reserved_region *r = NULL;
		size_t n = 0;
		int ret = parse_guarded(&g, text, len, &r, &n);
		size_t want;

		if (len == 0)
			want = 0;
		else if (len == 44 || len == 45)	/* line 1, with or without '\n' */
			want = 1;
		else if (len == 86 || len == 87)
			want = 2;
		else
			want = SIZE_MAX;
		if (want == SIZE_MAX) {
			ck_assert_msg(ret == -EINVAL, "len %zu: got %d", len, ret);
			ck_assert_ptr_null(r);
		} else {
			ck_assert_msg(ret == 0, "len %zu: got %d", len, ret);
			ck_assert_uint_eq(n, want);
			free(r);
		}
	}
	guard_free(&g);
}
END_TEST

/* A small deterministic fuzz: mutations of good text never crash, never read
 * past len, and what parses is consistent. */
START_TEST(test_parse_mutations)
{
	static const char *const seeds[] = {
		("0x00000000000e8000 0x00000000000e8fff direct\n"
		 "0x00000000fee00000 0x00000000feefffff msi\n"),
		"0x0 0x1 direct-relaxable\n0x2 0x3 reserved",
		"0x00000000fee00000 0x00000000feefffff msi\n",
	};
	static const char alphabet[] = "0x19afAFg \n\r\t-msidrectlxabv\0";
	struct guard g = { 0 };
	uint64_t state = 0x9e3779b97f4a7c15ull;
	char buf[256];

	for (int iter = 0; iter < 50000; iter++) {
		const char *seed = seeds[iter % 3];
		size_t len = strlen(seed), n = 0;
		struct iommufd_reserved_region *r = NULL;
		int muts, ret;

		memcpy(buf, seed, len);
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		muts = 1 + (int)(state % 4);
		for (int m = 0; m < muts; m++) {
			uint64_t x;

			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			x = state;
			switch (x % 4) {
			case 0: /* replace */
				if (len)
					buf[(x >> 8) % len] =
						alphabet[(x >> 32) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* truncate */
				len = len ? (size_t)((x >> 8) % (len + 1)) : 0;
				break;
			case 2: /* delete */
				if (len) {
					size_t at = (x >> 8) % len;

					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				}
				break;
			default: /* insert */
				if (len < sizeof(buf) - 1) {
					size_t at = (x >> 8) % (len + 1);

					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = alphabet[(x >> 32) % (sizeof(alphabet) - 1)];
					len++;
				}
			}
		}
		ret = parse_guarded(&g, buf, len, &r, &n);
		ck_assert(ret == 0 || ret == -EINVAL);
		if (ret) {
			ck_assert_ptr_null(r);
			ck_assert_uint_eq(n, 0);
			continue;
		}
		/* A line takes at least 12 bytes: "0x0 0x0 msi\n". */
		ck_assert_uint_le(n, (len + 11) / 11);
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_le(r[i].start, r[i].last);
			ck_assert_ptr_nonnull(iommufd_resv_type_name(r[i].type));
		}
		free(r);
	}
	guard_free(&g);
}
END_TEST

START_TEST(test_pci_addr)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "0000:00:01.0", "0000:00:01.0" },
		{ "00:01.0", "0000:00:01.0" },
		{ "0000:3A:1F.7", "0000:3a:1f.7" },
		{ "ffff:ff:1f.7", "ffff:ff:1f.7" },
		{ "10000:01:00.0", "10000:01:00.0" },
		{ "ffffffff:01:00.0", "ffffffff:01:00.0" },
	};
	static const char *const bad[] = {
		"", "0", "0000:00:01", "0000:00:01.", "0000:00:01.8",
		"0000:00:20.0", "000:00:01.0", "00000:00:01.0",
		"100000000:00:01.0", "0000:0:01.0", "0000:00:1.0",
		"0000:00:01.00", "0000:00:01.0 ", " 0000:00:01.0",
		"0000-00-01.0", "0000:00:01:0", "g000:00:01.0", "0000:00:0x.0",
		"0:0:0:0.0", "0000:00:01.0\n", "0000::01.0", ":00:01.0",
		"0000:00:01.0000000000000000000000000000000000",
	};
	char out[IOMMUFD_PCI_ADDR_SIZE];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(iommufd_pci_addr_normalize(good[i].in, out,
							    sizeof(out)), 0);
		ck_assert_str_eq(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(iommufd_pci_addr_normalize(bad[i], out, sizeof(out))
			      == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(iommufd_pci_addr_normalize(NULL, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iommufd_pci_addr_normalize("00:01.0", NULL, 0), -EINVAL);
	ck_assert_int_eq(iommufd_pci_addr_normalize("00:01.0", out, 12), -ERANGE);
	ck_assert_int_eq(iommufd_pci_addr_normalize("00:01.0", out, 13), 0);
	ck_assert_str_eq(out, "0000:00:01.0");
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct iommufd_vfio_device_info *devs, info;
	struct iommufd_iommu_group_info *groups;
	struct iommufd_iommu_unit_info *units;
	struct iommufd_monitor *mon;
	struct {
		struct iommufd_discover_opts o;
		uint64_t tail;
	} big = { .o = { .sz = sizeof(big) }, .tail = 1 };
	struct iommufd_discover_opts tiny = { .sz = 4 };
	IOMMUFD_OPTS(iommufd_discover_opts, unknown, .flags = 1u << 31);
	char path[64];
	size_t nr;

	ck_assert_int_eq(iommufd_discover_devices(NULL, NULL, &nr), -EINVAL);
	ck_assert_int_eq(iommufd_discover_devices(NULL, &devs, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_discover_devices(&big.o, &devs, &nr), -E2BIG);
	ck_assert_int_eq(iommufd_discover_devices(&tiny, &devs, &nr), -EINVAL);
	ck_assert_int_eq(iommufd_discover_devices(&unknown, &devs, &nr), -EINVAL);
	ck_assert_int_eq(iommufd_discover_iommu_groups(&unknown, &groups, &nr), -EINVAL);
	ck_assert_int_eq(iommufd_discover_iommu_groups(NULL, NULL, &nr), -EINVAL);
	ck_assert_int_eq(iommufd_discover_iommu_group(1, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_discover_iommu_units(&big.o, &units, &nr), -E2BIG);
	ck_assert_int_eq(iommufd_discover_iommu_units(NULL, &units, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device("0000:00:01.0", NULL), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device("junk", &info), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:01.0", NULL, 0), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev(NULL, path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev("00:01", path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(iommufd_monitor_new(NULL, NULL), -EINVAL);
	{
		IOMMUFD_OPTS(iommufd_monitor_opts, mo, .flags = 2);

		ck_assert_int_eq(iommufd_monitor_new(&mo, &mon), -EINVAL);
	}
	ck_assert_int_eq(iommufd_monitor_fd(NULL), -EINVAL);
	ck_assert_int_eq(iommufd_monitor_read(NULL, NULL), -EINVAL);
	/* The free functions take NULL. */
	iommufd_vfio_device_info_free(NULL, 0);
	iommufd_iommu_group_info_free(NULL, 3);
	iommufd_iommu_unit_info_free(NULL, 3);
	iommufd_monitor_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------------------
 * The sysfs tree of a fake kernel: another root, walked with readdir.
 */

static void check_regions(const struct iommufd_iommu_group_info *g,
			  const struct iommufd_reserved_region *want, size_t n)
{
	ck_assert_uint_eq(g->nr_reserved, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(g->reserved[i].start, want[i].start);
		ck_assert_uint_eq(g->reserved[i].last, want[i].last);
		ck_assert_int_eq(g->reserved[i].type, want[i].type);
	}
}

#define EDU_BDF "0000:00:04.0"
#define NIC_BDF "0000:00:05.0"
#define MDEV_UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

static struct iommufd_fake *fk;
static struct iommufd_discover_opts fk_opts;

static void fake_tree_setup(void)
{
	ck_assert_int_eq(iommufd_fake_new(&fk), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fk), 0);
	memset(&fk_opts, 0, sizeof(fk_opts));
	fk_opts.sz = sizeof(fk_opts);
	fk_opts.sysfs_root = iommufd_fake_sysfs_root(fk);
	ck_assert_ptr_nonnull(fk_opts.sysfs_root);
}

static void fake_tree_teardown(void)
{
	iommufd_fake_free(fk);
	fk = NULL;
}

/* The entry agrees with the fake's own idea of the device file, down to the
 * device number a stat of it gives. */
static void check_fake_cdev(const struct iommufd_vfio_device_info *d)
{
	char path[64];
	struct stat st;

	ck_assert(d->has_cdev);
	ck_assert_int_eq(iommufd_fake_device_cdev(fk, d->name, path,
						  sizeof(path)), 0);
	ck_assert_str_eq(d->cdev_path, path);
	ck_assert_int_eq(iommufd_fake_stat(fk, path, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(d->cdev_major, major(st.st_rdev));
	ck_assert_uint_eq(d->cdev_minor, minor(st.st_rdev));
}

static void check_fake_edu(const struct iommufd_vfio_device_info *d)
{
	ck_assert_int_eq(d->bus, IOMMUFD_BUS_PCI);
	ck_assert_str_eq(d->pci_addr, EDU_BDF);
	ck_assert_str_eq(d->name, EDU_BDF);
	ck_assert_uint_eq(d->vendor_id, 0x1234);
	ck_assert_uint_eq(d->device_id, 0x11e8);
	ck_assert_str_eq(d->driver, "vfio-pci");
	ck_assert(d->vfio);
	check_fake_cdev(d);
	ck_assert_int_eq(d->iommu_group, 1);
	ck_assert_str_eq(d->group_path, "/dev/vfio/1");
	ck_assert_str_eq(d->iommu_unit, "dmar0");
	ck_assert_int_eq(d->error, 0);
}

static void check_fake_mdev(const struct iommufd_vfio_device_info *d)
{
	ck_assert_int_eq(d->bus, IOMMUFD_BUS_MDEV);
	ck_assert_str_eq(d->pci_addr, "");
	ck_assert_str_eq(d->name, MDEV_UUID);
	ck_assert_uint_eq(d->vendor_id, 0);
	ck_assert_uint_eq(d->class_code, 0);
	ck_assert_str_ne(d->driver, "");
	ck_assert(d->vfio);
	check_fake_cdev(d);
	ck_assert_int_eq(d->iommu_group, 3);
	ck_assert_str_eq(d->group_path, "/dev/vfio/3");
	ck_assert_str_eq(d->iommu_unit, "");	/* no IOMMU of its own */
	ck_assert_int_eq(d->error, 0);
}

START_TEST(test_fake_devices)
{
	struct iommufd_vfio_device_info *devs;
	const struct iommufd_vfio_device_info *d;
	size_t nr;

	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 2);	/* PCI only by default */
	check_fake_edu(&devs[0]);
	d = &devs[1];
	ck_assert_int_eq(d->bus, IOMMUFD_BUS_PCI);
	ck_assert_str_eq(d->pci_addr, NIC_BDF);
	ck_assert_str_eq(d->name, NIC_BDF);
	ck_assert_uint_eq(d->vendor_id, 0x8086);
	ck_assert_uint_eq(d->device_id, 0x10d3);
	ck_assert_uint_eq(d->subsystem_vendor_id, 0x8086);
	ck_assert_uint_eq(d->subsystem_device_id, 0);
	ck_assert_uint_eq(d->class_code, 0x020000);
	ck_assert_str_eq(d->driver, "vfio-pci");
	check_fake_cdev(d);
	ck_assert_int_eq(d->iommu_group, 2);
	ck_assert_str_eq(d->group_path, "/dev/vfio/2");
	ck_assert_str_eq(d->iommu_unit, "dmar1");
	ck_assert_int_eq(d->error, 0);
	ck_assert_str_ne(devs[0].cdev_path, devs[1].cdev_path);
	iommufd_vfio_device_info_free(devs, nr);

	/* With the mediated device, after the PCI ones. */
	fk_opts.flags = IOMMUFD_DISCOVER_MDEV;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 3);
	check_fake_edu(&devs[0]);
	ck_assert_str_eq(devs[1].pci_addr, NIC_BDF);
	check_fake_mdev(&devs[2]);
	iommufd_vfio_device_info_free(devs, nr);

	/* The NIC leaves VFIO: only an lspci-like view shows it. */
	ck_assert_int_eq(iommufd_fake_bind_driver(fk, NIC_BDF, "e1000e"), 0);
	fk_opts.flags = 0;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 1);
	check_fake_edu(&devs[0]);
	iommufd_vfio_device_info_free(devs, nr);
	fk_opts.flags = IOMMUFD_DISCOVER_ALL_PCI | IOMMUFD_DISCOVER_MDEV;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 3);
	d = &devs[1];
	ck_assert_str_eq(d->pci_addr, NIC_BDF);
	ck_assert_str_eq(d->driver, "e1000e");
	ck_assert(!d->vfio);
	ck_assert(!d->has_cdev);
	ck_assert_str_eq(d->cdev_path, "");
	ck_assert_int_eq(d->iommu_group, 2);
	ck_assert_str_eq(d->group_path, "");	/* not VFIO's */
	ck_assert_str_eq(d->iommu_unit, "dmar1");
	check_fake_mdev(&devs[2]);
	iommufd_vfio_device_info_free(devs, nr);

	/* Unbound, then gone. */
	ck_assert_int_eq(iommufd_fake_bind_driver(fk, NIC_BDF, ""), 0);
	{
		struct iommufd_vfio_device_info one;

		ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, NIC_BDF,
							      &one), 0);
		ck_assert_str_eq(one.driver, "");
		ck_assert(!one.vfio);
		ck_assert_int_eq(one.iommu_group, 2);
		ck_assert_int_eq(one.error, 0);
		ck_assert_int_eq(iommufd_fake_remove_device(fk, NIC_BDF), 0);
		ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, NIC_BDF,
							      &one), -ENOENT);
	}
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 2);
	check_fake_edu(&devs[0]);
	check_fake_mdev(&devs[1]);
	iommufd_vfio_device_info_free(devs, nr);
}
END_TEST

START_TEST(test_fake_lookup)
{
	struct iommufd_vfio_device_info d;
	struct iommufd_iommu_group_info *g;
	char path[64], want[64];

	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, "00:04.0", &d), 0);
	check_fake_edu(&d);
	/* A UUID of either case. */
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts,
		"83B8F4F2-509F-382F-3C1E-E6BFE0FA1001", &d), 0);
	check_fake_mdev(&d);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, "0000:00:06.0",
						      &d), -ENOENT);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts,
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa1002", &d), -ENOENT);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, "83b8f4f2",
						      &d), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts,
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa10011", &d), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts,
		"83b8f4f2_509f-382f-3c1e-e6bfe0fa1001", &d), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, NULL, &d), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, EDU_BDF, NULL),
			 -EINVAL);

	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, EDU_BDF, path,
						sizeof(path)), 0);
	ck_assert_int_eq(iommufd_fake_device_cdev(fk, EDU_BDF, want,
						  sizeof(want)), 0);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, EDU_BDF, path,
						strlen(want)), -ERANGE);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, MDEV_UUID, path,
						sizeof(path)), 0);
	ck_assert_int_eq(iommufd_fake_device_cdev(fk, MDEV_UUID, want,
						  sizeof(want)), 0);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, "00:1f.0", path,
						sizeof(path)), -ENOENT);
	ck_assert_int_eq(iommufd_fake_bind_driver(fk, NIC_BDF, "e1000e"), 0);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, NIC_BDF, path,
						sizeof(path)), -ENODEV);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, NIC_BDF, NULL, 0),
			 -EINVAL);

	ck_assert_int_eq(iommufd_discover_iommu_group_opts(&fk_opts, 3, &g), 0);
	ck_assert_uint_eq(g->id, 3);
	ck_assert_uint_eq(g->nr_devices, 1);
	ck_assert_str_eq(g->devices[0], MDEV_UUID);
	iommufd_iommu_group_info_free(g, 1);
	g = (void *)1;
	ck_assert_int_eq(iommufd_discover_iommu_group_opts(&fk_opts, 4, &g),
			 -ENOENT);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(iommufd_discover_iommu_group_opts(&fk_opts, 1, NULL),
			 -EINVAL);
}
END_TEST

START_TEST(test_fake_groups)
{
	struct iommufd_iommu_group_info *groups;
	size_t nr;

	ck_assert_int_eq(iommufd_discover_iommu_groups(&fk_opts, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 3);

	ck_assert_uint_eq(groups[0].id, 1);
	ck_assert_str_eq(groups[0].type, "DMA");
	ck_assert_uint_eq(groups[0].nr_devices, 1);
	ck_assert_str_eq(groups[0].devices[0], EDU_BDF);
	ck_assert_ptr_null(groups[0].devices[1]);
	ck_assert_uint_eq(groups[0].nr_reserved, 1);
	ck_assert_uint_eq(groups[0].reserved[0].start, 0xfee00000);
	ck_assert_uint_eq(groups[0].reserved[0].last, 0xfeefffff);
	ck_assert_int_eq(groups[0].reserved[0].type, IOMMUFD_RESV_MSI);
	ck_assert_int_eq(groups[0].error, 0);

	ck_assert_uint_eq(groups[1].id, 2);
	ck_assert_str_eq(groups[1].devices[0], NIC_BDF);
	ck_assert_uint_eq(groups[1].nr_reserved, 1);
	ck_assert_int_eq(groups[1].reserved[0].type, IOMMUFD_RESV_MSI);
	ck_assert_int_eq(groups[1].error, 0);

	/* The emulated device's group: no IOMMU domain, no reserved region. */
	ck_assert_uint_eq(groups[2].id, 3);
	ck_assert_str_eq(groups[2].devices[0], MDEV_UUID);
	ck_assert_uint_eq(groups[2].nr_reserved, 0);
	ck_assert_ptr_null(groups[2].reserved);
	ck_assert_int_eq(groups[2].error, 0);
	iommufd_iommu_group_info_free(groups, nr);

	/* The group goes with its last device. */
	ck_assert_int_eq(iommufd_fake_remove_device(fk, NIC_BDF), 0);
	ck_assert_int_eq(iommufd_discover_iommu_groups(&fk_opts, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 2);
	ck_assert_uint_eq(groups[0].id, 1);
	ck_assert_uint_eq(groups[1].id, 3);
	iommufd_iommu_group_info_free(groups, nr);
}
END_TEST

START_TEST(test_fake_units)
{
	struct iommufd_fake_resv_region resv[] = {
		{ 0x8000000, 0x80fffff, IOMMUFD_RESV_MSI },
		{ 0xe8000, 0xe8fff, IOMMUFD_RESV_DIRECT },
	};
	IOMMUFD_OPTS(iommufd_fake_iommu_opts, unit, .name = "dmar10",
		     .reserved = resv, .nr_reserved = 2);
	IOMMUFD_OPTS(iommufd_fake_pci_opts, pci, .bdf = "0000:01:00.0",
		     .vendor_id = 0x144d, .device_id = 0xa808,
		     .class_code = 0x010802, .iommu = "dmar10",
		     .iommu_group = 10, .bars = { [0] = { .size = 16384 } });
	struct iommufd_iommu_unit_info *units;
	struct iommufd_iommu_group_info *g;
	struct iommufd_vfio_device_info d;
	size_t nr;

	ck_assert_int_eq(iommufd_discover_iommu_units(&fk_opts, &units, &nr), 0);
	ck_assert_uint_eq(nr, 2);
	ck_assert_str_eq(units[0].name, "dmar0");
	ck_assert_uint_eq(units[0].nr_devices, 1);
	ck_assert_str_eq(units[0].devices[0], EDU_BDF);
	ck_assert_int_eq(units[0].error, 0);
	ck_assert_str_eq(units[1].name, "dmar1");
	ck_assert_uint_eq(units[1].nr_devices, 1);
	ck_assert_str_eq(units[1].devices[0], NIC_BDF);
	iommufd_iommu_unit_info_free(units, nr);

	/* A unit of our own, sorted by number, with its reserved regions in
	 * the group of the device behind it, in address order. */
	ck_assert_int_eq(iommufd_fake_add_iommu(fk, &unit), 0);
	ck_assert_int_eq(iommufd_fake_add_pci_device(fk, &pci), 0);
	ck_assert_int_eq(iommufd_discover_iommu_units(&fk_opts, &units, &nr), 0);
	ck_assert_uint_eq(nr, 3);
	ck_assert_str_eq(units[2].name, "dmar10");
	ck_assert_uint_eq(units[2].nr_devices, 1);
	ck_assert_str_eq(units[2].devices[0], "0000:01:00.0");
	iommufd_iommu_unit_info_free(units, nr);
	ck_assert_int_eq(iommufd_discover_iommu_group_opts(&fk_opts, 10, &g), 0);
	check_regions(g, (const struct iommufd_reserved_region[]){
		{ 0xe8000, 0xe8fff, IOMMUFD_RESV_DIRECT },
		{ 0x8000000, 0x80fffff, IOMMUFD_RESV_MSI } }, 2);
	iommufd_iommu_group_info_free(g, 1);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, "01:00.0", &d), 0);
	ck_assert_str_eq(d.iommu_unit, "dmar10");
	ck_assert_int_eq(d.iommu_group, 10);
	ck_assert_uint_eq(d.class_code, 0x010802);
}
END_TEST

/* A 6.1 kernel: VFIO devices without device files, groups to use instead. */
START_TEST(test_fake_no_cdev)
{
	struct iommufd_vfio_device_info *devs;
	struct iommufd_fake *old;
	char path[64];
	size_t nr;

	ck_assert_int_eq(iommufd_fake_new(&old), 0);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(old, 6, 1), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(old), 0);
	fk_opts.sysfs_root = iommufd_fake_sysfs_root(old);
	fk_opts.flags = IOMMUFD_DISCOVER_MDEV;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 3);
	for (size_t i = 0; i < nr; i++) {
		ck_assert(devs[i].vfio);
		ck_assert(!devs[i].has_cdev);
		ck_assert_str_eq(devs[i].cdev_path, "");
		ck_assert_int_eq(devs[i].error, 0);
	}
	ck_assert_str_eq(devs[0].group_path, "/dev/vfio/1");
	ck_assert_str_eq(devs[1].group_path, "/dev/vfio/2");
	ck_assert_str_eq(devs[2].group_path, "/dev/vfio/3");
	iommufd_vfio_device_info_free(devs, nr);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, EDU_BDF, path,
						sizeof(path)), -ENODEV);
	iommufd_fake_free(old);
}
END_TEST

START_TEST(test_fake_empty)
{
	struct iommufd_vfio_device_info *devs = (void *)1;
	struct iommufd_iommu_group_info *groups = (void *)1;
	struct iommufd_iommu_unit_info *units = (void *)1;
	struct iommufd_fake *empty;
	size_t nr = 99;

	ck_assert_int_eq(iommufd_fake_new(&empty), 0);
	fk_opts.sysfs_root = iommufd_fake_sysfs_root(empty);
	ck_assert_ptr_nonnull(fk_opts.sysfs_root);
	fk_opts.flags = IOMMUFD_DISCOVER_ALL_PCI | IOMMUFD_DISCOVER_MDEV;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(devs);
	nr = 99;
	ck_assert_int_eq(iommufd_discover_iommu_groups(&fk_opts, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(groups);
	nr = 99;
	ck_assert_int_eq(iommufd_discover_iommu_units(&fk_opts, &units, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(units);
	iommufd_fake_free(empty);
}
END_TEST

/* Roots that are no trees, and a tree with nothing in it. */
START_TEST(test_fake_bad_roots)
{
	struct iommufd_vfio_device_info *devs = (void *)1, d;
	struct iommufd_iommu_group_info *groups;
	struct iommufd_iommu_unit_info *units;
	char dir[] = "/tmp/iommufd-test-XXXXXX", file[256], path[64];
	size_t nr = 99;
	int fd;

	fk_opts.sysfs_root = "";
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), -EINVAL);
	ck_assert_ptr_null(devs);
	ck_assert_uint_eq(nr, 0);
	fk_opts.sysfs_root = "/nonexistent-iommufd-sysfs";
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), -ENOENT);
	ck_assert_int_eq(iommufd_discover_iommu_groups(&fk_opts, &groups, &nr),
			 -ENOENT);
	ck_assert_int_eq(iommufd_discover_iommu_units(&fk_opts, &units, &nr),
			 -ENOENT);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, EDU_BDF, &d),
			 -ENOENT);
	ck_assert_int_eq(iommufd_find_cdev_opts(&fk_opts, EDU_BDF, path,
						sizeof(path)), -ENOENT);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fk_opts.sysfs_root = file;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), -ENOTDIR);
	ck_assert_int_eq(iommufd_discover_iommu_group_opts(&fk_opts, 1, &groups),
			 -ENOTDIR);

	/* A directory with no bus, no groups, no units: an empty machine. */
	fk_opts.sysfs_root = dir;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_int_eq(iommufd_discover_iommu_groups(&fk_opts, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_int_eq(iommufd_discover_iommu_units(&fk_opts, &units, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, EDU_BDF, &d),
			 -ENOENT);
	unlink(file);
	rmdir(dir);

	/* The opts rules hold with a root too. */
	fk_opts.sysfs_root = iommufd_fake_sysfs_root(fk);
	fk_opts.flags = 1u << 30;
	ck_assert_int_eq(iommufd_discover_devices(&fk_opts, &devs, &nr), -EINVAL);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, EDU_BDF, &d),
			 -EINVAL);
	/* Every known flag is accepted by every call. */
	fk_opts.flags = IOMMUFD_DISCOVER_ALL_PCI | IOMMUFD_DISCOVER_MDEV;
	ck_assert_int_eq(iommufd_discover_iommu_units(&fk_opts, &units, &nr), 0);
	iommufd_iommu_unit_info_free(units, nr);
	ck_assert_int_eq(iommufd_discover_device_opts(&fk_opts, EDU_BDF, &d), 0);
	/* An older caller's struct, without sysfs_root: the field is not
	 * looked at, and the machine's /sys is read. */
	{
		struct iommufd_discover_opts o = fk_opts;

		o.sz = offsetof(struct iommufd_discover_opts, sysfs_root);
		o.sysfs_root = "/nonexistent-iommufd-sysfs";
		ck_assert_int_eq(iommufd_discover_iommu_groups(&o, &groups, &nr), 0);
		iommufd_iommu_group_info_free(groups, nr);
		ck_assert_int_eq(iommufd_discover_devices(&o, &devs, &nr), 0);
		iommufd_vfio_device_info_free(devs, nr);
	}
}
END_TEST

/* A context knows where its kernel's sysfs is. */
START_TEST(test_fake_ctx_root)
{
	struct iommufd_ctx *ctx;

	ck_assert_ptr_null(iommufd_ctx_sysfs_root(NULL));
	ck_assert_int_eq(iommufd_fake_ctx_new(fk, NULL, &ctx), 0);
	ck_assert_ptr_nonnull(iommufd_ctx_sysfs_root(ctx));
	ck_assert_str_eq(iommufd_ctx_sysfs_root(ctx), iommufd_fake_sysfs_root(fk));
	iommufd_ctx_free(ctx);
}
END_TEST


#ifdef HAVE_UMOCKDEV
/* ---------------------------------------------------------------------------
 * Fake sysfs trees built with umockdev: the machine's /sys, through libudev.
 */

static UMockdevTestbed *tb;
static char *sys_dir;	/* the test bed's real /sys, to write into */

static unsigned int eventfds_open(void)
{
	unsigned int n = 0;
	char path[64], target[64];

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += !strcmp(target, "anon_inode:[eventfd]");
	}
	return n;
}

static void bed_new(void)
{
	tb = umockdev_testbed_new();
	ck_assert_ptr_nonnull(tb);
	ck_assert(umockdev_in_mock_environment());
	sys_dir = umockdev_testbed_get_sys_dir(tb);
	/*
	 * umockdev's ioctl thread makes its GMainContexts (one eventfd each:
	 * the testbed's, the thread's default, its socket listener's task)
	 * in its own time; the fd-leak check must not snapshot before it has,
	 * or the thread's last eventfd looks leaked by the test (glib 2.74,
	 * umockdev 0.17: three; at most 2 s).
	 */
	for (int i = 0; i < 400 && eventfds_open() < 3; i++)
		usleep(5000);
}

static void bed_free(void)
{
	g_free(sys_dir);
	sys_dir = NULL;
	if (tb)
		g_object_unref(tb);
	tb = NULL;
}

/* Load a umockdev-record file from tests/sysfs, without its comments. */
static void bed_load(const char *name)
{
	char *path = g_strdup_printf("%s/sysfs/%s", TEST_SRCDIR, name);
	GString *clean = g_string_new(NULL);
	GError *err = NULL;
	char *text, **lines;

	ck_assert_msg(g_file_get_contents(path, &text, NULL, &err), "%s: %s",
		      path, err ? err->message : "?");
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++)
		if ((*l)[0] != '#')
			g_string_append_printf(clean, "%s\n", *l);
	/* The first record must start the text. */
	ck_assert_msg(umockdev_testbed_add_from_string(tb, g_strchug(clean->str), &err),
		      "%s: %s", path, err ? err->message : "?");
	g_strfreev(lines);
	g_free(text);
	g_string_free(clean, TRUE);
	g_free(path);
}

static char *bed_path(const char *rel)
{
	return g_strdup_printf("%s/%s", sys_dir, rel);
}

/* Write @len bytes at /sys/@rel in the test bed (parents created). */
static void bed_write(const char *rel, const char *data, gssize len)
{
	char *path = bed_path(rel), *dir = g_path_get_dirname(path);

	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	ck_assert(g_file_set_contents(path, data, len, NULL));
	g_free(dir);
	g_free(path);
}

static void bed_link(const char *rel, const char *target)
{
	char *path = bed_path(rel), *dir = g_path_get_dirname(path);

	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	unlink(path);
	ck_assert_int_eq(symlink(target, path), 0);
	g_free(dir);
	g_free(path);
}

static void bed_unlink(const char *rel)
{
	char *path = bed_path(rel);

	unlink(path);
	g_free(path);
}

static void bed_mkdir(const char *rel)
{
	char *path = bed_path(rel);

	ck_assert_int_eq(g_mkdir_with_parents(path, 0755), 0);
	g_free(path);
}

/*
 * /sys/kernel/iommu_groups/@id: @type and @resv (NULL: no such file), and
 * @devs, pairs of name and path under /sys/devices, NULL-terminated.
 */
static void bed_group(unsigned int id, const char *type, const char *resv,
		      const char *const *devs)
{
	char rel[256], target[512];

	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%u/devices", id);
	bed_mkdir(rel);
	if (type) {
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%u/type", id);
		bed_write(rel, type, -1);
	}
	if (resv) {
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%u/reserved_regions", id);
		bed_write(rel, resv, -1);
	}
	for (; devs && devs[0]; devs += 2) {
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%u/devices/%s",
			 id, devs[0]);
		snprintf(target, sizeof(target), "../../../../devices/%s", devs[1]);
		bed_link(rel, target);
	}
}

#define MSI_LINE "0x00000000fee00000 0x00000000feefffff msi\n"

static void good_setup(void)
{
	bed_new();
	bed_load("good.umockdev");
	bed_group(7, "DMA\n",
		  "0x00000000000e8000 0x00000000000e8fff direct\n" MSI_LINE,
		  (const char *const[]){ "0000:00:02.0", "pci0000:00/0000:00:02.0",
					 NULL });
	bed_group(8, "DMA-FQ\n", MSI_LINE,
		  (const char *const[]){ "0000:00:03.0", "pci0000:00/0000:00:03.0",
					 NULL });
	bed_group(9, "DMA\n",
		  "0x00000000000a0000 0x00000000000bffff direct-relaxable\n" MSI_LINE,
		  (const char *const[]){ "0000:00:04.0", "pci0000:00/0000:00:04.0",
					 NULL });
	bed_group(12, "DMA\n",
		  "0x0000000008000000 0x00000000080fffff msi\n"
		  "0x00000000fed00000 0x00000000fed03fff reserved\n",
		  (const char *const[]){ "0000:3a:00.1", "pci0000:3a/0000:3a:00.1",
					 "0000:3a:00.0", "pci0000:3a/0000:3a:00.0",
					 NULL });
	bed_group(20, "DMA\n", "",
		  (const char *const[]){ "10000:01:00.0",
					 "pci0000:3a/0000:3a:05.5/pci10000:00/10000:00:02.0/10000:01:00.0",
					 NULL });
	/* vfio's no-IOMMU group: a name, no type, no reserved_regions. */
	bed_group(30, NULL, NULL,
		  (const char *const[]){ "0000:00:05.0", "pci0000:00/0000:00:05.0",
					 NULL });
	bed_write("kernel/iommu_groups/30/name", "vfio-noiommu\n", -1);
}

static void bad_setup(void)
{
	static const char nul_resv[] = MSI_LINE "\0junk\n";

	bed_new();
	bed_load("bad.umockdev");
	bed_group(40, "DMA\n", "0x1 0x0 msi\n",
		  (const char *const[]){ "0000:00:06.0", "pci0000:00/0000:00:06.0",
					 NULL });
	bed_group(41, "DMA\n", NULL,
		  (const char *const[]){ "0000:00:08.0", "pci0000:00/0000:00:08.0",
					 NULL });
	bed_write("kernel/iommu_groups/41/reserved_regions", nul_resv,
		  sizeof(nul_resv) - 1);
	bed_group(42, "DMA\n", MSI_LINE, NULL);
	{
		char *p = bed_path("kernel/iommu_groups/42/devices");

		ck_assert_int_eq(g_rmdir(p), 0);
		g_free(p);
	}
	bed_group(43, "DMA-FQ-but-much-longer-than-any-name-a-kernel-would-ever-write-here\n",
		  MSI_LINE,
		  (const char *const[]){ "0000:00:0b.0", "pci0000:00/0000:00:0b.0",
					 NULL });
	bed_group(44, "DMA\n", MSI_LINE,
		  (const char *const[]){ "0000:00:0c.0", "pci0000:00/0000:00:0c.0",
					 NULL });
	bed_mkdir("kernel/iommu_groups/abc");
}

static void empty_setup(void)
{
	bed_new();
}

static const struct iommufd_vfio_device_info *
find_dev(const struct iommufd_vfio_device_info *devs, size_t nr,
	 const char *addr)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(devs[i].pci_addr, addr))
			return &devs[i];
	ck_abort_msg("%s not found", addr);
	return NULL;
}

START_TEST(test_devices_vfio)
{
	struct iommufd_vfio_device_info *devs;
	const struct iommufd_vfio_device_info *d;
	static const char *const order[] = {
		"0000:00:02.0", "0000:00:04.0", "0000:00:05.0", "0000:3a:00.1",
		"10000:01:00.0",
	};
	size_t nr;

	ck_assert_int_eq(iommufd_discover_devices(NULL, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 5);
	for (size_t i = 0; i < nr; i++) {
		ck_assert_str_eq(devs[i].pci_addr, order[i]);
		ck_assert(devs[i].vfio);
		ck_assert_int_eq(devs[i].error, 0);
	}

	d = &devs[0];	/* the edu device */
	ck_assert_uint_eq(d->vendor_id, 0x1234);
	ck_assert_uint_eq(d->device_id, 0x11e8);
	ck_assert_uint_eq(d->subsystem_vendor_id, 0x1af4);
	ck_assert_uint_eq(d->subsystem_device_id, 0x1100);
	ck_assert_uint_eq(d->class_code, 0x00ff00);
	ck_assert_str_eq(d->driver, "vfio-pci");
	ck_assert(d->has_cdev);
	ck_assert_str_eq(d->cdev_path, "/dev/vfio/devices/vfio0");
	ck_assert_uint_eq(d->cdev_major, 511);
	ck_assert_uint_eq(d->cdev_minor, 0);
	ck_assert_int_eq(d->iommu_group, 7);
	ck_assert_str_eq(d->group_path, "/dev/vfio/7");
	ck_assert_str_eq(d->iommu_unit, "dmar0");

	d = &devs[1];	/* vfio-pci on a kernel without cdevs */
	ck_assert_uint_eq(d->vendor_id, 0x8086);
	ck_assert_uint_eq(d->device_id, 0x10d3);
	ck_assert_uint_eq(d->subsystem_vendor_id, 0);
	ck_assert_uint_eq(d->class_code, 0x020000);
	ck_assert(!d->has_cdev);
	ck_assert_str_eq(d->cdev_path, "");
	ck_assert_int_eq(d->iommu_group, 9);
	ck_assert_str_eq(d->group_path, "/dev/vfio/9");
	ck_assert_str_eq(d->iommu_unit, "dmar0");

	d = &devs[2];	/* no-IOMMU mode */
	ck_assert_str_eq(d->cdev_path, "/dev/vfio/devices/noiommu-vfio4");
	ck_assert_uint_eq(d->cdev_minor, 4);
	ck_assert_int_eq(d->iommu_group, 30);
	ck_assert_str_eq(d->group_path, "/dev/vfio/noiommu-30");
	ck_assert_str_eq(d->iommu_unit, "");

	d = &devs[3];	/* a variant driver */
	ck_assert_uint_eq(d->vendor_id, 0x15b3);
	ck_assert_uint_eq(d->device_id, 0x101e);
	ck_assert_str_eq(d->driver, "mlx5_vfio_pci");
	ck_assert_str_eq(d->cdev_path, "/dev/vfio/devices/vfio3");
	ck_assert_uint_eq(d->cdev_major, 511);
	ck_assert_uint_eq(d->cdev_minor, 3);
	ck_assert_int_eq(d->iommu_group, 12);
	ck_assert_str_eq(d->group_path, "/dev/vfio/12");
	ck_assert_str_eq(d->iommu_unit, "dmar1");

	d = &devs[4];	/* behind VMD; no DEVNAME: the node by its name */
	ck_assert_uint_eq(d->device_id, 0x0a54);
	ck_assert_str_eq(d->cdev_path, "/dev/vfio/devices/vfio5");
	ck_assert_uint_eq(d->cdev_minor, 5);
	ck_assert_int_eq(d->iommu_group, 20);
	ck_assert_str_eq(d->iommu_unit, "dmar1");
	iommufd_vfio_device_info_free(devs, nr);
}
END_TEST

START_TEST(test_devices_all)
{
	IOMMUFD_OPTS(iommufd_discover_opts, opts, .flags = IOMMUFD_DISCOVER_ALL_PCI);
	struct iommufd_vfio_device_info *devs;
	const struct iommufd_vfio_device_info *d;
	static const char *const order[] = {
		"0000:00:02.0", "0000:00:03.0", "0000:00:04.0", "0000:00:05.0",
		"0000:00:1f.0", "0000:3a:00.0", "0000:3a:00.1", "10000:01:00.0",
	};
	size_t nr;

	ck_assert_int_eq(iommufd_discover_devices(&opts, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 8);
	for (size_t i = 0; i < nr; i++) {
		ck_assert_str_eq(devs[i].pci_addr, order[i]);
		ck_assert_int_eq(devs[i].error, 0);
	}

	d = find_dev(devs, nr, "0000:00:03.0");	/* nvme */
	ck_assert(!d->vfio);
	ck_assert_str_eq(d->driver, "nvme");
	ck_assert_uint_eq(d->vendor_id, 0x144d);
	ck_assert_uint_eq(d->device_id, 0xa808);
	ck_assert_uint_eq(d->subsystem_device_id, 0xa801);
	ck_assert_uint_eq(d->class_code, 0x010802);
	ck_assert(!d->has_cdev);
	ck_assert_int_eq(d->iommu_group, 8);
	ck_assert_str_eq(d->group_path, "");	/* not VFIO's */
	ck_assert_str_eq(d->iommu_unit, "dmar0");

	d = find_dev(devs, nr, "0000:00:1f.0");	/* no driver, no group */
	ck_assert(!d->vfio);
	ck_assert_str_eq(d->driver, "");
	ck_assert_uint_eq(d->class_code, 0x060100);
	ck_assert_int_eq(d->iommu_group, -1);
	ck_assert_str_eq(d->group_path, "");
	ck_assert_str_eq(d->iommu_unit, "");

	d = find_dev(devs, nr, "0000:3a:00.0");	/* unit only from dmar1/devices */
	ck_assert_str_eq(d->driver, "mlx5_core");
	ck_assert_int_eq(d->iommu_group, 12);
	ck_assert_str_eq(d->iommu_unit, "dmar1");
	iommufd_vfio_device_info_free(devs, nr);
}
END_TEST

START_TEST(test_device_one)
{
	struct iommufd_vfio_device_info info;

	ck_assert_int_eq(iommufd_discover_device("3b:00.0", &info), -ENOENT);
	ck_assert_int_eq(iommufd_discover_device("3a:00.0", &info), 0);
	ck_assert_str_eq(info.pci_addr, "0000:3a:00.0");
	ck_assert_int_eq(iommufd_discover_device("0000:3A:00.0", &info), 0);
	ck_assert_str_eq(info.pci_addr, "0000:3a:00.0");
	ck_assert_str_eq(info.driver, "mlx5_core");
	ck_assert(!info.vfio);
	ck_assert_str_eq(info.iommu_unit, "dmar1");
	ck_assert_int_eq(iommufd_discover_device("00:02.0", &info), 0);
	ck_assert_str_eq(info.cdev_path, "/dev/vfio/devices/vfio0");
	ck_assert_str_eq(info.iommu_unit, "dmar0");
	ck_assert_int_eq(iommufd_discover_device("0000:00:09.0", &info), -ENOENT);
	ck_assert_int_eq(iommufd_discover_device("0000:00:09.0x", &info), -EINVAL);
}
END_TEST

START_TEST(test_find_cdev)
{
	char path[64];

	ck_assert_int_eq(iommufd_find_cdev("0000:00:02.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio0");
	memset(path, 0, sizeof(path));
	ck_assert_int_eq(iommufd_find_cdev("00:02.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(iommufd_find_cdev("0000:3A:00.1", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio3");
	ck_assert_int_eq(iommufd_find_cdev("10000:01:00.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio5");
	ck_assert_int_eq(iommufd_find_cdev("0000:00:05.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/noiommu-vfio4");

	/* Exactly fits, and one byte short. */
	ck_assert_int_eq(iommufd_find_cdev("0000:00:02.0", path, 24), 0);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:02.0", path, 23), -ERANGE);

	ck_assert_int_eq(iommufd_find_cdev("0000:00:03.0", path, sizeof(path)), -ENODEV);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:04.0", path, sizeof(path)), -ENODEV);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:1f.0", path, sizeof(path)), -ENODEV);
	ck_assert_int_eq(iommufd_find_cdev("0000:3a:00.0", path, sizeof(path)), -ENODEV);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:09.0", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(iommufd_find_cdev("0001:00:02.0", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:02.0 ", path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:20.0", path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:02.8", path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev("", path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(iommufd_find_cdev("../../../etc", path, sizeof(path)), -EINVAL);
}
END_TEST

START_TEST(test_groups)
{
	struct iommufd_iommu_group_info *groups, *g;
	size_t nr;

	ck_assert_int_eq(iommufd_discover_iommu_groups(NULL, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 6);
	ck_assert_uint_eq(groups[0].id, 7);
	ck_assert_uint_eq(groups[1].id, 8);
	ck_assert_uint_eq(groups[2].id, 9);
	ck_assert_uint_eq(groups[3].id, 12);
	ck_assert_uint_eq(groups[4].id, 20);
	ck_assert_uint_eq(groups[5].id, 30);
	for (size_t i = 0; i < nr; i++)
		ck_assert_int_eq(groups[i].error, 0);

	g = &groups[0];
	ck_assert_str_eq(g->type, "DMA");
	ck_assert_uint_eq(g->nr_devices, 1);
	ck_assert_str_eq(g->devices[0], "0000:00:02.0");
	ck_assert_ptr_null(g->devices[1]);
	check_regions(g, (const struct iommufd_reserved_region[]){
		{ 0xe8000, 0xe8fff, IOMMUFD_RESV_DIRECT },
		{ 0xfee00000, 0xfeefffff, IOMMUFD_RESV_MSI } }, 2);

	g = &groups[1];
	ck_assert_str_eq(g->type, "DMA-FQ");
	ck_assert_str_eq(g->devices[0], "0000:00:03.0");
	check_regions(g, (const struct iommufd_reserved_region[]){
		{ 0xfee00000, 0xfeefffff, IOMMUFD_RESV_MSI } }, 1);

	g = &groups[2];
	check_regions(g, (const struct iommufd_reserved_region[]){
		{ 0xa0000, 0xbffff, IOMMUFD_RESV_DIRECT_RELAXABLE },
		{ 0xfee00000, 0xfeefffff, IOMMUFD_RESV_MSI } }, 2);

	g = &groups[3];	/* two functions, sorted */
	ck_assert_uint_eq(g->nr_devices, 2);
	ck_assert_str_eq(g->devices[0], "0000:3a:00.0");
	ck_assert_str_eq(g->devices[1], "0000:3a:00.1");
	check_regions(g, (const struct iommufd_reserved_region[]){
		{ 0x8000000, 0x80fffff, IOMMUFD_RESV_MSI },
		{ 0xfed00000, 0xfed03fff, IOMMUFD_RESV_RESERVED } }, 2);

	g = &groups[4];	/* an empty reserved_regions */
	ck_assert_uint_eq(g->nr_reserved, 0);
	ck_assert_ptr_null(g->reserved);
	ck_assert_str_eq(g->devices[0], "10000:01:00.0");

	g = &groups[5];	/* no type, no reserved_regions: an old kernel */
	ck_assert_str_eq(g->type, "");
	ck_assert_uint_eq(g->nr_reserved, 0);
	ck_assert_str_eq(g->devices[0], "0000:00:05.0");
	iommufd_iommu_group_info_free(groups, nr);

	ck_assert_int_eq(iommufd_discover_iommu_group(12, &g), 0);
	ck_assert_uint_eq(g->id, 12);
	ck_assert_uint_eq(g->nr_devices, 2);
	ck_assert_uint_eq(g->nr_reserved, 2);
	ck_assert_uint_eq(g->reserved[1].last, 0xfed03fff);
	iommufd_iommu_group_info_free(g, 1);
	g = (void *)1;
	ck_assert_int_eq(iommufd_discover_iommu_group(13, &g), -ENOENT);
	ck_assert_ptr_null(g);
}
END_TEST

START_TEST(test_units)
{
	struct iommufd_iommu_unit_info *units;
	size_t nr;

	ck_assert_int_eq(iommufd_discover_iommu_units(NULL, &units, &nr), 0);
	ck_assert_uint_eq(nr, 2);
	ck_assert_str_eq(units[0].name, "dmar0");
	ck_assert_int_eq(units[0].error, 0);
	ck_assert_uint_eq(units[0].nr_devices, 3);
	ck_assert_str_eq(units[0].devices[0], "0000:00:02.0");
	ck_assert_str_eq(units[0].devices[1], "0000:00:03.0");
	ck_assert_str_eq(units[0].devices[2], "0000:00:04.0");
	ck_assert_ptr_null(units[0].devices[3]);
	ck_assert_str_eq(units[1].name, "dmar1");
	ck_assert_uint_eq(units[1].nr_devices, 3);
	ck_assert_str_eq(units[1].devices[0], "0000:3a:00.0");
	ck_assert_str_eq(units[1].devices[1], "0000:3a:00.1");
	ck_assert_str_eq(units[1].devices[2], "10000:01:00.0");
	iommufd_iommu_unit_info_free(units, nr);
}
END_TEST

/* The test bed's tree read as another root (readdir) gives what libudev's
 * enumeration of /sys gives; "/sys" given explicitly is /sys. */
START_TEST(test_both_ways)
{
	IOMMUFD_OPTS(iommufd_discover_opts, dir, .sysfs_root = sys_dir,
		     .flags = IOMMUFD_DISCOVER_ALL_PCI);
	IOMMUFD_OPTS(iommufd_discover_opts, sys, .sysfs_root = "/sys//",
		     .flags = IOMMUFD_DISCOVER_ALL_PCI);
	IOMMUFD_OPTS(iommufd_discover_opts, none, .flags = IOMMUFD_DISCOVER_ALL_PCI);
	const struct iommufd_discover_opts *ways[] = { &dir, &sys };
	struct iommufd_vfio_device_info *want, *got;
	struct iommufd_iommu_group_info *gwant, *ggot;
	struct iommufd_iommu_unit_info *uwant, *ugot;
	size_t nwant, ngot;

	ck_assert_int_eq(iommufd_discover_devices(&none, &want, &nwant), 0);
	ck_assert_uint_eq(nwant, 8);
	for (size_t w = 0; w < 2; w++) {
		ck_assert_int_eq(iommufd_discover_devices(ways[w], &got, &ngot), 0);
		ck_assert_uint_eq(ngot, nwant);
		for (size_t i = 0; i < nwant; i++) {
			ck_assert_str_eq(got[i].name, want[i].name);
			ck_assert_str_eq(got[i].pci_addr, want[i].pci_addr);
			ck_assert_msg(!memcmp(&got[i], &want[i], sizeof(got[i])),
				      "%s differs", want[i].name);
		}
		iommufd_vfio_device_info_free(got, ngot);
	}
	iommufd_vfio_device_info_free(want, nwant);

	ck_assert_int_eq(iommufd_discover_iommu_groups(NULL, &gwant, &nwant), 0);
	ck_assert_int_eq(iommufd_discover_iommu_groups(&dir, &ggot, &ngot), 0);
	ck_assert_uint_eq(ngot, nwant);
	for (size_t i = 0; i < nwant; i++) {
		ck_assert_uint_eq(ggot[i].id, gwant[i].id);
		ck_assert_str_eq(ggot[i].type, gwant[i].type);
		ck_assert_uint_eq(ggot[i].nr_devices, gwant[i].nr_devices);
		ck_assert_str_eq(ggot[i].devices[0], gwant[i].devices[0]);
		check_regions(&ggot[i], gwant[i].reserved, gwant[i].nr_reserved);
	}
	iommufd_iommu_group_info_free(gwant, nwant);
	iommufd_iommu_group_info_free(ggot, ngot);

	ck_assert_int_eq(iommufd_discover_iommu_units(NULL, &uwant, &nwant), 0);
	ck_assert_int_eq(iommufd_discover_iommu_units(&dir, &ugot, &ngot), 0);
	ck_assert_uint_eq(ngot, nwant);
	for (size_t i = 0; i < nwant; i++) {
		ck_assert_str_eq(ugot[i].name, uwant[i].name);
		ck_assert_uint_eq(ugot[i].nr_devices, uwant[i].nr_devices);
		for (size_t j = 0; j < uwant[i].nr_devices; j++)
			ck_assert_str_eq(ugot[i].devices[j], uwant[i].devices[j]);
	}
	iommufd_iommu_unit_info_free(uwant, nwant);
	iommufd_iommu_unit_info_free(ugot, ngot);
}
END_TEST

START_TEST(test_empty_machine)
{
	struct iommufd_vfio_device_info *devs = (void *)1;
	struct iommufd_iommu_group_info *groups = (void *)1;
	struct iommufd_iommu_unit_info *units = (void *)1;
	char path[64];
	size_t nr = 99;

	ck_assert_int_eq(iommufd_discover_devices(NULL, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(devs);
	nr = 99;
	ck_assert_int_eq(iommufd_discover_iommu_groups(NULL, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(groups);
	nr = 99;
	ck_assert_int_eq(iommufd_discover_iommu_units(NULL, &units, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(units);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:02.0", path, sizeof(path)), -ENOENT);

	/* A monitor with nothing to watch yet. */
	{
		struct iommufd_monitor_event ev;
		struct iommufd_monitor *mon;

		ck_assert_int_eq(iommufd_monitor_new(NULL, &mon), 0);
		ck_assert_int_eq(iommufd_monitor_read(mon, &ev), -EAGAIN);
		iommufd_monitor_free(mon);
	}
}
END_TEST

START_TEST(test_malformed_devices)
{
	struct iommufd_vfio_device_info *devs;
	const struct iommufd_vfio_device_info *d;
	char path[64];
	size_t nr;

	ck_assert_int_eq(iommufd_discover_devices(NULL, &devs, &nr), 0);
	ck_assert_uint_eq(nr, 7);

	d = find_dev(devs, nr, "0000:00:06.0");	/* junk in vfio6/dev */
	ck_assert_int_eq(d->error, -EBADMSG);
	ck_assert(d->has_cdev);
	ck_assert_str_eq(d->cdev_path, "/dev/vfio/devices/vfio6");
	ck_assert_uint_eq(d->cdev_major, 0);
	ck_assert_uint_eq(d->cdev_minor, 0);
	ck_assert_uint_eq(d->vendor_id, 0x1234);	/* the rest is read */
	ck_assert_int_eq(d->iommu_group, 40);

	d = find_dev(devs, nr, "0000:00:07.0");	/* iommu_group -> x1 */
	ck_assert_int_eq(d->error, -EBADMSG);
	ck_assert_int_eq(d->iommu_group, -1);
	ck_assert_str_eq(d->group_path, "");
	ck_assert_uint_eq(d->cdev_minor, 7);

	d = find_dev(devs, nr, "0000:00:08.0");	/* vendor garbage */
	ck_assert_int_eq(d->error, -EBADMSG);
	ck_assert_uint_eq(d->vendor_id, 0);
	ck_assert_uint_eq(d->device_id, 0);
	ck_assert_uint_eq(d->cdev_minor, 8);
	ck_assert_int_eq(d->iommu_group, 41);

	/* vfio9 without a dev file: how Linux 6.1 to 6.5 show a VFIO device
	 * (in sysfs, no device file before 6.6), not an error. */
	d = find_dev(devs, nr, "0000:00:09.0");
	ck_assert_int_eq(d->error, 0);
	ck_assert(d->vfio);
	ck_assert(!d->has_cdev);
	ck_assert_str_eq(d->cdev_path, "");
	ck_assert_int_eq(d->iommu_group, 42);

	d = find_dev(devs, nr, "0000:00:0a.0");	/* missing links: no error */
	ck_assert_int_eq(d->error, 0);
	ck_assert(d->vfio);
	ck_assert(!d->has_cdev);
	ck_assert_int_eq(d->iommu_group, -1);
	ck_assert_str_eq(d->group_path, "");
	ck_assert_str_eq(d->iommu_unit, "");

	d = find_dev(devs, nr, "0000:00:0b.0");	/* two cdevs */
	ck_assert_int_eq(d->error, -EBADMSG);

	d = find_dev(devs, nr, "0000:00:0c.0");	/* iommu not a link */
	ck_assert_int_eq(d->error, -EBADMSG);
	ck_assert_str_eq(d->iommu_unit, "");
	iommufd_vfio_device_info_free(devs, nr);

	ck_assert_int_eq(iommufd_find_cdev("0000:00:06.0", path, sizeof(path)), -EBADMSG);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:09.0", path, sizeof(path)), -ENODEV);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:0b.0", path, sizeof(path)), -EBADMSG);
	ck_assert_int_eq(iommufd_find_cdev("0000:00:0a.0", path, sizeof(path)), -ENODEV);
	/* Problems elsewhere in the entry do not hide a good device file. */
	ck_assert_int_eq(iommufd_find_cdev("0000:00:07.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio7");
	ck_assert_int_eq(iommufd_find_cdev("0000:00:08.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio8");
	ck_assert_int_eq(iommufd_find_cdev("0000:00:0c.0", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio13");
}
END_TEST

START_TEST(test_malformed_groups)
{
	struct iommufd_iommu_group_info *groups;
	size_t nr;

	ck_assert_int_eq(iommufd_discover_iommu_groups(NULL, &groups, &nr), 0);
	ck_assert_uint_eq(nr, 5);	/* "abc" is no group */

	ck_assert_uint_eq(groups[0].id, 40);	/* start > last */
	ck_assert_int_eq(groups[0].error, -EBADMSG);
	ck_assert_uint_eq(groups[0].nr_reserved, 0);
	ck_assert_ptr_null(groups[0].reserved);
	ck_assert_str_eq(groups[0].type, "DMA");
	ck_assert_str_eq(groups[0].devices[0], "0000:00:06.0");

	ck_assert_uint_eq(groups[1].id, 41);	/* a NUL and junk after it */
	ck_assert_int_eq(groups[1].error, -EBADMSG);
	ck_assert_uint_eq(groups[1].nr_reserved, 0);

	ck_assert_uint_eq(groups[2].id, 42);	/* no devices directory */
	ck_assert_int_eq(groups[2].error, -EBADMSG);
	ck_assert_uint_eq(groups[2].nr_devices, 0);
	ck_assert_ptr_null(groups[2].devices);
	ck_assert_uint_eq(groups[2].nr_reserved, 1);

	ck_assert_uint_eq(groups[3].id, 43);	/* type too long */
	ck_assert_int_eq(groups[3].error, -EBADMSG);
	ck_assert_str_eq(groups[3].type, "");
	ck_assert_uint_eq(groups[3].nr_reserved, 1);

	ck_assert_uint_eq(groups[4].id, 44);
	ck_assert_int_eq(groups[4].error, 0);
	iommufd_iommu_group_info_free(groups, nr);
}
END_TEST

/* ---------------------------------------------------------------------------
 * The monitor.
 */

static int monitor_wait_read(struct iommufd_monitor *mon,
			     struct iommufd_monitor_event *ev)
{
	struct pollfd pfd = { .fd = iommufd_monitor_fd(mon), .events = POLLIN };

	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	return iommufd_monitor_read(mon, ev);
}

/* Rebind the device at /sys/devices/@devpath to @driver (NULL: unbind), as
 * the kernel would leave sysfs, and send the uevent. */
static void rebind(const char *devpath, const char *addr, const char *driver)
{
	char rel[256], target[256], uevent[256];

	snprintf(rel, sizeof(rel), "devices/%s/driver", devpath);
	bed_unlink(rel);
	if (driver) {
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		bed_link(rel, target);
		snprintf(uevent, sizeof(uevent),
			 "DRIVER=%s\nPCI_SLOT_NAME=%s\n", driver, addr);
	} else {
		snprintf(uevent, sizeof(uevent), "PCI_SLOT_NAME=%s\n", addr);
	}
	snprintf(rel, sizeof(rel), "devices/%s/uevent", devpath);
	bed_write(rel, uevent, -1);
	snprintf(rel, sizeof(rel), "/sys/devices/%s", devpath);
	umockdev_testbed_uevent(tb, rel, driver ? "bind" : "unbind");
}

static void test_monitor_flags(uint32_t flags)
{
	IOMMUFD_OPTS(iommufd_monitor_opts, opts, .flags = flags);
	struct iommufd_monitor_event ev;
	struct iommufd_monitor *mon;
	int fd;

	ck_assert_int_eq(iommufd_monitor_new(&opts, &mon), 0);
	fd = iommufd_monitor_fd(mon);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert_int_eq(iommufd_monitor_read(mon, &ev), -EAGAIN);

	/* nvme -> vfio-pci, with the cdev the kernel adds before binding. */
	ck_assert(umockdev_testbed_add_from_string(tb,
		"P: /devices/pci0000:00/0000:00:03.0/vfio-dev/vfio1\n"
		"E: SUBSYSTEM=vfio-dev\n"
		"E: DEVNAME=/dev/vfio/devices/vfio1\n"
		"A: dev=511:1\\n\n", NULL));
	rebind("pci0000:00/0000:00:03.0", "0000:00:03.0", "vfio-pci");
	ck_assert_int_eq(monitor_wait_read(mon, &ev), 0);
	ck_assert_int_eq(ev.action, IOMMUFD_MONITOR_BOUND);
	ck_assert_str_eq(ev.device.pci_addr, "0000:00:03.0");
	ck_assert_str_eq(ev.device.driver, "vfio-pci");
	ck_assert(ev.device.vfio);
	ck_assert_str_eq(ev.device.cdev_path, "/dev/vfio/devices/vfio1");
	ck_assert_uint_eq(ev.device.cdev_minor, 1);
	ck_assert_int_eq(ev.device.iommu_group, 8);
	ck_assert_str_eq(ev.device.group_path, "/dev/vfio/8");
	ck_assert_str_eq(ev.device.iommu_unit, "dmar0");
	ck_assert_int_eq(iommufd_monitor_read(mon, &ev), -EAGAIN);

	/* edu leaves vfio-pci (which removes the cdev): reported as it was. */
	umockdev_testbed_remove_device(tb,
		"/sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio0");
	rebind("pci0000:00/0000:00:02.0", "0000:00:02.0", NULL);
	ck_assert_int_eq(monitor_wait_read(mon, &ev), 0);
	ck_assert_int_eq(ev.action, IOMMUFD_MONITOR_UNBOUND);
	ck_assert_str_eq(ev.device.pci_addr, "0000:00:02.0");
	ck_assert_str_eq(ev.device.driver, "vfio-pci");
	ck_assert_str_eq(ev.device.cdev_path, "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(ev.device.iommu_group, 7);

	/* Not VFIO's business: a bridge bound to another driver and unbound,
	 * edu bound to a non-VFIO driver, and an "add". */
	rebind("pci0000:00/0000:00:1f.0", "0000:00:1f.0", "lpc_ich");
	rebind("pci0000:00/0000:00:1f.0", "0000:00:1f.0", NULL);
	rebind("pci0000:00/0000:00:02.0", "0000:00:02.0", "edu");
	umockdev_testbed_uevent(tb, "/sys/devices/pci0000:00/0000:00:04.0", "add");
	umockdev_testbed_uevent(tb, "/sys/devices/virtual/iommu/dmar0", "change");
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	}
	ck_assert_int_eq(iommufd_monitor_read(mon, &ev), -EAGAIN);

	/* A VFIO device removed (hot unplug) and one bound again. */
	umockdev_testbed_uevent(tb, "/sys/devices/pci0000:3a/0000:3a:00.1", "remove");
	ck_assert_int_eq(monitor_wait_read(mon, &ev), 0);
	ck_assert_int_eq(ev.action, IOMMUFD_MONITOR_UNBOUND);
	ck_assert_str_eq(ev.device.pci_addr, "0000:3a:00.1");
	ck_assert_str_eq(ev.device.driver, "mlx5_vfio_pci");
	rebind("pci0000:00/0000:00:02.0", "0000:00:02.0", NULL);
	ck_assert(umockdev_testbed_add_from_string(tb,
		"P: /devices/pci0000:00/0000:00:02.0/vfio-dev/vfio2\n"
		"E: SUBSYSTEM=vfio-dev\n"
		"E: DEVNAME=/dev/vfio/devices/vfio2\n"
		"A: dev=511:2\\n\n", NULL));
	rebind("pci0000:00/0000:00:02.0", "0000:00:02.0", "vfio-pci");
	ck_assert_int_eq(monitor_wait_read(mon, &ev), 0);
	ck_assert_int_eq(ev.action, IOMMUFD_MONITOR_BOUND);
	ck_assert_str_eq(ev.device.pci_addr, "0000:00:02.0");
	ck_assert_str_eq(ev.device.cdev_path, "/dev/vfio/devices/vfio2");
	ck_assert_uint_eq(ev.device.cdev_minor, 2);
	/* Unbinding the device that was first seen at startup works too. */
	rebind("pci0000:00/0000:00:04.0", "0000:00:04.0", NULL);
	ck_assert_int_eq(monitor_wait_read(mon, &ev), 0);
	ck_assert_int_eq(ev.action, IOMMUFD_MONITOR_UNBOUND);
	ck_assert_str_eq(ev.device.pci_addr, "0000:00:04.0");
	ck_assert_int_eq(ev.device.iommu_group, 9);
	ck_assert_int_eq(iommufd_monitor_read(mon, &ev), -EAGAIN);
	iommufd_monitor_free(mon);
}

START_TEST(test_monitor_udev)
{
	test_monitor_flags(0);
}
END_TEST

START_TEST(test_monitor_kernel)
{
	test_monitor_flags(IOMMUFD_MONITOR_KERNEL);
}
END_TEST

#endif /* HAVE_UMOCKDEV */

static Suite *discovery_suite(bool mock)
{
	Suite *s = suite_create("discovery");
	TCase *tc;

	tc = fx_tcase("parser");
	tcase_add_test(tc, test_parse_kernel_format);
	tcase_add_test(tc, test_parse_edges);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_parse_prefixes);
	tcase_add_test(tc, test_parse_mutations);
	tcase_add_test(tc, test_pci_addr);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);

	tc = fx_tcase("fake-tree");
	tcase_add_checked_fixture(tc, fake_tree_setup, fake_tree_teardown);
	tcase_add_test(tc, test_fake_devices);
	tcase_add_test(tc, test_fake_lookup);
	tcase_add_test(tc, test_fake_groups);
	tcase_add_test(tc, test_fake_units);
	tcase_add_test(tc, test_fake_no_cdev);
	tcase_add_test(tc, test_fake_empty);
	tcase_add_test(tc, test_fake_bad_roots);
	tcase_add_test(tc, test_fake_ctx_root);
	suite_add_tcase(s, tc);
#ifdef HAVE_UMOCKDEV
	if (!mock)
		return s;
	/* A testbed starts glib's and umockdev's process-wide helpers
	 * (eventfds, a socket) that outlive it: the fd check brackets the
	 * tests, inside the testbed's fixture. */
	tc = tcase_create("sysfs");
	tcase_add_checked_fixture(tc, good_setup, bed_free);
	fx_fd_check(tc);
	tcase_add_test(tc, test_devices_vfio);
	tcase_add_test(tc, test_devices_all);
	tcase_add_test(tc, test_device_one);
	tcase_add_test(tc, test_find_cdev);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_units);
	tcase_add_test(tc, test_both_ways);
	tcase_add_test(tc, test_monitor_udev);
	tcase_add_test(tc, test_monitor_kernel);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, bad_setup, bed_free);
	fx_fd_check(tc);
	tcase_add_test(tc, test_malformed_devices);
	tcase_add_test(tc, test_malformed_groups);
	suite_add_tcase(s, tc);

	tc = tcase_create("empty");
	tcase_add_checked_fixture(tc, empty_setup, bed_free);
	fx_fd_check(tc);
	tcase_add_test(tc, test_empty_machine);
	suite_add_tcase(s, tc);
#else
	(void)mock;
#endif
	return s;
}

#ifdef HAVE_UMOCKDEV
/* Whether libumockdev-preload is loaded: it then provides open(). (Unlike
 * umockdev_in_mock_environment(), this needs no test bed yet.) */
static bool preload_active(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "open");
	Dl_info info;

	return sym && dladdr(sym, &info) && info.dli_fname &&
	       strstr(info.dli_fname, "libumockdev-preload");
}

/* Run again with libumockdev-preload loaded first, as umockdev-wrapper does.
 * ASan wants to come first in the library list; umockdev must, so tell ASan
 * to let it be. */
static void reexec_under_umockdev(char **argv)
{
	const char *preload = getenv("LD_PRELOAD");
	const char *asan = getenv("ASAN_OPTIONS");
	char *p, *a;

	if (getenv("IOMMUFD_TEST_REEXEC"))
		return;	/* tried already */
	p = g_strdup_printf("libumockdev-preload.so.0%s%s",
			    preload && *preload ? ":" : "",
			    preload ? preload : "");
	a = g_strdup_printf("%s%sverify_asan_link_order=0", asan ? asan : "",
			    asan && *asan ? ":" : "");
	setenv("LD_PRELOAD", p, 1);
	setenv("ASAN_OPTIONS", a, 1);
	setenv("IOMMUFD_TEST_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	/* No /proc: run what can run without umockdev. */
	fprintf(stderr, "test-discovery: cannot re-execute under umockdev: %s\n",
		strerror(errno));
	g_free(p);
	g_free(a);
}
#endif

int main(int argc, char **argv)
{
	bool mock = false;
	SRunner *sr;
	int failed;

#ifdef HAVE_UMOCKDEV
	mock = preload_active();
	if (!mock) {
		reexec_under_umockdev(argv);
		fprintf(stderr, "test-discovery: not under umockdev: sysfs tests "
			"left out (run under umockdev-wrapper)\n");
	}
#endif
	sr = srunner_create(discovery_suite(mock));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
