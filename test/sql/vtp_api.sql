-- vtp_enqueue's error paths, with SQLSTATEs (S3 is a closed port here).
CREATE FUNCTION try(b text, k text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN vtp_enqueue(b, k)::text;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT vtp_enqueue(NULL, 'k') IS NULL AS strict_null;
SELECT try('', 'uploads/a.mp4');
SELECT try('temp-video-bucket', '');
SELECT try(repeat('b', 64), 'k');
SELECT try('temp-video-bucket', repeat('k', 1025));
SELECT try('temp-video-bucket', 'uploads/a.mp4');
-- nothing was registered by the failures
SELECT count(*) FROM vtp_videos;
DROP FUNCTION try(text, text);

-- upload tokens: shown once, stored as SHA-256, names unique while live
SELECT length(vtp_create_token('app')) AS token_length;
SELECT name, length(token_sha256) AS hash_length, revoked_at IS NULL AS live FROM vtp_tokens;
SELECT vtp_create_token('app');
SELECT vtp_create_token('');
SELECT vtp_revoke_token('app');
SELECT vtp_revoke_token('app');
SELECT length(vtp_create_token('app')) AS token_length_again;
SELECT name, revoked_at IS NULL AS live FROM vtp_tokens ORDER BY live;

-- presigned URLs: made offline, for keys vtp makes
SELECT url LIKE 'http://127.0.0.1:9/temp-video-bucket/uploads/' || video_id || '/my_clip_1_.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDREGRESSEXAMPLE%2F________%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=%&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=%' AS presigned_put,
       expires_at - now() BETWEEN interval '9 minutes' AND interval '11 minutes' AS expires
  FROM vtp_create_upload('../my clip (1).mp4', '10 minutes');
SELECT url LIKE '%/uploads/' || video_id || '/upload?%' AS unnamed FROM vtp_create_upload();
SELECT vtp_create_upload('x', '0 seconds');
SELECT vtp_create_upload('x', '8 days');
SELECT count(*) FROM vtp_output_urls('00000000-0000-4000-8000-000000000000');
-- which provider of the credential chain answers (never a key)
SELECT provider, detail ~ '^profile regress in .*/test/regress-credentials$' AS from_the_file,
       expires_at, error FROM vtp_aws_credentials();
SELECT count(*) FROM vtp_aws_credentials() r WHERE r::text ~ 'AKIDREGRES';
-- a presigned upload of a known size signs its Content-Length; S3's 5 GiB bound
SELECT url ~ 'X-Amz-SignedHeaders=content-length%3Bhost' AS length_signed FROM vtp_create_upload('a.mp4', '1 hour', 1000);
SELECT url ~ 'X-Amz-SignedHeaders=host&' AS host_only FROM vtp_create_upload('a.mp4', '1 hour', NULL);
SELECT vtp_create_upload('a.mp4', '1 hour', 0);
SELECT vtp_create_upload('a.mp4', '1 hour', 5368709121);
