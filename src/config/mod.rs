//! Runtime settings: typed, validated views of the key/value pairs kept in the
//! store, each described once in `table`. `levity config set` and the admin
//! API change them; the server picks up the change at once.

pub mod table;

use crate::store::{ProviderKind, Tier};
use crate::util::{DAY, MINUTE};
use std::collections::BTreeMap;

/// How the scheduler spreads requests; see `scheduler::Scheduler::next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    CacheFirst,
    #[default]
    Balance,
    Performance,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        match s {
            "cache-first" => Some(Mode::CacheFirst),
            "balance" => Some(Mode::Balance),
            "performance" => Some(Mode::Performance),
            _ => None,
        }
    }
}

/// Per-tier limits a local counter is held against; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub rpm: u64,
    pub rpd: u64,
    pub tpm: u64,
    /// How often the binding quota resets; sooner-resetting quota is spent first.
    pub reset_ms: u64,
}

/// Default limits per tier: Gemini's free tier (or the kind's own free
/// tier, `Descriptor::free_limits`), the paid Google plans, and
/// pay-as-you-go keys, whose limits are per minute only.
fn default_limits(kind: ProviderKind, tier: Tier) -> Limits {
    let (rpm, rpd, tpm, reset_ms) = match (tier, kind.descriptor().free_limits) {
        (Tier::Free, Some((rpm, rpd, tpm))) => (rpm, rpd, tpm, DAY),
        (Tier::Free, None) => (10, 250, 250_000, DAY),
        (Tier::Pro, _) => (120, 1_500, 2_000_000, DAY),
        (Tier::Ultra, _) => (240, 4_000, 4_000_000, DAY),
        (Tier::Paid, _) => (1_000, 0, 0, MINUTE),
    };
    Limits {
        rpm,
        rpd,
        tpm,
        reset_ms,
    }
}

/// `input/output[/cached input]` in US dollars per million tokens; cached
/// input costs the input price where it is not given.
pub(crate) fn parse_price(s: &str) -> Option<crate::catalogue::Price> {
    let n: Vec<f64> = s
        .split('/')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        })
        .collect::<Option<_>>()?;
    let (input, output, cached) = match n[..] {
        [input, output] => (input, output, input),
        [input, output, cached] => (input, output, cached),
        _ => return None,
    };
    Some(crate::catalogue::Price {
        input,
        cached,
        cache_write: input,
        output,
    })
}

pub(crate) fn parse_limits(s: &str, reset_ms: u64) -> Option<Limits> {
    let mut n = s.split('/').map(|p| p.trim().parse::<u64>().ok());
    let (rpm, rpd, tpm) = (n.next()??, n.next()??, n.next()??);
    n.next().is_none().then_some(Limits {
        rpm,
        rpd,
        tpm,
        reset_ms,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// (pattern, target), exact names first, then wildcards, longest first.
    pub model_map: Vec<(String, String)>,
    /// Prices the user set (`prices.<pattern>`), in `model_map`'s order.
    pub prices: Vec<(String, crate::catalogue::Price)>,
    pub request_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// Bytes of a whole upstream answer levity reads at most.
    pub answer_max: usize,
    pub max_attempts: u32,
    /// Times one stream cut midway is resumed on another account.
    pub stream_resumes: u32,
    pub request_deadline_secs: u64,
    pub mode: Mode,
    pub cache_first_wait_secs: u64,
    pub queue_timeout_secs: u64,
    pub preferred_account: Option<String>,
    pub upstream_proxy: Option<String>,
    limits: Vec<(Tier, Limits)>,
    pub oauth: std::sync::Arc<OauthSettings>,
    pub public_host: Option<String>,
    pub image_fetch_allow: Vec<String>,
    pub image_allow_files: bool,
    pub background_downgrade: bool,
    /// Cluster mode without Redis: refuse limited accounts (see `cluster`).
    pub cluster_strict: bool,
    pub background_model: String,
    pub background_markers: Vec<String>,
    pub log: LogSettings,
    /// Origins (or `*`) whose browser pages may call the proxy.
    pub cors_origins: Vec<String>,
}

/// What the request log keeps, and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSettings {
    pub bodies: bool,
    pub retention_days: u64,
    /// Bytes of one body kept.
    pub body_max: usize,
    /// Bytes all kept bodies may take.
    pub bodies_max: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_map(&BTreeMap::new())
    }
}

/// The stored value of `key`, else its default from the table; trimmed,
/// `None` when empty.
fn text(map: &BTreeMap<String, String>, key: &str) -> Option<String> {
    map.get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .or_else(|| Some(table::default(key)).filter(|d| !d.is_empty()))
        .map(str::to_string)
}

/// A switch's value, stored or default.
fn on(map: &BTreeMap<String, String>, key: &str) -> bool {
    text(map, key).is_some_and(|v| v == "on")
}

/// Where and how levity signs in Google accounts for Code Assist.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OauthSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub auth_url: String,
    pub token_url: String,
    /// Code Assist base URLs, in the order they are tried.
    pub code_assist: Vec<String>,
}

/// A number's value, stored or default (the table test proves every default parses).
fn number<T: std::str::FromStr + Default>(map: &BTreeMap<String, String>, key: &str) -> T {
    text(map, key)
        .and_then(|v| v.parse().ok())
        .or_else(|| table::default(key).parse().ok())
        .unwrap_or_default()
}

impl Settings {
    pub fn from_map(map: &BTreeMap<String, String>) -> Settings {
        let mut model_map: Vec<(String, String)> = map
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("model_map.")?.to_string(), v.clone())))
            .collect();
        model_map
            .sort_by_key(|(pattern, _)| (pattern.contains('*'), std::cmp::Reverse(pattern.len())));
        let mut prices: Vec<(String, crate::catalogue::Price)> = map
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("prices.")?.to_string(), parse_price(v)?)))
            .collect();
        prices
            .sort_by_key(|(pattern, _)| (pattern.contains('*'), std::cmp::Reverse(pattern.len())));
        Settings {
            model_map,
            prices,
            request_timeout_secs: number(map, "request_timeout_secs"),
            connect_timeout_secs: number(map, "connect_timeout_secs"),
            answer_max: number::<usize>(map, "answer_max_mb").saturating_mul(1 << 20),
            max_attempts: number(map, "max_attempts"),
            stream_resumes: number(map, "stream_resumes"),
            request_deadline_secs: number(map, "request_deadline_secs"),
            mode: text(map, "scheduling")
                .and_then(|m| Mode::parse(&m))
                .unwrap_or_default(),
            cache_first_wait_secs: number(map, "cache_first_wait_secs"),
            queue_timeout_secs: number(map, "queue_timeout_secs"),
            preferred_account: text(map, "preferred_account"),
            upstream_proxy: text(map, "upstream_proxy"),
            limits: [Tier::Free, Tier::Pro, Tier::Ultra, Tier::Paid]
                .into_iter()
                .filter_map(|t| {
                    let reset_ms = default_limits(ProviderKind::Gemini, t).reset_ms;
                    map.get(&format!("tier_limits.{}", t.as_str()))
                        .and_then(|v| parse_limits(v, reset_ms))
                        .map(|set| (t, set))
                })
                .collect(),
            oauth: std::sync::Arc::new(OauthSettings {
                client_id: text(map, "oauth_client_id"),
                client_secret: text(map, "oauth_client_secret"),
                auth_url: text(map, "oauth_auth_url").unwrap_or_default(),
                token_url: text(map, "oauth_token_url").unwrap_or_default(),
                code_assist: text(map, "code_assist_endpoints")
                    .unwrap_or_default()
                    .split(',')
                    .map(|u| u.trim().trim_end_matches('/').to_string())
                    .filter(|u| !u.is_empty())
                    .collect(),
            }),
            public_host: text(map, "public_host"),
            image_fetch_allow: text(map, "image_fetch_allow")
                .map(|v| {
                    v.split(',')
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            image_allow_files: on(map, "image_allow_files"),
            background_downgrade: on(map, "background_downgrade"),
            cluster_strict: on(map, "cluster_strict"),
            background_model: text(map, "background_model").unwrap_or_default(),
            background_markers: text(map, "background_markers")
                .unwrap_or_default()
                .split('|')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            cors_origins: text(map, "cors_origins")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            log: LogSettings {
                bodies: on(map, "log_bodies"),
                retention_days: number(map, "log_retention_days"),
                body_max: number::<usize>(map, "log_body_max_kb") << 10,
                bodies_max: number::<u64>(map, "log_bodies_max_mb") << 20,
            },
        }
    }

    /// Checks a key and value before they are stored; the error says what is allowed.
    pub fn validate(key: &str, value: &str) -> Result<(), String> {
        match table::find(key) {
            Some(row) => check(row, key, value),
            None => Err(format!(
                "unknown setting `{key}`; known settings: {}",
                table::SETTINGS
                    .iter()
                    .map(|s| s.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The limits an account of `tier` is held against.
    pub fn limits(&self, kind: ProviderKind, tier: Tier) -> Limits {
        self.limits
            .iter()
            .find(|(t, _)| *t == tier)
            .map_or_else(|| default_limits(kind, tier), |(_, l)| *l)
    }

    /// What `model` costs: the user's price for it, else the catalogue's.
    pub fn price(&self, model: &str) -> Option<crate::catalogue::Price> {
        self.prices
            .iter()
            .find(|(pattern, _)| glob(pattern, model))
            .map(|(_, p)| *p)
            .or_else(|| crate::catalogue::find(model).and_then(|m| m.price))
    }

    /// The upstream model a requested name maps to, if a rule matches.
    pub fn map_model(&self, model: &str) -> Option<&str> {
        self.model_map
            .iter()
            .find(|(pattern, _)| glob(pattern, model))
            .map(|(_, target)| target.as_str())
    }
}

/// Checks a value against its row; the error says what is allowed.
pub(crate) fn check(row: &table::Setting, key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        // An empty value restores the default.
        return Ok(());
    }
    match row.ty {
        table::Type::Whole { min, max, unit } => match value.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(format!(
                "`{key}` takes a whole number{} from {min} to {max}",
                match unit {
                    "" => String::new(),
                    "s" => " of seconds".into(),
                    u => format!(" ({u})"),
                }
            )),
        },
        table::Type::Switch => match value {
            "on" | "off" => Ok(()),
            _ => Err(format!("`{key}` is on or off")),
        },
        table::Type::Choice { choices } => match choices.iter().any(|c| c.value == value) {
            true => Ok(()),
            false => Err(format!(
                "`{key}` is one of: {}",
                choices
                    .iter()
                    .map(|c| c.value)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        table::Type::Text | table::Type::Secret => Ok(()),
        table::Type::Proxy => match ["http://", "https://", "socks5://", "socks5h://"]
            .iter()
            .any(|s| value.starts_with(s))
        {
            true => Ok(()),
            false => Err(format!(
                "`{key}` must start with http://, https://, socks5:// or socks5h://"
            )),
        },
        table::Type::Model => match crate::canonical::model_name_error(value) {
            Some(why) => Err(why),
            None => Ok(()),
        },
        table::Type::Host => match parse_host(value) {
            Some(_) => Ok(()),
            None => Err(format!(
                "`{key}` is an IP address such as 127.0.0.1 or 0.0.0.0, got `{value}`"
            )),
        },
        table::Type::Origins => match value.split(',').map(str::trim).find(|o| {
            !o.is_empty() && *o != "*" && !o.starts_with("http://") && !o.starts_with("https://")
        }) {
            None => Ok(()),
            Some(o) => Err(format!(
                "`{key}` lists origins such as https://app.example (or *); `{o}` is not one"
            )),
        },
        table::Type::Price => match parse_price(value) {
            Some(_) => Ok(()),
            None => Err(format!(
                "`{key}` takes US dollars per million tokens as input/output[/cached input], e.g. 0.28/0.42/0.028"
            )),
        },
        table::Type::Limits => {
            let tier = &key[row.prefix().map_or(0, str::len)..];
            if crate::store::Tier::parse(tier).is_none() {
                return Err(format!(
                    "unknown tier `{tier}`; use free, pro, ultra or paid"
                ));
            }
            match parse_limits(value, 0) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "`{key}` takes requests-per-minute/requests-per-day/tokens-per-minute, e.g. 10/250/250000"
                )),
            }
        }
    }
}

/// A listen address as users write it: an IP, bracketed or not, or `localhost`.
pub fn parse_host(host: &str) -> Option<std::net::IpAddr> {
    match host {
        "localhost" => Some(std::net::IpAddr::from([127, 0, 0, 1])),
        h => h.trim_matches(['[', ']']).parse().ok(),
    }
}

/// The target of the first rule in `rules` whose pattern matches `model`.
pub fn glob_map<'a>(rules: &[(&str, &'a str)], model: &str) -> Option<&'a str> {
    rules
        .iter()
        .find(|(pattern, _)| glob(pattern, model))
        .map(|(_, target)| *target)
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    // Runs on every request (the catalogue's rows, model maps): no allocation.
    let Some((head, tail)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(head) else {
        return false;
    };
    let (middle, last) = tail.rsplit_once('*').unwrap_or(("", tail));
    for part in middle.split('*') {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rules: &[(&str, &str)]) -> Settings {
        let map = rules
            .iter()
            .map(|(k, v)| (format!("model_map.{k}"), v.to_string()))
            .collect();
        Settings::from_map(&map)
    }

    #[test]
    fn glob_cases() {
        for (pattern, text, expected) in [
            ("gpt-4o*", "gpt-4o-mini", true),
            ("gpt-4o*", "gpt-4", false),
            ("*", "anything", true),
            ("claude-*-5", "claude-opus-5", true),
            ("claude-*-5", "claude-opus-4", false),
            ("a*b*c", "abc", true),
            ("a*a", "a", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a**b", "ab", true),
            ("*a*", "bab", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("*-mini*-preview", "gpt-4o-mini-search-preview", true),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn exact_beats_wildcard_and_longer_wildcards_win() {
        let s = settings(&[
            ("gpt-*", "gemini-2.5-flash"),
            ("gpt-4o*", "gemini-2.5-pro"),
            ("gpt-4o-mini", "gemini-2.0-flash"),
        ]);
        assert_eq!(s.map_model("gpt-4o-mini"), Some("gemini-2.0-flash"));
        assert_eq!(s.map_model("gpt-4o-2024"), Some("gemini-2.5-pro"));
        assert_eq!(s.map_model("gpt-3.5"), Some("gemini-2.5-flash"));
        assert_eq!(s.map_model("o3"), None);
    }

    #[test]
    fn validation_names_the_allowed_values() {
        assert!(Settings::validate("max_attempts", "0").is_err());
        assert!(Settings::validate("max_attempts", "5").is_ok());
        let err = Settings::validate("colour", "blue").unwrap_err();
        assert!(err.contains("request_timeout_secs"));
    }
}
