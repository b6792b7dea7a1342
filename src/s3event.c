/*
 * s3event.c — parse S3 event notification JSON into records (pure C).
 */
#include "s3event.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

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
		char		ca = i < la ? a[i] : '0';
		char		cb = i < lb ? b[i] : '0';

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return 0;
}

/* Strip surrounding quotes that some producers leave on ETags. */
static char *
clean_etag(const char *s)
{
	size_t		n;
	char	   *d;

	if (s == NULL)
		return vtp_strdup(NULL);
	n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		d = strndup(s + 1, n - 2);
	else
		d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

/*
 * One record. Returns 1 if taken, 0 if ignored (other event kind or
 * version), -1 if malformed.
 */
static int
parse_record(const json_value *r, s3_record *out, char *err, size_t errlen)
{
	const char *version = json_get_str(r, "eventVersion");
	const char *source = json_get_str(r, "eventSource");
	const char *name = json_get_str(r, "eventName");
	const json_value *s3 = json_get(r, "s3");
	const json_value *bucket = json_get(s3, "bucket");
	const json_value *object = json_get(s3, "object");
	const char *bname = json_get_str(bucket, "name");
	const char *rawkey = json_get_str(object, "key");
	char	   *key;

	if (r->type != JSON_OBJECT)
	{
		snprintf(err, errlen, "a record is not a JSON object");
		return -1;
	}
	if (version == NULL || name == NULL)
	{
		snprintf(err, errlen, "record without eventVersion or eventName");
		return -1;
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
		snprintf(err, errlen, "ObjectCreated record without s3.bucket.name or s3.object.key");
		return -1;
	}
	key = s3_key_decode(rawkey);
	if (key == NULL)
	{
		snprintf(err, errlen, "object key has a bad percent-escape");
		return -1;
	}
	out->event_name = vtp_strdup(name);
	out->bucket = vtp_strdup(bname);
	out->key = key;
	/* S3 objects stop at 5 TiB; a size no object can have is unknown */
	if (!json_get_int(object, "size", 0, INT64_C(1) << 53, &out->size))
		out->size = -1;
	out->etag = clean_etag(json_get_str(object, "eTag"));
	out->sequencer = vtp_strdup(json_get_str(object, "sequencer"));
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
	ev->kind = S3EV_RECORDS;
	ev->records = calloc(n > 0 ? (size_t) n : 1, sizeof(s3_record));
	if (ev->records == NULL)
		abort();
	for (r = records->child; r; r = r->next)
	{
		int			rc = parse_record(r, &ev->records[ev->nrecords], err, errlen);

		if (rc < 0)
			goto bad;
		if (rc == 0)
			ev->nignored++;
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
	memset(ev, 0, sizeof(*ev));
}
