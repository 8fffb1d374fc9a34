// @joblet/sandbox: processes (exec), file locks keyed to a process's start time, bubblewrap
// sandboxes, egress (slirp4netns), cgroups (layout detection, one group per job or build with
// enforced limits), host probes and foreign-arch support (binfmt, ELF) for the runtime farm's
// workers and agents. The artifact format (pack, extract, tree hash) is @joblet/artifact's;
// debootstrap base roots are the worker's.
export * from './errors.js';
export { run, spawnProcess, succeeded, commandError } from './exec.js';
export type { OutputStreamName, ProcessHandle, RunOptions, RunResult } from './exec.js';
export { acquireFileLock, withFileLock, processStartTime } from './file-lock.js';
export type { FileLock, FileLockOptions, LockOwner } from './file-lock.js';
export { NOBODY, bwrapArgs, connectedNetwork } from './bwrap.js';
export { PACKAGE_CAPABILITIES } from './capabilities.js';
export {
  BRIDGE_PREFIX,
  HOST_TABLE,
  VETH_PREFIX,
  bridgeName,
  bridgeResidue,
  cleanupBridges,
  ensureBridge,
  hostBridges,
  hostRuleset,
  removeBridgeIfUnused,
  vethName,
} from './bridge-host.js';
export type { BridgeAttachment } from './bridge-attach.js';
export type {
  BindMount,
  RootOverlay,
  SandboxNetwork,
  SandboxSpec,
  TmpfsMount,
  UsernsRoot,
} from './bwrap.js';
export { launchSandbox, runInSandbox, sandboxSetupFailed } from './launcher.js';
export type { LaunchOptions, SandboxProcess } from './launcher.js';
export {
  EGRESS_LABEL_VAR,
  EGRESS_PIPES,
  connectEgress,
  egressNamespaceArgs,
  egressResolvConfArgs,
  slirpArgs,
} from './egress.js';
export type { EgressLink, EgressOptions } from './egress.js';
export {
  EGRESS_DNS,
  EGRESS_RESOLV_CONF,
  directResolvConf,
  egressDnsProblem,
  egressResolvConf,
} from './egress-resolv.js';
export { probeEgress } from './egress-probe.js';
export {
  DENIED_V4,
  DENIED_V6,
  SLIRP_DNS,
  applyEgressPolicy,
  egressRuleset,
  hostAddresses,
} from './egress-policy.js';
export { egressProcesses } from './egress-processes.js';
export type { EgressProcess } from './egress-processes.js';
export type { EgressProbeOptions } from './egress-probe.js';
export { detectCgroupLayout, layoutFrom, parseMountInfo, parseProcCgroup } from './cgroups.js';
export type {
  CgroupLayout,
  CgroupSources,
  CgroupV1Info,
  CgroupV2Info,
  MountInfo,
  ProcCgroup,
} from './cgroups.js';
export {
  binfmtHandler,
  hasCommand,
  hasUnprivilegedUserns,
  hostDebArch,
  isRoot,
  kernelAtLeast,
  qemuBinfmtName,
} from './host-probe.js';
export type { BinfmtHandler } from './host-probe.js';
export { ArchUnsupportedError, ensureArchSupport } from './arch-support.js';
export type { ArchCheckOptions, ArchDaemon, ArchSupport, ArchSupportLog } from './arch-support.js';
export {
  BINFMT_CONF_DIR,
  BINFMT_DIR,
  BinfmtError,
  mountBinfmtMisc,
  registerQemuBinfmt,
  unregisterBinfmt,
} from './binfmt.js';
export { ELF_MACHINE, PROBE_EXIT_CODE, elfMachine, probeElf, readElfMachine } from './elf.js';
export { CgroupManager } from './cgroup.js';
export type { CgroupManagerOptions } from './cgroup.js';
export type { Cgroup, CgroupLimits, CgroupStats, CgroupSupport, IoLimit } from './cgroup-types.js';
export { MIN_MEMORY_BYTES } from './cgroup-limits.js';
export { DEFAULT_CGROUP_STATE_DIR } from './cgroup-lease.js';
export {
  CPU_PERIOD_US,
  formatCpuList,
  formatCpuMax,
  formatIoMax,
  parseCpuList,
} from './cgroup-format.js';
export { blockDeviceOf } from './block-device.js';
export {
  SUBID_COUNT,
  USERNS_SCRIPT,
  checkIdRange,
  parseSubids,
  subidProblem,
  usernsCommand,
} from './userns.js';
export type { IdRange, SubidEntry } from './userns.js';
export {
  MIN_DISK_BYTES,
  cleanupDiskImages,
  createDiskImage,
  diskImagesMissing,
  formatDiskImage,
  isMountPoint,
  mountDiskImage,
  mountsUnder,
  releaseDiskImage,
  unmount,
} from './disk-image.js';
export type { DiskImageSpec } from './disk-image.js';
export { detachLoopDevice, loopDevices, loopDevicesBackedBy } from './loop-devices.js';
export type { LoopDevice } from './loop-devices.js';
