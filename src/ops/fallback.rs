//! The routes as the OpenAPI document lists them: requests no route took get 405 with `Allow`
//! when the path exists for other methods, else 404; a query parameter the operation does not
//! take gets 400 naming it — all as problem+json.

use std::future::Future;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::OpenApi;

use crate::custom_fields::filters::PARAMETER as CUSTOM_FILTERS;
use crate::error::AppError;

/// Path templates of the spec with their methods.
pub struct RouteTable {
    /// Each path's segments and its operations.
    routes: Vec<(Vec<Segment>, Vec<Operation>)>,
}

/// An operation: its method and the query parameters it takes.
type Operation = (String, Vec<String>);

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

enum Segment {
    Literal(String),
    Param,
}

impl RouteTable {
    pub fn from_spec(spec: &OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let operations = serde_json::to_value(item)
                    .ok()
                    .and_then(|v| {
                        v.as_object().map(|o| {
                            o.iter()
                                .filter(|(k, _)| METHODS.contains(&k.as_str()))
                                .map(|(k, operation)| (k.to_uppercase(), query_parameters(operation)))
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                (segments, operations)
            })
            .collect();
        Self { routes }
    }

    /// The operations of the route that matches `path`, if any.
    fn operations(&self, path: &str) -> Option<&[Operation]> {
        let parts: Vec<&str> = path.split('/').collect();
        self.routes
            .iter()
            .find(|(segments, _)| {
                segments.len() == parts.len()
                    && segments.iter().zip(&parts).all(|(segment, part)| match segment {
                        Segment::Literal(text) => text == part,
                        Segment::Param => !part.is_empty(),
                    })
            })
            .map(|(_, operations)| operations.as_slice())
    }

    /// The methods a path allows, if any route matches it.
    fn allowed(&self, path: &str) -> Option<Vec<String>> {
        self.operations(path)
            .map(|operations| operations.iter().map(|(method, _)| method.clone()).collect())
    }

    /// 400 naming the query parameters of `query` that the operation `method` `path` does not
    /// take (a mistyped filter would otherwise be ignored and return everything). Requests the
    /// document does not describe are left to the router.
    pub fn check_query(&self, method: &str, path: &str, query: &str) -> Result<(), AppError> {
        let Some((_, known)) = self
            .operations(path)
            .and_then(|operations| operations.iter().find(|(m, _)| m == method))
        else {
            return Ok(());
        };
        let mut unknown: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name.into_owned())
            .filter(|name| !known.contains(name))
            // The custom value filters: the handler checks their keys against the definitions.
            .filter(|name| !(name.starts_with("custom.") && known.iter().any(|k| k == CUSTOM_FILTERS)))
            .collect();
        unknown.sort();
        unknown.dedup();
        if unknown.is_empty() {
            return Ok(());
        }
        let takes = if known.is_empty() {
            "no query parameters".to_owned()
        } else {
            known.join(", ")
        };
        Err(AppError::BadRequest(format!(
            "unknown query parameter {}; {method} {path} takes {takes}",
            unknown
                .iter()
                .map(|name| format!("'{name}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// The names of an operation's query parameters, as the document lists them.
fn query_parameters(operation: &serde_json::Value) -> Vec<String> {
    operation
        .get("parameters")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("in").and_then(|i| i.as_str()) == Some("query"))
        .filter_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect()
}

/// Refuses unknown query parameters before the handler runs (see [`RouteTable::check_query`]).
pub fn known_query<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let checked = match req.app_data::<Data<RouteTable>>() {
        Some(table) => table.check_query(req.method().as_str(), req.path(), req.query_string()),
        None => Ok(()),
    };
    let call = match checked {
        Ok(()) => Ok(srv.call(req)),
        Err(error) => Err(req.into_response(error.error_response())),
    };
    async move {
        match call {
            Ok(call) => call.await,
            Err(refused) => Ok(refused),
        }
    }
}

/// The app's default service.
pub async fn fallback(req: HttpRequest, table: Data<RouteTable>) -> HttpResponse {
    match table.allowed(req.path()) {
        Some(methods) => {
            let error = AppError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()));
            let mut response = error.error_response();
            if let Ok(value) = header::HeaderValue::from_str(&methods.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => AppError::NotFound(format!("no resource at {}", req.path())).error_response(),
    }
}
