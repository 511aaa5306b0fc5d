/* SPDX-License-Identifier: MIT */
/* libiommufd: the umbrella header. The fake kernel has its own, fake.h. */
#ifndef IOMMUFD_IOMMUFD_H
#define IOMMUFD_IOMMUFD_H

#include <iommufd/common.h>
#include <iommufd/ctx.h>
#include <iommufd/ioas.h>
#include <iommufd/hwpt.h>
#include <iommufd/device.h>
#include <iommufd/discovery.h>
#include <iommufd/dirty.h>
#include <iommufd/tracking.h>
#include <iommufd/liveupdate.h>

#endif
