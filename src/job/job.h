/*
 * job.h — the transcode job engine and the interface to its host, in one
 * place. The engine runs one task message end to end: it parses the task,
 * leaves other catalogs' tasks alone, claims the video through its host,
 * downloads the source, runs and watches the vtp-transcode helper, uploads
 * and verifies the renditions, publishes through its host, removes the
 * original and settles the SQS message; heartbeats keep the lease and the
 * message alive meanwhile. It includes no PostgreSQL header: it talks to S3
 * and SQS itself (src/aws) and to everything else through job_host, which
 * the transcode background worker implements with SPI and latches
 * (bgworker/transcode.c) and a runner on another machine can implement with
 * libpq and poll(2). Memory is malloc'd; nothing here may longjmp.
 */
#ifndef VTP_JOB_H
#define VTP_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "aws.h"
#include "buf.h"
#include "ladder.h"
#include "names.h"

/* How a job ended. */
typedef enum job_outcome
{
	JOB_OK,						/* Published */
	JOB_PERMANENT,				/* the video can never succeed: Failed now */
	JOB_TRANSIENT,				/* try again later, up to vtp.max_attempts */
	JOB_SHUTDOWN,				/* the host is stopping: the task was handed back */
	JOB_LOST,					/* this attempt no longer owns the video (cancelled, deleted, taken over) */
	JOB_SKIPPED					/* no job: the message named nothing to do here (dropped, foreign, held) */
} job_outcome;

typedef enum job_level
{
	JOB_LOG,					/* the server log's LOG */
	JOB_WARNING					/* WARNING */
} job_level;

/*
 * Everything the engine reads from the host's configuration (the vtp.* GUCs
 * in the background worker). The host fills it before each job and again
 * whenever its configuration is reloaded (in wait); the engine reads it
 * through job_host.set each time, never keeps a pointer into it.
 */
typedef struct job_settings
{
	char		catalog[64];	/* this catalog's identity (tasks name theirs) */
	char		temp_bucket[64];	/* originals are removed only from here */
	char		output_bucket[64];	/* renditions go here */
	char		output_prefix[1024];	/* ... under <prefix><video id>/ (an S3 key has at most 1024 bytes) */
	char		tasks_queue_url[1024];
	char		scratch_dir[1088];	/* this worker's scratch: a job works in <dir>/<video id> */
	char		transcoder_path[1088];	/* the vtp-transcode helper (a path: MAXPGPATH and a name) */
	char		renditions[1024];	/* vtp.renditions */
	char		x264_preset[32];
	double		x264_crf;
	char		x264_hd_preset[32];
	double		x264_hd_crf;
	int			threads;		/* vtp.transcode_threads, 0 = per core */
	int			max_width;
	int			max_height;
	int			max_duration_s;
	int			max_streams;
	int			max_source_size_mb;
	int			nice;
	int			memory_mb;
	int			transcode_timeout_s;
	int			visibility_timeout_s;	/* the lease and the message's invisibility */
	int			storage_outage_timeout_s;
	bool		sandbox_required;	/* vtp.sandbox = required (else best_effort) */
	int			sqs_max_visibility; /* SQS: a message is invisible at most this long after its receive */
} job_settings;

/* One rendition the helper made, as uploaded. */
typedef struct job_rendition
{
	char		name[16];
	char		file[64];		/* in the job's scratch directory */
	char	   *key;			/* in the output bucket, once uploading (malloc'd) */
	int			width;
	int			height;
	int64_t		bytes;
	int64_t		bitrate;
	double		duration;
} job_rendition;

struct job_host;

/*
 * One job: its description (the first block, set by the engine from the
 * message and the claim), what happened so far, and the engine's own state.
 * The host reads it in its callbacks; only the engine writes it.
 */
typedef struct job
{
	/* the description */
	char		id[VTP_UUID_SIZE];	/* the video */
	int			attempt;		/* the claim's attempt number */
	char		token[VTP_UUID_SIZE];	/* the claim's lease token: every later call names it */
	char	   *bucket;			/* the source */
	char	   *key;
	char	   *etag;			/* the announced version ("" unknown) */
	char	   *dir;			/* scratch directory of this job */
	char	   *source;			/* the downloaded source file in dir */
	char	   *out_key;		/* prefix of the renditions' keys */
	const char *receipt;		/* the SQS message's receipt handle */
	time_t		received_at;	/* when the receive that got it began (SQS counts from there) */

	/* what happened */
	job_rendition r[LADDER_MAX_RUNGS];
	int64_t		maxrate[LADDER_MAX_RUNGS];	/* of r[i], from the checked plan */
	int			nr;
	int			nuploaded;		/* r[0 .. nuploaded-1] are in the output bucket */
	double		cpu_seconds;
	double		wall_seconds;
	double		progress;		/* percent */
	double		eta_seconds;	/* -1 unknown */
	pid_t		child_pid;		/* the helper, while it runs */
	char		err_code[64];	/* why it failed: a reason code ... */
	char		err_msg[1024];	/* ... and words */

	/* the engine's */
	struct job_host *h;
	aws_client *c;				/* transfers: the host's client */
	aws_client	hb;				/* heartbeats while c is busy: a copy with its own connection */
	bool		claimed;
	bool		msg_gone;		/* message given up before SQS's limit: the lease alone holds the video */
	bool		lost;			/* the lease could not be renewed: stop */
	time_t		last_heartbeat;
	time_t		last_progress;
	vbuf		facts;			/* the probe line, until the plan makes the facts */
} job;

/* What the host's claim found (strings malloc'd by the host, freed by the engine). */
typedef struct job_claim
{
	bool		found;			/* the video exists */
	bool		claimed;		/* Pending → Processing: it is this job's */
	bool		held;			/* Processing under another live lease */
	bool		unanswered;		/* the catalog could not be asked: leave the message, it comes back */
	char		status[16];		/* when not claimed */
	int			attempt;
	char	   *bucket;
	char	   *key;
	char	   *etag;			/* NULL or "" unknown */
} job_claim;

/*
 * The host: what the engine needs of the place it runs in. Every member is
 * called on the host's main thread, never from inside a libcurl callback;
 * none may longjmp out (an ERROR in the background worker ends the worker,
 * as it always did). host is handed back as the first argument.
 */
typedef struct job_host
{
	/*
	 * Claim j's video (j->id) under the lease token j->token for
	 * lease_seconds (Pending → Processing, compare-and-set); fills out. A
	 * claim asked again with the same token answers as the first did.
	 */
	void		(*claim) (void *host, const job *j, int lease_seconds, job_claim *out);
	/* Is video_id this catalog's video of bucket/key? (a task naming another catalog) */
	bool		(*video_is) (void *host, const char *video_id, const char *bucket, const char *key);
	/* Renew j's lease (j->token) for lease_seconds, with j->progress and j->eta_seconds; false once lost. */
	bool		(*renew) (void *host, const job *j, int lease_seconds);
	/* True (once) if a cancel or delete of this worker's video was committed since last asked. */
	bool		(*take_cancel) (void *host);
	/* What j is doing: state for the worker's slot, activity for pg_stat_activity (NULL: keep). */
	void		(*phase) (void *host, const job *j, const char *state, const char *activity);
	/* j->progress and j->child_pid (0: the helper is gone) for the slot; activity as in phase. */
	void		(*progress) (void *host, const job *j, const char *activity);
	/* Record the checked probe and plan of j's source (JSON). */
	void		(*facts) (void *host, const job *j, const char *facts_json);
	/* Commit j Published with its renditions (the output bucket from set); false if lost. */
	bool		(*publish) (void *host, const job *j);
	/* Commit j Failed now, with j->err_code and j->err_msg. */
	void		(*fail) (void *host, const job *j);
	/*
	 * Hand j's video back (refund: this attempt does not count) with code and
	 * msg; requeue: also ask for a fresh task if it is Pending again. True if
	 * it will be retried, false if it is Failed (out of attempts).
	 */
	bool		(*release) (void *host, const job *j, const char *code, const char *msg, bool refund,
							bool requeue);
	/* The video's status into status; false if there is no such video. */
	bool		(*video_status) (void *host, const char *video_id, char *status, size_t len);
	/* Trash n objects of bucket (etag: only that version, or NULL) for j's video, why; one commit. */
	void		(*trash) (void *host, const job *j, const char *bucket, const char *const *keys, int n,
						  const char *etag, const char *why);
	/* Record that j's original is gone from the temp bucket. */
	void		(*source_deleted) (void *host, const job *j);
	/* Wake whatever empties the trash (the reconciler). */
	void		(*wake_reconciler) (void *host);
	/*
	 * Sleep up to timeout_ms, or until fd1 or fd2 (each -1: none) is
	 * readable or the host is woken (shutdown, a cancel); take pending
	 * signals (a configuration reload refills set). 0: signals only.
	 */
	void		(*wait) (void *host, long timeout_ms, int fd1, int fd2);
	/* Is the host shutting down? (read in libcurl's progress callback too: a flag only) */
	bool		(*stopping) (void *host);
	/* Log msg at level, with an optional detail and hint (NULL: none). */
	void		(*log) (void *host, job_level level, const char *msg, const char *detail, const char *hint);

	void	   *host;			/* the host's own state, passed to every member */
	const char *name;			/* the worker's name in log lines ("vtp transcode 1") */
	job_settings *set;			/* the configuration, kept current by the host */

	/* the engine's, across jobs: other catalogs' tasks seen in total and since the last WARNING */
	long		foreign_total;
	long		foreign_unreported;
	time_t		foreign_warned;
} job_host;

/*
 * Run the task in message m, received at received_at, with the host's
 * client c (its hooks are borrowed for the job and given back) to the end:
 * Published, or failed and settled with the catalog and SQS as the outcome
 * says. The message itself stays the caller's to free.
 */
extern job_outcome job_run_message(job_host *h, aws_client *c, const sqs_message *m, time_t received_at);

/*
 * Run the helper's sandbox check in dir (a checked scratch directory): true
 * if it may transcode under set->sandbox_required; what it found in state
 * (shown in vtp_workers), a reason in why when it may not.
 */
extern bool job_check_sandbox(job_host *h, const char *dir, char *state, size_t statelen, char *why,
							  size_t whylen);

/*
 * Create dir (mode 0700) or accept it as it is if it is a real directory,
 * not a symlink, owned by this process's user and writable by nobody else;
 * -1 with a reason in err otherwise.
 */
extern int	job_scratch_dir(const char *dir, char *err, size_t errlen);

/* Remove path and everything under it, never following a symlink. */
extern void job_remove_tree(const char *path);

/*
 * Would extending a message received at received_at by visibility seconds
 * at now go past max_visibility (SQS: 12 h from the receive), with a few
 * seconds to spare?
 */
extern bool job_message_must_go(time_t received_at, time_t now, int visibility, int max_visibility);

/* j's renditions (r[0 .. nr-1]) as a JSON array of name, key, width, height, bytes, bitrate, duration: vtp_publish's. */
extern void job_renditions_json(const job *j, vbuf *b);

/* The most bytes a rendition planned at maxrate over duration may have under set. */
extern int64_t job_rendition_cap(const job_settings *set, int64_t maxrate, double duration);

#endif
