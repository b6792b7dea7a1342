/*
 * supervise.c — vtp-runner --jobs N: N job slots, each a process of its own
 * (its own connection, AWS client and helper), named NAME/1 .. NAME/N. A
 * slot dies with the supervisor (PR_SET_PDEATHSIG: SIGTERM, so it still
 * hands its task back); a slot that dies unexpectedly is started again
 * after a backoff (1 s doubling to a minute, from nothing again once it has
 * run a minute); one that exits with status 2 (the role's grants, its
 * scratch) stops them all, since no restart would help. SIGTERM/SIGINT is
 * passed on to every slot and waited for; SIGHUP too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backoff.h"
#include "runner.h"

#define STOP_GRACE_MS 60000		/* slots hand back within seconds; past this, SIGKILL */
#define RAN_LONG_MS 60000		/* a slot that ran this long starts its backoff from nothing */

typedef struct slot_proc
{
	pid_t		pid;			/* 0: not running */
	int64_t		started;
	int64_t		restart_at;		/* when not running: start it then */
	int			fails;			/* unexpected deaths in a row */
} slot_proc;

/* Fork slot index (1-based); in the child, run it to its end. */
static void
start_slot(const runner_options *opt, slot_proc *p, int index)
{
	pid_t		parent = getpid();
	pid_t		pid = fork();
	char		name[RUNNER_NAME_MAX + 16];

	if (pid < 0)
	{
		runner_log(JOB_WARNING, "could not start slot %d: %s", index, strerror(errno));
		p->restart_at = runner_now_ms() + 1000 * vtp_backoff_step(&VTP_BACKOFF_SLOT, p->fails++);
		return;
	}
	if (pid == 0)
	{
		runner_sys_after_fork();
		/* dies with the supervisor, as a stop: the task goes back */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(RUNNER_EXIT_OK);
		snprintf(name, sizeof(name), "%s/%d", opt->name, index);
		exit(runner_slot_main(opt, name, index));
	}
	p->pid = pid;
	p->started = runner_now_ms();
}

/* Say how a slot ended; true if it asks for everything to stop (status 2). */
static bool
slot_ended(slot_proc *p, int index, int status)
{
	int64_t		now = runner_now_ms();
	long		delay;

	p->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == RUNNER_EXIT_CONFIG)
	{
		runner_log(JOB_WARNING, "slot %d cannot run (exit status 2, see above): stopping every slot", index);
		return true;
	}
	if (runner_stopping())
		return false;
	if (now - p->started >= RAN_LONG_MS)
		p->fails = 0;
	delay = vtp_backoff_step(&VTP_BACKOFF_SLOT, p->fails++);
	p->restart_at = now + delay * 1000;
	if (WIFSIGNALED(status))
		runner_log(JOB_WARNING, "slot %d was killed by signal %d: starting it again in %ld s", index,
				   WTERMSIG(status), delay);
	else
		runner_log(JOB_WARNING, "slot %d exited with status %d: starting it again in %ld s", index,
				   WEXITSTATUS(status), delay);
	return false;
}

/* Reap every slot that ended; true if one asked for all to stop. */
static bool
reap(slot_proc *slots, int n)
{
	bool		stop_all = false;
	pid_t		pid;
	int			status,
				i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < n; i++)
			if (slots[i].pid == pid)
				stop_all |= slot_ended(&slots[i], i + 1, status);
	return stop_all;
}

/* Send sig to every running slot; how many there are. */
static int
signal_slots(slot_proc *slots, int n, int sig)
{
	int			i,
				live = 0;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0)
		{
			live++;
			if (sig)
				(void) kill(slots[i].pid, sig);
		}
	return live;
}

/* Run opt->jobs slots until a stop; the exit status. */
int
runner_supervise(const runner_options *opt)
{
	slot_proc  *slots = calloc(opt->jobs, sizeof(slot_proc));
	bool		config = false,
				forwarded = false;
	int64_t		stop_at = 0;
	int			i;

	if (slots == NULL)
		return RUNNER_EXIT_ERROR;
	runner_log_as(opt->name);
	runner_log(JOB_LOG, "starting %d job slots", opt->jobs);
	for (i = 0; i < opt->jobs; i++)
		start_slot(opt, &slots[i], i + 1);
	while (signal_slots(slots, opt->jobs, 0) > 0 || !(runner_stopping() || config))
	{
		(void) runner_poll(1000, -1, 0, -1, 0);
		(void) runner_take_child_exit();
		config |= reap(slots, opt->jobs);
		if ((runner_stopping() || config) && !forwarded)
		{
			runner_request_stop();
			(void) signal_slots(slots, opt->jobs, SIGTERM);
			forwarded = true;
			stop_at = runner_now_ms();
		}
		else if (forwarded && runner_now_ms() - stop_at > STOP_GRACE_MS)
			(void) signal_slots(slots, opt->jobs, SIGKILL);
		if (runner_take_reload())
			(void) signal_slots(slots, opt->jobs, SIGHUP);
		for (i = 0; i < opt->jobs && !forwarded; i++)
			if (slots[i].pid == 0 && runner_now_ms() >= slots[i].restart_at)
				start_slot(opt, &slots[i], i + 1);
	}
	free(slots);
	runner_log(JOB_LOG, "stopped");
	return config ? RUNNER_EXIT_CONFIG : RUNNER_EXIT_OK;
}
