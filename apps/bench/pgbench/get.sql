-- pgbench script: the statements the API sends for GET /customers/{id} (no cache) (captured with
-- log_min_duration_statement=0). Run with -M prepared -D org=<uuid> -D ws=<uuid> -D ids=<rows of bench_ids>;
-- see docs/performance.md. The first SELECT … \gset only picks the request's values; the API does
-- not send it.
\set k random(1, :ids)
SELECT id AS cid FROM bench_ids WHERE n = :k \gset
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT c.id, c.organization_id, c.workspace_id, c.type, c.status, c.name, c.email, c.phone, c.iin, c.bin, c.company_name, c.company_size, c.industry, c.credit_limit, c.current_balance, c.custom_fields, c.tags, c.lead_source, c.first_purchase_date, c.last_purchase_date, c.total_purchases, c.purchase_count, c.lifetime_value, c.rating, c.assigned_to, c.is_active, c.converted_at, c.version, c.created_at, c.updated_at, c.created_by, c.updated_by FROM customers c WHERE c.organization_id = :org AND c.workspace_id = :ws AND c.deleted_at IS NULL AND c.id = :cid;
SELECT id, customer_id, first_name, last_name, middle_name, job_title, department, email, phone, mobile_phone, is_primary, is_decision_maker, social_media, notes, created_at, updated_at FROM customer_contacts WHERE customer_id IN (:cid) ORDER BY customer_id, position;
SELECT id, customer_id, type, street, building, apartment, city, region, postal_code, country, is_primary, contact_name, contact_phone, delivery_instructions, coordinates, created_at, updated_at FROM customer_addresses WHERE customer_id IN (:cid) ORDER BY customer_id, position;
COMMIT;
