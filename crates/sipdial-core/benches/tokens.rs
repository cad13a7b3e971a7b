//! Client-token minting in process: the claims + HS256 signature every dialer that
//! signs with a project secret shares (`sipdial_core::jwt`), and the `FakeDialer`'s
//! `issue_token` on top of it. The Node SDK's `generateToken` takes about 530-630 µs
//! on the reference machine; the load script compares the two side by side.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sipdial_core::fake::FakeDialer;
use sipdial_core::jwt::ClientTokenClaims;
use sipdial_core::session_format::{self, SessionIdParts};
use sipdial_core::{Role, SessionOptions, SipDialer, TokenOptions};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef01234567";

fn moderator() -> TokenOptions {
    TokenOptions {
        role: Role::Moderator,
        ..TokenOptions::default()
    }
}

fn tokens(c: &mut Criterion) {
    let session = session_format::encode(&SessionIdParts {
        api_key: "47000001".to_owned(),
        location: String::new(),
        create_time: "Mon Jan 01 00:00:00 PST 2024".to_owned(),
        random: "0.123456789".to_owned(),
    })
    .expect("a valid session id");
    let options = moderator();
    let mut group = c.benchmark_group("token");
    group.bench_function("hs256_claims_and_sign", |b| {
        b.iter(|| {
            ClientTokenClaims::new(
                "47000001",
                black_box(&session),
                &options,
                1_700_000_000,
                0.5,
            )
            .sign_hs256(SECRET)
            .expect("signs")
        });
    });
    // The fake records every call, so it is rebuilt every 10,000 tokens (untimed) to
    // keep its log from growing through the run.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    group.bench_function("fake_dialer_issue_token", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(10_000);
                left -= n;
                let fake = FakeDialer::new();
                let session = rt
                    .block_on(fake.create_session(SessionOptions::default()))
                    .expect("session");
                let started = Instant::now();
                for _ in 0..n {
                    black_box(fake.issue_token(&session, moderator()).expect("token"));
                }
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
