/*
 * creds.h — AWS credentials the way the AWS tools find them (pure C): the
 * process environment, else the shared credentials file. Never a GUC, and
 * never printed.
 */
#ifndef VTP_CREDS_H
#define VTP_CREDS_H

#include <stddef.h>

#include "sigv4.h"

/*
 * Fill c from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN],
 * else from AWS_SHARED_CREDENTIALS_FILE or $HOME/.aws/credentials, section
 * [profile]. Returns 0, or -1 with a reason (never holding a secret) in err.
 */
extern int	aws_creds_load(const char *profile, sigv4_creds *c, char *err, size_t errlen);

/* Parse an INI credentials text for a profile; same contract. */
extern int	aws_creds_parse(const char *text, const char *profile, sigv4_creds *c,
							char *err, size_t errlen);

#endif
