//! `GET /api/tickets/{id}/attachments/{attachment}`: the bytes of a file a
//! customer's mail brought, for agents who may see the ticket
//! (docs/protocol.md §9.7, "Attachments").
//!
//! Invariants:
//! - Access is the ticket's: 404 for a ticket the caller may not see, as for
//!   the ticket itself.
//! - A file never runs in the console's origin: everything is served with
//!   `nosniff` and a sandboxing CSP, and only plain image types are shown
//!   inline; anything else is a download.

use super::openapi as doc;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};

use super::auth::Caller;
use super::tickets::{load, ticket_id};
use crate::core::Core;
use crate::domain::AttachmentId;
use crate::domain::access::TicketAction;
use crate::error::Error;
use crate::store::reads;

/// Image types a browser shows without running anything.
const INLINE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

#[utoipa::path(get, path = "/api/tickets/{id}/attachments/{attachment}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id"), ("attachment" = uuid::Uuid, Path, description = "The attachment's id")),
    responses(
        (status = 200, description = "The file's bytes: inline for plain image types, else a download", content_type = "application/octet-stream", body = Vec<u8>),
        doc::Unauthorized, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn download(
    core: web::Data<Core>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (ticket, attachment) = path.into_inner();
    let ticket = ticket_id(&ticket)?;
    let attachment: AttachmentId = attachment.parse().map_err(|_| Error::NotFound)?;
    load(&core, &caller, ticket, TicketAction::View)?;
    let tx = core.store.read()?;
    let meta = reads::messages(&tx, ticket)?
        .into_iter()
        .flat_map(|m| m.attachments)
        .find(|a| a.id == attachment)
        .ok_or(Error::NotFound)?;
    let bytes = reads::attachment(&tx, ticket, attachment)?.ok_or(Error::NotFound)?;
    let inline = INLINE_TYPES.contains(&meta.content_type.as_str());
    let disposition = ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![DispositionParam::Filename(meta.name.clone())],
    };
    let content_type = if inline {
        meta.content_type.as_str()
    } else {
        "application/octet-stream"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}
