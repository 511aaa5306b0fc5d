/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: sequences of IOAS calls on a fake kernel, checked after
 * every call against a reference model of each IOAS's mappings.
 *
 * Two IOAS of one context (fresh per input, on one fake kernel per process).
 * Fixed IOVAs fall in a window of WINDOW_PAGES pages from 0, so they collide
 * with each other and with the kernel's choices (the lowest free IOVA);
 * memory comes from a BUF_PAGES-page buffer mapped once. The model is a list
 * of mappings (iova, length, vaddr, prot) per IOAS. It predicts each call's
 * result: -EEXIST for a fixed map or copy over a mapping, -ENOENT for an
 * unmap that would split a mapping or finds nothing (0 with IDEMPOTENT), a
 * copy whose source is not exactly one mapping, -EPERM for a writable copy
 * of pages first mapped read-only; success otherwise. An armed
 * fault (iommufd_fake_fail_nth) that fires must fail the call and leave the
 * table as it was (an unmap: as it was, less a prefix of the runs it would
 * have unmapped, which *unmapped reports). After every call the table
 * (iommufd_ioas_for_each_mapping, mapping_count, translate) must equal the
 * model; at the end unmap_all must report the model's bytes. Any error the
 * library logs is a failure too, and so is any warning but for a failed
 * kernel call.
 *
 * Input: a sequence of operations, one opcode byte then its argument bytes
 * (missing bytes read as 0).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <iommufd/ctx.h>
#include <iommufd/fake.h>
#include <iommufd/ioas.h>

#define PAGE 4096ull
#define WINDOW_PAGES 128u
#define BUF_PAGES 32u
#define MAX_OPS 200u
#define MAX_MAPS 512u

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz-ioas: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                    \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct iommufd_fake *fake;
static uint8_t *buf;

struct mapping {
	uint64_t iova, length;
	uintptr_t vaddr;
	uint32_t prot;
	bool writable;	/* the pages: mapped first with WRITE (copies inherit) */
};

struct model {
	size_t n;
	struct mapping m[MAX_MAPS];
};

static struct model models[2];

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t next(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t model_last(const struct mapping *m)
{
	return m->iova + m->length - 1;
}

/* Does [first, last] intersect a mapping of @md? */
static bool model_overlaps(const struct model *md, uint64_t first, uint64_t last)
{
	for (size_t i = 0; i < md->n; i++)
		if (md->m[i].iova <= last && model_last(&md->m[i]) >= first)
			return true;
	return false;
}

static int model_find(const struct model *md, uint64_t iova)
{
	for (size_t i = 0; i < md->n; i++)
		if (md->m[i].iova <= iova && iova <= model_last(&md->m[i]))
			return (int)i;
	return -1;
}

static void model_add(struct model *md, uint64_t iova, uint64_t length,
		      uintptr_t vaddr, uint32_t prot, bool writable)
{
	CHECK(md->n < MAX_MAPS);
	md->m[md->n++] = (struct mapping){ iova, length, vaddr, prot, writable };
}

static void model_del(struct model *md, size_t i)
{
	md->m[i] = md->m[--md->n];
}

static uint64_t model_bytes(const struct model *md)
{
	uint64_t b = 0;

	for (size_t i = 0; i < md->n; i++)
		b += md->m[i].length;
	return b;
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* ---- comparing the library's table with the model ---- */

struct walk {
	struct mapping got[MAX_MAPS];
	size_t n;
	bool overflow;
};

static int walk_fn(const struct iommufd_mapping *m, void *data)
{
	struct walk *w = data;

	CHECK(m->fd == -1);
	CHECK(m->offset == 0);
	if (w->n == MAX_MAPS) {
		w->overflow = true;
		return 1;
	}
	w->got[w->n++] = (struct mapping){ m->iova, m->length,
					   (uintptr_t)m->vaddr, m->flags };
	return 0;
}

static struct walk walk;

/* The table into walk.got, in IOVA order. */
static void read_table(struct iommufd_ioas *ioas)
{
	walk.n = 0;
	walk.overflow = false;
	CHECK(iommufd_ioas_for_each_mapping(ioas, 0, UINT64_MAX, walk_fn,
					    &walk) == 0);
	CHECK(!walk.overflow);
	for (size_t i = 1; i < walk.n; i++)
		CHECK(model_last(&walk.got[i - 1]) < walk.got[i].iova);
	CHECK(iommufd_ioas_mapping_count(ioas) == walk.n);
}

static void check_equal(struct iommufd_ioas *ioas, struct model *md)
{
	read_table(ioas);
	CHECK(walk.n == md->n);
	qsort(md->m, md->n, sizeof(md->m[0]), cmp_mapping);
	for (size_t i = 0; i < md->n; i++) {
		CHECK(walk.got[i].iova == md->m[i].iova);
		CHECK(walk.got[i].length == md->m[i].length);
		CHECK(walk.got[i].vaddr == md->m[i].vaddr);
		CHECK(walk.got[i].prot == md->m[i].prot);
	}
}

/* ---- the library's log: an error is a finding; so is a warning, unless a
 * kernel call was made to fail (the library reports those as warnings) ---- */

static bool fault_armed;
static bool warn_ok;	/* a kernel call is expected to fail */

static void log_fn(void *data, enum iommufd_log_level level, const char *msg)
{
	(void)data;
	if (level <= IOMMUFD_LOG_ERR ||
	    (level <= IOMMUFD_LOG_WARN && !fault_armed && !warn_ok)) {
		fprintf(stderr, "fuzz-ioas: library logged (%d): %s\n", level,
			msg);
		__builtin_trap();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(iommufd_fake_new(&fake) == 0);
	buf = mmap(NULL, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	memset(buf, 0xa5, BUF_PAGES * PAGE);
	return 0;
}

static const int fault_errs[] = { EIO, ENOMEM, EFAULT, EINVAL };

struct fault {
	unsigned long n;	/* 0: none armed */
	int err;
	unsigned long calls_before;
};

static void arm(struct fault *f)
{
	if (f->n) {
		iommufd_fake_fail_nth(fake, f->n, f->err);
		fault_armed = true;
		f->calls_before = iommufd_fake_call_count(fake);
	}
}

/* Disarm; did the armed fault fire during the call? */
static bool fired(struct fault *f)
{
	bool yes = false;

	if (f->n) {
		yes = iommufd_fake_call_count(fake) - f->calls_before >= f->n;
		iommufd_fake_fail_clear(fake);
		fault_armed = false;
		f->n = 0;
	}
	return yes;
}

/* The result of a map or copy predicted to give @want. */
static bool check_map_rc(int rc, int want, bool hit, int err)
{
	if (hit) {
		/* A table check that fails comes before any kernel call. */
		CHECK(want == 0 || want == -EPERM);
		CHECK(rc == -err);
		return false;
	}
	CHECK(rc == want);
	return rc == 0;
}

static void op_unmap(struct iommufd_ioas *ioas, struct model *md,
		     uint64_t iova, uint64_t length, uint32_t flags,
		     struct fault *f)
{
	static struct model before;
	bool split = false, any = false;
	uint64_t want_bytes = 0, unmapped = UINT64_MAX;
	bool all = iova == 0 && length == UINT64_MAX;
	uint64_t last = iova + (length - 1);
	int want, rc;
	bool hit;

	for (size_t i = 0; i < md->n; i++) {
		const struct mapping *m = &md->m[i];

		if (m->iova > last || model_last(m) < iova)
			continue;
		any = true;
		if (m->iova < iova || model_last(m) > last)
			split = true;
		want_bytes += m->length;
	}
	if (all)
		want = 0;
	else if (split)
		want = -ENOENT;
	else if (!any)
		want = flags & IOMMUFD_UNMAP_IDEMPOTENT ? 0 : -ENOENT;
	else
		want = 0;

	arm(f);
	rc = iommufd_ioas_unmap(ioas, iova, length, flags, &unmapped);
	hit = fired(f);
	if (!hit) {
		CHECK(rc == want);
		if (rc) {
			CHECK(unmapped == UINT64_MAX);
			check_equal(ioas, md);
			return;
		}
		CHECK(unmapped == want_bytes);
		for (size_t i = 0; i < md->n;)
			if (md->m[i].iova >= iova && model_last(&md->m[i]) <= last)
				model_del(md, i);
			else
				i++;
		check_equal(ioas, md);
		return;
	}

	/* The fault fired: only a call that went to the kernel sees it. */
	CHECK(want == 0 && (any || all));
	CHECK(rc == -f->err);
	before = *md;
	read_table(ioas);
	/* What is left is the model less some of the range's mappings... */
	{
		uint64_t gone = 0, lowest_kept = UINT64_MAX, highest_gone = 0;
		size_t kept = 0;

		qsort(before.m, before.n, sizeof(before.m[0]), cmp_mapping);
		for (size_t i = 0, j = 0; i < before.n; i++) {
			const struct mapping *m = &before.m[i];
			bool in = all || (m->iova >= iova && model_last(m) <= last);

			if (j < walk.n && walk.got[j].iova == m->iova) {
				CHECK(walk.got[j].length == m->length &&
				      walk.got[j].vaddr == m->vaddr &&
				      walk.got[j].prot == m->prot);
				j++;
				kept++;
				if (in && m->iova < lowest_kept)
					lowest_kept = m->iova;
			} else {
				CHECK(in);
				gone += m->length;
				highest_gone = m->iova;
			}
		}
		CHECK(kept == walk.n);
		/* ...a prefix, in IOVA order (an unmap_all is all or nothing),
		 * reported in *unmapped when there is any. */
		if (gone) {
			CHECK(!all);
			CHECK(highest_gone < lowest_kept);
			CHECK(unmapped == gone);
		} else {
			CHECK(unmapped == UINT64_MAX);
		}
		*md = before;
		for (size_t i = 0; i < md->n;)
			if (md->m[i].iova <= highest_gone && gone &&
			    md->m[i].iova >= iova && model_last(&md->m[i]) <= last)
				model_del(md, i);
			else
				i++;
		check_equal(ioas, md);
	}
}

static void run(struct iommufd_ioas *ioas[2], struct input *in)
{
	struct fault f = { 0 };
	unsigned int ops = 0;

	while (in->left && ops++ < MAX_OPS) {
		uint8_t op = next(in);
		unsigned int which = op >> 7;
		unsigned int code = (op & 0x7f) % 10;
		struct iommufd_ioas *io = ioas[which];
		struct model *md = &models[which];
		bool hit;
		int rc;

		switch (code) {
		case 0: /* map at a fixed IOVA */
		case 1: /* map where the kernel chooses */
		{
			bool fixed = code == 0;
			uint64_t page = next(in) % WINDOW_PAGES;
			uint64_t npages = next(in) % 8 + 1;
			uint64_t off = next(in) % (BUF_PAGES - npages + 1);
			uint32_t prot = next(in) % 3 + 1;
			uint64_t iova = page * PAGE, len = npages * PAGE;
			uint8_t *va = buf + off * PAGE;
			int want = fixed && model_overlaps(md, iova, iova + len - 1)
					   ? -EEXIST : 0;

			arm(&f);
			rc = iommufd_ioas_map(io, va, len, &iova,
					      prot | (fixed ? IOMMUFD_MAP_FIXED_IOVA : 0));
			hit = fired(&f);
			if (check_map_rc(rc, want, hit, f.err)) {
				/* The kernel never chooses IOVA 0. */
				CHECK(fixed ? iova == page * PAGE : iova != 0);
				CHECK(iova % PAGE == 0 &&
				      !model_overlaps(md, iova, iova + len - 1));
				model_add(md, iova, len, (uintptr_t)va, prot,
					  prot & IOMMUFD_MAP_WRITE);
			}
			check_equal(io, md);
			break;
		}
		case 2: /* unmap a range */
		case 3: /* unmap a range, IDEMPOTENT */
		{
			uint64_t page = next(in) % (WINDOW_PAGES + 8);
			uint64_t npages = next(in) % 32 + 1;

			op_unmap(io, md, page * PAGE, npages * PAGE,
				 code == 3 ? IOMMUFD_UNMAP_IDEMPOTENT : 0, &f);
			break;
		}
		case 4: /* unmap one mapping exactly */
		{
			const struct mapping *m;

			if (!md->n)
				break;
			m = &md->m[next(in) % md->n];
			op_unmap(io, md, m->iova, m->length, 0, &f);
			break;
		}
		case 5: /* unmap everything */
		{
			uint64_t want = model_bytes(md), bytes = UINT64_MAX;

			if (next(in) & 1) {
				op_unmap(io, md, 0, UINT64_MAX, 0, &f);
				break;
			}
			arm(&f);
			rc = iommufd_ioas_unmap_all(io, &bytes);
			hit = fired(&f);
			if (hit) {
				CHECK(rc == -f.err && bytes == UINT64_MAX);
			} else {
				CHECK(rc == 0 && bytes == want);
				md->n = 0;
			}
			check_equal(io, md);
			break;
		}
		case 6: /* copy from the other IOAS, or from this one */
		{
			uint8_t a = next(in), b = next(in), c = next(in);
			unsigned int swhich = a & 1 ? which : !which;
			struct model *smd = &models[swhich];
			bool fixed = a & 2;
			uint32_t prot = (a >> 2) % 3 + 1;
			uint64_t src_iova, len, dst_iova = (c % WINDOW_PAGES) * PAGE;
			uintptr_t va = 0;
			bool writable = false;
			int want, si;

			if (smd->n && b < 224) {
				const struct mapping *m = &smd->m[b % smd->n];

				src_iova = m->iova;
				len = m->length;
				/* Sometimes a part of it, or more. */
				if (c & 0x80 && len > PAGE)
					len -= PAGE;
				else if ((c & 0xc0) == 0x40)
					len += PAGE;
			} else {
				src_iova = (b % WINDOW_PAGES) * PAGE;
				len = (c % 4 + 1) * PAGE;
			}
			si = model_find(smd, src_iova);
			if (si < 0 || smd->m[si].iova != src_iova ||
			    smd->m[si].length != len)
				want = -ENOENT;
			else if (fixed && model_overlaps(md, dst_iova,
							 dst_iova + len - 1))
				want = -EEXIST;
			/* The kernel's copy cannot make read-only pages
			 * writable (and says so: the library warns). */
			else if ((prot & IOMMUFD_MAP_WRITE) && !smd->m[si].writable)
				want = -EPERM;
			else
				want = 0;
			if (si >= 0) {
				va = smd->m[si].vaddr;
				writable = smd->m[si].writable;
			}
			warn_ok = want == -EPERM;

			arm(&f);
			rc = iommufd_ioas_copy(io, &dst_iova, ioas[swhich],
					       src_iova, len,
					       prot | (fixed ? IOMMUFD_MAP_FIXED_IOVA : 0));
			hit = fired(&f);
			if (check_map_rc(rc, want, hit, f.err)) {
				CHECK(fixed ? dst_iova == (c % WINDOW_PAGES) * PAGE
					    : dst_iova != 0);
				CHECK(dst_iova % PAGE == 0 &&
				      !model_overlaps(md, dst_iova,
						      dst_iova + len - 1));
				model_add(md, dst_iova, len, va, prot, writable);
			}
			warn_ok = false;
			check_equal(io, md);
			check_equal(ioas[swhich], smd);
			break;
		}
		case 7: /* translate */
		{
			uint64_t iova = (next(in) % (WINDOW_PAGES + 8)) * PAGE +
					next(in) * 16u;
			struct iommufd_mapping m;
			int i = model_find(md, iova);

			memset(&m, 0x5a, sizeof(m));
			rc = iommufd_ioas_translate(io, iova, &m);
			if (i < 0) {
				CHECK(rc == -ENOENT);
			} else {
				CHECK(rc == 0);
				CHECK(m.iova == md->m[i].iova &&
				      m.length == md->m[i].length &&
				      (uintptr_t)m.vaddr == md->m[i].vaddr &&
				      m.flags == md->m[i].prot && m.fd == -1);
			}
			break;
		}
		case 8: /* walk part of the table */
		{
			uint64_t first = (next(in) % WINDOW_PAGES) * PAGE;
			uint64_t last = first + (next(in) % 64) * PAGE + PAGE - 1;
			size_t want = 0;

			walk.n = 0;
			walk.overflow = false;
			CHECK(iommufd_ioas_for_each_mapping(io, first, last,
							    walk_fn, &walk) == 0);
			for (size_t i = 0; i < md->n; i++)
				if (md->m[i].iova <= last &&
				    model_last(&md->m[i]) >= first)
					want++;
			CHECK(walk.n == want);
			for (size_t i = 0; i < walk.n; i++)
				CHECK(walk.got[i].iova <= last &&
				      model_last(&walk.got[i]) >= first);
			break;
		}
		case 9: /* a fault in one of the next call's kernel calls */
		{
			uint8_t a = next(in);

			f.n = a % 3 + 1;
			f.err = fault_errs[(a >> 2) % 4];
			continue;	/* armed for the next operation */
		}
		}
		f.n = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iommufd_ctx_opts opts = {
		.sz = sizeof(opts),
		.log_fn = log_fn,
		.log_level = IOMMUFD_LOG_WARN,
	};
	struct iommufd_ioas *ioas[2];
	struct input in = { data, size };
	struct iommufd_ctx *ctx;
	unsigned int files;
	uint64_t bytes;

	files = iommufd_fake_open_files(fake);
	CHECK(iommufd_fake_ctx_new(fake, &opts, &ctx) == 0);
	CHECK(iommufd_ioas_new(ctx, &ioas[0]) == 0);
	CHECK(iommufd_ioas_new(ctx, &ioas[1]) == 0);
	models[0].n = models[1].n = 0;

	run(ioas, &in);

	for (int i = 0; i < 2; i++) {
		check_equal(ioas[i], &models[i]);
		bytes = UINT64_MAX;
		CHECK(iommufd_ioas_unmap_all(ioas[i], &bytes) == 0);
		CHECK(bytes == model_bytes(&models[i]));
		CHECK(iommufd_ioas_mapping_count(ioas[i]) == 0);
		CHECK(iommufd_ioas_destroy(ioas[i]) == 0);
	}
	iommufd_ctx_free(ctx);
	CHECK(iommufd_fake_open_files(fake) == files);
	CHECK(iommufd_fake_pinned_bytes(fake) == 0);
	return 0;
}
