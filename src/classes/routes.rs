//! `/classes`: class codes (KlassenID) that route a new opportunity to a default funnel and
//! owner. Admins write; everyone reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::changes;
use super::store::{self, ClassChanges, ClassRow};
use super::view::Class;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{FunnelId, UserId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

fn class_code(value: &str) -> Result<(), validator::ValidationError> {
    let valid = (1..=30).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(validator::ValidationError::new("class_code").with_message("must be 1 to 30 of A-Z, 0-9, _ and -".into()))
    }
}

/// A new class.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "NEUWAGEN", "description": "Neufahrzeuge",
    "default_funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40"}))]
pub struct NewClassRequest {
    #[validate(custom(function = "class_code"))]
    #[schema(pattern = "^[A-Z0-9_-]{1,30}$")]
    pub id: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub default_funnel_id: Option<FunnelId>,
    #[schema(value_type = Option<Uuid>)]
    pub default_owner_id: Option<UserId>,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// Changes to a class (JSON merge patch); the code cannot change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"default_owner_id": null}))]
pub struct ClassPatch {
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Option<Uuid>>)]
    pub default_funnel_id: Option<Option<FunnelId>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Option<Uuid>>)]
    pub default_owner_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// Filters of the class list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClassQuery {
    pub active: Option<bool>,
    /// Case-insensitive substring of code or description.
    pub q: Option<String>,
}

const BY_CODE: SortKey = SortKey {
    name: "id",
    column: "id",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists classes, ordered by code.
#[utoipa::path(
    tag = "classes",
    params(ClassQuery, PageParams),
    responses((status = 200, description = "One page of classes", body = Paged<Class>)),
    security(("bearer" = []))
)]
#[get("/classes")]
async fn list_classes(
    db: Db,
    who: Principal,
    query: Query<ClassQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_CODE)?;
    let rows = store::list(&mut *db.connection().await?, query.active, query.q.as_deref(), &page).await?;
    Ok(HttpResponse::Ok().json(page.finish(rows, |row| (row.id.clone(), Uuid::nil())).map(Class::from)))
}

/// Gets one class.
#[utoipa::path(
    tag = "classes",
    params(("id" = String, Path, description = "Class code")),
    responses(
        (status = 200, description = "The class", body = Class, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/classes/{id}")]
async fn get_class(db: Db, who: Principal, id: Path<String>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, &id).await?;
    Ok(ok(&Class::from(row)))
}

/// Creates a class (admin); an existing code is a 409.
#[utoipa::path(
    tag = "classes",
    request_body = NewClassRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Class,
            headers(("Location" = String, description = "URL of the new class"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/classes")]
async fn create_class(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewClassRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let r = body.parse()?;
    let now = Utc::now();
    let row = ClassRow {
        id: r.id,
        description: r.description,
        default_funnel_id: r.default_funnel_id,
        default_owner_id: r.default_owner_id,
        active: r.active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(Class::from) })
    })
    .await
}

/// Changes a class (admin); honours `If-Match`.
#[utoipa::path(
    tag = "classes",
    params(("id" = String, Path, description = "Class code"), IfMatch),
    request_body(content = ClassPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Class, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/classes/{id}")]
async fn update_class(
    db: Db,
    who: Principal,
    id: Path<String>,
    if_match: IfMatch,
    body: JsonBody<ClassPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = ClassChanges {
        description: p.description,
        default_funnel_id: p.default_funnel_id,
        default_owner_id: p.default_owner_id,
        active: p.active,
    };
    let row = changes::update(&mut *db.connection().await?, &who.subject, &id, &if_match, &changes).await?;
    Ok(ok(&Class::from(row)))
}

/// Deletes a class no opportunity refers to (admin); otherwise 409.
#[utoipa::path(
    tag = "classes",
    params(("id" = String, Path, description = "Class code"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/classes/{id}")]
async fn delete_class(db: Db, who: Principal, id: Path<String>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    changes::delete(&mut *db.connection().await?, &who.subject, &id, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the class routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_classes)
        .service(get_class)
        .service(create_class)
        .service(update_class)
        .service(delete_class);
}
