//! Custom fields: the definitions (`/custom-fields`) and the `custom` values of the resources.

use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};
use crate::opportunities::{Sales, act, act_ok, create, create_as, new_body, path_of as opp_path, rejected, sales};

fn path_of(field: &Value) -> String {
    format!("/api/v1/custom-fields/{}", field["id"].as_str().unwrap())
}

/// Defines a custom field (admin) and answers it.
pub async fn define(app: &TestApp, body: Value) -> Value {
    json_with(
        app.post("/api/v1/custom-fields", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn an_admin_defines_a_field_that_every_role_reads() {
    let app = spawn_app().await;
    let body = json!({"resource": "opportunity", "key": "leasing_months", "label": "Leasing (Monate)",
                      "type": "number", "show_on_quote": true});
    let response = app.post("/api/v1/custom-fields", &app.admin(), &body).await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(
        (
            &created["type"],
            &created["options"],
            &created["active"],
            &created["show_on_quote"]
        ),
        (&json!("number"), &json!([]), &json!(true), &json!(true))
    );
    for role in [Role::Viewer, Role::Rep, Role::Manager, Role::Integration] {
        let token = app.token_for(role, "someone");
        let read = json_with(app.get(&path_of(&created), &token).await, StatusCode::OK).await;
        assert_eq!(read, created, "{role:?}");
        let listed = json_with(
            app.get("/api/v1/custom-fields?resource=opportunity", &token).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed["items"], json!([created.clone()]), "{role:?}");
        let refused = app
            .post(
                "/api/v1/custom-fields",
                &token,
                &json!({"resource": "quote", "key": "x", "label": "X", "type": "text"}),
            )
            .await;
        problem(refused, StatusCode::FORBIDDEN).await;
        problem(
            app.patch(&path_of(&created), &token, &json!({"label": "Y"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path_of(&created), &token).await, StatusCode::FORBIDDEN).await;
    }
    let none = json_with(
        app.get("/api/v1/custom-fields?resource=quote", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn a_definition_names_every_problem_in_one_422() {
    let app = spawn_app().await;
    let bad = problem(
        app.post(
            "/api/v1/custom-fields",
            &app.admin(),
            &json!({"resource": "quote", "key": "9lives", "label": " ", "type": "enum", "options": []}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["key", "label", "options"]);
    let unknown_stage = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30";
    let bad = problem(
        app.post(
            "/api/v1/custom-fields",
            &app.admin(),
            &json!({"resource": "business_partner", "key": "group", "label": "Gruppe", "type": "text",
                    "options": ["a"], "required_from_stage_ids": [unknown_stage]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        ["options", "required_from_stage_ids", "required_from_stage_ids"]
    );
    let bad = problem(
        app.post(
            "/api/v1/custom-fields",
            &app.admin(),
            &json!({"resource": "deal", "key": "k", "label": "K", "type": "color", "colour": 1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["colour", "resource", "type"]);
    let enumeration = define(
        &app,
        json!({"resource": "quote", "key": "pick", "label": "Wahl", "type": "multi_enum", "options": ["a", "b"]}),
    )
    .await;
    let bad = problem(
        app.patch(&path_of(&enumeration), &app.admin(), &json!({"type": "text"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["options"], "a text field takes no options");
    let text = json_with(
        app.patch(
            &path_of(&enumeration),
            &app.admin(),
            &json!({"type": "text", "options": []}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((&text["type"], &text["version"]), (&json!("text"), &json!(2)));
}

#[tokio::test]
async fn a_key_is_unique_per_resource() {
    let app = spawn_app().await;
    let body = json!({"resource": "opportunity", "key": "customer_group", "label": "Kundengruppe", "type": "text"});
    define(&app, body.clone()).await;
    let duplicate = problem(
        app.post("/api/v1/custom-fields", &app.admin(), &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(duplicate["detail"], "a field with this key exists for this resource");
    let mut other = body;
    other["resource"] = json!("business_partner");
    define(&app, other).await;
}

#[tokio::test]
async fn a_definition_changes_with_if_match_and_is_deleted_with_its_events() {
    let app = spawn_app().await;
    let field = define(
        &app,
        json!({"resource": "activity", "key": "outcome", "label": "Ergebnis", "type": "enum", "options": ["gut", "schlecht"]}),
    )
    .await;
    let stale = app
        .request(reqwest::Method::PATCH, &path_of(&field), &app.admin())
        .header("If-Match", "\"7\"")
        .json(&json!({"label": "Resultat"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let changed = json_with(
        app.patch(
            &path_of(&field),
            &app.admin(),
            &json!({"label": "Resultat", "options": ["gut"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&changed["label"], &changed["options"]),
        (&json!("Resultat"), &json!(["gut"]))
    );
    let response = app.delete(&path_of(&field), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path_of(&field), &app.admin()).await, StatusCode::NOT_FOUND).await;
    let events = app.feed(3).await;
    let types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["custom_field.created", "custom_field.updated", "custom_field.deleted"]
    );
    assert_eq!(
        events[1]["data"]["previous"],
        json!({"label": "Ergebnis", "options": ["gut", "schlecht"]})
    );
    assert_eq!(events[2]["data"]["custom_field"]["key"], "outcome");
}

/// Partner fields: a text, a money, a date, an enum and a multi_enum.
async fn partner_fields(app: &TestApp) -> Vec<Value> {
    let mut fields = Vec::new();
    for (key, kind, options) in [
        ("erp_customer_group", "text", json!([])),
        ("credit_limit", "money", json!([])),
        ("customer_since", "date", json!([])),
        ("segment", "enum", json!(["A", "B", "C"])),
        ("brands", "multi_enum", json!(["VW", "Audi", "Skoda"])),
    ] {
        fields.push(
            define(
                app,
                json!({"resource": "business_partner", "key": key, "label": key, "type": kind, "options": options}),
            )
            .await,
        );
    }
    fields
}

#[tokio::test]
async fn partner_values_are_created_merge_patched_and_removed_with_null() {
    let app = spawn_app().await;
    partner_fields(&app).await;
    let partner = app
        .create_partner(json!({"kind": "customer", "name": "Autohaus Custom", "custom": {
            "erp_customer_group": "Flotte", "credit_limit": 50000, "customer_since": "2019-04-01",
            "segment": "A", "brands": ["VW", "Audi"]}}))
        .await;
    assert_eq!(
        partner["custom"],
        json!({"erp_customer_group": "Flotte", "credit_limit": "50000.00", "customer_since": "2019-04-01",
               "segment": "A", "brands": ["VW", "Audi"]}),
        "money is a Money string"
    );
    let path = format!("/api/v1/business-partners/{}", partner["id"].as_str().unwrap());
    let patched = json_with(
        app.patch(
            &path,
            &app.admin(),
            &json!({"custom": {"segment": "B", "credit_limit": null, "brands": ["Skoda"]}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        patched["custom"],
        json!({"erp_customer_group": "Flotte", "customer_since": "2019-04-01", "segment": "B", "brands": ["Skoda"]})
    );
    let read = json_with(app.get(&path, &app.token_for(Role::Viewer, "v")).await, StatusCode::OK).await;
    assert_eq!(read["custom"], patched["custom"]);
    let events = app.feed(50).await;
    let updated = events
        .iter()
        .rev()
        .find(|e| e["type"] == "business_partner.updated")
        .unwrap();
    assert_eq!(updated["data"]["business_partner"]["custom"], patched["custom"]);
    assert_eq!(updated["data"]["previous"]["custom"]["credit_limit"], "50000.00");
    let plain = app.create_partner(json!({"kind": "lead", "name": "Ohne Felder"})).await;
    assert_eq!(plain["custom"], json!({}));
}

#[tokio::test]
async fn every_bad_value_is_named_in_one_422_with_the_other_field_errors() {
    let app = spawn_app().await;
    partner_fields(&app).await;
    let bad = problem(
        app.post(
            "/api/v1/business-partners",
            &app.admin(),
            &json!({"kind": "customer", "name": "", "custom": {
                "erp_customer_group": 7, "credit_limit": "12.345", "customer_since": "2019-02-30",
                "segment": "Z", "brands": ["VW", "Opel"], "colour": "blau"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        [
            "custom.brands",
            "custom.colour",
            "custom.credit_limit",
            "custom.customer_since",
            "custom.erp_customer_group",
            "custom.segment",
            "name"
        ]
    );
    let unknown_owner = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30";
    let bad = problem(
        app.post(
            "/api/v1/business-partners",
            &app.admin(),
            &json!({"kind": "customer", "name": "X", "owner_id": unknown_owner, "custom": {"segment": "Z"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.segment", "owner_id"]);
    let partner = app.create_partner(json!({"kind": "lead", "name": "Patch"})).await;
    let path = format!("/api/v1/business-partners/{}", partner["id"].as_str().unwrap());
    let bad = problem(
        app.patch(
            &path,
            &app.admin(),
            &json!({"custom": {"segment": ["A"], "brands": "VW"}, "kind": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.brands", "custom.segment", "kind"]);
    let bad = problem(
        app.patch(&path, &app.admin(), &json!({"custom": ["segment"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom"], "custom is an object");
}

#[tokio::test]
async fn definitions_in_use_keep_their_type_and_options_and_deleted_ones_hide_values() {
    let app = spawn_app().await;
    let fields = partner_fields(&app).await;
    let [group, _, _, segment, _] = &fields[..] else {
        unreachable!()
    };
    let unused = json_with(
        app.patch(&path_of(group), &app.admin(), &json!({"type": "number"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unused["type"], "number", "no value yet: the type may change");
    let back = json_with(
        app.patch(&path_of(group), &app.admin(), &json!({"type": "text"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(back["type"], "text");
    let partner = app
        .create_partner(
            json!({"kind": "customer", "name": "Belegt", "custom": {"erp_customer_group": "G1", "segment": "B"}}),
        )
        .await;
    let conflict = problem(
        app.patch(&path_of(group), &app.admin(), &json!({"type": "number"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        conflict["detail"],
        "records hold values of this field: its type cannot change"
    );
    problem(
        app.patch(&path_of(segment), &app.admin(), &json!({"options": ["A", "C"]}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let fewer = json_with(
        app.patch(&path_of(segment), &app.admin(), &json!({"options": ["B", "C"]}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fewer["options"], json!(["B", "C"]), "an option nobody holds may go");

    let response = app.delete(&path_of(group), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let path = format!("/api/v1/business-partners/{}", partner["id"].as_str().unwrap());
    let read = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        read["custom"],
        json!({"segment": "B"}),
        "the deleted field's value is not shown"
    );
    let patched = json_with(
        app.patch(&path, &app.admin(), &json!({"custom": {"segment": "C"}}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["custom"], json!({"segment": "C"}));
    let again = problem(
        app.post(
            "/api/v1/custom-fields",
            &app.admin(),
            &json!({"resource": "business_partner", "key": "erp_customer_group", "label": "Neu", "type": "number"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        again["detail"].as_str().unwrap().contains("values of a deleted field"),
        "{again}"
    );
    let inactive = json_with(
        app.patch(&path_of(segment), &app.admin(), &json!({"active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inactive["active"], false);
    let refused = problem(
        app.patch(&path, &app.admin(), &json!({"custom": {"segment": "B"}}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["errors"][0]["code"], "inactive");
    let read = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        read["custom"],
        json!({"segment": "C"}),
        "an inactive field's value is still shown"
    );
}

#[tokio::test]
async fn a_partner_upsert_replaces_the_values() {
    let app = spawn_app().await;
    partner_fields(&app).await;
    let path = "/api/v1/business-partners/by-external-id/D-777";
    let body = json!({"kind": "customer", "name": "ERP GmbH", "custom": {"segment": "A", "brands": ["VW"]}});
    let request = |body: Value| app.request(reqwest::Method::PUT, path, &app.admin()).json(&body).send();
    let created = json_with(request(body.clone()).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(created["custom"], json!({"segment": "A", "brands": ["VW"]}));
    let same = json_with(request(body).await.unwrap(), StatusCode::OK).await;
    assert_eq!(same["version"], 1, "the same values change nothing");
    let replaced = json_with(
        request(json!({"kind": "customer", "name": "ERP GmbH", "custom": {"segment": "C"}}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&replaced["custom"], &replaced["version"]),
        (&json!({"segment": "C"}), &json!(2))
    );
    let bad = problem(
        request(json!({"kind": "customer", "name": "ERP GmbH", "custom": {"segment": "Q"}}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.segment"]);
}

/// Opportunity fields: `leasing_months` (number), `trade_in_value` (money) required from the
/// proposal stage and the won stage, `customer_group` (enum).
async fn opportunity_fields(app: &TestApp, s: &Sales) {
    define(
        app,
        json!({"resource": "opportunity", "key": "leasing_months", "label": "Leasing", "type": "number"}),
    )
    .await;
    define(
        app,
        json!({"resource": "opportunity", "key": "trade_in_value", "label": "Inzahlungnahme", "type": "money",
               "required_from_stage_ids": [s.proposal, s.won]}),
    )
    .await;
    define(
        app,
        json!({"resource": "opportunity", "key": "customer_group", "label": "Kundengruppe", "type": "enum",
               "options": ["Flotte", "Privat"]}),
    )
    .await;
}

#[tokio::test]
async fn opportunity_values_are_checked_merged_and_carried_by_events() {
    let app = spawn_app().await;
    let s = sales(&app, "CFO").await;
    opportunity_fields(&app, &s).await;
    let mut body = new_body(&s, "Leasing");
    body["custom"] = json!({"leasing_months": 36, "customer_group": "Flotte"});
    let created = create_as(&app, &app.admin(), &body).await;
    assert_eq!(
        created["custom"],
        json!({"leasing_months": 36, "customer_group": "Flotte"})
    );
    let patched = json_with(
        app.patch(
            &opp_path(&created),
            &app.admin(),
            &json!({"custom": {"leasing_months": null, "trade_in_value": 8000.5}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        patched["custom"],
        json!({"trade_in_value": "8000.50", "customer_group": "Flotte"})
    );
    let events = app.feed(100).await;
    let created_event = events.iter().find(|e| e["type"] == "opportunity.created").unwrap();
    assert_eq!(created_event["data"]["opportunity"]["custom"], created["custom"]);
    let updated = events
        .iter()
        .rev()
        .find(|e| e["type"] == "opportunity.updated")
        .unwrap();
    assert_eq!(updated["data"]["opportunity"]["custom"], patched["custom"]);
    assert_eq!(updated["data"]["previous"]["custom"], created["custom"]);

    let mut bad = new_body(&s, "");
    bad["custom"] = json!({"leasing_months": "36", "customer_group": "Firma", "nope": 1});
    assert_eq!(
        rejected(&app, &bad).await,
        [
            "custom.customer_group",
            "custom.leasing_months",
            "custom.nope",
            "subject"
        ]
    );
    let bad = problem(
        app.patch(
            &opp_path(&created),
            &app.admin(),
            &json!({"custom": {"customer_group": 1}, "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.customer_group", "owner_id"]);
}

#[tokio::test]
async fn a_value_required_from_a_stage_is_needed_to_enter_it() {
    let app = spawn_app().await;
    let s = sales(&app, "CFR").await;
    opportunity_fields(&app, &s).await;
    let mut body = new_body(&s, "Gleich im Angebot");
    body["stage_id"] = json!(s.proposal);
    assert_eq!(rejected(&app, &body).await, ["custom.trade_in_value"]);
    body["custom"] = json!({"trade_in_value": "5000"});
    let created = create_as(&app, &app.admin(), &body).await;
    assert_eq!(created["custom"]["trade_in_value"], "5000.00");

    let plain = create(&app, &s, "Ohne Wert").await;
    for (action, body) in [("stage", json!({"stage_id": s.proposal})), ("win", json!({}))] {
        let refused = problem(
            act(&app, &app.admin(), &plain, action, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&refused), ["custom.trade_in_value"], "{action}");
    }
    let refused = problem(
        app.patch(&opp_path(&plain), &app.admin(), &json!({"stage_id": s.proposal}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&refused), ["custom.trade_in_value"]);
    let moved = json_with(
        app.patch(
            &opp_path(&plain),
            &app.admin(),
            &json!({"stage_id": s.proposal, "custom": {"trade_in_value": 100}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["stage_id"], json!(s.proposal));
    let won = act_ok(&app, &moved, "win", &json!({})).await;
    assert_eq!(won["status"], "won");

    let mut upsert = new_body(&s, "Per ERP");
    upsert["stage_id"] = json!(s.proposal);
    let response = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/opportunities/by-external-id/ERP-1",
            &app.admin(),
        )
        .json(&upsert)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&problem(response, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["custom.trade_in_value"]
    );
    upsert["custom"] = json!({"trade_in_value": "1.00", "leasing_months": 24});
    let put = |body: Value| {
        app.request(
            reqwest::Method::PUT,
            "/api/v1/opportunities/by-external-id/ERP-1",
            &app.admin(),
        )
        .json(&body)
        .send()
    };
    let created = json_with(put(upsert.clone()).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(
        created["custom"],
        json!({"trade_in_value": "1.00", "leasing_months": 24})
    );
    let same = json_with(put(upsert.clone()).await.unwrap(), StatusCode::OK).await;
    assert_eq!(same["version"], created["version"], "the same values change nothing");
    upsert["custom"] = json!({"trade_in_value": "2.00"});
    let replaced = json_with(put(upsert).await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        replaced["custom"],
        json!({"trade_in_value": "2.00"}),
        "left-out keys are removed"
    );
}

/// The subjects (or names) of a list's first page, sorted.
pub async fn listed(app: &TestApp, path: &str, field: &str) -> Vec<String> {
    let page = json_with(app.get(path, &app.admin()).await, StatusCode::OK).await;
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn lists_filter_by_custom_values_and_ranges() {
    let app = spawn_app().await;
    let s = sales(&app, "CFF").await;
    opportunity_fields(&app, &s).await;
    define(
        &app,
        json!({"resource": "opportunity", "key": "delivery", "label": "Lieferung", "type": "date"}),
    )
    .await;
    for (subject, custom) in [
        (
            "A",
            json!({"leasing_months": 24, "customer_group": "Flotte", "delivery": "2027-01-15"}),
        ),
        (
            "B",
            json!({"leasing_months": 36, "trade_in_value": "9000.00", "delivery": "2027-03-01"}),
        ),
        (
            "C",
            json!({"leasing_months": 48, "customer_group": "Privat", "trade_in_value": 12000}),
        ),
        ("D", json!({})),
    ] {
        let mut body = new_body(&s, subject);
        body["custom"] = custom;
        create_as(&app, &app.admin(), &body).await;
    }
    let list = "/api/v1/opportunities?limit=200";
    assert_eq!(
        listed(&app, &format!("{list}&custom.customer_group=Flotte"), "subject").await,
        ["A"]
    );
    assert_eq!(
        listed(&app, &format!("{list}&custom.leasing_months=36"), "subject").await,
        ["B"]
    );
    assert_eq!(
        listed(
            &app,
            &format!("{list}&custom.leasing_months_from=30&custom.leasing_months_to=48"),
            "subject"
        )
        .await,
        ["B", "C"]
    );
    assert_eq!(
        listed(&app, &format!("{list}&custom.trade_in_value_from=10000.5"), "subject").await,
        ["C"]
    );
    assert_eq!(
        listed(&app, &format!("{list}&custom.delivery_to=2027-02-01"), "subject").await,
        ["A"]
    );
    assert_eq!(
        listed(
            &app,
            &format!("{list}&custom.leasing_months_from=30&status=open&custom.customer_group=Privat"),
            "subject"
        )
        .await,
        ["C"]
    );
    let page = json_with(
        app.get(
            "/api/v1/opportunities?custom.leasing_months_from=1&limit=2",
            &app.admin(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json_with(
        app.get(
            &format!("/api/v1/opportunities?custom.leasing_months_from=1&limit=2&cursor={cursor}"),
            &app.admin(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        page["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(),
        3
    );

    for bad in [
        "custom.colour=blau",
        "custom.customer_group_from=A",
        "custom.leasing_months=viele",
        "custom.delivery_from=gestern",
    ] {
        let refused = problem(
            app.get(&format!("{list}&{bad}"), &app.admin()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        let name = bad.split('=').next().unwrap();
        assert!(refused["detail"].as_str().unwrap().contains(name), "{bad}: {refused}");
    }
    let other = problem(
        app.get("/api/v1/lost-reasons?custom.x=1", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(other["detail"].as_str().unwrap().contains("'custom.x'"), "{other}");

    partner_fields(&app).await;
    for (name, custom) in [
        ("P1", json!({"brands": ["VW", "Audi"], "credit_limit": "100.00"})),
        ("P2", json!({"brands": ["Skoda"], "credit_limit": 5000})),
    ] {
        app.create_partner(json!({"kind": "customer", "name": name, "custom": custom}))
            .await;
    }
    let partners = "/api/v1/business-partners?limit=200";
    assert_eq!(
        listed(&app, &format!("{partners}&custom.brands=Audi"), "name").await,
        ["P1"]
    );
    assert_eq!(
        listed(&app, &format!("{partners}&custom.credit_limit_from=1000"), "name").await,
        ["P2"]
    );
    problem(
        app.get(&format!("{partners}&custom.leasing_months=1"), &app.admin())
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn contacts_and_activities_take_values_and_activities_filter_by_them() {
    let app = spawn_app().await;
    define(
        &app,
        json!({"resource": "contact", "key": "newsletter", "label": "Newsletter", "type": "boolean"}),
    )
    .await;
    define(
        &app,
        json!({"resource": "activity", "key": "channel", "label": "Kanal", "type": "enum", "options": ["Telefon", "Messe"]}),
    )
    .await;
    let partner = app
        .create_partner(json!({"kind": "customer", "name": "Kontakte GmbH"}))
        .await;
    let contacts = format!("/api/v1/business-partners/{}/contacts", partner["id"].as_str().unwrap());
    let contact = json_with(
        app.post(
            &contacts,
            &app.admin(),
            &json!({"last_name": "Schmidt", "custom": {"newsletter": true}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(contact["custom"], json!({"newsletter": true}));
    let contact_path = format!("{contacts}/{}", contact["id"].as_str().unwrap());
    let cleared = json_with(
        app.patch(&contact_path, &app.admin(), &json!({"custom": {"newsletter": null}}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["custom"], json!({}));
    let bad = problem(
        app.post(
            &contacts,
            &app.admin(),
            &json!({"last_name": "", "custom": {"newsletter": "ja"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.newsletter", "last_name"]);

    let partner_id = partner["id"].as_str().unwrap();
    for (subject, channel) in [("Anruf", "Telefon"), ("Stand", "Messe")] {
        let body = json!({"kind": "call", "subject": subject, "business_partner_id": partner_id,
                          "custom": {"channel": channel}});
        let created = json_with(
            app.post("/api/v1/activities", &app.admin(), &body).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(created["custom"]["channel"], channel);
    }
    assert_eq!(
        listed(&app, "/api/v1/activities?custom.channel=Messe", "subject").await,
        ["Stand"]
    );
    let bad = problem(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &json!({"kind": "call", "subject": "X", "business_partner_id": partner_id, "custom": {"channel": "Fax"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad), ["custom.channel"]);
    problem(
        app.get("/api/v1/activities?custom.kanal=1", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
