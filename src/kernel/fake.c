/* SPDX-License-Identifier: MIT */
/*
 * The seam on the fake kernel, for LIBIOMMUFD_FAKE=1. The core library does
 * not link libiommufd-fake: an unmodified program gets it loaded here, from
 * the directory this library was loaded from (the build tree, or libdir),
 * else through the dynamic linker's search path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"

#define FAKE_SONAME "libiommufd-fake.so.0"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static iommufd_fake_kernel_fn fake_entry;

static void *open_beside_us(void)
{
	char path[PATH_MAX];
	Dl_info info;
	const char *slash;

	if (!dladdr((void *)iommufd_fake_kernel_load, &info) || !info.dli_fname)
		return NULL;
	slash = strrchr(info.dli_fname, '/');
	if (!slash)
		return NULL;
	if (snprintf(path, sizeof(path), "%.*s/%s",
		     (int)(slash - info.dli_fname), info.dli_fname,
		     FAKE_SONAME) >= (int)sizeof(path))
		return NULL;
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static void load(void)
{
	void *handle;

	/* Already in the process: the program links libiommufd-fake itself. */
	fake_entry = (iommufd_fake_kernel_fn)dlsym(RTLD_DEFAULT,
						   IOMMUFD_FAKE_KERNEL_SYMBOL);
	if (fake_entry)
		return;
	handle = open_beside_us();
	if (!handle)
		handle = dlopen(FAKE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return;
	/* Never closed: the fake kernel lives as long as the process. */
	fake_entry = (iommufd_fake_kernel_fn)dlsym(handle,
						   IOMMUFD_FAKE_KERNEL_SYMBOL);
}

int iommufd_fake_kernel_load(struct iommufd_kernel *out)
{
	pthread_once(&load_once, load);
	if (!fake_entry)
		return -ELIBACC;	/* libiommufd-fake is not installed */
	return fake_entry(out);
}
