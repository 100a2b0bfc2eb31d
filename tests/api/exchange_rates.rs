//! `/exchange-rates`: rates of other currencies to the home currency (EUR in a fresh database),
//! the upsert by currency and first day, and `rate_on(currency, day)` in SQL.

use diesel::sql_types::{Date, Nullable, Numeric, Text};
use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};

const CHF_2027: &str = "/api/v1/exchange-rates/CHF/2027-01-01";

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::PUT, path, token).json(&body).send().await.unwrap()
}

async fn put_rate(app: &TestApp, currency: &str, day: &str, rate: &str) -> Value {
    let path = format!("/api/v1/exchange-rates/{currency}/{day}");
    let response = put(app, &path, &app.admin(), json!({"rate": rate})).await;
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

async fn listed(app: &TestApp, query: &str) -> Vec<(String, String, String)> {
    let page = json_with(
        app.get(
            &format!("/api/v1/exchange-rates?{query}"),
            &app.token_for(Role::Viewer, "v"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["currency"].as_str().unwrap().to_owned(),
                r["valid_from"].as_str().unwrap().to_owned(),
                r["rate"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn put_creates_then_replaces_and_a_repeat_changes_nothing() {
    let app = spawn_app().await;
    let created = put(&app, CHF_2027, &app.admin(), json!({"rate": "1.064200"})).await;
    assert_eq!(header(&created, "location").as_deref(), Some(CHF_2027));
    assert_eq!(header(&created, "etag").as_deref(), Some("\"1\""));
    let created = json_with(created, StatusCode::CREATED).await;
    assert_eq!(
        (
            &created["currency"],
            &created["valid_from"],
            &created["rate"],
            &created["version"]
        ),
        (&json!("CHF"), &json!("2027-01-01"), &json!("1.0642"), &json!(1)),
        "the rate is an exact decimal string without trailing zeros"
    );
    // The same rate again (as a number this time): 200, nothing changes.
    let same = json_with(
        put(&app, CHF_2027, &app.admin(), json!({"rate": 1.0642})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(same, created);
    let replaced = json_with(
        put(
            &app,
            CHF_2027,
            &app.token_for(Role::Integration, "erp"),
            json!({"rate": "1.07"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((&replaced["rate"], &replaced["version"]), (&json!("1.07"), &json!(2)));
    let read = json_with(
        app.get(CHF_2027, &app.token_for(Role::Rep, "rep")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read, replaced);
    // Ten decimals are kept exactly.
    let fine = put_rate(&app, "JPY", "2027-01-01", "0.0061234567").await;
    assert_eq!(fine["rate"], "0.0061234567");
}

#[tokio::test]
async fn put_honours_if_match_on_an_existing_rate() {
    let app = spawn_app().await;
    put_rate(&app, "CHF", "2027-01-01", "1.05").await;
    let stale = app
        .request(Method::PUT, CHF_2027, &app.admin())
        .header("If-Match", "\"7\"")
        .json(&json!({"rate": "1.06"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let current = app
        .request(Method::PUT, CHF_2027, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"rate": "1.06"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&current, "etag").as_deref(), Some("\"2\""));
    json_with(current, StatusCode::OK).await;
    let stale_delete = app
        .request(Method::DELETE, CHF_2027, &app.admin())
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    problem(stale_delete, StatusCode::PRECONDITION_FAILED).await;
}

#[tokio::test]
async fn invalid_rates_are_422_naming_the_field() {
    let app = spawn_app().await;
    for (path, body, fields) in [
        (CHF_2027, json!({"rate": 0}), vec!["rate"]),
        (CHF_2027, json!({"rate": "-1.5"}), vec!["rate"]),
        (CHF_2027, json!({"rate": "0.00000000001"}), vec!["rate"]),
        (CHF_2027, json!({"rate": "10000000000"}), vec!["rate"]),
        (CHF_2027, json!({"rate": "abc"}), vec!["rate"]),
        (CHF_2027, json!({}), vec!["rate"]),
        (CHF_2027, json!({"rate": "1.1", "source": "ECB"}), vec!["source"]),
        // The home currency (settings.default_currency) has no rate: it is always 1.
        (
            "/api/v1/exchange-rates/EUR/2027-01-01",
            json!({"rate": "1"}),
            vec!["currency"],
        ),
        (
            "/api/v1/exchange-rates/XYZ/2027-01-01",
            json!({"rate": "1"}),
            vec!["currency"],
        ),
        (
            "/api/v1/exchange-rates/chf/2027-01-01",
            json!({"rate": "1"}),
            vec!["currency"],
        ),
        (
            "/api/v1/exchange-rates/CHF/2027-02-30",
            json!({"rate": "1"}),
            vec!["valid_from"],
        ),
        (
            "/api/v1/exchange-rates/CHF/1899-12-31",
            json!({"rate": "1"}),
            vec!["valid_from"],
        ),
        (
            "/api/v1/exchange-rates/CHF/heute",
            json!({"rate": "1"}),
            vec!["valid_from"],
        ),
        (
            "/api/v1/exchange-rates/EURO/x",
            json!({"rate": "1"}),
            vec!["currency", "valid_from"],
        ),
    ] {
        let found = problem(
            put(&app, path, &app.admin(), body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), fields, "{path} {body}");
    }
    let home = problem(
        put(
            &app,
            "/api/v1/exchange-rates/EUR/2027-01-01",
            &app.admin(),
            json!({"rate": "1"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(home["errors"][0]["code"], "home_currency");
    assert!(listed(&app, "").await.is_empty(), "nothing was written");
    // A read of a day no rate may start on finds nothing; a malformed key is a 400.
    problem(
        app.get("/api/v1/exchange-rates/CHF/0001-01-01", &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get("/api/v1/exchange-rates/CHF/morgen", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn only_admins_and_the_integration_role_write_rates_and_everyone_reads() {
    let app = spawn_app().await;
    for role in [Role::Manager, Role::Rep, Role::Viewer] {
        let token = app.token_for(role, "someone");
        problem(
            put(&app, CHF_2027, &token, json!({"rate": "1.05"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(CHF_2027, &token).await, StatusCode::FORBIDDEN).await;
    }
    json_with(
        put(
            &app,
            CHF_2027,
            &app.token_for(Role::Integration, "erp"),
            json!({"rate": "1.05"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    for role in [Role::Admin, Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        json_with(app.get(CHF_2027, &app.token_for(role, "r")).await, StatusCode::OK).await;
    }
    let anonymous = app
        .anonymous(Method::GET, "/api/v1/exchange-rates")
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let deleted = app
        .request(Method::DELETE, CHF_2027, &app.token_for(Role::Integration, "erp"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(CHF_2027, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(CHF_2027, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_list_pages_by_currency_and_day_and_on_gives_the_rate_of_that_day() {
    let app = spawn_app().await;
    for (currency, day, rate) in [
        ("USD", "2027-01-01", "0.9315"),
        ("CHF", "2027-01-01", "1.0642"),
        ("CHF", "2026-01-01", "1.0735"),
        ("USD", "2026-07-01", "0.92"),
        ("CHF", "2027-07-01", "1.07"),
    ] {
        put_rate(&app, currency, day, rate).await;
    }
    let all = listed(&app, "").await;
    let keys: Vec<String> = all.iter().map(|(c, d, _)| format!("{c}/{d}")).collect();
    assert_eq!(
        keys,
        [
            "CHF/2026-01-01",
            "CHF/2027-01-01",
            "CHF/2027-07-01",
            "USD/2026-07-01",
            "USD/2027-01-01"
        ]
    );
    // Keyset pages of two give the same order.
    let mut paged = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = json_with(
            app.get(&format!("/api/v1/exchange-rates?{query}"), &app.admin()).await,
            StatusCode::OK,
        )
        .await;
        for item in page["items"].as_array().unwrap() {
            paged.push(format!(
                "{}/{}",
                item["currency"].as_str().unwrap(),
                item["valid_from"].as_str().unwrap()
            ));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, keys);
    assert_eq!(listed(&app, "currency=USD").await.len(), 2);
    // The rate of a day is the latest that starts on or before it.
    let on = |day: &str| format!("on={day}");
    let rates = |list: Vec<(String, String, String)>| -> Vec<String> {
        list.into_iter().map(|(c, _, r)| format!("{c} {r}")).collect()
    };
    assert_eq!(rates(listed(&app, &on("2026-06-30")).await), ["CHF 1.0735"]);
    assert_eq!(rates(listed(&app, &on("2026-07-01")).await), ["CHF 1.0735", "USD 0.92"]);
    assert_eq!(
        rates(listed(&app, &on("2027-01-01")).await),
        ["CHF 1.0642", "USD 0.9315"]
    );
    assert_eq!(rates(listed(&app, &on("2030-01-01")).await), ["CHF 1.07", "USD 0.9315"]);
    assert_eq!(rates(listed(&app, "on=2027-03-01&currency=USD").await), ["USD 0.9315"]);
    assert!(listed(&app, &on("2025-12-31")).await.is_empty());
    problem(
        app.get("/api/v1/exchange-rates?on=gestern", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[derive(diesel::QueryableByName)]
struct RateOf {
    #[diesel(sql_type = Nullable<Numeric>)]
    rate: Option<Decimal>,
}

#[tokio::test]
async fn rate_on_is_the_latest_rate_by_that_day_1_for_the_home_currency_and_null_without_one() {
    let app = spawn_app().await;
    put_rate(&app, "CHF", "2026-01-01", "1.0735").await;
    put_rate(&app, "CHF", "2027-01-01", "1.0642").await;
    let mut conn = app.db.connect_async().await;
    let mut rate_on = async |currency: &str, day: &str| -> Option<Decimal> {
        diesel::sql_query("SELECT rate_on($1::bpchar, $2) AS rate")
            .bind::<Text, _>(currency)
            .bind::<Date, _>(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap())
            .get_result::<RateOf>(&mut conn)
            .await
            .unwrap()
            .rate
            .map(|r| r.normalize())
    };
    assert_eq!(rate_on("CHF", "2025-12-31").await, None);
    assert_eq!(rate_on("CHF", "2026-01-01").await, Some(Decimal::new(10735, 4)));
    assert_eq!(rate_on("CHF", "2026-12-31").await, Some(Decimal::new(10735, 4)));
    assert_eq!(rate_on("CHF", "2027-01-01").await, Some(Decimal::new(10642, 4)));
    assert_eq!(rate_on("EUR", "1999-01-01").await, Some(Decimal::ONE));
    assert_eq!(rate_on("USD", "2027-01-01").await, None);
    // One expression inside an aggregate: 100 CHF and 50 EUR are 156.42 EUR on 2027-01-15
    // (100 × 1.0642 + 50 × 1); USD has no rate and stays out (NULL), never guessed.
    let total: RateOf = diesel::sql_query(
        "SELECT sum(amount * rate_on(currency, '2027-01-15')) AS rate \
         FROM (VALUES ('CHF'::bpchar, 100::numeric), ('EUR', 50), ('USD', 70)) v(currency, amount) \
         WHERE rate_on(currency, '2027-01-15') IS NOT NULL",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(total.rate.map(|r| r.normalize()), Some(Decimal::new(15642, 2)));
    // The store's function answers the same.
    let mut conn = app.db.connect_async().await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let of_day = salesfunnel::exchange_rates::store::rate_of_day(&mut conn, "CHF", day)
        .await
        .unwrap();
    assert_eq!(of_day.map(|r| r.normalize()), Some(Decimal::new(10735, 4)));
}

#[tokio::test]
async fn rate_on_is_an_index_only_probe() {
    let app = spawn_app().await;
    put_rate(&app, "CHF", "2026-01-01", "1.0735").await;
    let mut conn = app.db.connect_async().await;
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN SELECT r.rate FROM exchange_rates r WHERE r.currency = 'CHF' AND r.valid_from <= '2026-06-01' \
         ORDER BY r.valid_from DESC LIMIT 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let text: Vec<String> = plan.into_iter().map(|p| p.line).collect();
    assert!(
        text.iter()
            .any(|l| l.contains("Index Only Scan Backward using exchange_rates_pkey")),
        "{text:#?}"
    );
}

#[tokio::test]
async fn writes_are_in_the_feed_keyed_by_currency_and_day() {
    let app = spawn_app().await;
    put_rate(&app, "CHF", "2027-01-01", "1.05").await;
    put_rate(&app, "CHF", "2027-01-01", "1.05").await;
    put_rate(&app, "CHF", "2027-01-01", "1.06").await;
    let deleted = app.delete(CHF_2027, &app.admin()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let events = app.feed(3).await;
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["subject_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let key = "CHF/2027-01-01".to_owned();
    assert_eq!(
        seen,
        [
            ("exchange_rate.created".to_owned(), key.clone()),
            ("exchange_rate.updated".to_owned(), key.clone()),
            ("exchange_rate.deleted".to_owned(), key)
        ],
        "the repeat wrote nothing"
    );
    assert_eq!(events[1]["data"]["previous"], json!({"rate": "1.05"}));
    assert_eq!(events[1]["data"]["exchange_rate"]["rate"], "1.06");
    assert_eq!(events[2]["data"]["exchange_rate"]["version"], 2);
}

#[tokio::test]
async fn the_demo_has_rates_and_the_spec_examples_work_on_it() {
    let app = spawn_app().await;
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || salesfunnel::seed::demo(&url))
        .await
        .unwrap()
        .unwrap();
    let on_day = listed(&app, "on=2027-01-15").await;
    assert_eq!(
        on_day,
        [
            ("CHF".to_owned(), "2027-01-01".to_owned(), "1.0642".to_owned()),
            ("USD".to_owned(), "2027-01-01".to_owned(), "0.9315".to_owned())
        ]
    );
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    let item = &spec["paths"]["/api/v1/exchange-rates/{currency}/{valid_from}"];
    let example = |p: &Value, name: &str| {
        p["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()["example"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let path = format!(
        "/api/v1/exchange-rates/{}/{}",
        example(&item["get"], "currency"),
        example(&item["get"], "valid_from")
    );
    json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    let body = &spec["components"]["schemas"]["ExchangeRateContent"]["example"];
    json_with(put(&app, &path, &app.admin(), body.clone()).await, StatusCode::OK).await;
    let on = example(&spec["paths"]["/api/v1/exchange-rates"]["get"], "on");
    assert!(!listed(&app, &format!("on={on}")).await.is_empty());
}
