/*
 * transcode_settings.h — the GUCs of the transcode workers and their job:
 * how many workers, the renditions and the encoder, the lease, the
 * helper's limits and sandbox, how long an S3 outage is waited out
 * (transcode_settings.c).
 */
#ifndef VTP_TRANSCODE_SETTINGS_H
#define VTP_TRANSCODE_SETTINGS_H

#include "postgres.h"

#include "job.h"

#define VTP_SANDBOX_REQUIRED 0
#define VTP_SANDBOX_BEST_EFFORT 1

extern int	vtp_transcode_workers;
extern char *vtp_renditions;
extern char *vtp_x264_preset;
extern double vtp_x264_crf;
extern char *vtp_x264_hd_preset;
extern double vtp_x264_hd_crf;
extern int	vtp_visibility_timeout;
extern int	vtp_transcode_timeout_s;
extern int	vtp_transcode_nice;
extern int	vtp_transcode_memory_mb;
extern int	vtp_transcode_threads;
extern int	vtp_max_width;
extern int	vtp_max_height;
extern int	vtp_max_duration_s;
extern int	vtp_max_streams;
extern int	vtp_storage_outage_timeout_s;
extern int	vtp_sandbox;			/* VTP_SANDBOX_* */
extern char *vtp_transcoder_path;

/* Define the transcode workers' GUCs (from _PG_init, before the workers are registered). */
extern void vtp_transcode_init(void);

/*
 * Copy the GUCs the job engine reads into s, with the worker's scratch
 * directory and SQS's visibility limit (at start, before each task, after a
 * reload); false if a string did not fit (that one keeps its old value).
 */
extern bool vtp_transcode_fill_settings(job_settings *s, const char *worker_dir, int sqs_max_visibility);

#endif
