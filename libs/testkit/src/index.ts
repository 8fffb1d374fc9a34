export * from './s3-server.js';
export * from './temp-dir.js';
export * from './pip-index.js';
export * from './free-port.js';
export * from './host-address.js';
export * from './redis-servers.js';
export * from './signing-keys.js';
export * from './file-server.js';
