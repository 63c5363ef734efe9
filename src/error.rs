//! The one error type a request can end in, and its HTTP status.
//!
//! Each protocol module renders it in its own wire shape; this module only
//! decides what went wrong, whose fault it was and which status says so.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The client sent something we cannot use (400).
    InvalidRequest,
    /// Missing or wrong client key (401).
    Authentication,
    /// The upstream refused the account's credentials (403).
    PermissionDenied,
    /// Unknown model or route (404).
    NotFound,
    /// The change clashes with the state things are in (a port taken) (409).
    Conflict,
    /// The request body is larger than levity takes (413).
    TooLarge,
    /// The client stopped sending its request body (408).
    SlowClient,
    /// The body is not declared as JSON (415).
    NotJson,
    /// Quota exhausted upstream (429).
    RateLimited,
    /// The upstream failed or answered something unusable (502).
    Upstream,
    /// No account can serve the request (503).
    Unavailable,
    /// The upstream did not answer in time (504).
    Timeout,
    /// A bug or an environment problem on our side (500).
    Internal,
}

/// A failed request, with enough context to tell the client what to fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    /// The request field at fault, when there is one.
    pub param: Option<String>,
    /// How long the upstream asked us to wait, in milliseconds (429 and 503).
    pub retry_after_ms: Option<u64>,
    /// The status the upstream answered, when the error came from one.
    pub upstream_status: Option<u16>,
    /// Whose fault an upstream failure is (`provider::taxonomy`); decides
    /// what happens to the account and whether another one is tried.
    pub blame: Option<Blame>,
    /// The limit a spent quota had, where the upstream says it (Gemini's
    /// `QuotaFailure` `quotaValue`): requests per minute or per day, as the
    /// `Blame::Quota` span says.
    pub quota_limit: Option<u64>,
    /// The request is longer than the model's context window, as the
    /// upstream said it; each client protocol says it the way its clients
    /// react to (Claude Code and Codex compact).
    pub overflow: Option<Overflow>,
}

/// A prompt past the model's context window: its tokens and the window,
/// where the upstream gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    pub tokens: Option<u64>,
    pub max: Option<u64>,
}

/// Whose fault an upstream failure is, read from the upstream's own status
/// and error body by `provider::taxonomy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The request itself is wrong: the client hears it, no account suffers.
    Client,
    /// The account cannot serve until its owner acts (a revoked key, no
    /// credit, an unsupported region, an API not enabled): it is marked and
    /// skipped until its secret or settings change.
    Account(Broken),
    /// A quota ran out: the account (or its project) rests until the hint
    /// or the quota's reset.
    Quota(Span),
    /// The upstream had trouble: another account may do better now.
    Transient,
    /// This account cannot serve this model (unknown to it, or a quota of
    /// zero on its tier): accounts that can are tried.
    Model,
}

/// What an account needs from its owner.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Broken {
    /// The key or token was refused (revoked, expired, wrong): replace it.
    Credentials,
    /// No credit or billing: top up or enable billing.
    Billing,
    /// The provider does not serve the place the call comes from.
    Region,
    /// The API is not enabled for the key's project, or the key may not call it.
    Permission,
    /// levity or the account lacks a step of its set-up (an OAuth client,
    /// a Google Cloud project, a verification in the browser).
    Setup,
    /// The provider suspended or disabled the account or its organization.
    Suspended,
}

impl Broken {
    /// What the owner should do, for messages and the dashboard.
    pub fn remedy(self) -> &'static str {
        match self {
            Broken::Credentials => "replace its key or sign in again",
            Broken::Billing => "add credit or enable billing at the provider",
            Broken::Region => "call from a supported region (an outbound proxy) or remove it",
            Broken::Permission => "enable the API for its project or use a key that may call it",
            Broken::Setup => "finish its set-up",
            Broken::Suspended => "ask the provider why it was disabled, or remove it",
        }
    }
}

/// Which window a spent quota belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Per minute (or unknown and short): the hint, else a short growing rest.
    Minute,
    /// Per day: back at the provider's daily reset, never sooner.
    Day,
    /// A longer quota whose reset the upstream states (Code Assist's
    /// `quotaResetTimeStamp`): back then; without a statement, in a day.
    Stated,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            param: None,
            retry_after_ms: None,
            upstream_status: None,
            blame: None,
            quota_limit: None,
            overflow: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidRequest, message)
    }

    /// A 400 that names the offending field.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Error {
            param: Some(param.to_string()),
            ..Self::invalid(message)
        }
    }

    /// A JSON body that did not parse, naming the field serde complained about.
    pub fn from_json(err: &serde_json::Error) -> Self {
        let text = err.to_string();
        let param = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("missing field") || text.starts_with("unknown variant"))
            .map(str::to_string);
        Error {
            param,
            ..Self::invalid(format!("invalid request body: {text}"))
        }
    }

    pub fn status(&self) -> u16 {
        match self.kind {
            Kind::InvalidRequest => 400,
            Kind::Authentication => 401,
            Kind::PermissionDenied => 403,
            Kind::NotFound => 404,
            Kind::Conflict => 409,
            Kind::TooLarge => 413,
            Kind::SlowClient => 408,
            Kind::NotJson => 415,
            Kind::RateLimited => 429,
            Kind::Upstream => 502,
            Kind::Unavailable => 503,
            Kind::Timeout => 504,
            Kind::Internal => 500,
        }
    }

    /// An upstream's refusal of a thinking signature in the history.
    pub fn is_signature_refusal(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        self.kind == Kind::InvalidRequest
            && (m.contains("signature")
                || m.contains("expected `thinking`")
                // OpenAI's `invalid_encrypted_content` (openai/codex#8145).
                || m.contains("encrypted content"))
    }

    /// Whether another account might succeed where this one failed.
    pub fn retryable(&self) -> bool {
        if let Some(blame) = self.blame {
            return blame != Blame::Client;
        }
        matches!(
            self.kind,
            Kind::RateLimited | Kind::Upstream | Kind::Timeout | Kind::PermissionDenied
        ) || matches!(self.upstream_status, Some(401 | 408 | 500..=599))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Maps an upstream HTTP status to the error a client should see.
pub fn from_upstream(status: u16, message: String) -> Error {
    let kind = match status {
        400 | 413 | 422 => Kind::InvalidRequest,
        401 | 403 => Kind::PermissionDenied,
        404 => Kind::NotFound,
        429 => Kind::RateLimited,
        408 | 504 => Kind::Timeout,
        503 | 529 => Kind::Unavailable,
        _ => Kind::Upstream,
    };
    Error {
        upstream_status: Some(status),
        ..Error::new(kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_field() {
        let err = serde_json::from_str::<Probe>("{}").unwrap_err();
        let e = Error::from_json(&err);
        assert_eq!(e.param.as_deref(), Some("messages"));
        assert_eq!(e.status(), 400);
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Probe {
        messages: Vec<String>,
    }
}
