import { Body, Controller, Get, HttpCode, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ChatCompletionRequest } from '@trellis/contracts';
import { Audited, field, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { ApiRoute } from '../openapi/api-route';
import { ChatCompletionsService } from './chat-completions.service';
import { OpenAiErrorFilter } from './openai-error.filter';

/** OpenAI-compatible: the project's pipelines as models (docs/openai-compatible.md). */
@Controller('v1')
@UseGuards(ApiKeyGuard)
@UseFilters(OpenAiErrorFilter)
export class OpenAiController {
  constructor(private readonly chat: ChatCompletionsService) {}

  @Get('models')
  @ApiRoute({ tag: 'openai', summary: "The project's pipelines as models", openAiErrors: true, responses: { 200: { description: 'models', schema: 'ModelList' } } })
  models(@Req() req: AuthenticatedRequest) {
    return this.chat.models(req.project);
  }

  @Get('models/:model')
  @ApiRoute({ tag: 'openai', summary: 'One pipeline as a model', openAiErrors: true, responses: { 200: { description: 'the model', schema: 'ModelObject' } } })
  model(@Req() req: AuthenticatedRequest, @Param('model') model: string) {
    return this.chat.model(req.project, model);
  }

  /** Non-streaming answers the completion; streaming writes `chat.completion.chunk`s itself. */
  @Post('chat/completions')
  @HttpCode(200)
  @ApiRoute({
    tag: 'openai',
    summary: 'Run the pipeline named by `model` with the conversation',
    description:
      'See docs/openai-compatible.md for the mapping of messages to inputs and of the answer step. With `stream: true`, `text/event-stream` of `ChatCompletionChunk`s ending with `data: [DONE]`.',
    openAiErrors: true,
    body: { schema: 'ChatCompletionRequest' },
    responses: { 200: { description: 'the completion (or a chunk stream)', schema: 'ChatCompletion' } },
  })
  @Audited('chat.complete', ({ body }) => resourceOf('pipelines', field(body, 'model')))
  async completions(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.chat.complete(req.principal, ChatCompletionRequest.parse(body ?? {}), reply);
  }
}
