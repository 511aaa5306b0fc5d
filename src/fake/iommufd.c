/* SPDX-License-Identifier: MIT */
/*
 * The /dev/iommu file of the fake kernel: the object table (the kernel's
 * iommufd_ctx), the ioctl dispatcher with the size rules every command shares,
 * and the commands that are not about an IOAS. Modelled on
 * drivers/iommu/iommufd/main.c; the rules are the kernel's, the code is ours.
 *
 * Every uAPI change by kernel version lives in the two tables below:
 * fake_ioctl_ops[] (when a command appeared and how its struct grew) and
 * fake_flag_versions[] (when a flag appeared).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/iommufd.h>

#include "fake-internal.h"

#define V(maj, min) FAKE_KVER(maj, min)
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* ------------------------------------------------------------------ */
/* Flags by kernel version                                             */

struct fake_flag_version {
	unsigned int nr;
	uint32_t flag;
	unsigned int since;
};

static const struct fake_flag_version fake_flag_versions[] = {
	{ IOMMUFD_CMD_IOAS_MAP, IOMMU_IOAS_MAP_FIXED_IOVA, V(6, 2) },
	{ IOMMUFD_CMD_IOAS_MAP, IOMMU_IOAS_MAP_WRITEABLE, V(6, 2) },
	{ IOMMUFD_CMD_IOAS_MAP, IOMMU_IOAS_MAP_READABLE, V(6, 2) },
	{ IOMMUFD_CMD_IOAS_COPY, IOMMU_IOAS_MAP_FIXED_IOVA, V(6, 2) },
	{ IOMMUFD_CMD_IOAS_COPY, IOMMU_IOAS_MAP_WRITEABLE, V(6, 2) },
	{ IOMMUFD_CMD_IOAS_COPY, IOMMU_IOAS_MAP_READABLE, V(6, 2) },
	{ IOMMUFD_CMD_IOAS_MAP_FILE, IOMMU_IOAS_MAP_FIXED_IOVA, V(6, 13) },
	{ IOMMUFD_CMD_IOAS_MAP_FILE, IOMMU_IOAS_MAP_WRITEABLE, V(6, 13) },
	{ IOMMUFD_CMD_IOAS_MAP_FILE, IOMMU_IOAS_MAP_READABLE, V(6, 13) },
	{ IOMMUFD_CMD_HWPT_ALLOC, IOMMU_HWPT_ALLOC_NEST_PARENT, V(6, 7) },
	{ IOMMUFD_CMD_HWPT_ALLOC, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, V(6, 7) },
	{ IOMMUFD_CMD_HWPT_ALLOC, IOMMU_HWPT_FAULT_ID_VALID, V(6, 11) },
	{ IOMMUFD_CMD_HWPT_ALLOC, IOMMU_HWPT_ALLOC_PASID, V(6, 15) },
	{ IOMMUFD_CMD_GET_HW_INFO, IOMMU_HW_INFO_FLAG_INPUT_TYPE, V(6, 17) },
	{ IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	  V(6, 7) },
	{ IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
	  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, V(6, 7) },
};

uint32_t fake_valid_flags(unsigned int kver, unsigned int nr)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fake_flag_versions); i++)
		if (fake_flag_versions[i].nr == nr &&
		    kver >= fake_flag_versions[i].since)
			mask |= fake_flag_versions[i].flag;
	return mask;
}

bool fake_kver_has_flag(unsigned int kver, unsigned int nr, uint32_t flag)
{
	return (fake_valid_flags(kver, nr) & flag) == flag;
}

/* ------------------------------------------------------------------ */
/* The object table                                                    */

struct fake_fault {
	struct fake_object obj;
	struct fake_ictx *ictx;
	struct fake_file *file;		/* the fault fd; holds obj and ictx */
};

static void fake_fault_destroy(struct fake_ictx *ictx, struct fake_object *obj)
{
	(void)ictx;
	free(fake_container_of(obj, struct fake_fault, obj));
}

static const struct fake_object_ops fake_object_ops[FAKE_OBJ__COUNT] = {
	[FAKE_OBJ_DEVICE] = { .destroy = fake_idev_destroy },
	[FAKE_OBJ_HWPT_PAGING] = { .destroy = fake_hwpt_destroy },
	[FAKE_OBJ_IOAS] = { .destroy = fake_ioas_destroy },
	[FAKE_OBJ_ACCESS] = { .destroy = fake_access_destroy_obj },
	[FAKE_OBJ_FAULT] = { .destroy = fake_fault_destroy },
};

int fake_object_slots(struct fake_ictx *ictx, uint32_t id)
{
	uint32_t n = ictx->nr_slots ? ictx->nr_slots : 16;
	struct fake_object **tab;

	if (id < ictx->nr_slots)
		return 0;
	if (id > INT32_MAX)
		return -EBUSY;	/* xa_limit_31b is full */
	while (n <= id)
		n *= 2;
	tab = realloc(ictx->objects, n * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	memset(tab + ictx->nr_slots, 0, (n - ictx->nr_slots) * sizeof(*tab));
	ictx->objects = tab;
	ictx->nr_slots = n;
	return 0;
}

int fake_object_alloc(struct fake_ictx *ictx, struct fake_object *obj,
		      enum fake_obj_type type)
{
	uint32_t id = ictx->next_free ? ictx->next_free : 1;
	int ret;

	/* xa_alloc() with XA_FLAGS_ALLOC1: the lowest free id, never 0 */
	while (id < ictx->nr_slots && ictx->objects[id])
		id++;
	ret = fake_object_slots(ictx, id);
	if (ret)
		return ret;
	obj->type = type;
	obj->id = id;
	obj->users = 1;
	ictx->objects[id] = obj;
	ictx->next_free = id + 1;
	ictx->nr_objects++;
	return 0;
}

static void object_unlink(struct fake_ictx *ictx, struct fake_object *obj)
{
	ictx->objects[obj->id] = NULL;
	if (obj->id < ictx->next_free)
		ictx->next_free = obj->id;
	ictx->nr_objects--;
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
}

void fake_object_abort(struct fake_ictx *ictx, struct fake_object *obj)
{
	object_unlink(ictx, obj);
	fake_object_ops[obj->type].destroy(ictx, obj);
}

struct fake_object *fake_object_get(struct fake_ictx *ictx, uint32_t id,
				    enum fake_obj_type type)
{
	struct fake_object *obj;

	if (id >= ictx->nr_slots)
		return NULL;
	obj = ictx->objects[id];
	if (!obj || (type != FAKE_OBJ_ANY && obj->type != type))
		return NULL;
	return obj;
}

/* iommufd_object_remove(): only the table may still hold the object. */
static int object_remove(struct fake_ictx *ictx, uint32_t id)
{
	struct fake_object *obj = fake_object_get(ictx, id, FAKE_OBJ_ANY);

	if (!obj)
		return -ENOENT;
	if (obj->users != 1)
		return -EBUSY;
	object_unlink(ictx, obj);
	fake_object_ops[obj->type].destroy(ictx, obj);
	return 0;
}

void fake_object_destroy_user(struct fake_ictx *ictx, struct fake_object *obj)
{
	obj->users--;
	/* What is left is the table's: the caller undid every attachment. */
	object_unlink(ictx, obj);
	fake_object_ops[obj->type].destroy(ictx, obj);
}

void fake_object_put_and_try_destroy(struct fake_ictx *ictx,
				     struct fake_object *obj)
{
	obj->users--;
	if (obj->users != 1)
		return;
	object_unlink(ictx, obj);
	fake_object_ops[obj->type].destroy(ictx, obj);
}

int fake_for_each_ioas(struct iommufd_fake *fake, fake_ioas_fn fn, void *arg)
{
	for (struct fake_file *f = fake->files; f; f = f->next) {
		struct fake_ictx *ictx = f->private_data;

		if (f->ops != &fake_iommufd_fops)
			continue;
		for (uint32_t id = 1; id < ictx->nr_slots; id++) {
			struct fake_object *obj = ictx->objects[id];
			int ret;

			if (!obj || obj->type != FAKE_OBJ_IOAS)
				continue;
			ret = fn(fake_container_of(obj, struct fake_ioas, obj),
				 arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Commands that are not about an IOAS                                 */

static int fake_destroy(struct fake_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return object_remove(ucmd->ictx, cmd->id);
}

static int fake_option_rlimit_mode(struct fake_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct fake_ictx *ictx = ucmd->ictx;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mm;
		return 0;
	}
	if (cmd->op == IOMMU_OPTION_OP_SET) {
		/* The fake process has CAP_SYS_RESOURCE. */
		if (ictx->nr_objects)
			return -EBUSY;
		if (cmd->val64 > 1)
			return -EINVAL;
		ictx->account_mm = cmd->val64 == 1;
		return 0;
	}
	return -EOPNOTSUPP;
}

static int fake_option(struct fake_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		ret = fake_option_rlimit_mode(ucmd);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		ret = fake_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (ret)
		return ret;
	/* Only val64 goes back. */
	return fake_copy_to_user((char *)ucmd->ubuffer +
					 offsetof(struct iommu_option, val64),
				 &cmd->val64, sizeof(cmd->val64));
}

static int fake_vfio_ioas(struct fake_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct fake_ictx *ictx = ucmd->ictx;
	struct fake_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		if (!ictx->vfio_ioas)
			return -ENODEV;
		cmd->ioas_id = ictx->vfio_ioas->obj.id;
		return fake_ucmd_respond(ucmd);
	case IOMMU_VFIO_IOAS_SET:
		ioas = fake_get_ioas(ictx, cmd->ioas_id);
		if (!ioas)
			return -ENOENT;
		ictx->vfio_ioas = ioas;	/* the kernel takes no users here */
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		ictx->vfio_ioas = NULL;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * The object lookup of a command whose model comes later: ENOENT for an
 * unknown ID (or one of another type), as the kernel answers; EOPNOTSUPP
 * past it. For IOMMU_VIOMMU_ALLOC that is the kernel's answer on every
 * fake IOMMU (none has vIOMMU support, as VT-d has none).
 */
static int lookup_later_model(struct fake_ucmd *ucmd, uint32_t id,
			      enum fake_obj_type type)
{
	if (!fake_object_get(ucmd->ictx, id, type))
		return -ENOENT;
	return -EOPNOTSUPP;
}

/*
 * Commands whose model comes later (invalidations, vIOMMUs): the checks the
 * kernel makes before its first object lookup, then that lookup. The order
 * matters: a caller probing a feature sees EOPNOTSUPP only where the kernel
 * checks the field before the lookup.
 */
static int fake_hwpt_invalidate(struct fake_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct fake_object *obj;
	int ret;

	if (cmd->__reserved) {
		ret = -EOPNOTSUPP;
	} else if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len)) {
		ret = -EINVAL;
	} else {
		obj = fake_object_get(ucmd->ictx, cmd->hwpt_id, FAKE_OBJ_ANY);
		if (!obj)
			ret = -ENOENT;
		else	/* only nested HWPTs and vIOMMUs take invalidations */
			ret = -EINVAL;
	}
	/* The kernel reports how many entries it handled, even on failure. */
	cmd->entry_num = 0;
	if (fake_ucmd_respond(ucmd))
		return -EFAULT;
	return ret;
}

static int fake_viommu_alloc(struct fake_ucmd *ucmd)
{
	struct iommu_viommu_alloc *cmd = ucmd->cmd;

	if (cmd->flags || cmd->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	return lookup_later_model(ucmd, cmd->dev_id, FAKE_OBJ_DEVICE);
}

static int fake_vdevice_alloc(struct fake_ucmd *ucmd)
{
	struct iommu_vdevice_alloc *cmd = ucmd->cmd;

	return lookup_later_model(ucmd, cmd->viommu_id, FAKE_OBJ_VIOMMU);
}

static int fake_veventq_alloc(struct fake_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved ||
	    cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth)
		return -EINVAL;
	return lookup_later_model(ucmd, cmd->viommu_id, FAKE_OBJ_VIOMMU);
}

static int fake_hw_queue_alloc(struct fake_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *cmd = ucmd->cmd;
	uint64_t last;

	if (cmd->flags || cmd->type == IOMMU_HW_QUEUE_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->length)
		return -EINVAL;
	if (__builtin_add_overflow(cmd->nesting_parent_iova, cmd->length - 1,
				   &last))
		return -EOVERFLOW;
	return lookup_later_model(ucmd, cmd->viommu_id, FAKE_OBJ_VIOMMU);
}

/* Fault queues: an object with an fd. The fd holds a user of the object and
 * a reference on the iommufd file, as the kernel's fault file does. */
static void fault_fops_release(struct fake_file *file)
{
	struct fake_fault *fault = file->private_data;
	struct fake_file *ictx_file = fault->ictx->file;

	fault->file = NULL;
	fault->obj.users--;
	fake_file_put(ictx_file);	/* may destroy the fault object */
}

static const struct fake_file_ops fake_fault_fops = {
	.name = "[iommufd-pgfault]",
	.release = fault_fops_release,
	.st_mode = 0600,	/* an anonymous inode */
	.st_rdev = 0,
};

static int fake_fault_alloc(struct fake_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct fake_ictx *ictx = ucmd->ictx;
	struct fake_fault *fault;
	struct fake_file *file;
	int fd, ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	fault = calloc(1, sizeof(*fault));
	if (!fault)
		return -ENOMEM;
	ret = fake_object_alloc(ictx, &fault->obj, FAKE_OBJ_FAULT);
	if (ret) {
		free(fault);
		return ret;
	}
	fd = fake_file_create(ictx->fake, &fake_fault_fops, fault, true, &file);
	if (fd < 0) {
		fake_object_abort(ictx, &fault->obj);
		return fd;
	}
	fault->ictx = ictx;
	fault->file = file;
	fault->obj.users++;
	fake_file_get(ictx->file);

	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = (uint32_t)fd;
	ret = fake_ucmd_respond(ucmd);
	if (ret) {
		/* The fd never reached the caller. Keep the iommufd file alive
		 * across the release of the fault file, then drop the object. */
		fake_file_get(ictx->file);
		fake_file_abort(file, fd);
		fake_object_abort(ictx, &fault->obj);
		fake_file_put(ictx->file);
		return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The dispatcher                                                      */

struct fake_ioctl_op {
	unsigned int nr;
	unsigned int since;		/* first kernel with the command */
	unsigned int min_size;		/* offsetofend of the original last field */
	/* struct size by version: the last entry with since <= kver wins */
	struct {
		unsigned int since;
		unsigned int size;
	} sizes[3];
	int (*execute)(struct fake_ucmd *ucmd);
};

#define OP(_nr, _since, _struct, _last, _fn)                                 \
	{ .nr = IOMMUFD_CMD_##_nr, .since = (_since),                        \
	  .min_size = offsetofend(struct _struct, _last),                    \
	  .sizes = { { (_since), sizeof(struct _struct) } }, .execute = (_fn) }

static const struct fake_ioctl_op fake_ioctl_ops[] = {
	OP(DESTROY, V(6, 2), iommu_destroy, id, fake_destroy),
	OP(IOAS_ALLOC, V(6, 2), iommu_ioas_alloc, out_ioas_id,
	   fake_ioas_alloc_ioctl),
	OP(IOAS_ALLOW_IOVAS, V(6, 2), iommu_ioas_allow_iovas, allowed_iovas,
	   fake_ioas_allow_iovas),
	OP(IOAS_COPY, V(6, 2), iommu_ioas_copy, src_iova, fake_ioas_copy),
	OP(IOAS_IOVA_RANGES, V(6, 2), iommu_ioas_iova_ranges,
	   out_iova_alignment, fake_ioas_iova_ranges),
	OP(IOAS_MAP, V(6, 2), iommu_ioas_map, iova, fake_ioas_map),
	OP(IOAS_UNMAP, V(6, 2), iommu_ioas_unmap, length, fake_ioas_unmap),
	OP(OPTION, V(6, 2), iommu_option, val64, fake_option),
	OP(VFIO_IOAS, V(6, 2), iommu_vfio_ioas, __reserved, fake_vfio_ioas),
	{ .nr = IOMMUFD_CMD_HWPT_ALLOC, .since = V(6, 6),
	  .min_size = offsetofend(struct iommu_hwpt_alloc, __reserved),
	  .sizes = { { V(6, 6), offsetofend(struct iommu_hwpt_alloc, __reserved) },
		     { V(6, 7), offsetofend(struct iommu_hwpt_alloc, data_uptr) },
		     { V(6, 11), sizeof(struct iommu_hwpt_alloc) } },
	  .execute = fake_hwpt_alloc_ioctl },
	{ .nr = IOMMUFD_CMD_GET_HW_INFO, .since = V(6, 6),
	  .min_size = offsetofend(struct iommu_hw_info, __reserved),
	  .sizes = { { V(6, 6), offsetofend(struct iommu_hw_info, __reserved) },
		     { V(6, 7), sizeof(struct iommu_hw_info) } },
	  .execute = fake_get_hw_info_ioctl },
	OP(HWPT_SET_DIRTY_TRACKING, V(6, 7), iommu_hwpt_set_dirty_tracking,
	   __reserved, fake_hwpt_set_dirty_tracking_ioctl),
	OP(HWPT_GET_DIRTY_BITMAP, V(6, 7), iommu_hwpt_get_dirty_bitmap, data,
	   fake_hwpt_get_dirty_bitmap_ioctl),
	OP(HWPT_INVALIDATE, V(6, 8), iommu_hwpt_invalidate, __reserved,
	   fake_hwpt_invalidate),
	OP(FAULT_QUEUE_ALLOC, V(6, 11), iommu_fault_alloc, out_fault_fd,
	   fake_fault_alloc),
	OP(IOAS_MAP_FILE, V(6, 13), iommu_ioas_map_file, iova,
	   fake_ioas_map_file),
	{ .nr = IOMMUFD_CMD_VIOMMU_ALLOC, .since = V(6, 13),
	  .min_size = offsetofend(struct iommu_viommu_alloc, out_viommu_id),
	  .sizes = { { V(6, 13),
		       offsetofend(struct iommu_viommu_alloc, out_viommu_id) },
		     { V(6, 17), sizeof(struct iommu_viommu_alloc) } },
	  .execute = fake_viommu_alloc },
	OP(VDEVICE_ALLOC, V(6, 13), iommu_vdevice_alloc, virt_id,
	   fake_vdevice_alloc),
	OP(IOAS_CHANGE_PROCESS, V(6, 14), iommu_ioas_change_process,
	   __reserved, fake_ioas_change_process),
	OP(VEVENTQ_ALLOC, V(6, 15), iommu_veventq_alloc, out_veventq_fd,
	   fake_veventq_alloc),
	OP(HW_QUEUE_ALLOC, V(6, 17), iommu_hw_queue_alloc, length,
	   fake_hw_queue_alloc),
};

/* Big enough for any command struct (the kernel's union ucmd_buffer). */
union fake_ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hw_info info;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_ioas_map_file map_file;
	struct iommu_viommu_alloc viommu;
	struct iommu_hw_queue_alloc hw_queue;
	uint64_t raw[8];
};

static unsigned int op_size(const struct fake_ioctl_op *op, unsigned int kver)
{
	unsigned int size = 0;

	for (size_t i = 0; i < ARRAY_SIZE(op->sizes) && op->sizes[i].size; i++)
		if (kver >= op->sizes[i].since)
			size = op->sizes[i].size;
	return size;
}

int fake_ucmd_respond(struct fake_ucmd *ucmd)
{
	size_t len = ucmd->user_size < ucmd->ksize ? ucmd->user_size :
						     ucmd->ksize;

	return fake_copy_to_user(ucmd->ubuffer, ucmd->cmd, len);
}

/* copy_struct_from_user(): bytes beyond what the kernel knows must be 0. */
static int check_zeroed_user(const char *uaddr, size_t len)
{
	unsigned char chunk[64];

	while (len) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

		if (fake_copy_from_user(chunk, uaddr, n))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			if (chunk[i])
				return -E2BIG;
		uaddr += n;
		len -= n;
	}
	return 0;
}

/* The VFIO type1 container emulation on an iommufd (type1.c). */
static long fake_iommufd_vfio_ioctl(struct fake_ictx *ictx, unsigned long cmd,
				    void *arg)
{
	return fake_vfio_compat_ioctl(ictx, cmd, arg);
}

static long iommufd_fops_ioctl(struct fake_file *file, unsigned long cmd,
			       void *arg)
{
	struct fake_ictx *ictx = file->private_data;
	unsigned int kver = ictx->fake->kver;
	const struct fake_ioctl_op *op = NULL;
	union fake_ucmd_buffer buf;
	struct fake_ucmd ucmd = {
		.ictx = ictx,
		.ubuffer = arg,
		.cmd = &buf,
		.kver = kver,
	};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(fake_ioctl_ops); i++) {
		if (fake_ioctl_ops[i].nr == nr &&
		    kver >= fake_ioctl_ops[i].since) {
			op = &fake_ioctl_ops[i];
			break;
		}
	}
	/* Outside the command table of this kernel: VFIO compatibility. */
	if (!op)
		return fake_iommufd_vfio_ioctl(ictx, cmd, arg);

	if (fake_copy_from_user(&ucmd.user_size, arg, sizeof(ucmd.user_size)))
		return -EFAULT;
	if (cmd != (unsigned long)_IO(IOMMUFD_TYPE, nr))
		return -ENOTTY;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;

	ucmd.ksize = op_size(op, kver);
	memset(&buf, 0, sizeof(buf));
	if (fake_copy_from_user(&buf, arg, ucmd.user_size < ucmd.ksize ?
						   ucmd.user_size : ucmd.ksize))
		return -EFAULT;
	if (ucmd.user_size > ucmd.ksize) {
		ret = check_zeroed_user((const char *)arg + ucmd.ksize,
					ucmd.user_size - ucmd.ksize);
		if (ret)
			return ret;
	}
	return op->execute(&ucmd);
}

/* ------------------------------------------------------------------ */
/* The file                                                            */

static int iommufd_fops_mmap(struct fake_file *file, size_t length, int prot,
			     int flags, off_t offset, void **out)
{
	struct fake_ictx *ictx = file->private_data;

	(void)out;
	if (!length || (offset & (off_t)(ictx->fake->page_size - 1)))
		return -EINVAL;
	/* iommufd has mmap (for HW queue MMIO) only since 6.17 */
	if (ictx->fake->kver < V(6, 17))
		return -ENODEV;
	if ((flags & MAP_TYPE) != MAP_SHARED)
		return -EINVAL;
	if (prot & PROT_EXEC)
		return -EPERM;
	return -ENXIO;	/* no object has exposed an MMIO region */
}

static void iommufd_fops_release(struct fake_file *file)
{
	struct fake_ictx *ictx = file->private_data;

	/*
	 * Destroy depth first, as the kernel does: objects only the table
	 * holds go first, which drops the users of what they held.
	 */
	while (ictx->nr_objects) {
		unsigned int destroyed = 0;

		for (uint32_t id = 1; id < ictx->nr_slots; id++) {
			struct fake_object *obj = ictx->objects[id];

			if (!obj || obj->users != 1)
				continue;
			object_unlink(ictx, obj);
			fake_object_ops[obj->type].destroy(ictx, obj);
			destroyed++;
		}
		if (!destroyed)
			break;	/* a users count is wrong: leak, do not crash */
	}
	free(ictx->objects);
	free(ictx);
}

const struct fake_file_ops fake_iommufd_fops = {
	.name = "iommufd",
	.ioctl = iommufd_fops_ioctl,
	.mmap = iommufd_fops_mmap,
	.release = iommufd_fops_release,
	.st_mode = S_IFCHR | 0666,
	.st_rdev = FAKE_MKDEV(FAKE_MISC_MAJOR, FAKE_IOMMU_MINOR),
};

struct fake_ictx *fake_ictx_from_fd(struct iommufd_fake *fake, int fd,
				    int *err)
{
	struct fake_file *file = fake_fd_lookup(fake, fd, err);

	if (!file) {
		if (!*err)
			*err = -EBADFD;	/* a file, not ours */
		return NULL;
	}
	if (file->ops != &fake_iommufd_fops) {
		*err = -EBADFD;
		return NULL;
	}
	fake_file_get(file);
	return file->private_data;
}

int fake_iommufd_open(struct iommufd_fake *fake, int flags)
{
	struct fake_ictx *ictx;
	struct fake_file *file;
	int fd;

	ictx = calloc(1, sizeof(*ictx));
	if (!ictx)
		return -ENOMEM;
	ictx->fake = fake;
	fd = fake_file_create(fake, &fake_iommufd_fops, ictx,
			      flags & O_CLOEXEC, &file);
	if (fd < 0) {
		free(ictx);
		return fd;
	}
	ictx->file = file;
	return fd;
}

/*
 * /dev/vfio/vfio when iommufd provides it: an iommufd whose node is the
 * VFIO misc device, accounting pins as VFIO does (IOPT_PAGES_ACCOUNT_MM).
 */
int fake_iommufd_open_vfio_compat(struct iommufd_fake *fake, int flags)
{
	int err, fd = fake_iommufd_open(fake, flags);
	struct fake_file *file;

	if (fd < 0)
		return fd;
	file = fake_fd_lookup(fake, fd, &err);
	if (file) {
		file->st_rdev = FAKE_MKDEV(FAKE_MISC_MAJOR, FAKE_VFIO_MINOR);
		((struct fake_ictx *)file->private_data)->account_mm = true;
	}
	return fd;
}
