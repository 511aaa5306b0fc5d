/* SPDX-License-Identifier: MIT */
/*
 * The saved description of a live update: what one process hands the next
 * (or itself after a kexec) so that it can rebuild the library's objects
 * over the kernel's.
 *
 * In memory it is the struct below: flat arrays that refer to each other by
 * index. On the wire (lu-desc.c) it is a header {magic, version, header
 * size, payload length, checksum} and tagged sections; the reader is
 * written for hostile input: every length, count and index is checked
 * against the buffer and against the arrays before anything is built, and
 * decoding either yields a description whose every cross-reference holds or
 * fails with -EBADMSG (malformed, bad checksum) / -EPROTO (a version this
 * library does not know), allocating nothing that survives.
 *
 * The fds travel beside the bytes (inherited across exec, or SCM_RIGHTS):
 * fds[] says what each one is and which number it had in the old process;
 * fdv[] is where each one is in this process (the same numbers after an
 * exec, the received ones after a socket; -1 when none, e.g. after a
 * kexec), kept out of the encoded bytes.
 */
#ifndef IOMMUFD_LU_DESC_H
#define IOMMUFD_LU_DESC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define LU_DESC_VERSION 1
/* No index: a field that refers to nothing. */
#define LU_NONE UINT32_MAX
/* Bounds that keep a hostile description from asking for absurd memory. */
#define LU_MAX_FDS 65536u
#define LU_MAX_OBJECTS 65536u		/* IOAS, HWPTs, devices, each */
#define LU_MAX_MAPS (UINT32_C(1) << 24)
#define LU_MAX_USER_DATA (1u << 20)
#define LU_MAX_BACKEND_DATA (UINT32_C(64) << 20)

enum lu_fd_role {
	LU_FD_CTX = 1,		/* the context's fd (/dev/iommu, a container) */
	LU_FD_DEVICE,		/* a VFIO device fd */
	LU_FD_FILE,		/* a file mappings use (lu_file) */
	LU_FD_BACKEND,		/* one the backend's section refers to */
	LU_FD_EXTRA,		/* the caller's (prepare opts->extra_fds) */
	LU_FD_KERNEL,		/* a fake kernel's state (kernel_preserve()) */
	LU_FD__MAX,
};

struct lu_fd {
	uint32_t role;		/* enum lu_fd_role */
	int32_t num;		/* its number in the old process */
};

/* A file that backs mappings, in the order of first use. */
struct lu_file {
	uint32_t fd;		/* index into fds[], role LU_FD_FILE */
	uint64_t size;		/* st_size when saved */
	uint64_t dev, ino;	/* identity when saved (diagnostics only) */
};

#define LU_IOAS_NO_HUGE_PAGES (1u << 0)

struct lu_ioas {
	uint32_t id;		/* kernel IOAS ID */
	uint32_t flags;		/* LU_IOAS_* */
	/* its mappings: maps[first_map .. first_map + nr_maps), by IOVA */
	uint32_t first_map, nr_maps;
	/* its allow-list (iommufd_ioas_allow_iovas), inclusive ranges:
	 * allowed[first_allowed .. + nr_allowed) */
	uint32_t first_allowed, nr_allowed;
};

struct lu_map {
	uint64_t iova;
	uint64_t length;	/* > 0, iova + length - 1 does not wrap */
	uint32_t file;		/* index into files[], or LU_NONE: memory */
	uint32_t prot;		/* IOMMUFD_MAP_READ | IOMMUFD_MAP_WRITE */
	uint64_t offset;	/* file: offset of iova; memory: its vaddr */
};

struct lu_range {
	uint64_t start;
	uint64_t last;
};

struct lu_hwpt {
	uint32_t id;		/* kernel HWPT ID */
	uint32_t ioas;		/* index into ioas[] */
	uint32_t flags;		/* enum iommufd_hwpt_flags */
	uint32_t lib_owned;	/* 1: made by iommufd_device_attach() */
	uint32_t dev;		/* index into devices[] it was made for */
};

struct lu_device {
	char name[64];		/* for iommufd_device_open() at redrive */
	char pci_addr[20];	/* "" when not a PCI function */
	uint32_t fd;		/* index into fds[], role LU_FD_DEVICE */
	uint32_t devid;
	uint32_t ioas;		/* attached IOAS index, or LU_NONE */
	uint32_t hwpt;		/* attached HWPT index, or LU_NONE */
	uint32_t pt_id;		/* what the kernel attached */
};

struct lu_desc {
	uint32_t backend;	/* enum iommufd_backend, never AUTO */
	uint32_t ctx_fd;	/* index into fds[] (LU_FD_CTX), or LU_NONE */
	uint64_t features;	/* ctx->features of the old process */

	struct lu_fd *fds;
	uint32_t nr_fds;
	struct lu_file *files;
	uint32_t nr_files;
	struct lu_ioas *ioas;
	uint32_t nr_ioas;
	struct lu_map *maps;
	uint32_t nr_maps;
	struct lu_range *allowed;
	uint32_t nr_allowed;
	struct lu_hwpt *hwpts;
	uint32_t nr_hwpts;
	struct lu_device *devices;
	uint32_t nr_devices;

	/* The backend's own section (type1: groups and containers), opaque
	 * here: written with lu_put_*, read with lu_get_*. */
	uint8_t *backend_data;
	uint32_t backend_len;

	uint8_t *user_data;
	uint32_t user_data_len;

	/* Not encoded: the fds in this process, nr_fds of them (-1: none).
	 * fds[] and fdv[] have room for more than nr_fds (lu-desc.c sizes them
	 * from nr_fds alone): only lu_desc_add_fd() and decode may set them. */
	int *fdv;
};

/* A growable buffer to encode into, and a bounds-checked cursor to decode
 * from; the backend section uses both. Errors stick: after a failed get or
 * put every later one fails too, and the caller checks once at the end. */
struct lu_buf {
	uint8_t *data;
	size_t len, cap;
	int err;		/* 0, or the first -errno */
};

struct lu_cursor {
	const uint8_t *p;
	size_t left;
	int err;		/* 0, or -EBADMSG once a read ran past the end */
};

void lu_put_u32(struct lu_buf *b, uint32_t v);
void lu_put_u64(struct lu_buf *b, uint64_t v);
void lu_put_bytes(struct lu_buf *b, const void *p, size_t len);
uint32_t lu_get_u32(struct lu_cursor *c);
uint64_t lu_get_u64(struct lu_cursor *c);
/* Copy @len bytes out (zeroes once the cursor failed). */
void lu_get_bytes(struct lu_cursor *c, void *p, size_t len);
/* A count read from the wire that the caller will allocate for: -EBADMSG
 * past @max or past what the bytes left could hold at @min_each bytes per
 * element. */
uint32_t lu_get_count(struct lu_cursor *c, uint32_t max, size_t min_each);

/* An empty description (every array NULL, ctx_fd LU_NONE). */
struct lu_desc *lu_desc_new(void);
void lu_desc_free(struct lu_desc *d);

/* Append an fd of @role (its number here is @num; fdv gets it too): its
 * index, or -errno. */
int lu_desc_add_fd(struct lu_desc *d, enum lu_fd_role role, int num);
/* The fd at @index in this process if it has @role, else -EBADMSG (index
 * out of range, other role) or -EBADF (none travelled). */
int lu_desc_fd(const struct lu_desc *d, uint32_t index, enum lu_fd_role role);

/* The wire form: *buf malloc'd. -EINVAL for a description that decode
 * would refuse (an index out of range, unsorted maps, ...). */
int lu_desc_encode(const struct lu_desc *d, void **buf, size_t *len);
/*
 * Decode and validate @len bytes: every index is checked (fds' roles
 * included), each IOAS's maps lie in maps[], sorted by IOVA and disjoint,
 * a file-backed map's file exists and its fd has role LU_FD_FILE, and so
 * on. Every fdv[] is -1: no fd is known yet.
 */
int lu_desc_decode(const void *buf, size_t len, struct lu_desc **out);
/* The fds that travelled, in fds[] order: @nr must be nr_fds (-EBADMSG).
 * fdv[] takes them (not owned by @d). */
int lu_desc_set_fds(struct lu_desc *d, const int *fds, size_t nr);

/* The payload's checksum (64-bit FNV-1a), for tests and the fuzzer that
 * rewrite a payload and need the header to agree. */
uint64_t lu_desc_checksum(const void *buf, size_t len);

#endif
