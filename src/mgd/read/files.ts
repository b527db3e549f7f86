/**
 * The read models of the router's disk and logs: `file list PATH [detail]` (`<file-list>`), `file
 * show FILE` (`<file-show>`) and `show log FILE` (`<get-log>`). The CLI's text and the XML API's
 * reply render these values; a private key is listed (owner-only) but never shown.
 */
import type { Router } from '../../router/router.js';
import type { FileEntry } from '../../router/files.js';
import { IKECERT } from '../../router/files.js';
import { showFile } from '../../pki/certs.js';

export interface DirectoryList { error?: string; dir: string; files: FileEntry[] }
export interface FileText { error?: string; name: string; text: string }

export function readDirectory(r: Router, path = IKECERT): DirectoryList {
  try {
    const dir = r.files.resolve(path);
    return { dir, files: r.files.list(dir) };
  } catch (e) { return { error: (e as Error).message, dir: path, files: [] }; }
}

/** A file's text (a private key is refused: the error says so). */
export function readFileText(r: Router, name: string): FileText {
  try { return { name, text: showFile(r.files, name) }; } catch (e) { return { error: (e as Error).message, name, text: '' }; }
}

/** A log file's lines as text. */
export function readLog(r: Router, name: string): FileText {
  const lines = r.log.read(name);
  if (!lines) return { error: `could not resolve file: ${name}`, name, text: '' };
  return { name, text: lines.map(x => x + '\n').join('') };
}
