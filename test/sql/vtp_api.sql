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
