//! Thinking signatures on the Anthropic wire, with their provenance.

use crate::canonical::{Origin, Signature};

pub const PREFIX: &str = "lvt1:";

/// What a signature belongs to: a block of reasoning, or the tool call after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Thought,
    Call,
}

/// The string a client sees in a thinking block's `signature`.
pub fn to_wire(sig: &Signature, slot: Slot) -> String {
    match &sig.origin {
        Origin::Anthropic => sig.value.clone(),
        Origin::Gemini { model } => {
            let kind = match slot {
                Slot::Thought => "thought",
                Slot::Call => "call",
            };
            format!("{PREFIX}gemini:{kind}:{model}:{}", sig.value)
        }
        // Account ids (`acc_<hex>`) hold no `:`; reasoning is never a call's.
        Origin::OpenAi { account } => format!("{PREFIX}openai:{account}:{}", sig.value),
    }
}

/// Reads a signature back; anything without levity's prefix is Anthropic's own.
pub fn from_wire(s: &str) -> Option<(Signature, Slot)> {
    if s.is_empty() {
        return None;
    }
    let Some(rest) = s.strip_prefix(PREFIX) else {
        let sig = Signature {
            origin: Origin::Anthropic,
            value: s.to_string(),
        };
        return Some((sig, Slot::Thought));
    };
    if let Some((account, value)) = rest.strip_prefix("openai:").and_then(|r| r.split_once(':')) {
        let origin = Origin::OpenAi {
            account: account.to_string(),
        };
        let sig = Signature {
            origin,
            value: value.to_string(),
        };
        return (!account.is_empty() && !value.is_empty()).then_some((sig, Slot::Thought));
    }
    let mut fields = rest.splitn(4, ':');
    let (provider, kind, model, value) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if provider != "gemini" || value.is_empty() {
        return None;
    }
    let slot = match kind {
        "call" => Slot::Call,
        "thought" => Slot::Thought,
        _ => return None,
    };
    let sig = Signature {
        origin: Origin::Gemini {
            model: model.to_string(),
        },
        value: value.to_string(),
    };
    Some((sig, slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let g = Signature {
            origin: Origin::Gemini {
                model: "gemini-2.5-flash".into(),
            },
            value: "c2ln/+=".into(),
        };
        for slot in [Slot::Thought, Slot::Call] {
            assert_eq!(from_wire(&to_wire(&g, slot)), Some((g.clone(), slot)));
        }
        let a = Signature {
            origin: Origin::Anthropic,
            value: "EqQBCkgIARABGAIiQL".into(),
        };
        assert_eq!(to_wire(&a, Slot::Thought), "EqQBCkgIARABGAIiQL");
        assert_eq!(from_wire("EqQBCkgIARABGAIiQL"), Some((a, Slot::Thought)));
        let o = Signature {
            origin: Origin::OpenAi {
                account: "acc_0a1b".into(),
            },
            value: "gAAAAB:x==".into(),
        };
        assert_eq!(
            to_wire(&o, Slot::Thought),
            "lvt1:openai:acc_0a1b:gAAAAB:x=="
        );
        assert_eq!(
            from_wire(&to_wire(&o, Slot::Thought)),
            Some((o, Slot::Thought))
        );
        for bad in [
            "",
            "lvt1:openai::x",
            "lvt1:openai:acc_1:",
            "lvt1:",
            "lvt1:gemini:call:m:",
            "lvt1:gemini:what:m:x",
        ] {
            assert_eq!(from_wire(bad), None, "{bad}");
        }
    }
}
