//! `/users`: the people who use salesfunnel and their roles. Admins write; everyone reads.

use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes;
use super::store::{self, NewUser, UserChanges, UserFilter};
use super::view::User;
use crate::access::{Principal, Role};
use crate::auth::Verifier;
use crate::db::Db;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::UserId;
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new user.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "anna.schmidt@autohaus-example.de", "display_name": "Anna Schmidt", "role": "rep"}))]
pub struct NewUserRequest {
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    pub role: Role,
    /// Defaults to true.
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// Changes to a user (JSON merge patch); absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "manager"}))]
pub struct UserPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// Filters of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (true) or inactive (false) users.
    pub active: Option<bool>,
    /// Case-insensitive substring of e-mail or display name.
    #[param(example = "schmidt")]
    pub q: Option<String>,
}

const BY_EMAIL: SortKey = SortKey {
    name: "email",
    column: "lower(email)",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists users, ordered by e-mail.
#[utoipa::path(
    tag = "users",
    params(UserQuery, PageParams),
    responses((status = 200, description = "One page of users", body = Paged<User>)),
    security(("bearer" = []))
)]
#[get("/users")]
async fn list_users(
    db: Db,
    who: Principal,
    query: Query<UserQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_EMAIL)?;
    let query = query.into_inner();
    let filter = UserFilter {
        role: query.role,
        active: query.active,
        q: query.q,
    };
    let rows = store::list(&mut *db.connection().await?, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (row.email.to_lowercase(), row.id))
            .map(User::from),
    ))
}

/// Gets one user.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
async fn get_user(db: Db, who: Principal, id: Path<UserId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    let row = store::find(&mut *db.connection().await?, id).await?;
    Ok(ok(&User::from(row)))
}

/// Creates a user (admin).
#[utoipa::path(
    tag = "users",
    request_body = NewUserRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = User,
            headers(("Location" = String, description = "URL of the new user"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/users")]
async fn create_user(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewUserRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let request = body.parse()?;
    let new = NewUser {
        id: UserId::generate(),
        email: request.email.trim().to_owned(),
        display_name: request.display_name.trim().to_owned(),
        role: request.role,
        active: request.active,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &new).await.map(User::from) })
    })
    .await
}

/// Changes a user (admin); honours `If-Match`.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), IfMatch),
    request_body(content = UserPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = User, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
async fn update_user(
    db: Db,
    verifier: Data<Verifier>,
    who: Principal,
    id: Path<UserId>,
    if_match: IfMatch,
    body: JsonBody<UserPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let id = id.into_inner();
    let patch = body.parse()?;
    let changes = UserChanges {
        email: patch.email.map(|e| e.trim().to_owned()),
        display_name: patch.display_name.map(|n| n.trim().to_owned()),
        role: patch.role,
        active: patch.active,
    };
    let row = changes::update(&mut *db.connection().await?, &who.subject, id, &if_match, &changes).await?;
    verifier.forget_user(id);
    Ok(ok(&User::from(row)))
}

/// Deletes a user who owns nothing (admin); otherwise 409 — deactivate instead.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/users/{id}")]
async fn delete_user(
    db: Db,
    verifier: Data<Verifier>,
    who: Principal,
    id: Path<UserId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let id = id.into_inner();
    changes::delete(&mut *db.connection().await?, &who.subject, id, &if_match).await?;
    verifier.forget_user(id);
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the user routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_users)
        .service(get_user)
        .service(create_user)
        .service(update_user)
        .service(delete_user);
}
