/* SPDX-License-Identifier: MIT */
/*
 * The fake kernel at the raw uAPI level: iommufd_fake_open/ioctl/close with
 * the kernel's structs, one test per rule. Each expectation is what the
 * kernel does (drivers/iommu/iommufd/, tools/testing/selftests/iommu/).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/iommufd.h>
#include <iommufd/fake.h>

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA

static struct iommufd_fake *fake;
static int fd = -1;
static uint64_t PAGE;
static void *buf;		/* 64 pages of RW memory, 2 MiB aligned */
static void *buf_map;
#define BUF_PAGES 64
#define BUF_ALIGN (2ull << 20)

static void setup(void)
{
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	fd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	buf_map = mmap(NULL, BUF_PAGES * PAGE + BUF_ALIGN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(buf_map, MAP_FAILED);
	buf = (void *)(((uintptr_t)buf_map + BUF_ALIGN - 1) & ~(BUF_ALIGN - 1));
}

static void teardown(void)
{
	if (fd >= 0)
		iommufd_fake_close(fake, fd);
	fd = -1;
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	iommufd_fake_free(fake);
	munmap(buf_map, BUF_PAGES * PAGE + BUF_ALIGN);
}

/* 0 or the errno of the ioctl */
static int xioctl(unsigned long req, void *arg)
{
	errno = 0;
	if (iommufd_fake_ioctl(fake, fd, req, arg) < 0)
		return errno ? errno : -1;
	return 0;
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), 0);
	ck_assert_uint_ne(cmd.out_ioas_id, 0);
	return cmd.out_ioas_id;
}

static int map(uint32_t ioas, void *va, uint64_t len, uint64_t *iova,
	       uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len, .iova = *iova,
	};
	int ret = xioctl(IOMMU_IOAS_MAP, &cmd);

	if (!ret)
		*iova = cmd.iova;
	return ret;
}

static int map_fixed(uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	return map(ioas, va, len, &iova, FIXED | RW);
}

static int unmap(uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = len,
	};
	int ret = xioctl(IOMMU_IOAS_UNMAP, &cmd);

	if (out)
		*out = ret ? UINT64_MAX : cmd.length;
	return ret;
}

static int map_file(uint32_t ioas, int mfd, uint64_t start, uint64_t len,
		    uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas,
		.fd = mfd, .start = start, .length = len, .iova = *iova,
	};
	int ret = xioctl(IOMMU_IOAS_MAP_FILE, &cmd);

	if (!ret)
		*iova = cmd.iova;
	return ret;
}

static int copy(uint32_t dst, uint64_t *dst_iova, uint32_t src,
		uint64_t src_iova, uint64_t len, uint32_t flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = flags, .dst_ioas_id = dst,
		.src_ioas_id = src, .length = len, .dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int ret = xioctl(IOMMU_IOAS_COPY, &cmd);

	if (!ret)
		*dst_iova = cmd.dst_iova;
	return ret;
}

static int destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return xioctl(IOMMU_DESTROY, &cmd);
}

static int ranges(uint32_t ioas, struct iommu_iova_range *r, uint32_t *num,
		  uint64_t *align)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = *num,
		.allowed_iovas = (uintptr_t)r,
	};
	int ret = xioctl(IOMMU_IOAS_IOVA_RANGES, &cmd);

	*num = cmd.num_iovas;
	if (align)
		*align = cmd.out_iova_alignment;
	return ret;
}

static int allow(uint32_t ioas, struct iommu_iova_range *r, uint32_t num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = num,
		.allowed_iovas = (uintptr_t)r,
	};

	return xioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static int option(uint32_t option_id, uint16_t op, uint32_t object_id,
		  uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = option_id, .op = op,
		.object_id = object_id, .val64 = *val,
	};
	int ret = xioctl(IOMMU_OPTION, &cmd);

	*val = cmd.val64;
	return ret;
}

static int vfio_ioas(uint16_t op, uint32_t *id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd), .ioas_id = *id, .op = op,
	};
	int ret = xioctl(IOMMU_VFIO_IOAS, &cmd);

	*id = cmd.ioas_id;
	return ret;
}

static int memfd_pages(uint64_t npages)
{
	int mfd = memfd_create("test", MFD_CLOEXEC);

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, (off_t)(npages * PAGE)), 0);
	return mfd;
}

static uint64_t unmap_all(uint32_t ioas)
{
	uint64_t len;

	ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, &len), 0);
	return len;
}

static void set_version(unsigned int major, unsigned int minor)
{
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, major, minor), 0);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

START_TEST(open_unknown_path)
{
	errno = 0;
	ck_assert_int_eq(iommufd_fake_open(fake, "/dev/nonesuch", O_RDWR), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(stat_char_device)
{
	struct stat st;

	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/iommu", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), 10);
	ck_assert_uint_eq(minor(st.st_rdev), 123);
	ck_assert_int_eq(iommufd_fake_fstat(fake, fd, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), 10);
	ck_assert_uint_eq(minor(st.st_rdev), 123);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/nonesuch", &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(open_cloexec_follows_flags)
{
	int fd2 = iommufd_fake_open(fake, "/dev/iommu", O_RDWR);

	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(fd2, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 2);
	ck_assert_int_eq(iommufd_fake_close(fake, fd2), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 1);
}
END_TEST

START_TEST(ioctl_bad_fd)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };
	int p[2];

	errno = 0;
	ck_assert_int_eq(iommufd_fake_ioctl(fake, 1000, IOMMU_DESTROY, &cmd), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(pipe(p), 0);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_ioctl(fake, p[0], IOMMU_DESTROY, &cmd), -1);
	ck_assert_int_eq(errno, ENOTTY);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(ioctl_unknown_numbers)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	ck_assert_int_eq(xioctl(_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1), &cmd),
			 ENOTTY);
	ck_assert_int_eq(xioctl(_IO(IOMMUFD_TYPE, 0xa0), &cmd), ENOTTY);
	/* a known nr, but not as _IO(';', nr) */
	ck_assert_int_eq(xioctl(_IOW(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY, __u32),
				&cmd), ENOTTY);
	ck_assert_int_eq(xioctl(_IO('x', IOMMUFD_CMD_DESTROY), &cmd), ENOTTY);
}
END_TEST

START_TEST(ioctl_bad_pointer)
{
	ck_assert_int_eq(xioctl(IOMMU_DESTROY, NULL), EFAULT);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, (void *)16), EFAULT);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Size rules, for every command                                       */

struct len_case {
	unsigned long req;
	size_t min;
	size_t size;
};

#define LEN(_req, _struct, _last) \
	{ _req, offsetofend(struct _struct, _last), sizeof(struct _struct) }

static const struct len_case len_cases[] = {
	LEN(IOMMU_DESTROY, iommu_destroy, id),
	LEN(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, out_ioas_id),
	LEN(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, allowed_iovas),
	LEN(IOMMU_IOAS_COPY, iommu_ioas_copy, src_iova),
	LEN(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, out_iova_alignment),
	LEN(IOMMU_IOAS_MAP, iommu_ioas_map, iova),
	LEN(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, length),
	LEN(IOMMU_OPTION, iommu_option, val64),
	LEN(IOMMU_VFIO_IOAS, iommu_vfio_ioas, __reserved),
	LEN(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, __reserved),
	LEN(IOMMU_GET_HW_INFO, iommu_hw_info, __reserved),
	LEN(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking,
	    __reserved),
	LEN(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap, data),
	LEN(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate, __reserved),
	LEN(IOMMU_FAULT_QUEUE_ALLOC, iommu_fault_alloc, out_fault_fd),
	LEN(IOMMU_IOAS_MAP_FILE, iommu_ioas_map_file, iova),
	LEN(IOMMU_VIOMMU_ALLOC, iommu_viommu_alloc, out_viommu_id),
	LEN(IOMMU_VDEVICE_ALLOC, iommu_vdevice_alloc, virt_id),
	LEN(IOMMU_IOAS_CHANGE_PROCESS, iommu_ioas_change_process, __reserved),
	LEN(IOMMU_VEVENTQ_ALLOC, iommu_veventq_alloc, out_veventq_fd),
	LEN(IOMMU_HW_QUEUE_ALLOC, iommu_hw_queue_alloc, length),
};

static void close_fault_fd(const struct len_case *c, const void *cmd)
{
	const struct iommu_fault_alloc *f = cmd;

	if (c->req == IOMMU_FAULT_QUEUE_ALLOC)
		ck_assert_int_eq(iommufd_fake_close(fake, (int)f->out_fault_fd),
				 0);
}

START_TEST(size_rules)
{
	const struct len_case *c = &len_cases[_i];
	union {
		unsigned char bytes[128];
		uint32_t size;
	} cmd;
	int rc, rc2;

	/* shorter than the original struct */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = (uint32_t)c->min - 1;
	cmd.bytes[c->size] = 0xff;
	ck_assert_int_eq(xioctl(c->req, &cmd), EINVAL);
	/* longer, with a non-zero byte the kernel does not know */
	cmd.size = (uint32_t)c->size + 1;
	ck_assert_int_eq(xioctl(c->req, &cmd), E2BIG);
	/* exact: whatever the command says ... */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = (uint32_t)c->size;
	rc = xioctl(c->req, &cmd);
	if (!rc)
		close_fault_fd(c, &cmd);
	/* ... a longer struct with a zero tail says the same */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = (uint32_t)c->size + 8;
	rc2 = xioctl(c->req, &cmd);
	if (!rc2)
		close_fault_fd(c, &cmd);
	ck_assert_int_eq(rc, rc2);
	ck_assert_int_ne(rc, E2BIG);
	/* and the original size is accepted (zero-extended) */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = (uint32_t)c->min;
	rc2 = xioctl(c->req, &cmd);
	if (!rc2)
		close_fault_fd(c, &cmd);
	ck_assert_int_ne(rc2, E2BIG);
	if (c->req != IOMMU_HWPT_ALLOC && c->req != IOMMU_VEVENTQ_ALLOC)
		ck_assert_int_eq(rc, rc2);
}
END_TEST

START_TEST(destroy_future_tail)
{
	struct {
		struct iommu_destroy cmd;
		uint64_t future;
	} c = { .cmd = { .size = sizeof(c), .id = 0 } };

	ck_assert_int_eq(xioctl(IOMMU_DESTROY, &c), ENOENT);
	c.future = 1;
	ck_assert_int_eq(xioctl(IOMMU_DESTROY, &c), E2BIG);
	c.cmd.size = sizeof(c.cmd);
	ck_assert_int_eq(xioctl(IOMMU_DESTROY, &c), ENOENT);
	c.cmd.size = sizeof(c.cmd) - 1;
	ck_assert_int_eq(xioctl(IOMMU_DESTROY, &c), EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kernel versions                                                     */

START_TEST(version_setter)
{
	struct stat st;

	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 0), -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 5, 19), -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 2), 0);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 7, 0), 0);
	/* 6.1: VFIO type1 only, no iommufd to open */
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 1), 0);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_open(fake, "/dev/iommu", O_RDWR), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/iommu", &st), -1);
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/vfio", &st), 0);
	ck_assert_uint_eq(major(st.st_rdev), 10);
	ck_assert_uint_eq(minor(st.st_rdev), 196);
}
END_TEST

START_TEST(version_6_2_commands)
{
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) - 8 };
	struct iommu_hw_info info = { .size = 32 };
	struct iommu_fault_alloc fault = { .size = sizeof(fault) };
	uint32_t ioas;
	uint64_t iova = 0;

	set_version(6, 2);
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &hwpt), ENOTTY);
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), ENOTTY);
	ck_assert_int_eq(xioctl(IOMMU_FAULT_QUEUE_ALLOC, &fault), ENOTTY);
	/* the IOAS commands are there */
	ioas = ioas_alloc();
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), 0);
	ck_assert_uint_eq(unmap_all(ioas), PAGE);
}
END_TEST

START_TEST(version_map_file_6_13)
{
	int mfd = memfd_pages(1);
	uint32_t ioas = ioas_alloc();
	uint64_t iova = 0;

	set_version(6, 12);
	ck_assert_int_eq(map_file(ioas, mfd, 0, PAGE, &iova, RW), ENOTTY);
	set_version(6, 13);
	ck_assert_int_eq(map_file(ioas, mfd, 0, PAGE, &iova, RW), 0);
	ck_assert_uint_eq(unmap_all(ioas), PAGE);
	close(mfd);
}
END_TEST

START_TEST(version_change_process_6_14)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	set_version(6, 13);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), ENOTTY);
	set_version(6, 14);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), 0);
}
END_TEST

START_TEST(version_struct_growth)
{
	struct iommu_hwpt_alloc hwpt;
	struct iommu_viommu_alloc viommu;

	/* fault_id arrived in 6.11: before, a non-zero one is unknown tail */
	memset(&hwpt, 0, sizeof(hwpt));
	hwpt.size = sizeof(hwpt);
	hwpt.fault_id = 1;
	set_version(6, 10);
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &hwpt), E2BIG);
	set_version(6, 11);
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &hwpt), ENOENT);
	/* 6.6 knew only up to __reserved */
	memset(&hwpt, 0, sizeof(hwpt));
	hwpt.size = offsetofend(struct iommu_hwpt_alloc, data_uptr);
	hwpt.data_type = 1;
	hwpt.data_len = 8;
	set_version(6, 6);
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &hwpt), E2BIG);
	/* viommu user data arrived in 6.17 */
	memset(&viommu, 0, sizeof(viommu));
	viommu.size = sizeof(viommu);
	viommu.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
	viommu.data_len = 8;
	set_version(6, 16);
	ck_assert_int_eq(xioctl(IOMMU_VIOMMU_ALLOC, &viommu), E2BIG);
	set_version(6, 17);
	ck_assert_int_eq(xioctl(IOMMU_VIOMMU_ALLOC, &viommu), ENOENT);
}
END_TEST

START_TEST(hwpt_alloc_check_order)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd) };

	/* 6.6 refused unknown flags before looking up the device */
	set_version(6, 6);
	cmd.size = offsetofend(struct iommu_hwpt_alloc, __reserved);
	cmd.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), EOPNOTSUPP);
	cmd.flags = 0;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), ENOENT);
	/* since 6.7 flags are checked against the device's IOMMU, after the
	 * device lookup: no device, ENOENT whatever the flags */
	set_version(6, 17);
	cmd.size = sizeof(cmd);
	cmd.flags = 0x80000000u;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), ENOENT);
	cmd.flags = 0;
	cmd.__reserved = 1;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), EOPNOTSUPP);
	cmd.__reserved = 0;
	cmd.data_len = 8;	/* data_type NONE with data */
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), EINVAL);
}
END_TEST

START_TEST(hw_info_check_order)
{
	struct iommu_hw_info cmd = { .size = sizeof(cmd) };

	cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	set_version(6, 16);
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &cmd), EOPNOTSUPP);
	set_version(6, 17);
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &cmd), ENOENT);
	cmd.flags = 2;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &cmd), EOPNOTSUPP);
	cmd.flags = 0;
	cmd.__reserved[1] = 1;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &cmd), EOPNOTSUPP);
	cmd.__reserved[1] = 0;
	/* out_max_pasid_log2 was reserved before 6.15 */
	cmd.out_max_pasid_log2 = 1;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &cmd), ENOENT);
	set_version(6, 14);
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &cmd), EOPNOTSUPP);
}
END_TEST

START_TEST(device_commands_enoent)
{
	struct iommu_hwpt_set_dirty_tracking dirty = { .size = sizeof(dirty) };
	struct iommu_hwpt_get_dirty_bitmap bitmap = { .size = sizeof(bitmap) };
	struct iommu_hwpt_invalidate inv = { .size = sizeof(inv) };
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu) };
	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev) };
	struct iommu_veventq_alloc veventq = { .size = sizeof(veventq) };
	struct iommu_hw_queue_alloc hwq = { .size = sizeof(hwq) };
	uint32_t ioas = ioas_alloc();

	dirty.flags = 2;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &dirty), EOPNOTSUPP);
	dirty.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &dirty), ENOENT);
	dirty.hwpt_id = ioas;	/* not a HWPT */
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &dirty), ENOENT);

	bitmap.__reserved = 1;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &bitmap), EOPNOTSUPP);
	bitmap.__reserved = 0;
	bitmap.flags = 2;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &bitmap), EOPNOTSUPP);
	bitmap.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &bitmap), ENOENT);

	inv.entry_num = 3;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_INVALIDATE, &inv), EINVAL);
	ck_assert_uint_eq(inv.entry_num, 0);	/* written back on failure */
	ck_assert_int_eq(xioctl(IOMMU_HWPT_INVALIDATE, &inv), ENOENT);
	inv.hwpt_id = ioas;	/* exists, but takes no invalidation */
	ck_assert_int_eq(xioctl(IOMMU_HWPT_INVALIDATE, &inv), EINVAL);
	inv.__reserved = 1;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_INVALIDATE, &inv), EOPNOTSUPP);

	ck_assert_int_eq(xioctl(IOMMU_VIOMMU_ALLOC, &viommu), EOPNOTSUPP);
	viommu.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
	ck_assert_int_eq(xioctl(IOMMU_VIOMMU_ALLOC, &viommu), ENOENT);
	ck_assert_int_eq(xioctl(IOMMU_VDEVICE_ALLOC, &vdev), ENOENT);

	ck_assert_int_eq(xioctl(IOMMU_VEVENTQ_ALLOC, &veventq), EOPNOTSUPP);
	veventq.type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3;
	ck_assert_int_eq(xioctl(IOMMU_VEVENTQ_ALLOC, &veventq), EINVAL);
	veventq.veventq_depth = 4;
	ck_assert_int_eq(xioctl(IOMMU_VEVENTQ_ALLOC, &veventq), ENOENT);

	hwq.type = IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV;
	ck_assert_int_eq(xioctl(IOMMU_HW_QUEUE_ALLOC, &hwq), EINVAL);
	hwq.length = 2;
	hwq.nesting_parent_iova = UINT64_MAX;
	ck_assert_int_eq(xioctl(IOMMU_HW_QUEUE_ALLOC, &hwq), EOVERFLOW);
	hwq.nesting_parent_iova = 0;
	ck_assert_int_eq(xioctl(IOMMU_HW_QUEUE_ALLOC, &hwq), ENOENT);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Objects                                                             */

START_TEST(ids_lowest_free_never_zero)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	uint32_t a, b, c;

	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), EOPNOTSUPP);
	a = ioas_alloc();
	b = ioas_alloc();
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_eq(b, 2);
	ck_assert_int_eq(destroy(a), 0);
	c = ioas_alloc();
	ck_assert_uint_eq(c, 1);	/* xa_alloc reuses the lowest */
}
END_TEST

START_TEST(destroy_unknown)
{
	uint32_t ioas = ioas_alloc();

	ck_assert_int_eq(destroy(0), ENOENT);
	ck_assert_int_eq(destroy(ioas + 1), ENOENT);
	ck_assert_int_eq(destroy(ioas), 0);
	ck_assert_int_eq(destroy(ioas), ENOENT);
}
END_TEST

START_TEST(destroy_busy)
{
	/* Nothing holds an IOAS before devices exist (the VFIO compat IOAS
	 * holds no users), but a fault queue's fd holds its object. */
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };

	ck_assert_int_eq(xioctl(IOMMU_FAULT_QUEUE_ALLOC, &cmd), 0);
	ck_assert_uint_ne(cmd.out_fault_id, 0);
	ck_assert_int_eq(fcntl((int)cmd.out_fault_fd, F_GETFD) & FD_CLOEXEC,
			 FD_CLOEXEC);
	ck_assert_int_eq(destroy(cmd.out_fault_id), EBUSY);
	ck_assert_int_eq(iommufd_fake_close(fake, (int)cmd.out_fault_fd), 0);
	ck_assert_int_eq(destroy(cmd.out_fault_id), 0);
	cmd.flags = 1;
	ck_assert_int_eq(xioctl(IOMMU_FAULT_QUEUE_ALLOC, &cmd), EOPNOTSUPP);
}
END_TEST

START_TEST(fault_fd_keeps_iommufd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	uint32_t ioas = ioas_alloc();
	uint64_t iova = 0;

	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), 0);
	ck_assert_int_eq(xioctl(IOMMU_FAULT_QUEUE_ALLOC, &cmd), 0);
	/* the fault file holds the iommufd file: closing the fd frees nothing */
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
	fd = -1;
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 2);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), PAGE);
	ck_assert_int_eq(iommufd_fake_close(fake, (int)cmd.out_fault_fd), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP and UNMAP                                                       */

START_TEST(map_overlap_eexist)
{
	uint32_t ioas = ioas_alloc();
	uint64_t base = 1ull << 20;

	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, base + 16 * PAGE), 0);
	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, base + 16 * PAGE), EEXIST);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, base + 16 * PAGE), EEXIST);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, base + 17 * PAGE), EEXIST);
	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, base + 15 * PAGE), EEXIST);
	ck_assert_int_eq(map_fixed(ioas, buf, 3 * PAGE, base + 15 * PAGE), EEXIST);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, base + 15 * PAGE), 0);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, base + 18 * PAGE), 0);
	ck_assert_uint_eq(unmap_all(ioas), 4 * PAGE);
}
END_TEST

START_TEST(map_argument_checks)
{
	uint32_t ioas = ioas_alloc();
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = RW, .ioas_id = ioas,
		.user_va = (uintptr_t)buf, .length = PAGE,
	};
	uint64_t iova = 0;

	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, 0), EINVAL);
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, FIXED), EINVAL);
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW | 8), EOPNOTSUPP);
	cmd.__reserved = 1;
	ck_assert_int_eq(xioctl(IOMMU_IOAS_MAP, &cmd), EOPNOTSUPP);
	ck_assert_int_eq(map(ioas + 1, buf, PAGE, &iova, RW), ENOENT);
	ck_assert_int_eq(map(ioas, buf, 0, &iova, RW), EINVAL);
	/* PAGE_SIZE alignment of iova, length and user_va */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, PAGE + 512), EINVAL);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE + 512, PAGE), EINVAL);
	ck_assert_int_eq(map_fixed(ioas, (char *)buf + 512, PAGE, PAGE), EINVAL);
	ck_assert_int_eq(map(ioas, (char *)buf + 512, PAGE, &iova, RW), EINVAL);
	/* overflow */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, UINT64_MAX), EOVERFLOW);
	ck_assert_int_eq(map_fixed(ioas, buf, UINT64_MAX, 0), EOVERFLOW);
	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, UINT64_MAX - PAGE + 1),
			 EOVERFLOW);
	ck_assert_int_eq(map_fixed(ioas, (void *)(uintptr_t)(UINT64_MAX - PAGE + 1),
				   2 * PAGE, 0), EOVERFLOW);
	/* nothing was mapped */
	ck_assert_uint_eq(unmap_all(ioas), 0);
}
END_TEST

START_TEST(map_auto_iova)
{
	uint32_t ioas = ioas_alloc();
	uint64_t iovas[10], iova;

	/* Aligned to the length (buf is 2 MiB aligned), never 0 */
	for (int i = 0; i < 10; i++) {
		uint64_t len = PAGE * (uint64_t)(i + 1);

		iovas[i] = 0;
		ck_assert_int_eq(map(ioas, buf, len, &iovas[i], RW), 0);
		ck_assert_uint_ne(iovas[i], 0);
		ck_assert_uint_eq(iovas[i] % (1ull << __builtin_ctzll(len)), 0);
		for (int j = 0; j < i; j++)	/* no overlap */
			ck_assert(iovas[i] + len <= iovas[j] ||
				  iovas[j] + PAGE * (uint64_t)(j + 1) <= iovas[i]);
	}
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(unmap(ioas, iovas[i], PAGE * (uint64_t)(i + 1),
				       NULL), 0);
	/* ... but no more aligned than the user address */
	iova = 0;
	ck_assert_int_eq(map(ioas, (char *)buf + PAGE, 4 * PAGE, &iova, RW), 0);
	ck_assert_uint_eq(iova, PAGE);
	/* the lowest free range first */
	iova = 0;
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), 0);
	ck_assert_uint_eq(iova, 5 * PAGE);
	ck_assert_uint_eq(unmap_all(ioas), 5 * PAGE);
}
END_TEST

START_TEST(map_enospc)
{
	uint32_t ioas = ioas_alloc();
	struct iommu_iova_range r = { .start = 16 * PAGE, .last = 18 * PAGE - 1 };
	uint64_t a = 0, b = 0, c = 0;

	ck_assert_int_eq(allow(ioas, &r, 1), 0);
	ck_assert_int_eq(map(ioas, buf, PAGE, &a, RW), 0);
	ck_assert_int_eq(map(ioas, buf, PAGE, &b, RW), 0);
	ck_assert(a >= r.start && a <= r.last && b >= r.start && b <= r.last);
	ck_assert_int_eq(map(ioas, buf, PAGE, &c, RW), ENOSPC);
	/* a caller-chosen IOVA is not bound by the allow list */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, 64 * PAGE), 0);
	ck_assert_uint_eq(unmap_all(ioas), 3 * PAGE);
}
END_TEST

START_TEST(map_efault)
{
	uint32_t ioas = ioas_alloc();
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0;

	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(munmap(p + 2 * PAGE, 2 * PAGE), 0);
	ck_assert_int_eq(map(ioas, p, 4 * PAGE, &iova, RW), EFAULT);
	ck_assert_int_eq(map(ioas, p + 2 * PAGE, PAGE, &iova, RW), EFAULT);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(map(ioas, p, 2 * PAGE, &iova, RW), 0);
	ck_assert_uint_eq(unmap_all(ioas), 2 * PAGE);
	munmap(p, 2 * PAGE);
}
END_TEST

START_TEST(map_enomem_memlock)
{
	uint32_t ioas = ioas_alloc();
	uint64_t a = 0, b = 0;

	iommufd_fake_set_memlock_limit(fake, 4 * PAGE);
	ck_assert_int_eq(map(ioas, buf, 3 * PAGE, &a, RW), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 3 * PAGE);
	ck_assert_int_eq(map(ioas, (char *)buf + 8 * PAGE, 2 * PAGE, &b, RW),
			 ENOMEM);
	/* nothing changed */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 3 * PAGE);
	ck_assert_int_eq(map(ioas, (char *)buf + 8 * PAGE, PAGE, &b, RW), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	ck_assert_uint_eq(unmap_all(ioas), 4 * PAGE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
}
END_TEST

START_TEST(unmap_whole_areas)
{
	uint32_t ioas = ioas_alloc();
	uint64_t base = 1ull << 24, len;

	/* nothing mapped */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(unmap(ioas, (uint64_t)i * PAGE, PAGE, NULL), ENOENT);
	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, base), 0);
	/* a split */
	ck_assert_int_eq(unmap(ioas, base, PAGE, NULL), ENOENT);
	ck_assert_int_eq(unmap(ioas, base + PAGE, PAGE, NULL), ENOENT);
	ck_assert_int_eq(unmap(ioas, base - PAGE, 2 * PAGE, NULL), ENOENT);
	/* a superset of whole areas, and the bytes unmapped */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, base + 4 * PAGE), 0);
	ck_assert_int_eq(unmap(ioas, base - 8 * PAGE, 16 * PAGE, &len), 0);
	ck_assert_uint_eq(len, 3 * PAGE);
	ck_assert_int_eq(unmap(ioas, base, 2 * PAGE, NULL), ENOENT);
	/* arguments */
	ck_assert_int_eq(unmap(ioas, base, 0, NULL), EINVAL);
	ck_assert_int_eq(unmap(ioas, 2 * PAGE, UINT64_MAX, NULL), EOVERFLOW);
	ck_assert_int_eq(unmap(ioas, UINT64_MAX, 1, NULL), EOVERFLOW);
	ck_assert_int_eq(unmap(ioas, UINT64_MAX - PAGE, 2 * PAGE, NULL), EOVERFLOW);
	ck_assert_int_eq(unmap(ioas + 1, 0, PAGE, NULL), ENOENT);
}
END_TEST

START_TEST(unmap_all_empty)
{
	uint32_t ioas = ioas_alloc();
	uint64_t len = 1;

	ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, PAGE), 0);
	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, 8 * PAGE), 0);
	ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, &len), 0);
	ck_assert_uint_eq(len, 3 * PAGE);
	ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, &len), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(unmap_stops_at_split)
{
	/* The kernel walks areas upwards and stops at the first one sticking
	 * out of the range: the ones before it are already gone. */
	uint32_t ioas = ioas_alloc();
	uint64_t len;

	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, 16 * PAGE), 0);
	ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, 17 * PAGE), 0);
	ck_assert_int_eq(unmap(ioas, 16 * PAGE, 2 * PAGE, NULL), ENOENT);
	ck_assert_int_eq(unmap(ioas, 16 * PAGE, PAGE, NULL), ENOENT);
	ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, &len), 0);
	ck_assert_uint_eq(len, 2 * PAGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* IOVA ranges, reserved and allowed                                   */

START_TEST(iova_ranges_default)
{
	uint32_t ioas = ioas_alloc();
	struct iommu_iova_range r[4] = {};
	uint32_t num = 4;
	uint64_t align;
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = ioas,
					      .__reserved = 1 };

	ck_assert_int_eq(ranges(ioas, r, &num, &align), 0);
	ck_assert_uint_eq(num, 1);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].last, UINT64_MAX);
	ck_assert_uint_eq(align, PAGE);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_IOVA_RANGES, &cmd), EOPNOTSUPP);
	num = 4;
	ck_assert_int_eq(ranges(ioas + 1, r, &num, NULL), ENOENT);
}
END_TEST

START_TEST(iova_ranges_emsgsize)
{
	struct iommu_iova_range r[4];
	uint32_t ioas, num;

	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, PAGE,
							  2 * PAGE - 1), 0);
	ioas = ioas_alloc();
	memset(r, 0, sizeof(r));
	num = 0;
	ck_assert_int_eq(ranges(ioas, r, &num, NULL), EMSGSIZE);
	ck_assert_uint_eq(num, 2);
	ck_assert_uint_eq(r[0].last, 0);
	num = 1;
	ck_assert_int_eq(ranges(ioas, r, &num, NULL), EMSGSIZE);
	ck_assert_uint_eq(num, 2);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].last, PAGE - 1);
	ck_assert_uint_eq(r[1].start, 0);	/* not written */
	ck_assert_uint_eq(r[1].last, 0);
	num = 4;
	ck_assert_int_eq(ranges(ioas, r, &num, NULL), 0);
	ck_assert_uint_eq(num, 2);
	ck_assert_uint_eq(r[1].start, 2 * PAGE);
	ck_assert_uint_eq(r[1].last, UINT64_MAX);
}
END_TEST

START_TEST(reserved_regions)
{
	uint32_t before = ioas_alloc(), after;
	struct iommu_iova_range r[4] = {};
	uint64_t res = 0xfee00000ull, res_last = 0xfeefffffull, iovas[8];
	uint32_t num = 4;

	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, 2, 1), -EINVAL);
	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, res, res_last), 0);
	after = ioas_alloc();
	/* every IOAS, existing or new, excludes it */
	for (uint32_t ioas = before; ioas <= after; ioas++) {
		num = 4;
		ck_assert_int_eq(ranges(ioas, r, &num, NULL), 0);
		ck_assert_uint_eq(num, 2);
		ck_assert_uint_eq(r[0].last, res - 1);
		ck_assert_uint_eq(r[1].start, res_last + 1);
		ck_assert_int_eq(map_fixed(ioas, buf, PAGE, res), EINVAL);
		ck_assert_int_eq(map_fixed(ioas, buf, 2 * PAGE, res - PAGE), EINVAL);
		ck_assert_int_eq(map_fixed(ioas, buf, PAGE, res_last + 1), 0);
	}
	/* automatic IOVAs go around it */
	ck_assert_int_eq(allow(after, &(struct iommu_iova_range){
					      .start = res - 2 * PAGE,
					      .last = res - 1 }, 1), 0);
	ck_assert_int_eq(allow(after, NULL, 0), 0);
	for (int i = 0; i < 8; i++) {
		iovas[i] = 0;
		ck_assert_int_eq(map(after, buf, 8 * PAGE, &iovas[i], RW), 0);
		ck_assert(iovas[i] + 8 * PAGE <= res || iovas[i] > res_last);
	}
	/* a new region may not cover an area: EADDRINUSE, nothing changes */
	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, res_last + 1,
							  res_last + 1), -EADDRINUSE);
	num = 4;
	ck_assert_int_eq(ranges(before, r, &num, NULL), 0);
	ck_assert_uint_eq(num, 2);
}
END_TEST

START_TEST(allow_iovas_rules)
{
	uint32_t ioas = ioas_alloc();
	struct iommu_iova_range r[3];
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .__reserved = 1,
	};
	uint64_t iova;

	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd), EOPNOTSUPP);
	r[0] = (struct iommu_iova_range){ .start = 4 * PAGE, .last = 4 * PAGE };
	ck_assert_int_eq(allow(ioas, r, 1), EINVAL);	/* start >= last */
	r[0].last = 2 * PAGE;
	ck_assert_int_eq(allow(ioas, r, 1), EINVAL);
	r[0] = (struct iommu_iova_range){ .start = 4 * PAGE, .last = 8 * PAGE - 1 };
	r[1] = (struct iommu_iova_range){ .start = 7 * PAGE, .last = 9 * PAGE - 1 };
	ck_assert_int_eq(allow(ioas, r, 2), EINVAL);	/* overlap */
	ck_assert_int_eq(allow(ioas, (void *)8, 1), EFAULT);
	ck_assert_int_eq(allow(ioas + 1, r, 1), ENOENT);
	/* an allowed range may not include a reserved one */
	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, 100 * PAGE,
							  101 * PAGE - 1), 0);
	r[1] = (struct iommu_iova_range){ .start = 64 * PAGE, .last = 128 * PAGE };
	ck_assert_int_eq(allow(ioas, r, 2), EADDRINUSE);
	/* a reserved region may not go into an allowed range */
	r[1] = (struct iommu_iova_range){ .start = 64 * PAGE, .last = 65 * PAGE - 1 };
	ck_assert_int_eq(allow(ioas, r, 2), 0);
	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, 64 * PAGE,
							  64 * PAGE), -EADDRINUSE);
	/* the list is replaced as a whole */
	r[2] = (struct iommu_iova_range){ .start = 32 * PAGE, .last = 33 * PAGE - 1 };
	ck_assert_int_eq(allow(ioas, &r[2], 1), 0);
	iova = 0;
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), 0);
	ck_assert_uint_eq(iova, 32 * PAGE);
	ck_assert_uint_eq(unmap_all(ioas), PAGE);
	/* an empty list allows everything again */
	ck_assert_int_eq(allow(ioas, NULL, 0), 0);
	ck_assert_int_eq(iommufd_fake_add_reserved_region(fake, 64 * PAGE,
							  64 * PAGE), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* COPY                                                                */

START_TEST(copy_rules)
{
	uint32_t src = ioas_alloc(), dst = ioas_alloc();
	uint64_t base = 1ull << 30, iova, len;

	ck_assert_int_eq(map_fixed(src, buf, 4 * PAGE, base), 0);
	ck_assert_int_eq(map_fixed(src, (char *)buf + 4 * PAGE, 2 * PAGE,
				   base + 4 * PAGE), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 6 * PAGE);

	/* within one IOAS */
	iova = base + 16 * PAGE;
	ck_assert_int_eq(copy(src, &iova, src, base, 4 * PAGE, FIXED | RW), 0);
	/* between IOASes, automatic IOVA */
	iova = 0;
	ck_assert_int_eq(copy(dst, &iova, src, base, 4 * PAGE, RW), 0);
	ck_assert_uint_ne(iova, 0);
	/* a part of an area, and a range over two adjacent areas */
	iova = 0;
	ck_assert_int_eq(copy(dst, &iova, src, base + PAGE, PAGE, RW), 0);
	iova = 0;
	ck_assert_int_eq(copy(dst, &iova, src, base + 3 * PAGE, 2 * PAGE, RW), 0);
	/* copies share the pins */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 6 * PAGE);

	/* the source must be mapped all the way */
	iova = 0;
	ck_assert_int_eq(copy(dst, &iova, src, base - PAGE, 2 * PAGE, RW), ENOENT);
	ck_assert_int_eq(copy(dst, &iova, src, base + 5 * PAGE, 2 * PAGE, RW), ENOENT);
	ck_assert_int_eq(copy(dst, &iova, src, base, 0, RW), EINVAL);
	ck_assert_int_eq(copy(dst, &iova, src, base, PAGE, 0), EINVAL);
	ck_assert_int_eq(copy(dst, &iova, src, base, PAGE, RW | 8), EOPNOTSUPP);
	ck_assert_int_eq(copy(dst, &iova, src + 7, base, PAGE, RW), ENOENT);
	ck_assert_int_eq(copy(dst + 7, &iova, src, base, PAGE, RW), ENOENT);
	/* the destination is placed like a map */
	iova = base + 16 * PAGE;
	ck_assert_int_eq(copy(src, &iova, src, base, PAGE, FIXED | RW), EEXIST);
	iova = base + 64 * PAGE + 1;
	ck_assert_int_eq(copy(src, &iova, src, base, PAGE, FIXED | RW), EINVAL);

	/* unmapping the source keeps what the copies still use pinned */
	ck_assert_int_eq(unmap(src, base, 6 * PAGE, &len), 0);
	ck_assert_uint_eq(len, 6 * PAGE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 5 * PAGE);
	ck_assert_uint_eq(unmap_all(dst), 7 * PAGE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	ck_assert_uint_eq(unmap_all(src), 4 * PAGE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
}
END_TEST

START_TEST(copy_read_only_source)
{
	uint32_t ioas = ioas_alloc();
	uint64_t iova = PAGE, dst = 0;

	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, FIXED |
			     IOMMU_IOAS_MAP_READABLE), 0);
	ck_assert_int_eq(copy(ioas, &dst, ioas, PAGE, PAGE, RW), EPERM);
	ck_assert_int_eq(copy(ioas, &dst, ioas, PAGE, PAGE,
			      IOMMU_IOAS_MAP_READABLE), 0);
	ck_assert_uint_eq(unmap_all(ioas), 2 * PAGE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* OPTION and VFIO_IOAS                                                */

START_TEST(option_rlimit_mode)
{
	uint64_t val = 5;
	struct iommu_option cmd = { .size = sizeof(cmd), .__reserved = 1 };

	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0,
				&val), 0);
	ck_assert_uint_eq(val, 0);
	val = 1;
	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
				&val), 0);
	val = 2;
	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
				&val), EINVAL);
	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0,
				&val), 0);
	ck_assert_uint_eq(val, 1);
	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1,
				&val), EOPNOTSUPP);
	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, 2, 0, &val), EOPNOTSUPP);
	ck_assert_int_eq(option(7, IOMMU_OPTION_OP_GET, 0, &val), EOPNOTSUPP);
	ck_assert_int_eq(xioctl(IOMMU_OPTION, &cmd), EOPNOTSUPP);
	/* only before any object exists */
	ioas_alloc();
	val = 0;
	ck_assert_int_eq(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
				&val), EBUSY);
}
END_TEST

START_TEST(option_huge_pages)
{
	uint32_t ioas;
	uint64_t val = 3;

	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 1,
				&val), ENOENT);
	ioas = ioas_alloc();
	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas,
				&val), 0);
	ck_assert_uint_eq(val, 1);
	val = 0;
	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas,
				&val), 0);
	val = 3;
	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas,
				&val), 0);
	ck_assert_uint_eq(val, 0);
	val = 2;
	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas,
				&val), EINVAL);
	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, 2, ioas, &val), EOPNOTSUPP);
	val = 1;
	ck_assert_int_eq(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas,
				&val), 0);
}
END_TEST

START_TEST(option_writes_only_val64)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET, .val64 = 9,
	};

	ck_assert_int_eq(xioctl(IOMMU_OPTION, &cmd), 0);
	ck_assert_uint_eq(cmd.val64, 0);
	ck_assert_uint_eq(cmd.option_id, IOMMU_OPTION_RLIMIT_MODE);
	ck_assert_uint_eq(cmd.size, sizeof(cmd));
}
END_TEST

START_TEST(vfio_ioas_rules)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .__reserved = 1 };
	uint32_t id = 0, ioas;

	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), ENODEV);
	id = 5;
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_SET, &id), ENOENT);
	ioas = ioas_alloc();
	id = ioas;
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_SET, &id), 0);
	id = 0;
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), 0);
	ck_assert_uint_eq(id, ioas);
	/* it holds no reference: destroy works and clears it */
	ck_assert_int_eq(destroy(ioas), 0);
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), ENODEV);
	ioas = ioas_alloc();
	id = ioas;
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_SET, &id), 0);
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id), 0);
	ck_assert_int_eq(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), ENODEV);
	ck_assert_int_eq(vfio_ioas(3, &id), EOPNOTSUPP);
	ck_assert_int_eq(xioctl(IOMMU_VFIO_IOAS, &cmd), EOPNOTSUPP);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP_FILE and CHANGE_PROCESS                                         */

START_TEST(map_file_rules)
{
	uint32_t ioas = ioas_alloc();
	int mfd = memfd_pages(4), ro, other;
	uint64_t iova = 0;
	char path[64];

	ck_assert_int_eq(map_file(ioas, mfd, 0, 4 * PAGE, &iova, RW), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	iova = 0;
	ck_assert_int_eq(map_file(ioas, mfd, 2 * PAGE, 2 * PAGE, &iova, RW), 0);
	/* past the end of the file */
	iova = 0;
	ck_assert_int_eq(map_file(ioas, mfd, 2 * PAGE, 4 * PAGE, &iova, RW), EINVAL);
	ck_assert_int_eq(map_file(ioas, mfd, 4 * PAGE, PAGE, &iova, RW), EINVAL);
	/* alignment, overflow, fd */
	ck_assert_int_eq(map_file(ioas, mfd, 512, PAGE, &iova, RW), EINVAL);
	ck_assert_int_eq(map_file(ioas, mfd, 0, 0, &iova, RW), EINVAL);
	ck_assert_int_eq(map_file(ioas, mfd, UINT64_MAX - PAGE + 1, 2 * PAGE,
				  &iova, RW), EOVERFLOW);
	ck_assert_int_eq(map_file(ioas, -1, 0, PAGE, &iova, RW), EBADF);
	ck_assert_int_eq(map_file(ioas, 999, 0, PAGE, &iova, RW), EBADF);
	ck_assert_int_eq(map_file(ioas, mfd, 0, PAGE, &iova, RW | 8), EOPNOTSUPP);
	ck_assert_int_eq(map_file(ioas, mfd, 0, PAGE, &iova, 0), EINVAL);
	ck_assert_int_eq(map_file(ioas + 1, mfd, 0, PAGE, &iova, RW), ENOENT);
	/* writing needs a writable file */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_eq(map_file(ioas, ro, 0, PAGE, &iova, RW), EPERM);
	ck_assert_int_eq(map_file(ioas, ro, 0, PAGE, &iova,
				  IOMMU_IOAS_MAP_READABLE), 0);
	close(ro);
	/* only shmem/hugetlbfs files can be pinned: not an iommufd */
	other = iommufd_fake_open(fake, "/dev/iommu", O_RDWR);
	ck_assert_int_ge(other, 0);
	ck_assert_int_eq(map_file(ioas, other, 0, PAGE, &iova, RW), EINVAL);
	ck_assert_int_eq(iommufd_fake_close(fake, other), 0);
	/* the area keeps the file, not the fd */
	close(mfd);
	ck_assert_uint_eq(unmap_all(ioas), 7 * PAGE);
}
END_TEST

START_TEST(change_process_rules)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	uint32_t a = ioas_alloc(), b = ioas_alloc();
	int mfd = memfd_pages(2);
	uint64_t iova = 0;

	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), 0);
	ck_assert_int_eq(map_file(a, mfd, 0, 2 * PAGE, &iova, RW), 0);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 2 * PAGE);
	/* any area from MAP, in any IOAS of the file, refuses */
	iova = 0;
	ck_assert_int_eq(map(b, buf, PAGE, &iova, RW), 0);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), EINVAL);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 3 * PAGE);
	ck_assert_uint_eq(unmap_all(b), PAGE);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), 0);
	cmd.__reserved = 1;
	ck_assert_int_eq(xioctl(IOMMU_IOAS_CHANGE_PROCESS, &cmd), EOPNOTSUPP);
	close(mfd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Files: dup, close                                                   */

START_TEST(dup_shares_state)
{
	int fd2 = dup(fd);
	uint32_t ioas = ioas_alloc();
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = RW | FIXED, .ioas_id = ioas,
		.user_va = (uintptr_t)buf, .length = PAGE, .iova = PAGE,
	};

	ck_assert_int_ge(fd2, 0);
	/* the dup reaches the same IOAS */
	ck_assert_int_eq(iommufd_fake_ioctl(fake, fd2, IOMMU_IOAS_MAP, &cmd), 0);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, PAGE), EEXIST);
	/* closing one fd keeps the file */
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
	fd = fd2;
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 1);
	ck_assert_uint_eq(unmap_all(ioas), PAGE);
	/* a separate open is a separate file */
	fd2 = iommufd_fake_open(fake, "/dev/iommu", O_RDWR);
	cmd.ioas_id = ioas;
	errno = 0;
	ck_assert_int_eq(iommufd_fake_ioctl(fake, fd2, IOMMU_IOAS_MAP, &cmd), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(iommufd_fake_close(fake, fd2), 0);
}
END_TEST

START_TEST(close_releases_pins)
{
	uint32_t ioas = ioas_alloc();
	uint64_t iova = 0;
	int mfd = memfd_pages(2);

	ck_assert_int_eq(map(ioas, buf, 8 * PAGE, &iova, RW), 0);
	iova = 0;
	ck_assert_int_eq(map_file(ioas, mfd, 0, 2 * PAGE, &iova, RW), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 10 * PAGE);
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
	fd = -1;
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_close(fake, 1000), -1);
	ck_assert_int_eq(errno, EBADF);
	close(mfd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Fault injection                                                     */

START_TEST(fail_nth)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	unsigned long calls = iommufd_fake_call_count(fake);
	struct stat st;

	/* close and stat are not counted */
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/iommu", &st), 0);
	ck_assert_uint_eq(iommufd_fake_call_count(fake), calls);
	iommufd_fake_fail_nth(fake, 2, EIO);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), 0);
	ck_assert_uint_eq(cmd.out_ioas_id, 1);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), EIO);
	/* no state changed: the next id is 2, not 3 */
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), 0);
	ck_assert_uint_eq(cmd.out_ioas_id, 2);
	ck_assert_uint_eq(iommufd_fake_call_count(fake), calls + 3);
	/* open counts too */
	iommufd_fake_fail_nth(fake, 1, ENOMEM);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_open(fake, "/dev/iommu", O_RDWR), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 1);
	/* cleared */
	iommufd_fake_fail_nth(fake, 1, EIO);
	iommufd_fake_fail_clear(fake);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), 0);
}
END_TEST

START_TEST(fail_ioctl)
{
	uint32_t ioas = ioas_alloc();
	uint64_t iova = 0, len;

	iommufd_fake_fail_ioctl(fake, IOMMU_IOAS_MAP, ENOMEM, 2);
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), ENOMEM);
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), ENOMEM);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	/* other ioctls are not affected */
	ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(map(ioas, buf, PAGE, &iova, RW), 0);
	ck_assert_uint_eq(unmap_all(ioas), PAGE);
	/* count 0: until cleared */
	iommufd_fake_fail_ioctl(fake, IOMMU_IOAS_UNMAP, EIO, 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(unmap(ioas, 0, UINT64_MAX, NULL), EIO);
	iommufd_fake_fail_clear(fake);
	ck_assert_uint_eq(unmap_all(ioas), 0);
}
END_TEST

static Suite *fake_raw_suite(void)
{
	Suite *s = suite_create("fake-raw");
	TCase *tc = fx_tcase("raw");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_unknown_path);
	tcase_add_test(tc, stat_char_device);
	tcase_add_test(tc, open_cloexec_follows_flags);
	tcase_add_test(tc, ioctl_bad_fd);
	tcase_add_test(tc, ioctl_unknown_numbers);
	tcase_add_test(tc, ioctl_bad_pointer);
	tcase_add_loop_test(tc, size_rules, 0, (int)(sizeof(len_cases) /
						     sizeof(len_cases[0])));
	tcase_add_test(tc, destroy_future_tail);
	tcase_add_test(tc, version_setter);
	tcase_add_test(tc, version_6_2_commands);
	tcase_add_test(tc, version_map_file_6_13);
	tcase_add_test(tc, version_change_process_6_14);
	tcase_add_test(tc, version_struct_growth);
	tcase_add_test(tc, hwpt_alloc_check_order);
	tcase_add_test(tc, hw_info_check_order);
	tcase_add_test(tc, device_commands_enoent);
	tcase_add_test(tc, ids_lowest_free_never_zero);
	tcase_add_test(tc, destroy_unknown);
	tcase_add_test(tc, destroy_busy);
	tcase_add_test(tc, fault_fd_keeps_iommufd);
	tcase_add_test(tc, map_overlap_eexist);
	tcase_add_test(tc, map_argument_checks);
	tcase_add_test(tc, map_auto_iova);
	tcase_add_test(tc, map_enospc);
	tcase_add_test(tc, map_efault);
	tcase_add_test(tc, map_enomem_memlock);
	tcase_add_test(tc, unmap_whole_areas);
	tcase_add_test(tc, unmap_all_empty);
	tcase_add_test(tc, unmap_stops_at_split);
	tcase_add_test(tc, iova_ranges_default);
	tcase_add_test(tc, iova_ranges_emsgsize);
	tcase_add_test(tc, reserved_regions);
	tcase_add_test(tc, allow_iovas_rules);
	tcase_add_test(tc, copy_rules);
	tcase_add_test(tc, copy_read_only_source);
	tcase_add_test(tc, option_rlimit_mode);
	tcase_add_test(tc, option_huge_pages);
	tcase_add_test(tc, option_writes_only_val64);
	tcase_add_test(tc, vfio_ioas_rules);
	tcase_add_test(tc, map_file_rules);
	tcase_add_test(tc, change_process_rules);
	tcase_add_test(tc, dup_shares_state);
	tcase_add_test(tc, close_releases_pins);
	tcase_add_test(tc, fail_nth);
	tcase_add_test(tc, fail_ioctl);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fake_raw_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
