/*
 * fuzz_s3event.c — libFuzzer target: the S3 event notification parser on
 * arbitrary message bodies (what anyone who can write to the events queue
 * controls). Checks what it returns, not only that it survives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "s3event.h"

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
				const s3_record *r = &ev.records[i];

				/* every record passed every field check */
				if (r->bucket == NULL || r->key == NULL || r->etag == NULL || r->sequencer == NULL ||
					vtp_bucket_name_error(r->bucket) != NULL || vtp_key_error(r->key, strlen(r->key)) != NULL ||
					strspn(r->etag, "0123456789abcdefABCDEF-") != strlen(r->etag) ||
					strlen(r->etag) > S3EVENT_MAX_ETAG ||
					strspn(r->sequencer, "0123456789abcdefABCDEF") != strlen(r->sequencer) ||
					strlen(r->sequencer) > S3EVENT_MAX_SEQUENCER || r->size < -1 || r->size > S3EVENT_MAX_SIZE)
					abort();
				(void) s3_sequencer_cmp(r->sequencer, "0062E99A88DC407460");
			}
		/* a refusal's reason is one log-safe line */
		for (i = 0; i < ev.nrejected; i++)
		{
			const unsigned char *c;

			for (c = (const unsigned char *) ev.rejected[i].reason; *c; c++)
				if (*c < 0x20 || *c == 0x7F)
					abort();
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
