/* SPDX-License-Identifier: MIT */
/*
 * The live-update description's wire format (src/lu-desc.c) on its own.
 *
 * Malformed inputs are made from a valid encoding: a field of one element
 * of one section is patched at its wire offset and the checksum recomputed,
 * so that each case reaches the check it is about instead of stopping at
 * the checksum. Offsets below are the version 1 element layouts.
 *
 * `test-lu-desc --write-corpus DIR` writes the fuzzer's seed corpus
 * (fuzz/corpus/fuzz-lu-desc/): valid encodings behind the fuzzer's mode
 * byte.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/ctx.h>
#include <iommufd/hwpt.h>
#include <iommufd/ioas.h>

#include "lu-desc.h"

#define FIXTURE_FD_CHECK_ONLY
#include "fixture.h"

/* ck_assert records every passing check through a syscall; the loops over
 * every byte use this instead. */
#define CHECK(x)                                                         \
	do {                                                             \
		if (!(x))                                                \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x); \
	} while (0)

#define HDR 40u
enum {
	T_CONTEXT = 1, T_FDS, T_FILES, T_IOAS, T_MAPS, T_ALLOWED, T_HWPTS,
	T_DEVICES, T_BACKEND, T_USER,
};
#define T_SKIP (1u << 31)

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	ck_assert_ptr_nonnull(p);
	return p;
}

/*
 * Every array non-empty: two IOAS with 3 and 2 maps (file-backed and
 * memory), two devices each attached through a HWPT, every fd role.
 */
static struct lu_desc *full_desc(void)
{
	struct lu_desc *d = lu_desc_new();
	static const uint8_t be[] = { 1, 2, 3, 4, 5, 6, 7 };
	static const uint8_t ud[] = { 'h', 'e', 'l', 'l', 'o' };

	ck_assert_ptr_nonnull(d);
	d->backend = IOMMUFD_BACKEND_IOMMUFD;
	d->features = 0x1234567890abcdefull;
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_CTX, 3), 0);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_FILE, 10), 1);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_FILE, 11), 2);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_DEVICE, 20), 3);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_DEVICE, 21), 4);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_BACKEND, 30), 5);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_EXTRA, 40), 6);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_KERNEL, 50), 7);
	d->ctx_fd = 0;

	d->nr_files = 2;
	d->files = xcalloc(2, sizeof(*d->files));
	d->files[0] = (struct lu_file){ 1, 1ull << 30, 0x801, 1000 };
	d->files[1] = (struct lu_file){ 2, 1ull << 21, 0x801, 1001 };

	d->nr_maps = 5;
	d->maps = xcalloc(5, sizeof(*d->maps));
	d->maps[0] = (struct lu_map){ 0x100000, 0x1000, 0, 3, 0 };
	d->maps[1] = (struct lu_map){ 0x101000, 0x200000, 1, 1, 0 };
	d->maps[2] = (struct lu_map){ 0x40000000, 0x1000, LU_NONE, 2,
				      0x7f0000001000ull };
	d->maps[3] = (struct lu_map){ 0x0, 0x2000, 0, 3, 0x10000 };
	d->maps[4] = (struct lu_map){ 0xfffffffffffff000ull, 0x1000, LU_NONE,
				      1, 0x7f0000002000ull };

	d->nr_allowed = 3;
	d->allowed = xcalloc(3, sizeof(*d->allowed));
	d->allowed[0] = (struct lu_range){ 0, 0xffffffff };
	d->allowed[1] = (struct lu_range){ 0x100000000ull, 0x100000000ull };
	d->allowed[2] = (struct lu_range){ 0, UINT64_MAX };

	d->nr_ioas = 2;
	d->ioas = xcalloc(2, sizeof(*d->ioas));
	d->ioas[0] = (struct lu_ioas){ 1, 0, 0, 3, 0, 2 };
	d->ioas[1] = (struct lu_ioas){ 2, LU_IOAS_NO_HUGE_PAGES, 3, 2, 2, 1 };

	d->nr_hwpts = 2;
	d->hwpts = xcalloc(2, sizeof(*d->hwpts));
	d->hwpts[0] = (struct lu_hwpt){ 5, 0, 0, 1, 0 };
	d->hwpts[1] = (struct lu_hwpt){ 6, 1, IOMMUFD_HWPT_DIRTY_TRACKING, 0,
					1 };

	d->nr_devices = 2;
	d->devices = xcalloc(2, sizeof(*d->devices));
	strcpy(d->devices[0].name, "vfio/devices/vfio0");
	strcpy(d->devices[0].pci_addr, "0000:00:04.0");
	d->devices[0].fd = 3;
	d->devices[0].devid = 7;
	d->devices[0].ioas = 0;
	d->devices[0].hwpt = 0;
	d->devices[0].pt_id = 5;
	strcpy(d->devices[1].name, "edu1");
	d->devices[1].fd = 4;
	d->devices[1].devid = 8;
	d->devices[1].ioas = 1;
	d->devices[1].hwpt = 1;
	d->devices[1].pt_id = 6;

	d->backend_len = sizeof(be);
	d->backend_data = malloc(sizeof(be));
	ck_assert_ptr_nonnull(d->backend_data);
	memcpy(d->backend_data, be, sizeof(be));
	d->user_data_len = sizeof(ud);
	d->user_data = malloc(sizeof(ud));
	ck_assert_ptr_nonnull(d->user_data);
	memcpy(d->user_data, ud, sizeof(ud));
	return d;
}

static struct lu_desc *empty_desc(void)
{
	struct lu_desc *d = lu_desc_new();

	ck_assert_ptr_nonnull(d);
	d->backend = IOMMUFD_BACKEND_TYPE1;
	return d;
}

#define SAME_ARRAY(a, b, f, n)                                              \
	ck_assert((a)->n == (b)->n &&                                       \
		  (!(a)->n || !memcmp((a)->f, (b)->f, (a)->n * sizeof(*(a)->f))))

static void assert_same(const struct lu_desc *a, const struct lu_desc *b)
{
	ck_assert_uint_eq(a->backend, b->backend);
	ck_assert_uint_eq(a->ctx_fd, b->ctx_fd);
	ck_assert_uint_eq(a->features, b->features);
	SAME_ARRAY(a, b, fds, nr_fds);
	/* struct lu_file has padding (u32 then u64s), which no encoding
	 * carries: compare it field by field. */
	ck_assert_uint_eq(a->nr_files, b->nr_files);
	for (uint32_t i = 0; i < a->nr_files; i++) {
		ck_assert_uint_eq(a->files[i].fd, b->files[i].fd);
		ck_assert_uint_eq(a->files[i].size, b->files[i].size);
		ck_assert_uint_eq(a->files[i].dev, b->files[i].dev);
		ck_assert_uint_eq(a->files[i].ino, b->files[i].ino);
	}
	SAME_ARRAY(a, b, ioas, nr_ioas);
	SAME_ARRAY(a, b, maps, nr_maps);
	SAME_ARRAY(a, b, allowed, nr_allowed);
	SAME_ARRAY(a, b, hwpts, nr_hwpts);
	SAME_ARRAY(a, b, devices, nr_devices);
	SAME_ARRAY(a, b, backend_data, backend_len);
	SAME_ARRAY(a, b, user_data, user_data_len);
}

static void encode(const struct lu_desc *d, uint8_t **buf, size_t *len)
{
	void *p = NULL;

	ck_assert_int_eq(lu_desc_encode(d, &p, len), 0);
	*buf = p;
}

static void full_encoding(uint8_t **buf, size_t *len)
{
	struct lu_desc *d = full_desc();

	encode(d, buf, len);
	lu_desc_free(d);
}

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void wr(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_checksum(uint8_t *buf, size_t len)
{
	uint32_t hsize = (uint32_t)rd(buf + 12, 4);

	wr(buf + 24, lu_desc_checksum(buf + hsize, len - hsize), 8);
}

/* Offset of section @tag's header in an encoding (0: none). */
static size_t find_section(const uint8_t *buf, size_t len, uint32_t tag)
{
	size_t off = HDR;

	while (off + 16 <= len) {
		if (rd(buf + off, 4) == tag)
			return off;
		off += 16 + rd(buf + off + 8, 8);
	}
	return 0;
}

/* Where element @i of array section @tag starts. */
static uint8_t *element(uint8_t *buf, size_t len, uint32_t tag, uint32_t i)
{
	size_t off = find_section(buf, len, tag);

	ck_assert_uint_ne(off, 0);
	return buf + off + 24 + (size_t)i * rd(buf + off + 16, 4);
}

static int decode_rc(const uint8_t *buf, size_t len)
{
	struct lu_desc *d = NULL;
	int ret = lu_desc_decode(buf, len, &d);

	if (!ret)
		lu_desc_free(d);
	return ret;
}

START_TEST(test_roundtrip_full)
{
	struct lu_desc *d = full_desc(), *e = NULL;
	uint8_t *buf, *again;
	size_t len, len2;
	uint32_t i;

	encode(d, &buf, &len);
	ck_assert_int_eq(lu_desc_decode(buf, len, &e), 0);
	assert_same(d, e);
	for (i = 0; i < e->nr_fds; i++)
		ck_assert_int_eq(e->fdv[i], -1);
	encode(e, &again, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(buf, again, len);
	free(again);

	/* Decode's arrays take further fds like lu_desc_new()'s. */
	ck_assert_int_eq(lu_desc_add_fd(e, LU_FD_EXTRA, 99), 8);
	ck_assert_int_eq(lu_desc_add_fd(e, LU_FD_EXTRA, 98), 9);
	ck_assert_int_eq(lu_desc_fd(e, 8, LU_FD_EXTRA), 99);
	ck_assert_int_eq(lu_desc_fd(e, 0, LU_FD_CTX), -EBADF);
	lu_desc_free(e);
	lu_desc_free(d);
	free(buf);
}
END_TEST

START_TEST(test_roundtrip_empty)
{
	struct lu_desc *d = empty_desc(), *e = NULL;
	uint8_t *buf, *again;
	size_t len, len2;

	encode(d, &buf, &len);
	ck_assert_int_eq(lu_desc_decode(buf, len, &e), 0);
	assert_same(d, e);
	ck_assert_ptr_null(e->fds);
	ck_assert_ptr_null(e->fdv);
	ck_assert_ptr_null(e->user_data);
	ck_assert_uint_eq(e->ctx_fd, LU_NONE);
	encode(e, &again, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(buf, again, len);
	free(again);
	free(buf);
	lu_desc_free(e);

	/* AUTO is a choice at creation, not a backend to rebuild on. */
	d->backend = IOMMUFD_BACKEND_AUTO;
	ck_assert_int_eq(lu_desc_encode(d, (void **)&buf, &len), -EINVAL);
	lu_desc_free(d);
}
END_TEST

START_TEST(test_fds)
{
	struct lu_desc *d = lu_desc_new();
	int fds[3] = { 7, -1, 9 };
	int i;

	ck_assert_int_eq(lu_desc_add_fd(d, 0, 1), -EINVAL);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD__MAX, 1), -EINVAL);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_CTX, -1), -EINVAL);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_EXTRA, i), i);
	for (i = 0; i < 100; i++)
		CHECK(lu_desc_fd(d, (uint32_t)i, LU_FD_EXTRA) == i);
	ck_assert_int_eq(lu_desc_fd(d, 100, LU_FD_EXTRA), -EBADMSG);
	ck_assert_int_eq(lu_desc_fd(d, 5, LU_FD_DEVICE), -EBADMSG);
	ck_assert_int_eq(lu_desc_fd(d, LU_NONE, LU_FD_EXTRA), -EBADMSG);
	ck_assert_int_eq(lu_desc_set_fds(d, fds, 3), -EBADMSG);
	lu_desc_free(d);

	d = lu_desc_new();
	for (i = 0; i < 3; i++)
		lu_desc_add_fd(d, LU_FD_DEVICE, 100 + i);
	ck_assert_int_eq(lu_desc_set_fds(d, fds, 2), -EBADMSG);
	ck_assert_int_eq(lu_desc_set_fds(d, fds, 3), 0);
	ck_assert_int_eq(lu_desc_fd(d, 0, LU_FD_DEVICE), 7);
	ck_assert_int_eq(lu_desc_fd(d, 1, LU_FD_DEVICE), -EBADF);
	ck_assert_int_eq(lu_desc_fd(d, 2, LU_FD_DEVICE), 9);
	lu_desc_free(d);
	lu_desc_free(NULL);
}
END_TEST

START_TEST(test_helpers)
{
	struct lu_buf b = { 0 };
	struct lu_cursor c;
	uint8_t out[4] = { 9, 9, 9, 9 };

	lu_put_u32(&b, 0x01020304);
	lu_put_u64(&b, 0x1122334455667788ull);
	lu_put_bytes(&b, "ab", 2);
	ck_assert_int_eq(b.err, 0);
	ck_assert_uint_eq(b.len, 14);
	ck_assert_uint_eq(b.data[0], 4);
	ck_assert_uint_eq(b.data[4], 0x88);

	c = (struct lu_cursor){ .p = b.data, .left = b.len };
	ck_assert_uint_eq(lu_get_u32(&c), 0x01020304);
	ck_assert_uint_eq(lu_get_u64(&c), 0x1122334455667788ull);
	lu_get_bytes(&c, out, 2);
	ck_assert_int_eq(out[0], 'a');
	ck_assert_int_eq(c.err, 0);
	/* Past the end: zero, and it sticks. */
	ck_assert_uint_eq(lu_get_u32(&c), 0);
	ck_assert_int_eq(c.err, -EBADMSG);
	lu_get_bytes(&c, out, 4);
	ck_assert_int_eq(out[0] | out[1] | out[2] | out[3], 0);

	/* A count is refused past its bound or past what the bytes left
	 * could hold. */
	c = (struct lu_cursor){ .p = b.data, .left = b.len };
	ck_assert_uint_eq(lu_get_count(&c, 0x01020303, 1), 0);
	ck_assert_int_eq(c.err, -EBADMSG);
	free(b.data);
	b = (struct lu_buf){ 0 };
	lu_put_u32(&b, 3);
	lu_put_u64(&b, 0);
	lu_put_u32(&b, 0);
	c = (struct lu_cursor){ .p = b.data, .left = b.len };
	ck_assert_uint_eq(lu_get_count(&c, 10, 4), 3);
	ck_assert_int_eq(c.err, 0);
	c = (struct lu_cursor){ .p = b.data, .left = b.len };
	ck_assert_uint_eq(lu_get_count(&c, 10, 5), 0);
	ck_assert_int_eq(c.err, -EBADMSG);
	free(b.data);

	b = (struct lu_buf){ .err = -ENOMEM };
	lu_put_u64(&b, 1);
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(b.err, -ENOMEM);
}
END_TEST

START_TEST(test_truncation)
{
	uint8_t *buf, *big;
	size_t len, i;

	full_encoding(&buf, &len);
	for (i = 0; i < len; i++)
		CHECK(decode_rc(buf, i) == -EBADMSG);
	big = malloc(len + 1);
	ck_assert_ptr_nonnull(big);
	memcpy(big, buf, len);
	big[len] = 0;
	ck_assert_int_eq(decode_rc(big, len + 1), -EBADMSG);
	free(big);
	free(buf);
}
END_TEST

START_TEST(test_payload_flips)
{
	uint8_t *buf;
	size_t len, i;
	unsigned int bit;

	full_encoding(&buf, &len);
	for (i = HDR; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			CHECK(decode_rc(buf, len) == -EBADMSG);
			buf[i] ^= (uint8_t)(1u << bit);
		}
		buf[i] ^= 0xff;
		CHECK(decode_rc(buf, len) == -EBADMSG);
		buf[i] ^= 0xff;
	}
	ck_assert_int_eq(decode_rc(buf, len), 0);
	free(buf);
}
END_TEST

START_TEST(test_header)
{
	uint8_t *buf, *grown;
	size_t len, i;
	struct lu_desc *d;

	full_encoding(&buf, &len);
	for (i = 0; i < 8; i++) {
		buf[i] ^= 0x20;
		CHECK(decode_rc(buf, len) == -EBADMSG);
		buf[i] ^= 0x20;
	}
	wr(buf + 8, 2, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EPROTO);
	wr(buf + 8, 0, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EPROTO);
	wr(buf + 8, LU_DESC_VERSION, 4);
	/* Header size: shorter than version 1's, longer than the buffer. */
	wr(buf + 12, HDR - 1, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 12, HDR + 1, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 12, UINT32_MAX, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 12, HDR, 4);
	wr(buf + 16, len - HDR + 1, 8);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 16, len - HDR - 1, 8);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 16, UINT64_MAX, 8);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 16, len - HDR, 8);
	for (i = 24; i < 32; i++) {
		buf[i] ^= 1;
		CHECK(decode_rc(buf, len) == -EBADMSG);
		buf[i] ^= 1;
	}
	wr(buf + 32, 1, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EPROTO);
	wr(buf + 32, 0, 4);
	wr(buf + 36, 1, 4);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	wr(buf + 36, 0, 4);
	ck_assert_int_eq(decode_rc(buf, len), 0);

	/* A later, longer header: its tail is read as zero or refused. */
	grown = calloc(1, len + 16);
	ck_assert_ptr_nonnull(grown);
	memcpy(grown, buf, HDR);
	memcpy(grown + HDR + 16, buf + HDR, len - HDR);
	wr(grown + 12, HDR + 16, 4);
	ck_assert_int_eq(lu_desc_decode(grown, len + 16, &d), 0);
	lu_desc_free(d);
	grown[HDR + 15] = 1;
	ck_assert_int_eq(decode_rc(grown, len + 16), -EBADMSG);
	free(grown);
	free(buf);
}
END_TEST

/* One field of one element, and what decoding with it gives. */
struct patch {
	const char *what;
	uint32_t tag, elem, off, width;
	uint64_t value;
	int expect;
};

static const struct patch patches[] = {
	{ "backend AUTO", T_CONTEXT, 0, 0, 4, 0, -EBADMSG },
	{ "backend unknown", T_CONTEXT, 0, 0, 4, 4, -EBADMSG },
	{ "backend vfio-compat", T_CONTEXT, 0, 0, 4, 3, 0 },
	{ "ctx_fd is a file", T_CONTEXT, 0, 4, 4, 1, -EBADMSG },
	{ "ctx_fd out of range", T_CONTEXT, 0, 4, 4, 8, -EBADMSG },
	{ "ctx_fd none", T_CONTEXT, 0, 4, 4, LU_NONE, 0 },
	{ "fd role 0", T_FDS, 6, 0, 4, 0, -EBADMSG },
	{ "fd role past max", T_FDS, 6, 0, 4, LU_FD__MAX, -EBADMSG },
	{ "fd number negative", T_FDS, 6, 4, 4, 0xfffffffb, -EBADMSG },
	{ "file fd is the ctx", T_FILES, 0, 0, 4, 0, -EBADMSG },
	{ "file fd out of range", T_FILES, 1, 0, 4, 8, -EBADMSG },
	{ "file fd none", T_FILES, 1, 0, 4, LU_NONE, -EBADMSG },
	{ "ioas flags unknown", T_IOAS, 0, 4, 4, 2, -EBADMSG },
	{ "ioas maps past the end", T_IOAS, 1, 8, 4, 4, -EBADMSG },
	{ "ioas maps wrap", T_IOAS, 1, 8, 4, 0xffffffff, -EBADMSG },
	{ "ioas maps overlap another's", T_IOAS, 0, 12, 4, 4, -EBADMSG },
	{ "ioas maps shared", T_IOAS, 1, 8, 4, 2, -EBADMSG },
	{ "map owned by none", T_IOAS, 0, 12, 4, 2, -EBADMSG },
	{ "ioas allowed past the end", T_IOAS, 1, 16, 4, 3, -EBADMSG },
	{ "ioas allowed count huge", T_IOAS, 0, 20, 4, 0xffffffff, -EBADMSG },
	{ "ioas allowed shared", T_IOAS, 1, 16, 4, 1, 0 },
	{ "map length 0", T_MAPS, 2, 8, 8, 0, -EBADMSG },
	{ "map wraps", T_MAPS, 4, 8, 8, 0x1001, -EBADMSG },
	{ "map offset wraps", T_MAPS, 2, 24, 8, UINT64_MAX, -EBADMSG },
	{ "maps overlap", T_MAPS, 1, 0, 8, 0x100fff, -EBADMSG },
	{ "maps same iova", T_MAPS, 1, 0, 8, 0x100000, -EBADMSG },
	{ "maps unsorted", T_MAPS, 2, 0, 8, 0x1000, -EBADMSG },
	{ "maps touch", T_MAPS, 1, 0, 8, 0x101000, 0 },
	{ "map overlaps the next", T_MAPS, 1, 8, 8, 0x40000000 - 0x101000 + 1,
	  -EBADMSG },
	{ "map prot 0", T_MAPS, 0, 20, 4, 0, -EBADMSG },
	{ "map prot fixed-iova", T_MAPS, 0, 20, 4, IOMMUFD_MAP_FIXED_IOVA,
	  -EBADMSG },
	{ "map prot high bit", T_MAPS, 0, 20, 4, 0x80000001, -EBADMSG },
	{ "map file out of range", T_MAPS, 1, 16, 4, 2, -EBADMSG },
	{ "map file none", T_MAPS, 1, 16, 4, LU_NONE, 0 },
	{ "allowed start > last", T_ALLOWED, 1, 0, 8, 0x100000001ull,
	  -EBADMSG },
	{ "hwpt ioas out of range", T_HWPTS, 0, 4, 4, 2, -EBADMSG },
	{ "hwpt ioas none", T_HWPTS, 0, 4, 4, LU_NONE, -EBADMSG },
	{ "hwpt flags unknown", T_HWPTS, 0, 8, 4, 8, -EBADMSG },
	{ "hwpt lib_owned 2", T_HWPTS, 0, 12, 4, 2, -EBADMSG },
	{ "hwpt dev out of range", T_HWPTS, 1, 16, 4, 2, -EBADMSG },
	{ "hwpt ioas not its dev's", T_HWPTS, 1, 4, 4, 0, -EBADMSG },
	{ "device name tail not zero", T_DEVICES, 0, 60, 4, 0x61616161,
	  -EBADMSG },
	{ "device name garbage after NUL", T_DEVICES, 1, 40, 1, 'x',
	  -EBADMSG },
	{ "device pci_addr tail not zero", T_DEVICES, 0, 80, 4, 0x31313131,
	  -EBADMSG },
	{ "device fd is a file", T_DEVICES, 0, 84, 4, 1, -EBADMSG },
	{ "device fd out of range", T_DEVICES, 0, 84, 4, 8, -EBADMSG },
	{ "device fd shared", T_DEVICES, 1, 84, 4, 3, -EBADMSG },
	{ "device ioas out of range", T_DEVICES, 0, 92, 4, 2, -EBADMSG },
	{ "device hwpt out of range", T_DEVICES, 0, 96, 4, 2, -EBADMSG },
	{ "device hwpt of another ioas", T_DEVICES, 0, 96, 4, 1, -EBADMSG },
	{ "device detached", T_DEVICES, 0, 92, 4, LU_NONE, 0 },
	{ "device hwpt none", T_DEVICES, 0, 96, 4, LU_NONE, 0 },
};

START_TEST(test_invariants)
{
	const struct patch *t = &patches[_i];
	struct lu_desc *d = NULL;
	uint8_t *buf;
	size_t len;
	int ret;

	full_encoding(&buf, &len);
	wr(element(buf, len, t->tag, t->elem) + t->off, t->value, t->width);
	fix_checksum(buf, len);
	ret = lu_desc_decode(buf, len, &d);
	ck_assert_msg(ret == t->expect, "%s: %d, expected %d", t->what, ret,
		      t->expect);
	if (!ret) {
		void *again;
		size_t len2;

		ck_assert_int_eq(lu_desc_encode(d, &again, &len2), 0);
		ck_assert_uint_eq(len2, len);
		ck_assert_mem_eq(again, buf, len);
		free(again);
		lu_desc_free(d);
	}
	free(buf);
}
END_TEST

/* The same invariants guard encode, which refuses to write a description
 * its reader would refuse. */
START_TEST(test_encode_refuses)
{
	struct lu_desc *d = full_desc();
	void *buf = NULL;
	size_t len;

	d->maps[1].iova = d->maps[0].iova;
	ck_assert_int_eq(lu_desc_encode(d, &buf, &len), -EINVAL);
	d->maps[1].iova = 0x101000;
	d->devices[1].hwpt = 0;
	ck_assert_int_eq(lu_desc_encode(d, &buf, &len), -EINVAL);
	d->devices[1].hwpt = 1;
	d->user_data_len = LU_MAX_USER_DATA + 1;
	ck_assert_int_eq(lu_desc_encode(d, &buf, &len), -EINVAL);
	d->user_data_len = 5;
	memset(d->devices[1].name, 'a', sizeof(d->devices[1].name));
	ck_assert_int_eq(lu_desc_encode(d, &buf, &len), -EINVAL);
	memset(d->devices[1].name, 0, sizeof(d->devices[1].name));
	strcpy(d->devices[1].name, "edu1");
	memset(d->devices[1].pci_addr, '1', sizeof(d->devices[1].pci_addr));
	ck_assert_int_eq(lu_desc_encode(d, &buf, &len), -EINVAL);
	memset(d->devices[1].pci_addr, 0, sizeof(d->devices[1].pci_addr));
	ck_assert_int_eq(lu_desc_encode(d, &buf, &len), 0);
	free(buf);
	lu_desc_free(d);
}
END_TEST

/* An encoding from a payload of sections laid out by hand. */
static void wrap(struct lu_buf *payload, uint8_t **buf, size_t *len)
{
	uint8_t *p;

	ck_assert_int_eq(payload->err, 0);
	*len = HDR + payload->len;
	p = calloc(1, *len);
	ck_assert_ptr_nonnull(p);
	memcpy(p, "IOFDLU\r\n", 8);
	wr(p + 8, LU_DESC_VERSION, 4);
	wr(p + 12, HDR, 4);
	wr(p + 16, payload->len, 8);
	if (payload->len)
		memcpy(p + HDR, payload->data, payload->len);
	fix_checksum(p, *len);
	free(payload->data);
	*payload = (struct lu_buf){ 0 };
	*buf = p;
}

static void put_context(struct lu_buf *b)
{
	lu_put_u32(b, T_CONTEXT);
	lu_put_u32(b, 0);
	lu_put_u64(b, 8 + 16);
	lu_put_u32(b, 16);
	lu_put_u32(b, 1);
	lu_put_u32(b, IOMMUFD_BACKEND_IOMMUFD);
	lu_put_u32(b, LU_NONE);
	lu_put_u64(b, 0);
}

/* @count fds of role EXTRA, in a section of element size @esize. */
static void put_fds(struct lu_buf *b, uint32_t count, uint32_t esize,
		    uint64_t len)
{
	uint32_t i;

	lu_put_u32(b, T_FDS);
	lu_put_u32(b, 0);
	lu_put_u64(b, len);
	lu_put_u32(b, esize);
	lu_put_u32(b, count);
	/* As many as the length has room for: the section may lie. */
	for (i = 0; i < count && i < (len - 8) / 8 && i < (1u << 17); i++) {
		lu_put_u32(b, LU_FD_EXTRA);
		lu_put_u32(b, i);
	}
}

static void put_blob(struct lu_buf *b, uint32_t tag, size_t len)
{
	uint8_t *zero = calloc(1, len ? len : 1);

	ck_assert_ptr_nonnull(zero);
	lu_put_u32(b, tag);
	lu_put_u32(b, 0);
	lu_put_u64(b, len);
	lu_put_bytes(b, zero, len);
	free(zero);
}

START_TEST(test_sections)
{
	struct lu_buf b = { 0 };
	struct lu_desc *d = NULL;
	uint8_t *buf;
	size_t len;

	/* Nothing but the context: a valid, empty description. */
	put_context(&b);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(lu_desc_decode(buf, len, &d), 0);
	ck_assert_uint_eq(d->nr_fds, 0);
	lu_desc_free(d);
	free(buf);

	/* No context. */
	put_fds(&b, 1, 8, 16);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);

	/* Twice the same section. */
	put_context(&b);
	put_fds(&b, 1, 8, 16);
	put_fds(&b, 1, 8, 16);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	put_context(&b);
	put_context(&b);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);

	/* Unknown sections: skipped when they say so, else -EPROTO. */
	put_context(&b);
	put_blob(&b, 77 | T_SKIP, 13);
	put_fds(&b, 2, 8, 24);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(lu_desc_decode(buf, len, &d), 0);
	ck_assert_uint_eq(d->nr_fds, 2);
	lu_desc_free(d);
	free(buf);
	put_context(&b);
	put_blob(&b, 77, 13);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EPROTO);
	free(buf);
	put_context(&b);
	put_blob(&b, 0, 0);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EPROTO);
	free(buf);

	/* A section's reserved word, and a length past the payload. */
	put_context(&b);
	lu_put_u32(&b, 77 | T_SKIP);
	lu_put_u32(&b, 1);
	lu_put_u64(&b, 0);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	put_context(&b);
	lu_put_u32(&b, 77 | T_SKIP);
	lu_put_u32(&b, 0);
	lu_put_u64(&b, 1);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	put_context(&b);
	lu_put_u32(&b, 77 | T_SKIP);
	lu_put_u32(&b, 0);
	lu_put_u64(&b, UINT64_MAX);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	/* A trailing partial section header. */
	put_context(&b);
	lu_put_u32(&b, 77 | T_SKIP);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
}
END_TEST

START_TEST(test_counts)
{
	struct lu_buf b = { 0 };
	struct lu_desc *d = NULL;
	uint8_t *buf;
	size_t len;

	/* A count the section's length does not back. */
	put_context(&b);
	put_fds(&b, 0x10000000, 8, 16);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	put_context(&b);
	put_fds(&b, UINT32_MAX, 8, 8 + 8 * (uint64_t)UINT32_MAX);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	/* Elements shorter than version 1's, or absurdly long. */
	put_context(&b);
	put_fds(&b, 1, 4, 12);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	put_context(&b);
	put_fds(&b, 0, 0x100000, 8);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	put_context(&b);
	put_fds(&b, 0, 0, 8);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	/* The context is exactly one element. */
	lu_put_u32(&b, T_CONTEXT);
	lu_put_u32(&b, 0);
	lu_put_u64(&b, 8);
	lu_put_u32(&b, 16);
	lu_put_u32(&b, 0);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);

	/* Exactly the bound, then one past it, with bytes to back it. */
	put_context(&b);
	put_fds(&b, LU_MAX_FDS, 8, 8 + 8 * (uint64_t)LU_MAX_FDS);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(lu_desc_decode(buf, len, &d), 0);
	ck_assert_uint_eq(d->nr_fds, LU_MAX_FDS);
	ck_assert_int_eq(lu_desc_add_fd(d, LU_FD_EXTRA, 1), -ENOSPC);
	lu_desc_free(d);
	free(buf);
	put_context(&b);
	put_fds(&b, LU_MAX_FDS + 1, 8, 8 + 8 * (uint64_t)(LU_MAX_FDS + 1));
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);

	put_context(&b);
	put_blob(&b, T_USER, LU_MAX_USER_DATA);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(lu_desc_decode(buf, len, &d), 0);
	ck_assert_uint_eq(d->user_data_len, LU_MAX_USER_DATA);
	lu_desc_free(d);
	free(buf);
	put_context(&b);
	put_blob(&b, T_USER, LU_MAX_USER_DATA + 1);
	wrap(&b, &buf, &len);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
}
END_TEST

/*
 * The full encoding with the maps section's elements grown by @extra bytes
 * (a later version's fields), @tail_byte in the last of them.
 */
static void grow_maps(uint8_t **out, size_t *out_len, uint32_t extra,
		      uint8_t tail_byte)
{
	struct lu_buf b = { 0 };
	uint8_t *buf, *zero;
	size_t len, off = HDR, slen;
	uint32_t esize, count, i;

	full_encoding(&buf, &len);
	zero = calloc(1, extra);
	ck_assert_ptr_nonnull(zero);
	while (off < len) {
		slen = rd(buf + off + 8, 8);
		if (rd(buf + off, 4) != T_MAPS) {
			lu_put_bytes(&b, buf + off, 16 + slen);
			off += 16 + slen;
			continue;
		}
		esize = (uint32_t)rd(buf + off + 16, 4);
		count = (uint32_t)rd(buf + off + 20, 4);
		lu_put_u32(&b, T_MAPS);
		lu_put_u32(&b, 0);
		lu_put_u64(&b, 8 + (uint64_t)count * (esize + extra));
		lu_put_u32(&b, esize + extra);
		lu_put_u32(&b, count);
		for (i = 0; i < count; i++) {
			lu_put_bytes(&b, buf + off + 24 + i * esize, esize);
			zero[extra - 1] = i == count - 1 ? tail_byte : 0;
			lu_put_bytes(&b, zero, extra);
		}
		off += 16 + slen;
	}
	free(zero);
	free(buf);
	wrap(&b, out, out_len);
}

START_TEST(test_element_growth)
{
	struct lu_desc *want = full_desc(), *d = NULL;
	uint8_t *buf;
	size_t len;

	grow_maps(&buf, &len, 8, 0);
	ck_assert_int_eq(lu_desc_decode(buf, len, &d), 0);
	assert_same(want, d);
	lu_desc_free(d);
	free(buf);

	grow_maps(&buf, &len, 8, 1);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	grow_maps(&buf, &len, 1, 0x80);
	ck_assert_int_eq(decode_rc(buf, len), -EBADMSG);
	free(buf);
	lu_desc_free(want);
}
END_TEST

static int write_file(const char *dir, const char *name, uint8_t mode,
		      const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	ok = fwrite(&mode, 1, 1, f) == 1 && fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Seeds for fuzz/fuzz-lu-desc.c: its first byte is the mode (0: decode
 * as is, 1: fix the checksum first). */
static int write_corpus(const char *dir)
{
	struct lu_desc *d;
	uint8_t *buf;
	size_t len;
	int ret = 0;

	full_encoding(&buf, &len);
	ret |= write_file(dir, "full", 0, buf, len);
	/* features: still valid once the checksum is fixed */
	buf[HDR + 33] ^= 1;
	ret |= write_file(dir, "full-stale-checksum", 1, buf, len);
	free(buf);

	d = empty_desc();
	encode(d, &buf, &len);
	ret |= write_file(dir, "empty", 0, buf, len);
	free(buf);
	d->backend = IOMMUFD_BACKEND_VFIO_COMPAT;
	lu_desc_add_fd(d, LU_FD_CTX, 4);
	d->ctx_fd = 0;
	encode(d, &buf, &len);
	ret |= write_file(dir, "ctx-only", 0, buf, len);
	free(buf);
	lu_desc_free(d);

	grow_maps(&buf, &len, 8, 0);
	ret |= write_file(dir, "grown-maps", 1, buf, len);
	free(buf);
	return ret;
}

static const char *corpus_dir;

/* A test so that the helpers' ck_asserts have a runner to report to. */
START_TEST(test_write_corpus)
{
	ck_assert_int_eq(write_corpus(corpus_dir), 0);
}
END_TEST

static Suite *lu_desc_suite(void)
{
	Suite *s = suite_create("lu-desc");
	TCase *tc = fx_tcase("core");

	tcase_add_test(tc, test_roundtrip_full);
	tcase_add_test(tc, test_roundtrip_empty);
	tcase_add_test(tc, test_fds);
	tcase_add_test(tc, test_helpers);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_payload_flips);
	tcase_add_test(tc, test_header);
	tcase_add_loop_test(tc, test_invariants, 0,
			    sizeof(patches) / sizeof(patches[0]));
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_sections);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_element_growth);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc == 3 && !strcmp(argv[1], "--write-corpus")) {
		Suite *s = suite_create("lu-desc-corpus");
		TCase *tc = tcase_create("corpus");

		corpus_dir = argv[2];
		tcase_add_test(tc, test_write_corpus);
		suite_add_tcase(s, tc);
		sr = srunner_create(s);
		srunner_set_fork_status(sr, CK_NOFORK);
		srunner_run_all(sr, CK_SILENT);
	} else {
		sr = srunner_create(lu_desc_suite());
		srunner_run_all(sr, CK_NORMAL);
	}
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
