import { Controller, Get, Header, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GatewayError } from '../http/gateway.errors';
import { DOCS_CSP, DOCS_PAGE, docsAsset } from './docs-page';
import { ApiRoute } from './api-route';
import { OPENAPI_DOCUMENT, type openApiDocument } from './openapi.document';

/** `/openapi.json` and `/docs`, public: they describe the API, never any project's data. */
@Controller()
export class OpenApiController {
  // Injected: the document is built from every controller, this one among them.
  constructor(@Inject(OPENAPI_DOCUMENT) private readonly document: ReturnType<typeof openApiDocument>) {}

  @Get('openapi.json')
  @ApiRoute({ tag: 'docs', summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } } })
  openapi() {
    return this.document;
  }

  @Get('docs')
  @ApiRoute({ tag: 'docs', summary: 'This document, browsable (Swagger UI)', responses: { 200: { description: 'an HTML page', contentType: 'text/html' } } })
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', DOCS_CSP)
  docs() {
    return DOCS_PAGE;
  }

  /** Swagger UI's files and the page's start-up script; the files of the installed package version. */
  @Get('docs/assets/:file')
  @ApiRoute({
    tag: 'docs',
    summary: "The docs page's scripts and styles",
    description: 'Swagger UI (`swagger-ui-bundle.js`, `swagger-ui.css`) from the installed `swagger-ui-dist`, and the start-up script `docs.js`; any other name is a 404.',
    responses: { 200: { description: 'the file, as JavaScript or CSS', contentType: 'text/javascript' } },
  })
  async asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const asset = docsAsset(file);
    if (!asset) throw new GatewayError('not_found', `the docs page has no file "${file}"`);
    await reply.header('content-type', asset.contentType).header('cache-control', 'public, max-age=3600').send(asset.body);
  }
}
