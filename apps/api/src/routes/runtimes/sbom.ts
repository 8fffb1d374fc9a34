/**
 * What a runtime contains and how it was built, per architecture: `GET /v1/runtimes/:ref/sbom`
 * (SPDX 2.3 or CycloneDX 1.5 JSON, as stored), `…/packages` (the SBOM's package list) and
 * `…/provenance` (the DSSE envelope as stored, with the signed manifest, for the client to
 * verify against the keys it trusts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  RuntimeArchQuery,
  RuntimePackagesResponse,
  RuntimeProvenanceResponse,
  RuntimeRefParams,
  RuntimeSbomQuery,
} from '@joblet/spec';

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/runtimes/:ref/sbom',
    {
      config: { role: 'reader' },
      schema: {
        params: RuntimeRefParams,
        querystring: RuntimeSbomQuery,
        response: { 200: z.record(z.string(), z.unknown()) },
      },
    },
    async (request) => {
      const { arch, format } = request.query;
      return (await app.runtimeSboms.sbom(request.params.ref, arch, format)) as Record<
        string,
        unknown
      >;
    },
  );
  r.get(
    '/v1/runtimes/:ref/packages',
    {
      config: { role: 'reader' },
      schema: {
        params: RuntimeRefParams,
        querystring: RuntimeArchQuery,
        response: { 200: RuntimePackagesResponse },
      },
    },
    async (request) => app.runtimeSboms.packages(request.params.ref, request.query.arch),
  );
  r.get(
    '/v1/runtimes/:ref/provenance',
    {
      config: { role: 'reader' },
      schema: {
        params: RuntimeRefParams,
        querystring: RuntimeArchQuery,
        response: { 200: RuntimeProvenanceResponse },
      },
    },
    async (request) => app.runtimeSboms.provenance(request.params.ref, request.query.arch),
  );
};
export default route;
