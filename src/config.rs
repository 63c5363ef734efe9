//! Runtime settings: typed, validated views of the key/value pairs kept in the
//! store. `levity config set` and the admin API change them; the server picks
//! up the change at once.

use crate::scheduler::Limits;
use crate::scheduler::health_spans::{DAY, MINUTE};
use crate::store::{ProviderKind, Tier};
use std::collections::BTreeMap;

/// Every setting a user can change, with its default and what it does.
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "model_map.<pattern>",
        "",
        "rewrite a requested model name; `*` matches any run of characters (model_map.gpt-4o* = gemini-2.5-flash)",
    ),
    (
        "listen_host",
        "127.0.0.1",
        "the address levity listens on (0.0.0.0: the whole network, which needs a client key); applies at once",
    ),
    (
        "listen_port",
        "8045",
        "the port levity listens on; applies at once",
    ),
    (
        "request_timeout_secs",
        "600",
        "longest wait for an upstream answer, or between two chunks of a stream",
    ),
    (
        "connect_timeout_secs",
        "10",
        "longest wait to connect to an upstream",
    ),
    (
        "answer_max_mb",
        "64",
        "largest whole (not streamed) upstream answer levity reads; a larger one fails that attempt, and another account may try",
    ),
    (
        "max_attempts",
        "5",
        "attempts (on any accounts) for one request before its error reaches the client",
    ),
    (
        "request_deadline_secs",
        "600",
        "longest a request may take in all, attempts and waits included",
    ),
    (
        "scheduling",
        "balance",
        "cache-first: a session waits for its account; balance: sessions stick while their account has headroom; performance: spread every request",
    ),
    (
        "cache_first_wait_secs",
        "30",
        "in cache-first mode, how long a request waits for its session's resting account",
    ),
    (
        "queue_timeout_secs",
        "30",
        "when every account rests, how long a request waits for the first to return",
    ),
    (
        "preferred_account",
        "",
        "an account (id or name) new sessions go to while it can serve",
    ),
    (
        "upstream_proxy",
        "",
        "outbound proxy for every upstream call (http:// or socks5://); an account's own proxy wins",
    ),
    (
        "tier_limits.<tier>",
        "",
        "requests per minute / per day / tokens per minute for free, pro, ultra or paid accounts, e.g. 10/250/250000 (0: none)",
    ),
    (
        "oauth_client_id",
        "",
        "the Google OAuth desktop client levity signs in with (see README)",
    ),
    ("oauth_client_secret", "", "that client's secret"),
    (
        "oauth_auth_url",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "Google's OAuth authorize endpoint",
    ),
    (
        "oauth_token_url",
        "https://oauth2.googleapis.com/token",
        "Google's OAuth token endpoint",
    ),
    (
        "code_assist_endpoints",
        "https://daily-cloudcode-pa.sandbox.googleapis.com,https://cloudcode-pa.googleapis.com",
        "Code Assist base URLs, tried in order on 404, 429, 5xx or network errors",
    ),
    (
        "background_downgrade",
        "on",
        "send Claude Code's auxiliary requests (titles, summaries, probes) to background_model (on/off)",
    ),
    (
        "background_model",
        "gemini-2.5-flash-lite",
        "the cheap model that answers auxiliary requests",
    ),
    (
        "background_markers",
        DEFAULT_MARKERS,
        "|-separated phrases that mark an auxiliary request (in its system prompt or last message); `=text` matches the whole message",
    ),
    (
        "image_fetch_allow",
        "",
        "comma-separated hosts levity may fetch images from although they are on a private network",
    ),
    (
        "image_allow_files",
        "off",
        "read file:// images for clients on this machine (on/off)",
    ),
    (
        "log_bodies",
        "off",
        "keep request and response bodies in the request log, secrets redacted (on/off)",
    ),
    (
        "log_retention_days",
        "7",
        "days the request log (and any bodies) is kept",
    ),
    (
        "log_body_max_kb",
        "256",
        "largest part of one request or response body kept; the rest is cut",
    ),
    (
        "log_bodies_max_mb",
        "256",
        "room for logged bodies in the data file; the oldest go first",
    ),
    (
        "cors_origins",
        "",
        "comma-separated web origins whose pages may call the proxy from a browser (https://app.example, or *); the admin API never answers other origins",
    ),
    (
        "public_host",
        "",
        "a host name, besides localhost, that may reach the admin API (for a reverse proxy)",
    ),
];

/// Phrases of Claude Code's auxiliary prompts; one place, editable as a setting.
const DEFAULT_MARKERS: &str = "write a 5-10 word title|analyze if this message indicates a new conversation topic|summarize this coding conversation|<policy_spec>|generate a concise title|=quota";

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

/// Default limits per tier: Gemini's free tier, the paid Google plans, and
/// pay-as-you-go keys, whose limits are per minute only. A Google sign-in
/// on the free tier has Code Assist's quota: "60 requests/min and 1,000
/// requests/day" (github.com/google-gemini/gemini-cli, README).
fn default_limits(kind: ProviderKind, tier: Tier) -> Limits {
    let (rpm, rpd, tpm, reset_ms) = match tier {
        Tier::Free if kind == ProviderKind::GoogleOauth => (60, 1_000, 0, DAY),
        Tier::Free => (10, 250, 250_000, DAY),
        Tier::Pro => (120, 1_500, 2_000_000, DAY),
        Tier::Ultra => (240, 4_000, 4_000_000, DAY),
        Tier::Paid => (1_000, 0, 0, MINUTE),
    };
    Limits {
        rpm,
        rpd,
        tpm,
        reset_ms,
    }
}

fn parse_limits(s: &str, reset_ms: u64) -> Option<Limits> {
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
    pub request_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// Bytes of a whole upstream answer levity reads at most.
    pub answer_max: usize,
    pub max_attempts: u32,
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

fn text(map: &BTreeMap<String, String>, key: &str) -> Option<String> {
    map.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
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

fn number<T: std::str::FromStr>(map: &BTreeMap<String, String>, key: &str, default: T) -> T {
    map.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Settings {
    pub fn from_map(map: &BTreeMap<String, String>) -> Settings {
        let mut model_map: Vec<(String, String)> = map
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("model_map.")?.to_string(), v.clone())))
            .collect();
        model_map
            .sort_by_key(|(pattern, _)| (pattern.contains('*'), std::cmp::Reverse(pattern.len())));
        Settings {
            model_map,
            request_timeout_secs: number(map, "request_timeout_secs", 600),
            connect_timeout_secs: number(map, "connect_timeout_secs", 10),
            answer_max: number(map, "answer_max_mb", 64usize).saturating_mul(1 << 20),
            max_attempts: number(map, "max_attempts", 5),
            request_deadline_secs: number(map, "request_deadline_secs", 600),
            mode: map.get("scheduling").and_then(|m| Mode::parse(m)).unwrap_or_default(),
            cache_first_wait_secs: number(map, "cache_first_wait_secs", 30),
            queue_timeout_secs: number(map, "queue_timeout_secs", 30),
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
                auth_url: text(map, "oauth_auth_url").unwrap_or_else(|| "https://accounts.google.com/o/oauth2/v2/auth".into()),
                token_url: text(map, "oauth_token_url").unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
                code_assist: text(map, "code_assist_endpoints")
                    .unwrap_or_else(|| "https://daily-cloudcode-pa.sandbox.googleapis.com,https://cloudcode-pa.googleapis.com".into())
                    .split(',')
                    .map(|u| u.trim().trim_end_matches('/').to_string())
                    .filter(|u| !u.is_empty())
                    .collect(),
            }),
            public_host: map.get("public_host").filter(|h| !h.is_empty()).cloned(),
            image_fetch_allow: text(map, "image_fetch_allow")
                .map(|v| v.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect())
                .unwrap_or_default(),
            image_allow_files: map.get("image_allow_files").is_some_and(|v| v == "on"),
            background_downgrade: map.get("background_downgrade").is_none_or(|v| v != "off"),
            background_model: map
                .get("background_model")
                .cloned()
                .unwrap_or_else(|| "gemini-2.5-flash-lite".into()),
            background_markers: map
                .get("background_markers")
                .map_or(DEFAULT_MARKERS, String::as_str)
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
                bodies: map.get("log_bodies").is_some_and(|v| v == "on"),
                retention_days: number(map, "log_retention_days", 7),
                body_max: number(map, "log_body_max_kb", 256usize) << 10,
                bodies_max: number(map, "log_bodies_max_mb", 256u64) << 20,
            },
        }
    }

    /// Checks a key and value before they are stored; the error says what is allowed.
    pub fn validate(key: &str, value: &str) -> Result<(), String> {
        let positive = |max: u64| match value.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(()),
            _ if value.is_empty() => Ok(()),
            _ => Err(format!("`{key}` takes a whole number from 1 to {max}")),
        };
        // An empty value removes the setting; anything else must be a name
        // levity would accept from a client.
        let model_target = |value: &str| match crate::canonical::model_name_error(value) {
            Some(why) if !value.is_empty() => Err(why),
            _ => Ok(()),
        };
        match key {
            "request_timeout_secs" => positive(86_400),
            "connect_timeout_secs" => positive(600),
            "answer_max_mb" => positive(4096),
            "max_attempts" => positive(100),
            "request_deadline_secs" => positive(86_400),
            "cache_first_wait_secs" | "queue_timeout_secs" => match value.parse::<u64>() {
                Ok(n) if n <= 3_600 => Ok(()),
                _ if value.is_empty() => Ok(()),
                _ => Err(format!(
                    "`{key}` takes a whole number of seconds from 0 to 3600"
                )),
            },
            "scheduling" => match Mode::parse(value) {
                Some(_) => Ok(()),
                None if value.is_empty() => Ok(()),
                None => Err("`scheduling` is cache-first, balance or performance".into()),
            },
            "upstream_proxy" => match value {
                "" => Ok(()),
                v if ["http://", "https://", "socks5://", "socks5h://"]
                    .iter()
                    .any(|s| v.starts_with(s)) =>
                {
                    Ok(())
                }
                _ => Err(
                    "`upstream_proxy` must start with http://, https://, socks5:// or socks5h://"
                        .into(),
                ),
            },
            k if k.starts_with("tier_limits.") => {
                let tier = &k["tier_limits.".len()..];
                if Tier::parse(tier).is_none() {
                    return Err(format!(
                        "unknown tier `{tier}`; use free, pro, ultra or paid"
                    ));
                }
                match parse_limits(value, 0) {
                    Some(_) => Ok(()),
                    None if value.is_empty() => Ok(()),
                    None => Err(format!(
                        "`{key}` takes requests-per-minute/requests-per-day/tokens-per-minute, e.g. 10/250/250000"
                    )),
                }
            }
            "background_model" => model_target(value),
            k if k.starts_with("model_map.") && k.len() > "model_map.".len() => model_target(value),
            "public_host"
            | "background_markers"
            | "preferred_account"
            | "oauth_client_id"
            | "oauth_client_secret"
            | "oauth_auth_url"
            | "oauth_token_url"
            | "code_assist_endpoints" => Ok(()),
            "image_allow_files" | "background_downgrade" | "log_bodies" => match value {
                "on" | "off" | "" => Ok(()),
                _ => Err(format!("`{key}` is on or off")),
            },
            "image_fetch_allow" => Ok(()),
            "cors_origins" => match value.split(',').map(str::trim).find(|o| {
                !o.is_empty()
                    && *o != "*"
                    && !o.starts_with("http://")
                    && !o.starts_with("https://")
            }) {
                None => Ok(()),
                Some(o) => Err(format!(
                    "`cors_origins` lists origins such as https://app.example (or *); `{o}` is not one"
                )),
            },
            "log_retention_days" => positive(3_650),
            "listen_port" => positive(65_535),
            "listen_host" => match parse_host(value) {
                Some(_) => Ok(()),
                None if value.is_empty() => Ok(()),
                None => Err(format!(
                    "`listen_host` is an IP address such as 127.0.0.1 or 0.0.0.0, got `{value}`"
                )),
            },
            "log_body_max_kb" => positive(100 * 1024),
            "log_bodies_max_mb" => positive(1 << 20),
            _ => Err(format!(
                "unknown setting `{key}`; known settings: {}",
                KEYS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
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

    /// The upstream model a requested name maps to, if a rule matches.
    pub fn map_model(&self, model: &str) -> Option<&str> {
        self.model_map
            .iter()
            .find(|(pattern, _)| glob(pattern, model))
            .map(|(_, target)| target.as_str())
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
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
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
