//! The one place errors become HTTP responses:
//! `{"error": {"code": "...", "message": "...", ...extra}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::TicketClaimed { .. }
            | Error::TicketLocked { .. }
            | Error::Conflict(_)
            | Error::Stale { .. }
            | Error::SharingDisabled => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Internal(cause) = self {
            // Recorded as an error value, so the log shows its sources too.
            tracing::error!(
                cause = cause as &(dyn std::error::Error + 'static),
                "internal error"
            );
        }
        let mut body = json!({ "code": self.code(), "message": self.to_string() });
        match self {
            Error::TicketClaimed { holder } | Error::TicketLocked { holder } => {
                body["holder"] = json!(holder);
            }
            Error::RateLimited { retry_after_s, .. } => {
                body["retry_after_s"] = json!(retry_after_s);
            }
            Error::Stale { newer } => {
                body["newer"] = json!(newer);
            }
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(json!({ "error": body }))
    }
}

/// JSON body errors: too large → 413, anything else → 400 with serde's message.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => Error::PayloadTooLarge.into(),
        E::ContentType => Error::bad_request("Content-Type must be application/json").into(),
        E::Deserialize(e) => Error::bad_request(format!("invalid JSON body: {e}")).into(),
        other => Error::bad_request(format!("invalid body: {other}")).into(),
    }
}

/// Query string errors → 400.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    Error::bad_request(format!("invalid query: {err}")).into()
}

/// Unknown routes answer the JSON `not_found` error.
pub async fn not_found() -> Result<actix_web::HttpResponse, Error> {
    Err(Error::NotFound)
}
