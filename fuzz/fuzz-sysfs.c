/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: every parser of src/sysfs-parse.c but the reserved
 * regions' (fuzz-reserved-regions.c) over arbitrary bytes: hex attributes
 * (vendor, device, class), decimal numbers, "major:minor" dev files, PCI
 * addresses, mdev UUIDs, vfio-dev/vfioN names and link targets (driver,
 * iommu, iommu_group).
 *
 * Each input is given as discovery.c gives sysfs text (a C string without
 * its trailing newlines, as read_attr() hands it on) and, for the parsers
 * bounded by an end pointer, as an exact-size heap buffer with no NUL, so
 * ASan sees any read past the end.
 *
 * Invariants: what a parser accepts lies in range and round-trips: the
 * canonical text of the value parses back to it, and for the parsers whose
 * input has one spelling only (decimal, dev files, vfioN), formatting the
 * value gives the input back byte for byte. Where two parsers take the same
 * thing (the strict and the lenient dev file, the canonical and the padded
 * PCI address), they agree wherever the stricter one accepts, and the
 * looser one accepts exactly what the brief says it adds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sysfs-parse.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hex_attr(const char *s)
{
	static const unsigned int widths[] = { 1, 4, 6, 16 };
	char text[32];
	uint64_t v, again;

	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		unsigned int w = widths[i];
		int rc = sysfs_parse_hex_attr(s, w, &v);

		if (rc) {
			CHECK(rc == -EBADMSG);
			continue;
		}
		CHECK(s[0] == '0' && s[1] == 'x');
		CHECK(strlen(s) >= 3 && strlen(s) <= 2 + w);
		CHECK(w >= 16 || v < (UINT64_C(1) << (4 * w)));
		/* The kernel's own spellings of the value parse back. */
		snprintf(text, sizeof(text), "0x%" PRIx64, v);
		CHECK(!sysfs_parse_hex_attr(text, w, &again) && again == v);
		snprintf(text, sizeof(text), "0x%0*" PRIX64, (int)w, v);
		CHECK(!sysfs_parse_hex_attr(text, w, &again) && again == v);
		/* One digit more than allowed is refused. */
		if (w < 16) {
			snprintf(text, sizeof(text), "0x1%0*" PRIx64, (int)w, v);
			CHECK(sysfs_parse_hex_attr(text, w, &again) == -EBADMSG);
		}
	}
}

static void fuzz_dec(const char *s)
{
	static const uint64_t maxes[] = { 0, 9, INT32_MAX, UINT32_MAX,
					  UINT64_MAX };
	char text[32];
	uint64_t v;

	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		int rc = sysfs_parse_dec_str(s, maxes[i], &v);

		if (rc) {
			CHECK(rc == -EINVAL);
			continue;
		}
		CHECK(v <= maxes[i]);
		/* One spelling per number: no sign, no leading zero. */
		snprintf(text, sizeof(text), "%" PRIu64, v);
		CHECK(!strcmp(text, s));
	}
}

/* sysfs_parse_dec() and sysfs_parse_0x() stop at @end: the bytes with no NUL
 * after them. */
static void fuzz_bounded(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	const char *p, *end;
	uint64_t v;

	CHECK(buf);
	memcpy(buf, data, size);
	end = buf + size;

	p = buf;
	if (!sysfs_parse_dec(&p, end, UINT64_MAX, &v)) {
		CHECK(p > buf && p <= end);
		CHECK(p == end || *p < '0' || *p > '9');
	} else {
		CHECK(p == buf);
	}
	p = buf;
	if (!sysfs_parse_0x(&p, end, 16, &v)) {
		CHECK(p >= buf + 3 && p <= buf + 18 && p <= end);
		CHECK(p == end || sysfs_hexval(*p) < 0 || p == buf + 18);
	} else {
		CHECK(p == buf);
	}
	if (size) {
		uint32_t x;
		unsigned int n = (unsigned int)(size < 8 ? size : 8);

		p = buf;
		if (!sysfs_parse_hex_fixed(&p, n, &x)) {
			CHECK(p == buf + n);
			for (unsigned int i = 0; i < n; i++)
				CHECK(sysfs_hexval(buf[i]) >= 0);
		} else {
			CHECK(p == buf);
		}
	}
	free(buf);
}

static void fuzz_devnum(const char *s, const char *raw)
{
	unsigned int lma, lmi;
	uint32_t ma, mi;
	char text[32];
	int rc;

	/* What device.c reads: the dev file's text, newline and all. It only
	 * must not crash; sscanf decides what it takes. */
	if (!sysfs_parse_devnum_lenient(raw, &lma, &lmi))
		CHECK(strchr(raw, ':'));

	rc = sysfs_parse_devnum(s, &ma, &mi);
	if (rc) {
		CHECK(rc == -EBADMSG);
		return;
	}
	snprintf(text, sizeof(text), "%" PRIu32 ":%" PRIu32, ma, mi);
	CHECK(!strcmp(text, s));
	/* device.c reads the same file to the same number. */
	CHECK(!sysfs_parse_devnum_lenient(s, &lma, &lmi));
	CHECK(lma == ma && lmi == mi);
	snprintf(text, sizeof(text), "%" PRIu32 ":%" PRIu32 "\n", ma, mi);
	CHECK(!sysfs_parse_devnum_lenient(text, &lma, &lmi));
	CHECK(lma == ma && lmi == mi);
}

static void fuzz_pci(const char *s)
{
	char strict[IOMMUFD_PCI_ADDR_SIZE], padded[IOMMUFD_PCI_ADDR_SIZE];
	char again[IOMMUFD_PCI_ADDR_SIZE];
	int rs, rp;

	memset(strict, 0x5a, sizeof(strict));
	memset(padded, 0x5a, sizeof(padded));
	rs = sysfs_pci_addr_parse(s, strict);
	rp = sysfs_pci_addr_parse_padded(s, padded);
	CHECK(rs == 0 || rs == -EINVAL);
	CHECK(rp == 0 || rp == -EINVAL);
	if (!rs) {
		/* The kernel's spelling is a fixed point of both. */
		CHECK(strnlen(strict, sizeof(strict)) < sizeof(strict));
		CHECK(!strcasecmp(strict + strlen(strict) - 7,
				  s + strlen(s) - 7));
		CHECK(!sysfs_pci_addr_parse(strict, again));
		CHECK(!strcmp(strict, again));
		CHECK(!rp && !strcmp(strict, padded));
	}
	if (!rp) {
		CHECK(strnlen(padded, sizeof(padded)) < sizeof(padded));
		CHECK(!sysfs_pci_addr_parse(padded, again));
		CHECK(!strcmp(padded, again));
		/* All the padded form adds: zeros before a 5 to 8 digit
		 * domain. */
		if (rs)
			CHECK(strlen(s) >= 13 && strlen(s) <= 16 &&
			      s[0] == '0');
	}
}

static void fuzz_uuid(const char *s)
{
	char out[37], again[37];
	int rc = sysfs_uuid_parse(s, out);

	CHECK(rc == sysfs_uuid_parse(s, NULL));
	if (rc) {
		CHECK(rc == -EINVAL);
		return;
	}
	CHECK(strlen(out) == 36 && !strcasecmp(out, s));
	for (size_t i = 0; i < 36; i++)
		CHECK(out[i] == '-' || (out[i] >= '0' && out[i] <= '9') ||
		      (out[i] >= 'a' && out[i] <= 'f'));
	CHECK(!sysfs_uuid_parse(out, again) && !strcmp(out, again));
}

static void fuzz_vfio_dev(const char *s)
{
	uint32_t plain, noiommu;
	char text[32];
	int rp = sysfs_parse_vfio_dev_name(s, false, &plain);
	int rn = sysfs_parse_vfio_dev_name(s, true, &noiommu);

	CHECK(rp == 0 || rp == -EINVAL);
	CHECK(rn == 0 || rn == -EINVAL);
	if (!rp) {
		CHECK(plain <= INT32_MAX);
		snprintf(text, sizeof(text), "vfio%" PRIu32, plain);
		CHECK(!strcmp(text, s));
		CHECK(!rn && noiommu == plain);
	}
	if (!rn) {
		CHECK(noiommu <= INT32_MAX);
		snprintf(text, sizeof(text), "%svfio%" PRIu32,
			 rp ? "noiommu-" : "", noiommu);
		CHECK(!strcmp(text, s));
	}
}

static void fuzz_link(const char *s)
{
	char name[64], again[64], target[128];
	const char *base = sysfs_path_base(s);
	size_t n;
	uint64_t id;
	int rc;

	CHECK(base >= s && base <= s + strlen(s) && !strchr(base, '/'));

	memset(name, 0x5a, sizeof(name));
	rc = sysfs_link_base(s, name, sizeof(name));
	if (rc == -ENAMETOOLONG) {
		CHECK(name[0] == '\0');
		return;
	}
	if (rc) {
		CHECK(rc == -EBADMSG);
		return;
	}
	n = strlen(name);
	CHECK(n > 0 && n < sizeof(name) && !strchr(name, '/'));
	CHECK(strcmp(name, ".") && strcmp(name, ".."));
	CHECK(strstr(s, name));
	/* The name is the whole of what a buffer of its size holds. */
	CHECK(!sysfs_link_base(s, again, n + 1) && !strcmp(name, again));
	CHECK(sysfs_link_base(s, again, n) == -ENAMETOOLONG && !again[0]);
	/* A link to it, as the kernel writes one, names it again. */
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%s/",
		 name);
	CHECK(!sysfs_link_base(target, again, sizeof(again)));
	CHECK(!strcmp(name, again));
	/* An iommu_group link: discovery.c's group number. */
	if (!sysfs_parse_dec_str(name, INT32_MAX, &id)) {
		snprintf(target, sizeof(target), "%" PRIu64, id);
		CHECK(!strcmp(target, name));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw, *s;
	size_t len;

	/* A sysfs attribute is at most a page; longer inputs add nothing. */
	if (size > 4096)
		return 0;
	fuzz_bounded(data, size);

	raw = malloc(size + 1);
	CHECK(raw);
	memcpy(raw, data, size);
	raw[size] = '\0';
	len = strlen(raw);
	s = malloc(len + 1);
	CHECK(s);
	memcpy(s, raw, len + 1);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';

	fuzz_hex_attr(s);
	fuzz_dec(s);
	fuzz_devnum(s, raw);
	fuzz_pci(s);
	fuzz_uuid(s);
	fuzz_vfio_dev(s);
	fuzz_link(raw);
	fuzz_link(s);
	free(s);
	free(raw);
	return 0;
}
