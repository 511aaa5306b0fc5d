/* SPDX-License-Identifier: MIT */
/*
 * Checks libiommufd's private uAPI headers (src/uapi/linux/iommufd.h and
 * vfio.h, Linux 6.17 ABI):
 *  - struct sizes, field offsets, ioctl numbers and flag values against
 *    numbers written down here from the kernel's ABI (x86_64 / LP64);
 *  - the kernel's minimum accepted size of every iommufd command (the end
 *    of the last field of the command's original struct), which is not in
 *    the header but which callers of older kernels rely on;
 *  - every symbol the system headers also define (tests/uapi-system.c,
 *    built without our include directory) has the same value as ours.
 *
 * Must be compiled with src/uapi first on the include path.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ioctl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "uapi-syms.h"

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

#if !defined(IOMMU_HW_QUEUE_ALLOC) || !defined(VFIO_DEVICE_BIND_FLAG_TOKEN)
#error "test-uapi.c must be built with libiommufd's src/uapi first on the include path"
#endif

struct uapi_expect {
	const char *name;
	unsigned long long got;
	unsigned long long want;
};

#define E_SIZE(s, n) { "sizeof(struct " #s ")", sizeof(struct s), (n) },
#define E_OFF(s, f, n) { "offsetof(struct " #s ", " #f ")", offsetof(struct s, f), (n) },
#define E_END(s, f, n)                                                      \
	{ "offsetofend(struct " #s ", " #f ")",                             \
	  offsetof(struct s, f) + sizeof(((struct s *)0)->f), (n) },
#define E_WIDTH(s, f, n) { "sizeof(struct " #s "." #f ")", sizeof(((struct s *)0)->f), (n) },
#define E_SIGNED(s, f)                                                      \
	{ "signed(struct " #s "." #f ")",                                   \
	  (unsigned long long)((__typeof__(((struct s *)0)->f))-1 < 0), 1 },
#define E_VAL(m, n) { #m, (unsigned long long)(m), (unsigned long long)(n) },
#define E_IOMMUFD_IOCTL(m, nr) E_VAL(m, _IO(';', (nr)))
#define E_VFIO_IOCTL(m, n) E_VAL(m, _IO(';', 100 + (n)))

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Checks a whole table, reporting every mismatch before failing. */
static void check_table(const char *what, const struct uapi_expect *t,
			size_t n)
{
	unsigned int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].got == t[i].want)
			continue;
		fprintf(stderr, "%s: %s is %llu (0x%llx), expected %llu (0x%llx)\n",
			what, t[i].name, t[i].got, t[i].got, t[i].want, t[i].want);
		bad++;
	}
	ck_assert_msg(bad == 0, "%s: %u of %zu checks failed (see stderr)",
		      what, bad, n);
}

/* ----------------------------- iommufd ------------------------------ */

/* Sizes listed in UAPI-FACTS.md, plus every other struct of the header. */
static const struct uapi_expect iommufd_sizes[] = {
	E_SIZE(iommu_destroy, 8)
	E_SIZE(iommu_ioas_alloc, 12)
	E_SIZE(iommu_iova_range, 16)
	E_SIZE(iommu_ioas_iova_ranges, 32)
	E_SIZE(iommu_ioas_allow_iovas, 24)
	E_SIZE(iommu_ioas_map, 40)
	E_SIZE(iommu_ioas_copy, 40)
	E_SIZE(iommu_ioas_unmap, 24)
	E_SIZE(iommu_option, 24)
	E_SIZE(iommu_vfio_ioas, 12)
	E_SIZE(iommu_hwpt_alloc, 48)
	E_SIZE(iommu_hw_info, 40)
	E_SIZE(iommu_hwpt_set_dirty_tracking, 16)
	E_SIZE(iommu_hwpt_get_dirty_bitmap, 48)
	E_SIZE(iommu_ioas_map_file, 40)
	E_SIZE(iommu_ioas_change_process, 8)
	/* not in the fact sheet; from the kernel layout */
	E_SIZE(iommu_hwpt_vtd_s1, 24)
	E_SIZE(iommu_hwpt_arm_smmuv3, 16)
	E_SIZE(iommu_hw_info_vtd, 24)
	E_SIZE(iommu_hw_info_arm_smmuv3, 40)
	E_SIZE(iommu_hw_info_tegra241_cmdqv, 8)
	E_SIZE(iommu_hwpt_vtd_s1_invalidate, 24)
	E_SIZE(iommu_viommu_arm_smmuv3_invalidate, 16)
	E_SIZE(iommu_hwpt_invalidate, 32)
	E_SIZE(iommu_hwpt_pgfault, 40)
	E_SIZE(iommu_hwpt_page_response, 8)
	E_SIZE(iommu_fault_alloc, 16)
	E_SIZE(iommu_viommu_tegra241_cmdqv, 16)
	E_SIZE(iommu_viommu_alloc, 40)
	E_SIZE(iommu_vdevice_alloc, 24)
	E_SIZE(iommufd_vevent_header, 8)
	E_SIZE(iommu_vevent_arm_smmuv3, 32)
	E_SIZE(iommu_vevent_tegra241_cmdqv, 16)
	E_SIZE(iommu_veventq_alloc, 32)
	E_SIZE(iommu_hw_queue_alloc, 40)
};

/* Every field of every iommufd struct. */
static const struct uapi_expect iommufd_offsets[] = {
	E_OFF(iommu_destroy, size, 0)
	E_OFF(iommu_destroy, id, 4)

	E_OFF(iommu_ioas_alloc, size, 0)
	E_OFF(iommu_ioas_alloc, flags, 4)
	E_OFF(iommu_ioas_alloc, out_ioas_id, 8)

	E_OFF(iommu_iova_range, start, 0)
	E_OFF(iommu_iova_range, last, 8)

	E_OFF(iommu_ioas_iova_ranges, size, 0)
	E_OFF(iommu_ioas_iova_ranges, ioas_id, 4)
	E_OFF(iommu_ioas_iova_ranges, num_iovas, 8)
	E_OFF(iommu_ioas_iova_ranges, __reserved, 12)
	E_OFF(iommu_ioas_iova_ranges, allowed_iovas, 16)
	E_OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24)

	E_OFF(iommu_ioas_allow_iovas, size, 0)
	E_OFF(iommu_ioas_allow_iovas, ioas_id, 4)
	E_OFF(iommu_ioas_allow_iovas, num_iovas, 8)
	E_OFF(iommu_ioas_allow_iovas, __reserved, 12)
	E_OFF(iommu_ioas_allow_iovas, allowed_iovas, 16)

	E_OFF(iommu_ioas_map, size, 0)
	E_OFF(iommu_ioas_map, flags, 4)
	E_OFF(iommu_ioas_map, ioas_id, 8)
	E_OFF(iommu_ioas_map, __reserved, 12)
	E_OFF(iommu_ioas_map, user_va, 16)
	E_OFF(iommu_ioas_map, length, 24)
	E_OFF(iommu_ioas_map, iova, 32)

	E_OFF(iommu_ioas_map_file, size, 0)
	E_OFF(iommu_ioas_map_file, flags, 4)
	E_OFF(iommu_ioas_map_file, ioas_id, 8)
	E_OFF(iommu_ioas_map_file, fd, 12)
	E_OFF(iommu_ioas_map_file, start, 16)
	E_OFF(iommu_ioas_map_file, length, 24)
	E_OFF(iommu_ioas_map_file, iova, 32)

	E_OFF(iommu_ioas_copy, size, 0)
	E_OFF(iommu_ioas_copy, flags, 4)
	E_OFF(iommu_ioas_copy, dst_ioas_id, 8)
	E_OFF(iommu_ioas_copy, src_ioas_id, 12)
	E_OFF(iommu_ioas_copy, length, 16)
	E_OFF(iommu_ioas_copy, dst_iova, 24)
	E_OFF(iommu_ioas_copy, src_iova, 32)

	E_OFF(iommu_ioas_unmap, size, 0)
	E_OFF(iommu_ioas_unmap, ioas_id, 4)
	E_OFF(iommu_ioas_unmap, iova, 8)
	E_OFF(iommu_ioas_unmap, length, 16)

	E_OFF(iommu_option, size, 0)
	E_OFF(iommu_option, option_id, 4)
	E_OFF(iommu_option, op, 8)
	E_OFF(iommu_option, __reserved, 10)
	E_OFF(iommu_option, object_id, 12)
	E_OFF(iommu_option, val64, 16)

	E_OFF(iommu_vfio_ioas, size, 0)
	E_OFF(iommu_vfio_ioas, ioas_id, 4)
	E_OFF(iommu_vfio_ioas, op, 8)
	E_OFF(iommu_vfio_ioas, __reserved, 10)

	E_OFF(iommu_hwpt_vtd_s1, flags, 0)
	E_OFF(iommu_hwpt_vtd_s1, pgtbl_addr, 8)
	E_OFF(iommu_hwpt_vtd_s1, addr_width, 16)
	E_OFF(iommu_hwpt_vtd_s1, __reserved, 20)

	E_OFF(iommu_hwpt_arm_smmuv3, ste, 0)

	E_OFF(iommu_hwpt_alloc, size, 0)
	E_OFF(iommu_hwpt_alloc, flags, 4)
	E_OFF(iommu_hwpt_alloc, dev_id, 8)
	E_OFF(iommu_hwpt_alloc, pt_id, 12)
	E_OFF(iommu_hwpt_alloc, out_hwpt_id, 16)
	E_OFF(iommu_hwpt_alloc, __reserved, 20)
	E_OFF(iommu_hwpt_alloc, data_type, 24)
	E_OFF(iommu_hwpt_alloc, data_len, 28)
	E_OFF(iommu_hwpt_alloc, data_uptr, 32)
	E_OFF(iommu_hwpt_alloc, fault_id, 40)
	E_OFF(iommu_hwpt_alloc, __reserved2, 44)

	E_OFF(iommu_hw_info_vtd, flags, 0)
	E_OFF(iommu_hw_info_vtd, __reserved, 4)
	E_OFF(iommu_hw_info_vtd, cap_reg, 8)
	E_OFF(iommu_hw_info_vtd, ecap_reg, 16)

	E_OFF(iommu_hw_info_arm_smmuv3, flags, 0)
	E_OFF(iommu_hw_info_arm_smmuv3, __reserved, 4)
	E_OFF(iommu_hw_info_arm_smmuv3, idr, 8)
	E_OFF(iommu_hw_info_arm_smmuv3, iidr, 32)
	E_OFF(iommu_hw_info_arm_smmuv3, aidr, 36)

	E_OFF(iommu_hw_info_tegra241_cmdqv, flags, 0)
	E_OFF(iommu_hw_info_tegra241_cmdqv, version, 4)
	E_OFF(iommu_hw_info_tegra241_cmdqv, log2vcmdqs, 5)
	E_OFF(iommu_hw_info_tegra241_cmdqv, log2vsids, 6)
	E_OFF(iommu_hw_info_tegra241_cmdqv, __reserved, 7)

	E_OFF(iommu_hw_info, size, 0)
	E_OFF(iommu_hw_info, flags, 4)
	E_OFF(iommu_hw_info, dev_id, 8)
	E_OFF(iommu_hw_info, data_len, 12)
	E_OFF(iommu_hw_info, data_uptr, 16)
	E_OFF(iommu_hw_info, in_data_type, 24)
	E_OFF(iommu_hw_info, out_data_type, 24)
	E_OFF(iommu_hw_info, out_max_pasid_log2, 28)
	E_OFF(iommu_hw_info, __reserved, 29)
	E_OFF(iommu_hw_info, out_capabilities, 32)

	E_OFF(iommu_hwpt_set_dirty_tracking, size, 0)
	E_OFF(iommu_hwpt_set_dirty_tracking, flags, 4)
	E_OFF(iommu_hwpt_set_dirty_tracking, hwpt_id, 8)
	E_OFF(iommu_hwpt_set_dirty_tracking, __reserved, 12)

	E_OFF(iommu_hwpt_get_dirty_bitmap, size, 0)
	E_OFF(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4)
	E_OFF(iommu_hwpt_get_dirty_bitmap, flags, 8)
	E_OFF(iommu_hwpt_get_dirty_bitmap, __reserved, 12)
	E_OFF(iommu_hwpt_get_dirty_bitmap, iova, 16)
	E_OFF(iommu_hwpt_get_dirty_bitmap, length, 24)
	E_OFF(iommu_hwpt_get_dirty_bitmap, page_size, 32)
	E_OFF(iommu_hwpt_get_dirty_bitmap, data, 40)

	E_OFF(iommu_hwpt_vtd_s1_invalidate, addr, 0)
	E_OFF(iommu_hwpt_vtd_s1_invalidate, npages, 8)
	E_OFF(iommu_hwpt_vtd_s1_invalidate, flags, 16)
	E_OFF(iommu_hwpt_vtd_s1_invalidate, __reserved, 20)

	E_OFF(iommu_viommu_arm_smmuv3_invalidate, cmd, 0)

	E_OFF(iommu_hwpt_invalidate, size, 0)
	E_OFF(iommu_hwpt_invalidate, hwpt_id, 4)
	E_OFF(iommu_hwpt_invalidate, data_uptr, 8)
	E_OFF(iommu_hwpt_invalidate, data_type, 16)
	E_OFF(iommu_hwpt_invalidate, entry_len, 20)
	E_OFF(iommu_hwpt_invalidate, entry_num, 24)
	E_OFF(iommu_hwpt_invalidate, __reserved, 28)

	E_OFF(iommu_hwpt_pgfault, flags, 0)
	E_OFF(iommu_hwpt_pgfault, dev_id, 4)
	E_OFF(iommu_hwpt_pgfault, pasid, 8)
	E_OFF(iommu_hwpt_pgfault, grpid, 12)
	E_OFF(iommu_hwpt_pgfault, perm, 16)
	E_OFF(iommu_hwpt_pgfault, __reserved, 20)
	E_OFF(iommu_hwpt_pgfault, addr, 24)
	E_OFF(iommu_hwpt_pgfault, length, 32)
	E_OFF(iommu_hwpt_pgfault, cookie, 36)

	E_OFF(iommu_hwpt_page_response, cookie, 0)
	E_OFF(iommu_hwpt_page_response, code, 4)

	E_OFF(iommu_fault_alloc, size, 0)
	E_OFF(iommu_fault_alloc, flags, 4)
	E_OFF(iommu_fault_alloc, out_fault_id, 8)
	E_OFF(iommu_fault_alloc, out_fault_fd, 12)

	E_OFF(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset, 0)
	E_OFF(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length, 8)

	E_OFF(iommu_viommu_alloc, size, 0)
	E_OFF(iommu_viommu_alloc, flags, 4)
	E_OFF(iommu_viommu_alloc, type, 8)
	E_OFF(iommu_viommu_alloc, dev_id, 12)
	E_OFF(iommu_viommu_alloc, hwpt_id, 16)
	E_OFF(iommu_viommu_alloc, out_viommu_id, 20)
	E_OFF(iommu_viommu_alloc, data_len, 24)
	E_OFF(iommu_viommu_alloc, __reserved, 28)
	E_OFF(iommu_viommu_alloc, data_uptr, 32)

	E_OFF(iommu_vdevice_alloc, size, 0)
	E_OFF(iommu_vdevice_alloc, viommu_id, 4)
	E_OFF(iommu_vdevice_alloc, dev_id, 8)
	E_OFF(iommu_vdevice_alloc, out_vdevice_id, 12)
	E_OFF(iommu_vdevice_alloc, virt_id, 16)

	E_OFF(iommu_ioas_change_process, size, 0)
	E_OFF(iommu_ioas_change_process, __reserved, 4)

	E_OFF(iommufd_vevent_header, flags, 0)
	E_OFF(iommufd_vevent_header, sequence, 4)

	E_OFF(iommu_vevent_arm_smmuv3, evt, 0)

	E_OFF(iommu_vevent_tegra241_cmdqv, lvcmdq_err_map, 0)

	E_OFF(iommu_veventq_alloc, size, 0)
	E_OFF(iommu_veventq_alloc, flags, 4)
	E_OFF(iommu_veventq_alloc, viommu_id, 8)
	E_OFF(iommu_veventq_alloc, type, 12)
	E_OFF(iommu_veventq_alloc, veventq_depth, 16)
	E_OFF(iommu_veventq_alloc, out_veventq_id, 20)
	E_OFF(iommu_veventq_alloc, out_veventq_fd, 24)
	E_OFF(iommu_veventq_alloc, __reserved, 28)

	E_OFF(iommu_hw_queue_alloc, size, 0)
	E_OFF(iommu_hw_queue_alloc, flags, 4)
	E_OFF(iommu_hw_queue_alloc, viommu_id, 8)
	E_OFF(iommu_hw_queue_alloc, type, 12)
	E_OFF(iommu_hw_queue_alloc, index, 16)
	E_OFF(iommu_hw_queue_alloc, out_hw_queue_id, 20)
	E_OFF(iommu_hw_queue_alloc, nesting_parent_iova, 24)
	E_OFF(iommu_hw_queue_alloc, length, 32)
};

/* Field widths and signedness that offsets alone do not pin down. */
static const struct uapi_expect iommufd_fields[] = {
	E_WIDTH(iommu_option, op, 2)
	E_WIDTH(iommu_option, __reserved, 2)
	E_WIDTH(iommu_vfio_ioas, op, 2)
	E_WIDTH(iommu_vfio_ioas, __reserved, 2)
	E_WIDTH(iommu_hw_info, out_data_type, 4)
	E_WIDTH(iommu_hw_info, out_max_pasid_log2, 1)
	E_WIDTH(iommu_hw_info, __reserved, 3)
	E_WIDTH(iommu_hw_info_arm_smmuv3, idr, 24)
	E_WIDTH(iommu_hwpt_arm_smmuv3, ste, 16)
	E_WIDTH(iommu_vevent_arm_smmuv3, evt, 32)
	E_SIGNED(iommu_ioas_map_file, fd)
};

/*
 * The kernel's minimum accepted size per command (drivers/iommu/iommufd/
 * main.c, IOCTL_OP(..., last field)): the end of the last field of the
 * struct the command was introduced with. A caller that must run on an
 * older kernel can pass this as size.
 */
static const struct uapi_expect iommufd_min_sizes[] = {
	E_END(iommu_destroy, id, 8)
	E_END(iommu_ioas_alloc, out_ioas_id, 12)
	E_END(iommu_ioas_allow_iovas, allowed_iovas, 24)
	E_END(iommu_ioas_copy, src_iova, 40)
	E_END(iommu_ioas_iova_ranges, out_iova_alignment, 32)
	E_END(iommu_ioas_map, iova, 40)
	E_END(iommu_ioas_map_file, iova, 40)
	E_END(iommu_ioas_unmap, length, 24)
	E_END(iommu_option, val64, 24)
	E_END(iommu_vfio_ioas, __reserved, 12)
	E_END(iommu_hwpt_alloc, __reserved, 24)	/* 6.6 struct */
	E_END(iommu_hw_info, __reserved, 32)
	E_END(iommu_hwpt_set_dirty_tracking, __reserved, 16)
	E_END(iommu_hwpt_get_dirty_bitmap, data, 48)
	E_END(iommu_hwpt_invalidate, __reserved, 32)
	E_END(iommu_fault_alloc, out_fault_fd, 16)
	E_END(iommu_viommu_alloc, out_viommu_id, 24)	/* 6.13 struct */
	E_END(iommu_vdevice_alloc, virt_id, 24)
	E_END(iommu_ioas_change_process, __reserved, 8)
	E_END(iommu_veventq_alloc, out_veventq_fd, 28)
	E_END(iommu_hw_queue_alloc, length, 40)
	/* intermediate layouts the kernel also accepts */
	E_END(iommu_hwpt_alloc, data_uptr, 40)	/* 6.7 .. 6.10 */
};

static const struct uapi_expect iommufd_ioctls[] = {
	E_VAL(IOMMUFD_TYPE, ';')
	E_VAL(IOMMUFD_CMD_BASE, 0x80)
	E_VAL(IOMMUFD_CMD_DESTROY, 0x80)
	E_VAL(IOMMUFD_CMD_IOAS_ALLOC, 0x81)
	E_VAL(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, 0x82)
	E_VAL(IOMMUFD_CMD_IOAS_COPY, 0x83)
	E_VAL(IOMMUFD_CMD_IOAS_IOVA_RANGES, 0x84)
	E_VAL(IOMMUFD_CMD_IOAS_MAP, 0x85)
	E_VAL(IOMMUFD_CMD_IOAS_UNMAP, 0x86)
	E_VAL(IOMMUFD_CMD_OPTION, 0x87)
	E_VAL(IOMMUFD_CMD_VFIO_IOAS, 0x88)
	E_VAL(IOMMUFD_CMD_HWPT_ALLOC, 0x89)
	E_VAL(IOMMUFD_CMD_GET_HW_INFO, 0x8a)
	E_VAL(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, 0x8b)
	E_VAL(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, 0x8c)
	E_VAL(IOMMUFD_CMD_HWPT_INVALIDATE, 0x8d)
	E_VAL(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, 0x8e)
	E_VAL(IOMMUFD_CMD_IOAS_MAP_FILE, 0x8f)
	E_VAL(IOMMUFD_CMD_VIOMMU_ALLOC, 0x90)
	E_VAL(IOMMUFD_CMD_VDEVICE_ALLOC, 0x91)
	E_VAL(IOMMUFD_CMD_IOAS_CHANGE_PROCESS, 0x92)
	E_VAL(IOMMUFD_CMD_VEVENTQ_ALLOC, 0x93)
	E_VAL(IOMMUFD_CMD_HW_QUEUE_ALLOC, 0x94)

	E_IOMMUFD_IOCTL(IOMMU_DESTROY, 0x80)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_ALLOC, 0x81)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_ALLOW_IOVAS, 0x82)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_COPY, 0x83)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_IOVA_RANGES, 0x84)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_MAP, 0x85)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_UNMAP, 0x86)
	E_IOMMUFD_IOCTL(IOMMU_OPTION, 0x87)
	E_IOMMUFD_IOCTL(IOMMU_VFIO_IOAS, 0x88)
	E_IOMMUFD_IOCTL(IOMMU_HWPT_ALLOC, 0x89)
	E_IOMMUFD_IOCTL(IOMMU_GET_HW_INFO, 0x8a)
	E_IOMMUFD_IOCTL(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x8b)
	E_IOMMUFD_IOCTL(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x8c)
	E_IOMMUFD_IOCTL(IOMMU_HWPT_INVALIDATE, 0x8d)
	E_IOMMUFD_IOCTL(IOMMU_FAULT_QUEUE_ALLOC, 0x8e)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_MAP_FILE, 0x8f)
	E_IOMMUFD_IOCTL(IOMMU_VIOMMU_ALLOC, 0x90)
	E_IOMMUFD_IOCTL(IOMMU_VDEVICE_ALLOC, 0x91)
	E_IOMMUFD_IOCTL(IOMMU_IOAS_CHANGE_PROCESS, 0x92)
	E_IOMMUFD_IOCTL(IOMMU_VEVENTQ_ALLOC, 0x93)
	E_IOMMUFD_IOCTL(IOMMU_HW_QUEUE_ALLOC, 0x94)
	/* _IO means no direction and no size bits: type ';' << 8 | nr */
	E_VAL(IOMMU_IOAS_MAP, 0x3b85)
};

static const struct uapi_expect iommufd_flags[] = {
	E_VAL(IOMMU_IOAS_MAP_FIXED_IOVA, 1)
	E_VAL(IOMMU_IOAS_MAP_WRITEABLE, 2)
	E_VAL(IOMMU_IOAS_MAP_READABLE, 4)
	E_VAL(IOMMU_OPTION_RLIMIT_MODE, 0)
	E_VAL(IOMMU_OPTION_HUGE_PAGES, 1)
	E_VAL(IOMMU_OPTION_OP_SET, 0)
	E_VAL(IOMMU_OPTION_OP_GET, 1)
	E_VAL(IOMMU_VFIO_IOAS_GET, 0)
	E_VAL(IOMMU_VFIO_IOAS_SET, 1)
	E_VAL(IOMMU_VFIO_IOAS_CLEAR, 2)
	E_VAL(IOMMU_HWPT_ALLOC_NEST_PARENT, 1)
	E_VAL(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 2)
	E_VAL(IOMMU_HWPT_FAULT_ID_VALID, 4)
	E_VAL(IOMMU_HWPT_ALLOC_PASID, 8)
	E_VAL(IOMMU_VTD_S1_SRE, 1)
	E_VAL(IOMMU_VTD_S1_EAFE, 2)
	E_VAL(IOMMU_VTD_S1_WPE, 4)
	E_VAL(IOMMU_HWPT_DATA_NONE, 0)
	E_VAL(IOMMU_HWPT_DATA_VTD_S1, 1)
	E_VAL(IOMMU_HWPT_DATA_ARM_SMMUV3, 2)
	E_VAL(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 1)
	E_VAL(IOMMU_HW_INFO_TYPE_NONE, 0)
	E_VAL(IOMMU_HW_INFO_TYPE_DEFAULT, 0)
	E_VAL(IOMMU_HW_INFO_TYPE_INTEL_VTD, 1)
	E_VAL(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 2)
	E_VAL(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 3)
	E_VAL(IOMMU_HW_CAP_DIRTY_TRACKING, 1)
	E_VAL(IOMMU_HW_CAP_PCI_PASID_EXEC, 2)
	E_VAL(IOMMU_HW_CAP_PCI_PASID_PRIV, 4)
	E_VAL(IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1)
	E_VAL(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 1)
	E_VAL(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1)
	E_VAL(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0)
	E_VAL(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1)
	E_VAL(IOMMU_VTD_INV_FLAGS_LEAF, 1)
	E_VAL(IOMMU_PGFAULT_FLAGS_PASID_VALID, 1)
	E_VAL(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 2)
	E_VAL(IOMMU_PGFAULT_PERM_READ, 1)
	E_VAL(IOMMU_PGFAULT_PERM_WRITE, 2)
	E_VAL(IOMMU_PGFAULT_PERM_EXEC, 4)
	E_VAL(IOMMU_PGFAULT_PERM_PRIV, 8)
	E_VAL(IOMMUFD_PAGE_RESP_SUCCESS, 0)
	E_VAL(IOMMUFD_PAGE_RESP_INVALID, 1)
	E_VAL(IOMMU_VIOMMU_TYPE_DEFAULT, 0)
	E_VAL(IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1)
	E_VAL(IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, 2)
	E_VAL(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 1)
	E_VAL(IOMMU_VEVENTQ_TYPE_DEFAULT, 0)
	E_VAL(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1)
	E_VAL(IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 2)
	E_VAL(IOMMU_HW_QUEUE_TYPE_DEFAULT, 0)
	E_VAL(IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 1)
};

/* ------------------------------- VFIO ------------------------------- */

static const struct uapi_expect vfio_sizes[] = {
	E_SIZE(vfio_info_cap_header, 8)
	E_SIZE(vfio_group_status, 8)
	E_SIZE(vfio_device_info, 24)
	E_SIZE(vfio_device_info_cap_pci_atomic_comp, 16)
	E_SIZE(vfio_region_info, 32)
	E_SIZE(vfio_region_sparse_mmap_area, 16)
	E_SIZE(vfio_region_info_cap_sparse_mmap, 16)
	E_SIZE(vfio_region_info_cap_type, 16)
	E_SIZE(vfio_region_gfx_edid, 24)
	E_SIZE(vfio_irq_info, 16)
	E_SIZE(vfio_irq_set, 20)
	E_SIZE(vfio_pci_dependent_device, 8)
	E_SIZE(vfio_pci_hot_reset_info, 12)
	E_SIZE(vfio_pci_hot_reset, 12)
	E_SIZE(vfio_device_gfx_plane_info, 64)
	E_SIZE(vfio_device_ioeventfd, 32)
	E_SIZE(vfio_device_feature, 8)
	E_SIZE(vfio_device_bind_iommufd, 24)
	E_SIZE(vfio_device_attach_iommufd_pt, 16)
	E_SIZE(vfio_device_detach_iommufd_pt, 12)
	E_SIZE(vfio_device_feature_migration, 8)
	E_SIZE(vfio_device_feature_mig_state, 8)
	E_SIZE(vfio_precopy_info, 24)
	E_SIZE(vfio_device_low_power_entry_with_wakeup, 8)
	E_SIZE(vfio_device_feature_dma_logging_control, 24)
	E_SIZE(vfio_device_feature_dma_logging_range, 16)
	E_SIZE(vfio_device_feature_dma_logging_report, 32)
	E_SIZE(vfio_device_feature_mig_data_size, 8)
	E_SIZE(vfio_device_feature_bus_master, 4)
	E_SIZE(vfio_iommu_type1_info, 24)
	E_SIZE(vfio_iommu_type1_info_cap_iova_range, 16)
	E_SIZE(vfio_iommu_type1_info_dma_avail, 12)
	E_SIZE(vfio_iommu_type1_dma_map, 32)
	E_SIZE(vfio_iommu_type1_dma_unmap, 24)
	E_SIZE(vfio_iommu_type1_dirty_bitmap, 8)
#if defined(__LP64__)	/* plain __u64 members / a pointer: ABI differs on 32-bit */
	E_SIZE(vfio_iova_range, 16)
	E_SIZE(vfio_iommu_type1_info_cap_migration, 32)
	E_SIZE(vfio_bitmap, 24)
	E_SIZE(vfio_iommu_type1_dirty_bitmap_get, 40)
#endif
};

static const struct uapi_expect vfio_offsets[] = {
	E_OFF(vfio_info_cap_header, id, 0)
	E_OFF(vfio_info_cap_header, version, 2)
	E_OFF(vfio_info_cap_header, next, 4)

	E_OFF(vfio_group_status, argsz, 0)
	E_OFF(vfio_group_status, flags, 4)

	E_OFF(vfio_device_info, argsz, 0)
	E_OFF(vfio_device_info, flags, 4)
	E_OFF(vfio_device_info, num_regions, 8)
	E_OFF(vfio_device_info, num_irqs, 12)
	E_OFF(vfio_device_info, cap_offset, 16)
	E_OFF(vfio_device_info, pad, 20)

	E_OFF(vfio_device_info_cap_pci_atomic_comp, header, 0)
	E_OFF(vfio_device_info_cap_pci_atomic_comp, flags, 8)
	E_OFF(vfio_device_info_cap_pci_atomic_comp, reserved, 12)

	E_OFF(vfio_region_info, argsz, 0)
	E_OFF(vfio_region_info, flags, 4)
	E_OFF(vfio_region_info, index, 8)
	E_OFF(vfio_region_info, cap_offset, 12)
	E_OFF(vfio_region_info, size, 16)
	E_OFF(vfio_region_info, offset, 24)

	E_OFF(vfio_region_sparse_mmap_area, offset, 0)
	E_OFF(vfio_region_sparse_mmap_area, size, 8)

	E_OFF(vfio_region_info_cap_sparse_mmap, header, 0)
	E_OFF(vfio_region_info_cap_sparse_mmap, nr_areas, 8)
	E_OFF(vfio_region_info_cap_sparse_mmap, reserved, 12)
	E_OFF(vfio_region_info_cap_sparse_mmap, areas, 16)

	E_OFF(vfio_region_info_cap_type, header, 0)
	E_OFF(vfio_region_info_cap_type, type, 8)
	E_OFF(vfio_region_info_cap_type, subtype, 12)

	E_OFF(vfio_irq_info, argsz, 0)
	E_OFF(vfio_irq_info, flags, 4)
	E_OFF(vfio_irq_info, index, 8)
	E_OFF(vfio_irq_info, count, 12)

	E_OFF(vfio_irq_set, argsz, 0)
	E_OFF(vfio_irq_set, flags, 4)
	E_OFF(vfio_irq_set, index, 8)
	E_OFF(vfio_irq_set, start, 12)
	E_OFF(vfio_irq_set, count, 16)
	E_OFF(vfio_irq_set, data, 20)

	E_OFF(vfio_pci_dependent_device, group_id, 0)
	E_OFF(vfio_pci_dependent_device, devid, 0)
	E_OFF(vfio_pci_dependent_device, segment, 4)
	E_OFF(vfio_pci_dependent_device, bus, 6)
	E_OFF(vfio_pci_dependent_device, devfn, 7)

	E_OFF(vfio_pci_hot_reset_info, argsz, 0)
	E_OFF(vfio_pci_hot_reset_info, flags, 4)
	E_OFF(vfio_pci_hot_reset_info, count, 8)
	E_OFF(vfio_pci_hot_reset_info, devices, 12)

	E_OFF(vfio_pci_hot_reset, argsz, 0)
	E_OFF(vfio_pci_hot_reset, flags, 4)
	E_OFF(vfio_pci_hot_reset, count, 8)
	E_OFF(vfio_pci_hot_reset, group_fds, 12)

	E_OFF(vfio_device_ioeventfd, argsz, 0)
	E_OFF(vfio_device_ioeventfd, flags, 4)
	E_OFF(vfio_device_ioeventfd, offset, 8)
	E_OFF(vfio_device_ioeventfd, data, 16)
	E_OFF(vfio_device_ioeventfd, fd, 24)
	E_OFF(vfio_device_ioeventfd, reserved, 28)

	E_OFF(vfio_device_feature, argsz, 0)
	E_OFF(vfio_device_feature, flags, 4)
	E_OFF(vfio_device_feature, data, 8)

	E_OFF(vfio_device_bind_iommufd, argsz, 0)
	E_OFF(vfio_device_bind_iommufd, flags, 4)
	E_OFF(vfio_device_bind_iommufd, iommufd, 8)
	E_OFF(vfio_device_bind_iommufd, out_devid, 12)
	E_OFF(vfio_device_bind_iommufd, token_uuid_ptr, 16)

	E_OFF(vfio_device_attach_iommufd_pt, argsz, 0)
	E_OFF(vfio_device_attach_iommufd_pt, flags, 4)
	E_OFF(vfio_device_attach_iommufd_pt, pt_id, 8)
	E_OFF(vfio_device_attach_iommufd_pt, pasid, 12)

	E_OFF(vfio_device_detach_iommufd_pt, argsz, 0)
	E_OFF(vfio_device_detach_iommufd_pt, flags, 4)
	E_OFF(vfio_device_detach_iommufd_pt, pasid, 8)

	E_OFF(vfio_device_feature_migration, flags, 0)
	E_OFF(vfio_device_feature_mig_state, device_state, 0)
	E_OFF(vfio_device_feature_mig_state, data_fd, 4)

	E_OFF(vfio_precopy_info, argsz, 0)
	E_OFF(vfio_precopy_info, flags, 4)
	E_OFF(vfio_precopy_info, initial_bytes, 8)
	E_OFF(vfio_precopy_info, dirty_bytes, 16)

	E_OFF(vfio_device_low_power_entry_with_wakeup, wakeup_eventfd, 0)
	E_OFF(vfio_device_low_power_entry_with_wakeup, reserved, 4)

	E_OFF(vfio_device_feature_dma_logging_control, page_size, 0)
	E_OFF(vfio_device_feature_dma_logging_control, num_ranges, 8)
	E_OFF(vfio_device_feature_dma_logging_control, __reserved, 12)
	E_OFF(vfio_device_feature_dma_logging_control, ranges, 16)

	E_OFF(vfio_device_feature_dma_logging_range, iova, 0)
	E_OFF(vfio_device_feature_dma_logging_range, length, 8)

	E_OFF(vfio_device_feature_dma_logging_report, iova, 0)
	E_OFF(vfio_device_feature_dma_logging_report, length, 8)
	E_OFF(vfio_device_feature_dma_logging_report, page_size, 16)
	E_OFF(vfio_device_feature_dma_logging_report, bitmap, 24)

	E_OFF(vfio_device_feature_mig_data_size, stop_copy_length, 0)
	E_OFF(vfio_device_feature_bus_master, op, 0)

	E_OFF(vfio_iommu_type1_info, argsz, 0)
	E_OFF(vfio_iommu_type1_info, flags, 4)
	E_OFF(vfio_iommu_type1_info, iova_pgsizes, 8)
	E_OFF(vfio_iommu_type1_info, cap_offset, 16)
	E_OFF(vfio_iommu_type1_info, pad, 20)

	E_OFF(vfio_iommu_type1_info_cap_iova_range, header, 0)
	E_OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8)
	E_OFF(vfio_iommu_type1_info_cap_iova_range, reserved, 12)
	E_OFF(vfio_iommu_type1_info_cap_iova_range, iova_ranges, 16)

	E_OFF(vfio_iommu_type1_info_dma_avail, header, 0)
	E_OFF(vfio_iommu_type1_info_dma_avail, avail, 8)

	E_OFF(vfio_iommu_type1_dma_map, argsz, 0)
	E_OFF(vfio_iommu_type1_dma_map, flags, 4)
	E_OFF(vfio_iommu_type1_dma_map, vaddr, 8)
	E_OFF(vfio_iommu_type1_dma_map, iova, 16)
	E_OFF(vfio_iommu_type1_dma_map, size, 24)

	E_OFF(vfio_iommu_type1_dma_unmap, argsz, 0)
	E_OFF(vfio_iommu_type1_dma_unmap, flags, 4)
	E_OFF(vfio_iommu_type1_dma_unmap, iova, 8)
	E_OFF(vfio_iommu_type1_dma_unmap, size, 16)
	E_OFF(vfio_iommu_type1_dma_unmap, data, 24)

	E_OFF(vfio_iommu_type1_dirty_bitmap, argsz, 0)
	E_OFF(vfio_iommu_type1_dirty_bitmap, flags, 4)
	E_OFF(vfio_iommu_type1_dirty_bitmap, data, 8)

#if defined(__LP64__)
	E_OFF(vfio_iova_range, start, 0)
	E_OFF(vfio_iova_range, end, 8)

	E_OFF(vfio_iommu_type1_info_cap_migration, header, 0)
	E_OFF(vfio_iommu_type1_info_cap_migration, flags, 8)
	E_OFF(vfio_iommu_type1_info_cap_migration, pgsize_bitmap, 16)
	E_OFF(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size, 24)

	E_OFF(vfio_bitmap, pgsize, 0)
	E_OFF(vfio_bitmap, size, 8)
	E_OFF(vfio_bitmap, data, 16)

	E_OFF(vfio_iommu_type1_dirty_bitmap_get, iova, 0)
	E_OFF(vfio_iommu_type1_dirty_bitmap_get, size, 8)
	E_OFF(vfio_iommu_type1_dirty_bitmap_get, bitmap, 16)
#endif
};

static const struct uapi_expect vfio_fields[] = {
	E_WIDTH(vfio_info_cap_header, id, 2)
	E_WIDTH(vfio_info_cap_header, version, 2)
	E_WIDTH(vfio_pci_dependent_device, segment, 2)
	E_WIDTH(vfio_pci_dependent_device, bus, 1)
	E_WIDTH(vfio_pci_dependent_device, devfn, 1)
	E_SIGNED(vfio_device_bind_iommufd, iommufd)
	E_SIGNED(vfio_device_feature_mig_state, data_fd)
	E_SIGNED(vfio_device_ioeventfd, fd)
	E_SIGNED(vfio_device_low_power_entry_with_wakeup, wakeup_eventfd)
};

/* Minimum argsz the kernel accepts: the struct before later additions. */
static const struct uapi_expect vfio_min_sizes[] = {
	E_END(vfio_device_info, num_irqs, 16)	/* 20-byte struct before "pad" */
	E_END(vfio_iommu_type1_info, iova_pgsizes, 16)
	E_END(vfio_device_bind_iommufd, out_devid, 16)	/* before 6.17 */
	E_END(vfio_device_attach_iommufd_pt, pt_id, 12)	/* before 6.15 */
	E_END(vfio_device_detach_iommufd_pt, flags, 8)	/* before 6.15 */
};

static const struct uapi_expect vfio_ioctls[] = {
	E_VAL(VFIO_TYPE, ';')
	E_VAL(VFIO_BASE, 100)
	E_VFIO_IOCTL(VFIO_GET_API_VERSION, 0)
	E_VFIO_IOCTL(VFIO_CHECK_EXTENSION, 1)
	E_VFIO_IOCTL(VFIO_SET_IOMMU, 2)
	E_VFIO_IOCTL(VFIO_GROUP_GET_STATUS, 3)
	E_VFIO_IOCTL(VFIO_GROUP_SET_CONTAINER, 4)
	E_VFIO_IOCTL(VFIO_GROUP_UNSET_CONTAINER, 5)
	E_VFIO_IOCTL(VFIO_GROUP_GET_DEVICE_FD, 6)
	E_VFIO_IOCTL(VFIO_DEVICE_GET_INFO, 7)
	E_VFIO_IOCTL(VFIO_DEVICE_GET_REGION_INFO, 8)
	E_VFIO_IOCTL(VFIO_DEVICE_GET_IRQ_INFO, 9)
	E_VFIO_IOCTL(VFIO_DEVICE_SET_IRQS, 10)
	E_VFIO_IOCTL(VFIO_DEVICE_RESET, 11)
	E_VFIO_IOCTL(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 12)
	E_VFIO_IOCTL(VFIO_DEVICE_PCI_HOT_RESET, 13)
	E_VFIO_IOCTL(VFIO_DEVICE_QUERY_GFX_PLANE, 14)
	E_VFIO_IOCTL(VFIO_DEVICE_GET_GFX_DMABUF, 15)
	E_VFIO_IOCTL(VFIO_DEVICE_IOEVENTFD, 16)
	E_VFIO_IOCTL(VFIO_DEVICE_FEATURE, 17)
	E_VFIO_IOCTL(VFIO_DEVICE_BIND_IOMMUFD, 18)
	E_VFIO_IOCTL(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 19)
	E_VFIO_IOCTL(VFIO_DEVICE_DETACH_IOMMUFD_PT, 20)
	E_VFIO_IOCTL(VFIO_MIG_GET_PRECOPY_INFO, 21)
	E_VFIO_IOCTL(VFIO_IOMMU_GET_INFO, 12)
	E_VFIO_IOCTL(VFIO_IOMMU_MAP_DMA, 13)
	E_VFIO_IOCTL(VFIO_IOMMU_UNMAP_DMA, 14)
	E_VFIO_IOCTL(VFIO_IOMMU_ENABLE, 15)
	E_VFIO_IOCTL(VFIO_IOMMU_DISABLE, 16)
	E_VFIO_IOCTL(VFIO_IOMMU_DIRTY_PAGES, 17)
	E_VAL(VFIO_DEVICE_BIND_IOMMUFD, 0x3b76)
};

static const struct uapi_expect vfio_flags[] = {
	E_VAL(VFIO_API_VERSION, 0)
	E_VAL(VFIO_TYPE1_IOMMU, 1)
	E_VAL(VFIO_SPAPR_TCE_IOMMU, 2)
	E_VAL(VFIO_TYPE1v2_IOMMU, 3)
	E_VAL(VFIO_DMA_CC_IOMMU, 4)
	E_VAL(VFIO_EEH, 5)
	E_VAL(__VFIO_RESERVED_TYPE1_NESTING_IOMMU, 6)
	E_VAL(VFIO_SPAPR_TCE_v2_IOMMU, 7)
	E_VAL(VFIO_NOIOMMU_IOMMU, 8)
	E_VAL(VFIO_UNMAP_ALL, 9)
	E_VAL(VFIO_UPDATE_VADDR, 10)

	E_VAL(VFIO_GROUP_FLAGS_VIABLE, 1)
	E_VAL(VFIO_GROUP_FLAGS_CONTAINER_SET, 2)

	E_VAL(VFIO_DEVICE_FLAGS_RESET, 1)
	E_VAL(VFIO_DEVICE_FLAGS_PCI, 2)
	E_VAL(VFIO_DEVICE_FLAGS_PLATFORM, 4)
	E_VAL(VFIO_DEVICE_FLAGS_AMBA, 8)
	E_VAL(VFIO_DEVICE_FLAGS_CCW, 0x10)
	E_VAL(VFIO_DEVICE_FLAGS_AP, 0x20)
	E_VAL(VFIO_DEVICE_FLAGS_FSL_MC, 0x40)
	E_VAL(VFIO_DEVICE_FLAGS_CAPS, 0x80)
	E_VAL(VFIO_DEVICE_FLAGS_CDX, 0x100)
	E_VAL(VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP, 5)
	E_VAL(VFIO_PCI_ATOMIC_COMP32, 1)
	E_VAL(VFIO_PCI_ATOMIC_COMP64, 2)
	E_VAL(VFIO_PCI_ATOMIC_COMP128, 4)

	E_VAL(VFIO_REGION_INFO_FLAG_READ, 1)
	E_VAL(VFIO_REGION_INFO_FLAG_WRITE, 2)
	E_VAL(VFIO_REGION_INFO_FLAG_MMAP, 4)
	E_VAL(VFIO_REGION_INFO_FLAG_CAPS, 8)
	E_VAL(VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1)
	E_VAL(VFIO_REGION_INFO_CAP_TYPE, 2)
	E_VAL(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 3)

	E_VAL(VFIO_PCI_BAR0_REGION_INDEX, 0)
	E_VAL(VFIO_PCI_BAR1_REGION_INDEX, 1)
	E_VAL(VFIO_PCI_BAR2_REGION_INDEX, 2)
	E_VAL(VFIO_PCI_BAR3_REGION_INDEX, 3)
	E_VAL(VFIO_PCI_BAR4_REGION_INDEX, 4)
	E_VAL(VFIO_PCI_BAR5_REGION_INDEX, 5)
	E_VAL(VFIO_PCI_ROM_REGION_INDEX, 6)
	E_VAL(VFIO_PCI_CONFIG_REGION_INDEX, 7)
	E_VAL(VFIO_PCI_VGA_REGION_INDEX, 8)
	E_VAL(VFIO_PCI_NUM_REGIONS, 9)
	E_VAL(VFIO_PCI_INTX_IRQ_INDEX, 0)
	E_VAL(VFIO_PCI_MSI_IRQ_INDEX, 1)
	E_VAL(VFIO_PCI_MSIX_IRQ_INDEX, 2)
	E_VAL(VFIO_PCI_ERR_IRQ_INDEX, 3)
	E_VAL(VFIO_PCI_REQ_IRQ_INDEX, 4)
	E_VAL(VFIO_PCI_NUM_IRQS, 5)

	E_VAL(VFIO_IRQ_INFO_EVENTFD, 1)
	E_VAL(VFIO_IRQ_INFO_MASKABLE, 2)
	E_VAL(VFIO_IRQ_INFO_AUTOMASKED, 4)
	E_VAL(VFIO_IRQ_INFO_NORESIZE, 8)
	E_VAL(VFIO_IRQ_SET_DATA_NONE, 1)
	E_VAL(VFIO_IRQ_SET_DATA_BOOL, 2)
	E_VAL(VFIO_IRQ_SET_DATA_EVENTFD, 4)
	E_VAL(VFIO_IRQ_SET_ACTION_MASK, 8)
	E_VAL(VFIO_IRQ_SET_ACTION_UNMASK, 0x10)
	E_VAL(VFIO_IRQ_SET_ACTION_TRIGGER, 0x20)
	E_VAL(VFIO_IRQ_SET_DATA_TYPE_MASK, 7)
	E_VAL(VFIO_IRQ_SET_ACTION_TYPE_MASK, 0x38)

	E_VAL(VFIO_PCI_DEVID_OWNED, 0)
	E_VAL(VFIO_PCI_DEVID_NOT_OWNED, -1)
	E_VAL((__u32)VFIO_PCI_DEVID_NOT_OWNED, 0xffffffffu)
	E_VAL(VFIO_PCI_HOT_RESET_FLAG_DEV_ID, 1)
	E_VAL(VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, 2)

	E_VAL(VFIO_DEVICE_FEATURE_MASK, 0xffff)
	E_VAL(VFIO_DEVICE_FEATURE_GET, 1u << 16)
	E_VAL(VFIO_DEVICE_FEATURE_SET, 1u << 17)
	E_VAL(VFIO_DEVICE_FEATURE_PROBE, 1u << 18)
	E_VAL(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, 0)
	E_VAL(VFIO_DEVICE_FEATURE_MIGRATION, 1)
	E_VAL(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, 2)
	E_VAL(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, 3)
	E_VAL(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, 4)
	E_VAL(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, 5)
	E_VAL(VFIO_DEVICE_FEATURE_DMA_LOGGING_START, 6)
	E_VAL(VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 7)
	E_VAL(VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, 8)
	E_VAL(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, 9)
	E_VAL(VFIO_DEVICE_FEATURE_BUS_MASTER, 10)
	E_VAL(VFIO_DEVICE_FEATURE_CLEAR_MASTER, 0)
	E_VAL(VFIO_DEVICE_FEATURE_SET_MASTER, 1)
	E_VAL(VFIO_MIGRATION_STOP_COPY, 1)
	E_VAL(VFIO_MIGRATION_P2P, 2)
	E_VAL(VFIO_MIGRATION_PRE_COPY, 4)
	E_VAL(VFIO_DEVICE_STATE_ERROR, 0)
	E_VAL(VFIO_DEVICE_STATE_STOP, 1)
	E_VAL(VFIO_DEVICE_STATE_RUNNING, 2)
	E_VAL(VFIO_DEVICE_STATE_STOP_COPY, 3)
	E_VAL(VFIO_DEVICE_STATE_RESUMING, 4)
	E_VAL(VFIO_DEVICE_STATE_RUNNING_P2P, 5)
	E_VAL(VFIO_DEVICE_STATE_PRE_COPY, 6)
	E_VAL(VFIO_DEVICE_STATE_PRE_COPY_P2P, 7)
	E_VAL(VFIO_DEVICE_STATE_NR, 8)

	E_VAL(VFIO_DEVICE_BIND_FLAG_TOKEN, 1)
	E_VAL(VFIO_DEVICE_ATTACH_PASID, 1)
	E_VAL(VFIO_DEVICE_DETACH_PASID, 1)

	E_VAL(VFIO_IOMMU_INFO_PGSIZES, 1)
	E_VAL(VFIO_IOMMU_INFO_CAPS, 2)
	E_VAL(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1)
	E_VAL(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 2)
	E_VAL(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 3)
	E_VAL(VFIO_DMA_MAP_FLAG_READ, 1)
	E_VAL(VFIO_DMA_MAP_FLAG_WRITE, 2)
	E_VAL(VFIO_DMA_MAP_FLAG_VADDR, 4)
	E_VAL(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 1)
	E_VAL(VFIO_DMA_UNMAP_FLAG_ALL, 2)
	E_VAL(VFIO_DMA_UNMAP_FLAG_VADDR, 4)
	E_VAL(VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 1)
	E_VAL(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 2)
	E_VAL(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 4)
};

/* ------------------------ system header agreement -------------------- */

/* The same symbol list as uapi-system.c, evaluated against our headers. */
static const struct uapi_sym our_syms[] = {
#define UAPI_SYMS_EMIT_TABLE
#include "uapi-syms.h"
#undef UAPI_SYMS_EMIT_TABLE
	{ NULL, 0 }
};

static const struct uapi_sym *find_sym(const struct uapi_sym *t,
				       const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static size_t count_syms(const struct uapi_sym *t)
{
	size_t n = 0;

	while (t[n].name)
		n++;
	return n;
}

START_TEST(test_iommufd_sizes)
{
	check_table("iommufd sizes", iommufd_sizes, ARRAY_LEN(iommufd_sizes));
}
END_TEST

START_TEST(test_iommufd_offsets)
{
	check_table("iommufd offsets", iommufd_offsets,
		    ARRAY_LEN(iommufd_offsets));
	check_table("iommufd fields", iommufd_fields,
		    ARRAY_LEN(iommufd_fields));
}
END_TEST

START_TEST(test_iommufd_min_sizes)
{
	check_table("iommufd minimum sizes", iommufd_min_sizes,
		    ARRAY_LEN(iommufd_min_sizes));
}
END_TEST

START_TEST(test_iommufd_ioctls)
{
	check_table("iommufd ioctls", iommufd_ioctls,
		    ARRAY_LEN(iommufd_ioctls));
}
END_TEST

START_TEST(test_iommufd_flags)
{
	check_table("iommufd flags", iommufd_flags, ARRAY_LEN(iommufd_flags));
}
END_TEST

START_TEST(test_vfio_sizes)
{
	check_table("vfio sizes", vfio_sizes, ARRAY_LEN(vfio_sizes));
}
END_TEST

START_TEST(test_vfio_offsets)
{
	check_table("vfio offsets", vfio_offsets, ARRAY_LEN(vfio_offsets));
	check_table("vfio fields", vfio_fields, ARRAY_LEN(vfio_fields));
	check_table("vfio minimum sizes", vfio_min_sizes,
		    ARRAY_LEN(vfio_min_sizes));
}
END_TEST

START_TEST(test_vfio_ioctls)
{
	check_table("vfio ioctls", vfio_ioctls, ARRAY_LEN(vfio_ioctls));
}
END_TEST

START_TEST(test_vfio_flags)
{
	check_table("vfio flags", vfio_flags, ARRAY_LEN(vfio_flags));
}
END_TEST

/* Our table is complete (every guard is defined) and has unique names. */
START_TEST(test_symbol_list)
{
	size_t n = count_syms(our_syms);
	size_t i, j;

	ck_assert_uint_gt(n, 400);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			ck_assert_msg(strcmp(our_syms[i].name, our_syms[j].name) != 0,
				      "duplicate symbol %s", our_syms[i].name);
}
END_TEST

/* Everything the system headers define must agree with ours. */
START_TEST(test_system_headers_agree)
{
	const struct uapi_sym *s;
	unsigned int bad = 0, vfio = 0, iommufd = 0;

	for (s = uapi_system_syms; s->name; s++) {
		const struct uapi_sym *o = find_sym(our_syms, s->name);

		if (strncmp(s->name, "IOMMU", 5) == 0 ||
		    strstr(s->name, "struct iommu"))
			iommufd++;
		else
			vfio++;
		if (!o) {
			fprintf(stderr, "system-only symbol %s\n", s->name);
			bad++;
		} else if (o->value != s->value) {
			fprintf(stderr, "%s: system %llu (0x%llx), ours %llu (0x%llx)\n",
				s->name, s->value, s->value, o->value, o->value);
			bad++;
		}
	}
	fprintf(stderr, "uapi: %u symbols compared with the system headers "
		"(system <linux/iommufd.h>: %s)\n", vfio + iommufd,
		uapi_system_has_iommufd ? "yes" : "no");
	ck_assert_msg(bad == 0, "%u symbols differ from the system headers", bad);
	/* Every supported system has a VFIO header with the 6.1 basics. */
	ck_assert_uint_gt(vfio, 150);
}
END_TEST

static Suite *uapi_suite(void)
{
	Suite *s = suite_create("uapi");
	TCase *tc;

	tc = fx_tcase("iommufd");
	tcase_add_test(tc, test_iommufd_sizes);
	tcase_add_test(tc, test_iommufd_offsets);
	tcase_add_test(tc, test_iommufd_min_sizes);
	tcase_add_test(tc, test_iommufd_ioctls);
	tcase_add_test(tc, test_iommufd_flags);
	suite_add_tcase(s, tc);

	tc = fx_tcase("vfio");
	tcase_add_test(tc, test_vfio_sizes);
	tcase_add_test(tc, test_vfio_offsets);
	tcase_add_test(tc, test_vfio_ioctls);
	tcase_add_test(tc, test_vfio_flags);
	suite_add_tcase(s, tc);

	tc = fx_tcase("system");
	tcase_add_test(tc, test_symbol_list);
	tcase_add_test(tc, test_system_headers_agree);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(uapi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
