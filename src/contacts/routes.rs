//! `/business-partners/{id}/contacts` and `/contacts`: the contact persons of business partners.
//! Everyone reads them; whoever writes partners writes their contacts (the access policy's
//! `can_write_contacts`).

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes;
use super::store::{self, ContactChanges, ContactFilter, ContactRow};
use super::view::Contact;
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
use crate::ids::{ContactId, PartnerId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new contact person. `is_primary: true` makes the partner's previous primary contact an
/// ordinary one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "salutation": "Frau", "title": "Dr.", "first_name": "Anna", "last_name": "Schmidt",
    "email": "anna.schmidt@autohaus-mueller.example", "phone": "+49 89 1234567-12",
    "mobile": "+49 171 2345678", "position": "Leiterin Fuhrpark", "is_primary": true
}))]
pub struct NewContactRequest {
    /// Printed before the name in an address: usually `Frau`, `Herr` or `Divers` (also `Mr`,
    /// `Ms`, …); free text of 1 to 20 characters.
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20, example = "Frau")]
    pub salutation: Option<String>,
    /// Academic or honorary title, such as `Dr.`.
    #[validate(length(max = 50), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 50, example = "Dr.")]
    pub title: Option<String>,
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
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
    #[validate(custom(function = "contact::phone"))]
    #[schema(
        pattern = r"^[ +\-/().]*([0-9][ +\-/().]*){3,20}$",
        max_length = 40,
        example = "+49 171 2345678"
    )]
    pub mobile: Option<String>,
    /// Job title or role in the company.
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub position: Option<String>,
    /// Default `false`.
    #[serde(default)]
    pub is_primary: bool,
    /// Default `true`.
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
    /// Custom field values by key (see `/custom-fields?resource=contact`).
    #[schema(value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
}

/// Changes to a contact (JSON merge patch): absent fields stay, `null` clears an optional
/// field. `is_primary: true` makes the partner's previous primary contact an ordinary one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"position": "Geschäftsführerin", "is_primary": true}))]
pub struct ContactPatch {
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20, example = "Herr")]
    pub salutation: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 50), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 50)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::phone"))]
    #[schema(pattern = r"^[ +\-/().]*([0-9][ +\-/().]*){3,20}$", max_length = 40)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::phone"))]
    #[schema(pattern = r"^[ +\-/().]*([0-9][ +\-/().]*){3,20}$", max_length = 40)]
    pub mobile: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub position: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub is_primary: Option<bool>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    /// Merged onto the custom values; a key set to null is removed.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
}

fn trimmed(text: String) -> String {
    text.trim().to_owned()
}

impl ContactPatch {
    fn into_changes(self) -> ContactChanges {
        ContactChanges {
            salutation: self.salutation.map(|s| s.map(trimmed)),
            title: self.title.map(|s| s.map(trimmed)),
            first_name: self.first_name.map(|s| s.map(trimmed)),
            last_name: self.last_name.map(trimmed),
            email: self.email,
            phone: self.phone,
            mobile: self.mobile,
            position: self.position.map(|s| s.map(trimmed)),
            is_primary: self.is_primary,
            active: self.active,
            custom: self.custom,
        }
    }
}

/// Sort orders of the contact lists.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum ContactSort {
    #[default]
    #[serde(rename = "last_name")]
    LastName,
    #[serde(rename = "-last_name")]
    LastNameDesc,
    #[serde(rename = "updated_at")]
    UpdatedAt,
    #[serde(rename = "-updated_at")]
    UpdatedAtDesc,
}

impl ContactSort {
    fn key(self) -> SortKey {
        let (name, column, descending, kind) = match self {
            Self::LastName => ("last_name", "last_name", false, KeyKind::Text),
            Self::LastNameDesc => ("-last_name", "last_name", true, KeyKind::Text),
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

    fn cursor_value(self, row: &ContactRow) -> String {
        match self {
            Self::LastName | Self::LastNameDesc => row.last_name.clone(),
            Self::UpdatedAt | Self::UpdatedAtDesc => time_key(&row.updated_at),
        }
    }

    /// One page of `rows` as the API answers it.
    fn answer(self, page: &Page, rows: Vec<ContactRow>, total: Option<i64>) -> HttpResponse {
        HttpResponse::Ok().json(
            page.finish(rows, |row| (self.cursor_value(row), row.id))
                .map(Contact::from)
                .counted(total),
        )
    }
}

/// Filters and order of a partner's contacts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartnerContactQuery {
    /// Only active or only inactive contacts.
    pub active: Option<bool>,
    /// Every word appears (case-insensitively) in the first name, last name or e-mail.
    #[param(example = "schmidt")]
    pub q: Option<String>,
    /// Order: `last_name` (default), `-last_name`, `updated_at`, `-updated_at`.
    #[param(inline)]
    pub sort: Option<ContactSort>,
}

/// Filters and order of the contacts of all partners.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Every word appears (case-insensitively) in the first name, last name or e-mail.
    #[param(example = "anna schmidt")]
    pub q: Option<String>,
    /// Only the contacts of this business partner.
    #[param(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
    /// Only active or only inactive contacts.
    pub active: Option<bool>,
    /// Only contacts changed after this instant (for incremental sync).
    pub updated_after: Option<DateTime<Utc>>,
    /// Order: `last_name` (default), `-last_name`, `updated_at`, `-updated_at`.
    #[param(inline)]
    pub sort: Option<ContactSort>,
}

/// Searches the contacts of all business partners.
#[utoipa::path(
    tag = "contacts",
    params(ContactQuery, PageParams, CountParams, CustomFilterParams),
    responses((status = 200, description = "One page of contacts", body = Paged<Contact>)),
    security(("bearer" = []))
)]
#[get("/contacts")]
async fn list_contacts(
    db: Db,
    who: Principal,
    req: HttpRequest,
    query: Query<ContactQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let query = query.into_inner();
    let sort = query.sort.unwrap_or_default();
    let page = Page::new(&page, sort.key())?;
    let mut conn = db.connection().await?;
    let filter = ContactFilter {
        business_partner_id: query.business_partner_id,
        active: query.active,
        q: query.q,
        updated_after: query.updated_after,
        custom: filters::parse(&mut conn, CustomResource::Contact, req.query_string()).await?,
    };
    let total = store::total(&mut conn, &filter, &page).await?;
    let rows = store::list(&mut conn, &filter, &page).await?;
    Ok(sort.answer(&page, rows, total))
}

/// Lists the contacts of a business partner.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Business partner id"), PartnerContactQuery, PageParams, CountParams, CustomFilterParams),
    responses(
        (status = 200, description = "One page of the partner's contacts", body = Paged<Contact>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/business-partners/{id}/contacts")]
async fn list_partner_contacts(
    db: Db,
    who: Principal,
    req: HttpRequest,
    id: Path<PartnerId>,
    query: Query<PartnerContactQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    let query = query.into_inner();
    let sort = query.sort.unwrap_or_default();
    let page = Page::new(&page, sort.key())?;
    let mut conn = db.connection().await?;
    crate::partners::store::find(&mut conn, id).await?;
    let filter = ContactFilter {
        business_partner_id: Some(id),
        active: query.active,
        q: query.q,
        updated_after: None,
        custom: filters::parse(&mut conn, CustomResource::Contact, req.query_string()).await?,
    };
    let total = store::total(&mut conn, &filter, &page).await?;
    let rows = store::list(&mut conn, &filter, &page).await?;
    Ok(sort.answer(&page, rows, total))
}

/// Gets one contact of a business partner.
#[utoipa::path(
    tag = "contacts",
    params(
        ("id" = Uuid, Path, description = "Business partner id"),
        ("contact_id" = Uuid, Path, description = "Contact id")
    ),
    responses(
        (status = 200, description = "The contact", body = Contact, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/business-partners/{id}/contacts/{contact_id}")]
async fn get_contact(db: Db, who: Principal, ids: Path<(PartnerId, ContactId)>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let (partner, id) = ids.into_inner();
    let row = store::find(&mut *db.connection().await?, partner, id).await?;
    Ok(ok(&Contact::from(row)))
}

/// Creates a contact of a business partner.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Business partner id"), IdempotencyKey),
    request_body = NewContactRequest,
    responses(
        (status = 201, description = "Created", body = Contact,
            headers(("Location" = String, description = "URL of the new contact"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/business-partners/{id}/contacts")]
async fn create_contact(
    db: Db,
    who: Principal,
    req: HttpRequest,
    id: Path<PartnerId>,
    key: IdempotencyKey,
    body: JsonBody<NewContactRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_contacts)?;
    let r = body.parse()?;
    let now = Utc::now();
    let row = ContactRow {
        id: ContactId::generate(),
        business_partner_id: id.into_inner(),
        salutation: r.salutation.map(trimmed),
        title: r.title.map(trimmed),
        first_name: r.first_name.map(trimmed),
        last_name: trimmed(r.last_name),
        email: r.email,
        phone: r.phone,
        mobile: r.mobile,
        position: r.position.map(trimmed),
        is_primary: r.is_primary,
        active: r.active,
        created_by: Some(who.subject.clone()),
        created_at: now,
        updated_at: now,
        version: 1,
        custom: serde_json::Value::Object(r.custom.unwrap_or_default()),
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(Contact::from) })
    })
    .await
}

/// Changes a contact (JSON merge patch); honours `If-Match`.
#[utoipa::path(
    tag = "contacts",
    params(
        ("id" = Uuid, Path, description = "Business partner id"),
        ("contact_id" = Uuid, Path, description = "Contact id"),
        IfMatch
    ),
    request_body(content = ContactPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Contact, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/business-partners/{id}/contacts/{contact_id}")]
async fn update_contact(
    db: Db,
    who: Principal,
    ids: Path<(PartnerId, ContactId)>,
    if_match: IfMatch,
    body: JsonBody<ContactPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_contacts)?;
    let changes = body.parse()?.into_changes();
    let row = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        ids.into_inner(),
        &if_match,
        &changes,
    )
    .await?;
    Ok(ok(&Contact::from(row)))
}

/// Deletes a contact; honours `If-Match`.
///
/// 409 while a quote, an opportunity (open or closed) or an activity names the person:
/// deactivate them (`active: false`) instead, which keeps what names them true.
#[utoipa::path(
    tag = "contacts",
    params(
        ("id" = Uuid, Path, description = "Business partner id"),
        ("contact_id" = Uuid, Path, description = "Contact id"),
        IfMatch
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/business-partners/{id}/contacts/{contact_id}")]
async fn delete_contact(
    db: Db,
    who: Principal,
    ids: Path<(PartnerId, ContactId)>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_contacts)?;
    changes::delete(&mut *db.connection().await?, &who.subject, ids.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the contact routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_contacts)
        .service(list_partner_contacts)
        .service(get_contact)
        .service(create_contact)
        .service(update_contact)
        .service(delete_contact);
}
