//! Giving memory back after a burst: a `HashMap` or `VecDeque` keeps the room it grew
//! to after its entries are removed, so an in-memory part that once held 100k calls
//! would hold their room forever. The in-memory parts call these after removing, so
//! what they hold follows what is live (`bench/ceilings/src/bin/store-mem.rs`).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Below this room nothing is given back: small maps are not worth the rehash.
const KEEP: usize = 64;

/// Shrinks `map` to twice its length once it uses under a quarter of its room, so a
/// steady state never shrinks and regrows on every call.
pub(crate) fn hash_map<K: Eq + Hash, V, S: std::hash::BuildHasher>(map: &mut HashMap<K, V, S>) {
    if map.capacity() > KEEP && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// [`hash_map`] for a queue.
pub(crate) fn deque<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > KEEP && queue.len() < queue.capacity() / 4 {
        queue.shrink_to(queue.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_emptied_after_a_burst_gives_its_room_back() {
        let mut map: HashMap<u32, [u8; 64]> = (0..10_000).map(|i| (i, [0; 64])).collect();
        let grown = map.capacity();
        map.retain(|k, _| *k < 100);
        hash_map(&mut map);
        assert!(map.capacity() < grown / 10, "{} of {grown}", map.capacity());
        assert_eq!(map.len(), 100);
        // A map that is still full keeps its room.
        let mut full: HashMap<u32, u8> = (0..1000).map(|i| (i, 0)).collect();
        let room = full.capacity();
        hash_map(&mut full);
        assert_eq!(full.capacity(), room);
    }

    #[test]
    fn a_queue_emptied_after_a_burst_gives_its_room_back() {
        let mut q: VecDeque<u64> = (0..10_000).collect();
        q.drain(..9_900);
        deque(&mut q);
        assert!(q.capacity() < 1_000, "{}", q.capacity());
        assert_eq!(q.len(), 100);
    }
}
