/*
 * worker.h — what vtp's background workers share: start-up, the one loop
 * skeleton each worker runs with its own step (vtp_worker_loop), the latch
 * wait that handles SIGHUP/SIGTERM, and readiness checks.
 */
#ifndef VTP_WORKER_H
#define VTP_WORKER_H

#include "aws_glue.h"
#include "catalog.h"
#include "settings.h"
#include "slots.h"
#include "worker_main.h"

#include "storage/latch.h"

/* When the loop asks vtp_worker_ready whether the worker may work. */
typedef enum vtp_ready_check
{
	VTP_READY_EVERY_ROUND,		/* before every step; not ready: wait, ask again, no step */
	VTP_READY_ON_RELOAD			/* before start, then after a SIGHUP or a wait that timed
								 * out (on_ready when it says yes); the step runs either way */
} vtp_ready_check;

/*
 * A worker's loop, as vtp_worker_loop runs it. Each round: the loop's
 * memory context is reset, the latch reset, signals polled (SIGTERM exits,
 * SIGHUP reloads), readiness checked, then step does one round of work and
 * says how long to wait for the latch (and sock) before the next.
 */
typedef struct vtp_worker_def
{
	const char *name;			/* "vtp ingest": log lines and waiting messages */
	bool		need_events;	/* ready also needs vtp.events_queue_url */
	vtp_ready_check ready_check;
	long		not_ready_ms;	/* the wait between readiness checks while not ready */
	pgsocket	sock;			/* also woken when readable; PGINVALID_SOCKET: the latch alone */
	/* once, when first ready, in the caller's memory context; NULL: nothing */
	void		(*start) (aws_client *c, void *arg);
	/* VTP_READY_ON_RELOAD: readiness said yes again (settings may have changed); NULL: nothing */
	void		(*on_ready) (aws_client *c, void *arg);
	/* one round of work; returns the ms to wait before the next round (<= 0: none) */
	long		(*step) (aws_client *c, void *arg);
	void	   *arg;			/* passed to the callbacks */
} vtp_worker_def;

/* Signal handlers, the database connection, a pinned search_path, the slot: call first. */
extern void vtp_worker_start(const char *role, const char *activity);

/* Run def's loop until SIGTERM (exit 1) or postmaster death; never returns. */
extern void vtp_worker_loop(const vtp_worker_def *def) pg_attribute_noreturn();

/* Wait up to ms for the latch, then reset it and poll signals (SIGTERM exits). */
extern void vtp_worker_wait(long ms);

/* Exit on SIGTERM, reload on SIGHUP, note changed credentials; CHECK_FOR_INTERRUPTS first. */
extern void vtp_worker_poll_signals(void);

/* Reload the configuration if SIGHUP asked (also an AWS client's between-polls callback). */
extern void vtp_worker_reload_if_asked(void *arg);

/* Configured, installed and with credentials (set up into c)? Else says why, once per reason. */
extern bool vtp_worker_ready(const char *role, bool need_events, aws_client *c);

/* What the worker does now, for pg_stat_activity.query. */
extern void vtp_worker_activity(const char *fmt,...) pg_attribute_printf(1, 2);

#endif
