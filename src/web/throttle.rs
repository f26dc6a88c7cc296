//! Rate limits on the doors attackers knock on: sign-in, password reset, invitation links.
//! Each is limited per account and per client address, in memory (governor's GCRA).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// Past this many tracked keys, idle ones are dropped.
const MAX_TRACKED_KEYS: usize = 10_000;

pub struct Throttle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
}

fn quota(burst: u32, one_more_every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(one_more_every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Throttle {
    pub fn new(account: Quota, address: Quota) -> Self {
        Self {
            per_account: RateLimiter::keyed(account),
            per_address: RateLimiter::keyed(address),
        }
    }

    /// Counts one attempt; `TooManyRequests` once either limit is reached.
    pub fn check(&self, account: Option<&str>, address: &str) -> Result<(), AppError> {
        for limiter in [&self.per_account, &self.per_address] {
            if limiter.len() > MAX_TRACKED_KEYS {
                limiter.retain_recent();
            }
        }
        self.per_address
            .check_key(&address.to_owned())
            .map_err(|_| AppError::TooManyRequests)?;
        if let Some(account) = account {
            self.per_account
                .check_key(&account.trim().to_lowercase())
                .map_err(|_| AppError::TooManyRequests)?;
        }
        Ok(())
    }
}

pub struct Throttles {
    /// Five tries per account, then one a minute; thirty per address, then one every 6 s.
    pub login: Throttle,
    /// Three reset emails per account, then one per ten minutes.
    pub password_reset: Throttle,
    /// Opening or using invitation and reset links, and admins sending invitations.
    pub invitation: Throttle,
    /// Public web-to-lead form submissions, per client address.
    pub lead_forms: Throttle,
}

impl Default for Throttles {
    fn default() -> Self {
        Self {
            login: Throttle::new(
                quota(5, Duration::from_secs(60)),
                quota(30, Duration::from_secs(6)),
            ),
            password_reset: Throttle::new(
                quota(3, Duration::from_secs(600)),
                quota(10, Duration::from_secs(60)),
            ),
            invitation: Throttle::new(
                quota(20, Duration::from_secs(180)),
                quota(20, Duration::from_secs(6)),
            ),
            lead_forms: crate::leads::forms::service::throttle(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_throttled_after_its_burst() {
        let throttle = Throttle::new(
            quota(2, Duration::from_secs(60)),
            quota(100, Duration::from_secs(1)),
        );
        assert!(throttle.check(Some("ada@example.com"), "10.0.0.1").is_ok());
        assert!(throttle.check(Some("ADA@example.com"), "10.0.0.2").is_ok());
        assert!(throttle.check(Some("ada@example.com"), "10.0.0.3").is_err());
        assert!(throttle.check(Some("bob@example.com"), "10.0.0.3").is_ok());
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let throttle = Throttle::new(
            quota(100, Duration::from_secs(1)),
            quota(2, Duration::from_secs(60)),
        );
        assert!(throttle.check(Some("a@example.com"), "10.0.0.1").is_ok());
        assert!(throttle.check(Some("b@example.com"), "10.0.0.1").is_ok());
        assert!(throttle.check(Some("c@example.com"), "10.0.0.1").is_err());
    }
}
