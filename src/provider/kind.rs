//! Upstream kinds: one `Descriptor` each. What levity knows about a kind
//! (its name, address, plan, quota day, protocol, error tables, how its
//! quota is shared, how to call it) is read from its descriptor; the one
//! `match` on the kind is `ProviderKind::descriptor`.

use super::{Call, Decoder, Forward, Rewrite, taxonomy};
use crate::canonical::Request;
use crate::catalogue::Family;
use crate::config::table::Text;
use crate::error::Error;
use crate::protocol::Protocol;
use crate::scheduler::Zone;
use crate::store::{Account, Tier};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Gemini,
    Anthropic,
    Openai,
    /// A Google account signed in with OAuth, served by the Code Assist API.
    #[serde(rename = "google-oauth")]
    GoogleOauth,
    /// OpenAI's Responses API (`openai --wire responses`): GPT-5 and codex models.
    #[serde(rename = "openai-responses")]
    OpenaiResponses,
}

/// What a call to an upstream needs: its answer head and the decoder for it.
pub type Sent = Result<(reqwest::Response, Decoder), Error>;

/// Sends a translated request (`stream`: as a stream).
pub type SendFn = for<'a> fn(&'a Call, &'a Request, bool) -> BoxFuture<'a, Sent>;
/// Sends a client's body as it came, model renamed (pass-through).
pub type ForwardFn =
    for<'a> fn(&'a Call, Vec<u8>, &'a Forward) -> BoxFuture<'a, Result<reqwest::Response, Error>>;
/// Input tokens of a request: the upstream's own counter where it has one,
/// else `super::estimate_tokens` of what `send` would send.
pub type CountFn = for<'a> fn(&'a Call, &'a Request) -> BoxFuture<'a, Result<u64, Error>>;
/// Embeds texts (`server::embeddings`), where the kind can.
pub type EmbedFn = for<'a> fn(
    &'a Call,
    &'a crate::canonical::EmbedRequest,
) -> BoxFuture<'a, Result<crate::canonical::Embeddings, Error>>;

/// Everything levity knows about one upstream kind.
pub struct Descriptor {
    pub kind: ProviderKind,
    /// As stored, shown and typed: `gemini`, `openai-responses`, ...
    pub name: &'static str,
    /// What the dashboard calls it.
    pub label: Text,
    /// The provider's public endpoint, as its own SDK takes it.
    pub default_base_url: &'static str,
    /// Accounts must name their host (`--base-url`): the kind is a protocol
    /// many hosts speak.
    pub needs_base_url: bool,
    /// The plan an account starts on.
    pub default_tier: Tier,
    /// Requests per minute / day, tokens per minute of a free-tier account,
    /// where they differ from the Gemini API's free tier.
    pub free_limits: Option<(u64, u64, u64)>,
    /// The protocol its answers are in.
    pub protocol: Protocol,
    /// Clients speaking `protocol` reach it by pass-through, only the model
    /// renamed (Code Assist wraps Gemini's protocol, so it cannot).
    pub passes_through: bool,
    /// It serves the models listed on each account (`--models`).
    pub lists_models: bool,
    /// The catalogue family it serves by name (`gemini-*`, `claude-*`).
    pub family: Option<Family>,
    /// When its per-day quotas start again.
    pub zone: Zone,
    /// Quotas are per model (Google's), not per key.
    pub quota_per_model: bool,
    /// Keys the user grouped under one `--project` share one quota, and
    /// what the dashboard says that group is.
    pub shares_project_quota: Option<Text>,
    /// Accounts come from a sign-in in the browser (their secret is a
    /// refresh token), not from a pasted key.
    pub signs_in: bool,
    /// The upstream reports its quota itself (read in the background).
    pub reports_quota: bool,
    /// It cannot read image addresses: levity fetches them first.
    pub needs_images_inline: bool,
    /// It continues a trailing assistant turn where it stopped (a prefill),
    /// so a stream cut after visible text can be finished on another
    /// account; without it only a cut before any text can be.
    pub continues_prefill: bool,
    /// Its error tables, most specific first (`provider::taxonomy`).
    pub errors: &'static [&'static [taxonomy::Row]],
    pub send: SendFn,
    /// Set when `passes_through`.
    pub forward: Option<ForwardFn>,
    pub count_tokens: CountFn,
    /// Embeddings, where the kind has them.
    pub embed: Option<EmbedFn>,
    /// A change the account's native answers need on their way out.
    pub native_rewrite: Option<fn(&Account) -> Rewrite>,
}

impl ProviderKind {
    /// Every kind, in the order the dashboard offers them.
    pub const ALL: [ProviderKind; 5] = [
        ProviderKind::Gemini,
        ProviderKind::Anthropic,
        ProviderKind::Openai,
        ProviderKind::OpenaiResponses,
        ProviderKind::GoogleOauth,
    ];

    pub fn descriptor(self) -> &'static Descriptor {
        match self {
            ProviderKind::Gemini => &super::gemini::DESCRIPTOR,
            ProviderKind::GoogleOauth => &super::code_assist::DESCRIPTOR,
            ProviderKind::Anthropic => &super::anthropic::DESCRIPTOR,
            ProviderKind::Openai => &super::openai::DESCRIPTOR,
            ProviderKind::OpenaiResponses => &super::openai_responses::DESCRIPTOR,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.descriptor().name
    }

    pub fn default_tier(self) -> Tier {
        self.descriptor().default_tier
    }

    pub fn default_base_url(self) -> &'static str {
        self.descriptor().default_base_url
    }

    pub fn lists_models(self) -> bool {
        self.descriptor().lists_models
    }

    /// The kind clients of `protocol` pass through to, if one does.
    pub fn speaking(protocol: Protocol) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|k| {
            let d = k.descriptor();
            d.passes_through && d.protocol == protocol
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_descriptor_and_name() {
        for kind in ProviderKind::ALL {
            let d = kind.descriptor();
            assert_eq!(d.kind, kind);
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, d.name, "the stored name is the descriptor's");
            assert!(!d.errors.is_empty(), "{}", d.name);
            assert_eq!(d.forward.is_some(), d.passes_through, "{}", d.name);
        }
        for protocol in [
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::Anthropic,
            Protocol::Gemini,
        ] {
            let kind = ProviderKind::speaking(protocol).expect("a native kind");
            assert_eq!(kind.descriptor().protocol, protocol);
        }
    }
}
