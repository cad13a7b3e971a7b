'use strict';
// Creates N rooms' sessions on a sipdial app (POST {base}/session {"room":"bench-i"}),
// 32 at a time, and prints their session ids, one a line (bench/run.sh's spread rows).
//   node bench/sessions.js http://127.0.0.1:PORT/sip 1000 > sessions.txt
const [base, n] = [process.argv[2], Number(process.argv[3] || 1000)];
if (!base || !(n > 0)) { console.error('usage: node sessions.js BASE N'); process.exit(2); }
const ids = new Array(n);
let next = 0;
async function worker() {
  while (next < n) {
    const i = next++;
    const res = await fetch(`${base}/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: `bench-${i}` }),
    });
    if (res.status !== 200) throw new Error(`POST /session answered ${res.status}: ${await res.text()}`);
    ids[i] = (await res.json()).sessionId;
  }
}
Promise.all(Array.from({ length: 32 }, worker))
  .then(() => process.stdout.write(ids.join('\n') + '\n'))
  .catch((e) => { console.error(e.message); process.exit(1); });
