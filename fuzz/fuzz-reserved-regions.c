/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: iommufd_parse_reserved_regions() over arbitrary bytes,
 * and iommufd_pci_addr_normalize() over the same bytes as a C string.
 *
 * Invariants: a successful parse returns nr regions (NULL for 0), each with
 * start <= last and a known type; a failed one allocates nothing. A
 * normalized PCI address is a fixed point of normalization.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/discovery.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_regions(const uint8_t *data, size_t size)
{
	struct iommufd_reserved_region *r = (void *)&r; /* must be overwritten */
	size_t nr = (size_t)-1;
	char *copy;
	int rc;

	/* An exact-size heap copy, so ASan sees any read past @size. */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	rc = iommufd_parse_reserved_regions(copy, size, &r, &nr);
	if (rc) {
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(r == NULL && nr == 0);
	} else {
		CHECK((nr == 0) == (r == NULL));
		CHECK(nr == 0 || size > 0);
		/* The shortest line, "0x0 0x0 msi", is 11 bytes. */
		CHECK(nr <= size / 11 + 1);
		for (size_t i = 0; i < nr; i++) {
			CHECK(r[i].start <= r[i].last);
			CHECK(iommufd_resv_type_name(r[i].type) != NULL);
		}
		free(r);
	}
	free(copy);
}

#ifdef FUZZ_HAVE_PCI_ADDR
static void fuzz_pci_addr(const uint8_t *data, size_t size)
{
	char out[IOMMUFD_PCI_ADDR_SIZE], again[IOMMUFD_PCI_ADDR_SIZE];
	char *str;
	int rc;

	str = malloc(size + 1);
	CHECK(str);
	memcpy(str, data, size);
	str[size] = '\0';
	memset(out, 0x5a, sizeof(out));
	rc = iommufd_pci_addr_normalize(str, out, sizeof(out));
	if (!rc) {
		size_t n = strnlen(out, sizeof(out));

		CHECK(n < sizeof(out));
		CHECK(iommufd_pci_addr_normalize(out, again, sizeof(again)) == 0);
		CHECK(strcmp(out, again) == 0);
		/* A buffer one byte short gives -ERANGE. */
		CHECK(iommufd_pci_addr_normalize(str, again, n) == -ERANGE);
	} else {
		CHECK(rc == -EINVAL);
	}
	free(str);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_regions(data, size);
#ifdef FUZZ_HAVE_PCI_ADDR
	fuzz_pci_addr(data, size);
#endif
	return 0;
}
