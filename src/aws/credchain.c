/*
 * credchain.c — the order of the AWS credential chain (creds.h): the
 * environment, web identity, the shared files and their profiles, then
 * container credentials and IMDSv2 (cred_int.h lists where each lives).
 *
 * Providers that are configured but fail stop the chain with their reason,
 * as the SDKs do: an operator who set AWS_ROLE_ARN wants to hear why STS
 * refused, not that the instance has no role. Only the last two (container,
 * instance metadata) are tried without being asked for.
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

/* --- the environment --- */

static int
env_creds(found *f)
{
	const char *ak = cred_env("AWS_ACCESS_KEY_ID");
	const char *sk = cred_env("AWS_SECRET_ACCESS_KEY");
	const char *tok = cred_env("AWS_SESSION_TOKEN");

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
	const char *cp = cred_env("AWS_SHARED_CREDENTIALS_FILE");
	const char *fp = cred_env("AWS_CONFIG_FILE");
	char		home[900];
	bool		have_home = cred_home_dir(home, sizeof(home));

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
	ch->cred_text = ch->cred_path[0] ? cred_read_file(ch->cred_path, FILE_MAX) : NULL;
	ch->cred_errno = ch->cred_text ? 0 : errno;
	errno = 0;
	ch->conf_text = ch->conf_path[0] ? cred_read_file(ch->conf_path, FILE_MAX) : NULL;
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
				cred_fail(ch, "profile \"%s\" is its own source_profile but has no static keys", profile);
			cred_wipe(ak);
			cred_wipe(sk);
			cred_wipe(tok);
			return rc;
		}
		if (depth >= MAX_ROLE_CHAIN)
		{
			cred_fail(ch, "profile \"%s\": source_profile chain longer than %d (a loop?)", profile, MAX_ROLE_CHAIN);
			return -1;
		}
		if (!prof_exists(ch, source_profile))
		{
			cred_fail(ch, "profile \"%s\": source_profile \"%s\" not found", profile, source_profile);
			return -1;
		}
		switch (profile_creds(ch, source_profile, depth + 1, src))
		{
			case 1:
				return 0;
			case 0:
				cred_fail(ch, "profile \"%s\": source_profile \"%s\" has no credentials", profile, source_profile);
				return -1;
			default:
				return -1;
		}
	}
	if (strcmp(credential_source, "Environment") == 0)
	{
		if (env_creds(src) == 1)
			return 0;
		cred_fail(ch, "profile \"%s\": credential_source Environment, but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set", profile);
		return -1;
	}
	if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
		return cred_imds(ch, src, true) == 1 ? 0 : -1;
	if (strcmp(credential_source, "EcsContainer") == 0)
	{
		int			rc = cred_container(ch, src);

		if (rc == 0)
			cred_fail(ch, "profile \"%s\": credential_source EcsContainer, but no AWS_CONTAINER_CREDENTIALS_* is set", profile);
		return rc == 1 ? 0 : -1;
	}
	cred_fail(ch, "profile \"%s\": unknown credential_source \"%s\" (Environment, Ec2InstanceMetadata or EcsContainer)",
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
			cred_fail(ch, "profile \"%s\" needs an MFA code (mfa_serial): a server cannot type one", profile);
		else if (sp || cs)
		{
			found		src;

			memset(&src, 0, sizeof(src));
			v2 = prof_get(ch, profile, "external_id");
			v3 = prof_get(ch, profile, "duration_seconds");
			if (role_source(ch, profile, depth, sp, cs, &src) == 0 &&
				cred_assume_role(ch, &src.c, role_arn, v1, v2, v3, f) == 0)
			{
				rc = 1;
				vtp_strlcpy(f->provider, "assume-role", sizeof(f->provider));
				snprintf(f->detail, sizeof(f->detail), "profile %s, role %s", profile, role_arn);
			}
			OPENSSL_cleanse(&src, sizeof(src));
		}
		else if (wif)
		{
			if (cred_web_identity(ch, wif, role_arn, v1, f) == 0)
			{
				rc = 1;
				snprintf(f->detail, sizeof(f->detail), "profile %s, role %s", profile, role_arn);
			}
		}
		else
			cred_fail(ch, "profile \"%s\" has role_arn but no source_profile, credential_source or web_identity_token_file", profile);
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
		rc = cred_process(ch, v4, profile, f) == 0 ? 1 : -1;
	else if (v1)
		cred_fail(ch, "profile \"%s\" has aws_access_key_id but no aws_secret_access_key", profile);
	else
		rc = 0;					/* e.g. only a region: the chain goes on, as the SDKs' does */
	free(role_arn);
	cred_wipe(v1);
	cred_wipe(v2);
	cred_wipe(v3);
	cred_wipe(v4);
	return rc;
}


/* --- the chain --- */

int
cred_resolve(const aws_creds_config *cfg, found *f, char *err, size_t errlen)
{
	chain		ch;
	const char *profile = cfg && cfg->profile && cfg->profile[0] ? cfg->profile : cred_env("AWS_PROFILE");
	bool		named = profile != NULL;
	const char *wif = cred_env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = cred_env("AWS_ROLE_ARN");
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
		return cred_web_identity(&ch, wif, arn, cred_env("AWS_ROLE_SESSION_NAME"), f);

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
		cred_fail(&ch, "no AWS credentials: the environment has none, and profile \"%s\" is not in %s or %s",
			 profile, a.data, b.data);
		vbuf_free(&a);
		vbuf_free(&b);
		rc = -1;
	}
	else if ((rc = cred_container(&ch, f)) == 0 && (rc = cred_imds(&ch, f, false)) == 0)
	{
		cred_fail(&ch, "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set, the shared files (%s) have none for profile \"%s\", no container credentials are configured and instance metadata is disabled",
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
	cred_wipe(ch.cred_text);
	cred_wipe(ch.conf_text);
	return rc == 1 ? 0 : -1;
}
