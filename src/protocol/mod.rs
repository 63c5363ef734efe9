//! Wire formats. Each submodule decodes one protocol into the canonical model
//! and encodes the canonical model back into it. Pure code: no IO, no HTTP
//! framework, no clock except what callers pass in.

pub mod anthropic;
pub mod gemini;
pub mod memo;
pub mod openai_chat;
pub mod openai_embeddings;
pub mod openai_responses;
pub mod passthrough;
pub mod sse;

/// A client's request body as `T`. UTF-8 is checked once for the whole body,
/// so serde_json does not check each string and each raw schema again.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, crate::error::Error> {
    let text = std::str::from_utf8(body).map_err(|e| {
        crate::error::Error::invalid(format!(
            "invalid request body: not UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| crate::error::Error::from_json(&e))
}

/// A field that is one string or a list: Anthropic's `system` and
/// `content`, Chat Completions' `content` and `stop`, Responses' `input`.
/// Read in one pass; `#[serde(untagged)]` would first copy the whole value
/// (a long conversation, each of its texts) into serde's buffer and then
/// copy it again for every variant it tries.
#[derive(Debug)]
pub enum TextOr<T> {
    Text(String),
    List(Vec<T>),
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for TextOr<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = TextOr<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TextOr<T>, E> {
                Ok(TextOr::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<TextOr<T>, E> {
                Ok(TextOr::Text(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TextOr<T>, A::Error> {
                // The hint is the sender's word: bounded, as serde's own Vec does.
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    list.push(item);
                }
                Ok(TextOr::List(list))
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// A value one of whose keys, `TAG`, names its kind (an internally tagged
/// enum): `variant` reads the rest of the object as the kind `tag` names.
pub trait Tagged: Sized {
    const TAG: &'static str = "type";
    fn variant<'de, D: serde::Deserializer<'de>>(tag: &str, rest: D) -> Result<Self, D::Error>;
}

/// Reads a [`Tagged`] value in one pass when its tag is the first key, as
/// the OpenAI SDKs write messages (`"role"`) and content parts (`"type"`).
/// serde's `#[serde(tag)]` always gathers the object (every text in it)
/// into its buffer first, then reads it from there: a long Chat Completions
/// conversation decodes 7 % faster without that (BENCHMARKS.md, "Translation
/// alone"). Only an object whose tag comes later is gathered here.
pub fn tagged<'de, D: serde::Deserializer<'de>, T: Tagged>(d: D) -> Result<T, D::Error> {
    use serde::de::{DeserializeSeed, Error, MapAccess, Visitor, value::MapAccessDeserializer};
    /// An object key: the tag is told apart without allocating.
    enum Key {
        Tag,
        Other(String),
    }
    struct KeyOf(&'static str);
    impl<'de> DeserializeSeed<'de> for KeyOf {
        type Value = Key;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
            d.deserialize_identifier(self)
        }
    }
    impl Visitor<'_> for KeyOf {
        type Value = Key;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Key, E> {
            Ok(if v == self.0 {
                Key::Tag
            } else {
                Key::Other(v.to_owned())
            })
        }
    }
    struct Visit<T>(std::marker::PhantomData<T>);
    impl<'de, T: Tagged> Visitor<'de> for Visit<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "an object with a \"{}\"", T::TAG)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut rest = serde_json::Map::new();
            let mut tag: Option<String> = None;
            while let Some(key) = map.next_key_seed(KeyOf(T::TAG))? {
                match key {
                    Key::Tag if rest.is_empty() => {
                        let tag: String = map.next_value()?;
                        return T::variant(&tag, MapAccessDeserializer::new(map));
                    }
                    Key::Tag => tag = Some(map.next_value()?),
                    Key::Other(k) => {
                        rest.insert(k, map.next_value()?);
                    }
                }
            }
            let tag = tag.ok_or_else(|| A::Error::missing_field(T::TAG))?;
            T::variant(&tag, serde_json::Value::Object(rest)).map_err(A::Error::custom)
        }
    }
    d.deserialize_map(Visit(std::marker::PhantomData))
}

/// A field that some of a list's members fill with another shape
/// (Responses' `output` is text, a list of parts, or a screenshot object,
/// by item kind): a value of a shape `T` does not take reads as absent, as
/// indexing a `serde_json::Value` does, and is skipped unbuilt. A value of
/// the right shape is read as strictly as `T` reads it.
#[derive(Debug)]
pub struct Loose<T>(pub Option<T>);

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

/// The JSON shapes a type reads, for [`Loose`].
pub trait Shape {
    const TEXT: bool = false;
    const LIST: bool = false;
    const OBJECT: bool = false;
}

impl Shape for String {
    const TEXT: bool = true;
}

impl<T> Shape for Vec<T> {
    const LIST: bool = true;
}

impl<T> Shape for TextOr<T> {
    const TEXT: bool = true;
    const LIST: bool = true;
}

impl<'de, T: serde::Deserialize<'de> + Shape> serde::Deserialize<'de> for Loose<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        use serde::de::{IgnoredAny, IntoDeserializer, MapAccess, SeqAccess};
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de> + Shape> serde::de::Visitor<'de> for Visit<T> {
            type Value = Loose<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            // serde_json hands every string here (owned ones too, through
            // `visit_string`'s default), so this is the one string path.
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Loose<T>, E> {
                if !T::TEXT {
                    return Ok(Loose(None));
                }
                T::deserialize(v.into_deserializer()).map(|t| Loose(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<T>, A::Error> {
                if T::LIST {
                    return T::deserialize(SeqAccessDeserializer::new(seq)).map(|t| Loose(Some(t)));
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<T>, A::Error> {
                if T::OBJECT {
                    return T::deserialize(MapAccessDeserializer::new(map)).map(|t| Loose(Some(t)));
                }
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_unit<E>(self) -> Result<Loose<T>, E> {
                Ok(Loose(None))
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// The wire protocols, named apart from the modules that speak them: what
/// an upstream kind answers in (`provider::Descriptor::protocol`) and what a
/// client speaks (`server::wire::Wire`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
    Gemini,
}

impl Protocol {
    /// The usage a whole answer or one stream event reports; `None` when
    /// the bytes are not a JSON object (checked UTF-8 first by the caller).
    pub fn usage_of(self, body: &[u8]) -> Option<Option<crate::canonical::Usage>> {
        match self {
            Protocol::OpenAiChat => openai_chat::usage_of(body).ok(),
            Protocol::OpenAiResponses => openai_responses::usage_of(body).ok(),
            Protocol::Anthropic => anthropic::usage_of(body).ok(),
            Protocol::Gemini => gemini::usage_of(body).ok(),
        }
    }

    /// An upstream's error body in this protocol's envelope, as an error.
    pub fn decode_error(self, status: u16, body: &[u8]) -> crate::error::Error {
        match self {
            Protocol::Gemini => gemini::decode_error(status, body),
            Protocol::Anthropic => anthropic::decode_error(status, body),
            // Responses fails over HTTP as Chat does (the same envelope).
            Protocol::OpenAiChat | Protocol::OpenAiResponses => {
                openai_chat::decode_error(status, body)
            }
        }
    }
}

/// The message of an upstream's error body: `error.message` (with Google's
/// `error.status` when present), else the first line of whatever it sent.
pub fn error_message(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match (
        v["error"]["message"].as_str(),
        v["error"]["status"].as_str(),
    ) {
        (Some(m), Some(s)) if !s.is_empty() => format!("{m} ({s})"),
        (Some(m), _) => m.to_string(),
        _ => summarize(body),
    }
}

/// The first line of a body that is not JSON (an HTML error page), bounded,
/// for error messages.
pub fn summarize(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.is_empty() {
        "empty body".into()
    } else {
        line.to_string()
    }
}

/// An upstream's answer decoder: fed each SSE `data` payload of a stream, or
/// a whole non-streamed body, it appends canonical events.
pub trait StreamDecode {
    /// One streamed `data` payload.
    fn data(
        &mut self,
        data: &[u8],
        out: &mut Vec<crate::canonical::Event>,
    ) -> Result<(), crate::error::Error>;
    /// A whole non-streamed answer.
    fn whole(
        &mut self,
        body: &[u8],
        out: &mut Vec<crate::canonical::Event>,
    ) -> Result<(), crate::error::Error>;
    /// Whether the answer was complete; a stream that ends before is cut short.
    fn finished(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::TextOr;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Body {
        content: TextOr<TextOr<u8>>,
    }

    /// Inside a `#[serde(tag)]` enum, as Chat Completions' messages are: the
    /// value then comes out of serde's buffer rather than the parser.
    #[derive(Deserialize, Debug)]
    #[serde(tag = "role")]
    enum Tagged {
        #[serde(rename = "user")]
        User { content: TextOr<u8> },
    }

    fn body(json: &str) -> Result<TextOr<TextOr<u8>>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.content)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn text_or_list_reads_either_and_says_what_it_wanted() {
        assert!(matches!(body(r#"{"content":"hi"}"#), Ok(TextOr::Text(t)) if t == "hi"));
        // An escaped string is built, not borrowed.
        assert!(matches!(body(r#"{"content":"a\nb"}"#), Ok(TextOr::Text(t)) if t == "a\nb"));
        let Ok(TextOr::List(list)) = body(r#"{"content":["x",[1,2],[]]}"#) else {
            panic!("a list")
        };
        assert!(
            matches!(&list[..], [TextOr::Text(x), TextOr::List(n), TextOr::List(e)]
            if x == "x" && n == &[1, 2] && e.is_empty())
        );
        let err = body(r#"{"content":5}"#).unwrap_err();
        assert!(
            err.starts_with("invalid type: integer `5`, expected a string or an array"),
            "{err}"
        );
        let err = body(r#"{"content":["x",{}]}"#).unwrap_err();
        assert!(err.contains("expected a string or an array"), "{err}");

        let Tagged::User { content } =
            serde_json::from_str(r#"{"content":[7],"role":"user"}"#).unwrap();
        assert!(matches!(content, TextOr::List(n) if n == [7]));
        let Tagged::User { content } =
            serde_json::from_str(r#"{"role":"user","content":"t\u00e9"}"#).unwrap();
        assert!(matches!(content, TextOr::Text(t) if t == "té"));
    }

    #[derive(Debug, PartialEq)]
    enum Shape {
        Circle(Circle),
        Other,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Circle {
        r: u32,
        #[serde(default)]
        label: String,
    }

    impl super::Tagged for Shape {
        fn variant<'de, D: serde::Deserializer<'de>>(tag: &str, rest: D) -> Result<Self, D::Error> {
            Ok(match tag {
                "circle" => Shape::Circle(Deserialize::deserialize(rest)?),
                _ => {
                    serde::de::IgnoredAny::deserialize(rest)?;
                    Shape::Other
                }
            })
        }
    }

    impl<'de> Deserialize<'de> for Shape {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::tagged(d)
        }
    }

    #[test]
    fn tagged_reads_the_kind_first_or_later_and_names_what_is_missing() {
        let shape = |json: &str| serde_json::from_str::<Shape>(json).map_err(|e| e.to_string());
        let circle = |r, label: &str| {
            Ok(Shape::Circle(Circle {
                r,
                label: label.into(),
            }))
        };
        // "type" first, as clients write it, with a field levity ignores.
        assert_eq!(
            shape(r#"{"type":"circle","r":1,"cache_control":{"type":"ephemeral"}}"#),
            circle(1, "")
        );
        // "type" later: gathered first, read the same.
        assert_eq!(
            shape(r#"{"r":2,"label":"a\nb","type":"circle"}"#),
            circle(2, "a\nb")
        );
        assert_eq!(
            shape(r#"{"type":"square","sides":[1,{"x":"}"}]}"#),
            Ok(Shape::Other)
        );
        let err = shape(r#"{"type":"circle"}"#).unwrap_err();
        assert!(err.starts_with("missing field `r`"), "{err}");
        let err = shape(r#"{"label":"x","type":"circle"}"#).unwrap_err();
        assert!(err.starts_with("missing field `r`"), "{err}");
        for json in ["{}", r#"{"r":1}"#] {
            let err = shape(json).unwrap_err();
            assert!(err.starts_with("missing field `type`"), "{json}: {err}");
        }
        let err = shape("5").unwrap_err();
        assert!(err.contains(r#"expected an object with a "type""#), "{err}");
        let err = shape(r#"{"type":5}"#).unwrap_err();
        assert!(err.starts_with("invalid type: integer `5`"), "{err}");

        // Read in one pass, the parser goes on after the object.
        #[derive(Deserialize)]
        struct Shapes {
            shapes: Vec<Shape>,
            after: u8,
        }
        let s: Shapes = serde_json::from_str(
            r#"{"shapes":[{"type":"square","a":{"b":[1]}},{"type":"circle","r":3}],"after":7}"#,
        )
        .unwrap();
        assert_eq!(
            s.shapes,
            [
                Shape::Other,
                Shape::Circle(Circle {
                    r: 3,
                    label: String::new()
                })
            ]
        );
        assert_eq!(s.after, 7);
    }
}
