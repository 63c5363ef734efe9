//! An embedding request and its answer, whichever protocol asked and
//! whichever upstream answers: OpenAI's `/v1/embeddings` and Gemini's
//! `embedContent` / `batchEmbedContents` decode to `EmbedRequest`, and every
//! upstream that embeds answers with `Embeddings`.

/// One text to embed, or (OpenAI only) the tokens of one.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedInput {
    Text(String),
    /// Token ids, as OpenAI's API and LangChain's `OpenAIEmbeddings` send
    /// them; only an OpenAI-compatible host can read them.
    Tokens(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbedRequest {
    /// As the client named it (before mapping).
    pub model: String,
    pub inputs: Vec<EmbedInput>,
    /// Size of each vector, where the model can shorten them.
    pub dimensions: Option<u32>,
    /// Gemini's `taskType` (`RETRIEVAL_DOCUMENT`, ...), when a Gemini
    /// client gave one.
    pub task: Option<String>,
    /// Gemini's `title`, for `RETRIEVAL_DOCUMENT`.
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    /// One per input, in the inputs' order.
    pub vectors: Vec<Vec<f32>>,
    /// Input tokens as the upstream counted them, or estimated where it
    /// counts none (Gemini's batch answers).
    pub input_tokens: u64,
}

impl EmbedRequest {
    /// The texts, for an upstream that takes text only; the error says why
    /// not.
    pub fn texts(&self) -> Result<Vec<&str>, String> {
        self.inputs
            .iter()
            .map(|i| match i {
                EmbedInput::Text(t) => Ok(t.as_str()),
                EmbedInput::Tokens(_) => Err(
                    "token ids can be embedded by an OpenAI-compatible host only; send the text \
                     (LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False))"
                        .to_string(),
                ),
            })
            .collect()
    }

    /// Tokens estimated at four bytes each, where the upstream counts none.
    pub fn estimated_tokens(&self) -> u64 {
        self.inputs
            .iter()
            .map(|i| match i {
                EmbedInput::Text(t) => (t.len() as u64).div_ceil(4),
                EmbedInput::Tokens(t) => t.len() as u64,
            })
            .sum()
    }
}
