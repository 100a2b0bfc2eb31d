//! Answers requests no route took: 405 with `Allow` when the path exists for other methods
//! (known from the OpenAPI spec, the list of every route), else 404 — both as problem+json.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::OpenApi;

use crate::error::AppError;

/// Path templates of the spec with their methods.
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<String>)>,
}

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
                let methods = serde_json::to_value(item)
                    .ok()
                    .and_then(|v| {
                        v.as_object().map(|o| {
                            o.keys()
                                .filter(|k| METHODS.contains(&k.as_str()))
                                .map(|k| k.to_uppercase())
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods a path allows, if any route matches it.
    fn allowed(&self, path: &str) -> Option<Vec<String>> {
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
            .map(|(_, methods)| methods.clone())
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
