//! Every role and every pair of roles on the opportunity, line, activity and quote writes: the
//! rights are the union of the roles', and the rep fence holds for writes only the rep grants.

use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::opportunities::*;
use crate::quotes::{lines_of, quotes_of, two_cars, valid_for_30_days};

const ROLES: [Role; 5] = [Role::Admin, Role::Manager, Role::Rep, Role::Viewer, Role::Integration];

/// What a set of roles may do to opportunity data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writes {
    /// Every opportunity.
    Everywhere,
    /// Only inside the rep's fence; outside it the opportunity does not exist for the write.
    InsideTheFence,
    /// Nothing: 403.
    Nowhere,
}

fn expected(roles: &[Role]) -> Writes {
    if roles.iter().any(|r| matches!(r, Role::Admin | Role::Manager)) {
        Writes::Everywhere
    } else if roles.contains(&Role::Rep) {
        Writes::InsideTheFence
    } else {
        Writes::Nowhere
    }
}

/// Every role alone and every pair of two different roles.
fn combinations() -> Vec<Vec<Role>> {
    let mut all: Vec<Vec<Role>> = ROLES.iter().map(|r| vec![*r]).collect();
    for (i, a) in ROLES.iter().enumerate() {
        for b in &ROLES[i + 1..] {
            all.push(vec![*a, *b]);
        }
    }
    all
}

/// An opportunity with an activity and a quote, made by the admin.
struct Target {
    opportunity: Value,
    activity: Value,
    quote: Value,
}

async fn target(app: &TestApp, opportunity: Value) -> Target {
    json_with(
        app.post(&lines_of(&opportunity), &app.admin(), &two_cars()).await,
        StatusCode::CREATED,
    )
    .await;
    let activity = json_with(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &json!({"kind": "task", "subject": "Angebot", "opportunity_id": opportunity["id"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let quote = json_with(
        app.post(&quotes_of(&opportunity), &app.admin(), &valid_for_30_days())
            .await,
        StatusCode::CREATED,
    )
    .await;
    Target {
        opportunity,
        activity,
        quote,
    }
}

/// The writes on `target`, each with the status it got.
async fn writes(app: &TestApp, token: &str, target: &Target) -> Vec<(&'static str, StatusCode)> {
    let opportunity = &target.opportunity;
    let activity_path = format!("/api/v1/activities/{}", id(&target.activity));
    let quote_lines = format!("/api/v1/quotes/{}/lines", id(&target.quote));
    let activity = json!({
        "kind": "call", "subject": "Nachgefasst", "opportunity_id": opportunity["id"], "status": "planned"
    });
    vec![
        (
            "PATCH opportunity",
            app.patch(&path_of(opportunity), token, &json!({"description": "geändert"}))
                .await
                .status(),
        ),
        (
            "POST line",
            app.post(&lines_of(opportunity), token, &two_cars()).await.status(),
        ),
        (
            "POST activity",
            app.post("/api/v1/activities", token, &activity).await.status(),
        ),
        (
            "POST quote",
            app.post(&quotes_of(opportunity), token, &valid_for_30_days())
                .await
                .status(),
        ),
        (
            "PATCH activity",
            app.patch(&activity_path, token, &json!({"subject": "geändert"}))
                .await
                .status(),
        ),
        (
            "POST quote line",
            app.post(&quote_lines, token, &two_cars()).await.status(),
        ),
    ]
}

#[tokio::test]
async fn writes_are_the_union_of_the_roles_and_the_rep_fence_holds_for_rep_only_writes() {
    let app = spawn_app().await;
    let inside_sales = sales(&app, "NW").await;
    let outside_sales = sales(&app, "GW").await;
    // Stored as admin, so the user's role limits none of the token roles tried here.
    let anna = id(&app.create_user("anna@example.com", "admin").await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", inside_sales.funnel),
            &app.admin(),
            &json!({"team_ids": [anna]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let inside = target(&app, create(&app, &inside_sales, "Im Team").await).await;
    let outside = target(&app, create(&app, &outside_sales, "Fremd").await).await;

    let mut wrong = Vec::new();
    for roles in combinations() {
        let token = app.token_with(&roles, &anna);
        let (inside_ok, outside_ok) = match expected(&roles) {
            Writes::Everywhere => (true, true),
            Writes::InsideTheFence => (true, false),
            Writes::Nowhere => (false, false),
        };
        for (opportunity, allowed, refused) in [
            (&inside, inside_ok, StatusCode::FORBIDDEN),
            (
                &outside,
                outside_ok,
                if expected(&roles) == Writes::Nowhere {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::NOT_FOUND
                },
            ),
        ] {
            for (write, status) in writes(&app, &token, opportunity).await {
                // An activity names its opportunity in the body: one outside the fence is an
                // unknown reference there (422), as it is for a rep alone.
                let refused = match (refused, write) {
                    (StatusCode::NOT_FOUND, "POST activity") => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => refused,
                };
                let fine = if allowed {
                    status.is_success()
                } else {
                    status == refused
                };
                if !fine {
                    wrong.push(format!(
                        "{roles:?} {write} on {}: {status}",
                        opportunity.opportunity["subject"]
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_rep_with_a_read_all_role_reads_outside_the_fence_but_writes_nothing_there() {
    let app = spawn_app().await;
    let outside_sales = sales(&app, "GW").await;
    let anna = id(&app.create_user("anna@example.com", "admin").await);
    let outside = create(&app, &outside_sales, "Fremd").await;
    for other in [Role::Viewer, Role::Integration] {
        let token = app.token_with(&[Role::Rep, other], &anna);
        json_with(app.get(&path_of(&outside), &token).await, StatusCode::OK).await;
        problem(app.delete(&path_of(&outside), &token).await, StatusCode::NOT_FOUND).await;
        problem(
            act(&app, &token, &outside, "win", &json!({})).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let read = json_with(app.get(&path_of(&outside), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["version"], 1, "nothing reached it");
}

#[tokio::test]
async fn a_viewer_gets_403_on_every_write_operation_of_the_spec() {
    let app = spawn_app().await;
    let viewer = app.token_for(Role::Viewer, "auditor");
    let writes: Vec<_> = spec_operations()
        .into_iter()
        .filter(|(method, _)| !matches!(*method, reqwest::Method::GET | reqwest::Method::HEAD))
        // The public quote page takes no token: its link is the key (tests/api/public_quote.rs).
        .filter(|(_, path)| !path.starts_with("/public/"))
        .collect();
    assert!(writes.len() > 30, "the spec lists the writes: {}", writes.len());
    let mut wrong = Vec::new();
    for (method, path) in writes {
        let response = app
            .request(method.clone(), &path, &viewer)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::FORBIDDEN {
            wrong.push(format!("{method} {path}: {}", response.status()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
