//! `/articles`: the catalogue. Admins write; the integration role (ERP sync) may upsert by sku;
//! everyone reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes;
use super::store::{self, ArticleChanges, ArticleFilter, ArticleRow};
use super::view::Article;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::money::{self, Money, Percent};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::ArticleId;
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

fn sku_chars(value: &str) -> Result<(), validator::ValidationError> {
    let valid = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(validator::ValidationError::new("sku")
            .with_message("must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'".into()))
    }
}

fn piece() -> String {
    "Stk".to_owned()
}

/// The fields of an article other than its sku, as the ERP sends them (`PUT /articles/by-sku`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "VW ID.4 Pro", "unit": "Stk", "unit_price": "47990.00", "currency": "EUR", "tax_rate": 19}))]
pub struct ArticleContent {
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// Printed under the line's description on quotes; lines copy it.
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub long_description: Option<String>,
    /// Defaults to "Stk".
    #[serde(default = "piece")]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20, default = "Stk")]
    pub unit: String,
    #[validate(custom(function = "money::non_negative"))]
    #[schema(value_type = money::MoneyInput)]
    pub unit_price: Money,
    /// Defaults to the settings' currency.
    #[validate(custom(function = "money::currency"))]
    #[schema(value_type = Option<money::Currency>)]
    pub currency: Option<String>,
    /// Defaults to 19.
    pub tax_rate: Option<Percent>,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// A new article.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sku": "VW-ID4-PRO", "name": "VW ID.4 Pro", "unit_price": "47990.00"}))]
pub struct NewArticleRequest {
    #[validate(custom(function = "sku_chars"))]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// Printed under the line's description on quotes; lines copy it.
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub long_description: Option<String>,
    /// Defaults to "Stk".
    #[serde(default = "piece")]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20, default = "Stk")]
    pub unit: String,
    #[validate(custom(function = "money::non_negative"))]
    #[schema(value_type = money::MoneyInput)]
    pub unit_price: Money,
    /// Defaults to the settings' currency.
    #[validate(custom(function = "money::currency"))]
    #[schema(value_type = Option<money::Currency>)]
    pub currency: Option<String>,
    /// Defaults to 19.
    pub tax_rate: Option<Percent>,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

impl NewArticleRequest {
    fn into_parts(self) -> (String, ArticleContent) {
        let content = ArticleContent {
            name: self.name,
            description: self.description,
            long_description: self.long_description,
            unit: self.unit,
            unit_price: self.unit_price,
            currency: self.currency,
            tax_rate: self.tax_rate,
            active: self.active,
        };
        (self.sku, content)
    }
}

/// Changes to an article (JSON merge patch).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"unit_price": "45990.00", "description": null}))]
pub struct ArticlePatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "sku_chars"))]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub long_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 20)]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "money::non_negative"))]
    #[schema(nullable = false, value_type = Option<money::MoneyInput>)]
    pub unit_price: Option<Money>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "money::currency"))]
    #[schema(nullable = false, value_type = Option<money::Currency>)]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub tax_rate: Option<Percent>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// Sort orders of the article list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum ArticleSort {
    #[default]
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "sku")]
    Sku,
}

/// Filters and order of the article list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    pub active: Option<bool>,
    pub currency: Option<String>,
    /// Case-insensitive substring of sku or name.
    pub q: Option<String>,
    /// `name` (default) or `sku`.
    #[param(inline)]
    pub sort: Option<ArticleSort>,
}

fn sort_key(sort: ArticleSort) -> SortKey {
    match sort {
        ArticleSort::Name => SortKey {
            name: "name",
            column: "name",
            descending: false,
            kind: KeyKind::Text,
        },
        ArticleSort::Sku => SortKey {
            name: "sku",
            column: "sku",
            descending: false,
            kind: KeyKind::Text,
        },
    }
}

/// The row a request describes, with the defaults filled in.
async fn row_of(db: &Db, sku: String, content: ArticleContent) -> Result<ArticleRow, AppError> {
    let currency = match content.currency {
        Some(currency) => currency,
        None => crate::settings::store::default_currency(&mut *db.connection().await?).await?,
    };
    let now = Utc::now();
    Ok(ArticleRow {
        id: ArticleId::generate(),
        sku,
        name: content.name.trim().to_owned(),
        description: content.description,
        long_description: content.long_description,
        unit: content.unit,
        unit_price: content.unit_price,
        currency,
        tax_rate: content.tax_rate.unwrap_or(Percent::STANDARD_VAT),
        active: content.active,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

/// Lists articles.
#[utoipa::path(
    tag = "articles",
    params(ArticleQuery, PageParams),
    responses((status = 200, description = "One page of articles", body = Paged<Article>)),
    security(("bearer" = []))
)]
#[get("/articles")]
async fn list_articles(
    db: Db,
    who: Principal,
    query: Query<ArticleQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let query = query.into_inner();
    let sort = query.sort.unwrap_or_default();
    let page = Page::new(&page, sort_key(sort))?;
    let filter = ArticleFilter {
        active: query.active,
        currency: query.currency,
        q: query.q,
    };
    let rows = store::list(&mut *db.connection().await?, &filter, &page).await?;
    let key = |row: &ArticleRow| match sort {
        ArticleSort::Name => (row.name.clone(), row.id),
        ArticleSort::Sku => (row.sku.clone(), row.id),
    };
    Ok(HttpResponse::Ok().json(page.finish(rows, key).map(Article::from)))
}

/// Gets one article.
#[utoipa::path(
    tag = "articles",
    params(("id" = Uuid, Path, description = "Article id")),
    responses(
        (status = 200, description = "The article", body = Article, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/articles/{id}")]
async fn get_article(db: Db, who: Principal, id: Path<ArticleId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    Ok(ok(&Article::from(row)))
}

/// Creates an article (admin); a taken sku is a 409.
#[utoipa::path(
    tag = "articles",
    request_body = NewArticleRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Article,
            headers(("Location" = String, description = "URL of the new article"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/articles")]
async fn create_article(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewArticleRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let (sku, content) = body.parse()?.into_parts();
    let row = row_of(&db, sku, content).await?;
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(Article::from) })
    })
    .await
}

/// Creates or replaces the article with this sku (admin, integration): 201 when created, 200
/// when replaced; repeating the same request changes nothing (the version stays).
#[utoipa::path(
    tag = "articles",
    params(("sku" = String, Path, description = "Article number", pattern = "^[A-Za-z0-9._-]{1,64}$"), IfMatch),
    request_body = ArticleContent,
    responses(
        (status = 200, description = "Replaced (or already equal)", body = Article, headers(("ETag" = String, description = "Version"))),
        (status = 201, description = "Created", body = Article,
            headers(("Location" = String, description = "URL of the new article"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[put("/articles/by-sku/{sku}")]
async fn upsert_article(
    db: Db,
    who: Principal,
    sku: Path<String>,
    if_match: IfMatch,
    body: JsonBody<ArticleContent>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_upsert_articles)?;
    let sku = sku.into_inner();
    sku_chars(&sku).map_err(|e| AppError::invalid("sku", "sku", e.message.unwrap_or_default()))?;
    let content = body.parse()?;
    let new = row_of(&db, sku, content).await?;
    let replacement = ArticleChanges {
        sku: None,
        name: Some(new.name.clone()),
        description: Some(new.description.clone()),
        long_description: Some(new.long_description.clone()),
        unit: Some(new.unit.clone()),
        unit_price: Some(new.unit_price),
        currency: Some(new.currency.clone()),
        tax_rate: Some(new.tax_rate),
        active: Some(new.active),
    };
    let (row, created) =
        changes::upsert(&mut *db.connection().await?, &who.subject, new, &if_match, &replacement).await?;
    let article = Article::from(row);
    Ok(if created {
        crate::http::created(&article)
    } else {
        ok(&article)
    })
}

/// Changes an article (admin); honours `If-Match`.
#[utoipa::path(
    tag = "articles",
    params(("id" = Uuid, Path, description = "Article id"), IfMatch),
    request_body(content = ArticlePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Article, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/articles/{id}")]
async fn update_article(
    db: Db,
    who: Principal,
    id: Path<ArticleId>,
    if_match: IfMatch,
    body: JsonBody<ArticlePatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = ArticleChanges {
        sku: p.sku,
        name: p.name.map(|n| n.trim().to_owned()),
        description: p.description,
        long_description: p.long_description,
        unit: p.unit,
        unit_price: p.unit_price,
        currency: p.currency,
        tax_rate: p.tax_rate,
        active: p.active,
    };
    let row = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        &changes,
    )
    .await?;
    Ok(ok(&Article::from(row)))
}

/// Deletes an article no line refers to (admin); otherwise 409.
#[utoipa::path(
    tag = "articles",
    params(("id" = Uuid, Path, description = "Article id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/articles/{id}")]
async fn delete_article(
    db: Db,
    who: Principal,
    id: Path<ArticleId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    changes::delete(&mut *db.connection().await?, &who.subject, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the article routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_articles)
        .service(get_article)
        .service(create_article)
        .service(upsert_article)
        .service(update_article)
        .service(delete_article);
}
