//! Fuzzes ontoref's SOPS reader (`ontoref_tools::vault::sops`): `SopsFile::parse` on arbitrary
//! UTF-8 text and, when it parses, `SopsFile::decrypt` with fixed identities.
//!
//! Identities: the published test key of the rops fixtures (`../shared/fixtures/sops`, the seeds
//! are those files and files `sops::encrypt` wrote for that key), so mutated seeds get past the
//! age header into the AES-GCM values, the key paths and the MAC; plus one X25519 key generated
//! at start-up, which the round trip below encrypts to.
//!
//! Checks, beyond "never panics":
//! - no error message, and no `Debug` of a parsed file or a plaintext, contains either secret key;
//! - a parsed file names at least one recipient;
//! - a decrypted file round-trips: `encrypt` (default rule) of its plaintext to the start-up key
//!   parses, decrypts with the same identities, and gives back an equal tree. The only
//!   refusal allowed is an unsupported value (an unencrypted integer beyond 64 signed bits,
//!   which decryption passes through but `encrypt` will not write).

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ontoref_tools::vault::key::{self, Identities, KeySource};
use ontoref_tools::vault::sops::{self, EncryptOptions, Rule, SopsFile};

/// The published test identity of the SOPS fixtures (see `../shared/fixtures/sops/SOURCES.md`);
/// never a real key.
const FIXTURE_KEY: &str =
    "AGE-SECRET-KEY-1EQUCGFZH8UZKSZ0Z5N5T234YRNDT4U9H7QNYXWRRNJYDDVXE6FWSCPGNJ7";

struct Keys {
    identities: Identities,
    /// The start-up key's public key, for the round trip.
    fresh: age::x25519::Recipient,
    /// Both secret keys, upper-case, to hunt for in messages.
    secrets: Vec<String>,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let (public, text) = key::generate("fuzz start-up");
    let fresh_secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("generate writes a secret key line")
        .to_owned();
    let identities = Identities::parse(
        &format!("{FIXTURE_KEY}\n{}", &*text),
        Path::new("fuzz-identities"),
        KeySource::None,
    )
    .expect("the fixture key and a generated key parse");
    Keys {
        identities,
        fresh: public.parse().expect("a generated public key parses"),
        secrets: vec![FIXTURE_KEY.to_owned(), fresh_secret],
    }
});

/// Fails when `text` contains a secret key that `input` did not: a file may quote a key (the
/// fixtures' SOURCES.md prints the published one, so the fuzzer's dictionary learns it), and
/// echoing the input's own bytes back is not a leak.
fn assert_no_secret(input: &str, what: &str, text: &str) {
    let upper = text.to_ascii_uppercase();
    let input = input.to_ascii_uppercase();
    for secret in &KEYS.secrets {
        // The bech32 body is what matters; the prefix alone may be quoted by a message.
        if input.contains(&secret[15..]) {
            continue;
        }
        assert!(
            !upper.contains(&secret[15..]),
            "{what} contains a secret key: {text}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = match SopsFile::parse(text) {
        Ok(file) => file,
        Err(e) => {
            assert_no_secret(text, "a parse error", &e.to_string());
            return;
        }
    };
    assert!(
        !file.recipients().is_empty(),
        "a parsed file has recipients"
    );
    assert_no_secret(text, "a parsed file's Debug", &format!("{file:?}"));

    let plain = match file.decrypt(KEYS.identities.as_slice()) {
        Ok(plain) => plain,
        Err(e) => {
            assert_no_secret(text, "a decryption error", &e.to_string());
            return;
        }
    };
    assert_eq!(format!("{plain:?}"), "Plaintext { .. }");
    plain.to_yaml().expect("a decrypted tree renders as yaml");

    let opts = EncryptOptions {
        rule: Rule::default(),
        mac_only_encrypted: false,
        lastmodified: "2026-01-01T00:00:00Z".to_owned(),
    };
    let again = match sops::encrypt(plain.tree(), std::slice::from_ref(&KEYS.fresh), &opts) {
        Ok(again) => again,
        Err(e) if e.is_unsupported() => return,
        Err(e) => panic!("a decrypted tree does not re-encrypt: {e}"),
    };
    let reread = SopsFile::parse(&again).expect("our own encryption parses");
    let replain = reread
        .decrypt(KEYS.identities.as_slice())
        .expect("our own encryption decrypts");
    assert!(
        replain.tree() == plain.tree(),
        "the round trip changed the plaintext"
    );
});
