/* SPDX-License-Identifier: MIT */
/*
 * Parsers for what the kernel writes in sysfs, kept apart from discovery.c so
 * that every build has them (the type1 backend needs reserved regions even
 * without libudev) and so they can be fuzzed alone. Strict, bounded by the
 * given length, no locale, no sscanf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sysfs-parse.h"

int sysfs_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0x" and 1..@maxdigits hex digits from [*p, end); advances *p. */
int sysfs_parse_0x(const char **p, const char *end, unsigned int maxdigits,
		    uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned int n = 0;
	int d;

	if (end - s < 3 || s[0] != '0' || s[1] != 'x')
		return -EINVAL;
	s += 2;
	while (s < end && (d = sysfs_hexval(*s)) >= 0) {
		if (n == maxdigits)
			return -EINVAL;
		v = (v << 4) | (uint64_t)d;
		n++;
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Reserved regions.
 */

static const struct {
	const char *name;
	enum iommufd_resv_type type;
} resv_types[] = {
	{ "direct", IOMMUFD_RESV_DIRECT },
	{ "direct-relaxable", IOMMUFD_RESV_DIRECT_RELAXABLE },
	{ "reserved", IOMMUFD_RESV_RESERVED },
	{ "msi", IOMMUFD_RESV_MSI },
};

IOMMUFD_EXPORT const char *iommufd_resv_type_name(enum iommufd_resv_type type)
{
	for (size_t i = 0; i < ARRAY_SIZE(resv_types); i++)
		if (resv_types[i].type == type)
			return resv_types[i].name;
	return NULL;
}

/* One line "0x<start> 0x<last> <type>" and its '\n' (or the end of text). */
static int parse_resv_line(const char **pp, const char *end,
			   struct iommufd_reserved_region *r)
{
	const char *p = *pp, *tok;
	size_t toklen;
	size_t i;

	if (sysfs_parse_0x(&p, end, 16, &r->start) || p >= end || *p++ != ' ' ||
	    sysfs_parse_0x(&p, end, 16, &r->last) || p >= end || *p++ != ' ')
		return -EINVAL;
	tok = p;
	while (p < end && *p != '\n')
		p++;
	toklen = (size_t)(p - tok);
	for (i = 0; i < ARRAY_SIZE(resv_types); i++)
		if (strlen(resv_types[i].name) == toklen &&
		    !memcmp(resv_types[i].name, tok, toklen))
			break;
	if (i == ARRAY_SIZE(resv_types))
		return -EINVAL;
	if (r->start > r->last)
		return -EINVAL;
	r->type = resv_types[i].type;
	if (p < end)
		p++;	/* the newline */
	*pp = p;
	return 0;
}

IOMMUFD_EXPORT int iommufd_parse_reserved_regions(const char *text, size_t len,
						  struct iommufd_reserved_region **out,
						  size_t *nr)
{
	struct iommufd_reserved_region r, *regions;
	const char *p, *end;
	size_t n = 0, i;

	if (!out || !nr || (!text && len))
		return -EINVAL;
	*out = NULL;
	*nr = 0;
	if (!len)
		return 0;
	/* First pass: validate and count, so nothing is allocated on error. */
	end = text + len;
	for (p = text; p < end; n++)
		if (parse_resv_line(&p, end, &r))
			return -EINVAL;
	regions = calloc(n, sizeof(*regions));
	if (!regions)
		return -ENOMEM;
	for (p = text, i = 0; i < n; i++)
		parse_resv_line(&p, end, &regions[i]);
	*out = regions;
	*nr = n;
	return 0;
}

