import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** `/docs` (Swagger UI) and `/docs-json` (OpenAPI) covering every route. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('LLM Gateway')
    .setDescription(
      'Multi-tenant LLM gateway: tenant completions (X-API-Key or Bearer tenant key), admin tenant/key ' +
        'management, usage and audit reports (admin key). Errors use the OpenAI error shape.',
    )
    .setVersion('1.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'tenant-key')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'admin-key')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Tenant key as a Bearer token (OpenAI SDK)' },
      'bearer',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
