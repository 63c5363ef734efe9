//! Signing a Google account in for Code Assist: the OAuth authorization-code
//! flow with a loopback callback on an ephemeral port, or, where no browser
//! can reach this machine, the code (or the whole redirect address) pasted on
//! standard input. The OAuth client is the user's own (settings
//! `oauth_client_id` / `oauth_client_secret`); levity ships none.

use crate::config::Settings;
use crate::provider::code_assist;
use crate::store::random_bytes;
use crate::util::hex;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the sign-in may take.
const SIGN_IN: Duration = Duration::from_secs(600);

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `code` and `state` from a query string or a pasted redirect address.
fn params(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let query = text.split_once('?').map_or(text, |(_, q)| q);
    let query = query.split([' ', '#']).next().unwrap_or("");
    let get = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .map(decode_component)
    };
    (get("code"), get("state"), get("error"))
}

/// Runs the sign-in and returns the account's refresh token.
pub async fn sign_in(stored: &BTreeMap<String, String>, no_open: bool) -> Result<String, String> {
    let settings = Settings::from_map(stored);
    let oauth = &settings.oauth;
    // Fails early, with the setup steps, when no OAuth client is configured.
    code_assist::authorize_url(oauth, "", "")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let redirect = format!(
        "http://127.0.0.1:{}/oauth2callback",
        listener.local_addr().map_err(|e| e.to_string())?.port()
    );
    let state = hex(&random_bytes::<16>());
    let url = code_assist::authorize_url(oauth, &redirect, &state)?;
    eprintln!(
        "Sign in to Google at:\n  {url}\nWaiting for the browser; or paste the code (or the address you were sent to) here:"
    );
    if !no_open && open::that_detached(&url).is_err() {
        eprintln!("(could not open a browser)");
    }

    let callback = async {
        loop {
            let (mut sock, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
            if !target.starts_with("/oauth2callback") {
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
                continue;
            }
            let found = params(&target);
            let page = if found.0.is_some() {
                "Signed in. You can close this tab and return to levity."
            } else {
                "Sign-in failed; see the terminal."
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
            return Ok::<_, String>(found);
        }
    };
    let pasted = async {
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let line = line.trim().to_string();
        if line.is_empty() {
            return std::future::pending().await;
        }
        // A bare code, or the address the browser was sent to.
        Ok::<_, String>(if line.contains("code=") {
            params(&line)
        } else {
            (Some(line), None, None)
        })
    };
    let (code, returned_state, error) = tokio::time::timeout(SIGN_IN, async {
        tokio::select! {
            r = callback => r,
            r = pasted => r,
        }
    })
    .await
    .map_err(|_| "sign-in timed out".to_string())??;
    if let Some(e) = error {
        return Err(format!("Google refused the sign-in: {e}"));
    }
    if returned_state.as_deref().is_some_and(|s| s != state) {
        return Err("the sign-in answer does not belong to this sign-in (state mismatch)".into());
    }
    let code = code.ok_or("Google sent no code")?;

    let client = crate::provider::Upstream::new(Duration::from_secs(settings.connect_timeout_secs))
        .client_for(settings.upstream_proxy.as_deref());
    code_assist::exchange_code(&client, oauth, &code, &redirect).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callbacks_and_pasted_addresses() {
        let (code, state, _) = params("/oauth2callback?state=abc&code=4%2F0AX-y%2Bz&scope=x");
        assert_eq!(
            (code.as_deref(), state.as_deref()),
            (Some("4/0AX-y+z"), Some("abc"))
        );
        let (code, _, _) = params("http://127.0.0.1:5555/oauth2callback?code=c1&state=s");
        assert_eq!(code.as_deref(), Some("c1"));
        let (_, _, err) = params("/oauth2callback?error=access_denied");
        assert_eq!(err.as_deref(), Some("access_denied"));
    }
}
