//! `/settings`: one set of company-wide settings. Admins write; everyone reads.

use actix_web::web::Data;
use actix_web::{HttpResponse, get, patch};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::store::{self, SettingsChanges, SettingsRow};
use crate::access::{Principal, Role};
use crate::db::{self, DbPool};
use crate::domain::money;
use crate::error::AppError;
use crate::http::json::JsonBody;
use crate::http::{IfMatch, Resource, ok, patch as merge};
use crate::openapi::responses::{Forbidden, PreconditionFailed, ValidationFailed};

/// Company-wide settings: the quote letterhead and defaults.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "company_name": "Autohaus Beispiel GmbH", "company_address": "Hauptstraße 1, 80331 München, Deutschland",
    "default_currency": "EUR", "quote_header_text": "Vielen Dank für Ihre Anfrage.",
    "quote_footer_text": "Es gelten unsere AGB.", "quote_valid_days": 30,
    "updated_at": "2026-11-02T09:15:00Z", "version": 3
}))]
pub struct Settings {
    pub company_name: String,
    /// Printed under the company name on quotes; lines separated by commas or newlines.
    pub company_address: String,
    /// ISO 4217 currency of new articles and opportunities that name none.
    pub default_currency: String,
    /// Default text above a quote's lines.
    pub quote_header_text: String,
    /// Default text below a quote's totals.
    pub quote_footer_text: String,
    /// Default validity of a new quote, in days.
    pub quote_valid_days: i32,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<SettingsRow> for Settings {
    fn from(row: SettingsRow) -> Self {
        Self {
            company_name: row.company_name,
            company_address: row.company_address,
            default_currency: row.default_currency,
            quote_header_text: row.quote_header_text,
            quote_footer_text: row.quote_footer_text,
            quote_valid_days: row.quote_valid_days,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Settings {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        "/api/v1/settings".to_owned()
    }
}

/// Changes to the settings (JSON merge patch).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quote_valid_days": 45, "default_currency": "CHF"}))]
pub struct SettingsPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub company_name: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 1000), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 1000)]
    pub company_address: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "money::currency"))]
    #[schema(nullable = false, schema_with = money::currency_schema)]
    pub default_currency: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 5000))]
    #[schema(nullable = false, max_length = 5000)]
    pub quote_header_text: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 5000))]
    #[schema(nullable = false, max_length = 5000)]
    pub quote_footer_text: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(range(min = 1, max = 365))]
    #[schema(nullable = false, minimum = 1, maximum = 365)]
    pub quote_valid_days: Option<i32>,
}

/// Gets the settings.
#[utoipa::path(
    tag = "settings",
    responses((status = 200, description = "The settings", body = Settings, headers(("ETag" = String, description = "Current version")))),
    security(("bearer" = []))
)]
#[get("/settings")]
async fn get_settings(pool: Data<DbPool>, who: Principal) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    Ok(ok(&Settings::from(
        store::get(&mut *db::connection(&pool).await?).await?,
    )))
}

/// Changes the settings (admin); honours `If-Match`.
#[utoipa::path(
    tag = "settings",
    params(IfMatch),
    request_body(content = SettingsPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Settings, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/settings")]
async fn update_settings(
    pool: Data<DbPool>,
    who: Principal,
    if_match: IfMatch,
    body: JsonBody<SettingsPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = SettingsChanges {
        company_name: p.company_name,
        company_address: p.company_address,
        default_currency: p.default_currency,
        quote_header_text: p.quote_header_text,
        quote_footer_text: p.quote_footer_text,
        quote_valid_days: p.quote_valid_days,
    };
    let row = store::update(&mut *db::connection(&pool).await?, &if_match, &changes).await?;
    Ok(ok(&Settings::from(row)))
}

/// Registers the settings routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_settings).service(update_settings);
}
