/* SPDX-License-Identifier: MIT */
/*
 * The mapping table: a B+tree of IOVA extents.
 *
 * Why a B+tree with the entries stored in its leaves:
 *  - Cost per mapping. An entry is 32 bytes. Leaves are 2040-byte arrays of
 *    63 entries (one 2 KiB malloc chunk), so a mapping costs 32.5 bytes at
 *    100 % fill and 65 at the 50 % minimum; inner nodes add about 1 %. An
 *    intrusive red-black or AVL tree needs three pointers per node on top of
 *    the 32 bytes (56+ bytes, 64 with a malloc header unless slab-allocated),
 *    and chases one pointer per level: ~20 cache misses at 1M mappings where
 *    the B+tree touches 3 nodes.
 *  - Fill. Splits are biased at the ends (inserting at the end of a leaf
 *    leaves it full and starts a new one), so the common ascending or
 *    descending IOVA patterns fill leaves to ~100 %; a full leaf first spills
 *    into a sibling with room before splitting (B*-tree style), which keeps
 *    random-order fill around 80 %. Deletion merges or rebalances below half.
 *  - Order. Leaves are doubly linked, so range walks (unmap of a range,
 *    for_each_mapping, dirty tracking) are sequential array scans.
 * Entries move between nodes on splits and merges: nobody may hold an entry
 * pointer across an insert or remove. ioas.c re-finds entries by IOVA (their
 * key: extents never overlap) after every lock drop.
 *
 * Separators: inner key[i] (i >= 1) is a lower bound of every IOVA under
 * child[i] and greater than every IOVA under child[i - 1]; key[0] is unused.
 * Deleting an entry keeps these bounds true, so they are never refreshed on
 * removal; a leaf's first entry may therefore be larger than its separator,
 * and the entry containing an IOVA may sit at the end of the previous leaf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maptable.h"

#define LEAF_CAP 63
#define INNER_CAP 127
#define LEAF_MIN (LEAF_CAP / 2)
#define INNER_MIN (INNER_CAP / 2)
#define MAX_HEIGHT 24

struct mt_leaf {
	struct mt_leaf *prev, *next;
	uint32_t n;
	uint32_t unused;
	struct mt_entry e[LEAF_CAP];
};

struct mt_inner {
	uint32_t n;		/* children */
	uint32_t unused;
	uint64_t key[INNER_CAP];
	void *child[INNER_CAP];
};

_Static_assert(sizeof(struct mt_entry) == 32, "mt_entry must stay 32 bytes");
_Static_assert(sizeof(struct mt_leaf) <= 2040, "a leaf fits a 2 KiB chunk");
_Static_assert(sizeof(struct mt_inner) <= 2040, "an inner fits a 2 KiB chunk");

/* The way down: path[d] is the inner node at depth d (0 = root) and the
 * index of the child taken. */
struct mt_path {
	struct {
		struct mt_inner *node;
		unsigned int idx;
	} lv[MAX_HEIGHT];
};

void maptable_init(struct maptable *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_subtree(void *node, unsigned int height)
{
	if (height) {
		struct mt_inner *in = node;

		for (unsigned int i = 0; i < in->n; i++)
			free_subtree(in->child[i], height - 1);
	}
	free(node);
}

void maptable_clear(struct maptable *t)
{
	if (t->root)
		free_subtree(t->root, t->height);
	maptable_init(t);
}

size_t maptable_mem_bytes(const struct maptable *t)
{
	return t->leaves * sizeof(struct mt_leaf) +
	       t->inners * sizeof(struct mt_inner);
}

/* The child of @in whose range holds @x. */
static unsigned int inner_slot(const struct mt_inner *in, uint64_t x)
{
	unsigned int lo = 1, hi = in->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (in->key[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* First index whose IOVA is > @x. */
static unsigned int leaf_upper(const struct mt_leaf *l, uint64_t x)
{
	unsigned int lo = 0, hi = l->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (l->e[mid].iova <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mt_leaf *descend(const struct maptable *t, uint64_t x,
			       struct mt_path *path)
{
	void *node = t->root;

	for (unsigned int d = 0; d < t->height; d++) {
		struct mt_inner *in = node;
		unsigned int i = inner_slot(in, x);

		if (path) {
			path->lv[d].node = in;
			path->lv[d].idx = i;
		}
		node = in->child[i];
	}
	return node;
}

/* The entry with the largest IOVA <= @x (it may not contain @x). */
static struct mt_entry *pred_of(struct mt_leaf *l, unsigned int ub)
{
	if (ub)
		return &l->e[ub - 1];
	if (l->prev)
		return &l->prev->e[l->prev->n - 1];
	return NULL;
}

struct mt_entry *maptable_find(struct maptable *t, uint64_t iova)
{
	struct mt_leaf *l;
	struct mt_entry *p;

	if (!t->root)
		return NULL;
	l = descend(t, iova, NULL);
	p = pred_of(l, leaf_upper(l, iova));
	return p && mt_contains(p, iova) ? p : NULL;
}

static struct mt_entry *iter_get(struct mt_iter *it)
{
	while (it->leaf && it->idx >= it->leaf->n) {
		it->idx = 0;
		it->leaf = it->leaf->next;
	}
	return it->leaf ? &it->leaf->e[it->idx] : NULL;
}

struct mt_entry *maptable_seek(struct maptable *t, uint64_t iova,
			       struct mt_iter *it)
{
	struct mt_leaf *l;
	unsigned int ub;

	it->leaf = NULL;
	it->idx = 0;
	if (!t->root)
		return NULL;
	l = descend(t, iova, NULL);
	ub = leaf_upper(l, iova);
	if (ub && mt_contains(&l->e[ub - 1], iova)) {
		it->leaf = l;
		it->idx = ub - 1;
	} else if (!ub && l->prev && mt_contains(&l->prev->e[l->prev->n - 1],
						    iova)) {
		it->leaf = l->prev;
		it->idx = l->prev->n - 1;
	} else {
		it->leaf = l;
		it->idx = ub;
	}
	return iter_get(it);
}

struct mt_entry *maptable_first(struct maptable *t, struct mt_iter *it)
{
	it->leaf = t->root ? descend(t, 0, NULL) : NULL;
	it->idx = 0;
	return iter_get(it);
}

struct mt_entry *maptable_next(struct mt_iter *it)
{
	if (!it->leaf)
		return NULL;
	it->idx++;
	return iter_get(it);
}

/* ---- insertion ---- */

/*
 * Lay out a's entries, then b's, with @ins inserted at @gpos of that
 * sequence (NULL: nothing inserted), and give the first @na to a and the rest
 * to b.
 */
static void leaf_spread(struct mt_leaf *a, struct mt_leaf *b,
			const struct mt_entry *ins, unsigned int gpos,
			unsigned int na)
{
	struct mt_entry tmp[2 * LEAF_CAP + 1];
	unsigned int n = 0;

	memcpy(tmp, a->e, a->n * sizeof(tmp[0]));
	n = a->n;
	memcpy(tmp + n, b->e, b->n * sizeof(tmp[0]));
	n += b->n;
	if (ins) {
		memmove(tmp + gpos + 1, tmp + gpos, (n - gpos) * sizeof(tmp[0]));
		tmp[gpos] = *ins;
		n++;
	}
	memcpy(a->e, tmp, na * sizeof(tmp[0]));
	a->n = na;
	memcpy(b->e, tmp + na, (n - na) * sizeof(tmp[0]));
	b->n = n - na;
}

static void leaf_link_after(struct mt_leaf *l, struct mt_leaf *n)
{
	n->prev = l;
	n->next = l->next;
	if (l->next)
		l->next->prev = n;
	l->next = n;
}

static void leaf_unlink(struct mt_leaf *l)
{
	if (l->prev)
		l->prev->next = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

/* Nodes one insert may need, allocated before the tree changes so that an
 * allocation failure leaves it untouched. */
struct mt_spare {
	struct mt_leaf *leaf;
	struct mt_inner *inner[MAX_HEIGHT + 1];
	unsigned int ninner;
};

static struct mt_inner *take_inner(struct maptable *t, struct mt_spare *sp)
{
	t->inners++;
	return sp->inner[--sp->ninner];
}

/*
 * Insert (@key, @child) at index @i of the inner node at depth @d, splitting
 * upwards as needed.
 */
static void inner_insert(struct maptable *t, struct mt_path *path,
			 unsigned int d, unsigned int i, uint64_t key,
			 void *child, struct mt_spare *sp)
{
	struct mt_inner *in = path->lv[d].node;
	uint64_t tk[INNER_CAP + 1];
	void *tc[INNER_CAP + 1];
	struct mt_inner *q;
	unsigned int n, np;

	if (in->n < INNER_CAP) {
		memmove(in->key + i + 1, in->key + i,
			(in->n - i) * sizeof(in->key[0]));
		memmove(in->child + i + 1, in->child + i,
			(in->n - i) * sizeof(in->child[0]));
		in->key[i] = key;
		in->child[i] = child;
		in->n++;
		return;
	}

	/* Split: in keeps the first np children, q takes the rest. */
	n = in->n;
	memcpy(tk, in->key, i * sizeof(tk[0]));
	memcpy(tc, in->child, i * sizeof(tc[0]));
	tk[i] = key;
	tc[i] = child;
	memcpy(tk + i + 1, in->key + i, (n - i) * sizeof(tk[0]));
	memcpy(tc + i + 1, in->child + i, (n - i) * sizeof(tc[0]));
	n++;
	/* Biased at the ends like leaves, but an inner node always keeps two
	 * children, so that a child always has a sibling to merge with. */
	if (i == n - 1)
		np = n - 2;		/* appending: keep in (almost) full */
	else if (i == 0)
		np = 2;
	else
		np = (n + 1) / 2;

	q = take_inner(t, sp);
	memcpy(in->key, tk, np * sizeof(tk[0]));
	memcpy(in->child, tc, np * sizeof(tc[0]));
	in->n = np;
	memcpy(q->key, tk + np, (n - np) * sizeof(tk[0]));
	memcpy(q->child, tc + np, (n - np) * sizeof(tc[0]));
	q->n = n - np;

	if (d == 0) {
		struct mt_inner *r = take_inner(t, sp);

		r->n = 2;
		r->key[0] = 0;
		r->child[0] = in;
		r->key[1] = tk[np];
		r->child[1] = q;
		t->root = r;
		t->height++;
		return;
	}
	inner_insert(t, path, d - 1, path->lv[d - 1].idx + 1, tk[np], q, sp);
}

static int check_extent(const struct mt_entry *e)
{
	if (!e->length || e->length - 1 > UINT64_MAX - e->iova)
		return -EINVAL;
	return 0;
}

int maptable_insert(struct maptable *t, const struct mt_entry *e,
		    struct mt_entry **out, struct mt_entry **conflict)
{
	struct mt_spare sp = { 0 };
	struct mt_path path;
	struct mt_leaf *l, *sib, *nl;
	struct mt_entry *p, *s;
	struct mt_inner *parent = NULL;
	unsigned int pos, ci = 0, na;
	uint64_t last;
	int rc;

	rc = check_extent(e);
	if (rc)
		return rc;
	last = mt_last(e);

	if (!t->root) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->e[0] = *e;
		l->n = 1;
		t->root = l;
		t->leaves++;
		t->count = 1;
		if (out)
			*out = &l->e[0];
		return 0;
	}

	l = descend(t, e->iova, &path);
	pos = leaf_upper(l, e->iova);
	p = pred_of(l, pos);
	if (p && mt_last(p) >= e->iova) {
		if (conflict)
			*conflict = p;
		return -EEXIST;
	}
	s = pos < l->n ? &l->e[pos] : (l->next ? &l->next->e[0] : NULL);
	if (s && s->iova <= last) {
		if (conflict)
			*conflict = s;
		return -EEXIST;
	}

	if (l->n < LEAF_CAP) {
		memmove(l->e + pos + 1, l->e + pos,
			(l->n - pos) * sizeof(l->e[0]));
		l->e[pos] = *e;
		l->n++;
		t->count++;
		if (out)
			*out = &l->e[pos];
		return 0;
	}

	if (t->height) {
		parent = path.lv[t->height - 1].node;
		ci = path.lv[t->height - 1].idx;
	}

	/* Full: spill into a sibling with room, if there is one. */
	if (parent && ci > 0 &&
	    ((struct mt_leaf *)parent->child[ci - 1])->n < LEAF_CAP) {
		unsigned int tot, gpos;

		sib = parent->child[ci - 1];
		tot = sib->n + l->n + 1;
		gpos = sib->n + pos;
		na = (tot + 1) / 2;
		leaf_spread(sib, l, e, gpos, na);
		parent->key[ci] = l->e[0].iova;
		t->count++;
		if (out)
			*out = gpos < na ? &sib->e[gpos] : &l->e[gpos - na];
		return 0;
	}
	if (parent && ci + 1 < parent->n &&
	    ((struct mt_leaf *)parent->child[ci + 1])->n < LEAF_CAP) {
		unsigned int tot;

		sib = parent->child[ci + 1];
		tot = l->n + sib->n + 1;
		na = (tot + 1) / 2;
		leaf_spread(l, sib, e, pos, na);
		parent->key[ci + 1] = sib->e[0].iova;
		t->count++;
		if (out)
			*out = pos < na ? &l->e[pos] : &sib->e[pos - na];
		return 0;
	}

	/* Split. Allocate every node the split can need first. */
	sp.leaf = malloc(sizeof(*sp.leaf));
	if (!sp.leaf)
		return -ENOMEM;
	{
		unsigned int need = 0;
		int d;

		for (d = (int)t->height - 1; d >= 0; d--) {
			need++;
			if (path.lv[d].node->n < INNER_CAP)
				break;
		}
		if (d < 0)
			need++;		/* a new root */
		/* need counts the node that absorbs the separator too; that
		 * one is not split, so one fewer is enough, but keep it simple
		 * and exact: */
		if (d >= 0)
			need--;
		for (unsigned int k = 0; k < need; k++) {
			sp.inner[k] = malloc(sizeof(struct mt_inner));
			if (!sp.inner[k]) {
				while (k--)
					free(sp.inner[k]);
				free(sp.leaf);
				return -ENOMEM;
			}
			sp.ninner++;
		}
	}

	nl = sp.leaf;
	nl->n = 0;
	if (pos == l->n)
		na = l->n;		/* appending: keep l full */
	else if (pos == 0)
		na = 1;			/* prepending: the new entry alone */
	else
		na = (l->n + 2) / 2;
	leaf_link_after(l, nl);
	leaf_spread(l, nl, e, pos, na);
	t->leaves++;
	t->count++;
	if (out)
		*out = pos < na ? &l->e[pos] : &nl->e[pos - na];

	if (!parent) {
		struct mt_inner *r = take_inner(t, &sp);

		r->n = 2;
		r->key[0] = 0;
		r->child[0] = l;
		r->key[1] = nl->e[0].iova;
		r->child[1] = nl;
		t->root = r;
		t->height = 1;
	} else {
		inner_insert(t, &path, t->height - 1, ci + 1, nl->e[0].iova, nl,
			     &sp);
	}
	/* The count above is exact; free leftovers should that ever change. */
	while (sp.ninner)
		free(sp.inner[--sp.ninner]);
	return 0;
}

/* ---- removal ---- */

static void inner_remove(struct maptable *t, struct mt_path *path,
			 unsigned int d, unsigned int i);

/* @in at depth @d (not the root) has too few children. */
static void inner_rebalance(struct maptable *t, struct mt_path *path,
			    unsigned int d)
{
	struct mt_inner *g = path->lv[d - 1].node;
	unsigned int gi = path->lv[d - 1].idx, ai;
	struct mt_inner *a, *b;
	uint64_t tk[2 * INNER_CAP];
	void *tc[2 * INNER_CAP];
	unsigned int n, na;

	if (gi > 0) {
		ai = gi - 1;
	} else {
		ai = 0;
	}
	a = g->child[ai];
	b = g->child[ai + 1];

	if (a->n + b->n <= INNER_CAP) {
		b->key[0] = g->key[ai + 1];
		memcpy(a->key + a->n, b->key, b->n * sizeof(b->key[0]));
		memcpy(a->child + a->n, b->child, b->n * sizeof(b->child[0]));
		a->n += b->n;
		free(b);
		t->inners--;
		inner_remove(t, path, d - 1, ai + 1);
		return;
	}

	n = 0;
	memcpy(tk, a->key, a->n * sizeof(tk[0]));
	memcpy(tc, a->child, a->n * sizeof(tc[0]));
	n = a->n;
	b->key[0] = g->key[ai + 1];
	memcpy(tk + n, b->key, b->n * sizeof(tk[0]));
	memcpy(tc + n, b->child, b->n * sizeof(tc[0]));
	n += b->n;
	na = (n + 1) / 2;
	memcpy(a->key, tk, na * sizeof(tk[0]));
	memcpy(a->child, tc, na * sizeof(tc[0]));
	a->n = na;
	memcpy(b->key, tk + na, (n - na) * sizeof(tk[0]));
	memcpy(b->child, tc + na, (n - na) * sizeof(tc[0]));
	b->n = n - na;
	g->key[ai + 1] = tk[na];
	b->key[0] = 0;
}

/* Drop key/child @i (>= 1) of the inner node at depth @d. */
static void inner_remove(struct maptable *t, struct mt_path *path,
			 unsigned int d, unsigned int i)
{
	struct mt_inner *in = path->lv[d].node;

	memmove(in->key + i, in->key + i + 1,
		(in->n - i - 1) * sizeof(in->key[0]));
	memmove(in->child + i, in->child + i + 1,
		(in->n - i - 1) * sizeof(in->child[0]));
	in->n--;

	if (d == 0) {
		if (in->n == 1) {
			t->root = in->child[0];
			t->height--;
			free(in);
			t->inners--;
		}
		return;
	}
	if (in->n < INNER_MIN)
		inner_rebalance(t, path, d);
}

/* @l just lost entries; restore the fill invariant. */
static void leaf_rebalance(struct maptable *t, struct mt_path *path,
			   struct mt_leaf *l)
{
	struct mt_inner *parent;
	struct mt_leaf *a, *b;
	unsigned int ci, ai;

	if (!t->height) {
		if (!l->n) {
			free(l);
			t->leaves--;
			t->root = NULL;
		}
		return;
	}
	if (l->n >= LEAF_MIN)
		return;

	parent = path->lv[t->height - 1].node;
	ci = path->lv[t->height - 1].idx;
	ai = ci > 0 ? ci - 1 : 0;
	a = parent->child[ai];
	b = parent->child[ai + 1];

	if (a->n + b->n <= LEAF_CAP) {
		memcpy(a->e + a->n, b->e, b->n * sizeof(b->e[0]));
		a->n += b->n;
		leaf_unlink(b);
		free(b);
		t->leaves--;
		inner_remove(t, path, t->height - 1, ai + 1);
		return;
	}
	leaf_spread(a, b, NULL, 0, (a->n + b->n + 1) / 2);
	parent->key[ai + 1] = b->e[0].iova;
}

int maptable_remove(struct maptable *t, uint64_t iova)
{
	struct mt_path path;
	struct mt_leaf *l;
	unsigned int ub;

	if (!t->root)
		return -ENOENT;
	l = descend(t, iova, &path);
	ub = leaf_upper(l, iova);
	if (!ub || l->e[ub - 1].iova != iova)
		return -ENOENT;
	memmove(l->e + ub - 1, l->e + ub, (l->n - ub) * sizeof(l->e[0]));
	l->n--;
	t->count--;
	leaf_rebalance(t, &path, l);
	return 0;
}

size_t maptable_remove_range(struct maptable *t, uint64_t first,
			     uint64_t last)
{
	struct mt_iter it;
	struct mt_entry *lo, *hi;
	size_t removed = 0;

	if (!t->root || first > last)
		return 0;

	/* Everything goes: drop the nodes wholesale. */
	lo = maptable_first(t, &it);
	it.leaf = descend(t, UINT64_MAX, NULL);
	hi = &it.leaf->e[it.leaf->n - 1];
	if (lo->iova >= first && mt_last(hi) <= last) {
		removed = t->count;
		maptable_clear(t);
		return removed;
	}

	for (;;) {
		struct mt_path path;
		struct mt_leaf *l = descend(t, first, &path);
		unsigned int pos, j, n;
		uint64_t next;

		/* First entry starting at or after first. */
		pos = leaf_upper(l, first);
		if (pos && l->e[pos - 1].iova == first)
			pos--;
		if (pos == l->n) {
			if (!l->next)
				break;
			first = l->next->e[0].iova;
			if (first > last)
				break;
			continue;
		}
		n = l->n;
		for (j = pos; j < n && l->e[j].iova <= last &&
			      mt_last(&l->e[j]) <= last; j++)
			;
		if (j == pos)
			break;
		/* Where to continue: past the last removed entry. */
		next = mt_last(&l->e[j - 1]);
		memmove(l->e + pos, l->e + j, (n - j) * sizeof(l->e[0]));
		l->n -= j - pos;
		t->count -= j - pos;
		removed += j - pos;
		leaf_rebalance(t, &path, l);
		if (j < n || next == UINT64_MAX || !t->root)
			break;
		first = next + 1;
		if (first > last)
			break;
	}
	return removed;
}

/* ---- consistency check ---- */

struct check_state {
	const struct mt_leaf *prev_leaf;
	const struct mt_entry *prev;
	size_t count, leaves, inners;
	int bad;
};

static void check_node(const void *node, unsigned int height, bool is_root,
		       bool has_lo, uint64_t lo, bool has_hi, uint64_t hi,
		       struct check_state *cs)
{
	if (!height) {
		const struct mt_leaf *l = node;

		cs->leaves++;
		/* Biased splits may leave a leaf below LEAF_MIN: only
		 * emptiness is a broken invariant. */
		if (l->n > LEAF_CAP || !l->n)
			cs->bad = 1;
		if (l->prev != cs->prev_leaf)
			cs->bad = 1;
		if (cs->prev_leaf && cs->prev_leaf->next != l)
			cs->bad = 1;
		cs->prev_leaf = l;
		for (unsigned int i = 0; i < l->n; i++) {
			const struct mt_entry *e = &l->e[i];

			if (check_extent(e))
				cs->bad = 1;
			if (has_lo && e->iova < lo)
				cs->bad = 1;
			if (has_hi && e->iova >= hi)
				cs->bad = 1;
			if (cs->prev && mt_last(cs->prev) >= e->iova)
				cs->bad = 1;
			cs->prev = e;
			cs->count++;
		}
		return;
	}

	const struct mt_inner *in = node;

	cs->inners++;
	if (in->n > INNER_CAP || in->n < 2)
		cs->bad = 1;
	for (unsigned int i = 0; i < in->n; i++) {
		bool clo = i ? true : has_lo, chi = i + 1 < in->n ? true : has_hi;
		uint64_t vlo = i ? in->key[i] : lo;
		uint64_t vhi = i + 1 < in->n ? in->key[i + 1] : hi;

		if (i && (has_lo && in->key[i] < lo))
			cs->bad = 1;
		if (i && (has_hi && in->key[i] >= hi))
			cs->bad = 1;
		if (i > 1 && in->key[i] <= in->key[i - 1])
			cs->bad = 1;
		check_node(in->child[i], height - 1, false, clo, vlo, chi, vhi,
			   cs);
	}
}

int maptable_check(const struct maptable *t)
{
	struct check_state cs = { 0 };

	if (!t->root)
		return t->count || t->height || t->leaves || t->inners ?
			       -EUCLEAN : 0;
	check_node(t->root, t->height, true, false, 0, false, 0, &cs);
	if (cs.prev_leaf && cs.prev_leaf->next)
		cs.bad = 1;
	if (cs.count != t->count || cs.leaves != t->leaves ||
	    cs.inners != t->inners)
		cs.bad = 1;
	return cs.bad ? -EUCLEAN : 0;
}
