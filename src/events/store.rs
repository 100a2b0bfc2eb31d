//! Events in PostgreSQL: written by the stores inside the transaction of each change, numbered
//! by `publish_events()` in the order they were written, once no transaction that wrote an
//! earlier event is still running (see the migrations 000007 and 000011).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::EventType;
use crate::db::Conn;
use crate::db::prepared::Statement;
use crate::error::AppError;
use crate::schema::events;

diesel::define_sql_function! {
    /// Gives a feed position to every event of an ended transaction; returns how many.
    fn publish_events() -> BigInt;
}

/// A published event.
#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub seq: i64,
    pub id: Uuid,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub subject_id: String,
    pub actor: Option<String>,
    pub data: Value,
}

/// Writes an event in the caller's transaction: it commits or rolls back with the change.
pub async fn record(
    conn: &mut Conn,
    event_type: EventType,
    subject_id: impl std::fmt::Display,
    actor: &str,
    data: Value,
) -> Result<(), AppError> {
    diesel::insert_into(events::table)
        .values((
            events::id.eq(Uuid::now_v7()),
            events::type_.eq(event_type),
            events::subject_id.eq(subject_id.to_string()),
            events::actor.eq(actor),
            events::data.eq(data),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes several events by `$1` (ids `$2`, types `$3`, subjects `$4`, data `$5`), in the order
/// given, in one statement that stays prepared whatever their number.
static RECORD_MANY: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "INSERT INTO events (actor, id, type, subject_id, data)
         SELECT a.actor, e.id, e.type, e.subject_id, e.data
         FROM (SELECT $1::text AS actor) a,
              unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS e(id, type, subject_id, data, n)
         ORDER BY e.n",
    )
});

/// Writes several events in one statement, in the order given (see [`record`]).
pub async fn record_many(
    conn: &mut Conn,
    actor: &str,
    changes: Vec<(EventType, String, Value)>,
) -> Result<(), AppError> {
    if changes.is_empty() {
        return Ok(());
    }
    let (mut ids, mut types, mut subjects, mut data) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (event_type, subject_id, payload) in changes {
        ids.push(Uuid::now_v7());
        types.push(event_type.as_str().to_owned());
        subjects.push(subject_id);
        data.push(payload);
    }
    RECORD_MANY
        .query()
        .bind::<Text, _>(actor.to_owned())
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<Text>, _>(types)
        .bind::<Array<Text>, _>(subjects)
        .bind::<Array<Jsonb>, _>(data)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the events the current transaction wrote (seeds load an initial state, which
/// consumers take from the lists, not from the feed).
pub async fn discard_own(conn: &mut Conn) -> Result<(), AppError> {
    diesel::sql_query("DELETE FROM events WHERE txid = pg_current_xact_id_if_assigned()")
        .execute(conn)
        .await?;
    Ok(())
}

/// Publishes the events that can no longer be preceded, in a transaction of its own (outside any
/// other: the function must take its snapshot after its lock, which READ COMMITTED does).
pub async fn publish(conn: &mut Conn) -> Result<i64, AppError> {
    Ok(diesel::select(publish_events()).get_result(conn).await?)
}

/// Publishes, then reads up to `limit` events after feed position `after`, in feed order.
pub async fn list(
    conn: &mut Conn,
    after: i64,
    event_type: Option<EventType>,
    limit: i64,
) -> Result<Vec<EventRow>, AppError> {
    publish(conn).await?;
    let mut query = events::table
        .filter(events::seq.gt(after))
        .select((
            events::seq.assume_not_null(),
            events::id,
            events::type_,
            events::occurred_at,
            events::subject_id,
            events::actor,
            events::data,
        ))
        .order(events::seq)
        .limit(limit)
        .into_boxed();
    if let Some(event_type) = event_type {
        query = query.filter(events::type_.eq(event_type));
    }
    Ok(query.load(conn).await?)
}

/// `<resource>.created` or `.deleted`: `data` holds the resource as shown (new, or its last
/// state) under `name`.
pub async fn state(
    conn: &mut Conn,
    event_type: EventType,
    actor: &str,
    (name, id): (&str, impl std::fmt::Display),
    after: &impl serde::Serialize,
) -> Result<(), AppError> {
    let data = serde_json::json!({ name: super::shown(after)? });
    record(conn, event_type, id, actor, data).await
}

/// `<resource>.updated`: `data` holds the resource after the change under `name`, and in
/// `previous` the changed fields' values in `before` (the resource as shown before).
pub async fn updated(
    conn: &mut Conn,
    event_type: EventType,
    actor: &str,
    (name, id): (&str, impl std::fmt::Display),
    before: &Value,
    after: &impl serde::Serialize,
) -> Result<(), AppError> {
    let after = super::shown(after)?;
    let data = serde_json::json!({ "previous": super::previous(before, &after), name: after });
    record(conn, event_type, id, actor, data).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_of_many_events_numbers_its_parameters_once_and_in_order() {
        assert_eq!(RECORD_MANY.parameters(), 5);
    }
}
