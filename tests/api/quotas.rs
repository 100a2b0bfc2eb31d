//! `/quotas`: targets per rep or manager, or per funnel team, per month or quarter.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};

fn path_of(quota: &Value) -> String {
    format!("/api/v1/quotas/{}", quota["id"].as_str().unwrap())
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn create(app: &TestApp, body: Value) -> Value {
    json_with(
        app.post("/api/v1/quotas", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn an_article(app: &TestApp) -> String {
    let article = json_with(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": "Q-1", "name": "Quota article", "unit_price": "100.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    id(&article)
}

async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let page = json_with(app.get(&format!("/api/v1/quotas?{query}"), token).await, StatusCode::OK).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_quota_is_created_for_a_rep_and_read_back_with_its_days() {
    let app = spawn_app().await;
    let rep = id(&app.create_user("anna@example.com", "rep").await);
    let response = app
        .post(
            "/api/v1/quotas",
            &app.token_for(Role::Manager, "m"),
            &json!({"owner_id": rep, "period": "2027-Q1", "measure": "won_value", "target": 250000.5}),
        )
        .await;
    let location = header(&response, "location");
    assert_eq!(header(&response, "etag").as_deref(), Some("\"1\""));
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(
        (
            &created["owner_id"],
            &created["funnel_id"],
            &created["period"],
            &created["starts_on"],
            &created["ends_on"],
            &created["measure"],
            &created["article_id"],
            &created["target"],
            &created["version"]
        ),
        (
            &json!(rep),
            &Value::Null,
            &json!("2027-Q1"),
            &json!("2027-01-01"),
            &json!("2027-03-31"),
            &json!("won_value"),
            &Value::Null,
            &json!("250000.5"),
            &json!(1)
        )
    );
    let read = json_with(
        app.get(&path_of(&created), &app.token_for(Role::Viewer, "v")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read, created);
    // A funnel's team, and a quantity of one article in a month.
    let funnel = id(&app.create_simple_funnel("Team", "QT").await);
    let article = an_article(&app).await;
    let team = create(
        &app,
        json!({"funnel_id": funnel, "period": "2027-02", "measure": "won_count", "target": "12"}),
    )
    .await;
    assert_eq!(
        (&team["starts_on"], &team["ends_on"]),
        (&json!("2027-02-01"), &json!("2027-02-28"))
    );
    let quantity = create(
        &app,
        json!({"owner_id": rep, "period": "2027-02", "measure": "won_quantity", "article_id": article, "target": "2.5"}),
    )
    .await;
    assert_eq!(
        (&quantity["article_id"], &quantity["target"]),
        (&json!(article), &json!("2.5"))
    );
}

#[tokio::test]
async fn invalid_quotas_are_422_naming_the_field() {
    let app = spawn_app().await;
    let rep = id(&app.create_user("rep@example.com", "rep").await);
    let viewer = id(&app.create_user("viewer@example.com", "viewer").await);
    let funnel = id(&app.create_simple_funnel("Team", "QI").await);
    let article = an_article(&app).await;
    let unknown = "01930000-0000-7000-8000-00000000dead";
    let base = |extra: Value| {
        let mut body = json!({"owner_id": rep, "period": "2027-Q1", "measure": "won_value", "target": "1000"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    for (body, fields) in [
        (base(json!({"owner_id": null})), vec!["owner_id"]),
        (base(json!({"funnel_id": funnel})), vec!["funnel_id", "owner_id"]),
        (base(json!({"period": "2027-13"})), vec!["period"]),
        (base(json!({"period": "2027-Q5"})), vec!["period"]),
        (base(json!({"period": "Q1-2027"})), vec!["period"]),
        (base(json!({"measure": "revenue"})), vec!["measure"]),
        (base(json!({"measure": "won_quantity"})), vec!["article_id"]),
        (base(json!({"article_id": article})), vec!["article_id"]),
        (base(json!({"target": -1})), vec!["target"]),
        (base(json!({"target": "12.345"})), vec!["target"]),
        (base(json!({"measure": "won_count", "target": "1.5"})), vec!["target"]),
        (base(json!({"target": null})), vec!["target"]),
        (base(json!({"owner_id": viewer})), vec!["owner_id"]),
        (base(json!({"owner_id": unknown})), vec!["owner_id"]),
        (base(json!({"owner_id": null, "funnel_id": unknown})), vec!["funnel_id"]),
        (
            base(json!({"measure": "won_quantity", "article_id": unknown})),
            vec!["article_id"],
        ),
        (base(json!({"team": "x"})), vec!["team"]),
        // Every problem at once: a bad period beside an owner who may not have a quota.
        (
            base(json!({"owner_id": viewer, "period": "2027"})),
            vec!["owner_id", "period"],
        ),
    ] {
        let found = problem(
            app.post("/api/v1/quotas", &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), fields, "{body}");
    }
    assert!(listed(&app, &app.admin(), "").await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn the_same_owner_period_measure_and_article_twice_is_a_409() {
    let app = spawn_app().await;
    let rep = id(&app.create_user("rep@example.com", "rep").await);
    let body = json!({"owner_id": rep, "period": "2027-Q1", "measure": "won_value", "target": "1000"});
    create(&app, body.clone()).await;
    problem(
        app.post("/api/v1/quotas", &app.admin(), &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    // Another measure or period is another quota; a PATCH onto a taken one is a 409 too.
    let other = create(
        &app,
        json!({"owner_id": rep, "period": "2027-Q1", "measure": "won_count", "target": 3}),
    )
    .await;
    let monthly = create(
        &app,
        json!({"owner_id": rep, "period": "2027-01", "measure": "won_value", "target": 300}),
    )
    .await;
    problem(
        app.patch(&path_of(&monthly), &app.admin(), &json!({"period": "2027-Q1"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(other["measure"], "won_count");
}

#[tokio::test]
async fn patch_merges_checks_the_result_and_honours_if_match() {
    let app = spawn_app().await;
    let rep = id(&app.create_user("rep@example.com", "rep").await);
    let funnel = id(&app.create_simple_funnel("Team", "QP").await);
    let quota = create(
        &app,
        json!({"owner_id": rep, "period": "2027-Q1", "measure": "won_value", "target": "1000"}),
    )
    .await;
    let path = path_of(&quota);
    let stale = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"4\"")
        .json(&json!({"target": 5}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let response = app
        .request(Method::PATCH, &path, &app.token_for(Role::Manager, "m"))
        .header("If-Match", "\"1\"")
        .json(&json!({"target": "1500.50"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!((&updated["target"], &updated["version"]), (&json!("1500.5"), &json!(2)));
    // Moving it to the funnel alone leaves it with both: the owner must be cleared too.
    let both = problem(
        app.patch(&path, &app.admin(), &json!({"funnel_id": funnel})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&both), ["funnel_id", "owner_id"]);
    let moved = json_with(
        app.patch(&path, &app.admin(), &json!({"funnel_id": funnel, "owner_id": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&moved["owner_id"], &moved["funnel_id"]),
        (&Value::Null, &json!(funnel))
    );
    for (body, field) in [
        (json!({"measure": "won_quantity"}), "article_id"),
        (json!({"period": "2027-Q0"}), "period"),
        (json!({"measure": null}), "measure"),
        (json!({"target": "x"}), "target"),
    ] {
        let found = problem(
            app.patch(&path, &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), [field], "{body}");
    }
    // A patch that changes nothing keeps the version.
    let same = json_with(
        app.patch(&path, &app.admin(), &json!({"target": "1500.5"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(same["version"], 3);
    problem(
        app.patch(
            "/api/v1/quotas/01930000-0000-7000-8000-00000000dead",
            &app.admin(),
            &json!({"target": 1}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn admins_and_managers_write_quotas_and_a_rep_reads_only_their_own() {
    let app = spawn_app().await;
    let anna = id(&app.create_user("anna@example.com", "rep").await);
    let jonas = id(&app.create_user("jonas@example.com", "rep").await);
    let funnel = id(&app.create_simple_funnel("Team", "QR").await);
    let mine = create(
        &app,
        json!({"owner_id": anna, "period": "2027-Q1", "measure": "won_value", "target": 1}),
    )
    .await;
    let theirs = create(
        &app,
        json!({"owner_id": jonas, "period": "2027-Q1", "measure": "won_value", "target": 2}),
    )
    .await;
    let team = create(
        &app,
        json!({"funnel_id": funnel, "period": "2027-Q1", "measure": "won_count", "target": 3}),
    )
    .await;
    let body = json!({"owner_id": anna, "period": "2027-Q2", "measure": "won_value", "target": 1});
    for role in [Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, if role == Role::Rep { &anna } else { "someone" });
        problem(app.post("/api/v1/quotas", &token, &body).await, StatusCode::FORBIDDEN).await;
        problem(
            app.patch(&path_of(&mine), &token, &json!({"target": 5})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path_of(&mine), &token).await, StatusCode::FORBIDDEN).await;
    }
    let rep = app.token_for(Role::Rep, &anna);
    let seen: Vec<String> = listed(&app, &rep, "").await.iter().map(id).collect();
    assert_eq!(seen, [id(&mine)]);
    assert!(listed(&app, &rep, &format!("owner_id={jonas}")).await.is_empty());
    json_with(app.get(&path_of(&mine), &rep).await, StatusCode::OK).await;
    problem(app.get(&path_of(&theirs), &rep).await, StatusCode::NOT_FOUND).await;
    problem(app.get(&path_of(&team), &rep).await, StatusCode::NOT_FOUND).await;
    for role in [Role::Viewer, Role::Manager, Role::Integration] {
        assert_eq!(listed(&app, &app.token_for(role, "x"), "").await.len(), 3, "{role:?}");
    }
    let by_funnel: Vec<String> = listed(&app, &app.admin(), &format!("funnel_id={funnel}"))
        .await
        .iter()
        .map(id)
        .collect();
    assert_eq!(by_funnel, [id(&team)]);
    let by_owner: Vec<String> = listed(&app, &app.admin(), &format!("owner_id={jonas}"))
        .await
        .iter()
        .map(id)
        .collect();
    assert_eq!(by_owner, [id(&theirs)]);
    assert!(listed(&app, &app.admin(), "period=2027-Q2").await.is_empty());
    assert_eq!(listed(&app, &app.admin(), "period=2027-Q1&limit=1").await.len(), 1);
    let manager = app.token_for(Role::Manager, "m");
    json_with(app.post("/api/v1/quotas", &manager, &body).await, StatusCode::CREATED).await;
    let deleted = app.delete(&path_of(&theirs), &manager).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path_of(&theirs), &manager).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path_of(&theirs), &manager).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_list_pages_through_every_quota_in_period_order() {
    let app = spawn_app().await;
    let rep = id(&app.create_user("rep@example.com", "rep").await);
    for period in ["2027-03", "2027-Q1", "2026-12", "2027-01", "2027-02"] {
        create(
            &app,
            json!({"owner_id": rep, "period": period, "measure": "won_count", "target": 1}),
        )
        .await;
    }
    let mut periods = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = json_with(
            app.get(&format!("/api/v1/quotas?{query}"), &app.admin()).await,
            StatusCode::OK,
        )
        .await;
        periods.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["period"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(periods.len(), 5);
    assert_eq!(periods[0], "2026-12");
    assert_eq!(
        periods.iter().collect::<std::collections::BTreeSet<_>>().len(),
        5,
        "each once: {periods:?}"
    );
}

#[tokio::test]
async fn quota_writes_are_in_the_feed_and_a_create_with_a_key_happens_once() {
    let app = spawn_app().await;
    let rep = id(&app.create_user("rep@example.com", "rep").await);
    let before = app.feed(1).await.len();
    let body = json!({"owner_id": rep, "period": "2027-Q1", "measure": "won_value", "target": "1000"});
    let send = || {
        app.request(Method::POST, "/api/v1/quotas", &app.admin())
            .header("Idempotency-Key", "quota-1")
            .json(&body)
            .send()
    };
    let first = json_with(send().await.unwrap(), StatusCode::CREATED).await;
    let replay = send().await.unwrap();
    assert_eq!(header(&replay, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(json_with(replay, StatusCode::CREATED).await, first);
    let other_body = app
        .request(Method::POST, "/api/v1/quotas", &app.admin())
        .header("Idempotency-Key", "quota-1")
        .json(&json!({"owner_id": rep, "period": "2027-Q2", "measure": "won_value", "target": "1000"}))
        .send()
        .await
        .unwrap();
    problem(other_body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(listed(&app, &app.admin(), "").await.len(), 1, "created once");
    json_with(
        app.patch(&path_of(&first), &app.admin(), &json!({"target": 900})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.delete(&path_of(&first), &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
    let events: Vec<Value> = app.feed(before + 3).await.split_off(before);
    let q = id(&first);
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["subject_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("quota.created", q.as_str()),
            ("quota.updated", q.as_str()),
            ("quota.deleted", q.as_str())
        ]
    );
    assert_eq!(events[0]["data"]["quota"], first);
    assert_eq!(events[1]["data"]["previous"], json!({"target": "1000"}));
    assert_eq!(events[2]["data"]["quota"]["target"], "900");
}

#[tokio::test]
async fn the_demo_has_quotas_and_the_spec_examples_work_on_it() {
    let app = spawn_app().await;
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || salesfunnel::seed::demo(&url))
        .await
        .unwrap()
        .unwrap();
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    let example = spec["paths"]["/api/v1/quotas/{id}"]["get"]["parameters"][0]["example"]
        .as_str()
        .unwrap()
        .to_owned();
    let demo = json_with(
        app.get(&format!("/api/v1/quotas/{example}"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let view = &spec["components"]["schemas"]["Quota"]["example"];
    for field in ["id", "owner_id", "period", "measure", "target"] {
        assert_eq!(demo[field], view[field], "{field}");
    }
    // Anna Schmidt, a demo rep, sees her own quotas.
    let anna = demo["owner_id"].as_str().unwrap();
    let hers = listed(&app, &app.token_for(Role::Rep, anna), "").await;
    assert!(
        hers.len() >= 2 && hers.iter().all(|q| q["owner_id"] == anna),
        "{hers:?}"
    );
    assert_eq!(listed(&app, &app.admin(), "period=2027-Q1").await.len(), 4);
    let body = &spec["components"]["schemas"]["NewQuotaRequest"]["example"];
    json_with(
        app.post("/api/v1/quotas", &app.admin(), body).await,
        StatusCode::CREATED,
    )
    .await;
    let patch = &spec["components"]["schemas"]["QuotaPatch"]["example"];
    json_with(
        app.patch(&format!("/api/v1/quotas/{example}"), &app.admin(), patch)
            .await,
        StatusCode::OK,
    )
    .await;
}
