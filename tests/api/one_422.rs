//! One 422 names every offending field of a write: wrong types, broken rules and unknown
//! references together (issue 16), and such a request writes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{LIST, NOBODY, create, new_body, path_of, sales, subjects};

async fn fields_of(response: reqwest::Response) -> Vec<String> {
    error_fields(&problem(response, StatusCode::UNPROCESSABLE_ENTITY).await)
}

async fn feed_length(app: &TestApp) -> usize {
    let page: Value = json_with(app.get("/api/v1/events?limit=1000", &app.admin()).await, StatusCode::OK).await;
    page["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_create_names_its_wrong_type_its_broken_rule_and_its_unknown_class_at_once() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let events = feed_length(&app).await;
    let mut body = new_body(&s, "");
    body["class_id"] = "NOPE".into();
    body["target_value"] = "abc".into();
    assert_eq!(
        fields_of(app.post(LIST, &app.admin(), &body).await).await,
        ["class_id", "subject", "target_value"]
    );
    // A required reference with the wrong type gets a stand-in: the others are still checked.
    let mut body = new_body(&s, "Geister");
    body["business_partner_id"] = 17.into();
    body["owner_id"] = NOBODY.into();
    body["expected_close_date"] = "bald".into();
    assert_eq!(
        fields_of(app.post(LIST, &app.admin(), &body).await).await,
        ["business_partner_id", "expected_close_date", "owner_id"]
    );
    assert!(subjects(&app, "").await.is_empty(), "nothing was created");
    assert_eq!(feed_length(&app).await, events, "no event was written");
    // The connections of the refused requests were not handed back in their transactions.
    create(&app, &s, "Danach").await;
    assert_eq!(subjects(&app, "").await, ["Danach"]);
}

#[tokio::test]
async fn a_partner_names_its_bad_choice_its_blank_name_and_its_unknown_owner_at_once() {
    let app = spawn_app().await;
    let body = json!({"kind": "prospect", "name": "", "owner_id": NOBODY, "email": "nope"});
    assert_eq!(
        fields_of(app.post("/api/v1/business-partners", &app.admin(), &body).await).await,
        ["email", "kind", "name", "owner_id"]
    );
    let listed: Value = json_with(
        app.get("/api/v1/business-partners?limit=200", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "nothing was created");
}

#[tokio::test]
async fn a_patch_and_a_line_name_rule_and_reference_errors_together_and_change_nothing() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let opportunity = create(&app, &s, "Flotte").await;
    let path = path_of(&opportunity);
    let patch = json!({"subject": " ", "owner_id": NOBODY, "probability_override": 150});
    assert_eq!(
        fields_of(app.patch(&path, &app.admin(), &patch).await).await,
        ["owner_id", "probability_override", "subject"]
    );
    let line = json!({"article_id": NOBODY, "quantity": "-1", "discount_percent": 101});
    assert_eq!(
        fields_of(app.post(&format!("{path}/lines"), &app.admin(), &line).await).await,
        ["article_id", "discount_percent", "quantity"]
    );
    let now: Value = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(now["version"], opportunity["version"]);
    assert_eq!(now["subject"], "Flotte");
    assert_eq!(now["line_count"], 0);
}
