import { describe, expect, it } from 'vitest';
import { parseRuntimeRef, resolveRuntimeRef, type RuntimeCandidate } from './runtime-ref.js';
import { SpecError } from './spec-error.js';

describe('parseRuntimeRef', () => {
  it.each([
    ['python-3.11-ml', { kind: 'name', name: 'python-3.11-ml', version: undefined }],
    ['python-3.11-ml@1.2.3', { kind: 'name', name: 'python-3.11-ml', version: '1.2.3' }],
    ['python-3.11-ml@latest', { kind: 'name', name: 'python-3.11-ml', version: 'latest' }],
    ['tool@2.0.0-rc.1+b7', { kind: 'name', name: 'tool', version: '2.0.0-rc.1+b7' }],
    ['java:17', { kind: 'legacy', language: 'java', languageVersion: '17' }],
    ['java:21', { kind: 'legacy', language: 'java', languageVersion: '21' }],
    ['python:3.11', { kind: 'legacy', language: 'python', languageVersion: '3.11' }],
    ['node:20', { kind: 'legacy', language: 'node', languageVersion: '20' }],
  ])('%j', (ref, expected) => {
    expect(parseRuntimeRef(ref)).toEqual(expected);
  });

  it.each([
    ['', 'it is empty'],
    ['../../etc', 'must not contain ".."'],
    ['..', 'must not contain ".."'],
    ['/etc/passwd', 'is not a valid runtime name'],
    ['a/b', 'is not a valid runtime name'],
    ['Python', 'did you mean "python"?'],
    ['-rf', 'is not a valid runtime name'],
    ['name@', 'is not a semantic version (1.2.3) or "latest"'],
    ['name@1.2', 'is not a semantic version'],
    ['name@LATEST', 'is not a semantic version'],
    ['name@1.0.0@2', 'is not a semantic version'],
    ['@1.2.3', 'is not a valid runtime name'],
    ['java:', 'is not a language version'],
    [':17', 'is not a language'],
    ['java:17:1', 'is not a language version'],
    ['java:latest', 'is not a language version'],
    ['openjdk:21', 'did you mean "java:21"?'],
    ['cobol:85', '"cobol" is not a language (python, java, node, go, rust, debian)'],
    ['name with space', 'spaces or control characters'],
    ['name\n', 'spaces or control characters'],
    ['x'.repeat(300), 'too long'],
  ])('rejects %j (%s)', (ref, why) => {
    let error: unknown;
    try {
      parseRuntimeRef(ref);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toMatchObject({ name: 'SpecError', code: 'INVALID_RUNTIME_REF' });
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).toContain(
      'use name, name@1.2.3, name@latest or language:version',
    );
  });
});

describe('resolveRuntimeRef', () => {
  const index: RuntimeCandidate[] = [
    { name: 'openjdk-17', version: '1.0.0', language: 'java', languageVersion: '17' },
    { name: 'openjdk-17', version: '1.1.0', language: 'java', languageVersion: '17' },
    { name: 'openjdk-17', version: '2.0.0-rc.1', language: 'java', languageVersion: '17' },
    { name: 'openjdk-21', version: '1.0.0', language: 'java', languageVersion: '21' },
    { name: 'corp-java', version: '3.0.0', language: 'java', languageVersion: '17' },
    { name: 'python-3.11', version: '1.0.0', language: 'python', languageVersion: '3.11' },
    { name: 'python-3.13', version: '1.0.0', language: 'python', languageVersion: '3.13' },
    { name: 'beta-only', version: '0.1.0-beta.2', language: 'go', languageVersion: '1.24' },
  ];
  const pick = (ref: string) => {
    const r = resolveRuntimeRef(parseRuntimeRef(ref), index);
    return r && `${r.name}@${r.version}`;
  };

  it('resolves names to their highest release', () => {
    expect(pick('openjdk-17')).toBe('openjdk-17@1.1.0');
    expect(pick('openjdk-17@latest')).toBe('openjdk-17@1.1.0');
    expect(pick('beta-only')).toBe('beta-only@0.1.0-beta.2');
  });

  it('resolves exact versions, including pre-releases', () => {
    expect(pick('openjdk-17@1.0.0')).toBe('openjdk-17@1.0.0');
    expect(pick('openjdk-17@2.0.0-rc.1')).toBe('openjdk-17@2.0.0-rc.1');
    expect(pick('openjdk-17@9.9.9')).toBeUndefined();
    expect(pick('missing')).toBeUndefined();
  });

  it('resolves legacy references to the newest runtime with that base', () => {
    expect(pick('java:17')).toBe('corp-java@3.0.0');
    expect(pick('java:21')).toBe('openjdk-21@1.0.0');
    expect(pick('python:3')).toBe('python-3.13@1.0.0');
    expect(pick('python:3.11')).toBe('python-3.11@1.0.0');
    expect(pick('node:20')).toBeUndefined();
  });
});
