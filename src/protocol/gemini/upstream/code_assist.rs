//! Google's Code Assist API (the free Gemini quota of Google accounts): the
//! same Gemini request wrapped as `{model, project, request}`, answers
//! wrapped as `{response}`, and the setup and quota calls around them.

use super::decode::StreamDecoder;
use crate::canonical::Event;
use crate::error::{Error, Kind};
use crate::protocol::StreamDecode;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Wraps an encoded Gemini request for Code Assist.
pub fn wrap_request(inner: &[u8], model: &str, project: &str) -> Vec<u8> {
    let head = serde_json::json!({"model": model, "project": project}).to_string();
    let mut out = Vec::with_capacity(head.len() + inner.len() + 12);
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"request\":");
    out.extend_from_slice(inner);
    out.push(b'}');
    out
}

/// Wraps a Gemini `countTokens` body (`{contents, ...}`) for Code Assist.
pub fn wrap_count_tokens(contents: &[u8], model: &str) -> Vec<u8> {
    let mut out = format!("{{\"request\":{{\"model\":\"models/{model}\",").into_bytes();
    // `contents` is a JSON object: splice its fields after ours.
    out.extend_from_slice(&contents[1..]);
    out.push(b'}');
    out
}

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    response: Option<&'a RawValue>,
}

/// Unwraps each `{response: ...}` and decodes it as a Gemini answer.
pub struct Decoder(pub StreamDecoder);

impl Decoder {
    fn unwrap<'a>(data: &'a [u8]) -> Result<&'a [u8], Error> {
        let w: Wrapped<'a> = serde_json::from_slice(data).map_err(|e| {
            Error::new(
                Kind::Upstream,
                format!("Code Assist sent an answer levity cannot read: {e}"),
            )
        })?;
        Ok(w.response.map_or(b"{}".as_slice(), |r| r.get().as_bytes()))
    }
}

impl StreamDecode for Decoder {
    fn data(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        self.0.data(Self::unwrap(data)?, out)
    }

    fn whole(&mut self, body: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        self.0.whole(Self::unwrap(body)?, out)
    }

    fn finished(&self) -> bool {
        self.0.finished()
    }
}

/// The body of `loadCodeAssist`.
pub fn load_request(project: Option<&str>) -> Vec<u8> {
    let mut metadata = serde_json::json!({"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"});
    let mut body = serde_json::json!({});
    if let Some(p) = project {
        metadata["duetProject"] = p.into();
        body["cloudaicompanionProject"] = p.into();
    }
    body["metadata"] = metadata;
    body.to_string().into_bytes()
}

/// What `loadCodeAssist` says about the account.
#[derive(Debug, PartialEq)]
pub enum Setup {
    /// Ready, with its project.
    Ready { project: String },
    /// Not yet onboarded: onboard to this tier.
    Onboard { tier: String },
    /// Google wants something from the user first (a validation link).
    Blocked { reason: String },
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Load {
    current_tier: Option<TierIn>,
    #[serde(default)]
    allowed_tiers: Vec<TierIn>,
    #[serde(default)]
    ineligible_tiers: Vec<Ineligible>,
    cloudaicompanion_project: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TierIn {
    #[serde(default)]
    id: String,
    #[serde(default)]
    is_default: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Ineligible {
    #[serde(default)]
    reason_message: String,
    validation_url: Option<String>,
}

fn project_of(v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .or_else(|| v["id"].as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn decode_load(body: &[u8], configured: Option<&str>) -> Result<Setup, Error> {
    let load: Load = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            Kind::Upstream,
            format!("loadCodeAssist answer unreadable: {e}"),
        )
    })?;
    let project = load
        .cloudaicompanion_project
        .as_ref()
        .and_then(project_of)
        .or(configured.map(str::to_string));
    if load.current_tier.is_some() {
        return match project {
            Some(project) => Ok(Setup::Ready { project }),
            None => Ok(Setup::Blocked {
                reason: "this Google account has no Code Assist project: set one with --project"
                    .into(),
            }),
        };
    }
    if let Some(i) = load
        .ineligible_tiers
        .iter()
        .find(|i| i.validation_url.is_some())
    {
        return Ok(Setup::Blocked {
            reason: format!(
                "{} (visit {})",
                i.reason_message,
                i.validation_url.as_deref().unwrap_or("")
            ),
        });
    }
    let tier = load
        .allowed_tiers
        .iter()
        .find(|t| t.is_default)
        .map_or("legacy-tier".to_string(), |t| t.id.clone());
    Ok(Setup::Onboard { tier })
}

/// The body of `onboardUser`; the free tier must not name a project.
pub fn onboard_request(tier: &str, project: Option<&str>) -> Vec<u8> {
    let mut body = serde_json::json!({"tierId": tier,
        "metadata": {"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}});
    if let Some(p) = project.filter(|_| tier != "free-tier") {
        body["cloudaicompanionProject"] = p.into();
        body["metadata"]["duetProject"] = p.into();
    }
    body.to_string().into_bytes()
}

/// An `onboardUser` operation: `Some(project)` once done.
pub fn decode_onboard(body: &[u8]) -> Result<(bool, Option<String>), Error> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            Kind::Upstream,
            format!("onboardUser answer unreadable: {e}"),
        )
    })?;
    let done = v["done"].as_bool().unwrap_or(false);
    Ok((done, project_of(&v["response"]["cloudaicompanionProject"])))
}

/// One quota bucket of `retrieveUserQuota`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub model: String,
    pub fraction: f64,
    pub reset_ms: u64,
}

pub fn decode_quota(body: &[u8]) -> Result<Vec<Bucket>, Error> {
    #[derive(Deserialize)]
    struct Quota {
        #[serde(default)]
        buckets: Vec<BucketIn>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct BucketIn {
        #[serde(default)]
        model_id: String,
        remaining_fraction: Option<f64>,
        reset_time: Option<String>,
    }
    let q: Quota = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            Kind::Upstream,
            format!("retrieveUserQuota answer unreadable: {e}"),
        )
    })?;
    Ok(q.buckets
        .into_iter()
        .filter_map(|b| {
            Some(Bucket {
                model: b.model_id.trim_end_matches("_vertex").to_string(),
                fraction: b.remaining_fraction?,
                reset_ms: b
                    .reset_time
                    .as_deref()
                    .and_then(crate::provider::hints::rfc3339_ms)
                    .unwrap_or(0),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_the_inner_request_verbatim() {
        let inner = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;
        let wrapped: serde_json::Value =
            serde_json::from_slice(&wrap_request(inner, "gemini-2.5-pro", "p-1")).unwrap();
        assert_eq!(wrapped["model"], "gemini-2.5-pro");
        assert_eq!(wrapped["project"], "p-1");
        assert_eq!(wrapped["request"]["contents"][0]["parts"][0]["text"], "hi");
        let count: serde_json::Value =
            serde_json::from_slice(&wrap_count_tokens(br#"{"contents":[]}"#, "m")).unwrap();
        assert_eq!(
            count,
            serde_json::json!({"request": {"model": "models/m", "contents": []}})
        );
    }

    #[test]
    fn setup_answers() {
        let ready = br#"{"currentTier":{"id":"free-tier"},"cloudaicompanionProject":"proj-9"}"#;
        assert_eq!(
            decode_load(ready, None).unwrap(),
            Setup::Ready {
                project: "proj-9".into()
            }
        );
        let fresh =
            br#"{"allowedTiers":[{"id":"free-tier","isDefault":true},{"id":"standard-tier"}]}"#;
        assert_eq!(
            decode_load(fresh, None).unwrap(),
            Setup::Onboard {
                tier: "free-tier".into()
            }
        );
        let blocked = br#"{"ineligibleTiers":[{"reasonCode":"VALIDATION_REQUIRED","reasonMessage":"Verify","validationUrl":"https://v"}]}"#;
        assert!(matches!(
            decode_load(blocked, None).unwrap(),
            Setup::Blocked { .. }
        ));
        assert_eq!(
            decode_onboard(br#"{"done":true,"response":{"cloudaicompanionProject":{"id":"p2"}}}"#)
                .unwrap(),
            (true, Some("p2".into()))
        );
        let q = decode_quota(br#"{"buckets":[{"modelId":"gemini-2.5-pro_vertex","remainingFraction":0.25,"resetTime":"1970-01-01T00:01:00Z"}]}"#).unwrap();
        assert_eq!(
            q,
            vec![Bucket {
                model: "gemini-2.5-pro".into(),
                fraction: 0.25,
                reset_ms: 60_000
            }]
        );
    }
}
