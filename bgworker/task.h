/*
 * task.h — one transcode task as the transcode worker sees it.
 */
#ifndef VTP_TASK_H
#define VTP_TASK_H

#include "worker.h"
#include "../src/ladder.h"

typedef enum task_outcome
{
	TASK_OK,
	TASK_PERMANENT,				/* the video can never succeed: Failed now */
	TASK_TRANSIENT,				/* try again later, up to vtp.max_attempts */
	TASK_SHUTDOWN				/* the worker is stopping: hand the task back */
} task_outcome;

typedef struct task
{
	aws_client *c;
	const sqs_message *msg;
	char		id[37];
	int			attempts;
	char	   *bucket;
	char	   *key;
	char	   *dir;			/* scratch directory of this task */
	char	   *source;			/* downloaded source file */
	vtp_rendition r[LADDER_MAX_RUNGS];
	int			nr;
	double		cpu_seconds;
	double		wall_seconds;
	double		progress;
	double		eta_seconds;	/* -1 unknown */
	time_t		last_heartbeat;
	time_t		last_progress;
	char		err_code[64];
	char		err_msg[1024];
	vbuf		facts;			/* probe and plan, as JSON */
} task;

/* Keep the lease and the message alive; write progress. Never ERRORs on SQS trouble. */
extern void task_heartbeat(task *t, bool force);

/* Run vtp-transcode on t->source into t->dir (supervise.c). */
extern task_outcome task_transcode(task *t);

extern void task_set_error(task *t, const char *code, const char *fmt,...) pg_attribute_printf(3, 4);

#endif
