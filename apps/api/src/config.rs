//! Configuration from environment variables, with embedded defaults.

use std::fmt;
use std::net::SocketAddr;

/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://customers.db?mode=rwc";
/// Default listen address.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";
/// Default log filter.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// A configuration value that cannot be used; the server refuses to start.
#[derive(Debug, thiserror::Error)]
#[error("invalid {variable}={value:?}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What it held.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

/// A secret that never shows in logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `LISTEN_ADDR`: host:port.
    pub listen_addr: SocketAddr,
    /// `JWT_SECRET`: HS256 key; a random one is made at start when unset.
    pub jwt_secret: Option<Secret>,
    /// `LOG_LEVEL`: a tracing filter (`info`, `debug`, `customers_api=debug,info`).
    pub log_level: String,
    /// `AUTO_MIGRATE`: apply migrations at start (`true` by default).
    pub auto_migrate: bool,
    /// `RETENTION_DAYS`: how long deleted customers can be restored before they are purged
    /// (30 by default).
    pub retention_days: u16,
    /// `REDIS_URL`: the shared cache, and where the outbox relay publishes events (stream
    /// `customers.events`); unset, events stay in the outbox (and the history still works) and
    /// customers are cached in the process on SQLite only.
    pub redis_url: Option<String>,
    /// `CLV_REFIT_HOURS`: the lifetime value models of every workspace with orders are
    /// refitted once their fit is this old (24 hours by default); `0` turns the refit off.
    pub clv_refit_interval: Option<std::time::Duration>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str, default: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let database_url = get("DATABASE_URL", DEFAULT_DATABASE_URL);
        validate_database_url(&database_url)?;
        let listen = get("LISTEN_ADDR", DEFAULT_LISTEN_ADDR);
        let listen_addr = listen.parse().map_err(|e| ConfigError {
            variable: "LISTEN_ADDR",
            value: listen.clone(),
            reason: format!("expected host:port such as 127.0.0.1:8080 ({e})"),
        })?;
        let jwt_secret = lookup("JWT_SECRET").filter(|v| !v.is_empty()).map(Secret::new);
        let log_level = get("LOG_LEVEL", DEFAULT_LOG_LEVEL);
        tracing_subscriber::EnvFilter::try_new(&log_level).map_err(|e| ConfigError {
            variable: "LOG_LEVEL",
            value: log_level.clone(),
            reason: format!("expected a level (error, warn, info, debug, trace) or a tracing filter ({e})"),
        })?;
        let migrate = get("AUTO_MIGRATE", "true");
        let auto_migrate = match migrate.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(ConfigError {
                    variable: "AUTO_MIGRATE",
                    value: migrate,
                    reason: "expected true or false".into(),
                });
            }
        };
        let retention = get("RETENTION_DAYS", "30");
        let retention_days = retention
            .parse::<u16>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| ConfigError {
                variable: "RETENTION_DAYS",
                value: retention.clone(),
                reason: "expected a number of days from 1 to 3650".into(),
            })?;
        let redis_url = lookup("REDIS_URL").filter(|v| !v.trim().is_empty());
        if let Some(url) = &redis_url
            && !["redis://", "redis+unix://", "unix://"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            return Err(ConfigError {
                variable: "REDIS_URL",
                value: url.clone(),
                reason: "expected a redis://host:port URL (TLS, rediss://, is not supported yet)".into(),
            });
        }
        let refit = get("CLV_REFIT_HOURS", "24");
        let refit_hours = refit
            .parse::<u16>()
            .ok()
            .filter(|h| *h <= 8760)
            .ok_or_else(|| ConfigError {
                variable: "CLV_REFIT_HOURS",
                value: refit.clone(),
                reason: "expected a number of hours from 0 (no refit) to 8760".into(),
            })?;
        let clv_refit_interval =
            (refit_hours > 0).then(|| std::time::Duration::from_secs(u64::from(refit_hours) * 3600));
        Ok(Self {
            database_url,
            listen_addr,
            jwt_secret,
            log_level,
            auto_migrate,
            retention_days,
            redis_url,
            clv_refit_interval,
        })
    }
}

fn validate_database_url(url: &str) -> Result<(), ConfigError> {
    let supported = ["postgres://", "postgresql://", "sqlite:"];
    if supported.iter().any(|prefix| url.starts_with(prefix)) {
        Ok(())
    } else {
        Err(ConfigError {
            variable: "DATABASE_URL",
            value: url.to_owned(),
            reason: "expected a postgres://… or sqlite://… URL".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert!(c.jwt_secret.is_none());
        assert!(c.auto_migrate);
        assert_eq!(c.clv_refit_interval, Some(std::time::Duration::from_secs(24 * 3600)));
    }

    #[test]
    fn the_clv_refit_takes_hours_and_zero_turns_it_off() {
        let c = config(&[("CLV_REFIT_HOURS", "6")]).unwrap();
        assert_eq!(c.clv_refit_interval, Some(std::time::Duration::from_secs(6 * 3600)));
        assert_eq!(config(&[("CLV_REFIT_HOURS", "0")]).unwrap().clv_refit_interval, None);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("LISTEN_ADDR", "localhost"),
            ("LOG_LEVEL", "[[["),
            ("AUTO_MIGRATE", "maybe"),
            ("RETENTION_DAYS", "0"),
            ("RETENTION_DAYS", "soon"),
            ("CLV_REFIT_HOURS", "-1"),
            ("CLV_REFIT_HOURS", "24h"),
            ("CLV_REFIT_HOURS", "9000"),
            ("REDIS_URL", "localhost:6379"),
            ("REDIS_URL", "rediss://cache.example.kz:6380"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let c = config(&[("JWT_SECRET", "s3cr3t-value")]).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
