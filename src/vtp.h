/*
 * vtp.h — what the PostgreSQL side of vtp shares: GUC variables, shared
 * memory, the glue between the AWS client and Postgres, and the catalog.
 */
#ifndef VTP_H
#define VTP_H

#include "postgres.h"

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

/* Shared memory: fixed-size status only. */
typedef struct VtpShared
{
	slock_t		mutex;
	int			ingest_procno;	/* -1 when the ingest worker is not running */
} VtpShared;

extern VtpShared *vtp_shared;
extern void vtp_shmem_request(void);
extern void vtp_shmem_startup(void);
extern void vtp_wake_ingest(void);

/* Postgres glue for the AWS client (pgaws.c). */
typedef enum vtp_abort_mode
{
	VTP_ABORT_ON_INTERRUPT,		/* query cancel / shutdown */
	VTP_ABORT_NEVER				/* short clean-up calls during shutdown */
} vtp_abort_mode;

extern void vtp_aws_setup(aws_client *c);
extern bool vtp_aws_try_setup(aws_client *c, char *err, size_t errlen);
extern void vtp_aws_set_abort_mode(vtp_abort_mode m);
extern void vtp_aws_ereport(int elevel, const aws_error *err, const char *what);
extern int	vtp_aws_sqlstate(const aws_error *err);
extern char *vtp_scratch_path(void);

/* Catalog (catalog.c): every SQL statement the workers run. */
typedef struct vtp_claim
{
	bool		found;
	bool		claimed;
	char		status[16];		/* when not claimed */
	char	   *bucket;
	char	   *key;
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
	char		id[37];
	char	   *bucket;
	char	   *key;
} vtp_outbox_row;

extern char *catalog_schema_quoted(void);
extern void catalog_begin(void);
extern void catalog_commit(void);
extern bool catalog_extension_ready(void);
extern bool catalog_register(const char *bucket, const char *key, const char *etag, int64 size,
							 const char *sequencer, char *id_out, bool *created);
extern int	catalog_outbox(int limit, vtp_outbox_row **rows);
extern void catalog_mark_sent(const char *id);
extern void catalog_claim(const char *id, const char *owner, int lease_seconds, vtp_claim *out);
extern void catalog_extend_lease(const char *id, int attempts, int lease_seconds, double progress,
								 double eta_seconds);
extern void catalog_set_probe(const char *id, int attempts, const char *probe_json);
extern bool catalog_publish(const char *id, int attempts, const char *out_bucket, const char *out_key,
							const vtp_rendition *r, int n, double cpu_seconds, double wall_seconds);
extern bool catalog_fail(const char *id, int attempts, const char *code, const char *message);
extern bool catalog_release(const char *id, int attempts, const char *code, const char *message,
							bool refund);
extern int	catalog_reset_owned(const char *owner);

/* Worker entry points. */
extern PGDLLEXPORT void vtp_ingest_main(Datum arg);
extern PGDLLEXPORT void vtp_transcode_main(Datum arg);
extern PGDLLEXPORT void vtp_upload_main(Datum arg);

#endif
