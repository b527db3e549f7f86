const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The router's log files (`show log FILE`): bounded, syslog-style, never holding a key in clear. */
export class RouterLog {
  private files = new Map<string, string[]>();
  constructor(private host: () => string, private max = 2000) {}
  write(file: string, proc: string, msg: string): void {
    const d = new Date();
    const mon = MONTHS[d.getUTCMonth()];   // (toLocaleString would load ICU data: 50 ms at a router's start)
    const ts = `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
    let f = this.files.get(file);
    if (!f) this.files.set(file, (f = []));
    f.push(`${ts}  ${this.host()} ${proc}: ${msg}`);
    if (f.length > this.max) f.splice(0, f.length - this.max);
  }
  read(file: string): string[] | undefined { return this.files.get(file)?.slice(); }
  names(): string[] { return [...this.files.keys()]; }
}
