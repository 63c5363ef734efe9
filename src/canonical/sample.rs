//! Canonical pieces the encoders' tests build requests from.

use super::{Message, Part, Request, Role, Schema, Tool, ToolCall, ToolKind};
use serde_json::json;

/// A text long enough to go through the memo (`protocol::memo::LONG_TEXT`),
/// with everything JSON must escape or keep: quotes, control characters,
/// a backslash, non-ASCII.
pub fn long_text() -> String {
    format!(
        "line \"one\"\n\tstill 'one' é \u{1F600}\\ {}",
        "x".repeat(300)
    )
}

pub fn message(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts }
}

/// A call of the tool `name` on `a.txt`.
pub fn call(id: &str, name: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: json!({"path": "a.txt"}),
        signature: None,
    })
}

/// What the call `id` gave back: `text`.
pub fn result(id: &str, text: &str, is_error: bool) -> Part {
    Part::ToolResult {
        call_id: id.into(),
        name: None,
        content: vec![Part::Text(text.into())],
        is_error,
    }
}

/// A request whose system prompt, first user text, tool result and tool
/// description are `long`: a turn of a coding session, in small.
pub fn session_turn(long: &str, call_name: &str) -> Request {
    Request {
        system: vec![long.into(), "short rule".into()],
        messages: vec![
            message(
                Role::User,
                vec![Part::Text(long.into()), Part::Text("hi".into())],
            ),
            message(Role::Assistant, vec![call("call_1", call_name)]),
            message(Role::User, vec![result("call_1", long, false)]),
        ],
        tools: vec![Tool {
            kind: ToolKind::Function,
            name: "read".into(),
            description: Some(long.into()),
            parameters: Schema::no_arguments(),
        }],
        ..Request::default()
    }
}
