/* SPDX-License-Identifier: MIT */
/*
 * How the step-by-step examples report: one line per step, so a person and a
 * script (tests/vm/run-example.sh) read the same thing; exit 77 is a skip,
 * the convention of meson and of the lab.
 */
#ifndef EXAMPLE_STEPS_H
#define EXAMPLE_STEPS_H

#include <stdarg.h>
#include <stdio.h>

#define EXIT_SKIP 77

/* "<step>: ok (detail)" */
__attribute__((format(printf, 2, 3)))
static inline void ok(const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ok", step);
	if (fmt) {
		printf(" (");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(")");
	}
	printf("\n");
	fflush(stdout);
}

/* "<step>: FAILED: why" (or "SKIPPED: why"); returns @status. */
__attribute__((format(printf, 3, 4)))
static inline int failed(int status, const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s: ", step, status == EXIT_SKIP ? "SKIPPED" : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return status;
}

#endif
