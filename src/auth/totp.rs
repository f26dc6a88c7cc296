//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s), as authenticator apps
//! expect them.

use chrono::NaiveDateTime;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::AppError;

const STEP_SECONDS: u64 = 30;
const ISSUER: &str = "Rapport";

/// A fresh secret, base32-encoded for storage and manual entry.
pub fn new_secret() -> String {
    match Secret::generate_secret().to_encoded() {
        Secret::Encoded(encoded) => encoded,
        Secret::Raw(raw) => Secret::Raw(raw).to_string(),
    }
}

fn totp(secret: &str, account: &str) -> Result<TOTP, AppError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|err| AppError::internal(format!("unreadable TOTP secret: {err:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_owned()),
        account.replace(':', ""),
    )
    .map_err(|err| AppError::internal(format!("invalid TOTP parameters: {err:?}")))
}

/// The QR code an authenticator app scans, as a base64 PNG.
pub fn qr_code_png_base64(secret: &str, account: &str) -> Result<String, AppError> {
    totp(secret, account)?
        .get_qr_base64()
        .map_err(|err| AppError::internal(format!("QR code failed: {err}")))
}

/// The code an authenticator shows at `at`; used by tests and the enrolment check.
pub fn code_at(secret: &str, at: NaiveDateTime) -> Result<String, AppError> {
    Ok(totp(secret, "")?.generate(unix_seconds(at)))
}

/// Checks a typed code against the current step and one step either side (clock drift).
/// Returns the matching time step, which the caller records to refuse a replay.
pub fn matching_step(
    secret: &str,
    code: &str,
    now: NaiveDateTime,
) -> Result<Option<i64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret, "")?;
    let now_seconds = unix_seconds(now);
    for offset in [-1_i64, 0, 1] {
        let at = now_seconds.saturating_add_signed(offset * STEP_SECONDS as i64);
        if super::tokens::constant_time_eq(&totp.generate(at), &code) {
            return Ok(Some((at / STEP_SECONDS) as i64));
        }
    }
    Ok(None)
}

fn unix_seconds(at: NaiveDateTime) -> u64 {
    u64::try_from(at.and_utc().timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_within_one_step_of_drift_only() {
        let secret = new_secret();
        // The start of a 30-second step, so that the offsets below land in known steps.
        let now = chrono::DateTime::from_timestamp(1_796_000_010, 0)
            .expect("a valid time")
            .naive_utc();
        let code = code_at(&secret, now).expect("code");
        assert!(matching_step(&secret, &code, now).expect("check").is_some());
        let next_step = now + chrono::Duration::seconds(31);
        assert!(
            matching_step(&secret, &code, next_step)
                .expect("check")
                .is_some()
        );
        let two_steps_later = now + chrono::Duration::seconds(61);
        assert!(
            matching_step(&secret, &code, two_steps_later)
                .expect("check")
                .is_none()
        );
    }

    #[test]
    fn malformed_codes_never_match() {
        let secret = new_secret();
        let now = chrono::Utc::now().naive_utc();
        for code in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(matching_step(&secret, code, now).expect("check"), None);
        }
    }

    #[test]
    fn the_qr_code_is_a_png() {
        let png = qr_code_png_base64(&new_secret(), "ada@example.com").expect("qr");
        assert!(png.starts_with("iVBOR"));
    }
}
