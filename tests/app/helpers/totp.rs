//! An independent RFC 6238 implementation (HMAC-SHA1 via OpenSSL, dynamic truncation), as an
//! authenticator app would compute codes from the secret the enrolment page shows.

use super::browser::between;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use portcullis::clock::Clock;

use super::{Browser, TestApp};

/// RFC 4648 base32, no padding.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim().trim_end_matches('=').chars() {
        let value = ALPHABET.find(c.to_ascii_uppercase()).expect("base32 character") as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

/// The 6-digit code for Unix time `t`.
pub fn code_at(secret: &[u8], t: i64) -> String {
    let counter = (t / 30) as u64;
    let key = PKey::hmac(secret).unwrap();
    let mut signer = Signer::new(MessageDigest::sha1(), &key).unwrap();
    signer.update(&counter.to_be_bytes()).unwrap();
    let mac = signer.sign_to_vec().unwrap();
    let offset = (mac[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    format!("{:06}", binary % 1_000_000)
}

pub struct Enrolled {
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
}

impl TestApp {
    pub fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Turns on 2FA for the user signed in on `browser`, as a person would: scan (read the
    /// key from the page), type a code, keep the recovery codes.
    pub async fn enrol(&self, browser: &Browser, password: &str) -> Enrolled {
        let page = browser.submit("/profile/2fa/setup", &[("mfa_current_password", password)]).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<svg") && html.contains("otpauth://totp/"), "a QR code and the setup link");
        let secret = base32_decode(&between(&html, "id=\"totp-secret\">", "<").expect("the key as text"));
        assert_eq!(secret.len(), 20, "160 bits");
        let done = browser.submit("/profile/2fa/confirm", &[("code", &code_at(&secret, self.now()))]).await;
        assert_eq!(done.status(), 200);
        let html = done.text().await.unwrap();
        let list = between(&html, "id=\"recovery-codes\">", "</ul>").unwrap();
        let recovery_codes: Vec<String> =
            list.split("<code>").skip(1).map(|c| c.split("</code>").next().unwrap().to_string()).collect();
        Enrolled { secret, recovery_codes }
    }
}
