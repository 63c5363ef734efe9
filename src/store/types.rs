//! Records kept in the store, and the views of them shown to users.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Gemini,
    Anthropic,
    Openai,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "gemini",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Openai => "openai",
        }
    }

    /// The provider's public endpoint, as its own SDK takes it.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::Openai => "https://api.openai.com/v1",
        }
    }
}

/// A secret held in memory. It prints only as a hint, so it cannot end up in a
/// log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `sk-...abcd`: enough to tell keys apart, too little to use one.
    pub fn hint(&self) -> String {
        hint(&self.0)
    }
}

pub fn hint(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 12 {
        return "...".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}...{tail}")
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.hint())
    }
}

/// An upstream account with its secret decrypted, as the proxy uses it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub models: Vec<String>,
    pub enabled: bool,
    pub secret: Secret,
}

/// What users see of an account: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub models: Vec<String>,
    pub enabled: bool,
    pub state: String,
    pub key_hint: String,
    pub created: u64,
}

/// A request to add an account, from the CLI or the admin API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewAccount {
    pub kind: ProviderKind,
    pub api_key: String,
    pub name: Option<String>,
    pub base_url: Option<String>,
    #[serde(default)]
    pub models: Vec<String>,
}

/// A client key as stored: only its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub hint: String,
    pub created: u64,
}

/// A freshly created client key: the only time its plaintext exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    pub key: String,
}

/// The stored form of an account.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AccountRecord {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub models: Vec<String>,
    pub enabled: bool,
    pub created: u64,
    /// Position in the user's ordering; new accounts go last.
    pub order: u64,
    pub key_hint: String,
    /// nonce ‖ AES-GCM-SIV ciphertext of the API key, bound to `id`.
    pub sealed_secret: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct KeyRecord {
    pub info: KeyInfo,
    pub sha256: [u8; 32],
}
