/*
 * s3.c — S3 object calls: HEAD, GET to a file, PUT (single or multipart from
 * a file, one part in memory at a time), DELETE (no PostgreSQL).
 */
#include "aws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S3_MIN_PART (5 * 1024 * 1024)
#define S3_MAX_PARTS 10000

typedef struct s3_loc
{
	vbuf		base;
	vbuf		host;
	vbuf		path;
} s3_loc;

/* Path-style against a configured endpoint; virtual-hosted against AWS. */
static void
s3_locate(aws_client *c, const char *bucket, const char *key, s3_loc *l)
{
	memset(l, 0, sizeof(*l));
	if (c->s3_endpoint[0])
	{
		const char *e = c->s3_endpoint;
		const char *hs = strstr(e, "://");
		size_t		n = strlen(e);

		while (n > 0 && e[n - 1] == '/')
			n--;
		vbuf_append(&l->base, e, n);
		hs = hs ? hs + 3 : e;
		vbuf_append(&l->host, hs, strcspn(hs, "/"));
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
}

static void
s3_loc_free(s3_loc *l)
{
	vbuf_free(&l->base);
	vbuf_free(&l->host);
	vbuf_free(&l->path);
}

static int
s3_call(aws_client *c, const char *method, const char *bucket, const char *key, const char *query,
		const void *body, size_t body_len, const char *content_type, int out_fd, int64_t max_out,
		aws_response *resp, aws_error *err)
{
	s3_loc		l;
	aws_request r;
	int			rc;

	s3_locate(c, bucket, key, &l);
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
	rc = aws_perform(c, &r, resp, err);
	s3_loc_free(&l);
	return rc;
}

int
s3_head(aws_client *c, const char *bucket, const char *key, s3_object_info *info, aws_error *err)
{
	aws_response resp;
	int			rc;

	memset(&resp, 0, sizeof(resp));
	rc = s3_call(c, "HEAD", bucket, key, NULL, NULL, 0, NULL, -1, 0, &resp, err);
	if (rc == 0)
	{
		info->size = resp.content_length;
		vtp_strlcpy(info->etag, resp.etag, sizeof(info->etag));
	}
	aws_response_free(&resp);
	return rc;
}

int
s3_get_to_file(aws_client *c, const char *bucket, const char *key, const char *path,
			   int64_t max_bytes, aws_error *err)
{
	aws_response resp;
	int			fd,
				rc;

	memset(&resp, 0, sizeof(resp));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		memset(err, 0, sizeof(*err));
		vtp_strlcpy(err->code, "LocalFile", sizeof(err->code));
		snprintf(err->message, sizeof(err->message), "could not create \"%s\": %s", path, strerror(errno));
		err->transient = true;
		return -1;
	}
	rc = s3_call(c, "GET", bucket, key, NULL, NULL, 0, NULL, fd, max_bytes, &resp, err);
	if (rc == 0 && resp.content_length >= 0 && resp.written != resp.content_length)
	{
		vtp_strlcpy(err->code, "ShortRead", sizeof(err->code));
		snprintf(err->message, sizeof(err->message), "got %lld of %lld bytes",
				 (long long) resp.written, (long long) resp.content_length);
		err->transient = true;
		rc = -1;
	}
	if (close(fd) != 0 && rc == 0)
	{
		vtp_strlcpy(err->code, "LocalFile", sizeof(err->code));
		snprintf(err->message, sizeof(err->message), "could not write \"%s\": %s", path, strerror(errno));
		err->transient = true;
		rc = -1;
	}
	aws_response_free(&resp);
	return rc;
}

int
s3_put_bytes(aws_client *c, const char *bucket, const char *key, const void *data, size_t len,
			 const char *content_type, aws_error *err)
{
	aws_response resp;
	int			rc;

	memset(&resp, 0, sizeof(resp));
	rc = s3_call(c, "PUT", bucket, key, NULL, data ? data : "", len,
				 content_type ? content_type : "application/octet-stream", -1, 0, &resp, err);
	aws_response_free(&resp);
	return rc;
}

static int
read_full(int fd, char *buf, size_t n, size_t *got)
{
	size_t		off = 0;

	while (off < n)
	{
		ssize_t		r = read(fd, buf + off, n - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		off += (size_t) r;
	}
	*got = off;
	return 0;
}

static void
local_error(aws_error *err, const char *what, const char *path)
{
	memset(err, 0, sizeof(*err));
	vtp_strlcpy(err->code, "LocalFile", sizeof(err->code));
	snprintf(err->message, sizeof(err->message), "could not %s \"%s\": %s", what, path, strerror(errno));
	err->transient = true;
}

static int
multipart_put(aws_client *c, const char *bucket, const char *key, int fd, int64_t size,
			  size_t part, const char *content_type, const char *path, aws_error *err)
{
	aws_response resp;
	char		upload_id[1024];
	vbuf		q = VBUF_INIT,
				complete = VBUF_INIT;
	char	   *buf = NULL;
	int			partno,
				nparts = (int) ((size + (int64_t) part - 1) / (int64_t) part),
				rc = -1;
	aws_error	ignored;

	memset(&resp, 0, sizeof(resp));
	if (s3_call(c, "POST", bucket, key, "uploads=", "", 0, content_type, -1, 0, &resp, err) != 0)
		goto done;
	if (!aws_xml_value(vbuf_str(&resp.body), "UploadId", upload_id, sizeof(upload_id)) || !upload_id[0])
	{
		memset(err, 0, sizeof(*err));
		vtp_strlcpy(err->code, "BadResponse", sizeof(err->code));
		vtp_strlcpy(err->message, "CreateMultipartUpload answered without an UploadId", sizeof(err->message));
		err->transient = true;
		goto done;
	}
	buf = malloc(part);
	if (buf == NULL)
		abort();
	vbuf_puts(&complete, "<CompleteMultipartUpload>");
	for (partno = 1; partno <= nparts; partno++)
	{
		size_t		got;

		if (read_full(fd, buf, part, &got) != 0 || got == 0)
		{
			local_error(err, "read", path);
			goto abort_upload;
		}
		vbuf_reset(&q);
		vbuf_printf(&q, "partNumber=%d&uploadId=", partno);
		sigv4_uri_encode(&q, upload_id, true);
		if (s3_call(c, "PUT", bucket, key, q.data, buf, got, "application/octet-stream", -1, 0, &resp, err) != 0)
			goto abort_upload;
		if (resp.etag[0] == '\0')
		{
			memset(err, 0, sizeof(*err));
			vtp_strlcpy(err->code, "BadResponse", sizeof(err->code));
			vtp_strlcpy(err->message, "UploadPart answered without an ETag", sizeof(err->message));
			err->transient = true;
			goto abort_upload;
		}
		vbuf_printf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>&quot;%s&quot;</ETag></Part>",
					partno, resp.etag);
	}
	vbuf_puts(&complete, "</CompleteMultipartUpload>");
	vbuf_reset(&q);
	vbuf_puts(&q, "uploadId=");
	sigv4_uri_encode(&q, upload_id, true);
	if (s3_call(c, "POST", bucket, key, q.data, complete.data, complete.len, "application/xml", -1, 0, &resp, err) != 0)
		goto abort_upload;
	/* CompleteMultipartUpload may answer 200 with an error in the body */
	{
		char		code[96];

		if (aws_xml_value(vbuf_str(&resp.body), "Code", code, sizeof(code)) &&
			strstr(resp.body.data, "<Error>"))
		{
			memset(err, 0, sizeof(*err));
			vtp_strlcpy(err->code, code, sizeof(err->code));
			aws_xml_value(resp.body.data, "Message", err->message, sizeof(err->message));
			err->transient = strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0;
			goto abort_upload;
		}
	}
	rc = 0;
	goto done;

abort_upload:
	vbuf_reset(&q);
	vbuf_puts(&q, "uploadId=");
	sigv4_uri_encode(&q, upload_id, true);
	s3_call(c, "DELETE", bucket, key, q.data, NULL, 0, NULL, -1, 0, &resp, &ignored);
done:
	free(buf);
	vbuf_free(&q);
	vbuf_free(&complete);
	aws_response_free(&resp);
	return rc;
}

int
s3_put_file(aws_client *c, const char *bucket, const char *key, const char *path,
			const char *content_type, aws_error *err)
{
	struct stat st;
	int			fd,
				rc;
	size_t		part = c->part_size < S3_MIN_PART ? S3_MIN_PART : c->part_size;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
	{
		local_error(err, "open", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* grow the part size if the file would need more than 10,000 parts */
	while ((st.st_size + (off_t) part - 1) / (off_t) part > S3_MAX_PARTS)
		part *= 2;
	if (st.st_size <= (off_t) part)
	{
		char	   *buf = malloc((size_t) st.st_size + 1);
		size_t		got;

		if (buf == NULL)
			abort();
		if (read_full(fd, buf, (size_t) st.st_size, &got) != 0 || got != (size_t) st.st_size)
		{
			local_error(err, "read", path);
			rc = -1;
		}
		else
			rc = s3_put_bytes(c, bucket, key, buf, got, content_type, err);
		free(buf);
	}
	else
		rc = multipart_put(c, bucket, key, fd, st.st_size, part,
						   content_type ? content_type : "application/octet-stream", path, err);
	close(fd);
	return rc;
}

int
s3_delete(aws_client *c, const char *bucket, const char *key, aws_error *err)
{
	aws_response resp;
	int			rc;

	memset(&resp, 0, sizeof(resp));
	rc = s3_call(c, "DELETE", bucket, key, NULL, NULL, 0, NULL, -1, 0, &resp, err);
	if (rc != 0 && err->http_status == 404)
		rc = 0;					/* already gone: deleting is idempotent */
	aws_response_free(&resp);
	return rc;
}
