//! Read-mostly records (clients, brands) kept in memory, so the hot endpoints (token, discovery,
//! every page) do not read the database for data that almost never changes.
//!
//! Invariant: an entry lives at most `ttl` seconds of the OP's clock, so a change made by another
//! process (the CLI, another node) is seen within that time; a change made through this process
//! calls [`TtlCache::forget`] and is seen at once. Misses are not cached, so unknown ids (which
//! anyone can send) cannot fill memory.

use std::collections::HashMap;
use std::sync::RwLock;

pub struct TtlCache<V> {
    ttl: i64,
    entries: RwLock<HashMap<String, (V, i64)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: i64) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
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
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
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
}
