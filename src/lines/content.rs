//! A line's content, the same for opportunity and quote lines: what a request gives, what an
//! article fills in, defaults for the rest, the merge patch, the total, and the columns a
//! change writes.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::money::{Money, Percent, Quantity};
use crate::domain::opportunity::line_total;
use crate::error::{AppError, FieldError};
use crate::ids::ArticleId;
use crate::schema::articles;

/// A new line as asked for; the article, if given, fills what is not.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub article_id: Option<ArticleId>,
    pub sku: Option<String>,
    pub description: Option<String>,
    pub long_description: Option<String>,
    pub quantity: Quantity,
    pub unit: Option<String>,
    pub unit_price: Option<Money>,
    pub discount_percent: Option<Percent>,
    pub tax_rate: Option<Percent>,
}

/// A line's content as an opportunity or a quote stores it: what the request gave, what its
/// article filled in, defaults for the rest, and its total.
#[derive(Debug, Clone)]
pub struct LineContent {
    pub article_id: Option<ArticleId>,
    pub sku: Option<String>,
    pub description: String,
    pub long_description: Option<String>,
    pub quantity: Quantity,
    pub unit: String,
    pub unit_price: Money,
    pub discount_percent: Percent,
    pub tax_rate: Percent,
    pub line_total: Money,
}

impl From<NewLine> for LineContent {
    fn from(new: NewLine) -> Self {
        let unit_price = new.unit_price.unwrap_or_default();
        let discount_percent = new.discount_percent.unwrap_or(Percent::ZERO);
        Self {
            article_id: new.article_id,
            sku: new.sku,
            description: new.description.unwrap_or_default(),
            long_description: new.long_description,
            quantity: new.quantity,
            unit: new.unit.unwrap_or_else(|| DEFAULT_UNIT.to_owned()),
            unit_price,
            discount_percent,
            tax_rate: new.tax_rate.unwrap_or(Percent::STANDARD_VAT),
            line_total: total(new.quantity, unit_price, discount_percent),
        }
    }
}

impl LineContent {
    /// The content after a merge patch, with its total recomputed.
    pub fn patched(self, c: LineChanges) -> Self {
        let quantity = c.quantity.unwrap_or(self.quantity);
        let unit_price = c.unit_price.unwrap_or(self.unit_price);
        let discount_percent = c.discount_percent.unwrap_or(self.discount_percent);
        Self {
            article_id: self.article_id,
            sku: c.sku.unwrap_or(self.sku),
            description: c.description.unwrap_or(self.description),
            long_description: c.long_description.unwrap_or(self.long_description),
            quantity,
            unit: c.unit.unwrap_or(self.unit),
            unit_price,
            discount_percent,
            tax_rate: c.tax_rate.unwrap_or(self.tax_rate),
            line_total: total(quantity, unit_price, discount_percent),
        }
    }
}

/// A merge patch of a line; `Some(None)` clears the sku or the long description.
#[derive(Debug, Clone, Default)]
pub struct LineChanges {
    pub sku: Option<Option<String>>,
    pub description: Option<String>,
    pub long_description: Option<Option<String>>,
    pub quantity: Option<Quantity>,
    pub unit: Option<String>,
    pub unit_price: Option<Money>,
    pub discount_percent: Option<Percent>,
    pub tax_rate: Option<Percent>,
}

/// Used when neither the request nor an article gives one.
const DEFAULT_UNIT: &str = "Stk";

/// Fills a new line (of an opportunity or a quote in `currency`) from its article and checks
/// that it is complete.
pub async fn complete(conn: &mut Conn, currency: &str, new: NewLine) -> Result<NewLine, AppError> {
    let Some(article_id) = new.article_id else {
        let mut errors = Vec::new();
        if new.description.is_none() {
            errors.push(FieldError::new(
                "description",
                "required",
                "a line without article_id needs a description",
            ));
        }
        if new.unit_price.is_none() {
            errors.push(FieldError::new(
                "unit_price",
                "required",
                "a line without article_id needs a unit_price",
            ));
        }
        return if errors.is_empty() {
            Ok(new)
        } else {
            Err(AppError::Validation(errors))
        };
    };
    type Article = (String, String, Option<String>, String, Money, String, Percent, bool);
    let article: Option<Article> = articles::table
        .find(article_id)
        .select((
            articles::sku,
            articles::name,
            articles::long_description,
            articles::unit,
            articles::unit_price,
            articles::currency,
            articles::tax_rate,
            articles::active,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((sku, name, long_description, unit, unit_price, article_currency, tax_rate, active)) = article else {
        return Err(AppError::invalid(
            "article_id",
            "not_found",
            format!("article {article_id} does not exist"),
        ));
    };
    if !active {
        return Err(AppError::invalid(
            "article_id",
            "inactive",
            format!("article {sku} is not active"),
        ));
    }
    if new.unit_price.is_none() && article_currency != currency {
        return Err(AppError::invalid(
            "article_id",
            "currency",
            format!("article {sku} is priced in {article_currency}, the lines in {currency}: give unit_price"),
        ));
    }
    Ok(NewLine {
        sku: new.sku.or(Some(sku)),
        description: new.description.or(Some(name)),
        long_description: new.long_description.or(long_description),
        unit: new.unit.or(Some(unit)),
        unit_price: new.unit_price.or(Some(unit_price)),
        tax_rate: new.tax_rate.or(Some(tax_rate)),
        ..new
    })
}

/// A line's total as stored.
pub fn total(quantity: Quantity, unit_price: Money, discount: Percent) -> Money {
    Money::rounded(line_total(quantity.value(), unit_price.amount(), discount.value()))
}

/// The columns a change of line content `$c` (a [`LineContent`]) writes into lines table
/// `$table` (`opportunity_lines` or `quote_lines`, by the name it is imported as), with the
/// new version.
macro_rules! content_columns {
    ($table:ident, $c:expr) => {{
        let c: $crate::lines::content::LineContent = $c;
        (
            $table::sku.eq(c.sku),
            $table::description.eq(c.description),
            $table::long_description.eq(c.long_description),
            $table::quantity.eq(c.quantity),
            $table::unit.eq(c.unit),
            $table::unit_price.eq(c.unit_price),
            $table::discount_percent.eq(c.discount_percent),
            $table::tax_rate.eq(c.tax_rate),
            $table::line_total.eq(c.line_total),
            $table::updated_at.eq(diesel::dsl::now),
            $table::version.eq($table::version + 1),
        )
    }};
}
pub(crate) use content_columns;
