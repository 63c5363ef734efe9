//! Table-driven translation tests: an OpenAI Chat request in, the exact Gemini
//! request out; a Gemini answer in, the exact OpenAI answer out.

use levity::canonical::Event;
use levity::protocol::{StreamDecode, gemini, openai_chat};
use serde_json::{Value, json};

fn to_gemini(req: Value, model: &str) -> Value {
    let canonical = openai_chat::decode_request(req.to_string().as_bytes()).unwrap();
    serde_json::from_slice(&gemini::encode_request(&canonical, model)).unwrap()
}

fn check(req: Value, model: &str, expected: Value) {
    let got = to_gemini(req.clone(), model);
    assert_eq!(
        got, expected,
        "\nrequest: {req:#}\ngot: {got:#}\nwant: {expected:#}"
    );
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[test]
fn system_and_developer_messages_become_the_system_instruction() {
    check(
        json!({"model": "m", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            user("hi")]}),
        "gemini-2.5-flash",
        json!({
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "systemInstruction": {"parts": [{"text": "Be brief.\n\nUse metric units."}]},
        }),
    );
}

#[test]
fn consecutive_turns_of_one_role_are_merged() {
    check(
        json!({"model": "m", "messages": [
            user("one"), user("two"),
            {"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"},
            user("three")]}),
        "gemini-2.5-flash",
        json!({"contents": [
            {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
            {"role": "model", "parts": [{"text": "a"}, {"text": "b"}]},
            {"role": "user", "parts": [{"text": "three"}]},
        ]}),
    );
}

#[test]
fn images_become_inline_data_or_file_data() {
    check(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png?x=1"}},
        ]}]}),
        "gemini-2.5-flash",
        json!({"contents": [{"role": "user", "parts": [
            {"text": "what is this"},
            {"inlineData": {"mimeType": "image/jpeg", "data": "AAAA"}},
            {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png?x=1"}},
        ]}]}),
    );
}

#[test]
fn sampling_parameters_and_output_limits() {
    let base = || {
        json!({"model": "m", "messages": [user("hi")], "temperature": 0.2, "top_p": 0.9,
            "stop": ["END"], "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.3})
    };
    let config = |max: Option<u32>| {
        let mut c = json!({"temperature": 0.2, "topP": 0.9, "stopSequences": ["END"], "seed": 7,
            "presencePenalty": 0.1, "frequencyPenalty": 0.3});
        if let Some(m) = max {
            c["maxOutputTokens"] = json!(m);
        }
        c
    };
    for (field, asked, model, want) in [
        ("max_tokens", 100_000, "gemini-2.0-flash", Some(8192)),
        ("max_tokens", 100_000, "gemini-2.5-pro", Some(65_536)),
        ("max_completion_tokens", 512, "gemini-2.5-flash", Some(512)),
        (
            "max_tokens",
            1_000_000,
            "some-future-model",
            Some(1_000_000),
        ),
    ] {
        let mut req = base();
        req[field] = json!(asked);
        let got = to_gemini(req, model);
        assert_eq!(
            got["generationConfig"],
            config(want),
            "{field}={asked} on {model}"
        );
    }
    // A single stop string is accepted too, and max_completion_tokens wins.
    let mut req = base();
    req["stop"] = json!("STOP");
    req["max_tokens"] = json!(10);
    req["max_completion_tokens"] = json!(20);
    let got = to_gemini(req, "gemini-2.5-flash");
    assert_eq!(got["generationConfig"]["stopSequences"], json!(["STOP"]));
    assert_eq!(got["generationConfig"]["maxOutputTokens"], json!(20));
}

#[test]
fn response_formats() {
    let got = to_gemini(
        json!({"model": "m", "messages": [user("x")], "response_format": {"type": "json_object"}}),
        "gemini-2.5-flash",
    );
    assert_eq!(
        got["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );

    let got = to_gemini(
        json!({"model": "m", "messages": [user("x")], "response_format": {"type": "json_schema", "json_schema": {
            "name": "person", "strict": true, "schema": {
                "type": "object", "additionalProperties": false,
                "properties": {"name": {"type": "string"}, "age": {"type": ["integer", "null"]}},
                "required": ["name", "age"]}}}}),
        "gemini-2.5-flash",
    );
    assert_eq!(
        got["generationConfig"],
        json!({"responseMimeType": "application/json", "responseSchema": {
            "type": "OBJECT",
            "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER", "nullable": true}},
            "required": ["name", "age"]}})
    );
}

#[test]
fn reasoning_effort_sets_thinking() {
    let req =
        |effort: &str| json!({"model": "m", "messages": [user("x")], "reasoning_effort": effort});
    let thinking =
        |effort, model| to_gemini(req(effort), model)["generationConfig"]["thinkingConfig"].clone();
    assert_eq!(
        thinking("low", "gemini-2.5-flash"),
        json!({"includeThoughts": true, "thinkingBudget": 1024})
    );
    assert_eq!(
        thinking("minimal", "gemini-2.5-flash"),
        json!({"includeThoughts": false, "thinkingBudget": 0})
    );
    assert_eq!(
        thinking("minimal", "gemini-2.5-pro"),
        json!({"includeThoughts": true, "thinkingBudget": 128})
    );
    assert_eq!(
        thinking("high", "gemini-3-pro-preview"),
        json!({"includeThoughts": true, "thinkingLevel": "high"})
    );
}

/// One schema per rejected keyword, and what Gemini gets instead.
#[test]
fn schema_cleaning_table() {
    let cases = [
        // $schema and additionalProperties are dropped; the rest is kept.
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
                "properties": {"q": {"type": "string", "minLength": 1, "maxLength": 9, "pattern": "^a"}}, "required": ["q", "ghost"]}),
            json!({"type": "OBJECT", "properties": {"q": {"type": "STRING", "minLength": 1, "maxLength": 9, "pattern": "^a"}}, "required": ["q"]}),
        ),
        // Type arrays with null become nullable; several real types become anyOf.
        (
            json!({"type": ["string", "null"]}),
            json!({"type": "STRING", "nullable": true}),
        ),
        (
            json!({"type": ["string", "number"]}),
            json!({"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}),
        ),
        // A nullable enum keeps its values: Gemini's Schema has enum and nullable.
        (
            json!({"type": ["string", "null"], "enum": ["c", "f", null], "description": "unit"}),
            json!({"type": "STRING", "enum": ["c", "f"], "format": "enum", "nullable": true, "description": "unit"}),
        ),
        (
            json!({"enum": ["c", "f", null]}),
            json!({"type": "STRING", "enum": ["c", "f"], "format": "enum", "nullable": true}),
        ),
        // oneOf → anyOf; a null member → nullable; a single survivor is inlined.
        (
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}], "description": "id"}),
            json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}], "description": "id"}),
        ),
        (
            json!({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]}),
            json!({"type": "STRING", "enum": ["a", "b"], "format": "enum", "nullable": true}),
        ),
        // const becomes a one-value enum.
        (
            json!({"const": "fixed"}),
            json!({"type": "STRING", "enum": ["fixed"], "format": "enum"}),
        ),
        // ... except where the type is not a string (found by `make fuzz`).
        (
            json!({"type": "number", "const": "fixed"}),
            json!({"type": "NUMBER", "description": "Constraints: must be \"fixed\"."}),
        ),
        // Constraints Gemini lacks move into the description.
        (
            json!({"type": "integer", "exclusiveMinimum": 0, "minimum": -5, "description": "Count"}),
            json!({"type": "INTEGER", "minimum": -5, "description": "Count (Constraints: exclusiveMinimum: 0.)"}),
        ),
        (
            json!({"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}, "additionalProperties": {"type": "string"}}),
            json!({"type": "OBJECT", "description": "Constraints: propertyNames: {\"pattern\":\"^[a-z]+$\"}; values are string."}),
        ),
        // Non-string enums cannot be a Gemini enum: the values go to the description, none lost.
        (
            json!({"type": "integer", "enum": [1, 2, 3]}),
            json!({"type": "INTEGER", "description": "Constraints: allowed values: 1, 2, 3."}),
        ),
        // Unsupported formats are described; supported ones kept.
        (
            json!({"type": "string", "format": "email"}),
            json!({"type": "STRING", "description": "Constraints: format: email."}),
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!({"type": "STRING", "format": "date-time"}),
        ),
        // $ref is inlined from $defs, siblings override, recursion stops.
        (
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/Leaf", "description": "the a"}}, "$defs": {"Leaf": {"type": "string", "description": "a leaf"}}}),
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING", "description": "the a"}}}),
        ),
        (
            json!({"$ref": "#/definitions/Node", "definitions": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"}}}}}),
            json!({"type": "OBJECT", "properties": {"next": {"type": "OBJECT", "description": "(recursive: Node)"}}}),
        ),
        // allOf members are merged.
        (
            json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]}),
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "BOOLEAN"}}, "required": ["a", "b"]}),
        ),
        // Arrays keep item bounds; examples become one example.
        (
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true, "examples": [["x"]]}),
            json!({"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1, "maxItems": 3, "example": ["x"], "description": "Constraints: uniqueItems: true."}),
        ),
    ];
    for (input, want) in cases {
        let got = gemini::clean_schema(&input);
        assert_eq!(got, want, "\ninput: {input}\ngot:   {got}\nwant:  {want}");
        assert_eq!(
            gemini::clean_schema(&got),
            got,
            "cleaning twice changes {input}"
        );
    }
}

const REJECTED: &[&str] = &[
    "$schema",
    "additionalProperties",
    "propertyNames",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "const",
    "oneOf",
    "$ref",
    "$defs",
    "definitions",
    "allOf",
    "examples",
    "uniqueItems",
    "multipleOf",
];

fn assert_clean(schema: &Value, path: &str) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                // Property names are user data, not keywords.
                if path.ends_with(".properties") {
                    assert_clean(v, &format!("{path}.{k}"));
                    continue;
                }
                assert!(
                    !REJECTED.contains(&k.as_str()),
                    "{path}.{k} survived cleaning"
                );
                if k == "type" {
                    assert!(v.is_string(), "{path}.type must be one string, got {v}");
                }
                assert_clean(v, &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| assert_clean(i, path)),
        _ => {}
    }
}

fn enum_values(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get("enum") {
                out.extend(
                    values
                        .iter()
                        .map(|v| v.as_str().map_or(v.to_string(), str::to_string)),
                );
            }
            map.values().for_each(|v| enum_values(v, out));
        }
        Value::Array(items) => items.iter().for_each(|i| enum_values(i, out)),
        _ => {}
    }
}

/// The 12 tools Claude Code sends (35 KB of schema) come out with no keyword
/// Gemini rejects, and every enum value still reaches the model.
#[test]
fn claude_code_tool_schemas_are_cleaned_without_losing_enums() {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/claude-code/01_print_mode_say_hi_stream.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let tools = fixture["body"]["tools"].as_array().unwrap();
    assert!(tools.len() >= 10);
    for tool in tools {
        let schema = &tool["input_schema"];
        let cleaned = gemini::clean_schema(schema);
        assert_clean(&cleaned, tool["name"].as_str().unwrap());
        let (mut before, mut kept) = (Vec::new(), Vec::new());
        enum_values(schema, &mut before);
        enum_values(&cleaned, &mut kept);
        let text = cleaned.to_string();
        for v in before {
            assert!(
                kept.contains(&v) || text.contains(&v),
                "enum value {v} of {} was lost",
                tool["name"]
            );
        }
    }
}

#[test]
fn tools_and_tool_choice() {
    let tool = json!({"type": "function", "function": {"name": "get_weather", "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}});
    let no_params = json!({"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}});
    let decl = json!({"name": "get_weather", "description": "Weather now",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}});
    for (choice, config) in [
        (
            json!("auto"),
            json!({"functionCallingConfig": {"mode": "AUTO"}}),
        ),
        (
            json!("none"),
            json!({"functionCallingConfig": {"mode": "NONE"}}),
        ),
        (
            json!("required"),
            json!({"functionCallingConfig": {"mode": "ANY"}}),
        ),
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}),
        ),
    ] {
        let got = to_gemini(
            json!({"model": "m", "messages": [user("x")], "tools": [tool, no_params], "tool_choice": choice}),
            "gemini-2.5-flash",
        );
        // An object without properties is sent without `parameters`: Gemini rejects it.
        assert_eq!(
            got["tools"],
            json!([{"functionDeclarations": [decl, {"name": "ping"}]}])
        );
        assert_eq!(got["toolConfig"], config);
    }
}

#[test]
fn tool_call_history_round_trips_with_names_and_signatures() {
    let req = json!({"model": "m", "messages": [
        user("weather in Paris and Rome?"),
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"},
        {"role": "tool", "tool_call_id": "call_2", "content": "sunny"},
    ]});
    let calls = json!({"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]});
    let results = json!({"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}]});
    check(
        req.clone(),
        "gemini-2.5-flash",
        json!({"contents": [
        {"role": "user", "parts": [{"text": "weather in Paris and Rome?"}]}, calls, results]}),
    );

    // Gemini 3 refuses replayed calls without a signature: the first call of
    // the turn carries Google's documented sentinel.
    let got = to_gemini(req, "gemini-3-pro-preview");
    assert_eq!(
        got["contents"][1]["parts"][0]["thoughtSignature"],
        "skip_thought_signature_validator"
    );
    assert!(
        got["contents"][1]["parts"][1]
            .get("thoughtSignature")
            .is_none()
    );
}

#[test]
fn bad_requests_name_the_field() {
    for (body, param) in [
        (json!({"messages": [user("x")]}), "model"),
        (json!({"model": "m"}), "messages"),
        (json!({"model": "m", "messages": []}), "messages"),
        (json!({"model": "m", "messages": [user("x")], "n": 2}), "n"),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}]}),
            "messages[0].content[0].image_url.url",
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{oops"}}]}]}),
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            json!({"model": "m", "messages": [user("x")], "tool_choice": "sometimes"}),
            "tool_choice",
        ),
    ] {
        let err = openai_chat::decode_request(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.param.as_deref(), Some(param), "{body}: {}", err.message);
    }
    for garbage in [
        &b"not json"[..],
        b"",
        b"[]",
        b"{\"model\": 5}",
        &[0xff, 0xfe],
    ] {
        assert_eq!(
            openai_chat::decode_request(garbage).unwrap_err().status(),
            400
        );
    }
}

#[test]
fn captured_sdk_requests_decode() {
    for name in [
        "001_POST_v1_chat_completions.json",
        "002_POST_v1_chat_completions.json",
    ] {
        let path = format!("{}/tests/fixtures/sdks/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let fixture: Value = serde_json::from_str(&text).unwrap();
        let req = openai_chat::decode_request(fixture["body"].to_string().as_bytes()).unwrap();
        assert_eq!(req.model, "gpt-fake");
        assert_eq!(req.stream, fixture["body"]["stream"] == json!(true));
        assert_eq!(req.stream_usage, fixture["body"]["stream"] == json!(true));
    }
}

fn openai_of(gemini_response: Value) -> Value {
    let resp = gemini::decode_response(
        gemini_response.to_string().as_bytes(),
        "fallback".into(),
        "gemini-2.5-flash",
    )
    .unwrap();
    serde_json::from_slice(&openai_chat::encode_response(&resp, 1700000000)).unwrap()
}

#[test]
fn gemini_answers_become_chat_completions() {
    let got = openai_of(json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "pondering", "thought": true}, {"text": "Hello"}, {"text": " world"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 6, "cachedContentTokenCount": 2},
        "modelVersion": "gemini-2.5-flash", "responseId": "r1"}));
    assert_eq!(
        got,
        json!({
        "id": "r1", "object": "chat.completion", "created": 1700000000, "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello world", "reasoning_content": "pondering"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 6}}})
    );

    let got = openai_of(json!({"candidates": [{"content": {"parts": [
        {"functionCall": {"name": "f", "args": {"a": 1}}}, {"functionCall": {"id": "given", "name": "g"}}]}, "finishReason": "STOP"}],
        "responseId": "r2"}));
    let msg = &got["choices"][0]["message"];
    assert_eq!(got["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(
        msg["tool_calls"],
        json!([
        {"id": "call_r2_0", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
        {"id": "given", "type": "function", "function": {"name": "g", "arguments": "{}"}}])
    );

    for (reason, want) in [
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("OTHER", "stop"),
    ] {
        let got = openai_of(
            json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}),
        );
        assert_eq!(got["choices"][0]["finish_reason"], want, "{reason}");
    }
    let blocked = openai_of(json!({"promptFeedback": {"blockReason": "SAFETY"}}));
    assert_eq!(blocked["choices"][0]["finish_reason"], "content_filter");
}

#[test]
fn gemini_stream_becomes_chat_completion_chunks() {
    let chunks = [
        json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}], "responseId": "s1", "modelVersion": "gemini-2.5-flash"}),
        json!({"candidates": [{"content": {"parts": [{"text": "lo"}]}}]}),
        json!({"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {"x": true}}, "thoughtSignature": "sig"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}),
    ];
    let mut decoder = gemini::StreamDecoder::new("fallback".into(), "gemini-2.5-flash");
    let mut encoder = openai_chat::ChunkEncoder::new("client-model", 5, true);
    let mut events: Vec<Event> = Vec::new();
    let mut out = Vec::new();
    for c in &chunks {
        events.clear();
        decoder
            .chunk(c.to_string().as_bytes(), &mut events)
            .unwrap();
        for e in &events {
            encoder.event(e, &mut out);
        }
    }
    assert!(decoder.finished());
    encoder.done(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let frames = crate::common::sse_events(&text);
    let deltas: Vec<Value> = frames
        .iter()
        .map(|f| f["choices"][0]["delta"].clone())
        .collect();
    assert_eq!(deltas[0], json!({"role": "assistant", "content": ""}));
    assert_eq!(deltas[1], json!({"content": "Hel"}));
    assert_eq!(deltas[2], json!({"content": "lo"}));
    assert_eq!(
        deltas[3],
        json!({"tool_calls": [{"index": 0, "id": "call_s1_0", "type": "function", "function": {"name": "f", "arguments": "{\"x\":true}"}}]})
    );
    assert_eq!(frames[4]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(frames[5]["choices"], json!([]));
    assert_eq!(frames[5]["usage"]["total_tokens"], 5);
    for f in &frames {
        assert_eq!(f["object"], "chat.completion.chunk");
        assert_eq!(f["id"], "chatcmpl-s1");
        assert_eq!(f["model"], "gemini-2.5-flash");
    }
}

/// What a model reads in a schema: property names, string enum values and
/// descriptions, anywhere in it (`$defs` included, since `$ref`s are inlined).
fn readable(
    schema: &Value,
    names: &mut Vec<String>,
    values: &mut Vec<String>,
    texts: &mut Vec<String>,
) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("properties", Value::Object(props)) => names.extend(props.keys().cloned()),
                    ("enum", Value::Array(vs)) => {
                        values.extend(vs.iter().filter_map(|x| x.as_str().map(str::to_string)))
                    }
                    ("const", Value::String(c)) => values.push(c.clone()),
                    ("description", Value::String(d)) => texts.push(d.clone()),
                    _ => {}
                }
                readable(v, names, values, texts);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| readable(v, names, values, texts)),
        _ => {}
    }
}

/// The tool schemas popular MCP servers publish (filesystem, GitHub,
/// Playwright; `tests/fixtures/mcp/`), cleaned to Gemini's Schema: every
/// property, every string enum value and every description survives, the
/// result uses only what Gemini's Schema has, and it cleans the same twice.
#[test]
fn published_mcp_schemas_lose_nothing_the_model_needs() {
    const GEMINI_KEYS: &[&str] = &[
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "items",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "minimum",
        "maximum",
    ];
    fn keys_ok(v: &Value, path: &str) {
        if let Value::Object(map) = v {
            for (k, x) in map {
                if path.ends_with("/properties") {
                    keys_ok(x, &format!("{path}/{k}"));
                    continue;
                }
                assert!(
                    GEMINI_KEYS.contains(&k.as_str()),
                    "{path}: `{k}` is not in Gemini's Schema"
                );
                keys_ok(x, &format!("{path}/{k}"));
            }
        } else if let Value::Array(items) = v {
            items.iter().for_each(|x| keys_ok(x, path));
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp");
    let mut tools = 0;
    for server in ["filesystem", "github", "playwright"] {
        let list: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{server}.json")).unwrap())
                .unwrap();
        for tool in list {
            let name = tool["name"].as_str().unwrap();
            let schema = &tool["inputSchema"];
            let cleaned = gemini::clean_schema(schema);
            keys_ok(&cleaned, &format!("{server}/{name}"));
            assert_eq!(
                gemini::clean_schema(&cleaned),
                cleaned,
                "{server}/{name} cleans the same twice"
            );
            let (mut names, mut values, mut texts) = (Vec::new(), Vec::new(), Vec::new());
            readable(schema, &mut names, &mut values, &mut texts);
            let text = cleaned.to_string();
            let (mut got_names, mut got_values, mut got_texts) =
                (Vec::new(), Vec::new(), Vec::new());
            readable(&cleaned, &mut got_names, &mut got_values, &mut got_texts);
            for n in &names {
                assert!(
                    got_names.contains(n),
                    "{server}/{name}: property `{n}` lost: {text}"
                );
            }
            for v in &values {
                assert!(
                    got_values.contains(v) || text.contains(v.as_str()),
                    "{server}/{name}: value `{v}` lost: {text}"
                );
            }
            for t in &texts {
                assert!(
                    got_texts.iter().any(|g| g.contains(t.as_str())),
                    "{server}/{name}: description lost: {t}"
                );
            }
            tools += 1;
        }
    }
    assert_eq!(tools, 14 + 26 + 25, "every published tool was checked");
}
