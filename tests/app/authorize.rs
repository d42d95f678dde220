//! The authorization endpoint's refusals: pages before the client and redirect URI are
//! known, error redirects (with state and iss) after.

use crate::helpers::oidc::{Consent, REDIRECT_URI, authorize_path, drive, param, pkce};
use crate::helpers::{PASSWORD, db_test, location, spawn_app};

db_test!(
    async fn unknown_clients_and_near_miss_redirect_uris_get_a_page_never_a_redirect(backend) {
        let app = spawn_app(backend).await;
        app.web_client("rp").await;
        let public = app.client("native", crate::helpers::oidc::ClientSpec { public: true, ..Default::default() }).await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        let near_misses = [
            "https://rp.example/callback/", "https://rp.example/callback/extra", "https://rp.example/callback/..;/x",
            "https://rp.example/callback%2F..", "https://rp.example/callback?x=1", "https://rp.example/callback#f",
            "https://RP.example/callback", "https://rp.example:443/callback", "http://rp.example/callback",
            "https://rp.example@evil.test/callback", "https://rp.example.evil.test/callback", "https://evil.test/callback",
            "javascript:alert(1)",
        ];
        for uri in near_misses {
            let res = browser.get(&authorize_path("rp", &challenge, &[("redirect_uri", uri)])).await;
            assert_eq!(res.status(), 400, "{uri}: a page");
            assert!(res.headers().get("location").is_none(), "{uri}: never a redirect");
        }
        for (case, extra) in [
            ("missing redirect_uri", vec![("redirect_uri", "")]),
            ("unknown client", vec![("client_id", "nobody")]),
            ("missing client", vec![("client_id", "")]),
        ] {
            let res = browser.get(&authorize_path("rp", &challenge, &extra)).await;
            assert_eq!(res.status(), 400, "{case}");
        }
        let doubled = format!("{}&client_id=rp", authorize_path("rp", &challenge, &[]));
        assert_eq!(browser.get(&doubled).await.status(), 400, "a repeated client_id is a page too");

        let loopback = authorize_path(&public.id, &challenge, &[("redirect_uri", "http://127.0.0.1:49152/native-callback")]);
        let res = browser.get(&loopback).await;
        assert_eq!(res.status(), 303, "a public client's loopback URI may use any port");
        assert!(location(&res).starts_with("/login"));
    }
);

db_test!(
    async fn bad_requests_from_a_known_client_come_back_as_errors_with_state_and_iss(backend) {
        let app = spawn_app(backend).await;
        app.web_client("rp").await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            ("no PKCE", vec![("code_challenge", ""), ("code_challenge_method", "")], "invalid_request"),
            ("plain PKCE", vec![("code_challenge_method", "plain")], "invalid_request"),
            ("PKCE without method", vec![("code_challenge_method", "")], "invalid_request"),
            ("short challenge", vec![("code_challenge", "abc")], "invalid_request"),
            ("token response", vec![("response_type", "token")], "unsupported_response_type"),
            ("no response_type", vec![("response_type", "")], "invalid_request"),
            ("scope not allowed", vec![("scope", "openid admin")], "invalid_scope"),
            ("request object", vec![("request", "eyJhbGciOiJub25lIn0.e30.")], "request_not_supported"),
            ("bad prompt", vec![("prompt", "none login")], "invalid_request"),
            ("bad max_age", vec![("max_age", "-1")], "invalid_request"),
            ("forged id_token_hint", vec![("id_token_hint", "e30.e30.e30")], "invalid_request"),
            ("fragment mode", vec![("response_mode", "fragment")], "invalid_request"),
        ];
        for (case, extra, error) in cases {
            let res = browser.get(&authorize_path("rp", &challenge, &extra)).await;
            assert_eq!(res.status(), 303, "{case}");
            let loc = location(&res);
            assert!(loc.starts_with(REDIRECT_URI), "{case}: {loc}");
            assert_eq!(param(&loc, "error").as_deref(), Some(error), "{case}");
            assert_eq!(param(&loc, "state").as_deref(), Some("state-123"), "{case}");
            assert_eq!(param(&loc, "iss").as_deref(), Some(app.issuer.as_str()), "{case}");
        }
        let repeated = format!("{}&scope=openid", authorize_path("rp", &challenge, &[]));
        assert_eq!(param(&location(&browser.get(&repeated).await), "error").as_deref(), Some("invalid_request"), "repeated");

        let tolerated = authorize_path(
            "rp",
            &challenge,
            &[("display", "popup"), ("ui_locales", "de"), ("acr_values", "x"), ("login_hint", "alice"), ("unknown_thing", "1")],
        );
        let res = browser.get(&tolerated).await;
        assert!(location(&res).starts_with("/login"), "display, ui_locales, acr_values, login_hint and unknown parameters cause no error");
    }
);

db_test!(
    async fn prompt_none_without_a_session_or_consent_answers_with_an_error(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.web_client("rp").await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        let res = browser.get(&authorize_path("rp", &challenge, &[("prompt", "none")])).await;
        assert_eq!(param(&location(&res), "error").as_deref(), Some("login_required"));

        browser.login("alice", PASSWORD).await;
        let res = browser.get(&authorize_path("rp", &challenge, &[("prompt", "none")])).await;
        assert_eq!(param(&location(&res), "error").as_deref(), Some("consent_required"));
    }
);

db_test!(
    async fn denied_consent_returns_access_denied_and_given_consent_is_remembered(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.web_client("rp").await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        let back = drive(&browser, &authorize_path("rp", &challenge, &[]), ("alice", PASSWORD), Consent::Deny).await;
        assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
        assert_eq!(param(&back, "iss").as_deref(), Some(app.issuer.as_str()));

        let back = drive(&browser, &authorize_path("rp", &challenge, &[]), ("alice", PASSWORD), Consent::Allow).await;
        assert!(param(&back, "code").is_some());
        let again = browser.get(&authorize_path("rp", &challenge, &[])).await;
        assert!(param(&location(&again), "code").is_some(), "remembered consent: straight back with a code");
        let wider = browser.get(&authorize_path("rp", &challenge, &[("scope", "openid profile email offline_access")])).await;
        assert_eq!(wider.status(), 200, "a wider scope asks again");
        let forced = browser.get(&authorize_path("rp", &challenge, &[("prompt", "consent")])).await;
        assert_eq!(forced.status(), 200, "prompt=consent asks again");
    }
);

db_test!(
    async fn max_age_and_prompt_login_force_a_fresh_sign_in(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.client("first", crate::helpers::oidc::ClientSpec { first_party: true, ..Default::default() }).await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        browser.login("alice", PASSWORD).await;
        let res = browser.get(&authorize_path("first", &challenge, &[])).await;
        assert!(param(&location(&res), "code").is_some(), "first-party: no consent, signed in: a code");

        app.clock.advance(time::Duration::seconds(120));
        let res = browser.get(&authorize_path("first", &challenge, &[("max_age", "60")])).await;
        let loc = location(&res);
        assert!(loc.starts_with("/login") && loc.contains("reauth=1"), "too old a sign-in: {loc}");
        let back = drive(&browser, &authorize_path("first", &challenge, &[("max_age", "60")]), ("alice", PASSWORD), Consent::Allow).await;
        assert!(param(&back, "code").is_some(), "after signing in again the request completes");

        let res = browser.get(&authorize_path("first", &challenge, &[("prompt", "login")])).await;
        assert!(location(&res).starts_with("/login"), "prompt=login asks even with a fresh session");
        let back = drive(&browser, &authorize_path("first", &challenge, &[("prompt", "login")]), ("alice", PASSWORD), Consent::Allow).await;
        assert!(param(&back, "code").is_some(), "and does not loop");
    }
);

db_test!(
    async fn an_id_token_hint_for_another_user_never_yields_a_code_for_the_current_one(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.browser().register("bobby", "bobby@example.com", PASSWORD).await;
        let client = app.client("first", crate::helpers::oidc::ClientSpec { first_party: true, ..Default::default() }).await;
        let (verifier, challenge) = pkce();
        let alice = app.browser();
        let back = drive(&alice, &authorize_path("first", &challenge, &[]), ("alice", PASSWORD), Consent::Allow).await;
        let tokens = app.exchange(&client, &param(&back, "code").unwrap(), &verifier).await.1;
        let alice_hint = tokens["id_token"].as_str().unwrap();

        let bob = app.browser();
        bob.login("bobby", PASSWORD).await;
        let res = bob.get(&authorize_path("first", &challenge, &[("id_token_hint", alice_hint)])).await;
        let loc = location(&res);
        assert_eq!(param(&loc, "error").as_deref(), Some("login_required"), "{loc}");
        assert!(param(&loc, "code").is_none());
        let res = alice.get(&authorize_path("first", &challenge, &[("id_token_hint", alice_hint), ("prompt", "none")])).await;
        assert!(param(&location(&res), "code").is_some(), "the hinted user gets a code");
    }
);
