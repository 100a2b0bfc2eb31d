//! The OpenAPI document: info, tags, the bearer scheme, shared problem responses, and the
//! responses every operation shares (added after the routes are collected).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Spec, RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, ProblemDetails};

/// Reusable problem+json responses.
pub mod responses {
    use utoipa::ToResponse;

    use crate::error::ProblemDetails;

    /// The request is malformed: a body that is not JSON, a bad query string or path, a bad cursor.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:bad-request", "title": "Bad Request", "status": 400,
        "detail": "limit must be from 1 to 200"}))]
    pub struct BadRequest(pub ProblemDetails);

    /// No token, or one that is malformed, expired, for another issuer or audience, or badly signed.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:unauthorized", "title": "Unauthorized", "status": 401,
        "detail": "an Authorization: Bearer <token> header is required"}))]
    pub struct Unauthorized(pub ProblemDetails);

    /// The caller's role may not do this.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:forbidden", "title": "Forbidden", "status": 403,
        "detail": "your role may not do this"}))]
    pub struct Forbidden(pub ProblemDetails);

    /// The resource does not exist or is not visible to the caller.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:not-found", "title": "Not Found", "status": 404,
        "detail": "business partner 0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10 does not exist"}))]
    pub struct NotFound(pub ProblemDetails);

    /// The request conflicts with the resource's state or with references to it.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:conflict", "title": "Conflict", "status": 409,
        "detail": "business partner BP-000042 is already a customer"}))]
    pub struct Conflict(pub ProblemDetails);

    /// `If-Match` names another version than the current one.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:precondition-failed", "title": "Precondition Failed", "status": 412,
        "detail": "If-Match does not match the current version \"4\"; fetch the resource again"}))]
    pub struct PreconditionFailed(pub ProblemDetails);

    /// The body is larger than 1 MiB.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:payload-too-large", "title": "Payload Too Large", "status": 413,
        "detail": "the request body exceeds 1048576 bytes"}))]
    pub struct PayloadTooLarge(pub ProblemDetails);

    /// The body did not arrive within `BODY_TIMEOUT_MS` (default 10 s).
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:request-timeout", "title": "Request Timeout", "status": 408,
        "detail": "the request body did not arrive within 10000 ms"}))]
    pub struct RequestTimeout(pub ProblemDetails);

    /// The body is not `application/json`.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:unsupported-media-type", "title": "Unsupported Media Type", "status": 415,
        "detail": "the body must be application/json (or application/merge-patch+json), not 'text/plain'"}))]
    pub struct UnsupportedMediaType(pub ProblemDetails);

    /// The body is JSON but invalid, every offending field listed in `errors` at once: besides
    /// what the schema states, a reference to something that does not exist or is inactive, fields
    /// that contradict each other (a stage's outcome and probability, thresholds, a done activity
    /// without `occurred_at`), a date in the past where the future is needed, or an
    /// `Idempotency-Key` already used with another body.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:validation-failed", "title": "Unprocessable Entity", "status": 422,
        "detail": "the request is invalid",
        "errors": [
            {"field": "name", "code": "required", "message": "this field is required"},
            {"field": "country", "code": "country", "message": "must be an ISO 3166-1 alpha-2 country code such as DE"}
        ]}))]
    pub struct ValidationFailed(pub ProblemDetails);

    /// The database is unavailable; retry after the `Retry-After` seconds.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:service-unavailable", "title": "Service Unavailable", "status": 503,
        "detail": "the database is unavailable; try again shortly"}))]
    pub struct Unavailable(pub ProblemDetails);

    /// The caller's requests per minute on this replica are used up; retry after `Retry-After`
    /// seconds. `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` come with every answer.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json", example = json!({
        "type": "urn:salesfunnel:problem:too-many-requests", "title": "Too Many Requests", "status": 429,
        "detail": "more than 1200 requests a minute; try again in 1 s"}))]
    pub struct TooManyRequests(pub ProblemDetails);
}

use responses::*;

/// The document's fixed parts; paths come from the registered services.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "salesfunnel",
        description = "JSON REST API for sales opportunities: from a first contact with a prospect through \
configurable stages to a quote and a won or lost order.\n\nAuthenticate with `Authorization: Bearer <JWT>`. \
Errors are RFC 9457 `application/problem+json`. Lists use keyset pagination (`limit`, `cursor` → `next_cursor`). \
Every mutable resource has a `version`, sent as `ETag`; send it back in `If-Match` to avoid lost updates. \
Creating POSTs accept an `Idempotency-Key`.",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "The server this document is served by")),
    tags(
        (name = "users", description = "People who use salesfunnel and their roles; admins write"),
        (name = "business-partners", description = "Leads and customers"),
        (name = "contacts", description = "Contact persons of business partners (one primary each); whoever reads or writes partners reads or writes their contacts"),
        (name = "stages", description = "Sales stages (Vertriebsphasen) with probability and outcome; admins write"),
        (name = "funnels", description = "Sales funnels (Vertriebstrichter): ordered stages, team, thresholds, metric formula; admins write"),
        (name = "classes", description = "Classes (KlassenID) routing new opportunities to a funnel and owner; admins write"),
        (name = "lost-reasons", description = "Why opportunities are lost; admins write"),
        (name = "custom-fields", description = "Custom fields of opportunities, business partners, contacts, quotes and activities: key, type, options; admins write, everyone reads"),
        (name = "articles", description = "The article catalogue; admins write, the integration role upserts by sku"),
        (name = "settings", description = "Company-wide settings and defaults; admins write"),
        (name = "exchange-rates", description = "Rates of other currencies to the home currency (settings.default_currency) from a day on, for totals in one currency; admins and the integration role write, everyone reads"),
        (name = "quotas", description = "Targets per rep or manager, or per funnel team, per month or quarter: won value, won count or won quantity of an article; admins and managers write, reps read their own"),
        (name = "opportunities", description = "Sales opportunities (Vertriebschancen): stages, win/lose/reopen, history, ERP hand-off; reps see their own and their teams'"),
        (name = "opportunity-lines", description = "Articles and quantities of an opportunity; they make up its target value"),
        (name = "quotes", description = "Quotes (Angebote) made from an opportunity's lines: revisions, primary quote, send/accept/reject, PDF"),
        (name = "activities", description = "Calls, emails, meetings, appointments, tickets, tasks and notes; done contacts drive the traffic light"),
        (name = "reports", description = "Reports (Berichtsmodul) aggregated in SQL: pipeline, forecast (Umsatz- und Absatzprognose), owners, win/loss, stage conversion; reps see their own and their teams' opportunities in them"),
        (name = "webhooks", description = "Signed HTTP POSTs of the events to ERP and other systems, retried with backoff, every attempt recorded; admins only"),
        (name = "events", description = "The feed of changes (transactional outbox) for ERP and other integrations: poll with `after` = the last `seq`; admin and integration"),
        (name = "batch", description = "Many write operations in one request, each as if sent alone or all in one transaction"),
        (name = "public", description = "The page a quote e-mail links to: the customer views the offer and accepts or declines it without logging in (HTML for a browser; the link's token is the key)"),
        (name = "operations", description = "Health, readiness and metrics")
    ),
    components(
        schemas(ProblemDetails, FieldError, crate::opportunities::expand::Expansion),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed,
            RequestTimeout, PayloadTooLarge, UnsupportedMediaType, ValidationFailed, Unavailable, TooManyRequests)
    ),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_owned());
        http.description = Some("A JWT with `sub` and `roles` (admin, manager, rep, viewer, integration)".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// Adds the responses every operation of a kind shares: 400 to all (an unknown query parameter
/// is one), 401 to secured operations, 413/415/422 to those with a body, 503 to the API; an
/// operation without a token says so (`security: []`).
pub fn add_shared_responses(spec: &mut Spec) {
    for (path, item) in spec.paths.paths.iter_mut() {
        let in_api = path.starts_with("/api/");
        for operation in operations(item) {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if !secured {
                operation.security = Some(Vec::new());
            }
            let has_body = operation.request_body.is_some();
            let mut add = |status: &str, name: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name(name)));
            };
            // Every operation refuses unknown query parameters.
            add("400", "BadRequest");
            if secured {
                add("401", "Unauthorized");
            }
            if has_body {
                add("408", "RequestTimeout");
                add("413", "PayloadTooLarge");
                add("415", "UnsupportedMediaType");
                add("422", "ValidationFailed");
            }
            if in_api {
                add("429", "TooManyRequests");
                add("503", "Unavailable");
            }
            let takes_if_match = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.name == "If-Match"));
            if takes_if_match {
                add("412", "PreconditionFailed");
            }
            operation.parameters.iter_mut().flatten().for_each(no_nul_in_free_text);
        }
        if let Some(read) = item.get.as_mut() {
            add_not_modified(read);
        }
    }
}

/// A free-text query parameter cannot hold U+0000, which PostgreSQL cannot store (a 400).
fn no_nul_in_free_text(parameter: &mut RefOr<utoipa::openapi::path::Parameter>) {
    use utoipa::openapi::schema::{SchemaType, Type};
    let RefOr::T(parameter) = parameter else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(text))) = parameter.schema.as_mut() {
        let free = text.schema_type == SchemaType::Type(Type::String)
            && text.pattern.is_none()
            && text.format.is_none()
            && text.enum_values.is_none();
        if free {
            text.pattern = Some("^[^\\u0000]*$".to_owned());
        }
    }
}

/// A read whose 200 carries an ETag takes `If-None-Match` and may answer 304 (see
/// `http::conditional`).
fn add_not_modified(read: &mut utoipa::openapi::path::Operation) {
    let tagged = matches!(read.responses.responses.get("200"),
        Some(RefOr::T(ok)) if ok.headers.contains_key("ETag"));
    if !tagged {
        return;
    }
    read.parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(crate::http::if_none_match_parameter()));
    let etag = utoipa::openapi::HeaderBuilder::new()
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String),
        ))
        .description(Some("The current ETag"))
        .build();
    let unchanged = utoipa::openapi::ResponseBuilder::new()
        .description("Not modified: the ETag in If-None-Match is current")
        .header("ETag", etag)
        .build();
    read.responses.responses.insert("304".to_owned(), RefOr::T(unchanged));
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(crate::startup::spec()).unwrap_or_default()
    }

    /// Calls `visit` on `value` and every object inside it.
    fn walk(value: &Value, visit: &mut impl FnMut(&serde_json::Map<String, Value>)) {
        match value {
            Value::Object(map) => {
                visit(map);
                map.values().for_each(|v| walk(v, visit));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
            _ => {}
        }
    }

    /// The component schemas `roots` use, directly or through other component schemas.
    fn reachable<'a>(spec: &Value, roots: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<Value> = roots.into_iter().cloned().collect();
        while let Some(value) = todo.pop() {
            walk(&value, &mut |map| {
                let name = map.get("$ref").and_then(Value::as_str);
                if let Some(name) = name.and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && seen.insert(name.to_owned())
                {
                    todo.push(spec["components"]["schemas"][name].clone());
                }
            });
        }
        seen
    }

    fn operations(spec: &Value) -> impl Iterator<Item = &Value> {
        spec["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .flat_map(|item| item.as_object().into_iter().flat_map(|methods| methods.values()))
    }

    #[test]
    fn requests_accept_numbers_for_money_and_responses_give_strings() {
        let spec = document();
        let requests = reachable(&spec, operations(&spec).map(|op| &op["requestBody"]));
        let responses = reachable(
            &spec,
            operations(&spec)
                .map(|op| &op["responses"])
                .chain([&spec["components"]["responses"]]),
        );
        assert!(
            requests.contains("MoneyInput") && requests.contains("QuantityInput"),
            "{requests:?}"
        );
        assert!(
            responses.contains("Money") && responses.contains("Quantity"),
            "{responses:?}"
        );
        for (name, uses) in [("Money", &requests), ("Quantity", &requests)] {
            assert!(
                !uses.contains(name),
                "a request field is typed {name}: name {name}Input with value_type"
            );
        }
        for (name, uses) in [("MoneyInput", &responses), ("QuantityInput", &responses)] {
            assert!(!uses.contains(name), "a response field is typed {name}");
        }
        assert_eq!(spec["components"]["schemas"]["Money"]["type"], "string");
        assert_eq!(spec["components"]["schemas"]["Quantity"]["type"], "string");
    }

    #[test]
    fn lists_refer_to_their_item_schema_and_nullable_enums_are_one_of_a_ref_and_null() {
        let spec = document();
        let mut problems = Vec::new();
        walk(&spec, &mut |map| {
            let item = map
                .get("items")
                .filter(|_| map.get("type") == Some(&Value::from("array")));
            if item.is_some_and(|item| item.get("properties").is_some() || item.get("oneOf").is_some()) {
                problems.push(format!(
                    "an array with inline object items: {:.120}",
                    Value::from(map.clone())
                ));
            }
            let enum_with_null = map
                .get("enum")
                .and_then(Value::as_array)
                .is_some_and(|values| values.contains(&Value::Null));
            if enum_with_null {
                problems.push(format!("an enum with null: {:.120}", Value::from(map.clone())));
            }
        });
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(
            spec["components"]["schemas"]["Paged_Opportunity"]["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/Opportunity"
        );
    }
}
