use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};

/// An open opportunity in a fresh funnel (stages `L_OPEN` 40 %, `L_WON`, `L_LOST`) of class
/// `LINES`, owned by a new rep; returns the opportunity and the rep's id.
async fn opportunity(app: &TestApp) -> (Value, String) {
    let rep = app.create_user("rep@example.com", "rep").await;
    let rep_id = rep["id"].as_str().unwrap().to_owned();
    let funnel = app.create_simple_funnel("Lines", "L").await;
    let partner = app
        .create_partner(json!({"kind": "lead", "name": "Autohaus Müller"}))
        .await;
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "LINES", "default_funnel_id": funnel["id"], "default_owner_id": rep_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let created = json_with(
        app.post(
            "/api/v1/opportunities",
            &app.admin(),
            &json!({"subject": "Two cars", "business_partner_id": partner["id"], "class_id": "LINES",
                    "stage_id": funnel["stage_ids"][0], "target_value": "5000.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (created, rep_id)
}

fn lines_of(opportunity: &Value) -> String {
    format!("/api/v1/opportunities/{}/lines", opportunity["id"].as_str().unwrap())
}

fn path_of(opportunity: &Value) -> String {
    format!("/api/v1/opportunities/{}", opportunity["id"].as_str().unwrap())
}

async fn article(app: &TestApp, sku: &str, price: &str, currency: &str) -> Value {
    json_with(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": sku, "name": format!("Artikel {sku}"), "unit": "Stk", "unit_price": price,
                    "currency": currency, "tax_rate": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn lines_make_up_the_target_value_exactly() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    assert_eq!(opp["target_value"], "5000.00");
    let first = json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"description": "Winterräder", "quantity": "1.5", "unit_price": "0.33", "discount_percent": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // 1.5 × 0.33 × 0.9 = 0.4455 → 0.45, rounded once
    assert_eq!(first["line_total"], "0.45");
    assert_eq!(first["position"], 1);
    assert_eq!(first["unit"], "Stk");
    assert_eq!(first["tax_rate"], 19.0);
    let read = json_with(app.get(&path_of(&opp), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["target_value"], "0.45", "lines replace the manual value");
    assert_eq!(read["line_count"], 1);
    assert!(
        read["version"].as_i64() > opp["version"].as_i64(),
        "a line change is a change of the opportunity"
    );
    let second = json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"description": "Leasingfahrzeug", "quantity": 3, "unit_price": 33333.33}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(second["line_total"], "99999.99");
    assert_eq!(second["position"], 2);
    let read = json_with(app.get(&path_of(&opp), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["target_value"], "100000.44");
    // 40 % of 100000.44 = 40000.176 → 40000.18
    assert_eq!(read["weighted_value"], "40000.18");
}

#[tokio::test]
async fn an_article_fills_the_line_and_its_fields_can_be_overridden() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    let car = article(&app, "VW-ID4", "47990.00", "EUR").await;
    let line = json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"article_id": car["id"], "quantity": 2, "discount_percent": 5}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(line["sku"], "VW-ID4");
    assert_eq!(line["description"], "Artikel VW-ID4");
    assert_eq!(line["unit_price"], "47990.00");
    assert_eq!(line["tax_rate"], 7.0);
    assert_eq!(line["line_total"], "91181.00");
    let custom = json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"article_id": car["id"], "quantity": 1, "unit_price": "45000", "description": "Vorführwagen"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(custom["unit_price"], "45000.00");
    assert_eq!(custom["description"], "Vorführwagen");
    let page = json_with(app.get(&lines_of(&opp), &app.admin()).await, StatusCode::OK).await;
    let positions: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2]);
}

#[tokio::test]
async fn invalid_lines_are_422_naming_each_field() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    let cases = [
        (json!({"quantity": 1}), vec!["description", "unit_price"]),
        (
            json!({"description": "x", "unit_price": 1, "quantity": 0}),
            vec!["quantity"],
        ),
        (
            json!({"description": "x", "unit_price": 1, "quantity": "1.0001"}),
            vec!["quantity"],
        ),
        (
            json!({"description": "x", "unit_price": "-1", "quantity": 1}),
            vec!["unit_price"],
        ),
        (
            json!({"description": "x", "unit_price": "1.001", "quantity": 1}),
            vec!["unit_price"],
        ),
        (
            json!({"description": "x", "unit_price": 1, "quantity": 1, "discount_percent": 101}),
            vec!["discount_percent"],
        ),
        (
            json!({"description": " ", "unit_price": 1, "quantity": 1}),
            vec!["description"],
        ),
        (
            json!({"description": "x", "unit_price": 1, "quantity": 1, "colour": "red"}),
            vec!["colour"],
        ),
        (
            json!({"article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "quantity": 1}),
            vec!["article_id"],
        ),
    ];
    for (body, fields) in cases {
        let found = problem(
            app.post(&lines_of(&opp), &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), fields, "body {body}");
    }
    let dollars = article(&app, "US-1", "10.00", "USD").await;
    let found = problem(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"article_id": dollars["id"], "quantity": 1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&found),
        ["article_id"],
        "another currency needs a unit_price"
    );
    let read = json_with(app.get(&path_of(&opp), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["line_count"], 0);
    assert_eq!(read["version"], opp["version"], "nothing changed");
}

#[tokio::test]
async fn editing_and_deleting_lines_follow_the_total_and_honour_if_match() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    let line = json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"description": "Service", "quantity": 2, "unit_price": 100}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let line_path = format!("{}/{}", lines_of(&opp), line["id"].as_str().unwrap());
    let stale = app
        .request(Method::PATCH, &line_path, &app.admin())
        .header("If-Match", "\"7\"")
        .json(&json!({"quantity": 3}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let response = app
        .request(Method::PATCH, &line_path, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"quantity": 3, "discount_percent": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let changed = json_with(response, StatusCode::OK).await;
    assert_eq!(changed["line_total"], "150.00");
    let read = json_with(app.get(&path_of(&opp), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["target_value"], "150.00");
    let gone = app
        .request(Method::DELETE, &line_path, &app.admin())
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    problem(gone, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(
        app.delete(&line_path, &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&line_path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    let read = json_with(app.get(&path_of(&opp), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["line_count"], 0);
    assert_eq!(
        read["target_value"], "0.00",
        "without lines the value starts again from zero"
    );
    let manual = json_with(
        app.patch(&path_of(&opp), &app.admin(), &json!({"target_value": 900}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(manual["target_value"], "900.00", "and may be set by hand again");
}

#[tokio::test]
async fn the_target_value_is_not_writable_while_there_are_lines() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"description": "A", "quantity": 1, "unit_price": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.patch(&path_of(&opp), &app.admin(), &json!({"target_value": 5}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn concurrent_line_edits_never_leave_a_wrong_total() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    let token = app.admin();
    let adds = (1..=24).map(|i| {
        let (app, token, path) = (&app, &token, lines_of(&opp));
        async move {
            app.post(
                &path,
                token,
                &json!({"description": format!("Teil {i}"), "quantity": i, "unit_price": "10.01"}),
            )
            .await
        }
    });
    for response in futures_util::future::join_all(adds).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let page = json_with(
        app.get(&format!("{}?limit=200", lines_of(&opp)), &token).await,
        StatusCode::OK,
    )
    .await;
    let lines = page["items"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 24);
    let mut positions: Vec<i64> = lines.iter().map(|l| l["position"].as_i64().unwrap()).collect();
    positions.dedup();
    assert_eq!(positions.len(), 24, "every line has its own position");
    // Change every line's quantity and delete a third of them, all at once.
    let edits = lines.iter().enumerate().map(|(i, line)| {
        let (app, token) = (&app, &token);
        let path = format!("{}/{}", lines_of(&opp), line["id"].as_str().unwrap());
        async move {
            if i % 3 == 0 {
                app.delete(&path, token).await.status()
            } else {
                app.patch(&path, token, &json!({"quantity": 2})).await.status()
            }
        }
    });
    for status in futures_util::future::join_all(edits).await {
        assert!(status == StatusCode::OK || status == StatusCode::NO_CONTENT, "{status}");
    }
    let read = json_with(app.get(&path_of(&opp), &token).await, StatusCode::OK).await;
    // 16 lines left, each 2 × 10.01
    assert_eq!(read["line_count"], 16);
    assert_eq!(read["target_value"], "320.32");
}

#[tokio::test]
async fn lines_of_a_closed_opportunity_are_read_only() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    let line = json_with(
        app.post(
            &lines_of(&opp),
            &app.admin(),
            &json!({"description": "A", "quantity": 1, "unit_price": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_with(
        app.post(&format!("{}/win", path_of(&opp)), &app.admin(), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let line_path = format!("{}/{}", lines_of(&opp), line["id"].as_str().unwrap());
    let body = json!({"description": "B", "quantity": 1, "unit_price": 1});
    problem(
        app.post(&lines_of(&opp), &app.admin(), &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&line_path, &app.admin(), &json!({"quantity": 5})).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(app.delete(&line_path, &app.admin()).await, StatusCode::CONFLICT).await;
    json_with(app.get(&line_path, &app.admin()).await, StatusCode::OK).await;
}

#[tokio::test]
async fn lines_follow_the_opportunity_s_visibility_and_roles() {
    let app = spawn_app().await;
    let (opp, rep_id) = opportunity(&app).await;
    let owner = app.token_for(Role::Rep, &rep_id);
    let line = json_with(
        app.post(
            &lines_of(&opp),
            &owner,
            &json!({"description": "A", "quantity": 1, "unit_price": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let line_path = format!("{}/{}", lines_of(&opp), line["id"].as_str().unwrap());
    let stranger = app.create_user("other@example.com", "rep").await;
    let stranger = app.token_for(Role::Rep, stranger["id"].as_str().unwrap());
    problem(app.get(&lines_of(&opp), &stranger).await, StatusCode::NOT_FOUND).await;
    problem(app.get(&line_path, &stranger).await, StatusCode::NOT_FOUND).await;
    let body = json!({"description": "B", "quantity": 1, "unit_price": 1});
    problem(app.post(&lines_of(&opp), &stranger, &body).await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch(&line_path, &stranger, &json!({"quantity": 2})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete(&line_path, &stranger).await, StatusCode::NOT_FOUND).await;
    let viewer = app.token_for(Role::Viewer, "viewer");
    json_with(app.get(&lines_of(&opp), &viewer).await, StatusCode::OK).await;
    problem(app.post(&lines_of(&opp), &viewer, &body).await, StatusCode::FORBIDDEN).await;
    problem(
        app.patch(&line_path, &viewer, &json!({"quantity": 2})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let anonymous = app.anonymous(Method::GET, &lines_of(&opp)).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    problem(
        app.get(
            "/api/v1/opportunities/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10/lines",
            &app.admin(),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn lines_page_by_position_and_a_retried_post_adds_one() {
    let app = spawn_app().await;
    let (opp, _) = opportunity(&app).await;
    let body = json!({"description": "Einmal", "quantity": 1, "unit_price": 10});
    for _ in 0..2 {
        let response = app
            .request(Method::POST, &lines_of(&opp), &app.admin())
            .header("Idempotency-Key", "line-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for i in 2..=5 {
        let body = json!({"description": format!("Teil {i}"), "quantity": 1, "unit_price": 10});
        json_with(
            app.post(&lines_of(&opp), &app.admin(), &body).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{}?limit=2&cursor={c}", lines_of(&opp)),
            None => format!("{}?limit=2", lines_of(&opp)),
        };
        let page = json_with(app.get(&url, &app.admin()).await, StatusCode::OK).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["position"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, [1, 2, 3, 4, 5], "the retried POST added one line");
}
