/* SPDX-License-Identifier: MIT */
/*
 * The legacy backend: VFIO containers (/dev/vfio/vfio) with the type1 IOMMU,
 * and VFIO groups (/dev/vfio/N), as VFIO serves them and as iommufd's compat
 * layer does (CONFIG_IOMMUFD_VFIO_CONTAINER: the vfio-compat backend, the
 * same code). Every container and group ioctl the library issues is in this
 * file; the device ioctls common to every backend are in vfio.c. What this
 * backend does is keyed on what the kernel answers (extensions, GET_INFO),
 * never on which of the two serves it.
 *
 * Three kernel rules shape it (drivers/vfio/{group,container}.c, 6.1):
 *  - a group hands out device files only while it is in a container whose
 *    IOMMU is set, and VFIO_SET_IOMMU needs a group in the container;
 *  - a group cannot leave its container while a device file of it is open
 *    (EBUSY);
 *  - the last group to leave a container takes the IOMMU and every mapping
 *    with it.
 * So a group gets a container of its own when the context opens its first
 * device (GROUP_SET_CONTAINER, SET_IOMMU TYPE1v2 else TYPE1, GET_INFO), and
 * keeps it until its last device is freed. Attaching a device binds its
 * group's container to the IOAS: the IOAS's table is replayed into it
 * (MAP_DMA each mapping; a failure unmaps what was replayed and fails the
 * attach), and from then on every map, unmap and copy of the IOAS goes to
 * every container bound to it. When the last device of a group detaches,
 * the container is emptied (UNMAP_DMA) and unbound. An IOAS no container is
 * bound to is "not realized": its mappings live in the table only, and the
 * next attach replays them.
 *
 * Concurrency. Binding and unbinding own the IOAS (ioas_exclusive_begin():
 * no map, unmap or copy in flight, all table entries LIVE), so the list of
 * containers of an IOAS never changes under one of those; its readers
 * outside that protocol (IOVA ranges, limits, allow-list) take the IOAS's
 * mutex, which the binders also take while they change the list.
 *
 * IOVAs the caller does not fix are the library's choice (the kernel has
 * none to offer), made under the table's write lock so that two maps never
 * pick the same one: the lowest fit inside the IOVA ranges (the containers'
 * VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, intersected; before any container,
 * [0, 2^39 - 1], the smallest aperture in common use: VT-d with a 39-bit
 * address width), outside every reserved region sysfs lists for any IOMMU
 * group of the machine (so no later attach can find a mapping in its MSI
 * window), inside the allow-list, aligned as iommufd aligns (to the length
 * rounded up to a power of two, at most the alignment of the address, at
 * least the IOMMU page).
 *
 * Unmap rules stay iommufd's: ioas.c decides splits and "nothing there"
 * from the table and hands this file exact runs of whole mappings. Unmap-all
 * is VFIO_DMA_UNMAP_FLAG_ALL where the container has VFIO_UNMAP_ALL, else
 * one UNMAP_DMA per mapping of the table.
 *
 * map_file: the file is mmap()ed (MAP_SHARED) whole, once per file and
 * protection, and the address of the range is mapped; the mmap is shared by
 * every mapping of the file and their copies, and lives until the last of
 * them is unmapped (struct t1_fmap).
 *
 * One container per IOAS, for callers that know the IOAS at open
 * (opts->ioas): the first group opened so gets its container as above,
 * which becomes the IOAS's "share" (a t1_group of its own, no group file)
 * bound to the IOAS at once (the table replayed); later groups join it with
 * GROUP_SET_CONTAINER (the kernel refuses incompatible ones: they get a
 * container of their own, logged). The share is what sits in the IOAS's
 * groups[], so every map goes to it once, and it stays bound until its last
 * member group closes; attaching a member's device to that IOAS is
 * bookkeeping, to another -EBUSY. Members and shares change under
 * ctx->objects_lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../internal.h"
#include "../lu-desc.h"
#include "../maptable.h"

#define CONTAINER_PATH "/dev/vfio/vfio"
#define DEFAULT_IOVA_LAST ((UINT64_C(1) << 39) - 1)
#define MAP_PROT (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define GET_INFO_TRIES 8

/* A range list: sorted, disjoint. */
struct rlist {
	struct iommufd_iova_range *v;
	size_t n, cap;
};

/*
 * An mmap() of a file for its file mappings: one per file and protection
 * however many mappings (and their copies in other IOAS) use it, as a VMM
 * maps its guest RAM once. One per mapping would cost a VMA apiece, and a
 * vIOMMU guest's many small mappings would run into vm.max_map_count.
 */
struct t1_fmap {
	void *addr;
	size_t len;
	uint64_t offset;	/* of addr in the file */
	/* atomic; 0: going, never taken again (fmap_get skips it) */
	unsigned int refs;
	dev_t dev;		/* the file, for sharing */
	ino_t ino;
	bool writable;
	struct t1_fmap *next;	/* t1_ctx.fmaps, under t1_ctx.fmap_lock */
};

/* Where the memory of a file-backed mapping is. */
struct t1_fentry {
	uint64_t iova;
	uint64_t length;
	struct t1_fmap *map;
	uint64_t vaddr;		/* of iova, inside map */
};

/* A VFIO group the context opened, with its container. */
struct t1_group {
	struct list_node node;		/* on t1_ctx.groups */
	int id;				/* the IOMMU group number */
	int fd;				/* /dev/vfio/<id> */
	int container;			/* its /dev/vfio/vfio */
	unsigned int refs;		/* devices open (t1_ctx.lock) */
	/* Under ctx->objects_lock (attach and detach). */
	unsigned int attached;		/* devices attached */
	struct iommufd_ioas *ioas;	/* the IOAS mapped into the container */
	/* What the container said once its IOMMU was set. */
	unsigned long iommu_type;	/* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
	bool unmap_all;
	uint64_t pgsizes;
	struct iommufd_iova_range *ranges;
	size_t nr_ranges;
	/* VFIO_IOMMU_DIRTY_PAGES started (tracking.c's calls, under
	 * ctx->objects_lock). */
	bool dirty;
	/*
	 * A group opened with opts->ioas sits in that IOAS's shared container:
	 * @share is it (container -1 here, ioas NULL: the share is what is
	 * bound). A share is a t1_group too, never on t1_ctx.groups: fd -1,
	 * id its first group's (for log lines), refs its member groups
	 * (under ctx->objects_lock), bound to its IOAS from creation to the
	 * close of its last member.
	 */
	struct t1_group *share;
	/* Rebuilt by a live update: fd and container belong to the context
	 * (ctx->lu_fds closes them), so that a failed restore leaves them to
	 * the description for a retry. */
	bool borrowed;
};

struct t1_ioas {
	struct iommufd_ioas *ioas;
	/* On t1_ctx.ioas (under its lock): after a handoff ioas.c frees the
	 * IOAS without ioas_destroy, and ctx_release frees what is left. */
	struct list_node node;
	/* groups[] and allowed, for readers outside the table protocol;
	 * changed only with it held and the IOAS owned exclusively. */
	pthread_mutex_t lock;
	struct t1_group **groups;	/* bound: their containers map the IOAS */
	size_t nr_groups;
	struct t1_group *share;		/* the shared container, or NULL
					 * (set under ctx->objects_lock) */
	struct iommufd_iova_range *allowed;
	size_t nr_allowed;
	pthread_mutex_t flock;		/* files[] */
	struct t1_fentry *files;	/* by iova */
	size_t nr_files, cap_files;
};

struct t1_ctx {
	pthread_mutex_t lock;		/* groups */
	struct list_node groups;
	/* Every reserved region of every IOMMU group of the machine. A leaf
	 * lock: taken under an IOAS's table lock. */
	pthread_mutex_t resv_lock;
	struct iommufd_iova_range *resv;
	size_t nr_resv;
	uint32_t next_ioas_id;		/* atomic */
	struct list_node ioas;		/* struct t1_ioas.node, under lock */
	/* The file mmaps, shared by the map_files of one file. A leaf lock. */
	pthread_mutex_t fmap_lock;
	struct t1_fmap *fmaps;
	/* Live update: every bound container's vaddrs are invalid (from
	 * lu_quiesce, or inherited by lu_restore, to lu_unquiesce or
	 * lu_takeover). Under ctx->objects_lock. */
	bool quiesced;
};

static struct t1_ctx *T1(struct iommufd_ctx *ctx)
{
	return ctx->backend_priv;
}

static struct t1_ioas *T1I(struct iommufd_ioas *ioas)
{
	return ioas->priv;
}

static uint64_t cpu_page(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (uint64_t)p : 4096;
}

static bool overflows(uint64_t start, uint64_t length)
{
	return length - 1 > UINT64_MAX - start;
}

/* ---- range lists ---- */

static int rl_push(struct rlist *r, uint64_t start, uint64_t last)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct iommufd_iova_range *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct iommufd_iova_range){ start, last };
	return 0;
}

static void rl_free(struct rlist *r)
{
	free(r->v);
	*r = (struct rlist){ 0 };
}

/* Take [start, last] out of @r. */
static int rl_exclude(struct rlist *r, uint64_t start, uint64_t last)
{
	size_t i = 0;

	while (i < r->n) {
		struct iommufd_iova_range cur = r->v[i];
		bool lo = start > cur.start, hi = last < cur.last;

		if (start > cur.last || last < cur.start) {
			i++;
		} else if (lo && hi) {
			if (rl_push(r, 0, 0))
				return -ENOMEM;
			memmove(&r->v[i + 2], &r->v[i + 1],
				(r->n - i - 2) * sizeof(r->v[0]));
			r->v[i] = (struct iommufd_iova_range){ cur.start, start - 1 };
			r->v[i + 1] = (struct iommufd_iova_range){ last + 1, cur.last };
			i += 2;
		} else if (lo) {
			r->v[i++].last = start - 1;
		} else if (hi) {
			r->v[i++].start = last + 1;
		} else {
			memmove(&r->v[i], &r->v[i + 1],
				(r->n - i - 1) * sizeof(r->v[0]));
			r->n--;
		}
	}
	return 0;
}

/* @r becomes @r intersected with the sorted, disjoint @b[@nb]. */
static int rl_intersect(struct rlist *r, const struct iommufd_iova_range *b,
			size_t nb)
{
	struct rlist out = { 0 };
	size_t i = 0, j = 0;

	while (i < r->n && j < nb) {
		uint64_t s = r->v[i].start > b[j].start ? r->v[i].start :
							  b[j].start;
		uint64_t l = r->v[i].last < b[j].last ? r->v[i].last :
							b[j].last;

		if (s <= l && rl_push(&out, s, l)) {
			rl_free(&out);
			return -ENOMEM;
		}
		if (r->v[i].last < b[j].last)
			i++;
		else
			j++;
	}
	rl_free(r);
	*r = out;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct iommufd_iova_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* Sort and merge @v[@n] in place; the new count. */
static size_t ranges_normalize(struct iommufd_iova_range *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && (v[k - 1].last == UINT64_MAX ||
			  v[i].start <= v[k - 1].last + 1)) {
			if (v[i].last > v[k - 1].last)
				v[k - 1].last = v[i].last;
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

static bool ranges_cover(const struct iommufd_iova_range *v, size_t n,
			 uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].start <= start && last <= v[i].last)
			return true;
	return false;
}

/* ---- kernel calls ---- */

static void group_log_error(struct iommufd_ctx *ctx, int group,
			    const char *call, int err)
{
	char what[96];

	snprintf(what, sizeof(what), "IOMMU group %d: %s", group, call);
	ctx_log_kernel_error(ctx, what, err);
}

/*
 * VFIO_CHECK_EXTENSION: 1 yes, 0 no, -errno when the question itself failed.
 * The kernel answers 0 or 1 on any container; an error is something else
 * going wrong, which must not pass for "no" (a container silently set to
 * type1 v1 loses dirty tracking and unmap-all).
 */
static int check_extension(struct iommufd_ctx *ctx, int fd, unsigned long ext)
{
	int rc = kernel_ioctl(&ctx->kernel, fd, VFIO_CHECK_EXTENSION,
			      (void *)(uintptr_t)ext);

	if (rc < 0) {
		ctx_log_kernel_error(ctx, "VFIO_CHECK_EXTENSION", rc);
		return rc;
	}
	return rc > 0;
}

static uint32_t kernel_prot(uint32_t prot)
{
	return (prot & IOMMUFD_MAP_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
	       (prot & IOMMUFD_MAP_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0);
}

static int map_dma(struct iommufd_ctx *ctx, struct t1_group *g, uint64_t iova,
		   uint64_t vaddr, uint64_t size, uint32_t prot)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = kernel_prot(prot),
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};
	int rc = kernel_ioctl(&ctx->kernel, g->container, VFIO_IOMMU_MAP_DMA,
			      &m);

	if (rc >= 0)
		return 0;
	if (rc == -ENOSPC)
		ctx_warn(ctx, "IOMMU group %d: VFIO_IOMMU_MAP_DMA [0x%llx, +0x%llx): the container holds as many mappings as vfio_iommu_type1's dma_entry_limit allows",
			 g->id, (unsigned long long)iova,
			 (unsigned long long)size);
	else if (rc == -EINVAL)
		ctx_warn(ctx, "IOMMU group %d: VFIO_IOMMU_MAP_DMA [0x%llx, +0x%llx): %s: outside the container's IOVA ranges, or misaligned",
			 g->id, (unsigned long long)iova,
			 (unsigned long long)size, strerror(EINVAL));
	else
		group_log_error(ctx, g->id, "VFIO_IOMMU_MAP_DMA", rc);
	return rc;
}

/* @all: VFIO_DMA_UNMAP_FLAG_ALL (iova and size 0). */
static int unmap_dma(struct iommufd_ctx *ctx, struct t1_group *g,
		     uint64_t iova, uint64_t size, bool all, uint64_t *bytes)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.flags = all ? VFIO_DMA_UNMAP_FLAG_ALL : 0,
		.iova = all ? 0 : iova,
		.size = all ? 0 : size,
	};
	int rc = kernel_ioctl(&ctx->kernel, g->container, VFIO_IOMMU_UNMAP_DMA,
			      &u);

	if (rc < 0) {
		group_log_error(ctx, g->id, "VFIO_IOMMU_UNMAP_DMA", rc);
		return rc;
	}
	if (bytes)
		*bytes = u.size;
	return 0;
}

/* What VFIO_IOMMU_GET_INFO says. */
struct t1_info {
	uint64_t pgsizes;		/* 0: not reported */
	struct iommufd_iova_range *ranges;	/* NULL: no IOVA_RANGE cap */
	size_t nr_ranges;
	bool has_avail;
	uint32_t avail;
	bool has_migration;
	uint64_t dirty_pgsizes;
	uint64_t dirty_max;
};

/* The capability chain of @buf (@len bytes the kernel filled): each header
 * inside the buffer, each next offset further on, or the walk ends. */
static int parse_caps(struct iommufd_ctx *ctx, int group, const uint8_t *buf,
		      size_t len, struct t1_info *out)
{
	struct vfio_iommu_type1_info info;
	uint32_t off;

	memcpy(&info, buf, sizeof(info));
	if (info.flags & VFIO_IOMMU_INFO_PGSIZES)
		out->pgsizes = info.iova_pgsizes;
	if (!(info.flags & VFIO_IOMMU_INFO_CAPS))
		return 0;
	for (off = info.cap_offset; off;) {
		struct vfio_info_cap_header hdr;

		if (off < sizeof(info) || off > len || len - off < sizeof(hdr)) {
			ctx_warn(ctx, "IOMMU group %d: VFIO_IOMMU_GET_INFO: a capability at offset %u lies outside the %zu bytes returned; ignored",
				 group, off, len);
			break;
		}
		memcpy(&hdr, buf + off, sizeof(hdr));
		if (hdr.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    len - off >= sizeof(struct vfio_iommu_type1_info_cap_iova_range)) {
			struct vfio_iommu_type1_info_cap_iova_range c;
			size_t room = len - off - sizeof(c);
			struct iommufd_iova_range *r;

			memcpy(&c, buf + off, sizeof(c));
			if (room / sizeof(struct vfio_iova_range) < c.nr_iovas) {
				ctx_warn(ctx, "IOMMU group %d: IOVA range capability truncated; ignored",
					 group);
			} else if (!out->ranges) {
				r = calloc(c.nr_iovas ? c.nr_iovas : 1,
					   sizeof(*r));
				if (!r)
					return -ENOMEM;
				for (uint32_t i = 0; i < c.nr_iovas; i++) {
					struct vfio_iova_range k;

					memcpy(&k, buf + off + sizeof(c) +
							   i * sizeof(k),
					       sizeof(k));
					r[i].start = k.start;
					r[i].last = k.end;
				}
				out->ranges = r;
				out->nr_ranges = c.nr_iovas;
			}
		} else if (hdr.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION &&
			   len - off >= sizeof(struct vfio_iommu_type1_info_cap_migration)) {
			struct vfio_iommu_type1_info_cap_migration c;

			memcpy(&c, buf + off, sizeof(c));
			out->has_migration = true;
			out->dirty_pgsizes = c.pgsize_bitmap;
			out->dirty_max = c.max_dirty_bitmap_size;
		} else if (hdr.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
			   len - off >= sizeof(struct vfio_iommu_type1_info_dma_avail)) {
			struct vfio_iommu_type1_info_dma_avail c;

			memcpy(&c, buf + off, sizeof(c));
			out->has_avail = true;
			out->avail = c.avail;
		}
		if (hdr.next && hdr.next <= off) {
			ctx_warn(ctx, "IOMMU group %d: VFIO_IOMMU_GET_INFO: capability chain goes backwards; the rest ignored",
				 group);
			break;
		}
		off = hdr.next;
	}
	/* Sorted and disjoint, or not used at all. */
	for (size_t i = 0; out->ranges && i < out->nr_ranges; i++) {
		if (out->ranges[i].start > out->ranges[i].last ||
		    (i && out->ranges[i].start <= out->ranges[i - 1].last)) {
			ctx_warn(ctx, "IOMMU group %d: the kernel's IOVA ranges are not sorted and disjoint; ignored",
				 group);
			free(out->ranges);
			out->ranges = NULL;
			out->nr_ranges = 0;
		}
	}
	return 0;
}

/* VFIO_IOMMU_GET_INFO, the buffer grown until the capabilities fit. */
static int container_get_info(struct iommufd_ctx *ctx, struct t1_group *g,
			      struct t1_info *out)
{
	size_t len = sizeof(struct vfio_iommu_type1_info);
	int rc = -EAGAIN;

	memset(out, 0, sizeof(*out));
	for (unsigned int tries = 0; tries < GET_INFO_TRIES; tries++) {
		struct vfio_iommu_type1_info *info = calloc(1, len);

		if (!info)
			return -ENOMEM;
		info->argsz = (uint32_t)len;
		rc = kernel_ioctl(&ctx->kernel, g->container,
				  VFIO_IOMMU_GET_INFO, info);
		if (rc < 0) {
			group_log_error(ctx, g->id, "VFIO_IOMMU_GET_INFO", rc);
			free(info);
			return rc;
		}
		if (info->argsz > len) {
			len = info->argsz;
			free(info);
			rc = -EAGAIN;
			continue;
		}
		rc = parse_caps(ctx, g->id, (const uint8_t *)info,
				info->argsz < sizeof(*info) ? sizeof(*info) :
							      info->argsz,
				out);
		free(info);
		return rc;
	}
	return rc;
}

/* ---- the machine's reserved regions (sysfs) ---- */

static int read_small_file(const char *path, char *buf, size_t size,
			   size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < size - 1) {
		ssize_t n = read(fd, buf + done, size - 1 - done);

		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (!n)
			break;
		done += (size_t)n;
	}
	close(fd);
	buf[done] = '\0';
	*len = done;
	return 0;
}

/*
 * Read every <sysfs>/kernel/iommu_groups/N/reserved_regions into the
 * context's list (direct-relaxable regions excepted, as type1 excepts them).
 * Done when an IOAS is made and when a group is opened, never while a table
 * lock is held. A machine without that directory has none.
 *
 * All or nothing: out of memory, the list stays as it was and -ENOMEM is
 * returned, because a list short of a region would let an IOVA be chosen
 * in it (the MSI window, say) with nothing to show for it.
 */
static int resv_refresh(struct iommufd_ctx *ctx)
{
	const char *root = kernel_sysfs_root(&ctx->kernel);
	struct rlist all = { 0 };
	char dir[PATH_MAX];
	struct dirent *d;
	bool nomem = false;
	DIR *dh;
	char *text;

	if (!root || snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups",
			      root) >= (int)sizeof(dir))
		return 0;
	text = malloc(65536);
	if (!text)
		return -ENOMEM;
	dh = opendir(dir);
	while (!nomem && dh && (d = readdir(dh))) {
		struct iommufd_reserved_region *r = NULL;
		char path[PATH_MAX];
		size_t len = 0, nr = 0;
		int rc;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/reserved_regions", dir,
			     d->d_name) >= (int)sizeof(path) ||
		    read_small_file(path, text, 65536, &len))
			continue;
		rc = iommufd_parse_reserved_regions(text, len, &r, &nr);
		if (rc == -ENOMEM) {
			nomem = true;
			break;
		}
		if (rc) {
			ctx_warn(ctx, "%s: cannot parse (%s); its regions are not avoided",
				 path, strerror(-rc));
			continue;
		}
		for (size_t i = 0; i < nr; i++)
			if (r[i].type != IOMMUFD_RESV_DIRECT_RELAXABLE &&
			    rl_push(&all, r[i].start, r[i].last)) {
				nomem = true;
				break;
			}
		free(r);
	}
	if (dh)
		closedir(dh);
	free(text);
	if (nomem) {
		rl_free(&all);
		return -ENOMEM;
	}
	all.n = all.n ? ranges_normalize(all.v, all.n) : 0;
	{
		struct t1_ctx *t1 = T1(ctx);

		pthread_mutex_lock(&t1->resv_lock);
		free(t1->resv);
		t1->resv = all.v;
		t1->nr_resv = all.n;
		pthread_mutex_unlock(&t1->resv_lock);
	}
	return 0;
}

/* ---- the context ---- */

static struct t1_ctx *t1_ctx_alloc(void)
{
	struct t1_ctx *t1 = calloc(1, sizeof(*t1));

	if (!t1)
		return NULL;
	pthread_mutex_init(&t1->lock, NULL);
	pthread_mutex_init(&t1->resv_lock, NULL);
	pthread_mutex_init(&t1->fmap_lock, NULL);
	list_init(&t1->groups);
	list_init(&t1->ioas);
	return t1;
}

static void t1_ioas_free(struct iommufd_ctx *ctx, struct t1_ioas *t);

static int t1_ctx_init(struct iommufd_ctx *ctx)
{
	struct iommu_destroy probe = { .size = sizeof(probe), .id = 0 };
	struct t1_ctx *t1;
	int rc;

	rc = kernel_ioctl(&ctx->kernel, ctx->fd, VFIO_GET_API_VERSION, NULL);
	if (rc != VFIO_API_VERSION) {
		ctx_err(ctx, "%s: VFIO_GET_API_VERSION: %s", CONTAINER_PATH,
			rc < 0 ? strerror(-rc) : "an unknown version");
		return rc < 0 ? rc : -ENODEV;
	}
	t1 = t1_ctx_alloc();
	if (!t1)
		return -ENOMEM;
	ctx->backend_priv = t1;
	/* An iommufd answers its own ioctls (ID 0: ENOENT); VFIO's container
	 * says EINVAL to what it does not know. */
	rc = kernel_ioctl(&ctx->kernel, ctx->fd, IOMMU_DESTROY, &probe);
	ctx->backend_kind = rc == -ENOENT ? IOMMUFD_BACKEND_VFIO_COMPAT :
					    IOMMUFD_BACKEND_TYPE1;
	return 0;
}

static void t1_ctx_release(struct iommufd_ctx *ctx)
{
	struct t1_ctx *t1 = T1(ctx);

	if (!t1)
		return;
	/* IOAS ioas.c freed without ioas_destroy (handed over): only their
	 * memory and mmaps are left. */
	while (!list_empty(&t1->ioas))
		t1_ioas_free(ctx, container_of(t1->ioas.next, struct t1_ioas,
					       node));
	pthread_mutex_destroy(&t1->lock);
	pthread_mutex_destroy(&t1->resv_lock);
	pthread_mutex_destroy(&t1->fmap_lock);
	free(t1->resv);
	free(t1);
	ctx->backend_priv = NULL;
}

static void add_feature(struct iommufd_ctx *ctx, enum iommufd_feature f)
{
	__atomic_fetch_or(&ctx->features, UINT64_C(1) << f, __ATOMIC_RELAXED);
}

/* The context's container has no group: 6.1 answers UPDATE_VADDR and
 * DMA_CC only once an IOMMU is set (a group's container adds them). */
static void t1_probe(struct iommufd_ctx *ctx)
{
	static const struct {
		unsigned long ext;
		enum iommufd_feature f;
	} exts[] = {
		{ VFIO_TYPE1_IOMMU, IOMMUFD_FEATURE_TYPE1 },
		{ VFIO_TYPE1v2_IOMMU, IOMMUFD_FEATURE_TYPE1V2 },
		{ VFIO_UNMAP_ALL, IOMMUFD_FEATURE_UNMAP_ALL },
		{ VFIO_UPDATE_VADDR, IOMMUFD_FEATURE_UPDATE_VADDR },
		{ VFIO_DMA_CC_IOMMU, IOMMUFD_FEATURE_DMA_CC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (check_extension(ctx, ctx->fd, exts[i].ext) > 0)
			add_feature(ctx, exts[i].f);
}

static int t1_option(struct iommufd_ctx *ctx, uint32_t option_id,
		     uint16_t op, uint32_t object_id, uint64_t *val)
{
	ctx_err(ctx, "the %s backend has no options (IOMMU_OPTION: huge pages, rlimit mode)",
		iommufd_backend_name(ctx->backend_kind));
	return -EOPNOTSUPP;
}

/* ---- groups ---- */

/* Whatever keeps IOMMU group @id from being viable, named in the log. */
static void log_not_viable(struct iommufd_ctx *ctx, int id)
{
	const char *root = kernel_sysfs_root(&ctx->kernel);
	char dir[PATH_MAX];
	bool named = false;
	struct dirent *d;
	DIR *dh = NULL;

	if (root && snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%d/devices",
			     root, id) < (int)sizeof(dir))
		dh = opendir(dir);
	while (dh && (d = readdir(dh))) {
		char link[PATH_MAX], target[PATH_MAX];
		const char *drv;
		ssize_t n;

		if (d->d_name[0] == '.' ||
		    snprintf(link, sizeof(link), "%s/%s/driver", dir,
			     d->d_name) >= (int)sizeof(link))
			continue;
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;	/* no driver: fine */
		target[n] = '\0';
		drv = strrchr(target, '/');
		drv = drv ? drv + 1 : target;
		if (!strncmp(drv, "vfio", 4) || !strcmp(drv, "pci-stub") ||
		    !strcmp(drv, "pcieport"))
			continue;
		ctx_err(ctx, "IOMMU group %d is not viable: %s is bound to %s (every device of a group must be bound to vfio-pci, pci-stub or no driver)",
			id, d->d_name, drv);
		named = true;
	}
	if (dh)
		closedir(dh);
	if (!named)
		ctx_err(ctx, "IOMMU group %d is not viable: a device of it is bound to a driver that is not VFIO's",
			id);
}

static void group_free(struct iommufd_ctx *ctx, struct t1_group *g)
{
	/* The group leaves its container as its file closes; the last one
	 * takes the container's IOMMU and mappings with it. */
	if (g->fd >= 0 && !g->borrowed)
		kernel_close(&ctx->kernel, g->fd);
	if (g->container >= 0 && !g->borrowed)
		kernel_close(&ctx->kernel, g->container);
	free(g->ranges);
	free(g);
}

/*
 * The container's page sizes and IOVA ranges, into @g (not bound to an IOAS:
 * nobody reads them meanwhile). Asked again when the group is bound: iommufd's
 * compat container narrows them as devices are opened (it attaches each one
 * then), VFIO's when the group joins.
 */
static int group_read_info(struct iommufd_ctx *ctx, struct t1_group *g)
{
	struct t1_info info;
	int rc = container_get_info(ctx, g, &info);

	if (rc)
		return rc;
	if (!info.ranges) {
		/* No IOVA_RANGE capability (before 5.4): assume the default. */
		info.ranges = malloc(sizeof(*info.ranges));
		if (!info.ranges)
			return -ENOMEM;
		info.ranges[0] = (struct iommufd_iova_range){ 0, DEFAULT_IOVA_LAST };
		info.nr_ranges = 1;
	}
	free(g->ranges);
	g->ranges = info.ranges;
	g->nr_ranges = info.nr_ranges;
	g->pgsizes = info.pgsizes ? info.pgsizes : ~(cpu_page() - 1);
	return 0;
}

/* Open group @id's file, viable, in no container yet. */
static int group_open_file(struct iommufd_ctx *ctx, int id, const char *who,
			   struct t1_group **out)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct t1_group *g;
	char path[32];
	int rc;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->id = id;
	g->container = -1;
	list_init(&g->node);
	snprintf(path, sizeof(path), "/dev/vfio/%d", id);
	g->fd = kernel_open(&ctx->kernel, path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		rc = g->fd;
		if (rc == -ENOENT)
			ctx_err(ctx, "%s: IOMMU group %d has no VFIO group file %s: bind the device to vfio-pci",
				who, id, path);
		else if (rc == -EBUSY)
			ctx_err(ctx, "%s: %s is open elsewhere (another process or context owns IOMMU group %d)",
				who, path, id);
		else
			ctx_err(ctx, "%s: cannot open %s: %s", who, path,
				strerror(-rc));
		goto fail;
	}
	rc = kernel_ioctl(&ctx->kernel, g->fd, VFIO_GROUP_GET_STATUS, &st);
	if (rc < 0) {
		group_log_error(ctx, id, "VFIO_GROUP_GET_STATUS", rc);
		goto fail;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_not_viable(ctx, id);
		rc = -EPERM;
		goto fail;
	}
	*out = g;
	return 0;
fail:
	group_free(ctx, g);
	return rc;
}

/* The extensions of a container whose IOMMU is set, for group_own_container:
 * 0, or the first failed question's error. */
static int container_extensions(struct iommufd_ctx *ctx, struct t1_group *g)
{
	static const struct {
		unsigned long ext;
		enum iommufd_feature f;
	} exts[] = {
		{ VFIO_UNMAP_ALL, IOMMUFD_FEATURE_UNMAP_ALL },
		{ VFIO_UPDATE_VADDR, IOMMUFD_FEATURE_UPDATE_VADDR },
		{ VFIO_DMA_CC_IOMMU, IOMMUFD_FEATURE_DMA_CC },
	};
	int has[ARRAY_SIZE(exts)];

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		has[i] = check_extension(ctx, g->container, exts[i].ext);
		if (has[i] < 0)
			return has[i];
	}
	g->unmap_all = has[0];
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (has[i])
			add_feature(ctx, exts[i].f);
	return 0;
}

/* Give @g (its file open) a container of its own with an IOMMU set; on
 * failure the caller frees @g (group_free closes the group file first, as
 * always). */
static int group_own_container(struct iommufd_ctx *ctx, struct t1_group *g,
			       const char *who)
{
	int id = g->id;
	int32_t cfd;
	int rc;

	g->container = kernel_open(&ctx->kernel, CONTAINER_PATH,
				   O_RDWR | O_CLOEXEC);
	if (g->container < 0) {
		rc = g->container;
		ctx_err(ctx, "%s: cannot open %s: %s", who, CONTAINER_PATH,
			strerror(-rc));
		goto fail;
	}
	cfd = g->container;
	rc = kernel_ioctl(&ctx->kernel, g->fd, VFIO_GROUP_SET_CONTAINER, &cfd);
	if (rc < 0) {
		if (rc == -EPERM)
			ctx_err(ctx, "IOMMU group %d: VFIO_GROUP_SET_CONTAINER: a kernel driver (or an iommufd) owns the DMA of a device of the group",
				id);
		else
			group_log_error(ctx, id, "VFIO_GROUP_SET_CONTAINER", rc);
		goto fail;
	}
	rc = check_extension(ctx, g->container, VFIO_TYPE1v2_IOMMU);
	if (rc > 0) {
		g->iommu_type = VFIO_TYPE1v2_IOMMU;
	} else if (rc == 0) {
		rc = check_extension(ctx, g->container, VFIO_TYPE1_IOMMU);
		if (rc > 0)
			g->iommu_type = VFIO_TYPE1_IOMMU;
	}
	if (rc < 0)
		goto fail;
	if (!g->iommu_type) {
		ctx_err(ctx, "IOMMU group %d: the container offers no type1 IOMMU (vfio_iommu_type1 not loaded?)",
			id);
		rc = -ENODEV;
		goto fail;
	}
	rc = kernel_ioctl(&ctx->kernel, g->container, VFIO_SET_IOMMU,
			  (void *)(uintptr_t)g->iommu_type);
	if (rc < 0) {
		group_log_error(ctx, id, "VFIO_SET_IOMMU", rc);
		goto fail;
	}
	/* Asked of the container with its IOMMU set (6.1 says 0 before). */
	rc = container_extensions(ctx, g);
	if (rc)
		goto fail;
	rc = group_read_info(ctx, g);
	if (rc)
		goto fail;
	ctx_dbg(ctx, "IOMMU group %d: container with the %s IOMMU, page sizes 0x%llx, %zu IOVA range(s)%s",
		id, g->iommu_type == VFIO_TYPE1v2_IOMMU ? "TYPE1v2" : "TYPE1",
		(unsigned long long)g->pgsizes, g->nr_ranges,
		g->unmap_all ? ", UNMAP_ALL" : "");
	return 0;
fail:
	return rc;
}

/* Open group @id and give it a container of its own with an IOMMU set. */
static int group_open(struct iommufd_ctx *ctx, int id, const char *who,
		      struct t1_group **out)
{
	struct t1_group *g;
	int rc;

	rc = group_open_file(ctx, id, who, &g);
	if (rc)
		return rc;
	rc = group_own_container(ctx, g, who);
	if (rc) {
		group_free(ctx, g);
		return rc;
	}
	*out = g;
	return 0;
}

/* Under t1->lock. */
static struct t1_group *group_find(struct t1_ctx *t1, int id)
{
	for (struct list_node *n = t1->groups.next; n != &t1->groups;
	     n = n->next) {
		struct t1_group *g = container_of(n, struct t1_group, node);

		if (g->id == id)
			return g;
	}
	return NULL;
}

/* ---- the IOAS's file mappings ---- */

static void fmap_put(struct iommufd_ctx *ctx, struct t1_fmap *m)
{
	struct t1_ctx *t1 = T1(ctx);
	struct t1_fmap **pp;

	if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&t1->fmap_lock);
	for (pp = &t1->fmaps; *pp && *pp != m; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = m->next;
	pthread_mutex_unlock(&t1->fmap_lock);
	kernel_munmap(&ctx->kernel, m->addr, m->len);
	free(m);
}

/* A reference on @m unless it is going already. */
static bool fmap_tryget(struct t1_fmap *m)
{
	unsigned int r = __atomic_load_n(&m->refs, __ATOMIC_RELAXED);

	while (r)
		if (__atomic_compare_exchange_n(&m->refs, &r, r + 1, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

/*
 * A reference on an mmap of @fd (@st its fstat) covering [offset, offset +
 * length), writable if @write, and in *vaddr the address of @offset: the
 * context's mapping of the file when one covers the range, else a new one
 * of the whole file as it is now (of the range alone if the whole cannot
 * be mapped).
 */
static int fmap_get(struct iommufd_ctx *ctx, int fd, const struct stat *st,
		    uint64_t offset, uint64_t length, bool write,
		    struct t1_fmap **out, uint64_t *vaddr)
{
	struct t1_ctx *t1 = T1(ctx);
	int prot = PROT_READ | (write ? PROT_WRITE : 0);
	uint64_t page = cpu_page();
	uint64_t whole = ((uint64_t)st->st_size + page - 1) & ~(page - 1);
	struct t1_fmap *m;
	void *addr;
	int rc;

	pthread_mutex_lock(&t1->fmap_lock);
	for (m = t1->fmaps; m; m = m->next) {
		if (m->dev != st->st_dev || m->ino != st->st_ino ||
		    (write && !m->writable) || offset < m->offset ||
		    offset + length > m->offset + m->len || !fmap_tryget(m))
			continue;
		pthread_mutex_unlock(&t1->fmap_lock);
		*out = m;
		*vaddr = (uintptr_t)m->addr + (offset - m->offset);
		return 0;
	}
	pthread_mutex_unlock(&t1->fmap_lock);

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->offset = 0;
	m->len = (size_t)whole;
	rc = whole > SIZE_MAX ? -ENOMEM :
		kernel_mmap(&ctx->kernel, m->len, prot, MAP_SHARED, fd, 0,
			    &addr);
	/* Too large to map whole (address space, a 32-bit off_t): the
	 * range alone. Any other failure is the file's, and final. */
	if (rc == -ENOMEM || rc == -EOVERFLOW) {
		m->offset = offset;
		m->len = (size_t)length;
		rc = kernel_mmap(&ctx->kernel, m->len, prot, MAP_SHARED, fd,
				 (off_t)offset, &addr);
	}
	if (rc) {
		free(m);
		return rc;
	}
	m->addr = addr;
	m->refs = 1;
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	m->writable = write;
	pthread_mutex_lock(&t1->fmap_lock);
	m->next = t1->fmaps;
	t1->fmaps = m;
	pthread_mutex_unlock(&t1->fmap_lock);
	*out = m;
	*vaddr = (uintptr_t)addr + (offset - m->offset);
	return 0;
}

/* Under flock: the index of the first entry at or after @iova. */
static size_t files_index(const struct t1_ioas *t, uint64_t iova)
{
	size_t lo = 0, hi = t->nr_files;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->files[mid].iova < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Record where the memory of the file mapping at @iova is; takes a
 * reference on @m. */
static int files_add(struct iommufd_ioas *ioas, uint64_t iova,
		     uint64_t length, struct t1_fmap *m, uint64_t vaddr)
{
	struct t1_ioas *t = T1I(ioas);
	size_t i;

	pthread_mutex_lock(&t->flock);
	if (t->nr_files == t->cap_files) {
		size_t cap = t->cap_files ? t->cap_files * 2 : 8;
		struct t1_fentry *v = realloc(t->files, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&t->flock);
			return -ENOMEM;
		}
		t->files = v;
		t->cap_files = cap;
	}
	i = files_index(t, iova);
	memmove(&t->files[i + 1], &t->files[i],
		(t->nr_files - i) * sizeof(t->files[0]));
	t->files[i] = (struct t1_fentry){ iova, length, m, vaddr };
	t->nr_files++;
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->flock);
	return 0;
}

/* Forget the file mappings starting in [first, last]. */
static void files_drop(struct iommufd_ioas *ioas, uint64_t first,
		       uint64_t last)
{
	struct t1_ioas *t = T1I(ioas);
	struct t1_fmap *small[8], **put = small;
	size_t i, j, n;

	pthread_mutex_lock(&t->flock);
	i = files_index(t, first);
	for (j = i; j < t->nr_files && t->files[j].iova <= last; j++)
		;
	n = j - i;
	if (!n) {
		/* Nothing file-backed in range (files may even be NULL). */
		pthread_mutex_unlock(&t->flock);
		return;
	}
	if (n > ARRAY_SIZE(small)) {
		put = malloc(n * sizeof(*put));
		if (!put) {
			/* Keep them: a leak of mmaps beats a use after free. */
			pthread_mutex_unlock(&t->flock);
			ctx_err(ioas->ctx, "IOAS %u: out of memory dropping file mappings; their mmaps stay",
				ioas->id);
			return;
		}
	}
	for (size_t k = 0; k < n; k++)
		put[k] = t->files[i + k].map;
	memmove(&t->files[i], &t->files[j],
		(t->nr_files - j) * sizeof(t->files[0]));
	t->nr_files -= n;
	pthread_mutex_unlock(&t->flock);
	for (size_t k = 0; k < n; k++)
		fmap_put(ioas->ctx, put[k]);
	if (put != small)
		free(put);
}

/* The address of the memory of table entry @e of @ioas; with @map, a
 * reference on the file mmap too (NULL for memory). */
static int entry_vaddr(struct iommufd_ioas *ioas, const struct mt_entry *e,
		       uint64_t *vaddr, struct t1_fmap **map)
{
	struct t1_ioas *t = T1I(ioas);
	size_t i;

	if (map)
		*map = NULL;
	if (e->fd < 0) {
		*vaddr = e->backing;
		return 0;
	}
	pthread_mutex_lock(&t->flock);
	i = files_index(t, e->iova);
	if (i == t->nr_files || t->files[i].iova != e->iova) {
		pthread_mutex_unlock(&t->flock);
		ctx_err(ioas->ctx, "IOAS %u: the file mapping at 0x%llx has no mmap",
			ioas->id, (unsigned long long)e->iova);
		return -EIO;
	}
	*vaddr = t->files[i].vaddr;
	if (map) {
		*map = t->files[i].map;
		__atomic_add_fetch(&(*map)->refs, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&t->flock);
	return 0;
}

/* ---- the table, read from here ---- */

/* Copies of the entries lying wholly inside [first, last]. The caller holds
 * no table lock. */
static int table_snapshot(struct iommufd_ioas *ioas, uint64_t first,
			  uint64_t last, struct mt_entry **out, size_t *nr,
			  uint64_t *bytes)
{
	struct mt_entry *v = NULL, *e;
	struct mt_iter it;
	size_t n = 0, cap = 0;
	uint64_t sum = 0;
	int rc = 0;

	pthread_rwlock_rdlock(&ioas->lock);
	for (e = maptable_seek(&ioas->table, first, &it); e && e->iova <= last;
	     e = maptable_next(&it)) {
		if (e->state == MT_PENDING || e->iova < first ||
		    mt_last(e) > last)
			continue;
		sum += e->length;
		if (!out)
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct mt_entry *nv = realloc(v, c * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = c;
		}
		v[n++] = *e;
	}
	pthread_rwlock_unlock(&ioas->lock);
	if (rc) {
		free(v);
		return rc;
	}
	if (out) {
		*out = v;
		*nr = n;
	}
	if (bytes)
		*bytes = sum;
	return 0;
}

/* Map @v[0, n) into @g's container; on failure unmap what went in. */
static int replay(struct iommufd_ioas *ioas, struct t1_group *g,
		  const struct mt_entry *v, size_t n)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		uint64_t vaddr;

		rc = entry_vaddr(ioas, &v[i], &vaddr, NULL);
		if (!rc)
			rc = map_dma(ctx, g, v[i].iova, vaddr, v[i].length,
				     v[i].prot);
		if (rc)
			ctx_err(ctx, "IOAS %u: cannot map [0x%llx, +0x%llx) into the container of IOMMU group %d: %s",
				ioas->id, (unsigned long long)v[i].iova,
				(unsigned long long)v[i].length, g->id,
				strerror(-rc));
	}
	if (!rc)
		return 0;
	for (size_t k = 0; k + 1 < i; k++)
		if (unmap_dma(ctx, g, v[k].iova, v[k].length, false, NULL))
			ctx_err(ctx, "IOAS %u: cannot take [0x%llx, +0x%llx) back out of the container of IOMMU group %d",
				ioas->id, (unsigned long long)v[k].iova,
				(unsigned long long)v[k].length, g->id);
	return rc;
}

/* Unmap everything from @g's container (its IOAS owned exclusively, or in
 * unmap_all): *bytes what went. */
static int container_clear(struct iommufd_ioas *ioas, struct t1_group *g,
			   uint64_t *bytes)
{
	struct mt_entry *v;
	uint64_t sum = 0;
	size_t n, i;
	int rc;

	if (g->unmap_all)
		return unmap_dma(ioas->ctx, g, 0, 0, true, bytes);
	/* No VFIO_UNMAP_ALL: one mapping at a time, from the table. */
	rc = table_snapshot(ioas, 0, UINT64_MAX, &v, &n, NULL);
	if (rc)
		return rc;
	for (i = 0; i < n && !rc; i++) {
		uint64_t b = 0;

		rc = unmap_dma(ioas->ctx, g, v[i].iova, v[i].length, false, &b);
		sum += b;
	}
	/* Put back what went, so the container still is the table (replay
	 * logs what it cannot). */
	if (rc)
		(void)replay(ioas, g, v, i - 1);
	free(v);
	if (!rc)
		*bytes = sum;
	return rc;
}

/* ---- binding a group's container to an IOAS ---- */

static int bind_group(struct iommufd_ioas *ioas, struct t1_group *g)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	struct t1_ioas *t = T1I(ioas);
	struct t1_group **groups;
	struct mt_entry *v = NULL;
	size_t n = 0;
	int rc;

	rc = ioas_exclusive_begin(ioas);
	if (rc)
		return rc;
	rc = group_read_info(ctx, g);
	if (rc) {
		ioas_exclusive_end(ioas);
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nr_allowed && !rc; i++) {
		if (ranges_cover(g->ranges, g->nr_ranges, t->allowed[i].start,
				 t->allowed[i].last))
			continue;
		ctx_err(ctx, "IOAS %u: IOMMU group %d cannot map the allowed IOVAs [0x%llx, 0x%llx] (reserved, or outside its aperture)",
			ioas->id, g->id,
			(unsigned long long)t->allowed[i].start,
			(unsigned long long)t->allowed[i].last);
		rc = -EADDRINUSE;
		break;
	}
	groups = rc ? NULL : realloc(t->groups, (t->nr_groups + 1) * sizeof(*groups));
	if (!rc && !groups)
		rc = -ENOMEM;
	if (groups)
		t->groups = groups;
	pthread_mutex_unlock(&t->lock);
	if (!rc)
		rc = table_snapshot(ioas, 0, UINT64_MAX, &v, &n, NULL);
	if (!rc)
		rc = replay(ioas, g, v, n);
	free(v);
	if (!rc) {
		pthread_mutex_lock(&t->lock);
		t->groups[t->nr_groups++] = g;
		pthread_mutex_unlock(&t->lock);
		g->ioas = ioas;
		ctx_dbg(ctx, "IOAS %u: the container of IOMMU group %d maps it (%zu mapping(s) replayed)",
			ioas->id, g->id, n);
	}
	ioas_exclusive_end(ioas);
	return rc;
}

static void unlink_group(struct t1_ioas *t, struct t1_group *g)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nr_groups; i++) {
		if (t->groups[i] == g) {
			memmove(&t->groups[i], &t->groups[i + 1],
				(t->nr_groups - i - 1) * sizeof(t->groups[0]));
			t->nr_groups--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
}

/* Empty @g's container and unbind it from its IOAS. With @closing the
 * group's file is about to close, which drops the mappings anyway. */
static int unbind_group(struct t1_group *g, bool closing)
{
	struct iommufd_ioas *ioas = g->ioas;
	uint64_t bytes = 0;
	int rc;

	/* Handed over: the mappings are the new process's to keep. */
	closing |= ctx_handed_over(ioas->ctx);
	rc = ioas_exclusive_begin(ioas);
	if (rc)
		return rc;
	if (!closing) {
		rc = container_clear(ioas, g, &bytes);
		if (rc) {
			ioas_exclusive_end(ioas);
			return rc;
		}
	}
	unlink_group(T1I(ioas), g);
	g->ioas = NULL;
	ctx_dbg(ioas->ctx, "IOAS %u: the container of IOMMU group %d no longer maps it%s",
		ioas->id, g->id,
		T1I(ioas)->nr_groups ? "" :
				       " (no container left: mappings kept in the table only)");
	ioas_exclusive_end(ioas);
	return 0;
}

/* ---- one container shared by the groups opened for an IOAS ---- */

/*
 * @g, just given a container of its own, hands it to a new share bound to
 * @ioas (the IOAS's mappings replayed into it). On failure @g keeps its
 * container, emptied.
 */
static int share_create(struct iommufd_ctx *ctx, struct t1_group *g,
			struct iommufd_ioas *ioas)
{
	struct t1_ioas *t = T1I(ioas);
	struct t1_group *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->id = g->id;
	s->fd = -1;
	s->container = g->container;
	s->iommu_type = g->iommu_type;
	s->unmap_all = g->unmap_all;
	s->pgsizes = g->pgsizes;
	s->ranges = g->ranges;
	s->nr_ranges = g->nr_ranges;
	list_init(&s->node);
	g->ranges = NULL;
	g->nr_ranges = 0;
	g->container = -1;
	rc = bind_group(ioas, s);
	if (rc) {
		g->container = s->container;
		g->ranges = s->ranges;
		g->nr_ranges = s->nr_ranges;
		free(s);
		return rc;
	}
	s->refs = 1;
	pthread_mutex_lock(&t->lock);
	t->share = s;
	pthread_mutex_unlock(&t->lock);
	g->share = s;
	ctx_dbg(ctx, "IOAS %u: IOMMU group %d's container is the IOAS's, shared by the groups opened for it",
		ioas->id, g->id);
	return 0;
}

/*
 * @g (its file open, in no container) joins the container of share @s of
 * @ioas. The kernel refuses an incompatible group (another IOMMU, an
 * aperture or reserved region that mappings already in the container
 * conflict with); a join that leaves the container unable to map the
 * IOAS's allowed IOVAs is undone (-EADDRINUSE).
 */
static int share_join(struct iommufd_ctx *ctx, struct t1_group *g,
		      struct t1_group *s, struct iommufd_ioas *ioas)
{
	struct t1_ioas *t = T1I(ioas);
	int32_t cfd = s->container;
	int rc;

	rc = ioas_exclusive_begin(ioas);
	if (rc)
		return rc;
	rc = kernel_ioctl(&ctx->kernel, g->fd, VFIO_GROUP_SET_CONTAINER, &cfd);
	if (rc < 0) {
		ioas_exclusive_end(ioas);
		return rc;
	}
	/* The container's IOVA ranges and page sizes narrow with the group. */
	pthread_mutex_lock(&t->lock);
	rc = group_read_info(ctx, s);
	for (size_t i = 0; i < t->nr_allowed && !rc; i++)
		if (!ranges_cover(s->ranges, s->nr_ranges, t->allowed[i].start,
				  t->allowed[i].last))
			rc = -EADDRINUSE;
	if (rc) {
		if (kernel_ioctl(&ctx->kernel, g->fd,
				 VFIO_GROUP_UNSET_CONTAINER, NULL) < 0)
			ctx_warn(ctx, "IOMMU group %d: cannot leave the container of IOAS %u again",
				 g->id, ioas->id);
		else
			(void)group_read_info(ctx, s);
	}
	pthread_mutex_unlock(&t->lock);
	ioas_exclusive_end(ioas);
	if (rc)
		return rc;
	g->share = s;
	s->refs++;
	return 0;
}

/*
 * Open group @id for @ioas (opts->ioas): into the IOAS's shared container,
 * made from this group's own when the IOAS has none. Where the kernel (or
 * the IOAS) refuses, the group gets a container of its own, as without
 * opts->ioas (logged). Under ctx->objects_lock and t1->lock.
 */
static int group_open_shared(struct iommufd_ctx *ctx, int id, const char *who,
			     struct iommufd_ioas *ioas, struct t1_group **out)
{
	struct t1_ioas *t = T1I(ioas);
	struct t1_group *g, *s;
	int rc;

	rc = group_open_file(ctx, id, who, &g);
	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	s = t->share;
	pthread_mutex_unlock(&t->lock);
	if (s) {
		rc = share_join(ctx, g, s, ioas);
		if (!rc) {
			ctx_dbg(ctx, "%s: IOMMU group %d joined the container of IOAS %u",
				who, id, ioas->id);
			*out = g;
			return 0;
		}
		ctx_info(ctx, "%s: IOMMU group %d cannot join the container of IOAS %u (%s): it gets a container of its own, which maps the IOAS when the device is attached",
			 who, id, ioas->id, strerror(-rc));
	}
	rc = group_own_container(ctx, g, who);
	if (rc) {
		group_free(ctx, g);
		return rc;
	}
	if (!s) {
		rc = share_create(ctx, g, ioas);
		if (rc)
			ctx_info(ctx, "%s: the container of IOMMU group %d cannot become IOAS %u's (%s): it stays the group's own, which maps the IOAS when the device is attached",
				 who, id, ioas->id, strerror(-rc));
	}
	*out = g;
	return 0;
}

/* The last member of share @s closed (its group left the container, which
 * took the mappings with it): unbind and close it. Under objects_lock. */
static void share_put(struct iommufd_ctx *ctx, struct t1_group *s)
{
	struct iommufd_ioas *ioas = s->ioas;

	if (--s->refs)
		return;
	if (ioas) {
		struct t1_ioas *t = T1I(ioas);

		pthread_mutex_lock(&t->lock);
		if (t->share == s)
			t->share = NULL;
		pthread_mutex_unlock(&t->lock);
		/* A borrowed container outlives its members' group files. */
		if (!s->borrowed || unbind_group(s, false))
			unbind_group(s, true);
	}
	ctx_dbg(ctx, "IOAS %u: its shared container closed",
		ioas ? ioas->id : 0);
	group_free(ctx, s);
}

/* ---- IOAS ---- */

static struct t1_ioas *t1_ioas_new(struct iommufd_ioas *ioas)
{
	struct t1_ctx *t1 = T1(ioas->ctx);
	struct t1_ioas *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->flock, NULL);
	t->ioas = ioas;
	pthread_mutex_lock(&t1->lock);
	list_add_tail(&t1->ioas, &t->node);
	pthread_mutex_unlock(&t1->lock);
	return t;
}

/* Off the context's list, the mmaps of its file mappings released. */
static void t1_ioas_free(struct iommufd_ctx *ctx, struct t1_ioas *t)
{
	struct t1_ctx *t1 = T1(ctx);

	pthread_mutex_lock(&t1->lock);
	list_del(&t->node);
	pthread_mutex_unlock(&t1->lock);
	for (size_t i = 0; i < t->nr_files; i++)
		fmap_put(ctx, t->files[i].map);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->flock);
	free(t->files);
	free(t->groups);
	free(t->allowed);
	free(t);
}

static int t1_ioas_alloc(struct iommufd_ioas *ioas)
{
	struct t1_ioas *t = t1_ioas_new(ioas);
	int rc;

	if (!t)
		return -ENOMEM;
	ioas->priv = t;
	/* No kernel object: a number of the library's. */
	ioas->id = __atomic_add_fetch(&T1(ioas->ctx)->next_ioas_id, 1,
				      __ATOMIC_RELAXED);
	/* Known before the first choice of an IOVA (never read under the
	 * table lock). */
	rc = resv_refresh(ioas->ctx);
	if (rc) {
		t1_ioas_free(ioas->ctx, t);
		ioas->priv = NULL;
		return rc;
	}
	return 0;
}

static int t1_ioas_destroy(struct iommufd_ioas *ioas)
{
	struct t1_ioas *t = T1I(ioas);
	size_t busy;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	busy = t->nr_groups;
	pthread_mutex_unlock(&t->lock);
	if (busy && !ctx_handed_over(ioas->ctx)) {
		ctx_dbg(ioas->ctx, "IOAS %u: devices of %zu IOMMU group(s) are attached",
			ioas->id, busy);
		return -EBUSY;
	}
	/* Handed over: the containers are another process's now. */
	for (size_t i = 0; i < busy; i++)
		t->groups[i]->ioas = NULL;
	t1_ioas_free(ioas->ctx, t);
	ioas->priv = NULL;
	return 0;
}

/* The IOMMU page of @ioas: the smallest page every container maps with;
 * the CPU's before any. Groups stable (see the top). */
static uint64_t io_page(struct iommufd_ioas *ioas)
{
	struct t1_ioas *t = T1I(ioas);
	uint64_t sizes = UINT64_MAX;

	if (!t->nr_groups)
		return cpu_page();
	for (size_t i = 0; i < t->nr_groups; i++)
		sizes &= t->groups[i]->pgsizes;
	if (!sizes)
		return cpu_page();
	sizes &= -sizes;
	return sizes < cpu_page() ? cpu_page() : sizes;
}

/* The IOVA ranges of @ioas: the containers' intersected, or the default;
 * with @resv, less the machine's reserved regions too. */
static int usable_ranges(struct iommufd_ioas *ioas, bool resv,
			 struct rlist *out)
{
	struct t1_ioas *t = T1I(ioas);
	int rc;

	*out = (struct rlist){ 0 };
	rc = rl_push(out, 0, t->nr_groups ? UINT64_MAX : DEFAULT_IOVA_LAST);
	for (size_t i = 0; i < t->nr_groups && !rc; i++)
		rc = rl_intersect(out, t->groups[i]->ranges,
				  t->groups[i]->nr_ranges);
	if (!rc && !t->nr_groups) {
		/* Not realized: what any group could take, so the machine's
		 * reserved regions are out of it. */
		resv = true;
	}
	if (!rc && resv) {
		struct t1_ctx *t1 = T1(ioas->ctx);

		pthread_mutex_lock(&t1->resv_lock);
		for (size_t i = 0; i < t1->nr_resv && !rc; i++)
			rc = rl_exclude(out, t1->resv[i].start, t1->resv[i].last);
		pthread_mutex_unlock(&t1->resv_lock);
	}
	if (rc)
		rl_free(out);
	return rc;
}

static uint64_t pow2_roundup(uint64_t v)
{
	if (v > (UINT64_C(1) << 63))
		return UINT64_C(1) << 63;
	return v <= 1 ? 1 : UINT64_C(1) << (64 - __builtin_clzll(v - 1));
}

/* The lowest @align-aligned IOVA in @r where @length fits between the
 * table's entries; false when none. Table write-locked. */
static bool lowest_fit(struct iommufd_ioas *ioas, const struct rlist *r,
		       uint64_t length, uint64_t align, uint64_t *iova)
{
	for (size_t i = 0; i < r->n; i++) {
		uint64_t pos = (r->v[i].start + align - 1) & ~(align - 1);
		struct mt_iter it;
		struct mt_entry *e;

		if (pos < r->v[i].start)
			continue;	/* aligning wrapped */
		e = maptable_seek(&ioas->table, pos, &it);
		for (;;) {
			uint64_t last;

			if (overflows(pos, length))
				break;
			last = pos + (length - 1);
			if (last > r->v[i].last)
				break;
			while (e && mt_last(e) < pos)
				e = maptable_next(&it);
			if (!e || e->iova > last) {
				*iova = pos;
				return true;
			}
			/* Past the entry in the way. */
			if (mt_last(e) == UINT64_MAX)
				break;
			pos = (mt_last(e) + align) & ~(align - 1);
			if (pos <= mt_last(e))
				break;
		}
	}
	return false;
}

static int t1_choose_iova(struct iommufd_ioas *ioas, struct mt_entry *e)
{
	struct t1_ioas *t = T1I(ioas);
	uint64_t page = io_page(ioas), align, low;
	struct rlist r;
	bool found;
	int rc;

	rc = usable_ranges(ioas, true, &r);
	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (t->nr_allowed)
		rc = rl_intersect(&r, t->allowed, t->nr_allowed);
	pthread_mutex_unlock(&t->lock);
	if (rc) {
		rl_free(&r);
		return rc;
	}
	/* iommufd's: keep the alignment the memory has, for huge pages. */
	align = pow2_roundup(e->length);
	low = e->backing & -e->backing;
	if (e->backing && low < align)
		align = low;
	if (align < page)
		align = page;
	found = lowest_fit(ioas, &r, e->length, align, &e->iova) ||
		(align > page && lowest_fit(ioas, &r, e->length, page, &e->iova));
	rl_free(&r);
	if (!found) {
		ctx_warn(ioas->ctx, "IOAS %u: no free IOVA range of 0x%llx bytes",
			 ioas->id, (unsigned long long)e->length);
		return -ENOSPC;
	}
	return 0;
}

/* Map into every container of @ioas (its groups stable: the operation is
 * in flight), or nothing. */
static int map_all(struct iommufd_ioas *ioas, uint64_t iova, uint64_t vaddr,
		   uint64_t length, uint32_t flags)
{
	struct t1_ioas *t = T1I(ioas);
	uint64_t page = io_page(ioas);
	size_t i;
	int rc = 0;

	if (!(flags & IOMMUFD_MAP_FIXED_IOVA))
		return -EINVAL;	/* t1_choose_iova() fixed it */
	if ((iova | vaddr | length) & (page - 1)) {
		ctx_dbg(ioas->ctx, "IOAS %u: [0x%llx, +0x%llx) at 0x%llx is not aligned to the IOMMU page (0x%llx)",
			ioas->id, (unsigned long long)iova,
			(unsigned long long)length, (unsigned long long)vaddr,
			(unsigned long long)page);
		return -EINVAL;
	}
	for (i = 0; i < t->nr_groups && !rc; i++)
		rc = map_dma(ioas->ctx, t->groups[i], iova, vaddr, length,
			     flags & MAP_PROT);
	if (rc)
		for (size_t k = 0; k + 1 < i; k++)
			unmap_dma(ioas->ctx, t->groups[k], iova, length, false,
				  NULL);
	return rc;
}

static int t1_ioas_map(struct iommufd_ioas *ioas, void *vaddr, uint64_t length,
		       uint64_t *iova, uint32_t flags)
{
	return map_all(ioas, *iova, (uintptr_t)vaddr, length, flags);
}

static int t1_ioas_map_file(struct iommufd_ioas *ioas, int fd, uint64_t offset,
			    uint64_t length, uint64_t *iova, uint32_t flags)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	uint64_t page = cpu_page();
	struct t1_fmap *m;
	uint64_t addr;
	struct stat st;
	int rc;

	if ((offset | length) & (page - 1) || length > SIZE_MAX ||
	    offset > (uint64_t)INT64_MAX) {
		ctx_dbg(ctx, "IOAS %u: map_file: offset and length must be page aligned",
			ioas->id);
		return -EINVAL;
	}
	rc = kernel_fstat(&ctx->kernel, fd, &st);
	if (rc)
		return rc;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < offset + length) {
		ctx_dbg(ctx, "IOAS %u: map_file: [0x%llx, +0x%llx) is not inside the file",
			ioas->id, (unsigned long long)offset,
			(unsigned long long)length);
		return -EINVAL;
	}
	rc = fmap_get(ctx, fd, &st, offset, length, flags & IOMMUFD_MAP_WRITE,
		      &m, &addr);
	if (rc) {
		ctx_err(ctx, "IOAS %u: map_file: cannot mmap the file: %s",
			ioas->id, strerror(-rc));
		return rc;
	}
	rc = files_add(ioas, *iova, length, m, addr);
	fmap_put(ctx, m);	/* the entry holds it now, or nobody */
	if (rc)
		return rc;
	rc = map_all(ioas, *iova, addr, length, flags);
	if (rc)
		files_drop(ioas, *iova, *iova);
	return rc;
}

/* Put [first, last]'s mappings (from @v) back into groups [0, n). */
static void restore(struct iommufd_ioas *ioas, size_t n,
		    const struct mt_entry *v, size_t nv)
{
	struct t1_ioas *t = T1I(ioas);

	for (size_t k = 0; k < n; k++)
		if (replay(ioas, t->groups[k], v, nv))
			ctx_err(ioas->ctx, "IOAS %u: the container of IOMMU group %d lost mappings the table still has",
				ioas->id, t->groups[k]->id);
}

static int t1_ioas_unmap(struct iommufd_ioas *ioas, uint64_t iova,
			 uint64_t length, uint64_t *unmapped)
{
	struct t1_ioas *t = T1I(ioas);
	bool all = iova == 0 && length == UINT64_MAX;
	uint64_t first = iova, last = all ? UINT64_MAX : iova + (length - 1);
	uint64_t bytes = 0;
	int rc;

	if (!t->nr_groups || ctx_handed_over(ioas->ctx)) {
		/* Not realized (or no longer ours): the table's word is the
		 * kernel's. */
		rc = table_snapshot(ioas, first, last, NULL, NULL, &bytes);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < t->nr_groups && !ctx_handed_over(ioas->ctx);
	     i++) {
		uint64_t b = 0;

		rc = all ? container_clear(ioas, t->groups[i], &b) :
			   unmap_dma(ioas->ctx, t->groups[i], iova, length,
				     false, &b);
		if (rc) {
			struct mt_entry *v;
			size_t nv;

			/* The containers before this one lost the range:
			 * back in, so all of them still are the table. */
			if (i && !table_snapshot(ioas, first, last, &v, &nv,
						 NULL)) {
				restore(ioas, i, v, nv);
				free(v);
			}
			return rc;
		}
		if (!i)
			bytes = b;
	}
	files_drop(ioas, first, last);
	if (unmapped)
		*unmapped = bytes;
	return 0;
}

static int t1_ioas_copy(struct iommufd_ioas *dst, uint64_t *dst_iova,
			struct iommufd_ioas *src, uint64_t src_iova,
			uint64_t length, uint32_t flags)
{
	struct t1_fmap *m = NULL;
	struct mt_entry s = { 0 }, *e;
	uint64_t vaddr;
	int rc = 0;

	/* The source entry is pinned by ioas.c: it stays, unchanged. */
	pthread_rwlock_rdlock(&src->lock);
	e = maptable_find(&src->table, src_iova);
	if (!e || e->iova != src_iova || e->length != length)
		rc = -ENOENT;
	else
		s = *e;
	pthread_rwlock_unlock(&src->lock);
	if (rc)
		return rc;
	rc = entry_vaddr(src, &s, &vaddr, &m);
	if (rc)
		return rc;
	if (m) {
		rc = files_add(dst, *dst_iova, length, m, vaddr);
		fmap_put(dst->ctx, m);
		if (rc)
			return rc;
	}
	rc = map_all(dst, *dst_iova, vaddr, length, flags);
	if (rc && m)
		files_drop(dst, *dst_iova, *dst_iova);
	return rc;
}

static int t1_ioas_iova_ranges(struct iommufd_ioas *ioas,
			       struct iommufd_iova_ranges **out)
{
	struct t1_ioas *t = T1I(ioas);
	struct iommufd_iova_ranges *r;
	struct rlist l;
	uint64_t align;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = usable_ranges(ioas, false, &l);
	align = io_page(ioas);
	pthread_mutex_unlock(&t->lock);
	if (rc)
		return rc;
	r = malloc(sizeof(*r) + (l.n ? l.n : 1) * sizeof(r->range[0]));
	if (!r) {
		rl_free(&l);
		return -ENOMEM;
	}
	r->alignment = align;
	r->nr = l.n;
	if (l.n)
		memcpy(r->range, l.v, l.n * sizeof(l.v[0]));
	rl_free(&l);
	*out = r;
	return 0;
}

static int t1_ioas_allow_iovas(struct iommufd_ioas *ioas,
			       const struct iommufd_iova_range *ranges,
			       size_t nr)
{
	struct t1_ioas *t = T1I(ioas);
	struct iommufd_iova_range *v = NULL;
	int rc = 0;

	if (nr) {
		v = malloc(nr * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, ranges, nr * sizeof(*v));
		nr = ranges_normalize(v, nr);
	}
	pthread_mutex_lock(&t->lock);
	/* Realized: the containers must take them now (iommufd's EADDRINUSE
	 * for an allowed range a domain reserves). */
	for (size_t g = 0; g < t->nr_groups && !rc; g++)
		for (size_t i = 0; i < nr && !rc; i++)
			if (!ranges_cover(t->groups[g]->ranges,
					  t->groups[g]->nr_ranges, v[i].start,
					  v[i].last))
				rc = -EADDRINUSE;
	if (!rc) {
		free(t->allowed);
		t->allowed = v;
		t->nr_allowed = nr;
		v = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(v);
	if (rc)
		ctx_dbg(ioas->ctx, "IOAS %u: an allowed range is not usable by the containers attached",
			ioas->id);
	return rc;
}

static int t1_ioas_limits(struct iommufd_ioas *ioas,
			  struct iommufd_ioas_limits *out)
{
	struct t1_ioas *t = T1I(ioas);
	bool dirty = true;
	int rc = 0;

	out->flags = 0;
	out->page_sizes = ~(cpu_page() - 1);
	out->mappings_avail = UINT64_MAX;
	out->dirty_page_sizes = 0;
	out->dirty_bitmap_max = 0;
	pthread_mutex_lock(&t->lock);
	if (t->nr_groups) {
		out->flags = IOMMUFD_LIMITS_KERNEL;
		out->page_sizes = UINT64_MAX;
		out->dirty_page_sizes = UINT64_MAX;
		out->dirty_bitmap_max = UINT64_MAX;
	}
	for (size_t i = 0; i < t->nr_groups && !rc; i++) {
		struct t1_info info;

		rc = container_get_info(ioas->ctx, t->groups[i], &info);
		if (rc)
			break;
		free(info.ranges);
		out->page_sizes &= info.pgsizes ? info.pgsizes :
						  t->groups[i]->pgsizes;
		if (info.has_avail && info.avail < out->mappings_avail)
			out->mappings_avail = info.avail;
		if (!info.has_migration) {
			dirty = false;
			continue;
		}
		out->dirty_page_sizes &= info.dirty_pgsizes;
		if (info.dirty_max < out->dirty_bitmap_max)
			out->dirty_bitmap_max = info.dirty_max;
	}
	if (t->nr_groups && dirty && out->dirty_page_sizes)
		out->flags |= IOMMUFD_LIMITS_DIRTY_TRACKING;
	else {
		out->dirty_page_sizes = 0;
		out->dirty_bitmap_max = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---- devices ---- */

/* The IOMMU group number of the device at sysfs @devdir. */
static int device_group(struct iommufd_ctx *ctx, const char *devdir,
			const char *who, int *id)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *base;
	char *end;
	ssize_t n;
	long v;

	if (snprintf(link, sizeof(link), "%s/iommu_group", devdir) >=
	    (int)sizeof(link))
		return -ENAMETOOLONG;
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0) {
		ctx_err(ctx, "%s has no IOMMU group: it is not behind an IOMMU that VFIO can use",
			who);
		return -ENODEV;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	errno = 0;
	v = strtol(base, &end, 10);
	if (errno || *end || end == base || v < 0 || v > INT_MAX) {
		ctx_err(ctx, "%s: its iommu_group link (%s) names no group",
			who, target);
		return -EBADMSG;
	}
	*id = (int)v;
	return 0;
}

/* Under ctx->objects_lock (a share's members change under it). */
static void group_put(struct iommufd_ctx *ctx, struct t1_group *g)
{
	struct t1_ctx *t1 = T1(ctx);
	struct t1_group *s;
	bool last;

	pthread_mutex_lock(&t1->lock);
	last = !--g->refs;
	if (last)
		list_del(&g->node);
	pthread_mutex_unlock(&t1->lock);
	if (!last)
		return;
	/* Bound still (a detach failed): closing drops the mappings. A
	 * borrowed group file stays open, so its container is emptied here
	 * (or at least forgotten). */
	if (g->ioas && (!g->borrowed || unbind_group(g, false)))
		unbind_group(g, true);
	ctx_dbg(ctx, "IOMMU group %d: closed%s", g->id,
		g->share ? ", out of its IOAS's shared container" :
			   " with its container");
	s = g->share;
	group_free(ctx, g);	/* the group leaves the container */
	if (s)
		share_put(ctx, s);
}

static int t1_device_open(struct iommufd_device *dev, const char *devdir,
			  const uint8_t *vf_token)
{
	struct iommufd_ctx *ctx = dev->ctx;
	struct t1_ctx *t1 = T1(ctx);
	struct iommufd_ioas *want = dev->open_ioas;
	const char *base = strrchr(devdir, '/');
	struct t1_group *g;
	char name[128];
	bool opened = false;
	int id, fd, rc;

	base = base ? base + 1 : devdir;
	if (vf_token && !dev->pci_addr[0]) {
		ctx_err(ctx, "%s: a VF token is for PCI devices", dev->name);
		return -EINVAL;
	}
	if (vf_token)
		rc = snprintf(name, sizeof(name),
			      "%s vf_token=%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			      base, vf_token[0], vf_token[1], vf_token[2],
			      vf_token[3], vf_token[4], vf_token[5], vf_token[6],
			      vf_token[7], vf_token[8], vf_token[9],
			      vf_token[10], vf_token[11], vf_token[12],
			      vf_token[13], vf_token[14], vf_token[15]);
	else
		rc = snprintf(name, sizeof(name), "%s", base);
	if (rc < 0 || (size_t)rc >= sizeof(name))
		return -ENAMETOOLONG;
	rc = device_group(ctx, devdir, dev->name, &id);
	if (rc)
		return rc;

	/* Shares (their members, binding) change under objects_lock. */
	pthread_mutex_lock(&ctx->objects_lock);
	pthread_mutex_lock(&t1->lock);
	g = group_find(t1, id);
	if (!g) {
		rc = want ? group_open_shared(ctx, id, dev->name, want, &g) :
			    group_open(ctx, id, dev->name, &g);
		if (!rc) {
			list_add_tail(&t1->groups, &g->node);
			opened = true;
		}
	} else if (want && (!g->share || g->share->ioas != want)) {
		ctx_info(ctx, "%s: IOMMU group %d is open already (%s): opts->ioas (IOAS %u) is not applied, the device goes with its group",
			 dev->name, id,
			 g->share ? "in the container of another IOAS" :
				    "with a container of its own",
			 want->id);
	}
	if (g)
		g->refs++;
	pthread_mutex_unlock(&t1->lock);
	if (rc) {
		pthread_mutex_unlock(&ctx->objects_lock);
		return rc;
	}
	/* A group this machine just grew? Every IOAS made read the groups
	 * there were then: without memory now, those stay avoided. */
	if (opened && resv_refresh(ctx))
		ctx_warn(ctx, "%s: out of memory re-reading the reserved regions: those read before stay avoided",
			 dev->name);

	fd = kernel_ioctl(&ctx->kernel, g->fd, VFIO_GROUP_GET_DEVICE_FD, name);
	if (fd < 0) {
		if (fd == -EINVAL && vf_token)
			ctx_err(ctx, "%s: VFIO_GROUP_GET_DEVICE_FD refused the VF token (wrong, or the device is neither an SR-IOV PF nor a VF of vfio-pci)",
				dev->name);
		else if (fd == -EACCES)
			ctx_err(ctx, "%s: VFIO_GROUP_GET_DEVICE_FD: access denied: a VF whose PF is driven by vfio-pci needs the VF token (opts->vf_token)",
				dev->name);
		else if (fd == -ENODEV)
			ctx_err(ctx, "%s: VFIO_GROUP_GET_DEVICE_FD: IOMMU group %d has no such VFIO device (is it bound to vfio-pci?)",
				dev->name, id);
		else
			group_log_error(ctx, id, "VFIO_GROUP_GET_DEVICE_FD", fd);
		group_put(ctx, g);
		pthread_mutex_unlock(&ctx->objects_lock);
		return fd;
	}
	pthread_mutex_unlock(&ctx->objects_lock);
	dev->fd = fd;
	dev->priv = g;
	dev->devid = 0;
	ctx_dbg(ctx, "%s: opened through IOMMU group %d%s", dev->name, id,
		g->share ? ", in its IOAS's shared container" : "");
	return 0;
}

static void t1_device_close(struct iommufd_device *dev)
{
	struct t1_group *g = dev->priv;

	if (!g)
		return;
	dev->priv = NULL;
	group_put(dev->ctx, g);
}

/* Under ctx->objects_lock. */
static int t1_device_attach(struct iommufd_device *dev,
			    struct iommufd_ioas *ioas,
			    struct iommufd_hwpt *hwpt, const uint32_t *pasid,
			    bool probe, uint32_t *out_pt_id)
{
	struct iommufd_ctx *ctx = dev->ctx;
	struct t1_group *g = dev->priv;
	struct iommufd_ioas *old;
	int rc;

	if (hwpt || pasid || !ioas) {
		ctx_err(ctx, "%s: the %s backend attaches devices to an IOAS only",
			dev->name, iommufd_backend_name(ctx->backend_kind));
		return -EOPNOTSUPP;
	}
	if (g->share) {
		/* The group is in the shared container of the IOAS it was
		 * opened for, which maps it already. */
		if (g->share->ioas == ioas)
			goto done;
		ctx_err(ctx, "%s: IOMMU group %d was opened into the container of IOAS %u (opts->ioas) and is bound to it while a device of the group is open: it cannot attach to IOAS %u",
			dev->name, g->id,
			g->share->ioas ? g->share->ioas->id : 0, ioas->id);
		return -EBUSY;
	}
	old = g->ioas;
	if (old == ioas)
		goto done;
	if (old) {
		unsigned int others = g->attached - (dev->ioas ? 1 : 0);

		if (others) {
			ctx_err(ctx, "%s: the devices of IOMMU group %d share one IO address space, and %u other(s) are attached to IOAS %u: detach them first",
				dev->name, g->id, others, old->id);
			return -EBUSY;
		}
		/* A replace: out of the old IOAS, into the new one. */
		rc = unbind_group(g, false);
		if (rc)
			return rc;
	}
	rc = bind_group(ioas, g);
	if (rc) {
		if (old && bind_group(old, g))
			ctx_err(ctx, "%s: the attach failed, and IOAS %u could not be mapped back: the device has no mappings",
				dev->name, old->id);
		return rc;
	}
done:
	if (!dev->ioas)
		g->attached++;
	*out_pt_id = 0;
	return 0;
}

/* Under ctx->objects_lock. */
static int t1_device_detach(struct iommufd_device *dev, const uint32_t *pasid)
{
	struct t1_group *g = dev->priv;
	int rc;

	if (pasid)
		return -EOPNOTSUPP;
	if (!dev->ioas || !g)
		return 0;
	if (g->share) {
		/* The shared container keeps mapping the IOAS. */
		g->attached--;
		return 0;
	}
	if (g->attached == 1 && g->ioas) {
		rc = unbind_group(g, false);
		if (rc)
			return rc;
	} else if (g->ioas) {
		ctx_info(dev->ctx, "%s: detached, but the other devices of IOMMU group %d stay attached: the group keeps its mappings",
			 dev->name, g->id);
	}
	g->attached--;
	return 0;
}

static int t1_hot_reset_groups(struct iommufd_device *dev,
			       const struct vfio_reset_info *info)
{
	struct iommufd_ctx *ctx = dev->ctx;
	struct t1_ctx *t1 = T1(ctx);
	uint32_t n = 0;
	int *fds, rc = 0;

	fds = calloc(info->nr ? info->nr : 1, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	/* Held across the reset: no group file may close meanwhile. */
	pthread_mutex_lock(&t1->lock);
	for (uint32_t i = 0; i < info->nr; i++) {
		const struct vfio_reset_dep *d = &info->dep[i];
		struct t1_group *g = d->id <= INT_MAX ?
					     group_find(t1, (int)d->id) : NULL;
		bool dup = false;

		if (!g) {
			ctx_err(ctx, "%s: hot reset refused: it would also reset %04x:%02x:%02x.%x of IOMMU group %u, which this context has not opened (open a device of that group here)",
				dev->name, d->segment, d->bus, d->devfn >> 3,
				d->devfn & 7, d->id);
			rc = -EPERM;
			continue;
		}
		for (uint32_t k = 0; k < n; k++)
			dup |= fds[k] == g->fd;
		if (!dup)
			fds[n++] = g->fd;
	}
	if (!rc)
		rc = vfio_device_hot_reset(dev, fds, n);
	pthread_mutex_unlock(&t1->lock);
	free(fds);
	return rc;
}

/* ---- dirty tracking (VFIO_IOMMU_DIRTY_PAGES) ---- */

static int dirty_pages(struct iommufd_ctx *ctx, struct t1_group *g,
		       uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d),
		.flags = flag,
	};
	int rc = kernel_ioctl(&ctx->kernel, g->container,
			      VFIO_IOMMU_DIRTY_PAGES, &d);

	if (rc < 0) {
		group_log_error(ctx, g->id,
				flag == VFIO_IOMMU_DIRTY_PAGES_FLAG_START ?
					"VFIO_IOMMU_DIRTY_PAGES START" :
					"VFIO_IOMMU_DIRTY_PAGES STOP",
				rc);
		return rc;
	}
	return 0;
}

/* Every container mapping @ioas, all or nothing; under objects_lock. */
static int t1_ioas_set_dirty_tracking(struct iommufd_ioas *ioas, bool enable)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	struct t1_ioas *t = T1I(ioas);
	uint32_t flag = enable ? VFIO_IOMMU_DIRTY_PAGES_FLAG_START :
				 VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	bool *switched;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	switched = calloc(t->nr_groups ? t->nr_groups : 1, sizeof(*switched));
	if (!switched) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr_groups; i++) {
		struct t1_group *g = t->groups[i];

		if (g->dirty == enable)
			continue;
		rc = dirty_pages(ctx, g, flag);
		if (rc)
			break;
		g->dirty = enable;
		switched[i] = true;
	}
	if (rc) {
		while (i--) {
			struct t1_group *g = t->groups[i];

			if (!switched[i])
				continue;
			if (dirty_pages(ctx, g,
					enable ? VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP :
						 VFIO_IOMMU_DIRTY_PAGES_FLAG_START))
				continue;
			g->dirty = !enable;
		}
	}
	pthread_mutex_unlock(&t->lock);
	free(switched);
	return rc;
}

/*
 * GET_BITMAP of every container into a zeroed buffer each (the kernel
 * writes whole words), ORed into @data.
 */
static int t1_ioas_get_dirty_bitmap(struct iommufd_ioas *ioas, uint64_t iova,
				    uint64_t length, uint64_t page_size,
				    uint64_t *data)
{
	struct iommufd_ctx *ctx = ioas->ctx;
	struct t1_ioas *t = T1I(ioas);
	uint64_t npages = length / page_size;
	size_t words = (size_t)((npages + 63) / 64);
	/* The header and its GET_BITMAP payload, as the kernel reads them. */
	_Alignas(8) uint8_t cmd[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
				sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
	struct vfio_iommu_type1_dirty_bitmap hdr;
	struct vfio_iommu_type1_dirty_bitmap_get get;
	uint64_t *tmp;
	int rc = 0;

	tmp = malloc(words * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nr_groups && !rc; i++) {
		struct t1_group *g = t->groups[i];

		if (!g->dirty) {
			ctx_err(ctx, "IOMMU group %d: its container is not tracking dirty pages (attached after tracking was enabled?): enable it again",
				g->id);
			rc = -EINVAL;
			break;
		}
		memset(tmp, 0, words * sizeof(*tmp));
		memset(&hdr, 0, sizeof(hdr));
		memset(&get, 0, sizeof(get));
		hdr.argsz = sizeof(cmd);
		hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		get.iova = iova;
		get.size = length;
		get.bitmap.pgsize = page_size;
		get.bitmap.size = words * sizeof(*tmp);
		get.bitmap.data = (__u64 *)tmp;
		memcpy(cmd, &hdr, sizeof(hdr));
		memcpy(cmd + sizeof(hdr), &get, sizeof(get));
		rc = kernel_ioctl(&ctx->kernel, g->container,
				  VFIO_IOMMU_DIRTY_PAGES, cmd);
		if (rc < 0) {
			group_log_error(ctx, g->id,
					"VFIO_IOMMU_DIRTY_PAGES GET_BITMAP", rc);
			break;
		}
		rc = 0;
		for (size_t w = 0; w < words; w++)
			data[w] |= tmp[w];
	}
	pthread_mutex_unlock(&t->lock);
	free(tmp);
	return rc;
}

static bool t1_ioas_dirty_tracking_on(struct iommufd_ioas *ioas)
{
	struct t1_ioas *t = T1I(ioas);
	bool on;

	pthread_mutex_lock(&t->lock);
	on = t->nr_groups > 0;
	for (size_t i = 0; i < t->nr_groups; i++)
		if (!t->groups[i]->dirty)
			on = false;
	pthread_mutex_unlock(&t->lock);
	return on;
}

/* VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP: the kernel fills @bits (zeroed
 * here, @words u64s) with the dirty pages of the range, bit 0 = @iova, and
 * unmaps it, in one call. */
static int unmap_dma_dirty(struct iommufd_ctx *ctx, struct t1_group *g,
			   uint64_t iova, uint64_t size, uint64_t page_size,
			   uint64_t *bits, size_t words, uint64_t *bytes)
{
	_Alignas(8) uint8_t cmd[sizeof(struct vfio_iommu_type1_dma_unmap) +
				sizeof(struct vfio_bitmap)];
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(cmd),
		.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
		.iova = iova,
		.size = size,
	};
	struct vfio_bitmap b = {
		.pgsize = page_size,
		.size = words * sizeof(*bits),
		.data = (__u64 *)bits,
	};
	int rc;

	memset(bits, 0, words * sizeof(*bits));
	memcpy(cmd, &u, sizeof(u));
	memcpy(cmd + sizeof(u), &b, sizeof(b));
	rc = kernel_ioctl(&ctx->kernel, g->container, VFIO_IOMMU_UNMAP_DMA,
			  cmd);
	if (rc < 0) {
		if (rc == -EINVAL)
			ctx_err(ctx, "IOMMU group %d: VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP [0x%llx, +0x%llx): %s: the container is not tracking dirty pages (VFIO_IOMMU_DIRTY_PAGES START), or 0x%llx is not its smallest page size, or the range is misaligned",
				g->id, (unsigned long long)iova,
				(unsigned long long)size, strerror(EINVAL),
				(unsigned long long)page_size);
		else
			group_log_error(ctx, g->id,
					"VFIO_IOMMU_UNMAP_DMA GET_DIRTY_BITMAP",
					rc);
		return rc;
	}
	memcpy(&u, cmd, sizeof(u));
	if (bytes)
		*bytes = u.size;
	return 0;
}

/*
 * Every container, one atomic unmap-and-report each, into a scratch buffer
 * per container ORed into an accumulator, and that into @data only once all
 * of them succeeded. A failure puts the mappings back into the containers
 * that already lost them (as t1_ioas_unmap does); the pages those reported
 * are dropped, and the restored mappings are new to their containers.
 */
static int t1_ioas_unmap_dirty(struct iommufd_ioas *ioas, uint64_t iova,
			       uint64_t length, uint64_t page_size,
			       uint64_t *data, size_t words,
			       uint64_t *unmapped)
{
	struct t1_ioas *t = T1I(ioas);
	uint64_t first = iova, last = iova + (length - 1), bytes = 0;
	uint64_t *tmp, *acc;
	int rc = 0;

	if (!t->nr_groups || !words)
		return -EINVAL;
	tmp = calloc(words, sizeof(*tmp));
	acc = calloc(words, sizeof(*acc));
	if (!tmp || !acc) {
		free(tmp);
		free(acc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nr_groups; i++) {
		uint64_t b = 0;

		rc = unmap_dma_dirty(ioas->ctx, t->groups[i], iova, length,
				     page_size, tmp, words, &b);
		if (rc) {
			struct mt_entry *v;
			size_t nv;

			if (i && !table_snapshot(ioas, first, last, &v, &nv,
						 NULL)) {
				restore(ioas, i, v, nv);
				free(v);
			}
			break;
		}
		for (size_t w = 0; w < words; w++)
			acc[w] |= tmp[w];
		if (!i)
			bytes = b;
	}
	if (!rc) {
		for (size_t w = 0; w < words; w++)
			data[w] |= acc[w];
		files_drop(ioas, first, last);
		if (unmapped)
			*unmapped = bytes;
	}
	free(tmp);
	free(acc);
	return rc;
}

/* ---- live update ---- */

/*
 * The old process invalidates every vaddr of every container (UNMAP_DMA
 * with VADDR: the mappings and their pinned pages stay, so devices behind
 * an IOMMU go on DMAing) and the new one supplies its own (MAP_DMA with
 * VADDR, the iova and size of each original mapping: the kernel matches
 * them exactly). In between the kernel refuses what needs a vaddr: an
 * emulated device's access, a group joining a container (it would pin), a
 * second invalidation (EINVAL). Both sides go mapping by mapping from the
 * table, except that an invalidation is one VFIO_DMA_UNMAP_FLAG_ALL where
 * the container has it (ALL with VADDR is allowed, iova and size 0).
 */

#define T1_LU_MAGIC 0x5431554cu		/* "T1UL" */
#define T1_LU_VERSION 1u
#define T1_LU_GROUP 0u
#define T1_LU_SHARE 1u

static int vaddr_invalidate(struct iommufd_ctx *ctx, struct t1_group *g,
			    uint64_t iova, uint64_t size, bool all)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.flags = VFIO_DMA_UNMAP_FLAG_VADDR |
			 (all ? VFIO_DMA_UNMAP_FLAG_ALL : 0),
		.iova = all ? 0 : iova,
		.size = all ? 0 : size,
	};
	int rc = kernel_ioctl(&ctx->kernel, g->container, VFIO_IOMMU_UNMAP_DMA,
			      &u);

	if (rc >= 0)
		return 0;
	if (rc == -EBUSY)
		ctx_err(ctx, "IOMMU group %d: VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR: %s: an emulated (mdev) device in the container keeps the kernel from invalidating its vaddrs",
			g->id, strerror(EBUSY));
	else if (rc == -EINVAL)
		ctx_err(ctx, "IOMMU group %d: VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR%s [0x%llx, +0x%llx): %s: a vaddr in the container is invalid already (an update under way?), or the kernel lacks VFIO_UPDATE_VADDR",
			g->id, all ? "|ALL" : "", (unsigned long long)u.iova,
			(unsigned long long)u.size, strerror(EINVAL));
	else
		group_log_error(ctx, g->id,
				"VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR",
				rc);
	return rc;
}

static int vaddr_update(struct iommufd_ctx *ctx, struct t1_group *g,
			uint64_t iova, uint64_t size, uint64_t vaddr)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_VADDR,	/* no READ/WRITE with it */
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};
	int rc = kernel_ioctl(&ctx->kernel, g->container, VFIO_IOMMU_MAP_DMA,
			      &m);

	if (rc >= 0)
		return 0;
	if (rc == -EINVAL || rc == -ENOENT)
		ctx_err(ctx, "IOMMU group %d: VFIO_IOMMU_MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR [0x%llx, +0x%llx) at 0x%llx: %s: %s",
			g->id, (unsigned long long)iova,
			(unsigned long long)size, (unsigned long long)vaddr,
			strerror(-rc),
			rc == -ENOENT ? "the container has no mapping at that IOVA" :
					"the mapping's vaddr is not invalid, or the range is not exactly one original mapping");
	else
		group_log_error(ctx, g->id,
				"VFIO_IOMMU_MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR",
				rc);
	return rc;
}

/* One IOAS in an update: owned (every entry LIVE, no container comes or
 * goes), its table, and the vaddr each entry is to have. */
struct lu_step {
	struct iommufd_ioas *ioas;
	bool owned;
	struct mt_entry *v;
	size_t n;
	uint64_t *va;
	/* lu_takeover: the new mmaps, by iova */
	struct t1_fentry *files;
	size_t nr_files;
};

static void lu_steps_end(struct iommufd_ctx *ctx, struct lu_step *s,
			 size_t ns)
{
	for (size_t i = 0; i < ns; i++) {
		if (s[i].owned)
			ioas_exclusive_end(s[i].ioas);
		for (size_t k = 0; k < s[i].nr_files; k++)
			fmap_put(ctx, s[i].files[k].map);
		free(s[i].files);
		free(s[i].v);
		free(s[i].va);
	}
	free(s);
}

/* Own every IOAS of @ctx and read its table; with @vaddrs, the vaddr each
 * entry has in this process. */
static int lu_steps_begin(struct iommufd_ctx *ctx, bool vaddrs,
			  struct lu_step **out, size_t *nr)
{
	struct lu_step *s;
	struct list_node *n;
	size_t ns = 0, i = 0;
	int rc = 0;

	for (n = ctx->ioas_list.next; n != &ctx->ioas_list; n = n->next)
		ns++;
	s = calloc(ns ? ns : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (n = ctx->ioas_list.next; n != &ctx->ioas_list && !rc;
	     n = n->next, i++) {
		struct lu_step *st = &s[i];

		st->ioas = container_of(n, struct iommufd_ioas, ctx_node);
		rc = ioas_exclusive_begin(st->ioas);
		if (rc)
			break;
		st->owned = true;
		rc = table_snapshot(st->ioas, 0, UINT64_MAX, &st->v, &st->n,
				    NULL);
		if (!rc) {
			st->va = calloc(st->n ? st->n : 1, sizeof(*st->va));
			if (!st->va)
				rc = -ENOMEM;
		}
		for (size_t k = 0; !rc && vaddrs && k < st->n; k++)
			rc = entry_vaddr(st->ioas, &st->v[k], &st->va[k], NULL);
	}
	if (rc) {
		lu_steps_end(ctx, s, ns);
		return rc;
	}
	*out = s;
	*nr = ns;
	return 0;
}

/* @st's entries [0, n) in @g: invalidated, or given st->va. *done: how
 * many went (all or none for an UNMAP_ALL). */
static int container_apply(struct iommufd_ctx *ctx, struct lu_step *st,
			   struct t1_group *g, bool invalidate, size_t n,
			   size_t *done)
{
	int rc = 0;
	size_t k;

	*done = 0;
	if (invalidate && g->unmap_all && n == st->n) {
		rc = vaddr_invalidate(ctx, g, 0, 0, true);
		if (!rc)
			*done = n;
		return rc;
	}
	for (k = 0; k < n && !rc; k++)
		rc = invalidate ?
			     vaddr_invalidate(ctx, g, st->v[k].iova,
					      st->v[k].length, false) :
			     vaddr_update(ctx, g, st->v[k].iova,
					  st->v[k].length, st->va[k]);
	*done = rc ? k - 1 : k;
	return rc;
}

/* Undo container_apply() of @done entries; what cannot be undone is
 * logged (the kernel and this process disagree from then on). */
static void container_unapply(struct iommufd_ctx *ctx, struct lu_step *st,
			      struct t1_group *g, bool invalidate,
			      size_t done)
{
	size_t left = done;

	for (size_t k = 0; k < done; k++) {
		int rc = invalidate ?
				 vaddr_update(ctx, g, st->v[k].iova,
					      st->v[k].length, st->va[k]) :
				 vaddr_invalidate(ctx, g, st->v[k].iova,
						  st->v[k].length, false);

		if (!rc)
			left--;
	}
	if (left)
		ctx_err(ctx, "IOAS %u: the container of IOMMU group %d could not be put back: %zu mapping(s) keep %s vaddrs",
			st->ioas->id, g->id, left,
			invalidate ? "invalid" : "this process's");
}

/* Every container of every step, all or nothing. */
static int lu_apply(struct iommufd_ctx *ctx, struct lu_step *s, size_t ns,
		    bool invalidate)
{
	size_t i, k = 0, done = 0;
	int rc = 0;

	for (i = 0; i < ns; i++) {
		struct t1_ioas *t = T1I(s[i].ioas);

		for (k = 0; k < t->nr_groups; k++) {
			rc = container_apply(ctx, &s[i], t->groups[k],
					     invalidate, s[i].n, &done);
			if (rc)
				goto undo;
		}
	}
	return 0;
undo:
	container_unapply(ctx, &s[i], T1I(s[i].ioas)->groups[k], invalidate,
			  done);
	for (;;) {
		while (k--)
			container_unapply(ctx, &s[i],
					  T1I(s[i].ioas)->groups[k],
					  invalidate, s[i].n);
		if (!i--)
			break;
		k = T1I(s[i].ioas)->nr_groups;
	}
	return rc;
}

static void t1_lu_check(struct iommufd_ctx *ctx, struct lu_check *chk)
{
	struct t1_ctx *t1 = T1(ctx);

	if (ctx->backend_kind == IOMMUFD_BACKEND_VFIO_COMPAT) {
		lu_check_feature(chk, IOMMUFD_FEATURE_UPDATE_VADDR,
				 "/dev/vfio/vfio is iommufd's VFIO compatibility container, which has no VFIO_UPDATE_VADDR: use the iommufd backend (IOMMUFD_BACKEND_IOMMUFD) for a live update");
		return;
	}
	pthread_mutex_lock(&t1->lock);
	for (struct list_node *n = t1->groups.next; n != &t1->groups;
	     n = n->next) {
		struct t1_group *g = container_of(n, struct t1_group, node);
		struct t1_group *c = g->share ? g->share : g;
		bool seen = false;

		/* A share once, at its first member. */
		for (struct list_node *p = t1->groups.next; p != n && g->share;
		     p = p->next)
			seen |= container_of(p, struct t1_group, node)->share ==
				g->share;
		if (seen || c->container < 0)
			continue;
		/* Asked now: 6.1 answers only with the IOMMU set, and says 0
		 * with an emulated device in the container. */
		if (check_extension(ctx, c->container, VFIO_UPDATE_VADDR) <= 0)
			lu_check_feature(chk, IOMMUFD_FEATURE_UPDATE_VADDR,
					 "IOMMU group %d: its container has no VFIO_UPDATE_VADDR (an emulated (mdev) device is in it, or the kernel is older than 5.12): its mappings cannot change process",
					 g->id);
		if (!c->unmap_all)
			lu_check_feature(chk, IOMMUFD_FEATURE_UNMAP_ALL,
					 "IOMMU group %d: its container has no VFIO_UNMAP_ALL (a kernel older than 5.12), which comes with VFIO_UPDATE_VADDR",
					 g->id);
		if (c->dirty)
			lu_check_state(chk, "IOMMU group %d: dirty page tracking (VFIO_IOMMU_DIRTY_PAGES) is started in its container, which an update cannot carry: stop it first",
				       g->id);
	}
	pthread_mutex_unlock(&t1->lock);
}

static int t1_lu_quiesce(struct iommufd_ctx *ctx)
{
	struct t1_ctx *t1 = T1(ctx);
	struct lu_step *s;
	size_t ns;
	int rc;

	if (t1->quiesced)
		return -EBUSY;
	rc = lu_steps_begin(ctx, true, &s, &ns);
	if (rc)
		return rc;
	rc = lu_apply(ctx, s, ns, true);
	if (!rc)
		t1->quiesced = true;
	lu_steps_end(ctx, s, ns);
	return rc;
}

static int t1_lu_unquiesce(struct iommufd_ctx *ctx)
{
	struct t1_ctx *t1 = T1(ctx);
	struct lu_step *s;
	size_t ns;
	int rc;

	if (!t1->quiesced)
		return 0;
	rc = lu_steps_begin(ctx, true, &s, &ns);
	if (rc)
		return rc;
	rc = lu_apply(ctx, s, ns, false);
	if (!rc)
		t1->quiesced = false;
	else
		ctx_err(ctx, "the old vaddrs could not be given back to the containers: the update stays prepared");
	lu_steps_end(ctx, s, ns);
	return rc;
}

/* Every file range mmap()ed here (one mmap per file, fmap_get()), into
 * st->files and st->va. */
static int lu_step_mmap(struct iommufd_ctx *ctx, struct lu_step *st)
{
	struct stat fst;
	int fst_fd = -1;

	st->files = calloc(st->n ? st->n : 1, sizeof(*st->files));
	if (!st->files)
		return -ENOMEM;
	for (size_t k = 0; k < st->n; k++) {
		const struct mt_entry *e = &st->v[k];
		struct t1_fmap *m;
		uint64_t va;
		int rc;

		if (e->fd < 0) {
			ctx_err(ctx, "IOAS %u: the mapping [0x%llx, +0x%llx) is of the old process's memory, not of a file: it cannot be taken over",
				st->ioas->id, (unsigned long long)e->iova,
				(unsigned long long)e->length);
			return -EINVAL;
		}
		/* Mappings come file by file: one fstat per run. */
		if (e->fd != fst_fd) {
			rc = kernel_fstat(&ctx->kernel, e->fd, &fst);
			if (rc)
				return rc;
			fst_fd = e->fd;
		}
		if (e->backing > (uint64_t)INT64_MAX || e->length > SIZE_MAX)
			return -EINVAL;
		rc = fmap_get(ctx, e->fd, &fst, e->backing, e->length,
			      e->prot & IOMMUFD_MAP_WRITE, &m, &va);
		if (rc) {
			ctx_err(ctx, "live update: cannot mmap [0x%llx, +0x%llx) of the file (fd %d) of the mapping at IOVA 0x%llx: %s",
				(unsigned long long)e->backing,
				(unsigned long long)e->length, e->fd,
				(unsigned long long)e->iova, strerror(-rc));
			return rc;
		}
		st->files[st->nr_files++] = (struct t1_fentry){
			e->iova, e->length, m, va };
		st->va[k] = va;
	}
	return 0;
}

static int t1_lu_takeover(struct iommufd_ctx *ctx)
{
	struct t1_ctx *t1 = T1(ctx);
	struct lu_step *s;
	size_t ns;
	int rc;

	if (!t1->quiesced) {
		ctx_err(ctx, "live update: the containers' vaddrs are not invalidated: nothing to take over");
		return -EINVAL;
	}
	rc = lu_steps_begin(ctx, false, &s, &ns);
	if (rc)
		return rc;
	for (size_t i = 0; i < ns && !rc; i++)
		rc = lu_step_mmap(ctx, &s[i]);
	if (!rc)
		rc = lu_apply(ctx, s, ns, false);
	if (!rc) {
		/* The new mmaps become the IOAS's; the old ones (this
		 * process's own, when it took over from itself) go. */
		for (size_t i = 0; i < ns; i++) {
			struct t1_ioas *t = T1I(s[i].ioas);
			struct t1_fentry *old;
			size_t nold;

			pthread_mutex_lock(&t->flock);
			old = t->files;
			nold = t->nr_files;
			t->files = s[i].files;
			t->nr_files = t->cap_files = s[i].nr_files;
			pthread_mutex_unlock(&t->flock);
			s[i].files = old;
			s[i].nr_files = nold;
		}
		t1->quiesced = false;
	}
	lu_steps_end(ctx, s, ns);
	return rc;
}

/* ---- the backend's section of the description ---- */

static void put_caps(struct lu_buf *b, const struct t1_group *g)
{
	lu_put_u32(b, (uint32_t)g->iommu_type);
	lu_put_u32(b, g->unmap_all);
	lu_put_u64(b, g->pgsizes);
	lu_put_u32(b, (uint32_t)g->nr_ranges);
	for (size_t i = 0; i < g->nr_ranges; i++) {
		lu_put_u64(b, g->ranges[i].start);
		lu_put_u64(b, g->ranges[i].last);
	}
}

static uint32_t ioas_index(const struct lu_desc *d,
			   const struct iommufd_ioas *ioas)
{
	for (uint32_t i = 0; ioas && i < d->nr_ioas; i++)
		if (d->ioas[i].id == ioas->id)
			return i;
	return LU_NONE;
}

static uint32_t ptr_index(struct t1_group *const *v, size_t n,
			  const struct t1_group *g)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == g)
			return (uint32_t)i;
	return LU_NONE;
}

static int add_fd(struct lu_desc *d, int fd, uint32_t *idx)
{
	int rc = lu_desc_add_fd(d, LU_FD_BACKEND, fd);

	if (rc < 0)
		return rc;
	*idx = (uint32_t)rc;
	return 0;
}

/*
 * The section: magic, version, next IOAS number; the shares {id,
 * container fd, IOAS, caps}; the groups {id, group fd, own container fd
 * or LU_NONE, share or LU_NONE, bound IOAS or LU_NONE, devices attached,
 * caps}; per IOAS of @d, its bound containers in order {kind, index}; per
 * device of @d, its group. Caps: {IOMMU type, UNMAP_ALL, page sizes,
 * IOVA ranges}. The update is prepared: no object comes or goes.
 */
static int t1_lu_save(struct iommufd_ctx *ctx, struct lu_desc *d)
{
	struct t1_ctx *t1 = T1(ctx);
	struct t1_group **gv = NULL, **sv = NULL;
	struct lu_buf b = { 0 };
	size_t ng = 0, ns = 0;
	struct list_node *n;
	uint32_t idx = LU_NONE;
	int rc = 0;

	pthread_mutex_lock(&t1->lock);
	for (n = t1->groups.next; n != &t1->groups; n = n->next)
		ng++;
	gv = calloc(ng ? ng : 1, sizeof(*gv));
	sv = calloc(ng ? ng : 1, sizeof(*sv));
	if (!gv || !sv) {
		rc = -ENOMEM;
		goto out;
	}
	ng = 0;
	for (n = t1->groups.next; n != &t1->groups; n = n->next) {
		struct t1_group *g = container_of(n, struct t1_group, node);

		gv[ng++] = g;
		if (g->share && ptr_index(sv, ns, g->share) == LU_NONE)
			sv[ns++] = g->share;
	}
	lu_put_u32(&b, T1_LU_MAGIC);
	lu_put_u32(&b, T1_LU_VERSION);
	lu_put_u32(&b, __atomic_load_n(&t1->next_ioas_id, __ATOMIC_RELAXED));
	lu_put_u32(&b, (uint32_t)ns);
	for (size_t i = 0; i < ns && !rc; i++) {
		rc = add_fd(d, sv[i]->container, &idx);
		lu_put_u32(&b, (uint32_t)sv[i]->id);
		lu_put_u32(&b, idx);
		lu_put_u32(&b, ioas_index(d, sv[i]->ioas));
		put_caps(&b, sv[i]);
	}
	lu_put_u32(&b, (uint32_t)ng);
	for (size_t i = 0; i < ng && !rc; i++) {
		struct t1_group *g = gv[i];
		uint32_t cidx = LU_NONE;

		rc = add_fd(d, g->fd, &idx);
		if (!rc && g->container >= 0)
			rc = add_fd(d, g->container, &cidx);
		lu_put_u32(&b, (uint32_t)g->id);
		lu_put_u32(&b, idx);
		lu_put_u32(&b, cidx);
		lu_put_u32(&b, g->share ? ptr_index(sv, ns, g->share) : LU_NONE);
		lu_put_u32(&b, ioas_index(d, g->ioas));
		lu_put_u32(&b, g->attached);
		put_caps(&b, g);
	}
	lu_put_u32(&b, d->nr_ioas);
	for (uint32_t i = 0; i < d->nr_ioas && !rc; i++) {
		struct t1_ioas *t = NULL;

		for (n = ctx->ioas_list.next; n != &ctx->ioas_list; n = n->next) {
			struct iommufd_ioas *io = container_of(n, struct iommufd_ioas,
							       ctx_node);

			if (io->id == d->ioas[i].id)
				t = T1I(io);
		}
		if (!t) {
			rc = -EINVAL;
			break;
		}
		lu_put_u32(&b, (uint32_t)t->nr_groups);
		for (size_t k = 0; k < t->nr_groups; k++) {
			struct t1_group *g = t->groups[k];
			bool share = g->fd < 0;

			lu_put_u32(&b, share ? T1_LU_SHARE : T1_LU_GROUP);
			lu_put_u32(&b, share ? ptr_index(sv, ns, g) :
					       ptr_index(gv, ng, g));
		}
	}
	lu_put_u32(&b, d->nr_devices);
	for (uint32_t i = 0; i < d->nr_devices && !rc; i++) {
		const struct iommufd_device *dev = NULL;

		if (d->devices[i].fd < d->nr_fds)
			for (n = ctx->device_list.next; n != &ctx->device_list;
			     n = n->next) {
				const struct iommufd_device *x =
					container_of(n, struct iommufd_device,
						     ctx_node);

				if (x->fd == d->fds[d->devices[i].fd].num)
					dev = x;
			}
		if (!dev) {
			rc = -EINVAL;
			break;
		}
		lu_put_u32(&b, ptr_index(gv, ng, dev->priv));
	}
	if (!rc && b.err)
		rc = b.err;
	if (!rc && b.len > LU_MAX_BACKEND_DATA)
		rc = -E2BIG;
	if (rc) {
		ctx_err(ctx, "live update: the type1 backend's state cannot be saved: %s",
			strerror(-rc));
		free(b.data);
		goto out;
	}
	free(d->backend_data);
	d->backend_data = b.data;
	d->backend_len = (uint32_t)b.len;
out:
	pthread_mutex_unlock(&t1->lock);
	free(gv);
	free(sv);
	return rc;
}

/* What lu_restore builds before anything is linked in. */
struct lu_rgroup {
	struct t1_group *g;
	uint32_t share, ioas, attached;
	uint32_t devices, attached_seen;
	bool listed;
};

struct lu_rshare {
	struct t1_group *s;
	uint32_t ioas;
	uint32_t members;
	bool listed;
};

/* @d's fd @idx of role LU_FD_BACKEND, claimed once (no two objects may
 * close the same fd). */
static int claim_fd(const struct lu_desc *d, uint8_t *used, uint32_t idx)
{
	int fd = lu_desc_fd(d, idx, LU_FD_BACKEND);

	if (fd < 0)
		return fd;
	if (used[idx])
		return -EBADMSG;
	used[idx] = 1;
	return fd;
}

static int get_caps(struct lu_cursor *c, struct t1_group *g, bool need)
{
	uint32_t type = lu_get_u32(c), unmap_all = lu_get_u32(c);
	uint64_t pgsizes = lu_get_u64(c);
	uint32_t nr = lu_get_count(c, LU_MAX_MAPS, 16);

	if (c->err)
		return c->err;
	if (unmap_all > 1 ||
	    (need && ((type != VFIO_TYPE1v2_IOMMU && type != VFIO_TYPE1_IOMMU) ||
		      !pgsizes)))
		return -EBADMSG;
	g->iommu_type = type;
	g->unmap_all = unmap_all;
	g->pgsizes = pgsizes;
	if (!nr)
		return 0;
	g->ranges = calloc(nr, sizeof(*g->ranges));
	if (!g->ranges)
		return -ENOMEM;
	g->nr_ranges = nr;
	for (uint32_t i = 0; i < nr; i++) {
		g->ranges[i].start = lu_get_u64(c);
		g->ranges[i].last = lu_get_u64(c);
		if (c->err)
			return c->err;
		/* sorted and disjoint, as the kernel's were */
		if (g->ranges[i].start > g->ranges[i].last ||
		    (i && g->ranges[i].start <= g->ranges[i - 1].last))
			return -EBADMSG;
	}
	return 0;
}

static struct t1_group *rgroup_new(void)
{
	struct t1_group *g = calloc(1, sizeof(*g));

	if (g) {
		g->fd = -1;
		g->container = -1;
		g->borrowed = true;
		list_init(&g->node);
	}
	return g;
}

static struct iommufd_ioas *find_ioas(struct iommufd_ctx *ctx, uint32_t id)
{
	for (struct list_node *n = ctx->ioas_list.next; n != &ctx->ioas_list;
	     n = n->next) {
		struct iommufd_ioas *io = container_of(n, struct iommufd_ioas,
						       ctx_node);

		if (io->id == id)
			return io;
	}
	return NULL;
}

static struct iommufd_device *find_device(struct iommufd_ctx *ctx, int fd)
{
	for (struct list_node *n = ctx->device_list.next;
	     n != &ctx->device_list; n = n->next) {
		struct iommufd_device *dev = container_of(n, struct iommufd_device,
							  ctx_node);

		if (dev->fd == fd)
			return dev;
	}
	return NULL;
}

/* The decoded section, then its cross-references checked against @d:
 * everything but the linking that cannot fail. */
struct lu_rstate {
	struct lu_rgroup *g;
	uint32_t ng;
	struct lu_rshare *s;
	uint32_t ns;
	uint32_t next_id;
	/* per IOAS of d: its containers, in order */
	struct t1_group ***bound;
	uint32_t *nr_bound;
	struct iommufd_ioas **ioas;
	struct t1_ioas **tv;
	struct iommufd_device **devs;
	uint32_t *dev_group;
	uint8_t *used;
};

static void rstate_free(struct iommufd_ctx *ctx, struct lu_rstate *r,
			uint32_t nr_ioas)
{
	for (uint32_t i = 0; r->g && i < r->ng; i++)
		if (r->g[i].g) {
			free(r->g[i].g->ranges);
			free(r->g[i].g);
		}
	for (uint32_t i = 0; r->s && i < r->ns; i++)
		if (r->s[i].s) {
			free(r->s[i].s->ranges);
			free(r->s[i].s);
		}
	for (uint32_t i = 0; i < nr_ioas; i++) {
		if (r->bound)
			free(r->bound[i]);
		if (r->tv && r->tv[i])
			t1_ioas_free(ctx, r->tv[i]);
	}
	free(r->g);
	free(r->s);
	free(r->bound);
	free(r->nr_bound);
	free(r->ioas);
	free(r->tv);
	free(r->devs);
	free(r->dev_group);
	free(r->used);
}

static int rstate_decode(const struct lu_desc *d, struct lu_rstate *r)
{
	struct lu_cursor c = { d->backend_data, d->backend_len, 0 };
	uint32_t magic, version, nio, nd;
	int rc, fd;

	magic = lu_get_u32(&c);
	version = lu_get_u32(&c);
	if (c.err || magic != T1_LU_MAGIC)
		return -EBADMSG;
	if (version != T1_LU_VERSION)
		return -EPROTO;
	r->next_id = lu_get_u32(&c);
	r->ns = lu_get_count(&c, LU_MAX_OBJECTS, 32);
	if (c.err)
		return c.err;
	r->s = calloc(r->ns ? r->ns : 1, sizeof(*r->s));
	if (!r->s)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->ns; i++) {
		struct lu_rshare *s = &r->s[i];
		uint32_t id, cidx;

		s->s = rgroup_new();
		if (!s->s)
			return -ENOMEM;
		id = lu_get_u32(&c);
		cidx = lu_get_u32(&c);
		s->ioas = lu_get_u32(&c);
		rc = get_caps(&c, s->s, true);
		if (rc)
			return rc;
		if (id > INT_MAX || s->ioas >= d->nr_ioas)
			return -EBADMSG;
		fd = claim_fd(d, r->used, cidx);
		if (fd < 0)
			return fd;
		for (uint32_t k = 0; k < i; k++)
			if (r->s[k].ioas == s->ioas)
				return -EBADMSG;	/* one share per IOAS */
		s->s->id = (int)id;
		s->s->container = fd;
	}
	r->ng = lu_get_count(&c, LU_MAX_OBJECTS, 44);
	if (c.err)
		return c.err;
	r->g = calloc(r->ng ? r->ng : 1, sizeof(*r->g));
	if (!r->g)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->ng; i++) {
		struct lu_rgroup *g = &r->g[i];
		uint32_t id, gidx, cidx;

		g->g = rgroup_new();
		if (!g->g)
			return -ENOMEM;
		id = lu_get_u32(&c);
		gidx = lu_get_u32(&c);
		cidx = lu_get_u32(&c);
		g->share = lu_get_u32(&c);
		g->ioas = lu_get_u32(&c);
		g->attached = lu_get_u32(&c);
		rc = get_caps(&c, g->g, cidx != LU_NONE);
		if (rc)
			return rc;
		/* A container of its own (maybe bound), or a share's. */
		if (id > INT_MAX ||
		    (cidx == LU_NONE) == (g->share == LU_NONE) ||
		    (g->share != LU_NONE &&
		     (g->share >= r->ns || g->ioas != LU_NONE)) ||
		    (g->ioas != LU_NONE && g->ioas >= d->nr_ioas))
			return -EBADMSG;
		for (uint32_t k = 0; k < i; k++)
			if (r->g[k].g->id == (int)id)
				return -EBADMSG;
		g->g->id = (int)id;
		fd = claim_fd(d, r->used, gidx);
		if (fd < 0)
			return fd;
		g->g->fd = fd;
		if (cidx != LU_NONE) {
			fd = claim_fd(d, r->used, cidx);
			if (fd < 0)
				return fd;
			g->g->container = fd;
		} else {
			r->s[g->share].members++;
		}
	}
	nio = lu_get_count(&c, LU_MAX_OBJECTS, 4);
	if (c.err)
		return c.err;
	if (nio != d->nr_ioas)
		return -EBADMSG;
	for (uint32_t i = 0; i < nio; i++) {
		uint32_t nb = lu_get_count(&c, r->ng + r->ns, 8);

		if (c.err)
			return c.err;
		r->bound[i] = calloc(nb ? nb : 1, sizeof(**r->bound));
		if (!r->bound[i])
			return -ENOMEM;
		r->nr_bound[i] = nb;
		for (uint32_t k = 0; k < nb; k++) {
			uint32_t kind = lu_get_u32(&c), idx = lu_get_u32(&c);
			bool *listed;
			uint32_t bound;

			if (c.err)
				return c.err;
			if (kind == T1_LU_GROUP && idx < r->ng) {
				listed = &r->g[idx].listed;
				bound = r->g[idx].ioas;
				r->bound[i][k] = r->g[idx].g;
			} else if (kind == T1_LU_SHARE && idx < r->ns) {
				listed = &r->s[idx].listed;
				bound = r->s[idx].ioas;
				r->bound[i][k] = r->s[idx].s;
			} else {
				return -EBADMSG;
			}
			if (*listed || bound != i)
				return -EBADMSG;
			*listed = true;
		}
	}
	nd = lu_get_count(&c, LU_MAX_OBJECTS, 4);
	if (c.err)
		return c.err;
	if (nd != d->nr_devices)
		return -EBADMSG;
	for (uint32_t i = 0; i < nd; i++) {
		uint32_t gi = lu_get_u32(&c), dio = d->devices[i].ioas;
		struct lu_rgroup *g;

		if (c.err)
			return c.err;
		if (gi >= r->ng)
			return -EBADMSG;
		g = &r->g[gi];
		r->dev_group[i] = gi;
		g->devices++;
		if (dio == LU_NONE)
			continue;
		g->attached_seen++;
		/* An attached device maps through its group's container. */
		if (dio != (g->share != LU_NONE ? r->s[g->share].ioas : g->ioas))
			return -EBADMSG;
	}
	if (c.left)
		return -EBADMSG;
	for (uint32_t i = 0; i < r->ng; i++)
		if (!r->g[i].devices || r->g[i].attached != r->g[i].attached_seen ||
		    (r->g[i].ioas != LU_NONE && !r->g[i].listed))
			return -EBADMSG;
	for (uint32_t i = 0; i < r->ns; i++)
		if (!r->s[i].members || !r->s[i].listed)
			return -EBADMSG;
	return 0;
}

static int t1_lu_restore(struct iommufd_ctx *ctx, const struct lu_desc *d)
{
	struct t1_ctx *t1 = T1(ctx);
	struct lu_rstate r = { 0 };
	uint32_t nio = d->nr_ioas, max_id = 0;
	bool own_t1 = !t1;
	int rc = -ENOMEM;

	if (own_t1) {
		t1 = t1_ctx_alloc();
		if (!t1)
			return -ENOMEM;
		ctx->backend_priv = t1;
	}
	r.used = calloc(d->nr_fds ? d->nr_fds : 1, 1);
	r.bound = calloc(nio ? nio : 1, sizeof(*r.bound));
	r.nr_bound = calloc(nio ? nio : 1, sizeof(*r.nr_bound));
	r.ioas = calloc(nio ? nio : 1, sizeof(*r.ioas));
	r.tv = calloc(nio ? nio : 1, sizeof(*r.tv));
	r.devs = calloc(d->nr_devices ? d->nr_devices : 1, sizeof(*r.devs));
	r.dev_group = calloc(d->nr_devices ? d->nr_devices : 1,
			     sizeof(*r.dev_group));
	if (!r.used || !r.bound || !r.nr_bound || !r.ioas || !r.tv || !r.devs ||
	    !r.dev_group)
		goto fail;
	rc = rstate_decode(d, &r);
	if (rc) {
		ctx_err(ctx, "live update: the type1 section of the description is %s: %s",
			rc == -EPROTO ? "of a version this library does not know" :
					"invalid",
			strerror(-rc));
		goto fail;
	}
	/* Known before this process chooses an IOVA: all or nothing, as
	 * when an IOAS is made (a list short of a region could put one in
	 * the MSI window). */
	rc = resv_refresh(ctx);
	if (rc)
		goto fail;
	/* The generic part made the objects; find each. */
	rc = -EINVAL;
	for (uint32_t i = 0; i < nio; i++) {
		r.ioas[i] = find_ioas(ctx, d->ioas[i].id);
		if (!r.ioas[i] || r.ioas[i]->priv)
			goto mismatch;
		if (d->ioas[i].id > max_id)
			max_id = d->ioas[i].id;
	}
	for (uint32_t i = 0; i < d->nr_devices; i++) {
		int fd = lu_desc_fd(d, d->devices[i].fd, LU_FD_DEVICE);

		r.devs[i] = fd < 0 ? NULL : find_device(ctx, fd);
		if (!r.devs[i] || r.devs[i]->priv)
			goto mismatch;
	}
	rc = -ENOMEM;
	for (uint32_t i = 0; i < nio; i++) {
		const struct lu_ioas *li = &d->ioas[i];
		struct t1_ioas *t = t1_ioas_new(r.ioas[i]);

		if (!t)
			goto fail;
		r.tv[i] = t;
		if (li->nr_allowed) {
			t->allowed = calloc(li->nr_allowed, sizeof(*t->allowed));
			if (!t->allowed)
				goto fail;
			for (uint32_t k = 0; k < li->nr_allowed; k++) {
				t->allowed[k].start =
					d->allowed[li->first_allowed + k].start;
				t->allowed[k].last =
					d->allowed[li->first_allowed + k].last;
			}
			t->nr_allowed = ranges_normalize(t->allowed,
							 li->nr_allowed);
		}
		t->groups = r.bound[i];
		t->nr_groups = r.nr_bound[i];
		r.bound[i] = NULL;
	}

	/* Nothing fails from here on: link it all. */
	for (uint32_t i = 0; i < r.ns; i++) {
		struct t1_group *s = r.s[i].s;

		s->ioas = r.ioas[r.s[i].ioas];
		s->refs = r.s[i].members;
		r.tv[r.s[i].ioas]->share = s;
	}
	pthread_mutex_lock(&t1->lock);
	for (uint32_t i = 0; i < r.ng; i++) {
		struct lu_rgroup *g = &r.g[i];

		g->g->refs = g->devices;
		g->g->attached = g->attached;
		g->g->ioas = g->ioas == LU_NONE ? NULL : r.ioas[g->ioas];
		g->g->share = g->share == LU_NONE ? NULL : r.s[g->share].s;
		list_add_tail(&t1->groups, &g->g->node);
	}
	pthread_mutex_unlock(&t1->lock);
	for (uint32_t i = 0; i < d->nr_devices; i++)
		r.devs[i]->priv = r.g[r.dev_group[i]].g;
	for (uint32_t i = 0; i < nio; i++) {
		r.ioas[i]->priv = r.tv[i];
		r.tv[i] = NULL;
	}
	for (uint32_t i = 0; i < r.ng; i++)
		r.g[i].g = NULL;
	for (uint32_t i = 0; i < r.ns; i++)
		r.s[i].s = NULL;
	if (r.next_id < max_id)
		r.next_id = max_id;
	__atomic_store_n(&t1->next_ioas_id, r.next_id, __ATOMIC_RELAXED);
	/* The old process invalidated every vaddr; lu_takeover supplies
	 * this one's. */
	t1->quiesced = true;
	rstate_free(ctx, &r, nio);
	return 0;

mismatch:
	ctx_err(ctx, "live update: the type1 section does not match the description's IOAS and devices");
fail:
	rstate_free(ctx, &r, nio);
	if (own_t1) {
		ctx->backend_priv = NULL;
		pthread_mutex_destroy(&t1->lock);
		pthread_mutex_destroy(&t1->resv_lock);
		pthread_mutex_destroy(&t1->fmap_lock);
		free(t1->resv);
		free(t1);
	}
	return rc;
}

const struct iommufd_backend_ops iommufd_backend_type1 = {
	.name = "type1",
	.probe = t1_probe,
	.option = t1_option,
	.ioas_alloc = t1_ioas_alloc,
	.ioas_destroy = t1_ioas_destroy,
	.ioas_map = t1_ioas_map,
	.ioas_map_file = t1_ioas_map_file,
	.ioas_unmap = t1_ioas_unmap,
	.ioas_copy = t1_ioas_copy,
	.ioas_iova_ranges = t1_ioas_iova_ranges,
	.ioas_allow_iovas = t1_ioas_allow_iovas,
	.device_attach = t1_device_attach,
	.device_detach = t1_device_detach,
	.ctx_init = t1_ctx_init,
	.ctx_release = t1_ctx_release,
	.ioas_choose_iova = t1_choose_iova,
	.ioas_limits = t1_ioas_limits,
	.device_open = t1_device_open,
	.device_close = t1_device_close,
	.device_hot_reset_groups = t1_hot_reset_groups,
	.ioas_set_dirty_tracking = t1_ioas_set_dirty_tracking,
	.ioas_get_dirty_bitmap = t1_ioas_get_dirty_bitmap,
	.ioas_dirty_tracking_on = t1_ioas_dirty_tracking_on,
	.ioas_unmap_dirty = t1_ioas_unmap_dirty,
	.lu_check = t1_lu_check,
	.lu_quiesce = t1_lu_quiesce,
	.lu_unquiesce = t1_lu_unquiesce,
	.lu_save = t1_lu_save,
	.lu_restore = t1_lu_restore,
	.lu_takeover = t1_lu_takeover,
};
