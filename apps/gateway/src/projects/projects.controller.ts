import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { CreateApiKeyBody, CreateProjectBody, PlannerRpc, UpdateProjectBody } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, resourceOf } from '../audit/audited';
import { ApiRoute } from '../openapi/api-route';
import { AdminGuard } from '../http/admin.guard';
import { ProjectService } from './project.service';

/** Project administration, with the admin token (DESIGN §9). */
@Controller('v1/projects')
@UseGuards(AdminGuard)
export class ProjectsController {
  constructor(
    private readonly projects: ProjectService,
    private readonly rpc: RpcClient,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiRoute({
    tag: 'projects',
    summary: 'Create a project',
    description: 'With `Authorization: Bearer <TRELLIS_ADMIN_TOKEN>`; 404 when the gateway has no admin token.',
    body: { schema: 'CreateProjectBody' },
    responses: { 201: { description: 'created', schema: 'ProjectView' } },
  })
  @Audited('project.create', ({ body, result }) => resourceOf('projects', field(result, 'id') ?? field(body, 'id')))
  create(@Body() body: unknown) {
    return this.projects.createProject(CreateProjectBody.parse(body ?? {}));
  }

  @Get(':id')
  @ApiRoute({ tag: 'projects', summary: "A project's settings and its usage today", responses: { 200: { description: 'the project, with `usage`', schema: 'ProjectWithUsage' } } })
  async get(@Param('id') id: string) {
    const [project, usage] = await Promise.all([this.projects.getProject(id), this.rpc.call(PlannerRpc.usage, { project: id })]);
    return { ...project, usage };
  }

  @Patch(':id')
  @ApiRoute({
    tag: 'projects',
    summary: "Change a project's settings: admission, weight, budgets, recording",
    description:
      'Fields given change; `null` returns one to its default. `maxRunningRuns`: runs running at once (more are queued); `weight`: its share of busy executors (fair dispatch); `maxTokensPerDay`, `maxCostPerDay`: budgets per UTC day; `recording: false` stops recording the calls of its runs started from then on (which then cannot be replayed from their answers).',
    body: { schema: 'UpdateProjectBody' },
    responses: { 200: { description: 'the project', schema: 'ProjectView' } },
  })
  @Audited('project.update', ({ params }) => resourceOf('projects', params['id']))
  async update(@Param('id') id: string, @Body() body: unknown) {
    const project = await this.projects.updateProject(id, UpdateProjectBody.parse(body ?? {}));
    // The planner enforces them: it learns them now, and a raised limit starts queued runs at once.
    const settings = await this.projects.settingsOf(id);
    await this.rpc.call(PlannerRpc.projectSettings, { project: id, maxRunning: settings.maxRunningRuns, weight: settings.weight, budget: settings.budget });
    return project;
  }

  @Post(':id/keys')
  @HttpCode(201)
  @ApiRoute({
    tag: 'projects',
    summary: 'Create an API key of the project',
    description: 'The answer holds the key: the only time it is shown. Only its SHA-256 is stored.',
    body: { schema: 'CreateApiKeyBody' },
    responses: { 201: { description: 'created', schema: 'CreatedApiKey' } },
  })
  @Audited('key.create', ({ result }) => resourceOf('keys', field(result, 'id')))
  createKey(@Param('id') id: string, @Body() body: unknown) {
    return this.projects.createKey(id, CreateApiKeyBody.parse(body ?? {}));
  }

  @Get(':id/keys')
  @ApiRoute({ tag: 'projects', summary: "List the project's keys (prefixes only)", responses: { 200: { description: 'the keys', schema: 'ApiKeyList' } } })
  listKeys(@Param('id') id: string) {
    return this.projects.listKeys(id);
  }

  @Delete(':id/keys/:keyId')
  @HttpCode(204)
  @ApiRoute({ tag: 'projects', summary: 'Revoke a key', responses: { 204: { description: 'revoked' } } })
  @Audited('key.revoke', ({ params }) => resourceOf('keys', params['keyId']))
  async revokeKey(@Param('id') id: string, @Param('keyId') keyId: string): Promise<void> {
    await this.projects.revokeKey(id, keyId);
  }
}
