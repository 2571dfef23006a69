//! REST response bodies that wrap [`dto`](super::dto) objects in a named field
//! (an object answered on its own is its dto). Field names and `null`s are the
//! contract of docs/protocol.md.

use serde::Serialize;

use super::dto::{AgentDto, AgentRef, TicketDto};

/// `POST /api/login`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: String,
    pub agent: AgentDto,
}

/// `GET /api/search` and `GET /api/me/shared`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketList {
    pub tickets: Vec<TicketDto>,
}

/// `GET /api/inboxes/{id}/tickets`: one page; `next_cursor` is `null` on the last.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketDto>,
    pub next_cursor: Option<String>,
}

/// `POST /api/tickets/{id}/followers`: the followers after the change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowerList {
    pub followers: Vec<AgentRef>,
}

/// `POST /api/tickets/{id}/shares`: the agents shared with after the change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShareList {
    pub shared_with: Vec<AgentRef>,
}

/// `GET /api/channels`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelsResponse {
    pub channels: Vec<super::dto::ChannelDto>,
}
