//! The transactional commands on custom field definitions: each validates against the
//! database (stages, values in use) and writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{self, CustomFieldChanges, CustomFieldRow, WHAT, find};
use super::view::CustomField;
use crate::db::{Conn, lock_version};
use crate::domain::custom::check_definition;
use crate::error::{AppError, FieldError, field_errors};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{CustomFieldId, StageId};
use crate::schema::custom_fields;

/// The name of a custom field in events.
const KEY: &str = "custom_field";

/// One 422 for a definition that does not fit its type or names unknown stages.
async fn validate(conn: &mut Conn, row: &CustomField) -> Result<(), AppError> {
    let mut errors = field_errors(check_definition(
        row.resource,
        row.field_type,
        &row.options,
        row.required_from_stage_ids.len(),
    ));
    let stages: &[StageId] = &row.required_from_stage_ids;
    for stage in store::unknown_stages(conn, stages).await? {
        errors.push(FieldError::new(
            "required_from_stage_ids",
            "not_found",
            format!("stage {stage} does not exist"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

pub async fn insert(conn: &mut Conn, actor: &str, row: &CustomFieldRow) -> Result<CustomFieldRow, AppError> {
    conn.transaction(async |conn| {
        validate(conn, &CustomField::from(row.clone())).await?;
        if store::key_has_values(conn, row.resource, &row.key).await? {
            return Err(AppError::Conflict(format!(
                "values of a deleted field with key '{}' remain on {} records; choose another key",
                row.key, row.resource
            )));
        }
        let row: CustomFieldRow = diesel::insert_into(custom_fields::table)
            .values(row)
            .returning(CustomFieldRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| AppError::from(e).or_conflict("a field with this key exists for this resource"))?;
        let shown = CustomField::from(row.clone());
        events::store::state(conn, EventType::CustomFieldCreated, actor, (KEY, row.id), &shown).await?;
        Ok(row)
    })
    .await
}

pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: CustomFieldId,
    if_match: &IfMatch,
    changes: &CustomFieldChanges,
) -> Result<CustomFieldRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "custom_fields", WHAT, &id, if_match).await?;
        let current = find(conn, id).await?;
        let before = CustomField::from(current.clone());
        let mut next = CustomField::from(current);
        if let Some(field_type) = changes.type_ {
            next.field_type = field_type;
        }
        if let Some(options) = &changes.options {
            next.options = options.iter().flatten().cloned().collect();
        }
        if let Some(stages) = &changes.required_from_stage_ids {
            next.required_from_stage_ids = stages.iter().flatten().copied().collect();
        }
        validate(conn, &next).await?;
        if next.field_type != before.field_type && store::in_use(conn, id, before.field_type, None).await? {
            return Err(AppError::Conflict(
                "records hold values of this field: its type cannot change".to_owned(),
            ));
        }
        let removed: Vec<String> = before
            .options
            .iter()
            .filter(|o| !next.options.contains(o))
            .cloned()
            .collect();
        if next.field_type == before.field_type
            && !removed.is_empty()
            && store::in_use(conn, id, before.field_type, Some(&removed)).await?
        {
            return Err(AppError::Conflict(format!(
                "records hold the options being removed ({})",
                removed.join(", ")
            )));
        }
        let before = events::shown(&before)?;
        let row: CustomFieldRow = diesel::update(custom_fields::table.find(id))
            .set((
                changes,
                custom_fields::updated_at.eq(diesel::dsl::now),
                custom_fields::version.eq(custom_fields::version + 1),
            ))
            .returning(CustomFieldRow::as_returning())
            .get_result(conn)
            .await?;
        let after = CustomField::from(row.clone());
        events::store::updated(conn, EventType::CustomFieldUpdated, actor, (KEY, id), &before, &after).await?;
        Ok(row)
    })
    .await
}

/// Deletes a definition; the values stay in the records' `custom` but are no longer shown.
pub async fn delete(conn: &mut Conn, actor: &str, id: CustomFieldId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "custom_fields", WHAT, &id, if_match).await?;
        let last: CustomFieldRow = diesel::delete(custom_fields::table.find(id))
            .returning(CustomFieldRow::as_returning())
            .get_result(conn)
            .await?;
        events::store::state(
            conn,
            EventType::CustomFieldDeleted,
            actor,
            (KEY, id),
            &CustomField::from(last),
        )
        .await
    })
    .await
}
