//! `/settings`: one set of company-wide settings. Admins write; everyone reads.

use actix_web::{HttpResponse, get, patch};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::changes;
use super::store::{self, SettingsChanges};
use super::view::Settings;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::{bank, contact, money};
use crate::error::AppError;
use crate::http::json::JsonBody;
use crate::http::{IfMatch, ok, patch as merge};
use crate::mail::template;
use crate::openapi::responses::{Forbidden, PreconditionFailed, ValidationFailed};

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
    #[schema(nullable = false, value_type = Option<money::Currency>)]
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
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub win_on_quote_accept: Option<bool>,
    /// A template (see `Settings.quote_email_text`); an unknown placeholder is a 422.
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(
        length(max = 500),
        custom(function = "crate::http::not_blank"),
        custom(function = "template::valid")
    )]
    #[schema(nullable = false, min_length = 1, max_length = 500)]
    pub quote_email_subject: Option<String>,
    /// A template (see `Settings.quote_email_text`); an unknown placeholder is a 422.
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(
        length(max = 20000),
        custom(function = "crate::http::not_blank"),
        custom(function = "template::valid")
    )]
    #[schema(nullable = false, min_length = 1, max_length = 20000)]
    pub quote_email_text: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100, example = "Amtsgericht München")]
    pub register_court: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 50), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 50, example = "HRB 123456")]
    pub register_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 300), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 300, example = "Maria Beispiel, Thomas Muster")]
    pub managing_directors: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::vat_id"))]
    #[schema(pattern = "^[A-Z]{2}[A-Za-z0-9]{2,13}$", example = "DE123456789")]
    pub vat_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 30), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 30, example = "143/123/45678")]
    pub tax_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "bank::iban"))]
    #[schema(
        pattern = "^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{11,38}$",
        max_length = 42,
        example = "DE89 3704 0044 0532 0130 00"
    )]
    pub iban: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "bank::bic"))]
    #[schema(pattern = "^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$", example = "COBADEFFXXX")]
    pub bic: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100, example = "Commerzbank München")]
    pub bank_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(custom(function = "contact::phone"))]
    #[schema(
        pattern = r"^[ +\-/().]*([0-9][ +\-/().]*){3,20}$",
        max_length = 40,
        example = "+49 89 1234560"
    )]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254, example = "info@autohaus-beispiel.de")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 500), custom(function = "contact::web_address"))]
    #[schema(format = "uri", max_length = 500, example = "https://www.autohaus-beispiel.de")]
    pub website: Option<Option<String>>,
}

/// Gets the settings.
#[utoipa::path(
    tag = "settings",
    responses((status = 200, description = "The settings", body = Settings, headers(("ETag" = String, description = "Current version")))),
    security(("bearer" = []))
)]
#[get("/settings")]
async fn get_settings(db: Db, who: Principal) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    Ok(ok(&Settings::from(store::get(&mut *db.connection().await?).await?)))
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
    db: Db,
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
        win_on_quote_accept: p.win_on_quote_accept,
        quote_email_subject: p.quote_email_subject,
        quote_email_text: p.quote_email_text,
        register_court: p.register_court,
        register_number: p.register_number,
        managing_directors: p.managing_directors,
        vat_id: p.vat_id,
        tax_number: p.tax_number,
        iban: p.iban,
        bic: p.bic,
        bank_name: p.bank_name,
        phone: p.phone,
        email: p.email,
        website: p.website,
    };
    let row = changes::update(&mut *db.connection().await?, &who.subject, &if_match, &changes).await?;
    Ok(ok(&Settings::from(row)))
}

/// Registers the settings routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_settings).service(update_settings);
}
