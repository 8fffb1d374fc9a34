/** `/v1/runtimes`: validate on the server (maintainer), list and read, remove (admin), test. */
import type { FastifyPluginAsync } from 'fastify';
import manage from './manage.js';
import read from './read.js';
import validate from './validate.js';

const runtimes: FastifyPluginAsync = async (app) => {
  await app.register(validate);
  await app.register(read);
  await app.register(manage);
};
export default runtimes;
