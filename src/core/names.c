/*
 * names.c — ids, safe key segments, S3 bucket names, accepted keys and
 * escaped names for logs (pure C on OpenSSL's RNG).
 */
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "vtp_assert.h"

void
vtp_uuid_v4(char out[VTP_UUID_SIZE])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
	{
		/* no entropy: refuse to make a predictable id */
		fprintf(stderr, "vtp: RAND_bytes failed\n");
		abort();
	}
	b[6] = (unsigned char) ((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char) ((b[8] & 0x3F) | 0x80);
	snprintf(out, VTP_UUID_SIZE, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

bool
vtp_is_uuid(const char *s)
{
	int			i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		bool		dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool
safe_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '.' || c == '-' || c == '_';
}

void
vtp_safe_filename(const char *in, char *out, size_t outlen)
{
	const char *base = in,
			   *p;
	char		tmp[4 * VTP_NAME_MAX];
	size_t		n = 0,
				start = 0,
				limit = outlen - 1 < VTP_NAME_MAX ? outlen - 1 : VTP_NAME_MAX;
	const char *dot;

	/* last component, whichever separator the client's system uses */
	for (p = in; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (p = base; *p && n < sizeof(tmp) - 1; p++)
	{
		char		c = safe_char(*p) ? *p : '_';

		if (c == '_' && n > 0 && tmp[n - 1] == '_')
			continue;
		tmp[n++] = c;
	}
	tmp[n] = '\0';
	while (tmp[start] == '.' || tmp[start] == '_')
		start++;
	memmove(tmp, tmp + start, n - start + 1);
	n -= start;
	while (n > 0 && (tmp[n - 1] == '_' || tmp[n - 1] == '.'))
		tmp[--n] = '\0';
	if (n == 0)
	{
		snprintf(out, outlen, "upload");
		return;
	}
	if (n > limit)
	{
		/* keep a short extension */
		dot = strrchr(tmp, '.');
		if (dot && strlen(dot) <= 10 && (size_t) (dot - tmp) > 0)
		{
			size_t		ext = strlen(dot);

			memmove(tmp + limit - ext, dot, ext + 1);
		}
		tmp[limit] = '\0';
	}
	snprintf(out, outlen, "%s", tmp);
}

bool
vtp_key_video_id(const char *key, const char *prefix, char id[VTP_UUID_SIZE])
{
	size_t		pl = strlen(prefix);
	char		cand[VTP_UUID_SIZE];

	if (strncmp(key, prefix, pl) != 0 || strlen(key) < pl + VTP_UUID_SIZE || key[pl + VTP_UUID_LEN] != '/')
		return false;
	memcpy(cand, key + pl, VTP_UUID_LEN);
	cand[VTP_UUID_LEN] = '\0';
	if (!vtp_is_uuid(cand))
		return false;
	memcpy(id, cand, VTP_UUID_SIZE);
	return true;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
size_t
vtp_utf8_len(const unsigned char *p, size_t n)
{
	size_t		len,
				i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
	{
		len = 2;
		cp = p[0] & 0x1F;
	}
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
	{
		len = 3;
		cp = p[0] & 0x0F;
	}
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
	{
		len = 4;
		cp = p[0] & 0x07;
	}
	else
		return 0;				/* continuation byte, C0/C1 lead or > U+10FFFF */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* overlong forms, UTF-16 surrogates, beyond Unicode */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return len;
}

/* Is s (n bytes) a dotted-quad IPv4 address, e.g. 192.168.5.4? */
static bool
is_ipv4(const char *s, size_t n)
{
	int			parts = 0,
				digits = 0;
	size_t		i;

	for (i = 0; i <= n; i++)
	{
		if (i == n || s[i] == '.')
		{
			if (digits == 0 || digits > 3)
				return false;
			parts++;
			digits = 0;
		}
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return false;
	}
	return parts == 4;
}

/* Does s (n bytes) end with suffix? */
static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t		sl = strlen(suffix);

	return n >= sl && memcmp(s + n - sl, suffix, sl) == 0;
}

/* The bucket rules on n bytes of s (not necessarily NUL-terminated). */
static const char *
bucket_error(const char *s, size_t n)
{
	static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-", NULL};
	static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3", NULL};
	size_t		i;

	if (n < 3 || n > 63)
		return "a bucket name has 3 to 63 characters";
	for (i = 0; i < n; i++)
	{
		char		c = s[i];
		bool		alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && c != '.' && c != '-')
			return "a bucket name has only lower-case letters, digits, '.' and '-'";
		/* each dot-separated label starts and ends with a letter or digit */
		if (!alnum && (i == 0 || i == n - 1 || s[i - 1] == '.' || (c == '.' && s[i - 1] == '-') ||
					   (c == '-' && s[i - 1] == '.')))
			return "a bucket name starts and ends with a letter or digit, and so does each part between dots";
	}
	if (is_ipv4(s, n))
		return "a bucket name is not an IP address";
	for (i = 0; prefixes[i]; i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return "a bucket name does not start with a prefix S3 reserves (xn--, sthree-, amzn-s3-demo-)";
	for (i = 0; suffixes[i]; i++)
		if (ends_with(s, n, suffixes[i]))
			return "a bucket name does not end with a suffix S3 reserves (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)";
	return NULL;
}

/* S3's bucket naming rules on a NUL-terminated name (names.h). */
const char *
vtp_bucket_name_error(const char *name)
{
	return bucket_error(name, strlen(name));
}

/* Calls fn on each trimmed entry of a comma-separated list until it returns true. */
static bool
list_find(const char *list, bool (*fn) (const char *s, size_t n, void *arg), void *arg)
{
	const char *p = list;

	if (*p == '\0')
		return false;
	for (;;)
	{
		const char *end = p + strcspn(p, ",");
		const char *b = p,
				   *e = end;

		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (fn(b, (size_t) (e - b), arg))
			return true;
		if (*end == '\0')
			return false;
		p = end + 1;
	}
}

typedef struct list_check
{
	const char *why;
	char	   *bad;
	size_t		badlen;
} list_check;

/* list_find callback: stop at the first invalid name. */
static bool
entry_invalid(const char *s, size_t n, void *arg)
{
	list_check *lc = arg;
	char		name[64];

	lc->why = bucket_error(s, n);
	if (lc->why == NULL)
		return false;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	vtp_escape_name(name, lc->bad, lc->badlen);
	return true;
}

/* Every entry of vtp.source_buckets must be a bucket name. */
const char *
vtp_bucket_list_error(const char *list, char *bad, size_t badlen)
{
	list_check	lc = {NULL, bad, badlen};

	bad[0] = '\0';
	/* an empty list is valid; an empty entry in a non-empty one is not */
	if (strspn(list, " \t") == strlen(list))
		return NULL;
	list_find(list, entry_invalid, &lc);
	return lc.why;
}

/* list_find callback: is this entry the name? */
static bool
entry_is(const char *s, size_t n, void *arg)
{
	const char *name = arg;

	return strlen(name) == n && memcmp(s, name, n) == 0;
}

/* Exact match of one trimmed entry. */
bool
vtp_bucket_in_list(const char *list, const char *bucket)
{
	return list_find(list, entry_is, (void *) bucket);
}

/* The keys vtp accepts (names.h): length, UTF-8, no C0 control or DEL. */
const char *
vtp_key_error(const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *) key;
	size_t		i = 0;

	if (len == 0)
		return "an object key is not empty";
	if (len > VTP_KEY_MAX)
		return "an object key has at most 1024 bytes";
	while (i < len)
	{
		size_t		n = vtp_utf8_len(p + i, len - i);

		if (n == 0)
			return "an object key is valid UTF-8";
		if (p[i] < 0x20 || p[i] == 0x7F)
			return "an object key has no control characters";
		i += n;
	}
	return NULL;
}

/*
 * The escaped form of the UTF-8 sequence or byte at p (left bytes): its
 * text in piece, its length in *pl; returns the input bytes it stands for.
 */
static size_t
escape_piece(const unsigned char *p, size_t left, char piece[8], size_t *pl)
{
	size_t		n = vtp_utf8_len(p, left);

	/* keep printable ASCII and UTF-8 from U+00A0 on; escape the rest */
	if (n == 1 && *p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\')
	{
		piece[0] = (char) *p;
		*pl = 1;
		return 1;
	}
	if (n > 1 && !(n == 2 && p[0] == 0xC2 && p[1] < 0xA0))
	{
		memcpy(piece, p, n);
		*pl = n;
		return n;
	}
	snprintf(piece, 8, "\\x%02x", *p);
	*pl = 4;
	return 1;
}

/* A name made safe for one log line, cut with "..." (names.h). */
void
vtp_escape_name(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		left = strlen(s),
				o = 0,
				need = 0,
				n,
				pl;
	char		piece[8];

	if (outlen == 0)
		return;
	/* the whole escaped length: if it fits, no room is kept for "..." */
	for (n = 0; n < left; need += pl)
		n += escape_piece(p + n, left - n, piece, &pl);
	while (left > 0)
	{
		n = escape_piece(p, left, piece, &pl);
		if (o + pl + (need < outlen ? 0 : 3) >= outlen)
		{
			if (o + 3 < outlen)
			{
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, piece, pl);
		o += pl;
		p += n;
		left -= n;
	}
	out[o] = '\0';
}

/* Blanks and quotes around an ETag: S3 quotes it, in headers and in XML alike. */
#define ETAG_TRIM " \t\r\n\""

size_t
vtp_etag_unquote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t		n;

	VTP_ASSERT(outlen > 0);
	while (len > 0 && strchr(ETAG_TRIM, *s) != NULL && *s != '\0')
	{
		s++;
		len--;
	}
	while (len > 0 && strchr(ETAG_TRIM, s[len - 1]) != NULL && s[len - 1] != '\0')
		len--;
	n = len < outlen - 1 ? len : outlen - 1;
	memmove(out, s, n);			/* out may be s itself */
	out[n] = '\0';
	return n;
}
