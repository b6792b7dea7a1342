/*
 * job.h — one transcode task as the transcode worker sees it: its steps
 * (transfer.c: download, upload, the original's removal; helper.c: the
 * transcoder child) and the heartbeat that keeps its lease and message.
 */
#ifndef VTP_JOB_H
#define VTP_JOB_H

#include "worker.h"
#include "transcode_settings.h"
#include "ladder.h"

typedef enum task_outcome
{
	TASK_OK,
	TASK_PERMANENT,				/* the video can never succeed: Failed now */
	TASK_TRANSIENT,				/* try again later, up to vtp.max_attempts */
	TASK_SHUTDOWN,				/* the worker is stopping: hand the task back */
	TASK_LOST					/* this attempt no longer owns the video (cancelled, deleted, taken over) */
} task_outcome;

typedef struct task
{
	aws_client *c;				/* transfers */
	aws_client	hb;				/* heartbeats while c is busy */
	const sqs_message *msg;
	char		id[VTP_UUID_SIZE];
	int			attempts;
	char	   *bucket;
	char	   *key;
	char	   *etag;			/* the announced version ("" unknown) */
	char	   *dir;			/* scratch directory of this task */
	char	   *source;			/* downloaded source file */
	char	   *out_key;		/* prefix of the renditions */
	vtp_rendition r[LADDER_MAX_RUNGS];
	int64		maxrate[LADDER_MAX_RUNGS];	/* of r[i], from the checked plan */
	int			nr;
	int			nuploaded;		/* r[0 .. nuploaded-1] are in the output bucket */
	double		cpu_seconds;
	double		wall_seconds;
	double		progress;
	double		eta_seconds;	/* -1 unknown */
	time_t		received_at;	/* when the receive that got msg began (SQS counts from there) */
	bool		msg_gone;		/* msg given up before SQS's 12 h limit: the lease alone holds the video */
	time_t		last_heartbeat;
	time_t		last_progress;
	bool		lost;			/* the lease could not be renewed: stop */
	pid_t		child_pid;		/* the transcoder, while it runs */
	char		err_code[64];
	char		err_msg[1024];
	vbuf		facts;			/* probe and plan, as JSON */
} task;

/*
 * Keep the lease and the message alive; write progress; answer a cancel.
 * False (and t->lost, and in-flight transfers aborted) once the video is no
 * longer this attempt's. Never ERRORs on SQS trouble.
 */
extern bool task_heartbeat(task *t, bool force);

/*
 * Would extending a message received at received_at by visibility seconds
 * at now go past max_visibility (SQS: 12 h from the receive), with a few
 * seconds to spare? (transcode.c)
 */
extern bool task_message_must_go(time_t received_at, time_t now, int visibility, int max_visibility);

/* Run vtp-transcode on t->source into t->dir (helper.c). */
extern task_outcome task_transcode(task *t);

/* The helper program (vtp.transcoder_path or $pkglib/vtp-transcode). */
extern char *task_transcoder_path(void);

/*
 * Run the helper's sandbox check in dir (a checked scratch directory): true
 * if it may transcode under vtp.sandbox; what it found in state (shown in
 * vtp_workers), a reason in why when it may not.
 */
extern bool task_check_sandbox(const char *dir, char *state, size_t statelen, char *why, size_t whylen);

/*
 * Create dir (mode 0700) or accept it as it is if it is a real directory,
 * not a symlink, owned by the server's user and writable by nobody else;
 * -1 with a reason in err otherwise.
 */
extern int	task_scratch_dir(const char *dir, char *err, size_t errlen);

/* S3 steps (transfer.c); each waits out an S3 outage up to vtp.storage_outage_timeout. */
extern task_outcome task_download(task *t);
extern task_outcome task_upload(task *t);
extern void task_remove_original(task *t);

/* The most bytes a rendition planned at maxrate over duration may have (transfer.c). */
extern int64 task_rendition_cap(int64 maxrate, double duration);

extern void task_set_error(task *t, const char *code, const char *fmt,...) pg_attribute_printf(3, 4);

#endif
