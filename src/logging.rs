//! Logging set-up: env_logger with `RUST_LOG`, as text or, with `LOG_FORMAT=json`, one JSON
//! object per line (`ts`, `level`, `target`, `msg`; the access log's fields as their own keys).

use std::io::Write;

use actix_web::HttpMessage;

use serde_json::{Map, Value, json};

use crate::config::{self, ConfigError};

/// The access log line: JSON, so that the JSON format can take its fields apart.
pub const ACCESS_LOG_FORMAT: &str = r#"{"remote": "%a", "method": "%{method}xi", "route": "%{route}xi", "path": "%U", "status": %s, "bytes": %b, "duration_ms": %D, "request_id": "%{x-request-id}i", "user": %{user}xo}"#;

/// The authenticated caller of a request (the token's `sub`), for the access log's `user`.
#[derive(Debug, Clone)]
pub struct LoggedUser(pub String);

/// The access log's `user`: the authenticated caller as a JSON string, or `null`.
pub fn user_of(response: &actix_web::dev::ServiceResponse) -> String {
    response
        .request()
        .extensions()
        .get::<LoggedUser>()
        .map_or_else(|| "null".to_owned(), |user| Value::String(user.0.clone()).to_string())
}

/// Starts the logger as `LOG_FORMAT` (`text`, the default, or `json`) says.
pub fn init() -> Result<(), ConfigError> {
    let json = config::log_format_json()?;
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if json {
        builder.format(|buf, record| {
            let mut line = Map::new();
            line.insert("ts".to_owned(), json!(chrono::Utc::now().to_rfc3339()));
            line.insert("level".to_owned(), json!(record.level().as_str()));
            line.insert("target".to_owned(), json!(record.target()));
            let message = record.args().to_string();
            match serde_json::from_str::<Map<String, Value>>(&message) {
                Ok(fields) => line.extend(fields),
                Err(_) => {
                    line.insert("msg".to_owned(), Value::String(message));
                }
            }
            writeln!(buf, "{}", Value::Object(line))
        });
    }
    builder.init();
    Ok(())
}
