import type { RunView } from '@trellis/contracts';
import { ApiClient, startTestPlatform, waitFor, type TestPlatform } from '@trellis/testing';
import { parseSse, readSse } from '../../apps/gateway/test/sse-client';

const ADMIN_TOKEN = 'admin-token-for-the-projects-test';

/**
 * Projects, keys and limits through the whole platform: isolation between two projects on
 * every resource, authentication, body size, rate and running-run limits, idempotent run
 * creation, and the SSE event stream with resumption.
 */
describe('gateway projects, keys, limits and events', () => {
  let ctx: TestPlatform;
  let admin: ApiClient;
  let alpha: ApiClient;
  let beta: ApiClient;
  const pipeline = (name: string, prompt = 'say hello to {{ inputs.who }}') => ({
    version: 1,
    name,
    inputs: { who: { type: 'string', default: 'world' } },
    steps: { first: { prompt }, second: { depends_on: ['first'], prompt: 'then {{ steps.first.output }}' } },
  });

  const newProject = async (id: string, extra: Record<string, unknown> = {}, key: Record<string, unknown> = {}) => {
    expect((await admin.post('/v1/projects', { id, ...extra })).status).toBe(201);
    const created = await admin.post(`/v1/projects/${id}/keys`, key);
    expect(created.status).toBe(201);
    return new ApiClient(ctx.platform.gatewayUrl, created.body.key);
  };

  beforeAll(async () => {
    ctx = await startTestPlatform({ serviceEnv: { gateway: { TRELLIS_ADMIN_TOKEN: ADMIN_TOKEN, GATEWAY_SSE_HEARTBEAT_MS: '500' } } });
    admin = new ApiClient(ctx.platform.gatewayUrl, ADMIN_TOKEN);
    alpha = await newProject('alpha');
    beta = await newProject('beta');
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  describe('projects and keys', () => {
    it('shows a key once, stores only its prefix, and scopes it to its project', async () => {
      const created = await admin.post('/v1/projects/alpha/keys', { name: 'ci' });
      expect(created.body).toMatchObject({ project: 'alpha', name: 'ci', prefix: created.body.key.slice(0, 12), revokedAt: null });
      const listed = await admin.get('/v1/projects/alpha/keys');
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
      expect(listed.body.items.map((k: { id: string }) => k.id)).toContain(created.body.id);
    });

    it('rejects unknown body fields, a taken id, and a wrong admin token', async () => {
      const extra = await admin.post('/v1/projects', { id: 'gamma', owner: 'mallory' });
      expect(extra.status).toBe(400);
      expect(extra.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(extra.body.errors)).toContain('owner');
      expect((await admin.post('/v1/projects', { id: 'alpha' })).status).toBe(409);
      expect((await new ApiClient(ctx.platform.gatewayUrl, 'not-the-admin-token-at-all').post('/v1/projects', { id: 'delta' })).status).toBe(401);
      // An API key is not an admin token.
      expect((await alpha.post('/v1/projects', { id: 'delta' })).status).toBe(401);
    });

    it('answers 401 without a key, with a wrong one, and with a revoked one', async () => {
      const created = await admin.post('/v1/projects/alpha/keys', {});
      const revocable = new ApiClient(ctx.platform.gatewayUrl, created.body.key);
      expect((await revocable.get('/v1/runs')).status).toBe(200);
      expect((await admin.request('DELETE', `/v1/projects/alpha/keys/${created.body.id}`)).status).toBe(204);
      for (const client of [new ApiClient(ctx.platform.gatewayUrl, undefined), new ApiClient(ctx.platform.gatewayUrl, 'trls_wrongwrongwrongwrong'), revocable]) {
        const res = await client.get('/v1/runs');
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated' });
      }
      expect((await admin.request('DELETE', `/v1/projects/beta/keys/${created.body.id}`)).status).toBe(404);
    });

    it('keeps TRELLIS_API_KEY working as the key of the project default', async () => {
      expect((await ctx.api.get('/v1/runs')).status).toBe(200);
    });
  });

  describe('isolation between projects', () => {
    let run: RunView;

    beforeAll(async () => {
      expect((await alpha.post('/v1/pipelines', pipeline('shared-name'))).status).toBe(201);
      const started = await alpha.post('/v1/runs', { pipeline: 'shared-name' });
      expect(started.status).toBe(202);
      run = await alpha.waitForRun(started.body.id);
    });

    it("answers 404 for another project's pipeline, run, events and products", async () => {
      expect(run.status).toBe('succeeded');
      expect((await beta.get('/v1/pipelines/shared-name')).status).toBe(404);
      expect((await beta.get('/v1/pipelines')).body.items).toEqual([]);
      expect((await beta.post('/v1/runs', { pipeline: 'shared-name' })).status).toBe(404);
      expect((await beta.get(`/v1/runs/${run.id}`)).status).toBe(404);
      expect((await beta.get('/v1/runs')).body.items).toEqual([]);
      expect((await beta.get(`/v1/runs/${run.id}/events`)).status).toBe(404);
      expect((await beta.get(`/v1/runs/${run.id}/products/brief.md`)).status).toBe(404);
      expect((await ctx.api.get(`/v1/runs/${run.id}`)).status).toBe(404);
      // The owner sees them.
      expect((await alpha.get(`/v1/runs/${run.id}`)).status).toBe(200);
      expect((await alpha.get('/v1/runs')).body.items.map((r: RunView) => r.id)).toContain(run.id);
    });

    it("never cancels or resumes another project's run", async () => {
      for (const action of ['cancel', 'resume']) {
        const res = await beta.post(`/v1/runs/${run.id}/${action}`);
        // 404 once the planner serves cancel/resume; until then the planner does not answer (503).
        expect([404, 503]).toContain(res.status);
      }
      expect((await alpha.get(`/v1/runs/${run.id}`)).body.status).toBe('succeeded');
    });

    it('lets two projects use the same pipeline name independently', async () => {
      const registered = await beta.post('/v1/pipelines', pipeline('shared-name', 'beta says {{ inputs.who }}'));
      expect(registered.status).toBe(201);
      expect(registered.body.version).toBe(1);
      expect((await alpha.get('/v1/pipelines/shared-name')).body.spec.steps.first.prompt).toBe('say hello to {{ inputs.who }}');
    });
  });

  describe('limits', () => {
    it('answers 413 to a 12 MB body and stores nothing', async () => {
      const big = JSON.stringify({ pipeline: 'shared-name', inputs: { who: 'x'.repeat(12 * 1024 * 1024) } });
      const res = await alpha.post('/v1/runs', big);
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 413, code: 'payload_too_large' });
    });

    it('answers 429 with Retry-After past the rate of a key', async () => {
      const limited = await newProject('limited', {}, { rateLimitPerMinute: 3 });
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await limited.get('/v1/runs');
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // Other keys are not affected.
      expect((await alpha.get('/v1/runs')).status).toBe(200);
    });

    it('queues a new run while the project has its maximum running, and starts it when a slot frees', async () => {
      const busy = await newProject('busy', { maxRunningRuns: 1 });
      const slow = { spec: { version: 1, name: 'slow', steps: { a: { prompt: 'wait [[sim latency_ms=1500]]' } } } };
      const first = await busy.post('/v1/runs', slow);
      expect(first.status).toBe(202);
      const second = await busy.post('/v1/runs', slow);
      expect(second.status).toBe(202);
      expect(second.body).toMatchObject({ status: 'queued', queue: { position: 1 } });
      await busy.waitForRun(first.body.id);
      expect((await busy.waitForRun(second.body.id)).status).toBe('succeeded');
    });
  });

  describe('Idempotency-Key', () => {
    it('returns the same run for the same key and body, and 422 for another body', async () => {
      const body = { pipeline: 'shared-name', inputs: { who: 'idempotent' } };
      const headers = { 'Idempotency-Key': 'order-42' };
      const first = await alpha.post('/v1/runs', body, { headers });
      expect(first.status).toBe(202);
      const again = await alpha.post('/v1/runs', { inputs: { who: 'idempotent' }, pipeline: 'shared-name' }, { headers });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.id).toBe(first.body.id);
      const other = await alpha.post('/v1/runs', { ...body, inputs: { who: 'someone else' } }, { headers });
      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ code: 'idempotency_conflict' });
      // Keys are per project: the same key in another project starts its own run.
      const betaRun = await beta.post('/v1/runs', body, { headers });
      expect(betaRun.status).toBe(202);
      expect(betaRun.body.id).not.toBe(first.body.id);
      const runs = (await alpha.get('/v1/runs?limit=200')).body.items.filter((r: RunView) => r.id === first.body.id);
      expect(runs).toHaveLength(1);
    });

    it('releases a key whose run did not start, so a corrected retry works', async () => {
      const headers = { 'Idempotency-Key': 'retry-after-fix' };
      expect((await alpha.post('/v1/runs', { pipeline: 'no-such-pipeline' }, { headers })).status).toBe(404);
      expect((await alpha.post('/v1/runs', { pipeline: 'no-such-pipeline' }, { headers })).status).toBe(404);
    });
  });

  describe('SSE events', () => {
    const auth = () => ({ authorization: `Bearer ${alpha.apiKey}` });

    it("streams a finished run's events with ids and types, ends after run.completed, and resumes after Last-Event-ID", async () => {
      const started = await alpha.post('/v1/runs', { pipeline: 'shared-name', inputs: { who: 'sse' } });
      await alpha.waitForRun(started.body.id);
      const url = `${ctx.platform.gatewayUrl}/v1/runs/${started.body.id}/events`;
      const all = await readSse(url, auth());
      expect(all.status).toBe(200);
      expect(all.contentType).toContain('text/event-stream');
      const types = all.events.map((e) => e.event);
      expect(types[0]).toBe('dev.trellis.run.started');
      expect(types.at(-1)).toBe('dev.trellis.run.completed');
      expect(types).toEqual(expect.arrayContaining(['dev.trellis.step.generated', 'dev.trellis.step.completed']));
      const ids = all.events.map((e) => Number(e.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      for (const e of all.events) expect(JSON.parse(e.data)).toMatchObject({ specversion: '1.0', type: e.event, data: { runId: started.body.id } });

      const resumed = await readSse(url, { ...auth(), 'last-event-id': all.events[1]!.id! });
      expect(resumed.events.map((e) => e.id)).toEqual(all.events.slice(2).map((e) => e.id));
      const afterEnd = await readSse(url, { ...auth(), 'last-event-id': all.events.at(-1)!.id! });
      expect(afterEnd.events).toEqual([]);
    });

    it('streams a live run as it happens with heartbeats, and a client leaving does not affect the run', async () => {
      const spec = { version: 1, name: 'live', steps: { a: { prompt: 'one [[sim latency_ms=300]]' }, b: { depends_on: ['a'], prompt: 'two [[sim latency_ms=1500]]' } } };
      const started = await alpha.post('/v1/runs', { spec });
      const leaving = new AbortController();
      const res = await fetch(`${ctx.platform.gatewayUrl}/v1/runs/${started.body.id}/events`, { headers: auth(), signal: leaving.signal });
      const reader = res.body!.getReader();
      let text = '';
      await waitFor('the first event and a heartbeat', async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return parseSse(text).some((e) => e.event === 'dev.trellis.run.started') && text.includes(': keep-alive\n\n');
      });
      leaving.abort();
      const run = await alpha.waitForRun(started.body.id);
      expect(run.status).toBe('succeeded');

      const live = await readSse(`${ctx.platform.gatewayUrl}/v1/runs/${started.body.id}/events`, auth());
      expect(live.events.at(-1)?.event).toBe('dev.trellis.run.completed');
    });

    it('rejects a Last-Event-ID that is not a sequence', async () => {
      const runs = await alpha.get('/v1/runs?limit=1');
      const res = await alpha.request('GET', `/v1/runs/${runs.body.items[0].id}/events`, undefined, { headers: { 'last-event-id': 'abc' } });
      expect(res.status).toBe(400);
    });
  });

  describe('OpenAPI', () => {
    it('documents every route at /openapi.json and serves /docs without a key', async () => {
      const anonymous = new ApiClient(ctx.platform.gatewayUrl, undefined);
      const doc = await anonymous.get('/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
      const paths = Object.keys(doc.body.paths);
      for (const p of ['/v1/runs', '/v1/runs/{id}/events', '/v1/chat/completions', '/v1/models', '/v1/projects/{id}/keys', '/v1/pipelines/validate']) expect(paths).toContain(p);
    });

    it('serves /docs with every file from the gateway itself: no URL of another origin, a CSP of this origin only', async () => {
      const docs = await fetch(`${ctx.platform.gatewayUrl}/docs`);
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(docs.headers.get('content-security-policy')).toContain("script-src 'self';");
      const page = await docs.text();
      const urls = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(urls).toEqual(['docs/assets/swagger-ui.css', 'docs/assets/swagger-ui-bundle.js', 'docs/assets/docs.js']);
      expect(page).not.toMatch(/https?:\/\//);
      const types: Record<string, string> = {};
      for (const url of urls) {
        const asset = await fetch(new URL(url, `${ctx.platform.gatewayUrl}/docs`));
        expect(asset.status).toBe(200);
        types[url] = asset.headers.get('content-type')!;
        const text = await asset.text();
        if (url.endsWith('.css')) expect(text.match(/url\((?!"?data:)[^)]*\)/g)).toBeNull(); // icons are data: URLs
        if (url.endsWith('docs.js')) expect(text).toContain("new URL('openapi.json', document.baseURI)");
      }
      expect(types).toEqual({
        'docs/assets/swagger-ui.css': 'text/css; charset=utf-8',
        'docs/assets/swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
        'docs/assets/docs.js': 'text/javascript; charset=utf-8',
      });
      const unknown = await fetch(`${ctx.platform.gatewayUrl}/docs/assets/package.json`);
      expect(unknown.status).toBe(404);
      expect((await fetch(`${ctx.platform.gatewayUrl}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
    });
  });
});
