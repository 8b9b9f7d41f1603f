import type { AuditList, AuditRecord } from '@trellis/contracts';
import { ApiClient, startTestPlatform, uniqueToken, type ApiResponse, type TestPlatform } from '@trellis/testing';

const ADMIN_TOKEN = `admin-${uniqueToken()}-token`;
const PROMPT_SECRET = 'prompt-text-never-audited';
const INPUT_SECRET = 'input-value-never-audited';
const CHAT_SECRET = 'chat-message-never-audited';

/**
 * The audit trail through the whole platform (PRD NFR4): every state-changing call recorded
 * with its actor, project, resource and outcome; read per project, or across projects with
 * the admin token; filters and pages; nothing secret in any record.
 */
describe('audit trail', () => {
  let ctx: TestPlatform;
  let admin: ApiClient;
  let acme: ApiClient;
  let rival: ApiClient;
  const secrets: string[] = [ADMIN_TOKEN];
  const keyIds: Record<string, string> = {};
  /** What each call answered, in the order made: the expected trail, oldest first. */
  const expected: Array<Pick<AuditRecord, 'project' | 'actor' | 'action' | 'resource' | 'outcome' | 'status' | 'error'>> = [];
  let runId: string;

  const expectRecord = (res: ApiResponse, record: Omit<(typeof expected)[number], 'outcome' | 'status' | 'error'>) => {
    expected.push({ ...record, outcome: res.status < 400 ? 'success' : 'error', status: res.status, error: res.status < 400 ? null : (res.body?.code ?? res.body?.error?.code ?? null) });
    return res;
  };
  const newKey = async (project: string, name: string) => {
    const created = expectRecord(await admin.post(`/v1/projects/${project}/keys`, { name }), { project, actor: 'admin', action: 'key.create', resource: null });
    expect(created.status).toBe(201);
    expected.at(-1)!.resource = `keys/${created.body.id}`;
    secrets.push(created.body.key);
    keyIds[name] = created.body.id;
    return created.body as { id: string; key: string };
  };
  /** Every page of the trail, following `next`. */
  const allPages = async (client: ApiClient, query = '', limit = 200): Promise<AuditRecord[]> => {
    const items: AuditRecord[] = [];
    let before: string | null = null;
    do {
      const page: ApiResponse<AuditList> = await client.get(`/v1/audit?limit=${limit}${query}${before ? `&before=${before}` : ''}`);
      expect(page.status).toBe(200);
      items.push(...page.body.items);
      before = page.body.next;
    } while (before);
    return items;
  };
  const shape = (r: AuditRecord) => ({ project: r.project, actor: r.actor, action: r.action, resource: r.resource, outcome: r.outcome, status: r.status, error: r.error });

  beforeAll(async () => {
    ctx = await startTestPlatform({ env: { TRELLIS_ADMIN_TOKEN: ADMIN_TOKEN } });
    admin = new ApiClient(ctx.platform.gatewayUrl, ADMIN_TOKEN);
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('records every state-changing call with who made it, in which project, on what, and how it ended', async () => {
    expect(expectRecord(await admin.post('/v1/projects', { id: 'acme' }), { project: 'acme', actor: 'admin', action: 'project.create', resource: 'projects/acme' }).status).toBe(201);
    acme = new ApiClient(ctx.platform.gatewayUrl, (await newKey('acme', 'ci')).key);
    const old = await newKey('acme', 'old');
    expect(expectRecord(await admin.request('DELETE', `/v1/projects/acme/keys/${old.id}`), { project: 'acme', actor: 'admin', action: 'key.revoke', resource: `keys/${old.id}` }).status).toBe(204);
    const ci = keyIds['ci']!;
    const by = { project: 'acme', actor: ci };

    const spec = {
      version: 1,
      name: 'greet',
      inputs: { who: { type: 'string', required: true }, pace: { type: 'string', default: '' } },
      steps: { hello: { prompt: `Say ${PROMPT_SECRET} to {{ inputs.who }} {{ inputs.pace }}` } },
    };
    expect(expectRecord(await acme.post('/v1/pipelines', spec), { ...by, action: 'pipeline.register', resource: 'pipelines/greet' }).status).toBe(201);
    expect((await acme.post('/v1/pipelines/validate', spec)).status).toBe(200); // compiles only: not audited
    // Slow enough to be cancelled while it runs.
    const started = await acme.post('/v1/runs', { pipeline: 'greet', inputs: { who: INPUT_SECRET, pace: '[[sim latency_ms=3000]]' } });
    expect(started.status).toBe(202);
    runId = started.body.id;
    expectRecord(started, { ...by, action: 'run.start', resource: `runs/${runId}` });
    expect(started.body.actor).toBe(ci);
    expect(expectRecord(await acme.post(`/v1/runs/${runId}/cancel`), { ...by, action: 'run.cancel', resource: `runs/${runId}` }).status).toBe(200);
    expect(expectRecord(await acme.post(`/v1/runs/${runId}/resume`), { ...by, action: 'run.resume', resource: `runs/${runId}` }).status).toBe(200);
    const run = await acme.waitForRun(runId);
    expect(run).toMatchObject({ status: 'succeeded', actor: ci });
    // Refused: the run has ended. Recorded as a failure.
    expect(expectRecord(await acme.post(`/v1/runs/${runId}/cancel`), { ...by, action: 'run.cancel', resource: `runs/${runId}` }).status).toBe(409);

    expect(expectRecord(await acme.post('/v1/templates', { name: 'welcome', body: 'Welcome {{ inputs.name }}' }), { ...by, action: 'template.create', resource: 'templates/welcome' }).status).toBe(201);
    expect(expectRecord(await acme.post('/v1/templates', { name: 'welcome', body: 'Hello {{ inputs.name }}' }), { ...by, action: 'template.create', resource: 'templates/welcome' }).status).toBe(201);
    expect(expectRecord(await acme.request('PUT', '/v1/templates/welcome/labels/staging', { version: 2 }), { ...by, action: 'template.label', resource: 'templates/welcome/labels/staging' }).status).toBe(200);
    expect((await acme.post('/v1/templates/welcome/render', { variables: { name: 'x' } })).status).toBe(200); // a preview: not audited

    const asAdmin = { headers: { 'x-trellis-admin-token': ADMIN_TOKEN } };
    const variants = [{ name: 'a', version: 1 }, { name: 'b', version: 2 }];
    const draft = await acme.post('/v1/experiments', { template: 'welcome', status: 'draft', variants }, asAdmin);
    expect(draft.status).toBe(201);
    expectRecord(draft, { ...by, action: 'experiment.create', resource: `experiments/${draft.body.id}` });
    expect(expectRecord(await acme.post(`/v1/experiments/${draft.body.id}/start`, undefined, asAdmin), { ...by, action: 'experiment.start', resource: `experiments/${draft.body.id}` }).status).toBe(200);
    expect(expectRecord(await acme.post(`/v1/experiments/${draft.body.id}/stop`, undefined, asAdmin), { ...by, action: 'experiment.stop', resource: `experiments/${draft.body.id}` }).status).toBe(200);
    const running = await acme.post('/v1/experiments', { template: 'welcome', variants }, asAdmin);
    expectRecord(running, { ...by, action: 'experiment.create', resource: `experiments/${running.body.id}` });
    expect(expectRecord(await acme.post(`/v1/experiments/${running.body.id}/promote`, { variant: 'b' }, asAdmin), { ...by, action: 'experiment.promote', resource: `experiments/${running.body.id}` }).status).toBe(200);

    const chat = await acme.post('/v1/chat/completions', { model: 'greet', messages: [{ role: 'user', content: CHAT_SECRET }] });
    expect(chat.status).toBe(200);
    expectRecord(chat, { ...by, action: 'chat.complete', resource: 'pipelines/greet' });

    // Failures are recorded with their status and problem code.
    const missing = expectRecord(await acme.post('/v1/runs/00000000-0000-7000-8000-000000000000/cancel'), { ...by, action: 'run.cancel', resource: 'runs/00000000-0000-7000-8000-000000000000' });
    expect(missing.status).toBe(404);
    const invalid = expectRecord(await acme.post('/v1/runs', { pipeline: 'greet', colour: 'blue' }), { ...by, action: 'run.start', resource: null });
    expect(invalid.status).toBe(400);
    const taken = expectRecord(await admin.post('/v1/projects', { id: 'acme' }), { project: 'acme', actor: 'admin', action: 'project.create', resource: 'projects/acme' });
    expect(taken.status).toBe(409);
    // A call that fails authentication has no actor, and is not recorded.
    expect((await new ApiClient(ctx.platform.gatewayUrl, 'not-a-key-of-anyone').post('/v1/runs', { pipeline: 'greet' })).status).toBe(401);

    const trail = await allPages(acme);
    expect(trail.map(shape).reverse()).toEqual(expected);
    expect(trail.filter((r) => r.outcome === 'error').map((r) => [r.action, r.status, r.error])).toEqual([
      ['project.create', 409, 'conflict'],
      ['run.start', 400, 'invalid_argument'],
      ['run.cancel', 404, 'not_found'],
      ['run.cancel', 409, 'failed_precondition'],
    ]);
    for (const r of trail) expect(Date.parse(r.at)).not.toBeNaN();
  });

  it("keeps a project's trail from another project's keys, and shows the admin token every project", async () => {
    await admin.post('/v1/projects', { id: 'rival' });
    rival = new ApiClient(ctx.platform.gatewayUrl, (await newKey('rival', 'rival-ci')).key);
    const inline = await rival.post('/v1/runs', { spec: { version: 1, name: 'inline', steps: { a: { prompt: 'hi' } } } });
    expect(inline.status).toBe(202);

    const rivals = await allPages(rival);
    expect(rivals.map((r) => [r.actor, r.action])).toEqual([
      [keyIds['rival-ci'], 'run.start'],
      ['admin', 'key.create'],
      ['admin', 'project.create'],
    ]);
    expect((await allPages(acme)).every((r) => r.project === 'acme')).toBe(true);
    expect((await acme.get('/v1/audit?project=rival')).status).toBe(404);

    const everything = await allPages(admin);
    expect(new Set(everything.map((r) => r.project))).toEqual(new Set(['acme', 'rival']));
    expect((await allPages(admin, '&project=rival')).map((r) => r.id)).toEqual(rivals.map((r) => r.id));
  });

  it('filters by action, actor, resource and time, and pages with before', async () => {
    const ci = keyIds['ci']!;
    const trail = await allPages(acme);
    expect((await allPages(acme, '&action=run.start')).map((r) => r.status)).toEqual([400, 202]);
    expect((await allPages(acme, '&actor=admin')).map((r) => r.action)).toEqual(['project.create', 'key.revoke', 'key.create', 'key.create', 'project.create']);
    expect((await allPages(acme, `&actor=${ci}&resource=runs/${runId}`)).map((r) => r.action)).toEqual(['run.cancel', 'run.resume', 'run.cancel', 'run.start']);
    // A resource also finds what is under it.
    expect((await allPages(acme, '&resource=templates/welcome')).map((r) => r.resource)).toEqual(['templates/welcome/labels/staging', 'templates/welcome', 'templates/welcome']);
    expect(await allPages(acme, '&resource=templates/welc')).toEqual([]);

    const middle = trail[Math.floor(trail.length / 2)]!;
    const since = await allPages(acme, `&since=${encodeURIComponent(middle.at)}`);
    const until = await allPages(acme, `&until=${encodeURIComponent(middle.at)}`);
    expect(since.every((r) => r.at >= middle.at) && until.every((r) => r.at < middle.at)).toBe(true);
    expect([...since, ...until].map((r) => r.id)).toEqual(trail.map((r) => r.id));

    const paged = await allPages(acme, '', 4);
    expect(paged.map((r) => r.id)).toEqual(trail.map((r) => r.id));
    const first = await acme.get<AuditList>('/v1/audit?limit=4');
    expect(first.body.items).toHaveLength(4);
    expect(first.body.next).toBe(first.body.items[3]!.id);

    const bad = await acme.get('/v1/audit?action=run.explode&since=yesterday&before=not-an-id');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['action', 'before', 'since']);
  });

  it('stores no key, token, prompt, input or message in any record', async () => {
    const everything = JSON.stringify(await allPages(admin));
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of [...secrets, PROMPT_SECRET, INPUT_SECRET, CHAT_SECRET]) expect(everything).not.toContain(secret);
  });
});
