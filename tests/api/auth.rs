use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use salesfunnel::access::Role;
use salesfunnel::config::JwtKey;
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, ISSUER, SECRET, TestApp, json_with, problem, spawn_app, spawn_app_with_key};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(overrides: Value) -> Value {
    let mut claims = json!({"sub": "someone", "roles": ["admin"], "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600});
    if let (Some(base), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    claims
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn status_with(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/users", token).await.status()
}

async fn assert_unauthorized(app: &TestApp, token: &str) {
    let response = app.get("/api/v1/users", token).await;
    assert_eq!(
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "401 carries WWW-Authenticate"
    );
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let app = spawn_app().await;
    assert_eq!(
        status_with(&app, &hs256(&claims(json!({})), SECRET)).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&app, &hs256(&claims(json!({"roles": "viewer"})), SECRET)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn no_authorization_header_is_401() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/api/v1/users", app.address))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_401() {
    let app = spawn_app().await;
    for header in ["Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "token"] {
        let response = app
            .client
            .get(format!("{}/api/v1/users", app.address))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn alg_none_is_401() {
    let app = spawn_app().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    assert_unauthorized(&app, &format!("{header}.{payload}.")).await;
}

#[tokio::test]
async fn wrong_key_expired_not_yet_valid_wrong_issuer_and_audience_are_401() {
    let app = spawn_app().await;
    assert_unauthorized(
        &app,
        &hs256(&claims(json!({})), b"another-secret-another-secret-another"),
    )
    .await;
    assert_unauthorized(&app, &hs256(&claims(json!({"exp": now() - 3600})), SECRET)).await;
    assert_unauthorized(&app, &hs256(&claims(json!({"nbf": now() + 3600})), SECRET)).await;
    assert_unauthorized(&app, &hs256(&claims(json!({"iss": "someone-else"})), SECRET)).await;
    assert_unauthorized(&app, &hs256(&claims(json!({"aud": "another-api"})), SECRET)).await;
}

#[tokio::test]
async fn tokens_without_exp_or_sub_are_401() {
    let app = spawn_app().await;
    let mut no_exp = claims(json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_unauthorized(&app, &hs256(&no_exp, SECRET)).await;
    let mut no_sub = claims(json!({}));
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_unauthorized(&app, &hs256(&no_sub, SECRET)).await;
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_configured_public_key() {
    let key = JwtKey::PublicKey {
        pem: fixture("rs256-public.pem"),
        algorithm: Algorithm::RS256,
    };
    let app = spawn_app_with_key(key).await;
    let private = EncodingKey::from_rsa_pem(&fixture("rs256-private.pem")).unwrap();
    let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(json!({})), &private).unwrap();
    assert_eq!(status_with(&app, &token).await, StatusCode::OK);
}

#[tokio::test]
async fn an_hs256_token_is_refused_when_rs256_is_configured() {
    // Key confusion: the attacker signs HS256 with the public key as the HMAC secret.
    let public = fixture("rs256-public.pem");
    let app = spawn_app_with_key(JwtKey::PublicKey {
        pem: public.clone(),
        algorithm: Algorithm::RS256,
    })
    .await;
    assert_unauthorized(&app, &hs256(&claims(json!({})), &public)).await;
    assert_unauthorized(&app, &hs256(&claims(json!({})), SECRET)).await;
}

#[tokio::test]
async fn es256_tokens_verify_and_other_algorithms_do_not() {
    let app = spawn_app_with_key(JwtKey::PublicKey {
        pem: fixture("es256-public.pem"),
        algorithm: Algorithm::ES256,
    })
    .await;
    let private = EncodingKey::from_ec_pem(&fixture("es256-private.pem")).unwrap();
    let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(json!({})), &private).unwrap();
    assert_eq!(status_with(&app, &token).await, StatusCode::OK);
    let rsa = EncodingKey::from_rsa_pem(&fixture("rs256-private.pem")).unwrap();
    let rs_token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(json!({})), &rsa).unwrap();
    assert_unauthorized(&app, &rs_token).await;
}

#[tokio::test]
async fn a_role_that_may_not_act_gets_403() {
    let app = spawn_app().await;
    let viewer = app.token_for(Role::Viewer, "v");
    let body = json!({"kind": "lead", "name": "Nope GmbH"});
    problem(
        app.post("/api/v1/business-partners", &viewer, &body).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let rep = app.token_for(Role::Rep, "r");
    let user = json!({"email": "x@example.com", "display_name": "X", "role": "rep"});
    problem(app.post("/api/v1/users", &rep, &user).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_token_with_only_unknown_roles_gets_401() {
    let app = spawn_app().await;
    let token = hs256(&claims(json!({"roles": ["superuser"]})), SECRET);
    problem(app.get("/api/v1/users", &token).await, StatusCode::UNAUTHORIZED).await;
    let ok = json_with(app.get("/api/v1/users", &app.admin()).await, StatusCode::OK).await;
    assert!(ok["items"].is_array());
}
