/*
 * s3.c — S3 object calls: HEAD, GET to a file, PUT (single or multipart from
 * a file, one part in memory at a time), DELETE, AbortMultipartUpload,
 * presigned URLs (no PostgreSQL). Every request and presigned URL is built
 * by s3_locate (s3_request.c), which refuses a bucket that is not a valid S3
 * bucket name before anything is sent.
 */
#include "s3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtp_assert.h"

/* A local file could not be opened, read or written (errno says why): worth a retry. */
static void
local_error(aws_error *err, const char *what, const char *path)
{
	aws_error_set(err, 0, "LocalFile", true, "could not %s \"%s\": %s", what, path, strerror(errno));
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
			   int64_t max_bytes, const char *if_match, aws_error *err)
{
	aws_response resp;
	int			fd,
				rc;

	memset(&resp, 0, sizeof(resp));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		local_error(err, "create", path);
		return -1;
	}
	rc = s3_call_if_match(c, "GET", bucket, key, NULL, NULL, 0, NULL, fd, max_bytes, if_match, &resp, err);
	if (rc == 0 && resp.content_length >= 0 && resp.written != resp.content_length)
	{
		aws_error_set(err, 0, "ShortRead", true, "got %lld of %lld bytes",
					  (long long) resp.written, (long long) resp.content_length);
		rc = -1;
	}
	if (close(fd) != 0 && rc == 0)
	{
		local_error(err, "write", path);
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

void
s3_stream_begin(s3_stream *st, aws_client *c, const char *bucket, const char *key,
				const char *content_type)
{
	memset(st, 0, sizeof(*st));
	st->c = c;
	vtp_strlcpy(st->bucket, bucket, sizeof(st->bucket));
	st->key = strdup(key);
	st->content_type = strdup(content_type ? content_type : "application/octet-stream");
	st->part_size = c->part_size < S3_MIN_PART ? S3_MIN_PART : c->part_size;
	if (st->key == NULL || st->content_type == NULL)
		abort();
	VTP_ASSERT(st->part_size >= S3_MIN_PART);
}

/* Upload the buffered bytes as the next part (starting the upload if needed). */
static int
stream_flush_part(s3_stream *st, aws_error *err)
{
	aws_response resp;
	vbuf		q = VBUF_INIT;
	int			rc = -1;

	memset(&resp, 0, sizeof(resp));
	if (st->upload_id[0] == '\0')
	{
		if (s3_call(st->c, "POST", st->bucket, st->key, "uploads=", "", 0, st->content_type, -1, 0, &resp, err) != 0)
			goto done;
		if (!aws_xml_value(vbuf_str(&resp.body), "UploadId", st->upload_id, sizeof(st->upload_id)) ||
			!st->upload_id[0])
		{
			st->upload_id[0] = '\0';
			aws_error_set(err, 0, "BadResponse", true, "CreateMultipartUpload answered without an UploadId");
			goto done;
		}
		vbuf_puts(&st->complete, "<CompleteMultipartUpload>");
	}
	if (st->parts == S3_MAX_PARTS)
	{
		aws_error_set(err, 0, "TooManyParts", false, "more than 10,000 parts: raise vtp.s3_part_size");
		goto done;
	}
	/* every part but the last is a whole part (S3 refuses smaller ones) */
	VTP_ASSERT(st->parts >= 0 && st->parts < S3_MAX_PARTS);
	VTP_ASSERT(st->buf.len <= st->part_size && st->part_size >= S3_MIN_PART);
	vbuf_printf(&q, "partNumber=%d&uploadId=", st->parts + 1);
	sigv4_uri_encode(&q, st->upload_id, true);
	if (s3_call(st->c, "PUT", st->bucket, st->key, q.data, st->buf.data ? st->buf.data : "", st->buf.len,
				"application/octet-stream", -1, 0, &resp, err) != 0)
		goto done;
	if (resp.etag[0] == '\0')
	{
		aws_error_set(err, 0, "BadResponse", true, "UploadPart answered without an ETag");
		goto done;
	}
	st->parts++;
	vbuf_printf(&st->complete, "<Part><PartNumber>%d</PartNumber><ETag>&quot;%s&quot;</ETag></Part>",
				st->parts, resp.etag);
	vbuf_reset(&st->buf);
	rc = 0;
done:
	vbuf_free(&q);
	aws_response_free(&resp);
	return rc;
}

int
s3_stream_write(s3_stream *st, const void *data, size_t len, aws_error *err)
{
	const char *p = data;

	while (len > 0)
	{
		size_t		room = st->part_size - st->buf.len;
		size_t		n = len < room ? len : room;

		if (st->buf.cap < st->part_size + 1)
			vbuf_reserve(&st->buf, st->part_size - st->buf.len);
		vbuf_append(&st->buf, p, n);
		st->total += (int64_t) n;
		p += n;
		len -= n;
		VTP_ASSERT(st->buf.len <= st->part_size);
		if (st->buf.len == st->part_size && stream_flush_part(st, err) != 0)
			return -1;
	}
	return 0;
}

int
s3_stream_finish(s3_stream *st, char *etag, size_t etaglen, aws_error *err)
{
	aws_response resp;
	vbuf		q = VBUF_INIT;
	char		code[96];
	int			rc = -1;

	memset(&resp, 0, sizeof(resp));
	if (st->upload_id[0] == '\0')
	{
		/* it all fitted in one part: a plain PUT */
		rc = s3_call(st->c, "PUT", st->bucket, st->key, NULL, st->buf.data ? st->buf.data : "", st->buf.len,
					 st->content_type, -1, 0, &resp, err);
		if (rc == 0)
			vtp_strlcpy(etag, resp.etag, etaglen);
		st->done = rc == 0;
		aws_response_free(&resp);
		return rc;
	}
	if (st->buf.len > 0 && stream_flush_part(st, err) != 0)
		goto done;
	vbuf_puts(&st->complete, "</CompleteMultipartUpload>");
	vbuf_puts(&q, "uploadId=");
	sigv4_uri_encode(&q, st->upload_id, true);
	if (s3_call(st->c, "POST", st->bucket, st->key, q.data, st->complete.data, st->complete.len,
				"application/xml", -1, 0, &resp, err) != 0)
		goto done;
	/* CompleteMultipartUpload may answer 200 with an error in the body */
	if (strstr(vbuf_str(&resp.body), "<Error>") && aws_xml_value(resp.body.data, "Code", code, sizeof(code)))
	{
		char		msg[512];

		if (!aws_xml_value(resp.body.data, "Message", msg, sizeof(msg)))
			vtp_strlcpy(msg, "CompleteMultipartUpload failed", sizeof(msg));
		aws_error_set(err, 0, code, strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0,
					  "%s", msg);
		goto done;
	}
	{
		char		e[160];

		if (!aws_xml_value(resp.body.data, "ETag", e, sizeof(e)))
			e[0] = '\0';
		vtp_etag_unquote(e, strlen(e), etag, etaglen);
	}
	st->done = true;
	rc = 0;
done:
	vbuf_free(&q);
	aws_response_free(&resp);
	return rc;
}

void
s3_stream_abort(s3_stream *st)
{
	if (!st->done && st->upload_id[0])
	{
		aws_error	ignored;

		s3_abort_upload(st->c, st->bucket, st->key, st->upload_id, &ignored);
	}
	s3_stream_free(st);
}

int
s3_abort_upload(aws_client *c, const char *bucket, const char *key, const char *upload_id, aws_error *err)
{
	vbuf		q = VBUF_INIT;
	int			rc;

	vbuf_puts(&q, "uploadId=");
	sigv4_uri_encode(&q, upload_id, true);
	rc = s3_cleanup_call(c, "DELETE", bucket, key, q.data, err);
	vbuf_free(&q);
	if (rc != 0 && err->http_status == 404)
		rc = 0;					/* NoSuchUpload: already gone */
	return rc;
}

void
s3_stream_free(s3_stream *st)
{
	vbuf_free(&st->buf);
	vbuf_free(&st->complete);
	free(st->key);
	free(st->content_type);
	st->key = st->content_type = NULL;
}

int
s3_put_file(aws_client *c, const char *bucket, const char *key, const char *path,
			const char *content_type, aws_error *err)
{
	struct stat stt;
	int			fd,
				rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &stt) != 0)
	{
		local_error(err, "open", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = s3_put_fd(c, bucket, key, fd, stt.st_size, path, content_type, err);
	close(fd);
	return rc;
}

int
s3_presign_url(aws_client *c, const char *method, const char *bucket, const char *key,
			   long now, long expires_seconds, vbuf *url, aws_error *err)
{
	return s3_presign_sized(c, method, bucket, key, now, expires_seconds, -1, url, err);
}

int
s3_presign_sized(aws_client *c, const char *method, const char *bucket, const char *key,
				 long now, long expires_seconds, int64_t content_length, vbuf *url, aws_error *err)
{
	s3_loc		l;
	char		amz_date[17];

	if (aws_client_creds(c, err) != 0 || !s3_locate(c, bucket, key, &l, err))
		return -1;
	sigv4_amz_date(now, amz_date);
	sigv4_presign_sized(url, method, l.base.data, l.host.data, l.path.data, NULL, &c->creds,
						c->region, "s3", amz_date, expires_seconds, (long long) content_length);
	s3_loc_free(&l);
	return 0;
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

/*
 * PUT size bytes read from fd (from where it stands), which the caller
 * opened and checked: nothing is reopened by name. name is for errors only.
 * Fewer bytes than size is an error; more are not sent.
 */
int
s3_put_fd(aws_client *c, const char *bucket, const char *key, int fd, int64_t size, const char *name,
		  const char *content_type, aws_error *err)
{
	s3_stream	st;
	char		etag[128];
	char	   *chunk;
	int64_t		left = size;
	int			rc = 0;

	s3_stream_begin(&st, c, bucket, key, content_type);
	/* grow the part size if the file would need more than 10,000 parts */
	while ((size + (off_t) st.part_size - 1) / (off_t) st.part_size > S3_MAX_PARTS)
		st.part_size *= 2;
	VTP_ASSERT(size < 0 || (size + (off_t) st.part_size - 1) / (off_t) st.part_size <= S3_MAX_PARTS);
	chunk = malloc(1024 * 1024);
	if (chunk == NULL)
		abort();
	while (left > 0)
	{
		size_t		got;

		if (read_full(fd, chunk, left < 1024 * 1024 ? (size_t) left : 1024 * 1024, &got) != 0)
		{
			local_error(err, "read", name);
			rc = -1;
			break;
		}
		if (got == 0)
		{
			aws_error_set(err, 0, "ShortRead", false, "\"%s\" ended after %lld of %lld bytes", name,
						  (long long) (size - left), (long long) size);
			rc = -1;
			break;
		}
		if ((rc = s3_stream_write(&st, chunk, got, err)) != 0)
			break;
		left -= (int64_t) got;
	}
	free(chunk);
	if (rc == 0)
		rc = s3_stream_finish(&st, etag, sizeof(etag), err);
	s3_stream_abort(&st);		/* no-op after success; frees */
	return rc;
}
