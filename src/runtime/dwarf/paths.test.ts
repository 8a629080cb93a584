import { describe, expect, it } from 'vitest';
import { cleanPath, pathIsAbs, pathJoin } from './paths.js';

describe('DWARF path handling (as Go debug/dwarf)', () => {
  it('cleans paths lexically', () => {
    expect(cleanPath('')).toBe('.');
    expect(cleanPath('./a/./b/')).toBe('a/b');
    expect(cleanPath('/a/../../b//c')).toBe('/b/c');
    expect(cleanPath('a/../..')).toBe('..');
    expect(cleanPath('/')).toBe('/');
  });

  it('joins a directory and a file name, cleaning the result', () => {
    expect(pathJoin('/fixtures', './helper.h')).toBe('/fixtures/helper.h');
    expect(pathJoin('./build', './libc/crt1.c')).toBe('build/libc/crt1.c');
    expect(pathJoin('', 'a.c')).toBe('a.c');
    expect(pathJoin('/src/x', '../y.c')).toBe('/src/y.c');
  });

  it('handles DOS drive letters without cleaning', () => {
    expect(pathJoin('C:\\src', 'a.c')).toBe('C:\\src\\a.c');
    expect(pathJoin('C:/src', 'a.c')).toBe('C:/src/a.c');
    expect(pathJoin('C:\\src', 'D:\\x\\a.c')).toBe('D:\\x\\a.c');
    expect(pathJoin('c:\\src\\', 'a.c')).toBe('c:\\src\\a.c');
  });

  it('recognises absolute UNIX, DOS and UNC paths', () => {
    expect(pathIsAbs('/a')).toBe(true);
    expect(pathIsAbs('C:\\a')).toBe(true);
    expect(pathIsAbs('\\\\host\\share\\a')).toBe(true);
    expect(pathIsAbs('a/b')).toBe(false);
    expect(pathIsAbs('C:a')).toBe(false);
    expect(pathIsAbs('')).toBe(false);
  });
});
