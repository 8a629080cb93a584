/**
 * Path joining as Go's debug/dwarf does it (wazero prints what that package produces): DWARF paths
 * may be UNIX or DOS style regardless of the host, so no node:path here.
 */

/** Splits a DOS drive letter (`C:`) or UNC share (`//host/share`) off `p`. */
function splitDrive(p: string): [drive: string, rest: string] {
  if (p.length >= 2 && p[1] === ':' && /^[A-Za-z]/.test(p)) return [p.slice(0, 2), p.slice(2)];
  if (p.length > 3 && (p[0] === '\\' || p[0] === '/') && (p[1] === '\\' || p[1] === '/')) {
    const n = p.replaceAll('/', '\\');
    const slash1 = n.indexOf('\\', 2);
    if (slash1 > 2) {
      const slash2 = n.indexOf('\\', slash1 + 1);
      if (slash2 > slash1 + 1) return [p.slice(0, slash2), p.slice(slash2)];
    }
  }
  return ['', p];
}

/** Whether `p` is absolute in UNIX or DOS terms. */
export function pathIsAbs(p: string): boolean {
  const rest = splitDrive(p)[1];
  return rest.length > 0 && (rest[0] === '/' || rest[0] === '\\');
}

/** Lexical cleanup of a slash-separated path (Go's path.Clean). */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const body = out.join('/');
  if (rooted) return '/' + body;
  return body === '' ? '.' : body;
}

/** Joins a directory and a relative file name. */
export function pathJoin(dir: string, file: string): string {
  if (dir.length === 0) return file;
  const [drive, d] = splitDrive(dir);
  if (drive === '') {
    // Go's path.Join: empty elements are dropped, the result is cleaned.
    if (file === '') return cleanPath(d);
    return cleanPath(d === '' ? file : `${d}/${file}`);
  }
  const [drive2, f] = splitDrive(file);
  if (drive2 !== '' && drive.toLowerCase() !== drive2.toLowerCase()) return drive2 + f;
  let dd = d;
  if (!(dd.endsWith('/') || dd.endsWith('\\')) && dd !== '') dd += dd.startsWith('/') ? '/' : '\\';
  return drive + dd + f;
}
