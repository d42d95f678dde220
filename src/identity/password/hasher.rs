//! argon2id on a small pool of dedicated threads (one per core by default) fed by a bounded
//! queue: hashing never runs on the async workers, at most `concurrency` hashes hold their
//! ~19 MiB at once, and each thread keeps its argon2 memory between hashes, so a login burst
//! neither grows the heap (the blocking pool's many threads each kept a freed 19 MiB arena)
//! nor pays to fault in fresh pages for every check. A full queue answers `Busy` at once
//! (503 + Retry-After) instead of piling up waiters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher as _, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use super::Password;
use super::legacy::ForeignHash;
use crate::secret::random_token;

/// Jobs that may wait per hashing thread (about 64 × 20 ms ≈ 1.3 s of work).
const QUEUE_PER_THREAD: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task did not finish")]
    Join,
    /// Every hashing thread is busy and the queue is full: try again shortly.
    #[error("password checks are queued to capacity; retry shortly")]
    Busy,
}

enum Work {
    Hash(Password),
    /// Checks a password against a PHC string; the parameters come from the string, so
    /// hashes made at an older cost keep verifying.
    Verify(Password, Arc<str>),
}

enum Done {
    Hashed(Result<String, HashError>),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Done>,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    queue: SyncSender<Job>,
    /// Verified when the user does not exist, so unknown users cost the same time.
    dummy_hash: Arc<str>,
    /// Password checks run so far (operators' and tests' count of guesses checked).
    verified: Arc<AtomicU64>,
    /// New hashes made so far (registrations, password changes).
    hashed: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Startup: validates the parameters, computes the dummy hash, starts the threads (they
    /// end when the last handle is dropped).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32, concurrency: usize) -> Result<Self, HashError> {
        let params =
            Params::new(memory_kib, iterations, parallelism, None).map_err(|e| HashError::Params(e.to_string()))?;
        let threads = if concurrency == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            concurrency
        };
        let (queue, jobs) = sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let (jobs, params) = (jobs.clone(), params.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&jobs, &params))
                .map_err(|e| HashError::Hash(format!("starting a hashing thread: {e}")))?;
        }
        let dummy_hash = hash_blocking(&params, &random_token())?.into();
        Ok(Self {
            params,
            queue,
            dummy_hash,
            verified: Arc::new(AtomicU64::new(0)),
            hashed: Arc::new(AtomicU64::new(0)),
        })
    }

    async fn run(&self, work: Work) -> Result<Done, HashError> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job { work, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(HashError::Join),
        }
        answer.await.map_err(|_| HashError::Join)
    }

    /// How many password checks have completed (dummy checks included).
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    /// How many new hashes have been made.
    pub fn hashes(&self) -> u64 {
        self.hashed.load(Ordering::Relaxed)
    }

    /// A PHC string (`$argon2id$v=19$m=…`), with a fresh random salt.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        match self.run(Work::Hash(password.clone())).await? {
            Done::Hashed(result) => {
                self.hashed.fetch_add(1, Ordering::Relaxed);
                result
            }
            Done::Verified(_) => Err(HashError::Join),
        }
    }

    /// Whether `stored` is argon2id at the configured cost (else a sign-in replaces it).
    pub fn is_current(&self, stored: &str) -> bool {
        let p = &self.params;
        let prefix = format!("$argon2id$v=19$m={},t={},p={}$", p.m_cost(), p.t_cost(), p.p_cost());
        stored.starts_with(&prefix)
    }

    /// Checks `password` against `stored`; with no stored hash, checks a dummy hash and
    /// answers false after the same amount of work.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<bool, HashError> {
        let queued = std::time::Instant::now();
        let exists = stored.is_some();
        let phc: Arc<str> = stored.map(Arc::from).unwrap_or_else(|| self.dummy_hash.clone());
        let foreign = !phc.starts_with("$argon2");
        let matched = match self.run(Work::Verify(password.clone(), phc)).await? {
            Done::Verified(matched) => matched,
            Done::Hashed(_) => return Err(HashError::Join),
        };
        if foreign {
            // An imported hash may be cheaper than argon2 (bcrypt cost 4): a dummy check on
            // top keeps such an account from answering faster than an unknown name.
            self.run(Work::Verify(password.clone(), self.dummy_hash.clone())).await?;
        }
        self.verified.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!(crate::telemetry::metrics::names::ARGON2_WAIT).record(queued.elapsed().as_secs_f64());
        Ok(exists && matched)
    }
}

/// One hashing thread: takes jobs until every sender is gone, reusing its memory blocks.
fn work(jobs: &Mutex<Receiver<Job>>, params: &Params) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => match receiver.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let done = match job.work {
            Work::Hash(password) => Done::Hashed(hash_blocking(params, password.expose())),
            Work::Verify(password, phc) => Done::Verified(verify_any(&mut memory, password.expose().as_bytes(), &phc)),
        };
        let _ = job.reply.send(done);
    }
}

/// argon2 on this thread's memory; any other format through its imported-hash check.
fn verify_any(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    if stored.starts_with("$argon2") {
        return verify_with(memory, password, stored);
    }
    ForeignHash::parse(stored).is_ok_and(|foreign| foreign.verify(password))
}

/// argon2's own verify, but into memory this thread keeps (no 19 MiB allocation per check).
fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    argon.hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks]).is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
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

    #[tokio::test]
    async fn hashes_at_another_cost_verify_with_their_own_parameters() {
        let hasher = PasswordHasher::new(19_456, 2, 1, 1).unwrap();
        let pw = Password::attempt("correct horse", &POLICY).unwrap();
        let older = hash_blocking(&Params::new(8_192, 3, 1, None).unwrap(), "correct horse").unwrap();
        assert!(hasher.verify(&pw, Some(&older)).await.unwrap(), "a cheaper, older hash");
        let current = hasher.hash(&pw).await.unwrap();
        assert!(hasher.verify(&pw, Some(&current)).await.unwrap(), "and the current cost, same thread");
        assert!(!hasher.verify(&pw, Some("$argon2id$not-a-hash")).await.unwrap(), "garbage is a mismatch");
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let hasher = PasswordHasher::new(19_456, 2, 1, 1).unwrap();
        let pw = Password::attempt("correct horse", &POLICY).unwrap();
        let checks = (0..QUEUE_PER_THREAD + 8).map(|_| hasher.verify(&pw, None));
        // join_all polls every check once before any finishes, so the queue fills.
        let results = futures::future::join_all(checks).await;
        assert!(results.iter().any(|r| matches!(r, Err(HashError::Busy))), "some were turned away");
        assert!(results.iter().any(|r| matches!(r, Ok(false))), "the queued ones were checked");
    }
}
