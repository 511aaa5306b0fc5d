/* SPDX-License-Identifier: MIT */
/*
 * The fake kernel's devices at the raw uAPI level: VFIO device files (bind,
 * attach, regions, interrupts, resets), HWPTs, the IOMMU units behind them,
 * the edu DMA device and the machine's sysfs tree. One test per rule; each
 * expectation is what the kernel does (drivers/vfio/, drivers/iommu/iommufd/).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <iommufd/fake.h>

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA
#define REGION(i) ((off_t)((uint64_t)(i) << 40))

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define MSI_START 0xfee00000ull
#define MSI_LAST 0xfeefffffull

static struct iommufd_fake *fake;
static int ifd = -1;
static uint64_t PAGE;
static uint8_t *buf;		/* BUF_PAGES pages of RW memory */
#define BUF_PAGES 16

static void setup(void)
{
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
	ifd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(ifd, 0);
	buf = mmap(NULL, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE,
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
	munmap(buf, BUF_PAGES * PAGE);
}

/* 0 or the errno of an ioctl on @fd */
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

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static int map_prot(uint32_t ioas, void *va, uint64_t len, uint64_t iova,
		    uint32_t prot)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = FIXED | prot, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len, .iova = iova,
	};

	return xioctl(IOMMU_IOAS_MAP, &cmd);
}

static int map_fixed(uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	return map_prot(ioas, va, len, iova, RW);
}

static int unmap_all(uint32_t ioas)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .length = UINT64_MAX,
	};

	return xioctl(IOMMU_IOAS_UNMAP, &cmd);
}

static int destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return xioctl(IOMMU_DESTROY, &cmd);
}

static uint32_t ranges(uint32_t ioas, struct iommu_iova_range *r, uint32_t max)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = max,
		.allowed_iovas = (uintptr_t)r,
	};

	ck_assert_int_eq(xioctl(IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	return cmd.num_iovas;
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

static int bind_fd(int dfd, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = iommufd,
	};
	int ret = xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);

	if (!ret && devid)
		*devid = bind.out_devid;
	return ret;
}

/* Open and bind @name to the test's iommufd. */
static int open_bound(const char *name, uint32_t *devid)
{
	int dfd = open_dev(name);

	ck_assert_int_eq(bind_fd(dfd, ifd, devid), 0);
	return dfd;
}

static int attach(int dfd, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = sizeof(cmd), .pt_id = *pt_id,
	};
	int ret = xioctl_fd(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);

	if (!ret)
		*pt_id = cmd.pt_id;
	return ret;
}

static int attach_pasid(int dfd, uint32_t pasid, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = sizeof(cmd), .flags = VFIO_DEVICE_ATTACH_PASID,
		.pt_id = *pt_id, .pasid = pasid,
	};
	int ret = xioctl_fd(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);

	if (!ret)
		*pt_id = cmd.pt_id;
	return ret;
}

static int detach(int dfd)
{
	struct vfio_device_detach_iommufd_pt cmd = { .argsz = sizeof(cmd) };

	return xioctl_fd(dfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
}

static int detach_pasid(int dfd, uint32_t pasid)
{
	struct vfio_device_detach_iommufd_pt cmd = {
		.argsz = sizeof(cmd), .flags = VFIO_DEVICE_DETACH_PASID,
		.pasid = pasid,
	};

	return xioctl_fd(dfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
}

static void close_fd(int fd)
{
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
}

/* Region access through the fake, as pread/pwrite on the device fd. */
static uint32_t rd32(int dfd, int index, uint64_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 4,
					    REGION(index) + (off_t)off), 4);
	return v;
}

static void wr32(int dfd, int index, uint64_t off, uint32_t v)
{
	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &v, 4,
					     REGION(index) + (off_t)off), 4);
}

static void wr64(int dfd, int index, uint64_t off, uint64_t v)
{
	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &v, 8,
					     REGION(index) + (off_t)off), 8);
}

static uint16_t cfg16(int dfd, unsigned int off)
{
	uint16_t v = 0;

	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 2,
					    REGION(VFIO_PCI_CONFIG_REGION_INDEX) +
						    off), 2);
	return v;
}

static void set_cfg16(int dfd, unsigned int off, uint16_t v)
{
	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &v, 2,
					     REGION(VFIO_PCI_CONFIG_REGION_INDEX) +
						     off), 2);
}

static void bus_master(int dfd)
{
	set_cfg16(dfd, 0x04, cfg16(dfd, 0x04) | 0x4);
}

/* edu: a DMA from RAM (to_ram false) or to RAM; waits as a driver would. */
static void edu_dma(int dfd, uint64_t iova, uint64_t dev_addr, uint64_t cnt,
		    bool to_ram, bool irq)
{
	wr64(dfd, 0, 0x80, to_ram ? dev_addr : iova);
	wr64(dfd, 0, 0x88, to_ram ? iova : dev_addr);
	wr64(dfd, 0, 0x90, cnt);
	wr64(dfd, 0, 0x98, 1 | (to_ram ? 2 : 0) | (irq ? 4 : 0));
	for (int i = 0; i < 100 && (rd32(dfd, 0, 0x98) & 1); i++)
		;
	ck_assert_uint_eq(rd32(dfd, 0, 0x98) & 1, 0);
}

static struct iommufd_fake_dma_stats stats(const char *name)
{
	struct iommufd_fake_dma_stats st = { .sz = sizeof(st) };

	ck_assert_int_eq(iommufd_fake_dma_stats(fake, name, &st), 0);
	return st;
}

static uint64_t efd_read(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static int set_irq_efd(int dfd, uint32_t index, uint32_t start, int32_t efd)
{
	_Alignas(8) uint8_t raw[sizeof(struct vfio_irq_set) + sizeof(efd)];
	struct vfio_irq_set *set = (void *)raw;

	memset(raw, 0, sizeof(raw));
	set->argsz = sizeof(raw);
	set->index = index;
	set->start = start;
	set->count = 1;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	memcpy(raw + sizeof(*set), &efd, sizeof(efd));
	return xioctl_fd(dfd, VFIO_DEVICE_SET_IRQS, raw);
}

static int set_irq_none(int dfd, uint32_t index, uint32_t action,
			uint32_t count)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set), .index = index, .count = count,
		.flags = VFIO_IRQ_SET_DATA_NONE | action,
	};

	return xioctl_fd(dfd, VFIO_DEVICE_SET_IRQS, &set);
}

/* A third device behind dmar0 (another group), PCIe with PASID. */
static void add_pasid_dev(void)
{
	struct iommufd_fake_pci_opts o = {
		.sz = sizeof(o), .bdf = "0000:00:06.0", .vendor_id = 0x8086,
		.device_id = 0x0b25, .class_code = 0x088000, .iommu = "dmar0",
		.iommu_group = 7, .bars = { [0] = { .size = 1u << 16 } },
		.msix_vectors = 0, .msi_vectors = 4,
		.flags = IOMMUFD_FAKE_PCI_PCIE,
	};

	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
}

/* ------------------------------------------------------------------ */
/* The device file                                                     */

START_TEST(cdev_open_and_stat)
{
	struct stat st;
	char path[64];
	int dfd, dfd2;

	ck_assert_int_eq(iommufd_fake_device_cdev(fake, EDU, path, sizeof(path)),
			 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(iommufd_fake_device_cdev(fake, NIC, path, sizeof(path)),
			 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio1");
	ck_assert_int_eq(iommufd_fake_device_cdev(fake, MDEV, path, sizeof(path)),
			 0);
	ck_assert_str_eq(path, "/dev/vfio/devices/vfio2");
	ck_assert_int_eq(iommufd_fake_device_cdev(fake, EDU, path, 4), -ERANGE);
	ck_assert_int_eq(iommufd_fake_device_cdev(fake, "0000:00:1f.0", path,
						  sizeof(path)), -ENOENT);

	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/devices/vfio1", &st),
			 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), 511);
	ck_assert_uint_eq(minor(st.st_rdev), 1);
	dfd = iommufd_fake_open(fake, "/dev/vfio/devices/vfio1", O_RDWR);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(fcntl(dfd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(iommufd_fake_fstat(fake, dfd, &st), 0);
	ck_assert_uint_eq(major(st.st_rdev), 511);
	ck_assert_uint_eq(minor(st.st_rdev), 1);
	/* the cdev can be opened more than once (only one binds) */
	dfd2 = open_dev(NIC);
	ck_assert_int_eq(fcntl(dfd2, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close_fd(dfd2);
	close_fd(dfd);

	errno = 0;
	ck_assert_int_eq(iommufd_fake_open(fake, "/dev/vfio/devices/vfio9",
					   O_RDWR), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_open(fake, "/dev/vfio/devices/vfio01",
					   O_RDWR), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(unbound_file_is_unusable)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t pt = 1, v;
	int dfd = open_dev(NIC);

	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_GET_INFO, &info), EINVAL);
	ck_assert_int_eq(attach(dfd, &pt), EINVAL);
	ck_assert_int_eq(detach(dfd), EINVAL);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 4, REGION(7)), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, PAGE, PROT_READ,
					   MAP_SHARED, dfd, 0), MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
	close_fd(dfd);
}
END_TEST

START_TEST(bind_rules)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	uint8_t big[sizeof(bind) + 8] = { 0 };
	uint8_t uuid[16] = { 1 };
	uint32_t devid, devid2;
	int dfd = open_dev(NIC), dfd2 = open_dev(NIC);
	int p[2];

	bind.argsz = offsetofend(struct vfio_device_bind_iommufd, out_devid) - 1;
	bind.iommufd = ifd;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	bind.argsz = sizeof(bind);
	bind.flags = 2;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	bind.flags = 0;
	bind.iommufd = -1;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	/* iommufd_ctx_from_fd(): no such fd, or not an iommufd */
	ck_assert_int_eq(bind_fd(dfd, 1000, NULL), EBADF);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(bind_fd(dfd, p[0], NULL), EBADFD);
	ck_assert_int_eq(bind_fd(dfd, dfd2, NULL), EBADFD);
	close(p[0]);
	close(p[1]);
	/* a VF token for a device that is no PF or VF */
	bind.iommufd = ifd;
	bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
	bind.token_uuid_ptr = (uintptr_t)uuid;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	bind.token_uuid_ptr = 16;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), EFAULT);
	/* a larger struct: its tail must be zero */
	memcpy(big, &(struct vfio_device_bind_iommufd){
			    .argsz = sizeof(big), .iommufd = ifd }, sizeof(bind));
	big[sizeof(big) - 1] = 1;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, big), E2BIG);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 3);

	ck_assert_int_eq(bind_fd(dfd, ifd, &devid), 0);
	ck_assert_uint_ne(devid, 0);
	/* bound once: the same file, or another file of the device */
	ck_assert_int_eq(bind_fd(dfd, ifd, NULL), EINVAL);
	ck_assert_int_eq(bind_fd(dfd2, ifd, NULL), EINVAL);
	/* the driver holds the DEVICE object */
	ck_assert_int_eq(destroy(devid), EBUSY);
	/* unbind on close; the device binds again */
	close_fd(dfd);
	ck_assert_int_eq(destroy(devid), ENOENT);
	ck_assert_int_eq(bind_fd(dfd2, ifd, &devid2), 0);
	ck_assert_uint_eq(devid2, devid);
	close_fd(dfd2);
}
END_TEST

START_TEST(bind_before_6_17_ignores_tail)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = ifd, .token_uuid_ptr = 1,
	};
	int dfd = open_dev(NIC);

	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 16), 0);
	bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	bind.flags = 0;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	close_fd(dfd);
}
END_TEST

START_TEST(bind_keeps_iommufd)
{
	uint32_t devid;
	int dfd = open_bound(NIC, &devid);

	/* the bind holds the iommufd file */
	close_fd(ifd);
	ifd = -1;
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 2);
	close_fd(dfd);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
}
END_TEST

START_TEST(bind_group_ownership)
{
	struct iommufd_fake_pci_opts peer = {
		.sz = sizeof(peer), .bdf = "0000:00:05.1", .vendor_id = 0x8086,
		.device_id = 0x10d3, .class_code = 0x020000, .iommu = "dmar1",
		.iommu_group = 2, .bars = { [0] = { .size = 1u << 17 } },
	};
	int ifd2 = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	int nic, pfd;

	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &peer), 0);
	/* the group's other device is bound to another iommufd: EPERM */
	pfd = open_dev("0000:00:05.1");
	ck_assert_int_eq(bind_fd(pfd, ifd2, NULL), 0);
	nic = open_dev(NIC);
	ck_assert_int_eq(bind_fd(nic, ifd, NULL), EPERM);
	/* ...to the same one: fine */
	ck_assert_int_eq(bind_fd(nic, ifd2, NULL), 0);
	close_fd(nic);
	close_fd(pfd);
	/* a kernel driver on a device of the group owns it */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:00:05.1", "e1000e"),
			 0);
	nic = open_dev(NIC);
	ck_assert_int_eq(bind_fd(nic, ifd, NULL), EPERM);
	close_fd(nic);
	/* and a kernel driver cannot probe while VFIO owns the group */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:00:05.1", ""), 0);
	nic = open_bound(NIC, NULL);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:00:05.1", "e1000e"),
			 -EBUSY);
	close_fd(nic);
	close_fd(ifd2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Attaching                                                           */

START_TEST(attach_auto_domain_reuse)
{
	uint32_t ioas = ioas_alloc(), pt1 = ioas, pt2 = ioas, pt3 = ioas;
	int d1, d2, d3;

	add_pasid_dev();
	d1 = open_bound(EDU, NULL);
	d2 = open_bound("0000:00:06.0", NULL);
	d3 = open_bound(NIC, NULL);
	ck_assert_int_eq(attach(d1, &pt1), 0);
	ck_assert_uint_ne(pt1, ioas);	/* the HWPT made for it */
	/* the same IOMMU: the automatic domain is reused */
	ck_assert_int_eq(attach(d2, &pt2), 0);
	ck_assert_uint_eq(pt2, pt1);
	/* another IOMMU: incompatible, so a domain of its own */
	ck_assert_int_eq(attach(d3, &pt3), 0);
	ck_assert_uint_ne(pt3, pt1);
	ck_assert_int_eq(destroy(ioas), EBUSY);
	ck_assert_int_eq(destroy(pt1), EBUSY);
	/* an automatic domain goes with its last device */
	ck_assert_int_eq(detach(d1), 0);
	ck_assert_int_eq(destroy(pt1), EBUSY);
	ck_assert_int_eq(detach(d2), 0);
	ck_assert_int_eq(destroy(pt1), ENOENT);
	close_fd(d3);
	ck_assert_int_eq(destroy(pt3), ENOENT);
	ck_assert_int_eq(destroy(ioas), 0);
	close_fd(d1);
	close_fd(d2);
}
END_TEST

START_TEST(attach_pt_id_rules)
{
	uint32_t devid, ioas = ioas_alloc(), pt;
	struct vfio_device_attach_iommufd_pt cmd = { .argsz = 11 };
	int dfd = open_bound(EDU, &devid);

	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd),
			 EINVAL);
	cmd.argsz = sizeof(cmd);
	cmd.flags = 2;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd),
			 EINVAL);
	pt = 999;
	ck_assert_int_eq(attach(dfd, &pt), ENOENT);
	pt = devid;	/* neither an IOAS nor a HWPT */
	ck_assert_int_eq(attach(dfd, &pt), EINVAL);
	pt = ioas;
	ck_assert_int_eq(attach(dfd, &pt), 0);
	close_fd(dfd);
	ck_assert_int_eq(destroy(pt), ENOENT);
	ck_assert_int_eq(destroy(ioas), 0);
}
END_TEST

START_TEST(hwpt_alloc_rules)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd) };
	struct iommu_fault_alloc fault = { .size = sizeof(fault) };
	uint32_t edu_id, nic_id, ioas = ioas_alloc(), hwpt, parent;
	int edu = open_bound(EDU, &edu_id), nic = open_bound(NIC, &nic_id);

	/* dev_id: a bound device; pt_id: an unknown id is EINVAL */
	ck_assert_int_eq(hwpt_alloc(ioas, ioas, 0, NULL), ENOENT);
	ck_assert_int_eq(hwpt_alloc(edu_id, 999, 0, NULL), EINVAL);
	ck_assert_int_eq(hwpt_alloc(edu_id, nic_id, 0, NULL), EINVAL);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 1u << 31, NULL), EOPNOTSUPP);
	/* the flags the device's IOMMU can do */
	ck_assert_int_eq(hwpt_alloc(nic_id, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    NULL), EOPNOTSUPP);
	ck_assert_int_eq(hwpt_alloc(nic_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    NULL), EOPNOTSUPP);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt), 0);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT |
						  IOMMU_HWPT_FAULT_ID_VALID,
				    NULL), EOPNOTSUPP);
	/* user data for a paging domain */
	cmd.dev_id = edu_id;
	cmd.pt_id = ioas;
	cmd.data_type = IOMMU_HWPT_DATA_VTD_S1;
	cmd.data_len = 8;
	cmd.data_uptr = (uintptr_t)buf;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), EOPNOTSUPP);
	/* nesting: the parent must be a nesting parent; then not modelled */
	cmd.pt_id = hwpt;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), EINVAL);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    &parent), 0);
	cmd.pt_id = parent;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), EOPNOTSUPP);
	/* a fault queue: the HWPT holds it */
	ck_assert_int_eq(xioctl(IOMMU_FAULT_QUEUE_ALLOC, &fault), 0);
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.dev_id = edu_id;
	cmd.pt_id = ioas;
	cmd.flags = IOMMU_HWPT_FAULT_ID_VALID;
	cmd.fault_id = ioas;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), ENOENT);
	cmd.fault_id = fault.out_fault_id;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_ALLOC, &cmd), 0);
	close_fd((int)fault.out_fault_fd);
	ck_assert_int_eq(destroy(fault.out_fault_id), EBUSY);
	ck_assert_int_eq(destroy(cmd.out_hwpt_id), 0);
	ck_assert_int_eq(destroy(fault.out_fault_id), 0);
	/* the HWPT holds its IOAS */
	ck_assert_int_eq(destroy(ioas), EBUSY);
	ck_assert_int_eq(destroy(hwpt), 0);
	ck_assert_int_eq(destroy(parent), 0);
	ck_assert_int_eq(destroy(ioas), 0);
	close_fd(edu);
	close_fd(nic);
}
END_TEST

START_TEST(hwpt_alloc_6_6)
{
	uint32_t edu_id, ioas = ioas_alloc(), hwpt;
	int edu = open_bound(EDU, &edu_id);

	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 0, &hwpt), 0);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 6), 0);
	/* 6.6: the flags first, and pt_id must be an IOAS (ENOENT) */
	ck_assert_int_eq(hwpt_alloc(ioas, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    NULL), EOPNOTSUPP);
	ck_assert_int_eq(hwpt_alloc(edu_id, hwpt, 0, NULL), ENOENT);
	close_fd(edu);
	ck_assert_int_eq(destroy(hwpt), 0);
}
END_TEST

START_TEST(hwpt_attach_across_units_einval)
{
	uint32_t edu_id, nic_id, ioas = ioas_alloc(), hwpt, pt;
	int edu = open_bound(EDU, &edu_id), nic = open_bound(NIC, &nic_id);

	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 0, &hwpt), 0);
	pt = hwpt;
	ck_assert_int_eq(attach(nic, &pt), EINVAL);
	ck_assert_int_eq(attach(edu, &pt), 0);
	ck_assert_uint_eq(pt, hwpt);
	/* manual HWPTs are never picked for an IOAS attach */
	pt = ioas;
	ck_assert_int_eq(attach(nic, &pt), 0);
	ck_assert_uint_ne(pt, hwpt);
	ck_assert_int_eq(destroy(hwpt), EBUSY);
	close_fd(edu);
	close_fd(nic);
	ck_assert_int_eq(destroy(hwpt), 0);
	ck_assert_int_eq(destroy(ioas), 0);
}
END_TEST

START_TEST(replace_and_detach)
{
	uint32_t edu_id, ioas = ioas_alloc(), ioas2 = ioas_alloc(), a, b, nic_h;
	uint32_t nic_id, pt;
	int edu = open_bound(EDU, &edu_id), nic = open_bound(NIC, &nic_id);
	uint8_t v = 0x5a;

	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 0, &a), 0);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas2, 0, &b), 0);
	ck_assert_int_eq(hwpt_alloc(nic_id, ioas2, 0, &nic_h), 0);
	ck_assert_int_eq(map_fixed(ioas2, buf, PAGE, 0x100000), 0);
	bus_master(edu);
	pt = a;
	ck_assert_int_eq(attach(edu, &pt), 0);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, EDU, 0x100000, &v, 1,
						 true), -EFAULT);
	/* a second attach replaces */
	pt = b;
	ck_assert_int_eq(attach(edu, &pt), 0);
	ck_assert_int_eq(destroy(a), 0);
	ck_assert_int_eq(destroy(b), EBUSY);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, EDU, 0x100000, &v, 1,
						 true), 0);
	ck_assert_uint_eq(buf[0], 0x5a);
	/* an incompatible replacement changes nothing */
	pt = nic_h;
	ck_assert_int_eq(attach(edu, &pt), EINVAL);
	ck_assert_int_eq(destroy(b), EBUSY);
	/* replacing with an IOAS: an automatic domain; b is free again */
	pt = ioas2;
	ck_assert_int_eq(attach(edu, &pt), 0);
	ck_assert_uint_ne(pt, b);
	ck_assert_int_eq(destroy(b), 0);
	/* detach: DMA has no translation; detach twice is fine */
	ck_assert_int_eq(detach(edu), 0);
	ck_assert_int_eq(detach(edu), 0);
	ck_assert_int_eq(destroy(pt), ENOENT);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, EDU, 0x100000, &v, 1,
						 true), -EFAULT);
	ck_assert_int_eq(stats(EDU).last_fault_reason, -ENODEV);
	ck_assert_int_eq(destroy(nic_h), 0);
	ck_assert_int_eq(unmap_all(ioas2), 0);
	close_fd(edu);
	close_fd(nic);
}
END_TEST

START_TEST(pasid_rules)
{
	uint32_t devid, ioas = ioas_alloc(), plain, pasid_h, pt, edu_id;
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id),
		.flags = VFIO_DEVICE_ATTACH_PASID,
	};
	int dfd, edu, mdev;

	add_pasid_dev();
	dfd = open_bound("0000:00:06.0", &devid);
	edu = open_bound(EDU, &edu_id);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &plain), 0);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, IOMMU_HWPT_ALLOC_PASID,
				    &pasid_h), 0);
	/* the pasid field must be there */
	cmd.pt_id = pasid_h;
	ck_assert_int_eq(xioctl_fd(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd),
			 EINVAL);
	/* a HWPT not allocated for PASIDs; an IOAS (its automatic domain is
	 * not either) */
	pt = plain;
	ck_assert_int_eq(attach_pasid(dfd, 5, &pt), EINVAL);
	pt = ioas;
	ck_assert_int_eq(attach_pasid(dfd, 5, &pt), EINVAL);
	/* beyond the IOMMU's 20 bits; a device without PASIDs */
	pt = pasid_h;
	ck_assert_int_eq(attach_pasid(dfd, 1u << 20, &pt), EINVAL);
	ck_assert_int_eq(attach_pasid(edu, 5, &pt), EINVAL);
	ck_assert_int_eq(attach_pasid(dfd, 5, &pt), 0);
	ck_assert_uint_eq(pt, pasid_h);
	/* the RID cannot take a non-PASID domain while PASIDs are attached */
	pt = plain;
	ck_assert_int_eq(attach(dfd, &pt), EINVAL);
	pt = pasid_h;
	ck_assert_int_eq(attach(dfd, &pt), 0);
	ck_assert_int_eq(destroy(pasid_h), EBUSY);
	ck_assert_int_eq(detach_pasid(dfd, 5), 0);
	ck_assert_int_eq(detach_pasid(dfd, 6), 0);	/* not attached: fine */
	ck_assert_int_eq(detach(dfd), 0);
	ck_assert_int_eq(destroy(pasid_h), 0);
	/* PASID 0 is IOMMU_NO_PASID: the RID, attached through the PASID
	 * path, detached through it too (and by the close) */
	pt = plain;
	ck_assert_int_eq(attach_pasid(dfd, 0, &pt), 0);
	ck_assert_int_eq(destroy(plain), EBUSY);
	pt = plain;
	ck_assert_int_eq(attach(dfd, &pt), EBUSY);
	ck_assert_int_eq(detach(dfd), 0);	/* not the RID's attach */
	ck_assert_int_eq(destroy(plain), EBUSY);
	ck_assert_int_eq(detach_pasid(dfd, 0), 0);
	ck_assert_int_eq(destroy(plain), 0);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &plain), 0);
	pt = plain;
	ck_assert_int_eq(attach_pasid(dfd, 0, &pt), 0);
	/* emulated devices have no PASIDs */
	mdev = open_bound(MDEV, NULL);
	pt = ioas;
	ck_assert_int_eq(attach_pasid(mdev, 5, &pt), EOPNOTSUPP);
	ck_assert_int_eq(detach_pasid(mdev, 5), EOPNOTSUPP);
	/* before 6.15 the flag is unknown */
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 14), 0);
	ck_assert_int_eq(attach_pasid(dfd, 5, &pt), EINVAL);
	ck_assert_int_eq(detach_pasid(dfd, 5), EINVAL);
	close_fd(mdev);
	close_fd(edu);
	ck_assert_int_eq(destroy(plain), EBUSY);
	close_fd(dfd);
	ck_assert_int_eq(destroy(plain), 0);
}
END_TEST

START_TEST(iova_ranges_narrow_and_widen)
{
	struct iommu_iova_range r[4];
	uint32_t ioas = ioas_alloc(), pt = ioas;
	int edu = open_bound(EDU, NULL);

	ck_assert_uint_eq(ranges(ioas, r, 4), 1);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].last, UINT64_MAX);
	ck_assert_int_eq(attach(edu, &pt), 0);
	/* the MSI window and dmar0's 39-bit aperture, as the real lab sees */
	ck_assert_uint_eq(ranges(ioas, r, 4), 2);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].last, MSI_START - 1);
	ck_assert_uint_eq(r[1].start, MSI_LAST + 1);
	ck_assert_uint_eq(r[1].last, (1ull << 39) - 1);
	ck_assert_int_eq(detach(edu), 0);
	ck_assert_uint_eq(ranges(ioas, r, 4), 1);
	ck_assert_uint_eq(r[0].last, UINT64_MAX);
	close_fd(edu);
}
END_TEST

START_TEST(attach_refused_by_mappings)
{
	struct iommu_iova_range r[4];
	struct iommu_iova_range allow = { MSI_START - PAGE, MSI_START + PAGE };
	struct iommu_ioas_allow_iovas al = {
		.size = sizeof(al), .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&allow,
	};
	uint32_t ioas = ioas_alloc(), pt = ioas, devid, hwpt;
	int edu = open_bound(EDU, &devid);

	/* a mapping in the device's MSI window */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, MSI_START), 0);
	ck_assert_int_eq(attach(edu, &pt), EADDRINUSE);
	ck_assert_uint_eq(pt, ioas);
	ck_assert_uint_eq(ranges(ioas, r, 4), 1);
	ck_assert_int_eq(unmap_all(ioas), 0);
	/* outside the aperture: the HWPT cannot be made */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, 1ull << 40), 0);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &hwpt), EADDRINUSE);
	ck_assert_int_eq(attach(edu, &pt), EADDRINUSE);
	ck_assert_int_eq(unmap_all(ioas), 0);
	/* an allowed range over the window */
	al.ioas_id = ioas;
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOW_IOVAS, &al), 0);
	ck_assert_int_eq(attach(edu, &pt), EADDRINUSE);
	al.num_iovas = 0;
	ck_assert_int_eq(xioctl(IOMMU_IOAS_ALLOW_IOVAS, &al), 0);
	ck_assert_int_eq(attach(edu, &pt), 0);
	/* and once attached the window cannot be mapped */
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, MSI_START), EINVAL);
	close_fd(edu);
	ck_assert_int_eq(destroy(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Emulated devices                                                    */

START_TEST(emulated_device_rules)
{
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_iova_range r[4];
	uint32_t devid, ioas = ioas_alloc(), ioas2 = ioas_alloc(), pt, hwpt;
	uint32_t edu_id;
	uint8_t data[64], back[64];
	int mdev = open_bound(MDEV, &devid);
	int edu = open_bound(EDU, &edu_id);

	ck_assert_uint_ne(devid, 0);
	ck_assert_int_eq(destroy(devid), EBUSY);
	/* its id is no DEVICE: HWPTs and hardware info are not for it */
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, NULL), ENOENT);
	info.dev_id = devid;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), ENOENT);
	/* attaching: an IOAS only */
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 0, &hwpt), 0);
	pt = hwpt;
	ck_assert_int_eq(attach(mdev, &pt), ENOENT);
	pt = ioas;
	ck_assert_int_eq(attach(mdev, &pt), 0);
	ck_assert_uint_eq(pt, ioas);
	ck_assert_uint_eq(ranges(ioas, r, 4), 1);	/* no reserved regions */
	ck_assert_int_eq(destroy(ioas), EBUSY);
	/* its accesses go through the IOAS */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, 0x10000), 0);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, 0x10010, data,
						 sizeof(data), true), 0);
	ck_assert_mem_eq(buf + 0x10, data, sizeof(data));
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, 0x10010, back,
						 sizeof(back), false), 0);
	ck_assert_mem_eq(back, data, sizeof(data));
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, 0x20000, back, 1,
						 false), -EFAULT);
	ck_assert_int_eq(stats(MDEV).last_fault_reason, -ENOENT);
	/* a second attach replaces the IOAS */
	pt = ioas2;
	ck_assert_int_eq(attach(mdev, &pt), 0);
	ck_assert_int_eq(destroy(ioas2), EBUSY);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, 0x10010, back, 1,
						 false), -EFAULT);
	ck_assert_int_eq(detach(mdev), 0);
	ck_assert_int_eq(destroy(ioas2), 0);
	close_fd(mdev);
	close_fd(edu);
	ck_assert_int_eq(destroy(hwpt), 0);
	ck_assert_int_eq(unmap_all(ioas), 0);
}
END_TEST

START_TEST(emulated_device_driver)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_pci_hot_reset_info hri = { .argsz = sizeof(hri) };
	struct vfio_device_feature feat = { .argsz = sizeof(feat) };
	int mdev = open_bound(MDEV, NULL);

	ck_assert_int_eq(xioctl_fd(mdev, VFIO_DEVICE_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.flags, VFIO_DEVICE_FLAGS_PCI |
					      VFIO_DEVICE_FLAGS_RESET);
	ck_assert_int_eq(xioctl_fd(mdev, VFIO_DEVICE_RESET, NULL), 0);
	ck_assert_int_eq(xioctl_fd(mdev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
				   &hri), ENOTTY);
	errno = 0;
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, PAGE,
					   PROT_READ | PROT_WRITE, MAP_SHARED,
					   mdev, REGION(0)), MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
	/* no device_feature: EINVAL; the core's migration: ENOTTY */
	feat.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		     VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	ck_assert_int_eq(xioctl_fd(mdev, VFIO_DEVICE_FEATURE, &feat), EINVAL);
	feat.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
	ck_assert_int_eq(xioctl_fd(mdev, VFIO_DEVICE_FEATURE, &feat), ENOTTY);
	/* its BAR0 is memory that reads back */
	wr32(mdev, 0, 0x10, 0xdeadbeef);
	ck_assert_uint_eq(rd32(mdev, 0, 0x10), 0xdeadbeef);
	close_fd(mdev);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Device information                                                  */

START_TEST(device_info)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int edu = open_bound(EDU, NULL), nic = open_bound(NIC, NULL);

	info.argsz = offsetofend(struct vfio_device_info, num_irqs) - 1;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_INFO, &info), EINVAL);
	info.argsz = sizeof(info);
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_INFO, &info), 0);
	/* edu has no function reset */
	ck_assert_uint_eq(info.flags, VFIO_DEVICE_FLAGS_PCI);
	ck_assert_uint_eq(info.num_regions, 9);
	ck_assert_uint_eq(info.num_irqs, 5);
	ck_assert_int_eq(xioctl_fd(nic, VFIO_DEVICE_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.flags, VFIO_DEVICE_FLAGS_PCI |
					      VFIO_DEVICE_FLAGS_RESET);
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_RESET, NULL), EINVAL);
	ck_assert_int_eq(xioctl_fd(nic, VFIO_DEVICE_RESET, NULL), 0);
	ck_assert_int_eq(xioctl_fd(nic, _IO(VFIO_TYPE, VFIO_BASE + 30), NULL),
			 ENOTTY);
	close_fd(edu);
	close_fd(nic);
}
END_TEST

static int region_info(int dfd, uint32_t index, struct vfio_region_info *r,
		       uint32_t argsz)
{
	memset(r, 0, sizeof(*r));
	r->argsz = argsz;
	r->index = index;
	return xioctl_fd(dfd, VFIO_DEVICE_GET_REGION_INFO, r);
}

START_TEST(region_info_rules)
{
	struct vfio_region_info r;
	union {
		struct vfio_region_info info;
		uint8_t raw[256];
	} big;
	struct vfio_region_info_cap_sparse_mmap *sparse;
	int edu = open_bound(EDU, NULL), nic = open_bound(NIC, NULL);

	ck_assert_int_eq(region_info(edu, 0, &r, sizeof(r) - 1), EINVAL);
	/* config space: 256 bytes (PCI) or 4 KiB (PCIe) */
	ck_assert_int_eq(region_info(edu, VFIO_PCI_CONFIG_REGION_INDEX, &r,
				     sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 256);
	ck_assert_uint_eq(r.offset, (uint64_t)REGION(7));
	ck_assert_uint_eq(r.flags, VFIO_REGION_INFO_FLAG_READ |
					   VFIO_REGION_INFO_FLAG_WRITE);
	ck_assert_int_eq(region_info(nic, VFIO_PCI_CONFIG_REGION_INDEX, &r,
				     sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 4096);
	/* edu's BAR0: read and write only */
	ck_assert_int_eq(region_info(edu, 0, &r, sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 1u << 20);
	ck_assert_uint_eq(r.offset, 0);
	ck_assert_uint_eq(r.flags, VFIO_REGION_INFO_FLAG_READ |
					   VFIO_REGION_INFO_FLAG_WRITE);
	/* the NIC's BAR0 can be mmap()ed; BAR1 does not exist */
	ck_assert_int_eq(region_info(nic, 0, &r, sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 128u << 10);
	ck_assert_uint_eq(r.flags, VFIO_REGION_INFO_FLAG_READ |
					   VFIO_REGION_INFO_FLAG_WRITE |
					   VFIO_REGION_INFO_FLAG_MMAP);
	ck_assert_int_eq(region_info(nic, 1, &r, sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 0);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.offset, (uint64_t)REGION(1));
	/* I/O ports: no mmap */
	ck_assert_int_eq(region_info(nic, 2, &r, sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 32);
	ck_assert_uint_eq(r.flags, VFIO_REGION_INFO_FLAG_READ |
					   VFIO_REGION_INFO_FLAG_WRITE);
	/* no ROM; no VGA; no device-specific region */
	ck_assert_int_eq(region_info(nic, VFIO_PCI_ROM_REGION_INDEX, &r,
				     sizeof(r)), 0);
	ck_assert_uint_eq(r.size, 0);
	ck_assert_int_eq(region_info(nic, VFIO_PCI_VGA_REGION_INDEX, &r,
				     sizeof(r)), EINVAL);
	ck_assert_int_eq(region_info(nic, 9, &r, sizeof(r)), EINVAL);
	/* the MSI-X BAR: a sparse-mmap capability, too big for argsz */
	ck_assert_int_eq(region_info(nic, 3, &r, sizeof(r)), 0);
	ck_assert_uint_eq(r.flags, VFIO_REGION_INFO_FLAG_READ |
					   VFIO_REGION_INFO_FLAG_WRITE |
					   VFIO_REGION_INFO_FLAG_MMAP |
					   VFIO_REGION_INFO_FLAG_CAPS);
	ck_assert_uint_gt(r.argsz, sizeof(r));
	ck_assert_uint_eq(r.cap_offset, 0);
	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.info.index = 3;
	ck_assert_int_eq(xioctl_fd(nic, VFIO_DEVICE_GET_REGION_INFO, &big), 0);
	ck_assert_uint_eq(big.info.cap_offset, sizeof(struct vfio_region_info));
	sparse = (void *)(big.raw + big.info.cap_offset);
	ck_assert_uint_eq(sparse->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	ck_assert_uint_eq(sparse->header.next, 0);
	ck_assert_uint_eq(sparse->nr_areas, 1);
	ck_assert_uint_eq(sparse->areas[0].offset, PAGE);
	ck_assert_uint_eq(sparse->areas[0].size, (16u << 10) - PAGE);
	close_fd(edu);
	close_fd(nic);
}
END_TEST

START_TEST(irq_info_rules)
{
	struct vfio_irq_info info = { .argsz = sizeof(info) };
	int edu = open_bound(EDU, NULL), nic = open_bound(NIC, NULL);

	info.index = VFIO_PCI_INTX_IRQ_INDEX;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	ck_assert_uint_eq(info.count, 1);
	ck_assert_uint_eq(info.flags, VFIO_IRQ_INFO_EVENTFD |
					      VFIO_IRQ_INFO_MASKABLE |
					      VFIO_IRQ_INFO_AUTOMASKED);
	info.index = VFIO_PCI_MSI_IRQ_INDEX;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	ck_assert_uint_eq(info.count, 1);
	ck_assert_uint_eq(info.flags, VFIO_IRQ_INFO_EVENTFD |
					      VFIO_IRQ_INFO_NORESIZE);
	info.index = VFIO_PCI_MSIX_IRQ_INDEX;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	ck_assert_uint_eq(info.count, 0);
	ck_assert_int_eq(xioctl_fd(nic, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	ck_assert_uint_eq(info.count, 5);
	ck_assert_uint_eq(info.flags, VFIO_IRQ_INFO_EVENTFD);
	/* the error IRQ is PCIe's */
	info.index = VFIO_PCI_ERR_IRQ_INDEX;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL);
	ck_assert_int_eq(xioctl_fd(nic, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	ck_assert_uint_eq(info.count, 1);
	info.index = VFIO_PCI_REQ_IRQ_INDEX;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	ck_assert_uint_eq(info.count, 1);
	info.index = 5;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL);
	close_fd(edu);
	close_fd(nic);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */

START_TEST(set_irqs_edu_msi)
{
	int edu = open_bound(EDU, NULL);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int p[2];

	ck_assert_int_ge(efd, 0);
	/* nothing to disable yet */
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_MSI_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_TRIGGER, 0), EINVAL);
	/* an fd that is no eventfd; none at all; beyond the vectors */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_MSI_IRQ_INDEX, 0, p[0]),
			 EINVAL);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_MSI_IRQ_INDEX, 0, 1000),
			 EBADF);
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_MSI_IRQ_INDEX, 1, efd),
			 EINVAL);
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_MSI_IRQ_INDEX, 0, efd), 0);
	/* one interrupt type at a time */
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_INTX_IRQ_INDEX, 0, efd),
			 EINVAL);
	/* two actions: no handler */
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_MSI_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_TRIGGER |
					      VFIO_IRQ_SET_ACTION_MASK, 1),
			 ENOTTY);
	/* the device raises its interrupt: MSI */
	wr32(edu, 0, 0x60, 0x42);
	ck_assert_uint_eq(efd_read(efd), 1);
	ck_assert_uint_eq(rd32(edu, 0, 0x24), 0x42);
	wr32(edu, 0, 0x64, 0x42);
	ck_assert_uint_eq(rd32(edu, 0, 0x24), 0);
	/* loopback */
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_MSI_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_TRIGGER, 1), 0);
	ck_assert_uint_eq(efd_read(efd), 1);
	/* count 0 disables */
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_MSI_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_TRIGGER, 0), 0);
	wr32(edu, 0, 0x60, 1);
	ck_assert_uint_eq(efd_read(efd), 0);
	wr32(edu, 0, 0x64, 1);
	close(efd);
	close_fd(edu);
}
END_TEST

START_TEST(set_irqs_edu_intx)
{
	int edu = open_bound(EDU, NULL);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_INTX_IRQ_INDEX, 0, efd), 0);
	wr32(edu, 0, 0x60, 1);
	ck_assert_uint_eq(efd_read(efd), 1);
	/* automasked: the level is still up, but nothing more comes */
	wr32(edu, 0, 0x60, 2);
	ck_assert_uint_eq(efd_read(efd), 0);
	/* unmasking with the level up fires again */
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_UNMASK, 1), 0);
	ck_assert_uint_eq(efd_read(efd), 1);
	/* acknowledged, then unmasked: quiet */
	wr32(edu, 0, 0x64, 3);
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_UNMASK, 1), 0);
	ck_assert_uint_eq(efd_read(efd), 0);
	/* masked by the user */
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_MASK, 1), 0);
	wr32(edu, 0, 0x60, 1);
	ck_assert_uint_eq(efd_read(efd), 0);
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_UNMASK, 1), 0);
	ck_assert_uint_eq(efd_read(efd), 1);
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_TRIGGER, 0), 0);
	close(efd);
	close_fd(edu);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Regions                                                             */

START_TEST(config_space)
{
	int edu = open_bound(EDU, NULL);
	uint32_t v;

	ck_assert_uint_eq(cfg16(edu, 0x00), 0x1234);
	ck_assert_uint_eq(cfg16(edu, 0x02), 0x11e8);
	/* vfio-pci leaves bus mastering off */
	ck_assert_uint_eq(cfg16(edu, 0x04), 0x0103);
	bus_master(edu);
	ck_assert_uint_eq(cfg16(edu, 0x04), 0x0107);
	/* read-only bytes stay */
	set_cfg16(edu, 0x00, 0xffff);
	ck_assert_uint_eq(cfg16(edu, 0x00), 0x1234);
	/* BAR sizing */
	wr32(edu, VFIO_PCI_CONFIG_REGION_INDEX, 0x10, 0xffffffff);
	ck_assert_uint_eq(rd32(edu, VFIO_PCI_CONFIG_REGION_INDEX, 0x10),
			  ~((1u << 20) - 1));
	/* beyond config space */
	errno = 0;
	ck_assert_int_eq(iommufd_fake_pread(fake, edu, &v, 4, REGION(7) + 254),
			 -1);
	ck_assert_int_eq(errno, EFAULT);
	/* memory decoding off: BAR accesses fail */
	set_cfg16(edu, 0x04, 0x0104);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_pread(fake, edu, &v, 4, REGION(0)), -1);
	ck_assert_int_eq(errno, EIO);
	/* a BAR past its end; regions that do not exist */
	set_cfg16(edu, 0x04, 0x0106);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_pread(fake, edu, &v, 4,
					    REGION(0) + (1 << 20)), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_pread(fake, edu, &v, 4, REGION(9)), -1);
	ck_assert_int_eq(errno, EINVAL);
	close_fd(edu);
}
END_TEST

START_TEST(bar_mmap)
{
	int nic = open_bound(NIC, NULL), edu = open_bound(EDU, NULL);
	uint32_t *p, v;
	uint8_t *q;

	p = iommufd_fake_mmap(fake, NULL, PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, nic, REGION(0) + (off_t)PAGE);
	ck_assert_ptr_ne(p, MAP_FAILED);
	p[3] = 0x12345678;
	ck_assert_uint_eq(rd32(nic, 0, PAGE + 12), 0x12345678);
	wr32(nic, 0, PAGE + 16, 0xcafe);
	ck_assert_uint_eq(p[4], 0xcafe);
	ck_assert_int_eq(iommufd_fake_munmap(fake, p, PAGE), 0);
	/* private mappings, past the end, the upper BARs and edu's BAR0 */
	errno = 0;
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, PAGE, PROT_READ,
					   MAP_PRIVATE, nic, REGION(0)),
			 MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, 256u << 10, PROT_READ,
					   MAP_SHARED, nic, REGION(0)),
			 MAP_FAILED);
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, PAGE, PROT_READ,
					   MAP_SHARED, nic,
					   REGION(VFIO_PCI_CONFIG_REGION_INDEX)),
			 MAP_FAILED);
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, PAGE, PROT_READ,
					   MAP_SHARED, edu, REGION(0)),
			 MAP_FAILED);
	/* the MSI-X table's page is a hole; the rest of the BAR maps */
	ck_assert_ptr_eq(iommufd_fake_mmap(fake, NULL, PAGE, PROT_READ,
					   MAP_SHARED, nic, REGION(3)),
			 MAP_FAILED);
	q = iommufd_fake_mmap(fake, NULL, (16u << 10) - PAGE, PROT_READ,
			      MAP_SHARED, nic, REGION(3) + (off_t)PAGE);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_int_eq(iommufd_fake_munmap(fake, q, (16u << 10) - PAGE), 0);
	/* the table itself reads as all ones, and drops writes */
	wr32(nic, 3, 0, 0);
	ck_assert_uint_eq(rd32(nic, 3, 0), 0xffffffff);
	/* edu's registers through pread/pwrite */
	ck_assert_uint_eq(rd32(edu, 0, 0x00), 0x010000ed);
	wr32(edu, 0, 0x04, 0x0f0f0f0f);
	ck_assert_uint_eq(rd32(edu, 0, 0x04), 0xf0f0f0f0);
	wr32(edu, 0, 0x08, 5);
	ck_assert_uint_eq(rd32(edu, 0, 0x08), 120);
	/* edu ignores 2-byte accesses: all ones */
	ck_assert_int_eq(iommufd_fake_pread(fake, edu, &v, 2, REGION(0)), 2);
	ck_assert_uint_eq(v & 0xffff, 0xffff);
	close_fd(nic);
	close_fd(edu);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hot reset                                                           */

static void add_reset_peers(void)
{
	/* 0000:01:00.0 (NIC-like, group 10) and 0000:01:00.1 (group 11,
	 * vfio-pci) and 0000:01:00.2 (nvme) share a resettable bus; .3 is in
	 * group 10 with .0 */
	struct iommufd_fake_pci_opts o = {
		.sz = sizeof(o), .vendor_id = 0x8086, .device_id = 0x1521,
		.class_code = 0x020000, .iommu = "dmar1",
		.bars = { [0] = { .size = 1u << 17 } },
		.flags = IOMMUFD_FAKE_PCI_PCIE, .reset_group = 1,
	};

	o.bdf = "0000:01:00.0";
	o.iommu_group = 10;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	o.bdf = "0000:01:00.1";
	o.iommu_group = 11;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	o.bdf = "0000:01:00.2";
	o.iommu_group = 12;
	o.driver = "nvme";
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	o.bdf = "0000:01:00.3";
	o.iommu_group = 10;
	o.driver = NULL;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
}

/* GET_PCI_HOT_RESET_INFO into @raw, its header copied out to @info (whose
 * argsz goes in). */
static int hri_ioctl(int dfd, uint8_t *raw, struct vfio_pci_hot_reset_info *info)
{
	int ret;

	memcpy(raw, info, sizeof(*info));
	ret = xioctl_fd(dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, raw);
	memcpy(info, raw, sizeof(*info));
	return ret;
}

#define HRI_SIZE (sizeof(struct vfio_pci_hot_reset_info) + \
		  8 * sizeof(struct vfio_pci_dependent_device))

START_TEST(hot_reset_rules)
{
	_Alignas(8) uint8_t raw[HRI_SIZE] = { 0 };
	struct vfio_pci_hot_reset_info info = { 0 };
	struct vfio_pci_dependent_device *devs;
	struct vfio_pci_hot_reset reset = { .argsz = sizeof(reset) };
	uint32_t id0, id1;
	int d0, d1, edu;

	add_reset_peers();
	devs = (struct vfio_pci_dependent_device *)(raw + sizeof(info));
	d0 = open_bound("0000:01:00.0", &id0);
	/* too small: ENOSPC and the count */
	info.argsz = sizeof(info) + sizeof(devs[0]);
	ck_assert_int_eq(hri_ioctl(d0, raw, &info),
			 ENOSPC);
	ck_assert_uint_eq(info.count, 4);
	info.argsz = sizeof(raw);
	ck_assert_int_eq(hri_ioctl(d0, raw, &info),
			 0);
	ck_assert_uint_eq(info.count, 4);
	/* .1 is not owned, nor is .2 (another driver): no DEV_ID_OWNED */
	ck_assert_uint_eq(info.flags, VFIO_PCI_HOT_RESET_FLAG_DEV_ID);
	ck_assert_uint_eq(devs[0].devid, id0);
	ck_assert_uint_eq(devs[0].bus, 1);
	ck_assert_uint_eq(devs[0].devfn, 0);
	ck_assert_uint_eq(devs[1].devid, (uint32_t)VFIO_PCI_DEVID_NOT_OWNED);
	ck_assert_uint_eq(devs[2].devid, (uint32_t)VFIO_PCI_DEVID_NOT_OWNED);
	/* .3: in .0's group, so owned though not bound */
	ck_assert_uint_eq(devs[3].devid, VFIO_PCI_DEVID_OWNED);
	ck_assert_uint_eq(devs[3].devfn, 3);
	ck_assert_int_eq(xioctl_fd(d0, VFIO_DEVICE_PCI_HOT_RESET, &reset),
			 EINVAL);
	/* all on vfio-pci and owned by this iommufd */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:01:00.2",
						  "vfio-pci"), 0);
	d1 = open_bound("0000:01:00.1", &id1);
	ck_assert_int_eq(xioctl_fd(d0, VFIO_DEVICE_PCI_HOT_RESET, &reset),
			 EINVAL);	/* .2 is not bound yet */
	edu = open_bound("0000:01:00.2", NULL);
	ck_assert_int_eq(hri_ioctl(d0, raw, &info),
			 0);
	ck_assert_uint_eq(info.flags, VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
						VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED);
	ck_assert_uint_eq(devs[1].devid, id1);
	ck_assert_int_eq(xioctl_fd(d0, VFIO_DEVICE_PCI_HOT_RESET, &reset), 0);
	/* a cdev passes no group fds; no flags */
	reset.count = 1;
	ck_assert_int_eq(xioctl_fd(d0, VFIO_DEVICE_PCI_HOT_RESET, &reset),
			 EINVAL);
	reset.count = 0;
	reset.flags = 1;
	ck_assert_int_eq(xioctl_fd(d0, VFIO_DEVICE_PCI_HOT_RESET, &reset),
			 EINVAL);
	close_fd(edu);
	close_fd(d1);
	close_fd(d0);
	/* the root bus has no bus reset */
	edu = open_bound(EDU, NULL);
	ck_assert_int_eq(hri_ioctl(edu, raw, &info),
			 ENODEV);
	reset.flags = 0;
	ck_assert_int_eq(xioctl_fd(edu, VFIO_DEVICE_PCI_HOT_RESET, &reset),
			 ENODEV);
	close_fd(edu);
}
END_TEST

/* ------------------------------------------------------------------ */
/* edu DMA                                                             */

/* edu bound, attached to a new IOAS, bus master on: returns the IOAS. */
static uint32_t edu_ready(int *edu)
{
	uint32_t ioas = ioas_alloc(), pt = ioas;

	*edu = open_bound(EDU, NULL);
	ck_assert_int_eq(attach(*edu, &pt), 0);
	bus_master(*edu);
	return ioas;
}

START_TEST(edu_dma_both_ways)
{
	int edu, efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint32_t ioas = edu_ready(&edu);
	uint8_t *a = buf, *b = buf + 4 * PAGE;
	int mfd = memfd_create("ram", MFD_CLOEXEC);
	struct iommu_ioas_map_file mf = {
		.size = sizeof(mf), .flags = FIXED | RW, .ioas_id = ioas,
		.fd = mfd, .start = 0, .length = PAGE, .iova = 0x300000,
	};
	uint8_t back[2048];

	ck_assert_int_eq(map_fixed(ioas, a, 2 * PAGE, 0x100000), 0);
	ck_assert_int_eq(map_fixed(ioas, b, 2 * PAGE, 0x200000), 0);
	for (int i = 0; i < 3000; i++)
		a[i] = (uint8_t)(i * 13 + 1);
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_MSI_IRQ_INDEX, 0, efd), 0);
	/* RAM to the device, then back to RAM elsewhere */
	edu_dma(edu, 0x100000, 0x40000, 3000, false, false);
	edu_dma(edu, 0x200000 + 100, 0x40000, 3000, true, true);
	ck_assert_mem_eq(b + 100, a, 3000);
	ck_assert_uint_eq(efd_read(efd), 1);
	ck_assert_uint_eq(rd32(edu, 0, 0x24), 0x100);
	wr32(edu, 0, 0x64, 0x100);
	ck_assert_uint_eq(stats(EDU).dmas, 2);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	/* a file-backed mapping */
	ck_assert_int_eq(ftruncate(mfd, (off_t)PAGE), 0);
	ck_assert_int_eq(xioctl(IOMMU_IOAS_MAP_FILE, &mf), 0);
	edu_dma(edu, 0x300000, 0x40000, 2048, true, false);
	ck_assert_int_eq(pread(mfd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	ck_assert_mem_eq(back, a, sizeof(back));
	/* a transfer that ends at the buffer's end is refused (QEMU 7.2) */
	edu_dma(edu, 0x200000, 0x40000, 4096, true, false);
	ck_assert_uint_eq(stats(EDU).dmas, 3);
	close(efd);
	close(mfd);
	close_fd(edu);
	ck_assert_int_eq(unmap_all(ioas), 0);
}
END_TEST

START_TEST(edu_dma_unmapped_faults)
{
	int edu;
	uint32_t ioas = edu_ready(&edu);
	struct iommufd_fake_dma_stats st;
	uint8_t zeros[64] = { 0 };

	memset(buf, 0, 2 * PAGE);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, 0x100000), 0);
	/* fill the device's buffer, from a mapped page */
	memset(buf, 0xab, 64);
	edu_dma(edu, 0x100000, 0x40000, 64, false, false);
	memset(buf, 0, 64);
	/* to an unmapped IOVA */
	edu_dma(edu, 0x500000, 0x40000, 64, true, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_uint_eq(st.last_fault_iova, 0x500000);
	ck_assert(st.last_fault_write);
	ck_assert_int_eq(st.last_fault_reason, -ENOENT);
	/* straddling the end of the mapping: nothing lands, not even in the
	 * mapped page */
	edu_dma(edu, 0x100000 + PAGE - 32, 0x40000, 64, true, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 2);
	ck_assert_uint_eq(st.last_fault_iova, 0x100000 + PAGE);
	ck_assert_mem_eq(buf + PAGE - 32, zeros, 32);
	/* the IOVA is clamped to edu's 28-bit DMA mask */
	edu_dma(edu, 0x100000 | (1ull << 28), 0x40000, 64, true, false);
	ck_assert_uint_eq(stats(EDU).faults, 2);
	ck_assert_uint_eq(buf[0], 0xab);
	close_fd(edu);
	ck_assert_int_eq(unmap_all(ioas), 0);
}
END_TEST

START_TEST(edu_dma_needs_write_permission)
{
	int edu;
	uint32_t ioas = edu_ready(&edu);
	struct iommufd_fake_dma_stats st;

	memset(buf, 0x11, PAGE);
	memset(buf + PAGE, 0x22, PAGE);
	ck_assert_int_eq(map_prot(ioas, buf, PAGE, 0x100000,
				  IOMMU_IOAS_MAP_READABLE), 0);
	ck_assert_int_eq(map_prot(ioas, buf + PAGE, PAGE, 0x200000,
				  IOMMU_IOAS_MAP_WRITEABLE), 0);
	/* reading a read-only mapping works */
	edu_dma(edu, 0x100000, 0x40000, 128, false, false);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	/* writing it faults ("PTE Write access is not set") */
	edu_dma(edu, 0x100000, 0x40800, 128, true, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_int_eq(st.last_fault_reason, -EPERM);
	ck_assert(st.last_fault_write);
	ck_assert_uint_eq(buf[0], 0x11);
	/* reading a write-only one faults too */
	edu_dma(edu, 0x200000, 0x40000, 128, false, false);
	st = stats(EDU);
	ck_assert_uint_eq(st.faults, 2);
	ck_assert(!st.last_fault_write);
	close_fd(edu);
	ck_assert_int_eq(unmap_all(ioas), 0);
}
END_TEST

START_TEST(edu_dma_needs_bus_master)
{
	uint32_t ioas = ioas_alloc(), pt = ioas;
	int edu = open_bound(EDU, NULL);
	uint8_t v = 1;

	ck_assert_int_eq(attach(edu, &pt), 0);
	ck_assert_int_eq(map_fixed(ioas, buf, PAGE, 0x100000), 0);
	buf[0] = 0;
	edu_dma(edu, 0x100000, 0x40000, 16, true, false);
	ck_assert_uint_eq(stats(EDU).dmas, 0);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, EDU, 0x100000, &v, 1,
						 true), -EIO);
	close_fd(edu);
	ck_assert_int_eq(unmap_all(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The iommufd side                                                    */

START_TEST(hw_info_rules)
{
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_hw_info_vtd vtd;
	uint8_t big[40];
	uint32_t edu_id, nic_id, pid;
	int edu = open_bound(EDU, &edu_id), nic = open_bound(NIC, &nic_id), p;

	add_pasid_dev();
	p = open_bound("0000:00:06.0", &pid);
	info.dev_id = edu_id;
	info.data_len = sizeof(vtd);
	info.data_uptr = (uintptr_t)&vtd;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
	ck_assert_uint_eq(info.data_len, sizeof(vtd));
	ck_assert_uint_eq(vtd.cap_reg, 0x00d2008c22260286ull);
	ck_assert_uint_eq(info.out_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING);
	ck_assert_uint_eq(info.out_max_pasid_log2, 0);	/* edu: no PASID */
	info.dev_id = pid;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.out_max_pasid_log2, 20);
	info.dev_id = nic_id;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.out_capabilities, 0);
	/* min(user, kernel) bytes; the rest of a bigger buffer zeroed */
	info.data_len = 8;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.data_len, sizeof(vtd));
	memset(big, 0xee, sizeof(big));
	info.data_len = sizeof(big);
	info.data_uptr = (uintptr_t)big;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.data_len, sizeof(vtd));
	ck_assert_uint_eq(big[sizeof(big) - 1], 0);
	/* an input type the VT-d driver does not give */
	info.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	info.in_data_type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), EOPNOTSUPP);
	info.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	/* before 6.15 the PASID width was not reported */
	info.flags = 0;
	info.dev_id = pid;
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 14), 0);
	ck_assert_int_eq(xioctl(IOMMU_GET_HW_INFO, &info), 0);
	ck_assert_uint_eq(info.out_max_pasid_log2, 0);
	close_fd(p);
	close_fd(edu);
	close_fd(nic);
}
END_TEST

START_TEST(set_dirty_tracking_rules)
{
	struct iommu_hwpt_set_dirty_tracking cmd = { .size = sizeof(cmd) };
	uint32_t edu_id, ioas = ioas_alloc(), plain, dirty;
	int edu = open_bound(EDU, &edu_id);

	ck_assert_int_eq(hwpt_alloc(edu_id, ioas, 0, &plain), 0);
	ck_assert_int_eq(hwpt_alloc(edu_id, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty), 0);
	cmd.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	cmd.hwpt_id = ioas;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), ENOENT);
	cmd.hwpt_id = plain;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), EOPNOTSUPP);
	cmd.hwpt_id = dirty;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), 0);
	cmd.flags = 2;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), EOPNOTSUPP);
	cmd.flags = 0;
	ck_assert_int_eq(xioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd), 0);
	close_fd(edu);
	ck_assert_int_eq(destroy(plain), 0);
	ck_assert_int_eq(destroy(dirty), 0);
}
END_TEST

/* VFIO_DEVICE_FEATURE with @argsz and @flags, and @len bytes of payload. */
static int feature(int dfd, uint32_t argsz, uint32_t flags,
		   const void *payload, size_t len)
{
	_Alignas(8) uint8_t raw[sizeof(struct vfio_device_feature) + 64] = { 0 };
	struct vfio_device_feature *f = (void *)raw;

	f->argsz = argsz;
	f->flags = flags;
	if (len)
		memcpy(raw + sizeof(*f), payload, len);
	return xioctl_fd(dfd, VFIO_DEVICE_FEATURE, raw);
}

START_TEST(device_feature_rules)
{
	const uint32_t hdr = sizeof(struct vfio_device_feature);
	struct vfio_device_low_power_entry_with_wakeup wake = { 0 };
	const uint32_t lp = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	const uint32_t set = VFIO_DEVICE_FEATURE_SET;
	const uint32_t get = VFIO_DEVICE_FEATURE_GET;
	const uint32_t probe = VFIO_DEVICE_FEATURE_PROBE;
	int nic = open_bound(NIC, NULL), efd = eventfd(0, EFD_CLOEXEC);

	ck_assert_int_eq(feature(nic, hdr - 1, set | lp, NULL, 0), EINVAL);
	ck_assert_int_eq(feature(nic, hdr, 1u << 20, NULL, 0), EINVAL);
	ck_assert_int_eq(feature(nic, hdr, get | set | lp, NULL, 0), EINVAL);
	/* no migration driver: ENOTTY; an unknown feature: ENOTTY */
	ck_assert_int_eq(feature(nic, hdr, get | VFIO_DEVICE_FEATURE_MIGRATION,
				 NULL, 0), ENOTTY);
	ck_assert_int_eq(feature(nic, hdr, probe | set |
					   VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				 NULL, 0), ENOTTY);
	ck_assert_int_eq(feature(nic, hdr, probe | 0x99, NULL, 0), ENOTTY);
	ck_assert_int_eq(feature(nic, hdr, set | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
				 NULL, 0), ENOTTY);
	/* low power: SET only; PROBE answers 0 */
	ck_assert_int_eq(feature(nic, hdr, probe | set | lp, NULL, 0), 0);
	ck_assert_int_eq(feature(nic, hdr, get | lp, NULL, 0), EINVAL);
	ck_assert_int_eq(feature(nic, hdr, set | lp, NULL, 0), 0);
	ck_assert_int_eq(feature(nic, hdr, set | lp, NULL, 0), EINVAL);
	ck_assert_int_eq(feature(nic, hdr, set |
					   VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
				 NULL, 0), 0);
	/* with a wakeup eventfd: the struct, and an eventfd in it */
	wake.wakeup_eventfd = efd;
	ck_assert_int_eq(feature(nic, hdr + 4, set |
				 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
				 &wake, sizeof(wake)), EINVAL);
	wake.wakeup_eventfd = -1;
	ck_assert_int_eq(feature(nic, hdr + sizeof(wake), set |
				 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
				 &wake, sizeof(wake)), EINVAL);
	wake.wakeup_eventfd = efd;
	ck_assert_int_eq(feature(nic, hdr + sizeof(wake), set |
				 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
				 &wake, sizeof(wake)), 0);
	close(efd);
	close_fd(nic);
}
END_TEST

/* ------------------------------------------------------------------ */
/* sysfs                                                               */

static void join(char *out, size_t len, const char *root, const char *rel)
{
	int n = snprintf(out, len, "%s/%s", root, rel);

	ck_assert(n > 0 && (size_t)n < len);
}

static char *slurp(const char *root, const char *rel)
{
	static char text[256];
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	join(path, sizeof(path), root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	text[n] = '\0';
	return text;
}

static char *link_of(const char *root, const char *rel)
{
	static char target[PATH_MAX];
	char path[PATH_MAX];
	ssize_t n;

	join(path, sizeof(path), root, rel);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	return target;
}

static bool exists(const char *root, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	join(path, sizeof(path), root, rel);
	return stat(path, &st) == 0;
}

#define DEV_DIR "bus/pci/devices/" EDU

START_TEST(sysfs_tree)
{
	const char *root = iommufd_fake_sysfs_root(fake);
	char resolved[PATH_MAX], path[PATH_MAX], saved[PATH_MAX];
	struct iommufd_fake *other;

	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(root + strlen(root) - 4, "/sys");
	ck_assert_str_eq(link_of(root, DEV_DIR),
			 "../../../devices/pci0000:00/" EDU);
	ck_assert_str_eq(slurp(root, DEV_DIR "/vendor"), "0x1234\n");
	ck_assert_str_eq(slurp(root, DEV_DIR "/device"), "0x11e8\n");
	ck_assert_str_eq(slurp(root, DEV_DIR "/class"), "0x00ff00\n");
	ck_assert_str_eq(link_of(root, DEV_DIR "/driver"),
			 "../../../bus/pci/drivers/vfio-pci");
	ck_assert_str_eq(link_of(root, DEV_DIR "/iommu_group"),
			 "../../../kernel/iommu_groups/1");
	ck_assert_str_eq(link_of(root, DEV_DIR "/iommu"),
			 "../../virtual/iommu/dmar0");
	ck_assert_str_eq(slurp(root, DEV_DIR "/vfio-dev/vfio0/dev"), "511:0\n");
	ck_assert(exists(root, "bus/pci/drivers/vfio-pci/" EDU "/vendor"));
	ck_assert_str_eq(slurp(root, "kernel/iommu_groups/1/type"), "DMA\n");
	ck_assert_str_eq(slurp(root, "kernel/iommu_groups/1/reserved_regions"),
			 "0x00000000fee00000 0x00000000feefffff msi\n");
	ck_assert(exists(root, "kernel/iommu_groups/1/devices/" EDU "/vendor"));
	ck_assert_str_eq(link_of(root, "class/iommu/dmar0"),
			 "../../devices/virtual/iommu/dmar0");
	ck_assert_str_eq(link_of(root, "class/iommu/dmar0/devices/" EDU),
			 "../../../../pci0000:00/" EDU);
	ck_assert_str_eq(slurp(root, "class/iommu/dmar0/intel-iommu/cap"),
			 "d2008c22260286\n");
	ck_assert_str_eq(slurp(root, "class/misc/iommu/dev"), "10:123\n");
	ck_assert_str_eq(slurp(root, "class/vfio-dev/vfio1/dev"), "511:1\n");
	/* the emulated device */
	ck_assert_str_eq(slurp(root, "bus/mdev/devices/" MDEV
				     "/vfio-dev/vfio2/dev"), "511:2\n");
	ck_assert_str_eq(slurp(root, "kernel/iommu_groups/3/reserved_regions"),
			 "");
	ck_assert_str_eq(slurp(root, "kernel/iommu_groups/3/type"),
			 "unknown\n");
	join(path, sizeof(path), root, DEV_DIR);
	ck_assert_ptr_nonnull(realpath(path, resolved));
	join(path, sizeof(path), root, "devices/pci0000:00/" EDU);
	ck_assert_str_eq(resolved, path);

	/* rebinding: the driver link, the cdev and vfio-dev go and come */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "e1000e"), 0);
	ck_assert_str_eq(link_of(root, "bus/pci/devices/" NIC "/driver"),
			 "../../../bus/pci/drivers/e1000e");
	ck_assert(!exists(root, "bus/pci/devices/" NIC "/vfio-dev"));
	ck_assert(!exists(root, "class/vfio-dev/vfio1"));
	ck_assert(!exists(root, "bus/pci/drivers/vfio-pci/" NIC));
	ck_assert_int_eq(iommufd_fake_device_cdev(fake, NIC, path, sizeof(path)),
			 -ENODEV);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_open(fake, "/dev/vfio/devices/vfio1",
					   O_RDWR), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "vfio-pci"), 0);
	ck_assert_str_eq(slurp(root, "bus/pci/devices/" NIC
				     "/vfio-dev/vfio1/dev"), "511:1\n");
	/* an open device file keeps its driver */
	{
		int dfd = open_dev(NIC);

		ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, ""),
				 -EBUSY);
		ck_assert_int_eq(iommufd_fake_remove_device(fake, NIC), -EBUSY);
		close_fd(dfd);
	}
	/* removing: every trace goes, the group with its last device */
	ck_assert_int_eq(iommufd_fake_remove_device(fake, NIC), 0);
	ck_assert(!exists(root, "bus/pci/devices/" NIC));
	ck_assert(!exists(root, "devices/pci0000:00/" NIC));
	ck_assert(!exists(root, "kernel/iommu_groups/2"));
	ck_assert(!exists(root, "class/iommu/dmar1/devices/" NIC));
	ck_assert_int_eq(iommufd_fake_remove_device(fake, NIC), -ENOENT);

	/* before 6.6 there are no device cdevs */
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 5), 0);
	ck_assert(!exists(root, DEV_DIR "/vfio-dev"));
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/devices/vfio0",
					   (struct stat[1]){ 0 }), -1);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 17), 0);
	ck_assert(exists(root, DEV_DIR "/vfio-dev/vfio0/dev"));

	/* a fake's tree goes with it; an empty machine has a bare tree */
	ck_assert_int_eq(iommufd_fake_new(&other), 0);
	ck_assert_ptr_nonnull(iommufd_fake_sysfs_root(other));
	ck_assert_uint_lt(strlen(iommufd_fake_sysfs_root(other)), sizeof(saved));
	strcpy(saved, iommufd_fake_sysfs_root(other));
	ck_assert(exists(saved, "class/misc/iommu/dev"));
	ck_assert(exists(saved, "bus/pci/devices"));
	iommufd_fake_free(other);
	ck_assert(!exists(saved, "."));
}
END_TEST

START_TEST(machine_config_rules)
{
	struct iommufd_fake_iommu_opts io = { .sz = sizeof(io), .name = "dmar0" };
	struct iommufd_fake_pci_opts po = {
		.sz = sizeof(po), .bdf = "0000:00:07.0", .iommu = "dmar1",
		.iommu_group = 1,
	};
	struct iommufd_fake_emulated_opts eo = {
		.sz = sizeof(eo), .uuid = "not-a-uuid", .iommu_group = 30,
	};
	uint8_t big[sizeof(io) + 8] = { 0 };

	ck_assert_int_eq(iommufd_fake_add_iommu(fake, &io), -EEXIST);
	io.name = "a/b";
	ck_assert_int_eq(iommufd_fake_add_iommu(fake, &io), -EINVAL);
	memcpy(big, &io, sizeof(io));
	((struct iommufd_fake_iommu_opts *)big)->sz = sizeof(big);
	((struct iommufd_fake_iommu_opts *)big)->name = "dmar9";
	big[sizeof(big) - 1] = 1;
	ck_assert_int_eq(iommufd_fake_add_iommu(fake, (void *)big), -E2BIG);
	/* a group is behind one IOMMU */
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -EINVAL);
	po.iommu_group = 20;
	po.iommu = "dmar7";
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -ENOENT);
	po.iommu = "dmar1";
	po.bdf = "0000:00:20.0";	/* device 32 */
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -EINVAL);
	po.bdf = EDU;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -EEXIST);
	po.bdf = "0000:00:07.0";
	po.bars[0].size = 3000;		/* not a power of two */
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -EINVAL);
	po.bars[0].size = 4096;
	po.msix_vectors = 4;		/* no BAR for the table */
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -EINVAL);
	po.msix_vectors = 0;
	po.iommu = NULL;		/* vfio-pci without an IOMMU */
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), -EINVAL);
	po.driver = "nvme";
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &po), 0);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:00:07.0",
						  "vfio-pci"), -ENODEV);
	ck_assert_int_eq(iommufd_fake_add_emulated_device(fake, &eo), -EINVAL);
	eo.uuid = "83B8F4F2-509F-382F-3C1E-E6BFE0FA1002";
	eo.iommu_group = 1;		/* a unit's group */
	ck_assert_int_eq(iommufd_fake_add_emulated_device(fake, &eo), -EINVAL);
	eo.iommu_group = 30;
	ck_assert_int_eq(iommufd_fake_add_emulated_device(fake, &eo), 0);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "83b8f4f2-509f-382f-"
						  "3c1e-e6bfe0fa1002", "x"),
			 -EINVAL);
	ck_assert_int_eq(iommufd_fake_add_edu(fake, "0000:00:08.0", NULL, 9),
			 -EINVAL);
}
END_TEST

START_TEST(default_fake_has_machine)
{
	struct iommufd_fake *def = iommufd_fake_default();
	char path[64];

	ck_assert_ptr_nonnull(def);
	ck_assert_int_eq(iommufd_fake_device_cdev(def, EDU, path, sizeof(path)),
			 0);
	ck_assert_ptr_nonnull(iommufd_fake_sysfs_root(def));
	ck_assert(exists(iommufd_fake_sysfs_root(def), DEV_DIR "/vendor"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Fault injection and release                                         */

START_TEST(fault_injection_changes_nothing)
{
	uint32_t ioas = ioas_alloc(), pt = ioas, devid, hwpt, again;
	int dfd = open_dev(EDU);
	uint32_t v;

	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_BIND_IOMMUFD, EIO, 1);
	ck_assert_int_eq(bind_fd(dfd, ifd, NULL), EIO);
	ck_assert_int_eq(bind_fd(dfd, ifd, &devid), 0);
	iommufd_fake_fail_ioctl(fake, VFIO_DEVICE_ATTACH_IOMMUFD_PT, ENOMEM, 1);
	ck_assert_int_eq(attach(dfd, &pt), ENOMEM);
	ck_assert_int_eq(destroy(ioas), 0);	/* nothing holds it */
	ioas = ioas_alloc();
	iommufd_fake_fail_nth(fake, 1, ENOMEM);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &hwpt), ENOMEM);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &hwpt), 0);
	ck_assert_int_eq(destroy(hwpt), 0);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &again), 0);
	ck_assert_uint_eq(again, hwpt);	/* the same lowest free id */
	/* region accesses count as calls */
	iommufd_fake_fail_nth(fake, 1, EIO);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 4, REGION(7)), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 4, REGION(7)), 4);
	ck_assert_int_eq(destroy(again), 0);
	close_fd(dfd);
}
END_TEST

START_TEST(close_releases_everything)
{
	uint32_t ioas = ioas_alloc(), pt = ioas, devid, manual;
	int dfd = open_bound(EDU, &devid), mdev = open_bound(MDEV, NULL);
	int dup_fd;

	ck_assert_int_eq(map_fixed(ioas, buf, 4 * PAGE, 0x100000), 0);
	ck_assert_int_eq(attach(dfd, &pt), 0);
	ck_assert_int_eq(hwpt_alloc(devid, ioas, 0, &manual), 0);
	pt = ioas;
	ck_assert_int_eq(attach(mdev, &pt), 0);
	/* a dup reaches the same bound file */
	dup_fd = dup(dfd);
	ck_assert_int_ge(dup_fd, 0);
	ck_assert_uint_eq(cfg16(dup_fd, 0), 0x1234);
	close_fd(dfd);
	ck_assert_uint_eq(cfg16(dup_fd, 0), 0x1234);
	/* the iommufd lives while devices are bound to it */
	close_fd(ifd);
	ifd = -1;
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 4 * PAGE);
	close_fd(mdev);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 2);
	close_fd(dup_fd);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
}
END_TEST

START_TEST(close_restores_device)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int edu = open_bound(EDU, NULL);

	bus_master(edu);
	ck_assert_int_eq(set_irq_efd(edu, VFIO_PCI_MSI_IRQ_INDEX, 0, efd), 0);
	close_fd(edu);
	/* the next user finds bus mastering off and no interrupt wired */
	edu = open_bound(EDU, NULL);
	ck_assert_uint_eq(cfg16(edu, 0x04), 0x0103);
	ck_assert_int_eq(set_irq_none(edu, VFIO_PCI_MSI_IRQ_INDEX,
				      VFIO_IRQ_SET_ACTION_TRIGGER, 0), EINVAL);
	close(efd);
	close_fd(edu);
}
END_TEST

static Suite *fake_devices_suite(void)
{
	Suite *s = suite_create("fake-devices");
	TCase *tc = fx_tcase("devices");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cdev_open_and_stat);
	tcase_add_test(tc, unbound_file_is_unusable);
	tcase_add_test(tc, bind_rules);
	tcase_add_test(tc, bind_before_6_17_ignores_tail);
	tcase_add_test(tc, bind_keeps_iommufd);
	tcase_add_test(tc, bind_group_ownership);
	tcase_add_test(tc, attach_auto_domain_reuse);
	tcase_add_test(tc, attach_pt_id_rules);
	tcase_add_test(tc, hwpt_alloc_rules);
	tcase_add_test(tc, hwpt_alloc_6_6);
	tcase_add_test(tc, hwpt_attach_across_units_einval);
	tcase_add_test(tc, replace_and_detach);
	tcase_add_test(tc, pasid_rules);
	tcase_add_test(tc, iova_ranges_narrow_and_widen);
	tcase_add_test(tc, attach_refused_by_mappings);
	tcase_add_test(tc, emulated_device_rules);
	tcase_add_test(tc, emulated_device_driver);
	tcase_add_test(tc, device_info);
	tcase_add_test(tc, region_info_rules);
	tcase_add_test(tc, irq_info_rules);
	tcase_add_test(tc, set_irqs_edu_msi);
	tcase_add_test(tc, set_irqs_edu_intx);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, bar_mmap);
	tcase_add_test(tc, hot_reset_rules);
	tcase_add_test(tc, edu_dma_both_ways);
	tcase_add_test(tc, edu_dma_unmapped_faults);
	tcase_add_test(tc, edu_dma_needs_write_permission);
	tcase_add_test(tc, edu_dma_needs_bus_master);
	tcase_add_test(tc, hw_info_rules);
	tcase_add_test(tc, set_dirty_tracking_rules);
	tcase_add_test(tc, device_feature_rules);
	tcase_add_test(tc, sysfs_tree);
	tcase_add_test(tc, machine_config_rules);
	tcase_add_test(tc, default_fake_has_machine);
	tcase_add_test(tc, fault_injection_changes_nothing);
	tcase_add_test(tc, close_releases_everything);
	tcase_add_test(tc, close_restores_device);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fake_devices_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
