/*
 * main.c — vtp-runner's command line: the options (docs/runner.md and
 * --help), their defaults (the short host name, $TMPDIR/vtp-runner-NAME,
 * the helper installed beside the extension), then one job slot in this
 * process (--jobs 1) or the supervisor of N slot processes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

#ifndef VTP_PKGLIBDIR
#define VTP_PKGLIBDIR "/usr/lib/postgresql/15/lib"
#endif

#define MAX_JOBS 64

static void
usage(FILE *f)
{
	fprintf(f,
			"vtp-runner transcodes the videos of a vtp catalog on this machine, beside or instead of\n"
			"the catalog server's own transcode workers: the same tasks queue, job engine and sandboxed\n"
			"helper; every other setting comes from the catalog (vtp_runner_settings()).\n"
			"\n"
			"Usage: vtp-runner --db CONNINFO [--name NAME] [--jobs N] [--scratch DIR]\n"
			"                  [--transcoder PATH] [--profile PROFILE]\n"
			"\n"
			"  --db CONNINFO      the catalog: a libpq connection string or URI (else VTP_RUNNER_DB),\n"
			"                     e.g. 'host=db.example.com dbname=app user=vtp_runner sslmode=verify-full'\n"
			"  --name NAME        this runner in vtp_workers and in claimed_by (default: the short host\n"
			"                     name); letters, digits, '.', '_' and '-'\n"
			"  --jobs N           transcodes at a time, each in its own process with its own connection,\n"
			"                     named NAME/1 .. NAME/N (default 1: this process, named NAME)\n"
			"  --scratch DIR      sources and renditions while transcoding (default $TMPDIR/vtp-runner-NAME,\n"
			"                     made 0700; it must be this user's and writable by nobody else)\n"
			"  --transcoder PATH  the vtp-transcode helper (default %s/vtp-transcode)\n"
			"  --profile PROFILE  the AWS shared credentials profile (else AWS_PROFILE, else default)\n"
			"  --help, --version\n"
			"\n"
			"AWS credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"
			"AWS_SESSION_TOKEN), web identity, the shared credentials and config files, a container or the\n"
			"instance role, as the server takes them. The role needs SELECT vtp_grant_runner('role') on the\n"
			"catalog. Logs go to stderr, one plain line each. SIGTERM or SIGINT hands the running tasks\n"
			"back at once and exits; SIGHUP reads the catalog's settings again (they are also read every\n"
			"minute and before each task).\n"
			"\n"
			"Exit status: 0 stopped by a signal, 1 an unexpected error, 2 wrong options, a role without the\n"
			"grants, a scratch directory that cannot be used.\n",
			VTP_PKGLIBDIR);
}

/* A name that is safe in a path, a log line and vtp_workers. */
static bool
name_ok(const char *n)
{
	size_t		i;

	if (n[0] == '\0' || n[0] == '.' || strlen(n) >= RUNNER_NAME_MAX)
		return false;
	for (i = 0; n[i]; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
			  n[i] == '.' || n[i] == '_' || n[i] == '-'))
			return false;
	return true;
}

/* The short host name, made a valid name ("runner" if nothing is left). */
static void
default_name(char *out, size_t len)
{
	char		host[256] = "";
	size_t		i;

	(void) gethostname(host, sizeof(host) - 1);
	host[strcspn(host, ".")] = '\0';
	for (i = 0; host[i]; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
			  (host[i] >= '0' && host[i] <= '9') || host[i] == '_' || host[i] == '-'))
			host[i] = '-';
	vtp_strlcpy(out, host[0] ? host : "runner", len);
}

/* Complain about the command line: exit status 2. */
static int
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vtp-runner: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"vtp-runner --help\".\n");
	return RUNNER_EXIT_CONFIG;
}

/* Fill the defaults and check what was given: -1 when all is well, else the exit status. */
static int
complete_options(runner_options *o, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (o->conninfo == NULL || o->conninfo[0] == '\0')
		o->conninfo = getenv("VTP_RUNNER_DB");
	if (o->conninfo == NULL || o->conninfo[0] == '\0')
		return bad_usage("%sno catalog: give --db CONNINFO or set VTP_RUNNER_DB", "");
	if (name)
	{
		if (!name_ok(name))
			return bad_usage("invalid --name \"%s\": at most 63 letters, digits, '.', '_' or '-', not starting with '.'", name);
		vtp_strlcpy(o->name, name, sizeof(o->name));
	}
	else
		default_name(o->name, sizeof(o->name));
	if (o->scratch[0] == '\0' &&
		snprintf(o->scratch, sizeof(o->scratch), "%s/vtp-runner-%s", tmp && tmp[0] ? tmp : "/tmp", o->name) >= (int) sizeof(o->scratch))
		return bad_usage("%sTMPDIR is too long", "");
	if (o->transcoder[0] == '\0')
		snprintf(o->transcoder, sizeof(o->transcoder), "%s/vtp-transcode", VTP_PKGLIBDIR);
	if (access(o->transcoder, X_OK) != 0)
	{
		fprintf(stderr, "vtp-runner: the transcoder helper \"%s\" cannot be run: %s\n", o->transcoder, strerror(errno));
		return RUNNER_EXIT_CONFIG;
	}
	return -1;
}

/* Parse argv into o: -1 to go on, else the exit status (--help, --version, a mistake). */
static int
parse_options(int argc, char **argv, runner_options *o)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"name", required_argument, NULL, 'n'},
		{"jobs", required_argument, NULL, 'j'}, {"scratch", required_argument, NULL, 's'},
		{"transcoder", required_argument, NULL, 't'}, {"profile", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}
	};
	const char *name = NULL;
	char	   *end;
	int			c;

	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				o->conninfo = optarg;
				break;
			case 'n':
				name = optarg;
				break;
			case 'j':
				o->jobs = (int) strtol(optarg, &end, 10);
				if (*end != '\0' || end == optarg || o->jobs < 1 || o->jobs > MAX_JOBS)
					return bad_usage("invalid --jobs \"%s\": a number from 1 to 64", optarg);
				break;
			case 's':
			case 't':
				if (strlen(optarg) >= (c == 's' ? sizeof(o->scratch) - 16 : sizeof(o->transcoder)) || optarg[0] == '\0')
					return bad_usage("invalid path \"%.100s\": empty or too long", optarg);
				vtp_strlcpy(c == 's' ? o->scratch : o->transcoder, optarg, sizeof(o->scratch));
				break;
			case 'p':
				o->profile = optarg;
				break;
			case 'h':
				usage(stdout);
				return RUNNER_EXIT_OK;
			case 'V':
				printf("vtp-runner %s\n", VTP_VERSION);
				return RUNNER_EXIT_OK;
			default:
				return bad_usage("%sunknown option", "");
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument \"%s\"", argv[optind]);
	return complete_options(o, name);
}

int
main(int argc, char **argv)
{
	runner_options o;
	int			rc = parse_options(argc, argv, &o);

	if (rc >= 0)
		return rc;
	setvbuf(stderr, NULL, _IOLBF, 0);
	runner_sys_init(o.jobs > 1);
	if (o.jobs == 1)
		return runner_slot_main(&o, o.name, 1);
	return runner_supervise(&o);
}
