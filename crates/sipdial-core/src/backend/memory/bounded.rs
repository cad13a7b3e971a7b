//! The one bounded map behind the in-memory dedupe, pending DTMF and parked events:
//! the oldest inserted go first beyond a capacity, and entries older than a time to
//! live are gone. A `hashlink` map keeps the insertion order (a cache crate such as
//! `quick_cache` or `moka` evicts by an admission policy, not strictly the oldest, and
//! cannot take every entry matching in order, which the parked events need).

use std::borrow::Borrow;
use std::hash::Hash;
use std::hash::RandomState;
use std::time::{Duration, Instant};

use hashlink::LinkedHashMap;

/// A map keeping at most `CAPACITY` entries, each for at most `TTL_SECS` seconds. The
/// bounds are the type's, so a user's `Default` is an empty map. Not synchronised: its
/// user holds it under a lock.
#[derive(Debug)]
pub(crate) struct Bounded<K, V, const CAPACITY: usize, const TTL_SECS: u64> {
    /// Oldest inserted first: a replaced entry moves to the back. Std's keyed hasher,
    /// as the maps before: some keys come from unauthenticated callbacks.
    entries: LinkedHashMap<K, (Instant, V), RandomState>,
}

/// The `TTL_SECS` of an entry kept until the capacity pushes it out.
pub(crate) const NO_TTL: u64 = u64::MAX;

impl<K, V, const CAPACITY: usize, const TTL_SECS: u64> Default
    for Bounded<K, V, CAPACITY, TTL_SECS>
{
    fn default() -> Self {
        Self {
            entries: LinkedHashMap::with_hasher(RandomState::new()),
        }
    }
}

impl<K: Hash + Eq + Clone, V, const CAPACITY: usize, const TTL_SECS: u64>
    Bounded<K, V, CAPACITY, TTL_SECS>
{
    const TTL: Duration = Duration::from_secs(TTL_SECS);

    /// Inserts `value` under `key` as the newest entry (replacing an older one), then
    /// drops the oldest beyond the capacity and the expired.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        let now = Instant::now();
        self.entries.insert(key, (now, value));
        while self.entries.len() > CAPACITY
            || self
                .entries
                .front()
                .is_some_and(|(_, (at, _))| now.duration_since(*at) > Self::TTL)
        {
            self.entries.pop_front();
        }
    }

    /// Whether `key` has a live entry.
    pub(crate) fn contains<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).is_some_and(|(at, _)| self.live(*at))
    }

    /// The live value of `key`.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let (at, value) = self.entries.get(key)?;
        self.live(*at).then_some(value)
    }

    /// Removes the entry of `key`; its value if it was live.
    pub(crate) fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let (at, value) = self.entries.remove(key)?;
        self.live(at).then_some(value)
    }

    /// The keys of the live values `matches` picks, oldest first.
    pub(crate) fn keys_where(&self, mut matches: impl FnMut(&V) -> bool) -> Vec<K> {
        (self.entries.iter())
            .filter(|(_, (at, value))| self.live(*at) && matches(value))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Removes and returns, oldest first, the live values `matches` picks.
    pub(crate) fn take_where(&mut self, matches: impl FnMut(&V) -> bool) -> Vec<V> {
        let picked = self.keys_where(matches);
        picked.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// How many entries are held (expired ones included until they are dropped).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn live(&self, at: Instant) -> bool {
        at.elapsed() <= Self::TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn the_oldest_inserted_go_beyond_the_capacity() {
        let mut m = Bounded::<_, _, 3, DAY>::default();
        for k in 0..5 {
            m.insert(k, k * 10);
        }
        assert_eq!(m.len(), 3);
        assert!(!m.contains(&0) && !m.contains(&1));
        assert_eq!(m.remove(&4), Some(40));
        // A replaced entry counts as newest.
        m.insert(2, 21);
        m.insert(5, 50);
        m.insert(6, 60);
        assert!(m.contains(&2) && !m.contains(&3));
    }

    #[test]
    fn expired_entries_are_gone() {
        let mut m = Bounded::<_, _, 8, 0>::default();
        m.insert(1, "a");
        std::thread::sleep(Duration::from_millis(2));
        assert!(!m.contains(&1));
        assert_eq!(m.take_where(|_| true), Vec::<&str>::new());
        m.insert(2, "b");
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(m.remove(&2), None);
        m.insert(3, "c");
        assert!(m.len() <= 1, "expired entries are dropped on insert");
    }

    #[test]
    fn take_where_is_oldest_first_and_leaves_the_rest() {
        let mut m = Bounded::<_, _, 8, DAY>::default();
        for k in 0..6 {
            m.insert(k, k);
        }
        assert_eq!(m.take_where(|v| v % 2 == 0), [0, 2, 4]);
        assert_eq!(m.len(), 3);
        assert_eq!(m.take_where(|_| true), [1, 3, 5]);
    }

    #[test]
    fn removed_entries_make_room() {
        let mut m = Bounded::<_, _, 4, DAY>::default();
        m.insert(0, ());
        for k in 1..100 {
            m.insert(k, ());
            m.remove(&k);
        }
        assert!(
            m.contains(&0),
            "a live entry is not pushed out by removed ones"
        );
        assert_eq!(m.len(), 1);
    }
}
