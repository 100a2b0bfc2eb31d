//! The lines wing: what opportunity lines and quote lines share. The request types, the page
//! order, and the handlers' implementation (`handlers`); each parent's routes file only declares
//! its paths and documents them.

pub mod content;
pub mod handlers;

pub(crate) use content::content_columns;

use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::domain::money::{self, Money, Percent, Quantity};
use crate::http::pagination::{KeyKind, SortKey};
use crate::http::patch as merge;
use crate::ids::ArticleId;
use content::{LineChanges, NewLine};

/// A new line: an article fills sku, description, unit, unit price and tax rate (each may be
/// given to override it); without one, description and unit_price are required.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "quantity": 2, "discount_percent": 5}))]
pub struct NewLineRequest {
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<ArticleId>,
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    #[validate(length(max = 500), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 500)]
    pub description: Option<String>,
    /// Printed under the description on the quote. Default: the article's.
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub long_description: Option<String>,
    #[schema(value_type = money::QuantityInput)]
    pub quantity: Quantity,
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20, example = "Stk")]
    pub unit: Option<String>,
    #[validate(custom(function = "money::non_negative"))]
    #[schema(value_type = Option<money::MoneyInput>)]
    pub unit_price: Option<Money>,
    /// Default 0.
    pub discount_percent: Option<Percent>,
    /// Default: the article's, else 19.
    pub tax_rate: Option<Percent>,
}

/// Changes to a line (JSON merge patch).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": 3, "discount_percent": 7.5}))]
pub struct LinePatch {
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, min_length = 1, max_length = 500)]
    #[validate(length(max = 500), custom(function = "crate::http::not_blank"))]
    pub description: Option<String>,
    /// Printed under the description on the quote; `null` removes it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub long_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<money::QuantityInput>)]
    pub quantity: Option<Quantity>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, min_length = 1, max_length = 20)]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<money::MoneyInput>)]
    #[validate(custom(function = "money::non_negative"))]
    pub unit_price: Option<Money>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub discount_percent: Option<Percent>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub tax_rate: Option<Percent>,
}

impl From<NewLineRequest> for NewLine {
    fn from(r: NewLineRequest) -> Self {
        Self {
            article_id: r.article_id,
            sku: r.sku,
            description: r.description.map(|d| d.trim().to_owned()),
            long_description: r.long_description,
            quantity: r.quantity,
            unit: r.unit,
            unit_price: r.unit_price,
            discount_percent: r.discount_percent,
            tax_rate: r.tax_rate,
        }
    }
}

impl From<LinePatch> for LineChanges {
    fn from(p: LinePatch) -> Self {
        Self {
            sku: p.sku,
            description: p.description.map(|d| d.trim().to_owned()),
            long_description: p.long_description,
            quantity: p.quantity,
            unit: p.unit,
            unit_price: p.unit_price,
            discount_percent: p.discount_percent,
            tax_rate: p.tax_rate,
        }
    }
}

/// Lines in position order (opportunities and quotes).
pub const BY_POSITION: SortKey = SortKey {
    name: "position",
    column: "position",
    descending: false,
    kind: KeyKind::Integer,
};
