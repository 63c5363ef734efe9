//! Sealing secrets at rest with AES-256-GCM-SIV.
//!
//! The key never sits in the data file. It comes from one of two sources,
//! recorded in the file as the seal mode:
//! - `machine`: SHA-256 over this machine's stable id, a random per-install
//!   secret kept in `levity.key` beside the data file (0600), and a random salt
//!   kept in the file. Files from before the key file (`key_file: false`)
//!   derive without it until `Store::open` re-seals them.
//! - `passphrase`: Argon2id over `LEVITY_PASSPHRASE` and the salt, so the same
//!   file opens on any machine that knows the passphrase (portable use).
//!
//! A check value sealed with the key tells a wrong key from corrupt data, so a
//! file sealed elsewhere is refused with a clear message and left untouched.

use super::StoreError;
use aes_gcm_siv::aead::rand_core::RngCore;
use aes_gcm_siv::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const CHECK_PLAINTEXT: &[u8] = b"levity key check v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SealMode {
    Machine,
    Passphrase,
}

/// What the data file records about its key: never the key itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealInfo {
    pub mode: SealMode,
    pub salt: Vec<u8>,
    pub check: Vec<u8>,
    /// The machine key includes the install secret of `levity.key`.
    #[serde(default)]
    pub key_file: bool,
}

/// Where a new key comes from.
pub enum KeySource<'a> {
    Passphrase(&'a str),
    /// The machine id and the install secret from the key file.
    Machine(&'a [u8; 32]),
}

pub struct Sealer {
    cipher: Aes256GcmSiv,
    pub mode: SealMode,
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

impl Sealer {
    /// `install` is the key file's secret; machine keys of files sealed
    /// before the key file existed (`info.key_file` false) are made without it.
    fn derive(
        info: &SealInfo,
        passphrase: Option<&str>,
        install: Option<&[u8; 32]>,
    ) -> Result<Self, StoreError> {
        let key: [u8; 32] = match info.mode {
            SealMode::Passphrase => {
                let pass = passphrase.ok_or_else(|| {
                    StoreError::Sealed(
                        "this data file is sealed with a passphrase: set LEVITY_PASSPHRASE to open it"
                            .into(),
                    )
                })?;
                let mut key = [0u8; 32];
                argon2::Argon2::default()
                    .hash_password_into(pass.as_bytes(), &info.salt, &mut key)
                    .map_err(|e| StoreError::Sealed(format!("cannot derive key: {e}")))?;
                key
            }
            SealMode::Machine => {
                let id = machine_id().ok_or_else(|| {
                    StoreError::Sealed(
                        "this machine has no stable machine id to bind the data file to: \
                         set LEVITY_PASSPHRASE to seal it with a passphrase instead"
                            .into(),
                    )
                })?;
                let mut h = Sha256::new();
                if info.key_file {
                    let install = install.ok_or_else(|| {
                        StoreError::Sealed("the machine key needs the key file's secret".into())
                    })?;
                    h.update(b"levity machine key v2\0");
                    h.update(id.as_bytes());
                    h.update(b"\0");
                    h.update(install);
                } else {
                    h.update(b"levity machine key v1\0");
                    h.update(id.as_bytes());
                }
                h.update(&info.salt);
                h.finalize().into()
            }
        };
        Ok(Sealer {
            cipher: Aes256GcmSiv::new(&key.into()),
            mode: info.mode,
        })
    }

    /// Creates a new key, and what the data file records about it.
    pub fn create(source: KeySource) -> Result<(Self, SealInfo), StoreError> {
        let (mode, passphrase, install) = match source {
            KeySource::Passphrase(p) => (SealMode::Passphrase, Some(p), None),
            KeySource::Machine(secret) => (SealMode::Machine, None, Some(secret)),
        };
        let mut info = SealInfo {
            mode,
            salt: random_bytes::<16>().to_vec(),
            check: Vec::new(),
            key_file: install.is_some(),
        };
        let sealer = Self::derive(&info, passphrase, install)?;
        info.check = sealer.seal(CHECK_PLAINTEXT, b"check");
        Ok((sealer, info))
    }

    /// Re-derives the key of an existing file and proves it right.
    pub fn open(
        info: &SealInfo,
        passphrase: Option<&str>,
        install: Option<&[u8; 32]>,
    ) -> Result<Self, StoreError> {
        let sealer = Self::derive(info, passphrase, install)?;
        match sealer.unseal(&info.check, b"check") {
            Ok(p) if p == CHECK_PLAINTEXT => Ok(sealer),
            _ => Err(StoreError::Sealed(match info.mode {
                SealMode::Passphrase => {
                    "LEVITY_PASSPHRASE does not match the passphrase this data file was sealed with"
                        .into()
                }
                SealMode::Machine => "this data file was sealed on another machine, or with \
                     another levity.key: open it once where it was made, with LEVITY_PASSPHRASE \
                     set, to re-seal it with a passphrase, then use the same passphrase here; or \
                     put back the levity.key that belongs to it"
                    .into(),
            })),
        }
    }

    /// Encrypts `plain`; `aad` binds the ciphertext to its record so it cannot
    /// be swapped into another.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<12>();
        let mut out = nonce.to_vec();
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .expect("AES-GCM-SIV encryption of a bounded message cannot fail");
        out.extend_from_slice(&ct);
        out
    }

    pub fn unseal(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < 12 {
            return Err(StoreError::Db("sealed value is truncated".into()));
        }
        let (nonce, ct) = sealed.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| StoreError::Db("a sealed secret failed its integrity check".into()))
    }
}

/// A stable id of this machine, from the operating system.
fn machine_id() -> Option<String> {
    if let Ok(id) = std::env::var("LEVITY_MACHINE_ID") {
        return Some(id);
    }
    #[cfg(target_os = "linux")]
    {
        ["/etc/machine-id", "/var/lib/dbus/machine-id"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_string())
            .find(|s| !s.is_empty())
    }
    #[cfg(target_os = "macos")]
    {
        let out = std::process::Command::new("ioreg")
            .args(["-rd1", "-c", "IOPlatformExpertDevice"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.contains("IOPlatformUUID"))?;
        line.split('"').nth(3).map(str::to_string)
    }
    #[cfg(windows)]
    {
        let out = std::process::Command::new("reg")
            .args([
                "query",
                r"HKLM\SOFTWARE\Microsoft\Cryptography",
                "/v",
                "MachineGuid",
            ])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().last().map(str::to_string)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_round_trip_and_wrong_passphrase() {
        let (sealer, info) = Sealer::create(KeySource::Passphrase("correct horse")).unwrap();
        let sealed = sealer.seal(b"AIza-secret", b"acc_1");
        let again = Sealer::open(&info, Some("correct horse"), None).unwrap();
        assert_eq!(again.unseal(&sealed, b"acc_1").unwrap(), b"AIza-secret");
        assert!(
            again.unseal(&sealed, b"acc_2").is_err(),
            "aad binds the record"
        );
        let err = Sealer::open(&info, Some("wrong"), None).err().unwrap();
        assert!(err.to_string().contains("does not match"));
        let err = Sealer::open(&info, None, None).err().unwrap();
        assert!(err.to_string().contains("LEVITY_PASSPHRASE"));
    }

    /// The machine id alone (world-readable) no longer opens a new file: the
    /// install secret is part of the key.
    #[test]
    fn machine_key_needs_the_install_secret() {
        assert!(
            machine_id().is_some(),
            "no machine id here: set LEVITY_MACHINE_ID to run this test"
        );
        let install = [7u8; 32];
        let (sealer, info) = Sealer::create(KeySource::Machine(&install)).unwrap();
        assert!(info.key_file);
        let sealed = sealer.seal(b"sk-secret", b"acc_1");
        let again = Sealer::open(&info, None, Some(&install)).unwrap();
        assert_eq!(again.unseal(&sealed, b"acc_1").unwrap(), b"sk-secret");
        assert!(Sealer::open(&info, None, Some(&[8u8; 32])).is_err());
        let legacy = SealInfo {
            key_file: false,
            ..info.clone()
        };
        assert!(
            Sealer::open(&legacy, None, None).is_err(),
            "machine id and salt alone must not open it"
        );
    }
}
