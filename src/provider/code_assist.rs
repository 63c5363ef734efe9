//! Google accounts signed in with OAuth, served by the Code Assist API.
//!
//! The account's secret is its refresh token. Access tokens are refreshed
//! shortly before they expire, under a per-account lock so concurrent
//! requests refresh once; the Code Assist project is discovered once
//! (`loadCodeAssist`, onboarding where needed) and kept. Each call tries the
//! configured endpoints in order (the daily endpoint, then production) on
//! 404, 429, 5xx or network errors before the account is given up.

use super::kind::{Descriptor, Sent};
use super::{Call, Decoder, taxonomy};
use crate::canonical::Request;
use crate::catalogue::Family;
use crate::error::{Blame, Broken, Error, Kind};
use crate::protocol::Protocol;
use crate::protocol::gemini::{self, code_assist};
use crate::scheduler::Zone;
use crate::store::{ProviderKind, Tier};
use crate::util::now_ms;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Refresh this long before the access token expires.
const EARLY_MS: u64 = 120_000;
/// How often an onboarding operation is polled.
const ONBOARD_POLL: Duration = Duration::from_secs(2);

#[derive(Default)]
struct TokenState {
    access: String,
    expires_ms: u64,
    project: Option<String>,
}

/// Access tokens and projects of every OAuth account, in memory only.
#[derive(Default)]
pub struct Tokens {
    accounts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<TokenState>>>>,
    /// In cluster mode: the access tokens the instances share, so one
    /// refreshes and the others use its token.
    pub share: std::sync::OnceLock<Arc<dyn TokenShare>>,
}

/// An access token and when it expires (Unix ms, this machine's clock).
pub type Token = (String, u64);

/// Access tokens shared by the instances of a cluster. Without Redis,
/// `get` finds nothing and `claim` grants: each instance refreshes alone.
pub trait TokenShare: Send + Sync {
    /// The account's token another instance refreshed, if any.
    fn get<'a>(&'a self, account: &'a str) -> BoxFuture<'a, Option<Token>>;
    /// Claims the refresh of the account's token for a while: `false`
    /// while another instance holds the claim.
    fn claim<'a>(&'a self, account: &'a str) -> BoxFuture<'a, bool>;
    fn put<'a>(&'a self, account: &'a str, token: &'a Token) -> BoxFuture<'a, ()>;
}

/// How long an instance waits for another's refresh before its own.
const SHARED_WAIT: Duration = Duration::from_secs(5);

/// A token good for `EARLY_MS` more: the cluster's, else one this
/// instance refreshes under the cluster's claim, else its own.
async fn fresh_token(call: &Call) -> Result<Token, Error> {
    match call.up.tokens().share.get() {
        Some(share) => shared_token(&**share, &call.acc.id, || refresh(call)).await,
        None => refresh(call).await,
    }
}

async fn shared_token<F: Future<Output = Result<Token, Error>>>(
    share: &dyn TokenShare,
    id: &str,
    refresh: impl FnOnce() -> F,
) -> Result<Token, Error> {
    let usable = |t: &Token| t.1 >= now_ms() + EARLY_MS;
    let give_up = std::time::Instant::now() + SHARED_WAIT;
    while std::time::Instant::now() < give_up {
        if let Some(t) = share.get(id).await.filter(usable) {
            return Ok(t);
        }
        if share.claim(id).await {
            // Another instance may have stored its token and let go of its
            // claim between the look above and this claim: look once more,
            // or the cluster refreshes twice.
            if let Some(t) = share.get(id).await.filter(usable) {
                return Ok(t);
            }
            let t = refresh().await?;
            share.put(id, &t).await;
            return Ok(t);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    refresh().await
}

impl Tokens {
    fn slot(&self, account: &str) -> Arc<tokio::sync::Mutex<TokenState>> {
        self.accounts
            .lock()
            .expect("tokens lock")
            .entry(account.to_string())
            .or_default()
            .clone()
    }

    /// Forgets an account's tokens (its refresh token changed).
    pub fn forget(&self, account: &str) {
        self.accounts.lock().expect("tokens lock").remove(account);
    }
}

fn auth_error(e: &reqwest::Error, host: &str) -> Error {
    super::transport_error(host, e)
}

/// A fresh access token from the refresh token.
async fn refresh(call: &Call) -> Result<(String, u64), Error> {
    let (acc, oauth) = (&call.acc, &call.oauth);
    let (Some(id), Some(secret)) = (&oauth.client_id, &oauth.client_secret) else {
        return Err(Error {
            blame: Some(Blame::Account(Broken::Setup)),
            ..Error::new(
                Kind::PermissionDenied,
                "Google OAuth accounts need an OAuth client: set oauth_client_id and oauth_client_secret (see README)",
            )
        });
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", acc.secret.expose()),
        ("client_id", id),
        ("client_secret", secret),
    ];
    let host = super::host_of(&oauth.token_url).to_string();
    let resp = call
        .client()
        .post(&oauth.token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| auth_error(&e, &host))?;
    let status = resp.status().as_u16();
    let body = super::read_whole(call, resp).await?;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if status != 200 {
        let code = v["error"].as_str().unwrap_or("");
        let what = v["error_description"].as_str().unwrap_or(code);
        // A revoked or expired grant will not come back: the user must sign in again.
        let (kind, blame) = if code == "invalid_grant" || status == 401 {
            (Kind::PermissionDenied, Blame::Account(Broken::Credentials))
        } else {
            (Kind::Upstream, Blame::Transient)
        };
        return Err(Error {
            upstream_status: Some(status),
            blame: Some(blame),
            ..Error::new(
                kind,
                format!(
                    "Google refused the refresh token of `{}` ({code}: {what}); sign in again",
                    acc.name
                ),
            )
        });
    }
    let access = v["access_token"].as_str().unwrap_or_default().to_string();
    if access.is_empty() {
        return Err(Error::new(
            Kind::Upstream,
            "Google's token answer had no access_token",
        ));
    }
    let expires_ms = now_ms() + v["expires_in"].as_u64().unwrap_or(3_600) * 1_000;
    Ok((access, expires_ms))
}

/// POSTs a Code Assist method, trying each endpoint in turn.
async fn post(
    call: &Call,
    method: &str,
    access: &str,
    body: Vec<u8>,
) -> Result<reqwest::Response, Error> {
    let mut last = None;
    for base in &call.oauth.code_assist {
        let builder = call
            .client()
            .post(super::method_url(base, "/v1internal", "", method))
            .bearer_auth(access)
            .header("content-type", "application/json")
            .body(body.clone());
        match super::send(
            builder,
            super::host_of(base),
            call.timeout,
            ProviderKind::GoogleOauth,
        )
        .await
        {
            Ok(resp) => return Ok(resp),
            Err(e)
                if matches!(e.upstream_status, Some(404 | 429 | 500..=599))
                    || e.upstream_status.is_none() =>
            {
                tracing::debug!(endpoint = %super::host_of(base), error = %e, "Code Assist endpoint failed; trying the next");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last
        .unwrap_or_else(|| Error::new(Kind::Unavailable, "no Code Assist endpoint is configured")))
}

/// The account's access token and project, refreshed or discovered as needed.
async fn session(call: &Call) -> Result<(String, String), Error> {
    let slot = call.up.tokens().slot(&call.acc.id);
    let mut st = slot.lock().await;
    if st.expires_ms < now_ms() + EARLY_MS {
        let (access, expires) = fresh_token(call).await?;
        st.access = access;
        st.expires_ms = expires;
    }
    if st.project.is_none() {
        st.project = Some(discover(call, &st.access).await?);
    }
    Ok((st.access.clone(), st.project.clone().expect("just set")))
}

/// Finds the account's Code Assist project, onboarding it if Google asks.
async fn discover(call: &Call, access: &str) -> Result<String, Error> {
    let acc = &call.acc;
    let configured = acc.project.as_deref();
    let resp = post(
        call,
        "loadCodeAssist",
        access,
        code_assist::load_request(configured),
    )
    .await?;
    let body = super::read_whole(call, resp).await?;
    match code_assist::decode_load(&body, configured)? {
        code_assist::Setup::Ready { project } => Ok(project),
        // Ineligible tiers (UNSUPPORTED_LOCATION, VALIDATION_REQUIRED, ...).
        code_assist::Setup::Blocked { reason } => Err(Error {
            blame: Some(Blame::Account(Broken::Setup)),
            ..Error::new(Kind::PermissionDenied, format!("`{}`: {reason}", acc.name))
        }),
        code_assist::Setup::Onboard { tier } => {
            for _ in 0..10 {
                let body = code_assist::onboard_request(&tier, configured);
                let resp = post(call, "onboardUser", access, body).await?;
                let (done, project) =
                    code_assist::decode_onboard(&super::read_whole(call, resp).await?)?;
                if done {
                    return project
                        .or(configured.map(str::to_string))
                        .ok_or_else(|| Error {
                            blame: Some(Blame::Account(Broken::Setup)),
                            ..Error::new(
                                Kind::PermissionDenied,
                                format!(
                                    "`{}` was onboarded without a project: set one with --project",
                                    acc.name
                                ),
                            )
                        });
                }
                tokio::time::sleep(ONBOARD_POLL).await;
            }
            Err(Error::new(
                Kind::Upstream,
                format!("onboarding `{}` to Code Assist did not finish", acc.name),
            ))
        }
    }
}

/// Sends a generate request; returns the response head and its decoder.
fn send<'a>(call: &'a Call, req: &'a Request, stream: bool) -> BoxFuture<'a, Sent> {
    Box::pin(async move {
        let (access, project) = session(call).await?;
        let inner = gemini::encode_request(req, &call.model);
        let body = code_assist::wrap_request(&inner, &call.model, &project);
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        let resp = post(call, method, &access, body).await?;
        let decoder =
            code_assist::Decoder(gemini::StreamDecoder::new(call.id.clone(), &call.model));
        Ok((resp, Box::new(decoder) as Decoder))
    })
}

fn count_tokens<'a>(call: &'a Call, req: &'a Request) -> BoxFuture<'a, Result<u64, Error>> {
    Box::pin(async move {
        let (access, _) = session(call).await?;
        let body = code_assist::wrap_count_tokens(
            &gemini::encode_count_contents(req, &call.model),
            &call.model,
        );
        let resp = post(call, "countTokens", &access, body).await?;
        gemini::decode_count_tokens(&super::read_whole(call, resp).await?).ok_or_else(|| {
            Error::new(
                Kind::Upstream,
                "Code Assist sent a token count levity cannot read",
            )
        })
    })
}

/// What is left of each model's quota, from `retrieveUserQuota`.
pub async fn quota(call: &Call) -> Result<Vec<code_assist::Bucket>, Error> {
    let (access, project) = session(call).await?;
    let body = serde_json::json!({"project": project})
        .to_string()
        .into_bytes();
    let resp = post(call, "retrieveUserQuota", &access, body).await?;
    code_assist::decode_quota(&super::read_whole(call, resp).await?)
}

/// Trades an OAuth authorization code for the account's refresh token,
/// through `client` (so through the outbound proxy, where one is set).
pub async fn exchange_code(
    client: &reqwest::Client,
    oauth: &crate::config::OauthSettings,
    code: &str,
    redirect: &str,
) -> Result<String, String> {
    let (Some(id), Some(secret)) = (&oauth.client_id, &oauth.client_secret) else {
        return Err(
            "set oauth_client_id and oauth_client_secret first (see README: Google accounts)"
                .into(),
        );
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let resp = client
        .post(&oauth.token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("cannot reach Google's token endpoint: {e}"))?;
    let v: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    match v["refresh_token"].as_str() {
        Some(t) => Ok(t.to_string()),
        None => Err(format!(
            "Google returned no refresh token ({})",
            v["error_description"]
                .as_str()
                .or(v["error"].as_str())
                .unwrap_or("unknown reason")
        )),
    }
}

/// The Google sign-in address for `redirect` and `state`.
pub fn authorize_url(
    oauth: &crate::config::OauthSettings,
    redirect: &str,
    state: &str,
) -> Result<String, String> {
    let id = oauth.client_id.as_deref().ok_or(
        "sign-in needs your own Google OAuth client: create a desktop OAuth client in the Google Cloud \
         console, then `levity config set oauth_client_id ID` and `levity config set oauth_client_secret SECRET` \
         (README: Google accounts); or pass --refresh-token",
    )?;
    if oauth.client_secret.is_none() {
        return Err("set oauth_client_secret too (README: Google accounts)".into());
    }
    Ok(format!(
        "{}?client_id={}&redirect_uri={}&response_type=code&scope={}&access_type=offline&prompt=consent&state={state}",
        oauth.auth_url,
        escape(id),
        escape(redirect),
        escape(SCOPES)
    ))
}

const SCOPES: &str = "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile";

/// Percent-encodes a URL component.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A Google sign-in: Code Assist wraps Gemini's protocol (no pass-through),
/// reports its quota itself, and its project's quota is the user's own.
/// On the free tier: "60 requests/min and 1,000 requests/day"
/// (github.com/google-gemini/gemini-cli, README).
pub static DESCRIPTOR: Descriptor = Descriptor {
    kind: ProviderKind::GoogleOauth,
    name: "google-oauth",
    label: crate::config::table::Text {
        en: "Google sign-in",
        zh: "Google 登录",
    },
    default_base_url: "https://cloudcode-pa.googleapis.com",
    needs_base_url: false,
    default_tier: Tier::Free,
    free_limits: Some((60, 1_000, 0)),
    protocol: Protocol::Gemini,
    passes_through: false,
    lists_models: false,
    family: Some(Family::Gemini),
    zone: Zone::Pacific,
    quota_per_model: true,
    shares_project_quota: None,
    signs_in: true,
    reports_quota: true,
    needs_images_inline: true,
    continues_prefill: true,
    errors: &[taxonomy::CODE_ASSIST, taxonomy::GEMINI],
    send,
    // Code Assist wraps Gemini's protocol: nothing passes through.
    forward: None,
    count_tokens,
    embed: None,
    native_rewrite: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A cluster whose answers to `get` are scripted; claims are granted.
    #[derive(Default)]
    struct Script {
        gets: Mutex<VecDeque<Option<Token>>>,
        put: Mutex<Option<Token>>,
    }

    impl TokenShare for Script {
        fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Option<Token>> {
            let next = self.gets.lock().unwrap().pop_front().flatten();
            Box::pin(async move { next })
        }
        fn claim<'a>(&'a self, _: &'a str) -> BoxFuture<'a, bool> {
            Box::pin(async { true })
        }
        fn put<'a>(&'a self, _: &'a str, token: &'a Token) -> BoxFuture<'a, ()> {
            *self.put.lock().unwrap() = Some(token.clone());
            Box::pin(async {})
        }
    }

    fn token(name: &str) -> Token {
        (name.to_string(), now_ms() + 3_600_000)
    }

    #[tokio::test]
    async fn a_token_stored_just_before_the_claim_is_used_not_refreshed_again() {
        // The other instance puts its token (and drops its claim) after this
        // one looked and found nothing, and before this one claimed.
        let share = Script::default();
        share
            .gets
            .lock()
            .unwrap()
            .extend([None, Some(token("theirs"))]);
        let got = shared_token(&share, "acc", || async {
            panic!("refreshed although the cluster had a token")
        })
        .await
        .unwrap();
        assert_eq!(got.0, "theirs");
        assert!(share.put.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn the_claimant_refreshes_once_and_shares_its_token() {
        let share = Script::default();
        let got = shared_token(&share, "acc", || async { Ok(token("mine")) })
            .await
            .unwrap();
        assert_eq!(got.0, "mine");
        assert_eq!(share.put.lock().unwrap().as_ref().unwrap().0, "mine");
    }
}
