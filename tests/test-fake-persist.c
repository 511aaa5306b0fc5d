/* SPDX-License-Identifier: MIT */
/*
 * Live update of the fake kernel: its model survives a real exec (the test
 * binary re-executes itself with "--persist-child") and a handoff over
 * SCM_RIGHTS to another process, as the kernel's state does; a malformed
 * state is refused and changes nothing.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <iommufd/fake.h>

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA
#define REGION(i) ((off_t)((uint64_t)(i) << 40))
#define CFG_REGION REGION(VFIO_PCI_CONFIG_REGION_INDEX)

#define EDU "0000:00:04.0"
#define NIC "0000:00:05.0"
#define FILE_IOVA 0x100000ull
#define ANON_IOVA 0x200000ull
#define CHILD_ARG "--persist-child"
#define TYPE1_ARG "--persist-type1"
#define TREE_ARG "--persist-tree"
#define T1_IOVA 0x10000ull

static char self_exe[PATH_MAX];
static uint64_t PAGE;

static int xioctl(struct iommufd_fake *f, int fd, unsigned long req, void *arg)
{
	errno = 0;
	if (iommufd_fake_ioctl(f, fd, req, arg) < 0)
		return errno ? errno : -1;
	return 0;
}

/* What the parent built, and what the other process checks. */
struct scene {
	int ifd, edu, nic, memfd;
	uint32_t ioas, edu_id, nic_id;
	uint8_t *anon;
	uint64_t pinned;
};

static int open_dev(struct iommufd_fake *f, const char *name, int flags)
{
	char path[64];

	ck_assert_int_eq(iommufd_fake_device_cdev(f, name, path, sizeof(path)),
			 0);
	return iommufd_fake_open(f, path, O_RDWR | flags);
}

static uint32_t bind_attach(struct iommufd_fake *f, struct scene *s, int dfd,
			    bool attach)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = s->ifd,
	};
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at), .pt_id = s->ioas,
	};
	uint16_t cmd;

	ck_assert_int_eq(xioctl(f, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	if (!attach)
		return bind.out_devid;
	ck_assert_int_eq(xioctl(f, dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	ck_assert_int_eq(iommufd_fake_pread(f, dfd, &cmd, 2, CFG_REGION + 4), 2);
	cmd |= 0x4;	/* bus master */
	ck_assert_int_eq(iommufd_fake_pwrite(f, dfd, &cmd, 2, CFG_REGION + 4), 2);
	return bind.out_devid;
}

/* An iommufd with an IOAS holding a MAP_FILE of a memfd and a MAP of
 * anonymous memory; edu bound and attached, the NIC bound with an
 * O_CLOEXEC fd; the edu's factorial register holds 5! . */
static void build(struct iommufd_fake *f, struct scene *s)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	uint32_t fact = 5;

	memset(s, 0, sizeof(*s));
	s->ifd = iommufd_fake_open(f, "/dev/iommu", O_RDWR);
	ck_assert_int_ge(s->ifd, 0);
	ck_assert_int_eq(xioctl(f, s->ifd, IOMMU_IOAS_ALLOC, &alloc), 0);
	s->ioas = alloc.out_ioas_id;

	s->memfd = memfd_create("persist-test", 0);
	ck_assert_int_ge(s->memfd, 0);
	ck_assert_int_eq(ftruncate(s->memfd, (off_t)(4 * PAGE)), 0);
	struct iommu_ioas_map_file mf = {
		.size = sizeof(mf), .flags = RW | FIXED, .ioas_id = s->ioas,
		.fd = s->memfd, .start = 0, .length = 2 * PAGE,
		.iova = FILE_IOVA,
	};
	ck_assert_int_eq(xioctl(f, s->ifd, IOMMU_IOAS_MAP_FILE, &mf), 0);

	s->anon = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(s->anon, MAP_FAILED);
	memset(s->anon, 0x5a, 2 * PAGE);
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = RW | FIXED, .ioas_id = s->ioas,
		.user_va = (uintptr_t)s->anon, .length = 2 * PAGE,
		.iova = ANON_IOVA,
	};
	ck_assert_int_eq(xioctl(f, s->ifd, IOMMU_IOAS_MAP, &map), 0);

	s->edu = open_dev(f, EDU, 0);
	ck_assert_int_ge(s->edu, 0);
	s->edu_id = bind_attach(f, s, s->edu, true);
	s->nic = open_dev(f, NIC, O_CLOEXEC);
	ck_assert_int_ge(s->nic, 0);
	s->nic_id = bind_attach(f, s, s->nic, false);

	ck_assert_int_eq(iommufd_fake_device_dma(f, EDU, FILE_IOVA, "hello", 5,
						 true), 0);
	char back[5];
	ck_assert_int_eq(pread(s->memfd, back, 5, 0), 5);
	ck_assert_int_eq(memcmp(back, "hello", 5), 0);
	ck_assert_int_eq(iommufd_fake_pwrite(f, s->edu, &fact, 4,
					     REGION(0) + 0x08), 4);
	s->pinned = iommufd_fake_pinned_bytes(f);
	ck_assert_uint_eq(s->pinned, 4 * PAGE);
}

/*
 * The other process's checks, as a user would see them: 0, or the number
 * of the first that failed (an exit status).
 */
static int check_restored(struct iommufd_fake *f, const struct scene *s)
{
	struct iommu_iova_range iovas[8];
	struct iommu_ioas_iova_ranges ranges = {
		.size = sizeof(ranges), .ioas_id = s->ioas, .num_iovas = 8,
		.allowed_iovas = (uintptr_t)iovas,
	};
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_ioas_change_process cp = { .size = sizeof(cp) };
	struct iommu_ioas_unmap un = {
		.size = sizeof(un), .ioas_id = s->ioas, .iova = ANON_IOVA,
		.length = 2 * PAGE,
	};
	uint8_t data[16];
	uint32_t fact = 0;

	if (xioctl(f, s->ifd, IOMMU_IOAS_IOVA_RANGES, &ranges))
		return 10;
	if (iommufd_fake_device_dma(f, EDU, FILE_IOVA + 8, "world", 5, true))
		return 11;
	if (pread(s->memfd, data, 13, 0) != 13 || memcmp(data, "hello", 5) ||
	    memcmp(data + 8, "world", 5))
		return 12;
	/* the pinned anonymous pages: only the kernel reaches them now */
	if (iommufd_fake_device_dma(f, EDU, ANON_IOVA + PAGE, data, 16, false))
		return 13;
	for (int i = 0; i < 16; i++)
		if (data[i] != 0x5a)
			return 14;
	if (iommufd_fake_device_dma(f, EDU, ANON_IOVA, "dma", 3, true))
		return 15;
	if (iommufd_fake_pinned_bytes(f) != s->pinned)
		return 16;
	if (iommufd_fake_pread(f, s->edu, &fact, 4, REGION(0) + 0x08) != 4 ||
	    fact != 120)
		return 17;
	info.dev_id = s->edu_id;
	if (xioctl(f, s->ifd, IOMMU_GET_HW_INFO, &info))
		return 18;
	info.dev_id = s->nic_id;
	if (s->nic < 0 && xioctl(f, s->ifd, IOMMU_GET_HW_INFO, &info) != ENOENT)
		return 19;
	if (xioctl(f, s->ifd, IOMMU_IOAS_CHANGE_PROCESS, &cp) != EINVAL)
		return 20;
	if (xioctl(f, s->ifd, IOMMU_IOAS_UNMAP, &un) || un.length != 2 * PAGE)
		return 21;
	if (xioctl(f, s->ifd, IOMMU_IOAS_CHANGE_PROCESS, &cp))
		return 22;
	un.iova = FILE_IOVA;
	un.length = 2 * PAGE;
	if (xioctl(f, s->ifd, IOMMU_IOAS_UNMAP, &un) || un.length != 2 * PAGE)
		return 23;
	if (iommufd_fake_pinned_bytes(f))
		return 24;
	if (iommufd_fake_device_dma(f, EDU, FILE_IOVA, "x", 1, true) == 0)
		return 25;
	return 0;
}

/* After the exec: argv "--persist-child ifd ioas edu edu_id nic_id memfd
 * pinned". */
static int persist_child(int argc, char **argv)
{
	struct scene s = { .nic = -1 };
	struct iommufd_fake *f;
	int ret;

	if (argc != 9)
		return 2;
	s.ifd = atoi(argv[2]);
	s.ioas = (uint32_t)strtoul(argv[3], NULL, 0);
	s.edu = atoi(argv[4]);
	s.edu_id = (uint32_t)strtoul(argv[5], NULL, 0);
	s.nic_id = (uint32_t)strtoul(argv[6], NULL, 0);
	s.memfd = atoi(argv[7]);
	s.pinned = strtoull(argv[8], NULL, 0);
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	f = iommufd_fake_default();
	if (!f)
		return 3;
	if (getenv(IOMMUFD_FAKE_STATE_ENV))
		return 4;	/* a child of ours must not restore again */
	/* the device's file, the iommufd, the edu's file */
	if (iommufd_fake_open_files(f) != 2)
		return 5;
	ret = check_restored(f, &s);
	if (ret)
		return ret;
	iommufd_fake_close(f, s.edu);
	iommufd_fake_close(f, s.ifd);
	if (iommufd_fake_open_files(f))
		return 30;
	return 0;
}

static void put_env_fds(const int *fds, size_t nr)
{
	char env[512] = "";
	size_t len = 0;

	for (size_t i = 0; i < nr; i++) {
		int n = snprintf(env + len, sizeof(env) - len, "%s%d",
				 i ? "," : "", fds[i]);

		ck_assert(n > 0 && (size_t)n < sizeof(env) - len);
		len += (size_t)n;
		/* the exec keeps what the new process needs */
		ck_assert_int_eq(fcntl(fds[i], F_SETFD, 0), 0);
	}
	ck_assert_int_eq(setenv(IOMMUFD_FAKE_STATE_ENV, env, 1), 0);
}

static int wait_status(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(test_exec)
{
	struct iommufd_fake *f;
	struct scene s;
	int *fds = NULL;
	size_t nr = 0;
	pid_t pid;

	ck_assert_int_eq(iommufd_fake_new(&f), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(f), 0);
	build(f, &s);
	ck_assert_int_eq(iommufd_fake_preserve(f, &fds, &nr), 0);
	/* the state, the memfd, the BAR memory of the NIC, the anon copy */
	ck_assert_uint_ge(nr, 3);
	for (size_t i = 0; i < nr; i++)
		ck_assert_int_eq(fcntl(fds[i], F_GETFD) & FD_CLOEXEC,
				 FD_CLOEXEC);
	/* the fake is not changed, and goes on working */
	ck_assert_int_eq(iommufd_fake_device_dma(f, EDU, FILE_IOVA, "hello", 5,
						 true), 0);
	put_env_fds(fds, nr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char a[7][32];

		snprintf(a[0], 32, "%d", s.ifd);
		snprintf(a[1], 32, "%u", s.ioas);
		snprintf(a[2], 32, "%d", s.edu);
		snprintf(a[3], 32, "%u", s.edu_id);
		snprintf(a[4], 32, "%u", s.nic_id);
		snprintf(a[5], 32, "%d", s.memfd);
		snprintf(a[6], 32, "%llu", (unsigned long long)s.pinned);
		execl(self_exe, self_exe, CHILD_ARG, a[0], a[1], a[2], a[3],
		      a[4], a[5], a[6], (char *)NULL);
		_exit(127);
	}
	unsetenv(IOMMUFD_FAKE_STATE_ENV);
	ck_assert_int_eq(wait_status(pid), 0);
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);
	free(fds);
	iommufd_fake_close(f, s.nic);
	iommufd_fake_close(f, s.edu);
	iommufd_fake_close(f, s.ifd);
	ck_assert_uint_eq(iommufd_fake_open_files(f), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(f), 0);
	iommufd_fake_free(f);
	close(s.memfd);
	munmap(s.anon, 2 * PAGE);
}
END_TEST

/* The type1 child: argv "--persist-type1 container group edu memfd pinned".
 * The vaddrs were invalidated before the exec (UNMAP_DMA VADDR): the device
 * behind the IOMMU goes on DMAing into the pinned pages, and the new vaddrs
 * reach the same pages. (Emulated devices, which DMA through the vaddrs,
 * cannot share such a container: the kernel refuses VADDR there.) */
static int type1_child(int argc, char **argv)
{
	struct iommufd_fake *f;
	int c, g1, edu, memfd;
	uint64_t pinned;
	char data[8];
	void *va;

	if (argc != 7)
		return 2;
	c = atoi(argv[2]);
	g1 = atoi(argv[3]);
	edu = atoi(argv[4]);
	memfd = atoi(argv[5]);
	pinned = strtoull(argv[6], NULL, 0);
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	f = iommufd_fake_default();
	if (!f)
		return 3;
	if (iommufd_fake_open_files(f) != 3)
		return 4;
	if (iommufd_fake_pinned_bytes(f) != pinned)
		return 5;
	if (iommufd_fake_device_dma(f, EDU, T1_IOVA + 16, "again", 5, true))
		return 6;
	if (pread(memfd, data, 5, 16) != 5 || memcmp(data, "again", 5))
		return 7;
	va = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		  0);
	if (va == MAP_FAILED)
		return 9;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)va, .iova = T1_IOVA, .size = 2 * PAGE,
	};
	if (xioctl(f, c, VFIO_IOMMU_MAP_DMA, &map))
		return 10;
	if (memcmp(va, "type1", 5) || memcmp((char *)va + 16, "again", 5))
		return 11;
	/* the window is over: a second VADDR update is refused */
	if (xioctl(f, c, VFIO_IOMMU_MAP_DMA, &map) != EINVAL)
		return 14;
	if (iommufd_fake_device_dma(f, EDU, T1_IOVA + 32, "third", 5, true) ||
	    memcmp((char *)va + 32, "third", 5))
		return 12;
	iommufd_fake_close(f, edu);
	iommufd_fake_close(f, g1);
	iommufd_fake_close(f, c);
	if (iommufd_fake_open_files(f) || iommufd_fake_pinned_bytes(f))
		return 13;
	munmap(va, 2 * PAGE);
	return 0;
}

/* After an exec of the process that made the sysfs tree: argv
 * "--persist-tree <old root>". The old image's tree is ours to remove. */
static int tree_child(int argc, char **argv)
{
	struct iommufd_fake *f;
	const char *root;

	if (argc != 3)
		return 2;
	f = iommufd_fake_default();
	if (!f)
		return 3;
	root = iommufd_fake_sysfs_root(f);
	if (!root || !strcmp(root, argv[2]) || access(root, F_OK))
		return 4;
	if (access(argv[2], F_OK) == 0 || errno != ENOENT)
		return 5;
	return 0;
}

static int set_container(struct iommufd_fake *f, int g, int c)
{
	return xioctl(f, g, VFIO_GROUP_SET_CONTAINER, &c);
}

START_TEST(test_exec_type1)
{
	struct iommufd_fake *f;
	int c, g1, edu, memfd, *fds = NULL;
	size_t nr = 0;
	uint16_t cmd;
	char back[8];
	void *va;
	pid_t pid;

	ck_assert_int_eq(iommufd_fake_new(&f), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(f), 0);
	c = iommufd_fake_open(f, "/dev/vfio/vfio", O_RDWR);
	g1 = iommufd_fake_open(f, "/dev/vfio/1", O_RDWR);
	ck_assert(c >= 0 && g1 >= 0);
	ck_assert_int_eq(set_container(f, g1, c), 0);
	errno = 0;
	ck_assert_int_eq(iommufd_fake_ioctl(f, c, VFIO_SET_IOMMU,
					    (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU),
			 0);
	edu = iommufd_fake_ioctl(f, g1, VFIO_GROUP_GET_DEVICE_FD, (void *)EDU);
	ck_assert_int_ge(edu, 0);
	/* the kernel gives it O_CLOEXEC; this one is to survive the exec */
	ck_assert_int_eq(fcntl(edu, F_SETFD, 0), 0);
	ck_assert_int_eq(iommufd_fake_pread(f, edu, &cmd, 2, CFG_REGION + 4), 2);
	cmd |= 0x4;
	ck_assert_int_eq(iommufd_fake_pwrite(f, edu, &cmd, 2, CFG_REGION + 4), 2);

	memfd = memfd_create("persist-type1", 0);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, (off_t)(2 * PAGE)), 0);
	va = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(va, MAP_FAILED);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = T1_IOVA, .size = 2 * PAGE,
	};
	ck_assert_int_eq(xioctl(f, c, VFIO_IOMMU_MAP_DMA, &map), 0);
	ck_assert_int_eq(iommufd_fake_device_dma(f, EDU, T1_IOVA, "type1", 5,
						 true), 0);
	ck_assert_int_eq(pread(memfd, back, 5, 0), 5);
	ck_assert_int_eq(memcmp(back, "type1", 5), 0);
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = T1_IOVA, .size = 2 * PAGE,
	};
	ck_assert_int_eq(xioctl(f, c, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);

	ck_assert_int_eq(iommufd_fake_preserve(f, &fds, &nr), 0);
	put_env_fds(fds, nr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char a[5][32];

		snprintf(a[0], 32, "%d", c);
		snprintf(a[1], 32, "%d", g1);
		snprintf(a[2], 32, "%d", edu);
		snprintf(a[3], 32, "%d", memfd);
		snprintf(a[4], 32, "%llu",
			 (unsigned long long)iommufd_fake_pinned_bytes(f));
		execl(self_exe, self_exe, TYPE1_ARG, a[0], a[1], a[2], a[3],
		      a[4], (char *)NULL);
		_exit(127);
	}
	unsetenv(IOMMUFD_FAKE_STATE_ENV);
	ck_assert_int_eq(wait_status(pid), 0);
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);
	free(fds);
	iommufd_fake_close(f, edu);
	iommufd_fake_close(f, g1);
	iommufd_fake_close(f, c);
	ck_assert_uint_eq(iommufd_fake_open_files(f), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(f), 0);
	iommufd_fake_free(f);
	munmap(va, 2 * PAGE);
	close(memfd);
}
END_TEST

/* The same process execs: the tree its old image made goes with it. */
START_TEST(test_exec_same_pid)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct iommufd_fake *f;
		char root[PATH_MAX], env[256] = "";
		int *fds = NULL;
		size_t nr = 0, len = 0;

		if (iommufd_fake_new(&f) || iommufd_fake_add_default_machine(f) ||
		    !iommufd_fake_sysfs_root(f))
			_exit(10);
		snprintf(root, sizeof(root), "%s", iommufd_fake_sysfs_root(f));
		if (iommufd_fake_preserve(f, &fds, &nr))
			_exit(11);
		for (size_t i = 0; i < nr; i++) {
			len += (size_t)snprintf(env + len, sizeof(env) - len,
						"%s%d", i ? "," : "", fds[i]);
			if (fcntl(fds[i], F_SETFD, 0))
				_exit(12);
		}
		setenv(IOMMUFD_FAKE_STATE_ENV, env, 1);
		execl(self_exe, self_exe, TREE_ARG, root, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(wait_status(pid), 0);
}
END_TEST

static void send_fds(int sock, const int *fds, size_t nr)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = { .iov_base = (void *)&nr, .iov_len = sizeof(nr) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * nr),
	};
	struct cmsghdr *c;

	ck_assert_uint_le(nr, 64);
	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nr);
	ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)sizeof(nr));
}

static size_t recv_fds(int sock, int *fds, size_t max)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	size_t nr = 0;
	struct iovec iov = { .iov_base = &nr, .iov_len = sizeof(nr) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(nr))
		return 0;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || nr > max ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * nr))
		return 0;
	memcpy(fds, CMSG_DATA(c), sizeof(int) * nr);
	return nr;
}

/* The receiving process: restore into a fresh fake what came over the
 * socket: [state fds..., ifd, edu, memfd] and the scene's numbers. */
static int scm_child(int sock)
{
	struct iommufd_fake *f;
	struct scene s;
	int fds[64], ret;
	size_t nr = recv_fds(sock, fds, 64);

	if (nr < 4 || read(sock, &s, sizeof(s)) != (ssize_t)sizeof(s))
		return 2;
	s.ifd = fds[nr - 3];
	s.edu = fds[nr - 2];
	s.memfd = fds[nr - 1];
	if (iommufd_fake_new(&f))
		return 3;
	ret = iommufd_fake_restore(f, fds, nr - 3);
	if (ret)
		return 4;
	if (iommufd_fake_open_files(f) != 2 || !iommufd_fake_sysfs_root(f))
		return 5;
	ret = check_restored(f, &s);
	iommufd_fake_close(f, s.edu);
	iommufd_fake_close(f, s.ifd);
	if (!ret && (iommufd_fake_open_files(f) ||
		     iommufd_fake_pinned_bytes(f)))
		ret = 30;
	iommufd_fake_free(f);
	close(s.memfd);
	return ret;
}

START_TEST(test_scm_rights)
{
	struct iommufd_fake *f;
	struct scene s;
	int sv[2], *fds = NULL, all[64];
	size_t nr = 0;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	/* forked before the model exists: the fds only come over the socket */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ret;

		close(sv[0]);
		ret = scm_child(sv[1]);
		close(sv[1]);
		_exit(ret);
	}
	close(sv[1]);
	ck_assert_int_eq(iommufd_fake_new(&f), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(f), 0);
	build(f, &s);
	ck_assert_int_eq(iommufd_fake_preserve(f, &fds, &nr), 0);
	ck_assert_uint_le(nr + 3, 64);
	memcpy(all, fds, nr * sizeof(int));
	all[nr] = s.ifd;
	all[nr + 1] = s.edu;
	all[nr + 2] = s.memfd;
	send_fds(sv[0], all, nr + 3);
	/* the NIC's fd stays here: over there its device is unbound */
	struct scene sent;

	memcpy(&sent, &s, sizeof(s));
	sent.nic = -1;
	ck_assert_int_eq(write(sv[0], &sent, sizeof(sent)),
			 (ssize_t)sizeof(sent));
	ck_assert_int_eq(wait_status(pid), 0);
	/* the sender's model is its own: nothing the receiver did shows */
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(f), 4 * PAGE);
	ck_assert_ptr_nonnull(iommufd_fake_sysfs_root(f));
	ck_assert_int_eq(access(iommufd_fake_sysfs_root(f), F_OK), 0);
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);
	free(fds);
	close(sv[0]);
	iommufd_fake_close(f, s.nic);
	iommufd_fake_close(f, s.edu);
	iommufd_fake_close(f, s.ifd);
	ck_assert_uint_eq(iommufd_fake_open_files(f), 0);
	iommufd_fake_free(f);
	close(s.memfd);
	munmap(s.anon, 2 * PAGE);
}
END_TEST

/* A copy of the state (fds[0]) with @len bytes, byte @at xor'd by @x. */
static int state_copy(int fd, size_t len, size_t at, uint8_t x)
{
	struct stat st;
	uint8_t *b;
	int out = memfd_create("bad-state", MFD_CLOEXEC);

	ck_assert_int_ge(out, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	b = calloc(1, (size_t)st.st_size + 16);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	if (at < len)
		b[at] ^= x;
	ck_assert_int_eq(pwrite(out, b, len, 0), (ssize_t)len);
	free(b);
	return out;
}

static void put32(uint8_t *b, size_t *off, uint32_t v)
{
	memcpy(b + *off, &v, 4);
	*off += 4;
}

static void put64(uint8_t *b, size_t *off, uint64_t v)
{
	memcpy(b + *off, &v, 8);
	*off += 8;
}

/* A well-formed state whose FILEREF names fd index @idx. */
static int handmade_state(uint32_t idx, uint32_t nr_fds)
{
	uint8_t b[256] = { 0 };
	size_t off = 40, start;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	int fd = memfd_create("handmade", MFD_CLOEXEC);

	put32(b, &off, 1);	/* REC_FAKE */
	put32(b, &off, 64);
	put32(b, &off, (6 << 8) | 17);
	put64(b, &off, PAGE);
	put64(b, &off, UINT64_MAX);
	put64(b, &off, 0);
	put32(b, &off, 0);	/* reserved regions */
	put32(b, &off, 0);
	put32(b, &off, 65535);
	put32(b, &off, 0);
	put32(b, &off, 0);	/* sysfs dir */
	off += 16;		/* exec token */
	put32(b, &off, 4);	/* REC_FILEREF */
	put32(b, &off, 20);
	put32(b, &off, idx);
	put64(b, &off, 0);
	put64(b, &off, 0);
	put32(b, &off, 9);	/* REC_END */
	put32(b, &off, 0);
	for (size_t i = 40; i < off; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	memcpy(b, "IOFDFAKE", 8);
	start = 8;
	put32(b, &start, 1);
	put32(b, &start, 40);
	put64(b, &start, off - 40);
	put64(b, &start, h);
	put32(b, &start, nr_fds);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, b, off, 0), (ssize_t)off);
	return fd;
}

static void assert_untouched(struct iommufd_fake *f)
{
	int fd;

	ck_assert_uint_eq(iommufd_fake_open_files(f), 0);
	ck_assert_int_eq(iommufd_fake_stat(f, "/dev/vfio/devices/vfio0",
					   &(struct stat){ 0 }), -1);
	fd = iommufd_fake_open(f, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(iommufd_fake_close(f, fd), 0);
}

START_TEST(test_malformed)
{
	struct iommufd_fake *src, *dst;
	struct scene s;
	int *fds = NULL, bad[64], fd;
	size_t nr = 0;
	struct stat st;

	ck_assert_int_eq(iommufd_fake_new(&src), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(src), 0);
	build(src, &s);
	ck_assert_int_eq(iommufd_fake_preserve(src, &fds, &nr), 0);
	ck_assert_int_eq(fstat(fds[0], &st), 0);
	ck_assert_int_eq(iommufd_fake_new(&dst), 0);
	memcpy(bad, fds, nr * sizeof(int));

	/* truncated, bad magic, a flipped payload byte, a short header */
	bad[0] = state_copy(fds[0], (size_t)st.st_size - 1, 0, 0);
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, nr), -EINVAL);
	close(bad[0]);
	bad[0] = state_copy(fds[0], (size_t)st.st_size, 0, 0xff);
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, nr), -EINVAL);
	close(bad[0]);
	bad[0] = state_copy(fds[0], (size_t)st.st_size, 100, 0x01);
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, nr), -EBADMSG);
	close(bad[0]);
	bad[0] = state_copy(fds[0], 20, 0, 0);
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, nr), -EINVAL);
	close(bad[0]);
	/* fewer fds than the state names */
	ck_assert_int_eq(iommufd_fake_restore(dst, fds, nr - 1), -EINVAL);
	/* an fd index past nr, the state's own fd, an fd of another file */
	bad[0] = handmade_state(5, 2);
	bad[1] = s.memfd;
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, 2), -EINVAL);
	close(bad[0]);
	bad[0] = handmade_state(0, 2);
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, 2), -EINVAL);
	close(bad[0]);
	bad[0] = handmade_state(1, 2);
	ck_assert_int_eq(iommufd_fake_restore(dst, bad, 2), -EINVAL);
	close(bad[0]);
	assert_untouched(dst);

	/* a fake with an open file: busy, and the state is still good */
	fd = iommufd_fake_open(dst, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(iommufd_fake_restore(dst, fds, nr), -EBUSY);
	ck_assert_int_eq(iommufd_fake_close(dst, fd), 0);

	/* the good state restores here too: the files are this process's */
	iommufd_fake_close(src, s.nic);
	iommufd_fake_close(src, s.edu);
	iommufd_fake_close(src, s.ifd);
	iommufd_fake_free(src);
	ck_assert_int_eq(iommufd_fake_restore(dst, fds, nr), 0);
	free(fds);
	ck_assert_uint_eq(iommufd_fake_open_files(dst), 0);
	ck_assert_uint_eq(iommufd_fake_pinned_bytes(dst), 0);
	iommufd_fake_free(dst);
	close(s.memfd);
	munmap(s.anon, 2 * PAGE);
}
END_TEST

/* What cannot travel is refused, and the fake goes on. */
START_TEST(test_unsupported)
{
	struct iommufd_fake *f;
	int *fds = NULL, cfd;
	size_t nr = 0;

	ck_assert_int_eq(iommufd_fake_new(&f), 0);
	ck_assert_int_eq(iommufd_fake_add_default_machine(f), 0);
	cfd = iommufd_fake_open(f, "/dev/iommu", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	ck_assert_int_eq(xioctl(f, cfd, IOMMU_FAULT_QUEUE_ALLOC, &fa), 0);
	ck_assert_int_eq(iommufd_fake_preserve(f, &fds, &nr), -EOPNOTSUPP);
	ck_assert_ptr_null(fds);
	ck_assert_int_eq(iommufd_fake_close(f, fa.out_fault_fd), 0);
	ck_assert_int_eq(iommufd_fake_close(f, cfd), 0);
	ck_assert_int_eq(iommufd_fake_preserve(f, &fds, &nr), 0);
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);
	free(fds);
	iommufd_fake_free(f);
}
END_TEST

static Suite *persist_suite(void)
{
	Suite *s = suite_create("fake-persist");
	TCase *tc = tcase_create("persist");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exec);
	tcase_add_test(tc, test_exec_type1);
	tcase_add_test(tc, test_exec_same_pid);
	tcase_add_test(tc, test_scm_rights);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_unsupported);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	ssize_t n;
	int failed;

	if (argc > 1 && !strcmp(argv[1], CHILD_ARG))
		return persist_child(argc, argv);
	if (argc > 1 && !strcmp(argv[1], TYPE1_ARG))
		return type1_child(argc, argv);
	if (argc > 1 && !strcmp(argv[1], TREE_ARG))
		return tree_child(argc, argv);
	PAGE = (uint64_t)sysconf(_SC_PAGESIZE);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return EXIT_FAILURE;
	self_exe[n] = '\0';
	sr = srunner_create(persist_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
