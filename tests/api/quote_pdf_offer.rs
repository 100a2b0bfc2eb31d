//! A complete German offer (issue 18): the legal and bank details of the settings (validated,
//! admin only) in the PDF's footer on every page, "ENTWURF" on drafts only, an article's long
//! description under its line, article numbers that wrap at their hyphens, and the quote
//! embedded as JSON (the machine-readable offer) equal to what the API shows.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{create, sales};
use crate::quotes::*;

const SETTINGS: &str = "/api/v1/settings";

/// The footer details of a plausible German dealership.
fn german_details() -> Value {
    json!({
        "register_court": "Amtsgericht München", "register_number": "HRB 234567",
        "managing_directors": "Maria Beispiel, Thomas Muster", "vat_id": "DE811234567",
        "tax_number": "143/234/56789", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank München", "phone": "+49 89 3090 4000",
        "email": "angebote@autohaus-beispiel.de", "website": "https://www.autohaus-beispiel.de"
    })
}

async fn patch_settings(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.request(Method::PATCH, SETTINGS, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn pdf_bytes(app: &TestApp, quote: &Value) -> Vec<u8> {
    let response = app.get(&format!("{}/pdf", quote_path(quote)), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

/// Text without any whitespace: the extractor joins lines set close together without a space
/// ("Dachbox XLAbschließbar"), so texts are compared this way.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect()
}

/// The text of each page, whitespace collapsed.
fn pages(pdf: &[u8]) -> Vec<String> {
    pdf_extract::extract_text_from_mem_by_pages(pdf)
        .unwrap()
        .iter()
        .map(|page| page.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn an_admin_sets_and_clears_the_footer_details_and_the_event_carries_them() {
    let app = spawn_app().await;

    let updated = json_with(
        patch_settings(&app, &app.admin(), &german_details()).await,
        StatusCode::OK,
    )
    .await;

    for (field, value) in german_details().as_object().unwrap() {
        assert_eq!(&updated[field], value, "{field}");
    }
    let events = app.feed(100).await;
    let event = events.iter().rfind(|e| e["type"] == "settings.updated").unwrap();
    assert_eq!(
        event["data"]["settings"]["iban"], "DE89 3704 0044 0532 0130 00",
        "{event}"
    );
    assert_eq!(event["data"]["settings"]["register_court"], "Amtsgericht München");

    let cleared = json_with(
        patch_settings(&app, &app.admin(), &json!({"iban": null, "website": null})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["iban"], Value::Null);
    assert_eq!(cleared["website"], Value::Null);
    assert_eq!(cleared["bic"], "COBADEFFXXX");
}

#[tokio::test]
async fn only_an_admin_writes_the_footer_details() {
    let app = spawn_app().await;
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "someone");
        problem(
            patch_settings(&app, &token, &json!({"vat_id": "DE811234567"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        let read = json_with(app.get(SETTINGS, &token).await, StatusCode::OK).await;
        assert_eq!(read["vat_id"], Value::Null, "{role:?}");
    }
}

#[tokio::test]
async fn every_invalid_footer_detail_is_named_in_one_422() {
    let app = spawn_app().await;
    let invalid = json!({
        "register_court": " ", "register_number": "H".repeat(51), "managing_directors": "",
        "vat_id": "811234567", "tax_number": "1".repeat(31),
        "iban": "DE89 3704 0044 0532 0130 01", "bic": "COBADEFF1", "bank_name": "B".repeat(101),
        "phone": "call us", "email": "angebote.autohaus-beispiel.de", "website": "ftp://autohaus-beispiel.de"
    });

    let refused = problem(
        patch_settings(&app, &app.admin(), &invalid).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let mut fields = error_fields(&refused);
    fields.sort();
    let mut expected: Vec<String> = invalid.as_object().unwrap().keys().cloned().collect();
    expected.sort();
    assert_eq!(fields, expected, "{refused}");
    for (field, value) in [
        ("iban", json!("DE89370400440532013000X")),
        ("iban", json!("DE89-3704-0044-0532-0130-00")),
        ("bic", json!("cobadeffxxx")),
        ("website", json!("www.autohaus-beispiel.de")),
        ("iban", json!(12)),
    ] {
        let refused = problem(
            patch_settings(&app, &app.admin(), &json!({field: value})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&refused), [field], "{value}");
    }
    let unchanged = json_with(app.get(SETTINGS, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(unchanged["version"], 1);
}

#[tokio::test]
async fn the_footer_prints_the_legal_and_bank_lines_on_every_page() {
    let app = spawn_app().await;
    json_with(
        patch_settings(&app, &app.admin(), &german_details()).await,
        StatusCode::OK,
    )
    .await;
    let s = sales(&app, "FT").await;
    let opportunity = create(&app, &s, "Flotte").await;
    for n in 1..=70 {
        add_line(
            &app,
            &opportunity,
            &json!({"description": format!("Position {n}: Dienstwagen mit Wartungspaket"), "quantity": 1, "unit_price": "100.00"}),
        )
        .await;
    }
    let quote = new_quote(&app, &opportunity).await;

    let pages = pages(&pdf_bytes(&app, &quote).await);

    assert!(pages.len() >= 3, "{} pages", pages.len());
    let count = pages.len();
    for (index, page) in pages.iter().enumerate() {
        let page = squeezed(page);
        for expected in [
            "Amtsgericht München HRB 234567",
            "Geschäftsführer: Maria Beispiel, Thomas Muster",
            "USt-IdNr.: DE811234567",
            "Steuernr.: 143/234/56789",
            "Commerzbank München",
            "IBAN: DE89 3704 0044 0532 0130 00",
            "BIC: COBADEFFXXX",
            "Tel.: +49 89 3090 4000",
            "E-Mail: angebote@autohaus-beispiel.de",
            "www.autohaus-beispiel.de",
            &format!("Seite {} von {count}", index + 1),
        ] {
            let tail: String = page.chars().skip(page.chars().count().saturating_sub(700)).collect();
            assert!(
                page.contains(&squeezed(expected)),
                "page {}: {expected:?} missing, the page ends {tail}",
                index + 1
            );
        }
    }
    let all = pages.join(" ");
    for n in [1, 35, 70] {
        assert_eq!(all.matches(&format!("Position {n}: ")).count(), 1, "line {n}");
    }
}

#[tokio::test]
async fn only_a_draft_is_marked_entwurf() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "DR").await;
    let quote = new_quote(&app, &opportunity).await;

    let draft = pages(&pdf_bytes(&app, &quote).await).join(" ");
    assert!(draft.contains("ENTWURF"), "{draft}");

    let sent = act_on_ok(&app, &quote, "send").await;
    let sent_text = pages(&pdf_bytes(&app, &sent).await).join(" ");
    assert!(!sent_text.contains("ENTWURF"), "{sent_text}");
    assert!(sent_text.contains("QT-000001"));

    let accepted = act_on_ok(&app, &quote, "accept").await;
    assert!(!pages(&pdf_bytes(&app, &accepted).await).join(" ").contains("ENTWURF"));
}

/// An article with a long description, upserted by the ERP.
async fn roof_box(app: &TestApp) -> Value {
    let integration = app.token_for(Role::Integration, "erp");
    json_with(
        app.request(
            Method::PUT,
            "/api/v1/articles/by-sku/WAGEN-ZUBEHOER-DACHBOX-XL-2026",
            &integration,
        )
        .json(&json!({
            "name": "Dachbox XL", "unit_price": "649.00",
            "long_description": "Abschließbar, 520 Liter, beidseitig zu öffnen; Montage auf Querträgern inklusive."
        }))
        .send()
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn the_long_description_is_copied_from_the_article_and_printed_under_its_line() {
    let app = spawn_app().await;
    let article = roof_box(&app).await;
    assert_eq!(
        article["long_description"],
        "Abschließbar, 520 Liter, beidseitig zu öffnen; Montage auf Querträgern inklusive."
    );
    let (_, opportunity) = quotable(&app, "LD").await;
    let line = add_line(&app, &opportunity, &json!({"article_id": article["id"], "quantity": 1})).await;
    assert_eq!(line["long_description"], article["long_description"]);
    assert_eq!(line["sku"], "WAGEN-ZUBEHOER-DACHBOX-XL-2026");
    let own = add_line(
        &app,
        &opportunity,
        &json!({"description": "Einweisung", "long_description": "Eine Stunde am Fahrzeug.", "quantity": 1, "unit_price": "0"}),
    )
    .await;
    assert_eq!(own["long_description"], "Eine Stunde am Fahrzeug.");

    let quote = new_quote(&app, &opportunity).await;
    assert_eq!(quote["lines"][1]["long_description"], article["long_description"]);
    let patched = json_with(
        app.request(Method::PATCH, &line_path(&quote, &quote["lines"][2]), &app.admin())
            .json(&json!({"long_description": "Zwei Stunden am Fahrzeug."}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["long_description"], "Zwei Stunden am Fahrzeug.");

    let text = squeezed(&pages(&pdf_bytes(&app, &quote).await).join(" "));
    let at = |needle: &str| {
        text.find(&squeezed(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {text}"))
    };
    assert!(at("Dachbox XL") < at("Abschließbar, 520 Liter"), "{text}");
    assert!(at("Montage auf Querträgern inklusive.") < at("Einweisung"), "{text}");
    assert!(at("Einweisung") < at("Zwei Stunden am Fahrzeug."), "{text}");

    let too_long = problem(
        app.post(
            &lines_of(&opportunity),
            &app.admin(),
            &json!({"description": "X", "long_description": "x".repeat(4001), "quantity": 1, "unit_price": "1"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&too_long), ["long_description"]);
}

#[tokio::test]
async fn a_long_article_number_wraps_at_its_hyphens() {
    let app = spawn_app().await;
    let article = roof_box(&app).await;
    let (_, opportunity) = quotable(&app, "SKU").await;
    add_line(&app, &opportunity, &json!({"article_id": article["id"], "quantity": 1})).await;
    let quote = new_quote(&app, &opportunity).await;

    let text = pages(&pdf_bytes(&app, &quote).await).join(" ");

    let sku = "WAGEN-ZUBEHOER-DACHBOX-XL-2026";
    assert!(!text.contains(sku), "the article number is not on one line: {text}");
    let start = text.find("WAGEN-").unwrap();
    let pieces: Vec<&str> = text[start..].split(' ').take_while(|p| sku.contains(p)).collect();
    assert_eq!(pieces.concat(), sku, "{text}");
    assert!(pieces.len() >= 2);
    assert!(
        pieces[..pieces.len() - 1].iter().all(|piece| piece.ends_with('-')),
        "{pieces:?}"
    );
}

/// The embedded files of a PDF: name, MIME subtype, relationship and content.
fn attachments(pdf: &[u8]) -> Vec<(String, String, String, Vec<u8>)> {
    let document = lopdf::Document::load_mem(pdf).unwrap();
    let catalog = document.catalog().unwrap();
    let associated = catalog.get(b"AF").unwrap().as_array().unwrap();
    let names = catalog.get(b"Names").unwrap();
    let names = document.dereference(names).unwrap().1.as_dict().unwrap();
    let tree = document.dereference(names.get(b"EmbeddedFiles").unwrap()).unwrap().1;
    let entries = tree.as_dict().unwrap().get(b"Names").unwrap().as_array().unwrap();
    assert_eq!(
        associated.len(),
        entries.len() / 2,
        "every attachment is an associated file"
    );
    entries
        .chunks(2)
        .map(|pair| {
            let name = String::from_utf8(pair[0].as_str().unwrap().to_vec()).unwrap();
            let spec = document.dereference(&pair[1]).unwrap().1.as_dict().unwrap();
            let relationship =
                String::from_utf8(spec.get(b"AFRelationship").unwrap().as_name().unwrap().to_vec()).unwrap();
            let file = spec.get(b"EF").unwrap().as_dict().unwrap().get(b"F").unwrap();
            let stream = document.dereference(file).unwrap().1.as_stream().unwrap();
            let mime = String::from_utf8(stream.dict.get(b"Subtype").unwrap().as_name().unwrap().to_vec()).unwrap();
            let content = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
            (name, mime, relationship, content)
        })
        .collect()
}

#[tokio::test]
async fn the_pdf_embeds_the_offer_as_json_equal_to_the_api() {
    let app = spawn_app().await;
    json_with(
        patch_settings(&app, &app.admin(), &german_details()).await,
        StatusCode::OK,
    )
    .await;
    let article = roof_box(&app).await;
    let (_, opportunity) = quotable(&app, "MRO").await;
    let partner_path = format!(
        "/api/v1/business-partners/{}",
        opportunity["business_partner_id"].as_str().unwrap()
    );
    json_with(
        app.patch(
            &partner_path,
            &app.admin(),
            &json!({"vat_id": "DE123456789", "street": "Königsallee 5", "postal_code": "40212", "city": "Düsseldorf", "country": "DE"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    add_line(
        &app,
        &opportunity,
        &json!({"article_id": article["id"], "quantity": "2.5", "discount_percent": 7.5}),
    )
    .await;
    add_line(
        &app,
        &opportunity,
        &json!({"description": "Kindersitz", "quantity": 1, "unit_price": "199.99", "tax_rate": 7}),
    )
    .await;
    let quote = new_quote(&app, &opportunity).await;

    let pdf = pdf_bytes(&app, &quote).await;

    assert!(pdf.starts_with(b"%PDF-2.0"), "{:?}", &pdf[..8]);
    assert!(pages(&pdf).join(" ").contains("QT-000001"), "the pages still read");
    let files = attachments(&pdf);
    assert_eq!(files.len(), 1);
    let (name, mime, relationship, content) = &files[0];
    assert_eq!(name, "angebot.json");
    assert_eq!(mime, "application/json");
    assert_eq!(relationship, "Alternative");
    let offer: Value = serde_json::from_slice(content).unwrap();
    let api = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(offer["format"], "salesfunnel.offer/1");
    for field in [
        "number",
        "revision",
        "status",
        "quote_date",
        "valid_until",
        "currency",
        "net_total",
        "tax_total",
        "gross_total",
        "taxes",
    ] {
        assert_eq!(offer[field], api[field], "{field}");
    }
    assert_eq!(offer["taxes"].as_array().unwrap().len(), 2);
    let (offer_lines, api_lines) = (offer["lines"].as_array().unwrap(), api["lines"].as_array().unwrap());
    assert_eq!(offer_lines.len(), 3);
    assert_eq!(offer_lines.len(), api_lines.len());
    for (mine, theirs) in offer_lines.iter().zip(api_lines) {
        for field in [
            "position",
            "sku",
            "description",
            "long_description",
            "quantity",
            "unit",
            "unit_price",
            "discount_percent",
            "tax_rate",
            "line_total",
        ] {
            assert_eq!(mine[field], theirs[field], "line {}: {field}", theirs["position"]);
        }
    }
    assert_eq!(offer_lines[1]["quantity"], "2.5");
    assert_eq!(offer_lines[1]["line_total"], "1500.81");
    let settings = get_ok(&app, SETTINGS).await;
    let seller = &offer["seller"];
    assert_eq!(seller["name"], settings["company_name"]);
    assert_eq!(
        seller["address_lines"],
        json!(["Musterstraße 1", "10115 Berlin", "Deutschland"])
    );
    for field in [
        "vat_id",
        "tax_number",
        "register_court",
        "register_number",
        "iban",
        "bic",
        "email",
    ] {
        assert_eq!(seller[field], settings[field], "seller {field}");
    }
    let partner = get_ok(&app, &partner_path).await;
    let buyer = &offer["buyer"];
    for field in ["name", "street", "postal_code", "city", "country", "vat_id"] {
        assert_eq!(buyer[field], partner[field], "buyer {field}");
    }
    assert_eq!(buyer["vat_id"], "DE123456789");
    let served = get_ok(&app, &format!("{}/offer", quote_path(&quote))).await;
    assert_eq!(served, offer, "GET /quotes/{{id}}/offer answers the embedded file");
}
