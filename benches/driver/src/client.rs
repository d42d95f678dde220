//! A small HTTP/1.1 client for one origin: one keep-alive connection (reopened when the
//! server closes it), a cookie jar, no redirect following (the flow reads every Location).

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

pub struct Response {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("{} with a body that is not JSON: {}", self.status, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Client {
    /// `127.0.0.1:5000`
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    pub cookies: Vec<(String, String)>,
    /// HTTP requests sent (a flow is several).
    pub requests: u64,
}

impl Client {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("only http:// bases are supported: {base}"))?
            .trim_end_matches('/')
            .to_string();
        Ok(Self { authority, sender: None, cookies: Vec::new(), requests: 0 })
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.authority).await.context("connecting")?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<Response> {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post_form(
        &mut self,
        path: &str,
        fields: &[(String, String)],
        headers: &[(&str, String)],
    ) -> anyhow::Result<Response> {
        let body = form_encode(fields);
        let mut all = vec![("content-type", "application/x-www-form-urlencoded".to_string())];
        all.extend(headers.iter().cloned());
        self.send(Method::POST, path, Some(body.into_bytes()), &all).await
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Response> {
        for attempt in 0..2 {
            let mut sender = match self.sender.take() {
                Some(s) if !s.is_closed() => s,
                _ => self.connect().await?,
            };
            sender.ready().await.ok();
            let mut req = Request::builder().method(method.clone()).uri(path).header("host", &self.authority);
            for (name, value) in headers {
                req = req.header(*name, value);
            }
            if !self.cookies.is_empty() {
                let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
                req = req.header("cookie", jar.join("; "));
            }
            let req = req.body(Full::new(Bytes::from(body.clone().unwrap_or_default())))?;
            self.requests += 1;
            match sender.send_request(req).await {
                Ok(res) => {
                    let status = res.status();
                    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
                    for cookie in res.headers().get_all("set-cookie") {
                        if let Ok(c) = cookie.to_str() {
                            self.store_cookie(c);
                        }
                    }
                    let body = res.into_body().collect().await?.to_bytes();
                    self.sender = Some(sender);
                    return Ok(Response { status, location, body });
                }
                // The server closed an idle keep-alive connection under us: one fresh try.
                Err(e) if attempt == 0 && (e.is_canceled() || e.is_closed() || e.is_incomplete_message()) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        bail!("the connection kept closing")
    }

    fn store_cookie(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else { return };
        let expired = parts.any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == "max-age=0" || a.starts_with("max-age=-") || a.starts_with("expires=thu, 01 jan 1970")
        });
        self.cookies.retain(|(k, _)| k != name);
        if !expired && !value.is_empty() {
            self.cookies.push((name.to_string(), value.to_string()));
        }
    }
}

pub fn form_encode(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The value of one query parameter of a URL (percent-decoded).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| decode(v))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let url = "http://127.0.0.1:5999/cb?code=a%2Fb&state=s+1&iss=http%3A%2F%2Fx";
        assert_eq!(query_param(url, "code").as_deref(), Some("a/b"));
        assert_eq!(query_param(url, "state").as_deref(), Some("s 1"));
        assert_eq!(query_param(url, "iss").as_deref(), Some("http://x"));
        assert_eq!(query_param(url, "none"), None);
    }

    #[test]
    fn expired_cookies_leave_the_jar() {
        let mut c = Client::new("http://127.0.0.1:1").unwrap();
        c.store_cookie("a=1; Path=/; HttpOnly");
        c.store_cookie("b=2; Path=/");
        c.store_cookie("a=; Max-Age=0");
        assert_eq!(c.cookies, vec![("b".to_string(), "2".to_string())]);
    }
}
