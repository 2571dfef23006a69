//! Password hashing with argon2id (the crate's recommended parameters).
//! Hashing and verifying are CPU-heavy by design: call them off the async threads.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters and a random salt cannot fail")
        .to_string()
}

/// A random password for an operator to sign in with once: 20 hexadecimal
/// characters (80 bits).
pub fn generate() -> String {
    super::token::generate()[..20].to_owned()
}

pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifies_only_the_right_password() {
        let phc = super::hash("demo");
        assert!(phc.starts_with("$argon2id$"));
        assert!(super::verify("demo", &phc));
        assert!(!super::verify("Demo", &phc));
        assert!(!super::verify("demo", "not a hash"));
    }
}
