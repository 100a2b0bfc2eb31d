//! The contact person of a quote: the partner's primary contact by default, an explicit one of
//! the partner (active), changed on a draft only, copied by new revisions, kept from deletion,
//! and printed in the PDF's address window.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::quote_workflow::pdf_text;
use crate::quotes::*;

fn contacts_of(partner: &str) -> String {
    format!("/api/v1/business-partners/{partner}/contacts")
}

fn partner_of(opportunity: &Value) -> String {
    opportunity["business_partner_id"].as_str().unwrap().to_owned()
}

async fn contact(app: &TestApp, partner: &str, body: Value) -> Value {
    json_with(
        app.post(&contacts_of(partner), &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

fn contact_path(contact: &Value) -> String {
    format!(
        "{}/{}",
        contacts_of(contact["business_partner_id"].as_str().unwrap()),
        contact["id"].as_str().unwrap()
    )
}

async fn quote_with(app: &TestApp, opportunity: &Value, body: Value) -> Value {
    json_with(
        app.post(&quotes_of(opportunity), &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn pdf_of(app: &TestApp, quote: &Value) -> String {
    let response = app.get(&format!("{}/pdf", quote_path(quote)), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = pdf_text(&response.bytes().await.unwrap());
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_new_quote_is_addressed_to_the_primary_contact_and_revisions_copy_the_contact() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QCA").await;
    let partner = partner_of(&opportunity);
    contact(&app, &partner, json!({"last_name": "Neben"})).await;
    let primary = contact(&app, &partner, json!({"last_name": "Haupt", "is_primary": true})).await;
    let other = contact(&app, &partner, json!({"last_name": "Anders"})).await;

    let first = quote_with(&app, &opportunity, json!({})).await;
    assert_eq!(first["contact_id"], primary["id"]);

    let second = quote_with(&app, &opportunity, json!({"contact_id": other["id"]})).await;
    assert_eq!(second["contact_id"], other["id"]);
    let third = quote_with(&app, &opportunity, json!({})).await;
    assert_eq!(third["contact_id"], other["id"], "a new revision copies the contact");
    let none = quote_with(&app, &opportunity, json!({"contact_id": null})).await;
    assert_eq!(none["contact_id"], Value::Null);

    let created = app.feed(100).await;
    let event = created
        .iter()
        .find(|e| e["type"] == "quote.created" && e["data"]["quote"]["id"] == second["id"])
        .unwrap();
    assert_eq!(event["data"]["quote"]["contact_id"], other["id"]);
}

#[tokio::test]
async fn without_a_primary_contact_a_quote_has_none() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QCN").await;
    contact(&app, &partner_of(&opportunity), json!({"last_name": "Neben"})).await;

    let quote = quote_with(&app, &opportunity, json!({})).await;

    assert_eq!(quote["contact_id"], Value::Null);
}

#[tokio::test]
async fn another_partners_or_an_inactive_contact_is_422_with_the_other_field_errors() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QCI").await;
    let stranger = app
        .create_partner(json!({"kind": "customer", "name": "Fremd GmbH"}))
        .await;
    let foreign = contact(&app, stranger["id"].as_str().unwrap(), json!({"last_name": "Fremd"})).await;
    let inactive = contact(
        &app,
        &partner_of(&opportunity),
        json!({"last_name": "Ruhestand", "active": false}),
    )
    .await;

    for (body, fields) in [
        (json!({"contact_id": foreign["id"]}), vec!["contact_id"]),
        (json!({"contact_id": inactive["id"]}), vec!["contact_id"]),
        (
            json!({"contact_id": foreign["id"], "valid_until": in_days(-1)}),
            vec!["contact_id", "valid_until"],
        ),
        (
            json!({"contact_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f15", "header_text": "x".repeat(5001)}),
            vec!["contact_id", "header_text"],
        ),
    ] {
        let rejected = problem(
            app.post(&quotes_of(&opportunity), &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&rejected), fields, "{body}");
    }
    let listed = json_with(app.get(&quotes_of(&opportunity), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]), "nothing was written");
}

#[tokio::test]
async fn a_draft_changes_or_clears_its_contact_and_a_sent_quote_does_not() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QCP").await;
    let partner = partner_of(&opportunity);
    let anna = contact(&app, &partner, json!({"last_name": "Schmidt"})).await;
    let inactive = contact(&app, &partner, json!({"last_name": "Alt", "active": false})).await;
    let quote = quote_with(&app, &opportunity, json!({})).await;
    assert_eq!(quote["contact_id"], Value::Null);

    let patched = json_with(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"contact_id": anna["id"]}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["contact_id"], anna["id"]);
    assert_eq!(patched["version"], 2);
    let rejected = problem(
        app.patch(
            &quote_path(&quote),
            &app.admin(),
            &json!({"contact_id": inactive["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&rejected), ["contact_id"]);
    let cleared = json_with(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"contact_id": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["contact_id"], Value::Null);
    let updated = app.feed(100).await;
    let event = updated
        .iter()
        .rev()
        .find(|e| e["type"] == "quote.updated" && e["data"]["quote"]["id"] == quote["id"])
        .unwrap();
    assert_eq!(event["data"]["previous"]["contact_id"], anna["id"]);

    json_with(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"contact_id": anna["id"]}))
            .await,
        StatusCode::OK,
    )
    .await;
    act_on_ok(&app, &quote, "send").await;
    problem(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"contact_id": null}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["contact_id"], anna["id"]);
}

#[tokio::test]
async fn a_contact_named_by_a_quote_cannot_be_deleted() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QCD").await;
    let partner = partner_of(&opportunity);
    let named = contact(&app, &partner, json!({"last_name": "Genannt", "is_primary": true})).await;
    let free = contact(&app, &partner, json!({"last_name": "Frei"})).await;
    let quote = quote_with(&app, &opportunity, json!({})).await;

    let refused = problem(
        app.request(Method::DELETE, &contact_path(&named), &app.admin())
            .send()
            .await
            .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains(quote["number"].as_str().unwrap()), "{detail}");
    assert!(detail.contains("quotes"), "{detail}");
    assert_eq!(
        app.delete(&contact_path(&free), &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["contact_id"], named["id"]);
}

#[tokio::test]
async fn the_pdf_addresses_the_contact_under_the_partner_name() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QCF").await;
    let partner = partner_of(&opportunity);
    let anna = contact(
        &app,
        &partner,
        json!({"salutation": "Frau", "title": "Dr.", "first_name": "Anna", "last_name": "Schmidt"}),
    )
    .await;
    let meier = contact(&app, &partner, json!({"salutation": "Herr", "last_name": "Meier"})).await;
    let name = json_with(
        app.get(&format!("/api/v1/business-partners/{partner}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await["name"]
        .as_str()
        .unwrap()
        .to_owned();

    let with_anna = quote_with(&app, &opportunity, json!({"contact_id": anna["id"]})).await;
    let with_meier = quote_with(&app, &opportunity, json!({"contact_id": meier["id"]})).await;
    let without = quote_with(&app, &opportunity, json!({"contact_id": null})).await;

    for (quote, line) in [
        (&with_anna, "z. Hd. Frau Dr. Anna Schmidt"),
        (&with_meier, "z. Hd. Herr Meier"),
    ] {
        let text = pdf_of(&app, quote).await;
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle:?} in {text}"));
        assert!(at(&name) < at(line), "the contact follows the partner's name: {text}");
    }
    let text = pdf_of(&app, &without).await;
    assert!(text.contains(&name) && !text.contains("z. Hd."), "{text}");
}
