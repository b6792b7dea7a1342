/*
 * sandbox.c — what the transcoder may do once it starts on untrusted media:
 *   - seccomp (required): no sockets, no exec, no ptrace — a demuxer or an
 *     exploit can make no network connection and start no program;
 *   - Landlock (when the kernel has it): of the file system, only the
 *     source may be read and only the output directory written, so no byte
 *     of another local file can reach an output.
 * Both apply to every thread created later and cannot be undone.
 */
#define _GNU_SOURCE				/* O_PATH */
#include "transcode.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA))

static int
install_seccomp(char *err, size_t errlen)
{
#ifdef SANDBOX_ARCH
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
		/* the x32 ABI numbers the same calls differently: refuse all of it */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
#endif
		DENY(__NR_socket),
		DENY(__NR_socketpair),
		DENY(__NR_connect),
		DENY(__NR_bind),
		DENY(__NR_listen),
		DENY(__NR_accept),
		DENY(__NR_accept4),
		DENY(__NR_execve),
		DENY(__NR_execveat),
		DENY(__NR_ptrace),
		DENY(__NR_process_vm_readv),
		DENY(__NR_process_vm_writev),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short) (sizeof(filter) / sizeof(filter[0])), filter};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
	{
		snprintf(err, errlen, "could not install the seccomp filter: %s", strerror(errno));
		return -1;
	}
	return 0;
#else
	snprintf(err, errlen, "no seccomp filter for this architecture");
	return -1;
#endif
}

static int
landlock_allow(int ruleset, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb;
	int			rc;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return -1;
	pb.allowed_access = access;
	rc = (int) syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(pb.parent_fd);
	return rc;
}

/* 1 applied, 0 not available in this kernel, -1 error. */
static int
install_landlock(const char *input, const char *outdir, char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr;
	long		abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	__u64		all,
				dir_rw;
	int			rs;

	if (abi < 1)
		return 0;				/* not built or not enabled: seccomp still holds */
	all = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
		LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	dir_rw = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		dir_rw |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = all;
	rs = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
	{
		snprintf(err, errlen, "could not create a Landlock ruleset: %s", strerror(errno));
		return -1;
	}
	if (landlock_allow(rs, input, LANDLOCK_ACCESS_FS_READ_FILE) != 0 || landlock_allow(rs, outdir, dir_rw) != 0)
	{
		snprintf(err, errlen, "could not add a Landlock rule: %s", strerror(errno));
		close(rs);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		syscall(SYS_landlock_restrict_self, rs, 0) != 0)
	{
		snprintf(err, errlen, "could not apply the Landlock ruleset: %s", strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	return 1;
}

int
tc_sandbox(const char *input, const char *outdir, bool *landlocked, char *err, size_t errlen)
{
	int			ll = install_landlock(input, outdir, err, errlen);

	if (ll < 0)
		return -1;
	*landlocked = ll == 1;
	return install_seccomp(err, errlen);
}

static const char *
outcome(int rc)
{
	return rc >= 0 ? "allowed" : errno == EACCES ? "refused" : strerror(errno);
}

/* --check-sandbox: what the sandbox refuses, as one JSON line. */
int
tc_check_sandbox(const char *input, const char *outdir)
{
	char		err[256];
	bool		landlocked = false;
	int			fd,
				rc;
	const char *sock,
			   *exec,
			   *other,
			   *in,
			   *out;
	char	   *const argv[] = {"/bin/true", NULL};
	char		path[4096];

	if (tc_sandbox(input, outdir, &landlocked, err, sizeof(err)) != 0)
	{
		tc_report_error("sandbox_unavailable", "%s", err);
		return EXIT_INTERNAL;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sock = outcome(fd);
	if (fd >= 0)
		close(fd);
	rc = execve(argv[0], argv, NULL);
	exec = outcome(rc);
	fd = open("/etc/passwd", O_RDONLY);
	other = outcome(fd);
	if (fd >= 0)
		close(fd);
	fd = open(input, O_RDONLY);
	in = outcome(fd);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/sandbox-check", outdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	out = outcome(fd);
	if (fd >= 0)
	{
		close(fd);
		unlink(path);
	}
	printf("{\"event\":\"sandbox\",\"landlock\":%s,\"socket\":\"%s\",\"exec\":\"%s\",\"read_other_file\":\"%s\","
		   "\"read_source\":\"%s\",\"write_outdir\":\"%s\"}\n",
		   landlocked ? "true" : "false", sock, exec, other, in, out);
	fflush(stdout);
	return 0;
}
