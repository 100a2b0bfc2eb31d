//! Opportunity lines in PostgreSQL. Every change locks the opportunity first, so concurrent
//! line edits of one opportunity run one after another and its target value, recomputed in
//! the same transaction, is always the sum of its lines.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::Visibility;
use crate::db::Conn;
use crate::domain::money::{Money, Percent, Quantity};
use crate::domain::opportunity::line_total;
use crate::error::{AppError, FieldError};
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::opportunities::store::{self as opportunities, OpportunityRow};
use crate::schema::{articles, opportunity_lines as lines};

/// Lines one opportunity may have.
const MAX_LINES: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lines, check_for_backend(diesel::pg::Pg))]
pub struct LineRow {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub position: i32,
    pub article_id: Option<Uuid>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Quantity,
    pub unit: String,
    pub unit_price: Money,
    pub discount_percent: Percent,
    pub tax_rate: Percent,
    pub line_total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new line as asked for; the article, if given, fills what is not.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub article_id: Option<Uuid>,
    pub sku: Option<String>,
    pub description: Option<String>,
    pub quantity: Quantity,
    pub unit: Option<String>,
    pub unit_price: Option<Money>,
    pub discount_percent: Option<Percent>,
    pub tax_rate: Option<Percent>,
}

/// A merge patch of a line; `Some(None)` clears the sku.
#[derive(Debug, Clone, Default)]
pub struct LineChanges {
    pub sku: Option<Option<String>>,
    pub description: Option<String>,
    pub quantity: Option<Quantity>,
    pub unit: Option<String>,
    pub unit_price: Option<Money>,
    pub discount_percent: Option<Percent>,
    pub tax_rate: Option<Percent>,
}

const WHAT: &str = "line";
/// Used when neither the request nor an article gives one.
const DEFAULT_UNIT: &str = "Stk";

/// The lines of a visible opportunity, by position.
pub async fn list(conn: &mut Conn, who: Visibility, opportunity: Uuid, page: &Page) -> Result<Vec<LineRow>, AppError> {
    opportunities::check_visible(conn, who, opportunity).await?;
    Ok(lines::table
        .filter(lines::opportunity_id.eq(opportunity))
        .filter(page.after()?)
        .order(page.order())
        .limit(page.fetch())
        .select(LineRow::as_select())
        .load(conn)
        .await?)
}

pub async fn find(conn: &mut Conn, who: Visibility, opportunity: Uuid, id: Uuid) -> Result<LineRow, AppError> {
    opportunities::check_visible(conn, who, opportunity).await?;
    lines::table
        .filter(lines::opportunity_id.eq(opportunity))
        .filter(lines::id.eq(id))
        .select(LineRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// Fills a new line from its article and checks it fits the opportunity.
async fn complete(conn: &mut Conn, opportunity: &OpportunityRow, new: NewLine) -> Result<NewLine, AppError> {
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
    let article: Option<(String, String, String, Money, String, Percent, bool)> = articles::table
        .find(article_id)
        .select((
            articles::sku,
            articles::name,
            articles::unit,
            articles::unit_price,
            articles::currency,
            articles::tax_rate,
            articles::active,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((sku, name, unit, unit_price, currency, tax_rate, active)) = article else {
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
    if new.unit_price.is_none() && currency != opportunity.currency {
        return Err(AppError::invalid(
            "article_id",
            "currency",
            format!(
                "article {sku} is priced in {currency}, the opportunity in {}: give unit_price",
                opportunity.currency
            ),
        ));
    }
    Ok(NewLine {
        sku: new.sku.or(Some(sku)),
        description: new.description.or(Some(name)),
        unit: new.unit.or(Some(unit)),
        unit_price: new.unit_price.or(Some(unit_price)),
        tax_rate: new.tax_rate.or(Some(tax_rate)),
        ..new
    })
}

fn total(quantity: Quantity, unit_price: Money, discount: Percent) -> Money {
    Money::rounded(line_total(quantity.value(), unit_price.amount(), discount.value()))
}

/// Adds a line at the end of an open opportunity's lines.
pub async fn insert(conn: &mut Conn, who: Visibility, opportunity_id: Uuid, new: NewLine) -> Result<LineRow, AppError> {
    conn.transaction(async |conn| {
        let opportunity = opportunities::lock_open(conn, who, opportunity_id).await?;
        let new = complete(conn, &opportunity, new).await?;
        let (count, last): (i64, Option<i32>) = lines::table
            .filter(lines::opportunity_id.eq(opportunity_id))
            .select((diesel::dsl::count_star(), diesel::dsl::max(lines::position)))
            .first(conn)
            .await?;
        if count >= MAX_LINES {
            return Err(AppError::Conflict(format!(
                "an opportunity has at most {MAX_LINES} lines"
            )));
        }
        let unit_price = new.unit_price.unwrap_or_default();
        let discount = new.discount_percent.unwrap_or(Percent::ZERO);
        let row = diesel::insert_into(lines::table)
            .values((
                lines::id.eq(Uuid::now_v7()),
                lines::opportunity_id.eq(opportunity_id),
                lines::position.eq(last.unwrap_or(0) + 1),
                lines::article_id.eq(new.article_id),
                lines::sku.eq(new.sku),
                lines::description.eq(new.description.unwrap_or_default()),
                lines::quantity.eq(new.quantity),
                lines::unit.eq(new.unit.unwrap_or_else(|| DEFAULT_UNIT.to_owned())),
                lines::unit_price.eq(unit_price),
                lines::discount_percent.eq(discount),
                lines::tax_rate.eq(new.tax_rate.unwrap_or(Percent::STANDARD_VAT)),
                lines::line_total.eq(total(new.quantity, unit_price, discount)),
            ))
            .returning(LineRow::as_returning())
            .get_result(conn)
            .await?;
        opportunities::touch(conn, opportunity_id).await?;
        Ok(row)
    })
    .await
}

/// Locks the open opportunity, then the line, and checks `If-Match` against the line.
async fn lock(
    conn: &mut Conn,
    who: Visibility,
    opportunity: Uuid,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<LineRow, AppError> {
    opportunities::lock_open(conn, who, opportunity).await?;
    let row = lines::table
        .filter(lines::opportunity_id.eq(opportunity))
        .filter(lines::id.eq(id))
        .select(LineRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    if_match.check(row.version)?;
    Ok(row)
}

/// Applies a merge patch to a line and recomputes its total and the opportunity's.
pub async fn update(
    conn: &mut Conn,
    who: Visibility,
    opportunity: Uuid,
    id: Uuid,
    if_match: &IfMatch,
    c: LineChanges,
) -> Result<LineRow, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, who, opportunity, id, if_match).await?;
        let quantity = c.quantity.unwrap_or(current.quantity);
        let unit_price = c.unit_price.unwrap_or(current.unit_price);
        let discount = c.discount_percent.unwrap_or(current.discount_percent);
        let row = diesel::update(lines::table.find(id))
            .set((
                lines::sku.eq(c.sku.unwrap_or(current.sku)),
                lines::description.eq(c.description.unwrap_or(current.description)),
                lines::quantity.eq(quantity),
                lines::unit.eq(c.unit.unwrap_or(current.unit)),
                lines::unit_price.eq(unit_price),
                lines::discount_percent.eq(discount),
                lines::tax_rate.eq(c.tax_rate.unwrap_or(current.tax_rate)),
                lines::line_total.eq(total(quantity, unit_price, discount)),
                lines::updated_at.eq(diesel::dsl::now),
                lines::version.eq(lines::version + 1),
            ))
            .returning(LineRow::as_returning())
            .get_result(conn)
            .await?;
        opportunities::touch(conn, opportunity).await?;
        Ok(row)
    })
    .await
}

/// Deletes a line; the opportunity's target value follows.
pub async fn delete(
    conn: &mut Conn,
    who: Visibility,
    opportunity: Uuid,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock(conn, who, opportunity, id, if_match).await?;
        diesel::delete(lines::table.find(id)).execute(conn).await?;
        opportunities::touch(conn, opportunity).await
    })
    .await
}
