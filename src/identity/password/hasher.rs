//! argon2id hashing on the blocking pool, at most `concurrency` at once: each hash holds
//! ~19 MiB, so a login burst queues here instead of exhausting memory or async workers.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use super::Password;
use crate::secret::random_token;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task did not finish")]
    Join,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified when the user does not exist, so unknown users cost the same time.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Startup: validates the parameters and computes the dummy hash.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32, concurrency: usize) -> Result<Self, HashError> {
        let params =
            Params::new(memory_kib, iterations, parallelism, None).map_err(|e| HashError::Params(e.to_string()))?;
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            concurrency
        };
        let dummy_hash = hash_blocking(&params, &random_token())?.into();
        Ok(Self { params, permits: Arc::new(Semaphore::new(concurrency)), dummy_hash })
    }

    /// A PHC string (`$argon2id$v=19$m=…`), with a fresh random salt.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let params = self.params.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_blocking(&params, password.expose()))
            .await
            .map_err(|_| HashError::Join)?
    }

    /// Checks `password` against `stored`; with no stored hash, checks a dummy hash and
    /// answers false after the same amount of work.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<bool, HashError> {
        let queued = std::time::Instant::now();
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        metrics::histogram!(crate::telemetry::metrics::names::ARGON2_WAIT).record(queued.elapsed().as_secs_f64());
        let exists = stored.is_some();
        let phc: Arc<str> = stored.map(Arc::from).unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.clone();
        let matched = tokio::task::spawn_blocking(move || {
            // Parameters come from the stored hash, so older costs keep verifying.
            Argon2::default().verify_password(password.expose().as_bytes(), &*phc).is_ok()
        })
        .await
        .map_err(|_| HashError::Join)?;
        Ok(exists && matched)
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, HashError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::password::PasswordPolicy;

    const POLICY: PasswordPolicy = PasswordPolicy { min_length: 8, max_bytes: 1024 };

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_configured_cost_and_verify() {
        let hasher = PasswordHasher::new(19_456, 2, 1, 2).unwrap();
        let pw = Password::attempt("correct horse", &POLICY).unwrap();
        let phc = hasher.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&pw, Some(&phc)).await.unwrap());
        let wrong = Password::attempt("correct horsf", &POLICY).unwrap();
        assert!(!hasher.verify(&wrong, Some(&phc)).await.unwrap());
        assert!(!hasher.verify(&pw, None).await.unwrap(), "no user: the dummy never matches");
        assert_ne!(phc, hasher.hash(&pw).await.unwrap(), "salts differ");
    }
}
