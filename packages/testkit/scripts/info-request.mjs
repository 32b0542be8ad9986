// One request of the lab's HTTP load (load-client.mjs, serve-load.mjs): GET /info on a NEW TCP
// connection (agent: false, Connection: close), which the lab backends answer with their name, the
// addresses they saw and the request's headers. The request carries `X-Req: <id>`; a response must
// echo exactly that header, or it is a misdelivery (a reply that reached the wrong connection).
// A connection not established within `connectTimeoutMs` fails with 'connect timeout' (Node's
// `timeoutMs`, an idle timeout, only starts once connected). Plain JavaScript, Node built-ins only.
import http from 'node:http';

/**
 * Starts the request. `done` resolves, never rejects, once: {ok: true, info, port, ms} or
 * {ok: false, error, misdelivered?, port?, ms}; `stop(error)` ends a request still under way with
 * that error; `onConnect` is called when its TCP connection is established, and `onEnd` with the
 * result at once when it ends (before `done` resolves: a caller that stops requests and then writes
 * a summary, in one go, finds them counted).
 */
export function infoRequest({ host, port, id, timeoutMs, connectTimeoutMs, onConnect = () => {}, onEnd = () => {} }) {
  const t0 = performance.now();
  let end;
  const done = new Promise((resolve) => {
    let finished = false;
    let connectTimer;
    end = (r) => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      const result = { ...r, ms: performance.now() - t0 };
      onEnd(result);
      resolve(result);
    };
    const failed = (error, extra = {}) => end({ ok: false, error, ...extra });
    let gotResponse = false;
    const req = http.request({ host, port, path: '/info', agent: false, headers: { 'X-Req': id, Connection: 'close' } }, (res) => {
      gotResponse = true;
      const chunks = [];
      // After 'end' this is a no-op; without it, the response was cut short.
      res.on('close', () => failed('response cut short', { port: req.socket?.localPort }));
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => failed(`response: ${e.code ?? e.message}`));
      res.on('end', () => {
        const localPort = req.socket?.localPort;
        let info;
        try {
          info = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return failed(`status ${res.statusCode}, body is not JSON`, { port: localPort });
        }
        if (res.statusCode !== 200) return failed(`status ${res.statusCode}`, { port: localPort });
        if (info.headers?.['x-req'] !== id)
          return failed(`answered for ${info.headers?.['x-req']}`, { misdelivered: true, port: localPort });
        end({ ok: true, info, port: localPort });
      });
    });
    connectTimer = setTimeout(() => req.destroy(new Error('connect timeout')), connectTimeoutMs);
    req.on('socket', (sock) =>
      sock.once('connect', () => {
        clearTimeout(connectTimer);
        onConnect();
      }),
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => failed(e.code ?? e.message, { port: req.socket?.localPort }));
    req.on('close', () => {
      if (!gotResponse) failed('closed without a response');
    });
    req.end();
  });
  return { done, stop: (error) => end({ ok: false, error }) };
}
