//! `POST /batch`: operations run as if sent alone (status, idempotency, access, events), or
//! all in one transaction (`atomic`), where the first failure writes nothing.

use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::*;

async fn batch(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/batch", token, &body).await
}

fn statuses(answer: &Value) -> Vec<u64> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

async fn partner_names(app: &TestApp) -> Vec<String> {
    let page = json_with(
        app.get("/api/v1/business-partners?limit=200", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The feed's `(type, subject_id)` once it holds at least `count` events.
async fn feed(app: &TestApp, count: usize) -> Vec<(String, Value)> {
    app.feed(count)
        .await
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["subject_id"].clone()))
        .collect()
}

fn event(event_type: &str, subject: &Value) -> (String, Value) {
    (event_type.to_owned(), subject.clone())
}

#[tokio::test]
async fn each_operation_answers_as_if_sent_alone() {
    let app = spawn_app().await;
    let integration = app.token_for(Role::Integration, "erp");
    let existing = app
        .create_partner(json!({"kind": "customer", "name": "Bestand GmbH"}))
        .await;
    let existing_path = format!("/api/v1/business-partners/{}", existing["id"].as_str().unwrap());
    let body = json!({"operations": [
        {"method": "PUT", "path": "/api/v1/business-partners/by-external-id/D-1",
         "body": {"kind": "customer", "name": "Erste GmbH"}},
        {"method": "POST", "path": "/api/v1/business-partners",
         "headers": {"Idempotency-Key": "import-0001"}, "body": {"kind": "lead", "name": "Zweite KG"}},
        {"method": "PATCH", "path": existing_path, "headers": {"If-Match": "\"7\""}, "body": {"city": "Köln"}},
        {"method": "POST", "path": "/api/v1/business-partners", "body": {"kind": "lead", "name": ""}},
        {"method": "PATCH", "path": existing_path, "headers": {"if-match": "\"1\""}, "body": {"city": "Bonn"}},
        {"method": "DELETE", "path": "/api/v1/business-partners/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10"}
    ]});
    let answer = json_with(batch(&app, &integration, body.clone()).await, StatusCode::OK).await;
    assert_eq!(statuses(&answer), [201, 201, 412, 422, 200, 403], "{answer:#}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["body"]["external_id"], "D-1");
    assert_eq!(results[0]["headers"]["etag"], "\"1\"");
    let created = &results[1]["body"];
    assert_eq!(
        results[1]["headers"]["location"],
        format!("/api/v1/business-partners/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(results[2]["body"]["status"], 412);
    assert_eq!(results[3]["headers"]["content-type"], "application/problem+json");
    assert_eq!(error_fields(&results[3]["body"]), ["name"]);
    assert_eq!(results[4]["body"]["city"], "Bonn");
    assert_eq!(results[4]["body"]["version"], 2);
    assert_eq!(
        partner_names(&app).await,
        ["Bestand GmbH", "Erste GmbH", "Zweite KG"],
        "what succeeded was committed, each on its own"
    );

    // Sent again: the upsert changes nothing, the Idempotency-Key replays, the stale If-Match
    // is refused, and nothing new is created.
    let again = json_with(batch(&app, &integration, body).await, StatusCode::OK).await;
    assert_eq!(statuses(&again), [200, 201, 412, 422, 412, 403], "{again:#}");
    let results = again["results"].as_array().unwrap();
    assert_eq!(results[0]["body"]["version"], 1);
    assert_eq!(results[1]["body"]["id"], created["id"]);
    assert_eq!(results[1]["headers"]["idempotent-replayed"], "true");
    assert_eq!(partner_names(&app).await.len(), 3);
}

#[tokio::test]
async fn the_operations_write_their_events_in_order() {
    let app = spawn_app().await;
    let admin = app.admin();
    let answer = json_with(
        batch(
            &app,
            &admin,
            json!({"operations": [
                {"method": "POST", "path": "/api/v1/business-partners", "body": {"kind": "lead", "name": "A"}},
                {"method": "POST", "path": "/api/v1/business-partners", "body": {"kind": "lead", "name": "B"}}
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(statuses(&answer), [201, 201]);
    assert_eq!(
        feed(&app, 2).await,
        [
            event("business_partner.created", &answer["results"][0]["body"]["id"]),
            event("business_partner.created", &answer["results"][1]["body"]["id"]),
        ]
    );
}

#[tokio::test]
async fn an_atomic_batch_commits_all_or_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let existing = app
        .create_partner(json!({"kind": "customer", "name": "Bestand GmbH"}))
        .await;
    let existing_path = format!("/api/v1/business-partners/{}", existing["id"].as_str().unwrap());

    let failing = json!({"atomic": true, "operations": [
        {"method": "POST", "path": "/api/v1/business-partners", "headers": {"Idempotency-Key": "atomic-1"},
         "body": {"kind": "lead", "name": "Neu AG"}},
        {"method": "PATCH", "path": existing_path, "headers": {"If-Match": "\"1\""}, "body": {"city": "Köln"}},
        {"method": "PATCH", "path": existing_path, "headers": {"If-Match": "\"1\""}, "body": {"city": "Bonn"}},
        {"method": "POST", "path": "/api/v1/business-partners", "body": {"kind": "lead", "name": "Nie"}}
    ]});
    let problem = problem(batch(&app, &admin, failing).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:salesfunnel:problem:batch-failed");
    assert_eq!(problem["index"], 2, "{problem:#}");
    assert_eq!(problem["failure"]["status"], 412);
    assert_eq!(problem["failure"]["body"]["status"], 412);
    assert_eq!(partner_names(&app).await, ["Bestand GmbH"], "nothing was written");
    let unchanged = json_with(app.get(&existing_path, &admin).await, StatusCode::OK).await;
    assert_eq!(
        (unchanged["city"].clone(), unchanged["version"].clone()),
        (Value::Null, json!(1))
    );

    // The key of the rolled-back create is free: the corrected batch creates with it.
    let fixed = json!({"atomic": true, "operations": [
        {"method": "POST", "path": "/api/v1/business-partners", "headers": {"Idempotency-Key": "atomic-1"},
         "body": {"kind": "lead", "name": "Neu AG"}},
        {"method": "PATCH", "path": existing_path, "headers": {"If-Match": "\"1\""}, "body": {"city": "Köln"}},
        {"method": "PATCH", "path": existing_path, "headers": {"If-Match": "\"2\""}, "body": {"city": "Bonn"}},
        {"method": "DELETE", "path": existing_path, "headers": {"If-Match": "\"3\""}}
    ]});
    let answer = json_with(batch(&app, &admin, fixed).await, StatusCode::OK).await;
    assert_eq!(statuses(&answer), [201, 200, 200, 204], "{answer:#}");
    assert_eq!(answer["results"][3]["body"], Value::Null);
    assert_eq!(partner_names(&app).await, ["Neu AG"]);
    let id = &existing["id"];
    assert_eq!(
        feed(&app, 5).await,
        [
            event("business_partner.created", id),
            event("business_partner.created", &answer["results"][0]["body"]["id"]),
            event("business_partner.updated", id),
            event("business_partner.updated", id),
            event("business_partner.deleted", id),
        ],
        "the rolled-back batch left no event"
    );
}

#[tokio::test]
async fn an_operation_the_caller_may_not_do_fails_an_atomic_batch() {
    let app = spawn_app().await;
    let rep = app.token_for(Role::Rep, "rep");
    let problem = problem(
        batch(
            &app,
            &rep,
            json!({"atomic": true, "operations": [
                {"method": "POST", "path": "/api/v1/business-partners", "body": {"kind": "lead", "name": "Rep Lead"}},
                {"method": "POST", "path": "/api/v1/lost-reasons", "body": {"label": "Preis"}}
            ]}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        (problem["index"].clone(), problem["failure"]["status"].clone()),
        (json!(1), json!(403))
    );
    assert!(partner_names(&app).await.is_empty());
}

#[tokio::test]
async fn a_batch_is_refused_as_a_whole_when_it_is_malformed() {
    let app = spawn_app().await;
    let admin = app.admin();
    let op = json!({"method": "POST", "path": "/api/v1/business-partners", "body": {"kind": "lead", "name": "X"}});
    let bad = problem(
        batch(
            &app,
            &admin,
            json!({"operations": [
                op,
                {"method": "POST", "path": "/api/v1/batch", "body": {"operations": []}},
                {"method": "POST", "path": "/metrics"},
                {"method": "POST", "path": "https://elsewhere.example/api/v1/users"},
                {"method": "PATCH", "path": "/api/v1/business-partners/x", "headers": {"Authorization": "Bearer x"}}
            ]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        [
            "operations[1].path",
            "operations[2].path",
            "operations[3].path",
            "operations[4].headers.Authorization"
        ]
    );
    let empty = problem(
        batch(&app, &admin, json!({"operations": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&empty), ["operations"]);
    let many: Vec<Value> = (0..101).map(|_| op.clone()).collect();
    let too_many = problem(
        batch(&app, &admin, json!({"operations": many})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&too_many), ["operations"]);
    problem(
        batch(
            &app,
            &admin,
            json!({"operations": [{"method": "GET", "path": "/api/v1/users"}]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        batch(&app, &admin, json!({"operations": [op], "transactional": true})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(partner_names(&app).await.is_empty(), "nothing of a refused batch ran");

    problem(
        app.anonymous(reqwest::Method::POST, "/api/v1/batch")
            .json(&json!({"operations": [op]}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let viewer = app.token_for(Role::Viewer, "auditor");
    problem(
        batch(&app, &viewer, json!({"operations": [op]})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
