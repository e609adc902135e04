/**
 * Requests held: the latency of listRuns (median and p95 of sequential calls) on its own, while
 * N slowloris sockets trickle a request's headers a byte at a time, while N event-stream (SSE)
 * clients stay connected, and with both at once.
 */
import http from 'node:http';
import net from 'node:net';
import { api, percentile, sleep } from './common.mjs';

async function latency(server, calls) {
  const xs = [];
  let failed = 0;
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    const r = await api(server, 'listRuns', [], { timeoutMs: 30_000 });
    if (r.ok) xs.push(performance.now() - t);
    else failed++;
  }
  return { calls, failed, medianMs: +percentile(xs, 50)?.toFixed(2), p95Ms: +percentile(xs, 95)?.toFixed(2), maxMs: +Math.max(...xs).toFixed(2) };
}

/** Opens n sockets that send a request line and then one header byte every 2 s, never finishing. */
async function slowloris(server, n) {
  const sockets = [];
  let closedByServer = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect(server.port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closedByServer++);
    s.write(`POST /api/listRuns HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Slow: `);
    sockets.push(s);
    if (i % 100 === 99) await sleep(10);
  }
  const trickle = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write('a');
  }, 2000);
  return {
    open: () => sockets.filter((s) => !s.destroyed).length,
    closedByServer: () => closedByServer,
    close: () => {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    },
  };
}

/** Opens n event-stream clients (token in the query, as a non-browser client) and keeps reading them. */
async function sseClients(server, n) {
  const reqs = [];
  let connected = 0;
  let ended = 0;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise((resolve) => {
        setTimeout(() => {
          const req = http.get({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${server.token}`, headers: { host: `127.0.0.1:${server.port}` }, agent }, (res) => {
            if (res.statusCode === 200) connected++;
            res.on('data', () => {});
            res.on('end', () => ended++);
            res.on('error', () => {});
            resolve();
          });
          req.on('error', () => {
            ended++;
            resolve();
          });
          reqs.push(req);
        }, Math.floor(i / 100) * 10);
      }),
    ),
  );
  return { connected: () => connected, ended: () => ended, close: () => reqs.forEach((r) => r.destroy()) };
}

export async function heldCampaign(server, o) {
  const log = o.log ?? console.log;
  const calls = o.calls ?? 200;
  const n = o.sockets ?? 1000;
  await latency(server, 20); // warm-up
  const alone = await latency(server, calls);
  log(`  listRuns alone: median ${alone.medianMs} ms, p95 ${alone.p95Ms} ms (${calls} calls)`);

  const slow = await slowloris(server, n);
  await sleep(1000);
  const underSlow = await latency(server, calls);
  const slowOpen = slow.open();
  log(`  under ${n} slowloris sockets (${slowOpen} still open): median ${underSlow.medianMs} ms, p95 ${underSlow.p95Ms} ms, failed ${underSlow.failed}`);
  slow.close();

  const sse = await sseClients(server, n);
  await sleep(1000);
  const underSse = await latency(server, calls);
  const sseConnected = sse.connected();
  log(`  under ${n} SSE clients (${sseConnected} connected): median ${underSse.medianMs} ms, p95 ${underSse.p95Ms} ms, failed ${underSse.failed}`);

  const slow2 = await slowloris(server, n);
  await sleep(1000);
  const underBoth = await latency(server, calls);
  log(`  under both (${slow2.open()} slowloris open, ${sse.connected() - sse.ended()} SSE connected): median ${underBoth.medianMs} ms, p95 ${underBoth.p95Ms} ms, failed ${underBoth.failed}`);
  const both = { ...underBoth, slowlorisOpen: slow2.open(), sseConnected: sse.connected() - sse.ended() };
  slow2.close();
  sse.close();
  await sleep(500);
  const after = await latency(server, Math.min(50, calls));
  log(`  after they closed: median ${after.medianMs} ms, p95 ${after.p95Ms} ms`);
  return { sockets: n, alone, slowloris: { ...underSlow, open: slowOpen }, sse: { ...underSse, connected: sseConnected }, both, after };
}
