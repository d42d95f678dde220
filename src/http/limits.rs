//! Request-head limits, enforced before routing (RFC 9110 §15.5.15, RFC 6585 §5): a request
//! line plus headers longer than `http.max_header_bytes` is answered 431 Request Header Fields
//! Too Large, a request target longer than `http.max_uri_bytes` 414 URI Too Long, each with a
//! one-line text body.
//!
//! The server loop checks the first head of every connection itself, as its bytes arrive
//! ([`HeadLimits::scan`], used by `server.rs`), so even a head far over the limit gets this
//! answer instead of a reset connection. Later requests on a kept-alive connection are bounded
//! by hyper's read buffer (set to the same limit) and by [`uri_limit`].

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    pub max_header_bytes: usize,
    pub max_uri_bytes: usize,
}

/// What the bytes received so far say about the request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadScan {
    /// The head is complete and within the limits.
    Complete,
    /// More bytes are needed; nothing is over a limit yet.
    Incomplete,
    /// Answer with this status (431 or 414) and close.
    Refuse(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    HeadersTooLarge,
    UriTooLong,
}

impl HeadLimits {
    pub fn from_settings(settings: &crate::config::HttpSettings) -> Self {
        Self { max_header_bytes: settings.max_header_bytes, max_uri_bytes: settings.max_uri_bytes }
    }

    /// Checks the start of a connection's first request. The target is checked first, even
    /// before its line is complete, so a long URI is a 414 rather than a 431.
    pub fn scan(&self, received: &[u8]) -> HeadScan {
        // RFC 9112 §2.2: empty lines before the request line are ignored.
        let start = received.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        let head = &received[start..];
        let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let target = line.splitn(3, |b| *b == b' ').nth(1).unwrap_or_default();
        if target.len() > self.max_uri_bytes {
            return HeadScan::Refuse(Refusal::UriTooLong);
        }
        match head_end(head) {
            Some(len) if len <= self.max_header_bytes => HeadScan::Complete,
            None if head.len() <= self.max_header_bytes => HeadScan::Incomplete,
            _ => HeadScan::Refuse(Refusal::HeadersTooLarge),
        }
    }

    fn body(&self, refusal: Refusal) -> String {
        match refusal {
            Refusal::HeadersTooLarge => format!(
                "Request header fields too large: the request line and headers may be at most {} bytes.\n",
                self.max_header_bytes
            ),
            Refusal::UriTooLong => {
                format!("URI too long: the request target may be at most {} bytes.\n", self.max_uri_bytes)
            }
        }
    }

    /// The whole answer as bytes, for the server loop to write before it closes the
    /// connection (it runs before hyper, so before our layers: the headers they would add
    /// that matter for a text body are written here).
    pub fn raw_response(&self, refusal: Refusal, hsts: Option<&str>) -> Vec<u8> {
        let status = match refusal {
            Refusal::HeadersTooLarge => "431 Request Header Fields Too Large",
            Refusal::UriTooLong => "414 URI Too Long",
        };
        let body = self.body(refusal);
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
             connection: close\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n",
            body.len()
        );
        if let Some(hsts) = hsts {
            out.push_str(&format!("strict-transport-security: {hsts}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&body);
        out.into_bytes()
    }
}

/// Where the head ends (after its empty line), accepting bare LF line ends as hyper does.
fn head_end(head: &[u8]) -> Option<usize> {
    head.iter().enumerate().filter(|(_, b)| **b == b'\n').find_map(|(i, _)| match head.get(i + 1..) {
        Some([b'\n', ..]) => Some(i + 2),
        Some([b'\r', b'\n', ..]) => Some(i + 3),
        _ => None,
    })
}

/// The target-length limit for requests after the first on a connection (hyper bounds their
/// whole head by its buffer, but not the target on its own).
pub async fn uri_limit(State(limits): State<HeadLimits>, req: Request, next: Next) -> Response {
    let uri = req.uri();
    let len = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.scheme_str().map_or(0, |s| s.len() + 3);
    if len <= limits.max_uri_bytes {
        return next.run(req).await;
    }
    let mut res = (StatusCode::URI_TOO_LONG, Body::from(limits.body(Refusal::UriTooLong))).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits { max_header_bytes: 64, max_uri_bytes: 16 };

    #[test]
    fn a_head_is_complete_at_its_empty_line_and_refused_past_the_limits() {
        let cases: [(&str, &[u8], HeadScan); 9] = [
            ("complete", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", HeadScan::Complete),
            ("complete with bare LF", b"GET / HTTP/1.1\nHost: a\n\n", HeadScan::Complete),
            (
                "body bytes after the head do not count",
                b"POST / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                HeadScan::Complete,
            ),
            ("leading empty lines are skipped", b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", HeadScan::Complete),
            ("still arriving", b"GET / HTTP/1.1\r\nHost: a\r\n", HeadScan::Incomplete),
            (
                "exactly at the limit",
                b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
                HeadScan::Complete,
            ),
            (
                "one byte over",
                b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
                HeadScan::Refuse(Refusal::HeadersTooLarge),
            ),
            (
                "over and still arriving",
                b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                HeadScan::Refuse(Refusal::HeadersTooLarge),
            ),
            ("a long target, line incomplete", b"GET /aaaaaaaaaaaaaaaaa", HeadScan::Refuse(Refusal::UriTooLong)),
        ];
        for (case, bytes, expected) in cases {
            assert_eq!(LIMITS.scan(bytes), expected, "{case}");
        }
        assert_eq!(LIMITS.scan(b"GET /aaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n"), HeadScan::Complete, "a 16-byte target");
    }

    #[test]
    fn the_raw_answer_is_a_complete_response_with_a_short_body() {
        let raw = String::from_utf8(LIMITS.raw_response(Refusal::UriTooLong, Some("max-age=60"))).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())), "{head}");
        assert!(head.contains("strict-transport-security: max-age=60"), "{head}");
        assert!(body.contains("at most 16 bytes"), "{body}");
    }
}
