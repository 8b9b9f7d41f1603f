import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GatewayError } from '../http/gateway.errors';
import { DOCS_CSP, DOCS_PAGE, docsAsset } from './docs-page';
import { openApiDocument } from './openapi.document';

/** `/openapi.json` and `/docs`, public: they describe the API, never any project's data. */
@Controller()
export class OpenApiController {
  private readonly document = openApiDocument();

  @Get('openapi.json')
  openapi() {
    return this.document;
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_CSP)
  docs() {
    return DOCS_PAGE;
  }

  /** Swagger UI's files and the page's start-up script; the files of the installed package version. */
  @Get('docs/assets/:file')
  async asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const asset = docsAsset(file);
    if (!asset) throw new GatewayError('not_found', `the docs page has no file "${file}"`);
    await reply.header('content-type', asset.contentType).header('cache-control', 'public, max-age=3600').send(asset.body);
  }
}
