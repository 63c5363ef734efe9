//! OpenAI's embeddings API (`POST /v1/embeddings`,
//! platform.openai.com/docs/api-reference/embeddings): the client side levity
//! serves (Cherry Studio's knowledge bases, LangChain, editors) and the
//! upstream side it speaks to OpenAI-compatible hosts.

use crate::canonical::{EmbedInput, EmbedRequest, Embeddings};
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// OpenAI takes at most 2,048 inputs in one request.
pub const MAX_INPUTS: usize = 2048;

/// `input`: a string, strings, one token array, or token arrays.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
    Tokens(Vec<u32>),
    ManyTokens(Vec<Vec<u32>>),
}

pub mod client {
    use super::*;
    use base64::Engine;

    #[derive(Deserialize)]
    struct Body {
        model: String,
        input: Input,
        #[serde(default)]
        dimensions: Option<u32>,
        #[serde(default)]
        encoding_format: Option<String>,
    }

    /// The request, and whether vectors go back as base64 (the official
    /// SDKs ask for it by default: little-endian float32 bytes).
    pub fn decode(body: &[u8]) -> Result<(EmbedRequest, bool), Error> {
        let b: Body = crate::protocol::parse_body(body)?;
        if let Some(why) = crate::canonical::model_name_error(&b.model) {
            return Err(Error::invalid_param("model", why));
        }
        let base64 = match b.encoding_format.as_deref() {
            None | Some("float") => false,
            Some("base64") => true,
            Some(other) => {
                return Err(Error::invalid_param(
                    "encoding_format",
                    format!("encoding_format `{other}` is not one of `float`, `base64`"),
                ));
            }
        };
        let inputs: Vec<EmbedInput> = match b.input {
            Input::One(t) => vec![EmbedInput::Text(t)],
            Input::Many(ts) => ts.into_iter().map(EmbedInput::Text).collect(),
            Input::Tokens(t) => vec![EmbedInput::Tokens(t)],
            Input::ManyTokens(ts) => ts.into_iter().map(EmbedInput::Tokens).collect(),
        };
        let empty = |i: &EmbedInput| match i {
            EmbedInput::Text(t) => t.is_empty(),
            EmbedInput::Tokens(t) => t.is_empty(),
        };
        if inputs.is_empty() || inputs.iter().any(empty) {
            return Err(Error::invalid_param(
                "input",
                "`input` must be a non-empty string or array of non-empty strings (or token arrays)",
            ));
        }
        if inputs.len() > MAX_INPUTS {
            return Err(Error::invalid_param(
                "input",
                format!(
                    "`input` has {} items; at most {MAX_INPUTS} go in one request",
                    inputs.len()
                ),
            ));
        }
        if b.dimensions == Some(0) {
            return Err(Error::invalid_param(
                "dimensions",
                "`dimensions` must be at least 1",
            ));
        }
        Ok((
            EmbedRequest {
                model: b.model,
                inputs,
                dimensions: b.dimensions,
                ..EmbedRequest::default()
            },
            base64,
        ))
    }

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Vector {
        Floats(Vec<f32>),
        Base64(String),
    }

    #[derive(Serialize)]
    struct Item {
        object: &'static str,
        index: usize,
        embedding: Vector,
    }

    #[derive(Serialize)]
    struct Usage {
        prompt_tokens: u64,
        total_tokens: u64,
    }

    #[derive(Serialize)]
    struct Answer<'a> {
        object: &'static str,
        data: Vec<Item>,
        model: &'a str,
        usage: Usage,
    }

    pub fn encode(out: Embeddings, model: &str, base64: bool) -> Vec<u8> {
        let data = out
            .vectors
            .into_iter()
            .enumerate()
            .map(|(index, v)| Item {
                object: "embedding",
                index,
                embedding: if base64 {
                    let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                    Vector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
                } else {
                    Vector::Floats(v)
                },
            })
            .collect();
        let answer = Answer {
            object: "list",
            data,
            model,
            usage: Usage {
                prompt_tokens: out.input_tokens,
                total_tokens: out.input_tokens,
            },
        };
        serde_json::to_vec(&answer).expect("serializable")
    }
}

pub mod upstream {
    use super::*;

    #[derive(Serialize)]
    struct Body<'a> {
        model: &'a str,
        input: Input,
        #[serde(skip_serializing_if = "Option::is_none")]
        dimensions: Option<u32>,
        encoding_format: &'static str,
    }

    /// The request for an OpenAI-compatible host; vectors asked as floats.
    pub fn encode(req: &EmbedRequest, model: &str) -> Vec<u8> {
        let texts: Option<Vec<String>> = req
            .inputs
            .iter()
            .map(|i| match i {
                EmbedInput::Text(t) => Some(t.clone()),
                EmbedInput::Tokens(_) => None,
            })
            .collect();
        let input = texts.map(Input::Many).unwrap_or_else(|| {
            Input::ManyTokens(
                req.inputs
                    .iter()
                    .map(|i| match i {
                        EmbedInput::Tokens(t) => t.clone(),
                        EmbedInput::Text(_) => Vec::new(),
                    })
                    .collect(),
            )
        });
        let body = Body {
            model,
            input,
            dimensions: req.dimensions,
            encoding_format: "float",
        };
        serde_json::to_vec(&body).expect("serializable")
    }

    #[derive(Deserialize)]
    struct Item {
        index: usize,
        embedding: Vec<f32>,
    }

    #[derive(Deserialize, Default)]
    struct Usage {
        #[serde(default)]
        prompt_tokens: u64,
    }

    #[derive(Deserialize)]
    struct Answer {
        data: Vec<Item>,
        #[serde(default)]
        usage: Option<Usage>,
    }

    /// The vectors in the inputs' order, or what is wrong with the answer.
    pub fn decode(body: &[u8], inputs: usize) -> Result<Embeddings, String> {
        let mut a: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        a.data.sort_by_key(|i| i.index);
        if a.data.len() != inputs || a.data.iter().enumerate().any(|(n, i)| n != i.index) {
            return Err(format!("{} vectors for {inputs} inputs", a.data.len()));
        }
        Ok(Embeddings {
            vectors: a.data.into_iter().map(|i| i.embedding).collect(),
            input_tokens: a.usage.unwrap_or_default().prompt_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn the_sdks_default_base64_is_little_endian_float32() {
        let (req, base64) =
            client::decode(br#"{"model":"m","input":["a","b"],"encoding_format":"base64"}"#)
                .unwrap();
        assert!(base64);
        assert_eq!(req.inputs.len(), 2);
        let out = Embeddings {
            vectors: vec![vec![1.0, -0.5], vec![0.25, 2.0]],
            input_tokens: 3,
        };
        let v: serde_json::Value = serde_json::from_slice(&client::encode(out, "m", true)).unwrap();
        let b = v["data"][1]["embedding"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(b).unwrap();
        let floats: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(floats, vec![0.25, 2.0]);
        assert_eq!(
            v["usage"],
            serde_json::json!({"prompt_tokens": 3, "total_tokens": 3})
        );
        assert_eq!(
            (v["object"].as_str(), v["data"][1]["index"].as_u64()),
            (Some("list"), Some(1))
        );
    }

    #[test]
    fn bad_inputs_name_the_field() {
        for (body, param) in [
            (r#"{"model":"m","input":[]}"#, "input"),
            (r#"{"model":"m","input":""}"#, "input"),
            (r#"{"model":"m","input":["a",""]}"#, "input"),
            (r#"{"model":"m","input":"a","dimensions":0}"#, "dimensions"),
            (
                r#"{"model":"m","input":"a","encoding_format":"hex"}"#,
                "encoding_format",
            ),
            (r#"{"model":"../x","input":"a"}"#, "model"),
        ] {
            let e = client::decode(body.as_bytes()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{body}: {e:?}");
        }
        let many =
            serde_json::json!({"model": "m", "input": vec!["x"; MAX_INPUTS + 1]}).to_string();
        assert_eq!(
            client::decode(many.as_bytes())
                .unwrap_err()
                .param
                .as_deref(),
            Some("input")
        );
    }

    #[test]
    fn an_upstream_answer_out_of_order_is_put_in_order() {
        let body = br#"{"object":"list","data":[{"object":"embedding","index":1,"embedding":[2.0]},{"object":"embedding","index":0,"embedding":[1.0]}],"model":"m","usage":{"prompt_tokens":4,"total_tokens":4}}"#;
        let e = upstream::decode(body, 2).unwrap();
        assert_eq!((e.vectors, e.input_tokens), (vec![vec![1.0], vec![2.0]], 4));
        assert!(upstream::decode(body, 3).is_err());
    }
}
