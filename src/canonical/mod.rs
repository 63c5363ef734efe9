//! The protocol-neutral model of a request, a response and a stream of events.
//!
//! Every wire format decodes into these types and encodes out of them, so a new
//! protocol is one module that speaks canonical, not one adapter per pair.

mod embed;
#[cfg(test)]
pub mod sample;
pub use embed::{EmbedInput, EmbedRequest, Embeddings};

use serde_json::Value;
use serde_json::value::RawValue;

/// One chat request, as every protocol can express it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub model: String,
    /// System instructions, in order; protocols that allow several are joined.
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub params: Params,
    pub response_format: Option<ResponseFormat>,
    pub reasoning: Option<Reasoning>,
    pub stream: bool,
    /// The client asked for token usage at the end of a stream.
    pub stream_usage: bool,
    /// The client's own id for the conversation, when its body carries one
    /// (Claude Code's `metadata.user_id`, `prompt_cache_key`).
    pub session: Option<String>,
    /// Ask for images in the answer, in this aspect ratio (`1:1`, `16:9`, ...).
    pub image_output: Option<String>,
    /// The client asks for the conversation so far to be compacted into one
    /// summary it hands back next turn (Codex's remote compaction).
    pub compaction: bool,
}

/// Sampling and length controls shared by every protocol.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub max_tokens: Option<u32>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(Image),
    /// A model's request to run a tool. `arguments` is always a JSON object.
    ToolCall(ToolCall),
    /// The result of a tool, sent back by the client. `name` is filled in by the
    /// decoder when the wire format carries it; encoders that need it look the
    /// call up by id.
    ToolResult {
        call_id: String,
        name: Option<String>,
        content: Vec<Part>,
        is_error: bool,
    },
    /// Model reasoning. `signature` is the opaque token the upstream that
    /// produced it requires back; `redacted` reasoning has only a signature.
    Thinking {
        text: String,
        signature: Option<Signature>,
        redacted: bool,
    },
}

/// An upstream's opaque reasoning token, with where it came from: only that
/// upstream and model can verify it, so it is never sent anywhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub origin: Origin,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Signed by Anthropic; valid for any Claude model.
    Anthropic,
    /// A Gemini thought signature, valid for the model that produced it.
    Gemini { model: String },
    /// OpenAI's `encrypted_content`, bound to the organization of the
    /// levity account (by id) that received it.
    OpenAi { account: String },
}

impl Signature {
    /// The raw value when it was made by `origin`, else nothing.
    pub fn for_origin(&self, origin: &Origin) -> Option<&str> {
        (&self.origin == origin).then_some(self.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// Base64 data, without the `data:` prefix.
    Inline { mime_type: String, data: String },
    Url {
        url: String,
        mime_type: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
    /// Upstream state that must travel with the call (Gemini's thought signature).
    pub signature: Option<Signature>,
}

impl Image {
    /// An image a client gave by address: a base64 `data:` URL, or an
    /// `http(s)://` / `file://` address (fetched or read later, if at all).
    pub fn from_url(url: &str) -> Option<Image> {
        if let Some(rest) = url.strip_prefix("data:") {
            let (meta, data) = rest.split_once(',')?;
            let mime_type = meta.strip_suffix(";base64")?;
            return Some(Image::Inline {
                mime_type: if mime_type.is_empty() {
                    "image/png"
                } else {
                    mime_type
                }
                .to_string(),
                data: data.to_string(),
            });
        }
        ["https://", "http://", "file://"]
            .iter()
            .any(|s| url.starts_with(s))
            .then(|| Image::Url {
                url: url.to_string(),
                mime_type: None,
            })
    }

    /// The image as an address, `from_url`'s inverse: a base64 `data:` URL,
    /// or the address given.
    pub fn to_url(&self) -> String {
        match self {
            Image::Inline { mime_type, data } => format!("data:{mime_type};base64,{data}"),
            Image::Url { url, .. } => url.clone(),
        }
    }
}

/// The text parts of a message, one per line.
pub fn text_of(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub kind: ToolKind,
    pub name: String,
    pub description: Option<String>,
    /// A JSON Schema as the client sent it; upstream encoders clean it for their target.
    pub parameters: Schema,
}

/// A JSON Schema kept as the text the client sent, not parsed into a tree:
/// clients resend the same tools every turn (Claude Code: 12 tools, 32 KB),
/// so encoders copy it through or clean it once per distinct text (Gemini).
#[derive(Debug, Clone)]
pub struct Schema(Box<RawValue>);

impl Schema {
    /// `{"type":"object","properties":{}}`: a tool that takes no arguments.
    pub fn no_arguments() -> Schema {
        Schema::from_value(&serde_json::json!({"type": "object", "properties": {}}))
    }

    pub fn from_value(value: &Value) -> Schema {
        Schema(serde_json::value::to_raw_value(value).expect("a JSON value serializes"))
    }

    /// The schema's JSON text, as the client wrote it.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The schema as a tree, for encoders that rewrite it.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).expect("a raw value holds valid JSON")
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.text() == other.text()
    }
}

/// Deepest nesting a schema may have: far beyond any real tool's, and below
/// serde_json's parse limit (128), which scanning raw text does not apply.
pub const SCHEMA_NESTING: usize = 64;

impl<'de> serde::Deserialize<'de> for Schema {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Schema, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if !nesting_within(raw.get().as_bytes(), SCHEMA_NESTING) {
            return Err(serde::de::Error::custom(format_args!(
                "a tool schema nests deeper than {SCHEMA_NESTING} levels"
            )));
        }
        Ok(Schema(raw))
    }
}

/// Whether valid JSON `text` nests objects and arrays at most `limit` deep.
fn nesting_within(text: &[u8], limit: usize) -> bool {
    // Fewer brackets than the limit cannot nest deeper: the usual case, and
    // one quick count.
    // (`|`, not `||`: a branch-free sum the compiler vectorizes.)
    let opening = text
        .iter()
        .map(|&c| u32::from((c == b'{') | (c == b'[')))
        .sum::<u32>();
    if opening as usize <= limit {
        return true;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &c in text {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'{' | b'[') => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            (false, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

impl serde::Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Tool {
    /// The upstream's own web search, however the client asked for it.
    pub fn web_search() -> Tool {
        Tool {
            kind: ToolKind::WebSearch,
            name: "web_search".into(),
            description: None,
            parameters: Schema::from_value(&Value::Null),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// A function the client runs.
    Function,
    /// Search the web, run by the upstream itself.
    WebSearch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    JsonObject,
    JsonSchema { name: Option<String>, schema: Value },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    Minimal,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reasoning {
    pub effort: Option<Effort>,
    pub budget_tokens: Option<u32>,
}

impl Reasoning {
    /// The effort asked for; a token budget (Anthropic, Gemini clients)
    /// becomes the nearest effort, for upstreams that only take efforts.
    pub fn level(&self) -> Option<Effort> {
        self.effort.or(self.budget_tokens.map(|b| match b {
            0..2_048 => Effort::Low,
            2_048..16_384 => Effort::Medium,
            _ => Effort::High,
        }))
    }
}

/// A finished, non-streamed answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub id: String,
    pub model: String,
    pub parts: Vec<Part>,
    pub finish: Option<Finish>,
    pub usage: Usage,
    /// Web sources the answer was grounded on.
    pub citations: Vec<Citation>,
}

/// A web source behind part of an answer (search grounding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    pub url: String,
    pub title: String,
    /// The cited span of the answer's text, when the upstream says which.
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    /// A client-given stop sequence ended the answer.
    StopSequence,
    Length,
    ToolCalls,
    ContentFilter,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    /// Visible output plus reasoning, as OpenAI counts completion tokens.
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub cached_input_tokens: u64,
    /// Input written to the provider's prompt cache (Anthropic's
    /// `cache_creation_input_tokens`), part of `input_tokens`.
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Takes in a later report of the same answer's usage: upstreams send
    /// running totals (Gemini in every element, Anthropic its input at the
    /// start and output at the end), so each field keeps its largest value.
    pub fn merge(&mut self, later: Usage) {
        self.input_tokens = self.input_tokens.max(later.input_tokens);
        self.output_tokens = self.output_tokens.max(later.output_tokens);
        self.reasoning_tokens = self.reasoning_tokens.max(later.reasoning_tokens);
        self.cached_input_tokens = self.cached_input_tokens.max(later.cached_input_tokens);
        self.cache_write_tokens = self.cache_write_tokens.max(later.cache_write_tokens);
    }
}

/// One step of a streamed answer. A stream is `Start`, any number of deltas,
/// then `Finish` (and `Usage` whenever the upstream reports it).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Start {
        id: String,
        model: String,
    },
    TextDelta(String),
    /// Reasoning text; a signature, when present, closes the reasoning block.
    ThinkingDelta {
        text: String,
        signature: Option<Signature>,
    },
    /// An image the model made.
    Image(Image),
    /// A complete tool call; `index` counts calls within the answer from 0.
    ToolCall {
        index: usize,
        call: ToolCall,
    },
    Usage(Usage),
    /// Sources the answer so far was grounded on.
    Citations(Vec<Citation>),
    Finish(Finish),
}

/// More tools than any upstream takes in one request.
pub const MAX_TOOLS: usize = 512;

impl Request {
    /// Checks what every upstream would refuse anyway, so the client hears it
    /// in its own words before an account is spent on it: sampling values out
    /// of range, too many tools, and tool results for calls no earlier turn
    /// made (levity keeps no conversations; the whole history must come).
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        use crate::error::Error;
        let p = &self.params;
        if let Some(t) = p.temperature.filter(|t| !(0.0..=2.0).contains(t)) {
            return Err(Error::invalid_param(
                "temperature",
                format!("temperature {t} is out of range; use a value from 0 to 2"),
            ));
        }
        if let Some(t) = p.top_p.filter(|t| !(0.0..=1.0).contains(t)) {
            return Err(Error::invalid_param(
                "top_p",
                format!("top_p {t} is out of range; use a value from 0 to 1"),
            ));
        }
        if p.max_tokens == Some(0) {
            return Err(Error::invalid_param(
                "max_tokens",
                "max_tokens must be at least 1",
            ));
        }
        if self.tools.len() > MAX_TOOLS {
            return Err(Error::invalid_param(
                "tools",
                format!(
                    "{} tools in one request; levity takes at most {MAX_TOOLS}",
                    self.tools.len()
                ),
            ));
        }
        let mut calls: Vec<(&str, &str)> = Vec::new();
        for m in &self.messages {
            for part in &m.parts {
                match part {
                    Part::ToolCall(c) => calls.push((&c.id, &c.name)),
                    // Gemini pairs a result with its call by name.
                    Part::ToolResult { call_id, name, .. }
                        if !calls
                            .iter()
                            .any(|(id, n)| id == call_id || name.as_deref() == Some(*n)) =>
                    {
                        return Err(Error::invalid_param(
                            "messages",
                            format!(
                                "a tool result answers call `{call_id}`, which no earlier turn made; \
                                 send the whole conversation, with the assistant turn that called the tool"
                            ),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Drops all reasoning from the history: thinking parts and the signatures
    /// on tool calls. The fallback when an upstream refuses a signature anyway.
    pub fn strip_reasoning(&mut self) {
        for m in &mut self.messages {
            m.parts.retain(|p| !matches!(p, Part::Thinking { .. }));
            for p in &mut m.parts {
                if let Part::ToolCall(c) = p {
                    c.signature = None;
                }
            }
        }
        self.messages.retain(|m| !m.parts.is_empty());
    }
}

impl Response {
    /// The visible text of the answer, concatenated.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Response {
    /// Folds a complete event sequence into a response, so a decoder written
    /// for streams also serves non-streamed answers.
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Response {
        let mut resp = Response::default();
        for ev in events {
            match ev {
                Event::Start { id, model } => {
                    resp.id = id;
                    resp.model = model;
                }
                Event::TextDelta(t) => match resp.parts.last_mut() {
                    Some(Part::Text(prev)) => prev.push_str(&t),
                    _ => resp.parts.push(Part::Text(t)),
                },
                Event::ThinkingDelta { text, signature } => match resp.parts.last_mut() {
                    Some(Part::Thinking {
                        text: prev,
                        signature: prev_sig,
                        redacted: false,
                    }) if prev_sig.is_none() => {
                        prev.push_str(&text);
                        *prev_sig = signature;
                    }
                    _ => resp.parts.push(Part::Thinking {
                        text,
                        signature,
                        redacted: false,
                    }),
                },
                Event::ToolCall { call, .. } => resp.parts.push(Part::ToolCall(call)),
                Event::Image(img) => resp.parts.push(Part::Image(img)),
                Event::Citations(c) => resp.citations.extend(c),
                Event::Usage(u) => resp.usage = u,
                Event::Finish(f) => resp.finish = Some(f),
            }
        }
        resp
    }
}

/// The longest model name levity takes; real ids are far shorter.
const MODEL_NAME_MAX: usize = 200;

/// Why `name` cannot be a model name, if it cannot. Model names reach
/// upstream URLs (Gemini's `models/{model}:method`) and logs, so only what
/// real ids use passes: letters, digits and `.-_:@`, in segments joined by
/// single `/` (`meta-llama/Llama-3.3-70B` on OpenAI-compatible hosts), with
/// Google's `models/` prefix allowed; never `.` or `..` as a segment, never
/// `%`, `?`, `#`, spaces or control characters.
pub fn model_name_error(name: &str) -> Option<String> {
    let bare = name.strip_prefix("models/").unwrap_or(name);
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '@');
    let why = if bare.is_empty() {
        "is empty"
    } else if name.len() > MODEL_NAME_MAX {
        "is longer than 200 characters"
    } else if let Some(c) = bare.chars().find(|&c| !allowed(c) && c != '/') {
        return Some(format!(
            "model name `{}` has `{}`; model names use letters, digits and . - _ : @ (and / between parts)",
            name.escape_default(),
            c.escape_default()
        ));
    } else if bare
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        "has an empty, `.` or `..` part"
    } else {
        return None;
    };
    Some(format!("model name `{}` {why}", name.escape_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_is_refused_past_its_nesting_limit_brackets_in_strings_aside() {
        let nest = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let parse = |text: &str| serde_json::from_str::<Schema>(text);
        assert!(parse(&nest(SCHEMA_NESTING)).is_ok());
        let err = parse(&nest(SCHEMA_NESTING + 1)).unwrap_err().to_string();
        assert!(err.contains("nests deeper than 64 levels"), "{err}");
        // Brackets and escaped quotes inside strings are text, not nesting.
        let wide = format!(
            r#"{{"description": "{} \"{{[", "items": {}}}"#,
            "{[".repeat(200),
            nest(10)
        );
        assert!(parse(&wide).is_ok());
        // Many brackets side by side are not deep.
        let flat = format!("[{}]", vec!["[1]"; 200].join(","));
        assert!(parse(&flat).is_ok());
    }
}
