-- The upgrade path: version 1.0 with data in it, ALTER EXTENSION vtp UPDATE,
-- and the data is intact, migrated, and served by the new objects; then the
-- upgraded schema is compared with a fresh install of the same version.
CREATE EXTENSION vtp VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'vtp';
INSERT INTO vtp_videos (bucket, key, etag, status, error_code, error, attempts, updated_at)
  VALUES ('temp-video-bucket', 'uploads/failed.mp4', 'e1', 'Failed', 'unreadable', 'not a video', 1, '2026-11-01 10:00+00');
INSERT INTO vtp_videos (bucket, key, etag, status, output_bucket, output_key, attempts, published_at)
  VALUES ('temp-video-bucket', 'uploads/done.mp4', 'e2', 'Published', 'output-video-bucket', 'videos/x/', 1, '2026-11-02 10:00+00');
INSERT INTO vtp_videos (bucket, key, etag) VALUES ('temp-video-bucket', 'uploads/waiting.mp4', 'e3');
INSERT INTO vtp_renditions (video_id, name, bucket, key, width, height, bytes, bitrate)
  SELECT id, '480p', 'output-video-bucket', 'videos/x/480p.mp4', 854, 480, 1000, 800 FROM vtp_videos WHERE etag = 'e2';
SELECT length(vtp_create_token('app')) AS token_length;

ALTER EXTENSION vtp UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'vtp';
-- 1.0's rows, with what 1.1, 1.2 and 1.3 know about them
SELECT key, status, attempts, error_code, failed_at = '2026-11-01 10:00+00' AS failed_at_kept,
       source_deleted_at IS NOT NULL AS original_removed, updated_at > '2026-11-01 10:00+00' AS touched
  FROM vtp_videos ORDER BY key;
SELECT name, key FROM vtp_renditions;
SELECT name, revoked_at IS NULL AS live FROM vtp_tokens;
-- the new views over old data
SELECT status, videos FROM vtp_queue;
SELECT key, status, reason, attempts, retrying, original_kept FROM vtp_failures;
SELECT count(*) FROM vtp_trash;

-- an upgraded database has exactly the objects of a fresh one: every
-- member, column, index, view and function definition
CREATE FUNCTION pg_temp.vtp_objects() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
   WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vtp')
  UNION ALL SELECT format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default)
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'vtp\_%'
  UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename LIKE 'vtp\_%'
  UNION ALL SELECT viewname || ': ' || definition FROM pg_views WHERE schemaname = 'public' AND viewname LIKE 'vtp\_%'
  UNION ALL SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname LIKE 'vtp\_%' AND p.prokind = 'f'
  UNION ALL SELECT 'acl ' || c.relname || ' ' || COALESCE(c.relacl::text, '-') FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relname LIKE 'vtp\_%' AND c.relkind IN ('r', 'v')
  UNION ALL SELECT 'acl ' || p.oid::regprocedure || ' ' || COALESCE(p.proacl::text, '-') FROM pg_proc p
   WHERE p.proname LIKE 'vtp\_%'
  UNION ALL SELECT 'comment ' || pg_describe_object(d.classid, d.objid, d.objsubid) || ': ' || ds.description
    FROM pg_depend d JOIN pg_description ds ON ds.classoid = d.classid AND ds.objoid = d.objid AND ds.objsubid = d.objsubid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vtp')
  UNION ALL SELECT 'column comment ' || c.relname || '.' || a.attname || ': ' || ds.description
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum
   WHERE c.relnamespace = 'public'::regnamespace AND c.relname LIKE 'vtp\_%'
  UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relname LIKE 'vtp\_%' AND NOT t.tgisinternal;
$$;
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.vtp_objects() AS obj;
DELETE FROM vtp_videos;
DROP EXTENSION vtp;
CREATE EXTENSION vtp;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.vtp_objects() AS obj;
SELECT 'only upgraded' AS side, obj FROM (SELECT obj FROM upgraded EXCEPT ALL SELECT obj FROM fresh) d
UNION ALL
SELECT 'only fresh', obj FROM (SELECT obj FROM fresh EXCEPT ALL SELECT obj FROM upgraded) d;
SELECT count(*) > 40 AS objects_compared FROM fresh;
DROP EXTENSION vtp;
