/** `vrouter` subcommands. Each returns an exit code; none of them imports the console UI. */
import { readFileSync } from 'node:fs';
import { loadAndCheck, showConfig, showSet, loadText, LoadFailure, formatDiagnostics } from '../config/index.js';
import { Chassis } from '../../chassis/chassis.js';

const USAGE = `usage: vrouter <command> [options]
  check FILE [--chassis m5|m10|m20|m40]   commit-check a configuration file offline
  show-config FILE [--display set]        print the canonical form of a configuration file
`;

function opt(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

export async function run(argv: string[]): Promise<number> {
  const args = argv.slice();
  const cmd = args.shift();
  const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
  const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : s + '\n');
  try {
    switch (cmd) {
      case 'check': {
        const chassis = new Chassis(opt(args, '--chassis') ?? 'm10');
        const file = args[0];
        if (!file) { err(USAGE); return 2; }
        const r = loadAndCheck(readFileSync(file, 'utf8'), { file, chassis });
        if (!r.ok) { out(r.output); return 1; }
        if (r.warnings.length) out(formatDiagnostics(r.warnings));
        out('configuration check succeeds');
        return 0;
      }
      case 'show-config': {
        const display = opt(args, '--display');
        const file = args[0];
        if (!file) { err(USAGE); return 2; }
        try {
          const tree = loadText(readFileSync(file, 'utf8'), { file });
          out(display === 'set' ? showSet(tree) : showConfig(tree));
          return 0;
        } catch (e) {
          if (e instanceof LoadFailure) { out(e.message); return 1; }
          throw e;
        }
      }
      case undefined: case 'help': case '--help': case '-h':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        err(`vrouter: unknown command '${cmd}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    err(`vrouter: ${(e as Error).message}`);
    return 1;
  }
}
