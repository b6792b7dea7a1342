/*
 * test_creds.c — the shared credentials file reader.
 */
#include <stdlib.h>

#include "unit.h"
#include "creds.h"

void
test_creds(void)
{
	sigv4_creds c;
	char		err[256];
	const char *text =
	"# comment\n[default]\naws_access_key_id = AKDEF\naws_secret_access_key=SKDEF \n\n"
	"[profile vtp]\naws_access_key_id=AKVTP\naws_secret_access_key=SKVTP\naws_session_token=TOK\n"
	"[broken]\naws_access_key_id=X\n";

	CHECK(aws_creds_parse(text, "default", &c, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKDEF");
	CHECK_STR(c.secret_key, "SKDEF");
	CHECK_STR(c.session_token, "");
	CHECK(aws_creds_parse(text, "vtp", &c, err, sizeof(err)) == 0);
	CHECK_STR(c.session_token, "TOK");
	CHECK(aws_creds_parse(text, "nope", &c, err, sizeof(err)) == -1 && strstr(err, "not found"));
	CHECK(aws_creds_parse(text, "broken", &c, err, sizeof(err)) == -1 && strstr(err, "lacks"));
	CHECK(strstr(err, "X") == NULL);	/* errors never carry key material */

	setenv("AWS_ACCESS_KEY_ID", "ENVAK", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSK", 1);
	CHECK(aws_creds_load("default", &c, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "ENVAK");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/vtp-creds", 1);
	CHECK(aws_creds_load("default", &c, err, sizeof(err)) == -1 && strstr(err, "cannot be read"));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}
