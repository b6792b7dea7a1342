/*
 * escape_tap.c — the escape test's reporting: main prints TAP lines; the
 * sandboxed child, which may not print, sends each result down a pipe to
 * main as "1 desc" or "0 desc".
 */
#define _GNU_SOURCE
#include "escape.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int			escape_report_fd = -1;	/* the sandboxed child's results, to main */
static int	test_no = 0;
static int	failures = 0;

/* Print one TAP line (main side). */
void
tap(bool ok, const char *desc)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, desc);
	fflush(stdout);
	if (!ok)
		failures++;
}

/* Child side: send one result to main ("1 desc" or "0 desc"). */
void
result(bool ok, const char *fmt,...)
{
	char		line[512];
	va_list		ap;
	int			n;

	line[0] = ok ? '1' : '0';
	line[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(line + 2, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int) sizeof(line) - 4)
		n = (int) sizeof(line) - 4;
	line[2 + n] = '\n';
	if (write(escape_report_fd, line, 3 + n) < 0)
		_exit(99);
}

/* An escape attempt: rc < 0 means refused (good). */
void
refused(const char *what, long rc)
{
	int			e = errno;

	if (rc < 0)
		result(true, "%s refused (%s)", what, strerrorname_np(e) ? strerrorname_np(e) : "?");
	else
		result(false, "%s refused — it SUCCEEDED (returned %ld)", what, rc);
}

/* The address of a Unix socket at path. */
void
unix_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strncpy(sun->sun_path, path, sizeof(sun->sun_path) - 1);
}

/* How many TAP lines main printed. */
int
tap_count(void)
{
	return test_no;
}

/* How many of them were "not ok". */
int
tap_failures(void)
{
	return failures;
}

/* Write a small file. */
void
put_file(const char *path, const char *content)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL || fputs(content, f) < 0 || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
}
