/*
 * vtp.h — what the PostgreSQL side of vtp shares: GUC variables, shared
 * memory, the glue between the AWS client and Postgres, and the catalog.
 */
#ifndef VTP_H
#define VTP_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

#include "aws.h"
#include "names.h"

/* GUCs (vtp.c) */
extern char *vtp_database;
extern char *vtp_aws_region;
extern char *vtp_aws_profile;
extern char *vtp_s3_endpoint;
extern char *vtp_sqs_endpoint;
extern char *vtp_temp_bucket;
extern char *vtp_output_bucket;
extern char *vtp_output_prefix;
extern char *vtp_events_queue_url;
extern char *vtp_tasks_queue_url;
extern int	vtp_transcode_workers;
extern char *vtp_renditions;
extern char *vtp_x264_preset;
extern double vtp_x264_crf;
extern char *vtp_x264_hd_preset;
extern double vtp_x264_hd_crf;
extern int	vtp_visibility_timeout;
extern int	vtp_max_attempts;
extern int	vtp_max_source_size_mb;
extern int	vtp_part_size_mb;
extern int	vtp_request_timeout_s;
extern int	vtp_aws_max_retries;
extern char *vtp_scratch_dir;
extern int	vtp_transcode_timeout_s;
extern int	vtp_transcode_nice;
extern int	vtp_transcode_memory_mb;
extern int	vtp_transcode_threads;
extern int	vtp_max_width;
extern int	vtp_max_height;
extern int	vtp_max_duration_s;
extern int	vtp_max_streams;
extern char *vtp_upload_prefix;
extern char *vtp_upload_listen;
extern int	vtp_upload_max_mb;
extern int	vtp_upload_max_concurrent;
extern int	vtp_upload_idle_timeout_s;
extern int	vtp_reconcile_interval_s;
extern int	vtp_task_resend_after_s;
extern int	vtp_orphan_object_age_s;
extern int	vtp_stale_upload_age_s;
extern int	vtp_failed_retention_s;
extern int	vtp_storage_outage_timeout_s;
/* the upload endpoint's limits (issue 10) */
extern int	vtp_upload_max_per_address;
extern int	vtp_upload_header_timeout_s;
extern int	vtp_upload_min_rate_kb;
extern int	vtp_upload_rate_window_s;
extern int	vtp_upload_auth_max_failures;
extern int	vtp_upload_auth_window_s;
extern char *vtp_source_buckets;

/* May bucket be a source (vtp.temp_bucket or in vtp.source_buckets)? (sql_enqueue.c) */
extern bool vtp_source_bucket_allowed(const char *bucket);
extern int	vtp_sandbox;			/* VTP_SANDBOX_* */
extern char *vtp_transcoder_path;

#define VTP_SANDBOX_REQUIRED 0
#define VTP_SANDBOX_BEST_EFFORT 1

/* Shared memory (slots.c): fixed-size status only, one slot per worker. */
#define VTP_MAX_WORKERS 40

typedef struct VtpWorkerSlot
{
	pid_t		pid;			/* 0: free */
	int			procno;
	char		role[16];		/* ingest, transcode, upload, reconcile */
	char		name[64];
	char		state[32];
	char		video_id[VTP_UUID_SIZE];
	int			attempt;
	float		progress;		/* < 0: none */
	pid_t		child_pid;
	TimestampTz started_at;
	TimestampTz state_since;
	TimestampTz heartbeat;		/* last lease renewal; 0: none */
	bool		cancel;			/* look at the claim again now */
	char		sandbox[64];	/* the transcoder's sandbox as last checked ("" n/a) */
} VtpWorkerSlot;

typedef struct VtpShared
{
	slock_t		mutex;
	VtpWorkerSlot slots[VTP_MAX_WORKERS];
} VtpShared;

extern VtpShared *vtp_shared;
extern Size vtp_shmem_size(void);
extern void vtp_shmem_init(VtpShared *s);
extern void vtp_slot_attach(const char *role, const char *name);
extern void vtp_slot_state(const char *state, const char *video_id, int attempt);
extern void vtp_slot_progress(double progress, pid_t child_pid);
extern void vtp_slot_heartbeat(void);
extern bool vtp_slot_take_cancel(void);
extern void vtp_slot_sandbox(const char *sandbox);
extern void vtp_signal_busy(void);
extern void vtp_wake_role(const char *role);
extern void vtp_wake_ingest(void);

/* Wake-ups sent when the calling transaction commits (sql_ops.c). */
#define VTP_WAKE_INGEST 1		/* the outbox has tasks */
#define VTP_WAKE_RECONCILE 2	/* the trash has objects */
#define VTP_WAKE_BUSY 4			/* a worker's video changed under it */
extern void vtp_wake_at_commit(int what);

/* Postgres glue for the AWS client (aws_glue.c). */
typedef enum vtp_abort_mode
{
	VTP_ABORT_ON_INTERRUPT,		/* query cancel / shutdown */
	VTP_ABORT_NEVER				/* short clean-up calls during shutdown */
} vtp_abort_mode;

extern void vtp_aws_setup(aws_client *c);
extern bool vtp_aws_try_setup(aws_client *c, char *err, size_t errlen);
extern void vtp_aws_note_credentials(void);
extern void vtp_aws_set_abort_mode(vtp_abort_mode m);
extern void vtp_aws_request_abort(bool on);
extern void vtp_aws_ereport(int elevel, const aws_error *err, const char *what);
extern int	vtp_aws_sqlstate(const aws_error *err);
extern bool vtp_sql_head(const char *bucket, const char *key, s3_object_info *info, const char *what);
extern char *vtp_scratch_path(void);

/* Catalog (catalog.c): every SQL statement the workers run. */
typedef struct vtp_claim
{
	bool		found;
	bool		claimed;
	char		status[16];		/* when not claimed */
	char	   *bucket;
	char	   *key;
	char	   *etag;			/* the version announced; "" unknown */
	int			attempts;
	bool		lease_live;		/* someone else holds a live lease */
} vtp_claim;

typedef struct vtp_rendition
{
	char		name[16];
	char		file[64];
	char	   *key;
	int			width;
	int			height;
	int64		bytes;
	int64		bitrate;
	double		duration;
} vtp_rendition;

typedef struct vtp_outbox_row
{
	char		id[VTP_UUID_SIZE];
	char	   *bucket;
	char	   *key;
} vtp_outbox_row;

/* What catalog_register did with an announced object. */
typedef enum vtp_reg
{
	VTP_REG_CREATED,			/* a new Pending video */
	VTP_REG_EXISTS,				/* announced before: the same video */
	VTP_REG_REPLACED,			/* a newer upload to a key vtp made, before its video started */
	VTP_REG_SUPERSEDED,			/* an older version than one already known: ignored */
	VTP_REG_ID_TAKEN			/* a key vtp made whose video already uses another version */
} vtp_reg;

extern char *catalog_schema_quoted(void);
extern void catalog_begin(void);
extern void catalog_commit(void);
extern bool catalog_extension_ready(char *why, size_t whylen);
extern vtp_reg catalog_register(const char *bucket, const char *key, const char *etag, int64 size,
								const char *sequencer, char *id_out);
extern int	catalog_outbox(int limit, vtp_outbox_row **rows);
extern void catalog_mark_sent(const char *id);
extern void catalog_claim(const char *id, const char *owner, int lease_seconds, vtp_claim *out);
extern bool catalog_extend_lease(const char *id, int attempts, int lease_seconds, double progress,
								 double eta_seconds);
extern void catalog_set_probe(const char *id, int attempts, const char *probe_json);
extern bool catalog_publish(const char *id, int attempts, const char *out_bucket, const char *out_key,
							const vtp_rendition *r, int n, double cpu_seconds, double wall_seconds);
extern bool catalog_fail(const char *id, int attempts, const char *code, const char *message);
extern bool catalog_release(const char *id, int attempts, const char *code, const char *message,
							bool refund);
extern int	catalog_reset_owned(const char *owner);
extern void catalog_trash(const char *bucket, const char *key, const char *etag, const char *video_id,
						  const char *reason);
extern void catalog_source_deleted(const char *id);
extern char *catalog_video_status(const char *id);
extern bool catalog_video_is(const char *id, const char *bucket, const char *key);
extern void catalog_requeue(const char *id);
extern const char *vtp_catalog_identity(void);

/* Catalog of the reconciler and the trash (catalog_reconcile.c). */
typedef enum vtp_trash_action
{
	VTP_TRASH_DELETE,			/* garbage: delete it */
	VTP_TRASH_FORGET,			/* a row uses it (a rendition, a kept original): never delete */
	VTP_TRASH_WAIT				/* its video is still in flight: decide when it settles */
} vtp_trash_action;

typedef struct vtp_trash_row
{
	int64		id;
	char	   *bucket;
	char	   *key;
	char	   *etag;			/* NULL: any version */
	vtp_trash_action action;
	int			tries;
} vtp_trash_row;

typedef enum vtp_object_state
{
	VTP_OBJ_UNKNOWN,			/* no row has this version */
	VTP_OBJ_LIVE,				/* a row needs it (Pending, Processing, Failed and kept) */
	VTP_OBJ_DONE				/* its row no longer needs it (Published, or removed) */
} vtp_object_state;

extern int	catalog_expire_leases(void);
extern int	catalog_resend_lost(int after_seconds);
extern int	catalog_expire_failed(int retention_seconds);
extern vtp_object_state catalog_object_state(const char *bucket, const char *key, const char *etag);
extern int	catalog_trash_due(int limit, vtp_trash_row **rows);
extern void catalog_trash_done(const vtp_trash_row *r, bool deleted);
extern void catalog_trash_later(int64 id, int seconds, const char *error);

/* Worker entry points. */
extern PGDLLEXPORT void vtp_ingest_main(Datum arg);
extern PGDLLEXPORT void vtp_transcode_main(Datum arg);
extern PGDLLEXPORT void vtp_upload_main(Datum arg);
extern PGDLLEXPORT void vtp_reconcile_main(Datum arg);

#endif
