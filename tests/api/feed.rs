//! The complete feed: every write operation of the spec writes at least one event about what
//! it changed, in its transaction. The walk below calls each write operation once, in an order
//! that makes each one succeed, and reads the feed after each call; a write operation the walk
//! does not call fails the test, so a new endpoint cannot forget its event.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Write operations that are not in the feed: webhooks themselves (DESIGN.md).
const NOT_IN_THE_FEED: [&str; 5] = [
    "POST /api/v1/webhooks/{id}/ping",
    "POST /api/v1/webhooks",
    "PATCH /api/v1/webhooks/{id}",
    "DELETE /api/v1/webhooks/{id}",
    "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
];

/// Every write operation of the committed spec, as `METHOD /path/{template}`.
fn write_operations() -> BTreeSet<String> {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    operations
}

/// Calls write operations and checks that each wrote events.
struct Walk<'a> {
    app: &'a TestApp,
    token: String,
    after: i64,
    called: BTreeSet<String>,
}

impl<'a> Walk<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let token = app.admin();
        let mut walk = Self {
            app,
            token,
            after: 0,
            called: BTreeSet::new(),
        };
        // Start after whatever the set-up wrote.
        walk.after = walk
            .feed_after(Duration::ZERO)
            .await
            .last()
            .map_or(0, |e| e["seq"].as_i64().unwrap());
        walk
    }

    async fn feed_after(&self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let page: Value = self
                .app
                .get(&format!("/api/v1/events?after={}&limit=1000", self.after), &self.token)
                .await
                .json()
                .await
                .unwrap();
            let items = page["items"].as_array().unwrap().clone();
            if !items.is_empty() || tokio::time::Instant::now() >= deadline {
                return items;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `method path` (the spec's `template`) with `body`; answers the response body and the
    /// events it wrote (at least one, or the test fails).
    async fn call(&mut self, method: Method, template: &str, path: &str, body: Option<Value>) -> (Value, Vec<Value>) {
        let mut request = self.app.request(method.clone(), path, &self.token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        let answer = serde_json::from_str(&text).unwrap_or(Value::Null);
        let events = self.feed_after(Duration::from_secs(5)).await;
        let operation = format!("{method} /api/v1{template}");
        assert!(!events.is_empty(), "{operation} wrote no event");
        self.after = events.last().unwrap()["seq"].as_i64().unwrap();
        self.called.insert(operation);
        (answer, events)
    }

    async fn post(&mut self, template: &str, path: &str, body: Value) -> Value {
        self.call(Method::POST, template, path, Some(body)).await.0
    }

    async fn patch(&mut self, template: &str, path: &str, body: Value) -> Vec<Value> {
        self.call(Method::PATCH, template, path, Some(body)).await.1
    }

    async fn delete(&mut self, template: &str, path: &str) -> Vec<Value> {
        self.call(Method::DELETE, template, path, None).await.1
    }

    /// Sends quote `id` with a link and answers the link's path, from the e-mail's file.
    async fn send_with_link(&mut self, id: &str) -> String {
        self.post(
            "/quotes/{id}/send",
            &format!("/api/v1/quotes/{id}/send"),
            json!({"to": ["einkauf@kunde.example"]}),
        )
        .await;
        let mut files: Vec<_> = std::fs::read_dir(self.app.db.mail_folder())
            .unwrap()
            .flatten()
            .map(|f| (f.metadata().unwrap().modified().unwrap(), f.path()))
            .collect();
        files.sort();
        let raw = std::fs::read(&files.last().unwrap().1).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let text = message.body_text(0).unwrap().into_owned();
        let link = text.lines().find(|l| l.contains("/public/quotes/")).unwrap().trim();
        link.trim_start_matches(&self.app.address).to_owned()
    }

    /// The public page's form (`template` without `/api/v1`, no token), answered by a 303.
    async fn form(&mut self, template: &str, path: &str, body: &str) -> Vec<Value> {
        let response = self
            .app
            .client
            .post(format!("{}{path}", self.app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_success(), "POST {path}: {status}");
        let events = self.feed_after(Duration::from_secs(5)).await;
        let operation = format!("POST {template}");
        assert!(!events.is_empty(), "{operation} wrote no event");
        self.after = events.last().unwrap()["seq"].as_i64().unwrap();
        self.called.insert(operation);
        events
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// The one event of `event_type` among `events`, about `subject`.
fn event<'e>(events: &'e [Value], event_type: &str, subject: &str) -> &'e Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == event_type && e["subject_id"] == subject)
        .collect();
    assert_eq!(found.len(), 1, "one {event_type} of {subject} in {events:#?}");
    found[0]
}

#[tokio::test]
async fn every_write_operation_of_the_spec_writes_an_event() {
    let app = spawn_app().await;
    let mut w = Walk::new(&app).await;

    // Configuration.
    let user = w
        .post(
            "/users",
            "/api/v1/users",
            json!({"email": "feed@example.com", "display_name": "Feed", "role": "rep"}),
        )
        .await;
    let u = id(&user);
    w.patch(
        "/users/{id}",
        &format!("/api/v1/users/{u}"),
        json!({"display_name": "Feed Rep"}),
    )
    .await;
    let mut stages = Vec::new();
    for (code, outcome, probability) in [
        ("F_A", "open", 20),
        ("F_B", "open", 60),
        ("F_W", "won", 100),
        ("F_L", "lost", 0),
    ] {
        let stage = w
            .post(
                "/stages",
                "/api/v1/stages",
                json!({"code": code, "name": code, "outcome": outcome, "probability": probability}),
            )
            .await;
        stages.push(id(&stage));
    }
    let funnel = w
        .post(
            "/funnels",
            "/api/v1/funnels",
            json!({"name": "Feed", "stage_ids": stages, "team_ids": [u]}),
        )
        .await;
    let f = id(&funnel);
    w.post(
        "/classes",
        "/api/v1/classes",
        json!({"id": "FEED", "default_funnel_id": f, "default_owner_id": u}),
    )
    .await;
    w.patch(
        "/classes/{id}",
        "/api/v1/classes/FEED",
        json!({"description": "Feed class"}),
    )
    .await;
    let reason = w
        .post("/lost-reasons", "/api/v1/lost-reasons", json!({"label": "Preis"}))
        .await;
    let r = id(&reason);
    w.patch(
        "/lost-reasons/{id}",
        &format!("/api/v1/lost-reasons/{r}"),
        json!({"label": "Preis zu hoch"}),
    )
    .await;
    let field = w
        .post(
            "/custom-fields",
            "/api/v1/custom-fields",
            json!({"resource": "opportunity", "key": "leasing_months", "label": "Leasing", "type": "number"}),
        )
        .await;
    let events = w
        .patch(
            "/custom-fields/{id}",
            &format!("/api/v1/custom-fields/{}", id(&field)),
            json!({"label": "Leasing (Monate)"}),
        )
        .await;
    assert_eq!(
        event(&events, "custom_field.updated", &id(&field))["data"]["custom_field"]["label"],
        json!("Leasing (Monate)")
    );
    w.patch("/settings", "/api/v1/settings", json!({"quote_valid_days": 45}))
        .await;
    let article = w
        .post(
            "/articles",
            "/api/v1/articles",
            json!({"sku": "F-1", "name": "Feed", "unit_price": "10.00"}),
        )
        .await;
    let a = id(&article);
    w.patch(
        "/articles/{id}",
        &format!("/api/v1/articles/{a}"),
        json!({"name": "Feed article"}),
    )
    .await;
    w.call(
        Method::PUT,
        "/articles/by-sku/{sku}",
        "/api/v1/articles/by-sku/F-1",
        Some(json!({"name": "Feed article", "unit_price": "12.00"})),
    )
    .await;

    // Exchange rates (keyed `CHF/2027-01-01`) and quotas.
    let rate = "/exchange-rates/{currency}/{valid_from}";
    w.call(
        Method::PUT,
        rate,
        "/api/v1/exchange-rates/CHF/2027-01-01",
        Some(json!({"rate": "1.0642"})),
    )
    .await;
    let (_, events) = w
        .call(
            Method::PUT,
            rate,
            "/api/v1/exchange-rates/CHF/2027-01-01",
            Some(json!({"rate": "1.07"})),
        )
        .await;
    assert_eq!(
        event(&events, "exchange_rate.updated", "CHF/2027-01-01")["data"]["previous"],
        json!({"rate": "1.0642"})
    );
    let events = w.delete(rate, "/api/v1/exchange-rates/CHF/2027-01-01").await;
    assert_eq!(
        event(&events, "exchange_rate.deleted", "CHF/2027-01-01")["data"]["exchange_rate"]["rate"],
        json!("1.07")
    );
    let quota = w
        .post(
            "/quotas",
            "/api/v1/quotas",
            json!({"owner_id": u, "period": "2027-Q1", "measure": "won_count", "target": 10}),
        )
        .await;
    let q = id(&quota);
    w.patch("/quotas/{id}", &format!("/api/v1/quotas/{q}"), json!({"target": 12}))
        .await;
    let events = w.delete("/quotas/{id}", &format!("/api/v1/quotas/{q}")).await;
    assert_eq!(
        event(&events, "quota.deleted", &q)["data"]["quota"]["target"],
        json!("12")
    );

    // A partner and an opportunity with lines, quotes and activities.
    let partner = w
        .post(
            "/business-partners",
            "/api/v1/business-partners",
            json!({"kind": "lead", "name": "Feed GmbH"}),
        )
        .await;
    let p = id(&partner);
    w.patch(
        "/business-partners/{id}",
        &format!("/api/v1/business-partners/{p}"),
        json!({"city": "Bern"}),
    )
    .await;
    w.post(
        "/business-partners/{id}/convert",
        &format!("/api/v1/business-partners/{p}/convert"),
        json!({}),
    )
    .await;
    let contact = w
        .post(
            "/business-partners/{id}/contacts",
            &format!("/api/v1/business-partners/{p}/contacts"),
            json!({"salutation": "Frau", "last_name": "Feed", "is_primary": true}),
        )
        .await;
    let c = id(&contact);
    let events = w
        .patch(
            "/business-partners/{id}/contacts/{contact_id}",
            &format!("/api/v1/business-partners/{p}/contacts/{c}"),
            json!({"position": "Einkauf"}),
        )
        .await;
    assert_eq!(
        event(&events, "contact.updated", &c)["data"]["previous"],
        json!({"position": null})
    );
    let events = w
        .delete(
            "/business-partners/{id}/contacts/{contact_id}",
            &format!("/api/v1/business-partners/{p}/contacts/{c}"),
        )
        .await;
    assert_eq!(
        event(&events, "contact.deleted", &c)["data"]["contact"]["position"],
        json!("Einkauf")
    );
    let opportunity = w
        .post(
            "/opportunities",
            "/api/v1/opportunities",
            json!({"subject": "Feed deal", "business_partner_id": p, "class_id": "FEED", "stage_id": stages[0]}),
        )
        .await;
    let (synced, _) = w
        .call(
            Method::PUT,
            "/business-partners/by-external-id/{external_id}",
            "/api/v1/business-partners/by-external-id/D-1",
            Some(json!({"kind": "customer", "name": "ERP Kunde"})),
        )
        .await;
    w.call(
        Method::PUT,
        "/opportunities/by-external-id/{external_id}",
        "/api/v1/opportunities/by-external-id/AUF-1",
        Some(json!({"subject": "ERP deal", "business_partner_id": synced["id"], "class_id": "FEED", "stage_id": stages[0]})),
    )
    .await;
    let o = id(&opportunity);
    w.patch(
        "/opportunities/{id}",
        &format!("/api/v1/opportunities/{o}"),
        json!({"description": "Two cars"}),
    )
    .await;
    let lines = format!("/api/v1/opportunities/{o}/lines");
    let line = w
        .post(
            "/opportunities/{id}/lines",
            &lines,
            json!({"article_id": a, "quantity": "2"}),
        )
        .await;
    let extra = w
        .post(
            "/opportunities/{id}/lines",
            &lines,
            json!({"description": "Service", "quantity": "1", "unit_price": "5.00"}),
        )
        .await;
    let events = w
        .patch(
            "/opportunities/{id}/lines/{line_id}",
            &format!("{lines}/{}", id(&line)),
            json!({"quantity": "3"}),
        )
        .await;
    let updated = event(&events, "opportunity.updated", &o);
    assert_eq!(
        updated["data"]["lines"].as_array().unwrap().len(),
        2,
        "line changes carry the lines"
    );
    assert!(updated["data"]["previous"].get("target_value").is_some(), "{updated:#}");
    w.delete(
        "/opportunities/{id}/lines/{line_id}",
        &format!("{lines}/{}", id(&extra)),
    )
    .await;
    let events = w
        .patch(
            "/stages/{id}",
            &format!("/api/v1/stages/{}", stages[0]),
            json!({"probability": 25}),
        )
        .await;
    let recomputed = event(&events, "opportunity.updated", &o);
    assert_eq!(recomputed["data"]["cause"], json!({"type": "stage", "id": stages[0]}));
    assert_ne!(
        recomputed["data"]["previous"]["probability"],
        recomputed["data"]["opportunity"]["probability"]
    );
    let events = w
        .patch(
            "/funnels/{id}",
            &format!("/api/v1/funnels/{f}"),
            json!({"metric_label": "Potenzial", "metric_formula": "target_value * 2"}),
        )
        .await;
    let recomputed = event(&events, "opportunity.updated", &o);
    assert_eq!(recomputed["data"]["cause"], json!({"type": "funnel", "id": f}));
    assert_eq!(recomputed["data"]["previous"]["metric"], Value::Null);

    let (activity, events) = w
        .call(
            Method::POST,
            "/activities",
            "/api/v1/activities",
            Some(json!({"kind": "call", "subject": "Angerufen", "opportunity_id": o, "status": "done"})),
        )
        .await;
    let act = id(&activity);
    let effect = event(&events, "opportunity.updated", &o);
    assert_eq!(effect["data"]["cause"], json!({"type": "activity", "id": act}));
    assert_eq!(effect["data"]["opportunity"]["activity_counts"], json!({"call": 1}));
    let events = w
        .patch(
            "/activities/{id}",
            &format!("/api/v1/activities/{act}"),
            json!({"kind": "note"}),
        )
        .await;
    let effect = event(&events, "opportunity.updated", &o);
    assert_eq!(effect["data"]["cause"], json!({"type": "activity", "id": act}));
    assert_eq!(effect["data"]["previous"]["activity_counts"], json!({"call": 1}));
    let (quote, _) = w
        .call(
            Method::POST,
            "/opportunities/{id}/quotes",
            &format!("/api/v1/opportunities/{o}/quotes"),
            Some(json!({})),
        )
        .await;
    let q = id(&quote);
    w.patch(
        "/quotes/{id}",
        &format!("/api/v1/quotes/{q}"),
        json!({"header_text": "Guten Tag"}),
    )
    .await;
    let quote_lines = format!("/api/v1/quotes/{q}/lines");
    let quote_line = w
        .post(
            "/quotes/{id}/lines",
            &quote_lines,
            json!({"description": "Matten", "quantity": "1", "unit_price": "3.00"}),
        )
        .await;
    w.patch(
        "/quotes/{id}/lines/{line_id}",
        &format!("{quote_lines}/{}", id(&quote_line)),
        json!({"quantity": "2"}),
    )
    .await;
    w.delete(
        "/quotes/{id}/lines/{line_id}",
        &format!("{quote_lines}/{}", id(&quote_line)),
    )
    .await;
    let second = w
        .post(
            "/opportunities/{id}/quotes",
            &format!("/api/v1/opportunities/{o}/quotes"),
            json!({}),
        )
        .await;
    let q2 = id(&second);
    w.post(
        "/quotes/{id}/make-primary",
        &format!("/api/v1/quotes/{q2}/make-primary"),
        json!({}),
    )
    .await;
    w.post(
        "/quotes/{id}/send",
        &format!("/api/v1/quotes/{q}/send"),
        json!({"to": ["einkauf@kunde.example"]}),
    )
    .await;
    w.post(
        "/quotes/{id}/send",
        &format!("/api/v1/quotes/{q2}/send"),
        json!({"to": ["einkauf@kunde.example"]}),
    )
    .await;
    w.post("/quotes/{id}/reject", &format!("/api/v1/quotes/{q2}/reject"), json!({}))
        .await;
    w.post("/quotes/{id}/accept", &format!("/api/v1/quotes/{q}/accept"), json!({}))
        .await;
    // The customer decides on the public page (a new link revokes the opportunity's earlier one).
    for (decision, event_type) in [("decline", "quote.rejected"), ("accept", "quote.accepted")] {
        let quote = id(&w
            .post(
                "/opportunities/{id}/quotes",
                &format!("/api/v1/opportunities/{o}/quotes"),
                json!({}),
            )
            .await);
        let link = w.send_with_link(&quote).await;
        let events = w
            .form(
                &format!("/public/quotes/{{token}}/{decision}"),
                &format!("{link}/{decision}"),
                "name=Anna+Schmidt",
            )
            .await;
        assert_eq!(event(&events, event_type, &quote)["actor"], "customer (online)");
    }

    // Moves.
    w.post(
        "/opportunities/{id}/stage",
        &format!("/api/v1/opportunities/{o}/stage"),
        json!({"stage_id": stages[1]}),
    )
    .await;
    w.post(
        "/opportunities/{id}/win",
        &format!("/api/v1/opportunities/{o}/win"),
        json!({}),
    )
    .await;
    w.post(
        "/opportunities/{id}/reopen",
        &format!("/api/v1/opportunities/{o}/reopen"),
        json!({"stage_id": stages[1]}),
    )
    .await;
    w.post(
        "/opportunities/{id}/win",
        &format!("/api/v1/opportunities/{o}/win"),
        json!({}),
    )
    .await;
    w.post(
        "/opportunities/{id}/erp-handoff",
        &format!("/api/v1/opportunities/{o}/erp-handoff"),
        json!({"erp_reference": "AB-1"}),
    )
    .await;
    let other = w
        .post(
            "/opportunities",
            "/api/v1/opportunities",
            json!({"subject": "Lost deal", "business_partner_id": p, "class_id": "FEED", "stage_id": stages[0]}),
        )
        .await;
    w.post(
        "/opportunities/{id}/lose",
        &format!("/api/v1/opportunities/{}/lose", id(&other)),
        json!({"lost_reason_id": r}),
    )
    .await;

    // Deletes carry the last state.
    let events = w.delete("/activities/{id}", &format!("/api/v1/activities/{act}")).await;
    assert_eq!(
        event(&events, "activity.deleted", &act)["data"]["activity"]["id"],
        json!(act)
    );
    let doomed = w
        .post(
            "/opportunities",
            "/api/v1/opportunities",
            json!({"subject": "Doomed", "business_partner_id": p, "class_id": "FEED", "stage_id": stages[0]}),
        )
        .await;
    let d = id(&doomed);
    let events = w
        .delete("/opportunities/{id}", &format!("/api/v1/opportunities/{d}"))
        .await;
    assert_eq!(
        event(&events, "opportunity.deleted", &d)["data"]["opportunity"]["subject"],
        json!("Doomed")
    );
    let lone = w
        .post(
            "/business-partners",
            "/api/v1/business-partners",
            json!({"kind": "lead", "name": "Lone"}),
        )
        .await;
    let events = w
        .delete(
            "/business-partners/{id}",
            &format!("/api/v1/business-partners/{}", id(&lone)),
        )
        .await;
    assert_eq!(
        event(&events, "business_partner.deleted", &id(&lone))["data"]["business_partner"]["name"],
        json!("Lone")
    );
    let spare = w
        .post(
            "/articles",
            "/api/v1/articles",
            json!({"sku": "F-2", "name": "Spare", "unit_price": "1.00"}),
        )
        .await;
    w.delete("/articles/{id}", &format!("/api/v1/articles/{}", id(&spare)))
        .await;
    w.post("/classes", "/api/v1/classes", json!({"id": "GONE"})).await;
    let events = w.delete("/classes/{id}", "/api/v1/classes/GONE").await;
    assert_eq!(
        event(&events, "class.deleted", "GONE")["data"]["class"]["id"],
        json!("GONE")
    );
    let spare_reason = w
        .post("/lost-reasons", "/api/v1/lost-reasons", json!({"label": "Weg"}))
        .await;
    w.delete(
        "/lost-reasons/{id}",
        &format!("/api/v1/lost-reasons/{}", id(&spare_reason)),
    )
    .await;
    let spare_field = w
        .post(
            "/custom-fields",
            "/api/v1/custom-fields",
            json!({"resource": "quote", "key": "spare", "label": "Spare", "type": "boolean"}),
        )
        .await;
    w.delete(
        "/custom-fields/{id}",
        &format!("/api/v1/custom-fields/{}", id(&spare_field)),
    )
    .await;
    let spare_stage = w
        .post(
            "/stages",
            "/api/v1/stages",
            json!({"code": "F_X", "name": "X", "outcome": "open", "probability": 1}),
        )
        .await;
    let spare_funnel = w
        .post(
            "/funnels",
            "/api/v1/funnels",
            json!({"name": "Spare", "stage_ids": [id(&spare_stage), stages[2], stages[3]]}),
        )
        .await;
    w.delete("/funnels/{id}", &format!("/api/v1/funnels/{}", id(&spare_funnel)))
        .await;
    w.delete("/stages/{id}", &format!("/api/v1/stages/{}", id(&spare_stage)))
        .await;
    let spare_user = w
        .post(
            "/users",
            "/api/v1/users",
            json!({"email": "gone@example.com", "display_name": "Gone", "role": "viewer"}),
        )
        .await;
    w.delete("/users/{id}", &format!("/api/v1/users/{}", id(&spare_user)))
        .await;

    // A batch writes the events of its operations.
    let batch = w
        .post(
            "/batch",
            "/api/v1/batch",
            json!({"operations": [{"method": "POST", "path": "/api/v1/business-partners",
                                    "body": {"kind": "lead", "name": "Aus dem Stapel"}}]}),
        )
        .await;
    assert_eq!(batch["results"][0]["status"], 201, "{batch}");

    let expected: BTreeSet<String> = write_operations()
        .into_iter()
        .filter(|operation| !NOT_IN_THE_FEED.contains(&operation.as_str()))
        .collect();
    let missing: Vec<&String> = expected.difference(&w.called).collect();
    assert!(
        missing.is_empty(),
        "write operations the walk did not check: {missing:#?}"
    );
    assert!(
        w.called.iter().all(|operation| expected.contains(operation)),
        "the walk called operations the spec does not list: {:#?}",
        w.called.difference(&expected).collect::<Vec<_>>()
    );
}

/// The value of metric `name` in Prometheus text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn a_transaction_holding_the_feed_shows_in_the_metrics() {
    use diesel_async::SimpleAsyncConnection;
    use salesfunnel::ops::feed_watch::{FeedGauges, look};

    let app = spawn_app().await;
    let pool = salesfunnel::db::pool(&app.db.url, &salesfunnel::config::DatabaseSettings::default()).unwrap();
    let registry = prometheus::Registry::new();
    let gauges = FeedGauges::register(&registry).unwrap();
    let text = || {
        prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap()
    };
    look(&pool, &gauges, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(
        metric(&text(), "salesfunnel_feed_oldest_unpublished_event_age_seconds"),
        0.0
    );

    // A session writes an event and stays open; a partner created after it waits.
    let mut holder = app.db.connect_async().await;
    holder
        .batch_execute(
            "BEGIN; INSERT INTO events (id, type, subject_id, data) \
             VALUES (gen_random_uuid(), 'settings.updated', 'settings', '{}')",
        )
        .await
        .unwrap();
    app.create_partner(json!({"kind": "lead", "name": "Wartet"})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    look(&pool, &gauges, Duration::ZERO).await.unwrap();
    assert!(metric(&text(), "salesfunnel_feed_oldest_unpublished_event_age_seconds") >= 1.0);
    holder.batch_execute("ROLLBACK").await.unwrap();
    look(&pool, &gauges, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(
        metric(&text(), "salesfunnel_feed_oldest_unpublished_event_age_seconds"),
        0.0
    );
    let served = app.get("/metrics", &app.admin()).await.text().await.unwrap();
    for name in [
        "salesfunnel_feed_oldest_unpublished_event_age_seconds",
        "salesfunnel_webhook_pending_deliveries",
        "salesfunnel_webhook_oldest_pending_delivery_age_seconds",
    ] {
        assert!(served.contains(name), "{name} in /metrics");
    }
}

#[tokio::test]
async fn a_publication_reads_the_horizon_once_however_many_events_wait() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let db = crate::helpers::TestDatabase::new();
    let mut conn = db.connect_async().await;
    diesel::sql_query(
        "INSERT INTO events (id, type, subject_id, actor, data)
         SELECT gen_random_uuid(), 'settings.updated', 'settings', 'test', '{}'::jsonb FROM generate_series(1, 200)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let calls = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel::sql_query("SET LOCAL track_functions = 'all'").execute(conn).await?;
            diesel::sql_query("SELECT publish_events()").execute(conn).await?;
            let calls: Calls = diesel::sql_query(
                "SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_xact_user_functions WHERE funcname = 'feed_horizon'",
            )
            .get_result(conn)
            .await?;
            Ok(calls.n)
        })
        .await
        .unwrap();
    assert_eq!(calls, 1, "feed_horizon() (a read of pg_locks) once for 200 events");
    let published: Calls = diesel::sql_query("SELECT count(seq) AS n FROM events")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(published.n, 200);
}

#[derive(diesel::QueryableByName)]
struct Calls {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
