//! Session and administration routes: login, logout, me, agents, inboxes, settings.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::Caller;
use super::client::client_address;
use crate::accounts::{AgentPatch, NewAgent};
use crate::actors::session::{Disconnect, Recheck, Revoke};
use crate::core::Core;
use crate::domain::access::can_view_inbox;
use crate::domain::settings::duration_ms;
use crate::domain::{AgentId, Role};
use crate::error::Error;
use crate::protocol::close::ServerClose;
use crate::protocol::dto::{AgentDto, ColleagueDto, InboxDto, SettingsDto};
use crate::protocol::responses::LoginResponse;
use crate::protocol::rest::*;

type Result<T> = std::result::Result<T, Error>;

#[utoipa::path(post, path = "/api/login", tag = "session",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A new token and its agent", body = LoginResponse),
        doc::BadRequest, doc::Unauthorized, doc::PayloadTooLarge, doc::RateLimited, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(login = %body.login))]
pub async fn login(
    core: web::Data<Core>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<LoginResponse>> {
    // Throttled per client: behind a trusted proxy, the address it forwards.
    let address = client_address(&req, &core.config.trusted_proxies).to_string();
    let (token, credential, agent) = core
        .directory
        .login(&body.login, &body.password, &address)
        .await?;
    Ok(web::Json(LoginResponse {
        token,
        expires_at: credential.expires_at.to_rfc3339(),
        agent: AgentDto::from(&*agent),
    }))
}

/// Revokes the caller's token; sockets opened with it close with 4401.
#[utoipa::path(post, path = "/api/logout", tag = "session",
    responses(
        (status = 204, description = "Done; no body"),
        doc::Unauthorized, doc::Internal, doc::Unavailable,
    )
)]
pub async fn logout(core: web::Data<Core>, caller: Caller) -> Result<HttpResponse> {
    let revocation = core.directory.logout(caller.credential.digest).await?;
    for session in core.registry.sessions_of(caller.agent.id) {
        session.do_send(Revoke(revocation));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/me", tag = "session",
    responses(
        (status = 200, description = "The caller", body = AgentDto),
        doc::Unauthorized,
    )
)]
pub async fn me(caller: Caller) -> web::Json<AgentDto> {
    web::Json(AgentDto::from(&*caller.agent))
}

fn parse_role(role: &str) -> Result<Role> {
    Role::parse(role).ok_or_else(|| Error::bad_request("role must be admin, agent or light"))
}

#[utoipa::path(post, path = "/api/agents", tag = "administration",
    request_body = CreateAgentRequest,
    responses(
        (status = 200, description = "The new agent", body = AgentDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(handle = %body.handle))]
pub async fn create_agent(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<CreateAgentRequest>,
) -> Result<web::Json<AgentDto>> {
    caller.require_admin()?;
    let body = body.into_inner();
    let new = NewAgent {
        role: parse_role(&body.role)?,
        handle: body.handle,
        name: body.name,
        email: body.email,
        password: body.password,
        inboxes: body.inboxes,
    };
    let agent = core.directory.create_agent(new).await?;
    Ok(web::Json(AgentDto::from(&*agent)))
}

/// `GET /api/colleagues`: every active agent's id, handle, name and role, for
/// any signed-in caller (for @mention completion and the assign/share pickers).
#[utoipa::path(get, path = "/api/colleagues", tag = "administration",
    responses(
        (status = 200, description = "Every active agent, by handle", body = Vec<ColleagueDto>),
        doc::Unauthorized,
    )
)]
pub async fn colleagues(core: web::Data<Core>, _caller: Caller) -> web::Json<Vec<ColleagueDto>> {
    let agents = core.directory.agents();
    web::Json(
        agents
            .iter()
            .filter(|a| !a.disabled)
            .map(|a| ColleagueDto::from(&**a))
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/agents", tag = "administration",
    responses(
        (status = 200, description = "Every agent, by handle", body = Vec<AgentDto>),
        doc::Unauthorized, doc::Forbidden,
    )
)]
pub async fn list_agents(
    core: web::Data<Core>,
    caller: Caller,
) -> Result<web::Json<Vec<AgentDto>>> {
    caller.require_admin()?;
    Ok(web::Json(
        core.directory
            .agents()
            .iter()
            .map(|a| AgentDto::from(&**a))
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/api/agents/{id}", tag = "administration",
    request_body = PatchAgentRequest,
    params(("id" = uuid::Uuid, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "The agent after the change", body = AgentDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(target = %id))]
pub async fn patch_agent(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchAgentRequest>,
) -> Result<web::Json<AgentDto>> {
    caller.require_admin()?;
    let id: AgentId = id.parse().map_err(|_| Error::NotFound)?;
    let body = body.into_inner();
    let patch = AgentPatch {
        role: body.role.as_deref().map(parse_role).transpose()?,
        name: body.name,
        password: body.password,
        inboxes: body.inboxes,
        disabled: body.disabled,
    };
    let keep = (caller.agent.id == id).then_some(caller.credential.digest);
    let (before, after, revocation) = core.directory.update_agent(id, patch, keep).await?;
    if after.disabled {
        for session in core.registry.sessions_of(id) {
            session.do_send(Disconnect(ServerClose::AgentDisabled));
        }
    } else if let Some(revocation) = revocation {
        // A new password ends the agent's other tokens and the sockets opened with them.
        for session in core.registry.sessions_of(id) {
            session.do_send(Revoke(revocation));
        }
    }
    if !after.disabled && (before.inboxes != after.inboxes || before.role != after.role) {
        // Lost access takes effect at once: subscriptions end, open tickets are revoked.
        for session in core.registry.sessions_of(id) {
            session.do_send(Recheck);
        }
    }
    Ok(web::Json(AgentDto::from(&*after)))
}

#[utoipa::path(post, path = "/api/inboxes", tag = "administration",
    request_body = CreateInboxRequest,
    responses(
        (status = 200, description = "The new inbox", body = InboxDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn create_inbox(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<CreateInboxRequest>,
) -> Result<web::Json<InboxDto>> {
    caller.require_admin()?;
    let inbox = core.directory.create_inbox(&body.name).await?;
    Ok(web::Json(InboxDto::from(&inbox)))
}

#[utoipa::path(get, path = "/api/inboxes", tag = "administration",
    responses(
        (status = 200, description = "The caller's inboxes (every inbox for admins), by name", body = Vec<InboxDto>),
        doc::Unauthorized,
    )
)]
pub async fn list_inboxes(core: web::Data<Core>, caller: Caller) -> web::Json<Vec<InboxDto>> {
    let inboxes = core.directory.inboxes();
    web::Json(
        inboxes
            .iter()
            .filter(|i| can_view_inbox(&caller.agent, i.id))
            .map(InboxDto::from)
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/settings", tag = "administration",
    responses(
        (status = 200, description = "The settings", body = SettingsDto),
        doc::Unauthorized,
    )
)]
pub async fn get_settings(core: web::Data<Core>, _: Caller) -> web::Json<SettingsDto> {
    web::Json(SettingsDto::from(&*core.directory.settings()))
}

#[utoipa::path(patch, path = "/api/settings", tag = "administration",
    request_body = PatchSettingsRequest,
    responses(
        (status = 200, description = "The settings after the change", body = SettingsDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn patch_settings(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<PatchSettingsRequest>,
) -> Result<web::Json<SettingsDto>> {
    caller.require_admin()?;
    let body = body.into_inner();
    let hard_lock = body
        .hard_lock_auto_unlock_s
        .map(|v| {
            v.map(|s| millis("hard_lock_auto_unlock_s", s, 1))
                .transpose()
        })
        .transpose()?;
    let hidden = body
        .hidden_release_s
        .map(|s| millis("hidden_release_s", s, 0))
        .transpose()?;
    let grace = body
        .reconnect_grace_s
        .map(|s| millis("reconnect_grace_s", s, 0))
        .transpose()?;
    let settings = core
        .directory
        .update_settings(|s| {
            if let Some(v) = body.ticket_sharing_enabled {
                s.ticket_sharing_enabled = v;
            }
            if let Some(v) = body.sign_replies {
                s.sign_replies = v;
            }
            if let Some(v) = hard_lock {
                s.hard_lock_auto_unlock_ms = v;
            }
            if let Some(v) = hidden {
                s.hidden_release_ms = v;
            }
            if let Some(v) = grace {
                s.reconnect_grace_ms = v;
            }
        })
        .await?;
    Ok(web::Json(SettingsDto::from(&*settings)))
}

/// A duration setting in seconds → milliseconds, or `400` naming `key`.
fn millis(key: &str, seconds: f64, min_ms: u64) -> Result<u64> {
    duration_ms(seconds, min_ms).ok_or_else(|| {
        Error::bad_request(format!(
            "{key} must be a number of seconds between {} and 604800",
            min_ms as f64 / 1000.0
        ))
    })
}
