/*
 * creds.c — load AWS credentials from the environment or the shared
 * credentials file (pure C).
 */
#include "creds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CREDS_FILE_MAX (1024 * 1024)

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

int
aws_creds_parse(const char *text, const char *profile, sigv4_creds *c, char *err, size_t errlen)
{
	char	   *copy = strdup(text);
	char	   *line,
			   *save = NULL;
	int			in_section = 0;
	int			found = 0;

	if (copy == NULL)
		abort();
	memset(c, 0, sizeof(*c));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *l = trim(line);
		char	   *eq;

		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[')
		{
			char	   *end = strchr(l, ']');

			if (end)
				*end = '\0';
			l = trim(l + 1);
			/* ~/.aws/config style "profile NAME" is accepted too */
			if (strncmp(l, "profile ", 8) == 0)
				l = trim(l + 8);
			in_section = strcmp(l, profile) == 0;
			found |= in_section;
			continue;
		}
		if (!in_section || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		{
			char	   *k = trim(l),
					   *v = trim(eq + 1);

			if (strcmp(k, "aws_access_key_id") == 0)
				vtp_strlcpy(c->access_key, v, sizeof(c->access_key));
			else if (strcmp(k, "aws_secret_access_key") == 0)
				vtp_strlcpy(c->secret_key, v, sizeof(c->secret_key));
			else if (strcmp(k, "aws_session_token") == 0)
				vtp_strlcpy(c->session_token, v, sizeof(c->session_token));
		}
	}
	memset(copy, 0, strlen(text));
	free(copy);
	if (!found)
	{
		snprintf(err, errlen, "profile \"%s\" not found in the credentials file", profile);
		return -1;
	}
	if (c->access_key[0] == '\0' || c->secret_key[0] == '\0')
	{
		snprintf(err, errlen, "profile \"%s\" lacks aws_access_key_id or aws_secret_access_key", profile);
		return -1;
	}
	return 0;
}

int
aws_creds_load(const char *profile, sigv4_creds *c, char *err, size_t errlen)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	vbuf		p = VBUF_INIT,
				text = VBUF_INIT;
	FILE	   *f;
	char		chunk[4096];
	size_t		n;
	int			rc;

	memset(c, 0, sizeof(*c));
	if (ak && ak[0] && sk && sk[0])
	{
		vtp_strlcpy(c->access_key, ak, sizeof(c->access_key));
		vtp_strlcpy(c->secret_key, sk, sizeof(c->secret_key));
		if (tok)
			vtp_strlcpy(c->session_token, tok, sizeof(c->session_token));
		return 0;
	}
	if (path && path[0])
		vbuf_puts(&p, path);
	else if (getenv("HOME"))
		vbuf_printf(&p, "%s/.aws/credentials", getenv("HOME"));
	else
	{
		snprintf(err, errlen, "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and HOME is unknown");
		return -1;
	}
	f = fopen(p.data, "r");
	if (f == NULL)
	{
		snprintf(err, errlen, "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and \"%s\" cannot be read", p.data);
		vbuf_free(&p);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && text.len < CREDS_FILE_MAX)
		vbuf_append(&text, chunk, n);
	fclose(f);
	memset(chunk, 0, sizeof(chunk));
	rc = aws_creds_parse(vbuf_str(&text), profile && profile[0] ? profile : "default", c, err, errlen);
	memset(text.data, 0, text.len);
	vbuf_free(&text);
	vbuf_free(&p);
	return rc;
}
