//! The `levity` executable: parse the command line, set up logging, run.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = levity::cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEVITY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,poem=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match levity::commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("levity: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
