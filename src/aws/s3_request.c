/*
 * s3_request.c — the S3 request machinery that s3.c (objects, the streaming
 * upload) and s3list.c (listings) share, and that calls neither: where a
 * request goes (s3_locate, which refuses a bucket that is not a valid S3
 * bucket name before anything is sent), one signed call, and the short
 * clean-up call (no PostgreSQL).
 */
#include "s3_int.h"

#include <string.h>

#include "names.h"

/*
 * Path-style against a configured endpoint; virtual-hosted against AWS.
 * Refuses (false, with the reason in err) a bucket that is not a valid S3
 * bucket name, before anything is built: such a name could carry another
 * host ("attacker.example/x#", "127.0.0.1:9/") into the URL, and the
 * request would take the signature, the access key id and the session
 * token there.
 */
bool
s3_locate(aws_client *c, const char *bucket, const char *key, s3_loc *l, aws_error *err)
{
	const char *why = vtp_bucket_name_error(bucket);

	memset(l, 0, sizeof(*l));
	if (why == NULL && !c->s3_endpoint[0] && !aws_region_ok(c->region))
		why = "the region is not a valid AWS region name";
	if (why != NULL)
	{
		char		shown[80];

		vtp_escape_name(bucket, shown, sizeof(shown));
		aws_error_set(err, 0, "InvalidBucketName", false, "bucket \"%s\" refused before any request: %s",
					  shown, why);
		return false;
	}
	if (c->s3_endpoint[0])
	{
		aws_endpoint_parse(c->s3_endpoint, &l->base, &l->host);
		vbuf_putc(&l->path, '/');
		sigv4_uri_encode(&l->path, bucket, true);
		vbuf_putc(&l->path, '/');
	}
	else
	{
		vbuf_printf(&l->host, "%s.s3.%s.amazonaws.com", bucket, c->region);
		vbuf_printf(&l->base, "https://%s", l->host.data);
		vbuf_putc(&l->path, '/');
	}
	sigv4_uri_encode(&l->path, key, false);
	return true;
}

void
s3_loc_free(s3_loc *l)
{
	vbuf_free(&l->base);
	vbuf_free(&l->host);
	vbuf_free(&l->path);
}

/* With if_match (an ETag, "" or NULL for none): only that version of the object. */
int
s3_call_if_match(aws_client *c, const char *method, const char *bucket, const char *key, const char *query,
				 const void *body, size_t body_len, const char *content_type, int out_fd, int64_t max_out,
				 const char *if_match, aws_response *resp, aws_error *err)
{
	s3_loc		l;
	aws_request r;
	int			rc;

	if (!s3_locate(c, bucket, key, &l, err))
		return -1;
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.service = "s3";
	r.base = l.base.data;
	r.host = l.host.data;
	r.path = l.path.data;
	r.query = query;
	r.body = body;
	r.body_len = body_len;
	r.content_type = content_type;
	r.out_fd = out_fd;
	r.max_out = max_out;
	r.if_match = if_match && if_match[0] ? if_match : NULL;
	rc = aws_perform(c, &r, resp, err);
	s3_loc_free(&l);
	return rc;
}

int
s3_call(aws_client *c, const char *method, const char *bucket, const char *key, const char *query,
		const void *body, size_t body_len, const char *content_type, int out_fd, int64_t max_out,
		aws_response *resp, aws_error *err)
{
	return s3_call_if_match(c, method, bucket, key, query, body, body_len, content_type, out_fd, max_out,
							NULL, resp, err);
}

/* A clean-up call: short, and not cut short by a shutdown or a cancel. */
int
s3_cleanup_call(aws_client *c, const char *method, const char *bucket, const char *key, const char *query,
				aws_error *err)
{
	aws_response resp;
	int			(*saved_check) (void *) = c->abort_check;
	long		saved_timeout = c->timeout_ms,
				saved_connect = c->connect_timeout_ms;
	int			saved_retries = c->max_retries,
				rc;

	/* at most about 3 s, even at shutdown with S3 unreachable: the reconciler and lifecycle rules back it up */
	memset(&resp, 0, sizeof(resp));
	c->abort_check = NULL;
	c->timeout_ms = c->timeout_ms > 3000 ? 3000 : c->timeout_ms;
	c->connect_timeout_ms = c->connect_timeout_ms > 2000 ? 2000 : c->connect_timeout_ms;
	c->max_retries = 0;
	rc = s3_call(c, method, bucket, key, query, NULL, 0, NULL, -1, 0, &resp, err);
	c->abort_check = saved_check;
	c->timeout_ms = saved_timeout;
	c->connect_timeout_ms = saved_connect;
	c->max_retries = saved_retries;
	aws_response_free(&resp);
	return rc;
}
