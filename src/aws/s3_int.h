/*
 * s3_int.h — the S3 request machinery (s3_request.c) that s3.c and s3list.c
 * share (no PostgreSQL).
 */
#ifndef VTP_S3_INT_H
#define VTP_S3_INT_H

#include "aws.h"

#define S3_MIN_PART (5 * 1024 * 1024)
#define S3_MAX_PARTS 10000

/* Where an S3 request goes: base URL, Host header, encoded path. */
typedef struct s3_loc
{
	vbuf		base;
	vbuf		host;
	vbuf		path;
} s3_loc;

/* Build l for bucket/key; false, with err set, for a bucket refused by name. */
extern bool s3_locate(aws_client *c, const char *bucket, const char *key, s3_loc *l, aws_error *err);
/* Free what s3_locate built. */
extern void s3_loc_free(s3_loc *l);

/* One signed S3 request on bucket/key (key "" for the bucket itself). */
extern int	s3_call(aws_client *c, const char *method, const char *bucket, const char *key, const char *query,
					const void *body, size_t body_len, const char *content_type, int out_fd, int64_t max_out,
					aws_response *resp, aws_error *err);
/* The same, sent with If-Match: only that ETag's version (else PreconditionFailed, 412). */
extern int	s3_call_if_match(aws_client *c, const char *method, const char *bucket, const char *key,
							 const char *query, const void *body, size_t body_len, const char *content_type,
							 int out_fd, int64_t max_out, const char *if_match, aws_response *resp,
							 aws_error *err);

/* A short body-less call that a shutdown or cancel does not cut short (aborts, deletes). */
extern int	s3_cleanup_call(aws_client *c, const char *method, const char *bucket, const char *key,
							const char *query, aws_error *err);

#endif
