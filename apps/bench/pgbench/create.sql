-- pgbench script: the statements the API sends for POST /customers (a customer with 2 contacts, 1 address, 2 tags,
-- customer.created and customer.assigned: about the generated average) (captured with
-- log_min_duration_statement=0). Run with -M prepared -D org=<uuid> -D ws=<uuid> -D ids=<rows of bench_ids>;
-- see docs/performance.md. The first SELECT … \gset only picks the request's values; the API does
-- not send it.
SELECT gen_random_uuid() AS cid, gen_random_uuid() AS k1, gen_random_uuid() AS k2, gen_random_uuid() AS a1, gen_random_uuid() AS e1, gen_random_uuid() AS e2, gen_random_uuid() AS actor, now() AS at, 'pgb-' || gen_random_uuid() || '@bench.kz' AS email \gset
BEGIN;
INSERT INTO customers (id, organization_id, workspace_id, created_at, created_by, type, status, name, name_key, email, phone, iin, bin, company_name, company_size, industry, industry_key, credit_limit, current_balance, custom_fields, tags, lead_source, lead_source_key, first_purchase_date, last_purchase_date, total_purchases, purchase_count, lifetime_value, rating, assigned_to, is_active, search_text, match_key, converted_at, version, updated_at, updated_by) VALUES (:cid, :org, :ws, :at, :actor, 'INDIVIDUAL', 'LEAD', 'Асель Нурланова', 'асель нурланова', :email, '+77011234567', NULL, NULL, NULL, NULL, 'IT', 'it', 0, 0, NULL, '["vip", "опт"]', 'Сайт', 'сайт', NULL, NULL, 0, 0, 0, 5, :actor, true, 'асель нурланова', 'asel nurlanova', NULL, 1, :at, :actor);
INSERT INTO customer_contacts (id, customer_id, position, first_name, last_name, middle_name, job_title, department, email, phone, mobile_phone, is_primary, is_decision_maker, social_media, notes, created_at, updated_at) VALUES (:k1, :cid, 0, 'Асель', 'Нурланова', NULL, 'Директор', NULL, 'asel.n@gmail.com', '+77011234567', NULL, true, false, NULL, NULL, :at, :at);
INSERT INTO customer_contacts (id, customer_id, position, first_name, last_name, middle_name, job_title, department, email, phone, mobile_phone, is_primary, is_decision_maker, social_media, notes, created_at, updated_at) VALUES (:k2, :cid, 1, 'Ерлан', 'Ахметов', NULL, 'Юрист', NULL, 'yerlan.a@mail.ru', '+77051234567', '+77771234567', false, true, NULL, NULL, :at, :at);
INSERT INTO customer_addresses (id, customer_id, position, type, street, building, apartment, city, city_key, region, postal_code, country, is_primary, contact_name, contact_phone, delivery_instructions, coordinates, created_at, updated_at) VALUES (:a1, :cid, 0, 'billing', 'пр. Абая, 150', NULL, 'офис 305', 'Алматы', 'алматы', NULL, '050012', 'Kazakhstan', true, NULL, NULL, NULL, NULL, :at, :at);
DELETE FROM customer_tags WHERE customer_id = :cid;
INSERT INTO customer_tags (customer_id, tag_key) VALUES (:cid, 'vip');
INSERT INTO customer_tags (customer_id, tag_key) VALUES (:cid, 'опт');
INSERT INTO customer_events (id, organization_id, workspace_id, customer_id, type, version, payload, actor, occurred_at) VALUES (:e1, :org, :ws, :cid, 'customer.created', 1, '{"customerType": "INDIVIDUAL", "status": "LEAD", "createdBy": "00000000-0000-0000-0000-000000000000"}', :actor, :at);
INSERT INTO customer_events (id, organization_id, workspace_id, customer_id, type, version, payload, actor, occurred_at) VALUES (:e2, :org, :ws, :cid, 'customer.assigned', 1, '{"assignedTo": null, "assignedBy": "00000000-0000-0000-0000-000000000000"}', :actor, :at);
COMMIT;
