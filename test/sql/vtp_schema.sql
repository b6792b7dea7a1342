-- The schema and its contract: names, statuses, uniqueness, defaults, grants.
CREATE EXTENSION vtp;
SELECT extname, extversion, extrelocatable FROM pg_extension WHERE extname = 'vtp';

SELECT column_name, data_type, is_nullable
  FROM information_schema.columns WHERE table_name = 'vtp_videos' ORDER BY ordinal_position;
SELECT column_name, data_type
  FROM information_schema.columns WHERE table_name = 'vtp_renditions' ORDER BY ordinal_position;
SELECT pg_catalog.enum_range(NULL::vtp_status);

-- a source object is recorded once per (bucket, key, ETag)
INSERT INTO vtp_videos (bucket, key, etag) VALUES ('b', 'uploads/a.mp4', 'e1');
INSERT INTO vtp_videos (bucket, key, etag) VALUES ('b', 'uploads/a.mp4', 'e1');
INSERT INTO vtp_videos (bucket, key, etag) VALUES ('b', 'uploads/a.mp4', 'e2');
\set VERBOSITY terse
INSERT INTO vtp_videos (bucket, key, etag) VALUES ('b', '', 'e3');
\set VERBOSITY default
INSERT INTO vtp_videos (bucket, key, etag, status) VALUES ('b', 'c', 'e', 'Done');
SELECT bucket, key, etag, status, attempts, output_key, task_sent_at IS NULL AS in_outbox
  FROM vtp_videos ORDER BY etag;

-- updated_at follows every change
UPDATE vtp_videos SET updated_at = '2000-01-01', status = 'Failed' WHERE etag = 'e2';
SELECT status, updated_at > '2000-01-01' AS touched FROM vtp_videos WHERE etag = 'e2';

-- renditions belong to a video and go with it
INSERT INTO vtp_renditions (video_id, name, bucket, key, width, height, bytes, bitrate)
  SELECT id, '480p', 'out', 'videos/x/480p.mp4', 854, 480, 1000, 800 FROM vtp_videos WHERE etag = 'e1';
DELETE FROM vtp_videos WHERE etag = 'e1';
SELECT count(*) FROM vtp_renditions;

SELECT status, videos FROM vtp_queue;

-- GUCs: contract defaults, validated values, no credentials among them
SHOW vtp.temp_bucket;
SHOW vtp.output_bucket;
SHOW vtp.renditions;
SHOW vtp.transcode_workers;
SET vtp.renditions = '720p';
ALTER SYSTEM SET vtp.renditions = 'hd';
ALTER SYSTEM SET vtp.renditions = '721p';
ALTER SYSTEM SET vtp.x264_preset = 'turbo';
SELECT name FROM pg_settings WHERE name LIKE 'vtp.%' AND (name ~ 'secret|access_key|password|token') ORDER BY 1;
SELECT count(*) >= 20 AS documented FROM pg_settings WHERE name LIKE 'vtp.%' AND short_desc <> '';

-- privileges: nothing for PUBLIC; pg_monitor may watch
CREATE ROLE regress_vtp_user;
SET ROLE regress_vtp_user;
SELECT count(*) FROM vtp_videos;
SELECT vtp_enqueue('b', 'k');
RESET ROLE;
SELECT has_table_privilege('pg_monitor', 'vtp_videos', 'SELECT') AS monitor_reads,
       has_function_privilege('regress_vtp_user', 'vtp_enqueue(text,text)', 'EXECUTE') AS public_enqueues;
DROP ROLE regress_vtp_user;
SELECT obj_description('vtp_enqueue(text,text)'::regprocedure) IS NOT NULL AS commented;
DELETE FROM vtp_videos;
