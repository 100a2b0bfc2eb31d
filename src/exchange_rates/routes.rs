//! `/exchange-rates`: the rates of other currencies to the home currency. Admins and the
//! integration role (the ERP pushes them) write; everyone reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpResponse, delete, get, put};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::changes;
use super::store::{self, ExchangeRateRow, KEY_SQL, RateFilter};
use super::view::ExchangeRate;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::rate::{self, Rate, RateInput};
use crate::error::{AppError, field_errors};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok};
use crate::openapi::responses::{Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// The rate of a currency from a day on (`PUT /exchange-rates/{currency}/{valid_from}`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rate": "1.0642"}))]
pub struct ExchangeRateContent {
    /// Units of the home currency per unit of the path's currency.
    #[schema(value_type = RateInput)]
    pub rate: Rate,
}

/// Filters of the exchange rate list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExchangeRateQuery {
    /// Only the rates of this currency.
    #[param(value_type = Option<crate::domain::money::Currency>)]
    pub currency: Option<String>,
    /// Only the rate that holds on this day, per currency: the latest with `valid_from` on or
    /// before it.
    #[param(example = "2027-01-15")]
    pub on: Option<NaiveDate>,
}

/// Ordered by currency, then `valid_from`.
const BY_KEY: SortKey = SortKey {
    name: "currency",
    column: KEY_SQL,
    descending: false,
    kind: KeyKind::Text,
};

/// The path's currency and first day: 422 naming the field for a write, 400 for a read or a
/// delete, where any date is a key (a rate of a day no rate may start on is simply not there).
fn path_key(path: (String, String), write: bool) -> Result<(String, NaiveDate), AppError> {
    let (currency, day) = path;
    if !write {
        let valid_from = NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok();
        return match valid_from {
            Some(valid_from) if crate::domain::money::currency(&currency).is_ok() => Ok((currency, valid_from)),
            _ => Err(AppError::BadRequest(
                "the path needs an ISO 4217 currency and a date YYYY-MM-DD".to_owned(),
            )),
        };
    }
    let mut broken = Vec::new();
    if crate::domain::money::currency(&currency).is_err() {
        broken.push(crate::domain::Violation::new(
            "currency",
            "currency",
            "must be an ISO 4217 currency code such as CHF",
        ));
    }
    let valid_from = rate::valid_from(&day).map_err(|v| broken.push(v)).ok();
    match valid_from {
        Some(valid_from) if broken.is_empty() => Ok((currency, valid_from)),
        _ => Err(AppError::Validation(field_errors(broken))),
    }
}

/// Lists exchange rates by currency and first day; `on=<day>` gives each currency's rate of
/// that day.
#[utoipa::path(
    tag = "exchange-rates",
    params(ExchangeRateQuery, PageParams),
    responses((status = 200, description = "One page of exchange rates", body = Paged<ExchangeRate>)),
    security(("bearer" = []))
)]
#[get("/exchange-rates")]
async fn list_exchange_rates(
    db: Db,
    who: Principal,
    query: Query<ExchangeRateQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let query = query.into_inner();
    // The key is unique: it breaks its own ties.
    let page = Page::new(&page, BY_KEY)?.tie_breaker(KEY_SQL);
    let filter = RateFilter {
        currency: query.currency,
        on: query.on,
    };
    let rows = store::list(&mut *db.connection().await?, &filter, &page).await?;
    let key = |row: &ExchangeRateRow| (row.key(), Uuid::nil());
    Ok(HttpResponse::Ok().json(page.finish(rows, key).map(ExchangeRate::from)))
}

/// Gets the rate of a currency from a day on.
#[utoipa::path(
    tag = "exchange-rates",
    params(
        ("currency" = crate::domain::money::Currency, Path, description = "ISO 4217 code", example = "CHF"),
        ("valid_from" = NaiveDate, Path, description = "The rate's first day", example = "2027-01-01")
    ),
    responses(
        (status = 200, description = "The exchange rate", body = ExchangeRate, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/exchange-rates/{currency}/{valid_from}")]
async fn get_exchange_rate(db: Db, who: Principal, path: Path<(String, String)>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let (currency, valid_from) = path_key(path.into_inner(), false)?;
    let row = store::find(&mut *db.connection().await?, &currency, valid_from).await?;
    Ok(ok(&ExchangeRate::from(row)))
}

/// Creates or replaces the rate of a currency from a day on (admin, integration): 201 when
/// created, 200 when replaced; repeating the same request changes nothing (the version stays).
/// The home currency (`settings.default_currency`) has no rate (422).
#[utoipa::path(
    tag = "exchange-rates",
    params(
        ("currency" = crate::domain::money::Currency, Path, description = "ISO 4217 code, not the home currency", example = "CHF"),
        ("valid_from" = NaiveDate, Path, description = "The rate's first day, 1900 to 9999", example = "2027-01-01"),
        IfMatch
    ),
    request_body = ExchangeRateContent,
    responses(
        (status = 200, description = "Replaced (or already equal)", body = ExchangeRate, headers(("ETag" = String, description = "Version"))),
        (status = 201, description = "Created", body = ExchangeRate,
            headers(("Location" = String, description = "URL of the new exchange rate"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[put("/exchange-rates/{currency}/{valid_from}")]
async fn upsert_exchange_rate(
    db: Db,
    who: Principal,
    path: Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<ExchangeRateContent>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_exchange_rates)?;
    let content = body.parse()?;
    let (currency, valid_from) = path_key(path.into_inner(), true)?;
    let (row, created) = changes::upsert(
        &mut *db.connection().await?,
        &who.subject,
        &currency,
        valid_from,
        content.rate,
        &if_match,
    )
    .await?;
    let rate = ExchangeRate::from(row);
    Ok(if created {
        crate::http::created(&rate)
    } else {
        ok(&rate)
    })
}

/// Deletes the rate of a currency from a day on (admin, integration).
#[utoipa::path(
    tag = "exchange-rates",
    params(
        ("currency" = crate::domain::money::Currency, Path, description = "ISO 4217 code", example = "CHF"),
        ("valid_from" = NaiveDate, Path, description = "The rate's first day", example = "2027-01-01"),
        IfMatch
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/exchange-rates/{currency}/{valid_from}")]
async fn delete_exchange_rate(
    db: Db,
    who: Principal,
    path: Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_exchange_rates)?;
    let (currency, valid_from) = path_key(path.into_inner(), false)?;
    changes::delete(
        &mut *db.connection().await?,
        &who.subject,
        &currency,
        valid_from,
        &if_match,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the exchange rate routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_exchange_rates)
        .service(get_exchange_rate)
        .service(upsert_exchange_rate)
        .service(delete_exchange_rate);
}
