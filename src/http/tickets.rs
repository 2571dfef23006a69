//! Ticket routes. Reads come straight from the store (a snapshot that never
//! waits for the writer); every mutation is a command to the ticket's actor.

use super::openapi as doc;
use std::sync::Arc;

use actix_web::web;

use super::auth::Caller;
use crate::actors::ticket::{
    AddFollower, CancelScheduled, Create, GetLive, LockTicket, MarkRead, Mutate, Op, Patch, Post,
    RemoveFollower, Share, Unlock, Unshare,
};
use crate::core::Core;
use crate::domain::access::{
    TicketAction, TicketScope, can_create_ticket, can_view_inbox, check_ticket,
};
use crate::domain::message::MessageKind;
use crate::domain::ticket::{self, Ticket, View};
use crate::domain::{AgentId, InboxId, TicketId, Timestamp};
use crate::error::Error;
use crate::protocol::cursor::Cursor;
use crate::protocol::dto::{
    AgentRef, DraftDto, HistoryEntryDto, LockDto, MessageDto, PostedMessageDto, TicketDetailDto,
    TicketDto,
};
use crate::protocol::responses::{FollowerList, ShareList, TicketList, TicketPage};
use crate::protocol::rest::*;
use crate::store::reads;

type Result<T> = std::result::Result<T, Error>;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

pub(super) fn ticket_id(raw: &str) -> Result<TicketId> {
    raw.parse().map_err(|_| Error::NotFound)
}

/// The ticket, if it exists and the caller may do `action` on it.
pub(super) fn load(
    core: &Core,
    caller: &Caller,
    id: TicketId,
    action: TicketAction,
) -> Result<Ticket> {
    let tx = core.store.read()?;
    let ticket = reads::ticket(&tx, id)?
        .filter(|t| !t.deleted)
        .ok_or(Error::NotFound)?;
    check_ticket(
        &caller.agent,
        TicketScope {
            inbox: ticket.inbox,
            shared_with: &ticket.shared_with,
        },
        action,
    )?;
    Ok(ticket)
}

#[utoipa::path(post, path = "/api/tickets", tag = "tickets",
    operation_id = "create_ticket",
    request_body = CreateTicketRequest,
    responses(
        (status = 200, description = "The new ticket", body = TicketDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<CreateTicketRequest>,
) -> Result<web::Json<TicketDto>> {
    if !can_create_ticket(&caller.agent) {
        return Err(Error::forbidden(
            "only admins and integrations create tickets",
        ));
    }
    let body = body.into_inner();
    if core.directory.inbox(body.inbox).is_none() {
        return Err(Error::bad_request("no such inbox"));
    }
    let subject = ticket::validate_subject(&body.subject).map_err(Error::BadRequest)?;
    let customer = ticket::validate_customer(&body.customer.name, &body.customer.contact)
        .map_err(Error::BadRequest)?;
    ticket::validate_body(&body.body).map_err(Error::BadRequest)?;
    let create = Create {
        by: caller.agent.clone(),
        inbox: body.inbox,
        subject,
        customer,
        body: body.body,
    };
    Ok(web::Json(
        core.into_inner()
            .ask_ticket(TicketId::new(), create)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/tickets/{id}", tag = "tickets",
    operation_id = "ticket_detail",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The ticket and everything a ticket view shows", body = TicketDetailDto),
        doc::Unauthorized, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn detail(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<TicketDetailDto>> {
    let id = ticket_id(&id)?;
    let ticket = load(&core, &caller, id, TicketAction::View)?;
    let messages = reads::messages(&core.store.read()?, id)?;
    let live = match core.registry.live_ticket(id) {
        Some(actor) => actor.send(GetLive).await.ok().flatten(),
        None => None,
    };
    let (presence, drafts) = match live {
        Some(live) => (Some(live.presence), live.drafts),
        None => {
            let drafts = reads::drafts(&core.store.read()?, id)?;
            (
                None,
                drafts
                    .iter()
                    .map(|d| DraftDto::new(d, &ticket, &core.directory))
                    .collect(),
            )
        }
    };
    let names = |ids: &[crate::domain::AgentId]| {
        ids.iter()
            .map(|a| AgentRef::lookup(&core.directory, *a))
            .collect()
    };
    Ok(web::Json(TicketDetailDto {
        ticket: TicketDto::for_caller(&ticket, caller.agent.id),
        participants: {
            let mut authors: Vec<AgentId> = Vec::new();
            for author in messages.iter().filter_map(|m| m.author) {
                if !authors.contains(&author) {
                    authors.push(author);
                }
            }
            names(&authors)
        },
        messages: messages
            .iter()
            .map(|m| MessageDto::new(m, &core.directory))
            .collect(),
        followers: names(&ticket.followers),
        shared_with: names(&ticket.shared_with),
        drafts,
        lock: ticket
            .lock
            .as_ref()
            .map(|l| LockDto::new(l, &core.directory)),
        claim: presence.as_ref().and_then(|p| p.claim.clone()),
        viewers: presence.map(|p| p.viewers).unwrap_or_default(),
    }))
}

#[utoipa::path(get, path = "/api/tickets/{id}/history", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The ticket's history, oldest first", body = Vec<HistoryEntryDto>),
        doc::Unauthorized, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn history(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Vec<HistoryEntryDto>>> {
    let id = ticket_id(&id)?;
    load(&core, &caller, id, TicketAction::View)?;
    let entries = reads::history(&core.store.read()?, id)?;
    Ok(web::Json(
        entries
            .iter()
            .map(|e| HistoryEntryDto::new(e, &core.directory))
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/api/tickets/{id}", tag = "tickets",
    operation_id = "patch_ticket",
    request_body = PatchTicketRequest,
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The ticket after the change", body = TicketDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn patch(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchTicketRequest>,
) -> Result<web::Json<TicketDto>> {
    let id = ticket_id(&id)?;
    let body = body.into_inner();
    let patch = Patch {
        by: caller.agent,
        subject: body.subject,
        tags: body.tags,
        fields: body.fields,
    };
    Ok(web::Json(core.into_inner().ask_ticket(id, patch).await?))
}

#[utoipa::path(post, path = "/api/tickets/{id}/messages", tag = "tickets",
    request_body = PostMessageRequest,
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The message, with the mentions that added nobody", body = PostedMessageDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn post_message(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PostMessageRequest>,
) -> Result<web::Json<PostedMessageDto>> {
    let id = ticket_id(&id)?;
    let body = body.into_inner();
    let kind = MessageKind::parse(&body.kind)
        .ok_or_else(|| Error::bad_request("kind must be customer, reply or note"))?;
    let send_at = match body.send_at.as_deref() {
        Some(text) => Some(
            Timestamp::parse_rfc3339(text)
                .ok_or_else(|| Error::bad_request("send_at is not an RFC 3339 time"))?,
        ),
        None => None,
    };
    if send_at.is_some() && kind != MessageKind::Reply {
        return Err(Error::bad_request("only replies can be scheduled"));
    }
    if body.cancel_if_replied && send_at.is_none() {
        return Err(Error::bad_request("cancel_if_replied goes with send_at"));
    }
    let after = body.after.as_deref().map(|a| {
        a.parse()
            .map_err(|_| Error::bad_request("`after` is not a message id"))
    });
    let post = Post {
        by: caller.agent,
        post: crate::domain::decisions::Post {
            kind,
            body: body.body,
            after: after.transpose()?,
            force: body.force,
            send_at,
            cancel_if_replied: body.cancel_if_replied,
        },
    };
    let posted = core.into_inner().ask_ticket(id, post).await?;
    Ok(web::Json(PostedMessageDto {
        message: posted.message,
        skipped_mentions: posted.skipped_mentions,
    }))
}

async fn mutate(
    core: web::Data<Core>,
    caller: Caller,
    id: &str,
    op: Op,
) -> Result<web::Json<TicketDto>> {
    let id = ticket_id(id)?;
    Ok(web::Json(
        core.into_inner()
            .ask_ticket(
                id,
                Mutate {
                    by: caller.agent,
                    op,
                },
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/tickets/{id}/assign", tag = "tickets",
    request_body = AssignRequest,
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The ticket after the change", body = TicketDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn assign(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<AssignRequest>,
) -> Result<web::Json<TicketDto>> {
    let agent = body
        .into_inner()
        .agent
        .ok_or_else(|| Error::bad_request("agent is required (an id, or null to unassign)"))?;
    mutate(core, caller, &id, Op::Assign(agent)).await
}

#[utoipa::path(post, path = "/api/tickets/{id}/transfer", tag = "tickets",
    request_body = TransferRequest,
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The ticket after the change", body = TicketDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn transfer(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<TransferRequest>,
) -> Result<web::Json<TicketDto>> {
    let TransferRequest { agent, inbox } = body.into_inner();
    mutate(core, caller, &id, Op::Transfer { agent, inbox }).await
}

/// `POST /api/tickets/{id}/{followers|shares} {agent}`: asks the ticket for
/// `message`, answers the resulting list of agents wrapped by `answer`.
async fn add_part<M, B>(
    core: web::Data<Core>,
    id: &str,
    message: M,
    answer: fn(Vec<AgentRef>) -> B,
) -> Result<web::Json<B>>
where
    M: actix::Message<Result = Result<Vec<AgentRef>>> + Clone + Send + 'static,
    crate::actors::ticket::TicketActor: actix::Handler<crate::actors::ticket::Traced<M>>,
{
    let agents = core
        .into_inner()
        .ask_ticket(ticket_id(id)?, message)
        .await?;
    Ok(web::Json(answer(agents)))
}

#[utoipa::path(post, path = "/api/tickets/{id}/followers", tag = "tickets",
    request_body = FollowerRequest,
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The followers after the change", body = FollowerList),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn add_follower(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<FollowerRequest>,
) -> Result<web::Json<FollowerList>> {
    add_part(
        core,
        &id,
        AddFollower {
            by: caller.agent,
            agent: body.agent,
        },
        |followers| FollowerList { followers },
    )
    .await
}

/// `DELETE /api/tickets/{id}/{part}/{key}`: parses both ids, asks the ticket
/// for `make(key)`, answers 204. Malformed ids are 404 like unknown ones.
async fn remove_part<K, M>(
    core: web::Data<Core>,
    path: web::Path<(String, String)>,
    make: impl FnOnce(K) -> M,
) -> Result<actix_web::HttpResponse>
where
    K: std::str::FromStr,
    M: actix::Message<Result = Result<()>> + Clone + Send + 'static,
    crate::actors::ticket::TicketActor: actix::Handler<crate::actors::ticket::Traced<M>>,
{
    let id = ticket_id(&path.0)?;
    let key = path.1.parse().map_err(|_| Error::NotFound)?;
    core.into_inner().ask_ticket(id, make(key)).await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/tickets/{id}/followers/{agent}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id"), ("agent" = uuid::Uuid, Path, description = "The follower's id")),
    responses(
        (status = 204, description = "Done; no body"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %path.0))]
pub async fn remove_follower(
    core: web::Data<Core>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<actix_web::HttpResponse> {
    remove_part(core, path, |agent| RemoveFollower {
        by: caller.agent,
        agent,
    })
    .await
}

#[utoipa::path(delete, path = "/api/tickets/{id}/messages/{message}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id"), ("message" = uuid::Uuid, Path, description = "The scheduled reply's id")),
    responses(
        (status = 204, description = "Done; no body"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %path.0))]
pub async fn cancel_scheduled(
    core: web::Data<Core>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<actix_web::HttpResponse> {
    remove_part(core, path, |message| CancelScheduled {
        by: caller.agent,
        message,
    })
    .await
}

#[utoipa::path(post, path = "/api/tickets/{id}/shares", tag = "tickets",
    request_body = FollowerRequest,
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The agents the ticket is shared with after the change", body = ShareList),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn share(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<FollowerRequest>,
) -> Result<web::Json<ShareList>> {
    add_part(
        core,
        &id,
        Share {
            by: caller.agent,
            agent: body.agent,
        },
        |shared_with| ShareList { shared_with },
    )
    .await
}

#[utoipa::path(delete, path = "/api/tickets/{id}/shares/{agent}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id"), ("agent" = uuid::Uuid, Path, description = "The id of the agent the ticket is shared with")),
    responses(
        (status = 204, description = "Done; no body"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %path.0))]
pub async fn unshare(
    core: web::Data<Core>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<actix_web::HttpResponse> {
    remove_part(core, path, |agent| Unshare {
        by: caller.agent,
        agent,
    })
    .await
}

/// `GET /api/me/shared`: "Shared with me".
#[utoipa::path(get, path = "/api/me/shared", tag = "tickets",
    responses(
        (status = 200, description = "The tickets shared with the caller", body = TicketList),
        doc::Unauthorized, doc::Internal, doc::Unavailable,
    )
)]
pub async fn shared_with_me(
    core: web::Data<Core>,
    caller: Caller,
) -> Result<web::Json<TicketList>> {
    let tx = core.store.read()?;
    let mut tickets = Vec::new();
    for id in reads::shared_with(&tx, caller.agent.id)? {
        if let Some(t) = reads::ticket(&tx, id)?
            .filter(|t| !t.deleted && t.shared_with.contains(&caller.agent.id))
        {
            tickets.push(TicketDto::for_caller(&t, caller.agent.id));
        }
    }
    Ok(web::Json(TicketList { tickets }))
}

#[utoipa::path(put, path = "/api/tickets/{id}/lock", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 200, description = "The caller's hard lock", body = LockDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn lock(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<LockDto>> {
    let id = ticket_id(&id)?;
    Ok(web::Json(
        core.into_inner()
            .ask_ticket(id, LockTicket { by: caller.agent })
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/tickets/{id}/lock", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 204, description = "Done; no body"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn unlock(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<actix_web::HttpResponse> {
    let id = ticket_id(&id)?;
    core.into_inner()
        .ask_ticket(id, Unlock { by: caller.agent })
        .await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

/// `POST /api/tickets/{id}/{accept|return|resolve|reopen|archive}`: workflow
/// steps without a body; and `/read`, `/unread`: the caller's own read mark.
#[utoipa::path(post, path = "/api/tickets/{id}/{step}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id"), ("step" = String, Path, description = "A workflow step (`accept`, `return`, `resolve`, `reopen`, `archive`) or the caller's read mark (`read`, `unread`); anything else is 404", example = "accept")),
    responses(
        (status = 200, description = "The ticket after the change", body = TicketDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %path.0, step = %path.1))]
pub async fn step(
    core: web::Data<Core>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<web::Json<TicketDto>> {
    let (id, step) = path.into_inner();
    if let read @ ("read" | "unread") = step.as_str() {
        let mark = MarkRead {
            by: caller.agent,
            read: read == "read",
        };
        return Ok(web::Json(
            core.into_inner().ask_ticket(ticket_id(&id)?, mark).await?,
        ));
    }
    let op = match step.as_str() {
        "accept" => Op::Accept,
        "return" => Op::Return,
        "resolve" => Op::Resolve,
        "reopen" => Op::Reopen,
        "archive" => Op::Archive,
        _ => return Err(Error::NotFound),
    };
    mutate(core, caller, &id, op).await
}

#[utoipa::path(delete, path = "/api/tickets/{id}", tag = "tickets",
    operation_id = "delete_ticket",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id")),
    responses(
        (status = 204, description = "Done; no body"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(ticket = %id))]
pub async fn delete(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<actix_web::HttpResponse> {
    mutate(core, caller, &id, Op::Delete).await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/inboxes/{id}/tickets", tag = "tickets",
    operation_id = "list_tickets",
    params(("id" = uuid::Uuid, Path, description = "The inbox's id"), ListQuery),
    responses(
        (status = 200, description = "One page of the inbox's tickets in a view", body = TicketPage),
        doc::BadRequest, doc::Unauthorized, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
#[tracing::instrument(skip_all, fields(inbox = %inbox))]
pub async fn list(
    core: web::Data<Core>,
    caller: Caller,
    inbox: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<TicketPage>> {
    let inbox: InboxId = inbox.parse().map_err(|_| Error::NotFound)?;
    if core.directory.inbox(inbox).is_none() || !can_view_inbox(&caller.agent, inbox) {
        return Err(Error::NotFound);
    }
    let view_name = query.view.as_deref().unwrap_or("all");
    let view = View::parse(view_name, caller.agent.id).ok_or_else(|| {
        Error::bad_request("view must be pending, working_on, resolved, mine or all")
    })?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::bad_request(format!("limit must be 1-{MAX_PAGE}")));
    }
    let cursor = match &query.cursor {
        Some(text) => {
            Some(Cursor::decode(text).ok_or_else(|| Error::bad_request("invalid cursor"))?)
        }
        None => None,
    };
    // Later pages read the snapshot the first page saw (see `store::snapshots`).
    let snapshot = cursor
        .as_ref()
        .and_then(|c| core.store.snapshots.get(c.snapshot));
    let tx = match snapshot.clone() {
        Some(tx) => tx,
        None => Arc::new(core.store.read()?),
    };
    let after = cursor.as_ref().map(|c| c.key.as_slice());
    let (tickets, next) = reads::view_page(&tx, inbox, view, after, limit)?;
    let tickets: Vec<TicketDto> = tickets
        .iter()
        .map(|t| TicketDto::for_caller(t, caller.agent.id))
        .collect();
    let next = match next {
        Some(key) => Some(Cursor {
            snapshot: core.store.snapshots.keep(tx, cursor.map(|c| c.snapshot)),
            key,
        }),
        None => {
            if let Some(c) = cursor {
                core.store.snapshots.release(c.snapshot);
            }
            None
        }
    };
    Ok(web::Json(TicketPage {
        tickets,
        next_cursor: next.as_ref().map(Cursor::encode),
    }))
}
