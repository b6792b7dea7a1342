/*
 * main.c — runs every unit test group and prints "N passed, M failed".
 */
#include "unit.h"

int			unit_passed = 0;
int			unit_failed = 0;

int
main(void)
{
	test_json();
	test_s3event();
	test_sigv4();
	test_creds();
	test_creds_docs();
	test_creds_chain();
	test_ladder();
	test_aws_xml();
	test_names();
	test_bucket();
	test_report();
	test_backoff();
	test_upload_queue();
	test_runner_settings();
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
