//! Time as a parameter: production code asks a [`Clock`], tests hold a [`FakeClock`] and move it.

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch. Every timestamp in Sekisho (storage included) is one of these.
pub type Timestamp = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one reading of the wall clock in Sekisho: clippy.toml bans it everywhere else, so all
    // other code takes time from a `Clock` and tests can move it.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// Where every test clock starts: 2030-01-01T00:00:00Z, a fixed instant that is clearly not
/// today. Fixed, so a run does not depend on the day it runs; in the future, so a peer that
/// still reads the wall clock stamps tokens years before this "now" and they fail as expired
/// instead of passing by accident; before 2038, so it fits any 32-bit `time_t` a peer may have.
pub const TEST_EPOCH: Timestamp = 1_893_456_000;

/// A clock that only moves when told to; shared between a test and the server it drives.
/// Tests start it at [`TEST_EPOCH`].
#[derive(Debug)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

/// Measures how long something took, for metrics only (request latency): never decides
/// anything, so it is the one other reader of a clock, the monotonic one, besides [`SystemClock`].
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)]
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    /// Seconds since [`Stopwatch::start`].
    #[allow(clippy::disallowed_methods)]
    pub fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
