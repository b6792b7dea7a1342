/*
 * test_aws_xml.c — reading values out of S3's XML answers.
 */
#include "unit.h"
#include "aws.h"

void
test_aws_xml(void)
{
	char		v[128];

	CHECK(aws_xml_value("<r><UploadId>abc&amp;def</UploadId></r>", "UploadId", v, sizeof(v)));
	CHECK_STR(v, "abc&def");
	CHECK(aws_xml_value("<CompleteMultipartUploadResult><ETag>&quot;x-2&quot;</ETag></CompleteMultipartUploadResult>", "ETag", v, sizeof(v)));
	CHECK_STR(v, "\"x-2\"");
	CHECK(!aws_xml_value("<r><Code>NoSuchKey</Code></r>", "Message", v, sizeof(v)));
	CHECK(!aws_xml_value("<r><Code>unterminated", "Code", v, sizeof(v)));
	CHECK(aws_xml_value("<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>", "Message", v, 8));
	CHECK_STR(v, "Reduce ");	/* truncated to the buffer, terminated */
}
