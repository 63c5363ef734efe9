//! Runtime settings: typed, validated views of the key/value pairs kept in the
//! store. `levity config set` and the admin API change them; the server picks
//! up the change at once.

use std::collections::BTreeMap;

/// Every setting a user can change, with its default and what it does.
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "model_map.<pattern>",
        "",
        "rewrite a requested model name; `*` matches any run of characters (model_map.gpt-4o* = gemini-2.5-flash)",
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
        "max_attempts",
        "3",
        "accounts tried for one request before its error reaches the client",
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
        "public_host",
        "",
        "a host name, besides localhost, that may reach the admin API (for a reverse proxy)",
    ),
];

/// Phrases of Claude Code's auxiliary prompts; one place, editable as a setting.
const DEFAULT_MARKERS: &str = "write a 5-10 word title|analyze if this message indicates a new conversation topic|summarize this coding conversation|<policy_spec>|generate a concise title|=quota";

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// (pattern, target), exact names first, then wildcards, longest first.
    pub model_map: Vec<(String, String)>,
    pub request_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    pub max_attempts: u32,
    pub public_host: Option<String>,
    pub background_downgrade: bool,
    pub background_model: String,
    pub background_markers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_map(&BTreeMap::new())
    }
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
            max_attempts: number(map, "max_attempts", 3),
            public_host: map.get("public_host").filter(|h| !h.is_empty()).cloned(),
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
        }
    }

    /// Checks a key and value before they are stored; the error says what is allowed.
    pub fn validate(key: &str, value: &str) -> Result<(), String> {
        let positive = |max: u64| match value.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(()),
            _ if value.is_empty() => Ok(()),
            _ => Err(format!("`{key}` takes a whole number from 1 to {max}")),
        };
        match key {
            "request_timeout_secs" => positive(86_400),
            "connect_timeout_secs" => positive(600),
            "max_attempts" => positive(100),
            "public_host" | "background_model" | "background_markers" => Ok(()),
            "background_downgrade" => match value {
                "on" | "off" | "" => Ok(()),
                _ => Err("`background_downgrade` is on or off".into()),
            },
            k if k.starts_with("model_map.") && k.len() > "model_map.".len() => Ok(()),
            _ => Err(format!(
                "unknown setting `{key}`; known settings: {}",
                KEYS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The upstream model a requested name maps to, if a rule matches.
    pub fn map_model(&self, model: &str) -> Option<&str> {
        self.model_map
            .iter()
            .find(|(pattern, _)| glob(pattern, model))
            .map(|(_, target)| target.as_str())
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
