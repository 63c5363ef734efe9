#!/usr/bin/env bash
# Builds the release archive for one target (default: the static Linux
# binary) with the dashboard embedded, and renders the Homebrew formula and
# scoop manifest with its checksum. `make dist` runs it; the release workflow
# (.github/workflows/release.yml) runs it once per target on native runners.
#
#   packaging/dist.sh [TARGET]
#   targets: x86_64-unknown-linux-musl (here), aarch64-unknown-linux-musl,
#            x86_64-apple-darwin, aarch64-apple-darwin, x86_64-pc-windows-msvc
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-x86_64-unknown-linux-musl}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name="levity-$version-$target"

case "$target" in
  x86_64-unknown-linux-musl)
    if ! command -v musl-gcc >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq musl-tools
    fi
    export CC_x86_64_unknown_linux_musl=musl-gcc
    ;;
  aarch64-unknown-linux-musl)
    export CC_aarch64_unknown_linux_musl=${CC_aarch64_unknown_linux_musl:-aarch64-linux-musl-gcc}
    ;;
esac
rustup target add "$target" >/dev/null 2>&1 || true

make ui
cargo build --release --locked --target "$target"

mkdir -p dist
stage="dist/$name"
rm -rf "$stage" && mkdir -p "$stage"
exe=levity
[[ "$target" == *windows* ]] && exe=levity.exe
cp "target/$target/release/$exe" README.md LICENSE CHANGELOG.md "$stage/"
if [[ "$target" == *windows* ]]; then
  archive="$name.zip"
  (cd dist && rm -f "$archive" && zip -qr "$archive" "$name")
else
  archive="$name.tar.gz"
  # Stable file order, owners and times: the same inputs give the same archive.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C dist -cf - "$name" | gzip -n > "dist/$archive"
fi
rm -rf "$stage"
(cd dist && sha256sum "$archive" > "$archive.sha256")
echo "dist/$archive"

# The package manifests, with every checksum known here; the release workflow
# renders them again once all targets are built.
render() {
  local tmpl=$1 out=$2
  cp "$tmpl" "$out"
  sed -i "s/@VERSION@/$version/g" "$out"
  for f in dist/*.sha256; do
    [ -e "$f" ] || continue
    t=$(basename "$f" .sha256); t=${t#levity-$version-}; t=${t%.tar.gz}; t=${t%.zip}
    sum=$(cut -d' ' -f1 "$f")
    sed -i "s/@SHA256_${t//-/_}@/$sum/g" "$out"
  done
}
render packaging/homebrew/levity.rb dist/levity.rb
render packaging/scoop/levity.json dist/levity.json
