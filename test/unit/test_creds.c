/*
 * test_creds.c — the shared credentials file reader.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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
	setenv("AWS_CONFIG_FILE", "/nonexistent/vtp-config", 1);
	CHECK(aws_creds_load("default", &c, err, sizeof(err)) == -1 && strstr(err, "cannot be read"));
	CHECK(strstr(err, "/nonexistent/vtp-creds") != NULL);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	aws_creds_reset();
}

/* The AWS INI files: config files name "[profile NAME]", and "[default]" only for default. */
static void
docs_ini(void)
{
	char	   *v;
	const char *conf =
	"[default]\nregion = eu-west-1\n[profile app]\nrole_arn = arn:aws:iam::1:role/vtp\nsource_profile = base\n"
	"s3 =\n  max_concurrent_requests = 4\n[app]\nrole_arn = wrong-section\n";

	v = aws_ini_get(conf, "app", true, "role_arn");
	CHECK_STR(v, "arn:aws:iam::1:role/vtp");
	free(v);
	v = aws_ini_get(conf, "app", false, "role_arn");
	CHECK_STR(v, "wrong-section");	/* the credentials file's spelling */
	free(v);
	v = aws_ini_get(conf, "default", true, "region");
	CHECK_STR(v, "eu-west-1");
	free(v);
	CHECK(aws_ini_get(conf, "app", true, "max_concurrent_requests") == NULL);	/* nested, not the profile's */
	CHECK(aws_ini_has(conf, "app", true) && !aws_ini_has(conf, "nope", true));
}

static void
docs_iso8601(void)
{
	long		t;

	CHECK(aws_parse_iso8601("2026-12-02T05:00:00Z", &t) && t == 1796187600L);
	CHECK(aws_parse_iso8601("2026-12-02T05:00:00.123Z", &t) && t == 1796187600L);
	CHECK(aws_parse_iso8601("2026-12-02T06:00:00+01:00", &t) && t == 1796187600L);
	CHECK(!aws_parse_iso8601("2026-12-02 05:00:00", &t));
	CHECK(!aws_parse_iso8601("2026-13-02T05:00:00Z", &t));
	CHECK(!aws_parse_iso8601("2026-12-02T05:00:00Zjunk", &t));
}

/* JSON documents: IMDS and the container endpoint; credential_process (Version 1, no Expiration = static). */
static void
docs_json(void)
{
	sigv4_creds c;
	long		exp;
	char		err[256];
	const char *imds = "{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-02T04:00:00Z\",\"Type\":\"AWS-HMAC\","
	"\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"sec\",\"Token\":\"tok\",\"Expiration\":\"2026-12-02T05:00:00Z\"}";
	const char *bad = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SECRETX\"}";
	const char *p = "{\"Version\": 1, \"AccessKeyId\":\"AKP\",\"SecretAccessKey\":\"SKP\",\"SessionToken\":\"STP\"}";
	const char *p2 = "{\"Version\": 2, \"AccessKeyId\":\"AKP\",\"SecretAccessKey\":\"SKP\"}";
	const char *p3 = "{\"AccessKeyId\":\"AKP\",\"SecretAccessKey\":\"SKP\"}";

	CHECK(aws_creds_from_json(imds, strlen(imds), &c, &exp, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "ASIAX");
	CHECK_STR(c.session_token, "tok");
	CHECK(exp == 1796187600L);
	CHECK(aws_creds_from_json(bad, strlen(bad), &c, &exp, err, sizeof(err)) == -1 && strstr(err, "AssumeRoleUnauthorizedAccess"));
	CHECK(strstr(err, "SECRETX") == NULL && c.secret_key[0] == '\0');

	CHECK(aws_creds_from_process(p, strlen(p), &c, &exp, err, sizeof(err)) == 0 && exp == 0);
	CHECK_STR(c.session_token, "STP");
	CHECK(aws_creds_from_process(p2, strlen(p2), &c, &exp, err, sizeof(err)) == -1 && strstr(err, "Version"));
	CHECK(aws_creds_from_process(p3, strlen(p3), &c, &exp, err, sizeof(err)) == -1 && strstr(err, "Version"));
	CHECK(aws_creds_from_json("not json SKP", 12, &c, &exp, err, sizeof(err)) == -1 && strstr(err, "SKP") == NULL);
	CHECK(aws_creds_from_json("{\"AccessKeyId\":\"A\"}", 18, &c, &exp, err, sizeof(err)) == -1);
}

/* STS answers: credentials, an error, a token too long to hold. */
static void
docs_sts(void)
{
	sigv4_creds c;
	long		exp;
	char		err[256];
	const char *ok = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
	"<AccessKeyId>ASIAW</AccessKeyId><SecretAccessKey>sw</SecretAccessKey><SessionToken>t&amp;w</SessionToken>"
	"<Expiration>2026-12-02T05:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	const char *no = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
	"<Message>Incorrect token audience</Message></Error></ErrorResponse>";
	char	   *big = malloc(6000);
	char	   *doc = malloc(7000);

	CHECK(aws_creds_from_sts(ok, &c, &exp, err, sizeof(err)) == 0 && exp == 1796187600L);
	CHECK_STR(c.session_token, "t&w");
	CHECK(aws_creds_from_sts(no, &c, &exp, err, sizeof(err)) == -1 && strstr(err, "InvalidIdentityToken"));
	/* a token longer than vtp can hold is refused, not cut */
	memset(big, 'T', 5000);
	big[5000] = '\0';
	snprintf(doc, 7000, "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
			 "<SessionToken>%s</SessionToken><Expiration>2026-12-02T05:00:00Z</Expiration></Credentials>", big);
	CHECK(aws_creds_from_sts(doc, &c, &exp, err, sizeof(err)) == -1 && strstr(err, "too long"));
	free(big);
	free(doc);
}

/* Refresh: 5 minutes before for long lives, a quarter of a short one; which container URIs are allowed. */
static void
docs_refresh_and_uris(void)
{
	CHECK(aws_creds_refresh_at(1000, 1000 + 21600) == 1000 + 21600 - 300);
	CHECK(aws_creds_refresh_at(1000, 1008) == 1006);
	CHECK(aws_creds_refresh_at(1000, 0) == 0);

	CHECK(aws_container_uri_allowed("http://169.254.170.2/v2/credentials/x"));
	CHECK(aws_container_uri_allowed("http://169.254.170.23/v1/credentials"));
	CHECK(aws_container_uri_allowed("http://127.0.0.1:8080/creds"));
	CHECK(aws_container_uri_allowed("http://localhost/creds"));
	CHECK(aws_container_uri_allowed("https://creds.example.com/x"));
	CHECK(!aws_container_uri_allowed("http://creds.example.com/x"));
	CHECK(!aws_container_uri_allowed("http://127.0.0.1.evil.com/x"));
	CHECK(!aws_container_uri_allowed("file:///etc/passwd"));
	/* userinfo: curl would connect to the host after the @ */
	CHECK(!aws_container_uri_allowed("http://169.254.170.2:80@evil.example/"));
	CHECK(!aws_container_uri_allowed("http://127.0.0.1:1@evil.example/"));
	CHECK(!aws_container_uri_allowed("http://[::1]@evil.example/"));
	CHECK(!aws_container_uri_allowed("http://localhost:x@evil.example/"));
	CHECK(aws_container_uri_allowed("http://LOCALHOST/creds"));
	CHECK(aws_container_uri_allowed("http://[::1]:8080/creds"));
}

/* The documents providers answer with, times, and the rules around them. */
void
test_creds_docs(void)
{
	docs_ini();
	docs_iso8601();
	docs_json();
	docs_sts();
	docs_refresh_and_uris();
}

static bool
process_alive(int pid)
{
	char		path[64],
				buf[256];
	FILE	   *f;
	bool		alive = false;
	int			i;

	for (i = 0; i < 20; i++)
	{
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			return false;
		alive = fgets(buf, sizeof(buf), f) && strstr(buf, ") Z ") == NULL && strstr(buf, ") X ") == NULL;
		fclose(f);
		if (!alive)
			return false;
		usleep(100 * 1000);
	}
	return alive;
}

/* Says stop a second after it is first asked. */
static int
always_abort(void *arg)
{
	static time_t first = 0;

	if (first == 0)
		first = time(NULL);
	return time(NULL) - first >= 1;
}

static void
write_file(const char *path, const char *text)
{
	FILE	   *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/*
 * The chain without a network: profiles of the shared files, and
 * credential_process run for real (/bin/sh). The providers that speak HTTP
 * are tested against loopback servers in aws_live.
 */
void
test_creds_chain(void)
{
	char		dir[] = "/tmp/vtp-creds-XXXXXX";
	char		cred[256],
				conf[256],
				count[256],
				text[2048];
	sigv4_creds c;
	aws_creds_info info;
	aws_creds_config cfg = {"", "us-east-1", NULL, NULL};
	char		err[512];
	unsigned	gen;

	if (mkdtemp(dir) == NULL)
	{
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(cred, sizeof(cred), "%s/credentials", dir);
	snprintf(conf, sizeof(conf), "%s/config", dir);
	snprintf(count, sizeof(count), "%s/count", dir);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	write_file(cred, "[default]\nAWS_ACCESS_KEY_ID = AKFILE\naws_secret_access_key = SKFILE\n"
			   "[loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
			   "[loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n");
	snprintf(text, sizeof(text),
			 "[profile proc]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKPROC\",\"SecretAccessKey\":\"SKPROC\"}'\n"
			 "[profile failing]\ncredential_process = exit 3\n"
			 "[profile flood]\ncredential_process = head -c 100000 /dev/zero\n"
			 "[profile expiring]\ncredential_process = echo x >> %s; printf '{\"Version\":1,\"AccessKeyId\":\"AKEXP%%s\",\"SecretAccessKey\":\"S\",\"SessionToken\":\"T\",\"Expiration\":\"%%s\"}' $(wc -l < %s) $(date -u -d '+4 seconds' +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n"
			 "[profile norole]\nrole_arn = arn:aws:iam::1:role/x\n"
			 "[profile mfa]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\nmfa_serial = arn:aws:iam::1:mfa/u\n"
			 "[profile badsource]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Ec2InstanceMetadata\n"
			 "[profile empty]\nregion = us-east-1\n"
			 "[profile signals]\ncredential_process = while read k v; do case $k in SigIgn:) ign=$v;; SigBlk:) blk=$v;; esac; done < /proc/$$/status; [ $(( 0x$ign & 0x1000 )) -eq 0 ] && [ $(( 0x$blk )) -eq 0 ] && printf '{\"Version\":1,\"AccessKeyId\":\"AKSIG\",\"SecretAccessKey\":\"S\"}'\n"
			 "[profile sleeper]\ncredential_process = sleep 30 & echo $! > %s/sleeper.pid; wait\n",
			 count, count, dir);
	write_file(conf, text);

	aws_creds_reset();
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKFILE");
	CHECK_STR(info.provider, "profile");
	CHECK(strstr(info.detail, "default") != NULL && info.expires == 0);

	/* AWS_PROFILE picks the profile when vtp.aws_profile is empty; the setting wins */
	setenv("AWS_PROFILE", "proc", 1);
	aws_creds_reset();
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKPROC");
	CHECK_STR(info.provider, "credential-process");
	cfg.profile = "default";
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKFILE");
	unsetenv("AWS_PROFILE");

	/* the environment comes first */
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKENV");
	CHECK_STR(info.provider, "environment");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");

#define FAILS(p, needle) do { \
	cfg.profile = (p); aws_creds_reset(); \
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == -1 && strstr(err, (needle)) != NULL); \
	if (!strstr(err, (needle))) fprintf(stderr, "  err: %s\n", err); \
} while (0)
	FAILS("failing", "exited with status 3");
	FAILS("flood", "more than");
	FAILS("norole", "no source_profile");
	FAILS("mfa", "MFA");
	FAILS("badsource", "AWS_EC2_METADATA_DISABLED");
	FAILS("loop1", "chain longer");
	FAILS("empty", "instance metadata is disabled");	/* a profile with only a region: the chain goes on */
	FAILS("absent", "is not in");
	CHECK(strstr(err, "SKFILE") == NULL && strstr(err, "AKFILE") == NULL);

	/*
	 * credential_process starts with default signals and an empty mask even
	 * from a process that ignores SIGPIPE (every backend) and blocks the rest
	 * (an upload thread); and an interrupt kills it and what it started.
	 */
	{
		sigset_t	all,
					old;
		void		(*old_pipe) (int) = signal(SIGPIPE, SIG_IGN);
		char		pidfile[300];
		FILE	   *pf;
		int			gpid = 0;
		time_t		t0;

		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		cfg.profile = "signals";
		aws_creds_reset();
		CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
		if (strcmp(c.access_key, "AKSIG") != 0)
			fprintf(stderr, "  signals: %s\n", err);
		CHECK_STR(c.access_key, "AKSIG");
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGPIPE, old_pipe);

		cfg.profile = "sleeper";
		cfg.abort_check = always_abort;
		aws_creds_reset();
		t0 = time(NULL);
		CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == -1 && strstr(err, "interrupted"));
		CHECK(time(NULL) - t0 <= 3);
		cfg.abort_check = NULL;
		snprintf(pidfile, sizeof(pidfile), "%s/sleeper.pid", dir);
		if ((pf = fopen(pidfile, "r")) != NULL)
		{
			if (fscanf(pf, "%d", &gpid) != 1)
				gpid = 0;
			fclose(pf);
		}
		CHECK(gpid > 0);
		/* the grandchild is gone too (dead: absent, or a zombie until init reaps it) */
		CHECK(gpid > 0 && !process_alive(gpid));
		unlink(pidfile);
	}

	/* temporary credentials are cached, then fetched again before they expire */
	cfg.profile = "expiring";
	aws_creds_reset();
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKEXP1");
	CHECK(info.expires > 0);
	gen = info.generation;
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKEXP1");	/* cached: the process ran once */
	sleep(3);					/* 4 s life: refreshed after 3 */
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKEXP2");
	CHECK(info.generation == gen + 1);
	/* refused as expired: fetched anew at once */
	aws_creds_invalidate(c.access_key);
	CHECK(aws_creds_current(&cfg, &c, &info, err, sizeof(err)) == 0);
	CHECK_STR(c.access_key, "AKEXP3");

	aws_creds_reset();
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unlink(cred);
	unlink(conf);
	unlink(count);
	rmdir(dir);
}
