/*
 * s3event.h — S3 "object created" notification parser (pure C, no
 * PostgreSQL): several records per message, form-style key decoding, the
 * s3:TestEvent, other event kinds ignored, unknown fields ignored.
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

typedef struct s3_event
{
	s3_event_kind kind;
	int			nrecords;
	s3_record  *records;
	int			nignored;		/* records of other kinds or versions */
} s3_event;

/* Largest notification body accepted (SQS allows 256 KiB). */
#define S3EVENT_MAX_BODY (256 * 1024)

/*
 * Returns 0 and fills ev, or -1 with a reason in err for a body that is not
 * an S3 notification (the caller deletes such a message: it can never
 * succeed).
 */
extern int	s3event_parse(const char *body, size_t len, s3_event *ev, char *err, size_t errlen);
extern void s3event_free(s3_event *ev);

/*
 * Decode a form-style URL-encoded key ('+' is a space, %XX a byte).
 * Returns a malloc'd string, or NULL for a bad escape or an encoded NUL.
 */
extern char *s3_key_decode(const char *in);

/*
 * Compare two sequencers of the same key: pads the shorter with zeros and
 * compares as strings. <0, 0, >0.
 */
extern int	s3_sequencer_cmp(const char *a, const char *b);

#endif
