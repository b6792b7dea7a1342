/*
 * backoff.h — every wait-before-trying-again in vtp, written once: a step
 * that doubles from a base up to a cap, and jitter drawn from one random
 * source, so that workers that failed together do not retry together.
 * Pure C (OpenSSL's RAND_bytes, one fallback); unit-tested in test_backoff.c.
 */
#ifndef VTP_BACKOFF_H
#define VTP_BACKOFF_H

#include <stdint.h>

/* How much of a step is left to chance. */
typedef enum vtp_jitter
{
	VTP_JITTER_NONE,			/* the step itself */
	VTP_JITTER_HALF,			/* between half of the step and all of it */
	VTP_JITTER_FULL				/* between a tenth of the step and all of it */
} vtp_jitter;

/* One schedule: base doubling per attempt up to cap (any unit), jittered. */
typedef struct vtp_backoff
{
	long		base;
	long		cap;
	vtp_jitter	jitter;
} vtp_backoff;

/* The schedules vtp uses (see each user for why). */
extern const vtp_backoff VTP_BACKOFF_AWS_REQUEST;	/* ms: one S3/SQS request retried (aws.c) */
extern const vtp_backoff VTP_BACKOFF_STORAGE;	/* ms: an S3 outage waited out by a job */
extern const vtp_backoff VTP_BACKOFF_ATTEMPT;	/* s: the next attempt at a failed video */
extern const vtp_backoff VTP_BACKOFF_TRASH; /* s: a trashed object that could not be deleted */
extern const vtp_backoff VTP_BACKOFF_CATALOG;	/* ms: vtp-runner's catalog connection or call retried */
extern const vtp_backoff VTP_BACKOFF_SLOT;	/* s: a vtp-runner job slot restarted */

/* base × 2^attempt, at most cap (attempt < 0 counts as 0; never overflows). */
extern long vtp_backoff_step(const vtp_backoff *b, int attempt);

/* The wait before try attempt + 1: the step, jittered as the schedule says. */
extern long vtp_backoff_delay(const vtp_backoff *b, int attempt);

/* A value in [lo, hi] (lo when hi <= lo), uniformly from vtp_random32. */
extern long vtp_random_between(long lo, long hi);

/* 32 random bits: OpenSSL's generator, random() if it ever fails. */
extern uint32_t vtp_random32(void);

#endif
