//! The caller's notifications: `GET /api/me/notifications`, `POST /api/me/notifications/read`.
//! Notifications are created by ticket actors (inside the write of what caused
//! them); marking them read is the agent's own business and goes straight to the store.

use super::openapi as doc;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::Caller;
use crate::core::Core;
use crate::error::Error;
use crate::protocol::dto::NotificationDto;
use crate::store::{reads, writes};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    #[serde(default)]
    unread: bool,
    limit: Option<usize>,
    /// A notification id: the page continues with older ones.
    before: Option<uuid::Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    ids: Option<Vec<uuid::Uuid>>,
}

/// Newest first; `before` pages back.
#[utoipa::path(get, path = "/api/me/notifications", tag = "notifications",
    operation_id = "list_notifications",
    params(NotificationQuery),
    responses(
        (status = 200, description = "The caller's notifications, newest first", body = Vec<NotificationDto>),
        doc::BadRequest, doc::Unauthorized, doc::Internal, doc::Unavailable,
    )
)]
pub async fn list(
    core: web::Data<Core>,
    caller: Caller,
    query: web::Query<NotificationQuery>,
) -> Result<web::Json<Vec<NotificationDto>>, Error> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::bad_request(format!("limit must be 1-{MAX_PAGE}")));
    }
    let found = reads::notifications(
        &core.store.read()?,
        caller.agent.id,
        query.unread,
        query.before.map(|u| u.as_u128()),
        limit,
    )?;
    Ok(web::Json(
        found
            .iter()
            .map(|n| NotificationDto::new(n, &core.directory))
            .collect(),
    ))
}

/// Marks the given notifications (or, without `ids`, all) read.
#[utoipa::path(post, path = "/api/me/notifications/read", tag = "notifications",
    request_body = MarkRead,
    responses(
        (status = 204, description = "Done; no body"),
        doc::BadRequest, doc::Unauthorized, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn mark_read(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<MarkRead>,
) -> Result<HttpResponse, Error> {
    let ids = body.into_inner().ids;
    let agent = caller.agent.id;
    let unread = {
        let tx = core.store.read()?;
        match ids {
            Some(ids) => {
                let mut found = Vec::with_capacity(ids.len());
                for id in ids {
                    found.push(
                        reads::notification(&tx, agent, id.as_u128())?
                            .ok_or_else(|| Error::bad_request(format!("no notification {id}")))?,
                    );
                }
                found.into_iter().filter(|n| !n.read).collect::<Vec<_>>()
            }
            None => reads::notifications(&tx, agent, true, None, usize::MAX)?,
        }
    };
    if !unread.is_empty() {
        core.store
            .write(move |tx| {
                for mut n in unread {
                    n.read = true;
                    writes::put_notification(tx, &n)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
