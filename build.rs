//! Rebuilds when the dashboard build changes, and says so when it is missing:
//! the binary still builds and serves a page explaining how to build the UI.

fn main() {
    println!("cargo:rerun-if-changed=ui/dist");
    if !std::path::Path::new("ui/dist/index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: the dashboard will not be embedded (run `make ui`)"
        );
    }
}
