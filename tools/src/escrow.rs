//! The secret escrow: revealed values kept out of every value that rmcp or
//! ontoref could log.
//!
//! rmcp logs whole results at `debug` and whole events at `trace`. A tool
//! that reveals a secret to its caller (`ontoref_credential_fetch` with
//! `reveal: true`) therefore never puts the secret in its result: it puts a
//! random placeholder `ontoref-secret:<32 hex>` there and leaves the value
//! here. Each transport writer releases the placeholders of a message just
//! before its bytes go out ([`SecretEscrow::release_in`]), so the secret
//! exists only in this map and in the bytes written to the client.
//!
//! A placeholder is released once (the entry is removed); one nobody
//! releases within its lifetime is dropped by [`SecretEscrow::purge_expired`]
//! (called on every hold and release, and periodically by servers). Values
//! are [`Zeroizing`], so a dropped entry is wiped. This module depends on
//! nothing else in the crate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use zeroize::Zeroizing;

/// Every placeholder starts with this; writers scan for it before parsing.
pub const PLACEHOLDER_PREFIX: &str = "ontoref-secret:";

/// How long a held value waits to be released.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// Revealed values under random placeholders, until released or expired.
pub struct SecretEscrow {
    entries: Mutex<HashMap<String, Held>>,
    lifetime: Duration,
}

struct Held {
    value: Zeroizing<String>,
    expires: Instant,
}

impl std::fmt::Debug for SecretEscrow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretEscrow")
            .field("held", &self.len())
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl Default for SecretEscrow {
    fn default() -> Self {
        SecretEscrow::new(DEFAULT_LIFETIME)
    }
}

impl SecretEscrow {
    /// An empty escrow whose entries live `lifetime` unless released.
    pub fn new(lifetime: Duration) -> SecretEscrow {
        SecretEscrow {
            entries: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        // Single inserts and removes cannot leave the map inconsistent, so a
        // poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `value` and returns the placeholder that stands for it.
    pub fn hold(&self, value: &str) -> String {
        let mut random = [0u8; 16];
        OsRng.fill_bytes(&mut random);
        // Lower-case hex, written here so the module stays a leaf.
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let placeholder = format!("{PLACEHOLDER_PREFIX}{hex}");
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, held| held.expires > now);
        entries.insert(
            placeholder.clone(),
            Held {
                value: Zeroizing::new(value.to_owned()),
                expires: now + self.lifetime,
            },
        );
        placeholder
    }

    /// The value behind `placeholder`, removed from the escrow; `None` when
    /// it is unknown, already released or expired.
    pub fn release(&self, placeholder: &str) -> Option<Zeroizing<String>> {
        let now = Instant::now();
        let mut entries = self.lock();
        let held = entries.remove(placeholder)?;
        (held.expires > now).then_some(held.value)
    }

    /// Drops (and wipes) every expired entry; returns how many.
    pub fn purge_expired(&self) -> usize {
        let now = Instant::now();
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, held| held.expires > now);
        before - entries.len()
    }

    /// Entries held now (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces, anywhere in `value`, every string that is exactly a held
    /// placeholder by its value (releasing it). A placeholder seen twice in
    /// the same value is released once and substituted in both places.
    /// Strings that merely contain a placeholder are left alone: the caller
    /// decides how to rebuild them (see the transports). Returns how many
    /// strings were substituted.
    pub fn release_in(&self, value: &mut serde_json::Value) -> usize {
        let mut released: HashMap<String, Zeroizing<String>> = HashMap::new();
        self.walk(value, &mut released)
    }

    fn walk(
        &self,
        value: &mut serde_json::Value,
        released: &mut HashMap<String, Zeroizing<String>>,
    ) -> usize {
        match value {
            serde_json::Value::String(s) if s.starts_with(PLACEHOLDER_PREFIX) => {
                if !released.contains_key(s.as_str()) {
                    match self.release(s) {
                        Some(secret) => {
                            released.insert(s.clone(), secret);
                        }
                        None => return 0,
                    }
                }
                match released.get(s.as_str()) {
                    Some(secret) => {
                        // The placeholder string is replaced in place; the
                        // old buffer held no secret.
                        *s = secret.as_str().to_owned();
                        1
                    }
                    None => 0,
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().map(|v| self.walk(v, released)).sum()
            }
            serde_json::Value::Object(map) => {
                map.values_mut().map(|v| self.walk(v, released)).sum()
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_random_and_released_once() {
        let escrow = SecretEscrow::default();
        let a = escrow.hold("pw\"with\\quotes");
        let b = escrow.hold("pw\"with\\quotes");
        assert_ne!(a, b);
        assert!(a.starts_with(PLACEHOLDER_PREFIX));
        assert_eq!(a.len(), PLACEHOLDER_PREFIX.len() + 32);
        assert!(!a.contains("pw"));
        assert_eq!(escrow.len(), 2);
        assert_eq!(
            escrow.release(&a).as_deref().map(String::as_str),
            Some("pw\"with\\quotes")
        );
        assert!(escrow.release(&a).is_none(), "consumed");
        assert_eq!(escrow.len(), 1);
    }

    #[test]
    fn expired_entries_are_dropped() {
        let escrow = SecretEscrow::new(Duration::from_millis(20));
        let p = escrow.hold("s3cret");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(escrow.purge_expired(), 1);
        assert!(escrow.is_empty());
        assert!(escrow.release(&p).is_none());
        let q = escrow.hold("again");
        std::thread::sleep(Duration::from_millis(40));
        assert!(escrow.release(&q).is_none(), "expired, even unpurged");
    }

    #[test]
    fn release_in_substitutes_whole_strings_only() {
        let escrow = SecretEscrow::default();
        let user = escrow.hold("robot");
        let pass = escrow.hold("p\"w\\d");
        let mut value = json!({
            "username": user,
            "nested": [{"password": pass}, {"again": pass}],
            "text": format!("{{\"password\":\"{pass}\"}}"),
            "unknown": format!("{PLACEHOLDER_PREFIX}00000000000000000000000000000000"),
        });
        assert_eq!(escrow.release_in(&mut value), 3);
        assert_eq!(value["username"], "robot");
        assert_eq!(value["nested"][0]["password"], "p\"w\\d");
        assert_eq!(value["nested"][1]["again"], "p\"w\\d");
        assert!(
            value["text"].as_str().unwrap().contains(&pass),
            "left alone"
        );
        assert!(escrow.is_empty());
    }
}
