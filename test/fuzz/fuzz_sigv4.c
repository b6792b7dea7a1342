/*
 * fuzz_sigv4.c — libFuzzer target: SigV4's canonical request builder
 * (query canonicalisation, header folding and sorting, URI encoding) and a
 * presigned URL, on arbitrary method, path, query and headers. Input lines:
 * METHOD, PATH, QUERY, then "name: value" headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* text (modified in place) as lines: METHOD, PATH, QUERY, then headers into h, host last; how many headers. */
static int
split_input(char *text, char **lines, sigv4_header *h)
{
	char	   *p,
			   *colon;
	int			n = 0,
				nh = 0,
				i;

	for (p = text; n < 3 + SIGV4_MAX_HEADERS;)
	{
		lines[n++] = p;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	while (n < 3)
		lines[n++] = "";
	for (i = 3; i < n && nh < SIGV4_MAX_HEADERS - 1; i++)
		if ((colon = strchr(lines[i], ':')) != NULL && colon != lines[i])
		{
			*colon = '\0';
			h[nh].name = lines[i];
			h[nh].value = colon + 1;
			nh++;
		}
	h[nh].name = "host";
	h[nh].value = "example.amazonaws.com";
	nh++;
	return nh;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	char	   *lines[3 + SIGV4_MAX_HEADERS];
	int			nh;
	sigv4_header h[SIGV4_MAX_HEADERS];
	sigv4_input in;
	sigv4_creds creds;
	vbuf		query = VBUF_INIT,
				path = VBUF_INIT,
				canon = VBUF_INIT,
				signed_headers = VBUF_INIT,
				url = VBUF_INIT;
	char		sig[65];

	memcpy(text, data, size);
	text[size] = '\0';
	nh = split_input(text, lines, h);

	sigv4_canonical_query(&query, lines[2]);
	sigv4_uri_encode(&path, lines[1], false);
	memset(&in, 0, sizeof(in));
	in.method = lines[0];
	in.path = path.data ? path.data : "/";
	in.query = query.data ? query.data : "";
	in.headers = h;
	in.nheaders = nh;
	in.payload_hash = SIGV4_EMPTY_SHA256;
	in.region = "us-east-1";
	in.service = "s3";
	in.amz_date = "20150830T123600Z";
	sigv4_canonical_request(&in, &canon, &signed_headers);
	if (canon.data == NULL || strstr(signed_headers.data ? signed_headers.data : "", "host") == NULL)
		abort();
	sigv4_signature(&in, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sig);
	if (strlen(sig) != 64)
		abort();
	/* what is signed is what is sent: canonicalising twice changes nothing */
	{
		vbuf		again = VBUF_INIT;

		sigv4_canonical_query(&again, in.query);
		if (strcmp(again.data ? again.data : "", in.query) != 0)
			abort();
		vbuf_free(&again);
	}
	memset(&creds, 0, sizeof(creds));
	strcpy(creds.access_key, "AKIDEXAMPLE");
	strcpy(creds.secret_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	sigv4_presign(&url, lines[0], "https://example.amazonaws.com", "example.amazonaws.com", in.path,
				  lines[2], &creds, "us-east-1", "s3", "20150830T123600Z", 600);

	vbuf_free(&query);
	vbuf_free(&path);
	vbuf_free(&canon);
	vbuf_free(&signed_headers);
	vbuf_free(&url);
	free(text);
	return 0;
}
