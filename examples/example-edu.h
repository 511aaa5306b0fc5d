/* SPDX-License-Identifier: MIT */
/*
 * Finding QEMU's edu device, for the examples that drive it: the same step,
 * the same messages and the same skip rules in each.
 */
#ifndef EXAMPLE_EDU_H
#define EXAMPLE_EDU_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <iommufd/iommufd.h>

#include "edu.h"
#include "example-ctx.h"
#include "example-steps.h"

static inline bool example_is_edu(const struct iommufd_vfio_device_info *d)
{
	return d->bus == IOMMUFD_BUS_PCI && d->vendor_id == EDU_VENDOR &&
	       d->device_id == EDU_DEVICE;
}

/*
 * Step @step: find edu (@bdf, or the first edu bound to vfio-pci) in the
 * sysfs tree that goes with *ctx, into *out, and make sure *ctx can open it:
 * on a kernel with iommufd but no VFIO device files (6.2 to 6.5) *ctx is
 * replaced by a type1 context, said on stdout. 0, or the exit status after
 * the step's FAILED/SKIPPED line (77 when this machine has no usable edu).
 * The caller prints the step's "ok" line, with what it cares to show.
 */
static inline int example_find_edu(const char *prog, const char *step,
				   struct iommufd_ctx **ctx, const char *bdf,
				   struct iommufd_vfio_device_info *out)
{
	const char *root = example_sysfs_root(*ctx);
	struct iommufd_vfio_device_info *devs = NULL;
	struct iommufd_discover_opts opts;
	size_t nr = 0, pick = SIZE_MAX;
	int ret;

	if (!root)
		return failed(EXIT_FAILURE, step, "the fake kernel has no sysfs tree");
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.sysfs_root = root;
	if (bdf) {
		ret = iommufd_discover_device_opts(&opts, bdf, out);
		if (ret == -EINVAL)
			return failed(EXIT_FAILURE, step,
				      "%s is not a PCI address", bdf);
		if (ret == -ENOENT)
			return failed(EXIT_SKIP, step, "no PCI device %s in %s",
				      bdf, root);
		if (ret)
			return failed(EXIT_FAILURE, step, "%s: %s", bdf,
				      strerror(-ret));
		if (!example_is_edu(out))
			return failed(EXIT_SKIP, step,
				      "%s is %04x:%04x, not an edu device (%04x:%04x)",
				      out->name, out->vendor_id, out->device_id,
				      EDU_VENDOR, EDU_DEVICE);
	} else {
		ret = iommufd_discover_devices(&opts, &devs, &nr);
		if (ret)
			return failed(EXIT_FAILURE, step, "discovery in %s: %s",
				      root, strerror(-ret));
		/* One bound to vfio-pci first; else say what the first is. */
		for (size_t i = 0; i < nr; i++) {
			if (!example_is_edu(&devs[i]))
				continue;
			if (pick == SIZE_MAX || (devs[i].vfio && !devs[pick].vfio))
				pick = i;
		}
		if (pick != SIZE_MAX)
			*out = devs[pick];
		iommufd_vfio_device_info_free(devs, nr);
		if (pick == SIZE_MAX)
			return failed(EXIT_SKIP, step,
				      "no PCI %04x:%04x bound to vfio-pci in %s",
				      EDU_VENDOR, EDU_DEVICE, root);
	}
	if (!out->vfio)
		return failed(EXIT_SKIP, step, "%s is bound to %s, not to vfio-pci",
			      out->name,
			      out->driver[0] ? out->driver : "no driver");
	/* iommufd needs the device file; VFIO's type1 container the group. */
	if (*ctx) {
		ret = example_ctx_for_device(prog, ctx, out->name,
					     out->has_cdev, out->group_path);
		if (ret)
			return failed(EXIT_SKIP, step,
				      "%s has no VFIO device file (CONFIG_VFIO_DEVICE_CDEV, Linux 6.6+) and no VFIO container opens its group %s: %s",
				      out->name, out->group_path,
				      strerror(-ret));
	}
	if (!out->has_cdev && (!*ctx || !out->group_path[0]))
		return failed(EXIT_SKIP, step,
			      "%s (%s, group %s) has no VFIO device file: this kernel has no CONFIG_VFIO_DEVICE_CDEV (Linux 6.6+)",
			      out->name, out->driver,
			      out->group_path[0] ? out->group_path : "none");
	return 0;
}

#endif
