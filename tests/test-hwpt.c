/* SPDX-License-Identifier: MIT */
/*
 * HWPTs and attaching on the fake kernel: iommufd_hwpt_new() and its flags,
 * destroy while attached, the VMM attach (reuse across devices of one IOMMU,
 * a new HWPT for another IOMMU, dirty tracking wanted and not available,
 * emulated devices attached directly), replacing and detaching, PASIDs, the
 * IOAS's IOVA ranges narrowing and widening with attachments, kernel errors
 * coming through, and failure of every kernel call on the attach and HWPT
 * paths leaving everything as it was.
 *
 * The machine: the default one (edu behind dmar0 with dirty tracking, the
 * NIC behind dmar1 without, an mdev) plus a second edu behind dmar0 and a
 * PASID-capable function behind dmar0.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
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
#define PASID_DEV "0000:00:06.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)
#define DIRTY IOMMUFD_HWPT_DIRTY_TRACKING

static void setup_version(unsigned int minor)
{
	struct iommufd_fake_pci_opts o = {
		.sz = sizeof(o), .bdf = PASID_DEV, .vendor_id = 0x8086,
		.device_id = 0x0b25, .class_code = 0x088000, .iommu = "dmar0",
		.iommu_group = 7, .bars = { [0] = { .size = 1u << 16 } },
		.msi_vectors = 4, .flags = IOMMUFD_FAKE_PCI_PCIE,
	};

	fx_fake_up(minor);
	ck_assert_int_eq(iommufd_fake_add_edu(fake, EDU2, "dmar0", 8), 0);
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_AUTO, &ctx), 0);
}

static void setup(void)
{
	setup_version(0);
}

static void setup_6_14(void)
{
	setup_version(14);
}

static void setup_6_6(void)
{
	setup_version(6);
}

static void teardown(void)
{
	fx_ctx_down();
	ck_assert(!logged("left in the kernel"));
	fx_fake_down();
}

/* 0 or the errno of a raw IOMMU_DESTROY on the context's iommufd. */
static int raw_destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	errno = 0;
	if (iommufd_fake_ioctl(fake, iommufd_ctx_fd(ctx), IOMMU_DESTROY,
			       &cmd) < 0)
		return errno;
	return 0;
}

/* Whether a HWPT of this ID still exists in the kernel: a raw destroy of
 * a live, attached HWPT is EBUSY; of an unattached one it would succeed,
 * so only call this on HWPTs that are attached or gone. */
static bool hwpt_gone(uint32_t id)
{
	return raw_destroy(id) == ENOENT;
}

static struct iommufd_iova_ranges *ranges(struct iommufd_ioas *ioas)
{
	struct iommufd_iova_ranges *r = NULL;

	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(ioas, &r), 0);
	return r;
}

/* ------------------------------------------------------------------ */
/* iommufd_hwpt_new                                                    */

START_TEST(hwpt_new_and_getters)
{
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = NULL;

	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, &h), 0);
	ck_assert_uint_gt(iommufd_hwpt_id(h), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(h), 0);
	ck_assert_ptr_eq(iommufd_hwpt_ioas(h), ioas);
	/* it holds the IOAS */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	/* NULLs */
	ck_assert_uint_eq(iommufd_hwpt_id(NULL), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(NULL), 0);
	ck_assert_ptr_null(iommufd_hwpt_ioas(NULL));
	ck_assert_int_eq(iommufd_hwpt_destroy(NULL), -EINVAL);
	iommufd_device_free(edu);
}
END_TEST

START_TEST(hwpt_new_flags)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = NULL, *p = NULL;

	/* dmar0 tracks dirty pages, nests and does PASIDs */
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, DIRTY, &h), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(h), DIRTY);
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas,
					  IOMMUFD_HWPT_NEST_PARENT |
						  IOMMUFD_HWPT_PASID, &p), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(p),
			  IOMMUFD_HWPT_NEST_PARENT | IOMMUFD_HWPT_PASID);
	ck_assert_int_eq(iommufd_hwpt_destroy(p), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);
	/* dmar1 does neither dirty tracking nor nesting */
	h = NULL;
	log_clear();
	ck_assert_int_eq(iommufd_hwpt_new(nic, ioas, DIRTY, &h), -EOPNOTSUPP);
	ck_assert(logged("cannot make a HWPT that is dirty-tracking"));
	ck_assert_int_eq(iommufd_hwpt_new(nic, ioas, IOMMUFD_HWPT_NEST_PARENT,
					  &h), -EOPNOTSUPP);
	ck_assert(logged("a nesting parent"));
	ck_assert_ptr_null(h);
	/* unknown flags, mismatched contexts */
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 1u << 7, &h), -EINVAL);
	ck_assert_int_eq(iommufd_hwpt_new(NULL, ioas, 0, &h), -EINVAL);
	ck_assert_int_eq(iommufd_hwpt_new(edu, NULL, 0, &h), -EINVAL);
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, NULL), -EINVAL);
	{
		struct iommufd_ctx *other;
		struct iommufd_ioas *oioas;

		ck_assert_int_eq(iommufd_fake_ctx_new(fake, NULL, &other), 0);
		ck_assert_int_eq(iommufd_ioas_new(other, &oioas), 0);
		ck_assert_int_eq(iommufd_hwpt_new(edu, oioas, 0, &h), -EINVAL);
		iommufd_ctx_free(other);
	}
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(hwpt_new_emulated)
{
	struct iommufd_device *mdev = open_ok(MDEV);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = NULL;
	struct iommufd_hw_info hw;

	ck_assert_int_eq(iommufd_hwpt_new(mdev, ioas, 0, &h), -ENODEV);
	ck_assert(logged("no IOMMU of its own"));
	ck_assert_ptr_null(h);
	ck_assert_int_eq(iommufd_device_get_hw_info(mdev, &hw), -ENODEV);
	iommufd_device_free(mdev);
}
END_TEST

START_TEST(hwpt_destroy_while_attached)
{
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h;
	uint32_t id;

	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, &h), 0);
	id = iommufd_hwpt_id(h);
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu, h), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), -EBUSY);
	/* the handle is still good */
	ck_assert_uint_eq(iommufd_hwpt_id(h), id);
	ck_assert_ptr_eq(iommufd_hwpt_ioas(h), ioas);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	/* a caller's HWPT outlives its last device */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);
	ck_assert(hwpt_gone(id));
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
}
END_TEST

START_TEST(hw_info)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_device *pdev = open_ok(PASID_DEV);
	struct iommufd_hw_info hw;
	uint64_t cap;

	ck_assert_int_eq(iommufd_device_get_hw_info(edu, &hw), 0);
	ck_assert_int_eq(hw.type, IOMMUFD_HW_INFO_INTEL_VTD);
	ck_assert(hw.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING);
	ck_assert_uint_eq(hw.max_pasid_log2, 0);	/* edu has no PASID */
	ck_assert_uint_eq(hw.data_len, 24);	/* struct iommu_hw_info_vtd */
	memcpy(&cap, hw.data + 8, sizeof(cap));	/* cap_reg */
	ck_assert_uint_eq(cap, 0x00d2008c22260286ull);
	ck_assert_int_eq(iommufd_device_get_hw_info(nic, &hw), 0);
	ck_assert(!(hw.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING));
	ck_assert_int_eq(iommufd_device_get_hw_info(pdev, &hw), 0);
	ck_assert_uint_eq(hw.max_pasid_log2, 20);
	ck_assert_int_eq(iommufd_device_get_hw_info(NULL, &hw), -EINVAL);
	ck_assert_int_eq(iommufd_device_get_hw_info(edu, NULL), -EINVAL);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
	iommufd_device_free(pdev);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The VMM attach                                                      */

START_TEST(attach_reuses_and_falls_back)
{
	struct iommufd_device *edu = open_ok(EDU), *edu2 = open_ok(EDU2);
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *a = NULL, *a2 = NULL, *b = NULL;
	uint32_t ida, idb;

	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &a), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(iommufd_hwpt_ioas(a), ioas);
	ida = iommufd_hwpt_id(a);
	/* same IOMMU: the same HWPT */
	ck_assert_int_eq(iommufd_device_attach(edu2, ioas, 0, &a2), 0);
	ck_assert_ptr_eq(a2, a);
	/* another IOMMU: dmar0's HWPT is refused (EINVAL), a new one */
	log_clear();
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, &b), 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(b, a);
	idb = iommufd_hwpt_id(b);
	ck_assert(logged("is incompatible with the device's IOMMU"));
	/* a fourth attach finds b for the NIC's IOMMU, after a */
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, &b), 0);
	ck_assert_uint_eq(iommufd_hwpt_id(b), idb);
	/* attached HWPTs are busy */
	ck_assert_int_eq(raw_destroy(ida), EBUSY);
	ck_assert_int_eq(raw_destroy(idb), EBUSY);
	/* the library's HWPTs go with their last device */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_int_eq(raw_destroy(ida), EBUSY);
	iommufd_device_free(edu2);
	ck_assert(hwpt_gone(ida));
	ck_assert_int_eq(iommufd_device_detach(nic), 0);
	ck_assert(hwpt_gone(idb));
	/* detaching a detached device is fine */
	ck_assert_int_eq(iommufd_device_detach(nic), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
}
END_TEST

START_TEST(attach_dirty_tracking)
{
	struct iommufd_device *edu = open_ok(EDU), *edu2 = open_ok(EDU2);
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *plain, *d, *n;

	/* edu: no tracking asked, a plain HWPT */
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &plain), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(plain), 0);
	/* edu2 wants tracking: the plain one does not do, dmar0 can */
	ck_assert_int_eq(iommufd_device_attach(edu2, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &d), 0);
	ck_assert_ptr_ne(d, plain);
	ck_assert_uint_eq(iommufd_hwpt_flags(d), DIRTY);
	/* the NIC's IOMMU cannot: attached without, and said so */
	log_clear();
	ck_assert_int_eq(iommufd_device_attach(nic, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &n), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(n) & DIRTY, 0);
	ck_assert(logged("cannot track dirty pages: attaching without"));
	/* edu asks again: moves to the tracking HWPT, the plain one goes */
	{
		uint32_t id = iommufd_hwpt_id(plain);
		struct iommufd_hwpt *e;

		ck_assert_int_eq(iommufd_device_attach(edu, ioas,
						       IOMMUFD_ATTACH_DIRTY_TRACKING,
						       &e), 0);
		ck_assert_ptr_eq(e, d);
		ck_assert(hwpt_gone(id));
		/* without asking, a tracking HWPT serves as well */
		ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &e), 0);
		ck_assert_ptr_eq(e, d);
	}
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 1u << 5, &n), -EINVAL);
	iommufd_device_free(edu);
	iommufd_device_free(edu2);
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

START_TEST(attach_callers_hwpt)
{
	struct iommufd_device *edu = open_ok(EDU), *edu2 = open_ok(EDU2);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *mine, *got;

	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, &mine), 0);
	/* attach offers the caller's HWPT too */
	ck_assert_int_eq(iommufd_device_attach(edu2, ioas, 0, &got), 0);
	ck_assert_ptr_eq(got, mine);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &got), 0);
	ck_assert_ptr_eq(got, mine);
	iommufd_device_free(edu2);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	/* ...and does not destroy it when its last device leaves: it still
	 * holds the IOAS */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	ck_assert_int_eq(iommufd_hwpt_destroy(mine), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
}
END_TEST

START_TEST(attach_hwpt_of_another_iommu)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h;

	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, &h), 0);
	log_clear();
	ck_assert_int_eq(iommufd_device_attach_hwpt(nic, h), -EINVAL);
	ck_assert(logged("the device cannot use this domain"));
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu, h), 0);
	ck_assert_int_eq(iommufd_device_attach_hwpt(NULL, h), -EINVAL);
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu, NULL), -EINVAL);
	iommufd_device_free(edu);
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);
}
END_TEST

START_TEST(attach_emulated_directly)
{
	struct iommufd_device *mdev = open_ok(MDEV), *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = (void *)1, *e;
	uint8_t *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0x100000;
	uint8_t out[32];

	ck_assert_ptr_ne(buf, MAP_FAILED);
	/* a HWPT already serving the IOAS is not offered to it */
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &e), 0);
	ck_assert_int_eq(iommufd_device_attach(mdev, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	ck_assert_ptr_null(h);
	ck_assert(logged("emulated device"));
	/* its DMA goes through the IOAS */
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, FIXED), 0);
	memset(buf, 0x5e, 32);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, iova, out, 32,
						 false), 0);
	ck_assert_uint_eq(out[31], 0x5e);
	/* it holds the IOAS */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	/* a HWPT is no place for it; PASIDs neither */
	ck_assert_int_eq(iommufd_device_attach_hwpt(mdev, e), -ENOENT);
	ck_assert_int_eq(iommufd_device_attach_pasid(mdev, 1, e), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_detach(mdev), 0);
	ck_assert_int_eq(iommufd_fake_device_dma(fake, MDEV, iova, out, 32,
						 false), -EFAULT);
	iommufd_device_free(mdev);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	munmap(buf, PAGE);
}
END_TEST

START_TEST(attach_replaces)
{
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *one = ioas_ok(), *two = ioas_ok();
	struct iommufd_hwpt *h1, *h2, *mine;
	uint32_t id1;

	ck_assert_int_eq(iommufd_device_attach(edu, one, 0, &h1), 0);
	id1 = iommufd_hwpt_id(h1);
	ck_assert_int_eq(iommufd_device_attach(edu, two, 0, &h2), 0);
	ck_assert_ptr_eq(iommufd_hwpt_ioas(h2), two);
	/* the first HWPT lost its only device */
	ck_assert(hwpt_gone(id1));
	ck_assert_int_eq(iommufd_ioas_destroy(one), 0);
	/* replace with a caller's HWPT, then with the kernel's own domain */
	ck_assert_int_eq(iommufd_hwpt_new(edu, two, 0, &mine), 0);
	id1 = iommufd_hwpt_id(h2);
	ck_assert_int_eq(iommufd_device_attach_hwpt(edu, mine), 0);
	ck_assert(hwpt_gone(id1));
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, two), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(mine), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(two), -EBUSY);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(two), 0);
	ck_assert_int_eq(iommufd_device_attach_ioas(NULL, two), -EINVAL);
	iommufd_device_free(edu);
}
END_TEST

START_TEST(iova_ranges_follow_attachments)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_iova_ranges *before, *r;

	before = ranges(ioas);
	ck_assert_uint_eq(before->nr, 1);
	ck_assert_uint_eq(before->range[0].start, 0);
	ck_assert_uint_eq(before->range[0].last, UINT64_MAX);
	/* edu: dmar0's 39-bit aperture and the MSI window */
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	r = ranges(ioas);
	ck_assert_uint_eq(r->nr, 2);
	ck_assert_uint_eq(r->range[0].start, 0);
	ck_assert_uint_eq(r->range[0].last, 0xfedfffff);
	ck_assert_uint_eq(r->range[1].start, 0xfef00000);
	ck_assert_uint_eq(r->range[1].last, 0x7fffffffff);
	free(r);
	/* the NIC (48-bit) narrows nothing more */
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, NULL), 0);
	r = ranges(ioas);
	ck_assert_uint_eq(r->nr, 2);
	ck_assert_uint_eq(r->range[1].last, 0x7fffffffff);
	free(r);
	/* edu leaves: the NIC's 48 bits */
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	r = ranges(ioas);
	ck_assert_uint_eq(r->nr, 2);
	ck_assert_uint_eq(r->range[1].last, 0xffffffffffff);
	free(r);
	/* the NIC freed: wide open again */
	iommufd_device_free(nic);
	r = ranges(ioas);
	ck_assert_uint_eq(r->nr, before->nr);
	ck_assert_mem_eq(r->range, before->range,
			 before->nr * sizeof(before->range[0]));
	free(r);
	/* and the same through the kernel's own domain */
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	r = ranges(ioas);
	ck_assert_uint_eq(r->nr, 2);
	ck_assert_uint_eq(r->range[1].last, 0x7fffffffff);
	free(r);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	r = ranges(ioas);
	ck_assert_uint_eq(r->nr, 1);
	free(r);
	free(before);
	iommufd_device_free(edu);
}
END_TEST

START_TEST(attach_refused_by_mappings)
{
	struct iommufd_device *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	uint8_t *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0xfee00000;	/* in the MSI window */
	struct iommufd_hwpt *h = NULL;

	ck_assert_ptr_ne(buf, MAP_FAILED);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &h), -EADDRINUSE);
	ck_assert_ptr_null(h);
	/* the HWPT made for the attempt is gone: the IOAS can go */
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	iommufd_device_free(edu);
	munmap(buf, PAGE);
}
END_TEST

START_TEST(attach_to_destroyed_ioas)
{
	struct iommufd_device *edu = open_ok(EDU), *mdev = open_ok(MDEV);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h = NULL;

	ck_assert_int_eq(raw_destroy(iommufd_ioas_id(ioas)), 0);
	/* the kernel's answers come through */
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), -ENOENT);
	ck_assert(logged("no such object ID"));
	ck_assert_int_eq(iommufd_device_attach(mdev, ioas, 0, &h), -ENOENT);
	/* HWPT_ALLOC names an unknown pt_id EINVAL */
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &h), -EINVAL);
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, 0, &h), -EINVAL);
	ck_assert_ptr_null(h);
	/* the handle's destroy is the kernel's ENOENT (context free logs
	 * what it could not destroy) */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -ENOENT);
	iommufd_device_free(edu);
	iommufd_device_free(mdev);
	iommufd_ctx_free(ctx);
	ctx = NULL;
	log_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* PASIDs                                                              */

START_TEST(pasid_attach_detach)
{
	struct iommufd_device *pdev = open_ok(PASID_DEV), *edu = open_ok(EDU);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *p, *p2, *plain;
	uint32_t id2;

	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, IOMMUFD_HWPT_PASID, &p), 0);
	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, IOMMUFD_HWPT_PASID, &p2), 0);
	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, 0, &plain), 0);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 5, p), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(p), -EBUSY);
	/* replace */
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 5, p2), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(p), 0);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 6, p2), 0);
	/* a HWPT not made for PASIDs; a PASID past the IOMMU's width */
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 7, plain), -EINVAL);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 1u << 20, p2),
			 -EINVAL);
	/* a device without PASID support */
	ck_assert_int_eq(iommufd_device_attach_pasid(edu, 1, p2), -EINVAL);
	ck_assert_int_eq(iommufd_device_detach_pasid(pdev, 5), 0);
	ck_assert_int_eq(iommufd_hwpt_destroy(p2), -EBUSY);
	ck_assert_int_eq(iommufd_device_detach_pasid(pdev, 6), 0);
	id2 = iommufd_hwpt_id(p2);
	ck_assert_int_eq(iommufd_hwpt_destroy(p2), 0);
	ck_assert(hwpt_gone(id2));
	/* detaching a PASID that is not attached is fine */
	ck_assert_int_eq(iommufd_device_detach_pasid(pdev, 9), 0);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 1, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_hwpt_destroy(plain), 0);
	/* left attached: freeing the device detaches */
	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, IOMMUFD_HWPT_PASID, &p), 0);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 3, p), 0);
	iommufd_device_free(pdev);
	ck_assert_int_eq(iommufd_hwpt_destroy(p), 0);
	iommufd_device_free(edu);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

START_TEST(pasid_before_6_15)
{
	struct iommufd_device *pdev = open_ok(PASID_DEV);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h;

	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, IOMMUFD_HWPT_PASID, &h),
			 -EOPNOTSUPP);
	ck_assert(logged("Linux 6.15"));
	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, 0, &h), 0);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 1, h), -EOPNOTSUPP);
	ck_assert_int_eq(iommufd_device_detach_pasid(pdev, 1), -EOPNOTSUPP);
	/* attach works as ever */
	ck_assert_int_eq(iommufd_device_attach_hwpt(pdev, h), 0);
	iommufd_device_free(pdev);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failure of every kernel call                                        */

/* Whether the device's DMA reaches @iova. */
static bool dma_works(const char *name, uint64_t iova)
{
	uint8_t b[8];

	return iommufd_fake_device_dma(fake, name, iova, b, sizeof(b),
				       false) == 0;
}

/*
 * Attach @dev to a new IOAS with the n-th kernel call failing, for n = 1, 2,
 * ... until the attach succeeds: each failure must leave the device
 * detached and the IOAS free of HWPTs. Returns how many calls it took.
 */
static unsigned long attach_fresh_until_ok(struct iommufd_device *dev,
					   uint32_t flags)
{
	unsigned int files = iommufd_fake_open_files(fake);
	unsigned long n;
	int rc = -1;

	for (n = 1; rc && n < 32; n++) {
		struct iommufd_ioas *t = ioas_ok();
		struct iommufd_hwpt *h = NULL;

		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_device_attach(dev, t, flags, &h);
		iommufd_fake_fail_clear(fake);
		if (rc) {
			ck_assert_int_eq(rc, -EIO);
			ck_assert_ptr_null(h);
		} else {
			ck_assert_ptr_nonnull(h);
			ck_assert_int_eq(iommufd_device_detach(dev), 0);
		}
		/* nothing holds it: no attachment, no HWPT */
		ck_assert_int_eq(iommufd_ioas_destroy(t), 0);
		ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	}
	ck_assert_int_eq(rc, 0);
	return n - 1;
}

START_TEST(attach_survives_every_failure)
{
	struct iommufd_device *edu = open_ok(EDU), *nic = open_ok(NIC);
	struct iommufd_ioas *one = ioas_ok(), *two;
	uint8_t *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0x100000;
	struct iommufd_hwpt *h1, *h;
	unsigned long n;
	int rc;

	ck_assert_ptr_ne(buf, MAP_FAILED);
	bus_master(edu);
	bus_master(nic);
	ck_assert_int_eq(iommufd_ioas_map(one, buf, PAGE, &iova, FIXED), 0);
	/* hw info, alloc, attach: the first attach asks all three */
	ck_assert_uint_eq(attach_fresh_until_ok(edu,
						IOMMUFD_ATTACH_DIRTY_TRACKING),
			  3);
	/* the hw info is known now: alloc, attach (whose failure destroys
	 * the new HWPT) */
	ck_assert_uint_eq(attach_fresh_until_ok(edu, 0), 3);

	/* replacing: each failure leaves the device on the first IOAS */
	ck_assert_int_eq(iommufd_device_attach(edu, one, 0, &h1), 0);
	ck_assert(dma_works(EDU, iova));
	rc = -1;
	for (n = 1; rc && n < 32; n++) {
		two = ioas_ok();
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_device_attach(edu, two, 0, &h);
		iommufd_fake_fail_clear(fake);
		if (rc) {
			ck_assert(dma_works(EDU, iova));
			ck_assert_int_eq(iommufd_ioas_destroy(two), 0);
		}
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, 4);
	ck_assert(!dma_works(EDU, iova));
	/* back to one; the NIC's attach tries edu's HWPT first: hw info,
	 * then (hw info known from the second round on) attach to h1,
	 * alloc, attach */
	ck_assert_int_eq(iommufd_device_attach(edu, one, 0, &h1), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(two), 0);
	ck_assert(dma_works(EDU, iova));
	rc = -1;
	for (n = 1; rc && n < 32; n++) {
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_device_attach(nic, one, 0, &h);
		iommufd_fake_fail_clear(fake);
		if (rc)
			ck_assert(!dma_works(NIC, iova));
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, 5);
	ck_assert(dma_works(NIC, iova));
	ck_assert_ptr_ne(h, h1);

	/* iommufd_hwpt_new and destroy */
	rc = -1;
	for (n = 1; rc && n < 32; n++) {
		h = NULL;
		iommufd_fake_fail_nth(fake, n, EIO);
		rc = iommufd_hwpt_new(edu, one, DIRTY, &h);
		iommufd_fake_fail_clear(fake);
		if (rc)
			ck_assert_ptr_null(h);
	}
	ck_assert_int_eq(rc, 0);
	iommufd_fake_fail_nth(fake, 1, EIO);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), -EIO);
	ck_assert_int_eq(iommufd_hwpt_destroy(h), 0);

	/* detach */
	iommufd_fake_fail_nth(fake, 1, EIO);
	ck_assert_int_eq(iommufd_device_detach(edu), -EIO);
	ck_assert(dma_works(EDU, iova));
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert(!dma_works(EDU, iova));
	iommufd_device_free(edu);
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_unmap_all(one, NULL), 0);
	ck_assert_int_eq(iommufd_ioas_destroy(one), 0);
	munmap(buf, PAGE);
}
END_TEST

struct churn {
	struct iommufd_device *dev;
	struct iommufd_ioas *ioas;
	int rounds;
	int err;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	for (int i = 0; i < c->rounds && !c->err; i++) {
		struct iommufd_hwpt *h = NULL;

		c->err = iommufd_device_attach(c->dev, c->ioas,
					       i % 3 ? 0 :
						       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h);
		if (!c->err && !h)
			c->err = -EPROTO;
		if (!c->err)
			c->err = iommufd_device_detach(c->dev);
	}
	return NULL;
}

START_TEST(attach_from_many_threads)
{
	const char *names[] = { EDU, EDU2, NIC, PASID_DEV };
	struct churn c[4];
	pthread_t t[4];
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h0, *h1;

	for (int i = 0; i < 4; i++) {
		c[i] = (struct churn){ .dev = open_ok(names[i]), .ioas = ioas,
				       .rounds = 200 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn_thread,
						&c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(c[i].err, 0);
	}
	/* every HWPT went with its last device */
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
	/* and sharing still works afterwards */
	ioas = ioas_ok();
	ck_assert_int_eq(iommufd_device_attach(c[0].dev, ioas, 0, &h0), 0);
	ck_assert_int_eq(iommufd_device_attach(c[1].dev, ioas, 0, &h1), 0);
	ck_assert_ptr_eq(h0, h1);
	for (int i = 0; i < 4; i++)
		iommufd_device_free(c[i].dev);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

START_TEST(ctx_free_with_hwpts_alive)
{
	struct iommufd_device *edu = open_ok(EDU), *pdev = open_ok(PASID_DEV);
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok(), *ioas2 = ioas_ok();
	struct iommufd_hwpt *p, *h;

	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, &h), 0);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas2, 0, &h), 0);
	ck_assert_int_eq(iommufd_hwpt_new(pdev, ioas, IOMMUFD_HWPT_PASID, &p), 0);
	ck_assert_int_eq(iommufd_device_attach_pasid(pdev, 2, p), 0);
	ck_assert_int_eq(iommufd_device_attach_hwpt(pdev, p), 0);
	ck_assert_int_eq(iommufd_hwpt_new(nic, ioas2, 0, &h), 0);
	/* teardown frees the context with all of it */
}
END_TEST

START_TEST(attach_on_6_6)
{
	struct iommufd_device *edu = open_ok(EDU), *edu2 = open_ok(EDU2);
	struct iommufd_device *nic = open_ok(NIC);
	struct iommufd_ioas *ioas = ioas_ok();
	struct iommufd_hwpt *h, *h2, *n;

	/* HWPT_ALLOC takes no flags before 6.7 */
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, DIRTY, &h), -EOPNOTSUPP);
	ck_assert(logged("Linux 6.7"));
	ck_assert_int_eq(iommufd_hwpt_new(edu, ioas, IOMMUFD_HWPT_NEST_PARENT,
					  &h), -EOPNOTSUPP);
	/* attach still shares, and falls back from dirty tracking */
	log_clear();
	ck_assert_int_eq(iommufd_device_attach(edu, ioas,
					       IOMMUFD_ATTACH_DIRTY_TRACKING,
					       &h), 0);
	ck_assert_uint_eq(iommufd_hwpt_flags(h) & DIRTY, 0);
	ck_assert(logged("this kernel cannot track dirty pages"));
	ck_assert(!logged("IOMMU_HWPT_ALLOC"));
	ck_assert_int_eq(iommufd_device_attach(edu2, ioas, 0, &h2), 0);
	ck_assert_ptr_eq(h2, h);
	ck_assert_int_eq(iommufd_device_attach(nic, ioas, 0, &n), 0);
	ck_assert_ptr_ne(n, h);
	iommufd_device_free(edu);
	iommufd_device_free(edu2);
	iommufd_device_free(nic);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), 0);
}
END_TEST

static Suite *hwpt_suite(void)
{
	Suite *s = suite_create("hwpt");
	TCase *tc = fx_tcase("hwpt");
	TCase *old = fx_tcase("6.14");
	TCase *v66 = fx_tcase("6.6");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hwpt_new_and_getters);
	tcase_add_test(tc, hwpt_new_flags);
	tcase_add_test(tc, hwpt_new_emulated);
	tcase_add_test(tc, hwpt_destroy_while_attached);
	tcase_add_test(tc, hw_info);
	tcase_add_test(tc, attach_reuses_and_falls_back);
	tcase_add_test(tc, attach_dirty_tracking);
	tcase_add_test(tc, attach_callers_hwpt);
	tcase_add_test(tc, attach_hwpt_of_another_iommu);
	tcase_add_test(tc, attach_emulated_directly);
	tcase_add_test(tc, attach_replaces);
	tcase_add_test(tc, iova_ranges_follow_attachments);
	tcase_add_test(tc, attach_refused_by_mappings);
	tcase_add_test(tc, attach_to_destroyed_ioas);
	tcase_add_test(tc, pasid_attach_detach);
	tcase_add_test(tc, attach_survives_every_failure);
	tcase_add_test(tc, attach_from_many_threads);
	tcase_add_test(tc, ctx_free_with_hwpts_alive);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(old, setup_6_14, teardown);
	tcase_add_test(old, pasid_before_6_15);
	suite_add_tcase(s, old);

	tcase_add_checked_fixture(v66, setup_6_6, teardown);
	tcase_add_test(v66, attach_on_6_6);
	suite_add_tcase(s, v66);
	return s;
}

int main(void)
{
	return fx_run(hwpt_suite());
}
