/* SPDX-License-Identifier: MIT */
/*
 * The native backend: every iommufd ioctl the library issues (IOAS objects,
 * options, feature probing, HWPTs, hardware info) and the VFIO device ioctls
 * that exist only with iommufd (BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT), in
 * this one file. The VFIO device ioctls common to every backend are in
 * vfio.c.
 *
 * Library flags (enum iommufd_map_flags) become kernel flags here and nowhere
 * else. Failed calls are logged with the ioctl's name; probe calls are not
 * (their failures are the answer).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "internal.h"
#include "maptable.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

_Static_assert(sizeof(struct iommufd_iova_range) ==
		       sizeof(struct iommu_iova_range) &&
	       __builtin_offsetof(struct iommufd_iova_range, last) ==
		       __builtin_offsetof(struct iommu_iova_range, last),
	       "library and kernel IOVA ranges share a layout");

static int do_ioctl(struct iommufd_ctx *ctx, unsigned long request, void *arg,
		    const char *name)
{
	int rc = kernel_ioctl(&ctx->kernel, ctx->fd, request, arg);

	if (rc < 0) {
		ctx_log_kernel_error(ctx, name, rc);
		return rc;
	}
	return 0;
}

#define IOCTL(ctx, req, arg) do_ioctl((ctx), (req), (arg), #req)

static uint32_t kernel_map_flags(uint32_t flags)
{
	uint32_t k = 0;

	if (flags & IOMMUFD_MAP_READ)
		k |= IOMMU_IOAS_MAP_READABLE;
	if (flags & IOMMUFD_MAP_WRITE)
		k |= IOMMU_IOAS_MAP_WRITEABLE;
	if (flags & IOMMUFD_MAP_FIXED_IOVA)
		k |= IOMMU_IOAS_MAP_FIXED_IOVA;
	return k;
}

/* ---- feature probing ---- */

/*
 * Each probe is the cheapest call that cannot change anything: it names
 * object 0, which never exists (IDs start at 1), or sets a field the kernel
 * rejects before it acts. A command exists when the answer is anything but
 * ENOTTY. Where a feature is a flag or a field rather than a command, the
 * probe relies on a check the kernel makes before its first object lookup;
 * checks made after the lookup (HWPT_ALLOC's flags, since 6.7) cannot be
 * probed without a device and are not used.
 */
static int probe_ioctl(struct iommufd_ctx *ctx, unsigned long request,
		       void *arg)
{
	return kernel_ioctl(&ctx->kernel, ctx->fd, request, arg);
}

static bool cmd_exists(int rc)
{
	return rc != -ENOTTY;
}

static void iommufd_probe(struct iommufd_ctx *ctx)
{
	int rc;

	/* IOMMU_DESTROY of ID 0: ENOENT on every iommufd. */
	{
		struct iommu_destroy cmd = { .size = sizeof(cmd), .id = 0 };

		rc = probe_ioctl(ctx, IOMMU_DESTROY, &cmd);
		if (!cmd_exists(rc))
			return;	/* not an iommufd at all */
		ctx_set_feature(ctx, IOMMUFD_FEATURE_IOAS);
	}
	/* IOMMU_VFIO_IOAS GET only reads (ENODEV when none is set). */
	{
		struct iommu_vfio_ioas cmd = {
			.size = sizeof(cmd),
			.op = IOMMU_VFIO_IOAS_GET,
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_VFIO_IOAS, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_VFIO_COMPAT);
	}
	/* HWPT_ALLOC for device 0, in its 6.6 size: ENOENT. */
	{
		struct iommu_hwpt_alloc cmd = {
			.size = __builtin_offsetof(struct iommu_hwpt_alloc,
						   __reserved) +
				sizeof(cmd.__reserved),
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_HWPT_ALLOC, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_HWPT_ALLOC);
	}
	/*
	 * Fault queues (6.11) arrived with HWPT_ALLOC's fault_id tail: an older
	 * kernel refuses a non-zero tail it does not know (E2BIG) or the flag
	 * (EOPNOTSUPP); a newer one looks up device 0 (ENOENT).
	 */
	if (iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_HWPT_ALLOC)) {
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd),
			.flags = IOMMU_HWPT_FAULT_ID_VALID,
			.fault_id = 1,
		};

		rc = probe_ioctl(ctx, IOMMU_HWPT_ALLOC, &cmd);
		if (rc != -E2BIG && rc != -EOPNOTSUPP && rc != -ENOTTY)
			ctx_set_feature(ctx, IOMMUFD_FEATURE_FAULT_QUEUE);
	}
	/* GET_HW_INFO for device 0: ENOENT. */
	{
		struct iommu_hw_info cmd = { .size = sizeof(cmd) };

		if (cmd_exists(probe_ioctl(ctx, IOMMU_GET_HW_INFO, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_HW_INFO);
	}
	if (iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_HW_INFO)) {
		/* 6.15 turned the first byte of a reserved word into the
		 * out_max_pasid_log2 output (with PASID HWPTs): before, a
		 * non-zero byte there is EOPNOTSUPP; since, it is ignored and
		 * device 0 is ENOENT. */
		struct iommu_hw_info cmd = {
			.size = sizeof(cmd),
			.out_max_pasid_log2 = 1,
		};

		rc = probe_ioctl(ctx, IOMMU_GET_HW_INFO, &cmd);
		if (rc != -EOPNOTSUPP && rc != -E2BIG && cmd_exists(rc))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_PASID);

		/* FLAG_INPUT_TYPE (6.17) is checked before the lookup. */
		memset(&cmd, 0, sizeof(cmd));
		cmd.size = sizeof(cmd);
		cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
		rc = probe_ioctl(ctx, IOMMU_GET_HW_INFO, &cmd);
		if (rc != -EOPNOTSUPP && rc != -E2BIG && cmd_exists(rc))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_HW_INFO_TYPE);
	}
	/* Dirty tracking (6.7) came with its own command: HWPT 0 is ENOENT.
	 * (HWPT_ALLOC's DIRTY_TRACKING flag is checked after the device.) */
	{
		struct iommu_hwpt_set_dirty_tracking cmd = {
			.size = sizeof(cmd),
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_HWPT_SET_DIRTY_TRACKING,
					   &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_DIRTY_TRACKING);
	}
	{
		struct iommu_hwpt_invalidate cmd = { .size = sizeof(cmd) };

		if (cmd_exists(probe_ioctl(ctx, IOMMU_HWPT_INVALIDATE, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_HWPT_INVALIDATE);
	}
	/* MAP_FILE into IOAS 0: ENOENT (fd -1 is never looked at). */
	{
		struct iommu_ioas_map_file cmd = {
			.size = sizeof(cmd),
			.flags = IOMMU_IOAS_MAP_READABLE,
			.fd = -1,
			.length = 4096,
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_IOAS_MAP_FILE, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_IOAS_MAP_FILE);
	}
	/* A vIOMMU of a real type on device 0: ENOENT (never allocates). */
	{
		struct iommu_viommu_alloc cmd = {
			.size = __builtin_offsetof(struct iommu_viommu_alloc,
						   out_viommu_id) +
				sizeof(cmd.out_viommu_id),
			.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_VIOMMU_ALLOC, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_VIOMMU);
	}
	/*
	 * CHANGE_PROCESS would move every pin of this iommufd if it succeeded,
	 * so it is probed with __reserved set: EOPNOTSUPP where the kernel
	 * knows the command (it checks that first), ENOTTY where not.
	 */
	{
		struct iommu_ioas_change_process cmd = {
			.size = sizeof(cmd),
			.__reserved = 1,
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_IOAS_CHANGE_PROCESS,
					   &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_CHANGE_PROCESS);
	}
	/* An event queue on vIOMMU 0: ENOENT (never allocates). */
	{
		struct iommu_veventq_alloc cmd = {
			.size = sizeof(cmd),
			.type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
			.veventq_depth = 1,
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_VEVENTQ_ALLOC, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_VEVENTQ);
	}
	/* A HW queue on vIOMMU 0: ENOENT (never allocates). */
	{
		struct iommu_hw_queue_alloc cmd = {
			.size = sizeof(cmd),
			.type = IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV,
			.length = 4096,
		};

		if (cmd_exists(probe_ioctl(ctx, IOMMU_HW_QUEUE_ALLOC, &cmd)))
			ctx_set_feature(ctx, IOMMUFD_FEATURE_HW_QUEUE);
	}
}

/* ---- options ---- */

static int iommufd_option(struct iommufd_ctx *ctx, uint32_t option_id,
			  uint16_t op, uint32_t object_id, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = op == IOMMU_OPTION_OP_SET ? *val : 0,
	};
	int rc;

	rc = IOCTL(ctx, IOMMU_OPTION, &cmd);
	if (!rc && op == IOMMU_OPTION_OP_GET)
		*val = cmd.val64;
	return rc;
}

/* ---- IOAS ---- */

static int iommufd_ioas_alloc(struct iommufd_ioas *ioas)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = IOCTL(ioas->ctx, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		ioas->id = cmd.out_ioas_id;
	return rc;
}

static int iommufd_ioas_destroy_op(struct iommufd_ioas *ioas)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = ioas->id };

	return IOCTL(ioas->ctx, IOMMU_DESTROY, &cmd);
}

static int iommufd_ioas_map_op(struct iommufd_ioas *ioas, void *vaddr,
			       uint64_t length, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = kernel_map_flags(flags),
		.ioas_id = ioas->id,
		.user_va = (uintptr_t)vaddr,
		.length = length,
		.iova = flags & IOMMUFD_MAP_FIXED_IOVA ? *iova : 0,
	};
	int rc;

	rc = IOCTL(ioas->ctx, IOMMU_IOAS_MAP, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

static int iommufd_ioas_map_file_op(struct iommufd_ioas *ioas, int fd,
				    uint64_t offset, uint64_t length,
				    uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = kernel_map_flags(flags),
		.ioas_id = ioas->id,
		.fd = fd,
		.start = offset,
		.length = length,
		.iova = flags & IOMMUFD_MAP_FIXED_IOVA ? *iova : 0,
	};
	int rc;

	rc = IOCTL(ioas->ctx, IOMMU_IOAS_MAP_FILE, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

static int iommufd_ioas_unmap_op(struct iommufd_ioas *ioas, uint64_t iova,
				 uint64_t length, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas->id,
		.iova = iova,
		.length = length,
	};
	int rc;

	rc = IOCTL(ioas->ctx, IOMMU_IOAS_UNMAP, &cmd);
	if (!rc && unmapped)
		*unmapped = cmd.length;
	return rc;
}

static int iommufd_ioas_copy_op(struct iommufd_ioas *dst, uint64_t *dst_iova,
				struct iommufd_ioas *src, uint64_t src_iova,
				uint64_t length, uint32_t flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = kernel_map_flags(flags),
		.dst_ioas_id = dst->id,
		.src_ioas_id = src->id,
		.length = length,
		.dst_iova = flags & IOMMUFD_MAP_FIXED_IOVA ? *dst_iova : 0,
		.src_iova = src_iova,
	};
	int rc;

	rc = IOCTL(dst->ctx, IOMMU_IOAS_COPY, &cmd);
	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

/*
 * The kernel reports the number of ranges with EMSGSIZE when the array is too
 * small. The list can change between two calls (a device attached or
 * detached), so grow and retry until it fits; a bound keeps a pathological
 * race from spinning forever.
 */
static int iommufd_ioas_iova_ranges_op(struct iommufd_ioas *ioas,
				       struct iommufd_iova_ranges **out)
{
	struct iommufd_iova_ranges *r = NULL;
	uint32_t cap = 8;
	int rc = -EAGAIN;

	for (unsigned int tries = 0; tries < 64; tries++) {
		struct iommu_ioas_iova_ranges cmd = {
			.size = sizeof(cmd),
			.ioas_id = ioas->id,
			.num_iovas = cap,
		};
		struct iommufd_iova_ranges *n;

		n = realloc(r, sizeof(*r) + (size_t)cap * sizeof(r->range[0]));
		if (!n) {
			rc = -ENOMEM;
			break;
		}
		r = n;
		cmd.allowed_iovas = (uintptr_t)r->range;
		rc = kernel_ioctl(&ioas->ctx->kernel, ioas->ctx->fd,
				  IOMMU_IOAS_IOVA_RANGES, &cmd);
		if (rc == -EMSGSIZE) {
			/* Grow to what the kernel needs now (at least +1). */
			cap = cmd.num_iovas > cap ? cmd.num_iovas : cap + 1;
			continue;
		}
		if (rc < 0) {
			ctx_log_kernel_error(ioas->ctx, "IOMMU_IOAS_IOVA_RANGES",
					     rc);
			break;
		}
		r->nr = cmd.num_iovas;
		r->alignment = cmd.out_iova_alignment;
		*out = r;
		return 0;
	}
	if (rc == -EMSGSIZE)
		rc = -EAGAIN;
	free(r);
	return rc;
}

static int iommufd_ioas_allow_iovas_op(struct iommufd_ioas *ioas,
				       const struct iommufd_iova_range *ranges,
				       size_t nr)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas->id,
		.num_iovas = (uint32_t)nr,
		.allowed_iovas = (uintptr_t)ranges,
	};

	if (nr > UINT32_MAX)
		return -EINVAL;
	return IOCTL(ioas->ctx, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

/* ---- devices ---- */

static void dev_log_error(struct iommufd_device *dev, const char *call,
			  int err)
{
	char what[128];

	snprintf(what, sizeof(what), "%s: %s", dev->name, call);
	ctx_log_kernel_error(dev->ctx, what, err);
}

/*
 * Whether BIND_IOMMUFD reads a VF token (6.17). Since then the kernel copies
 * the whole struct first and refuses a non-zero tail it does not know
 * (E2BIG); before, it reads the first 16 bytes and refuses any flag
 * (EINVAL). With iommufd -1 neither can bind anything.
 */
static bool bind_takes_token(struct iommufd_device *dev)
{
	struct {
		struct vfio_device_bind_iommufd bind;
		uint64_t tail;
	} probe = {
		.bind = {
			.argsz = sizeof(probe),
			.flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
			.iommufd = -1,
		},
		.tail = 1,
	};

	return kernel_ioctl(&dev->ctx->kernel, dev->fd,
			    VFIO_DEVICE_BIND_IOMMUFD, &probe) == -E2BIG;
}

static int iommufd_device_bind(struct iommufd_device *dev,
			       const uint8_t *vf_token)
{
	/* Without a token, the 6.6 size: every kernel with cdevs takes it. */
	struct vfio_device_bind_iommufd cmd = {
		.argsz = vf_token ? sizeof(cmd) :
			 offsetofend(struct vfio_device_bind_iommufd,
				     out_devid),
		.flags = vf_token ? VFIO_DEVICE_BIND_FLAG_TOKEN : 0,
		.iommufd = dev->ctx->fd,
		.token_uuid_ptr = (uintptr_t)vf_token,
	};
	int rc;

	rc = kernel_ioctl(&dev->ctx->kernel, dev->fd, VFIO_DEVICE_BIND_IOMMUFD,
			  &cmd);
	if (rc == -EINVAL && vf_token) {
		if (!bind_takes_token(dev)) {
			ctx_err(dev->ctx,
				"%s: this kernel cannot take a VF token when binding a device file to an iommufd (VFIO_DEVICE_BIND_FLAG_TOKEN needs Linux 6.17)",
				dev->name);
			return -EOPNOTSUPP;
		}
		ctx_err(dev->ctx,
			"%s: VFIO_DEVICE_BIND_IOMMUFD refused the VF token: the device is not an SR-IOV VF or PF driven by vfio-pci",
			dev->name);
		return rc;
	}
	if (rc == -EACCES && vf_token) {
		ctx_err(dev->ctx, "%s: VFIO_DEVICE_BIND_IOMMUFD: the VF token is wrong",
			dev->name);
		return rc;
	}
	if (rc == -EACCES) {
		ctx_err(dev->ctx,
			"%s: VFIO_DEVICE_BIND_IOMMUFD: access denied: a VF whose PF is driven by vfio-pci needs the VF token (opts->vf_token)",
			dev->name);
		return rc;
	}
	if (rc < 0) {
		dev_log_error(dev, "VFIO_DEVICE_BIND_IOMMUFD", rc);
		return rc;
	}
	dev->devid = cmd.out_devid;
	return 0;
}

static int iommufd_device_attach_op(struct iommufd_device *dev,
				    struct iommufd_ioas *ioas,
				    struct iommufd_hwpt *hwpt,
				    const uint32_t *pasid, bool probe,
				    uint32_t *out_pt_id)
{
	/* Without a PASID, the 6.6 size, which every kernel with cdevs takes. */
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = pasid ? sizeof(cmd) :
			 offsetofend(struct vfio_device_attach_iommufd_pt,
				     pt_id),
		.flags = pasid ? VFIO_DEVICE_ATTACH_PASID : 0,
		.pt_id = hwpt ? hwpt->id : ioas->id,
		.pasid = pasid ? *pasid : 0,
	};
	int rc;

	rc = kernel_ioctl(&dev->ctx->kernel, dev->fd,
			  VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd);
	if (rc < 0) {
		if (probe && rc == -EINVAL)
			ctx_dbg(dev->ctx,
				"%s: HWPT %u is incompatible with the device's IOMMU",
				dev->name, cmd.pt_id);
		else
			dev_log_error(dev, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", rc);
		return rc;
	}
	*out_pt_id = cmd.pt_id;
	return 0;
}

static int iommufd_device_detach_op(struct iommufd_device *dev,
				    const uint32_t *pasid)
{
	struct vfio_device_detach_iommufd_pt cmd = {
		.argsz = pasid ? sizeof(cmd) :
			 offsetofend(struct vfio_device_detach_iommufd_pt,
				     flags),
		.flags = pasid ? VFIO_DEVICE_DETACH_PASID : 0,
		.pasid = pasid ? *pasid : 0,
	};
	int rc;

	rc = kernel_ioctl(&dev->ctx->kernel, dev->fd,
			  VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
	if (rc < 0)
		dev_log_error(dev, "VFIO_DEVICE_DETACH_IOMMUFD_PT", rc);
	return rc;
}

static int iommufd_device_hw_info(struct iommufd_device *dev,
				  struct iommufd_hw_info *info)
{
	struct iommufd_hw_info out = { 0 };
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev->devid,
		.data_len = sizeof(out.data),
		.data_uptr = (uintptr_t)out.data,
	};
	int rc;

	rc = kernel_ioctl(&dev->ctx->kernel, dev->ctx->fd, IOMMU_GET_HW_INFO,
			  &cmd);
	if (rc == -ENOENT) {
		/* The device is bound, so its ID exists: it names an access
		 * object, which an emulated device gets instead of an IOMMU. */
		ctx_dbg(dev->ctx, "%s: no IOMMU of its own (an emulated device)",
			dev->name);
		return -ENODEV;
	}
	if (rc < 0) {
		dev_log_error(dev, "IOMMU_GET_HW_INFO", rc);
		return rc;
	}
	out.type = (enum iommufd_hw_info_type)cmd.out_data_type;
	out.capabilities = cmd.out_capabilities;
	out.max_pasid_log2 = cmd.out_max_pasid_log2;
	out.data_len = cmd.data_len < sizeof(out.data) ? cmd.data_len :
			(uint32_t)sizeof(out.data);
	*info = out;
	return 0;
}

static uint32_t kernel_hwpt_flags(uint32_t flags)
{
	uint32_t k = 0;

	if (flags & IOMMUFD_HWPT_NEST_PARENT)
		k |= IOMMU_HWPT_ALLOC_NEST_PARENT;
	if (flags & IOMMUFD_HWPT_DIRTY_TRACKING)
		k |= IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	if (flags & IOMMUFD_HWPT_PASID)
		k |= IOMMU_HWPT_ALLOC_PASID;
	return k;
}

static int iommufd_hwpt_alloc_op(struct iommufd_hwpt *hwpt,
				 struct iommufd_device *dev)
{
	/* The 6.11 size; older kernels take its zero tail. */
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = kernel_hwpt_flags(hwpt->flags),
		.dev_id = dev->devid,
		.pt_id = hwpt->ioas->id,
	};
	int rc;

	rc = kernel_ioctl(&dev->ctx->kernel, dev->ctx->fd, IOMMU_HWPT_ALLOC,
			  &cmd);
	if (rc == -EOPNOTSUPP && cmd.flags) {
		ctx_warn(dev->ctx,
			 "%s: IOMMU_HWPT_ALLOC: the device's IOMMU (or this kernel) cannot make a HWPT that is%s%s%s",
			 dev->name,
			 hwpt->flags & IOMMUFD_HWPT_NEST_PARENT ? " a nesting parent" : "",
			 hwpt->flags & IOMMUFD_HWPT_DIRTY_TRACKING ? " dirty-tracking" : "",
			 hwpt->flags & IOMMUFD_HWPT_PASID ? " PASID-capable" : "");
		return rc;
	}
	if (rc < 0) {
		dev_log_error(dev, "IOMMU_HWPT_ALLOC", rc);
		return rc;
	}
	hwpt->id = cmd.out_hwpt_id;
	return 0;
}

static int iommufd_hwpt_destroy_op(struct iommufd_hwpt *hwpt)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = hwpt->id };

	return IOCTL(hwpt->ctx, IOMMU_DESTROY, &cmd);
}

/* ---- dirty tracking ---- */

static int iommufd_hwpt_set_dirty_tracking_op(struct iommufd_hwpt *hwpt,
					      bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt->id,
	};

	return IOCTL(hwpt->ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int iommufd_hwpt_get_dirty_bitmap_op(struct iommufd_hwpt *hwpt,
					    uint64_t iova, uint64_t length,
					    uint64_t page_size, uint64_t *data,
					    bool no_clear)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt->id,
		.flags = no_clear ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)data,
	};

	return IOCTL(hwpt->ctx, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* ---- live update ---- */

/*
 * The kernel objects stay where they are: the new process inherits the
 * iommufd and the device fds, so nothing needs quiescing, and the only
 * kernel call is the takeover. Pages are pinned by file, not by address
 * (MAP_FILE), which is what lets the charge move with
 * IOMMU_IOAS_CHANGE_PROCESS.
 */
static void iommufd_lu_check_op(struct iommufd_ctx *ctx, struct lu_check *chk)
{
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_IOAS_MAP_FILE))
		lu_check_feature(chk, IOMMUFD_FEATURE_IOAS_MAP_FILE,
				 "this kernel has no IOMMU_IOAS_MAP_FILE (Linux 6.13): no mapping can move to another process");
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_CHANGE_PROCESS))
		lu_check_feature(chk, IOMMUFD_FEATURE_CHANGE_PROCESS,
				 "this kernel has no IOMMU_IOAS_CHANGE_PROCESS (Linux 6.14): the new process could not take the pinned memory over");
}

/* The context's fd is in the description already (liveupdate.c): an
 * iommufd has nothing of its own to add. */
static int iommufd_lu_save_op(struct iommufd_ctx *ctx, struct lu_desc *d)
{
	(void)ctx;
	(void)d;
	return 0;
}

static int iommufd_lu_restore_op(struct iommufd_ctx *ctx,
				 const struct lu_desc *d)
{
	(void)d;
	if (!iommufd_ctx_has_feature(ctx, IOMMUFD_FEATURE_CHANGE_PROCESS)) {
		ctx_err(ctx, "live update: this kernel has no IOMMU_IOAS_CHANGE_PROCESS (Linux 6.14)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int iommufd_lu_takeover_op(struct iommufd_ctx *ctx)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	int rc = kernel_ioctl(&ctx->kernel, ctx->fd, IOMMU_IOAS_CHANGE_PROCESS,
			      &cmd);

	if (!rc)
		return 0;
	/* The kernel's own words are too terse for what went wrong here. */
	if (rc == -EINVAL)
		ctx_err(ctx, "IOMMU_IOAS_CHANGE_PROCESS: %s: a mapping of this iommufd was not made with IOMMU_IOAS_MAP_FILE (made behind the library's back?)",
			strerror(-rc));
	else if (rc == -ENOMEM)
		ctx_err(ctx, "IOMMU_IOAS_CHANGE_PROCESS: %s: this process cannot be charged the pinned pages (RLIMIT_MEMLOCK?); the old process keeps them",
			strerror(-rc));
	else if (rc == -ENOTTY || rc == -EOPNOTSUPP)
		ctx_err(ctx, "IOMMU_IOAS_CHANGE_PROCESS: %s: this kernel cannot change the owning process (Linux 6.14)",
			strerror(-rc));
	else
		ctx_log_kernel_error(ctx, "IOMMU_IOAS_CHANGE_PROCESS", rc);
	return rc;
}

const struct iommufd_backend_ops iommufd_backend_iommufd = {
	.name = "iommufd",
	.probe = iommufd_probe,
	.option = iommufd_option,
	.ioas_alloc = iommufd_ioas_alloc,
	.ioas_destroy = iommufd_ioas_destroy_op,
	.ioas_map = iommufd_ioas_map_op,
	.ioas_map_file = iommufd_ioas_map_file_op,
	.ioas_unmap = iommufd_ioas_unmap_op,
	.ioas_copy = iommufd_ioas_copy_op,
	.ioas_iova_ranges = iommufd_ioas_iova_ranges_op,
	.ioas_allow_iovas = iommufd_ioas_allow_iovas_op,
	.device_bind = iommufd_device_bind,
	.device_attach = iommufd_device_attach_op,
	.device_detach = iommufd_device_detach_op,
	.device_hw_info = iommufd_device_hw_info,
	.hwpt_alloc = iommufd_hwpt_alloc_op,
	.hwpt_destroy = iommufd_hwpt_destroy_op,
	.hwpt_set_dirty_tracking = iommufd_hwpt_set_dirty_tracking_op,
	.hwpt_get_dirty_bitmap = iommufd_hwpt_get_dirty_bitmap_op,
	.lu_check = iommufd_lu_check_op,
	.lu_save = iommufd_lu_save_op,
	.lu_restore = iommufd_lu_restore_op,
	.lu_takeover = iommufd_lu_takeover_op,
};
