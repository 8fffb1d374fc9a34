// @joblet/pki: the farm's mTLS certificates, made with the openssl CLI — a CA, a server
// certificate with SANs and one client certificate per role. `rnx admin certs init` uses it, and
// so do the API's tests and benchmarks, so both run on certificates made by the same code.
export * from './errors.js';
export { openssl } from './openssl.js';
export { ORG, createCa, issueLeaf, parseSan } from './pki.js';
export type { KeyPair, LeafOptions } from './pki.js';
export { certsInit } from './certs-init.js';
export type { CertsInitOptions, CertsInitResult } from './certs-init.js';
