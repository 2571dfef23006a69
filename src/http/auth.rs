//! The `Caller` extractor: the active agent behind `Authorization: Bearer <token>`.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::accounts::token::Credential;
use crate::core::Core;
use crate::domain::{Agent, Role};
use crate::error::Error;

pub struct Caller {
    pub agent: Arc<Agent>,
    /// The token this request came with (logout revokes it).
    pub credential: Credential,
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.agent.role == Role::Admin {
            Ok(())
        } else {
            Err(Error::forbidden("admins only"))
        }
    }
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = Ready<Result<Caller, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

/// The request's `Authorization: Bearer` token.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn authenticate(req: &HttpRequest) -> Result<Caller, Error> {
    let core = req
        .app_data::<web::Data<Core>>()
        .expect("Core is registered as app data");
    let token = bearer(req).ok_or(Error::Unauthorized)?;
    let (agent, credential) = core
        .directory
        .authenticate_credential(token)
        .ok_or(Error::Unauthorized)?;
    // The request's span (see `http::trace`) names who is asking.
    tracing::Span::current().record("agent", tracing::field::display(agent.id));
    Ok(Caller { agent, credential })
}
