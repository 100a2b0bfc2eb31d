//! `examples/erp_consumer.py`: its SQLite mirror of partners and opportunities, loaded from the
//! lists and then kept from the feed alone, equals the API, lines included, and it prints
//! what changed. Runs the example with `python3`, as the README does.

use std::collections::BTreeMap;
use std::process::Command;

use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_with, spawn_app};
use crate::opportunities::sales;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/erp_consumer.py");

/// Runs the consumer until it has caught up; answers what it printed.
/// (On a thread of its own: the server answers it from this test's runtime.)
async fn catch_up(app: &TestApp, mirror: &std::path::Path) -> String {
    let mut command = Command::new("python3");
    command
        .args([EXAMPLE, "--once", "--db"])
        .arg(mirror)
        .env("SALESFUNNEL_URL", &app.address)
        .env("SALESFUNNEL_TOKEN", app.token_for(Role::Integration, "erp"));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("python3 runs examples/erp_consumer.py");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

/// The mirror's rows: `table -> id -> data` (with `lines` for opportunities).
fn mirrored(mirror: &std::path::Path) -> BTreeMap<String, BTreeMap<String, Value>> {
    let script = r#"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
out = {"business_partners": {}, "opportunities": {}}
for id, data in db.execute("SELECT id, data FROM business_partners"):
    out["business_partners"][id] = json.loads(data)
for id, data, lines in db.execute("SELECT id, data, lines FROM opportunities"):
    out["opportunities"][id] = dict(json.loads(data), lines=json.loads(lines))
print(json.dumps(out))
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(mirror)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    let page = json_with(
        app.get(&format!("{path}?limit=200"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

fn without_health(mut item: Value) -> Value {
    item.as_object_mut().unwrap().remove("health");
    item
}

/// The API's partners and opportunities (with their lines), as the mirror keeps them.
async fn api(app: &TestApp) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut state = BTreeMap::new();
    let partners = items(app, "/api/v1/business-partners").await;
    state.insert(
        "business_partners".to_owned(),
        partners
            .into_iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), without_health(p)))
            .collect(),
    );
    let mut opportunities = BTreeMap::new();
    for o in items(app, "/api/v1/opportunities").await {
        let id = o["id"].as_str().unwrap().to_owned();
        let lines = items(app, &format!("/api/v1/opportunities/{id}/lines")).await;
        let mut o = without_health(o);
        o["lines"] = Value::Array(lines);
        opportunities.insert(id, o);
    }
    state.insert("opportunities".to_owned(), opportunities);
    state
}

#[tokio::test]
async fn the_example_consumer_keeps_a_mirror_equal_to_the_api() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not installed; examples/erp_consumer.py needs it");
        return;
    }
    let app = spawn_app().await;
    let admin = app.admin();
    let s = sales(&app, "ERP").await;
    let opportunity = |subject: &str| json!({"subject": subject, "business_partner_id": s.partner, "class_id": s.class, "stage_id": s.first});
    let kept = json_with(
        app.post("/api/v1/opportunities", &admin, &opportunity("Flotte 12 Fahrzeuge"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let mirror = std::env::temp_dir().join(format!("erp-mirror-{}.sqlite", uuid::Uuid::now_v7()));
    let loaded = catch_up(&app, &mirror).await;
    assert!(loaded.contains("loaded"), "{loaded}");
    assert_eq!(mirrored(&mirror), api(&app).await, "the initial load");

    // Changes after the load reach the mirror through the feed only.
    let kept_id = kept["id"].as_str().unwrap();
    json_with(
        app.post(
            &format!("/api/v1/opportunities/{kept_id}/lines"),
            &admin,
            &json!({"description": "Wartungsvertrag", "quantity": "12", "unit_price": "480.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_with(
        app.post(
            &format!("/api/v1/opportunities/{kept_id}/stage"),
            &admin,
            &json!({"stage_id": s.proposal}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let erp = app.token_for(Role::Integration, "erp");
    let upserted = json_with(
        app.request(
            reqwest::Method::PUT,
            "/api/v1/business-partners/by-external-id/D-4711",
            &erp,
        )
        .json(&json!({"kind": "customer", "name": "Spedition Weber GmbH", "city": "Augsburg"}))
        .send()
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let gone = json_with(
        app.post("/api/v1/opportunities", &admin, &opportunity("Nur kurz"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let deleted = app
        .delete(
            &format!("/api/v1/opportunities/{}", gone["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let followed = catch_up(&app, &mirror).await;
    assert_eq!(mirrored(&mirror), api(&app).await, "after following the feed");
    assert!(followed.contains("+ business_partner"), "{followed}");
    assert!(followed.contains("Spedition Weber GmbH"), "{followed}");
    assert!(
        followed.contains(&format!("~ opportunity {}", kept["number"].as_str().unwrap())),
        "{followed}"
    );
    assert!(followed.contains("stage_id"), "{followed}");
    assert!(
        followed.contains(&format!("- opportunity {}", gone["number"].as_str().unwrap())),
        "{followed}"
    );
    assert!(upserted["external_id"] == "D-4711");
    assert_eq!(catch_up(&app, &mirror).await, "", "caught up: nothing new");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", mirror.display()));
    }
}
