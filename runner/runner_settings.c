/*
 * runner_settings.c — what vtp_runner_settings() says, into the engine's
 * settings and the AWS client's: every row checked as the server checks its
 * GUC (the same ranges, presets, ladder and bucket names), raw values in
 * base units. A value that does not fit is never cut or guessed: the whole
 * new set is refused with the setting's name, the old one stays, and the
 * slot takes no task until the catalog says something it can use (as
 * bgworker/transcode_settings.c does with a value too long). Rows this
 * runner does not know are ignored: a newer catalog may say more. Pure (no
 * libpq, no I/O): unit-tested in test/unit/test_runner_settings.c.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder.h"
#include "runner.h"

typedef enum setting_kind
{
	S_TEXT,						/* any text that fits */
	S_NONEMPTY,					/* ... and not empty */
	S_BUCKET,					/* an S3 bucket name */
	S_PRESET,					/* an x264 preset */
	S_LADDER,					/* vtp.renditions */
	S_REGION,					/* an AWS region's name */
	S_INT,						/* an integer in [min, max] */
	S_REAL,						/* a number in [min, max] */
	S_SANDBOX					/* required | best_effort */
} setting_kind;

typedef struct setting_def
{
	const char *name;
	setting_kind kind;
	size_t		offset;			/* in runner_config */
	size_t		size;			/* of a text's buffer */
	double		min;
	double		max;
} setting_def;

#define TXT(n, k, f) {n, k, offsetof(runner_config, f), sizeof(((runner_config *) 0)->f), 0, 0}
#define NUM(n, k, f, lo, hi) {n, k, offsetof(runner_config, f), 0, lo, hi}

/* Every setting a transcode needs, and the server's own bounds for each. */
static const setting_def defs[] = {
	TXT("vtp.catalog", S_NONEMPTY, job.catalog),
	TXT("vtp.temp_bucket", S_BUCKET, job.temp_bucket),
	TXT("vtp.output_bucket", S_BUCKET, job.output_bucket),
	TXT("vtp.output_prefix", S_TEXT, job.output_prefix),
	TXT("vtp.tasks_queue_url", S_NONEMPTY, job.tasks_queue_url),
	TXT("vtp.renditions", S_LADDER, job.renditions),
	TXT("vtp.x264_preset", S_PRESET, job.x264_preset),
	NUM("vtp.x264_crf", S_REAL, job.x264_crf, 0, 51),
	TXT("vtp.x264_hd_preset", S_PRESET, job.x264_hd_preset),
	NUM("vtp.x264_hd_crf", S_REAL, job.x264_hd_crf, 0, 51),
	NUM("vtp.transcode_threads", S_INT, job.threads, 0, 64),
	NUM("vtp.max_width", S_INT, job.max_width, 16, 16384),
	NUM("vtp.max_height", S_INT, job.max_height, 16, 16384),
	NUM("vtp.max_duration", S_INT, job.max_duration_s, 1, 86400 * 7),
	NUM("vtp.max_streams", S_INT, job.max_streams, 1, 64),
	NUM("vtp.max_source_size", S_INT, job.max_source_size_mb, 1, INT_MAX / 2),
	NUM("vtp.transcode_nice", S_INT, job.nice, 0, 19),
	NUM("vtp.transcode_memory_limit", S_INT, job.memory_mb, 0, INT_MAX / 2),
	NUM("vtp.transcode_timeout", S_INT, job.transcode_timeout_s, 10, 86400 * 7),
	NUM("vtp.visibility_timeout", S_INT, job.visibility_timeout_s, 10, 43200),
	NUM("vtp.storage_outage_timeout", S_INT, job.storage_outage_timeout_s, 0, 86400),
	NUM("vtp.sandbox", S_SANDBOX, job.sandbox_required, 0, 0),
	TXT("vtp.aws_region", S_REGION, aws.region),
	TXT("vtp.s3_endpoint", S_TEXT, aws.s3_endpoint),
	TXT("vtp.sqs_endpoint", S_TEXT, aws.sqs_endpoint),
	NUM("vtp.s3_part_size", S_INT, aws.part_size_mb, 5, 5120),
	NUM("vtp.request_timeout", S_INT, aws.request_timeout_s, 1, 3600),
	NUM("vtp.aws_max_retries", S_INT, aws.max_retries, 0, 20),
	TXT("vtp.version", S_NONEMPTY, version),
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static bool
is_preset(const char *v)
{
	static const char *const presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
	"medium", "slow", "slower", "veryslow", NULL};
	int			i;

	for (i = 0; presets[i]; i++)
		if (strcmp(v, presets[i]) == 0)
			return true;
	return false;
}

/* A number with nothing after it, in [min, max]. */
static bool
parse_number(const setting_def *d, const char *v, double *out)
{
	char	   *end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(*out >= d->min && *out <= d->max))
		return false;			/* (NaN fails the range too) */
	return d->kind != S_INT || *out == (double) (long) *out;
}

/* A text setting into its buffer; false with why in err. */
static bool
take_text(const setting_def *d, const char *v, char *dst, char *err, size_t errlen)
{
	int			sides[LADDER_MAX_RUNGS];
	char		why[256];
	const char *bad = NULL;

	if (strlen(v) >= d->size)
	{
		snprintf(err, errlen, "%s is longer than a transcode job takes (at most %d bytes)", d->name,
				 (int) d->size - 1);
		return false;
	}
	if (d->kind == S_NONEMPTY && v[0] == '\0')
		bad = "is empty";
	else if (d->kind == S_BUCKET && (bad = vtp_bucket_name_error(v)) != NULL)
		;
	else if (d->kind == S_PRESET && !is_preset(v))
		bad = "is not an x264 preset";
	else if (d->kind == S_REGION && !aws_region_ok(v))
		bad = "is not an AWS region's name";
	else if (d->kind == S_LADDER && ladder_parse_spec(v, sides, LADDER_MAX_RUNGS, why, sizeof(why)) < 0)
		bad = why;
	if (bad)
	{
		snprintf(err, errlen, "%s: %s", d->name, bad);
		return false;
	}
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

/* One row into cfg by its definition; false with why in err. */
static bool
take(const setting_def *d, const char *v, runner_config *cfg, char *err, size_t errlen)
{
	char	   *field = (char *) cfg + d->offset;
	double		num;

	if (d->kind == S_SANDBOX)
	{
		if (strcmp(v, "required") != 0 && strcmp(v, "best_effort") != 0)
		{
			snprintf(err, errlen, "vtp.sandbox is \"%.40s\", neither required nor best_effort", v);
			return false;
		}
		*(bool *) field = strcmp(v, "required") == 0;
		return true;
	}
	if (d->kind != S_INT && d->kind != S_REAL)
		return take_text(d, v, field, err, errlen);
	if (!parse_number(d, v, &num))
	{
		snprintf(err, errlen, "%s is \"%.40s\", not %s between %g and %g", d->name, v,
				 d->kind == S_INT ? "an integer" : "a number", d->min, d->max);
		return false;
	}
	if (d->kind == S_INT)
		*(int *) field = (int) num;
	else
		*(double *) field = num;
	return true;
}

/*
 * The rows (name, setting; a NULL setting reads as "") into cfg: true with
 * every setting there and fitting; else false with the first reason in err
 * and cfg untouched.
 */
bool
runner_settings_parse(int n, const char *const *names, const char *const *values, runner_config *cfg,
					  char *err, size_t errlen)
{
	runner_config next = *cfg;
	bool		seen[NDEFS];
	size_t		d;
	int			i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++)
		for (d = 0; d < NDEFS; d++)
			if (names[i] && strcmp(names[i], defs[d].name) == 0)
			{
				if (!take(&defs[d], values[i] ? values[i] : "", &next, err, errlen))
					return false;
				seen[d] = true;
			}
	for (d = 0; d < NDEFS; d++)
		if (!seen[d])
		{
			snprintf(err, errlen, "vtp_runner_settings() gave no %s", defs[d].name);
			return false;
		}
	*cfg = next;
	return true;
}

/* The catalog's AWS settings onto c (its credentials, hooks and connection stay). */
void
runner_settings_aws(const runner_aws *a, aws_client *c)
{
	vtp_strlcpy(c->region, a->region, sizeof(c->region));
	vtp_strlcpy(c->s3_endpoint, a->s3_endpoint, sizeof(c->s3_endpoint));
	vtp_strlcpy(c->sqs_endpoint, a->sqs_endpoint, sizeof(c->sqs_endpoint));
	c->part_size = (size_t) a->part_size_mb * 1024 * 1024;
	c->timeout_ms = a->request_timeout_s * 1000L;
	c->max_retries = a->max_retries;
}
