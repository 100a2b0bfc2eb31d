//! `/business-partners`: leads and customers. Everyone but viewers writes; admins and managers
//! delete.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes::{self, NewPartner, PartnerChanges};
use super::store::{self, PartnerFilter, PartnerKind, PartnerRow};
use super::view::Partner;
use crate::access::{Principal, Role};
use crate::custom_fields::filters::{self, CustomFilterParams};
use crate::custom_fields::values::Sent;
use crate::custom_fields::view::CustomValues;
use crate::db::Db;
use crate::domain::contact;
use crate::domain::custom::CustomResource;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{CountParams, KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{PartnerId, UserId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new business partner.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "lead", "name": "Autohaus Müller GmbH", "email": "info@autohaus-mueller.example",
    "phone": "+49 89 1234567", "street": "Leopoldstraße 12", "postal_code": "80802", "city": "München",
    "country": "DE", "vat_id": "DE123456789"
}))]
pub struct NewPartnerRequest {
    pub kind: PartnerKind,
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "contact::phone"))]
    #[schema(
        pattern = r"^[ +\-/().]*([0-9][ +\-/().]*){3,20}$",
        max_length = 40,
        example = "+49 89 1234567"
    )]
    pub phone: Option<String>,
    #[validate(url, length(max = 500))]
    #[schema(format = "uri", max_length = 500)]
    pub website: Option<String>,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub street: Option<String>,
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: Option<String>,
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[validate(custom(function = "contact::country"))]
    #[schema(value_type = Option<contact::Country>)]
    pub country: Option<String>,
    #[validate(custom(function = "contact::vat_id"))]
    #[schema(pattern = "^[A-Z]{2}[A-Za-z0-9]{2,13}$", example = "DE123456789")]
    pub vat_id: Option<String>,
    /// Defaults to the calling user, when the caller is a user.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// The ERP's key (admin and integration only); unique, compared exactly.
    #[validate(custom(function = "crate::http::external_id"))]
    #[schema(min_length = 1, max_length = 200, example = "D-10042")]
    pub external_id: Option<String>,
    /// Custom field values by key (see `/custom-fields?resource=business_partner`).
    #[schema(value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
}

impl NewPartnerRequest {
    /// The command's input, with owner and `external_id` as the caller settled them.
    fn into_new(self, owner_id: Option<UserId>, external_id: Option<String>) -> NewPartner {
        NewPartner {
            id: PartnerId::generate(),
            kind: self.kind,
            name: self.name.trim().to_owned(),
            email: self.email,
            phone: self.phone,
            website: self.website,
            street: self.street,
            postal_code: self.postal_code,
            city: self.city,
            country: self.country,
            vat_id: self.vat_id,
            owner_id,
            notes: self.notes,
            external_id,
            custom: self.custom,
        }
    }
}

/// Changes to a business partner (JSON merge patch): absent fields stay, `null` clears an
/// optional field. `kind` changes from lead to customer are better done with `convert`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+49 89 7654321", "notes": null}))]
pub struct PartnerPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub kind: Option<PartnerKind>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::phone"))]
    #[schema(
        pattern = r"^[ +\-/().]*([0-9][ +\-/().]*){3,20}$",
        max_length = 40,
        example = "+49 89 1234567"
    )]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(url, length(max = 500))]
    #[schema(format = "uri", max_length = 500)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub street: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::country"))]
    #[schema(value_type = Option<contact::Country>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::vat_id"))]
    #[schema(pattern = "^[A-Z]{2}[A-Za-z0-9]{2,13}$", example = "DE123456789")]
    pub vat_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Option<Uuid>>)]
    pub owner_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub notes: Option<Option<String>>,
    /// The ERP's key (admin and integration only); `null` removes it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "crate::http::external_id"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<Option<String>>,
    /// Merged onto the custom values; a key set to null is removed.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
}

/// Sort orders of the partner list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum PartnerSort {
    #[default]
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    #[serde(rename = "updated_at")]
    UpdatedAt,
    #[serde(rename = "-updated_at")]
    UpdatedAtDesc,
}

impl PartnerSort {
    fn key(self) -> SortKey {
        let (name, column, descending, kind) = match self {
            Self::Name => ("name", "name", false, KeyKind::Text),
            Self::NameDesc => ("-name", "name", true, KeyKind::Text),
            Self::CreatedAt => ("created_at", "created_at", false, KeyKind::Timestamp),
            Self::CreatedAtDesc => ("-created_at", "created_at", true, KeyKind::Timestamp),
            Self::UpdatedAt => ("updated_at", "updated_at", false, KeyKind::Timestamp),
            Self::UpdatedAtDesc => ("-updated_at", "updated_at", true, KeyKind::Timestamp),
        };
        SortKey {
            name,
            column,
            descending,
            kind,
        }
    }

    fn cursor_value(self, row: &PartnerRow) -> String {
        match self {
            Self::Name | Self::NameDesc => row.name.clone(),
            Self::CreatedAt | Self::CreatedAtDesc => time_key(&row.created_at),
            Self::UpdatedAt | Self::UpdatedAtDesc => time_key(&row.updated_at),
        }
    }
}

/// Filters and order of the partner list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartnerQuery {
    /// Only leads or only customers.
    pub kind: Option<PartnerKind>,
    /// Only partners of this owner.
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// Case-insensitive substring of name or number.
    #[param(example = "müller")]
    pub q: Option<String>,
    /// Only partners changed after this instant (for incremental sync).
    pub updated_after: Option<DateTime<Utc>>,
    /// Only the partner with this ERP key (exact match).
    pub external_id: Option<String>,
    /// Order: `name` (default), `-name`, `created_at`, `-created_at`, `updated_at`, `-updated_at`.
    #[param(inline)]
    pub sort: Option<PartnerSort>,
}

/// Lists business partners.
#[utoipa::path(
    tag = "business-partners",
    params(PartnerQuery, PageParams, CountParams, CustomFilterParams),
    responses((status = 200, description = "One page of business partners", body = Paged<Partner>)),
    security(("bearer" = []))
)]
#[get("/business-partners")]
async fn list_partners(
    db: Db,
    who: Principal,
    req: HttpRequest,
    query: Query<PartnerQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let query = query.into_inner();
    let sort = query.sort.unwrap_or_default();
    let page = Page::new(&page, sort.key())?;
    let mut conn = db.connection().await?;
    let custom = filters::parse(&mut conn, CustomResource::BusinessPartner, req.query_string()).await?;
    let filter = PartnerFilter {
        kind: query.kind,
        owner_id: query.owner_id,
        q: query.q,
        updated_after: query.updated_after,
        external_id: query.external_id,
        custom,
    };
    let total = store::total(&mut conn, &filter, &page).await?;
    let rows = store::list(&mut conn, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (sort.cursor_value(row), row.id))
            .map(Partner::from)
            .counted(total),
    ))
}

/// Gets one business partner.
#[utoipa::path(
    tag = "business-partners",
    params(("id" = Uuid, Path, description = "Business partner id")),
    responses(
        (status = 200, description = "The business partner", body = Partner, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/business-partners/{id}")]
async fn get_partner(db: Db, who: Principal, id: Path<PartnerId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    let row = store::find(&mut *db.connection().await?, id).await?;
    Ok(ok(&Partner::from(row)))
}

/// Creates a business partner (lead or customer).
#[utoipa::path(
    tag = "business-partners",
    request_body = NewPartnerRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Partner,
            headers(("Location" = String, description = "URL of the new partner"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/business-partners")]
async fn create_partner(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewPartnerRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_partners)?;
    let r = body.parse()?;
    if r.external_id.is_some() {
        who.require(Role::can_set_external_ids)?;
    }
    let explicit_owner = r.owner_id;
    let caller = who.user_id();
    let subject = who.subject.clone();
    let external_id = r.external_id.clone();
    // A caller whose subject is a user id is a user that exists (authentication checked it):
    // it owns what it creates unless the body names an owner.
    let new = r.into_new(explicit_owner.or(caller), external_id);
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &subject, &new).await.map(Partner::from) })
    })
    .await
}

/// Changes a business partner (JSON merge patch); honours `If-Match`.
#[utoipa::path(
    tag = "business-partners",
    params(("id" = Uuid, Path, description = "Business partner id"), IfMatch),
    request_body(content = PartnerPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Partner, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/business-partners/{id}")]
async fn update_partner(
    db: Db,
    who: Principal,
    id: Path<PartnerId>,
    if_match: IfMatch,
    body: JsonBody<PartnerPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_partners)?;
    let id = id.into_inner();
    let p = body.parse()?;
    if p.external_id.is_some() {
        who.require(Role::can_set_external_ids)?;
    }
    let changes = PartnerChanges {
        kind: p.kind,
        name: p.name.map(|n| n.trim().to_owned()),
        email: p.email,
        phone: p.phone,
        website: p.website,
        street: p.street,
        postal_code: p.postal_code,
        city: p.city,
        country: p.country,
        vat_id: p.vat_id,
        owner_id: p.owner_id,
        notes: p.notes,
        external_id: p.external_id,
        custom: p.custom,
    };
    let row = changes::update(&mut *db.connection().await?, &who.subject, id, &if_match, &changes).await?;
    Ok(ok(&Partner::from(row)))
}

/// Creates or replaces the business partner with this ERP key (admin, integration).
///
/// 201 when it was created, 200 when it was replaced: every writable field takes the body's
/// value (absent optional fields become null). Sending the same body again changes nothing and
/// keeps the version; `If-Match` guards a replacement. `external_id` in the body, if given,
/// must equal the path's.
#[utoipa::path(
    tag = "business-partners",
    params(("external_id" = String, Path, description = "The ERP's key", example = "D-10042"), IfMatch),
    request_body = NewPartnerRequest,
    responses(
        (status = 200, description = "Replaced (or already equal)", body = Partner, headers(("ETag" = String, description = "Version"))),
        (status = 201, description = "Created", body = Partner,
            headers(("Location" = String, description = "URL of the new partner"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[put("/business-partners/by-external-id/{external_id}")]
async fn upsert_partner(
    db: Db,
    who: Principal,
    external_id: Path<String>,
    if_match: IfMatch,
    body: JsonBody<NewPartnerRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_partners)?;
    who.require(Role::can_set_external_ids)?;
    let r = body.parse()?;
    let key = crate::http::upsert_key(external_id.into_inner(), r.external_id.as_ref())?;
    let owner = r.owner_id;
    let new = r.into_new(owner, Some(key));
    let (row, created) = changes::upsert(&mut *db.connection().await?, &who.subject, &new, &if_match).await?;
    let partner = Partner::from(row);
    Ok(if created {
        crate::http::created(&partner)
    } else {
        ok(&partner)
    })
}

/// Converts a lead into a customer; 409 when it already is one.
#[utoipa::path(
    tag = "business-partners",
    params(("id" = Uuid, Path, description = "Business partner id"), IfMatch),
    responses(
        (status = 200, description = "Now a customer", body = Partner, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[post("/business-partners/{id}/convert")]
async fn convert_partner(
    db: Db,
    who: Principal,
    id: Path<PartnerId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_partners)?;
    let id = id.into_inner();
    let row = changes::convert(&mut *db.connection().await?, &who.subject, id, &if_match).await?;
    Ok(ok(&Partner::from(row)))
}

/// Deletes a business partner nothing refers to (admin, manager).
#[utoipa::path(
    tag = "business-partners",
    params(("id" = Uuid, Path, description = "Business partner id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/business-partners/{id}")]
async fn delete_partner(
    db: Db,
    who: Principal,
    id: Path<PartnerId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_delete_partners)?;
    let id = id.into_inner();
    changes::delete(&mut *db.connection().await?, &who.subject, id, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the business partner routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upsert_partner)
        .service(list_partners)
        .service(get_partner)
        .service(create_partner)
        .service(update_partner)
        .service(convert_partner)
        .service(delete_partner);
}
