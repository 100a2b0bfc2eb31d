//! JWT verification and the `Principal` extractor; what a principal may do is `access`.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::{JwtKey, JwtSettings};
use crate::error::AppError;

crate::db::text_enum! {
    /// What a caller may do; a token carries one or more.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        /// Everything, including configuration.
        Admin = "admin",
        /// Reads all; writes partners, opportunities, lines, activities, quotes.
        Manager = "manager",
        /// Reads configuration and partners; writes partners and the opportunities of their teams.
        Rep = "rep",
        /// Reads all, writes nothing.
        Viewer = "viewer",
        /// ERP systems: reads all, event feed, upserts articles and partners.
        Integration = "integration",
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's `sub`: a user id for reps and managers.
    pub subject: String,
    pub roles: Vec<Role>,
}

impl Principal {
    /// The caller's user id, when `sub` is one.
    pub fn user_id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.subject).ok()
    }
}

/// `roles` may be a single string or an array; unknown names are ignored.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RolesClaim {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct IncomingClaims {
    sub: String,
    #[serde(default)]
    roles: Option<RolesClaim>,
}

#[derive(Debug, Serialize)]
struct OutgoingClaims<'a> {
    sub: &'a str,
    roles: &'a [Role],
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// Builds the decoding key for `key`, failing on a malformed PEM.
pub fn decoding_key(key: &JwtKey) -> Result<DecodingKey, jsonwebtoken::errors::Error> {
    match key {
        JwtKey::Secret(secret) => Ok(DecodingKey::from_secret(secret)),
        JwtKey::PublicKey {
            pem,
            algorithm: Algorithm::ES256,
        } => DecodingKey::from_ec_pem(pem),
        JwtKey::PublicKey { pem, .. } => DecodingKey::from_rsa_pem(pem),
    }
}

/// Verifies bearer tokens with the configured key; the algorithm is pinned by configuration.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    pub fn new(settings: &JwtSettings, key: &JwtKey) -> Result<Self, jsonwebtoken::errors::Error> {
        let algorithm = match key {
            JwtKey::Secret(_) => Algorithm::HS256,
            JwtKey::PublicKey { algorithm, .. } => *algorithm,
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self {
            key: decoding_key(key)?,
            validation,
        })
    }

    /// The principal a token stands for, or 401.
    pub fn verify(&self, token: &str) -> Result<Principal, AppError> {
        let data = jsonwebtoken::decode::<IncomingClaims>(token, &self.key, &self.validation)
            .map_err(|e| AppError::Unauthorized(format!("the bearer token is not valid: {e}")))?;
        let names = match data.claims.roles {
            Some(RolesClaim::One(name)) => vec![name],
            Some(RolesClaim::Many(names)) => names,
            None => Vec::new(),
        };
        let roles = names.iter().filter_map(|name| name.parse::<Role>().ok()).collect();
        Ok(Principal {
            subject: data.claims.sub,
            roles,
        })
    }
}

/// Signs HS256 tokens (the `token` command, the printed admin token, tests).
pub struct Signer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl Signer {
    pub fn new(settings: &JwtSettings, secret: &[u8]) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
    }

    pub fn sign(&self, role: Role, subject: &str, ttl_seconds: u64) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign_roles(&[role], subject, ttl_seconds)
    }

    /// A token carrying several roles (tests of role combinations).
    pub fn sign_roles(
        &self,
        roles: &[Role],
        subject: &str,
        ttl_seconds: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = OutgoingClaims {
            sub: subject,
            roles,
            iss: &self.issuer,
            aud: &self.audience,
            iat: now,
            nbf: now,
            exp: now + ttl_seconds,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}

/// Signs and verifies one token, so a crypto backend missing from the build fails at start-up
/// rather than at the first request.
pub fn self_test() -> Result<(), String> {
    let settings = JwtSettings {
        key: None,
        issuer: "self-test".to_owned(),
        audience: "self-test".to_owned(),
    };
    let secret = b"self-test-secret-self-test-secret";
    let token = Signer::new(&settings, secret)
        .sign(Role::Viewer, "self-test", 60)
        .map_err(|e| e.to_string())?;
    let verifier = Verifier::new(&settings, &JwtKey::Secret(secret.to_vec())).map_err(|e| e.to_string())?;
    verifier.verify(&token).map(|_| ()).map_err(|e| e.to_string())
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_of(req))
    }
}

fn principal_of(req: &HttpRequest) -> Result<Principal, AppError> {
    let verifier = req
        .app_data::<Data<Verifier>>()
        .ok_or_else(|| AppError::Internal("no token verifier configured".to_owned()))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("an Authorization: Bearer <token> header is required".to_owned()))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| AppError::Unauthorized("the Authorization header must be 'Bearer <token>'".to_owned()))?;
    verifier.verify(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crypto_backend_signs_and_verifies() {
        assert_eq!(self_test(), Ok(()));
    }

    #[test]
    fn roles_claim_accepts_a_string_or_an_array() {
        let settings = JwtSettings {
            key: None,
            issuer: "i".to_owned(),
            audience: "a".to_owned(),
        };
        let secret = b"0123456789abcdef0123456789abcdef";
        let token = Signer::new(&settings, secret)
            .sign(Role::Rep, "u", 60)
            .unwrap_or_default();
        let verifier = Verifier::new(&settings, &JwtKey::Secret(secret.to_vec()));
        let principal = verifier.ok().and_then(|v| v.verify(&token).ok());
        assert_eq!(principal.map(|p| p.roles), Some(vec![Role::Rep]));
    }
}
