//! Rules of quotes: totals per tax rate, and the status a quote shows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::money::round2;

/// A quote's totals: net, tax per rate (each rounded once), and gross.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub net: Decimal,
    /// (rate in percent, tax) by ascending rate.
    pub taxes: Vec<(Decimal, Decimal)>,
    pub tax: Decimal,
    pub gross: Decimal,
}

/// Totals of lines given as (line total, tax rate): the tax of each rate is the rate applied
/// to the sum of that rate's line totals, rounded half away from zero.
pub fn totals(lines: impl IntoIterator<Item = (Decimal, Decimal)>) -> Totals {
    let mut by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
    for (line_total, rate) in lines {
        *by_rate.entry(rate.normalize()).or_default() += line_total;
    }
    let net = by_rate.values().copied().sum();
    let taxes: Vec<(Decimal, Decimal)> = by_rate
        .into_iter()
        .map(|(rate, base)| (rate, round2(base * rate / Decimal::ONE_HUNDRED)))
        .collect();
    let tax = taxes.iter().map(|(_, amount)| *amount).sum();
    Totals {
        net,
        taxes,
        tax,
        gross: net + tax,
    }
}

crate::domain::text_enum! {
    /// The stored status of a quote.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum StoredStatus {
        Draft = "draft",
        Sent = "sent",
        Accepted = "accepted",
        Rejected = "rejected",
        Superseded = "superseded",
    }
}

/// The status a quote shows: a draft past its validity reads as expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    /// Being prepared; its lines and texts may change.
    Draft,
    /// Sent to the customer; read-only.
    Sent,
    /// The customer accepted it.
    Accepted,
    /// The customer rejected it.
    Rejected,
    /// A draft whose `valid_until` has passed.
    Expired,
    /// Sent, but a sibling quote of the same opportunity was accepted.
    Superseded,
}

/// What `stored` reads as on `today`.
pub fn shown_status(stored: StoredStatus, valid_until: NaiveDate, today: NaiveDate) -> QuoteStatus {
    match stored {
        StoredStatus::Draft if valid_until < today => QuoteStatus::Expired,
        StoredStatus::Draft => QuoteStatus::Draft,
        StoredStatus::Sent => QuoteStatus::Sent,
        StoredStatus::Accepted => QuoteStatus::Accepted,
        StoredStatus::Rejected => QuoteStatus::Rejected,
        StoredStatus::Superseded => QuoteStatus::Superseded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn two_cars_at_19_percent() {
        let t = totals([(d("100000.00"), d("19"))]);
        assert_eq!((t.net, t.tax, t.gross), (d("100000.00"), d("19000.00"), d("119000.00")));
        assert_eq!(t.taxes, [(d("19"), d("19000.00"))]);
    }

    #[test]
    fn tax_is_rounded_once_per_rate() {
        // 3 × 0.05 at 19 %: 0.15 × 0.19 = 0.0285 → 0.03 (per line it would be 3 × 0.01 = 0.03 too,
        // but 0.0095 each rounds to 0.01 only by luck); 7 % on 10.05 = 0.7035 → 0.70
        let t = totals([
            (d("0.05"), d("19.00")),
            (d("0.05"), d("19")),
            (d("0.05"), d("19")),
            (d("10.05"), d("7")),
        ]);
        assert_eq!(t.taxes, [(d("7"), d("0.70")), (d("19"), d("0.03"))]);
        assert_eq!((t.net, t.tax, t.gross), (d("10.20"), d("0.73"), d("10.93")));
    }

    #[test]
    fn a_draft_past_its_validity_is_expired() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let yesterday = today.pred_opt().unwrap_or_default();
        assert_eq!(shown_status(StoredStatus::Draft, today, today), QuoteStatus::Draft);
        assert_eq!(
            shown_status(StoredStatus::Draft, yesterday, today),
            QuoteStatus::Expired
        );
        assert_eq!(shown_status(StoredStatus::Sent, yesterday, today), QuoteStatus::Sent);
    }
}
