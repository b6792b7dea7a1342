/*
 * test_backoff.c — the retry schedules: their steps, caps and jitter ranges.
 */
#include "unit.h"

#include <limits.h>

#include "backoff.h"

/* Every draw of schedule b at attempt lies in [lo, hi], and some differ (jitter is drawn). */
static void
check_range(const vtp_backoff *b, int attempt, long lo, long hi, int expect_spread)
{
	long		min = LONG_MAX,
				max = LONG_MIN;
	int			i;

	for (i = 0; i < 2000; i++)
	{
		long		d = vtp_backoff_delay(b, attempt);

		if (d < min)
			min = d;
		if (d > max)
			max = d;
	}
	CHECK(min >= lo);
	CHECK(max <= hi);
	if (expect_spread)
		CHECK(max > min);
	else
		CHECK(max == min);
}

void
test_backoff(void)
{
	vtp_backoff huge = {LONG_MAX / 3, LONG_MAX, VTP_JITTER_NONE};
	int			i,
				out;

	/* request retries: 200 ms doubling to 10 s */
	CHECK(vtp_backoff_step(&VTP_BACKOFF_AWS_REQUEST, 0) == 200);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_AWS_REQUEST, 1) == 400);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_AWS_REQUEST, 5) == 6400);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_AWS_REQUEST, 6) == 10000);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_AWS_REQUEST, 1000) == 10000);
	check_range(&VTP_BACKOFF_AWS_REQUEST, 6, 1000, 10000, 1);

	/* storage outages: 1 s doubling to 30 s, half jitter */
	CHECK(vtp_backoff_step(&VTP_BACKOFF_STORAGE, 0) == 1000);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_STORAGE, 4) == 16000);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_STORAGE, 5) == 30000);
	check_range(&VTP_BACKOFF_STORAGE, 0, 500, 1000, 1);
	check_range(&VTP_BACKOFF_STORAGE, 9, 15000, 30000, 1);

	/* attempts: 10 s doubling to 15 min */
	CHECK(vtp_backoff_step(&VTP_BACKOFF_ATTEMPT, -3) == 10);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_ATTEMPT, 6) == 640);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_ATTEMPT, 7) == 900);
	check_range(&VTP_BACKOFF_ATTEMPT, 7, 450, 900, 1);

	/* the trash: 30 s doubling, at most 30 << 7, the same every time */
	CHECK(vtp_backoff_step(&VTP_BACKOFF_TRASH, 0) == 30);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_TRASH, 7) == 3840);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_TRASH, 40) == 3840);
	check_range(&VTP_BACKOFF_TRASH, 3, 240, 240, 0);

	/* vtp-runner: the catalog 500 ms doubling to 10 s, half jitter; a slot 1 s to 1 min */
	CHECK(vtp_backoff_step(&VTP_BACKOFF_CATALOG, 0) == 500);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_CATALOG, 20) == 10000);
	check_range(&VTP_BACKOFF_CATALOG, 1, 500, 1000, 1);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_SLOT, 0) == 1);
	CHECK(vtp_backoff_step(&VTP_BACKOFF_SLOT, 6) == 60);
	check_range(&VTP_BACKOFF_SLOT, 2, 4, 4, 0);

	/* no overflow near LONG_MAX; degenerate ranges */
	CHECK(vtp_backoff_step(&huge, 10) == LONG_MAX);
	CHECK(vtp_random_between(7, 7) == 7);
	CHECK(vtp_random_between(9, 3) == 9);
	for (i = 0, out = 0; i < 1000; i++)
	{
		long		v = vtp_random_between(-5, 5);

		out += v < -5 || v > 5;
	}
	CHECK(out == 0);
}
