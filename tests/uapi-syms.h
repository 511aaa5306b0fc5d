/* SPDX-License-Identifier: MIT */
/*
 * Shared between tests/test-uapi.c (built against libiommufd's own
 * src/uapi/linux/{iommufd,vfio}.h) and tests/uapi-system.c (built against
 * the system's <linux/...> headers only).
 *
 * The first part declares struct uapi_sym and the system table.
 *
 * The second part is the symbol list itself. It is emitted only when
 * UAPI_SYMS_EMIT_TABLE is defined, and is meant to be included *inside* an
 * array initializer, after linux/vfio.h (and linux/iommufd.h, when
 * available) have been included:
 *
 *   const struct uapi_sym table[] = {
 *   #define UAPI_SYMS_EMIT_TABLE
 *   #include "uapi-syms.h"
 *   #undef UAPI_SYMS_EMIT_TABLE
 *   };
 *
 * Everything a system header may lack is guarded by #ifdef on a macro
 * that appeared in the same kernel release (or a later one), so an older
 * header simply yields fewer entries. Our headers define every guard, so
 * the same list built against them is complete. The iommufd part uses
 * ioctl macros as release markers because its flags are enums:
 *   IOMMU_DESTROY 6.2, IOMMU_HWPT_ALLOC / IOMMU_GET_HW_INFO 6.6,
 *   IOMMU_HWPT_INVALIDATE 6.8, IOMMU_FAULT_QUEUE_ALLOC 6.11,
 *   IOMMU_IOAS_MAP_FILE / IOMMU_VIOMMU_ALLOC / IOMMU_VDEVICE_ALLOC 6.13,
 *   IOMMU_IOAS_CHANGE_PROCESS 6.14, IOMMU_VEVENTQ_ALLOC 6.15,
 *   IOMMU_HW_QUEUE_ALLOC 6.17.
 * When unsure which release added something, it is put under a later
 * marker: a missed comparison is harmless, a wrong guard breaks the build.
 */
#ifndef LIBIOMMUFD_TESTS_UAPI_SYMS_H
#define LIBIOMMUFD_TESTS_UAPI_SYMS_H

#include <stddef.h>

struct uapi_sym {
	const char *name;
	unsigned long long value;
};

/* Defined in uapi-system.c; terminated by an entry with name == NULL. */
extern const struct uapi_sym uapi_system_syms[];
/* 1 when the system has <linux/iommufd.h>, else 0. */
extern const int uapi_system_has_iommufd;

#define UAPI_SYM_SIZE(s) { "sizeof(struct " #s ")", sizeof(struct s) },
#define UAPI_SYM_OFF(s, f) { "offsetof(struct " #s ", " #f ")", offsetof(struct s, f) },
#define UAPI_SYM_VAL(m) { #m, (unsigned long long)(m) },

#endif /* LIBIOMMUFD_TESTS_UAPI_SYMS_H */

#ifdef UAPI_SYMS_EMIT_TABLE

/* ================================ VFIO ================================ */
#ifdef VFIO_API_VERSION

UAPI_SYM_VAL(VFIO_API_VERSION)
UAPI_SYM_VAL(VFIO_TYPE)
UAPI_SYM_VAL(VFIO_BASE)
UAPI_SYM_VAL(VFIO_TYPE1_IOMMU)
UAPI_SYM_VAL(VFIO_SPAPR_TCE_IOMMU)
UAPI_SYM_VAL(VFIO_TYPE1v2_IOMMU)
UAPI_SYM_VAL(VFIO_DMA_CC_IOMMU)
UAPI_SYM_VAL(VFIO_EEH)
#ifdef __VFIO_RESERVED_TYPE1_NESTING_IOMMU
UAPI_SYM_VAL(__VFIO_RESERVED_TYPE1_NESTING_IOMMU)
#endif
UAPI_SYM_VAL(VFIO_SPAPR_TCE_v2_IOMMU)
UAPI_SYM_VAL(VFIO_NOIOMMU_IOMMU)
#ifdef VFIO_UNMAP_ALL
UAPI_SYM_VAL(VFIO_UNMAP_ALL)
#endif
#ifdef VFIO_UPDATE_VADDR
UAPI_SYM_VAL(VFIO_UPDATE_VADDR)
#endif

/* ioctl numbers */
UAPI_SYM_VAL(VFIO_GET_API_VERSION)
UAPI_SYM_VAL(VFIO_CHECK_EXTENSION)
UAPI_SYM_VAL(VFIO_SET_IOMMU)
UAPI_SYM_VAL(VFIO_GROUP_GET_STATUS)
UAPI_SYM_VAL(VFIO_GROUP_SET_CONTAINER)
UAPI_SYM_VAL(VFIO_GROUP_UNSET_CONTAINER)
UAPI_SYM_VAL(VFIO_GROUP_GET_DEVICE_FD)
UAPI_SYM_VAL(VFIO_DEVICE_GET_INFO)
UAPI_SYM_VAL(VFIO_DEVICE_GET_REGION_INFO)
UAPI_SYM_VAL(VFIO_DEVICE_GET_IRQ_INFO)
UAPI_SYM_VAL(VFIO_DEVICE_SET_IRQS)
UAPI_SYM_VAL(VFIO_DEVICE_RESET)
UAPI_SYM_VAL(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO)
UAPI_SYM_VAL(VFIO_DEVICE_PCI_HOT_RESET)
UAPI_SYM_VAL(VFIO_DEVICE_QUERY_GFX_PLANE)
UAPI_SYM_VAL(VFIO_DEVICE_GET_GFX_DMABUF)
UAPI_SYM_VAL(VFIO_DEVICE_IOEVENTFD)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE)
#ifdef VFIO_DEVICE_BIND_IOMMUFD
UAPI_SYM_VAL(VFIO_DEVICE_BIND_IOMMUFD)
#endif
#ifdef VFIO_DEVICE_ATTACH_IOMMUFD_PT
UAPI_SYM_VAL(VFIO_DEVICE_ATTACH_IOMMUFD_PT)
#endif
#ifdef VFIO_DEVICE_DETACH_IOMMUFD_PT
UAPI_SYM_VAL(VFIO_DEVICE_DETACH_IOMMUFD_PT)
#endif
#ifdef VFIO_MIG_GET_PRECOPY_INFO
UAPI_SYM_VAL(VFIO_MIG_GET_PRECOPY_INFO)
#endif
UAPI_SYM_VAL(VFIO_IOMMU_GET_INFO)
UAPI_SYM_VAL(VFIO_IOMMU_MAP_DMA)
UAPI_SYM_VAL(VFIO_IOMMU_UNMAP_DMA)
UAPI_SYM_VAL(VFIO_IOMMU_ENABLE)
UAPI_SYM_VAL(VFIO_IOMMU_DISABLE)
#ifdef VFIO_IOMMU_DIRTY_PAGES
UAPI_SYM_VAL(VFIO_IOMMU_DIRTY_PAGES)
#endif

/* vfio_info_cap_header */
UAPI_SYM_SIZE(vfio_info_cap_header)
UAPI_SYM_OFF(vfio_info_cap_header, id)
UAPI_SYM_OFF(vfio_info_cap_header, version)
UAPI_SYM_OFF(vfio_info_cap_header, next)

/* group status */
UAPI_SYM_SIZE(vfio_group_status)
UAPI_SYM_OFF(vfio_group_status, argsz)
UAPI_SYM_OFF(vfio_group_status, flags)
UAPI_SYM_VAL(VFIO_GROUP_FLAGS_VIABLE)
UAPI_SYM_VAL(VFIO_GROUP_FLAGS_CONTAINER_SET)

/* device info */
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN /* 20 bytes before the explicit pad */
UAPI_SYM_SIZE(vfio_device_info)
#endif
UAPI_SYM_OFF(vfio_device_info, argsz)
UAPI_SYM_OFF(vfio_device_info, flags)
UAPI_SYM_OFF(vfio_device_info, num_regions)
UAPI_SYM_OFF(vfio_device_info, num_irqs)
UAPI_SYM_OFF(vfio_device_info, cap_offset)
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN /* explicit padding fields: named late */
UAPI_SYM_OFF(vfio_device_info, pad)
#endif
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_RESET)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_PCI)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_PLATFORM)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_AMBA)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_CCW)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_AP)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_FSL_MC)
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_CAPS)
#ifdef VFIO_DEVICE_FLAGS_CDX
UAPI_SYM_VAL(VFIO_DEVICE_FLAGS_CDX)
#endif
UAPI_SYM_VAL(VFIO_DEVICE_INFO_CAP_ZPCI_BASE)
UAPI_SYM_VAL(VFIO_DEVICE_INFO_CAP_ZPCI_GROUP)
UAPI_SYM_VAL(VFIO_DEVICE_INFO_CAP_ZPCI_UTIL)
UAPI_SYM_VAL(VFIO_DEVICE_INFO_CAP_ZPCI_PFIP)
#ifdef VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP
UAPI_SYM_VAL(VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP)
UAPI_SYM_SIZE(vfio_device_info_cap_pci_atomic_comp)
UAPI_SYM_OFF(vfio_device_info_cap_pci_atomic_comp, header)
UAPI_SYM_OFF(vfio_device_info_cap_pci_atomic_comp, flags)
UAPI_SYM_OFF(vfio_device_info_cap_pci_atomic_comp, reserved)
UAPI_SYM_VAL(VFIO_PCI_ATOMIC_COMP32)
UAPI_SYM_VAL(VFIO_PCI_ATOMIC_COMP64)
UAPI_SYM_VAL(VFIO_PCI_ATOMIC_COMP128)
#endif

/* region info and its capabilities */
UAPI_SYM_SIZE(vfio_region_info)
UAPI_SYM_OFF(vfio_region_info, argsz)
UAPI_SYM_OFF(vfio_region_info, flags)
UAPI_SYM_OFF(vfio_region_info, index)
UAPI_SYM_OFF(vfio_region_info, cap_offset)
UAPI_SYM_OFF(vfio_region_info, size)
UAPI_SYM_OFF(vfio_region_info, offset)
UAPI_SYM_VAL(VFIO_REGION_INFO_FLAG_READ)
UAPI_SYM_VAL(VFIO_REGION_INFO_FLAG_WRITE)
UAPI_SYM_VAL(VFIO_REGION_INFO_FLAG_MMAP)
UAPI_SYM_VAL(VFIO_REGION_INFO_FLAG_CAPS)
UAPI_SYM_VAL(VFIO_REGION_INFO_CAP_SPARSE_MMAP)
UAPI_SYM_SIZE(vfio_region_sparse_mmap_area)
UAPI_SYM_OFF(vfio_region_sparse_mmap_area, offset)
UAPI_SYM_OFF(vfio_region_sparse_mmap_area, size)
UAPI_SYM_SIZE(vfio_region_info_cap_sparse_mmap)
UAPI_SYM_OFF(vfio_region_info_cap_sparse_mmap, header)
UAPI_SYM_OFF(vfio_region_info_cap_sparse_mmap, nr_areas)
UAPI_SYM_OFF(vfio_region_info_cap_sparse_mmap, reserved)
UAPI_SYM_OFF(vfio_region_info_cap_sparse_mmap, areas)
UAPI_SYM_VAL(VFIO_REGION_INFO_CAP_TYPE)
UAPI_SYM_SIZE(vfio_region_info_cap_type)
UAPI_SYM_OFF(vfio_region_info_cap_type, header)
UAPI_SYM_OFF(vfio_region_info_cap_type, type)
UAPI_SYM_OFF(vfio_region_info_cap_type, subtype)
UAPI_SYM_VAL(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE)
UAPI_SYM_VAL(VFIO_REGION_INFO_CAP_NVLINK2_SSATGT)
UAPI_SYM_VAL(VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD)
UAPI_SYM_VAL(VFIO_REGION_TYPE_PCI_VENDOR_TYPE)
UAPI_SYM_VAL(VFIO_REGION_TYPE_PCI_VENDOR_MASK)
UAPI_SYM_VAL(VFIO_REGION_TYPE_GFX)
UAPI_SYM_VAL(VFIO_REGION_TYPE_CCW)
#ifdef VFIO_REGION_TYPE_MIGRATION_DEPRECATED
UAPI_SYM_VAL(VFIO_REGION_TYPE_MIGRATION_DEPRECATED)
UAPI_SYM_VAL(VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED)
#endif
UAPI_SYM_VAL(VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION)
UAPI_SYM_VAL(VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG)
UAPI_SYM_VAL(VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG)
UAPI_SYM_VAL(VFIO_REGION_SUBTYPE_GFX_EDID)
UAPI_SYM_SIZE(vfio_region_gfx_edid)
UAPI_SYM_OFF(vfio_region_gfx_edid, link_state)

/* IRQs */
UAPI_SYM_SIZE(vfio_irq_info)
UAPI_SYM_OFF(vfio_irq_info, argsz)
UAPI_SYM_OFF(vfio_irq_info, flags)
UAPI_SYM_OFF(vfio_irq_info, index)
UAPI_SYM_OFF(vfio_irq_info, count)
UAPI_SYM_VAL(VFIO_IRQ_INFO_EVENTFD)
UAPI_SYM_VAL(VFIO_IRQ_INFO_MASKABLE)
UAPI_SYM_VAL(VFIO_IRQ_INFO_AUTOMASKED)
UAPI_SYM_VAL(VFIO_IRQ_INFO_NORESIZE)
UAPI_SYM_SIZE(vfio_irq_set)
UAPI_SYM_OFF(vfio_irq_set, argsz)
UAPI_SYM_OFF(vfio_irq_set, flags)
UAPI_SYM_OFF(vfio_irq_set, index)
UAPI_SYM_OFF(vfio_irq_set, start)
UAPI_SYM_OFF(vfio_irq_set, count)
UAPI_SYM_OFF(vfio_irq_set, data)
UAPI_SYM_VAL(VFIO_IRQ_SET_DATA_NONE)
UAPI_SYM_VAL(VFIO_IRQ_SET_DATA_BOOL)
UAPI_SYM_VAL(VFIO_IRQ_SET_DATA_EVENTFD)
UAPI_SYM_VAL(VFIO_IRQ_SET_ACTION_MASK)
UAPI_SYM_VAL(VFIO_IRQ_SET_ACTION_UNMASK)
UAPI_SYM_VAL(VFIO_IRQ_SET_ACTION_TRIGGER)
UAPI_SYM_VAL(VFIO_IRQ_SET_DATA_TYPE_MASK)
UAPI_SYM_VAL(VFIO_IRQ_SET_ACTION_TYPE_MASK)

/* vfio-pci fixed indexes */
UAPI_SYM_VAL(VFIO_PCI_BAR0_REGION_INDEX)
UAPI_SYM_VAL(VFIO_PCI_BAR5_REGION_INDEX)
UAPI_SYM_VAL(VFIO_PCI_ROM_REGION_INDEX)
UAPI_SYM_VAL(VFIO_PCI_CONFIG_REGION_INDEX)
UAPI_SYM_VAL(VFIO_PCI_VGA_REGION_INDEX)
UAPI_SYM_VAL(VFIO_PCI_NUM_REGIONS)
UAPI_SYM_VAL(VFIO_PCI_INTX_IRQ_INDEX)
UAPI_SYM_VAL(VFIO_PCI_MSI_IRQ_INDEX)
UAPI_SYM_VAL(VFIO_PCI_MSIX_IRQ_INDEX)
UAPI_SYM_VAL(VFIO_PCI_ERR_IRQ_INDEX)
UAPI_SYM_VAL(VFIO_PCI_REQ_IRQ_INDEX)
UAPI_SYM_VAL(VFIO_PCI_NUM_IRQS)

/* hot reset */
UAPI_SYM_SIZE(vfio_pci_dependent_device)
UAPI_SYM_OFF(vfio_pci_dependent_device, group_id)
UAPI_SYM_OFF(vfio_pci_dependent_device, segment)
UAPI_SYM_OFF(vfio_pci_dependent_device, bus)
UAPI_SYM_OFF(vfio_pci_dependent_device, devfn)
#ifdef VFIO_PCI_DEVID_OWNED
UAPI_SYM_OFF(vfio_pci_dependent_device, devid)
UAPI_SYM_VAL(VFIO_PCI_DEVID_OWNED)
UAPI_SYM_VAL(VFIO_PCI_DEVID_NOT_OWNED)
#endif
UAPI_SYM_SIZE(vfio_pci_hot_reset_info)
UAPI_SYM_OFF(vfio_pci_hot_reset_info, argsz)
UAPI_SYM_OFF(vfio_pci_hot_reset_info, flags)
UAPI_SYM_OFF(vfio_pci_hot_reset_info, count)
UAPI_SYM_OFF(vfio_pci_hot_reset_info, devices)
#ifdef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
UAPI_SYM_VAL(VFIO_PCI_HOT_RESET_FLAG_DEV_ID)
UAPI_SYM_VAL(VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED)
#endif
UAPI_SYM_SIZE(vfio_pci_hot_reset)
UAPI_SYM_OFF(vfio_pci_hot_reset, argsz)
UAPI_SYM_OFF(vfio_pci_hot_reset, flags)
UAPI_SYM_OFF(vfio_pci_hot_reset, count)
UAPI_SYM_OFF(vfio_pci_hot_reset, group_fds)

/* gfx plane, ioeventfd */
UAPI_SYM_SIZE(vfio_device_gfx_plane_info)
UAPI_SYM_OFF(vfio_device_gfx_plane_info, drm_format_mod)
UAPI_SYM_OFF(vfio_device_gfx_plane_info, region_index)
UAPI_SYM_OFF(vfio_device_gfx_plane_info, dmabuf_id)
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN /* explicit padding fields: named late */
UAPI_SYM_OFF(vfio_device_gfx_plane_info, reserved)
#endif
UAPI_SYM_VAL(VFIO_GFX_PLANE_TYPE_PROBE)
UAPI_SYM_VAL(VFIO_GFX_PLANE_TYPE_DMABUF)
UAPI_SYM_VAL(VFIO_GFX_PLANE_TYPE_REGION)
UAPI_SYM_SIZE(vfio_device_ioeventfd)
UAPI_SYM_OFF(vfio_device_ioeventfd, offset)
UAPI_SYM_OFF(vfio_device_ioeventfd, data)
UAPI_SYM_OFF(vfio_device_ioeventfd, fd)
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN /* explicit padding fields: named late */
UAPI_SYM_OFF(vfio_device_ioeventfd, reserved)
#endif
UAPI_SYM_VAL(VFIO_DEVICE_IOEVENTFD_8)
UAPI_SYM_VAL(VFIO_DEVICE_IOEVENTFD_16)
UAPI_SYM_VAL(VFIO_DEVICE_IOEVENTFD_32)
UAPI_SYM_VAL(VFIO_DEVICE_IOEVENTFD_64)
UAPI_SYM_VAL(VFIO_DEVICE_IOEVENTFD_SIZE_MASK)

/* device features */
UAPI_SYM_SIZE(vfio_device_feature)
UAPI_SYM_OFF(vfio_device_feature, argsz)
UAPI_SYM_OFF(vfio_device_feature, flags)
UAPI_SYM_OFF(vfio_device_feature, data)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_MASK)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_GET)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_SET)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_PROBE)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN)
#ifdef VFIO_DEVICE_FEATURE_MIGRATION
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_MIGRATION)
UAPI_SYM_SIZE(vfio_device_feature_migration)
UAPI_SYM_OFF(vfio_device_feature_migration, flags)
UAPI_SYM_VAL(VFIO_MIGRATION_STOP_COPY)
UAPI_SYM_VAL(VFIO_MIGRATION_P2P)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE)
UAPI_SYM_SIZE(vfio_device_feature_mig_state)
UAPI_SYM_OFF(vfio_device_feature_mig_state, device_state)
UAPI_SYM_OFF(vfio_device_feature_mig_state, data_fd)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_ERROR)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_STOP)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_RUNNING)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_STOP_COPY)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_RESUMING)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_RUNNING_P2P)
#endif
#ifdef VFIO_MIGRATION_PRE_COPY
UAPI_SYM_VAL(VFIO_MIGRATION_PRE_COPY)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_PRE_COPY)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_PRE_COPY_P2P)
UAPI_SYM_VAL(VFIO_DEVICE_STATE_NR)
#endif
#ifdef VFIO_MIG_GET_PRECOPY_INFO
UAPI_SYM_SIZE(vfio_precopy_info)
UAPI_SYM_OFF(vfio_precopy_info, argsz)
UAPI_SYM_OFF(vfio_precopy_info, flags)
UAPI_SYM_OFF(vfio_precopy_info, initial_bytes)
UAPI_SYM_OFF(vfio_precopy_info, dirty_bytes)
#endif
#ifdef VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT)
UAPI_SYM_SIZE(vfio_device_low_power_entry_with_wakeup)
UAPI_SYM_OFF(vfio_device_low_power_entry_with_wakeup, wakeup_eventfd)
UAPI_SYM_OFF(vfio_device_low_power_entry_with_wakeup, reserved)
#endif
#ifdef VFIO_DEVICE_FEATURE_DMA_LOGGING_START
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_DMA_LOGGING_START)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT)
UAPI_SYM_SIZE(vfio_device_feature_dma_logging_control)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_control, page_size)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_control, num_ranges)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_control, __reserved)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_control, ranges)
UAPI_SYM_SIZE(vfio_device_feature_dma_logging_range)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_range, iova)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_range, length)
UAPI_SYM_SIZE(vfio_device_feature_dma_logging_report)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_report, iova)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_report, length)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_report, page_size)
UAPI_SYM_OFF(vfio_device_feature_dma_logging_report, bitmap)
#endif
#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE)
UAPI_SYM_SIZE(vfio_device_feature_mig_data_size)
UAPI_SYM_OFF(vfio_device_feature_mig_data_size, stop_copy_length)
#endif
#ifdef VFIO_DEVICE_FEATURE_BUS_MASTER
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_BUS_MASTER)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_CLEAR_MASTER)
UAPI_SYM_VAL(VFIO_DEVICE_FEATURE_SET_MASTER)
UAPI_SYM_SIZE(vfio_device_feature_bus_master)
UAPI_SYM_OFF(vfio_device_feature_bus_master, op)
#endif

/* device cdev <-> iommufd */
#ifdef VFIO_DEVICE_BIND_IOMMUFD
UAPI_SYM_OFF(vfio_device_bind_iommufd, argsz)
UAPI_SYM_OFF(vfio_device_bind_iommufd, flags)
UAPI_SYM_OFF(vfio_device_bind_iommufd, iommufd)
UAPI_SYM_OFF(vfio_device_bind_iommufd, out_devid)
#endif
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN
UAPI_SYM_VAL(VFIO_DEVICE_BIND_FLAG_TOKEN)
UAPI_SYM_SIZE(vfio_device_bind_iommufd)
UAPI_SYM_OFF(vfio_device_bind_iommufd, token_uuid_ptr)
#endif
#ifdef VFIO_DEVICE_ATTACH_IOMMUFD_PT
UAPI_SYM_OFF(vfio_device_attach_iommufd_pt, argsz)
UAPI_SYM_OFF(vfio_device_attach_iommufd_pt, flags)
UAPI_SYM_OFF(vfio_device_attach_iommufd_pt, pt_id)
#endif
#ifdef VFIO_DEVICE_ATTACH_PASID
UAPI_SYM_VAL(VFIO_DEVICE_ATTACH_PASID)
UAPI_SYM_SIZE(vfio_device_attach_iommufd_pt)
UAPI_SYM_OFF(vfio_device_attach_iommufd_pt, pasid)
#endif
#ifdef VFIO_DEVICE_DETACH_IOMMUFD_PT
UAPI_SYM_OFF(vfio_device_detach_iommufd_pt, argsz)
UAPI_SYM_OFF(vfio_device_detach_iommufd_pt, flags)
#endif
#ifdef VFIO_DEVICE_DETACH_PASID
UAPI_SYM_VAL(VFIO_DEVICE_DETACH_PASID)
UAPI_SYM_SIZE(vfio_device_detach_iommufd_pt)
UAPI_SYM_OFF(vfio_device_detach_iommufd_pt, pasid)
#endif

/* type1 IOMMU */
UAPI_SYM_SIZE(vfio_iommu_type1_info)
UAPI_SYM_OFF(vfio_iommu_type1_info, argsz)
UAPI_SYM_OFF(vfio_iommu_type1_info, flags)
UAPI_SYM_OFF(vfio_iommu_type1_info, iova_pgsizes)
UAPI_SYM_OFF(vfio_iommu_type1_info, cap_offset)
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN /* explicit padding fields: named late */
UAPI_SYM_OFF(vfio_iommu_type1_info, pad)
#endif
UAPI_SYM_VAL(VFIO_IOMMU_INFO_PGSIZES)
UAPI_SYM_VAL(VFIO_IOMMU_INFO_CAPS)
UAPI_SYM_VAL(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
UAPI_SYM_SIZE(vfio_iova_range)
UAPI_SYM_OFF(vfio_iova_range, start)
UAPI_SYM_OFF(vfio_iova_range, end)
UAPI_SYM_SIZE(vfio_iommu_type1_info_cap_iova_range)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_iova_range, header)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_iova_range, reserved)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_iova_range, iova_ranges)
#ifdef VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
UAPI_SYM_VAL(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION)
UAPI_SYM_SIZE(vfio_iommu_type1_info_cap_migration)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_migration, header)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_migration, flags)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_migration, pgsize_bitmap)
UAPI_SYM_OFF(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size)
#endif
#ifdef VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
UAPI_SYM_VAL(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
UAPI_SYM_SIZE(vfio_iommu_type1_info_dma_avail)
UAPI_SYM_OFF(vfio_iommu_type1_info_dma_avail, header)
UAPI_SYM_OFF(vfio_iommu_type1_info_dma_avail, avail)
#endif
UAPI_SYM_SIZE(vfio_iommu_type1_dma_map)
UAPI_SYM_OFF(vfio_iommu_type1_dma_map, argsz)
UAPI_SYM_OFF(vfio_iommu_type1_dma_map, flags)
UAPI_SYM_OFF(vfio_iommu_type1_dma_map, vaddr)
UAPI_SYM_OFF(vfio_iommu_type1_dma_map, iova)
UAPI_SYM_OFF(vfio_iommu_type1_dma_map, size)
UAPI_SYM_VAL(VFIO_DMA_MAP_FLAG_READ)
UAPI_SYM_VAL(VFIO_DMA_MAP_FLAG_WRITE)
#ifdef VFIO_DMA_MAP_FLAG_VADDR
UAPI_SYM_VAL(VFIO_DMA_MAP_FLAG_VADDR)
#endif
UAPI_SYM_SIZE(vfio_iommu_type1_dma_unmap)
UAPI_SYM_OFF(vfio_iommu_type1_dma_unmap, argsz)
UAPI_SYM_OFF(vfio_iommu_type1_dma_unmap, flags)
UAPI_SYM_OFF(vfio_iommu_type1_dma_unmap, iova)
UAPI_SYM_OFF(vfio_iommu_type1_dma_unmap, size)
#ifdef VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
UAPI_SYM_OFF(vfio_iommu_type1_dma_unmap, data)
UAPI_SYM_VAL(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
UAPI_SYM_SIZE(vfio_bitmap)
UAPI_SYM_OFF(vfio_bitmap, pgsize)
UAPI_SYM_OFF(vfio_bitmap, size)
UAPI_SYM_OFF(vfio_bitmap, data)
#endif
#ifdef VFIO_DMA_UNMAP_FLAG_ALL
UAPI_SYM_VAL(VFIO_DMA_UNMAP_FLAG_ALL)
#endif
#ifdef VFIO_DMA_UNMAP_FLAG_VADDR
UAPI_SYM_VAL(VFIO_DMA_UNMAP_FLAG_VADDR)
#endif
#ifdef VFIO_IOMMU_DIRTY_PAGES
UAPI_SYM_SIZE(vfio_iommu_type1_dirty_bitmap)
UAPI_SYM_OFF(vfio_iommu_type1_dirty_bitmap, argsz)
UAPI_SYM_OFF(vfio_iommu_type1_dirty_bitmap, flags)
UAPI_SYM_OFF(vfio_iommu_type1_dirty_bitmap, data)
UAPI_SYM_VAL(VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
UAPI_SYM_VAL(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)
UAPI_SYM_VAL(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP)
UAPI_SYM_SIZE(vfio_iommu_type1_dirty_bitmap_get)
UAPI_SYM_OFF(vfio_iommu_type1_dirty_bitmap_get, iova)
UAPI_SYM_OFF(vfio_iommu_type1_dirty_bitmap_get, size)
UAPI_SYM_OFF(vfio_iommu_type1_dirty_bitmap_get, bitmap)
#endif

#endif /* VFIO_API_VERSION */

/* =============================== iommufd ============================== */
#if defined(IOMMUFD_TYPE) && defined(IOMMU_DESTROY)

UAPI_SYM_VAL(IOMMUFD_TYPE)
UAPI_SYM_VAL(IOMMUFD_CMD_BASE)
UAPI_SYM_VAL(IOMMUFD_CMD_DESTROY)
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_ALLOC)
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_ALLOW_IOVAS)
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_COPY)
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_IOVA_RANGES)
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_MAP)
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_UNMAP)
UAPI_SYM_VAL(IOMMUFD_CMD_OPTION)
UAPI_SYM_VAL(IOMMUFD_CMD_VFIO_IOAS)
UAPI_SYM_VAL(IOMMU_DESTROY)
UAPI_SYM_VAL(IOMMU_IOAS_ALLOC)
UAPI_SYM_VAL(IOMMU_IOAS_ALLOW_IOVAS)
UAPI_SYM_VAL(IOMMU_IOAS_COPY)
UAPI_SYM_VAL(IOMMU_IOAS_IOVA_RANGES)
UAPI_SYM_VAL(IOMMU_IOAS_MAP)
UAPI_SYM_VAL(IOMMU_IOAS_UNMAP)
UAPI_SYM_VAL(IOMMU_OPTION)
UAPI_SYM_VAL(IOMMU_VFIO_IOAS)

UAPI_SYM_SIZE(iommu_destroy)
UAPI_SYM_OFF(iommu_destroy, size)
UAPI_SYM_OFF(iommu_destroy, id)
UAPI_SYM_SIZE(iommu_ioas_alloc)
UAPI_SYM_OFF(iommu_ioas_alloc, size)
UAPI_SYM_OFF(iommu_ioas_alloc, flags)
UAPI_SYM_OFF(iommu_ioas_alloc, out_ioas_id)
UAPI_SYM_SIZE(iommu_iova_range)
UAPI_SYM_OFF(iommu_iova_range, start)
UAPI_SYM_OFF(iommu_iova_range, last)
UAPI_SYM_SIZE(iommu_ioas_iova_ranges)
UAPI_SYM_OFF(iommu_ioas_iova_ranges, size)
UAPI_SYM_OFF(iommu_ioas_iova_ranges, ioas_id)
UAPI_SYM_OFF(iommu_ioas_iova_ranges, num_iovas)
UAPI_SYM_OFF(iommu_ioas_iova_ranges, __reserved)
UAPI_SYM_OFF(iommu_ioas_iova_ranges, allowed_iovas)
UAPI_SYM_OFF(iommu_ioas_iova_ranges, out_iova_alignment)
UAPI_SYM_SIZE(iommu_ioas_allow_iovas)
UAPI_SYM_OFF(iommu_ioas_allow_iovas, size)
UAPI_SYM_OFF(iommu_ioas_allow_iovas, ioas_id)
UAPI_SYM_OFF(iommu_ioas_allow_iovas, num_iovas)
UAPI_SYM_OFF(iommu_ioas_allow_iovas, __reserved)
UAPI_SYM_OFF(iommu_ioas_allow_iovas, allowed_iovas)
UAPI_SYM_VAL(IOMMU_IOAS_MAP_FIXED_IOVA)
UAPI_SYM_VAL(IOMMU_IOAS_MAP_WRITEABLE)
UAPI_SYM_VAL(IOMMU_IOAS_MAP_READABLE)
UAPI_SYM_SIZE(iommu_ioas_map)
UAPI_SYM_OFF(iommu_ioas_map, size)
UAPI_SYM_OFF(iommu_ioas_map, flags)
UAPI_SYM_OFF(iommu_ioas_map, ioas_id)
UAPI_SYM_OFF(iommu_ioas_map, __reserved)
UAPI_SYM_OFF(iommu_ioas_map, user_va)
UAPI_SYM_OFF(iommu_ioas_map, length)
UAPI_SYM_OFF(iommu_ioas_map, iova)
UAPI_SYM_SIZE(iommu_ioas_copy)
UAPI_SYM_OFF(iommu_ioas_copy, size)
UAPI_SYM_OFF(iommu_ioas_copy, flags)
UAPI_SYM_OFF(iommu_ioas_copy, dst_ioas_id)
UAPI_SYM_OFF(iommu_ioas_copy, src_ioas_id)
UAPI_SYM_OFF(iommu_ioas_copy, length)
UAPI_SYM_OFF(iommu_ioas_copy, dst_iova)
UAPI_SYM_OFF(iommu_ioas_copy, src_iova)
UAPI_SYM_SIZE(iommu_ioas_unmap)
UAPI_SYM_OFF(iommu_ioas_unmap, size)
UAPI_SYM_OFF(iommu_ioas_unmap, ioas_id)
UAPI_SYM_OFF(iommu_ioas_unmap, iova)
UAPI_SYM_OFF(iommu_ioas_unmap, length)
UAPI_SYM_VAL(IOMMU_OPTION_RLIMIT_MODE)
UAPI_SYM_VAL(IOMMU_OPTION_HUGE_PAGES)
UAPI_SYM_VAL(IOMMU_OPTION_OP_SET)
UAPI_SYM_VAL(IOMMU_OPTION_OP_GET)
UAPI_SYM_SIZE(iommu_option)
UAPI_SYM_OFF(iommu_option, size)
UAPI_SYM_OFF(iommu_option, option_id)
UAPI_SYM_OFF(iommu_option, op)
UAPI_SYM_OFF(iommu_option, __reserved)
UAPI_SYM_OFF(iommu_option, object_id)
UAPI_SYM_OFF(iommu_option, val64)
UAPI_SYM_VAL(IOMMU_VFIO_IOAS_GET)
UAPI_SYM_VAL(IOMMU_VFIO_IOAS_SET)
UAPI_SYM_VAL(IOMMU_VFIO_IOAS_CLEAR)
UAPI_SYM_SIZE(iommu_vfio_ioas)
UAPI_SYM_OFF(iommu_vfio_ioas, size)
UAPI_SYM_OFF(iommu_vfio_ioas, ioas_id)
UAPI_SYM_OFF(iommu_vfio_ioas, op)
UAPI_SYM_OFF(iommu_vfio_ioas, __reserved)

/* 6.6 */
#ifdef IOMMU_HWPT_ALLOC
UAPI_SYM_VAL(IOMMUFD_CMD_HWPT_ALLOC)
UAPI_SYM_VAL(IOMMU_HWPT_ALLOC)
UAPI_SYM_OFF(iommu_hwpt_alloc, size)
UAPI_SYM_OFF(iommu_hwpt_alloc, flags)
UAPI_SYM_OFF(iommu_hwpt_alloc, dev_id)
UAPI_SYM_OFF(iommu_hwpt_alloc, pt_id)
UAPI_SYM_OFF(iommu_hwpt_alloc, out_hwpt_id)
UAPI_SYM_OFF(iommu_hwpt_alloc, __reserved)
#endif
#ifdef IOMMU_GET_HW_INFO
UAPI_SYM_VAL(IOMMUFD_CMD_GET_HW_INFO)
UAPI_SYM_VAL(IOMMU_GET_HW_INFO)
UAPI_SYM_OFF(iommu_hw_info, size)
UAPI_SYM_OFF(iommu_hw_info, flags)
UAPI_SYM_OFF(iommu_hw_info, dev_id)
UAPI_SYM_OFF(iommu_hw_info, data_len)
UAPI_SYM_OFF(iommu_hw_info, data_uptr)
UAPI_SYM_OFF(iommu_hw_info, out_data_type)
#endif

/* 6.7 / 6.8 (nesting, dirty tracking, invalidation) */
#ifdef IOMMU_HWPT_INVALIDATE
UAPI_SYM_VAL(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)
UAPI_SYM_VAL(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)
UAPI_SYM_VAL(IOMMUFD_CMD_HWPT_INVALIDATE)
UAPI_SYM_VAL(IOMMU_HWPT_SET_DIRTY_TRACKING)
UAPI_SYM_VAL(IOMMU_HWPT_GET_DIRTY_BITMAP)
UAPI_SYM_VAL(IOMMU_HWPT_INVALIDATE)
UAPI_SYM_VAL(IOMMU_HWPT_ALLOC_NEST_PARENT)
UAPI_SYM_VAL(IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
UAPI_SYM_OFF(iommu_hwpt_alloc, data_type)
UAPI_SYM_OFF(iommu_hwpt_alloc, data_len)
UAPI_SYM_OFF(iommu_hwpt_alloc, data_uptr)
UAPI_SYM_VAL(IOMMU_HWPT_DATA_NONE)
UAPI_SYM_VAL(IOMMU_HWPT_DATA_VTD_S1)
UAPI_SYM_VAL(IOMMU_VTD_S1_SRE)
UAPI_SYM_VAL(IOMMU_VTD_S1_EAFE)
UAPI_SYM_VAL(IOMMU_VTD_S1_WPE)
UAPI_SYM_SIZE(iommu_hwpt_vtd_s1)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1, flags)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1, pgtbl_addr)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1, addr_width)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1, __reserved)
UAPI_SYM_SIZE(iommu_hw_info)
UAPI_SYM_OFF(iommu_hw_info, out_capabilities)
UAPI_SYM_VAL(IOMMU_HW_INFO_TYPE_NONE)
UAPI_SYM_VAL(IOMMU_HW_INFO_TYPE_INTEL_VTD)
UAPI_SYM_VAL(IOMMU_HW_CAP_DIRTY_TRACKING)
UAPI_SYM_SIZE(iommu_hw_info_vtd)
UAPI_SYM_OFF(iommu_hw_info_vtd, flags)
UAPI_SYM_OFF(iommu_hw_info_vtd, __reserved)
UAPI_SYM_OFF(iommu_hw_info_vtd, cap_reg)
UAPI_SYM_OFF(iommu_hw_info_vtd, ecap_reg)
UAPI_SYM_VAL(IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
UAPI_SYM_SIZE(iommu_hwpt_set_dirty_tracking)
UAPI_SYM_OFF(iommu_hwpt_set_dirty_tracking, size)
UAPI_SYM_OFF(iommu_hwpt_set_dirty_tracking, flags)
UAPI_SYM_OFF(iommu_hwpt_set_dirty_tracking, hwpt_id)
UAPI_SYM_OFF(iommu_hwpt_set_dirty_tracking, __reserved)
UAPI_SYM_VAL(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
UAPI_SYM_SIZE(iommu_hwpt_get_dirty_bitmap)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, size)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, hwpt_id)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, flags)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, __reserved)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, iova)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, length)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, page_size)
UAPI_SYM_OFF(iommu_hwpt_get_dirty_bitmap, data)
UAPI_SYM_VAL(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
UAPI_SYM_VAL(IOMMU_VTD_INV_FLAGS_LEAF)
UAPI_SYM_SIZE(iommu_hwpt_vtd_s1_invalidate)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1_invalidate, addr)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1_invalidate, npages)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1_invalidate, flags)
UAPI_SYM_OFF(iommu_hwpt_vtd_s1_invalidate, __reserved)
UAPI_SYM_SIZE(iommu_hwpt_invalidate)
UAPI_SYM_OFF(iommu_hwpt_invalidate, size)
UAPI_SYM_OFF(iommu_hwpt_invalidate, hwpt_id)
UAPI_SYM_OFF(iommu_hwpt_invalidate, data_uptr)
UAPI_SYM_OFF(iommu_hwpt_invalidate, data_type)
UAPI_SYM_OFF(iommu_hwpt_invalidate, entry_len)
UAPI_SYM_OFF(iommu_hwpt_invalidate, entry_num)
UAPI_SYM_OFF(iommu_hwpt_invalidate, __reserved)
#endif

/* 6.11 (fault queue) */
#ifdef IOMMU_FAULT_QUEUE_ALLOC
UAPI_SYM_VAL(IOMMUFD_CMD_FAULT_QUEUE_ALLOC)
UAPI_SYM_VAL(IOMMU_FAULT_QUEUE_ALLOC)
UAPI_SYM_VAL(IOMMU_HWPT_FAULT_ID_VALID)
UAPI_SYM_SIZE(iommu_hwpt_alloc)
UAPI_SYM_OFF(iommu_hwpt_alloc, fault_id)
UAPI_SYM_OFF(iommu_hwpt_alloc, __reserved2)
UAPI_SYM_VAL(IOMMU_PGFAULT_FLAGS_PASID_VALID)
UAPI_SYM_VAL(IOMMU_PGFAULT_FLAGS_LAST_PAGE)
UAPI_SYM_VAL(IOMMU_PGFAULT_PERM_READ)
UAPI_SYM_VAL(IOMMU_PGFAULT_PERM_WRITE)
UAPI_SYM_VAL(IOMMU_PGFAULT_PERM_EXEC)
UAPI_SYM_VAL(IOMMU_PGFAULT_PERM_PRIV)
UAPI_SYM_SIZE(iommu_hwpt_pgfault)
UAPI_SYM_OFF(iommu_hwpt_pgfault, flags)
UAPI_SYM_OFF(iommu_hwpt_pgfault, dev_id)
UAPI_SYM_OFF(iommu_hwpt_pgfault, pasid)
UAPI_SYM_OFF(iommu_hwpt_pgfault, grpid)
UAPI_SYM_OFF(iommu_hwpt_pgfault, perm)
UAPI_SYM_OFF(iommu_hwpt_pgfault, addr)
UAPI_SYM_OFF(iommu_hwpt_pgfault, length)
UAPI_SYM_OFF(iommu_hwpt_pgfault, cookie)
UAPI_SYM_VAL(IOMMUFD_PAGE_RESP_SUCCESS)
UAPI_SYM_VAL(IOMMUFD_PAGE_RESP_INVALID)
UAPI_SYM_SIZE(iommu_hwpt_page_response)
UAPI_SYM_OFF(iommu_hwpt_page_response, cookie)
UAPI_SYM_OFF(iommu_hwpt_page_response, code)
UAPI_SYM_SIZE(iommu_fault_alloc)
UAPI_SYM_OFF(iommu_fault_alloc, size)
UAPI_SYM_OFF(iommu_fault_alloc, flags)
UAPI_SYM_OFF(iommu_fault_alloc, out_fault_id)
UAPI_SYM_OFF(iommu_fault_alloc, out_fault_fd)
#endif

/* 6.13 */
#ifdef IOMMU_IOAS_MAP_FILE
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_MAP_FILE)
UAPI_SYM_VAL(IOMMU_IOAS_MAP_FILE)
UAPI_SYM_SIZE(iommu_ioas_map_file)
UAPI_SYM_OFF(iommu_ioas_map_file, size)
UAPI_SYM_OFF(iommu_ioas_map_file, flags)
UAPI_SYM_OFF(iommu_ioas_map_file, ioas_id)
UAPI_SYM_OFF(iommu_ioas_map_file, fd)
UAPI_SYM_OFF(iommu_ioas_map_file, start)
UAPI_SYM_OFF(iommu_ioas_map_file, length)
UAPI_SYM_OFF(iommu_ioas_map_file, iova)
#endif
#ifdef IOMMU_VIOMMU_ALLOC
UAPI_SYM_VAL(IOMMUFD_CMD_VIOMMU_ALLOC)
UAPI_SYM_VAL(IOMMU_VIOMMU_ALLOC)
UAPI_SYM_VAL(IOMMU_VIOMMU_TYPE_DEFAULT)
UAPI_SYM_OFF(iommu_viommu_alloc, size)
UAPI_SYM_OFF(iommu_viommu_alloc, flags)
UAPI_SYM_OFF(iommu_viommu_alloc, type)
UAPI_SYM_OFF(iommu_viommu_alloc, dev_id)
UAPI_SYM_OFF(iommu_viommu_alloc, hwpt_id)
UAPI_SYM_OFF(iommu_viommu_alloc, out_viommu_id)
#endif
#ifdef IOMMU_VDEVICE_ALLOC
UAPI_SYM_VAL(IOMMUFD_CMD_VDEVICE_ALLOC)
UAPI_SYM_VAL(IOMMU_VDEVICE_ALLOC)
UAPI_SYM_SIZE(iommu_vdevice_alloc)
UAPI_SYM_OFF(iommu_vdevice_alloc, size)
UAPI_SYM_OFF(iommu_vdevice_alloc, viommu_id)
UAPI_SYM_OFF(iommu_vdevice_alloc, dev_id)
UAPI_SYM_OFF(iommu_vdevice_alloc, out_vdevice_id)
UAPI_SYM_OFF(iommu_vdevice_alloc, virt_id)
#endif

/* 6.14 */
#ifdef IOMMU_IOAS_CHANGE_PROCESS
UAPI_SYM_VAL(IOMMUFD_CMD_IOAS_CHANGE_PROCESS)
UAPI_SYM_VAL(IOMMU_IOAS_CHANGE_PROCESS)
UAPI_SYM_SIZE(iommu_ioas_change_process)
UAPI_SYM_OFF(iommu_ioas_change_process, size)
UAPI_SYM_OFF(iommu_ioas_change_process, __reserved)
#endif

/* 6.15 */
#ifdef IOMMU_VEVENTQ_ALLOC
UAPI_SYM_VAL(IOMMUFD_CMD_VEVENTQ_ALLOC)
UAPI_SYM_VAL(IOMMU_VEVENTQ_ALLOC)
UAPI_SYM_VAL(IOMMU_VEVENTQ_FLAG_LOST_EVENTS)
UAPI_SYM_VAL(IOMMU_VEVENTQ_TYPE_DEFAULT)
UAPI_SYM_SIZE(iommufd_vevent_header)
UAPI_SYM_OFF(iommufd_vevent_header, flags)
UAPI_SYM_OFF(iommufd_vevent_header, sequence)
UAPI_SYM_SIZE(iommu_veventq_alloc)
UAPI_SYM_OFF(iommu_veventq_alloc, size)
UAPI_SYM_OFF(iommu_veventq_alloc, flags)
UAPI_SYM_OFF(iommu_veventq_alloc, viommu_id)
UAPI_SYM_OFF(iommu_veventq_alloc, type)
UAPI_SYM_OFF(iommu_veventq_alloc, veventq_depth)
UAPI_SYM_OFF(iommu_veventq_alloc, out_veventq_id)
UAPI_SYM_OFF(iommu_veventq_alloc, out_veventq_fd)
UAPI_SYM_OFF(iommu_veventq_alloc, __reserved)
#endif

/* 6.17 (and anything whose exact release is uncertain) */
#ifdef IOMMU_HW_QUEUE_ALLOC
UAPI_SYM_VAL(IOMMUFD_CMD_HW_QUEUE_ALLOC)
UAPI_SYM_VAL(IOMMU_HW_QUEUE_ALLOC)
UAPI_SYM_VAL(IOMMU_HWPT_ALLOC_PASID)
UAPI_SYM_VAL(IOMMU_HWPT_DATA_ARM_SMMUV3)
UAPI_SYM_SIZE(iommu_hwpt_arm_smmuv3)
UAPI_SYM_OFF(iommu_hwpt_arm_smmuv3, ste)
UAPI_SYM_VAL(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17)
UAPI_SYM_SIZE(iommu_hw_info_arm_smmuv3)
UAPI_SYM_OFF(iommu_hw_info_arm_smmuv3, flags)
UAPI_SYM_OFF(iommu_hw_info_arm_smmuv3, __reserved)
UAPI_SYM_OFF(iommu_hw_info_arm_smmuv3, idr)
UAPI_SYM_OFF(iommu_hw_info_arm_smmuv3, iidr)
UAPI_SYM_OFF(iommu_hw_info_arm_smmuv3, aidr)
UAPI_SYM_SIZE(iommu_hw_info_tegra241_cmdqv)
UAPI_SYM_OFF(iommu_hw_info_tegra241_cmdqv, flags)
UAPI_SYM_OFF(iommu_hw_info_tegra241_cmdqv, version)
UAPI_SYM_OFF(iommu_hw_info_tegra241_cmdqv, log2vcmdqs)
UAPI_SYM_OFF(iommu_hw_info_tegra241_cmdqv, log2vsids)
UAPI_SYM_OFF(iommu_hw_info_tegra241_cmdqv, __reserved)
UAPI_SYM_VAL(IOMMU_HW_INFO_TYPE_DEFAULT)
UAPI_SYM_VAL(IOMMU_HW_INFO_TYPE_ARM_SMMUV3)
UAPI_SYM_VAL(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV)
UAPI_SYM_VAL(IOMMU_HW_CAP_PCI_PASID_EXEC)
UAPI_SYM_VAL(IOMMU_HW_CAP_PCI_PASID_PRIV)
UAPI_SYM_VAL(IOMMU_HW_INFO_FLAG_INPUT_TYPE)
UAPI_SYM_OFF(iommu_hw_info, in_data_type)
UAPI_SYM_OFF(iommu_hw_info, out_max_pasid_log2)
UAPI_SYM_OFF(iommu_hw_info, __reserved)
UAPI_SYM_VAL(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3)
UAPI_SYM_SIZE(iommu_viommu_arm_smmuv3_invalidate)
UAPI_SYM_OFF(iommu_viommu_arm_smmuv3_invalidate, cmd)
UAPI_SYM_OFF(iommu_hwpt_pgfault, __reserved)
UAPI_SYM_VAL(IOMMU_VIOMMU_TYPE_ARM_SMMUV3)
UAPI_SYM_VAL(IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV)
UAPI_SYM_SIZE(iommu_viommu_tegra241_cmdqv)
UAPI_SYM_OFF(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset)
UAPI_SYM_OFF(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length)
UAPI_SYM_SIZE(iommu_viommu_alloc)
UAPI_SYM_OFF(iommu_viommu_alloc, data_len)
UAPI_SYM_OFF(iommu_viommu_alloc, __reserved)
UAPI_SYM_OFF(iommu_viommu_alloc, data_uptr)
UAPI_SYM_VAL(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3)
UAPI_SYM_VAL(IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV)
UAPI_SYM_SIZE(iommu_vevent_arm_smmuv3)
UAPI_SYM_OFF(iommu_vevent_arm_smmuv3, evt)
UAPI_SYM_SIZE(iommu_vevent_tegra241_cmdqv)
UAPI_SYM_OFF(iommu_vevent_tegra241_cmdqv, lvcmdq_err_map)
UAPI_SYM_VAL(IOMMU_HW_QUEUE_TYPE_DEFAULT)
UAPI_SYM_VAL(IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV)
UAPI_SYM_SIZE(iommu_hw_queue_alloc)
UAPI_SYM_OFF(iommu_hw_queue_alloc, size)
UAPI_SYM_OFF(iommu_hw_queue_alloc, flags)
UAPI_SYM_OFF(iommu_hw_queue_alloc, viommu_id)
UAPI_SYM_OFF(iommu_hw_queue_alloc, type)
UAPI_SYM_OFF(iommu_hw_queue_alloc, index)
UAPI_SYM_OFF(iommu_hw_queue_alloc, out_hw_queue_id)
UAPI_SYM_OFF(iommu_hw_queue_alloc, nesting_parent_iova)
UAPI_SYM_OFF(iommu_hw_queue_alloc, length)
#endif

#endif /* IOMMUFD_TYPE && IOMMU_DESTROY */

#endif /* UAPI_SYMS_EMIT_TABLE */
