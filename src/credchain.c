/*
 * credchain.c — the AWS credential chain (creds.h): each provider, and the
 * per-process cache that refreshes temporary credentials before they expire.
 *
 * Providers that are configured but fail stop the chain with their reason,
 * as the SDKs do: an operator who set AWS_ROLE_ARN wants to hear why STS
 * refused, not that the instance has no role. Only the last two (container,
 * instance metadata) are tried without being asked for.
 *
 * Metadata calls are short (IMDS 1 s) because a host without IMDS would
 * otherwise stall every first request; STS calls get 10 s. Every document
 * read is capped; tokens are checked for header-breaking bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* pipe2, posix_spawn_file_actions_addclosefrom_np */
#endif
#include "creds.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define DOC_MAX (64 * 1024)
#define FILE_MAX (1024 * 1024)
#define IMDS_TIMEOUT_MS 1000
#define CONTAINER_TIMEOUT_MS 2000
#define STS_TIMEOUT_MS 10000
#define PROCESS_TIMEOUT_S 30
#define STATIC_RECHECK_S 60
#define REFRESH_RETRY_S 5
#define FAIL_REMEMBER_S 2
#define MAX_ROLE_CHAIN 4

extern char **environ;

typedef struct chain
{
	const aws_creds_config *cfg;	/* abort_check */
	const char *region;
	char	   *cred_text;		/* the shared files, read once per resolution */
	char	   *conf_text;
	char		cred_path[1024];
	char		conf_path[1024];
	int			cred_errno;		/* why a file could not be read */
	int			conf_errno;
	char	   *err;
	size_t		errlen;
} chain;

typedef struct found
{
	sigv4_creds c;
	long		expires;
	char		provider[32];
	char		detail[320];
} found;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

static void
wipe_free(char *s)
{
	if (s)
	{
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void
wipe_vbuf(vbuf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->len);
	vbuf_free(b);
}

/* Header lists hold tokens and signatures. */
static void
wipe_slist(struct curl_slist *hl)
{
	struct curl_slist *p;

	for (p = hl; p; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(hl);
}

/* HOME, else the passwd entry's home, as the SDKs' expanduser does. */
static bool
home_dir(char *out, size_t outlen)
{
	struct passwd pw,
			   *res = NULL;
	char		buf[4096];

	if (env("HOME"))
	{
		vtp_strlcpy(out, env("HOME"), outlen);
		return true;
	}
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_dir && res->pw_dir[0])
	{
		vtp_strlcpy(out, res->pw_dir, outlen);
		return true;
	}
	return false;
}

/* Whole small file, NUL-terminated, or NULL (errno kept). */
static char *
read_small_file(const char *path, size_t max)
{
	vbuf		b = VBUF_INIT;
	char		chunk[4096];
	ssize_t		n;
	int			fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
	{
		if (b.len + (size_t) n > max)
		{
			OPENSSL_cleanse(chunk, sizeof(chunk));
			close(fd);
			wipe_free(b.data);
			errno = EFBIG;
			return NULL;
		}
		vbuf_append(&b, chunk, (size_t) n);
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	close(fd);
	if (n < 0)
	{
		wipe_free(b.data);
		return NULL;
	}
	vbuf_str(&b);				/* allocates for an empty file */
	return b.data;
}

static void
fail(chain *ch, const char *fmt,...) __attribute__((format(printf, 2, 3)));
static void
fail(chain *ch, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(ch->err, ch->errlen, fmt, ap);
	va_end(ap);
}

/* --- HTTP, for the metadata endpoints and STS --- */

typedef struct sink
{
	vbuf		body;
	bool		too_big;
	const aws_creds_config *cfg;
} sink;

static bool
aborted(const aws_creds_config *cfg)
{
	return cfg && cfg->abort_check && cfg->abort_check(cfg->abort_arg);
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return aborted(((sink *) arg)->cfg) ? 1 : 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	sink	   *s = arg;

	if (s->body.len + size * n > DOC_MAX)
	{
		s->too_big = true;
		return 0;
	}
	vbuf_append(&s->body, p, size * n);
	return size * n;
}

/* No header value may break the request. */
static bool
header_safe(const char *v)
{
	return v && strpbrk(v, "\r\n") == NULL;
}

/*
 * One request; the answer's body (<= DOC_MAX) in out. 0 on a 2xx answer, else
 * -1 with err saying what (the status, or the network error), never the body
 * of a success.
 */
static int
http_call(chain *ch, bool metadata, const char *method, const char *url, struct curl_slist *hl, const char *body,
		  long timeout_ms, int attempts, vbuf *out, long *status, char *err, size_t errlen)
{
	CURL	   *h = curl_easy_init();
	CURLcode	cc = CURLE_OK;
	sink		s;
	int			i;

	*status = 0;
	if (h == NULL)
	{
		snprintf(err, errlen, "could not create a libcurl handle");
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.cfg = ch->cfg;
	for (i = 0; i < attempts && !aborted(ch->cfg); i++)
	{
		curl_easy_reset(h);
		if (s.body.data)
			OPENSSL_cleanse(s.body.data, s.body.len);
		vbuf_reset(&s.body);
		s.too_big = false;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		if (metadata)
			curl_easy_setopt(h, CURLOPT_NOPROXY, "*");	/* link-local: never through a proxy (STS may need one) */
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "vtp/" VTP_VERSION);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body)
		{
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
		}
		else if (strcmp(method, "PUT") == 0)
		{
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
		}
		cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		/* retry only what a retry can fix: no answer, or a 5xx */
		if (cc == CURLE_OK && *status < 500)
			break;
	}
	curl_easy_cleanup(h);
	if (cc == CURLE_ABORTED_BY_CALLBACK || aborted(ch->cfg))
		snprintf(err, errlen, "%s %s: interrupted (shutting down or cancelled)", method, url);
	else if (s.too_big)
		snprintf(err, errlen, "%s %s: the answer is larger than %d bytes", method, url, DOC_MAX);
	else if (cc != CURLE_OK)
		snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
	else if (*status < 200 || *status >= 300)
		snprintf(err, errlen, "%s %s: HTTP %ld", method, url, *status);
	else
	{
		vbuf_str(&s.body);
		*out = s.body;
		return 0;
	}
	*out = s.body;				/* error bodies (STS) are useful */
	vbuf_str(out);
	return -1;
}

/* --- STS --- */

static void
sts_endpoint(chain *ch, vbuf *url)
{
	const char *e = env("AWS_ENDPOINT_URL_STS");

	if (e == NULL)
		e = env("AWS_ENDPOINT_URL");
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
	{
		/*
		 * Sign what curl will send: the host without a default port, the
		 * path as given ("/" when none); refuse a user name in the URL.
		 */
		CURLU	   *u = curl_url();
		char	   *full = NULL,
				   *host = NULL,
				   *port = NULL,
				   *path = NULL,
				   *scheme = NULL,
				   *user = NULL;
		bool		ok = u && curl_url_set(u, CURLUPART_URL, url.data, 0) == CURLUE_OK &&
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
			vbuf_reset(&url);
			vbuf_puts(&url, full);
			vtp_strlcpy(sign_host, host, sizeof(sign_host));
			if (port)
			{
				size_t		n = strlen(sign_host);

				snprintf(sign_host + n, sizeof(sign_host) - n, ":%s", port);
			}
			vtp_strlcpy(sign_path, path && path[0] ? path : "/", sizeof(sign_path));
		}
		curl_free(full);
		curl_free(host);
		curl_free(port);
		curl_free(path);
		curl_free(scheme);
		curl_free(user);
		if (u)
			curl_url_cleanup(u);
		if (!ok)
		{
			fail(ch, "%s: the STS endpoint is not a URL without a user name (AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL)", what);
			vbuf_free(&url);
			vbuf_free(&hv);
			return -1;
		}
	}
	vbuf_printf(&hv, "Content-Type: %s", ct);
	hl = curl_slist_append(hl, hv.data);
	hl = curl_slist_append(hl, "Accept:");
	hl = curl_slist_append(hl, "Expect:");
	if (signer)
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
		sigv4_authorization(&in, signer, &auth);
		vbuf_reset(&hv);
		vbuf_printf(&hv, "X-Amz-Date: %s", amz_date);
		hl = curl_slist_append(hl, hv.data);
		vbuf_reset(&hv);
		vbuf_printf(&hv, "Authorization: %s", auth.data);
		hl = curl_slist_append(hl, hv.data);
		if (signer->session_token[0])
		{
			vbuf_reset(&hv);
			vbuf_printf(&hv, "X-Amz-Security-Token: %s", signer->session_token);
			hl = curl_slist_append(hl, hv.data);
		}
	}
	rc = http_call(ch, false, "POST", url.data, hl, form, STS_TIMEOUT_MS, 2, &answer, &status, herr, sizeof(herr));
	if (rc == 0 || strstr(vbuf_str(&answer), "<Error>"))
		rc = aws_creds_from_sts(answer.data, &f->c, &f->expires, herr, sizeof(herr));
	if (rc != 0)
		fail(ch, "%s: %s", what, herr);
	/* the slist copies hold signatures and tokens */
	for (struct curl_slist *p = hl; p; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(hl);
	if (auth.data)
		OPENSSL_cleanse(auth.data, auth.len);
	if (hv.data)
		OPENSSL_cleanse(hv.data, hv.len);
	if (answer.data)
		OPENSSL_cleanse(answer.data, answer.len);
	vbuf_free(&auth);
	vbuf_free(&hv);
	vbuf_free(&answer);
	vbuf_free(&url);
	return rc;
}

static int
web_identity(chain *ch, const char *token_file, const char *role_arn, const char *session, found *f)
{
	char	   *token = read_small_file(token_file, DOC_MAX);
	vbuf		form = VBUF_INIT;
	char		name[128];
	int			rc;

	if (token == NULL)
	{
		fail(ch, "web identity: cannot read the token file \"%s\": %s", token_file, strerror(errno));
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
	wipe_free(token);
	OPENSSL_cleanse(form.data, form.len);
	vbuf_free(&form);
	if (rc == 0)
	{
		vtp_strlcpy(f->provider, "web-identity", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "role %s", role_arn);
	}
	return rc;
}

static int
assume_role(chain *ch, const sigv4_creds *src, const char *role_arn, const char *session,
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

/* GET a JSON credentials document (IMDS, container); 1 or -1 with a reason. */
static int
fetch_doc(chain *ch, const char *url, struct curl_slist *hl, long timeout_ms, const char *who, found *f)
{
	vbuf		answer = VBUF_INIT;
	long		status;
	char		herr[512];
	int			rc = -1;

	if (http_call(ch, true, "GET", url, hl, NULL, timeout_ms, 2, &answer, &status, herr, sizeof(herr)) != 0)
		fail(ch, "%s: %s", who, herr);
	else if (aws_creds_from_json(answer.data, answer.len, &f->c, &f->expires, herr, sizeof(herr)) != 0)
		fail(ch, "%s: %s", who, herr);
	else
		rc = 1;
	wipe_vbuf(&answer);
	return rc;
}

/* --- container credentials (ECS, EKS Pod Identity) --- */

static int
container_creds(chain *ch, found *f)
{
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *tok_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	char	   *token = NULL;
	vbuf		url = VBUF_INIT,
				hv = VBUF_INIT;
	struct curl_slist *hl = NULL;
	int			rc = -1;

	if (rel)
		vbuf_printf(&url, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
	else if (full)
	{
		if (!aws_container_uri_allowed(full))
		{
			fail(ch, "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http on a loopback or the ECS/EKS agent's address");
			return -1;
		}
		vbuf_puts(&url, full);
	}
	else
		return 0;
	if (tok_file)
	{
		token = read_small_file(tok_file, DOC_MAX);
		if (token == NULL)
		{
			fail(ch, "container credentials: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\": %s",
				 tok_file, strerror(errno));
			vbuf_free(&url);
			return -1;
		}
		token[strcspn(token, "\r\n")] = '\0';
	}
	else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
		token = vtp_strdup(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	if (token && !header_safe(token))
	{
		fail(ch, "container credentials: the authorization token holds a line break");
		goto done;
	}
	if (token)
	{
		vbuf_printf(&hv, "Authorization: %s", token);
		hl = curl_slist_append(hl, hv.data);
	}
	if ((rc = fetch_doc(ch, url.data, hl, CONTAINER_TIMEOUT_MS, "container credentials", f)) == 1)
	{
		vtp_strlcpy(f->provider, "container", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "%s", url.data);
	}
done:
	wipe_slist(hl);
	wipe_free(token);
	wipe_vbuf(&hv);
	vbuf_free(&url);
	return rc;
}

/* --- EC2 instance metadata, IMDSv2 only --- */

static int
imds_creds(chain *ch, found *f, bool asked)
{
	const char *dis = env("AWS_EC2_METADATA_DISABLED");
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	vbuf		url = VBUF_INIT,
				hv = VBUF_INIT,
				token = VBUF_INIT,
				role = VBUF_INIT;
	struct curl_slist *hl = NULL;
	long		status;
	char		herr[512];
	int			rc = -1;
	size_t		blen;

	if (dis && strcasecmp(dis, "true") == 0)
	{
		if (asked)
			fail(ch, "instance metadata: AWS_EC2_METADATA_DISABLED is true");
		return asked ? -1 : 0;
	}
	vbuf_puts(&url, base ? base : "http://169.254.169.254");
	while (url.len > 0 && url.data[url.len - 1] == '/')
		url.data[--url.len] = '\0';
	blen = url.len;

	/* the session token first: IMDSv1's plain GET is never used */
	vbuf_puts(&url, "/latest/api/token");
	hl = curl_slist_append(hl, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
	if (http_call(ch, true, "PUT", url.data, hl, NULL, IMDS_TIMEOUT_MS, 1, &token, &status, herr, sizeof(herr)) != 0)
	{
		fail(ch, "instance metadata (IMDSv2 token): %s", herr);
		goto done;
	}
	curl_slist_free_all(hl);
	hl = NULL;
	token.data[strcspn(token.data, "\r\n")] = '\0';
	if (token.data[0] == '\0' || strlen(token.data) > 1024)
	{
		fail(ch, "instance metadata: the IMDSv2 token is empty or too long");
		goto done;
	}
	vbuf_printf(&hv, "X-aws-ec2-metadata-token: %s", token.data);
	hl = curl_slist_append(hl, hv.data);
	url.data[url.len = blen] = '\0';
	vbuf_puts(&url, "/latest/meta-data/iam/security-credentials/");
	if (http_call(ch, true, "GET", url.data, hl, NULL, IMDS_TIMEOUT_MS, 2, &role, &status, herr, sizeof(herr)) != 0)
	{
		fail(ch, "instance metadata: %s%s", herr, status == 404 ? " (the instance has no IAM role)" : "");
		goto done;
	}
	role.data[strcspn(role.data, "\r\n")] = '\0';
	if (role.data[0] == '\0' || strlen(role.data) > 128 || strpbrk(role.data, "/?#%") != NULL)
	{
		fail(ch, "instance metadata: no usable role name");
		goto done;
	}
	vbuf_puts(&url, role.data);
	if ((rc = fetch_doc(ch, url.data, hl, IMDS_TIMEOUT_MS, "instance metadata", f)) == 1)
	{
		vtp_strlcpy(f->provider, "instance-metadata", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "role %s", role.data);
	}
done:
	wipe_slist(hl);
	wipe_vbuf(&token);
	wipe_vbuf(&hv);
	vbuf_free(&role);
	vbuf_free(&url);
	return rc;
}

/* --- credential_process --- */

static int
process_creds(chain *ch, const char *command, const char *profile, found *f)
{
	int			out[2];
	posix_spawn_file_actions_t fa;
	pid_t		pid;
	char	   *argv[] = {"/bin/sh", "-c", (char *) command, NULL};
	vbuf		b = VBUF_INIT;
	time_t		deadline = time(NULL) + PROCESS_TIMEOUT_S;
	int			st = 0,
				rc = -1,
				e;
	bool		timed_out = false,
				too_big = false,
				interrupted = false;
	posix_spawnattr_t attr;
	sigset_t	mask,
				defaults;
	char		herr[256];

	if (pipe2(out, O_CLOEXEC) != 0)
	{
		fail(ch, "credential_process: pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	/* the command gets stdin, stdout, stderr and nothing else of ours */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/*
	 * Default signals and an empty mask: a backend ignores SIGPIPE and an
	 * upload thread blocks everything, neither of which a shell pipeline
	 * expects. Its own process group, so a timeout kills what it started.
	 */
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigfillset(&defaults);
	sigdelset(&defaults, SIGKILL);
	sigdelset(&defaults, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	e = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (e != 0)
	{
		close(out[0]);
		fail(ch, "credential_process of profile \"%s\": cannot start /bin/sh: %s", profile, strerror(e));
		return -1;
	}
	for (;;)
	{
		struct pollfd p = {out[0], POLLIN, 0};
		char		chunk[4096];
		ssize_t		n;
		long		left = (long) (deadline - time(NULL));

		if (aborted(ch->cfg))
		{
			interrupted = true;
			break;
		}
		if (left <= 0)
		{
			timed_out = true;
			break;
		}
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(out[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t) n > DOC_MAX)
		{
			too_big = true;
			break;
		}
		vbuf_append(&b, chunk, (size_t) n);
		OPENSSL_cleanse(chunk, sizeof(chunk));
	}
	close(out[0]);
	if (timed_out || too_big || interrupted)
		kill(-pid, SIGKILL);
	/* stdout closed is not the end: wait for the exit within the same deadline */
	for (;;)
	{
		pid_t		r = waitpid(pid, &st, WNOHANG);
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (r == 0 && (time(NULL) > deadline || aborted(ch->cfg)))
		{
			timed_out = !aborted(ch->cfg);
			interrupted = !timed_out;
			kill(-pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (interrupted)
		fail(ch, "credential_process of profile \"%s\": interrupted (shutting down or cancelled)", profile);
	else if (timed_out)
		fail(ch, "credential_process of profile \"%s\" did not finish within %d s", profile, PROCESS_TIMEOUT_S);
	else if (too_big)
		fail(ch, "credential_process of profile \"%s\" wrote more than %d bytes", profile, DOC_MAX);
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		fail(ch, "credential_process of profile \"%s\" exited with status %d", profile, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		fail(ch, "credential_process of profile \"%s\" was killed by signal %d", profile, WTERMSIG(st));
	else if (aws_creds_from_process(vbuf_str(&b), b.len, &f->c, &f->expires, herr, sizeof(herr)) != 0)
		fail(ch, "credential_process of profile \"%s\": %s", profile, herr);
	else
	{
		rc = 0;
		vtp_strlcpy(f->provider, "credential-process", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "profile %s", profile);
	}
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	vbuf_free(&b);
	return rc;
}

/* --- the environment --- */

static int
env_creds(found *f)
{
	const char *ak = env("AWS_ACCESS_KEY_ID");
	const char *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *tok = env("AWS_SESSION_TOKEN");

	if (ak == NULL || sk == NULL)
		return 0;
	vtp_strlcpy(f->c.access_key, ak, sizeof(f->c.access_key));
	vtp_strlcpy(f->c.secret_key, sk, sizeof(f->c.secret_key));
	if (tok)
		vtp_strlcpy(f->c.session_token, tok, sizeof(f->c.session_token));
	vtp_strlcpy(f->provider, "environment", sizeof(f->provider));
	vtp_strlcpy(f->detail, "AWS_ACCESS_KEY_ID", sizeof(f->detail));
	return 1;
}

/* --- the shared credentials and config files --- */

static void
load_files(chain *ch)
{
	const char *cp = env("AWS_SHARED_CREDENTIALS_FILE");
	const char *fp = env("AWS_CONFIG_FILE");
	char		home[900];
	bool		have_home = home_dir(home, sizeof(home));

	ch->cred_path[0] = ch->conf_path[0] = '\0';
	if (cp)
		vtp_strlcpy(ch->cred_path, cp, sizeof(ch->cred_path));
	else if (have_home)
		snprintf(ch->cred_path, sizeof(ch->cred_path), "%s/.aws/credentials", home);
	if (fp)
		vtp_strlcpy(ch->conf_path, fp, sizeof(ch->conf_path));
	else if (have_home)
		snprintf(ch->conf_path, sizeof(ch->conf_path), "%s/.aws/config", home);
	errno = 0;
	ch->cred_text = ch->cred_path[0] ? read_small_file(ch->cred_path, FILE_MAX) : NULL;
	ch->cred_errno = ch->cred_text ? 0 : errno;
	errno = 0;
	ch->conf_text = ch->conf_path[0] ? read_small_file(ch->conf_path, FILE_MAX) : NULL;
	ch->conf_errno = ch->conf_text ? 0 : errno;
}

/* "PATH" or "PATH (cannot be read: why)", for errors. */
static void
file_state(vbuf *b, const char *path, const char *text, int e)
{
	if (path[0] == '\0')
		vbuf_puts(b, "(none: HOME is unknown and the passwd entry has no home)");
	else if (text == NULL)
		vbuf_printf(b, "%s (cannot be read: %s)", path, strerror(e ? e : ENOENT));
	else
		vbuf_puts(b, path);
}

/* A profile setting: the credentials file first, as the SDKs merge them. */
static char *
prof_get(chain *ch, const char *profile, const char *key)
{
	char	   *v = aws_ini_get(ch->cred_text, profile, false, key);

	if (v == NULL)
		v = aws_ini_get(ch->conf_text, profile, true, key);
	if (v && v[0] == '\0')
	{
		free(v);
		v = NULL;
	}
	return v;
}

static bool
prof_exists(chain *ch, const char *profile)
{
	return aws_ini_has(ch->cred_text, profile, false) || aws_ini_has(ch->conf_text, profile, true);
}

static int	profile_creds(chain *ch, const char *profile, int depth, found *f);

static int
role_source(chain *ch, const char *profile, int depth, const char *source_profile,
			const char *credential_source, found *src)
{
	if (source_profile)
	{
		if (strcmp(source_profile, profile) == 0)
		{
			/* a profile may be its own source through its static keys */
			char	   *ak = prof_get(ch, profile, "aws_access_key_id");
			char	   *sk = prof_get(ch, profile, "aws_secret_access_key");
			char	   *tok = prof_get(ch, profile, "aws_session_token");
			int			rc = -1;

			if (ak && sk)
			{
				vtp_strlcpy(src->c.access_key, ak, sizeof(src->c.access_key));
				vtp_strlcpy(src->c.secret_key, sk, sizeof(src->c.secret_key));
				if (tok)
					vtp_strlcpy(src->c.session_token, tok, sizeof(src->c.session_token));
				rc = 0;
			}
			else
				fail(ch, "profile \"%s\" is its own source_profile but has no static keys", profile);
			wipe_free(ak);
			wipe_free(sk);
			wipe_free(tok);
			return rc;
		}
		if (depth >= MAX_ROLE_CHAIN)
		{
			fail(ch, "profile \"%s\": source_profile chain longer than %d (a loop?)", profile, MAX_ROLE_CHAIN);
			return -1;
		}
		if (!prof_exists(ch, source_profile))
		{
			fail(ch, "profile \"%s\": source_profile \"%s\" not found", profile, source_profile);
			return -1;
		}
		switch (profile_creds(ch, source_profile, depth + 1, src))
		{
			case 1:
				return 0;
			case 0:
				fail(ch, "profile \"%s\": source_profile \"%s\" has no credentials", profile, source_profile);
				return -1;
			default:
				return -1;
		}
	}
	if (strcmp(credential_source, "Environment") == 0)
	{
		if (env_creds(src) == 1)
			return 0;
		fail(ch, "profile \"%s\": credential_source Environment, but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set", profile);
		return -1;
	}
	if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
		return imds_creds(ch, src, true) == 1 ? 0 : -1;
	if (strcmp(credential_source, "EcsContainer") == 0)
	{
		int			rc = container_creds(ch, src);

		if (rc == 0)
			fail(ch, "profile \"%s\": credential_source EcsContainer, but no AWS_CONTAINER_CREDENTIALS_* is set", profile);
		return rc == 1 ? 0 : -1;
	}
	fail(ch, "profile \"%s\": unknown credential_source \"%s\" (Environment, Ec2InstanceMetadata or EcsContainer)",
		 profile, credential_source);
	return -1;
}

/*
 * The profile's credentials, in the SDKs' order: a role, web identity,
 * static keys, credential_process. 1 found, -1 failed (with a reason).
 */
static int
profile_creds(chain *ch, const char *profile, int depth, found *f)
{
	char	   *role_arn = prof_get(ch, profile, "role_arn");
	char	   *v1 = NULL,
			   *v2 = NULL,
			   *v3 = NULL,
			   *v4 = NULL;
	int			rc = -1;

	if (role_arn)
	{
		char	   *sp = prof_get(ch, profile, "source_profile");
		char	   *cs = prof_get(ch, profile, "credential_source");
		char	   *wif = prof_get(ch, profile, "web_identity_token_file");
		char	   *mfa = prof_get(ch, profile, "mfa_serial");

		v1 = prof_get(ch, profile, "role_session_name");
		if (mfa)
			fail(ch, "profile \"%s\" needs an MFA code (mfa_serial): a server cannot type one", profile);
		else if (sp || cs)
		{
			found		src;

			memset(&src, 0, sizeof(src));
			v2 = prof_get(ch, profile, "external_id");
			v3 = prof_get(ch, profile, "duration_seconds");
			if (role_source(ch, profile, depth, sp, cs, &src) == 0 &&
				assume_role(ch, &src.c, role_arn, v1, v2, v3, f) == 0)
			{
				rc = 1;
				vtp_strlcpy(f->provider, "assume-role", sizeof(f->provider));
				snprintf(f->detail, sizeof(f->detail), "profile %s, role %s", profile, role_arn);
			}
			OPENSSL_cleanse(&src, sizeof(src));
		}
		else if (wif)
		{
			if (web_identity(ch, wif, role_arn, v1, f) == 0)
			{
				rc = 1;
				snprintf(f->detail, sizeof(f->detail), "profile %s, role %s", profile, role_arn);
			}
		}
		else
			fail(ch, "profile \"%s\" has role_arn but no source_profile, credential_source or web_identity_token_file", profile);
		free(sp);
		free(cs);
		free(wif);
		free(mfa);
	}
	else if ((v1 = prof_get(ch, profile, "aws_access_key_id")) != NULL &&
			 (v2 = prof_get(ch, profile, "aws_secret_access_key")) != NULL)
	{
		vtp_strlcpy(f->c.access_key, v1, sizeof(f->c.access_key));
		vtp_strlcpy(f->c.secret_key, v2, sizeof(f->c.secret_key));
		if ((v3 = prof_get(ch, profile, "aws_session_token")) != NULL)
			vtp_strlcpy(f->c.session_token, v3, sizeof(f->c.session_token));
		vtp_strlcpy(f->provider, "profile", sizeof(f->provider));
		if (snprintf(f->detail, sizeof(f->detail), "profile %s in %s", profile,
					 aws_ini_has(ch->cred_text, profile, false) ? ch->cred_path : ch->conf_path) >= (int) sizeof(f->detail))
			snprintf(f->detail, sizeof(f->detail), "profile %s", profile);
		rc = 1;
	}
	else if ((v4 = prof_get(ch, profile, "credential_process")) != NULL)
		rc = process_creds(ch, v4, profile, f) == 0 ? 1 : -1;
	else if (v1)
		fail(ch, "profile \"%s\" has aws_access_key_id but no aws_secret_access_key", profile);
	else
		rc = 0;					/* e.g. only a region: the chain goes on, as the SDKs' does */
	free(role_arn);
	wipe_free(v1);
	wipe_free(v2);
	wipe_free(v3);
	wipe_free(v4);
	return rc;
}

/* --- the chain --- */

static int
resolve(const aws_creds_config *cfg, found *f, char *err, size_t errlen)
{
	chain		ch;
	const char *profile = cfg && cfg->profile && cfg->profile[0] ? cfg->profile : env("AWS_PROFILE");
	bool		named = profile != NULL;
	const char *wif = env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = env("AWS_ROLE_ARN");
	int			rc;

	memset(f, 0, sizeof(*f));
	memset(&ch, 0, sizeof(ch));
	ch.cfg = cfg;
	ch.region = cfg ? cfg->region : NULL;
	ch.err = err;
	ch.errlen = errlen;
	if (profile == NULL)
		profile = "default";

	if (env_creds(f) == 1)
		return 0;
	if (wif && arn)
		return web_identity(&ch, wif, arn, env("AWS_ROLE_SESSION_NAME"), f);

	load_files(&ch);
	rc = prof_exists(&ch, profile) ? profile_creds(&ch, profile, 0, f) : 0;
	if (rc != 0)
		;
	else if (named && !prof_exists(&ch, profile))
	{
		vbuf		a = VBUF_INIT,
					b = VBUF_INIT;

		file_state(&a, ch.cred_path, ch.cred_text, ch.cred_errno);
		file_state(&b, ch.conf_path, ch.conf_text, ch.conf_errno);
		fail(&ch, "no AWS credentials: the environment has none, and profile \"%s\" is not in %s or %s",
			 profile, a.data, b.data);
		vbuf_free(&a);
		vbuf_free(&b);
		rc = -1;
	}
	else if ((rc = container_creds(&ch, f)) == 0 && (rc = imds_creds(&ch, f, false)) == 0)
	{
		fail(&ch, "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set, the shared files (%s) have none for profile \"%s\", no container credentials are configured and instance metadata is disabled",
			 ch.cred_path[0] ? ch.cred_path : "none: HOME unknown", profile);
		rc = -1;
	}
	else if (rc == -1 && f->provider[0] == '\0' && strncmp(err, "instance metadata", 17) == 0)
	{
		/* the last resort failed: say what else was tried */
		char		tail[512];

		vtp_strlcpy(tail, err, sizeof(tail));
		snprintf(err, errlen, "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set, the shared files (%s) have none for profile \"%s\", no container credentials are configured, and %s",
				 ch.cred_path[0] ? ch.cred_path : "none: HOME unknown", profile, tail);
	}
	wipe_free(ch.cred_text);
	wipe_free(ch.conf_text);
	return rc == 1 ? 0 : -1;
}

/* --- the per-process cache --- */

/*
 * One entry (a process uses one profile). A fetch runs without the lock:
 * other threads are served the still-valid credentials meanwhile, or wait
 * for the fetch when there are none; a failure is remembered for a moment
 * so that retries do not each run the whole chain again.
 */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cv = PTHREAD_COND_INITIALIZER;
static struct
{
	bool		valid;
	bool		fetching;
	char		key[256];
	found		f;
	aws_creds_info info;
	long		first_seen;		/* when these exact credentials were first fetched */
	long		refresh_at;
	long		next_try;		/* after a failed refresh */
	long		fail_until;		/* nothing valid: the last failure stands until then */
	char		fail_err[512];
	unsigned	generation;
} cache;

static void
cache_key(const aws_creds_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s|%s", cfg && cfg->profile ? cfg->profile : "",
			 cfg && cfg->region ? cfg->region : "");
}

static bool
env_keys_set(void)
{
	return env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY");
}

/* Usable as they are: same configuration, still fresh (or retrying a failed refresh while valid). */
static bool
cache_usable(const char *key, long now)
{
	if (!cache.valid || strcmp(cache.key, key) != 0)
		return false;
	/* the environment is checked every time: it is first, and cheap */
	if (strcmp(cache.f.provider, "environment") == 0 || env_keys_set())
		return false;
	if (now < cache.refresh_at)
		return true;
	return (cache.fetching || now < cache.next_try) &&
		(cache.f.expires == 0 || now < cache.f.expires - 1);
}

static void
cache_store(const char *key, found *f, long now)
{
	bool		same = cache.valid && strcmp(cache.f.provider, f->provider) == 0 &&
		strcmp(cache.f.c.access_key, f->c.access_key) == 0 &&
		strcmp(cache.f.c.session_token, f->c.session_token) == 0;

	if (!same)
	{
		cache.generation++;
		cache.first_seen = now;
	}
	OPENSSL_cleanse(&cache.f, sizeof(cache.f));
	cache.f = *f;
	cache.valid = true;
	vtp_strlcpy(cache.key, key, sizeof(cache.key));
	cache.info.generation = cache.generation;
	vtp_strlcpy(cache.info.provider, f->provider, sizeof(cache.info.provider));
	vtp_strlcpy(cache.info.detail, f->detail, sizeof(cache.info.detail));
	cache.info.expires = f->expires;
	cache.info.loaded = now;
	cache.info.refresh_error[0] = '\0';
	if (f->expires)
	{
		/*
		 * From their whole life, not what is left: a metadata service that
		 * hands out the same keys late must not pull refreshes ever closer.
		 */
		cache.refresh_at = aws_creds_refresh_at(cache.first_seen, f->expires);
		if (same && cache.refresh_at < now + 10 && f->expires - now > 20)
			cache.refresh_at = now + 10;
	}
	else if (strcmp(f->provider, "credential-process") == 0)
		cache.refresh_at = LONG_MAX;	/* no Expiration: for the process's life, as the SDKs */
	else
		cache.refresh_at = now + STATIC_RECHECK_S;	/* a rotated file is picked up */
	cache.next_try = 0;
	cache.fail_until = 0;
}

int
aws_creds_current(const aws_creds_config *cfg, sigv4_creds *out, aws_creds_info *info, char *err, size_t errlen)
{
	char		key[256];
	long		now;
	found		f;
	int			rc;

	cache_key(cfg, key, sizeof(key));
	pthread_mutex_lock(&cache_mu);
	for (;;)
	{
		now = (long) time(NULL);
		if (cache_usable(key, now))
			goto hit;
		if (!cache.fetching && !(cache.valid && strcmp(cache.key, key) == 0) &&
			now < cache.fail_until && strcmp(cache.key, key) == 0)
		{
			vtp_strlcpy(err, cache.fail_err, errlen);
			pthread_mutex_unlock(&cache_mu);
			return -1;
		}
		if (!cache.fetching)
			break;
		/* another thread fetches, and nothing valid is cached: wait for it */
		{
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 200 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L)
			{
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			(void) pthread_cond_timedwait(&cache_cv, &cache_mu, &until);
		}
		if (cfg && cfg->abort_check && cfg->abort_check(cfg->abort_arg))
		{
			pthread_mutex_unlock(&cache_mu);
			snprintf(err, errlen, "interrupted while waiting for AWS credentials");
			return -1;
		}
	}
	cache.fetching = true;
	pthread_mutex_unlock(&cache_mu);

	rc = resolve(cfg, &f, err, errlen);

	pthread_mutex_lock(&cache_mu);
	cache.fetching = false;
	pthread_cond_broadcast(&cache_cv);
	now = (long) time(NULL);
	if (rc == 0)
	{
		cache_store(key, &f, now);
		OPENSSL_cleanse(&f, sizeof(f));
		goto hit;
	}
	OPENSSL_cleanse(&f, sizeof(f));
	/* a failed refresh: keep what still works, say so, and try again shortly */
	if (cache.valid && strcmp(cache.key, key) == 0 && strcmp(cache.f.provider, "environment") != 0 &&
		(cache.f.expires == 0 || now < cache.f.expires - 1))
	{
		cache.next_try = now + REFRESH_RETRY_S;
		vtp_strlcpy(cache.info.refresh_error, err, sizeof(cache.info.refresh_error));
		cache.info.refresh_failures++;
		goto hit;
	}
	OPENSSL_cleanse(&cache.f, sizeof(cache.f));
	cache.valid = false;
	vtp_strlcpy(cache.key, key, sizeof(cache.key));
	cache.fail_until = now + FAIL_REMEMBER_S;
	vtp_strlcpy(cache.fail_err, err, sizeof(cache.fail_err));
	pthread_mutex_unlock(&cache_mu);
	return -1;

hit:
	*out = cache.f.c;
	if (info)
		*info = cache.info;
	pthread_mutex_unlock(&cache_mu);
	return 0;
}

bool
aws_creds_peek(aws_creds_info *info)
{
	bool		valid;

	pthread_mutex_lock(&cache_mu);
	valid = cache.valid;
	if (valid)
		*info = cache.info;
	pthread_mutex_unlock(&cache_mu);
	return valid;
}

void
aws_creds_invalidate(const char *access_key)
{
	pthread_mutex_lock(&cache_mu);
	/* only the refused ones: a late answer to an old key keeps fresh ones */
	if (cache.valid && access_key && strcmp(cache.f.c.access_key, access_key) == 0)
	{
		cache.refresh_at = 1;
		cache.next_try = 0;
		if (cache.f.expires)
			cache.f.expires = (long) time(NULL);	/* never served again */
	}
	pthread_mutex_unlock(&cache_mu);
}

void
aws_creds_reset(void)
{
	pthread_mutex_lock(&cache_mu);
	OPENSSL_cleanse(&cache, sizeof(cache));
	pthread_mutex_unlock(&cache_mu);
}

int
aws_creds_load(const char *profile, sigv4_creds *c, char *err, size_t errlen)
{
	aws_creds_config cfg = {profile, NULL, NULL, NULL};

	return aws_creds_current(&cfg, c, NULL, err, errlen);
}
