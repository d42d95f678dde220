//! Languages: the hosted pages and mail in English, German or French, chosen from
//! `ui_locales` on /authorize (for the rest of that flow), the language cookie the picker
//! sets, the profile setting, `Accept-Language`, else English.

use std::time::Duration;

use crate::helpers::oidc::{authorize_path, pkce};
use crate::helpers::{Browser, PASSWORD, between, csrf_in, db_test, location, spawn_app, spawn_app_with_smtp};

async fn html_lang(browser: &Browser, path: &str) -> (String, String) {
    let body = browser.text(path).await;
    let lang = between(&body, "<html lang=\"", "\"").expect("an html lang attribute");
    (lang, body)
}

db_test!(
    async fn ui_locales_de_on_authorize_gives_the_login_and_consent_pages_in_german(backend) {
        let app = spawn_app(backend).await;
        app.web_client("rp").await;
        app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;
        let browser = app.browser();
        let (_, challenge) = pkce();
        let start = authorize_path("rp", &challenge, &[("ui_locales", "ja de-CH fr")]);
        let res = browser.get(&start).await;
        assert_eq!(res.status(), 303);
        let login = location(&res);
        assert!(login.starts_with("/login"), "{login}");
        let (lang, body) = html_lang(&browser, &login).await;
        assert_eq!(lang, "de");
        assert!(body.contains("<h1>Anmelden</h1>") && body.contains("Passwort vergessen?"), "{body}");

        // Kept for the rest of the flow: the consent page after signing in is German too.
        let next = crate::helpers::oidc::param(&format!("http://x{login}"), "next").unwrap();
        let res = browser.submit("/login", &[("username", "alice"), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!(res.status(), 303);
        let consent = browser.get(&location(&res)).await.text().await.unwrap();
        assert!(consent.contains("<html lang=\"de\">") && consent.contains(">Erlauben</button>"), "{consent}");
        assert!(consent.contains("Ihr Name und Benutzername"), "scope descriptions are translated: {consent}");

        // A new authorization request without ui_locales starts over in the browser's language.
        let res = browser.get(&authorize_path("rp", &challenge, &[("prompt", "login")])).await;
        let (lang, _) = html_lang(&browser, &location(&res)).await;
        assert_eq!(lang, "en");
    }
);

db_test!(
    async fn accept_language_picks_the_best_supported_language_by_q_value(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        let body = browser.get_with("/login", "accept-language", "ja, de-CH;q=0.8, fr;q=0.5").await.text().await.unwrap();
        assert!(body.contains("<html lang=\"de\">") && body.contains("<h1>Anmelden</h1>"), "{body}");
        let body = browser.get_with("/login", "accept-language", "de;q=0.4, fr;q=0.9").await.text().await.unwrap();
        assert!(body.contains("<html lang=\"fr\">") && body.contains("<h1>Se connecter</h1>"), "{body}");
        let body = browser.get_with("/login", "accept-language", "ja, zh").await.text().await.unwrap();
        assert!(body.contains("<html lang=\"en\">") && body.contains("<h1>Sign in</h1>"), "{body}");
        // Error pages outside the session routes follow the header too.
        let res = browser.get_with("/no-such-page", "accept-language", "fr").await;
        assert_eq!(res.status(), 404);
        let body = res.text().await.unwrap();
        assert!(body.contains("Page introuvable"), "{body}");
    }
);

db_test!(
    async fn the_language_picker_sets_a_cookie_that_outranks_accept_language(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        let page = browser.text("/login").await;
        assert!(page.contains("action=\"/language\""), "every page with a session has the picker: {page}");
        let token = csrf_in(&page).unwrap();

        let forged = browser.post_form("/language", &[("csrf_token", "wrong"), ("lang", "de"), ("next", "/login")]).await;
        assert_eq!(forged.status(), 403, "the picker is CSRF-checked");
        assert_eq!(browser.cookie("portcullis_lang"), None);

        let res = browser.post_form("/language", &[("csrf_token", &token), ("lang", "de"), ("next", "/login")]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/login");
        assert_eq!(browser.cookie("portcullis_lang").as_deref(), Some("de"));
        let body = browser.get_with("/login", "accept-language", "fr").await.text().await.unwrap();
        assert!(body.contains("<html lang=\"de\">") && body.contains("<h1>Anmelden</h1>"), "{body}");

        let off_site =
            browser.post_form("/language", &[("csrf_token", &token), ("lang", "fr"), ("next", "//evil.example/")]).await;
        assert_eq!(location(&off_site), "/", "only local return paths");
        let unknown = browser.post_form("/language", &[("csrf_token", &token), ("lang", "xx")]).await;
        assert_eq!(unknown.status(), 400);
    }
);

db_test!(
    async fn the_profile_setting_follows_the_person_to_a_new_browser(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let res = browser.submit("/profile/language", &[("locale", "de")]).await;
        assert_eq!(res.status(), 303);
        let profile = browser.text(&location(&res)).await;
        assert!(profile.contains("<html lang=\"de\">") && profile.contains("Ihre Sprache wurde gespeichert."), "{profile}");
        let id = app.user_id("alice").await;
        let stored = app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE id = '{id}' AND locale = 'de'")).await;
        assert_eq!(stored, 1);

        let other = app.browser();
        let (lang, _) = html_lang(&other, "/login").await;
        assert_eq!(lang, "en", "before signing in the browser decides");
        assert_eq!(other.login("alice", PASSWORD).await.status(), 303);
        let (lang, body) = html_lang(&other, "/profile").await;
        assert_eq!(lang, "de");
        assert!(body.contains("<h1>Ihr Profil</h1>"), "{body}");

        // Cleared: the browser decides again.
        assert_eq!(other.submit("/profile/language", &[("locale", "")]).await.status(), 303);
        let (lang, _) = html_lang(&other, "/profile").await;
        assert_eq!(lang, "en");
    }
);

db_test!(
    async fn mail_goes_out_in_the_language_of_the_persons_profile(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let browser = app.browser();
        browser.sign_up("amelie", "amelie@example.com", PASSWORD).await;
        assert_eq!(browser.submit("/profile/language", &[("locale", "fr")]).await.status(), 303);

        // The reset is asked for from an English browser, not signed in: the profile wins.
        let stranger = app.browser();
        stranger.get_with("/reset-password", "accept-language", "en").await;
        let res = stranger.submit("/reset-password", &[("email", "amelie@example.com")]).await;
        assert_eq!(res.status(), 200);
        let mut found = None;
        for _ in 0..300 {
            found = app.smtp().messages_to("amelie@example.com").into_iter().find(|m| m.body.contains("Bonjour amelie,"));
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mail = found.unwrap_or_else(|| panic!("no French mail: {:?}", app.smtp().messages()));
        assert!(mail.body.contains("Choisir un nouveau mot de passe"), "{}", mail.body);
        assert!(mail.body.contains(&app.link_to("/reset-password/confirm?token=")), "{}", mail.body);
        assert!(!mail.body.contains("Hello"), "{}", mail.body);
    }
);

db_test!(
    async fn mail_without_a_profile_setting_goes_out_in_the_requests_language(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let browser = app.browser();
        browser.get_with("/register", "accept-language", "de-DE,de;q=0.9").await;
        let token = csrf_in(&browser.get_with("/register", "accept-language", "de").await.text().await.unwrap()).unwrap();
        let fields = [
            ("csrf_token", token.as_str()),
            ("username", "bernd"),
            ("email", "bernd@example.com"),
            ("display_name", ""),
            ("password", PASSWORD),
        ];
        let res = reqwest::Client::new()
            .post(app.url("/register"))
            .header("accept-language", "de")
            .header("cookie", format!("portcullis_csrf={}", browser.cookie("portcullis_csrf").unwrap()))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut found = None;
        for _ in 0..300 {
            found = app.smtp().messages_to("bernd@example.com").into_iter().next();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mail = found.expect("a confirmation mail");
        assert!(mail.body.contains("Hallo bernd,") && mail.body.contains("Meine Adresse bestätigen"), "{}", mail.body);
    }
);

db_test!(
    async fn discovery_lists_the_supported_ui_locales(backend) {
        let app = spawn_app(backend).await;
        let doc: serde_json::Value =
            reqwest::get(app.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
        assert_eq!(doc["ui_locales_supported"], serde_json::json!(["en", "de", "fr"]));
    }
);
