/*
 * s3event.h — S3 "object created" notification parser (pure C, no
 * PostgreSQL): several records per message, form-style key decoding, the
 * s3:TestEvent, other event kinds ignored, unknown fields ignored.
 *
 * Whoever can send to the events queue controls every byte here, so each
 * field a record carries is checked before anything uses it: the bucket by
 * S3's naming rules, the decoded key (vtp_key_error: at most 1024 bytes of
 * UTF-8 without control characters), the ETag (hex digits, an optional -N
 * part count), the sequencer (1 to S3EVENT_MAX_SEQUENCER hex digits), the
 * size (an integer from 0 to 5 TiB). A record that fails is rejected with a
 * reason, and the other records of the message still count.
 *
 * What stays possible within these bounds: a forged record can announce an
 * object that does not exist (the transcode then fails not_found), or give
 * a key's version the highest sequencer, FFFF... (32 digits), so that real
 * later announcements of that same bucket and key look older and are
 * ignored until the forged version is gone. Only the queue's policy (S3
 * alone may send; docs/aws-setup.md) keeps strangers from doing that.
 */
#ifndef VTP_S3EVENT_H
#define VTP_S3EVENT_H

#include <stdint.h>
#include <stddef.h>

typedef struct s3_record
{
	char	   *event_name;		/* e.g. ObjectCreated:Put */
	char	   *bucket;
	char	   *key;			/* decoded */
	int64_t		size;			/* -1 when absent */
	char	   *etag;			/* without quotes; "" when absent */
	char	   *sequencer;		/* "" when absent */
} s3_record;

typedef enum s3_event_kind
{
	S3EV_RECORDS,				/* zero or more ObjectCreated records */
	S3EV_TEST					/* s3:TestEvent sent when notifications are configured */
} s3_event_kind;

/* A record refused by the checks above: why, with its names escaped and cut. */
typedef struct s3_reject
{
	char		reason[512];
} s3_reject;

typedef struct s3_event
{
	s3_event_kind kind;
	int			nrecords;
	s3_record  *records;
	int			nignored;		/* records of other kinds or versions */
	int			nrejected;		/* ObjectCreated records that failed a check */
	s3_reject  *rejected;
} s3_event;

/* Most records in one notification (S3 sends one). */
#define S3EVENT_MAX_RECORDS 100
/* Longest sequencer accepted, in hex digits (S3's have 16 to 18). */
#define S3EVENT_MAX_SEQUENCER 32
/* Longest ETag accepted: 64 hex digits and a -N part count. */
#define S3EVENT_MAX_ETAG 70
/* Largest object size accepted (S3 objects stop at 5 TiB). */
#define S3EVENT_MAX_SIZE (INT64_C(5) << 40)

/* Largest notification body accepted (SQS allows 256 KiB). */
#define S3EVENT_MAX_BODY (256 * 1024)

/*
 * Returns 0 and fills ev (valid records and rejected ones), or -1 with a
 * reason in err for a body that is not an S3 notification (the caller
 * deletes such a message: it can never succeed).
 */
extern int	s3event_parse(const char *body, size_t len, s3_event *ev, char *err, size_t errlen);
extern void s3event_free(s3_event *ev);

/*
 * Decode a form-style URL-encoded key ('+' is a space, %XX a byte).
 * Returns a malloc'd string, or NULL for a bad escape or an encoded NUL.
 */
extern char *s3_key_decode(const char *in);

/*
 * Compare two sequencers of the same key as S3 says to: pad the shorter
 * with zeros on the right and compare as hexadecimal numbers (either case).
 * <0, 0, >0.
 */
extern int	s3_sequencer_cmp(const char *a, const char *b);

#endif
