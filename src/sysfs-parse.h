/* SPDX-License-Identifier: MIT */
/*
 * Strict parsers of sysfs text, shared by discovery.c, device.c and the
 * backends. Pure functions over strings, so fuzz/fuzz-sysfs.c can drive each
 * one alone.
 */
#ifndef IOMMUFD_SYSFS_PARSE_H
#define IOMMUFD_SYSFS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommufd/discovery.h>	/* IOMMUFD_PCI_ADDR_SIZE */

/* The value of hex digit @c, or -1. */
int sysfs_hexval(char c);

/* "0x" and 1..@maxdigits hex digits from [*p, end); advances *p. */
int sysfs_parse_0x(const char **p, const char *end, unsigned int maxdigits,
		   uint64_t *out);

/* A whole string "0x<hex>" of 1..@maxdigits digits (vendor, device, class
 * without their newline): 0 or -EBADMSG. */
int sysfs_parse_hex_attr(const char *s, unsigned int maxdigits, uint64_t *out);

/* Decimal digits from [*p, end), no sign, no leading zero unless "0", at most
 * @max; advances *p. 0 or -EINVAL. */
int sysfs_parse_dec(const char **p, const char *end, uint64_t max,
		    uint64_t *out);

/* A whole string of decimal digits as sysfs_parse_dec(): 0 or -EINVAL. */
int sysfs_parse_dec_str(const char *s, uint64_t max, uint64_t *out);

/* "major:minor" as the kernel writes a dev file, without its newline:
 * 0 or -EBADMSG. */
int sysfs_parse_devnum(const char *s, uint32_t *major, uint32_t *minor);

/* A dev file's text as read, newline and all, the lenient way device.c has
 * always read it (sscanf "%u:%u"): 0 or -EBADMSG. */
int sysfs_parse_devnum_lenient(const char *text, unsigned int *major,
			       unsigned int *minor);

/* Exactly @n hex digits from *p; advances *p. 0 or -EINVAL. */
int sysfs_parse_hex_fixed(const char **p, unsigned int n, uint32_t *out);

/*
 * A PCI address "DDDD:BB:DD.F" or "BB:DD.F" into the kernel's spelling
 * "dddd:bb:dd.f". The domain has 4 digits, or 5 to 8 without a leading zero
 * (the kernel prints it with %04x); device <= 0x1f, function <= 7.
 * 0 or -EINVAL.
 */
int sysfs_pci_addr_parse(const char *s, char out[IOMMUFD_PCI_ADDR_SIZE]);

/* As sysfs_pci_addr_parse(), but a 5 to 8 digit domain may have leading
 * zeros: what device.c accepts in a name given to iommufd_device_open(). */
int sysfs_pci_addr_parse_padded(const char *s, char out[IOMMUFD_PCI_ADDR_SIZE]);

/* An mdev's name, a UUID 8-4-4-4-12 hex digits, into lower case: 0 or
 * -EINVAL. @out may be NULL to only check. */
int sysfs_uuid_parse(const char *s, char out[37]);

/* A vfio-dev/ entry "vfio<N>" (N decimal, no leading zero, <= INT32_MAX), or
 * with @noiommu also vfio's no-IOMMU spelling "noiommu-vfio<N>": 0 and *index,
 * or -EINVAL. */
int sysfs_parse_vfio_dev_name(const char *s, bool noiommu, uint32_t *index);

/* The last component of @path (no trailing slash expected). */
const char *sysfs_path_base(const char *path);

/*
 * The name a sysfs link's target gives ("../../../kernel/iommu_groups/7" is
 * "7", trailing slashes ignored) into @buf[@size]: -EBADMSG when it has no
 * name ("", "/", ".", ".."), -ENAMETOOLONG (and "") when it does not fit.
 */
int sysfs_link_base(const char *target, char *buf, size_t size);

#endif
