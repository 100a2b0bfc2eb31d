//! ExchangeRate as the API shows it (answers and event payloads).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::ExchangeRateRow;
use crate::domain::rate::Rate;
use crate::http::Resource;

/// The rate of a currency to the home currency (`settings.default_currency`) from a day on,
/// until the next rate of the currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "currency": "CHF", "valid_from": "2027-01-01", "rate": "1.0642",
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct ExchangeRate {
    /// ISO 4217 code; never the home currency, whose rate is always 1.
    #[schema(value_type = crate::domain::money::Currency)]
    pub currency: String,
    /// The first day the rate holds.
    pub valid_from: NaiveDate,
    /// Units of the home currency per unit of `currency`.
    pub rate: Rate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<ExchangeRateRow> for ExchangeRate {
    fn from(row: ExchangeRateRow) -> Self {
        Self {
            currency: row.currency.trim().to_owned(),
            valid_from: row.valid_from,
            rate: row.rate,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for ExchangeRate {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!(
            "/api/v1/exchange-rates/{}/{}",
            self.currency,
            self.valid_from.format("%Y-%m-%d")
        )
    }
}
