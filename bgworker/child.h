/*
 * child.h — run the vtp-transcode helper in a child process: fork+exec with
 * resource limits, output read through a pipe, killed on demand.
 */
#ifndef VTP_CHILD_H
#define VTP_CHILD_H

#include <sys/types.h>

typedef struct vtp_child_limits
{
	int			nice;
	long		cpu_seconds;	/* RLIMIT_CPU, 0 = none */
	long		memory_mb;		/* RLIMIT_AS, 0 = none */
} vtp_child_limits;

typedef struct vtp_child
{
	pid_t		pid;
	int			out_fd;			/* read end of the child's stdout, non-blocking */
	int			status;			/* waitpid status once reaped */
	bool		reaped;
} vtp_child;

/* Start argv[0] with argv; ERROR if it cannot be started. */
extern void vtp_child_start(vtp_child *ch, char *const argv[], const vtp_child_limits *lim);

/* Reap without blocking; true once the child is gone. */
extern bool vtp_child_poll(vtp_child *ch);

/* SIGTERM, wait up to grace_ms, then SIGKILL; always reaps. */
extern void vtp_child_stop(vtp_child *ch, int grace_ms);

/* Human-readable description of how it ended. */
extern const char *vtp_child_describe(const vtp_child *ch, char *buf, size_t len);

#endif
