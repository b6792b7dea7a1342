/*
 * s3put.c — benchmark helper: upload FILE straight to S3 with vtp's client
 * (multipart, PART_MB parts), the way a client with an SDK would, and print
 * wall and CPU seconds. The baseline for the upload server's throughput.
 *
 *   s3put ENDPOINT BUCKET KEY FILE PART_MB
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "aws.h"
#include "creds.h"

int
main(int argc, char **argv)
{
	aws_client	c;
	aws_error	err;
	char		cerr[256];
	struct timespec t0,
				t1;
	struct rusage ru;

	if (argc != 6)
	{
		fprintf(stderr, "usage: s3put ENDPOINT BUCKET KEY FILE PART_MB\n");
		return 2;
	}
	aws_client_defaults(&c);
	vtp_strlcpy(c.s3_endpoint, argv[1], sizeof(c.s3_endpoint));
	c.part_size = (size_t) atoi(argv[5]) * 1024 * 1024;
	if (aws_creds_load("default", &c.creds, cerr, sizeof(cerr)) != 0)
	{
		fprintf(stderr, "s3put: %s\n", cerr);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s3_put_file(&c, argv[2], argv[3], argv[4], "application/octet-stream", &err) != 0)
	{
		fprintf(stderr, "s3put: %s (%s)\n", err.message, err.code);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("%.3f %.3f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		   ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	aws_client_cleanup(&c);
	return 0;
}
