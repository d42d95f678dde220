//! Physical limits, measured in-process as CPU time of this thread: one argon2id verify
//! at the configured cost, and one JWS signature per algorithm with josekit (the library
//! Portcullis signs with) over a payload shaped like Portcullis's access tokens.

use std::time::Duration;

use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::JwsSigner;
use josekit::jws::{ES256, EdDSA, JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;

use crate::cpu::thread_time;

/// The argon2id cost, Portcullis's defaults (OWASP) unless told otherwise.
#[derive(clap::Args, Debug)]
pub struct Argon2Args {
    #[arg(long, default_value_t = 19_456)]
    argon2_memory_kib: u32,
    #[arg(long, default_value_t = 2)]
    argon2_iterations: u32,
    #[arg(long, default_value_t = 1)]
    argon2_parallelism: u32,
}

impl Argon2Args {
    pub fn argon2(&self) -> anyhow::Result<Argon2<'static>> {
        let params = Params::new(self.argon2_memory_kib, self.argon2_iterations, self.argon2_parallelism, None)
            .context("argon2 parameters")?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

#[derive(clap::Args, Debug)]
pub struct LimitsArgs {
    #[command(flatten)]
    argon2: Argon2Args,
    /// argon2 verifies to time.
    #[arg(long, default_value_t = 30)]
    verifies: u32,
    /// Seconds to spend per JWS algorithm.
    #[arg(long, default_value_t = 1.0)]
    sign_seconds: f64,
}

pub fn run(args: LimitsArgs) -> anyhow::Result<()> {
    let argon = args.argon2.argon2()?;
    let phc = argon.hash_password(b"correct horse battery staple bench").map_err(anyhow::Error::new)?.to_string();
    let parsed = PasswordHash::new(&phc).map_err(anyhow::Error::new)?;
    let _ = argon.verify_password(b"warm-up", &parsed);
    let start = thread_time();
    for i in 0..args.verifies {
        let guess: &[u8] = if i % 2 == 0 { b"correct horse battery staple bench" } else { b"wrong" };
        let _ = argon.verify_password(guess, &parsed);
    }
    let verify = (thread_time() - start) / args.verifies;

    let mut sign_us = serde_json::Map::new();
    for (name, signer) in signers()? {
        let per = time_signing(signer.as_ref(), Duration::from_secs_f64(args.sign_seconds))?;
        sign_us.insert(name.to_string(), json!(per.as_secs_f64() * 1e6));
    }
    println!("{}", json!({ "argon2_verify_ms": verify.as_secs_f64() * 1e3, "sign_us": sign_us }));
    Ok(())
}

pub fn signers() -> anyhow::Result<Vec<(&'static str, Box<dyn JwsSigner>)>> {
    let rs = RS256.generate_key_pair(2048)?;
    let es = ES256.generate_key_pair()?;
    let ed = EdDSA.generate_key_pair(EdCurve::Ed25519)?;
    Ok(vec![
        ("RS256", Box::new(RS256.signer_from_der(rs.to_der_private_key())?)),
        ("ES256", Box::new(ES256.signer_from_der(es.to_der_private_key())?)),
        ("EdDSA", Box::new(EdDSA.signer_from_der(ed.to_der_private_key())?)),
    ])
}

/// A payload like Portcullis's client_credentials access token (RFC 9068).
pub fn access_token_payload(n: u64) -> anyhow::Result<JwtPayload> {
    let now = std::time::SystemTime::now();
    let mut p = JwtPayload::new();
    p.set_issuer("http://127.0.0.1:5000");
    p.set_subject("bench-service");
    p.set_audience(vec!["http://127.0.0.1:5000"]);
    p.set_issued_at(&now);
    p.set_expires_at(&(now + Duration::from_secs(600)));
    p.set_jwt_id(format!("0193b5c0-7a2e-7c1d-9f00-{n:012x}"));
    p.set_claim("client_id", Some(json!("bench-service")))?;
    p.set_claim("scope", Some(json!("api:read")))?;
    Ok(p)
}

pub fn sign(signer: &dyn JwsSigner, n: u64) -> anyhow::Result<String> {
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    header.set_key_id("bench-key");
    Ok(jwt::encode_with_signer(&access_token_payload(n)?, &header, signer)?)
}

fn time_signing(signer: &dyn JwsSigner, budget: Duration) -> anyhow::Result<Duration> {
    sign(signer, 0)?;
    let start = thread_time();
    let mut n = 0u32;
    while thread_time() - start < budget {
        for _ in 0..10 {
            std::hint::black_box(sign(signer, n as u64)?);
            n += 1;
        }
    }
    Ok((thread_time() - start) / n)
}
