/* SPDX-License-Identifier: MIT */
/*
 * Live update: describe a context (lu-desc.h), hand its fds to a new
 * process (exec or SCM_RIGHTS), rebuild it there without creating any
 * kernel object, and after a kexec make it all again and verify it.
 *
 * Ownership of fds. The old process: the description memfd and a fake
 * kernel's preserved state are @lu's; every other fd stays the context's or
 * the caller's. The new process: everything that arrived is @lu's until a
 * restore succeeds; then the context owns its fd, the devices theirs and
 * the mapping files and backend fds (ctx->lu_fds), a fake kernel the state
 * it restored, and @lu keeps the description and the extra fds.
 *
 * The description is untrusted in the new process: lu-desc.c validates
 * every index; here each fd it names is checked to be open (and, for the
 * context and a cdev device, a character device) before it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <linux/iommufd.h>

#include "internal.h"
#include "maptable.h"
#include "tracking.h"
#include "lu-desc.h"

extern char **environ;

/* The most maps a description holds, at the wire's size each, and then
 * some: anything larger is not one of ours. */
#define LU_MAX_DESC_BYTES (UINT64_C(1) << 30)
/* SCM_MAX_FD: the kernel refuses more fds in one message. */
#define LU_SCM_MAX 253
#define LU_WIRE_MAGIC 0x554c4f49u	/* "IOLU" */
#define LU_WIRE_CHUNK_MAGIC 0x4b4f4c49u	/* "ILOK" */
#define LU_WIRE_VERSION 1u

struct lu_wire_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t nr_fds;
	uint32_t reserved;
	uint64_t desc_len;
};

struct lu_wire_chunk {
	uint32_t magic;
	uint32_t nr;
};

struct iommufd_lu {
	struct lu_desc *d;
	int memfd;			/* the sealed description, or -1 */
	bool *owned;			/* per fds[]: closed by iommufd_lu_free() */

	/* The old process: the prepared context. */
	struct iommufd_ctx *ctx;
	bool prepared;

	/* The new process. */
	struct iommufd_kernel kernel;
	bool kernel_restored;		/* the fake owns its fds now */
	bool built;			/* restore or redrive made the objects */
	struct iommufd_ioas **ioas;
	struct iommufd_hwpt **hwpts;
	struct iommufd_device **devices;
};

/* ---- the -EBUSY gate ---- */

int ctx_lu_busy(struct iommufd_ctx *ctx, const char *call)
{
	bool handed = ctx_handed_over(ctx);

	if (!handed && !__atomic_load_n(&ctx->lu_prepared, __ATOMIC_ACQUIRE))
		return 0;
	ctx_err(ctx, "%s: %s", call,
		handed ? "the context was handed over to another process (live update): it changes nothing any more" :
			 "a live update is prepared: objects and mappings are frozen until iommufd_lu_abort()");
	return -EBUSY;
}

static void set_prepared(struct iommufd_ctx *ctx, bool on)
{
	__atomic_store_n(&ctx->lu_prepared, on, __ATOMIC_RELEASE);
}

/* ---- check ---- */

struct lu_blk {
	struct iommufd_lu_blocker b;
	char what[256];
};

struct lu_check {
	struct iommufd_ctx *ctx;
	struct lu_blk *v;
	size_t n, cap;
	int err;			/* -ENOMEM while collecting */
};

static void chk_addv(struct lu_check *chk, const struct iommufd_lu_blocker *b,
		     const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void chk_addv(struct lu_check *chk, const struct iommufd_lu_blocker *b,
		     const char *fmt, va_list ap)
{
	struct lu_blk *e;

	if (chk->err)
		return;
	if (chk->n == chk->cap) {
		size_t cap = chk->cap ? chk->cap * 2 : 8;
		struct lu_blk *v = realloc(chk->v, cap * sizeof(*v));

		if (!v) {
			chk->err = -ENOMEM;
			return;
		}
		chk->v = v;
		chk->cap = cap;
	}
	e = &chk->v[chk->n++];
	e->b = *b;
	vsnprintf(e->what, sizeof(e->what), fmt, ap);
}

static void chk_add(struct lu_check *chk, const struct iommufd_lu_blocker *b,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void chk_add(struct lu_check *chk, const struct iommufd_lu_blocker *b,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	chk_addv(chk, b, fmt, ap);
	va_end(ap);
}

void lu_check_feature(struct lu_check *chk, enum iommufd_feature feature,
		      const char *what, ...)
{
	struct iommufd_lu_blocker b = {
		.kind = IOMMUFD_LU_BLOCK_FEATURE,
		.feature = feature,
	};
	va_list ap;

	va_start(ap, what);
	chk_addv(chk, &b, what, ap);
	va_end(ap);
}

void lu_check_state(struct lu_check *chk, const char *what, ...)
{
	struct iommufd_lu_blocker b = { .kind = IOMMUFD_LU_BLOCK_STATE };
	va_list ap;

	va_start(ap, what);
	chk_addv(chk, &b, what, ap);
	va_end(ap);
}

/* Under objects_lock. Reads only: tables under their read locks. */
static void check_locked(struct iommufd_ctx *ctx, struct lu_check *chk)
{
	const struct iommufd_backend_ops *be = ctx->backend;

	for (struct list_node *n = ctx->ioas_list.next; n != &ctx->ioas_list;
	     n = n->next) {
		struct iommufd_ioas *ioas =
			container_of(n, struct iommufd_ioas, ctx_node);
		struct mt_iter it;
		struct mt_entry *e;

		pthread_rwlock_rdlock(&ioas->lock);
		for (e = maptable_first(&ioas->table, &it); e;
		     e = maptable_next(&it)) {
			struct iommufd_lu_blocker b = {
				.kind = IOMMUFD_LU_BLOCK_MAPPING,
				.ioas_id = ioas->id,
				.iova = e->iova,
				.length = e->length,
			};

			if (e->state == MT_PENDING || e->fd >= 0)
				continue;
			chk_add(chk, &b,
				"IOAS %u: [0x%llx, +0x%llx) maps process memory (iommufd_ioas_map()): only file-backed mappings (iommufd_ioas_map_file()) can move to another process",
				ioas->id, (unsigned long long)e->iova,
				(unsigned long long)e->length);
		}
		pthread_rwlock_unlock(&ioas->lock);

		if (be->ioas_dirty_tracking_on && be->ioas_dirty_tracking_on(ioas))
			lu_check_state(chk, "IOAS %u: dirty tracking is on: stop it first",
				       ioas->id);
		for (struct iommufd_hwpt *h = ioas->hwpts; h; h = h->ioas_next) {
			if (h->dirty_enabled)
				lu_check_state(chk, "HWPT %u: dirty tracking is on: stop it first",
					       h->id);
			if (list_empty(&ctx->device_list))
				lu_check_state(chk, "HWPT %u: no device is left to make it again for after a kexec",
					       h->id);
		}
	}
	for (struct list_node *n = ctx->device_list.next;
	     n != &ctx->device_list; n = n->next) {
		struct iommufd_device *dev =
			container_of(n, struct iommufd_device, ctx_node);

		if (dev->nr_pasids)
			lu_check_state(chk, "%s: %zu PASID attachment(s): the description cannot carry them; detach them first",
				       dev->name, dev->nr_pasids);
		if (dma_logging_active_locked(dev))
			lu_check_state(chk, "%s: DMA logging is active: stop it first",
				       dev->name);
	}
	if (!be->lu_save) {
		lu_check_state(chk, "the %s backend cannot be live-updated",
			       be->name);
		return;
	}
	if (be->lu_check)
		be->lu_check(ctx, chk);
}

/* Report what was collected, outside every lock (@fn may call us). */
static int check_report(struct lu_check *chk, iommufd_lu_blocker_fn fn,
			void *data, bool log)
{
	if (chk->err)
		return chk->err;
	for (size_t i = 0; i < chk->n; i++) {
		chk->v[i].b.what = chk->v[i].what;
		if (log)
			ctx_err(chk->ctx, "live update blocked: %s",
				chk->v[i].what);
		if (fn) {
			int rc = fn(&chk->v[i].b, data);

			if (rc)
				return rc;
		}
	}
	return chk->n ? -EOPNOTSUPP : 0;
}

IOMMUFD_EXPORT int iommufd_lu_check(struct iommufd_ctx *ctx,
				    iommufd_lu_blocker_fn fn, void *data)
{
	struct lu_check chk = { .ctx = ctx };
	int rc;

	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->objects_lock);
	check_locked(ctx, &chk);
	pthread_mutex_unlock(&ctx->objects_lock);
	rc = check_report(&chk, fn, data, false);
	free(chk.v);
	return rc;
}

/* ---- the description of a live context ---- */

static uint32_t index_of(void *const *v, size_t n, const void *p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return (uint32_t)i;
	return LU_NONE;
}

struct build {
	struct iommufd_ioas **ioas;
	struct iommufd_hwpt **hwpts;
	struct iommufd_device **devs;
	size_t nr_ioas, nr_hwpts, nr_devs;
};

static int add_file(struct lu_desc *d, int fd, uint32_t *out)
{
	struct lu_file *v;
	struct stat st;
	int idx;

	if (fstat(fd, &st))
		return -errno;
	for (uint32_t i = 0; i < d->nr_files; i++) {
		if (d->files[i].dev == (uint64_t)st.st_dev &&
		    d->files[i].ino == (uint64_t)st.st_ino) {
			*out = i;
			return 0;
		}
	}
	v = realloc(d->files, (d->nr_files + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->files = v;
	idx = lu_desc_add_fd(d, LU_FD_FILE, fd);
	if (idx < 0)
		return idx;
	v[d->nr_files] = (struct lu_file){
		.fd = (uint32_t)idx,
		.size = (uint64_t)st.st_size,
		.dev = (uint64_t)st.st_dev,
		.ino = (uint64_t)st.st_ino,
	};
	*out = d->nr_files++;
	return 0;
}

static int build_ioas(struct iommufd_ctx *ctx, struct lu_desc *d,
		      struct iommufd_ioas *ioas, size_t i)
{
	struct lu_ioas *io = &d->ioas[i];
	struct iommufd_iova_range *allowed;
	struct mt_iter it;
	struct mt_entry *e;
	uint64_t val = 1;
	size_t nr;
	int rc;

	io->id = ioas->id;
	io->flags = 0;
	/* A read-only query, where IOAS have options (not type1's). */
	if (iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_IOAS) &&
	    !ctx->backend->option(ctx, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_GET, ioas->id, &val) &&
	    !val)
		io->flags |= LU_IOAS_NO_HUGE_PAGES;

	rc = ioas_get_allowed(ioas, &allowed, &nr);
	if (rc)
		return rc;
	if (nr) {
		struct lu_range *v = realloc(d->allowed,
					     (d->nr_allowed + nr) * sizeof(*v));

		if (!v) {
			free(allowed);
			return -ENOMEM;
		}
		d->allowed = v;
		for (size_t k = 0; k < nr; k++) {
			v[d->nr_allowed + k].start = allowed[k].start;
			v[d->nr_allowed + k].last = allowed[k].last;
		}
	}
	free(allowed);
	io->first_allowed = d->nr_allowed;
	io->nr_allowed = (uint32_t)nr;
	d->nr_allowed += (uint32_t)nr;

	io->first_map = d->nr_maps;
	io->nr_maps = 0;
	rc = 0;
	pthread_rwlock_rdlock(&ioas->lock);
	if (maptable_count(&ioas->table) > LU_MAX_MAPS - d->nr_maps)
		rc = -E2BIG;
	if (!rc && maptable_count(&ioas->table)) {
		struct lu_map *v = realloc(d->maps,
					   (d->nr_maps + maptable_count(&ioas->table)) *
					   sizeof(*v));

		if (!v)
			rc = -ENOMEM;
		else
			d->maps = v;
	}
	for (e = maptable_first(&ioas->table, &it); !rc && e;
	     e = maptable_next(&it)) {
		struct lu_map *m = &d->maps[d->nr_maps];

		/* Drained by prepare: nothing is in flight. */
		if (e->state != MT_LIVE) {
			rc = -EAGAIN;
			break;
		}
		m->iova = e->iova;
		m->length = e->length;
		m->prot = e->prot;
		m->offset = e->backing;
		m->file = LU_NONE;
		if (e->fd >= 0)
			rc = add_file(d, e->fd, &m->file);
		if (rc)
			break;
		d->nr_maps++;
		io->nr_maps++;
	}
	pthread_rwlock_unlock(&ioas->lock);
	return rc;
}

/* Under objects_lock, the IOAS drained: the generic part of @d. */
static int build_locked(struct iommufd_ctx *ctx, struct lu_desc *d,
			const struct iommufd_lu_prepare_opts *opts)
{
	struct build b = { 0 };
	size_t nr_extra = OPTS_GET(opts, nr_extra_fds, 0);
	const int *extra = OPTS_GET(opts, extra_fds, NULL);
	const void *ud = OPTS_GET(opts, user_data, NULL);
	size_t ud_len = OPTS_GET(opts, user_data_len, 0);
	struct list_node *n;
	int rc, idx;

	d->backend = ctx->backend_kind;
	d->features = ctx->features;
	idx = lu_desc_add_fd(d, LU_FD_CTX, ctx->fd);
	if (idx < 0)
		return idx;
	d->ctx_fd = (uint32_t)idx;

	for (n = ctx->ioas_list.next; n != &ctx->ioas_list; n = n->next) {
		struct iommufd_ioas *ioas =
			container_of(n, struct iommufd_ioas, ctx_node);

		b.nr_ioas++;
		for (struct iommufd_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
			b.nr_hwpts++;
	}
	for (n = ctx->device_list.next; n != &ctx->device_list; n = n->next)
		b.nr_devs++;
	if (b.nr_ioas > LU_MAX_OBJECTS || b.nr_hwpts > LU_MAX_OBJECTS ||
	    b.nr_devs > LU_MAX_OBJECTS)
		return -E2BIG;
	rc = -ENOMEM;
	b.ioas = calloc(b.nr_ioas + 1, sizeof(*b.ioas));
	b.hwpts = calloc(b.nr_hwpts + 1, sizeof(*b.hwpts));
	b.devs = calloc(b.nr_devs + 1, sizeof(*b.devs));
	d->ioas = calloc(b.nr_ioas + 1, sizeof(*d->ioas));
	d->hwpts = calloc(b.nr_hwpts + 1, sizeof(*d->hwpts));
	d->devices = calloc(b.nr_devs + 1, sizeof(*d->devices));
	if (!b.ioas || !b.hwpts || !b.devs || !d->ioas || !d->hwpts ||
	    !d->devices)
		goto out;

	b.nr_ioas = b.nr_hwpts = b.nr_devs = 0;
	for (n = ctx->ioas_list.next; n != &ctx->ioas_list; n = n->next) {
		struct iommufd_ioas *ioas =
			container_of(n, struct iommufd_ioas, ctx_node);

		b.ioas[b.nr_ioas++] = ioas;
		for (struct iommufd_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
			b.hwpts[b.nr_hwpts++] = h;
	}
	for (n = ctx->device_list.next; n != &ctx->device_list; n = n->next)
		b.devs[b.nr_devs++] =
			container_of(n, struct iommufd_device, ctx_node);

	d->nr_ioas = (uint32_t)b.nr_ioas;
	for (size_t i = 0; i < b.nr_ioas; i++) {
		rc = build_ioas(ctx, d, b.ioas[i], i);
		if (rc)
			goto out;
	}

	d->nr_devices = (uint32_t)b.nr_devs;
	for (size_t i = 0; i < b.nr_devs; i++) {
		struct iommufd_device *dev = b.devs[i];
		struct lu_device *dv = &d->devices[i];

		snprintf(dv->name, sizeof(dv->name), "%s", dev->name);
		snprintf(dv->pci_addr, sizeof(dv->pci_addr), "%s",
			 dev->pci_addr);
		idx = lu_desc_add_fd(d, LU_FD_DEVICE, dev->fd);
		if (idx < 0) {
			rc = idx;
			goto out;
		}
		dv->fd = (uint32_t)idx;
		dv->devid = dev->devid;
		dv->ioas = dev->ioas ? index_of((void *const *)b.ioas,
						b.nr_ioas, dev->ioas) :
				       LU_NONE;
		dv->hwpt = dev->hwpt ? index_of((void *const *)b.hwpts,
						b.nr_hwpts, dev->hwpt) :
				       LU_NONE;
		dv->pt_id = dev->pt_id;
	}

	d->nr_hwpts = (uint32_t)b.nr_hwpts;
	for (size_t i = 0; i < b.nr_hwpts; i++) {
		struct iommufd_hwpt *h = b.hwpts[i];
		struct lu_hwpt *lh = &d->hwpts[i];
		uint32_t dev = LU_NONE;

		/* The device a redrive makes it for again: one attached to
		 * it, else (made by the caller, idle) any of this context. */
		for (size_t k = 0; k < b.nr_devs && dev == LU_NONE; k++)
			if (b.devs[k]->hwpt == h)
				dev = (uint32_t)k;
		if (dev == LU_NONE && b.nr_devs)
			dev = 0;
		if (dev == LU_NONE) {
			rc = -EOPNOTSUPP;
			goto out;
		}
		lh->id = h->id;
		lh->ioas = index_of((void *const *)b.ioas, b.nr_ioas, h->ioas);
		lh->flags = h->flags;
		lh->lib_owned = h->lib_owned;
		lh->dev = dev;
	}

	for (size_t i = 0; i < nr_extra; i++) {
		idx = lu_desc_add_fd(d, LU_FD_EXTRA, extra[i]);
		if (idx < 0) {
			rc = idx;
			goto out;
		}
	}
	if (ud_len) {
		d->user_data = malloc(ud_len);
		if (!d->user_data) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(d->user_data, ud, ud_len);
		d->user_data_len = (uint32_t)ud_len;
	}
	rc = 0;
out:
	free(b.ioas);
	free(b.hwpts);
	free(b.devs);
	return rc;
}

/* ---- @lu ---- */

static struct iommufd_lu *lu_alloc(struct lu_desc *d, bool own_all)
{
	struct iommufd_lu *lu = calloc(1, sizeof(*lu));

	if (!lu)
		return NULL;
	lu->owned = calloc(d->nr_fds + 1, sizeof(*lu->owned));
	if (!lu->owned) {
		free(lu);
		return NULL;
	}
	for (uint32_t i = 0; i < d->nr_fds; i++)
		lu->owned[i] = own_all && d->fdv[i] >= 0;
	lu->d = d;
	lu->memfd = -1;
	return lu;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close each fd number in @v once (a description may name one twice). */
static void close_set(int *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_int);
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0 && (!i || v[i] != v[i - 1]))
			close(v[i]);
}

static void lu_close_owned(struct iommufd_lu *lu)
{
	struct lu_desc *d = lu->d;
	int *v;
	size_t n = 0;

	if (!d || !lu->owned)
		return;
	v = malloc((d->nr_fds + 1) * sizeof(*v));
	for (uint32_t i = 0; i < d->nr_fds; i++) {
		bool seen = false;

		if (!lu->owned[i] || d->fdv[i] < 0)
			continue;
		if (v) {
			v[n++] = d->fdv[i];
			continue;
		}
		/* No memory to sort in: the quadratic way. Closing a number
		 * twice could close what another thread opened meanwhile. */
		for (uint32_t j = 0; j < i && !seen; j++)
			seen = lu->owned[j] && d->fdv[j] == d->fdv[i];
		if (!seen)
			close(d->fdv[i]);
	}
	/* Cleared only now: the loop above asks which came before. */
	for (uint32_t i = 0; i < d->nr_fds; i++)
		lu->owned[i] = false;
	if (v)
		close_set(v, n);
	free(v);
}

IOMMUFD_EXPORT void iommufd_lu_free(struct iommufd_lu *lu)
{
	if (!lu)
		return;
	lu_close_owned(lu);
	if (lu->memfd >= 0)
		close(lu->memfd);
	free(lu->owned);
	free(lu->ioas);
	free(lu->hwpts);
	free(lu->devices);
	lu_desc_free(lu->d);
	free(lu);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The encoded description in a sealed memfd: what an exec or a socket
 * carries, unchangeable by either side once made. */
static int seal_desc(const struct lu_desc *d, int *out)
{
	void *buf;
	size_t len;
	int fd, rc;

	rc = lu_desc_encode(d, &buf, &len);
	if (rc)
		return rc;
	fd = memfd_create("libiommufd-lu", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	rc = write_all(fd, buf, len);
	free(buf);
	if (!rc && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
				  F_SEAL_WRITE | F_SEAL_SEAL))
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* ---- prepare / abort ---- */

static int check_prepare_opts(const struct iommufd_lu_prepare_opts *opts)
{
	size_t nr = OPTS_GET(opts, nr_extra_fds, 0);
	const int *fds = OPTS_GET(opts, extra_fds, NULL);

	if (!OPTS_VALID(opts, iommufd_lu_prepare_opts))
		return -EINVAL;
	if (OPTS_GET(opts, user_data_len, 0) > LU_MAX_USER_DATA ||
	    (OPTS_GET(opts, user_data_len, 0) &&
	     !OPTS_GET(opts, user_data, NULL)))
		return -EINVAL;
	if (nr > LU_MAX_FDS / 2 || (nr && !fds))
		return -EINVAL;
	for (size_t i = 0; i < nr; i++)
		if (fds[i] < 0 || fcntl(fds[i], F_GETFD) < 0)
			return -EBADF;
	return 0;
}

/* Let every map, unmap or copy in flight end; new ones see lu_prepared. */
static int drain(struct iommufd_ctx *ctx)
{
	struct iommufd_ioas **v;
	size_t n = 0, i;
	int rc = 0;

	pthread_mutex_lock(&ctx->objects_lock);
	for (struct list_node *l = ctx->ioas_list.next; l != &ctx->ioas_list;
	     l = l->next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	n = 0;
	for (struct list_node *l = ctx->ioas_list.next;
	     v && l != &ctx->ioas_list; l = l->next)
		v[n++] = container_of(l, struct iommufd_ioas, ctx_node);
	pthread_mutex_unlock(&ctx->objects_lock);
	if (!v)
		return -ENOMEM;
	/* The list cannot change meanwhile: IOAS new and destroy are
	 * refused now. */
	for (i = 0; i < n && !rc; i++) {
		rc = ioas_exclusive_begin(v[i]);
		if (!rc)
			ioas_exclusive_end(v[i]);
	}
	free(v);
	return rc;
}

IOMMUFD_EXPORT int iommufd_lu_prepare(struct iommufd_ctx *ctx,
				      const struct iommufd_lu_prepare_opts *opts,
				      struct iommufd_lu **out)
{
	struct lu_check chk = { .ctx = ctx };
	struct iommufd_lu *lu = NULL;
	struct lu_desc *d;
	bool quiesced = false;
	int rc;

	if (!ctx || !out)
		return -EINVAL;
	rc = check_prepare_opts(opts);
	if (rc)
		return rc;
	d = lu_desc_new();
	if (!d)
		return -ENOMEM;

	pthread_mutex_lock(&ctx->objects_lock);
	if (ctx->lu_prepared || ctx_handed_over(ctx)) {
		pthread_mutex_unlock(&ctx->objects_lock);
		lu_desc_free(d);
		ctx_err(ctx, "live update: already %s",
			ctx->lu_prepared ? "prepared" : "handed over");
		return -EBUSY;
	}
	set_prepared(ctx, true);
	pthread_mutex_unlock(&ctx->objects_lock);

	rc = drain(ctx);
	if (rc)
		goto fail;
	pthread_mutex_lock(&ctx->objects_lock);
	check_locked(ctx, &chk);
	if (!chk.n && !chk.err)
		rc = build_locked(ctx, d, opts);
	pthread_mutex_unlock(&ctx->objects_lock);
	if (chk.n || chk.err)
		rc = check_report(&chk, NULL, NULL, true);
	free(chk.v);
	if (rc)
		goto fail;

	rc = ctx->backend->lu_save(ctx, d);
	if (rc) {
		ctx_err(ctx, "live update: the %s backend could not save its state: %s",
			ctx->backend->name, strerror(-rc));
		goto fail;
	}
	lu = lu_alloc(d, false);
	if (!lu) {
		rc = -ENOMEM;
		goto fail;
	}
	if (ctx->backend->lu_quiesce) {
		rc = ctx->backend->lu_quiesce(ctx);
		if (rc)
			goto fail;
		quiesced = true;
	}
	rc = seal_desc(d, &lu->memfd);
	if (rc)
		goto fail;
	lu->ctx = ctx;
	lu->prepared = true;
	ctx_info(ctx, "live update prepared: %u IOAS, %u mappings, %u devices, %u fds",
		 d->nr_ioas, d->nr_maps, d->nr_devices, d->nr_fds);
	*out = lu;
	return 0;

fail:
	if (quiesced && ctx->backend->lu_unquiesce(ctx))
		ctx_err(ctx, "live update: could not undo the quiesce of a failed prepare");
	if (lu)
		iommufd_lu_free(lu);
	else
		lu_desc_free(d);
	set_prepared(ctx, false);
	return rc;
}

static void handoff_undo(struct iommufd_lu *lu, int memfd, uint32_t old_nr);

/*
 * At the handoff, not at prepare: a fake kernel's model as it is when the
 * new process takes over (the devices went on working meanwhile), added
 * to the description as LU_FD_KERNEL fds and sealed into a memfd of its
 * own (*memfd; lu->memfd stays the prepared one). The real kernel has
 * nothing to add. Undone by handoff_undo().
 */
static int handoff_begin(struct iommufd_lu *lu, int *memfd, uint32_t *old_nr)
{
	struct iommufd_ctx *ctx = lu->ctx;
	struct lu_desc *d = lu->d;
	int *kfds = NULL;
	size_t nk = 0, i;
	bool *owned;
	int rc;

	*old_nr = d->nr_fds;
	*memfd = -1;
	rc = kernel_preserve(&ctx->kernel, &kfds, &nk);
	if (rc) {
		ctx_err(ctx, "live update: the %s kernel's state cannot travel to another process: %s",
			ctx->kernel.ops->name, strerror(-rc));
		return rc;
	}
	if (!nk) {
		free(kfds);
		*memfd = lu->memfd;
		return 0;
	}
	owned = realloc(lu->owned, (d->nr_fds + nk + 1) * sizeof(*owned));
	if (owned)
		lu->owned = owned;
	rc = owned ? 0 : -ENOMEM;
	for (i = 0; i < nk && !rc; i++) {
		int idx = lu_desc_add_fd(d, LU_FD_KERNEL, kfds[i]);

		if (idx < 0)
			rc = idx;
		else
			lu->owned[idx] = true;
	}
	if (!rc)
		rc = seal_desc(d, memfd);
	if (rc) {
		/* The ones added are closed by the undo, the rest here. */
		for (size_t k = d->nr_fds - *old_nr; k < nk; k++)
			close(kfds[k]);
		free(kfds);
		handoff_undo(lu, -1, *old_nr);
		*memfd = -1;
		return rc;
	}
	free(kfds);
	return 0;
}

static void handoff_undo(struct iommufd_lu *lu, int memfd, uint32_t old_nr)
{
	struct lu_desc *d = lu->d;

	for (uint32_t i = old_nr; i < d->nr_fds; i++) {
		if (lu->owned[i])
			close(d->fdv[i]);
		lu->owned[i] = false;
	}
	d->nr_fds = old_nr;
	if (memfd >= 0 && memfd != lu->memfd)
		close(memfd);
}

/* A handoff went: the memfd that went is the description now. */
static void handoff_done(struct iommufd_lu *lu, int memfd)
{
	if (memfd != lu->memfd) {
		close(lu->memfd);
		lu->memfd = memfd;
	}
}

IOMMUFD_EXPORT int iommufd_lu_abort(struct iommufd_lu *lu)
{
	struct iommufd_ctx *ctx;
	int rc;

	if (!lu || !lu->prepared)
		return -EINVAL;
	ctx = lu->ctx;
	if (ctx->backend->lu_unquiesce) {
		rc = ctx->backend->lu_unquiesce(ctx);
		if (rc) {
			ctx_err(ctx, "live update abort: the %s backend could not resume: %s",
				ctx->backend->name, strerror(-rc));
			return rc;
		}
	}
	set_prepared(ctx, false);
	ctx_info(ctx, "live update aborted");
	iommufd_lu_free(lu);
	return 0;
}

/* ---- exec ---- */

static bool is_lu_env(const char *e)
{
	size_t n = strlen(IOMMUFD_LU_ENV);

	return !strncmp(e, IOMMUFD_LU_ENV, n) && e[n] == '=';
}

IOMMUFD_EXPORT int iommufd_lu_exec(struct iommufd_lu *lu, const char *path,
				   char *const argv[], char *const envp[])
{
	char *const *src;
	char **env = NULL;
	char var[sizeof(IOMMUFD_LU_ENV) + 16];
	int *fds = NULL, *flags = NULL;
	size_t nr = 0, done = 0, ne = 0, k = 0;
	uint32_t old_nr;
	int memfd, rc;

	if (!lu || !lu->prepared || lu->memfd < 0 || !path || !argv)
		return -EINVAL;
	rc = handoff_begin(lu, &memfd, &old_nr);
	if (rc)
		return rc;
	src = envp ? envp : environ;
	while (src && src[ne])
		ne++;
	fds = malloc((lu->d->nr_fds + 1) * sizeof(*fds));
	flags = malloc((lu->d->nr_fds + 1) * sizeof(*flags));
	env = malloc((ne + 2) * sizeof(*env));
	rc = -ENOMEM;
	if (!fds || !flags || !env)
		goto out;
	for (size_t i = 0; i < ne; i++)
		if (!is_lu_env(src[i]))
			env[k++] = src[i];
	snprintf(var, sizeof(var), "%s=%d", IOMMUFD_LU_ENV, memfd);
	env[k++] = var;
	env[k] = NULL;

	fds[nr++] = memfd;
	for (uint32_t i = 0; i < lu->d->nr_fds; i++)
		if (lu->d->fdv[i] >= 0)
			fds[nr++] = lu->d->fdv[i];
	for (done = 0; done < nr; done++) {
		flags[done] = fcntl(fds[done], F_GETFD);
		if (flags[done] < 0 ||
		    fcntl(fds[done], F_SETFD, flags[done] & ~FD_CLOEXEC)) {
			rc = -errno;
			goto restore;
		}
	}
	execve(path, argv, env);
	rc = -errno;
restore:
	/* Backwards: an fd named twice gets its first-seen flags back. */
	while (done--)
		fcntl(fds[done], F_SETFD, flags[done]);
out:
	handoff_undo(lu, memfd, old_nr);
	free(env);
	free(fds);
	free(flags);
	return rc;
}

/* ---- send / receive ---- */

union lu_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(LU_SCM_MAX * sizeof(int))];
};

static int send_msg(int sock, const void *buf, size_t len, const int *fds,
		    size_t nfds)
{
	union lu_cmsg c;
	const char *p = buf;

	while (len) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (nfds) {
			struct cmsghdr *cm;

			memset(&c, 0, sizeof(c));
			mh.msg_control = c.buf;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		nfds = 0;	/* they went with the first byte */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Exactly @len bytes, and the fds that came with them into @fds (room for
 * @max). On failure every fd received is closed.
 */
static int recv_msg(int sock, void *buf, size_t len, int *fds, size_t max,
		    size_t *nfds)
{
	char *p = buf;
	int rc = 0;

	*nfds = 0;
	while (len) {
		union lu_cmsg c;
		struct iovec iov = { .iov_base = p, .iov_len = len };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = c.buf,
			.msg_controllen = sizeof(c.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
		     cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k;

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(fd));
				if (*nfds < max) {
					fds[(*nfds)++] = fd;
				} else {
					close(fd);
					rc = -EPROTO;
				}
			}
		}
		if (mh.msg_flags & MSG_CTRUNC)
			rc = -EPROTO;
		if (!n && !rc)
			rc = -ECONNRESET;
		if (rc)
			break;
		p += n;
		len -= (size_t)n;
	}
	if (rc) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return rc;
}

IOMMUFD_EXPORT int iommufd_lu_send(struct iommufd_lu *lu, int sock)
{
	struct lu_wire_hdr h = { 0 };
	struct iommufd_ctx *ctx;
	struct stat st;
	int *fds;
	uint32_t nr, old_nr;
	int memfd, rc;

	if (!lu || !lu->prepared || lu->memfd < 0 || sock < 0)
		return -EINVAL;
	ctx = lu->ctx;
	rc = handoff_begin(lu, &memfd, &old_nr);
	if (rc)
		return rc;
	nr = lu->d->nr_fds;
	fds = malloc((nr + 1) * sizeof(*fds));
	if (!fds || fstat(memfd, &st)) {
		rc = fds ? -errno : -ENOMEM;
		free(fds);
		handoff_undo(lu, memfd, old_nr);
		return rc;
	}
	for (uint32_t i = 0; i < nr; i++)
		fds[i] = lu->d->fdv[i];
	h.magic = LU_WIRE_MAGIC;
	h.version = LU_WIRE_VERSION;
	h.nr_fds = nr;
	h.desc_len = (uint64_t)st.st_size;
	rc = send_msg(sock, &h, sizeof(h), &memfd, 1);
	for (uint32_t i = 0; !rc && i < nr; i += LU_SCM_MAX) {
		struct lu_wire_chunk c = {
			.magic = LU_WIRE_CHUNK_MAGIC,
			.nr = nr - i < LU_SCM_MAX ? nr - i : LU_SCM_MAX,
		};

		rc = send_msg(sock, &c, sizeof(c), fds + i, c.nr);
	}
	free(fds);
	if (rc) {
		ctx_err(ctx, "live update: sending over fd %d: %s", sock,
			strerror(-rc));
		handoff_undo(lu, memfd, old_nr);
		return rc;
	}
	handoff_done(lu, memfd);
	pthread_mutex_lock(&ctx->objects_lock);
	__atomic_store_n(&ctx->handed_over, true, __ATOMIC_RELEASE);
	set_prepared(ctx, false);
	pthread_mutex_unlock(&ctx->objects_lock);
	lu->prepared = false;
	ctx_info(ctx, "live update: handed over (%u fds)", nr);
	return 0;
}

/* The bytes of a description file (a memfd, or what iommufd_lu_write()
 * wrote), at most LU_MAX_DESC_BYTES. */
static int read_desc(int fd, struct lu_desc **out)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int rc;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *b;

			if (cap >= LU_MAX_DESC_BYTES) {
				free(buf);
				return -EFBIG;
			}
			b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0 && errno == ESPIPE)
			n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			free(buf);
			return rc;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	rc = lu_desc_decode(buf, len, out);
	free(buf);
	return rc;
}

/* A description memfd that came from another process: sealed, so neither
 * side can change it once checked. */
static int check_memfd(int fd, uint64_t want_len)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	struct stat st;
	int s;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	s = fcntl(fd, F_GET_SEALS);
	if (s < 0 || (s & seals) != seals)
		return -EBADMSG;
	if (st.st_size <= 0 || (uint64_t)st.st_size > LU_MAX_DESC_BYTES ||
	    (want_len && (uint64_t)st.st_size != want_len))
		return -EBADMSG;
	return 0;
}

IOMMUFD_EXPORT int iommufd_lu_receive(int sock, struct iommufd_lu **out)
{
	struct lu_wire_hdr h;
	struct lu_desc *d = NULL;
	struct iommufd_lu *lu;
	int *fds = NULL, memfd = -1;
	size_t got = 0, k;
	int rc;

	if (sock < 0 || !out)
		return -EINVAL;
	rc = recv_msg(sock, &h, sizeof(h), &memfd, 1, &k);
	if (rc)
		return rc;
	if (k != 1 || h.magic != LU_WIRE_MAGIC || h.reserved ||
	    h.nr_fds > LU_MAX_FDS || !h.desc_len ||
	    h.desc_len > LU_MAX_DESC_BYTES) {
		rc = h.magic == LU_WIRE_MAGIC && h.version != LU_WIRE_VERSION ?
			     -EPROTO : -EBADMSG;
		goto fail;
	}
	if (h.version != LU_WIRE_VERSION) {
		rc = -EPROTO;
		goto fail;
	}
	fds = malloc((h.nr_fds + 1) * sizeof(*fds));
	if (!fds) {
		rc = -ENOMEM;
		goto fail;
	}
	while (got < h.nr_fds) {
		struct lu_wire_chunk c;

		rc = recv_msg(sock, &c, sizeof(c), fds + got, h.nr_fds - got,
			      &k);
		if (rc)
			goto fail;
		got += k;
		if (c.magic != LU_WIRE_CHUNK_MAGIC || c.nr != k || !k ||
		    k > LU_SCM_MAX) {
			rc = -EBADMSG;
			goto fail;
		}
	}
	rc = check_memfd(memfd, h.desc_len);
	if (!rc)
		rc = read_desc(memfd, &d);
	if (!rc)
		rc = lu_desc_set_fds(d, fds, got);
	if (rc)
		goto fail;
	lu = lu_alloc(d, true);
	if (!lu) {
		rc = -ENOMEM;
		goto fail;
	}
	lu->memfd = memfd;
	free(fds);
	*out = lu;
	return 0;

fail:
	lu_desc_free(d);
	for (size_t i = 0; i < got; i++)
		close(fds[i]);
	free(fds);
	if (memfd >= 0)
		close(memfd);
	return rc;
}

/* ---- from the environment ---- */

static int parse_fd(const char *s, int *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == '+' || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

IOMMUFD_EXPORT int iommufd_lu_from_env(struct iommufd_lu **out)
{
	const char *v;
	struct lu_desc *d = NULL;
	struct iommufd_lu *lu;
	int *fds = NULL;
	int memfd, rc;

	if (!out)
		return -EINVAL;
	v = getenv(IOMMUFD_LU_ENV);
	if (!v) {
		unsetenv(IOMMUFD_LU_ENV);
		return -ENOENT;
	}
	rc = parse_fd(v, &memfd);
	/* Its children were not started by an update. */
	unsetenv(IOMMUFD_LU_ENV);
	if (rc)
		return rc;
	rc = check_memfd(memfd, 0);
	if (rc)
		return rc == -EBADMSG ? -EINVAL : rc;
	rc = read_desc(memfd, &d);
	if (rc)
		goto fail_memfd;
	fds = malloc((d->nr_fds + 1) * sizeof(*fds));
	if (!fds) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < d->nr_fds; i++) {
		fds[i] = d->fds[i].num;
		/* An exec keeps the numbers: each must be open, and not be
		 * the description itself. */
		if (fds[i] == memfd || fcntl(fds[i], F_GETFD) < 0) {
			rc = -EBADF;
			goto fail;
		}
	}
	rc = lu_desc_set_fds(d, fds, d->nr_fds);
	if (rc)
		goto fail;
	/* Not into this process's own children. */
	fcntl(memfd, F_SETFD, FD_CLOEXEC);
	for (uint32_t i = 0; i < d->nr_fds; i++)
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	lu = lu_alloc(d, true);
	if (!lu) {
		rc = -ENOMEM;
		goto fail;
	}
	lu->memfd = memfd;
	free(fds);
	*out = lu;
	return 0;

fail:
	/* What the old process passed is ours: close what it named. */
	if (fds) {
		size_t n = 0;

		for (uint32_t i = 0; i < d->nr_fds; i++)
			if (d->fds[i].num != memfd &&
			    fcntl(d->fds[i].num, F_GETFD) >= 0)
				fds[n++] = d->fds[i].num;
		close_set(fds, n);
	}
	free(fds);
	lu_desc_free(d);
fail_memfd:
	close(memfd);
	return rc;
}

/* ---- restore ---- */

/* The fds restore built objects over: theirs, not @lu's, once it worked. */
static bool role_taken(uint32_t role)
{
	return role == LU_FD_CTX || role == LU_FD_DEVICE ||
	       role == LU_FD_FILE || role == LU_FD_BACKEND;
}

static int fd_is_chr(const struct iommufd_kernel *k, int fd)
{
	struct stat st;
	int rc = kernel_fstat(k, fd, &st);

	if (rc)
		return rc;
	return S_ISCHR(st.st_mode) ? 0 : -ENODEV;
}

static int load_kernel(struct iommufd_lu *lu)
{
	struct lu_desc *d = lu->d;
	int *kfds;
	size_t nk = 0;
	int rc;

	if (lu->kernel_restored)
		return 0;
	for (uint32_t i = 0; i < d->nr_fds; i++)
		nk += d->fds[i].role == LU_FD_KERNEL;
	if (!nk) {
		lu->kernel.ops = &iommufd_sys_kernel_ops;
		lu->kernel.priv = NULL;
		return 0;
	}
	kfds = malloc(nk * sizeof(*kfds));
	if (!kfds)
		return -ENOMEM;
	nk = 0;
	for (uint32_t i = 0; i < d->nr_fds; i++)
		if (d->fds[i].role == LU_FD_KERNEL)
			kfds[nk++] = d->fdv[i];
	rc = iommufd_fake_kernel_load(&lu->kernel);
	if (!rc)
		rc = kernel_restore(&lu->kernel, kfds, nk);
	free(kfds);
	if (rc)
		return rc;
	/* The fake owns them now, whatever happens next. */
	for (uint32_t i = 0; i < d->nr_fds; i++)
		if (d->fds[i].role == LU_FD_KERNEL)
			lu->owned[i] = false;
	lu->kernel_restored = true;
	return 0;
}

static int rebuild(struct iommufd_lu *lu, struct iommufd_ctx *ctx)
{
	const struct lu_desc *d = lu->d;
	int rc;

	for (uint32_t i = 0; i < d->nr_ioas; i++) {
		const struct lu_ioas *io = &d->ioas[i];
		struct iommufd_iova_range *r = NULL;

		rc = ioas_restore(ctx, io->id, &lu->ioas[i]);
		if (rc)
			return rc;
		if (io->nr_allowed) {
			r = malloc(io->nr_allowed * sizeof(*r));
			if (!r)
				return -ENOMEM;
			for (uint32_t k = 0; k < io->nr_allowed; k++) {
				r[k].start = d->allowed[io->first_allowed + k].start;
				r[k].last = d->allowed[io->first_allowed + k].last;
			}
			rc = ioas_restore_allowed(lu->ioas[i], r,
						  io->nr_allowed);
			free(r);
			if (rc)
				return rc;
		}
		for (uint32_t k = 0; k < io->nr_maps; k++) {
			const struct lu_map *m = &d->maps[io->first_map + k];
			int fd;

			if (m->file == LU_NONE) {
				ctx_err(ctx, "live update: IOAS %u: [0x%llx, +0x%llx) maps the old process's memory: it cannot be taken over",
					io->id, (unsigned long long)m->iova,
					(unsigned long long)m->length);
				return -EOPNOTSUPP;
			}
			fd = lu_desc_fd(d, d->files[m->file].fd, LU_FD_FILE);
			if (fd < 0)
				return fd;
			rc = ioas_restore_map(lu->ioas[i], m->iova, m->length,
					      fd, m->offset, m->prot);
			if (rc)
				return rc == -EEXIST ? -EBADMSG : rc;
		}
	}
	for (uint32_t i = 0; i < d->nr_hwpts; i++) {
		const struct lu_hwpt *h = &d->hwpts[i];

		rc = hwpt_restore(lu->ioas[h->ioas], h->id, h->flags,
				  h->lib_owned, &lu->hwpts[i]);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < d->nr_devices; i++) {
		const struct lu_device *dv = &d->devices[i];
		int fd = lu_desc_fd(d, dv->fd, LU_FD_DEVICE);

		if (fd < 0)
			return fd;
		/* A cdev is checkable; a type1 device fd is an anon inode. */
		if (ctx->backend_kind == IOMMUFD_BACKEND_IOMMUFD) {
			rc = fd_is_chr(&ctx->kernel, fd);
			if (rc) {
				ctx_err(ctx, "live update: fd %d of %s is not a VFIO device file",
					fd, dv->name);
				return rc;
			}
		}
		rc = device_restore(ctx, fd, dv->devid, dv->name, dv->pci_addr,
				    dv->ioas == LU_NONE ? NULL : lu->ioas[dv->ioas],
				    dv->hwpt == LU_NONE ? NULL : lu->hwpts[dv->hwpt],
				    dv->pt_id, &lu->devices[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Restore worked: the context takes what it was built over. */
static int hand_fds_to_ctx(struct iommufd_lu *lu, struct iommufd_ctx *ctx)
{
	struct lu_desc *d = lu->d;
	int *taken, *mine;
	size_t nt = 0, nm = 0;
	uint32_t i;

	taken = malloc((d->nr_fds + 1) * sizeof(*taken));
	mine = malloc((d->nr_fds + 1) * sizeof(*mine));
	if (!taken || !mine) {
		free(taken);
		free(mine);
		return -ENOMEM;
	}
	for (i = 0; i < d->nr_fds; i++)
		if (role_taken(d->fds[i].role))
			taken[nt++] = d->fdv[i];
	qsort(taken, nt, sizeof(*taken), cmp_int);
	/* The ones not the context's own or a device's go to lu_fds. */
	for (i = 0; i < d->nr_fds; i++) {
		int fd = d->fdv[i];
		bool dup = false;

		if (d->fds[i].role != LU_FD_FILE &&
		    d->fds[i].role != LU_FD_BACKEND)
			continue;
		if (fd == ctx->fd)
			continue;
		for (uint32_t k = 0; k < d->nr_devices && !dup; k++)
			dup = lu->devices[k]->fd == fd;
		for (size_t k = 0; k < nm && !dup; k++)
			dup = mine[k] == fd;
		if (!dup)
			mine[nm++] = fd;
	}
	ctx->lu_fds = mine;
	ctx->nr_lu_fds = nm;
	ctx->owns_fd = true;
	for (i = 0; i < d->nr_devices; i++)
		lu->devices[i]->owns_fd = true;
	/* An extra fd that is also, say, a mapping's file is the
	 * context's now too. */
	for (i = 0; i < d->nr_fds; i++)
		if (bsearch(&d->fdv[i], taken, nt, sizeof(*taken), cmp_int))
			lu->owned[i] = false;
	free(taken);
	return 0;
}

static void unbuild(struct iommufd_lu *lu, struct iommufd_ctx *ctx)
{
	/* Nothing here is ours to destroy: the kernel objects are the
	 * description's, for whoever retries. */
	__atomic_store_n(&ctx->handed_over, true, __ATOMIC_RELEASE);
	iommufd_ctx_free(ctx);
	memset(lu->ioas, 0, lu->d->nr_ioas * sizeof(*lu->ioas));
	memset(lu->hwpts, 0, lu->d->nr_hwpts * sizeof(*lu->hwpts));
	memset(lu->devices, 0, lu->d->nr_devices * sizeof(*lu->devices));
}

static int alloc_objects(struct iommufd_lu *lu)
{
	const struct lu_desc *d = lu->d;

	free(lu->ioas);
	free(lu->hwpts);
	free(lu->devices);
	lu->ioas = calloc(d->nr_ioas + 1, sizeof(*lu->ioas));
	lu->hwpts = calloc(d->nr_hwpts + 1, sizeof(*lu->hwpts));
	lu->devices = calloc(d->nr_devices + 1, sizeof(*lu->devices));
	return lu->ioas && lu->hwpts && lu->devices ? 0 : -ENOMEM;
}

/* A restore that fails before its context exists still says why, through
 * the log the caller asked for. */
static void restore_fail_log(const struct iommufd_ctx_opts *copts,
			     const char *step, int err)
{
	char msg[256];

	if (!copts->log_fn ||
	    (copts->log_level && copts->log_level < IOMMUFD_LOG_ERR))
		return;
	snprintf(msg, sizeof(msg), "live update: restore failed %s: %s", step,
		 strerror(-err));
	copts->log_fn(copts->log_data, IOMMUFD_LOG_ERR, msg);
}

IOMMUFD_EXPORT int iommufd_lu_restore(struct iommufd_lu *lu,
				      const struct iommufd_lu_restore_opts *opts,
				      struct iommufd_ctx **out)
{
	struct iommufd_ctx_opts copts = { .sz = sizeof(copts) };
	struct iommufd_ctx *ctx = NULL;
	struct lu_desc *d;
	int ctx_fd, rc;

	if (!lu || !out || !OPTS_VALID(opts, iommufd_lu_restore_opts))
		return -EINVAL;
	if (lu->prepared || lu->ctx)
		return -EINVAL;		/* the old process's own */
	if (lu->built)
		return -EALREADY;
	d = lu->d;
	for (uint32_t i = 0; i < d->nr_fds; i++)
		if (d->fdv[i] < 0)
			return -EBADF;	/* read from a file: redrive */
	if (d->ctx_fd == LU_NONE)
		return -EBADMSG;
	ctx_fd = lu_desc_fd(d, d->ctx_fd, LU_FD_CTX);
	if (ctx_fd < 0)
		return ctx_fd;
	copts.log_fn = OPTS_GET(opts, log_fn, NULL);
	copts.log_data = OPTS_GET(opts, log_data, NULL);
	copts.log_level = OPTS_GET(opts, log_level, 0);

	rc = alloc_objects(lu);
	if (rc) {
		restore_fail_log(&copts, "allocating its objects", rc);
		return rc;
	}
	rc = load_kernel(lu);
	if (rc) {
		restore_fail_log(&copts, "loading the kernel's state", rc);
		return rc;
	}
	rc = fd_is_chr(&lu->kernel, ctx_fd);
	if (rc) {
		restore_fail_log(&copts, "checking the context's fd", rc);
		return rc;
	}
	rc = ctx_new_inherited(&lu->kernel, (enum iommufd_backend)d->backend,
			       ctx_fd, &copts, &ctx);
	if (rc) {
		restore_fail_log(&copts, "making the context", rc);
		return rc;
	}
	if (d->features & ~ctx->features)
		ctx_warn(ctx, "live update: this context lacks features the old one had (0x%llx)",
			 (unsigned long long)(d->features & ~ctx->features));
	rc = rebuild(lu, ctx);
	if (!rc && ctx->backend->lu_restore)
		rc = ctx->backend->lu_restore(ctx, d);
	if (!rc && ctx->backend->lu_takeover)
		rc = ctx->backend->lu_takeover(ctx);
	if (!rc)
		rc = hand_fds_to_ctx(lu, ctx);
	if (rc) {
		ctx_err(ctx, "live update: restore failed: %s", strerror(-rc));
		unbuild(lu, ctx);
		return rc;
	}
	lu->built = true;
	ctx_info(ctx, "live update: restored %u IOAS, %u mappings, %u devices",
		 d->nr_ioas, d->nr_maps, d->nr_devices);
	*out = ctx;
	return 0;
}

/* ---- accessors ---- */

IOMMUFD_EXPORT size_t iommufd_lu_nr_ioas(const struct iommufd_lu *lu)
{
	return lu ? lu->d->nr_ioas : 0;
}

IOMMUFD_EXPORT struct iommufd_ioas *iommufd_lu_ioas(const struct iommufd_lu *lu,
						    size_t i)
{
	return lu && lu->built && i < lu->d->nr_ioas ? lu->ioas[i] : NULL;
}

IOMMUFD_EXPORT size_t iommufd_lu_nr_devices(const struct iommufd_lu *lu)
{
	return lu ? lu->d->nr_devices : 0;
}

IOMMUFD_EXPORT struct iommufd_device *
iommufd_lu_device(const struct iommufd_lu *lu, size_t i)
{
	return lu && lu->built && i < lu->d->nr_devices ? lu->devices[i] :
							  NULL;
}

IOMMUFD_EXPORT size_t iommufd_lu_nr_hwpts(const struct iommufd_lu *lu)
{
	return lu ? lu->d->nr_hwpts : 0;
}

IOMMUFD_EXPORT struct iommufd_hwpt *iommufd_lu_hwpt(const struct iommufd_lu *lu,
						    size_t i)
{
	return lu && lu->built && i < lu->d->nr_hwpts ? lu->hwpts[i] : NULL;
}

IOMMUFD_EXPORT const void *iommufd_lu_user_data(const struct iommufd_lu *lu,
						size_t *len)
{
	if (len)
		*len = lu && lu->d->user_data_len ? lu->d->user_data_len : 0;
	return lu && lu->d->user_data_len ? lu->d->user_data : NULL;
}

IOMMUFD_EXPORT int iommufd_lu_extra_fd(const struct iommufd_lu *lu, size_t i)
{
	if (!lu)
		return -EINVAL;
	for (uint32_t k = 0; k < lu->d->nr_fds; k++) {
		if (lu->d->fds[k].role != LU_FD_EXTRA)
			continue;
		if (!i--)
			return lu->d->fdv[k] >= 0 ? lu->d->fdv[k] : -EBADF;
	}
	return -ENOENT;
}

IOMMUFD_EXPORT size_t iommufd_lu_nr_files(const struct iommufd_lu *lu)
{
	return lu ? lu->d->nr_files : 0;
}

/* ---- write / read ---- */

IOMMUFD_EXPORT int iommufd_lu_write(const struct iommufd_lu *lu, int fd)
{
	void *buf;
	size_t len;
	int rc;

	if (!lu || fd < 0)
		return -EINVAL;
	rc = lu_desc_encode(lu->d, &buf, &len);
	if (rc)
		return rc;
	rc = write_all(fd, buf, len);
	free(buf);
	return rc;
}

IOMMUFD_EXPORT int iommufd_lu_read(int fd, struct iommufd_lu **out)
{
	struct lu_desc *d;
	struct iommufd_lu *lu;
	int rc;

	if (fd < 0 || !out)
		return -EINVAL;
	rc = read_desc(fd, &d);
	if (rc)
		return rc;
	lu = lu_alloc(d, false);
	if (!lu) {
		lu_desc_free(d);
		return -ENOMEM;
	}
	*out = lu;
	return 0;
}

/* ---- redrive ---- */

struct diffs {
	const struct iommufd_lu_redrive_opts *opts;
	int count;
	bool stop;
};

static void diff(struct diffs *df, size_t ioas, uint64_t iova,
		 uint64_t length, const char *what)
{
	struct iommufd_lu_diff dd = {
		.ioas = ioas,
		.iova = iova,
		.length = length,
		.what = what,
	};
	iommufd_lu_diff_fn fn = OPTS_GET(df->opts, diff_fn, NULL);

	df->count++;
	if (fn && !df->stop && fn(&dd, OPTS_GET(df->opts, diff_data, NULL)))
		df->stop = true;
}

struct verify {
	const struct lu_map *m;
	const struct lu_file *f;
	uint64_t next;			/* the IOVA expected next */
	const char *bad;
};

static int verify_cb(const struct iommufd_mapping *mp, void *data)
{
	struct verify *v = data;
	struct stat st;

	if (mp->iova != v->next) {
		v->bad = "not wholly mapped: a hole";
		return 1;
	}
	if (mp->fd < 0) {
		v->bad = "resolves to process memory, not the file";
		return 1;
	}
	if (fstat(mp->fd, &st) || (uint64_t)st.st_dev != v->f->dev ||
	    (uint64_t)st.st_ino != v->f->ino) {
		v->bad = "resolves to another file";
		return 1;
	}
	if (mp->offset != v->m->offset + (mp->iova - v->m->iova)) {
		v->bad = "resolves to another offset of the file";
		return 1;
	}
	if (mp->flags != v->m->prot) {
		v->bad = "has other permissions";
		return 1;
	}
	v->next = mp->iova + mp->length;
	return 0;
}

static void verify(struct iommufd_lu *lu, struct diffs *df)
{
	const struct lu_desc *d = lu->d;

	for (uint32_t i = 0; i < d->nr_ioas && !df->stop; i++) {
		const struct lu_ioas *io = &d->ioas[i];

		for (uint32_t k = 0; k < io->nr_maps && !df->stop; k++) {
			const struct lu_map *m = &d->maps[io->first_map + k];
			uint64_t last = m->iova + (m->length - 1);
			struct verify v = { .m = m, .next = m->iova };

			if (m->file == LU_NONE) {
				diff(df, i, m->iova, m->length,
				     "maps process memory: it cannot be re-driven");
				continue;
			}
			v.f = &d->files[m->file];
			iommufd_ioas_for_each_mapping(lu->ioas[i], m->iova,
						      last, verify_cb, &v);
			if (!v.bad && v.next != last + 1 &&
			    !(v.next == 0 && last == UINT64_MAX))
				v.bad = "not wholly mapped";
			if (v.bad)
				diff(df, i, m->iova, m->length, v.bad);
		}
	}
}

static void undrive(struct iommufd_lu *lu)
{
	const struct lu_desc *d = lu->d;

	for (uint32_t i = d->nr_devices; i--;)
		iommufd_device_free(lu->devices[i]);
	for (uint32_t i = d->nr_hwpts; i--;)
		if (lu->hwpts[i] && !d->hwpts[i].lib_owned)
			iommufd_hwpt_destroy(lu->hwpts[i]);
	for (uint32_t i = d->nr_ioas; i--;)
		if (lu->ioas[i])
			iommufd_ioas_destroy(lu->ioas[i]);
	memset(lu->ioas, 0, d->nr_ioas * sizeof(*lu->ioas));
	memset(lu->hwpts, 0, d->nr_hwpts * sizeof(*lu->hwpts));
	memset(lu->devices, 0, d->nr_devices * sizeof(*lu->devices));
}

static int attach_again(struct iommufd_lu *lu, uint32_t i)
{
	const struct lu_desc *d = lu->d;
	const struct lu_device *dv = &d->devices[i];
	struct iommufd_device *dev = lu->devices[i];
	const struct lu_hwpt *h;
	struct iommufd_hwpt *got = NULL;
	int rc;

	if (dv->ioas == LU_NONE)
		return 0;
	if (dv->hwpt == LU_NONE)
		return iommufd_device_attach_ioas(dev, lu->ioas[dv->ioas]);
	h = &d->hwpts[dv->hwpt];
	if (lu->hwpts[dv->hwpt])
		return iommufd_device_attach_hwpt(dev, lu->hwpts[dv->hwpt]);
	/* A library-owned HWPT: made again the way it was made. */
	rc = iommufd_device_attach(dev, lu->ioas[dv->ioas],
				   h->flags & IOMMUFD_HWPT_DIRTY_TRACKING ?
					   IOMMUFD_ATTACH_DIRTY_TRACKING : 0,
				   &got);
	if (!rc)
		lu->hwpts[dv->hwpt] = got;
	return rc;
}

IOMMUFD_EXPORT int iommufd_lu_redrive(struct iommufd_lu *lu,
				      struct iommufd_ctx *ctx,
				      const struct iommufd_lu_redrive_opts *opts)
{
	struct diffs df = { .opts = opts };
	const struct lu_desc *d;
	const int *files;
	size_t nr_files;
	bool fresh;
	int rc = 0;

	if (!lu || !ctx || !opts || !OPTS_VALID(opts, iommufd_lu_redrive_opts))
		return -EINVAL;
	if (lu->prepared || lu->ctx)
		return -EINVAL;
	if (lu->built)
		return -EALREADY;
	d = lu->d;
	files = OPTS_GET(opts, files, NULL);
	nr_files = OPTS_GET(opts, nr_files, 0);
	if (nr_files < d->nr_files || (d->nr_files && !files))
		return -EINVAL;
	for (uint32_t i = 0; i < d->nr_files; i++)
		if (files[i] < 0)
			return -EBADF;
	pthread_mutex_lock(&ctx->objects_lock);
	fresh = list_empty(&ctx->ioas_list) && list_empty(&ctx->device_list);
	pthread_mutex_unlock(&ctx->objects_lock);
	if (!fresh) {
		ctx_err(ctx, "live update redrive: the context has IOAS or devices already");
		return -EBUSY;
	}
	rc = alloc_objects(lu);
	if (rc)
		return rc;
	if (d->backend != (uint32_t)ctx->backend_kind)
		ctx_info(ctx, "live update redrive: the description is of the %s backend, this context %s",
			 iommufd_backend_name((enum iommufd_backend)d->backend) ?: "?",
			 iommufd_backend_name(ctx->backend_kind));

	for (uint32_t i = 0; i < d->nr_ioas && !rc; i++) {
		const struct lu_ioas *io = &d->ioas[i];

		rc = iommufd_ioas_new(ctx, &lu->ioas[i]);
		if (!rc && io->nr_allowed) {
			struct iommufd_iova_range *r =
				malloc(io->nr_allowed * sizeof(*r));

			if (!r) {
				rc = -ENOMEM;
				break;
			}
			for (uint32_t k = 0; k < io->nr_allowed; k++) {
				r[k].start = d->allowed[io->first_allowed + k].start;
				r[k].last = d->allowed[io->first_allowed + k].last;
			}
			rc = iommufd_ioas_allow_iovas(lu->ioas[i], r,
						      io->nr_allowed);
			free(r);
		}
		if (!rc && (io->flags & LU_IOAS_NO_HUGE_PAGES))
			rc = iommufd_ioas_set_huge_pages(lu->ioas[i], false);
	}
	for (uint32_t i = 0; i < d->nr_devices && !rc; i++) {
		const struct lu_device *dv = &d->devices[i];
		struct iommufd_device_opts dopts = {
			.sz = sizeof(dopts),
			.ioas = dv->ioas == LU_NONE ? NULL : lu->ioas[dv->ioas],
		};

		rc = iommufd_device_open(ctx, dv->name, &dopts,
					 &lu->devices[i]);
	}
	for (uint32_t i = 0; i < d->nr_hwpts && !rc; i++) {
		const struct lu_hwpt *h = &d->hwpts[i];

		if (h->lib_owned)
			continue;
		rc = iommufd_hwpt_new(lu->devices[h->dev], lu->ioas[h->ioas],
				      h->flags, &lu->hwpts[i]);
	}
	for (uint32_t i = 0; i < d->nr_devices && !rc; i++)
		rc = attach_again(lu, i);
	for (uint32_t i = 0; i < d->nr_ioas && !rc; i++) {
		const struct lu_ioas *io = &d->ioas[i];

		for (uint32_t k = 0; k < io->nr_maps && !rc; k++) {
			const struct lu_map *m = &d->maps[io->first_map + k];
			uint64_t iova = m->iova;

			if (m->file == LU_NONE)
				continue;	/* verify reports it */
			rc = iommufd_ioas_map_file(lu->ioas[i],
						   files[m->file], m->offset,
						   m->length, &iova,
						   m->prot | IOMMUFD_MAP_FIXED_IOVA);
		}
	}
	if (rc) {
		ctx_err(ctx, "live update redrive failed: %s", strerror(-rc));
		undrive(lu);
		return rc;
	}
	lu->built = true;
	verify(lu, &df);
	ctx_info(ctx, "live update redrive: %d difference(s)", df.count);
	return df.count;
}
