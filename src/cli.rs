//! The command line, as clap definitions only; `commands/` carries them out.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "levity",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("LEVITY_GIT_REV"), ")"),
    about = "A local AI gateway: any tool, any model, all your accounts.",
    after_help = "With no command, levity serves on 127.0.0.1:8045 and opens the dashboard."
)]
pub struct Cli {
    /// Folder holding levity.redb (default: beside the executable, or the
    /// per-user data folder when that is not writable or is a cargo build
    /// folder).
    #[arg(long, global = true, env = "LEVITY_HOME", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway and the dashboard.
    Serve(ServeArgs),
    /// Upstream accounts levity spreads requests over.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Client keys that tools use to call levity.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Runtime settings (model mapping, timeouts, ...).
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Start levity at login (a user-level systemd unit, launchd agent, or
    /// the Windows equivalent).
    #[command(subcommand)]
    Service(ServiceCmd),
    /// Open the running server's dashboard in the browser, signed in.
    Open {
        /// Print the dashboard's address (it carries the admin token) instead.
        #[arg(long)]
        print: bool,
    },
    /// Write accounts (with their keys), client keys (as hashes), settings
    /// and mappings to a file sealed with a passphrase, for `levity import`
    /// on another install. The passphrase is asked for, or taken from
    /// LEVITY_EXPORT_PASSPHRASE.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Merge a `levity export` file into this install: accounts and keys by
    /// id (a name taken here gets a suffix), settings set.
    Import { file: PathBuf },
    /// Point a tool at levity: writes its own config (merged into what is
    /// there, the old file kept as a backup) with a new client key, and
    /// prints how to undo it.
    Connect {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::connect::TOOLS.iter().map(|t| t.name)))]
        tool: String,
        /// Print the change as a diff and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print a completion script for a shell, e.g.
    /// `levity completions bash > ~/.local/share/bash-completion/completions/levity`,
    /// `levity completions zsh > "${fpath[1]}/_levity"`,
    /// `levity completions fish > ~/.config/fish/completions/levity.fish`,
    /// `levity completions powershell >> $PROFILE`.
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand, Debug)]
pub enum ServiceCmd {
    /// Install and start the login service for this executable and data folder.
    Install {
        /// Print what would be written instead of writing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop and remove the login service.
    Uninstall,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on (default: the `listen_host` setting, else
    /// 127.0.0.1); anything but loopback requires a client key.
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Port (default: the `listen_port` setting, else 8045).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Do not open the dashboard in a browser.
    #[arg(long)]
    pub no_open: bool,
    /// Join a cluster: share accounts, keys, settings, rests and limits with
    /// other instances through this Redis (redis://HOST:PORT/DB; also
    /// LEVITY_REDIS_URL, or the `redis_url` setting). Needs LEVITY_PASSPHRASE.
    #[arg(long, value_name = "URL", env = "LEVITY_REDIS_URL")]
    pub redis: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Add an account.
    #[command(subcommand)]
    Add(AddAccount),
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an account.
    Remove {
        #[arg(value_name = "ID_OR_NAME")]
        id_or_name: String,
    },
    /// Change an account: enable or disable it, its tier, name or proxy.
    Set {
        #[arg(value_name = "ID_OR_NAME")]
        id_or_name: String,
        #[arg(long)]
        enabled: Option<bool>,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// An empty value removes the proxy.
        #[arg(long, value_name = "URL")]
        proxy: Option<String>,
        /// Where the provider answers.
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// Put accounts in this priority order (ids or names; others follow).
    Order {
        #[arg(value_name = "ID_OR_NAME", required = true)]
        accounts: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AddAccount {
    /// A Gemini API key (Google AI Studio).
    Gemini(KeyAccount),
    /// An Anthropic API key.
    Anthropic(KeyAccount),
    /// An OpenAI-compatible host (OpenAI, DeepSeek, GLM, Ollama, ...).
    Openai(OpenaiAccount),
    /// A Google account (free Gemini quota through Code Assist): signs in in
    /// the browser, or takes a refresh token.
    #[command(name = "google-oauth")]
    GoogleOauth(GoogleAccount),
}

/// Options every account takes.
#[derive(Args, Debug)]
pub struct Common {
    #[arg(long)]
    pub name: Option<String>,
    /// free, pro, ultra or paid: sets default limits and quota reset.
    #[arg(long)]
    pub tier: Option<String>,
    /// Outbound proxy for this account (http://... or socks5://...).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
}

#[derive(Args, Debug)]
pub struct GoogleAccount {
    /// A refresh token (skips the browser sign-in).
    #[arg(long, value_name = "T")]
    pub refresh_token: Option<String>,
    /// A JSON file with a list of refresh tokens (strings or {refresh_token, name, project}).
    #[arg(long, value_name = "FILE", conflicts_with = "refresh_token")]
    pub import: Option<std::path::PathBuf>,
    /// The Code Assist project (discovered when not given).
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Do not open a browser; print the sign-in address instead.
    #[arg(long)]
    pub no_open: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct KeyAccount {
    #[arg(long, value_name = "KEY")]
    pub api_key: String,
    /// The provider's root URL, as its own SDK takes it.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Keys with the same project share one quota: Gemini's limits apply per
    /// Google Cloud project, Anthropic's per organization.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct OpenaiAccount {
    #[arg(long, value_name = "KEY")]
    pub api_key: String,
    /// The host's URL up to and including /v1.
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// Models this host serves, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "a,b,...")]
    pub models: Vec<String>,
    /// Keys with the same project share one quota (one organization's keys).
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// The API the host speaks: chat (Chat Completions, every compatible
    /// host) or responses (OpenAI's Responses API: GPT-5 and codex models).
    #[arg(long, value_enum, default_value_t = OpenaiWire::Chat)]
    pub wire: OpenaiWire,
    #[command(flatten)]
    pub common: Common,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenaiWire {
    Chat,
    Responses,
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Create a client key; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        limits: KeyLimitArgs,
    },
    /// Replace a client key's limits (those not given are lifted).
    Set {
        #[arg(value_name = "ID_OR_NAME")]
        id_or_name: String,
        #[command(flatten)]
        limits: KeyLimitArgs,
    },
    /// List client keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client key.
    Revoke {
        #[arg(value_name = "ID_OR_NAME")]
        id_or_name: String,
    },
}

/// What a client key may do; each limit not given is no limit.
#[derive(Args, Debug, Default)]
pub struct KeyLimitArgs {
    /// Requests per minute.
    #[arg(long)]
    pub rpm: Option<u64>,
    /// Requests per day (UTC).
    #[arg(long)]
    pub rpd: Option<u64>,
    /// Tokens (input and output) per minute.
    #[arg(long)]
    pub tpm: Option<u64>,
    /// US dollars the key may spend per --period.
    #[arg(long, value_name = "USD")]
    pub budget: Option<f64>,
    /// How often the budget starts again (UTC).
    #[arg(long, value_enum, requires = "budget")]
    pub period: Option<crate::store::Period>,
    /// The only models (or `*` patterns) it may ask for, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// The last day (YYYY-MM-DD, UTC) it works.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub expires: Option<String>,
}

impl From<KeyLimitArgs> for crate::store::KeyLimits {
    fn from(a: KeyLimitArgs) -> Self {
        crate::store::KeyLimits {
            rpm: a.rpm,
            rpd: a.rpd,
            tpm: a.tpm,
            budget_usd: a.budget,
            period: a.period,
            models: a
                .models
                .into_iter()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect(),
            expires: a.expires,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print every setting, or one.
    Get { key: Option<String> },
    /// Change a setting; an empty value restores its default.
    Set {
        key: String,
        value: String,
        /// Keep a model_map rule whose target levity does not know.
        #[arg(long)]
        force: bool,
    },
}
