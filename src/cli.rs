//! The command line: `serve` (default), `migrate`, `token`, `seed`, `ids`, `openapi`.

use std::net::TcpListener;

use clap::{Arg, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::access::Role;
use crate::auth::{Signer, Verifier};
use crate::config::{self, JwtKey, Settings};
use crate::db::embedded::{EmbeddedPostgres, Sharing};
use crate::db::{self};
use crate::http::pagination::CursorKey;
use crate::startup::{AppConfig, Application};

#[derive(Debug, Parser)]
#[command(name = "salesfunnel", version, about = "JSON REST API for sales opportunities")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve {
        /// Do not load the demo data set into an empty embedded database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Run pending database migrations and exit.
    Migrate,
    /// Print a token signed with the configured HS256 secret.
    Token {
        #[arg(long, value_enum)]
        role: Role,
        /// Subject: a user id for reps and managers.
        #[arg(long)]
        sub: Option<String>,
        /// Lifetime in seconds; at most JWT_MAX_TTL (default 86400).
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Load demo or bulk data (bulk data after the demo data set).
    Seed {
        /// The demo data set (idempotent); always loaded, as bulk data refers to it.
        #[arg(long)]
        demo: bool,
        /// Bulk-create this many business partners (for benchmarks).
        #[arg(long)]
        partners: Option<u32>,
        /// Bulk-create this many opportunities with lines, activities and stage history (for
        /// benchmarks), and one business partner per 20 of them unless there are that many.
        #[arg(long)]
        opportunities: Option<u32>,
    },
    /// Print the demo data set's fixed ids as NAME=value lines for a shell's `eval`
    /// (STAGE_ANFRAGE, FUNNEL_NEUWAGEN, CLASS_NEUWAGEN, ARTICLE_VW_ID4_PRO, PARTNER_…, USER_…).
    Ids,
    /// Print the OpenAPI document.
    Openapi,
    /// Exit 0 when the server on BIND answers GET /healthz with 200 within 2 s (for container
    /// health checks: the image has no curl).
    Healthcheck,
}

impl Cli {
    /// Parses the command line, with every configuration variable as a global option that clap
    /// also reads from the environment (so `--help` lists them all), and hands the resolved
    /// values to [`Settings::from_env`]. Exits with clap's message on bad input or `--help`.
    pub fn parse_with_environment() -> Self {
        let command = config::VARIABLES.iter().fold(Cli::command(), |command, variable| {
            command.arg(
                Arg::new(variable.name)
                    .long(variable.name.to_lowercase().replace('_', "-"))
                    .env(variable.name)
                    .value_name("VALUE")
                    .hide_env_values(true)
                    .global(true)
                    .help(variable.help),
            )
        });
        let matches = command.get_matches();
        config::resolve(config::VARIABLES.iter().filter_map(|variable| {
            matches
                .get_one::<String>(variable.name)
                .map(|value| (variable.name, value.clone()))
        }));
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// Writes a command's output to stdout. A reader that stops early (`salesfunnel ids | head`)
/// ends the output quietly, as for any Unix tool, instead of a panic on the broken pipe.
fn print_out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("could not write to stdout: {e}")),
        _ => Ok(()),
    }
}

/// Runs the command; an error is printed by `main`.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve { no_demo: false }) {
        Command::Healthcheck => healthcheck(),
        Command::Ids => {
            let lines: String = crate::seed::well_known_ids()
                .into_iter()
                .map(|(name, value)| format!("{name}={value}\n"))
                .collect();
            print_out(&lines)
        }
        Command::Openapi => {
            let spec = crate::startup::spec();
            let json = spec.to_pretty_json().map_err(|e| e.to_string())?;
            print_out(&format!("{json}\n"))
        }
        Command::Token { role, sub, ttl } => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            if ttl > settings.jwt.max_ttl {
                return Err(format!(
                    "--ttl {ttl} exceeds JWT_MAX_TTL ({} seconds): the service would refuse the token; \
                     ask for at most {} seconds or raise JWT_MAX_TTL",
                    settings.jwt.max_ttl, settings.jwt.max_ttl
                ));
            }
            let signer = signer(&settings)?;
            let token = signer
                .sign(role, sub.as_deref().unwrap_or(role.as_str()), ttl)
                .map_err(|e| e.to_string())?;
            print_out(&format!("{token}\n"))
        }
        Command::Migrate => with_database(|conn| {
            let applied = db::run_migrations(conn)?;
            println!("applied {} migration(s)", applied.len());
            Ok(())
        }),
        Command::Seed {
            demo: _,
            partners,
            opportunities,
        } => seed(partners, opportunities),
        Command::Serve { no_demo } => serve(no_demo),
    }
}

/// Migrates, loads the demo data set (always: bulk data refers to it), then the bulk data asked for.
fn seed(partners: Option<u32>, opportunities: Option<u32>) -> Result<(), String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let (url, embedded) = database(&settings, Sharing::Attach)?;
    let result = (|| {
        db::run_migrations(&mut connect(&settings, &url)?)?;
        crate::seed::demo(&url).map_err(|e| e.to_string())?;
        println!("demo data loaded");
        if let Some(count) = partners {
            let started = std::time::Instant::now();
            crate::seed::bulk::partners(&url, count).map_err(|e| e.to_string())?;
            println!(
                "created {count} business partners in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
        if let Some(count) = opportunities {
            let started = std::time::Instant::now();
            let mut report = |line: &str| println!("  {line}");
            let rows = crate::seed::bulk::opportunities(&url, count, &mut report).map_err(|e| e.to_string())?;
            println!(
                "created {} opportunities with {} lines, {} activities and {} stage changes in {:.1}s",
                rows.opportunities,
                rows.lines,
                rows.activities,
                rows.stage_changes,
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    })();
    drop(embedded);
    result
}

/// The HS256 signer: `JWT_SECRET`, else the embedded default's secret.
fn signer(settings: &Settings) -> Result<Signer, String> {
    match &settings.jwt.key {
        Some(JwtKey::Secret(secret)) => Ok(Signer::new(&settings.jwt, secret)),
        Some(JwtKey::PublicKey { .. }) => Err("tokens are verified with JWT_PUBLIC_KEY_FILE: they come from your \
                                               identity provider, salesfunnel can only sign HS256 tokens"
            .to_owned()),
        None => Ok(Signer::new(
            &settings.jwt,
            &db::embedded::jwt_secret(&settings.data_dir)?,
        )),
    }
}

/// Runs `f` with a connection to `DATABASE_URL`, or to the embedded server, which is stopped after.
fn with_database(f: impl FnOnce(&mut db::SyncConn) -> Result<(), String>) -> Result<(), String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let (url, embedded) = database(&settings, Sharing::Attach)?;
    let result = connect(&settings, &url).and_then(|mut conn| f(&mut conn));
    drop(embedded);
    result
}

/// GET /healthz on the configured BIND (its loopback address when it listens on all).
fn healthcheck() -> Result<(), String> {
    use std::io::{Read, Write};
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let mut address = settings.bind;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = std::time::Duration::from_secs(2);
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("healthcheck: cannot connect to {address}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("healthcheck: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("healthcheck: no answer from {address}: {e}"))?;
    match answer.lines().next() {
        Some(status) if status.starts_with("HTTP/1.1 200") => Ok(()),
        other => Err(format!(
            "healthcheck: {address} answered {}",
            other.unwrap_or("nothing")
        )),
    }
}

/// A blocking connection; its error names `DATABASE_URL` when that is where the URL came from.
fn connect(settings: &Settings, url: &str) -> Result<db::SyncConn, String> {
    db::sync_connection(url).map_err(|e| match settings.database_url {
        Some(_) => format!("DATABASE_URL: {e}"),
        None => e,
    })
}

fn database(settings: &Settings, sharing: Sharing) -> Result<(String, Option<EmbeddedPostgres>), String> {
    match &settings.database_url {
        Some(url) => Ok((url.clone(), None)),
        None => {
            let server = EmbeddedPostgres::start(&settings.data_dir, sharing)?;
            Ok((server.url().to_owned(), Some(server)))
        }
    }
}

/// Quote e-mails through `SMTP_URL`; without it, the embedded default writes them as files into
/// its data folder, and a server with `DATABASE_URL` sends none.
fn mailer(settings: &Settings, listening_on: &str) -> Result<crate::mail::Mailer, String> {
    use crate::mail::Mailer;
    let mail = &settings.mail;
    let base = mail.public_base_url.as_deref().unwrap_or(listening_on);
    let from = match &mail.from {
        Some(from) => from.clone(),
        None => crate::config::DEFAULT_FROM
            .parse()
            .map_err(|e| format!("SMTP_FROM: {e}"))?,
    };
    let mailer = match (&mail.smtp_url, &settings.database_url) {
        (Some(url), _) => Mailer::smtp(url, from, base).map_err(|e| format!("SMTP_URL: {e}"))?,
        (None, None) => Mailer::files(settings.data_dir.join("mail"), from, base)?,
        (None, Some(_)) => Mailer::off(from, base),
    };
    match mailer.describe() {
        Some(target) => log::info!("quote e-mails go to {target}"),
        None => log::warn!("SMTP_URL is not set: quotes cannot be e-mailed (POST /quotes/{{id}}/send answers 503)"),
    }
    Ok(mailer)
}

fn serve(no_demo: bool) -> Result<(), String> {
    crate::auth::self_test().map_err(|e| format!("the JWT crypto backend does not work: {e}"))?;
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let key = match &settings.jwt.key {
        Some(key) => key.clone(),
        None => JwtKey::Secret(db::embedded::jwt_secret(&settings.data_dir)?),
    };
    let verifier = Verifier::new(&settings.jwt, &key).map_err(|e| format!("JWT key: {e}"))?;
    let cursor_key = match (&settings.cursor_key, &key) {
        (Some(cursor_key), _) => cursor_key.clone(),
        (None, JwtKey::Secret(secret)) => CursorKey::derive(secret),
        // Only the embedded default gets here (the configuration requires CURSOR_SECRET otherwise).
        (None, JwtKey::PublicKey { .. }) => CursorKey::derive(&db::embedded::jwt_secret(&settings.data_dir)?),
    };
    let (url, embedded) = database(&settings, Sharing::Exclusive)?;
    let mut conn = connect(&settings, &url)?;
    let applied = db::run_migrations(&mut conn)?;
    log::info!("database ready ({} migration(s) applied)", applied.len());
    if embedded.is_some() && !no_demo && crate::seed::is_empty(&mut conn).map_err(|e| e.to_string())? {
        crate::seed::demo(&url).map_err(|e| e.to_string())?;
        log::info!("loaded the demo data set into the empty embedded database");
    }
    let admin_sub = crate::seed::first_admin(&mut conn).map_err(|e| e.to_string())?;
    drop(conn);
    let pool = db::pool(&url, &settings.database)?;
    let listener =
        TcpListener::bind(settings.bind).map_err(|e| format!("BIND: cannot listen on {}: {e}", settings.bind))?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let mailer = mailer(&settings, &base)?;
    let config = AppConfig {
        pool,
        verifier,
        cors_allowed_origins: settings.cors_allowed_origins.clone(),
        workers: None,
        webhooks: settings.webhooks,
        cursor_key,
        database: settings.database,
        rate_limit_per_minute: settings.rate_limit_per_minute,
        body_timeout: settings.body_timeout,
        feed_stall_warn: settings.feed_stall_warn,
        mailer,
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, listener).map_err(|e| e.to_string())?;
        tokio::spawn(crate::startup::drain_on_signal(app.handle()));
        println!("salesfunnel is listening on {base}");
        println!("Swagger UI: {base}/swagger-ui/");
        // Only on the embedded default (a developer's machine): with DATABASE_URL the output
        // goes to production logs, where a working admin token must never appear.
        if let (None, JwtKey::Secret(secret)) = (&settings.database_url, &key) {
            let ttl = (12 * 3600).min(settings.jwt.max_ttl);
            let token = Signer::new(&settings.jwt, secret)
                .sign(Role::Admin, admin_sub.as_deref().unwrap_or("admin"), ttl)
                .map_err(|e| e.to_string())?;
            println!(
                "Admin token (valid {} min; in Swagger UI click Authorize and paste it):\n{token}",
                ttl / 60
            );
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    });
    drop(embedded);
    result
}
