/*
 * creds.c — the pure parts of the credential chain: the AWS INI files, the
 * JSON and XML documents credential providers answer with, times, and the
 * refresh rule. No I/O here (credchain.c fetches).
 */
#include "creds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws.h"
#include "json.h"

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

/* Does the section header text (between the brackets) name profile? */
static bool
section_matches(char *name, const char *profile, bool config_style)
{
	name = trim(name);
	if (config_style)
	{
		/* config: "[profile NAME]", and "[default]" for the default profile */
		if (strncmp(name, "profile", 7) == 0 && isspace((unsigned char) name[7]))
			return strcmp(trim(name + 8), profile) == 0;
		return strcmp(profile, "default") == 0 && strcmp(name, "default") == 0;
	}
	return strcmp(name, profile) == 0;
}

/*
 * Walk the text; for each key=value in the profile's section call fn. Lines
 * are copied into a scratch buffer that is wiped afterwards (secrets).
 * Returns whether the section exists.
 */
static bool
ini_walk(const char *text, const char *profile, bool config_style,
		 void (*fn) (const char *k, const char *v, void *arg), void *arg)
{
	char	   *copy = vtp_strdup(text);
	size_t		n = strlen(copy);
	char	   *line,
			   *save = NULL;
	bool		in_section = false,
				found = false;

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
			in_section = section_matches(l + 1, profile, config_style);
			found |= in_section;
			continue;
		}
		/* continuation lines (nested values like s3 = ...) are skipped */
		if (!in_section || isspace((unsigned char) line[0]) || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		fn(trim(l), trim(eq + 1), arg);
	}
	memset(copy, 0, n);
	free(copy);
	return found;
}

typedef struct ini_get_ctx
{
	const char *key;
	char	   *value;
} ini_get_ctx;

static void
ini_get_one(const char *k, const char *v, void *arg)
{
	ini_get_ctx *g = arg;

	if (strcasecmp(k, g->key) == 0)	/* as botocore, which lowercases them */
	{
		if (g->value)
		{
			memset(g->value, 0, strlen(g->value));
			free(g->value);
		}
		g->value = vtp_strdup(v);
	}
}

char *
aws_ini_get(const char *text, const char *profile, bool config_style, const char *key)
{
	ini_get_ctx g = {key, NULL};

	if (text == NULL)
		return NULL;
	ini_walk(text, profile, config_style, ini_get_one, &g);
	return g.value;
}

static void
ini_nothing(const char *k, const char *v, void *arg)
{
}

bool
aws_ini_has(const char *text, const char *profile, bool config_style)
{
	return text && ini_walk(text, profile, config_style, ini_nothing, NULL);
}

static void
ini_static_keys(const char *k, const char *v, void *arg)
{
	sigv4_creds *c = arg;

	if (strcasecmp(k, "aws_access_key_id") == 0)
		vtp_strlcpy(c->access_key, v, sizeof(c->access_key));
	else if (strcasecmp(k, "aws_secret_access_key") == 0)
		vtp_strlcpy(c->secret_key, v, sizeof(c->secret_key));
	else if (strcasecmp(k, "aws_session_token") == 0)
		vtp_strlcpy(c->session_token, v, sizeof(c->session_token));
}

int
aws_creds_parse(const char *text, const char *profile, sigv4_creds *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	/* a credentials file may also spell a section "[profile NAME]" */
	if (!ini_walk(text, profile, false, ini_static_keys, c) &&
		!(strcmp(profile, "default") != 0 && ini_walk(text, profile, true, ini_static_keys, c)))
	{
		snprintf(err, errlen, "profile \"%s\" not found in the credentials file", profile);
		return -1;
	}
	if (c->access_key[0] == '\0' || c->secret_key[0] == '\0')
	{
		memset(c, 0, sizeof(*c));
		snprintf(err, errlen, "profile \"%s\" lacks aws_access_key_id or aws_secret_access_key", profile);
		return -1;
	}
	return 0;
}

bool
aws_parse_iso8601(const char *s, long *out)
{
	struct tm	tm;
	int			n = 0;
	long		t;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL ||
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return false;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (long) timegm(&tm);
	p = s + 19;
	if (*p == '.')
		for (p++; isdigit((unsigned char) *p); p++)
			;
	if (*p == 'Z' && p[1] == '\0')
		;
	else if ((*p == '+' || *p == '-') && isdigit((unsigned char) p[1]) && isdigit((unsigned char) p[2]) &&
			 p[3] == ':' && isdigit((unsigned char) p[4]) && isdigit((unsigned char) p[5]) && p[6] == '\0')
	{
		long		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L + ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;

		t += *p == '+' ? -off : off;
	}
	else
		return false;
	*out = t;
	return true;
}

int
aws_creds_from_json(const char *text, size_t len, sigv4_creds *c, long *expires, char *err, size_t errlen)
{
	char		jerr[128];
	json_value *v = json_parse(text, len, jerr, sizeof(jerr));
	const char *ak,
			   *sk,
			   *tok,
			   *exp,
			   *code;
	int			rc = -1;

	memset(c, 0, sizeof(*c));
	*expires = 0;
	if (v == NULL || v->type != JSON_OBJECT)
	{
		/* jerr describes the syntax, never echoes the document */
		snprintf(err, errlen, "the credentials document is not a JSON object%s%s", v ? "" : ": ", v ? "" : jerr);
		json_free(v);
		return -1;
	}
	ak = json_get_str(v, "AccessKeyId");
	sk = json_get_str(v, "SecretAccessKey");
	tok = json_get_str(v, "Token");
	if (tok == NULL)
		tok = json_get_str(v, "SessionToken");
	exp = json_get_str(v, "Expiration");
	code = json_get_str(v, "Code");
	if (code && strcmp(code, "Success") != 0)
		snprintf(err, errlen, "the credentials document says Code \"%.64s\"", code);
	else if (ak == NULL || sk == NULL || ak[0] == '\0' || sk[0] == '\0')
		snprintf(err, errlen, "the credentials document lacks AccessKeyId or SecretAccessKey");
	else if (strlen(ak) >= sizeof(c->access_key) || strlen(sk) >= sizeof(c->secret_key) ||
			 (tok && strlen(tok) >= sizeof(c->session_token)))
		snprintf(err, errlen, "the credentials document holds a key or token that is too long");
	else if (exp && exp[0] && !aws_parse_iso8601(exp, expires))
		snprintf(err, errlen, "the credentials document's Expiration is not an ISO 8601 time");
	else
	{
		vtp_strlcpy(c->access_key, ak, sizeof(c->access_key));
		vtp_strlcpy(c->secret_key, sk, sizeof(c->secret_key));
		if (tok)
			vtp_strlcpy(c->session_token, tok, sizeof(c->session_token));
		rc = 0;
	}
	json_free(v);
	return rc;
}

int
aws_creds_from_process(const char *text, size_t len, sigv4_creds *c, long *expires, char *err, size_t errlen)
{
	char		jerr[128];
	json_value *v = json_parse(text, len, jerr, sizeof(jerr));
	const json_value *ver = json_get(v, "Version");
	bool		one = ver && ver->type == JSON_NUMBER && ver->num == 1;

	json_free(v);
	memset(c, 0, sizeof(*c));
	*expires = 0;
	if (!one)
	{
		snprintf(err, errlen, "credential_process output must be a JSON object with \"Version\": 1");
		return -1;
	}
	return aws_creds_from_json(text, len, c, expires, err, errlen);
}

/* An element's text that must fit out whole: a cut token is a wrong token. */
static bool
xml_whole(const char *xml, const char *tag, char *out, size_t outlen)
{
	char		big[8192];

	if (!aws_xml_value(xml, tag, big, sizeof(big)) || strlen(big) >= outlen)
	{
		OPENSSL_cleanse(big, sizeof(big));
		return false;
	}
	vtp_strlcpy(out, big, outlen);
	OPENSSL_cleanse(big, sizeof(big));
	return true;
}

int
aws_creds_from_sts(const char *xml, sigv4_creds *c, long *expires, char *err, size_t errlen)
{
	char		exp[64],
				code[96],
				msg[256];

	memset(c, 0, sizeof(*c));
	*expires = 0;
	if (xml && strstr(xml, "<Error>"))
	{
		if (!aws_xml_value(xml, "Code", code, sizeof(code)))
			vtp_strlcpy(code, "unknown", sizeof(code));
		if (!aws_xml_value(xml, "Message", msg, sizeof(msg)))
			msg[0] = '\0';
		/* SignatureDoesNotMatch may go on with the canonical request: keep the first line */
		msg[strcspn(msg, "\r\n")] = '\0';
		snprintf(err, errlen, "STS refused: %s%s%s", code, msg[0] ? ": " : "", msg);
		return -1;
	}
	if (!xml_whole(xml, "AccessKeyId", c->access_key, sizeof(c->access_key)) ||
		!xml_whole(xml, "SecretAccessKey", c->secret_key, sizeof(c->secret_key)) ||
		!xml_whole(xml, "SessionToken", c->session_token, sizeof(c->session_token)) ||
		!aws_xml_value(xml, "Expiration", exp, sizeof(exp)) ||
		!aws_parse_iso8601(exp, expires) || c->access_key[0] == '\0' || c->secret_key[0] == '\0')
	{
		memset(c, 0, sizeof(*c));
		snprintf(err, errlen, "the STS answer lacks credentials or their expiration, or holds one too long");
		return -1;
	}
	return 0;
}

long
aws_creds_refresh_at(long loaded, long expires)
{
	long		margin;

	if (expires == 0)
		return 0;
	/* as the SDKs: well before the end, but not before most of a short life */
	margin = (expires - loaded) / 4;
	if (margin > 300)
		margin = 300;
	if (margin < 1)
		margin = 1;
	return expires - margin;
}

bool
aws_container_uri_allowed(const char *uri)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL,
			   *host = NULL,
			   *user = NULL;
	bool		ok = false;

	/* parsed as curl will parse it: "http://127.0.0.1:1@evil/" goes to evil */
	if (u && curl_url_set(u, CURLUPART_URL, uri, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER)
	{
		if (strcasecmp(scheme, "https") == 0)
			ok = true;
		else if (strcasecmp(scheme, "http") == 0)
		{
			/* the SDKs' rule: loopback, and the ECS and EKS Pod Identity agents */
			ok = strcasecmp(host, "localhost") == 0 ||
				(strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host)) ||
				strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
				strcmp(host, "169.254.170.23") == 0 || strcasecmp(host, "[fd00:ec2::23]") == 0;
		}
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	if (u)
		curl_url_cleanup(u);
	return ok;
}
