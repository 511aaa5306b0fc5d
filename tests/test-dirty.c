/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking on the fake kernel (tracking.h): IOMMU tracking switched
 * on and off over every HWPT of an IOAS, rolled back when the kernel fails
 * one; reads that clear or not, over windows that cross the chunks the
 * library splits them into, at the bitmap's page size and finer;
 * -EOPNOTSUPP for a HWPT or domain that cannot track; the range collapse
 * (against a quadratic reference); device DMA logging started over more
 * than 256 mappings, its ranges covering every mapping, its reports with
 * the IOVAs outside them dirty; the tracker giving one view of edu (IOMMU),
 * the NIC (DMA logging) and an emulated device (everything); and failure of
 * every kernel call leaving the state as it was.
 *
 * The machine: the default one (edu behind dmar0 with dirty tracking, the
 * NIC behind dmar1 without, an mdev), the NIC's driver able to log DMA, and
 * a second edu behind dmar0.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#define FIXTURE_GLOBALS
#include "fixture.h"

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define EDU2 "0000:00:07.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define FIXED (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE | IOMMUFD_MAP_FIXED_IOVA)
#define BASE (UINT64_C(1) << 30)
#define NPAGES 512

static uint8_t *buf;		/* NPAGES pages, mapped wherever needed */

static void setup_version(unsigned int minor)
{
	fx_fake_up(minor);
	ck_assert_int_eq(iommufd_fake_add_edu(fake, EDU2, "dmar0", 8), 0);
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, true, 0), 0);
	buf = buf_new(NPAGES * PAGE);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &ctx), 0);
}

static void setup(void)
{
	setup_version(0);
}

static void setup_6_6(void)
{
	setup_version(6);
}

/* Debian 12's 6.1: no iommufd, the type1 backend. */
static void setup_6_1(void)
{
	setup_version(1);
	ck_assert_int_eq(iommufd_ctx_backend(ctx), IOMMUFD_BACKEND_TYPE1);
}

/* iommufd's /dev/vfio/vfio, through the type1 backend. */
static void setup_compat(void)
{
	setup_version(0);
	iommufd_ctx_free(ctx);
	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
				 fake, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD), 0);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_VFIO_COMPAT, &ctx),
			 0);
}

static void teardown(void)
{
	fx_ctx_down();
	ck_assert(!logged("left in the kernel"));
	fx_fake_down();
	munmap(buf, NPAGES * PAGE);
}

/* ---- helpers ---- */

/* Map @npages pages of buf (from page @off) at page @at after BASE. */
static void map_pages(struct iommufd_ioas *ioas, uint64_t at, uint64_t npages,
		      uint64_t off)
{
	uint64_t iova = BASE + at * PAGE;

	ck_assert_uint_le(off + npages, NPAGES);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf + off * PAGE, npages * PAGE,
					  &iova, FIXED), 0);
}

/* The device writes @len bytes at page @page + @off of BASE. */
static void dev_write(const char *name, uint64_t page, uint64_t off,
		      size_t len)
{
	static uint8_t data[65536];

	ck_assert_uint_le(len, sizeof(data));
	ck_assert_int_eq(iommufd_fake_device_dma(fake, name,
						 BASE + page * PAGE + off, data,
						 len, true), 0);
}

static struct iommufd_dirty_bitmap *bitmap(uint64_t first_page,
					   uint64_t npages, uint64_t ps)
{
	struct iommufd_dirty_bitmap *bm = NULL;

	ck_assert_int_eq(iommufd_dirty_bitmap_new(BASE + first_page * PAGE,
						  npages * PAGE, ps, &bm), 0);
	return bm;
}

/* @bm (of PAGE pages over [first, first + n)) is dirty at exactly the
 * pages for which @want says so. */
static void expect_pages(const struct iommufd_dirty_bitmap *bm,
			 uint64_t first, uint64_t n,
			 bool (*want)(uint64_t page, void *arg), void *arg)
{
	uint64_t count = 0;

	for (uint64_t p = first; p < first + n; p++) {
		int t = iommufd_dirty_bitmap_test(bm, BASE + p * PAGE, PAGE);

		ck_assert_int_ge(t, 0);
		if (t != (int)want(p, arg))
			ck_abort_msg("page %llu: dirty %d, expected %d",
				     (unsigned long long)p, t, !t);
		count += (uint64_t)t;
	}
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), count);
}

struct page_set {
	const uint64_t *p;
	size_t n;
	uint64_t lo, hi;	/* only pages in [lo, hi) */
};

static bool in_set(uint64_t page, void *arg)
{
	const struct page_set *s = arg;

	if (page < s->lo || page >= s->hi)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i] == page)
			return true;
	return false;
}

static bool none(uint64_t page, void *arg)
{
	(void)page;
	(void)arg;
	return false;
}

static struct iommufd_dirty_read_opts read_opts(uint32_t flags,
						uint64_t max_bytes)
{
	struct iommufd_dirty_read_opts o = {
		.sz = sizeof(o), .flags = flags, .max_bitmap_bytes = max_bytes,
	};

	return o;
}

/* Raw IOMMU_HWPT_GET_DIRTY_BITMAP (NO_CLEAR) of one word at BASE. */
static uint64_t raw_dirty_word(uint32_t hwpt_id)
{
	uint64_t word = 0;
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt_id,
		.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, .iova = BASE,
		.length = 64 * PAGE, .page_size = PAGE,
		.data = (uintptr_t)&word,
	};

	ck_assert_int_eq(iommufd_fake_ioctl(fake, iommufd_ctx_fd(ctx),
					    IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd),
			 0);
	return word;
}

/* edu attached with dirty tracking to a new IOAS mapping pages [0, n). */
static struct iommufd_device *edu_tracked(struct iommufd_ioas **ioas,
					  struct iommufd_hwpt **hwpt,
					  uint64_t n)
{
	struct iommufd_device *edu = open_ok(EDU);

	*ioas = ioas_ok();
	map_pages(*ioas, 0, n, 0);
	ck_assert_int_eq(iommufd_device_attach(edu, *ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       hwpt), 0);
	ck_assert_ptr_nonnull(*hwpt);
	ck_assert_uint_eq(iommufd_hwpt_flags(*hwpt) & IOMMUFD_HWPT_DIRTY_TRACKING,
			  IOMMUFD_HWPT_DIRTY_TRACKING);
	bus_master(edu);
	return edu;
}

/* ------------------------------------------------------------------ */
/* IOMMU dirty tracking                                                */

START_TEST(iommu_read_clear_and_no_clear)
{
	static const uint64_t pages[] = { 1, 5, 6, 63 };
	struct page_set all = { pages, 4, 0, 64 }, mid = { pages, 4, 2, 10 },
			rest = { pages, 4, 0, 64 };
	struct iommufd_dirty_read_opts nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 0);
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *h;
	struct iommufd_device *edu = edu_tracked(&ioas, &h, 64);
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	static const uint64_t rest_pages[] = { 1, 63 };

	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h));
	/* off: a read is refused, not silently empty */
	ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE, 64 * PAGE, NULL),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), -EOPNOTSUPP);
	ck_assert(logged("whose dirty tracking is off"));

	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h));
	dev_write(EDU, 1, 0, 8);
	dev_write(EDU, 5, PAGE - 4, 8);		/* pages 5 and 6 */
	dev_write(EDU, 63, PAGE - 1, 1);

	/* NO_CLEAR twice: the same answer */
	for (int i = 0; i < 2; i++) {
		iommufd_dirty_bitmap_clear_all(bm);
		ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE,
							 64 * PAGE, &nc), 0);
		expect_pages(bm, 0, 64, in_set, &all);
	}
	/* a window clears only itself */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE + 2 * PAGE,
						 8 * PAGE, NULL), 0);
	expect_pages(bm, 0, 64, in_set, &mid);
	iommufd_dirty_bitmap_clear_all(bm);
	rest.p = rest_pages;
	rest.n = 2;
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	expect_pages(bm, 0, 64, in_set, &rest);
	/* cleared */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	expect_pages(bm, 0, 64, none, NULL);

	/* the bitmap ORs: a page set before stays */
	ck_assert_int_eq(iommufd_dirty_bitmap_set(bm, BASE + 9 * PAGE, 1), 0);
	dev_write(EDU, 10, 0, 1);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 2);

	/* window and option errors */
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE - PAGE,
						 2 * PAGE, NULL), -ERANGE);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 65 * PAGE,
						 NULL), -ERANGE);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, UINT64_MAX, 2,
						 NULL), -EOVERFLOW);
	{
		struct iommufd_dirty_read_opts bad = read_opts(4, 0);

		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, PAGE,
							 &bad), -EINVAL);
		bad = read_opts(0, 12);
		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, PAGE,
							 &bad), -EINVAL);
	}

	/* enabling again keeps the dirty bits (the kernel would clear) */
	dev_write(EDU, 20, 0, 1);
	{
		unsigned long calls = iommufd_fake_call_count(fake);

		ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
		ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(h, true), 0);
		ck_assert_uint_eq(iommufd_fake_call_count(fake), calls);
	}
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + 20 * PAGE, 1), 1);

	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), 0);
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE, PAGE, NULL),
			 -EINVAL);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/*
 * Runs [0, 300) (three adjacent mappings) and [311, 400) (after a hole),
 * dirty pages around every 64-page boundary; windows and per-call bounds
 * such that calls start on and off bitmap words, cross mappings and end
 * mid-word. NO_CLEAR reads must all give the dirty pages of the window.
 */
static const uint64_t edge_pages[] = {
	0, 1, 62, 63, 64, 65, 127, 128, 191, 192, 199, 200, 255, 256, 298,
	299, 311, 312, 373, 374, 398, 399,
};

START_TEST(iommu_windows_cross_chunks)
{
	static const struct { uint64_t a, b; } windows[] = {
		{ 0, 400 }, { 1, 399 }, { 5, 305 }, { 63, 65 }, { 64, 128 },
		{ 130, 390 }, { 299, 312 }, { 300, 311 }, { 0, 1 },
	};
	static const uint64_t bounds[] = { 8, 16, 24, 40, 0 };
	struct iommufd_dirty_read_opts nc;
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = NULL;

	map_pages(ioas, 0, 100, 0);
	map_pages(ioas, 100, 100, 100);
	map_pages(ioas, 200, 100, 200);
	map_pages(ioas, 311, 89, 300);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	bus_master(edu);
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(h, true), 0);
	for (size_t i = 0; i < sizeof(edge_pages) / sizeof(edge_pages[0]); i++)
		dev_write(EDU, edge_pages[i], 0, 1);

	for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
		nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, bounds[b]);
		for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]);
		     w++) {
			uint64_t a = windows[w].a, z = windows[w].b;
			struct page_set want = {
				edge_pages,
				sizeof(edge_pages) / sizeof(edge_pages[0]),
				a, z,
			};
			/* a bitmap of the whole space, and one of just the
			 * window: calls land on and off its words */
			struct iommufd_dirty_bitmap *whole = bitmap(0, 400, PAGE);
			struct iommufd_dirty_bitmap *just = bitmap(a, z - a, PAGE);

			ck_assert_int_eq(iommufd_hwpt_read_dirty(h, whole,
								 BASE + a * PAGE,
								 (z - a) * PAGE,
								 &nc), 0);
			expect_pages(whole, 0, 400, in_set, &want);
			ck_assert_int_eq(iommufd_hwpt_read_dirty(h, just,
								 BASE + a * PAGE,
								 (z - a) * PAGE,
								 &nc), 0);
			expect_pages(just, a, z - a, in_set, &want);
			iommufd_dirty_bitmap_free(whole);
			iommufd_dirty_bitmap_free(just);
		}
	}

	/* 8 bytes a call: [0, 300) in 5 calls of up to 64 pages, [311, 400)
	 * from page 311 (bit 55 of a word) in 3: 9 pages to the word's end,
	 * then 64, then 16. */
	{
		struct iommufd_dirty_bitmap *bm = bitmap(0, 400, PAGE);
		unsigned long calls = iommufd_fake_call_count(fake);

		nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 8);
		ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE,
							 400 * PAGE, &nc), 0);
		ck_assert_uint_eq(iommufd_fake_call_count(fake) - calls, 8);
		iommufd_dirty_bitmap_free(bm);
	}

	/* Coarser bitmap pages (2 and 8 of the IOMMU's): a page is dirty when
	 * any 4 KiB page in it is; [311, 400) starts mid-page and is read at
	 * the IOMMU's size. */
	for (uint64_t mult = 2; mult <= 8; mult *= 4) {
		struct iommufd_dirty_bitmap *bm = NULL;

		ck_assert_int_eq(iommufd_dirty_bitmap_new(BASE, 400 * PAGE,
							  mult * PAGE, &bm), 0);
		nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 8);
		ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE,
							 400 * PAGE, &nc), 0);
		for (uint64_t p = 0; p < 400; p += mult) {
			bool want = false;

			for (size_t i = 0;
			     i < sizeof(edge_pages) / sizeof(edge_pages[0]); i++)
				want |= edge_pages[i] / mult == p / mult;
			ck_assert_int_eq(iommufd_dirty_bitmap_test(
						 bm, BASE + p * PAGE, 1),
					 want);
		}
		iommufd_dirty_bitmap_free(bm);
	}

	/* A clearing read in small chunks clears exactly what it reported. */
	{
		struct iommufd_dirty_bitmap *bm = bitmap(0, 400, PAGE);
		struct iommufd_dirty_read_opts c = read_opts(0, 8);
		struct page_set want = {
			edge_pages, sizeof(edge_pages) / sizeof(edge_pages[0]),
			0, 400,
		};

		ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE + 5 * PAGE,
							 300 * PAGE, &c), 0);
		iommufd_dirty_bitmap_clear_all(bm);
		ck_assert_int_eq(iommufd_hwpt_read_dirty(h, bm, BASE,
							 400 * PAGE, &c), 0);
		for (uint64_t p = 0; p < 400; p++)
			ck_assert_int_eq(iommufd_dirty_bitmap_test(
						 bm, BASE + p * PAGE, 1),
					 in_set(p, &want) &&
						 (p < 5 || p >= 305));
		iommufd_dirty_bitmap_free(bm);
	}
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

START_TEST(iommu_without_tracking)
{
	struct iommufd_device *nic = open_ok(NIC), *edu = open_ok(EDU);
	struct iommufd_device *mdev = open_ok(MDEV);
	struct iommufd_ioas *ioas = ioas_ok(), *other = ioas_ok();
	struct iommufd_hwpt *hn = NULL, *he = NULL, *plain = NULL;
	struct iommufd_dirty_bitmap *bm = bitmap(0, 16, PAGE);

	map_pages(ioas, 0, 16, 0);
	/* dmar1 cannot track: the NIC gets a HWPT without */
	ck_assert_int_eq(iommufd_device_attach(nic, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &hn), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(hn) & IOMMUFD_HWPT_DIRTY_TRACKING,
			  0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &he), 0);
	ck_assert_int_eq(iommufd_device_attach(mdev, ioas, 0, NULL), 0);

	log_clear();
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(hn, true), -EOPNOTSUPP);
	ck_assert(logged("without IOMMUFD_HWPT_DIRTY_TRACKING"));
	ck_assert_int_eq(iommufd_hwpt_read_dirty(hn, bm, BASE, PAGE, NULL),
			 -EOPNOTSUPP);
	/* all or nothing: edu's HWPT is not switched either */
	log_clear();
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true),
			 -EOPNOTSUPP);
	ck_assert(logged(NIC));
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(he));
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(he, true), 0);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, PAGE, NULL),
			 -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_hwpt_read_dirty(he, bm, BASE, PAGE, NULL), 0);

	/* without the NIC, the emulated device does not count */
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, PAGE, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), 0);

	/* a HWPT made without the flag, on an IOMMU that could track */
	ck_assert_int_eq(iommufd_hwpt_new(edu, other, 0, &plain), 0);
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(plain, true),
			 -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu, plain), 0);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(other, true),
			 -EOPNOTSUPP);
	/* the kernel's own domain */
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, other), 0);
	log_clear();
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(other, true),
			 -EOPNOTSUPP);
	ck_assert(logged("kernel's own domain"));
	/* disabling never needs every device tracked */
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(other, false), 0);

	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(NULL, true), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(NULL, true), -EINVAL);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(edu);
	iommufd_device_free(mdev);
	ck_assert_int_eq(iommufd_hwpt_destroy(plain), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(other), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

START_TEST(iommu_before_6_7)
{
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = NULL;

	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	log_clear();
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true),
			 -EOPNOTSUPP);
	ck_assert(logged("Linux 6.7"));
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(h, true), -EOPNOTSUPP);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* Two dirty-tracking HWPTs over one IOAS; the kernel fails the second
 * switch: the first is switched back, in the library and in the kernel. */
START_TEST(iommu_ioas_rollback)
{
	struct iommufd_device *edu = open_ok(EDU), *edu2 = open_ok(EDU2);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h1 = NULL, *h2 = NULL;
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	unsigned long calls;

	map_pages(ioas, 0, 64, 0);
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas,
					  IOMMUFD_HWPT_DIRTY_TRACKING, &h1), 0);
	ck_assert_int_eq(iommufd_hwpt_new(edu2, ioas,
					  IOMMUFD_HWPT_DIRTY_TRACKING, &h2), 0);
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu, h1), 0);
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu2, h2), 0);
	bus_master(edu);
	bus_master(edu2);

	/* enable: the 2nd call fails, the 3rd switches h1 back off */
	calls = iommufd_fake_call_count(fake);
	iommufd_fake_fail_nth(fake, 2, EIO);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), -EIO);
	ck_assert_uint_eq(iommufd_fake_call_count(fake) - calls, 3);
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h1));
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h2));
	dev_write(EDU, 3, 0, 1);
	ck_assert_uint_eq(raw_dirty_word(iommufd_hwpt_id(h1)), 0);
	/* and the first call failing changes nothing at all */
	iommufd_fake_fail_nth(fake, 1, EIO);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), -EIO);
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h1));

	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h1));
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h2));
	/* each HWPT sees its own device; the IOAS read ORs both */
	dev_write(EDU, 3, 0, 1);
	dev_write(EDU2, 9, 0, 1);
	ck_assert_uint_eq(raw_dirty_word(iommufd_hwpt_id(h1)), 1u << 3);
	ck_assert_uint_eq(raw_dirty_word(iommufd_hwpt_id(h2)), 1u << 9);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 2);
	/* a read failing in the second HWPT: the first's pages are in */
	iommufd_dirty_bitmap_clear_all(bm);
	dev_write(EDU, 3, 0, 1);
	dev_write(EDU2, 9, 0, 1);
	iommufd_fake_fail_nth(fake, 2, EIO);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), -EIO);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + 3 * PAGE, 1), 1);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 2);

	/* disable: the 2nd call fails, h1 is switched back on */
	iommufd_fake_fail_nth(fake, 2, EIO);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), -EIO);
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h1));
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h2));
	dev_write(EDU, 4, 0, 1);
	ck_assert_uint_eq(raw_dirty_word(iommufd_hwpt_id(h1)), 1u << 4);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), 0);
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h1));
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h2));

	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(edu);
	iommufd_device_free(edu2);
	ck_assert_int_eq(iommufd_hwpt_destroy(h1), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(h2), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Collapsing ranges                                                   */

/* The kernel's way: while too many, join the first pair with the smallest
 * gap. O(n * (n - max)). */
static size_t collapse_ref(struct iommufd_iova_range *r, size_t n, size_t max)
{
	while (n > max) {
		uint64_t best = UINT64_MAX;
		size_t at = 1;

		for (size_t i = 1; i < n; i++) {
			uint64_t gap = r[i].start - r[i - 1].last - 1;

			if (gap < best) {
				best = gap;
				at = i;
			}
		}
		r[at - 1].last = r[at].last;
		memmove(&r[at], &r[at + 1], (n - at - 1) * sizeof(*r));
		n--;
	}
	return n;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(collapse_matches_reference)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 300; round++) {
		size_t n = 1 + rnd(&seed) % 600, max = 1 + rnd(&seed) % 300;
		struct iommufd_iova_range *in = calloc(n, sizeof(*in));
		struct iommufd_iova_range *ref = calloc(n, sizeof(*ref));
		struct iommufd_iova_range *out = calloc(n, sizeof(*out));
		uint64_t at = rnd(&seed) % 4096;
		/* few distinct gaps: many ties */
		uint64_t spread = round % 3 ? 1 + rnd(&seed) % 8 : 1u << 20;
		size_t nout = 0, nref;

		for (size_t i = 0; i < n; i++) {
			in[i].start = at;
			in[i].last = at + rnd(&seed) % 64;
			at = in[i].last + 2 + rnd(&seed) % spread;
		}
		memcpy(ref, in, n * sizeof(*in));
		nref = collapse_ref(ref, n, max);
		ck_assert_int_eq(iommufd_collapse_ranges(in, n, max, out, &nout),
				 0);
		ck_assert_uint_eq(nout, nref);
		ck_assert_mem_eq(out, ref, nout * sizeof(*out));
		/* in place */
		ck_assert_int_eq(iommufd_collapse_ranges(in, n, max, in, &nout),
				 0);
		ck_assert_uint_eq(nout, nref);
		ck_assert_mem_eq(in, ref, nout * sizeof(*in));
		free(in);
		free(ref);
		free(out);
	}
}
END_TEST

START_TEST(collapse_normalises)
{
	/* unsorted, overlapping, touching, duplicated, at the top */
	struct iommufd_iova_range in[] = {
		{ 100, 199 }, { 0, 9 }, { 10, 19 }, { 150, 300 },
		{ 1000, 1000 }, { 0, 9 }, { UINT64_MAX - 9, UINT64_MAX },
		{ UINT64_MAX - 20, UINT64_MAX - 10 }, { 500, 599 },
	};
	struct iommufd_iova_range out[9];
	size_t n = 0;

	ck_assert_int_eq(iommufd_collapse_ranges(in, 9, 9, out, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(out[0].start, 0);
	ck_assert_uint_eq(out[0].last, 19);
	ck_assert_uint_eq(out[1].start, 100);
	ck_assert_uint_eq(out[1].last, 300);
	ck_assert_uint_eq(out[2].start, 500);
	ck_assert_uint_eq(out[3].start, 1000);
	ck_assert_uint_eq(out[4].start, UINT64_MAX - 20);
	ck_assert_uint_eq(out[4].last, UINT64_MAX);
	/* to 2: the gaps 80, 199, 400 go before the huge one */
	ck_assert_int_eq(iommufd_collapse_ranges(in, 9, 2, out, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].start, 0);
	ck_assert_uint_eq(out[0].last, 1000);
	ck_assert_uint_eq(out[1].start, UINT64_MAX - 20);
	/* to 1: everything */
	ck_assert_int_eq(iommufd_collapse_ranges(in, 9, 1, out, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].start, 0);
	ck_assert_uint_eq(out[0].last, UINT64_MAX);
	/* ties: the lowest pair first */
	{
		struct iommufd_iova_range t[] = {
			{ 0, 0 }, { 2, 2 }, { 4, 4 }, { 6, 6 },
		};

		ck_assert_int_eq(iommufd_collapse_ranges(t, 4, 3, t, &n), 0);
		ck_assert_uint_eq(n, 3);
		ck_assert_uint_eq(t[0].last, 2);
		ck_assert_uint_eq(t[1].start, 4);
	}
	/* errors */
	ck_assert_int_eq(iommufd_collapse_ranges(NULL, 0, 0, NULL, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(iommufd_collapse_ranges(in, 9, 0, out, &n), -EINVAL);
	ck_assert_int_eq(iommufd_collapse_ranges(in, 9, 2, out, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_collapse_ranges(NULL, 9, 2, out, &n), -EINVAL);
	in[3].start = 400;
	ck_assert_int_eq(iommufd_collapse_ranges(in, 9, 2, out, &n), -EINVAL);
}
END_TEST

START_TEST(collapse_large)
{
	size_t n = 1u << 20;
	struct iommufd_iova_range *r = malloc(n * sizeof(*r));
	uint64_t seed = 42, at = 0, covered = 0;
	size_t nout = 0;

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < n; i++) {
		r[i].start = at;
		r[i].last = at + 4095;
		at += 4096 * (2 + rnd(&seed) % 1000);
	}
	ck_assert_int_eq(iommufd_collapse_ranges(r, n, 256, r, &nout), 0);
	ck_assert_uint_eq(nout, 256);
	for (size_t i = 0; i < nout; i++) {
		ck_assert_uint_le(r[i].start, r[i].last);
		if (i)
			ck_assert_uint_gt(r[i].start, r[i - 1].last + 1);
		covered += r[i].last - r[i].start + 1;
	}
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_le(covered, at);
	free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Device DMA logging                                                  */

static bool covered_by(const struct iommufd_iova_range *r, size_t n,
		       uint64_t first, uint64_t last)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].start <= first && last <= r[i].last)
			return true;
	return false;
}

START_TEST(logging_probe_start_stop)
{
	struct iommufd_device *nic = open_ok(NIC), *edu = open_ok(EDU);
	struct iommufd_device *mdev = open_ok(MDEV);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_iova_range r[4];
	size_t nr = 4;
	uint64_t ps = 0;
	IOMMUFD_OPTS(iommufd_dma_logging_opts, big, .page_size = 1u << 21);

	ck_assert_int_eq(iommufd_device_dma_logging_probe(nic), 0);
	ck_assert_int_eq(iommufd_device_dma_logging_probe(edu), -ENOTTY);
	ck_assert_int_eq(iommufd_device_dma_logging_probe(mdev), -ENOTTY);
	/* not attached, nothing given */
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	/* attached to an empty IOAS */
	log_clear();
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, NULL), -EINVAL);
	ck_assert(logged("nothing to track"));
	map_pages(ioas, 0, 4, 0);
	map_pages(ioas, 4, 4, 4);	/* adjacent: one range */
	map_pages(ioas, 100, 1, 8);
	ck_assert(!iommufd_device_dma_logging_active(nic));
	ck_assert_int_eq(iommufd_device_dma_logging_ranges(nic, r, &nr, &ps),
			 -EINVAL);
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, NULL), 0);
	ck_assert(iommufd_device_dma_logging_active(nic));
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, NULL), -EBUSY);
	nr = 1;
	ck_assert_int_eq(iommufd_device_dma_logging_ranges(nic, r, &nr, &ps),
			 -ENOSPC);
	ck_assert_uint_eq(nr, 2);
	ck_assert_int_eq(iommufd_device_dma_logging_ranges(nic, r, &nr, &ps),
			 0);
	ck_assert_uint_eq(r[0].start, BASE);
	ck_assert_uint_eq(r[0].last, BASE + 8 * PAGE - 1);
	ck_assert_uint_eq(r[1].start, BASE + 100 * PAGE);
	ck_assert_uint_eq(r[1].last, BASE + 101 * PAGE - 1);
	ck_assert_uint_eq(ps, PAGE);
	ck_assert_int_eq(iommufd_device_dma_logging_stop(nic), 0);
	ck_assert(!iommufd_device_dma_logging_active(nic));
	ck_assert_int_eq(iommufd_device_dma_logging_stop(nic), 0);
	/* edu's driver cannot */
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_dma_logging_start(edu, NULL), -ENOTTY);
	ck_assert(logged("cannot log DMA"));
	/* a coarser granule rounds the ranges out */
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, &big), 0);
	nr = 4;
	ck_assert_int_eq(iommufd_device_dma_logging_ranges(nic, r, &nr, &ps),
			 0);
	ck_assert_uint_eq(nr, 1);
	ck_assert_uint_eq(ps, 1u << 21);
	ck_assert_uint_eq(r[0].start, BASE);
	ck_assert_uint_eq(r[0].last, BASE + (1u << 21) - 1);
	/* freeing the device stops it */
	iommufd_device_free(nic);
	{
		IOMMUFD_OPTS(iommufd_dma_logging_opts, bad, .page_size = 3000);

		ck_assert_int_eq(iommufd_device_dma_logging_start(edu, &bad),
				 -EINVAL);
		bad.page_size = 0;
		bad.max_ranges = 257;
		ck_assert_int_eq(iommufd_device_dma_logging_start(edu, &bad),
				 -EINVAL);
	}
	iommufd_device_free(edu);
	iommufd_device_free(mdev);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/*
 * 1000 one-page mappings with gaps of 1 to 40 pages: start collapses them to
 * 256 ranges (the kernel's limit) or to what the caller asks, exactly as
 * the kernel would merge them, and every mapping is covered.
 */
START_TEST(logging_collapses_over_256)
{
	enum { N = 1000 };
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_iova_range *maps = calloc(N, sizeof(*maps));
	struct iommufd_iova_range r[256];
	uint64_t seed = 7, page = 0, ps = 0;
	size_t nr;
	IOMMUFD_OPTS(iommufd_dma_logging_opts, sixteen, .max_ranges = 16);

	for (size_t i = 0; i < N; i++) {
		map_pages(ioas, page, 1, i % NPAGES);
		maps[i].start = BASE + page * PAGE;
		maps[i].last = maps[i].start + PAGE - 1;
		page += 2 + rnd(&seed) % 40;
	}
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	bus_master(nic);
	for (int pass = 0; pass < 2; pass++) {
		size_t want = pass ? 16 : 256;
		struct iommufd_iova_range *ref = calloc(N, sizeof(*ref));

		ck_assert_int_eq(iommufd_device_dma_logging_start(
					 nic, pass ? &sixteen : NULL), 0);
		nr = 256;
		ck_assert_int_eq(iommufd_device_dma_logging_ranges(nic, r, &nr,
								   &ps), 0);
		ck_assert_uint_eq(nr, want);
		for (size_t i = 0; i < N; i++)
			ck_assert(covered_by(r, nr, maps[i].start, maps[i].last));
		memcpy(ref, maps, N * sizeof(*ref));
		ck_assert_uint_eq(collapse_ref(ref, N, want), want);
		ck_assert_mem_eq(r, ref, want * sizeof(*r));

		/* Every mapped page the NIC writes is reported; a page in a
		 * gap left out of the ranges is reported too (the device may
		 * have written it), a gap inside a range is not. */
		{
			struct iommufd_dirty_bitmap *bm = bitmap(0, page, PAGE);

			for (size_t i = 0; i < N; i += 97)
				dev_write(NIC, (maps[i].start - BASE) / PAGE, 0,
					  1);
			ck_assert_int_eq(iommufd_device_dma_logging_report(
						 nic, bm, BASE, page * PAGE,
						 NULL), 0);
			for (uint64_t p = 0; p < page; p++) {
				uint64_t iova = BASE + p * PAGE;
				bool written = false;

				for (size_t i = 0; i < N; i += 97)
					written |= maps[i].start == iova;
				ck_assert_int_eq(
					iommufd_dirty_bitmap_test(bm, iova, 1),
					written ||
						!covered_by(r, nr, iova,
							    iova + PAGE - 1));
			}
			iommufd_dirty_bitmap_free(bm);
		}
		ck_assert_int_eq(iommufd_device_dma_logging_stop(nic), 0);
		free(ref);
	}
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	free(maps);
}
END_TEST

START_TEST(logging_report_outside_ranges)
{
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	const struct iommufd_iova_range given[] = {
		{ BASE + 16 * PAGE, BASE + 20 * PAGE - 1 },
		{ BASE + 4 * PAGE, BASE + 8 * PAGE - 1 },
	};
	IOMMUFD_OPTS(iommufd_dma_logging_opts, o, .ranges = given,
		     .nr_ranges = 2);
	struct iommufd_dirty_bitmap *bm = bitmap(0, 200, PAGE);
	struct iommufd_dirty_read_opts small = read_opts(0, 8);
	struct iommufd_dirty_read_opts nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 0);

	map_pages(ioas, 0, 200, 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	bus_master(nic);
	ck_assert_int_eq(iommufd_device_dma_logging_report(nic, bm, BASE, PAGE,
							   NULL), -EINVAL);
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, &o), 0);
	dev_write(NIC, 5, 0, 1);
	dev_write(NIC, 17, PAGE - 2, 4);	/* 17 and 18 */
	dev_write(NIC, 25, 0, 1);		/* not tracked */
	ck_assert_int_eq(iommufd_device_dma_logging_report(nic, bm, BASE,
							   32 * PAGE, NULL),
			 0);
	for (uint64_t p = 0; p < 200; p++) {
		bool outside = p < 4 || (p >= 8 && p < 16) || (p >= 20 && p < 32);
		bool want = outside || p == 5 || p == 17 || p == 18;

		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + p * PAGE,
							   1), want);
	}
	/* the log was cleared: only the outside is left */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_device_dma_logging_report(nic, bm, BASE,
							   32 * PAGE, &small),
			 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 4 + 8 + 12);
	/* a window inside one range, in calls of 64 pages */
	iommufd_dirty_bitmap_clear_all(bm);
	dev_write(NIC, 6, 0, 1);
	ck_assert_int_eq(iommufd_device_dma_logging_report(
				 nic, bm, BASE + 5 * PAGE, 2 * PAGE, &small), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 1);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + 6 * PAGE, 1), 1);
	/* a window past every range: all of it */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_device_dma_logging_report(
				 nic, bm, BASE + 100 * PAGE, 100 * PAGE, &small),
			 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 100);

	ck_assert_int_eq(iommufd_device_dma_logging_report(nic, bm, BASE,
							   PAGE, &nc),
			 -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_dma_logging_report(nic, bm, BASE,
							   201 * PAGE, NULL),
			 -ERANGE);
	{
		struct iommufd_dirty_bitmap *tiny = NULL;

		ck_assert_int_eq(iommufd_dirty_bitmap_new(BASE, PAGE, 512,
							  &tiny), 0);
		ck_assert_int_eq(iommufd_device_dma_logging_report(
					 nic, tiny, BASE, PAGE, NULL), -EINVAL);
		iommufd_dirty_bitmap_free(tiny);
	}
	/* a kernel failure is passed on */
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_FEATURE, EIO, 1);
	ck_assert_int_eq(iommufd_device_dma_logging_report(nic, bm, BASE,
							   32 * PAGE, NULL),
			 -EIO);
	iommufd_fake_fail_clear(fake);
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_FEATURE, EIO, 1);
	ck_assert_int_eq(iommufd_device_dma_logging_stop(nic), -EIO);
	ck_assert(iommufd_device_dma_logging_active(nic));
	iommufd_fake_fail_clear(fake);
	ck_assert_int_eq(iommufd_device_dma_logging_stop(nic), 0);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The tracker                                                         */

static enum iommufd_dirty_source source_of(struct iommufd_dirty_tracker *t,
					   struct iommufd_device *dev)
{
	struct iommufd_dirty_tracker_device d[8];
	size_t n = 8;

	ck_assert_int_eq(iommufd_dirty_tracker_devices(t, d, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (d[i].dev == dev)
			return d[i].source;
	return IOMMUFD_DIRTY_SOURCE_NONE;
}

START_TEST(tracker_one_view)
{
	static const uint64_t pages[] = { 2, 7, 40, 63 };
	struct page_set want = { pages, 4, 0, 64 };
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *h;
	struct iommufd_device *edu = edu_tracked(&ioas, &h, 64);
	struct iommufd_device *nic = open_ok(NIC), *mdev, *edu2;
	struct iommufd_dirty_tracker *t = NULL;
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	struct iommufd_dirty_read_opts nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 0);
	size_t n = 0;

	ck_assert_int_eq(iommufd_device_attach(nic, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       NULL), 0);
	bus_master(nic);
	ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, NULL, &t), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, PAGE, NULL),
			 -EINVAL);
	log_clear();
	ck_assert_int_eq(iommufd_dirty_tracker_start(t), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_start(t), -EBUSY);
	ck_assert(logged("dirty pages from iommu"));
	ck_assert(logged("dirty pages from device"));
	ck_assert_int_eq(iommufd_dirty_tracker_devices(t, NULL, &n), -ENOSPC);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(source_of(t, edu), IOMMUFD_DIRTY_SOURCE_IOMMU);
	ck_assert_int_eq(source_of(t, nic), IOMMUFD_DIRTY_SOURCE_DEVICE);
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert(iommufd_device_dma_logging_active(nic));

	dev_write(EDU, 2, 0, 1);
	dev_write(EDU, 40, 0, 1);
	dev_write(NIC, 7, 0, 1);
	dev_write(NIC, 40, 0, 1);
	dev_write(NIC, 63, 0, 1);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    &nc), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	expect_pages(bm, 0, 64, in_set, &want);
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	expect_pages(bm, 0, 64, none, NULL);

	/* an emulated device attached since start: everything mapped */
	mdev = open_ok(MDEV);
	ck_assert_int_eq(iommufd_device_attach(mdev, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 64);
	ck_assert_int_eq(iommufd_dirty_tracker_stop(t), 0);
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert(!iommufd_device_dma_logging_active(nic));
	ck_assert_int_eq(iommufd_dirty_tracker_stop(t), 0);

	/* restarted, it covers the emulated device as ALL */
	ck_assert_int_eq(iommufd_dirty_tracker_start(t), 0);
	ck_assert_int_eq(source_of(t, mdev), IOMMUFD_DIRTY_SOURCE_ALL);
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE + 8 * PAGE,
						    8 * PAGE, NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 8);
	iommufd_device_free(mdev);
	/* a device that left is gone from the view */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
	/* a second edu attached since start shares edu's HWPT: still the
	 * IOMMU's view... but the tracker did not see it start: ALL */
	edu2 = open_ok(EDU2);
	ck_assert_int_eq(iommufd_device_attach(edu2, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       NULL), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 64);
	iommufd_dirty_tracker_free(t);	/* stops it */
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert(!iommufd_device_dma_logging_active(nic));

	/* without device logging the NIC counts as ALL */
	{
		IOMMUFD_OPTS(iommufd_dirty_tracker_opts, o,
			     .flags = IOMMUFD_TRACKER_NO_DEVICE_LOGGING);

		ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, &o, &t), 0);
		ck_assert_int_eq(iommufd_dirty_tracker_start(t), 0);
		ck_assert_int_eq(source_of(t, nic), IOMMUFD_DIRTY_SOURCE_ALL);
		ck_assert_int_eq(source_of(t, edu), IOMMUFD_DIRTY_SOURCE_IOMMU);
		ck_assert_int_eq(source_of(t, edu2), IOMMUFD_DIRTY_SOURCE_IOMMU);
		ck_assert(!iommufd_device_dma_logging_active(nic));
		/* NO_CLEAR is fine without logging devices */
		ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE,
							    64 * PAGE, &nc), 0);
		iommufd_dirty_tracker_free(t);
		o.flags = 8;
		ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, &o, &t),
				 -EINVAL);
	}
	ck_assert_str_eq(iommufd_dirty_source_name(IOMMUFD_DIRTY_SOURCE_DEVICE),
			 "device");
	ck_assert_ptr_null(iommufd_dirty_source_name(
		(enum iommufd_dirty_source)42));
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(edu2);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* A HWPT whose tracking the caller switched on stays on after stop; logging
 * the caller started stays on too. */
START_TEST(tracker_leaves_callers_sources)
{
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *h;
	struct iommufd_device *edu = edu_tracked(&ioas, &h, 16);
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_dirty_tracker *t = NULL;

	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(h, true), 0);
	ck_assert_int_eq(iommufd_device_dma_logging_start(nic, NULL), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, NULL, &t), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_start(t), 0);
	ck_assert_int_eq(source_of(t, nic), IOMMUFD_DIRTY_SOURCE_DEVICE);
	ck_assert_int_eq(iommufd_dirty_tracker_stop(t), 0);
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert(iommufd_device_dma_logging_active(nic));
	iommufd_dirty_tracker_free(t);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* Start with the n-th kernel call failing, n = 1, 2, ... until it works:
 * each failure leaves no source on; then every sync call fails once. */
START_TEST(tracker_survives_every_failure)
{
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *h;
	struct iommufd_device *edu = edu_tracked(&ioas, &h, 64);
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_dirty_tracker *t = NULL;
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	unsigned long n;
	int rc;

	map_pages(ioas, 100, 8, 100);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	bus_master(nic);
	ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, NULL, &t), 0);
	for (n = 1;; n++) {
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_dirty_tracker_start(t);
		iommufd_fake_fail_clear(fake);
		if (!rc)
			break;
		ck_assert_int_eq(rc, -EIO);
		ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h));
		ck_assert(!iommufd_device_dma_logging_active(nic));
		ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, PAGE,
							    NULL), -EINVAL);
		ck_assert_uint_lt(n, 20);
	}
	ck_assert_uint_ge(n, 3);	/* enable, probe, start */
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert(iommufd_device_dma_logging_active(nic));

	/* sync: whichever call fails, the error comes back, the tracker
	 * stays started, and a retry gives the whole view */
	for (n = 1;; n++) {
		dev_write(EDU, 1, 0, 1);
		dev_write(NIC, 2, 0, 1);
		iommufd_dirty_bitmap_clear_all(bm);
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE, NULL);
		iommufd_fake_fail_clear(fake);
		if (!rc)
			break;
		ck_assert_int_eq(rc, -EIO);
		ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE,
							    64 * PAGE, NULL),
				 0);
		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + PAGE, 1),
				 1);
		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + 2 * PAGE,
							   1), 1);
		ck_assert_uint_lt(n, 20);
	}
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 2);

	/* stop: what would not stop stays on and tracked, and the next
	 * stop switches it off (never a source left on unseen) */
	iommufd_fake_fail_nth(fake, 1, EIO);
	rc = iommufd_dirty_tracker_stop(t);
	iommufd_fake_fail_clear(fake);
	ck_assert_int_eq(rc, -EIO);
	ck_assert(logged("could not be"));
	ck_assert(iommufd_hwpt_dirty_tracking_enabled(h) ||
		  iommufd_device_dma_logging_active(nic));
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, PAGE, NULL),
			 0);
	ck_assert_int_eq(iommufd_dirty_tracker_stop(t), 0);
	ck_assert(!iommufd_hwpt_dirty_tracking_enabled(h));
	ck_assert(!iommufd_device_dma_logging_active(nic));
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, PAGE, NULL),
			 -EINVAL);
	iommufd_dirty_tracker_free(t);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* VFIO type1 containers                                               */

START_TEST(type1_ioas_tracking)
{
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_bitmap *bm = bitmap(0, 256, PAGE);
	struct iommufd_dirty_bitmap *tight = bitmap(10, 10, PAGE);
	struct iommufd_dirty_read_opts nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 0);
	struct iommufd_dirty_read_opts small = read_opts(0, 8);
	struct iommufd_hwpt *h = (void *)1;

	map_pages(ioas, 0, 32, 0);
	map_pages(ioas, 32, 32, 32);
	map_pages(ioas, 100, 8, 64);
	map_pages(ioas, 150, 100, 100);	/* more than one call's 64 pages */
	/* before any container: nothing can write, nothing is dirty */
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 256 * PAGE,
						 NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	ck_assert_ptr_null(h);
	bus_master(edu);
	/* the container bound by the attach is not tracking yet */
	log_clear();
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 256 * PAGE,
						 NULL), -EINVAL);
	ck_assert(logged("enable it again"));
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	dev_write(EDU, 3, 0, 1);
	/* an IOMMU-backed device in the container: every mapped page */
	for (int i = 0; i < 2; i++) {
		iommufd_dirty_bitmap_clear_all(bm);
		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE,
							 256 * PAGE,
							 i ? &small : NULL), 0);
		ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 64 + 8 + 100);
		ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + 64 * PAGE,
							   36 * PAGE), 0);
	}
	/* a window inside a mapping reads all of it */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE + 10 * PAGE,
						 10 * PAGE, &small), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 32);
	/* ... which must fit in the bitmap */
	log_clear();
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, tight, BASE + 10 * PAGE,
						 10 * PAGE, NULL), -ERANGE);
	ck_assert(logged("whole mappings"));
	/* a window over a hole only */
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE + 70 * PAGE,
						 20 * PAGE, NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
	/* coarser bitmap pages */
	{
		struct iommufd_dirty_bitmap *big = NULL;

		ck_assert_int_eq(iommufd_dirty_bitmap_new(BASE, 256 * PAGE,
							  16 * PAGE, &big), 0);
		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, big, BASE,
							 256 * PAGE, &small), 0);
		/* [0, 64), [96, 112), [144, 256) in 16-page pages */
		ck_assert_uint_eq(iommufd_dirty_bitmap_count(big), 4 + 1 + 7);
		iommufd_dirty_bitmap_free(big);
	}
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, PAGE, &nc),
			 -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), 0);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, PAGE, NULL),
			 -EINVAL);
	iommufd_dirty_bitmap_free(bm);
	iommufd_dirty_bitmap_free(tight);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* Two containers (edu's group and the NIC's) map one IOAS; the n-th kernel
 * call fails: nothing stays started. */
START_TEST(type1_rollback)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_bitmap *bm = bitmap(0, 16, PAGE);
	unsigned long n;
	int rc;

	map_pages(ioas, 0, 16, 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	for (n = 1;; n++) {
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_ioas_set_dirty_tracking(ioas, true);
		iommufd_fake_fail_clear(fake);
		if (!rc)
			break;
		ck_assert_int_eq(rc, -EIO);
		/* edu's container alone: not tracking either */
		ck_assert_int_eq(iommufd_device_detach(nic), 0);
		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE,
							 16 * PAGE, NULL),
				 -EINVAL);
		ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
		ck_assert_uint_lt(n, 20);
	}
	ck_assert_uint_ge(n, 2);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 16 * PAGE,
						 NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 16);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), 0);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

START_TEST(type1_tracker)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC), *edu2;
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_tracker *t = NULL;
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	struct iommufd_dirty_read_opts nc = read_opts(IOMMUFD_DIRTY_NO_CLEAR, 0);

	map_pages(ioas, 0, 16, 0);
	map_pages(ioas, 32, 16, 16);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, NULL, &t), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_start(t), 0);
	ck_assert_int_eq(source_of(t, edu), IOMMUFD_DIRTY_SOURCE_CONTAINER);
	ck_assert_int_eq(source_of(t, nic), IOMMUFD_DIRTY_SOURCE_CONTAINER);
	ck_assert_str_eq(iommufd_dirty_source_name(IOMMUFD_DIRTY_SOURCE_CONTAINER),
			 "container");
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    &nc), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 32);
	/* a third container since start: counted, and started by the sync */
	edu2 = open_ok(EDU2);
	ck_assert_int_eq(iommufd_device_attach(edu2, ioas, 0, NULL), 0);
	iommufd_dirty_bitmap_clear_all(bm);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 32);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_stop(t), 0);
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), -EINVAL);
	iommufd_dirty_tracker_free(t);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(edu2);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* iommufd's vfio-compat containers cannot track: the tracker falls back to
 * the device's DMA logging (the NIC) or ALL (edu). */
START_TEST(compat_cannot_track)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_tracker *t = NULL;
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);

	map_pages(ioas, 0, 16, 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	bus_master(nic);
	log_clear();
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true),
			 -EOPNOTSUPP);
	ck_assert(logged("cannot track dirty pages"));
	ck_assert_int_eq(iommufd_dirty_tracker_new(ioas, NULL, &t), 0);
	ck_assert_int_eq(iommufd_dirty_tracker_start(t), 0);
	ck_assert_int_eq(source_of(t, edu), IOMMUFD_DIRTY_SOURCE_ALL);
	ck_assert_int_eq(source_of(t, nic), IOMMUFD_DIRTY_SOURCE_DEVICE);
	dev_write(NIC, 3, 0, 1);
	ck_assert_int_eq(iommufd_dirty_tracker_sync(t, bm, BASE, 64 * PAGE,
						    NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 16 + 48);
	iommufd_dirty_tracker_free(t);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Unmapping with the dirty bits                                       */

/* Pages [0, 16), [16, 32) (adjacent) and [40, 48) mapped. */
static void map_three(struct iommufd_ioas *ioas)
{
	map_pages(ioas, 0, 16, 0);
	map_pages(ioas, 16, 16, 16);
	map_pages(ioas, 40, 8, 40);
}

/* What must hold for the refused calls: nothing changed. */
static void refused_unchanged(struct iommufd_ioas *ioas,
			      struct iommufd_dirty_bitmap *bm, size_t maps,
			      uint64_t bm_count)
{
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), maps);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), bm_count);
}

/* iommufd (6.17): edu's HWPT tracks; exactly the pages it wrote. */
START_TEST(unmap_dirty_iommu)
{
	static const uint64_t pages[] = { 2, 5, 17 };
	struct page_set written = { pages, 3, 0, 64 };
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	struct iommufd_dirty_bitmap *small = bitmap(0, 16, PAGE);
	struct iommufd_dirty_bitmap *coarse = NULL;
	struct iommufd_hwpt *h = NULL;
	uint64_t unmapped = 1, w;
	unsigned long n;
	int rc;

	map_three(ioas);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	bus_master(edu);

	/* tracking off: unmapped, every page reported dirty */
	log_clear();
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 40 * PAGE,
						  8 * PAGE, 0, bm, &unmapped),
			 0);
	ck_assert_uint_eq(unmapped, 8 * PAGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 8);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE + 40 * PAGE,
						   8 * PAGE), 1);
	ck_assert(logged("dirty tracking is off"));
	iommufd_dirty_bitmap_clear_all(bm);
	map_pages(ioas, 40, 8, 40);

	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	dev_write(EDU, 2, 0, 8);
	dev_write(EDU, 5, 0, 1);
	dev_write(EDU, 17, PAGE - 1, 1);
	dev_write(EDU, 41, 0, 1);

	/* argument errors: nothing changes */
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0,
						  NULL, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 2, bm,
						  NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 0, 0, bm, NULL),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, 0, UINT64_MAX, 0, bm,
						  NULL), -ERANGE);
	/* the bitmap does not cover the range */
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0,
						  small, NULL), -ERANGE);
	refused_unchanged(ioas, small, 3, 0);
	/* a split: refused from the table, the bitmap untouched */
	unmapped = 7;
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 8 * PAGE, 0, bm,
						  &unmapped), -ENOENT);
	ck_assert_uint_eq(unmapped, 7);
	refused_unchanged(ioas, bm, 3, 0);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 8 * PAGE,
						  16 * PAGE,
						  IOMMUFD_UNMAP_IDEMPOTENT, bm,
						  NULL), -ENOENT);
	refused_unchanged(ioas, bm, 3, 0);

	/* every kernel call failing in turn: mappings, the HWPT's dirty
	 * bits and the bitmap as they were */
	/* (the raw read stops at the hole at page 32) */
	w = raw_dirty_word(iommufd_hwpt_id(h));
	ck_assert_uint_eq(w, (UINT64_C(1) << 2) | (UINT64_C(1) << 5) |
				     (UINT64_C(1) << 17));
	for (n = 1;; n++) {
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0, bm,
					      &unmapped);
		iommufd_fake_fail_clear(fake);
		if (!rc)
			break;
		ck_assert_int_eq(rc, -EIO);
		refused_unchanged(ioas, bm, 3, 0);
		ck_assert_uint_eq(raw_dirty_word(iommufd_hwpt_id(h)), w);
		ck_assert_uint_lt(n, 20);
	}
	ck_assert_uint_ge(n, 2);
	/* exactly the pages written, in both mappings of the run */
	ck_assert_uint_eq(unmapped, 32 * PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 1);
	expect_pages(bm, 0, 64, in_set, &written);
	/* the mapping left keeps its dirty page */
	{
		struct iommufd_dirty_read_opts nc =
			read_opts(IOMMUFD_DIRTY_NO_CLEAR, 0);
		struct iommufd_dirty_bitmap *rest = bitmap(0, 64, PAGE);

		ck_assert_int_eq(iommufd_hwpt_read_dirty(h, rest, BASE,
							 64 * PAGE, &nc), 0);
		ck_assert_uint_eq(iommufd_dirty_bitmap_count(rest), 1);
		ck_assert_int_eq(iommufd_dirty_bitmap_test(rest,
							   BASE + 41 * PAGE, 1),
				 1);
		iommufd_dirty_bitmap_free(rest);
	}

	/* nothing mapped: -ENOENT, or 0 bytes with IDEMPOTENT */
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0, bm,
						  NULL), -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE,
						  IOMMUFD_UNMAP_IDEMPOTENT, bm,
						  &unmapped), 0);
	ck_assert_uint_eq(unmapped, 0);
	expect_pages(bm, 0, 64, in_set, &written);

	/* a coarser bitmap; the bits it had stay */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(BASE, 64 * PAGE, 16 * PAGE,
						  &coarse), 0);
	ck_assert_int_eq(iommufd_dirty_bitmap_set(coarse, BASE, 1), 0);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 40 * PAGE,
						  8 * PAGE, 0, coarse,
						  &unmapped), 0);
	ck_assert_uint_eq(unmapped, 8 * PAGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(coarse), 2);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(coarse, BASE + 32 * PAGE,
						   16 * PAGE), 1);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 0);

	iommufd_dirty_bitmap_free(coarse);
	iommufd_dirty_bitmap_free(small);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* iommufd: a device writing through a HWPT that does not track (the NIC,
 * behind dmar1) next to a tracking one: the dirty pages cannot be told. */
START_TEST(unmap_dirty_untracked_device)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	struct iommufd_hwpt *h = NULL;

	map_three(ioas);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	ck_assert_int_eq(iommufd_hwpt_set_dirty_tracking(h, true), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	log_clear();
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0, bm,
						  NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 32);
	ck_assert(logged("every page unmapped is reported dirty"));
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* type1 (6.1): one UNMAP_DMA with GET_DIRTY_BITMAP per container; every
 * pinned page is dirty. */
START_TEST(unmap_dirty_type1)
{
	struct iommufd_device *edu = open_ok(EDU), *nic;
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_dirty_bitmap *bm = bitmap(0, 64, PAGE);
	struct iommufd_dirty_bitmap *small = bitmap(0, 16, PAGE);
	struct iommufd_dirty_bitmap *coarse = NULL;
	uint64_t unmapped = 0;
	unsigned long n;
	int rc;

	map_three(ioas);
	/* no container: nothing can write, nothing is dirty */
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 40 * PAGE,
						  8 * PAGE, 0, bm, &unmapped),
			 0);
	ck_assert_uint_eq(unmapped, 8 * PAGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 0);
	map_pages(ioas, 40, 8, 40);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	bus_master(edu);

	/* not tracking: unmapped plainly (the kernel would refuse the
	 * bitmap), every page reported dirty */
	log_clear();
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 40 * PAGE,
						  8 * PAGE, 0, bm, &unmapped),
			 0);
	ck_assert_uint_eq(unmapped, 8 * PAGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 8);
	ck_assert(logged("not all tracking"));
	iommufd_dirty_bitmap_clear_all(bm);
	map_pages(ioas, 40, 8, 40);

	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	/* the bitmap does not cover the range; a split */
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0,
						  small, NULL), -ERANGE);
	refused_unchanged(ioas, small, 3, 0);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 8 * PAGE,
						  16 * PAGE, 0, bm, NULL),
			 -ENOENT);
	refused_unchanged(ioas, bm, 3, 0);

	/* the unmap failing in the kernel: nothing changes, and the pages
	 * are still there to read */
	log_clear();
	iommufd_fake_fail_ioctl(fake, VFIO_IOMMU_UNMAP_DMA, EIO, 1);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0, bm,
						  NULL), -EIO);
	iommufd_fake_fail_clear(fake);
	refused_unchanged(ioas, bm, 3, 0);
	ck_assert(logged("VFIO_IOMMU_UNMAP_DMA GET_DIRTY_BITMAP"));
	/* EINVAL from the kernel is explained */
	log_clear();
	iommufd_fake_fail_ioctl(fake, VFIO_IOMMU_UNMAP_DMA, EINVAL, 1);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0, bm,
						  NULL), -EINVAL);
	iommufd_fake_fail_clear(fake);
	refused_unchanged(ioas, bm, 3, 0);
	ck_assert(logged("not tracking dirty pages (VFIO_IOMMU_DIRTY_PAGES START)"));
	ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE, 64 * PAGE,
						 NULL), 0);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 40);
	iommufd_dirty_bitmap_clear_all(bm);

	/* a second container (the NIC's), every kernel call failing in
	 * turn: the first container's unmap is put back */
	nic = open_ok(NIC);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, true), 0);
	for (n = 1;; n++) {
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_ioas_unmap_dirty(ioas, BASE, 32 * PAGE, 0, bm,
					      &unmapped);
		iommufd_fake_fail_clear(fake);
		if (!rc)
			break;
		ck_assert_int_eq(rc, -EIO);
		refused_unchanged(ioas, bm, 3, 0);
		/* both containers still map the range */
		ck_assert_int_eq(iommufd_ioas_read_dirty(ioas, bm, BASE,
							 64 * PAGE, NULL), 0);
		ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 40);
		iommufd_dirty_bitmap_clear_all(bm);
		ck_assert_uint_lt(n, 30);
	}
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_eq(unmapped, 32 * PAGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(bm), 32);
	ck_assert_int_eq(iommufd_dirty_bitmap_test(bm, BASE, 32 * PAGE), 1);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 1);

	/* a coarser bitmap: folded from the containers' pages */
	ck_assert_int_eq(iommufd_dirty_bitmap_new(BASE, 64 * PAGE, 16 * PAGE,
						  &coarse), 0);
	ck_assert_int_eq(iommufd_ioas_unmap_dirty(ioas, BASE + 40 * PAGE,
						  8 * PAGE, 0, coarse,
						  &unmapped), 0);
	ck_assert_uint_eq(unmapped, 8 * PAGE);
	ck_assert_uint_eq(iommufd_dirty_bitmap_count(coarse), 1);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 0);
	ck_assert_int_eq(iommufd_ioas_set_dirty_tracking(ioas, false), 0);

	iommufd_dirty_bitmap_free(coarse);
	iommufd_dirty_bitmap_free(small);
	iommufd_dirty_bitmap_free(bm);
	iommufd_device_free(nic);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

static Suite *dirty_suite(void)
{
	Suite *s = suite_create("dirty");
	TCase *tc = fx_tcase("tracking");
	TCase *old = fx_tcase("6.6");
	TCase *pure = fx_tcase("collapse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, iommu_read_clear_and_no_clear);
	tcase_add_test(tc, iommu_windows_cross_chunks);
	tcase_add_test(tc, iommu_without_tracking);
	tcase_add_test(tc, iommu_ioas_rollback);
	tcase_add_test(tc, logging_probe_start_stop);
	tcase_add_test(tc, logging_collapses_over_256);
	tcase_add_test(tc, logging_report_outside_ranges);
	tcase_add_test(tc, tracker_one_view);
	tcase_add_test(tc, tracker_leaves_callers_sources);
	tcase_add_test(tc, tracker_survives_every_failure);
	tcase_add_test(tc, unmap_dirty_iommu);
	tcase_add_test(tc, unmap_dirty_untracked_device);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(old, setup_6_6, teardown);
	tcase_add_test(old, iommu_before_6_7);
	suite_add_tcase(s, old);

	{
		TCase *t1 = fx_tcase("6.1-type1");
		TCase *compat = fx_tcase("vfio-compat");

		tcase_add_checked_fixture(t1, setup_6_1, teardown);
		tcase_add_test(t1, type1_ioas_tracking);
		tcase_add_test(t1, type1_rollback);
		tcase_add_test(t1, type1_tracker);
		tcase_add_test(t1, unmap_dirty_type1);
		suite_add_tcase(s, t1);
		tcase_add_checked_fixture(compat, setup_compat, teardown);
		tcase_add_test(compat, compat_cannot_track);
		suite_add_tcase(s, compat);
	}
	tcase_add_test(pure, collapse_matches_reference);
	tcase_add_test(pure, collapse_normalises);
	tcase_add_test(pure, collapse_large);
	suite_add_tcase(s, pure);
	return s;
}

int main(void)
{
	return fx_run(dirty_suite());
}
