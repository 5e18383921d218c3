//! A small, bounded memo of values built from strings (compiled globs and
//! regexes), shared by the threads of a process: hot paths such as the
//! vault's gate and SOPS decryption compile the same few patterns on every
//! call otherwise.

use std::collections::HashMap;
use std::sync::Mutex;

/// Values built from string keys, at most `max` of them (all are dropped
/// when it fills, which keeps it simple and bounded).
pub struct Memo<V> {
    map: Mutex<HashMap<String, V>>,
    max: usize,
}

impl<V: Clone> Memo<V> {
    /// An empty memo that holds at most `max` values.
    pub fn new(max: usize) -> Memo<V> {
        Memo {
            map: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// The value for `key`, built by `build` the first time (a failure is
    /// not remembered).
    pub fn get_or_try<E>(&self, key: &str, build: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.lock().get(key) {
            return Ok(v.clone());
        }
        let v = build()?;
        let mut map = self.lock();
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(key.to_owned(), v.clone());
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, V>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_once_and_stays_bounded() {
        let memo: Memo<usize> = Memo::new(2);
        let mut built = 0;
        for _ in 0..3 {
            let v: Result<usize, ()> = memo.get_or_try("a", || {
                built += 1;
                Ok(1)
            });
            assert_eq!(v, Ok(1));
        }
        assert_eq!(built, 1);
        assert_eq!(memo.get_or_try("b", || Err::<usize, _>("no")), Err("no"));
        assert_eq!(memo.get_or_try("b", || Ok::<_, ()>(2)), Ok(2));
        assert_eq!(memo.lock().len(), 2);
        assert_eq!(memo.get_or_try("c", || Ok::<_, ()>(3)), Ok(3));
        assert_eq!(memo.lock().len(), 1, "a full memo starts again");
    }
}
