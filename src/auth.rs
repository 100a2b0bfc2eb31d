//! JWT verification and the `Principal` extractor; what a principal may do is `access`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::access::{Principal, Role};
use crate::config::{JwtKey, JwtSettings};
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::ids::UserId;

/// The claims read from a token; `roles` is checked by hand so that a malformed claim gets
/// a 401 in words.
#[derive(Debug, Deserialize)]
struct IncomingClaims {
    sub: String,
    exp: u64,
    #[serde(default)]
    roles: Option<serde_json::Value>,
}

/// `roles` may be a single name or a list of names; unknown names are ignored, but at least one
/// must be known.
fn roles_of(claim: Option<serde_json::Value>) -> Result<Vec<Role>, AppError> {
    let malformed =
        || AppError::Unauthorized("the token's roles claim must be a role name or a list of role names".to_owned());
    let names = match claim {
        None => Vec::new(),
        Some(serde_json::Value::String(name)) => vec![name],
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(name) => Ok(name),
                _ => Err(malformed()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(malformed()),
    };
    let roles: Vec<Role> = names.iter().filter_map(|name| name.parse::<Role>().ok()).collect();
    if roles.is_empty() {
        Err(AppError::Unauthorized(
            "the token's roles claim must name at least one known role (admin, manager, rep, viewer, integration)"
                .to_owned(),
        ))
    } else {
        Ok(roles)
    }
}

/// Why a token was refused, in words (never the decoder's type names).
fn refusal(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf lies in the future)".to_owned(),
        ErrorKind::InvalidSignature => "the token's signature does not match the configured key".to_owned(),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "the token is not signed with the configured algorithm".to_owned()
        }
        ErrorKind::InvalidIssuer => "the token's issuer (iss) is not the configured one".to_owned(),
        ErrorKind::InvalidAudience => "the token's audience (aud) is not the configured one".to_owned(),
        ErrorKind::InvalidSubject => "the token's subject (sub) is not valid".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token lacks the required claim '{claim}'"),
        ErrorKind::Json(_) => {
            "the token's header or claims are malformed (sub must be a string; exp, nbf and iat numbers)".to_owned()
        }
        _ => "the bearer token is not a well-formed JWT (header.claims.signature, base64url)".to_owned(),
    }
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

/// Verifies bearer tokens with the configured key; the algorithm is pinned by configuration.
/// It also checks token subjects that are user ids against the users (see [`Verifier::authenticate`]).
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    max_ttl: u64,
    users: UserCache,
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
            key: key.decoding_key()?,
            validation,
            max_ttl: settings.max_ttl,
            users: UserCache::default(),
        })
    }

    /// The principal a token claims to be, or 401: signature, `iss`, `aud`, `exp`, `nbf`, a
    /// lifetime of at most `JWT_MAX_TTL` and the roles are checked; the users are not (that is
    /// [`Verifier::authenticate`]). Middleware that verifies a token first may put the result in
    /// the request extensions, where the `Principal` extractor takes it from.
    pub fn verify(&self, token: &str) -> Result<Principal, AppError> {
        let data = jsonwebtoken::decode::<IncomingClaims>(token, &self.key, &self.validation)
            .map_err(|e| AppError::Unauthorized(refusal(&e)))?;
        let latest = jsonwebtoken::get_current_timestamp() + self.max_ttl + self.validation.leeway;
        if data.claims.exp > latest {
            return Err(AppError::Unauthorized(format!(
                "the token's exp lies more than {} seconds (JWT_MAX_TTL) ahead: ask for a shorter-lived token",
                self.max_ttl
            )));
        }
        Ok(Principal {
            roles: roles_of(data.claims.roles)?,
            subject: data.claims.sub,
        })
    }

    /// The principal a verified token stands for now: when its subject is a user id, that user
    /// must exist and be active (else 401), and the token's roles are limited to the user's
    /// stored role. Other subjects (integrations) are taken as they are.
    pub async fn authenticate(&self, pool: &DbPool, claimed: Principal) -> Result<Principal, AppError> {
        let Some(id) = claimed.user_id() else {
            return Ok(claimed);
        };
        let standing = match self.users.get(id) {
            Some(standing) => standing,
            None => {
                let standing = crate::users::store::standing(&mut *db::connection(pool).await?, id).await?;
                self.users.put(id, standing);
                standing
            }
        };
        let role = match standing {
            Some((role, true)) => role,
            Some((_, false)) => return Err(AppError::Unauthorized("the token's user is not active".to_owned())),
            None => return Err(AppError::Unauthorized("the token's user does not exist".to_owned())),
        };
        let roles = crate::access::limit_to(&claimed.roles, role);
        if roles.is_empty() {
            return Err(AppError::Unauthorized(format!(
                "the token's roles exceed its user's role ({role})"
            )));
        }
        Ok(Principal {
            subject: claimed.subject,
            roles,
        })
    }

    /// Drops what this replica remembers of user `id`, after a change to it.
    pub fn forget_user(&self, id: UserId) {
        self.users.forget(id);
    }
}

/// How long a replica trusts what it read of a user: a change made through another replica
/// takes effect here within this time; one made through this replica at once.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(5);

/// A user's stored role and whether they are active; `None` when there is no such user.
type Standing = Option<(Role, bool)>;

/// This replica's recently read users, each kept for [`USER_CACHE_TTL`].
#[derive(Default)]
struct UserCache {
    entries: Mutex<HashMap<UserId, (Instant, Standing)>>,
}

impl UserCache {
    fn get(&self, id: UserId) -> Option<Standing> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(&id)
            .filter(|(read, _)| read.elapsed() < USER_CACHE_TTL)
            .map(|(_, standing)| *standing)
    }

    fn put(&self, id: UserId, standing: Standing) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Stale entries are dropped now and then, so the map holds about the recent callers.
        if entries.len() >= 1024 {
            entries.retain(|_, (read, _)| read.elapsed() < USER_CACHE_TTL);
        }
        entries.insert(id, (Instant::now(), standing));
    }

    fn forget(&self, id: UserId) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
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
        max_ttl: 3600,
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
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal_of(&req).await })
    }
}

async fn principal_of(req: &HttpRequest) -> Result<Principal, AppError> {
    let verifier = req
        .app_data::<Data<Verifier>>()
        .ok_or_else(|| AppError::Internal("no token verifier configured".to_owned()))?;
    let pool = req
        .app_data::<Data<DbPool>>()
        .ok_or_else(|| AppError::Internal("no database pool configured".to_owned()))?;
    let verified = req.extensions().get::<Principal>().cloned();
    let claimed = match verified {
        Some(claimed) => claimed,
        None => verifier.verify(bearer_token(req)?)?,
    };
    let principal = verifier.authenticate(pool, claimed).await?;
    req.extensions_mut()
        .insert(crate::logging::LoggedUser(principal.subject.clone()));
    Ok(principal)
}

/// The token of the `Authorization: Bearer <token>` header, or 401.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("an Authorization: Bearer <token> header is required".to_owned()))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| AppError::Unauthorized("the Authorization header must be 'Bearer <token>'".to_owned()))
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
            max_ttl: 3600,
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
