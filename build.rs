//! Build metadata and the dashboard: records the git revision for
//! `levity --version`, rebuilds when the dashboard build changes, and says so
//! when it is missing (the binary still builds and serves a page explaining
//! how to build the UI).

fn main() {
    println!("cargo:rerun-if-changed=ui/dist");
    println!("cargo:rerun-if-changed=.git/HEAD");
    // HEAD names a branch; the branch's own ref moves with every commit.
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(branch) = head.trim().strip_prefix("ref: ")
    {
        println!("cargo:rerun-if-changed=.git/{branch}");
    }
    println!("cargo:rerun-if-env-changed=LEVITY_GIT_REV");
    let rev = std::env::var("LEVITY_GIT_REV").ok().or_else(|| {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    println!(
        "cargo:rustc-env=LEVITY_GIT_REV={}",
        rev.unwrap_or_else(|| "unknown".into())
    );
    if !std::path::Path::new("ui/dist/index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: the dashboard will not be embedded (run `make ui`)"
        );
    }
}
