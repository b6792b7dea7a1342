/*
 * escape_helper.c — the escape test's check of the helper itself: run
 * vtp-transcode on a kernel made to lack Landlock (a seccomp filter
 * answering ENOSYS to landlock_*): --sandbox required must refuse
 * (sandbox_unavailable, exit 3), best_effort must say it runs without
 * Landlock; with Landlock, its first line is the sandbox in force.
 */
#define _GNU_SOURCE
#include "helper.h"
#include "escape.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A seccomp filter for the helper: landlock_* answer ENOSYS, as on a kernel without it. */
static int
hide_landlock(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_create_ruleset, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_add_rule, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_restrict_self, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short) (sizeof(f) / sizeof(f[0])), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/* Run the helper (optionally on a kernel without Landlock); its stdout in out, its exit code returned. */
static int
run_helper(const char *helper, const escape_env *env, const char *mode, bool no_landlock, char *out, size_t outlen)
{
	int			p[2],
				st;
	size_t		n = 0;
	ssize_t		r;
	pid_t		pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0)
	{
		char	   *const argv[] = {(char *) helper, "--input", (char *) env->input, "--outdir", (char *) env->outdir,
		"--sandbox", (char *) mode, NULL};

		dup2(p[1], 1);
		close(p[0]);
		if (no_landlock && hide_landlock() != 0)
			_exit(97);
		execv(helper, argv);
		_exit(96);
	}
	close(p[1]);
	while (n + 1 < outlen && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t) r;
	out[n] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The helper refuses to run without Landlock unless told best_effort, and its first line says so. */
void
check_helper(const char *helper, const escape_env *env)
{
	char		out[4096];
	const char *first_req = "{\"event\":\"sandbox\",\"mode\":\"required\",\"landlock_abi\":";
	const char *refusal = "{\"event\":\"error\",\"code\":\"sandbox_unavailable\"";
	const char *first_be = "{\"event\":\"sandbox\",\"mode\":\"best_effort\",\"landlock_abi\":0,"
		"\"landlock\":false,\"seccomp\":\"allowlist\"}\n";
	int			rc;

	rc = run_helper(helper, env, "required", false, out, sizeof(out));
	tap(strncmp(out, first_req, strlen(first_req)) == 0 &&
		strstr(out, "\"landlock\":true,\"seccomp\":\"allowlist\"}\n") != NULL &&
		strstr(out, "\"event\":\"error\",\"code\":\"unreadable\"") != NULL && rc == VTP_HELPER_EXIT_MEDIA,
		"helper: its first line is the sandbox in force, before the source is read");
	rc = run_helper(helper, env, "required", true, out, sizeof(out));
	tap(rc == VTP_HELPER_EXIT_INTERNAL && strncmp(out, refusal, strlen(refusal)) == 0 &&
		strstr(out, "no Landlock") != NULL && strchr(out, '\n') == out + strlen(out) - 1,
		"helper: without Landlock, --sandbox required refuses to run (sandbox_unavailable, exit 3)");
	if (rc != VTP_HELPER_EXIT_INTERNAL)
		printf("# got exit %d: %s", rc, out);
	rc = run_helper(helper, env, "best_effort", true, out, sizeof(out));
	tap(strncmp(out, first_be, strlen(first_be)) == 0 && rc == VTP_HELPER_EXIT_MEDIA,
		"helper: without Landlock, --sandbox best_effort runs with seccomp alone and says so");
}
