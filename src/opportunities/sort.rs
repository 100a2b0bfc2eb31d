//! The orders of the opportunity list and the cursor value each takes from a row (a full
//! opportunity or the board's card).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::money::Money;
use crate::http::pagination::{KeyKind, SortKey, time_key};

/// Sort orders of the opportunity list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum OpportunitySort {
    #[serde(rename = "updated_at")]
    UpdatedAt,
    #[default]
    #[serde(rename = "-updated_at")]
    UpdatedAtDesc,
    /// Soonest first; those without a date last.
    #[serde(rename = "expected_close_date")]
    ExpectedCloseDate,
    #[serde(rename = "-target_value")]
    TargetValueDesc,
    #[serde(rename = "-weighted_value")]
    WeightedValueDesc,
}

impl OpportunitySort {
    /// The sort key of this order.
    pub fn key(self) -> SortKey {
        let (name, column, descending, kind) = match self {
            Self::UpdatedAt => ("updated_at", "opportunities.updated_at", false, KeyKind::Timestamp),
            Self::UpdatedAtDesc => ("-updated_at", "opportunities.updated_at", true, KeyKind::Timestamp),
            Self::ExpectedCloseDate => (
                "expected_close_date",
                "coalesce(opportunities.expected_close_date, 'infinity'::date)",
                false,
                KeyKind::Date,
            ),
            Self::TargetValueDesc => ("-target_value", "opportunities.target_value", true, KeyKind::Decimal),
            Self::WeightedValueDesc => (
                "-weighted_value",
                "opportunities.weighted_value",
                true,
                KeyKind::Decimal,
            ),
        };
        SortKey {
            name,
            column,
            descending,
            kind,
        }
    }

    /// The cursor form of the sort key of a row with these values.
    pub fn cursor_value(
        self,
        updated_at: &DateTime<Utc>,
        expected_close_date: Option<NaiveDate>,
        target_value: &Money,
        weighted_value: &Money,
    ) -> String {
        match self {
            Self::UpdatedAt | Self::UpdatedAtDesc => time_key(updated_at),
            Self::ExpectedCloseDate => expected_close_date.map_or_else(|| "infinity".to_owned(), |d| d.to_string()),
            Self::TargetValueDesc => target_value.amount().to_string(),
            Self::WeightedValueDesc => weighted_value.amount().to_string(),
        }
    }
}
