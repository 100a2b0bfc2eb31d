//! `/activities` and the timelines of an opportunity and of a business partner. Everyone
//! reads; admins, managers and reps write (reps only on opportunities they see).

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes::{self, ActivityChanges, NewActivity};
use super::store::{self, ActivityFilter, ActivityRow, ActivityStatus};
use super::view::Activity;
use crate::access::Actor;
use crate::access::{Principal, Role};
use crate::custom_fields::filters::{self, CustomFilterParams};
use crate::custom_fields::values::Sent;
use crate::custom_fields::view::CustomValues;
use crate::db::Db;
use crate::domain::activity::ActivityKind;
use crate::domain::custom::CustomResource;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{CountParams, KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{ActivityId, ContactId, OpportunityId, PartnerId, UserId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new activity. With `opportunity_id` the partner is the opportunity's; without it,
/// `business_partner_id` is required. A done contact (call, email, meeting, appointment,
/// ticket) on an opportunity moves its `last_contact_at`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "call", "subject": "Discussed the leasing offer", "body": "Wants a second quote with 48 months",
    "opportunity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "status": "done",
    "occurred_at": "2026-11-20T14:05:00Z", "contact_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40"
}))]
pub struct NewActivityRequest {
    pub kind: ActivityKind,
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub subject: String,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub body: Option<String>,
    /// Required without `opportunity_id`; with it, left out or equal to the opportunity's.
    #[schema(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
    /// An opportunity the caller sees.
    #[schema(value_type = Option<Uuid>)]
    pub opportunity_id: Option<OpportunityId>,
    /// Defaults to the calling user, when the caller is a user.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// Default: `done` when `occurred_at` is given, else `planned`.
    pub status: Option<ActivityStatus>,
    /// When a planned activity is due.
    pub due_at: Option<DateTime<Utc>>,
    /// When a done activity happened (default: now); not in the future, not for planned ones.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The ERP's key (admin and integration only); unique, compared exactly.
    #[validate(custom(function = "crate::http::external_id"))]
    #[schema(min_length = 1, max_length = 200, example = "CRM-ACT-7731")]
    pub external_id: Option<String>,
    /// Custom field values by key (see `/custom-fields?resource=activity`).
    #[schema(value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
    /// The person it was with: an active contact of its business partner.
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<ContactId>,
}

/// Changes to an activity (JSON merge patch): absent fields stay, `null` clears an optional
/// field. Setting `status` to `planned` clears `occurred_at`; to `done`, it defaults to now.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "done", "occurred_at": "2026-11-21T09:30:00Z", "body": "Confirmed by phone"}))]
pub struct ActivityPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub kind: Option<ActivityKind>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub body: Option<Option<String>>,
    /// Only without an opportunity, or equal to the opportunity's partner.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[schema(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
    /// Moves the activity to another opportunity (its partner follows) or, with `null`, off it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Option<Uuid>>)]
    pub opportunity_id: Option<Option<OpportunityId>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Option<Uuid>>)]
    pub owner_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub status: Option<ActivityStatus>,
    #[serde(default, deserialize_with = "merge::nullable")]
    pub due_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    pub occurred_at: Option<Option<DateTime<Utc>>>,
    /// The ERP's key (admin and integration only); `null` removes it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "crate::http::external_id"))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<Option<String>>,
    /// Merged onto the custom values; a key set to null is removed.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
    /// The person it was with (a contact of its business partner); `null` removes it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Option<Uuid>>)]
    pub contact_id: Option<Option<ContactId>>,
}

/// Sort orders of activity lists.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum ActivitySort {
    /// Newest first.
    #[default]
    #[serde(rename = "-timeline_at")]
    TimelineAtDesc,
    /// Oldest first.
    #[serde(rename = "timeline_at")]
    TimelineAt,
}

impl ActivitySort {
    fn key(self) -> SortKey {
        let (name, descending) = match self {
            Self::TimelineAtDesc => ("-timeline_at", true),
            Self::TimelineAt => ("timeline_at", false),
        };
        SortKey {
            name,
            column: "activities.timeline_at",
            descending,
            kind: KeyKind::Timestamp,
        }
    }

    fn page(self, params: &PageRequest) -> Result<Page, AppError> {
        Ok(Page::new(params, self.key())?.tie_breaker("activities.id"))
    }
}

/// Filters and order of the activity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    pub kind: Option<ActivityKind>,
    pub status: Option<ActivityStatus>,
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    #[param(value_type = Option<Uuid>)]
    pub opportunity_id: Option<OpportunityId>,
    #[param(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
    /// Only those due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Only those due after this instant.
    pub due_after: Option<DateTime<Utc>>,
    /// Only those changed after this instant (incremental sync).
    pub updated_after: Option<DateTime<Utc>>,
    /// Only the activity with this ERP key (exact match).
    pub external_id: Option<String>,
    /// Only those with this contact person.
    #[param(value_type = Option<Uuid>)]
    pub contact_id: Option<ContactId>,
    /// Order: `-timeline_at` (default, newest first) or `timeline_at`.
    #[param(inline)]
    pub sort: Option<ActivitySort>,
}

/// Filters and order of a timeline (the activities of one opportunity or partner).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    pub kind: Option<ActivityKind>,
    pub status: Option<ActivityStatus>,
    /// Order: `-timeline_at` (default, newest first) or `timeline_at`.
    #[param(inline)]
    pub sort: Option<ActivitySort>,
}

/// Answers one page of activities.
fn page_of(page: &Page, rows: Vec<ActivityRow>, total: Option<i64>) -> HttpResponse {
    HttpResponse::Ok().json(
        page.finish(rows, |row| (time_key(&row.timeline_at), row.id))
            .map(Activity::from)
            .counted(total),
    )
}

/// Lists the activities the caller sees.
#[utoipa::path(
    tag = "activities",
    params(ActivityQuery, PageParams, CountParams, CustomFilterParams),
    responses((status = 200, description = "One page of activities", body = Paged<Activity>)),
    security(("bearer" = []))
)]
#[get("/activities")]
async fn list_activities(
    db: Db,
    who: Principal,
    req: HttpRequest,
    query: Query<ActivityQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let q = query.into_inner();
    let sort = q.sort.unwrap_or_default();
    let page = sort.page(&page)?;
    let mut conn = db.connection().await?;
    let custom = filters::parse(&mut conn, CustomResource::Activity, req.query_string()).await?;
    let filter = ActivityFilter {
        kind: q.kind,
        status: q.status,
        owner_id: q.owner_id,
        opportunity_id: q.opportunity_id,
        business_partner_id: q.business_partner_id,
        due_before: q.due_before,
        due_after: q.due_after,
        updated_after: q.updated_after,
        external_id: q.external_id,
        contact_id: q.contact_id,
        custom,
    };
    let total = store::total(&mut conn, who.read_scope(), &filter, &page).await?;
    let rows = store::list(&mut conn, who.read_scope(), &filter, &page).await?;
    Ok(page_of(&page, rows, total))
}

/// Lists the activities of an opportunity, newest first.
#[utoipa::path(
    tag = "activities",
    params(("id" = Uuid, Path, description = "Opportunity id"), TimelineQuery, PageParams),
    responses(
        (status = 200, description = "One page of the opportunity's activities", body = Paged<Activity>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}/activities")]
async fn list_opportunity_activities(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    query: Query<TimelineQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    let q = query.into_inner();
    let sort = q.sort.unwrap_or_default();
    let page = sort.page(&page)?;
    let filter = ActivityFilter {
        kind: q.kind,
        status: q.status,
        opportunity_id: Some(id),
        ..ActivityFilter::default()
    };
    let mut conn = db.connection().await?;
    crate::opportunities::store::check_visible(&mut conn, who.read_scope(), id).await?;
    let rows = store::list(&mut conn, who.read_scope(), &filter, &page).await?;
    Ok(page_of(&page, rows, None))
}

/// Lists every activity with a business partner, newest first.
///
/// Across its opportunities (those the caller sees) and without one.
#[utoipa::path(
    tag = "activities",
    params(("id" = Uuid, Path, description = "Business partner id"), TimelineQuery, PageParams),
    responses(
        (status = 200, description = "One page of the partner's activities", body = Paged<Activity>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/business-partners/{id}/activities")]
async fn list_partner_activities(
    db: Db,
    who: Principal,
    id: Path<PartnerId>,
    query: Query<TimelineQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    let q = query.into_inner();
    let sort = q.sort.unwrap_or_default();
    let page = sort.page(&page)?;
    let filter = ActivityFilter {
        kind: q.kind,
        status: q.status,
        business_partner_id: Some(id),
        ..ActivityFilter::default()
    };
    let mut conn = db.connection().await?;
    crate::partners::store::find(&mut conn, id).await?;
    let rows = store::list(&mut conn, who.read_scope(), &filter, &page).await?;
    Ok(page_of(&page, rows, None))
}

/// Gets one activity.
#[utoipa::path(
    tag = "activities",
    params(("id" = Uuid, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The activity", body = Activity, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/activities/{id}")]
async fn get_activity(db: Db, who: Principal, id: Path<ActivityId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, who.read_scope(), id.into_inner()).await?;
    Ok(ok(&Activity::from(row)))
}

/// Logs or plans an activity.
#[utoipa::path(
    tag = "activities",
    request_body = NewActivityRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Activity,
            headers(("Location" = String, description = "URL of the new activity"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/activities")]
async fn create_activity(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewActivityRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    if r.external_id.is_some() {
        who.require(Role::can_set_external_ids)?;
    }
    let new = NewActivity {
        kind: r.kind,
        subject: r.subject.trim().to_owned(),
        body: r.body,
        business_partner_id: r.business_partner_id,
        opportunity_id: r.opportunity_id,
        owner_id: r.owner_id,
        status: r.status,
        due_at: r.due_at,
        occurred_at: r.occurred_at,
        external_id: r.external_id,
        custom: r.custom,
        contact_id: r.contact_id,
    };
    let actor = Actor::of(&who)?;
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, new).await.map(Activity::from) })
    })
    .await
}

/// Changes an activity (JSON merge patch); honours `If-Match`.
#[utoipa::path(
    tag = "activities",
    params(("id" = Uuid, Path, description = "Activity id"), IfMatch),
    request_body(content = ActivityPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Activity, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/activities/{id}")]
async fn update_activity(
    db: Db,
    who: Principal,
    id: Path<ActivityId>,
    if_match: IfMatch,
    body: JsonBody<ActivityPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let p = body.parse()?;
    if p.external_id.is_some() {
        who.require(Role::can_set_external_ids)?;
    }
    let changes = ActivityChanges {
        kind: p.kind,
        subject: p.subject.map(|s| s.trim().to_owned()),
        body: p.body,
        business_partner_id: p.business_partner_id,
        opportunity_id: p.opportunity_id,
        owner_id: p.owner_id,
        status: p.status,
        due_at: p.due_at,
        occurred_at: p.occurred_at,
        external_id: p.external_id,
        custom: p.custom,
        contact_id: p.contact_id,
    };
    let row = changes::update(
        &mut *db.connection().await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Activity::from(row)))
}

/// Deletes an activity; its opportunity's last contact is recomputed.
#[utoipa::path(
    tag = "activities",
    params(("id" = Uuid, Path, description = "Activity id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/activities/{id}")]
async fn delete_activity(
    db: Db,
    who: Principal,
    id: Path<ActivityId>,
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

/// Registers the activity routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_activities)
        .service(get_activity)
        .service(create_activity)
        .service(update_activity)
        .service(delete_activity)
        .service(list_opportunity_activities)
        .service(list_partner_activities);
}
