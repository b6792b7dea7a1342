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
 */
#define _GNU_SOURCE
#include "helper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

extern char **environ;

static int	report_fd = -1;		/* the sandboxed child's results, to main */
static int	test_no = 0;
static int	failures = 0;
static volatile sig_atomic_t got_usr1 = 0;

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

/* Print one TAP line (main side). */
static void
tap(bool ok, const char *desc)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_no, desc);
	fflush(stdout);
	if (!ok)
		failures++;
}

/* Child side: send one result to main ("1 desc" or "0 desc"). */
static void
result(bool ok, const char *fmt,...) __attribute__((format(printf, 2, 3)));
static void
result(bool ok, const char *fmt,...)
{
	char		line[512];
	va_list		ap;
	int			n;

	line[0] = ok ? '1' : '0';
	line[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(line + 2, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int) sizeof(line) - 4)
		n = (int) sizeof(line) - 4;
	line[2 + n] = '\n';
	if (write(report_fd, line, 3 + n) < 0)
		_exit(99);
}

/* An escape attempt: rc < 0 means refused (good). */
static void
refused(const char *what, long rc)
{
	int			e = errno;

	if (rc < 0)
		result(true, "%s refused (%s)", what, strerrorname_np(e) ? strerrorname_np(e) : "?");
	else
		result(false, "%s refused — it SUCCEEDED (returned %ld)", what, rc);
}

/* The address of a Unix socket at path. */
static void
unix_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strncpy(sun->sun_path, path, sizeof(sun->sun_path) - 1);
}

static void
on_usr1(int sig)
{
	got_usr1 = 1;
}

static void *
thread_main(void *arg)
{
	return arg;
}

/* A thread made by clone() directly: it only ends itself. */
static int
thread_fn(void *arg)
{
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * Through io_uring, without socket(2) or connect(2): make an AF_UNIX socket
 * and connect it to path. 0 connected, -1 refused at some step (errno).
 */
static int
uring_connect(const char *path)
{
	struct io_uring_params p;
	struct sockaddr_un sun;
	int			fd,
				step;
	long		sockfd = -1;
	size_t		sq_sz,
				cq_sz;
	char	   *sq,
			   *cq;
	struct io_uring_sqe *sqes;

	memset(&p, 0, sizeof(p));
	fd = (int) syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return -1;
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(__u32);
	cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (cq_sz > sq_sz)
		sq_sz = cq_sz;
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	cq = sq;
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqes == MAP_FAILED)
		return -1;
	unix_addr(&sun, path);
	for (step = 0; step < 2; step++)
	{
		__u32		tail = __atomic_load_n((__u32 *) (sq + p.sq_off.tail), __ATOMIC_ACQUIRE);
		__u32		idx = tail & *(__u32 *) (sq + p.sq_off.ring_mask);
		__u32		head;
		struct io_uring_cqe *cqe;

		memset(&sqes[idx], 0, sizeof(sqes[idx]));
		if (step == 0)
		{
			sqes[idx].opcode = IORING_OP_SOCKET;
			sqes[idx].fd = AF_UNIX;
			sqes[idx].off = SOCK_STREAM;
		}
		else
		{
			sqes[idx].opcode = IORING_OP_CONNECT;
			sqes[idx].fd = (int) sockfd;
			sqes[idx].addr = (__u64) (uintptr_t) &sun;
			sqes[idx].off = sizeof(sun);
		}
		((__u32 *) (sq + p.sq_off.array))[idx] = idx;
		__atomic_store_n((__u32 *) (sq + p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
		if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
			return -1;
		head = __atomic_load_n((__u32 *) (cq + p.cq_off.head), __ATOMIC_ACQUIRE);
		cqe = &((struct io_uring_cqe *) (cq + p.cq_off.cqes))[head & *(__u32 *) (cq + p.cq_off.ring_mask)];
		__atomic_store_n((__u32 *) (cq + p.cq_off.head), head + 1, __ATOMIC_RELEASE);
		if (cqe->res < 0)
		{
			errno = -cqe->res;
			return -1;
		}
		if (step == 0)
			sockfd = cqe->res;
	}
	return 0;
}

typedef struct escape_env
{
	char		dir[64];
	char		input[128];
	char		outdir[128];
	char		outside[128];
	char		unix_path[96];	/* fits sun_path */
	int			tcp_port;
	pid_t		peer;
} escape_env;

/* The sandboxed side: enter, then try every way out. Never returns. */
static void
sandboxed(const escape_env *env)
{
	tc_sandbox_info info;
	char		err[512],
				path[256],
				buf[64];
	pid_t		parent = getppid();
	uid_t		uid = getuid();
	gid_t		gid = getgid();
	int			unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int			tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
	int			pipe_fd[2];
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	struct timespec ts[2];
	struct iovec local,
				remote;
	pthread_t	th;
	void	   *th_ret = NULL;
	long		rc;
	int			fd;

	if (pipe(pipe_fd) != 0 || unix_fd < 0 || tcp_fd < 0)
		_exit(98);
	if (tc_sandbox_enter(env->input, env->outdir, TC_SANDBOX_REQUIRED, &info, err, sizeof(err)) != 0)
	{
		result(false, "entered the sandbox (%s)", err);
		_exit(1);
	}
	result(info.landlock && info.landlock_abi >= 1, "entered the sandbox: Landlock ABI %d in force, seccomp allowlist",
		   info.landlock_abi);

	/* positive controls: what a transcode needs must work */
	fd = open(env->input, O_RDONLY);
	result(fd >= 0 && read(fd, buf, 6) == 6 && memcmp(buf, "source", 6) == 0, "control: the source can be read");
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/control.mp4", env->outdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	result(fd >= 0 && write(fd, "output", 6) == 6 && fsync(fd) == 0, "control: a file can be created and written in the output directory");
	if (fd >= 0)
		close(fd);
	fd = open(path, O_RDONLY);
	result(fd >= 0 && read(fd, buf, 6) == 6, "control: an output can be read back (faststart)");
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/tmp.mp4", env->outdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	result(fd >= 0 && unlink(path) == 0, "control: a temporary file in the output directory can be removed");
	result(pthread_create(&th, NULL, thread_main, (void *) 42) == 0 && pthread_join(th, &th_ret) == 0 &&
		   th_ret == (void *) 42, "control: a thread can be created and joined");
	signal(SIGUSR1, on_usr1);
	result(raise(SIGUSR1) == 0 && got_usr1, "control: a signal to itself is delivered");
	result(kill(getpid(), 0) == 0, "control: kill(getpid(), 0) works");
	result(prctl(PR_SET_NAME, "vtp-escape", 0, 0, 0) == 0, "control: prctl(PR_SET_NAME) works");

	/* the environment */
	result(getenv("AWS_SECRET_ACCESS_KEY") == NULL && getenv("AWS_ACCESS_KEY_ID") == NULL &&
		   getenv("AWS_SESSION_TOKEN") == NULL, "no AWS_* variable is left in the environment");
	result(environ == NULL || environ[0] == NULL, "environ is empty");

	/* network */
	refused("io_uring_setup", syscall(__NR_io_uring_setup, 4, (struct io_uring_params[1]) {{0}}));
	refused("socket+connect to the Unix socket through io_uring", uring_connect(env->unix_path));
	refused("socket(AF_UNIX)", socket(AF_UNIX, SOCK_STREAM, 0));
	refused("socket(AF_INET)", socket(AF_INET, SOCK_STREAM, 0));
	refused("socket(AF_INET6, SOCK_DGRAM)", socket(AF_INET6, SOCK_DGRAM, 0));
	{
		int			sv[2];

		refused("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	}
	unix_addr(&sun, env->unix_path);
	refused("connect of a leaked socket to the Unix socket", connect(unix_fd, (struct sockaddr *) &sun, sizeof(sun)));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) env->tcp_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	refused("connect of a leaked socket to a TCP port", connect(tcp_fd, (struct sockaddr *) &sin, sizeof(sin)));
	refused("sendto on a leaked socket", sendto(tcp_fd, "x", 1, MSG_NOSIGNAL, (struct sockaddr *) &sin, sizeof(sin)));
	refused("bind of a leaked socket", bind(tcp_fd, (struct sockaddr *) &sin, sizeof(sin)));

	/* signals: only itself */
	refused("kill(getppid(), 0)", kill(parent, 0));
	refused("kill(peer, SIGKILL)", kill(env->peer, SIGKILL));
	refused("tgkill(peer, peer, SIGKILL)", syscall(SYS_tgkill, env->peer, env->peer, SIGKILL));
	refused("tkill(peer, SIGKILL)", syscall(SYS_tkill, env->peer, SIGKILL));
	{
		siginfo_t	si;

		memset(&si, 0, sizeof(si));
		si.si_code = SI_QUEUE;
		refused("rt_sigqueueinfo(peer, SIGKILL)", syscall(SYS_rt_sigqueueinfo, env->peer, SIGKILL, &si));
	}
	{
		siginfo_t	si;

		memset(&si, 0, sizeof(si));
		si.si_code = SI_QUEUE;
		refused("rt_tgsigqueueinfo(parent, parent, SIGKILL)",
				syscall(SYS_rt_tgsigqueueinfo, parent, parent, SIGKILL, &si));
	}
	/* the kernel reads an int: only a filter comparing both halves refuses this */
	refused("kill(own pid | 1 << 32, 0) (the high word is checked)",
			syscall(SYS_kill, (long) ((1ULL << 32) | (unsigned) getpid()), 0));
	refused("kill(-1, 0) (every process)", kill(-1, 0));
	refused("kill(0, 0) (its process group)", kill(0, 0));
	refused("pidfd_open(peer)", syscall(SYS_pidfd_open, env->peer, 0));
	refused("fcntl(F_SETOWN, parent) (SIGIO to another process)", fcntl(pipe_fd[0], F_SETOWN, parent));

	/* processes: threads only, no program */
	rc = fork();
	if (rc == 0)
		_exit(0);
	refused("fork()", rc);
	rc = vfork();
	if (rc == 0)
		_exit(0);
	refused("vfork()", rc);
	rc = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (rc == 0)
		_exit(0);
	refused("clone(SIGCHLD) without CLONE_THREAD", rc);
	{
		static char stack[64 * 1024] __attribute__((aligned(16)));

		rc = clone(thread_fn, stack + sizeof(stack), CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				   CLONE_THREAD | CLONE_SYSVSEM | CLONE_NEWNET, NULL);
		refused("clone(CLONE_THREAD | CLONE_NEWNET) (a thread in a new namespace)", rc);
	}
	{
		struct clone_args ca;

		memset(&ca, 0, sizeof(ca));
		ca.exit_signal = SIGCHLD;
		rc = syscall(SYS_clone3, &ca, sizeof(ca));
		if (rc == 0)
			_exit(0);
		refused("clone3", rc);
	}
	{
		char	   *const argv[] = {"/bin/true", NULL};

		refused("execve(/bin/true)", execve("/bin/true", argv, NULL));
		refused("execveat(/bin/true)", syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, NULL, 0));
	}

	/* the file system outside its two paths */
	refused("open(/etc/passwd) for reading", open("/etc/passwd", O_RDONLY));
	refused("open of a file beside the source for reading", open(env->outside, O_RDONLY));
	refused("open of a file beside the source for writing", open(env->outside, O_WRONLY));
	snprintf(path, sizeof(path), "%s/created.txt", env->dir);
	refused("creat outside the output directory", open(path, O_WRONLY | O_CREAT, 0644));
	refused("listing the temp directory", open(env->dir, O_RDONLY | O_DIRECTORY));
	refused("listing /", open("/", O_RDONLY | O_DIRECTORY));
	refused("open of the source for writing", open(env->input, O_WRONLY));
	refused("chmod outside", chmod(env->outside, 0777));
	refused("fchmodat outside", fchmodat(AT_FDCWD, env->outside, 0777, 0));
	refused("chown outside", chown(env->outside, uid, gid));
	refused("lchown outside", lchown(env->outside, uid, gid));
	refused("truncate outside", truncate(env->outside, 0));
	refused("truncate of the source", truncate(env->input, 0));
	refused("setxattr outside", setxattr(env->outside, "user.vtp", "x", 1, 0));
	refused("removexattr outside", removexattr(env->outside, "user.vtp"));
	ts[0].tv_sec = ts[1].tv_sec = 0;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	refused("utimensat outside", utimensat(AT_FDCWD, env->outside, ts, 0));
	refused("utimes outside", utimes(env->outside, NULL));
	snprintf(path, sizeof(path), "%s/control.mp4", env->outdir);
	refused("chmod of an output", chmod(path, 04755));
	snprintf(path, sizeof(path), "%s/link.mp4", env->outdir);
	refused("symlink to /etc/passwd in the output directory", symlink("/etc/passwd", path));
	refused("hard link of the source into the output directory", link(env->input, path));
	{
		char		from[256],
					to[256];

		snprintf(from, sizeof(from), "%s/control.mp4", env->outdir);
		snprintf(to, sizeof(to), "%s/escaped.mp4", env->dir);
		refused("rename of an output out of the output directory", rename(from, to));
	}
	snprintf(path, sizeof(path), "%s/fifo.mp4", env->outdir);
	refused("mkfifo in the output directory", mkfifo(path, 0600));
	snprintf(path, sizeof(path), "%s/sub", env->outdir);
	refused("mkdir in the output directory", mkdir(path, 0700));
	refused("memfd_create", syscall(SYS_memfd_create, "x", 0));
	refused("ioctl(FIONREAD) on a pipe", ioctl(pipe_fd[0], FIONREAD, &fd));

	/* other processes' memory */
	refused("ptrace(PTRACE_TRACEME)", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	rc = ptrace(PTRACE_ATTACH, parent, NULL, NULL);
	if (rc == 0)
		ptrace(PTRACE_DETACH, parent, NULL, NULL);
	refused("ptrace(PTRACE_ATTACH, parent)", rc);
	local.iov_base = buf;
	local.iov_len = sizeof(buf);
	remote.iov_base = (void *) &report_fd;
	remote.iov_len = sizeof(report_fd);
	refused("process_vm_readv(parent)", process_vm_readv(parent, &local, 1, &remote, 1, 0));
	refused("process_vm_writev(parent)", process_vm_writev(parent, &local, 1, &remote, 1, 0));

	/* kernel surfaces */
	{
		union bpf_attr ba;
		struct perf_event_attr pa;

		memset(&ba, 0, sizeof(ba));
		ba.map_type = BPF_MAP_TYPE_ARRAY;
		ba.key_size = 4;
		ba.value_size = 4;
		ba.max_entries = 1;
		refused("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, BPF_MAP_CREATE, &ba, sizeof(ba)));
		refused("keyctl(KEYCTL_GET_KEYRING_ID)", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
		refused("add_key", syscall(SYS_add_key, "user", "vtp", "x", 1, KEY_SPEC_PROCESS_KEYRING));
		refused("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */ ));
		memset(&pa, 0, sizeof(pa));
		pa.type = PERF_TYPE_SOFTWARE;
		pa.size = sizeof(pa);
		pa.config = PERF_COUNT_SW_CPU_CLOCK;
		pa.exclude_kernel = 1;
		pa.exclude_hv = 1;
		refused("perf_event_open (own CPU clock)", syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
		refused("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE));
		refused("prctl(PR_SET_DUMPABLE, 1)", prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
		snprintf(path, sizeof(path), "%s", env->dir);
		refused("mount of a tmpfs", mount("vtp", path, "tmpfs", 0, NULL));
		refused("setns", syscall(SYS_setns, 0, 0));
		refused("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
		refused("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
	}
	/* last: if this works, the parent is gone (main sees it) */
	refused("kill(getppid(), SIGKILL)", kill(parent, SIGKILL));
	_exit(0);
}

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
static void
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
		strstr(out, "\"event\":\"error\",\"code\":\"unreadable\"") != NULL && rc == 2,
		"helper: its first line is the sandbox in force, before the source is read");
	rc = run_helper(helper, env, "required", true, out, sizeof(out));
	tap(rc == 3 && strncmp(out, refusal, strlen(refusal)) == 0 &&
		strstr(out, "no Landlock") != NULL && strchr(out, '\n') == out + strlen(out) - 1,
		"helper: without Landlock, --sandbox required refuses to run (sandbox_unavailable, exit 3)");
	if (rc != 3)
		printf("# got exit %d: %s", rc, out);
	rc = run_helper(helper, env, "best_effort", true, out, sizeof(out));
	tap(strncmp(out, first_be, strlen(first_be)) == 0 && rc == 2,
		"helper: without Landlock, --sandbox best_effort runs with seccomp alone and says so");
}

/* Write a small file. */
static void
put_file(const char *path, const char *content)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL || fputs(content, f) < 0 || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	escape_env	env;
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	socklen_t	slen = sizeof(sin);
	struct stat before,
				after;
	int			unix_l,
				tcp_l,
				rp[2],
				st;
	pid_t		parent,
				w;
	FILE	   *in;
	char		line[600];
	DIR		   *d;
	struct dirent *de;
	int			entries = 0;

	memset(&env, 0, sizeof(env));
	snprintf(env.dir, sizeof(env.dir), "/tmp/vtp-escape.XXXXXX");
	if (mkdtemp(env.dir) == NULL)
		return 2;
	snprintf(env.input, sizeof(env.input), "%s/source.mp4", env.dir);
	snprintf(env.outdir, sizeof(env.outdir), "%s/out", env.dir);
	snprintf(env.outside, sizeof(env.outside), "%s/outside.txt", env.dir);
	snprintf(env.unix_path, sizeof(env.unix_path), "%s/peer.sock", env.dir);
	put_file(env.input, "source bytes, not a video\n");
	put_file(env.outside, "a file the helper must not touch\n");
	chmod(env.outside, 0640);
	if (mkdir(env.outdir, 0700) != 0 || stat(env.outside, &before) != 0)
		return 2;
	setenv("AWS_ACCESS_KEY_ID", "AKIAESCAPETESTKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "escape-test-secret", 1);
	setenv("AWS_SESSION_TOKEN", "escape-test-token", 1);

	/* listeners made before the sandbox: nothing may reach them */
	unix_l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	unix_addr(&sun, env.unix_path);
	tcp_l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (unix_l < 0 || bind(unix_l, (struct sockaddr *) &sun, sizeof(sun)) != 0 || listen(unix_l, 8) != 0 ||
		tcp_l < 0 || bind(tcp_l, (struct sockaddr *) &sin, sizeof(sin)) != 0 || listen(tcp_l, 8) != 0 ||
		getsockname(tcp_l, (struct sockaddr *) &sin, &slen) != 0)
	{
		perror("listeners");
		return 2;
	}
	chmod(env.unix_path, 0777);
	env.tcp_port = ntohs(sin.sin_port);

	/* a bystander to signal */
	env.peer = fork();
	if (env.peer == 0)
	{
		for (;;)
			pause();
	}

	if (pipe(rp) != 0)
		return 2;
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
			report_fd = rp[1];
			sandboxed(&env);
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
	w = waitpid(parent, &st, 0);
	tap(w == parent && WIFEXITED(st), "the sandboxed process's parent survived (no kill(getppid(), SIGKILL))");
	tap(w == parent && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the sandboxed process ran to its end");
	tap(waitpid(env.peer, &st, WNOHANG) == 0, "the bystander process survived (no kill, tgkill, tkill)");
	kill(env.peer, SIGKILL);
	waitpid(env.peer, &st, 0);
	tap(accept(unix_l, NULL, NULL) < 0 && errno == EAGAIN, "no connection reached the Unix socket");
	tap(accept(tcp_l, NULL, NULL) < 0 && errno == EAGAIN, "no connection reached the TCP port");
	tap(stat(env.outside, &after) == 0 && after.st_mode == before.st_mode && after.st_size == before.st_size &&
		after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
		getxattr(env.outside, "user.vtp", line, sizeof(line)) < 0,
		"the outside file is unchanged (mode, size, times, xattrs)");
	tap(stat(env.input, &after) == 0 && after.st_size == 26, "the source is unchanged");
	snprintf(line, sizeof(line), "%s/created.txt", env.dir);
	tap(access(line, F_OK) != 0, "nothing was created outside the output directory");
	d = opendir(env.outdir);
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

	if (argc > 1)
		check_helper(argv[1], &env);

	/* clean up */
	snprintf(line, sizeof(line), "rm -rf '%s'", env.dir);
	if (umount2(env.dir, MNT_DETACH) == 0)
		printf("# a tmpfs was mounted on %s: unmounted it\n", env.dir);
	if (system(line) != 0)
		printf("# could not remove %s\n", env.dir);
	printf("1..%d\n", test_no);
	if (failures)
		printf("# %d of %d checks failed: the sandbox can be escaped\n", failures, test_no);
	return failures ? 1 : 0;
}
