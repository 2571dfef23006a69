//! Opaque bearer tokens: 32 random bytes shown once as hex; only their
//! SHA-256 is stored, so a copy of the database does not yield live tokens.
//! A token expires `auth.token_ttl_s` after login and is revoked by logout,
//! a password change or disabling its agent; sockets opened with it close then.

use sha2::{Digest, Sha256};

use crate::domain::Timestamp;

/// The token a socket authenticated with: its digest and when it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential {
    pub digest: [u8; 32],
    pub expires_at: Timestamp,
}

/// Which tokens a revocation ends.
#[derive(Clone, Copy, Debug)]
pub enum Revocation {
    /// One token (logout).
    Token([u8; 32]),
    /// Every token of an agent but the one making the change, if any (password change).
    AllBut(Option<[u8; 32]>),
}

impl Revocation {
    pub fn covers(&self, digest: &[u8; 32]) -> bool {
        match self {
            Revocation::Token(revoked) => revoked == digest,
            Revocation::AllBut(kept) => kept.as_ref() != Some(digest),
        }
    }
}

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_random_hex_and_digests_stable() {
        let a = super::generate();
        assert_eq!(a.len(), 64);
        assert_ne!(a, super::generate());
        assert_eq!(super::digest(&a), super::digest(&a));
    }
}
