//! Quotes (Angebote): made from an opportunity's lines, totals per tax rate, revisions and the
//! primary quote, line edits that flow back, status transitions, lists, visibility and the PDF.

use chrono::{Duration, Utc};
use diesel_async::RunQueryDsl;
use reqwest::{Method, Response, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};
use crate::opportunities::{NOBODY, Sales, act_ok, create, id, path_of, sales};

pub const QUOTES: &str = "/api/v1/quotes";

/// A date `days` from today (UTC, the day quotes are judged by), as `YYYY-MM-DD`.
pub fn in_days(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

pub fn lines_of(opportunity: &Value) -> String {
    format!("{}/lines", path_of(opportunity))
}

pub fn quotes_of(opportunity: &Value) -> String {
    format!("{}/quotes", path_of(opportunity))
}

pub fn quote_path(quote: &Value) -> String {
    format!("{QUOTES}/{}", quote["id"].as_str().unwrap())
}

pub fn quote_lines(quote: &Value) -> String {
    format!("{}/lines", quote_path(quote))
}

pub fn line_path(quote: &Value, line: &Value) -> String {
    format!("{}/{}", quote_lines(quote), line["id"].as_str().unwrap())
}

/// The example of the issue: 2 × 50,000.00 at 19 %.
pub fn two_cars() -> Value {
    json!({"description": "VW ID.4 Pro", "quantity": 2, "unit_price": "50000.00", "tax_rate": 19})
}

pub async fn add_line(app: &TestApp, opportunity: &Value, body: &Value) -> Value {
    json_with(
        app.post(&lines_of(opportunity), &app.admin(), body).await,
        StatusCode::CREATED,
    )
    .await
}

/// The sales set-up `prefix` and an open opportunity with the two cars as its only line.
pub async fn quotable(app: &TestApp, prefix: &str) -> (Sales, Value) {
    let s = sales(app, prefix).await;
    let opportunity = create(app, &s, "Zwei Autos").await;
    add_line(app, &opportunity, &two_cars()).await;
    (s, opportunity)
}

pub fn valid_for_30_days() -> Value {
    json!({"valid_until": in_days(30)})
}

pub async fn new_quote_as(app: &TestApp, token: &str, opportunity: &Value) -> Value {
    json_with(
        app.post(&quotes_of(opportunity), token, &valid_for_30_days()).await,
        StatusCode::CREATED,
    )
    .await
}

pub async fn new_quote(app: &TestApp, opportunity: &Value) -> Value {
    new_quote_as(app, &app.admin(), opportunity).await
}

pub async fn get_ok(app: &TestApp, path: &str) -> Value {
    json_with(app.get(path, &app.admin()).await, StatusCode::OK).await
}

/// The items of a list answer (one page of up to 200).
pub async fn items(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let page = json_with(
        app.get(&format!("{path}{separator}limit=200"), token).await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

/// The ids of the listed quotes, in list order.
pub async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    items(app, token, &format!("{QUOTES}?{query}"))
        .await
        .iter()
        .map(id)
        .collect()
}

/// POSTs to a quote's `action` (`send`, `accept`, `reject`, `make-primary`) as admin; `send`
/// e-mails the quote to [`CUSTOMER_EMAIL`] (into the test's mail folder).
pub async fn act_on(app: &TestApp, quote: &Value, action: &str) -> Response {
    let request = app.request(Method::POST, &format!("{}/{action}", quote_path(quote)), &app.admin());
    let request = match action {
        "send" => request.json(&json!({"to": [CUSTOMER_EMAIL]})),
        _ => request,
    };
    request.send().await.unwrap()
}

/// Where the tests' quotes are e-mailed to.
pub const CUSTOMER_EMAIL: &str = "einkauf@kunde.example";

pub async fn act_on_ok(app: &TestApp, quote: &Value, action: &str) -> Value {
    json_with(act_on(app, quote, action).await, StatusCode::OK).await
}

/// Sets a quote's validity to yesterday behind the API's back, so that it has expired.
pub async fn expire(app: &TestApp, quote: &Value) {
    let mut conn = app.db.connect_async().await;
    let quote_id = uuid::Uuid::parse_str(quote["id"].as_str().unwrap()).unwrap();
    diesel::sql_query("UPDATE quotes SET valid_until = current_date - 1 WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(quote_id)
        .execute(&mut conn)
        .await
        .unwrap();
}

pub fn rate(tax: &Value) -> f64 {
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
        format!("{QUOTES}/{NOBODY}/offer"),
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
async fn valid_until_defaults_to_today_plus_the_settings_validity() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "VD").await;
    let before = (in_days(30), in_days(14));
    let first = json_with(
        app.post(&quotes_of(&opportunity), &app.admin(), &json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        [before.0.clone(), in_days(30)].contains(&first["valid_until"].as_str().unwrap_or_default().to_owned()),
        "30 days by default: {first}"
    );

    json_with(
        app.patch("/api/v1/settings", &app.admin(), &json!({"quote_valid_days": 14}))
            .await,
        StatusCode::OK,
    )
    .await;
    let second = json_with(
        app.post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"customer_text": "Gilt zwei Wochen.", "valid_until": null}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        [before.1, in_days(14)].contains(&second["valid_until"].as_str().unwrap_or_default().to_owned()),
        "the settings' validity: {second}"
    );
    assert_eq!(second["customer_text"], "Gilt zwei Wochen.");

    // A given date still wins.
    let third = json_with(
        app.post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"valid_until": in_days(3)}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(third["valid_until"], in_days(3));
}
