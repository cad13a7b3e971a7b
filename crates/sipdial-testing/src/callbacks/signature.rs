//! Signing a callback: the `Authorization: Bearer` JWT a receiver verifies, over the
//! exact body it was sent with.

use serde::Serialize;
use sipdial_core::Timestamp;

/// The claims of a signed callback: when it was signed, how long it is good for, and the
/// SHA-256 of the exact body, so a receiver can tell the body was not swapped.
#[derive(Serialize)]
struct CallbackClaims {
    iat: u64,
    exp: u64,
    jti: String,
    iss: &'static str,
    payload_hash: String,
}

/// Lifetime of a callback signature.
pub(crate) const SIGNATURE_TTL_SECS: u64 = 300;

/// `Authorization: Bearer` token for `body`: HS256 under `secret` with `iat`, `exp`,
/// `jti` and `payload_hash` (lowercase hex SHA-256 of the body).
pub(crate) fn sign(secret: &str, body: &[u8]) -> Result<String, String> {
    let iat = Timestamp::now().as_secs();
    let claims = CallbackClaims {
        iat,
        exp: iat + SIGNATURE_TTL_SECS,
        jti: uuid::Uuid::new_v4().to_string(),
        iss: "sipdial-testing",
        payload_hash: sha256_hex(body),
    };
    sipdial_core::jwt::sign_hs256(&claims, secret.as_bytes()).map_err(|e| e.to_string())
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn signature_is_hs256_with_hash_and_lifetime() {
        use base64::Engine as _;
        let jwt = sign("whsec", b"{\"a\":1}").unwrap();
        let mut parts = jwt.split('.');
        let header = parts.next().unwrap();
        let claims = parts.next().unwrap();
        let decode = |s: &str| -> serde_json::Value {
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(decode(header)["alg"], "HS256");
        let c = decode(claims);
        assert_eq!(c["payload_hash"], sha256_hex(b"{\"a\":1}"));
        assert_eq!(
            c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
            SIGNATURE_TTL_SECS
        );
    }
}
