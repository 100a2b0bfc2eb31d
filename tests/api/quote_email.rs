//! Quotes reach the customer by e-mail: through a real SMTP server on loopback (the MIME as it
//! arrives: recipients, subject, text and HTML, the PDF byte for byte), the sending recorded, an
//! `email` activity logged, the quote marked sent; a refused e-mail changes nothing (502), no
//! SMTP server is a 503, the embedded default's `.eml` files.

use mail_parser::{MessageParser, MimeHeaders};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, TestMail, error_fields, json_with, problem, spawn_app_with_mail};
use crate::opportunities::id;
use crate::quotes::*;
use crate::smtp_peer::SmtpPeer;

fn send_path(quote: &Value) -> String {
    format!("{}/send", quote_path(quote))
}

/// A quotable opportunity whose partner has the primary contact Frau Dr. Anna Schmidt, and a
/// draft quote addressed to her.
async fn quote_for_anna(app: &TestApp, prefix: &str) -> (Value, Value, Value) {
    let (_, opportunity) = quotable(app, prefix).await;
    let partner = opportunity["business_partner_id"].as_str().unwrap().to_owned();
    let contact = json_with(
        app.post(
            &format!("/api/v1/business-partners/{partner}/contacts"),
            &app.admin(),
            &json!({"salutation": "Frau", "title": "Dr.", "first_name": "Anna", "last_name": "Schmidt",
                "email": "anna.schmidt@kunde.example", "is_primary": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let quote = new_quote(app, &opportunity).await;
    assert_eq!(quote["contact_id"], contact["id"]);
    (opportunity, contact, quote)
}

async fn send(app: &TestApp, quote: &Value, body: &Value) -> reqwest::Response {
    app.post(&send_path(quote), &app.admin(), body).await
}

async fn pdf_bytes(app: &TestApp, quote: &Value) -> Vec<u8> {
    let response = app.get(&format!("{}/pdf", quote_path(quote)), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

async fn sendings(app: &TestApp, quote: &Value) -> Vec<Value> {
    items(app, &app.admin(), &format!("{}/sendings", quote_path(quote))).await
}

#[tokio::test]
async fn a_quote_is_emailed_to_its_contact_with_its_pdf_and_the_sending_is_recorded() {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let (opportunity, _, quote) = quote_for_anna(&app, "QEM").await;

    let sent = json_with(send(&app, &quote, &json!({})).await, StatusCode::OK).await;
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string());

    let received = smtp.received();
    assert_eq!(received.len(), 1, "one e-mail");
    let mail = &received[0];
    assert_eq!(mail.to, vec!["anna.schmidt@kunde.example".to_owned()]);
    assert_eq!(mail.from.trim_matches(['<', '>']), "angebote@autohaus.example");
    let message = MessageParser::default().parse(&mail.data).expect("a MIME message");
    let number = quote["number"].as_str().unwrap();
    assert_eq!(
        message.subject().map(str::to_owned),
        Some(format!("Ihr Angebot {number}: Zwei Autos"))
    );
    let text = message.body_text(0).unwrap().into_owned();
    assert!(text.starts_with("Sehr geehrte Frau Dr. Schmidt,"), "{text}");
    assert!(text.contains(&format!("Angebot {number} über 119.000,00 €")), "{text}");
    let link = text
        .lines()
        .find(|l| l.starts_with(&format!("{}/public/quotes/", app.address)))
        .expect("the acceptance link")
        .to_owned();
    let html = message.body_html(0).unwrap().into_owned();
    assert!(html.contains("Sehr geehrte Frau Dr. Schmidt,"), "{html}");
    assert!(html.contains("<a href="), "the link is clickable: {html}");
    let attachment = message.attachments().next().expect("the PDF attached");
    assert_eq!(
        attachment.attachment_name().map(str::to_owned),
        Some(format!("Angebot-{number}.pdf"))
    );
    assert_eq!(attachment.content_type().map(|c| c.ctype()), Some("application"));
    let pdf = pdf_bytes(&app, &quote).await;
    assert_eq!(
        attachment.contents(),
        pdf.as_slice(),
        "the PDF as GET /quotes/{{id}}/pdf serves it"
    );
    assert!(
        !crate::quote_workflow::pdf_text(&pdf).contains("ENTWURF"),
        "a sent quote is no draft"
    );

    let recorded = sendings(&app, &quote).await;
    assert_eq!(recorded.len(), 1);
    let sending = &recorded[0];
    assert_eq!(sending["to"], json!(["anna.schmidt@kunde.example"]));
    assert_eq!(sending["cc"], json!([]));
    assert_eq!(sending["subject"], format!("Ihr Angebot {number}: Zwei Autos"));
    assert_eq!(sending["pdf_sha256"], hex::encode(Sha256::digest(&pdf)));
    assert_eq!(sending["acceptance_link"], true);
    assert_eq!(
        Some(sending["message_id"].as_str().unwrap().trim_matches(['<', '>'])),
        message.message_id()
    );
    assert!(link.len() > app.address.len() + 40, "a long random token: {link}");

    let activities = items(
        &app,
        &app.admin(),
        &format!("/api/v1/opportunities/{}/activities", id(&opportunity)),
    )
    .await;
    let email = activities
        .iter()
        .find(|a| a["kind"] == "email")
        .expect("an email activity");
    assert_eq!(email["status"], "done");
    assert_eq!(sending["activity_id"], email["id"]);
    assert!(email["subject"].as_str().unwrap().contains(number));

    let feed = app.feed(1).await;
    let event = feed.iter().find(|e| e["type"] == "quote.sent").expect("quote.sent");
    assert_eq!(event["data"]["quote"]["status"], "sent");
    assert_eq!(event["data"]["previous"]["status"], "draft");
    assert!(
        feed.iter()
            .any(|e| e["type"] == "activity.created" && e["subject_id"] == email["id"])
    );
}

#[tokio::test]
async fn recipients_subject_and_text_can_be_given_and_a_sent_quote_sent_again() {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let (_, _, quote) = quote_for_anna(&app, "QEG").await;
    let body = json!({
        "to": ["Einkauf <einkauf@kunde.example>", "chef@kunde.example"], "cc": ["buchhaltung@kunde.example"],
        "subject": "Angebot {{ quote.number }} für {{ partner.name }}",
        "message": "Hallo {{ contact.first_name }},\n\nsiehe Anhang.", "acceptance_link": false
    });
    let first = json_with(send(&app, &quote, &body).await, StatusCode::OK).await;
    let reminder = json_with(
        app.request(Method::POST, &send_path(&quote), &app.admin())
            .header("If-Match", format!("\"{}\"", first["version"]))
            .json(&json!({"attach_pdf": false, "to": ["einkauf@kunde.example"]}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(reminder["status"], "sent");
    assert_eq!(
        reminder["sent_at"], first["sent_at"],
        "a reminder keeps the first sending time"
    );

    let received = smtp.received();
    assert_eq!(received.len(), 2);
    let mut rcpts = received[0].to.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        [
            "buchhaltung@kunde.example",
            "chef@kunde.example",
            "einkauf@kunde.example"
        ]
    );
    let message = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(
        message.subject().map(str::to_owned),
        Some(format!("Angebot {} für QEG GmbH", quote["number"].as_str().unwrap()))
    );
    assert_eq!(
        message.body_text(0).unwrap().replace("\r\n", "\n").trim_end(),
        "Hallo Anna,\n\nsiehe Anhang."
    );
    assert!(!message.body_text(0).unwrap().contains("/public/quotes/"));
    let second = MessageParser::default().parse(&received[1].data).unwrap();
    assert_eq!(second.attachments().count(), 0, "attach_pdf: false");

    let recorded = sendings(&app, &quote).await;
    assert_eq!(recorded.len(), 2);
    assert_eq!(
        recorded[0]["to"],
        json!(["Einkauf <einkauf@kunde.example>", "chef@kunde.example"])
    );
    assert_eq!(recorded[0]["cc"], json!(["buchhaltung@kunde.example"]));
    assert_eq!(recorded[0]["acceptance_link"], false);
    assert_eq!(recorded[1]["pdf_sha256"], Value::Null);
}

#[tokio::test]
async fn a_refused_email_is_a_502_and_changes_nothing() {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let (opportunity, _, quote) = quote_for_anna(&app, "QER").await;
    let before = app.feed(1).await.len();

    let refused = problem(
        send(&app, &quote, &json!({"to": ["refuse@kunde.example"]})).await,
        StatusCode::BAD_GATEWAY,
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("550"), "{refused}");

    assert_eq!(get_ok(&app, &quote_path(&quote)).await["status"], "draft");
    assert!(sendings(&app, &quote).await.is_empty());
    let activities = items(
        &app,
        &app.admin(),
        &format!("/api/v1/opportunities/{}/activities", id(&opportunity)),
    )
    .await;
    assert!(activities.iter().all(|a| a["kind"] != "email"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.feed(0).await.len(), before, "no event");

    let unreachable = spawn_app_with_mail(TestMail::Smtp("smtp://127.0.0.1:9?tls=none".to_owned())).await;
    let (_, _, quote) = quote_for_anna(&unreachable, "QEU").await;
    problem(send(&unreachable, &quote, &json!({})).await, StatusCode::BAD_GATEWAY).await;
    assert_eq!(get_ok(&unreachable, &quote_path(&quote)).await["status"], "draft");
}

#[tokio::test]
async fn without_an_smtp_server_sending_is_a_503_naming_smtp_url() {
    let app = spawn_app_with_mail(TestMail::Off).await;
    let (_, _, quote) = quote_for_anna(&app, "QEO").await;
    let answer = problem(send(&app, &quote, &json!({})).await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(answer["detail"].as_str().unwrap().contains("SMTP_URL"), "{answer}");
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["status"], "draft");
}

#[tokio::test]
async fn the_embedded_default_writes_eml_files() {
    let app = spawn_app_with_mail(TestMail::Files).await;
    let (_, _, quote) = quote_for_anna(&app, "QEF").await;
    json_with(send(&app, &quote, &json!({})).await, StatusCode::OK).await;
    let files: Vec<_> = std::fs::read_dir(app.db.mail_folder())
        .unwrap()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let message = std::fs::read(files[0].path()).unwrap();
    let parsed = MessageParser::default().parse(&message).unwrap();
    assert_eq!(
        parsed.to().and_then(|to| to.first()).and_then(|a| a.address()),
        Some("anna.schmidt@kunde.example")
    );
    assert_eq!(parsed.attachments().count(), 1);
}

#[tokio::test]
async fn smtp_credentials_come_from_the_url() {
    let smtp = SmtpPeer::start(Some(("angebote", "geheim 1")));
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url("angebote:geheim%201@"))).await;
    let (_, _, quote) = quote_for_anna(&app, "QEA").await;
    json_with(send(&app, &quote, &json!({})).await, StatusCode::OK).await;
    assert_eq!(smtp.received().len(), 1);

    let wrong = spawn_app_with_mail(TestMail::Smtp(smtp.url("angebote:falsch@"))).await;
    let (_, _, quote) = quote_for_anna(&wrong, "QEW").await;
    problem(send(&wrong, &quote, &json!({})).await, StatusCode::BAD_GATEWAY).await;
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn bad_requests_are_422s_naming_each_field() {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let (_, _, quote) = quote_for_anna(&app, "QEV").await;
    let cases = [
        (
            json!({"to": ["kein Empfänger"], "cc": ["ok@kunde.example", "@@"]}),
            vec!["cc[1]", "to[0]"],
        ),
        (json!({"to": []}), vec!["to"]),
        (
            json!({"message": "{{ quote.nummer }}", "subject": "{% if %}"}),
            vec!["message", "subject"],
        ),
        (
            json!({"attach_pdf": "yes", "bcc": ["x@y.example"]}),
            vec!["attach_pdf", "bcc"],
        ),
    ];
    for (body, fields) in cases {
        let answer = problem(send(&app, &quote, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        let mut named = error_fields(&answer);
        named.sort();
        assert_eq!(named, fields, "{body}");
    }
    assert!(smtp.received().is_empty());

    // No contact e-mail and no partner e-mail: the recipients must be named.
    let (_, opportunity) = quotable(&app, "QEN").await;
    let anonymous = new_quote(&app, &opportunity).await;
    let answer = problem(
        send(&app, &anonymous, &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&answer), ["to"]);
    assert_eq!(get_ok(&app, &quote_path(&anonymous)).await["status"], "draft");
}

#[tokio::test]
async fn the_settings_hold_the_templates_and_refuse_unknown_placeholders() {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let bad = problem(
        app.patch(
            "/api/v1/settings",
            &app.admin(),
            &json!({"quote_email_subject": "{{ angebot }}", "quote_email_text": "{% for %}"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["quote_email_subject", "quote_email_text"]);
    json_with(
        app.patch(
            "/api/v1/settings",
            &app.admin(),
            &json!({"quote_email_subject": "Angebot {{ quote.number }}", "quote_email_text": "{{ greeting }} gültig bis {{ quote.valid_until }}"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (_, _, quote) = quote_for_anna(&app, "QES").await;
    json_with(send(&app, &quote, &json!({})).await, StatusCode::OK).await;
    let received = smtp.received();
    let message = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(
        message.subject().map(str::to_owned),
        Some(format!("Angebot {}", quote["number"].as_str().unwrap()))
    );
    let valid_until = quote["valid_until"].as_str().unwrap();
    let german = format!("{}.{}.{}", &valid_until[8..10], &valid_until[5..7], &valid_until[0..4]);
    assert_eq!(
        message.body_text(0).unwrap().trim_end(),
        format!("Sehr geehrte Frau Dr. Schmidt, gültig bis {german}")
    );
}

#[tokio::test]
async fn sending_follows_the_state_rules_the_version_and_the_roles() {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let (_, _, quote) = quote_for_anna(&app, "QEC").await;
    let stale = app
        .request(Method::POST, &send_path(&quote), &app.admin())
        .header("If-Match", "\"9\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let viewer = app.token_for(salesfunnel::access::Role::Viewer, "viewer");
    problem(
        app.post(&send_path(&quote), &viewer, &json!({})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let outsider = id(&app.create_user("aussen@autohaus.example", "rep").await);
    let rep = app.token_for(salesfunnel::access::Role::Rep, &outsider);
    problem(
        app.post(&send_path(&quote), &rep, &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get(&format!("{}/sendings", quote_path(&quote)), &rep).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(smtp.received().is_empty());

    act_on_ok(&app, &quote, "send").await;
    act_on_ok(&app, &quote, "accept").await;
    let answer = problem(send(&app, &quote, &json!({})).await, StatusCode::CONFLICT).await;
    assert!(answer["detail"].as_str().unwrap().contains("accepted"), "{answer}");

    let (_, _, other) = quote_for_anna(&app, "QEB").await;
    let batch = json!({"atomic": true, "operations": [
        {"method": "POST", "path": send_path(&other), "body": {}}
    ]});
    problem(
        app.post("/api/v1/batch", &app.admin(), &batch).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(get_ok(&app, &quote_path(&other)).await["status"], "draft");
    assert_eq!(smtp.received().len(), 1, "only the send before accepting");
}
