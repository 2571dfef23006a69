//! Webhook administration (docs/protocol.md §9.8.1): admins only; agents
//! get 403. The secret is shown when a webhook is created and when it is
//! rotated, never again.

use actix_web::{HttpResponse, web};

use super::auth::Caller;
use super::openapi as doc;
use crate::core::Core;
use crate::domain::{DeliveryId, WebhookId};
use crate::error::Error;
use crate::protocol::webhooks::{
    CreateWebhookRequest, DeliveriesResponse, PatchWebhookRequest, WebhookDto, WebhooksResponse,
};
use crate::webhooks::admin::{self, NewWebhook, WebhookPatch};

type Result<T> = std::result::Result<T, Error>;

fn webhook_id(raw: &str) -> Result<WebhookId> {
    raw.parse().map_err(|_| Error::NotFound)
}

#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks",
    operation_id = "create_webhook",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "The new webhook, with its secret", body = WebhookDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn create(
    core: web::Data<Core>,
    caller: Caller,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse> {
    caller.require_admin()?;
    let body = body.into_inner();
    let new = NewWebhook {
        url: body.url,
        events: body.events,
        description: body.description,
    };
    let webhook = admin::create(&core, new).await?;
    Ok(HttpResponse::Created().json(WebhookDto::with_secret(&webhook)))
}

#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks",
    operation_id = "list_webhooks",
    responses(
        (status = 200, description = "Every webhook, without secrets", body = WebhooksResponse),
        doc::Unauthorized, doc::Forbidden, doc::Internal,
    )
)]
pub async fn list(core: web::Data<Core>, caller: Caller) -> Result<web::Json<WebhooksResponse>> {
    caller.require_admin()?;
    let webhooks = admin::list(&core)?;
    Ok(web::Json(WebhooksResponse {
        webhooks: webhooks.iter().map(WebhookDto::new).collect(),
    }))
}

#[utoipa::path(get, path = "/api/webhooks/{id}", tag = "webhooks",
    operation_id = "webhook_detail",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook, without its secret", body = WebhookDto),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal,
    )
)]
pub async fn detail(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<WebhookDto>> {
    caller.require_admin()?;
    let webhook = admin::get(&core, webhook_id(&id)?)?;
    Ok(web::Json(WebhookDto::new(&webhook)))
}

#[utoipa::path(patch, path = "/api/webhooks/{id}", tag = "webhooks",
    operation_id = "patch_webhook",
    request_body = PatchWebhookRequest,
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook after the change", body = WebhookDto),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge, doc::Internal, doc::Unavailable,
    )
)]
pub async fn patch(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<PatchWebhookRequest>,
) -> Result<web::Json<WebhookDto>> {
    caller.require_admin()?;
    let body = body.into_inner();
    let patch = WebhookPatch {
        url: body.url,
        events: body.events,
        description: body.description,
        enabled: body.enabled,
    };
    let webhook = admin::update(&core, webhook_id(&id)?, patch).await?;
    Ok(web::Json(WebhookDto::new(&webhook)))
}

#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Done; its pending deliveries are dropped"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn delete(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    caller.require_admin()?;
    admin::delete(&core, webhook_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/webhooks/{id}/rotate_secret", tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook with its new secret", body = WebhookDto),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn rotate_secret(
    core: web::Data<Core>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<WebhookDto>> {
    caller.require_admin()?;
    let webhook = admin::rotate_secret(&core, webhook_id(&id)?).await?;
    Ok(web::Json(WebhookDto::with_secret(&webhook)))
}

#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks",
    operation_id = "webhook_deliveries",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
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
    let attempts = admin::attempts(&core, webhook_id(&id)?)?;
    Ok(web::Json(DeliveriesResponse::new(&attempts)))
}

#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks",
    operation_id = "redeliver_webhook_delivery",
    params(
        ("id" = uuid::Uuid, Path, description = "The webhook's id"),
        ("delivery" = uuid::Uuid, Path, description = "A logged delivery's id (`Tandem-Delivery`)"),
    ),
    responses(
        (status = 202, description = "Queued again, with the same id and body; no body"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Internal, doc::Unavailable,
    )
)]
pub async fn redeliver(
    core: web::Data<Core>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    caller.require_admin()?;
    let (id, delivery) = path.into_inner();
    let delivery: DeliveryId = delivery.parse().map_err(|_| Error::NotFound)?;
    admin::redeliver(&core, webhook_id(&id)?, delivery).await?;
    Ok(HttpResponse::Accepted().finish())
}
