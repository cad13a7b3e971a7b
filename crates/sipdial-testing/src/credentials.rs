//! The credentials a fake project accepts, and the fixed test credentials.

use jsonwebtoken::DecodingKey;

/// The API key of the default fake project (the key in the SDKs' own test suites).
pub const TEST_API_KEY: &str = "123456";
/// The API secret of the default fake project (the secret of docs/platform-api.md §9).
pub const TEST_API_SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";
/// The application id of the default fake Vonage application.
pub const TEST_APPLICATION_ID: &str = "5b1c7a6e-3f2d-4e8a-9c1b-0d2e4f6a8b10";
/// The test application's RSA private key (PKCS#8 PEM). It protects nothing: it is
/// public, in this crate, so tests can sign `Authorization: Bearer` JWTs.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../keys/test-application-private.pem");
/// The test application's RSA public key (SPKI PEM), which the fake verifies RS256 JWTs with.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../keys/test-application-public.pem");

/// A Vonage application: its id and the key its JWTs verify with.
#[derive(Clone)]
pub(crate) struct Application {
    pub(crate) id: String,
    pub(crate) key: DecodingKey,
}

/// What one fake project accepts: the classic key/secret pair and, optionally, a Vonage
/// application standing for the same project.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) api_key: String,
    pub(crate) api_secret: String,
    pub(crate) application: Option<Application>,
}

impl Credentials {
    pub(crate) fn secret_key(&self) -> DecodingKey {
        DecodingKey::from_secret(self.api_secret.as_bytes())
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .field(
                "application_id",
                &self.application.as_ref().map(|a| a.id.as_str()),
            )
            .finish()
    }
}
