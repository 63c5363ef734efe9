//! Every setting once: its key, type, default, range or allowed values, and
//! help in each language the dashboard speaks. `Settings::from_map`,
//! `Settings::validate`, `levity config get`, the admin API and the
//! dashboard (through `/api/config/schema`) all read this table.

use serde::Serialize;

/// What a setting's value is, and so what it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Type {
    /// A whole number in `min..=max`.
    Whole {
        min: u64,
        max: u64,
        /// What one stands for, as the dashboard labels it (`s`, `MB`, ...).
        unit: &'static str,
    },
    /// `on` or `off`.
    Switch,
    /// One of these words.
    Choice { choices: &'static [Choice] },
    /// Free text.
    Text,
    /// Free text that is a credential: sealed at rest, shown as a hint.
    Secret,
    /// An outbound proxy address (sealed: it may hold a password).
    Proxy,
    /// A model name levity would accept from a client.
    Model,
    /// An IP address to listen on (or `localhost`).
    Host,
    /// Comma-separated web origins, or `*`.
    Origins,
    /// `requests-per-minute/requests-per-day/tokens-per-minute`.
    Limits,
    /// US dollars per million tokens: `input/output[/cached input]`.
    Price,
}

/// One word a `Choice` takes, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Choice {
    pub value: &'static str,
    pub help: Text,
}

/// Where the dashboard shows a setting as a plain field; `Own` settings have
/// a control of their own (a mode picker, the mapping editor, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    Proxy,
    Log,
    /// Settings → Google sign-in: the OAuth client the dashboard signs in with.
    Google,
    Own,
}

/// Text in every language the dashboard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Text {
    pub en: &'static str,
    pub zh: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Setting {
    /// The key; a family's ends in `.<pattern>` or `.<tier>`.
    pub key: &'static str,
    #[serde(flatten)]
    pub ty: Type,
    pub default: &'static str,
    pub label: Text,
    pub help: Text,
    /// Whether a running server applies a change at once (all do today;
    /// a setting that needed a restart would say so here and in the UI).
    pub live: bool,
    pub shown: Shown,
    /// Whether instances of a cluster share it; an address to listen on or
    /// a path on this machine is each instance's own.
    pub shared: bool,
}

impl Setting {
    /// The family prefix (`model_map.`) of a key such as `model_map.<pattern>`.
    pub fn prefix(&self) -> Option<&'static str> {
        let dot = self.key.find(".<")?;
        Some(&self.key[..=dot])
    }

    /// Whether this row describes `key`.
    pub fn names(&self, key: &str) -> bool {
        match self.prefix() {
            Some(p) => key.len() > p.len() && key.starts_with(p),
            None => self.key == key,
        }
    }

    /// Whether the value is a credential, sealed at rest and shown as a hint.
    pub fn sealed(&self) -> bool {
        matches!(self.ty, Type::Secret | Type::Proxy)
    }
}

/// The row that describes `key`, if any.
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.names(key))
}

/// A row's default; the table test proves every key `from_map` reads has one.
pub fn default(key: &str) -> &'static str {
    find(key).map_or("", |s| s.default)
}

const fn whole(min: u64, max: u64, unit: &'static str) -> Type {
    Type::Whole { min, max, unit }
}

/// Phrases of Claude Code's auxiliary prompts.
const DEFAULT_MARKERS: &str = "write a 5-10 word title|analyze if this message indicates a new conversation topic|summarize this coding conversation|<policy_spec>|generate a concise title|=quota";

macro_rules! row {
    (instance $($rest:tt)*) => {
        Setting {
            shared: false,
            ..row!($($rest)*)
        }
    };
    ($key:literal, $ty:expr, $default:expr, $shown:ident,
     [$label_en:literal, $label_zh:literal], [$help_en:literal, $help_zh:literal]) => {
        Setting {
            key: $key,
            ty: $ty,
            default: $default,
            label: Text {
                en: $label_en,
                zh: $label_zh,
            },
            help: Text {
                en: $help_en,
                zh: $help_zh,
            },
            live: true,
            shown: Shown::$shown,
            shared: true,
        }
    };
}

/// The scheduling modes (`config::Mode`).
const MODES: &[Choice] = &[
    Choice {
        value: "cache-first",
        help: Text {
            en: "a session waits for its own account, so the upstream prompt cache keeps working.",
            zh: "会话等待自己的账号，以保持上游提示缓存有效。",
        },
    },
    Choice {
        value: "balance",
        help: Text {
            en: "sessions stick to their account while it has headroom, then move.",
            zh: "会话在账号有余量时保持不变，之后再切换。",
        },
    },
    Choice {
        value: "performance",
        help: Text {
            en: "every request goes to the account with the most headroom.",
            zh: "每个请求都发往余量最多的账号。",
        },
    },
];

pub const SETTINGS: &[Setting] = &[
    row!(
        "model_map.<pattern>",
        Type::Model,
        "",
        Own,
        ["Model mapping", "模型映射"],
        [
            "Rewrite a requested model name; `*` matches any run of characters (model_map.gpt-4o* = gemini-2.5-flash).",
            "改写请求的模型名；`*` 匹配任意字符（model_map.gpt-4o* = gemini-2.5-flash）。"
        ]
    ),
    row!(
        instance "listen_host",
        Type::Host,
        "127.0.0.1",
        Own,
        ["Listen address", "监听地址"],
        [
            "The address levity listens on (0.0.0.0: the whole network, which needs a client key).",
            "levity 监听的地址（0.0.0.0 表示整个网络，需要先创建客户端密钥）。"
        ]
    ),
    row!(
        instance "listen_port",
        whole(1, 65_535, ""),
        "8045",
        Own,
        ["Listen port", "监听端口"],
        ["The port levity listens on.", "levity 监听的端口。"]
    ),
    row!(
        instance "upstream_proxy",
        Type::Proxy,
        "",
        Proxy,
        ["Upstream proxy", "上游代理"],
        [
            "Outbound proxy for every upstream call (http://, https://, socks5://). An account’s own proxy wins. Empty: none.",
            "所有上游调用的出站代理（http://、https://、socks5://）。账号自己的代理优先。留空表示不用代理。"
        ]
    ),
    row!(
        "request_timeout_secs",
        whole(1, 86_400, "s"),
        "600",
        Proxy,
        ["Request timeout (s)", "请求超时（秒）"],
        [
            "Longest wait for an upstream answer, or between two chunks of a stream.",
            "等待上游响应或流中两个数据块之间的最长时间。"
        ]
    ),
    row!(
        "request_deadline_secs",
        whole(1, 86_400, "s"),
        "600",
        Proxy,
        ["Request deadline (s)", "请求总时限（秒）"],
        [
            "Longest a request may take in all, attempts and waits included.",
            "一个请求总共可用的最长时间，包括重试和等待。"
        ]
    ),
    row!(
        "max_attempts",
        whole(1, 100, ""),
        "5",
        Proxy,
        ["Max attempts", "最多尝试次数"],
        [
            "Attempts, on any accounts, before an error reaches the client.",
            "错误返回给客户端之前，在各账号上的尝试次数。"
        ]
    ),
    row!(
        "stream_resumes",
        whole(0, 10, ""),
        "3",
        Proxy,
        ["Stream resumes", "流恢复次数"],
        [
            "How often one streamed answer cut off midway is finished on another account, continuing where it stopped; 0 turns it off.",
            "流式回答中途断开时，在另一个账号上从断点继续完成的最多次数；0 表示关闭。"
        ]
    ),
    Setting {
        live: false,
        ..row!(
            instance "redis_url",
            Type::Secret,
            "",
            Proxy,
            ["Cluster (Redis)", "集群（Redis）"],
            [
                "redis://HOST:PORT/DB of the Redis that instances of one cluster share accounts, keys, settings, rests and limits through (needs LEVITY_PASSPHRASE, the same on every instance); empty: this instance stands alone. Read at start, like --redis and LEVITY_REDIS_URL.",
                "集群共享账号、密钥、设置、冷却和限额所用的 Redis 地址 redis://主机:端口/库（需要设置 LEVITY_PASSPHRASE，且每个实例相同）；留空则单机运行。启动时读取，与 --redis 和 LEVITY_REDIS_URL 相同。"
            ]
        )
    },
    row!(
        "cluster_strict",
        Type::Switch,
        "off",
        Proxy,
        ["Strict limits without Redis", "Redis 断开时严格限额"],
        [
            "While Redis is unreachable, refuse requests on accounts with limits rather than spend this instance's share of them.",
            "Redis 无法连接时，拒绝使用有限额的账号，而不是使用本实例分得的份额。"
        ]
    ),
    row!(
        "answer_max_mb",
        whole(1, 4_096, "MB"),
        "64",
        Proxy,
        ["Largest whole answer (MB)", "完整响应上限（MB）"],
        [
            "A non-streamed upstream answer larger than this fails that attempt; another account may try.",
            "非流式上游响应超过此大小时，本次尝试失败，可由其他账号重试。"
        ]
    ),
    row!(
        "queue_timeout_secs",
        whole(0, 3_600, "s"),
        "30",
        Proxy,
        ["Queue timeout (s)", "排队超时（秒）"],
        [
            "When every account rests, how long a request waits for the first to return.",
            "所有账号都在冷却时，请求等待第一个恢复的最长时间。"
        ]
    ),
    row!(
        "cache_first_wait_secs",
        whole(0, 3_600, "s"),
        "30",
        Proxy,
        ["Cache-first wait (s)", "缓存优先等待（秒）"],
        [
            "In cache-first mode, how long a request waits for its session’s resting account.",
            "缓存优先模式下，请求等待其会话所用账号恢复的最长时间。"
        ]
    ),
    row!(
        "connect_timeout_secs",
        whole(1, 600, "s"),
        "10",
        Proxy,
        ["Connect timeout (s)", "连接超时（秒）"],
        [
            "Longest wait to connect to an upstream.",
            "连接上游的最长等待时间。"
        ]
    ),
    row!(
        "scheduling",
        Type::Choice { choices: MODES },
        "balance",
        Own,
        ["Scheduling", "调度模式"],
        [
            "How requests spread over accounts: cache-first, balance or performance.",
            "请求在账号之间的分配方式：cache-first、balance 或 performance。"
        ]
    ),
    row!(
        "preferred_account",
        Type::Text,
        "",
        Own,
        ["Preferred account", "首选账号"],
        [
            "An account (id or name) new sessions go to while it can serve.",
            "新会话在该账号可用时优先使用它（ID 或名称）。"
        ]
    ),
    row!(
        "tier_limits.<tier>",
        Type::Limits,
        "",
        Own,
        ["Tier limits", "套餐限额"],
        [
            "Requests per minute / per day / tokens per minute for free, pro, ultra or paid accounts, e.g. 10/250/250000 (0: none).",
            "free、pro、ultra 或 paid 账号的每分钟请求数/每天请求数/每分钟令牌数，例如 10/250/250000（0 表示不限）。"
        ]
    ),
    row!(
        "prices.<model>",
        Type::Price,
        "",
        Own,
        ["Model prices", "模型价格"],
        [
            "US dollars per million tokens for a model (or `*` pattern): input/output[/cached input], e.g. prices.deepseek-chat = 0.28/0.42/0.028; otherwise the catalogue's price.",
            "某个模型（或 `*` 模式）每百万令牌的美元价格：输入/输出[/缓存输入]，例如 prices.deepseek-chat = 0.28/0.42/0.028；未设置时使用内置目录的价格。"
        ]
    ),
    row!(
        "oauth_client_id",
        Type::Text,
        "",
        Google,
        ["OAuth client ID", "OAuth 客户端 ID"],
        [
            "The Google OAuth desktop client levity signs in with (see README).",
            "levity 用于登录的 Google OAuth 桌面客户端（见 README）。"
        ]
    ),
    row!(
        "oauth_client_secret",
        Type::Secret,
        "",
        Google,
        ["OAuth client secret", "OAuth 客户端密钥"],
        ["That client’s secret.", "该客户端的密钥。"]
    ),
    row!(
        "oauth_auth_url",
        Type::Text,
        "https://accounts.google.com/o/oauth2/v2/auth",
        Own,
        ["OAuth authorize URL", "OAuth 授权地址"],
        [
            "Google’s OAuth authorize endpoint.",
            "Google 的 OAuth 授权端点。"
        ]
    ),
    row!(
        "oauth_token_url",
        Type::Text,
        "https://oauth2.googleapis.com/token",
        Own,
        ["OAuth token URL", "OAuth 令牌地址"],
        [
            "Google’s OAuth token endpoint.",
            "Google 的 OAuth 令牌端点。"
        ]
    ),
    row!(
        "code_assist_endpoints",
        Type::Text,
        "https://daily-cloudcode-pa.sandbox.googleapis.com,https://cloudcode-pa.googleapis.com",
        Own,
        ["Code Assist endpoints", "Code Assist 端点"],
        [
            "Code Assist base URLs, tried in order on 404, 429, 5xx or network errors.",
            "Code Assist 基础地址，遇到 404、429、5xx 或网络错误时按顺序尝试。"
        ]
    ),
    row!(
        "background_downgrade",
        Type::Switch,
        "on",
        Own,
        ["Downgrade auxiliary requests", "降级辅助请求"],
        [
            "Send Claude Code’s auxiliary requests (titles, summaries, probes) to the background model.",
            "把 Claude Code 的辅助请求（标题、摘要、探测）发给后台模型。"
        ]
    ),
    row!(
        "background_model",
        Type::Model,
        "gemini-2.5-flash-lite",
        Own,
        ["Background model", "后台模型"],
        [
            "The cheap model that answers auxiliary requests.",
            "回答辅助请求的低成本模型。"
        ]
    ),
    row!(
        "background_markers",
        Type::Text,
        DEFAULT_MARKERS,
        Own,
        ["Auxiliary request markers", "辅助请求标记"],
        [
            "|-separated phrases (one per line in the dashboard). A request whose system prompt or last message contains one is auxiliary; =text matches the whole message.",
            "用 | 分隔的短语（控制台中每行一个）。系统提示或最后一条消息包含其中之一的请求视为辅助请求；=text 表示整条消息完全匹配。"
        ]
    ),
    row!(
        "image_fetch_allow",
        Type::Text,
        "",
        Own,
        ["Image hosts on private networks", "私有网络图片主机"],
        [
            "Comma-separated hosts levity may fetch images from although they are on a private network.",
            "即使位于私有网络，levity 也可以从中获取图片的主机（逗号分隔）。"
        ]
    ),
    row!(
        instance "image_allow_files",
        Type::Switch,
        "off",
        Own,
        ["file:// images", "file:// 图片"],
        [
            "Read file:// images for clients on this machine.",
            "为本机客户端读取 file:// 图片。"
        ]
    ),
    row!(
        instance "log_bodies",
        Type::Switch,
        "off",
        Own,
        ["Keep bodies", "保存请求体"],
        [
            "Keep request and response bodies in the request log, secrets redacted.",
            "在请求日志中保存请求体和响应体（密钥已隐去）。"
        ]
    ),
    row!(
        instance "log_retention_days",
        whole(1, 3_650, "days"),
        "7",
        Log,
        ["Keep the request log (days)", "请求日志保留天数"],
        [
            "Requests, and their bodies if kept, older than this are deleted.",
            "早于此天数的请求（以及保存的请求体）会被删除。"
        ]
    ),
    row!(
        instance "log_body_max_kb",
        whole(1, 100 * 1024, "KB"),
        "256",
        Log,
        ["Largest body kept (KB)", "单个请求体上限（KB）"],
        [
            "Each request and response body is cut at this size.",
            "每个请求体和响应体超过此大小的部分会被截断。"
        ]
    ),
    row!(
        instance "log_bodies_max_mb",
        whole(1, 1 << 20, "MB"),
        "256",
        Log,
        ["Room for bodies (MB)", "请求体总空间（MB）"],
        [
            "When kept bodies take more than this in the data file, the oldest go first.",
            "保存的请求体在数据文件中超过此大小时，最早的先删除。"
        ]
    ),
    row!(
        "cors_origins",
        Type::Origins,
        "",
        Own,
        ["Browser origins", "浏览器来源"],
        [
            "Comma-separated web origins whose pages may call the proxy from a browser (https://app.example, or *); the admin API never answers other origins.",
            "允许其网页从浏览器调用代理的来源（逗号分隔，如 https://app.example，或 *）；管理 API 从不响应其他来源。"
        ]
    ),
    row!(
        "public_host",
        Type::Text,
        "",
        Own,
        ["Public host name", "公开主机名"],
        [
            "A host name, besides localhost, that may reach the admin API (for a reverse proxy).",
            "除 localhost 外可以访问管理 API 的主机名（用于反向代理）。"
        ]
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check_and_keys_are_unique() {
        for (i, row) in SETTINGS.iter().enumerate() {
            let key = row.key.replace("<tier>", "free").replace("<model>", "m");
            assert_eq!(
                super::super::check(row, &key, row.default),
                Ok(()),
                "{}",
                row.key
            );
            assert!(
                SETTINGS[..i].iter().all(|r| r.key != row.key),
                "{} twice",
                row.key
            );
            assert!(!row.label.zh.is_empty() && !row.help.zh.is_empty());
        }
    }

    #[test]
    fn families_name_their_members_only() {
        let map = find("model_map.gpt-4o*").unwrap();
        assert_eq!(map.key, "model_map.<pattern>");
        assert!(find("model_map.").is_none());
        assert!(find("colour").is_none());
        assert!(find("oauth_client_secret").unwrap().sealed());
    }
}
