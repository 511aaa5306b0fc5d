/* SPDX-License-Identifier: MIT */
/*
 * Live update: hand a running context (its iommufd or VFIO containers, IOAS,
 * HWPTs, devices and every mapping) to a new process without stopping the
 * devices' DMA.
 *
 * The old process:
 *   iommufd_lu_check()     pre-flight: what would block (changes nothing)
 *   iommufd_lu_prepare()   checks, then quiesces (type1: VFIO_DMA_UNMAP_FLAG_VADDR)
 *                          and writes the saved description
 *   iommufd_lu_exec()      exec a new program that inherits exactly the fds
 *                          the description names, or
 *   iommufd_lu_send()      pass them over a unix socket (SCM_RIGHTS)
 *   iommufd_lu_abort()     undo prepare (type1: the old vaddrs come back)
 *
 * The new process:
 *   iommufd_lu_from_env()  the description an iommufd_lu_exec() left, or
 *   iommufd_lu_receive()   one that arrived over a socket
 *   iommufd_lu_restore()   rebuild the library's objects over the inherited
 *                          fds (no new kernel object), map the files at this
 *                          process's addresses and take the DMA over
 *                          (iommufd: IOMMU_IOAS_CHANGE_PROCESS; type1:
 *                          VFIO_DMA_MAP_FLAG_VADDR)
 *
 * After a kexec (the kernel objects are gone, the memory is not):
 *   iommufd_lu_read()      a description saved with iommufd_lu_write()
 *   iommufd_lu_redrive()   make every object and mapping again in a fresh
 *                          context, then verify that each IOVA resolves to the
 *                          backing it had, reporting each difference
 *
 * Only file-backed mappings (iommufd_ioas_map_file(), typically memfd guest
 * RAM) can move: a mapping of plain process memory blocks the update, and
 * iommufd_lu_check() names it. The description is untrusted input to the new
 * process: it is versioned, checksummed and bounds-checked before use.
 */
#ifndef IOMMUFD_LIVEUPDATE_H
#define IOMMUFD_LIVEUPDATE_H

#include <iommufd/common.h>
#include <iommufd/ctx.h>
#include <iommufd/ioas.h>
#include <iommufd/hwpt.h>
#include <iommufd/device.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommufd_lu;

/* The environment variable iommufd_lu_exec() sets for the new program: the
 * fd number of the description. */
#define IOMMUFD_LU_ENV "LIBIOMMUFD_LU_FD"

enum iommufd_lu_blocker_kind {
	/* A mapping the new process could not take over: not file-backed. */
	IOMMUFD_LU_BLOCK_MAPPING = 1,
	/* The kernel lacks a feature the update needs (@feature). */
	IOMMUFD_LU_BLOCK_FEATURE,
	/* Library state the description cannot carry (a PASID attachment,
	 * dirty tracking switched on, DMA logging, ...): @what says which. */
	IOMMUFD_LU_BLOCK_STATE,
};

struct iommufd_lu_blocker {
	enum iommufd_lu_blocker_kind kind;
	uint32_t ioas_id;		/* MAPPING: its IOAS's kernel ID */
	uint64_t iova;			/* MAPPING */
	uint64_t length;		/* MAPPING */
	enum iommufd_feature feature;	/* FEATURE */
	const char *what;		/* a sentence naming the problem */
};

/* Return non-zero to stop the walk (the check then returns that value). */
typedef int (*iommufd_lu_blocker_fn)(const struct iommufd_lu_blocker *b,
				     void *data);

/*
 * Pre-flight, before anything changes: report every blocker through @fn
 * (may be NULL). 0 when nothing blocks; -EOPNOTSUPP when something does;
 * another -errno if the check itself failed.
 */
int iommufd_lu_check(struct iommufd_ctx *ctx, iommufd_lu_blocker_fn fn,
		     void *data);

struct iommufd_lu_prepare_opts {
	size_t sz;
	/* Opaque bytes of the caller's own state, carried with the
	 * description (at most 1 MiB); iommufd_lu_user_data() gives them
	 * back to the new process. */
	const void *user_data;
	size_t user_data_len;
	/* More fds of the caller's to travel with the description (guest
	 * RAM fds not mapped, an event fd, ...); iommufd_lu_extra_fd(). */
	const int *extra_fds;
	size_t nr_extra_fds;
};

/*
 * Check (as iommufd_lu_check(), blockers logged), then quiesce and save.
 * type1: every mapping's vaddr is invalidated in every container
 * (VFIO_DMA_UNMAP_FLAG_VADDR): devices behind an IOMMU go on DMAing into the
 * pinned pages, an emulated device's access waits or fails, and the memory
 * may be unmapped from this process. iommufd: nothing changes in the kernel.
 * Until iommufd_lu_abort() or a successful handoff, calls that change the
 * context's objects or mappings fail with -EBUSY.
 */
int iommufd_lu_prepare(struct iommufd_ctx *ctx,
		       const struct iommufd_lu_prepare_opts *opts,
		       struct iommufd_lu **out);

/*
 * Undo iommufd_lu_prepare(): type1: the old vaddrs are mapped back
 * (VFIO_DMA_MAP_FLAG_VADDR); the context is usable again; @lu is freed.
 * The memory must still be where it was.
 */
int iommufd_lu_abort(struct iommufd_lu *lu);

/*
 * execve(@path, @argv, @envp plus IOMMUFD_LU_ENV) with exactly the fds the
 * update needs made inheritable (the description, the iommufd or containers,
 * groups, devices, files of mappings, extra fds; a fake kernel's state).
 * Returns only on failure, with every fd's O_CLOEXEC as it was and the
 * update still prepared (iommufd_lu_abort() to resume). @envp NULL: environ.
 */
int iommufd_lu_exec(struct iommufd_lu *lu, const char *path,
		    char *const argv[], char *const envp[]);

/*
 * Send the description and every fd it names over the connected unix socket
 * @sock (SCM_RIGHTS). On success the context is handed over: the new
 * process owns its kernel objects, and iommufd_ctx_free() of this process's
 * context only closes fds (no unmap, detach or destroy reaches the kernel).
 * Free @lu with iommufd_lu_free().
 */
int iommufd_lu_send(struct iommufd_lu *lu, int sock);

/* The new process: the description iommufd_lu_exec() named in the
 * environment (-ENOENT: this process was not started by one; the variable
 * is removed either way), or the one received on @sock. */
int iommufd_lu_from_env(struct iommufd_lu **out);
int iommufd_lu_receive(int sock, struct iommufd_lu **out);

struct iommufd_lu_restore_opts {
	size_t sz;
	iommufd_log_fn log_fn;		/* for the new context */
	void *log_data;
	enum iommufd_log_level log_level;
};

/*
 * Rebuild the context, its IOAS, HWPTs and devices over the inherited fds,
 * with their kernel IDs, and take the DMA over: iommufd:
 * IOMMU_IOAS_CHANGE_PROCESS; type1: each file mapped at an address of this
 * process and VFIO_DMA_MAP_FLAG_VADDR. On failure nothing kernel-side
 * changed and @lu can be retried or freed. The objects belong to *out (free
 * them with iommufd_ctx_free()); find them with the accessors below.
 */
int iommufd_lu_restore(struct iommufd_lu *lu,
		       const struct iommufd_lu_restore_opts *opts,
		       struct iommufd_ctx **out);

/* After restore (or redrive): the objects, in the order the old process had
 * them. NULL past the end. */
size_t iommufd_lu_nr_ioas(const struct iommufd_lu *lu);
struct iommufd_ioas *iommufd_lu_ioas(const struct iommufd_lu *lu, size_t i);
size_t iommufd_lu_nr_devices(const struct iommufd_lu *lu);
struct iommufd_device *iommufd_lu_device(const struct iommufd_lu *lu,
					 size_t i);
size_t iommufd_lu_nr_hwpts(const struct iommufd_lu *lu);
struct iommufd_hwpt *iommufd_lu_hwpt(const struct iommufd_lu *lu, size_t i);

/* What the old process carried: its user data (NULL, 0 when none), its
 * extra fds (-ENOENT past the end; owned by @lu until freed: dup them). */
const void *iommufd_lu_user_data(const struct iommufd_lu *lu, size_t *len);
int iommufd_lu_extra_fd(const struct iommufd_lu *lu, size_t i);

/* Save the description to @fd (a file that outlives a kexec), and read one
 * back: no fd travels, the files come from the caller at redrive. */
int iommufd_lu_write(const struct iommufd_lu *lu, int fd);
int iommufd_lu_read(int fd, struct iommufd_lu **out);

/* One difference iommufd_lu_redrive() found. */
struct iommufd_lu_diff {
	size_t ioas;			/* index, as iommufd_lu_ioas() */
	uint64_t iova;
	uint64_t length;
	const char *what;		/* what differs */
};

typedef int (*iommufd_lu_diff_fn)(const struct iommufd_lu_diff *d,
				  void *data);

struct iommufd_lu_redrive_opts {
	size_t sz;
	/* The files of the description's mappings, by file index (the
	 * order of first use in the old process; iommufd_lu_nr_files()). */
	const int *files;
	size_t nr_files;
	iommufd_lu_diff_fn diff_fn;	/* each difference; may be NULL */
	void *diff_data;
};

/* The files the description's mappings use. */
size_t iommufd_lu_nr_files(const struct iommufd_lu *lu);

/*
 * After a kexec: in @ctx (fresh: no IOAS, no device), open every device again
 * by name, make every IOAS and HWPT, attach as before, map every mapping at
 * its IOVA with its permissions from opts->files. Then verify: each IOVA of
 * the description resolves in @ctx to the same file and offset (and prot);
 * every difference goes to diff_fn. Returns the number of differences (0:
 * identical), or -errno when re-driving failed (what was made is undone).
 */
int iommufd_lu_redrive(struct iommufd_lu *lu, struct iommufd_ctx *ctx,
		       const struct iommufd_lu_redrive_opts *opts);

/* Free @lu (and the fds it holds). Does not undo a prepare: see
 * iommufd_lu_abort(). */
void iommufd_lu_free(struct iommufd_lu *lu);

#ifdef __cplusplus
}
#endif

#endif
