//! Contact persons of business partners: create, read, list, change and delete; one primary
//! contact per partner; the search across partners; who may write; the events in the feed; and
//! the demo contacts.

use std::process::Command;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, error_fields, header, json_with, problem, spawn_app};

fn contacts_of(partner: &Value) -> String {
    format!("/api/v1/business-partners/{}/contacts", partner["id"].as_str().unwrap())
}

fn path_of(contact: &Value) -> String {
    format!(
        "/api/v1/business-partners/{}/contacts/{}",
        contact["business_partner_id"].as_str().unwrap(),
        contact["id"].as_str().unwrap()
    )
}

async fn partner(app: &TestApp, name: &str) -> Value {
    app.create_partner(json!({"kind": "customer", "name": name})).await
}

async fn create(app: &TestApp, partner: &Value, body: Value) -> Value {
    json_with(
        app.post(&contacts_of(partner), &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn read(app: &TestApp, contact: &Value) -> Value {
    json_with(app.get(&path_of(contact), &app.admin()).await, StatusCode::OK).await
}

/// A write with `If-Match: "<version>"`.
async fn send_if(app: &TestApp, method: Method, path: &str, version: i64, body: Option<Value>) -> reqwest::Response {
    let mut request = app
        .request(method, path, &app.admin())
        .header("If-Match", format!("\"{version}\""));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The last names of a list page, in order.
async fn last_names(app: &TestApp, path: &str) -> Vec<String> {
    let page = json_with(app.get(path, &app.admin()).await, StatusCode::OK).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["last_name"].as_str().unwrap().to_owned())
        .collect()
}

/// The partner's contacts that are primary, by last name.
async fn primaries(app: &TestApp, partner: &Value) -> Vec<String> {
    let page = json_with(
        app.get(&format!("{}?limit=200", contacts_of(partner)), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .map(|c| c["last_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_contact_is_created_read_listed_changed_and_deleted() {
    let app = spawn_app().await;
    let p = partner(&app, "Autohaus Müller GmbH").await;
    let response = app
        .post(
            &contacts_of(&p),
            &app.admin(),
            &json!({"salutation": " Frau ", "title": "Dr.", "first_name": "Anna", "last_name": " Schmidt ",
                    "email": "anna.schmidt@mueller.example", "phone": "+49 89 1234567-12",
                    "mobile": "+49 171 2345678", "position": "Leiterin Fuhrpark"}),
        )
        .await;
    let (location, etag) = (header(&response, "location"), header(&response, "etag"));
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(
        (&created["salutation"], &created["last_name"]),
        (&json!("Frau"), &json!("Schmidt")),
        "names are trimmed"
    );
    assert_eq!(created["business_partner_id"], p["id"]);
    assert_eq!(
        (&created["is_primary"], &created["active"], &created["version"]),
        (&json!(false), &json!(true), &json!(1))
    );
    assert_eq!(created["created_by"], "admin");
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));

    let viewer = app.token_for(Role::Viewer, "viewer");
    let response = app.get(&path_of(&created), &viewer).await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json_with(response, StatusCode::OK).await, created);
    let unchanged = app
        .request(Method::GET, &path_of(&created), &viewer)
        .header("If-None-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(last_names(&app, &contacts_of(&p)).await, ["Schmidt"]);

    let changed = json_with(
        send_if(
            &app,
            Method::PATCH,
            &path_of(&created),
            1,
            Some(json!({"position": "Geschäftsführerin", "mobile": null, "title": null})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["position"], "Geschäftsführerin");
    assert!(changed["mobile"].is_null() && changed["title"].is_null());
    assert_eq!(
        (&changed["first_name"], &changed["version"]),
        (&json!("Anna"), &json!(2))
    );

    let deleted = send_if(&app, Method::DELETE, &path_of(&created), 2, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path_of(&created), &app.admin()).await, StatusCode::NOT_FOUND).await;
    assert!(last_names(&app, &contacts_of(&p)).await.is_empty());
}

#[tokio::test]
async fn a_create_with_an_idempotency_key_creates_one_contact() {
    let app = spawn_app().await;
    let p = partner(&app, "Einmal GmbH").await;
    let send = |body: Value| {
        app.request(Method::POST, &contacts_of(&p), &app.admin())
            .header("Idempotency-Key", "contact-1")
            .json(&body)
            .send()
    };
    let first = json_with(send(json!({"last_name": "Weber"})).await.unwrap(), StatusCode::CREATED).await;
    let again = send(json!({"last_name": "Weber"})).await.unwrap();
    assert_eq!(header(&again, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(json_with(again, StatusCode::CREATED).await, first);
    problem(
        send(json!({"last_name": "Other"})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(last_names(&app, &contacts_of(&p)).await, ["Weber"]);
}

#[tokio::test]
async fn invalid_fields_are_422_naming_each_field() {
    let app = spawn_app().await;
    let p = partner(&app, "Prüf AG").await;
    let missing = problem(
        app.post(&contacts_of(&p), &app.admin(), &json!({"first_name": "Ohne"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&missing), ["last_name"]);
    let bad = problem(
        app.post(
            &contacts_of(&p),
            &app.admin(),
            &json!({"last_name": "  ", "salutation": "Sehr geehrte Damen und Herren", "email": "kein-at",
                    "phone": "ruf mich an", "mobile": "12", "title": "", "is_primary": "ja", "nickname": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        [
            "email",
            "is_primary",
            "last_name",
            "mobile",
            "nickname",
            "phone",
            "salutation",
            "title"
        ]
    );
    let contact = create(&app, &p, json!({"last_name": "Gut"})).await;
    let patched = problem(
        app.patch(
            &path_of(&contact),
            &app.admin(),
            &json!({"last_name": null, "email": "x@", "active": null, "business_partner_id": p["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&patched),
        ["active", "business_partner_id", "email", "last_name"]
    );
    assert_eq!(read(&app, &contact).await["version"], 1, "nothing changed");
}

#[tokio::test]
async fn who_writes_partners_writes_their_contacts_and_everyone_reads_them() {
    let app = spawn_app().await;
    let p = partner(&app, "Rollen KG").await;
    let contact = create(&app, &p, json!({"last_name": "Lesbar"})).await;
    for role in [Role::Viewer, Role::Rep, Role::Manager, Role::Integration] {
        let token = app.token_for(role, "someone");
        json_with(app.get(&path_of(&contact), &token).await, StatusCode::OK).await;
        json_with(app.get(&contacts_of(&p), &token).await, StatusCode::OK).await;
        json_with(app.get("/api/v1/contacts", &token).await, StatusCode::OK).await;
    }
    let viewer = app.token_for(Role::Viewer, "viewer");
    problem(
        app.post(&contacts_of(&p), &viewer, &json!({"last_name": "Nein"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.patch(&path_of(&contact), &viewer, &json!({"last_name": "Nein"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(app.delete(&path_of(&contact), &viewer).await, StatusCode::FORBIDDEN).await;
    let anonymous = app.anonymous(Method::GET, &contacts_of(&p)).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;

    // Reps write partners, so they write (and delete) contacts of any partner.
    for role in [Role::Rep, Role::Manager, Role::Integration] {
        let token = app.token_for(role, "writer");
        let made = json_with(
            app.post(&contacts_of(&p), &token, &json!({"last_name": format!("{role:?}")}))
                .await,
            StatusCode::CREATED,
        )
        .await;
        json_with(
            app.patch(&path_of(&made), &token, &json!({"position": "Einkauf"}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            app.delete(&path_of(&made), &token).await.status(),
            StatusCode::NO_CONTENT
        );
    }
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let p = partner(&app, "Versionen GmbH").await;
    let contact = create(&app, &p, json!({"last_name": "Alt"})).await;
    json_with(
        app.patch(&path_of(&contact), &app.admin(), &json!({"last_name": "Neu"}))
            .await,
        StatusCode::OK,
    )
    .await;
    problem(
        send_if(
            &app,
            Method::PATCH,
            &path_of(&contact),
            1,
            Some(json!({"last_name": "Veraltet"})),
        )
        .await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    problem(
        send_if(&app, Method::DELETE, &path_of(&contact), 1, None).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let now = read(&app, &contact).await;
    assert_eq!((&now["last_name"], &now["version"]), (&json!("Neu"), &json!(2)));
}

#[tokio::test]
async fn a_contact_is_found_only_under_its_own_partner() {
    let app = spawn_app().await;
    let (mine, other) = (partner(&app, "Eigene AG").await, partner(&app, "Fremde AG").await);
    let contact = create(&app, &mine, json!({"last_name": "Eigen"})).await;
    let elsewhere = format!("{}/{}", contacts_of(&other), contact["id"].as_str().unwrap());
    problem(app.get(&elsewhere, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch(&elsewhere, &app.admin(), &json!({"last_name": "Fremd"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete(&elsewhere, &app.admin()).await, StatusCode::NOT_FOUND).await;
    let nobody = "/api/v1/business-partners/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10/contacts";
    problem(app.get(nobody, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.post(nobody, &app.admin(), &json!({"last_name": "Niemand"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(read(&app, &contact).await["last_name"], "Eigen");
}

#[tokio::test]
async fn making_a_contact_primary_demotes_the_previous_primary_one() {
    let app = spawn_app().await;
    let p = partner(&app, "Primär GmbH").await;
    let other = partner(&app, "Andere GmbH").await;
    let elsewhere = create(&app, &other, json!({"last_name": "Anderswo", "is_primary": true})).await;
    let first = create(&app, &p, json!({"last_name": "Erste", "is_primary": true})).await;
    let second = create(&app, &p, json!({"last_name": "Zweite", "is_primary": true})).await;
    assert_eq!(second["is_primary"], true);
    assert_eq!(primaries(&app, &p).await, ["Zweite"]);
    let demoted = read(&app, &first).await;
    assert_eq!(
        (&demoted["is_primary"], &demoted["version"]),
        (&json!(false), &json!(2))
    );

    let promoted = json_with(
        app.patch(&path_of(&first), &app.admin(), &json!({"is_primary": true}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(promoted["is_primary"], true);
    assert_eq!(primaries(&app, &p).await, ["Erste"]);
    assert_eq!(
        primaries(&app, &other).await,
        ["Anderswo"],
        "other partners keep theirs"
    );
    assert_eq!(read(&app, &elsewhere).await["version"], 1);

    // Making the primary one primary again changes no other contact.
    json_with(
        app.patch(&path_of(&first), &app.admin(), &json!({"is_primary": true}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read(&app, &second).await["version"], 2);
    // No primary contact at all is fine.
    json_with(
        app.patch(&path_of(&first), &app.admin(), &json!({"is_primary": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(primaries(&app, &p).await.is_empty());
}

#[tokio::test]
async fn concurrent_promotions_leave_exactly_one_primary_contact() {
    let app = spawn_app().await;
    let p = partner(&app, "Gleichzeitig AG").await;
    let mut contacts = Vec::new();
    for n in 0..6 {
        contacts.push(create(&app, &p, json!({"last_name": format!("Kontakt {n}")})).await);
    }
    let token = app.admin();
    let promotions = contacts.iter().map(|c| {
        app.request(Method::PATCH, &path_of(c), &token)
            .json(&json!({"is_primary": true}))
            .send()
    });
    let creations = (0..3).map(|n| {
        app.request(Method::POST, &contacts_of(&p), &token)
            .json(&json!({"last_name": format!("Neu {n}"), "is_primary": true}))
            .send()
    });
    let (promoted, created) = tokio::join!(join_all(promotions), join_all(creations));
    let promoted: Vec<StatusCode> = promoted.into_iter().map(|r| r.unwrap().status()).collect();
    let created: Vec<StatusCode> = created.into_iter().map(|r| r.unwrap().status()).collect();
    assert!(promoted.iter().all(|s| *s == StatusCode::OK), "{promoted:?}");
    assert!(created.iter().all(|s| *s == StatusCode::CREATED), "{created:?}");
    assert_eq!(primaries(&app, &p).await.len(), 1);
}

#[tokio::test]
async fn contacts_are_searched_across_partners_by_name_and_email() {
    let app = spawn_app().await;
    let (a, b) = (partner(&app, "Alpha GmbH").await, partner(&app, "Beta AG").await);
    create(
        &app,
        &a,
        json!({"first_name": "Anna", "last_name": "Schmidt", "email": "a.schmidt@alpha.example"}),
    )
    .await;
    create(
        &app,
        &a,
        json!({"first_name": "Peter", "last_name": "Berger", "email": "einkauf@alpha.example"}),
    )
    .await;
    create(
        &app,
        &b,
        json!({"first_name": "Peter", "last_name": "Schmidt", "active": false}),
    )
    .await;
    create(&app, &b, json!({"first_name": "Anna", "last_name": "Zimmermann_100%"})).await;

    assert_eq!(
        last_names(&app, "/api/v1/contacts?q=SCHMIDT").await,
        ["Schmidt", "Schmidt"]
    );
    assert_eq!(last_names(&app, "/api/v1/contacts?q=anna%20schmidt").await, ["Schmidt"]);
    assert_eq!(last_names(&app, "/api/v1/contacts?q=einkauf@").await, ["Berger"]);
    assert_eq!(
        last_names(&app, "/api/v1/contacts?q=_100%25").await,
        ["Zimmermann_100%"]
    );
    assert_eq!(
        last_names(&app, "/api/v1/contacts?q=schmidt&active=false").await,
        ["Schmidt"]
    );
    let b_id = b["id"].as_str().unwrap();
    assert_eq!(
        last_names(
            &app,
            &format!("/api/v1/contacts?business_partner_id={b_id}&sort=-last_name")
        )
        .await,
        ["Zimmermann_100%", "Schmidt"]
    );
    assert_eq!(
        last_names(&app, &format!("{}?q=peter", contacts_of(&a))).await,
        ["Berger"]
    );

    // Keyset pages: every contact once, in order.
    let mut seen = Vec::new();
    let mut url = "/api/v1/contacts?limit=1".to_owned();
    loop {
        let page = json_with(app.get(&url, &app.admin()).await, StatusCode::OK).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["last_name"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/api/v1/contacts?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Berger", "Schmidt", "Schmidt", "Zimmermann_100%"]);
}

#[tokio::test]
async fn a_partner_with_contacts_cannot_be_deleted() {
    let app = spawn_app().await;
    let p = partner(&app, "Kontaktreich GmbH").await;
    let contact = create(&app, &p, json!({"last_name": "Bleibt"})).await;
    let partner_path = format!("/api/v1/business-partners/{}", p["id"].as_str().unwrap());
    let refused = problem(app.delete(&partner_path, &app.admin()).await, StatusCode::CONFLICT).await;
    assert!(refused["detail"].as_str().unwrap().contains("contacts"), "{refused}");
    assert_eq!(read(&app, &contact).await["last_name"], "Bleibt");
    assert_eq!(
        app.delete(&path_of(&contact), &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&partner_path, &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_lead_converts_with_its_contacts() {
    let app = spawn_app().await;
    let lead = app
        .create_partner(json!({"kind": "lead", "name": "Interessent GmbH"}))
        .await;
    let contact = create(&app, &lead, json!({"last_name": "Bleibt", "is_primary": true})).await;
    let converted = json_with(
        app.post(
            &format!("/api/v1/business-partners/{}/convert", lead["id"].as_str().unwrap()),
            &app.admin(),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(converted["kind"], "customer");
    assert_eq!(read(&app, &contact).await, contact);
    assert_eq!(primaries(&app, &lead).await, ["Bleibt"]);
}

#[tokio::test]
async fn every_contact_write_is_in_the_feed() {
    let app = spawn_app().await;
    let p = partner(&app, "Feed Kontakt AG").await;
    let first = create(&app, &p, json!({"last_name": "Erste", "is_primary": true})).await;
    let second = create(&app, &p, json!({"last_name": "Zweite", "is_primary": true})).await;
    json_with(
        app.patch(
            &path_of(&second),
            &app.admin(),
            &json!({"email": "zweite@feed.example"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.delete(&path_of(&second), &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );

    // Partner created, first created, first demoted + second created, second updated, deleted.
    let events: Vec<Value> = app
        .feed(6)
        .await
        .into_iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("contact."))
        .collect();
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["subject_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (f, s) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let expected = [
        ("contact.created", f),
        ("contact.updated", f),
        ("contact.created", s),
        ("contact.updated", s),
        ("contact.deleted", s),
    ]
    .map(|(t, id)| (t.to_owned(), id.to_owned()));
    assert_eq!(summary, expected);
    assert_eq!(events[0]["data"]["contact"], first);
    assert_eq!(events[1]["data"]["previous"], json!({"is_primary": true}));
    assert_eq!(events[1]["data"]["contact"]["is_primary"], false);
    assert_eq!(events[2]["data"]["contact"], second);
    assert_eq!(events[3]["data"]["previous"], json!({"email": null}));
    assert_eq!(events[3]["data"]["contact"]["email"], "zweite@feed.example");
    assert_eq!(
        events[4]["data"]["contact"]["email"], "zweite@feed.example",
        "its last state"
    );
    assert!(events.iter().all(|e| e["actor"] == "admin"));
}

#[tokio::test]
async fn every_demo_partner_has_one_primary_contact() {
    let app = spawn_app().await;
    let output = Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
        .args(["seed", "--demo"])
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let partners = json_with(
        app.get("/api/v1/business-partners?limit=200", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let partners = partners["items"].as_array().unwrap();
    assert_eq!(partners.len(), 6);
    for p in partners {
        assert_eq!(primaries(&app, p).await.len(), 1, "{}", p["name"]);
    }
    let found = json_with(app.get("/api/v1/contacts?q=müller", &app.admin()).await, StatusCode::OK).await;
    let sabine = &found["items"][0];
    assert_eq!(
        (
            &sabine["salutation"],
            &sabine["title"],
            &sabine["first_name"],
            &sabine["last_name"]
        ),
        (&json!("Frau"), &json!("Dr."), &json!("Sabine"), &json!("Müller"))
    );
    assert_eq!(sabine["email"], "sabine.mueller@autohaus.example");
    // The contacts are valid as the API would take them.
    let again = json_with(
        app.patch(
            &path_of(sabine),
            &app.admin(),
            &json!({"phone": sabine["phone"], "email": sabine["email"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["version"], 2);
}
