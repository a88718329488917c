//! Fills `match_key` (added empty by the previous migration) for customers stored before it,
//! with the same function the application uses, so that they are found as possible
//! duplicates too.

use customers_domain::lifecycle::names::match_key;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, name FROM customers".to_owned(),
            ))
            .await?;
        let update = match backend {
            DbBackend::Postgres => "UPDATE customers SET match_key = $1 WHERE id = $2",
            _ => "UPDATE customers SET match_key = ? WHERE id = ?",
        };
        for row in rows {
            let id: sea_orm_migration::sea_orm::prelude::Uuid = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                update,
                [match_key(&name).into(), id.into()],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
