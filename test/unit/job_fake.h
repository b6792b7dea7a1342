/*
 * job_fake.h — the fake host job_live.c drives the job engine with: what it
 * was asked, in memory, and how it answers (job_fake.c).
 */
#ifndef VTP_JOB_FAKE_H
#define VTP_JOB_FAKE_H

#include "job.h"

#define TEMP "temp-video-bucket"
#define OUTPUT "output-video-bucket"

/* What the fake host was asked, and how it answers. */
typedef struct fake
{
	/* the answers */
	bool		exists;			/* the video is there to claim */
	char		key[256];		/* its source */
	bool		lose_when_uploading;	/* the lease is lost once an upload begins */
	bool		stop_when_transcoding;	/* the host stops once the helper runs */
	bool		lose_at_publish;	/* the lease is lost just before the publish */
	/* what happened */
	bool		lease_lost;
	bool		cancel;
	bool		stopping;
	char		seq[4096];		/* calls, in order: "claim progress facts publish ..." */
	int			claims;
	int			renewals;
	int			published;
	int			published_nr;
	int			failed;
	char		fail_code[64];
	int			released;
	char		release_code[64];
	bool		release_refund;
	int			trashed;
	char		trash_why[32];
	int			source_deleted;
	char		last_warning[2048];
	char		logs[16384];	/* every line logged */
} fake;

extern fake F;
extern job_settings settings;
extern job_host host;

/* The settings of every case: this queue, this helper, scratch under this directory. */
extern void fake_set_up(const char *queue, const char *helper, const char *scratch);

/* A fresh fake whose video exists, its source at key in the temp bucket. */
extern void fake_reset(const char *key);

#endif
