/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the live-update description's decoder (src/lu-desc.c)
 * on arbitrary bytes.
 *
 * Input: one mode byte, then the encoding. Mode bit 0 set: the header's
 * checksum is recomputed over the payload before decoding. Without that
 * almost every mutation of the payload dies at the checksum (64-bit
 * FNV-1a: a changed byte always changes it), so the fuzzer would only ever
 * explore the header; the checksum is an integrity check, not a defence,
 * and what must hold against a hostile writer (who can compute it too) is
 * everything behind it. Mode bit clear keeps the checksum path itself
 * covered.
 *
 * A successful decode must be whole: every index is followed into the
 * array it names (so a hole in validation is an out-of-bounds read ASan
 * reports, or a failed CHECK), the invariants lu-desc.h promises are
 * checked again here independently, and the description must encode,
 * decode to the same arrays, and encode to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/ioas.h>

#include "lu-desc.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz-lu-desc: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                    \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

#define HDR 40u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static uint32_t fd_role(const struct lu_desc *d, uint32_t idx)
{
	CHECK(idx < d->nr_fds);
	return d->fds[idx].role;
}

static void walk(const struct lu_desc *d)
{
	uint64_t owned = 0;
	uint32_t i, j;

	CHECK(d->backend >= 1 && d->backend <= 3);
	if (d->ctx_fd != LU_NONE)
		CHECK(fd_role(d, d->ctx_fd) == LU_FD_CTX);
	for (i = 0; i < d->nr_fds; i++) {
		CHECK(d->fds[i].role >= LU_FD_CTX && d->fds[i].role < LU_FD__MAX);
		CHECK(d->fdv[i] == -1);
		CHECK(lu_desc_fd(d, i, d->fds[i].role) == -EBADF);
	}
	CHECK(lu_desc_fd(d, d->nr_fds, LU_FD_CTX) == -EBADMSG);
	for (i = 0; i < d->nr_files; i++)
		CHECK(fd_role(d, d->files[i].fd) == LU_FD_FILE);

	for (i = 0; i < d->nr_ioas; i++) {
		const struct lu_ioas *io = &d->ioas[i];

		for (j = 0; j < io->nr_maps; j++) {
			const struct lu_map *m = &d->maps[io->first_map + j];

			CHECK(m->length && m->iova + (m->length - 1) >= m->iova);
			CHECK(m->prot && !(m->prot & ~(uint32_t)(IOMMUFD_MAP_READ |
							     IOMMUFD_MAP_WRITE)));
			if (m->file != LU_NONE)
				CHECK(fd_role(d, d->files[m->file].fd) ==
				      LU_FD_FILE);
			if (j)
				CHECK(m->iova > m[-1].iova + (m[-1].length - 1));
		}
		owned += io->nr_maps;
		for (j = 0; j < io->nr_allowed; j++) {
			const struct lu_range *r =
				&d->allowed[io->first_allowed + j];

			CHECK(r->start <= r->last);
		}
	}
	/* Together with per-IOAS disjointness checked by decode, the sum
	 * proves each map has exactly one owner. */
	CHECK(owned == d->nr_maps);

	for (i = 0; i < d->nr_hwpts; i++) {
		const struct lu_hwpt *h = &d->hwpts[i];

		CHECK(d->ioas[h->ioas].nr_maps <= d->nr_maps);
		CHECK(d->devices[h->dev].name[sizeof(d->devices[0].name) - 1] ==
		      0);
		CHECK(h->lib_owned <= 1);
	}
	for (i = 0; i < d->nr_devices; i++) {
		const struct lu_device *dv = &d->devices[i];

		CHECK(strlen(dv->name) < sizeof(dv->name));
		CHECK(strlen(dv->pci_addr) < sizeof(dv->pci_addr));
		CHECK(fd_role(d, dv->fd) == LU_FD_DEVICE);
		if (dv->ioas != LU_NONE)
			CHECK(d->ioas[dv->ioas].nr_maps <= d->nr_maps);
		if (dv->hwpt != LU_NONE && dv->ioas != LU_NONE)
			CHECK(d->hwpts[dv->hwpt].ioas == dv->ioas);
	}
	CHECK(d->user_data_len <= LU_MAX_USER_DATA);
	CHECK(d->backend_len <= LU_MAX_BACKEND_DATA);
	/* Touch the last byte of each blob: ASan checks the length. */
	if (d->user_data_len)
		sink ^= d->user_data[d->user_data_len - 1];
	if (d->backend_len)
		sink ^= d->backend_data[d->backend_len - 1];
}

#define SAME(a, b, f, n)                                                   \
	CHECK((a)->n == (b)->n &&                                          \
	      (!(a)->n || !memcmp((a)->f, (b)->f, (a)->n * sizeof(*(a)->f))))

static void same(const struct lu_desc *a, const struct lu_desc *b)
{
	CHECK(a->backend == b->backend && a->ctx_fd == b->ctx_fd &&
	      a->features == b->features);
	SAME(a, b, fds, nr_fds);
	SAME(a, b, files, nr_files);
	SAME(a, b, ioas, nr_ioas);
	SAME(a, b, maps, nr_maps);
	SAME(a, b, allowed, nr_allowed);
	SAME(a, b, hwpts, nr_hwpts);
	SAME(a, b, devices, nr_devices);
	SAME(a, b, backend_data, backend_len);
	SAME(a, b, user_data, user_data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lu_desc *d = NULL, *e = NULL, *f = NULL;
	void *enc = NULL, *enc2 = NULL;
	size_t len, elen, elen2;
	uint8_t *buf;
	int ret;

	if (!size)
		return 0;
	len = size - 1;
	/* A copy of exactly @len bytes, so that ASan sees any read past it. */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) && len >= HDR) {
		uint64_t hsize = rd(buf + 12, 4), sum;
		unsigned int k;

		if (hsize <= len) {
			sum = lu_desc_checksum(buf + hsize, len - hsize);
			for (k = 0; k < 8; k++)
				buf[24 + k] = (uint8_t)(sum >> (8 * k));
		}
	}

	ret = lu_desc_decode(buf, len, &d);
	free(buf);
	if (ret) {
		CHECK(ret == -EBADMSG || ret == -EPROTO || ret == -ENOMEM);
		return 0;
	}

	walk(d);
	CHECK(lu_desc_encode(d, &enc, &elen) == 0);
	CHECK(lu_desc_decode(enc, elen, &e) == 0);
	same(d, e);
	CHECK(lu_desc_encode(e, &enc2, &elen2) == 0);
	CHECK(elen == elen2 && !memcmp(enc, enc2, elen));

	/* The decoded arrays take more fds, as lu_desc_new()'s do. */
	if (e->nr_fds < LU_MAX_FDS) {
		CHECK(lu_desc_add_fd(e, LU_FD_EXTRA, 5) == (int)d->nr_fds);
		CHECK(lu_desc_fd(e, d->nr_fds, LU_FD_EXTRA) == 5);
	}
	free(enc2);
	enc2 = NULL;
	if (e->nr_fds && lu_desc_encode(e, &enc2, &elen2) == 0) {
		CHECK(lu_desc_decode(enc2, elen2, &f) == 0);
		CHECK(f->nr_fds == e->nr_fds);
		lu_desc_free(f);
	}

	free(enc2);
	free(enc);
	lu_desc_free(e);
	lu_desc_free(d);
	return 0;
}
