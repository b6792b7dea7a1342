/*
 * aws.h — S3 and SQS over their HTTP APIs with libcurl, signed with vtp's own
 * SigV4 (no PostgreSQL: used by workers and SQL functions, which wrap errors
 * into ereport). Each aws_client keeps its own reusable curl handle, so a
 * client serves one thread at a time; a process may hold several (the
 * transcode worker one for transfers and one for heartbeats, the ingest
 * worker one that polls and one that sends). Timeouts on every call; retries
 * with capped exponential backoff and full jitter for throttling, 5xx and
 * network errors only.
 *
 *   aws.c         the client, one request and its retries (aws_int.h)
 *   aws_error.c   aws_error_set and what a failure means
 *   aws_parse.c   XML values, ETags, endpoint URLs, region names
 *   s3_request.c  where an S3 request goes, one S3 call (s3_int.h)
 *   s3.c          objects, the streaming (multipart) upload, presigned URLs
 *   s3list.c      listings of objects and of unfinished uploads
 *   sqs.c         SQS
 *   sigv4.h       the signature;  creds.h, cred_int.h  the credential chain
 */
#ifndef VTP_AWS_H
#define VTP_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "names.h"
#include "sigv4.h"

typedef struct aws_client
{
	char		region[64];
	char		s3_endpoint[512];	/* "" = AWS, virtual-hosted style */
	char		sqs_endpoint[512];	/* "" = https://sqs.<region>.amazonaws.com */
	long		connect_timeout_ms;
	long		timeout_ms;		/* whole request, small calls */
	int			max_retries;
	size_t		part_size;		/* multipart part size, >= 5 MiB */
	sigv4_creds creds;
	/*
	 * When set, creds are taken from the process's credential chain
	 * (creds.h) before every attempt, under this profile, so temporary
	 * credentials are replaced before they expire, and once more when AWS
	 * answers that they have (ExpiredToken).
	 */
	bool		creds_chain;
	char		creds_profile[128];
	/* return nonzero to abort a transfer (shutdown, query cancel) */
	int			(*abort_check) (void *arg);
	/* sleep ms between retries; return nonzero if aborted meanwhile */
	int			(*sleep_fn) (long ms, void *arg);
	/*
	 * When set, requests run on libcurl's multi interface and this is called
	 * about every 200 ms between polls of the socket, outside any libcurl
	 * callback: it may do other work (on another client) while a long poll
	 * waits, so the poll need not be aborted.
	 */
	void		(*between) (void *arg);
	void	   *cb_arg;
	void	   *curl;			/* internal: this client's own handle, made on first use */
} aws_client;

typedef struct aws_error
{
	long		http_status;	/* 0 when no answer */
	int			curl_code;
	bool		transient;		/* worth retrying later */
	bool		aborted;		/* abort_check said stop */
	char		code[96];		/* AWS error code, or a curl/vtp one */
	char		message[512];
} aws_error;

typedef struct aws_request
{
	const char *method;
	const char *service;		/* "s3" or "sqs" */
	const char *base;			/* scheme://host[:port] */
	const char *host;			/* Host header */
	const char *path;			/* percent-encoded */
	const char *query;			/* raw; canonicalised before use */
	const char *content_type;
	const char *amz_target;
	const char *range;
	const char *if_match;		/* an ETag, sent quoted */
	const void *body;
	size_t		body_len;
	int			out_fd;			/* >= 0: a 2xx body goes to this file */
	int64_t		max_out;		/* limit for out_fd, 0 = none */
	long		extra_timeout_ms;	/* e.g. the long-poll wait */
} aws_request;

typedef struct aws_response
{
	long		status;
	vbuf		body;			/* error bodies, and 2xx bodies without out_fd */
	char		etag[128];		/* unquoted */
	int64_t		content_length;
	int64_t		written;		/* bytes written to out_fd */
} aws_response;

/* Zero c and set the defaults: us-east-1, 5 s to connect, 30 s a call, 4 retries, 8 MiB parts. */
extern void aws_client_defaults(aws_client *c);
/* Use the credential chain (see creds_chain); 0, or -1 with the reason in err. */
extern int	aws_client_use_chain(aws_client *c, const char *profile, char *err, size_t errlen);
/* Refresh c->creds from the chain when c uses it; 0 or -1 with err set. */
extern int	aws_client_creds(aws_client *c, aws_error *err);
/* Free the curl handle and wipe the credentials; c can be used again. */
extern void aws_client_cleanup(aws_client *c);
/* Free the body of a response. */
extern void aws_response_free(aws_response *r);

/* Perform with retries. 0 on a 2xx answer, else -1 with err. */
extern int	aws_perform(aws_client *c, const aws_request *req, aws_response *resp, aws_error *err);

/*
 * Fill err: the HTTP status (0 when no answer), the code, whether a retry may
 * help, and a message from fmt; curl_code 0, not aborted. The one way to fill
 * an aws_error: other rooms (src/job, src/pg, the workers) should use it too.
 */
extern void aws_error_set(aws_error *err, long http_status, const char *code, bool transient,
						  const char *fmt,...) __attribute__((format(printf, 5, 6)));

/* --- text parsing (aws_parse.c) --- */

/* Value of the first <tag>…</tag> in xml, entities decoded, cut to outlen. */
extern bool aws_xml_value(const char *xml, const char *tag, char *out, size_t outlen);

/*
 * An endpoint URL split for a request: base is the URL without trailing '/'
 * (what the path is appended to), host the Host header's value (what follows
 * "://" up to the next '/'). Appends to base and host.
 */
extern void aws_endpoint_parse(const char *url, vbuf *base, vbuf *host);

/* Is region a name that fits in a host name ([a-z0-9-], as AWS's are)? */
extern bool aws_region_ok(const char *region);

/* --- S3 --- */
typedef struct s3_object_info
{
	int64_t		size;
	char		etag[128];
} s3_object_info;

/* HEAD: the object's size and ETag. 0, or -1 with err (404: no such object). */
extern int	s3_head(aws_client *c, const char *bucket, const char *key, s3_object_info *info, aws_error *err);
/* GET to a file; with if_match (an ETag) only that version (else PreconditionFailed, 412). */
extern int	s3_get_to_file(aws_client *c, const char *bucket, const char *key, const char *path,
						   int64_t max_bytes, const char *if_match, aws_error *err);
/* PUT a file (multipart when larger than a part). 0 or -1 with err. */
extern int	s3_put_file(aws_client *c, const char *bucket, const char *key, const char *path,
						const char *content_type, aws_error *err);
/* PUT len bytes from memory in one request. 0 or -1 with err. */
extern int	s3_put_bytes(aws_client *c, const char *bucket, const char *key, const void *data,
						 size_t len, const char *content_type, aws_error *err);
/* DELETE an object; one already gone is not an error. */
extern int	s3_delete(aws_client *c, const char *bucket, const char *key, aws_error *err);
/* PUT size bytes from an fd the caller opened and checked (name for errors). */
extern int	s3_put_fd(aws_client *c, const char *bucket, const char *key, int fd, int64_t size,
					  const char *name, const char *content_type, aws_error *err);

/*
 * Streaming upload: bytes are buffered up to one part (vtp.s3_part_size) and
 * sent as they fill, so memory stays flat whatever the size. A body that
 * fits in one part becomes a plain PUT at finish. Abort (or free) always.
 */
typedef struct s3_stream
{
	aws_client *c;
	char		bucket[64];
	char	   *key;
	char	   *content_type;
	size_t		part_size;
	char		upload_id[1024];
	int			parts;
	int64_t		total;
	bool		done;
	vbuf		buf;
	vbuf		complete;
} s3_stream;

/* Start a stream (nothing is sent until a part fills or finish). */
extern void s3_stream_begin(s3_stream *st, aws_client *c, const char *bucket, const char *key,
							const char *content_type);
/* Buffer data, sending each part as it fills. 0 or -1 with err. */
extern int	s3_stream_write(s3_stream *st, const void *data, size_t len, aws_error *err);
/* Send what is left and complete the upload; the object's ETag (unquoted) in etag. */
extern int	s3_stream_finish(s3_stream *st, char *etag, size_t etaglen, aws_error *err);
/* Abort an unfinished multipart upload (a short call, not cut by a cancel), then free. */
extern void s3_stream_abort(s3_stream *st);
/* Free the stream's memory only (after finish, or when nothing was sent). */
extern void s3_stream_free(s3_stream *st);

/* Listings (s3list.c): one page at a time; pass the returned token back for the next. */
typedef struct s3_entry
{
	char	   *key;
	char	   *id;				/* ETag of an object (unquoted), UploadId of an upload */
	int64_t		size;
	long		time;			/* LastModified / Initiated, seconds since the epoch; 0 unknown */
} s3_entry;

typedef struct s3_page
{
	s3_entry   *e;
	int			n;
	char		next[1024];		/* "" when this was the last page */
} s3_page;

/* ListObjectsV2 under prefix: one page of at most 1000 objects (id: ETag). */
extern int	s3_list_objects(aws_client *c, const char *bucket, const char *prefix, const char *token,
							s3_page *page, aws_error *err);
/* In-progress multipart uploads; token is "key-marker\nupload-id-marker". */
extern int	s3_list_uploads(aws_client *c, const char *bucket, const char *token, s3_page *page,
							aws_error *err);
/* Free the entries of a page. */
extern void s3_page_free(s3_page *page);
/* AbortMultipartUpload (s3.c): a short call a cancel does not cut; one already gone is not an error. */
extern int	s3_abort_upload(aws_client *c, const char *bucket, const char *key, const char *upload_id,
							aws_error *err);
/* S3's ISO 8601 times (2026-12-02T05:00:00.000Z) as seconds since the epoch; 0 when unreadable. */
extern long s3_parse_time(const char *iso8601);

/*
 * A presigned URL (GET or PUT) for an object, valid expires_seconds from
 * now. -1 (err says why, url untouched) for a bucket that is not a valid S3
 * bucket name.
 */
extern int	s3_presign_url(aws_client *c, const char *method, const char *bucket, const char *key,
						   long now, long expires_seconds, vbuf *url, aws_error *err);
/* With Content-Length signed (>= 0): the PUT must carry exactly that many bytes. */
extern int	s3_presign_sized(aws_client *c, const char *method, const char *bucket, const char *key,
							 long now, long expires_seconds, int64_t content_length, vbuf *url, aws_error *err);

/* --- SQS (JSON 1.0 protocol) --- */
typedef struct sqs_message
{
	char	   *message_id;
	char	   *receipt_handle;
	char	   *body;
	int			receive_count;
} sqs_message;

/* SendMessage. 0 or -1 with err. */
extern int	sqs_send(aws_client *c, const char *queue_url, const char *body, aws_error *err);
/*
 * ReceiveMessage: up to max messages, long-polling wait_seconds; a
 * visibility_seconds < 0 keeps the queue's own. *msgs to sqs_messages_free().
 */
extern int	sqs_receive(aws_client *c, const char *queue_url, int max, int wait_seconds,
						int visibility_seconds, sqs_message **msgs, int *nmsgs, aws_error *err);
/* Free what sqs_receive returned. */
extern void sqs_messages_free(sqs_message *msgs, int n);
/* DeleteMessage by receipt handle. 0 or -1 with err. */
extern int	sqs_delete(aws_client *c, const char *queue_url, const char *receipt, aws_error *err);
/* ChangeMessageVisibility: the message stays hidden seconds from now. */
extern int	sqs_change_visibility(aws_client *c, const char *queue_url, const char *receipt,
								  int seconds, aws_error *err);

/* GetQueueAttributes (All): the "Attributes" object, to json_free(); NULL on error. */
struct json_value;
extern struct json_value *sqs_get_attributes(aws_client *c, const char *queue_url, aws_error *err);

#endif
