//! The board as the API shows it.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::money::Percent;
use crate::domain::pipeline::Outcome;
use crate::ids::{FunnelId, StageId};
use crate::opportunities::view::OpportunityCard;
use crate::reports::pipeline::Amounts;

/// A column of the board: a stage with its count, its sums and its first cards.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "ANGEBOT", "name": "Angebot", "icon": "file-text",
    "probability": 75.0, "outcome": "open", "count": 2,
    "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}],
    "items": [{
        "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "number": "OPP-000042",
        "subject": "Fleet renewal 2027: 12 estate cars", "stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31",
        "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "business_partner_name": "Autohaus Berger GmbH",
        "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "owner_name": "Anna Berger", "currency": "EUR",
        "target_value": "100000.00", "weighted_value": "75000.00", "probability": 75.0, "health": "green",
        "next_activity": null, "expected_close_date": "2027-03-31", "updated_at": "2026-11-20T14:05:00Z"
    }],
    "next_cursor": "eyJzIjoiLXVwZGF0ZWRfYXQiLCJ2IjoiMjAyNi0xMS0yMFQxNDowNTowMC4wMDAwMDBaIiwiaWQiOiIwMTkzYTFjMi03ZDFlLTdjNGEtOWYwMC0yYjZjMWQ5ZThmMjAifQ.c2lnbmF0dXJlLXNpZ25hdHVy"
}))]
pub struct BoardStage {
    /// The stage's id.
    #[schema(value_type = Uuid)]
    pub id: StageId,
    pub code: String,
    pub name: String,
    pub icon: Option<String>,
    /// The stage's probability (an opportunity may override its own).
    pub probability: Percent,
    pub outcome: Outcome,
    /// Opportunities in the stage that match the filters, in every currency.
    pub count: i64,
    /// Target and weighted sums per currency (by code), exact; empty when the stage has none.
    /// Sums in the home currency are not given yet.
    pub amounts: Vec<Amounts>,
    /// The first `limit_per_stage` cards, most recently changed first (the list's default order).
    pub items: Vec<OpportunityCard>,
    /// Continues this column: pass it as `cursor` to
    /// `GET /opportunities?funnel_id=…&stage_id=…&view=card` with the board's filters
    /// (`owner_id`, `class_id`, `health`); `null` when the column has no more cards.
    pub next_cursor: Option<String>,
}

/// A funnel's board: every stage in funnel order, the Kanban a front-end draws.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "name": "Neuwagen",
    "stages": [
        {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "code": "ERSTKONTAKT", "name": "Erstkontakt", "icon": null,
         "probability": 10.0, "outcome": "open", "count": 0, "amounts": [], "items": [], "next_cursor": null}
    ]
}))]
pub struct Board {
    #[schema(value_type = Uuid)]
    pub funnel_id: FunnelId,
    /// The funnel's name.
    pub name: String,
    pub stages: Vec<BoardStage>,
}
