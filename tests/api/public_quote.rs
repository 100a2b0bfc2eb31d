//! The public quote page a quote e-mail links to: the offer without a login, its PDF, the
//! customer's Accept / Decline with the API's acceptance rules, and links that no longer work
//! (superseded, revoked, expired, unknown). The same page in Chromium: `.ci/browser`.

use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestMail, json_with, spawn_app_with_mail};
use crate::opportunities::id;
use crate::quotes::*;
use crate::smtp_peer::SmtpPeer;

/// An app whose e-mails go to `smtp`, and a client that does not follow redirects.
async fn app_and_smtp() -> (TestApp, SmtpPeer, reqwest::Client) {
    let smtp = SmtpPeer::start(None);
    let app = spawn_app_with_mail(TestMail::Smtp(smtp.url(""))).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (app, smtp, browser)
}

/// Sends `quote` with a link and returns the link from the e-mail that arrived.
async fn send_with_link(app: &TestApp, smtp: &SmtpPeer, quote: &Value) -> String {
    json_with(
        app.post(
            &format!("{}/send", quote_path(quote)),
            &app.admin(),
            &json!({"to": [CUSTOMER_EMAIL]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let received = smtp.received();
    let message = MessageParser::default().parse(&received.last().unwrap().data).unwrap();
    let text = message.body_text(0).unwrap().into_owned();
    text.lines()
        .find(|line| line.contains("/public/quotes/"))
        .expect("a link in the e-mail")
        .trim()
        .to_owned()
}

async fn page(browser: &reqwest::Client, link: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = browser.get(link).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn decide(browser: &reqwest::Client, link: &str, decision: &str, name: &str) -> reqwest::Response {
    browser
        .post(format!("{link}/{decision}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("User-Agent", "Testbrowser/1.0")
        .body(format!("name={}", name.replace(' ', "+")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_link_shows_the_offer_and_its_pdf_without_a_login() {
    let (app, smtp, browser) = app_and_smtp().await;
    let (_, opportunity) = quotable(&app, "PQS").await;
    add_line(
        &app,
        &opportunity,
        &json!({"description": "<script>alert(1)</script> & Räder", "quantity": 1, "unit_price": "10.00"}),
    )
    .await;
    let quote = new_quote(&app, &opportunity).await;
    let link = send_with_link(&app, &smtp, &quote).await;
    assert!(link.starts_with(&format!("{}/public/quotes/", app.address)), "{link}");

    let (status, headers, html) = page(&browser, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let number = quote["number"].as_str().unwrap();
    assert!(html.contains(&format!("Angebot {number}")), "{html}");
    assert!(html.contains("VW ID.4 Pro") && html.contains("119.011,90 €"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; Räder"),
        "escaped: {html}"
    );
    assert!(!html.contains("<script>"));
    assert!(html.contains("Angebot annehmen") && html.contains("Ablehnen"));
    assert!(
        !html.contains("http://") || html.contains(&app.address),
        "no external assets"
    );

    let pdf = browser.get(format!("{link}/pdf")).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let served = app
        .get(&format!("{}/pdf", quote_path(&quote)), &app.admin())
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(pdf.bytes().await.unwrap(), served);
}

#[tokio::test]
async fn accepting_online_accepts_the_quote_with_the_api_rules_and_records_who() {
    let (app, smtp, browser) = app_and_smtp().await;
    json_with(
        app.patch("/api/v1/settings", &app.admin(), &json!({"win_on_quote_accept": true}))
            .await,
        StatusCode::OK,
    )
    .await;
    let (_, opportunity) = quotable(&app, "PQA").await;
    let quote = new_quote(&app, &opportunity).await;
    let link = send_with_link(&app, &smtp, &quote).await;

    let decided = decide(&browser, &link, "accept", "Anna Schmidt").await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    assert_eq!(decided.headers()["location"], link.as_str());

    let accepted = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(
        accepted["customer_decision"],
        json!({"name": "Anna Schmidt", "client_address": "127.0.0.1", "user_agent": "Testbrowser/1.0"})
    );
    assert!(accepted["decided_at"].is_string());
    let won = get_ok(&app, &format!("/api/v1/opportunities/{}", id(&opportunity))).await;
    assert_eq!(won["status"], "won", "settings.win_on_quote_accept");
    let feed = app.feed(1).await;
    let event = feed.iter().find(|e| e["type"] == "quote.accepted").unwrap();
    assert_eq!(event["actor"], "customer (online)");
    assert_eq!(event["data"]["quote"]["customer_decision"]["name"], "Anna Schmidt");

    let (status, _, html) = page(&browser, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("angenommen") && html.contains("von Anna Schmidt"),
        "{html}"
    );
    assert!(!html.contains("Angebot annehmen"), "no second decision");
    let pdf = app
        .get(&format!("{}/pdf", quote_path(&quote)), &app.admin())
        .await
        .bytes()
        .await
        .unwrap();
    let text = crate::quote_workflow::pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let today = chrono::Utc::now().format("%d.%m.%Y").to_string();
    assert!(
        text.contains(&format!("Angenommen am {today} von Anna Schmidt")),
        "{text}"
    );
    let again = decide(&browser, &link, "decline", "Anna Schmidt").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["status"], "accepted");
}

#[tokio::test]
async fn declining_online_rejects_the_quote_and_a_name_is_required() {
    let (app, smtp, browser) = app_and_smtp().await;
    let (_, opportunity) = quotable(&app, "PQD").await;
    let quote = new_quote(&app, &opportunity).await;
    let link = send_with_link(&app, &smtp, &quote).await;

    let json = browser
        .post(format!("{link}/decline"))
        .json(&json!({"name": "Kim"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let nameless = decide(&browser, &link, "decline", "  ").await;
    assert_eq!(nameless.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nameless
            .text()
            .await
            .unwrap()
            .contains("Bitte geben Sie Ihren Namen an.")
    );
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["status"], "sent");

    assert_eq!(
        decide(&browser, &link, "decline", "Kim Meier").await.status(),
        StatusCode::SEE_OTHER
    );
    let rejected = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["customer_decision"]["name"], "Kim Meier");
    let (_, _, html) = page(&browser, &link).await;
    assert!(html.contains("abgelehnt"), "{html}");
}

#[tokio::test]
async fn superseded_expired_and_unknown_links_say_so() {
    let (app, smtp, browser) = app_and_smtp().await;
    let (_, opportunity) = quotable(&app, "PQG").await;
    let first = new_quote(&app, &opportunity).await;
    let old_link = send_with_link(&app, &smtp, &first).await;
    let second = new_quote(&app, &opportunity).await;
    let new_link = send_with_link(&app, &smtp, &second).await;

    let (status, _, html) = page(&browser, &old_link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("neuere Fassung"), "{html}");
    assert!(!html.contains("Angebot annehmen"));
    assert_eq!(
        decide(&browser, &old_link, "accept", "Anna Schmidt").await.status(),
        StatusCode::GONE
    );
    assert_eq!(
        browser.get(format!("{old_link}/pdf")).send().await.unwrap().status(),
        StatusCode::GONE
    );
    assert_eq!(
        get_ok(&app, &quote_path(&first)).await["status"],
        "sent",
        "revoked, not decided"
    );
    assert_eq!(page(&browser, &new_link).await.0, StatusCode::OK);

    expire(&app, &second).await;
    let (status, _, html) = page(&browser, &new_link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("abgelaufen"), "{html}");

    // Accepting one quote supersedes its sent siblings: their links are gone too.
    let (_, other) = quotable(&app, "PQH").await;
    let a = new_quote(&app, &other).await;
    let b = new_quote(&app, &other).await;
    let link_b = send_with_link(&app, &smtp, &b).await;
    act_on_ok(&app, &a, "send").await;
    act_on_ok(&app, &a, "accept").await;
    let (status, _, _) = page(&browser, &link_b).await;
    assert_eq!(status, StatusCode::GONE);

    let unknown = format!("{}/public/quotes/{}", app.address, "A".repeat(43));
    let (status, headers, html) = page(&browser, &unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(html.contains("führt zu keinem Angebot"), "{html}");
}
