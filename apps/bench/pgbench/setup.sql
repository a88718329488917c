-- Run once before the pgbench scripts (psql -v org=<uuid> -v ws=<uuid> -f setup.sql): numbers the
-- workspace's customers so that scripts can pick ids at random; prints the count for -D ids=.
DROP TABLE IF EXISTS bench_ids;
CREATE TABLE bench_ids AS SELECT (row_number() OVER (ORDER BY id))::int AS n, id FROM customers
  WHERE organization_id = :'org' AND workspace_id = :'ws' AND deleted_at IS NULL;
ALTER TABLE bench_ids ADD PRIMARY KEY (n);
ANALYZE bench_ids;
SELECT count(*) AS ids FROM bench_ids;
-- The planner's estimate of the rows of a statement, read from the EXPLAIN (FORMAT JSON) the API
-- sends for count=estimated (pgbench cannot take a value out of JSON itself). The scripts count
-- up to :cap only when it is at most 20,000, as the API does.
CREATE OR REPLACE FUNCTION bench_plan_rows(statement text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || statement INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END
$$;
