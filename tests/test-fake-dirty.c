/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking in the fake kernel at the raw uAPI level: the IOMMU's
 * (IOMMU_HWPT_SET_DIRTY_TRACKING, IOMMU_HWPT_GET_DIRTY_BITMAP) and the
 * device's (VFIO_DEVICE_FEATURE_DMA_LOGGING_*), dirtied by DMA of the edu
 * device and of iommufd_fake_device_dma(); the migration feature; version
 * gates and fault injection. Each expectation is what the kernel does
 * (drivers/iommu/iommufd/{hw_pagetable,io_pagetable,iova_bitmap}.c,
 * drivers/vfio/vfio_main.c, the mlx5 variant driver).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <iommufd/fake.h>

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA
#define REGION(i) ((off_t)((uint64_t)(i) << 40))
#define SZ_2M (UINT64_C(2) << 20)

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

#define BASE UINT64_C(0x200000)	/* 2 MiB aligned, below edu's 28-bit mask */
#define BUF_SIZE (UINT64_C(8) << 20)

static struct iommufd_fake *fake;
static int ifd = -1;
static uint32_t edu_devid;	/* set by edu_tracked() */
static uint64_t PAGE;
static uint8_t *buf;		/* BUF_SIZE bytes of RW memory */

static void setup(void)
{
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
	ifd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(ifd, 0);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(buf, MAP_FAILED);
}

static void teardown(void)
{
	if (ifd >= 0)
		iommufd_fake_close(fake, ifd);
	ifd = -1;
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	iommufd_fake_free(fake);
	munmap(buf, BUF_SIZE);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static int xioctl_fd(int fd, unsigned long req, void *arg)
{
	errno = 0;
	if (iommufd_fake_ioctl(fake, fd, req, arg) < 0)
		return errno ? errno : -1;
	return 0;
}

static int xioctl(unsigned long req, void *arg)
{
	return xioctl_fd(ifd, req, arg);
}

static void close_fd(int fd)
{
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
}

static void set_version(unsigned int major, unsigned int minor)
{
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, major, minor),
			 0);
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static int map_at(uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = FIXED | RW, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len, .iova = iova,
	};

	return xioctl(IOMMU_IOAS_MAP, &cmd);
}

static int unmap_range(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = len,
	};

	return xioctl(IOMMU_IOAS_UNMAP, &cmd);
}

static int destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return xioctl(IOMMU_DESTROY, &cmd);
}

static int hwpt_alloc(uint32_t dev_id, uint32_t pt_id, uint32_t flags,
		      uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id,
		.pt_id = pt_id,
	};
	int ret = xioctl(IOMMU_HWPT_ALLOC, &cmd);

	if (!ret && out)
		*out = cmd.out_hwpt_id;
	return ret;
}

static int set_tracking(uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int get_bitmap(uint32_t hwpt, uint32_t flags, uint64_t iova,
		      uint64_t length, uint64_t page_size, void *data)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags,
		.iova = iova, .length = length, .page_size = page_size,
		.data = (uintptr_t)data,
	};

	return xioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* The first word of a fresh (zeroed) bitmap of [iova, iova + length). */
static uint64_t dirty_word(uint32_t hwpt, uint32_t flags, uint64_t iova,
			   uint64_t length, uint64_t page_size)
{
	uint64_t bm[8] = { 0 };

	ck_assert_int_eq(get_bitmap(hwpt, flags, iova, length, page_size, bm),
			 0);
	return bm[0];
}

static int open_dev(const char *name)
{
	char path[64];
	int fd;

	ck_assert_int_eq(iommufd_fake_device_cdev(fake, name, path,
						  sizeof(path)), 0);
	fd = iommufd_fake_open(fake, path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static int open_bound(const char *name, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = ifd,
	};
	int dfd = open_dev(name);

	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	if (devid)
		*devid = bind.out_devid;
	return dfd;
}

static int attach(int dfd, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = sizeof(cmd), .pt_id = pt_id,
	};

	return xioctl_fd(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
}

static uint32_t rd32(int dfd, int index, uint64_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 4,
					    REGION(index) + (off_t)off), 4);
	return v;
}

static void wr64(int dfd, int index, uint64_t off, uint64_t v)
{
	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &v, 8,
					     REGION(index) + (off_t)off), 8);
}

static void bus_master(int dfd)
{
	off_t off = REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 4;
	uint16_t cmd = 0;

	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &cmd, 2, off), 2);
	cmd |= 0x4;
	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &cmd, 2, off), 2);
}

/* edu: a DMA from RAM (to_ram false) or to RAM, through BAR0. */
static void edu_dma(int dfd, uint64_t iova, uint64_t cnt, bool to_ram)
{
	wr64(dfd, 0, 0x80, to_ram ? 0x40000 : iova);
	wr64(dfd, 0, 0x88, to_ram ? iova : 0x40000);
	wr64(dfd, 0, 0x90, cnt);
	wr64(dfd, 0, 0x98, 1 | (to_ram ? 2 : 0));
	ck_assert_uint_eq(rd32(dfd, 0, 0x98) & 1, 0);
}

static uint64_t dmas(const char *name)
{
	struct iommufd_fake_dma_stats st = { .sz = sizeof(st) };

	ck_assert_int_eq(iommufd_fake_dma_stats(fake, name, &st), 0);
	return st.dmas;
}

/*
 * edu bound and attached to a new dirty-tracking HWPT over a new IOAS that
 * maps @len bytes of buf at BASE; bus mastering on. Returns the HWPT.
 */
static uint32_t edu_tracked(int *edu, uint32_t *ioas, uint64_t len)
{
	uint32_t hwpt;

	*ioas = ioas_alloc();
	*edu = open_bound(EDU, &edu_devid);
	ck_assert_int_eq(hwpt_alloc(edu_devid, *ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt), 0);
	ck_assert_int_eq(attach(*edu, hwpt), 0);
	ck_assert_int_eq(map_at(*ioas, buf, len, BASE), 0);
	bus_master(*edu);
	return hwpt;
}

static void edu_untrack(int edu, uint32_t ioas, uint32_t hwpt)
{
	close_fd(edu);
	ck_assert_int_eq(unmap_range(ioas, 0, UINT64_MAX), 0);
	ck_assert_int_eq(destroy(hwpt), 0);
	ck_assert_int_eq(destroy(ioas), 0);
}

/* VFIO_DEVICE_FEATURE with @flags and a payload of @len bytes. */
static int feature(int dfd, uint32_t flags, void *payload, size_t len)
{
	_Alignas(8) uint8_t raw[sizeof(struct vfio_device_feature) + 64] = { 0 };
	struct vfio_device_feature *f = (void *)raw;
	int ret;

	ck_assert_uint_le(len, 64);
	f->argsz = (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len)
		memcpy(raw + sizeof(*f), payload, len);
	ret = xioctl_fd(dfd, VFIO_DEVICE_FEATURE, raw);
	if (len)
		memcpy(payload, raw + sizeof(*f), len);
	return ret;
}

#define SET VFIO_DEVICE_FEATURE_SET
#define GET VFIO_DEVICE_FEATURE_GET
#define PROBE VFIO_DEVICE_FEATURE_PROBE

static int log_start(int dfd, uint64_t *page_size,
		     const struct vfio_device_feature_dma_logging_range *r,
		     uint32_t n)
{
	struct vfio_device_feature_dma_logging_control c = {
		.page_size = *page_size, .num_ranges = n,
		.ranges = (uintptr_t)r,
	};
	int ret = feature(dfd, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
			  &c, sizeof(c));

	*page_size = c.page_size;
	return ret;
}

static int log_start1(int dfd, uint64_t page_size, uint64_t iova,
		      uint64_t length)
{
	struct vfio_device_feature_dma_logging_range r = { iova, length };

	return log_start(dfd, &page_size, &r, 1);
}

static int log_stop(int dfd)
{
	return feature(dfd, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL,
		       0);
}

static int log_report(int dfd, uint64_t iova, uint64_t length,
		      uint64_t page_size, void *bitmap)
{
	struct vfio_device_feature_dma_logging_report r = {
		.iova = iova, .length = length, .page_size = page_size,
		.bitmap = (uintptr_t)bitmap,
	};

	return feature(dfd, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &r,
		       sizeof(r));
}

static uint64_t log_word(int dfd, uint64_t iova, uint64_t length,
			 uint64_t page_size)
{
	uint64_t bm[8] = { 0 };

	ck_assert_int_eq(log_report(dfd, iova, length, page_size, bm), 0);
	return bm[0];
}

/* The NIC with DMA logging (@max_ranges), bound, attached to a new IOAS
 * mapping @len bytes of buf at BASE, bus mastering on. */
static int nic_logging(uint32_t max_ranges, uint32_t *ioas, uint64_t len)
{
	int nic;

	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, true,
						      max_ranges), 0);
	*ioas = ioas_alloc();
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(attach(nic, *ioas), 0);
	ck_assert_int_eq(map_at(*ioas, buf, len, BASE), 0);
	bus_master(nic);
	return nic;
}

static void nic_done(int nic, uint32_t ioas)
{
	close_fd(nic);
	ck_assert_int_eq(unmap_range(ioas, 0, UINT64_MAX), 0);
	ck_assert_int_eq(destroy(ioas), 0);
}

static int dev_write(const char *name, uint64_t iova, size_t len)
{
	static uint8_t data[16384];

	ck_assert_uint_le(len, sizeof(data));
	return iommufd_fake_device_dma(fake, name, iova, data, len, true);
}

static int dev_read(const char *name, uint64_t iova, size_t len)
{
	static uint8_t data[16384];

	ck_assert_uint_le(len, sizeof(data));
	return iommufd_fake_device_dma(fake, name, iova, data, len, false);
}

/* ------------------------------------------------------------------ */
/* IOMMU_HWPT_GET_DIRTY_BITMAP                                         */

START_TEST(get_dirty_bitmap_rules)
{
	uint32_t ioas, edu_id, plain, hwpt;
	uint64_t bm[4] = { 0 };
	int edu;

	ioas = ioas_alloc();
	edu = open_bound(EDU, &edu_id);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 0, &plain), 0);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt), 0);
	ck_assert_int_eq(map_at(ioas, buf, 16 * PAGE, BASE), 0);

	/* flags and __reserved before the lookup */
	ck_assert_int_eq(get_bitmap(hwpt, 2, BASE, PAGE, PAGE, bm), EOPNOTSUPP);
	{
		struct iommu_hwpt_get_dirty_bitmap cmd = {
			.size = sizeof(cmd), .hwpt_id = 999, .__reserved = 1,
		};

		ck_assert_int_eq(xioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd),
				 EOPNOTSUPP);
	}
	/* a paging HWPT only */
	ck_assert_int_eq(get_bitmap(999, 0, BASE, PAGE, PAGE, bm), ENOENT);
	ck_assert_int_eq(get_bitmap(ioas, 0, BASE, PAGE, PAGE, bm), ENOENT);
	/* iommufd_check_iova_range(): overflow first */
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 0, PAGE, bm), EOVERFLOW);
	ck_assert_int_eq(get_bitmap(hwpt, 0, UINT64_MAX - PAGE + 1, 2 * PAGE,
				    PAGE, bm), EOVERFLOW);
	ck_assert_int_eq(get_bitmap(plain, 0, UINT64_MAX - PAGE + 1, 2 * PAGE,
				    0, bm), EOVERFLOW);
	/* the IOAS's IOVA alignment, then the page size */
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE + 512, PAGE, 512, bm),
			 EINVAL);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, PAGE + 512, 512, bm),
			 EINVAL);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, PAGE, 0, bm), EINVAL);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE + PAGE, 2 * PAGE, 2 * PAGE,
				    bm), EINVAL);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 3 * PAGE, 2 * PAGE, bm),
			 EINVAL);
	/* a HWPT without dirty ops: after the range checks */
	ck_assert_int_eq(get_bitmap(plain, 0, BASE, PAGE, 0, bm), EINVAL);
	ck_assert_int_eq(get_bitmap(plain, 0, BASE, PAGE, PAGE, bm),
			 EOPNOTSUPP);
	/* tracking off: the driver refuses to read, the kernel says 0 */
	bm[0] = 0x5a;
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 16 * PAGE, PAGE, bm), 0);
	ck_assert_uint_eq(bm[0], 0x5a);
	/* page_size need not be a power of two: alignment is checked with
	 * page_size - 1, the granule is its lowest set bit */
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_int_eq(attach(edu, hwpt), 0);
	bus_master(edu);
	edu_dma(edu, BASE + 5 * PAGE, 8, true);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 12 * PAGE, 3 * PAGE),
			  1u << 5);
	/* the IOVA range may be unmapped: nothing there is dirty */
	ck_assert_uint_eq(dirty_word(hwpt, 0, 0x40000000, PAGE, PAGE), 0);
	close_fd(edu);
	ck_assert_int_eq(unmap_range(ioas, 0, UINT64_MAX), 0);
	ck_assert_int_eq(destroy(plain), 0);
	ck_assert_int_eq(destroy(hwpt), 0);
}
END_TEST

START_TEST(edu_dma_dirties_written_pages_4k)
{
	uint32_t ioas, hwpt;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 64 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	/* enabling starts from clean */
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 64 * PAGE, PAGE), 0);
	edu_dma(edu, BASE + 3 * PAGE + 100, 200, true);	/* page 3 */
	edu_dma(edu, BASE + 5 * PAGE - 50, 100, true);	/* pages 4, 5 */
	edu_dma(edu, BASE + 9 * PAGE, 4000, false);	/* a read: none */
	edu_dma(edu, BASE + 63 * PAGE + PAGE - 1, 1, true);	/* page 63 */
	ck_assert_uint_eq(dmas(EDU), 4);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 64 * PAGE, PAGE),
			  (UINT64_C(7) << 3) | (UINT64_C(1) << 63));
	/* reported: cleared */
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 64 * PAGE, PAGE), 0);
	/* a sub-range: bit 0 is its first page */
	edu_dma(edu, BASE + 10 * PAGE, 16, true);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE + 8 * PAGE, 4 * PAGE, PAGE),
			  1u << 2);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(edu_dma_dirties_at_2m)
{
	uint32_t ioas, hwpt;
	uint64_t bm[64];
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 3 * SZ_2M);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	edu_dma(edu, BASE + SZ_2M + 0x1234, 64, true);	/* 2M page 1 */
	ck_assert_uint_eq(dirty_word(hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
				     BASE, 3 * SZ_2M, SZ_2M), 2);
	/* the same page at 4 KiB: one bit */
	memset(bm, 0, sizeof(bm));
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 3 * SZ_2M, PAGE, bm), 0);
	for (int i = 0; i < 24; i++)	/* page 513: word 8, bit 1 */
		ck_assert_uint_eq(bm[i], i == 8 ? 2 : 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 3 * SZ_2M, SZ_2M), 0);
	/* two writes in one coarse page, one in another */
	edu_dma(edu, BASE + 7, 8, true);
	edu_dma(edu, BASE + SZ_2M - PAGE, 8, true);
	edu_dma(edu, BASE + 2 * SZ_2M + SZ_2M - 8, 8, true);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 3 * SZ_2M, SZ_2M), 5);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 3 * SZ_2M, SZ_2M), 0);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(no_clear_keeps_bits)
{
	uint32_t ioas, hwpt;
	const uint32_t nc = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 16 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	edu_dma(edu, BASE + 2 * PAGE, 8, true);
	ck_assert_uint_eq(dirty_word(hwpt, nc, BASE, 16 * PAGE, PAGE), 4);
	ck_assert_uint_eq(dirty_word(hwpt, nc, BASE, 16 * PAGE, PAGE), 4);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 4);
	ck_assert_uint_eq(dirty_word(hwpt, nc, BASE, 16 * PAGE, PAGE), 0);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(tracking_off_records_nothing)
{
	uint32_t ioas, hwpt;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 16 * PAGE);
	/* never enabled: nothing */
	edu_dma(edu, BASE, 8, true);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 0);
	/* written while on, then off: nothing can be read */
	edu_dma(edu, BASE + PAGE, 8, true);
	ck_assert_int_eq(set_tracking(hwpt, false), 0);
	edu_dma(edu, BASE + 2 * PAGE, 8, true);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 0);
	/* and enabling again starts from clean */
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 0);
	/* enabling twice keeps tracking on (and clean) */
	edu_dma(edu, BASE + 3 * PAGE, 8, true);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	edu_dma(edu, BASE + 4 * PAGE, 8, true);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 1u << 4);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(dirty_capability_per_iommu)
{
	struct iommu_hw_info info = { .size = sizeof(info) };
	uint32_t ioas = ioas_alloc(), edu_id, nic_id, plain;
	int edu = open_bound(EDU, &edu_id), nic = open_bound(NIC, &nic_id);

	/* dmar0 (edu) has the capability, dmar1 (NIC) has not */
	info.dev_id = edu_id;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING,
			  IOMMU_HW_CAP_DIRTY_TRACKING);
	info.dev_id = nic_id;
	info.data_len = 0;	/* the first call set the VT-d data's length */
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING,
			  0);
	ck_assert_int_eq(hwpt_alloc(nic_id, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, NULL),
			 EOPNOTSUPP);
	/* a HWPT without the flag has no dirty ops */
	ck_assert_int_eq(hwpt_alloc(nic_id, ioas, 0, &plain), 0);
	ck_assert_int_eq(set_tracking(plain, true), EOPNOTSUPP);
	ck_assert_int_eq(set_tracking(plain, false), EOPNOTSUPP);
	ck_assert_int_eq(get_bitmap(plain, 0, BASE, PAGE, PAGE, NULL),
			 EOPNOTSUPP);
	/* nor has the automatic domain of an attach to the IOAS */
	{
		struct vfio_device_attach_iommufd_pt cmd = {
			.argsz = sizeof(cmd), .pt_id = ioas,
		};

		ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
					   &cmd), 0);
		ck_assert_int_eq(set_tracking(cmd.pt_id, true), EOPNOTSUPP);
	}
	close_fd(edu);
	close_fd(nic);
	ck_assert_int_eq(destroy(plain), 0);
}
END_TEST

START_TEST(walk_stops_at_first_hole)
{
	uint32_t ioas, hwpt;
	uint64_t bm[1];
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 2 * PAGE);
	ck_assert_int_eq(map_at(ioas, buf + 3 * PAGE, PAGE, BASE + 3 * PAGE),
			 0);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	edu_dma(edu, BASE, 8, true);
	edu_dma(edu, BASE + 3 * PAGE, 8, true);
	/* the walk ends at the hole: page 3 is neither reported nor cleared,
	 * and the kernel still answers 0 */
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 4 * PAGE, PAGE), 1);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 4 * PAGE, PAGE), 0);
	/* from an IOVA not mapped: nothing at all */
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE + 2 * PAGE, 2 * PAGE, PAGE),
			  0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE + 3 * PAGE, PAGE, PAGE), 1);
	/* bits are only set: the user's other bits stay */
	edu_dma(edu, BASE + PAGE, 8, true);
	bm[0] = UINT64_C(0xf0) << 56;
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 2 * PAGE, PAGE, bm), 0);
	ck_assert_uint_eq(bm[0], (UINT64_C(0xf0) << 56) | 2);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(unmap_drops_dirty_bits)
{
	uint32_t ioas, hwpt;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 4 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	edu_dma(edu, BASE + PAGE, 8, true);
	ck_assert_int_eq(unmap_range(ioas, BASE, 4 * PAGE), 0);
	ck_assert_int_eq(map_at(ioas, buf, 4 * PAGE, BASE), 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 4 * PAGE, PAGE), 0);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(dma_dirties_the_attached_hwpt_only)
{
	uint32_t ioas, hwpt, other;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 4 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	/* a second dirty-tracking HWPT over the same IOAS */
	ck_assert_int_eq(hwpt_alloc(edu_devid, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &other), 0);
	ck_assert_int_eq(set_tracking(other, true), 0);
	edu_dma(edu, BASE, 8, true);
	ck_assert_uint_eq(dirty_word(other, 0, BASE, 4 * PAGE, PAGE), 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 4 * PAGE, PAGE), 1);
	/* replace: the DMA goes through the other one now */
	ck_assert_int_eq(attach(edu, other), 0);
	edu_dma(edu, BASE + PAGE, 8, true);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 4 * PAGE, PAGE), 0);
	ck_assert_uint_eq(dirty_word(other, 0, BASE, 4 * PAGE, PAGE), 2);
	close_fd(edu);
	ck_assert_int_eq(destroy(other), 0);
	ck_assert_int_eq(unmap_range(ioas, 0, UINT64_MAX), 0);
	ck_assert_int_eq(destroy(hwpt), 0);
	ck_assert_int_eq(destroy(ioas), 0);
}
END_TEST

START_TEST(device_dma_write_dirties_read_does_not)
{
	uint32_t ioas, hwpt;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 16 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_int_eq(dev_write(EDU, BASE + PAGE - 4, 8), 0);	/* 0, 1 */
	ck_assert_int_eq(dev_read(EDU, BASE + 4 * PAGE, 2 * PAGE), 0);
	ck_assert_int_eq(dev_write(EDU, BASE + 6 * PAGE, 2 * PAGE), 0); /* 6, 7 */
	/* a faulting write moves nothing and dirties nothing */
	ck_assert_int_eq(dev_write(EDU, BASE + 15 * PAGE, 2 * PAGE), -EFAULT);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 0xc3);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

/* The user's bitmap as the kernel pins it: no error, whatever happens. */
START_TEST(bitmap_memory_faults_are_swallowed)
{
	uint32_t ioas, hwpt;
	uint8_t *two;
	uint64_t *tail;
	int edu;

	hwpt = edu_tracked(&edu, &ioas, 128 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	edu_dma(edu, BASE + PAGE, 8, true);
	edu_dma(edu, BASE + 70 * PAGE, 8, true);
	/* no bitmap at all: 0, nothing read, nothing cleared */
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 128 * PAGE, PAGE, NULL), 0);
	/* a bitmap whose second word lies in an unmapped page: the first
	 * word is reported (and cleared), the rest is not */
	two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(two, MAP_FAILED);
	ck_assert_int_eq(munmap(two + PAGE, PAGE), 0);
	tail = (uint64_t *)(two + PAGE - 8);
	*tail = 0;
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 128 * PAGE, PAGE, tail), 0);
	ck_assert_uint_eq(*tail, 2);
	{
		uint64_t bm[2] = { 0 };

		ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 128 * PAGE, PAGE,
					    bm), 0);
		ck_assert_uint_eq(bm[0], 0);
		ck_assert_uint_eq(bm[1], UINT64_C(1) << 6);
	}
	/* a read-only bitmap: nothing written, nothing cleared */
	edu_dma(edu, BASE, 8, true);
	ck_assert_int_eq(mprotect(two, PAGE, PROT_READ), 0);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 64 * PAGE, PAGE, two), 0);
	ck_assert_uint_eq(*(uint64_t *)two, 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 64 * PAGE, PAGE), 1);
	munmap(two, PAGE);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* VFIO DMA logging                                                    */

START_TEST(dma_logging_configuration)
{
	int nic;

	/* vfio-pci has no log_ops: ENOTTY */
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), ENOTTY);
	/* the driver cannot change under an open file */
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, true, 0),
			 -EBUSY);
	close_fd(nic);
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, "0000:00:09.0",
						      true, 0), -ENOENT);
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, MDEV, true, 0),
			 -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, false, 4),
			 -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_dma_logging(NULL, NIC, true, 0),
			 -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, true, 0), 0);
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), 0);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
				 NULL, 0), 0);
	ck_assert_int_eq(feature(nic, PROBE | GET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
				 NULL, 0), 0);
	/* START and STOP are SET only, REPORT is GET only */
	ck_assert_int_eq(feature(nic, PROBE | GET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), EINVAL);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
				 NULL, 0), EINVAL);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
				 NULL, 0), EINVAL);
	close_fd(nic);
	/* the emulated device's driver has none */
	nic = open_bound(MDEV, NULL);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), ENOTTY);
	close_fd(nic);
	/* and a device can lose it again */
	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, false, 0), 0);
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), ENOTTY);
	close_fd(nic);
}
END_TEST

START_TEST(dma_logging_start_rules)
{
	struct vfio_device_feature_dma_logging_range *r;
	uint64_t ps;
	uint32_t ioas;
	int nic = nic_logging(0, &ioas, 16 * PAGE);

	r = calloc(257, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < 257; i++) {
		r[i].iova = BASE + (uint64_t)i * 2 * PAGE;
		r[i].length = PAGE;
	}
	/* argsz below the control struct */
	{
		struct vfio_device_feature_dma_logging_control c = { 0 };

		ck_assert_int_eq(feature(nic, SET |
					 VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
					 &c, sizeof(c) - 8), EINVAL);
	}
	ps = PAGE;
	ck_assert_int_eq(log_start(nic, &ps, r, 0), EINVAL);
	ck_assert_int_eq(log_start(nic, &ps, r, 257), E2BIG);
	ck_assert_int_eq(log_start(nic, &ps, NULL, 1), EFAULT);
	/* alignment of iova and length to the page size */
	ck_assert_int_eq(log_start1(nic, PAGE, BASE + 512, PAGE), EINVAL);
	ck_assert_int_eq(log_start1(nic, PAGE, BASE, PAGE + 512), EINVAL);
	ck_assert_int_eq(log_start1(nic, 0, BASE, PAGE), EINVAL);
	ck_assert_int_eq(log_start1(nic, PAGE, UINT64_MAX - PAGE + 1, 2 * PAGE),
			 EOVERFLOW);
	/* overlapping ranges, in any order; unsorted ones are fine */
	{
		struct vfio_device_feature_dma_logging_range o[3] = {
			{ BASE + 8 * PAGE, 2 * PAGE },
			{ BASE, 4 * PAGE },
			{ BASE + 3 * PAGE, 2 * PAGE },
		};

		ps = PAGE;
		ck_assert_int_eq(log_start(nic, &ps, o, 3), EINVAL);
		ck_assert_int_eq(log_start(nic, &ps, o, 2), 0);
		/* one tracker: started twice, EINVAL */
		ck_assert_int_eq(log_start(nic, &ps, o, 2), EINVAL);
		ck_assert_int_eq(log_stop(nic), 0);
		ck_assert_int_eq(log_stop(nic), 0);	/* stopped: fine */
	}
	/* 256 ranges: the most */
	ps = PAGE;
	ck_assert_int_eq(log_start(nic, &ps, r, 256), 0);
	ck_assert_uint_eq(ps, PAGE);
	ck_assert_int_eq(log_stop(nic), 0);
	/* the page size back is the tracker's: a power of two in its span */
	ps = 3 * PAGE;	/* IS_ALIGNED() with 3 * PAGE - 1 */
	r[0].iova = 0;
	r[0].length = 12 * PAGE;
	ck_assert_int_eq(log_start(nic, &ps, r, 1), 0);
	ck_assert_uint_eq(ps, 2 * PAGE);
	ck_assert_int_eq(log_stop(nic), 0);
	ps = 1;
	ck_assert_int_eq(log_start(nic, &ps, r, 1), 0);
	ck_assert_uint_eq(ps, 4096);
	ck_assert_int_eq(log_stop(nic), 0);
	ps = UINT64_C(1) << 40;
	r[0].length = ps;
	ck_assert_int_eq(log_start(nic, &ps, r, 1), 0);
	ck_assert_uint_eq(ps, UINT64_C(1) << 30);
	ck_assert_int_eq(log_stop(nic), 0);
	free(r);
	nic_done(nic, ioas);
}
END_TEST

START_TEST(dma_logging_report_rules)
{
	uint64_t bm[4] = { 0 };
	uint32_t ioas;
	int nic = nic_logging(0, &ioas, 16 * PAGE);

	{
		struct vfio_device_feature_dma_logging_report rep = { 0 };

		ck_assert_int_eq(feature(nic, GET |
					 VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
					 &rep, sizeof(rep) - 8), EINVAL);
	}
	/* page size: a power of two, 4 KiB at least */
	ck_assert_int_eq(log_report(nic, BASE, PAGE, 2048, bm), EINVAL);
	ck_assert_int_eq(log_report(nic, BASE, PAGE, 3 * PAGE, bm), EINVAL);
	ck_assert_int_eq(log_report(nic, BASE, PAGE, 0, bm), EINVAL);
	ck_assert_int_eq(log_report(nic, UINT64_MAX - PAGE + 1, PAGE, PAGE, bm),
			 EOVERFLOW);
	/* the bitmap is pinned before the driver is asked */
	ck_assert_int_eq(log_report(nic, BASE, PAGE, PAGE, NULL), EFAULT);
	/* no tracker */
	ck_assert_int_eq(log_report(nic, BASE, PAGE, PAGE, bm), EINVAL);
	ck_assert_int_eq(log_start1(nic, PAGE, BASE, 16 * PAGE), 0);
	ck_assert_int_eq(log_report(nic, BASE, 16 * PAGE, PAGE, bm), 0);
	ck_assert_uint_eq(bm[0], 0);
	ck_assert_int_eq(log_report(nic, BASE, 0, PAGE, bm), 0);
	ck_assert_int_eq(log_stop(nic), 0);
	ck_assert_int_eq(log_report(nic, BASE, PAGE, PAGE, bm), EINVAL);
	nic_done(nic, ioas);
}
END_TEST

START_TEST(dma_logging_report_after_dma)
{
	uint32_t ioas;
	int nic = nic_logging(0, &ioas, 64 * PAGE);

	ck_assert_int_eq(log_start1(nic, PAGE, BASE, 32 * PAGE), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 2 * PAGE + 10, 100), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 31 * PAGE, 2 * PAGE), 0);
	ck_assert_int_eq(dev_read(NIC, BASE + 5 * PAGE, PAGE), 0);
	/* outside the tracked ranges: the device logs nothing */
	ck_assert_int_eq(dev_write(NIC, BASE + 40 * PAGE, PAGE), 0);
	ck_assert_uint_eq(log_word(nic, BASE, 64 * PAGE, PAGE),
			  (UINT64_C(1) << 2) | (UINT64_C(1) << 31));
	/* reported: cleared */
	ck_assert_uint_eq(log_word(nic, BASE, 64 * PAGE, PAGE), 0);
	/* a report of a part: the rest stays */
	ck_assert_int_eq(dev_write(NIC, BASE + 4 * PAGE, 8), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 9 * PAGE, 8), 0);
	ck_assert_uint_eq(log_word(nic, BASE + 8 * PAGE, 8 * PAGE, PAGE), 2);
	ck_assert_uint_eq(log_word(nic, BASE, 8 * PAGE, 2 * PAGE), 4);
	ck_assert_uint_eq(log_word(nic, BASE, 64 * PAGE, PAGE), 0);
	/* stopped: the log is gone */
	ck_assert_int_eq(dev_write(NIC, BASE, 8), 0);
	ck_assert_int_eq(log_stop(nic), 0);
	ck_assert_int_eq(log_start1(nic, PAGE, BASE, 32 * PAGE), 0);
	ck_assert_uint_eq(log_word(nic, BASE, 64 * PAGE, PAGE), 0);
	/* closing the device stops it */
	ck_assert_int_eq(dev_write(NIC, BASE, 8), 0);
	close_fd(nic);
	nic = open_bound(NIC, NULL);
	{
		uint64_t bm[1] = { 0 };

		ck_assert_int_eq(log_report(nic, BASE, PAGE, PAGE, bm), EINVAL);
	}
	close_fd(nic);
	ck_assert_int_eq(unmap_range(ioas, 0, UINT64_MAX), 0);
	ck_assert_int_eq(destroy(ioas), 0);
}
END_TEST

START_TEST(dma_logging_merges_ranges)
{
	struct vfio_device_feature_dma_logging_range r[3] = {
		{ BASE, PAGE },
		{ BASE + 4 * PAGE, PAGE },
		{ BASE + 20 * PAGE, PAGE },
	};
	uint64_t ps = PAGE;
	uint32_t ioas;
	int nic = nic_logging(2, &ioas, 32 * PAGE);

	/* 3 ranges for a tracker of 2: the two nearest merge, the gap
	 * between them is tracked too, the farther one's is not */
	ck_assert_int_eq(log_start(nic, &ps, r, 3), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 2 * PAGE, 8), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 10 * PAGE, 8), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 20 * PAGE, 8), 0);
	ck_assert_uint_eq(log_word(nic, BASE, 32 * PAGE, PAGE),
			  (UINT64_C(1) << 2) | (UINT64_C(1) << 20));
	nic_done(nic, ioas);
}
END_TEST

START_TEST(dma_logging_coarse_pages)
{
	uint64_t bm[8 * 2];
	uint32_t ioas;
	int nic = nic_logging(0, &ioas, 2 * SZ_2M);

	/* tracked at 2 MiB: a write dirties its whole 2 MiB page */
	ck_assert_int_eq(log_start1(nic, SZ_2M, BASE, 2 * SZ_2M), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + SZ_2M + 0x1000, 8), 0);
	memset(bm, 0, sizeof(bm));
	ck_assert_int_eq(log_report(nic, BASE + SZ_2M, SZ_2M, PAGE, bm), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(bm[i], UINT64_MAX);
	ck_assert_uint_eq(log_word(nic, BASE, 2 * SZ_2M, SZ_2M), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 5, 8), 0);
	ck_assert_uint_eq(log_word(nic, BASE, 2 * SZ_2M, SZ_2M), 1);
	nic_done(nic, ioas);
}
END_TEST

START_TEST(dma_logging_bitmap_efault)
{
	uint8_t *two;
	uint64_t *tail;
	uint32_t ioas;
	int nic = nic_logging(0, &ioas, 128 * PAGE);

	ck_assert_int_eq(log_start1(nic, PAGE, BASE, 128 * PAGE), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + PAGE, 8), 0);
	ck_assert_int_eq(dev_write(NIC, BASE + 70 * PAGE, 8), 0);
	two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(two, MAP_FAILED);
	ck_assert_int_eq(munmap(two + PAGE, PAGE), 0);
	tail = (uint64_t *)(two + PAGE - 8);
	*tail = 0;
	/* the first window is reported (and cleared), then EFAULT */
	ck_assert_int_eq(log_report(nic, BASE, 128 * PAGE, PAGE, tail), EFAULT);
	ck_assert_uint_eq(*tail, 2);
	{
		uint64_t bm[2] = { 0 };

		ck_assert_int_eq(log_report(nic, BASE, 128 * PAGE, PAGE, bm),
				 0);
		ck_assert_uint_eq(bm[0], 0);
		ck_assert_uint_eq(bm[1], UINT64_C(1) << 6);
	}
	munmap(two, PAGE);
	nic_done(nic, ioas);
}
END_TEST

START_TEST(dma_logging_start_copy_back_efault)
{
	uint8_t *page;
	struct vfio_device_feature *f;
	struct vfio_device_feature_dma_logging_control *c;
	struct vfio_device_feature_dma_logging_range r = { BASE, 4 * PAGE };
	uint32_t ioas;
	int nic = nic_logging(0, &ioas, 4 * PAGE);

	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(page, MAP_FAILED);
	f = (void *)page;
	c = (void *)f->data;
	f->argsz = sizeof(*f) + sizeof(*c);
	f->flags = SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	c->page_size = PAGE;
	c->num_ranges = 1;
	c->ranges = (uintptr_t)&r;
	ck_assert_int_eq(mprotect(page, PAGE, PROT_READ), 0);
	/* the page size cannot be written back: the tracker is stopped */
	ck_assert_int_eq(xioctl_fd(nic, VFIO_DEVICE_FEATURE, f), EFAULT);
	{
		uint64_t bm[1] = { 0 };

		ck_assert_int_eq(log_report(nic, BASE, PAGE, PAGE, bm), EINVAL);
	}
	ck_assert_int_eq(log_start1(nic, PAGE, BASE, 4 * PAGE), 0);
	munmap(page, PAGE);
	nic_done(nic, ioas);
}
END_TEST

/* The same writes, seen by the IOMMU and by the device. */
START_TEST(one_view_whatever_the_source)
{
	uint32_t ioas, hwpt;
	int edu;

	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, EDU, true, 0), 0);
	hwpt = edu_tracked(&edu, &ioas, 64 * PAGE);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_int_eq(log_start1(edu, PAGE, BASE, 64 * PAGE), 0);
	edu_dma(edu, BASE + 3 * PAGE + 100, 200, true);
	edu_dma(edu, BASE + 5 * PAGE - 50, 100, true);
	edu_dma(edu, BASE + 9 * PAGE, 4000, false);
	ck_assert_int_eq(dev_write(EDU, BASE + 40 * PAGE, 3 * PAGE), 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 64 * PAGE, PAGE),
			  log_word(edu, BASE, 64 * PAGE, PAGE));
	ck_assert_uint_eq(log_word(edu, BASE, 64 * PAGE, PAGE), 0);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Migration                                                           */

START_TEST(migration_feature)
{
	struct vfio_device_feature_migration mig = { 0 };
	struct vfio_device_feature_mig_state st = { 0 };
	struct vfio_device_feature_mig_data_size sz = { 0 };
	const uint64_t all = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			     VFIO_MIGRATION_PRE_COPY;
	int nic;

	ck_assert_int_eq(iommufd_fake_set_migration(fake, NIC,
						    VFIO_MIGRATION_P2P),
			 -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_migration(fake, NIC, 8 | 1), -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_migration(fake, MDEV, 1), -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_migration(fake, "nope", 1), -ENOENT);
	ck_assert_int_eq(iommufd_fake_set_migration(fake, NIC, all), 0);
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(iommufd_fake_set_migration(fake, NIC, 0), -EBUSY);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig,
				 sizeof(mig)), 0);
	ck_assert_uint_eq(mig.flags, all);
	ck_assert_int_eq(feature(nic, SET | VFIO_DEVICE_FEATURE_MIGRATION, &mig,
				 sizeof(mig)), EINVAL);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig,
				 4), EINVAL);
	/* the device state: always RUNNING, no transitions modelled */
	st.data_fd = 7;
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
				 &st, sizeof(st)), 0);
	ck_assert_uint_eq(st.device_state, VFIO_DEVICE_STATE_RUNNING);
	ck_assert_int_eq(st.data_fd, -1);
	st.device_state = VFIO_DEVICE_STATE_RUNNING;
	ck_assert_int_eq(feature(nic, SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
				 &st, sizeof(st)), 0);
	st.device_state = VFIO_DEVICE_STATE_NR;
	ck_assert_int_eq(feature(nic, SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
				 &st, sizeof(st)), EINVAL);
	st.device_state = VFIO_DEVICE_STATE_STOP;
	ck_assert_int_eq(feature(nic, SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
				 &st, sizeof(st)), EOPNOTSUPP);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
				 &sz, sizeof(sz)), EOPNOTSUPP);
	ck_assert_int_eq(feature(nic, PROBE | GET |
					      VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
				 NULL, 0), 0);
	/* 6.2: no PRE_COPY, no MIG_DATA_SIZE */
	set_version(6, 2);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig,
				 sizeof(mig)), 0);
	ck_assert_uint_eq(mig.flags, VFIO_MIGRATION_STOP_COPY |
					     VFIO_MIGRATION_P2P);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
				 &sz, sizeof(sz)), ENOTTY);
	close_fd(nic);
	/* migration without DMA logging is a device of its own */
	set_version(6, 17);
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), ENOTTY);
	close_fd(nic);
	/* and the edu device has neither */
	nic = open_bound(EDU, NULL);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig,
				 sizeof(mig)), ENOTTY);
	ck_assert_int_eq(feature(nic, GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
				 &st, sizeof(st)), ENOTTY);
	close_fd(nic);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Versions and fault injection                                        */

START_TEST(version_gates)
{
	uint32_t ioas, hwpt;
	uint64_t bm[1] = { 0 };
	int edu, nic;

	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, NIC, true, 0), 0);
	hwpt = edu_tracked(&edu, &ioas, 4 * PAGE);
	nic = open_bound(NIC, NULL);
	/* the HWPT dirty commands came with 6.7 */
	set_version(6, 6);
	ck_assert_int_eq(set_tracking(hwpt, true), ENOTTY);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, PAGE, PAGE, bm), ENOTTY);
	set_version(6, 7);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, PAGE, PAGE, bm), 0);
	/* DMA logging with 6.2: before it the core knows no such feature and
	 * vfio-pci's device_feature answers ENOTTY */
	set_version(6, 1);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), ENOTTY);
	ck_assert_int_eq(log_start1(nic, PAGE, BASE, PAGE), ENOTTY);
	set_version(6, 2);
	ck_assert_int_eq(feature(nic, PROBE | SET |
					      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), 0);
	ck_assert_int_eq(log_start1(nic, PAGE, BASE, PAGE), 0);
	ck_assert_int_eq(log_stop(nic), 0);
	set_version(6, 17);
	close_fd(nic);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

START_TEST(fault_injection_changes_nothing)
{
	uint32_t ioas, hwpt;
	int edu;

	ck_assert_int_eq(iommufd_fake_set_dma_logging(fake, EDU, true, 0), 0);
	hwpt = edu_tracked(&edu, &ioas, 16 * PAGE);
	/* SET_DIRTY_TRACKING fails: tracking stays off */
	iommufd_fake_fail_ioctl(fake, IOMMU_HWPT_SET_DIRTY_TRACKING, ENOMEM, 1);
	ck_assert_int_eq(set_tracking(hwpt, true), ENOMEM);
	edu_dma(edu, BASE, 8, true);
	ck_assert_int_eq(set_tracking(hwpt, true), 0);
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 0);
	/* GET_DIRTY_BITMAP fails: nothing read, nothing cleared */
	edu_dma(edu, BASE + PAGE, 8, true);
	iommufd_fake_fail_ioctl(fake, IOMMU_HWPT_GET_DIRTY_BITMAP, EIO, 1);
	{
		uint64_t bm[1] = { 0 };

		ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 16 * PAGE, PAGE, bm),
				 EIO);
		ck_assert_uint_eq(bm[0], 0);
	}
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 2);
	/* the n-th call: the same */
	edu_dma(edu, BASE + 2 * PAGE, 8, true);
	iommufd_fake_fail_nth(fake, 1, EINTR);
	{
		uint64_t bm[1] = { 0 };

		ck_assert_int_eq(get_bitmap(hwpt, 0, BASE, 16 * PAGE, PAGE, bm),
				 EINTR);
	}
	ck_assert_uint_eq(dirty_word(hwpt, 0, BASE, 16 * PAGE, PAGE), 4);
	/* DMA logging START fails: not started */
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_FEATURE, ENOMEM, 1);
	ck_assert_int_eq(log_start1(edu, PAGE, BASE, 16 * PAGE), ENOMEM);
	{
		uint64_t bm[1] = { 0 };

		ck_assert_int_eq(log_report(edu, BASE, PAGE, PAGE, bm), EINVAL);
	}
	ck_assert_int_eq(log_start1(edu, PAGE, BASE, 16 * PAGE), 0);
	/* REPORT fails: the log is kept */
	edu_dma(edu, BASE + 3 * PAGE, 8, true);
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_FEATURE, EIO, 1);
	{
		uint64_t bm[1] = { 0 };

		ck_assert_int_eq(log_report(edu, BASE, 16 * PAGE, PAGE, bm),
				 EIO);
		ck_assert_uint_eq(bm[0], 0);
	}
	ck_assert_uint_eq(log_word(edu, BASE, 16 * PAGE, PAGE), 8);
	/* STOP fails: still logging */
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_FEATURE, EIO, 1);
	ck_assert_int_eq(log_stop(edu), EIO);
	edu_dma(edu, BASE + 4 * PAGE, 8, true);
	ck_assert_uint_eq(log_word(edu, BASE, 16 * PAGE, PAGE), 16);
	iommufd_fake_fail_clear(fake);
	edu_untrack(edu, ioas, hwpt);
}
END_TEST

static Suite *fake_dirty_suite(void)
{
	Suite *s = suite_create("fake-dirty");
	TCase *tc = fx_tcase("dirty");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, get_dirty_bitmap_rules);
	tcase_add_test(tc, edu_dma_dirties_written_pages_4k);
	tcase_add_test(tc, edu_dma_dirties_at_2m);
	tcase_add_test(tc, no_clear_keeps_bits);
	tcase_add_test(tc, tracking_off_records_nothing);
	tcase_add_test(tc, dirty_capability_per_iommu);
	tcase_add_test(tc, walk_stops_at_first_hole);
	tcase_add_test(tc, unmap_drops_dirty_bits);
	tcase_add_test(tc, dma_dirties_the_attached_hwpt_only);
	tcase_add_test(tc, device_dma_write_dirties_read_does_not);
	tcase_add_test(tc, bitmap_memory_faults_are_swallowed);
	tcase_add_test(tc, dma_logging_configuration);
	tcase_add_test(tc, dma_logging_start_rules);
	tcase_add_test(tc, dma_logging_report_rules);
	tcase_add_test(tc, dma_logging_report_after_dma);
	tcase_add_test(tc, dma_logging_merges_ranges);
	tcase_add_test(tc, dma_logging_coarse_pages);
	tcase_add_test(tc, dma_logging_bitmap_efault);
	tcase_add_test(tc, dma_logging_start_copy_back_efault);
	tcase_add_test(tc, one_view_whatever_the_source);
	tcase_add_test(tc, migration_feature);
	tcase_add_test(tc, version_gates);
	tcase_add_test(tc, fault_injection_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fake_dirty_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
