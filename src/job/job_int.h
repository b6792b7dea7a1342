/*
 * job_int.h — between the job engine's own files (the host sees job.h only):
 * the steps job.c runs in order, the heartbeat they all call, and the small
 * helpers (errors, logging, the AWS client's hooks) in job_util.c.
 */
#ifndef VTP_JOB_INT_H
#define VTP_JOB_INT_H

#include "job.h"
#include "vtp_assert.h"

/* Set the reason code and message of the attempt's failure (job_util.c). */
extern void job_set_error(job *j, const char *code, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* A malloc'd formatted string, or NULL out of memory (job_util.c). */
extern char *job_sprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Log a formatted line through the host (job_util.c). */
extern void job_logf(job_host *h, job_level level, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* Log "could not <what>: <message>" with the AWS error's code and status as detail (job_util.c). */
extern void job_log_aws(job_host *h, job_level level, const aws_error *err, const char *what);

/* Abort the engine's S3/SQS calls in flight (a job that lost its video), until cleared (job_util.c). */
extern void job_abort_transfers(bool on);

/* Let the engine's short clean-up calls run to their end while the host stops (job_util.c). */
extern void job_never_abort(bool on);

/* Put the engine's abort check and retry sleep on c for job j; job_hooks_end gives c's back (job_util.c). */
extern void job_hooks_begin(job *j, aws_client *c);
extern void job_hooks_end(aws_client *c);

/*
 * Keep the lease and the message alive; write progress; answer a cancel.
 * False (and j->lost, and in-flight transfers aborted) once the video is no
 * longer this attempt's. Never fails on SQS trouble (heartbeat.c).
 */
extern bool job_heartbeat(job *j, bool force);

/* S3 steps (transfer.c); each waits out an S3 outage up to set->storage_outage_timeout_s. */
extern job_outcome job_download(job *j);
extern job_outcome job_upload(job *j);
extern void job_remove_original(job *j);

/* Run vtp-transcode on j->source into j->dir and judge how it ended (helper.c). */
extern job_outcome job_transcode(job *j);

#endif
