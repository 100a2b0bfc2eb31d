//! Reports over periods: forecast, win/loss and stage conversion, on hand-built data with fixed
//! dates (set in SQL) and the answers worked out by hand in the comments.

use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{act_ok, id, path_of, sales};
use crate::reports::{opportunity, report};

fn uuid(value: &Value) -> uuid::Uuid {
    uuid::Uuid::parse_str(value["id"].as_str().unwrap()).unwrap()
}

fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    format!("{text}T12:00:00Z").parse().unwrap()
}

/// Sets when an opportunity was created and closed.
async fn dates(app: &TestApp, opportunity: &Value, created: &str, closed: Option<&str>) {
    let mut conn = app.db.connect_async().await;
    diesel::sql_query("UPDATE opportunities SET created_at = $2, closed_at = coalesce($3, closed_at) WHERE id = $1")
        .bind::<SqlUuid, _>(uuid(opportunity))
        .bind::<Timestamptz, _>(instant(created))
        .bind::<diesel::sql_types::Nullable<Timestamptz>, _>(closed.map(instant))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Rewrites the times of an opportunity's stage history, oldest entry first.
async fn history_at(app: &TestApp, opportunity: &Value, days: &[&str]) {
    let history = json_with(
        app.get(&format!("{}/history", path_of(opportunity)), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    let entries = history["items"].as_array().unwrap();
    assert_eq!(entries.len(), days.len(), "{history}");
    let mut conn = app.db.connect_async().await;
    for (entry, day) in entries.iter().zip(days) {
        diesel::sql_query("UPDATE opportunity_stage_changes SET changed_at = $2 WHERE id = $1")
            .bind::<SqlUuid, _>(uuid(entry))
            .bind::<Timestamptz, _>(instant(day))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn add_line(app: &TestApp, opportunity: &Value, line: Value) {
    json_with(
        app.post(&format!("{}/lines", path_of(opportunity)), &app.admin(), &line)
            .await,
        StatusCode::CREATED,
    )
    .await;
}

/// Open ones by expected close month, from 2031-01 for 3 months (probabilities 5 % and 75 %):
///   A 5 %  EUR, closes 2031-01-10: 4 × X at 2,500 = 10,000 → weighted   500  (owner ra)
///   B 75 % EUR, closes 2031-01-31: 2 × X = 5,000 + 10 × SRV at 100 = 6,000 → 4,500 (owner ra)
///   C 75 % USD, closes 2031-02-01: 20,000 → 15,000 (the class's owner)
///   D won EUR on 2031-02-15: 20 × X = 50,000 (the class's owner)
///   E closes 2031-04-01 (after the range), F has no date: not in it.
/// 2031-01: 2 open, EUR 16,000 / 5,000. 2031-02: 1 open, 1 won; EUR won 50,000; USD 20,000 /
/// 15,000. 2031-03: nothing.
/// Articles (by SKU) 2031-01: SRV 10 (7.5), 1,000 (750); X 6 (weighted 4 × 5 % + 2 × 75 % = 1.7), value 15,000, weighted
/// 10,000 × 5 % + 5,000 × 75 % = 4,250. 2031-02: X won 20, 50,000.
#[tokio::test]
async fn forecast_sums_open_opportunities_by_close_month_and_won_value_by_month_won() {
    let app = spawn_app().await;
    let s = sales(&app, "FC").await;
    let ra = id(&app.create_user("ra@example.com", "rep").await);
    let x = json_with(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": "X", "name": "Kombi", "unit": "Stk", "unit_price": "2500.00", "currency": "EUR"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let a = opportunity(
        &app,
        &s,
        "A",
        json!({"owner_id": ra, "expected_close_date": "2031-01-10"}),
    )
    .await;
    add_line(&app, &a, json!({"article_id": x["id"], "quantity": 4})).await;
    let b = opportunity(
        &app,
        &s,
        "B",
        json!({"owner_id": ra, "stage_id": s.proposal, "expected_close_date": "2031-01-31"}),
    )
    .await;
    add_line(&app, &b, json!({"article_id": x["id"], "quantity": 2})).await;
    add_line(
        &app,
        &b,
        json!({"sku": "SRV", "description": "Einweisung", "quantity": 10, "unit": "h", "unit_price": "100.00"}),
    )
    .await;
    opportunity(
        &app,
        &s,
        "C",
        json!({"stage_id": s.proposal, "currency": "USD", "target_value": "20000", "expected_close_date": "2031-02-01"}),
    )
    .await;
    let d = opportunity(&app, &s, "D", json!({"expected_close_date": "2030-12-01"})).await;
    add_line(&app, &d, json!({"article_id": x["id"], "quantity": 20})).await;
    act_ok(&app, &d, "win", &json!({})).await;
    dates(&app, &d, "2031-01-02", Some("2031-02-15")).await;
    opportunity(&app, &s, "E", json!({"expected_close_date": "2031-04-01"})).await;
    opportunity(&app, &s, "F", json!({})).await;

    let base = format!("/api/v1/reports/forecast?funnel_id={}&from=2031-01&months=3", s.funnel);
    let body = report(&app, &app.admin(), &base).await;

    assert_eq!(
        (body["from"].as_str(), body["months"].as_i64()),
        (Some("2031-01"), Some(3))
    );
    let months: Vec<&str> = body["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2031-01", "2031-02", "2031-03"]);
    let january = &body["periods"][0];
    assert_eq!(
        (january["open_count"].as_i64(), january["won_count"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        january["amounts"],
        json!([{"currency": "EUR", "target_value": "16000.00", "weighted_value": "5000.00", "won_value": "0.00"}])
    );
    let february = &body["periods"][1];
    assert_eq!(
        (february["open_count"].as_i64(), february["won_count"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        february["amounts"],
        json!([
            {"currency": "EUR", "target_value": "0.00", "weighted_value": "0.00", "won_value": "50000.00"},
            {"currency": "USD", "target_value": "20000.00", "weighted_value": "15000.00", "won_value": "0.00"}
        ])
    );
    assert_eq!(
        body["periods"][2],
        json!({"month": "2031-03", "open_count": 0, "won_count": 0, "amounts": []})
    );
    assert!(january.get("owners").is_none() && january.get("articles").is_none());

    let by_owner = report(&app, &app.admin(), &format!("{base}&group_by=owner")).await;
    let owners = &by_owner["periods"][0]["owners"];
    assert_eq!(owners.as_array().unwrap().len(), 1);
    assert_eq!(
        (owners[0]["owner_id"].as_str(), owners[0]["name"].as_str()),
        (Some(ra.as_str()), Some("ra"))
    );
    assert_eq!(owners[0]["amounts"], january["amounts"]);
    let february_owners = &by_owner["periods"][1]["owners"];
    assert_eq!(february_owners[0]["owner_id"], s.owner.as_str());
    assert_eq!(
        (
            february_owners[0]["open_count"].as_i64(),
            february_owners[0]["won_count"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(by_owner["periods"][2]["owners"], json!([]));

    let by_article = report(&app, &app.admin(), &format!("{base}&group_by=article")).await;
    assert_eq!(
        by_article["periods"][0]["articles"],
        json!([
            {"article_id": null, "sku": "SRV", "name": null, "unit": null, "quantity": "10.000",
             "weighted_quantity": "7.500", "won_quantity": "0.000",
             "amounts": [{"currency": "EUR", "value": "1000.00", "weighted_value": "750.00", "won_value": "0.00"}]},
            {"article_id": x["id"], "sku": "X", "name": "Kombi", "unit": "Stk", "quantity": "6.000",
             "weighted_quantity": "1.700", "won_quantity": "0.000",
             "amounts": [{"currency": "EUR", "value": "15000.00", "weighted_value": "4250.00", "won_value": "0.00"}]}
        ])
    );
    assert_eq!(
        by_article["periods"][1]["articles"],
        json!([{"article_id": x["id"], "sku": "X", "name": "Kombi", "unit": "Stk", "quantity": "0.000",
                "weighted_quantity": "0.000", "won_quantity": "20.000",
                "amounts": [{"currency": "EUR", "value": "0.00", "weighted_value": "0.00", "won_value": "50000.00"}]}])
    );
    assert_eq!(by_article["periods"][0]["amounts"], january["amounts"]);
}

#[tokio::test]
async fn forecast_months_out_of_range_are_422() {
    let app = spawn_app().await;
    for query in ["months=0", "months=37", "from=9999-12&months=2"] {
        let body = problem(
            app.get(&format!("/api/v1/reports/forecast?{query}"), &app.admin())
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&body), ["months"], "{query}");
    }
}

/// Closed in January 2030 (days from creation to close):
///   W1 won  EUR 50,000 (10 days), W2 won USD 20,000 (20 days)
///   L1 lost EUR 5,000 "Preis" (4 days), L3 lost EUR 3,000 "Preis" (6 days)
///   L2 lost EUR 7,000 "Timing" (8 days); L4 lost in March: outside.
/// Won 2, lost 3, win rate 2 / 5 = 40 %, 15.0 days to win, (4 + 6 + 8) / 3 = 6.0 to lose.
/// EUR: 1 won 50,000, 3 lost 15,000; USD: 1 won 20,000. Preis: 2, 8,000, 5.0 days;
/// Timing: 1, 7,000, 8.0 days.
#[tokio::test]
async fn win_loss_counts_values_rates_and_reasons_of_a_period() {
    let app = spawn_app().await;
    let s = sales(&app, "WL").await;
    let timing = id(&json_with(
        app.post("/api/v1/lost-reasons", &app.admin(), &json!({"label": "Timing"}))
            .await,
        StatusCode::CREATED,
    )
    .await);
    let closed = [
        ("W1", "EUR", "50000", None, "2030-01-01", "2030-01-11"),
        ("W2", "USD", "20000", None, "2030-01-01", "2030-01-21"),
        ("L1", "EUR", "5000", Some(&s.reason), "2030-01-01", "2030-01-05"),
        ("L3", "EUR", "3000", Some(&s.reason), "2030-01-02", "2030-01-08"),
        ("L2", "EUR", "7000", Some(&timing), "2030-01-01", "2030-01-09"),
        ("L4", "EUR", "9000", Some(&timing), "2030-02-01", "2030-03-01"),
    ];
    for (subject, currency, target, reason, created, closed) in closed {
        let o = opportunity(&app, &s, subject, json!({"currency": currency, "target_value": target})).await;
        match reason {
            None => act_ok(&app, &o, "win", &json!({})).await,
            Some(reason) => act_ok(&app, &o, "lose", &json!({"lost_reason_id": reason})).await,
        };
        dates(&app, &o, created, Some(closed)).await;
    }
    opportunity(&app, &s, "still open", json!({})).await;

    let body = report(
        &app,
        &app.admin(),
        "/api/v1/reports/win-loss?from=2030-01-01&to=2030-01-31",
    )
    .await;

    assert_eq!(
        body,
        json!({
            "from": "2030-01-01", "to": "2030-01-31", "won_count": 2, "lost_count": 3, "win_rate": 40.0,
            "average_days_to_win": 15.0, "average_days_to_lose": 6.0,
            "amounts": [
                {"currency": "EUR", "won_count": 1, "lost_count": 3, "won_value": "50000.00", "lost_value": "15000.00"},
                {"currency": "USD", "won_count": 1, "lost_count": 0, "won_value": "20000.00", "lost_value": "0.00"}
            ],
            "lost_reasons": [
                {"lost_reason_id": s.reason, "label": "WL Preis zu hoch", "count": 2, "average_days": 5.0,
                 "amounts": [{"currency": "EUR", "value": "8000.00"}]},
                {"lost_reason_id": timing, "label": "Timing", "count": 1, "average_days": 8.0,
                 "amounts": [{"currency": "EUR", "value": "7000.00"}]}
            ]
        })
    );

    // A period without closings; a period the wrong way round.
    let empty = report(
        &app,
        &app.admin(),
        "/api/v1/reports/win-loss?from=2029-01-01&to=2029-12-31",
    )
    .await;
    assert_eq!(
        (empty["won_count"].as_i64(), empty["win_rate"].clone()),
        (Some(0), Value::Null)
    );
    assert_eq!(empty["lost_reasons"], json!([]));
    let wrong = problem(
        app.get("/api/v1/reports/win-loss?from=2030-02-01&to=2030-01-01", &app.admin())
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&wrong), ["from"]);
    let ancient = problem(
        app.get(
            "/api/v1/reports/stage-conversion?from=0900-01-01&to=0100-01-01",
            &app.admin(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&ancient), ["from", "to"]);
}

/// History in January 2030 (stages FIRST, PROPOSAL, CONTRACT, WON, LOST):
///   X: FIRST 01-01, PROPOSAL 01-03, FIRST 01-04 (back), PROPOSAL 01-08, WON 01-10
///   Y: FIRST 01-02, PROPOSAL 01-07, LOST 01-09
///   Z: FIRST 01-05 (still there)
/// Whole month: FIRST first entered by X, Y, Z = 3 (X once, though twice); moved on X, Y = 2
/// (66.67 %); won later X = 1 (33.33 %); days X 2 + 4 = 6, Y 5, Z still in it → 5.5.
/// PROPOSAL: X, Y = 2; moved on: X (its second visit went to WON; its first went back) = 1;
/// won later 1; days X 1 + 2 = 3, Y 2 → 2.5. WON: X, won later 1 (100 %). LOST: Y, 0 %.
/// From 01-04: only first entries count: FIRST Z alone (X and Y entered it before); PROPOSAL Y
/// alone (X first entered it on 01-03), not moved on, 2 days.
#[tokio::test]
async fn stage_conversion_counts_re_entries_once_and_back_moves_as_not_moving_on() {
    let app = spawn_app().await;
    let s = sales(&app, "SC").await;
    let x = opportunity(&app, &s, "X", json!({})).await;
    for stage in [&s.proposal, &s.first, &s.proposal] {
        act_ok(&app, &x, "stage", &json!({"stage_id": stage})).await;
    }
    act_ok(&app, &x, "win", &json!({})).await;
    history_at(
        &app,
        &x,
        &["2030-01-01", "2030-01-03", "2030-01-04", "2030-01-08", "2030-01-10"],
    )
    .await;
    let y = opportunity(&app, &s, "Y", json!({})).await;
    act_ok(&app, &y, "stage", &json!({"stage_id": s.proposal})).await;
    act_ok(&app, &y, "lose", &json!({"lost_reason_id": s.reason})).await;
    history_at(&app, &y, &["2030-01-02", "2030-01-07", "2030-01-09"]).await;
    let z = opportunity(&app, &s, "Z", json!({})).await;
    history_at(&app, &z, &["2030-01-05"]).await;

    let path = format!(
        "/api/v1/reports/stage-conversion?funnel_id={}&from=2030-01-01&to=2030-01-31",
        s.funnel
    );
    let body = report(&app, &app.admin(), &path).await;

    let stages = body["funnels"][0]["stages"].as_array().unwrap();
    let figures = |st: &Value| {
        json!([
            st["code"],
            st["entered"],
            st["moved_on"],
            st["won_later"],
            st["conversion_rate"],
            st["win_rate"],
            st["average_days"]
        ])
    };
    let got: Vec<Value> = stages.iter().map(figures).collect();
    assert_eq!(
        got,
        [
            json!(["SC_FIRST", 3, 2, 1, 66.67, 33.33, 5.5]),
            json!(["SC_PROPOSAL", 2, 1, 1, 50.0, 50.0, 2.5]),
            json!(["SC_CONTRACT", 0, 0, 0, null, null, null]),
            json!(["SC_WON", 1, 0, 1, 0.0, 100.0, null]),
            json!(["SC_LOST", 1, 0, 0, 0.0, 0.0, null]),
        ]
    );

    let later = report(&app, &app.admin(), &path.replace("from=2030-01-01", "from=2030-01-04")).await;
    let got: Vec<Value> = later["funnels"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(figures)
        .collect();
    assert_eq!(
        got,
        [
            json!(["SC_FIRST", 1, 0, 0, 0.0, 0.0, null]),
            json!(["SC_PROPOSAL", 1, 0, 0, 0.0, 0.0, 2.0])
        ]
    );
}
