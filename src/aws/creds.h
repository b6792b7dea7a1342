/*
 * creds.h — AWS credentials found the way the AWS SDKs find them (no
 * PostgreSQL), in this order:
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY[, AWS_SESSION_TOKEN];
 *   2. web identity (EKS IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN,
 *      exchanged at STS (AssumeRoleWithWebIdentity);
 *   3. the shared credentials and config files, profile vtp.aws_profile, else
 *      AWS_PROFILE, else "default": role_arn (+ source_profile or
 *      credential_source, through STS AssumeRole), web_identity_token_file,
 *      static keys, credential_process;
 *   4. container credentials (ECS, EKS Pod Identity);
 *   5. the EC2 instance profile through IMDSv2 (never IMDSv1).
 *
 * Temporary credentials are cached per process, shared by all its clients
 * (threads included) and refreshed before they expire. Nothing here ever
 * prints a key, a secret or a token: errors and the info say where the
 * credentials came from, never what they are.
 */
#ifndef VTP_CREDS_H
#define VTP_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "sigv4.h"

typedef struct aws_creds_config
{
	const char *profile;		/* vtp.aws_profile; NULL or "" = AWS_PROFILE, else "default" */
	const char *region;			/* names STS's regional endpoint */
	int			(*abort_check) (void *arg);	/* nonzero: stop a fetch (shutdown, cancel) */
	void	   *abort_arg;
} aws_creds_config;

typedef struct aws_creds_info
{
	char		provider[32];	/* environment, web-identity, assume-role, profile, credential-process, container, instance-metadata */
	char		detail[320];	/* profile, role ARN, file or endpoint: never a key */
	long		expires;		/* seconds since the epoch; 0 = does not expire */
	long		loaded;			/* when they were fetched */
	unsigned	generation;		/* grows with each load or refresh in this process */
	unsigned	refresh_failures;	/* grows with each failed refresh of these */
	char		refresh_error[256];	/* why the last refresh failed ("" none) */
} aws_creds_info;

/*
 * The process's current credentials, fetched or refreshed as needed (less
 * than 5 minutes, or a quarter of their lifetime, left). When a refresh fails
 * while the cached ones are still valid, those are returned. 0, or -1 with a
 * reason (never a secret) in err. info may be NULL.
 */
extern int	aws_creds_current(const aws_creds_config *cfg, sigv4_creds *out, aws_creds_info *info,
							  char *err, size_t errlen);

/* What the cache holds now, without fetching; false when nothing. */
extern bool aws_creds_peek(aws_creds_info *info);

/* AWS refused these (by access key id) as expired: never serve them again. */
extern void aws_creds_invalidate(const char *access_key);

/* Forget the cache (tests; a changed configuration reloads by itself). */
extern void aws_creds_reset(void);

/* Compatibility: aws_creds_current with only a profile. */
extern int	aws_creds_load(const char *profile, sigv4_creds *c, char *err, size_t errlen);

/* --- pure parts, unit-tested --- */

/*
 * Parse an INI credentials text for a profile (static keys only); same
 * contract as aws_creds_load.
 */
extern int	aws_creds_parse(const char *text, const char *profile, sigv4_creds *c,
							char *err, size_t errlen);

/*
 * The value of key in the profile's section of an INI text, as the AWS files
 * spell it: config files name "[profile NAME]" (and "[default]"), credentials
 * files "[NAME]". NULL when absent; else a malloc'd string.
 */
extern char *aws_ini_get(const char *text, const char *profile, bool config_style, const char *key);
/* Whether the text has a section for the profile. */
extern bool aws_ini_has(const char *text, const char *profile, bool config_style);

/*
 * Credentials from a JSON document as IMDS, the container endpoint and
 * credential_process give them (AccessKeyId, SecretAccessKey, Token or
 * SessionToken, Expiration). 0 or -1 with a reason.
 */
extern int	aws_creds_from_json(const char *text, size_t len, sigv4_creds *c, long *expires,
								char *err, size_t errlen);

/* credential_process's output: the same, and "Version": 1 is required. */
extern int	aws_creds_from_process(const char *text, size_t len, sigv4_creds *c, long *expires,
								   char *err, size_t errlen);

/* Credentials from an STS AssumeRole* response. 0 or -1 with a reason. */
extern int	aws_creds_from_sts(const char *xml, sigv4_creds *c, long *expires, char *err, size_t errlen);

/* An ISO 8601 UTC time (2026-12-02T05:00:00Z, fractions and offsets allowed). */
extern bool aws_parse_iso8601(const char *s, long *out);

/* When to refresh credentials loaded at loaded that expire at expires. */
extern long aws_creds_refresh_at(long loaded, long expires);

/* http://host only on loopback or the ECS/EKS link-local addresses; https anywhere. */
extern bool aws_container_uri_allowed(const char *uri);

#endif
