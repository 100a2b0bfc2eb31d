//! Custom values on quotes (create, merge patch, events, list filters), the filters of the
//! contact lists, and the custom fields flagged `show_on_quote` on the quote PDF.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::custom_fields::{define, listed};
use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::path_of as opp_path;
use crate::quotes::{in_days, quotable, quote_path, quotes_of};

async fn quote_fields(app: &TestApp) {
    define(
        app,
        json!({"resource": "quote", "key": "delivery_date", "label": "Liefertermin", "type": "date", "show_on_quote": true}),
    )
    .await;
    define(
        app,
        json!({"resource": "quote", "key": "discount_level", "label": "Rabattstufe", "type": "number"}),
    )
    .await;
}

async fn quote_with(app: &TestApp, opportunity: &Value, custom: Value) -> Value {
    json_with(
        app.post(
            &quotes_of(opportunity),
            &app.admin(),
            &json!({"valid_until": in_days(30), "custom": custom}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn a_quote_takes_custom_values_that_merge_and_ride_in_its_events() {
    let app = spawn_app().await;
    quote_fields(&app).await;
    let (_, opportunity) = quotable(&app, "CQ").await;
    let quote = quote_with(&app, &opportunity, json!({"delivery_date": "2027-01-15"})).await;
    assert_eq!(quote["custom"], json!({"delivery_date": "2027-01-15"}));
    let patched = json_with(
        app.patch(
            &quote_path(&quote),
            &app.admin(),
            &json!({"custom": {"discount_level": 2, "delivery_date": null}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["custom"], json!({"discount_level": 2}));
    let read = json_with(app.get(&quote_path(&quote), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["custom"], patched["custom"]);

    let events = app.feed(100).await;
    let created = events.iter().find(|e| e["type"] == "quote.created").unwrap();
    assert_eq!(created["data"]["quote"]["custom"], quote["custom"]);
    let updated = events.iter().rev().find(|e| e["type"] == "quote.updated").unwrap();
    assert_eq!(updated["data"]["quote"]["custom"], patched["custom"]);
    assert_eq!(updated["data"]["previous"]["custom"], quote["custom"]);

    // Every bad value and the other problems of the body in one 422; nothing changes.
    let bad = problem(
        app.patch(
            &quote_path(&quote),
            &app.admin(),
            &json!({"valid_until": "2020-01-01", "custom": {"delivery_date": "15.01.2027", "nope": 1}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        ["custom.delivery_date", "custom.nope", "valid_until"]
    );
    let bad = problem(
        app.post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"custom": {"discount_level": "zwei"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.discount_level"]);
    let unchanged = json_with(app.get(&quote_path(&quote), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(unchanged["custom"], json!({"discount_level": 2}));
    assert_eq!(unchanged["version"], patched["version"]);
}

#[tokio::test]
async fn the_quote_list_filters_by_custom_values_and_ranges() {
    let app = spawn_app().await;
    quote_fields(&app).await;
    let (_, opportunity) = quotable(&app, "CQL").await;
    let mut numbers = Vec::new();
    for (level, day) in [(1, "2027-01-10"), (2, "2027-02-10"), (3, "2027-03-10")] {
        let quote = quote_with(
            &app,
            &opportunity,
            json!({"discount_level": level, "delivery_date": day}),
        )
        .await;
        numbers.push(quote["number"].as_str().unwrap().to_owned());
    }
    quote_with(&app, &opportunity, json!({})).await;
    let quotes = "/api/v1/quotes";
    assert_eq!(
        listed(&app, &format!("{quotes}?custom.discount_level_from=2"), "number").await,
        numbers[1..]
    );
    assert_eq!(
        listed(
            &app,
            &format!("{quotes}?custom.discount_level_from=1.5&custom.discount_level_to=2.5"),
            "number"
        )
        .await,
        numbers[1..2]
    );
    assert_eq!(
        listed(&app, &format!("{quotes}?custom.delivery_date_to=2027-02-10"), "number").await,
        numbers[..2]
    );
    assert_eq!(
        listed(&app, &format!("{quotes}?custom.delivery_date=2027-03-10"), "number").await,
        numbers[2..]
    );
    // A rep outside the opportunity's team sees none of them, filtered or not.
    let rep = app.token_for(salesfunnel::access::Role::Rep, "someone-else");
    let page = json_with(
        app.get(&format!("{quotes}?custom.discount_level_from=0"), &rep).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"], json!([]));
    problem(
        app.get(&format!("{quotes}?custom.unknown=1"), &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get(&format!("{quotes}?custom.discount_level_from=viel"), &app.admin())
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn both_contact_lists_filter_by_custom_values() {
    let app = spawn_app().await;
    define(
        &app,
        json!({"resource": "contact", "key": "budget", "label": "Budget", "type": "money"}),
    )
    .await;
    define(
        &app,
        json!({"resource": "contact", "key": "newsletter", "label": "Newsletter", "type": "boolean"}),
    )
    .await;
    let mut all = Vec::new();
    for company in ["Erste GmbH", "Zweite GmbH"] {
        let partner = app.create_partner(json!({"kind": "customer", "name": company})).await;
        let contacts = format!("/api/v1/business-partners/{}/contacts", partner["id"].as_str().unwrap());
        for (name, budget, newsletter) in [("Arnold", "5000.00", true), ("Berger", "15000.00", false)] {
            json_with(
                app.post(
                    &contacts,
                    &app.admin(),
                    &json!({"last_name": format!("{name} {company}"),
                            "custom": {"budget": budget, "newsletter": newsletter}}),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
        }
        all.push(contacts);
    }
    assert_eq!(
        listed(&app, "/api/v1/contacts?custom.budget_from=10000", "last_name").await,
        ["Berger Erste GmbH", "Berger Zweite GmbH"]
    );
    assert_eq!(
        listed(&app, "/api/v1/contacts?custom.newsletter=true&q=zweite", "last_name").await,
        ["Arnold Zweite GmbH"]
    );
    assert_eq!(
        listed(&app, &format!("{}?custom.budget_to=5000", all[1]), "last_name").await,
        ["Arnold Zweite GmbH"]
    );
    assert_eq!(
        listed(&app, &format!("{}?custom.newsletter=false", all[0]), "last_name").await,
        ["Berger Erste GmbH"]
    );
    problem(
        app.get("/api/v1/contacts?custom.budget_from=viel", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get(&format!("{}?custom.nope=1", all[0]), &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

/// The text of a PDF without any whitespace (the extractor sets some words apart).
fn squeezed_text(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf)
        .unwrap()
        .split_whitespace()
        .collect()
}

#[tokio::test]
async fn fields_flagged_show_on_quote_print_below_the_texts_in_german() {
    let app = spawn_app().await;
    quote_fields(&app).await;
    for field in [
        json!({"resource": "opportunity", "key": "leasing_months", "label": "Leasinglaufzeit (Monate)", "type": "number", "show_on_quote": true}),
        json!({"resource": "opportunity", "key": "trade_in_value", "label": "Inzahlungnahme", "type": "money", "show_on_quote": true}),
        json!({"resource": "opportunity", "key": "financing", "label": "Finanzierung", "type": "enum", "options": ["Leasing", "Kredit"], "show_on_quote": true}),
        json!({"resource": "opportunity", "key": "registered", "label": "Zulassung inklusive", "type": "boolean", "show_on_quote": true}),
        json!({"resource": "opportunity", "key": "extras", "label": "Extras", "type": "multi_enum", "options": ["AHK", "Winterräder"], "show_on_quote": true}),
        json!({"resource": "opportunity", "key": "internal_note", "label": "Interne Notiz", "type": "text"}),
        json!({"resource": "opportunity", "key": "empty_one", "label": "Leeres Feld", "type": "text", "show_on_quote": true}),
    ] {
        define(&app, field).await;
    }
    let (_, opportunity) = quotable(&app, "CQP").await;
    json_with(
        app.patch(
            &opp_path(&opportunity),
            &app.admin(),
            &json!({"custom": {"leasing_months": 36, "trade_in_value": "12500.5", "financing": "Leasing",
                               "registered": false, "extras": ["AHK", "Winterräder"], "internal_note": "geheim"}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let quote = quote_with(
        &app,
        &opportunity,
        json!({"delivery_date": "2027-01-15", "discount_level": 3}),
    )
    .await;
    let response = app.get(&format!("{}/pdf", quote_path(&quote)), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = squeezed_text(&response.bytes().await.unwrap());
    let printed = [
        "Extras:AHK,Winterräder",
        "Finanzierung:Leasing",
        "Inzahlungnahme:12.500,50€",
        "Leasinglaufzeit(Monate):36",
        "Zulassunginklusive:Nein",
        "Liefertermin:15.01.2027",
    ];
    let mut at = Vec::new();
    for line in printed {
        at.push(text.find(line).unwrap_or_else(|| panic!("{line} is not in {text}")));
    }
    // Opportunity fields by label, then the quote's; after the texts, before the line table.
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    let header = text.find("Vielen").or_else(|| text.find("Sehr")).unwrap_or(0);
    let table = text.find("VWID.4Pro").unwrap();
    assert!(header < at[0] && at[5] < table, "{header} {at:?} {table}");
    for hidden in ["Interne", "geheim", "Rabattstufe", "LeeresFeld"] {
        assert!(!text.contains(hidden), "{hidden} is printed");
    }
}
