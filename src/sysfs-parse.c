/* SPDX-License-Identifier: MIT */
/*
 * Parsers for what the kernel writes in sysfs, kept apart from discovery.c so
 * that every build has them (the type1 backend needs reserved regions even
 * without libudev) and so they can be fuzzed alone (fuzz/fuzz-sysfs.c,
 * fuzz/fuzz-reserved-regions.c). Strict, bounded by the given length, no
 * locale, no sscanf: sysfs_parse_devnum_lenient() alone keeps the sscanf it
 * had in device.c, so that what device.c accepts did not change on the move.
 */
#include <errno.h>
#include <stdio.h>
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

int sysfs_parse_hex_attr(const char *s, unsigned int maxdigits, uint64_t *out)
{
	const char *end = s + strlen(s);

	if (sysfs_parse_0x(&s, end, maxdigits, out) || s != end)
		return -EBADMSG;
	return 0;
}

int sysfs_parse_dec(const char **p, const char *end, uint64_t max,
		    uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		/* Checked before it happens: with a @max near UINT64_MAX,
		 * v * 10 + d would wrap to a small number and pass. */
		if (d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

int sysfs_parse_dec_str(const char *s, uint64_t max, uint64_t *out)
{
	const char *end = s + strlen(s);

	if (sysfs_parse_dec(&s, end, max, out) || s != end)
		return -EINVAL;
	return 0;
}

int sysfs_parse_devnum(const char *s, uint32_t *major, uint32_t *minor)
{
	const char *end = s + strlen(s);
	uint64_t ma, mi;

	if (sysfs_parse_dec(&s, end, UINT32_MAX, &ma) || s == end ||
	    *s++ != ':' || sysfs_parse_dec(&s, end, UINT32_MAX, &mi) ||
	    s != end)
		return -EBADMSG;
	*major = (uint32_t)ma;
	*minor = (uint32_t)mi;
	return 0;
}

int sysfs_parse_devnum_lenient(const char *text, unsigned int *major,
			       unsigned int *minor)
{
	unsigned int ma, mi;
	char nl;

	if (sscanf(text, "%u:%u%c", &ma, &mi, &nl) < 2)
		return -EBADMSG;
	*major = ma;
	*minor = mi;
	return 0;
}

int sysfs_parse_hex_fixed(const char **p, unsigned int n, uint32_t *out)
{
	uint32_t v = 0;
	int d;

	for (unsigned int i = 0; i < n; i++) {
		d = sysfs_hexval((*p)[i]);
		if (d < 0)
			return -EINVAL;
		v = (v << 4) | (uint32_t)d;
	}
	*p += n;
	*out = v;
	return 0;
}

int sysfs_pci_addr_parse(const char *s, char out[IOMMUFD_PCI_ADDR_SIZE])
{
	uint32_t domain = 0, bus, dev, fn;
	size_t colons = 0, dlen = 0;
	const char *p;

	if (!s)
		return -EINVAL;
	for (p = s; *p && p - s < 32; p++)
		colons += *p == ':';
	if (*p)
		return -EINVAL;
	p = s;
	if (colons == 2) {
		while (sysfs_hexval(p[dlen]) >= 0)
			dlen++;
		if (dlen < 4 || dlen > 8 || p[dlen] != ':' ||
		    (dlen > 4 && p[0] == '0'))
			return -EINVAL;
		if (sysfs_parse_hex_fixed(&p, (unsigned int)dlen, &domain))
			return -EINVAL;
		p++;
	} else if (colons != 1) {
		return -EINVAL;
	}
	if (sysfs_parse_hex_fixed(&p, 2, &bus) || *p++ != ':' ||
	    sysfs_parse_hex_fixed(&p, 2, &dev) || *p++ != '.' ||
	    sysfs_parse_hex_fixed(&p, 1, &fn) || *p)
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, IOMMUFD_PCI_ADDR_SIZE, "%04x:%02x:%02x.%x", domain, bus,
		 dev, fn);
	return 0;
}

int sysfs_pci_addr_parse_padded(const char *s, char out[IOMMUFD_PCI_ADDR_SIZE])
{
	size_t len = strlen(s), dlen;
	uint32_t domain = 0, bus, slot, fn;
	const char *p;

	if (len == 7) {
		dlen = 0;
	} else if (len >= 12 && len <= 16) {
		dlen = len - 8;
		p = s;
		if (s[dlen] != ':' ||
		    sysfs_parse_hex_fixed(&p, (unsigned int)dlen, &domain))
			return -EINVAL;
		dlen++;
	} else {
		return -EINVAL;
	}
	s += dlen;
	p = s;
	if (s[2] != ':' || s[5] != '.' || sysfs_parse_hex_fixed(&p, 2, &bus))
		return -EINVAL;
	p = s + 3;
	if (sysfs_parse_hex_fixed(&p, 2, &slot))
		return -EINVAL;
	p = s + 6;
	if (sysfs_parse_hex_fixed(&p, 1, &fn) || slot > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, IOMMUFD_PCI_ADDR_SIZE, "%04x:%02x:%02x.%x", domain, bus,
		 slot, fn);
	return 0;
}

int sysfs_uuid_parse(const char *s, char out[37])
{
	static const size_t dash[] = { 8, 13, 18, 23 };
	size_t len = strlen(s), k = 0;
	int d;

	if (len != 36)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (k < ARRAY_SIZE(dash) && i == dash[k]) {
			if (s[i] != '-')
				return -EINVAL;
			if (out)
				out[i] = '-';
			k++;
			continue;
		}
		d = sysfs_hexval(s[i]);
		if (d < 0)
			return -EINVAL;
		if (out)
			out[i] = "0123456789abcdef"[d];
	}
	if (out)
		out[len] = '\0';
	return 0;
}

int sysfs_parse_vfio_dev_name(const char *s, bool noiommu, uint32_t *index)
{
	uint64_t x;

	if (noiommu && !strncmp(s, "noiommu-", 8))
		s += 8;
	if (strncmp(s, "vfio", 4))
		return -EINVAL;
	s += 4;
	if (sysfs_parse_dec(&s, s + strlen(s), INT32_MAX, &x) || *s)
		return -EINVAL;
	*index = (uint32_t)x;
	return 0;
}

const char *sysfs_path_base(const char *path)
{
	const char *base = strrchr(path, '/');

	return base ? base + 1 : path;
}

int sysfs_link_base(const char *target, char *buf, size_t size)
{
	size_t n = strlen(target), b;

	while (n > 1 && target[n - 1] == '/')
		n--;
	for (b = n; b && target[b - 1] != '/'; b--)
		;
	n -= b;
	target += b;
	if (!n || (n == 1 && target[0] == '.') ||
	    (n == 2 && target[0] == '.' && target[1] == '.'))
		return -EBADMSG;
	if (n >= size) {
		if (size)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(buf, target, n);
	buf[n] = '\0';
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

