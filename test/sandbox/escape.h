/*
 * escape.h — between the files of the sandbox escape test (escape.c: main
 * and the checks from outside; escape_attempts.c: the sandboxed side's
 * attempts; escape_helper.c: the helper run on a kernel without Landlock;
 * escape_tap.c: the TAP lines and the results' pipe).
 */
#ifndef VTP_ESCAPE_H
#define VTP_ESCAPE_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

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

/* The sandboxed child's end of the results' pipe, to main. */
extern int	escape_report_fd;

/* Main side: print one TAP line. */
extern void tap(bool ok, const char *desc);

/* Main side: how many TAP lines so far, how many of them "not ok". */
extern int	tap_count(void);
extern int	tap_failures(void);

/* Child side: send one result to main ("1 desc" or "0 desc"). */
extern void result(bool ok, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Child side: an escape attempt; rc < 0 means refused (good). */
extern void refused(const char *what, long rc);

/* The address of a Unix socket at path. */
extern void unix_addr(struct sockaddr_un *sun, const char *path);

/* Write a small file, or exit 2. */
extern void put_file(const char *path, const char *content);

/* The sandboxed side (escape_attempts.c): enter, then try every way out. Never returns. */
extern void sandboxed(const escape_env *env) __attribute__((noreturn));

/* With the helper's path: it refuses to run without Landlock unless told best_effort. */
extern void check_helper(const char *helper, const escape_env *env);

#endif
