/*
 * escape.c — the sandbox escape test. It enters vtp-transcode's sandbox
 * through the very function the helper uses (tc_sandbox_enter, built from
 * transcoder/sandbox.c) and then tries, as an exploited demuxer would, every
 * way out: io_uring, sockets, connecting to a Unix socket and a TCP port
 * (with sockets made before the sandbox, as leaked descriptors), signalling
 * its parent and other processes, fork/vfork/clone/clone3, exec, reading and
 * writing files outside its two paths, chmod/chown/truncate/xattr/utimes,
 * links, ptrace, process_vm_readv, namespaces, mount, bpf, keyrings,
 * userfaultfd, perf_event_open, personality, and reading AWS_* from its
 * environment. Positive controls (reading the source, writing the output
 * directory, a thread, a signal to itself) must work, or the test proves
 * nothing. Outside the sandbox it then checks the effects: the parent and a
 * peer process alive, no connection reached either listener, the outside
 * file unchanged, nothing created.
 *
 *   escape [PATH-TO-vtp-transcode]
 *
 * With the helper's path it also runs the helper on a kernel made to lack
 * Landlock (a seccomp filter answering ENOSYS to landlock_*): --sandbox
 * required must refuse (sandbox_unavailable, exit 3), best_effort must say
 * it runs without Landlock.
 *
 * Process tree: main (checks) ─ parent (sacrificial, waits) ─ child (sandboxed);
 * main ─ peer (a bystander to signal). One "ok N - ..." line per attempt;
 * exit 1 if any attempt succeeded.
 *
 * This file is main and the checks from outside; the attempts are
 * escape_attempts.c's, the helper runs escape_helper.c's, the TAP lines
 * escape_tap.c's (escape.h between them).
 */
#define _GNU_SOURCE
#include "helper.h"
#include "escape.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifdef ESCAPE_OLD_SANDBOX
/*
 * Built against main's transcoder/sandbox.c before the allowlist (see the
 * Makefile's escape-old note): its entry point, under the one this test calls.
 */
extern int	tc_sandbox(const char *input, const char *outdir, bool *landlocked, char *err, size_t errlen);

int
tc_sandbox_enter(const char *input, const char *outdir, tc_sandbox_mode mode,
				 tc_sandbox_info *info, char *err, size_t errlen)
{
	bool		ll = false;
	int			rc = tc_sandbox(input, outdir, &ll, err, errlen);

	info->mode = mode;
	info->landlock = ll;
	info->landlock_abi = ll ? 1 : 0;
	return rc;
}

/* the old sandbox.c's --check-sandbox reports through this */
void
tc_report_error(const char *code, const char *fmt,...)
{
}
#endif

/* The temporary directory: the source, the output directory, a file outside; AWS_* in the environment. */
static int
make_env(escape_env *env, struct stat *before)
{
	memset(env, 0, sizeof(*env));
	snprintf(env->dir, sizeof(env->dir), "/tmp/vtp-escape.XXXXXX");
	if (mkdtemp(env->dir) == NULL)
		return -1;
	snprintf(env->input, sizeof(env->input), "%s/source.mp4", env->dir);
	snprintf(env->outdir, sizeof(env->outdir), "%s/out", env->dir);
	snprintf(env->outside, sizeof(env->outside), "%s/outside.txt", env->dir);
	snprintf(env->unix_path, sizeof(env->unix_path), "%s/peer.sock", env->dir);
	put_file(env->input, "source bytes, not a video\n");
	put_file(env->outside, "a file the helper must not touch\n");
	chmod(env->outside, 0640);
	if (mkdir(env->outdir, 0700) != 0 || stat(env->outside, before) != 0)
		return -1;
	setenv("AWS_ACCESS_KEY_ID", "AKIAESCAPETESTKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "escape-test-secret", 1);
	setenv("AWS_SESSION_TOKEN", "escape-test-token", 1);
	return 0;
}

/* Listeners made before the sandbox, a Unix socket and a TCP port: nothing may reach them. */
static int
make_listeners(escape_env *env, int *unix_l, int *tcp_l)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	socklen_t	slen = sizeof(sin);

	*unix_l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	unix_addr(&sun, env->unix_path);
	*tcp_l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (*unix_l < 0 || bind(*unix_l, (struct sockaddr *) &sun, sizeof(sun)) != 0 || listen(*unix_l, 8) != 0 ||
		*tcp_l < 0 || bind(*tcp_l, (struct sockaddr *) &sin, sizeof(sin)) != 0 || listen(*tcp_l, 8) != 0 ||
		getsockname(*tcp_l, (struct sockaddr *) &sin, &slen) != 0)
	{
		perror("listeners");
		return -1;
	}
	chmod(env->unix_path, 0777);
	env->tcp_port = ntohs(sin.sin_port);
	return 0;
}

/*
 * Fork the sacrificial parent, which forks the sandboxed child; print the
 * child's results as TAP lines. The parent's pid, or -1.
 */
static pid_t
run_sandboxed(const escape_env *env, int unix_l, int tcp_l)
{
	int			rp[2],
				st;
	pid_t		parent;
	FILE	   *in;
	char		line[600];

	if (pipe(rp) != 0)
		return -1;
	fflush(stdout);
	parent = fork();
	if (parent == 0)
	{
		/* the sacrificial parent: forks the sandboxed child and waits for it */
		pid_t		child = fork();

		if (child == 0)
		{
			close(rp[0]);
			close(unix_l);
			close(tcp_l);
			escape_report_fd = rp[1];
			sandboxed(env);
		}
		close(rp[0]);
		close(rp[1]);
		if (child < 0 || waitpid(child, &st, 0) != child)
			_exit(90);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 91);
	}
	close(rp[1]);
	in = fdopen(rp[0], "r");
	while (in && fgets(line, sizeof(line), in))
	{
		line[strcspn(line, "\n")] = '\0';
		tap(line[0] == '1', line + 2);
	}
	if (in)
		fclose(in);
	return parent;
}

/* From outside: the parent and the peer alive, no connection, the files untouched. */
static void
check_effects(const escape_env *env, pid_t parent, int unix_l, int tcp_l, const struct stat *before)
{
	struct stat after;
	int			st;
	pid_t		w;
	char		line[600];
	DIR		   *d;
	struct dirent *de;
	int			entries = 0;

	w = waitpid(parent, &st, 0);
	tap(w == parent && WIFEXITED(st), "the sandboxed process's parent survived (no kill(getppid(), SIGKILL))");
	tap(w == parent && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the sandboxed process ran to its end");
	tap(waitpid(env->peer, &st, WNOHANG) == 0, "the bystander process survived (no kill, tgkill, tkill)");
	kill(env->peer, SIGKILL);
	waitpid(env->peer, &st, 0);
	tap(accept(unix_l, NULL, NULL) < 0 && errno == EAGAIN, "no connection reached the Unix socket");
	tap(accept(tcp_l, NULL, NULL) < 0 && errno == EAGAIN, "no connection reached the TCP port");
	tap(stat(env->outside, &after) == 0 && after.st_mode == before->st_mode && after.st_size == before->st_size &&
		after.st_mtim.tv_sec == before->st_mtim.tv_sec && after.st_mtim.tv_nsec == before->st_mtim.tv_nsec &&
		getxattr(env->outside, "user.vtp", line, sizeof(line)) < 0,
		"the outside file is unchanged (mode, size, times, xattrs)");
	tap(stat(env->input, &after) == 0 && after.st_size == 26, "the source is unchanged");
	snprintf(line, sizeof(line), "%s/created.txt", env->dir);
	tap(access(line, F_OK) != 0, "nothing was created outside the output directory");
	d = opendir(env->outdir);
	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
		{
			entries++;
			if (strcmp(de->d_name, "control.mp4") != 0)
				printf("# unexpected in the output directory: %s\n", de->d_name);
		}
	if (d)
		closedir(d);
	tap(entries == 1, "the output directory holds only the file the control wrote");
}

/* Set up, run the sandboxed side, check the effects (and the helper, given its path), clean up. */
int
main(int argc, char **argv)
{
	escape_env	env;
	struct stat before;
	int			unix_l,
				tcp_l;
	pid_t		parent;
	char		line[600];

	if (make_env(&env, &before) != 0 || make_listeners(&env, &unix_l, &tcp_l) != 0)
		return 2;

	/* a bystander to signal */
	env.peer = fork();
	if (env.peer == 0)
	{
		for (;;)
			pause();
	}

	if ((parent = run_sandboxed(&env, unix_l, tcp_l)) < 0)
		return 2;
	check_effects(&env, parent, unix_l, tcp_l, &before);

	if (argc > 1)
		check_helper(argv[1], &env);

	/* clean up */
	snprintf(line, sizeof(line), "rm -rf '%s'", env.dir);
	if (umount2(env.dir, MNT_DETACH) == 0)
		printf("# a tmpfs was mounted on %s: unmounted it\n", env.dir);
	if (system(line) != 0)
		printf("# could not remove %s\n", env.dir);
	printf("1..%d\n", tap_count());
	if (tap_failures())
		printf("# %d of %d checks failed: the sandbox can be escaped\n", tap_failures(), tap_count());
	return tap_failures() ? 1 : 0;
}
