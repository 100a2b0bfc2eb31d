use std::collections::HashSet;

use reqwest::{Method, Response, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};

fn path_of(article: &Value) -> String {
    format!("/api/v1/articles/{}", article["id"].as_str().unwrap())
}

async fn create_article(app: &TestApp, body: Value) -> Value {
    json_with(
        app.post("/api/v1/articles", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

/// Posts an article as admin and expects a 422; returns the fields it names.
async fn rejected(app: &TestApp, body: &Value) -> Vec<String> {
    let found = problem(
        app.post("/api/v1/articles", &app.admin(), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    error_fields(&found)
}

async fn put_by_sku(app: &TestApp, sku: &str, token: &str, body: &Value) -> Response {
    app.request(Method::PUT, &format!("/api/v1/articles/by-sku/{sku}"), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn skus(app: &TestApp, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("/api/v1/articles?{query}"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sku"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_article_is_created_with_every_field() {
    let app = spawn_app().await;
    let body = json!({
        "sku": "VW-ID4-PRO", "name": "VW ID.4 Pro", "description": "Elektro-SUV, 77 kWh", "unit": "Stk",
        "unit_price": "47990.00", "currency": "EUR", "tax_rate": 7.5, "active": false
    });
    let response = app.post("/api/v1/articles", &app.admin(), &body).await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    for (field, value) in body.as_object().unwrap() {
        if field != "tax_rate" {
            assert_eq!(&created[field], value, "field {field}");
        }
    }
    assert_eq!(created["tax_rate"].as_f64(), Some(7.5));
    assert_eq!(created["version"], 1);
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_unit_price_may_be_sent_as_a_string_or_a_number_and_reads_back_as_a_string() {
    let app = spawn_app().await;
    let as_string = create_article(&app, json!({"sku": "A1", "name": "A", "unit_price": "47990.00"})).await;
    let as_number = create_article(&app, json!({"sku": "A2", "name": "B", "unit_price": 47990})).await;
    let as_decimal = create_article(&app, json!({"sku": "A3", "name": "C", "unit_price": 19.9})).await;
    assert_eq!(as_string["unit_price"], "47990.00");
    assert_eq!(as_number["unit_price"], "47990.00");
    assert_eq!(as_decimal["unit_price"], "19.90");
    let read = json_with(app.get(&path_of(&as_number), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["unit_price"], "47990.00");
}

#[tokio::test]
async fn a_unit_price_with_more_than_two_decimals_or_no_number_is_422() {
    let app = spawn_app().await;
    for bad in [
        json!("47990.001"),
        json!(1.005),
        json!("teuer"),
        json!(true),
        json!(null),
    ] {
        let body = json!({"sku": "A1", "name": "A", "unit_price": bad});
        assert_eq!(rejected(&app, &body).await, vec!["unit_price"], "unit_price {bad}");
    }
    assert_eq!(
        rejected(&app, &json!({"sku": "A1", "name": "A"})).await,
        vec!["unit_price"]
    );
    assert!(skus(&app, "").await.is_empty());
}

#[tokio::test]
async fn a_unit_price_too_large_to_store_is_422_not_500() {
    let app = spawn_app().await;
    // The column is numeric(14,2) and the documented pattern allows 12 digits before the point.
    let body = json!({"sku": "BIG", "name": "Zu teuer", "unit_price": "1000000000000.00"});
    let response = app.post("/api/v1/articles", &app.admin(), &body).await;
    let found = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&found), vec!["unit_price"]);
}

#[tokio::test]
async fn a_negative_unit_price_is_rejected_as_invalid() {
    let app = spawn_app().await;
    let body = json!({"sku": "NEG", "name": "Gutschrift", "unit_price": "-5.00"});
    problem(
        app.post("/api/v1/articles", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(skus(&app, "").await.is_empty());
}

#[tokio::test]
async fn currency_unit_and_tax_rate_have_defaults() {
    let app = spawn_app().await;
    let created = create_article(&app, json!({"sku": "A1", "name": "A", "unit_price": "10.00"})).await;
    assert_eq!(created["currency"], "EUR", "the settings' default currency");
    assert!(created["tax_rate"].is_number(), "{created}");
    assert_eq!(created["tax_rate"].as_f64(), Some(19.0));
    assert_eq!(created["unit"], "Stk");
    assert_eq!(created["active"], true);
    assert!(created["description"].is_null());
    let chf = create_article(
        &app,
        json!({"sku": "A2", "name": "B", "unit_price": "10.00", "currency": "CHF", "tax_rate": 0}),
    )
    .await;
    assert_eq!(chf["currency"], "CHF");
    assert_eq!(chf["tax_rate"].as_f64(), Some(0.0));
}

#[tokio::test]
async fn invalid_articles_are_422_naming_each_field() {
    let app = spawn_app().await;
    for currency in ["EURO", "eur", "ABC"] {
        let body = json!({"sku": "A1", "name": "A", "unit_price": "1.00", "currency": currency});
        assert_eq!(rejected(&app, &body).await, vec!["currency"], "currency {currency}");
    }
    for tax_rate in [json!(100.5), json!(-1), json!(19.125)] {
        let body = json!({"sku": "A1", "name": "A", "unit_price": "1.00", "tax_rate": tax_rate});
        assert_eq!(rejected(&app, &body).await, vec!["tax_rate"], "tax_rate {tax_rate}");
    }
    let body = json!({"sku": "bad sku", "name": "", "unit": "", "unit_price": "1.00"});
    assert_eq!(rejected(&app, &body).await, vec!["name", "sku", "unit"]);
    let body = json!({"sku": "A".repeat(65), "name": "A", "unit_price": "1.00"});
    assert_eq!(rejected(&app, &body).await, vec!["sku"]);
    let body = json!({"sku": "A1", "name": "A", "unit_price": "1.00", "price": 5});
    assert_eq!(rejected(&app, &body).await, vec!["price"]);
}

#[tokio::test]
async fn a_duplicate_sku_is_409() {
    let app = spawn_app().await;
    create_article(&app, json!({"sku": "VW-ID4", "name": "ID.4", "unit_price": "1.00"})).await;
    let found = problem(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": "VW-ID4", "name": "Anderes", "unit_price": "2.00"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(found["detail"].as_str().unwrap().contains("sku"), "{found}");
    let other = create_article(&app, json!({"sku": "VW-ID3", "name": "ID.3", "unit_price": "1.00"})).await;
    problem(
        app.patch(&path_of(&other), &app.admin(), &json!({"sku": "VW-ID4"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(skus(&app, "sort=sku").await, vec!["VW-ID3", "VW-ID4"]);
}

#[tokio::test]
async fn put_by_sku_creates_then_repeats_without_change_then_replaces() {
    let app = spawn_app().await;
    let body = json!({"name": "VW ID.4 Pro", "description": "77 kWh", "unit_price": "47990.00", "tax_rate": 19});
    let first = put_by_sku(&app, "VW-ID4-PRO", &app.admin(), &body).await;
    let location = header(&first, "location");
    let etag = header(&first, "etag");
    let created = json_with(first, StatusCode::CREATED).await;
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(
        (
            created["sku"].as_str(),
            created["currency"].as_str(),
            created["version"].as_i64()
        ),
        (Some("VW-ID4-PRO"), Some("EUR"), Some(1))
    );
    let again = put_by_sku(&app, "VW-ID4-PRO", &app.admin(), &body).await;
    assert_eq!(header(&again, "etag").as_deref(), Some("\"1\""));
    let repeated = json_with(again, StatusCode::OK).await;
    assert_eq!(
        repeated, created,
        "an identical upsert changes nothing, not even updated_at"
    );
    let changed = json!({"name": "VW ID.4 Pro", "unit_price": 45990, "currency": "EUR"});
    let third = put_by_sku(&app, "VW-ID4-PRO", &app.admin(), &changed).await;
    assert_eq!(header(&third, "etag").as_deref(), Some("\"2\""));
    let replaced = json_with(third, StatusCode::OK).await;
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["unit_price"], "45990.00");
    assert_eq!(replaced["version"], 2);
    assert!(
        replaced["description"].is_null(),
        "PUT replaces: an omitted description is cleared"
    );
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read, replaced);
    assert_eq!(skus(&app, "").await, vec!["VW-ID4-PRO"], "still one article");
}

#[tokio::test]
async fn put_by_sku_honours_if_match_when_replacing() {
    let app = spawn_app().await;
    let body = json!({"name": "A", "unit_price": "1.00"});
    json_with(put_by_sku(&app, "A1", &app.admin(), &body).await, StatusCode::CREATED).await;
    let stale = app
        .request(Method::PUT, "/api/v1/articles/by-sku/A1", &app.admin())
        .header("If-Match", "\"5\"")
        .json(&json!({"name": "B", "unit_price": "2.00"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let page = json_with(app.get("/api/v1/articles", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(page["items"][0]["name"], "A");
}

#[tokio::test]
async fn the_integration_role_upserts_articles_but_may_not_post_or_patch_them() {
    let app = spawn_app().await;
    let integration = app.token_for(Role::Integration, "erp");
    let body = json!({"name": "Wartung", "unit": "h", "unit_price": "95.00"});
    let created = json_with(
        put_by_sku(&app, "SERVICE-H", &integration, &body).await,
        StatusCode::CREATED,
    )
    .await;
    json_with(put_by_sku(&app, "SERVICE-H", &integration, &body).await, StatusCode::OK).await;
    problem(
        app.post(
            "/api/v1/articles",
            &integration,
            &json!({"sku": "X1", "name": "X", "unit_price": "1.00"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.patch(&path_of(&created), &integration, &json!({"name": "Y"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.delete(&path_of(&created), &integration).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for role in [Role::Manager, Role::Rep, Role::Viewer] {
        let token = app.token_for(role, "x");
        problem(
            put_by_sku(&app, "SERVICE-H", &token, &body).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(
            app.post(
                "/api/v1/articles",
                &token,
                &json!({"sku": "X1", "name": "X", "unit_price": "1.00"}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(
            app.patch(&path_of(&created), &token, &json!({"name": "Y"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path_of(&created), &token).await, StatusCode::FORBIDDEN).await;
        assert_eq!(
            json_with(app.get(&path_of(&created), &token).await, StatusCode::OK).await["sku"],
            "SERVICE-H",
            "{role:?} reads articles"
        );
    }
    let anonymous = app
        .anonymous(Method::PUT, "/api/v1/articles/by-sku/SERVICE-H")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_invalid_sku_in_the_path_is_422_naming_sku() {
    let app = spawn_app().await;
    let body = json!({"name": "A", "unit_price": "1.00"});
    for sku in ["bad%20sku", "a%2Fb", "%C3%84RGER", &"A".repeat(65)] {
        let found = problem(
            put_by_sku(&app, sku, &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec!["sku"], "sku {sku}");
    }
    let found = problem(
        put_by_sku(
            &app,
            "GOOD",
            &app.admin(),
            &json!({"name": "A", "unit_price": "1.005", "sku": "X"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["sku", "unit_price"], "the body holds no sku");
    assert!(skus(&app, "").await.is_empty());
}

#[tokio::test]
async fn patch_changes_an_article_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = create_article(
        &app,
        json!({"sku": "A1", "name": "Alt", "description": "weg damit", "unit_price": "10.00"}),
    )
    .await;
    let path = path_of(&created);
    let response = app
        .patch(
            &path,
            &app.admin(),
            &json!({"unit_price": "12.50", "description": null, "currency": "CHF"}),
        )
        .await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!(
        (
            updated["unit_price"].as_str(),
            updated["currency"].as_str(),
            updated["version"].as_i64()
        ),
        (Some("12.50"), Some("CHF"), Some(2))
    );
    assert!(updated["description"].is_null());
    assert_eq!(updated["name"], "Alt");
    let found = problem(
        app.patch(&path, &app.admin(), &json!({"unit_price": "1.001", "name": null}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["name", "unit_price"]);
    let found = problem(
        app.patch(&path, &app.admin(), &json!({"currency": "EURO", "sku": "bad sku"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["currency", "sku"]);
    let stale = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"name": "Neu"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(app.delete(&path, &app.admin()).await.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_article_list_sorts_by_sku_or_name_and_searches() {
    let app = spawn_app().await;
    for (sku, name, currency) in [
        ("C-300", "Anhängerkupplung", "EUR"),
        ("A-100", "Winterreifen", "EUR"),
        ("D-400", "Dachbox", "CHF"),
        ("B-200", "Bremsbeläge", "EUR"),
        ("E-500", "Ersatzrad", "EUR"),
    ] {
        create_article(
            &app,
            json!({"sku": sku, "name": name, "unit_price": "100.00", "currency": currency}),
        )
        .await;
    }
    assert_eq!(
        skus(&app, "").await,
        vec!["C-300", "B-200", "D-400", "E-500", "A-100"],
        "ordered by name by default"
    );
    assert_eq!(
        skus(&app, "sort=sku").await,
        vec!["A-100", "B-200", "C-300", "D-400", "E-500"]
    );
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/v1/articles?sort=sku&limit=2&cursor={c}"),
            None => "/api/v1/articles?sort=sku&limit=2".to_owned(),
        };
        let page = json_with(app.get(&query, &app.admin()).await, StatusCode::OK).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["sku"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["A-100", "B-200", "C-300", "D-400", "E-500"]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
    assert_eq!(skus(&app, "q=reifen").await, vec!["A-100"], "q matches the name");
    assert_eq!(skus(&app, "q=d-4").await, vec!["D-400"], "q matches the sku");
    assert_eq!(
        skus(&app, "q=r&sort=sku").await,
        vec!["A-100", "B-200", "C-300", "E-500"]
    );
    assert_eq!(skus(&app, "currency=CHF").await, vec!["D-400"]);
    problem(
        app.get("/api/v1/articles?sort=price", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let page = json_with(
        app.get("/api/v1/articles?sort=sku&limit=2", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    problem(
        app.get(&format!("/api/v1/articles?cursor={cursor}"), &app.admin())
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
