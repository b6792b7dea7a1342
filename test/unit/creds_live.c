/*
 * creds_live.c — vtp's credential chain against loopback servers that speak
 * the real protocols (test/emulator/credserver.mjs: EC2 IMDSv2, the ECS
 * container endpoint, STS), with every issued key then used on S3 and SQS
 * through the signature-checking proxy, which accepts a temporary key only
 * with its token and only until it expires. The static test key is switched
 * off at the proxy for the whole run, so a request that went out with
 * anything but the provider's current key fails.
 *
 *   creds_live ENDPOINT CRED_ENDPOINT QUEUE_URL
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "unit.h"
#include "aws.h"
#include "creds.h"
#include "json.h"

int			unit_passed = 0;
int			unit_failed = 0;

static const char *endpoint,
		   *cred_endpoint,
		   *queue_url;
static char dir[] = "/tmp/vtp-creds-live-XXXXXX";
static char static_ak[128],
			static_sk[256];

static size_t
collect(char *p, size_t s, size_t n, void *arg)
{
	vbuf_append((vbuf *) arg, p, s * n);
	return s * n;
}

/* The credential server's test controls: POST with a query, or GET stats. */
static json_value *
control(const char *query)
{
	CURL	   *h = curl_easy_init();
	vbuf		url = VBUF_INIT,
				body = VBUF_INIT;
	json_value *v;

	vbuf_printf(&url, "%s/__creds%s%s", cred_endpoint, query ? "?" : "", query ? query : "");
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	if (query)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	curl_easy_perform(h);
	curl_easy_cleanup(h);
	v = json_parse(vbuf_str(&body), body.len, NULL, 0);
	vbuf_free(&url);
	vbuf_free(&body);
	return v;
}

static int64_t
stat_of(const char *group, const char *name)
{
	json_value *v = control(NULL);
	const json_value *g = group ? json_get(v, group) : v;
	int64_t		n = 0;

	if (!json_get_int(g, name, 0, INT64_MAX, &n))
		n = 0;
	json_free(v);
	return n;
}

static void
client(aws_client *c)
{
	aws_client_defaults(c);
	vtp_strlcpy(c->s3_endpoint, endpoint, sizeof(c->s3_endpoint));
	vtp_strlcpy(c->sqs_endpoint, endpoint, sizeof(c->sqs_endpoint));
	c->max_retries = 0;
}

/* S3 and SQS calls with whatever the chain gives. */
static bool
roundtrip(aws_client *c, const char *tag)
{
	aws_error	err;
	s3_object_info info;
	bool		ok = s3_put_bytes(c, "temp-video-bucket", "creds/probe", tag, strlen(tag), "text/plain", &err) == 0 &&
		s3_head(c, "temp-video-bucket", "creds/probe", &info, &err) == 0 &&
		info.size == (int64_t) strlen(tag) &&
		sqs_send(c, queue_url, "{\"creds\":\"probe\"}", &err) == 0;

	if (!ok)
		fprintf(stderr, "  %s: %s: %s\n", tag, err.code, err.message);
	return ok;
}

/* Resolve afresh with cfg, then use it; the provider must be want. */
static void
provider_works(const char *profile, const char *want, const char *detail_part)
{
	aws_client	c;
	aws_creds_info info;
	char		err[1024];

	aws_creds_reset();
	client(&c);
	if (aws_client_use_chain(&c, profile, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "FAIL %s: %s\n", want, err);
		unit_failed++;
		aws_client_cleanup(&c);
		return;
	}
	CHECK(aws_creds_peek(&info));
	CHECK_STR(info.provider, want);
	CHECK(strstr(info.detail, detail_part) != NULL);
	CHECK(info.expires > time(NULL));
	CHECK(strncmp(c.creds.access_key, "ASIA", 4) == 0 && c.creds.session_token[0]);
	CHECK(roundtrip(&c, want));
	aws_client_cleanup(&c);
}

static void
provider_fails(const char *profile, const char *needle)
{
	aws_client	c;
	char		err[1024];

	aws_creds_reset();
	client(&c);
	CHECK(aws_client_use_chain(&c, profile, err, sizeof(err)) == -1 && strstr(err, needle) != NULL);
	if (!strstr(err, needle))
		fprintf(stderr, "  wanted \"%s\" in: %s\n", needle, err);
	aws_client_cleanup(&c);
}

static void
write_file(const char *name, const char *text, char *path, size_t pathlen)
{
	FILE	   *f;

	snprintf(path, pathlen, "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void
env_set(const char *k, const char *v)
{
	if (v)
		setenv(k, v, 1);
	else
		unsetenv(k);
}

/* The shared files point at a file that is not there. */
static void
no_files(void)
{
	char		path[512];

	snprintf(path, sizeof(path), "%s/none", dir);
	env_set("AWS_SHARED_CREDENTIALS_FILE", path);
	env_set("AWS_CONFIG_FILE", path);
}

/* From here the proxy takes issued temporary keys only: the static key is refused. */
static void
test_static_off(void)
{
	aws_client	c;

	json_free(control("static=off"));
	client(&c);
	vtp_strlcpy(c.creds.access_key, static_ak, sizeof(c.creds.access_key));
	vtp_strlcpy(c.creds.secret_key, static_sk, sizeof(c.creds.secret_key));
	CHECK(!roundtrip(&c, "static key, switched off"));
	aws_client_cleanup(&c);
}

/* EC2: IMDSv2, token first; a tokenless IMDSv1 GET never happens. Leaves IMDS disabled. */
static void
test_imds(void)
{
	char		path[512];

	env_set("AWS_EC2_METADATA_SERVICE_ENDPOINT", cred_endpoint);
	provider_works("", "instance-metadata", "vtp-instance-role");
	CHECK(stat_of("issued", "imds") >= 1);
	/* a config file with only a region (common on EC2) does not stop the chain */
	write_file("region-only", "[default]\nregion = us-east-1\n", path, sizeof(path));
	env_set("AWS_CONFIG_FILE", path);
	provider_works("", "instance-metadata", "vtp-instance-role");
	no_files();
	CHECK(stat_of(NULL, "imdsv1_refused") == 0);
	env_set("AWS_EC2_METADATA_DISABLED", "true");
	provider_fails("", "no AWS credentials");
}

/* ECS / EKS Pod Identity: the container endpoint with its token. */
static void
test_container(void)
{
	char		path[512],
				url[512];

	snprintf(url, sizeof(url), "%s/ecs/v2/credentials/task", cred_endpoint);
	env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
	env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "vtp-ecs-authorization-token");
	provider_works("", "container", "/ecs/");
	env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong");
	provider_fails("", "HTTP 401");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	write_file("ecs-token", "vtp-ecs-authorization-token\n", path, sizeof(path));
	env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path);
	provider_works("", "container", "/ecs/");
	env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "vtp-ecs\r\nX-Evil: 1");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	provider_fails("", "line break");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	snprintf(url, sizeof(url), "http://example.com/ecs/creds");
	env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
	provider_fails("", "must be https");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
}

/* EKS IRSA: web identity, exchanged at STS; it comes before the files. */
static void
test_web_identity(void)
{
	char		path[512];

	env_set("AWS_ENDPOINT_URL_STS", cred_endpoint);
	write_file("web-token", "vtp-web-identity-token\n", path, sizeof(path));
	env_set("AWS_WEB_IDENTITY_TOKEN_FILE", path);
	env_set("AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/vtp-irsa");
	provider_works("", "web-identity", "vtp-irsa");
	write_file("web-token", "not-the-token", path, sizeof(path));
	provider_fails("", "InvalidIdentityToken");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_ROLE_ARN");
}

/* The files: role_arn + source_profile (signed AssumeRole), credential_source, credential_process. */
static void
test_files(void)
{
	char		path[512],
				url[512],
				text[4096];
	aws_client	c;

	snprintf(text, sizeof(text), "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n", static_ak, static_sk);
	write_file("credentials", text, path, sizeof(path));
	env_set("AWS_SHARED_CREDENTIALS_FILE", path);
	snprintf(text, sizeof(text),
			 "[profile app]\nrole_arn = arn:aws:iam::000000000000:role/vtp-app\nsource_profile = base\n"
			 "external_id = vtp-external-id\nrole_session_name = vtp-test\n"
			 "[profile wrongext]\nrole_arn = arn:aws:iam::000000000000:role/vtp-app\nsource_profile = base\nexternal_id = nope\n"
			 "[profile chained]\nrole_arn = arn:aws:iam::000000000000:role/vtp-second\nsource_profile = app\n"
			 "[profile fromecs]\nrole_arn = arn:aws:iam::000000000000:role/vtp-from-ecs\ncredential_source = EcsContainer\n"
			 "[profile proc]\ncredential_process = node -e 'fetch(\"%s/ecs/x\",{headers:{authorization:\"vtp-ecs-authorization-token\"}})"
			 ".then(r=>r.json()).then(j=>console.log(JSON.stringify({Version:1,AccessKeyId:j.AccessKeyId,"
			 "SecretAccessKey:j.SecretAccessKey,SessionToken:j.Token,Expiration:j.Expiration})))'\n",
			 cred_endpoint);
	write_file("config", text, path, sizeof(path));
	env_set("AWS_CONFIG_FILE", path);
	provider_works("app", "assume-role", "vtp-app");
	provider_fails("wrongext", "AccessDenied");
	provider_works("chained", "assume-role", "vtp-second");
	snprintf(url, sizeof(url), "%s/ecs/v2/credentials/task", cred_endpoint);
	env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
	env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "vtp-ecs-authorization-token");
	provider_works("fromecs", "assume-role", "vtp-from-ecs");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	provider_works("proc", "credential-process", "proc");
	env_set("AWS_PROFILE", "app");	/* AWS_PROFILE when vtp.aws_profile is empty */
	provider_works("", "assume-role", "vtp-app");
	unsetenv("AWS_PROFILE");
	/* a static key in the files is now refused by the proxy: the check bites */
	client(&c);
	CHECK(aws_client_use_chain(&c, "base", text, sizeof(text)) == 0);
	CHECK(!roundtrip(&c, "static profile, switched off"));
	aws_client_cleanup(&c);
}

/*
 * Expiry mid-batch: 4-second keys from IMDS while two clients keep working
 * for 10 s. Each is replaced before it expires: no request fails, none is
 * ever sent with an expired key, and both clients follow the one shared
 * credential.
 */
static void
test_expiry_mid_batch(aws_client *c, aws_client *c2)
{
	char		err[4096];
	int64_t		issued,
				expired;
	int			i;
	bool		all_ok = true;
	time_t		until;

	unsetenv("AWS_EC2_METADATA_DISABLED");
	env_set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
	env_set("AWS_CONFIG_FILE", "/nonexistent");
	json_free(control("lifetime=4"));
	aws_creds_reset();
	issued = stat_of("issued", "imds");
	expired = stat_of(NULL, "expired_rejections");
	client(c);
	client(c2);
	CHECK(aws_client_use_chain(c, "", err, sizeof(err)) == 0);
	CHECK(aws_client_use_chain(c2, "", err, sizeof(err)) == 0);
	until = time(NULL) + 10;
	for (i = 0; time(NULL) < until; i++)
	{
		struct timespec ts = {0, 200 * 1000 * 1000};

		if (!roundtrip(i % 2 ? c2 : c, "mid-batch"))
			all_ok = false;
		nanosleep(&ts, NULL);
	}
	CHECK(all_ok);
	CHECK(i >= 20);
	CHECK(stat_of("issued", "imds") - issued >= 3);
	CHECK(stat_of(NULL, "expired_rejections") == expired);
	CHECK(strcmp(c->creds.access_key, c2->creds.access_key) == 0);
}

/*
 * Revoked early (an expired key AWS refuses before the cache thinks it
 * should): ExpiredToken, fetched anew, the request succeeds without a retry
 * budget (max_retries 0).
 */
static void
test_revoked(aws_client *c)
{
	int64_t		expired;

	json_free(control("lifetime=3600"));
	aws_creds_reset();
	CHECK(roundtrip(c, "before revoke"));
	json_free(control("revoke=1"));
	expired = stat_of(NULL, "expired_rejections");
	CHECK(roundtrip(c, "after revoke"));
	CHECK(stat_of(NULL, "expired_rejections") == expired + 1);
}

int
main(int argc, char **argv)
{
	char		cmd[512];
	aws_client	c,
				c2;

	if (argc != 4)
	{
		fprintf(stderr, "usage: creds_live ENDPOINT CRED_ENDPOINT QUEUE_URL\n");
		return 2;
	}
	endpoint = argv[1];
	cred_endpoint = argv[2];
	queue_url = argv[3];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mkdtemp(dir) == NULL || !getenv("AWS_ACCESS_KEY_ID") || !getenv("AWS_SECRET_ACCESS_KEY"))
		return 2;
	vtp_strlcpy(static_ak, getenv("AWS_ACCESS_KEY_ID"), sizeof(static_ak));
	vtp_strlcpy(static_sk, getenv("AWS_SECRET_ACCESS_KEY"), sizeof(static_sk));
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	no_files();

	/* in this order: each leaves the environment the next expects */
	test_static_off();
	test_imds();
	test_container();
	test_web_identity();
	test_files();
	test_expiry_mid_batch(&c, &c2);
	test_revoked(&c);
	aws_client_cleanup(&c);
	aws_client_cleanup(&c2);

	json_free(control("static=on"));
	aws_creds_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	curl_global_cleanup();
	printf("creds_live: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
