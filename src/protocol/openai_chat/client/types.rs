//! Serde types for the Chat Completions wire format. Unknown fields are
//! ignored so newer clients keep working.

use crate::canonical::Schema;
use crate::protocol::{Tagged, TextOr, tagged};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    pub stop: Option<Stop>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub n: Option<u32>,
    pub tools: Option<Vec<ChatTool>>,
    pub tool_choice: Option<ChatToolChoice>,
    pub response_format: Option<ChatResponseFormat>,
    pub reasoning_effort: Option<String>,
    pub prompt_cache_key: Option<String>,
    /// Asks the model to search the web.
    pub web_search_options: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

pub type Stop = TextOr<String>;

/// One message, read by its `role` (`protocol::Tagged`): serde's
/// `#[serde(tag)]` would copy every message, texts and all, into its buffer
/// before reading it.
#[derive(Debug)]
pub enum ChatMessage {
    System(Said),
    Developer(Said),
    User(Said),
    Assistant(AssistantIn),
    Tool(ToolReplyIn),
}

impl Tagged for ChatMessage {
    const TAG: &'static str = "role";
    fn variant<'de, D: Deserializer<'de>>(tag: &str, rest: D) -> Result<Self, D::Error> {
        Ok(match tag {
            "system" => ChatMessage::System(Deserialize::deserialize(rest)?),
            "developer" => ChatMessage::Developer(Deserialize::deserialize(rest)?),
            "user" => ChatMessage::User(Deserialize::deserialize(rest)?),
            "assistant" => ChatMessage::Assistant(Deserialize::deserialize(rest)?),
            "tool" => ChatMessage::Tool(Deserialize::deserialize(rest)?),
            other => {
                return Err(D::Error::unknown_variant(
                    other,
                    &["system", "developer", "user", "assistant", "tool"],
                ));
            }
        })
    }
}

impl<'de> Deserialize<'de> for ChatMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tagged(d)
    }
}

/// A system, developer or user message.
#[derive(Debug, Deserialize)]
pub struct Said {
    pub content: Content,
}

#[derive(Debug, Deserialize)]
pub struct AssistantIn {
    pub content: Option<Content>,
    pub tool_calls: Option<Vec<ToolCallIn>>,
    pub reasoning_content: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ToolReplyIn {
    pub content: Content,
    pub tool_call_id: String,
}

pub type Content = TextOr<ContentPart>;

#[derive(Debug)]
pub enum ContentPart {
    Text(TextPart),
    ImageUrl(ImagePart),
    /// Refusals sent back in history carry no content the upstream needs.
    Refusal(RefusalPart),
}

impl Tagged for ContentPart {
    fn variant<'de, D: Deserializer<'de>>(tag: &str, rest: D) -> Result<Self, D::Error> {
        Ok(match tag {
            "text" => ContentPart::Text(Deserialize::deserialize(rest)?),
            "image_url" => ContentPart::ImageUrl(Deserialize::deserialize(rest)?),
            "refusal" => ContentPart::Refusal(Deserialize::deserialize(rest)?),
            other => {
                return Err(D::Error::unknown_variant(
                    other,
                    &["text", "image_url", "refusal"],
                ));
            }
        })
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tagged(d)
    }
}

#[derive(Debug, Deserialize)]
pub struct TextPart {
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct ImagePart {
    pub image_url: ImageUrl,
}

#[derive(Debug, Deserialize)]
pub struct RefusalPart {
    pub refusal: String,
}

#[derive(Debug, Deserialize)]
pub struct ImageUrl {
    pub url: String,
}

#[derive(Debug, Deserialize)]
pub struct ToolCallIn {
    pub id: String,
    pub function: FunctionCallIn,
}

#[derive(Debug, Deserialize)]
pub struct FunctionCallIn {
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

#[derive(Debug, Deserialize)]
pub struct ChatTool {
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionDef,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Deserialize)]
pub struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Schema>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ChatToolChoice {
    Mode(String),
    Named { function: NamedFunction },
}

#[derive(Debug, Deserialize)]
pub struct NamedFunction {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Debug, Deserialize)]
pub struct JsonSchemaFormat {
    pub name: Option<String>,
    pub schema: Option<Value>,
}

// ---- responses -------------------------------------------------------------

#[derive(Serialize)]
pub struct Completion<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: [Choice<'a>; 1],
    pub usage: UsageOut,
}

#[derive(Serialize)]
pub struct Choice<'a> {
    pub index: u32,
    pub message: MessageOut<'a>,
    pub finish_reason: &'static str,
}

#[derive(Serialize)]
pub struct MessageOut<'a> {
    pub role: &'static str,
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut<'a>>,
    /// Images the model made, as data URLs (the form OpenRouter and others use).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Value>,
    /// Web sources (`url_citation`s) the answer was grounded on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Value>,
}

#[derive(Serialize)]
pub struct ToolCallOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionOut<'a>,
}

#[derive(Serialize)]
pub struct FunctionOut<'a> {
    pub name: &'a str,
    pub arguments: String,
}

#[derive(Serialize)]
pub struct UsageOut {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptDetails,
    pub completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
pub struct PromptDetails {
    pub cached_tokens: u64,
}

#[derive(Serialize)]
pub struct CompletionDetails {
    pub reasoning_tokens: u64,
}

#[derive(Serialize)]
pub struct Chunk<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: Vec<ChunkChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageOut>,
}

#[derive(Serialize)]
pub struct ChunkChoice<'a> {
    pub index: u32,
    pub delta: Delta<'a>,
    pub finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
pub struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Value>,
}
