/* SPDX-License-Identifier: MIT */
/* Strict parsers of sysfs text, shared by discovery.c and the backends. */
#ifndef IOMMUFD_SYSFS_PARSE_H
#define IOMMUFD_SYSFS_PARSE_H

#include <stdint.h>

/* The value of hex digit @c, or -1. */
int sysfs_hexval(char c);

/* "0x" and 1..@maxdigits hex digits from [*p, end); advances *p. */
int sysfs_parse_0x(const char **p, const char *end, unsigned int maxdigits,
		   uint64_t *out);

#endif
