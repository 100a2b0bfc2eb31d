//! Users are the source of truth for people: a token whose subject is a user id works only
//! while that user exists and is active and grants no more than the user's stored role; token
//! lifetimes are bounded by `JWT_MAX_TTL`; 401 details say what is wrong in words.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use salesfunnel::access::Role;
use salesfunnel::auth::USER_CACHE_TTL;
use salesfunnel::config::DEFAULT_JWT_MAX_TTL;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::opportunities::id;

const USERS: &str = "/api/v1/users";

fn token(claims: Value) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let mut base = json!({"sub": "someone", "roles": ["admin"], "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600});
    for (k, v) in claims.as_object().unwrap() {
        base[k] = v.clone();
    }
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &base, &EncodingKey::from_secret(SECRET)).unwrap()
}

async fn user_patch(app: &TestApp, user: &str, body: Value) {
    let path = format!("{USERS}/{user}");
    let current = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    let response = app
        .request(reqwest::Method::PATCH, &path, &app.admin())
        .header("If-Match", format!("\"{}\"", current["version"]))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_with(response, StatusCode::OK).await;
}

#[tokio::test]
async fn a_deactivated_or_deleted_user_is_refused_at_once() {
    let app = spawn_app().await;
    let anna = id(&app.create_user("anna@example.com", "manager").await);
    let token = app.token_for(Role::Manager, &anna);
    json_with(app.get(USERS, &token).await, StatusCode::OK).await;

    user_patch(&app, &anna, json!({"active": false})).await;
    let refused = problem(app.get(USERS, &token).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(refused["detail"], "the token's user is not active");

    user_patch(&app, &anna, json!({"active": true})).await;
    json_with(app.get(USERS, &token).await, StatusCode::OK).await;

    let current = json_with(app.get(&format!("{USERS}/{anna}"), &app.admin()).await, StatusCode::OK).await;
    let deleted = app
        .request(reqwest::Method::DELETE, &format!("{USERS}/{anna}"), &app.admin())
        .header("If-Match", format!("\"{}\"", current["version"]))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let refused = problem(app.get(USERS, &token).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(refused["detail"], "the token's user does not exist");
}

#[tokio::test]
async fn a_token_grants_no_more_than_the_users_stored_role() {
    let app = spawn_app().await;
    let ben = id(&app.create_user("ben@example.com", "admin").await);
    let token = app.token_for(Role::Admin, &ben);
    json_with(
        app.post(
            USERS,
            &token,
            &json!({"email": "x@example.com", "display_name": "X", "role": "viewer"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    user_patch(&app, &ben, json!({"role": "viewer"})).await;
    // The admin token of a user now stored as viewer reads, but no longer configures.
    json_with(app.get(USERS, &token).await, StatusCode::OK).await;
    problem(
        app.post(
            USERS,
            &token,
            &json!({"email": "y@example.com", "display_name": "Y", "role": "viewer"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A rep token of a viewer grants nothing the viewer has.
    let refused = problem(
        app.get(USERS, &app.token_for(Role::Rep, &ben)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(refused["detail"], "the token's roles exceed its user's role (viewer)");
}

#[tokio::test]
async fn integration_tokens_whose_subject_is_no_user_id_work_as_before() {
    let app = spawn_app().await;
    json_with(
        app.get("/api/v1/events", &app.token_for(Role::Integration, "erp"))
            .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_change_made_elsewhere_takes_effect_within_the_cache_lifetime() {
    let app = spawn_app().await;
    let cara = id(&app.create_user("cara@example.com", "manager").await);
    let token = app.token_for(Role::Manager, &cara);
    json_with(app.get(USERS, &token).await, StatusCode::OK).await;
    // Another replica deactivates her: this one learns it only from the database.
    let mut conn = app.db.connect_async().await;
    diesel::sql_query(format!("UPDATE users SET active = false WHERE id = '{cara}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    let changed = Instant::now();
    while app.get(USERS, &token).await.status() == StatusCode::OK {
        assert!(
            changed.elapsed() < USER_CACHE_TTL + Duration::from_secs(1),
            "still accepted after {:?}",
            changed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(USER_CACHE_TTL <= Duration::from_secs(5));
    problem(app.get(USERS, &token).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn tokens_living_longer_than_the_maximum_are_refused() {
    let app = spawn_app().await;
    let now = jsonwebtoken::get_current_timestamp();
    json_with(
        app.get(USERS, &token(json!({"exp": now + DEFAULT_JWT_MAX_TTL}))).await,
        StatusCode::OK,
    )
    .await;
    let refused = problem(
        app.get(USERS, &token(json!({"exp": now + 10 * 365 * 86_400}))).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("JWT_MAX_TTL"), "{refused}");
}

#[tokio::test]
async fn refusals_say_in_words_what_is_wrong() {
    let app = spawn_app().await;
    let now = jsonwebtoken::get_current_timestamp();
    for (token, expected) in [
        (token(json!({"exp": now - 3600})), "the token has expired"),
        (
            token(json!({"roles": 5})),
            "the token's roles claim must be a role name or a list of role names",
        ),
        (
            token(json!({"roles": [["admin"]]})),
            "the token's roles claim must be a role name or a list of role names",
        ),
        (
            token(json!({"iss": "elsewhere"})),
            "the token's issuer (iss) is not the configured one",
        ),
        (
            token(json!({"aud": "elsewhere"})),
            "the token's audience (aud) is not the configured one",
        ),
        (
            token(json!({"sub": 7})),
            "the token's header or claims are malformed (sub must be a string; exp, nbf and iat numbers)",
        ),
        (
            "e30.e30.e30".to_owned(),
            "the token's header or claims are malformed (sub must be a string; exp, nbf and iat numbers)",
        ),
        (
            "not-a-jwt".to_owned(),
            "the bearer token is not a well-formed JWT (header.claims.signature, base64url)",
        ),
    ] {
        let refused = problem(app.get(USERS, &token).await, StatusCode::UNAUTHORIZED).await;
        let detail = refused["detail"].as_str().unwrap();
        assert_eq!(detail, expected, "{token}");
        for rust in ["enum", "struct", "RolesClaim", "Header", "invalid type"] {
            assert!(!detail.contains(rust), "{detail}");
        }
    }
}
