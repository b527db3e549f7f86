/**
 * The read model of `show system commit` (`<get-commit-information>`): the commit history, newest
 * first, each commit's rollback number, time, user and client (cli, junoscript, netconf, other for
 * the startup configuration). The CLI's text and the XML API's reply render this value.
 */
import type { CommitDb } from '../commitdb.js';

export interface CommitEntry { sequence: number; date: Date; user: string; client: string }
export interface CommitHistory { commits: CommitEntry[] }

export function readCommits(db: CommitDb): CommitHistory {
  return { commits: db.commits().map((c, sequence) => ({ sequence, ...c })) };
}
