/* SPDX-License-Identifier: MIT */
/*
 * Hardware page tables: the IOMMU domains that carry an IOAS's mappings to
 * devices. A HWPT is allocated for one device's IOMMU and serves every
 * compatible device attached to it.
 */
#ifndef IOMMUFD_HWPT_H
#define IOMMUFD_HWPT_H

#include <iommufd/common.h>
#include <iommufd/ioas.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_hwpt;
struct iommufd_device;

enum iommufd_hwpt_flags {
	IOMMUFD_HWPT_NEST_PARENT = 1u << 0,	/* may parent a nested HWPT */
	IOMMUFD_HWPT_DIRTY_TRACKING = 1u << 1,	/* the IOMMU must track dirty pages */
	IOMMUFD_HWPT_PASID = 1u << 2,		/* may be attached to a PASID */
};

/* Allocate a HWPT holding @ioas's mappings, for @dev's IOMMU. -EOPNOTSUPP
 * when that IOMMU cannot honour @flags (no dirty tracking, say); -ENODEV
 * for a device without an IOMMU of its own. The caller owns it;
 * iommufd_device_attach() offers it to devices attaching to @ioas. */
int iommufd_hwpt_new(struct iommufd_device *dev, struct iommufd_ioas *ioas,
		     uint32_t flags, struct iommufd_hwpt **out);

/* -EBUSY (handle still valid) while a device is attached. A HWPT that
 * iommufd_device_attach() made is the library's: it goes with its last
 * device, and is busy until then. */
int iommufd_hwpt_destroy(struct iommufd_hwpt *hwpt);

uint32_t iommufd_hwpt_id(const struct iommufd_hwpt *hwpt);
/* The flags it was allocated with. */
uint32_t iommufd_hwpt_flags(const struct iommufd_hwpt *hwpt);
struct iommufd_ioas *iommufd_hwpt_ioas(const struct iommufd_hwpt *hwpt);

#ifdef __cplusplus
}
#endif

#endif
