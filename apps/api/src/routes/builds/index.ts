/** `/v1/builds`: submit (maintainer), list and read, cancel (maintainer), and the event stream. */
import type { FastifyPluginAsync } from 'fastify';
import cancel from './cancel.js';
import events from './events.js';
import read from './read.js';
import submit from './submit.js';

const builds: FastifyPluginAsync = async (app) => {
  await app.register(submit);
  await app.register(read);
  await app.register(cancel);
  await app.register(events);
};
export default builds;
