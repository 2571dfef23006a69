//! Request tracing: every HTTP request runs in a `request` span carrying its
//! id, and its response returns that id as `x-request-id` (docs/protocol.md
//! "Request ids"). A WebSocket session is its upgrade request, so its span
//! (and id) covers the socket's lifetime (see `http::ws` and
//! `actors::session`).
//!
//! The span comes from `tracing-actix-web`'s middleware with [`RequestSpan`]
//! as its root span; [`echo_request_id`] sets the response header, inside it.
//!
//! Invariants:
//! - The id is the client's (a proxy's) `x-request-id` when it is 1 to
//!   [`MAX_ID_LEN`] characters of `A-Z a-z 0-9 - _ . :`, otherwise a fresh
//!   UUIDv7: an id from outside can neither break a log line nor bloat it.
//! - Outcomes are logged here and only here: every 5xx at `error`, every 4xx
//!   (a refusal) at `debug`, both inside the request's span, so with its id.
//! - The span names the client's address as `http::client` reads it: behind
//!   a trusted proxy, the address it forwards.
//! - The span is at `error` level: any log level that lets error lines
//!   through keeps it, so those lines carry the id.
//! - `tracing_actix_web::RequestId` (that crate's own id) is not this id and
//!   is not used.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Span;
use tracing::field::{self, Empty};
use tracing_actix_web::RootSpanBuilder;

use super::client::client_address;
use crate::core::Core;
use crate::proxies::TrustedProxies;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longer ids from outside are replaced (a W3C `traceparent` is 55).
pub const MAX_ID_LEN: usize = 64;

/// The id of the request being served, in its extensions.
#[derive(Debug, Clone)]
struct RequestId(HeaderValue);

impl RequestId {
    /// The valid id the request came with, or a fresh one.
    fn of(req: &ServiceRequest) -> RequestId {
        match req.headers().get(&X_REQUEST_ID) {
            Some(given) if is_valid(given.as_bytes()) => RequestId(given.clone()),
            _ => RequestId(
                HeaderValue::try_from(uuid::Uuid::now_v7().to_string())
                    .expect("a UUID is a valid header value"),
            ),
        }
    }

    fn as_str(&self) -> &str {
        self.0.to_str().expect("only ASCII ids are kept")
    }
}

fn is_valid(id: &[u8]) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// The root span of every request: `request{request_id client method path
/// agent status}`; `client` is the client's address (see `http::client`),
/// `agent` is recorded by the `Caller` extractor once the caller is known,
/// `status` at the end.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let id = RequestId::of(req);
        let client = match req.app_data::<web::Data<Core>>() {
            Some(core) => client_address(req.request(), &core.config.trusted_proxies),
            None => client_address(req.request(), &TrustedProxies::default()),
        };
        // At `error` level, like the other context spans (session, ticket), so
        // a filter that lets an error line through keeps its id. The path
        // only: a query may hold search text.
        let span = tracing::error_span!(
            "request",
            request_id = %id.as_str(),
            %client,
            method = %req.method(),
            path = %req.path(),
            agent = Empty,
            status = Empty,
        );
        req.extensions_mut().insert(id);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };
        span.record("status", status.as_u16());
        // Called inside the span: these lines carry the request's id.
        if status.is_server_error() {
            // Debug: an internal error's detail is not in its message.
            tracing::error!(error = error.map(field::debug), "request failed");
        } else if status.is_client_error() {
            tracing::debug!(error = error.map(field::display), "request refused");
        }
    }
}

/// Returns the request's id (chosen by [`RequestSpan`]) as `x-request-id`.
pub async fn echo_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().cloned();
    let mut response = next.call(req).await?;
    if let Some(RequestId(id)) = id {
        response.headers_mut().insert(X_REQUEST_ID, id);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_outside_are_bounded_and_plain() {
        assert!(is_valid(b"0192f3a4-7b1c-7d2e-8f00-1234567890ab"));
        assert!(is_valid(b"edge:1.2_x"));
        assert!(is_valid(&[b'a'; MAX_ID_LEN]));
        assert!(!is_valid(&[b'a'; MAX_ID_LEN + 1]));
        assert!(!is_valid(b""));
        assert!(!is_valid(b"two words"));
        assert!(!is_valid(b"line\nbreak"));
        assert!(!is_valid(b"quote\"d"));
        assert!(!is_valid("caf\u{e9}".as_bytes()));
    }
}
