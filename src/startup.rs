//! Builds and runs the HTTP server: routes, middleware, extractor configuration, Swagger UI.

use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_http::HttpService;
use actix_http::KeepAlive;
use actix_http::error::DispatchError;
use actix_service::{IntoServiceFactory, ServiceFactory, ServiceFactoryExt, apply_fn_factory, fn_service, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::{Condition, Logger};
use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse};
use actix_web_prom::PrometheusMetrics;
use tokio::net::TcpStream;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Spec;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::Verifier;
use crate::batch::dispatch::Dispatcher;
use crate::config::{DatabaseSettings, WebhookSettings};
use crate::db::DbPool;
use crate::http::budget::Budget;
use crate::http::envelope::{self, REQUEST_ID};
use crate::http::limits::Limiter;
use crate::http::pagination::CursorKey;
use crate::http::wire::ProblemIo;
use crate::http::{idempotency, path_error, query_error};
use crate::openapi::{ApiDoc, add_shared_responses};
use crate::ops::fallback::{RouteTable, fallback};
use crate::webhooks::worker::Worker;

/// Registers every documented route: the API under `/api/v1`, operations at the root.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .configure(crate::users::routes::configure)
            .configure(crate::partners::routes::configure)
            .configure(crate::contacts::routes::configure)
            .configure(crate::stages::routes::configure)
            .configure(crate::lost_reasons::routes::configure)
            .configure(crate::custom_fields::routes::configure)
            .configure(crate::funnels::routes::configure)
            .configure(crate::board::routes::configure)
            .configure(crate::classes::routes::configure)
            .configure(crate::articles::routes::configure)
            .configure(crate::exchange_rates::routes::configure)
            .configure(crate::settings::routes::configure)
            .configure(crate::activities::routes::configure)
            .configure(crate::opportunities::routes::configure)
            .configure(crate::opportunity_lines::routes::configure)
            .configure(crate::quotes::routes::configure)
            .configure(crate::quote_sendings::routes::configure)
            .configure(crate::quotas::routes::configure)
            .configure(crate::reports::routes::configure)
            .configure(crate::events::routes::configure)
            .configure(crate::webhooks::routes::configure)
            .configure(crate::batch::routes::configure),
    )
    .configure(crate::public_quotes::routes::configure)
    .configure(crate::ops::routes::configure);
}

/// The complete OpenAPI document, as served and as committed in `openapi/openapi.json`.
pub fn spec() -> Spec {
    let (_, mut spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    add_shared_responses(&mut spec);
    crate::events::schema::typed_events(&mut spec);
    spec
}

/// What the server needs from the outside.
pub struct AppConfig {
    pub pool: DbPool,
    pub verifier: Verifier,
    pub cors_allowed_origins: Vec<String>,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// Polling and retries of the webhook delivery worker.
    pub webhooks: WebhookSettings,
    /// Signs list cursors; the same on every replica.
    pub cursor_key: CursorKey,
    /// The request time budget on the database and the idle time of pooled connections.
    pub database: DatabaseSettings,
    /// Requests per minute and caller on this replica; 0: no limit.
    pub rate_limit_per_minute: u32,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// How long the event feed may be held before a WARN names the transaction holding it.
    pub feed_stall_warn: Duration,
    /// Where quote e-mails go and where their links point.
    pub mailer: crate::mail::Mailer,
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    webhook_worker: Worker,
}

impl Application {
    pub fn build(config: AppConfig, listener: TcpListener) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let spec = spec();
        let table = Data::new(RouteTable::from_spec(&spec));
        let (prometheus, registry, feed_gauges, statements) =
            crate::ops::metrics::build(&config.pool).map_err(std::io::Error::other)?;
        let registry = Data::new(registry);
        let background_pool = config.pool.clone();
        let detached = Data::new(crate::db::request::DetachedLimit::new(&config.pool));
        let pool = Data::new(config.pool);
        let verifier = Data::new(config.verifier);
        let cursor_key = Data::new(config.cursor_key);
        let webhook_settings = Data::new(config.webhooks);
        let mailer = Data::new(config.mailer);
        let origins = config.cors_allowed_origins;
        let limiter = Limiter::new(config.rate_limit_per_minute);
        if let Some(limiter) = &limiter {
            tokio::spawn(limiter.clone().forget_idle());
        }
        // The pool gives up waiting for a connection after `timeout`; a request whose query does
        // not come back (a frozen or partitioned database) is cut a little later.
        let budget = Budget {
            body: config.body_timeout,
            database: config.database.timeout + Duration::from_millis(500),
        };
        let parts = Parts {
            pool,
            detached,
            verifier,
            cursor_key,
            webhook_settings,
            mailer,
            registry,
            table,
            budget,
            limiter,
            prometheus,
            statements,
        };
        let app = move || {
            // Each worker's batch endpoint calls a copy of the API of its own.
            api(&parts)
                .app_data(Dispatcher::new(api(&parts)))
                .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", spec.clone()))
                .route("/swagger-ui", web::get().to(to_swagger_ui))
                .route("/", web::get().to(to_swagger_ui))
                .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
        };
        let server = serve(app, listener, config.workers)?;
        tokio::spawn(crate::reports::store::keep_compact(background_pool.clone()));
        tokio::spawn(sweep_idempotency_keys(background_pool.clone()));
        tokio::spawn(crate::ops::feed_watch::watch(
            background_pool.clone(),
            feed_gauges,
            config.feed_stall_warn,
        ));
        tokio::spawn(crate::db::close_idle(
            background_pool.clone(),
            config.database.pool_idle,
        ));
        let webhook_worker =
            crate::webhooks::worker::spawn(background_pool, config.webhooks).map_err(std::io::Error::other)?;
        Ok(Self {
            server,
            port,
            webhook_worker,
        })
    }

    /// Stops the server from outside (see [`drain_on_signal`]).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (graceful shutdown) and
    /// lets the webhook worker finish the deliveries it has under way.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.webhook_worker.stop().await;
        result
    }
}

/// What the apps of every worker share.
#[derive(Clone)]
struct Parts {
    pool: Data<DbPool>,
    detached: Data<crate::db::request::DetachedLimit>,
    verifier: Data<Verifier>,
    cursor_key: Data<CursorKey>,
    webhook_settings: Data<WebhookSettings>,
    mailer: Data<crate::mail::Mailer>,
    registry: Data<prometheus::Registry>,
    table: Data<RouteTable>,
    budget: Budget,
    limiter: Option<Limiter>,
    prometheus: PrometheusMetrics,
    statements: prometheus::HistogramVec,
}

/// The API with its middleware: what clients call, and what a batch's operations go through.
fn api(
    parts: &Parts,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    let budget = parts.budget;
    let limiter = parts.limiter.clone();
    let statements = parts.statements.clone();
    App::new()
        .into_utoipa_app()
        .configure(routes)
        .into_app()
        .app_data(parts.pool.clone())
        .app_data(parts.detached.clone())
        .app_data(parts.verifier.clone())
        .app_data(parts.cursor_key.clone())
        .app_data(parts.webhook_settings.clone())
        .app_data(parts.mailer.clone())
        .app_data(parts.registry.clone())
        .app_data(parts.table.clone())
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .default_service(web::to(fallback))
        .wrap_fn(crate::http::deferred::merge)
        .wrap_fn(crate::http::conditional::not_modified)
        .wrap_fn(crate::ops::fallback::known_query)
        .wrap(crate::http::retry::RetryContended)
        .wrap_fn(move |req, srv| {
            let timer = budget.start(&req);
            let call = timer.run(srv.call(req));
            // An error here is answered by actix with its problem+json response.
            async move { call.await.unwrap_or_else(|timed_out| Err(timed_out.into())) }
        })
        .wrap_fn(move |req, srv| crate::http::limits::limit(&limiter, req, srv))
        .wrap_fn(move |req, srv| crate::ops::metrics::count_statements(statements.clone(), srv.call(req)))
        .wrap(parts.prometheus.clone())
        .wrap(
            Logger::new(crate::logging::ACCESS_LOG_FORMAT)
                .custom_request_replace("method", |req| req.method().to_string())
                .custom_request_replace("route", |req| {
                    req.match_pattern().unwrap_or_else(|| "unmatched".to_owned())
                })
                .custom_response_replace("user", crate::logging::user_of),
        )
}

async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/swagger-ui/"))
        .finish()
}

fn cors(origins: &[String]) -> Cors {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
            REQUEST_ID,
        ])
        .expose_headers([header::ETAG, header::LOCATION, REQUEST_ID])
        .max_age(3600)
}

/// Serves `app` on `listener` as actix-web's `HttpServer` would (HTTP/1.1, its timeouts, 30 s
/// to drain on stop), with two layers it has no hooks for: [`envelope::around`] around the app,
/// and [`ProblemIo`] under the HTTP/1 dispatcher for the errors it answers itself.
fn serve<F, A, B>(app: F, listener: TcpListener, workers: Option<usize>) -> std::io::Result<Server>
where
    F: Fn() -> App<A> + Send + Clone + 'static,
    A: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let mut builder = actix_server::Server::build()
        .shutdown_timeout(30)
        // actix stops at once on SIGINT; here Ctrl-C drains in-flight requests like SIGTERM.
        .disable_signals();
    if let Some(workers) = workers {
        builder = builder.workers(workers);
    }
    let draining = builder.graceful_shutdown_signal();
    Ok(builder
        .listen("salesfunnel", listener, move || {
            let draining = draining.clone();
            let app = map_config(app().into_factory(), |()| actix_web::dev::AppConfig::default());
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let draining = draining.clone();
                    async move { draining.notified().await }
                })
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(address)
                .h1(apply_fn_factory(app, envelope::around));
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((ProblemIo::new(io), peer))
            })
            .and_then(http)
        })?
        .run())
}

/// Deletes expired idempotency keys once an hour.
async fn sweep_idempotency_keys(pool: DbPool) {
    let mut interval = tokio::time::interval(Duration::from_secs(3600));
    loop {
        interval.tick().await;
        match idempotency::purge_expired(&pool).await {
            Ok(n) if n > 0 => log::info!("purged {n} expired idempotency keys"),
            Ok(_) => {}
            Err(e) => log::warn!("could not purge idempotency keys: {e}"),
        }
    }
}

/// Waits for SIGINT or SIGTERM, then stops accepting and lets in-flight requests finish (up to
/// the shutdown timeout).
pub async fn drain_on_signal(server: actix_web::dev::ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        log::warn!("cannot listen for SIGINT/SIGTERM; stop the server with SIGKILL");
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => log::info!("SIGINT: draining in-flight requests"),
        _ = terminate.recv() => log::info!("SIGTERM: draining in-flight requests"),
    }
    server.stop(true).await;
}
