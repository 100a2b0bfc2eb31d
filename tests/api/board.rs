//! The board (`GET /funnels/{id}/board`): stages in order with counts and sums per currency,
//! columns continued through `GET /opportunities?view=card`, filters, visibility, statements.

use std::collections::HashSet;

use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{LIST, Sales, act_ok, backdate, create_as, id, new_body, sales};
use crate::write_path::statements;

async fn board(app: &TestApp, token: &str, s: &Sales, query: &str) -> Value {
    json_with(
        app.get(&format!("/api/v1/funnels/{}/board?{query}", s.funnel), token)
            .await,
        StatusCode::OK,
    )
    .await
}

/// Creates an opportunity in the first stage of `s` worth `value` in `currency`.
async fn worth(app: &TestApp, s: &Sales, subject: &str, value: &str, currency: &str) -> Value {
    let mut body = new_body(s, subject);
    body["target_value"] = json!(value);
    body["currency"] = json!(currency);
    create_as(app, &app.admin(), &body).await
}

fn column<'a>(board: &'a Value, stage: &str) -> &'a Value {
    board["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == stage)
        .unwrap()
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(id).collect()
}

#[tokio::test]
async fn the_board_shows_every_stage_in_order_with_its_count_and_sums_per_currency() {
    let app = spawn_app().await;
    let s = sales(&app, "BRD").await;
    let a = worth(&app, &s, "A", "100000.00", "EUR").await;
    let b = worth(&app, &s, "B", "50000.50", "EUR").await;
    let c = worth(&app, &s, "C", "1234.56", "USD").await;
    let d = worth(&app, &s, "D", "20000.00", "EUR").await;
    act_ok(&app, &d, "stage", &json!({"stage_id": s.proposal})).await;
    let won = worth(&app, &s, "Won", "999.99", "EUR").await;
    act_ok(&app, &won, "win", &json!({})).await;
    let lost = worth(&app, &s, "Lost", "10.00", "EUR").await;
    act_ok(&app, &lost, "lose", &json!({"lost_reason_id": s.reason})).await;

    let b0 = board(&app, &app.admin(), &s, "").await;
    assert_eq!(b0["funnel_id"], s.funnel);
    assert_eq!(b0["name"], "BRD Trichter");
    let stages: Vec<&str> = b0["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["BRD_FIRST", "BRD_PROPOSAL", "BRD_CONTRACT", "BRD_WON", "BRD_LOST"]
    );
    let counts: Vec<i64> = b0["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [3, 1, 0, 1, 1]);

    let first = column(&b0, &s.first);
    assert_eq!(first["probability"], 5.0);
    assert_eq!(first["outcome"], "open");
    // 5 %: 5000.00 + 2500.025 → 2500.03 (each rounded once), and 61.728 → 61.73.
    assert_eq!(
        first["amounts"],
        json!([
            {"currency": "EUR", "target_value": "150000.50", "weighted_value": "7500.03"},
            {"currency": "USD", "target_value": "1234.56", "weighted_value": "61.73"}
        ])
    );
    assert_eq!(
        ids(&first["items"]),
        [id(&c), id(&b), id(&a)],
        "most recently changed first"
    );
    assert_eq!(first["next_cursor"], Value::Null);
    let owner = json_with(
        app.get(&format!("/api/v1/users/{}", s.owner), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let card = &first["items"][2];
    assert_eq!(card["number"], a["number"]);
    assert_eq!(card["subject"], "A");
    assert_eq!(card["business_partner_id"], s.partner);
    assert_eq!(card["business_partner_name"], "BRD GmbH");
    assert_eq!(card["owner_id"], s.owner);
    assert_eq!(card["owner_name"], owner["display_name"]);
    assert_eq!(card["target_value"], "100000.00");
    assert_eq!(card["weighted_value"], "5000.00");
    assert_eq!(card["currency"], "EUR");
    assert_eq!(card["probability"], 5.0);
    assert_eq!(card["health"], "green");
    assert_eq!(card["next_activity"], Value::Null);

    let proposal = column(&b0, &s.proposal);
    assert_eq!(
        proposal["amounts"],
        json!([{"currency": "EUR", "target_value": "20000.00", "weighted_value": "15000.00"}])
    );
    assert_eq!(column(&b0, &s.contract)["amounts"], json!([]));
    assert_eq!(column(&b0, &s.contract)["items"], json!([]));
    let won_column = column(&b0, &s.won);
    assert_eq!(won_column["outcome"], "won");
    assert_eq!(
        won_column["items"][0]["health"],
        Value::Null,
        "closed: no traffic light"
    );
    assert_eq!(
        won_column["amounts"],
        json!([{"currency": "EUR", "target_value": "999.99", "weighted_value": "999.99"}])
    );
    assert_eq!(
        column(&b0, &s.lost)["amounts"],
        json!([{"currency": "EUR", "target_value": "10.00", "weighted_value": "0.00"}])
    );
}

#[tokio::test]
async fn a_column_continues_through_the_card_list_to_its_end_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let s = sales(&app, "COL").await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(id(&worth(&app, &s, &format!("Karte {n}"), "100.00", "EUR").await));
    }
    let moved = worth(&app, &s, "Angebot", "100.00", "EUR").await;
    act_ok(&app, &moved, "stage", &json!({"stage_id": s.proposal})).await;

    let b0 = board(&app, &app.admin(), &s, "limit_per_stage=3").await;
    let first = column(&b0, &s.first);
    assert_eq!(first["count"], 7);
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        column(&b0, &s.proposal)["next_cursor"],
        Value::Null,
        "one card, no more"
    );

    // The first page of the card list is the board's column, card for card.
    let list = format!("{LIST}?funnel_id={}&stage_id={}&view=card", s.funnel, s.first);
    let page = json_with(app.get(&format!("{list}&limit=3"), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(page["items"], first["items"]);

    let mut seen = ids(&first["items"]);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = json_with(
            app.get(&format!("{list}&limit=2&cursor={cursor}"), &app.admin()).await,
            StatusCode::OK,
        )
        .await;
        seen.extend(ids(&page["items"]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "every card once, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);

    // A column exactly as long as the page has no cursor.
    let exact = board(&app, &app.admin(), &s, "limit_per_stage=7").await;
    assert_eq!(column(&exact, &s.first)["next_cursor"], Value::Null);
    assert_eq!(column(&exact, &s.first)["items"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn owner_class_and_health_filter_the_counts_sums_and_cards_as_they_filter_the_list() {
    let app = spawn_app().await;
    let s = sales(&app, "FLT").await;
    let other = id(&app.create_user("flt.other@example.com", "rep").await);
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "FLT2", "default_funnel_id": s.funnel}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let green = worth(&app, &s, "Grün", "100.00", "EUR").await;
    let yellow = worth(&app, &s, "Gelb", "200.00", "EUR").await;
    backdate(&app, &yellow, 10).await;
    let red = worth(&app, &s, "Rot", "400.00", "EUR").await;
    backdate(&app, &red, 30).await;
    let mut body = new_body(&s, "Anderer");
    body["owner_id"] = json!(other);
    body["class_id"] = json!("FLT2");
    body["target_value"] = json!("800.00");
    let theirs = create_as(&app, &app.admin(), &body).await;
    let won = worth(&app, &s, "Gewonnen", "1600.00", "EUR").await;
    act_ok(&app, &won, "win", &json!({})).await;

    let cases = [
        (format!("owner_id={other}"), vec![id(&theirs)], "800.00"),
        ("class_id=FLT2".to_owned(), vec![id(&theirs)], "800.00"),
        ("health=green".to_owned(), vec![id(&theirs), id(&green)], "900.00"),
        ("health=yellow".to_owned(), vec![id(&yellow)], "200.00"),
        ("health=red".to_owned(), vec![id(&red)], "400.00"),
        (format!("owner_id={}&health=red", s.owner), vec![id(&red)], "400.00"),
        (format!("owner_id={other}&health=red"), vec![], ""),
    ];
    for (query, expected, sum) in cases {
        let b0 = board(&app, &app.admin(), &s, &query).await;
        let first = column(&b0, &s.first);
        assert_eq!(ids(&first["items"]), expected, "{query}");
        assert_eq!(first["count"], expected.len(), "{query}");
        let amounts = if sum.is_empty() {
            json!([])
        } else {
            json!([{"currency": "EUR", "target_value": sum, "weighted_value": first["amounts"][0]["weighted_value"]}])
        };
        assert_eq!(first["amounts"], amounts, "{query}");
        let list = json_with(
            app.get(
                &format!("{LIST}?funnel_id={}&stage_id={}&view=card&{query}", s.funnel, s.first),
                &app.admin(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], first["items"], "{query}: the list filters alike");
        let won_count = &column(&b0, &s.won)["count"];
        let expected_won = if query.contains("health") || query.contains("FLT2") || query.contains(&other) {
            0
        } else {
            1
        };
        assert_eq!(won_count, expected_won, "{query}: closed stages have no traffic light");
    }
}

#[tokio::test]
async fn a_rep_sees_on_the_board_only_what_they_see_in_the_list_and_a_viewer_reads_all() {
    let app = spawn_app().await;
    let s = sales(&app, "VIS").await;
    let mine = worth(&app, &s, "Meins", "100.00", "EUR").await;
    let other = id(&app.create_user("vis.other@example.com", "rep").await);
    let mut body = new_body(&s, "Fremd");
    body["owner_id"] = json!(other);
    body["target_value"] = json!("1000.00");
    let theirs = create_as(&app, &app.admin(), &body).await;

    let rep = app.token_for(Role::Rep, &s.owner);
    let seen = board(&app, &rep, &s, "").await;
    let first = column(&seen, &s.first);
    assert_eq!(ids(&first["items"]), [id(&mine)]);
    assert_eq!(first["count"], 1);
    assert_eq!(first["amounts"][0]["target_value"], "100.00");
    let list = json_with(
        app.get(&format!("{LIST}?stage_id={}&view=card", s.first), &rep).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"], first["items"]);

    // In the funnel's team, the rep sees the funnel's opportunities.
    let funnel = json_with(
        app.get(&format!("/api/v1/funnels/{}", s.funnel), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let patched = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/funnels/{}", s.funnel),
            &app.admin(),
        )
        .header("Content-Type", "application/merge-patch+json")
        .header("If-Match", format!("\"{}\"", funnel["version"]))
        .json(&json!({"team_ids": [s.owner]}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let in_team = board(&app, &rep, &s, "").await;
    assert_eq!(ids(&column(&in_team, &s.first)["items"]), [id(&theirs), id(&mine)]);

    let viewer = app.token_for(Role::Viewer, "viewer-1");
    let all = board(&app, &viewer, &s, "").await;
    assert_eq!(column(&all, &s.first)["count"], 2);
    assert_eq!(column(&all, &s.first)["amounts"][0]["target_value"], "1100.00");
    let anonymous = app.anonymous(reqwest::Method::GET, &format!("/api/v1/funnels/{}/board", s.funnel));
    assert_eq!(anonymous.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_funnel_is_a_404_and_a_limit_outside_1_to_100_a_422() {
    let app = spawn_app().await;
    let s = sales(&app, "ERR").await;
    problem(
        app.get(
            "/api/v1/funnels/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f99/board",
            &app.admin(),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for bad in ["0", "101", "-1"] {
        let p = problem(
            app.get(
                &format!("/api/v1/funnels/{}/board?limit_per_stage={bad}", s.funnel),
                &app.admin(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), ["limit_per_stage"], "{bad}");
    }
    board(&app, &app.admin(), &s, "limit_per_stage=100").await;
    board(&app, &app.admin(), &s, "limit_per_stage=1").await;
    problem(
        app.get(
            &format!("/api/v1/funnels/{}/board?health=purple", s.funnel),
            &app.admin(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get(
            &format!("/api/v1/funnels/{}/board?stage_id={}", s.funnel, s.first),
            &app.admin(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn a_board_is_two_statements_for_every_role() {
    let app = spawn_app().await;
    let s = sales(&app, "SQL").await;
    for n in 0..3 {
        worth(&app, &s, &format!("S{n}"), "1.00", "EUR").await;
    }
    board(&app, &app.admin(), &s, "").await;
    assert_eq!(statements(&app, "GET", "/api/v1/funnels/{id}/board").await, (2.0, 1.0));
    board(&app, &app.token_for(Role::Rep, &s.owner), &s, "health=green").await;
    assert_eq!(
        statements(&app, "GET", "/api/v1/funnels/{id}/board").await,
        (4.0, 2.0),
        "the stages with their sums, the cards; a rep's fence inside both"
    );
}
