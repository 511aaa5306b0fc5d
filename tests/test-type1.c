/* SPDX-License-Identifier: MIT */
/*
 * The public API end to end on the type1 backend: the fake kernel emulating
 * Linux 6.1 (VFIO containers, no iommufd), and a current one whose
 * /dev/vfio/vfio is iommufd's compat layer (the vfio-compat backend), each
 * with the default machine (edu in group 1, a NIC in group 2).
 *
 * Backend selection; IOAS maps made before any device is attached (kept in
 * the table) and realized by the attach; IOVAs the library chooses; unmap
 * rules identical to iommufd's; copy and map_file; two groups on one IOAS;
 * one container shared by the groups opened with opts->ioas (and the
 * kernel refusing a group: a container of its own);
 * the last detach unrealizing; viability; edu DMA and MSI; resets and hot
 * resets; failure of every kernel call on the way; memlock.
 *
 * "Table == kernel" is checked through the fake's pinned-page count (each
 * container of an IOAS pins its mappings) and through device DMA.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#define FIXTURE_GLOBALS
#include "fixture.h"

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)
#define MSI_START 0xfee00000ull
#define MSI_LAST 0xfeefffffull
#define DEFAULT_LAST ((1ull << 39) - 1)

static bool compat;		/* the vfio-compat tcase */

/* ---- fixtures ---- */

static void machine_up(bool as_compat)
{
	compat = as_compat;
	unsetenv("LIBIOMMUFD_BACKEND");
	/* the legacy tcase runs 6.1; compat a current kernel */
	fx_fake_up_bare(compat ? 0 : 1);
	if (compat)
		ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
					 fake, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD),
				 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
	log_clear();
}

static void setup_legacy(void)
{
	machine_up(false);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &ctx), 0);
	ck_assert_int_eq(iommufd_ctx_backend(ctx), IOMMUFD_BACKEND_TYPE1);
}

static void setup_compat(void)
{
	machine_up(true);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_VFIO_COMPAT, &ctx), 0);
	ck_assert_int_eq(iommufd_ctx_backend(ctx), IOMMUFD_BACKEND_VFIO_COMPAT);
}

static void teardown(void)
{
	fx_teardown();
}

/* 2 MiB-aligned memory. */
static void *buf_aligned(size_t len, size_t align, void **base, size_t *blen)
{
	uint8_t *p = buf_new(len + align);

	*base = p;
	*blen = len + align;
	return (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}

/* ---- snapshots ---- */

#define SNAP_MAX 32

struct snap {
	size_t n;
	struct iommufd_mapping m[SNAP_MAX];
	uint64_t pinned;
	unsigned int files;
};

static int snap_cb(const struct iommufd_mapping *m, void *data)
{
	struct snap *s = data;

	if (s->n < SNAP_MAX)
		s->m[s->n] = *m;
	s->n++;
	return 0;
}

static void snap_take(struct iommufd_ioas *ioas, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(ioas, 0, UINT64_MAX,
						       snap_cb, s), 0);
	ck_assert_uint_le(s->n, SNAP_MAX);
	ck_assert_uint_eq(s->n, iommufd_ioas_mapping_count(ioas));
	s->pinned = iommufd_fake_pinned_bytes(fake);
	s->files = iommufd_fake_open_files(fake);
}

static void snap_assert_eq(const struct snap *a, const struct snap *b)
{
	ck_assert_uint_eq(a->n, b->n);
	ck_assert_uint_eq(a->pinned, b->pinned);
	ck_assert_uint_eq(a->files, b->files);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->m[i].iova, b->m[i].iova);
		ck_assert_uint_eq(a->m[i].length, b->m[i].length);
		ck_assert_uint_eq(a->m[i].flags, b->m[i].flags);
		ck_assert_int_eq(a->m[i].fd, b->m[i].fd);
		ck_assert_ptr_eq(a->m[i].vaddr, b->m[i].vaddr);
	}
}

/* ---- device helpers ---- */


/* A DMA by @name that must (or must not) get through: the NIC has no DMA
 * engine of its own, so the fake's does it. */
static int dev_dma(const char *name, uint64_t iova, void *buf, size_t len,
		   bool write)
{
	return iommufd_fake_device_dma(fake, name, iova, buf, len, write);
}

/* ------------------------------------------------------------------ */
/* Backend selection                                                   */

START_TEST(backend_auto_forced_env)
{
	struct iommufd_ctx *c = NULL;

	unsetenv("LIBIOMMUFD_BACKEND");
	fx_fake_up(1);

	/* 6.1: no /dev/iommu, so AUTO is type1; iommufd forced fails */
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_TYPE1);
	ck_assert(iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_TYPE1));
	ck_assert(iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_TYPE1V2));
	ck_assert(iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_UNMAP_ALL));
	ck_assert(!iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_IOAS));
	/* 6.1 tells UPDATE_VADDR only once a container has an IOMMU */
	ck_assert(!iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_UPDATE_VADDR));
	{
		struct iommufd_device *d = NULL;
		struct stat st;

		ck_assert_int_eq(iommufd_device_open(c, EDU, NULL, &d), 0);
		ck_assert(iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_UPDATE_VADDR));
		ck_assert_uint_eq(iommufd_device_id(d), 0);
		/* the context's fd: a container of its own, for probing */
		ck_assert_int_eq(iommufd_fake_fstat(fake, iommufd_ctx_fd(c), &st), 0);
		ck_assert_uint_eq(st.st_rdev, makedev(10, 196));
		iommufd_device_free(d);
	}
	iommufd_ctx_free(c);
	c = NULL;
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_IOMMUFD, &c), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_VFIO_COMPAT, &c), -ENODEV);
	ck_assert(logged("not iommufd's compat layer"));
	ck_assert_int_eq(fx_ctx_new(fake, (enum iommufd_backend)9, &c), -EINVAL);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);

	/* the environment decides AUTO only */
	setenv("LIBIOMMUFD_BACKEND", "iommufd", 1);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &c), -ENOENT);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_TYPE1, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_TYPE1);
	iommufd_ctx_free(c);
	setenv("LIBIOMMUFD_BACKEND", "bogus", 1);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &c), -EINVAL);
	ck_assert(logged("LIBIOMMUFD_BACKEND=bogus"));
	unsetenv("LIBIOMMUFD_BACKEND");
	iommufd_fake_free(fake);

	/* a current kernel: iommufd, unless told otherwise */
	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_IOMMUFD);
	ck_assert(!iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_TYPE1V2));
	iommufd_ctx_free(c);
	setenv("LIBIOMMUFD_BACKEND", "Type1", 1);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_TYPE1);
	iommufd_ctx_free(c);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_IOMMUFD, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_IOMMUFD);
	iommufd_ctx_free(c);
	unsetenv("LIBIOMMUFD_BACKEND");
	/* /dev/vfio/vfio served by iommufd: vfio-compat, forced either way */
	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
				 fake, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD), 0);
	setenv("LIBIOMMUFD_BACKEND", "vfio-compat", 1);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_VFIO_COMPAT);
	ck_assert(iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_UNMAP_ALL));
	ck_assert(!iommufd_ctx_has_feature(c, IOMMUFD_FEATURE_UPDATE_VADDR));
	iommufd_ctx_free(c);
	unsetenv("LIBIOMMUFD_BACKEND");
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_TYPE1, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_VFIO_COMPAT);
	iommufd_ctx_free(c);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	iommufd_fake_free(fake);
	fake = NULL;

	ck_assert_str_eq(iommufd_backend_name(IOMMUFD_BACKEND_AUTO), "auto");
	ck_assert_str_eq(iommufd_backend_name(IOMMUFD_BACKEND_IOMMUFD), "iommufd");
	ck_assert_str_eq(iommufd_backend_name(IOMMUFD_BACKEND_TYPE1), "type1");
	ck_assert_str_eq(iommufd_backend_name(IOMMUFD_BACKEND_VFIO_COMPAT),
			 "vfio-compat");
	ck_assert_ptr_null(iommufd_backend_name((enum iommufd_backend)4));
	ck_assert_int_eq(iommufd_ctx_backend(NULL), IOMMUFD_BACKEND_AUTO);
	ck_assert_str_eq(iommufd_feature_name(IOMMUFD_FEATURE_UNMAP_ALL),
			 "unmap_all");
	ck_assert_str_eq(iommufd_feature_name(IOMMUFD_FEATURE_TYPE1V2),
			 "type1v2");
}
END_TEST

/* A container fd handed over: a type1 context (the default fake kernel,
 * as iommufd_ctx_adopt() reaches it). */
START_TEST(adopt_container)
{
	IOMMUFD_OPTS(iommufd_ctx_opts, take, .flags = IOMMUFD_CTX_TAKE_FD);
	IOMMUFD_OPTS(iommufd_ctx_opts, want_iommufd,
		     .backend = IOMMUFD_BACKEND_IOMMUFD);
	IOMMUFD_OPTS(iommufd_ctx_opts, want_type1,
		     .backend = IOMMUFD_BACKEND_TYPE1);
	struct iommufd_fake *def;
	struct iommufd_ctx *c = NULL;
	int fd, ifd;

	setenv("LIBIOMMUFD_FAKE", "1", 1);
	def = iommufd_fake_default();
	ck_assert_ptr_nonnull(def);
	fd = iommufd_fake_open(def, "/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(iommufd_ctx_adopt(fd, &want_iommufd, &c), -ENODEV);
	ck_assert_int_eq(iommufd_ctx_adopt(fd, NULL, &c), 0);
	ck_assert_int_eq(iommufd_ctx_backend(c), IOMMUFD_BACKEND_TYPE1);
	ck_assert_int_eq(iommufd_ctx_fd(c), fd);
	iommufd_ctx_free(c);	/* not ours: stays open */
	ck_assert_int_eq(iommufd_ctx_adopt(fd, &take, &c), 0);
	iommufd_ctx_free(c);	/* ours: closed */
	ck_assert_int_eq(iommufd_fake_close(def, fd), -1);
	/* an iommufd is not a container */
	ifd = iommufd_fake_open(def, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(ifd, 0);
	ck_assert_int_eq(iommufd_ctx_adopt(ifd, &want_type1, &c), -ENODEV);
	ck_assert_int_eq(iommufd_fake_close(def, ifd), 0);
	unsetenv("LIBIOMMUFD_FAKE");
}
END_TEST

/* What type1 has not: HWPTs, options, hardware info, adopting devices. */
START_TEST(unsupported_calls)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU);
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *hwpt = (void *)1;
	struct iommufd_hw_info hw;
	struct iommufd_device *d2 = NULL;
	enum iommufd_rlimit_mode mode;
	bool huge;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, &hwpt), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_get_hw_info(edu, &hw), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_ioas_set_huge_pages(ioas, true), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_ioas_get_huge_pages(ioas, &huge), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_ctx_set_rlimit_mode(ctx, IOMMUFD_RLIMIT_PROCESS),
			 -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_ctx_get_rlimit_mode(ctx, &mode), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_adopt(ctx, iommufd_device_fd(edu), NULL,
					      &d2), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_detach_pasid(edu, 1), -EOPNOTSUPP);
	/* the VMM attach: no HWPT, the IOAS directly */
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &hwpt), 0);
	ck_assert_ptr_null(hwpt);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Deferred mappings, realized by the attach                           */

START_TEST(map_before_attach_is_realized)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu;
	struct iommufd_ioas_limits lim = { .sz = sizeof(lim) };
	struct iommufd_mapping m;
	uint8_t *a = buf_new(8 * PAGE), back[256];
	uint64_t ia = 0x100000, ib, ic;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_uint_ne(iommufd_ioas_id(ioas), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 2 * PAGE, &ia, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 2 * PAGE, 2 * PAGE, &ib,
					  MAP_RW), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 2);
	ck_assert_int_eq(iommufd_ioas_translate(ioas, ib + 8, &m), 0);
	ck_assert_ptr_eq(m.vaddr, a + 2 * PAGE);
	/* nothing in any kernel yet */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(iommufd_ioas_get_limits(ioas, &lim), 0);
	ck_assert_uint_eq(lim.flags, 0);
	ck_assert_uint_eq(lim.mappings_avail, UINT64_MAX);
	/* a misaligned map is refused now, not at the attach */
	ic = 0x300000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 1, PAGE, &ic, FIXED), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, PAGE, &ia, FIXED), -EEXIST);

	edu = open_ok_nonnull(EDU);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	ck_assert_int_eq(iommufd_ioas_get_limits(ioas, &lim), 0);
	ck_assert(lim.flags & IOMMUFD_LIMITS_KERNEL);
	ck_assert(lim.page_sizes & PAGE);
	if (compat) {
		ck_assert_uint_eq(lim.mappings_avail, UINT32_MAX);
		ck_assert(!(lim.flags & IOMMUFD_LIMITS_DIRTY_TRACKING));
	} else {
		ck_assert_uint_eq(lim.mappings_avail, 65535 - 2);
		ck_assert(lim.flags & IOMMUFD_LIMITS_DIRTY_TRACKING);
		ck_assert(lim.dirty_page_sizes & PAGE);
		ck_assert_uint_gt(lim.dirty_bitmap_max, 0);
	}
	/* the device sees what the table had */
	bus_master(edu);
	for (int i = 0; i < 256; i++)
		a[i] = (uint8_t)(i ^ 0x5a);
	edu_dma(edu, ia, 0x40000, 256, false, false);
	edu_dma(edu, ib + 128, 0x40000, 256, true, false);
	ck_assert_mem_eq(a + 2 * PAGE + 128, a, 256);
	/* and a map after the attach goes straight in */
	ic = 0x400000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 4 * PAGE, 2 * PAGE, &ic,
					  FIXED), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 6 * PAGE);
	memset(a + 4 * PAGE, 0, 256);
	edu_dma(edu, ic, 0x40000, 256, true, false);
	memcpy(back, a + 4 * PAGE, 256);
	ck_assert_mem_eq(back, a, 256);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	iommufd_device_free(edu);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 3);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 8 * PAGE);
}
END_TEST

/* IOVAs the library picks: in the ranges, out of reserved regions. */
static int no_resv_cb(const struct iommufd_mapping *m, void *data)
{
	(void)data;
	ck_assert(m->iova + m->length - 1 < MSI_START || m->iova > MSI_LAST);
	return 0;
}

START_TEST(chosen_iovas)
{
	struct iommufd_ioas *ioas;
	struct iommufd_iova_ranges *r;
	struct iommufd_iova_range allow = { 0xfed00000, 0xfeffffff };
	struct iommufd_device *edu;
	void *base;
	size_t blen;
	uint8_t *a = buf_aligned(4 << 20, 2 << 20, &base, &blen);
	uint64_t iova[6];

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	/* before any device: the default, less every group's reserved ones */
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(ioas, &r), 0);
	ck_assert_uint_eq(r->nr, 2);
	ck_assert_uint_eq(r->alignment, PAGE);
	ck_assert_uint_eq(r->range[0].start, 0);
	ck_assert_uint_eq(r->range[0].last, MSI_START - 1);
	ck_assert_uint_eq(r->range[1].start, MSI_LAST + 1);
	ck_assert_uint_eq(r->range[1].last, DEFAULT_LAST);
	free(r);
	/* lowest fit, aligned as the memory is */
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, PAGE, &iova[0], MAP_RW), 0);
	ck_assert_uint_eq(iova[0], 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + (2 << 20), 2 << 20, &iova[1],
					  MAP_RW), 0);
	ck_assert_uint_eq(iova[1], 2 << 20);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + PAGE, PAGE, &iova[2], MAP_RW),
			 0);
	ck_assert_uint_eq(iova[2], PAGE);
	/* an allow-list around the MSI window: chosen IOVAs jump it */
	ck_assert_int_eq(iommufd_ioas_allow_iovas(ioas, &allow, 1), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 1 << 20, &iova[3], MAP_RW), 0);
	ck_assert_uint_eq(iova[3], 0xfed00000);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 1 << 20, &iova[4], MAP_RW), 0);
	ck_assert_uint_eq(iova[4], 0xfef00000);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 1 << 20, &iova[5], MAP_RW),
			 -ENOSPC);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(ioas, NULL, 0), 0);
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(ioas, 0, UINT64_MAX,
						       no_resv_cb, NULL), 0);
	/* attached: the container's ranges; the replay goes through */
	edu = open_ok_nonnull(EDU);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(ioas, &r), 0);
	ck_assert_uint_ge(r->nr, 2);
	ck_assert_uint_eq(r->range[0].last, MSI_START - 1);
	ck_assert_uint_eq(r->range[1].start, MSI_LAST + 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(iommufd_ioas_map(ioas, a, PAGE, &iova[5], MAP_RW),
				 0);
		ck_assert_uint_eq(iova[5], (2 + i) * PAGE);
	}
	ck_assert_uint_le(iova[5], r->range[r->nr - 1].last);
	free(r);
	/* an allow-list the container cannot serve is refused */
	allow = (struct iommufd_iova_range){ MSI_START, MSI_START + PAGE - 1 };
	ck_assert_int_eq(iommufd_ioas_allow_iovas(ioas, &allow, 1), -EADDRINUSE);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(base, blen);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Unmap rules: iommufd's, attached or not                             */

static void four_mappings(struct iommufd_ioas *ioas, uint8_t *a)
{
	/* [1M, 1M+3P) in three adjacent mappings, and 8M alone */
	uint64_t iova;

	for (int i = 0; i < 3; i++) {
		iova = 0x100000 + (uint64_t)i * PAGE;
		ck_assert_int_eq(iommufd_ioas_map(ioas, a + i * PAGE, PAGE, &iova,
						  FIXED), 0);
	}
	iova = 0x800000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 4 * PAGE, 2 * PAGE, &iova,
					  FIXED), 0);
}

static void unmap_rules(bool attached)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu = NULL;
	uint8_t *a = buf_new(8 * PAGE);
	struct snap before, after;
	uint64_t bytes = 1;
	uint8_t v = 0x77;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	four_mappings(ioas, a);
	if (attached) {
		edu = open_ok_nonnull(EDU);
		ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
		ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 5 * PAGE);
		bus_master(edu);
	}
	snap_take(ioas, &before);
	/* a split, inside or across the end of a mapping: nothing changes */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x800000, PAGE, 0, &bytes),
			 -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x100000, 2 * PAGE + 1, 0,
					    &bytes), -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x7ff000, 2 * PAGE, 0, NULL),
			 -ENOENT);
	/* even the idempotent flag does not let a split through */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x801000, PAGE,
					    IOMMUFD_UNMAP_IDEMPOTENT, NULL),
			 -ENOENT);
	/* nothing there */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x400000, PAGE, 0, NULL),
			 -ENOENT);
	snap_take(ioas, &after);
	snap_assert_eq(&before, &after);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x400000, PAGE,
					    IOMMUFD_UNMAP_IDEMPOTENT, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	/* a range covering whole mappings, holes around them */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0xff000, 2 * PAGE + PAGE, 0,
					    &bytes), 0);
	ck_assert_uint_eq(bytes, 2 * PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 2);
	if (attached) {
		ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 3 * PAGE);
		ck_assert_int_eq(dev_dma(EDU, 0x100000, &v, 1, true), -EFAULT);
		ck_assert_int_eq(dev_dma(EDU, 0x102000, &v, 1, true), 0);
		ck_assert_uint_eq(a[2 * PAGE], 0x77);
	}
	/* everything, twice */
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, &bytes), 0);
	ck_assert_uint_eq(bytes, 3 * PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0, UINT64_MAX, 0, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	if (attached)
		ck_assert_int_eq(dev_dma(EDU, 0x800000, &v, 1, false), -EFAULT);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 8 * PAGE);
}

START_TEST(unmap_rules_detached)
{
	unmap_rules(false);
}
END_TEST

START_TEST(unmap_rules_attached)
{
	unmap_rules(true);
}
END_TEST

/*
 * A container without VFIO_UNMAP_ALL: unmap-all goes mapping by mapping.
 * The extension's CHECK_EXTENSION is failed when the group is opened: the
 * n-th call of the open that leaves the log without ", UNMAP_ALL".
 */
START_TEST(unmap_all_without_extension)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu = NULL;
	uint8_t *a = buf_new(8 * PAGE);
	unsigned long calls;
	uint64_t bytes;
	int rc = -1;

	/* a kernel before 5.13 */
	ck_assert_int_eq(iommufd_fake_hide_vfio_extension(fake, VFIO_UNMAP_ALL),
			 0);
	log_clear();
	rc = iommufd_device_open(ctx, EDU, NULL, &edu);
	ck_assert_int_eq(rc, 0);
	ck_assert(logged("container with the TYPE1v2 IOMMU"));
	ck_assert(!logged(", UNMAP_ALL"));
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	four_mappings(ioas, a);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 5 * PAGE);
	calls = iommufd_fake_call_count(fake);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, &bytes), 0);
	ck_assert_uint_eq(bytes, 5 * PAGE);
	ck_assert_uint_eq(iommufd_fake_call_count(fake) - calls, 4);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	/* one failing in the middle: the container is put back as it was */
	four_mappings(ioas, a);
	iommufd_fake_fail_nth(fake, 3, EIO);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, &bytes), -EIO);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 4);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 5 * PAGE);
	/* and the detach empties it the same way */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 4);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 8 * PAGE);
}
END_TEST

/* A TYPE1 (v1) container where TYPE1v2 is not offered. */
START_TEST(type1_v1_container)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu = NULL;
	uint8_t *a = buf_new(8 * PAGE);
	uint64_t bytes;
	int rc;

	ck_assert_int_eq(iommufd_fake_hide_vfio_extension(fake,
							  VFIO_TYPE1v2_IOMMU),
			 0);
	log_clear();
	rc = iommufd_device_open(ctx, EDU, NULL, &edu);
	ck_assert_int_eq(rc, 0);
	ck_assert(logged("container with the TYPE1 IOMMU"));
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	four_mappings(ioas, a);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	/* the library never asks v1 for a partial unmap: iommufd's rules */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x101000, PAGE, 0, &bytes), 0);
	ck_assert_uint_eq(bytes, PAGE);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x800000, PAGE, 0, NULL),
			 -ENOENT);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 8 * PAGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Copy and map_file                                                   */

START_TEST(copy_and_map_file)
{
	struct iommufd_ioas *src, *dst;
	struct iommufd_device *edu;
	struct iommufd_mapping m;
	uint8_t *a = buf_new(4 * PAGE), got[64];
	int mfd = memfd_create("t1", MFD_CLOEXEC);
	uint64_t is = 0x200000, id = 0, fi = 0x600000, fc = 0;
	uint8_t *view;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, (off_t)(4 * PAGE)), 0);
	view = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_ptr_ne(view, MAP_FAILED);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &src), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &dst), 0);
	ck_assert_int_eq(iommufd_ioas_map(src, a, 2 * PAGE, &is, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_map_file(src, mfd, PAGE, 2 * PAGE, &fi,
					       FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_translate(src, fi, &m), 0);
	ck_assert_int_eq(m.fd, mfd);
	ck_assert_uint_eq(m.offset, PAGE);
	ck_assert_ptr_null(m.vaddr);
	/* past the end of the file, misaligned */
	ck_assert_int_eq(iommufd_ioas_map_file(src, mfd, 3 * PAGE, 2 * PAGE, &fc,
					       MAP_RW), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map_file(src, mfd, 1, PAGE, &fc, MAP_RW),
			 -EINVAL);
	/* copies: exactly one source mapping, fixed or chosen */
	ck_assert_int_eq(iommufd_ioas_copy(dst, &id, src, is, PAGE, MAP_RW),
			 -ENOENT);
	ck_assert_int_eq(iommufd_ioas_copy(dst, &id, src, is, 2 * PAGE, MAP_RW), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(iommufd_ioas_copy(dst, &fc, src, fi, 2 * PAGE, MAP_RW), 0);
	ck_assert_uint_eq(fc, 2 * PAGE);
	ck_assert_int_eq(iommufd_ioas_translate(dst, fc, &m), 0);
	ck_assert_int_eq(m.fd, mfd);
	/* the source goes: the copy holds the file's memory */
	ck_assert_int_eq(iommufd_ioas_unmap_all(src, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(src), 0);
	edu = open_ok_nonnull(EDU);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, dst), 0);
	bus_master(edu);
	for (int i = 0; i < 64; i++)
		a[i] = (uint8_t)(3 * i + 1);
	edu_dma(edu, id, 0x40000, 64, false, false);
	edu_dma(edu, fc + PAGE + 16, 0x40000, 64, true, false);
	/* landed in the file, at offset PAGE + PAGE + 16 */
	ck_assert_mem_eq(view + 2 * PAGE + 16, a, 64);
	ck_assert_int_eq(pread(mfd, got, 64, (off_t)(2 * PAGE + 16)), 64);
	ck_assert_mem_eq(got, a, 64);
	ck_assert_int_eq(iommufd_ioas_unmap(dst, fc, 2 * PAGE, 0, NULL), 0);
	edu_dma(edu, fc + PAGE, 0x40000, 64, true, false);
	ck_assert_uint_eq(stats(EDU).faults, 1);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(dst), 0);
	munmap(view, 4 * PAGE);
	close(mfd);
	munmap(a, 4 * PAGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Two groups, one IOAS; detach                                        */

START_TEST(two_groups_one_ioas)
{
	struct iommufd_ioas *ioas, *other;
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	uint8_t *a = buf_new(4 * PAGE), v = 0x42;
	uint64_t iova = 0x100000, bytes;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &other), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 2 * PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, ioas), 0);
	/* each group's container pins the memory (documented) */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	bus_master(edu);
	bus_master(nic);
	ck_assert_int_eq(dev_dma(EDU, iova, &v, 1, true), 0);
	v = 0x43;
	ck_assert_int_eq(dev_dma(NIC, iova + PAGE, &v, 1, true), 0);
	ck_assert_uint_eq(a[0], 0x42);
	ck_assert_uint_eq(a[PAGE], 0x43);
	/* a map and an unmap reach both */
	iova = 0x300000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 2 * PAGE, PAGE, &iova, FIXED),
			 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 6 * PAGE);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x100000, 2 * PAGE, 0, &bytes),
			 0);
	ck_assert_uint_eq(bytes, 2 * PAGE);
	ck_assert_int_eq(dev_dma(EDU, 0x100000, &v, 1, true), -EFAULT);
	ck_assert_int_eq(dev_dma(NIC, 0x100000, &v, 1, true), -EFAULT);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	/* the edu's group leaves: its container is emptied, the NIC's not */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	ck_assert_int_eq(dev_dma(EDU, 0x300000, &v, 1, true), -EFAULT);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	/* the last one leaves: the kernel has nothing, the table keeps it */
	ck_assert_int_eq(iommufd_device_detach(nic), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 1);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), -EFAULT);
	/* attached again: realized again */
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	v = 0x44;
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	ck_assert_uint_eq(a[2 * PAGE], 0x44);
	/* a replace: the NIC's group moves to the other IOAS */
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, other), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), -EFAULT);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_destroy(other), 0);
	munmap(a, 4 * PAGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One container per IOAS: groups opened with opts->ioas               */

START_TEST(shared_container_at_open)
{
	struct iommufd_ioas *ioas, *other;
	struct iommufd_device *edu, *nic;
	struct iommufd_device_opts o = { .sz = sizeof(o) };
	uint8_t *a = buf_new(4 * PAGE), v = 0x42;
	uint64_t iova = 0x100000, bytes;
	unsigned int files;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &other), 0);
	/* mapped before any open: replayed into the container at its making */
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 2 * PAGE, &iova, FIXED), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	o.ioas = ioas;
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &o, &edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	/* the second group joins the same container: its group file and its
	 * device file are all it opens (no /dev/vfio/vfio), nothing pinned
	 * again */
	files = iommufd_fake_open_files(fake);
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, &o, &nic), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files + 2);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	/* attaching is bookkeeping: no container, no replay */
	files = iommufd_fake_open_files(fake);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	/* both devices DMA through the shared mappings */
	bus_master(edu);
	bus_master(nic);
	ck_assert_int_eq(dev_dma(EDU, 0x100000, &v, 1, true), 0);
	v = 0x43;
	ck_assert_int_eq(dev_dma(NIC, 0x100000 + PAGE, &v, 1, true), 0);
	ck_assert_uint_eq(a[0], 0x42);
	ck_assert_uint_eq(a[PAGE], 0x43);
	/* a later map goes into the one container, once */
	iova = 0x300000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 2 * PAGE, PAGE, &iova, FIXED),
			 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 3 * PAGE);
	ck_assert_int_eq(dev_dma(EDU, 0x300000, &v, 1, true), 0);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	/* an unmap reaches both */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x100000, 2 * PAGE, 0, &bytes),
			 0);
	ck_assert_uint_eq(bytes, 2 * PAGE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	ck_assert_int_eq(dev_dma(EDU, 0x100000, &v, 1, true), -EFAULT);
	ck_assert_int_eq(dev_dma(NIC, 0x100000, &v, 1, true), -EFAULT);
	/* the group is bound to the container: no other IOAS */
	log_clear();
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, other), -EBUSY);
	ck_assert(logged("cannot attach to IOAS"));
	ck_assert_int_eq(iommufd_device_attach(edu, other, 0, NULL), -EBUSY);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	/* a detach is bookkeeping too: the container keeps the IOAS */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, other), -EBUSY);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	/* the IOAS outlives no member group */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	iommufd_device_free(edu);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	ck_assert_int_eq(dev_dma(NIC, 0x300000, &v, 1, true), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);

	/* opened without opts->ioas: a container of its own, as before */
	files = iommufd_fake_open_files(fake);
	edu = open_ok_nonnull(EDU);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files + 3);
	iova = 0x100000;
	ck_assert_int_eq(iommufd_ioas_map(other, a, PAGE, &iova, FIXED), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, other), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	bus_master(edu);
	ck_assert_int_eq(dev_dma(EDU, 0x100000, &v, 1, true), 0);
	ck_assert_int_eq(dev_dma(EDU, 0x300000, &v, 1, true), -EFAULT);
	/* and onto the shared IOAS: its own container maps it too */
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	ck_assert_int_eq(dev_dma(EDU, 0x300000, &v, 1, true), 0);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);

	/* the last member goes: the shared container with it */
	iommufd_device_free(nic);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 1);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(other), 0);
	munmap(a, 4 * PAGE);
}
END_TEST

/* The kernel refuses the join: a container of the group's own (logged). */
START_TEST(shared_container_refused)
{
	struct iommufd_ioas *ioas, *other;
	struct iommufd_device *edu, *nic;
	struct iommufd_device_opts o = { .sz = sizeof(o) };
	uint8_t *a = buf_new(PAGE), v = 1;
	uint64_t iova = 0x100000;
	unsigned int files;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &other), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, PAGE, &iova, FIXED), 0);
	o.ioas = ioas;
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &o, &edu), 0);
	files = iommufd_fake_open_files(fake);
	log_clear();
	iommufd_fake_fail_ioctl(fake, VFIO_GROUP_SET_CONTAINER, EINVAL, 1);
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, &o, &nic), 0);
	iommufd_fake_fail_clear(fake);
	ck_assert(logged("cannot join the container of IOAS"));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files + 3);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	/* attached as without opts->ioas: replayed into its container */
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	bus_master(nic);
	ck_assert_int_eq(dev_dma(NIC, 0x100000, &v, 1, true), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, other), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	/* an IOAS of another context is refused */
	{
		struct iommufd_ctx *c2;
		struct iommufd_ioas *foreign;
		struct iommufd_device *d = NULL;

		ck_assert_int_eq(fx_ctx_new(fake, compat ? IOMMUFD_BACKEND_VFIO_COMPAT :
						     IOMMUFD_BACKEND_TYPE1, &c2), 0);
		ck_assert_int_eq(iommufd_ioas_new(c2, &foreign), 0);
		o.ioas = foreign;
		ck_assert_int_eq(iommufd_device_open(ctx, EDU, &o, &d), -EINVAL);
		ck_assert_ptr_null(d);
		iommufd_ctx_free(c2);
	}
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(other), 0);
	munmap(a, PAGE);
}
END_TEST

/* A second function in edu's group (1). */
static void add_group1_peer(const char *driver)
{
	struct iommufd_fake_pci_opts o = {
		.sz = sizeof(o), .bdf = "0000:00:04.1", .vendor_id = 0x8086,
		.device_id = 0x1521, .class_code = 0x020000, .iommu = "dmar0",
		.iommu_group = 1, .driver = driver,
		.bars = { [0] = { .size = 1u << 17 } },
	};

	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
}

START_TEST(group_shares_one_ioas)
{
	struct iommufd_ioas *a, *b;
	struct iommufd_device *edu, *peer;
	uint8_t *m = buf_new(PAGE), v = 1;
	uint64_t iova = 0x100000;

	add_group1_peer(NULL);
	edu = open_ok_nonnull(EDU);
	peer = open_ok_nonnull("0000:00:04.1");
	ck_assert_int_eq(iommufd_ioas_new(ctx, &a), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &b), 0);
	ck_assert_int_eq(iommufd_ioas_map(a, m, PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, a), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_attach_ioas(peer, b), -EBUSY);
	ck_assert(logged("share one IO address space"));
	ck_assert_int_eq(iommufd_device_attach_ioas(peer, a), 0);
	/* one leaves, the group stays mapped for the other */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	bus_master(peer);
	ck_assert_int_eq(dev_dma("0000:00:04.1", iova, &v, 1, true), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, b), -EBUSY);
	iommufd_device_free(peer);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, b), 0);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(a), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(b), 0);
	munmap(m, PAGE);
}
END_TEST

START_TEST(group_not_viable)
{
	struct iommufd_device *edu = NULL;

	add_group1_peer(NULL);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:00:04.1", "igb"), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, NULL, &edu), -EPERM);
	ck_assert_ptr_null(edu);
	ck_assert(logged("IOMMU group 1 is not viable: 0000:00:04.1 is bound to igb"));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 1);	/* ctx's own */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:00:04.1", ""), 0);
	edu = open_ok_nonnull(EDU);
	iommufd_device_free(edu);
	/* a device without VFIO: its group has no file */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "e1000e"), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, NULL, &edu), -ENOENT);
	ck_assert(logged("bind the device to vfio-pci"));
}
END_TEST

START_TEST(open_by_names)
{
	struct iommufd_device *d1, *d2 = NULL;
	char path[512];
	uint8_t token[16] = { 1, 2, 3 };
	IOMMUFD_OPTS(iommufd_device_opts, opts, .vf_token = token);

	d1 = open_ok_nonnull("00:04.0");
	ck_assert_str_eq(iommufd_device_pci_addr(d1), EDU);
	ck_assert_int_ge(iommufd_device_fd(d1), 0);
	/* the group's file is open once: a second device of it shares it */
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s",
		 iommufd_ctx_sysfs_root(ctx), EDU);
	ck_assert_int_eq(iommufd_device_open(ctx, path, NULL, &d2), 0);
	ck_assert_int_ne(iommufd_device_fd(d2), iommufd_device_fd(d1));
	iommufd_device_free(d2);
	iommufd_device_free(d1);
	/* a VF token for a device that is neither PF nor VF */
	log_clear();
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &opts, &d2), -EINVAL);
	ck_assert(logged("refused the VF token"));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 1);
	ck_assert_int_eq(iommufd_device_open(ctx, "0000:00:09.0", NULL, &d2),
			 -ENOENT);
}
END_TEST

/* ------------------------------------------------------------------ */
/* edu DMA, interrupts, resets                                         */

START_TEST(edu_dma_msi)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU);
	struct iommufd_ioas *ioas;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint8_t *a = buf_new(4 * PAGE), *b = a + 2 * PAGE;
	uint64_t ia = 0, ib = 0;
	struct iommufd_fake_dma_stats st;

	ck_assert_int_ge(efd, 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 2 * PAGE, &ia, MAP_RW), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, b, 2 * PAGE, &ib, MAP_RW), 0);
	ck_assert_uint_ne(ia, ib);
	for (int i = 0; i < 3000; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	bus_master(edu);
	ck_assert_uint_eq(rd32(edu, 0x00), 0x010000ed);
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 0,
						 1, &efd), 0);
	edu_dma(edu, ia, 0x40000, 3000, false, false);
	edu_dma(edu, ib + 64, 0x40000, 3000, true, true);
	ck_assert_mem_eq(b + 64, a, 3000);
	ck_assert_uint_eq(efd_read(efd), 1);
	ck_assert_uint_eq(rd32(edu, 0x24), 0x100);
	wr32(edu, 0x64, 0x100);
	st = stats(EDU);
	ck_assert_uint_eq(st.dmas, 2);
	ck_assert_uint_eq(st.faults, 0);
	/* unmapped: the IOMMU blocks it, nothing lands */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, ib, 2 * PAGE, 0, NULL), 0);
	memset(b, 0, PAGE);
	edu_dma(edu, ib, 0x40000, 64, true, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_uint_eq(st.last_fault_iova, ib);
	ck_assert(st.last_fault_write);
	ck_assert_uint_eq(b[0], 0);
	/* detached: the container is empty, so it faults */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	edu_dma(edu, ia, 0x40000, 64, false, false);
	ck_assert_uint_eq(stats(EDU).faults, 2);
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 0,
						 0, NULL), 0);
	close(efd);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 4 * PAGE);
}
END_TEST

START_TEST(function_reset)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	struct iommufd_device_info di;

	ck_assert_int_eq(iommufd_device_get_info(nic, &di), 0);
	ck_assert(di.flags & VFIO_DEVICE_FLAGS_RESET);
	ck_assert_int_eq(iommufd_device_reset(nic), 0);
	ck_assert_int_eq(iommufd_device_reset(edu), -EINVAL);
	ck_assert_int_eq(iommufd_device_hot_reset(edu), -ENODEV);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(hot_reset_by_groups)
{
	struct iommufd_device *d0, *d1, *d2;

	add_reset_peers();
	d0 = open_ok_nonnull("0000:01:00.0");
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_PCI_HOT_RESET, EIO, 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_hot_reset(d0), -EPERM);
	ck_assert(logged("0000:01:00.1 of IOMMU group 11, which this context has not opened"));
	ck_assert(logged("0000:01:00.2 of IOMMU group 12, which"));
	ck_assert(!logged("0000:01:00.3"));
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:01:00.2",
						  "vfio-pci"), 0);
	d1 = open_ok_nonnull("0000:01:00.1");
	d2 = open_ok_nonnull("0000:01:00.2");
	/* the tripwire first: the reset was asked of the kernel */
	ck_assert_int_eq(iommufd_device_hot_reset(d0), -EIO);
	iommufd_fake_fail_clear(fake);
	ck_assert_int_eq(iommufd_device_hot_reset(d0), 0);
	ck_assert_int_eq(iommufd_device_hot_reset(d2), 0);
	iommufd_device_free(d1);
	log_clear();
	ck_assert_int_eq(iommufd_device_hot_reset(d2), -EPERM);
	ck_assert(logged("IOMMU group 11"));
	iommufd_device_free(d2);
	iommufd_device_free(d0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failures                                                            */

/*
 * Fail the n-th kernel call of @op for n = 1, 2, ... until it succeeds:
 * each failure must return the injected errno and leave the table, the
 * pinned pages and the open files as they were.
 */
typedef int (*op_fn)(struct iommufd_ioas *ioas, void *arg);

static void fail_each_call(struct iommufd_ioas *ioas, op_fn op, void *arg,
			   unsigned long min_calls)
{
	struct snap before, after;
	unsigned long n;
	int rc = -1;

	for (n = 1; n < 64 && rc; n++) {
		snap_take(ioas, &before);
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = op(ioas, arg);
		iommufd_fake_fail_clear(fake);
		if (rc) {
			ck_assert_int_eq(rc, -EIO);
			snap_take(ioas, &after);
			snap_assert_eq(&before, &after);
		}
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_ge(n - 1, min_calls + 1);
}

struct fail_env {
	struct iommufd_device *edu;
	uint8_t *a;
	int mfd;
	struct iommufd_ioas *other;
};

static int op_attach(struct iommufd_ioas *ioas, void *arg)
{
	return iommufd_device_attach_ioas(((struct fail_env *)arg)->edu, ioas);
}

static int op_detach(struct iommufd_ioas *ioas, void *arg)
{
	(void)ioas;
	return iommufd_device_detach(((struct fail_env *)arg)->edu);
}

static int op_map(struct iommufd_ioas *ioas, void *arg)
{
	uint64_t iova = 0;

	return iommufd_ioas_map(ioas, ((struct fail_env *)arg)->a + 6 * PAGE,
				PAGE, &iova, MAP_RW);
}

static int op_map_file(struct iommufd_ioas *ioas, void *arg)
{
	uint64_t iova = 0x900000;

	return iommufd_ioas_map_file(ioas, ((struct fail_env *)arg)->mfd, 0,
				     PAGE, &iova, FIXED);
}

static int op_unmap(struct iommufd_ioas *ioas, void *arg)
{
	(void)arg;
	return iommufd_ioas_unmap(ioas, 0x100000, 3 * PAGE, 0, NULL);
}

static int op_unmap_all(struct iommufd_ioas *ioas, void *arg)
{
	(void)arg;
	return iommufd_ioas_unmap_all(ioas, NULL);
}

static int op_copy(struct iommufd_ioas *ioas, void *arg)
{
	uint64_t iova = 0;

	return iommufd_ioas_copy(ioas, &iova, ((struct fail_env *)arg)->other,
				 0x100000, PAGE, MAP_RW);
}

START_TEST(fail_every_kernel_call)
{
	struct fail_env fe = { 0 };
	struct iommufd_ioas *ioas;
	struct iommufd_device *dev;
	unsigned int files = iommufd_fake_open_files(fake);
	uint64_t iova = 0x100000;
	unsigned long n, calls;
	int rc;

	/* opening: everything given back on each failure (a failed
	 * CHECK_EXTENSION is a "no", and the open goes on without it) */
	calls = iommufd_fake_call_count(fake);
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, NULL, &dev), 0);
	calls = iommufd_fake_call_count(fake) - calls;
	ck_assert_uint_ge(calls, 7);	/* group, status, container, set,
					 * extension, iommu, info, fd */
	iommufd_device_free(dev);
	for (n = 1; n <= calls; n++) {
		dev = NULL;
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_device_open(ctx, EDU, NULL, &dev);
		iommufd_fake_fail_clear(fake);
		if (rc) {
			ck_assert_int_eq(rc, -EIO);
			ck_assert_ptr_null(dev);
			ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
		} else {
			iommufd_device_free(dev);
		}
	}
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, NULL, &dev), 0);
	fe.edu = dev;
	fe.a = buf_new(8 * PAGE);
	fe.mfd = memfd_create("t1", MFD_CLOEXEC);
	ck_assert_int_ge(fe.mfd, 0);
	ck_assert_int_eq(ftruncate(fe.mfd, (off_t)PAGE), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &fe.other), 0);
	four_mappings(ioas, fe.a);
	ck_assert_int_eq(iommufd_ioas_map(fe.other, fe.a, PAGE, &iova, FIXED), 0);

	/* the attach replays four mappings: a failure of any is rolled back */
	fail_each_call(ioas, op_attach, &fe, 4);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 5 * PAGE);
	fail_each_call(ioas, op_map, &fe, 1);
	fail_each_call(ioas, op_map_file, &fe, 2);
	fail_each_call(ioas, op_copy, &fe, 1);
	fail_each_call(ioas, op_unmap, &fe, 1);
	fail_each_call(ioas, op_detach, &fe, 1);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	fail_each_call(ioas, op_attach, &fe, 4);
	fail_each_call(ioas, op_unmap_all, &fe, 1);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	iommufd_device_free(fe.edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(fe.other), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	close(fe.mfd);
	munmap(fe.a, 8 * PAGE);
}
END_TEST

START_TEST(memlock_enomem)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu = open_ok_nonnull(EDU);
	uint8_t *a = buf_new(16 * PAGE);
	struct snap before, after;
	uint64_t iova = 0x100000;

	iommufd_fake_set_memlock_limit(fake, 4 * PAGE);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	/* not realized: the table takes it, the attach cannot */
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 8 * PAGE, &iova, FIXED), 0);
	snap_take(ioas, &before);
	log_clear();
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), -ENOMEM);
	ck_assert(logged("RLIMIT_MEMLOCK"));
	snap_take(ioas, &after);
	snap_assert_eq(&before, &after);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	/* smaller, then attached, then past the limit */
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	iova = 0x100000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 2 * PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	snap_take(ioas, &before);
	iova = 0x200000;
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 4 * PAGE, 4 * PAGE, &iova,
					  FIXED), -ENOMEM);
	snap_take(ioas, &after);
	snap_assert_eq(&before, &after);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 16 * PAGE);
}
END_TEST

/* vfio_iommu_type1's dma_entry_limit (VFIO's container only). */
START_TEST(dma_entry_limit)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu;
	struct iommufd_ioas_limits lim = { .sz = sizeof(lim) };
	uint8_t *a = buf_new(4 * PAGE);
	uint64_t iova;

	ck_assert_int_eq(iommufd_fake_set_vfio_dma_entry_limit(fake, 2), 0);
	edu = open_ok_nonnull(EDU);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_int_eq(iommufd_ioas_get_limits(ioas, &lim), 0);
	ck_assert_uint_eq(lim.mappings_avail, 2);
	for (int i = 0; i < 2; i++) {
		iova = 0;
		ck_assert_int_eq(iommufd_ioas_map(ioas, a + i * PAGE, PAGE, &iova,
						  MAP_RW), 0);
	}
	ck_assert_int_eq(iommufd_ioas_get_limits(ioas, &lim), 0);
	ck_assert_uint_eq(lim.mappings_avail, 0);
	log_clear();
	ck_assert_int_eq(iommufd_ioas_map(ioas, a + 2 * PAGE, PAGE, &iova,
					  MAP_RW), -ENOSPC);
	ck_assert(logged("dma_entry_limit"));
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 2);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, 4 * PAGE);
}
END_TEST

START_TEST(ctx_free_with_everything_alive)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	struct iommufd_ioas *ioas, *ioas2;
	uint8_t *a = buf_new(2 * PAGE);
	int mfd = memfd_create("t1", MFD_CLOEXEC);
	uint64_t iova = 0x100000, fi = 0;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, (off_t)PAGE), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas2), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, mfd, 0, PAGE, &fi, MAP_RW),
			 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas2, a, 2 * PAGE, &iova, MAP_RW), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(nic, ioas2), 0);
	ck_assert_uint_gt(iommufd_fake_pinned_bytes(fake), 0);
	log_clear();
	iommufd_ctx_free(ctx);
	ctx = NULL;
	ck_assert(!logged("left in the kernel"));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	close(mfd);
	munmap(a, 2 * PAGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Maps and unmaps from many threads while a device comes and goes     */

#define WORKERS 4
#define ROUNDS 150

struct worker {
	struct iommufd_ioas *ioas;
	uint8_t *mem;		/* 2 pages: one kept mapped, one churned */
	int err;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint64_t keep = 0, iova;

	if (iommufd_ioas_map(w->ioas, w->mem, PAGE, &keep, MAP_RW)) {
		w->err = 1;
		return NULL;
	}
	for (int i = 0; i < ROUNDS && !w->err; i++) {
		uint64_t bytes = 0;

		if (iommufd_ioas_map(w->ioas, w->mem + PAGE, PAGE, &iova, MAP_RW))
			w->err = 2;
		else if (iommufd_ioas_unmap(w->ioas, iova, PAGE, 0, &bytes) ||
			 bytes != PAGE)
			w->err = 3;
	}
	return NULL;
}

START_TEST(maps_race_attach)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu = open_ok_nonnull(EDU);
	struct worker w[WORKERS];
	pthread_t t[WORKERS];
	uint8_t *mem = buf_new(2 * WORKERS * PAGE);

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ ioas, mem + 2 * i * PAGE, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_fn, &w[i]), 0);
	}
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
		ck_assert_int_eq(iommufd_device_detach(edu), 0);
	}
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	for (int i = 0; i < WORKERS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(w[i].err, 0);
	}
	/* the kept pages, and nothing else, in table and kernel alike */
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), WORKERS);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), WORKERS * PAGE);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(mem, 2 * WORKERS * PAGE);
}
END_TEST

static Suite *type1_suite(void)
{
	Suite *s = suite_create("type1");
	TCase *sel = fx_tcase("selection");
	TCase *tc[2] = { fx_tcase("type1-6.1"), fx_tcase("vfio-compat") };

	tcase_add_test(sel, backend_auto_forced_env);
	tcase_add_test(sel, adopt_container);
	suite_add_tcase(s, sel);

	tcase_add_checked_fixture(tc[0], setup_legacy, teardown);
	tcase_add_checked_fixture(tc[1], setup_compat, teardown);
	for (int i = 0; i < 2; i++) {
		tcase_add_test(tc[i], unsupported_calls);
		tcase_add_test(tc[i], map_before_attach_is_realized);
		tcase_add_test(tc[i], chosen_iovas);
		tcase_add_test(tc[i], unmap_rules_detached);
		tcase_add_test(tc[i], unmap_rules_attached);
		tcase_add_test(tc[i], unmap_all_without_extension);
		tcase_add_test(tc[i], type1_v1_container);
		tcase_add_test(tc[i], copy_and_map_file);
		tcase_add_test(tc[i], two_groups_one_ioas);
		tcase_add_test(tc[i], group_shares_one_ioas);
		tcase_add_test(tc[i], shared_container_at_open);
		tcase_add_test(tc[i], shared_container_refused);
		tcase_add_test(tc[i], group_not_viable);
		tcase_add_test(tc[i], open_by_names);
		tcase_add_test(tc[i], edu_dma_msi);
		tcase_add_test(tc[i], function_reset);
		tcase_add_test(tc[i], hot_reset_by_groups);
		tcase_add_test(tc[i], fail_every_kernel_call);
		tcase_add_test(tc[i], memlock_enomem);
		tcase_add_test(tc[i], ctx_free_with_everything_alive);
		tcase_add_test(tc[i], maps_race_attach);
		suite_add_tcase(s, tc[i]);
	}
	tcase_add_test(tc[0], dma_entry_limit);
	return s;
}

int main(void)
{
	return fx_run(type1_suite());
}
