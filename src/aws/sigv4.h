/*
 * sigv4.h — AWS Signature Version 4 (pure C on OpenSSL, no PostgreSQL):
 * canonical requests, Authorization headers and presigned URLs. Tested
 * against AWS's published vectors (test/unit/test_sigv4.c).
 */
#ifndef VTP_SIGV4_H
#define VTP_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

typedef struct sigv4_creds
{
	char		access_key[128];
	char		secret_key[256];
	char		session_token[4096];	/* "" when none */
} sigv4_creds;

typedef struct sigv4_header
{
	const char *name;
	const char *value;
} sigv4_header;

typedef struct sigv4_input
{
	const char *method;
	const char *path;			/* canonical URI, already percent-encoded */
	const char *query;			/* canonical query string ("" for none) */
	const sigv4_header *headers;	/* every header to sign, host included */
	int			nheaders;
	const char *payload_hash;	/* hex SHA-256 or UNSIGNED-PAYLOAD */
	const char *region;
	const char *service;
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ */
} sigv4_input;

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_MAX_HEADERS 32

/* Lower-case hex SHA-256 of len bytes (the payload hash SigV4 signs). */
extern void vtp_sha256_hex(const void *data, size_t len, char out[65]);

/* RFC 3986 encoding with upper-case hex; '/' kept when !encode_slash. */
extern void sigv4_uri_encode(vbuf *b, const char *s, bool encode_slash);

/*
 * Canonical form of a raw query string: each name and value percent-decoded
 * and re-encoded, '=' after valueless names, sorted. Send the result as the
 * query too, so that what is signed is what is sent.
 */
extern void sigv4_canonical_query(vbuf *out, const char *raw);

/* Canonical request and the ';'-joined signed header names. */
extern void sigv4_canonical_request(const sigv4_input *in, vbuf *out, vbuf *signed_headers);

/* Hex signature of the request. */
extern void sigv4_signature(const sigv4_input *in, const char *secret, char out[65]);

/* The value of the Authorization header. */
extern void sigv4_authorization(const sigv4_input *in, const sigv4_creds *c, vbuf *out);

/*
 * A presigned URL (query-string auth, payload UNSIGNED-PAYLOAD, signed
 * header host only). base is "scheme://host[:port]", host the Host header's
 * value, path the encoded path, extra_query a raw query or NULL.
 */
extern void sigv4_presign(vbuf *url, const char *method, const char *base, const char *host,
						  const char *path, const char *extra_query, const sigv4_creds *c,
						  const char *region, const char *service, const char *amz_date,
						  long expires_seconds);

/*
 * The same with Content-Length signed too (content_length >= 0): S3 then
 * takes exactly that many bytes (SignatureDoesNotMatch otherwise).
 */
extern void sigv4_presign_sized(vbuf *url, const char *method, const char *base, const char *host,
								const char *path, const char *extra_query, const sigv4_creds *c,
								const char *region, const char *service, const char *amz_date,
								long expires_seconds, long long content_length);

/* Format t (seconds since the epoch) as YYYYMMDDTHHMMSSZ. */
extern void sigv4_amz_date(long t, char out[17]);

#endif
