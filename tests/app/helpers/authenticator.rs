//! A software passkey authenticator for the tests: an ES256 (P-256) key, written over the
//! WebAuthn spec's own structures (client data JSON, authenticator data, a CBOR attestation
//! object with `fmt: none`, a COSE public key), independent of the server's library. Each
//! field the server checks can be bent: the origin, the RP ID, user verification, the
//! counter, the user handle.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Private;
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How one ceremony answer is made.
#[derive(Clone)]
pub struct Answer {
    pub origin: String,
    pub rp_id: String,
    pub user_verified: bool,
}

pub struct SoftPasskey {
    key: EcKey<Private>,
    pub credential_id: Vec<u8>,
    /// The user handle the authenticator stored at registration.
    pub user_handle: Vec<u8>,
    /// The next signature counter (0: this authenticator keeps none).
    pub counter: u32,
}

impl SoftPasskey {
    pub fn new() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = EcKey::generate(&group).unwrap();
        Self { key, credential_id: portcullis::secret::random_bytes::<32>().to_vec(), user_handle: vec![], counter: 1 }
    }

    pub fn credential_id_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    /// The answer to `navigator.credentials.create(options)`.
    pub fn register(&mut self, options: &Value, how: &Answer) -> Value {
        let pk = &options["publicKey"];
        self.user_handle = URL_SAFE_NO_PAD.decode(pk["user"]["id"].as_str().unwrap()).unwrap();
        let client_data = client_data("webauthn.create", pk["challenge"].as_str().unwrap(), &how.origin);
        let mut auth_data = self.auth_data(&how.rp_id, how.user_verified, 0x40);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let attestation = Cbor::Map(BTreeMap::from([
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));
        json!({
            "id": self.credential_id_b64(),
            "rawId": self.credential_id_b64(),
            "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(serde_cbor_2::to_vec(&attestation).unwrap()),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "transports": ["internal"],
            },
        })
    }

    /// The answer to `navigator.credentials.get(options)`, signed, with the stored user handle.
    pub fn assert(&mut self, options: &Value, how: &Answer) -> Value {
        // Like a real authenticator: the counter grows with each signature.
        if self.counter > 0 {
            self.counter += 1;
        }
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        let client_data = client_data("webauthn.get", challenge, &how.origin);
        let auth_data = self.auth_data(&how.rp_id, how.user_verified, 0);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let digest = Sha256::digest(&signed);
        let signature = EcdsaSig::sign(&digest, &self.key).unwrap().to_der().unwrap();
        json!({
            "id": self.credential_id_b64(),
            "rawId": self.credential_id_b64(),
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature),
                "userHandle": URL_SAFE_NO_PAD.encode(&self.user_handle),
            },
        })
    }

    /// rpIdHash, flags (UP, UV when asked, plus `extra`), signCount.
    fn auth_data(&self, rp_id: &str, user_verified: bool, extra: u8) -> Vec<u8> {
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(0x01 | if user_verified { 0x04 } else { 0 } | extra);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    fn cose_key(&self) -> Vec<u8> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let (mut x, mut y) = (openssl::bn::BigNum::new().unwrap(), openssl::bn::BigNum::new().unwrap());
        self.key.public_key().affine_coordinates(&group, &mut x, &mut y, &mut ctx).unwrap();
        let key = Cbor::Map(BTreeMap::from([
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(1)),
            (Cbor::Integer(-2), Cbor::Bytes(x.to_vec_padded(32).unwrap())),
            (Cbor::Integer(-3), Cbor::Bytes(y.to_vec_padded(32).unwrap())),
        ]));
        serde_cbor_2::to_vec(&key).unwrap()
    }
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false }))
        .unwrap()
}
