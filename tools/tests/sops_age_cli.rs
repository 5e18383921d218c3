//! SOPS/age interoperability with the reference age implementation: keys and wrapped data
//! keys made by Debian's `age` and `age-keygen` (Go age 1.1), not by our code.
//!
//! These tests fail (they do not skip) when the binaries are missing: install Debian's `age`
//! package (`apt-get install age`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ontoref_tools::vault::sops::{self, EncryptOptions, Rule, SopsFile};
use serde_yaml::Value;

type Ids = Vec<Box<dyn age::Identity + Send + Sync>>;

/// Runs an age binary, failing the test with an install hint if it is missing.
fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program}` ({e}): these tests need the reference age CLI; \
                 install Debian's `age` package (apt-get install age)"
            )
        });
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            input.write_all(bytes).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A key made by `age-keygen -o` (with its `# created:` and `# public key:` comment lines)
/// and its public key as `age-keygen -y` prints it.
struct CliKey {
    path: PathBuf,
    recipient: String,
}

impl CliKey {
    fn new(dir: &Path, name: &str) -> CliKey {
        let path = dir.join(name);
        let path_str = path.to_str().expect("utf-8 path");
        run("age-keygen", &["-o", path_str], None);
        let text = std::fs::read_to_string(&path).expect("key file");
        assert!(
            text.contains("# public key: "),
            "{name} lacks its comment lines"
        );
        let out = run("age-keygen", &["-y", path_str], None);
        let recipient = String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned();
        assert!(recipient.starts_with("age1"), "{recipient}");
        CliKey { path, recipient }
    }

    fn identities(&self) -> Ids {
        let path = self.path.to_str().expect("utf-8 path").to_owned();
        age::IdentityFile::from_file(path)
            .expect("read identity file")
            .into_identities()
            .expect("identities")
    }

    fn x25519_recipient(&self) -> age::x25519::Recipient {
        self.recipient.parse().expect("recipient")
    }
}

fn plain() -> Value {
    serde_yaml::from_str(
        "db:\n  user: app\n  password: correct-horse-battery-staple\n  port: 5432\n  tls: true\n\
         tokens: [t1, t2]\nratio: 0.5\nempty: ''\nnote_unencrypted: public\n",
    )
    .expect("yaml")
}

fn opts() -> EncryptOptions {
    EncryptOptions {
        rule: Rule::default(),
        mac_only_encrypted: false,
        lastmodified: "2026-11-21T10:00:00Z".to_owned(),
    }
}

/// The `enc` armored age files of an encrypted file, in `sops.age` order.
fn enc_blocks(text: &str) -> Vec<String> {
    let doc: Value = serde_yaml::from_str(text).expect("yaml");
    doc["sops"]["age"]
        .as_sequence()
        .expect("sops.age")
        .iter()
        .map(|e| e["enc"].as_str().expect("enc").to_owned())
        .collect()
}

/// `age -d -i key` on an armored file.
fn cli_decrypt(dir: &Path, key: &CliKey, armored: &str) -> Vec<u8> {
    let file = dir.join("stanza.age");
    std::fs::write(&file, armored).expect("write stanza");
    let out = run(
        "age",
        &[
            "-d",
            "-i",
            key.path.to_str().expect("utf-8"),
            file.to_str().expect("utf-8"),
        ],
        None,
    );
    out.stdout
}

#[test]
fn our_encryption_to_an_age_keygen_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = CliKey::new(dir.path(), "key.txt");
    let text = sops::encrypt(&plain(), &[key.x25519_recipient()], &opts()).expect("encrypt");
    let file = SopsFile::parse(&text).expect("parse");
    assert_eq!(file.recipients(), vec![key.recipient.clone()]);
    let out = file.decrypt(&key.identities()).expect("decrypt");
    assert_eq!(out.tree(), &plain());

    // The reference implementation opens our data-key stanza: it is standard age.
    let blocks = enc_blocks(&text);
    assert_eq!(blocks.len(), 1);
    let data_key = cli_decrypt(dir.path(), &key, &blocks[0]);
    assert_eq!(data_key.len(), 32);
}

#[test]
fn data_key_wrapped_by_the_age_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = CliKey::new(dir.path(), "key.txt");
    let mut data_key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut data_key))
        .expect("random");
    let armored = run(
        "age",
        &["-e", "-a", "-r", &key.recipient],
        Some(&data_key[..]),
    )
    .stdout;
    let armored = String::from_utf8(armored).expect("armor is text");
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));

    let text = sops::encrypt_with_data_key(
        &plain(),
        &data_key,
        &[(key.recipient.clone(), armored)],
        &opts(),
    )
    .expect("encrypt");
    let out = SopsFile::parse(&text)
        .expect("parse")
        .decrypt(&key.identities())
        .expect("decrypt");
    assert_eq!(out.tree(), &plain());
    assert_eq!(
        out.get_str("note_unencrypted")
            .as_deref()
            .map(String::as_str),
        Some("public")
    );

    // Another age-keygen key is not a recipient.
    let other = CliKey::new(dir.path(), "other.txt");
    let err = SopsFile::parse(&text)
        .expect("parse")
        .decrypt(&other.identities())
        .expect_err("not a recipient");
    assert!(err.is_not_recipient(), "{err}");
}

#[test]
fn two_recipients_one_from_age_keygen_one_from_our_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = CliKey::new(dir.path(), "key.txt");
    let ours = age::x25519::Identity::generate();
    let text = sops::encrypt(
        &plain(),
        &[cli.x25519_recipient(), ours.to_public()],
        &opts(),
    )
    .expect("encrypt");
    let file = SopsFile::parse(&text).expect("parse");
    assert_eq!(
        file.recipients(),
        vec![cli.recipient.clone(), ours.to_public().to_string()]
    );

    let by_cli = file.decrypt(&cli.identities()).expect("age-keygen key");
    assert_eq!(by_cli.tree(), &plain());
    let our_ids: Ids = vec![Box::new(ours)];
    let by_ours = file.decrypt(&our_ids).expect("our key");
    assert_eq!(by_ours.tree(), &plain());

    // Both stanzas hold the same data key; the CLI opens the one meant for its key.
    let blocks = enc_blocks(&text);
    assert_eq!(blocks.len(), 2);
    assert_eq!(cli_decrypt(dir.path(), &cli, &blocks[0]).len(), 32);
}
