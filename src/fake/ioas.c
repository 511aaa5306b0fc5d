/* SPDX-License-Identifier: MIT */
/*
 * IOAS objects and their io_pagetable: areas, pages, allowed and reserved
 * IOVA ranges, and pinned-page accounting. Modelled on the kernel's
 * drivers/iommu/iommufd/{ioas.c,io_pagetable.c,pages.c}; the rules are the
 * kernel's, the code is ours.
 *
 * The fake's IOAS behaves as if one paging domain with PAGE_SIZE pages and a
 * full 64-bit aperture were attached from the start: IOVAs and lengths must
 * be PAGE_SIZE aligned (out_iova_alignment), and MAP pins (and so charges the
 * memlock limit, and fails EFAULT on memory that is not there) at once. A
 * kernel IOAS without any domain has alignment 1 and pins lazily; that mode
 * is not modelled.
 *
 * Areas live in an AVL tree ordered by IOVA. Each node also keeps, for its
 * subtree, the lowest IOVA, the highest last IOVA and the largest hole
 * between two of its areas, so that finding the lowest free IOVA range of a
 * given size (the kernel's iopt_alloc_iova()) is O(log n) in the usual case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/iommufd.h>
#include <linux/magic.h>

#include "fake-internal.h"

#define MAP_FLAGS                                                     \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |       \
	 IOMMU_IOAS_MAP_READABLE)
#define MAP_PROT (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------------ */
/* The area tree                                                       */

static int height(const struct fake_area *n)
{
	return n ? n->height : 0;
}

static void area_update(struct fake_area *n)
{
	struct fake_area *l = n->left, *r = n->right;
	uint64_t gap = 0;
	int hl = height(l), hr = height(r);

	n->height = 1 + (hl > hr ? hl : hr);
	n->sub_min = l ? l->sub_min : n->iova;
	n->sub_max = r ? r->sub_max : n->last;
	if (l)
		gap = max_u64(l->sub_gap, n->iova - l->sub_max - 1);
	if (r)
		gap = max_u64(gap, max_u64(r->sub_gap, r->sub_min - n->last - 1));
	n->sub_gap = gap;
}

static struct fake_area *rotate_right(struct fake_area *y)
{
	struct fake_area *x = y->left;

	y->left = x->right;
	x->right = y;
	area_update(y);
	area_update(x);
	return x;
}

static struct fake_area *rotate_left(struct fake_area *x)
{
	struct fake_area *y = x->right;

	x->right = y->left;
	y->left = x;
	area_update(x);
	area_update(y);
	return y;
}

static struct fake_area *rebalance(struct fake_area *n)
{
	int balance;

	area_update(n);
	balance = height(n->left) - height(n->right);
	if (balance > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (balance < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

static struct fake_area *tree_insert(struct fake_area *root,
				     struct fake_area *n)
{
	if (!root) {
		n->left = n->right = NULL;
		area_update(n);
		return n;
	}
	if (n->iova < root->iova)
		root->left = tree_insert(root->left, n);
	else
		root->right = tree_insert(root->right, n);
	return rebalance(root);
}

static struct fake_area *tree_remove_min(struct fake_area *root,
					 struct fake_area **min)
{
	if (!root->left) {
		*min = root;
		return root->right;
	}
	root->left = tree_remove_min(root->left, min);
	return rebalance(root);
}

static struct fake_area *tree_remove(struct fake_area *root,
				     struct fake_area *n)
{
	struct fake_area *l, *r, *m;

	if (!root)
		return NULL;
	if (n->iova < root->iova) {
		root->left = tree_remove(root->left, n);
	} else if (n->iova > root->iova) {
		root->right = tree_remove(root->right, n);
	} else {
		l = root->left;
		r = root->right;
		if (!r)
			return l;
		r = tree_remove_min(r, &m);
		m->left = l;
		m->right = r;
		return rebalance(m);
	}
	return rebalance(root);
}

/* The area with the highest iova <= x. */
static struct fake_area *area_floor(struct fake_area *n, uint64_t x)
{
	struct fake_area *best = NULL;

	while (n) {
		if (n->iova <= x) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* The area with the lowest iova >= x. */
static struct fake_area *area_ceil(struct fake_area *n, uint64_t x)
{
	struct fake_area *best = NULL;

	while (n) {
		if (n->iova >= x) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/* iopt_area_iter_first(): the lowest area intersecting [start, last]. */
static struct fake_area *area_iter_first(struct fake_iopt *iopt, uint64_t start,
					 uint64_t last)
{
	struct fake_area *a = area_floor(iopt->root, start);

	if (a && a->last >= start)
		return a;
	a = area_ceil(iopt->root, start);
	if (a && a->iova <= last)
		return a;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Finding a free IOVA range                                           */

struct hole_req {
	uint64_t ws, we;		/* the window: allowed, not reserved */
	uint64_t length;
	uint64_t align;
	uint64_t page_offset;
	uint64_t found;
};

/* __alloc_iova_check_range() on the hole [start, last] within the window */
static bool hole_fits(struct hole_req *req, uint64_t start, uint64_t last)
{
	uint64_t aligned;

	start = max_u64(start, req->ws);
	last = min_u64(last, req->we);
	if (start > last)
		return false;
	if (__builtin_add_overflow(start, req->align - 1, &aligned))
		return false;
	aligned &= ~(req->align - 1);
	aligned |= req->page_offset;
	if (aligned >= last || last - aligned < req->length - 1)
		return false;
	req->found = aligned;
	return true;
}

/*
 * The lowest fitting hole among the free addresses [lo, hi] that are not
 * covered by the areas of subtree @n (all of which lie inside [lo, hi]).
 */
static bool hole_search(struct fake_area *n, uint64_t lo, uint64_t hi,
			struct hole_req *req)
{
	uint64_t best;

	if (lo > hi || hi < req->ws || lo > req->we)
		return false;
	if (!n)
		return hole_fits(req, lo, hi);
	/* No hole in here is long enough: prune. */
	best = n->sub_gap;
	if (n->sub_min > lo)
		best = max_u64(best, n->sub_min - lo);
	if (hi > n->sub_max)
		best = max_u64(best, hi - n->sub_max);
	if (best < req->length)
		return false;
	/* Entirely left or right of the window: only one hole matters. */
	if (n->sub_max < req->ws)
		return n->sub_max != UINT64_MAX &&
		       hole_fits(req, n->sub_max + 1, hi);
	if (n->sub_min > req->we)
		return n->sub_min && hole_fits(req, lo, n->sub_min - 1);
	if (n->iova && hole_search(n->left, lo, n->iova - 1, req))
		return true;
	return n->last != UINT64_MAX &&
	       hole_search(n->right, n->last + 1, hi, req);
}

static uint64_t roundup_pow_of_two(uint64_t v)
{
	return v <= 1 ? 1 : UINT64_C(1) << (64 - __builtin_clzll(v - 1));
}

/* Reserved ranges may overlap (several owners): walk their union. */
static bool reserved_intersects(const struct fake_iopt *iopt, uint64_t start,
				uint64_t last)
{
	for (size_t i = 0; i < iopt->nr_reserved; i++) {
		const struct fake_range *r = &iopt->reserved[i].range;

		if (r->start > last)
			break;
		if (r->last >= start)
			return true;
	}
	return false;
}

/* Search the allowed span [as, al] minus the reserved ranges. */
static bool span_search(struct fake_iopt *iopt, uint64_t as, uint64_t al,
			struct hole_req *req)
{
	uint64_t cur = as;

	for (size_t i = 0; i < iopt->nr_reserved; i++) {
		const struct fake_range *r = &iopt->reserved[i].range;

		if (r->last < cur)
			continue;
		if (r->start > al)
			break;
		if (r->start > cur) {
			req->ws = cur;
			req->we = r->start - 1;
			if (hole_search(iopt->root, 0, UINT64_MAX, req))
				return true;
		}
		if (r->last >= al)
			return false;
		cur = r->last + 1;
	}
	req->ws = cur;
	req->we = al;
	return hole_search(iopt->root, 0, UINT64_MAX, req);
}

/*
 * iopt_alloc_iova(): the lowest free IOVA range, never at 0, aligned to
 * the length (up to a huge page) and no more than @addr is.
 */
static int iopt_alloc_iova(struct fake_iopt *iopt, uint64_t page_size,
			   uint64_t *iova, uint64_t addr, uint64_t length)
{
	struct hole_req req = { .length = length };
	uint64_t lo = page_size, hi = UINT64_MAX - page_size;

	if (length == 0 || length >= UINT64_MAX / 2)
		return -EOVERFLOW;
	req.page_offset = addr % page_size;
	req.align = roundup_pow_of_two(length);
	if (addr)
		req.align = min_u64(req.align,
				    UINT64_C(1) << __builtin_ctzll(addr));
	if (req.align >= FAKE_HPAGE_SIZE)
		req.align = FAKE_HPAGE_SIZE;
	if (req.align < iopt->iova_alignment)
		return -EINVAL;

	if (!iopt->nr_allowed) {
		if (span_search(iopt, lo, hi, &req))
			goto found;
		return -ENOSPC;
	}
	for (size_t i = 0; i < iopt->nr_allowed; i++) {
		uint64_t as = max_u64(iopt->allowed[i].start, lo);
		uint64_t al = min_u64(iopt->allowed[i].last, hi);

		if (as > al)
			continue;
		if (span_search(iopt, as, al, &req))
			goto found;
	}
	return -ENOSPC;
found:
	*iova = req.found;
	return 0;
}

/* iopt_check_iova(): a caller-chosen (FIXED_IOVA) range. */
static int iopt_check_iova(struct fake_iopt *iopt, uint64_t iova,
			   uint64_t length)
{
	uint64_t last;

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (__builtin_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (reserved_intersects(iopt, iova, last))
		return -EINVAL;
	if (area_iter_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Pages and pinning                                                   */

static struct fake_fileref *fileref_get(struct iommufd_fake *fake, int fd,
					const struct stat *st, int *err)
{
	struct fake_fileref *ref;

	for (ref = fake->filerefs; ref; ref = ref->next) {
		if (ref->dev == st->st_dev && ref->ino == st->st_ino) {
			ref->refs++;
			return ref;
		}
	}
	ref = calloc(1, sizeof(*ref));
	if (!ref) {
		*err = -ENOMEM;
		return NULL;
	}
	ref->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ref->fd < 0) {
		*err = -errno;
		free(ref);
		return NULL;
	}
	ref->dev = st->st_dev;
	ref->ino = st->st_ino;
	ref->refs = 1;
	ref->next = fake->filerefs;
	fake->filerefs = ref;
	return ref;
}

void fake_fileref_put(struct iommufd_fake *fake, struct fake_fileref *ref)
{
	struct fake_fileref **p;

	if (--ref->refs)
		return;
	for (p = &fake->filerefs; *p; p = &(*p)->next) {
		if (*p == ref) {
			*p = ref->next;
			break;
		}
	}
	close(ref->fd);
	free(ref);
}

static void pages_free(struct iommufd_fake *fake, struct fake_pages *pages)
{
	if (pages->file)
		fake_fileref_put(fake, pages->file);
	if (pages->backing)
		fake_fileref_put(fake, pages->backing);
	free(pages);
}

/* iopt_alloc_pages(): the page span of [start, start + length). */
static struct fake_pages *pages_alloc(uint64_t page_size, uint64_t start,
				      uint64_t length, bool writable, int *err)
{
	struct fake_pages *pages;
	uint64_t offset = start % page_size;

	if (length == 0 || length > SIZE_MAX - page_size) {
		*err = -EINVAL;
		return NULL;
	}
	pages = calloc(1, sizeof(*pages));
	if (!pages) {
		*err = -ENOMEM;
		return NULL;
	}
	pages->npages = (length + offset + page_size - 1) / page_size;
	pages->writable = writable;
	return pages;
}

static uint64_t area_index(const struct fake_area *a, uint64_t page_size)
{
	return a->start_byte / page_size;
}

static uint64_t area_last_index(const struct fake_area *a, uint64_t page_size)
{
	return (a->start_byte + (a->last - a->iova)) / page_size;
}

static int cmp_range(const void *a, const void *b)
{
	const struct fake_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Pages are pinned once, however many areas use them: the union of the
 * areas' page ranges. */
static uint64_t pages_pinned(const struct fake_pages *pages, uint64_t page_size)
{
	struct fake_range stack[16], *r = stack;
	uint64_t n = 0, total = 0, cur_start = 0, cur_last = 0;
	const struct fake_area *a;
	size_t k = 0;

	for (a = pages->areas; a; a = a->pages_next)
		n++;
	if (!n)
		return 0;
	if (n > ARRAY_SIZE(stack)) {
		r = malloc(n * sizeof(*r));
		if (!r)	/* cannot shrink exactly: keep everything pinned */
			return pages->npinned;
	}
	for (a = pages->areas; a; a = a->pages_next, k++) {
		r[k].start = area_index(a, page_size);
		r[k].last = area_last_index(a, page_size);
	}
	qsort(r, k, sizeof(*r), cmp_range);
	for (size_t i = 0; i < k; i++) {
		if (i && r[i].start <= cur_last + 1) {
			cur_last = max_u64(cur_last, r[i].last);
			continue;
		}
		if (i)
			total += cur_last - cur_start + 1;
		cur_start = r[i].start;
		cur_last = r[i].last;
	}
	total += cur_last - cur_start + 1;
	if (r != stack)
		free(r);
	return total;
}

static void pages_update_pinned(struct iommufd_fake *fake,
				struct fake_pages *pages)
{
	uint64_t now = pages_pinned(pages, fake->page_size);

	if (now < pages->npinned)
		fake_uncharge_pinned(fake, pages->npinned - now);
	pages->npinned = now;
}

/* ------------------------------------------------------------------ */
/* Areas                                                               */

static void area_link(struct fake_iopt *iopt, struct fake_area *area)
{
	iopt->root = tree_insert(iopt->root, area);
	iopt->nr_areas++;
	area->pages_next = area->pages->areas;
	area->pages->areas = area;
	area->pages->refs++;
}

static void area_destroy(struct iommufd_fake *fake, struct fake_iopt *iopt,
			 struct fake_area *area)
{
	struct fake_pages *pages = area->pages;
	struct fake_area **p;

	iopt->root = tree_remove(iopt->root, area);
	iopt->nr_areas--;
	for (p = &pages->areas; *p; p = &(*p)->pages_next) {
		if (*p == area) {
			*p = area->pages_next;
			break;
		}
	}
	pages_update_pinned(fake, pages);
	if (--pages->refs == 0)
		pages_free(fake, pages);
	free(area);
}

/* iopt_unmap_iova_range(): whole areas only; an area sticking out of the
 * range stops the walk with ENOENT (areas before it stay unmapped). */
static int iopt_unmap_range(struct iommufd_fake *fake, struct fake_iopt *iopt,
			    uint64_t start, uint64_t last, uint64_t *unmapped)
{
	struct fake_ioas *ioas = fake_container_of(iopt, struct fake_ioas, iopt);
	struct fake_area *area;
	uint64_t bytes = 0;
	int ret = 0;

	while ((area = area_iter_first(iopt, start, last))) {
		if (area->iova < start || area->last > last) {
			ret = -ENOENT;
			break;
		}
		bytes += area->last - area->iova + 1;
		/* The IOPTEs go, and their dirty bits with them. */
		for (struct fake_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
			fake_hwpt_forget_dirty(h, area->iova, area->last);
		area_destroy(fake, iopt, area);
	}
	*unmapped = bytes;
	return ret;
}

/* A piece of pages to map at the next IOVA (the kernel's iopt_pages_list). */
struct map_elm {
	struct fake_pages *pages;
	uint64_t start_byte;
	uint64_t length;
	struct fake_area *area;
};

static uint64_t elm_addr(const struct map_elm *elm)
{
	const struct fake_pages *p = elm->pages;

	return elm->start_byte + (p->type == FAKE_PAGES_USER ? p->uptr : p->start);
}

/*
 * iopt_alloc_area_pages() + iopt_insert_area(): choose or check the IOVA
 * and build the areas, without linking them yet.
 */
static int iopt_prepare_areas(struct iommufd_fake *fake, struct fake_iopt *iopt,
			      struct map_elm *elms, size_t n, uint64_t length,
			      uint64_t *iova, uint32_t prot, bool alloc)
{
	uint64_t cur;
	int ret;

	if ((length & (iopt->iova_alignment - 1)) || !length)
		return -EINVAL;
	if (alloc)
		ret = iopt_alloc_iova(iopt, fake->page_size, iova,
				      elm_addr(&elms[0]), length);
	else
		ret = iopt_check_iova(iopt, *iova, length);
	if (ret)
		return ret;

	cur = *iova;
	for (size_t i = 0; i < n; i++) {
		struct fake_area *area;

		if ((prot & IOMMU_IOAS_MAP_WRITEABLE) && !elms[i].pages->writable)
			return -EPERM;
		if ((elms[i].start_byte % fake->page_size) &
		    (iopt->iova_alignment - 1))
			return -EINVAL;
		area = calloc(1, sizeof(*area));
		if (!area)
			return -ENOMEM;
		elms[i].area = area;
		area->iova = cur;
		if (__builtin_add_overflow(cur, elms[i].length - 1, &area->last))
			return -EOVERFLOW;
		area->pages = elms[i].pages;
		area->start_byte = elms[i].start_byte;
		area->prot = prot;
		cur = area->last + 1;
	}
	return 0;
}

static void elms_free_areas(struct map_elm *elms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(elms[i].area);
		elms[i].area = NULL;
	}
}

static void elms_link(struct fake_iopt *iopt, struct map_elm *elms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		area_link(iopt, elms[i].area);
		elms[i].area = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* IOAS objects                                                        */

int fake_iopt_reserve(struct fake_iopt *iopt, uint64_t start, uint64_t last,
		      const void *owner, bool dry_run)
{
	size_t i;

	if (area_iter_first(iopt, start, last))
		return -EADDRINUSE;
	for (i = 0; i < iopt->nr_allowed; i++)
		if (iopt->allowed[i].start <= last &&
		    iopt->allowed[i].last >= start)
			return -EADDRINUSE;
	if (iopt->nr_reserved == iopt->cap_reserved) {
		size_t cap = iopt->cap_reserved ? iopt->cap_reserved * 2 : 4;
		struct fake_reserved *tab;

		tab = realloc(iopt->reserved, cap * sizeof(*tab));
		if (!tab)
			return -ENOMEM;
		iopt->reserved = tab;
		iopt->cap_reserved = cap;
	}
	if (dry_run)
		return 0;
	for (i = iopt->nr_reserved; i > 0 &&
	     iopt->reserved[i - 1].range.start > start; i--)
		iopt->reserved[i] = iopt->reserved[i - 1];
	iopt->reserved[i] = (struct fake_reserved){
		.range = { .start = start, .last = last },
		.owner = owner,
	};
	iopt->nr_reserved++;
	return 0;
}

void fake_iopt_unreserve(struct fake_iopt *iopt, const void *owner)
{
	size_t j = 0;

	for (size_t i = 0; i < iopt->nr_reserved; i++)
		if (iopt->reserved[i].owner != owner)
			iopt->reserved[j++] = iopt->reserved[i];
	iopt->nr_reserved = j;
}

/* Copy between @buf and the memory behind @area at @iova. */
static int area_rw(struct fake_area *area, uint64_t iova, void *buf,
		   size_t len, bool write)
{
	struct fake_pages *pages = area->pages;
	uint64_t byte = area->start_byte + (iova - area->iova);
	struct fake_fileref *file = pages->file;
	uint64_t start = pages->start;

	if (pages->type == FAKE_PAGES_USER && !pages->backing) {
		void *uva = (void *)(uintptr_t)(pages->uptr + byte);

		return write ? fake_copy_to_user(uva, buf, len) :
			       fake_copy_from_user(buf, uva, len);
	}
	/* pinned pages whose address space went in a live update */
	if (pages->type == FAKE_PAGES_USER) {
		file = pages->backing;
		start = pages->backing_start;
	}
	if (!file)
		return -EFAULT;
	while (len) {
		off_t off = (off_t)(start + byte);
		ssize_t n = write ? pwrite(file->fd, buf, len, off) :
				    pread(file->fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EFAULT;	/* the file shrank under the mapping */
		buf = (char *)buf + n;
		byte += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int fake_iopt_rw(struct iommufd_fake *fake, struct fake_iopt *iopt,
		 uint64_t iova, void *buf, size_t len, bool write,
		 uint64_t *fault_iova)
{
	uint32_t need = write ? IOMMU_IOAS_MAP_WRITEABLE :
				IOMMU_IOAS_MAP_READABLE;
	struct fake_area *area;
	uint64_t last, cur;
	size_t done = 0;

	(void)fake;
	*fault_iova = iova;
	if (!len)
		return 0;
	if (__builtin_add_overflow(iova, (uint64_t)len - 1, &last))
		return -ENOENT;
	/* Translate every page first: a fault stops the whole transfer. */
	for (cur = iova;;) {
		area = area_floor(iopt->root, cur);
		if (!area || area->last < cur) {
			*fault_iova = cur;
			return -ENOENT;
		}
		if (!(area->prot & need)) {
			*fault_iova = cur;
			return -EPERM;
		}
		if (area->last >= last)
			break;
		cur = area->last + 1;
	}
	for (cur = iova; done < len;) {
		size_t n;
		int ret;

		area = area_floor(iopt->root, cur);
		n = (size_t)min_u64(area->last - cur + 1, len - done);
		ret = area_rw(area, cur, (char *)buf + done, n, write);
		if (ret) {
			*fault_iova = cur;
			return ret;
		}
		done += n;
		cur += n;
	}
	return 0;
}

bool fake_iopt_contig(struct fake_iopt *iopt, uint64_t iova, uint64_t last,
		      uint64_t *contig_last)
{
	struct fake_area *area = area_floor(iopt->root, iova);

	if (!area || area->last < iova)
		return false;
	while (area->last < last) {
		struct fake_area *next = area_ceil(iopt->root, area->last + 1);

		if (!next || next->iova != area->last + 1)
			break;
		area = next;
	}
	*contig_last = area->last < last ? area->last : last;
	return true;
}

int fake_iopt_restore_area(struct fake_iopt *iopt, uint64_t iova,
			   uint64_t last, uint32_t prot, uint64_t start_byte,
			   struct fake_pages *pages)
{
	struct fake_area *area = calloc(1, sizeof(*area));

	if (!area)
		return -ENOMEM;
	area->iova = iova;
	area->last = last;
	area->prot = prot;
	area->start_byte = start_byte;
	area->pages = pages;
	area_link(iopt, area);
	return 0;
}

struct fake_ioas *fake_ioas_alloc(struct fake_ictx *ictx)
{
	struct iommufd_fake *fake = ictx->fake;
	struct fake_ioas *ioas;

	ioas = calloc(1, sizeof(*ioas));
	if (!ioas)
		return NULL;
	ioas->iopt.iova_alignment = fake->page_size;
	if (fake_object_alloc(ictx, &ioas->obj, FAKE_OBJ_IOAS)) {
		free(ioas);
		return NULL;
	}
	for (size_t i = 0; i < fake->nr_reserved; i++) {
		if (fake_iopt_reserve(&ioas->iopt, fake->reserved[i].start,
				      fake->reserved[i].last, NULL, false)) {
			fake_object_abort(ictx, &ioas->obj);
			return NULL;
		}
	}
	return ioas;
}

void fake_ioas_destroy(struct fake_ictx *ictx, struct fake_object *obj)
{
	struct fake_ioas *ioas = fake_container_of(obj, struct fake_ioas, obj);
	uint64_t unmapped;

	iopt_unmap_range(ictx->fake, &ioas->iopt, 0, UINT64_MAX, &unmapped);
	free(ioas->iopt.allowed);
	free(ioas->iopt.reserved);
	free(ioas);
}

struct fake_ioas *fake_get_ioas(struct fake_ictx *ictx, uint32_t id)
{
	struct fake_object *obj = fake_object_get(ictx, id, FAKE_OBJ_IOAS);

	return obj ? fake_container_of(obj, struct fake_ioas, obj) : NULL;
}

int fake_ioas_alloc_ioctl(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct fake_ioas *ioas;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = fake_ioas_alloc(ucmd->ictx);
	if (!ioas)
		return -ENOMEM;
	cmd->out_ioas_id = ioas->obj.id;
	ret = fake_ucmd_respond(ucmd);
	if (ret)
		fake_object_abort(ucmd->ictx, &ioas->obj);
	return ret;
}

static int emit_range(struct iommu_ioas_iova_ranges *cmd,
		      struct iommu_iova_range *uranges, uint32_t max_iovas,
		      uint64_t start, uint64_t last)
{
	struct iommu_iova_range elm = { .start = start, .last = last };

	if (cmd->num_iovas < max_iovas &&
	    fake_copy_to_user(&uranges[cmd->num_iovas], &elm, sizeof(elm)))
		return -EFAULT;
	cmd->num_iovas++;
	return 0;
}

int fake_ioas_iova_ranges(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range *uranges =
		(struct iommu_iova_range *)(uintptr_t)cmd->allowed_iovas;
	uint32_t max_iovas = cmd->num_iovas;
	struct fake_ioas *ioas;
	struct fake_iopt *iopt;
	uint64_t cur = 0;
	bool done = false;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = fake_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	iopt = &ioas->iopt;

	cmd->num_iovas = 0;
	cmd->out_iova_alignment = iopt->iova_alignment;
	/* The holes between reserved ranges. The allow list does not narrow
	 * what is reported. */
	for (size_t i = 0; i < iopt->nr_reserved && !done; i++) {
		const struct fake_range *r = &iopt->reserved[i].range;

		if (r->last < cur)
			continue;
		if (r->start > cur) {
			ret = emit_range(cmd, uranges, max_iovas, cur,
					 r->start - 1);
			if (ret)
				return ret;
		}
		if (r->last == UINT64_MAX)
			done = true;
		else
			cur = r->last + 1;
	}
	if (!done) {
		ret = emit_range(cmd, uranges, max_iovas, cur, UINT64_MAX);
		if (ret)
			return ret;
	}
	ret = fake_ucmd_respond(ucmd);
	if (ret)
		return ret;
	if (cmd->num_iovas > max_iovas)
		return -EMSGSIZE;
	return 0;
}

static bool ranges_overlap(struct fake_range *r, size_t n)
{
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 1; i < n; i++)
		if (r[i].start <= r[i - 1].last)
			return true;
	return false;
}

int fake_ioas_allow_iovas(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	const struct iommu_iova_range *uranges =
		(const struct iommu_iova_range *)(uintptr_t)cmd->allowed_iovas;
	struct fake_range *tab = NULL;
	struct fake_ioas *ioas;
	struct fake_iopt *iopt;
	size_t cap = 0, n = 0;
	int ret = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = fake_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	iopt = &ioas->iopt;

	/*
	 * iommufd_ioas_load_iovas() fails at the first range that cannot be
	 * read, is empty or reversed, or overlaps an earlier one: read in
	 * order, and check the overlaps of the good prefix at the end.
	 */
	for (uint32_t i = 0; i < cmd->num_iovas; i++) {
		struct iommu_iova_range range;

		if (fake_copy_from_user(&range, &uranges[i], sizeof(range))) {
			ret = -EFAULT;
			break;
		}
		if (range.start >= range.last) {
			ret = -EINVAL;
			break;
		}
		if (n == cap) {
			struct fake_range *t;

			cap = cap ? cap * 2 : 8;
			t = realloc(tab, cap * sizeof(*t));
			if (!t) {
				ret = -ENOMEM;
				break;
			}
			tab = t;
		}
		tab[n].start = range.start;
		tab[n].last = range.last;
		n++;
	}
	if (n && ranges_overlap(tab, n))
		ret = -EINVAL;
	if (ret)
		goto out;

	/* iopt_set_allow_iova(): no allowed range may be reserved. */
	for (size_t i = 0; i < n; i++) {
		if (reserved_intersects(iopt, tab[i].start, tab[i].last)) {
			ret = -EADDRINUSE;
			goto out;
		}
	}
	free(iopt->allowed);
	iopt->allowed = tab;
	iopt->nr_allowed = n;
	return 0;
out:
	free(tab);
	return ret;
}

/* A file iommufd can pin: shmem or hugetlbfs (memfd_pin_folios()). */
static bool file_pinnable(struct iommufd_fake *fake, int fd,
			  const struct stat *st)
{
	struct statfs sfs;
	int err;

	if (!S_ISREG(st->st_mode))
		return false;
	if (fake_fd_lookup(fake, fd, &err))
		return false;	/* one of our own files */
	if (fstatfs(fd, &sfs))
		return false;
	return sfs.f_type == TMPFS_MAGIC || sfs.f_type == HUGETLBFS_MAGIC;
}

/*
 * iopt_map_common() for a fresh pages object: place the area, pin the pages
 * (EFAULT/EINVAL), charge them (ENOMEM), and only then make it visible.
 */
static int iopt_map_new_pages(struct iommufd_fake *fake, struct fake_iopt *iopt,
			      struct fake_pages *pages, uint64_t start_byte,
			      uint64_t length, uint64_t *iova, uint32_t flags,
			      bool pinnable, uint64_t file_size)
{
	struct map_elm elm = {
		.pages = pages,
		.start_byte = start_byte,
		.length = length,
	};
	int ret;

	ret = iopt_prepare_areas(fake, iopt, &elm, 1, length, iova,
				 flags & MAP_PROT,
				 !(flags & IOMMU_IOAS_MAP_FIXED_IOVA));
	if (ret)
		goto err;
	if (pages->type == FAKE_PAGES_USER) {
		ret = fake_check_user_range(pages->uptr + start_byte, length,
					    fake->page_size);
	} else if (!pinnable ||
		   pages->start + pages->npages * fake->page_size > file_size) {
		ret = -EINVAL;	/* not shmem, or past the end of the file */
	}
	if (ret)
		goto err;
	ret = fake_charge_pinned(fake, pages->npages);
	if (ret)
		goto err;
	pages->npinned = pages->npages;
	elms_link(iopt, &elm, 1);
	return 0;
err:
	elms_free_areas(&elm, 1);
	pages_free(fake, pages);
	return ret;
}

int fake_ioas_map(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	struct iommufd_fake *fake = ucmd->ictx->fake;
	struct fake_pages *pages;
	struct fake_ioas *ioas;
	uint64_t iova = cmd->iova, end;
	int ret;

	if ((cmd->flags & ~MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & MAP_PROT))
		return -EINVAL;
	ioas = fake_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;

	/* iopt_alloc_user_pages() */
	if (__builtin_add_overflow(cmd->user_va, cmd->length, &end))
		return -EOVERFLOW;
	pages = pages_alloc(fake->page_size, cmd->user_va, cmd->length,
			    cmd->flags & IOMMU_IOAS_MAP_WRITEABLE, &ret);
	if (!pages)
		return ret;
	pages->type = FAKE_PAGES_USER;
	pages->uptr = cmd->user_va & ~(fake->page_size - 1);

	ret = iopt_map_new_pages(fake, &ioas->iopt, pages,
				 cmd->user_va - pages->uptr, cmd->length, &iova,
				 cmd->flags, true, 0);
	if (ret)
		return ret;
	cmd->iova = iova;
	/* Like the kernel, a failed reply leaves the mapping in place. */
	return fake_ucmd_respond(ucmd);
}

int fake_ioas_map_file(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	struct iommufd_fake *fake = ucmd->ictx->fake;
	bool writable = cmd->flags & IOMMU_IOAS_MAP_WRITEABLE;
	struct fake_pages *pages;
	struct fake_ioas *ioas;
	uint64_t iova = cmd->iova, last;
	struct stat st;
	bool pinnable;
	int fl, ret;

	if (cmd->flags & ~MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & MAP_PROT))
		return -EINVAL;
	ioas = fake_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;

	/* fget() */
	fl = cmd->fd < 0 ? -1 : fcntl(cmd->fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH) || fstat(cmd->fd, &st))
		return -EBADF;

	/* iopt_alloc_file_pages() */
	if (cmd->length &&
	    __builtin_add_overflow(cmd->start, cmd->length - 1, &last))
		return -EOVERFLOW;
	if (writable && (fl & O_ACCMODE) == O_RDONLY)
		return -EPERM;
	pages = pages_alloc(fake->page_size, cmd->start, cmd->length, writable,
			    &ret);
	if (!pages)
		return ret;
	pages->type = FAKE_PAGES_FILE;
	pages->start = cmd->start & ~(fake->page_size - 1);
	pinnable = file_pinnable(fake, cmd->fd, &st);
	if (pinnable) {
		/* The area keeps the file, not the caller's fd. */
		pages->file = fileref_get(fake, cmd->fd, &st, &ret);
		if (!pages->file) {
			pages_free(fake, pages);
			return ret;
		}
	}
	ret = iopt_map_new_pages(fake, &ioas->iopt, pages,
				 cmd->start - pages->start, cmd->length, &iova,
				 cmd->flags, pinnable, (uint64_t)st.st_size);
	if (ret)
		return ret;
	cmd->iova = iova;
	return fake_ucmd_respond(ucmd);
}

int fake_ioas_copy(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_fake *fake = ucmd->ictx->fake;
	struct fake_ioas *src, *dst;
	struct map_elm *elms = NULL;
	struct fake_area *area;
	uint64_t last_iova, cur, iova;
	size_t n = 0, cap = 0;
	int ret;

	if (cmd->flags & ~MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= UINT64_MAX || cmd->src_iova >= UINT64_MAX ||
	    cmd->dst_iova >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & MAP_PROT))
		return -EINVAL;
	src = fake_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (!src)
		return -ENOENT;

	/* iopt_get_pages(): contiguous areas must cover the whole range. */
	if (!cmd->length)
		return -EINVAL;
	if (__builtin_add_overflow(cmd->src_iova, cmd->length - 1, &last_iova))
		return -EOVERFLOW;
	cur = cmd->src_iova;
	area = area_floor(src->iopt.root, cur);
	if (area && area->last < cur)
		area = NULL;
	while (area) {
		uint64_t last = min_u64(last_iova, area->last);

		if (n == cap) {
			struct map_elm *t;

			cap = cap ? cap * 2 : 4;
			t = realloc(elms, cap * sizeof(*t));
			if (!t) {
				ret = -ENOMEM;
				goto out;
			}
			elms = t;
		}
		elms[n++] = (struct map_elm){
			.pages = area->pages,
			.start_byte = area->start_byte + (cur - area->iova),
			.length = last - cur + 1,
		};
		if (last == last_iova)
			break;
		cur = area->last + 1;
		area = area_ceil(src->iopt.root, cur);
		if (area && area->iova != cur)
			area = NULL;
	}
	if (!area) {
		ret = -ENOENT;
		goto out;
	}

	dst = fake_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (!dst) {
		ret = -ENOENT;
		goto out;
	}
	/* The pages are pinned already: a copy charges nothing more. */
	iova = cmd->dst_iova;
	ret = iopt_prepare_areas(fake, &dst->iopt, elms, n, cmd->length, &iova,
				 cmd->flags & MAP_PROT,
				 !(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA));
	if (ret) {
		elms_free_areas(elms, n);
		goto out;
	}
	elms_link(&dst->iopt, elms, n);
	cmd->dst_iova = iova;
	ret = fake_ucmd_respond(ucmd);
out:
	free(elms);
	return ret;
}

int fake_ioas_unmap(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_fake *fake = ucmd->ictx->fake;
	struct fake_ioas *ioas;
	uint64_t unmapped = 0, last;
	int ret;

	ioas = fake_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		/* Unmap all: succeeds on an empty IOAS. */
		ret = iopt_unmap_range(fake, &ioas->iopt, 0, UINT64_MAX,
				       &unmapped);
		if (ret)
			return ret;
	} else {
		if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
			return -EOVERFLOW;
		if (!cmd->length)
			return -EINVAL;
		if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last))
			return -EOVERFLOW;
		ret = iopt_unmap_range(fake, &ioas->iopt, cmd->iova, last,
				       &unmapped);
		if (ret)
			return ret;
		if (!unmapped)
			return -ENOENT;
	}
	cmd->length = unmapped;
	return fake_ucmd_respond(ucmd);
}

int fake_ioas_option(struct fake_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct fake_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = fake_get_ioas(ucmd->ictx, cmd->object_id);
	if (!ioas)
		return -ENOENT;
	if (cmd->option_id != IOMMU_OPTION_HUGE_PAGES)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		return 0;
	}
	if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (cmd->val64 > 1)
			return -EINVAL;
		/* The alignment stays PAGE_SIZE either way (see the top). */
		ioas->iopt.disable_large_pages = cmd->val64 == 0;
		return 0;
	}
	return -EOPNOTSUPP;
}

static bool iopt_all_file_backed(const struct fake_area *n)
{
	if (!n)
		return true;
	return n->pages->type == FAKE_PAGES_FILE &&
	       iopt_all_file_backed(n->left) && iopt_all_file_backed(n->right);
}

static int ioas_all_file_backed(struct fake_ioas *ioas, void *arg)
{
	(void)arg;
	return iopt_all_file_backed(ioas->iopt.root) ? 0 : -EINVAL;
}

int fake_ioas_change_process(struct fake_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct fake_ictx *ictx = ucmd->ictx;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	/* Every area of every IOAS of this iommufd must come from a file. */
	for (uint32_t id = 1; id < ictx->nr_slots; id++) {
		struct fake_ioas *ioas = fake_get_ioas(ictx, id);

		if (ioas && ioas_all_file_backed(ioas, NULL))
			return -EINVAL;
	}
	/*
	 * The caller is the process that owns the pins already (the fake
	 * kernel lives in it), so there is nothing to recharge: success, and
	 * the accounting is unchanged.
	 */
	return 0;
}
