//! Typed configuration read once from the environment; every error names its variable.

mod mail;
mod variables;

pub use mail::{DEFAULT_FROM, MailSettings};

pub use variables::{VARIABLES, Variable};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::http::pagination::CursorKey;

/// How tokens are verified (and, for HS256, signed by `salesfunnel token`).
#[derive(Clone)]
pub enum JwtKey {
    /// Shared secret (HS256).
    Secret(Vec<u8>),
    /// PEM public key of the identity provider (RS256 or ES256).
    PublicKey { pem: Vec<u8>, algorithm: Algorithm },
}

impl JwtKey {
    /// The key that verifies tokens; fails on a malformed PEM.
    pub fn decoding_key(&self) -> Result<jsonwebtoken::DecodingKey, jsonwebtoken::errors::Error> {
        match self {
            JwtKey::Secret(secret) => Ok(jsonwebtoken::DecodingKey::from_secret(secret)),
            JwtKey::PublicKey {
                pem,
                algorithm: jsonwebtoken::Algorithm::ES256,
            } => jsonwebtoken::DecodingKey::from_ec_pem(pem),
            JwtKey::PublicKey { pem, .. } => jsonwebtoken::DecodingKey::from_rsa_pem(pem),
        }
    }
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("JwtKey::Secret(..)"),
            Self::PublicKey { algorithm, .. } => write!(f, "JwtKey::PublicKey({algorithm:?})"),
        }
    }
}

/// Token verification settings.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// `None` only with the embedded database, which then uses the secret kept in its folder.
    pub key: Option<JwtKey>,
    pub issuer: String,
    pub audience: String,
    /// `JWT_MAX_TTL`: tokens whose `exp` lies more than this many seconds ahead are refused
    /// (default 86400, 24 h).
    pub max_ttl: u64,
}

/// The default of `FEED_STALL_WARN_S`.
pub const DEFAULT_FEED_STALL_WARN: Duration = Duration::from_secs(10);

/// The default of `JWT_MAX_TTL`: 24 hours.
pub const DEFAULT_JWT_MAX_TTL: u64 = 86_400;

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: start the embedded PostgreSQL.
    pub database_url: Option<String>,
    pub bind: SocketAddr,
    pub database: DatabaseSettings,
    /// `RATE_LIMIT_PER_MINUTE`: requests per minute and caller on each replica; 0 turns it off.
    pub rate_limit_per_minute: u32,
    /// `BODY_TIMEOUT_MS`: how long a request body may take to arrive before it is a 408
    /// (default 10 s).
    pub body_timeout: Duration,
    /// `FEED_STALL_WARN_S`: how long the event feed may be held by a running transaction before
    /// a WARN names it (default 10 s).
    pub feed_stall_warn: Duration,
    pub jwt: JwtSettings,
    pub data_dir: PathBuf,
    pub cors_allowed_origins: Vec<String>,
    pub webhooks: WebhookSettings,
    /// `CURSOR_SECRET`'s key for list cursors; `None`: derived from the HS256 secret.
    pub cursor_key: Option<CursorKey>,
    pub mail: MailSettings,
}

/// The connection pool and how long anything waits on the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// `DATABASE_POOL_SIZE`: connections per replica (default 20: three replicas and a reserve
    /// fit PostgreSQL's default `max_connections` of 100).
    pub pool_size: u32,
    /// `DATABASE_TIMEOUT_MS`: the longest a request waits on the database (for a connection or
    /// an answer) before it is a 503 (default 4 s).
    pub timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: PostgreSQL cancels a statement running longer (default 10 s).
    pub statement_timeout: Duration,
    /// `DATABASE_TCP_KEEPALIVE_S`: idle time before TCP keepalive probes (default 30 s).
    pub keepalive_idle: Duration,
    /// `DATABASE_TCP_USER_TIMEOUT_MS`: unacknowledged data older than this drops the connection
    /// (default 10 s).
    pub tcp_user_timeout: Duration,
    /// `DATABASE_POOL_IDLE_S`: idle connections are closed after this (default 60 s).
    pub pool_idle: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            pool_size: 20,
            timeout: Duration::from_secs(4),
            statement_timeout: Duration::from_secs(10),
            keepalive_idle: Duration::from_secs(30),
            tcp_user_timeout: Duration::from_secs(10),
            pool_idle: Duration::from_secs(60),
        }
    }
}

/// How the webhook delivery worker polls and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_POLL_INTERVAL_MS`: how often the worker publishes events and looks for due
    /// deliveries (default 1 s).
    pub poll_interval: Duration,
    /// `WEBHOOK_RETRY_BASE_MS`: the wait after the first failed attempt; it doubles with each
    /// further failure, up to [`WebhookSettings::MAX_RETRY_DELAY`] (default 10 s).
    pub retry_base: Duration,
    /// `WEBHOOK_TIMEOUT_MS`: how long one HTTP attempt may take, connecting included (default 10 s).
    pub timeout: Duration,
    /// `WEBHOOK_MAX_ATTEMPTS`: attempts before a delivery is given up as `failed` (default 10).
    pub max_attempts: u32,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS`: allow targets on loopback, private and link-local
    /// addresses (development and tests only; default false).
    pub allow_private_targets: bool,
}

impl WebhookSettings {
    /// The longest wait between two attempts.
    pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

    /// How long a claimed delivery stays invisible to other workers: the HTTP timeout and a
    /// margin for recording the result. A worker that dies mid-attempt is retried after it.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }

    /// The wait after `attempts` failed attempts: `retry_base × 2^(attempts−1)`, capped.
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.retry_base
            .checked_mul(factor)
            .map_or(Self::MAX_RETRY_DELAY, |delay| delay.min(Self::MAX_RETRY_DELAY))
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            allow_private_targets: false,
        }
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn config_error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Minimum length of an HS256 secret (256 bits).
const MIN_SECRET_LEN: usize = 32;

impl Settings {
    /// Reads the values the command line resolved (see [`resolve`]), else the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        match RESOLVED.get() {
            Some(values) => Self::from_lookup(|name| values.get(name).cloned()),
            None => Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty())),
        }
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = lookup("DATABASE_URL");
        let bind = match lookup("BIND") {
            Some(v) => v
                .parse()
                .map_err(|_| config_error("BIND", format!("'{v}' is not an address such as 127.0.0.1:8080")))?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let database = database_settings(&lookup)?;
        let key = jwt_key(&lookup)?;
        if key.is_none() && database_url.is_some() {
            return Err(config_error(
                "JWT_SECRET",
                "with DATABASE_URL set, a token key is required: set JWT_SECRET (HS256, at least 32 bytes) \
                 or JWT_PUBLIC_KEY_FILE and JWT_ALGORITHM (RS256 or ES256)",
            ));
        }
        let cursor_secret = lookup("CURSOR_SECRET");
        if cursor_secret.as_ref().is_some_and(|s| s.len() < MIN_SECRET_LEN) {
            return Err(config_error(
                "CURSOR_SECRET",
                format!("must be at least {MIN_SECRET_LEN} bytes long"),
            ));
        }
        if cursor_secret.is_none() && database_url.is_some() && matches!(key, Some(JwtKey::PublicKey { .. })) {
            return Err(config_error(
                "CURSOR_SECRET",
                "required with JWT_PUBLIC_KEY_FILE and DATABASE_URL: list cursors are signed with it, \
                 and every replica needs the same one (at least 32 bytes)",
            ));
        }
        let cors_allowed_origins = lookup("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(origin)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            database_url,
            bind,
            database,
            rate_limit_per_minute: u32::try_from(number(&lookup, "RATE_LIMIT_PER_MINUTE", (0, 1_000_000), 1200)?)
                .unwrap_or(1200),
            body_timeout: Duration::from_millis(number(&lookup, "BODY_TIMEOUT_MS", (100, 600_000), 10_000)?),
            feed_stall_warn: Duration::from_secs(number(
                &lookup,
                "FEED_STALL_WARN_S",
                (1, 86_400),
                DEFAULT_FEED_STALL_WARN.as_secs(),
            )?),
            jwt: JwtSettings {
                key,
                issuer: lookup("JWT_ISSUER").unwrap_or_else(|| "salesfunnel".to_owned()),
                audience: lookup("JWT_AUDIENCE").unwrap_or_else(|| "salesfunnel".to_owned()),
                max_ttl: match lookup("JWT_MAX_TTL") {
                    Some(v) => v
                        .parse::<u64>()
                        .ok()
                        .filter(|n| (1..=31_536_000).contains(n))
                        .ok_or_else(|| {
                            config_error(
                                "JWT_MAX_TTL",
                                format!("'{v}' is not a number of seconds from 1 to 31536000"),
                            )
                        })?,
                    None => DEFAULT_JWT_MAX_TTL,
                },
            },
            data_dir: PathBuf::from(lookup("SALESFUNNEL_DATA_DIR").unwrap_or_else(|| "./.data".to_owned())),
            cors_allowed_origins,
            webhooks: webhook_settings(&lookup)?,
            cursor_key: cursor_secret.map(|secret| CursorKey::derive(secret.as_bytes())),
            mail: mail::mail_settings(&lookup)?,
        })
    }
}

/// `LOG_FORMAT`: `true` for `json`, `false` for `text` (the default).
pub fn log_format_json() -> Result<bool, ConfigError> {
    let value = match RESOLVED.get() {
        Some(values) => values.get("LOG_FORMAT").cloned(),
        None => std::env::var("LOG_FORMAT").ok(),
    };
    match value.as_deref() {
        None | Some("" | "text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(config_error("LOG_FORMAT", format!("'{other}' is not text or json"))),
    }
}

/// The values the command line resolved for [`VARIABLES`] (a flag, else the variable); set once
/// at start, before any [`Settings::from_env`].
static RESOLVED: OnceLock<HashMap<&'static str, String>> = OnceLock::new();

/// Makes [`Settings::from_env`] read `values` (empty values count as unset).
pub fn resolve(values: impl IntoIterator<Item = (&'static str, String)>) {
    let values = values.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    // A second call keeps the first resolution: the command line is parsed once.
    let _ = RESOLVED.set(values);
}

/// A whole number from `min` to `max`, or `default` when the variable is unset.
fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    (min, max): (u64, u64),
    default: u64,
) -> Result<u64, ConfigError> {
    match lookup(variable) {
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| config_error(variable, format!("'{v}' is not a number from {min} to {max}"))),
        None => Ok(default),
    }
}

fn database_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<DatabaseSettings, ConfigError> {
    let d = DatabaseSettings::default();
    let ms = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    Ok(DatabaseSettings {
        pool_size: u32::try_from(number(lookup, "DATABASE_POOL_SIZE", (1, 1000), d.pool_size.into())?)
            .unwrap_or(d.pool_size),
        timeout: Duration::from_millis(number(lookup, "DATABASE_TIMEOUT_MS", (100, 600_000), ms(d.timeout))?),
        statement_timeout: Duration::from_millis(number(
            lookup,
            "DATABASE_STATEMENT_TIMEOUT_MS",
            (100, 3_600_000),
            ms(d.statement_timeout),
        )?),
        keepalive_idle: Duration::from_secs(number(
            lookup,
            "DATABASE_TCP_KEEPALIVE_S",
            (1, 7200),
            d.keepalive_idle.as_secs(),
        )?),
        tcp_user_timeout: Duration::from_millis(number(
            lookup,
            "DATABASE_TCP_USER_TIMEOUT_MS",
            (100, 600_000),
            ms(d.tcp_user_timeout),
        )?),
        pool_idle: Duration::from_secs(number(
            lookup,
            "DATABASE_POOL_IDLE_S",
            (1, 86_400),
            d.pool_idle.as_secs(),
        )?),
    })
}

/// One browser origin as browsers send it (`https://crm.example.com`, `http://localhost:3000`):
/// scheme, host and optional port, nothing else; `*` is refused, as tokens must not be usable
/// from any page.
fn origin(entry: &str) -> Result<String, ConfigError> {
    let refuse = |why: &str| config_error("CORS_ALLOWED_ORIGINS", format!("'{entry}' {why}"));
    if entry == "*" {
        return Err(refuse(
            "would let every web page call the API with its users' tokens; list the origins",
        ));
    }
    let url = url::Url::parse(entry).map_err(|_| refuse("is not an origin such as https://crm.example.com"))?;
    let serialised = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || serialised != entry.trim_end_matches('/') {
        return Err(refuse(
            "is not an origin: scheme, host and port only, such as https://crm.example.com",
        ));
    }
    Ok(serialised)
}

fn webhook_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<WebhookSettings, ConfigError> {
    let number = |variable: &'static str, max: u64, default: u64| number(lookup, variable, (1, max), default);
    let defaults = WebhookSettings::default();
    const HOUR_MS: u64 = 3_600_000;
    Ok(WebhookSettings {
        poll_interval: Duration::from_millis(number("WEBHOOK_POLL_INTERVAL_MS", HOUR_MS, 1000)?),
        retry_base: Duration::from_millis(number("WEBHOOK_RETRY_BASE_MS", HOUR_MS, 10_000)?),
        timeout: Duration::from_millis(number("WEBHOOK_TIMEOUT_MS", 300_000, 10_000)?),
        max_attempts: u32::try_from(number("WEBHOOK_MAX_ATTEMPTS", 100, u64::from(defaults.max_attempts))?)
            .unwrap_or(defaults.max_attempts),
        allow_private_targets: match lookup("WEBHOOK_ALLOW_PRIVATE_TARGETS").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(config_error(
                    "WEBHOOK_ALLOW_PRIVATE_TARGETS",
                    format!("'{other}' is not true or false"),
                ));
            }
        },
    })
}

fn jwt_key(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<JwtKey>, ConfigError> {
    let secret = lookup("JWT_SECRET");
    let key_file = lookup("JWT_PUBLIC_KEY_FILE");
    let algorithm = lookup("JWT_ALGORITHM");
    match (secret, key_file) {
        (Some(_), Some(_)) => Err(config_error(
            "JWT_SECRET",
            "set either JWT_SECRET or JWT_PUBLIC_KEY_FILE, not both",
        )),
        (Some(secret), None) => {
            if let Some(alg) = algorithm.filter(|a| a != "HS256") {
                return Err(config_error(
                    "JWT_ALGORITHM",
                    format!("'{alg}' does not fit JWT_SECRET, which is HS256"),
                ));
            }
            if secret.len() < MIN_SECRET_LEN {
                return Err(config_error(
                    "JWT_SECRET",
                    format!("must be at least {MIN_SECRET_LEN} bytes long"),
                ));
            }
            Ok(Some(JwtKey::Secret(secret.into_bytes())))
        }
        (None, Some(path)) => {
            let algorithm = match algorithm.as_deref() {
                Some("RS256") => Algorithm::RS256,
                Some("ES256") => Algorithm::ES256,
                Some(other) => {
                    return Err(config_error(
                        "JWT_ALGORITHM",
                        format!("'{other}' is not RS256 or ES256"),
                    ));
                }
                None => {
                    return Err(config_error(
                        "JWT_ALGORITHM",
                        "required with JWT_PUBLIC_KEY_FILE: RS256 or ES256",
                    ));
                }
            };
            let pem = std::fs::read(&path)
                .map_err(|e| config_error("JWT_PUBLIC_KEY_FILE", format!("cannot read '{path}': {e}")))?;
            JwtKey::PublicKey {
                pem: pem.clone(),
                algorithm,
            }
            .decoding_key()
            .map_err(|e| config_error("JWT_PUBLIC_KEY_FILE", format!("'{path}' is not a PEM public key: {e}")))?;
            Ok(Some(JwtKey::PublicKey { pem, algorithm }))
        }
        (None, None) => match algorithm {
            Some(_) => Err(config_error(
                "JWT_PUBLIC_KEY_FILE",
                "JWT_ALGORITHM is set but no key is",
            )),
            None => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests;
