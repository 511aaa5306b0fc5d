/* SPDX-License-Identifier: MIT */
/*
 * iommufd-info: what a machine offers for userspace DMA. The IOMMU units and
 * the devices behind them, the IOMMU groups (type, devices, reserved
 * regions), the devices bound to VFIO (PCI and mediated), the kernel's
 * features as the context sees them (iommufd's, or VFIO type1's on kernels
 * without iommufd) and, for each VFIO device with a device file, what its
 * IOMMU can do (type, dirty tracking, PASID width).
 *
 *   iommufd-info           text, for people
 *   iommufd-info --json    the same as one JSON document, for scripts
 *
 * Everything but the features and capabilities comes from sysfs, read where
 * the context's kernel keeps it (the fake kernel's own tree on the fake).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommufd/iommufd.h>
#include <iommufd/device.h>

#include "example-ctx.h"

#define PROG "iommufd-info"

/* What the IOMMU of one VFIO device can do, or why we do not know. */
struct caps {
	int err;		/* 0: hw valid */
	const char *why;	/* with err: what failed */
	struct iommufd_hw_info hw;
};

struct info {
	struct iommufd_ctx *ctx;	/* NULL: no iommufd here */
	int ctx_err;
	const char *root;
	struct iommufd_iommu_unit_info *units;
	size_t nr_units;
	struct iommufd_iommu_group_info *groups;
	size_t nr_groups;
	struct iommufd_vfio_device_info *devs;
	size_t nr_devs;
	struct caps *caps;		/* one per device */
};

static const char *hw_type_name(enum iommufd_hw_info_type type)
{
	switch (type) {
	case IOMMUFD_HW_INFO_NONE:
		return "none";
	case IOMMUFD_HW_INFO_INTEL_VTD:
		return "intel-vtd";
	case IOMMUFD_HW_INFO_ARM_SMMUV3:
		return "arm-smmuv3";
	case IOMMUFD_HW_INFO_TEGRA241_CMDQV:
		return "tegra241-cmdqv";
	}
	return "unknown";
}

static const char *bus_name(enum iommufd_device_bus bus)
{
	return bus == IOMMUFD_BUS_MDEV ? "mdev" : "pci";
}

static void probe_caps(struct info *in)
{
	in->caps = calloc(in->nr_devs ? in->nr_devs : 1, sizeof(*in->caps));
	if (!in->caps)
		return;
	for (size_t i = 0; i < in->nr_devs; i++) {
		const struct iommufd_vfio_device_info *d = &in->devs[i];
		struct caps *c = &in->caps[i];
		struct iommufd_device *dev;

		if (!in->ctx) {
			c->err = in->ctx_err ? in->ctx_err : -ENODEV;
			c->why = "no context";
			continue;
		}
		if (!iommufd_ctx_has_feature(in->ctx, IOMMUFD_FEATURE_HW_INFO)) {
			c->err = -EOPNOTSUPP;
			c->why = "the kernel has no IOMMU_GET_HW_INFO (iommufd, Linux 6.6+)";
			continue;
		}
		if (!d->has_cdev) {
			c->err = -ENODEV;
			c->why = "no VFIO device file (Linux 6.6+ with CONFIG_VFIO_DEVICE_CDEV)";
			continue;
		}
		c->err = iommufd_device_open(in->ctx, d->name, NULL, &dev);
		if (c->err) {
			c->why = "cannot open the device";
			continue;
		}
		c->err = iommufd_device_get_hw_info(dev, &c->hw);
		if (c->err == -ENODEV)
			c->why = "no IOMMU of its own (an emulated device)";
		else if (c->err)
			c->why = "IOMMU_GET_HW_INFO failed";
		iommufd_device_free(dev);
	}
}

/* ---------------------------------------------------------------------------
 * Text.
 */

static void print_text(const struct info *in)
{
	printf("sysfs: %s\n", in->root);

	printf("\nIOMMU units: %zu\n", in->nr_units);
	for (size_t i = 0; i < in->nr_units; i++) {
		const struct iommufd_iommu_unit_info *u = &in->units[i];

		printf("  %s:", u->name);
		for (size_t j = 0; j < u->nr_devices; j++)
			printf(" %s", u->devices[j]);
		printf("%s\n", u->nr_devices ? "" : " no devices");
		if (u->error)
			printf("    (sysfs: %s)\n", strerror(-u->error));
	}

	printf("\nIOMMU groups: %zu\n", in->nr_groups);
	for (size_t i = 0; i < in->nr_groups; i++) {
		const struct iommufd_iommu_group_info *g = &in->groups[i];

		printf("  group %u: type %s\n", g->id, g->type[0] ? g->type : "?");
		printf("    devices:");
		for (size_t j = 0; j < g->nr_devices; j++)
			printf(" %s", g->devices[j]);
		printf("%s\n", g->nr_devices ? "" : " none");
		if (!g->nr_reserved)
			printf("    reserved regions: none\n");
		for (size_t j = 0; j < g->nr_reserved; j++)
			printf("    reserved: 0x%016" PRIx64 "-0x%016" PRIx64 " %s\n",
			       g->reserved[j].start, g->reserved[j].last,
			       iommufd_resv_type_name(g->reserved[j].type));
		if (g->error)
			printf("    (sysfs: %s)\n", strerror(-g->error));
	}

	printf("\nVFIO devices: %zu\n", in->nr_devs);
	for (size_t i = 0; i < in->nr_devs; i++) {
		const struct iommufd_vfio_device_info *d = &in->devs[i];

		if (d->bus == IOMMUFD_BUS_PCI)
			printf("  %s  %04x:%04x  class %06x", d->name,
			       d->vendor_id, d->device_id, d->class_code);
		else
			printf("  %s  mdev", d->name);
		printf("  driver %s\n", d->driver[0] ? d->driver : "none");
		printf("    cdev %s", d->has_cdev ? d->cdev_path : "none");
		if (d->iommu_group >= 0)
			printf("  group %d (%s)", d->iommu_group,
			       d->group_path[0] ? d->group_path : "no group file");
		else
			printf("  no group");
		printf("  unit %s\n", d->iommu_unit[0] ? d->iommu_unit : "none");
		if (d->error)
			printf("    (sysfs: %s)\n", strerror(-d->error));
	}

	printf("\nkernel features:");
	if (!in->ctx) {
		printf(" unknown: no context (%s)\n", strerror(-in->ctx_err));
	} else {
		printf(" through %s", example_ctx_api(in->ctx));
		for (int want = 1; want >= 0; want--) {
			int n = 0;

			printf("\n  %-10s", want ? "supported:" : "missing:");
			for (int f = 0; f < IOMMUFD_FEATURE__COUNT; f++)
				if (iommufd_ctx_has_feature(in->ctx, f) == want &&
				    ++n)
					printf(" %s", iommufd_feature_name(f));
			if (!n)
				printf(" none");
		}
		printf("\n");
	}

	printf("\nIOMMU capabilities:\n");
	if (!in->nr_devs)
		printf("  no VFIO device\n");
	for (size_t i = 0; i < in->nr_devs; i++) {
		const struct caps *c = &in->caps[i];

		printf("  %s: ", in->devs[i].name);
		if (c->err) {
			printf("%s (%s)\n", c->why, strerror(-c->err));
			continue;
		}
		printf("%s, dirty tracking %s, ", hw_type_name(c->hw.type),
		       c->hw.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING ?
		       "yes" : "no");
		if (c->hw.max_pasid_log2)
			printf("PASID width %u bits\n", c->hw.max_pasid_log2);
		else
			printf("no PASID\n");
	}
}

/* ---------------------------------------------------------------------------
 * JSON, by hand: a writer that knows where the commas go.
 */

struct json {
	FILE *f;
	int depth;
	bool need_comma[16];
};

/* A string, with everything outside printable ASCII escaped: valid JSON
 * whatever bytes sysfs held. */
static void json_string(struct json *j, const char *s)
{
	fputc('"', j->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", j->f);
		else if (*p == '\t')
			fputs("\\t", j->f);
		else if (*p < 0x20 || *p > 0x7e)
			fprintf(j->f, "\\u%04x", *p);
		else
			fputc(*p, j->f);
	}
	fputc('"', j->f);
}

/* Start a member ("key": ) or an array element. */
static void json_item(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	if (j->depth)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	j->need_comma[j->depth] = true;
	if (key) {
		json_string(j, key);
		fputs(": ", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_item(j, key);
	fputc(c, j->f);
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
	bool empty = !j->need_comma[j->depth];

	j->depth--;
	if (!empty)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
}

static void json_str(struct json *j, const char *key, const char *val)
{
	json_item(j, key);
	if (val)
		json_string(j, val);
	else
		fputs("null", j->f);
}

/* A string, or null when empty. */
static void json_str_or_null(struct json *j, const char *key, const char *val)
{
	json_str(j, key, val && *val ? val : NULL);
}

static void json_int(struct json *j, const char *key, long long val)
{
	json_item(j, key);
	fprintf(j->f, "%lld", val);
}

static void json_bool(struct json *j, const char *key, bool val)
{
	json_item(j, key);
	fputs(val ? "true" : "false", j->f);
}

static void json_null(struct json *j, const char *key)
{
	json_item(j, key);
	fputs("null", j->f);
}

/* 64-bit addresses as "0x..." strings: JSON numbers are doubles. */
static void json_hex(struct json *j, const char *key, uint64_t val,
		     int width)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, val);
	json_str(j, key, buf);
}

static void json_error(struct json *j, const char *key, int err)
{
	if (err)
		json_str(j, key, strerror(-err));
	else
		json_null(j, key);
}

static void print_json(const struct info *in)
{
	struct json j = { .f = stdout };

	json_open(&j, NULL, '{');
	if (in->ctx)
		json_str(&j, "kernel", iommufd_ctx_is_fake(in->ctx) ? "fake" : "real");
	else
		json_null(&j, "kernel");
	json_str(&j, "sysfs_root", in->root);

	json_open(&j, "iommu_units", '[');
	for (size_t i = 0; i < in->nr_units; i++) {
		const struct iommufd_iommu_unit_info *u = &in->units[i];

		json_open(&j, NULL, '{');
		json_str(&j, "name", u->name);
		json_open(&j, "devices", '[');
		for (size_t k = 0; k < u->nr_devices; k++)
			json_str(&j, NULL, u->devices[k]);
		json_close(&j, ']');
		json_error(&j, "error", u->error);
		json_close(&j, '}');
	}
	json_close(&j, ']');

	json_open(&j, "iommu_groups", '[');
	for (size_t i = 0; i < in->nr_groups; i++) {
		const struct iommufd_iommu_group_info *g = &in->groups[i];

		json_open(&j, NULL, '{');
		json_int(&j, "id", g->id);
		json_str_or_null(&j, "type", g->type);
		json_open(&j, "devices", '[');
		for (size_t k = 0; k < g->nr_devices; k++)
			json_str(&j, NULL, g->devices[k]);
		json_close(&j, ']');
		json_open(&j, "reserved_regions", '[');
		for (size_t k = 0; k < g->nr_reserved; k++) {
			json_open(&j, NULL, '{');
			json_hex(&j, "start", g->reserved[k].start, 16);
			json_hex(&j, "last", g->reserved[k].last, 16);
			json_str(&j, "type",
				 iommufd_resv_type_name(g->reserved[k].type));
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_error(&j, "error", g->error);
		json_close(&j, '}');
	}
	json_close(&j, ']');

	json_open(&j, "vfio_devices", '[');
	for (size_t i = 0; i < in->nr_devs; i++) {
		const struct iommufd_vfio_device_info *d = &in->devs[i];
		const struct caps *c = &in->caps[i];

		json_open(&j, NULL, '{');
		json_str(&j, "name", d->name);
		json_str(&j, "bus", bus_name(d->bus));
		if (d->bus == IOMMUFD_BUS_PCI) {
			json_str(&j, "pci_addr", d->pci_addr);
			json_hex(&j, "vendor_id", d->vendor_id, 4);
			json_hex(&j, "device_id", d->device_id, 4);
			json_hex(&j, "class", d->class_code, 6);
		}
		json_str_or_null(&j, "driver", d->driver);
		json_str_or_null(&j, "cdev", d->has_cdev ? d->cdev_path : NULL);
		if (d->iommu_group >= 0)
			json_int(&j, "iommu_group", d->iommu_group);
		else
			json_null(&j, "iommu_group");
		json_str_or_null(&j, "group_path", d->group_path);
		json_str_or_null(&j, "iommu_unit", d->iommu_unit);
		json_error(&j, "error", d->error);
		json_open(&j, "iommu", '{');
		if (c->err) {
			json_str(&j, "type", NULL);
			json_str(&j, "unknown_because", c->why);
			json_error(&j, "error", c->err);
		} else {
			json_str(&j, "type", hw_type_name(c->hw.type));
			json_bool(&j, "dirty_tracking",
				  c->hw.capabilities & IOMMUFD_HW_CAP_DIRTY_TRACKING);
			json_int(&j, "pasid_log2", c->hw.max_pasid_log2);
		}
		json_close(&j, '}');
		json_close(&j, '}');
	}
	json_close(&j, ']');

	json_open(&j, "context", '{');
	json_bool(&j, "available", in->ctx != NULL);
	if (in->ctx) {
		json_str(&j, "api",
			 iommufd_backend_name(iommufd_ctx_backend(in->ctx)));
		json_open(&j, "features", '{');
		for (int f = 0; f < IOMMUFD_FEATURE__COUNT; f++)
			json_bool(&j, iommufd_feature_name(f),
				  iommufd_ctx_has_feature(in->ctx, f));
		json_close(&j, '}');
	} else {
		json_error(&j, "error", in->ctx_err);
	}
	json_close(&j, '}');
	json_close(&j, '}');
	fputc('\n', j.f);
}

/* ---------------------------------------------------------------------------
 * main.
 */

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", PROG, what, strerror(-err));
	return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	struct info in = { 0 };
	struct iommufd_discover_opts opts;
	bool json = false;
	int ret, status = EXIT_FAILURE;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: %s [--json]\n", PROG);
			return EXIT_SUCCESS;
		} else {
			fprintf(stderr, "usage: %s [--json]\n", PROG);
			return 2;
		}
	}

	/* No iommufd is no reason to stop: sysfs still tells a lot. With
	 * --json, stdout carries only the document. */
	in.ctx_err = example_ctx_open(PROG, json ? stderr : stdout, &in.ctx);
	in.root = example_sysfs_root(in.ctx);
	if (!in.root)	/* the fake kernel, and it failed */
		return fail("context", in.ctx_err ? in.ctx_err : -ENOENT);

	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.flags = IOMMUFD_DISCOVER_MDEV;
	opts.sysfs_root = in.root;
	ret = iommufd_discover_iommu_units(&opts, &in.units, &in.nr_units);
	if (ret) {
		fail("IOMMU units", ret);
		goto out;
	}
	ret = iommufd_discover_iommu_groups(&opts, &in.groups, &in.nr_groups);
	if (ret) {
		fail("IOMMU groups", ret);
		goto out;
	}
	ret = iommufd_discover_devices(&opts, &in.devs, &in.nr_devs);
	if (ret) {
		fail("VFIO devices", ret);
		goto out;
	}
	probe_caps(&in);
	if (!in.caps) {
		fail("capabilities", -ENOMEM);
		goto out;
	}
	if (json)
		print_json(&in);
	else
		print_text(&in);
	status = fflush(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	free(in.caps);
	iommufd_vfio_device_info_free(in.devs, in.nr_devs);
	iommufd_iommu_group_info_free(in.groups, in.nr_groups);
	iommufd_iommu_unit_info_free(in.units, in.nr_units);
	iommufd_ctx_free(in.ctx);
	return status;
}
