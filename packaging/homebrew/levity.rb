# Homebrew formula for levity, rendered by packaging/dist.sh (checksums filled
# in from the release archives). Installed this way, levity keeps its data in
# the per-user data folder, since the Cellar is not writable.
class Levity < Formula
  desc "Local AI gateway: any tool, any model, all your accounts"
  homepage "https://github.com/levity-dev/levity"
  version "@VERSION@"
  license "MIT"

  on_macos do
    on_arm do
      url "https://github.com/levity-dev/levity/releases/download/v@VERSION@/levity-@VERSION@-aarch64-apple-darwin.tar.gz"
      sha256 "@SHA256_aarch64_apple_darwin@"
    end
    on_intel do
      url "https://github.com/levity-dev/levity/releases/download/v@VERSION@/levity-@VERSION@-x86_64-apple-darwin.tar.gz"
      sha256 "@SHA256_x86_64_apple_darwin@"
    end
  end

  on_linux do
    on_arm do
      url "https://github.com/levity-dev/levity/releases/download/v@VERSION@/levity-@VERSION@-aarch64-unknown-linux-musl.tar.gz"
      sha256 "@SHA256_aarch64_unknown_linux_musl@"
    end
    on_intel do
      url "https://github.com/levity-dev/levity/releases/download/v@VERSION@/levity-@VERSION@-x86_64-unknown-linux-musl.tar.gz"
      sha256 "@SHA256_x86_64_unknown_linux_musl@"
    end
  end

  def install
    bin.install "levity"
  end

  service do
    run [opt_bin/"levity", "serve", "--no-open"]
    keep_alive true
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/levity --version")
  end
end
