/**
 * `POST /v1/runtimes/validate` — the server's word on a spec: its catalog is the one that builds,
 * so a base version it lacks is an error here (a warning offline), and it knows what exists and
 * which architectures have workers.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  SPEC_REQUEST_BODY_LIMIT_BYTES,
  ValidateRequest,
  ValidateResponse,
  specArchitectures,
  summarizeSpec,
  validateRuntimeSpec,
  type Diagnostic,
} from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/runtimes/validate',
    {
      config: { role: 'maintainer' },
      bodyLimit: SPEC_REQUEST_BODY_LIMIT_BYTES,
      schema: { body: ValidateRequest, response: { 200: ValidateResponse } },
    },
    async (request) => {
      const file = request.body.filename ?? 'runtime.yaml';
      const result = validateRuntimeSpec(request.body.spec, {
        file,
        catalog: app.settings.catalog,
        catalogMode: 'server',
      });
      const workers = await app.farmState.workersByArch();
      if (!result.ok || !result.spec) {
        return {
          valid: false,
          errors: result.errors,
          warnings: result.warnings,
          server: { workers },
        };
      }
      const spec = result.spec;
      const warnings: Diagnostic[] = [...result.warnings];
      const exists = await app.farmState.runtimeVersionExists(spec.name, spec.version);
      if (exists) {
        warnings.push(
          serverWarning(
            file,
            'ALREADY_EXISTS',
            'version',
            `${spec.name}@${spec.version} already exists; a build answers "cached" unless --force`,
          ),
        );
      }
      for (const arch of specArchitectures(spec, app.settings.architectures)) {
        if (!workers[arch]) {
          warnings.push(
            serverWarning(
              file,
              'NO_WORKERS',
              'architectures',
              `no ${arch} workers are online; a build waits in the queue until one starts`,
            ),
          );
        }
      }
      return {
        valid: true,
        errors: [],
        warnings,
        summary: summarizeSpec(spec, app.settings.catalog, app.settings.architectures),
        server: { exists, workers },
      };
    },
  );
};

function serverWarning(file: string, code: string, path: string, message: string): Diagnostic {
  return { severity: 'warning', code, file, line: 1, column: 1, path, message };
}

export default route;
