//! Opportunity custom fields of type number or money as variables of the funnel formula
//! (`custom.<key>`): checked when the funnel is saved, read as 0 where an opportunity has no
//! value, and the stored `metric` kept current on every path that writes it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::custom_fields::define;
use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{Sales, act_ok, create_as, new_body, path_of, sales};
use crate::quotes::add_line;

async fn fields(app: &TestApp) {
    for field in [
        json!({"resource": "opportunity", "key": "leasing_months", "label": "Leasing (Monate)", "type": "number"}),
        json!({"resource": "opportunity", "key": "trade_in_value", "label": "Inzahlungnahme", "type": "money"}),
        json!({"resource": "opportunity", "key": "colour", "label": "Farbe", "type": "text"}),
        json!({"resource": "business_partner", "key": "credit_limit", "label": "Kreditlimit", "type": "money"}),
    ] {
        define(app, field).await;
    }
}

async fn set_formula(app: &TestApp, s: &Sales, formula: &str) -> reqwest::Response {
    app.patch(
        &format!("/api/v1/funnels/{}", s.funnel),
        &app.admin(),
        &json!({"metric_label": "Potenzial", "metric_formula": formula}),
    )
    .await
}

async fn metric(app: &TestApp, opportunity: &Value) -> Value {
    json_with(app.get(&path_of(opportunity), &app.admin()).await, StatusCode::OK).await["metric"].clone()
}

async fn patch_custom(app: &TestApp, opportunity: &Value, custom: Value) -> Value {
    json_with(
        app.patch(&path_of(opportunity), &app.admin(), &json!({ "custom": custom }))
            .await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn the_metric_reads_custom_numbers_and_follows_every_change() {
    let app = spawn_app().await;
    fields(&app).await;
    let s = sales(&app, "CFM").await;
    // 100,000.00 at 5 %: weighted 5,000.00.
    let mut body = new_body(&s, "Leasing");
    body["custom"] = json!({"trade_in_value": "12500.50", "leasing_months": 36, "colour": "rot"});
    let before = create_as(&app, &app.admin(), &body).await;
    let without = create_as(&app, &app.admin(), &new_body(&s, "Ohne")).await;
    assert_eq!(before["metric"], Value::Null);

    // The formula arrives later: the refresh of the funnel's opportunities reads the values.
    let formula = "weighted_value + custom.trade_in_value - custom.leasing_months * 10";
    json_with(set_formula(&app, &s, formula).await, StatusCode::OK).await;
    // 5,000.00 + 12,500.50 − 36 × 10
    assert_eq!(metric(&app, &before).await, json!("17140.50"));
    // No values read as 0: 5,000.00 + 0 − 0.
    assert_eq!(metric(&app, &without).await, json!("5000.00"));

    // A create computes it at once.
    let created = create_as(&app, &app.admin(), &body).await;
    assert_eq!(created["metric"], json!("17140.50"));
    // A patch of the values: 5,000.00 + 12,500.50 − 480.
    let patched = patch_custom(&app, &created, json!({"leasing_months": 48})).await;
    assert_eq!(patched["metric"], json!("17020.50"));
    // A value removed reads as 0 again: 5,000.00 + 0 − 480.
    let patched = patch_custom(&app, &created, json!({"trade_in_value": null})).await;
    assert_eq!(patched["metric"], json!("4520.00"));
    // A stage move (75 %): 75,000.00 − 480.
    let moved = act_ok(&app, &created, "stage", &json!({"stage_id": s.proposal})).await;
    assert_eq!(moved["metric"], json!("74520.00"));
    // A line (the refresh after line edits): 20,000.00 at 75 % = 15,000.00 − 480.
    add_line(
        &app,
        &created,
        &json!({"description": "Golf", "quantity": 1, "unit_price": "20000.00", "tax_rate": 19}),
    )
    .await;
    assert_eq!(metric(&app, &created).await, json!("14520.00"));
    // The event of the patch carries the new metric.
    let events = app.feed(200).await;
    let update = events
        .iter()
        .find(|e| e["type"] == "opportunity.updated" && e["data"]["opportunity"]["metric"] == json!("17020.50"))
        .unwrap();
    assert_eq!(update["data"]["previous"]["metric"], json!("17140.50"));

    // The pipeline report sums the stored metric in SQL: the proposal stage holds only it.
    let report = json_with(
        app.get(
            &format!("/api/v1/reports/pipeline?funnel_id={}", s.funnel),
            &app.admin(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let text = report.to_string();
    assert!(text.contains("\"14520.00\""), "{text}");
    // 17,140.50 + 5,000.00 in the first stage.
    assert!(text.contains("\"22140.50\""), "{text}");
}

#[tokio::test]
async fn a_formula_naming_an_unknown_or_non_numeric_custom_field_is_a_422_with_its_position() {
    let app = spawn_app().await;
    fields(&app).await;
    let s = sales(&app, "CFV").await;
    for (formula, message) in [
        (
            "weighted_value + custom.nope",
            "custom.nope names no opportunity custom field at line 1, column 18",
        ),
        (
            "if(custom.colour > 0, 1, 0)",
            "custom.colour is no number or money field: only those are formula variables at line 1, column 4",
        ),
        // A key of another resource is no variable of the opportunity's formula.
        (
            "custom.credit_limit",
            "custom.credit_limit names no opportunity custom field at line 1, column 1",
        ),
        ("custom.a.b", "the name custom.a.b is not allowed"),
    ] {
        let rejected = problem(set_formula(&app, &s, formula).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(rejected["errors"][0]["field"], "metric_formula", "{formula}");
        let text = rejected["errors"][0]["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{formula}: {text}");
    }
    let created = json_with(
        app.post(
            "/api/v1/funnels",
            &app.admin(),
            &json!({"name": "Mit Formel", "stage_ids": [s.first, s.won, s.lost],
                    "metric_formula": "custom.nope * 2"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        error_fields(&created).contains(&"metric_formula".to_owned()),
        "{created}"
    );
    json_with(
        set_formula(&app, &s, "round(Custom.Trade_In_Value / custom.leasing_months, 2)").await,
        StatusCode::OK,
    )
    .await;
}
