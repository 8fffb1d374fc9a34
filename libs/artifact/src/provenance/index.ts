// Signed provenance: in-toto statements with SLSA v1 predicates, in DSSE envelopes.
export {
  DsseEnvelope,
  IN_TOTO_PAYLOAD_TYPE,
  pae,
  signEnvelope,
  verifyEnvelope,
  type EnvelopeVerification,
} from './dsse.js';
export {
  JOBLET_BUILDER_PREFIX,
  JOBLET_BUILD_TYPE,
  ProvenanceStatement,
  SLSA_PROVENANCE_TYPE,
  STATEMENT_TYPE,
  archiveSubjectName,
  provenanceStatement,
  treeSubjectName,
  type ProvenanceInput,
  type ResourceDescriptor,
} from './statement.js';
