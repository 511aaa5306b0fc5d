/* SPDX-License-Identifier: MIT */
/*
 * Symbol table built from the *system* uAPI headers.
 *
 * This file must be compiled WITHOUT libiommufd's src/uapi include
 * directory, so <linux/vfio.h> (and <linux/iommufd.h>, when the system has
 * one) are the installed kernel headers. test-uapi.c builds the same list
 * against our headers and requires every entry here to match.
 */
#include <stddef.h>

#include <linux/vfio.h>

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#define UAPI_SYSTEM_HAS_IOMMUFD 1
#endif
#endif
#ifndef UAPI_SYSTEM_HAS_IOMMUFD
#define UAPI_SYSTEM_HAS_IOMMUFD 0
#endif

/*
 * Installed kernel headers carry only the stripped guard (VFIO_H,
 * _IOMMUFD_H); libiommufd's copies define both forms. Seeing both means
 * src/uapi leaked onto this file's include path and the comparison would
 * be meaningless.
 */
#if defined(_UAPIVFIO_H) && defined(VFIO_H)
#error "uapi-system.c must not see libiommufd's src/uapi/linux/vfio.h"
#endif
#if defined(_UAPI_IOMMUFD_H) && defined(_IOMMUFD_H)
#error "uapi-system.c must not see libiommufd's src/uapi/linux/iommufd.h"
#endif

#include "uapi-syms.h"

const int uapi_system_has_iommufd = UAPI_SYSTEM_HAS_IOMMUFD;

const struct uapi_sym uapi_system_syms[] = {
#define UAPI_SYMS_EMIT_TABLE
#include "uapi-syms.h"
#undef UAPI_SYMS_EMIT_TABLE
	{ NULL, 0 }
};
