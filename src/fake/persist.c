/* SPDX-License-Identifier: MIT */
/*
 * Live update of the fake kernel: its model written to a memfd before an
 * exec (or a handoff over SCM_RIGHTS), and read back by the new process.
 *
 * The real kernel outlives the process, the fake does not: what it keeps in
 * memory must travel. Open files keep their identity (the memfd inode every
 * fd of them reaches), so the new process finds them again through the fds
 * it inherited or received. What the model reaches through the old address
 * space (USER pages: pinned pages the kernel would keep) is resolved to a
 * file the new process can reach: the shared file mapped there, or a memfd
 * holding a copy of the pinned contents.
 *
 * The state is untrusted input: every length and index is checked, and the
 * new model is built in a separate fake that replaces the old model only
 * once everything parsed and linked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

#define STATE_MAGIC "IOFDFAKE"
#define STATE_VERSION 1u
/* A preserved model of a test machine is small; anything near this is
 * garbage, not a state. */
#define STATE_MAX (UINT64_C(256) << 20)
#define NO_INDEX UINT32_MAX
/* Object ids the restore accepts: the table is an array indexed by id. */
#define MAX_OBJ_ID (UINT32_C(1) << 20)

struct state_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t payload_len;
	uint64_t checksum;	/* FNV-1a 64 of the payload */
	uint32_t nr_fds;
	uint32_t reserved;
};

enum rec_tag {
	REC_FAKE = 1,
	REC_UNIT,
	REC_DEVICE,
	REC_FILEREF,
	REC_PAGES,
	REC_ICTX,	/* an iommufd file; its objects follow */
	REC_OBJECT,
	REC_DF,		/* a VFIO device cdev file */
	REC_END,
	REC_CONTAINER,	/* a VFIO container with its type1 IOMMU */
	REC_VGROUP,	/* an open VFIO group */
};

enum file_kind {
	FILE_IOMMUFD = 1,
	FILE_VFIO_CDEV,
};

enum owner_kind {
	OWNER_FAKE,
	OWNER_IDEV,
	OWNER_HWPT,
};

/*
 * The kernel's random bytes for this program image: new at every exec, the
 * same for the life of one. With the pid they tell an exec of this process
 * (its old sysfs tree is left behind) from a restore in the same image
 * (the tree belongs to a fake that still lives).
 */
static void exec_token(uint8_t out[16])
{
	const void *r = (const void *)getauxval(AT_RANDOM);

	if (r)
		memcpy(out, r, 16);
	else
		memset(out, 0, 16);
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void w_bytes(struct wbuf *w, const void *d, size_t n)
{
	if (w->err || !n)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *p;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->err = -ENOMEM;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, sizeof(v));
}

static void w_u32(struct wbuf *w, uint32_t v)
{
	w_bytes(w, &v, sizeof(v));
}

static void w_u64(struct wbuf *w, uint64_t v)
{
	w_bytes(w, &v, sizeof(v));
}

static void w_str(struct wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	w_u32(w, (uint32_t)n);
	w_bytes(w, s, n);
}

static size_t w_begin(struct wbuf *w, uint32_t tag)
{
	size_t at;

	w_u32(w, tag);
	at = w->len;
	w_u32(w, 0);
	return at;
}

static void w_end(struct wbuf *w, size_t at)
{
	uint32_t len;

	if (w->err)
		return;
	len = (uint32_t)(w->len - at - sizeof(uint32_t));
	memcpy(w->p + at, &len, sizeof(len));
}

static void w_ranges(struct wbuf *w, const struct fake_range *r, size_t n)
{
	w_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		w_u64(w, r[i].start);
		w_u64(w, r[i].last);
	}
}

/* A mapping of this process, from /proc/self/maps. */
struct vma {
	uint64_t start, end, offset;
	dev_t dev;
	ino_t ino;
	bool shared;
};

/* A file the new process needs, by its index in the fds. */
struct pref {
	dev_t dev;
	ino_t ino;
	uint32_t fdidx;
};

struct pctx {
	struct iommufd_fake *fake;
	struct wbuf w;
	int *fds;
	size_t nr_fds, cap_fds;
	struct vma *vmas;
	size_t nr_vmas;
	struct pref *refs;
	size_t nr_refs;
	struct fake_pages **pages;
	size_t nr_pages, cap_pages;
	/* per pages: the file (ref index) and offset the new process reaches
	 * its memory through */
	uint32_t *pages_file;
	uint64_t *pages_off;
	/* the same for the pinned pages of type1 mappings, in the order the
	 * containers and their mappings are written */
	uint32_t *t1_file;
	uint64_t *t1_off;
	size_t nr_t1, cap_t1, t1_cur;
};

static int p_add_fd(struct pctx *c, int fd)
{
	int nfd;

	if (c->nr_fds == c->cap_fds) {
		size_t cap = c->cap_fds ? c->cap_fds * 2 : 8;
		int *t = realloc(c->fds, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		c->fds = t;
		c->cap_fds = cap;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0)
		return -errno;
	c->fds[c->nr_fds++] = nfd;
	return (int)(c->nr_fds - 1);
}

/* The ref index of the file behind @fd, added (with a dup) if new. */
static int p_add_ref(struct pctx *c, int fd, uint32_t *out)
{
	struct pref *t;
	struct stat st;
	int idx;

	if (fstat(fd, &st))
		return -errno;
	for (size_t i = 0; i < c->nr_refs; i++) {
		if (c->refs[i].dev == st.st_dev && c->refs[i].ino == st.st_ino) {
			*out = (uint32_t)i;
			return 0;
		}
	}
	t = realloc(c->refs, (c->nr_refs + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	c->refs = t;
	idx = p_add_fd(c, fd);
	if (idx < 0)
		return idx;
	t[c->nr_refs] = (struct pref){ st.st_dev, st.st_ino, (uint32_t)idx };
	*out = (uint32_t)c->nr_refs++;
	return 0;
}

static int read_maps(struct pctx *c)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	int ret = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		unsigned int ma, mi;
		char perms[8];
		struct vma *t;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end,
			   perms, &off, &ma, &mi, &ino) != 7)
			continue;
		t = realloc(c->vmas, (c->nr_vmas + 1) * sizeof(*t));
		if (!t) {
			ret = -ENOMEM;
			break;
		}
		c->vmas = t;
		t[c->nr_vmas++] = (struct vma){
			.start = start, .end = end, .offset = off,
			.dev = makedev(ma, mi), .ino = (ino_t)ino,
			.shared = perms[3] == 's',
		};
	}
	fclose(f);
	return ret;
}

/* An fd of this process on the file (dev, ino), or -1. */
static int find_fd(dev_t dev, ino_t ino)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct stat st;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd == dirfd(d))
			continue;
		if (!fstat((int)fd, &st) && st.st_dev == dev &&
		    st.st_ino == ino && S_ISREG(st.st_mode)) {
			found = (int)fd;
			break;
		}
	}
	closedir(d);
	return found;
}

/* The pinned pages only the kernel reaches after an exec: a copy. */
static int copy_to_memfd(struct pctx *c, uint64_t uptr, uint64_t len,
			 uint32_t *ref)
{
	uint64_t ps = c->fake->page_size;
	int fd, ret = 0;
	void *buf;

	fd = memfd_create("iommufd-fake-pinned", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(ps);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (ftruncate(fd, (off_t)len))
		ret = -errno;
	for (uint64_t off = 0; !ret && off < len; off += ps) {
		/* A page unmapped since it was pinned reads as zeroes. */
		if (fake_copy_from_user(buf, (void *)(uintptr_t)(uptr + off),
					ps))
			continue;
		if (pwrite(fd, buf, ps, (off_t)off) != (ssize_t)ps)
			ret = -EIO;
	}
	free(buf);
	if (!ret)
		ret = p_add_ref(c, fd, ref);
	close(fd);
	return ret;
}

/* The file through which another process reaches the pinned pages at
 * [uptr, uptr + len): the shared file mapped there, else a copy. */
static int resolve_user_range(struct pctx *c, uint64_t uptr, uint64_t len,
			      uint32_t *ref, uint64_t *off)
{
	uint64_t end = uptr + len;

	for (size_t i = 0; i < c->nr_vmas; i++) {
		const struct vma *v = &c->vmas[i];
		int fd;

		if (v->start > uptr || v->end < end)
			continue;
		if (!v->shared || !v->ino)
			break;
		fd = find_fd(v->dev, v->ino);
		if (fd < 0)
			break;
		*off = v->offset + (uptr - v->start);
		return p_add_ref(c, fd, ref);
	}
	*off = 0;
	return copy_to_memfd(c, uptr, len, ref);
}

static int resolve_user_pages(struct pctx *c, struct fake_pages *pages,
			      uint32_t *ref, uint64_t *off)
{
	return resolve_user_range(c, pages->uptr,
				  pages->npages * c->fake->page_size, ref, off);
}

static int p_collect_type1(struct pctx *c, struct fake_type1 *iommu)
{
	struct fake_type1_state st;

	fake_type1_get_state(iommu, &st);
	for (size_t i = 0; i < st.nr_dmas; i++) {
		struct fake_type1_dma_state d;
		uint32_t *tf;
		uint64_t *to;
		int ret;

		fake_type1_get_dma(iommu, i, &d);
		if (!d.iommu_mapped)
			continue;
		tf = c->t1_file;
		to = c->t1_off;
		if (c->nr_t1 == c->cap_t1) {
			size_t cap = c->cap_t1 ? c->cap_t1 * 2 : 64;

			tf = realloc(c->t1_file, cap * sizeof(*tf));
			if (tf)
				c->t1_file = tf;
			to = realloc(c->t1_off, cap * sizeof(*to));
			if (to)
				c->t1_off = to;
			if (!tf || !to)
				return -ENOMEM;
			c->cap_t1 = cap;
		}
		ret = resolve_user_range(c, d.pinned_addr, d.size,
					 &tf[c->nr_t1], &to[c->nr_t1]);
		if (ret)
			return ret;
		c->nr_t1++;
	}
	return 0;
}

static int p_collect_pages(struct pctx *c, struct fake_area *a)
{
	struct fake_pages *pages;
	size_t n;
	int ret;

	if (!a)
		return 0;
	ret = p_collect_pages(c, a->left);
	if (ret)
		return ret;
	pages = a->pages;
	if (pages->persist_gen != c->fake->persist_gen) {
		struct fake_pages **t = c->pages;
		uint32_t *tf = c->pages_file;
		uint64_t *to = c->pages_off;

		n = c->nr_pages;
		if (n == c->cap_pages) {
			size_t cap = c->cap_pages ? c->cap_pages * 2 : 64;

			t = realloc(c->pages, cap * sizeof(*t));
			if (t)
				c->pages = t;
			tf = realloc(c->pages_file, cap * sizeof(*tf));
			if (tf)
				c->pages_file = tf;
			to = realloc(c->pages_off, cap * sizeof(*to));
			if (to)
				c->pages_off = to;
			if (!t || !tf || !to)
				return -ENOMEM;
			c->cap_pages = cap;
		}
		c->pages[n] = pages;
		c->nr_pages++;
		pages->persist_gen = c->fake->persist_gen;
		pages->persist_idx = (uint32_t)n;
		if (pages->type == FAKE_PAGES_FILE) {
			ret = p_add_ref(c, pages->file->fd, &tf[n]);
			to[n] = pages->start;
		} else if (pages->backing) {
			ret = p_add_ref(c, pages->backing->fd, &tf[n]);
			to[n] = pages->backing_start;
		} else {
			ret = resolve_user_pages(c, pages, &tf[n], &to[n]);
		}
		if (ret)
			return ret;
	}
	return p_collect_pages(c, a->right);
}

static uint32_t p_pages_index(struct pctx *c, struct fake_pages *pages)
{
	return pages->persist_gen == c->fake->persist_gen ?
		       pages->persist_idx : NO_INDEX;
}

static uint32_t p_unit_index(struct iommufd_fake *fake,
			     const struct fake_unit *unit)
{
	uint32_t i = 0;

	for (struct fake_unit *u = fake->units; u; u = u->next, i++)
		if (u == unit)
			return i;
	return NO_INDEX;
}

static uint32_t p_dev_index(struct iommufd_fake *fake,
			    const struct fake_device *dev)
{
	uint32_t i = 0;

	for (struct fake_device *d = fake->devices; d; d = d->next, i++)
		if (d == dev)
			return i;
	return NO_INDEX;
}

static void p_dirty(struct wbuf *w, const struct fake_dirty *d)
{
	w_ranges(w, d->runs, d->nr);
}

static void p_unit(struct pctx *c, const struct fake_unit *u)
{
	struct wbuf *w = &c->w;
	size_t at = w_begin(w, REC_UNIT);

	w_str(w, u->name);
	w_u32(w, u->hw_info_type);
	w_u64(w, u->cap_reg);
	w_u64(w, u->ecap_reg);
	w_u8(w, u->dirty_tracking);
	w_u8(w, u->nest_parent);
	w_u8(w, u->pasid_log2);
	w_u64(w, u->page_size);
	w_u64(w, u->aperture_start);
	w_u64(w, u->aperture_last);
	w_u32(w, (uint32_t)u->nr_resv);
	for (size_t i = 0; i < u->nr_resv; i++) {
		w_u64(w, u->resv[i].start);
		w_u64(w, u->resv[i].last);
		w_u32(w, (uint32_t)u->resv[i].type);
	}
	w_end(w, at);
}

static int p_device(struct pctx *c, struct fake_device *d)
{
	struct wbuf *w = &c->w;
	size_t at = w_begin(w, REC_DEVICE);

	w_u32(w, d->kind);
	w_str(w, d->name);
	w_u32(w, d->domain);
	w_u8(w, d->bus);
	w_u8(w, d->devfn);
	w_u32(w, d->vendor_id);
	w_u32(w, d->device_id);
	w_u32(w, d->subsystem_vendor_id);
	w_u32(w, d->subsystem_device_id);
	w_u32(w, d->class_code);
	w_u8(w, d->revision);
	w_u32(w, p_unit_index(c->fake, d->unit));
	w_u32(w, (uint32_t)d->group);
	w_str(w, d->driver);
	w_u32(w, (uint32_t)d->vfio_index);
	w_u32(w, d->reset_group);
	w_u8(w, d->reset_works);
	w_u8(w, d->pcie);
	w_u8(w, d->pasid);
	w_u32(w, d->cfg_size);
	w_bytes(w, d->cfg, sizeof(d->cfg));
	w_bytes(w, d->wmask, sizeof(d->wmask));
	w_u8(w, d->msi_cap);
	w_u8(w, d->msix_cap);
	w_u32(w, d->saved_cmd);
	for (int i = 0; i < FAKE_NR_BARS; i++) {
		const struct fake_bar *b = &d->bars[i];
		int idx = -1;

		if (b->memfd >= 0) {
			idx = p_add_fd(c, b->memfd);
			if (idx < 0)
				return idx;
		}
		w_u64(w, b->size);
		w_u32(w, b->flags);
		w_u32(w, idx < 0 ? NO_INDEX : (uint32_t)idx);
		w_u64(w, b->msix_start);
		w_u64(w, b->msix_size);
		w_u64(w, b->hole_start);
		w_u64(w, b->hole_size);
	}
	w_u32(w, d->nr_intx);
	w_u32(w, d->nr_msi);
	w_u32(w, d->nr_msix);
	w_u32(w, (uint32_t)d->irq_type);
	w_u32(w, d->nr_irq_efds);
	w_u8(w, d->intx_masked);
	w_u8(w, d->intx_level);
	w_u8(w, d->low_power);
	w_str(w, d->model ? d->model->name : "");
	if (d->model) {
		size_t n = d->model->save ? d->model->save(d, NULL) : 0;
		void *buf = n ? malloc(n) : NULL;

		if (n && !buf)
			return -ENOMEM;
		if (n)
			d->model->save(d, buf);
		w_u32(w, (uint32_t)n);
		w_bytes(w, buf, n);
		free(buf);
	}
	w_u64(w, d->migration_flags);
	w_u8(w, d->log.supported);
	w_u32(w, d->log.max_ranges);
	w_u8(w, d->log.active);
	w_u32(w, d->log.shift);
	w_ranges(w, d->log.ranges, d->log.nr_ranges);
	p_dirty(w, &d->log.dirty);
	w_u8(w, d->log.dirty_all);
	w_u64(w, d->dmas);
	w_u64(w, d->faults);
	w_u64(w, d->last_fault_iova);
	w_u8(w, d->last_fault_write);
	w_u32(w, (uint32_t)d->last_fault_reason);
	w_u32(w, d->open_count);
	w_end(w, at);
	return 0;
}

static void p_areas(struct pctx *c, const struct fake_area *a)
{
	if (!a)
		return;
	p_areas(c, a->left);
	w_u64(&c->w, a->iova);
	w_u64(&c->w, a->last);
	w_u32(&c->w, a->prot);
	w_u64(&c->w, a->start_byte);
	w_u32(&c->w, p_pages_index(c, a->pages));
	p_areas(c, a->right);
}

/* Who reserved a range of an IOAS: the fake (NULL), a device, a HWPT. */
static int p_owner(struct fake_ictx *ictx, const void *owner, uint32_t *kind,
		   uint32_t *id)
{
	*kind = OWNER_FAKE;
	*id = 0;
	if (!owner)
		return 0;
	for (uint32_t i = 1; i < ictx->nr_slots; i++) {
		struct fake_object *o = ictx->objects[i];

		if (!o)
			continue;
		if (o->type == FAKE_OBJ_DEVICE &&
		    fake_container_of(o, struct fake_idev, obj) == owner) {
			*kind = OWNER_IDEV;
			*id = i;
			return 0;
		}
		if (o->type == FAKE_OBJ_HWPT_PAGING &&
		    fake_container_of(o, struct fake_hwpt, obj) == owner) {
			*kind = OWNER_HWPT;
			*id = i;
			return 0;
		}
	}
	return -EOPNOTSUPP;
}

static int p_object(struct pctx *c, struct fake_ictx *ictx,
		    struct fake_object *o)
{
	struct wbuf *w = &c->w;
	size_t at;

	if (o->type == FAKE_OBJ_HWPT_PAGING) {
		struct fake_hwpt *h = fake_container_of(o, struct fake_hwpt, obj);

		if (h->fault)
			return -EOPNOTSUPP;
	} else if (o->type != FAKE_OBJ_IOAS && o->type != FAKE_OBJ_DEVICE &&
		   o->type != FAKE_OBJ_ACCESS) {
		return -EOPNOTSUPP;
	}
	at = w_begin(w, REC_OBJECT);
	w_u32(w, o->type);
	w_u32(w, o->id);
	w_u32(w, o->users);
	switch (o->type) {
	case FAKE_OBJ_IOAS: {
		struct fake_ioas *ioas = fake_container_of(o, struct fake_ioas, obj);
		struct fake_iopt *iopt = &ioas->iopt;

		w_u64(w, iopt->iova_alignment);
		w_u8(w, iopt->disable_large_pages);
		w_ranges(w, iopt->allowed, iopt->nr_allowed);
		w_u32(w, (uint32_t)iopt->nr_reserved);
		for (size_t i = 0; i < iopt->nr_reserved; i++) {
			uint32_t kind, id;
			int ret = p_owner(ictx, iopt->reserved[i].owner, &kind,
					  &id);

			if (ret)
				return ret;
			w_u64(w, iopt->reserved[i].range.start);
			w_u64(w, iopt->reserved[i].range.last);
			w_u32(w, kind);
			w_u32(w, id);
		}
		w_u64(w, iopt->nr_areas);
		p_areas(c, iopt->root);
		break;
	}
	case FAKE_OBJ_HWPT_PAGING: {
		struct fake_hwpt *h = fake_container_of(o, struct fake_hwpt, obj);

		w_u32(w, h->ioas->obj.id);
		w_u32(w, p_unit_index(c->fake, h->unit));
		w_u32(w, h->flags);
		w_u8(w, h->auto_domain);
		w_u8(w, h->nest_parent);
		w_u8(w, h->pasid_compat);
		w_u8(w, h->dirty_ops);
		w_u8(w, h->dirty_enabled);
		w_u8(w, h->dirty_all);
		p_dirty(w, &h->dirty);
		break;
	}
	case FAKE_OBJ_DEVICE: {
		struct fake_idev *idev = fake_container_of(o, struct fake_idev, obj);

		w_u32(w, p_dev_index(c->fake, idev->dev));
		w_u32(w, idev->hwpt ? idev->hwpt->obj.id : 0);
		w_u32(w, (uint32_t)idev->nr_pasids);
		for (size_t i = 0; i < idev->nr_pasids; i++) {
			w_u32(w, idev->pasids[i].pasid);
			w_u32(w, idev->pasids[i].hwpt->obj.id);
		}
		break;
	}
	default: {
		struct fake_access *acc =
			fake_container_of(o, struct fake_access, obj);

		w_u32(w, p_dev_index(c->fake, acc->dev));
		w_u32(w, acc->ioas ? acc->ioas->obj.id : 0);
		break;
	}
	}
	w_end(w, at);
	return 0;
}

/* Objects in an order that lets the restore link as it goes: what is held
 * before what holds it. */
static const enum fake_obj_type obj_order[] = {
	FAKE_OBJ_IOAS, FAKE_OBJ_HWPT_PAGING, FAKE_OBJ_DEVICE, FAKE_OBJ_ACCESS,
};

static void p_file_common(struct pctx *c, const struct fake_file *f,
			  uint32_t tag, size_t *at)
{
	*at = w_begin(&c->w, tag);
	w_u64(&c->w, (uint64_t)f->dev);
	w_u64(&c->w, (uint64_t)f->ino);
	/* the references the model holds; the fds are counted again */
	w_u32(&c->w, f->refs - f->nfds);
	w_u64(&c->w, (uint64_t)f->st_rdev);
}

static int p_ictx(struct pctx *c, struct fake_file *f)
{
	struct fake_ictx *ictx = f->private_data;
	uint32_t nobj = 0;
	size_t at;
	int ret;

	for (uint32_t i = 1; i < ictx->nr_slots; i++)
		if (ictx->objects[i])
			nobj++;
	p_file_common(c, f, REC_ICTX, &at);
	w_u8(&c->w, ictx->account_mm);
	w_u32(&c->w, ictx->vfio_ioas ? ictx->vfio_ioas->obj.id : 0);
	w_u32(&c->w, nobj);
	w_end(&c->w, at);
	for (size_t t = 0; t < ARRAY_SIZE(obj_order); t++) {
		for (uint32_t i = 1; i < ictx->nr_slots; i++) {
			struct fake_object *o = ictx->objects[i];

			if (!o || o->type != obj_order[t])
				continue;
			ret = p_object(c, ictx, o);
			if (ret)
				return ret;
		}
	}
	for (uint32_t i = 1; i < ictx->nr_slots; i++) {
		struct fake_object *o = ictx->objects[i];
		size_t t;

		if (!o)
			continue;
		for (t = 0; t < ARRAY_SIZE(obj_order); t++)
			if (o->type == obj_order[t])
				break;
		if (t == ARRAY_SIZE(obj_order))
			return -EOPNOTSUPP;	/* vIOMMU, fault, vEVENTQ... */
	}
	return 0;
}

static uint32_t p_file_index(struct iommufd_fake *fake,
			     const struct fake_file *file)
{
	uint32_t i = 0;

	/* iommufd files first, in list order: the order p_files() writes */
	for (struct fake_file *f = fake->files; f; f = f->next) {
		if (f->ops != &fake_iommufd_fops)
			continue;
		if (f == file)
			return i;
		i++;
	}
	return NO_INDEX;
}

/* The index of the container @vg is set to, among the container files in
 * list order (the order p_files() writes them). */
static uint32_t p_container_index(struct iommufd_fake *fake,
				  const struct fake_vgroup *vg)
{
	uint32_t i = 0;

	for (struct fake_file *f = fake->files; f; f = f->next) {
		if (!fake_file_is_container(f))
			continue;
		if (f->private_data == (void *)vg->container)
			return i;
		i++;
	}
	return NO_INDEX;
}

static void p_container(struct pctx *c, struct fake_file *f)
{
	struct fake_type1 *iommu = fake_container_type1(f);
	struct wbuf *w = &c->w;
	struct fake_type1_state st;
	size_t at;

	p_file_common(c, f, REC_CONTAINER, &at);
	w_u8(w, iommu != NULL);
	if (iommu) {
		fake_type1_get_state(iommu, &st);
		w_u8(w, st.v2);
		w_u8(w, st.nesting);
		w_u8(w, st.dirty_tracking);
		w_u8(w, st.had_domain);
		w_u32(w, st.dma_avail);
		w_u64(w, st.pgsize_bitmap);
		w_u32(w, st.nr_domain_groups);
		w_ranges(w, st.iovas, st.nr_iovas);
		for (size_t n = 0;; n++) {
			if (!fake_type1_group(iommu, n)) {
				w_u32(w, (uint32_t)n);
				break;
			}
		}
		for (size_t n = 0; fake_type1_group(iommu, n); n++)
			w_u32(w, (uint32_t)fake_type1_group(iommu, n)->group);
		w_u32(w, (uint32_t)st.nr_dmas);
		for (size_t i = 0; i < st.nr_dmas; i++) {
			struct fake_type1_dma_state d;

			fake_type1_get_dma(iommu, i, &d);
			w_u64(w, d.iova);
			w_u64(w, d.size);
			w_u64(w, d.vaddr);
			w_u32(w, d.prot);
			w_u8(w, d.iommu_mapped);
			w_u8(w, d.vaddr_invalid);
			w_u64(w, d.npinned);
			if (d.iommu_mapped) {
				w_u32(w, c->t1_file[c->t1_cur]);
				w_u64(w, c->t1_off[c->t1_cur]);
				c->t1_cur++;
			}
			w_u32(w, (uint32_t)d.bitmap_words);
			w_bytes(w, d.bitmap, d.bitmap_words * sizeof(uint64_t));
		}
	}
	w_end(w, at);
}

static int p_files(struct pctx *c)
{
	struct iommufd_fake *fake = c->fake;
	struct fake_file *f;
	int ret;

	for (f = fake->files; f; f = f->next) {
		if (f->ops != &fake_iommufd_fops &&
		    f->ops != &fake_vfio_device_fops &&
		    f->ops != &fake_vfio_group_device_fops &&
		    !fake_file_is_vgroup(f) && !fake_file_is_container(f))
			return -EOPNOTSUPP;	/* fault fds */
	}
	for (f = fake->files; f; f = f->next) {
		if (f->ops != &fake_iommufd_fops)
			continue;
		ret = p_ictx(c, f);
		if (ret)
			return ret;
	}
	for (f = fake->files; f; f = f->next) {
		if (fake_file_is_container(f))
			p_container(c, f);
	}
	for (f = fake->files; f; f = f->next) {
		struct fake_vgroup *vg = f->private_data;
		size_t at;

		if (!fake_file_is_vgroup(f))
			continue;
		p_file_common(c, f, REC_VGROUP, &at);
		w_u32(&c->w, (uint32_t)vg->group);
		w_u32(&c->w, vg->container ?
				     p_container_index(fake, vg) : NO_INDEX);
		w_u32(&c->w, vg->ictx ? p_file_index(fake, vg->ictx->file) :
					NO_INDEX);
		w_u32(&c->w, vg->container_users);
		w_end(&c->w, at);
	}
	for (f = fake->files; f; f = f->next) {
		struct fake_df *df = f->private_data;
		size_t at;

		if (f->ops != &fake_vfio_device_fops &&
		    f->ops != &fake_vfio_group_device_fops)
			continue;
		p_file_common(c, f, REC_DF, &at);
		w_u32(&c->w, df->group ? (uint32_t)df->group->group : NO_INDEX);
		w_u8(&c->w, df->dev && df->dev->bound == df);
		w_u32(&c->w, df->dev ? p_dev_index(fake, df->dev) : NO_INDEX);
		w_u32(&c->w, df->ictx ? p_file_index(fake, df->ictx->file) :
					NO_INDEX);
		w_u32(&c->w, df->idobj ? df->idobj->id : 0);
		w_u8(&c->w, df->access_granted);
		w_u8(&c->w, df->attached);
		w_u8(&c->w, df->pasid0);
		w_end(&c->w, at);
	}
	return 0;
}

static int p_all(struct pctx *c)
{
	struct iommufd_fake *fake = c->fake;
	struct wbuf *w = &c->w;
	size_t at;
	int ret;

	ret = read_maps(c);
	if (ret)
		return ret;
	for (struct fake_file *f = fake->files; f; f = f->next) {
		struct fake_ictx *ictx = f->private_data;

		if (f->ops != &fake_iommufd_fops)
			continue;
		for (uint32_t i = 1; i < ictx->nr_slots; i++) {
			struct fake_object *o = ictx->objects[i];

			if (!o || o->type != FAKE_OBJ_IOAS)
				continue;
			ret = p_collect_pages(c, fake_container_of(
				o, struct fake_ioas, obj)->iopt.root);
			if (ret)
				return ret;
		}
	}
	for (struct fake_file *f = fake->files; f; f = f->next) {
		if (!fake_file_is_container(f) || !fake_container_type1(f))
			continue;
		ret = p_collect_type1(c, fake_container_type1(f));
		if (ret)
			return ret;
	}

	at = w_begin(w, REC_FAKE);
	w_u32(w, fake->kver);
	w_u64(w, fake->page_size);
	w_u64(w, fake->memlock_limit);
	w_u64(w, fake->pinned_pages);
	w_ranges(w, fake->reserved, fake->nr_reserved);
	w_u32(w, (uint32_t)fake->vfio_container_mode);
	w_u32(w, fake->vfio_dma_entry_limit);
	w_u32(w, (uint32_t)fake->sysfs_pid);
	w_str(w, fake->sysfs_dir);
	{
		uint8_t token[16];

		exec_token(token);
		w_bytes(w, token, sizeof(token));
	}
	w_end(w, at);

	for (struct fake_unit *u = fake->units; u; u = u->next)
		p_unit(c, u);
	for (struct fake_device *d = fake->devices; d; d = d->next) {
		ret = p_device(c, d);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < c->nr_refs; i++) {
		at = w_begin(w, REC_FILEREF);
		w_u32(w, c->refs[i].fdidx);
		w_u64(w, (uint64_t)c->refs[i].dev);
		w_u64(w, (uint64_t)c->refs[i].ino);
		w_end(w, at);
	}
	for (size_t i = 0; i < c->nr_pages; i++) {
		struct fake_pages *p = c->pages[i];

		at = w_begin(w, REC_PAGES);
		w_u32(w, p->type);
		w_u64(w, p->uptr);
		w_u32(w, c->pages_file[i]);
		w_u64(w, c->pages_off[i]);
		w_u64(w, p->npages);
		w_u64(w, p->npinned);
		w_u8(w, p->writable);
		w_end(w, at);
	}
	ret = p_files(c);
	if (ret)
		return ret;
	at = w_begin(w, REC_END);
	w_end(w, at);
	return w->err;
}

static int write_state(struct pctx *c, int fd)
{
	struct state_header h = {
		.version = STATE_VERSION,
		.header_size = sizeof(h),
		.payload_len = c->w.len,
		.checksum = fnv1a(c->w.p, c->w.len),
		.nr_fds = (uint32_t)c->nr_fds,
	};
	const uint8_t *p = c->w.p;
	size_t left = c->w.len;
	off_t off = sizeof(h);

	memcpy(h.magic, STATE_MAGIC, sizeof(h.magic));
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EIO;
	while (left) {
		ssize_t n = pwrite(fd, p, left, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += n;
		left -= (size_t)n;
	}
	return 0;
}

FAKE_EXPORT int iommufd_fake_preserve(struct iommufd_fake *fake, int **fds,
				      size_t *nr)
{
	struct pctx c = { .fake = fake };
	int memfd, ret;

	if (!fake || !fds || !nr)
		return -EINVAL;
	memfd = memfd_create("iommufd-fake-state", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	pthread_mutex_lock(&fake->lock);
	if (!++fake->persist_gen)
		++fake->persist_gen;	/* 0 is every new pages' */
	/* the state first: its fd is fds[0] */
	ret = p_add_fd(&c, memfd);
	if (ret >= 0)
		ret = p_all(&c);
	pthread_mutex_unlock(&fake->lock);
	if (!ret)
		ret = write_state(&c, memfd);
	close(memfd);
	if (ret) {
		for (size_t i = 0; i < c.nr_fds; i++)
			close(c.fds[i]);
		free(c.fds);
	} else {
		*fds = c.fds;
		*nr = c.nr_fds;
	}
	free(c.w.p);
	free(c.vmas);
	free(c.refs);
	free(c.pages);
	free(c.pages_file);
	free(c.pages_off);
	free(c.t1_file);
	free(c.t1_off);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

struct rd {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static void r_bytes(struct rd *r, void *d, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = -EINVAL;
		memset(d, 0, n);
		return;
	}
	memcpy(d, r->p + r->off, n);
	r->off += n;
}

static uint8_t r_u8(struct rd *r)
{
	uint8_t v;

	r_bytes(r, &v, sizeof(v));
	return v;
}

static bool r_bool(struct rd *r)
{
	uint8_t v = r_u8(r);

	if (v > 1)
		r->err = -EINVAL;
	return v;
}

static uint32_t r_u32(struct rd *r)
{
	uint32_t v;

	r_bytes(r, &v, sizeof(v));
	return v;
}

static uint64_t r_u64(struct rd *r)
{
	uint64_t v;

	r_bytes(r, &v, sizeof(v));
	return v;
}

/* A count of items of @size bytes each that the rest of the record can
 * hold: a larger one is malformed. */
static uint32_t r_count(struct rd *r, size_t size)
{
	uint32_t n = r_u32(r);

	if (!r->err && n > (r->len - r->off) / size)
		r->err = -EINVAL;
	return r->err ? 0 : n;
}

static void r_str(struct rd *r, char *out, size_t size)
{
	uint32_t n = r_count(r, 1);

	if (n >= size) {
		r->err = -EINVAL;
		n = 0;
	}
	r_bytes(r, out, n);
	out[n] = '\0';
	if (strlen(out) != n)
		r->err = -EINVAL;
}

/* Sorted, disjoint ranges. */
static struct fake_range *r_ranges(struct rd *r, size_t *nr)
{
	uint32_t n = r_count(r, 16);
	struct fake_range *t;

	*nr = 0;
	if (r->err || !n)
		return NULL;
	t = calloc(n, sizeof(*t));
	if (!t) {
		r->err = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		t[i].start = r_u64(r);
		t[i].last = r_u64(r);
		if (t[i].start > t[i].last ||
		    (i && t[i].start <= t[i - 1].last))
			r->err = -EINVAL;
	}
	if (r->err) {
		free(t);
		return NULL;
	}
	*nr = n;
	return t;
}

static void r_dirty(struct rd *r, struct fake_dirty *d)
{
	d->runs = r_ranges(r, &d->nr);
	d->cap = d->nr;
}

struct pending_owner {
	struct fake_ictx *ictx;
	struct fake_reserved *res;
	uint32_t kind, id;
};

struct rctx {
	struct iommufd_fake *tmp;
	const int *fds;
	size_t nr_fds;
	bool have_fake;
	char sysfs_dir[4096];
	pid_t sysfs_pid;
	uint8_t exec_token[16];
	struct fake_unit **units;
	size_t nr_units;
	struct fake_device **devs;
	size_t nr_devs;
	struct fake_fileref **refs;
	size_t nr_refs;
	/* per ref, the one mapping of its file the type1 entries reach their
	 * pinned pages through (a reference each), or NULL */
	struct fake_pinmap **ref_maps;
	size_t nr_ref_maps;
	struct fake_pages **pages;
	size_t nr_pages;
	struct fake_file **ictx_files;
	size_t nr_ictx;
	struct fake_ictx *cur;		/* the iommufd whose objects follow */
	uint32_t cur_left;		/* of its objects still to come */
	struct pending_owner *owners;
	size_t nr_owners;
	struct fake_file **cont_files;
	size_t nr_cont;
	bool vgroups_synced;
	uint64_t pinned;		/* sum of the pages' */
};

static int grow(void *tabp, size_t n, size_t size)
{
	void **tab = tabp;
	void *t = realloc(*tab, (n + 1) * size);

	if (!t)
		return -ENOMEM;
	*tab = t;
	return 0;
}

/* A dup of fds[idx] (never the state itself), O_CLOEXEC. */
static int r_dup_fd(struct rctx *c, uint32_t idx, int *out)
{
	if (idx == 0 || idx >= c->nr_fds)
		return -EINVAL;
	*out = fcntl(c->fds[idx], F_DUPFD_CLOEXEC, 0);
	return *out < 0 ? -errno : 0;
}

/* Names become paths in the sysfs tree: what machine.c accepts. */
static bool name_ok(const char *name, bool empty_ok)
{
	if (!name[0])
		return empty_ok;
	return strcmp(name, ".") && strcmp(name, "..") &&
	       !strpbrk(name, "/\n");
}

static bool pow2_or_0(uint64_t v)
{
	return !(v & (v - 1));
}

static int r_fake(struct rctx *c, struct rd *r)
{
	struct iommufd_fake *t = c->tmp;

	if (c->have_fake)
		return -EINVAL;
	c->have_fake = true;
	t->kver = r_u32(r);
	t->page_size = r_u64(r);
	t->memlock_limit = r_u64(r);
	t->pinned_pages = r_u64(r);
	t->reserved = r_ranges(r, &t->nr_reserved);
	t->vfio_container_mode = (int)r_u32(r);
	t->vfio_dma_entry_limit = r_u32(r);
	c->sysfs_pid = (pid_t)r_u32(r);
	r_str(r, c->sysfs_dir, sizeof(c->sysfs_dir));
	r_bytes(r, c->exec_token, sizeof(c->exec_token));
	if (r->err)
		return r->err;
	if (t->kver < FAKE_KVER_MIN || t->kver > FAKE_KVER(255, 255) ||
	    t->page_size != (uint64_t)sysconf(_SC_PAGESIZE) ||
	    (t->vfio_container_mode != IOMMUFD_FAKE_VFIO_CONTAINER_LEGACY &&
	     t->vfio_container_mode != IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD))
		return -EINVAL;
	return 0;
}

static int r_unit(struct rctx *c, struct rd *r)
{
	struct fake_unit *u, **tail;
	uint32_t n;
	int ret;

	if (!c->have_fake || c->nr_devs)
		return -EINVAL;
	ret = grow(&c->units, c->nr_units, sizeof(*c->units));
	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	/* linked first, so the machine's free takes it on any failure */
	for (tail = &c->tmp->units; *tail; tail = &(*tail)->next)
		;
	*tail = u;
	c->units[c->nr_units++] = u;
	r_str(r, u->name, sizeof(u->name));
	u->hw_info_type = r_u32(r);
	u->cap_reg = r_u64(r);
	u->ecap_reg = r_u64(r);
	u->dirty_tracking = r_bool(r);
	u->nest_parent = r_bool(r);
	u->pasid_log2 = r_u8(r);
	u->page_size = r_u64(r);
	u->aperture_start = r_u64(r);
	u->aperture_last = r_u64(r);
	n = r_count(r, 20);
	if (n) {
		u->resv = calloc(n, sizeof(*u->resv));
		if (!u->resv)
			return -ENOMEM;
		u->nr_resv = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		u->resv[i].start = r_u64(r);
		u->resv[i].last = r_u64(r);
		u->resv[i].type = (int)r_u32(r);
		if (u->resv[i].start > u->resv[i].last ||
		    u->resv[i].type < IOMMUFD_RESV_DIRECT ||
		    u->resv[i].type > IOMMUFD_RESV_MSI)
			r->err = -EINVAL;
	}
	if (r->err)
		return r->err;
	for (size_t i = 0; i + 1 < c->nr_units; i++)
		if (!strcmp(c->units[i]->name, u->name))
			return -EINVAL;
	if (!name_ok(u->name, false) || !u->page_size || u->pasid_log2 > 20 ||
	    (u->page_size & (u->page_size - 1)) ||
	    u->aperture_start > u->aperture_last)
		return -EINVAL;
	return 0;
}

static int r_device(struct rctx *c, struct rd *r)
{
	struct fake_device *d, **tail;
	char model[16];
	uint32_t idx, n;
	int ret;

	if (!c->have_fake)
		return -EINVAL;
	ret = grow(&c->devs, c->nr_devs, sizeof(*c->devs));
	if (ret)
		return ret;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fake = c->tmp;
	d->irq_type = -1;
	d->intx_efd = d->err_efd = d->req_efd = -1;
	for (int i = 0; i < FAKE_NR_BARS; i++)
		d->bars[i].memfd = -1;
	for (tail = &c->tmp->devices; *tail; tail = &(*tail)->next)
		;
	*tail = d;
	c->devs[c->nr_devs++] = d;

	d->kind = r_u32(r);
	r_str(r, d->name, sizeof(d->name));
	d->domain = r_u32(r);
	d->bus = r_u8(r);
	d->devfn = r_u8(r);
	d->vendor_id = (uint16_t)r_u32(r);
	d->device_id = (uint16_t)r_u32(r);
	d->subsystem_vendor_id = (uint16_t)r_u32(r);
	d->subsystem_device_id = (uint16_t)r_u32(r);
	d->class_code = r_u32(r);
	d->revision = r_u8(r);
	idx = r_u32(r);
	if (idx != NO_INDEX) {
		if (idx >= c->nr_units)
			return -EINVAL;
		d->unit = c->units[idx];
	}
	d->group = (int32_t)r_u32(r);
	r_str(r, d->driver, sizeof(d->driver));
	d->vfio_index = (int)r_u32(r);
	d->reset_group = r_u32(r);
	d->reset_works = r_bool(r);
	d->pcie = r_bool(r);
	d->pasid = r_bool(r);
	d->cfg_size = r_u32(r);
	r_bytes(r, d->cfg, sizeof(d->cfg));
	r_bytes(r, d->wmask, sizeof(d->wmask));
	d->msi_cap = r_u8(r);
	d->msix_cap = r_u8(r);
	d->saved_cmd = (uint16_t)r_u32(r);
	for (int i = 0; i < FAKE_NR_BARS && !r->err; i++) {
		struct fake_bar *b = &d->bars[i];

		b->size = r_u64(r);
		b->flags = r_u32(r);
		idx = r_u32(r);
		b->msix_start = r_u64(r);
		b->msix_size = r_u64(r);
		b->hole_start = r_u64(r);
		b->hole_size = r_u64(r);
		if (!r->err && idx != NO_INDEX) {
			ret = r_dup_fd(c, idx, &b->memfd);
			if (ret)
				return ret;
		}
	}
	d->nr_intx = r_u32(r);
	d->nr_msi = r_u32(r);
	d->nr_msix = r_u32(r);
	d->irq_type = (int)r_u32(r);
	n = r_u32(r);
	d->intx_masked = r_bool(r);
	d->intx_level = r_bool(r);
	d->low_power = r_bool(r);
	if (r->err)
		return r->err;
	if (d->kind != FAKE_DEV_PCI && d->kind != FAKE_DEV_EMULATED)
		return -EINVAL;
	if (!name_ok(d->name, false) || !name_ok(d->driver, true) ||
	    d->group < -1 || d->vfio_index < -1 || d->vfio_index > 65535 ||
	    (d->unit && d->group < 0))
		return -EINVAL;
	for (size_t i = 0; i + 1 < c->nr_devs; i++) {
		const struct fake_device *o = c->devs[i];

		/* a group is behind one IOMMU; an index names one device */
		if ((d->group >= 0 && o->group == d->group &&
		     (o->unit != d->unit || o->kind != d->kind)) ||
		    (d->vfio_index >= 0 && o->vfio_index == d->vfio_index))
			return -EINVAL;
	}
	for (int i = 0; i < FAKE_NR_BARS; i++) {
		const struct fake_bar *b = &d->bars[i];
		struct stat st;

		if (!pow2_or_0(b->size) ||
		    b->msix_start > b->size || b->msix_size > b->size - b->msix_start ||
		    b->hole_start > b->size || b->hole_size > b->size - b->hole_start)
			return -EINVAL;
		/* the BAR's memory: as large as the BAR, in whole pages */
		if (b->memfd >= 0 &&
		    (fstat(b->memfd, &st) || (uint64_t)st.st_size < b->size))
			return -EINVAL;
	}
	if ((d->cfg_size != FAKE_PCI_CFG_SIZE &&
	     d->cfg_size != FAKE_PCIE_CFG_SIZE) || n > 2048 ||
	    d->irq_type < -1 || d->irq_type > 4)
		return -EINVAL;
	/* The eventfds were the old process's: the vectors stay enabled,
	 * with no trigger set. */
	if (n) {
		d->irq_efds = malloc(n * sizeof(*d->irq_efds));
		if (!d->irq_efds)
			return -ENOMEM;
		for (uint32_t i = 0; i < n; i++)
			d->irq_efds[i] = -1;
		d->nr_irq_efds = n;
	}
	r_str(r, model, sizeof(model));
	if (r->err)
		return r->err;
	if (!strcmp(model, "edu")) {
		const uint8_t *buf;

		ret = fake_edu_setup(d);
		if (ret)
			return ret;
		n = r_count(r, 1);
		buf = r->p + r->off;
		r->off += n;
		if (r->err)
			return r->err;
		ret = d->model->load ? d->model->load(d, buf, n) : -EINVAL;
		if (ret)
			return ret;
	} else if (model[0]) {
		return -EINVAL;
	}
	d->migration_flags = r_u64(r);
	d->log.supported = r_bool(r);
	d->log.max_ranges = r_u32(r);
	d->log.active = r_bool(r);
	d->log.shift = r_u32(r);
	d->log.ranges = r_ranges(r, &d->log.nr_ranges);
	r_dirty(r, &d->log.dirty);
	d->log.dirty_all = r_bool(r);
	d->dmas = r_u64(r);
	d->faults = r_u64(r);
	d->last_fault_iova = r_u64(r);
	d->last_fault_write = r_bool(r);
	d->last_fault_reason = (int)r_u32(r);
	d->open_count = r_u32(r);
	if (r->err)
		return r->err;
	if (c->vgroups_synced || d->open_count > 1u << 16)
		return -EINVAL;
	if (d->log.shift >= 64)
		return -EINVAL;
	for (size_t i = 0; i + 1 < c->nr_devs; i++)
		if (strcmp(c->devs[i]->name, d->name) >= 0)
			return -EINVAL;	/* sorted by name, each once */
	return 0;
}

static int r_fileref(struct rctx *c, struct rd *r)
{
	struct fake_fileref *ref;
	uint32_t idx = r_u32(r);
	struct stat st;
	int ret;

	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return -ENOMEM;
	ref->dev = (dev_t)r_u64(r);
	ref->ino = (ino_t)r_u64(r);
	ret = r->err ? r->err : grow(&c->refs, c->nr_refs, sizeof(*c->refs));
	if (!ret)
		ret = r_dup_fd(c, idx, &ref->fd);
	if (ret) {
		free(ref);
		return ret;
	}
	if (fstat(ref->fd, &st) || st.st_dev != ref->dev ||
	    st.st_ino != ref->ino) {
		close(ref->fd);
		free(ref);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->nr_refs; i++) {
		if (c->refs[i]->dev == ref->dev && c->refs[i]->ino == ref->ino) {
			close(ref->fd);
			free(ref);
			return -EINVAL;
		}
	}
	/* held by the restore until the pages took theirs */
	ref->refs = 1;
	ref->next = c->tmp->filerefs;
	c->tmp->filerefs = ref;
	c->refs[c->nr_refs++] = ref;
	return 0;
}

static int r_pages(struct rctx *c, struct rd *r)
{
	uint64_t ps = c->tmp->page_size;
	struct fake_pages *p;
	uint32_t ref;
	int ret;

	ret = grow(&c->pages, c->nr_pages, sizeof(*c->pages));
	if (ret)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->pages[c->nr_pages++] = p;
	p->type = r_u32(r);
	p->uptr = r_u64(r);
	ref = r_u32(r);
	p->start = r_u64(r);
	p->npages = r_u64(r);
	p->npinned = r_u64(r);
	p->writable = r_bool(r);
	if (r->err)
		return r->err;
	if ((p->type != FAKE_PAGES_USER && p->type != FAKE_PAGES_FILE) ||
	    ref >= c->nr_refs || (p->start & (ps - 1)) ||
	    (p->uptr & (ps - 1)) || !p->npages ||
	    p->npages > (UINT64_MAX >> 1) / ps || p->npinned > p->npages)
		return -EINVAL;
	c->pinned += p->npinned;
	c->refs[ref]->refs++;
	if (p->type == FAKE_PAGES_FILE)
		return (p->file = c->refs[ref]), 0;
	/* USER: the address space they were pinned in is gone */
	p->backing = c->refs[ref];
	p->backing_start = p->start;
	p->start = 0;
	return 0;
}

static int put_object(struct fake_ictx *ictx, struct fake_object *obj,
		      uint32_t type, uint32_t id, uint32_t users)
{
	int ret;

	if (!id || id >= MAX_OBJ_ID || !users)
		return -EINVAL;
	ret = fake_object_slots(ictx, id);
	if (ret)
		return ret;
	if (ictx->objects[id])
		return -EINVAL;
	obj->type = type;
	obj->id = id;
	obj->users = users;
	ictx->objects[id] = obj;
	ictx->nr_objects++;
	return 0;
}

static struct fake_device *r_dev_ref(struct rctx *c, struct rd *r)
{
	uint32_t idx = r_u32(r);

	if (r->err || idx >= c->nr_devs) {
		r->err = -EINVAL;
		return NULL;
	}
	return c->devs[idx];
}

static struct fake_hwpt *r_hwpt_ref(struct fake_ictx *ictx, uint32_t id)
{
	struct fake_object *o = fake_object_get(ictx, id, FAKE_OBJ_HWPT_PAGING);

	return o ? fake_container_of(o, struct fake_hwpt, obj) : NULL;
}

static int r_ioas(struct rctx *c, struct rd *r, uint32_t id, uint32_t users)
{
	uint64_t ps = c->tmp->page_size, n, prev_last = 0;
	struct fake_ictx *ictx = c->cur;
	struct fake_ioas *ioas;
	struct fake_iopt *iopt;
	uint32_t nres;
	int ret;

	ioas = calloc(1, sizeof(*ioas));
	if (!ioas)
		return -ENOMEM;
	ret = put_object(ictx, &ioas->obj, FAKE_OBJ_IOAS, id, users);
	if (ret) {
		free(ioas);
		return ret;
	}
	iopt = &ioas->iopt;
	iopt->iova_alignment = r_u64(r);
	iopt->disable_large_pages = r_bool(r);
	iopt->allowed = r_ranges(r, &iopt->nr_allowed);
	nres = r_count(r, 24);
	if (nres) {
		iopt->reserved = calloc(nres, sizeof(*iopt->reserved));
		if (!iopt->reserved)
			return -ENOMEM;
		iopt->cap_reserved = nres;
	}
	for (uint32_t i = 0; i < nres && !r->err; i++) {
		struct fake_reserved *res = &iopt->reserved[i];
		struct pending_owner *o;

		res->range.start = r_u64(r);
		res->range.last = r_u64(r);
		iopt->nr_reserved++;
		ret = grow(&c->owners, c->nr_owners, sizeof(*c->owners));
		if (ret)
			return ret;
		o = &c->owners[c->nr_owners++];
		o->ictx = ictx;
		o->res = res;
		o->kind = r_u32(r);
		o->id = r_u32(r);
		if (res->range.start > res->range.last ||
		    (i && res->range.start < iopt->reserved[i - 1].range.start))
			r->err = -EINVAL;
	}
	n = r_u64(r);
	if (r->err)
		return r->err;
	if (!iopt->iova_alignment ||
	    (iopt->iova_alignment & (iopt->iova_alignment - 1)) ||
	    n > (r->len - r->off) / 32)
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t iova = r_u64(r), last = r_u64(r);
		uint32_t prot = r_u32(r);
		uint64_t sb = r_u64(r), end;
		uint32_t pidx = r_u32(r);
		struct fake_pages *p;

		if (r->err)
			return r->err;
		if (pidx >= c->nr_pages || iova > last ||
		    (i && iova <= prev_last) ||
		    (prot & ~(uint32_t)(IOMMU_IOAS_MAP_READABLE |
					IOMMU_IOAS_MAP_WRITEABLE)))
			return -EINVAL;
		p = c->pages[pidx];
		if (__builtin_add_overflow(sb, last - iova, &end) ||
		    end >= p->npages * ps)
			return -EINVAL;
		ret = fake_iopt_restore_area(iopt, iova, last, prot, sb, p);
		if (ret)
			return ret;
		prev_last = last;
	}
	return 0;
}

static int r_object(struct rctx *c, struct rd *r)
{
	struct fake_ictx *ictx = c->cur;
	uint32_t type, id, users;
	int ret;

	if (!ictx || !c->cur_left)
		return -EINVAL;
	c->cur_left--;
	type = r_u32(r);
	id = r_u32(r);
	users = r_u32(r);
	if (r->err)
		return r->err;
	switch (type) {
	case FAKE_OBJ_IOAS:
		return r_ioas(c, r, id, users);
	case FAKE_OBJ_HWPT_PAGING: {
		struct fake_hwpt *h = calloc(1, sizeof(*h));
		uint32_t ioas_id, unit;

		if (!h)
			return -ENOMEM;
		ioas_id = r_u32(r);
		unit = r_u32(r);
		h->flags = r_u32(r);
		h->auto_domain = r_bool(r);
		h->nest_parent = r_bool(r);
		h->pasid_compat = r_bool(r);
		h->dirty_ops = r_bool(r);
		h->dirty_enabled = r_bool(r);
		h->dirty_all = r_bool(r);
		r_dirty(r, &h->dirty);
		h->ioas = fake_get_ioas(ictx, ioas_id);
		ret = r->err;
		if (!ret && (!h->ioas || unit >= c->nr_units))
			ret = -EINVAL;
		if (!ret)
			ret = put_object(ictx, &h->obj, FAKE_OBJ_HWPT_PAGING, id,
					 users);
		if (ret) {
			fake_dirty_free(&h->dirty);
			free(h);
			return ret;
		}
		h->ictx = ictx;
		h->unit = c->units[unit];
		h->ioas_next = h->ioas->hwpts;
		h->ioas->hwpts = h;
		return 0;
	}
	case FAKE_OBJ_DEVICE: {
		struct fake_idev *idev = calloc(1, sizeof(*idev));
		uint32_t hwpt, n;

		if (!idev)
			return -ENOMEM;
		ret = put_object(ictx, &idev->obj, FAKE_OBJ_DEVICE, id, users);
		if (ret) {
			free(idev);
			return ret;
		}
		idev->ictx = ictx;
		idev->dev = r_dev_ref(c, r);
		hwpt = r_u32(r);
		n = r_count(r, 8);
		if (r->err)
			return r->err;
		if (!idev->dev->unit)
			return -EINVAL;
		if (hwpt && !(idev->hwpt = r_hwpt_ref(ictx, hwpt)))
			return -EINVAL;
		if (n) {
			idev->pasids = calloc(n, sizeof(*idev->pasids));
			if (!idev->pasids)
				return -ENOMEM;
		}
		for (uint32_t i = 0; i < n; i++) {
			idev->pasids[i].pasid = r_u32(r);
			idev->pasids[i].hwpt = r_hwpt_ref(ictx, r_u32(r));
			if (!idev->pasids[i].hwpt)
				return -EINVAL;
			idev->nr_pasids++;
		}
		return r->err;
	}
	case FAKE_OBJ_ACCESS: {
		struct fake_access *acc = calloc(1, sizeof(*acc));
		uint32_t ioas;

		if (!acc)
			return -ENOMEM;
		ret = put_object(ictx, &acc->obj, FAKE_OBJ_ACCESS, id, users);
		if (ret) {
			free(acc);
			return ret;
		}
		acc->ictx = ictx;
		acc->dev = r_dev_ref(c, r);
		ioas = r_u32(r);
		if (r->err)
			return r->err;
		if (ioas && !(acc->ioas = fake_get_ioas(ictx, ioas)))
			return -EINVAL;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* A file of the model, known by its inode; its fds are counted later. */
static int r_file(struct rctx *c, struct rd *r,
		  const struct fake_file_ops *ops, struct fake_file **out)
{
	struct fake_file *f;
	uint32_t model_refs;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fake = c->tmp;
	f->ops = ops;
	f->dev = (dev_t)r_u64(r);
	f->ino = (ino_t)r_u64(r);
	model_refs = r_u32(r);
	f->st_rdev = (dev_t)r_u64(r);
	if (r->err || model_refs > 1u << 20) {
		free(f);
		return r->err ? r->err : -EINVAL;
	}
	for (struct fake_file *o = c->tmp->files; o; o = o->next) {
		if (o->dev == f->dev && o->ino == f->ino) {
			free(f);
			return -EINVAL;
		}
	}
	f->refs = model_refs;
	*out = f;
	return 0;
}

static void link_file(struct iommufd_fake *t, struct fake_file *f)
{
	f->next = t->files;
	if (t->files)
		t->files->prev = f;
	t->files = f;
	t->nr_files++;
}

static int r_ictx(struct rctx *c, struct rd *r)
{
	struct fake_ictx *ictx;
	struct fake_file *f;
	int ret;

	if (!c->have_fake || c->cur_left)
		return -EINVAL;
	ret = grow(&c->ictx_files, c->nr_ictx, sizeof(*c->ictx_files));
	if (ret)
		return ret;
	ret = r_file(c, r, &fake_iommufd_fops, &f);
	if (ret)
		return ret;
	ictx = calloc(1, sizeof(*ictx));
	if (!ictx) {
		free(f);
		return -ENOMEM;
	}
	ictx->fake = c->tmp;
	ictx->file = f;
	f->private_data = ictx;
	link_file(c->tmp, f);
	c->ictx_files[c->nr_ictx++] = f;
	ictx->account_mm = r_bool(r);
	/* resolved once the objects are in */
	ictx->vfio_ioas = (void *)(uintptr_t)r_u32(r);
	c->cur = ictx;
	c->cur_left = r_u32(r);
	return r->err;
}

/* The VFIO groups follow the machine, once all of it is in. */
static int ensure_vgroups(struct rctx *c)
{
	if (c->vgroups_synced)
		return 0;
	c->vgroups_synced = true;
	return fake_vgroups_sync(c->tmp);
}

/* The pinned pages of a type1 mapping: the device reaches them through a
 * mapping of the file they came with. */
/* Where [off, off + size) of ref's file is mapped: one mapping of the
 * whole file per ref, shared by the entries (a reference in *map). */
static int map_pinned(struct rctx *c, uint32_t ref, uint64_t off,
		      uint64_t size, void **out, struct fake_pinmap **map)
{
	struct fake_pinmap *pm;
	struct stat st;
	void *p;

	if (ref >= c->nr_refs || off > (uint64_t)INT64_MAX ||
	    size > SIZE_MAX)
		return -EINVAL;
	if (c->nr_ref_maps < c->nr_refs) {
		struct fake_pinmap **t = realloc(c->ref_maps,
						 c->nr_refs * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + c->nr_ref_maps, 0,
		       (c->nr_refs - c->nr_ref_maps) * sizeof(*t));
		c->ref_maps = t;
		c->nr_ref_maps = c->nr_refs;
	}
	pm = c->ref_maps[ref];
	if (!pm) {
		if (fstat(c->refs[ref]->fd, &st) || st.st_size <= 0 ||
		    (uint64_t)st.st_size > SIZE_MAX)
			return -EINVAL;
		p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, c->refs[ref]->fd, 0);
		if (p == MAP_FAILED)
			p = mmap(NULL, (size_t)st.st_size, PROT_READ,
				 MAP_SHARED, c->refs[ref]->fd, 0);
		if (p == MAP_FAILED)
			return -EINVAL;
		pm = calloc(1, sizeof(*pm));
		if (!pm) {
			munmap(p, (size_t)st.st_size);
			return -ENOMEM;
		}
		*pm = (struct fake_pinmap){ p, (size_t)st.st_size, 1 };
		c->ref_maps[ref] = pm;
	}
	if (off > pm->len || size > pm->len - off)
		return -EINVAL;
	pm->refs++;
	*map = pm;
	*out = (char *)pm->addr + off;
	return 0;
}

static int r_type1_dmas(struct rctx *c, struct rd *r, struct fake_type1 *iommu)
{
	uint32_t n = r_count(r, 46);

	for (uint32_t i = 0; i < n && !r->err; i++) {
		struct fake_type1_dma_state d = { 0 };
		uint32_t words;
		int ret = 0;

		d.iova = r_u64(r);
		d.size = r_u64(r);
		d.vaddr = r_u64(r);
		d.prot = r_u32(r);
		d.iommu_mapped = r_bool(r);
		d.vaddr_invalid = r_bool(r);
		d.npinned = r_u64(r);
		if (d.iommu_mapped) {
			uint32_t ref = r_u32(r);
			uint64_t off = r_u64(r);

			if (r->err)
				return r->err;
			if (!d.size || (d.size & (c->tmp->page_size - 1)))
				return -EINVAL;
			ret = map_pinned(c, ref, off, d.size, &d.alias,
					 &d.alias_map);
			if (ret)
				return ret;
		}
		words = r_count(r, 8);
		if (words) {
			d.bitmap = calloc(words, sizeof(uint64_t));
			if (!d.bitmap)
				ret = -ENOMEM;
			else
				r_bytes(r, d.bitmap, words * sizeof(uint64_t));
			d.bitmap_words = words;
		}
		if (!ret)
			ret = r->err;
		if (!ret)
			ret = fake_type1_restore_dma(iommu, &d);
		if (ret) {
			if (d.alias_map)
				fake_pinmap_put(d.alias_map);
			free(d.bitmap);
			return ret;
		}
		c->pinned += d.npinned;
	}
	return r->err;
}

static int r_container(struct rctx *c, struct rd *r)
{
	struct fake_type1 *iommu = NULL;
	struct fake_file *f;
	int ret;

	if (!c->have_fake || c->cur_left)
		return -EINVAL;
	ret = ensure_vgroups(c);
	if (!ret)
		ret = grow(&c->cont_files, c->nr_cont, sizeof(*c->cont_files));
	if (!ret)
		ret = r_file(c, r, NULL, &f);
	if (ret)
		return ret;
	if (r_bool(r) && !r->err) {
		struct fake_type1_state st = { 0 };
		uint32_t n;

		st.v2 = r_bool(r);
		st.nesting = r_bool(r);
		st.dirty_tracking = r_bool(r);
		st.had_domain = r_bool(r);
		st.dma_avail = r_u32(r);
		st.pgsize_bitmap = r_u64(r);
		st.nr_domain_groups = r_u32(r);
		st.iovas = r_ranges(r, &st.nr_iovas);
		ret = r->err;
		if (!ret)
			ret = fake_type1_restore(c->tmp, &st, &iommu);
		free(st.iovas);
		n = r_count(r, 4);
		for (uint32_t i = 0; !ret && i < n; i++) {
			struct fake_vgroup *vg =
				fake_vgroup_find(c->tmp, (int32_t)r_u32(r));

			ret = r->err;
			if (!ret && !vg)
				ret = -EINVAL;
			if (!ret)
				ret = fake_type1_restore_group(iommu, vg);
		}
		if (!ret)
			ret = r_type1_dmas(c, r, iommu);
	}
	if (!ret)
		ret = r->err;
	if (!ret)
		ret = fake_container_restore(f, iommu);
	if (ret) {
		fake_type1_release(iommu);
		free(f);
		return ret;
	}
	link_file(c->tmp, f);
	c->cont_files[c->nr_cont++] = f;
	return 0;
}

static int r_vgroup(struct rctx *c, struct rd *r)
{
	struct fake_file *f, *cont = NULL;
	struct fake_ictx *ictx = NULL;
	struct fake_vgroup *vg;
	uint32_t group, ci, ii, users;
	int ret;

	if (!c->have_fake || c->cur_left)
		return -EINVAL;
	ret = ensure_vgroups(c);
	if (!ret)
		ret = r_file(c, r, NULL, &f);
	if (ret)
		return ret;
	group = r_u32(r);
	ci = r_u32(r);
	ii = r_u32(r);
	users = r_u32(r);
	vg = fake_vgroup_find(c->tmp, (int32_t)group);
	ret = r->err;
	if (!ret && (!vg || vg->file || (ci != NO_INDEX && ci >= c->nr_cont) ||
		     (ii != NO_INDEX && ii >= c->nr_ictx) ||
		     (ci != NO_INDEX && ii != NO_INDEX) || users > 1u << 16))
		ret = -EINVAL;
	if (ret) {
		free(f);
		return ret;
	}
	if (ci != NO_INDEX)
		cont = c->cont_files[ci];
	if (ii != NO_INDEX)
		ictx = c->ictx_files[ii]->private_data;
	fake_vgroup_restore(vg, f, cont, ictx, users);
	link_file(c->tmp, f);
	return 0;
}

static int r_df(struct rctx *c, struct rd *r)
{
	struct fake_vgroup *vg = NULL;
	struct fake_file *f;
	struct fake_df *df;
	uint32_t dev, ictx, devid, group;
	bool bound;
	int ret;

	if (!c->have_fake || c->cur_left)
		return -EINVAL;
	ret = ensure_vgroups(c);
	if (!ret)
		ret = r_file(c, r, &fake_vfio_device_fops, &f);
	if (ret)
		return ret;
	df = calloc(1, sizeof(*df));
	if (!df) {
		free(f);
		return -ENOMEM;
	}
	df->file = f;
	f->private_data = df;
	group = r_u32(r);
	bound = r_bool(r);
	if (group != NO_INDEX) {
		vg = fake_vgroup_find(c->tmp, (int32_t)group);
		f->ops = &fake_vfio_group_device_fops;
	}
	dev = r_u32(r);
	ictx = r_u32(r);
	devid = r_u32(r);
	df->access_granted = r_bool(r);
	df->attached = r_bool(r);
	df->pasid0 = r_bool(r);
	ret = r->err;
	if (!ret && ((dev != NO_INDEX && dev >= c->nr_devs) ||
		     (ictx != NO_INDEX && ictx >= c->nr_ictx) ||
		     (group != NO_INDEX && (!vg || !vg->file)) ||
		     (!vg && df->access_granted != (ictx != NO_INDEX)) ||
		     (!vg && df->access_granted && dev != NO_INDEX && !devid) ||
		     (vg && (ictx != NO_INDEX) != !!devid) ||
		     (vg && !df->access_granted) ||
		     bound != !!devid || (bound && dev == NO_INDEX) ||
		     (devid && ictx == NO_INDEX)))
		ret = -EINVAL;
	if (ret) {
		free(df);
		free(f);
		return ret;
	}
	link_file(c->tmp, f);
	df->group = vg;
	if (dev != NO_INDEX) {
		df->dev = c->devs[dev];
		df->next = df->dev->files;
		df->dev->files = df;
		if (vg && df->dev->group != vg->group)
			return -EINVAL;
	}
	if (bound) {
		if (df->dev->bound || !df->dev->open_count)
			return -EINVAL;
		df->dev->bound = df;
	}
	if (ictx != NO_INDEX)
		df->ictx = c->ictx_files[ictx]->private_data;
	if (devid) {
		struct fake_object *o = fake_object_get(df->ictx, devid,
							FAKE_OBJ_ANY);
		struct fake_device *odev = NULL;

		if (o && o->type == FAKE_OBJ_DEVICE)
			odev = fake_container_of(o, struct fake_idev, obj)->dev;
		else if (o && o->type == FAKE_OBJ_ACCESS)
			odev = fake_container_of(o, struct fake_access, obj)->dev;
		if (!odev || odev != df->dev || df->dev->bound != df)
			return -EINVAL;
		df->idobj = o;
		df->devid = devid;
	}
	return 0;
}

static int r_records(struct rctx *c, const uint8_t *p, size_t len)
{
	size_t off = 0;
	bool end = false;

	while (off < len) {
		uint32_t tag, rlen;
		struct rd r;
		int ret;

		if (end || len - off < 8)
			return -EINVAL;
		memcpy(&tag, p + off, 4);
		memcpy(&rlen, p + off + 4, 4);
		off += 8;
		if (rlen > len - off)
			return -EINVAL;
		r = (struct rd){ .p = p + off, .len = rlen };
		off += rlen;
		switch (tag) {
		case REC_FAKE: ret = r_fake(c, &r); break;
		case REC_UNIT: ret = r_unit(c, &r); break;
		case REC_DEVICE: ret = r_device(c, &r); break;
		case REC_FILEREF: ret = r_fileref(c, &r); break;
		case REC_PAGES: ret = r_pages(c, &r); break;
		case REC_ICTX: ret = r_ictx(c, &r); break;
		case REC_OBJECT: ret = r_object(c, &r); break;
		case REC_DF: ret = r_df(c, &r); break;
		case REC_CONTAINER: ret = r_container(c, &r); break;
		case REC_VGROUP: ret = r_vgroup(c, &r); break;
		case REC_END: ret = 0; end = true; break;
		default: ret = -EINVAL; break;
		}
		if (!ret && r.err)
			ret = r.err;
		/* a record says exactly what it holds */
		if (!ret && r.off != r.len)
			ret = -EINVAL;
		if (ret)
			return ret;
	}
	if (!end || !c->have_fake || c->cur_left)
		return -EINVAL;
	return 0;
}

/*
 * Every object has at least the users what holds it accounts for: fewer,
 * and dropping them (a detach, a close) would destroy an object still in
 * use. More only keeps an object alive.
 */
static int check_users(struct fake_ictx *ictx)
{
	unsigned int *need = calloc(ictx->nr_slots ? ictx->nr_slots : 1,
				    sizeof(*need));

	if (!need)
		return -ENOMEM;
	for (uint32_t id = 1; id < ictx->nr_slots; id++) {
		struct fake_object *o = ictx->objects[id];

		if (!o)
			continue;
		need[id]++;	/* the table */
		if (o->type == FAKE_OBJ_HWPT_PAGING) {
			need[fake_container_of(o, struct fake_hwpt, obj)
				     ->ioas->obj.id]++;
		} else if (o->type == FAKE_OBJ_DEVICE) {
			struct fake_idev *idev =
				fake_container_of(o, struct fake_idev, obj);

			if (idev->dev->bound && idev->dev->bound->idobj == o)
				need[id]++;	/* the driver */
			if (idev->hwpt) {
				need[id]++;
				need[idev->hwpt->obj.id]++;
			}
			for (size_t i = 0; i < idev->nr_pasids; i++) {
				need[id]++;
				need[idev->pasids[i].hwpt->obj.id]++;
			}
		} else if (o->type == FAKE_OBJ_ACCESS) {
			struct fake_access *acc =
				fake_container_of(o, struct fake_access, obj);

			if (acc->dev->bound && acc->dev->bound->idobj == o)
				need[id]++;
			if (acc->ioas)
				need[acc->ioas->obj.id]++;
		}
	}
	for (uint32_t id = 1; id < ictx->nr_slots; id++) {
		if (ictx->objects[id] && ictx->objects[id]->users < need[id]) {
			free(need);
			return -EINVAL;
		}
	}
	free(need);
	return 0;
}

/* What only the whole state tells: owners of reserved ranges, the compat
 * IOAS, pinned pages the pages account for. */
static int r_link(struct rctx *c)
{
	int ret = ensure_vgroups(c);

	if (ret)
		return ret;
	for (size_t i = 0; i < c->nr_owners; i++) {
		struct pending_owner *o = &c->owners[i];
		struct fake_object *obj;

		switch (o->kind) {
		case OWNER_FAKE:
			o->res->owner = NULL;
			break;
		case OWNER_IDEV:
			obj = fake_object_get(o->ictx, o->id, FAKE_OBJ_DEVICE);
			if (!obj)
				return -EINVAL;
			o->res->owner = fake_container_of(obj, struct fake_idev,
							  obj);
			break;
		case OWNER_HWPT:
			obj = fake_object_get(o->ictx, o->id,
					      FAKE_OBJ_HWPT_PAGING);
			if (!obj)
				return -EINVAL;
			o->res->owner = fake_container_of(obj, struct fake_hwpt,
							  obj);
			break;
		default:
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < c->nr_ictx; i++) {
		struct fake_ictx *ictx = c->ictx_files[i]->private_data;
		uint32_t id = (uint32_t)(uintptr_t)ictx->vfio_ioas;

		ictx->vfio_ioas = NULL;
		ictx->next_free = 1;
		if (id && !(ictx->vfio_ioas = fake_get_ioas(ictx, id)))
			return -EINVAL;
	}
	/* An iommufd file is held by the device files bound to it, and by
	 * nothing else that travels: a count that says otherwise would
	 * release it twice, or never. */
	for (size_t i = 0; i < c->nr_ictx; i++) {
		struct fake_file *f = c->ictx_files[i];
		unsigned int holds = 0;

		for (struct fake_file *o = c->tmp->files; o; o = o->next) {
			struct fake_df *df = o->private_data;

			if ((o->ops == &fake_vfio_device_fops ||
			     o->ops == &fake_vfio_group_device_fops) &&
			    df->ictx == f->private_data)
				holds++;
		}
		for (struct fake_vgroup *vg = c->tmp->vgroups; vg; vg = vg->next)
			if (vg->ictx == f->private_data)
				holds++;
		if (f->refs != holds)
			return -EINVAL;
	}
	/* a container is held by its groups, a group by its device files */
	for (struct fake_file *f = c->tmp->files; f; f = f->next) {
		unsigned int holds = 0;

		if (fake_file_is_container(f)) {
			for (struct fake_vgroup *vg = c->tmp->vgroups; vg;
			     vg = vg->next)
				if ((void *)vg->container == f->private_data)
					holds++;
		} else if (fake_file_is_vgroup(f)) {
			for (struct fake_file *o = c->tmp->files; o; o = o->next)
				if (o->ops == &fake_vfio_group_device_fops &&
				    ((struct fake_df *)o->private_data)->group ==
					    f->private_data)
					holds++;
		} else {
			continue;
		}
		if (f->refs != holds)
			return -EINVAL;
	}
	for (size_t i = 0; i < c->nr_ictx; i++) {
		ret = check_users(c->ictx_files[i]->private_data);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < c->nr_pages; i++)
		if (!c->pages[i]->refs)
			return -EINVAL;	/* pages no area uses */
	if (c->pinned > c->tmp->pinned_pages)
		return -EINVAL;
	return 0;
}

/* The fds of this process that reach the model's files: an exec kept
 * those without O_CLOEXEC, SCM_RIGHTS brought the ones sent. */
static int r_scan_fds(struct rctx *c)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		struct stat st;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd == dirfd(d) ||
		    fstat((int)fd, &st))
			continue;
		for (struct fake_file *f = c->tmp->files; f; f = f->next) {
			if (f->dev == st.st_dev && f->ino == st.st_ino) {
				ret = fake_fd_adopt(c->tmp, (int)fd, f);
				break;
			}
		}
	}
	closedir(d);
	return ret;
}

static void r_cleanup(struct rctx *c)
{
	/* pages no area took, then the restore's holds on the files */
	for (size_t i = 0; i < c->nr_pages; i++) {
		struct fake_pages *p = c->pages[i];

		if (p->refs)
			continue;
		if (p->file)
			fake_fileref_put(c->tmp, p->file);
		if (p->backing)
			fake_fileref_put(c->tmp, p->backing);
		free(p);
	}
	for (size_t i = 0; i < c->nr_refs; i++)
		fake_fileref_put(c->tmp, c->refs[i]);
}

static void r_free(struct rctx *c)
{
	for (size_t i = 0; i < c->nr_ref_maps; i++)
		if (c->ref_maps[i])
			fake_pinmap_put(c->ref_maps[i]);
	free(c->ref_maps);
	free(c->units);
	free(c->devs);
	free(c->refs);
	free(c->pages);
	free(c->ictx_files);
	free(c->owners);
	free(c->cont_files);
}

/*
 * A model that failed to restore may be inconsistent in any way the state
 * was: take it apart without the release paths, which trust the links
 * between objects and files.
 */
static void r_abort(struct rctx *c)
{
	struct iommufd_fake *t = c->tmp;

	for (size_t i = 0; i < c->nr_ictx; i++) {
		struct fake_ictx *ictx = c->ictx_files[i]->private_data;

		for (uint32_t id = 1; id < ictx->nr_slots; id++) {
			struct fake_object *o = ictx->objects[id];

			if (!o)
				continue;
			ictx->objects[id] = NULL;
			switch (o->type) {
			case FAKE_OBJ_IOAS:
				fake_ioas_destroy(ictx, o);
				break;
			case FAKE_OBJ_HWPT_PAGING: {
				struct fake_hwpt *h = fake_container_of(
					o, struct fake_hwpt, obj);

				fake_dirty_free(&h->dirty);
				free(h);
				break;
			}
			case FAKE_OBJ_DEVICE:
				free(fake_container_of(o, struct fake_idev, obj)
					     ->pasids);
				free(fake_container_of(o, struct fake_idev, obj));
				break;
			default:
				free(fake_container_of(o, struct fake_access,
						       obj));
				break;
			}
		}
		ictx->nr_objects = 0;
		ictx->vfio_ioas = NULL;
	}
	for (struct fake_file *f = t->files; f; f = f->next) {
		struct fake_df *df = f->private_data;

		if (f->ops != &fake_vfio_device_fops &&
		    f->ops != &fake_vfio_group_device_fops)
			continue;
		df->group = NULL;
		df->access_granted = false;
		df->ictx = NULL;
		df->idobj = NULL;
	}
	for (struct fake_device *d = t->devices; d; d = d->next) {
		d->bound = NULL;
		d->open_count = 0;
	}
	for (struct fake_vgroup *vg = t->vgroups; vg; vg = vg->next) {
		vg->container = NULL;
		vg->container_next = NULL;
		vg->ictx = NULL;
		vg->container_users = 0;
	}
}

/* Only a tree iommufd_fake made in the temporary directory is removed. */
static bool our_sysfs_dir(const char *dir)
{
	const char *base = strrchr(dir, '/');

	return dir[0] == '/' && base && !strncmp(base, "/iommufd-fake-", 14) &&
	       !strstr(dir, "/..") && strlen(base) == 20;
}

/* Move the new model into @fake, whose old model goes. */
static void r_commit(struct rctx *c, struct iommufd_fake *fake)
{
	struct iommufd_fake *t = c->tmp;
	struct fake_file **dead = NULL;
	size_t nr_dead = 0;
	uint8_t token[16];

	fake_vgroups_free(fake);
	fake_machine_free(fake);
	fake_sysfs_destroy(fake);
	free(fake->fdtab);
	free(fake->reserved);
	free(fake->fail_ioctls);
	fake->fail_ioctls = NULL;
	fake->nr_fail_ioctls = 0;
	fake->fail_at = 0;

	fake->kver = t->kver;
	fake->page_size = t->page_size;
	fake->memlock_limit = t->memlock_limit;
	fake->pinned_pages = t->pinned_pages;
	fake->reserved = t->reserved;
	fake->nr_reserved = t->nr_reserved;
	fake->filerefs = t->filerefs;
	fake->files = t->files;
	fake->nr_files = t->nr_files;
	fake->fdtab = t->fdtab;
	fake->fdtab_len = t->fdtab_len;
	fake->units = t->units;
	fake->devices = t->devices;
	fake->vgroups = t->vgroups;
	fake->vfio_container_mode = t->vfio_container_mode;
	fake->vfio_dma_entry_limit = t->vfio_dma_entry_limit;
	fake->sysfs_failed = false;
	t->reserved = NULL;
	t->nr_reserved = 0;
	t->filerefs = NULL;
	t->files = NULL;
	t->nr_files = 0;
	t->fdtab = NULL;
	t->fdtab_len = 0;
	t->units = NULL;
	t->devices = NULL;
	t->vgroups = NULL;

	for (struct fake_file *f = fake->files; f; f = f->next) {
		f->fake = fake;
		if (f->ops == &fake_iommufd_fops)
			((struct fake_ictx *)f->private_data)->fake = fake;
		if (fake_file_is_container(f))
			fake_container_set_fake(f, fake);
	}
	for (struct fake_vgroup *vg = fake->vgroups; vg; vg = vg->next)
		vg->fake = fake;
	for (struct fake_device *d = fake->devices; d; d = d->next)
		d->fake = fake;

	/* An exec left the old image's tree behind: it is ours now. Another
	 * process's tree, or one a fake of this image still uses, stays. */
	exec_token(token);
	if (c->sysfs_pid == getpid() && our_sysfs_dir(c->sysfs_dir) &&
	    memcmp(token, c->exec_token, sizeof(token))) {
		fake->sysfs_dir = strdup(c->sysfs_dir);
		fake->sysfs_pid = c->sysfs_pid;
		fake_sysfs_destroy(fake);
	}
	for (struct fake_unit *u = fake->units; u; u = u->next)
		(void)fake_sysfs_add_unit(fake, u);
	for (struct fake_device *d = fake->devices; d; d = d->next) {
		(void)fake_sysfs_add_device(fake, d);
		if (d->driver[0])
			(void)fake_sysfs_update_driver(fake, d, "", -1);
	}
	(void)fake_sysfs_update_version(fake);
	for (struct fake_vgroup *vg = fake->vgroups; vg; vg = vg->next)
		(void)fake_sysfs_vfio_group(fake, vg, true);

	/* What no fd reaches and nothing holds was closed by the exec (an
	 * O_CLOEXEC fd): the kernel released it, so does the model. */
	for (struct fake_file *f = fake->files; f; f = f->next)
		if (!f->refs)
			nr_dead++;
	if (nr_dead)
		dead = calloc(nr_dead, sizeof(*dead));
	nr_dead = 0;
	for (struct fake_file *f = fake->files; f && dead; f = f->next)
		if (!f->refs)
			dead[nr_dead++] = f;
	for (size_t i = 0; i < nr_dead; i++) {
		dead[i]->refs = 1;
		fake_file_put(dead[i]);
	}
	free(dead);
}

static int read_state(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct state_header) ||
	    (uint64_t)st.st_size > STATE_MAX)
		return -EINVAL;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done,
				  (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EINVAL;
		}
		done += (size_t)n;
	}
	*out = buf;
	*len = done;
	return 0;
}

FAKE_EXPORT int iommufd_fake_restore(struct iommufd_fake *fake, const int *fds,
				     size_t nr)
{
	struct rctx c = { .fds = fds, .nr_fds = nr };
	struct state_header h;
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if (!fake || !fds || !nr)
		return -EINVAL;
	ret = read_state(fds[0], &buf, &len);
	if (ret)
		return ret;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, STATE_MAGIC, sizeof(h.magic)) ||
	    h.version != STATE_VERSION || h.header_size != sizeof(h) ||
	    h.payload_len != len - sizeof(h) || h.nr_fds != nr) {
		free(buf);
		return -EINVAL;
	}
	if (h.checksum != fnv1a(buf + sizeof(h), len - sizeof(h))) {
		free(buf);
		return -EBADMSG;
	}
	ret = iommufd_fake_new(&c.tmp);
	if (ret) {
		free(buf);
		return ret;
	}
	pthread_mutex_lock(&fake->lock);
	if (fake->nr_files)
		ret = -EBUSY;
	if (!ret)
		ret = r_records(&c, buf + sizeof(h), len - sizeof(h));
	if (!ret)
		ret = r_link(&c);
	if (!ret)
		ret = r_scan_fds(&c);
	r_cleanup(&c);
	if (ret)
		r_abort(&c);
	else
		r_commit(&c, fake);
	r_free(&c);
	pthread_mutex_unlock(&fake->lock);
	iommufd_fake_free(c.tmp);
	free(buf);
	if (!ret) {
		/* what the model needs it holds through its own dups */
		for (size_t i = 0; i < nr; i++)
			close(fds[i]);
	}
	return ret;
}
