/*
 * aws_int.h — what aws.c (one request, its retries) takes from aws_error.c
 * (what a failed attempt means); aws.h is the outside view (no PostgreSQL).
 */
#ifndef VTP_AWS_INT_H
#define VTP_AWS_INT_H

#include "aws.h"

/* err from a non-2xx answer: the AWS error body decoded, transient for throttling and 5xx. */
extern void aws_error_from_http(const aws_request *req, aws_response *resp, aws_error *err);

/* err from a libcurl failure (a CURLcode): NetworkError, transient when a retry may help. */
extern void aws_error_from_curl(const aws_request *req, int curl_code, aws_error *err);

/*
 * Whether AWS says the (temporary) credentials have expired. A HEAD's 400 has
 * no body to say why: with temporary credentials, that is the likely one.
 */
extern bool aws_error_creds_expired(const aws_request *req, const aws_error *err);

#endif
