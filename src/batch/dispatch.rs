//! Runs one operation of a batch through the API itself: a fresh request with the caller's
//! `Authorization`, the operation's method, path, body and headers, through every middleware
//! (access log, rate limit, time budget, contention retries, strict queries) and handler, as if
//! it had been sent alone. Each worker builds its own copy of the API on first use.

use std::rc::Rc;

use actix_http::Request;
use actix_service::boxed::{self, BoxService, BoxServiceFactory};
use actix_service::{IntoServiceFactory, ServiceFactory, ServiceFactoryExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppConfig, Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, Uri, Version};
use actix_web::web::Bytes;
use actix_web::{App, HttpMessage, HttpRequest};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::db::request::SharedTransaction;
use crate::error::AppError;
use crate::http::envelope::REQUEST_ID;

type Api = BoxService<Request, ServiceResponse<BoxBody>, actix_web::Error>;

/// The API as the batch calls it (app data of each worker).
pub struct Dispatcher {
    factory: BoxServiceFactory<AppConfig, Request, ServiceResponse<BoxBody>, actix_web::Error, ()>,
    api: OnceCell<Rc<Api>>,
}

/// One operation, checked: ready to become a request.
pub struct Call {
    pub method: Method,
    pub uri: Uri,
    pub body: Option<Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// What an operation answered.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// PostgreSQL rolled the operation back to resolve a deadlock or serialization conflict.
    pub contended: bool,
}

impl Dispatcher {
    pub fn new<T, B>(app: App<T>) -> Self
    where
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        let factory = app.into_factory().map(ServiceResponse::map_into_boxed_body);
        Self {
            factory: boxed::factory(factory),
            api: OnceCell::new(),
        }
    }

    /// Sends `call` to the API on behalf of the batch request `outer` (its caller, its peer),
    /// inside `shared` when the batch is atomic.
    pub async fn send(
        &self,
        outer: &HttpRequest,
        index: usize,
        call: &Call,
        shared: Option<&SharedTransaction>,
    ) -> Result<Answer, AppError> {
        let api = self
            .api
            .get_or_try_init(|| async {
                let api = self.factory.new_service(AppConfig::default()).await;
                api.map(Rc::new)
                    .map_err(|()| AppError::Internal("the batch could not build the API".to_owned()))
            })
            .await?;
        let api = Rc::clone(api);
        let request = request(outer, index, call, shared)?;
        let response = api.call(request).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let contended = response
            .response()
            .error()
            .and_then(|error| error.as_error::<AppError>())
            .is_some_and(|error| matches!(error, AppError::Contended(_)));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != header::CONTENT_LENGTH)
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        let bytes = actix_web::body::to_bytes(response.into_body())
            .await
            .map_err(|e| AppError::Internal(format!("reading an operation's answer: {e}")))?;
        let body = if bytes.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
            )
        };
        Ok(Answer {
            status,
            headers,
            body,
            contended,
        })
    }
}

/// The request of operation `index`: the batch's `Authorization` and peer, the operation's
/// method, path, headers and JSON body, a request id `<batch's>.<index>`.
fn request(
    outer: &HttpRequest,
    index: usize,
    call: &Call,
    shared: Option<&SharedTransaction>,
) -> Result<Request, AppError> {
    let body = match &call.body {
        Some(body) => serde_json::to_vec(body).map_err(|e| AppError::Internal(e.to_string()))?,
        None => Vec::new(),
    };
    let length = body.len();
    let mut request = Request::with_payload(Payload::from(Bytes::from(body)));
    let head = request.head_mut();
    head.method = call.method.clone();
    head.uri = call.uri.clone();
    head.version = Version::HTTP_11;
    head.peer_addr = outer.peer_addr();
    let headers = &mut head.headers;
    if let Some(authorization) = outer.headers().get(header::AUTHORIZATION) {
        headers.insert(header::AUTHORIZATION, authorization.clone());
    }
    if call.body.is_some() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let batch_id = outer
        .headers()
        .get(&REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or("batch");
    if let Ok(id) = HeaderValue::from_str(&format!("{batch_id}.{index}")) {
        headers.insert(REQUEST_ID, id);
    }
    for (name, value) in &call.headers {
        headers.insert(name.clone(), value.clone());
    }
    if let Some(shared) = shared {
        request.extensions_mut().insert(shared.clone());
    }
    Ok(request)
}
