-- pgbench script: the statements the API sends for GET /customers?page=1..50&limit=20, with count=estimated
-- (captured with log_min_duration_statement=0). Run with -M prepared -D org=<uuid> -D ws=<uuid>
-- -D ids=<rows of bench_ids>; see docs/performance.md. The first SELECT … \gset only picks the
-- request's values (pgbench has no string variables); the API does not send it.
\set cap 10001
\set lim 21
\set off (random(1, 50) - 1) * 20
\set k random(1, :ids - 19)
SELECT ids[1] AS i1, ids[2] AS i2, ids[3] AS i3, ids[4] AS i4, ids[5] AS i5, ids[6] AS i6, ids[7] AS i7, ids[8] AS i8, ids[9] AS i9, ids[10] AS i10, ids[11] AS i11, ids[12] AS i12, ids[13] AS i13, ids[14] AS i14, ids[15] AS i15, ids[16] AS i16, ids[17] AS i17, ids[18] AS i18, ids[19] AS i19, ids[20] AS i20 FROM (SELECT array_agg(id ORDER BY n) AS ids FROM bench_ids WHERE n BETWEEN :k AND :k + 19) s \gset
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT c.id, c.organization_id, c.workspace_id, c.type, c.status, c.name, c.email, c.phone, c.iin, c.bin, c.company_name, c.company_size, c.industry, c.credit_limit, c.current_balance, c.custom_fields, c.tags, c.lead_source, c.first_purchase_date, c.last_purchase_date, c.total_purchases, c.purchase_count, c.lifetime_value, c.rating, c.assigned_to, c.is_active, c.converted_at, c.version, c.created_at, c.updated_at, c.created_by, c.updated_by FROM customers c WHERE c.organization_id = :org AND c.workspace_id = :ws AND c.deleted_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT :lim OFFSET :off;
SELECT id, customer_id, first_name, last_name, middle_name, job_title, department, email, phone, mobile_phone, is_primary, is_decision_maker, social_media, notes, created_at, updated_at FROM customer_contacts WHERE customer_id IN (:i1, :i2, :i3, :i4, :i5, :i6, :i7, :i8, :i9, :i10, :i11, :i12, :i13, :i14, :i15, :i16, :i17, :i18, :i19, :i20) ORDER BY customer_id, position;
SELECT id, customer_id, type, street, building, apartment, city, region, postal_code, country, is_primary, contact_name, contact_phone, delivery_instructions, coordinates, created_at, updated_at FROM customer_addresses WHERE customer_id IN (:i1, :i2, :i3, :i4, :i5, :i6, :i7, :i8, :i9, :i10, :i11, :i12, :i13, :i14, :i15, :i16, :i17, :i18, :i19, :i20) ORDER BY customer_id, position;
SELECT bench_plan_rows(format('SELECT 1 FROM customers c WHERE c.organization_id = %L AND c.workspace_id = %L AND c.deleted_at IS NULL', :org::text, :ws::text)) AS estimate \gset
\if :estimate <= 20000
SELECT COUNT(*) AS total FROM (SELECT 1 FROM customers c WHERE c.organization_id = :org AND c.workspace_id = :ws AND c.deleted_at IS NULL LIMIT :cap) matches;
\endif
COMMIT;
