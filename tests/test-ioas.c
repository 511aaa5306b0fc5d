/* SPDX-License-Identifier: MIT */
/*
 * The public IOAS API end to end on the fake kernel: map, map_file, unmap,
 * copy, IOVA ranges, options, translation, iteration, teardown and failure of
 * every kernel call on the way.
 *
 * "Table == kernel" is checked destructively at the end of a test
 * (check_kernel_matches(): an exact raw unmap of every mapping the table
 * lists, then a raw unmap-all that must find nothing left), and in between
 * through the fake's pinned-page count.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/iommufd.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#include "fixture.h"

#define PAGE 4096ull
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)

struct env {
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	char *buf;
	size_t buf_len;
};

static void env_up_version(struct env *e, unsigned int minor)
{
	memset(e, 0, sizeof(*e));
	fx_fake_new(&e->fake, minor);
	ck_assert_int_eq(iommufd_fake_ctx_new(e->fake, NULL, &e->ctx), 0);
	ck_assert_int_eq(iommufd_ioas_new(e->ctx, &e->ioas), 0);
	e->buf_len = 4 << 20;
	e->buf = buf_new(e->buf_len);
	memset(e->buf, 0x5a, e->buf_len);
}

static void env_up(struct env *e)
{
	env_up_version(e, 0);
}

static void env_down(struct env *e)
{
	iommufd_ctx_free(e->ctx);
	fx_fake_free(e->fake);
	munmap(e->buf, e->buf_len);
}

/* ---- snapshots of the table ---- */

#define SNAP_MAX 64

struct snap {
	size_t n;
	struct iommufd_mapping m[SNAP_MAX];
	uint64_t pinned;
};

static int snap_cb(const struct iommufd_mapping *m, void *data)
{
	struct snap *s = data;

	if (s->n < SNAP_MAX)
		s->m[s->n] = *m;
	s->n++;
	return 0;
}

static void snap_take(struct env *e, struct iommufd_ioas *ioas, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(ioas, 0, UINT64_MAX,
						       snap_cb, s), 0);
	ck_assert_uint_le(s->n, SNAP_MAX);
	ck_assert_uint_eq(s->n, iommufd_ioas_mapping_count(ioas));
	s->pinned = iommufd_fake_pinned_bytes(e->fake);
}

static void snap_assert_eq(const struct snap *a, const struct snap *b)
{
	ck_assert_uint_eq(a->n, b->n);
	ck_assert_uint_eq(a->pinned, b->pinned);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->m[i].iova, b->m[i].iova);
		ck_assert_uint_eq(a->m[i].length, b->m[i].length);
		ck_assert_uint_eq(a->m[i].flags, b->m[i].flags);
		ck_assert_int_eq(a->m[i].fd, b->m[i].fd);
		ck_assert_uint_eq(a->m[i].offset, b->m[i].offset);
		ck_assert_ptr_eq(a->m[i].vaddr, b->m[i].vaddr);
	}
}

/* Destructive: the kernel holds exactly the table's mappings. */
static void check_kernel_matches(struct env *e, struct iommufd_ioas *ioas)
{
	int fd = iommufd_ctx_fd(e->ctx);
	struct snap s;
	struct iommu_ioas_unmap cmd;

	snap_take(e, ioas, &s);
	for (size_t i = 0; i < s.n; i++) {
		cmd = (struct iommu_ioas_unmap){
			.size = sizeof(cmd),
			.ioas_id = iommufd_ioas_id(ioas),
			.iova = s.m[i].iova,
			.length = s.m[i].length,
		};
		ck_assert_int_eq(iommufd_fake_ioctl(e->fake, fd,
						    IOMMU_IOAS_UNMAP, &cmd), 0);
		ck_assert_uint_eq(cmd.length, s.m[i].length);
	}
	cmd = (struct iommu_ioas_unmap){
		.size = sizeof(cmd),
		.ioas_id = iommufd_ioas_id(ioas),
		.iova = 0,
		.length = UINT64_MAX,
	};
	ck_assert_int_eq(iommufd_fake_ioctl(e->fake, fd, IOMMU_IOAS_UNMAP,
					    &cmd), 0);
	ck_assert_uint_eq(cmd.length, 0);
}

static void map_fixed(struct env *e, uint64_t iova, uint64_t buf_off,
		      uint64_t len)
{
	uint64_t at = iova;

	ck_assert_int_eq(iommufd_ioas_map(e->ioas, e->buf + buf_off, len, &at,
					  FIXED), 0);
	ck_assert_uint_eq(at, iova);
}

/* ---- lifetime ---- */

START_TEST(new_destroy)
{
	struct env e;
	struct iommufd_ioas *b;

	env_up(&e);
	ck_assert_uint_ne(iommufd_ioas_id(e.ioas), 0);
	ck_assert_ptr_eq(iommufd_ioas_ctx(e.ioas), e.ctx);
	ck_assert_int_eq(iommufd_ioas_new(e.ctx, &b), 0);
	ck_assert_uint_ne(iommufd_ioas_id(b), iommufd_ioas_id(e.ioas));
	ck_assert_int_eq(iommufd_ioas_destroy(b), 0);

	ck_assert_int_eq(iommufd_ioas_new(NULL, &b), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_new(e.ctx, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_destroy(NULL), -EINVAL);
	ck_assert_uint_eq(iommufd_ioas_id(NULL), 0);
	ck_assert_ptr_null(iommufd_ioas_ctx(NULL));
	ck_assert_uint_eq(iommufd_ioas_mapping_count(NULL), 0);
	env_down(&e);
}
END_TEST

START_TEST(destroy_busy_keeps_handle)
{
	struct env e;
	struct iommufd_mapping m;

	env_up(&e);
	map_fixed(&e, 0x100000, 0, PAGE);
	iommufd_fake_fail_ioctl(e.fake, IOMMU_DESTROY, EBUSY, 1);
	ck_assert_int_eq(iommufd_ioas_destroy(e.ioas), -EBUSY);
	/* Still fully usable. */
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x100000, &m), 0);
	map_fixed(&e, 0x200000, PAGE, PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 2);
	ck_assert_int_eq(iommufd_ioas_destroy(e.ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), 0);
	env_down(&e);
}
END_TEST

START_TEST(ctx_free_with_ioas_left)
{
	struct env e;
	struct iommufd_ioas *more[3];
	uint64_t iova;
	int memfd;

	env_up(&e);
	memfd = memfd_create("ioas-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 1 << 20), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(iommufd_ioas_new(e.ctx, &more[i]), 0);
		ck_assert_int_eq(iommufd_ioas_map(more[i], e.buf, 8 * PAGE,
						  &iova, MAP_RW), 0);
		ck_assert_int_eq(iommufd_ioas_map_file(more[i], memfd, 0,
						       4 * PAGE, &iova,
						       MAP_RW), 0);
	}
	map_fixed(&e, 0x100000, 0, PAGE);
	ck_assert_uint_gt(iommufd_fake_pinned_bytes(e.fake), 0);
	close(memfd);
	/* env_down: ctx free destroys all four; no pin and no file is left. */
	env_down(&e);
}
END_TEST

/* An adopted fd the context does not own outlives it: the IOAS must not. */
START_TEST(ctx_free_adopted_destroys_ioas)
{
	struct iommufd_fake *fake = iommufd_fake_default();
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	struct iommu_destroy d = { .size = sizeof(d) };
	char *buf;
	uint64_t iova;
	int fd;

	setenv("LIBIOMMUFD_FAKE", "1", 1);
	fd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(iommufd_ctx_adopt(fd, NULL, &ctx), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(buf, MAP_FAILED);
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, PAGE, &iova, MAP_RW), 0);
	d.id = iommufd_ioas_id(ioas);
	iommufd_ctx_free(ctx);
	/* The fd is still open, and the IOAS is gone from it. */
	ck_assert_int_eq(iommufd_fake_ioctl(fake, fd, IOMMU_DESTROY, &d), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(iommufd_fake_close(fake, fd), 0);
	munmap(buf, PAGE);
	unsetenv("LIBIOMMUFD_FAKE");
}
END_TEST

/* ---- map ---- */

START_TEST(map_fixed_and_translate)
{
	struct env e;
	struct iommufd_mapping m;
	uint64_t iova;

	env_up(&e);
	map_fixed(&e, 0x100000, 0, 16 * PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 1);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), 16 * PAGE);

	/* Anywhere inside gives the whole mapping. */
	for (uint64_t off = 0; off < 16 * PAGE; off += 3 * PAGE + 17) {
		memset(&m, 0xff, sizeof(m));
		ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x100000 + off,
							&m), 0);
		ck_assert_uint_eq(m.iova, 0x100000);
		ck_assert_uint_eq(m.length, 16 * PAGE);
		ck_assert_uint_eq(m.flags, MAP_RW);
		ck_assert_int_eq(m.fd, -1);
		ck_assert_uint_eq(m.offset, 0);
		ck_assert_ptr_eq(m.vaddr, e.buf);
	}
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x100000 - 1, &m),
			 -ENOENT);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x100000 + 16 * PAGE,
						&m), -ENOENT);

	/* Overlaps fail, adjacency is fine. */
	iova = 0x100000 + 15 * PAGE;
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, 2 * PAGE, &iova,
					  FIXED), -EEXIST);
	iova = 0x100000 - PAGE;
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, 2 * PAGE, &iova,
					  FIXED), -EEXIST);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 1);
	map_fixed(&e, 0x100000 + 16 * PAGE, 0, PAGE);
	map_fixed(&e, 0x100000 - PAGE, PAGE, PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 3);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(map_kernel_chosen)
{
	struct env e;
	struct iommufd_mapping m;
	uint64_t a = 0xdead, b = 0xbeef;

	env_up(&e);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, 8 * PAGE, &a, MAP_RW),
			 0);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf + 8 * PAGE, 8 * PAGE,
					  &b, MAP_RW), 0);
	ck_assert_uint_ne(a, b);
	ck_assert(a + 8 * PAGE <= b || b + 8 * PAGE <= a);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, a + PAGE, &m), 0);
	ck_assert_ptr_eq(m.vaddr, e.buf);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, b, &m), 0);
	ck_assert_ptr_eq(m.vaddr, e.buf + 8 * PAGE);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(map_prot)
{
	static const uint32_t prots[] = { IOMMUFD_MAP_READ, IOMMUFD_MAP_WRITE,
					  MAP_RW };
	struct env e;
	struct iommufd_mapping m;

	env_up(&e);
	for (size_t i = 0; i < 3; i++) {
		uint64_t iova = 0x100000 * (i + 1);

		ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf + i * PAGE,
						  PAGE, &iova,
						  prots[i] |
							  IOMMUFD_MAP_FIXED_IOVA),
				 0);
		ck_assert_int_eq(iommufd_ioas_translate(e.ioas, iova, &m), 0);
		ck_assert_uint_eq(m.flags, prots[i]);
	}
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(map_file_memfd)
{
	struct env e;
	struct iommufd_mapping m;
	uint64_t iova = 0x500000, auto_iova;
	int memfd;

	env_up(&e);
	memfd = memfd_create("ioas-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 16 * PAGE), 0);
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, memfd, PAGE, 2 * PAGE,
					       &iova, FIXED), 0);
	ck_assert_uint_eq(iova, 0x500000);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x501fff, &m), 0);
	ck_assert_uint_eq(m.iova, 0x500000);
	ck_assert_uint_eq(m.length, 2 * PAGE);
	ck_assert_int_eq(m.fd, memfd);
	ck_assert_uint_eq(m.offset, PAGE);
	ck_assert_ptr_null(m.vaddr);
	ck_assert_uint_eq(m.flags, MAP_RW);

	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, memfd, 4 * PAGE,
					       4 * PAGE, &auto_iova,
					       IOMMUFD_MAP_READ), 0);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, auto_iova, &m), 0);
	ck_assert_uint_eq(m.offset, 4 * PAGE);
	ck_assert_uint_eq(m.flags, IOMMUFD_MAP_READ);

	/* Past the end of the file: the kernel says EINVAL, nothing changes. */
	iova = 0x600000;
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, memfd, 15 * PAGE,
					       2 * PAGE, &iova, FIXED),
			 -EINVAL);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 2);
	/* The kernel holds the file, not the fd. */
	close(memfd);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x500000, &m), 0);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(map_file_needs_6_13)
{
	struct env e;
	uint64_t iova = 0x500000;
	unsigned long calls;
	int memfd;

	env_up_version(&e, 12);
	ck_assert(!iommufd_ctx_has_feature(e.ctx,
					   IOMMUFD_FEATURE_IOAS_MAP_FILE));
	memfd = memfd_create("ioas-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 16 * PAGE), 0);
	calls = iommufd_fake_call_count(e.fake);
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, memfd, 0, PAGE, &iova,
					       FIXED), -EOPNOTSUPP);
	ck_assert_uint_eq(iommufd_fake_call_count(e.fake), calls);
	close(memfd);
	env_down(&e);
}
END_TEST

START_TEST(map_past_memlock)
{
	struct env e;
	struct snap before, after;
	uint64_t iova = 0x100000;

	env_up(&e);
	map_fixed(&e, 0x10000, 0, PAGE);
	iommufd_fake_set_memlock_limit(e.fake, 8 * PAGE);
	snap_take(&e, e.ioas, &before);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf + PAGE, 8 * PAGE, &iova,
					  FIXED), -ENOMEM);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf + PAGE, 8 * PAGE, &iova,
					  MAP_RW), -ENOMEM);
	snap_take(&e, e.ioas, &after);
	snap_assert_eq(&before, &after);
	iova = 0x100000;
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf + PAGE, 7 * PAGE, &iova,
					  FIXED), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), 8 * PAGE);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* Nothing invalid reaches the kernel, and nothing changes. */
START_TEST(bad_input)
{
	struct env e;
	struct snap before, after;
	struct iommufd_mapping m;
	struct iommufd_iova_range r = { 0x2000, 0x1000 };
	struct iommufd_ioas *other;
	unsigned long calls;
	uint64_t iova = 0x100000, bytes = 77;
	bool on;

	env_up(&e);
	ck_assert_int_eq(iommufd_ioas_new(e.ctx, &other), 0);
	map_fixed(&e, 0x100000, 0, PAGE);
	snap_take(&e, e.ioas, &before);
	calls = iommufd_fake_call_count(e.fake);

	ck_assert_int_eq(iommufd_ioas_map(NULL, e.buf, PAGE, &iova, FIXED),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, NULL, PAGE, &iova, FIXED),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, PAGE, NULL, FIXED),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, 0, &iova, FIXED),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, PAGE, &iova,
					  IOMMUFD_MAP_FIXED_IOVA), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, PAGE, &iova,
					  MAP_RW | (1u << 7)), -EINVAL);
	iova = UINT64_MAX - PAGE + 1;
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, 2 * PAGE, &iova,
					  FIXED), -EOVERFLOW);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, (void *)(UINTPTR_MAX - PAGE),
					  4 * PAGE, &iova, MAP_RW), -EOVERFLOW);
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, -1, 0, PAGE, &iova,
					       MAP_RW), -EBADF);
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, 0, UINT64_MAX, 2, &iova,
					       MAP_RW), -EOVERFLOW);
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, 0, 0, 0, &iova, MAP_RW),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, 0, 0, PAGE, &iova, 0),
			 -EINVAL);

	ck_assert_int_eq(iommufd_ioas_unmap(NULL, 0x100000, PAGE, 0, &bytes),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x100000, 0, 0, &bytes),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x100000, PAGE, 2, &bytes),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, UINT64_MAX, 2, 0, &bytes),
			 -EOVERFLOW);
	ck_assert_uint_eq(bytes, 77);
	ck_assert_int_eq(iommufd_ioas_unmap_all(NULL, &bytes), -EINVAL);

	iova = 0x900000;
	ck_assert_int_eq(iommufd_ioas_copy(NULL, &iova, e.ioas, 0x100000, PAGE,
					   FIXED), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_copy(other, NULL, e.ioas, 0x100000, PAGE,
					   FIXED), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_copy(other, &iova, NULL, 0x100000, PAGE,
					   FIXED), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_copy(other, &iova, e.ioas, 0x100000, 0,
					   FIXED), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_copy(other, &iova, e.ioas, 0x100000, PAGE,
					   IOMMUFD_MAP_FIXED_IOVA), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_copy(other, &iova, e.ioas, 0x100000, PAGE,
					   FIXED | 8), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_copy(other, &iova, e.ioas, UINT64_MAX,
					   PAGE, FIXED), -EOVERFLOW);

	ck_assert_int_eq(iommufd_ioas_translate(NULL, 0x100000, &m), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x100000, NULL),
			 -EINVAL);
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 0, 1, NULL,
						       NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 2, 1, snap_cb,
						       &after), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(NULL, 0, 1, snap_cb,
						       &after), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(e.ioas, NULL, 1), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(e.ioas, &r, 1), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(e.ioas, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(NULL, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_get_huge_pages(e.ioas, NULL), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_get_huge_pages(NULL, &on), -EINVAL);
	ck_assert_int_eq(iommufd_ioas_set_huge_pages(NULL, true), -EINVAL);

	ck_assert_uint_eq(iommufd_fake_call_count(e.fake), calls);
	snap_take(&e, e.ioas, &after);
	snap_assert_eq(&before, &after);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* ---- unmap ---- */

/* A, B, C adjacent; D and E apart. */
static void five_mappings(struct env *e)
{
	map_fixed(e, 0x100000, 0 * PAGE, 2 * PAGE);	/* A */
	map_fixed(e, 0x102000, 2 * PAGE, 2 * PAGE);	/* B */
	map_fixed(e, 0x104000, 4 * PAGE, 2 * PAGE);	/* C */
	map_fixed(e, 0x200000, 6 * PAGE, 1 * PAGE);	/* D */
	map_fixed(e, 0x300000, 7 * PAGE, 4 * PAGE);	/* E */
}

START_TEST(unmap_exact_and_range)
{
	struct env e;
	struct iommufd_mapping m;
	uint64_t bytes = 0;

	env_up(&e);
	five_mappings(&e);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x102000, 2 * PAGE, 0,
					    &bytes), 0);
	ck_assert_uint_eq(bytes, 2 * PAGE);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x102000, &m), -ENOENT);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 4);

	/* A range over A, C and D, holes included. */
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0xff000, 0x110000, 0,
					    &bytes), 0);
	ck_assert_uint_eq(bytes, 5 * PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 1);
	ck_assert_int_eq(iommufd_ioas_translate(e.ioas, 0x300000, &m), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), 4 * PAGE);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(unmap_split_or_nothing)
{
	struct env e;
	struct snap before, after;
	uint64_t bytes = 99;

	env_up(&e);
	five_mappings(&e);
	snap_take(&e, e.ioas, &before);

	/* Splits: into B from inside, across B/C, past the end of E. */
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x103000, PAGE, 0, &bytes),
			 -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x100000, 0x3000, 0,
					    &bytes), -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x100000, 0x201000, 0,
					    &bytes), -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x103000, PAGE,
					    IOMMUFD_UNMAP_IDEMPOTENT, &bytes),
			 -ENOENT);
	ck_assert_uint_eq(bytes, 99);

	/* Nothing there. */
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x400000, 0x100000, 0,
					    &bytes), -ENOENT);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x106000, PAGE, 0, &bytes),
			 -ENOENT);
	ck_assert_uint_eq(bytes, 99);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x400000, 0x100000,
					    IOMMUFD_UNMAP_IDEMPOTENT, &bytes),
			 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x106000, PAGE,
					    IOMMUFD_UNMAP_IDEMPOTENT, NULL), 0);

	snap_take(&e, e.ioas, &after);
	snap_assert_eq(&before, &after);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(unmap_all)
{
	struct env e;
	uint64_t bytes = 1;

	env_up(&e);
	ck_assert_int_eq(iommufd_ioas_unmap_all(e.ioas, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	five_mappings(&e);
	ck_assert_int_eq(iommufd_ioas_unmap_all(e.ioas, &bytes), 0);
	ck_assert_uint_eq(bytes, 11 * PAGE);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), 0);

	/* The kernel's spelling of "all" through unmap(). */
	five_mappings(&e);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0, UINT64_MAX, 0, &bytes),
			 0);
	ck_assert_uint_eq(bytes, 11 * PAGE);
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0, UINT64_MAX, 0, NULL), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 0);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* ---- copy ---- */

START_TEST(copy_between_ioas)
{
	struct env e, e2;
	struct iommufd_ioas *dst;
	struct iommufd_mapping m;
	uint64_t iova, pinned;
	int memfd;

	env_up(&e);
	ck_assert_int_eq(iommufd_ioas_new(e.ctx, &dst), 0);
	map_fixed(&e, 0x100000, 0, 4 * PAGE);
	pinned = iommufd_fake_pinned_bytes(e.fake);

	iova = 0x800000;
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova, e.ioas, 0x100000,
					   4 * PAGE,
					   IOMMUFD_MAP_READ |
						   IOMMUFD_MAP_FIXED_IOVA), 0);
	ck_assert_uint_eq(iova, 0x800000);
	ck_assert_int_eq(iommufd_ioas_translate(dst, 0x801000, &m), 0);
	ck_assert_uint_eq(m.iova, 0x800000);
	ck_assert_uint_eq(m.length, 4 * PAGE);
	ck_assert_ptr_eq(m.vaddr, e.buf);
	ck_assert_uint_eq(m.flags, IOMMUFD_MAP_READ);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), pinned);

	/* Kernel-chosen destination, and a copy within one IOAS. */
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova, e.ioas, 0x100000,
					   4 * PAGE, MAP_RW), 0);
	ck_assert_int_eq(iommufd_ioas_translate(dst, iova, &m), 0);
	ck_assert_ptr_eq(m.vaddr, e.buf);
	iova = 0x900000;
	ck_assert_int_eq(iommufd_ioas_copy(e.ioas, &iova, e.ioas, 0x100000,
					   4 * PAGE, FIXED), 0);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 2);

	/* Not exactly one source mapping; an occupied destination. */
	iova = 0xa00000;
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova, e.ioas, 0x101000, PAGE,
					   FIXED), -ENOENT);
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova, e.ioas, 0x100000,
					   8 * PAGE, FIXED), -ENOENT);
	iova = 0x802000;
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova, e.ioas, 0x100000,
					   4 * PAGE, FIXED), -EEXIST);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(dst), 2);

	/* File-backed source: the copy carries fd and offset. */
	memfd = memfd_create("ioas-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 16 * PAGE), 0);
	iova = 0x400000;
	ck_assert_int_eq(iommufd_ioas_map_file(e.ioas, memfd, 3 * PAGE, PAGE,
					       &iova, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_copy(dst, &iova, e.ioas, 0x400000, PAGE,
					   MAP_RW), 0);
	ck_assert_int_eq(iommufd_ioas_translate(dst, iova, &m), 0);
	ck_assert_int_eq(m.fd, memfd);
	ck_assert_uint_eq(m.offset, 3 * PAGE);
	ck_assert_ptr_null(m.vaddr);
	close(memfd);

	/* The copy outlives the source mapping. */
	ck_assert_int_eq(iommufd_ioas_unmap(e.ioas, 0x100000, 4 * PAGE, 0,
					    NULL), 0);
	ck_assert_int_eq(iommufd_ioas_translate(dst, 0x800000, &m), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(e.fake), pinned + PAGE);

	/* Both IOAS must belong to one context. */
	env_up(&e2);
	iova = 0x100000;
	ck_assert_int_eq(iommufd_ioas_copy(e2.ioas, &iova, dst, 0x800000,
					   4 * PAGE, FIXED), -EINVAL);
	env_down(&e2);

	check_kernel_matches(&e, dst);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* ---- IOVA ranges, allow list, options ---- */

START_TEST(iova_ranges_and_reserved)
{
	struct env e;
	struct iommufd_iova_ranges *r;
	struct iommufd_iova_range allow = { 0x40000000, 0x40ffffff };
	uint64_t iova;

	env_up(&e);
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(e.ioas, &r), 0);
	ck_assert_uint_ge(r->nr, 1);
	ck_assert_uint_ge(r->alignment, 1);
	ck_assert_uint_eq(r->range[r->nr - 1].last, UINT64_MAX);
	free(r);

	/* An MSI window, and enough other holes to need EMSGSIZE growth. */
	ck_assert_int_eq(iommufd_fake_add_reserved_region(e.fake, 0xfee00000,
							  0xfeefffff), 0);
	for (uint64_t i = 1; i <= 12; i++)
		ck_assert_int_eq(iommufd_fake_add_reserved_region(
					 e.fake, 0x100000000ull * i,
					 0x100000000ull * i + 0xfff), 0);
	ck_assert_int_eq(iommufd_ioas_get_iova_ranges(e.ioas, &r), 0);
	ck_assert_uint_eq(r->nr, 14);
	ck_assert_uint_eq(r->range[0].start, 0);
	ck_assert_uint_eq(r->range[0].last, 0xfedfffff);
	ck_assert_uint_eq(r->range[1].start, 0xfef00000);
	ck_assert_uint_eq(r->range[1].last, 0xffffffff);
	for (size_t i = 1; i < r->nr; i++)
		ck_assert_uint_gt(r->range[i].start, r->range[i - 1].last);
	free(r);

	/* Mapping into the reserved window fails in the kernel. */
	iova = 0xfee00000;
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, PAGE, &iova, FIXED),
			 -EINVAL);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 0);

	/* The allow list steers kernel-chosen IOVAs. */
	ck_assert_int_eq(iommufd_ioas_allow_iovas(e.ioas, &allow, 1), 0);
	ck_assert_int_eq(iommufd_ioas_map(e.ioas, e.buf, 4 * PAGE, &iova,
					  MAP_RW), 0);
	ck_assert_uint_ge(iova, allow.start);
	ck_assert_uint_le(iova + 4 * PAGE - 1, allow.last);
	/* An allowed range may not be reserved. */
	allow.start = 0xfee00000;
	allow.last = 0xfeefffff;
	ck_assert_int_lt(iommufd_ioas_allow_iovas(e.ioas, &allow, 1), 0);
	ck_assert_int_eq(iommufd_ioas_allow_iovas(e.ioas, NULL, 0), 0);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

START_TEST(huge_pages_option)
{
	struct env e;
	bool on = false;

	env_up(&e);
	ck_assert_int_eq(iommufd_ioas_get_huge_pages(e.ioas, &on), 0);
	ck_assert(on);
	ck_assert_int_eq(iommufd_ioas_set_huge_pages(e.ioas, false), 0);
	ck_assert_int_eq(iommufd_ioas_get_huge_pages(e.ioas, &on), 0);
	ck_assert(!on);
	ck_assert_int_eq(iommufd_ioas_set_huge_pages(e.ioas, true), 0);
	ck_assert_int_eq(iommufd_ioas_get_huge_pages(e.ioas, &on), 0);
	ck_assert(on);
	env_down(&e);
}
END_TEST

START_TEST(rlimit_mode_via_ctx)
{
	struct env e;
	enum iommufd_rlimit_mode mode = IOMMUFD_RLIMIT_PROCESS;
	int rc;

	env_up(&e);
	ck_assert_int_eq(iommufd_ctx_get_rlimit_mode(e.ctx, &mode), 0);
	ck_assert_int_eq(mode, IOMMUFD_RLIMIT_USER);
	/* The kernel refuses a change while the iommufd holds objects. */
	ck_assert_int_eq(iommufd_ctx_set_rlimit_mode(e.ctx,
						     IOMMUFD_RLIMIT_PROCESS),
			 -EBUSY);
	ck_assert_int_eq(iommufd_ioas_destroy(e.ioas), 0);
	rc = iommufd_ctx_set_rlimit_mode(e.ctx, IOMMUFD_RLIMIT_PROCESS);
	if (rc == 0) {
		ck_assert_int_eq(iommufd_ctx_get_rlimit_mode(e.ctx, &mode), 0);
		ck_assert_int_eq(mode, IOMMUFD_RLIMIT_PROCESS);
	} else {
		ck_assert_int_eq(rc, -EPERM);
	}
	/* Mapping works under either mode. */
	ck_assert_int_eq(iommufd_ioas_new(e.ctx, &e.ioas), 0);
	map_fixed(&e, 0x100000, 0, PAGE);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* ---- iteration ---- */

struct walk {
	uint64_t iova[16];
	size_t n;
	size_t stop_at;
	struct iommufd_ioas *ioas;
	int nested_rc[4];
};

static int walk_cb(const struct iommufd_mapping *m, void *data)
{
	struct walk *w = data;

	w->iova[w->n++] = m->iova;
	return w->n == w->stop_at ? 7 : 0;
}

START_TEST(for_each_order_and_stop)
{
	struct env e;
	struct walk w = { 0 };

	env_up(&e);
	/* Made out of order. */
	map_fixed(&e, 0x40000, 0, PAGE);
	map_fixed(&e, 0x10000, PAGE, PAGE);
	map_fixed(&e, 0x30000, 2 * PAGE, PAGE);
	map_fixed(&e, 0x20000, 3 * PAGE, PAGE);

	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 0, UINT64_MAX,
						       walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(w.iova[i], 0x10000 * (i + 1));

	/* Intersecting [first, last]: 0x20000 (by its tail) and 0x30000. */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 0x20fff, 0x30000,
						       walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_uint_eq(w.iova[0], 0x20000);
	ck_assert_uint_eq(w.iova[1], 0x30000);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 0x21000, 0x2ffff,
						       walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 0);

	/* A non-zero return stops the walk and comes back. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 0, UINT64_MAX,
						       walk_cb, &w), 7);
	ck_assert_uint_eq(w.n, 2);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* From a callback: reads work (no self-deadlock), mutations are refused. */
static int nested_cb(const struct iommufd_mapping *m, void *data)
{
	struct walk *w = data;
	struct iommufd_mapping t;
	uint64_t iova = 0x900000;

	if (iommufd_ioas_translate(w->ioas, m->iova, &t) || t.iova != m->iova)
		return 100;
	if (iommufd_ioas_mapping_count(w->ioas) != 2)
		return 101;
	w->nested_rc[0] = iommufd_ioas_map(w->ioas, (void *)(uintptr_t)0x1000,
					   PAGE, &iova, FIXED);
	w->nested_rc[1] = iommufd_ioas_unmap(w->ioas, m->iova, m->length, 0,
					     NULL);
	w->nested_rc[2] = iommufd_ioas_unmap_all(w->ioas, NULL);
	w->nested_rc[3] = iommufd_ioas_destroy(w->ioas);
	w->n++;
	return 0;
}

START_TEST(for_each_reentrancy)
{
	struct env e;
	struct walk w = { 0 };

	env_up(&e);
	map_fixed(&e, 0x10000, 0, PAGE);
	map_fixed(&e, 0x20000, PAGE, PAGE);
	w.ioas = e.ioas;
	ck_assert_int_eq(iommufd_ioas_for_each_mapping(e.ioas, 0, UINT64_MAX,
						       nested_cb, &w), 0);
	ck_assert_uint_eq(w.n, 2);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(w.nested_rc[i], -EDEADLK);
	ck_assert_uint_eq(iommufd_ioas_mapping_count(e.ioas), 2);
	check_kernel_matches(&e, e.ioas);
	env_down(&e);
}
END_TEST

/* ---- failure of every kernel call ---- */

struct fault_case {
	const char *name;
	int (*op)(struct env *e, struct iommufd_ioas *dst);
	/* After a failure at call n > 1 the table need only match the kernel
	 * (an unmap of several runs stops part way). */
	bool partial;
	unsigned long calls;	/* kernel calls when nothing fails */
};

static int op_map_fixed(struct env *e, struct iommufd_ioas *dst)
{
	uint64_t iova = 0x500000;

	return iommufd_ioas_map(e->ioas, e->buf + 64 * PAGE, 4 * PAGE, &iova,
				FIXED);
}

static int op_map_auto(struct env *e, struct iommufd_ioas *dst)
{
	uint64_t iova;

	return iommufd_ioas_map(e->ioas, e->buf + 64 * PAGE, 4 * PAGE, &iova,
				MAP_RW);
}

static int op_map_file(struct env *e, struct iommufd_ioas *dst)
{
	uint64_t iova = 0x600000;
	int memfd = memfd_create("ioas-test", MFD_CLOEXEC), rc;

	if (memfd < 0 || ftruncate(memfd, 4 * PAGE))
		return -errno;
	rc = iommufd_ioas_map_file(e->ioas, memfd, 0, 4 * PAGE, &iova, FIXED);
	close(memfd);
	return rc;
}

static int op_unmap_one(struct env *e, struct iommufd_ioas *dst)
{
	return iommufd_ioas_unmap(e->ioas, 0x200000, PAGE, 0, NULL);
}

static int op_unmap_run(struct env *e, struct iommufd_ioas *dst)
{
	return iommufd_ioas_unmap(e->ioas, 0x100000, 6 * PAGE, 0, NULL);
}

static int op_unmap_runs(struct env *e, struct iommufd_ioas *dst)
{
	return iommufd_ioas_unmap(e->ioas, 0, 0x400000, 0, NULL);
}

static int op_unmap_all(struct env *e, struct iommufd_ioas *dst)
{
	return iommufd_ioas_unmap_all(e->ioas, NULL);
}

static int op_copy_fixed(struct env *e, struct iommufd_ioas *dst)
{
	uint64_t iova = 0x700000;

	return iommufd_ioas_copy(dst, &iova, e->ioas, 0x300000, 4 * PAGE, FIXED);
}

static int op_copy_auto(struct env *e, struct iommufd_ioas *dst)
{
	uint64_t iova;

	return iommufd_ioas_copy(dst, &iova, e->ioas, 0x102000, 2 * PAGE,
				 MAP_RW);
}

static int op_ranges(struct env *e, struct iommufd_ioas *dst)
{
	struct iommufd_iova_ranges *r = NULL;
	int rc = iommufd_ioas_get_iova_ranges(e->ioas, &r);

	free(r);
	return rc;
}

static int op_new(struct env *e, struct iommufd_ioas *dst)
{
	struct iommufd_ioas *n;
	int rc = iommufd_ioas_new(e->ctx, &n);

	if (!rc)
		rc = iommufd_ioas_destroy(n);
	return rc;
}

static const struct fault_case fault_cases[] = {
	{ "map fixed", op_map_fixed, false, 1 },
	{ "map auto", op_map_auto, false, 1 },
	{ "map file", op_map_file, false, 1 },
	{ "unmap one", op_unmap_one, false, 1 },
	{ "unmap run", op_unmap_run, false, 1 },	/* A, B, C: one call */
	{ "unmap runs", op_unmap_runs, true, 3 },	/* ABC, D, E */
	{ "unmap all", op_unmap_all, false, 1 },
	{ "copy fixed", op_copy_fixed, false, 1 },
	{ "copy auto", op_copy_auto, false, 1 },
	{ "iova ranges", op_ranges, false, 1 },
	{ "new+destroy", op_new, true, 2 },
};

START_TEST(fail_every_kernel_call)
{
	const struct fault_case *fc = &fault_cases[_i];
	unsigned long n;

	for (n = 1;; n++) {
		struct env e;
		struct iommufd_ioas *dst;
		struct snap before, after, dbefore, dafter;
		unsigned long calls;
		int rc;

		env_up(&e);
		ck_assert_int_eq(iommufd_ioas_new(e.ctx, &dst), 0);
		five_mappings(&e);
		snap_take(&e, e.ioas, &before);
		snap_take(&e, dst, &dbefore);

		calls = iommufd_fake_call_count(e.fake);
		iommufd_fake_fail_nth(e.fake, n, EIO);
		rc = fc->op(&e, dst);
		iommufd_fake_fail_clear(e.fake);
		if (rc == 0) {
			/* Ran out of calls to fail before the nth. */
			ck_assert_msg(iommufd_fake_call_count(e.fake) - calls < n,
				      "%s: call %lu failed yet the op succeeded",
				      fc->name, n);
			check_kernel_matches(&e, e.ioas);
			check_kernel_matches(&e, dst);
			env_down(&e);
			break;
		}
		ck_assert_msg(rc == -EIO, "%s: call %lu: %d", fc->name, n, rc);
		if (!fc->partial || n == 1) {
			snap_take(&e, e.ioas, &after);
			snap_assert_eq(&before, &after);
			snap_take(&e, dst, &dafter);
			snap_assert_eq(&dbefore, &dafter);
		}
		/* After a failure, the library still works normally. */
		ck_assert_int_eq(op_map_fixed(&e, dst) == 0 ||
					 op_map_fixed(&e, dst) == -EEXIST, 1);
		check_kernel_matches(&e, e.ioas);
		check_kernel_matches(&e, dst);
		env_down(&e);
		ck_assert_uint_lt(n, 16);
	}
	/* Every kernel call of the operation was failed once. */
	ck_assert_uint_eq(n, fc->calls + 1);
}
END_TEST

static Suite *ioas_suite(void)
{
	Suite *s = suite_create("ioas");
	TCase *tc = fx_tcase("ioas");

	tcase_add_test(tc, new_destroy);
	tcase_add_test(tc, destroy_busy_keeps_handle);
	tcase_add_test(tc, ctx_free_with_ioas_left);
	tcase_add_test(tc, ctx_free_adopted_destroys_ioas);
	tcase_add_test(tc, map_fixed_and_translate);
	tcase_add_test(tc, map_kernel_chosen);
	tcase_add_test(tc, map_prot);
	tcase_add_test(tc, map_file_memfd);
	tcase_add_test(tc, map_file_needs_6_13);
	tcase_add_test(tc, map_past_memlock);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, unmap_exact_and_range);
	tcase_add_test(tc, unmap_split_or_nothing);
	tcase_add_test(tc, unmap_all);
	tcase_add_test(tc, copy_between_ioas);
	tcase_add_test(tc, iova_ranges_and_reserved);
	tcase_add_test(tc, huge_pages_option);
	tcase_add_test(tc, rlimit_mode_via_ctx);
	tcase_add_test(tc, for_each_order_and_stop);
	tcase_add_test(tc, for_each_reentrancy);
	tcase_add_loop_test(tc, fail_every_kernel_call, 0,
			    sizeof(fault_cases) / sizeof(fault_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(ioas_suite());
}
