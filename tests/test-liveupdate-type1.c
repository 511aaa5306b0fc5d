/* SPDX-License-Identifier: MIT */
/*
 * Live update on the type1 backend (src/backend/type1.c), on the fake kernel
 * emulating Linux 6.1: guest RAM is a memfd mapped with map_file, the edu
 * device DMAs into it.
 *
 * Two layers. The backend's hooks, called through ctx->backend as
 * liveupdate.c calls them (internal headers, no internal symbols): the
 * vaddr-invalid window (device DMA still lands, a second invalidation is
 * refused), all-or-nothing quiesce and takeover under injected failures,
 * the saved section and a restore of tampered sections. Then the public API
 * end to end: check, prepare and abort, exec of this very program (argv
 * marker LU_CHILD) and a socket handoff to a forked child, each child
 * restoring the context and DMAing into the memfd it maps itself.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>
#include <iommufd/liveupdate.h>

#include "../src/internal.h"
#include "../src/lu-desc.h"

#define FIXTURE_GLOBALS
#include "fixture.h"

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)
#define RAM_IOVA 0x100000ull
#define RAM_PAGES 4
#define LU_CHILD "--lu-type1-child"

static int mfd = -1;
static struct iommufd_ioas *ioas;
static struct iommufd_device *edu;

/* What the parent hands its child besides the description. */
struct handoff {
	uint64_t iova, length;
	int edu_fd;
	uint8_t pattern[64];
};

static int memfd_new(size_t len)
{
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	return fd;
}

/* 6.1, the default machine, a type1 context; guest RAM mapped from a memfd
 * at RAM_IOVA, the edu attached and bus master. */
static void setup(void)
{
	uint64_t iova = RAM_IOVA;

	unsetenv("LIBIOMMUFD_BACKEND");
	fx_fake_up(1);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_TYPE1, &ctx), 0);
	mfd = memfd_new(RAM_PAGES * PAGE);
	ioas = ioas_ok();
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, mfd, 0, RAM_PAGES * PAGE,
					       &iova, FIXED), 0);
	edu = open_ok_nonnull(EDU);
	ck_assert_int_eq(iommufd_device_attach_ioas(edu, ioas), 0);
	bus_master(edu);
}

static void teardown(void)
{
	fx_ctx_down();
	if (mfd >= 0)
		close(mfd);
	mfd = -1;
	fx_fake_down();
}

/* A pattern written at file offset 0 is copied by the edu to @off of the
 * RAM; whether it arrived, read from the file. */
static bool dma_lands(uint64_t off, uint8_t seed)
{
	uint8_t a[64], got[64];

	for (int i = 0; i < 64; i++)
		a[i] = (uint8_t)(seed + 7 * i);
	ck_assert_int_eq(pwrite(mfd, a, 64, 0), 64);
	edu_dma(edu, RAM_IOVA, 0x40000, 64, false, false);
	edu_dma(edu, RAM_IOVA + off, 0x40000, 64, true, false);
	ck_assert_int_eq(pread(mfd, got, 64, (off_t)off), 64);
	return !memcmp(a, got, 64);
}

/* The hooks as liveupdate.c calls them: under objects_lock. */
static int hook(int (*fn)(struct iommufd_ctx *))
{
	int rc;

	pthread_mutex_lock(&ctx->objects_lock);
	rc = fn(ctx);
	pthread_mutex_unlock(&ctx->objects_lock);
	return rc;
}

/* ---- the hooks ---- */

START_TEST(window_and_abort)
{
	const struct iommufd_backend_ops *b = ctx->backend;
	uint64_t pinned = iommufd_fake_pinned_bytes(fake);

	ck_assert_ptr_nonnull(b->lu_quiesce);
	ck_assert(dma_lands(PAGE, 1));
	ck_assert_int_eq(hook(b->lu_quiesce), 0);
	/* the window: the mapping and its pinned pages stay */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), pinned);
	ck_assert(dma_lands(2 * PAGE, 2));
	/* once only */
	ck_assert_int_eq(hook(b->lu_quiesce), -EBUSY);
	ck_assert_int_eq(hook(b->lu_unquiesce), 0);
	/* the kernel took the old vaddrs back: a second round works */
	ck_assert_int_eq(hook(b->lu_quiesce), 0);
	ck_assert_int_eq(hook(b->lu_unquiesce), 0);
	ck_assert(dma_lands(3 * PAGE, 3));
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, RAM_IOVA, RAM_PAGES * PAGE, 0,
					    NULL), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
}
END_TEST

/* Two containers (edu and NIC, each its group's) map the IOAS. */
static void attach_nic(void)
{
	struct iommufd_device *nic = open_ok_nonnull(NIC);

	ck_assert_int_eq(iommufd_device_attach_ioas(nic, ioas), 0);
}

START_TEST(quiesce_all_or_nothing)
{
	const struct iommufd_backend_ops *b = ctx->backend;

	attach_nic();
	log_clear();
	/* the second container's UNMAP_DMA fails: the first gets its vaddrs
	 * back */
	iommufd_fake_fail_nth(fake, 2, -EIO);
	ck_assert_int_eq(hook(b->lu_quiesce), -EIO);
	ck_assert(logged("VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR"));
	iommufd_fake_fail_clear(fake);
	ck_assert_int_eq(hook(b->lu_quiesce), 0);
	ck_assert_int_eq(hook(b->lu_unquiesce), 0);
	ck_assert(dma_lands(PAGE, 4));
}
END_TEST

START_TEST(takeover_in_process)
{
	const struct iommufd_backend_ops *b = ctx->backend;
	struct iommufd_mapping m;

	attach_nic();
	/* not quiesced: nothing to take over */
	ck_assert_int_eq(hook(b->lu_takeover), -EINVAL);
	ck_assert_int_eq(hook(b->lu_quiesce), 0);
	/* the second MAP_DMA VADDR fails: the first is invalidated again.
	 * No mmap: in this process the file's mmap is there already, and
	 * shared (one per file). */
	log_clear();
	iommufd_fake_fail_nth(fake, 2, -EIO);	/* map, map */
	ck_assert_int_eq(hook(b->lu_takeover), -EIO);
	ck_assert(logged("VFIO_DMA_MAP_FLAG_VADDR"));
	iommufd_fake_fail_clear(fake);
	/* still quiesced, as before: take it over for real */
	ck_assert_int_eq(hook(b->lu_quiesce), -EBUSY);
	ck_assert_int_eq(hook(b->lu_takeover), 0);
	ck_assert(dma_lands(PAGE, 5));
	ck_assert_int_eq(iommufd_ioas_translate(ioas, RAM_IOVA, &m), 0);
	ck_assert_int_eq(m.fd, mfd);
	/* the context is whole: unmap, map again */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, RAM_IOVA, RAM_PAGES * PAGE, 0,
					    NULL), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(fake), 0);
}
END_TEST

/* A description as liveupdate.c fills its generic part: one IOAS, the edu.
 * fds[] and fdv[] have lu-desc.c's capacity for one fd (4). */
static struct lu_desc *desc_new(void)
{
	struct lu_desc *d = calloc(1, sizeof(*d));

	ck_assert_ptr_nonnull(d);
	d->ctx_fd = LU_NONE;
	d->fds = calloc(4, sizeof(*d->fds));
	d->fdv = calloc(4, sizeof(*d->fdv));
	d->ioas = calloc(1, sizeof(*d->ioas));
	d->devices = calloc(1, sizeof(*d->devices));
	ck_assert(d->fds && d->fdv && d->ioas && d->devices);
	d->nr_fds = 1;
	d->fds[0] = (struct lu_fd){ LU_FD_DEVICE, edu->fd };
	d->fdv[0] = edu->fd;
	d->nr_ioas = 1;
	d->ioas[0].id = iommufd_ioas_id(ioas);
	d->nr_devices = 1;
	d->devices[0] = (struct lu_device){ .fd = 0, .ioas = 0,
					    .hwpt = LU_NONE };
	return d;
}

static void desc_free(struct lu_desc *d)
{
	free(d->fds);
	free(d->fdv);
	free(d->ioas);
	free(d->devices);
	free(d->backend_data);
	free(d);
}

START_TEST(save_and_hostile_restore)
{
	const struct iommufd_backend_ops *b = ctx->backend;
	struct iommufd_ctx *ctx2;
	struct lu_desc *d = desc_new();
	unsigned int files;
	uint8_t *orig;
	uint32_t len;
	int rc;

	pthread_mutex_lock(&ctx->objects_lock);
	rc = b->lu_save(ctx, d);
	pthread_mutex_unlock(&ctx->objects_lock);
	ck_assert_int_eq(rc, 0);
	/* the group file and its container */
	ck_assert_uint_eq(d->nr_fds, 3);
	ck_assert_uint_eq(d->fds[1].role, LU_FD_BACKEND);
	ck_assert_uint_eq(d->fds[2].role, LU_FD_BACKEND);
	ck_assert_uint_gt(d->backend_len, 16);
	len = d->backend_len;
	orig = malloc(len);
	ck_assert_ptr_nonnull(orig);
	memcpy(orig, d->backend_data, len);

	/* Another context has none of those objects: a sound section gets as
	 * far as matching them (-EINVAL); a tampered one stops at decoding
	 * (-EBADMSG, -EPROTO). Neither keeps anything. */
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_TYPE1, &ctx2), 0);
	files = iommufd_fake_open_files(fake);
	ck_assert_int_eq(b->lu_restore(ctx2, d), -EINVAL);
	for (uint32_t cut = 0; cut < len; cut += 4) {
		d->backend_len = cut;
		ck_assert_int_eq(b->lu_restore(ctx2, d), -EBADMSG);
	}
	d->backend_len = len;
	/* version */
	d->backend_data[4] = 9;
	ck_assert_int_eq(b->lu_restore(ctx2, d), -EPROTO);
	memcpy(d->backend_data, orig, len);
	/* magic */
	d->backend_data[0] ^= 1;
	ck_assert_int_eq(b->lu_restore(ctx2, d), -EBADMSG);
	memcpy(d->backend_data, orig, len);
	/* every word in turn set to absurd values: a count, an index, an fd
	 * index, an IOMMU type... only what still validates reaches the
	 * object match */
	for (uint32_t off = 8; off + 4 <= len; off += 4) {
		static const uint32_t bad[] = { 0xffffffffu, 0x7fffffffu, 3,
						0xfffffffeu };

		for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
			memcpy(d->backend_data + off, &bad[k], 4);
			rc = b->lu_restore(ctx2, d);
			ck_assert_msg(rc == -EBADMSG || rc == -EINVAL ||
					      rc == -EBADF || rc == -ENOMEM,
				      "word %u = 0x%x: %d", off, bad[k], rc);
			memcpy(d->backend_data, orig, len);
		}
	}
	/* a trailing byte */
	d->backend_data = realloc(d->backend_data, len + 1);
	ck_assert_ptr_nonnull(d->backend_data);
	d->backend_data[len] = 0;
	d->backend_len = len + 1;
	ck_assert_int_eq(b->lu_restore(ctx2, d), -EBADMSG);
	ck_assert(logged("type1 section"));
	/* nothing kept, nothing closed: ctx2 and the originals still work */
	ck_assert_uint_eq(iommufd_fake_open_files(fake), files);
	{
		struct iommufd_ioas *io2 = NULL;

		ck_assert_int_eq(iommufd_ioas_new(ctx2, &io2), 0);
		ck_assert_int_eq(iommufd_ioas_destroy(io2), 0);
	}
	iommufd_ctx_free(ctx2);
	ck_assert(dma_lands(PAGE, 6));
	free(orig);
	desc_free(d);
}
END_TEST

/* ---- the public API ---- */

struct blockers {
	int n;
	char what[512];		/* the last one's sentence */
};

static int count_blockers(const struct iommufd_lu_blocker *bl, void *data)
{
	struct blockers *b = data;

	b->n++;
	snprintf(b->what, sizeof(b->what), "%s", bl->what ? bl->what : "");
	return 0;
}

START_TEST(check_refuses_mdev)
{
	struct iommufd_device *mdev;
	struct blockers b = { 0 };

	ck_assert_int_eq(iommufd_lu_check(ctx, count_blockers, &b), 0);
	ck_assert_int_eq(b.n, 0);
	/* an emulated device's container has no VFIO_UPDATE_VADDR (6.1: it
	 * could not pin or rw while the vaddrs change) */
	mdev = open_ok_nonnull(MDEV);
	ck_assert_int_eq(iommufd_device_attach_ioas(mdev, ioas), 0);
	ck_assert_int_eq(iommufd_lu_check(ctx, count_blockers, &b),
			 -EOPNOTSUPP);
	ck_assert_int_eq(b.n, 1);
	ck_assert_msg(strstr(b.what, "VFIO_UPDATE_VADDR"), "%s", b.what);
	iommufd_device_free(mdev);
}
END_TEST

START_TEST(check_refuses_compat)
{
	struct iommufd_fake *f;
	struct iommufd_ctx *c;
	struct blockers b = { 0 };

	fx_fake_new(&f, 0);
	ck_assert_int_eq(iommufd_fake_set_vfio_container_mode(
				 f, IOMMUFD_FAKE_VFIO_CONTAINER_IOMMUFD), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(f), 0);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(f, IOMMUFD_BACKEND_VFIO_COMPAT, &c), 0);
	ck_assert_int_eq(iommufd_lu_check(c, count_blockers, &b),
			 -EOPNOTSUPP);
	ck_assert_int_eq(b.n, 1);
	ck_assert_msg(strstr(b.what, "use the iommufd backend"), "%s", b.what);
	iommufd_ctx_free(c);
	fx_fake_free(f);
}
END_TEST

START_TEST(prepare_abort)
{
	struct iommufd_lu *lu = NULL;
	uint64_t iova = RAM_IOVA + RAM_PAGES * PAGE;
	int rc;

	rc = iommufd_lu_prepare(ctx, NULL, &lu);
	ck_assert_msg(rc == 0, "prepare: %d: %s", rc, fx_log()->buf);
	/* the window: DMA lands, the library refuses changes */
	ck_assert(dma_lands(PAGE, 7));
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, mfd, 0, PAGE, &iova,
					       FIXED), -EBUSY);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, RAM_IOVA, PAGE * RAM_PAGES, 0,
					    NULL), -EBUSY);
	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, RAM_IOVA, PAGE * RAM_PAGES, 0,
					    NULL), 0);
	iova = RAM_IOVA;
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, mfd, 0, RAM_PAGES * PAGE,
					       &iova, FIXED), 0);
	ck_assert(dma_lands(2 * PAGE, 8));
}
END_TEST

/* ---- the new process ---- */

static int child_mapping(const struct iommufd_mapping *m, void *data)
{
	struct handoff *h = data;

	return m->iova == h->iova && m->length == h->length ? 0 : -EBADMSG;
}

/* edu_dma() without ck_assert (no test runs in the child): 64 bytes of
 * the device's buffer to @iova. */
static int child_dma_to_ram(struct iommufd_device *dev, uint64_t iova)
{
	uint64_t v[4] = { 0x40000, iova, 64, 1 | 2 };
	uint32_t st = 1;

	for (int i = 0; i < 4; i++)
		if (iommufd_device_region_write(dev, 0, 0x80 + 8 * i, &v[i],
						8) != 8)
			return -EIO;
	for (int i = 0; i < 100 && (st & 1); i++)
		if (iommufd_device_region_read(dev, 0, 0x98, &st, 4) != 4)
			return -EIO;
	return st & 1 ? -ETIMEDOUT : 0;
}

/* Restore, compare with what the parent said, DMA into the memfd mapped
 * here. 0 or a line on stderr and the step that failed. After an exec the
 * fds keep their numbers; over a socket they get new ones. */
static int child_run(struct iommufd_lu *lu, bool same_fds)
{
	IOMMUFD_OPTS(iommufd_lu_restore_opts, opts, .log_fn = log_fn,
		     .log_level = IOMMUFD_LOG_DEBUG);
	const struct handoff *h;
	struct iommufd_ctx *c = NULL;
	struct iommufd_device *dev;
	struct iommufd_ioas *io;
	uint8_t got[64];
	size_t len = 0;
	int fd, rc;

	h = iommufd_lu_user_data(lu, &len);
	if (!h || len != sizeof(*h))
		return 10;
	rc = iommufd_lu_restore(lu, &opts, &c);
	if (rc) {
		fprintf(stderr, "restore: %d\n%s", rc, fx_log()->buf);
		return 11;
	}
	io = iommufd_lu_ioas(lu, 0);
	dev = iommufd_lu_device(lu, 0);
	fd = iommufd_lu_extra_fd(lu, 0);
	if (!io || !dev || fd < 0 || iommufd_lu_nr_devices(lu) != 1)
		return 12;
	if (same_fds && dev->fd != h->edu_fd)
		return 13;	/* the same fd, not a new open */
	if (iommufd_ioas_for_each_mapping(io, 0, UINT64_MAX, child_mapping,
					  (void *)h))
		return 14;
	/* the edu writes; it lands in the file this process mapped */
	rc = child_dma_to_ram(dev, h->iova + 3 * PAGE);
	if (rc) {
		fprintf(stderr, "edu DMA: %d\n%s", rc, fx_log()->buf);
		return 16;
	}
	if (pread(fd, got, 64, (off_t)(3 * PAGE)) != 64 ||
	    memcmp(got, h->pattern, 64))
		return 15;
	iommufd_ctx_free(c);
	return 0;
}

static int child_main(void)
{
	struct iommufd_lu *lu = NULL;
	int rc = iommufd_lu_from_env(&lu);

	if (rc) {
		fprintf(stderr, "from_env: %d\n", rc);
		return 20;
	}
	rc = child_run(lu, true);
	iommufd_lu_free(lu);
	return rc;
}

/* Prepare with the table, the edu's fd and a pattern the edu holds. */
static struct iommufd_lu *prepare_handoff(struct handoff *h)
{
	IOMMUFD_OPTS(iommufd_lu_prepare_opts, po, .user_data = h,
		     .user_data_len = sizeof(*h), .extra_fds = &mfd,
		     .nr_extra_fds = 1);
	struct iommufd_lu *lu = NULL;

	/* It travels as bytes: no uninitialised padding. */
	memset(h, 0, sizeof(*h));
	h->iova = RAM_IOVA;
	h->length = RAM_PAGES * PAGE;
	h->edu_fd = edu->fd;
	for (int i = 0; i < 64; i++)
		h->pattern[i] = (uint8_t)(0x5a ^ i);
	ck_assert_int_eq(pwrite(mfd, h->pattern, 64, 0), 64);
	edu_dma(edu, RAM_IOVA, 0x40000, 64, false, false);
	int rc = iommufd_lu_prepare(ctx, &po, &lu);

	ck_assert_msg(rc == 0, "prepare: %d: %s", rc, fx_log()->buf);
	return lu;
}

/* This binary, from main(): under valgrind /proc/self/exe is valgrind's
 * own, readlink() of it is not. */
static char self_exe[PATH_MAX];

START_TEST(exec_self)
{
	struct handoff h;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		char *argv[] = { "test-liveupdate-type1", LU_CHILD, NULL };
		struct iommufd_lu *lu = prepare_handoff(&h);

		iommufd_lu_exec(lu, self_exe, argv, NULL);
		_exit(30);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the exec'd child: status 0x%x", status);
}
END_TEST

START_TEST(socket_handoff)
{
	struct iommufd_lu *lu;
	struct handoff h;
	int sv[2], status;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		struct iommufd_lu *in = NULL;
		int rc;

		close(sv[0]);
		if (iommufd_lu_receive(sv[1], &in))
			_exit(40);
		rc = child_run(in, false);
		iommufd_lu_free(in);
		/* _exit() runs no atexit(): free the fake the restore loaded,
		 * sysfs tree and all, here. */
		iommufd_fake_free(iommufd_fake_default());
		_exit(rc);
	}
	close(sv[1]);
	lu = prepare_handoff(&h);
	ck_assert_int_eq(iommufd_lu_send(lu, sv[0]), 0);
	iommufd_lu_free(lu);
	close(sv[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the receiving child: status 0x%x", status);
	/* handed over: freeing the context here leaves the kernel alone */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("liveupdate-type1");
	TCase *tc = fx_tcase("hooks");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, window_and_abort);
	tcase_add_test(tc, quiesce_all_or_nothing);
	tcase_add_test(tc, takeover_in_process);
	tcase_add_test(tc, save_and_hostile_restore);
	suite_add_tcase(s, tc);

	tc = fx_tcase("api");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, check_refuses_mdev);
	tcase_add_test(tc, check_refuses_compat);
	tcase_add_test(tc, prepare_abort);
	tcase_add_test(tc, exec_self);
	tcase_add_test(tc, socket_handoff);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], LU_CHILD))
		return child_main();
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return EXIT_FAILURE;
	self_exe[n] = '\0';
	return fx_run(suite());
}
