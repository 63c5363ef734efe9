//! `levity connect <tool>` and the Connect page's "Set up": each tool's own
//! configuration file pointed at levity with a client key, merged into what
//! is there (nothing else in it changes), the old file kept as a backup.
//! One row per tool; the CLI and the admin API both read `TOOLS`.
//!
//! Where each tool reads its settings (sources in each row):
//! - Claude Code: `$CLAUDE_CONFIG_DIR` or `~/.claude`, `settings.json`'s `env`
//!   (code.claude.com/docs/en/settings, /env-vars). `ANTHROPIC_AUTH_TOKEN`
//!   goes as a bearer token and asks no "use this API key?" question, unlike
//!   `ANTHROPIC_API_KEY` (code.claude.com/docs/en/llm-gateway).
//! - Codex: `$CODEX_HOME` or `~/.codex`, `config.toml`: `model_provider` and
//!   `[model_providers.levity]` (openai/codex docs/config.md). The provider
//!   is not named "OpenAI": that name alone turns on the WebSocket transport
//!   and remote compaction (codex-rs model-provider-info).
//! - Gemini CLI: `~/.gemini/.env` (`GEMINI_API_KEY`, `GOOGLE_GEMINI_BASE_URL`,
//!   google-gemini/gemini-cli packages/core/src/core/contentGenerator.ts).
//! - opencode: `$XDG_CONFIG_HOME/opencode/opencode.json`, a provider with
//!   `@ai-sdk/openai-compatible` (opencode.ai/docs/providers).

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

pub struct Tool {
    /// As typed: `levity connect claude-code`.
    pub name: &'static str,
    pub label: &'static str,
    /// The file it reads, from the environment and the home folder.
    file: fn(&Env) -> PathBuf,
    /// The file's new text from its old one (empty when there was none).
    merge: fn(&str, &Target) -> Result<String, String>,
    /// What to tell the user after writing.
    pub after: &'static str,
}

/// Where the tool should go: levity's address and the client key.
pub struct Target {
    /// `http://127.0.0.1:8045`, no trailing slash.
    pub url: String,
    pub key: String,
    /// Models levity serves, for tools that list them (opencode).
    pub models: Vec<String>,
}

/// What locates the files: the home folder and the variables the tools read.
pub struct Env {
    pub home: PathBuf,
    pub var: fn(&str) -> Option<String>,
}

impl Env {
    pub fn real() -> Option<Env> {
        Some(Env {
            home: dirs::home_dir()?,
            var: |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        })
    }

    fn dir(&self, var: &str, default: &str) -> PathBuf {
        (self.var)(var).map_or_else(|| self.home.join(default), PathBuf::from)
    }
}

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "claude-code",
        label: "Claude Code",
        file: |env| {
            env.dir("CLAUDE_CONFIG_DIR", ".claude")
                .join("settings.json")
        },
        merge: claude_code,
        after: "Claude Code reads it at its next start (a running session as soon as the file is saved).",
    },
    Tool {
        name: "codex",
        label: "Codex CLI",
        file: |env| env.dir("CODEX_HOME", ".codex").join("config.toml"),
        merge: codex,
        after: "Codex uses it at its next start; choose a model levity serves with `codex -m MODEL` (or `model = ...` in the file).",
    },
    Tool {
        name: "gemini-cli",
        label: "Gemini CLI",
        file: |env| env.home.join(".gemini").join(".env"),
        merge: gemini_cli,
        after: "Gemini CLI reads ~/.gemini/.env unless a project has its own .env, or the folder is untrusted; choose \"Use Gemini API key\" when it asks how to sign in.",
    },
    Tool {
        name: "opencode",
        label: "opencode",
        file: |env| {
            env.dir("XDG_CONFIG_HOME", ".config")
                .join("opencode")
                .join("opencode.json")
        },
        merge: opencode,
        after: "In opencode, pick a model under the provider \"levity\" (/models).",
    },
];

pub fn find(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The models accounts serve, for tools that list them: what an account
/// lists, else its family's catalogue models. (kind, listed models) of each
/// enabled account.
pub fn served_models<'a>(
    accounts: impl Iterator<Item = (crate::store::ProviderKind, &'a [String])>,
) -> Vec<String> {
    let mut models: Vec<String> = Vec::new();
    for (kind, listed) in accounts {
        let d = kind.descriptor();
        if d.lists_models {
            models.extend(listed.iter().cloned());
        } else if let Some(family) = d.family {
            models.extend(crate::catalogue::listed(family).map(str::to_string));
        }
    }
    models.sort();
    models.dedup();
    models
}

pub fn names() -> String {
    TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// A change to one tool's file, before it is written.
pub struct Plan {
    pub tool: &'static Tool,
    pub file: PathBuf,
    /// None when the file does not exist yet.
    pub before: Option<String>,
    pub after: String,
}

impl Tool {
    /// What connecting would write; nothing is touched.
    pub fn plan(&'static self, env: &Env, target: &Target) -> Result<Plan, String> {
        let file = (self.file)(env);
        let before = match std::fs::read_to_string(&file) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        let after = (self.merge)(before.as_deref().unwrap_or(""), target)
            .map_err(|why| format!("{}: {why}; levity left it as it is", file.display()))?;
        Ok(Plan {
            tool: self,
            file,
            before,
            after,
        })
    }
}

impl Plan {
    /// A unified diff of the change, with the key shown as a hint.
    pub fn diff(&self, key: &str) -> String {
        let hide = |s: &str| s.replace(key, &crate::store::hint(key));
        let (old, new) = (
            hide(self.before.as_deref().unwrap_or("")),
            hide(&self.after),
        );
        let name = self.file.display().to_string();
        similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .header(&name, &name)
            .to_string()
    }

    /// Writes the change, readable by the owner only (it holds a key), the
    /// old file first copied aside. Returns the backup and how to undo.
    pub fn write(&self, now_secs: u64) -> Result<Written, String> {
        let cannot = |e: std::io::Error| format!("cannot write {}: {e}", self.file.display());
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir).map_err(cannot)?;
        }
        let backup = match &self.before {
            Some(_) => {
                let mut name = self.file.as_os_str().to_owned();
                name.push(format!(".levity-backup-{now_secs}"));
                let backup = PathBuf::from(name);
                std::fs::copy(&self.file, &backup).map_err(cannot)?;
                Some(backup)
            }
            None => None,
        };
        crate::store::write_private(&self.file, self.after.as_bytes()).map_err(cannot)?;
        let file = shell_quote(&self.file);
        let undo = match &backup {
            Some(b) => format!("mv {} {file}", shell_quote(b)),
            None => format!("rm {file}"),
        };
        Ok(Written { backup, undo })
    }
}

pub struct Written {
    pub backup: Option<PathBuf>,
    /// The shell command that puts things back.
    pub undo: String,
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A JSON object file: what is there, or an empty object.
fn json_object(old: &str) -> Result<Map<String, Value>, String> {
    if old.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(old) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        // JSONC (comments) would lose its comments in a rewrite.
        Err(e) => Err(format!(
            "not plain JSON ({e}); fix it or move it away first"
        )),
    }
}

fn pretty(map: Map<String, Value>) -> String {
    serde_json::to_string_pretty(&Value::Object(map)).expect("serializable") + "\n"
}

fn claude_code(old: &str, t: &Target) -> Result<String, String> {
    let mut settings = json_object(old)?;
    let env = settings
        .entry("env")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or("its `env` is not an object")?;
    env.insert("ANTHROPIC_BASE_URL".into(), json!(t.url));
    env.insert("ANTHROPIC_AUTH_TOKEN".into(), json!(t.key));
    // Both would go out, and an old key would be asked about.
    env.remove("ANTHROPIC_API_KEY");
    Ok(pretty(settings))
}

fn codex(old: &str, t: &Target) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = old.parse().map_err(|e| format!("not TOML ({e})"))?;
    doc["model_provider"] = toml_edit::value("levity");
    let providers = doc
        .entry("model_providers")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or("its `model_providers` is not a table")?;
    let mut levity = toml_edit::Table::new();
    levity["name"] = toml_edit::value("levity");
    levity["base_url"] = toml_edit::value(format!("{}/v1", t.url));
    levity["experimental_bearer_token"] = toml_edit::value(&t.key);
    levity["wire_api"] = toml_edit::value("responses");
    providers.insert("levity", toml_edit::Item::Table(levity));
    Ok(doc.to_string())
}

fn gemini_cli(old: &str, t: &Target) -> Result<String, String> {
    let set = [
        ("GEMINI_API_KEY", t.key.as_str()),
        ("GOOGLE_GEMINI_BASE_URL", t.url.as_str()),
    ];
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| {
            let name = l
                .trim_start()
                .trim_start_matches("export ")
                .split('=')
                .next()
                .unwrap_or("");
            !set.iter().any(|(k, _)| name.trim() == *k)
        })
        .map(str::to_string)
        .collect();
    lines.extend(set.iter().map(|(k, v)| format!("{k}={v}")));
    Ok(lines.join("\n") + "\n")
}

fn opencode(old: &str, t: &Target) -> Result<String, String> {
    let mut config = json_object(old)?;
    config
        .entry("$schema")
        .or_insert_with(|| json!("https://opencode.ai/config.json"));
    let providers = config
        .entry("provider")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or("its `provider` is not an object")?;
    let models: Map<String, Value> = t.models.iter().map(|m| (m.clone(), json!({}))).collect();
    providers.insert(
        "levity".into(),
        json!({
            "npm": "@ai-sdk/openai-compatible",
            "name": "levity",
            "options": {"baseURL": format!("{}/v1", t.url), "apiKey": t.key},
            "models": models,
        }),
    );
    Ok(pretty(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            url: "http://127.0.0.1:8045".into(),
            key: "sk-lev-secret-1234".into(),
            models: vec!["gemini-2.5-flash".into()],
        }
    }

    #[test]
    fn what_was_there_stays_and_only_levitys_entries_change() {
        let old = r#"{"theme": "dark", "env": {"ANTHROPIC_API_KEY": "sk-ant-old", "KEEP": "1"}}"#;
        let new: Value = serde_json::from_str(&claude_code(old, &target()).unwrap()).unwrap();
        assert_eq!(new["theme"], "dark");
        assert_eq!(
            new["env"],
            json!({"KEEP": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8045", "ANTHROPIC_AUTH_TOKEN": "sk-lev-secret-1234"})
        );

        let old = "# mine\nmodel = \"gpt-5.5\"\n\n[model_providers.other]\nname = \"x\"\n";
        let new = codex(old, &target()).unwrap();
        assert!(
            new.starts_with("# mine\nmodel = \"gpt-5.5\"\nmodel_provider = \"levity\""),
            "{new}"
        );
        assert!(
            new.contains("[model_providers.other]\nname = \"x\"")
                && new.contains("[model_providers.levity]"),
            "{new}"
        );
        assert!(
            new.contains("base_url = \"http://127.0.0.1:8045/v1\"")
                && new.contains("wire_api = \"responses\""),
            "{new}"
        );

        let new = gemini_cli("FOO=1\nexport GEMINI_API_KEY=old\n", &target()).unwrap();
        assert_eq!(
            new,
            "FOO=1\nGEMINI_API_KEY=sk-lev-secret-1234\nGOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8045\n"
        );

        let new: Value =
            serde_json::from_str(&opencode(r#"{"provider": {"mine": {}}}"#, &target()).unwrap())
                .unwrap();
        assert!(new["provider"]["mine"].is_object());
        assert_eq!(
            new["provider"]["levity"]["options"]["baseURL"],
            "http://127.0.0.1:8045/v1"
        );
    }

    #[test]
    fn a_file_levity_cannot_read_whole_is_left_alone() {
        assert!(
            claude_code("{ // comment\n}", &target())
                .unwrap_err()
                .contains("not plain JSON")
        );
        assert!(claude_code(r#"{"env": []}"#, &target()).is_err());
        assert!(
            codex("model = = 1", &target())
                .unwrap_err()
                .contains("not TOML")
        );
    }
}
