//! Async locks by key: holders of one key run one at a time, other keys
//! are not held up. A key's lock exists only while someone holds or
//! awaits it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

type Entry = Arc<tokio::sync::Mutex<()>>;

pub struct KeyedLock<K> {
    locks: Mutex<HashMap<K, Entry>>,
}

impl<K> Default for KeyedLock<K> {
    fn default() -> Self {
        KeyedLock {
            locks: Mutex::new(HashMap::new()),
        }
    }
}

/// Holds one key until dropped.
pub struct Held<'a, K: Hash + Eq> {
    owner: &'a KeyedLock<K>,
    key: K,
    guard: Option<OwnedMutexGuard<()>>,
}

impl<K: Hash + Eq + Clone> KeyedLock<K> {
    /// Waits until `key` is free and holds it.
    pub async fn lock(&self, key: K) -> Held<'_, K> {
        let entry = self.map().entry(key.clone()).or_default().clone();
        let guard = entry.lock_owned().await;
        Held {
            owner: self,
            key,
            guard: Some(guard),
        }
    }

    /// Keys held or awaited now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.locks.lock().expect("keyed lock poisoned")
    }
}

impl<K: Hash + Eq> Drop for Held<'_, K> {
    fn drop(&mut self) {
        // Under the map's lock nobody can start waiting for the key, so
        // when only the map holds its entry, nobody awaits it.
        let mut map = self.owner.locks.lock().expect("keyed lock poisoned");
        drop(self.guard.take());
        if map
            .get(&self.key)
            .is_some_and(|e| Arc::strong_count(e) == 1)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_key_and_nothing_left_behind() {
        let locks = Arc::new(KeyedLock::<&str>::default());
        let a = locks.lock("a").await;
        let b = locks.lock("b").await; // another key is not held up
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _a = locks.lock("a").await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(a);
        waiting.await.unwrap();
        drop(b);
        assert_eq!(locks.len(), 0);
    }
}
