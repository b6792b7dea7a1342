/*
 * s3list.c — S3 listings, one page at a time: the objects under a prefix
 * (ListObjectsV2) and the multipart uploads in progress
 * (ListMultipartUploads) (no PostgreSQL). Used by the reconciler to find
 * objects no row knows and uploads left unfinished (s3_abort_upload, in
 * s3.c, ends those).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* timegm */
#endif
#include "s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vtp_assert.h"

#define S3_LIST_MAX_ENTRIES 1000

long
s3_parse_time(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
							&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long) timegm(&tm);
}

void
s3_page_free(s3_page *page)
{
	int			i;

	for (i = 0; i < page->n; i++)
	{
		free(page->e[i].key);
		free(page->e[i].id);
	}
	free(page->e);
	page->e = NULL;
	page->n = 0;
}

/* Value of <tag> inside one element's text (len bytes). */
static bool
element_value(const char *el, size_t len, const char *tag, char *out, size_t outlen)
{
	char	   *copy = malloc(len + 1);
	bool		ok;

	if (copy == NULL)
		abort();
	memcpy(copy, el, len);
	copy[len] = '\0';
	ok = aws_xml_value(copy, tag, out, outlen);
	free(copy);
	return ok;
}

/* An ETag without its quotes, malloc'd. */
static char *
unquoted(char *s, size_t size)
{
	vtp_etag_unquote(s, strlen(s), s, size);
	return vtp_strdup(s);
}

/*
 * Every <element> … </element> of xml into page: key from key_tag, id from
 * id_tag, time from time_tag, size from <Size>.
 */
static void
collect(const char *xml, const char *element, const char *key_tag, const char *id_tag,
		const char *time_tag, s3_page *page)
{
	char		open[64],
				close[64];
	const char *p = xml;
	char	   *v = malloc(2048);

	if (v == NULL)
		abort();
	snprintf(open, sizeof(open), "<%s>", element);
	snprintf(close, sizeof(close), "</%s>", element);
	page->e = calloc(S3_LIST_MAX_ENTRIES, sizeof(s3_entry));
	if (page->e == NULL)
		abort();
	while (page->n < S3_LIST_MAX_ENTRIES && (p = strstr(p, open)) != NULL)
	{
		const char *end = strstr(p, close);
		s3_entry   *e;

		if (end == NULL)
			break;
		e = &page->e[page->n];
		if (element_value(p, (size_t) (end - p), key_tag, v, 2048) && v[0])
		{
			e->key = vtp_strdup(v);
			e->id = element_value(p, (size_t) (end - p), id_tag, v, 2048) ? unquoted(v, 2048) : vtp_strdup("");
			e->size = element_value(p, (size_t) (end - p), "Size", v, 2048) ? strtoll(v, NULL, 10) : -1;
			e->time = element_value(p, (size_t) (end - p), time_tag, v, 2048) ? s3_parse_time(v) : 0;
			page->n++;
		}
		p = end + strlen(close);
	}
	VTP_ASSERT(page->n <= S3_LIST_MAX_ENTRIES);
	free(v);
}

static bool
truncated(const char *xml)
{
	char		v[16];

	return aws_xml_value(xml, "IsTruncated", v, sizeof(v)) && strcmp(v, "true") == 0;
}

int
s3_list_objects(aws_client *c, const char *bucket, const char *prefix, const char *token,
				s3_page *page, aws_error *err)
{
	aws_response resp;
	vbuf		q = VBUF_INIT;
	int			rc;

	memset(page, 0, sizeof(*page));
	memset(&resp, 0, sizeof(resp));
	vbuf_puts(&q, "list-type=2&max-keys=1000&prefix=");
	sigv4_uri_encode(&q, prefix ? prefix : "", true);
	if (token && token[0])
	{
		vbuf_puts(&q, "&continuation-token=");
		sigv4_uri_encode(&q, token, true);
	}
	rc = s3_call(c, "GET", bucket, "", q.data, NULL, 0, NULL, -1, 0, &resp, err);
	vbuf_free(&q);
	if (rc == 0)
	{
		const char *xml = vbuf_str(&resp.body);

		collect(xml, "Contents", "Key", "ETag", "LastModified", page);
		if (!truncated(xml) || !aws_xml_value(xml, "NextContinuationToken", page->next, sizeof(page->next)))
			page->next[0] = '\0';
	}
	aws_response_free(&resp);
	return rc;
}

int
s3_list_uploads(aws_client *c, const char *bucket, const char *token, s3_page *page, aws_error *err)
{
	aws_response resp;
	vbuf		q = VBUF_INIT;
	int			rc;

	memset(page, 0, sizeof(*page));
	memset(&resp, 0, sizeof(resp));
	vbuf_puts(&q, "uploads=");
	if (token && token[0])
	{
		const char *nl = strchr(token, '\n');
		char		km[1024];

		snprintf(km, sizeof(km), "%.*s", nl ? (int) (nl - token) : (int) strlen(token), token);
		vbuf_puts(&q, "&key-marker=");
		sigv4_uri_encode(&q, km, true);
		if (nl)
		{
			vbuf_puts(&q, "&upload-id-marker=");
			sigv4_uri_encode(&q, nl + 1, true);
		}
	}
	rc = s3_call(c, "GET", bucket, "", q.data, NULL, 0, NULL, -1, 0, &resp, err);
	vbuf_free(&q);
	if (rc == 0)
	{
		const char *xml = vbuf_str(&resp.body);
		char		km[512],
					um[480];

		collect(xml, "Upload", "Key", "UploadId", "Initiated", page);
		page->next[0] = '\0';
		if (truncated(xml) && aws_xml_value(xml, "NextKeyMarker", km, sizeof(km)))
		{
			if (!aws_xml_value(xml, "NextUploadIdMarker", um, sizeof(um)))
				um[0] = '\0';
			snprintf(page->next, sizeof(page->next), "%s\n%s", km, um);
		}
	}
	aws_response_free(&resp);
	return rc;
}
