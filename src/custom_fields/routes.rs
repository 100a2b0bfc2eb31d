//! `/custom-fields`: the definitions of the `custom` values of opportunities, business
//! partners, contacts, quotes and activities. Admins write; everyone reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::changes;
use super::store::{self, CustomFieldChanges, CustomFieldRow};
use super::view::CustomField;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::custom::{CustomResource, FieldType, valid_key};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{CustomFieldId, StageId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

fn key_pattern(key: &str) -> Result<(), ValidationError> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(ValidationError::new("pattern").with_message("must match [a-z][a-z0-9_]{0,39}".into()))
    }
}

fn option_texts(options: &[String]) -> Result<(), ValidationError> {
    if options.len() > 200 || options.iter().any(|o| o.trim().is_empty() || o.chars().count() > 100) {
        Err(ValidationError::new("options")
            .with_message("at most 200 options of 1 to 100 characters, not blank".into()))
    } else {
        Ok(())
    }
}

/// A new custom field.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resource": "opportunity", "key": "financing", "label": "Finanzierung",
    "type": "enum", "options": ["Leasing", "Kredit", "Bar"], "show_on_quote": true}))]
pub struct NewCustomFieldRequest {
    pub resource: CustomResource,
    #[validate(custom(function = "key_pattern"))]
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Required (non-empty) for `enum` and `multi_enum`, refused for other types.
    #[serde(default)]
    #[validate(custom(function = "option_texts"))]
    pub options: Vec<String>,
    /// Opportunities only.
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>)]
    pub required_from_stage_ids: Vec<StageId>,
    #[serde(default)]
    pub show_on_quote: bool,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// Changes to a custom field (JSON merge patch). `type` may change only while no record holds
/// a value; an option may be removed only while no record holds it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "Leasingdauer (Monate)", "show_on_quote": false}))]
pub struct CustomFieldPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub label: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub field_type: Option<FieldType>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "option_texts"))]
    #[schema(nullable = false)]
    pub options: Option<Vec<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<Vec<Uuid>>)]
    pub required_from_stage_ids: Option<Vec<StageId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub show_on_quote: Option<bool>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// Filters of the custom field list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomFieldQuery {
    pub resource: Option<CustomResource>,
    pub active: Option<bool>,
}

const BY_KEY: SortKey = SortKey {
    name: "key",
    column: "key",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists custom fields, ordered by key.
#[utoipa::path(
    tag = "custom-fields",
    params(CustomFieldQuery, PageParams),
    responses((status = 200, description = "One page of custom fields", body = Paged<CustomField>)),
    security(("bearer" = []))
)]
#[get("/custom-fields")]
async fn list_custom_fields(
    db: Db,
    who: Principal,
    query: Query<CustomFieldQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_KEY)?;
    let rows = store::list(&mut *db.connection().await?, query.resource, query.active, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (row.key.clone(), row.id))
            .map(CustomField::from),
    ))
}

/// Gets one custom field.
#[utoipa::path(
    tag = "custom-fields",
    params(("id" = Uuid, Path, description = "Custom field id")),
    responses(
        (status = 200, description = "The custom field", body = CustomField, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/custom-fields/{id}")]
async fn get_custom_field(db: Db, who: Principal, id: Path<CustomFieldId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    Ok(ok(&CustomField::from(row)))
}

/// Creates a custom field (admin); a key taken for the resource is a 409.
#[utoipa::path(
    tag = "custom-fields",
    request_body = NewCustomFieldRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = CustomField,
            headers(("Location" = String, description = "URL of the new custom field"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/custom-fields")]
async fn create_custom_field(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewCustomFieldRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let r = body.parse()?;
    let now = Utc::now();
    let row = CustomFieldRow {
        id: CustomFieldId::generate(),
        resource: r.resource,
        key: r.key,
        label: r.label.trim().to_owned(),
        type_: r.field_type,
        options: r.options.into_iter().map(Some).collect(),
        required_from_stage_ids: r.required_from_stage_ids.into_iter().map(Some).collect(),
        show_on_quote: r.show_on_quote,
        active: r.active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(CustomField::from) })
    })
    .await
}

/// Changes a custom field (admin); honours `If-Match`. Changing `type` while records hold
/// values, or removing an option a record holds, is a 409.
#[utoipa::path(
    tag = "custom-fields",
    params(("id" = Uuid, Path, description = "Custom field id"), IfMatch),
    request_body(content = CustomFieldPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = CustomField, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/custom-fields/{id}")]
async fn update_custom_field(
    db: Db,
    who: Principal,
    id: Path<CustomFieldId>,
    if_match: IfMatch,
    body: JsonBody<CustomFieldPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = CustomFieldChanges {
        label: p.label.map(|l| l.trim().to_owned()),
        type_: p.field_type,
        options: p.options.map(|o| o.into_iter().map(Some).collect()),
        required_from_stage_ids: p.required_from_stage_ids.map(|s| s.into_iter().map(Some).collect()),
        show_on_quote: p.show_on_quote,
        active: p.active,
    };
    let row = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        &changes,
    )
    .await?;
    Ok(ok(&CustomField::from(row)))
}

/// Deletes a custom field (admin). Records keep their values, which are no longer shown.
#[utoipa::path(
    tag = "custom-fields",
    params(("id" = Uuid, Path, description = "Custom field id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/custom-fields/{id}")]
async fn delete_custom_field(
    db: Db,
    who: Principal,
    id: Path<CustomFieldId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    changes::delete(&mut *db.connection().await?, &who.subject, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the custom field routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_custom_fields)
        .service(get_custom_field)
        .service(create_custom_field)
        .service(update_custom_field)
        .service(delete_custom_field);
}
