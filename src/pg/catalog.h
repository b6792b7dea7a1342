/*
 * catalog.h — every SQL statement the workers and vtp's SQL functions run,
 * as functions: the transaction around them, the extension's readiness,
 * registering and sending (catalog_ingest.c), claiming, renewing and
 * settling an attempt (catalog_claim.c), the reconciler and the trash
 * (catalog_reconcile.c), the renditions to sign URLs for (catalog_urls.c).
 * Each runs inside catalog_begin()/catalog_commit() or a SQL function's SPI
 * connection; results are copied to the caller's memory context.
 */
#ifndef VTP_CATALOG_H
#define VTP_CATALOG_H

#include "postgres.h"

#include "names.h"

/* What catalog_claim found. */
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

/* One rendition as published. */
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

/* A video whose task is to be sent. */
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

/* The catalog's machinery (catalog.c). */

/* Start a worker's transaction with SPI and a snapshot; results go to the caller's context. */
extern void catalog_begin(void);

/* Commit the transaction catalog_begin started, back in the caller's context. */
extern void catalog_commit(void);

/* Installed, at this library's version? If not, why (for the log and pg_stat_activity). */
extern bool catalog_extension_ready(char *why, size_t whylen);

/* This catalog's identity (system identifier:database OID), as task messages carry it. */
extern const char *vtp_catalog_identity(void);

/* Ingest (catalog_ingest.c). */

/* Record an announced source object once per version; its video's id into id_out. */
extern vtp_reg catalog_register(const char *bucket, const char *key, const char *etag, int64 size,
								const char *sequencer, char *id_out);

/* Up to limit Pending videos whose task is still to be sent, oldest first. */
extern int	catalog_outbox(int limit, vtp_outbox_row **rows);

/* The video's task was sent. */
extern void catalog_mark_sent(const char *id);

/* The video's status, or NULL if there is no such video. */
extern char *catalog_video_status(const char *id);

/* Is there a video id in this catalog made from bucket/key? */
extern bool catalog_video_is(const char *id, const char *bucket, const char *key);

/* A Pending video whose task message is gone: the outbox sends a fresh one. */
extern void catalog_requeue(const char *id);

/* An attempt (catalog_claim.c): compare-and-set on (status, lease token); asked again, the same answer. */

/* Claim a Pending video (or one whose lease ran out) for owner under token, with a lease. */
extern void catalog_claim(const char *id, const char *owner, const char *token, int lease_seconds,
						  vtp_claim *out);

/* Renew the lease; false if this token no longer holds the video. */
extern bool catalog_extend_lease(const char *id, const char *token, int lease_seconds, double progress,
								 double eta_seconds);

/* Store what the probe found (JSON) on this attempt's video; false if the token does not hold it. */
extern bool catalog_set_probe(const char *id, const char *token, const char *probe_json);

/* Published with its n renditions; false if this token no longer holds the video. */
extern bool catalog_publish(const char *id, const char *token, const char *out_bucket, const char *out_key,
							const vtp_rendition *r, int n, double cpu_seconds, double wall_seconds);

/* Failed for good with code and message; false if this token no longer holds the video. */
extern bool catalog_fail(const char *id, const char *token, const char *code, const char *message);

/* A transient failure: "Pending" (retried) or "Failed" after vtp.max_attempts; refund: not counted; NULL: not held. */
extern const char *catalog_release(const char *id, const char *token, const char *code, const char *message,
								   bool refund, bool *changed);

/* Runner rows not heard from for an hour are removed; how many (catalog_reconcile.c). */
extern int	catalog_forget_runners(void);

/* The original of the video this token published was deleted. */
extern void catalog_source_deleted_by(const char *id, const char *token);

/*
 * The worker protocol as the in-server workers speak it (catalog_proto.c):
 * each is one SELECT of the SQL function vtp-runner calls (sql_runner.c).
 */
extern void proto_claim(const char *id, const char *worker, const char *token, int lease_seconds, vtp_claim *out);
extern bool proto_video_is(const char *id, const char *bucket, const char *key);
extern char *proto_video_status(const char *id);
extern bool proto_heartbeat(const char *id, const char *token, int lease_seconds, double progress,
							double eta_seconds);
extern bool proto_set_probe(const char *id, const char *token, const char *probe_json);
/* renditions_json: the array vtp_publish takes (job_renditions_json). */
extern bool proto_publish(const char *id, const char *token, const char *out_bucket, const char *out_key,
						  const char *renditions_json, double cpu_seconds, double wall_seconds);
extern bool proto_fail(const char *id, const char *token, const char *code, const char *message);
extern bool proto_release(const char *id, const char *token, const char *code, const char *message,
						  bool refund, bool requeue);
extern void proto_trash(const char *id, const char *bucket, const char *key, const char *etag,
						const char *reason);
extern void proto_source_deleted(const char *id, const char *token);

/* After a crash: owner's videos back to Pending (or Failed); how many. */
extern int	catalog_reset_owned(const char *owner);

/* The reconciler and the trash (catalog_reconcile.c). */
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

/* An object to delete after commit (etag NULL: any version), if no live row uses it then. */
extern void catalog_trash(const char *bucket, const char *key, const char *etag, const char *video_id,
						  const char *reason);

/* The video's original was deleted from its bucket. */
extern void catalog_source_deleted(const char *id);

/* Processing rows whose worker stopped renewing: back to Pending (or Failed); how many. */
extern int	catalog_expire_leases(void);

/* Pending rows whose task was lost long ago: sent again by the outbox; how many. */
extern int	catalog_resend_lost(int after_seconds);

/* Originals of videos Failed longer than the retention go to the trash; how many. */
extern int	catalog_expire_failed(int retention_seconds);

/* What an object found in the temp bucket is to the catalog. */
extern vtp_object_state catalog_object_state(const char *bucket, const char *key, const char *etag);

/* Up to limit trash entries due now, each with what to do with it. */
extern int	catalog_trash_due(int limit, vtp_trash_row **rows);

/* Forget a trash entry; if the object was deleted, the row of that version knows. */
extern void catalog_trash_done(const vtp_trash_row *r, bool deleted);

/* Look at a trash entry again in seconds; with an error, a failed try (counted). */
extern void catalog_trash_later(int64 id, int seconds, const char *error);

/* The renditions of a video (catalog_urls.c). */
typedef struct vtp_url_row
{
	char	   *name;
	char	   *bucket;
	char	   *key;
} vtp_url_row;

/* The renditions of video_id (a uuid Datum), by height then name. */
extern int	catalog_renditions(Datum video_id, vtp_url_row **rows);

/* The upload endpoint's statements (catalog_upload.c). */

/* Is token_sha256 (hex) the hash of a token that is not revoked? */
extern bool catalog_token_live(const char *token_sha256);

/* The video as GET /videos/{id} shows it (JSON, renditions with presigned URLs), or NULL if none. */
extern char *catalog_video_json(const char *id);

#endif
