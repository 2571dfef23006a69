//! The two endpoints of an API channel's integration (docs/protocol.md
//! §9.9), authenticated with the channel's API key, not an agent's token:
//! create a conversation, and post a customer's message to it. Both are
//! idempotent: `201` when stored now, `200` with what was stored before.

use std::sync::Arc;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::openapi as doc;
use crate::channels::api::{self, Outcome};
use crate::core::Core;
use crate::domain::ChannelId;
use crate::domain::channel::Channel;
use crate::domain::decisions::api::MessageIn;
use crate::error::Error;
use crate::protocol::api_channel::{
    ApiConversationDto, ApiMessageDto, ApiMessageResponse, ConversationResponse,
    CreateConversationRequest, PostApiMessageRequest,
};

type Result<T> = std::result::Result<T, Error>;

/// The API channel of the path, when the request carries its key: an
/// extractor, so that a request without the key is refused before its body
/// is read.
pub struct Integration(Arc<Channel>);

impl FromRequest for Integration {
    type Error = Error;
    type Future = Ready<Result<Integration>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let core = req
            .app_data::<web::Data<Core>>()
            .expect("Core is registered as app data");
        let id = req
            .match_info()
            .get("id")
            .and_then(|id| id.parse::<ChannelId>().ok());
        let key = super::auth::bearer(req);
        ready(match id {
            Some(id) => api::authenticate(core, id, key).map(Integration),
            None => Err(Error::Unauthorized),
        })
    }
}

fn status(outcome: Outcome) -> StatusCode {
    match outcome {
        Outcome::Created => StatusCode::CREATED,
        Outcome::Existing => StatusCode::OK,
    }
}

#[utoipa::path(post, path = "/api/channels/{id}/conversations", tag = "integrations",
    operation_id = "create_api_conversation",
    security(("api_key" = [])),
    request_body = CreateConversationRequest,
    params(("id" = uuid::Uuid, Path, description = "The API channel's id")),
    responses(
        (status = 201, description = "A new conversation (a ticket in the channel's inbox)", body = ConversationResponse),
        (status = 200, description = "The open conversation with this `external_id`", body = ConversationResponse),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn create_conversation(
    core: web::Data<Core>,
    Integration(channel): Integration,
    body: web::Json<CreateConversationRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let conversation = api::conversation_in(
        &body.external_id,
        &body.contact.name,
        &body.contact.identifier,
        body.subject.as_deref(),
    )?;
    let core = core.into_inner();
    let (ticket, outcome) = core.integrations.open(&core, channel, conversation).await?;
    let api = ticket.api.as_ref().expect("an API conversation's ticket");
    Ok(
        HttpResponse::build(status(outcome)).json(ConversationResponse {
            conversation: ApiConversationDto::new(&ticket, api),
        }),
    )
}

#[utoipa::path(post, path = "/api/channels/{id}/conversations/{external_id}/messages", tag = "integrations",
    operation_id = "post_api_message",
    security(("api_key" = [])),
    request_body = PostApiMessageRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "The API channel's id"),
        ("external_id" = String, Path, description = "The conversation's `external_id` (URL-encoded)"),
    ),
    responses(
        (status = 201, description = "The customer's message, stored", body = ApiMessageResponse),
        (status = 200, description = "The message stored before with this `external_message_id`", body = ApiMessageResponse),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn post_message(
    core: web::Data<Core>,
    Integration(channel): Integration,
    path: web::Path<(String, String)>,
    body: web::Json<PostApiMessageRequest>,
) -> Result<HttpResponse> {
    let (_, external_id) = path.into_inner();
    let body = body.into_inner();
    let message = MessageIn {
        body: body.body,
        external_message_id: body.external_message_id,
    };
    let core = core.into_inner();
    let integrations = &core.integrations;
    let (ticket, message, outcome) = integrations
        .receive(&core, channel, &external_id, message)
        .await?;
    let api = ticket.api.as_ref().expect("an API conversation's ticket");
    Ok(
        HttpResponse::build(status(outcome)).json(ApiMessageResponse {
            conversation: ApiConversationDto::new(&ticket, api),
            message: ApiMessageDto::new(&message),
        }),
    )
}
