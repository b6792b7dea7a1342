-- Privileges are set object by object: CREATE EXTENSION leaves the grants
-- of the users' own tables in the same schema alone (1.0 revoked PUBLIC's
-- rights on every table of the schema), and gives PUBLIC nothing of vtp's.
CREATE TABLE regress_user_table (x integer);
CREATE VIEW regress_user_view AS SELECT x FROM regress_user_table;
GRANT SELECT ON regress_user_table, regress_user_view TO PUBLIC;
CREATE EXTENSION vtp;
SELECT has_table_privilege('public', 'regress_user_table', 'SELECT') AS user_table_still_public,
       has_table_privilege('public', 'regress_user_view', 'SELECT') AS user_view_still_public;

-- nothing of vtp's is open to PUBLIC
SELECT c.relname FROM pg_class c
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vtp')
   AND (has_table_privilege('public', c.oid, 'SELECT') OR has_table_privilege('public', c.oid, 'INSERT')
        OR has_table_privilege('public', c.oid, 'UPDATE') OR has_table_privilege('public', c.oid, 'DELETE'));
SELECT p.oid::regprocedure FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vtp')
   AND has_function_privilege('public', p.oid, 'EXECUTE');

-- pg_monitor watches, but never sees the token hashes
SELECT c.relname, has_table_privilege('pg_monitor', c.oid, 'SELECT') AS monitor_reads FROM pg_class c
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vtp') AND c.relkind IN ('r', 'v')
 ORDER BY 1;

DROP EXTENSION vtp;
DROP VIEW regress_user_view;
DROP TABLE regress_user_table;
