/**
 * The one error handler: known errors become 4xx bodies `{ code, message, details }` naming the
 * field; anything else is a 500 with a generic message, logged with the request id.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { ApiErrorBody, ApiErrorCode, FieldIssue } from '@joblet/spec';

/** An error a handler throws on purpose; its message is safe to show to the client. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: FieldIssue[],
  ) {
    super(message);
  }
}

const STATUS_CODES: Partial<Record<number, ApiErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'BAD_REQUEST',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

function fieldName(instancePath: string, context: string): string {
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
  return path === '' ? context : path;
}

export default fp(
  (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      let status: number;
      let body: ApiErrorBody;
      if (err instanceof ApiError) {
        status = err.statusCode;
        body = { code: err.code, message: err.message, details: err.details };
      } else if (hasZodFastifySchemaValidationErrors(err)) {
        const details = err.validation.map((v) => ({
          field: fieldName(v.instancePath, err.validationContext ?? 'body'),
          message: v.message ?? 'invalid',
        }));
        status = 400;
        body = {
          code: 'BAD_REQUEST',
          message: `invalid request ${err.validationContext ?? 'body'}: ${details
            .map((d) => `${d.field}: ${d.message}`)
            .join('; ')}`,
          details,
        };
      } else if (
        typeof err.statusCode === 'number' &&
        err.statusCode >= 400 &&
        err.statusCode < 500
      ) {
        // Fastify's own client errors (bad JSON, body too large, wrong content type).
        status = err.statusCode;
        body = { code: STATUS_CODES[status] ?? 'BAD_REQUEST', message: err.message };
      } else {
        request.log.error({ err }, 'request failed');
        status = 500;
        body = {
          code: 'INTERNAL',
          message: 'internal error; see the server log for this request id',
        };
      }
      void reply.status(status).send({ ...body, requestId: request.id });
    });

    app.setNotFoundHandler((request, reply) => {
      void reply.status(404).send({
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
        requestId: request.id,
      } satisfies ApiErrorBody);
    });
  },
  { name: 'errors' },
);
