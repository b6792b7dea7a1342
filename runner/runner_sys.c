/*
 * runner_sys.c — the runner's process plumbing: SIGTERM/SIGINT (stop),
 * SIGHUP (read the settings again) and, in the supervisor, SIGCHLD, each
 * turned into a flag and a byte on a self-pipe so that every poll(2) wakes
 * at once; the waits themselves; the flags libcurl's progress callback
 * reads (a stop aborts transfers in flight); the clock; and the log: plain
 * lines on stderr, "vtp-runner NAME: message", one line each (journald
 * keeps them as they are). Nothing here calls the rest of the runner.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* pipe2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

static volatile sig_atomic_t stop_flag = 0;
static volatile sig_atomic_t reload_flag = 0;
static volatile sig_atomic_t child_flag = 0;
static volatile sig_atomic_t never_abort = 0;
static int	wake_pipe[2] = {-1, -1};
static char log_name[RUNNER_NAME_MAX + 16] = "";

/* Async-signal-safe: a flag, and a byte that wakes whatever polls. */
static void
on_signal(int sig)
{
	int			save = errno;

	if (sig == SIGTERM || sig == SIGINT)
		stop_flag = 1;
	else if (sig == SIGHUP)
		reload_flag = 1;
	else if (sig == SIGCHLD)
		child_flag = 1;
	if (wake_pipe[1] >= 0)
		(void) !write(wake_pipe[1], "x", 1);	/* full: a wake-up is pending anyway */
	errno = save;
}

/* A fresh self-pipe (non-blocking, closed on exec: the helper never holds it). */
static void
make_pipe(void)
{
	if (wake_pipe[0] >= 0)
	{
		close(wake_pipe[0]);
		close(wake_pipe[1]);
	}
	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
	{
		fprintf(stderr, "vtp-runner: could not create a pipe: %s\n", strerror(errno));
		exit(RUNNER_EXIT_ERROR);
	}
}

static void
handle(int sig, void (*fn) (int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void) sigaction(sig, &sa, NULL);
}

/*
 * The handlers, before anything else runs. SIGPIPE is ignored (a closed
 * socket is an error return, not a death; the helper gets every signal back
 * at its default in child.c); SIGCHLD is watched by the supervisor only: a
 * slot reaps its helper with waitpid itself.
 */
void
runner_sys_init(bool supervisor)
{
	make_pipe();
	handle(SIGTERM, on_signal);
	handle(SIGINT, on_signal);
	handle(SIGHUP, on_signal);
	handle(SIGPIPE, SIG_IGN);
	handle(SIGCHLD, supervisor ? on_signal : SIG_DFL);
}

/* In a slot just forked by the supervisor: its own pipe and flags, SIGCHLD left alone. */
void
runner_sys_after_fork(void)
{
	make_pipe();
	reload_flag = child_flag = 0;
	handle(SIGCHLD, SIG_DFL);
}

bool
runner_stopping(void)
{
	return stop_flag != 0;
}

/* Stop as SIGTERM would (a slot that must not go on). */
void
runner_request_stop(void)
{
	stop_flag = 1;
}

/* True once after each SIGHUP. */
bool
runner_take_reload(void)
{
	bool		r = reload_flag != 0;

	reload_flag = 0;
	return r;
}

/* True once after each SIGCHLD (the supervisor reaps then). */
bool
runner_take_child_exit(void)
{
	bool		r = child_flag != 0;

	child_flag = 0;
	return r;
}

/* Empty the self-pipe: the flags say what happened. */
static void
drain(void)
{
	char		buf[64];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * Wait up to timeout_ms (< 0: no limit) for fd1/fd2 (-1: none) to be ready
 * for ev1/ev2, or for a signal. Returns RUNNER_FD1 | RUNNER_FD2 for those
 * ready (an error or hang-up counts as ready: the reader finds out), 0 on a
 * timeout or a signal.
 */
int
runner_poll(long timeout_ms, int fd1, short ev1, int fd2, short ev2)
{
	struct pollfd p[3];
	int			n = 0,
				i1 = -1,
				i2 = -1,
				ready = 0;

	p[n].fd = wake_pipe[0];
	p[n++].events = POLLIN;
	if (fd1 >= 0)
	{
		i1 = n;
		p[n].fd = fd1;
		p[n++].events = ev1;
	}
	if (fd2 >= 0)
	{
		i2 = n;
		p[n].fd = fd2;
		p[n++].events = ev2;
	}
	if (poll(p, n, timeout_ms > INT32_MAX ? INT32_MAX : (int) timeout_ms) <= 0)
		return 0;				/* a timeout, or EINTR: the caller looks at the flags */
	if (p[0].revents)
		drain();
	if (i1 >= 0 && p[i1].revents)
		ready |= RUNNER_FD1;
	if (i2 >= 0 && p[i2].revents)
		ready |= RUNNER_FD2;
	return ready;
}

/* Milliseconds on the monotonic clock (intervals only). */
int64_t
runner_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Calls that must run to their end even when stopping (handing a task back). */
void
runner_never_abort(bool on)
{
	never_abort = on;
}

/* libcurl's progress callback asks this: flags only. */
int
runner_abort_check(void *arg)
{
	return !never_abort && stop_flag;
}

/* A retry's sleep, cut short by a stop: nonzero if stopped. */
int
runner_sleep_ms(long ms, void *arg)
{
	int64_t		until = runner_now_ms() + ms;
	int64_t		left;

	while (!runner_abort_check(arg) && (left = until - runner_now_ms()) > 0)
		(void) runner_poll(left, -1, 0, -1, 0);
	return runner_abort_check(arg);
}

/* The name log lines carry from now on. */
void
runner_log_as(const char *name)
{
	vtp_strlcpy(log_name, name, sizeof(log_name));
}

/*
 * One line on stderr: "vtp-runner NAME: [warning: ]text" with control
 * characters made spaces (what the engine logs may quote a task's body).
 * The engine's "vtp transcode: " prefix is dropped: the line has its own.
 */
static void
put_line(job_level level, const char *label, const char *text)
{
	char		line[2048];
	size_t		i;

	if (strncmp(text, "vtp transcode: ", 15) == 0)
		text += 15;
	snprintf(line, sizeof(line), "vtp-runner%s%s: %s%s%s", log_name[0] ? " " : "", log_name,
			 level == JOB_WARNING && !label ? "warning: " : "", label ? label : "", text);
	for (i = 0; line[i]; i++)
		if ((unsigned char) line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	fprintf(stderr, "%s\n", line);
}

/* A message with its detail and hint, each on a line of its own. */
void
runner_log_full(job_level level, const char *msg, const char *detail, const char *hint)
{
	put_line(level, NULL, msg);
	if (detail)
		put_line(level, "detail: ", detail);
	if (hint)
		put_line(level, "hint: ", hint);
}

void
runner_log(job_level level, const char *fmt,...)
{
	va_list		ap;
	char		msg[2048];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	runner_log_full(level, msg, NULL, NULL);
}
