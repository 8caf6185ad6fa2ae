//! Read-mostly records (clients, brands) kept in memory, so the hot endpoints (token, discovery,
//! every page) do not read the database for data that almost never changes.
//!
//! Invariant: an entry lives at most `ttl` seconds of the OP's clock, so a change made by another
//! process (the CLI, another node) is seen within that time; a change made through this process
//! calls [`TtlCache::forget`] and is seen at once; on PostgreSQL, another node's change arrives
//! through the store's change feed (`Op::apply`) and is seen at once too. Misses are not cached,
//! so unknown ids (which anyone can send) cannot fill memory.
//!
//! Invariant: a value read from the database before a forget is never stored after it (the
//! read would be older than the change that was announced): [`TtlCache::put_read`] stores only
//! if nothing was forgotten since the read's [`TtlCache::ticket`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

pub struct TtlCache<V> {
    ttl: i64,
    entries: RwLock<HashMap<String, (V, i64)>>,
    /// Counts forgets and clears, so a read that raced one is not cached.
    forgotten: AtomicU64,
}

/// Taken before a database read; [`TtlCache::put_read`] caches the result only if no forget
/// happened since.
#[derive(Clone, Copy, Debug)]
pub struct ReadTicket(u64);

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: i64) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            forgotten: AtomicU64::new(0),
        }
    }

    /// Take before reading what will be [`TtlCache::put_read`].
    pub fn ticket(&self) -> ReadTicket {
        ReadTicket(self.forgotten.load(Ordering::Acquire))
    }

    /// Caches `value` read under `ticket`, unless something was forgotten since (the value may
    /// predate that change; the next request reads again).
    pub fn put_read(&self, key: &str, value: V, now: i64, ticket: ReadTicket) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the write lock, which forget and clear take before counting.
        if self.forgotten.load(Ordering::Acquire) == ticket.0 {
            entries.insert(key.to_owned(), (value, now));
        }
    }

    /// The cached value of `key` if it was stored less than `ttl` seconds before `now`.
    pub fn get(&self, key: &str, now: i64) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| now >= *at && now - at < self.ttl)
            .map(|(v, _)| v.clone())
    }

    pub fn put(&self, key: &str, value: V, now: i64) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), (value, now));
    }

    pub fn forget(&self, key: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
        self.forgotten.fetch_add(1, Ordering::AcqRel);
    }

    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.clear();
        self.forgotten.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let c = TtlCache::new(30);
        c.put("a", 1, 100);
        assert_eq!(c.get("a", 129), Some(1));
        assert_eq!(c.get("a", 130), None, "expired");
        c.put("a", 2, 200);
        c.forget("a");
        assert_eq!(c.get("a", 200), None);
    }

    // Issue 17: a read that started before a forget (another node's change) is not cached.
    #[test]
    fn a_read_older_than_a_forget_is_not_cached() {
        let c = TtlCache::new(30);
        let before = c.ticket();
        c.forget("a");
        c.put_read("a", "old", 100, before);
        assert_eq!(c.get("a", 100), None, "the read predates the change");
        let after = c.ticket();
        c.put_read("a", "new", 100, after);
        assert_eq!(c.get("a", 100), Some("new"));
        let before = c.ticket();
        c.clear();
        c.put_read("b", "old", 100, before);
        assert_eq!(c.get("b", 100), None);
    }
}
