/* SPDX-License-Identifier: MIT */
/* The context: open, adopt, ownership, options, feature probe, logging. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <iommufd/iommufd.h>
#include <iommufd/fake.h>

#include "fixture.h"

START_TEST(new_on_fake)
{
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	int fd;

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, NULL, &ctx), 0);
	ck_assert(iommufd_ctx_is_fake(ctx));
	fd = iommufd_ctx_fd(ctx);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 1);
	iommufd_ctx_free(ctx);
	ck_assert(!fd_is_open(fd));
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	iommufd_fake_free(fake);
}
END_TEST

START_TEST(free_null)
{
	iommufd_ctx_free(NULL);
	ck_assert_int_eq(iommufd_ctx_fd(NULL), -EINVAL);
	ck_assert(!iommufd_ctx_has_feature(NULL, IOMMUFD_FEATURE_IOAS));
}
END_TEST

START_TEST(new_without_iommufd)
{
	struct iommufd_ctx *ctx = NULL;

	unsetenv("LIBIOMMUFD_FAKE");
	if (access("/dev/iommu", F_OK) == 0)
		return;	/* a real iommufd here: nothing to refuse */
	ck_assert_int_eq(iommufd_ctx_new(NULL, &ctx), -ENOENT);
	ck_assert_ptr_null(ctx);
}
END_TEST

START_TEST(env_selects_fake)
{
	struct iommufd_ctx *ctx;

	setenv("LIBIOMMUFD_FAKE", "1", 1);
	ck_assert_int_eq(iommufd_ctx_new(NULL, &ctx), 0);
	ck_assert(iommufd_ctx_is_fake(ctx));
	ck_assert(iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_IOAS));
	iommufd_ctx_free(ctx);
	unsetenv("LIBIOMMUFD_FAKE");
}
END_TEST

START_TEST(adopt_keeps_or_takes_fd)
{
	struct iommufd_fake *fake = iommufd_fake_default();
	IOMMUFD_OPTS(iommufd_ctx_opts, take, .flags = IOMMUFD_CTX_TAKE_FD);
	struct iommufd_ctx *ctx;
	int fd;

	setenv("LIBIOMMUFD_FAKE", "1", 1);

	/* Borrowed: the manager's fd outlives the context. */
	fd = iommufd_fake_open(fake, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(iommufd_ctx_adopt(fd, NULL, &ctx), 0);
	ck_assert_int_eq(iommufd_ctx_fd(ctx), fd);
	iommufd_ctx_free(ctx);
	ck_assert(fd_is_open(fd));

	/* Handed over: the context closes it. */
	ck_assert_int_eq(iommufd_ctx_adopt(fd, &take, &ctx), 0);
	iommufd_ctx_free(ctx);
	ck_assert(!fd_is_open(fd));
	unsetenv("LIBIOMMUFD_FAKE");
}
END_TEST

START_TEST(adopt_refuses_wrong_fd)
{
	struct iommufd_ctx *ctx = NULL;
	int memfd, null;

	setenv("LIBIOMMUFD_FAKE", "1", 1);
	memfd = memfd_create("not-iommufd", MFD_CLOEXEC);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_ge(null, 0);
	ck_assert_int_eq(iommufd_ctx_adopt(memfd, NULL, &ctx), -ENODEV);
	ck_assert_int_eq(iommufd_ctx_adopt(null, NULL, &ctx), -ENODEV);
	ck_assert_int_eq(iommufd_ctx_adopt(-1, NULL, &ctx), -EINVAL);
	ck_assert_ptr_null(ctx);
	/* A refused fd is never closed, even when offered with TAKE_FD. */
	ck_assert(fd_is_open(memfd));
	ck_assert(fd_is_open(null));
	close(memfd);
	close(null);

	/* A closed fd number. */
	ck_assert_int_eq(iommufd_ctx_adopt(null, NULL, &ctx), -EBADF);
	unsetenv("LIBIOMMUFD_FAKE");
}
END_TEST

struct opts_v2 {
	struct iommufd_ctx_opts base;
	uint64_t future_field;
};

START_TEST(opts_size_rules)
{
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx = NULL;
	struct opts_v2 big;
	struct iommufd_ctx_opts tiny = { .sz = 2 };

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	memset(&big, 0, sizeof(big));
	big.base.sz = sizeof(big);

	/* A newer caller's zero tail is accepted ... */
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, &big.base, &ctx), 0);
	iommufd_ctx_free(ctx);
	ctx = NULL;
	/* ... a tail we do not understand is refused. */
	big.future_field = 1;
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, &big.base, &ctx), -E2BIG);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, &tiny, &ctx), -EINVAL);
	ck_assert_ptr_null(ctx);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	iommufd_fake_free(fake);
}
END_TEST

static const struct {
	unsigned int major, minor;
	enum iommufd_feature newest;	/* present from this version on */
} version_features[] = {
	{ 6, 2, IOMMUFD_FEATURE_IOAS },
	{ 6, 6, IOMMUFD_FEATURE_HWPT_ALLOC },
	{ 6, 6, IOMMUFD_FEATURE_HW_INFO },
	{ 6, 7, IOMMUFD_FEATURE_DIRTY_TRACKING },
	{ 6, 8, IOMMUFD_FEATURE_HWPT_INVALIDATE },
	{ 6, 11, IOMMUFD_FEATURE_FAULT_QUEUE },
	{ 6, 13, IOMMUFD_FEATURE_IOAS_MAP_FILE },
	{ 6, 13, IOMMUFD_FEATURE_VIOMMU },
	{ 6, 14, IOMMUFD_FEATURE_CHANGE_PROCESS },
	{ 6, 15, IOMMUFD_FEATURE_VEVENTQ },
	{ 6, 15, IOMMUFD_FEATURE_PASID },
	{ 6, 17, IOMMUFD_FEATURE_HW_QUEUE },
	{ 6, 17, IOMMUFD_FEATURE_HW_INFO_TYPE },
};

static unsigned int version_of(enum iommufd_feature f)
{
	if (f >= IOMMUFD_FEATURE_TYPE1)
		return UINT_MAX;	/* VFIO container extensions: type1 only */
	for (unsigned int i = 0; i < sizeof(version_features) / sizeof(version_features[0]); i++)
		if (version_features[i].newest == f)
			return version_features[i].major * 100 + version_features[i].minor;
	return 602;	/* VFIO_COMPAT came with the first iommufd */
}

/* The probe must see exactly the features of the kernel it runs on. */
START_TEST(probe_matches_kernel_version)
{
	static const unsigned int minors[] = { 2, 6, 7, 8, 11, 13, 14, 15, 17 };
	unsigned int v = 600 + minors[_i];
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, minors[_i]), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, NULL, &ctx), 0);
	for (int f = 0; f < IOMMUFD_FEATURE__COUNT; f++)
		ck_assert_msg(iommufd_ctx_has_feature(ctx, f) == (version_of(f) <= v),
			      "6.%u: feature %s", minors[_i], iommufd_feature_name(f));
	iommufd_ctx_free(ctx);
	iommufd_fake_free(fake);
}
END_TEST

START_TEST(feature_names)
{
	for (int f = 0; f < IOMMUFD_FEATURE__COUNT; f++)
		ck_assert_ptr_nonnull(iommufd_feature_name(f));
	ck_assert_str_eq(iommufd_feature_name(IOMMUFD_FEATURE_IOAS_MAP_FILE), "ioas_map_file");
	ck_assert_ptr_null(iommufd_feature_name(IOMMUFD_FEATURE__COUNT));
	ck_assert_ptr_null(iommufd_feature_name((enum iommufd_feature)-1));
}
END_TEST

/* 6.1 had VFIO but no iommufd: there is no /dev/iommu to open (AUTO falls
 * back to type1 there: test-type1.c). */
START_TEST(kernel_without_iommufd)
{
	IOMMUFD_OPTS(iommufd_ctx_opts, opts, .backend = IOMMUFD_BACKEND_IOMMUFD);
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx = NULL;

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_set_kernel_version(fake, 6, 1), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, &opts, &ctx), -ENOENT);
	ck_assert_ptr_null(ctx);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	iommufd_fake_free(fake);
}
END_TEST

struct log_capture {
	int count;
	enum iommufd_log_level level;
	char last[512];
};

static void capture(void *data, enum iommufd_log_level level, const char *msg)
{
	struct log_capture *c = data;

	c->count++;
	c->level = level;
	strncpy(c->last, msg, sizeof(c->last) - 1);
}

START_TEST(log_callback_explains_errno)
{
	struct log_capture cap = { 0 };
	IOMMUFD_OPTS(iommufd_ctx_opts, opts, .log_fn = capture, .log_data = &cap);
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	struct iommufd_ioas *ioas;
	uint64_t iova = 0x100000;
	size_t len = 1 << 20;
	void *buf;

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, &opts, &ctx), 0);
	ck_assert_int_eq(iommufd_ioas_new(ctx, &ioas), 0);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(buf, MAP_FAILED);

	iommufd_fake_set_memlock_limit(fake, 4096);
	cap.count = 0;
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, len, &iova,
					  IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE | IOMMUFD_MAP_FIXED_IOVA),
			 -ENOMEM);
	ck_assert_int_ge(cap.count, 1);
	ck_assert_ptr_nonnull(strstr(cap.last, "RLIMIT_MEMLOCK"));

	/* Below the threshold: nothing reaches the callback. */
	iommufd_ctx_set_log(ctx, capture, &cap, IOMMUFD_LOG_ERR);
	cap.count = 0;
	ck_assert_int_eq(iommufd_ioas_map(ioas, buf, len, &iova,
					  IOMMUFD_MAP_READ | IOMMUFD_MAP_FIXED_IOVA),
			 -ENOMEM);
	ck_assert_int_eq(cap.count, 0);

	munmap(buf, len);
	iommufd_ctx_free(ctx);
	iommufd_fake_free(fake);
}
END_TEST

START_TEST(rlimit_mode)
{
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx;
	enum iommufd_rlimit_mode mode;

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, NULL, &ctx), 0);
	ck_assert_int_eq(iommufd_ctx_get_rlimit_mode(ctx, &mode), 0);
	ck_assert_int_eq(mode, IOMMUFD_RLIMIT_USER);
	ck_assert_int_eq(iommufd_ctx_set_rlimit_mode(ctx, IOMMUFD_RLIMIT_PROCESS), 0);
	ck_assert_int_eq(iommufd_ctx_get_rlimit_mode(ctx, &mode), 0);
	ck_assert_int_eq(mode, IOMMUFD_RLIMIT_PROCESS);
	ck_assert_int_eq(iommufd_ctx_set_rlimit_mode(ctx, (enum iommufd_rlimit_mode)7), -EINVAL);
	ck_assert_int_eq(iommufd_ctx_get_rlimit_mode(ctx, &mode), 0);
	ck_assert_int_eq(mode, IOMMUFD_RLIMIT_PROCESS);
	iommufd_ctx_free(ctx);
	iommufd_fake_free(fake);
}
END_TEST

/* A failure while probing is not fatal: the feature is simply unknown. A
 * failure opening /dev/iommu leaves nothing behind. */
START_TEST(open_failure_leaves_nothing)
{
	struct iommufd_fake *fake;
	struct iommufd_ctx *ctx = NULL;

	ck_assert_int_eq(iommufd_fake_new(&fake), 0);
	iommufd_fake_fail_nth(fake, 1, EMFILE);
	ck_assert_int_eq(iommufd_fake_ctx_new(fake, NULL, &ctx), -EMFILE);
	ck_assert_ptr_null(ctx);
	ck_assert_uint_eq(iommufd_fake_open_files(fake), 0);
	iommufd_fake_free(fake);
}
END_TEST

static Suite *ctx_suite(void)
{
	Suite *s = suite_create("ctx");
	TCase *tc = fx_tcase("ctx");

	tcase_add_test(tc, new_on_fake);
	tcase_add_test(tc, free_null);
	tcase_add_test(tc, new_without_iommufd);
	tcase_add_test(tc, env_selects_fake);
	tcase_add_test(tc, adopt_keeps_or_takes_fd);
	tcase_add_test(tc, adopt_refuses_wrong_fd);
	tcase_add_test(tc, opts_size_rules);
	tcase_add_loop_test(tc, probe_matches_kernel_version, 0, 9);
	tcase_add_test(tc, feature_names);
	tcase_add_test(tc, kernel_without_iommufd);
	tcase_add_test(tc, log_callback_explains_errno);
	tcase_add_test(tc, rlimit_mode);
	tcase_add_test(tc, open_failure_leaves_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(ctx_suite());
}
