/* SPDX-License-Identifier: MIT */
/*
 * Map and unmap N 4 KiB mappings through the library and through the same
 * raw ioctls, on one fake kernel, in one run. The ratio is the library's
 * overhead (mapping table, locking, validation) over the bare uAPI.
 *
 * Usage: bench-map [N] [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include <linux/iommufd.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#define PAGE 4096u
#define IOVA_BASE (1ull << 32)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-map: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(EXIT_FAILURE);
}

/* Seconds to map then unmap every page of @buf one by one, raw uAPI. */
static void run_raw(struct iommufd_fake *fake, int fd, uint32_t ioas_id,
		    char *buf, unsigned long n, double *t_map, double *t_unmap)
{
	double t0 = now();

	for (unsigned long i = 0; i < n; i++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = ioas_id,
			.user_va = (uintptr_t)(buf + i * PAGE),
			.length = PAGE,
			.iova = IOVA_BASE + i * PAGE,
		};
		if (iommufd_fake_ioctl(fake, fd, IOMMU_IOAS_MAP, &map))
			die("raw IOMMU_IOAS_MAP", errno);
	}
	*t_map += now() - t0;
	t0 = now();
	for (unsigned long i = 0; i < n; i++) {
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap),
			.ioas_id = ioas_id,
			.iova = IOVA_BASE + i * PAGE,
			.length = PAGE,
		};
		if (iommufd_fake_ioctl(fake, fd, IOMMU_IOAS_UNMAP, &unmap))
			die("raw IOMMU_IOAS_UNMAP", errno);
	}
	*t_unmap += now() - t0;
}

static void run_lib(struct iommufd_ioas *ioas, char *buf, unsigned long n,
		    double *t_map, double *t_unmap)
{
	double t0 = now();
	int ret;

	for (unsigned long i = 0; i < n; i++) {
		uint64_t iova = IOVA_BASE + i * PAGE;

		ret = iommufd_ioas_map(ioas, buf + i * PAGE, PAGE, &iova,
				       IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
				       IOMMUFD_MAP_FIXED_IOVA);
		if (ret)
			die("iommufd_ioas_map", ret);
	}
	*t_map += now() - t0;
	t0 = now();
	for (unsigned long i = 0; i < n; i++) {
		ret = iommufd_ioas_unmap(ioas, IOVA_BASE + i * PAGE, PAGE, 0, NULL);
		if (ret)
			die("iommufd_ioas_unmap", ret);
	}
	*t_unmap += now() - t0;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	unsigned int rounds = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 3;
	double raw_map = 0, raw_unmap = 0, lib_map = 0, lib_unmap = 0;
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int fd, ret;
	char *buf;

	if (!n || !rounds) {
		fprintf(stderr, "usage: bench-map [N > 0] [ROUNDS > 0]\n");
		return EXIT_FAILURE;
	}
	buf = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap", errno);

	ret = iommufd_fake_new(&fake);
	if (ret)
		die("iommufd_fake_new", ret);
	fd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	if (fd < 0 || iommufd_fake_ioctl(fake, fd, IOMMU_IOAS_ALLOC, &alloc))
		die("raw IOAS", errno);
	ret = iommufd_fake_ctx_new(fake, NULL, &ctx);
	if (!ret)
		ret = iommufd_ioas_new(ctx, &ioas);
	if (ret)
		die("library IOAS", ret);

	/* Interleave rounds so drift (frequency, cache) hits both paths alike. */
	for (unsigned int r = 0; r < rounds; r++) {
		run_raw(fake, fd, alloc.out_ioas_id, buf, n, &raw_map, &raw_unmap);
		run_lib(ioas, buf, n, &lib_map, &lib_unmap);
	}

	double ops = (double)n * rounds;
	printf("%-8s %14s %14s\n", "path", "map ops/s", "unmap ops/s");
	printf("%-8s %14.0f %14.0f\n", "raw", ops / raw_map, ops / raw_unmap);
	printf("%-8s %14.0f %14.0f\n", "library", ops / lib_map, ops / lib_unmap);
	printf("mappings=%lu rounds=%u raw_map_ops=%.0f raw_unmap_ops=%.0f "
	       "lib_map_ops=%.0f lib_unmap_ops=%.0f lib_over_raw_map=%.3f "
	       "lib_over_raw_unmap=%.3f\n",
	       n, rounds, ops / raw_map, ops / raw_unmap, ops / lib_map,
	       ops / lib_unmap, raw_map / lib_map, raw_unmap / lib_unmap);

	iommufd_ioas_destroy(ioas);
	iommufd_ctx_free(ctx);
	iommufd_fake_close(fake, fd);
	iommufd_fake_free(fake);
	munmap(buf, n * PAGE);
	return EXIT_SUCCESS;
}
