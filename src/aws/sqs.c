/*
 * sqs.c — SQS calls in the AWS JSON 1.0 protocol: SendMessage,
 * ReceiveMessage (long poll, ApproximateReceiveCount), DeleteMessage,
 * ChangeMessageVisibility (no PostgreSQL). Requests go to the configured
 * endpoint with the queue URL in the body, never to the URL's host.
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int
sqs_call(aws_client *c, const char *action, const char *body, long extra_timeout_ms,
		 aws_response *resp, aws_error *err)
{
	aws_request r;
	vbuf		base = VBUF_INIT,
				host = VBUF_INIT,
				target = VBUF_INIT;
	int			rc;
	char		aws_url[128];

	snprintf(aws_url, sizeof(aws_url), "https://sqs.%s.amazonaws.com", c->region);
	aws_endpoint_parse(c->sqs_endpoint[0] ? c->sqs_endpoint : aws_url, &base, &host);
	vbuf_printf(&target, "AmazonSQS.%s", action);

	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.service = "sqs";
	r.base = base.data;
	r.host = host.data;
	r.path = "/";
	r.content_type = "application/x-amz-json-1.0";
	r.amz_target = target.data;
	r.body = body;
	r.body_len = strlen(body);
	r.out_fd = -1;
	r.extra_timeout_ms = extra_timeout_ms;
	rc = aws_perform(c, &r, resp, err);
	vbuf_free(&base);
	vbuf_free(&host);
	vbuf_free(&target);
	return rc;
}

static int
simple_call(aws_client *c, const char *action, vbuf *body, aws_error *err)
{
	aws_response resp;
	int			rc;

	memset(&resp, 0, sizeof(resp));
	rc = sqs_call(c, action, body->data, 0, &resp, err);
	aws_response_free(&resp);
	vbuf_free(body);
	return rc;
}

int
sqs_send(aws_client *c, const char *queue_url, const char *body, aws_error *err)
{
	vbuf		b = VBUF_INIT;

	vbuf_puts(&b, "{\"QueueUrl\":");
	vbuf_json_string(&b, queue_url);
	vbuf_puts(&b, ",\"MessageBody\":");
	vbuf_json_string(&b, body);
	vbuf_putc(&b, '}');
	return simple_call(c, "SendMessage", &b, err);
}

/* {"QueueUrl":…,"ReceiptHandle":…  (the caller closes the object) */
static void
receipt_body(vbuf *b, const char *queue_url, const char *receipt)
{
	vbuf_puts(b, "{\"QueueUrl\":");
	vbuf_json_string(b, queue_url);
	vbuf_puts(b, ",\"ReceiptHandle\":");
	vbuf_json_string(b, receipt);
}

int
sqs_delete(aws_client *c, const char *queue_url, const char *receipt, aws_error *err)
{
	vbuf		b = VBUF_INIT;

	receipt_body(&b, queue_url, receipt);
	vbuf_putc(&b, '}');
	return simple_call(c, "DeleteMessage", &b, err);
}

int
sqs_change_visibility(aws_client *c, const char *queue_url, const char *receipt, int seconds,
					  aws_error *err)
{
	vbuf		b = VBUF_INIT;

	receipt_body(&b, queue_url, receipt);
	vbuf_printf(&b, ",\"VisibilityTimeout\":%d}", seconds);
	return simple_call(c, "ChangeMessageVisibility", &b, err);
}

int
sqs_receive(aws_client *c, const char *queue_url, int max, int wait_seconds, int visibility_seconds,
			sqs_message **msgs, int *nmsgs, aws_error *err)
{
	vbuf		b = VBUF_INIT;
	aws_response resp;
	json_value *doc;
	const json_value *list,
			   *m;
	int			n = 0,
				rc;
	char		jerr[128];

	*msgs = NULL;
	*nmsgs = 0;
	vbuf_puts(&b, "{\"QueueUrl\":");
	vbuf_json_string(&b, queue_url);
	vbuf_printf(&b, ",\"MaxNumberOfMessages\":%d,\"WaitTimeSeconds\":%d", max, wait_seconds);
	if (visibility_seconds >= 0)
		vbuf_printf(&b, ",\"VisibilityTimeout\":%d", visibility_seconds);
	vbuf_puts(&b, ",\"MessageSystemAttributeNames\":[\"ApproximateReceiveCount\"]"
			  ",\"AttributeNames\":[\"ApproximateReceiveCount\"]}");
	memset(&resp, 0, sizeof(resp));
	rc = sqs_call(c, "ReceiveMessage", b.data, wait_seconds * 1000L, &resp, err);
	vbuf_free(&b);
	if (rc != 0)
	{
		aws_response_free(&resp);
		return rc;
	}
	doc = json_parse(vbuf_str(&resp.body), resp.body.len, jerr, sizeof(jerr));
	aws_response_free(&resp);
	if (doc == NULL)
	{
		aws_error_set(err, 0, "BadResponse", true, "ReceiveMessage answer is not JSON: %s", jerr);
		return -1;
	}
	list = json_get(doc, "Messages");
	if (list && list->type == JSON_ARRAY)
	{
		for (m = list->child; m; m = m->next)
			n++;
		*msgs = calloc((size_t) (n ? n : 1), sizeof(sqs_message));
		if (*msgs == NULL)
			abort();
		n = 0;
		for (m = list->child; m; m = m->next)
		{
			sqs_message *o = &(*msgs)[n];
			int64_t		cnt = 0;

			if (json_get_str(m, "ReceiptHandle") == NULL)
				continue;
			o->message_id = vtp_strdup(json_get_str(m, "MessageId"));
			o->receipt_handle = vtp_strdup(json_get_str(m, "ReceiptHandle"));
			o->body = vtp_strdup(json_get_str(m, "Body"));
			o->receive_count = json_get_int(json_get(m, "Attributes"), "ApproximateReceiveCount", 0, INT32_MAX, &cnt)
				? (int) cnt : 0;
			n++;
		}
	}
	*nmsgs = n;
	json_free(doc);
	return 0;
}

void
sqs_messages_free(sqs_message *msgs, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		free(msgs[i].message_id);
		free(msgs[i].receipt_handle);
		free(msgs[i].body);
	}
	free(msgs);
}

json_value *
sqs_get_attributes(aws_client *c, const char *queue_url, aws_error *err)
{
	vbuf		b = VBUF_INIT;
	aws_response resp;
	json_value *doc,
			   *attrs = NULL,
			  **pp;

	vbuf_puts(&b, "{\"QueueUrl\":");
	vbuf_json_string(&b, queue_url);
	vbuf_puts(&b, ",\"AttributeNames\":[\"All\"]}");
	memset(&resp, 0, sizeof(resp));
	if (sqs_call(c, "GetQueueAttributes", b.data, 0, &resp, err) != 0)
	{
		vbuf_free(&b);
		aws_response_free(&resp);
		return NULL;
	}
	vbuf_free(&b);
	doc = json_parse(vbuf_str(&resp.body), resp.body.len, NULL, 0);
	aws_response_free(&resp);
	/* detach "Attributes" from the document */
	for (pp = doc ? &doc->child : NULL; pp && *pp; pp = &(*pp)->next)
		if ((*pp)->key && strcmp((*pp)->key, "Attributes") == 0 && (*pp)->type == JSON_OBJECT)
		{
			attrs = *pp;
			*pp = attrs->next;
			attrs->next = NULL;
			break;
		}
	json_free(doc);
	if (attrs == NULL)
	{
		aws_error_set(err, 0, "BadResponse", true, "GetQueueAttributes answered without Attributes");
	}
	return attrs;
}
