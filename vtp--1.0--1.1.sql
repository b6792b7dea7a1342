\echo Use "ALTER EXTENSION vtp UPDATE TO '1.1'" to load this file. \quit

-- vtp 1.1: operations (views, actions) and reliability (reconciler, trash).
-- Released scripts are never edited: what changes after 1.1 goes to
-- vtp--1.1--1.2.sql.

-- When a video failed, and when its original left the temp bucket.
ALTER TABLE @extschema@.vtp_videos
  ADD COLUMN failed_at timestamptz,
  ADD COLUMN source_deleted_at timestamptz;
COMMENT ON COLUMN @extschema@.vtp_videos.failed_at IS 'When the video became Failed';
COMMENT ON COLUMN @extschema@.vtp_videos.source_deleted_at IS
  'When the original was removed from the temp bucket (once Published, after vtp.failed_retention, or by vtp_delete); NULL while it is kept';

-- what 1.0 left: Published originals were deleted by the worker, Failed ones kept
ALTER TABLE @extschema@.vtp_videos DISABLE TRIGGER vtp_videos_touch;
UPDATE @extschema@.vtp_videos SET failed_at = updated_at WHERE status = 'Failed';
UPDATE @extschema@.vtp_videos SET source_deleted_at = published_at WHERE status = 'Published';
ALTER TABLE @extschema@.vtp_videos ENABLE TRIGGER vtp_videos_touch;

CREATE OR REPLACE FUNCTION @extschema@.vtp_touch() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.updated_at := pg_catalog.now();
  IF NEW.status = 'Failed' AND OLD.status IS DISTINCT FROM 'Failed' THEN
    NEW.failed_at := pg_catalog.now();
  ELSIF NEW.status <> 'Failed' THEN
    NEW.failed_at := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE INDEX vtp_videos_failed ON @extschema@.vtp_videos (failed_at) WHERE status = 'Failed';
CREATE INDEX vtp_videos_published ON @extschema@.vtp_videos (published_at) WHERE status = 'Published';
CREATE INDEX vtp_videos_object ON @extschema@.vtp_videos (bucket, key);
CREATE INDEX vtp_renditions_object ON @extschema@.vtp_renditions (bucket, key);

-- S3 objects to delete once the transaction that made them garbage commits
-- (an outbox, like the tasks'): the reconciler deletes each one only if no
-- live row still refers to it, then forgets it.
CREATE TABLE @extschema@.vtp_trash (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bucket      text NOT NULL,
  key         text NOT NULL,
  etag        text,
  video_id    uuid,
  reason      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  tries       integer NOT NULL DEFAULT 0,
  next_try_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_error  text
);
CREATE INDEX vtp_trash_due ON @extschema@.vtp_trash (next_try_at);
COMMENT ON TABLE @extschema@.vtp_trash IS
  'S3 objects waiting to be deleted by the reconciler (etag: only that version); an object a live video still uses is never deleted';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.vtp_trash', '');

-- A DBA's view of the pipeline, now with the last hour's throughput and latency.
CREATE OR REPLACE VIEW @extschema@.vtp_queue AS
  SELECT s.status,
         pg_catalog.count(v.id) AS videos,
         pg_catalog.min(v.created_at) AS oldest,
         pg_catalog.now() - pg_catalog.min(v.created_at) AS oldest_age,
         pg_catalog.count(v.id) FILTER (WHERE e.entered_at > pg_catalog.now() - interval '1 hour') AS last_hour,
         pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY e.entered_at - v.created_at)
           FILTER (WHERE e.entered_at > pg_catalog.now() - interval '1 hour' AND s.status <> 'Pending')
           AS median_latency_last_hour
    FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.vtp_status)) AS s(status)
    LEFT JOIN @extschema@.vtp_videos v ON v.status = s.status
    LEFT JOIN LATERAL (SELECT CASE v.status WHEN 'Pending' THEN v.created_at
                                            WHEN 'Processing' THEN v.started_at
                                            WHEN 'Published' THEN v.published_at
                                            ELSE v.failed_at END AS entered_at) e ON true
   GROUP BY s.status ORDER BY s.status;
COMMENT ON VIEW @extschema@.vtp_queue IS
  'Videos per status: count, oldest and its age; last_hour: how many entered the status in the last hour (Published: throughput); median_latency_last_hour: from registration to entering it (Processing: the wait for a worker)';

-- Live workers, from shared memory.
CREATE FUNCTION @extschema@.vtp_worker_status(
  OUT pid integer, OUT role text, OUT name text, OUT state text, OUT video_id uuid, OUT attempt integer,
  OUT progress real, OUT child_pid integer, OUT started_at timestamptz, OUT state_since timestamptz,
  OUT last_heartbeat timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vtp_worker_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.vtp_worker_status() IS 'One row per running vtp background worker (shared memory)';

CREATE VIEW @extschema@.vtp_workers AS SELECT * FROM @extschema@.vtp_worker_status();
COMMENT ON VIEW @extschema@.vtp_workers IS
  'One row per vtp worker: pid, role, state, the video and attempt it works on, progress, its transcoder''s pid, when it started, entered its state and last renewed its lease';

CREATE VIEW @extschema@.vtp_failures AS
  SELECT v.id, v.bucket, v.key, v.status, v.error_code AS reason, v.error, v.attempts,
         COALESCE(v.failed_at, v.updated_at) AS failed_at,
         v.status = 'Pending' AS retrying,
         v.status = 'Failed' AND v.source_deleted_at IS NULL AS original_kept
    FROM @extschema@.vtp_videos v
   WHERE v.status = 'Failed' OR (v.status = 'Pending' AND v.error_code IS NOT NULL)
   ORDER BY COALESCE(v.failed_at, v.updated_at) DESC;
COMMENT ON VIEW @extschema@.vtp_failures IS
  'Failed videos, and Pending ones whose last attempt failed (retrying), newest first, with reason code, message and attempts; original_kept: vtp_retry can run';

-- Actions.
CREATE FUNCTION @extschema@.vtp_retry(video_id uuid) RETURNS @extschema@.vtp_status
AS 'MODULE_PATHNAME', 'vtp_retry'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_retry(uuid) IS
  'A Failed video back to Pending with fresh attempts, from its kept original (checked in S3); its task is sent at commit';

CREATE FUNCTION @extschema@.vtp_cancel(video_id uuid) RETURNS @extschema@.vtp_status
AS 'MODULE_PATHNAME', 'vtp_cancel'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_cancel(uuid) IS
  'Cancel a Pending or Processing video: Failed with reason cancelled; a running transcode stops at commit and its scratch and uploads are removed; the original is kept for vtp_retry. Returns the status it had.';

CREATE FUNCTION @extschema@.vtp_delete(video_id uuid) RETURNS void
AS 'MODULE_PATHNAME', 'vtp_delete'
LANGUAGE C STRICT VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.vtp_delete(uuid) IS
  'Remove a video: its row and renditions now, its objects (renditions and original) from S3 after commit; a running transcode is stopped';

REVOKE ALL ON @extschema@.vtp_trash, @extschema@.vtp_workers, @extschema@.vtp_failures FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_worker_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_retry(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_cancel(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_delete(uuid) FROM PUBLIC;
GRANT SELECT ON @extschema@.vtp_queue, @extschema@.vtp_workers, @extschema@.vtp_failures, @extschema@.vtp_trash TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.vtp_worker_status() TO pg_monitor;
