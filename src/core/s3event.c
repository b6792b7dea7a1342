/*
 * s3event.c — parse S3 event notification JSON into records, each field
 * checked, and the refused records with their reasons (pure C).
 */
#include "s3event.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "names.h"

char *
s3_key_decode(const char *in)
{
	size_t		n = strlen(in);
	char	   *out = malloc(n + 1);
	char	   *o = out;
	const char *p;

	if (out == NULL)
		abort();
	for (p = in; *p; p++)
	{
		if (*p == '+')
			*o++ = ' ';
		else if (*p == '%')
		{
			int			h = p[1] ? vtp_hexval(p[1]) : -1;
			int			l = (h >= 0 && p[2]) ? vtp_hexval(p[2]) : -1;

			if (h < 0 || l < 0 || (h == 0 && l == 0))
			{
				free(out);
				return NULL;
			}
			*o++ = (char) (h * 16 + l);
			p += 2;
		}
		else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

int
s3_sequencer_cmp(const char *a, const char *b)
{
	size_t		la = strlen(a),
				lb = strlen(b),
				n = la > lb ? la : lb,
				i;

	for (i = 0; i < n; i++)
	{
		int			da = i < la ? vtp_hexval(a[i]) : 0;
		int			db = i < lb ? vtp_hexval(b[i]) : 0;

		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

/* Are the n bytes at s all hex digits? */
static bool
all_hex(const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (vtp_hexval(s[i]) < 0)
			return false;
	return true;
}

/*
 * Why an ETag (quotes already removed) is not one S3 makes: hex digits,
 * then "-N" (1 to 10,000 parts) for a multipart upload. "" is no ETag.
 */
static const char *
etag_error(const char *e)
{
	size_t		n = strlen(e);
	const char *dash = strchr(e, '-');
	size_t		hex = dash ? (size_t) (dash - e) : n;

	if (n == 0)
		return NULL;
	if (n > S3EVENT_MAX_ETAG || hex == 0 || hex > 64 || !all_hex(e, hex))
		return "eTag is not hex digits";
	if (dash)
	{
		const char *p = dash + 1;
		long		parts = 0;

		if (*p == '\0' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
			return "eTag has a part count that is not a number";
		parts = strtol(p, NULL, 10);
		if (parts < 1 || parts > 10000)
			return "eTag has a part count outside 1 to 10000";
	}
	return NULL;
}

/* Why a sequencer is not S3's: 1 to S3EVENT_MAX_SEQUENCER hex digits ("" is none). */
static const char *
sequencer_error(const char *s)
{
	size_t		n = strlen(s);

	if (n > S3EVENT_MAX_SEQUENCER)
		return "sequencer has more than 32 hex digits";
	if (!all_hex(s, n))
		return "sequencer is not hex digits";
	return NULL;
}

/* Strip the quotes (and blanks) that some producers leave around ETags: vtp_etag_unquote. */
static char *
clean_etag(const char *s)
{
	char	   *d = vtp_strdup(s);

	vtp_etag_unquote(d, strlen(d), d, strlen(d) + 1);
	return d;
}

/* A string member: its value, "" when absent; false when present but not a string. */
static bool
optional_str(const json_value *obj, const char *name, const char **out)
{
	const json_value *v = json_get(obj, name);

	*out = v && v->type == JSON_STRING ? v->str : "";
	return v == NULL || v->type == JSON_STRING || v->type == JSON_NULL;
}

/* Say why a record is refused, naming its bucket and key escaped and cut. */
static void
reject(s3_reject *rj, const char *why, const char *bucket, const char *key)
{
	char		b[80],
				k[VTP_LOG_NAME];

	vtp_escape_name(bucket ? bucket : "", b, sizeof(b));
	vtp_escape_name(key ? key : "", k, sizeof(k));
	snprintf(rj->reason, sizeof(rj->reason), "%s (bucket \"%s\", key \"%s\")", why, b, k);
}

/* The checks of one ObjectCreated record's fields: NULL if they all pass. */
static const char *
record_error(const json_value *object, const char *bname, const char *key, s3_record *out)
{
	const json_value *size = json_get(object, "size");
	const char *etag,
			   *seq,
			   *why;

	if ((why = vtp_bucket_name_error(bname)) != NULL)
		return why;
	if ((why = vtp_key_error(key, strlen(key))) != NULL)
		return why;
	if (!optional_str(object, "eTag", &etag) || !optional_str(object, "sequencer", &seq))
		return "eTag or sequencer is not a string";
	out->etag = clean_etag(etag);
	if ((why = etag_error(out->etag)) != NULL)
		return why;
	if ((why = sequencer_error(seq)) != NULL)
		return why;
	out->size = -1;
	if (size && size->type != JSON_NULL &&
		!json_get_int(object, "size", 0, S3EVENT_MAX_SIZE, &out->size))
		return "size is not a whole number from 0 to 5 TiB";
	out->sequencer = vtp_strdup(seq);
	return NULL;
}

/*
 * One record. Returns 1 if taken, 0 if ignored (other event kind or
 * version), 2 if refused (a reason in rj).
 */
static int
parse_record(const json_value *r, s3_record *out, s3_reject *rj)
{
	const char *version = json_get_str(r, "eventVersion");
	const char *source = json_get_str(r, "eventSource");
	const char *name = json_get_str(r, "eventName");
	const json_value *s3 = json_get(r, "s3");
	const json_value *bucket = json_get(s3, "bucket");
	const json_value *object = json_get(s3, "object");
	const char *bname = json_get_str(bucket, "name");
	const char *rawkey = json_get_str(object, "key");
	const char *why;
	char	   *key;

	if (r->type != JSON_OBJECT)
	{
		reject(rj, "a record is not a JSON object", NULL, NULL);
		return 2;
	}
	if (version == NULL || name == NULL)
	{
		reject(rj, "record without eventVersion or eventName", bname, rawkey);
		return 2;
	}
	/* Only the major version matters: 2.x. */
	if (strncmp(version, "2.", 2) != 0 && strcmp(version, "2") != 0)
		return 0;
	if (source && strcmp(source, "aws:s3") != 0)
		return 0;
	/* Some producers prefix "s3:"; AWS does not. */
	if (strncmp(name, "s3:", 3) == 0)
		name += 3;
	if (strncmp(name, "ObjectCreated:", 14) != 0)
		return 0;
	if (bname == NULL || bname[0] == '\0' || rawkey == NULL || rawkey[0] == '\0')
	{
		reject(rj, "ObjectCreated record without s3.bucket.name or s3.object.key", bname, rawkey);
		return 2;
	}
	key = s3_key_decode(rawkey);
	if (key == NULL)
	{
		reject(rj, "object key has a bad percent-escape", bname, rawkey);
		return 2;
	}
	memset(out, 0, sizeof(*out));
	out->key = key;
	if ((why = record_error(object, bname, key, out)) != NULL)
	{
		reject(rj, why, bname, key);
		free(out->etag);
		free(out->key);
		memset(out, 0, sizeof(*out));
		return 2;
	}
	out->event_name = vtp_strdup(name);
	out->bucket = vtp_strdup(bname);
	return 1;
}

int
s3event_parse(const char *body, size_t len, s3_event *ev, char *err, size_t errlen)
{
	json_value *doc;
	const json_value *records;
	const json_value *r;
	const char *event;
	char		jerr[128];
	int			n = 0;

	memset(ev, 0, sizeof(*ev));
	if (len > S3EVENT_MAX_BODY)
	{
		snprintf(err, errlen, "notification is larger than %d bytes", S3EVENT_MAX_BODY);
		return -1;
	}
	doc = json_parse(body, len, jerr, sizeof(jerr));
	if (doc == NULL)
	{
		snprintf(err, errlen, "notification is not valid JSON: %s", jerr);
		return -1;
	}
	if (doc->type != JSON_OBJECT)
	{
		snprintf(err, errlen, "notification is not a JSON object");
		goto bad;
	}
	event = json_get_str(doc, "Event");
	records = json_get(doc, "Records");
	if (records == NULL)
	{
		if (event && strcmp(event, "s3:TestEvent") == 0)
		{
			ev->kind = S3EV_TEST;
			json_free(doc);
			return 0;
		}
		snprintf(err, errlen, "notification has no Records");
		goto bad;
	}
	if (records->type != JSON_ARRAY)
	{
		snprintf(err, errlen, "Records is not an array");
		goto bad;
	}
	for (r = records->child; r; r = r->next)
		n++;
	if (n > S3EVENT_MAX_RECORDS)
	{
		snprintf(err, errlen, "notification has more than %d records", S3EVENT_MAX_RECORDS);
		goto bad;
	}
	ev->kind = S3EV_RECORDS;
	ev->records = calloc(n > 0 ? (size_t) n : 1, sizeof(s3_record));
	ev->rejected = calloc(n > 0 ? (size_t) n : 1, sizeof(s3_reject));
	if (ev->records == NULL || ev->rejected == NULL)
		abort();
	for (r = records->child; r; r = r->next)
	{
		int			rc = parse_record(r, &ev->records[ev->nrecords], &ev->rejected[ev->nrejected]);

		if (rc == 0)
			ev->nignored++;
		else if (rc == 2)
			ev->nrejected++;
		else
			ev->nrecords++;
	}
	json_free(doc);
	return 0;
bad:
	json_free(doc);
	s3event_free(ev);
	return -1;
}

void
s3event_free(s3_event *ev)
{
	int			i;

	for (i = 0; i < ev->nrecords; i++)
	{
		free(ev->records[i].event_name);
		free(ev->records[i].bucket);
		free(ev->records[i].key);
		free(ev->records[i].etag);
		free(ev->records[i].sequencer);
	}
	free(ev->records);
	free(ev->rejected);
	memset(ev, 0, sizeof(*ev));
}
