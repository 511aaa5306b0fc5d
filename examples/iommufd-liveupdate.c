/* SPDX-License-Identifier: MIT */
/*
 * iommufd-liveupdate: what a VMM does to replace itself with a new build of
 * itself while its device keeps DMAing into guest RAM.
 *
 *   iommufd-liveupdate [--bdf DDDD:BB:DD.F] [--backend iommufd|type1]
 *
 * The old copy maps a memfd ("guest RAM") at a fixed IOVA, attaches QEMU's
 * edu device and lets it write numbered pages into guest RAM. It then
 * prepares a live update, starts one more transfer and execs a new copy of
 * itself (/proc/self/exe ... --resume) without waiting for it. The new copy
 * restores the context over the fds it inherited, measures how long the
 * device could not be driven (the blackout), checks that every page the
 * device wrote before the exec, the one in flight included, is in guest
 * RAM, and carries on DMAing. Under QEMU a transfer takes ~100 ms, so the
 * last one really runs through the exec; the fake kernel's edu is
 * synchronous and says so.
 *
 * One line per step. Exit 0 when every step passed, 77 when this machine
 * cannot do it (no edu device on vfio-pci, a kernel without what live
 * update needs), 1 when a step failed. It runs on libiommufd's fake kernel
 * where there is no VFIO, and on a real kernel with edu bound to vfio-pci.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>
#include <iommufd/liveupdate.h>

#include "edu.h"
#include "example-ctx.h"
#include "example-edu.h"
#include "example-steps.h"

#define PROG "iommufd-liveupdate"

/* edu's DMA mask is 28 bits: guest RAM sits below it. */
#define RAM_IOVA UINT64_C(0x1000000)
#define RAM_SIZE (UINT64_C(2) << 20)
#define PAGE 4096u
/* Page 0 of guest RAM stages what the device is given to write back; the
 * transfer of sequence number n lands in page 1 + n. A transfer must stay
 * shorter than edu's buffer (edu.h); the rest of each page must stay zero. */
#define STAGE_PAGE 0u
#define XFER_LEN 3000u
#define PHASE1_XFERS 4u
#define PHASE2_XFERS 4u
#define MAX_SEQ (RAM_SIZE / PAGE - 2)

#define STATE_MAGIC UINT32_C(0x4c55564d)	/* "LUVM" */
#define STATE_VERSION 1u

/* What the new copy needs, in the description's user data: fixed at
 * prepare time. */
struct vmm_state {
	uint32_t magic;
	uint32_t version;
	uint64_t ram_iova;
	uint64_t ram_size;
	uint32_t next_seq;	/* the in-flight transfer's; the next is +1 */
	uint32_t xfer_len;
	char bdf[64];
};

/*
 * The clock travels in a small memfd passed as an extra fd, not in the user
 * data: prepare copies the user data, and the moment of the exec is only
 * known after prepare returned.
 */
struct vmm_clock {
	uint32_t magic;
	uint32_t version;
	uint64_t prepare_ns;	/* time inside iommufd_lu_prepare() */
	uint64_t exec_ns;	/* CLOCK_MONOTONIC right before the exec */
	uint32_t busy_at_exec;	/* edu's DMA command register then */
	uint32_t reserved;
};

struct run {
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	struct iommufd_device *dev;
	struct iommufd_lu *lu;
	uint8_t *ram;
	int ram_fd;
	int clock_fd;
	bool attached, mapped;
	const char *bdf;		/* --bdf */
	struct iommufd_vfio_device_info edu;
	/* the new copy */
	struct vmm_state st;
	uint64_t restored_ns;
	bool busy_at_exec;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The byte at @i of the page the transfer @seq writes: differs from page to
 * page and from transfer to transfer, and is never the zero of fresh RAM. */
static uint8_t pattern(uint32_t seq, size_t i)
{
	return (uint8_t)((seq * 131u + i * 7u + (i >> 8)) | 0x01u);
}

static uint8_t *seq_page(uint8_t *ram, uint32_t seq)
{
	return ram + (size_t)(1 + seq) * PAGE;
}

/* Where the first difference is in page @seq, or -1 when it holds exactly
 * the transfer's bytes and zeroes after them. */
static long check_page(const uint8_t *page, uint32_t seq, uint32_t len,
		       uint8_t *got, uint8_t *want)
{
	for (size_t i = 0; i < PAGE; i++) {
		uint8_t w = i < len ? pattern(seq, i) : 0;

		if (page[i] != w) {
			*got = page[i];
			*want = w;
			return (long)i;
		}
	}
	return -1;
}

/*
 * Load edu's buffer with transfer @seq's bytes (staged in guest RAM, copied
 * RAM -> device, waited for), then start the copy device -> RAM into its
 * page. The second half is not waited for: the caller decides.
 */
static int xfer_start(struct iommufd_device *dev, uint8_t *ram, uint64_t iova,
		      uint32_t seq, uint32_t len, const char **why)
{
	uint8_t *stage = ram + (size_t)STAGE_PAGE * PAGE;
	int ret;

	for (size_t i = 0; i < len; i++)
		stage[i] = pattern(seq, i);
	ret = edu_dma(dev, (uint32_t)(iova + STAGE_PAGE * PAGE), EDU_BUF_ADDR,
		      len, 0, EDU_DMA_TIMEOUT_MS, why);
	if (ret)
		return ret;
	*why = "starting the DMA device -> RAM";
	return edu_dma_start(dev, EDU_BUF_ADDR,
			     (uint32_t)(iova + (uint64_t)(1 + seq) * PAGE), len,
			     EDU_DMA_TO_RAM);
}

/* Transfers [first, first + n): each started, waited for and checked. */
static int dma_phase(struct iommufd_device *dev, uint8_t *ram, uint64_t iova,
		     uint32_t first, uint32_t n, const char *step)
{
	const char *why = NULL;
	uint8_t got, want;
	long at;
	int ret;

	for (uint32_t seq = first; seq < first + n; seq++) {
		ret = xfer_start(dev, ram, iova, seq, XFER_LEN, &why);
		if (!ret) {
			why = "waiting for the DMA device -> RAM";
			ret = edu_dma_wait(dev, EDU_DMA_TIMEOUT_MS);
		}
		if (ret)
			return failed(EXIT_FAILURE, step, "transfer %u: %s: %s",
				      seq, why, strerror(-ret));
		at = check_page(seq_page(ram, seq), seq, XFER_LEN, &got, &want);
		if (at >= 0)
			return failed(EXIT_FAILURE, step,
				      "transfer %u: byte %ld of IOVA 0x%" PRIx64 " is 0x%02x, expected 0x%02x",
				      seq, at, iova + (uint64_t)(1 + seq) * PAGE,
				      got, want);
	}
	ok(step, "%u transfers of %u bytes device -> RAM, sequence %u-%u, each checked",
	   n, XFER_LEN, first, first + n - 1);
	return 0;
}

/* ---- the old copy ---------------------------------------------------- */

static int find_edu(struct run *r)
{
	const char *step = "find the edu device";
	int ret = example_find_edu(PROG, step, &r->ctx, r->bdf, &r->edu);

	if (ret)
		return ret;
	ok(step, "%s, %s, IOMMU group %d", r->edu.name,
	   r->edu.has_cdev ? r->edu.cdev_path : r->edu.group_path,
	   r->edu.iommu_group);
	return 0;
}

static int setup_vm(struct run *r)
{
	uint64_t iova = RAM_IOVA;
	uint16_t cmd = 0, cmd_after = 0;
	const char *why = NULL;
	int ret;

	ret = iommufd_device_open(r->ctx, r->edu.name, NULL, &r->dev);
	if (ret)
		return failed(ret == -ENOENT || ret == -ENODEV ? EXIT_SKIP : EXIT_FAILURE,
			      "open the device", "%s: %s", r->edu.name,
			      strerror(-ret));
	ret = iommufd_ioas_new(r->ctx, &r->ioas);
	if (!ret)
		ret = iommufd_device_attach(r->dev, r->ioas, 0, NULL);
	if (ret)
		return failed(EXIT_FAILURE, "attach to an IOAS", "%s",
			      strerror(-ret));
	r->attached = true;
	ok("open and attach the device", "%s, devid %u, IOAS %u", r->edu.name,
	   iommufd_device_id(r->dev), iommufd_ioas_id(r->ioas));

	/* Guest RAM in a memfd: a file is what the new process can map
	 * again; anonymous memory would die with this one. */
	r->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (r->ram_fd < 0 || ftruncate(r->ram_fd, (off_t)RAM_SIZE))
		return failed(EXIT_FAILURE, "guest RAM", "memfd: %s",
			      strerror(errno));
	r->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      r->ram_fd, 0);
	if (r->ram == MAP_FAILED) {
		r->ram = NULL;
		return failed(EXIT_FAILURE, "guest RAM", "mmap: %s",
			      strerror(errno));
	}
	ret = iommufd_ioas_map_file(r->ioas, r->ram_fd, 0, RAM_SIZE, &iova,
				    IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
				    IOMMUFD_MAP_FIXED_IOVA);
	if (ret == -EOPNOTSUPP)
		return failed(EXIT_SKIP, "guest RAM",
			      "this kernel's iommufd has no IOMMU_IOAS_MAP_FILE (Linux 6.13+): guest RAM mapped from process memory cannot change process");
	if (ret)
		return failed(EXIT_FAILURE, "guest RAM",
			      "iommufd_ioas_map_file: %s", strerror(-ret));
	r->mapped = true;
	ok("guest RAM", "%" PRIu64 " MiB memfd at IOVA 0x%" PRIx64 "-0x%" PRIx64,
	   RAM_SIZE >> 20, iova, iova + RAM_SIZE - 1);

	ret = edu_bus_master(r->dev, &cmd, &cmd_after, &why);
	if (ret)
		return failed(EXIT_FAILURE, "enable bus mastering", "%s: %s",
			      why, strerror(-ret));
	ok("enable bus mastering", "PCI_COMMAND 0x%04x -> 0x%04x", cmd,
	   cmd_after);
	return 0;
}

struct blockers {
	unsigned int n, kernel;
};

static int print_blocker(const struct iommufd_lu_blocker *b, void *data)
{
	struct blockers *bl = data;

	bl->n++;
	switch (b->kind) {
	case IOMMUFD_LU_BLOCK_FEATURE:
		bl->kernel++;
		printf("  blocker: the kernel lacks %s: %s\n",
		       iommufd_feature_name(b->feature) ?
		       iommufd_feature_name(b->feature) : "a feature",
		       b->what ? b->what : "");
		break;
	case IOMMUFD_LU_BLOCK_MAPPING:
		printf("  blocker: IOAS %u IOVA 0x%" PRIx64 "+0x%" PRIx64 ": %s\n",
		       b->ioas_id, b->iova, b->length, b->what ? b->what : "");
		break;
	default:
		printf("  blocker: %s\n", b->what ? b->what : "library state");
		break;
	}
	return 0;
}

/*
 * This program's file by name, not "/proc/self/exe" itself: under valgrind
 * that would exec the tool rather than this program (the tool answers
 * readlink() for the program it runs).
 */
static const char *self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0 || (size_t)n >= len - 1)
		return "/proc/self/exe";
	buf[n] = '\0';
	return buf;
}

/* Prepare, start the last transfer and exec. Returns only on failure. */
static int handoff(struct run *r, int argc, char **argv)
{
	struct iommufd_lu_prepare_opts opts;
	struct blockers bl = { 0 };
	struct vmm_state st;
	struct vmm_clock clk;
	const char *why = NULL;
	char **nargv, self[4096];
	uint64_t t0, t1;
	int ret;

	ret = iommufd_lu_check(r->ctx, print_blocker, &bl);
	if (ret == -EOPNOTSUPP && bl.n && bl.kernel == bl.n)
		return failed(EXIT_SKIP, "check for blockers",
			      "this kernel cannot hand the context over (%u feature%s missing, through %s)",
			      bl.n, bl.n == 1 ? "" : "s",
			      example_ctx_api(r->ctx));
	if (ret)
		return failed(EXIT_FAILURE, "check for blockers", "%s (%u blocker%s)",
			      strerror(-ret), bl.n, bl.n == 1 ? "" : "s");
	ok("check for blockers", "none");

	r->clock_fd = memfd_create("vmm-clock", MFD_CLOEXEC);
	if (r->clock_fd < 0)
		return failed(EXIT_FAILURE, "prepare", "memfd: %s",
			      strerror(errno));

	memset(&st, 0, sizeof(st));
	st.magic = STATE_MAGIC;
	st.version = STATE_VERSION;
	st.ram_iova = RAM_IOVA;
	st.ram_size = RAM_SIZE;
	st.next_seq = PHASE1_XFERS;
	st.xfer_len = XFER_LEN;
	snprintf(st.bdf, sizeof(st.bdf), "%s", r->edu.name);

	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.user_data = &st;
	opts.user_data_len = sizeof(st);
	opts.extra_fds = &r->clock_fd;
	opts.nr_extra_fds = 1;
	t0 = now_ns();
	ret = iommufd_lu_prepare(r->ctx, &opts, &r->lu);
	t1 = now_ns();
	if (ret)
		return failed(EXIT_FAILURE, "prepare", "%s", strerror(-ret));
	ok("prepare", "%.1f us in the library; guest RAM and the device stay as they are",
	   (double)(t1 - t0) / 1e3);

	/* The device still runs after prepare: the IOMMU keeps translating
	 * to the pinned pages whatever this process's address space does.
	 * xfer_start() waits for the RAM -> device half, so what crosses the
	 * exec is a write into guest RAM, the case where data could be lost. */
	ret = xfer_start(r->dev, r->ram, RAM_IOVA, st.next_seq, XFER_LEN, &why);
	if (ret) {
		failed(EXIT_FAILURE, "start a transfer and exec", "%s: %s", why,
		       strerror(-ret));
		goto abort;
	}

	nargv = calloc((size_t)argc + 2, sizeof(*nargv));
	if (!nargv) {
		failed(EXIT_FAILURE, "start a transfer and exec", "out of memory");
		edu_dma_wait(r->dev, EDU_DMA_TIMEOUT_MS);
		goto abort;
	}
	for (int i = 0; i < argc; i++)
		nargv[i] = argv[i];
	nargv[argc] = (char *)"--resume";
	ok("start a transfer and exec", "transfer %u in flight, exec this program --resume",
	   st.next_seq);

	memset(&clk, 0, sizeof(clk));
	clk.magic = STATE_MAGIC;
	clk.version = STATE_VERSION;
	clk.prepare_ns = t1 - t0;
	/* Whether the transfer really is in flight as the exec begins. */
	if (edu_read32(r->dev, EDU_REG_DMA_CMD, &clk.busy_at_exec))
		clk.busy_at_exec = 0;
	clk.exec_ns = now_ns();
	if (pwrite(r->clock_fd, &clk, sizeof(clk), 0) != (ssize_t)sizeof(clk))
		ret = errno ? -errno : -EIO;
	else
		ret = iommufd_lu_exec(r->lu, self_path(self, sizeof(self)),
				      nargv, NULL);
	free(nargv);
	failed(EXIT_FAILURE, "exec", "%s", strerror(-ret));
	edu_dma_wait(r->dev, EDU_DMA_TIMEOUT_MS);
abort:
	ret = iommufd_lu_abort(r->lu);
	r->lu = NULL;
	if (ret)
		printf("%s: iommufd_lu_abort: %s\n", PROG, strerror(-ret));
	return EXIT_FAILURE;
}

static int run_old(struct run *r, int argc, char **argv)
{
	int ctx_err, status;

	ctx_err = example_ctx_new(PROG, &r->ctx);
	if (ctx_err)
		return failed(ctx_err == -ENOENT ? EXIT_SKIP : EXIT_FAILURE,
			      "open a context", "%s", strerror(-ctx_err));
	status = find_edu(r);
	if (!status)
		status = setup_vm(r);
	if (!status)
		status = dma_phase(r->dev, r->ram, RAM_IOVA, 0, PHASE1_XFERS,
				   "DMA before the update");
	if (!status)
		status = handoff(r, argc, argv);
	return status;
}

/* ---- the new copy ---------------------------------------------------- */

static int find_ram_fd(const struct iommufd_mapping *m, void *data)
{
	struct run *r = data;

	if (m->fd >= 0 && m->iova == r->st.ram_iova &&
	    m->length == r->st.ram_size && m->offset == 0) {
		r->ram_fd = m->fd;
		return 1;
	}
	return 0;
}

static int restore(struct run *r)
{
	struct iommufd_lu_restore_opts opts;
	struct vmm_clock clk;
	const void *ud;
	size_t ud_len = 0;
	uint64_t t0, t1, t2;
	int ret, cfd;

	t0 = now_ns();
	ret = iommufd_lu_from_env(&r->lu);
	t1 = now_ns();
	if (ret)
		return failed(EXIT_FAILURE, "take the description",
			      "iommufd_lu_from_env: %s%s", strerror(-ret),
			      ret == -ENOENT ? " (--resume is for the copy iommufd_lu_exec() starts)" : "");
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	ret = iommufd_lu_restore(r->lu, &opts, &r->ctx);
	t2 = now_ns();
	r->restored_ns = t2;
	if (ret)
		return failed(EXIT_FAILURE, "restore", "%s", strerror(-ret));

	ud = iommufd_lu_user_data(r->lu, &ud_len);
	if (!ud || ud_len != sizeof(r->st))
		return failed(EXIT_FAILURE, "restore", "user data of %zu bytes, expected %zu",
			      ud_len, sizeof(r->st));
	memcpy(&r->st, ud, sizeof(r->st));
	r->st.bdf[sizeof(r->st.bdf) - 1] = '\0';
	if (r->st.magic != STATE_MAGIC || r->st.version != STATE_VERSION ||
	    r->st.ram_size != RAM_SIZE || r->st.next_seq >= MAX_SEQ ||
	    r->st.xfer_len != XFER_LEN)
		return failed(EXIT_FAILURE, "restore", "the user data is not this program's");

	cfd = iommufd_lu_extra_fd(r->lu, 0);
	if (cfd < 0)
		return failed(EXIT_FAILURE, "restore", "the clock fd: %s",
			      strerror(-cfd));
	if (pread(cfd, &clk, sizeof(clk), 0) != (ssize_t)sizeof(clk) ||
	    clk.magic != STATE_MAGIC || clk.exec_ns > t2)
		return failed(EXIT_FAILURE, "restore", "the clock fd holds no clock");
	r->busy_at_exec = clk.busy_at_exec & EDU_DMA_RUN;

	if (iommufd_lu_nr_ioas(r->lu) < 1 || iommufd_lu_nr_devices(r->lu) < 1)
		return failed(EXIT_FAILURE, "restore", "%zu IOAS, %zu devices: expected one of each",
			      iommufd_lu_nr_ioas(r->lu), iommufd_lu_nr_devices(r->lu));
	r->ioas = iommufd_lu_ioas(r->lu, 0);
	r->dev = iommufd_lu_device(r->lu, 0);
	r->attached = r->mapped = true;

	printf("%s: kernel: %s, through %s\n", PROG,
	       iommufd_ctx_is_fake(r->ctx) ? "fake (libiommufd-fake)" : "real",
	       example_ctx_api(r->ctx));
	ok("restore", "IOAS %u, device %s (devid %u), %zu mapping%s, no new kernel object",
	   iommufd_ioas_id(r->ioas), r->st.bdf, iommufd_device_id(r->dev),
	   iommufd_ioas_mapping_count(r->ioas),
	   iommufd_ioas_mapping_count(r->ioas) == 1 ? "" : "s");
	/* The blackout runs from the last moment the old copy could drive
	 * the device to the first the new one can; the library's share of it
	 * is from_env + restore, the rest is exec and process start-up. */
	ok("blackout", "%.1f us: library %.1f us (from_env %.1f + restore %.1f, %.0f%%%s), exec and start-up the rest; prepare before it %.1f us",
	   (double)(t2 - clk.exec_ns) / 1e3, (double)(t2 - t0) / 1e3,
	   (double)(t1 - t0) / 1e3, (double)(t2 - t1) / 1e3,
	   100.0 * (double)(t2 - t0) / (double)(t2 - clk.exec_ns),
	   iommufd_ctx_is_fake(r->ctx) ?
	   ", with the fake kernel rebuilding its state, which a real one keeps" : "",
	   (double)clk.prepare_ns / 1e3);
	printf("blackout_us=%.1f lib_us=%.1f prepare_us=%.1f lib_share=%.3f\n",
	       (double)(t2 - clk.exec_ns) / 1e3, (double)(t2 - t0) / 1e3,
	       (double)clk.prepare_ns / 1e3,
	       (double)(t2 - t0) / (double)(t2 - clk.exec_ns));
	return 0;
}

static int run_new(struct run *r)
{
	uint32_t inflight, busy = 0;
	uint64_t waited_ms, t;
	uint8_t got, want;
	long at;
	int ret;

	ret = restore(r);
	if (ret)
		return ret;

	/* This process's own view of guest RAM, from the mapping's file. */
	ret = iommufd_ioas_for_each_mapping(r->ioas, 0, UINT64_MAX, find_ram_fd, r);
	if (ret != 1)
		return failed(EXIT_FAILURE, "map guest RAM again",
			      "no file-backed mapping of %" PRIu64 " MiB at IOVA 0x%" PRIx64,
			      r->st.ram_size >> 20, r->st.ram_iova);
	r->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      r->ram_fd, 0);
	r->ram_fd = -1;		/* the context's, not ours to close */
	if (r->ram == MAP_FAILED) {
		r->ram = NULL;
		return failed(EXIT_FAILURE, "map guest RAM again", "mmap: %s",
			      strerror(errno));
	}
	ok("map guest RAM again", "from the mapping's file");

	/* On QEMU the transfer takes ~100 ms of virtual time: it may well
	 * still run now, having crossed the exec. */
	inflight = r->st.next_seq;
	ret = edu_read32(r->dev, EDU_REG_DMA_CMD, &busy);
	t = edu_now_ms();
	if (!ret)
		ret = edu_dma_wait(r->dev, EDU_DMA_TIMEOUT_MS);
	waited_ms = edu_now_ms() - t;
	if (ret)
		return failed(EXIT_FAILURE, "the in-flight transfer", "%s",
			      strerror(-ret));
	if (busy & EDU_DMA_RUN)
		ok("the in-flight transfer", "transfer %u %s still running after the restore; done %" PRIu64 " ms later",
		   inflight, r->busy_at_exec ? "was running at the exec and" : "was",
		   waited_ms);
	else if (r->busy_at_exec)
		ok("the in-flight transfer", "transfer %u was running at the exec and completed during it",
		   inflight);
	else
		ok("the in-flight transfer", "transfer %u was already complete at the exec (a synchronous device model)",
		   inflight);

	for (uint32_t seq = 0; seq <= inflight; seq++) {
		at = check_page(seq_page(r->ram, seq), seq, r->st.xfer_len,
				&got, &want);
		if (at >= 0)
			return failed(EXIT_FAILURE, "no DMA data was lost",
				      "transfer %u: byte %ld is 0x%02x, expected 0x%02x",
				      seq, at, got, want);
	}
	ok("no DMA data was lost", "transfers 0-%u, %u bytes each, all in guest RAM",
	   inflight, r->st.xfer_len);

	return dma_phase(r->dev, r->ram, r->st.ram_iova, inflight + 1,
			 PHASE2_XFERS, "DMA after the update");
}

static void cleanup(struct run *r)
{
	if (r->lu)
		iommufd_lu_free(r->lu);
	r->lu = NULL;
	if (r->mapped)
		iommufd_ioas_unmap(r->ioas, RAM_IOVA, RAM_SIZE, 0, NULL);
	if (r->attached)
		iommufd_device_detach(r->dev);
	iommufd_device_free(r->dev);
	if (r->ioas)
		iommufd_ioas_destroy(r->ioas);
	iommufd_ctx_free(r->ctx);
	if (r->ram)
		munmap(r->ram, RAM_SIZE);
	if (r->ram_fd >= 0)
		close(r->ram_fd);
	if (r->clock_fd >= 0)
		close(r->clock_fd);
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--bdf DDDD:BB:DD.F] [--backend iommufd|type1]\n",
		PROG);
	return status;
}

int main(int argc, char **argv)
{
	struct run r = { .ram_fd = -1, .clock_fd = -1 };
	bool resume = false;
	int status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bdf") && i + 1 < argc) {
			r.bdf = argv[++i];
		} else if (!strncmp(argv[i], "--bdf=", 6)) {
			r.bdf = argv[i] + 6;
		} else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
			/* How every context of the library picks one. */
			setenv("LIBIOMMUFD_BACKEND", argv[++i], 1);
		} else if (!strncmp(argv[i], "--backend=", 10)) {
			setenv("LIBIOMMUFD_BACKEND", argv[i] + 10, 1);
		} else if (!strcmp(argv[i], "--resume")) {
			resume = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			return usage(stdout, EXIT_SUCCESS);
		} else {
			return usage(stderr, 2);
		}
	}

	if (resume)
		status = run_new(&r);
	else
		status = run_old(&r, argc, argv);
	if (status && r.lu && !resume) {
		iommufd_lu_abort(r.lu);
		r.lu = NULL;
	}
	cleanup(&r);
	if (!status)
		printf("%s: every step passed%s\n", PROG,
		       resume ? " across the live update" : "");
	return status;
}
