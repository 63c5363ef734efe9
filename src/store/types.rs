//! Records kept in the store, and the views of them shown to users.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stored on every account; what each kind is lives in `provider::kind`.
pub use crate::provider::ProviderKind;

/// What an account's plan allows; sets its default limits and how often its
/// quota resets.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Free,
    Pro,
    Ultra,
    Paid,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Ultra => "ultra",
            Tier::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        [Tier::Free, Tier::Pro, Tier::Ultra, Tier::Paid]
            .into_iter()
            .find(|t| t.as_str() == s)
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

/// A proxy URL without its password: `http://user:***@host:port`; a user
/// name alone (often a token) becomes `***`.
pub fn shown_proxy(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let user = match rest[..at].split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_string(),
    };
    format!("{scheme}://{user}{}", &rest[at..])
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.hint())
    }
}

/// An upstream account with its secret decrypted, as the proxy uses it.
#[derive(Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub models: Vec<String>,
    pub enabled: bool,
    /// An API key, or a refresh token for `google-oauth`.
    pub secret: Secret,
    pub tier: Tier,
    /// Outbound proxy for this account (`http://`, `socks5://`); else the global one.
    pub proxy: Option<String>,
    /// The Code Assist project, when the user gave one (else discovered).
    pub project: Option<String>,
}

/// What users see of an account: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub models: Vec<String>,
    pub enabled: bool,
    /// `active`, `cooling`, `needs-reauth` or `disabled`; see `reason`.
    pub state: String,
    #[serde(default)]
    pub reason: String,
    pub key_hint: String,
    pub created: u64,
    #[serde(default)]
    pub tier: Tier,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    /// Run-time health, filled in by the server.
    #[serde(default)]
    #[schema(value_type = Option<crate::server::admin::Health>)]
    pub health: Option<serde_json::Value>,
}

/// A request to add an account, from the CLI or the admin API.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewAccount {
    pub kind: ProviderKind,
    /// The API key, or the refresh token of a `google-oauth` account.
    pub api_key: String,
    pub name: Option<String>,
    pub base_url: Option<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
}

/// A change to an account's settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountPatch {
    pub enabled: Option<bool>,
    pub tier: Option<Tier>,
    pub name: Option<String>,
    /// An empty string removes the proxy.
    pub proxy: Option<String>,
    pub models: Option<Vec<String>>,
    /// Where the provider answers (a moved host, a local mirror).
    pub base_url: Option<String>,
}

/// A client key as stored: only its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub hint: String,
    pub created: u64,
    #[serde(default)]
    pub limits: KeyLimits,
}

/// A client key as the request path checks it: the SHA-256 of the key,
/// and what it may do.
pub type KeyHash = ([u8; 32], std::sync::Arc<KeyInfo>);

/// What a client key may do; each limit absent is no limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct KeyLimits {
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Requests per day (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpd: Option<u64>,
    /// Tokens (input and output) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// US dollars the key may spend per `period`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// The budget's period (a month when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The model names (or `*` patterns) it may ask for; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The last day (UTC, `YYYY-MM-DD`) it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// How often a key's budget starts again (UTC: days at midnight, weeks on
/// Monday, months on the 1st).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// As the API and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

impl KeyLimits {
    /// Checks the limits before they are stored; the error says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.budget_usd.is_some_and(|b| !b.is_finite() || b < 0.0) {
            return Err("--budget is US dollars, 0 or more".into());
        }
        if self.period.is_some() && self.budget_usd.is_none() {
            return Err("--period needs a --budget".into());
        }
        if let Some(why) = self
            .models
            .iter()
            .find_map(|m| crate::canonical::model_name_error(&m.replace('*', "")))
        {
            return Err(format!("--models: {why}"));
        }
        if let Some(day) = &self.expires
            && crate::util::day_number(day).is_none()
        {
            return Err(format!(
                "--expires is a date such as 2027-01-31, got `{day}`"
            ));
        }
        Ok(())
    }
}

/// A freshly created client key: the only time its plaintext exists.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[serde(default)]
    pub tier: Option<Tier>,
    /// The proxy as users see it (`shown_proxy`); before schema 5, the URL.
    #[serde(default)]
    pub proxy: Option<String>,
    /// The proxy URL, sealed like the secret (it may hold a password).
    #[serde(default)]
    pub sealed_proxy: Option<Vec<u8>>,
    #[serde(default)]
    pub project: Option<String>,
    /// nonce ‖ AES-GCM-SIV ciphertext of the API key, bound to `id`.
    pub sealed_secret: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct KeyRecord {
    pub info: KeyInfo,
    pub sha256: [u8; 32],
}

/// An account prints its secret and its proxy as hints.
impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("models", &self.models)
            .field("enabled", &self.enabled)
            .field("secret", &self.secret)
            .field("tier", &self.tier)
            .field("proxy", &self.proxy.as_deref().map(shown_proxy))
            .field("project", &self.project)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::shown_proxy;

    #[test]
    fn proxies_are_shown_without_their_password() {
        for (url, shown) in [
            ("http://user:pa55@host:8080", "http://user:***@host:8080"),
            ("socks5://tok3n@10.0.0.1:1080", "socks5://***@10.0.0.1:1080"),
            ("http://host:3128", "http://host:3128"),
            ("http://u:p@ss@host/x@y", "http://u:***@host/x@y"),
            ("socks5h://host:1080/a@b", "socks5h://host:1080/a@b"),
        ] {
            assert_eq!(shown_proxy(url), shown, "{url}");
        }
    }
}
