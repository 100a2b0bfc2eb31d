//! `?expand=business_partner,owner,stage,contacts` on the opportunity get and list: the related
//! objects embedded, with one statement per relation for a whole page, and a 400 for an unknown
//! relation.

use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_with, problem, spawn_app};
use crate::opportunities::{LIST, path_of, sales};
use crate::opportunity_contacts::{entry, person, with_contacts};
use crate::write_path::statements;

const ALL: &str = "expand=business_partner,owner,stage,contacts";

async fn get_ok(app: &TestApp, path: &str) -> Value {
    json_with(app.get(path, &app.admin()).await, StatusCode::OK).await
}

#[tokio::test]
async fn get_embeds_the_partner_owner_stage_and_contact_persons() {
    let app = spawn_app().await;
    let s = sales(&app, "EXG").await;
    let anna = person(&app, &s.partner, "Schmidt").await;
    let opportunity = with_contacts(&app, &s, "Ausgeklappt", json!([entry(&anna, "decision_maker")])).await;

    let plain = get_ok(&app, &path_of(&opportunity)).await;
    for key in ["business_partner", "owner", "stage"] {
        assert!(plain.get(key).is_none(), "{key} only when expanded");
    }
    assert!(plain["contacts"][0].get("contact").is_none());

    let expanded = get_ok(&app, &format!("{}?{ALL}", path_of(&opportunity))).await;
    let partner = &expanded["business_partner"];
    assert_eq!(partner["id"], json!(s.partner));
    assert_eq!(partner["name"], "EXG GmbH");
    assert_eq!(partner["kind"], "customer");
    assert!(partner["number"].as_str().is_some_and(|n| n.starts_with("BP-")));
    assert!(partner.as_object().unwrap().contains_key("city"));
    let owner = &expanded["owner"];
    assert_eq!(owner["id"], json!(s.owner));
    assert_eq!(owner["email"], "exg.owner@example.com");
    assert!(owner["display_name"].is_string());
    let stage = &expanded["stage"];
    assert_eq!(stage["id"], json!(s.first));
    assert_eq!(stage["code"], "EXG_FIRST");
    assert_eq!(stage["outcome"], "open");
    assert_eq!(stage["probability"].as_f64(), Some(5.0));
    let contact = &expanded["contacts"][0];
    assert_eq!(contact["role"], "decision_maker");
    assert_eq!(contact["contact"]["id"], json!(anna));
    assert_eq!(contact["contact"]["last_name"], "Schmidt");
    assert_eq!(contact["contact"]["active"], true);

    // One relation alone embeds only it; the rest of the opportunity is the same.
    let only_stage = get_ok(&app, &format!("{}?expand=stage", path_of(&opportunity))).await;
    assert!(only_stage.get("owner").is_none() && only_stage.get("business_partner").is_none());
    assert_eq!(only_stage["stage"], expanded["stage"]);
    let mut without = expanded.as_object().unwrap().clone();
    for key in ["business_partner", "owner", "stage"] {
        without.remove(key);
    }
    without["contacts"] = plain["contacts"].clone();
    assert_eq!(Value::Object(without), plain);
}

#[tokio::test]
async fn an_unknown_relation_is_a_400() {
    let app = spawn_app().await;
    let s = sales(&app, "EXU").await;
    let opportunity = with_contacts(&app, &s, "Unbekannt", json!([])).await;
    for path in [
        format!("{}?expand=owner,lines", path_of(&opportunity)),
        format!("{LIST}?expand=partner"),
    ] {
        let refused = problem(app.get(&path, &app.admin()).await, StatusCode::BAD_REQUEST).await;
        assert!(refused["detail"].as_str().unwrap().contains("expand"), "{refused}");
    }
    // An empty value expands nothing.
    let plain = get_ok(&app, &format!("{}?expand=", path_of(&opportunity))).await;
    assert!(plain.get("owner").is_none());
}

#[tokio::test]
async fn the_list_embeds_with_one_statement_per_relation_for_the_whole_page() {
    let app = spawn_app().await;
    let s = sales(&app, "EXL").await;
    let t = sales(&app, "EXM").await;
    for (i, sales) in [&s, &t, &s, &t, &s].into_iter().enumerate() {
        let a = person(&app, &sales.partner, &format!("Person {i}")).await;
        let b = person(&app, &sales.partner, &format!("Zweite {i}")).await;
        with_contacts(
            &app,
            sales,
            &format!("Liste {i}"),
            json!([entry(&a, "buyer"), entry(&b, "user")]),
        )
        .await;
    }
    let before = statements(&app, "GET", "/api/v1/opportunities").await;
    let page = get_ok(&app, &format!("{LIST}?{ALL}&limit=50")).await;
    let after = statements(&app, "GET", "/api/v1/opportunities").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (5.0, 1.0),
        "the page, then partners, owners, stages and contact persons: one statement each"
    );
    for item in items {
        assert_eq!(item["business_partner"]["id"], item["business_partner_id"]);
        assert_eq!(item["owner"]["id"], item["owner_id"]);
        assert_eq!(item["stage"]["id"], item["stage_id"]);
        let contacts = item["contacts"].as_array().unwrap();
        assert_eq!(contacts.len(), 2);
        for c in contacts {
            assert_eq!(c["contact"]["id"], c["contact_id"]);
        }
    }
    // A rep's list embeds as well, for what the rep sees.
    let rep = app.token_for(Role::Rep, &s.owner);
    let mine = json_with(app.get(&format!("{LIST}?{ALL}"), &rep).await, StatusCode::OK).await;
    let mine = mine["items"].as_array().unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|o| o["business_partner"]["name"] == "EXL GmbH"));
}
