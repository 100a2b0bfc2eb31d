//! The opportunity list: filters, sorts with keyset pages, and the traffic light.

use std::collections::HashSet;

use chrono::Datelike;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::opportunities::*;

#[tokio::test]
async fn the_list_filters_by_every_field() {
    let app = spawn_app().await;
    let a = sales(&app, "NW").await;
    let b = sales(&app, "GW").await;
    let ben = id(&app.create_user("ben@example.com", "rep").await);
    let partner = id(&app.create_partner(json!({"kind": "lead", "name": "Schmidt KG"})).await);
    let mut body = new_body(&a, "Flotte Müller");
    body["expected_close_date"] = "2027-01-15".into();
    let flotte = create_as(&app, &app.admin(), &body).await;
    let mut body = new_body(&a, "Leasing Schmidt");
    body["expected_close_date"] = "2027-03-01".into();
    body["owner_id"] = ben.clone().into();
    body["business_partner_id"] = partner.clone().into();
    create_as(&app, &app.admin(), &body).await;
    create(&app, &b, "Transporter").await;
    let lost = create(&app, &a, "Verloren").await;
    act_ok(&app, &lost, "lose", &json!({"lost_reason_id": a.reason})).await;
    let won = create(&app, &b, "Gewonnen").await;
    let won = act_ok(&app, &won, "win", &json!({})).await;

    let all = sorted(&[
        "Flotte Müller",
        "Leasing Schmidt",
        "Transporter",
        "Verloren",
        "Gewonnen",
    ]);
    assert_eq!(subjects(&app, "").await, all);
    for (query, expected) in [
        ("status=open", vec!["Flotte Müller", "Leasing Schmidt", "Transporter"]),
        ("status=won", vec!["Gewonnen"]),
        ("status=lost", vec!["Verloren"]),
        (&*format!("owner_id={ben}"), vec!["Leasing Schmidt"]),
        (&*format!("funnel_id={}", b.funnel), vec!["Transporter", "Gewonnen"]),
        (
            &*format!("stage_id={}", a.first),
            vec!["Flotte Müller", "Leasing Schmidt"],
        ),
        (&*format!("stage_id={}", a.lost), vec!["Verloren"]),
        ("class_id=GW", vec!["Transporter", "Gewonnen"]),
        (&*format!("business_partner_id={partner}"), vec!["Leasing Schmidt"]),
        ("close_from=2027-02-01", vec!["Leasing Schmidt"]),
        ("close_to=2027-02-01", vec!["Flotte Müller"]),
        (
            "close_from=2027-01-15&close_to=2027-03-01",
            vec!["Flotte Müller", "Leasing Schmidt"],
        ),
        ("health=green", vec!["Flotte Müller", "Leasing Schmidt", "Transporter"]),
        ("health=red", vec![]),
        ("q=FLOTTE", vec!["Flotte Müller"]),
        ("q=opp-000003", vec!["Transporter"]),
        ("q=%25", vec![]),
        (
            &*format!("status=open&funnel_id={}", a.funnel),
            vec!["Flotte Müller", "Leasing Schmidt"],
        ),
    ] {
        assert_eq!(subjects(&app, query).await, sorted(&expected), "{query}");
    }
    let stamp = won["updated_at"].as_str().unwrap().replace('+', "%2B");
    assert!(subjects(&app, &format!("updated_after={stamp}")).await.is_empty());
    json_with(
        app.patch(&path_of(&flotte), &app.admin(), &json!({"description": "neu"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        subjects(&app, &format!("updated_after={stamp}")).await,
        vec!["Flotte Müller"]
    );
}

/// Every item of every page of `sort`, following `next_cursor` with `limit=2`.
async fn all_pages(app: &TestApp, sort: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let query = match &cursor {
            Some(c) => format!("{LIST}?sort={sort}&limit=2&cursor={c}"),
            None => format!("{LIST}?sort={sort}&limit=2"),
        };
        let page = json_with(app.get(&query, &app.admin()).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
    panic!("pages never end for sort {sort}");
}

fn cents(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap();
    (text.parse::<f64>().unwrap() * 100.0).round() as i64
}

#[tokio::test]
async fn keyset_pages_cover_every_opportunity_once_in_every_sort() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    // (target, close date, moved to 75 %): equal keys test the id tie-breaker.
    let specs = [
        ("500", Some("2027-05-01"), false),
        ("100", None, false),
        ("100", Some("2027-01-01"), true),
        ("300", Some("2027-01-01"), false),
        ("0", None, true),
        ("250", Some("2026-12-24"), true),
        ("100", Some("2027-05-01"), false),
    ];
    let mut created = Vec::new();
    for (i, (target, close, moved)) in specs.iter().enumerate() {
        let mut body = new_body(&s, &format!("Chance {i}"));
        body["target_value"] = (*target).into();
        body["expected_close_date"] = close.map_or(Value::Null, Value::from);
        let opportunity = create_as(&app, &app.admin(), &body).await;
        if *moved {
            act_ok(&app, &opportunity, "stage", &json!({"stage_id": s.proposal})).await;
        }
        created.push(opportunity);
    }
    // Touch the first one last so that updated_at differs from creation order.
    json_with(
        app.patch(&path_of(&created[0]), &app.admin(), &json!({"description": "zuletzt"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let everyone: HashSet<String> = created.iter().map(id).collect();
    for sort in [
        "updated_at",
        "-updated_at",
        "expected_close_date",
        "-target_value",
        "-weighted_value",
    ] {
        let seen = all_pages(&app, sort).await;
        let ids: HashSet<String> = seen.iter().map(id).collect();
        assert_eq!((seen.len(), &ids), (everyone.len(), &everyone), "sort {sort}");
        let keys: Vec<(i64, String)> = seen
            .iter()
            .map(|o| {
                let key = match sort {
                    "updated_at" | "-updated_at" => instant(&o["updated_at"]).timestamp_micros(),
                    "expected_close_date" => o["expected_close_date"].as_str().map_or(i64::MAX, |d| {
                        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .unwrap()
                            .num_days_from_ce()
                            .into()
                    }),
                    "-target_value" => cents(&o["target_value"]),
                    _ => cents(&o["weighted_value"]),
                };
                (key, id(o))
            })
            .collect();
        let mut expected = keys.clone();
        expected.sort();
        if sort.starts_with('-') {
            expected.reverse();
        }
        assert_eq!(keys, expected, "sort {sort} is ordered");
    }
    let default = all_pages(&app, "-updated_at").await;
    let first_page = json_with(app.get(&format!("{LIST}?limit=2"), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        first_page["items"].as_array().unwrap()[..],
        default[..2],
        "-updated_at is the default"
    );
    assert_eq!(default[0]["id"], created[0]["id"], "the last touched comes first");
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    for i in 0..3 {
        create(&app, &s, &format!("Chance {i}")).await;
    }
    let page = json_with(
        app.get(&format!("{LIST}?sort=-target_value&limit=2"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    for query in [
        "cursor=bm90LWEtY3Vyc29y".to_owned(),
        "cursor=%%%".to_owned(),
        format!("sort=-weighted_value&cursor={cursor}"),
        format!("cursor={cursor}"),
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        "limit=ten".to_owned(),
        "sort=subject".to_owned(),
        "status=pending".to_owned(),
        "health=blue".to_owned(),
        "owner_id=nobody".to_owned(),
        "close_from=2027-13-01".to_owned(),
    ] {
        let response = app.get(&format!("{LIST}?{query}"), &app.admin()).await;
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    let limit = json_with(
        app.get(&format!("{LIST}?limit=200"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(limit["items"].as_array().unwrap().len(), 3);
    assert!(limit["next_cursor"].is_null());
}

#[tokio::test]
async fn health_follows_the_last_contact_and_the_stage_or_funnel_thresholds() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    // The proposal stage overrides the funnel's 7/14 days with 2/4; a late stage only the
    // critical days (3), so its effective thresholds are 7 (funnel) and 3 (stage).
    json_with(
        app.patch(
            &format!("/api/v1/stages/{}", s.proposal),
            &app.admin(),
            &json!({"warn_after_days": 2, "critical_after_days": 4}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let late = id(&app
        .create_stage(
            json!({"code": "LATE", "name": "Spät", "outcome": "open", "probability": 50, "critical_after_days": 3}),
        )
        .await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", s.funnel),
            &app.admin(),
            &json!({"stage_ids": [s.first, s.proposal, late, s.contract, s.won, s.lost]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut expected = Vec::new();
    for (subject, stage, days, health) in [
        ("funnel 1 day", &s.first, 1, "green"),
        ("funnel 10 days", &s.first, 10, "yellow"),
        ("funnel 20 days", &s.first, 20, "red"),
        ("stage 1 day", &s.proposal, 1, "green"),
        ("stage 3 days", &s.proposal, 3, "yellow"),
        ("stage 5 days", &s.proposal, 5, "red"),
        ("late 5 days", &late, 5, "green"),
        ("late 8 days", &late, 8, "red"),
    ] {
        let mut opportunity = create(&app, &s, subject).await;
        if *stage != s.first {
            opportunity = act_ok(&app, &opportunity, "stage", &json!({"stage_id": stage})).await;
        }
        backdate(&app, &opportunity, days).await;
        expected.push((opportunity, subject, health));
    }
    let won = create(&app, &s, "won long ago").await;
    backdate(&app, &won, 30).await;
    let won = act_ok(&app, &won, "win", &json!({})).await;
    assert!(won["health"].is_null());
    let lost = create(&app, &s, "lost long ago").await;
    backdate(&app, &lost, 30).await;
    act_ok(&app, &lost, "lose", &json!({"lost_reason_id": s.reason})).await;

    for (opportunity, subject, health) in &expected {
        let read = json_with(app.get(&path_of(opportunity), &app.admin()).await, StatusCode::OK).await;
        assert_eq!(read["health"], *health, "{subject}: {read}");
    }
    let read = json_with(app.get(&path_of(&won), &app.admin()).await, StatusCode::OK).await;
    assert!(read["health"].is_null(), "closed: {read}");
    let listed = json_with(
        app.get(&format!("{LIST}?limit=200"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    for item in listed["items"].as_array().unwrap() {
        let subject = item["subject"].as_str().unwrap();
        let want = expected
            .iter()
            .find(|(_, s, _)| *s == subject)
            .map_or(Value::Null, |(_, _, h)| Value::from(*h));
        assert_eq!(item["health"], want, "listed {subject}");
    }
    for health in ["green", "yellow", "red"] {
        let want: Vec<&str> = expected
            .iter()
            .filter(|(_, _, h)| *h == health)
            .map(|(_, s, _)| *s)
            .collect();
        assert_eq!(
            subjects(&app, &format!("health={health}")).await,
            sorted(&want),
            "health={health}"
        );
        assert!(
            subjects(&app, &format!("health={health}&status=won")).await.is_empty(),
            "closed ones have no health"
        );
    }
}
