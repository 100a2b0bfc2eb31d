use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::json;

use crate::helpers::{error_fields, header, instant, json_with, problem, spawn_app};

const SETTINGS: &str = "/api/v1/settings";

#[tokio::test]
async fn the_settings_start_with_the_migration_defaults_and_everyone_reads_them() {
    let app = spawn_app().await;
    let response = app.get(SETTINGS, &app.admin()).await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"1\""));
    let settings = json_with(response, StatusCode::OK).await;
    assert_eq!(settings["default_currency"], "EUR");
    assert_eq!(settings["quote_valid_days"], 30);
    assert_eq!(settings["company_name"], "Meine Firma GmbH");
    assert_eq!(settings["company_address"], "Musterstraße 1, 10115 Berlin, Deutschland");
    assert!(settings["quote_header_text"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(settings["quote_footer_text"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(settings["version"], 1);
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let read = json_with(app.get(SETTINGS, &app.token_for(role, "x")).await, StatusCode::OK).await;
        assert_eq!(read, settings, "{role:?} reads the settings");
    }
    let anonymous = app.anonymous(Method::GET, SETTINGS).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_admin_changes_settings_and_the_version_goes_up() {
    let app = spawn_app().await;
    let before = json_with(app.get(SETTINGS, &app.admin()).await, StatusCode::OK).await;
    let response = app
        .request(Method::PATCH, SETTINGS, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({
            "company_name": "Autohaus Beispiel GmbH", "quote_valid_days": 45, "default_currency": "CHF",
            "quote_footer_text": ""
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!(updated["company_name"], "Autohaus Beispiel GmbH");
    assert_eq!(updated["quote_valid_days"], 45);
    assert_eq!(updated["default_currency"], "CHF");
    assert_eq!(updated["quote_footer_text"], "");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["company_address"], before["company_address"]);
    assert_eq!(updated["quote_header_text"], before["quote_header_text"]);
    assert!(instant(&updated["updated_at"]) > instant(&before["updated_at"]));
    let read = app.get(SETTINGS, &app.admin()).await;
    assert_eq!(header(&read, "etag").as_deref(), Some("\"2\""));
    assert_eq!(json_with(read, StatusCode::OK).await, updated);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    json_with(
        app.patch(SETTINGS, &app.admin(), &json!({"quote_valid_days": 14}))
            .await,
        StatusCode::OK,
    )
    .await;
    let stale = app
        .request(Method::PATCH, SETTINGS, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"quote_valid_days": 60}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let read = json_with(app.get(SETTINGS, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        (read["quote_valid_days"].as_i64(), read["version"].as_i64()),
        (Some(14), Some(2))
    );
}

#[tokio::test]
async fn invalid_settings_are_422_naming_the_field() {
    let app = spawn_app().await;
    for (patch, field) in [
        (json!({"quote_valid_days": 0}), "quote_valid_days"),
        (json!({"quote_valid_days": 366}), "quote_valid_days"),
        (json!({"quote_valid_days": "30"}), "quote_valid_days"),
        (json!({"default_currency": "ABC"}), "default_currency"),
        (json!({"default_currency": "EURO"}), "default_currency"),
        (json!({"default_currency": "eur"}), "default_currency"),
        (json!({"default_currency": null}), "default_currency"),
        (json!({"company_name": ""}), "company_name"),
        (json!({"company_name": null}), "company_name"),
        (json!({"logo_url": "https://example.com/logo.png"}), "logo_url"),
        (json!({"version": 7}), "version"),
    ] {
        let found = problem(
            app.patch(SETTINGS, &app.admin(), &patch).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec![field], "{patch}");
    }
    let read = json_with(app.get(SETTINGS, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        (read["version"].as_i64(), read["default_currency"].as_str()),
        (Some(1), Some("EUR")),
        "rejected patches change nothing"
    );
    let no_currency = json_with(
        app.patch(SETTINGS, &app.admin(), &json!({"default_currency": "XXX"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        no_currency["default_currency"], "XXX",
        "XXX is ISO 4217's 'no currency'"
    );
}

#[tokio::test]
async fn only_admins_change_settings() {
    let app = spawn_app().await;
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        problem(
            app.patch(SETTINGS, &app.token_for(role, "x"), &json!({"quote_valid_days": 10}))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let anonymous = app
        .anonymous(Method::PATCH, SETTINGS)
        .json(&json!({"quote_valid_days": 10}))
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let read = json_with(app.get(SETTINGS, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        (read["quote_valid_days"].as_i64(), read["version"].as_i64()),
        (Some(30), Some(1))
    );
}

#[tokio::test]
async fn a_new_article_without_currency_gets_the_changed_default_currency() {
    let app = spawn_app().await;
    json_with(
        app.patch(SETTINGS, &app.admin(), &json!({"default_currency": "CHF"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let article = json_with(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": "A1", "name": "Vignette", "unit_price": "40.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(article["currency"], "CHF");
    let upserted = json_with(
        app.request(Method::PUT, "/api/v1/articles/by-sku/A2", &app.admin())
            .json(&json!({"name": "Maut", "unit_price": "10.00"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(upserted["currency"], "CHF");
}
