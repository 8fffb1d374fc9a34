/**
 * `/v1/runtimes`: validate on the server (maintainer), list and read (with SBOMs and provenance),
 * remove (admin), test.
 */
import type { FastifyPluginAsync } from 'fastify';
import manage from './manage.js';
import read from './read.js';
import sbom from './sbom.js';
import validate from './validate.js';

const runtimes: FastifyPluginAsync = async (app) => {
  await app.register(validate);
  await app.register(read);
  await app.register(sbom);
  await app.register(manage);
};
export default runtimes;
