//! Every upstream answer decoder (Gemini, Anthropic, OpenAI-compatible,
//! OpenAI Responses, and the tagging of Responses answers passed through), on
//! whole bodies and on stream events cut at arbitrary places.
#![no_main]

use levity::protocol::{StreamDecode, anthropic, gemini, openai_chat, openai_responses};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let mut decoder: Box<dyn StreamDecode> = match pick % 4 {
        0 => Box::new(gemini::StreamDecoder::new("id".into(), "gemini-2.5-flash")),
        1 => Box::new(anthropic::UpstreamDecoder::new("id".into())),
        2 => Box::new(openai_chat::UpstreamDecoder::new("id".into())),
        _ => Box::new(openai_responses::UpstreamDecoder::new(
            "id".into(),
            "acc_1".into(),
            openai_chat::decode_error,
        )),
    };
    let mut out = Vec::new();
    if pick & 4 != 0 {
        let _ = decoder.whole(body, &mut out);
    } else {
        // Events separated as SSE separates them.
        for event in body.split(|&b| b == b'\n') {
            if decoder.data(event, &mut out).is_err() {
                break;
            }
        }
    }
    let _ = decoder.finished();
    let _ = gemini::decode_response(body, "id".into(), "gemini-2.5-flash");
    let _ = anthropic::usage_of(body);
    let _ = openai_chat::usage_of(body);
    let _ = openai_responses::usage_of(body);
    let _ = openai_responses::provenance::tag_answer("acc_1", body);
    let _ = gemini::decode_error(500, body);
    let _ = anthropic::decode_error(529, body);
    let _ = openai_chat::decode_error(429, body);
    // Hostile error bodies through the taxonomy, for every kind and status.
    for kind in [
        levity::store::ProviderKind::Gemini,
        levity::store::ProviderKind::GoogleOauth,
        levity::store::ProviderKind::Anthropic,
        levity::store::ProviderKind::Openai,
        levity::store::ProviderKind::OpenaiResponses,
    ] {
        for status in [400, 403, 429, 503] {
            let _ = levity::provider::taxonomy::upstream_error(kind, status, body);
        }
    }
});
