//! A message to a ticket actor with the span it was sent in, so what the
//! actor logs while deciding carries the sender's context: the request id,
//! and the agent and session where the sender's span has them.
//! [`crate::core::Core::ask_ticket`] sends every ask this way.
//!
//! The span covers the handler's synchronous part (the decision); what runs
//! after a commit (an `AtomicResponse`'s continuation) is outside it.

use actix::prelude::*;
use tracing::Span;

use super::{
    AddFollower, CancelScheduled, Create, Fire, ForceRelease, GiveContact, ImportMail, LockTicket,
    MarkRead, MarkSeen, Mutate, Open, OpenApiConversation, OpenConversation, Patch, Post, Receive,
    ReceiveApiMessage, RemoveFollower, SetDelivery, Share, TicketActor, Unlock, Unshare,
    UpdateDraft,
};
use crate::domain::TicketId;

/// The span of messages to ticket `id`: `ticket{ticket}`, a child of the
/// sender's current span (at `error` level, like the request span: see
/// `http::trace`).
pub fn ticket_span(id: TicketId) -> Span {
    tracing::error_span!("ticket", ticket = %id)
}

/// `message`, handled inside `span`.
pub struct Traced<M> {
    message: M,
    span: Span,
}

impl<M> Traced<M> {
    pub fn new(message: M, span: &Span) -> Traced<M> {
        Traced {
            message,
            span: span.clone(),
        }
    }
}

impl<M: Message> Message for Traced<M> {
    type Result = M::Result;
}

/// A generic `impl<M> Handler<Traced<M>>` sends the trait solver into an
/// endless `Traced<Traced<…>>` (E0275), so each message asked through
/// `Core::ask_ticket` is listed: a missing one fails to compile there.
macro_rules! traced {
    ($($message:ty),* $(,)?) => {$(
        impl Handler<Traced<$message>> for TicketActor {
            type Result = <TicketActor as Handler<$message>>::Result;

            fn handle(
                &mut self,
                traced: Traced<$message>,
                ctx: &mut Context<Self>,
            ) -> Self::Result {
                let _entered = traced.span.enter();
                <Self as Handler<$message>>::handle(self, traced.message, ctx)
            }
        }
    )*};
}

traced!(
    AddFollower,
    CancelScheduled,
    Create,
    Fire,
    ForceRelease,
    GiveContact,
    ImportMail,
    LockTicket,
    MarkRead,
    MarkSeen,
    Mutate,
    Open,
    OpenApiConversation,
    OpenConversation,
    Patch,
    Post,
    Receive,
    ReceiveApiMessage,
    RemoveFollower,
    SetDelivery,
    Share,
    Unlock,
    Unshare,
    UpdateDraft,
);
