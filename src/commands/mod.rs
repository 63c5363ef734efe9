//! Carries out each command of `cli.rs`.

mod backend;
pub mod paths;
mod serve;

use crate::cli::{AccountCmd, AddAccount, Cli, Command, ConfigCmd, KeyCmd, ServeArgs};
use crate::store::{NewAccount, ProviderKind};
use backend::Backend;

/// Runs the parsed command line; the error is what to print before exiting 1.
pub async fn run(cli: Cli) -> Result<(), String> {
    let dir = paths::data_dir(cli.data_dir.as_deref());
    let passphrase = std::env::var("LEVITY_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty());
    let passphrase = passphrase.as_deref();
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs {
        host: "127.0.0.1".into(),
        port: 8045,
        no_open: false,
    }));
    match command {
        Command::Serve(args) => serve::serve(&dir, passphrase, args).await,
        Command::Account(cmd) => account(&Backend::connect(&dir, passphrase)?, cmd).await,
        Command::Key(cmd) => key(&Backend::connect(&dir, passphrase)?, cmd).await,
        Command::Config(cmd) => config(&Backend::connect(&dir, passphrase)?, cmd).await,
    }
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

async fn account(b: &Backend, cmd: AccountCmd) -> Result<(), String> {
    match cmd {
        AccountCmd::Add(add) => {
            let key_account = |kind, a: crate::cli::KeyAccount| NewAccount {
                kind,
                api_key: a.api_key,
                name: a.name,
                base_url: a.base_url,
                models: Vec::new(),
            };
            let new = match add {
                AddAccount::Gemini(a) => key_account(ProviderKind::Gemini, a),
                AddAccount::Anthropic(a) => key_account(ProviderKind::Anthropic, a),
                AddAccount::Openai(a) => NewAccount {
                    kind: ProviderKind::Openai,
                    api_key: a.api_key,
                    name: a.name,
                    base_url: Some(a.base_url),
                    models: a.models,
                },
            };
            let info = b.add_account(new).await?;
            println!(
                "added {} account `{}` ({}) → {}",
                info.kind.as_str(),
                info.name,
                info.id,
                info.base_url
            );
        }
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
                        vec![
                            a.id,
                            a.name,
                            a.kind.as_str().into(),
                            a.state,
                            a.key_hint,
                            a.base_url,
                            a.models.join(","),
                        ]
                    })
                    .collect();
                print_table(
                    &["ID", "NAME", "KIND", "STATE", "KEY", "BASE URL", "MODELS"],
                    rows,
                );
            }
        }
        AccountCmd::Remove { id_or_name } => {
            let info = b.remove_account(&id_or_name).await?;
            println!("removed account `{}` ({})", info.name, info.id);
        }
    }
    Ok(())
}

async fn key(b: &Backend, cmd: KeyCmd) -> Result<(), String> {
    match cmd {
        KeyCmd::Create { name } => {
            let created = b.create_key(name).await?;
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
                    .map(|k| vec![k.id, k.name, k.hint])
                    .collect();
                print_table(&["ID", "NAME", "KEY"], rows);
            }
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
        ConfigCmd::Set { key, value } => {
            b.set_setting(&key, &value).await?;
            if value.is_empty() {
                println!("{key} reset to its default");
            } else {
                println!("{key} = {value}");
            }
        }
    }
    Ok(())
}
