//! What an ERP does (issue 14's acceptance): it loads the lists once, then follows the feed
//! alone while a random, concurrent mix of several hundred writes changes every resource
//! (creates, patches, deletes, moves, wins, quote edits, contact promotions, stage probability
//! and formula changes). Its mirror must then equal the API's state, field by field, deletions and
//! recomputed values included. Only `health` is left out: the traffic light is computed at read
//! time from the clock, so it changes without a write.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::opportunities::{Sales, sales};

/// The collections of the mirror: event type prefix (the key of `data`) and list path.
const RESOURCES: [(&str, &str); 11] = [
    ("business_partner", "/api/v1/business-partners"),
    ("contact", "/api/v1/contacts"),
    ("opportunity", "/api/v1/opportunities"),
    ("activity", "/api/v1/activities"),
    ("quote", "/api/v1/quotes"),
    ("article", "/api/v1/articles"),
    ("stage", "/api/v1/stages"),
    ("funnel", "/api/v1/funnels"),
    ("class", "/api/v1/classes"),
    ("lost_reason", "/api/v1/lost-reasons"),
    ("user", "/api/v1/users"),
];

type Collection = BTreeMap<String, Value>;

/// The ERP's copy: every collection by id, each opportunity's lines, the settings.
#[derive(Debug, Default, PartialEq)]
struct Mirror {
    collections: BTreeMap<String, Collection>,
    lines: BTreeMap<String, Value>,
    settings: Value,
}

fn key_of(item: &Value) -> String {
    match &item["id"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    }
}

/// `health` is the read-time traffic light (see the module comment).
fn comparable(mut item: Value) -> Value {
    if let Value::Object(fields) = &mut item {
        fields.remove("health");
    }
    item
}

async fn all_items(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(cursor) => format!("{path}{separator}limit=100&cursor={cursor}"),
            None => format!("{path}{separator}limit=100"),
        };
        let response = app.get(&url, &app.admin()).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let page: Value = response.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// The API's state now, read from the lists.
async fn state(app: &TestApp) -> Mirror {
    let mut mirror = Mirror::default();
    for (name, path) in RESOURCES {
        let items: Collection = all_items(app, path)
            .await
            .into_iter()
            .map(|item| (key_of(&item), comparable(item)))
            .collect();
        mirror.collections.insert(name.to_owned(), items);
    }
    let opportunities: Vec<String> = mirror.collections["opportunity"].keys().cloned().collect();
    for id in opportunities {
        let lines = all_items(app, &format!("/api/v1/opportunities/{id}/lines")).await;
        mirror.lines.insert(id, Value::Array(lines));
    }
    mirror.settings = app.get("/api/v1/settings", &app.admin()).await.json().await.unwrap();
    mirror
}

/// Every event after `after`, once no transaction is running any more.
async fn feed(app: &TestApp, mut after: i64) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let page: Value = app
            .get(&format!("/api/v1/events?after={after}&limit=1000"), &app.admin())
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            return events;
        }
        events.extend(items.iter().cloned());
        after = page["next_after"].as_i64().unwrap();
    }
}

impl Mirror {
    /// Applies one event the way a consumer does: the resource under its name replaces the
    /// copy, `*.deleted` removes it, `lines` replace the opportunity's lines.
    fn apply(&mut self, event: &Value) {
        let event_type = event["type"].as_str().unwrap();
        let (resource, action) = event_type.split_once('.').unwrap();
        let data = &event["data"];
        if resource == "settings" {
            self.settings = data["settings"].clone();
            return;
        }
        let subject = event["subject_id"].as_str().unwrap().to_owned();
        let collection = self.collections.entry(resource.to_owned()).or_default();
        if action == "deleted" {
            assert!(
                data[resource].is_object(),
                "{event_type} carries the last state: {event:#}"
            );
            collection.remove(&subject);
            if resource == "opportunity" {
                self.lines.remove(&subject);
            }
            return;
        }
        let shown = &data[resource];
        assert_eq!(key_of(shown), subject, "{event:#}");
        collection.insert(subject.clone(), comparable(shown.clone()));
        if resource == "opportunity" {
            if let Some(lines) = data.get("lines") {
                self.lines.insert(subject, lines.clone());
            } else {
                self.lines.entry(subject).or_insert_with(|| json!([]));
            }
        }
    }
}

/// A small deterministic generator, one per writer.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }

    fn pick<'v>(&mut self, values: &'v [String]) -> Option<&'v String> {
        (!values.is_empty()).then(|| &values[self.below(values.len())])
    }
}

/// What one writer made and may change next.
#[derive(Default)]
struct Made {
    partners: Vec<String>,
    opportunities: Vec<String>,
    activities: Vec<String>,
    quotes: Vec<String>,
    articles: Vec<String>,
    lines: Vec<(String, String)>,
    /// (partner, contact)
    contacts: Vec<(String, String)>,
}

fn id(value: &Value) -> Option<String> {
    value["id"].as_str().map(str::to_owned)
}

/// One writer's random mix; answers every status it saw with what it did.
async fn writer(app: &TestApp, s: &Sales, seed: u64, writes: usize) -> Vec<(String, StatusCode)> {
    let admin = app.admin();
    let mut rng = Lcg(seed);
    let mut made = Made::default();
    let mut seen = Vec::new();
    for n in 0..writes {
        let tag = format!("{seed}-{n}");
        let partner = rng.pick(&made.partners).cloned().unwrap_or_else(|| s.partner.clone());
        let opportunity = rng.pick(&made.opportunities).cloned();
        let (what, method, path, body) = match (rng.below(26), opportunity) {
            (0, _) => (
                "partner+",
                "POST",
                "/api/v1/business-partners".to_owned(),
                json!({"kind": "lead", "name": format!("P {tag}")}),
            ),
            (1, _) => (
                "partner~",
                "PATCH",
                format!("/api/v1/business-partners/{partner}"),
                json!({"city": format!("Ort {tag}")}),
            ),
            // The fixture's partner stays; a writer deletes only its own.
            (2, _) => match rng.pick(&made.partners).cloned() {
                Some(own) => (
                    "partner-",
                    "DELETE",
                    format!("/api/v1/business-partners/{own}"),
                    Value::Null,
                ),
                None => (
                    "partner+",
                    "POST",
                    "/api/v1/business-partners".to_owned(),
                    json!({"kind": "customer", "name": format!("C {tag}")}),
                ),
            },
            (3, _) => (
                "convert",
                "POST",
                format!("/api/v1/business-partners/{partner}/convert"),
                json!({}),
            ),
            (4 | 5, _) | (_, None) => (
                "opportunity+",
                "POST",
                "/api/v1/opportunities".to_owned(),
                json!({"subject": format!("O {tag}"), "business_partner_id": partner, "class_id": s.class, "stage_id": s.first}),
            ),
            (6, Some(o)) => (
                "opportunity~",
                "PATCH",
                format!("/api/v1/opportunities/{o}"),
                json!({"description": format!("D {tag}")}),
            ),
            (7, Some(o)) => {
                let stage = if rng.below(2) == 0 { &s.first } else { &s.proposal };
                (
                    "move",
                    "POST",
                    format!("/api/v1/opportunities/{o}/stage"),
                    json!({"stage_id": stage}),
                )
            }
            (8, Some(o)) => ("win", "POST", format!("/api/v1/opportunities/{o}/win"), json!({})),
            (9, Some(o)) => (
                "lose",
                "POST",
                format!("/api/v1/opportunities/{o}/lose"),
                json!({"lost_reason_id": s.reason}),
            ),
            (10, Some(o)) => (
                "reopen",
                "POST",
                format!("/api/v1/opportunities/{o}/reopen"),
                json!({"stage_id": s.proposal}),
            ),
            (11 | 12, Some(o)) => (
                "line+",
                "POST",
                format!("/api/v1/opportunities/{o}/lines"),
                json!({"description": format!("L {tag}"), "quantity": "2", "unit_price": format!("{}.50", 10 + n)}),
            ),
            (13, Some(o)) => match rng.pick(
                &made
                    .lines
                    .iter()
                    .filter(|(of, _)| *of == o)
                    .map(|(_, l)| l.clone())
                    .collect::<Vec<_>>(),
            ) {
                Some(line) => (
                    "line~",
                    "PATCH",
                    format!("/api/v1/opportunities/{o}/lines/{line}"),
                    json!({"quantity": "3"}),
                ),
                None => (
                    "line+",
                    "POST",
                    format!("/api/v1/opportunities/{o}/lines"),
                    json!({"description": "L", "quantity": "1", "unit_price": "1.00"}),
                ),
            },
            (14, Some(o)) => ("activity+", "POST", "/api/v1/activities".to_owned(), {
                let (kind, status) = (
                    ["call", "email", "note", "meeting"][rng.below(4)],
                    ["done", "planned"][rng.below(2)],
                );
                json!({"kind": kind, "subject": format!("A {tag}"), "opportunity_id": o, "status": status})
            }),
            (15, _) => match rng.pick(&made.activities).cloned() {
                Some(a) => (
                    "activity~",
                    "PATCH",
                    format!("/api/v1/activities/{a}"),
                    json!({"status": "done", "kind": "call"}),
                ),
                None => (
                    "activity+",
                    "POST",
                    "/api/v1/activities".to_owned(),
                    json!({"kind": "task", "subject": "T", "business_partner_id": partner}),
                ),
            },
            (16, _) => match rng.pick(&made.activities).cloned() {
                Some(a) => ("activity-", "DELETE", format!("/api/v1/activities/{a}"), Value::Null),
                None => (
                    "activity+",
                    "POST",
                    "/api/v1/activities".to_owned(),
                    json!({"kind": "note", "subject": "N", "business_partner_id": partner}),
                ),
            },
            (17, Some(o)) => ("quote+", "POST", format!("/api/v1/opportunities/{o}/quotes"), json!({})),
            (18, _) => match rng.pick(&made.quotes).cloned() {
                Some(q) => {
                    let action = ["send", "accept", "reject", "make-primary"][rng.below(4)];
                    let body = match action {
                        "send" => json!({"to": ["einkauf@kunde.example"]}),
                        _ => json!({}),
                    };
                    ("quote!", "POST", format!("/api/v1/quotes/{q}/{action}"), body)
                }
                None => (
                    "settings",
                    "PATCH",
                    "/api/v1/settings".to_owned(),
                    json!({"quote_valid_days": 20 + rng.below(20)}),
                ),
            },
            (19, _) => match rng.pick(&made.quotes).cloned() {
                Some(q) => (
                    "quote~",
                    "PATCH",
                    format!("/api/v1/quotes/{q}"),
                    json!({"header_text": format!("H {tag}")}),
                ),
                None => (
                    "settings",
                    "PATCH",
                    "/api/v1/settings".to_owned(),
                    json!({"quote_footer_text": format!("F {tag}")}),
                ),
            },
            (20, _) => (
                "article+",
                "PUT",
                format!("/api/v1/articles/by-sku/M-{seed}-{}", rng.below(4)),
                json!({"name": format!("Art {tag}"), "unit_price": "9.90"}),
            ),
            (21, _) => match rng.pick(&made.articles).cloned() {
                Some(a) => ("article-", "DELETE", format!("/api/v1/articles/{a}"), Value::Null),
                None => (
                    "article+",
                    "POST",
                    "/api/v1/articles".to_owned(),
                    json!({"sku": format!("N-{tag}"), "name": "Neu", "unit_price": "1.00"}),
                ),
            },
            (22, Some(o)) => (
                "opportunity-",
                "DELETE",
                format!("/api/v1/opportunities/{o}"),
                Value::Null,
            ),
            // Promotions demote the partner's primary contact, often another writer's.
            (23 | 24, _) => {
                let own = (!made.contacts.is_empty()).then(|| made.contacts[rng.below(made.contacts.len())].clone());
                match (own, rng.below(3)) {
                    (Some((p, c)), 0) => (
                        "contact-",
                        "DELETE",
                        format!("/api/v1/business-partners/{p}/contacts/{c}"),
                        Value::Null,
                    ),
                    (Some((p, c)), 1) => (
                        "contact~",
                        "PATCH",
                        format!("/api/v1/business-partners/{p}/contacts/{c}"),
                        json!({"is_primary": true, "position": format!("Pos {tag}")}),
                    ),
                    _ => (
                        "contact+",
                        "POST",
                        format!("/api/v1/business-partners/{partner}/contacts"),
                        json!({"last_name": format!("K {tag}"), "is_primary": rng.below(2) == 0}),
                    ),
                }
            }
            (_, Some(o)) => ("quote+", "POST", format!("/api/v1/opportunities/{o}/quotes"), json!({})),
        };
        let mut request = app.request(method.parse().unwrap(), &path, &admin);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if std::env::var("MIRROR_DEBUG").is_ok() && status.is_client_error() {
            eprintln!("{what} {path} {body} -> {status} {answer}");
        }
        if status.is_success() {
            match what {
                "partner+" => made.partners.extend(id(&answer)),
                "opportunity+" => made.opportunities.extend(id(&answer)),
                "activity+" => made.activities.extend(id(&answer)),
                "quote+" => made.quotes.extend(id(&answer)),
                "article+" => made.articles.extend(id(&answer)),
                "line+" => {
                    if let (Some(line), Some(o)) = (id(&answer), answer["opportunity_id"].as_str()) {
                        made.lines.push((o.to_owned(), line));
                    }
                }
                "contact+" => {
                    if let (Some(contact), Some(p)) = (id(&answer), answer["business_partner_id"].as_str()) {
                        made.contacts.push((p.to_owned(), contact));
                    }
                }
                "contact-" => made.contacts.retain(|(_, c)| !path.ends_with(c.as_str())),
                "partner-" => made.partners.retain(|p| !path.ends_with(p.as_str())),
                "activity-" => made.activities.retain(|a| !path.ends_with(a.as_str())),
                "article-" => made.articles.retain(|a| !path.ends_with(a.as_str())),
                "opportunity-" => made.opportunities.retain(|o| !path.ends_with(o.as_str())),
                _ => {}
            }
        }
        seen.push((what.to_owned(), status));
    }
    seen
}

/// Configuration changes meanwhile: probabilities, formulas, classes, lost reasons, users.
async fn configurator(app: &TestApp, s: &Sales) -> Vec<(String, StatusCode)> {
    let admin = app.admin();
    let mut seen = Vec::new();
    for n in 0..12u32 {
        let (what, response) = match n % 6 {
            0 => (
                "probability",
                app.patch(
                    &format!("/api/v1/stages/{}", s.first),
                    &admin,
                    &json!({"probability": 5 + n}),
                )
                .await,
            ),
            1 => (
                "formula",
                app.patch(
                    &format!("/api/v1/funnels/{}", s.funnel),
                    &admin,
                    &json!({"metric_label": "Potenzial", "metric_formula": format!("target_value * {} / 10", n + 1)}),
                )
                .await,
            ),
            2 => (
                "class",
                app.post(
                    "/api/v1/classes",
                    &admin,
                    &json!({"id": format!("MIR{n}"), "description": "Spiegel"}),
                )
                .await,
            ),
            3 => (
                "lost_reason",
                app.post("/api/v1/lost-reasons", &admin, &json!({"label": format!("Grund {n}")}))
                    .await,
            ),
            4 => (
                "user",
                app.post(
                    "/api/v1/users",
                    &admin,
                    &json!({"email": format!("m{n}@example.com"), "display_name": format!("M {n}"), "role": "viewer"}),
                )
                .await,
            ),
            _ => (
                "class-",
                app.delete(&format!("/api/v1/classes/MIR{}", n - 3), &admin).await,
            ),
        };
        seen.push((what.to_owned(), response.status()));
    }
    seen
}

#[tokio::test]
async fn a_mirror_built_from_the_lists_and_the_feed_equals_the_api() {
    let app = spawn_app().await;
    let s = sales(&app, "MIR").await;
    // The initial load: the feed position first, then the lists.
    let start = feed(&app, 0).await.last().map_or(0, |e| e["seq"].as_i64().unwrap());
    let mut mirror = state(&app).await;

    let writers = join_all((1..=8).map(|seed| writer(&app, &s, seed, 50)));
    let (written, configured) = tokio::join!(writers, configurator(&app, &s));
    let seen: Vec<(String, StatusCode)> = written.into_iter().flatten().chain(configured).collect();
    let failed: Vec<&(String, StatusCode)> = seen.iter().filter(|(_, status)| status.is_server_error()).collect();
    assert!(failed.is_empty(), "5xx answers: {failed:?}");
    let succeeded = seen.iter().filter(|(_, status)| status.is_success()).count();
    assert!(
        succeeded >= 250,
        "{succeeded} of {} writes succeeded: {seen:?}",
        seen.len()
    );

    let events = feed(&app, start).await;
    for event in &events {
        mirror.apply(event);
    }
    let api = state(&app).await;
    for (name, _) in RESOURCES {
        let (ours, theirs) = (&mirror.collections[name], &api.collections[name]);
        let missing: Vec<&String> = theirs.keys().filter(|id| !ours.contains_key(*id)).collect();
        let stale: Vec<&String> = ours.keys().filter(|id| !theirs.contains_key(*id)).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "{name}: missing {missing:?}, not deleted {stale:?}"
        );
        for (id, item) in theirs {
            let differing: Vec<String> = item
                .as_object()
                .unwrap()
                .iter()
                .filter(|(field, value)| ours[id].get(field.as_str()) != Some(*value))
                .map(|(field, value)| format!("{field}: mirror {} api {value}", ours[id][field.as_str()]))
                .collect();
            assert!(differing.is_empty(), "{name} {id} differs: {differing:#?}");
            assert_eq!(&ours[id], item, "{name} {id} differs");
        }
    }
    for (opportunity, lines) in &api.lines {
        assert_eq!(
            mirror.lines.get(opportunity),
            Some(lines),
            "lines of opportunity {opportunity}"
        );
    }
    assert_eq!(mirror.settings, api.settings);
    let kinds: std::collections::BTreeSet<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "opportunity.deleted",
        "activity.deleted",
        "quote.updated",
        "opportunity.won",
        "article.updated",
        "contact.updated",
        "contact.deleted",
    ] {
        assert!(kinds.contains(kind), "the mix wrote no {kind}: {kinds:?}");
    }
}
