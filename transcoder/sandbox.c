/*
 * sandbox.c — what the transcoder may do once it starts on untrusted media.
 * tc_sandbox_enter() is the one way in, used by main() and by the escape
 * test (test/sandbox/escape.c), in this order:
 *   1. clearenv(): no byte of the server's environment (AWS_* included)
 *      stays in the process;
 *   2. setsid() (a no-op when the worker already made it a session leader),
 *      PR_SET_DUMPABLE 0 (no ptrace, no /proc/PID/mem by same-uid processes),
 *      PR_SET_NO_NEW_PRIVS;
 *   3. Landlock, with every right the running kernel's ABI knows handled
 *      (file system: ABI 1..3 and 5; TCP bind/connect: ABI 4; signal and
 *      abstract-socket scoping: ABI 6): the source may only be read, the
 *      output directory only have regular files created, written, read back,
 *      truncated and removed in it; nothing else on the file system, no TCP,
 *      no signal or abstract socket out of the domain. With --sandbox
 *      required (the default) a kernel without Landlock, or a ruleset that
 *      cannot be applied, makes the helper refuse to run; best_effort goes
 *      on with seccomp alone and says so;
 *   4. a seccomp allowlist (default EPERM; a foreign architecture or x32 is
 *      killed): only what glibc, libav*, libx264 and their threads call —
 *      memory, futexes, reading and writing open files, opening files
 *      (Landlock decides which), unlink in the output, time, exit. Threads
 *      only (clone must carry CLONE_THREAD and no namespace flag; clone3
 *      answers ENOSYS so glibc falls back to clone); signals only to the
 *      helper's own pid; fcntl only F_GETFD/F_SETFD/F_GETFL/F_SETFL (no
 *      F_SETOWN); prctl only PR_SET_NAME/PR_GET_NAME; prlimit64 only on
 *      itself. Everything else — sockets, io_uring, exec, fork, ptrace,
 *      process_vm_*, chmod/chown/xattr/utimes, truncate by path, link,
 *      symlink, rename, mknod, ioctl, mount, unshare, setns, bpf, keyrings,
 *      userfaultfd, perf_event_open, personality, memfd_create — is refused.
 *      (stat of a path is allowed: Landlock does not cover it, so a file's
 *      existence and size elsewhere can be learnt, not its bytes.)
 * Both layers hold for every thread created later and cannot be undone.
 */
#define _GNU_SOURCE				/* O_PATH, clearenv */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * Rights newer than Debian 12's linux/landlock.h (ABI 2). Values from the
 * kernel's uapi header; used only when the running kernel's ABI has them.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)	/* ABI 3, Linux 6.2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5, Linux 6.10 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)	/* ABI 4, Linux 6.7 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6, Linux 6.12 */
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* struct landlock_ruleset_attr as of ABI 6; older kernels take it if the fields they lack are 0 */
typedef struct sb_ruleset_attr
{
	__u64		handled_access_fs;
	__u64		handled_access_net;
	__u64		scoped;
} sb_ruleset_attr;

/* ---- seccomp ---- */

#define SC_ALLOW SECCOMP_RET_ALLOW
#define SC_DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define SC_JEQ (BPF_JMP | BPF_JEQ | BPF_K)
#define SC_LD (BPF_LD | BPF_W | BPF_ABS)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * 8)
#define SC_ARG_HI(i) (offsetof(struct seccomp_data, args) + (i) * 8 + 4)
#else
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * 8 + 4)
#define SC_ARG_HI(i) (offsetof(struct seccomp_data, args) + (i) * 8)
#endif

/* the syscall in A is nr: answer action (2 instructions) */
#define SC_RET(nr, action) \
	BPF_JUMP(SC_JEQ, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, (action))
#define SC_OK(nr) SC_RET(nr, SC_ALLOW)

/* nr is allowed only when its argument i is exactly v, both 32-bit halves (7) */
#define SC_ARG_EQ(nr, i, v) \
	BPF_JUMP(SC_JEQ, (nr), 0, 6), \
	BPF_STMT(SC_LD, SC_ARG_LO(i)), \
	BPF_JUMP(SC_JEQ, (__u32) (v), 0, 3), \
	BPF_STMT(SC_LD, SC_ARG_HI(i)), \
	BPF_JUMP(SC_JEQ, (__u32) ((__u64) (v) >> 32), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SC_ALLOW), \
	BPF_STMT(BPF_RET | BPF_K, SC_DENY)

/* nr is allowed only when lo <= argument i <= hi (32-bit values, high half 0) (8) */
#define SC_ARG_IN(nr, i, lo, hi) \
	BPF_JUMP(SC_JEQ, (nr), 0, 7), \
	BPF_STMT(SC_LD, SC_ARG_LO(i)), \
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (lo), 0, 4), \
	BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (hi), 3, 0), \
	BPF_STMT(SC_LD, SC_ARG_HI(i)), \
	BPF_JUMP(SC_JEQ, 0, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SC_ALLOW), \
	BPF_STMT(BPF_RET | BPF_K, SC_DENY)

/* flags that make clone start something other than a plain thread */
#define SC_CLONE_NOT_THREAD (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
							 CLONE_NEWPID | CLONE_NEWNET | CLONE_PARENT | CLONE_VFORK | CLONE_PTRACE)

/* clone (flags are argument 0 on x86_64 and aarch64): CLONE_THREAD, no namespace (8) */
#define SC_CLONE_THREAD_ONLY(nr) \
	BPF_JUMP(SC_JEQ, (nr), 0, 7), \
	BPF_STMT(SC_LD, SC_ARG_LO(0)), \
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, CLONE_THREAD | SC_CLONE_NOT_THREAD), \
	BPF_JUMP(SC_JEQ, CLONE_THREAD, 0, 3), \
	BPF_STMT(SC_LD, SC_ARG_HI(0)), \
	BPF_JUMP(SC_JEQ, 0, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SC_ALLOW), \
	BPF_STMT(BPF_RET | BPF_K, SC_DENY)

#ifdef SANDBOX_ARCH
/*
 * The allowlist's constant part, a plain table: the architecture check, then
 * the calls allowed whatever their arguments, most frequent first (futex is
 * most of them). install_seccomp() appends the calls checked by argument.
 */
static const struct sock_filter sc_allowed[] = {
	BPF_STMT(SC_LD, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(SC_JEQ, SANDBOX_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(SC_LD, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
	/* the x32 ABI numbers the same calls differently: never ours */
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
	SC_OK(__NR_futex),
	SC_OK(__NR_read),
	SC_OK(__NR_write),
	SC_OK(__NR_mmap),
	SC_OK(__NR_munmap),
	SC_OK(__NR_mprotect),
	SC_OK(__NR_madvise),
	SC_OK(__NR_rt_sigprocmask),
	SC_OK(__NR_brk),
	SC_OK(__NR_lseek),
	SC_OK(__NR_newfstatat),
	SC_OK(__NR_fstat),
	SC_OK(__NR_clock_gettime),
	SC_OK(__NR_sched_yield),
	SC_OK(__NR_set_robust_list),
	SC_OK(__NR_rseq),
	SC_OK(__NR_exit),
	SC_OK(__NR_exit_group),
	SC_OK(__NR_rt_sigreturn),
	SC_OK(__NR_restart_syscall),
	SC_OK(__NR_mremap),
	SC_OK(__NR_openat),		/* which files: Landlock */
#ifdef __NR_open
	SC_OK(__NR_open),
#endif
	SC_OK(__NR_close),
	SC_OK(__NR_pread64),
	SC_OK(__NR_pwrite64),
	SC_OK(__NR_readv),
	SC_OK(__NR_writev),
	SC_OK(__NR_ftruncate),	/* an fd opened for writing: the outdir only */
	SC_OK(__NR_fsync),
	SC_OK(__NR_fdatasync),
	SC_OK(__NR_fadvise64),
	SC_OK(__NR_unlinkat),	/* temporary files in the outdir (Landlock) */
#ifdef __NR_unlink
	SC_OK(__NR_unlink),
#endif
	SC_OK(__NR_statx),
	SC_OK(__NR_getpid),
	SC_OK(__NR_gettid),
	SC_OK(__NR_getrusage),
	SC_OK(__NR_getrandom),
	SC_OK(__NR_sched_getaffinity),
	SC_OK(__NR_sysinfo),
	SC_OK(__NR_nanosleep),
	SC_OK(__NR_clock_nanosleep),
	SC_OK(__NR_clock_getres),
	SC_OK(__NR_gettimeofday),
#ifdef __NR_time
	SC_OK(__NR_time),
#endif
#ifdef __NR_getrlimit
	SC_OK(__NR_getrlimit),
#endif
	SC_OK(__NR_rt_sigaction),
	SC_OK(__NR_sigaltstack),
};
#endif

/*
 * Install the allowlist: sc_allowed, then the calls allowed only with some
 * arguments. self is the helper's pid, a constant of the filter: signals may
 * go to it alone.
 */
static int
install_seccomp(pid_t self, char *err, size_t errlen)
{
#ifdef SANDBOX_ARCH
	const struct sock_filter by_arg[] = {
		SC_CLONE_THREAD_ONLY(__NR_clone),
		SC_RET(__NR_clone3, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		SC_ARG_EQ(__NR_kill, 0, self),
		SC_ARG_EQ(__NR_tgkill, 0, self),
		SC_ARG_EQ(__NR_tkill, 0, self),
		SC_ARG_EQ(__NR_rt_sigqueueinfo, 0, self),
		SC_ARG_EQ(__NR_rt_tgsigqueueinfo, 0, self),
		SC_ARG_EQ(__NR_prlimit64, 0, 0),
		SC_ARG_IN(__NR_fcntl, 1, F_GETFD, F_SETFL),	/* 1..4: never F_SETOWN/F_SETSIG */
		SC_ARG_IN(__NR_prctl, 0, PR_SET_NAME, PR_GET_NAME),
		BPF_STMT(BPF_RET | BPF_K, SC_DENY),
	};
	struct sock_filter filter[sizeof(sc_allowed) / sizeof(sc_allowed[0]) + sizeof(by_arg) / sizeof(by_arg[0])];
	struct sock_fprog prog = {(unsigned short) (sizeof(filter) / sizeof(filter[0])), filter};

	memcpy(filter, sc_allowed, sizeof(sc_allowed));
	memcpy(filter + sizeof(sc_allowed) / sizeof(sc_allowed[0]), by_arg, sizeof(by_arg));
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
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

/* ---- Landlock ---- */

/* Add one path-beneath rule; -1 with errno. */
static int
landlock_allow(int ruleset, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb;
	int			rc,
				saved;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return -1;
	pb.allowed_access = access;
	rc = (int) syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	saved = errno;
	close(pb.parent_fd);
	errno = saved;
	return rc;
}

/* The running kernel's Landlock ABI (0 when absent), with why in why. */
static int
landlock_abi(char *why, size_t whylen)
{
	long		abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	if (abi >= 1)
		return (int) abi;
	if (errno == EOPNOTSUPP)
		snprintf(why, whylen, "Landlock is built into this kernel but disabled (EOPNOTSUPP: "
				 "it is not in the lsm= boot parameter)");
	else if (errno == ENOSYS)
		snprintf(why, whylen, "this kernel has no Landlock (ENOSYS: it needs Linux 5.13 or later "
				 "built with CONFIG_SECURITY_LANDLOCK)");
	else
		snprintf(why, whylen, "the kernel's Landlock ABI cannot be read: %s", strerror(errno));
	return 0;
}

/* Restrict the file system (and TCP, signals, abstract sockets) for good; 0, or -1 with err. */
static int
install_landlock(int abi, const char *input, const char *outdir, char *err, size_t errlen)
{
	sb_ruleset_attr attr;
	__u64		dir_rw;
	int			rs;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
	dir_rw = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
		LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
	{
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
		dir_rw |= LANDLOCK_ACCESS_FS_TRUNCATE;	/* O_TRUNC of an output */
	}
	if (abi >= 4)
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	rs = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
	{
		snprintf(err, errlen, "could not create a Landlock ruleset (ABI %d): %s", abi, strerror(errno));
		return -1;
	}
	if (landlock_allow(rs, input, LANDLOCK_ACCESS_FS_READ_FILE) != 0 ||
		landlock_allow(rs, outdir, dir_rw) != 0)
	{
		snprintf(err, errlen, "could not add a Landlock rule (ABI %d): %s", abi, strerror(errno));
		close(rs);
		return -1;
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) != 0)
	{
		snprintf(err, errlen, "could not apply the Landlock ruleset (ABI %d): %s", abi, strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	return 0;
}

/* "required" / "best_effort" → mode; -1 if neither. */
int
tc_sandbox_parse_mode(const char *s, tc_sandbox_mode *mode)
{
	if (strcmp(s, "required") == 0)
		*mode = TC_SANDBOX_REQUIRED;
	else if (strcmp(s, "best_effort") == 0)
		*mode = TC_SANDBOX_BEST_EFFORT;
	else
		return -1;
	return 0;
}

/*
 * Enter the sandbox: the one function the helper and the escape test call.
 * 0 with *info filled, or -1 with err (the caller reports sandbox_unavailable).
 */
int
tc_sandbox_enter(const char *input, const char *outdir, tc_sandbox_mode mode,
				 tc_sandbox_info *info, char *err, size_t errlen)
{
	char		why[256];

	memset(info, 0, sizeof(*info));
	info->mode = mode;
	clearenv();
	(void) setsid();			/* EPERM when already a session leader: fine */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
	{
		snprintf(err, errlen, "could not set no_new_privs: %s", strerror(errno));
		return -1;
	}
	info->landlock_abi = landlock_abi(why, sizeof(why));
	if (info->landlock_abi >= 1 &&
		install_landlock(info->landlock_abi, input, outdir, why, sizeof(why)) == 0)
		info->landlock = true;
	else if (mode == TC_SANDBOX_REQUIRED)
	{
		snprintf(err, errlen, "Landlock is required (--sandbox required) and %s; "
				 "vtp.sandbox = 'best_effort' runs with seccomp alone", why);
		return -1;
	}
	return install_seccomp(getpid(), err, errlen);
}
