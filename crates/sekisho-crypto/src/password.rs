//! argon2id password hashing on a bounded pool.
//!
//! Each hash costs ~19 MiB and ~12 ms of one core. Running it on the async workers would stall every
//! other request during a login storm, and running it unbounded on blocking threads would let memory
//! grow with the storm. So hashes run on blocking threads, at most `permits` at once (one per core
//! by default); the rest queue.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// OWASP's argon2id minimum: m=19456 KiB, t=2, p=1.
pub const DEFAULT_PARAMS: (u32, u32, u32) = (19_456, 2, 1);

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing pool is gone")]
    PoolClosed,
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Semaphore,
    size: usize,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    total: AtomicUsize,
    /// A hash of a random password, verified against when the user does not exist, so that an
    /// unknown email costs the same time as a wrong password.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("pool_size", &self.inner.size)
            .finish()
    }
}

impl PasswordHasher {
    /// `m_kib`, `t`, `p` are argon2id's memory (KiB), iterations and lanes; `pool_size` 0 means one per core.
    pub fn new(m_kib: u32, t: u32, p: u32, pool_size: usize) -> Result<Self, PasswordError> {
        let params =
            Params::new(m_kib, t, p, None).map_err(|e| PasswordError::Argon2(e.to_string()))?;
        let size = if pool_size == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            pool_size
        };
        let dummy_hash = hash_with(&params, &crate::tokens::random_token())?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(size),
                size,
                in_flight: AtomicUsize::new(0),
                peak_in_flight: AtomicUsize::new(0),
                total: AtomicUsize::new(0),
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
        self.inner.peak_in_flight.load(Ordering::SeqCst)
    }

    /// How many hashes (and verifications) the pool has run since it was made.
    pub fn total(&self) -> usize {
        self.inner.total.load(Ordering::SeqCst)
    }

    /// A PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = password.to_owned();
        self.run(move |inner| hash_with(&inner.params, &password))
            .await
    }

    /// Checks `password` against a stored PHC string; with `None` (no such user, or no password)
    /// it spends the same time on a dummy hash and answers false.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PasswordError> {
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        self.run(move |inner| {
            let (target, real) = match &phc {
                Some(h) => (h.as_str(), true),
                None => (inner.dummy_hash.as_str(), false),
            };
            let parsed =
                PasswordHash::new(target).map_err(|e| PasswordError::Argon2(e.to_string()))?;
            let ok = argon2(&inner.params)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && real)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::PoolClosed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            inner.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            inner.total.fetch_add(1, Ordering::SeqCst);
            let out = work(&inner);
            inner.in_flight.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await
        .map_err(|_| PasswordError::PoolClosed)?
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Argon2(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
