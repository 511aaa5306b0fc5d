/* SPDX-License-Identifier: MIT */
/*
 * The saved description of a live update, on the wire.
 *
 * Layout (all integers little-endian, written field by field, so the bytes
 * do not depend on the host's struct layout):
 *
 *   header, LU_HDR_SIZE bytes in version 1:
 *     magic "IOFDLU\r\n" | u32 version | u32 header size | u64 payload
 *     length | u64 checksum (64-bit FNV-1a of the payload) | u32 flags (0)
 *     | u32 reserved (0)
 *   payload: sections, each {u32 tag | u32 reserved 0 | u64 length | bytes}
 *
 * The magic carries "\r\n" so that a text-mode transfer that rewrites line
 * ends is caught before anything else. The version is checked right after
 * the magic, so a future version gets -EPROTO whatever else it changed. The
 * header size lets a later header grow: a reader takes what it knows and
 * requires the rest to be zero.
 *
 * FNV-1a over the payload: a single changed byte always changes the result
 * (each step, xor with the byte then multiply by an odd prime, is a
 * bijection of the state), and random damage goes unnoticed with
 * probability 2^-64. It guards against corruption, not against an
 * attacker, who can recompute it; the decoder's checks are what stand
 * against hostile input.
 *
 * An array section (and the context, an array of exactly one element) is
 * {u32 element size | u32 count | count elements}. A reader takes the
 * fields it knows from the front of each element and requires the rest to
 * be zero, as the kernel's copy_struct_from_user() does, so a later version
 * may append fields that default to zero. Version 1 elements are the
 * smallest there will ever be: a shorter one is malformed.
 *
 * Tags with LU_TAG_SKIPPABLE set may be ignored by a reader that does not
 * know them; any other unknown tag means the writer needed the reader to
 * understand it (-EPROTO).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/ctx.h>
#include <iommufd/hwpt.h>
#include <iommufd/ioas.h>

#include "lu-desc.h"

static const uint8_t lu_magic[8] = { 'I', 'O', 'F', 'D', 'L', 'U', '\r', '\n' };

#define LU_HDR_SIZE 40u
#define LU_HDR_CSUM_OFF 24u
/* Header sizes past this are not a header that grew but garbage. */
#define LU_HDR_MAX 4096u
/* Bounds a wire element size so that count * size cannot overflow. */
#define LU_ELEM_MAX 4096u

#define LU_TAG_SKIPPABLE (UINT32_C(1) << 31)

enum lu_tag {
	LU_TAG_CONTEXT = 1,
	LU_TAG_FDS,
	LU_TAG_FILES,
	LU_TAG_IOAS,
	LU_TAG_MAPS,
	LU_TAG_ALLOWED,
	LU_TAG_HWPTS,
	LU_TAG_DEVICES,
	LU_TAG_BACKEND,
	LU_TAG_USER,
	LU_TAG__MAX,
};

/* Version 1 wire sizes of each element. */
#define LU_W_CONTEXT 16u
#define LU_W_FD 8u
#define LU_W_FILE 28u
#define LU_W_IOAS 24u
#define LU_W_MAP 32u
#define LU_W_RANGE 16u
#define LU_W_HWPT 20u
#define LU_W_DEVICE 104u

#define LU_IOAS_FLAGS_KNOWN LU_IOAS_NO_HUGE_PAGES
#define LU_PROT_KNOWN (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define LU_HWPT_FLAGS_KNOWN (IOMMUFD_HWPT_NEST_PARENT | \
			     IOMMUFD_HWPT_DIRTY_TRACKING | IOMMUFD_HWPT_PASID)

uint64_t lu_desc_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (len--) {
		h ^= *p++;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* ---- encoding ---- */

static void lu_buf_fail(struct lu_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

static uint8_t *lu_buf_room(struct lu_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->err)
		return NULL;
	if (n > SIZE_MAX - b->len) {
		lu_buf_fail(b, -ENOMEM);
		return NULL;
	}
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n) {
			if (cap > SIZE_MAX / 2) {
				cap = b->len + n;
				break;
			}
			cap *= 2;
		}
		p = realloc(b->data, cap);
		if (!p) {
			lu_buf_fail(b, -ENOMEM);
			return NULL;
		}
		b->data = p;
		b->cap = cap;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void lu_put_u32(struct lu_buf *b, uint32_t v)
{
	uint8_t *p = lu_buf_room(b, 4);

	if (p)
		put_le(p, v, 4);
}

void lu_put_u64(struct lu_buf *b, uint64_t v)
{
	uint8_t *p = lu_buf_room(b, 8);

	if (p)
		put_le(p, v, 8);
}

void lu_put_bytes(struct lu_buf *b, const void *src, size_t len)
{
	uint8_t *p = lu_buf_room(b, len);

	if (p && len)
		memcpy(p, src, len);
}

/* ---- decoding ---- */

static bool lu_take(struct lu_cursor *c, size_t n)
{
	if (c->err)
		return false;
	if (c->left < n) {
		c->err = -EBADMSG;
		return false;
	}
	return true;
}

uint32_t lu_get_u32(struct lu_cursor *c)
{
	uint32_t v;

	if (!lu_take(c, 4))
		return 0;
	v = (uint32_t)get_le(c->p, 4);
	c->p += 4;
	c->left -= 4;
	return v;
}

uint64_t lu_get_u64(struct lu_cursor *c)
{
	uint64_t v;

	if (!lu_take(c, 8))
		return 0;
	v = get_le(c->p, 8);
	c->p += 8;
	c->left -= 8;
	return v;
}

void lu_get_bytes(struct lu_cursor *c, void *dst, size_t len)
{
	if (!lu_take(c, len)) {
		if (len)
			memset(dst, 0, len);
		return;
	}
	if (len)
		memcpy(dst, c->p, len);
	c->p += len;
	c->left -= len;
}

uint32_t lu_get_count(struct lu_cursor *c, uint32_t max, size_t min_each)
{
	uint32_t n = lu_get_u32(c);

	if (c->err)
		return 0;
	if (n > max || (min_each && n > c->left / min_each)) {
		c->err = -EBADMSG;
		return 0;
	}
	return n;
}

/* ---- the description in memory ---- */

struct lu_desc *lu_desc_new(void)
{
	struct lu_desc *d = calloc(1, sizeof(*d));

	if (d)
		d->ctx_fd = LU_NONE;
	return d;
}

void lu_desc_free(struct lu_desc *d)
{
	if (!d)
		return;
	free(d->fds);
	free(d->fdv);
	free(d->files);
	free(d->ioas);
	free(d->maps);
	free(d->allowed);
	free(d->hwpts);
	free(d->devices);
	free(d->backend_data);
	free(d->user_data);
	free(d);
}

/*
 * How many slots fds[] and fdv[] have for @nr fds. There is no capacity
 * field, so the capacity follows from the count: whoever allocates them
 * (decode, add_fd) allocates this many, and add_fd grows when nr reaches it.
 */
static size_t lu_fd_cap(uint32_t nr)
{
	size_t cap = 4;

	if (!nr)
		return 0;
	while (cap < nr)
		cap *= 2;
	return cap;
}

int lu_desc_add_fd(struct lu_desc *d, enum lu_fd_role role, int num)
{
	uint32_t i = d->nr_fds;
	struct lu_fd *fds;
	int *fdv;

	if (role < LU_FD_CTX || role >= LU_FD__MAX || num < 0)
		return -EINVAL;
	if (i >= LU_MAX_FDS)
		return -ENOSPC;
	if (i == lu_fd_cap(i)) {
		size_t cap = lu_fd_cap(i + 1);

		/* If the second realloc fails the first only made room. */
		fds = realloc(d->fds, cap * sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		d->fds = fds;
		fdv = realloc(d->fdv, cap * sizeof(*fdv));
		if (!fdv)
			return -ENOMEM;
		d->fdv = fdv;
	}
	d->fds[i].role = role;
	d->fds[i].num = num;
	d->fdv[i] = num;
	d->nr_fds = i + 1;
	return (int)i;
}

int lu_desc_fd(const struct lu_desc *d, uint32_t index, enum lu_fd_role role)
{
	if (index >= d->nr_fds || d->fds[index].role != (uint32_t)role)
		return -EBADMSG;
	if (!d->fdv || d->fdv[index] < 0)
		return -EBADF;
	return d->fdv[index];
}

int lu_desc_set_fds(struct lu_desc *d, const int *fds, size_t nr)
{
	if (nr != d->nr_fds)
		return -EBADMSG;
	/* A description built by hand, not by add_fd or decode. */
	if (nr && !d->fdv)
		return -EINVAL;
	if (nr)
		memcpy(d->fdv, fds, nr * sizeof(*fds));
	return 0;
}

/* ---- validation, shared by encode (-EINVAL) and decode (-EBADMSG) ---- */

static bool lu_idx_ok(uint32_t idx, uint32_t nr, bool none_ok)
{
	return idx < nr || (none_ok && idx == LU_NONE);
}

static bool lu_fd_is(const struct lu_desc *d, uint32_t idx, uint32_t role)
{
	return idx < d->nr_fds && d->fds[idx].role == role;
}

/* Zero padding after the NUL keeps the encoding canonical: a decoded
 * description encodes to the bytes it came from. */
static bool lu_name_ok(const char *s, size_t size)
{
	size_t n = strnlen(s, size), i;

	if (n == size)
		return false;
	for (i = n; i < size; i++)
		if (s[i])
			return false;
	return true;
}

static bool lu_range_ok(uint32_t first, uint32_t nr, uint32_t total)
{
	return (uint64_t)first + nr <= total;
}

static bool lu_maps_ok(const struct lu_desc *d, const struct lu_ioas *io)
{
	uint32_t i;

	for (i = 0; i < io->nr_maps; i++) {
		const struct lu_map *m = &d->maps[io->first_map + i];

		if (i && m->iova <= m[-1].iova + (m[-1].length - 1))
			return false;
	}
	return true;
}

static int lu_desc_check(const struct lu_desc *d)
{
	uint8_t *seen = NULL;
	uint64_t total;
	uint32_t i, j;
	int ret = -EBADMSG;

	if (d->backend != IOMMUFD_BACKEND_IOMMUFD &&
	    d->backend != IOMMUFD_BACKEND_TYPE1 &&
	    d->backend != IOMMUFD_BACKEND_VFIO_COMPAT)
		return -EBADMSG;
	if (d->nr_fds > LU_MAX_FDS || d->nr_files > LU_MAX_FDS ||
	    d->nr_ioas > LU_MAX_OBJECTS || d->nr_hwpts > LU_MAX_OBJECTS ||
	    d->nr_devices > LU_MAX_OBJECTS || d->nr_maps > LU_MAX_MAPS ||
	    d->nr_allowed > LU_MAX_MAPS ||
	    d->backend_len > LU_MAX_BACKEND_DATA ||
	    d->user_data_len > LU_MAX_USER_DATA)
		return -EBADMSG;
	if ((d->nr_fds && !d->fds) || (d->nr_files && !d->files) ||
	    (d->nr_ioas && !d->ioas) || (d->nr_maps && !d->maps) ||
	    (d->nr_allowed && !d->allowed) || (d->nr_hwpts && !d->hwpts) ||
	    (d->nr_devices && !d->devices) ||
	    (d->backend_len && !d->backend_data) ||
	    (d->user_data_len && !d->user_data))
		return -EBADMSG;

	for (i = 0; i < d->nr_fds; i++)
		if (d->fds[i].role < LU_FD_CTX || d->fds[i].role >= LU_FD__MAX ||
		    d->fds[i].num < 0)
			return -EBADMSG;
	if (d->ctx_fd != LU_NONE && !lu_fd_is(d, d->ctx_fd, LU_FD_CTX))
		return -EBADMSG;
	for (i = 0; i < d->nr_files; i++)
		if (!lu_fd_is(d, d->files[i].fd, LU_FD_FILE))
			return -EBADMSG;

	for (i = 0; i < d->nr_maps; i++) {
		const struct lu_map *m = &d->maps[i];

		if (!m->length || m->iova > UINT64_MAX - (m->length - 1))
			return -EBADMSG;
		if (m->offset > UINT64_MAX - (m->length - 1))
			return -EBADMSG;
		if (!m->prot || (m->prot & ~LU_PROT_KNOWN))
			return -EBADMSG;
		if (!lu_idx_ok(m->file, d->nr_files, true))
			return -EBADMSG;
	}
	for (i = 0; i < d->nr_allowed; i++)
		if (d->allowed[i].start > d->allowed[i].last)
			return -EBADMSG;

	/* Each map belongs to exactly one IOAS: the ranges are disjoint
	 * (marked once each) and their sizes add up to nr_maps. */
	if (d->nr_maps) {
		seen = calloc(d->nr_maps, 1);
		if (!seen)
			return -ENOMEM;
	}
	total = 0;
	for (i = 0; i < d->nr_ioas; i++) {
		const struct lu_ioas *io = &d->ioas[i];

		if (io->flags & ~LU_IOAS_FLAGS_KNOWN)
			goto out;
		if (!lu_range_ok(io->first_map, io->nr_maps, d->nr_maps) ||
		    !lu_range_ok(io->first_allowed, io->nr_allowed,
				 d->nr_allowed))
			goto out;
		for (j = 0; j < io->nr_maps; j++) {
			if (seen[io->first_map + j])
				goto out;
			seen[io->first_map + j] = 1;
		}
		total += io->nr_maps;
		if (!lu_maps_ok(d, io))
			goto out;
	}
	if (total != d->nr_maps)
		goto out;

	for (i = 0; i < d->nr_hwpts; i++) {
		const struct lu_hwpt *h = &d->hwpts[i];

		if (!lu_idx_ok(h->ioas, d->nr_ioas, false) ||
		    !lu_idx_ok(h->dev, d->nr_devices, false) ||
		    h->lib_owned > 1 || (h->flags & ~LU_HWPT_FLAGS_KNOWN))
			goto out;
	}

	/* Reuse seen[] as "this fd already belongs to a device". */
	free(seen);
	seen = NULL;
	if (d->nr_fds) {
		seen = calloc(d->nr_fds, 1);
		if (!seen)
			return -ENOMEM;
	}
	for (i = 0; i < d->nr_devices; i++) {
		const struct lu_device *dv = &d->devices[i];

		if (!lu_name_ok(dv->name, sizeof(dv->name)) ||
		    !lu_name_ok(dv->pci_addr, sizeof(dv->pci_addr)))
			goto out;
		if (!lu_fd_is(d, dv->fd, LU_FD_DEVICE) || seen[dv->fd])
			goto out;
		seen[dv->fd] = 1;
		if (!lu_idx_ok(dv->ioas, d->nr_ioas, true) ||
		    !lu_idx_ok(dv->hwpt, d->nr_hwpts, true))
			goto out;
		/* A HWPT holds one IOAS's mappings: attached to it means
		 * attached to that IOAS. */
		if (dv->hwpt != LU_NONE && dv->ioas != LU_NONE &&
		    d->hwpts[dv->hwpt].ioas != dv->ioas)
			goto out;
	}
	ret = 0;
out:
	free(seen);
	return ret;
}

/* ---- encode ---- */

static void put_ctx(struct lu_buf *b, const void *e)
{
	const struct lu_desc *d = e;

	lu_put_u32(b, d->backend);
	lu_put_u32(b, d->ctx_fd);
	lu_put_u64(b, d->features);
}

static void put_fd(struct lu_buf *b, const void *e)
{
	const struct lu_fd *f = e;

	lu_put_u32(b, f->role);
	lu_put_u32(b, (uint32_t)f->num);
}

static void put_file(struct lu_buf *b, const void *e)
{
	const struct lu_file *f = e;

	lu_put_u32(b, f->fd);
	lu_put_u64(b, f->size);
	lu_put_u64(b, f->dev);
	lu_put_u64(b, f->ino);
}

static void put_ioas(struct lu_buf *b, const void *e)
{
	const struct lu_ioas *io = e;

	lu_put_u32(b, io->id);
	lu_put_u32(b, io->flags);
	lu_put_u32(b, io->first_map);
	lu_put_u32(b, io->nr_maps);
	lu_put_u32(b, io->first_allowed);
	lu_put_u32(b, io->nr_allowed);
}

static void put_map(struct lu_buf *b, const void *e)
{
	const struct lu_map *m = e;

	lu_put_u64(b, m->iova);
	lu_put_u64(b, m->length);
	lu_put_u32(b, m->file);
	lu_put_u32(b, m->prot);
	lu_put_u64(b, m->offset);
}

static void put_range(struct lu_buf *b, const void *e)
{
	const struct lu_range *r = e;

	lu_put_u64(b, r->start);
	lu_put_u64(b, r->last);
}

static void put_hwpt(struct lu_buf *b, const void *e)
{
	const struct lu_hwpt *h = e;

	lu_put_u32(b, h->id);
	lu_put_u32(b, h->ioas);
	lu_put_u32(b, h->flags);
	lu_put_u32(b, h->lib_owned);
	lu_put_u32(b, h->dev);
}

static void put_device(struct lu_buf *b, const void *e)
{
	const struct lu_device *dv = e;

	lu_put_bytes(b, dv->name, sizeof(dv->name));
	lu_put_bytes(b, dv->pci_addr, sizeof(dv->pci_addr));
	lu_put_u32(b, dv->fd);
	lu_put_u32(b, dv->devid);
	lu_put_u32(b, dv->ioas);
	lu_put_u32(b, dv->hwpt);
	lu_put_u32(b, dv->pt_id);
}

static void put_section(struct lu_buf *b, uint32_t tag, const void *p,
			uint64_t len)
{
	lu_put_u32(b, tag);
	lu_put_u32(b, 0);
	lu_put_u64(b, len);
	lu_put_bytes(b, p, len);
}

static void put_array(struct lu_buf *b, uint32_t tag, const void *arr,
		      uint32_t nr, size_t host_size, uint32_t wire_size,
		      void (*put)(struct lu_buf *, const void *))
{
	const uint8_t *e = arr;
	uint32_t i;

	lu_put_u32(b, tag);
	lu_put_u32(b, 0);
	lu_put_u64(b, 8 + (uint64_t)nr * wire_size);
	lu_put_u32(b, wire_size);
	lu_put_u32(b, nr);
	for (i = 0; i < nr; i++)
		put(b, e + i * host_size);
}

int lu_desc_encode(const struct lu_desc *d, void **buf, size_t *len)
{
	struct lu_buf b = { 0 };
	size_t payload;
	int ret;

	/* Refuse here what decode would refuse, so a bug in the writer shows
	 * before the update rather than in the process that needs it. */
	ret = lu_desc_check(d);
	if (ret)
		return ret == -EBADMSG ? -EINVAL : ret;

	lu_buf_room(&b, LU_HDR_SIZE);
	put_array(&b, LU_TAG_CONTEXT, d, 1, 0, LU_W_CONTEXT, put_ctx);
	put_array(&b, LU_TAG_FDS, d->fds, d->nr_fds, sizeof(*d->fds), LU_W_FD,
		  put_fd);
	put_array(&b, LU_TAG_FILES, d->files, d->nr_files, sizeof(*d->files),
		  LU_W_FILE, put_file);
	put_array(&b, LU_TAG_IOAS, d->ioas, d->nr_ioas, sizeof(*d->ioas),
		  LU_W_IOAS, put_ioas);
	put_array(&b, LU_TAG_MAPS, d->maps, d->nr_maps, sizeof(*d->maps),
		  LU_W_MAP, put_map);
	put_array(&b, LU_TAG_ALLOWED, d->allowed, d->nr_allowed,
		  sizeof(*d->allowed), LU_W_RANGE, put_range);
	put_array(&b, LU_TAG_HWPTS, d->hwpts, d->nr_hwpts, sizeof(*d->hwpts),
		  LU_W_HWPT, put_hwpt);
	put_array(&b, LU_TAG_DEVICES, d->devices, d->nr_devices,
		  sizeof(*d->devices), LU_W_DEVICE, put_device);
	put_section(&b, LU_TAG_BACKEND, d->backend_data, d->backend_len);
	put_section(&b, LU_TAG_USER, d->user_data, d->user_data_len);
	if (b.err) {
		free(b.data);
		return b.err;
	}

	payload = b.len - LU_HDR_SIZE;
	memcpy(b.data, lu_magic, sizeof(lu_magic));
	put_le(b.data + 8, LU_DESC_VERSION, 4);
	put_le(b.data + 12, LU_HDR_SIZE, 4);
	put_le(b.data + 16, payload, 8);
	put_le(b.data + LU_HDR_CSUM_OFF,
	       lu_desc_checksum(b.data + LU_HDR_SIZE, payload), 8);
	put_le(b.data + 32, 0, 4);
	put_le(b.data + 36, 0, 4);
	*buf = b.data;
	*len = b.len;
	return 0;
}

/* ---- decode ---- */

static void get_ctx(struct lu_cursor *c, void *e)
{
	struct lu_desc *d = e;

	d->backend = lu_get_u32(c);
	d->ctx_fd = lu_get_u32(c);
	d->features = lu_get_u64(c);
}

static void get_fd(struct lu_cursor *c, void *e)
{
	struct lu_fd *f = e;

	f->role = lu_get_u32(c);
	f->num = (int32_t)lu_get_u32(c);
}

static void get_file(struct lu_cursor *c, void *e)
{
	struct lu_file *f = e;

	f->fd = lu_get_u32(c);
	f->size = lu_get_u64(c);
	f->dev = lu_get_u64(c);
	f->ino = lu_get_u64(c);
}

static void get_ioas(struct lu_cursor *c, void *e)
{
	struct lu_ioas *io = e;

	io->id = lu_get_u32(c);
	io->flags = lu_get_u32(c);
	io->first_map = lu_get_u32(c);
	io->nr_maps = lu_get_u32(c);
	io->first_allowed = lu_get_u32(c);
	io->nr_allowed = lu_get_u32(c);
}

static void get_map(struct lu_cursor *c, void *e)
{
	struct lu_map *m = e;

	m->iova = lu_get_u64(c);
	m->length = lu_get_u64(c);
	m->file = lu_get_u32(c);
	m->prot = lu_get_u32(c);
	m->offset = lu_get_u64(c);
}

static void get_range(struct lu_cursor *c, void *e)
{
	struct lu_range *r = e;

	r->start = lu_get_u64(c);
	r->last = lu_get_u64(c);
}

static void get_hwpt(struct lu_cursor *c, void *e)
{
	struct lu_hwpt *h = e;

	h->id = lu_get_u32(c);
	h->ioas = lu_get_u32(c);
	h->flags = lu_get_u32(c);
	h->lib_owned = lu_get_u32(c);
	h->dev = lu_get_u32(c);
}

static void get_device(struct lu_cursor *c, void *e)
{
	struct lu_device *dv = e;

	lu_get_bytes(c, dv->name, sizeof(dv->name));
	lu_get_bytes(c, dv->pci_addr, sizeof(dv->pci_addr));
	dv->fd = lu_get_u32(c);
	dv->devid = lu_get_u32(c);
	dv->ioas = lu_get_u32(c);
	dv->hwpt = lu_get_u32(c);
	dv->pt_id = lu_get_u32(c);
}

static bool lu_all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

struct lu_array {
	uint32_t wire_size;	/* version 1's */
	uint32_t max;
	size_t host_size;
	void (*get)(struct lu_cursor *, void *);
};

/*
 * One array section's body into a new calloc'd array of @slots elements
 * (at least the count; NULL when both are 0). *@nr is set only on success.
 */
static int get_array(const uint8_t *p, uint64_t len, const struct lu_array *a,
		     bool fds, void **out, uint32_t *nr)
{
	struct lu_cursor c = { .p = p, .left = len };
	uint32_t size, count, i;
	size_t slots;
	uint8_t *arr;

	size = lu_get_u32(&c);
	count = lu_get_u32(&c);
	if (c.err || size < a->wire_size || size > LU_ELEM_MAX ||
	    count > a->max || (uint64_t)count * size != c.left)
		return -EBADMSG;
	slots = fds ? lu_fd_cap(count) : count;
	arr = slots ? calloc(slots, a->host_size) : NULL;
	if (slots && !arr)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		struct lu_cursor e = { .p = c.p, .left = a->wire_size };

		a->get(&e, arr + (size_t)i * a->host_size);
		if (e.err || !lu_all_zero(c.p + a->wire_size,
					  size - a->wire_size)) {
			free(arr);
			return -EBADMSG;
		}
		c.p += size;
	}
	*out = arr;
	*nr = count;
	return 0;
}

static const struct lu_array lu_arrays[LU_TAG__MAX] = {
	[LU_TAG_CONTEXT] = { LU_W_CONTEXT, 1, sizeof(struct lu_desc), get_ctx },
	[LU_TAG_FDS] = { LU_W_FD, LU_MAX_FDS, sizeof(struct lu_fd), get_fd },
	[LU_TAG_FILES] = { LU_W_FILE, LU_MAX_FDS, sizeof(struct lu_file),
			   get_file },
	[LU_TAG_IOAS] = { LU_W_IOAS, LU_MAX_OBJECTS, sizeof(struct lu_ioas),
			  get_ioas },
	[LU_TAG_MAPS] = { LU_W_MAP, LU_MAX_MAPS, sizeof(struct lu_map),
			  get_map },
	[LU_TAG_ALLOWED] = { LU_W_RANGE, LU_MAX_MAPS, sizeof(struct lu_range),
			     get_range },
	[LU_TAG_HWPTS] = { LU_W_HWPT, LU_MAX_OBJECTS, sizeof(struct lu_hwpt),
			   get_hwpt },
	[LU_TAG_DEVICES] = { LU_W_DEVICE, LU_MAX_OBJECTS,
			     sizeof(struct lu_device), get_device },
};

static int get_blob(const uint8_t *p, uint64_t len, uint32_t max,
		    uint8_t **out, uint32_t *nr)
{
	uint8_t *data;

	if (len > max)
		return -EBADMSG;
	if (!len)
		return 0;
	data = malloc(len);
	if (!data)
		return -ENOMEM;
	memcpy(data, p, len);
	*out = data;
	*nr = (uint32_t)len;
	return 0;
}

static int get_section(struct lu_desc *d, uint32_t tag, const uint8_t *p,
		       uint64_t len)
{
	const struct lu_array *a = &lu_arrays[tag];
	struct lu_desc ctx;
	void *one;
	uint32_t n;
	int ret;

	switch (tag) {
	case LU_TAG_CONTEXT:
		ret = get_array(p, len, a, false, &one, &n);
		if (ret)
			return ret;
		if (n != 1) {
			free(one);
			return -EBADMSG;
		}
		memcpy(&ctx, one, sizeof(ctx));
		free(one);
		d->backend = ctx.backend;
		d->ctx_fd = ctx.ctx_fd;
		d->features = ctx.features;
		return 0;
	case LU_TAG_FDS:
		ret = get_array(p, len, a, true, (void **)&d->fds, &d->nr_fds);
		if (ret)
			return ret;
		n = (uint32_t)lu_fd_cap(d->nr_fds);
		if (n) {
			d->fdv = malloc(n * sizeof(*d->fdv));
			if (!d->fdv)
				return -ENOMEM;
			memset(d->fdv, 0xff, n * sizeof(*d->fdv));
		}
		return 0;
	case LU_TAG_FILES:
		return get_array(p, len, a, false, (void **)&d->files,
				 &d->nr_files);
	case LU_TAG_IOAS:
		return get_array(p, len, a, false, (void **)&d->ioas,
				 &d->nr_ioas);
	case LU_TAG_MAPS:
		return get_array(p, len, a, false, (void **)&d->maps,
				 &d->nr_maps);
	case LU_TAG_ALLOWED:
		return get_array(p, len, a, false, (void **)&d->allowed,
				 &d->nr_allowed);
	case LU_TAG_HWPTS:
		return get_array(p, len, a, false, (void **)&d->hwpts,
				 &d->nr_hwpts);
	case LU_TAG_DEVICES:
		return get_array(p, len, a, false, (void **)&d->devices,
				 &d->nr_devices);
	case LU_TAG_BACKEND:
		return get_blob(p, len, LU_MAX_BACKEND_DATA, &d->backend_data,
				&d->backend_len);
	case LU_TAG_USER:
		return get_blob(p, len, LU_MAX_USER_DATA, &d->user_data,
				&d->user_data_len);
	}
	return -EPROTO;
}

static int lu_decode_payload(struct lu_desc *d, const uint8_t *p, size_t len)
{
	struct lu_cursor c = { .p = p, .left = len };
	uint32_t seen = 0, tag;
	uint64_t slen;
	int ret;

	while (c.left) {
		tag = lu_get_u32(&c);
		if (lu_get_u32(&c))
			return -EBADMSG;
		slen = lu_get_u64(&c);
		if (c.err || slen > c.left)
			return -EBADMSG;
		if (tag >= LU_TAG_CONTEXT && tag < LU_TAG__MAX) {
			if (seen & (1u << tag))
				return -EBADMSG;
			seen |= 1u << tag;
			ret = get_section(d, tag, c.p, slen);
			if (ret)
				return ret;
		} else if (!(tag & LU_TAG_SKIPPABLE)) {
			return -EPROTO;
		}
		c.p += slen;
		c.left -= slen;
	}
	/* Without the context there is no backend to rebuild on. */
	if (!(seen & (1u << LU_TAG_CONTEXT)))
		return -EBADMSG;
	return 0;
}

int lu_desc_decode(const void *buf, size_t len, struct lu_desc **out)
{
	const uint8_t *p = buf;
	uint32_t hsize, flags;
	uint64_t plen;
	struct lu_desc *d;
	int ret;

	if (len < 12 || memcmp(p, lu_magic, sizeof(lu_magic)))
		return -EBADMSG;
	if (get_le(p + 8, 4) != LU_DESC_VERSION)
		return -EPROTO;
	if (len < LU_HDR_SIZE)
		return -EBADMSG;
	hsize = (uint32_t)get_le(p + 12, 4);
	plen = get_le(p + 16, 8);
	flags = (uint32_t)get_le(p + 32, 4);
	if (hsize < LU_HDR_SIZE || hsize > LU_HDR_MAX || hsize > len ||
	    plen != len - hsize || get_le(p + 36, 4) ||
	    !lu_all_zero(p + LU_HDR_SIZE, hsize - LU_HDR_SIZE))
		return -EBADMSG;
	/* Flags would announce something a reader must understand. */
	if (flags)
		return -EPROTO;
	if (lu_desc_checksum(p + hsize, plen) != get_le(p + LU_HDR_CSUM_OFF, 8))
		return -EBADMSG;

	d = lu_desc_new();
	if (!d)
		return -ENOMEM;
	ret = lu_decode_payload(d, p + hsize, plen);
	if (!ret)
		ret = lu_desc_check(d);
	if (ret) {
		lu_desc_free(d);
		return ret;
	}
	*out = d;
	return 0;
}
