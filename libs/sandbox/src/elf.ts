/**
 * ELF headers of the farm's architectures: which `e_machine` each arch has, reading it from a file
 * or buffer, and a minimal static executable per arch (`exit(42)`) that proves a host can execute
 * that arch (natively or through QEMU binfmt_misc).
 */
import { open } from 'node:fs/promises';
import type { Arch } from '@joblet/spec';

/** ELF `e_machine` of each architecture the farm builds. */
export const ELF_MACHINE: Record<Arch, number> = { amd64: 0x3e, arm64: 0xb7 };

/** Exit status of the probe binary: proves it ran (not some fallback that exits 0). */
export const PROBE_EXIT_CODE = 42;

/** Machine code of `exit(42)` per arch (Linux syscall ABI). */
const EXIT_CODE: Record<Arch, number[]> = {
  // mov edi, 42; mov eax, 60 (exit); syscall
  amd64: [0xbf, 0x2a, 0, 0, 0, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05],
  // movz x0, #42; movz x8, #93 (exit); svc #0
  arm64: [0x40, 0x05, 0x80, 0xd2, 0xa8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4],
};

/** A minimal static ELF64 executable of `arch` that exits with {@link PROBE_EXIT_CODE}. */
export function probeElf(arch: Arch): Buffer {
  const code = Buffer.from(EXIT_CODE[arch]);
  const base = 0x400000n;
  const headers = 64 + 56;
  const size = BigInt(headers + code.length);
  const b = Buffer.alloc(headers + code.length);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0); // ELFCLASS64, LSB, v1, SYSV
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(ELF_MACHINE[arch], 18);
  b.writeUInt32LE(1, 20); // EV_CURRENT
  b.writeBigUInt64LE(base + BigInt(headers), 24); // e_entry
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(5, 68); // PF_R | PF_X
  b.writeBigUInt64LE(0n, 72); // p_offset
  b.writeBigUInt64LE(base, 80); // p_vaddr
  b.writeBigUInt64LE(base, 88); // p_paddr
  b.writeBigUInt64LE(size, 96); // p_filesz
  b.writeBigUInt64LE(size, 104); // p_memsz
  b.writeBigUInt64LE(0x1000n, 112); // p_align
  code.copy(b, headers);
  return b;
}

/** `e_machine` of an ELF file's header, or undefined when `header` is not ELF. */
export function elfMachine(header: Buffer): number | undefined {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
}

/** `e_machine` of the ELF file at `path` (following symlinks), or undefined when not ELF. */
export async function readElfMachine(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(64), 0, 64, 0);
    return elfMachine(buffer.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
