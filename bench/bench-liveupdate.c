/* SPDX-License-Identifier: MIT */
/*
 * The blackout of a live update through exec, on the fake kernel, at N
 * file-backed 4 KiB mappings, for each path (iommufd: CHANGE_PROCESS; type1:
 * UNMAP_DMA|VADDR before, MAP_DMA|VADDR after), and the library's share.
 *
 * Each measurement is a real exec: a child of the driver builds the context
 * (the edu device attached, N mappings of one memfd at distinct IOVAs),
 * prepares, takes CLOCK_MONOTONIC and calls iommufd_lu_exec() on this
 * program; the new image restores and takes the clock again: that is the
 * blackout. It sends its figures back through a pipe that travels as one
 * of the update's extra fds.
 *
 * The library's share: the same update without the library, in the same
 * way (fork, exec, same fake kernel, same kernel calls through the fake's
 * raw face: its state saved and brought back where iommufd_lu_exec() and
 * iommufd_lu_restore() do it, then CHANGE_PROCESS, or N MAP_DMA|VADDR).
 * lib_share = 1 - raw/lib of the blackout medians; new_side_lib_share the
 * same of the new side's part alone (from the new image's start of the
 * restore to its end), which leaves out exec and the old side's saving of
 * the fake kernel's state: work a real kernel does not do, and at 100k
 * mappings most of the blackout.
 *
 * Usage: bench-liveupdate [--path iommufd|type1] [N...]
 *        (default: both paths at 1000 10000 100000)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>
#include <iommufd/liveupdate.h>

#define PAGE 4096u
/* Mappings share the pages of a small memfd: the fake pins per mapping,
 * and 100k distinct pages would be 400 MiB of RAM for nothing. */
#define FILE_PAGES 256u
#define IOVA_BASE (UINT64_C(1) << 32)
#define EDU_BDF "0000:00:04.0"
#define EDU_CDEV "/dev/vfio/devices/vfio0"
#define EDU_GROUP "/dev/vfio/1"
#define REC_MAGIC UINT32_C(0x4c554246)	/* "LUBF" */

enum path { PATH_IOMMUFD, PATH_TYPE1, PATH__COUNT };
static const char *const path_name[PATH__COUNT] = { "iommufd", "type1" };

/* What a measurement sends back to the driver. */
struct rec {
	uint32_t magic;
	int32_t err;		/* 0, or the -errno that ended it */
	char what[96];		/* where it failed */
	uint64_t prepare_ns;	/* old side, before the exec */
	uint64_t blackout_ns;	/* exec_ns -> restored */
	uint64_t lu_ns;		/* new side: from_env + restore (lib); fake restore + takeover (raw) */
	uint64_t calls;		/* fake kernel calls of the new side */
};

/* The old side's clock, read by the new side. */
struct clk {
	uint64_t prepare_ns;
	uint64_t exec_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Report @err to the driver through @fd and end this process. */
static void fail(int fd, int err, const char *what)
{
	struct rec r = { .magic = REC_MAGIC, .err = err < 0 ? err : -err };

	if (!r.err)
		r.err = -EIO;
	snprintf(r.what, sizeof(r.what), "%s", what);
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		fprintf(stderr, "bench-liveupdate: %s: %s\n", what,
			strerror(-r.err));
	_exit(EXIT_FAILURE);
}

static int guest_ram(int res_fd)
{
	int fd = memfd_create("bench-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)FILE_PAGES * PAGE))
		fail(res_fd, -errno, "memfd");
	return fd;
}

static int clock_file(int res_fd)
{
	int fd = memfd_create("bench-clock", MFD_CLOEXEC);

	if (fd < 0)
		fail(res_fd, -errno, "memfd");
	return fd;
}

static void write_clock(int res_fd, int fd, uint64_t prepare_ns)
{
	struct clk c = { .prepare_ns = prepare_ns };

	c.exec_ns = now_ns();
	if (pwrite(fd, &c, sizeof(c), 0) != (ssize_t)sizeof(c))
		fail(res_fd, -errno, "writing the clock");
}

static struct clk read_clock(int res_fd, int fd)
{
	struct clk c;

	if (pread(fd, &c, sizeof(c), 0) != (ssize_t)sizeof(c))
		fail(res_fd, -EIO, "reading the clock");
	return c;
}

/* ---- through the library ---------------------------------------------- */

static void lib_old(enum path p, unsigned long n, int res_fd)
{
	struct iommufd_lu_prepare_opts opts = { .sz = sizeof(opts) };
	struct iommufd_ctx_opts copts = { .sz = sizeof(copts) };
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	struct iommufd_device *dev;
	struct iommufd_lu *lu;
	uint64_t t0, t1;
	int fds[2], ram, ret;
	char *argv[] = { (char *)"bench-liveupdate", (char *)"--lib-resume", NULL };

	/* VFIO's own limit of mappings per container (dma_entry_limit). */
	ret = iommufd_fake_set_vfio_dma_entry_limit(iommufd_fake_default(),
						    (unsigned int)n + 16);
	if (ret)
		fail(res_fd, ret, "dma_entry_limit");
	copts.backend = p == PATH_IOMMUFD ? IOMMUFD_BACKEND_IOMMUFD :
					    IOMMUFD_BACKEND_TYPE1;
	ret = iommufd_ctx_new(&copts, &ctx);
	if (ret)
		fail(res_fd, ret, "iommufd_ctx_new");
	ret = iommufd_device_open(ctx, EDU_BDF, NULL, &dev);
	if (ret)
		fail(res_fd, ret, "iommufd_device_open");
	ret = iommufd_ioas_new(ctx, &ioas);
	if (!ret)
		ret = iommufd_device_attach(dev, ioas, 0, NULL);
	if (ret)
		fail(res_fd, ret, "attach");
	ram = guest_ram(res_fd);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t iova = IOVA_BASE + i * PAGE;

		ret = iommufd_ioas_map_file(ioas, ram, (i % FILE_PAGES) * PAGE,
					    PAGE, &iova,
					    IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE |
					    IOMMUFD_MAP_FIXED_IOVA);
		if (ret) {
			char what[64];

			snprintf(what, sizeof(what), "iommufd_ioas_map_file #%lu",
				 i);
			fail(res_fd, ret, what);
		}
	}
	fds[0] = res_fd;
	fds[1] = clock_file(res_fd);
	opts.extra_fds = fds;
	opts.nr_extra_fds = 2;
	t0 = now_ns();
	ret = iommufd_lu_prepare(ctx, &opts, &lu);
	t1 = now_ns();
	if (ret)
		fail(res_fd, ret, "iommufd_lu_prepare");
	write_clock(res_fd, fds[1], t1 - t0);
	ret = iommufd_lu_exec(lu, "/proc/self/exe", argv, NULL);
	iommufd_lu_abort(lu);
	fail(res_fd, ret, "iommufd_lu_exec");
}

/* The new side's context logs nowhere by default: with LIBIOMMUFD_LOG set,
 * say why a restore failed. */
static void log_stderr(void *data, enum iommufd_log_level level,
		       const char *msg)
{
	(void)data;
	(void)level;
	fprintf(stderr, "bench-liveupdate: libiommufd: %s\n", msg);
}

static int lib_new(void)
{
	struct iommufd_lu_restore_opts ropts = { .sz = sizeof(ropts) };
	struct iommufd_lu *lu;
	struct iommufd_ctx *ctx;
	struct rec r = { .magic = REC_MAGIC };
	struct clk c;
	uint64_t t0, t2;
	int ret, res_fd;

	t0 = now_ns();
	ret = iommufd_lu_from_env(&lu);
	if (ret) {
		fprintf(stderr, "bench-liveupdate: iommufd_lu_from_env: %s\n",
			strerror(-ret));
		return EXIT_FAILURE;
	}
	if (getenv("LIBIOMMUFD_LOG")) {
		ropts.log_fn = log_stderr;
		ropts.log_level = IOMMUFD_LOG_DEBUG;
	}
	/* Not iommufd_fake_default() before the restore: the library
	 * brings the fake kernel's state back itself, into a default fake
	 * that does not exist yet. */
	ret = iommufd_lu_restore(lu, &ropts, &ctx);
	t2 = now_ns();
	res_fd = iommufd_lu_extra_fd(lu, 0);
	if (res_fd < 0) {
		fprintf(stderr, "bench-liveupdate: no result fd\n");
		return EXIT_FAILURE;
	}
	if (ret)
		fail(res_fd, ret, "iommufd_lu_restore");
	r.calls = iommufd_fake_call_count(iommufd_fake_default());
	c = read_clock(res_fd, iommufd_lu_extra_fd(lu, 1));
	r.prepare_ns = c.prepare_ns;
	r.blackout_ns = t2 - c.exec_ns;
	r.lu_ns = t2 - t0;
	if (write(res_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		return EXIT_FAILURE;
	iommufd_ctx_free(ctx);
	iommufd_lu_free(lu);
	return EXIT_SUCCESS;
}

/* ---- the same kernel calls without the library ------------------------- */

static int xioctl(struct iommufd_fake *fake, int fd, unsigned long req,
		  void *arg)
{
	return iommufd_fake_ioctl(fake, fd, req, arg) ? -errno : 0;
}

static void keep_open(int res_fd, int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC))
		fail(res_fd, -errno, "fcntl");
}

static void raw_old(enum path p, unsigned long n, int res_fd)
{
	struct iommufd_fake *fake = iommufd_fake_default();
	char env[4096], arg[6][24];
	int kfd, dev, ram, clk, ret, *sfds = NULL;
	size_t nsfds = 0, len = 0;
	uint64_t t0, t1;
	uint8_t *va = NULL;

	if (!fake)
		fail(res_fd, -ENODEV, "no default fake kernel");
	ret = iommufd_fake_set_vfio_dma_entry_limit(fake, (unsigned int)n + 16);
	if (ret)
		fail(res_fd, ret, "dma_entry_limit");
	ram = guest_ram(res_fd);
	if (p == PATH_IOMMUFD) {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
		struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

		kfd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
		dev = iommufd_fake_open(fake, EDU_CDEV, O_RDWR | O_CLOEXEC);
		if (kfd < 0 || dev < 0)
			fail(res_fd, -errno, "open");
		bind.iommufd = kfd;
		ret = xioctl(fake, kfd, IOMMU_IOAS_ALLOC, &alloc);
		if (!ret)
			ret = xioctl(fake, dev, VFIO_DEVICE_BIND_IOMMUFD, &bind);
		at.pt_id = alloc.out_ioas_id;
		if (!ret)
			ret = xioctl(fake, dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
		if (ret)
			fail(res_fd, ret, "IOAS, bind, attach");
		for (unsigned long i = 0; i < n; i++) {
			struct iommu_ioas_map_file m = {
				.size = sizeof(m),
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE,
				.ioas_id = alloc.out_ioas_id,
				.fd = ram,
				.start = (i % FILE_PAGES) * PAGE,
				.length = PAGE,
				.iova = IOVA_BASE + i * PAGE,
			};
			ret = xioctl(fake, kfd, IOMMU_IOAS_MAP_FILE, &m);
			if (ret)
				fail(res_fd, ret, "IOMMU_IOAS_MAP_FILE");
		}
	} else {
		kfd = iommufd_fake_open(fake, "/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		ret = iommufd_fake_open(fake, EDU_GROUP, O_RDWR | O_CLOEXEC);
		if (kfd < 0 || ret < 0)
			fail(res_fd, -errno, "open");
		va = mmap(NULL, (size_t)FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ram, 0);
		if (va == MAP_FAILED)
			fail(res_fd, -errno, "mmap");
		dev = ret;
		ret = xioctl(fake, dev, VFIO_GROUP_SET_CONTAINER, &kfd);
		if (!ret)
			ret = xioctl(fake, kfd, VFIO_SET_IOMMU,
				     (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
		if (ret)
			fail(res_fd, ret, "container");
		for (unsigned long i = 0; i < n; i++) {
			struct vfio_iommu_type1_dma_map m = {
				.argsz = sizeof(m),
				.flags = VFIO_DMA_MAP_FLAG_READ |
					 VFIO_DMA_MAP_FLAG_WRITE,
				.vaddr = (uintptr_t)(va + (i % FILE_PAGES) * PAGE),
				.iova = IOVA_BASE + i * PAGE,
				.size = PAGE,
			};
			ret = xioctl(fake, kfd, VFIO_IOMMU_MAP_DMA, &m);
			if (ret)
				fail(res_fd, ret, "VFIO_IOMMU_MAP_DMA");
		}
	}

	/* The quiesce (type1 only: iommufd has nothing to do). */
	t0 = now_ns();
	if (p == PATH_TYPE1) {
		struct vfio_iommu_type1_dma_unmap um = {
			.argsz = sizeof(um),
			.flags = VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
		};

		ret = xioctl(fake, kfd, VFIO_IOMMU_UNMAP_DMA, &um);
		if (ret)
			fail(res_fd, ret, "VFIO_IOMMU_UNMAP_DMA|VADDR|ALL");
	}
	t1 = now_ns();
	clk = clock_file(res_fd);
	write_clock(res_fd, clk, t1 - t0);

	/* The fake kernel's state saved at the handoff, where
	 * iommufd_lu_exec() saves it (the device may have changed it since
	 * prepare): inside the blackout on both sides. */
	ret = iommufd_fake_preserve(fake, &sfds, &nsfds);
	if (ret)
		fail(res_fd, ret, "iommufd_fake_preserve");
	for (size_t i = 0; i < nsfds; i++) {
		keep_open(res_fd, sfds[i]);
		len += (size_t)snprintf(env + len, sizeof(env) - len, "%s%d",
					i ? "," : "", sfds[i]);
		if (len >= sizeof(env))
			fail(res_fd, -E2BIG, "state fds");
	}
	keep_open(res_fd, kfd);
	keep_open(res_fd, dev);
	keep_open(res_fd, ram);
	keep_open(res_fd, clk);
	keep_open(res_fd, res_fd);
	setenv(IOMMUFD_FAKE_STATE_ENV, env, 1);
	snprintf(arg[0], sizeof(arg[0]), "%d", (int)p);
	snprintf(arg[1], sizeof(arg[1]), "%lu", n);
	snprintf(arg[2], sizeof(arg[2]), "%d", kfd);
	snprintf(arg[3], sizeof(arg[3]), "%d", ram);
	snprintf(arg[4], sizeof(arg[4]), "%d", clk);
	snprintf(arg[5], sizeof(arg[5]), "%d", res_fd);
	{
		char *argv[] = { (char *)"bench-liveupdate",
				 (char *)"--raw-resume", arg[0], arg[1],
				 arg[2], arg[3], arg[4], arg[5], NULL };

		execv("/proc/self/exe", argv);
	}
	fail(res_fd, -errno, "execv");
}

static int raw_new(char **argv)
{
	enum path p = (enum path)atoi(argv[0]);
	unsigned long n = strtoul(argv[1], NULL, 0);
	int kfd = atoi(argv[2]), ram = atoi(argv[3]), clk = atoi(argv[4]);
	int res_fd = atoi(argv[5]), ret;
	struct rec r = { .magic = REC_MAGIC };
	struct iommufd_fake *fake;
	uint64_t t0, t2;
	struct clk c;
	size_t len = (size_t)FILE_PAGES * PAGE;
	uint8_t *va;

	t0 = now_ns();
	fake = iommufd_fake_default();	/* restores the preserved state */
	if (!fake)
		fail(res_fd, -ENODEV, "restoring the fake kernel");
	if (p == PATH_IOMMUFD) {
		struct iommu_ioas_change_process cp = { .size = sizeof(cp) };

		ret = xioctl(fake, kfd, IOMMU_IOAS_CHANGE_PROCESS, &cp);
		if (ret)
			fail(res_fd, ret, "IOMMU_IOAS_CHANGE_PROCESS");
	} else {
		va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ram, 0);
		if (va == MAP_FAILED)
			fail(res_fd, -errno, "mmap");
		for (unsigned long i = 0; i < n; i++) {
			struct vfio_iommu_type1_dma_map m = {
				.argsz = sizeof(m),
				.flags = VFIO_DMA_MAP_FLAG_VADDR,
				.vaddr = (uintptr_t)(va + (i % FILE_PAGES) * PAGE),
				.iova = IOVA_BASE + i * PAGE,
				.size = PAGE,
			};
			ret = xioctl(fake, kfd, VFIO_IOMMU_MAP_DMA, &m);
			if (ret)
				fail(res_fd, ret, "VFIO_IOMMU_MAP_DMA|VADDR");
		}
	}
	t2 = now_ns();
	c = read_clock(res_fd, clk);
	r.calls = iommufd_fake_call_count(fake);
	r.prepare_ns = c.prepare_ns;
	r.blackout_ns = t2 - c.exec_ns;
	r.lu_ns = t2 - t0;
	return write(res_fd, &r, sizeof(r)) == (ssize_t)sizeof(r) ?
	       EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- the driver --------------------------------------------------------- */

/* Seconds per path: two paths, and the whole run within about a minute. */
#define PATH_BUDGET_S 28.0

/* When the current path's budget runs out (now_s()). */
static double deadline;

/* The children's TMPDIR, where their fake kernels keep their sysfs trees:
 * one killed over the budget cannot remove its own. */
static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static double now_s(void)
{
	return (double)now_ns() / 1e9;
}

/* One measurement in a fresh child: its default fake kernel is made after
 * the fork, so every child starts from the same machine. */
static int measure(enum path p, bool lib, unsigned long n, struct rec *out)
{
	int pfd[2], status;
	ssize_t got = 0, k;
	bool timed_out = false;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(pfd[0]);
		setenv("LIBIOMMUFD_FAKE", "1", 1);
		if (tmpdir[0])
			setenv("TMPDIR", tmpdir, 1);
		unsetenv("LIBIOMMUFD_BACKEND");
		unsetenv(IOMMUFD_FAKE_STATE_ENV);
		if (lib)
			lib_old(p, n, pfd[1]);
		else
			raw_old(p, n, pfd[1]);
		_exit(EXIT_FAILURE);
	}
	close(pfd[1]);
	memset(out, 0, sizeof(*out));
	while ((size_t)got < sizeof(*out)) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		double left = deadline - now_s();

		/* The budget is a backstop: the driver skips sizes it
		 * expects to overrun (main()). */
		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) == 0) {
			kill(pid, SIGKILL);
			timed_out = true;
			break;
		}
		k = read(pfd[0], (char *)out + got, sizeof(*out) - (size_t)got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		snprintf(out->what, sizeof(out->what), "%s",
			 "over this path's time budget");
		out->err = -ETIMEDOUT;
	} else if ((size_t)got != sizeof(*out) || out->magic != REC_MAGIC) {
		snprintf(out->what, sizeof(out->what), "%s",
			 "the new image sent no result (crashed?)");
		out->err = -EPIPE;
	}
	return out->err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	int err;
	char what[96];
	double blackout_us, lu_us, prepare_us;
	double round_s;		/* wall time of one measurement */
	uint64_t calls;
};

/* Medians over @rounds measurements. */
static void series(enum path p, bool lib, unsigned long n, unsigned int rounds,
		   struct figures *f)
{
	uint64_t b[16], l[16], pr[16];
	struct rec r;

	double t0 = now_s();

	memset(f, 0, sizeof(*f));
	for (unsigned int i = 0; i < rounds; i++) {
		f->err = measure(p, lib, n, &r);
		if (f->err) {
			snprintf(f->what, sizeof(f->what), "%s", r.what);
			return;
		}
		b[i] = r.blackout_ns;
		l[i] = r.lu_ns;
		pr[i] = r.prepare_ns;
		f->calls = r.calls;
	}
	qsort(b, rounds, sizeof(b[0]), cmp_u64);
	qsort(l, rounds, sizeof(l[0]), cmp_u64);
	qsort(pr, rounds, sizeof(pr[0]), cmp_u64);
	f->blackout_us = (double)b[rounds / 2] / 1e3;
	f->lu_us = (double)l[rounds / 2] / 1e3;
	f->prepare_us = (double)pr[rounds / 2] / 1e3;
	f->round_s = (now_s() - t0) / rounds;
}

static const char *size_name(unsigned long n, char *buf, size_t len)
{
	if (n % 1000 == 0)
		snprintf(buf, len, "%luk", n / 1000);
	else
		snprintf(buf, len, "%lu", n);
	return buf;
}

int main(int argc, char **argv)
{
	static const unsigned long def_sizes[] = { 1000, 10000, 100000 };
	unsigned long sizes[16];
	size_t nsizes = 0;
	char kv[8192], name[32];
	size_t kvlen = 0;
	double t_start = now_s();
	int only = -1;		/* --path: one path only */

	if (argc > 1 && !strcmp(argv[1], "--lib-resume"))
		return lib_new();
	if (argc == 8 && !strcmp(argv[1], "--raw-resume"))
		return raw_new(argv + 2);
	for (int i = 1; i < argc && nsizes < 16; i++) {
		if (!strcmp(argv[i], "--path") && i + 1 < argc) {
			i++;
			only = !strcmp(argv[i], "iommufd") ? PATH_IOMMUFD :
			       !strcmp(argv[i], "type1") ? PATH_TYPE1 : -2;
			if (only == -2) {
				fprintf(stderr, "bench-liveupdate: --path iommufd|type1\n");
				return EXIT_FAILURE;
			}
			continue;
		}
		sizes[nsizes] = strtoul(argv[i], NULL, 0);
		if (!sizes[nsizes]) {
			fprintf(stderr, "usage: bench-liveupdate [--path iommufd|type1] [N > 0 ...]\n");
			return EXIT_FAILURE;
		}
		nsizes++;
	}
	if (!nsizes) {
		memcpy(sizes, def_sizes, sizeof(def_sizes));
		nsizes = 3;
	}

	snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/bench-liveupdate-XXXXXX");
	if (!mkdtemp(tmpdir))
		tmpdir[0] = '\0';
	printf("%-8s %7s %12s %12s %12s %12s %12s %12s %6s %9s\n", "path",
	       "maps", "blackout_us", "raw_blk_us", "new_us", "raw_new_us",
	       "prepare_us", "raw_prep_us", "calls", "lib_share");
	for (int p = 0; p < PATH__COUNT; p++) {
		if (only >= 0 && p != only)
			continue;
		/* Seconds per mapping of one library + baseline round so far:
		 * a linear guess, which the fake's superlinear state saving
		 * makes optimistic; the deadline is the backstop. */
		double per_map_s = 0;
		unsigned long failed_at = 0;

		deadline = now_s() + PATH_BUDGET_S;
		for (size_t s = 0; s < nsizes; s++) {
			unsigned long n = sizes[s];
			/* Medians; fewer rounds where one takes seconds. */
			unsigned int rounds = n <= 10000 ? 3 : 1;
			struct figures lib, raw;
			double share;

			size_name(n, name, sizeof(name));
			if (failed_at) {
				/* What failed at fewer mappings would fail
				 * here too, after spending the budget. */
				printf("%-8s %7lu  skipped: the library failed at %lu mappings\n",
				       path_name[p], n, failed_at);
				kvlen += (size_t)snprintf(kv + kvlen, sizeof(kv) - kvlen,
							  "%s_%s_skipped=1 ",
							  path_name[p], name);
				if (kvlen >= sizeof(kv))
					kvlen = sizeof(kv) - 1;
				continue;
			}
			if (per_map_s * (double)n * rounds > deadline - now_s())
				rounds = 1;
			if (per_map_s * (double)n * rounds > deadline - now_s()) {
				printf("%-8s %7lu  skipped: %u rounds would take about %.0f s, %.0f s of this path's %.0f s are left\n",
				       path_name[p], n, rounds,
				       per_map_s * (double)n * rounds,
				       deadline - now_s() > 0 ? deadline - now_s() : 0,
				       PATH_BUDGET_S);
				kvlen += (size_t)snprintf(kv + kvlen, sizeof(kv) - kvlen,
							  "%s_%s_skipped=1 ",
							  path_name[p], name);
				if (kvlen >= sizeof(kv))
					kvlen = sizeof(kv) - 1;
				continue;
			}
			series((enum path)p, true, n, rounds, &lib);
			/* The baseline even when the library failed: it says
			 * whether the fake kernel or the library is short. */
			series((enum path)p, false, n, lib.err ? 1 : rounds, &raw);
			if (!lib.err && !raw.err)
				per_map_s = (lib.round_s + raw.round_s) / (double)n;
			if (lib.err)
				printf("%-8s %7lu  library: %s: %s\n",
				       path_name[p], n, lib.what,
				       strerror(-lib.err));
			if (raw.err)
				printf("%-8s %7lu  raw baseline: %s: %s\n",
				       path_name[p], n, raw.what,
				       strerror(-raw.err));
			else if (lib.err)
				printf("%-8s %7lu  raw baseline: blackout %.1f us, prepare %.1f us\n",
				       path_name[p], n, raw.blackout_us,
				       raw.prepare_us);
			if (lib.err) {
				failed_at = n;
				kvlen += (size_t)snprintf(kv + kvlen, sizeof(kv) - kvlen,
							  "%s_%s_error=%d ",
							  path_name[p], name,
							  -lib.err);
			} else {
				share = raw.err ? 0 :
					1.0 - raw.blackout_us / lib.blackout_us;
				printf("%-8s %7lu %12.1f %12.1f %12.1f %12.1f %12.1f %12.1f %6" PRIu64 " %9.3f\n",
				       path_name[p], n, lib.blackout_us,
				       raw.blackout_us, lib.lu_us, raw.lu_us,
				       lib.prepare_us, raw.prepare_us,
				       lib.calls, share);
				kvlen += (size_t)snprintf(kv + kvlen, sizeof(kv) - kvlen,
							  "%s_%s_blackout_us=%.1f %s_%s_prepare_us=%.1f ",
							  path_name[p], name, lib.blackout_us,
							  path_name[p], name, lib.prepare_us);
				if (kvlen < sizeof(kv) && !raw.err)
					kvlen += (size_t)snprintf(kv + kvlen, sizeof(kv) - kvlen,
								  "%s_%s_raw_blackout_us=%.1f %s_%s_raw_prepare_us=%.1f %s_%s_lib_share=%.3f %s_%s_new_side_lib_share=%.3f ",
								  path_name[p], name, raw.blackout_us,
								  path_name[p], name, raw.prepare_us,
								  path_name[p], name, share,
								  path_name[p], name,
								  1.0 - raw.lu_us / lib.lu_us);
			}
			if (kvlen >= sizeof(kv))
				kvlen = sizeof(kv) - 1;
		}
	}
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("%stotal_s=%.1f\n", kv, now_s() - t_start);
	return EXIT_SUCCESS;
}
