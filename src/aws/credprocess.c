/*
 * credprocess.c — credential_process: a command run with /bin/sh -c, with
 * default signals, an empty mask, stdin from /dev/null and no fd of ours, in
 * its own process group, killed with what it started on overrun or cancel.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* pipe2, posix_spawn_file_actions_addclosefrom_np */
#endif
#include "cred_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "vtp_assert.h"

extern char **environ;

/* --- credential_process --- */

/* How the command's run ended, besides its exit status. */
typedef struct run_state
{
	bool		timed_out;
	bool		too_big;
	bool		interrupted;
} run_state;

/*
 * Start /bin/sh -c command with its stdout on out_fd: stdin from /dev/null,
 * nothing else of ours, default signals, an empty mask, its own process
 * group. 0, or an errno.
 */
static int
spawn_command(const char *command, int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t	mask,
				defaults;
	char	   *argv[] = {"/bin/sh", "-c", (char *) command, NULL};
	int			e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	/* the command gets stdin, stdout, stderr and nothing else of ours */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/*
	 * Default signals and an empty mask: a backend ignores SIGPIPE and an
	 * upload thread blocks everything, neither of which a shell pipeline
	 * expects. Its own process group, so a timeout kills what it started.
	 */
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigfillset(&defaults);
	sigdelset(&defaults, SIGKILL);
	sigdelset(&defaults, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	e = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

/* Read the command's output into b until it closes stdout, overruns, or is cancelled. */
static void
read_output(chain *ch, int fd, time_t deadline, vbuf *b, run_state *rs)
{
	for (;;)
	{
		struct pollfd p = {fd, POLLIN, 0};
		char		chunk[4096];
		ssize_t		n;
		long		left = (long) (deadline - time(NULL));

		if (cred_aborted(ch->cfg))
		{
			rs->interrupted = true;
			break;
		}
		if (left <= 0)
		{
			rs->timed_out = true;
			break;
		}
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b->len + (size_t) n > DOC_MAX)
		{
			rs->too_big = true;
			break;
		}
		vbuf_append(b, chunk, (size_t) n);
		OPENSSL_cleanse(chunk, sizeof(chunk));
		VTP_ASSERT(b->len <= DOC_MAX);
	}
}

/*
 * Reap the command: stdout closed is not the end, so wait for the exit
 * within the same deadline, killing its process group on overrun or cancel.
 */
static void
wait_exit(chain *ch, pid_t pid, time_t deadline, int *st, run_state *rs)
{
	if (rs->timed_out || rs->too_big || rs->interrupted)
		kill(-pid, SIGKILL);
	for (;;)
	{
		pid_t		r = waitpid(pid, st, WNOHANG);
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (r == 0 && (time(NULL) > deadline || cred_aborted(ch->cfg)))
		{
			rs->timed_out = !cred_aborted(ch->cfg);
			rs->interrupted = !rs->timed_out;
			kill(-pid, SIGKILL);
			while (waitpid(pid, st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		nanosleep(&ts, NULL);
	}
}

int
cred_process(chain *ch, const char *command, const char *profile, found *f)
{
	int			out[2];
	pid_t		pid;
	vbuf		b = VBUF_INIT;
	time_t		deadline = time(NULL) + PROCESS_TIMEOUT_S;
	int			st = 0,
				rc = -1,
				e;
	run_state	rs = {false, false, false};
	char		herr[256];

	if (pipe2(out, O_CLOEXEC) != 0)
	{
		cred_fail(ch, "credential_process: pipe: %s", strerror(errno));
		return -1;
	}
	e = spawn_command(command, out[1], &pid);
	close(out[1]);
	if (e != 0)
	{
		close(out[0]);
		cred_fail(ch, "credential_process of profile \"%s\": cannot start /bin/sh: %s", profile, strerror(e));
		return -1;
	}
	read_output(ch, out[0], deadline, &b, &rs);
	close(out[0]);
	wait_exit(ch, pid, deadline, &st, &rs);
	if (rs.interrupted)
		cred_fail(ch, "credential_process of profile \"%s\": interrupted (shutting down or cancelled)", profile);
	else if (rs.timed_out)
		cred_fail(ch, "credential_process of profile \"%s\" did not finish within %d s", profile, PROCESS_TIMEOUT_S);
	else if (rs.too_big)
		cred_fail(ch, "credential_process of profile \"%s\" wrote more than %d bytes", profile, DOC_MAX);
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		cred_fail(ch, "credential_process of profile \"%s\" exited with status %d", profile, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		cred_fail(ch, "credential_process of profile \"%s\" was killed by signal %d", profile, WTERMSIG(st));
	else if (aws_creds_from_process(vbuf_str(&b), b.len, &f->c, &f->expires, herr, sizeof(herr)) != 0)
		cred_fail(ch, "credential_process of profile \"%s\": %s", profile, herr);
	else
	{
		rc = 0;
		vtp_strlcpy(f->provider, "credential-process", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "profile %s", profile);
	}
	cred_wipe_vbuf(&b);
	return rc;
}
