//! Webhooks: every published event (one with a feed position `seq`) is POSTed, signed with the
//! webhook's secret, to each active webhook whose `event_types` match — in `seq` order per
//! webhook, retried with exponential backoff, every attempt recorded. A worker task in each
//! replica does the delivery; rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so
//! any number of replicas can run.

pub mod deliveries;
pub mod queue;
pub mod routes;
pub mod store;
pub mod target;
pub mod worker;

use std::borrow::Cow;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use sha2::Sha256;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::events::EventType;

/// The header that carries the signature: `t=<unix time>,v1=<lowercase hex HMAC-SHA256 of
/// "<t>.<body>">`; receivers reject a `t` more than 5 minutes away from their clock (replays).
pub const SIGNATURE_HEADER: &str = "X-Salesfunnel-Signature";

/// The signature of the previous release, kept for one release: `sha256=<hex HMAC of the body>`.
pub const LEGACY_SIGNATURE_HEADER: &str = "X-Salesfunnel-Signature-256";

/// An event type a webhook subscribes to, or `*` for every type (also those added later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEventType {
    /// `*`
    Any,
    Event(EventType),
}

impl WebhookEventType {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "*",
            Self::Event(event) => event.as_str(),
        }
    }
}

impl FromStr for WebhookEventType {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "*" => Ok(Self::Any),
            _ => text
                .parse()
                .map(Self::Event)
                .map_err(|_| format!("'{text}' is not an event type or '*'")),
        }
    }
}

impl Serialize for WebhookEventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebhookEventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Cow::<str>::deserialize(deserializer)?
            .parse()
            .map_err(de::Error::custom)
    }
}

impl PartialSchema for WebhookEventType {
    fn schema() -> RefOr<Schema> {
        let names = std::iter::once("*").chain(EventType::ALL.iter().map(|event| event.as_str()));
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some("An event type, or `*` for every type (also those added later)"))
            .enum_values(Some(names))
            .into()
    }
}

impl ToSchema for WebhookEventType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WebhookEventType")
    }
}

/// The lowercase hex HMAC-SHA256 of `parts` in a row, keyed with the webhook's secret.
fn hmac_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length (long ones are hashed), so this never fails in practice.
    let digest = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(mut mac) => {
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    hex::encode(digest)
}

/// [`LEGACY_SIGNATURE_HEADER`]'s value for `body`: `sha256=` and the HMAC of the exact body.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_hex(secret, &[body]))
}

/// [`SIGNATURE_HEADER`]'s value for `body` sent at unix time `t`: `t=<t>,v1=<hex HMAC of
/// "<t>.<body>">`. The time is signed with the body, so an old delivery cannot be replayed as
/// new.
pub fn timestamped_signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let stamp = t.to_string();
    format!("t={stamp},v1={}", hmac_hex(secret, &[stamp.as_bytes(), b".", body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_rfc_4231_test_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_timestamped_signature_signs_time_and_body() {
        let signed = timestamped_signature(b"Jefe", 1_700_000_000, b"{}");
        assert_eq!(
            signed,
            format!("t=1700000000,v1={}", hmac_hex(b"Jefe", &[b"1700000000.{}"]))
        );
        assert_ne!(signed, timestamped_signature(b"Jefe", 1_700_000_001, b"{}"));
    }

    #[test]
    fn event_types_round_trip_through_their_names() {
        assert_eq!(
            "quote.sent".parse::<WebhookEventType>(),
            Ok(WebhookEventType::Event(EventType::QuoteSent))
        );
        assert_eq!(WebhookEventType::Any.as_str(), "*");
        assert!("quote.lost".parse::<WebhookEventType>().is_err());
    }
}
