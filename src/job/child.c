/*
 * child.c — fork+exec of the transcoder. Between fork and exec only
 * async-signal-safe calls: reset every signal to its default, empty the mask,
 * die with the parent (PR_SET_PDEATHSIG), lower the priority, set resource
 * limits, close inherited descriptors, exec; on any failure _exit() (never
 * exit(): the parent's atexit hooks, Postgres' among them, must not run in
 * the child). No Postgres calls: the job engine runs it in any host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* pipe2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

/* The helper's whole environment. */
static char *const child_env[] = {"LC_ALL=C", NULL};

/*
 * Close every descriptor from 3 up (in the child, async-signal-safe):
 * close_range, or one by one where it is missing or fails. False if one
 * could not be closed.
 */
static bool
close_inherited(void)
{
	struct rlimit rl;
	int			fd,
				max = 65536;

	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return true;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t) (1 << 20))
		max = (int) rl.rlim_max;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t) (1 << 20))
		max = (int) rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		if (close(fd) != 0 && errno != EBADF && errno != EINTR)
			return false;
	return true;
}

/* Signal the child's process group (its own pid), or the child alone if it has none yet. */
static void
signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) != 0 && errno == ESRCH)
		(void) kill(pid, sig);	/* between fork and setsid */
}

/* In the child: what happens between fork and exec (async-signal-safe calls only); never returns. */
static void
exec_child(char *const argv[], const vtp_child_limits *lim, pid_t parent, int devnull, int out, int errfd)
{
	struct rlimit rl;
	sigset_t	all;
	int			sig;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setsid() < 0)
		_exit(126);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(126);
	/* stderr too goes to a pipe: the worker bounds it, never the server log */
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	if (!close_inherited())
		_exit(126);
	setpriority(PRIO_PROCESS, 0, lim->nice);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	if (lim->cpu_seconds > 0)
	{
		rl.rlim_cur = (rlim_t) lim->cpu_seconds;
		rl.rlim_max = (rlim_t) lim->cpu_seconds + 5;
		setrlimit(RLIMIT_CPU, &rl);
	}
	if (lim->memory_mb > 0)
	{
		rl.rlim_cur = rl.rlim_max = (rlim_t) lim->memory_mb * 1024 * 1024;
		setrlimit(RLIMIT_AS, &rl);
	}
	if (lim->file_mb > 0)
	{
		rl.rlim_cur = rl.rlim_max = (rlim_t) lim->file_mb * 1024 * 1024;
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	execve(argv[0], argv, child_env);
	_exit(127);
}

/* Sleep ms milliseconds (the helper's group is being stopped: a few seconds at most). */
static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Fork and exec the helper (see the file header for what happens in between). */
int
vtp_child_start(vtp_child *ch, char *const argv[], const vtp_child_limits *lim, char *err, size_t errlen)
{
	int			pfd[2],
				efd[2];
	int			devnull;
	pid_t		parent = getpid();
	pid_t		pid;

	memset(ch, 0, sizeof(*ch));
	ch->pid = -1;
	ch->out_fd = ch->err_fd = -1;
	if (pipe2(pfd, O_CLOEXEC) != 0)
	{
		snprintf(err, errlen, "could not create a pipe: %m");
		return -1;
	}
	if (pipe2(efd, O_CLOEXEC) != 0)
	{
		snprintf(err, errlen, "could not create a pipe: %m");
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
	{
		snprintf(err, errlen, "could not open /dev/null: %m");
		close(pfd[0]);
		close(pfd[1]);
		close(efd[0]);
		close(efd[1]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		exec_child(argv, lim, parent, devnull, pfd[1], efd[1]);
	close(pfd[1]);
	close(efd[1]);
	close(devnull);
	if (pid < 0)
	{
		snprintf(err, errlen, "could not fork the transcoder: %m");
		close(pfd[0]);
		close(efd[0]);
		return -1;
	}
	ch->pid = pid;
	ch->out_fd = pfd[0];
	ch->err_fd = efd[0];
	fcntl(ch->out_fd, F_SETFL, fcntl(ch->out_fd, F_GETFL) | O_NONBLOCK);
	fcntl(ch->err_fd, F_SETFL, fcntl(ch->err_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Reap if it has exited, killing its group first. */
bool
vtp_child_poll(vtp_child *ch)
{
	int			st;
	pid_t		r;

	siginfo_t	si;

	if (ch->reaped || ch->pid <= 0)
		return true;
	/* exited? look without reaping: while it is a zombie its pid (= its group) cannot be reused */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != ch->pid)
		return false;
	(void) kill(-ch->pid, SIGKILL);	/* what is left of its group: grandchildren */
	r = waitpid(ch->pid, &st, WNOHANG);
	if (r == ch->pid)
	{
		ch->status = st;
		ch->reaped = true;
	}
	return ch->reaped;
}

/* Stop the helper's group: SIGTERM, a grace period, SIGKILL; reap; close the pipes. */
void
vtp_child_stop(vtp_child *ch, int grace_ms)
{
	int			waited = 0;

	if (ch->pid > 0 && !vtp_child_poll(ch))
	{
		signal_group(ch->pid, SIGTERM);
		while (!vtp_child_poll(ch) && waited < grace_ms)
		{
			sleep_ms(50);
			waited += 50;
		}
		if (!ch->reaped)
		{
			signal_group(ch->pid, SIGKILL);	/* our own child's group, never a postmaster child */
			while (!vtp_child_poll(ch))
				sleep_ms(20);
		}
	}
	if (ch->out_fd >= 0)
		close(ch->out_fd);
	if (ch->err_fd >= 0)
		close(ch->err_fd);
	ch->out_fd = ch->err_fd = -1;
}

/* How the helper ended, in words. */
const char *
vtp_child_describe(const vtp_child *ch, char *buf, size_t len)
{
	if (!ch->reaped)
		snprintf(buf, len, "still running");
	else if (WIFEXITED(ch->status))
		snprintf(buf, len, "exit code %d", WEXITSTATUS(ch->status));
	else if (WIFSIGNALED(ch->status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(ch->status), strsignal(WTERMSIG(ch->status)));
	else
		snprintf(buf, len, "status %d", ch->status);
	return buf;
}
