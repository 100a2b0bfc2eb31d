//! Who sees and changes which opportunities.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::json;

use crate::helpers::*;
use crate::opportunities::*;

#[tokio::test]
async fn a_rep_sees_the_opportunities_of_their_team_funnels_and_their_own() {
    let app = spawn_app().await;
    let a = sales(&app, "NW").await;
    let b = sales(&app, "GW").await;
    let anna = id(&app.create_user("anna@example.com", "rep").await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", a.funnel),
            &app.admin(),
            &json!({"team_ids": [anna]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let team = create(&app, &a, "Team").await;
    let mut body = new_body(&b, "Eigene");
    body["owner_id"] = anna.clone().into();
    let own = create_as(&app, &app.admin(), &body).await;
    let hidden = create(&app, &b, "Fremd").await;
    let anna_token = app.token_for(Role::Rep, &anna);

    assert_eq!(subjects_as(&app, &anna_token, "").await, sorted(&["Team", "Eigene"]));
    for opportunity in [&team, &own] {
        json_with(app.get(&path_of(opportunity), &anna_token).await, StatusCode::OK).await;
    }
    json_with(
        app.patch(&path_of(&team), &anna_token, &json!({"description": "von Anna"}))
            .await,
        StatusCode::OK,
    )
    .await;
    problem(app.get(&path_of(&hidden), &anna_token).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get(&format!("{}/history", path_of(&hidden)), &anna_token).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.patch(&path_of(&hidden), &anna_token, &json!({"subject": "x"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for (action, body) in [
        ("stage", json!({"stage_id": b.proposal})),
        ("win", json!({})),
        ("lose", json!({"lost_reason_id": b.reason})),
    ] {
        problem(
            act(&app, &anna_token, &hidden, action, &body).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    problem(app.delete(&path_of(&hidden), &anna_token).await, StatusCode::NOT_FOUND).await;
    for query in [
        format!("owner_id={}", b.owner),
        format!("funnel_id={}", b.funnel),
        format!("stage_id={}", b.first),
        "class_id=GW".to_owned(),
        format!("business_partner_id={}", b.partner),
        "health=green".to_owned(),
        "status=open".to_owned(),
        "q=Fremd".to_owned(),
        "q=OPP-000003".to_owned(),
    ] {
        let found = subjects_as(&app, &anna_token, &query).await;
        assert!(!found.contains(&"Fremd".to_owned()), "{query}: {found:?}");
    }
    assert_eq!(
        subjects_as(&app, &anna_token, &format!("funnel_id={}", b.funnel)).await,
        vec!["Eigene"]
    );
    let read = json_with(app.get(&path_of(&hidden), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["version"], 1, "nothing reached it");
    let closed = act_ok(&app, &hidden, "win", &json!({})).await;
    problem(
        act(&app, &anna_token, &closed, "reopen", &json!({"stage_id": b.first})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A rep token whose subject is no user sees nothing.
    assert!(
        subjects_as(&app, &app.token_for(Role::Rep, "not-a-user"), "")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_rep_creates_for_others_only_in_their_team_funnels() {
    let app = spawn_app().await;
    let a = sales(&app, "NW").await;
    let b = sales(&app, "GW").await;
    let anna = id(&app.create_user("anna@example.com", "rep").await);
    let ben = id(&app.create_user("ben@example.com", "rep").await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", a.funnel),
            &app.admin(),
            &json!({"team_ids": [anna]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let anna_token = app.token_for(Role::Rep, &anna);
    let mut elsewhere = new_body(&b, "Für Ben woanders");
    elsewhere["owner_id"] = ben.clone().into();
    problem(app.post(LIST, &anna_token, &elsewhere).await, StatusCode::FORBIDDEN).await;
    // The class's default owner is someone else as well.
    problem(
        app.post(LIST, &anna_token, &new_body(&b, "Klassenbesitzer")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    elsewhere["owner_id"] = anna.clone().into();
    create_as(&app, &anna_token, &elsewhere).await;
    let mut team = new_body(&a, "Für Ben im Team");
    team["owner_id"] = ben.clone().into();
    create_as(&app, &anna_token, &team).await;
    // Handing an opportunity to someone else in a funnel outside the team is just as closed.
    let mine = create_as(&app, &anna_token, &{
        let mut body = new_body(&b, "Abgeben");
        body["owner_id"] = anna.clone().into();
        body
    })
    .await;
    problem(
        app.patch(&path_of(&mine), &anna_token, &json!({"owner_id": ben})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        subjects(&app, "").await,
        sorted(&["Für Ben woanders", "Für Ben im Team", "Abgeben"])
    );
    let anonymous = app.anonymous(Method::GET, LIST).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let anonymous = app
        .anonymous(Method::POST, LIST)
        .json(&new_body(&a, "Anonym"))
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_viewer_reads_everything_and_writes_nothing() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let open = create(&app, &s, "Offen").await;
    let won = create(&app, &s, "Gewonnen").await;
    let won = act_ok(&app, &won, "win", &json!({})).await;
    let viewer = app.token_for(Role::Viewer, "v");
    assert_eq!(subjects_as(&app, &viewer, "").await, sorted(&["Offen", "Gewonnen"]));
    json_with(app.get(&path_of(&open), &viewer).await, StatusCode::OK).await;
    json_with(
        app.get(&format!("{}/history", path_of(&open)), &viewer).await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.post(LIST, &viewer, &new_body(&s, "Nein")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.patch(&path_of(&open), &viewer, &json!({"subject": "Nein"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for (opportunity, action, body) in [
        (&open, "stage", json!({"stage_id": s.proposal})),
        (&open, "win", json!({})),
        (&open, "lose", json!({"lost_reason_id": s.reason})),
        (&won, "reopen", json!({"stage_id": s.first})),
        (&won, "erp-handoff", json!({"erp_reference": "SO-1"})),
    ] {
        problem(
            act(&app, &viewer, opportunity, action, &body).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    problem(app.delete(&path_of(&open), &viewer).await, StatusCode::FORBIDDEN).await;
    let read = json_with(app.get(&path_of(&open), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["version"], 1);
}
