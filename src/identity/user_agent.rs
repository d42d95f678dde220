//! A short, human summary of a `User-Agent` header ("Firefox on Linux"), for the list of
//! places a person is signed in and the new-device notice. Only the common browsers and
//! systems are told apart; anything else is named generically. Not for any security
//! decision: the header is whatever the client chose to send.

/// The browser and operating system a user agent claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSummary {
    pub browser: &'static str,
    pub os: &'static str,
}

/// Browsers, first match wins: the order matters, since most of them also claim to be
/// Chrome, Safari or Mozilla.
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Vivaldi/", "Vivaldi"),
    ("YaBrowser/", "Yandex Browser"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
    ("curl/", "curl"),
];

/// Operating systems, first match wins (Android also says Linux, iOS also says Mac OS X).
const SYSTEMS: &[(&str, &str)] = &[
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
    ("FreeBSD", "FreeBSD"),
];

impl DeviceSummary {
    pub fn parse(user_agent: Option<&str>) -> Self {
        let ua = user_agent.unwrap_or_default();
        let find = |table: &[(&str, &'static str)], fallback| {
            table.iter().find(|(needle, _)| ua.contains(needle)).map(|(_, name)| *name).unwrap_or(fallback)
        };
        // Safari's "Version/" is only Safari alongside "Safari/".
        let browser = match find(BROWSERS, "Unknown browser") {
            "Safari" if !ua.contains("Safari/") => "Unknown browser",
            name => name,
        };
        Self { browser, os: find(SYSTEMS, "an unknown system") }
    }

    /// "Firefox on Linux"; "Unknown device" when neither part is known.
    pub fn label(&self) -> String {
        if self.browser == "Unknown browser" && self.os == "an unknown system" {
            return "Unknown device".into();
        }
        format!("{} on {}", self.browser, self.os)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_and_systems_are_named() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
                "Chrome on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Samsung Internet on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera on Linux",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36",
                "Chrome on ChromeOS",
            ),
            ("curl/8.5.0", "curl on an unknown system"),
            ("", "Unknown device"),
            ("something/1.0", "Unknown device"),
        ];
        for (ua, expected) in cases {
            assert_eq!(DeviceSummary::parse(Some(ua)).label(), expected, "{ua}");
        }
        assert_eq!(DeviceSummary::parse(None).label(), "Unknown device");
    }
}
