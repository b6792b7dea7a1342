/*
 * sigv4.c — AWS Signature Version 4 signing (pure C on OpenSSL).
 */
#include "sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static void
to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
vtp_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

static void
hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned int outlen = 32;

	HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) msg, strlen(msg), out, &outlen);
}

void
sigv4_uri_encode(vbuf *b, const char *s, bool encode_slash)
{
	static const char hx[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *) s; *p; p++)
	{
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
			(*p == '/' && !encode_slash))
			vbuf_putc(b, (char) *p);
		else
		{
			vbuf_putc(b, '%');
			vbuf_putc(b, hx[*p >> 4]);
			vbuf_putc(b, hx[*p & 15]);
		}
	}
}

/* Percent-decode s[0..n) into a new string ('+' is kept literally). */
static char *
pct_decode(const char *s, size_t n)
{
	char	   *out = malloc(n + 1);
	size_t		i,
				o = 0;

	if (out == NULL)
		abort();
	for (i = 0; i < n; i++)
	{
		if (s[i] == '%' && i + 2 < n && vtp_hexval(s[i + 1]) >= 0 && vtp_hexval(s[i + 2]) >= 0)
		{
			out[o++] = (char) (vtp_hexval(s[i + 1]) * 16 + vtp_hexval(s[i + 2]));
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

typedef struct qpair
{
	char	   *enc;			/* encoded "name=value" */
	size_t		namelen;		/* length of the encoded name */
} qpair;

static int
qpair_cmp(const void *a, const void *b)
{
	const qpair *x = a,
			   *y = b;
	size_t		n = x->namelen < y->namelen ? x->namelen : y->namelen;
	int			c = strncmp(x->enc, y->enc, n);

	if (c != 0)
		return c;
	if (x->namelen != y->namelen)
		return x->namelen < y->namelen ? -1 : 1;
	return strcmp(x->enc + x->namelen, y->enc + y->namelen);
}

void
sigv4_canonical_query(vbuf *out, const char *raw)
{
	qpair	   *pairs;
	int			n = 0,
				cap = 8,
				i;
	const char *p = raw ? raw : "";

	pairs = malloc(sizeof(qpair) * (size_t) cap);
	if (pairs == NULL)
		abort();
	while (*p)
	{
		const char *amp = strchr(p, '&');
		size_t		seglen = amp ? (size_t) (amp - p) : strlen(p);
		const char *eq = memchr(p, '=', seglen);
		size_t		nlen = eq ? (size_t) (eq - p) : seglen;
		char	   *name,
				   *value;
		vbuf		b = VBUF_INIT;

		if (seglen > 0)
		{
			name = pct_decode(p, nlen);
			value = eq ? pct_decode(eq + 1, seglen - nlen - 1) : strdup("");
			sigv4_uri_encode(&b, name, true);
			if (n == cap)
			{
				cap *= 2;
				pairs = realloc(pairs, sizeof(qpair) * (size_t) cap);
				if (pairs == NULL)
					abort();
			}
			pairs[n].namelen = b.len;
			vbuf_putc(&b, '=');
			sigv4_uri_encode(&b, value, true);
			pairs[n].enc = b.data;
			n++;
			free(name);
			free(value);
		}
		p += seglen;
		if (*p == '&')
			p++;
	}
	qsort(pairs, (size_t) n, sizeof(qpair), qpair_cmp);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			vbuf_putc(out, '&');
		vbuf_puts(out, pairs[i].enc);
		free(pairs[i].enc);
	}
	vbuf_str(out);
	free(pairs);
}

typedef struct chdr
{
	char	   *name;			/* lower-case */
	char	   *value;			/* trimmed, inner runs of spaces folded */
} chdr;

static int
chdr_cmp(const void *a, const void *b)
{
	return strcmp(((const chdr *) a)->name, ((const chdr *) b)->name);
}

static char *
trim_fold(const char *v)
{
	char	   *out = malloc(strlen(v) + 1);
	char	   *o = out;
	bool		space = false;

	if (out == NULL)
		abort();
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t')
		{
			space = true;
			continue;
		}
		if (space && o != out)
			*o++ = ' ';
		space = false;
		*o++ = *v;
	}
	*o = '\0';
	return out;
}

void
sigv4_canonical_request(const sigv4_input *in, vbuf *out, vbuf *signed_headers)
{
	chdr		h[SIGV4_MAX_HEADERS];
	int			n = in->nheaders < SIGV4_MAX_HEADERS ? in->nheaders : SIGV4_MAX_HEADERS;
	int			i;
	char	   *c;

	for (i = 0; i < n; i++)
	{
		h[i].name = strdup(in->headers[i].name);
		if (h[i].name == NULL)
			abort();
		for (c = h[i].name; *c; c++)
			*c = (char) tolower((unsigned char) *c);
		h[i].value = trim_fold(in->headers[i].value);
	}
	qsort(h, (size_t) n, sizeof(chdr), chdr_cmp);

	vbuf_puts(out, in->method);
	vbuf_putc(out, '\n');
	vbuf_puts(out, in->path[0] ? in->path : "/");
	vbuf_putc(out, '\n');
	vbuf_puts(out, in->query ? in->query : "");
	vbuf_putc(out, '\n');
	for (i = 0; i < n; i++)
		vbuf_printf(out, "%s:%s\n", h[i].name, h[i].value);
	vbuf_putc(out, '\n');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			vbuf_putc(signed_headers, ';');
		vbuf_puts(signed_headers, h[i].name);
		free(h[i].name);
		free(h[i].value);
	}
	vbuf_puts(out, signed_headers->data ? signed_headers->data : "");
	vbuf_putc(out, '\n');
	vbuf_puts(out, in->payload_hash);
}

static void
signing_key(const char *secret, const char *date8, const char *region, const char *service,
			unsigned char key[32])
{
	vbuf		k = VBUF_INIT;
	unsigned char t1[32],
				t2[32],
				t3[32];

	vbuf_printf(&k, "AWS4%s", secret);
	hmac(k.data, k.len, date8, t1);
	hmac(t1, 32, region, t2);
	hmac(t2, 32, service, t3);
	hmac(t3, 32, "aws4_request", key);
	/* scrub the secret-derived material */
	memset(k.data, 0, k.len);
	vbuf_free(&k);
	memset(t1, 0, 32);
	memset(t2, 0, 32);
	memset(t3, 0, 32);
}

static void
signature_of(const sigv4_input *in, const char *secret, const char *canonical, char out[65])
{
	char		date8[9];
	char		creq_hash[65];
	unsigned char key[32],
				sig[32];
	vbuf		sts = VBUF_INIT;

	memcpy(date8, in->amz_date, 8);
	date8[8] = '\0';
	vtp_sha256_hex(canonical, strlen(canonical), creq_hash);
	vbuf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
				in->amz_date, date8, in->region, in->service, creq_hash);
	signing_key(secret, date8, in->region, in->service, key);
	hmac(key, 32, sts.data, sig);
	memset(key, 0, 32);
	to_hex(sig, 32, out);
	vbuf_free(&sts);
}

void
sigv4_signature(const sigv4_input *in, const char *secret, char out[65])
{
	vbuf		creq = VBUF_INIT,
				sh = VBUF_INIT;

	sigv4_canonical_request(in, &creq, &sh);
	signature_of(in, secret, creq.data, out);
	vbuf_free(&creq);
	vbuf_free(&sh);
}

void
sigv4_authorization(const sigv4_input *in, const sigv4_creds *c, vbuf *out)
{
	vbuf		creq = VBUF_INIT,
				sh = VBUF_INIT;
	char		sig[65];

	sigv4_canonical_request(in, &creq, &sh);
	signature_of(in, c->secret_key, creq.data, sig);
	vbuf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
				c->access_key, in->amz_date, in->region, in->service, sh.data, sig);
	vbuf_free(&creq);
	vbuf_free(&sh);
}

void
sigv4_presign(vbuf *url, const char *method, const char *base, const char *host,
			  const char *path, const char *extra_query, const sigv4_creds *c,
			  const char *region, const char *service, const char *amz_date,
			  long expires_seconds)
{
	sigv4_presign_sized(url, method, base, host, path, extra_query, c, region, service, amz_date,
						expires_seconds, -1);
}

void
sigv4_presign_sized(vbuf *url, const char *method, const char *base, const char *host,
					const char *path, const char *extra_query, const sigv4_creds *c,
					const char *region, const char *service, const char *amz_date,
					long expires_seconds, long long content_length)
{
	vbuf		raw = VBUF_INIT,
				query = VBUF_INIT,
				cred = VBUF_INIT;
	char		len[32];
	sigv4_header hdr[2];
	int			nh = 0;
	sigv4_input in;
	char		sig[65];

	if (content_length >= 0)
	{
		snprintf(len, sizeof(len), "%lld", content_length);
		hdr[nh++] = (sigv4_header) {"content-length", len};
	}
	hdr[nh++] = (sigv4_header) {"host", host};

	vbuf_printf(&cred, "%s/%.8s/%s/%s/aws4_request", c->access_key, amz_date, region, service);
	if (extra_query && extra_query[0])
		vbuf_printf(&raw, "%s&", extra_query);
	vbuf_puts(&raw, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
	sigv4_uri_encode(&raw, cred.data, true);
	vbuf_printf(&raw, "&X-Amz-Date=%s&X-Amz-Expires=%ld&X-Amz-SignedHeaders=%s",
				amz_date, expires_seconds, content_length >= 0 ? "content-length%3Bhost" : "host");
	if (c->session_token[0])
	{
		vbuf_puts(&raw, "&X-Amz-Security-Token=");
		sigv4_uri_encode(&raw, c->session_token, true);
	}
	sigv4_canonical_query(&query, raw.data);

	memset(&in, 0, sizeof(in));
	in.method = method;
	in.path = path;
	in.query = query.data;
	in.headers = hdr;
	in.nheaders = nh;
	in.payload_hash = "UNSIGNED-PAYLOAD";
	in.region = region;
	in.service = service;
	in.amz_date = amz_date;
	sigv4_signature(&in, c->secret_key, sig);
	vbuf_printf(url, "%s%s?%s&X-Amz-Signature=%s", base, path, query.data, sig);
	vbuf_free(&raw);
	vbuf_free(&query);
	vbuf_free(&cred);
}

void
sigv4_amz_date(long t, char out[17])
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
