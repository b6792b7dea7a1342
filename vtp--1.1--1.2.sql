\echo Use "ALTER EXTENSION vtp UPDATE TO '1.2'" to load this file. \quit

-- vtp 1.2: the trust boundary (issue 10). Released scripts are never
-- edited: what changes after 1.2 goes to vtp--1.2--1.3.sql.

-- LISTEN has no privilege check: any role that can connect may listen on
-- vtp_status. The payload keeps only the id, the status, the previous status
-- and the reason code (1.1 also sent the error message and the attempts).
CREATE OR REPLACE FUNCTION @extschema@.vtp_notify_status() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('vtp_status', json_build_object(
      'id', NEW.id,
      'status', NEW.status,
      'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
      'reason', NEW.error_code)::text);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@.vtp_notify_status() IS
  'NOTIFY vtp_status with {"id","status","previous_status","reason"} on every status change (sent at commit); any role that can connect can LISTEN, so nothing else is sent';

-- vtp_workers shows the transcoder sandbox each transcode worker found.
DROP VIEW @extschema@.vtp_workers;
DROP FUNCTION @extschema@.vtp_worker_status();
CREATE FUNCTION @extschema@.vtp_worker_status(
  OUT pid integer, OUT role text, OUT name text, OUT state text, OUT video_id uuid, OUT attempt integer,
  OUT progress real, OUT child_pid integer, OUT started_at timestamptz, OUT state_since timestamptz,
  OUT last_heartbeat timestamptz, OUT sandbox text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vtp_worker_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.vtp_worker_status() IS 'One row per running vtp background worker (shared memory)';

CREATE VIEW @extschema@.vtp_workers AS SELECT * FROM @extschema@.vtp_worker_status();
COMMENT ON VIEW @extschema@.vtp_workers IS
  'One row per vtp worker: pid, role, state, the video and attempt it works on, progress, its transcoder''s pid, when it started, entered its state and last renewed its lease, and the transcoder sandbox it found (transcode workers)';

REVOKE ALL ON @extschema@.vtp_workers FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.vtp_worker_status() FROM PUBLIC;
GRANT SELECT ON @extschema@.vtp_workers TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.vtp_worker_status() TO pg_monitor;
