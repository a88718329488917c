//! `customers`: run the server, apply migrations, print the OpenAPI document, mint tokens.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use customers_api::app;
use customers_api::auth::{Claims, JwtKeys, Permission};
use customers_api::config::Config;

/// mimalloc instead of the system allocator: a response is built from many small allocations
/// (rows, DTOs, the JSON tree), where glibc's malloc took about a sixth of the server's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The organization of the token printed when `JWT_SECRET` is unset; fixed, so that data
/// created with one run's token is visible with the next run's.
const DEFAULT_ORGANIZATION: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
/// The workspace of that token.
const DEFAULT_WORKSPACE: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);

#[derive(Parser)]
#[command(name = "customers", version, about = "Customers (CRM) service of the ERP")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Mint an access token for the given secret and claims.
    Token {
        /// HS256 secret.
        #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
        secret: String,
        /// Organization id.
        #[arg(long)]
        org: Uuid,
        /// Workspace id (repeat for several).
        #[arg(long = "workspace", required = true)]
        workspaces: Vec<Uuid>,
        /// User id (random when absent).
        #[arg(long)]
        sub: Option<Uuid>,
        /// Permission (repeat; all customers:* permissions when absent).
        #[arg(long = "permission")]
        permissions: Vec<String>,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Openapi => app::openapi_spec()
            .await
            .map(|spec| print!("{spec}"))
            .map_err(|e| e.to_string()),
        Command::Token {
            secret,
            org,
            workspaces,
            sub,
            permissions,
            ttl_hours,
        } => {
            let permissions = if permissions.is_empty() {
                Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect()
            } else {
                permissions
            };
            mint(
                secret.as_bytes(),
                sub.unwrap_or_else(Uuid::now_v7),
                org,
                workspaces,
                permissions,
                ttl_hours,
            )
            .map(|token| println!("{token}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("customers: {message}");
            ExitCode::FAILURE
        }
    }
}

fn mint(
    secret: &[u8],
    sub: Uuid,
    org: Uuid,
    workspaces: Vec<Uuid>,
    permissions: Vec<String>,
    ttl_hours: i64,
) -> Result<String, String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub,
        org,
        workspaces,
        permissions,
        exp: now + ttl_hours * 3600,
        iat: Some(now),
    };
    JwtKeys::new(secret)
        .mint(&claims)
        .map_err(|e| format!("cannot sign the token: {e}"))
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn open_database(config: &Config) -> Result<customers_infra::DatabaseConnection, String> {
    customers_infra::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL: {e}"))
}

async fn migrate() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    init_tracing(&config.log_level);
    let db = open_database(&config).await?;
    customers_infra::migrate(&db)
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    init_tracing(&config.log_level);
    let db = open_database(&config).await?;
    if config.auto_migrate {
        customers_infra::migrate(&db)
            .await
            .map_err(|e| format!("migration failed: {e}"))?;
    }
    let db_for_relay = db.clone();
    let keys = match &config.jwt_secret {
        Some(secret) => JwtKeys::new(secret.expose().as_bytes()),
        None => {
            let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
            let (org, workspace) = (DEFAULT_ORGANIZATION, DEFAULT_WORKSPACE);
            let all = Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect();
            let token = mint(secret.as_bytes(), Uuid::now_v7(), org, vec![workspace], all, 24)?;
            eprintln!(
                "\nJWT_SECRET is not set: a random secret was made for this run.\n\
                 Organization {org}, workspace {workspace}; a token with every permission (24 h):\n\n\
                 export TOKEN={token}\n\
                 curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/api/v1/workspaces/{workspace}/customers\n\n\
                 API docs: http://{addr}/docs\n",
                addr = config.listen_addr
            );
            JwtKeys::new(secret.as_bytes())
        }
    };
    let service = match &config.redis_url {
        Some(url) => {
            let cache = customers_infra::RedisCache::new(url).map_err(|e| format!("invalid REDIS_URL: {e}"))?;
            tracing::info!("caching customers and list pages in Redis");
            app::service_with_cache(db, Arc::new(cache))
        }
        None => app::service(db),
    };
    let service = Arc::new(service.with_retention(time::Duration::days(config.retention_days.into())));
    match &config.redis_url {
        Some(url) => {
            let relay = customers_infra::OutboxRelay::new(db_for_relay, url, customers_infra::relay::DEFAULT_STREAM)
                .map_err(|e| format!("invalid REDIS_URL: {e}"))?;
            tokio::spawn(supervise_relay(relay));
            let name = std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.trim().is_empty())
                .map_or_else(|| format!("customers-{}", Uuid::now_v7()), |h| format!("customers-{h}"));
            let consumer = customers_infra::InboundConsumer::new(
                url,
                customers_infra::consumer::INBOUND_STREAM,
                customers_infra::consumer::CONSUMER_GROUP,
                &name,
            )
            .map_err(|e| format!("invalid REDIS_URL: {e}"))?;
            tokio::spawn(supervise_consumer(
                consumer,
                Arc::new(app::StreamIngest(service.clone())),
            ));
            tracing::info!(
                outbound = customers_infra::relay::DEFAULT_STREAM,
                inbound = customers_infra::consumer::INBOUND_STREAM,
                consumer = %name,
                "publishing events to Redis and consuming other modules' events"
            );
        }
        None => tracing::info!("REDIS_URL is not set: events stay in the outbox"),
    }
    tokio::spawn(app::purge_periodically(
        service.clone(),
        std::time::Duration::from_secs(3600),
    ));
    match config.clv_refit_interval {
        Some(interval) => {
            tokio::spawn(app::refit_clv_periodically(service.clone(), interval));
        }
        None => tracing::info!("CLV_REFIT_HOURS=0: the lifetime value models are refitted only on request"),
    }
    let shutdown = shutdown_signal();
    let (addr, task) = app::serve(config.listen_addr, service, Arc::new(keys), shutdown)
        .await
        .map_err(|e| format!("cannot listen on LISTEN_ADDR={}: {e}", config.listen_addr))?;
    tracing::info!(%addr, "listening");
    task.await
        .map_err(|e| format!("server task failed: {e}"))?
        .map_err(|e| format!("server failed: {e}"))
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what orchestrators send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Runs the outbox relay for the life of the process, starting it again should it ever stop.
async fn supervise_relay(relay: customers_infra::OutboxRelay) {
    loop {
        let run = tokio::spawn(
            relay
                .clone()
                .run(std::time::Duration::from_millis(500), std::future::pending()),
        );
        if let Err(err) = run.await {
            tracing::error!(error = %err, "the event relay stopped; starting it again");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Runs the inbound consumer for the life of the process, starting it again should it ever
/// stop.
async fn supervise_consumer(
    consumer: customers_infra::InboundConsumer,
    handler: Arc<dyn customers_infra::consumer::EntryHandler>,
) {
    loop {
        let run = tokio::spawn(consumer.clone().run(handler.clone(), std::future::pending()));
        if let Err(err) = run.await {
            tracing::error!(error = %err, "the inbound consumer stopped; starting it again");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
