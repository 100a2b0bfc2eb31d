//! Accepting a quote: it becomes the primary one (its lines are the opportunity's), its sent
//! siblings are superseded, and with `settings.win_on_quote_accept` the opportunity is won.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::opportunities::path_of;
use crate::quotes::*;

/// The opportunity's quote list, by id: `(status, is_primary)`.
async fn statuses(app: &TestApp, quotes: &[&Value]) -> Vec<(String, bool)> {
    let mut seen = Vec::new();
    for quote in quotes {
        let now = get_ok(app, &quote_path(quote)).await;
        seen.push((
            now["status"].as_str().unwrap().to_owned(),
            now["is_primary"].as_bool().unwrap(),
        ));
    }
    seen
}

#[tokio::test]
async fn accepting_an_alternative_makes_it_primary_and_supersedes_its_sent_siblings() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "ACC").await;
    let first = new_quote(&app, &opportunity).await;
    // The alternative offers one car only; the draft stays untouched by the acceptance.
    let alternative = new_quote(&app, &opportunity).await;
    let line = &alternative["lines"][0];
    json_with(
        app.patch(&line_path(&alternative, line), &app.admin(), &json!({"quantity": 1}))
            .await,
        StatusCode::OK,
    )
    .await;
    let draft = new_quote(&app, &opportunity).await;
    act_on_ok(&app, &first, "send").await;
    act_on_ok(&app, &alternative, "send").await;
    assert_eq!(first["is_primary"], true);

    let accepted = act_on_ok(&app, &alternative, "accept").await;
    assert_eq!(
        (accepted["status"].clone(), accepted["is_primary"].clone()),
        (json!("accepted"), json!(true))
    );
    assert_eq!(
        statuses(&app, &[&first, &alternative, &draft]).await,
        [
            ("superseded".to_owned(), false),
            ("accepted".to_owned(), true),
            ("draft".to_owned(), false)
        ]
    );
    let superseded = get_ok(&app, &quote_path(&first)).await;
    assert!(superseded["decided_at"].is_string());
    // The opportunity goes by the accepted quote: one car.
    let now = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(now["primary_quote_id"], alternative["id"]);
    assert_eq!(now["target_value"], accepted["net_total"]);
    let lines = get_ok(&app, &lines_of(&opportunity)).await;
    assert_eq!(lines["items"][0]["quantity"], accepted["lines"][0]["quantity"]);
    // A superseded quote is final; the list filters by the new status.
    for action in ["send", "accept", "reject"] {
        problem(act_on(&app, &first, action).await, StatusCode::CONFLICT).await;
    }
    assert_eq!(
        listed(&app, &app.admin(), "status=superseded").await,
        [first["id"].as_str().unwrap()]
    );

    // The feed tells an ERP all of it.
    let feed = app.feed(0).await;
    let types = |kind: &str| {
        feed.iter()
            .filter(|e| e["type"] == kind)
            .map(|e| e["subject_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(types("quote.accepted"), [alternative["id"].as_str().unwrap()]);
    assert_eq!(types("quote.superseded"), [first["id"].as_str().unwrap()]);
    assert!(
        types("quote.updated").contains(&first["id"].as_str().unwrap().to_owned()),
        "the former primary"
    );
}

#[tokio::test]
async fn with_win_on_quote_accept_the_acceptance_wins_the_opportunity() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "WQA").await;
    let quote = new_quote(&app, &opportunity).await;
    act_on_ok(&app, &quote, "send").await;
    let settings = json_with(
        app.patch("/api/v1/settings", &app.admin(), &json!({"win_on_quote_accept": true}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settings["win_on_quote_accept"], true);

    act_on_ok(&app, &quote, "accept").await;
    let won = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(won["status"], "won");
    assert_eq!(won["primary_quote_id"], quote["id"]);
    let feed: Value = app
        .get("/api/v1/events?type=opportunity.won", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    let order = &feed["items"][0]["data"];
    assert_eq!(order["primary_quote"]["id"], quote["id"]);
    assert_eq!(order["primary_quote"]["status"], "accepted");
}

#[tokio::test]
async fn a_closed_opportunity_accepts_only_its_primary_quote() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "CLQ").await;
    let primary = new_quote(&app, &opportunity).await;
    let alternative = new_quote(&app, &opportunity).await;
    act_on_ok(&app, &primary, "send").await;
    act_on_ok(&app, &alternative, "send").await;
    json_with(
        app.post(&format!("{}/win", path_of(&opportunity)), &app.admin(), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;

    problem(act_on(&app, &alternative, "accept").await, StatusCode::CONFLICT).await;
    assert_eq!(get_ok(&app, &quote_path(&alternative)).await["status"], "sent");
    act_on_ok(&app, &primary, "accept").await;
    assert_eq!(get_ok(&app, &quote_path(&alternative)).await["status"], "superseded");
}
