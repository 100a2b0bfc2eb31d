//! Quotes (Angebote): made from an opportunity's lines, totals per tax rate, revisions and the
//! primary quote, line edits that flow back, status transitions, lists, visibility and the PDF.

use chrono::{Duration, Utc};
use diesel_async::RunQueryDsl;
use reqwest::{Method, Response, StatusCode};
use salesfunnel::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};
use crate::opportunities::{NOBODY, Sales, act_ok, create, id, path_of, sales};

const QUOTES: &str = "/api/v1/quotes";

/// A date `days` from today (UTC, the day quotes are judged by), as `YYYY-MM-DD`.
fn in_days(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

fn lines_of(opportunity: &Value) -> String {
    format!("{}/lines", path_of(opportunity))
}

fn quotes_of(opportunity: &Value) -> String {
    format!("{}/quotes", path_of(opportunity))
}

fn quote_path(quote: &Value) -> String {
    format!("{QUOTES}/{}", quote["id"].as_str().unwrap())
}

fn quote_lines(quote: &Value) -> String {
    format!("{}/lines", quote_path(quote))
}

fn line_path(quote: &Value, line: &Value) -> String {
    format!("{}/{}", quote_lines(quote), line["id"].as_str().unwrap())
}

/// The example of the issue: 2 × 50,000.00 at 19 %.
fn two_cars() -> Value {
    json!({"description": "VW ID.4 Pro", "quantity": 2, "unit_price": "50000.00", "tax_rate": 19})
}

async fn add_line(app: &TestApp, opportunity: &Value, body: &Value) -> Value {
    json_with(
        app.post(&lines_of(opportunity), &app.admin(), body).await,
        StatusCode::CREATED,
    )
    .await
}

/// The sales set-up `prefix` and an open opportunity with the two cars as its only line.
async fn quotable(app: &TestApp, prefix: &str) -> (Sales, Value) {
    let s = sales(app, prefix).await;
    let opportunity = create(app, &s, "Zwei Autos").await;
    add_line(app, &opportunity, &two_cars()).await;
    (s, opportunity)
}

fn valid_for_30_days() -> Value {
    json!({"valid_until": in_days(30)})
}

async fn new_quote_as(app: &TestApp, token: &str, opportunity: &Value) -> Value {
    json_with(
        app.post(&quotes_of(opportunity), token, &valid_for_30_days()).await,
        StatusCode::CREATED,
    )
    .await
}

async fn new_quote(app: &TestApp, opportunity: &Value) -> Value {
    new_quote_as(app, &app.admin(), opportunity).await
}

async fn get_ok(app: &TestApp, path: &str) -> Value {
    json_with(app.get(path, &app.admin()).await, StatusCode::OK).await
}

/// The items of a list answer (one page of up to 200).
async fn items(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let page = json_with(
        app.get(&format!("{path}{separator}limit=200"), token).await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

/// The ids of the listed quotes, in list order.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    items(app, token, &format!("{QUOTES}?{query}"))
        .await
        .iter()
        .map(id)
        .collect()
}

/// POSTs to a quote's `action` (`send`, `accept`, `reject`, `make-primary`) as admin.
async fn act_on(app: &TestApp, quote: &Value, action: &str) -> Response {
    app.request(Method::POST, &format!("{}/{action}", quote_path(quote)), &app.admin())
        .send()
        .await
        .unwrap()
}

async fn act_on_ok(app: &TestApp, quote: &Value, action: &str) -> Value {
    json_with(act_on(app, quote, action).await, StatusCode::OK).await
}

/// Sets a quote's validity to yesterday behind the API's back, so that it has expired.
async fn expire(app: &TestApp, quote: &Value) {
    let mut conn = app.db.connect_async().await;
    let quote_id = uuid::Uuid::parse_str(quote["id"].as_str().unwrap()).unwrap();
    diesel::sql_query("UPDATE quotes SET valid_until = current_date - 1 WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(quote_id)
        .execute(&mut conn)
        .await
        .unwrap();
}

fn rate(tax: &Value) -> f64 {
    tax["tax_rate"].as_f64().unwrap()
}

#[tokio::test]
async fn two_cars_at_19_percent_make_a_quote_of_119000() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "NW").await;

    let response = app
        .post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"valid_until": in_days(30), "customer_text": "Wie besprochen mit Winterrädern."}),
        )
        .await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let quote = json_with(response, StatusCode::CREATED).await;

    assert_eq!(location, Some(quote_path(&quote)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(quote["version"], 1);
    assert_eq!(quote["number"], "QT-000001");
    assert_eq!(quote["revision"], 1);
    assert_eq!(quote["is_primary"], true);
    assert_eq!(quote["status"], "draft");
    assert_eq!(quote["opportunity_id"], opportunity["id"]);
    assert_eq!(quote["business_partner_id"].as_str(), Some(s.partner.as_str()));
    assert_eq!(quote["currency"], opportunity["currency"]);
    assert_eq!(quote["quote_date"], in_days(0));
    assert_eq!(quote["valid_until"], in_days(30));
    assert_eq!(quote["customer_text"], "Wie besprochen mit Winterrädern.");
    assert_eq!(quote["sent_at"], Value::Null);
    assert_eq!(quote["decided_at"], Value::Null);
    assert_eq!(quote["created_by"], "admin");

    let lines = quote["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["description"], "VW ID.4 Pro");
    assert_eq!(lines[0]["quote_id"], quote["id"]);
    assert_eq!(lines[0]["unit_price"], "50000.00");
    assert_eq!(lines[0]["line_total"], "100000.00");
    assert_eq!(quote["net_total"], "100000.00");
    assert_eq!(quote["tax_total"], "19000.00");
    assert_eq!(quote["gross_total"], "119000.00");
    let taxes = quote["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 1);
    assert_eq!(rate(&taxes[0]), 19.0);
    assert_eq!(taxes[0]["amount"], "19000.00");

    let read = app.get(&quote_path(&quote), &app.admin()).await;
    assert_eq!(header(&read, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json_with(read, StatusCode::OK).await, quote);
    let opportunity = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(opportunity["primary_quote_id"], quote["id"]);
}

#[tokio::test]
async fn mixed_tax_rates_give_one_tax_per_rate_each_rounded_once() {
    let app = spawn_app().await;
    let s = sales(&app, "MX").await;
    let opportunity = create(&app, &s, "Gemischt").await;
    add_line(&app, &opportunity, &two_cars()).await;
    // 0.05 at 7 % is 0.0035 per line (0.00 each if rounded per line); 0.10 at 7 % is 0.007 → 0.01.
    for description in ["Kaffee", "Kuchen"] {
        add_line(
            &app,
            &opportunity,
            &json!({"description": description, "quantity": 1, "unit_price": "0.05", "tax_rate": 7}),
        )
        .await;
    }

    let quote = new_quote(&app, &opportunity).await;

    let taxes = quote["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 2, "{taxes:?}");
    assert_eq!((rate(&taxes[0]), taxes[0]["amount"].as_str()), (7.0, Some("0.01")));
    assert_eq!((rate(&taxes[1]), taxes[1]["amount"].as_str()), (19.0, Some("19000.00")));
    assert_eq!(quote["net_total"], "100000.10");
    assert_eq!(quote["tax_total"], "19000.01");
    assert_eq!(quote["gross_total"], "119000.11");
    let positions: Vec<i64> = quote["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3]);
}

#[tokio::test]
async fn numbers_run_globally_revisions_per_opportunity_and_only_the_first_is_primary() {
    let app = spawn_app().await;
    let (s, first) = quotable(&app, "NR").await;
    let second = create(&app, &s, "Noch zwei Autos").await;
    add_line(&app, &second, &two_cars()).await;

    let version = |o: &Value| o["version"].as_i64().unwrap();
    let untouched = version(&get_ok(&app, &path_of(&first)).await);

    let one = new_quote(&app, &first).await;
    // primary_quote_id changed: a new version, so ETags and `updated_after` syncs see it.
    let with_primary = get_ok(&app, &path_of(&first)).await;
    assert_eq!(version(&with_primary), untouched + 1);
    let two = new_quote(&app, &first).await;
    assert_eq!(version(&get_ok(&app, &path_of(&first)).await), untouched + 1);
    let other = new_quote(&app, &second).await;

    let summary = |q: &Value| (q["number"].clone(), q["revision"].clone(), q["is_primary"].clone());
    assert_eq!(summary(&one), (json!("QT-000001"), json!(1), json!(true)));
    assert_eq!(summary(&two), (json!("QT-000002"), json!(2), json!(false)));
    assert_eq!(summary(&other), (json!("QT-000003"), json!(1), json!(true)));
    assert_eq!(get_ok(&app, &path_of(&first)).await["primary_quote_id"], one["id"]);
    assert_eq!(get_ok(&app, &path_of(&second)).await["primary_quote_id"], other["id"]);
    let listed_opportunities = items(&app, &app.admin(), "/api/v1/opportunities").await;
    let primary_of_first = listed_opportunities
        .iter()
        .find(|o| o["id"] == first["id"])
        .map(|o| o["primary_quote_id"].clone());
    assert_eq!(primary_of_first, Some(one["id"].clone()));
}

#[tokio::test]
async fn concurrent_quotes_of_one_opportunity_get_distinct_revisions_and_one_primary() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "CC").await;

    let token = app.admin();
    let requests = (0..4).map(|_| new_quote_as(&app, &token, &opportunity));
    let quotes = futures_util::future::join_all(requests).await;

    let mut revisions: Vec<i64> = quotes.iter().map(|q| q["revision"].as_i64().unwrap()).collect();
    revisions.sort_unstable();
    assert_eq!(revisions, [1, 2, 3, 4]);
    assert_eq!(quotes.iter().filter(|q| q["is_primary"] == true).count(), 1);
}

#[tokio::test]
async fn texts_default_from_the_settings_and_given_texts_are_kept() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "TX").await;
    let settings = get_ok(&app, "/api/v1/settings").await;

    let defaulted = new_quote(&app, &opportunity).await;
    json_with(
        app.patch(
            "/api/v1/settings",
            &app.admin(),
            &json!({"quote_header_text": "Neuer Kopf", "quote_footer_text": "Neuer Fuß"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let from_new_settings = new_quote(&app, &opportunity).await;
    let custom = json_with(
        app.post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"valid_until": in_days(0), "header_text": "Sehr geehrte Frau Müller,",
                    "footer_text": "Mit freundlichen Grüßen", "customer_text": "Lieferung im März."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    assert_eq!(defaulted["header_text"], settings["quote_header_text"]);
    assert_eq!(defaulted["footer_text"], settings["quote_footer_text"]);
    assert_eq!(defaulted["customer_text"], Value::Null);
    assert_eq!(from_new_settings["header_text"], "Neuer Kopf");
    assert_eq!(from_new_settings["footer_text"], "Neuer Fuß");
    assert_eq!(custom["header_text"], "Sehr geehrte Frau Müller,");
    assert_eq!(custom["footer_text"], "Mit freundlichen Grüßen");
    assert_eq!(custom["customer_text"], "Lieferung im März.");
    assert_eq!(custom["valid_until"], in_days(0), "today is still valid");
    assert_eq!(custom["status"], "draft");
}

#[tokio::test]
async fn an_invalid_new_quote_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "IV").await;
    let rejected = |body: Value| {
        let app = &app;
        let path = quotes_of(&opportunity);
        async move {
            error_fields(
                &problem(
                    app.post(&path, &app.admin(), &body).await,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await,
            )
        }
    };

    assert_eq!(rejected(json!({})).await, ["valid_until"]);
    assert_eq!(rejected(json!({"customer_text": "x"})).await, ["valid_until"]);
    assert_eq!(rejected(json!({"valid_until": in_days(-1)})).await, ["valid_until"]);
    assert_eq!(rejected(json!({"valid_until": 20270101})).await, ["valid_until"]);
    assert_eq!(rejected(json!({"valid_until": "31.12.2027"})).await, ["valid_until"]);
    assert_eq!(
        rejected(json!({"valid_until": in_days(30), "header_text": 5})).await,
        ["header_text"]
    );
    assert_eq!(
        rejected(json!({"valid_until": in_days(30), "discount": 5})).await,
        ["discount"]
    );
    assert_eq!(
        rejected(json!({"valid_until": in_days(30), "footer_text": "x".repeat(5001)})).await,
        ["footer_text"]
    );

    let empty = create(&app, &s, "Ohne Positionen").await;
    let no_lines = problem(
        app.post(&quotes_of(&empty), &app.admin(), &valid_for_30_days()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(!error_fields(&no_lines).is_empty(), "{no_lines}");

    // Not JSON at all is a 400; nothing was created by any of the above.
    let not_json = app
        .request(Method::POST, &quotes_of(&opportunity), &app.admin())
        .header("content-type", "application/json")
        .body("{valid_until")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;
    assert!(listed(&app, &app.admin(), "").await.is_empty());
}

#[tokio::test]
async fn a_closed_opportunity_cannot_be_quoted_and_its_quotes_are_frozen() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "CL").await;
    let primary = new_quote(&app, &opportunity).await;
    let other = new_quote(&app, &opportunity).await;
    let line = primary["lines"][0].clone();
    act_ok(&app, &opportunity, "win", &json!({})).await;

    problem(
        app.post(&quotes_of(&opportunity), &app.admin(), &valid_for_30_days())
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&quote_path(&primary), &app.admin(), &json!({"customer_text": "x"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(&quote_lines(&primary), &app.admin(), &two_cars()).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&line_path(&primary, &line), &app.admin(), &json!({"quantity": 3}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(act_on(&app, &other, "make-primary").await, StatusCode::CONFLICT).await;
    assert_eq!(items(&app, &app.admin(), &quotes_of(&opportunity)).await.len(), 2);

    // Reopened, it is quoted again.
    act_ok(&app, &opportunity, "reopen", &json!({"stage_id": s.first})).await;
    assert_eq!(new_quote(&app, &opportunity).await["revision"], 3);
}

#[tokio::test]
async fn an_unknown_or_invisible_opportunity_is_404() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "NF").await;
    let outsider = id(&app.create_user("outsider@example.com", "rep").await);
    let outsider = app.token_for(Role::Rep, &outsider);

    problem(
        app.post(
            &format!("/api/v1/opportunities/{NOBODY}/quotes"),
            &app.admin(),
            &valid_for_30_days(),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.post(&quotes_of(&opportunity), &outsider, &valid_for_30_days())
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get(&format!("/api/v1/opportunities/{NOBODY}/quotes"), &app.admin())
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for path in [
        format!("{QUOTES}/{NOBODY}"),
        format!("{QUOTES}/{NOBODY}/lines"),
        format!("{QUOTES}/{NOBODY}/pdf"),
    ] {
        problem(app.get(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    }
    problem(
        app.get(&format!("{QUOTES}/not-a-uuid"), &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn an_idempotent_retry_creates_one_quote() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "IK").await;
    let post = |body: Value| {
        app.request(Method::POST, &quotes_of(&opportunity), &app.admin())
            .header("Idempotency-Key", "quote-1")
            .json(&body)
            .send()
    };
    let body = valid_for_30_days();

    let first = json_with(post(body.clone()).await.unwrap(), StatusCode::CREATED).await;
    let retry = post(body.clone()).await.unwrap();
    assert_eq!(header(&retry, "location"), Some(quote_path(&first)));
    let replayed = json_with(retry, StatusCode::CREATED).await;
    let other_body = problem(
        post(json!({"valid_until": in_days(31)})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    assert_eq!(replayed["id"], first["id"]);
    assert!(other_body["detail"].as_str().is_some());
    let quotes = items(&app, &app.admin(), &quotes_of(&opportunity)).await;
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0]["number"], "QT-000001");
}

#[tokio::test]
async fn the_quote_keeps_its_own_copy_of_the_lines() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "CP").await;
    let quote = new_quote(&app, &opportunity).await;
    let opportunity_line = items(&app, &app.admin(), &lines_of(&opportunity)).await[0].clone();

    json_with(
        app.patch(
            &format!("{}/{}", lines_of(&opportunity), id(&opportunity_line)),
            &app.admin(),
            &json!({"quantity": 5}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    add_line(
        &app,
        &opportunity,
        &json!({"description": "Wartung", "quantity": 1, "unit_price": "999.00"}),
    )
    .await;

    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["lines"], quote["lines"]);
    assert_eq!(read["net_total"], "100000.00");
    assert_eq!(read["gross_total"], "119000.00");
    assert_eq!(read["version"], 1);
    assert_ne!(read["lines"][0]["id"], opportunity_line["id"]);
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "250999.00");
}

#[tokio::test]
async fn line_edits_of_the_primary_quote_flow_back_to_the_opportunity() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "FB").await;
    let quote = new_quote(&app, &opportunity).await;
    let car = quote["lines"][0].clone();
    let (token, lines_path) = (app.admin(), lines_of(&opportunity));
    let opportunity_lines = || items(&app, &token, &lines_path);

    // Add: 2 × 50,000.00 + 4 × 250.00 = 101,000.00 net.
    let response = app
        .post(
            &quote_lines(&quote),
            &app.admin(),
            &json!({"description": "Winterräder", "quantity": 4, "unit_price": 250, "tax_rate": 19}),
        )
        .await;
    let location = header(&response, "location");
    let wheels = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(line_path(&quote, &wheels)));
    assert_eq!(wheels["position"], 2);
    assert_eq!(wheels["line_total"], "1000.00");
    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(
        (&read["net_total"], &read["tax_total"], &read["gross_total"]),
        (&json!("101000.00"), &json!("19190.00"), &json!("120190.00"))
    );
    assert_eq!(read["version"], 2);
    let lines = opportunity_lines().await;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["description"], "Winterräder");
    let reread = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(reread["target_value"], "101000.00");
    assert_eq!(reread["weighted_value"], "5050.00", "5 % of the new target");

    // Patch: 3 cars with 10 % discount = 135,000.00 + 1,000.00.
    let patched = json_with(
        app.patch(
            &line_path(&quote, &car),
            &app.admin(),
            &json!({"quantity": 3, "discount_percent": 10}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["line_total"], "135000.00");
    assert_eq!(patched["version"], 2);
    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["net_total"], "136000.00");
    assert_eq!(read["tax_total"], "25840.00");
    assert_eq!(read["gross_total"], "161840.00");
    let lines = opportunity_lines().await;
    assert_eq!(lines[0]["quantity"], patched["quantity"]);
    assert_eq!(lines[0]["line_total"], "135000.00");
    let reread = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(reread["target_value"], "136000.00");

    // Delete: only the wheels remain.
    let deleted = app.delete(&line_path(&quote, &car), &app.admin()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["net_total"], "1000.00");
    assert_eq!(read["gross_total"], "1190.00");
    assert_eq!(read["lines"].as_array().unwrap().len(), 1);
    let lines = opportunity_lines().await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["description"], "Winterräder");
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "1000.00");

    // The last line stays.
    problem(
        app.delete(&line_path(&quote, &wheels), &app.admin()).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.delete(&line_path(&quote, &car), &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(items(&app, &app.admin(), &quote_lines(&quote)).await.len(), 1);
}

#[tokio::test]
async fn line_edits_of_another_quote_leave_the_opportunity_alone() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "NP").await;
    new_quote(&app, &opportunity).await;
    let second = new_quote(&app, &opportunity).await;
    let before = items(&app, &app.admin(), &lines_of(&opportunity)).await;
    let opportunity_before = get_ok(&app, &path_of(&opportunity)).await;

    json_with(
        app.patch(
            &line_path(&second, &second["lines"][0]),
            &app.admin(),
            &json!({"quantity": 3}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_with(
        app.post(
            &quote_lines(&second),
            &app.admin(),
            &json!({"description": "Wartung", "quantity": 1, "unit_price": "500.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let second = get_ok(&app, &quote_path(&second)).await;
    assert_eq!(second["net_total"], "150500.00");
    assert_eq!(items(&app, &app.admin(), &lines_of(&opportunity)).await, before);
    let after = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(after["target_value"], "100000.00");
    assert_eq!(after["version"], opportunity_before["version"]);
}

#[tokio::test]
async fn make_primary_switches_which_quote_the_opportunity_follows() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "MP").await;
    let first = new_quote(&app, &opportunity).await;
    let second = new_quote(&app, &opportunity).await;
    json_with(
        app.patch(
            &line_path(&second, &second["lines"][0]),
            &app.admin(),
            &json!({"quantity": 3}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let response = act_on(&app, &second, "make-primary").await;
    let etag = header(&response, "etag");
    let now_primary = json_with(response, StatusCode::OK).await;

    assert_eq!(now_primary["is_primary"], true);
    assert_eq!(etag, Some(format!("\"{}\"", now_primary["version"])));
    let first_now = get_ok(&app, &quote_path(&first)).await;
    assert_eq!(first_now["is_primary"], false);
    assert!(first_now["version"].as_i64() > first["version"].as_i64());
    let reread = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(reread["primary_quote_id"], second["id"]);
    assert_eq!(reread["target_value"], "150000.00");
    let lines = items(&app, &app.admin(), &lines_of(&opportunity)).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line_total"], "150000.00");

    // The old primary no longer syncs; the new one does.
    json_with(
        app.patch(
            &line_path(&first, &first["lines"][0]),
            &app.admin(),
            &json!({"quantity": 7}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "150000.00");
    let line = items(&app, &app.admin(), &quote_lines(&second)).await[0].clone();
    json_with(
        app.patch(&line_path(&second, &line), &app.admin(), &json!({"quantity": 4}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "200000.00");

    // Making the primary quote primary again changes nothing.
    let again = act_on_ok(&app, &second, "make-primary").await;
    assert_eq!(again["version"], get_ok(&app, &quote_path(&second)).await["version"]);
    let primaries: Vec<Value> = items(&app, &app.admin(), &quotes_of(&opportunity))
        .await
        .into_iter()
        .filter(|q| q["is_primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
}

#[tokio::test]
async fn patch_changes_texts_and_validity_of_a_draft() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "PT").await;
    let quote = json_with(
        app.post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"valid_until": in_days(10), "customer_text": "Alt"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let response = app
        .request(Method::PATCH, &quote_path(&quote), &app.admin())
        .header("content-type", "application/merge-patch+json")
        .body(json!({"valid_until": in_days(60), "header_text": "Hallo", "customer_text": null}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let patched = json_with(response, StatusCode::OK).await;

    assert_eq!(patched["valid_until"], in_days(60));
    assert_eq!(patched["header_text"], "Hallo");
    assert_eq!(patched["footer_text"], quote["footer_text"]);
    assert_eq!(patched["customer_text"], Value::Null);
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["lines"], quote["lines"]);
    for (body, field) in [
        (json!({"valid_until": in_days(-1)}), "valid_until"),
        (json!({"valid_until": null}), "valid_until"),
        (json!({"header_text": null}), "header_text"),
        (json!({"number": "QT-999999"}), "number"),
        (json!({"net_total": "1.00"}), "net_total"),
    ] {
        let rejected = problem(
            app.patch(&quote_path(&quote), &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&rejected), [field], "{body}");
    }
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["version"], 2);
}

#[tokio::test]
async fn a_quote_is_sent_then_accepted_or_rejected_and_read_only_once_sent() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "ST").await;
    let quote = new_quote(&app, &opportunity).await;
    let draft = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();

    problem(act_on(&app, &draft, "reject").await, StatusCode::CONFLICT).await;
    problem(act_on(&app, &draft, "accept").await, StatusCode::CONFLICT).await;

    let sent = act_on_ok(&app, &quote, "send").await;
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string());
    assert_eq!(sent["decided_at"], Value::Null);
    assert_eq!(sent["version"], 2);

    problem(act_on(&app, &quote, "send").await, StatusCode::CONFLICT).await;
    problem(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"customer_text": "x"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(&quote_lines(&quote), &app.admin(), &two_cars()).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&line_path(&quote, &line), &app.admin(), &json!({"quantity": 3}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.delete(&line_path(&quote, &line), &app.admin()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, sent);

    let accepted = act_on_ok(&app, &quote, "accept").await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["sent_at"], sent["sent_at"]);
    assert!(accepted["decided_at"].is_string());
    for action in ["send", "accept", "reject"] {
        problem(act_on(&app, &quote, action).await, StatusCode::CONFLICT).await;
    }

    act_on_ok(&app, &draft, "send").await;
    let rejected = act_on_ok(&app, &draft, "reject").await;
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected["decided_at"].is_string());
    problem(act_on(&app, &draft, "accept").await, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn an_expired_draft_reads_expired_cannot_be_sent_and_can_be_extended() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "EX").await;
    let quote = new_quote(&app, &opportunity).await;
    expire(&app, &quote).await;

    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["status"], "expired");
    assert_eq!(listed(&app, &app.admin(), "status=expired").await, [id(&quote)]);
    assert!(listed(&app, &app.admin(), "status=draft").await.is_empty());
    problem(act_on(&app, &quote, "send").await, StatusCode::CONFLICT).await;
    problem(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"valid_until": in_days(-1)}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let extended = json_with(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"valid_until": in_days(14)}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(extended["status"], "draft");
    assert_eq!(extended["valid_until"], in_days(14));
    assert_eq!(act_on_ok(&app, &quote, "send").await["status"], "sent");
}

#[tokio::test]
async fn the_quote_list_filters_by_status_opportunity_and_partner_and_pages_by_cursor() {
    let app = spawn_app().await;
    let (a, first) = quotable(&app, "LA").await;
    let (b, second) = quotable(&app, "LB").await;
    let sent = new_quote(&app, &first).await;
    let expired = new_quote(&app, &first).await;
    let draft = new_quote(&app, &first).await;
    let accepted = new_quote(&app, &second).await;
    act_on_ok(&app, &sent, "send").await;
    expire(&app, &expired).await;
    act_on_ok(&app, &accepted, "send").await;
    act_on_ok(&app, &accepted, "accept").await;
    let token = app.admin();

    // Newest first.
    let all = [id(&accepted), id(&draft), id(&expired), id(&sent)];
    assert_eq!(listed(&app, &token, "").await, all);
    assert_eq!(listed(&app, &token, "status=draft").await, [id(&draft)]);
    assert_eq!(listed(&app, &token, "status=expired").await, [id(&expired)]);
    assert_eq!(listed(&app, &token, "status=sent").await, [id(&sent)]);
    assert_eq!(listed(&app, &token, "status=accepted").await, [id(&accepted)]);
    assert!(listed(&app, &token, "status=rejected").await.is_empty());
    assert_eq!(
        listed(&app, &token, &format!("opportunity_id={}", id(&first))).await,
        [id(&draft), id(&expired), id(&sent)]
    );
    assert_eq!(
        listed(&app, &token, &format!("business_partner_id={}", b.partner)).await,
        [id(&accepted)]
    );
    assert_eq!(
        listed(&app, &token, &format!("business_partner_id={}&status=sent", a.partner)).await,
        [id(&sent)]
    );
    problem(
        app.get(&format!("{QUOTES}?status=lost"), &token).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let listed_expired = items(&app, &token, &format!("{QUOTES}?status=expired")).await;
    assert_eq!(listed_expired[0]["status"], "expired");
    assert_eq!(listed_expired[0]["lines"].as_array().unwrap().len(), 1);

    // One at a time, through next_cursor.
    let mut seen = Vec::new();
    let mut path = format!("{QUOTES}?limit=1");
    loop {
        let page = get_ok(&app, &path).await;
        let page_items = page["items"].as_array().unwrap();
        assert_eq!(page_items.len(), 1, "{page}");
        seen.push(id(&page_items[0]));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{QUOTES}?limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= all.len(), "the cursor loops: {seen:?}");
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn an_opportunity_lists_its_quote_history_newest_first() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "HI").await;
    let other = create(&app, &s, "Andere").await;
    add_line(&app, &other, &two_cars()).await;
    let one = new_quote(&app, &opportunity).await;
    new_quote(&app, &other).await;
    let two = new_quote(&app, &opportunity).await;

    let history = items(&app, &app.admin(), &quotes_of(&opportunity)).await;
    let revisions: Vec<(String, i64)> = history
        .iter()
        .map(|q| (id(q), q["revision"].as_i64().unwrap()))
        .collect();
    assert_eq!(revisions, [(id(&two), 2), (id(&one), 1)]);

    let first_page = get_ok(&app, &format!("{}?limit=1", quotes_of(&opportunity))).await;
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let second_page = get_ok(&app, &format!("{}?limit=1&cursor={cursor}", quotes_of(&opportunity))).await;
    assert_eq!(second_page["items"][0]["id"], one["id"]);
    assert_eq!(second_page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_quote_keeps_the_partner_it_was_made_for() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "BP").await;
    let before = new_quote(&app, &opportunity).await;
    let new_partner = id(&app
        .create_partner(json!({"kind": "lead", "name": "Neuer Kunde AG"}))
        .await);
    json_with(
        app.patch(
            &path_of(&opportunity),
            &app.admin(),
            &json!({"business_partner_id": new_partner}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let after = new_quote(&app, &opportunity).await;

    assert_eq!(
        get_ok(&app, &quote_path(&before)).await["business_partner_id"].as_str(),
        Some(s.partner.as_str())
    );
    assert_eq!(after["business_partner_id"].as_str(), Some(new_partner.as_str()));
    assert_eq!(
        listed(&app, &app.admin(), &format!("business_partner_id={}", s.partner)).await,
        [id(&before)]
    );
}

#[tokio::test]
async fn if_match_guards_every_change_of_a_quote_and_its_lines() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "IM").await;
    let quote = new_quote(&app, &opportunity).await;
    let other = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();
    let stale = "\"7\"";
    let with = |method: Method, path: String, tag: &'static str| {
        app.request(method, &path, &app.admin()).header("If-Match", tag)
    };

    problem(
        with(Method::PATCH, quote_path(&quote), stale)
            .json(&json!({"customer_text": "x"}))
            .send()
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    for (target, action) in [(&other, "make-primary"), (&quote, "send")] {
        problem(
            with(Method::POST, format!("{}/{action}", quote_path(target)), stale)
                .send()
                .await
                .unwrap(),
            StatusCode::PRECONDITION_FAILED,
        )
        .await;
    }
    problem(
        with(Method::PATCH, line_path(&quote, &line), stale)
            .json(&json!({"quantity": 3}))
            .send()
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    problem(
        with(Method::DELETE, line_path(&quote, &line), stale)
            .send()
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, quote);
    assert_eq!(get_ok(&app, &quote_path(&other)).await["is_primary"], false);

    // The current versions pass.
    let patched = json_with(
        with(Method::PATCH, quote_path(&quote), "\"1\"")
            .json(&json!({"customer_text": "x"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["version"], 2);
    json_with(
        with(Method::PATCH, line_path(&quote, &line), "\"1\"")
            .json(&json!({"quantity": 3}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let sent = json_with(
        with(Method::POST, format!("{}/send", quote_path(&quote)), "\"3\"")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["status"], "sent");
    json_with(
        with(Method::POST, format!("{}/make-primary", quote_path(&other)), "\"1\"")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_viewer_reads_quotes_but_writes_nothing_and_no_token_is_401() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "VW").await;
    let quote = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();
    let viewer = app.token_for(Role::Viewer, "viewer");
    let integration = app.token_for(Role::Integration, "erp");

    for token in [&viewer, &integration] {
        json_with(app.get(&quote_path(&quote), token).await, StatusCode::OK).await;
        assert_eq!(listed(&app, token, "").await, [id(&quote)]);
        assert_eq!(items(&app, token, &quotes_of(&opportunity)).await.len(), 1);
        assert_eq!(items(&app, token, &quote_lines(&quote)).await.len(), 1);
        let pdf = app.get(&format!("{}/pdf", quote_path(&quote)), token).await;
        assert_eq!(pdf.status(), StatusCode::OK);

        let writes = [
            app.post(&quotes_of(&opportunity), token, &valid_for_30_days()).await,
            app.patch(&quote_path(&quote), token, &json!({"customer_text": "x"}))
                .await,
            app.post(&quote_lines(&quote), token, &two_cars()).await,
            app.patch(&line_path(&quote, &line), token, &json!({"quantity": 3}))
                .await,
            app.delete(&line_path(&quote, &line), token).await,
        ];
        for response in writes {
            problem(response, StatusCode::FORBIDDEN).await;
        }
        for action in ["send", "accept", "reject", "make-primary"] {
            let response = app
                .request(Method::POST, &format!("{}/{action}", quote_path(&quote)), token)
                .send()
                .await
                .unwrap();
            problem(response, StatusCode::FORBIDDEN).await;
        }
    }
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, quote);

    for path in [
        QUOTES.to_owned(),
        quote_path(&quote),
        quote_lines(&quote),
        quotes_of(&opportunity),
        format!("{}/pdf", quote_path(&quote)),
    ] {
        problem(
            app.anonymous(Method::GET, &path).send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    problem(
        app.anonymous(Method::POST, &quotes_of(&opportunity))
            .json(&valid_for_30_days())
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_rep_works_on_the_quotes_they_see_and_gets_404_for_the_others() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "RP").await;
    let quote = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();
    let owner = app.token_for(Role::Rep, &s.owner);
    let outsider_id = id(&app.create_user("outsider@example.com", "rep").await);
    let outsider = app.token_for(Role::Rep, &outsider_id);

    // The owner sees and changes them.
    json_with(app.get(&quote_path(&quote), &owner).await, StatusCode::OK).await;
    let own = new_quote_as(&app, &owner, &opportunity).await;
    assert_eq!(own["created_by"].as_str(), Some(s.owner.as_str()));
    assert_eq!(listed(&app, &owner, "").await, [id(&own), id(&quote)]);

    // The outsider does not.
    for path in [
        quote_path(&quote),
        quote_lines(&quote),
        format!("{}/pdf", quote_path(&quote)),
        quotes_of(&opportunity),
    ] {
        problem(app.get(&path, &outsider).await, StatusCode::NOT_FOUND).await;
    }
    let writes = [
        app.patch(&quote_path(&quote), &outsider, &json!({"customer_text": "x"}))
            .await,
        app.post(&quote_lines(&quote), &outsider, &two_cars()).await,
        app.patch(&line_path(&quote, &line), &outsider, &json!({"quantity": 3}))
            .await,
        app.delete(&line_path(&quote, &line), &outsider).await,
        app.post(&quotes_of(&opportunity), &outsider, &valid_for_30_days())
            .await,
    ];
    for response in writes {
        problem(response, StatusCode::NOT_FOUND).await;
    }
    for action in ["send", "accept", "reject", "make-primary"] {
        let response = app
            .request(Method::POST, &format!("{}/{action}", quote_path(&own)), &outsider)
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::NOT_FOUND).await;
    }
    assert!(listed(&app, &outsider, "").await.is_empty());
    assert!(
        listed(&app, &outsider, &format!("opportunity_id={}", id(&opportunity)))
            .await
            .is_empty()
    );
    assert!(
        listed(&app, &outsider, &format!("business_partner_id={}", s.partner))
            .await
            .is_empty()
    );
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, quote);

    // Joining the funnel's team makes them visible.
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", s.funnel),
            &app.admin(),
            &json!({"team_ids": [outsider_id]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed(&app, &outsider, "").await, [id(&own), id(&quote)]);
    json_with(app.get(&quote_path(&quote), &outsider).await, StatusCode::OK).await;
}

/// The text of a PDF: pdftotext where installed, else the pure-Rust extractor.
fn pdf_text(bytes: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    match child {
        Ok(mut child) => {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "pdftotext failed");
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Err(_) => pdf_extract::extract_text_from_mem(bytes).unwrap(),
    }
}

#[tokio::test]
async fn the_pdf_shows_number_partner_and_gross_total() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "PDF").await;
    let quote = new_quote(&app, &opportunity).await;

    let response = app.get(&format!("{}/pdf", quote_path(&quote)), &app.admin()).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type").as_deref(), Some("application/pdf"));
    let disposition = header(&response, "content-disposition").unwrap_or_default();
    assert!(disposition.contains("QT-000001.pdf"), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let text = pdf_text(&bytes);
    for expected in ["QT-000001", "PDF GmbH", "119.000,00", "VW ID.4 Pro"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[tokio::test]
async fn an_opportunity_with_quotes_cannot_be_deleted() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "DL").await;
    let quote = new_quote(&app, &opportunity).await;

    problem(
        app.delete(&path_of(&opportunity), &app.admin()).await,
        StatusCode::CONFLICT,
    )
    .await;

    get_ok(&app, &quote_path(&quote)).await;
}

#[tokio::test]
async fn a_quote_line_is_checked_like_an_opportunity_line_and_can_be_read_at_its_location() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QL").await;
    let quote = new_quote(&app, &opportunity).await;
    let article = json_with(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": "WR-16", "name": "Winterrad 16 Zoll", "unit": "Satz", "unit_price": "800.00",
                    "currency": "EUR", "tax_rate": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let rejected = |body: Value| {
        let app = &app;
        let path = quote_lines(&quote);
        async move {
            error_fields(
                &problem(
                    app.post(&path, &app.admin(), &body).await,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await,
            )
        }
    };

    assert_eq!(rejected(json!({"quantity": 1})).await, ["description", "unit_price"]);
    assert_eq!(
        rejected(json!({"description": "x", "quantity": 0, "unit_price": "1.00"})).await,
        ["quantity"]
    );
    assert_eq!(
        rejected(json!({"description": "x", "quantity": 1, "unit_price": "-1.00"})).await,
        ["unit_price"]
    );
    assert_eq!(
        rejected(json!({"description": "x", "quantity": 1, "unit_price": "1.00", "colour": "rot"})).await,
        ["colour"]
    );
    assert_eq!(
        rejected(json!({"article_id": NOBODY, "quantity": 1})).await,
        ["article_id"]
    );
    let line = &quote["lines"][0];
    let bad_patch = problem(
        app.patch(&line_path(&quote, line), &app.admin(), &json!({"quantity": -2}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad_patch), ["quantity"]);

    let response = app
        .post(
            &quote_lines(&quote),
            &app.admin(),
            &json!({"article_id": article["id"], "quantity": 2}),
        )
        .await;
    let location = header(&response, "location").unwrap();
    let wheels = json_with(response, StatusCode::CREATED).await;
    assert_eq!(wheels["sku"], "WR-16");
    assert_eq!(wheels["description"], "Winterrad 16 Zoll");
    assert_eq!(wheels["unit"], "Satz");
    assert_eq!(wheels["line_total"], "1600.00");
    assert_eq!(rate(&wheels), 7.0);

    let read = app.get(&location, &app.admin()).await;
    assert_eq!(header(&read, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json_with(read, StatusCode::OK).await, wheels);
    problem(
        app.get(&format!("{}/{NOBODY}", quote_lines(&quote)), &app.admin())
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Seven percent on the wheels, nineteen on the cars; a rate change moves the tax.
    let quote_now = get_ok(&app, &quote_path(&quote)).await;
    let taxes: Vec<(f64, Value)> = quote_now["taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (rate(t), t["amount"].clone()))
        .collect();
    assert_eq!(taxes, [(7.0, json!("112.00")), (19.0, json!("19000.00"))]);
    json_with(
        app.patch(&location, &app.admin(), &json!({"tax_rate": 19})).await,
        StatusCode::OK,
    )
    .await;
    let quote_now = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(quote_now["taxes"].as_array().unwrap().len(), 1);
    assert_eq!(quote_now["tax_total"], "19304.00");
    assert_eq!(quote_now["gross_total"], "120904.00");
}

#[tokio::test]
async fn an_idempotent_retry_adds_one_quote_line() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "LK").await;
    let quote = new_quote(&app, &opportunity).await;
    let post = |body: Value| {
        app.request(Method::POST, &quote_lines(&quote), &app.admin())
            .header("Idempotency-Key", "line-1")
            .json(&body)
            .send()
    };
    let body = json!({"description": "Wartung", "quantity": 1, "unit_price": "500.00"});

    let first = json_with(post(body.clone()).await.unwrap(), StatusCode::CREATED).await;
    let retry = post(body).await.unwrap();
    assert_eq!(header(&retry, "idempotent-replayed").as_deref(), Some("true"));
    let replayed = json_with(retry, StatusCode::CREATED).await;

    assert_eq!(replayed["id"], first["id"]);
    assert_eq!(items(&app, &app.admin(), &quote_lines(&quote)).await.len(), 2);
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["net_total"], "100500.00");
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "100500.00");
}

#[tokio::test]
async fn a_manager_quotes_and_sends_for_every_opportunity() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "MG").await;
    let manager = app.token_for(
        Role::Manager,
        &id(&app.create_user("chefin@example.com", "manager").await),
    );

    let quote = new_quote_as(&app, &manager, &opportunity).await;
    let sent = json_with(
        app.request(Method::POST, &format!("{}/send", quote_path(&quote)), &manager)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    assert_eq!(sent["status"], "sent");
    assert_eq!(listed(&app, &manager, "status=sent").await, [id(&quote)]);
}
