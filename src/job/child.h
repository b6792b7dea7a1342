/*
 * child.h — run the vtp-transcode helper in a child process: fork+exec with
 * resource limits and an explicit minimal environment, in a session and
 * process group of its own, stdout and stderr read through pipes, the whole
 * group killed on demand and once the helper ends.
 */
#ifndef VTP_CHILD_H
#define VTP_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct vtp_child_limits
{
	int			nice;
	long		cpu_seconds;	/* RLIMIT_CPU, 0 = none */
	long		memory_mb;		/* RLIMIT_AS, 0 = none */
	long		file_mb;		/* RLIMIT_FSIZE: the largest file it may write, 0 = none */
} vtp_child_limits;

typedef struct vtp_child
{
	pid_t		pid;			/* also its process group and session */
	int			out_fd;			/* read end of the child's stdout, non-blocking */
	int			err_fd;			/* read end of the child's stderr, non-blocking */
	int			status;			/* waitpid status once reaped */
	bool		reaped;
} vtp_child;

/* Start argv[0] with argv and only LC_ALL=C in its environment; -1 (why in err) if it cannot be started. */
extern int	vtp_child_start(vtp_child *ch, char *const argv[], const vtp_child_limits *lim, char *err,
							size_t errlen);

/*
 * Reap without blocking; true once the child is gone. As soon as it has
 * exited, and before it is reaped, what is left of its process group is
 * killed (a grandchild cannot outlive it).
 */
extern bool vtp_child_poll(vtp_child *ch);

/* SIGTERM to the group, wait up to grace_ms, then SIGKILL; always reaps and closes the pipes. */
extern void vtp_child_stop(vtp_child *ch, int grace_ms);

/* Human-readable description of how it ended. */
extern const char *vtp_child_describe(const vtp_child *ch, char *buf, size_t len);

#endif
