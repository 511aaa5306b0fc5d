/* SPDX-License-Identifier: MIT */
/*
 * The userspace mapping table of one IOAS: non-overlapping extents
 * [iova, iova + length) with their backing, kept in IOVA order.
 *
 * A B+tree whose leaves hold the entries themselves in sorted arrays (see
 * maptable.c for why). Find, insert and remove are O(log n); walking k
 * consecutive entries from a point is O(log n + k).
 *
 * The table is not thread-safe: ioas.c guards it with a rwlock and layers the
 * PENDING/LIVE/DYING protocol on top. Entry pointers and iterators stay valid
 * only until the next insert or remove; changing an entry's state, prot or
 * pins in place is allowed.
 */
#ifndef IOMMUFD_MAPTABLE_H
#define IOMMUFD_MAPTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>

#include "internal.h"

enum mt_state {
	MT_LIVE = 0,	/* mapped by the kernel; visible */
	MT_PENDING = 1,	/* kernel map in flight; invisible to readers */
	MT_DYING = 2,	/* kernel unmap in flight; still visible */
};

/* 32 bytes: four entries per cache line pair, 63 per 2 KiB leaf. */
struct mt_entry {
	uint64_t iova;
	uint64_t length;	/* > 0; iova + length - 1 <= UINT64_MAX */
	uint64_t backing;	/* fd < 0: the vaddr of iova; else the file offset */
	int32_t fd;		/* the caller's fd number for map_file, else -1 */
	uint8_t prot;		/* IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE */
	uint8_t state;		/* enum mt_state */
	uint16_t pins;		/* IOAS copies in flight reading this entry */
};

struct mt_leaf;
struct mt_inner;

struct maptable {
	void *root;		/* struct mt_leaf when height == 0 */
	unsigned int height;	/* inner levels above the leaves */
	size_t count;		/* entries, whatever their state */
	size_t leaves, inners;	/* nodes allocated, for memory accounting */
};

/* A position in the table; valid until the next insert or remove. */
struct mt_iter {
	struct mt_leaf *leaf;
	unsigned int idx;
};

static inline uint64_t mt_last(const struct mt_entry *e)
{
	return e->iova + (e->length - 1);
}

static inline bool mt_contains(const struct mt_entry *e, uint64_t iova)
{
	return iova - e->iova < e->length && iova >= e->iova;
}

void maptable_init(struct maptable *t);
/* Free every node. The table is empty and usable afterwards. */
void maptable_clear(struct maptable *t);

static inline size_t maptable_count(const struct maptable *t)
{
	return t->count;
}

/* Bytes of node memory the table holds (without allocator headers). */
size_t maptable_mem_bytes(const struct maptable *t);

/* The entry containing @iova, or NULL. */
struct mt_entry *maptable_find(struct maptable *t, uint64_t iova);

/*
 * Position @it on the first entry that ends at or after @iova (the entry
 * containing it, or the next one). Returns that entry or NULL at the end.
 */
struct mt_entry *maptable_seek(struct maptable *t, uint64_t iova,
			       struct mt_iter *it);
struct mt_entry *maptable_next(struct mt_iter *it);
struct mt_entry *maptable_first(struct maptable *t, struct mt_iter *it);

/*
 * Insert a copy of @e. -EEXIST if it overlaps an entry (then *conflict, if
 * not NULL, points at the first overlapping one), -ENOMEM, -EINVAL for a zero
 * length or an extent past UINT64_MAX. On success *out (if not NULL) points
 * at the stored entry.
 */
int maptable_insert(struct maptable *t, const struct mt_entry *e,
		    struct mt_entry **out, struct mt_entry **conflict);

/* Remove the entry that starts exactly at @iova: 0 or -ENOENT. */
int maptable_remove(struct maptable *t, uint64_t iova);

/*
 * Remove every entry lying wholly inside [first, last]; entries that only
 * intersect the range stay. Returns how many were removed. Cost
 * O((k / leaf size + 1) log n + k) for k entries.
 */
size_t maptable_remove_range(struct maptable *t, uint64_t first,
			     uint64_t last);

/* Debugging aid for tests: 0 if every B+tree invariant holds, else -EUCLEAN. */
int maptable_check(const struct maptable *t);

/*
 * The library's IOAS handle. Lives here rather than in ioas.c so that every
 * backend (iommufd.c, and type1.c, which emulates iommufd's unmap rules on
 * top of this table) can reach the table and the kernel ID.
 */
struct iommufd_ioas {
	struct iommufd_ctx *ctx;
	uint32_t id;			/* kernel IOAS ID */
	struct list_node ctx_node;	/* on ctx->ioas_list, under objects_lock */
	/* The HWPTs serving this IOAS, under ctx->objects_lock (hwpt.c). */
	struct iommufd_hwpt *hwpts;
	void *priv;			/* the backend's (type1: its containers) */
	/* The allow-list last set, for a live update's description; under
	 * ctx->objects_lock. */
	struct iommufd_iova_range *allowed;
	size_t nr_allowed;

	pthread_rwlock_t lock;		/* guards every field below */
	struct maptable table;
	size_t npending;		/* PENDING entries (invisible) */
	unsigned int inflight;		/* operations between lock drops */
	bool exclusive;			/* unmap_all owns the IOAS */

	/* Waiting for a PENDING/DYING/pinned entry or exclusive mode to end.
	 * Lock order: lock, then wait_lock. */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	uint64_t wait_gen;		/* bumped under lock + wait_lock */
	unsigned int waiters;		/* changed under wait_lock */
};

#endif
