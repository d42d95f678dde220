//! A real SMTP server process for tests: Python's aiosmtpd writing to a Maildir. It can be
//! stopped and started again on the same port, to play an outage.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;

pub struct SmtpSink {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Option<Child>,
}

/// A delivered message, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    /// Every text part, transfer-decoded and joined.
    pub body: String,
}

impl ReceivedMail {
    /// The first URL in the message that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let start = self.body.find(prefix).unwrap_or_else(|| panic!("no link {prefix} in {}", self.body));
        self.body[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_string()
    }
}

/// Makes sure Python's aiosmtpd is importable, installing it from PyPI once if it is not, so
/// plain `cargo test` works on a fresh machine.
fn ensure_aiosmtpd() {
    static READY: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut ready = READY.lock().unwrap_or_else(|p| p.into_inner());
    if *ready {
        return;
    }
    let importable = || Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
    if !importable() {
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "aiosmtpd"])
            .status();
    }
    assert!(importable(), "the mail tests need Python's aiosmtpd: pip install aiosmtpd");
    *ready = true;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpSink {
    pub async fn start() -> Self {
        ensure_aiosmtpd();
        let mut sink = Self { port: free_port(), maildir: tempfile::tempdir().unwrap(), child: None };
        sink.resume().await;
        sink
    }

    /// (Re)starts the server on its port and waits until it answers.
    pub async fn resume(&mut self) {
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd runs (pip install aiosmtpd)");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Delivered files, oldest first.
    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(sub)) {
                files.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
            }
        }
        files.sort_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok());
        files
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.files().iter().filter_map(|f| std::fs::read_to_string(f).ok()).map(|raw| parse(&raw)).collect()
    }

    /// Every message to `to` (case-insensitive).
    pub fn messages_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages().into_iter().filter(|m| m.to.to_lowercase().contains(&to.to_lowercase())).collect()
    }

    /// Waits (up to 15 s) until `count` messages (oldest first) to `to` whose subject contains `subject` arrived.
    pub async fn wait_for_n(&self, to: &str, subject: &str, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..300 {
            let found: Vec<_> = self.messages_to(to).into_iter().filter(|m| m.subject.contains(subject)).collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {count} mail(s) {subject:?} to {to}; have: {:?}", self.messages());
    }

    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        self.wait_for_n(to, subject, 1).await.pop().unwrap()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A small MIME reader: headers, then each part decoded by its transfer encoding.
pub(crate) fn parse(raw: &str) -> ReceivedMail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let headers = unfold(head);
    let header = |name: &str| {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    let content_type = header("Content-Type");
    let text = match content_type.split("boundary=").nth(1) {
        Some(b) => {
            let boundary = format!("--{}", b.trim_matches(|c| c == '"' || c == ';' || c == ' '));
            body.split(&boundary)
                .filter_map(|part| part.split_once("\n\n"))
                .map(|(h, b)| decode(&unfold(h), b))
                .collect::<Vec<_>>()
                .join("\n")
        }
        None => decode(&headers, body),
    };
    ReceivedMail { to: header("To"), subject: header("Subject"), body: text }
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn decode(headers: &[(String, String)], body: &str) -> String {
    let encoding = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Transfer-Encoding"))
        .map(|(_, v)| v.to_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default())
                .into_owned()
        }
        "quoted-printable" => {
            let joined = body.replace("=\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
                    .then(|| u8::from_str_radix(&joined[i + 1..i + 3], 16).ok())
                    .flatten();
                if let Some(b) = escaped {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(bytes[i]);
                i += 1;
            }
            String::from_utf8_lossy(&out).into_owned()
        }
        _ => body.to_string(),
    }
}
