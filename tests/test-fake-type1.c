/* SPDX-License-Identifier: MIT */
/*
 * Legacy VFIO on the fake kernel at the raw uAPI level: the container
 * (/dev/vfio/vfio), groups (/dev/vfio/N), the type1 IOMMU, devices opened
 * through their group, and iommufd's VFIO compatibility container.
 *
 * The first test replays tests/vm/vfio-type1-raw.c, the program that drives
 * a real 6.1 kernel in the VM lab, and expects what that kernel answered
 * there (VM-LAB.md, "Seen working"). The others take one rule each, as
 * drivers/vfio/{container,group,vfio_iommu_type1}.c and
 * drivers/iommu/iommufd/vfio_compat.c have it.
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
#include <sys/eventfd.h>
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

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define EDU_GROUP 1
#define NIC_GROUP 2
#define MDEV_GROUP 3

/* As the lab program: 2 MiB at IOVA 2 MiB, transfers of 3000 bytes. */
#define BUF_SIZE (2u << 20)
#define IOVA_BASE 0x200000ull
#define XFER 3000u
#define EDU_BUF 0x40000u
#define PAGE4K 4096u

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

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define CFG_COMMAND 0x04
#define CMD_MASTER 0x0004

static struct iommufd_fake *fake;
static uint8_t *buf;		/* BUF_SIZE bytes, private anonymous */

static void setup(void)
{
	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ck_assert_ptr_ne(buf, MAP_FAILED);
	memset(buf, 0, BUF_SIZE);
}

static void teardown(void)
{
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	iommufd_fake_free(fake);
	munmap(buf, BUF_SIZE);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* 0 or the errno of an ioctl */
static int xioctl(int fd, unsigned long req, void *arg)
{
	errno = 0;
	if (iommufd_fake_ioctl(fake, fd, req, arg) < 0)
		return errno ? errno : -1;
	return 0;
}

/* An ioctl whose argument is a number (CHECK_EXTENSION, SET_IOMMU):
 * its result, or -errno. */
static int xioctl_val(int fd, unsigned long req, unsigned long val)
{
	int ret;

	errno = 0;
	ret = iommufd_fake_ioctl(fake, fd, req, (void *)(uintptr_t)val);
	return ret < 0 ? -errno : ret;
}

static int xopen(const char *path)
{
	int fd = iommufd_fake_open(fake, path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void xclose(int fd)
{
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
}

static int open_group(int group)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return xopen(path);
}

static int set_container(int group_fd, int container)
{
	return xioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container);
}

static uint32_t group_status(int group_fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	ck_assert_int_eq(xioctl(group_fd, VFIO_GROUP_GET_STATUS, &st), 0);
	return st.flags;
}

static int get_device_fd(int group_fd, const char *name)
{
	int ret;

	errno = 0;
	ret = iommufd_fake_ioctl(fake, group_fd, VFIO_GROUP_GET_DEVICE_FD,
				 (void *)name);
	return ret < 0 ? -errno : ret;
}

/* A container with @group set and @type as its IOMMU. */
static int container_with(int group, unsigned long type, int *group_fd)
{
	int c = xopen("/dev/vfio/vfio");

	ck_assert_int_ge(c, 0);
	*group_fd = open_group(group);
	ck_assert_int_ge(*group_fd, 0);
	ck_assert_int_eq(set_container(*group_fd, c), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, type), 0);
	return c;
}

static int map_dma(int c, void *va, uint64_t size, uint64_t iova,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = flags,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	return xioctl(c, VFIO_IOMMU_MAP_DMA, &map);
}

/* The errno, with *size the size the kernel reported (UINT64_MAX: none). */
static int unmap_dma(int c, uint64_t iova, uint64_t size, uint32_t flags,
		     uint64_t *out)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = flags, .iova = iova,
		.size = size,
	};
	int ret = xioctl(c, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (out)
		*out = unmap.size;
	return ret;
}

/* VFIO_IOMMU_GET_INFO with room for the capability chain. */
static struct vfio_iommu_type1_info *get_info(int c)
{
	struct vfio_iommu_type1_info first = { .argsz = sizeof(first) };
	struct vfio_iommu_type1_info *info;

	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_GET_INFO, &first), 0);
	ck_assert(first.flags & VFIO_IOMMU_INFO_CAPS);
	ck_assert_uint_gt(first.argsz, sizeof(first));
	ck_assert_uint_eq(first.cap_offset, 0);
	info = calloc(1, first.argsz);
	ck_assert_ptr_nonnull(info);
	info->argsz = first.argsz;
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_GET_INFO, info), 0);
	ck_assert_uint_eq(info->argsz, first.argsz);
	ck_assert_uint_eq(info->cap_offset, sizeof(*info));
	return info;
}

static struct vfio_info_cap_header *find_cap(struct vfio_iommu_type1_info *info,
					     uint16_t id)
{
	uint32_t off = info->cap_offset;

	while (off) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		ck_assert_uint_le(off + sizeof(*h), info->argsz);
		if (h->id == id)
			return h;
		off = h->next;
	}
	return NULL;
}

static uint32_t dma_avail(int c)
{
	struct vfio_iommu_type1_info *info = get_info(c);
	struct vfio_iommu_type1_info_dma_avail *a =
		(void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	uint32_t avail;

	ck_assert_ptr_nonnull(a);
	avail = a->avail;
	free(info);
	return avail;
}

static uint64_t region_offset(int dfd, uint32_t index)
{
	struct vfio_region_info r = { .argsz = sizeof(r), .index = index };

	ck_assert_int_eq(xioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
	return r.offset;
}

static uint32_t rd32(int dfd, unsigned int off)
{
	uint32_t v = 0;

	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 4,
					    (off_t)(region_offset(dfd, 0) + off)), 4);
	return v;
}

static void wr32(int dfd, unsigned int off, uint32_t v)
{
	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &v, 4,
					     (off_t)(region_offset(dfd, 0) + off)), 4);
}

static uint16_t cfg_rd16(int dfd, unsigned int off)
{
	uint16_t v = 0;
	off_t at = (off_t)(region_offset(dfd, VFIO_PCI_CONFIG_REGION_INDEX) + off);

	ck_assert_int_eq(iommufd_fake_pread(fake, dfd, &v, 2, at), 2);
	return v;
}

static void cfg_wr16(int dfd, unsigned int off, uint16_t v)
{
	off_t at = (off_t)(region_offset(dfd, VFIO_PCI_CONFIG_REGION_INDEX) + off);

	ck_assert_int_eq(iommufd_fake_pwrite(fake, dfd, &v, 2, at), 2);
}

static void bus_master(int dfd)
{
	cfg_wr16(dfd, CFG_COMMAND, cfg_rd16(dfd, CFG_COMMAND) | CMD_MASTER | 2);
	ck_assert(cfg_rd16(dfd, CFG_COMMAND) & CMD_MASTER);
}

/* One edu DMA, polled to completion as the lab program does. */
static void edu_dma(int dfd, uint64_t src, uint64_t dst, uint32_t count,
		    uint32_t flags)
{
	wr32(dfd, EDU_DMA_SRC, (uint32_t)src);
	wr32(dfd, EDU_DMA_DST, (uint32_t)dst);
	wr32(dfd, EDU_DMA_CNT, count);
	wr32(dfd, EDU_DMA_CMD, EDU_CMD_START | flags);
	for (int i = 0; i < 100 && (rd32(dfd, EDU_DMA_CMD) & EDU_CMD_START); i++)
		usleep(1000);
	ck_assert_uint_eq(rd32(dfd, EDU_DMA_CMD) & EDU_CMD_START, 0);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* RAM (@iova) to the device's buffer. */
static void dma_to_device(int dfd, uint64_t iova)
{
	edu_dma(dfd, iova, EDU_BUF, XFER, 0);
}

/* The device's buffer to RAM (@iova). */
static void dma_to_ram(int dfd, uint64_t iova, uint32_t flags)
{
	edu_dma(dfd, EDU_BUF, iova, XFER, EDU_CMD_TO_RAM | flags);
}

static struct iommufd_fake_dma_stats stats(const char *name)
{
	struct iommufd_fake_dma_stats st = { .sz = sizeof(st) };

	ck_assert_int_eq(iommufd_fake_dma_stats(fake, name, &st), 0);
	return st;
}

static uint64_t efd_read(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static int set_msi(int dfd, int efd)
{
	_Alignas(uint64_t) char storage[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)storage;

	memset(storage, 0, sizeof(storage));
	set->argsz = efd >= 0 ? sizeof(storage) : sizeof(*set);
	set->flags = (efd >= 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		     VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->count = efd >= 0 ? 1 : 0;
	if (efd >= 0)
		memcpy(set->data, &efd, sizeof(int32_t));
	return xioctl(dfd, VFIO_DEVICE_SET_IRQS, set);
}

static int dirty_ctl(int c, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return xioctl(c, VFIO_IOMMU_DIRTY_PAGES, &d);
}

static int dirty_get(int c, uint64_t iova, uint64_t size, uint64_t pgsize,
		     uint64_t *bitmap, size_t bytes)
{
	_Alignas(uint64_t) char storage[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
				      sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)storage;
	struct vfio_iommu_type1_dirty_bitmap_get *get = (void *)d->data;

	memset(storage, 0, sizeof(storage));
	memset(bitmap, 0, bytes);
	d->argsz = sizeof(storage);
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	get->iova = iova;
	get->size = size;
	get->bitmap.pgsize = pgsize;
	get->bitmap.size = bytes;
	get->bitmap.data = (__u64 *)bitmap;
	return xioctl(c, VFIO_IOMMU_DIRTY_PAGES, d);
}

static unsigned int popcount(const uint64_t *bitmap, size_t words)
{
	unsigned int n = 0;

	for (size_t i = 0; i < words; i++)
		n += (unsigned int)__builtin_popcountll(bitmap[i]);
	return n;
}

static int open_cdev(const char *name)
{
	char path[64];

	ck_assert_int_eq(iommufd_fake_device_cdev(fake, name, path, sizeof(path)), 0);
	return xopen(path);
}

static int bind_cdev(int dfd, int iommufd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = iommufd,
	};

	return xioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
}

/* ------------------------------------------------------------------ */
/* The lab's program, replayed                                         */

START_TEST(lab_replay)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_irq_info irq = { .argsz = sizeof(irq),
				     .index = VFIO_PCI_MSI_IRQ_INDEX };
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_cap_migration *mig;
	struct vfio_iommu_type1_info_dma_avail *avail;
	uint64_t bitmap[BUF_SIZE / PAGE4K / 64], size;
	uint8_t want[XFER];
	int c, g, d, efd;
	uint32_t status_reg;

	/* the lab's kernel */
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 1), 0);

	/* type1-map */
	c = xopen("/dev/vfio/vfio");
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	/* 6.1: UPDATE_VADDR only once the container has its IOMMU */
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	g = open_group(EDU_GROUP);
	ck_assert_int_ge(g, 0);
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_GET_STATUS, &status), 0);
	ck_assert_uint_eq(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	ck_assert_int_eq(set_container(g, c), 0);
	ck_assert_uint_eq(group_status(g),
			  VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 1);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	/* QEMU's VT-d has no snoop control */
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);

	info = get_info(c);
	ck_assert_uint_eq(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	ck_assert_uint_eq(info->iova_pgsizes, 0x40201000);	/* 4K 2M 1G */
	ranges = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ck_assert_ptr_nonnull(ranges);
	ck_assert_uint_eq(ranges->nr_iovas, 2);
	ck_assert_uint_eq(ranges->iova_ranges[0].start, 0);
	ck_assert_uint_eq(ranges->iova_ranges[0].end, 0xfedfffff);
	ck_assert_uint_eq(ranges->iova_ranges[1].start, 0xfef00000);
	ck_assert_uint_eq(ranges->iova_ranges[1].end, 0x7fffffffff);
	mig = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	ck_assert_ptr_nonnull(mig);
	ck_assert_uint_eq(mig->pgsize_bitmap, PAGE4K);
	ck_assert_uint_eq(mig->max_dirty_bitmap_size, 256u << 20);
	ck_assert_uint_eq(mig->flags, 0);
	avail = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ck_assert_ptr_nonnull(avail);
	ck_assert_uint_eq(avail->avail, 65535);
	/* the chain, in the kernel's order and layout */
	ck_assert_uint_eq(info->argsz, 24 + 32 + 16 + 48);
	ck_assert_ptr_eq((char *)mig, (char *)info + 24);
	ck_assert_ptr_eq((char *)avail, (char *)info + 56);
	ck_assert_ptr_eq((char *)ranges, (char *)info + 72);
	free(info);

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), EEXIST);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE);
	ck_assert_uint_eq(dma_avail(c), 65534);

	/* type1-device */
	d = get_device_fd(g, EDU);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_GET_INFO, &dinfo), 0);
	ck_assert(dinfo.flags & VFIO_DEVICE_FLAGS_PCI);
	ck_assert(!(dinfo.flags & VFIO_DEVICE_FLAGS_RESET));
	/* vfio-pci leaves bus mastering off */
	ck_assert_uint_eq(cfg_rd16(d, CFG_COMMAND), 0x0103);
	bus_master(d);
	ck_assert_uint_eq(rd32(d, EDU_IDENT), 0x010000ed);
	wr32(d, EDU_LIVENESS, 0x12345678);
	ck_assert_uint_eq(rd32(d, EDU_LIVENESS), ~0x12345678u);

	/* type1-dma-to-device, type1-dma-to-ram */
	fill(buf + 0x1000, XFER, 1);
	dma_to_device(d, IOVA_BASE + 0x1000);
	memset(buf + 0x10000, 0xaa, XFER);
	dma_to_ram(d, IOVA_BASE + 0x10000, 0);
	fill(want, XFER, 1);
	ck_assert_mem_eq(buf + 0x10000, want, XFER);
	ck_assert_uint_eq(stats(EDU).dmas, 2);

	/* type1-msi */
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	ck_assert_uint_ge(irq.count, 1);
	ck_assert(irq.flags & VFIO_IRQ_INFO_EVENTFD);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(efd, 0);
	ck_assert_int_eq(set_msi(d, efd), 0);
	fill(buf + 0x1000, XFER, 3);
	dma_to_device(d, IOVA_BASE + 0x1000);
	ck_assert_uint_eq(efd_read(efd), 0);	/* no interrupt asked for */
	fill(buf + 0x1000, XFER, 4);
	edu_dma(d, IOVA_BASE + 0x1000, EDU_BUF, XFER, EDU_CMD_IRQ);
	ck_assert_uint_eq(efd_read(efd), 1);
	status_reg = rd32(d, EDU_IRQ_STATUS);
	ck_assert_uint_eq(status_reg & 0x100, 0x100);
	wr32(d, EDU_IRQ_ACK, status_reg);
	ck_assert_int_eq(set_msi(d, -1), 0);
	close(efd);

	/* type1-unmap: the size unmapped; again, nothing and success */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);

	/* type1-dma-unmapped-blocked: the device buffer holds seed 4 */
	memset(buf + 0x10000, 0x5a, XFER);
	dma_to_ram(d, IOVA_BASE + 0x10000, 0);
	for (size_t i = 0; i < XFER; i++)
		ck_assert_uint_eq(buf[0x10000 + i], 0x5a);
	ck_assert_uint_eq(stats(EDU).faults, 1);
	ck_assert_uint_eq(stats(EDU).last_fault_iova, IOVA_BASE + 0x10000);
	ck_assert(stats(EDU).last_fault_write);
	ck_assert_int_eq(stats(EDU).last_fault_reason, -ENOENT);

	/* type1-reset: edu has no reset method, and the kernel says so */
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_RESET, NULL), EINVAL);

	/* type1-dirty-pages */
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE, PAGE4K, bitmap,
				   sizeof(bitmap)), EINVAL);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE, PAGE4K, bitmap,
				   sizeof(bitmap)), 0);
	fill(buf + 0x1000, XFER, 6);
	dma_to_device(d, IOVA_BASE + 0x1000);
	dma_to_ram(d, IOVA_BASE + 0x10000, 0);
	fill(want, XFER, 6);
	ck_assert_mem_eq(buf + 0x10000, want, XFER);
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE, PAGE4K, bitmap,
				   sizeof(bitmap)), 0);
	/* every pinned page is dirty, pages only read or untouched too */
	ck_assert_uint_eq(popcount(bitmap, sizeof(bitmap) / sizeof(bitmap[0])), 512);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE, PAGE4K, bitmap,
				   sizeof(bitmap)), EINVAL);

	xclose(d);
	xclose(g);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The container                                                       */

START_TEST(container_rules)
{
	int c = xopen("/dev/vfio/vfio"), g;
	struct stat st;

	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(iommufd_fake_fstat(fake, c, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(st.st_rdev, makedev(10, 196));
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/vfio", &st), 0);
	ck_assert_uint_eq(st.st_rdev, makedev(10, 196));
	/* before any driver: what type1 offers without an IOMMU */
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	/* the nesting type went in 6.13 */
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, 6), 0);
	/* no group: no IOMMU, and no type1 ioctls */
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW), EINVAL);
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_GET_INFO, buf), EINVAL);
	g = open_group(EDU_GROUP);
	ck_assert_int_ge(g, 0);
	ck_assert_int_eq(set_container(g, c), 0);
	/* a type no driver offers; one type1 offers but cannot open */
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_UPDATE_VADDR), -ENODEV);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, 7), -ENODEV);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	/* unknown to type1 */
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_ENABLE, NULL), ENOTTY);
	xclose(g);
	/* the last group took the IOMMU with it */
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW), EINVAL);
	xclose(c);
}
END_TEST

START_TEST(nesting_type_on_6_1)
{
	int c, g;

	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 1), 0);
	c = xopen("/dev/vfio/vfio");
	g = open_group(EDU_GROUP);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, 6), 1);
	ck_assert_int_eq(set_container(g, c), 0);
	/* VT-d cannot nest a type1 domain */
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, 6), -EINVAL);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(get_info_rules)
{
	struct vfio_iommu_type1_info info = { .argsz = 15 };
	struct {
		struct vfio_iommu_type1_info info;
		uint8_t caps[32];
	} small = { .info = { .argsz = sizeof(small) } };
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);

	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_GET_INFO, &info), EINVAL);
	/* argsz 16: no cap_offset written back */
	info.argsz = 16;
	info.cap_offset = 77;
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.argsz, 120);
	ck_assert_uint_eq(info.cap_offset, 77);
	/* too small for the chain: the size needed, no chain */
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_GET_INFO, &small), 0);
	ck_assert_uint_eq(small.info.argsz, 120);
	ck_assert_uint_eq(small.info.cap_offset, 0);
	ck_assert(small.info.flags & VFIO_IOMMU_INFO_CAPS);
	xclose(g);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Groups                                                              */

START_TEST(group_file_rules)
{
	int g = open_group(EDU_GROUP), c;
	struct stat st, st2;
	int mfd;

	ck_assert_int_ge(g, 0);
	ck_assert_int_eq(open_group(EDU_GROUP), -EBUSY);	/* once */
	ck_assert_int_eq(open_group(99), -ENOENT);
	ck_assert_int_eq(xopen("/dev/vfio/01"), -ENOENT);
	ck_assert_int_eq(iommufd_fake_fstat(fake, g, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/1", &st2), 0);
	ck_assert_uint_eq(st.st_rdev, st2.st_rdev);
	ck_assert_uint_ne(major(st.st_rdev), 511);	/* not vfio-dev's */
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/3", &st2), 0);
	ck_assert_uint_ne(st.st_rdev, st2.st_rdev);
	/* a group with no VFIO device has no node */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "e1000e"), 0);
	ck_assert_int_eq(open_group(NIC_GROUP), -ENOENT);
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "vfio-pci"), 0);
	/* set to nothing yet */
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), EINVAL);
	ck_assert_int_eq(get_device_fd(g, EDU), -EINVAL);
	/* not a container: a bad fd, another kind of file */
	ck_assert_int_eq(set_container(g, 1000), EBADF);
	mfd = memfd_create("x", MFD_CLOEXEC);
	ck_assert_int_eq(set_container(g, mfd), EBADFD);
	close(mfd);
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_SET_CONTAINER, NULL), EFAULT);
	ck_assert_int_eq(xioctl(g, VFIO_IOMMU_MAP_DMA, NULL), ENOTTY);
	c = xopen("/dev/vfio/vfio");
	ck_assert_int_eq(set_container(g, c), 0);
	ck_assert_int_eq(set_container(g, c), EINVAL);	/* set already */
	/* names: unknown, another group's, options */
	ck_assert_int_eq(get_device_fd(g, NIC), -ENODEV);
	ck_assert_int_eq(get_device_fd(g, "0000:00:04.1"), -ENODEV);
	ck_assert_int_eq(get_device_fd(g, "0000:00:04.0x"), -ENODEV);
	ck_assert_int_eq(get_device_fd(g, EDU " foo=1"), -EINVAL);
	ck_assert_int_eq(get_device_fd(g, EDU " vf_token=2ab74924-c335-45f4-9b16-8569e5b08258"),
			 -EINVAL);	/* edu is no SR-IOV PF or VF */
	ck_assert_int_eq(get_device_fd(g, EDU " vf_token=nonsense"), -EINVAL);
	/* no IOMMU in the container yet */
	ck_assert_int_eq(get_device_fd(g, EDU), -EINVAL);
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	ck_assert_uint_eq(group_status(g), VFIO_GROUP_FLAGS_VIABLE);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(group_viability)
{
	struct iommufd_fake_iommu_opts io = { .sz = sizeof(io), .name = "dmar9" };
	struct iommufd_fake_pci_opts a = {
		.sz = sizeof(a), .bdf = "0000:01:00.0", .iommu = "dmar9",
		.iommu_group = 9, .vendor_id = 0x8086, .device_id = 0x1234,
		.bars = { [0] = { .size = 4096 } },
	};
	struct iommufd_fake_pci_opts b = a;
	int g, c;

	ck_assert_int_eq(iommufd_fake_add_iommu(fake, &io), 0);
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &a), 0);
	b.bdf = "0000:01:00.1";
	b.driver = "nvme";
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &b), 0);
	/* a kernel driver doing DMA in the group: not viable */
	g = open_group(9);
	ck_assert_int_ge(g, 0);
	ck_assert_uint_eq(group_status(g), 0);
	c = xopen("/dev/vfio/vfio");
	ck_assert_int_eq(set_container(g, c), EPERM);
	/* the fake keeps an open group's devices */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:01:00.1", ""), -EBUSY);
	xclose(g);
	/* unbound, the device is harmless */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:01:00.1", ""), 0);
	g = open_group(9);
	ck_assert_uint_eq(group_status(g), VFIO_GROUP_FLAGS_VIABLE);
	ck_assert_int_eq(set_container(g, c), 0);
	xclose(g);
	/* pci-stub too */
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, "0000:01:00.1", "pci-stub"), 0);
	g = open_group(9);
	ck_assert_uint_eq(group_status(g), VFIO_GROUP_FLAGS_VIABLE);
	xclose(g);
	xclose(c);
}
END_TEST

/* The container claims the group; iommufd and the cdev are kept out, and
 * the other way round. */
START_TEST(cdev_and_group_exclude)
{
	int ifd = xopen("/dev/iommu"), g, c, d, cd;

	/* a group in a container: no iommufd may bind a device of it */
	c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	cd = open_cdev(EDU);
	ck_assert_int_ge(cd, 0);
	ck_assert_int_eq(bind_cdev(cd, ifd), EPERM);
	/* opened through the group: not through the cdev as well */
	d = get_device_fd(g, EDU);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(bind_cdev(cd, ifd), EINVAL);
	/* a group's device file takes no cdev ioctls */
	ck_assert_int_eq(bind_cdev(d, ifd), EINVAL);
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, buf), ENOTTY);
	/* a device file of a group: an anonymous inode */
	{
		struct stat st;

		ck_assert_int_eq(iommufd_fake_fstat(fake, d, &st), 0);
		ck_assert(!S_ISCHR(st.st_mode));
		ck_assert_uint_eq(st.st_rdev, 0);
	}
	/* devices open: the container stays */
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), EBUSY);
	xclose(d);
	xclose(g);
	xclose(c);
	/* bound through the cdev: the group is the iommufd's */
	ck_assert_int_eq(bind_cdev(cd, ifd), 0);
	g = open_group(EDU_GROUP);
	ck_assert_uint_eq(group_status(g), 0);
	c = xopen("/dev/vfio/vfio");
	ck_assert_int_eq(set_container(g, c), EPERM);
	xclose(g);
	xclose(c);
	xclose(cd);
	xclose(ifd);
}
END_TEST

/* The device fd holds the group, the group holds the container: the
 * mappings live until the last of them goes. */
START_TEST(lifetimes)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g), d;
	uint64_t size;

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	d = get_device_fd(g, EDU);
	ck_assert_int_ge(d, 0);
	bus_master(d);
	xclose(c);
	xclose(g);
	/* the group stays open while its device is */
	ck_assert_int_eq(open_group(EDU_GROUP), -EBUSY);
	fill(buf, XFER, 9);
	dma_to_device(d, IOVA_BASE);
	dma_to_ram(d, IOVA_BASE + 0x8000, 0);
	ck_assert_mem_eq(buf + 0x8000, buf, XFER);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE);
	xclose(d);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);

	/* UNSET_CONTAINER of the last group: the mappings go */
	c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(set_container(g, c), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, 0);
	xclose(g);
	xclose(c);
}
END_TEST

/* A second group joins a container whose IOMMU is set; DMA of both. */
START_TEST(second_group)
{
	int g2, g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g), d, n;
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info_cap_iova_range *r;
	uint8_t data[64] = { 0 };

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	g2 = open_group(NIC_GROUP);
	ck_assert_int_eq(set_container(g2, c), 0);
	/* the ranges: both apertures, both MSI windows */
	info = get_info(c);
	r = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ck_assert_uint_eq(r->nr_iovas, 2);
	ck_assert_uint_eq(r->iova_ranges[1].end, 0x7fffffffff);
	free(info);
	d = get_device_fd(g, EDU);
	n = get_device_fd(g2, NIC);
	ck_assert_int_ge(n, 0);
	bus_master(n);
	memset(buf + 0x3000, 0x77, sizeof(data));
	ck_assert_int_eq(iommufd_fake_device_dma(fake, NIC, IOVA_BASE + 0x3000,
						 data, sizeof(data), false), 0);
	ck_assert_uint_eq(data[0], 0x77);
	ck_assert_uint_eq(data[63], 0x77);
	/* a group leaving: the other keeps the mappings */
	xclose(n);
	ck_assert_int_eq(xioctl(g2, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE);
	bus_master(d);
	dma_to_device(d, IOVA_BASE);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	xclose(d);
	xclose(g2);
	xclose(g);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Mapping and unmapping                                               */

START_TEST(map_rules)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = offsetofend(struct vfio_iommu_type1_dma_map, size) - 1,
		.flags = RW, .vaddr = (uintptr_t)buf, .iova = 0x100000,
		.size = PAGE4K,
	};

	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_MAP_DMA, &map), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, 0), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW | 8), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000,
				 RW | VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, 0, 0x100000, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, 100, 0x100000, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100800, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf + 16, PAGE4K, 0x100000, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, UINT64_MAX & ~0xfffull, RW),
			 EINVAL);
	/* outside the IOVA ranges: the MSI window, beyond 39 bits */
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0xfee00000, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, 2 * PAGE4K, 0xfedff000, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 1ull << 39, RW), EINVAL);
	/* no memory there */
	ck_assert_int_eq(map_dma(c, (void *)0x1000, PAGE4K, 0x100000, RW), EFAULT);
	ck_assert_uint_eq(dma_avail(c), 65535);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0xfedff000, RW), 0);
	ck_assert_int_eq(map_dma(c, buf, 2 * PAGE4K, 0xfedfe000, RW), EEXIST);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0, VFIO_DMA_MAP_FLAG_READ), 0);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), 0);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(unmap_v2_bisect)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	uint64_t size;

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, IOVA_BASE + BUF_SIZE, RW), 0);
	/* inside, across the start, across the end: each bisects */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE / 2, 0, &size), EINVAL);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE + PAGE4K, PAGE4K, 0, NULL), EINVAL);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE - PAGE4K, 2 * PAGE4K, 0, NULL),
			 EINVAL);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE + BUF_SIZE - PAGE4K, 2 * PAGE4K,
				   0, NULL), EINVAL);
	/* misaligned */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE + 1, PAGE4K, 0, NULL), EINVAL);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, 0, 0, NULL), EINVAL);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, 100, 0, NULL), EINVAL);
	/* ALL takes no range */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL),
			 EINVAL);
	/* nothing there: success, 0 bytes */
	ck_assert_int_eq(unmap_dma(c, 0x10000000, PAGE4K, 0, &size), 0);
	ck_assert_uint_eq(size, 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE + PAGE4K);
	/* a superset of both */
	ck_assert_int_eq(unmap_dma(c, 0, 0x10000000, 0, &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE + PAGE4K);
	ck_assert_uint_eq(dma_avail(c), 65535);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(unmap_v1)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1_IOMMU, &g);
	uint64_t size;

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	/* starting inside a mapping: nothing, and success */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE + PAGE4K, PAGE4K, 0, &size), 0);
	ck_assert_uint_eq(size, 0);
	/* covering its first byte: all of it */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE - PAGE4K, 2 * PAGE4K, 0, &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	/* no dirty tracking for v1 */
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), EACCES);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(unmap_all)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	uint64_t size;

	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(map_dma(c, buf + i * PAGE4K, PAGE4K,
					 0x100000 + 0x100000ull * i, RW), 0);
	ck_assert_uint_eq(dma_avail(c), 65531);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	ck_assert_uint_eq(size, 4 * PAGE4K);
	ck_assert_uint_eq(dma_avail(c), 65535);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	ck_assert_uint_eq(size, 0);
	/* flags type1 does not know */
	ck_assert_int_eq(unmap_dma(c, 0, PAGE4K, 8, NULL), EINVAL);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(dma_avail_countdown)
{
	int g, c;

	/* dma_entry_limit is read when the container's IOMMU is set */
	ck_assert_int_eq(iommufd_fake_set_vfio_dma_entry_limit(fake, 3), 0);
	c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	ck_assert_uint_eq(dma_avail(c), 3);
	for (unsigned int i = 0; i < 3; i++) {
		ck_assert_int_eq(map_dma(c, buf + i * PAGE4K, PAGE4K,
					 0x100000 + i * PAGE4K, RW), 0);
		ck_assert_uint_eq(dma_avail(c), 2 - i);
	}
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x200000, RW), ENOSPC);
	/* overlap is checked first */
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW), EEXIST);
	ck_assert_int_eq(unmap_dma(c, 0x100000, PAGE4K, 0, NULL), 0);
	ck_assert_uint_eq(dma_avail(c), 1);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x200000, RW), 0);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), 0);
	xclose(g);
	xclose(c);
}
END_TEST

START_TEST(memlock_enomem)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	uint64_t size;

	iommufd_fake_set_memlock_limit(fake, BUF_SIZE / 2);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), ENOMEM);
	/* nothing changed */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_uint_eq(dma_avail(c), 65535);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, 0);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE / 2, IOVA_BASE, RW), 0);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW), ENOMEM);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE / 2);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), 0);
	xclose(g);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dirty pages                                                         */

START_TEST(dirty_rules)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	uint64_t bitmap[BUF_SIZE / PAGE4K / 64 + 1];
	/* an unmap with its bitmap after it */
	_Alignas(uint64_t) uint8_t raw[sizeof(struct vfio_iommu_type1_dma_unmap) +
				       sizeof(struct vfio_bitmap)] = { 0 };
	struct {
		struct vfio_iommu_type1_dma_unmap *unmap;
		struct vfio_bitmap *bitmap;
	} ub = {
		(void *)raw,
		(void *)(raw + sizeof(struct vfio_iommu_type1_dma_unmap)),
	};
	struct vfio_iommu_type1_dirty_bitmap two = {
		.argsz = sizeof(two),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			 VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
	};

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE / 2, IOVA_BASE, RW), 0);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, IOVA_BASE + BUF_SIZE / 2,
				 VFIO_DMA_MAP_FLAG_READ), 0);
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_DIRTY_PAGES, &two), EINVAL);
	ck_assert_int_eq(dirty_ctl(c, 0), EINVAL);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	/* the page size must be the smallest, the bitmap big enough */
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE / 2, 2 * PAGE4K,
				   bitmap, sizeof(bitmap)), EINVAL);
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE / 2, PAGE4K, bitmap, 8),
			 EINVAL);
	/* a range must not bisect a mapping */
	ck_assert_int_eq(dirty_get(c, IOVA_BASE + PAGE4K, PAGE4K, PAGE4K,
				   bitmap, sizeof(bitmap)), EINVAL);
	/* two mappings at once: every page of both, even the read-only one
	 * (every pinned page counts as dirty) */
	ck_assert_int_eq(dirty_get(c, IOVA_BASE - 64 * PAGE4K,
				   BUF_SIZE / 2 + 128 * PAGE4K, PAGE4K, bitmap,
				   sizeof(bitmap)), 0);
	ck_assert_uint_eq(popcount(bitmap, sizeof(bitmap) / sizeof(bitmap[0])),
			  BUF_SIZE / 2 / PAGE4K + 1);
	ck_assert_uint_eq(bitmap[0], 0);
	ck_assert_uint_eq(bitmap[1], UINT64_MAX);
	/* and again: reported dirty every time */
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE / 2, PAGE4K, bitmap,
				   sizeof(bitmap)), 0);
	ck_assert_uint_eq(popcount(bitmap, sizeof(bitmap) / sizeof(bitmap[0])),
			  BUF_SIZE / 2 / PAGE4K);
	/* a mapping made while tracking is tracked */
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW), 0);
	ck_assert_int_eq(dirty_get(c, 0x100000, PAGE4K, PAGE4K, bitmap,
				   sizeof(bitmap)), 0);
	ck_assert_uint_eq(bitmap[0], 1);
	/* unmap with the bitmap */
	ub.unmap->argsz = sizeof(raw);
	ub.unmap->flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	ub.unmap->iova = IOVA_BASE;
	ub.unmap->size = BUF_SIZE / 2;
	ub.bitmap->pgsize = PAGE4K;
	ub.bitmap->size = sizeof(bitmap);
	ub.bitmap->data = (__u64 *)bitmap;
	memset(bitmap, 0, sizeof(bitmap));
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_UNMAP_DMA, raw), 0);
	ck_assert_uint_eq(ub.unmap->size, BUF_SIZE / 2);
	ck_assert_uint_eq(popcount(bitmap, sizeof(bitmap) / sizeof(bitmap[0])),
			  BUF_SIZE / 2 / PAGE4K);
	/* not with ALL or VADDR; not without room for the bitmap */
	ub.unmap->flags |= VFIO_DMA_UNMAP_FLAG_ALL;
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_UNMAP_DMA, raw), EINVAL);
	ub.unmap->flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	ub.unmap->argsz = sizeof(*ub.unmap);
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_UNMAP_DMA, raw), EINVAL);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
	/* not tracking: no bitmap on unmap either */
	ub.unmap->argsz = sizeof(raw);
	ub.unmap->iova = 0x100000;
	ub.unmap->size = PAGE4K;
	ck_assert_int_eq(xioctl(c, VFIO_IOMMU_UNMAP_DMA, raw), EINVAL);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), 0);
	xclose(g);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Live update: VFIO_DMA_UNMAP_FLAG_VADDR and VFIO_DMA_MAP_FLAG_VADDR   */

/* Can this process duplicate a shared mapping (valgrind cannot)? */
static bool can_alias(void)
{
	void *a = mmap(NULL, PAGE4K, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	void *b = mremap(a, 0, PAGE4K, MREMAP_MAYMOVE);

	munmap(a, PAGE4K);
	if (b == MAP_FAILED)
		return false;
	munmap(b, PAGE4K);
	return true;
}

START_TEST(vaddr_update)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g), d, g2;
	int mfd = memfd_create("guest-ram", MFD_CLOEXEC);
	uint8_t *a, *b, want[XFER];
	uint64_t size;

	ck_assert_int_eq(ftruncate(mfd, BUF_SIZE), 0);
	a = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	b = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_ptr_ne(a, MAP_FAILED);
	ck_assert_ptr_ne(b, MAP_FAILED);
	ck_assert_int_eq(map_dma(c, a, BUF_SIZE, IOVA_BASE, RW), 0);
	d = get_device_fd(g, EDU);
	bus_master(d);
	fill(a + 0x1000, XFER, 21);
	dma_to_device(d, IOVA_BASE + 0x1000);

	/* VADDR rules: a mapping that is valid cannot take a new vaddr */
	ck_assert_int_eq(map_dma(c, b, BUF_SIZE, IOVA_BASE, VFIO_DMA_MAP_FLAG_VADDR),
			 EINVAL);
	ck_assert_int_eq(map_dma(c, b, BUF_SIZE, 0x10000000,
				 VFIO_DMA_MAP_FLAG_VADDR), ENOENT);
	/* the window opens: the mapping stays, its vaddr goes */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, VFIO_DMA_UNMAP_FLAG_VADDR,
				   &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, VFIO_DMA_UNMAP_FLAG_VADDR,
				   &size), EINVAL);	/* invalid already */
	ck_assert_int_eq(map_dma(c, b, BUF_SIZE, IOVA_BASE, RW), EEXIST);
	/* no group may join while vaddrs are invalid (it would pin) */
	g2 = open_group(NIC_GROUP);
	ck_assert_int_eq(set_container(g2, c), EBUSY);
	xclose(g2);
	/* the device goes on with the pinned pages */
	memset(b + 0x20000, 0, XFER);
	dma_to_ram(d, IOVA_BASE + 0x20000, 0);
	fill(want, XFER, 21);
	ck_assert_mem_eq(b + 0x20000, want, XFER);
	/* the old vaddr may go: the pages stay pinned (where the fake can
	 * reach them through a second mapping) */
	if (can_alias()) {
		ck_assert_int_eq(munmap(a, BUF_SIZE), 0);
		a = NULL;
		memset(b + 0x30000, 0, XFER);
		dma_to_ram(d, IOVA_BASE + 0x30000, 0);
		ck_assert_mem_eq(b + 0x30000, want, XFER);
	}
	/* the window closes: exactly the mapping, VADDR alone */
	ck_assert_int_eq(map_dma(c, b, BUF_SIZE / 2, IOVA_BASE,
				 VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	ck_assert_int_eq(map_dma(c, b, BUF_SIZE, IOVA_BASE,
				 VFIO_DMA_MAP_FLAG_VADDR | RW), EINVAL);
	ck_assert_int_eq(map_dma(c, b, BUF_SIZE, IOVA_BASE, VFIO_DMA_MAP_FLAG_VADDR),
			 0);
	if (a)
		ck_assert_int_eq(munmap(a, BUF_SIZE), 0);
	fill(b + 0x1000, XFER, 22);
	dma_to_device(d, IOVA_BASE + 0x1000);
	dma_to_ram(d, IOVA_BASE + 0x40000, 0);
	fill(want, XFER, 22);
	ck_assert_mem_eq(b + 0x40000, want, XFER);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE);
	xclose(d);
	xclose(g);
	xclose(c);
	munmap(b, BUF_SIZE);
	close(mfd);
}
END_TEST

/* An emulated device in a container: DMA through the vaddrs, no IOMMU
 * ranges, and no vaddr updates. */
START_TEST(emulated_group)
{
	int g, c = container_with(MDEV_GROUP, VFIO_TYPE1v2_IOMMU, &g), d;
	struct vfio_iommu_type1_info *info;
	uint64_t bitmap[2];
	uint8_t data[16];

	info = get_info(c);
	ck_assert_uint_eq(info->iova_pgsizes, 0xfffffffffffff000ull);
	ck_assert_ptr_null(find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE));
	free(info);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
	/* nothing pinned: any IOVA */
	ck_assert_int_eq(map_dma(c, buf, 16 * PAGE4K, 1ull << 50, RW), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	ck_assert_int_eq(unmap_dma(c, 1ull << 50, 16 * PAGE4K,
				   VFIO_DMA_UNMAP_FLAG_VADDR, NULL), EBUSY);
	d = get_device_fd(g, MDEV);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	memset(data, 0x3c, sizeof(data));
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, (1ull << 50) + 5 * PAGE4K,
						 data, sizeof(data), true), 0);
	ck_assert_uint_eq(buf[5 * PAGE4K + 15], 0x3c);
	/* only what it wrote is dirty */
	ck_assert_int_eq(dirty_get(c, 1ull << 50, 16 * PAGE4K, PAGE4K, bitmap,
				   sizeof(bitmap)), 0);
	ck_assert_uint_eq(bitmap[0], 1u << 5);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, 1ull << 40, data,
						 sizeof(data), false), -EFAULT);
	ck_assert_int_eq(stats(MDEV).last_fault_reason, -ENOENT);
	/* an IOMMU group joining pins what is mapped, within its aperture */
	{
		int g1 = open_group(EDU_GROUP);

		ck_assert_int_eq(set_container(g1, c), EFAULT);
		ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), 0);
		ck_assert_int_eq(map_dma(c, buf, 16 * PAGE4K, IOVA_BASE, RW), 0);
		ck_assert_int_eq(set_container(g1, c), 0);
		ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 16 * PAGE4K);
		xclose(g1);
		ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	}
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
	xclose(d);
	xclose(g);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reset                                                               */

START_TEST(reset_rules)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int g, c = container_with(NIC_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	int d = get_device_fd(g, NIC);

	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_GET_INFO, &info), 0);
	ck_assert(info.flags & VFIO_DEVICE_FLAGS_RESET);
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_RESET, NULL), 0);
	/* the VFIO core's features, as on a cdev */
	{
		struct vfio_device_feature f = {
			.argsz = sizeof(f),
			.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
		};

		ck_assert_int_eq(xioctl(d, VFIO_DEVICE_FEATURE, &f), 0);
		f.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_MIGRATION;
		ck_assert_int_eq(xioctl(d, VFIO_DEVICE_FEATURE, &f), ENOTTY);
	}
	xclose(d);
	xclose(g);
	xclose(c);
}
END_TEST

/* Hot reset through group fds: group ids, and every group of the bus. */
START_TEST(hot_reset_groups)
{
	struct iommufd_fake_iommu_opts io = { .sz = sizeof(io), .name = "dmar9" };
	struct iommufd_fake_pci_opts a = {
		.sz = sizeof(a), .bdf = "0000:02:00.0", .iommu = "dmar9",
		.iommu_group = 5, .vendor_id = 0x8086, .device_id = 0x1234,
		.bars = { [0] = { .size = 4096 } }, .reset_group = 1,
	};
	struct iommufd_fake_pci_opts b = a;
	_Alignas(uint64_t) uint8_t ri_raw[sizeof(struct vfio_pci_hot_reset_info) +
					  4 * sizeof(struct vfio_pci_dependent_device)] = { 0 };
	_Alignas(uint64_t) uint8_t hr_raw[sizeof(struct vfio_pci_hot_reset) +
					  3 * sizeof(int32_t)] = { 0 };
	struct vfio_pci_hot_reset_info *ri_hdr = (void *)ri_raw;
	struct vfio_pci_dependent_device *devs = (void *)(ri_raw + sizeof(*ri_hdr));
	struct vfio_pci_hot_reset *hr_hdr = (void *)hr_raw;
	int32_t *fds = (void *)(hr_raw + sizeof(*hr_hdr));
	int g5, g6, c, d;

	ck_assert_int_eq(iommufd_fake_add_iommu(fake, &io), 0);
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &a), 0);
	b.bdf = "0000:02:00.1";
	b.iommu_group = 6;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &b), 0);
	c = container_with(5, VFIO_TYPE1v2_IOMMU, &g5);
	d = get_device_fd(g5, "0000:02:00.0");
	ck_assert_int_ge(d, 0);
	ri_hdr->argsz = sizeof(*ri_hdr);
	hr_hdr->argsz = sizeof(hr_raw);
	/* too small: ENOSPC and the count */
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, ri_raw), ENOSPC);
	ck_assert_uint_eq(ri_hdr->count, 2);
	ri_hdr->argsz = sizeof(ri_raw);
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, ri_raw), 0);
	ck_assert_uint_eq(ri_hdr->flags, 0);	/* group ids, not devids */
	ck_assert_uint_eq(ri_hdr->count, 2);
	ck_assert_uint_eq(devs[0].group_id, 5);
	ck_assert_uint_eq(devs[1].group_id, 6);
	ck_assert_uint_eq(devs[1].bus, 2);
	ck_assert_uint_eq(devs[1].devfn, 1);
	/* the fds: none, too many, a bad one, not a group, one group short */
	hr_hdr->count = 0;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), EINVAL);
	hr_hdr->count = 3;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), EINVAL);
	hr_hdr->count = 1;
	fds[0] = 1000;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), EBADF);
	fds[0] = c;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), EINVAL);
	fds[0] = g5;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), EINVAL);
	/* every group of the bus (the other need not be in a container) */
	g6 = open_group(6);
	hr_hdr->count = 2;
	fds[1] = g6;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), 0);
	hr_hdr->flags = 1;
	ck_assert_int_eq(xioctl(d, VFIO_DEVICE_PCI_HOT_RESET, hr_raw), EINVAL);
	xclose(g6);
	xclose(d);
	xclose(g5);
	xclose(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* iommufd's /dev/vfio/vfio                                            */

START_TEST(compat_container)
{
	struct iommu_vfio_ioas vioas = { .size = sizeof(vioas),
					 .op = IOMMU_VFIO_IOAS_GET };
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info_cap_iova_range *r;
	struct vfio_iommu_type1_info_dma_avail *avail;
	uint8_t want[XFER];
	uint64_t size, bitmap[8];
	struct stat st;
	int c, g, d;

	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(fake, 7), -EINVAL);
	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
				 fake, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD), 0);
	c = xopen("/dev/vfio/vfio");
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(iommufd_fake_fstat(fake, c, &st), 0);
	ck_assert_uint_eq(st.st_rdev, makedev(10, 196));
	ck_assert_int_eq(xioctl_val(c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	/* no compat IOAS before a group: ENODEV, where VFIO said EINVAL */
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU),
			 -ENODEV);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	ck_assert_int_eq(xioctl(c, IOMMU_VFIO_IOAS, &vioas), ENODEV);
	g = open_group(EDU_GROUP);
	ck_assert_int_eq(set_container(g, c), 0);
	ck_assert_uint_eq(group_status(g),
			  VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	ck_assert_int_eq(xioctl(c, IOMMU_VFIO_IOAS, &vioas), 0);
	ck_assert_uint_ne(vioas.ioas_id, 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), -EINVAL);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
	/* the device binds to the iommufd and attaches to the compat IOAS */
	d = get_device_fd(g, EDU);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	info = get_info(c);
	ck_assert_uint_eq(info->iova_pgsizes, 0x40201000);
	ck_assert_ptr_null(find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION));
	avail = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ck_assert_uint_eq(avail->avail, UINT32_MAX);
	r = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->nr_iovas, 2);
	ck_assert_uint_eq(r->iova_ranges[0].end, 0xfedfffff);
	ck_assert_uint_eq(r->iova_ranges[1].start, 0xfef00000);
	ck_assert_uint_eq(r->iova_ranges[1].end, 0x7fffffffff);
	free(info);
	/* map, DMA both ways */
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), EEXIST);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0xfee00000, RW), EINVAL);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, 0x10000000,
				 VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	bus_master(d);
	fill(buf + 0x1000, XFER, 31);
	dma_to_device(d, IOVA_BASE + 0x1000);
	dma_to_ram(d, IOVA_BASE + 0x10000, 0);
	fill(want, XFER, 31);
	ck_assert_mem_eq(buf + 0x10000, want, XFER);
	/* iommufd's rules: a bisect and nothing mapped are ENOENT */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, PAGE4K, 0, &size), ENOENT);
	ck_assert_uint_eq(size, 0);
	ck_assert_int_eq(unmap_dma(c, 0x10000000, PAGE4K, 0, &size), ENOENT);
	/* no vaddr updates, no dirty bitmaps */
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, VFIO_DMA_UNMAP_FLAG_VADDR,
				   NULL), EINVAL);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE,
				   VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, NULL), EINVAL);
	ck_assert_int_eq(dirty_ctl(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), ENOTTY);
	ck_assert_int_eq(dirty_get(c, IOVA_BASE, BUF_SIZE, PAGE4K, bitmap,
				   sizeof(bitmap)), ENOTTY);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE);
	memset(buf + 0x10000, 0x5a, XFER);
	dma_to_ram(d, IOVA_BASE + 0x10000, 0);
	ck_assert_uint_eq(buf[0x10000], 0x5a);
	ck_assert_uint_eq(stats(EDU).faults, 1);
	ck_assert_int_eq(map_dma(c, buf, PAGE4K, 0x100000, RW), 0);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	ck_assert_uint_eq(size, PAGE4K);
	ck_assert_int_eq(unmap_dma(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	ck_assert_uint_eq(size, 0);
	xclose(d);
	xclose(g);
	xclose(c);
}
END_TEST

/* TYPE1 on iommufd: an unmap inside a mapping cuts it. */
START_TEST(compat_type1_v1)
{
	int c, g;
	uint64_t size;

	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
				 fake, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD), 0);
	c = container_with(EDU_GROUP, VFIO_TYPE1_IOMMU, &g);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE + PAGE4K, PAGE4K, 0, &size), 0);
	ck_assert_uint_eq(size, PAGE4K);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE - PAGE4K);
	ck_assert_int_eq(unmap_dma(c, IOVA_BASE, BUF_SIZE, 0, &size), 0);
	ck_assert_uint_eq(size, BUF_SIZE - PAGE4K);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
	xclose(g);
	xclose(c);
}
END_TEST

/* Any iommufd answers the VFIO ioctls, and a group takes one. */
START_TEST(group_on_iommufd)
{
	int ifd = xopen("/dev/iommu"), g, d;

	ck_assert_int_eq(xioctl_val(ifd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	g = open_group(EDU_GROUP);
	ck_assert_int_eq(set_container(g, ifd), 0);
	d = get_device_fd(g, EDU);
	ck_assert_int_ge(d, 0);
	/* opened again through the group: one binding */
	{
		int d2 = get_device_fd(g, EDU);

		ck_assert_int_ge(d2, 0);
		xclose(d);
		d = d2;
	}
	ck_assert_int_eq(map_dma(ifd, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	bus_master(d);
	dma_to_device(d, IOVA_BASE);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	/* an iommufd's group may go with devices open */
	ck_assert_int_eq(xioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	dma_to_device(d, IOVA_BASE);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	xclose(d);
	xclose(g);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), BUF_SIZE);
	/* an emulated device: an access to the compat IOAS */
	{
		int gm = open_group(MDEV_GROUP), dm;
		uint8_t data[8] = { 0 };

		ck_assert_int_eq(set_container(gm, ifd), 0);
		dm = get_device_fd(gm, MDEV);
		ck_assert_int_ge(dm, 0);
		buf[0x5000] = 0x99;
		ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, IOVA_BASE + 0x5000,
							 data, sizeof(data), false), 0);
		ck_assert_uint_eq(data[0], 0x99);
		xclose(dm);
		xclose(gm);
	}
	xclose(ifd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kernel versions and sysfs                                           */

static bool exists(const char *root, const char *rel)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return stat(path, &st) == 0;
}

static const char *slurp(const char *root, const char *rel)
{
	static char text[256];
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	text[n] = '\0';
	return text;
}

START_TEST(kernel_6_1)
{
	const char *root = iommufd_fake_sysfs_root(fake);
	int g, c, d;
	char want[32];
	struct stat st;

	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 1), 0);
	/* no iommufd; no device cdevs */
	ck_assert_int_eq(xopen("/dev/iommu"), -ENOENT);
	ck_assert_int_eq(xopen("/dev/vfio/devices/vfio0"), -ENOENT);
	ck_assert(!exists(root, "class/misc/iommu"));
	ck_assert(!exists(root, "bus/pci/devices/" EDU "/vfio-dev"));
	ck_assert_str_eq(slurp(root, "class/misc/vfio/dev"), "10:196\n");
	ck_assert_int_eq(iommufd_fake_stat(fake, "/dev/vfio/1", &st), 0);
	snprintf(want, sizeof(want), "%u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	ck_assert_str_eq(slurp(root, "class/vfio/1/dev"), want);
	/* the compat mode needs iommufd: VFIO's container it is */
	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
				 fake, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD), 0);
	c = xopen("/dev/vfio/vfio");
	g = open_group(EDU_GROUP);
	/* 6.1 knows no iommufd in SET_CONTAINER */
	{
		int mfd = memfd_create("x", MFD_CLOEXEC);

		ck_assert_int_eq(set_container(g, mfd), EINVAL);
		close(mfd);
	}
	ck_assert_int_eq(set_container(g, c), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	ck_assert_int_eq(xioctl_val(c, VFIO_CHECK_EXTENSION, 6), 1);
	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	d = get_device_fd(g, EDU);
	ck_assert_int_ge(d, 0);
	/* the cdev ioctls are unknown */
	ck_assert_int_eq(bind_cdev(d, c), ENOTTY);
	bus_master(d);
	dma_to_device(d, IOVA_BASE);
	ck_assert_uint_eq(stats(EDU).faults, 0);
	xclose(d);
	xclose(g);
	xclose(c);
	/* back to a kernel with iommufd */
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 17), 0);
	ck_assert(exists(root, "class/misc/iommu/dev"));
}
END_TEST

START_TEST(sysfs_groups)
{
	const char *root = iommufd_fake_sysfs_root(fake);

	ck_assert(exists(root, "class/vfio/1/dev"));
	ck_assert(exists(root, "class/vfio/2/dev"));
	ck_assert(exists(root, "class/vfio/3/dev"));
	ck_assert(exists(root, "class/misc/vfio/dev"));
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "e1000e"), 0);
	ck_assert(!exists(root, "class/vfio/2"));
	ck_assert_int_eq(iommufd_fake_bind_driver(fake, NIC, "vfio-pci"), 0);
	ck_assert(exists(root, "class/vfio/2/dev"));
	ck_assert_int_eq(iommufd_fake_remove_device(fake, NIC), 0);
	ck_assert(!exists(root, "class/vfio/2"));
}
END_TEST

/* Everything the model holds goes when the fds do, in any order, and
 * iommufd_fake_free() copes with what is left open. */
START_TEST(free_with_open_files)
{
	int g, c = container_with(EDU_GROUP, VFIO_TYPE1v2_IOMMU, &g);
	int d = get_device_fd(g, EDU);
	int ifd = xopen("/dev/iommu"), g2 = open_group(NIC_GROUP);

	ck_assert_int_eq(map_dma(c, buf, BUF_SIZE, IOVA_BASE, RW), 0);
	ck_assert_int_eq(set_container(g2, ifd), 0);
	iommufd_fake_free(fake);
	close(c);
	close(g);
	close(d);
	close(ifd);
	close(g2);
	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
}
END_TEST

static Suite *type1_suite(void)
{
	Suite *s = suite_create("fake-type1");
	TCase *tc = fx_tcase("type1");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lab_replay);
	tcase_add_test(tc, container_rules);
	tcase_add_test(tc, nesting_type_on_6_1);
	tcase_add_test(tc, get_info_rules);
	tcase_add_test(tc, group_file_rules);
	tcase_add_test(tc, group_viability);
	tcase_add_test(tc, cdev_and_group_exclude);
	tcase_add_test(tc, lifetimes);
	tcase_add_test(tc, second_group);
	tcase_add_test(tc, map_rules);
	tcase_add_test(tc, unmap_v2_bisect);
	tcase_add_test(tc, unmap_v1);
	tcase_add_test(tc, unmap_all);
	tcase_add_test(tc, dma_avail_countdown);
	tcase_add_test(tc, memlock_enomem);
	tcase_add_test(tc, dirty_rules);
	tcase_add_test(tc, vaddr_update);
	tcase_add_test(tc, emulated_group);
	tcase_add_test(tc, reset_rules);
	tcase_add_test(tc, hot_reset_groups);
	tcase_add_test(tc, compat_container);
	tcase_add_test(tc, compat_type1_v1);
	tcase_add_test(tc, group_on_iommufd);
	tcase_add_test(tc, kernel_6_1);
	tcase_add_test(tc, sysfs_groups);
	tcase_add_test(tc, free_with_open_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(type1_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
