/*
 * aws_glue.h — the AWS client inside PostgreSQL processes: its GUCs, its
 * set-up from them with the credential chain, transfers that stop on
 * cancel/shutdown, and AWS errors as ereport with a SQLSTATE (aws_glue.c).
 */
#ifndef VTP_AWS_GLUE_H
#define VTP_AWS_GLUE_H

#include "postgres.h"

#include "aws.h"

/* vtp.s3_part_size, in MB (the upload endpoint bounds its uploads by it). */
extern int	vtp_part_size_mb;

typedef enum vtp_abort_mode
{
	VTP_ABORT_ON_INTERRUPT,		/* query cancel / shutdown */
	VTP_ABORT_NEVER				/* short clean-up calls during shutdown */
} vtp_abort_mode;

/* Define the AWS client's GUCs (from _PG_init). */
extern void vtp_aws_init(void);

/* As vtp_aws_try_setup, but ERROR (28000) without credentials. */
extern void vtp_aws_setup(aws_client *c);

/* Fill c from the GUCs and load credentials; false with the reason (never a secret) in err. */
extern bool vtp_aws_try_setup(aws_client *c, char *err, size_t errlen);

/* Log once per change where this process's credentials come from (never a key). Main thread only. */
extern void vtp_aws_note_credentials(void);

/* Whether transfers stop on query cancel and shutdown (VTP_ABORT_NEVER for clean-up during shutdown). */
extern void vtp_aws_set_abort_mode(vtp_abort_mode m);

/* ereport an AWS error at elevel with its SQLSTATE; what says what was being done. */
extern void vtp_aws_ereport(int elevel, const aws_error *err, const char *what);

/* The SQLSTATE of an AWS error (cancelled, 404, 403, transient, other). */
extern int	vtp_aws_sqlstate(const aws_error *err);

/* HEAD an object from a SQL function: false if it does not exist; another failure is an ERROR. */
extern bool vtp_sql_head(const char *bucket, const char *key, s3_object_info *info, const char *what);

#endif
