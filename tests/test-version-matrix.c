/* SPDX-License-Identifier: MIT */
/*
 * The kernel-version matrix: on a fresh fake kernel emulating each of 6.1
 * (Debian 12: VFIO type1 only), 6.2, 6.6, 6.7, 6.13, 6.14 and 6.17, every
 * public feature either works or is refused with a negative errno and a
 * log line that names what is missing (the ioctl, the feature or the
 * kernel version that brings it). A feature's first version is a kernel
 * fact (UAPI-FACTS.md, enum iommufd_feature in ctx.h), kept in the tables
 * below; a refusal the library does not explain is a failure here.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#include "fixture.h"

#define EDU "0000:00:04.0"
#define PAGE 4096ull
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define V(minor) (minor)		/* Linux 6.minor */
#define NEVER 1000u			/* never on this backend */

static const unsigned int versions[] = { 1, 2, 6, 7, 13, 14, 17 };

/* The iommufd features by the 6.x that brought them (ctx.h, UAPI-FACTS). */
static const struct {
	enum iommufd_feature f;
	unsigned int first;
} iommufd_features[] = {
	{ IOMMUFD_FEATURE_IOAS, V(2) },
	{ IOMMUFD_FEATURE_VFIO_COMPAT, V(2) },
	{ IOMMUFD_FEATURE_HWPT_ALLOC, V(6) },
	{ IOMMUFD_FEATURE_HW_INFO, V(6) },
	{ IOMMUFD_FEATURE_DIRTY_TRACKING, V(7) },
	{ IOMMUFD_FEATURE_HWPT_INVALIDATE, V(8) },
	{ IOMMUFD_FEATURE_FAULT_QUEUE, V(11) },
	{ IOMMUFD_FEATURE_IOAS_MAP_FILE, V(13) },
	{ IOMMUFD_FEATURE_VIOMMU, V(13) },
	{ IOMMUFD_FEATURE_CHANGE_PROCESS, V(14) },
	{ IOMMUFD_FEATURE_VEVENTQ, V(15) },
	{ IOMMUFD_FEATURE_PASID, V(15) },
	{ IOMMUFD_FEATURE_HW_QUEUE, V(17) },
	{ IOMMUFD_FEATURE_HW_INFO_TYPE, V(17) },
};

static struct iommufd_fake *fake;
static struct iommufd_ctx *ctx;
static unsigned int minor;

/* A refusal: a negative errno, and a log that says why (any of @why). */
static void refused(int rc, const char *call, const char *const *why)
{
	bool said = false;

	ck_assert_msg(rc < 0, "6.%u: %s should be refused, returned %d", minor,
		      call, rc);
	for (; *why && !said; why++)
		said = logged(*why);
	ck_assert_msg(said, "6.%u: %s refused (%d) without saying why; log:\n%s",
		      minor, call, rc, fx_log()->buf);
}

#define REFUSED(rc, call, ...)                                             \
	refused(rc, call, (const char *const[]){ __VA_ARGS__, NULL })

/* At versions >= @first, @rc is 0; below, a clear refusal. */
#define SINCE(first, rc_expr, ...)                                         \
	do {                                                               \
		int rc_;                                                   \
		log_clear();                                               \
		rc_ = (rc_expr);                                           \
		if (minor >= (first))                                      \
			ck_assert_msg(rc_ == 0, "6.%u: %s: %d; log:\n%s",   \
				      minor, #rc_expr, rc_, fx_log()->buf); \
		else                                                       \
			REFUSED(rc_, #rc_expr, __VA_ARGS__);               \
	} while (0)

static void up(int i)
{
	minor = versions[i];
	fx_fake_new(&fake, minor);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
	/* Before any file of the edu is open. */
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, EDU, true, 0), 0);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &ctx), 0);
}

static void down(void)
{
	iommufd_ctx_free(ctx);
	ctx = NULL;
	fx_fake_free(fake);
	fake = NULL;
}

START_TEST(features)
{
	bool type1;

	up(_i);
	type1 = iommufd_ctx_backend(ctx) == IOMMUFD_BACKEND_TYPE1;
	/* No /dev/iommu before 6.2: the same API on VFIO's type1. */
	ck_assert_int_eq(type1, minor < 2);
	if (type1)
		ck_assert(logged("trying the VFIO type1 container"));
	for (size_t k = 0; k < sizeof(iommufd_features) /
				       sizeof(iommufd_features[0]); k++) {
		bool want = !type1 && minor >= iommufd_features[k].first;

		ck_assert_msg(iommufd_ctx_has_feature(ctx, iommufd_features[k].f) ==
				      want,
			      "6.%u: feature %s", minor,
			      iommufd_feature_name(iommufd_features[k].f));
	}
	ck_assert_int_eq(iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_TYPE1V2),
			 type1);
	ck_assert_int_eq(iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_UNMAP_ALL),
			 type1);
	/* The rlimit mode is iommufd's IOMMU_OPTION (set before any object). */
	SINCE(V(2), iommufd_ctx_set_rlimit_mode(ctx, IOMMUFD_RLIMIT_USER),
	      "has no options");
	down();
}
END_TEST

START_TEST(ioas_calls)
{
	struct iommufd_ioas *ioas, *dst;
	struct iommufd_iova_range allow = { 0x100000, 0xffffffff };
	struct iommufd_iova_ranges *ranges = NULL;
	struct iommufd_mapping m;
	uint64_t iova = 0x100000, iova2 = 0, bytes = 0;
	bool huge;
	char *buf = buf_new(4 * PAGE);
	int mfd = memfd_create("matrix", MFD_CLOEXEC);

	up(_i);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 4 * PAGE), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &dst), 0);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(ioas, &allow, 1), 0);
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(ioas, &ranges), 0);
	ck_assert_uint_ge(ranges->nr, 1);
	free(ranges);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, 2 * PAGE, &iova,
					  MAP_RW | IOMMUFD_MAP_FIXED_IOVA), 0);
	ck_assert_int_eq(iommufd_ioas_translate(ioas, iova + PAGE, &m), 0);
	ck_assert_ptr_eq(m.vaddr, buf);
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova2, ioas, iova, 2 * PAGE,
					   MAP_RW), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(dst), 1);
	/* The type1 backend emulates MAP_FILE with a mapping of the file. */
	iova2 = 0;
	SINCE(minor < 2 ? V(1) : V(13),
	      iommufd_ioas_map_file(ioas, mfd, 0, 2 * PAGE, &iova2, MAP_RW),
	      "IOMMU_IOAS_MAP_FILE (6.13)");
	/* Huge pages are an iommufd IOAS option (IOMMU_OPTION, 6.2). */
	SINCE(V(2), iommufd_ioas_set_huge_pages(ioas, false), "has no options");
	SINCE(V(2), iommufd_ioas_get_huge_pages(ioas, &huge), "has no options");
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, iova, 2 * PAGE, 0, &bytes), 0);
	ck_assert_uint_eq(bytes, 2 * PAGE);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_unmap_all(dst, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(dst), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	close(mfd);
	down();
	munmap(buf, 4 * PAGE);
}
END_TEST

START_TEST(device_calls)
{
	struct iommufd_ioas *ioas;
	struct iommufd_device *edu;
	struct iommufd_hwpt *h = NULL, *hd = NULL, *hp = NULL;
	struct iommufd_hw_info hi;
	struct iommufd_ioas_limits lim = { .sz = sizeof(lim) };
	struct iommufd_dirty_bitmap *bm;
	char *buf = buf_new(4 * PAGE);
	uint64_t iova = 0x100000;
	uint8_t data[64] = { 1 };
	bool type1;
	int rc;

	up(_i);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, 4 * PAGE, &iova,
					  MAP_RW | IOMMUFD_MAP_FIXED_IOVA), 0);
	/* Device files (VFIO cdevs) came in 6.6; before, iommufd has no way
	 * to a device: the group and a container (type1 backend) do. */
	log_clear();
	rc = iommufd_device_open(ctx, EDU, NULL, &edu);
	if (minor >= 2 && minor < 6) {
		REFUSED(rc, "iommufd_device_open", "CONFIG_VFIO_DEVICE_CDEV (Linux 6.6), use its VFIO group");
		ck_assert_int_eq(rc, -ENODEV);
		ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
		iommufd_ctx_free(ctx);
		ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_TYPE1, &ctx),
				 0);
		ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
		ck_assert_int_eq(iommufd_ioas_map(ioas, buf, 4 * PAGE, &iova,
						  MAP_RW |
							  IOMMUFD_MAP_FIXED_IOVA),
				 0);
		rc = iommufd_device_open(ctx, EDU, NULL, &edu);
	}
	ck_assert_int_eq(rc, 0);
	type1 = iommufd_ctx_backend(ctx) == IOMMUFD_BACKEND_TYPE1;

	SINCE(type1 ? NEVER : V(6), iommufd_device_get_hw_info(edu, &hi),
	      "IOMMU_GET_HW_INFO");
	SINCE(type1 ? NEVER : V(6), iommufd_hwpt_new(edu, ioas, 0, &h),
	      "has no HWPTs");
	SINCE(type1 ? NEVER : V(15),
	      iommufd_hwpt_new(edu, ioas, IOMMUFD_HWPT_PASID, &hp),
	      "has no HWPTs", "PASID-capable HWPTs need Linux 6.15");
	if (hp)
		ck_assert_int_eq(iommufd_hwpt_destroy(hp), 0);
	/* Dirty tracking is a wish at attach: granted from 6.7, and said
	 * when it is not. */
	log_clear();
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &hd), 0);
	if (type1)
		ck_assert(logged("has no HWPTs: attached without IOMMU dirty tracking"));
	else if (minor < 7)
		ck_assert(logged("cannot track dirty pages (Linux 6.7)"));
	else
		ck_assert(iommufd_hwpt_flags(hd) & IOMMUFD_HWPT_DIRTY_TRACKING);
	/* A container tracks every pinned page; iommufd needs 6.7. */
	SINCE(type1 ? V(1) : V(7), iommufd_ioas_set_dirty_tracking(ioas, true),
	      "IOMMU_HWPT_SET_DIRTY_TRACKING, Linux 6.7");
	bus_master(edu);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, EDU, iova + PAGE, data,
						 sizeof(data), true), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_new(iova, 4 * PAGE, PAGE, &bm),
			 0);
	if (type1 || minor >= 7) {
		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, iova,
							 4 * PAGE, NULL), 0);
		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, iova + PAGE,
							   PAGE), 1);
		ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false),
				 0);
	}
	iommufd_dirty_bitmap_free(bm);
	/* Device DMA logging (VFIO DEVICE_FEATURE, 6.2). */
	SINCE(V(2), iommufd_device_dma_logging_probe(edu), "cannot log DMA");
	/* Limits: the type1 container's IOMMU_GET_INFO; iommufd has none. */
	SINCE(type1 ? V(1) : NEVER, iommufd_ioas_get_limits(ioas, &lim),
	      "reports no limits");
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	if (h)
		ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	printf("version-matrix: 6.%u: devices on the %s backend\n", minor,
	       iommufd_backend_name(iommufd_ctx_backend(ctx)));
	down();
	munmap(buf, 4 * PAGE);
}
END_TEST

START_TEST(discovery)
{
	IOMMUFD_OPTS(iommufd_discover_opts, o);
	struct iommufd_vfio_device_info *devs = NULL;
	size_t nr = 0;

	up(_i);
	o.sysfs_root = iommufd_ctx_sysfs_root(ctx);
	ck_assert_ptr_nonnull(o.sysfs_root);
	ck_assert_int_eq(iommufd_discover_devices(&o, &devs, &nr), 0);
	ck_assert_uint_ge(nr, 2);
	iommufd_vfio_device_info_free(devs, nr);
	down();
}
END_TEST

static Suite *matrix_suite(void)
{
	Suite *s = suite_create("version-matrix");
	int n = (int)(sizeof(versions) / sizeof(versions[0]));
	TCase *tc = fx_tcase("matrix");

	tcase_add_loop_test(tc, features, 0, n);
	tcase_add_loop_test(tc, ioas_calls, 0, n);
	tcase_add_loop_test(tc, device_calls, 0, n);
	tcase_add_loop_test(tc, discovery, 0, n);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(matrix_suite());
}
