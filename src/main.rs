//! The `levity` executable: parse the command line, set up logging, run.

use clap::Parser;

/// mimalloc: glibc's per-thread arenas kept what the busiest moment needed
/// long after it (55 MB a minute after load against 11 MB idle), and
/// musl's allocator, in the static build, is slow under threads. Measured
/// in BENCHMARKS.md, sections 1, 2 and 6.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` and `mi_option_purge_delay` in
/// mimalloc.h's `mi_option_e` (v3): the crate does not name them.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const PURGE_AFTER_MS: std::ffi::c_long = 100;

/// Memory is committed as it is used and given back soon after it is
/// free: with mimalloc's defaults (arenas committed whole, purged a second
/// after a free, checked only on later allocations) an idle server kept
/// 85 MB after load. Purging at once, though, cost an madvise(2) and
/// fresh page faults on every reuse: at 64 connections 1,900 madvise calls
/// and 26,000 page faults a second; 100 ms cut them to 230 and 12,000 and
/// raised throughput 7 %. What a quiet server still holds goes when its
/// workers tidy (`runtime`). These are defaults: `MIMALLOC_*` variables
/// still win.
/// They must be in place before the first allocation makes the first
/// arena, so they are set from the executable's constructors, which run
/// before Rust's runtime allocates anything.
extern "C" fn mimalloc_defaults() {
    // SAFETY: plain stores into mimalloc's option table, before any thread.
    unsafe {
        libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set_default(PURGE_DELAY, PURGE_AFTER_MS);
    }
}

#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    unsafe(link_section = ".init_array")
)]
#[cfg_attr(
    target_vendor = "apple",
    unsafe(link_section = "__DATA,__mod_init_func")
)]
#[cfg_attr(windows, unsafe(link_section = ".CRT$XCU"))]
static MIMALLOC_DEFAULTS: extern "C" fn() = mimalloc_defaults;

fn main() -> std::process::ExitCode {
    levity::runtime::build(None)
        .expect("the runtime starts")
        .block_on(run())
}

async fn run() -> std::process::ExitCode {
    let cli = levity::cli::Cli::parse();
    // Rust ignores SIGPIPE, so a command piped into `head` or `grep -q`
    // panicked at its next print. Other commands end quietly there, as
    // command-line tools do; the server keeps ignoring it (its sockets get
    // EPIPE as an error).
    #[cfg(unix)]
    if !matches!(cli.command, None | Some(levity::cli::Command::Serve(_))) {
        // SAFETY: sets the signal's disposition back to the default.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
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

#[cfg(test)]
mod tests {
    /// The options set are the ones meant, and set before mimalloc read
    /// them: the options around them still hold their documented defaults
    /// (options.c), so a mimalloc whose table moved fails here.
    #[test]
    fn mimalloc_commits_on_use_and_purges_soon_after_a_free() {
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        // deprecated_eager_commit, purge_decommits, deprecated_eager_commit_delay, use_numa_nodes
        assert_eq!([get(3), get(5), get(14), get(16)], [1, 1, 1, 0]);
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(get(super::ARENA_EAGER_COMMIT), 0);
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(super::PURGE_DELAY), super::PURGE_AFTER_MS);
        }
    }
}
