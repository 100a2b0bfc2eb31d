//! Opportunity lines in PostgreSQL. Every change locks the opportunity first, so concurrent
//! line edits of one opportunity run one after another and its target value, recomputed in
//! the same transaction, is always the sum of its lines.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::access::Actor;
use crate::access::Visibility;
use crate::db::Conn;
use crate::domain::money::{Money, Percent, Quantity};
use crate::error::AppError;
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::ids::{ArticleId, OpportunityId, OpportunityLineId};
use crate::lines::content::{LineChanges, LineContent, NewLine, complete};
use crate::opportunities::changes as opportunities;
use crate::schema::opportunity_lines as lines;

/// Lines one opportunity may have.
const MAX_LINES: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lines, check_for_backend(diesel::pg::Pg))]
pub struct LineRow {
    pub id: OpportunityLineId,
    pub opportunity_id: OpportunityId,
    pub position: i32,
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<&LineRow> for LineContent {
    fn from(row: &LineRow) -> Self {
        Self {
            article_id: row.article_id,
            sku: row.sku.clone(),
            description: row.description.clone(),
            long_description: row.long_description.clone(),
            quantity: row.quantity,
            unit: row.unit.clone(),
            unit_price: row.unit_price,
            discount_percent: row.discount_percent,
            tax_rate: row.tax_rate,
            line_total: row.line_total,
        }
    }
}

/// A new row of `opportunity_lines`.
#[derive(Debug, Insertable)]
#[diesel(table_name = lines)]
pub struct NewLineRow {
    id: OpportunityLineId,
    opportunity_id: OpportunityId,
    position: i32,
    article_id: Option<ArticleId>,
    sku: Option<String>,
    description: String,
    long_description: Option<String>,
    quantity: Quantity,
    unit: String,
    unit_price: Money,
    discount_percent: Percent,
    tax_rate: Percent,
    line_total: Money,
}

impl LineContent {
    /// The row of this content as line `position` of an opportunity.
    pub fn into_line(self, opportunity_id: OpportunityId, position: i32) -> NewLineRow {
        NewLineRow {
            id: OpportunityLineId::generate(),
            opportunity_id,
            position,
            article_id: self.article_id,
            sku: self.sku,
            description: self.description,
            long_description: self.long_description,
            quantity: self.quantity,
            unit: self.unit,
            unit_price: self.unit_price,
            discount_percent: self.discount_percent,
            tax_rate: self.tax_rate,
            line_total: self.line_total,
        }
    }
}

/// Replaces the lines of opportunity `id` (locked by the caller) with `contents`, in order,
/// and refreshes its target value.
pub async fn replace(
    conn: &mut Conn,
    actor: &Actor,
    id: OpportunityId,
    contents: Vec<LineContent>,
) -> Result<(), AppError> {
    diesel::delete(lines::table.filter(lines::opportunity_id.eq(id)))
        .execute(conn)
        .await?;
    let rows: Vec<NewLineRow> = contents
        .into_iter()
        .zip(1..)
        .map(|(c, position)| c.into_line(id, position))
        .collect();
    diesel::insert_into(lines::table).values(rows).execute(conn).await?;
    opportunities::touch(conn, actor, id).await
}

/// The lines of opportunity `id`, by position.
pub async fn of(conn: &mut Conn, id: OpportunityId) -> Result<Vec<LineRow>, AppError> {
    Ok(lines::table
        .filter(lines::opportunity_id.eq(id))
        .order(lines::position)
        .select(LineRow::as_select())
        .load(conn)
        .await?)
}

const WHAT: &str = "line";
/// The lines of a visible opportunity, by position.
pub async fn list(
    conn: &mut Conn,
    who: Visibility,
    opportunity: OpportunityId,
    page: &Page,
) -> Result<Vec<LineRow>, AppError> {
    crate::opportunities::store::check_visible(conn, who, opportunity).await?;
    Ok(lines::table
        .filter(lines::opportunity_id.eq(opportunity))
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .select(LineRow::as_select())
        .load(conn)
        .await?)
}

pub async fn find(
    conn: &mut Conn,
    who: Visibility,
    opportunity: OpportunityId,
    id: OpportunityLineId,
) -> Result<LineRow, AppError> {
    crate::opportunities::store::check_visible(conn, who, opportunity).await?;
    lines::table
        .filter(lines::opportunity_id.eq(opportunity))
        .filter(lines::id.eq(id))
        .select(LineRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// Adds a line at the end of an open opportunity's lines.
pub async fn insert(
    conn: &mut Conn,
    actor: &Actor,
    opportunity_id: OpportunityId,
    new: NewLine,
) -> Result<LineRow, AppError> {
    conn.transaction(async |conn| {
        let opportunity = opportunities::lock_open(conn, actor.who, opportunity_id).await?;
        let new = complete(conn, &opportunity.currency, new).await?;
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
        let row = diesel::insert_into(lines::table)
            .values(LineContent::from(new).into_line(opportunity_id, last.unwrap_or(0) + 1))
            .returning(LineRow::as_returning())
            .get_result(conn)
            .await?;
        opportunities::touch(conn, actor, opportunity_id).await?;
        Ok(row)
    })
    .await
}

/// Locks the open opportunity, then the line, and checks `If-Match` against the line.
async fn lock(
    conn: &mut Conn,
    who: Visibility,
    opportunity: OpportunityId,
    id: OpportunityLineId,
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
    actor: &Actor,
    opportunity: OpportunityId,
    id: OpportunityLineId,
    if_match: &IfMatch,
    c: LineChanges,
) -> Result<LineRow, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, actor.who, opportunity, id, if_match).await?;
        let c = LineContent::from(&current).patched(c);
        let row = diesel::update(lines::table.find(id))
            .set(crate::lines::content_columns!(lines, c))
            .returning(LineRow::as_returning())
            .get_result(conn)
            .await?;
        opportunities::touch(conn, actor, opportunity).await?;
        Ok(row)
    })
    .await
}

/// Deletes a line; the opportunity's target value follows.
pub async fn delete(
    conn: &mut Conn,
    actor: &Actor,
    opportunity: OpportunityId,
    id: OpportunityLineId,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock(conn, actor.who, opportunity, id, if_match).await?;
        diesel::delete(lines::table.find(id)).execute(conn).await?;
        opportunities::touch(conn, actor, opportunity).await
    })
    .await
}
