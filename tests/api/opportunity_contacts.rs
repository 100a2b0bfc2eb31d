//! The contact persons of an opportunity (its buying centre) and of an activity: written on
//! create, replaced by PATCH and the upsert, checked against the partner, shown in events, kept
//! from deletion, and carried through a lead's conversion.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{Sales, create, id, new_body, path_of, sales};

fn contacts_of(partner: &str) -> String {
    format!("/api/v1/business-partners/{partner}/contacts")
}

pub async fn person(app: &TestApp, partner: &str, last_name: &str) -> String {
    id(&json_with(
        app.post(&contacts_of(partner), &app.admin(), &json!({"last_name": last_name}))
            .await,
        StatusCode::CREATED,
    )
    .await)
}

async fn deactivate(app: &TestApp, partner: &str, contact: &str) {
    json_with(
        app.patch(
            &format!("{}/{contact}", contacts_of(partner)),
            &app.admin(),
            &json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

pub fn entry(contact: &str, role: &str) -> Value {
    json!({"contact_id": contact, "role": role})
}

/// An opportunity of `s` with `contacts`.
pub async fn with_contacts(app: &TestApp, s: &Sales, subject: &str, contacts: Value) -> Value {
    let mut body = new_body(s, subject);
    body["contacts"] = contacts;
    json_with(
        app.post("/api/v1/opportunities", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn patched(app: &TestApp, opportunity: &Value, body: Value) -> Value {
    json_with(
        app.patch(&path_of(opportunity), &app.admin(), &body).await,
        StatusCode::OK,
    )
    .await
}

async fn refused(app: &TestApp, opportunity: &Value, body: Value) -> Value {
    problem(
        app.patch(&path_of(opportunity), &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn codes(problem: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn contacts_with_roles_are_written_on_create_replaced_by_patch_and_carried_by_events() {
    let app = spawn_app().await;
    let s = sales(&app, "OCA").await;
    let anna = person(&app, &s.partner, "Schmidt").await;
    let ben = person(&app, &s.partner, "Berger").await;

    let created = with_contacts(
        &app,
        &s,
        "Buying centre",
        json!([entry(&anna, "decision_maker"), entry(&ben, "buyer")]),
    )
    .await;
    let expected = json!([entry(&anna, "decision_maker"), entry(&ben, "buyer")]);
    assert_eq!(created["contacts"], expected, "in the order given");
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["contacts"], expected);

    let replaced = patched(&app, &created, json!({"contacts": [entry(&ben, "technical")]})).await;
    assert_eq!(replaced["contacts"], json!([entry(&ben, "technical")]));
    assert_eq!(replaced["version"], created["version"].as_i64().unwrap() + 1);
    let untouched = patched(&app, &created, json!({"description": "contacts stay"})).await;
    assert_eq!(
        untouched["contacts"], replaced["contacts"],
        "a patch without contacts keeps them"
    );
    let cleared = patched(&app, &created, json!({"contacts": []})).await;
    assert_eq!(cleared["contacts"], json!([]));

    let feed = app.feed(6).await;
    let of_it: Vec<&Value> = feed.iter().filter(|e| e["subject_id"] == created["id"]).collect();
    let created_event = of_it.iter().find(|e| e["type"] == "opportunity.created").unwrap();
    assert_eq!(created_event["data"]["opportunity"]["contacts"], expected);
    let updates: Vec<&&Value> = of_it.iter().filter(|e| e["type"] == "opportunity.updated").collect();
    assert_eq!(updates.len(), 3);
    assert_eq!(
        updates[0]["data"]["opportunity"]["contacts"],
        json!([entry(&ben, "technical")])
    );
    assert_eq!(updates[0]["data"]["previous"]["contacts"], expected);
    assert_eq!(updates[2]["data"]["opportunity"]["contacts"], json!([]));
}

#[tokio::test]
async fn every_role_is_accepted_and_an_unknown_role_is_422() {
    let app = spawn_app().await;
    let s = sales(&app, "OCR").await;
    let roles = ["decision_maker", "buyer", "technical", "user", "influencer", "other"];
    let mut list = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        list.push(entry(&person(&app, &s.partner, &format!("Person {i}")).await, role));
    }
    let created = with_contacts(&app, &s, "Alle Rollen", Value::Array(list.clone())).await;
    assert_eq!(created["contacts"], Value::Array(list.clone()));

    let mut body = new_body(&s, "Falsche Rolle");
    body["contacts"] = json!([{"contact_id": list[0]["contact_id"], "role": "boss"}]);
    let wrong = problem(
        app.post("/api/v1/opportunities", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        error_fields(&wrong).iter().all(|f| f.starts_with("contacts")),
        "{wrong}"
    );
    body["contacts"] = json!([{"contact_id": list[0]["contact_id"], "role": "buyer", "since": 2020}]);
    problem(
        app.post("/api/v1/opportunities", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn contacts_are_active_persons_of_the_partner_named_once() {
    let app = spawn_app().await;
    let s = sales(&app, "OCV").await;
    let own = person(&app, &s.partner, "Eigen").await;
    let gone = person(&app, &s.partner, "Gegangen").await;
    deactivate(&app, &s.partner, &gone).await;
    let other_partner = id(&app
        .create_partner(json!({"kind": "customer", "name": "Andere AG"}))
        .await);
    let foreign = person(&app, &other_partner, "Fremd").await;
    let unknown = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f99";

    let mut body = new_body(&s, "Falsche Kontakte");
    body["contacts"] = json!([
        entry(&own, "buyer"),
        entry(&foreign, "buyer"),
        entry(&gone, "user"),
        entry(unknown, "other"),
        entry(&own, "technical"),
    ]);
    body["owner_id"] = json!(unknown);
    let refused_create = problem(
        app.post("/api/v1/opportunities", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        codes(&refused_create),
        [
            ("contacts[1].contact_id", "mismatch"),
            ("contacts[2].contact_id", "inactive"),
            ("contacts[3].contact_id", "not_found"),
            ("contacts[4].contact_id", "duplicate"),
            ("owner_id", "not_found"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned())),
        "one 422 with the other field errors: {refused_create}"
    );

    // The same rules on PATCH.
    let opportunity = with_contacts(&app, &s, "Richtig", json!([entry(&own, "buyer")])).await;
    let wrong = refused(&app, &opportunity, json!({"contacts": [entry(&foreign, "buyer")]})).await;
    assert_eq!(error_fields(&wrong), ["contacts[0].contact_id"]);
    let again = refused(
        &app,
        &opportunity,
        json!({"contacts": [entry(&own, "buyer"), entry(&own, "user")]}),
    )
    .await;
    assert_eq!(
        codes(&again),
        [("contacts[1].contact_id".to_owned(), "duplicate".to_owned())]
    );
    problem(
        app.patch(&path_of(&opportunity), &app.admin(), &json!({"contacts": null}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // A person who left stays on the opportunities that name them until replaced; re-sending
    // the list keeps them, adding them anew does not.
    deactivate(&app, &s.partner, &own).await;
    let kept = patched(&app, &opportunity, json!({"contacts": [entry(&own, "decision_maker")]})).await;
    assert_eq!(kept["contacts"], json!([entry(&own, "decision_maker")]));
    let other = with_contacts(&app, &s, "Ohne", json!([])).await;
    let inactive = refused(&app, &other, json!({"contacts": [entry(&own, "buyer")]})).await;
    assert_eq!(
        codes(&inactive),
        [("contacts[0].contact_id".to_owned(), "inactive".to_owned())]
    );
}

#[tokio::test]
async fn a_new_partner_needs_the_new_partners_contacts() {
    let app = spawn_app().await;
    let s = sales(&app, "OCP").await;
    let old = person(&app, &s.partner, "Alt").await;
    let opportunity = with_contacts(&app, &s, "Partnerwechsel", json!([entry(&old, "buyer")])).await;
    let new_partner = id(&app
        .create_partner(json!({"kind": "customer", "name": "Neue GmbH"}))
        .await);
    let fresh = person(&app, &new_partner, "Neu").await;

    let alone = refused(&app, &opportunity, json!({"business_partner_id": new_partner})).await;
    assert_eq!(codes(&alone), [("contacts".to_owned(), "mismatch".to_owned())]);
    let stale = refused(
        &app,
        &opportunity,
        json!({"business_partner_id": new_partner, "contacts": [entry(&old, "buyer")]}),
    )
    .await;
    assert_eq!(
        codes(&stale),
        [("contacts[0].contact_id".to_owned(), "mismatch".to_owned())]
    );
    let moved = patched(
        &app,
        &opportunity,
        json!({"business_partner_id": new_partner, "contacts": [entry(&fresh, "decision_maker")]}),
    )
    .await;
    assert_eq!(moved["business_partner_id"], json!(new_partner));
    assert_eq!(moved["contacts"], json!([entry(&fresh, "decision_maker")]));
    // Without contacts, a partner change needs nothing more.
    let bare = create(&app, &s, "Ohne Kontakte").await;
    patched(&app, &bare, json!({"business_partner_id": new_partner})).await;
    // An opportunity whose activities name the old partner's people does not move (409).
    let met = with_contacts(&app, &s, "Mit Gespräch", json!([])).await;
    json_with(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &json!({"kind": "call", "subject": "Erstgespräch", "opportunity_id": met["id"], "contact_id": old,
                    "status": "done"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.patch(
            &path_of(&met),
            &app.admin(),
            &json!({"business_partner_id": new_partner}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn a_contact_named_by_an_opportunity_or_activity_is_deactivated_not_deleted() {
    let app = spawn_app().await;
    let s = sales(&app, "OCD").await;
    let buyer = person(&app, &s.partner, "Käufer").await;
    let caller = person(&app, &s.partner, "Anrufer").await;
    let opportunity = with_contacts(&app, &s, "Bleibt", json!([entry(&buyer, "buyer")])).await;
    json_with(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &json!({"kind": "call", "subject": "Rückruf", "business_partner_id": s.partner, "contact_id": caller}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    for (contact, named_by) in [(&buyer, "opportunities"), (&caller, "activities")] {
        let refused = problem(
            app.delete(&format!("{}/{contact}", contacts_of(&s.partner)), &app.admin())
                .await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(refused["detail"].as_str().unwrap().contains(named_by), "{refused}");
    }
    // Deactivating is the way out: the opportunity keeps the person, flagged inactive.
    deactivate(&app, &s.partner, &buyer).await;
    let expanded = json_with(
        app.get(&format!("{}?expand=contacts", path_of(&opportunity)), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(expanded["contacts"][0]["contact_id"], json!(buyer));
    assert_eq!(expanded["contacts"][0]["contact"]["active"], json!(false));
    // Once nothing names them, they can go.
    patched(&app, &opportunity, json!({"contacts": []})).await;
    let gone = app
        .delete(&format!("{}/{buyer}", contacts_of(&s.partner)), &app.admin())
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_upsert_writes_contacts_and_keeps_them_when_the_body_has_none() {
    let app = spawn_app().await;
    let s = sales(&app, "OCU").await;
    let anna = person(&app, &s.partner, "Anna").await;
    let ben = person(&app, &s.partner, "Ben").await;
    let path = "/api/v1/opportunities/by-external-id/ERP-OC-1";
    let put = |body: Value| {
        let app = &app;
        async move {
            app.request(Method::PUT, path, &app.admin())
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let mut body = new_body(&s, "Aus dem ERP");
    body["contacts"] = json!([entry(&anna, "decision_maker")]);
    let created = json_with(put(body.clone()).await, StatusCode::CREATED).await;
    assert_eq!(created["contacts"], json!([entry(&anna, "decision_maker")]));

    let same = json_with(put(body.clone()).await, StatusCode::OK).await;
    assert_eq!(same["version"], created["version"], "the same list changes nothing");
    let mut without = body.clone();
    without.as_object_mut().unwrap().remove("contacts");
    let kept = json_with(put(without).await, StatusCode::OK).await;
    assert_eq!(
        kept["contacts"], created["contacts"],
        "an ERP without contacts keeps the CRM's"
    );
    assert_eq!(kept["version"], created["version"]);

    body["contacts"] = json!([entry(&ben, "buyer"), entry(&anna, "user")]);
    let replaced = json_with(put(body.clone()).await, StatusCode::OK).await;
    assert_eq!(replaced["contacts"], body["contacts"]);
    body["contacts"] = json!([entry(&ben, "buyer"), entry(&ben, "user")]);
    let twice = problem(put(body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&twice), ["contacts[1].contact_id"]);
}

#[tokio::test]
async fn reps_set_contacts_only_on_opportunities_they_see() {
    let app = spawn_app().await;
    let s = sales(&app, "OCS").await;
    let contact = person(&app, &s.partner, "Kunde").await;
    let hidden = create(&app, &s, "Fremd").await;
    let outsider = id(&app.create_user("outsider@example.com", "rep").await);
    let outsider_token = app.token_for(Role::Rep, &outsider);
    problem(
        app.patch(
            &path_of(&hidden),
            &outsider_token,
            &json!({"contacts": [entry(&contact, "buyer")]}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The owner (a rep) sets them and reads them expanded, as reps read partners.
    let owner_token = app.token_for(Role::Rep, &s.owner);
    let set = json_with(
        app.patch(
            &path_of(&hidden),
            &owner_token,
            &json!({"contacts": [entry(&contact, "buyer")]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["contacts"], json!([entry(&contact, "buyer")]));
    let read = json_with(
        app.get(&format!("{}?expand=contacts", path_of(&hidden)), &owner_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["contacts"][0]["contact"]["last_name"], "Kunde");
    // A viewer reads them and writes nothing.
    let viewer = app.token_for(Role::Viewer, "viewer");
    problem(
        app.patch(&path_of(&hidden), &viewer, &json!({"contacts": []})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn activities_name_a_contact_of_their_partner_and_filter_by_it() {
    let app = spawn_app().await;
    let s = sales(&app, "OCT").await;
    let anna = person(&app, &s.partner, "Anna").await;
    let ben = person(&app, &s.partner, "Ben").await;
    let other_partner = id(&app.create_partner(json!({"kind": "lead", "name": "Fremd KG"})).await);
    let foreign = person(&app, &other_partner, "Fremd").await;
    let opportunity = create(&app, &s, "Gespräche").await;
    let activity = |contact: &str, subject: &str| {
        json!({"kind": "call", "subject": subject, "opportunity_id": opportunity["id"], "contact_id": contact,
               "status": "done"})
    };

    let with_anna = json_with(
        app.post("/api/v1/activities", &app.admin(), &activity(&anna, "Mit Anna"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(with_anna["contact_id"], json!(anna));
    json_with(
        app.post("/api/v1/activities", &app.admin(), &activity(&ben, "Mit Ben"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let wrong = problem(
        app.post("/api/v1/activities", &app.admin(), &activity(&foreign, "Falsch"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(codes(&wrong), [("contact_id".to_owned(), "mismatch".to_owned())]);
    let unknown = problem(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &activity("0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f99", "Niemand"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(codes(&unknown), [("contact_id".to_owned(), "not_found".to_owned())]);

    let listed = json_with(
        app.get(&format!("/api/v1/activities?contact_id={anna}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    let subjects: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Mit Anna"]);

    let path = format!("/api/v1/activities/{}", with_anna["id"].as_str().unwrap());
    let moved = json_with(
        app.patch(&path, &app.admin(), &json!({"contact_id": ben})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["contact_id"], json!(ben));
    let cleared = json_with(
        app.patch(&path, &app.admin(), &json!({"contact_id": null})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["contact_id"], Value::Null);
    // Moving it off the opportunity to another partner with its contact kept is refused.
    json_with(
        app.patch(&path, &app.admin(), &json!({"contact_id": anna})).await,
        StatusCode::OK,
    )
    .await;
    let elsewhere = problem(
        app.patch(
            &path,
            &app.admin(),
            &json!({"opportunity_id": null, "business_partner_id": other_partner}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(codes(&elsewhere), [("contact_id".to_owned(), "mismatch".to_owned())]);

    let feed = app.feed(8).await;
    let created = feed
        .iter()
        .find(|e| e["type"] == "activity.created" && e["subject_id"] == with_anna["id"])
        .unwrap();
    assert_eq!(created["data"]["activity"]["contact_id"], json!(anna));
    let update = feed
        .iter()
        .find(|e| e["type"] == "activity.updated" && e["subject_id"] == with_anna["id"])
        .unwrap();
    assert_eq!(update["data"]["activity"]["contact_id"], json!(ben));
    assert_eq!(update["data"]["previous"]["contact_id"], json!(anna));
}

#[tokio::test]
async fn a_lead_converts_with_its_contacts_and_what_names_them() {
    let app = spawn_app().await;
    let mut s = sales(&app, "OCL").await;
    let lead = id(&app
        .create_partner(json!({"kind": "lead", "name": "Interessent GmbH"}))
        .await);
    s.partner = lead.clone();
    let anna = person(&app, &lead, "Anna").await;
    let opportunity = with_contacts(&app, &s, "Vom Lead", json!([entry(&anna, "decision_maker")])).await;
    let call = json_with(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &json!({"kind": "call", "subject": "Erstkontakt", "opportunity_id": opportunity["id"],
                    "contact_id": anna, "status": "done"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let converted = json_with(
        app.request(
            Method::POST,
            &format!("/api/v1/business-partners/{lead}/convert"),
            &app.admin(),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(converted["kind"], "customer");

    let contacts = json_with(app.get(&contacts_of(&lead), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(contacts["items"][0]["id"], json!(anna));
    let read = json_with(
        app.get(
            &format!("{}?expand=contacts,business_partner", path_of(&opportunity)),
            &app.admin(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["contacts"][0]["contact"]["id"], json!(anna));
    assert_eq!(read["business_partner"]["kind"], "customer");
    let activity = json_with(
        app.get(
            &format!("/api/v1/activities/{}", call["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(activity["contact_id"], json!(anna));
}

#[tokio::test]
async fn the_demo_has_buying_centres_and_activities_with_their_contacts() {
    let app = spawn_app().await;
    crate::seed::seed(&app.db, &["--demo"]);
    let page = json_with(
        app.get("/api/v1/opportunities?limit=200&expand=contacts", &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    let with_contacts: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["contacts"].as_array().is_some_and(|c| !c.is_empty()))
        .collect();
    assert!(
        with_contacts.len() >= 3,
        "a few demo opportunities name their buying centre"
    );
    for opportunity in &with_contacts {
        for c in opportunity["contacts"].as_array().unwrap() {
            assert!(c["role"].is_string());
            let person = &c["contact"];
            let partner = json_with(
                app.get(
                    &format!(
                        "{}/{}",
                        contacts_of(opportunity["business_partner_id"].as_str().unwrap()),
                        person["id"].as_str().unwrap()
                    ),
                    &app.admin(),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(partner["id"], c["contact_id"], "a contact of the opportunity's partner");
        }
    }
    let mut named = 0;
    for o in &with_contacts {
        let first = o["contacts"][0]["contact_id"].as_str().unwrap();
        let listed = json_with(
            app.get(&format!("/api/v1/activities?contact_id={first}"), &app.admin())
                .await,
            StatusCode::OK,
        )
        .await;
        named += listed["items"].as_array().unwrap().len();
    }
    assert!(named > 0, "demo activities name the person they were with");
}

#[tokio::test]
async fn a_create_with_contacts_reads_and_writes_them_in_one_statement_each() {
    let app = spawn_app().await;
    let s = sales(&app, "OCW").await;
    let anna = person(&app, &s.partner, "Anna").await;
    create(&app, &s, "Ohne").await;
    let without = crate::write_path::statements(&app, "POST", "/api/v1/opportunities").await;
    assert_eq!(
        without,
        (3.0, 1.0),
        "without contacts a create stays at three statements"
    );
    with_contacts(&app, &s, "Mit", json!([entry(&anna, "buyer")])).await;
    let with = crate::write_path::statements(&app, "POST", "/api/v1/opportunities").await;
    assert_eq!(
        (with.0 - without.0, with.1 - without.1),
        (5.0, 1.0),
        "the contacts checked in one statement and written in another"
    );
}
