-- A DBA's actions and views (no workers serve this database; S3 is a closed port).
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE q INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

INSERT INTO vtp_videos (id, bucket, key, etag, status, output_bucket, output_key, published_at) VALUES
  ('00000000-0000-4000-8000-000000000001', 'temp-video-bucket', 'uploads/published.mp4', 'e1', 'Published',
   'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/', now());
INSERT INTO vtp_renditions (video_id, name, bucket, key, width, height, bytes, bitrate) VALUES
  ('00000000-0000-4000-8000-000000000001', '480p', 'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/480p.mp4', 854, 480, 100, 80),
  ('00000000-0000-4000-8000-000000000001', '720p', 'output-video-bucket', 'videos/00000000-0000-4000-8000-000000000001/720p.mp4', 1280, 720, 200, 160);
INSERT INTO vtp_videos (id, bucket, key, etag, status) VALUES
  ('00000000-0000-4000-8000-000000000002', 'temp-video-bucket', 'uploads/pending.mp4', 'e2', 'Pending');
INSERT INTO vtp_videos (id, bucket, key, etag, status, error_code, error, attempts) VALUES
  ('00000000-0000-4000-8000-000000000003', 'temp-video-bucket', 'uploads/failed.mp4', 'e3', 'Failed', 'too_long', 'duration 9000 s exceeds the limit', 1),
  ('00000000-0000-4000-8000-000000000004', 'other-bucket', 'their/own.mp4', 'e4', 'Failed', 'unreadable', 'not a video', 1);
UPDATE vtp_videos SET source_deleted_at = now() WHERE id = '00000000-0000-4000-8000-000000000003';

-- errors name the problem, with SQLSTATEs
SELECT try($$SELECT vtp_retry('00000000-0000-4000-8000-00000000ffff')$$);
SELECT try($$SELECT vtp_cancel('00000000-0000-4000-8000-00000000ffff')$$);
SELECT try($$SELECT vtp_delete('00000000-0000-4000-8000-00000000ffff')::text$$);
SELECT try($$SELECT vtp_retry('00000000-0000-4000-8000-000000000001')$$);
SELECT try($$SELECT vtp_cancel('00000000-0000-4000-8000-000000000001')$$);
SELECT try($$SELECT vtp_retry('00000000-0000-4000-8000-000000000003')$$);
-- a retry looks the original up in S3 first (unreachable here)
SELECT left(try($$SELECT vtp_retry('00000000-0000-4000-8000-000000000004')$$), 5) AS unreachable;
SELECT status FROM vtp_videos WHERE id = '00000000-0000-4000-8000-000000000004';

-- cancel a Pending video: Failed, reason cancelled, returns what it was
SELECT vtp_cancel('00000000-0000-4000-8000-000000000002');
SELECT status, error_code, error LIKE 'cancelled by %' AS says_who, failed_at IS NOT NULL AS failed_at
  FROM vtp_videos WHERE id = '00000000-0000-4000-8000-000000000002';
SELECT try($$SELECT vtp_cancel('00000000-0000-4000-8000-000000000002')$$);

-- the failures view, newest first
SELECT key, status, reason, attempts, retrying, original_kept FROM vtp_failures ORDER BY key;

-- delete: the row now; the objects through the trash (renditions, and the
-- original only from the temp bucket and only while vtp keeps it)
SELECT vtp_delete('00000000-0000-4000-8000-000000000001');
SELECT vtp_delete('00000000-0000-4000-8000-000000000004');
SELECT count(*) FROM vtp_videos WHERE id IN ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000004');
SELECT count(*) FROM vtp_renditions;
SELECT bucket, key, etag, reason FROM vtp_trash ORDER BY key;
-- a rolled-back delete leaves no trash and keeps the row
BEGIN;
SELECT vtp_delete('00000000-0000-4000-8000-000000000002');
ROLLBACK;
SELECT count(*) FROM vtp_videos WHERE id = '00000000-0000-4000-8000-000000000002';
SELECT count(*) FROM vtp_trash;

-- the queue view's columns; the workers view (shared memory)
SELECT status, videos, last_hour, median_latency_last_hour IS NULL AS no_latency FROM vtp_queue;
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'vtp_workers' ORDER BY ordinal_position;

-- privileges: actions are the DBA's to grant; pg_monitor may watch
CREATE ROLE regress_vtp_user;
SET ROLE regress_vtp_user;
SELECT try($$SELECT vtp_cancel('00000000-0000-4000-8000-000000000002')$$);
SELECT try($$SELECT count(*)::text FROM vtp_workers$$);
RESET ROLE;
SELECT f, has_function_privilege('regress_vtp_user', f, 'EXECUTE') AS public_can
  FROM unnest(ARRAY['vtp_retry(uuid)', 'vtp_cancel(uuid)', 'vtp_delete(uuid)', 'vtp_worker_status()']) f;
SELECT v, has_table_privilege('pg_monitor', v, 'SELECT') AS monitor_reads
  FROM unnest(ARRAY['vtp_queue', 'vtp_workers', 'vtp_failures', 'vtp_trash', 'vtp_videos']) v;
SELECT has_function_privilege('pg_monitor', 'vtp_worker_status()', 'EXECUTE') AS monitor_sees_workers;
GRANT pg_monitor TO regress_vtp_user;
SET ROLE regress_vtp_user;
SELECT try($$SELECT count(*)::text FROM vtp_workers WHERE pid <= 0$$) AS monitor_query;
RESET ROLE;
DROP ROLE regress_vtp_user;
SELECT p.proname, obj_description(p.oid) IS NOT NULL AS commented FROM pg_proc p
 WHERE p.proname IN ('vtp_retry', 'vtp_cancel', 'vtp_delete', 'vtp_worker_status') ORDER BY 1;
-- the extension's schema is looked up once per transaction, and looked up
-- again when the extension moves, even within that transaction
CREATE SCHEMA vtp_elsewhere;
BEGIN;
SELECT try($$SELECT vtp_cancel('00000000-0000-4000-8000-00000000ffff')$$);
DROP EXTENSION vtp;
CREATE EXTENSION vtp SCHEMA vtp_elsewhere;
INSERT INTO vtp_elsewhere.vtp_videos (id, bucket, key, etag, status) VALUES
  ('00000000-0000-4000-8000-000000000005', 'temp-video-bucket', 'uploads/elsewhere.mp4', 'e5', 'Pending');
SELECT vtp_elsewhere.vtp_cancel('00000000-0000-4000-8000-000000000005');
SELECT status FROM vtp_elsewhere.vtp_videos WHERE id = '00000000-0000-4000-8000-000000000005';
ROLLBACK;
SELECT try($$SELECT vtp_cancel('00000000-0000-4000-8000-00000000ffff')$$);
DROP SCHEMA vtp_elsewhere;
DELETE FROM vtp_trash;
DELETE FROM vtp_videos;
DROP FUNCTION try(text);
