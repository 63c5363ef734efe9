//! Sealing secrets at rest with AES-256-GCM-SIV.
//!
//! The key never sits in the data file. It comes from one of two sources,
//! recorded in the file as the seal mode:
//! - `machine`: SHA-256 over this machine's stable id and a random salt kept in
//!   the file. The file opens only on the machine that created it.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    fn derive(mode: SealMode, salt: &[u8], passphrase: Option<&str>) -> Result<Self, StoreError> {
        let key: [u8; 32] = match mode {
            SealMode::Passphrase => {
                let pass = passphrase.ok_or_else(|| {
                    StoreError::Sealed(
                        "this data file is sealed with a passphrase: set LEVITY_PASSPHRASE to open it"
                            .into(),
                    )
                })?;
                let mut key = [0u8; 32];
                argon2::Argon2::default()
                    .hash_password_into(pass.as_bytes(), salt, &mut key)
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
                h.update(b"levity machine key v1\0");
                h.update(id.as_bytes());
                h.update(salt);
                h.finalize().into()
            }
        };
        Ok(Sealer {
            cipher: Aes256GcmSiv::new(&key.into()),
            mode,
        })
    }

    /// Creates the key for a new data file.
    pub fn create(passphrase: Option<&str>) -> Result<(Self, SealInfo), StoreError> {
        let mode = if passphrase.is_some() {
            SealMode::Passphrase
        } else {
            SealMode::Machine
        };
        let salt = random_bytes::<16>().to_vec();
        let sealer = Self::derive(mode, &salt, passphrase)?;
        let check = sealer.seal(CHECK_PLAINTEXT, b"check");
        Ok((sealer, SealInfo { mode, salt, check }))
    }

    /// Re-derives the key of an existing file and proves it right.
    pub fn open(info: &SealInfo, passphrase: Option<&str>) -> Result<Self, StoreError> {
        let sealer = Self::derive(info.mode, &info.salt, passphrase)?;
        match sealer.unseal(&info.check, b"check") {
            Ok(p) if p == CHECK_PLAINTEXT => Ok(sealer),
            _ => Err(StoreError::Sealed(match info.mode {
                SealMode::Passphrase => {
                    "LEVITY_PASSPHRASE does not match the passphrase this data file was sealed with"
                        .into()
                }
                SealMode::Machine => "this data file was sealed on another machine: open it once \
                     on that machine with LEVITY_PASSPHRASE set to re-seal it with a passphrase, \
                     then use the same passphrase here"
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
        let (sealer, info) = Sealer::create(Some("correct horse")).unwrap();
        let sealed = sealer.seal(b"AIza-secret", b"acc_1");
        let again = Sealer::open(&info, Some("correct horse")).unwrap();
        assert_eq!(again.unseal(&sealed, b"acc_1").unwrap(), b"AIza-secret");
        assert!(
            again.unseal(&sealed, b"acc_2").is_err(),
            "aad binds the record"
        );
        let err = Sealer::open(&info, Some("wrong")).err().unwrap();
        assert!(err.to_string().contains("does not match"));
        let err = Sealer::open(&info, None).err().unwrap();
        assert!(err.to_string().contains("LEVITY_PASSPHRASE"));
    }
}
