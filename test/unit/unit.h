/*
 * unit.h — the few macros vtp's plain C unit tests need.
 */
#ifndef VTP_UNIT_H
#define VTP_UNIT_H

#include <stdio.h>
#include <string.h>

extern int	unit_passed;
extern int	unit_failed;

#define CHECK(cond) do { \
	if (cond) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ && w_ && strcmp(g_, w_) == 0) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s\n  got:  %s\n  want: %s\n", \
		__FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } \
} while (0)

extern void test_json(void);
extern void test_s3event(void);
extern void test_sigv4(void);
extern void test_creds(void);
extern void test_creds_docs(void);
extern void test_creds_chain(void);
extern void test_ladder(void);
extern void test_aws_xml(void);
extern void test_names(void);
extern void test_bucket(void);
extern void test_report(void);
extern void test_backoff(void);
extern void test_upload_queue(void);
extern void test_runner_settings(void);

#endif
