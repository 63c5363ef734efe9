//! The model catalogue: one row per model (or family of ids, `prefix*`),
//! with its context window, output ceiling, thinking limits, inputs and
//! price. Routing (which kinds serve a name), the encoders (ceilings and
//! thinking budgets), `/v1/models` and the dashboard read it here.
//!
//! Facts from the providers' model and pricing pages (cited per block);
//! prices in US dollars per million tokens, standard tier, prompts up to
//! 200k tokens where the price steps up beyond.

use serde::Serialize;

/// Who makes a model, and so which upstream kinds serve it by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Gemini,
    Claude,
    /// OpenAI's models, served by the accounts that list them.
    Gpt,
}

/// How a model is asked to think.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Thinking {
    None,
    /// A token budget from `min` to `max`; `off`: 0 turns thinking off.
    Budget {
        min: u32,
        max: u32,
        off: bool,
    },
    /// A level (Gemini 3: `low` / `high`), not a budget.
    Level,
    /// An effort (OpenAI's `reasoning.effort`).
    Effort,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Price {
    pub input: f64,
    /// Input read from the provider's prompt cache.
    pub cached: f64,
    /// Input written to it (Anthropic bills a 5-minute write at 1.25 times
    /// the input price); the input price elsewhere.
    pub cache_write: f64,
    pub output: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Model {
    /// An id, or a family of ids (`claude-opus-4-1*`).
    pub id: &'static str,
    pub family: Family,
    /// Tokens in, all told.
    pub context: u32,
    /// The most output tokens a request may ask for.
    pub output: u32,
    pub thinking: Thinking,
    pub images: bool,
    pub pdf: bool,
    pub price: Option<Price>,
    /// Named on `/v1/models` for accounts of its family (a family of ids
    /// by its stem: `gemini-2.5-pro*` as `gemini-2.5-pro`).
    pub listed: bool,
}

impl Price {
    /// What `usage` cost, in US dollars: cached input at its own price, the
    /// rest of the input and all output (reasoning included) at theirs.
    pub fn cost(&self, usage: &crate::canonical::Usage) -> f64 {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = usage.cache_write_tokens.min(usage.input_tokens - cached);
        let fresh = usage.input_tokens - cached - written;
        (fresh as f64 * self.input
            + cached as f64 * self.cached
            + written as f64 * self.cache_write
            + usage.output_tokens as f64 * self.output)
            / 1_000_000.0
    }

    /// What reading `usage`'s cached input from the cache saved, in US
    /// dollars, against paying the full input price for it.
    pub fn saved(&self, usage: &crate::canonical::Usage) -> f64 {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        cached as f64 * (self.input - self.cached).max(0.0) / 1_000_000.0
    }
}

const fn price(input: f64, cached: f64, output: f64) -> Option<Price> {
    Some(Price {
        input,
        cached,
        cache_write: input,
        output,
    })
}

/// Claude's prices: a 5-minute cache write costs 1.25 times the input
/// (platform.claude.com/docs/en/about-claude/pricing).
const fn claude(input: f64, cached: f64, output: f64) -> Option<Price> {
    Some(Price {
        input,
        cached,
        cache_write: input * 1.25,
        output,
    })
}

const fn row(
    id: &'static str,
    family: Family,
    context: u32,
    output: u32,
    thinking: Thinking,
) -> Model {
    Model {
        id,
        family,
        context,
        output,
        thinking,
        images: true,
        pdf: true,
        price: None,
        listed: false,
    }
}

const fn budget(min: u32, max: u32, off: bool) -> Thinking {
    Thinking::Budget { min, max, off }
}

use Family::{Claude, Gemini, Gpt};

/// Most specific first: the first row whose id matches a name is its row.
pub const MODELS: &[Model] = &[
    // ai.google.dev/gemini-api/docs/models, /thinking, /pricing, /gemini-3:
    // 2.5 Pro thinks 128-32768 and cannot stop; Flash 0-24576; Flash-Lite
    // 512-24576 or off; Gemini 3 takes a level.
    Model {
        listed: true,
        price: price(2.0, 0.2, 12.0),
        ..row(
            "gemini-3-pro-preview",
            Gemini,
            1_048_576,
            65_536,
            Thinking::Level,
        )
    },
    Model {
        listed: true,
        price: price(0.5, 0.05, 3.0),
        ..row(
            "gemini-3-flash-preview",
            Gemini,
            1_048_576,
            65_536,
            Thinking::Level,
        )
    },
    row("gemini-3*", Gemini, 1_048_576, 65_536, Thinking::Level),
    Model {
        listed: true,
        price: price(1.25, 0.125, 10.0),
        ..row(
            "gemini-2.5-pro*",
            Gemini,
            1_048_576,
            65_536,
            budget(128, 32_768, false),
        )
    },
    Model {
        listed: true,
        price: price(0.1, 0.01, 0.4),
        ..row(
            "gemini-2.5-flash-lite*",
            Gemini,
            1_048_576,
            65_536,
            budget(512, 24_576, true),
        )
    },
    Model {
        listed: true,
        price: price(0.3, 0.03, 2.5),
        ..row(
            "gemini-2.5-flash*",
            Gemini,
            1_048_576,
            65_536,
            budget(0, 24_576, true),
        )
    },
    row(
        "gemini-2.0-flash-thinking*",
        Gemini,
        1_048_576,
        65_536,
        budget(0, 24_576, true),
    ),
    Model {
        listed: true,
        price: price(0.1, 0.025, 0.4),
        ..row("gemini-2.0-flash", Gemini, 1_048_576, 8_192, Thinking::None)
    },
    row("gemini-2.0*", Gemini, 1_048_576, 8_192, Thinking::None),
    row("gemini-1.5*", Gemini, 1_048_576, 8_192, Thinking::None),
    // ai.google.dev/gemini-api/docs/embeddings and /pricing: 2,048 input
    // tokens, 3,072 values (shortened with outputDimensionality), $0.15 per
    // million input tokens.
    Model {
        listed: true,
        price: price(0.15, 0.15, 0.0),
        ..row("gemini-embedding-001", Gemini, 2_048, 0, Thinking::None)
    },
    row(
        "gemini-*",
        Gemini,
        1_048_576,
        65_536,
        budget(0, 24_576, true),
    ),
    // platform.claude.com/docs/en/about-claude/models/overview and /pricing;
    // extended thinking takes a budget of at least 1024, below max_tokens.
    Model {
        price: claude(5.0, 0.5, 25.0),
        ..row(
            "claude-opus-4-5*",
            Claude,
            200_000,
            64_000,
            budget(1_024, 63_999, true),
        )
    },
    Model {
        price: claude(15.0, 1.5, 75.0),
        ..row(
            "claude-opus-4-1*",
            Claude,
            200_000,
            32_000,
            budget(1_024, 31_999, true),
        )
    },
    Model {
        price: claude(15.0, 1.5, 75.0),
        ..row(
            "claude-opus-4-0*",
            Claude,
            200_000,
            32_000,
            budget(1_024, 31_999, true),
        )
    },
    Model {
        price: claude(3.0, 0.3, 15.0),
        ..row(
            "claude-sonnet-4-5*",
            Claude,
            200_000,
            64_000,
            budget(1_024, 63_999, true),
        )
    },
    Model {
        price: claude(1.0, 0.1, 5.0),
        ..row(
            "claude-haiku-4-5*",
            Claude,
            200_000,
            64_000,
            budget(1_024, 63_999, true),
        )
    },
    Model {
        price: claude(0.8, 0.08, 4.0),
        ..row("claude-3-5-haiku*", Claude, 200_000, 8_192, Thinking::None)
    },
    Model {
        pdf: false,
        price: claude(0.25, 0.03, 1.25),
        ..row("claude-3-haiku*", Claude, 200_000, 4_096, Thinking::None)
    },
    row(
        "claude-*",
        Claude,
        200_000,
        64_000,
        budget(1_024, 63_999, true),
    ),
    // developers.openai.com/api/docs/pricing and the model pages: the GPT-5
    // family reads 272,000 of its 400,000 tokens as input.
    // platform.openai.com/docs/pricing: embeddings, per million input tokens.
    Model {
        price: price(0.02, 0.02, 0.0),
        ..row("text-embedding-3-small", Gpt, 8_191, 0, Thinking::None)
    },
    Model {
        price: price(0.13, 0.13, 0.0),
        ..row("text-embedding-3-large", Gpt, 8_191, 0, Thinking::None)
    },
    Model {
        price: price(1.25, 0.125, 10.0),
        ..row("gpt-5-codex*", Gpt, 400_000, 128_000, Thinking::Effort)
    },
    Model {
        price: price(1.25, 0.125, 10.0),
        ..row("gpt-5.1-codex*", Gpt, 400_000, 128_000, Thinking::Effort)
    },
    Model {
        price: price(1.25, 0.125, 10.0),
        ..row("gpt-5.1*", Gpt, 400_000, 128_000, Thinking::Effort)
    },
    Model {
        price: price(0.25, 0.025, 2.0),
        ..row("gpt-5-mini*", Gpt, 400_000, 128_000, Thinking::Effort)
    },
    Model {
        price: price(0.05, 0.005, 0.4),
        ..row("gpt-5-nano*", Gpt, 400_000, 128_000, Thinking::Effort)
    },
    Model {
        price: price(1.25, 0.125, 10.0),
        ..row("gpt-5*", Gpt, 400_000, 128_000, Thinking::Effort)
    },
    Model {
        price: price(2.0, 0.5, 8.0),
        ..row("gpt-4.1*", Gpt, 1_047_576, 32_768, Thinking::None)
    },
    Model {
        price: price(0.15, 0.075, 0.6),
        ..row("gpt-4o-mini*", Gpt, 128_000, 16_384, Thinking::None)
    },
    Model {
        price: price(2.5, 1.25, 10.0),
        ..row("gpt-4o*", Gpt, 128_000, 16_384, Thinking::None)
    },
    Model {
        price: price(1.1, 0.275, 4.4),
        ..row("o4-mini*", Gpt, 200_000, 100_000, Thinking::Effort)
    },
    Model {
        price: price(2.0, 0.5, 8.0),
        ..row("o3*", Gpt, 200_000, 100_000, Thinking::Effort)
    },
];

/// Where Claude Code's model names go when no Anthropic account serves
/// them and no user rule says otherwise (`model_map.<name>` overrides).
pub const STAND_INS: &[(&str, &str)] = &[
    ("claude-*opus*", "gemini-2.5-pro"),
    ("claude-*sonnet*", "gemini-2.5-flash"),
    ("claude-*haiku*", "gemini-2.5-flash-lite"),
    ("claude-*", "gemini-2.5-flash"),
];

/// The row of `model`, if the catalogue knows it or its family.
pub fn find(model: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| crate::config::glob(m.id, model))
}

/// The family that serves `model` by name.
pub fn family_of(model: &str) -> Option<Family> {
    find(model).map(|m| m.family)
}

/// The output ceiling of `model`, where the catalogue knows it.
pub fn output_limit(model: &str) -> Option<u32> {
    find(model).map(|m| m.output)
}

/// The thinking `model` takes; unknown models take a budget freely.
pub fn thinking(model: &str) -> Thinking {
    find(model).map_or(budget(0, u32::MAX, true), |m| m.thinking)
}

/// Whether the catalogue knows `model` itself, not only its family: a typo
/// such as `gemini-2.5-flsh` matches only the catch-all `gemini-*`.
pub fn knows(model: &str) -> bool {
    find(model).is_some_and(|m| !m.id.ends_with("-*"))
}

/// Whether `target` is a model a mapping rule can send requests to: one the
/// catalogue knows or an account lists. The error names the closest such
/// name when there is one.
pub fn check_target<'a>(
    target: &str,
    listed: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let listed: Vec<&str> = listed.into_iter().collect();
    if knows(target) || listed.contains(&target) {
        return Ok(());
    }
    let known = MODELS
        .iter()
        .filter(|m| !m.id.ends_with("-*"))
        .map(|m| m.id.trim_end_matches('*'))
        .chain(listed.iter().copied());
    let closest = known
        .map(|k| (strsim::levenshtein(k, target), k))
        .filter(|&(d, _)| d <= (target.len() / 4).max(2))
        .min();
    let mut why = format!("`{target}` is neither a model levity knows nor one an account lists");
    if let Some((_, k)) = closest {
        why += &format!("; did you mean `{k}`?");
    }
    Err(why)
}

/// Whether `model` is one the catalogue knows as a chat model (embedding
/// models' rows have no output).
pub fn is_chat_model(model: &str) -> bool {
    knows(model) && find(model).is_some_and(|m| m.output > 0)
}

/// Models named on `/v1/models` for accounts of `family`.
pub fn listed(family: Family) -> impl Iterator<Item = &'static str> {
    MODELS
        .iter()
        .filter(move |m| m.listed && m.family == family)
        .map(|m| m.id.trim_end_matches('*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_target_must_be_known_or_listed_and_a_typo_gets_a_suggestion() {
        for ok in [
            "gemini-2.5-flash",
            "gemini-2.5-flash-preview-09-2025",
            "claude-sonnet-4-5-20250929",
            "gpt-4o-mini",
        ] {
            assert_eq!(check_target(ok, []), Ok(()), "{ok}");
        }
        let why = check_target("gemini-2.5-flsh", []).unwrap_err();
        assert!(why.contains("did you mean `gemini-2.5-flash`?"), "{why}");
        // A host's own model is fine once an account lists it, and is
        // suggested for a slip of it.
        assert_eq!(check_target("deepseek-chat", ["deepseek-chat"]), Ok(()));
        let why = check_target("deepseek-caht", ["deepseek-chat"]).unwrap_err();
        assert!(why.contains("`deepseek-chat`"), "{why}");
        assert!(
            !check_target("something-else-entirely", [])
                .unwrap_err()
                .contains("did you mean")
        );
    }

    #[test]
    fn rows_are_reachable_and_sane() {
        for (i, m) in MODELS.iter().enumerate() {
            // A row hidden by a broader one before it would never be read.
            let probe = m.id.trim_end_matches('*');
            assert_eq!(
                find(probe).map(|f| f.id),
                Some(m.id),
                "{} is shadowed",
                m.id
            );
            assert!(m.output <= m.context, "{}", m.id);
            assert!(!m.id.trim_end_matches('*').contains('*'), "{}", m.id);
            assert!(MODELS[..i].iter().all(|o| o.id != m.id));
            if let Thinking::Budget { min, max, .. } = m.thinking {
                assert!(
                    min <= max && (m.family != Claude || max < m.output),
                    "{}",
                    m.id
                );
            }
        }
        for (_, target) in STAND_INS {
            assert_eq!(family_of(target), Some(Gemini));
        }
    }

    #[test]
    fn cost_prices_cache_reads_and_writes_apart() {
        let sonnet = find("claude-sonnet-4-5").unwrap().price.unwrap();
        let usage = crate::canonical::Usage {
            input_tokens: 100,
            cached_input_tokens: 20,
            cache_write_tokens: 30,
            output_tokens: 10,
            ..Default::default()
        };
        // 50 fresh at $3, 20 read at $0.30, 30 written at $3.75, 10 out at $15.
        let want = (50.0 * 3.0 + 20.0 * 0.3 + 30.0 * 3.75 + 10.0 * 15.0) / 1e6;
        assert!((sonnet.cost(&usage) - want).abs() < 1e-15);
        assert!((sonnet.saved(&usage) - 20.0 * 2.7 / 1e6).abs() < 1e-15);
    }

    #[test]
    fn names_find_their_rows() {
        assert_eq!(output_limit("claude-opus-4-1-20250805"), Some(32_000));
        assert_eq!(output_limit("claude-3-haiku-20240307"), Some(4_096));
        assert_eq!(output_limit("claude-sonnet-4-5"), Some(64_000));
        assert_eq!(output_limit("gemini-2.0-flash-001"), Some(8_192));
        assert_eq!(family_of("gemini-exp-1206"), Some(Gemini));
        assert_eq!(family_of("deepseek-chat"), None);
        assert_eq!(thinking("gemini-2.5-flash-lite"), budget(512, 24_576, true));
    }
}
