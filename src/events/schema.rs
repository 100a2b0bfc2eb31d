//! The events in the OpenAPI document: `Event` is a union discriminated by `type`, with one
//! schema per event type and one for its `data`, so that generated clients get typed payloads.
//! The shapes follow what the writers put in `data` (see [`super`]); `tests/api/mirror.rs` and
//! schemathesis check served events against them.

use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayBuilder, Discriminator, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Components, OpenApi as Spec, Ref, RefOr};

use super::EventType;

/// The view schema of the resource an event type names, and the key of `data` it is under.
fn resource(name: &str) -> (&'static str, &'static str) {
    match name {
        "business_partner" => ("business_partner", "Partner"),
        "contact" => ("contact", "Contact"),
        "opportunity" => ("opportunity", "Opportunity"),
        "activity" => ("activity", "Activity"),
        "quote" => ("quote", "Quote"),
        "article" => ("article", "Article"),
        "stage" => ("stage", "Stage"),
        "funnel" => ("funnel", "Funnel"),
        "class" => ("class", "Class"),
        "lost_reason" => ("lost_reason", "LostReason"),
        "user" => ("user", "User"),
        "custom_field" => ("custom_field", "CustomField"),
        "exchange_rate" => ("exchange_rate", "ExchangeRate"),
        "quota" => ("quota", "Quota"),
        _ => ("settings", "Settings"),
    }
}

/// `opportunity.stage_changed` → `OpportunityStageChanged`.
fn camel(event_type: &str) -> String {
    event_type
        .split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn string(format: Option<KnownFormat>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(format.map(SchemaFormat::KnownFormat))
        .description(Some(description))
        .into()
}

fn lines() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(reference("Line"))
        .description(Some("The opportunity's lines after the change"))
        .into()
}

fn stage_ref(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property("id", string(Some(KnownFormat::Uuid), "Stage id"))
        .property("code", string(None, "Stage code"))
        .property("name", string(None, "Stage name"))
        .property("outcome", reference("Outcome"))
        .required("id")
        .required("code")
        .required("name")
        .required("outcome")
        .into()
}

/// The example of component schema `name`, or an empty object.
fn example_of(components: &Components, name: &str) -> Value {
    match components.schemas.get(name) {
        Some(RefOr::T(Schema::Object(object))) => object.example.clone().unwrap_or_else(|| json!({})),
        _ => json!({}),
    }
}

/// An example of the `data` of `event_type`, built from the examples of the views it holds.
fn data_example(components: &Components, event_type: EventType) -> Value {
    let name = event_type.as_str();
    let (resource_name, action) = name.split_once('.').unwrap_or((name, ""));
    let (key, view) = resource(resource_name);
    let mut example = Map::new();
    example.insert(key.to_owned(), example_of(components, view));
    if !matches!(action, "created" | "deleted") {
        example.insert("previous".to_owned(), json!({}));
    }
    let stage =
        json!({"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "ANGEBOT", "name": "Angebot", "outcome": "open"});
    match (resource_name, action) {
        ("opportunity", "deleted") => {
            example.insert("lines".to_owned(), json!([]));
        }
        ("opportunity", "stage_changed" | "won" | "lost" | "reopened") => {
            example.insert("from_stage".to_owned(), stage.clone());
            example.insert("to_stage".to_owned(), stage);
            if action == "won" {
                example.insert("business_partner".to_owned(), example_of(components, "Partner"));
                example.insert("lines".to_owned(), json!([]));
                example.insert("primary_quote".to_owned(), Value::Null);
            }
        }
        _ => {}
    }
    Value::Object(example)
}

/// The `data` of events of `event_type`.
fn data(event_type: EventType) -> Schema {
    let name = event_type.as_str();
    let (resource_name, action) = name.split_once('.').unwrap_or((name, ""));
    let (key, view) = resource(resource_name);
    let mut data = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            key,
            AllOfBuilder::new()
                .item(reference(view))
                .description(Some(if action == "deleted" {
                    "Its last state, as GET showed it"
                } else {
                    "The resource after the change, as GET shows it"
                })),
        )
        .required(key);
    if !matches!(action, "created" | "deleted") {
        data = data
            .property(
                "previous",
                ObjectBuilder::new().schema_type(Type::Object).description(Some(
                    "The changed fields' values before the change (`version` and `updated_at` left out)",
                )),
            )
            .required("previous");
    }
    match (resource_name, action) {
        ("opportunity", "updated") => {
            data = data.property("lines", lines()).property(
                "cause",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some(
                        "What changed its values without a write to it: a stage's probability, a funnel's \
                         formula, or an activity",
                    ))
                    .property("type", string(None, "`stage`, `funnel` or `activity`"))
                    .property("id", string(None, "Its id"))
                    .required("type")
                    .required("id"),
            );
        }
        ("opportunity", "deleted") => data = data.property("lines", lines()).required("lines"),
        ("opportunity", "stage_changed" | "won" | "lost" | "reopened") => {
            data = data
                .property("from_stage", stage_ref("The stage it left"))
                .property("to_stage", stage_ref("The stage it entered"))
                .required("from_stage")
                .required("to_stage");
            if action == "won" {
                data = data
                    .property("business_partner", reference("Partner"))
                    .property("lines", lines())
                    .property(
                        "primary_quote",
                        OneOfBuilder::new()
                            .item(reference("Quote"))
                            .item(ObjectBuilder::new().schema_type(Type::Null))
                            .description(Some("The primary quote with its lines, or null")),
                    )
                    .required("business_partner")
                    .required("lines")
                    .required("primary_quote");
            }
        }
        _ => {}
    }
    data.description(Some(format!("The `data` of `{name}`."))).into()
}

/// The event of `event_type`, referring to its data schema `data_name`.
fn event(event_type: EventType, data_name: &str) -> Schema {
    let description = format!("An event of type `{}`.", event_type.as_str());
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property(
            "seq",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .description(Some("Feed position; poll with `after` = the last one processed")),
        )
        .property(
            "id",
            string(Some(KnownFormat::Uuid), "Unique id of the event: handle each id once"),
        )
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([event_type.as_str()])),
        )
        .property(
            "occurred_at",
            string(Some(KnownFormat::DateTime), "When the change's transaction began"),
        )
        .property(
            "subject_id",
            string(
                None,
                "The id of the resource that changed, as text (a UUID, a class code, or an exchange rate's `CHF/2027-01-01`)",
            ),
        )
        .property(
            "actor",
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::Array(vec![
                    Type::String,
                    Type::Null,
                ]))
                .description(Some("The `sub` of the token that made the change")),
        )
        .property("data", reference(data_name))
        .required("seq")
        .required("id")
        .required("type")
        .required("occurred_at")
        .required("subject_id")
        .required("data")
        .into()
}

fn with_example(mut schema: Schema, example: Value) -> Schema {
    if let Schema::Object(object) = &mut schema {
        object.example = Some(example);
    }
    schema
}

/// Replaces the `Event` schema with the union of one schema per event type.
pub fn typed_events(spec: &mut Spec) {
    let components = spec.components.get_or_insert_with(Default::default);
    let mut union = OneOfBuilder::new().description(Some(
        "A change, at its position in the feed; `type` says which, and `data` has the shape of that type.",
    ));
    let mut mapping = Vec::new();
    for event_type in EventType::ALL {
        let base = camel(event_type.as_str());
        let (event_name, data_name) = (format!("{base}Event"), format!("{base}Data"));
        let example = data_example(components, *event_type);
        let event_example = json!({
            "seq": 1042, "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f90", "type": event_type.as_str(),
            "occurred_at": "2026-11-22T10:15:00Z", "subject_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20",
            "actor": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "data": example.clone()
        });
        components
            .schemas
            .insert(data_name.clone(), RefOr::T(with_example(data(*event_type), example)));
        components.schemas.insert(
            event_name.clone(),
            RefOr::T(with_example(event(*event_type, &data_name), event_example)),
        );
        union = union.item(reference(&event_name));
        mapping.push((
            event_type.as_str().to_owned(),
            format!("#/components/schemas/{event_name}"),
        ));
    }
    let union = union.discriminator(Some(Discriminator::with_mapping("type", mapping)));
    components.schemas.insert("Event".to_owned(), RefOr::T(union.into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_schema_names_are_camel_case() {
        assert_eq!(camel("opportunity.stage_changed"), "OpportunityStageChanged");
        assert_eq!(camel("settings.updated"), "SettingsUpdated");
    }
}
