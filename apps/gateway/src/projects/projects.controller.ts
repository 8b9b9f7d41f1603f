import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { CreateApiKeyBody, CreateProjectBody, PlannerRpc, UpdateProjectBody } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, resourceOf } from '../audit/audited';
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
  @Audited('project.create', ({ body, result }) => resourceOf('projects', field(result, 'id') ?? field(body, 'id')))
  create(@Body() body: unknown) {
    return this.projects.createProject(CreateProjectBody.parse(body ?? {}));
  }

  /** A project's settings, and its usage today against its budgets. */
  @Get(':id')
  async get(@Param('id') id: string) {
    const [project, usage] = await Promise.all([this.projects.getProject(id), this.rpc.call(PlannerRpc.usage, { project: id })]);
    return { ...project, usage };
  }

  /**
   * Changes a project's settings (admission, weight, budgets, recording); null returns one to its
   * default. Runs started from now on record (or not) as the project says.
   */
  @Patch(':id')
  @Audited('project.update', ({ params }) => resourceOf('projects', params['id']))
  async update(@Param('id') id: string, @Body() body: unknown) {
    const project = await this.projects.updateProject(id, UpdateProjectBody.parse(body ?? {}));
    // The planner enforces them: it learns them now, and a raised limit starts queued runs at once.
    const settings = await this.projects.settingsOf(id);
    await this.rpc.call(PlannerRpc.projectSettings, { project: id, maxRunning: settings.maxRunningRuns, weight: settings.weight, budget: settings.budget });
    return project;
  }

  /** The answer holds the key itself: the only time it is shown. */
  @Post(':id/keys')
  @HttpCode(201)
  @Audited('key.create', ({ result }) => resourceOf('keys', field(result, 'id')))
  createKey(@Param('id') id: string, @Body() body: unknown) {
    return this.projects.createKey(id, CreateApiKeyBody.parse(body ?? {}));
  }

  @Get(':id/keys')
  listKeys(@Param('id') id: string) {
    return this.projects.listKeys(id);
  }

  @Delete(':id/keys/:keyId')
  @HttpCode(204)
  @Audited('key.revoke', ({ params }) => resourceOf('keys', params['keyId']))
  async revokeKey(@Param('id') id: string, @Param('keyId') keyId: string): Promise<void> {
    await this.projects.revokeKey(id, keyId);
  }
}
