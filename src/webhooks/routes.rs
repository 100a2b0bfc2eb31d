//! `/webhooks`: where events are POSTed. Admins only; the secret is write-only.

use std::collections::BTreeSet;

use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::WebhookEventType;
use super::store::{self, WebhookChanges, WebhookRow};
use crate::access::{Principal, Role};
use crate::config::WebhookSettings;
use crate::db::Db;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, Resource, ok, patch as merge};
use crate::openapi::responses::{Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A webhook: where events are POSTed, and which. The secret is never shown again after
/// creation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f60", "url": "https://erp.example.com/hooks/salesfunnel",
    "event_types": ["opportunity.won", "business_partner.created"], "active": true,
    "description": "ERP order import", "batch_size": 1, "created_at": "2026-11-22T09:15:00Z",
    "updated_at": "2026-11-22T09:15:00Z", "version": 1
}))]
pub struct Webhook {
    pub id: Uuid,
    /// Absolute `http` or `https` URL that receives the POSTs.
    pub url: String,
    /// The event types delivered, or `["*"]` for all.
    pub event_types: Vec<WebhookEventType>,
    /// Inactive webhooks get no deliveries; events published meanwhile are skipped for good.
    pub active: bool,
    pub description: Option<String>,
    /// 1: each event is POSTed alone. More: up to this many consecutive events of the webhook
    /// are POSTed together as `{"events": [...]}` (see `NewWebhookRequest`).
    pub batch_size: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        let types: BTreeSet<WebhookEventType> = row
            .event_types
            .iter()
            .flatten()
            .filter_map(|name| name.parse().ok())
            .collect();
        Self {
            id: row.id,
            url: super::target::shown(&row.url),
            event_types: types.into_iter().collect(),
            active: row.active,
            description: row.description,
            batch_size: row.batch_size,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Webhook {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/webhooks/{}", self.id)
    }
}

/// A webhook just created: the only response that shows its `secret`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f60", "url": "https://erp.example.com/hooks/salesfunnel",
    "event_types": ["opportunity.won", "business_partner.created"], "active": true,
    "description": "ERP order import", "batch_size": 1, "created_at": "2026-11-22T09:15:00Z",
    "updated_at": "2026-11-22T09:15:00Z", "version": 1,
    "secret": "whsec_8f14e45fceea167a5a36dedd4bea2543f4b3c2a1d0e9f8a7b6c5d4e3f2a1b0c9"
}))]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `X-Salesfunnel-Signature`. Shown only here: store it now.
    pub secret: String,
}

impl Resource for CreatedWebhook {
    fn version(&self) -> i32 {
        self.webhook.version
    }
    fn location(&self) -> String {
        self.webhook.location()
    }
}

/// A new webhook.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://erp.example.com/hooks/salesfunnel",
    "event_types": ["opportunity.won", "business_partner.created"],
    "description": "ERP order import"
}))]
pub struct NewWebhookRequest {
    /// Absolute `http` or `https` URL, without user name or password. Its host must not be, or
    /// resolve to, a loopback, private, link-local, multicast or unspecified address (numeric
    /// shorthand such as `127.1` is refused too), unless the server runs with
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`; it is checked again at every delivery.
    #[validate(custom(function = "webhook_url"))]
    #[schema(max_length = 2000, pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$")]
    pub url: String,
    /// At least one event type; `*` subscribes to every type.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub event_types: Vec<WebhookEventType>,
    /// The signing key, 16 to 200 characters, at least 8 of them different and no whitespace;
    /// a random one is generated when absent.
    #[validate(custom(function = "webhook_secret"))]
    #[schema(min_length = 16, max_length = 200, pattern = r"^\S+$", write_only)]
    pub secret: Option<String>,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// 1 (default): one POST per event. 2 to 100: a POST carries up to this many consecutive
    /// events, in `seq` order, as `{"events": [...]}` (each item as `GET /events` serves it),
    /// signed as a whole; a 2xx delivers them all, anything else retries them all. For a
    /// receiver that answers slowly: events in order reach it up to this many times faster.
    #[serde(default = "one")]
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100, default = 1)]
    pub batch_size: i32,
}

fn one() -> i32 {
    1
}

/// Changes to a webhook (JSON merge patch). A new `secret` takes effect with the next attempt
/// and is not shown.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct WebhookPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "webhook_url"))]
    #[schema(
        nullable = false,
        max_length = 2000,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$"
    )]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(min = 1, max = 20))]
    #[schema(nullable = false, min_items = 1, max_items = 20)]
    pub event_types: Option<Vec<WebhookEventType>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "webhook_secret"))]
    #[schema(nullable = false, min_length = 16, max_length = 200, pattern = r"^\S+$", write_only)]
    pub secret: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(range(min = 1, max = 100))]
    #[schema(nullable = false, minimum = 1, maximum = 100)]
    pub batch_size: Option<i32>,
}

/// Filters of the webhook list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    pub active: Option<bool>,
}

/// `validator` check: an absolute http(s) URL with a host, at most 2000 characters.
fn webhook_url(url: &str) -> Result<(), ValidationError> {
    let fine = url.len() <= 2000
        && reqwest::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()));
    if fine {
        Ok(())
    } else {
        Err(ValidationError::new("url").with_message("must be an absolute http or https URL".into()))
    }
}

/// `validator` check: a secret that is hard to guess: 16 to 200 characters, at least 8 of them
/// different, no whitespace.
fn webhook_secret(secret: &str) -> Result<(), ValidationError> {
    let distinct: BTreeSet<char> = secret.chars().collect();
    let length = secret.chars().count();
    if !(16..=200).contains(&length) || secret.chars().any(char::is_whitespace) || distinct.len() < 8 {
        Err(ValidationError::new("weak_secret").with_message(
            "must be 16 to 200 characters long, with at least 8 different characters and no whitespace".into(),
        ))
    } else {
        Ok(())
    }
}

/// The 422 for a target that [`target::check`](super::target::check) refuses.
async fn check_target(url: &str, settings: &WebhookSettings) -> Result<(), AppError> {
    super::target::check(url, settings.allow_private_targets)
        .await
        .map_err(|refusal| AppError::invalid("url", "forbidden_target", refusal.to_string()))
}

/// Stored sorted and without repeats; `*` alone when it is among them.
fn stored_types(types: &[WebhookEventType]) -> Vec<Option<String>> {
    let set: BTreeSet<WebhookEventType> = types.iter().copied().collect();
    if set.contains(&WebhookEventType::Any) {
        return vec![Some(WebhookEventType::Any.as_str().to_owned())];
    }
    set.into_iter().map(|t| Some(t.as_str().to_owned())).collect()
}

/// 32 bytes from rand's thread-local CSPRNG (ChaCha, seeded by the operating system), as hex.
fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("whsec_{}", hex::encode(bytes))
}

const BY_CREATED: SortKey = SortKey {
    name: "created_at",
    column: "created_at",
    descending: false,
    kind: KeyKind::Timestamp,
};

/// Lists webhooks, oldest first (admin).
#[utoipa::path(
    tag = "webhooks",
    params(WebhookQuery, PageParams),
    responses(
        (status = 200, description = "One page of webhooks", body = Paged<Webhook>),
        (status = 403, response = Forbidden)
    ),
    security(("bearer" = []))
)]
#[get("/webhooks")]
async fn list_webhooks(
    db: Db,
    who: Principal,
    query: Query<WebhookQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let page = Page::new(&page, BY_CREATED)?;
    let rows = store::list(&mut *db.connection().await?, query.active, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (time_key(&row.created_at), row.id))
            .map(Webhook::from),
    ))
}

/// Gets one webhook, without its secret (admin).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook", body = Webhook, headers(("ETag" = String, description = "Current version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
async fn get_webhook(db: Db, who: Principal, id: Path<Uuid>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let row = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    Ok(ok(&Webhook::from(row)))
}

/// Registers a webhook (admin). It receives the events published from now on; the answer is
/// the only one that shows the secret.
#[utoipa::path(
    tag = "webhooks",
    request_body = NewWebhookRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; the only response with the secret", body = CreatedWebhook,
            headers(("Location" = String, description = "URL of the new webhook"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/webhooks")]
async fn create_webhook(
    db: Db,
    settings: Data<WebhookSettings>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewWebhookRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let r = body.parse()?;
    check_target(&r.url, &settings).await?;
    let now = Utc::now();
    let row = WebhookRow {
        id: Uuid::now_v7(),
        url: r.url,
        event_types: stored_types(&r.event_types),
        secret: r.secret.unwrap_or_else(generate_secret),
        active: r.active,
        description: r.description,
        last_seq: 0,
        created_at: now,
        updated_at: now,
        version: 1,
        batch_size: r.batch_size,
    };
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move {
            let row = store::insert(conn, &row).await?;
            let secret = row.secret.clone();
            Ok(CreatedWebhook {
                webhook: Webhook::from(row),
                secret,
            })
        })
    })
    .await
}

/// Changes a webhook (admin); honours `If-Match`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), IfMatch),
    request_body(content = WebhookPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Webhook, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/webhooks/{id}")]
async fn update_webhook(
    db: Db,
    settings: Data<WebhookSettings>,
    who: Principal,
    id: Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<WebhookPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    if let Some(url) = &p.url {
        check_target(url, &settings).await?;
    }
    let changes = WebhookChanges {
        url: p.url,
        event_types: p.event_types.as_deref().map(stored_types),
        secret: p.secret,
        active: p.active,
        description: p.description,
        batch_size: p.batch_size,
    };
    let row = store::update(&mut *db.connection().await?, id.into_inner(), &if_match, &changes).await?;
    Ok(ok(&Webhook::from(row)))
}

/// Deletes a webhook with its delivery history (admin); honours `If-Match`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
async fn delete_webhook(db: Db, who: Principal, id: Path<Uuid>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    store::delete(&mut *db.connection().await?, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the webhook routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(get_webhook)
        .service(create_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(super::deliveries::list_deliveries)
        .service(super::deliveries::redeliver)
        .service(super::deliveries::ping);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventType;

    #[test]
    fn only_absolute_http_urls_with_a_host_pass() {
        for good in ["https://erp.example.com/hooks", "http://127.0.0.1:9000/x?y=1"] {
            assert!(webhook_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://erp.example.com/",
            "/hooks",
            "erp.example.com",
            "https://",
            "mailto:a@b.c",
        ] {
            assert!(webhook_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_types_are_stored_sorted_once_and_any_absorbs_the_rest() {
        let stored = stored_types(&[
            WebhookEventType::Event(EventType::QuoteSent),
            WebhookEventType::Event(EventType::OpportunityWon),
            WebhookEventType::Event(EventType::QuoteSent),
        ]);
        assert_eq!(
            stored,
            vec![Some("opportunity.won".to_owned()), Some("quote.sent".to_owned())]
        );
        assert_eq!(
            stored_types(&[WebhookEventType::Event(EventType::QuoteSent), WebhookEventType::Any]),
            vec![Some("*".to_owned())]
        );
    }

    #[test]
    fn generated_secrets_are_long_and_differ() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_eq!(a.len(), 6 + 64);
        assert_ne!(a, b);
    }
}
