//! The one settings row in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::error::AppError;
use crate::schema::settings;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = settings, check_for_backend(diesel::pg::Pg))]
pub struct SettingsRow {
    pub company_name: String,
    pub company_address: String,
    pub default_currency: String,
    pub quote_header_text: String,
    pub quote_footer_text: String,
    pub quote_valid_days: i32,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub win_on_quote_accept: bool,
    pub quote_email_subject: String,
    pub quote_email_text: String,
    pub register_court: Option<String>,
    pub register_number: Option<String>,
    pub managing_directors: Option<String>,
    pub vat_id: Option<String>,
    pub tax_number: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = settings)]
pub struct SettingsChanges {
    pub company_name: Option<String>,
    pub company_address: Option<String>,
    pub default_currency: Option<String>,
    pub quote_header_text: Option<String>,
    pub quote_footer_text: Option<String>,
    pub quote_valid_days: Option<i32>,
    pub win_on_quote_accept: Option<bool>,
    pub quote_email_subject: Option<String>,
    pub quote_email_text: Option<String>,
    pub register_court: Option<Option<String>>,
    pub register_number: Option<Option<String>>,
    pub managing_directors: Option<Option<String>>,
    pub vat_id: Option<Option<String>>,
    pub tax_number: Option<Option<String>>,
    pub iban: Option<Option<String>>,
    pub bic: Option<Option<String>>,
    pub bank_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub website: Option<Option<String>>,
}

pub async fn get(conn: &mut Conn) -> Result<SettingsRow, AppError> {
    settings::table
        .select(SettingsRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::Internal("the settings row is missing; run the migrations".to_owned()))
}

/// The currency of new articles and opportunities that name none.
pub async fn default_currency(conn: &mut Conn) -> Result<String, AppError> {
    Ok(get(conn).await?.default_currency)
}
