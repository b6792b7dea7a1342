/*
 * fuzz_s3event.c — libFuzzer target: the S3 event notification parser on
 * arbitrary message bodies (what anyone who can write to the events queue
 * controls). Checks what it returns, not only that it survives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/s3event.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	s3_event	ev;
	char		err[256];
	char	   *key;
	int			i;

	if (s3event_parse((const char *) data, size, &ev, err, sizeof(err)) == 0)
	{
		if (ev.kind == S3EV_RECORDS)
			for (i = 0; i < ev.nrecords; i++)
			{
				/* every record names a bucket and a non-empty key without NUL */
				if (ev.records[i].bucket == NULL || ev.records[i].key == NULL || ev.records[i].key[0] == '\0' ||
					ev.records[i].etag == NULL || ev.records[i].sequencer == NULL)
					abort();
				(void) s3_sequencer_cmp(ev.records[i].sequencer, "0062E99A88DC407460");
			}
		s3event_free(&ev);
	}
	else if (err[0] == '\0')
		abort();				/* a refusal always says why */

	/* the key decoder on its own */
	{
		char	   *s = malloc(size + 1);

		memcpy(s, data, size);
		s[size] = '\0';
		key = s3_key_decode(s);
		if (key && strlen(key) > strlen(s))
			abort();			/* decoding never grows a key */
		free(key);
		free(s);
	}
	return 0;
}
