//! Whose fault an upstream failure is, read from the upstream's own status
//! and error body: one table per provider, each row a documented error (or
//! one users pasted in a bug report), with its source.
//!
//! Status alone misleads: Gemini reports a revoked key as 400
//! `INVALID_ARGUMENT`, Anthropic an empty balance as 400
//! `invalid_request_error`, OpenAI an empty balance as 429, Zhipu both as
//! 429. So rows match the body first (type, code, `ErrorInfo.reason`,
//! `QuotaFailure` quota ids, message text) and fall back on the status.

use crate::error::{Blame, Broken, Error, Kind, Overflow, Span};
use crate::store::ProviderKind;
use serde_json::Value;

/// What an error body says, in any of the providers' shapes: Google's
/// `{"error": {"code", "message", "status", "details"}}` (sometimes in a
/// one-element array), Anthropic's `{"type": "error", "error": {"type",
/// "message"}}`, OpenAI's `{"error": {"message", "type", "param", "code"}}`,
/// Ollama's `{"error": "..."}` and OAuth's `{"error", "error_description"}`.
#[derive(Debug, Default)]
struct Said {
    status: u16,
    /// Google's `error.status`, Anthropic's and OpenAI's `error.type`.
    kind: String,
    /// OpenAI's `error.code` (Zhipu's business code), OAuth's `error`.
    code: String,
    /// Every `google.rpc.ErrorInfo.reason`.
    reasons: Vec<String>,
    /// Every `google.rpc.QuotaFailure` violation's `quotaId` and
    /// `quotaValue` (the limit, as a decimal string).
    quota_ids: Vec<String>,
    quota_values: Vec<Option<u64>>,
    /// The message, lowercased for matching.
    message: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl Said {
    fn read(status: u16, body: &[u8]) -> Said {
        let mut said = Said {
            status,
            ..Said::default()
        };
        let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
            return said;
        };
        // streamGenerateContent without alt=sse answers errors in an array.
        if let Value::Array(items) = &mut v {
            v = items.first().cloned().unwrap_or_default();
        }
        let err = &v["error"];
        if let Value::String(s) = err {
            said.code = s.clone();
            said.message = text(&v["error_description"]);
            if said.message.is_empty() {
                said.message = s.clone();
            }
        } else {
            said.message = text(&err["message"]);
            said.kind = text(if err["status"].is_string() {
                &err["status"]
            } else {
                &err["type"]
            });
            if !err["code"].is_u64() || err["status"].is_null() {
                said.code = text(&err["code"]);
            }
            for d in err["details"].as_array().into_iter().flatten() {
                if let Some(r) = d["reason"].as_str() {
                    said.reasons.push(r.to_string());
                }
                for q in d["violations"].as_array().into_iter().flatten() {
                    if let Some(id) = q["quotaId"].as_str() {
                        said.quota_ids.push(id.to_string());
                        said.quota_values
                            .push(q["quotaValue"].as_str().and_then(|v| v.parse().ok()));
                    }
                }
            }
        }
        said.message.make_ascii_lowercase();
        said
    }
}

/// One documented error. Every field given must match; the first row that
/// matches decides.
pub struct Row {
    status: Option<u16>,
    kind: Option<&'static str>,
    code: Option<&'static str>,
    reason: Option<&'static str>,
    /// A substring of a violated quota's id.
    quota: Option<&'static str>,
    /// A lowercase substring of the message.
    says: Option<&'static str>,
    blame: Blame,
}

const ANY: Row = Row {
    status: None,
    kind: None,
    code: None,
    reason: None,
    quota: None,
    says: None,
    blame: Blame::Transient,
};

impl Row {
    fn matches(&self, s: &Said) -> bool {
        self.status.is_none_or(|x| x == s.status)
            && self.kind.is_none_or(|x| x.eq_ignore_ascii_case(&s.kind))
            && self.code.is_none_or(|x| x.eq_ignore_ascii_case(&s.code))
            && self.reason.is_none_or(|x| s.reasons.iter().any(|r| r == x))
            && self
                .quota
                .is_none_or(|x| s.quota_ids.iter().any(|q| q.contains(x)))
            && self.says.is_none_or(|x| s.message.contains(x))
    }
}

use Blame::{Account, Client, Model, Quota, Transient};
use Broken::{Billing, Credentials, Permission, Region, Setup, Suspended};

/// The Gemini API (generativelanguage.googleapis.com). Errors:
/// ai.google.dev/gemini-api/docs/troubleshooting; quotas, per project and
/// per day reset at midnight Pacific: ai.google.dev/gemini-api/docs/rate-limits.
pub const GEMINI: &[Row] = &[
    // 400 INVALID_ARGUMENT + ErrorInfo API_KEY_INVALID, for wrong, deleted
    // and expired keys alike ("API key not valid", "API Key not found",
    // "API key expired"): continuedev/continue#8516, #11336,
    // google-gemini/gemini-cli#25198.
    Row {
        reason: Some("API_KEY_INVALID"),
        blame: Account(Credentials),
        ..ANY
    },
    // 400 FAILED_PRECONDITION "User location is not supported for the API
    // use." (gemini-cli#24641); "... without a billing account linked"
    // (u14app/neo-chat#7); the free tier unavailable in the country until
    // billing is enabled (troubleshooting page).
    Row {
        kind: Some("FAILED_PRECONDITION"),
        says: Some("billing"),
        blame: Account(Billing),
        ..ANY
    },
    Row {
        kind: Some("FAILED_PRECONDITION"),
        blame: Account(Region),
        ..ANY
    },
    // 401 UNAUTHENTICATED (a key sent as a bearer token, an expired OAuth
    // token): gemini-cli#29275.
    Row {
        status: Some(401),
        blame: Account(Credentials),
        ..ANY
    },
    // 403 PERMISSION_DENIED "Your API key was reported as leaked. Please use
    // another API key." (continuedev/continue#10513).
    Row {
        status: Some(403),
        says: Some("reported as leaked"),
        blame: Account(Credentials),
        ..ANY
    },
    // 403 + CONSUMER_SUSPENDED "Consumer 'api_key:...' has been suspended."
    // (google/generative-ai-docs#356).
    Row {
        reason: Some("CONSUMER_SUSPENDED"),
        blame: Account(Suspended),
        ..ANY
    },
    // 403 + SERVICE_DISABLED "Generative Language API has not been used in
    // project N before or it is disabled" (generative-ai-docs#74), and
    // API_KEY_SERVICE_BLOCKED, a key restricted to other APIs
    // (continuedev/continue#12781).
    Row {
        status: Some(403),
        blame: Account(Permission),
        ..ANY
    },
    // 404 NOT_FOUND "models/X is not found for API version v1beta, or is not
    // supported for generateContent" (google/adk-python#200).
    Row {
        status: Some(404),
        blame: Model,
        ..ANY
    },
    // 429 "Quota exceeded for metric: ..., limit: 0": the project's tier has
    // no quota for this model at all; gemini-cli treats it as terminal
    // (packages/core/src/utils/googleQuotaErrors.ts).
    Row {
        status: Some(429),
        says: Some("limit: 0"),
        blame: Model,
        ..ANY
    },
    // 429 RESOURCE_EXHAUSTED + QuotaFailure quotaId
    // GenerateRequestsPerDayPerProjectPerModel-FreeTier (with a RetryInfo of
    // seconds that does not bring the day back): googleapis/python-genai#2044,
    // discuss.ai.google.dev/t/109581. Any day violation makes it a day quota.
    Row {
        status: Some(429),
        quota: Some("PerDay"),
        blame: Quota(Span::Day),
        ..ANY
    },
    // ...PerMinute... quota ids, the older RATE_LIMIT_EXCEEDED ErrorInfo, or
    // no detail at all: a minute's wait or the RetryInfo.
    Row {
        status: Some(429),
        blame: Quota(Span::Minute),
        ..ANY
    },
    // 500 INTERNAL, 503 UNAVAILABLE "The model is overloaded. Please try
    // again later." (gemini-cli#15745), 504 DEADLINE_EXCEEDED.
];

/// Code Assist (cloudcode-pa.googleapis.com, Google sign-in accounts),
/// before the Gemini rows it shares: gemini-cli's
/// packages/core/src/utils/googleQuotaErrors.ts and its tests.
pub const CODE_ASSIST: &[Row] = &[
    // 429 + QUOTA_EXHAUSTED "You have exhausted your capacity on this model.
    // Your quota will reset after 161h39m41s." with quotaResetTimeStamp
    // (gemini-cli#29425, liuw1535/antigravity2api-nodejs#44): resets when it
    // says, not at midnight.
    Row {
        reason: Some("QUOTA_EXHAUSTED"),
        blame: Quota(Span::Stated),
        ..ANY
    },
    // 429 / 503 + MODEL_CAPACITY_EXHAUSTED "No capacity available for model
    // X on the server": Google's capacity, not the account's quota.
    Row {
        reason: Some("MODEL_CAPACITY_EXHAUSTED"),
        blame: Transient,
        ..ANY
    },
    Row {
        reason: Some("INSUFFICIENT_G1_CREDITS_BALANCE"),
        blame: Account(Billing),
        ..ANY
    },
    // 403 + VALIDATION_REQUIRED "Validation required to continue." (the
    // user must verify the account in a browser); 403 + CONSUMER_INVALID
    // "Permission denied on resource project default." (gemini-cli#9991).
    Row {
        reason: Some("VALIDATION_REQUIRED"),
        blame: Account(Setup),
        ..ANY
    },
    Row {
        reason: Some("CONSUMER_INVALID"),
        blame: Account(Setup),
        ..ANY
    },
    // 403 "The caller does not have permission" (gemini-cli#25607): the
    // account is not provisioned for Code Assist.
    Row {
        status: Some(403),
        blame: Account(Permission),
        ..ANY
    },
    // OAuth token endpoint: 400 {"error": "invalid_grant", "error_description":
    // "Token has been expired or revoked."} (dolfim/django-gmailapi-backend#9).
    Row {
        code: Some("invalid_grant"),
        blame: Account(Credentials),
        ..ANY
    },
];

/// Anthropic Messages: docs.claude.com/en/api/errors (400
/// invalid_request_error, 401 authentication_error, 403 permission_error,
/// 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 500
/// api_error, 529 overloaded_error).
pub const ANTHROPIC: &[Row] = &[
    // 400 "Your credit balance is too low to access the Anthropic API. Please
    // go to Plans & Billing to upgrade or purchase credits."
    // (anthropics/claude-code#66314, claude-quickstarts#229).
    Row {
        says: Some("credit balance is too low"),
        blame: Account(Billing),
        ..ANY
    },
    // 400 "This organization has been disabled." (claude-code#19028).
    Row {
        says: Some("organization has been disabled"),
        blame: Account(Suspended),
        ..ANY
    },
    // 401 "invalid x-api-key" (opencode-websearch#15).
    Row {
        status: Some(401),
        blame: Account(Credentials),
        ..ANY
    },
    // 402 billing_error: listed by third parties only; a payment problem
    // whatever its type.
    Row {
        status: Some(402),
        blame: Account(Billing),
        ..ANY
    },
    // 403 permission_error "Permission denied" (claude-code#51610).
    Row {
        status: Some(403),
        blame: Account(Permission),
        ..ANY
    },
    // 404 not_found_error "model: claude-3-5-sonnet-20241022"
    // (mattermost-plugin-agents#257).
    Row {
        status: Some(404),
        blame: Model,
        ..ANY
    },
    // 429 rate_limit_error "This request would exceed the rate limit for your
    // organization ... of 30,000 input tokens per minute" with retry-after
    // (continuedev/continue#9623): per-minute token buckets.
    Row {
        status: Some(429),
        blame: Quota(Span::Minute),
        ..ANY
    },
];

/// OpenAI (developers.openai.com/docs/guides/error-codes) and the hosts that
/// copy its API: DeepSeek (api-docs.deepseek.com/quick_start/error_codes),
/// Zhipu GLM (docs.bigmodel.cn/cn/api/api-code), OpenRouter
/// (openrouter.ai/docs/api/reference/errors-and-debugging), Ollama.
pub const OPENAI: &[Row] = &[
    // 429 insufficient_quota "You exceeded your current quota, please check
    // your plan and billing details." (ChatGPTNextWeb/NextChat#3664): no
    // credit, not a rate limit.
    Row {
        code: Some("insufficient_quota"),
        blame: Account(Billing),
        ..ANY
    },
    Row {
        kind: Some("insufficient_quota"),
        blame: Account(Billing),
        ..ANY
    },
    // 403 unsupported_country_region_territory "Country, region, or territory
    // not supported" (home-assistant/core#120072).
    Row {
        code: Some("unsupported_country_region_territory"),
        blame: Account(Region),
        ..ANY
    },
    // 404 model_not_found "The model `gpt-4o` does not exist or you do not
    // have access to it." (also sent with 400); Ollama's 404 "model 'x' not
    // found, try pulling it first" (ollama/ollama#3876).
    Row {
        code: Some("model_not_found"),
        blame: Model,
        ..ANY
    },
    // 400 context_length_exceeded: the request, on any account.
    Row {
        code: Some("context_length_exceeded"),
        blame: Client,
        ..ANY
    },
    // Zhipu answers 429 for all of these, told apart by the business code:
    // 1113 "余额不足或无可用资源包,请充值。" / "Insufficient balance or no
    // resource package" (zai-org/GLM-5#148), 1309 plan expired; 1110-1112,
    // 1121 account inactive or locked; 1304 the day's call limit.
    Row {
        code: Some("1113"),
        blame: Account(Billing),
        ..ANY
    },
    Row {
        code: Some("1309"),
        blame: Account(Billing),
        ..ANY
    },
    Row {
        code: Some("1112"),
        blame: Account(Suspended),
        ..ANY
    },
    Row {
        code: Some("1121"),
        blame: Account(Suspended),
        ..ANY
    },
    Row {
        code: Some("1304"),
        blame: Quota(Span::Day),
        ..ANY
    },
    // OpenRouter: 403 when moderation flags the input: the request's fault.
    Row {
        status: Some(403),
        says: Some("flagged"),
        blame: Client,
        ..ANY
    },
    // 401 "Incorrect API key provided" (invalid_api_key); DeepSeek
    // "Authentication Fails, Your api key ... is invalid" (droidrun#28).
    Row {
        status: Some(401),
        blame: Account(Credentials),
        ..ANY
    },
    // DeepSeek 402 "Insufficient Balance" (Aider-AI/aider#4851); OpenRouter
    // 402 insufficient credits.
    Row {
        status: Some(402),
        blame: Account(Billing),
        ..ANY
    },
    Row {
        status: Some(403),
        blame: Account(Permission),
        ..ANY
    },
    Row {
        status: Some(404),
        blame: Model,
        ..ANY
    },
    // 429 rate_limit_exceeded "Rate limit reached for o4-mini ... Please try
    // again in 1.574s." (openai/codex#88); DeepSeek "Rate Limit Reached";
    // Zhipu 1302 / 1303 concurrency and frequency.
    Row {
        status: Some(429),
        blame: Quota(Span::Minute),
        ..ANY
    },
];

/// What any provider means by a status the tables do not name.
fn by_status(status: u16) -> Blame {
    match status {
        401 => Account(Credentials),
        402 => Account(Billing),
        403 => Account(Permission),
        404 => Model,
        429 => Quota(Span::Minute),
        408 | 409 | 425 | 500..=599 => Transient,
        400..=499 => Client,
        _ => Transient,
    }
}

/// Whose fault an upstream's failed answer is.
pub fn blame(kind: ProviderKind, status: u16, body: &[u8]) -> Blame {
    judge(kind, &Said::read(status, body))
}

fn judge(kind: ProviderKind, said: &Said) -> Blame {
    let tables = kind.descriptor().errors;
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|row| row.matches(said))
        .map_or_else(|| by_status(said.status), |row| row.blame)
}

/// The request limit of the spent quota a `Quota(span)` blame names, from
/// the request-count violations (`GenerateRequestsPer{Minute,Day}...`):
/// what this project's tier really allows for the model.
fn quota_limit(said: &Said, span: Span) -> Option<u64> {
    let window = match span {
        Span::Minute => "PerMinute",
        Span::Day => "PerDay",
        Span::Stated => return None,
    };
    said.quota_ids
        .iter()
        .zip(&said.quota_values)
        .find(|(id, _)| id.contains("Requests") && id.contains(window))
        .and_then(|(_, v)| *v)
}

/// The whole numbers in a message, in order.
fn numbers(message: &str) -> Vec<u64> {
    message
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// A prompt longer than the model's window, in each provider's words:
/// Gemini "The input token count (1196265) exceeds the maximum number of
/// tokens allowed (1048575)." (400 INVALID_ARGUMENT; sometimes without the
/// count), OpenAI "This model's maximum context length is 4096 tokens.
/// However, you requested 4118 tokens" (`context_length_exceeded`),
/// Anthropic "prompt is too long: 208310 tokens > 200000 maximum"
/// (anthropics/claude-code#12186).
fn overflow(said: &Said) -> Option<Overflow> {
    let m = &said.message;
    let n = numbers(m);
    if m.contains("input token count") && m.contains("exceeds the maximum") {
        let (tokens, max) = match n[..] {
            [t, x, ..] => (Some(t), Some(x)),
            [x] => (None, Some(x)),
            [] => (None, None),
        };
        return Some(Overflow { tokens, max });
    }
    if m.contains("maximum context length") || said.code == "context_length_exceeded" {
        return Some(Overflow {
            max: n.first().copied(),
            tokens: n.get(1).copied(),
        });
    }
    if m.contains("prompt is too long") {
        return Some(Overflow {
            tokens: n.first().copied(),
            max: n.get(1).copied(),
        });
    }
    None
}

/// An upstream's failed answer as an error: the protocol's message, the
/// blame, and the kind of error a client would see if no account succeeds.
pub fn upstream_error(kind: ProviderKind, status: u16, body: &[u8]) -> Error {
    let mut err = kind.descriptor().protocol.decode_error(status, body);
    let said = Said::read(status, body);
    let blame = judge(kind, &said);
    if let Quota(span) = blame {
        err.quota_limit = quota_limit(&said, span);
    }
    err.overflow = overflow(&said);
    err.kind = match blame {
        Client => err.kind,
        Account(_) => Kind::PermissionDenied,
        Quota(_) => Kind::RateLimited,
        Model => Kind::NotFound,
        Transient if matches!(err.kind, Kind::Unavailable | Kind::Timeout) => err.kind,
        Transient => Kind::Upstream,
    };
    err.blame = Some(blame);
    err
}

#[cfg(test)]
mod tests;
