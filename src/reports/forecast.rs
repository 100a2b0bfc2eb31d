//! The forecast: open opportunities by expected close month (Umsatzprognose), won value per
//! month, and quantities per article (Absatzprognose). Bodies are nested from grouped rows.

use std::borrow::Cow;
use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use super::store::{ArticleForecastRow, ForecastRow, Period};
use crate::domain::money::Money;
use crate::ids::{ArticleId, UserId};

/// A calendar month, `YYYY-MM` in JSON and queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month(NaiveDate);

impl Month {
    /// The month of `day`.
    pub fn of(day: NaiveDate) -> Self {
        Self(day.with_day(1).unwrap_or(day))
    }

    /// `count` months from this one on; `None` past the calendar's end.
    pub fn period(self, count: u32) -> Option<Period> {
        Some(Period {
            from: self.0,
            until: self.0.checked_add_months(Months::new(count))?,
        })
    }

    /// The months of `period`, which starts on a first of month.
    fn each(period: Period) -> impl Iterator<Item = Month> {
        (0..)
            .map_while(move |n| period.from.checked_add_months(Months::new(n)))
            .take_while(move |day| *day < period.until)
            .map(Month)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.0.year(), self.0.month())
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        let day = (text.len() == 7)
            .then(|| NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok())
            .flatten()
            .filter(|day| (1900..=9999).contains(&day.year()));
        day.map(Month)
            .ok_or_else(|| de::Error::custom("a month is written YYYY-MM, years 1900 to 9999"))
    }
}

impl PartialSchema for Month {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some("A calendar month, YYYY-MM"))
            .pattern(Some(r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"))
            .examples(["2026-11"])
            .into()
    }
}

impl ToSchema for Month {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Month")
    }
}

/// What each month is broken down by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastGrouping {
    /// Month totals only.
    #[default]
    Month,
    /// Per owner as well.
    Owner,
    /// Quantities and values per article as well.
    Article,
}

/// Sums of one currency in a month.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"currency": "EUR", "target_value": "180000.00", "weighted_value": "97500.00", "won_value": "42000.00"}))]
pub struct ForecastAmounts {
    #[schema(example = "EUR")]
    pub currency: String,
    /// Open opportunities expected to close in the month.
    pub target_value: Money,
    pub weighted_value: Money,
    /// Opportunities won in the month: their target values.
    pub won_value: Money,
}

impl ForecastAmounts {
    fn of(row: &ForecastRow) -> Option<Self> {
        Some(Self {
            currency: row.currency.clone()?,
            target_value: row.target_value.unwrap_or_default(),
            weighted_value: row.weighted_value.unwrap_or_default(),
            won_value: row.won_value.unwrap_or_default(),
        })
    }
}

/// An owner's month.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "name": "Anna Berger", "open_count": 2, "won_count": 1, "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00", "won_value": "42000.00"}]}))]
pub struct OwnerForecast {
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    pub name: String,
    pub open_count: i64,
    pub won_count: i64,
    pub amounts: Vec<ForecastAmounts>,
}

/// Values of an article's lines in one currency.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"currency": "EUR", "value": "30000.00", "weighted_value": "22500.00", "won_value": "5000.00"}))]
pub struct ArticleAmounts {
    #[schema(example = "EUR")]
    pub currency: String,
    /// Line totals of open opportunities expected to close in the month.
    pub value: Money,
    /// Line totals × the opportunity's probability.
    pub weighted_value: Money,
    /// Line totals of opportunities won in the month.
    pub won_value: Money,
}

/// An article's month (Absatzprognose).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "sku": "KOMBI-TDI", "name": "Kombi TDI", "unit": "Stk", "quantity": "12.000", "weighted_quantity": "9.000", "won_quantity": "2.000", "amounts": [{"currency": "EUR", "value": "30000.00", "weighted_value": "22500.00", "won_value": "5000.00"}]}))]
pub struct ArticleForecast {
    /// `null` for lines without a catalogue article, which count under their SKU.
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<ArticleId>,
    #[schema(example = "KOMBI-TDI")]
    pub sku: Option<String>,
    pub name: Option<String>,
    #[schema(example = "Stk")]
    pub unit: Option<String>,
    /// Quantity on open opportunities expected to close in the month.
    #[schema(value_type = String, example = "12.000")]
    pub quantity: Decimal,
    /// Quantity × the opportunity's probability / 100.
    #[schema(value_type = String, example = "9.000")]
    pub weighted_quantity: Decimal,
    /// Quantity on opportunities won in the month.
    #[schema(value_type = String, example = "2.000")]
    pub won_quantity: Decimal,
    pub amounts: Vec<ArticleAmounts>,
}

/// One month of the forecast.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"month": "2026-11", "open_count": 3, "won_count": 1, "amounts": [{"currency": "EUR", "target_value": "180000.00", "weighted_value": "97500.00", "won_value": "42000.00"}]}))]
pub struct ForecastMonth {
    pub month: Month,
    /// Open opportunities expected to close in the month.
    pub open_count: i64,
    /// Opportunities won in the month.
    pub won_count: i64,
    pub amounts: Vec<ForecastAmounts>,
    /// With `group_by=owner`: the owners with figures in the month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<OwnerForecast>>,
    /// With `group_by=article`: the articles with figures in the month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub articles: Option<Vec<ArticleForecast>>,
}

/// Sales and quantity forecast per month.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "from": "2026-11", "months": 2, "group_by": "month",
    "periods": [
        {"month": "2026-11", "open_count": 3, "won_count": 1, "amounts": [
            {"currency": "EUR", "target_value": "180000.00", "weighted_value": "97500.00", "won_value": "42000.00"}]},
        {"month": "2026-12", "open_count": 0, "won_count": 0, "amounts": []}
    ]
}))]
pub struct ForecastReport {
    pub from: Month,
    pub months: u32,
    pub group_by: ForecastGrouping,
    pub periods: Vec<ForecastMonth>,
}

impl ForecastReport {
    /// Every month of `period`, with the month and owner rows (ordered by month; per month its
    /// totals and currencies, then each owner's totals and currencies).
    pub fn new(group_by: ForecastGrouping, months: u32, period: Period, rows: Vec<ForecastRow>) -> Self {
        let mut periods: Vec<ForecastMonth> = Month::each(period)
            .map(|month| ForecastMonth {
                month,
                open_count: 0,
                won_count: 0,
                amounts: Vec::new(),
                owners: (group_by == ForecastGrouping::Owner).then(Vec::new),
                articles: (group_by == ForecastGrouping::Article).then(Vec::new),
            })
            .collect();
        for row in rows {
            let Some(period) = periods.iter_mut().find(|p| p.month == Month::of(row.month)) else {
                continue;
            };
            match row.level {
                3 => (period.open_count, period.won_count) = (row.open_count, row.won_count),
                2 => period.amounts.extend(ForecastAmounts::of(&row)),
                1 => {
                    if let (Some(owners), Some(owner_id)) = (period.owners.as_mut(), row.owner_id) {
                        owners.push(OwnerForecast {
                            owner_id,
                            name: row.owner_name.clone().unwrap_or_default(),
                            open_count: row.open_count,
                            won_count: row.won_count,
                            amounts: Vec::new(),
                        });
                    }
                }
                _ => {
                    if let Some(owner) = period.owners.as_mut().and_then(|owners| owners.last_mut()) {
                        owner.amounts.extend(ForecastAmounts::of(&row));
                    }
                }
            }
        }
        Self {
            from: Month(period.from),
            months,
            group_by,
            periods,
        }
    }

    /// Adds the article rows (ordered by month, then per article its quantities before its
    /// currencies).
    pub fn with_articles(mut self, rows: Vec<ArticleForecastRow>) -> Self {
        for row in rows {
            let Some(period) = self.periods.iter_mut().find(|p| p.month == Month::of(row.month)) else {
                continue;
            };
            let Some(articles) = period.articles.as_mut() else {
                continue;
            };
            match row.currency {
                None => articles.push(ArticleForecast {
                    article_id: row.article_id,
                    sku: row.sku,
                    name: row.article_name,
                    unit: row.unit,
                    quantity: row.quantity,
                    weighted_quantity: row.weighted_quantity,
                    won_quantity: row.won_quantity,
                    amounts: Vec::new(),
                }),
                Some(currency) => {
                    if let Some(article) = articles.last_mut() {
                        article.amounts.push(ArticleAmounts {
                            currency,
                            value: row.value,
                            weighted_value: row.weighted_value,
                            won_value: row.won_value,
                        });
                    }
                }
            }
        }
        self
    }
}
