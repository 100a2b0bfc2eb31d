//! `GET /funnels/{id}/board`.

use actix_web::web::{Data, Path, Query};
use actix_web::{HttpResponse, get};
use serde::Deserialize;
use utoipa::IntoParams;

use super::store::{self, BoardFilter, StageRow};
use super::view::{Board, BoardStage};
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::http::pagination::{CursorKey, time_key};
use crate::ids::{FunnelId, UserId};
use crate::openapi::responses::{NotFound, ValidationFailed};
use crate::opportunities::list::CardRecord;
use crate::opportunities::sort::OpportunitySort;
use crate::opportunities::store::Health;
use crate::opportunities::view::OpportunityCard;
use crate::reports::pipeline::Amounts;

const DEFAULT_PER_STAGE: i64 = 20;
const MAX_PER_STAGE: i64 = 100;

/// The board's filters and the size of its columns.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// Only this owner's opportunities.
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// Only opportunities of this class (KlassenID).
    #[param(example = "NEUWAGEN")]
    pub class_id: Option<String>,
    /// Only open opportunities with this traffic light now (closed stages then count none).
    pub health: Option<Health>,
    /// Cards per stage, 1 to 100 (422 otherwise).
    #[param(minimum = 1, maximum = 100, default = 20, example = 20)]
    pub limit_per_stage: Option<i64>,
}

/// The board of a funnel: every stage in order with its count, its target and weighted sums
/// per currency and its first cards.
///
/// Each column's `next_cursor` continues it through
/// `GET /opportunities?funnel_id={id}&stage_id={stage}&view=card&cursor=…` with the same
/// `owner_id`, `class_id` and `health`. A rep sees the opportunities they see in the list: in
/// the counts, the sums and the cards. Sums in the home currency are not given yet.
#[utoipa::path(
    tag = "funnels",
    params(("id" = Uuid, Path, description = "Funnel id"), BoardQuery),
    responses(
        (status = 200, description = "The board", body = Board),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[get("/funnels/{id}/board")]
async fn get_board(
    db: Db,
    who: Principal,
    key: Data<CursorKey>,
    id: Path<FunnelId>,
    query: Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let q = query.into_inner();
    let per_stage = q.limit_per_stage.unwrap_or(DEFAULT_PER_STAGE);
    if !(1..=MAX_PER_STAGE).contains(&per_stage) {
        return Err(AppError::invalid(
            "limit_per_stage",
            "range",
            format!("must be from 1 to {MAX_PER_STAGE}"),
        ));
    }
    let filter = BoardFilter {
        funnel_id: id.into_inner(),
        owner_id: q.owner_id,
        class_id: q.class_id,
        health: q.health,
        viewer: who.read_scope(),
    };
    let mut conn = db.connection().await?;
    let stages = store::stages(&mut conn, &filter).await?;
    let Some(first) = stages.first() else {
        return Err(AppError::not_found("funnel", filter.funnel_id));
    };
    let name = first.funnel_name.clone();
    let cards = store::cards(&mut conn, &filter, per_stage + 1).await?;
    Ok(HttpResponse::Ok().json(board(filter.funnel_id, name, stages, cards, per_stage, &key)))
}

/// Nests the rows: each stage's currencies (in order, after each other) and its cards.
fn board(
    funnel_id: FunnelId,
    name: String,
    stages: Vec<StageRow>,
    cards: Vec<CardRecord>,
    per_stage: i64,
    key: &CursorKey,
) -> Board {
    let mut columns: Vec<BoardStage> = Vec::new();
    for row in stages {
        if columns.last().is_none_or(|c| c.id != row.stage_id) {
            columns.push(BoardStage {
                id: row.stage_id,
                code: row.code,
                name: row.name,
                icon: row.icon,
                probability: row.probability,
                outcome: row.outcome,
                count: 0,
                amounts: Vec::new(),
                items: Vec::new(),
                next_cursor: None,
            });
        }
        if let (Some(column), Some(currency)) = (columns.last_mut(), row.currency) {
            column.count += row.count;
            column.amounts.push(Amounts {
                currency,
                target_value: row.target_value.unwrap_or_default(),
                weighted_value: row.weighted_value.unwrap_or_default(),
            });
        }
    }
    let sort = OpportunitySort::UpdatedAtDesc.key();
    let per_stage = usize::try_from(per_stage).unwrap_or(usize::MAX);
    for card in cards {
        let Some(column) = columns.iter_mut().find(|c| c.id == card.columns.stage_id) else {
            continue;
        };
        if column.items.len() < per_stage {
            column.items.push(OpportunityCard::from(card));
        } else if column.next_cursor.is_none()
            && let Some(last) = column.items.last()
        {
            // One more than the page: the column goes on after its last card.
            column.next_cursor = Some(key.cursor(sort, time_key(&last.updated_at), last.id.into()));
        }
    }
    Board {
        funnel_id,
        name,
        stages: columns,
    }
}

/// Registers the board.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_board);
}
