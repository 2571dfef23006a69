//! `GET /api/search?q=&inbox=&limit=`: `#22` or `22` finds ticket 22; words
//! find tickets by subject, customer and message bodies (inverted index,
//! `store::reads::search`), most relevant first. Only tickets the caller may
//! see are returned.

use super::openapi as doc;
use actix_web::web;
use serde::Deserialize;

use super::auth::Caller;
use crate::core::Core;
use crate::domain::access::{TicketAction, TicketScope, can_view_inbox, check_ticket};
use crate::domain::search::parse_query;
use crate::domain::ticket::Ticket;
use crate::domain::{InboxId, TicketId};
use crate::error::Error;
use crate::protocol::dto::TicketDto;
use crate::protocol::responses::TicketList;
use crate::store::reads;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// Matches examined for visibility at most, so a common word stays fast.
const MAX_EXAMINED: usize = 5_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    q: String,
    inbox: Option<InboxId>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/search", tag = "tickets",
    params(SearchQuery),
    responses(
        (status = 200, description = "The tickets found, most relevant first", body = TicketList),
        doc::BadRequest, doc::Unauthorized, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn search(
    core: web::Data<Core>,
    caller: Caller,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<TicketList>, Error> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::bad_request(format!("limit must be 1-{MAX_LIMIT}")));
    }
    if let Some(inbox) = query.inbox
        && (core.directory.inbox(inbox).is_none() || !can_view_inbox(&caller.agent, inbox))
    {
        return Err(Error::NotFound);
    }
    let parsed = parse_query(&query.q);
    let tx = core.store.read()?;
    let visible = |t: &Ticket| {
        !t.deleted
            && query.inbox.is_none_or(|i| i == t.inbox)
            && check_ticket(
                &caller.agent,
                TicketScope {
                    inbox: t.inbox,
                    shared_with: &t.shared_with,
                },
                TicketAction::View,
            )
            .is_ok()
    };
    let mut found: Vec<Ticket> = Vec::new();
    let mut seen: Vec<TicketId> = Vec::new();
    if let Some(number) = parsed.number
        && let Some(id) = reads::ticket_id_by_number(&tx, number)?
        && let Some(ticket) = reads::ticket(&tx, id)?.filter(|t| visible(t))
    {
        seen.push(id);
        found.push(ticket);
    }
    for (id, _) in reads::search(&tx, &parsed.words)?
        .into_iter()
        .take(MAX_EXAMINED)
    {
        if found.len() >= limit {
            break;
        }
        if seen.contains(&id) {
            continue;
        }
        if let Some(ticket) = reads::ticket(&tx, id)?.filter(|t| visible(t)) {
            found.push(ticket);
        }
    }
    let tickets: Vec<TicketDto> = found
        .iter()
        .map(|t| TicketDto::for_caller(t, caller.agent.id))
        .collect();
    Ok(web::Json(TicketList { tickets }))
}
