/*
 * cred_int.h — what the files of the credential chain share (creds.h is the
 * outside view): limits, the resolution in progress, what a provider found,
 * and the providers themselves.
 *
 *   credchain.c   the order of the chain: environment, web identity, the
 *                 shared files and their profiles, container, IMDS
 *   credcache.c   the per-process cache and its refresh
 *   credhttp.c    small helpers; HTTP to the metadata endpoints; container
 *                 credentials and IMDSv2
 *   credsts.c     STS: AssumeRoleWithWebIdentity and signed AssumeRole
 *   credprocess.c credential_process
 */
#ifndef VTP_CRED_INT_H
#define VTP_CRED_INT_H

#include <curl/curl.h>

#include "creds.h"

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


/* helpers (credhttp.c) */
extern const char *cred_env(const char *name);	/* the variable, or NULL when unset or empty */
extern void cred_wipe(char *s);	/* cleanse and free a string */
extern void cred_wipe_vbuf(vbuf *b);	/* cleanse and free a buffer */
extern void cred_wipe_slist(struct curl_slist *hl);	/* header lists hold tokens */
extern bool cred_home_dir(char *out, size_t outlen);	/* HOME, else the passwd entry's */
extern char *cred_read_file(const char *path, size_t max);	/* whole small file, or NULL (errno) */
/* the chain's reason for failing, into ch->err (never a secret) */
extern void cred_fail(chain *ch, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern bool cred_aborted(const aws_creds_config *cfg);	/* cfg's abort_check says stop */
extern bool cred_header_safe(const char *v);	/* no CR or LF that would break a request */
/* one HTTP request (metadata: never through a proxy); 0 on 2xx */
extern int	cred_http(chain *ch, bool metadata, const char *method, const char *url, struct curl_slist *hl,
					  const char *body, long timeout_ms, int attempts, vbuf *out, long *status,
					  char *err, size_t errlen);
/* GET a JSON credentials document into f: 1, or -1 with a reason naming who */
extern int	cred_fetch_doc(chain *ch, const char *url, struct curl_slist *hl, long timeout_ms,
						   const char *who, found *f);

/* providers: 1 found, 0 not configured, -1 failed with a reason in ch->err */
/* container credentials (ECS, EKS Pod Identity), from AWS_CONTAINER_CREDENTIALS_* (credhttp.c) */
extern int	cred_container(chain *ch, found *f);
/* EC2 IMDSv2 (credhttp.c); asked: a profile named it, so "disabled" is a failure */
extern int	cred_imds(chain *ch, found *f, bool asked);
/* these: 0 found, -1 failed */
/* AssumeRoleWithWebIdentity with the token in token_file (credsts.c) */
extern int	cred_web_identity(chain *ch, const char *token_file, const char *role_arn, const char *session, found *f);
/* AssumeRole signed with src (credsts.c) */
extern int	cred_assume_role(chain *ch, const sigv4_creds *src, const char *role_arn, const char *session,
							 const char *external_id, const char *duration, found *f);
/* a profile's credential_process, run and read (credprocess.c) */
extern int	cred_process(chain *ch, const char *command, const char *profile, found *f);

/* the whole chain, once, uncached (credchain.c): 0 or -1 with err */
extern int	cred_resolve(const aws_creds_config *cfg, found *f, char *err, size_t errlen);

#endif
