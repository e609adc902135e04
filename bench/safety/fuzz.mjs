/**
 * Fuzz and cross-origin: random and malformed calls to every AppApi method of a running web host
 * (`node out/main/serve.js`, its own data folder, one prepared dataset in it), counting 5xx,
 * hangs (no answer in 10 s), answers that carry a stack trace, internal errors, and 413s for
 * oversized bodies; then requests a browser on another site could make (foreign Origin,
 * Sec-Fetch-Site: cross-site, the session cookie alone, a wrong Host, no token) must all be refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { rng } from './kills.mjs';
import { AG_NEWS, api, hasStackTrace, request } from './common.mjs';

const STRINGS = ['', 'keep', '../..', '../../../../etc/passwd', '/etc/passwd', '/dev/null', '/proc/self/status', '\u0000', 'x'.repeat(300), '<script>alert(1)</script>', "'; DROP TABLE runs; --", '__proto__', 'constructor', 'toString', '%00', 'C:\\Windows\\win.ini', '\\\\server\\share', '🙂'.repeat(50), 'a/b', '.', '..', '-1', 'NaN', 'null'];

function randomValue(r, extra, depth = 0) {
  switch (Math.floor(r() * (depth > 2 ? 7 : 10))) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [0, -1, 1e308, -0, 2 ** 53 + 1, 0.5, 1e-300, 65536][Math.floor(r() * 8)];
    case 3: return STRINGS[Math.floor(r() * STRINGS.length)];
    case 4: return extra[Math.floor(r() * extra.length)];
    case 5: return 'x'.repeat(Math.floor(r() * 5000));
    case 6: return { ...(r() < 0.3 ? JSON.parse('{"__proto__": {"polluted": 1}}') : {}), constructor: { prototype: { polluted: 1 } } };
    case 7: return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, extra, depth + 1));
    case 8: return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, (_, i) => [['file', 'mapping', 'split', 'kind', 'labelColumn', 'textColumns', 'name', 'model', 'dataset', 'options', `k${i}`][Math.floor(r() * 11)], randomValue(r, extra, depth + 1)]));
    default: return -Infinity;
  }
}

/** A plausible-looking argument list for a method, bent a little (so calls get past the schema sometimes). */
function plausible(method, r, ctx) {
  const file = ctx.files[Math.floor(r() * ctx.files.length)];
  switch (method) {
    case 'inspectDataset': return [file, r() < 0.5 ? undefined : { delimiter: STRINGS[Math.floor(r() * 5)], header: r() < 0.5 }, `fz-${Math.floor(r() * 1e9)}`];
    case 'previewDataset': return [file, Math.floor(r() * 1e6) - 10];
    case 'prepareDataset': return [{ file, mapping: { textColumns: [Math.floor(r() * 4) - 1], labelColumn: Math.floor(r() * 4) - 1 }, split: { kind: 'ratio', evalRatio: r(), seed: 1 } }];
    case 'getDataset': case 'deleteDataset': case 'computeBaseline': case 'doctorDataset': return [r() < 0.5 ? ctx.datasetId : 'f'.repeat(64)];
    case 'getRun': case 'cancelRun': case 'resumeRun': case 'rerun': case 'deleteRun': return [STRINGS[Math.floor(r() * STRINGS.length)]];
    case 'listFolder': case 'inspectModelFolder': return [['/', '/proc', '/etc', ctx.home, '/nonexistent', '/dev'][Math.floor(r() * 6)]];
    case 'predictTexts': return ['nope', Array.from({ length: Math.floor(r() * 50) }, () => 'text')];
    case 'exportRun': return ['nope', ['huggingface', 'onnx', 'csv', 'zip', 'x'][Math.floor(r() * 5)], '/tmp'];
    default: return null;
  }
}

export async function fuzzCampaign(server, o) {
  const log = o.log ?? console.log;
  const r = rng(o.seed ?? 99);
  const home = o.home;
  // One prepared dataset, so calls that name it reach the code behind the schema.
  const csv = path.join(home, 'fuzz-ag.csv');
  fs.writeFileSync(csv, fs.readFileSync(path.join(AG_NEWS, 'train_5k.csv'), 'utf8').split('\n').slice(0, 40).join('\n') + '\n');
  fs.copyFileSync(path.join(AG_NEWS, 'classes.txt'), path.join(home, 'classes.txt'));
  const inspection = await api(server, 'inspectDataset', [csv], { timeoutMs: 60_000 });
  const prepared = inspection.ok
    ? await api(server, 'prepareDataset', [{ file: csv, mapping: inspection.value.suggestedMapping, split: { kind: 'ratio', evalRatio: 0.25, seed: 1 } }], { timeoutMs: 120_000 })
    : null;
  const ctx = { home, files: [csv, '/etc/hostname', '/dev/null', path.join(home, 'missing.csv'), home], datasetId: prepared?.ok ? prepared.value.id : 'f'.repeat(64) };
  const extra = [csv, ctx.datasetId, home];
  const methods = o.methods;
  const counts = { calls: 0, byStatus: {}, fiveXX: 0, hangs: 0, stackTraces: 0, internal: 0, oversized: 0, oversized413: 0, transportErrors: 0, perMethod: Object.create(null) };
  const findings = [];
  const one = async () => {
    const roll = r();
    let method = methods[Math.floor(r() * methods.length)];
    let body;
    let httpMethod = 'POST';
    let headers = { 'x-finetune-token': server.token, 'content-type': 'application/json' };
    let kind;
    if (roll < 0.45) {
      kind = 'random-args';
      body = JSON.stringify(Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, extra)));
    } else if (roll < 0.62) {
      kind = 'plausible-args';
      body = JSON.stringify(plausible(method, r, ctx) ?? [randomValue(r, extra)]);
    } else if (roll < 0.7) {
      kind = 'not-an-array';
      body = JSON.stringify(randomValue(r, extra));
    } else if (roll < 0.78) {
      kind = 'bad-json';
      body = ['{', '[1,', '\u0000\u0001\u0002', '[\"unterminated', '{"a":}', Buffer.from(Array.from({ length: 200 }, () => Math.floor(r() * 256)))][Math.floor(r() * 6)];
    } else if (roll < 0.82) {
      kind = 'deep-nesting';
      const depth = 1000 + Math.floor(r() * 200_000);
      body = '['.repeat(depth) + ']'.repeat(depth);
    } else if (roll < 0.86) {
      kind = 'oversized';
      body = Buffer.alloc(8 * 1024 * 1024 + 1 + Math.floor(r() * 1024 * 1024), 0x20);
    } else if (roll < 0.91) {
      kind = 'odd-method-name';
      method = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '..%2flistRuns', 'listRuns/../getRun', '%00', 'valueOf', 'close', 'LISTRUNS', ''][Math.floor(r() * 11)];
      body = '[]';
    } else if (roll < 0.95) {
      kind = 'wrong-http-method';
      httpMethod = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'][Math.floor(r() * 6)];
      body = httpMethod === 'GET' || httpMethod === 'HEAD' ? undefined : '[]';
    } else {
      kind = 'odd-headers';
      headers = { ...headers, 'content-type': ['text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16'][Math.floor(r() * 3)], 'x-finetune-token': r() < 0.5 ? server.token : server.token + ' ' };
      body = '[]';
    }
    const res = await request(server.port, { method: httpMethod, path: `/api/${method}`, headers, body, timeoutMs: 10_000, keepAlive: o.keepAlive ?? false });
    counts.calls++;
    const key = `${method}`;
    counts.perMethod[key] = (counts.perMethod[key] ?? 0) + 1;
    counts.byStatus[res.status] = (counts.byStatus[res.status] ?? 0) + 1;
    if (kind === 'oversized') {
      counts.oversized++;
      if (res.status === 413) counts.oversized413++;
    }
    const note = (what) => findings.length < 30 && findings.push({ what, kind, method, status: res.status, body: res.body.slice(0, 300) });
    if (res.timedOut) {
      counts.hangs++;
      note('hang');
    } else if (res.status === 0) {
      // A refused body may be cut off before the answer is read: that is not a crash.
      counts.transportErrors++;
      if (kind !== 'oversized') note(`transport ${res.error}`);
    }
    if (res.status >= 500) {
      counts.fiveXX++;
      note('5xx');
    }
    if (hasStackTrace(res.body)) {
      counts.stackTraces++;
      note('stack trace');
    }
    if (/"code":"internal"/.test(res.body)) {
      counts.internal++;
      note('internal');
    }
  };
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 4 }, async () => {
      while (next < o.calls) {
        next++;
        await one();
      }
    }),
  );
  counts.methodsCovered = Object.keys(counts.perMethod).filter((m) => methods.includes(m)).length;
  counts.methods = methods.length;
  counts.seconds = +((performance.now() - started) / 1000).toFixed(1);
  // The server is still up and answers.
  const after = await api(server, 'listRuns', []);
  counts.aliveAfter = after.ok === true;
  log(`  ${counts.calls} calls to ${counts.methodsCovered}/${counts.methods} methods in ${counts.seconds} s: 5xx ${counts.fiveXX}, hangs ${counts.hangs}, stack traces ${counts.stackTraces}, internal ${counts.internal}, oversized ${counts.oversized} (413: ${counts.oversized413}), statuses ${JSON.stringify(counts.byStatus)}`);
  return { ...counts, findings };
}

/** Requests another site (or a DNS-rebinding page) could make: each must be refused. */
export async function crossOriginCampaign(server, o = {}) {
  const log = o.log ?? console.log;
  const p = server.port;
  // The page's session cookie, as a browser holding it would send it.
  const page = await request(p, { method: 'GET', path: `/?token=${server.token}` });
  const cookie = String(page.headers?.['set-cookie']?.[0] ?? '').split(';')[0];
  const token = { 'x-finetune-token': server.token, 'content-type': 'application/json' };
  const cases = [
    ['API, foreign Origin', { path: '/api/listRuns', headers: { ...token, origin: 'http://evil.example' }, body: '[]' }],
    ['API, Origin of another port', { path: '/api/listRuns', headers: { ...token, origin: `http://127.0.0.1:${p + 1}` }, body: '[]' }],
    ['API, Origin null', { path: '/api/listRuns', headers: { ...token, origin: 'null' }, body: '[]' }],
    ['API, Sec-Fetch-Site cross-site', { path: '/api/listRuns', headers: { ...token, 'sec-fetch-site': 'cross-site' }, body: '[]' }],
    ['API, Sec-Fetch-Site same-site', { path: '/api/listRuns', headers: { ...token, 'sec-fetch-site': 'same-site' }, body: '[]' }],
    ['API, cookie only', { path: '/api/listRuns', headers: { cookie, 'content-type': 'application/json' }, body: '[]' }],
    ['API, cookie only, text/plain (simple CORS request)', { path: '/api/listRuns', headers: { cookie, 'content-type': 'text/plain' }, body: '[]' }],
    ['API, token in the query only', { path: `/api/listRuns?token=${server.token}`, headers: { 'content-type': 'application/json' }, body: '[]' }],
    ['API, no credentials', { path: '/api/listRuns', headers: { 'content-type': 'application/json' }, body: '[]' }],
    ['API, wrong token', { path: '/api/listRuns', headers: { ...token, 'x-finetune-token': 'x'.repeat(32) }, body: '[]' }],
    ['API, wrong Host (DNS rebinding)', { path: '/api/listRuns', headers: { ...token, host: `evil.example:${p}` }, body: '[]' }],
    ['API, Host without port', { path: '/api/listRuns', headers: { ...token, host: '127.0.0.1' }, body: '[]' }],
    ['API, Host localhost.evil', { path: '/api/listRuns', headers: { ...token, host: `localhost.evil.example:${p}` }, body: '[]' }],
    ['upload, cookie only', { path: '/api/upload?name=x.csv', headers: { cookie, 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' }],
    ['upload, foreign Origin', { path: '/api/upload?name=x.csv', headers: { ...token, origin: 'http://evil.example' }, body: 'a,b\n1,2\n' }],
    ['download offer, cookie only', { path: '/api/download', headers: { cookie, 'content-type': 'application/json' }, body: '{"path":"/etc/passwd"}' }],
    ['events, foreign Origin with cookie', { method: 'GET', path: '/api/events', headers: { cookie, origin: 'http://evil.example' } }],
    ['events, cross-site with cookie', { method: 'GET', path: '/api/events', headers: { cookie, 'sec-fetch-site': 'cross-site' } }],
    ['events, no credentials', { method: 'GET', path: '/api/events', headers: {} }],
    ['page, wrong Host', { method: 'GET', path: `/?token=${server.token}`, headers: { host: `evil.example:${p}` } }],
    ['page, no credentials', { method: 'GET', path: '/', headers: {} }],
  ];
  const results = [];
  for (const [name, req] of cases) {
    const res = await request(p, { method: 'POST', ...req, timeoutMs: 5000, keepAlive: false });
    const refused = res.status === 401 || res.status === 403 || res.status === 421;
    // A refused page must not hold the token.
    const leaked = res.body.includes(server.token);
    results.push({ name, status: res.status, refused: refused && !leaked, leaked });
  }
  // The control: the same call, properly made, is let in.
  const control = await request(p, { path: '/api/listRuns', headers: token, body: '[]' });
  const refused = results.filter((x) => x.refused).length;
  log(`  cross-origin: ${refused}/${results.length} refused (control call: ${control.status})${results.filter((x) => !x.refused).map((x) => `; NOT refused: ${x.name} (${x.status})`).join('')}`);
  return { cases: results.length, refused, controlStatus: control.status, sessionCookie: cookie !== '', results };
}
