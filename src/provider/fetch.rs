//! Images given by address: fetched by levity for upstreams that cannot
//! fetch them (Gemini), with a size limit, a timeout, a content-type check
//! and an SSRF guard: no loopback, private, link-local, shared, reserved or
//! metadata addresses, nor this machine's own, unless the user allowed the
//! host. The guard sits in the fetch client's resolver, so the address
//! connected to is the address checked, on every redirect; no proxy is used.
//! `file://` paths only for a client on this machine, only when the user
//! allowed it, and only regular files within the folder named whose bytes
//! are an image.

use crate::canonical::{Image, Part, Request};
use crate::error::{Error, Kind};
use base64::Engine;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Largest image levity fetches or reads.
pub const MAX_IMAGE: usize = 20 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Hosts that may be fetched even on private addresses.
    pub allow_hosts: Vec<String>,
    /// `file://` images are read (the client is on this machine too).
    pub files: bool,
    /// Fetch `http(s)` images (the upstream cannot).
    pub fetch_urls: bool,
}

fn bad(msg: String) -> Error {
    Error::invalid_param("image_url", msg)
}

/// Whether an address is one levity never fetches from: loopback, private,
/// link-local, shared (CGNAT), reserved or multicast, and the IPv6 forms that
/// carry such an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo).
pub fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                // Shared address space (RFC 6598), IETF protocol
                // assignments (RFC 6890), benchmarking (RFC 2544),
                // reserved (RFC 1112).
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                private(IpAddr::V4(std::net::Ipv4Addr::from(
                    (u32::from(hi) << 16) | u32::from(lo),
                )))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private(IpAddr::V4(v4));
            }
            // IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291 §2.5.5.1),
            // `::` and `::1` included: no public host has one.
            if seg[..6] == [0; 6] {
                return true;
            }
            // NAT64 well-known and local-use prefixes (RFC 6052, RFC 8215):
            // a gateway forwards to the IPv4 address in the last 32 bits.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || seg[..3] == [0x64, 0xff9b, 1] {
                return embedded(seg[6], seg[7]);
            }
            // 6to4 (RFC 3056) carries its IPv4 address after the prefix.
            if seg[0] == 0x2002 {
                return embedded(seg[1], seg[2]);
            }
            v6.is_multicast()
                // Teredo (RFC 4380) tunnels to an obfuscated IPv4 address.
                || (seg[0] == 0x2001 && seg[1] == 0)
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                // Site-local, deprecated but still routed by some networks.
                || (seg[0] & 0xffc0) == 0xfec0
        }
    }
}

/// Whether `ip` belongs to this machine: a public address bound here reaches
/// its local services as surely as loopback does. Binding succeeds exactly
/// for local addresses (with `ip_nonlocal_bind` set it succeeds for all, and
/// the guard then refuses every fetch: it fails closed).
fn local(ip: IpAddr) -> bool {
    std::net::TcpListener::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The address check of the SSRF guard.
fn forbidden(ip: IpAddr) -> bool {
    private(ip) || local(ip)
}

/// The refusal the guard's resolver gives, found again in reqwest's error
/// chain so the client hears it in full.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = &self.0;
        write!(
            f,
            "image address `{host}` is on this machine or a private network; levity does not fetch it \
             (allow it with `levity config set image_fetch_allow {host}`)"
        )
    }
}

impl std::error::Error for Refused {}

/// The fetch client's resolver: it drops the addresses the guard forbids
/// from the answer, so the address connected to is one that was checked
/// (no second lookup for a rebinding name to change).
struct Guard {
    allow_hosts: Vec<String>,
}

impl Guard {
    fn allows(&self, host: &str) -> bool {
        self.allow_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let allowed = self.allows(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allowed || !forbidden(a.ip()))
                .collect();
            if usable.is_empty() && !found.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The types levity inlines: the extensions a file name must have.
fn mime_of(path: &str) -> Option<&'static str> {
    let ext = path.rsplit('.').next()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// The type the bytes themselves say, by their magic number: PNG's
/// signature (PNG spec §5.2), JPEG's SOI marker and the next marker's
/// 0xFF, GIF87a/GIF89a, a RIFF container of form `WEBP`, and `%PDF-`
/// (ISO 32000 §7.5.2).
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    Some(if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "image/gif"
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else {
        return None;
    })
}

fn inline(mime: &str, bytes: &[u8]) -> Image {
    Image::Inline {
        mime_type: mime.to_string(),
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

fn too_large(what: &str) -> Error {
    bad(format!("`{what}` is larger than {} MB", MAX_IMAGE >> 20))
}

/// Reads a `file://` image. A link may not lead out of the folder it is in
/// (an `image.png` pointing at `/etc/shadow`); what is read must be a
/// regular file (a FIFO would hang the request) whose bytes are an image.
async fn read_file(url: &str) -> Result<Image, Error> {
    let named = url.strip_prefix("file://").unwrap_or(url);
    let cannot = |e: std::io::Error| bad(format!("cannot read `{named}`: {e}"));
    if !Path::new(named).is_absolute() {
        return Err(bad(format!(
            "`{url}` is not an absolute path; write file:///folder/name.png"
        )));
    }
    if mime_of(named).is_none() {
        return Err(bad(format!(
            "`{named}` is not a png, jpeg, gif, webp or pdf file"
        )));
    }
    let real = tokio::fs::canonicalize(named).await.map_err(cannot)?;
    let folder = match Path::new(named).parent() {
        Some(p) => tokio::fs::canonicalize(p).await.map_err(cannot)?,
        None => PathBuf::from("/"),
    };
    if !real.starts_with(&folder) {
        return Err(bad(format!(
            "`{named}` is a link that leads out of its folder; name the file itself"
        )));
    }
    let mut open = tokio::fs::OpenOptions::new();
    open.read(true);
    // Not blocking on a FIFO, and not following a link swapped in since
    // the path was resolved; what was opened is checked through its handle.
    #[cfg(unix)]
    open.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    let file = open.open(&real).await.map_err(cannot)?;
    let meta = file.metadata().await.map_err(cannot)?;
    if !meta.is_file() {
        return Err(bad(format!(
            "`{named}` is not a regular file; name an image file"
        )));
    }
    if meta.len() > MAX_IMAGE as u64 {
        return Err(too_large(named));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_IMAGE as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(cannot)?;
    if bytes.len() > MAX_IMAGE {
        return Err(too_large(named));
    }
    let mime = sniff(&bytes).ok_or_else(|| {
        bad(format!(
            "`{named}` is not an image: its bytes are not png, jpeg, gif, webp or pdf"
        ))
    })?;
    Ok(inline(mime, &bytes))
}

/// The message of a failed fetch: the guard's own refusal when it refused.
fn fetch_failed(url: &reqwest::Url, e: &reqwest::Error) -> Error {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return bad(refused.to_string());
        }
        source = s.source();
    }
    bad(format!("fetching `{url}` failed: {e}"))
}

async fn fetch(url: &str, policy: &Policy) -> Result<Image, Error> {
    let mut url =
        reqwest::Url::parse(url).map_err(|e| bad(format!("bad image address `{url}`: {e}")))?;
    let guard = std::sync::Arc::new(Guard {
        allow_hosts: policy.allow_hosts.clone(),
    });
    // No proxy, from settings or the environment: the guard can vouch only
    // for connections it makes itself, and names resolve through it alone.
    let client = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(guard.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| Error::new(Kind::Internal, e.to_string()))?;
    // Each hop, redirects included, goes through the guard again.
    for _ in 0..=MAX_REDIRECTS {
        let host = url
            .host_str()
            .ok_or_else(|| bad(format!("image address `{url}` has no host")))?
            .to_string();
        // An IP address (IPv6 in brackets) is not resolved: check it here.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !guard.allows(&host)
            && forbidden(ip)
        {
            return Err(bad(Refused(host).to_string()));
        }
        let mut resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| fetch_failed(&url, &e))?;
        if resp.status().is_redirection() {
            let next = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok());
            url = next.ok_or_else(|| bad(format!("`{url}` redirected nowhere")))?;
            continue;
        }
        if !resp.status().is_success() {
            return Err(bad(format!("fetching `{url}` answered {}", resp.status())));
        }
        let mime = resp
            .headers()
            .get("content-type")
            .and_then(|c| c.to_str().ok())
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !(mime.starts_with("image/") || mime == "application/pdf") {
            return Err(bad(format!("`{url}` is `{mime}`, not an image")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fetch_failed(&url, &e))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_IMAGE {
                return Err(too_large(url.as_str()));
            }
        }
        return Ok(inline(&mime, &bytes));
    }
    Err(bad(format!(
        "`{url}` redirected more than {MAX_REDIRECTS} times"
    )))
}

async fn resolve(img: &mut Image, policy: &Policy) -> Result<(), Error> {
    let Image::Url { url, .. } = img else {
        return Ok(());
    };
    if url.starts_with("file://") {
        if !policy.files {
            return Err(bad("file:// images are off: `levity config set image_allow_files on` (clients on this machine only)".into()));
        }
        *img = read_file(url).await?;
    } else if policy.fetch_urls && !url.contains("generativelanguage.googleapis.com/") {
        // Files API addresses are Gemini's own; everything else is fetched.
        *img = fetch(url, policy).await?;
    }
    Ok(())
}

/// Replaces image addresses in `req` by their bytes where the policy says so.
pub async fn inline_images(req: &mut Request, policy: &Policy) -> Result<(), Error> {
    for part in req.messages.iter_mut().flat_map(|m| m.parts.iter_mut()) {
        match part {
            Part::Image(img) => resolve(img, policy).await?,
            Part::ToolResult { content, .. } => {
                for p in content.iter_mut() {
                    if let Part::Image(img) = p {
                        resolve(img, policy).await?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_and_public_addresses() {
        for (ip, refused) in [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("192.168.1.1", true),
            ("172.16.0.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("0.0.0.0", true),
            ("192.0.0.8", true),
            ("198.18.0.1", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("224.0.0.1", true),
            ("::1", true),
            ("::", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("fec0::1", true),
            ("ff02::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:169.254.169.254", true),
            ("::ffff:8.8.8.8", false),
            // IPv4-compatible: never a public host.
            ("::127.0.0.1", true),
            ("::8.8.8.8", true),
            // NAT64 and 6to4 carry the IPv4 address they reach.
            ("64:ff9b::7f00:1", true),
            ("64:ff9b::a9fe:a9fe", true),
            ("64:ff9b:1::a00:1", true),
            ("64:ff9b::808:808", false),
            ("2002:7f00:1::", true),
            ("2002:0808:0808::1", false),
            ("2001:0:4136:e378::1", true),
            ("8.8.8.8", false),
            ("142.250.0.1", false),
            ("2001:4860::8888", false),
        ] {
            assert_eq!(private(ip.parse().unwrap()), refused, "{ip}");
        }
    }

    #[test]
    fn this_machines_own_addresses_are_local() {
        assert!(local("127.0.0.1".parse().unwrap()));
        // TEST-NET-3 (RFC 5737) is bound on no machine.
        assert!(!local("203.0.113.7".parse().unwrap()));
        assert!(!forbidden("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn bytes_say_the_type() {
        for (bytes, mime) in [
            (&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], Some("image/png")),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Some("image/jpeg")),
            (b"GIF89a\x01\0", Some("image/gif")),
            (b"GIF87a\x01\0", Some("image/gif")),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"root:x:0:0:root:/root:/bin/bash", None),
            (b"\x89PN", None),
            (b"", None),
        ] {
            assert_eq!(sniff(bytes), mime, "{bytes:?}");
        }
    }
}
