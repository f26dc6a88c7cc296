//! Password hashing (argon2id with the crate's defaults) and the password policy.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AppError;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// A new password that meets the policy: 8 to 128 characters, not one of the most common.
/// There are no composition rules.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if length < MIN_LENGTH {
            return Err(format!("Use at least {MIN_LENGTH} characters."));
        }
        if length > MAX_LENGTH {
            return Err(format!("Use at most {MAX_LENGTH} characters."));
        }
        let lowered = raw.to_lowercase();
        if COMMON_PASSWORDS.lines().any(|common| common == lowered) {
            return Err("This password is too common. Choose another.".to_owned());
        }
        Ok(Self(raw.to_owned()))
    }

    /// Checks a password and its confirmation together.
    pub fn parse_confirmed(raw: &str, confirmation: &str) -> Result<Self, String> {
        let password = Self::parse(raw)?;
        if raw != confirmation {
            return Err("The two passwords do not match.".to_owned());
        }
        Ok(password)
    }

    pub fn hash(&self) -> Result<String, AppError> {
        hash(&self.0)
    }
}

fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::internal(format!("password hashing failed: {err}")))
}

/// A hash to verify against when the account does not exist, so that an unknown email and a
/// wrong password take the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("no account has this password").unwrap_or_default());

/// Checks `password` against `stored`; with no stored hash, spends the same effort and fails.
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    let candidate = stored.unwrap_or(DUMMY_HASH.as_str());
    let matches = PasswordHash::new(candidate)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert!(NewPassword::parse("seven77").is_err());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(NewPassword::parse("Password123").is_err());
        assert!(NewPassword::parse("correct horse battery staple").is_ok());
    }

    #[test]
    fn long_unicode_passphrases_are_accepted() {
        assert!(NewPassword::parse(&"ü".repeat(128)).is_ok());
    }

    #[test]
    fn a_hash_verifies_its_own_password_only() {
        let password = NewPassword::parse("correct horse battery staple").expect("valid");
        let stored = password.hash().expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(Some(&stored), "correct horse battery staple"));
        assert!(!verify(Some(&stored), "Correct horse battery staple"));
        assert!(!verify(None, "no account has this password"));
    }

    #[test]
    fn a_mismatched_confirmation_is_refused() {
        assert!(NewPassword::parse_confirmed("long enough pass", "long enough pasS").is_err());
    }
}
