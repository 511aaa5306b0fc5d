/* SPDX-License-Identifier: MIT */
/*
 * The VFIO type1 IOMMU of the fake kernel (drivers/vfio/vfio_iommu_type1.c,
 * as a 6.1-era kernel with the VFIO_UPDATE_VADDR fixes has it), and iommufd's
 * VFIO compatibility ioctls (drivers/iommu/iommufd/vfio_compat.c). The rules
 * are the kernel's, the code is ours.
 *
 * A type1 IOMMU holds DMA mappings (struct vfio_dma: iova, size, vaddr,
 * prot) in IOVA order, and the groups of its container: groups with an
 * IOMMU (their unit gives the domain's aperture, reserved regions and page
 * sizes) and emulated groups. While it has an IOMMU-backed group, every
 * mapping is pinned (charged to the memlock limit, EFAULT where no memory
 * is) and devices of those groups DMA into the pinned pages; an emulated
 * device reads and writes through the mapping's vaddr (vfio_dma_rw()).
 *
 * What 6.1 does that callers trip on, all modelled:
 *  - VFIO_CHECK_EXTENSION(VFIO_UPDATE_VADDR) is 0 until VFIO_SET_IOMMU (the
 *    container asks the driver without an IOMMU), and 0 with an emulated
 *    group in the container;
 *  - TYPE1v2 unmap may not bisect a mapping (EINVAL), unmapping nothing is
 *    success with size 0, and the size unmapped is returned; TYPE1 (v1)
 *    unmaps every mapping that starts inside the range, whole, and nothing
 *    from a range that starts inside a mapping;
 *  - dirty tracking reports every page of every pinned mapping dirty (no
 *    device of the container promised to pin what it writes), on every
 *    GET_BITMAP, pages only read included;
 *  - VFIO_DMA_UNMAP_FLAG_VADDR keeps the mapping and the pinned pages: the
 *    device goes on doing DMA into them until VFIO_DMA_MAP_FLAG_VADDR
 *    supplies the new vaddr. The fake reaches pinned pages of a shared
 *    mapping (a memfd, shared memory) through a second mapping it makes at
 *    the invalidation, so they stay reachable when the old vaddr goes; for
 *    private memory it uses the old vaddr until the new one is given.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "fake-internal.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

#define DMA_MAP_PROT (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
/* DIRTY_BITMAP_SIZE_MAX: INT_MAX bits, in bytes rounded to u64s */
#define DIRTY_BITMAP_PAGES_MAX ((uint64_t)INT32_MAX)
#define DIRTY_BITMAP_BYTES(n) ((((uint64_t)(n) + 63) / 64) * 8)
#define DIRTY_BITMAP_SIZE_MAX DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX)
/* The user address space of x86-64 (access_ok()). */
#define USER_VA_END (UINT64_C(1) << 47)
/* The kernel withdrew VFIO_TYPE1_NESTING_IOMMU (6) in 6.13. */
#define KVER_NO_NESTING FAKE_KVER(6, 13)
#define TYPE1_NESTING 6ul

struct t1_dma {
	uint64_t iova;
	uint64_t size;
	uint64_t vaddr;			/* the user's (MAP_DMA, MAP_DMA VADDR) */
	uint64_t pin_vaddr;		/* where the pinned pages were pinned */
	void *alias;			/* a second mapping of them, or NULL */
	struct fake_pinmap *alias_map;	/* that mapping (shared), a reference */
	uint32_t prot;			/* VFIO_DMA_MAP_FLAG_READ|WRITE */
	bool iommu_mapped;		/* pinned and in the domains */
	bool vaddr_invalid;
	uint64_t npinned;		/* pages charged */
	uint64_t *bitmap;		/* dirty tracking: a bit per pgsize page */
};

struct fake_type1 {
	struct iommufd_fake *fake;
	bool v2;
	bool nesting;
	struct t1_dma **dmas;		/* by iova; they never overlap */
	size_t nr_dmas;
	size_t cap_dmas;
	unsigned int dma_avail;
	unsigned int vaddr_invalid_count;
	uint64_t pgsize_bitmap;
	struct fake_vgroup **groups;
	size_t nr_groups;
	unsigned int nr_domain_groups;	/* num_non_pinned_groups */
	bool dirty_tracking;
	struct fake_range *iovas;	/* iova_list: sorted, disjoint */
	size_t nr_iovas;
	bool had_domain;		/* iova_list was ever set up */
};

static uint64_t page_mask(const struct iommufd_fake *fake)
{
	return ~(fake->page_size - 1);
}

static uint64_t min_pgsize(const struct fake_type1 *iommu)
{
	return UINT64_C(1) << __builtin_ctzll(iommu->pgsize_bitmap);
}

/* ------------------------------------------------------------------ */
/* Units: what a domain of them is like                                */

/* The IOMMU unit behind a group (all its devices share one). */
static const struct fake_unit *group_unit(const struct fake_vgroup *vg)
{
	if (vg->emulated)
		return NULL;
	for (const struct fake_device *d = vg->fake->devices; d; d = d->next)
		if (d->group == vg->group && d->unit)
			return d->unit;
	return NULL;
}

/* A domain's pgsize_bitmap: VT-d maps 4 KiB pages and the super pages its
 * SLLPS field offers (2 MiB, 1 GiB); others every power of two from their
 * page size up. */
static uint64_t unit_pgsizes(const struct fake_unit *unit)
{
	uint64_t sizes;

	if (unit->hw_info_type != IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return ~(unit->page_size - 1);
	sizes = unit->page_size;
	if (unit->cap_reg & (UINT64_C(1) << 34))
		sizes |= UINT64_C(1) << 21;
	if (unit->cap_reg & (UINT64_C(1) << 35))
		sizes |= UINT64_C(1) << 30;
	return sizes;
}

/* enforce_cache_coherency: VT-d with snoop control (ECAP.SC). */
static bool unit_coherent(const struct fake_unit *unit)
{
	if (unit->hw_info_type != IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return true;
	return unit->ecap_reg & (UINT64_C(1) << 7);
}

/* vfio_update_pgsize_bitmap(): sub-page sizes become PAGE_SIZE. */
static uint64_t fixup_pgsizes(const struct iommufd_fake *fake, uint64_t sizes)
{
	if (sizes & ~page_mask(fake)) {
		sizes &= page_mask(fake);
		sizes |= fake->page_size;
	}
	return sizes;
}

/* ------------------------------------------------------------------ */
/* The mappings                                                        */

/* The first mapping whose last byte is at or after @iova. */
static size_t first_ending_after(const struct fake_type1 *iommu, uint64_t iova)
{
	size_t lo = 0, hi = iommu->nr_dmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct t1_dma *d = iommu->dmas[mid];

		if (d->iova + d->size - 1 < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * vfio_find_dma(): a mapping overlapping [start, start + size). With size 0
 * (as the kernel calls it for the last byte of a range) only one that
 * starts before @start counts.
 */
static struct t1_dma *find_dma(const struct fake_type1 *iommu, uint64_t start,
			       uint64_t size)
{
	size_t i = first_ending_after(iommu, start);
	struct t1_dma *d;

	if (i == iommu->nr_dmas)
		return NULL;
	d = iommu->dmas[i];
	if (!size)
		return d->iova < start ? d : NULL;
	return d->iova <= start + (size - 1) ? d : NULL;
}

static int dmas_reserve(struct fake_type1 *iommu)
{
	struct t1_dma **tab;
	size_t cap;

	if (iommu->nr_dmas < iommu->cap_dmas)
		return 0;
	cap = iommu->cap_dmas ? iommu->cap_dmas * 2 : 16;
	tab = realloc(iommu->dmas, cap * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	iommu->dmas = tab;
	iommu->cap_dmas = cap;
	return 0;
}

static void dma_link(struct fake_type1 *iommu, struct t1_dma *dma)
{
	size_t i = first_ending_after(iommu, dma->iova);

	memmove(&iommu->dmas[i + 1], &iommu->dmas[i],
		(iommu->nr_dmas - i) * sizeof(*iommu->dmas));
	iommu->dmas[i] = dma;
	iommu->nr_dmas++;
}

static void dma_unlink(struct fake_type1 *iommu, struct t1_dma *dma)
{
	size_t i = first_ending_after(iommu, dma->iova);

	memmove(&iommu->dmas[i], &iommu->dmas[i + 1],
		(iommu->nr_dmas - i - 1) * sizeof(*iommu->dmas));
	iommu->nr_dmas--;
}

/* vfio_pin_map_dma(): pin at the current vaddr and charge the pages. */
static int dma_pin(struct fake_type1 *iommu, struct t1_dma *dma)
{
	struct iommufd_fake *fake = iommu->fake;
	uint64_t npages = dma->size / fake->page_size;
	int ret;

	ret = fake_check_user_range(dma->vaddr, dma->size, fake->page_size);
	if (ret)
		return ret;
	ret = fake_charge_pinned(fake, npages);
	if (ret)
		return ret;
	dma->npinned = npages;
	dma->pin_vaddr = dma->vaddr;
	dma->iommu_mapped = true;
	return 0;
}

static void dma_unpin(struct fake_type1 *iommu, struct t1_dma *dma)
{
	if (dma->alias_map)
		fake_pinmap_put(dma->alias_map);
	dma->alias_map = NULL;
	dma->alias = NULL;
	fake_uncharge_pinned(iommu->fake, dma->npinned);
	dma->npinned = 0;
	dma->iommu_mapped = false;
}

/* vfio_remove_dma() */
static void dma_remove(struct fake_type1 *iommu, struct t1_dma *dma)
{
	dma_unpin(iommu, dma);
	dma_unlink(iommu, dma);
	if (dma->vaddr_invalid)
		iommu->vaddr_invalid_count--;
	free(dma->bitmap);
	free(dma);
	iommu->dma_avail++;
}

static void remove_all(struct fake_type1 *iommu)
{
	while (iommu->nr_dmas)
		dma_remove(iommu, iommu->dmas[iommu->nr_dmas - 1]);
}

/* The process's mappings, read once for a whole VADDR invalidation:
 * [lo, hi) sorted, and whether each is shared. */
struct maps_snapshot {
	struct maps_vma {
		uint64_t lo, hi;
		bool shared;
		struct fake_pinmap *alias;	/* made for an entry in it */
	} *v;
	size_t n;
	bool read;
};

static void maps_read(struct maps_snapshot *m)
{
	char line[512];
	size_t cap = 0;
	FILE *f;

	m->read = true;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3)
			continue;
		if (m->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct maps_vma *t = realloc(m->v, ncap * sizeof(*t));

			if (!t)
				break;	/* the rest get no alias */
			m->v = t;
			cap = ncap;
		}
		m->v[m->n++] = (struct maps_vma){ lo, hi, perms[3] == 's',
						  NULL };
	}
	fclose(f);
}

static void maps_free(struct maps_snapshot *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].alias)
			fake_pinmap_put(m->v[i].alias);
	free(m->v);
}

void fake_pinmap_put(struct fake_pinmap *pm)
{
	if (--pm->refs)
		return;
	munmap(pm->addr, pm->len);
	free(pm);
}

static struct maps_vma *maps_find(const struct maps_snapshot *m,
				  uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].lo)
			hi = mid;
		else if (addr >= m->v[mid].hi)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

/*
 * The pinned pages of a shared mapping stay reachable through a second
 * mapping of them (mremap() of size 0 duplicates a shared mapping), made
 * while the old vaddr is still there: one of the whole VMA, shared by
 * every entry in it. Private memory cannot be duplicated: no alias then.
 */
static void dma_make_alias(struct t1_dma *dma, struct maps_snapshot *m)
{
	uint64_t start = dma->pin_vaddr, last = dma->pin_vaddr + dma->size - 1;
	struct maps_vma *v;

	if (dma->alias || !dma->iommu_mapped)
		return;
	if (!m->read)
		maps_read(m);
	v = maps_find(m, start);
	if (!v || !v->shared || last >= v->hi)
		return;
	if (!v->alias) {
		struct fake_pinmap *pm = calloc(1, sizeof(*pm));
		void *p;

		if (!pm)
			return;
		p = mremap((void *)(uintptr_t)v->lo, 0, v->hi - v->lo,
			   MREMAP_MAYMOVE);
		if (p == MAP_FAILED) {
			free(pm);
			return;
		}
		*pm = (struct fake_pinmap){ p, v->hi - v->lo, 1 };
		v->alias = pm;		/* the snapshot's reference */
	}
	v->alias->refs++;
	dma->alias_map = v->alias;
	dma->alias = (char *)v->alias->addr + (start - v->lo);
}

/* Where the device reaches the pinned pages of @dma. */
static uint64_t dma_pinned_addr(const struct t1_dma *dma)
{
	if (dma->alias)
		return (uint64_t)(uintptr_t)dma->alias;
	return dma->vaddr_invalid ? dma->pin_vaddr : dma->vaddr;
}

/* ------------------------------------------------------------------ */
/* Groups, domains and the IOVA list                                   */

/* Take [start, last] out of the sorted list r[0..*n) (room for cap). */
static bool ranges_exclude(struct fake_range *r, size_t *n, size_t cap,
			   uint64_t start, uint64_t last)
{
	size_t i = 0;

	while (i < *n) {
		struct fake_range cur = r[i];
		bool lo = start > cur.start, hi = last < cur.last;

		if (start > cur.last || last < cur.start) {
			i++;
		} else if (lo && hi) {
			if (*n == cap)
				return false;
			memmove(&r[i + 2], &r[i + 1], (*n - i - 1) * sizeof(*r));
			r[i] = (struct fake_range){ cur.start, start - 1 };
			r[i + 1] = (struct fake_range){ last + 1, cur.last };
			(*n)++;
			i += 2;
		} else if (lo) {
			r[i++].last = start - 1;
		} else if (hi) {
			r[i++].start = last + 1;
		} else {
			memmove(&r[i], &r[i + 1], (*n - i - 1) * sizeof(*r));
			(*n)--;
		}
	}
	return true;
}

static size_t resv_count(const struct iommufd_fake *fake,
			 const struct fake_unit *unit)
{
	return unit->nr_resv + fake->nr_reserved;
}

/* The i-th reserved region of a group behind @unit: the unit's, then the
 * fake-wide ones. false for a region that does not count
 * (direct-relaxable). */
static bool resv_get(const struct iommufd_fake *fake,
		     const struct fake_unit *unit, size_t i,
		     struct fake_range *out)
{
	if (i < unit->nr_resv) {
		if (unit->resv[i].type == IOMMUFD_RESV_DIRECT_RELAXABLE)
			return false;
		out->start = unit->resv[i].start;
		out->last = unit->resv[i].last;
		return true;
	}
	*out = fake->reserved[i - unit->nr_resv];
	return true;
}

/*
 * The IOVA list and page sizes of the domain groups (plus @add, minus
 * @skip): the apertures' intersection minus every reserved region. No
 * domain: empty until a domain came once, then everything (as the kernel
 * leaves it).
 */
static int compute_domains(struct fake_type1 *iommu,
			   const struct fake_vgroup *add,
			   const struct fake_vgroup *skip,
			   struct fake_range **out, size_t *nr_out,
			   uint64_t *pgsizes)
{
	struct iommufd_fake *fake = iommu->fake;
	uint64_t start = 0, last = UINT64_MAX, sizes = UINT64_MAX;
	struct fake_range *r;
	size_t n = 0, cap = 1, domains = 0;
	bool overflow = false;

	for (size_t i = 0; i <= iommu->nr_groups; i++) {
		const struct fake_vgroup *vg = i < iommu->nr_groups ?
						       iommu->groups[i] : add;
		const struct fake_unit *unit;

		if (!vg || vg == skip || !(unit = group_unit(vg)))
			continue;
		domains++;
		if (unit->aperture_start > start)
			start = unit->aperture_start;
		if (unit->aperture_last < last)
			last = unit->aperture_last;
		sizes &= unit_pgsizes(unit);
		cap += resv_count(fake, unit);
	}
	*pgsizes = domains ? fixup_pgsizes(fake, sizes) : page_mask(fake);
	*out = NULL;
	*nr_out = 0;
	if (!domains && !iommu->had_domain)
		return 0;
	r = calloc(cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (start <= last)
		r[n++] = (struct fake_range){ start, last };
	for (size_t i = 0; i <= iommu->nr_groups && n; i++) {
		const struct fake_vgroup *vg = i < iommu->nr_groups ?
						       iommu->groups[i] : add;
		const struct fake_unit *unit;

		if (!vg || vg == skip || !(unit = group_unit(vg)))
			continue;
		for (size_t k = 0; k < resv_count(fake, unit); k++) {
			struct fake_range rr;

			if (resv_get(fake, unit, k, &rr) &&
			    !ranges_exclude(r, &n, cap, rr.start, rr.last))
				overflow = true;
		}
	}
	if (overflow) {
		free(r);
		return -ENOMEM;
	}
	if (domains && !n) {
		free(r);
		return -EINVAL;	/* vfio_iommu_resv_exclude(): nothing left */
	}
	*out = r;
	*nr_out = n;
	return 0;
}

static bool dma_in_range(const struct fake_type1 *iommu, uint64_t start,
			 uint64_t last)
{
	return start <= last && find_dma(iommu, start, last - start + 1);
}

static int groups_reserve(struct fake_type1 *iommu)
{
	struct fake_vgroup **tab;

	tab = realloc(iommu->groups, (iommu->nr_groups + 1) * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	iommu->groups = tab;
	return 0;
}

/* vfio_iommu_type1_attach_group() */
int fake_type1_attach_group(struct fake_type1 *iommu, struct fake_vgroup *vg)
{
	struct iommufd_fake *fake = iommu->fake;
	const struct fake_unit *unit;
	struct fake_range *iovas;
	size_t nr_iovas, first_pinned = 0;
	uint64_t pgsizes;
	int ret;

	/* Attaching could require pinning: not while vaddrs are invalid. */
	if (iommu->vaddr_invalid_count)
		return -EBUSY;
	for (size_t i = 0; i < iommu->nr_groups; i++)
		if (iommu->groups[i] == vg)
			return -EINVAL;
	ret = groups_reserve(iommu);
	if (ret)
		return ret;
	unit = group_unit(vg);
	if (!unit) {	/* an emulated group: no domain */
		iommu->groups[iommu->nr_groups++] = vg;
		return 0;
	}
	/* iommu_enable_nesting(): not VT-d's (6.1), an SMMU's that nests */
	if (iommu->nesting &&
	    (unit->hw_info_type == IOMMU_HW_INFO_TYPE_INTEL_VTD ||
	     !unit->nest_parent))
		return -EINVAL;
	/* vfio_iommu_aper_conflict(): the new aperture may not leave out the
	 * list's mappings */
	if (iommu->nr_iovas) {
		const struct fake_range *first = &iommu->iovas[0];
		const struct fake_range *last = &iommu->iovas[iommu->nr_iovas - 1];

		if (unit->aperture_start > last->last ||
		    unit->aperture_last < first->start)
			return -EINVAL;
		if (unit->aperture_start > first->start &&
		    dma_in_range(iommu, first->start, unit->aperture_start - 1))
			return -EINVAL;
		if (unit->aperture_last < last->last &&
		    dma_in_range(iommu, unit->aperture_last + 1, last->last))
			return -EINVAL;
	}
	/* vfio_iommu_resv_conflict(): no mapping in a reserved region */
	for (size_t k = 0; k < resv_count(fake, unit); k++) {
		struct fake_range rr;

		if (resv_get(fake, unit, k, &rr) &&
		    dma_in_range(iommu, rr.start, rr.last))
			return -EINVAL;
	}
	ret = compute_domains(iommu, vg, NULL, &iovas, &nr_iovas, &pgsizes);
	if (ret)
		return ret;
	/* vfio_iommu_replay(): the first domain pins every mapping (one
	 * outside its aperture cannot be mapped: VT-d's EFAULT) */
	if (!iommu->nr_domain_groups) {
		for (; first_pinned < iommu->nr_dmas; first_pinned++) {
			struct t1_dma *d = iommu->dmas[first_pinned];

			if (d->iova < unit->aperture_start ||
			    d->iova + d->size - 1 > unit->aperture_last)
				ret = -EFAULT;
			else
				ret = dma_pin(iommu, d);
			if (ret)
				break;
		}
		if (ret) {
			while (first_pinned--)
				dma_unpin(iommu, iommu->dmas[first_pinned]);
			free(iovas);
			return ret;
		}
	}
	free(iommu->iovas);
	iommu->iovas = iovas;
	iommu->nr_iovas = nr_iovas;
	iommu->had_domain = true;
	iommu->pgsize_bitmap = pgsizes;
	iommu->groups[iommu->nr_groups++] = vg;
	iommu->nr_domain_groups++;
	return 0;
}

/* vfio_iommu_type1_detach_group() */
void fake_type1_detach_group(struct fake_type1 *iommu, struct fake_vgroup *vg)
{
	bool domain = group_unit(vg) != NULL, emulated_left = false;
	struct fake_range *iovas;
	size_t nr_iovas, i;
	uint64_t pgsizes;

	for (i = 0; i < iommu->nr_groups; i++)
		if (iommu->groups[i] == vg)
			break;
	if (i == iommu->nr_groups)
		return;
	iommu->groups[i] = iommu->groups[--iommu->nr_groups];
	for (i = 0; i < iommu->nr_groups; i++)
		emulated_left |= group_unit(iommu->groups[i]) == NULL;
	if (!domain) {
		if (!emulated_left && !iommu->nr_domain_groups)
			remove_all(iommu);
		return;
	}
	iommu->nr_domain_groups--;
	if (!iommu->nr_domain_groups) {
		/* The last domain: the mappings go, or lose their pins when
		 * emulated groups still use them. */
		if (!emulated_left)
			remove_all(iommu);
		else
			for (i = 0; i < iommu->nr_dmas; i++)
				dma_unpin(iommu, iommu->dmas[i]);
	}
	/* The list widens (a failure keeps the old one, as the kernel's). */
	if (!compute_domains(iommu, NULL, NULL, &iovas, &nr_iovas, &pgsizes)) {
		free(iommu->iovas);
		iommu->iovas = iovas;
		iommu->nr_iovas = nr_iovas;
		iommu->pgsize_bitmap = pgsizes;
	}
	/* A group that could dirty anything left: the scope may have been
	 * promoted, so everything tracked so far counts as dirty. */
	if (iommu->dirty_tracking) {
		for (i = 0; i < iommu->nr_dmas; i++) {
			struct t1_dma *d = iommu->dmas[i];
			uint64_t nbits = d->size / min_pgsize(iommu);

			if (d->bitmap)
				memset(d->bitmap, 0xff, DIRTY_BITMAP_BYTES(nbits));
		}
	}
}

static bool ext_hidden(const struct iommufd_fake *fake, unsigned long ext)
{
	return ext < 64 && (fake->vfio_hidden_exts >> ext & 1);
}

FAKE_EXPORT int iommufd_fake_hide_vfio_extension(struct iommufd_fake *fake,
						 unsigned long ext)
{
	if (!fake || ext == 0 || ext >= 64)
		return -EINVAL;
	pthread_mutex_lock(&fake->lock);
	fake->vfio_hidden_exts |= UINT64_C(1) << ext;
	pthread_mutex_unlock(&fake->lock);
	return 0;
}

int fake_type1_check_extension(struct iommufd_fake *fake,
			       struct fake_type1 *iommu, unsigned long arg)
{
	if (ext_hidden(fake, arg))
		return 0;
	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case TYPE1_NESTING:
		return fake->kver < KVER_NO_NESTING;
	case VFIO_UPDATE_VADDR:
		/* Not with mdevs: they cannot pin or rw while vaddrs change. */
		if (!iommu)
			return 0;
		for (size_t i = 0; i < iommu->nr_groups; i++)
			if (!group_unit(iommu->groups[i]))
				return 0;
		return 1;
	case VFIO_DMA_CC_IOMMU:
		if (!iommu)
			return 0;
		for (size_t i = 0; i < iommu->nr_groups; i++) {
			const struct fake_unit *unit = group_unit(iommu->groups[i]);

			if (unit && !unit_coherent(unit))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

int fake_type1_open(struct iommufd_fake *fake, unsigned long type,
		    struct fake_type1 **out)
{
	struct fake_type1 *iommu;

	if ((type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU &&
	     type != TYPE1_NESTING) || ext_hidden(fake, type))
		return -EINVAL;
	iommu = calloc(1, sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	iommu->fake = fake;
	iommu->v2 = type != VFIO_TYPE1_IOMMU;
	iommu->nesting = type == TYPE1_NESTING;
	iommu->dma_avail = fake->vfio_dma_entry_limit;
	iommu->pgsize_bitmap = page_mask(fake);
	*out = iommu;
	return 0;
}

void fake_type1_release(struct fake_type1 *iommu)
{
	if (!iommu)
		return;
	remove_all(iommu);
	free(iommu->dmas);
	free(iommu->groups);
	free(iommu->iovas);
	free(iommu);
}

/* ------------------------------------------------------------------ */
/* VFIO_IOMMU_GET_INFO                                                 */

struct caps_buf {
	uint8_t *buf;
	size_t size;
	size_t last;		/* offset of the last cap + 1, 0: none */
	int err;
};

/* vfio_info_cap_add(): appended, 8-byte aligned, chained by offsets from
 * the start of the buffer (shifted past the info struct later). */
static void caps_add(struct caps_buf *c, const void *cap, size_t size)
{
	size_t aligned = (size + 7) & ~(size_t)7;
	struct vfio_info_cap_header *h;
	uint8_t *buf;

	if (c->err)
		return;
	buf = realloc(c->buf, c->size + aligned);
	if (!buf) {
		c->err = -ENOMEM;
		return;
	}
	c->buf = buf;
	memset(buf + c->size, 0, aligned);
	memcpy(buf + c->size, cap, size);
	h = (struct vfio_info_cap_header *)(void *)(buf + c->size);
	h->next = 0;
	if (c->last) {
		struct vfio_info_cap_header *prev =
			(struct vfio_info_cap_header *)(void *)(buf + c->last - 1);

		prev->next = (uint32_t)c->size;
	}
	c->last = c->size + 1;
	c->size += aligned;
}

static int type1_get_info(struct fake_type1 *iommu, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info_cap_migration mig;
	struct vfio_iommu_type1_info_dma_avail avail;
	struct vfio_iommu_type1_info info;
	struct caps_buf caps = { 0 };
	int ret = 0;

	/* (padding included: it reaches the user) */
	memset(&mig, 0, sizeof(mig));
	mig.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION;
	mig.header.version = 1;
	mig.pgsize_bitmap = min_pgsize(iommu);
	mig.max_dirty_bitmap_size = DIRTY_BITMAP_SIZE_MAX;
	memset(&avail, 0, sizeof(avail));
	avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail.header.version = 1;
	avail.avail = iommu->dma_avail;
	memset(&info, 0, sizeof(info));
	if (fake_copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = info.argsz < sizeof(info) ? info.argsz : sizeof(info);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->pgsize_bitmap;

	caps_add(&caps, &mig, sizeof(mig));
	caps_add(&caps, &avail, sizeof(avail));
	if (iommu->nr_iovas) {	/* none for a container of mdevs only */
		size_t size = sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
			      iommu->nr_iovas * sizeof(struct vfio_iova_range);
		struct vfio_iommu_type1_info_cap_iova_range *cap = calloc(1, size);

		if (!cap) {
			free(caps.buf);
			return -ENOMEM;
		}
		cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		cap->header.version = 1;
		cap->nr_iovas = (uint32_t)iommu->nr_iovas;
		for (size_t i = 0; i < iommu->nr_iovas; i++) {
			cap->iova_ranges[i].start = iommu->iovas[i].start;
			cap->iova_ranges[i].end = iommu->iovas[i].last;
		}
		caps_add(&caps, cap, size);
		free(cap);
	}
	if (caps.err)
		return caps.err;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < sizeof(info) + caps.size) {
		/* Too small for the chain: the size needed, no chain. */
		info.argsz = (uint32_t)(sizeof(info) + caps.size);
	} else {
		/* vfio_info_cap_shift() */
		for (size_t off = 0;;) {
			struct vfio_info_cap_header *h =
				(struct vfio_info_cap_header *)(void *)(caps.buf + off);

			if (!h->next)
				break;
			off = h->next;
			h->next += (uint32_t)sizeof(info);
		}
		if (fake_copy_to_user((char *)arg + sizeof(info), caps.buf,
				      caps.size))
			ret = -EFAULT;
		info.cap_offset = sizeof(info);
	}
	free(caps.buf);
	if (!ret)
		ret = fake_copy_to_user(arg, &info, minsz);
	return ret;
}

/* ------------------------------------------------------------------ */
/* VFIO_IOMMU_MAP_DMA                                                  */

static bool iova_valid(const struct fake_type1 *iommu, uint64_t start,
		       uint64_t last)
{
	if (!iommu->nr_iovas)	/* a container of mdevs: anything goes */
		return true;
	for (size_t i = 0; i < iommu->nr_iovas; i++)
		if (start >= iommu->iovas[i].start && last <= iommu->iovas[i].last)
			return true;
	return false;
}

static int bitmap_alloc(struct t1_dma *dma, uint64_t pgsize)
{
	uint64_t npages = dma->size / pgsize;

	if (npages > DIRTY_BITMAP_PAGES_MAX)
		return -EINVAL;
	dma->bitmap = calloc(1, DIRTY_BITMAP_BYTES(npages) + sizeof(uint64_t));
	return dma->bitmap ? 0 : -ENOMEM;
}

static int type1_map_dma(struct fake_type1 *iommu, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	uint32_t mask = DMA_MAP_PROT | VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;
	uint64_t pgsize = min_pgsize(iommu);
	bool set_vaddr;
	struct t1_dma *dma;
	int ret;

	if (fake_copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || (map.flags & ~mask))
		return -EINVAL;
	set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
	/* VADDR alone, or READ/WRITE without it */
	if (!!(map.flags & DMA_MAP_PROT) == set_vaddr)
		return -EINVAL;
	if (!map.size || ((map.size | map.iova | map.vaddr) & (pgsize - 1)))
		return -EINVAL;
	if (map.iova + map.size - 1 < map.iova ||
	    map.vaddr + map.size - 1 < map.vaddr)
		return -EINVAL;	/* wraps */

	dma = find_dma(iommu, map.iova, map.size);
	if (set_vaddr) {
		if (!dma)
			return -ENOENT;
		if (!dma->vaddr_invalid || dma->iova != map.iova ||
		    dma->size != map.size)
			return -EINVAL;
		dma->vaddr = map.vaddr;
		dma->vaddr_invalid = false;
		iommu->vaddr_invalid_count--;
		return 0;
	}
	if (dma)
		return -EEXIST;
	if (!iommu->dma_avail)
		return -ENOSPC;
	if (!iova_valid(iommu, map.iova, map.iova + map.size - 1))
		return -EINVAL;
	ret = dmas_reserve(iommu);
	if (ret)
		return ret;
	dma = calloc(1, sizeof(*dma));
	if (!dma)
		return -ENOMEM;
	dma->iova = map.iova;
	dma->size = map.size;
	dma->vaddr = map.vaddr;
	dma->pin_vaddr = map.vaddr;
	dma->prot = map.flags & DMA_MAP_PROT;
	/* Without an IOMMU-backed group nothing is pinned yet. */
	if (iommu->nr_domain_groups) {
		ret = dma_pin(iommu, dma);
		if (ret) {
			free(dma);
			return ret;
		}
	}
	if (iommu->dirty_tracking) {
		ret = bitmap_alloc(dma, pgsize);
		if (ret) {
			dma_unpin(iommu, dma);
			free(dma);
			return ret;
		}
	}
	dma_link(iommu, dma);
	iommu->dma_avail--;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dirty bitmaps                                                       */

/*
 * update_user_bitmap(): @dma's bits into the user's bitmap of the range
 * from @base, at its bit offset. The first word keeps the user's bits
 * below the offset (those of the mapping before); whole words are
 * written. Every page of a pinned mapping counts as dirty while a group
 * that can write anywhere is in the container.
 */
static int dma_report_dirty(struct fake_type1 *iommu, struct t1_dma *dma,
			    uint64_t base, uint64_t pgsize, void *ubitmap)
{
	uint64_t nbits = dma->size / pgsize;
	uint64_t bit_offset = (dma->iova - base) / pgsize;
	uint64_t word = bit_offset / 64, shift = bit_offset % 64;
	uint64_t nwords = (nbits + shift + 63) / 64;
	uint64_t *out;
	int ret = 0;

	if (iommu->nr_domain_groups && dma->iommu_mapped) {
		memset(dma->bitmap, 0, DIRTY_BITMAP_BYTES(nbits));
		for (uint64_t i = 0; i < nbits; i++)
			dma->bitmap[i / 64] |= UINT64_C(1) << (i % 64);
	}
	out = calloc(nwords, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (uint64_t i = 0; i < nbits; i++) {
		uint64_t b = i + shift;

		if (dma->bitmap[i / 64] & (UINT64_C(1) << (i % 64)))
			out[b / 64] |= UINT64_C(1) << (b % 64);
	}
	if (shift) {
		uint64_t leftover;

		if (fake_copy_from_user(&leftover,
					(char *)ubitmap + word * sizeof(uint64_t),
					sizeof(leftover))) {
			ret = -EFAULT;
			goto out;
		}
		out[0] |= leftover & ((UINT64_C(1) << shift) - 1);
	}
	if (fake_copy_to_user((char *)ubitmap + word * sizeof(uint64_t), out,
			      nwords * sizeof(*out)))
		ret = -EFAULT;
out:
	free(out);
	return ret;
}

/* verify_bitmap_size() */
static int verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
	if (!npages || !bitmap_size || bitmap_size > DIRTY_BITMAP_SIZE_MAX ||
	    bitmap_size < DIRTY_BITMAP_BYTES(npages))
		return -EINVAL;
	return 0;
}

/* access_ok() */
static bool user_range_ok(uint64_t addr, uint64_t size)
{
	return addr <= USER_VA_END && size <= USER_VA_END - addr;
}

static int pgshift_of(uint64_t pgsize)
{
	return pgsize ? __builtin_ctzll(pgsize) : 64;
}

/* ------------------------------------------------------------------ */
/* VFIO_IOMMU_UNMAP_DMA                                                */

static int do_unmap(struct fake_type1 *iommu,
		    struct vfio_iommu_type1_dma_unmap *unmap,
		    const struct vfio_bitmap *bitmap)
{
	bool unmap_all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
	bool invalidate = unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	bool get_dirty = unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	uint64_t pgsize = min_pgsize(iommu), iova = unmap->iova;
	uint64_t size = unmap->size, unmapped = 0;
	struct maps_snapshot maps = { 0 };
	struct t1_dma *dma;
	size_t i, first;
	int ret = 0;

	unmap->size = 0;
	/* Cannot update vaddrs with an mdev in the container. */
	if (invalidate) {
		for (i = 0; i < iommu->nr_groups; i++)
			if (!group_unit(iommu->groups[i]))
				return -EBUSY;
	}
	if (iova & (pgsize - 1))
		return -EINVAL;
	if (unmap_all) {
		if (iova || size)
			return -EINVAL;
		size = UINT64_MAX;
	} else if (!size || (size & (pgsize - 1)) || iova + size - 1 < iova) {
		return -EINVAL;
	}
	/* With dirty tracking on, only the smallest page size. */
	if (get_dirty && (!iommu->dirty_tracking || bitmap->pgsize != pgsize))
		return -EINVAL;
	/* v2: a range may not bisect a mapping, at either end. */
	if (iommu->v2 && !unmap_all) {
		dma = find_dma(iommu, iova, 1);
		if (dma && dma->iova != iova)
			return -EINVAL;
		dma = find_dma(iommu, iova + size - 1, 0);
		if (dma && dma->iova + dma->size != iova + size)
			return -EINVAL;
	}
	first = i = first_ending_after(iommu, iova);
	while (i < iommu->nr_dmas) {
		dma = iommu->dmas[i];
		if (dma->iova > iova + (size - 1))
			break;
		/* v1: a range starting inside a mapping stops here; one
		 * covering a mapping's first byte takes all of it */
		if (!iommu->v2 && iova > dma->iova)
			break;
		if (invalidate) {
			if (dma->vaddr_invalid) {
				/* Undo this call's, and fail. */
				for (size_t k = first; k < i; k++) {
					iommu->dmas[k]->vaddr_invalid = false;
					iommu->vaddr_invalid_count--;
				}
				unmapped = 0;
				ret = -EINVAL;
				break;
			}
			dma_make_alias(dma, &maps);
			dma->vaddr_invalid = true;
			iommu->vaddr_invalid_count++;
			unmapped += dma->size;
			i++;
			continue;
		}
		if (get_dirty) {
			ret = dma_report_dirty(iommu, dma, iova, pgsize,
					       bitmap->data);
			if (ret)
				break;
		}
		unmapped += dma->size;
		dma_remove(iommu, dma);	/* i now names the next one */
	}
	maps_free(&maps);
	unmap->size = unmapped;
	return ret;
}

static int type1_unmap_dma(struct fake_type1 *iommu, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL;
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = { 0 };
	int ret;

	/* A kernel without the extension knows neither flag. */
	if (ext_hidden(iommu->fake, VFIO_UNMAP_ALL))
		mask &= ~VFIO_DMA_UNMAP_FLAG_ALL;
	if (ext_hidden(iommu->fake, VFIO_UPDATE_VADDR))
		mask &= ~VFIO_DMA_UNMAP_FLAG_VADDR;
	if (fake_copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || (unmap.flags & ~mask))
		return -EINVAL;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (fake_copy_from_user(&bitmap, (char *)arg + minsz,
					sizeof(bitmap)))
			return -EFAULT;
		if (!user_range_ok((uint64_t)(uintptr_t)bitmap.data, bitmap.size))
			return -EINVAL;
		ret = verify_bitmap_size(unmap.size >> pgshift_of(bitmap.pgsize),
					 bitmap.size);
		if (ret)
			return ret;
	}
	ret = do_unmap(iommu, &unmap, &bitmap);
	if (ret)
		return ret;
	return fake_copy_to_user(arg, &unmap, minsz);
}

/* ------------------------------------------------------------------ */
/* VFIO_IOMMU_DIRTY_PAGES                                              */

static int dirty_start(struct fake_type1 *iommu)
{
	uint64_t pgsize = min_pgsize(iommu);
	size_t i;
	int ret = 0;

	if (iommu->dirty_tracking)
		return 0;
	for (i = 0; i < iommu->nr_dmas; i++) {
		ret = bitmap_alloc(iommu->dmas[i], pgsize);
		if (ret)
			break;
	}
	if (ret) {
		while (i--) {
			free(iommu->dmas[i]->bitmap);
			iommu->dmas[i]->bitmap = NULL;
		}
		return ret;
	}
	iommu->dirty_tracking = true;
	return 0;
}

static void dirty_stop(struct fake_type1 *iommu)
{
	if (!iommu->dirty_tracking)
		return;
	iommu->dirty_tracking = false;
	for (size_t i = 0; i < iommu->nr_dmas; i++) {
		free(iommu->dmas[i]->bitmap);
		iommu->dmas[i]->bitmap = NULL;
	}
}

/* vfio_iova_dirty_bitmap(): the range covers whole mappings. */
static int dirty_get(struct fake_type1 *iommu, uint64_t iova, uint64_t size,
		     uint64_t pgsize, void *ubitmap)
{
	struct t1_dma *dma;

	dma = find_dma(iommu, iova, 1);
	if (dma && dma->iova != iova)
		return -EINVAL;
	dma = find_dma(iommu, iova + size - 1, 0);
	if (dma && dma->iova + dma->size != iova + size)
		return -EINVAL;
	for (size_t i = first_ending_after(iommu, iova); i < iommu->nr_dmas; i++) {
		int ret;

		dma = iommu->dmas[i];
		if (dma->iova < iova)
			continue;
		if (dma->iova > iova + size - 1)
			break;
		ret = dma_report_dirty(iommu, dma, iova, pgsize, ubitmap);
		if (ret)
			return ret;
		/* What was reported is clean again (pinned pages aside:
		 * the fake pins none for devices). */
		memset(dma->bitmap, 0, DIRTY_BITMAP_BYTES(dma->size / pgsize));
	}
	return 0;
}

static int type1_dirty_pages(struct fake_type1 *iommu, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap dirty;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	uint64_t pgsize = min_pgsize(iommu);
	int ret;

	if (!iommu->v2)
		return -EACCES;
	if (fake_copy_from_user(&dirty, arg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || (dirty.flags & ~mask))
		return -EINVAL;
	/* exactly one flag */
	if (!dirty.flags || (dirty.flags & (dirty.flags - 1)))
		return -EINVAL;
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
		return dirty_start(iommu);
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		dirty_stop(iommu);
		return 0;
	}
	if (dirty.argsz - minsz < sizeof(range))
		return -EINVAL;
	if (fake_copy_from_user(&range, (char *)arg + minsz, sizeof(range)))
		return -EFAULT;
	if (range.iova + range.size < range.iova)
		return -EINVAL;
	if (!user_range_ok((uint64_t)(uintptr_t)range.bitmap.data,
			   range.bitmap.size))
		return -EINVAL;
	ret = verify_bitmap_size(range.size >> pgshift_of(range.bitmap.pgsize),
				 range.bitmap.size);
	if (ret)
		return ret;
	/* only the smallest page size, aligned */
	if (range.bitmap.pgsize != pgsize || (range.iova & (pgsize - 1)) ||
	    !range.size || (range.size & (pgsize - 1)))
		return -EINVAL;
	if (!iommu->dirty_tracking)
		return -EINVAL;
	return dirty_get(iommu, range.iova, range.size, pgsize,
			 range.bitmap.data);
}

long fake_type1_ioctl(struct fake_type1 *iommu, unsigned long cmd, void *arg)
{
	switch (cmd) {
	case VFIO_CHECK_EXTENSION:
		return fake_type1_check_extension(iommu->fake, iommu,
						  (unsigned long)arg);
	case VFIO_IOMMU_GET_INFO:
		return type1_get_info(iommu, arg);
	case VFIO_IOMMU_MAP_DMA:
		return type1_map_dma(iommu, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return type1_unmap_dma(iommu, arg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return type1_dirty_pages(iommu, arg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------------ */
/* Device DMA                                                          */

/* vfio_dma_rw(): an emulated device, through the mapping's vaddr. */
static int type1_dma_rw(struct fake_type1 *iommu, uint64_t iova, void *buf,
			size_t len, bool write, uint64_t *fault_iova)
{
	uint64_t pgsize = min_pgsize(iommu);

	if (iommu->vaddr_invalid_count)
		return -EBUSY;
	while (len) {
		struct t1_dma *dma = find_dma(iommu, iova, 1);
		uint64_t off, n;
		int ret;

		*fault_iova = iova;
		if (!dma)
			return -ENOENT;
		if ((write && !(dma->prot & VFIO_DMA_MAP_FLAG_WRITE)) ||
		    !(dma->prot & VFIO_DMA_MAP_FLAG_READ))
			return -EPERM;
		off = iova - dma->iova;
		n = dma->size - off < len ? dma->size - off : len;
		if (write)
			ret = fake_copy_to_user((void *)(uintptr_t)(dma->vaddr + off),
						buf, n);
		else
			ret = fake_copy_from_user(buf,
						  (void *)(uintptr_t)(dma->vaddr + off),
						  n);
		if (ret)
			return -EFAULT;
		if (write && iommu->dirty_tracking) {
			for (uint64_t p = off / pgsize; p <= (off + n - 1) / pgsize; p++)
				dma->bitmap[p / 64] |= UINT64_C(1) << (p % 64);
		}
		buf = (char *)buf + n;
		iova += n;
		len -= n;
	}
	return 0;
}

int fake_type1_dma(struct fake_type1 *iommu, bool emulated, uint64_t iova,
		   void *buf, size_t len, bool write, uint64_t *fault_iova)
{
	uint64_t cur, last;
	size_t done = 0;

	*fault_iova = iova;
	if (!len)
		return 0;
	if (emulated)
		return type1_dma_rw(iommu, iova, buf, len, write, fault_iova);
	if (iova + (len - 1) < iova)
		return -ENOENT;
	last = iova + (len - 1);
	/* The IOMMU translates every page first: a fault moves nothing. */
	for (cur = iova;;) {
		struct t1_dma *dma = find_dma(iommu, cur, 1);
		uint32_t need = write ? VFIO_DMA_MAP_FLAG_WRITE :
					VFIO_DMA_MAP_FLAG_READ;

		*fault_iova = cur;
		if (!dma || !dma->iommu_mapped)
			return -ENOENT;
		if (!(dma->prot & need))
			return -EPERM;
		if (dma->iova + dma->size - 1 >= last)
			break;
		cur = dma->iova + dma->size;
	}
	for (cur = iova; done < len;) {
		struct t1_dma *dma = find_dma(iommu, cur, 1);
		uint64_t off = cur - dma->iova;
		uint64_t n = dma->size - off < len - done ? dma->size - off :
							    len - done;
		void *addr = (void *)(uintptr_t)(dma_pinned_addr(dma) + off);
		int ret;

		if (write)
			ret = fake_copy_to_user(addr, (char *)buf + done, n);
		else
			ret = fake_copy_from_user((char *)buf + done, addr, n);
		if (ret) {
			*fault_iova = cur;
			return -EFAULT;
		}
		done += n;
		cur += n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* iommufd's VFIO compatibility (vfio_compat.c)                         */

int fake_vfio_compat_ioas_create(struct fake_ictx *ictx)
{
	struct fake_ioas *ioas;

	if (ictx->vfio_ioas)
		return 0;
	ioas = fake_ioas_alloc(ictx);
	if (!ioas)
		return -ENOMEM;
	ictx->vfio_ioas = ioas;
	return 0;
}

/* get_compat_ioas() */
static struct fake_ioas *compat_ioas(struct fake_ictx *ictx, int *err)
{
	*err = ictx->vfio_ioas ? 0 : -ENODEV;
	return ictx->vfio_ioas;
}

static int compat_check_extension(struct fake_ictx *ictx, unsigned long type)
{
	struct fake_ioas *ioas;
	int err;

	if (ext_hidden(ictx->fake, type))
		return 0;
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		/* iommufd_vfio_cc_iommu(): every domain of the compat IOAS
		 * enforces coherency */
		ioas = compat_ioas(ictx, &err);
		if (!ioas)
			return err;
		for (struct fake_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
			if (!unit_coherent(h->unit))
				return 0;
		return 1;
	case TYPE1_NESTING:
	case VFIO_UPDATE_VADDR:	/* "hard to see how ... safely" */
	default:
		return 0;
	}
}

static int compat_set_iommu(struct fake_ictx *ictx, unsigned long type)
{
	struct fake_ioas *ioas;
	int err;

	if ((type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) ||
	    ext_hidden(ictx->fake, type))
		return -EINVAL;
	/* VFIO fails SET_IOMMU without a group: no compat IOAS here. */
	ioas = compat_ioas(ictx, &err);
	if (!ioas)
		return err;
	/* TYPE1's unmap inside a mapping: no large IOPTEs to split
	 * (iopt_disable_large_pages(), refused once domains hold pages). */
	if (type == VFIO_TYPE1_IOMMU && !ioas->iopt.disable_large_pages) {
		if (ioas->hwpts && ioas->iopt.nr_areas)
			return -EINVAL;
		ioas->iopt.disable_large_pages = true;
	}
	return 0;
}

/* iommufd_get_pagesizes() */
static uint64_t compat_pgsizes(struct iommufd_fake *fake, struct fake_ioas *ioas)
{
	uint64_t sizes = UINT64_MAX;

	for (struct fake_hwpt *h = ioas->hwpts; h; h = h->ioas_next)
		sizes &= unit_pgsizes(h->unit);
	sizes = fixup_pgsizes(fake, sizes);
	return sizes > ioas->iopt.iova_alignment ? sizes :
						   ioas->iopt.iova_alignment;
}

/* The holes between the IOAS's reserved ranges (which may overlap). */
static size_t compat_holes(const struct fake_iopt *iopt,
			   struct vfio_iova_range *out, size_t max)
{
	uint64_t cur = 0;
	size_t n = 0;
	bool done = false;

	for (size_t i = 0; i < iopt->nr_reserved && !done; i++) {
		const struct fake_range *r = &iopt->reserved[i].range;

		if (r->last < cur)
			continue;
		if (r->start > cur) {
			if (n < max)
				out[n] = (struct vfio_iova_range){ cur, r->start - 1 };
			n++;
		}
		if (r->last == UINT64_MAX)
			done = true;
		else
			cur = r->last + 1;
	}
	if (!done) {
		if (n < max)
			out[n] = (struct vfio_iova_range){ cur, UINT64_MAX };
		n++;
	}
	return n;
}

/* iommufd_vfio_iommu_get_info(): each cap written if it fits, argsz the
 * size of them all. */
static int compat_get_info(struct fake_ictx *ictx, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info_dma_avail cap_dma = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = UINT32_MAX,
	};
	struct vfio_iommu_type1_info_cap_iova_range cap_iovas = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
			    .version = 1 },
	};
	struct vfio_iommu_type1_info info = { 0 };
	struct vfio_iova_range *ranges = NULL;
	size_t total = sizeof(info), nr, size, last_cap = 0;
	struct fake_ioas *ioas;
	int ret;

	if (fake_copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = info.argsz < sizeof(info) ? info.argsz : sizeof(info);
	ioas = compat_ioas(ictx, &ret);
	if (!ioas)
		return ret;
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = compat_pgsizes(ictx->fake, ioas);
	info.cap_offset = 0;

	/* DMA_AVAIL: UINT32_MAX (the cgroup limits iommufd, not a count) */
	if (info.argsz > total && info.argsz - total >= sizeof(cap_dma) &&
	    fake_copy_to_user((char *)arg + total, &cap_dma, sizeof(cap_dma)))
		return -EFAULT;
	last_cap = total;
	total += (sizeof(cap_dma) + 7) & ~(size_t)7;

	/* IOVA_RANGE: the holes of the reserved ranges */
	nr = compat_holes(&ioas->iopt, NULL, 0);
	ranges = calloc(nr, sizeof(*ranges));
	if (!ranges)
		return -ENOMEM;
	compat_holes(&ioas->iopt, ranges, nr);
	cap_iovas.nr_iovas = (uint32_t)nr;
	size = sizeof(cap_iovas) + nr * sizeof(*ranges);
	ret = 0;
	if (info.argsz > total) {
		size_t avail = info.argsz - total;
		char *ucap = (char *)arg + total;

		for (size_t i = 0; i < nr && !ret; i++) {
			if (avail >= sizeof(cap_iovas) + (i + 1) * sizeof(*ranges) &&
			    fake_copy_to_user(ucap + sizeof(cap_iovas) +
						      i * sizeof(*ranges),
					      &ranges[i], sizeof(*ranges)))
				ret = -EFAULT;
		}
		if (!ret && avail >= size &&
		    fake_copy_to_user(ucap, &cap_iovas, sizeof(cap_iovas)))
			ret = -EFAULT;
	}
	free(ranges);
	if (ret)
		return ret;
	if (info.argsz >= total) {
		uint32_t next = (uint32_t)total;

		if (fake_copy_to_user((char *)arg + last_cap +
					      offsetof(struct vfio_info_cap_header, next),
				      &next, sizeof(next)))
			return -EFAULT;
	}
	total += (size + 7) & ~(size_t)7;

	if (info.argsz >= total)
		info.cap_offset = sizeof(info);
	info.argsz = (uint32_t)total;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	return fake_copy_to_user(arg, &info, minsz);
}

/* An iommufd command on the compat IOAS, from inside the kernel. */
static void compat_ucmd(struct fake_ucmd *ucmd, struct fake_ictx *ictx,
			void *cmd, void *reply, uint32_t size)
{
	memcpy(reply, cmd, size);
	*ucmd = (struct fake_ucmd){
		.ictx = ictx,
		.ubuffer = reply,
		.user_size = size,
		.cmd = cmd,
		.ksize = size,
		.kver = ictx->fake->kver,
	};
}

static int compat_map_dma(struct fake_ictx *ictx, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	struct iommu_ioas_map cmd, reply;
	struct fake_ucmd ucmd;
	struct fake_ioas *ioas;
	int ret;

	if (fake_copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || (map.flags & ~DMA_MAP_PROT))
		return -EINVAL;	/* no VFIO_DMA_MAP_FLAG_VADDR */
	ioas = compat_ioas(ictx, &ret);
	if (!ioas)
		return ret;
	cmd = (struct iommu_ioas_map){
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			 ((map.flags & VFIO_DMA_MAP_FLAG_READ) ?
				  IOMMU_IOAS_MAP_READABLE : 0) |
			 ((map.flags & VFIO_DMA_MAP_FLAG_WRITE) ?
				  IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = ioas->obj.id,
		.user_va = map.vaddr,
		.length = map.size,
		.iova = map.iova,
	};
	compat_ucmd(&ucmd, ictx, &cmd, &reply, sizeof(cmd));
	return fake_ioas_map(&ucmd);
}

/* The area of @iopt holding @iova (iopt_area_iter_first()), or NULL. */
static struct fake_area *area_at(struct fake_iopt *iopt, uint64_t iova)
{
	struct fake_area *n = iopt->root, *best = NULL;

	while (n) {
		if (n->iova <= iova) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best && best->last >= iova ? best : NULL;
}

/* The lowest area with an IOVA at or after @iova, or NULL. */
static struct fake_area *area_from(struct fake_iopt *iopt, uint64_t iova)
{
	struct fake_area *n = iopt->root, *best = NULL;

	while (n) {
		if (n->iova >= iova) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/* What iopt_unmap_iova() unmaps of [start, last] before it stops at an
 * area sticking out of it (the kernel reports that much with ENOENT). */
static uint64_t compat_unmap_prefix(struct fake_iopt *iopt, uint64_t start,
				    uint64_t last)
{
	struct fake_area *a = area_at(iopt, start);
	uint64_t bytes = 0;

	if (!a)
		a = area_from(iopt, start);
	while (a && a->iova <= last) {
		if (a->iova < start || a->last > last)
			break;
		bytes += a->last - a->iova + 1;
		if (a->last == UINT64_MAX)
			break;
		a = area_from(iopt, a->last + 1);
	}
	return bytes;
}

/*
 * iopt_cut_iova(): split the area holding @iova so that one part ends
 * there, for TYPE1's unmap inside a mapping. The fake splits by unmapping
 * the area and mapping its two parts again from the same memory.
 */
static int compat_cut(struct fake_ictx *ictx, struct fake_ioas *ioas,
		      uint64_t iova)
{
	struct fake_iopt *iopt = &ioas->iopt;
	struct fake_area *a = area_at(iopt, iova);
	uint64_t align = iopt->iova_alignment, start, last, new_start;
	uint64_t base, split_byte;
	struct fake_pages *pages;
	struct fake_ucmd ucmd;
	uint32_t prot;
	int fd = -1, ret;

	if (!a || a->last == iova)
		return 0;
	new_start = iova + 1;
	split_byte = a->start_byte + (new_start - a->iova);
	if ((new_start & (align - 1)) || (split_byte & (align - 1)))
		return -EINVAL;
	start = a->iova;
	last = a->last;
	prot = a->prot;
	pages = a->pages;
	if (pages->type == FAKE_PAGES_USER) {
		base = pages->uptr + a->start_byte;
	} else {
		/* keep the file open across the unmap */
		fd = fcntl(pages->file->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		base = pages->start + a->start_byte;
	}
	{
		struct iommu_ioas_unmap cmd = {
			.size = sizeof(cmd), .ioas_id = ioas->obj.id,
			.iova = start, .length = last - start + 1,
		}, reply;

		compat_ucmd(&ucmd, ictx, &cmd, &reply, sizeof(cmd));
		ret = fake_ioas_unmap(&ucmd);
	}
	for (int part = 0; part < 2 && !ret; part++) {
		uint64_t s = part ? new_start : start;
		uint64_t l = part ? last : iova;

		if (fd < 0) {
			struct iommu_ioas_map cmd = {
				.size = sizeof(cmd),
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA | prot,
				.ioas_id = ioas->obj.id,
				.user_va = base + (s - start),
				.length = l - s + 1,
				.iova = s,
			}, reply;

			compat_ucmd(&ucmd, ictx, &cmd, &reply, sizeof(cmd));
			ret = fake_ioas_map(&ucmd);
		} else {
			struct iommu_ioas_map_file cmd = {
				.size = sizeof(cmd),
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA | prot,
				.ioas_id = ioas->obj.id,
				.fd = fd,
				.start = base + (s - start),
				.length = l - s + 1,
				.iova = s,
			}, reply;

			compat_ucmd(&ucmd, ictx, &cmd, &reply, sizeof(cmd));
			ret = fake_ioas_map_file(&ucmd);
		}
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int compat_unmap_dma(struct fake_ictx *ictx, void *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	struct iommu_ioas_unmap cmd, reply;
	struct fake_ucmd ucmd;
	struct fake_ioas *ioas;
	uint64_t unmapped = 0;
	int ret;

	if (fake_copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	/* GET_DIRTY_BITMAP and VADDR are not emulated. */
	if (unmap.argsz < minsz || (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL) ||
	    ((unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) &&
	     ext_hidden(ictx->fake, VFIO_UNMAP_ALL)))
		return -EINVAL;
	ioas = compat_ioas(ictx, &ret);
	if (!ioas)
		return ret;
	cmd = (struct iommu_ioas_unmap){
		.size = sizeof(cmd), .ioas_id = ioas->obj.id,
		.iova = unmap.iova, .length = unmap.size,
	};
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		cmd.length = UINT64_MAX;	/* iopt_unmap_all() */
	} else if (ioas->iopt.disable_large_pages) {
		/* cuts at both ends, so that TYPE1 may unmap inside */
		ret = compat_cut(ictx, ioas, unmap.iova + unmap.size - 1);
		if (!ret && unmap.iova)
			ret = compat_cut(ictx, ioas, unmap.iova - 1);
		if (ret)
			return ret;
	}
	if (cmd.length && cmd.length != UINT64_MAX &&
	    cmd.iova + (cmd.length - 1) >= cmd.iova)
		unmapped = compat_unmap_prefix(&ioas->iopt, cmd.iova,
					       cmd.iova + cmd.length - 1);
	compat_ucmd(&ucmd, ictx, &cmd, &reply, sizeof(cmd));
	ret = fake_ioas_unmap(&ucmd);
	if (!ret)
		unmapped = reply.length;
	else if (ret != -ENOENT)
		unmapped = 0;	/* nothing was unmapped */
	/* The size goes back even with ENOENT. */
	unmap.size = unmapped;
	if (fake_copy_to_user(arg, &unmap, minsz))
		ret = -EFAULT;
	return ret;
}

long fake_vfio_compat_ioctl(struct fake_ictx *ictx, unsigned long cmd,
			    void *arg)
{
	if (ictx->fake->kver < FAKE_KVER_IOMMUFD)
		return -ENOTTY;
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_SET_IOMMU:
		return compat_set_iommu(ictx, (unsigned long)arg);
	case VFIO_CHECK_EXTENSION:
		return compat_check_extension(ictx, (unsigned long)arg);
	case VFIO_IOMMU_GET_INFO:
		return compat_get_info(ictx, arg);
	case VFIO_IOMMU_MAP_DMA:
		return compat_map_dma(ictx, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return compat_unmap_dma(ictx, arg);
	case VFIO_IOMMU_DIRTY_PAGES:	/* ENOIOCTLCMD */
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------------ */
/* Live update (persist.c)                                             */

void fake_type1_get_state(struct fake_type1 *iommu,
			  struct fake_type1_state *st)
{
	*st = (struct fake_type1_state){
		.v2 = iommu->v2,
		.nesting = iommu->nesting,
		.dirty_tracking = iommu->dirty_tracking,
		.had_domain = iommu->had_domain,
		.dma_avail = iommu->dma_avail,
		.pgsize_bitmap = iommu->pgsize_bitmap,
		.nr_domain_groups = iommu->nr_domain_groups,
		.iovas = iommu->iovas,
		.nr_iovas = iommu->nr_iovas,
		.nr_dmas = iommu->nr_dmas,
	};
}

/* The bitmap of a mapping while dirty tracking is on: a bit per smallest
 * page, as bitmap_alloc() sized it, and the spare word it keeps. */
static size_t dma_bitmap_words(const struct fake_type1 *iommu,
			       const struct t1_dma *dma)
{
	return (size_t)(DIRTY_BITMAP_BYTES(dma->size / min_pgsize(iommu)) /
			sizeof(uint64_t)) + 1;
}

void fake_type1_get_dma(struct fake_type1 *iommu, size_t i,
			struct fake_type1_dma_state *d)
{
	const struct t1_dma *dma = iommu->dmas[i];

	*d = (struct fake_type1_dma_state){
		.iova = dma->iova,
		.size = dma->size,
		.vaddr = dma->vaddr,
		.pinned_addr = dma_pinned_addr(dma),
		.prot = dma->prot,
		.iommu_mapped = dma->iommu_mapped,
		.vaddr_invalid = dma->vaddr_invalid,
		.npinned = dma->npinned,
		.bitmap = dma->bitmap,
		.bitmap_words = dma->bitmap ? dma_bitmap_words(iommu, dma) : 0,
	};
}

struct fake_vgroup *fake_type1_group(struct fake_type1 *iommu, size_t i)
{
	return i < iommu->nr_groups ? iommu->groups[i] : NULL;
}

int fake_type1_restore(struct iommufd_fake *fake,
		       struct fake_type1_state *st, struct fake_type1 **out)
{
	struct fake_type1 *iommu;

	if (!st->pgsize_bitmap || (st->pgsize_bitmap & (fake->page_size - 1)))
		return -EINVAL;
	iommu = calloc(1, sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	iommu->fake = fake;
	iommu->v2 = st->v2;
	iommu->nesting = st->nesting;
	iommu->dirty_tracking = st->dirty_tracking;
	iommu->had_domain = st->had_domain;
	iommu->dma_avail = st->dma_avail;
	iommu->pgsize_bitmap = st->pgsize_bitmap;
	iommu->nr_domain_groups = st->nr_domain_groups;
	iommu->iovas = st->iovas;
	iommu->nr_iovas = st->nr_iovas;
	st->iovas = NULL;
	*out = iommu;
	return 0;
}

/* Mappings come in IOVA order, disjoint; the restore's bitmap and alias
 * are the mapping's once this succeeds. */
int fake_type1_restore_dma(struct fake_type1 *iommu,
			   struct fake_type1_dma_state *d)
{
	uint64_t ps = iommu->fake->page_size;
	struct t1_dma *dma, *prev;
	int ret;

	if (!d->size || (d->size & (ps - 1)) || (d->iova & (ps - 1)) ||
	    d->iova + (d->size - 1) < d->iova ||
	    (d->prot & ~(uint32_t)DMA_MAP_PROT) ||
	    d->npinned > d->size / ps ||
	    (d->iommu_mapped != !!d->alias && d->iommu_mapped))
		return -EINVAL;
	prev = iommu->nr_dmas ? iommu->dmas[iommu->nr_dmas - 1] : NULL;
	if (prev && prev->iova + (prev->size - 1) >= d->iova)
		return -EINVAL;
	ret = dmas_reserve(iommu);
	if (ret)
		return ret;
	dma = calloc(1, sizeof(*dma));
	if (!dma)
		return -ENOMEM;
	dma->iova = d->iova;
	dma->size = d->size;
	dma->vaddr = d->vaddr;
	dma->pin_vaddr = d->vaddr;
	dma->prot = d->prot;
	dma->iommu_mapped = d->iommu_mapped;
	dma->vaddr_invalid = d->vaddr_invalid;
	dma->npinned = d->npinned;
	if (d->bitmap && d->bitmap_words != dma_bitmap_words(iommu, dma)) {
		free(dma);
		return -EINVAL;
	}
	dma->alias = d->alias;
	dma->alias_map = d->alias_map;
	dma->bitmap = d->bitmap;
	d->alias = NULL;
	d->alias_map = NULL;
	d->bitmap = NULL;
	iommu->dmas[iommu->nr_dmas++] = dma;
	if (dma->vaddr_invalid)
		iommu->vaddr_invalid_count++;
	return 0;
}

int fake_type1_restore_group(struct fake_type1 *iommu, struct fake_vgroup *vg)
{
	int ret = groups_reserve(iommu);

	if (ret)
		return ret;
	iommu->groups[iommu->nr_groups++] = vg;
	return 0;
}

void fake_type1_set_fake(struct fake_type1 *iommu, struct iommufd_fake *fake)
{
	iommu->fake = fake;
}
