'use strict';
// Reads OUT/results.jsonl and OUT/env.txt written by bench/run.sh and prints the
// Markdown report: medians over rounds per scenario, target and connection count, the
// ratios the issue sets as targets (PASS/MISS), memory, token minting and the scale test.
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const redisOnly = process.argv.includes('--redis-only');
if (!dir) { console.error('usage: node summarize.js OUTDIR [--redis-only]'); process.exit(2); }
const rows = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const env = fs.existsSync(path.join(dir, 'env.txt')) ? fs.readFileSync(path.join(dir, 'env.txt'), 'utf8').trim() : '';

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (us) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : 'n/a');
const mib = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : 'n/a');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const errs = (r) => r.err_connect + r.err_read + r.err_write + r.err_timeout + r.err_status;

const names = {
  axum: 'sipdial axum-demo', actix: 'sipdial actix-demo', node: 'Node reference (Express + opentok SDK)',
  ceiling_token: 'ceiling: bare hyper', ceiling_dial: 'ceiling: bare hyper + reqwest',
};
const scenarioNames = { page: 'GET / (page)', token: 'POST /sip/token', dial: 'POST /sip/dial (Node: /sip/start)' };

const wrk = rows.filter((r) => r.kind === 'wrk');
const key = (s, t, c) => `${s}|${t}|${c}`;
const groups = new Map();
for (const r of wrk) {
  const k = key(r.scenario, r.target, r.conns);
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}
const stat = (s, t, c) => {
  const g = groups.get(key(s, t, c)) || [];
  return {
    n: g.length,
    rps: median(g.map((r) => r.rps)),
    min: Math.min(...g.map((r) => r.rps)),
    max: Math.max(...g.map((r) => r.rps)),
    p50: median(g.map((r) => r.lat_p50_us)),
    p99: median(g.map((r) => r.lat_p99_us)),
    errors: g.reduce((a, r) => a + errs(r), 0),
    requests: g.reduce((a, r) => a + r.requests, 0),
    cpu: median(g.map((r) => (r.app_cpu_s * 1e6) / Math.max(1, r.requests))),
    load: median(g.map((r) => r.load1)),
  };
};
const conns = [...new Set(wrk.map((r) => r.conns))].sort((a, b) => a - b);
const rounds = new Set(wrk.map((r) => r.round)).size;

const out = [];
out.push('# sipdial load benchmark results');
out.push('');
out.push('```');
out.push(env);
out.push('```');
out.push('');
out.push(`Figures are medians over ${rounds} round(s); every round starts a fresh fake platform and fresh targets and runs each load on every target back to back (order rotated per round). "errors" sums socket errors and non-2xx answers over all rounds. "app CPU" is the target process's user+system CPU per request (the fake platform's CPU is not included).`);
out.push('');
out.push('## Throughput and latency');
out.push('');
out.push('| scenario | conns | target | req/s | req/s range | p50 ms | p99 ms | errors / requests | app CPU µs/req | load1 |');
out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const s of ['page', 'token', 'dial']) {
  for (const c of conns) {
    for (const t of ['axum', 'actix', 'node', 'ceiling_token', 'ceiling_dial']) {
      const x = stat(s, t, c);
      if (!x.n) continue;
      out.push(`| ${scenarioNames[s]} | ${c} | ${names[t]} | ${fmt0(x.rps)} | ${fmt0(x.min)}-${fmt0(x.max)} | ${ms(x.p50)} | ${ms(x.p99)} | ${fmt0(x.errors)} / ${fmt0(x.requests)} | ${x.cpu.toFixed(0)} | ${x.load.toFixed(2)} |`);
    }
  }
}

// Targets
const checks = [];
const check = (what, value, op, goal, fmtv = ratio) => {
  const ok = Number.isFinite(value) && (op === '>=' ? value >= goal : value <= goal);
  checks.push(`| ${what} | ${fmtv(value)} | ${op} ${fmtv(goal)} | ${ok ? 'PASS' : '**MISS**'} |`);
};
for (const c of conns) {
  for (const t of ['axum', 'actix']) {
    const d = stat('dial', t, c), nd = stat('dial', 'node', c), cd = stat('dial', 'ceiling_dial', c);
    const p = stat('page', t, c), np = stat('page', 'node', c);
    const k = stat('token', t, c), ck = stat('token', 'ceiling_token', c);
    check(`${t} dial req/s ÷ Node dial req/s (c=${c})`, d.rps / nd.rps, '>=', 10);
    check(`Node dial p99 ÷ ${t} dial p99 (c=${c})`, nd.p99 / d.p99, '>=', 10);
    check(`${t} dial req/s ÷ ceiling (hyper+reqwest) (c=${c})`, d.rps / cd.rps, '>=', 0.8);
    check(`${t} GET / req/s ÷ Node GET / (c=${c})`, p.rps / np.rps, '>=', 5);
    check(`${t} token req/s ÷ Node GET / (c=${c})`, k.rps / np.rps, '>=', 20);
    check(`${t} token req/s ÷ ceiling (bare hyper) (c=${c})`, k.rps / ck.rps, '>=', 0.8);
    check(`${t} dial errors (c=${c})`, d.errors, '<=', 0, fmt0);
  }
}
const mem = rows.filter((r) => r.kind === 'mem');
const memOf = (t, what) => median(mem.filter((r) => r.target === t && r.what === what).map((r) => r.value));
for (const t of ['axum', 'actix']) {
  check(`${t} peak RSS ÷ Node peak RSS (VmHWM after all loads)`, memOf(t, 'hwm_kb') / memOf('node', 'hwm_kb'), '<=', 0.2);
}
const mint = rows.filter((r) => r.kind === 'mint');
const mintOf = (t) => median(mint.filter((r) => r.target === t).map((r) => r.calls_per_s));
check('in-process token minting ÷ Node generateToken', mintOf('sipdial') / mintOf('node'), '>=', 100);
const scale = rows.filter((r) => r.kind === 'scale');
for (const t of ['axum', 'actix']) {
  const s = scale.filter((r) => r.target === t);
  if (!s.length) continue;
  check(`${t} scale: failed dials of ${s.reduce((a, r) => a + r.requests, 0)} (${s[0].requests} in flight at once)`, s.reduce((a, r) => a + r.errors, 0), '<=', 0, fmt0);
}

out.push('');
out.push('## Targets');
out.push('');
out.push('| target | measured | required | |');
out.push('|---|---:|---:|---|');
out.push(...checks);

out.push('');
out.push('## Memory (MiB, medians over rounds)');
out.push('');
out.push('| target | idle RSS | peak RSS before the dial load | peak RSS after all loads (VmHWM) | RSS at the end |');
out.push('|---|---:|---:|---:|---:|');
for (const t of ['axum', 'actix', 'node', 'ceiling_token', 'ceiling_dial']) {
  out.push(`| ${names[t]} | ${mib(memOf(t, 'idle_rss_kb'))} | ${mib(memOf(t, 'hwm_before_dial_kb'))} | ${mib(memOf(t, 'hwm_kb'))} | ${mib(memOf(t, 'end_rss_kb'))} |`);
}

out.push('');
out.push('## Token minting in process (one thread)');
out.push('');
out.push('| minting | tokens/s | µs per token |');
out.push('|---|---:|---:|');
for (const r of mint) {
  out.push(`| ${r.target === 'node' ? "Node SDK generateToken(sessionId, {role:'moderator'})" : 'sipdial OpenTokDialer::issue_token (moderator, HS256)'} | ${fmt0(r.calls_per_s)} | ${r.us_per_call} |`);
}

out.push('');
out.push('## Scale: concurrent in-flight dials (the fake holds each dial)');
out.push('');
out.push('| target | round | dials at once | fake delay ms | ok | errors | wall ms | p50 ms | p99 ms | max ms | RSS after MiB | peak RSS MiB |');
out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of scale) {
  out.push(`| ${names[r.target]} | ${r.round} | ${r.requests} | ${r.delay_ms} | ${r.ok} | ${r.errors}${r.error_statuses.length ? ` (${r.error_statuses.join(',')})` : ''} | ${r.wall_ms} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} | ${mib(r.target_rss_kib)} | ${mib(r.target_hwm_kib)} |`);
}
if (redisOnly) out.length = 0;
out.push(...redisSection());
console.log(out.join('\n'));

// The Redis rows (bench/run.sh, docs/scale-out.md): throughput, and the CPU each
// process spent per request (per dial for the spread rows, each dial with its hang-up),
// which a loaded 2-core machine moves far less than req/s.
function redisSection() {
  const r = rows.filter((x) => x.kind === 'redis');
  if (!r.length) return [];
  const o = [];
  const nproc = Number((env.match(/^nproc=(\d+)/m) || [])[1]) || NaN;
  const rconns = [...new Set(r.map((x) => x.conns))].sort((a, b) => a - b);
  const pick = (s, t, c) => r.filter((x) => x.scenario === s && x.target === t && x.conns === c);
  // Units of work of a row: dials for the spread rows (each with its hang-up), else requests.
  const units = (x) => (x.scenario === 'spread' ? x.dials : x.requests);
  const perUnit = (g, k) => median(g.map((x) => (x[k] * 1e6) / Math.max(1, units(x))));
  const rate = (g) => median(g.map((x) => units(x) / x.duration_s || x.rps));
  const errsOf = (g) => g.reduce((a, x) => a + (x.err_connect + x.err_read + x.err_write + x.err_timeout + x.err_status || 0) + (x.other_answers || 0), 0);
  const scen = { token: 'POST /sip/token, one session', spread: `dial + hang-up, spread over the sessions (per dial)`, dial: 'POST /sip/dial, one session, calls never end (worst case)' };
  const tname = { mem: 'in memory', redis_x1: '1 replica on Redis', redis_x2: '2 replicas on Redis' };
  o.push('');
  o.push('## Redis backend (medians of rounds)');
  o.push('');
  o.push(`Per row: ${r[0] && r.find((x) => x.duration_s) ? Math.round(r.find((x) => x.duration_s).duration_s) : '?'} s of wrk; CPU in µs per request (spread rows: per dial, its hang-up included), from /proc of the app(s), the fake platform and redis-server, and the whole machine's busy time (${nproc} cores). "errors" counts socket errors and unexpected answers.`);
  o.push('');
  o.push('| load | conns | target | per s | app µs | fake µs | redis-server µs | machine µs | errors | load1 |');
  o.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of ['token', 'spread', 'dial']) for (const c of rconns) for (const t of ['mem', 'redis_x1', 'redis_x2']) {
    const g = pick(s, t, c);
    if (!g.length) continue;
    o.push(`| ${scen[s]} | ${c} | ${tname[t]} | ${fmt0(rate(g))} | ${perUnit(g, 'app_cpu_s').toFixed(0)} | ${perUnit(g, 'fake_cpu_s').toFixed(0)} | ${perUnit(g, 'redis_cpu_s').toFixed(0)} | ${perUnit(g, 'machine_cpu_s').toFixed(0)} | ${fmt0(errsOf(g))} | ${median(g.map((x) => x.load1)).toFixed(1)} |`);
  }
  const goals = [];
  const goal = (what, value, op, want, f = ratio) => {
    const ok = Number.isFinite(value) && (op === '>=' ? value >= want : value <= want);
    goals.push(`| ${what} | ${f(value)} | ${op} ${f(want)} | ${ok ? 'PASS' : '**MISS**'} |`);
  };
  const us = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} µs` : 'n/a');
  for (const c of rconns) {
    for (const s of ['spread', 'dial']) {
      const m = pick(s, 'mem', c), one = pick(s, 'redis_x1', c), two = pick(s, 'redis_x2', c);
      if (!m.length || !one.length) continue;
      goal(`${s}: 1 replica on Redis ÷ in memory, per s (c=${c})`, rate(one) / rate(m), '>=', 0.7);
      goal(`${s}: app CPU per dial, Redis ÷ in memory (c=${c})`, perUnit(one, 'app_cpu_s') / perUnit(m, 'app_cpu_s'), '<=', 1.3);
      goal(`${s}: redis-server CPU per dial (c=${c})`, perUnit(one, 'redis_cpu_s'), '<=', 50, us);
      if (two.length) {
        goal(`${s}: 2 replicas ÷ 1, per s (c=${c}; needs free cores)`, rate(two) / rate(one), '>=', 1.6);
        goal(`${s}: 2 replicas' app CPU per dial (summed) ÷ 1 replica's (c=${c})`, perUnit(two, 'app_cpu_s') / perUnit(one, 'app_cpu_s'), '<=', 1.1);
      }
    }
    const km = pick('token', 'mem', c), k1 = pick('token', 'redis_x1', c);
    if (km.length && k1.length) goal(`token: 1 replica on Redis ÷ in memory, per s (c=${c})`, rate(k1) / rate(km), '>=', 0.9);
  }
  o.push('');
  o.push('| Redis goal (issue 24) | measured | required | |');
  o.push('|---|---:|---:|---|');
  o.push(...goals);
  for (const x of rows.filter((y) => y.kind === 'redis_mem')) {
    o.push('');
    o.push(`Round ${x.round}: ${fmt0(x.calls)} calls stored in one session, ${fmt0(x.bytes_per_call)} bytes of Redis memory per stored call (used_memory delta ${fmt0(x.used_memory_delta)}), redis-server RSS ${mib(x.redis_rss_kb)} MiB.`);
  }
  o.push('');
  o.push("Redis's command statistics per row (calls and µs per command, scripts' own commands included): `target/bench/commandstats/`.");
  return o;
}
