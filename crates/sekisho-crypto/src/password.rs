//! argon2id password hashing on a fixed pool of threads.
//!
//! Each hash needs ~19 MiB and ~12 ms of one core. On the async workers it would stall every other
//! request during a login storm; on tokio's blocking pool each hash would malloc and free its
//! 19 MiB on whichever thread ran it, and the allocator keeps freed memory per thread, so resident
//! memory would grow with the number of threads that ever hashed. Instead `pool_size` threads
//! (one per core by default) take jobs from a queue, and each reuses one memory block, allocated
//! on its first job: memory stays at `pool_size` × m whatever the storm; extra requests wait.

use argon2::password_hash::{
    rand_core::OsRng, Ident, Output, ParamsString, PasswordHash, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// OWASP's argon2id minimum: m=19456 KiB, t=2, p=1.
pub const DEFAULT_PARAMS: (u32, u32, u32) = (19_456, 2, 1);

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing pool is gone")]
    PoolClosed,
}

/// A job for a hashing thread: runs with that thread's reusable memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    jobs: mpsc::Sender<Job>,
    size: usize,
    counters: Arc<Counters>,
    /// A hash of a random password, verified against when the user does not exist, so that an
    /// unknown email costs the same time as a wrong password.
    dummy_hash: String,
}

#[derive(Default)]
struct Counters {
    /// Jobs sent and not yet taken by a thread: the hashing queue.
    queued: AtomicUsize,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    total: AtomicUsize,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("pool_size", &self.inner.size)
            .finish()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn err(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Argon2(e.to_string())
}

/// The raw argon2id output of `password` with `salt`, using `memory` (grown to fit `params`).
fn compute(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    memory: &mut Vec<Block>,
) -> Result<Vec<u8>, PasswordError> {
    let blocks = params.block_count();
    if memory.len() != blocks {
        *memory = vec![Block::default(); blocks];
    }
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon2(params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        .map_err(err)?;
    Ok(out)
}

/// A new PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
fn hash_with(
    params: &Params,
    password: &str,
    memory: &mut Vec<Block>,
) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).map_err(err)?;
    let out = compute(params, password.as_bytes(), raw_salt, memory)?;
    let phc = PasswordHash {
        algorithm: Ident::new("argon2id").map_err(err)?,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(err)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(err)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string, computed with `memory`; compared in constant time.
fn verify_with(phc: &str, password: &str, memory: &mut Vec<Block>) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(err)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::Argon2(format!(
            "unsupported algorithm {}",
            parsed.algorithm
        )));
    }
    let params = Params::try_from(&parsed).map_err(err)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(PasswordError::Argon2("incomplete PHC string".into()));
    };
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).map_err(err)?;
    let out = compute(&params, password.as_bytes(), raw_salt, memory)?;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

impl PasswordHasher {
    /// `m_kib`, `t`, `p` are argon2id's memory (KiB), iterations and lanes; `pool_size` 0 means one per core.
    pub fn new(m_kib: u32, t: u32, p: u32, pool_size: usize) -> Result<Self, PasswordError> {
        let params = Params::new(m_kib, t, p, None).map_err(err)?;
        let size = if pool_size == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            pool_size
        };
        let dummy_hash = hash_with(&params, &crate::tokens::random_token(), &mut Vec::new())?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..size {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        // The lock is held only while taking a job, not while hashing.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return, // every PasswordHasher is gone
                        }
                    }
                })
                .map_err(err)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                jobs,
                size,
                counters: Arc::default(),
                dummy_hash,
            }),
        })
    }

    pub fn owasp_default() -> Result<Self, PasswordError> {
        let (m, t, p) = DEFAULT_PARAMS;
        Self::new(m, t, p, 0)
    }

    pub fn pool_size(&self) -> usize {
        self.inner.size
    }

    /// The most hashes ever seen running at once (a test checks it never exceeds the pool size).
    pub fn peak_in_flight(&self) -> usize {
        self.inner.counters.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Hashes waiting for a thread, and hashes running now (for the metrics).
    pub fn load(&self) -> (usize, usize) {
        let c = &self.inner.counters;
        (
            c.queued.load(Ordering::SeqCst),
            c.in_flight.load(Ordering::SeqCst),
        )
    }

    /// How many hashes (and verifications) the pool has run since it was made.
    pub fn total(&self) -> usize {
        self.inner.counters.total.load(Ordering::SeqCst)
    }

    /// A PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let (password, params) = (password.to_owned(), self.inner.params.clone());
        self.run(move |memory| hash_with(&params, &password, memory))
            .await
    }

    /// Checks `password` against a stored PHC string; with `None` (no such user, or no password)
    /// it spends the same time on a dummy hash and answers false.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PasswordError> {
        let password = password.to_owned();
        let (target, real) = match phc {
            Some(h) => (h.to_owned(), true),
            None => (self.inner.dummy_hash.clone(), false),
        };
        let ok = self
            .run(move |memory| verify_with(&target, &password, memory))
            .await?;
        Ok(ok && real)
    }

    /// Queues `work` for a hashing thread and waits for its answer without blocking the runtime.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let counters = self.inner.counters.clone();
        counters.queued.fetch_add(1, Ordering::SeqCst);
        let job: Job = Box::new(move |memory| {
            counters.queued.fetch_sub(1, Ordering::SeqCst);
            let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            counters.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            counters.total.fetch_add(1, Ordering::SeqCst);
            let out = work(memory);
            counters.in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(out);
        });
        self.inner
            .jobs
            .send(job)
            .map_err(|_| PasswordError::PoolClosed)?;
        rx.await.map_err(|_| PasswordError::PoolClosed)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn interoperates_with_the_argon2_crate() {
        use argon2::password_hash::PasswordVerifier;
        let h = PasswordHasher::new(1024, 1, 1, 1).unwrap();
        let phc = h.hash("Correct-horse1").await.unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Correct-horse1", &parsed)
                .is_ok(),
            "standard PHC output"
        );
        let theirs = argon2::password_hash::PasswordHasher::hash_password(
            &Argon2::default(),
            b"Other-pass2",
            &SaltString::generate(&mut OsRng),
        )
        .unwrap()
        .to_string();
        assert!(
            h.verify("Other-pass2", Some(&theirs)).await.unwrap(),
            "verifies hashes with other parameters"
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = PasswordHasher::new(1024, 1, 1, 2).unwrap();
        let phc = h.hash("Correct-horse1").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify("Correct-horse1", Some(&phc)).await.unwrap());
        assert!(!h.verify("wrong", Some(&phc)).await.unwrap());
        assert!(!h.verify("Correct-horse1", None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_more_hashes_in_flight_than_the_pool() {
        let h = PasswordHasher::new(1024, 1, 1, 2).unwrap();
        let jobs: Vec<_> = (0..16)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move { h.hash(&format!("pw{i}")).await.unwrap() })
            })
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
        assert!(h.peak_in_flight() >= 1);
        assert!(h.peak_in_flight() <= 2, "peak {}", h.peak_in_flight());
    }
}
