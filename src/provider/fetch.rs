//! Images given by address: fetched by levity for upstreams that cannot
//! fetch them (Gemini), with a size limit, a timeout, a content-type check
//! and an SSRF guard: no loopback, private, link-local, shared or metadata
//! addresses, checked on every redirect and pinned for the connection, unless
//! the user allowed the host. `file://` paths only for a client on this
//! machine, and only when the user allowed it.

use crate::canonical::{Image, Part, Request};
use crate::error::{Error, Kind};
use base64::Engine;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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

/// Whether an address belongs to this machine or a private network.
pub fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

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

fn inline(mime: &str, bytes: &[u8]) -> Image {
    Image::Inline {
        mime_type: mime.to_string(),
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

async fn read_file(url: &str) -> Result<Image, Error> {
    let path = url.strip_prefix("file://").unwrap_or(url);
    let mime = mime_of(path).ok_or_else(|| {
        bad(format!(
            "`{path}` is not a png, jpeg, gif, webp or pdf file"
        ))
    })?;
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| bad(format!("cannot read `{path}`: {e}")))?;
    if meta.len() as usize > MAX_IMAGE {
        return Err(bad(format!(
            "`{path}` is larger than {} MB",
            MAX_IMAGE >> 20
        )));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| bad(format!("cannot read `{path}`: {e}")))?;
    Ok(inline(mime, &bytes))
}

async fn fetch(url: &str, policy: &Policy) -> Result<Image, Error> {
    let mut url =
        reqwest::Url::parse(url).map_err(|e| bad(format!("bad image address `{url}`: {e}")))?;
    for _ in 0..=MAX_REDIRECTS {
        let host = url
            .host_str()
            .ok_or_else(|| bad(format!("image address `{url}` has no host")))?
            .to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        // An IP address (IPv6 in brackets) needs no lookup.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match literal.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| bad(format!("cannot resolve `{host}`: {e}")))?
                .collect(),
        };
        let allowed = policy
            .allow_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host));
        let addr = addrs
            .first()
            .copied()
            .ok_or_else(|| bad(format!("`{host}` has no address")))?;
        if !allowed && addrs.iter().any(|a| private(a.ip())) {
            return Err(bad(format!(
                "image address `{host}` is on this machine or a private network; levity does not fetch it \
                 (allow it with `levity config set image_fetch_allow {host}`)"
            )));
        }
        // Connect to the address just checked, not to a second lookup.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| Error::new(Kind::Internal, e.to_string()))?;
        let mut resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| bad(format!("fetching `{url}` failed: {e}")))?;
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
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| bad(format!("fetching `{url}` failed: {e}")))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_IMAGE {
                return Err(bad(format!(
                    "`{url}` is larger than {} MB",
                    MAX_IMAGE >> 20
                )));
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
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "142.250.0.1", "2001:4860::8888"] {
            assert!(!private(ip.parse().unwrap()), "{ip}");
        }
    }
}
