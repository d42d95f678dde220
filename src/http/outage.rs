//! Which internal failures are a temporary outage: the database unreachable
//! ([`StoreError::Unavailable`](crate::store::StoreError)) or the password-check queue full
//! ([`HashError::Busy`]). Every surface answers those 503 with `Retry-After`, never 500, and
//! never success; the store and the hasher each know only their own failure.

use crate::identity::password::HashError;

/// Is this failure an outage that retrying soon can cure?
pub fn is_outage(err: &anyhow::Error) -> bool {
    crate::store::is_unavailable(err) || err.chain().any(|c| matches!(c.downcast_ref(), Some(HashError::Busy)))
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn a_full_password_queue_is_an_outage_and_an_ordinary_failure_is_not() {
        let busy: anyhow::Result<()> = Err(HashError::Busy).context("checking a password");
        assert!(is_outage(&busy.unwrap_err()));
        assert!(!is_outage(&anyhow::anyhow!("connection refused")), "error text alone decides nothing");
    }
}
