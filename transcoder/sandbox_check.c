/*
 * sandbox_check.c — vtp-transcode --check-sandbox: enter the sandbox exactly
 * as a transcode does (tc_sandbox_enter) and report, as one JSON line, what
 * it refuses and what it still allows. The full attack list lives in the
 * escape test (test/sandbox/escape.c); this is the operator's quick look.
 */
#define _GNU_SOURCE
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* "allowed", "refused" (EPERM/EACCES) or the errno's own words. */
static const char *
outcome(long rc)
{
	return rc >= 0 ? "allowed" : (errno == EACCES || errno == EPERM) ? "refused" : strerror(errno);
}

/* Close fd if the call that made it succeeded; keep errno. */
static void
close_if(long fd)
{
	int			saved = errno;

	if (fd >= 0)
		close((int) fd);
	errno = saved;
}

/* --check-sandbox: what the sandbox refuses, as one JSON line. */
int
tc_check_sandbox(const char *input, const char *outdir, tc_sandbox_mode mode)
{
	char		err[512];
	tc_sandbox_info info;
	tc_sandbox_check c;
	pid_t		parent = getppid();
	long		rc;
	char	   *const argv[] = {"/bin/true", NULL};
	char		params[120];
	char		path[4096];

	if (tc_sandbox_enter(input, outdir, mode, &info, err, sizeof(err)) != 0)
	{
		tc_report_error(VTP_HELPER_ERR_SANDBOX_UNAVAILABLE, "%s", err);
		return VTP_HELPER_EXIT_INTERNAL;
	}
	rc = socket(AF_INET, SOCK_STREAM, 0);
	c.socket = outcome(rc);
	close_if(rc);
	memset(params, 0, sizeof(params));
	rc = syscall(__NR_io_uring_setup, 4, params);
	c.io_uring = outcome(rc);
	close_if(rc);
	rc = execve(argv[0], argv, NULL);
	c.exec = outcome(rc);
	rc = fork();
	if (rc == 0)
		_exit(0);
	c.fork = outcome(rc);
	rc = kill(parent, 0);
	c.signal_parent = outcome(rc);
	rc = open("/etc/passwd", O_RDONLY);
	c.read_other_file = outcome(rc);
	close_if(rc);
	rc = open(input, O_RDONLY);
	c.read_source = outcome(rc);
	close_if(rc);
	snprintf(path, sizeof(path), "%s/sandbox-check", outdir);
	rc = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	c.write_outdir = outcome(rc);
	if (rc >= 0)
	{
		close((int) rc);
		unlink(path);
	}
	tc_report_sandbox_check(&info, &c);
	return VTP_HELPER_EXIT_DONE;
}
