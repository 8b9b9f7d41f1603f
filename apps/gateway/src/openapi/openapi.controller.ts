import { Controller, Get, Header } from '@nestjs/common';
import { DOCS_PAGE } from './docs-page';
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
  docs() {
    return DOCS_PAGE;
  }
}
