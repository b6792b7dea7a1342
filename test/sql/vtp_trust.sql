-- Untrusted names (issue 10, items 4 and 5): vtp_enqueue refuses a bucket or
-- key it must not use with 22023 BEFORE any request. S3 is a closed port here,
-- so a check that came after the HEAD would answer 08006 instead.
-- (Invalid UTF-8 cannot reach a text argument in a UTF8 database: the key
-- rules for it are unit-tested, test/unit/test_bucket.c.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vtp;
RESET client_min_messages;
CREATE FUNCTION try(b text, k text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN vtp_enqueue(b, k)::text;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- a bucket that would carry another host into the signed request
SELECT try('attacker.example/x#', 'k');
SELECT try('127.0.0.1:9/x#', 'k');
-- S3's naming rules
SELECT try('Temp-Video-Bucket', 'k');
SELECT try('192.168.5.4', 'k');
SELECT try('xn--bucket', 'k');
SELECT try('a..b', 'k');
SELECT try('ab', 'k');
SELECT try(E'temp-video-bucket\r\nX-Injected: 1', 'k');
-- valid names that are not sources: vtp.source_buckets is empty here
SELECT try('attacker.example', 'k');
SELECT try('output-video-bucket', 'k');
-- keys: too long, control bytes (shown escaped)
SELECT try('temp-video-bucket', repeat('k', 1025));
SELECT try('temp-video-bucket', repeat(U&'\00E9', 513));
SELECT try('temp-video-bucket', E'uploads/a\x01b.mp4');
SELECT try('temp-video-bucket', E'uploads/a\r\nb.mp4');
SELECT try('temp-video-bucket', E'uploads/a\x7fb.mp4');
-- the full message, detail and hint of refusals
SELECT vtp_enqueue('attacker.example/x#', 'k');
SELECT vtp_enqueue('attacker.example', 'k');
SELECT vtp_enqueue('temp-video-bucket', E'uploads/\x1b[31mred');
-- a valid source still reaches S3 (the closed port)
SELECT try('temp-video-bucket', 'uploads/a.mp4');
SELECT count(*) FROM vtp_videos;
DROP FUNCTION try(text, text);

-- presigned URLs are refused for a stored rendition whose bucket is not valid
INSERT INTO vtp_videos (id, bucket, key, etag, status, output_bucket, output_key, published_at) VALUES
  ('00000000-0000-4000-8000-0000000000aa', 'temp-video-bucket', 'uploads/x.mp4', 'e1', 'Published',
   'attacker.example/x#', 'videos/x/', now());
INSERT INTO vtp_renditions (video_id, name, bucket, key, width, height, bytes, bitrate) VALUES
  ('00000000-0000-4000-8000-0000000000aa', '480p', 'attacker.example/x#', 'videos/x/480p.mp4', 854, 480, 100, 80);
SELECT count(*) FROM vtp_output_urls('00000000-0000-4000-8000-0000000000aa', '10 minutes');
DELETE FROM vtp_videos;

-- the bucket settings take only valid names
ALTER SYSTEM SET vtp.temp_bucket = 'attacker.example/x#';
ALTER SYSTEM SET vtp.output_bucket = 'Output';
ALTER SYSTEM SET vtp.source_buckets = 'media-archive, 10.0.0.1';
ALTER SYSTEM SET vtp.source_buckets = 'media-archive,';
SELECT name, setting, context FROM pg_settings WHERE name = 'vtp.source_buckets';
