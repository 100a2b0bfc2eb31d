use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, instant, json_with, problem, spawn_app};
use crate::opportunities::{NOBODY, Sales, act, act_ok, create, id, path_of, probability, sales};

async fn history(app: &TestApp, opportunity: &Value) -> Vec<Value> {
    json_with(
        app.get(&format!("{}/history", path_of(opportunity)), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn read(app: &TestApp, opportunity: &Value) -> Value {
    json_with(app.get(&path_of(opportunity), &app.admin()).await, StatusCode::OK).await
}

/// Expects a 422 from `action` and returns the fields it names.
async fn refused(app: &TestApp, opportunity: &Value, action: &str, body: &Value) -> Vec<String> {
    error_fields(
        &problem(
            act(app, &app.admin(), opportunity, action, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await,
    )
}

/// An opportunity of `s` closed as lost with the fixture's reason.
async fn lost_one(app: &TestApp, s: &Sales, subject: &str) -> Value {
    let created = create(app, s, subject).await;
    act_ok(
        app,
        &created,
        "lose",
        &json!({"lost_reason_id": s.reason, "note": "zu teuer"}),
    )
    .await
}

#[tokio::test]
async fn every_stage_change_is_in_the_history_oldest_first_from_the_creation_on() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let manager_id = id(&app.create_user("manager@example.com", "manager").await);
    let manager = app.token_for(Role::Manager, &manager_id);
    let created = create(&app, &s, "Verlauf").await;
    let moved = json_with(
        act(
            &app,
            &manager,
            &created,
            "stage",
            &json!({"stage_id": s.proposal, "note": "Probefahrt vereinbart"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(instant(&moved["stage_entered_at"]) >= instant(&created["stage_entered_at"]));
    json_with(
        app.patch(&path_of(&moved), &app.admin(), &json!({"target_value": "80000"}))
            .await,
        StatusCode::OK,
    )
    .await;
    act_ok(&app, &moved, "win", &json!({"note": "unterschrieben"})).await;
    let entries = history(&app, &created).await;
    let steps: Vec<(Value, Value, Option<f64>, Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["from_stage_id"].clone(),
                e["to_stage_id"].clone(),
                e["probability"].as_f64(),
                e["target_value"].clone(),
                e["changed_by"].clone(),
                e["note"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (
                Value::Null,
                json!(s.first),
                Some(5.0),
                json!("100000.00"),
                json!("admin"),
                Value::Null
            ),
            (
                json!(s.first),
                json!(s.proposal),
                Some(75.0),
                json!("100000.00"),
                json!(manager_id),
                json!("Probefahrt vereinbart")
            ),
            (
                json!(s.proposal),
                json!(s.won),
                Some(100.0),
                json!("80000.00"),
                json!("admin"),
                json!("unterschrieben")
            ),
        ]
    );
    let times: Vec<_> = entries.iter().map(|e| instant(&e["changed_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
    assert!(
        entries
            .iter()
            .all(|e| e["id"].is_string() && e["lost_reason_id"].is_null())
    );
}

#[tokio::test]
async fn a_move_must_stay_in_the_funnel_and_respect_the_stage() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let other = sales(&app, "GW").await;
    let created = create(&app, &s, "Regeln").await;
    for (stage, case) in [
        (&other.proposal, "another funnel's stage"),
        (&s.contract, "a stage that requires lines"),
        (&NOBODY.to_owned(), "no such stage"),
    ] {
        assert_eq!(
            refused(&app, &created, "stage", &json!({"stage_id": stage})).await,
            vec!["stage_id"],
            "{case}"
        );
    }
    assert_eq!(
        refused(&app, &created, "stage", &json!({})).await,
        vec!["stage_id"],
        "stage_id is required"
    );
    assert_eq!(
        refused(
            &app,
            &created,
            "stage",
            &json!({"stage_id": s.proposal, "lost_reason_id": s.reason})
        )
        .await,
        vec!["lost_reason_id"],
        "only a lost stage takes a reason"
    );
    assert_eq!(
        refused(&app, &created, "stage", &json!({"stage_id": s.lost})).await,
        vec!["lost_reason_id"],
        "a lost stage needs a reason"
    );
    assert_eq!(
        refused(
            &app,
            &created,
            "stage",
            &json!({"stage_id": s.lost, "lost_reason_id": NOBODY})
        )
        .await,
        vec!["lost_reason_id"],
        "an unknown reason"
    );
    let unchanged = read(&app, &created).await;
    assert_eq!(
        (&unchanged["version"], &unchanged["stage_id"]),
        (&json!(1), &json!(s.first))
    );
    assert_eq!(history(&app, &created).await.len(), 1);
}

#[tokio::test]
async fn a_lost_stage_reached_through_stage_takes_the_reason_and_the_note() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Verloren").await;
    let lost = act_ok(
        &app,
        &created,
        "stage",
        &json!({"stage_id": s.lost, "lost_reason_id": s.reason, "note": "Mitbewerber"}),
    )
    .await;
    assert_eq!(
        (
            &lost["status"],
            &lost["stage_id"],
            &lost["lost_reason_id"],
            &lost["lost_note"]
        ),
        (&json!("lost"), &json!(s.lost), &json!(s.reason), &json!("Mitbewerber"))
    );
    assert!(lost["closed_at"].is_string());
    assert_eq!((probability(&lost), &lost["weighted_value"]), (0.0, &json!("0.00")));
    let last = history(&app, &created).await.pop().unwrap();
    assert_eq!(
        (&last["to_stage_id"], &last["lost_reason_id"], &last["note"]),
        (&json!(s.lost), &json!(s.reason), &json!("Mitbewerber"))
    );
}

#[tokio::test]
async fn lose_needs_a_known_reason_and_records_it_with_the_note() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Verlieren").await;
    assert_eq!(
        refused(&app, &created, "lose", &json!({})).await,
        vec!["lost_reason_id"]
    );
    assert_eq!(
        refused(&app, &created, "lose", &json!({"lost_reason_id": NOBODY})).await,
        vec!["lost_reason_id"]
    );
    let retired = json_with(
        app.post(
            "/api/v1/lost-reasons",
            &app.admin(),
            &json!({"label": "Alt", "active": false}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        refused(&app, &created, "lose", &json!({"lost_reason_id": retired["id"]})).await,
        vec!["lost_reason_id"],
        "an inactive reason"
    );
    let lost = act_ok(
        &app,
        &created,
        "lose",
        &json!({"lost_reason_id": s.reason, "note": "8 % teurer"}),
    )
    .await;
    assert_eq!(
        (
            &lost["status"],
            &lost["stage_id"],
            &lost["lost_reason_id"],
            &lost["lost_note"]
        ),
        (&json!("lost"), &json!(s.lost), &json!(s.reason), &json!("8 % teurer"))
    );
    assert!(lost["closed_at"].is_string());
    assert_eq!(lost["version"], 2);
}

#[tokio::test]
async fn win_works_without_a_body_and_with_a_note() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Ohne Körper").await;
    let response = app
        .request(Method::POST, &format!("{}/win", path_of(&created)), &app.admin())
        .send()
        .await
        .unwrap();
    assert!(header(&response, "etag").is_some_and(|e| e.starts_with("\"2-")));
    let won = json_with(response, StatusCode::OK).await;
    assert_eq!((&won["status"], &won["stage_id"]), (&json!("won"), &json!(s.won)));
    let other = create(&app, &s, "Mit Notiz").await;
    assert_eq!(
        refused(&app, &other, "win", &json!({"because": "yes"})).await,
        vec!["because"]
    );
    act_ok(&app, &other, "win", &json!({"note": "per Handschlag"})).await;
    assert_eq!(history(&app, &other).await[1]["note"], "per Handschlag");
}

#[tokio::test]
async fn a_closed_opportunity_is_read_only_until_reopened() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let won = create(&app, &s, "Gewonnen").await;
    let won = act_ok(&app, &won, "win", &json!({})).await;
    let lost = lost_one(&app, &s, "Verloren").await;
    for closed in [&won, &lost] {
        problem(
            app.patch(&path_of(closed), &app.admin(), &json!({"subject": "Neu"}))
                .await,
            StatusCode::CONFLICT,
        )
        .await;
        for (action, body) in [
            ("stage", json!({"stage_id": s.proposal})),
            ("win", json!({})),
            ("lose", json!({"lost_reason_id": s.reason})),
        ] {
            problem(
                act(&app, &app.admin(), closed, action, &body).await,
                StatusCode::CONFLICT,
            )
            .await;
        }
        problem(app.delete(&path_of(closed), &app.admin()).await, StatusCode::CONFLICT).await;
        assert_eq!(read(&app, closed).await["version"], closed["version"]);
    }

    let reopened = act_ok(
        &app,
        &lost,
        "reopen",
        &json!({"stage_id": s.proposal, "note": "neuer Anlauf"}),
    )
    .await;
    assert_eq!(
        (&reopened["status"], &reopened["stage_id"], &reopened["version"]),
        (&json!("open"), &json!(s.proposal), &json!(3))
    );
    for field in ["closed_at", "lost_reason_id", "lost_note"] {
        assert!(reopened[field].is_null(), "{field}: {reopened}");
    }
    assert_eq!(
        (probability(&reopened), &reopened["weighted_value"]),
        (75.0, &json!("75000.00"))
    );
    assert_eq!(reopened["health"], "green");
    let last = history(&app, &lost).await.pop().unwrap();
    assert_eq!(
        (&last["from_stage_id"], &last["to_stage_id"], &last["note"]),
        (&json!(s.lost), &json!(s.proposal), &json!("neuer Anlauf"))
    );
    json_with(
        app.patch(&path_of(&reopened), &app.admin(), &json!({"subject": "Wieder offen"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let again = act_ok(&app, &won, "reopen", &json!({"stage_id": s.first})).await;
    assert_eq!((&again["status"], probability(&again)), (&json!("open"), 5.0));
}

#[tokio::test]
async fn reopen_needs_a_closed_opportunity_and_an_open_stage_of_its_funnel() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let other = sales(&app, "GW").await;
    let open = create(&app, &s, "Offen").await;
    problem(
        act(&app, &app.admin(), &open, "reopen", &json!({"stage_id": s.proposal})).await,
        StatusCode::CONFLICT,
    )
    .await;
    let lost = lost_one(&app, &s, "Verloren").await;
    for (stage, case) in [
        (&s.won, "the won stage"),
        (&s.lost, "the lost stage"),
        (&s.contract, "a stage that requires lines"),
        (&other.first, "another funnel's stage"),
        (&NOBODY.to_owned(), "no such stage"),
    ] {
        assert_eq!(
            refused(&app, &lost, "reopen", &json!({"stage_id": stage})).await,
            vec!["stage_id"],
            "{case}"
        );
    }
    assert_eq!(read(&app, &lost).await["status"], "lost");
}

#[tokio::test]
async fn if_match_guards_every_change() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Vorbedingung").await;
    let path = path_of(&created);
    let stale = |method: Method, suffix: &str, body: Value| {
        app.request(method, &format!("{path}{suffix}"), &app.admin())
            .header("If-Match", "\"7\"")
            .json(&body)
            .send()
    };
    for (method, suffix, body) in [
        (Method::PATCH, "", json!({"subject": "x"})),
        (Method::POST, "/stage", json!({"stage_id": s.proposal})),
        (Method::POST, "/win", json!({})),
        (Method::POST, "/lose", json!({"lost_reason_id": s.reason})),
        (Method::DELETE, "", json!({})),
    ] {
        problem(
            stale(method.clone(), suffix, body).await.unwrap(),
            StatusCode::PRECONDITION_FAILED,
        )
        .await;
    }
    assert_eq!(read(&app, &created).await["version"], 1);
    let current = |method: Method, suffix: &str, tag: &str, body: Value| {
        app.request(method, &format!("{path}{suffix}"), &app.admin())
            .header("If-Match", tag.to_owned())
            .json(&body)
            .send()
    };
    let patched = current(Method::PATCH, "", "\"1\"", json!({"subject": "y"}))
        .await
        .unwrap();
    assert!(header(&patched, "etag").is_some_and(|e| e.starts_with("\"2-")));
    let moved = current(Method::POST, "/stage", "\"2\"", json!({"stage_id": s.proposal}))
        .await
        .unwrap();
    assert!(header(&moved, "etag").is_some_and(|e| e.starts_with("\"3-")));
    let won = current(Method::POST, "/win", "\"3\"", json!({})).await.unwrap();
    assert_eq!(json_with(won, StatusCode::OK).await["version"], 4);
    problem(
        current(Method::POST, "/reopen", "\"3\"", json!({"stage_id": s.first}))
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let reopened = current(Method::POST, "/reopen", "\"4\"", json!({"stage_id": s.first}))
        .await
        .unwrap();
    assert_eq!(json_with(reopened, StatusCode::OK).await["version"], 5);
}

#[tokio::test]
async fn moving_to_the_current_stage_changes_nothing() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Stillstand").await;
    let response = act(&app, &app.admin(), &created, "stage", &json!({"stage_id": s.first})).await;
    assert!(header(&response, "etag").is_some_and(|e| e.starts_with("\"1-")));
    let same = json_with(response, StatusCode::OK).await;
    assert_eq!(same, created);
    assert_eq!(history(&app, &created).await.len(), 1);
}

#[tokio::test]
async fn a_stage_change_through_patch_is_recorded_like_a_move() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Per Patch").await;
    let patched = json_with(
        app.patch(&path_of(&created), &app.admin(), &json!({"stage_id": s.proposal}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (probability(&patched), &patched["weighted_value"]),
        (75.0, &json!("75000.00"))
    );
    let entries = history(&app, &created).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (&entries[1]["from_stage_id"], &entries[1]["to_stage_id"]),
        (&json!(s.first), &json!(s.proposal))
    );
}

#[tokio::test]
async fn only_integration_and_admin_hand_a_won_opportunity_to_the_erp_once() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let integration = app.token_for(Role::Integration, "erp");
    let created = create(&app, &s, "Auftrag").await;
    let body = json!({"erp_reference": "SO-2026-004711"});
    for role in [Role::Rep, Role::Manager, Role::Viewer] {
        let token = app.token_for(role, "caller");
        problem(
            act(&app, &token, &created, "erp-handoff", &body).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    problem(
        act(&app, &integration, &created, "erp-handoff", &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        error_fields(
            &problem(
                act(
                    &app,
                    &integration,
                    &created,
                    "erp-handoff",
                    &json!({"erp_reference": " "})
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        ),
        vec!["erp_reference"]
    );
    let won = act_ok(&app, &created, "win", &json!({})).await;
    let handed = json_with(
        act(&app, &integration, &won, "erp-handoff", &body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(handed["erp_reference"], "SO-2026-004711");
    assert!(handed["erp_handed_off_at"].is_string());
    assert_eq!(handed["version"], 3);
    let again = act(&app, &integration, &won, "erp-handoff", &body).await;
    assert!(header(&again, "etag").is_some_and(|e| e.starts_with("\"3-")));
    assert_eq!(
        json_with(again, StatusCode::OK).await,
        handed,
        "the same reference is a no-op"
    );
    problem(
        act(
            &app,
            &integration,
            &won,
            "erp-handoff",
            &json!({"erp_reference": "SO-2026-004712"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        act(&app, &app.admin(), &won, "reopen", &json!({"stage_id": s.first})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(read(&app, &won).await, handed);

    let by_admin = create(&app, &s, "Vom Admin").await;
    act_ok(&app, &by_admin, "win", &json!({})).await;
    let handed = act_ok(&app, &by_admin, "erp-handoff", &json!({"erp_reference": "SO-1"})).await;
    assert_eq!(handed["erp_reference"], "SO-1");
    let lost = lost_one(&app, &s, "Verloren").await;
    problem(
        act(
            &app,
            &integration,
            &lost,
            "erp-handoff",
            &json!({"erp_reference": "SO-2"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        act(
            &app,
            &integration,
            &json!({"id": NOBODY}),
            "erp-handoff",
            &json!({"erp_reference": "SO-3"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn concurrent_moves_are_recorded_in_the_order_they_were_made() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    for round in 0..3 {
        let created = create(&app, &s, &format!("Hin und her {round}")).await;
        // 30 moves without If-Match: the row lock serialises them, in an order of its choosing.
        let admin = app.admin();
        let bodies: Vec<Value> = (0..30)
            .map(|i| json!({"stage_id": if i % 2 == 0 { &s.proposal } else { &s.first }}))
            .collect();
        let moves = bodies.iter().map(|body| act(&app, &admin, &created, "stage", body));
        for response in futures_util::future::join_all(moves).await {
            assert_eq!(response.status(), StatusCode::OK);
        }
        let entries = history(&app, &created).await;
        assert!(entries.len() >= 2, "round {round}: some moves changed the stage");
        for pair in entries.windows(2) {
            assert_eq!(
                pair[1]["from_stage_id"], pair[0]["to_stage_id"],
                "round {round}: the chain breaks at {}",
                pair[1]["id"]
            );
            assert!(instant(&pair[0]["changed_at"]) <= instant(&pair[1]["changed_at"]));
        }
        let current = read(&app, &created).await;
        let last = entries.last().unwrap();
        assert_eq!(last["to_stage_id"], current["stage_id"]);
        assert_eq!(
            instant(&last["changed_at"]),
            instant(&current["stage_entered_at"]),
            "the opportunity entered its stage when the history says"
        );
        // The stage visits derived from the history agree: the current stage is still open,
        // and the days of the ended visits add up to the time between first and last change.
        let mut conn = app.db.connect_async().await;
        let id = uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
        let (open, days): (i64, Option<rust_decimal::Decimal>) = diesel::sql_query(
            "SELECT count(*) FILTER (WHERE days IS NULL) AS open, sum(days) AS days FROM stage_visits WHERE opportunity_id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result::<VisitTotals>(&mut conn)
        .await
        .map(|t| (t.open, t.days))
        .unwrap();
        let span = instant(&last["changed_at"]) - instant(&entries[0]["changed_at"]);
        let span_days = rust_decimal::Decimal::from(span.num_microseconds().unwrap())
            / rust_decimal::Decimal::from(86_400_000_000i64);
        // Two stages visited back and forth: each has ended visits unless it is the current one,
        // which (visited before) also has some: all time between first and last change is counted.
        assert!(open <= 1, "round {round}: {open} open visits");
        let gap = (days.unwrap_or_default() - span_days).abs();
        assert!(
            gap < rust_decimal::Decimal::new(1, 9),
            "round {round}: visits {days:?} days, history {span_days}"
        );
    }
}

#[derive(diesel::QueryableByName)]
struct VisitTotals {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    open: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    days: Option<rust_decimal::Decimal>,
}

#[tokio::test]
async fn the_history_comes_a_page_at_a_time() {
    let app = spawn_app().await;
    let s = sales(&app, "PG").await;
    let created = create(&app, &s, "Seitenweise").await;
    for stage in [&s.proposal, &s.first, &s.proposal, &s.first] {
        let moved = act(&app, &app.admin(), &created, "stage", &json!({"stage_id": stage})).await;
        assert_eq!(moved.status(), StatusCode::OK);
    }
    let mut seen = Vec::new();
    let mut path = format!("{}/history?limit=2", path_of(&created));
    loop {
        let page = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|entry| entry["to_stage_id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{}/history?limit=2&cursor={cursor}", path_of(&created)),
            None => break,
        }
    }
    let expected: Vec<Value> = [&s.first, &s.proposal, &s.first, &s.proposal, &s.first]
        .iter()
        .map(|stage| json!(stage))
        .collect();
    assert_eq!(seen, expected, "five entries, oldest first, over three pages");
}
