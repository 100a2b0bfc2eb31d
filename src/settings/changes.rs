//! The transactional commands on settings: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{SettingsChanges, SettingsRow};
use super::view::Settings;
use crate::db::Conn;
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::schema::settings;

pub async fn update(
    conn: &mut Conn,
    actor: &str,
    if_match: &IfMatch,
    changes: &SettingsChanges,
) -> Result<SettingsRow, AppError> {
    conn.transaction(async |conn| {
        let current: SettingsRow = settings::table
            .select(SettingsRow::as_select())
            .for_no_key_update()
            .first(conn)
            .await?;
        if_match.check(current.version)?;
        let before = events::shown(&Settings::from(current))?;
        let row: SettingsRow = diesel::update(settings::table)
            .set((
                changes,
                settings::updated_at.eq(diesel::dsl::now),
                settings::version.eq(settings::version + 1),
            ))
            .returning(SettingsRow::as_returning())
            .get_result(conn)
            .await?;
        let after = Settings::from(row.clone());
        events::store::updated(
            conn,
            EventType::SettingsUpdated,
            actor,
            ("settings", "settings"),
            &before,
            &after,
        )
        .await?;
        Ok(row)
    })
    .await
}
