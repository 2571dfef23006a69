//! Channel administration (docs/protocol.md §9.2, §9.7, §9.9): admins only;
//! agents get 403 and never see a secret. Disabling or deleting a chat
//! channel closes its visitors' sockets (4403); creating, changing,
//! disabling or deleting an e-mail channel restarts or stops its mailbox's
//! fetcher. An API channel's key is in the answers that create or rotate it
//! and nowhere else.

use super::openapi as doc;
use actix_web::{HttpResponse, web};

use super::auth::Caller;
use crate::actors::visitor::Shut;
use crate::channels::{ChannelPatch, NewChannel};
use crate::core::Core;
use crate::domain::ChannelId;
use crate::domain::channel::{Channel, ChannelKind};
use crate::domain::mail_account::MailAccountInput;
use crate::error::Error;
use crate::protocol::close::ServerClose;
use crate::protocol::dto::ChannelDto;
use crate::protocol::responses::ChannelsResponse;
use crate::protocol::rest::{CreateChannelRequest, PatchChannelRequest};
use crate::protocol::webhooks::DeliveriesResponse;
use crate::webhooks::admin::checked_url;

type Result<T> = std::result::Result<T, Error>;

fn channel_id(raw: &str) -> Result<ChannelId> {
    raw.parse().map_err(|_| Error::NotFound)
}

#[utoipa::path(post, path = "/api/channels", tag = "channels",
    operation_id = "create_channel",
    request_body = CreateChannelRequest,
    responses(
        (status = 201, description = "The new channel", body = ChannelDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn create(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<CreateChannelRequest>,
) -> Result<HttpResponse> {
    caller.require_admin()?;
    let body = body.into_inner();
    let kind = match body.kind.as_str() {
        "chat" => ChannelKind::Chat,
        "email" => ChannelKind::Email,
        "api" => ChannelKind::Api,
        _ => return Err(Error::bad_request("kind must be chat, email or api")),
    };
    let callback_url = body
        .callback_url
        .map(|url| checked_url(&core, &url))
        .transpose()?;
    let new = NewChannel {
        kind,
        inbox: body.inbox,
        name: body.name,
        allowed_origins: body.allowed_origins,
        greeting: body.greeting,
        offline_message: body.offline_message,
        require_identity: body.require_identity,
        account: MailAccountInput {
            imap: body.imap,
            smtp: body.smtp,
        },
        callback_url,
    };
    let exists = core.directory.inbox(body.inbox).is_some();
    let (channel, api_key) = core.channels.create(new, exists).await?;
    core.mail.sync(&core.clone().into_inner(), channel.id).await;
    let dto = dto(&core, &channel);
    Ok(HttpResponse::Created().json(match api_key {
        Some(key) => dto.with_api_key(key),
        None => dto,
    }))
}

#[utoipa::path(get, path = "/api/channels", tag = "channels",
    operation_id = "list_channels",
    responses(
        (status = 200, description = "Every channel", body = ChannelsResponse),
        doc::Unauthorized, doc::Forbidden,
    )
)]
pub async fn list(core: web::Data<Core>, caller: Caller) -> Result<web::Json<ChannelsResponse>> {
    caller.require_admin()?;
    let channels = core.channels.all();
    Ok(web::Json(ChannelsResponse {
        channels: channels.iter().map(|c| dto(&core, c)).collect(),
    }))
}

#[utoipa::path(get, path = "/api/channels/{id}", tag = "channels",
    operation_id = "channel_detail",
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The channel", body = ChannelDto),
        doc::Unauthorized, doc::Forbidden, doc::NotFound,
    )
)]
pub async fn detail(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<ChannelDto>> {
    caller.require_admin()?;
    let channel = core.channels.get(channel_id(&id)?).ok_or(Error::NotFound)?;
    Ok(web::Json(dto(&core, &channel)))
}

#[utoipa::path(patch, path = "/api/channels/{id}", tag = "channels",
    operation_id = "patch_channel",
    request_body = PatchChannelRequest,
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The channel after the change", body = ChannelDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn patch(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchChannelRequest>,
) -> Result<web::Json<ChannelDto>> {
    caller.require_admin()?;
    let body = body.into_inner();
    let patch = ChannelPatch {
        name: body.name,
        allowed_origins: body.allowed_origins,
        greeting: body.greeting,
        offline_message: body.offline_message,
        require_identity: body.require_identity,
        enabled: body.enabled,
        account: MailAccountInput {
            imap: body.imap,
            smtp: body.smtp,
        },
        callback_url: match body.callback_url {
            Some(Some(url)) => Some(Some(checked_url(&core, &url)?)),
            other => other,
        },
    };
    let channel = core.channels.update(channel_id(&id)?, patch).await?;
    core.webhooks.wake();
    if !channel.enabled {
        shut(&core, &channel);
    }
    if channel.kind == ChannelKind::Email {
        core.mail.sync(&core.clone().into_inner(), channel.id).await;
    }
    Ok(web::Json(dto(&core, &channel)))
}

#[utoipa::path(delete, path = "/api/channels/{id}", tag = "channels",
    operation_id = "delete_channel",
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 204, description = "Done; no body"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn delete(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    caller.require_admin()?;
    let id = channel_id(&id)?;
    let channel = core.channels.get(id).ok_or(Error::NotFound)?;
    core.channels.delete(id).await?;
    shut(&core, &channel);
    core.mail.sync(&core.clone().into_inner(), id).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/channels/{id}/rotate_secret", tag = "channels",
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The channel with its new secret", body = ChannelDto),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn rotate_secret(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<ChannelDto>> {
    caller.require_admin()?;
    let channel = core.channels.rotate_secret(channel_id(&id)?).await?;
    Ok(web::Json(dto(&core, &channel)))
}

#[utoipa::path(post, path = "/api/channels/{id}/rotate_key", tag = "channels",
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The API channel with its new `api_key`, shown this once", body = ChannelDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn rotate_key(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<ChannelDto>> {
    caller.require_admin()?;
    let (channel, key) = core.channels.rotate_key(channel_id(&id)?).await?;
    Ok(web::Json(dto(&core, &channel).with_api_key(key)))
}

/// The last attempts to POST an API channel's replies to its callback.
#[utoipa::path(get, path = "/api/channels/{id}/deliveries", tag = "channels",
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "The last attempts, newest first", body = DeliveriesResponse),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal,
    )
)]
pub async fn deliveries(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<DeliveriesResponse>> {
    caller.require_admin()?;
    let channel = core.channels.get(channel_id(&id)?).ok_or(Error::NotFound)?;
    let attempts = crate::webhooks::admin::callback_attempts(&core, &channel)?;
    Ok(web::Json(DeliveriesResponse::new(&attempts)))
}

/// Tries an e-mail channel's IMAP and SMTP connections now.
#[utoipa::path(post, path = "/api/channels/{id}/check", tag = "channels",
    params(("id" = uuid::Uuid, Path, description = "The channel's id")),
    responses(
        (status = 200, description = "How each half of the e-mail account did", body = crate::mail::check::Report),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound,
    )
)]
pub async fn check(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<crate::mail::check::Report>> {
    caller.require_admin()?;
    let channel = core.channels.get(channel_id(&id)?).ok_or(Error::NotFound)?;
    let Some(account) = &channel.account else {
        return Err(Error::bad_request(
            "only email channels have connections to check",
        ));
    };
    let report = crate::mail::check::check(account, core.config.mail.timeout).await;
    Ok(web::Json(report))
}

fn dto(core: &Core, channel: &Channel) -> ChannelDto {
    ChannelDto::new(channel, || core.mail.statuses.get(channel.id))
}

/// Closes the sockets of `channel`'s visitors (it admits nobody any more).
fn shut(core: &Core, channel: &Channel) {
    for visitor in core.visitors.of_channel(channel.id) {
        visitor.do_send(Shut(ServerClose::ChannelUnavailable));
    }
}
