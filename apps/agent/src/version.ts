/** Reported in NodeInfo.agentVersion; keep in step with package.json. */
export const AGENT_VERSION = '0.1.0';
