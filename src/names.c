/*
 * names.c — ids and safe key segments (pure C on OpenSSL's RNG).
 */
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

void
vtp_uuid_v4(char out[37])
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
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
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
vtp_key_video_id(const char *key, const char *prefix, char id[37])
{
	size_t		pl = strlen(prefix);
	char		cand[37];

	if (strncmp(key, prefix, pl) != 0 || strlen(key) < pl + 37 || key[pl + 36] != '/')
		return false;
	memcpy(cand, key + pl, 36);
	cand[36] = '\0';
	if (!vtp_is_uuid(cand))
		return false;
	memcpy(id, cand, 37);
	return true;
}
