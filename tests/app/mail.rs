//! Mail delivery: the outbox directory by default, SMTP outages and hanging servers.

use std::time::Duration as StdDuration;

use time::Duration;

use crate::helpers::{PASSWORD, db_test, spawn_app, spawn_app_with};

db_test!(
    async fn without_smtp_mail_lands_as_eml_files_in_the_outbox_directory(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let outbox = app.data_dir.path().join("outbox");
        let mut found = None;
        for _ in 0..100 {
            found = std::fs::read_dir(&outbox)
                .ok()
                .and_then(|d| d.filter_map(|e| e.ok()).find(|e| e.path().extension().is_some_and(|x| x == "eml")));
            if found.is_some() {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        let file = found.expect("an .eml file in data_dir/outbox").path();
        let raw = std::fs::read_to_string(file).unwrap();
        assert!(raw.contains("To: alice@example.com") && raw.contains("Subject: Confirm your e-mail address"));
        assert!(raw.contains(&app.link_to("/verify-email?token=")));
    }
);

db_test!(
    async fn mail_waits_out_an_smtp_outage_and_is_delivered_when_the_server_returns(backend) {
        let mut app = crate::helpers::spawn_app_with_smtp(backend, |_| {}).await;
        app.smtp.as_mut().unwrap().stop();
        let res = app.browser().register("alice", "alice@example.com", PASSWORD).await;
        assert_eq!(res.status(), 200, "the request does not depend on SMTP");

        let failed_once = async {
            for _ in 0..200 {
                if app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM mail_outbox WHERE attempts >= 1 AND status = 'pending'").await == 1 {
                    return true;
                }
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
            false
        };
        assert!(failed_once.await, "the first delivery failed and the mail is still pending");

        app.smtp.as_mut().unwrap().resume().await;
        app.clock.advance(Duration::seconds(31));
        app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await;
        for _ in 0..100 {
            if app.count("mail_outbox WHERE status = 'sent'").await == 1 {
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        panic!("the delivered mail was never marked sent");
    }
);

db_test!(
    async fn an_smtp_server_that_never_answers_does_not_slow_requests(backend) {
        // A TCP peer that accepts connections and never says a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                sockets.push(socket);
            }
        });
        let app = spawn_app_with(backend, |s| {
            s.mail.server = "127.0.0.1".into();
            s.mail.port = port;
            s.mail.tls = portcullis::config::MailTls::None;
            s.mail.send_timeout_secs = 120;
        })
        .await;
        let browser = app.browser();
        let client = reqwest::Client::builder().timeout(StdDuration::from_secs(20)).build().unwrap();
        for name in ["alice", "bob", "carol"] {
            let csrf = browser.csrf().await;
            let res = browser
                .client
                .post(browser.url("/register"))
                .timeout(StdDuration::from_secs(20))
                .form(&[("csrf_token", csrf.as_str()), ("username", name), ("email", &format!("{name}@example.com")), ("password", PASSWORD)])
                .send()
                .await
                .expect("the request answers while SMTP hangs");
            assert_eq!(res.status(), 200);
        }
        let res = client.get(app.url("/health/ready")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(app.count("mail_outbox WHERE status = 'pending'").await, 3, "the mail waits in the outbox");
        held.abort();
    }
);
