//! Admission: the visitor a `hello` stands for, and the token it keeps.
//!
//! Invariants:
//! - A verified identity is checked against the channel's secret (constant
//!   time) and is the same visitor wherever it comes from; a bad hash admits
//!   nobody, it never falls back to an anonymous visitor.
//! - With `require_identity`, only verified visitors are admitted.
//! - A token admits its visitor only on its own channel, and a token of a
//!   verified visitor only together with that identity (a shared computer
//!   does not hand the previous user's conversations to the next one).
//! - Only a token's SHA-256 is stored. Creating a visitor (and its token) is
//!   one write, which looks the identity up again inside the transaction, so
//!   two first hellos of one identity make one visitor.

use redb::{ReadableTable, WriteTransaction};

use crate::accounts::token;
use crate::domain::channel::Channel;
use crate::domain::visitor::{self, Visitor, limits};
use crate::domain::{Timestamp, VisitorId};
use crate::protocol::visitor::IdentityDto;
use crate::store::tables::{VISITOR_IDENTITIES, VISITORS};
use crate::store::{Store, StoreError, codec, reads, writes};

/// Why a hello admits nobody.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("identity required")]
    IdentityRequired,
    #[error("identity not verified")]
    IdentityNotVerified,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An admitted visitor and the token its client keeps.
pub struct Admitted {
    pub visitor: Visitor,
    pub token: String,
}

/// A verified identity's details, checked.
struct Identity {
    identifier: String,
    name: Option<String>,
    email: Option<String>,
}

fn verify(channel: &Channel, identity: IdentityDto) -> Result<Identity, Refused> {
    let IdentityDto {
        identifier,
        name,
        email,
        identifier_hash,
    } = identity;
    if identifier.is_empty() || identifier.chars().count() > limits::IDENTIFIER_CHARS {
        return Err(Refused::Invalid(format!(
            "identifier must be 1-{} characters",
            limits::IDENTIFIER_CHARS
        )));
    }
    if !channel.verifies(&identifier, &identifier_hash) {
        return Err(Refused::IdentityNotVerified);
    }
    let name = name
        .filter(|n| !n.trim().is_empty())
        .map(|n| visitor::validate_name(&n))
        .transpose()
        .map_err(Refused::Invalid)?;
    let email = email
        .filter(|e| !e.trim().is_empty())
        .map(|e| visitor::validate_email(&e))
        .transpose()
        .map_err(Refused::Invalid)?;
    Ok(Identity {
        identifier,
        name,
        email,
    })
}

/// Admits the visitor of a hello on `channel` (enabled, origin checked).
pub async fn admit(
    store: &Store,
    channel: &Channel,
    token: Option<String>,
    identity: Option<IdentityDto>,
) -> Result<Admitted, Refused> {
    let identity = identity.map(|i| verify(channel, i)).transpose()?;
    if channel.require_identity && identity.is_none() {
        return Err(Refused::IdentityRequired);
    }
    let token = token.filter(|t| !t.is_empty() && t.len() <= 128);
    let holder = match &token {
        Some(t) => {
            let tx = store.read()?;
            match reads::visitor_by_token(&tx, &token::digest(t))? {
                Some(id) => reads::visitor(&tx, id)?,
                None => None,
            }
        }
        None => None,
    }
    .filter(|v| v.channel == channel.id);
    // The token's visitor, when the hello may continue as it.
    let continuing = match (&identity, holder) {
        (None, Some(v)) if v.identifier.is_none() => Some(v),
        (Some(i), Some(v)) if v.identifier.as_deref() == Some(i.identifier.as_str()) => Some(v),
        _ => None,
    };
    if let (Some(v), Some(t)) = (continuing, &token)
        && identity.as_ref().is_none_or(|i| unchanged(&v, i))
    {
        return Ok(Admitted {
            visitor: v,
            token: t.clone(),
        });
    }
    let token = token::generate();
    let digest = token::digest(&token);
    let channel_id = channel.id;
    let visitor = store
        .write(move |tx| {
            let visitor = match identity {
                Some(identity) => identified(tx, channel_id, identity)?,
                None => Visitor::anonymous(channel_id, Timestamp::now()),
            };
            writes::put_visitor(tx, &visitor)?;
            writes::put_visitor_token(tx, &digest, visitor.id)?;
            Ok(visitor)
        })
        .await?;
    Ok(Admitted { visitor, token })
}

/// Whether the stored visitor already has the identity's name and e-mail.
fn unchanged(v: &Visitor, i: &Identity) -> bool {
    i.name.as_ref().is_none_or(|n| *n == v.name)
        && i.email.as_ref().is_none_or(|e| Some(e) == v.email.as_ref())
}

/// The visitor verified as `identity` on `channel` (created if new), with
/// the identity's name and e-mail.
fn identified(
    tx: &WriteTransaction,
    channel: crate::domain::ChannelId,
    identity: Identity,
) -> Result<Visitor, StoreError> {
    let found = tx
        .open_table(VISITOR_IDENTITIES)?
        .get((channel.as_u128(), identity.identifier.as_str()))?
        .map(|v| VisitorId::from_u128(v.value()));
    let stored = match found {
        Some(id) => tx
            .open_table(VISITORS)?
            .get(id.as_u128())?
            .map(|v| codec::decode::<Visitor>(v.value()))
            .transpose()?,
        None => None,
    };
    let mut visitor = stored.unwrap_or_else(|| Visitor::anonymous(channel, Timestamp::now()));
    visitor.identifier = Some(identity.identifier);
    if let Some(name) = identity.name {
        visitor.name = name;
    }
    if identity.email.is_some() {
        visitor.email = identity.email;
    }
    Ok(visitor)
}
