/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests share: a fake kernel with or without the default
 * machine, a context on it whose log is captured, the edu device's
 * registers, the leak checks every teardown makes, and main().
 *
 * Each test file used to carry its own copy of these; the copies had
 * drifted only in what did not matter (log buffer sizes, comments), so
 * one copy serves them all. Everything is static inline: each test is
 * one program, and a helper a test does not use costs it nothing (and
 * draws no unused-function warning).
 *
 * Two parts:
 *  - always: helpers that take the fake and the context as arguments
 *    (test-ioas.c and test-ctx.c keep theirs in locals or a struct);
 *  - with FIXTURE_GLOBALS defined before the include: the file-wide
 *    `fake`, `ctx` and `PAGE` of the device-level tests, and the helpers
 *    that use them, so that their call sites read as before. test-ioas.c
 *    and test-threads.c define PAGE as a macro, which is why this part
 *    is opt-in.
 *
 * Helpers make exactly the checks the copies they replace made: a test's
 * assertions are its own, and moving code here must not add or drop any.
 */
#ifndef LIBIOMMUFD_TESTS_FIXTURE_H
#define LIBIOMMUFD_TESTS_FIXTURE_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <iommufd/fake.h>

/* ---- the fd-leak check every TCase makes ---- */

/*
 * A test that leaks an fd passes on its own and fails much later, far from
 * the cause (a full fd table, a device that stays busy). So every TCase is
 * made by fx_tcase(), whose checked fixture snapshots the open fds before
 * the test's own setup and fails at the end of its teardown naming each fd
 * that appeared in between and what it refers to.
 *
 * Compared with a snapshot, not with a fixed set: with CK_FORK=no (under
 * valgrind) every test runs in one process, and what an earlier test left
 * open on purpose (the default fake kernel, say) is not this test's leak.
 * Fds at or above the RLIMIT_NOFILE soft limit are ignored: valgrind keeps
 * its own there, and they come and go as it pleases. The default fake
 * kernel is never freed: the test that first uses it may leave its files
 * (its BARs' memfds, "/memfd:iommufd-fake-...") open.
 *
 * Files that carry their own raw-face helpers (rd32() on an fd, ...) define
 * FIXTURE_FD_CHECK_ONLY before the include and get only this part.
 */
#define FX_FD_MAX 4096

struct fx_fds {
	unsigned char open[FX_FD_MAX / 8];
};

static inline int fx_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur > FX_FD_MAX)
		return FX_FD_MAX;
	return (int)rl.rlim_cur;
}

static inline void fx_fds_snapshot(struct fx_fds *s)
{
	int limit = fx_fd_limit();
	struct dirent *e;
	DIR *d;

	memset(s, 0, sizeof(*s));
	d = opendir("/proc/self/fd");
	ck_assert_msg(d != NULL, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd < 0 || fd >= limit ||
		    fd == dirfd(d))
			continue;
		s->open[fd / 8] |= (unsigned char)(1u << (fd % 8));
	}
	closedir(d);
}

/* Whether the default fake kernel existed already: asking for it makes it
 * (and opens its files) when it did not. */
static inline bool fx_default_fake_existed(void)
{
	struct fx_fds before, after;

	fx_fds_snapshot(&before);
	(void)iommufd_fake_default();
	fx_fds_snapshot(&after);
	return !memcmp(&before, &after, sizeof(before));
}

/* Write into @msg ("fd 7 -> /dev/iommu (...), ...") the fds open now that
 * were not in @before, less those the default fake kernel may hold when
 * @allow_default; returns how many. */
static inline unsigned int fx_fds_leaked_but(const struct fx_fds *before,
					     bool allow_default, char *msg,
					     size_t len)
{
	static const char fake_file[] = "/memfd:iommufd-fake-";
	struct fx_fds now;
	unsigned int n = 0;
	size_t used = 0;

	fx_fds_snapshot(&now);
	if (len)
		msg[0] = '\0';
	for (int fd = 0; fd < FX_FD_MAX; fd++) {
		unsigned char bit = (unsigned char)(1u << (fd % 8));
		char path[64], target[PATH_MAX];
		ssize_t tl;
		int w;

		if (!(now.open[fd / 8] & bit) || (before->open[fd / 8] & bit))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		tl = readlink(path, target, sizeof(target) - 1);
		if (tl < 0)
			tl = snprintf(target, sizeof(target), "?");
		target[tl] = '\0';
		if (allow_default &&
		    !strncmp(target, fake_file, sizeof(fake_file) - 1))
			continue;
		n++;
		if (used >= len)
			continue;
		w = snprintf(msg + used, len - used, "%sfd %d -> %s",
			     n > 1 ? ", " : "", fd, target);
		if (w > 0)
			used += (size_t)w;
	}
	return n;
}

static inline unsigned int fx_fds_leaked(const struct fx_fds *before,
					 char *msg, size_t len)
{
	return fx_fds_leaked_but(before, false, msg, len);
}

static inline struct fx_fds *fx_fd_check_state(void)
{
	static struct fx_fds before;

	return &before;
}

static inline void fx_fd_check_setup(void)
{
	fx_fds_snapshot(fx_fd_check_state());
}

static inline void fx_fd_check_teardown(void)
{
	char msg[1024];
	unsigned int n = fx_fds_leaked(fx_fd_check_state(), msg, sizeof(msg));

	if (n && fx_default_fake_existed())
		n = fx_fds_leaked_but(fx_fd_check_state(), true, msg,
				      sizeof(msg));
	ck_assert_msg(n == 0, "%u fd(s) leaked by the test: %s", n, msg);
}

/* Add the check to @tc. Checked setups run in the order added and
 * teardowns in the reverse: added before the TCase's own fixture, the
 * snapshot brackets the fixture too; after it, only the test body (for a
 * fixture that brings up process-wide singletons, glib's, say). */
static inline void fx_fd_check(TCase *tc)
{
	tcase_add_checked_fixture(tc, fx_fd_check_setup, fx_fd_check_teardown);
}

/* tcase_create() with the check, before any fixture of the TCase's own. */
static inline TCase *fx_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	fx_fd_check(tc);
	return tc;
}

#ifndef FIXTURE_FD_CHECK_ONLY
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

/* ---- the log, to check what the library says ---- */

/*
 * Behind a function so that a test which never looks at the log has no
 * unused static buffer. The largest size any test needed: a smaller one
 * only ever lost the end of a long test's log.
 */
struct fx_log {
	char buf[65536];
	size_t len;
	pthread_mutex_t lock;
};

static inline struct fx_log *fx_log(void)
{
	static struct fx_log l = { .lock = PTHREAD_MUTEX_INITIALIZER };

	return &l;
}

/* The context's log_fn. Called from any thread that uses the context. */
static inline void log_fn(void *data, enum iommufd_log_level level,
			  const char *msg)
{
	struct fx_log *l = fx_log();
	int n;

	(void)data;
	(void)level;
	pthread_mutex_lock(&l->lock);
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s\n", msg);
	if (n > 0 && (size_t)n < sizeof(l->buf) - l->len)
		l->len += (size_t)n;
	pthread_mutex_unlock(&l->lock);
}

static inline void log_clear(void)
{
	struct fx_log *l = fx_log();

	l->len = 0;
	l->buf[0] = '\0';
}

static inline bool logged(const char *needle)
{
	return strstr(fx_log()->buf, needle) != NULL;
}

/* ---- the fake kernel and contexts ---- */

/* A fake kernel, Linux 6.@minor when @minor is not 0 (else the fake's
 * default version); no devices yet. */
static inline void fx_fake_new(struct iommufd_fake **f, unsigned int minor)
{
	ck_assert_int_eq(iommufd_fake_new(f), 0);
	if (minor)
		ck_assert_int_eq(iommufd_fake_set_kernel_version(*f, 6, minor),
				 0);
}

/* Free a fake whose contexts are all gone: they must have closed every
 * file they opened and unpinned every page they pinned. */
static inline void fx_fake_free(struct iommufd_fake *f)
{
	ck_assert_uint_eq(iommufd_fake_open_files(f), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(f), 0);
	iommufd_fake_free(f);
}

/* A context on @f with the log captured at debug level (what the tests
 * check with logged()). Returns iommufd_fake_ctx_new()'s result: some
 * tests expect it to fail. */
static inline int fx_ctx_new(struct iommufd_fake *f, enum iommufd_backend b,
			     struct iommufd_ctx **out)
{
	IOMMUFD_OPTS(iommufd_ctx_opts, opts, .log_fn = log_fn,
		     .log_level = IOMMUFD_LOG_DEBUG, .backend = b);

	return iommufd_fake_ctx_new(f, &opts, out);
}

/* ---- memory and fds ---- */

/* @len bytes of zeroed anonymous memory, to map; munmap() it. */
static inline void *buf_new(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 0, len);
	return p;
}

/* Whether @fd is open in this process (for adopt/take-fd checks). */
static inline bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* An eventfd's count, 0 when nothing was signalled (it is non-blocking). */
static inline uint64_t efd_read(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- devices: the edu's BAR 0 and config space ---- */

static inline void wr32(struct iommufd_device *dev, uint64_t off, uint32_t v)
{
	ck_assert_int_eq(iommufd_device_region_write(dev, 0, off, &v, 4), 4);
}

static inline void wr64(struct iommufd_device *dev, uint64_t off, uint64_t v)
{
	ck_assert_int_eq(iommufd_device_region_write(dev, 0, off, &v, 8), 8);
}

static inline uint32_t rd32(struct iommufd_device *dev, uint64_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(iommufd_device_region_read(dev, 0, off, &v, 4), 4);
	return v;
}

/* Set Bus Master Enable: a PCI device does no DMA without it. */
static inline void bus_master(struct iommufd_device *dev)
{
	uint16_t cmd = 0;

	ck_assert_int_eq(iommufd_device_region_read(dev,
						    VFIO_PCI_CONFIG_REGION_INDEX,
						    4, &cmd, 2), 2);
	cmd |= 0x4;
	ck_assert_int_eq(iommufd_device_region_write(dev,
						     VFIO_PCI_CONFIG_REGION_INDEX,
						     4, &cmd, 2), 2);
}

/* edu: a DMA of @cnt bytes between @iova and the device's buffer at
 * @dev_addr, from RAM (to_ram false) or to RAM, as a driver programs it;
 * waits for it to finish. */
static inline void edu_dma(struct iommufd_device *edu, uint64_t iova,
			   uint64_t dev_addr, uint64_t cnt, bool to_ram,
			   bool irq)
{
	wr64(edu, 0x80, to_ram ? dev_addr : iova);
	wr64(edu, 0x88, to_ram ? iova : dev_addr);
	wr64(edu, 0x90, cnt);
	wr64(edu, 0x98, 1 | (to_ram ? 2 : 0) | (irq ? 4 : 0));
	for (int i = 0; i < 100 && (rd32(edu, 0x98) & 1); i++)
		;
	ck_assert_uint_eq(rd32(edu, 0x98) & 1, 0);
}

/* ---- main ---- */

/* Run @s and exit non-zero on any failure: every unit test's main(). */
static inline int fx_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#ifdef FIXTURE_GLOBALS
/* ------------------------------------------------------------------ */
/* The device-level tests' file-wide fake kernel and context.          */

static struct iommufd_fake *fake;
static struct iommufd_ctx *ctx;
static uint64_t PAGE;

/* The fake kernel (see fx_fake_new()) with no machine yet, and PAGE. For
 * tests that configure the fake before adding the machine. */
static inline void fx_fake_up_bare(unsigned int minor)
{
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	fx_fake_new(&fake, minor);
}

/* The fake kernel with the default machine (edu behind dmar0, a NIC
 * behind dmar1, an mdev). The caller adds any more devices, then
 * log_clear() and its context. */
static inline void fx_fake_up(unsigned int minor)
{
	fx_fake_up_bare(minor);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
}

/* Teardown in two halves, so that a test can check the log in between
 * (the context's last words are said by iommufd_ctx_free()). */
static inline void fx_ctx_down(void)
{
	iommufd_ctx_free(ctx);
	ctx = NULL;
}

static inline void fx_fake_down(void)
{
	fx_fake_free(fake);
	fake = NULL;
}

static inline void fx_teardown(void)
{
	fx_ctx_down();
	fx_fake_down();
}

/* Open a device of the fake's by @name, which must work. */
static inline struct iommufd_device *open_ok(const char *name)
{
	struct iommufd_device *dev = NULL;

	ck_assert_int_eq(iommufd_device_open(ctx, name, NULL, &dev), 0);
	return dev;
}

/* The same, also checking the handle (the form test-device.c and
 * test-type1.c always used). */
static inline struct iommufd_device *open_ok_nonnull(const char *name)
{
	struct iommufd_device *dev = open_ok(name);

	ck_assert_ptr_nonnull(dev);
	return dev;
}

static inline struct iommufd_ioas *ioas_ok(void)
{
	struct iommufd_ioas *ioas = NULL;

	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	return ioas;
}

/* What the fake's device @name has done by DMA so far. */
static inline struct iommufd_fake_dma_stats stats(const char *name)
{
	struct iommufd_fake_dma_stats st = { .sz = sizeof(st) };

	ck_assert_int_eq(iommufd_fake_dma_stats(fake, name, &st), 0);
	return st;
}

/* Four functions on one resettable bus behind dmar1, for the hot reset
 * tests: .0 and .3 share group 10, .1 is in group 11, .2 (group 12) is
 * on another driver. */
static inline void add_reset_peers(void)
{
	struct iommufd_fake_pci_opts o = {
		.sz = sizeof(o), .vendor_id = 0x8086, .device_id = 0x1521,
		.class_code = 0x020000, .iommu = "dmar1",
		.bars = { [0] = { .size = 1u << 17 } },
		.flags = IOMMUFD_FAKE_PCI_PCIE, .reset_group = 1,
	};

	o.bdf = "0000:01:00.0";
	o.iommu_group = 10;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	o.bdf = "0000:01:00.1";
	o.iommu_group = 11;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	o.bdf = "0000:01:00.2";
	o.iommu_group = 12;
	o.driver = "nvme";
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
	o.bdf = "0000:01:00.3";
	o.iommu_group = 10;
	o.driver = NULL;
	ck_assert_int_eq(iommufd_fake_add_pci_device(fake, &o), 0);
}
#endif /* FIXTURE_GLOBALS */

#endif /* FIXTURE_FD_CHECK_ONLY */

#endif /* LIBIOMMUFD_TESTS_FIXTURE_H */
