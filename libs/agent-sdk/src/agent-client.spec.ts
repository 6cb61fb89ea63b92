import { AgentClient } from './agent-client.js';
import type { FetchLike } from './errors.js';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function fakeServer() {
  const calls: string[] = [];
  let registrations = 0;
  let failHeartbeats = 0;
  let revoke = false;
  const fetchFn: FetchLike = async (url) => {
    calls.push(url);
    if (url.endsWith('/agents/register')) {
      registrations++;
      return json(201, {
        id: 'a1',
        status: 'online',
        agentKey: `am_key${registrations}`,
        heartbeatIntervalSec: 10,
        configVersion: 0,
        config: {},
        created: registrations === 1,
      });
    }
    if (revoke) {
      revoke = false;
      return json(401, { statusCode: 401, message: 'Invalid API key' });
    }
    if (failHeartbeats > 0) {
      failHeartbeats--;
      return json(503, { statusCode: 503, message: 'down' });
    }
    return json(200, {
      status: 'online',
      configVersion: 2,
      config: { a: 1 },
      heartbeatIntervalSec: 10,
    });
  };
  return {
    fetchFn,
    calls,
    get registrations() {
      return registrations;
    },
    failNext: (n: number) => (failHeartbeats = n),
    revokeNext: () => (revoke = true),
  };
}

describe('AgentClient', () => {
  const agent = { name: 'x', type: 't', host: 'h', heartbeatIntervalSec: 10 };

  it('registers on first heartbeat and hands new config to onConfig once', async () => {
    const s = fakeServer();
    const seen: number[] = [];
    const c = new AgentClient({
      baseUrl: 'http://api/',
      registrationKey: 'am_reg',
      agent,
      fetch: s.fetchFn,
      onConfig: (_c, v) => {
        seen.push(v);
      },
    });
    await c.heartbeat();
    expect(s.calls[0]).toBe('http://api/api/v2/agents/register');
    expect(seen).toEqual([2]);
    expect(c.appliedConfigVersion).toBe(2);
  });

  it('re-registers once when its key was revoked (401)', async () => {
    const s = fakeServer();
    const c = new AgentClient({
      baseUrl: 'http://api',
      registrationKey: 'am_reg',
      agent,
      fetch: s.fetchFn,
    });
    await c.register();
    s.revokeNext();
    await c.heartbeat();
    expect(s.registrations).toBe(2);
    expect(c.agentKey).toBe('am_key2');
  });

  it('jitters the interval and backs off exponentially (capped) while failing', async () => {
    const s = fakeServer();
    const c = new AgentClient({
      baseUrl: 'http://api',
      registrationKey: 'am_reg',
      agent,
      fetch: s.fetchFn,
      jitter: 0.1,
    });
    await c.register();
    for (let i = 0; i < 50; i++) {
      const d = c.nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(9000);
      expect(d).toBeLessThanOrEqual(11000);
    }
    s.failNext(3);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await expect(c.heartbeat()).rejects.toThrow('down');
      (c as unknown as { failures: number }).failures = i + 1;
      delays.push(c.nextDelayMs());
    }
    // 1 s, 2 s, 4 s (each randomised to 50–100 %), never above the interval.
    expect(delays[0]).toBeLessThanOrEqual(1000);
    expect(delays[1]).toBeLessThanOrEqual(2000);
    expect(delays[2]).toBeLessThanOrEqual(4000);
    expect(delays[2]).toBeGreaterThanOrEqual(2000);
  });
});
