//! The in-memory call store at 1k, 10k and 100k calls (sessions of 10 calls each): every
//! operation a request makes must cost the same whatever the total, because each one is
//! answered from an index (a session's calls through the session, never a scan).
//!
//! `store/active_call_count_one_session/N` is the exception on purpose: one session
//! holding all N calls, as under a load test that dials one session without end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sipdial_core::api::{CallState, CallStore, InMemoryCallStore};
use sipdial_core::{CallId, Room, Timestamp};

mod support;

use support::{CALLS_PER_SESSION, SIZES, filled_store, now, record, session};

/// Sessions that absorb the calls inserted by the insert benchmark.
const CHURN_SESSIONS: usize = 16;

fn store_ops(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    for total in SIZES {
        let (store, first) = filled_store(total);
        let some_call = CallId::new(format!("call-{:09}", total / 2)).expect("id");
        group.bench_with_input(BenchmarkId::new("session_calls", total), &total, |b, _| {
            b.iter(|| now(store.session_calls(black_box(&first), false)).expect("list"));
        });
        group.bench_with_input(
            BenchmarkId::new("active_call_count", total),
            &total,
            |b, _| b.iter(|| now(store.active_call_count(black_box(&first))).expect("count")),
        );
        group.bench_with_input(BenchmarkId::new("call_by_id", total), &total, |b, _| {
            b.iter(|| now(store.call(black_box(&some_call))).expect("get"));
        });
        group.bench_with_input(
            BenchmarkId::new("is_known_session", total),
            &total,
            |b, _| {
                b.iter(|| now(store.is_known_session(black_box(&first))).expect("known"));
            },
        );
        group.bench_with_input(BenchmarkId::new("update_state", total), &total, |b, _| {
            b.iter(|| {
                now(store.update_state(
                    black_box(&some_call),
                    CallState::Ringing,
                    Timestamp::from_millis(1),
                ))
                .expect("update")
            });
        });
        insert(&mut group, &store, total);
    }
    group.finish();
}

/// Inserts new calls into churn sessions (timed), then ends them (untimed) so the
/// per-session cap on ended calls keeps the store at its size.
fn insert(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    store: &InMemoryCallStore,
    total: usize,
) {
    let churn: Vec<_> = (0..CHURN_SESSIONS)
        .map(|i| {
            let id = session(1_000_000_000 - 1 - i);
            let room = Room::new(format!("churn-{i}")).expect("room");
            now(store.insert_room_session(&room, &id)).expect("room");
            id
        })
        .collect();
    let mut next = 10 * total;
    group.bench_with_input(BenchmarkId::new("insert_call", total), &total, |b, _| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CALLS_PER_SESSION as u64 * 10);
                left -= n;
                let records: Vec<_> = (0..n as usize)
                    .map(|k| record(next + k, &churn[(next + k) % CHURN_SESSIONS]))
                    .collect();
                let ids: Vec<_> = records.iter().map(|r| r.id.clone()).collect();
                next += n as usize;
                let started = Instant::now();
                for r in records {
                    now(store.insert_call(r)).expect("insert");
                }
                spent += started.elapsed();
                for id in ids {
                    now(store.update_state(&id, CallState::Ended, Timestamp::from_millis(2)))
                        .expect("end");
                }
            }
            spent
        });
    });
}

/// One session holding every call: what a dial-only load test into one session builds.
fn one_big_session(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/active_call_count_one_session");
    for total in SIZES {
        let store = InMemoryCallStore::new();
        let s = session(0);
        now(store.insert_room_session(&Room::new("big").expect("room"), &s)).expect("room");
        for i in 0..total {
            now(store.insert_call(record(i, &s))).expect("insert");
        }
        group.bench_with_input(BenchmarkId::from_parameter(total), &total, |b, _| {
            b.iter(|| now(store.active_call_count(black_box(&s))).expect("count"));
        });
    }
    group.finish();
}

criterion_group!(benches, store_ops, one_big_session);
criterion_main!(benches);
