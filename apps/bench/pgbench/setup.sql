-- Run once before the pgbench scripts (psql -v org=<uuid> -v ws=<uuid> -f setup.sql): numbers the
-- workspace's customers so that scripts can pick ids at random; prints the count for -D ids=.
DROP TABLE IF EXISTS bench_ids;
CREATE TABLE bench_ids AS SELECT (row_number() OVER (ORDER BY id))::int AS n, id FROM customers
  WHERE organization_id = :'org' AND workspace_id = :'ws' AND deleted_at IS NULL;
ALTER TABLE bench_ids ADD PRIMARY KEY (n);
ANALYZE bench_ids;
SELECT count(*) AS ids FROM bench_ids;
