/* SPDX-License-Identifier: MIT */
/*
 * Live update on the fake kernel, as a user sees it: the pre-flight check
 * and what it names, prepare freezing the context and abort thawing it,
 * a real exec of this test binary and a fork + SCM_RIGHTS handoff that go
 * on DMAing into the same memfd, tampered descriptions refused without an
 * fd leaked, and a redrive after a simulated kexec with its verification.
 *
 * The exec test re-runs this binary with LU_CHILD_ARG: main() then runs
 * lu_child() instead of the suite, outside check (no ck_assert there: each
 * failed step exits with its own status, which the parent reports).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/vfio.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#define FIXTURE_GLOBALS
#include "fixture.h"

#define EDU "0000:00:04.0"
#define MAP_RW (IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE)
#define FIXED (MAP_RW | IOMMUFD_MAP_FIXED_IOVA)
#define IOVA 0x100000ull
#define RAM_LEN (4 * 4096ull)
#define LU_CHILD_ARG "--lu-child"
#define SOCK_CHILD_ARG "--sock-child"

/* This binary, from main(): under valgrind /proc/self/exe is valgrind's
 * own, readlink() of it is not. */
static char self_exe[PATH_MAX];
#define USER_DATA "the VMM's own state"

/* ---- the state every test builds: an IOAS, a memfd mapped, edu ---- */

static struct iommufd_ioas *ioas;
static struct iommufd_device *edu;
static int ram_fd = -1;
static uint8_t *ram;

static void setup(void)
{
	fx_fake_up(0);
	log_clear();
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_IOMMUFD, &ctx), 0);
}

static void teardown(void)
{
	if (ram)
		munmap(ram, RAM_LEN);
	ram = NULL;
	if (ram_fd >= 0)
		close(ram_fd);
	ram_fd = -1;
	ioas = NULL;
	edu = NULL;
	fx_teardown();
}

/* Guest RAM in a memfd, mapped at IOVA, edu attached and bus master. */
static void vm_up(void)
{
	uint64_t iova = IOVA;

	ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	ck_assert_int_ge(ram_fd, 0);
	ck_assert_int_eq(ftruncate(ram_fd, (off_t)RAM_LEN), 0);
	ram = mmap(NULL, RAM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd,
		   0);
	ck_assert_ptr_ne(ram, MAP_FAILED);
	ioas = ioas_ok();
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, RAM_LEN, &iova,
					       FIXED), 0);
	edu = open_ok_nonnull(EDU);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	bus_master(edu);
}

/* ---- check ---- */

struct seen {
	unsigned int mapping, feature, state;
	struct iommufd_lu_blocker last_mapping;
	enum iommufd_feature last_feature;
	char what[512];
};

static int blocker_cb(const struct iommufd_lu_blocker *b, void *data)
{
	struct seen *s = data;

	ck_assert_ptr_nonnull(b->what);
	snprintf(s->what + strlen(s->what), sizeof(s->what) - strlen(s->what),
		 "%s\n", b->what);
	switch (b->kind) {
	case IOMMUFD_LU_BLOCK_MAPPING:
		s->mapping++;
		s->last_mapping = *b;
		break;
	case IOMMUFD_LU_BLOCK_FEATURE:
		s->feature++;
		s->last_feature = b->feature;
		break;
	case IOMMUFD_LU_BLOCK_STATE:
		s->state++;
		break;
	}
	return 0;
}

START_TEST(check_clean)
{
	vm_up();
	ck_assert_int_eq(iommufd_lu_check(ctx, NULL, NULL), 0);
	ck_assert_int_eq(iommufd_lu_check(NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(check_names_vaddr_mapping)
{
	struct seen s = { 0 };
	uint8_t *mem = buf_new(2 * PAGE);
	uint64_t iova = 0x800000;

	vm_up();
	ck_assert_int_eq(iommufd_ioas_map(ioas, mem, 2 * PAGE, &iova, FIXED),
			 0);
	ck_assert_int_eq(iommufd_lu_check(ctx, blocker_cb, &s), -EOPNOTSUPP);
	ck_assert_uint_eq(s.mapping, 1);
	ck_assert_uint_eq(s.feature, 0);
	ck_assert_uint_eq(s.last_mapping.ioas_id, iommufd_ioas_id(ioas));
	ck_assert_uint_eq(s.last_mapping.iova, 0x800000);
	ck_assert_uint_eq(s.last_mapping.length, 2 * PAGE);
	ck_assert_ptr_nonnull(strstr(s.what, "0x800000"));
	/* nothing changed: both mappings still there, map still works */
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 2);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, 0x800000, 2 * PAGE, 0, NULL),
			 0);
	ck_assert_int_eq(iommufd_lu_check(ctx, NULL, NULL), 0);
	munmap(mem, 2 * PAGE);
}
END_TEST

static int stop_cb(const struct iommufd_lu_blocker *b, void *data)
{
	(void)b;
	(*(int *)data)++;
	return 42;
}

START_TEST(check_stops_walk)
{
	uint8_t *mem = buf_new(4 * PAGE);
	uint64_t a = 0x800000, b = 0x900000;
	int calls = 0;

	vm_up();
	ck_assert_int_eq(iommufd_ioas_map(ioas, mem, PAGE, &a, FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_map(ioas, mem + PAGE, PAGE, &b, FIXED), 0);
	ck_assert_int_eq(iommufd_lu_check(ctx, stop_cb, &calls), 42);
	ck_assert_int_eq(calls, 1);
	munmap(mem, 4 * PAGE);
}
END_TEST

START_TEST(check_old_kernel_and_prepare_refused)
{
	struct seen s = { 0 };
	struct iommufd_lu *lu = NULL;
	uint64_t iova = IOVA;

	/* Linux 6.13: MAP_FILE yes, CHANGE_PROCESS no */
	iommufd_ctx_free(ctx);
	ctx = NULL;
	fx_fake_free(fake);
	fx_fake_new(&fake, 13);
	ck_assert_int_eq(iommufd_fake_add_default_machine(fake), 0);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_IOMMUFD, &ctx), 0);
	ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	ck_assert_int_eq(ftruncate(ram_fd, (off_t)RAM_LEN), 0);
	ioas = ioas_ok();
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, RAM_LEN, &iova,
					       FIXED), 0);

	ck_assert_int_eq(iommufd_lu_check(ctx, blocker_cb, &s), -EOPNOTSUPP);
	ck_assert_uint_eq(s.feature, 1);
	ck_assert_int_eq(s.last_feature, IOMMUFD_FEATURE_CHANGE_PROCESS);
	ck_assert_uint_eq(s.mapping, 0);
	ck_assert_ptr_nonnull(strstr(s.what, "CHANGE_PROCESS"));

	log_clear();
	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, &lu), -EOPNOTSUPP);
	ck_assert_ptr_null(lu);
	ck_assert(logged("CHANGE_PROCESS"));
	/* not frozen: everything goes on */
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, IOVA, RAM_LEN, 0, NULL), 0);
	iova = IOVA;
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, RAM_LEN, &iova,
					       FIXED), 0);
}
END_TEST

/* ---- prepare / abort ---- */

START_TEST(prepare_freezes_abort_thaws)
{
	IOMMUFD_OPTS(iommufd_lu_prepare_opts, po, .user_data = USER_DATA,
		     .user_data_len = sizeof(USER_DATA));
	struct iommufd_lu *lu = NULL, *lu2 = NULL;
	struct iommufd_ioas *other = NULL;
	uint64_t iova = 0x400000;

	vm_up();
	ck_assert_int_eq(iommufd_lu_prepare(ctx, &po, &lu), 0);
	ck_assert_ptr_nonnull(lu);
	ck_assert_uint_eq(iommufd_lu_nr_ioas(lu), 1);
	ck_assert_uint_eq(iommufd_lu_nr_devices(lu), 1);
	ck_assert_uint_eq(iommufd_lu_nr_files(lu), 1);

	log_clear();
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, PAGE, &iova,
					       FIXED), -EBUSY);
	ck_assert(logged("live update"));
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, IOVA, RAM_LEN, 0, NULL),
			 -EBUSY);
	ck_assert_int_eq(iommufd_ioas_unmap_all(ioas, NULL), -EBUSY);
	ck_assert_int_eq(iommufd_device_detach(edu), -EBUSY);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), -EBUSY);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &other), -EBUSY);
	ck_assert_int_eq(iommufd_ioas_destroy(ioas), -EBUSY);
	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, &lu2), -EBUSY);
	/* reads go on, and DMA */
	ck_assert_uint_eq(iommufd_ioas_mapping_count(ioas), 1);
	memset(ram, 0x5a, 64);
	edu_dma(edu, IOVA, 0x40000, 64, false, false);
	edu_dma(edu, IOVA + PAGE, 0x40000, 64, true, false);
	ck_assert_uint_eq(ram[PAGE], 0x5a);

	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, PAGE, &iova,
					       FIXED), 0);
	ck_assert_int_eq(iommufd_ioas_unmap(ioas, iova, PAGE, 0, NULL), 0);
	ck_assert_int_eq(iommufd_device_detach(edu), 0);
	ck_assert_int_eq(iommufd_device_attach(edu, ioas, 0, NULL), 0);
	ck_assert_int_eq(iommufd_lu_abort(NULL), -EINVAL);
}
END_TEST

START_TEST(prepare_bad_input)
{
	int bad = 1000;
	IOMMUFD_OPTS(iommufd_lu_prepare_opts, po, .extra_fds = &bad,
		     .nr_extra_fds = 1);
	struct iommufd_lu *lu = NULL;
	uint64_t iova = 0x400000;

	vm_up();
	ck_assert_int_eq(iommufd_lu_prepare(ctx, &po, &lu), -EBADF);
	ck_assert_int_eq(iommufd_lu_prepare(NULL, NULL, &lu), -EINVAL);
	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(lu);
	/* not left frozen */
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, PAGE, &iova,
					       FIXED), 0);
}
END_TEST

/* ---- write / read / tamper ---- */

static int desc_copy(struct iommufd_lu *lu)
{
	int fd = memfd_create("lu-copy", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(iommufd_lu_write(lu, fd), 0);
	return fd;
}

START_TEST(write_read_roundtrip_and_tamper)
{
	IOMMUFD_OPTS(iommufd_lu_prepare_opts, po, .user_data = USER_DATA,
		     .user_data_len = sizeof(USER_DATA));
	struct iommufd_lu *lu = NULL, *back = NULL;
	const char *ud;
	size_t len = 0;
	struct stat st;
	uint8_t byte;
	int fd;

	vm_up();
	ck_assert_int_eq(iommufd_lu_prepare(ctx, &po, &lu), 0);
	fd = desc_copy(lu);
	ck_assert_int_eq(iommufd_lu_read(fd, &back), 0);
	ck_assert_uint_eq(iommufd_lu_nr_ioas(back), 1);
	ck_assert_uint_eq(iommufd_lu_nr_devices(back), 1);
	ck_assert_uint_eq(iommufd_lu_nr_files(back), 1);
	ud = iommufd_lu_user_data(back, &len);
	ck_assert_uint_eq(len, sizeof(USER_DATA));
	ck_assert_str_eq(ud, USER_DATA);
	/* nothing built yet, no fds travelled */
	ck_assert_ptr_null(iommufd_lu_ioas(back, 0));
	ck_assert_int_eq(iommufd_lu_extra_fd(back, 0), -ENOENT);
	iommufd_lu_free(back);
	back = NULL;

	/* one byte flipped anywhere: refused, nothing allocated survives */
	ck_assert_int_eq(fstat(fd, &st), 0);
	for (off_t off = 0; off < st.st_size; off += st.st_size / 7 + 1) {
		ck_assert_int_eq(pread(fd, &byte, 1, off), 1);
		byte ^= 0x40;
		ck_assert_int_eq(pwrite(fd, &byte, 1, off), 1);
		ck_assert_int_lt(iommufd_lu_read(fd, &back), 0);
		ck_assert_ptr_null(back);
		byte ^= 0x40;
		ck_assert_int_eq(pwrite(fd, &byte, 1, off), 1);
	}
	/* cut short */
	ck_assert_int_eq(ftruncate(fd, st.st_size / 2), 0);
	ck_assert_int_lt(iommufd_lu_read(fd, &back), 0);
	close(fd);
	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
}
END_TEST

START_TEST(from_env_tampered)
{
	struct iommufd_lu *lu = NULL, *got = NULL;
	char num[16];
	uint8_t byte;
	int fd, sealed;
	struct stat st;
	void *buf;

	vm_up();
	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, &lu), 0);
	fd = desc_copy(lu);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	((uint8_t *)buf)[st.st_size / 2] ^= 1;
	sealed = memfd_create("lu-bad", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_eq(write(sealed, buf, (size_t)st.st_size), st.st_size);
	free(buf);
	ck_assert_int_eq(fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
						     F_SEAL_WRITE), 0);
	snprintf(num, sizeof(num), "%d", sealed);
	setenv(IOMMUFD_LU_ENV, num, 1);
	ck_assert_int_lt(iommufd_lu_from_env(&got), 0);
	ck_assert_ptr_null(got);
	ck_assert_ptr_null(getenv(IOMMUFD_LU_ENV));
	/* the description fd was the update's: closed */
	ck_assert(!fd_is_open(sealed));
	(void)byte;

	/* not started by an update; a malformed variable; not a memfd */
	ck_assert_int_eq(iommufd_lu_from_env(&got), -ENOENT);
	setenv(IOMMUFD_LU_ENV, "12x", 1);
	ck_assert_int_eq(iommufd_lu_from_env(&got), -EINVAL);
	ck_assert_ptr_null(getenv(IOMMUFD_LU_ENV));
	setenv(IOMMUFD_LU_ENV, "0", 1);
	ck_assert_int_lt(iommufd_lu_from_env(&got), 0);
	ck_assert(fd_is_open(0));
	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
}
END_TEST

/* The wire's header, as iommufd_lu_send() writes it. */
struct wire_hdr {
	uint32_t magic, version, nr_fds, reserved;
	uint64_t desc_len;
};

static void send_raw(int sock, const void *p, size_t len, const int *fds,
		     size_t nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} c;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&c, 0, sizeof(c));
	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t)len);
}

START_TEST(receive_tampered)
{
	struct iommufd_lu *lu = NULL, *got = NULL;
	struct fx_fds before;
	char msg[256];
	int sv[2], memfd;
	struct wire_hdr h;
	struct { uint32_t magic, nr; } chunk;
	uint8_t *bytes;
	struct stat st;
	int fd;

	vm_up();
	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, &lu), 0);

	/* A good send with one byte flipped in the description. */
	fd = desc_copy(lu);
	ck_assert_int_eq(fstat(fd, &st), 0);
	bytes = malloc((size_t)st.st_size);
	ck_assert_int_eq(pread(fd, bytes, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	bytes[st.st_size - 1] ^= 0x10;
	memfd = memfd_create("lu-bad", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_eq(write(memfd, bytes, (size_t)st.st_size), st.st_size);
	ck_assert_int_eq(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK |
						    F_SEAL_GROW | F_SEAL_WRITE),
			 0);
	free(bytes);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	fx_fds_snapshot(&before);
	h = (struct wire_hdr){ .magic = 0x554c4f49u, .version = 1,
			       .nr_fds = 2, .desc_len = (uint64_t)st.st_size };
	send_raw(sv[0], &h, sizeof(h), &memfd, 1);
	chunk.magic = 0x4b4f4c49u;
	chunk.nr = 2;
	send_raw(sv[0], &chunk, sizeof(chunk), (int[]){ ram_fd, ram_fd }, 2);
	ck_assert_int_lt(iommufd_lu_receive(sv[1], &got), 0);
	ck_assert_ptr_null(got);
	ck_assert_msg(fx_fds_leaked(&before, msg, sizeof(msg)) == 0, "%s", msg);

	/* The chunk says 3 fds, 2 came. */
	h.nr_fds = 3;
	send_raw(sv[0], &h, sizeof(h), &memfd, 1);
	chunk.nr = 3;
	send_raw(sv[0], &chunk, sizeof(chunk), (int[]){ ram_fd, ram_fd }, 2);
	ck_assert_int_lt(iommufd_lu_receive(sv[1], &got), 0);
	ck_assert_msg(fx_fds_leaked(&before, msg, sizeof(msg)) == 0, "%s", msg);

	/* No description fd with the header. */
	send_raw(sv[0], &h, sizeof(h), NULL, 0);
	ck_assert_int_lt(iommufd_lu_receive(sv[1], &got), 0);
	ck_assert_msg(fx_fds_leaked(&before, msg, sizeof(msg)) == 0, "%s", msg);

	close(memfd);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
}
END_TEST

/* ---- redrive after a simulated kexec ---- */

struct diff_seen {
	unsigned int n;
	uint64_t iova, length;
	char what[128];
};

static int diff_cb(const struct iommufd_lu_diff *d, void *data)
{
	struct diff_seen *s = data;

	s->n++;
	s->iova = d->iova;
	s->length = d->length;
	snprintf(s->what, sizeof(s->what), "%s", d->what);
	return 0;
}

/* Save the description of the running VM into a file, then tear the
 * whole kernel down (the fake) but keep the memory (ram_fd). */
static int kexec_save(void)
{
	struct iommufd_lu *lu = NULL;
	int file;

	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, &lu), 0);
	file = memfd_create("lu-saved", MFD_CLOEXEC);
	ck_assert_int_eq(iommufd_lu_write(lu, file), 0);
	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
	iommufd_ctx_free(ctx);
	ctx = NULL;
	fx_fake_free(fake);
	fx_fake_up(0);
	ck_assert_int_eq(fx_ctx_new(fake, IOMMUFD_BACKEND_IOMMUFD, &ctx), 0);
	return file;
}

START_TEST(redrive_identical)
{
	IOMMUFD_OPTS(iommufd_lu_redrive_opts, ro, .diff_fn = diff_cb);
	struct diff_seen ds = { 0 };
	struct iommufd_lu *lu = NULL;
	struct iommufd_device *dev;
	struct iommufd_mapping m;
	int file;

	vm_up();
	memset(ram, 0x33, 128);
	file = kexec_save();
	ioas = NULL;
	edu = NULL;

	ck_assert_int_eq(iommufd_lu_read(file, &lu), 0);
	close(file);
	ro.files = &ram_fd;
	ro.nr_files = 1;
	ro.diff_data = &ds;
	ck_assert_int_eq(iommufd_lu_redrive(lu, ctx, &ro), 0);
	ck_assert_uint_eq(ds.n, 0);
	ck_assert_ptr_nonnull(iommufd_lu_ioas(lu, 0));
	ck_assert_int_eq(iommufd_ioas_translate(iommufd_lu_ioas(lu, 0),
						IOVA + 5, &m), 0);
	ck_assert_int_eq(m.fd, ram_fd);
	dev = iommufd_lu_device(lu, 0);
	ck_assert_ptr_nonnull(dev);
	/* the data there survived, DMA works at the same IOVA */
	bus_master(dev);
	edu_dma(dev, IOVA, 0x40000, 128, false, false);
	edu_dma(dev, IOVA + PAGE, 0x40000, 128, true, false);
	ck_assert_uint_eq(ram[PAGE + 127], 0x33);
	/* a second redrive of the same description: the context is not
	 * fresh */
	ck_assert_int_eq(iommufd_lu_redrive(lu, ctx, &ro), -EALREADY);
	iommufd_lu_free(lu);
}
END_TEST

START_TEST(redrive_other_file_reported)
{
	IOMMUFD_OPTS(iommufd_lu_redrive_opts, ro, .diff_fn = diff_cb);
	struct diff_seen ds = { 0 };
	struct iommufd_lu *lu = NULL;
	struct iommufd_ioas *busy = NULL;
	int file, other;

	vm_up();
	file = kexec_save();
	other = memfd_create("not-guest-ram", MFD_CLOEXEC);
	ck_assert_int_eq(ftruncate(other, (off_t)RAM_LEN), 0);
	ck_assert_int_eq(iommufd_lu_read(file, &lu), 0);
	close(file);

	/* wrong input changes nothing */
	ck_assert_int_eq(iommufd_lu_redrive(lu, ctx, &ro), -EINVAL);
	ro.files = &other;
	ro.nr_files = 1;
	ro.diff_data = &ds;
	ck_assert_int_eq(iommufd_ioas_new(ctx, &busy), 0);
	ck_assert_int_eq(iommufd_lu_redrive(lu, ctx, &ro), -EBUSY);
	ck_assert_int_eq(iommufd_ioas_destroy(busy), 0);

	ck_assert_int_gt(iommufd_lu_redrive(lu, ctx, &ro), 0);
	ck_assert_uint_ge(ds.n, 1);
	ck_assert_uint_eq(ds.iova, IOVA);
	ck_assert_uint_eq(ds.length, RAM_LEN);
	ck_assert_ptr_nonnull(strstr(ds.what, "file"));
	iommufd_lu_free(lu);
	close(other);
}
END_TEST

/* ---- the new process: exec ---- */

static int child_dma(struct iommufd_device *dev, uint64_t iova, uint64_t cnt,
		     bool to_ram)
{
	uint64_t v[4] = { to_ram ? 0x40000 : iova, to_ram ? iova : 0x40000,
			  cnt, 1 | (to_ram ? 2 : 0) };
	uint16_t cmd = 0;
	uint32_t st = 1;

	if (iommufd_device_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 4,
				       &cmd, 2) != 2)
		return -1;
	cmd |= 0x4;
	if (iommufd_device_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, 4,
					&cmd, 2) != 2)
		return -1;
	for (int i = 0; i < 4; i++)
		if (iommufd_device_region_write(dev, 0, 0x80 + 8 * i, &v[i],
						8) != 8)
			return -1;
	for (int i = 0; i < 100 && (st & 1); i++)
		if (iommufd_device_region_read(dev, 0, 0x98, &st, 4) != 4)
			return -1;
	return st & 1 ? -1 : 0;
}

/*
 * What the new program checks, each failure its own exit status:
 * argv: [exe, LU_CHILD_ARG, ioas id, devid, canary fd].
 */
static int lu_child(int argc, char **argv)
{
	struct iommufd_lu *lu = NULL;
	struct iommufd_ctx *c = NULL;
	struct iommufd_ioas *io;
	struct iommufd_device *dev;
	struct iommufd_mapping m;
	const char *ud;
	size_t len;
	uint8_t *mem;
	int extra, rc;

	if (argc < 5)
		return 10;
	if (fcntl(atoi(argv[4]), F_GETFD) >= 0)
		return 11;	/* an O_CLOEXEC fd of the parent leaked */
	if (iommufd_lu_from_env(&lu))
		return 12;
	if (getenv(IOMMUFD_LU_ENV))
		return 13;
	rc = iommufd_lu_restore(lu, NULL, &c);
	if (rc) {
		fprintf(stderr, "lu_child: restore: %s\n", strerror(-rc));
		return 14;
	}
	io = iommufd_lu_ioas(lu, 0);
	dev = iommufd_lu_device(lu, 0);
	if (!io || !dev || iommufd_lu_ioas(lu, 1))
		return 15;
	if (iommufd_ioas_id(io) != (uint32_t)atoi(argv[2]) ||
	    iommufd_device_id(dev) != (uint32_t)atoi(argv[3]))
		return 16;
	if (iommufd_ioas_translate(io, IOVA + PAGE, &m) || m.iova != IOVA ||
	    m.length != RAM_LEN || m.flags != MAP_RW || m.offset != 0 ||
	    m.fd < 0)
		return 17;
	ud = iommufd_lu_user_data(lu, &len);
	if (len != sizeof(USER_DATA) || strcmp(ud, USER_DATA))
		return 18;
	extra = iommufd_lu_extra_fd(lu, 0);
	if (extra < 0 || iommufd_lu_extra_fd(lu, 1) != -ENOENT)
		return 19;
	if (!(fcntl(m.fd, F_GETFD) & FD_CLOEXEC))
		return 20;
	mem = mmap(NULL, RAM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
	if (mem == MAP_FAILED)
		return 21;
	if (mem[0] != 0x77)
		return 22;	/* what the parent wrote */
	if (child_dma(dev, IOVA, 64, false) ||
	    child_dma(dev, IOVA + 2 * PAGE, 64, true))
		return 23;
	if (mem[2 * PAGE] != 0x77 || mem[2 * PAGE + 63] != 0x77)
		return 24;
	munmap(mem, RAM_LEN);
	iommufd_ctx_free(c);
	iommufd_lu_free(lu);
	return 0;
}

START_TEST(exec_new_process)
{
	IOMMUFD_OPTS(iommufd_lu_prepare_opts, po, .user_data = USER_DATA,
		     .user_data_len = sizeof(USER_DATA));
	struct iommufd_lu *lu = NULL;
	char a_ioas[16], a_dev[16], a_canary[16];
	int canary, status;
	pid_t pid;

	vm_up();
	memset(ram, 0x77, RAM_LEN / 2);
	canary = memfd_create("canary", MFD_CLOEXEC);
	ck_assert_int_ge(canary, 0);
	po.extra_fds = &ram_fd;
	po.nr_extra_fds = 1;
	ck_assert_int_eq(iommufd_lu_prepare(ctx, &po, &lu), 0);
	snprintf(a_ioas, sizeof(a_ioas), "%u", iommufd_ioas_id(ioas));
	snprintf(a_dev, sizeof(a_dev), "%u", iommufd_device_id(edu));
	snprintf(a_canary, sizeof(a_canary), "%d", canary);

	/* a bad path: nothing changes, still prepared */
	{
		char *const argv[] = { "x", NULL };

		ck_assert_int_eq(iommufd_lu_exec(lu, "/nonexistent/x", argv,
						 NULL), -ENOENT);
		ck_assert_int_ne(fcntl(ram_fd, F_GETFD) & FD_CLOEXEC, 0);
		ck_assert_int_ne(fcntl(iommufd_ctx_fd(ctx), F_GETFD) &
					 FD_CLOEXEC, 0);
	}

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		char *const argv[] = { "test-liveupdate", LU_CHILD_ARG, a_ioas,
				       a_dev, a_canary, NULL };

		iommufd_lu_exec(lu, self_exe, argv, NULL);
		_exit(99);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the new process failed with status 0x%x", status);
	ck_assert_uint_eq(ram[2 * PAGE], 0x77);
	ck_assert_int_eq(iommufd_lu_abort(lu), 0);
	close(canary);
}
END_TEST

/* ---- the new process: fork + SCM_RIGHTS ---- */

static int sock_child(int sock, int go, uint32_t ioas_id)
{
	struct iommufd_lu *lu = NULL;
	struct iommufd_ctx *c = NULL;
	struct iommufd_mapping m;
	struct iommufd_device *dev;
	uint8_t *mem;
	char b;

	if (iommufd_lu_receive(sock, &lu))
		return 30;
	if (iommufd_lu_restore(lu, NULL, &c))
		return 31;
	if (iommufd_ioas_id(iommufd_lu_ioas(lu, 0)) != ioas_id)
		return 32;
	/* the old process has freed its context by now */
	if (read(go, &b, 1) != 1)
		return 33;
	if (iommufd_ioas_translate(iommufd_lu_ioas(lu, 0), IOVA, &m))
		return 34;
	mem = mmap(NULL, RAM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
	if (mem == MAP_FAILED)
		return 35;
	dev = iommufd_lu_device(lu, 0);
	if (!dev || child_dma(dev, IOVA, 32, false) ||
	    child_dma(dev, IOVA + 3 * PAGE, 32, true))
		return 36;
	if (mem[3 * PAGE] != 0x21)
		return 37;
	munmap(mem, RAM_LEN);
	iommufd_ctx_free(c);
	iommufd_lu_free(lu);
	return 0;
}

START_TEST(socket_handoff)
{
	struct iommufd_lu *lu = NULL;
	int sv[2], go[2], status;
	uint64_t iova = 0x400000;
	pid_t pid;

	vm_up();
	memset(ram, 0x21, PAGE);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		/* A new program, as a real VMM's successor would be (and
		 * out of valgrind's reach, which would count this copy of
		 * the parent's memory as leaked). */
		char a[3][16];

		snprintf(a[0], sizeof(a[0]), "%d", sv[1]);
		snprintf(a[1], sizeof(a[1]), "%d", go[0]);
		snprintf(a[2], sizeof(a[2]), "%u", iommufd_ioas_id(ioas));
		fcntl(sv[1], F_SETFD, 0);
		fcntl(go[0], F_SETFD, 0);
		execl(self_exe, self_exe, SOCK_CHILD_ARG, a[0], a[1], a[2],
		      (char *)NULL);
		_exit(98);
	}
	close(sv[1]);
	close(go[0]);
	ck_assert_int_eq(iommufd_lu_prepare(ctx, NULL, &lu), 0);
	ck_assert_int_eq(iommufd_lu_send(lu, sv[0]), 0);
	iommufd_lu_free(lu);
	/* handed over: nothing changes any more, and freeing unmaps nothing */
	ck_assert_int_eq(iommufd_ioas_map_file(ioas, ram_fd, 0, PAGE, &iova,
					       FIXED), -EBUSY);
	iommufd_ctx_free(ctx);
	ctx = NULL;
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the new process failed with status 0x%x", status);
	ck_assert_uint_eq(ram[3 * PAGE + 31], 0x21);
	close(sv[0]);
	close(go[1]);
}
END_TEST

static Suite *liveupdate_suite(void)
{
	Suite *s = suite_create("liveupdate");
	TCase *tc = fx_tcase("in-process");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, check_clean);
	tcase_add_test(tc, check_names_vaddr_mapping);
	tcase_add_test(tc, check_stops_walk);
	tcase_add_test(tc, check_old_kernel_and_prepare_refused);
	tcase_add_test(tc, prepare_freezes_abort_thaws);
	tcase_add_test(tc, prepare_bad_input);
	tcase_add_test(tc, write_read_roundtrip_and_tamper);
	tcase_add_test(tc, from_env_tampered);
	tcase_add_test(tc, receive_tampered);
	tcase_add_test(tc, redrive_identical);
	tcase_add_test(tc, redrive_other_file_reported);
	suite_add_tcase(s, tc);

	tc = fx_tcase("handoff");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exec_new_process);
	tcase_add_test(tc, socket_handoff);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	ssize_t n;

	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	if (argc > 1 && !strcmp(argv[1], LU_CHILD_ARG))
		return lu_child(argc, argv);
	if (argc > 4 && !strcmp(argv[1], SOCK_CHILD_ARG))
		return sock_child(atoi(argv[2]), atoi(argv[3]),
				  (uint32_t)strtoul(argv[4], NULL, 10));
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return EXIT_FAILURE;
	self_exe[n] = '\0';
	return fx_run(liveupdate_suite());
}
