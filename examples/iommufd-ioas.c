/* SPDX-License-Identifier: MIT */
/*
 * iommufd-ioas: a tour of one IO address space. Prints the kernel's features,
 * the usable IOVA ranges, maps anonymous memory and a memfd, translates IOVAs
 * back to memory, lists the mappings, and unmaps them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <iommufd/iommufd.h>

#include "example-ctx.h"

#define PROG "iommufd-ioas"
#define BUF_SIZE (2u << 20)

static int print_mapping(const struct iommufd_mapping *m, void *data)
{
	(void)data;
	printf("  iova 0x%012" PRIx64 "-0x%012" PRIx64 " %c%c  ", m->iova,
	       m->iova + m->length - 1, m->flags & IOMMUFD_MAP_READ ? 'r' : '-',
	       m->flags & IOMMUFD_MAP_WRITE ? 'w' : '-');
	if (m->fd >= 0)
		printf("file fd %d offset 0x%" PRIx64 "\n", m->fd, m->offset);
	else
		printf("memory %p\n", m->vaddr);
	return 0;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", PROG, what, strerror(-err));
	return EXIT_FAILURE;
}

int main(void)
{
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	struct iommufd_iova_ranges *ranges;
	struct iommufd_mapping m;
	uint64_t anon_iova = 0, file_iova = 0x40000000, unmapped;
	int memfd = -1, ret, status = EXIT_FAILURE;
	char *buf;

	if (example_ctx_new(PROG, &ctx))
		return EXIT_FAILURE;

	printf("features:");
	for (int f = 0; f < IOMMUFD_FEATURE__COUNT; f++)
		if (iommufd_ctx_has_feature(ctx, f))
			printf(" %s", iommufd_feature_name(f));
	printf("\n");

	ret = iommufd_ioas_new(ctx, &ioas);
	if (ret) {
		iommufd_ctx_free(ctx);
		return fail("IOAS", ret);
	}
	printf("IOAS %u\n", iommufd_ioas_id(ioas));

	ret = iommufd_ioas_get_iova_ranges(ioas, &ranges);
	if (ret)
		goto out;
	printf("usable IOVA ranges (alignment %" PRIu64 "):\n", ranges->alignment);
	for (size_t i = 0; i < ranges->nr; i++)
		printf("  0x%016" PRIx64 "-0x%016" PRIx64 "\n",
		       ranges->range[i].start, ranges->range[i].last);
	free(ranges);

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	strcpy(buf, "hello from DMA memory");
	ret = iommufd_ioas_map(ioas, buf, BUF_SIZE, &anon_iova,
			       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE);
	if (ret)
		goto out_buf;
	printf("mapped %u KiB of memory at IOVA 0x%" PRIx64 " (the kernel chose)\n",
	       BUF_SIZE >> 10, anon_iova);

	if (iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_IOAS_MAP_FILE)) {
		memfd = memfd_create("guest-ram", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, BUF_SIZE) < 0) {
			ret = -errno;
			goto out_buf;
		}
		ret = iommufd_ioas_map_file(ioas, memfd, 0, BUF_SIZE, &file_iova,
					    IOMMUFD_MAP_READ | IOMMUFD_MAP_FIXED_IOVA);
		if (ret)
			goto out_buf;
		printf("mapped a %u KiB memfd read-only at IOVA 0x%" PRIx64 "\n",
		       BUF_SIZE >> 10, file_iova);
	}

	ret = iommufd_ioas_translate(ioas, anon_iova + 4096, &m);
	if (ret)
		goto out_buf;
	printf("IOVA 0x%" PRIx64 " is memory %p (expected %p)\n", anon_iova + 4096,
	       (char *)m.vaddr + 4096, buf + 4096);
	if ((char *)m.vaddr + 4096 != buf + 4096) {
		ret = -EIO;
		goto out_buf;
	}

	printf("%zu mappings:\n", iommufd_ioas_mapping_count(ioas));
	iommufd_ioas_for_each_mapping(ioas, 0, UINT64_MAX, print_mapping, NULL);

	/* Splitting a mapping is refused and changes nothing. */
	ret = iommufd_ioas_unmap(ioas, anon_iova, 4096, 0, NULL);
	printf("unmap of the first 4 KiB only: %s (expected: %s)\n",
	       strerror(-ret), strerror(ENOENT));
	if (ret != -ENOENT) {
		ret = -EIO;
		goto out_buf;
	}
	ret = iommufd_ioas_unmap_all(ioas, &unmapped);
	if (ret)
		goto out_buf;
	printf("unmapped everything: %" PRIu64 " KiB, %zu mappings left\n",
	       unmapped >> 10, iommufd_ioas_mapping_count(ioas));
	status = EXIT_SUCCESS;
out_buf:
	if (memfd >= 0)
		close(memfd);
	munmap(buf, BUF_SIZE);
out:
	if (ret)
		fprintf(stderr, "%s: %s\n", PROG, strerror(-ret));
	iommufd_ioas_destroy(ioas);
	iommufd_ctx_free(ctx);
	return status;
}
