//! Gemini's embedding methods (ai.google.dev/api/embeddings): `embedContent`
//! (`{"content": {"parts": [{"text"}]}, "taskType", "title",
//! "outputDimensionality"}` → `{"embedding": {"values"}}`) and
//! `batchEmbedContents` (`{"requests": [...]}` → `{"embeddings": [...]}`,
//! each request naming its model). The client side levity serves to the
//! Google SDKs, and the upstream side: levity always calls the batch method
//! (as Google's own SDKs do), at most `BATCH` inputs a call.

use crate::canonical::{EmbedInput, EmbedRequest, Embeddings};
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// Gemini refuses a batch of more than 100 requests (400 INVALID_ARGUMENT).
pub const BATCH: usize = 100;

#[derive(Deserialize, Serialize, Default)]
struct Part {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    text: String,
}

#[derive(Deserialize, Serialize, Default)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct One {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    content: Content,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u32>,
}

#[derive(Deserialize, Serialize)]
struct Batch {
    requests: Vec<One>,
}

#[derive(Deserialize, Serialize)]
struct Values {
    values: Vec<f32>,
}

pub mod client {
    use super::*;

    /// `embedContent`'s body (`batch` false) or `batchEmbedContents`'.
    /// One batch carries one task type, title and size: levity sends it
    /// to any upstream as one request.
    pub fn decode(body: &[u8], model: &str, batch: bool) -> Result<EmbedRequest, Error> {
        let items = if batch {
            crate::protocol::parse_body::<Batch>(body)?.requests
        } else {
            vec![crate::protocol::parse_body::<One>(body)?]
        };
        let Some(first) = items.first() else {
            return Err(Error::invalid_param(
                "requests",
                "`requests` must not be empty",
            ));
        };
        // Sent 100 a call; bounded as OpenAI's inputs are.
        let most = crate::protocol::openai_embeddings::MAX_INPUTS;
        if items.len() > most {
            return Err(Error::invalid_param(
                "requests",
                format!(
                    "`requests` has {} items; at most {most} go in one batch",
                    items.len()
                ),
            ));
        }
        let (task, title, dims) = (
            first.task_type.clone(),
            first.title.clone(),
            first.output_dimensionality,
        );
        if items
            .iter()
            .any(|i| i.task_type != task || i.title != title || i.output_dimensionality != dims)
        {
            return Err(Error::invalid_param(
                "requests",
                "the requests of one batch differ in taskType, title or outputDimensionality; \
                 send one batch for each",
            ));
        }
        let inputs: Vec<EmbedInput> = items
            .into_iter()
            .map(|i| {
                let text: Vec<String> = i.content.parts.into_iter().map(|p| p.text).collect();
                EmbedInput::Text(text.join("\n"))
            })
            .collect();
        if inputs
            .iter()
            .any(|i| matches!(i, EmbedInput::Text(t) if t.trim().is_empty()))
        {
            return Err(Error::invalid_param(
                "content",
                "every content to embed needs text",
            ));
        }
        if dims == Some(0) {
            return Err(Error::invalid_param(
                "outputDimensionality",
                "outputDimensionality must be at least 1",
            ));
        }
        Ok(EmbedRequest {
            model: model.to_string(),
            inputs,
            dimensions: dims,
            task,
            title,
        })
    }

    #[derive(Serialize)]
    struct Single {
        embedding: Values,
    }

    #[derive(Serialize)]
    struct Many {
        embeddings: Vec<Values>,
    }

    pub fn encode(out: Embeddings, batch: bool) -> Vec<u8> {
        let mut values = out.vectors.into_iter().map(|values| Values { values });
        if batch {
            serde_json::to_vec(&Many {
                embeddings: values.collect(),
            })
        } else {
            serde_json::to_vec(&Single {
                embedding: values.next().unwrap_or(Values { values: Vec::new() }),
            })
        }
        .expect("serializable")
    }
}

pub mod upstream {
    use super::*;

    /// `batchEmbedContents`' body for `texts`, each request naming the model.
    pub fn encode(req: &EmbedRequest, texts: &[&str], model: &str) -> Vec<u8> {
        let requests = texts
            .iter()
            .map(|t| One {
                model: Some(format!("models/{model}")),
                content: Content {
                    parts: vec![Part {
                        text: t.to_string(),
                    }],
                },
                task_type: req.task.clone(),
                title: req.title.clone(),
                output_dimensionality: req.dimensions,
            })
            .collect();
        serde_json::to_vec(&Batch { requests }).expect("serializable")
    }

    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        embeddings: Vec<Values>,
    }

    /// The vectors of a batch answer, or what is wrong with it.
    pub fn decode(body: &[u8], inputs: usize) -> Result<Vec<Vec<f32>>, String> {
        let a: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if a.embeddings.len() != inputs {
            return Err(format!(
                "{} vectors for {inputs} inputs",
                a.embeddings.len()
            ));
        }
        Ok(a.embeddings.into_iter().map(|v| v.values).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_google_sdk_batch_decodes_and_goes_upstream_as_documented() {
        // What google-genai's `embed_content(contents=[...], config=...)` sends.
        let body = br#"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]},"taskType":"RETRIEVAL_DOCUMENT","outputDimensionality":768},{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]},"taskType":"RETRIEVAL_DOCUMENT","outputDimensionality":768}]}"#;
        let req = client::decode(body, "gemini-embedding-001", true).unwrap();
        assert_eq!(req.inputs.len(), 2);
        assert_eq!(
            (req.dimensions, req.task.as_deref()),
            (Some(768), Some("RETRIEVAL_DOCUMENT"))
        );
        let up: serde_json::Value =
            serde_json::from_slice(&upstream::encode(&req, &["a", "b"], "gemini-embedding-001"))
                .unwrap();
        let wanted: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(up, wanted);
        let single = client::encode(
            Embeddings {
                vectors: vec![vec![0.5]],
                input_tokens: 1,
            },
            false,
        );
        assert_eq!(single, br#"{"embedding":{"values":[0.5]}}"#);
    }

    #[test]
    fn a_mixed_batch_and_empty_content_are_refused() {
        let mixed = br#"{"requests":[{"content":{"parts":[{"text":"a"}]},"outputDimensionality":768},{"content":{"parts":[{"text":"b"}]}}]}"#;
        assert!(client::decode(mixed, "m", true).is_err());
        assert!(client::decode(br#"{"content":{"parts":[]}}"#, "m", false).is_err());
        assert!(client::decode(br#"{"requests":[]}"#, "m", true).is_err());
        let one = r#"{"content":{"parts":[{"text":"a"}]}}"#;
        let many = format!(r#"{{"requests":[{}]}}"#, vec![one; 2049].join(","));
        assert!(client::decode(many.as_bytes(), "m", true).is_err());
    }
}
