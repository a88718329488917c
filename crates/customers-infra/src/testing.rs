//! Throwaway databases for tests (feature `testing`): a fresh SQLite file or a uniquely named
//! PostgreSQL database per call, migrated and ready.
//!
//! PostgreSQL is reached through the admin URL in `CUSTOMERS_TEST_PG_URL` (default
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`); `scripts/test.sh` makes sure it
//! answers. Databases are named `customers_test_<uuid>` and dropped when the value is dropped
//! (and by `scripts/test.sh` before a run, should a test have crashed).

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::db::{connect, migrate};

/// The default admin URL of the test PostgreSQL server.
pub const DEFAULT_PG_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL database on the test server.
    Postgres,
}

/// A migrated, empty database that is removed on drop.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL (for starting a server on it).
    pub url: String,
    /// An open pool.
    pub connection: DatabaseConnection,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// Creates and migrates a fresh database on `backend`. Panics with a clear message when
    /// the server cannot be reached (a test setup failure, not a test result).
    pub async fn new(backend: Backend) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("customers_test_{suffix}.db"));
                (format!("sqlite://{}?mode=rwc", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin_url = std::env::var("CUSTOMERS_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
                let name = format!("customers_test_{suffix}");
                let admin = connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!("cannot reach the test PostgreSQL at {admin_url} ({e}); run the suite with scripts/test.sh")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                admin.close().await.ok();
                let url = replace_database(&admin_url, &name);
                (url, Cleanup::Postgres { admin_url, name })
            }
        };
        let connection = connect(&url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        migrate(&connection)
            .await
            .unwrap_or_else(|e| panic!("migrations failed on {url}: {e}"));
        Self {
            url,
            connection,
            cleanup,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                // Dropping needs async I/O; do it on a separate thread with its own runtime so
                // that it works from any test runtime.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(async {
                            if let Ok(admin) = connect(&admin_url).await {
                                let _ = admin
                                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                    .await;
                                let _ = admin.close().await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

/// The URL with its database name replaced.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(at) if at > base.find("//").map_or(0, |i| i + 1) => &base[..at],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replace_database_keeps_credentials_and_options() {
        assert_eq!(
            super::replace_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(super::replace_database("postgres://h", "x"), "postgres://h/x");
    }
}
