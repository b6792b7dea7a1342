/*
 * credsts.c — STS for the credential chain: AssumeRoleWithWebIdentity
 * (unsigned, the token from a file) and AssumeRole signed with the source
 * profile's credentials, signed exactly as curl sends it.
 */
#include "cred_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "vtp_assert.h"

/* --- STS --- */

static void
sts_endpoint(chain *ch, vbuf *url)
{
	const char *e = cred_env("AWS_ENDPOINT_URL_STS");

	if (e == NULL)
		e = cred_env("AWS_ENDPOINT_URL");
	if (e)
		vbuf_puts(url, e);
	else if (ch->region && ch->region[0])
		vbuf_printf(url, "https://sts.%s.amazonaws.com%s", ch->region,
					strncmp(ch->region, "cn-", 3) == 0 ? ".cn" : "");
	else
		vbuf_puts(url, "https://sts.amazonaws.com");
	while (url->len > 0 && url->data[url->len - 1] == '/')
		url->data[--url->len] = '\0';
}

static void
form_add(vbuf *b, const char *k, const char *v)
{
	if (b->len)
		vbuf_putc(b, '&');
	vbuf_puts(b, k);
	vbuf_putc(b, '=');
	sigv4_uri_encode(b, v, true);
}

static void
session_name(const char *given, char *out, size_t outlen)
{
	if (given && given[0])
		vtp_strlcpy(out, given, outlen);
	else
		snprintf(out, outlen, "vtp-%ld", (long) time(NULL));
}

/*
 * What curl will send, to be signed: the URL as curl normalises it, the host
 * without a default port, the path as given ("/" when none). False for a URL
 * curl cannot parse, or one with a user name.
 */
static bool
sts_target(vbuf *url, char *sign_host, size_t hostlen, char *sign_path, size_t pathlen)
{
	CURLU	   *u = curl_url();
	char	   *full = NULL,
			   *host = NULL,
			   *port = NULL,
			   *path = NULL,
			   *scheme = NULL,
			   *user = NULL;
	bool		ok = u && curl_url_set(u, CURLUPART_URL, url->data, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
		curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK;

	if (ok)
	{
		(void) curl_url_get(u, CURLUPART_PORT, &port, 0);
		if (port && ((strcasecmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
					 (strcasecmp(scheme, "http") == 0 && strcmp(port, "80") == 0)))
		{
			curl_free(port);
			port = NULL;
		}
		vbuf_reset(url);
		vbuf_puts(url, full);
		vtp_strlcpy(sign_host, host, hostlen);
		if (port)
		{
			size_t		n = strlen(sign_host);

			snprintf(sign_host + n, hostlen - n, ":%s", port);
		}
		vtp_strlcpy(sign_path, path && path[0] ? path : "/", pathlen);
	}
	curl_free(full);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(scheme);
	curl_free(user);
	if (u)
		curl_url_cleanup(u);
	return ok;
}

/* The SigV4 headers (service sts) of a POST of form, appended to *hl. */
static void
sts_sign(chain *ch, const char *form, const sigv4_creds *signer, const char *ct, const char *sign_host,
		 const char *sign_path, struct curl_slist **hl, vbuf *auth, vbuf *hv)
{
	char		amz_date[17],
				payload[65];
	sigv4_header sh[4];
	sigv4_input in;
	int			nh = 0;
	const char *region = ch->region && ch->region[0] ? ch->region : "us-east-1";

	sigv4_amz_date((long) time(NULL), amz_date);
	vtp_sha256_hex(form, strlen(form), payload);
	sh[nh++] = (sigv4_header) {"content-type", ct};
	sh[nh++] = (sigv4_header) {"host", sign_host};
	sh[nh++] = (sigv4_header) {"x-amz-date", amz_date};
	if (signer->session_token[0])
		sh[nh++] = (sigv4_header) {"x-amz-security-token", signer->session_token};
	VTP_ASSERT(nh <= (int) (sizeof(sh) / sizeof(sh[0])));
	memset(&in, 0, sizeof(in));
	in.method = "POST";
	in.path = sign_path;
	in.query = "";
	in.headers = sh;
	in.nheaders = nh;
	in.payload_hash = payload;
	in.region = region;
	in.service = "sts";
	in.amz_date = amz_date;
	sigv4_authorization(&in, signer, auth);
	vbuf_reset(hv);
	vbuf_printf(hv, "X-Amz-Date: %s", amz_date);
	*hl = curl_slist_append(*hl, hv->data);
	vbuf_reset(hv);
	vbuf_printf(hv, "Authorization: %s", auth->data);
	*hl = curl_slist_append(*hl, hv->data);
	if (signer->session_token[0])
	{
		vbuf_reset(hv);
		vbuf_printf(hv, "X-Amz-Security-Token: %s", signer->session_token);
		*hl = curl_slist_append(*hl, hv->data);
	}
}

/*
 * POST an STS action. signer NULL: unsigned (AssumeRoleWithWebIdentity);
 * else SigV4 with service sts.
 */
static int
sts_call(chain *ch, const char *form, const sigv4_creds *signer, const char *what, found *f)
{
	vbuf		url = VBUF_INIT,
				auth = VBUF_INIT,
				hv = VBUF_INIT,
				answer = VBUF_INIT;
	struct curl_slist *hl = NULL;
	long		status;
	int			rc;
	char		herr[512],
				sign_host[512],
				sign_path[512];
	const char *ct = "application/x-www-form-urlencoded; charset=utf-8";

	sts_endpoint(ch, &url);
	if (!sts_target(&url, sign_host, sizeof(sign_host), sign_path, sizeof(sign_path)))
	{
		cred_fail(ch, "%s: the STS endpoint is not a URL without a user name (AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL)", what);
		vbuf_free(&url);
		return -1;
	}
	vbuf_printf(&hv, "Content-Type: %s", ct);
	hl = curl_slist_append(hl, hv.data);
	hl = curl_slist_append(hl, "Accept:");
	hl = curl_slist_append(hl, "Expect:");
	if (signer)
		sts_sign(ch, form, signer, ct, sign_host, sign_path, &hl, &auth, &hv);
	rc = cred_http(ch, false, "POST", url.data, hl, form, STS_TIMEOUT_MS, 2, &answer, &status, herr, sizeof(herr));
	if (rc == 0 || strstr(vbuf_str(&answer), "<Error>"))
		rc = aws_creds_from_sts(answer.data, &f->c, &f->expires, herr, sizeof(herr));
	if (rc != 0)
		cred_fail(ch, "%s: %s", what, herr);
	/* the slist copies hold signatures and tokens */
	cred_wipe_slist(hl);
	cred_wipe_vbuf(&auth);
	cred_wipe_vbuf(&hv);
	cred_wipe_vbuf(&answer);
	vbuf_free(&url);
	return rc;
}

int
cred_web_identity(chain *ch, const char *token_file, const char *role_arn, const char *session, found *f)
{
	char	   *token = cred_read_file(token_file, DOC_MAX);
	vbuf		form = VBUF_INIT;
	char		name[128];
	int			rc;

	if (token == NULL)
	{
		cred_fail(ch, "web identity: cannot read the token file \"%s\": %s", token_file, strerror(errno));
		return -1;
	}
	token[strcspn(token, "\r\n")] = '\0';
	session_name(session, name, sizeof(name));
	form_add(&form, "Action", "AssumeRoleWithWebIdentity");
	form_add(&form, "RoleArn", role_arn);
	form_add(&form, "RoleSessionName", name);
	form_add(&form, "Version", "2011-06-15");
	form_add(&form, "WebIdentityToken", token);
	rc = sts_call(ch, form.data, NULL, "web identity (STS AssumeRoleWithWebIdentity)", f);
	cred_wipe(token);
	OPENSSL_cleanse(form.data, form.len);
	vbuf_free(&form);
	if (rc == 0)
	{
		vtp_strlcpy(f->provider, "web-identity", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "role %s", role_arn);
	}
	return rc;
}

int
cred_assume_role(chain *ch, const sigv4_creds *src, const char *role_arn, const char *session,
			const char *external_id, const char *duration, found *f)
{
	vbuf		form = VBUF_INIT;
	char		name[128];
	int			rc;

	session_name(session, name, sizeof(name));
	form_add(&form, "Action", "AssumeRole");
	if (duration && duration[0])
		form_add(&form, "DurationSeconds", duration);
	if (external_id && external_id[0])
		form_add(&form, "ExternalId", external_id);
	form_add(&form, "RoleArn", role_arn);
	form_add(&form, "RoleSessionName", name);
	form_add(&form, "Version", "2011-06-15");
	rc = sts_call(ch, form.data, src, "STS AssumeRole", f);
	vbuf_free(&form);
	return rc;
}
