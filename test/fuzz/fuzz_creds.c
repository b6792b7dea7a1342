/*
 * fuzz_creds.c — libFuzzer target: what credential providers answer with
 * (the JSON of IMDS, the container endpoint and credential_process; STS's
 * XML) and the AWS INI files, on arbitrary bytes. Every parse must either
 * fill complete credentials or fail with a reason that holds no input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	sigv4_creds c;
	long		exp,
				t;
	char		err[256];
	char	   *v;

	memcpy(text, data, size);
	text[size] = '\0';
	if (aws_creds_from_json(text, size, &c, &exp, err, sizeof(err)) == 0 &&
		(c.access_key[0] == '\0' || c.secret_key[0] == '\0'))
		abort();
	if (aws_creds_from_sts(text, &c, &exp, err, sizeof(err)) == 0 &&
		(c.access_key[0] == '\0' || c.secret_key[0] == '\0' || exp == 0))
		abort();
	(void) aws_parse_iso8601(text, &t);
	(void) aws_container_uri_allowed(text);
	v = aws_ini_get(text, "default", true, "role_arn");
	free(v);
	v = aws_ini_get(text, "app", false, "aws_secret_access_key");
	free(v);
	(void) aws_ini_has(text, "app", true);
	(void) aws_creds_parse(text, "default", &c, err, sizeof(err));
	free(text);
	return 0;
}
