/*
 * backoff.c — capped doubling steps and their jitter (see backoff.h). The
 * schedules are here, side by side, so that their shapes can be compared
 * and each is unit-tested.
 */
#include "backoff.h"

#include <limits.h>
#include <stdlib.h>

#include <openssl/rand.h>

/* 200 ms doubling to 10 s, full jitter: a request retried inside one call */
const vtp_backoff VTP_BACKOFF_AWS_REQUEST = {200, 10000, VTP_JITTER_FULL};

/* 1 s doubling to 30 s: an outage waited out up to vtp.storage_outage_timeout */
const vtp_backoff VTP_BACKOFF_STORAGE = {1000, 30000, VTP_JITTER_HALF};

/* 10 s doubling to 15 min: the next attempt at a video after a transient failure */
const vtp_backoff VTP_BACKOFF_ATTEMPT = {10, 900, VTP_JITTER_HALF};

/* 30 s doubling to 64 min: a trashed object S3 would not delete; no jitter, one reconciler */
const vtp_backoff VTP_BACKOFF_TRASH = {30, 30 << 7, VTP_JITTER_NONE};

/* 500 ms doubling to 10 s: vtp-runner reaching its catalog again (many runners: jittered) */
const vtp_backoff VTP_BACKOFF_CATALOG = {500, 10000, VTP_JITTER_HALF};

/* 1 s doubling to 1 min: a vtp-runner job slot that died, started again */
const vtp_backoff VTP_BACKOFF_SLOT = {1, 60, VTP_JITTER_NONE};

long
vtp_backoff_step(const vtp_backoff *b, int attempt)
{
	long		step = b->base > 0 ? b->base : 1;
	int			i;

	for (i = 0; i < attempt && step < b->cap; i++)
		step = step > LONG_MAX / 2 ? LONG_MAX : step * 2;
	return step > b->cap ? b->cap : step;
}

long
vtp_backoff_delay(const vtp_backoff *b, int attempt)
{
	long		step = vtp_backoff_step(b, attempt);

	switch (b->jitter)
	{
		case VTP_JITTER_HALF:
			return vtp_random_between(step / 2, step);
		case VTP_JITTER_FULL:
			return vtp_random_between(step / 10, step);
		case VTP_JITTER_NONE:
			break;
	}
	return step;
}

long
vtp_random_between(long lo, long hi)
{
	unsigned long span;

	if (hi <= lo)
		return lo;
	span = (unsigned long) hi - (unsigned long) lo + 1;
	if (span == 0 || span > UINT32_MAX)
		span = UINT32_MAX;
	return lo + (long) (vtp_random32() % span);
}

uint32_t
vtp_random32(void)
{
	uint32_t	r = 0;

	if (RAND_bytes((unsigned char *) &r, sizeof(r)) != 1)
		r = (uint32_t) random();
	return r;
}
