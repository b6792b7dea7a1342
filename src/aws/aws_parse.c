/*
 * aws_parse.c — the AWS client's pure text parsing, each written once: values
 * out of S3's and STS's XML answers, ETags without their quotes, endpoint
 * URLs split into what a request needs, region names (no PostgreSQL, no
 * network; unit-tested in test/unit/test_aws_xml.c).
 */
#include "aws.h"

#include <stdio.h>
#include <string.h>

#include "vtp_assert.h"

bool
aws_xml_value(const char *xml, const char *tag, char *out, size_t outlen)
{
	char		open[128],
				close[130];
	const char *s,
			   *e;
	size_t		o = 0;

	if (xml == NULL || outlen == 0)
		return false;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = strstr(xml, open);
	if (s == NULL)
		return false;
	s += strlen(open);
	e = strstr(s, close);
	if (e == NULL)
		return false;
	while (s < e && o + 1 < outlen)
	{
		if (*s == '&')
		{
			static const struct
			{
				const char *ent;
				char		ch;
			}			ents[] = {{"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}, {"&#34;", '"'}, {"&#39;", '\''}};
			size_t		i;
			bool		done = false;

			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
				if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0)
				{
					out[o++] = ents[i].ch;
					s += strlen(ents[i].ent);
					done = true;
					break;
				}
			if (done)
				continue;
		}
		out[o++] = *s++;
	}
	out[o] = '\0';
	return true;
}

void
aws_endpoint_parse(const char *url, vbuf *base, vbuf *host)
{
	const char *hs = strstr(url, "://");
	size_t		n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	vbuf_append(base, url, n);
	hs = hs ? hs + 3 : url;
	vbuf_append(host, hs, strcspn(hs, "/"));
}

bool
aws_region_ok(const char *region)
{
	return region[0] != '\0' && strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(region);
}
