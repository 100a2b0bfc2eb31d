//! `GET /opportunities`: the list, as full opportunities or as the board's cards (`view=card`),
//! with `count=true`.

use std::borrow::Cow;

use actix_web::web::Query;
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::AnyOfBuilder;
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::expand::{self, ExpandQuery};
use super::list::{self, CardRecord, OpportunityFilter};
use super::sort::OpportunitySort;
use super::store::{Health, OpportunityRecord};
use super::view::{Opportunity, OpportunityCard};
use crate::access::{Principal, Role};
use crate::custom_fields::filters::{self, CustomFilterParams};
use crate::db::Db;
use crate::domain::custom::CustomResource;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::http::pagination::{CountParams, Page, PageParams, PageRequest, Paged};
use crate::ids::{FunnelId, PartnerId, StageId, UserId};

/// How the list shows an opportunity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityView {
    /// Every field ([`Opportunity`]).
    #[default]
    Full,
    /// The board's slim card ([`OpportunityCard`]) with the partner's and owner's names.
    Card,
}

/// Filters and order of the opportunity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpportunityQuery {
    pub status: Option<Outcome>,
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    #[param(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    #[param(value_type = Option<Uuid>)]
    pub stage_id: Option<StageId>,
    pub class_id: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
    /// The traffic light as of now (open opportunities only).
    pub health: Option<Health>,
    /// Expected close on or after this date.
    pub close_from: Option<NaiveDate>,
    /// Expected close on or before this date.
    pub close_to: Option<NaiveDate>,
    /// Only those changed after this instant (incremental sync).
    pub updated_after: Option<DateTime<Utc>>,
    /// Only the opportunity with this ERP key (exact match).
    pub external_id: Option<String>,
    /// Case-insensitive substring of subject or number.
    pub q: Option<String>,
    /// Only those whose next activity is due before this instant.
    pub next_activity_before: Option<DateTime<Utc>>,
    /// Only those with (`true`) or without (`false`) a planned activity.
    pub has_next_activity: Option<bool>,
    /// Only those with (`true`) or without (`false`) a planned activity whose `due_at` has
    /// passed.
    pub overdue: Option<bool>,
    /// Order: `-updated_at` (default), `updated_at`, `expected_close_date`, `-target_value`,
    /// `-weighted_value`.
    #[param(inline)]
    pub sort: Option<OpportunitySort>,
    /// `full` (default): opportunities; `card`: the board's slim cards (`OpportunityCard`),
    /// with the same filters, order and cursors (a board column's `next_cursor` continues here).
    #[param(inline)]
    pub view: Option<OpportunityView>,
}

/// Lists the opportunities the caller sees.
///
/// With `view=card` the items are the board's slim cards (`OpportunityCard`) instead of full
/// opportunities; filters, order and cursors are the same (`expand` applies to full
/// opportunities only). With `count=true` the page adds `total` and `total_is_estimate`.
#[utoipa::path(
    tag = "opportunities",
    params(OpportunityQuery, PageParams, CountParams, CustomFilterParams, ExpandQuery),
    responses((status = 200, description = "One page of opportunities (`Paged_Opportunity`), or of cards with \
        `view=card` (`Paged_OpportunityCard`)", body = OpportunityPage)),
    security(("bearer" = []))
)]
#[get("/opportunities")]
async fn list_opportunities(
    db: Db,
    who: Principal,
    req: HttpRequest,
    query: Query<OpportunityQuery>,
    expand: Query<ExpandQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let q = query.into_inner();
    let sort = q.sort.unwrap_or_default();
    let view = q.view.unwrap_or_default();
    let page = Page::new(&page, sort.key())?.tie_breaker("opportunities.id");
    let mut conn = db.connection().await?;
    let custom = filters::parse(&mut conn, CustomResource::Opportunity, req.query_string()).await?;
    let filter = OpportunityFilter {
        status: q.status,
        owner_id: q.owner_id,
        funnel_id: q.funnel_id,
        stage_id: q.stage_id,
        class_id: q.class_id,
        business_partner_id: q.business_partner_id,
        health: q.health,
        close_from: q.close_from,
        close_to: q.close_to,
        updated_after: q.updated_after,
        q: q.q,
        external_id: q.external_id,
        next_activity_before: q.next_activity_before,
        has_next_activity: q.has_next_activity,
        overdue: q.overdue,
        custom,
    };
    let scope = who.read_scope();
    let total = list::total(&mut conn, scope, &filter, &page).await?;
    let body = match view {
        OpportunityView::Full => {
            let rows = list::list(&mut conn, scope, &filter, &page).await?;
            let key = |r: &OpportunityRecord| {
                let row = &r.row;
                let value = sort.cursor_value(
                    &row.updated_at,
                    row.expected_close_date,
                    &row.target_value,
                    &row.weighted_value,
                );
                (value, row.id)
            };
            let mut answer = page.finish(rows, key).map(Opportunity::from);
            expand::embed(&mut conn, &expand, &mut answer.items).await?;
            OpportunityPage::Full(answer.counted(total))
        }
        OpportunityView::Card => {
            let rows = list::cards(&mut conn, scope, &filter, &page).await?;
            let key = |r: &CardRecord| {
                let row = &r.columns;
                let value = sort.cursor_value(
                    &row.updated_at,
                    row.expected_close_date,
                    &row.target_value,
                    &row.weighted_value,
                );
                (value, row.id)
            };
            OpportunityPage::Cards(page.finish(rows, key).map(OpportunityCard::from).counted(total))
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// A page of the opportunity list: full opportunities, or cards with `view=card`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OpportunityPage {
    Full(Paged<Opportunity>),
    Cards(Paged<OpportunityCard>),
}

/// `anyOf` the two pages, each a `$ref` to the schema `body = Paged<…>` would name (not
/// `oneOf`: an empty page is both).
impl utoipa::__dev::ComposeSchema for OpportunityPage {
    fn compose(_inline_generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(FULL_PAGE))
            .item(Ref::from_schema_name(CARD_PAGE))
            .description(Some(
                "A page of opportunities (`view=full`, the default) or of cards (`view=card`).",
            ))
            .into()
    }
}

const FULL_PAGE: &str = "Paged_Opportunity";
const CARD_PAGE: &str = "Paged_OpportunityCard";

impl ToSchema for OpportunityPage {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OpportunityPage")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((FULL_PAGE.to_owned(), <Paged<Opportunity> as PartialSchema>::schema()));
        <Paged<Opportunity> as ToSchema>::schemas(schemas);
        schemas.push((
            CARD_PAGE.to_owned(),
            <Paged<OpportunityCard> as PartialSchema>::schema(),
        ));
        <Paged<OpportunityCard> as ToSchema>::schemas(schemas);
    }
}

/// Registers the list.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_opportunities);
}
