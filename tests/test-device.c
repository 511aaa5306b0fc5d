/* SPDX-License-Identifier: MIT */
/*
 * The public device API on the fake kernel: finding and opening a device by
 * every kind of name, adopting an fd, binding (VF tokens, double binds),
 * the VFIO device calls (info, regions and their sparse mmap areas, region
 * access, interrupts, resets), edu DMA and MSI driven through the library,
 * failure of every kernel call on the open path, and context teardown.
 *
 * Attach and HWPT bookkeeping are test-hwpt.c's.
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#define FIXTURE_GLOBALS
#include "fixture.h"

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)

static void ctx_up(void)
{
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &ctx), 0);
}

static void setup_version(unsigned int minor)
{
	fx_fake_up(minor);
	log_clear();
	ctx_up();
}

static void setup(void)
{
	setup_version(0);
}

static void setup_6_5(void)
{
	setup_version(5);
}

static void teardown(void)
{
	fx_teardown();
}

static void sysfs_path(char *buf, size_t len, const char *rel)
{
	const char *root = iommufd_fake_sysfs_root(fake);

	ck_assert_ptr_nonnull(root);
	ck_assert_int_lt(snprintf(buf, len, "%s/%s", root, rel), (int)len);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */

START_TEST(open_by_pci_address)
{
	/* the short form and a longer domain name the same function */
	static const char *const names[] = {
		EDU, "00:04.0", "00000000:00:04.0",
	};
	struct iommufd_device *dev;
	unsigned int files = iommufd_fake_open_files(fake);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		dev = open_ok_nonnull(names[i]);
		ck_assert_str_eq(iommufd_device_pci_addr(dev), EDU);
		ck_assert_uint_gt(iommufd_device_id(dev), 0);
		ck_assert_int_ge(iommufd_device_fd(dev), 0);
		/* the library's fds are close-on-exec */
		ck_assert_int_eq(fcntl(iommufd_device_fd(dev), F_GETFD) &
					 FD_CLOEXEC, FD_CLOEXEC);
		ck_assert_uint_eq(iommufd_fake_open_files(fake), files + 1);
		iommufd_device_free(dev);
		ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	}
	iommufd_device_free(NULL);
}
END_TEST

START_TEST(open_by_sysfs_path)
{
	char path[512];
	struct iommufd_device *dev;

	sysfs_path(path, sizeof(path), "bus/pci/devices/" NIC);
	dev = open_ok_nonnull(path);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), NIC);
	iommufd_device_free(dev);
	sysfs_path(path, sizeof(path), "devices/pci0000:00/" NIC "/");
	dev = open_ok_nonnull(path);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), NIC);
	iommufd_device_free(dev);
	/* the mdev's directory */
	sysfs_path(path, sizeof(path), "bus/mdev/devices/" MDEV);
	dev = open_ok_nonnull(path);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), "");
	iommufd_device_free(dev);
}
END_TEST

START_TEST(open_by_cdev_path)
{
	char path[64];
	struct iommufd_device *dev;

	ck_assert_int_eq(iommufd_fake_device_cdev(fake, EDU, path, sizeof(path)),
			 0);
	dev = open_ok_nonnull(path);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), EDU);
	iommufd_device_free(dev);
	ck_assert_int_eq(iommufd_fake_device_cdev(fake, MDEV, path,
						  sizeof(path)), 0);
	dev = open_ok_nonnull(path);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), "");
	iommufd_device_free(dev);
	/* an mdev by its UUID, in either case */
	dev = open_ok_nonnull(MDEV);
	iommufd_device_free(dev);
	dev = open_ok_nonnull("83B8F4F2-509F-382F-3C1E-E6BFE0FA1001");
	iommufd_device_free(dev);
}
END_TEST

START_TEST(open_bad_names)
{
	static const char *const malformed[] = {
		"", "0000:00:04", "00:04", "zz:00.0", "0000:00:20.0",
		"0000:00:04.8", "0000:00:04.0 ", "000:00:04.0",
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa100", "edu",
	};
	unsigned int files = iommufd_fake_open_files(fake);
	struct iommufd_device *dev = NULL;
	char path[512];

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		ck_assert_int_eq(iommufd_device_open(ctx, malformed[i], NULL,
						     &dev), -EINVAL);
	ck_assert(logged("is not a PCI address"));
	/* well formed, but no such device */
	ck_assert_int_eq(iommufd_device_open(ctx, "0000:00:09.0", NULL, &dev),
			 -ENOENT);
	ck_assert(logged("no PCI device 0000:00:09.0"));
	ck_assert_int_eq(iommufd_device_open(ctx, "0001:00:04.0", NULL, &dev),
			 -ENOENT);
	ck_assert_int_eq(iommufd_device_open(ctx,
					     "00000000-0000-0000-0000-000000000000",
					     NULL, &dev), -ENOENT);
	ck_assert_int_eq(iommufd_device_open(ctx, "/dev/vfio/devices/vfio9",
					     NULL, &dev), -ENOENT);
	sysfs_path(path, sizeof(path), "bus/pci/devices/0000:00:09.0");
	ck_assert_int_eq(iommufd_device_open(ctx, path, NULL, &dev), -ENOENT);
	/* a device file, but not a VFIO device's */
	ck_assert_int_eq(iommufd_device_open(ctx, "/dev/iommu", NULL, &dev),
			 -ENODEV);
	ck_assert_int_eq(iommufd_device_open(ctx, "/dev/vfio/vfio", NULL, &dev),
			 -ENODEV);
	/* NULLs */
	ck_assert_int_eq(iommufd_device_open(NULL, EDU, NULL, &dev), -EINVAL);
	ck_assert_int_eq(iommufd_device_open(ctx, NULL, NULL, &dev), -EINVAL);
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(dev);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
}
END_TEST

START_TEST(open_device_of_another_driver)
{
	struct iommufd_device *dev = NULL;
	char path[512];

	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "e1000e"), 0);
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, NULL, &dev), -ENODEV);
	ck_assert(logged("0000:00:05.0 is bound to e1000e, not to vfio-pci"));
	sysfs_path(path, sizeof(path), "bus/pci/devices/" NIC);
	ck_assert_int_eq(iommufd_device_open(ctx, path, NULL, &dev), -ENODEV);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, ""), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, NULL, &dev), -ENODEV);
	ck_assert(logged("is not bound to any driver"));
	ck_assert_ptr_null(dev);
	/* back on vfio-pci, it opens */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "vfio-pci"), 0);
	dev = open_ok_nonnull(NIC);
	iommufd_device_free(dev);
}
END_TEST

START_TEST(open_before_cdevs)
{
	struct iommufd_device *dev = NULL;

	/* 6.5 has iommufd but no VFIO device files */
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, NULL, &dev), -ENODEV);
	ck_assert(logged("CONFIG_VFIO_DEVICE_CDEV"));
	ck_assert_ptr_null(dev);
}
END_TEST

START_TEST(open_opts)
{
	struct {
		struct iommufd_device_opts o;
		uint64_t tail;
	} big = { .o = { .sz = sizeof(big) } };
	struct iommufd_device_opts small = { .sz = 4 };
	struct iommufd_device *dev = NULL;

	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &small, &dev), -EINVAL);
	big.tail = 1;
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &big.o, &dev), -E2BIG);
	{
		IOMMUFD_OPTS(iommufd_device_opts, o,
			     .flags = IOMMUFD_DEVICE_TAKE_FD);

		/* a file the library opens is always its own */
		ck_assert_int_eq(iommufd_device_open(ctx, EDU, &o, &dev),
				 -EINVAL);
	}
	ck_assert_ptr_null(dev);
	/* a zero tail is fine; an older, shorter struct too */
	big.tail = 0;
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &big.o, &dev), 0);
	iommufd_device_free(dev);
	small.sz = sizeof(size_t);
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, &small, &dev), 0);
	iommufd_device_free(dev);
}
END_TEST

START_TEST(open_twice_and_double_bind)
{
	struct iommufd_device *dev = open_ok_nonnull(EDU), *dev2 = NULL;
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd_ctx_fd(ctx),
	};
	unsigned int files = iommufd_fake_open_files(fake);

	/* the kernel refuses a second bind of the same file... */
	errno = 0;
	ck_assert_int_eq(iommufd_fake_ioctl(fake, iommufd_device_fd(dev),
					    VFIO_DEVICE_BIND_IOMMUFD, &bind),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	/* ...and a second file of a device that is open */
	ck_assert_int_eq(iommufd_device_open(ctx, EDU, NULL, &dev2), -EINVAL);
	ck_assert(logged("VFIO_DEVICE_BIND_IOMMUFD"));
	ck_assert_ptr_null(dev2);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	/* the device still works */
	{
		struct iommufd_device_info info;

		ck_assert_int_eq(iommufd_device_get_info(dev, &info), 0);
	}
	iommufd_device_free(dev);
	dev = open_ok_nonnull(EDU);
	iommufd_device_free(dev);
}
END_TEST

START_TEST(vf_token)
{
	static const uint8_t token[16] = { 0x2a, 1, 2, 3 };
	IOMMUFD_OPTS(iommufd_device_opts, o, .vf_token = token);
	struct iommufd_device *dev = NULL;
	unsigned int files = iommufd_fake_open_files(fake);

	/* 6.17 reads the token; the fake's devices are no SR-IOV VF/PF */
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, &o, &dev), -EINVAL);
	ck_assert(logged("refused the VF token"));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	/* 6.16 cannot take one at all */
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 16), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_open(ctx, NIC, &o, &dev), -EOPNOTSUPP);
	ck_assert(logged("Linux 6.17"));
	ck_assert_ptr_null(dev);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	/* without a token, 6.16 binds */
	dev = open_ok_nonnull(NIC);
	iommufd_device_free(dev);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Adopting                                                            */

static int raw_open(const char *name)
{
	char path[64];
	int fd;

	ck_assert_int_eq(iommufd_fake_device_cdev(fake, name, path,
						  sizeof(path)), 0);
	fd = iommufd_fake_open(fake, path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(adopt_keeps_or_takes_the_fd)
{
	IOMMUFD_OPTS(iommufd_device_opts, take, .flags = IOMMUFD_DEVICE_TAKE_FD);
	struct iommufd_device *dev = NULL;
	unsigned int files = iommufd_fake_open_files(fake);
	int fd = raw_open(EDU);

	ck_assert_int_eq(iommufd_device_adopt(ctx, fd, NULL, &dev), 0);
	ck_assert_int_eq(iommufd_device_fd(dev), fd);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), EDU);
	ck_assert_uint_gt(iommufd_device_id(dev), 0);
	iommufd_device_free(dev);
	/* not ours: still open, and still bound (only close unbinds), so a
	 * second adoption's bind is refused */
	ck_assert(fd_is_open(fd));
	ck_assert_int_eq(iommufd_device_adopt(ctx, fd, NULL, &dev), -EINVAL);
	ck_assert(fd_is_open(fd));
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);

	fd = raw_open(MDEV);
	ck_assert_int_eq(iommufd_device_adopt(ctx, fd, &take, &dev), 0);
	ck_assert_str_eq(iommufd_device_pci_addr(dev), "");
	iommufd_device_free(dev);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	ck_assert(!fd_is_open(fd));
}
END_TEST

START_TEST(adopt_wrong_kind_of_fd)
{
	IOMMUFD_OPTS(iommufd_device_opts, take, .flags = IOMMUFD_DEVICE_TAKE_FD);
	struct iommufd_device *dev = NULL;
	int mfd = memfd_create("not-a-device", MFD_CLOEXEC);
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int cfd = iommufd_fake_open(fake, "/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	struct iommufd_ioas *ioas;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_ge(nfd, 0);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(iommufd_device_adopt(ctx, mfd, &take, &dev), -ENODEV);
	ck_assert(logged("not a character device"));
	ck_assert(fd_is_open(mfd));
	/* character devices, but not VFIO device files */
	ck_assert_int_eq(iommufd_device_adopt(ctx, nfd, &take, &dev), -ENODEV);
	ck_assert(fd_is_open(nfd));
	ck_assert_int_eq(iommufd_device_adopt(ctx, iommufd_ctx_fd(ctx), &take,
					      &dev), -ENODEV);
	ck_assert_int_eq(iommufd_device_adopt(ctx, cfd, &take, &dev), -ENODEV);
	ck_assert(fd_is_open(cfd));
	ck_assert_ptr_null(dev);
	/* the context's own fd was left alone */
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	/* bad arguments */
	ck_assert_int_eq(iommufd_device_adopt(ctx, -1, NULL, &dev), -EINVAL);
	ck_assert_int_eq(iommufd_device_adopt(ctx, 1000, NULL, &dev), -EBADF);
	{
		IOMMUFD_OPTS(iommufd_device_opts, bad, .flags = 2);

		ck_assert_int_eq(iommufd_device_adopt(ctx, mfd, &bad, &dev),
				 -EINVAL);
	}
	close(mfd);
	close(nfd);
	ck_assert_int_eq(iommufd_fake_close(fake, cfd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Information and regions                                             */

START_TEST(device_and_region_info)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	struct iommufd_device_info di;
	struct iommufd_region_info r;

	ck_assert_int_eq(iommufd_device_get_info(edu, &di), 0);
	ck_assert(di.flags & VFIO_DEVICE_FLAGS_PCI);
	ck_assert(!(di.flags & VFIO_DEVICE_FLAGS_RESET));	/* no FLR */
	ck_assert_uint_eq(di.num_regions, VFIO_PCI_NUM_REGIONS);
	ck_assert_uint_eq(di.num_irqs, VFIO_PCI_NUM_IRQS);
	ck_assert_int_eq(iommufd_device_get_info(nic, &di), 0);
	ck_assert(di.flags & VFIO_DEVICE_FLAGS_RESET);

	/* edu's registers: read and write, no mmap */
	ck_assert_int_eq(iommufd_device_get_region(edu, 0, &r), 0);
	ck_assert_uint_eq(r.index, 0);
	ck_assert_uint_eq(r.size, 1u << 20);
	ck_assert_uint_eq(r.flags, IOMMUFD_REGION_READ | IOMMUFD_REGION_WRITE);
	ck_assert_uint_eq(r.nr_mmap_areas, 0);
	/* an absent BAR */
	ck_assert_int_eq(iommufd_device_get_region(edu, 1, &r), 0);
	ck_assert_uint_eq(r.size, 0);
	ck_assert_uint_eq(r.flags, 0);
	/* the NIC's BAR0: mmap, all of it */
	ck_assert_int_eq(iommufd_device_get_region(nic, 0, &r), 0);
	ck_assert_uint_eq(r.flags, IOMMUFD_REGION_READ | IOMMUFD_REGION_WRITE |
					   IOMMUFD_REGION_MMAP);
	ck_assert_uint_eq(r.nr_mmap_areas, 1);
	ck_assert_uint_eq(r.mmap_areas[0].offset, 0);
	ck_assert_uint_eq(r.mmap_areas[0].size, 128u << 10);
	/* BAR3 holds the MSI-X table: the sparse capability leaves it out */
	ck_assert_int_eq(iommufd_device_get_region(nic, 3, &r), 0);
	ck_assert(r.flags & IOMMUFD_REGION_MMAP);
	ck_assert_uint_eq(r.nr_mmap_areas, 1);
	ck_assert_uint_eq(r.mmap_areas[0].offset, PAGE);
	ck_assert_uint_eq(r.mmap_areas[0].size, (16u << 10) - PAGE);
	/* config space */
	ck_assert_int_eq(iommufd_device_get_region(nic, VFIO_PCI_CONFIG_REGION_INDEX,
						   &r), 0);
	ck_assert_uint_eq(r.size, 4096);
	ck_assert_int_eq(iommufd_device_get_region(edu, VFIO_PCI_CONFIG_REGION_INDEX,
						   &r), 0);
	ck_assert_uint_eq(r.size, 256);
	/* past the last region */
	ck_assert_int_eq(iommufd_device_get_region(edu, VFIO_PCI_NUM_REGIONS,
						   &r), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_region(edu, 1000, &r), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_region(NULL, 0, &r), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_region(edu, 0, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_info(edu, NULL), -EINVAL);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(region_info_is_cached)
{
	struct iommufd_device *nic = open_ok_nonnull(NIC);
	struct iommufd_region_info a, b;
	unsigned long calls = iommufd_fake_call_count(fake);

	/* a capability chain: asked, grown, asked again */
	ck_assert_int_eq(iommufd_device_get_region(nic, 3, &a), 0);
	ck_assert_uint_eq(iommufd_fake_call_count(fake), calls + 2);
	ck_assert_uint_eq(a.nr_mmap_areas, 1);
	calls = iommufd_fake_call_count(fake);
	ck_assert_int_eq(iommufd_device_get_region(nic, 3, &b), 0);
	ck_assert_uint_eq(iommufd_fake_call_count(fake), calls);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	iommufd_device_free(nic);
}
END_TEST

START_TEST(region_read_write_bounds)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	uint32_t v = 0;
	uint8_t big[64];

	/* edu's identification register, and its liveness check */
	ck_assert_int_eq(iommufd_device_region_read(edu, 0, 0, &v, 4), 4);
	ck_assert_uint_eq(v, 0x010000ed);
	v = 0x12345678;
	ck_assert_int_eq(iommufd_device_region_write(edu, 0, 4, &v, 4), 4);
	ck_assert_int_eq(iommufd_device_region_read(edu, 0, 4, &v, 4), 4);
	ck_assert_uint_eq(v, ~0x12345678u);
	/* the last bytes, then past the end */
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, (128u << 10) - 4,
						    &v, 4), 4);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, (128u << 10) - 2,
						    &v, 4), -ERANGE);
	ck_assert_int_eq(iommufd_device_region_write(nic, 0, (128u << 10) - 2,
						     &v, 4), -ERANGE);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, 128u << 10, &v, 4),
			 -EINVAL);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, UINT64_MAX, &v, 4),
			 -EINVAL);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, 128u << 10, &v, 0),
			 0);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, 0, NULL, 0), 0);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, 0, NULL, 4),
			 -EINVAL);
	/* the NIC's I/O BAR is 32 bytes */
	ck_assert_int_eq(iommufd_device_region_read(nic, 2, 0, big, 32), 32);
	ck_assert_int_eq(iommufd_device_region_read(nic, 2, 0, big, 33),
			 -ERANGE);
	/* no BAR there: not readable */
	ck_assert_int_eq(iommufd_device_region_read(edu, 1, 0, &v, 4), -EINVAL);
	ck_assert_int_eq(iommufd_device_region_read(edu, 1000, 0, &v, 4),
			 -EINVAL);
	/* memory BAR, through the fd */
	memset(big, 0x3c, sizeof(big));
	ck_assert_int_eq(iommufd_device_region_write(nic, 0, 256, big,
						     sizeof(big)), 64);
	memset(big, 0, sizeof(big));
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, 256, big,
						    sizeof(big)), 64);
	ck_assert_uint_eq(big[0], 0x3c);
	ck_assert_uint_eq(big[63], 0x3c);
	ck_assert_int_eq(iommufd_device_region_read(NULL, 0, 0, &v, 4), -EINVAL);
	/* a kernel failure comes back as is */
	iommufd_fake_fail_nth(fake, 1, EIO);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, 0, &v, 4), -EIO);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(region_mmap_sparse)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	void *p = NULL;
	uint8_t back[16];

	/* the whole of BAR0; its memory is the BAR's */
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, 0, 128u << 10,
						    PROT_READ | PROT_WRITE, &p),
			 0);
	memset((uint8_t *)p + PAGE, 0x77, 16);
	ck_assert_int_eq(iommufd_device_region_read(nic, 0, PAGE, back, 16), 16);
	ck_assert_uint_eq(back[0], 0x77);
	ck_assert_uint_eq(back[15], 0x77);
	ck_assert_int_eq(iommufd_device_region_munmap(nic, p, 128u << 10), 0);
	/* past the BAR */
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, PAGE, 128u << 10,
						    PROT_READ, &p), -EACCES);
	/* BAR3: the MSI-X page is not in the areas */
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 3, 0, PAGE, PROT_READ,
						    &p), -EACCES);
	ck_assert(logged("not inside its mmap areas"));
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 3, 0, 16u << 10,
						    PROT_READ, &p), -EACCES);
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 3, PAGE,
						    (16u << 10) - PAGE,
						    PROT_READ, &p), 0);
	ck_assert_int_eq(iommufd_device_region_munmap(nic, p, (16u << 10) - PAGE),
			 0);
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 3, 2 * PAGE, PAGE,
						    PROT_READ, &p), 0);
	ck_assert_int_eq(iommufd_device_region_munmap(nic, p, PAGE), 0);
	/* a part of a page is the whole page to mmap */
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 3, PAGE, 100,
						    PROT_READ, &p), 0);
	ck_assert_int_eq(iommufd_device_region_munmap(nic, p, 100), 0);
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, (128u << 10) - PAGE,
						    PAGE + 1, PROT_READ, &p),
			 -EACCES);
	/* misaligned, empty, no mmap at all (edu, the I/O BAR, config) */
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, 100, PAGE,
						    PROT_READ, &p), -EINVAL);
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, 0, 0, PROT_READ,
						    &p), -EINVAL);
	ck_assert_int_eq(iommufd_device_region_mmap(edu, 0, 0, PAGE, PROT_READ,
						    &p), -EACCES);
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 2, 0, PAGE, PROT_READ,
						    &p), -EACCES);
	ck_assert_int_eq(iommufd_device_region_mmap(nic,
						    VFIO_PCI_CONFIG_REGION_INDEX,
						    0, PAGE, PROT_READ, &p),
			 -EACCES);
	ck_assert_int_eq(iommufd_device_region_munmap(nic, NULL, PAGE), -EINVAL);
	/* the mmap itself failing */
	iommufd_fake_fail_nth(fake, 1, ENOMEM);
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, 0, PAGE, PROT_READ,
						    &p), -ENOMEM);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Interrupts and resets                                               */

START_TEST(irq_info_and_set_irqs)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct iommufd_irq_info ii;
	int fds[5];

	ck_assert_int_eq(iommufd_device_get_irq_info(edu, VFIO_PCI_MSI_IRQ_INDEX,
						     &ii), 0);
	ck_assert_uint_eq(ii.index, VFIO_PCI_MSI_IRQ_INDEX);
	ck_assert_uint_eq(ii.count, 1);
	ck_assert(ii.flags & VFIO_IRQ_INFO_EVENTFD);
	ck_assert_int_eq(iommufd_device_get_irq_info(nic, VFIO_PCI_MSIX_IRQ_INDEX,
						     &ii), 0);
	ck_assert_uint_eq(ii.count, 5);
	ck_assert_int_eq(iommufd_device_get_irq_info(edu, VFIO_PCI_ERR_IRQ_INDEX,
						     &ii), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_irq_info(edu, 99, &ii), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_irq_info(edu, 0, NULL), -EINVAL);

	/* MSI: edu raises it when told */
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 0,
						 1, &efd), 0);
	wr32(edu, 0x60, 1);
	ck_assert_uint_eq(efd_read(efd), 1);
	wr32(edu, 0x64, 1);
	/* count 0 disables the index: nothing comes any more */
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 0,
						 0, NULL), 0);
	wr32(edu, 0x60, 1);
	ck_assert_uint_eq(efd_read(efd), 0);
	wr32(edu, 0x64, 1);
	/* INTx then */
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_INTX_IRQ_INDEX, 0,
						 1, &efd2), 0);
	wr32(edu, 0x60, 1);
	ck_assert_uint_eq(efd_read(efd2), 1);
	wr32(edu, 0x64, 1);
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_INTX_IRQ_INDEX, 0,
						 0, NULL), 0);
	/* beyond the vectors, no fds */
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 1,
						 1, &efd), -EINVAL);
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 0,
						 1, NULL), -EINVAL);
	/* MSI-X: some vectors wired, -1 leaves one unwired */
	for (int i = 0; i < 5; i++)
		fds[i] = i % 2 ? efd : -1;
	ck_assert_int_eq(iommufd_device_set_irqs(nic, VFIO_PCI_MSIX_IRQ_INDEX, 0,
						 5, fds), 0);
	ck_assert_int_eq(iommufd_device_set_irqs(nic, VFIO_PCI_MSIX_IRQ_INDEX, 0,
						 0, NULL), 0);
	ck_assert_int_eq(iommufd_device_set_irqs(NULL, 0, 0, 0, NULL), -EINVAL);
	close(efd);
	close(efd2);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(function_reset)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);

	ck_assert_int_eq(iommufd_device_reset(nic), 0);
	/* edu has no function reset */
	ck_assert_int_eq(iommufd_device_reset(edu), -EINVAL);
	ck_assert_int_eq(iommufd_device_reset(NULL), -EINVAL);
	/* and sits on the root bus: no bus reset either */
	ck_assert_int_eq(iommufd_device_hot_reset(edu), -ENODEV);
	ck_assert_int_eq(iommufd_device_hot_reset(NULL), -EINVAL);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(hot_reset_needs_every_device)
{
	struct iommufd_device *d0, *d1, *d2;

	add_reset_peers();
	d0 = open_ok_nonnull("0000:01:00.0");
	/* a tripwire: the reset itself must not even be tried */
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_PCI_HOT_RESET, EIO, 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_hot_reset(d0), -EPERM);
	ck_assert(logged("0000:01:00.1, which this context does not own"));
	ck_assert(logged("0000:01:00.2, which this context does not own"));
	/* .3 is owned through its group with .0 */
	ck_assert(!logged("0000:01:00.3"));
	/* another context's device is not this one's either */
	{
		struct iommufd_ctx *other;

		ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:01:00.2",
							  "vfio-pci"), 0);
		ck_assert_int_eq(iommufd_fake_ctx_new(fake, NULL, &other), 0);
		ck_assert_int_eq(iommufd_device_open(other, "0000:01:00.1",
						     NULL, &d1), 0);
		d2 = open_ok_nonnull("0000:01:00.2");
		log_clear();
		ck_assert_int_eq(iommufd_device_hot_reset(d0), -EPERM);
		ck_assert(logged("0000:01:00.1, which"));
		ck_assert(!logged("0000:01:00.2, which"));
		iommufd_ctx_free(other);	/* frees d1 */
	}
	/* all of them here: the reset goes to the kernel (the tripwire
	 * first, then for real) */
	d1 = open_ok_nonnull("0000:01:00.1");
	ck_assert_int_eq(iommufd_device_hot_reset(d0), -EIO);
	iommufd_fake_fail_clear(fake);
	ck_assert_int_eq(iommufd_device_hot_reset(d0), 0);
	ck_assert_int_eq(iommufd_device_hot_reset(d1), 0);
	iommufd_device_free(d2);
	iommufd_device_free(d1);
	iommufd_device_free(d0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* edu DMA through the library                                         */

START_TEST(edu_dma_both_ways)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU);
	struct iommufd_ioas *ioas;
	struct iommufd_hwpt *hwpt = NULL;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	size_t len = 4 * PAGE;
	uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *b = a + 2 * PAGE;
	uint64_t ia = 0x100000, ib = 0x200000;
	struct iommufd_fake_dma_stats st;

	ck_assert_ptr_ne(a, MAP_FAILED);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &hwpt), 0);
	ck_assert_ptr_nonnull(hwpt);
	ck_assert_int_eq(iommufd_ioas_map(ioas, a, 2 * PAGE, &ia, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, b, 2 * PAGE, &ib, FIXED), 0);
	for (int i = 0; i < 3000; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	bus_master(edu);
	ck_assert_int_eq(iommufd_device_set_irqs(edu, VFIO_PCI_MSI_IRQ_INDEX, 0,
						 1, &efd), 0);
	/* RAM -> device -> RAM elsewhere, with an MSI when done */
	edu_dma(edu, ia, 0x40000, 3000, false, false);
	edu_dma(edu, ib + 64, 0x40000, 3000, true, true);
	ck_assert_mem_eq(b + 64, a, 3000);
	ck_assert_uint_eq(efd_read(efd), 1);
	ck_assert_uint_eq(rd32(edu, 0x24), 0x100);
	wr32(edu, 0x64, 0x100);
	st = stats(EDU);
	ck_assert_uint_eq(st.dmas, 2);
	ck_assert_uint_eq(st.faults, 0);
	/* to an IOVA nothing maps: the IOMMU faults, nothing lands */
	memset(b, 0, PAGE);
	edu_dma(edu, 0x500000, 0x40000, 64, true, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_uint_eq(st.last_fault_iova, 0x500000);
	ck_assert(st.last_fault_write);
	ck_assert_int_eq(st.last_fault_reason, -ENOENT);
	/* after an unmap, the old IOVA faults too */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, ib, 2 * PAGE, 0, NULL), 0);
	edu_dma(edu, ib, 0x40000, 64, true, false);
	ck_assert_uint_eq(stats(EDU).faults, 2);
	ck_assert_uint_eq(b[0], 0);
	/* detached: no translation at all */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	edu_dma(edu, ia, 0x40000, 64, false, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 3);
	ck_assert_int_eq(st.last_fault_reason, -ENODEV);
	close(efd);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(a, len);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failures and teardown                                               */

START_TEST(open_survives_every_failure)
{
	struct iommufd_device *dev;
	unsigned int files = iommufd_fake_open_files(fake);
	unsigned long n;
	int rc = -1;

	for (n = 1; n < 64 && rc; n++) {
		dev = NULL;
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_device_open(ctx, EDU, NULL, &dev);
		iommufd_fake_fail_clear(fake);
		if (rc) {
			ck_assert_int_eq(rc, -EIO);
			ck_assert_ptr_null(dev);
			ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
		}
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(n, 2);	/* open and bind, at least */
	iommufd_device_free(dev);
	/* and the device opens again: nothing was left bound */
	dev = open_ok_nonnull(EDU);
	iommufd_device_free(dev);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);

	/* adopt: the fd is the caller's whatever fails */
	rc = -1;
	for (n = 1; n < 64 && rc; n++) {
		int fd = raw_open(EDU);

		dev = NULL;
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_device_adopt(ctx, fd, NULL, &dev);
		iommufd_fake_fail_clear(fake);
		if (!rc)
			iommufd_device_free(dev);
		ck_assert(fd_is_open(fd));
		ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
		ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	}
	ck_assert_int_eq(rc, 0);
}
END_TEST

START_TEST(ctx_free_with_everything_alive)
{
	struct iommufd_device *edu = open_ok_nonnull(EDU), *nic = open_ok_nonnull(NIC);
	struct iommufd_device *mdev = open_ok_nonnull(MDEV);
	struct iommufd_ioas *ioas, *ioas2;
	struct iommufd_hwpt *h1, *h2, *mine;
	uint8_t *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0x100000;
	void *bar;

	ck_assert_ptr_ne(buf, MAP_FAILED);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas2), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &h1), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, &h2), 0);
	ck_assert_int_eq(iommufd_device_attach(mdev, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas2, 0, &mine), 0);
	/* a BAR mapped and left so: the HWPT must still go */
	ck_assert_int_eq(iommufd_device_region_mmap(nic, 0, 0, PAGE, PROT_READ,
						    &bar), 0);
	ck_assert_uint_gt(iommufd_fake_pinned_bytes(fake), 0);
	iommufd_ctx_free(ctx);
	ctx = NULL;
	ck_assert(!logged("left in the kernel"));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	munmap(bar, PAGE);
	munmap(buf, PAGE);
}
END_TEST

static Suite *device_suite(void)
{
	Suite *s = suite_create("device");
	TCase *tc = fx_tcase("device");
	TCase *old = fx_tcase("6.5");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_by_pci_address);
	tcase_add_test(tc, open_by_sysfs_path);
	tcase_add_test(tc, open_by_cdev_path);
	tcase_add_test(tc, open_bad_names);
	tcase_add_test(tc, open_device_of_another_driver);
	tcase_add_test(tc, open_opts);
	tcase_add_test(tc, open_twice_and_double_bind);
	tcase_add_test(tc, vf_token);
	tcase_add_test(tc, adopt_keeps_or_takes_the_fd);
	tcase_add_test(tc, adopt_wrong_kind_of_fd);
	tcase_add_test(tc, device_and_region_info);
	tcase_add_test(tc, region_info_is_cached);
	tcase_add_test(tc, region_read_write_bounds);
	tcase_add_test(tc, region_mmap_sparse);
	tcase_add_test(tc, irq_info_and_set_irqs);
	tcase_add_test(tc, function_reset);
	tcase_add_test(tc, hot_reset_needs_every_device);
	tcase_add_test(tc, edu_dma_both_ways);
	tcase_add_test(tc, open_survives_every_failure);
	tcase_add_test(tc, ctx_free_with_everything_alive);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(old, setup_6_5, teardown);
	tcase_add_test(old, open_before_cdevs);
	suite_add_tcase(s, old);
	return s;
}

int main(void)
{
	return fx_run(device_suite());
}
