/*
 * escape_attempts.c — the escape test's sandboxed side: it enters the
 * helper's sandbox (tc_sandbox_enter, from transcoder/sandbox.c), checks
 * the positive controls, then tries every way out, in this order: the
 * environment, the network, signals, processes, the file system, other
 * processes' memory, kernel surfaces, and last a SIGKILL to its parent.
 * Each attempt is one result to main (escape_tap.c); escape.c checks the
 * effects from outside.
 */
#define _GNU_SOURCE
#include "helper.h"
#include "escape.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
#include <sys/xattr.h>
#include <unistd.h>

extern char **environ;

/* What the child holds from before the sandbox: who its parent is, who it is, leaked descriptors. */
typedef struct escape_leaks
{
	pid_t		parent;
	uid_t		uid;
	gid_t		gid;
	int			unix_fd;		/* sockets made before the sandbox */
	int			tcp_fd;
	int			pipe_fd[2];
} escape_leaks;

static volatile sig_atomic_t got_usr1 = 0;

/* SIGUSR1 to itself: the control that a signal is delivered. */
static void
on_usr1(int sig)
{
	got_usr1 = 1;
}

/* The control thread: it returns its argument. */
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

/* Positive controls: what a transcode needs must work, or the test proves nothing. */
static void
controls(const escape_env *env)
{
	char		path[256],
				buf[64];
	pthread_t	th;
	void	   *th_ret = NULL;
	int			fd;

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
}

/* The environment: no byte of the server's is left. */
static void
environment(void)
{
	result(getenv("AWS_SECRET_ACCESS_KEY") == NULL && getenv("AWS_ACCESS_KEY_ID") == NULL &&
		   getenv("AWS_SESSION_TOKEN") == NULL, "no AWS_* variable is left in the environment");
	result(environ == NULL || environ[0] == NULL, "environ is empty");
}

/* The network: no socket, not through io_uring, not with a leaked descriptor. */
static void
network(const escape_env *env, const escape_leaks *lk)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;

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
	refused("connect of a leaked socket to the Unix socket", connect(lk->unix_fd, (struct sockaddr *) &sun, sizeof(sun)));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) env->tcp_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	refused("connect of a leaked socket to a TCP port", connect(lk->tcp_fd, (struct sockaddr *) &sin, sizeof(sin)));
	refused("sendto on a leaked socket", sendto(lk->tcp_fd, "x", 1, MSG_NOSIGNAL, (struct sockaddr *) &sin, sizeof(sin)));
	refused("bind of a leaked socket", bind(lk->tcp_fd, (struct sockaddr *) &sin, sizeof(sin)));
}

/* Signals: only to itself. */
static void
signals(const escape_env *env, const escape_leaks *lk)
{
	refused("kill(getppid(), 0)", kill(lk->parent, 0));
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
				syscall(SYS_rt_tgsigqueueinfo, lk->parent, lk->parent, SIGKILL, &si));
	}
	/* the kernel reads an int: only a filter comparing both halves refuses this */
	refused("kill(own pid | 1 << 32, 0) (the high word is checked)",
			syscall(SYS_kill, (long) ((1ULL << 32) | (unsigned) getpid()), 0));
	refused("kill(-1, 0) (every process)", kill(-1, 0));
	refused("kill(0, 0) (its process group)", kill(0, 0));
	refused("pidfd_open(peer)", syscall(SYS_pidfd_open, env->peer, 0));
	refused("fcntl(F_SETOWN, parent) (SIGIO to another process)", fcntl(lk->pipe_fd[0], F_SETOWN, lk->parent));
}

/* Processes: threads only, no program. */
static void
processes(void)
{
	long		rc;

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
}

/* The file system outside its two paths, and what it may not do inside them. */
static void
files(const escape_env *env, const escape_leaks *lk)
{
	char		path[256];
	struct timespec ts[2];
	int			fd;

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
	refused("chown outside", chown(env->outside, lk->uid, lk->gid));
	refused("lchown outside", lchown(env->outside, lk->uid, lk->gid));
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
	refused("ioctl(FIONREAD) on a pipe", ioctl(lk->pipe_fd[0], FIONREAD, &fd));
}

/* Other processes' memory. */
static void
memory(const escape_leaks *lk)
{
	char		buf[64];
	struct iovec local,
				remote;
	long		rc;

	refused("ptrace(PTRACE_TRACEME)", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	rc = ptrace(PTRACE_ATTACH, lk->parent, NULL, NULL);
	if (rc == 0)
		ptrace(PTRACE_DETACH, lk->parent, NULL, NULL);
	refused("ptrace(PTRACE_ATTACH, parent)", rc);
	local.iov_base = buf;
	local.iov_len = sizeof(buf);
	remote.iov_base = (void *) &escape_report_fd;
	remote.iov_len = sizeof(escape_report_fd);
	refused("process_vm_readv(parent)", process_vm_readv(lk->parent, &local, 1, &remote, 1, 0));
	refused("process_vm_writev(parent)", process_vm_writev(lk->parent, &local, 1, &remote, 1, 0));
}

/* Kernel surfaces: bpf, keyrings, userfaultfd, perf, personality, mount, namespaces. */
static void
kernel(const escape_env *env)
{
	char		path[256];

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
}

/* The sandboxed side: enter, then try every way out. Never returns. */
void
sandboxed(const escape_env *env)
{
	tc_sandbox_info info;
	char		err[512];
	escape_leaks lk;

	lk.parent = getppid();
	lk.uid = getuid();
	lk.gid = getgid();
	lk.unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	lk.tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (pipe(lk.pipe_fd) != 0 || lk.unix_fd < 0 || lk.tcp_fd < 0)
		_exit(98);
	if (tc_sandbox_enter(env->input, env->outdir, TC_SANDBOX_REQUIRED, &info, err, sizeof(err)) != 0)
	{
		result(false, "entered the sandbox (%s)", err);
		_exit(1);
	}
	result(info.landlock && info.landlock_abi >= 1, "entered the sandbox: Landlock ABI %d in force, seccomp allowlist",
		   info.landlock_abi);
	controls(env);
	environment();
	network(env, &lk);
	signals(env, &lk);
	processes();
	files(env, &lk);
	memory(&lk);
	kernel(env);
	/* last: if this works, the parent is gone (main sees it) */
	refused("kill(getppid(), SIGKILL)", kill(lk.parent, SIGKILL));
	_exit(0);
}
