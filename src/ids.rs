//! Typed ids: a partner id is not an opportunity id, and the compiler knows it. Each id is a
//! UUID on the wire (the same schema, `string`/`uuid`) and in the database (diesel's `Uuid`).
//! Wire types annotate their id fields `#[schema(value_type = Uuid)]`, so the document shows a
//! plain UUID as before.

use std::fmt;

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use uuid::Uuid;

/// The schema utoipa gives a `Uuid` field: a string of format `uuid`.
fn uuid_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .into()
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            diesel::AsExpression,
            diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = sql_types::Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id (UUID v7: time-ordered, so new rows land at the end of the index).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ToSql<sql_types::Uuid, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Uuid as ToSql<sql_types::Uuid, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<sql_types::Uuid, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                <Uuid as FromSql<sql_types::Uuid, Pg>>::from_sql(bytes).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                uuid_schema()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

typed_id!(
    /// A business partner (a prospect or a customer).
    PartnerId
);
typed_id!(
    /// An opportunity.
    OpportunityId
);
typed_id!(
    /// A line of an opportunity.
    OpportunityLineId
);
typed_id!(
    /// A quote.
    QuoteId
);
typed_id!(
    /// A line of a quote.
    QuoteLineId
);
typed_id!(
    /// An activity (a call, a meeting, a task, …).
    ActivityId
);
typed_id!(
    /// A user of the API.
    UserId
);
typed_id!(
    /// A funnel (a sales process).
    FunnelId
);
typed_id!(
    /// A stage of a funnel.
    StageId
);
typed_id!(
    /// A reason an opportunity was lost.
    LostReasonId
);
typed_id!(
    /// An article of the catalogue.
    ArticleId
);
typed_id!(
    /// A contact person of a business partner.
    ContactId
);
typed_id!(
    /// An e-mail that carried a quote to the customer.
    QuoteSendingId
);
typed_id!(
    /// A custom field definition.
    CustomFieldId
);
typed_id!(
    /// A sales quota.
    QuotaId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_plain_uuid_on_the_wire() {
        let id = PartnerId::generate();
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", id.0));
        let back: Result<PartnerId, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(id));
        assert_eq!(id.to_string(), id.0.to_string());
    }

    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)]
    struct WithUuid {
        id: Uuid,
    }

    #[test]
    fn the_schema_is_the_one_of_a_uuid_field() {
        let id = serde_json::to_value(<OpportunityId as utoipa::PartialSchema>::schema()).unwrap_or_default();
        let field = serde_json::to_value(<WithUuid as utoipa::PartialSchema>::schema()).unwrap_or_default();
        assert_eq!(Some(&id), field.pointer("/properties/id"), "{field}");
        assert_eq!(id.get("format").and_then(|f| f.as_str()), Some("uuid"));
    }
}
