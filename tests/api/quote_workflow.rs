//! The life of a quote: texts, send/accept/reject, expiry, lists, If-Match, roles and the PDF.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::opportunities::{create, id, path_of};
use crate::quotes::*;

#[tokio::test]
async fn patch_changes_texts_and_validity_of_a_draft() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "PT").await;
    let quote = json_with(
        app.post(
            &quotes_of(&opportunity),
            &app.admin(),
            &json!({"valid_until": in_days(10), "customer_text": "Alt"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let response = app
        .request(Method::PATCH, &quote_path(&quote), &app.admin())
        .header("content-type", "application/merge-patch+json")
        .body(json!({"valid_until": in_days(60), "header_text": "Hallo", "customer_text": null}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let patched = json_with(response, StatusCode::OK).await;

    assert_eq!(patched["valid_until"], in_days(60));
    assert_eq!(patched["header_text"], "Hallo");
    assert_eq!(patched["footer_text"], quote["footer_text"]);
    assert_eq!(patched["customer_text"], Value::Null);
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["lines"], quote["lines"]);
    for (body, field) in [
        (json!({"valid_until": in_days(-1)}), "valid_until"),
        (json!({"valid_until": null}), "valid_until"),
        (json!({"header_text": null}), "header_text"),
        (json!({"number": "QT-999999"}), "number"),
        (json!({"net_total": "1.00"}), "net_total"),
    ] {
        let rejected = problem(
            app.patch(&quote_path(&quote), &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&rejected), [field], "{body}");
    }
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["version"], 2);
}

#[tokio::test]
async fn a_quote_is_sent_then_accepted_or_rejected_and_read_only_once_sent() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "ST").await;
    let quote = new_quote(&app, &opportunity).await;
    let draft = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();

    problem(act_on(&app, &draft, "reject").await, StatusCode::CONFLICT).await;
    problem(act_on(&app, &draft, "accept").await, StatusCode::CONFLICT).await;

    let sent = act_on_ok(&app, &quote, "send").await;
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string());
    assert_eq!(sent["decided_at"], Value::Null);
    assert_eq!(sent["version"], 2);

    // Sending again is a reminder: it stays sent, from the first time.
    let reminded = act_on_ok(&app, &quote, "send").await;
    assert_eq!(
        (&reminded["status"], &reminded["sent_at"]),
        (&sent["status"], &sent["sent_at"])
    );
    problem(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"customer_text": "x"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(&quote_lines(&quote), &app.admin(), &two_cars()).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&line_path(&quote, &line), &app.admin(), &json!({"quantity": 3}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.delete(&line_path(&quote, &line), &app.admin()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        get_ok(&app, &quote_path(&quote)).await,
        reminded,
        "the refused changes changed nothing"
    );

    let accepted = act_on_ok(&app, &quote, "accept").await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["sent_at"], sent["sent_at"]);
    assert!(accepted["decided_at"].is_string());
    for action in ["send", "accept", "reject"] {
        problem(act_on(&app, &quote, action).await, StatusCode::CONFLICT).await;
    }

    act_on_ok(&app, &draft, "send").await;
    let rejected = act_on_ok(&app, &draft, "reject").await;
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected["decided_at"].is_string());
    problem(act_on(&app, &draft, "accept").await, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn an_expired_draft_reads_expired_cannot_be_sent_and_can_be_extended() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "EX").await;
    let quote = new_quote(&app, &opportunity).await;
    expire(&app, &quote).await;

    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["status"], "expired");
    assert_eq!(listed(&app, &app.admin(), "status=expired").await, [id(&quote)]);
    assert!(listed(&app, &app.admin(), "status=draft").await.is_empty());
    problem(act_on(&app, &quote, "send").await, StatusCode::CONFLICT).await;
    problem(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"valid_until": in_days(-1)}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let extended = json_with(
        app.patch(&quote_path(&quote), &app.admin(), &json!({"valid_until": in_days(14)}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(extended["status"], "draft");
    assert_eq!(extended["valid_until"], in_days(14));
    assert_eq!(act_on_ok(&app, &quote, "send").await["status"], "sent");
}

#[tokio::test]
async fn the_quote_list_filters_by_status_opportunity_and_partner_and_pages_by_cursor() {
    let app = spawn_app().await;
    let (a, first) = quotable(&app, "LA").await;
    let (b, second) = quotable(&app, "LB").await;
    let sent = new_quote(&app, &first).await;
    let expired = new_quote(&app, &first).await;
    let draft = new_quote(&app, &first).await;
    let accepted = new_quote(&app, &second).await;
    act_on_ok(&app, &sent, "send").await;
    expire(&app, &expired).await;
    act_on_ok(&app, &accepted, "send").await;
    act_on_ok(&app, &accepted, "accept").await;
    let token = app.admin();

    // Newest first.
    let all = [id(&accepted), id(&draft), id(&expired), id(&sent)];
    assert_eq!(listed(&app, &token, "").await, all);
    assert_eq!(listed(&app, &token, "status=draft").await, [id(&draft)]);
    assert_eq!(listed(&app, &token, "status=expired").await, [id(&expired)]);
    assert_eq!(listed(&app, &token, "status=sent").await, [id(&sent)]);
    assert_eq!(listed(&app, &token, "status=accepted").await, [id(&accepted)]);
    assert!(listed(&app, &token, "status=rejected").await.is_empty());
    assert_eq!(
        listed(&app, &token, &format!("opportunity_id={}", id(&first))).await,
        [id(&draft), id(&expired), id(&sent)]
    );
    assert_eq!(
        listed(&app, &token, &format!("business_partner_id={}", b.partner)).await,
        [id(&accepted)]
    );
    assert_eq!(
        listed(&app, &token, &format!("business_partner_id={}&status=sent", a.partner)).await,
        [id(&sent)]
    );
    problem(
        app.get(&format!("{QUOTES}?status=lost"), &token).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let listed_expired = items(&app, &token, &format!("{QUOTES}?status=expired")).await;
    assert_eq!(listed_expired[0]["status"], "expired");
    assert_eq!(listed_expired[0]["lines"].as_array().unwrap().len(), 1);

    // One at a time, through next_cursor.
    let mut seen = Vec::new();
    let mut path = format!("{QUOTES}?limit=1");
    loop {
        let page = get_ok(&app, &path).await;
        let page_items = page["items"].as_array().unwrap();
        assert_eq!(page_items.len(), 1, "{page}");
        seen.push(id(&page_items[0]));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{QUOTES}?limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= all.len(), "the cursor loops: {seen:?}");
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn an_opportunity_lists_its_quote_history_newest_first() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "HI").await;
    let other = create(&app, &s, "Andere").await;
    add_line(&app, &other, &two_cars()).await;
    let one = new_quote(&app, &opportunity).await;
    new_quote(&app, &other).await;
    let two = new_quote(&app, &opportunity).await;

    let history = items(&app, &app.admin(), &quotes_of(&opportunity)).await;
    let revisions: Vec<(String, i64)> = history
        .iter()
        .map(|q| (id(q), q["revision"].as_i64().unwrap()))
        .collect();
    assert_eq!(revisions, [(id(&two), 2), (id(&one), 1)]);

    let first_page = get_ok(&app, &format!("{}?limit=1", quotes_of(&opportunity))).await;
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let second_page = get_ok(&app, &format!("{}?limit=1&cursor={cursor}", quotes_of(&opportunity))).await;
    assert_eq!(second_page["items"][0]["id"], one["id"]);
    assert_eq!(second_page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_quote_keeps_the_partner_it_was_made_for() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "BP").await;
    let before = new_quote(&app, &opportunity).await;
    let new_partner = id(&app
        .create_partner(json!({"kind": "lead", "name": "Neuer Kunde AG"}))
        .await);
    json_with(
        app.patch(
            &path_of(&opportunity),
            &app.admin(),
            &json!({"business_partner_id": new_partner}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let after = new_quote(&app, &opportunity).await;

    assert_eq!(
        get_ok(&app, &quote_path(&before)).await["business_partner_id"].as_str(),
        Some(s.partner.as_str())
    );
    assert_eq!(after["business_partner_id"].as_str(), Some(new_partner.as_str()));
    assert_eq!(
        listed(&app, &app.admin(), &format!("business_partner_id={}", s.partner)).await,
        [id(&before)]
    );
}

#[tokio::test]
async fn if_match_guards_every_change_of_a_quote_and_its_lines() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "IM").await;
    let quote = new_quote(&app, &opportunity).await;
    let other = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();
    let stale = "\"7\"";
    let with = |method: Method, path: String, tag: &'static str| {
        app.request(method, &path, &app.admin()).header("If-Match", tag)
    };

    problem(
        with(Method::PATCH, quote_path(&quote), stale)
            .json(&json!({"customer_text": "x"}))
            .send()
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    for (target, action) in [(&other, "make-primary"), (&quote, "send")] {
        problem(
            with(Method::POST, format!("{}/{action}", quote_path(target)), stale)
                .send()
                .await
                .unwrap(),
            StatusCode::PRECONDITION_FAILED,
        )
        .await;
    }
    problem(
        with(Method::PATCH, line_path(&quote, &line), stale)
            .json(&json!({"quantity": 3}))
            .send()
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    problem(
        with(Method::DELETE, line_path(&quote, &line), stale)
            .send()
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, quote);
    assert_eq!(get_ok(&app, &quote_path(&other)).await["is_primary"], false);

    // The current versions pass.
    let patched = json_with(
        with(Method::PATCH, quote_path(&quote), "\"1\"")
            .json(&json!({"customer_text": "x"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["version"], 2);
    json_with(
        with(Method::PATCH, line_path(&quote, &line), "\"1\"")
            .json(&json!({"quantity": 3}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let sent = json_with(
        with(Method::POST, format!("{}/send", quote_path(&quote)), "\"3\"")
            .json(&json!({"to": [CUSTOMER_EMAIL]}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["status"], "sent");
    json_with(
        with(Method::POST, format!("{}/make-primary", quote_path(&other)), "\"1\"")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_viewer_reads_quotes_but_writes_nothing_and_no_token_is_401() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "VW").await;
    let quote = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();
    let viewer = app.token_for(Role::Viewer, "viewer");
    let integration = app.token_for(Role::Integration, "erp");

    for token in [&viewer, &integration] {
        json_with(app.get(&quote_path(&quote), token).await, StatusCode::OK).await;
        assert_eq!(listed(&app, token, "").await, [id(&quote)]);
        assert_eq!(items(&app, token, &quotes_of(&opportunity)).await.len(), 1);
        assert_eq!(items(&app, token, &quote_lines(&quote)).await.len(), 1);
        let pdf = app.get(&format!("{}/pdf", quote_path(&quote)), token).await;
        assert_eq!(pdf.status(), StatusCode::OK);
        json_with(
            app.get(&format!("{}/offer", quote_path(&quote)), token).await,
            StatusCode::OK,
        )
        .await;

        let writes = [
            app.post(&quotes_of(&opportunity), token, &valid_for_30_days()).await,
            app.patch(&quote_path(&quote), token, &json!({"customer_text": "x"}))
                .await,
            app.post(&quote_lines(&quote), token, &two_cars()).await,
            app.patch(&line_path(&quote, &line), token, &json!({"quantity": 3}))
                .await,
            app.delete(&line_path(&quote, &line), token).await,
        ];
        for response in writes {
            problem(response, StatusCode::FORBIDDEN).await;
        }
        for action in ["send", "accept", "reject", "make-primary"] {
            let response = app
                .request(Method::POST, &format!("{}/{action}", quote_path(&quote)), token)
                .send()
                .await
                .unwrap();
            problem(response, StatusCode::FORBIDDEN).await;
        }
    }
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, quote);

    for path in [
        QUOTES.to_owned(),
        quote_path(&quote),
        quote_lines(&quote),
        quotes_of(&opportunity),
        format!("{}/pdf", quote_path(&quote)),
        format!("{}/offer", quote_path(&quote)),
    ] {
        problem(
            app.anonymous(Method::GET, &path).send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    problem(
        app.anonymous(Method::POST, &quotes_of(&opportunity))
            .json(&valid_for_30_days())
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_rep_works_on_the_quotes_they_see_and_gets_404_for_the_others() {
    let app = spawn_app().await;
    let (s, opportunity) = quotable(&app, "RP").await;
    let quote = new_quote(&app, &opportunity).await;
    let line = quote["lines"][0].clone();
    let owner = app.token_for(Role::Rep, &s.owner);
    let outsider_id = id(&app.create_user("outsider@example.com", "rep").await);
    let outsider = app.token_for(Role::Rep, &outsider_id);

    // The owner sees and changes them.
    json_with(app.get(&quote_path(&quote), &owner).await, StatusCode::OK).await;
    let own = new_quote_as(&app, &owner, &opportunity).await;
    assert_eq!(own["created_by"].as_str(), Some(s.owner.as_str()));
    assert_eq!(listed(&app, &owner, "").await, [id(&own), id(&quote)]);

    // The outsider does not.
    for path in [
        quote_path(&quote),
        quote_lines(&quote),
        format!("{}/pdf", quote_path(&quote)),
        format!("{}/offer", quote_path(&quote)),
        quotes_of(&opportunity),
    ] {
        problem(app.get(&path, &outsider).await, StatusCode::NOT_FOUND).await;
    }
    let writes = [
        app.patch(&quote_path(&quote), &outsider, &json!({"customer_text": "x"}))
            .await,
        app.post(&quote_lines(&quote), &outsider, &two_cars()).await,
        app.patch(&line_path(&quote, &line), &outsider, &json!({"quantity": 3}))
            .await,
        app.delete(&line_path(&quote, &line), &outsider).await,
        app.post(&quotes_of(&opportunity), &outsider, &valid_for_30_days())
            .await,
    ];
    for response in writes {
        problem(response, StatusCode::NOT_FOUND).await;
    }
    for action in ["send", "accept", "reject", "make-primary"] {
        let response = app
            .request(Method::POST, &format!("{}/{action}", quote_path(&own)), &outsider)
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::NOT_FOUND).await;
    }
    assert!(listed(&app, &outsider, "").await.is_empty());
    assert!(
        listed(&app, &outsider, &format!("opportunity_id={}", id(&opportunity)))
            .await
            .is_empty()
    );
    assert!(
        listed(&app, &outsider, &format!("business_partner_id={}", s.partner))
            .await
            .is_empty()
    );
    assert_eq!(get_ok(&app, &quote_path(&quote)).await, quote);

    // Joining the funnel's team makes them visible.
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", s.funnel),
            &app.admin(),
            &json!({"team_ids": [outsider_id]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed(&app, &outsider, "").await, [id(&own), id(&quote)]);
    json_with(app.get(&quote_path(&quote), &outsider).await, StatusCode::OK).await;
}

/// The text of a PDF: pdftotext where installed, else the pure-Rust extractor.
pub fn pdf_text(bytes: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    match child {
        Ok(mut child) => {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "pdftotext failed");
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Err(_) => pdf_extract::extract_text_from_mem(bytes).unwrap(),
    }
}

#[tokio::test]
async fn the_pdf_shows_number_partner_and_gross_total() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "PDF").await;
    let quote = new_quote(&app, &opportunity).await;

    let response = app.get(&format!("{}/pdf", quote_path(&quote)), &app.admin()).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type").as_deref(), Some("application/pdf"));
    let disposition = header(&response, "content-disposition").unwrap_or_default();
    assert!(disposition.contains("QT-000001.pdf"), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let text = pdf_text(&bytes);
    for expected in ["QT-000001", "PDF GmbH", "119.000,00", "VW ID.4 Pro"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[tokio::test]
async fn an_opportunity_with_quotes_cannot_be_deleted() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "DL").await;
    let quote = new_quote(&app, &opportunity).await;

    problem(
        app.delete(&path_of(&opportunity), &app.admin()).await,
        StatusCode::CONFLICT,
    )
    .await;

    get_ok(&app, &quote_path(&quote)).await;
}

#[tokio::test]
async fn a_manager_quotes_and_sends_for_every_opportunity() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "MG").await;
    let manager = app.token_for(
        Role::Manager,
        &id(&app.create_user("chefin@example.com", "manager").await),
    );

    let quote = new_quote_as(&app, &manager, &opportunity).await;
    let sent = json_with(
        app.request(Method::POST, &format!("{}/send", quote_path(&quote)), &manager)
            .json(&json!({"to": [CUSTOMER_EMAIL]}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    assert_eq!(sent["status"], "sent");
    assert_eq!(listed(&app, &manager, "status=sent").await, [id(&quote)]);
}
