/*
 * credcache.c — the per-process credential cache: shared by every client and
 * thread, refreshed before expiry, fetched outside its lock.
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

/* --- the per-process cache --- */

/*
 * One entry (a process uses one profile). A fetch runs without the lock:
 * other threads are served the still-valid credentials meanwhile, or wait
 * for the fetch when there are none; a failure is remembered for a moment
 * so that retries do not each run the whole chain again.
 */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cv = PTHREAD_COND_INITIALIZER;
static struct
{
	bool		valid;
	bool		fetching;
	char		key[256];
	found		f;
	aws_creds_info info;
	long		first_seen;		/* when these exact credentials were first fetched */
	long		refresh_at;
	long		next_try;		/* after a failed refresh */
	long		fail_until;		/* nothing valid: the last failure stands until then */
	char		fail_err[512];
	unsigned	generation;
} cache;

static void
cache_key(const aws_creds_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s|%s", cfg && cfg->profile ? cfg->profile : "",
			 cfg && cfg->region ? cfg->region : "");
}

static bool
env_keys_set(void)
{
	return cred_env("AWS_ACCESS_KEY_ID") && cred_env("AWS_SECRET_ACCESS_KEY");
}

/* Usable as they are: same configuration, still fresh (or retrying a failed refresh while valid). */
static bool
cache_usable(const char *key, long now)
{
	if (!cache.valid || strcmp(cache.key, key) != 0)
		return false;
	/* the environment is checked every time: it is first, and cheap */
	if (strcmp(cache.f.provider, "environment") == 0 || env_keys_set())
		return false;
	if (now < cache.refresh_at)
		return true;
	return (cache.fetching || now < cache.next_try) &&
		(cache.f.expires == 0 || now < cache.f.expires - 1);
}

static void
cache_store(const char *key, found *f, long now)
{
	bool		same = cache.valid && strcmp(cache.f.provider, f->provider) == 0 &&
		strcmp(cache.f.c.access_key, f->c.access_key) == 0 &&
		strcmp(cache.f.c.session_token, f->c.session_token) == 0;

	if (!same)
	{
		cache.generation++;
		cache.first_seen = now;
	}
	OPENSSL_cleanse(&cache.f, sizeof(cache.f));
	cache.f = *f;
	cache.valid = true;
	vtp_strlcpy(cache.key, key, sizeof(cache.key));
	cache.info.generation = cache.generation;
	vtp_strlcpy(cache.info.provider, f->provider, sizeof(cache.info.provider));
	vtp_strlcpy(cache.info.detail, f->detail, sizeof(cache.info.detail));
	cache.info.expires = f->expires;
	cache.info.loaded = now;
	cache.info.refresh_error[0] = '\0';
	if (f->expires)
	{
		/*
		 * From their whole life, not what is left: a metadata service that
		 * hands out the same keys late must not pull refreshes ever closer.
		 */
		cache.refresh_at = aws_creds_refresh_at(cache.first_seen, f->expires);
		if (same && cache.refresh_at < now + 10 && f->expires - now > 20)
			cache.refresh_at = now + 10;
	}
	else if (strcmp(f->provider, "credential-process") == 0)
		cache.refresh_at = LONG_MAX;	/* no Expiration: for the process's life, as the SDKs */
	else
		cache.refresh_at = now + STATIC_RECHECK_S;	/* a rotated file is picked up */
	cache.next_try = 0;
	cache.fail_until = 0;
}

int
aws_creds_current(const aws_creds_config *cfg, sigv4_creds *out, aws_creds_info *info, char *err, size_t errlen)
{
	char		key[256];
	long		now;
	found		f;
	int			rc;

	cache_key(cfg, key, sizeof(key));
	pthread_mutex_lock(&cache_mu);
	for (;;)
	{
		now = (long) time(NULL);
		if (cache_usable(key, now))
			goto hit;
		if (!cache.fetching && !(cache.valid && strcmp(cache.key, key) == 0) &&
			now < cache.fail_until && strcmp(cache.key, key) == 0)
		{
			vtp_strlcpy(err, cache.fail_err, errlen);
			pthread_mutex_unlock(&cache_mu);
			return -1;
		}
		if (!cache.fetching)
			break;
		/* another thread fetches, and nothing valid is cached: wait for it */
		{
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 200 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L)
			{
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			(void) pthread_cond_timedwait(&cache_cv, &cache_mu, &until);
		}
		if (cfg && cfg->abort_check && cfg->abort_check(cfg->abort_arg))
		{
			pthread_mutex_unlock(&cache_mu);
			snprintf(err, errlen, "interrupted while waiting for AWS credentials");
			return -1;
		}
	}
	cache.fetching = true;
	pthread_mutex_unlock(&cache_mu);

	rc = cred_resolve(cfg, &f, err, errlen);

	pthread_mutex_lock(&cache_mu);
	cache.fetching = false;
	pthread_cond_broadcast(&cache_cv);
	now = (long) time(NULL);
	if (rc == 0)
	{
		cache_store(key, &f, now);
		OPENSSL_cleanse(&f, sizeof(f));
		goto hit;
	}
	OPENSSL_cleanse(&f, sizeof(f));
	/* a failed refresh: keep what still works, say so, and try again shortly */
	if (cache.valid && strcmp(cache.key, key) == 0 && strcmp(cache.f.provider, "environment") != 0 &&
		(cache.f.expires == 0 || now < cache.f.expires - 1))
	{
		cache.next_try = now + REFRESH_RETRY_S;
		vtp_strlcpy(cache.info.refresh_error, err, sizeof(cache.info.refresh_error));
		cache.info.refresh_failures++;
		goto hit;
	}
	OPENSSL_cleanse(&cache.f, sizeof(cache.f));
	cache.valid = false;
	vtp_strlcpy(cache.key, key, sizeof(cache.key));
	cache.fail_until = now + FAIL_REMEMBER_S;
	vtp_strlcpy(cache.fail_err, err, sizeof(cache.fail_err));
	pthread_mutex_unlock(&cache_mu);
	return -1;

hit:
	*out = cache.f.c;
	if (info)
		*info = cache.info;
	pthread_mutex_unlock(&cache_mu);
	return 0;
}

bool
aws_creds_peek(aws_creds_info *info)
{
	bool		valid;

	pthread_mutex_lock(&cache_mu);
	valid = cache.valid;
	if (valid)
		*info = cache.info;
	pthread_mutex_unlock(&cache_mu);
	return valid;
}

void
aws_creds_invalidate(const char *access_key)
{
	pthread_mutex_lock(&cache_mu);
	/* only the refused ones: a late answer to an old key keeps fresh ones */
	if (cache.valid && access_key && strcmp(cache.f.c.access_key, access_key) == 0)
	{
		cache.refresh_at = 1;
		cache.next_try = 0;
		if (cache.f.expires)
			cache.f.expires = (long) time(NULL);	/* never served again */
	}
	pthread_mutex_unlock(&cache_mu);
}

void
aws_creds_reset(void)
{
	pthread_mutex_lock(&cache_mu);
	OPENSSL_cleanse(&cache, sizeof(cache));
	pthread_mutex_unlock(&cache_mu);
}

int
aws_creds_load(const char *profile, sigv4_creds *c, char *err, size_t errlen)
{
	aws_creds_config cfg = {profile, NULL, NULL, NULL};

	return aws_creds_current(&cfg, c, NULL, err, errlen);
}
