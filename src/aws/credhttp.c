/*
 * credhttp.c — the credential chain's small helpers, its HTTP client (short
 * timeouts: a host without IMDS must not stall every first request; every
 * answer capped; interruptible), and the two metadata providers: container
 * credentials (ECS, EKS Pod Identity) and EC2 IMDSv2.
 */
#include "cred_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

const char *
cred_env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

void
cred_wipe(char *s)
{
	if (s)
	{
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
cred_wipe_vbuf(vbuf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->len);
	vbuf_free(b);
}

/* Header lists hold tokens and signatures. */
void
cred_wipe_slist(struct curl_slist *hl)
{
	struct curl_slist *p;

	for (p = hl; p; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(hl);
}

/* HOME, else the passwd entry's home, as the SDKs' expanduser does. */
bool
cred_home_dir(char *out, size_t outlen)
{
	struct passwd pw,
			   *res = NULL;
	char		buf[4096];

	if (cred_env("HOME"))
	{
		vtp_strlcpy(out, cred_env("HOME"), outlen);
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
char *
cred_read_file(const char *path, size_t max)
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
			cred_wipe(b.data);
			errno = EFBIG;
			return NULL;
		}
		vbuf_append(&b, chunk, (size_t) n);
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	close(fd);
	if (n < 0)
	{
		cred_wipe(b.data);
		return NULL;
	}
	vbuf_str(&b);				/* allocates for an empty file */
	return b.data;
}

void
cred_fail(chain *ch, const char *fmt,...)
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

bool
cred_aborted(const aws_creds_config *cfg)
{
	return cfg && cfg->abort_check && cfg->abort_check(cfg->abort_arg);
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return cred_aborted(((sink *) arg)->cfg) ? 1 : 0;
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
bool
cred_header_safe(const char *v)
{
	return v && strpbrk(v, "\r\n") == NULL;
}

/*
 * One request; the answer's body (<= DOC_MAX) in out. 0 on a 2xx answer, else
 * -1 with err saying what (the status, or the network error), never the body
 * of a success.
 */
int
cred_http(chain *ch, bool metadata, const char *method, const char *url, struct curl_slist *hl, const char *body,
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
	for (i = 0; i < attempts && !cred_aborted(ch->cfg); i++)
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
	if (cc == CURLE_ABORTED_BY_CALLBACK || cred_aborted(ch->cfg))
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


/* GET a JSON credentials document (IMDS, container); 1 or -1 with a reason. */
int
cred_fetch_doc(chain *ch, const char *url, struct curl_slist *hl, long timeout_ms, const char *who, found *f)
{
	vbuf		answer = VBUF_INIT;
	long		status;
	char		herr[512];
	int			rc = -1;

	if (cred_http(ch, true, "GET", url, hl, NULL, timeout_ms, 2, &answer, &status, herr, sizeof(herr)) != 0)
		cred_fail(ch, "%s: %s", who, herr);
	else if (aws_creds_from_json(answer.data, answer.len, &f->c, &f->expires, herr, sizeof(herr)) != 0)
		cred_fail(ch, "%s: %s", who, herr);
	else
		rc = 1;
	cred_wipe_vbuf(&answer);
	return rc;
}

/* --- container credentials (ECS, EKS Pod Identity) --- */

int
cred_container(chain *ch, found *f)
{
	const char *full = cred_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *rel = cred_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *tok_file = cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
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
			cred_fail(ch, "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http on a loopback or the ECS/EKS agent's address");
			return -1;
		}
		vbuf_puts(&url, full);
	}
	else
		return 0;
	if (tok_file)
	{
		token = cred_read_file(tok_file, DOC_MAX);
		if (token == NULL)
		{
			cred_fail(ch, "container credentials: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\": %s",
				 tok_file, strerror(errno));
			vbuf_free(&url);
			return -1;
		}
		token[strcspn(token, "\r\n")] = '\0';
	}
	else if (cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
		token = vtp_strdup(cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	if (token && !cred_header_safe(token))
	{
		cred_fail(ch, "container credentials: the authorization token holds a line break");
		goto done;
	}
	if (token)
	{
		vbuf_printf(&hv, "Authorization: %s", token);
		hl = curl_slist_append(hl, hv.data);
	}
	if ((rc = cred_fetch_doc(ch, url.data, hl, CONTAINER_TIMEOUT_MS, "container credentials", f)) == 1)
	{
		vtp_strlcpy(f->provider, "container", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "%s", url.data);
	}
done:
	cred_wipe_slist(hl);
	cred_wipe(token);
	cred_wipe_vbuf(&hv);
	vbuf_free(&url);
	return rc;
}

/* --- EC2 instance metadata, IMDSv2 only --- */

int
cred_imds(chain *ch, found *f, bool asked)
{
	const char *dis = cred_env("AWS_EC2_METADATA_DISABLED");
	const char *base = cred_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
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
			cred_fail(ch, "instance metadata: AWS_EC2_METADATA_DISABLED is true");
		return asked ? -1 : 0;
	}
	vbuf_puts(&url, base ? base : "http://169.254.169.254");
	while (url.len > 0 && url.data[url.len - 1] == '/')
		url.data[--url.len] = '\0';
	blen = url.len;

	/* the session token first: IMDSv1's plain GET is never used */
	vbuf_puts(&url, "/latest/api/token");
	hl = curl_slist_append(hl, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
	if (cred_http(ch, true, "PUT", url.data, hl, NULL, IMDS_TIMEOUT_MS, 1, &token, &status, herr, sizeof(herr)) != 0)
	{
		cred_fail(ch, "instance metadata (IMDSv2 token): %s", herr);
		goto done;
	}
	curl_slist_free_all(hl);
	hl = NULL;
	token.data[strcspn(token.data, "\r\n")] = '\0';
	if (token.data[0] == '\0' || strlen(token.data) > 1024)
	{
		cred_fail(ch, "instance metadata: the IMDSv2 token is empty or too long");
		goto done;
	}
	vbuf_printf(&hv, "X-aws-ec2-metadata-token: %s", token.data);
	hl = curl_slist_append(hl, hv.data);
	url.data[url.len = blen] = '\0';
	vbuf_puts(&url, "/latest/meta-data/iam/security-credentials/");
	if (cred_http(ch, true, "GET", url.data, hl, NULL, IMDS_TIMEOUT_MS, 2, &role, &status, herr, sizeof(herr)) != 0)
	{
		cred_fail(ch, "instance metadata: %s%s", herr, status == 404 ? " (the instance has no IAM role)" : "");
		goto done;
	}
	role.data[strcspn(role.data, "\r\n")] = '\0';
	if (role.data[0] == '\0' || strlen(role.data) > 128 || strpbrk(role.data, "/?#%") != NULL)
	{
		cred_fail(ch, "instance metadata: no usable role name");
		goto done;
	}
	vbuf_puts(&url, role.data);
	if ((rc = cred_fetch_doc(ch, url.data, hl, IMDS_TIMEOUT_MS, "instance metadata", f)) == 1)
	{
		vtp_strlcpy(f->provider, "instance-metadata", sizeof(f->provider));
		snprintf(f->detail, sizeof(f->detail), "role %s", role.data);
	}
done:
	cred_wipe_slist(hl);
	cred_wipe_vbuf(&token);
	cred_wipe_vbuf(&hv);
	vbuf_free(&role);
	vbuf_free(&url);
	return rc;
}
