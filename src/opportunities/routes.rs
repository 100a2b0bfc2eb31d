//! `/opportunities`: create, read, list, change and delete. Stage moves, history and the ERP
//! hand-off are in `transitions`.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::buying_centre::ContactAssignment;
use super::changes::{self, NewOpportunity, OpportunityChanges};
use super::expand::{self, ExpandQuery};
use super::store;
use super::view::Opportunity;
use super::{create, upsert};
use crate::access::Actor;
use crate::access::{Principal, Role};
use crate::custom_fields::values::Sent;
use crate::custom_fields::view::CustomValues;
use crate::db::Db;
use crate::domain::money::{self, Money, Percent};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{FunnelId, OpportunityId, PartnerId, StageId, UserId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new opportunity: partner, class and stage are required; funnel and owner come from the
/// class when not given.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "subject": "Flottenerneuerung 2028: 12 Kombis", "business_partner_id": "01930000-0000-7000-8000-000000000065",
    "class_id": "NEUWAGEN", "stage_id": "01930000-0000-7000-8000-0000000000c9", "target_value": "100000.00",
    "expected_close_date": "2028-03-31",
    "contacts": [{"contact_id": "01930000-0000-7000-8000-000000000259", "role": "decision_maker"}]
}))]
pub struct NewOpportunityRequest {
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub subject: String,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    #[schema(value_type = Uuid)]
    pub business_partner_id: PartnerId,
    /// KlassenID; routes the opportunity to the class's funnel and owner.
    #[schema(example = "NEUWAGEN")]
    pub class_id: String,
    /// An open stage of the funnel.
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    /// Default: the class's funnel.
    #[schema(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    /// Default: the class's owner, else the creating user.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// Default: the settings' currency.
    #[validate(custom(function = "money::currency"))]
    #[schema(value_type = Option<money::Currency>)]
    pub currency: Option<String>,
    /// The expected order value while it has no lines.
    #[validate(custom(function = "money::non_negative"))]
    #[schema(value_type = Option<money::MoneyInput>)]
    pub target_value: Option<Money>,
    pub probability_override: Option<Percent>,
    pub expected_close_date: Option<NaiveDate>,
    /// The ERP's key (admin and integration only); unique, compared exactly.
    #[validate(custom(function = "crate::http::external_id"))]
    #[schema(min_length = 1, max_length = 200, example = "AUF-2027-0042")]
    pub external_id: Option<String>,
    /// Custom field values by key (see `/custom-fields?resource=opportunity`).
    #[schema(value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
    /// Its contact persons: active contacts of its partner, each once. The upsert keeps the
    /// list when the body has none.
    pub contacts: Option<Vec<ContactAssignment>>,
}

impl NewOpportunityRequest {
    /// The command's input, with `external_id` as the caller may set it.
    fn into_new(self, external_id: Option<String>) -> NewOpportunity {
        NewOpportunity {
            subject: self.subject.trim().to_owned(),
            description: self.description,
            business_partner_id: self.business_partner_id,
            class_id: self.class_id,
            stage_id: self.stage_id,
            funnel_id: self.funnel_id,
            owner_id: self.owner_id,
            currency: self.currency,
            target_value: self.target_value,
            probability_override: self.probability_override,
            expected_close_date: self.expected_close_date,
            external_id,
            custom: self.custom,
            contacts: self.contacts,
        }
    }
}

/// Changes to an open opportunity (JSON merge patch): absent fields stay, `null` clears an
/// optional one. Moving to another open stage here is recorded like `POST …/stage`; closing
/// goes through `win`, `lose` or `stage`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"probability_override": 60, "expected_close_date": "2027-04-30"}))]
pub struct OpportunityPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[schema(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub class_id: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[schema(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[schema(value_type = Option<Uuid>)]
    pub stage_id: Option<StageId>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "money::currency"))]
    #[schema(nullable = false, value_type = Option<money::Currency>)]
    pub currency: Option<String>,
    /// Only while it has no lines (409 otherwise).
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<money::MoneyInput>)]
    #[validate(custom(function = "money::non_negative"))]
    pub target_value: Option<Money>,
    #[serde(default, deserialize_with = "merge::nullable")]
    pub probability_override: Option<Option<Percent>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    pub expected_close_date: Option<Option<NaiveDate>>,
    /// The ERP's key (admin and integration only); `null` removes it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "crate::http::external_id"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<Option<String>>,
    /// Merged onto the custom values; a key set to null is removed.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
    /// Replaces its contact persons (`[]` removes them); needed with a new `business_partner_id`
    /// while it has contacts.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub contacts: Option<Vec<ContactAssignment>>,
}

/// Gets one opportunity.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), ExpandQuery),
    responses(
        (status = 200, description = "The opportunity", body = Opportunity, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}")]
async fn get_opportunity(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    expand: Query<ExpandQuery>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let mut conn = db.connection().await?;
    let mut opportunity = Opportunity::from(store::find(&mut conn, who.read_scope(), id.into_inner()).await?);
    expand::embed(&mut conn, &expand, std::slice::from_mut(&mut opportunity)).await?;
    Ok(ok(&opportunity))
}

/// Creates an opportunity in an open stage.
#[utoipa::path(
    tag = "opportunities",
    request_body = NewOpportunityRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Opportunity,
            headers(("Location" = String, description = "URL of the new opportunity"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities")]
async fn create_opportunity(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewOpportunityRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    if r.external_id.is_some() {
        who.require(Role::can_set_external_ids)?;
    }
    let external_id = r.external_id.clone();
    let new = r.into_new(external_id);
    let actor = Actor::of(&who)?;
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { create::insert(conn, &actor, new).await.map(Opportunity::from) })
    })
    .await
}

/// Creates or replaces the opportunity with this ERP key (admin, integration).
///
/// 201 when it was created, 200 when it was replaced with the rules of `PATCH` (a closed
/// opportunity is read-only, a new open stage is a recorded move): `description`,
/// `probability_override` and `expected_close_date` become null when absent, fields with a
/// default (funnel, owner, currency, target value) keep theirs. The same body again changes
/// nothing and keeps the version; `If-Match` guards a replacement.
#[utoipa::path(
    tag = "opportunities",
    params(("external_id" = String, Path, description = "The ERP's key", example = "AUF-2027-0042"), IfMatch),
    request_body = NewOpportunityRequest,
    responses(
        (status = 200, description = "Replaced (or already equal)", body = Opportunity, headers(("ETag" = String, description = "Version"))),
        (status = 201, description = "Created", body = Opportunity,
            headers(("Location" = String, description = "URL of the new opportunity"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[put("/opportunities/by-external-id/{external_id}")]
async fn upsert_opportunity(
    db: Db,
    who: Principal,
    external_id: Path<String>,
    if_match: IfMatch,
    body: JsonBody<NewOpportunityRequest>,
) -> Result<HttpResponse, AppError> {
    let actor = Actor::of_sync(&who)?;
    let r = body.parse()?;
    let key = crate::http::upsert_key(external_id.into_inner(), r.external_id.as_ref())?;
    let new = r.into_new(Some(key));
    let (record, created) = upsert::upsert(&mut *db.connection().await?, &actor, new, &if_match).await?;
    let opportunity = Opportunity::from(record);
    Ok(if created {
        crate::http::created(&opportunity)
    } else {
        ok(&opportunity)
    })
}

/// Changes an open opportunity (JSON merge patch); honours `If-Match`.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    request_body(content = OpportunityPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Opportunity, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/opportunities/{id}")]
async fn update_opportunity(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
    body: JsonBody<OpportunityPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let p = body.parse()?;
    if p.external_id.is_some() {
        who.require(Role::can_set_external_ids)?;
    }
    let changes = OpportunityChanges {
        subject: p.subject.map(|s| s.trim().to_owned()),
        description: p.description,
        business_partner_id: p.business_partner_id,
        class_id: p.class_id,
        funnel_id: p.funnel_id,
        stage_id: p.stage_id,
        owner_id: p.owner_id,
        currency: p.currency,
        target_value: p.target_value,
        probability_override: p.probability_override,
        expected_close_date: p.expected_close_date,
        external_id: p.external_id,
        custom: p.custom,
        contacts: p.contacts,
    };
    let record = changes::update(
        &mut *db.connection().await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Opportunity::from(record)))
}

/// Deletes an open opportunity with its lines and history; 409 when closed or when
/// activities refer to it.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/opportunities/{id}")]
async fn delete_opportunity(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    changes::delete(
        &mut *db.connection().await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the opportunity routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upsert_opportunity);
    super::list_routes::configure(cfg);
    cfg.service(get_opportunity)
        .service(create_opportunity)
        .service(update_opportunity)
        .service(delete_opportunity);
    super::transitions::configure(cfg);
}
