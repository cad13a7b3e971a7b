//! What the real dialer signs: client tokens (HS256 for projects, RS256 for Vonage
//! applications) and the fresh REST JWT of every platform request (`X-OPENTOK-AUTH`
//! HS256, or `Authorization: Bearer` RS256), each including its claims, random `jti` or
//! nonce and base64 work.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sipdial_core::session_format::{self, SessionIdParts};
use sipdial_core::{Role, SessionId, SipDialer as _, TokenOptions};
use sipdial_opentok::{Credentials, OpenTokDialer, RestClaims};
use sipdial_testing::{TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM};

const NOW: u64 = 1_700_000_000;

fn session_of(owner: &str) -> SessionId {
    session_format::encode(&SessionIdParts {
        api_key: owner.to_owned(),
        location: String::new(),
        create_time: "Mon Jan 01 00:00:00 PST 2024".to_owned(),
        random: "0.123456789".to_owned(),
    })
    .expect("a valid session id")
}

fn dialer(credentials: Credentials) -> OpenTokDialer {
    OpenTokDialer::builder(credentials)
        .base_url("http://127.0.0.1:9")
        .build()
        .expect("dialer")
}

fn signing(c: &mut Criterion) {
    let project = Credentials::project(TEST_API_KEY, TEST_API_SECRET);
    let application =
        Credentials::application(TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM).expect("key");
    let moderator = TokenOptions {
        role: Role::Moderator,
        ..TokenOptions::default()
    };
    let mut group = c.benchmark_group("signing");

    let d = dialer(project.clone());
    let s = session_of(TEST_API_KEY);
    group.bench_function("client_token_hs256", |b| {
        b.iter(|| {
            d.issue_token(black_box(&s), moderator.clone())
                .expect("token")
        });
    });
    let d = dialer(application.clone());
    let s = session_of(TEST_APPLICATION_ID);
    group.bench_function("client_token_rs256", |b| {
        b.iter(|| {
            d.issue_token(black_box(&s), moderator.clone())
                .expect("token")
        });
    });
    group.bench_function("rest_jwt_hs256", |b| {
        b.iter(|| {
            let claims = RestClaims::new(&project, NOW, uuid::Uuid::new_v4().to_string());
            project.sign_rest_jwt(black_box(&claims)).expect("jwt")
        });
    });
    group.bench_function("rest_jwt_rs256", |b| {
        b.iter(|| {
            let claims = RestClaims::new(&application, NOW, uuid::Uuid::new_v4().to_string());
            application.sign_rest_jwt(black_box(&claims)).expect("jwt")
        });
    });
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
