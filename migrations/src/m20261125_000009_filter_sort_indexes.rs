//! Lists filtered by status, type and industry, in every sort order, at a million customers.
//!
//! PostgreSQL and SQLite walk a B-tree in order only below equalities on all of its leading
//! columns, and an index per filter combination and sort would be 35 indexes. Two per sort
//! order suffice when the list query names every value of the columns it does not filter by
//! (`repository.rs`, `page_sql`: one branch per status and type, merged in sort order):
//! `(status, type, sort key, id)` serves status, type and both; `(industry, status, type, sort
//! key, id)` serves every combination with industry. All are partial on live customers, like
//! the indexes of `m20261125_000006_list_indexes`; the small deduplicated indexes on status and
//! on industry stay for counting.
//!
//! On PostgreSQL the planner's estimates decide whether `count=estimated` counts at all, so
//! they are made finer: a 1,000-value histogram of the search text (substring estimates are
//! read off it) and the joint distribution of status, type and industry (they are correlated:
//! most companies have an industry, few individuals do).

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The sort keys (index name suffix and column), as `repository::sort_column` sorts them.
fn sort_keys(name_collation: &str) -> [(&'static str, String); 5] {
    [
        ("created", "created_at".to_owned()),
        ("updated", "updated_at".to_owned()),
        ("name", format!("name_key{name_collation}")),
        ("total", "total_purchases".to_owned()),
        ("rating", "rating".to_owned()),
    ]
}

fn create_indexes(name_collation: &str) -> String {
    let mut script = String::new();
    for (suffix, column) in sort_keys(name_collation) {
        script.push_str(&format!(
            "CREATE INDEX ix_customers_live_status_type_{suffix} ON customers \
             (organization_id, workspace_id, status, type, {column}, id) WHERE deleted_at IS NULL;\n\
             CREATE INDEX ix_customers_live_industry_status_type_{suffix} ON customers \
             (organization_id, workspace_id, industry_key, status, type, {column}, id) WHERE deleted_at IS NULL;\n"
        ));
    }
    script
}

fn drop_indexes() -> String {
    let mut script = String::new();
    for (suffix, _) in sort_keys("") {
        script.push_str(&format!(
            "DROP INDEX ix_customers_live_status_type_{suffix};\n\
             DROP INDEX ix_customers_live_industry_status_type_{suffix};\n"
        ));
    }
    script
}

const POSTGRES_STATISTICS: &str = "ALTER TABLE customers ALTER COLUMN search_text SET STATISTICS 1000;
CREATE STATISTICS st_customers_status_type_industry (mcv) ON status, type, industry_key FROM customers;
ALTER STATISTICS st_customers_status_type_industry SET STATISTICS 1000;
ANALYZE customers";

const POSTGRES_STATISTICS_DOWN: &str = "DROP STATISTICS st_customers_status_type_industry;
ALTER TABLE customers ALTER COLUMN search_text SET STATISTICS -1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = format!("{}{POSTGRES_STATISTICS}", create_indexes(" COLLATE \"C\""));
        run_for_backend(manager, &postgres, &create_indexes("")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = format!("{}{POSTGRES_STATISTICS_DOWN}", drop_indexes());
        run_for_backend(manager, &postgres, &drop_indexes()).await
    }
}
