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

/// Runs `test` on the repository of a fresh database of `backend`; the database lives until
/// the test returns.
pub async fn with_repository<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(crate::SeaRepository) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::new(backend).await;
    test(crate::SeaRepository::new(db.connection.clone())).await;
    drop(db);
}

/// One `#[tokio::test]` per engine for each named story, `mod name { sqlite(), postgres() }`
/// (so a failure names the engine): `on_both_backends!(runner: story, …)` calls
/// `runner(backend, story)`, with `runner` a function of the test file taking the backend and
/// the story, e.g. [`with_repository`] brought into scope.
#[macro_export]
macro_rules! on_both_backends {
    ($runner:ident: $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$runner($crate::testing::Backend::Sqlite, super::$name).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$runner($crate::testing::Backend::Postgres, super::$name).await;
                }
            }
        )+
    };
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

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/// The shared test Redis: `CUSTOMERS_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`
/// (`scripts/test.sh` starts it). Tests keep apart by their own key prefixes.
pub fn redis_url() -> String {
    std::env::var("CUSTOMERS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A `redis-server` of the test's own on a free port, without persistence, to kill and start
/// again; stopped on drop.
#[derive(Debug)]
pub struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    /// A server on a free port, started.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut redis = Self { port, child: None };
        redis.restart();
        redis
    }

    /// Starts the server again (empty: nothing is persisted) on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (connections drop at once).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
