//! Carries out each command of `cli.rs`.

mod backend;
mod oauth;
pub mod paths;
mod serve;
mod service;

use crate::cli::{
    AccountCmd, AddAccount, Cli, Command, Common, ConfigCmd, GoogleAccount, KeyCmd, ServeArgs,
};
use crate::store::{AccountPatch, NewAccount, ProviderKind, Tier};
use backend::Backend;

/// Runs the parsed command line; the error is what to print before exiting 1.
pub async fn run(cli: Cli) -> Result<(), String> {
    // Needs no data folder (and must not move one).
    if let Some(Command::Completions { shell }) = cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "levity", &mut std::io::stdout());
        return Ok(());
    }
    let (dir, storage) = paths::data_dir(cli.data_dir.as_deref());
    if storage == paths::Storage::Build
        && let Some(old) = paths::adopt_from_build_folder(&dir)?
    {
        eprintln!(
            "levity: moved the data file from {} to {}: a cargo build folder is emptied by `cargo clean`",
            old.display(),
            dir.display()
        );
    }
    let passphrase = std::env::var("LEVITY_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty());
    let passphrase = passphrase.as_deref();
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    match command {
        Command::Serve(args) => serve::serve(&dir, storage, passphrase, args).await,
        Command::Account(cmd) => account(&Backend::connect(&dir, passphrase)?, cmd).await,
        Command::Key(cmd) => key(&Backend::connect(&dir, passphrase)?, cmd).await,
        Command::Config(cmd) => config(&Backend::connect(&dir, passphrase)?, cmd).await,
        Command::Service(cmd) => service::service(&dir, cmd),
        Command::Open { print } => open_dashboard(&dir, print),
        Command::Export { out } => export(&Backend::connect(&dir, passphrase)?, &out).await,
        Command::Import { file } => import(&Backend::connect(&dir, passphrase)?, &file).await,
        Command::Connect { tool, dry_run } => {
            connect(&Backend::connect(&dir, passphrase)?, &dir, &tool, dry_run).await
        }
        // Printed above.
        Command::Completions { .. } => Ok(()),
    }
}

/// The passphrase of an export: LEVITY_EXPORT_PASSPHRASE, else asked on the
/// terminal without echo (twice when `confirm`).
fn export_passphrase(confirm: bool) -> Result<String, String> {
    if let Ok(p) = std::env::var("LEVITY_EXPORT_PASSPHRASE") {
        return Ok(p);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err("no terminal to ask the passphrase on: set LEVITY_EXPORT_PASSPHRASE".into());
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| format!("cannot read the passphrase: {e}"))
    };
    let pass = ask("Passphrase for the export file: ")?;
    if confirm && ask("The same passphrase again: ")? != pass {
        return Err("the two passphrases differ".into());
    }
    Ok(pass)
}

/// `levity export --out FILE`: never over a file that exists, and readable
/// by its owner only.
async fn export(b: &Backend, out: &std::path::Path) -> Result<(), String> {
    let sealed = b.export(&export_passphrase(true)?).await?;
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", out.display());
    let mut file = crate::store::create_private(out).map_err(cannot)?;
    std::io::Write::write_all(&mut file, &sealed).map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    println!(
        "wrote {}: accounts, client keys (as hashes), settings and mappings, sealed with your passphrase; \
         `levity import {}` on the other install",
        out.display(),
        out.display()
    );
    Ok(())
}

/// `levity import FILE`.
async fn import(b: &Backend, file: &std::path::Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let r = b.import(&bytes, &export_passphrase(false)?).await?;
    println!(
        "imported {}: {} account(s) added, {} updated; {} client key(s) added, {} updated; {} setting(s)",
        file.display(),
        r.accounts_added,
        r.accounts_updated,
        r.keys_added,
        r.keys_updated,
        r.settings
    );
    for (old, new) in &r.renamed {
        println!("  `{old}` is called `{new}` here: this install had another by that name");
    }
    Ok(())
}

/// `levity connect TOOL`: the tool's own config pointed at levity with a new
/// client key (`crate::connect`).
async fn connect(
    b: &Backend,
    dir: &std::path::Path,
    tool: &str,
    dry_run: bool,
) -> Result<(), String> {
    let tool = crate::connect::find(tool)
        .ok_or_else(|| format!("no tool `{tool}`; one of {}", crate::connect::names()))?;
    let env = crate::connect::Env::real().ok_or("no home folder to find the tool's config in")?;
    let url = match paths::ServerFile::read(dir) {
        Some(server) => server.url,
        None => format!(
            "http://127.0.0.1:{}",
            b.settings()
                .await?
                .get("listen_port")
                .map_or("8045", String::as_str)
        ),
    };
    let accounts = b.accounts().await?;
    let enabled = accounts.iter().filter(|a| a.enabled);
    let models = crate::connect::served_models(enabled.map(|a| (a.kind, a.models.as_slice())));
    let now = crate::util::now_ms() / 1000;
    if dry_run {
        let target = crate::connect::Target {
            url,
            key: "sk-lev-(a new key)".into(),
            models,
        };
        let plan = tool.plan(&env, &target)?;
        print!("{}", plan.diff(&target.key));
        return Ok(());
    }
    // The file is read (and refused if it cannot be merged) before a key exists.
    let probe = crate::connect::Target {
        url: url.clone(),
        key: String::new(),
        models: models.clone(),
    };
    tool.plan(&env, &probe)?;
    let created = b
        .create_key(Some(format!("{}-{now}", tool.name)), Default::default())
        .await?;
    let target = crate::connect::Target {
        url,
        key: created.key.clone(),
        models,
    };
    let plan = tool.plan(&env, &target)?;
    let written = plan.write(now)?;
    println!(
        "{}: wrote {} with client key `{}`",
        tool.label,
        plan.file.display(),
        created.info.name
    );
    if let Some(backup) = &written.backup {
        println!("  the file before: {}", backup.display());
    }
    println!("  {}", tool.after);
    println!(
        "  to undo: {}; then `levity key revoke {}`",
        written.undo, created.info.name
    );
    Ok(())
}

/// `levity open`: the running server's dashboard, with its admin token.
fn open_dashboard(dir: &std::path::Path, print: bool) -> Result<(), String> {
    let server = paths::ServerFile::read(dir).ok_or_else(|| {
        format!(
            "no levity server is running with {}; start one with `levity serve`",
            dir.display()
        )
    })?;
    if print {
        println!("{}", server.dashboard_url());
        return Ok(());
    }
    server.open_dashboard(dir).map_err(|e| {
        format!("cannot open a browser ({e}); `levity open --print` prints the address")
    })
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable")
    );
}

/// Prints rows as aligned columns.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn tier(name: Option<String>) -> Result<Option<Tier>, String> {
    name.map(|t| {
        Tier::parse(&t).ok_or_else(|| format!("unknown tier `{t}`; use free, pro, ultra or paid"))
    })
    .transpose()
}

fn new_account(
    kind: ProviderKind,
    api_key: String,
    base_url: Option<String>,
    project: Option<String>,
    common: Common,
) -> Result<NewAccount, String> {
    Ok(NewAccount {
        kind,
        api_key,
        name: common.name,
        base_url,
        models: Vec::new(),
        tier: tier(common.tier)?,
        proxy: common.proxy,
        project,
    })
}

async fn add(b: &Backend, new: NewAccount) -> Result<(), String> {
    let info = b.add_account(new).await?;
    println!(
        "added {} account `{}` ({}, {}) → {}",
        info.kind.as_str(),
        info.name,
        info.id,
        info.tier.as_str(),
        info.base_url
    );
    Ok(())
}

/// One Google account from an import file.
#[derive(Debug, PartialEq)]
pub struct Imported {
    pub refresh_token: String,
    pub name: Option<String>,
    pub project: Option<String>,
}

/// An import file: a JSON list of refresh tokens, or of objects with
/// `refresh_token` and optionally `name` (or `email`) and `project`.
pub fn parse_import(text: &str) -> Result<Vec<Imported>, String> {
    let list: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON list: {e}"))?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let token = item
                .as_str()
                .or_else(|| item["refresh_token"].as_str())
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| format!("entry {i} has no refresh_token"))?;
            let str_of = |k: &str| item[k].as_str().map(str::to_string);
            Ok(Imported {
                refresh_token: token.trim().to_string(),
                name: str_of("name").or(str_of("email")),
                project: str_of("project"),
            })
        })
        .collect()
}

/// Google accounts: a refresh token, a JSON list of them, or a browser sign-in.
async fn add_google(b: &Backend, a: GoogleAccount) -> Result<(), String> {
    let template = new_account(
        ProviderKind::GoogleOauth,
        String::new(),
        None,
        a.project,
        a.common,
    )?;
    if let Some(path) = a.import {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let list = parse_import(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (i, item) in list.into_iter().enumerate() {
            add(
                b,
                NewAccount {
                    api_key: item.refresh_token,
                    name: item
                        .name
                        .or_else(|| template.name.clone().map(|n| format!("{n}-{}", i + 1))),
                    project: item.project.or_else(|| template.project.clone()),
                    ..template.clone()
                },
            )
            .await?;
        }
        return Ok(());
    }
    let token = match (a.refresh_token, b.sign_in_settings()) {
        (Some(t), _) => t,
        (None, Some(settings)) => oauth::sign_in(&settings, a.no_open).await?,
        (None, None) => {
            let info = b.sign_in_through_server(a.no_open).await?;
            let patch = AccountPatch {
                name: template.name,
                tier: template.tier,
                proxy: template.proxy,
                ..AccountPatch::default()
            };
            // What the command line asked for beyond the sign-in itself.
            let info = if patch.name.is_some() || patch.tier.is_some() || patch.proxy.is_some() {
                b.update_account(&info.id, patch).await?
            } else {
                info
            };
            println!(
                "added {} account `{}` ({})",
                info.kind.as_str(),
                info.name,
                info.id
            );
            return Ok(());
        }
    };
    add(
        b,
        NewAccount {
            api_key: token,
            ..template
        },
    )
    .await
}

async fn account(b: &Backend, cmd: AccountCmd) -> Result<(), String> {
    match cmd {
        AccountCmd::Add(AddAccount::Gemini(a)) => {
            add(
                b,
                new_account(
                    ProviderKind::Gemini,
                    a.api_key,
                    a.base_url,
                    a.project,
                    a.common,
                )?,
            )
            .await?
        }
        AccountCmd::Add(AddAccount::Anthropic(a)) => {
            add(
                b,
                new_account(
                    ProviderKind::Anthropic,
                    a.api_key,
                    a.base_url,
                    a.project,
                    a.common,
                )?,
            )
            .await?
        }
        AccountCmd::Add(AddAccount::Openai(a)) => {
            let kind = match a.wire {
                crate::cli::OpenaiWire::Chat => ProviderKind::Openai,
                crate::cli::OpenaiWire::Responses => ProviderKind::OpenaiResponses,
            };
            let new = new_account(kind, a.api_key, Some(a.base_url), a.project, a.common)?;
            add(
                b,
                NewAccount {
                    models: a.models,
                    ..new
                },
            )
            .await?
        }
        AccountCmd::Add(AddAccount::GoogleOauth(a)) => add_google(b, a).await?,
        AccountCmd::List { json } => {
            let accounts = b.accounts().await?;
            if json {
                print_json(&accounts);
            } else if accounts.is_empty() {
                println!("no accounts yet: add one with `levity account add gemini --api-key KEY`");
            } else {
                let rows = accounts
                    .into_iter()
                    .map(|a| {
                        let state = if a.reason.is_empty() {
                            a.state
                        } else {
                            format!("{} ({})", a.state, a.reason)
                        };
                        vec![
                            a.id,
                            a.name,
                            a.kind.as_str().into(),
                            a.tier.as_str().into(),
                            state,
                            a.key_hint,
                            a.base_url,
                            a.models.join(","),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        "ID", "NAME", "KIND", "TIER", "STATE", "KEY", "BASE URL", "MODELS",
                    ],
                    rows,
                );
            }
            if !json {
                print_cluster(&b.cluster().await?);
            }
        }
        AccountCmd::Remove { id_or_name } => {
            let info = b.remove_account(&id_or_name).await?;
            println!("removed account `{}` ({})", info.name, info.id);
        }
        AccountCmd::Set {
            id_or_name,
            enabled,
            tier: t,
            name,
            proxy,
            base_url,
        } => {
            let patch = AccountPatch {
                enabled,
                tier: tier(t)?,
                name,
                proxy,
                models: None,
                base_url,
            };
            let info = b.update_account(&id_or_name, patch).await?;
            println!(
                "account `{}` ({}): {}, {}",
                info.name,
                info.id,
                if info.enabled { "enabled" } else { "disabled" },
                info.tier.as_str()
            );
        }
        AccountCmd::Order { accounts } => {
            let order = b.reorder(&accounts).await?;
            let names: Vec<String> = order.into_iter().map(|a| a.name).collect();
            println!("order: {}", names.join(", "));
        }
    }
    Ok(())
}

/// A key's limits in a few words, for `key list` and `key set`.
fn describe_limits(l: &crate::store::KeyLimits) -> String {
    let mut parts = Vec::new();
    let mut add = |what: Option<String>| parts.extend(what);
    add(l.rpm.map(|n| format!("{n} req/min")));
    add(l.rpd.map(|n| format!("{n} req/day")));
    add(l.tpm.map(|n| format!("{n} tok/min")));
    add(l.budget_usd.map(|b| {
        let p = l.period.unwrap_or(crate::store::Period::Month);
        format!("${b:.2}/{}", p.as_str())
    }));
    add((!l.models.is_empty()).then(|| format!("models {}", l.models.join(","))));
    add(l.expires.as_ref().map(|d| format!("until {d}")));
    if parts.is_empty() {
        "no limits".into()
    } else {
        parts.join(", ")
    }
}

async fn key(b: &Backend, cmd: KeyCmd) -> Result<(), String> {
    match cmd {
        KeyCmd::Create { name, limits } => {
            let created = b.create_key(name, limits.into()).await?;
            eprintln!(
                "created client key `{}` ({}); it is shown only now:",
                created.info.name, created.info.id
            );
            println!("{}", created.key);
        }
        KeyCmd::List { json } => {
            let keys = b.keys().await?;
            if json {
                print_json(&keys);
            } else if keys.is_empty() {
                println!(
                    "no client keys: the proxy accepts any caller on this machine (create one with `levity key create`)"
                );
            } else {
                let rows = keys
                    .into_iter()
                    .map(|k| {
                        let limits = describe_limits(&k.limits);
                        vec![k.id, k.name, k.hint, limits]
                    })
                    .collect();
                print_table(&["ID", "NAME", "KEY", "LIMITS"], rows);
            }
        }
        KeyCmd::Set { id_or_name, limits } => {
            let info = b.set_key_limits(&id_or_name, limits.into()).await?;
            println!(
                "client key `{}`: {}",
                info.name,
                describe_limits(&info.limits)
            );
        }
        KeyCmd::Revoke { id_or_name } => {
            let info = b.revoke_key(&id_or_name).await?;
            println!("revoked client key `{}` ({})", info.name, info.id);
        }
    }
    Ok(())
}

async fn config(b: &Backend, cmd: ConfigCmd) -> Result<(), String> {
    match cmd {
        ConfigCmd::Get { key: Some(key) } => {
            let settings = b.settings().await?;
            let prefix = format!("{key}.");
            let matching: Vec<_> = settings
                .iter()
                .filter(|(k, _)| **k == key || k.starts_with(&prefix))
                .collect();
            if matching.is_empty() {
                crate::config::Settings::validate(&key, "")?;
                return Err(format!("`{key}` is not set"));
            }
            if let [(k, v)] = matching.as_slice()
                && **k == key
            {
                println!("{v}");
            } else {
                matching.iter().for_each(|(k, v)| println!("{k} = {v}"));
            }
        }
        ConfigCmd::Get { key: None } => {
            for (k, v) in b.settings().await? {
                println!("{k} = {v}");
            }
        }
        ConfigCmd::Set { key, value, force } => {
            b.set_setting(&key, &value, force).await?;
            if value.is_empty() {
                println!("{key} reset to its default");
            } else {
                println!("{key} = {value}");
            }
        }
    }
    Ok(())
}

/// The footer of `levity account list` in cluster mode: every instance,
/// and whether it holds the same pool as this one.
fn print_cluster(c: &crate::cluster::ClusterStatus) {
    let Some(redis) = c.redis.as_deref().filter(|_| c.enabled) else {
        return;
    };
    println!();
    println!(
        "cluster through {redis}: {} instance(s){}",
        c.instances.len(),
        if c.connected {
            ""
        } else {
            " (this instance cannot reach Redis now: serving from its copy)"
        }
    );
    let rows = c
        .instances
        .iter()
        .map(|i| {
            vec![
                format!("{}{}", i.instance.id, if i.me { " (this)" } else { "" }),
                i.instance.host.clone(),
                i.instance.listen.clone(),
                if i.in_sync { "in sync" } else { "out of sync" }.into(),
                format!("{:.1}s ago", i.seen_ago_ms as f64 / 1000.0),
            ]
        })
        .collect();
    print_table(&["INSTANCE", "HOST", "LISTEN", "STATE", "SEEN"], rows);
}
