//! Configuration: environment variables (read through a lookup, never the process
//! environment), builder checks and redacting `Debug`.

use std::collections::HashMap;
use std::time::Duration;

use sipdial_opentok::{
    ConfigError, CredentialKind, Credentials, OPENTOK_API_URL, OpenTokDialer, OpenTokDialerBuilder,
    TokenFormat, VONAGE_API_URL,
};
use sipdial_testing::{
    TEST_API_SECRET, TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM, TEST_PUBLIC_KEY_PEM,
};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn creds(pairs: &[(&str, &str)]) -> Result<Option<Credentials>, ConfigError> {
    Credentials::from_env_with(env(pairs))
}

fn missing(name: &str) -> impl Fn(&ConfigError) -> bool + '_ {
    move |e| matches!(e, ConfigError::MissingVariable { name: n, .. } if *n == name)
}

fn invalid(name: &str) -> impl Fn(&ConfigError) -> bool + '_ {
    move |e| matches!(e, ConfigError::InvalidVariable { name: n, .. } if *n == name)
}

/// A private key file in the temp dir, removed on drop.
struct KeyFile(std::path::PathBuf);

impl KeyFile {
    fn new(contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("sipdial-key-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn no_variables_means_demo_mode() {
    assert!(creds(&[]).unwrap().is_none());
    // Blank values count as unset (`.env` templates leave them in place).
    assert!(
        creds(&[("OPENTOK_API_KEY", ""), ("OPENTOK_API_SECRET", "  ")])
            .unwrap()
            .is_none()
    );
}

#[test]
fn project_variables() {
    let c = creds(&[
        ("OPENTOK_API_KEY", "123456"),
        ("OPENTOK_API_SECRET", TEST_API_SECRET),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(c.kind(), CredentialKind::Project);
    assert_eq!(c.id(), "123456");
    assert_eq!(c.default_base_url(), OPENTOK_API_URL);

    let e = creds(&[("OPENTOK_API_KEY", "123456")]).unwrap_err();
    assert!(missing("OPENTOK_API_SECRET")(&e), "{e:?}");
    assert!(e.to_string().contains("OPENTOK_API_SECRET"), "{e}");
    let e = creds(&[("OPENTOK_API_SECRET", "s")]).unwrap_err();
    assert!(missing("OPENTOK_API_KEY")(&e), "{e:?}");
    let e = creds(&[("OPENTOK_API_KEY", "12 34/56"), ("OPENTOK_API_SECRET", "s")]).unwrap_err();
    assert!(invalid("OPENTOK_API_KEY")(&e), "{e:?}");
    let e = creds(&[
        ("OPENTOK_API_KEY", "123456"),
        ("OPENTOK_API_SECRET", TEST_PRIVATE_KEY_PEM),
    ])
    .unwrap_err();
    assert!(invalid("OPENTOK_API_SECRET")(&e), "{e:?}");
    assert!(!e.to_string().contains("PRIVATE KEY-----\nMII"), "{e}");
}

#[test]
fn application_variables() {
    let c = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY", TEST_PRIVATE_KEY_PEM),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(c.kind(), CredentialKind::Application);
    assert_eq!(c.id(), TEST_APPLICATION_ID);
    assert_eq!(c.default_base_url(), VONAGE_API_URL);

    // A PEM flattened to one line with literal \n, as .env files carry it.
    let flat = TEST_PRIVATE_KEY_PEM.trim().replace('\n', "\\n");
    assert!(
        creds(&[
            ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
            ("VONAGE_PRIVATE_KEY", &flat),
        ])
        .unwrap()
        .is_some()
    );

    let file = KeyFile::new(TEST_PRIVATE_KEY_PEM);
    let c = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY_PATH", file.0.to_str().unwrap()),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(c.kind(), CredentialKind::Application);

    let e = creds(&[("VONAGE_PRIVATE_KEY", TEST_PRIVATE_KEY_PEM)]).unwrap_err();
    assert!(missing("VONAGE_APPLICATION_ID")(&e), "{e:?}");
    let e = creds(&[("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID)]).unwrap_err();
    assert!(missing("VONAGE_PRIVATE_KEY")(&e), "{e:?}");
    assert!(e.to_string().contains("VONAGE_PRIVATE_KEY_PATH"), "{e}");
    let e = creds(&[
        ("VONAGE_APPLICATION_ID", "123456"),
        ("VONAGE_PRIVATE_KEY", TEST_PRIVATE_KEY_PEM),
    ])
    .unwrap_err();
    assert!(invalid("VONAGE_APPLICATION_ID")(&e), "{e:?}");
    let e = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY", "not a key"),
    ])
    .unwrap_err();
    assert!(invalid("VONAGE_PRIVATE_KEY")(&e), "{e:?}");
    // A public key in the private-key slot is refused at start-up.
    let e = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY", TEST_PUBLIC_KEY_PEM),
    ])
    .unwrap_err();
    assert!(invalid("VONAGE_PRIVATE_KEY")(&e), "{e:?}");
    // A truncated key: the body is cut in half.
    let truncated: String = TEST_PRIVATE_KEY_PEM
        .lines()
        .take(10)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n-----END PRIVATE KEY-----\n";
    let e = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY", &truncated),
    ])
    .unwrap_err();
    assert!(invalid("VONAGE_PRIVATE_KEY")(&e), "{e:?}");
    let e = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY_PATH", "/nonexistent/sipdial/key.pem"),
    ])
    .unwrap_err();
    assert!(invalid("VONAGE_PRIVATE_KEY_PATH")(&e), "{e:?}");
    assert!(
        e.to_string().contains("/nonexistent/sipdial/key.pem"),
        "{e}"
    );
    let e = creds(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY", TEST_PRIVATE_KEY_PEM),
        ("VONAGE_PRIVATE_KEY_PATH", "/x.pem"),
    ])
    .unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::ConflictingVariables {
                first: "VONAGE_PRIVATE_KEY",
                second: "VONAGE_PRIVATE_KEY_PATH",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn both_kinds_at_once_is_an_error() {
    let e = creds(&[
        ("OPENTOK_API_KEY", "123456"),
        ("OPENTOK_API_SECRET", "s"),
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
    ])
    .unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::ConflictingVariables {
                first: "OPENTOK_API_KEY",
                second: "VONAGE_APPLICATION_ID",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn errors_never_echo_a_secret_or_key() {
    let secret = "super-secret-value-1234";
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("OPENTOK_API_KEY", "bad key!"),
            ("OPENTOK_API_SECRET", secret),
        ],
        vec![("OPENTOK_API_SECRET", secret)],
        vec![
            ("VONAGE_APPLICATION_ID", "x"),
            ("VONAGE_PRIVATE_KEY", TEST_PRIVATE_KEY_PEM),
        ],
        vec![
            ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
            ("VONAGE_PRIVATE_KEY", secret),
        ],
    ];
    let key_body = TEST_PRIVATE_KEY_PEM.lines().nth(1).unwrap();
    for pairs in cases {
        let e = creds(&pairs).unwrap_err();
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(secret) && !text.contains(key_body), "{text}");
        }
    }
}

#[test]
fn dialer_from_env_reads_the_base_url_and_requires_credentials() {
    let b = OpenTokDialerBuilder::from_env_with(env(&[
        ("OPENTOK_API_KEY", "123456"),
        ("OPENTOK_API_SECRET", "s"),
        ("OPENTOK_API_URL", "http://127.0.0.1:9/"),
    ]))
    .unwrap();
    let d = b.build().unwrap();
    assert_eq!(d.base_url(), "http://127.0.0.1:9");

    let d = OpenTokDialerBuilder::from_env_with(env(&[
        ("VONAGE_APPLICATION_ID", TEST_APPLICATION_ID),
        ("VONAGE_PRIVATE_KEY", TEST_PRIVATE_KEY_PEM),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(d.base_url(), VONAGE_API_URL);

    let e = OpenTokDialerBuilder::from_env_with(env(&[])).unwrap_err();
    assert!(missing("OPENTOK_API_KEY")(&e), "{e:?}");
    assert!(e.to_string().contains("VONAGE_APPLICATION_ID"), "{e}");
    for url in [
        "ftp://x",
        "not a url",
        "http://user:pw@host",
        "https://h/?q=1",
    ] {
        let e = OpenTokDialerBuilder::from_env_with(env(&[
            ("OPENTOK_API_KEY", "123456"),
            ("OPENTOK_API_SECRET", "s"),
            ("OPENTOK_API_URL", url),
        ]))
        .unwrap_err();
        assert!(invalid("OPENTOK_API_URL")(&e), "{url}: {e:?}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
}

#[test]
fn builder_checks_every_setting() {
    let ok = || OpenTokDialer::builder(Credentials::project("123456", "s"));
    let d = ok().build().unwrap();
    assert_eq!(d.base_url(), OPENTOK_API_URL);
    assert!(matches!(
        OpenTokDialer::builder(Credentials::project("", "s")).build(),
        Err(ConfigError::InvalidCredential {
            what: "API key",
            ..
        })
    ));
    assert!(matches!(
        OpenTokDialer::builder(Credentials::project("1", "")).build(),
        Err(ConfigError::InvalidCredential {
            what: "API secret",
            ..
        })
    ));
    assert!(matches!(
        ok().timeout(Duration::ZERO).build(),
        Err(ConfigError::InvalidSetting {
            setting: "timeout",
            ..
        })
    ));
    assert!(matches!(
        ok().connect_timeout(Duration::ZERO).build(),
        Err(ConfigError::InvalidSetting {
            setting: "connect_timeout",
            ..
        })
    ));
    assert!(matches!(
        ok().user_agent("bad\nagent").build(),
        Err(ConfigError::InvalidSetting {
            setting: "user_agent",
            ..
        })
    ));
    assert!(matches!(
        ok().base_url("https://user:pass@api.example.com").build(),
        Err(ConfigError::InvalidBaseUrl { .. })
    ));
    assert_eq!(
        ok().base_url("https://proxy.example.com/opentok/")
            .build()
            .unwrap()
            .base_url(),
        "https://proxy.example.com/opentok"
    );
    let app = Credentials::application(TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM).unwrap();
    assert!(matches!(
        OpenTokDialer::builder(app.clone())
            .token_format(TokenFormat::LegacyT1)
            .build(),
        Err(ConfigError::InvalidSetting {
            setting: "token_format",
            ..
        })
    ));
    assert_eq!(
        OpenTokDialer::builder(app).build().unwrap().base_url(),
        VONAGE_API_URL
    );
    assert!(matches!(
        Credentials::application_from_file(TEST_APPLICATION_ID, "/nonexistent/key.pem"),
        Err(ConfigError::PrivateKeyFile { .. })
    ));
    let file = KeyFile::new(TEST_PRIVATE_KEY_PEM);
    assert!(Credentials::application_from_file(TEST_APPLICATION_ID, &file.0).is_ok());
}

#[test]
fn debug_output_redacts_every_secret() {
    let secret = "my-api-secret-value";
    let project = Credentials::project("123456", secret);
    let app = Credentials::application(TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM).unwrap();
    let key_body = TEST_PRIVATE_KEY_PEM.lines().nth(1).unwrap();
    let texts = [
        format!("{project:?}"),
        format!("{app:?}"),
        format!("{:?}", OpenTokDialer::builder(project.clone())),
        format!("{:?}", OpenTokDialer::builder(project).build().unwrap()),
        format!("{:?}", OpenTokDialer::builder(app.clone()).build().unwrap()),
        format!("{:#?}", OpenTokDialer::builder(app).build().unwrap()),
    ];
    for t in &texts {
        assert!(!t.contains(secret) && !t.contains(key_body), "{t}");
        assert!(t.contains("REDACTED"), "{t}");
    }
    assert!(texts[0].contains("123456"));
    assert!(texts[1].contains(TEST_APPLICATION_ID));
}
