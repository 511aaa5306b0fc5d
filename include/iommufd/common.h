/* SPDX-License-Identifier: MIT */
/*
 * Conventions shared by every libiommufd object.
 *
 * Every call returns 0 (or a documented non-negative value) on success and a
 * negative errno on failure. Nothing is printed and nothing exits; diagnostics
 * go to the context's log callback.
 */
#ifndef IOMMUFD_COMMON_H
#define IOMMUFD_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOMMUFD_VERSION_MAJOR 0
#define IOMMUFD_VERSION_MINOR 1

/*
 * Options structs grow at their end. Their first member is `size_t sz`, set to
 * the caller's sizeof so a newer library can tell which fields an older caller
 * knew about, and an older library can refuse (-E2BIG) non-zero fields it does
 * not know. The kernel applies the same rule to its own structs.
 *
 *   IOMMUFD_OPTS(iommufd_ctx_opts, opts, .flags = IOMMUFD_CTX_TAKE_FD);
 */
#define IOMMUFD_OPTS(TYPE, NAME, ...)                                         \
	struct TYPE NAME = ({                                                 \
		struct TYPE __iommufd_opts;                                   \
		__builtin_memset(&__iommufd_opts, 0, sizeof(__iommufd_opts)); \
		__iommufd_opts = (struct TYPE){ __VA_ARGS__ };                \
		__iommufd_opts.sz = sizeof(struct TYPE);                      \
		__iommufd_opts;                                               \
	})

/* syslog(3) severities, so callers can forward messages unchanged. */
enum iommufd_log_level {
	IOMMUFD_LOG_ERR = 3,
	IOMMUFD_LOG_WARN = 4,
	IOMMUFD_LOG_INFO = 6,
	IOMMUFD_LOG_DEBUG = 7,
};

typedef void (*iommufd_log_fn)(void *data, enum iommufd_log_level level,
			       const char *msg);

#ifdef __cplusplus
}
#endif

#endif
