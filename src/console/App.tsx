/**
 * The console's layout: scrollback (printed once, never redrawn: Ink's <Static>), the streaming
 * partial line, the [edit] banner and prompt (or the pager's ---(more)---, or the exit question),
 * and a status line with every router's tunnels and packet rates. Layout only: all behaviour is in
 * ConsoleSession; keys are forwarded to it.
 */
import React, { useEffect, useReducer } from 'react';
import { Box, Static, Text, useInput, useStdout } from 'ink';
import type { ConsoleSession, RouterLine } from './session.js';

function useSession(s: ConsoleSession): void {
  const [, bump] = useReducer((x: number) => x + 1, 0);
  useEffect(() => { s.on('change', bump); return () => { s.off('change', bump); }; }, [s]);
}

export function statusText(s: ConsoleSession, width: number): string {
  const parts = [...s.links.keys()].map(name => {
    const st: RouterLine | undefined = s.status.get(name);
    const mark = name === s.routerName ? '*' : ' ';
    if (!st) return `${mark}${name}: ...`;
    if (!st.reachable) return `${mark}${name}: not reachable`;
    return `${mark}${name}: tunnels ${st.up}/${st.total} up, in ${st.rxPps} pps, out ${st.txPps} pps`;
  });
  const line = parts.join(' |');
  return line.length > width ? line.slice(0, Math.max(0, width - 1)) + '>' : line;
}

/** The line being typed, with the cursor shown as an inverse cell. */
function Line({ text, cursor }: { text: string; cursor: number }): React.ReactElement {
  return <>{text.slice(0, cursor)}<Text inverse>{text[cursor] ?? ' '}</Text>{text.slice(cursor + 1)}</>;
}

export function App({ session }: { session: ConsoleSession }): React.ReactElement {
  useSession(session);
  const { stdout } = useStdout();
  const width = stdout?.columns ?? 80;
  useInput((input, key) => {
    if (key.ctrl && input === 'c') session.interrupt();
    else if (key.ctrl && input === 'd') session.eof();
    else if (key.return) session.enter();
    else if (key.tab) void session.tab();
    else if (key.upArrow) session.historyUp();
    else if (key.downArrow) session.historyDown();
    else if (key.backspace || key.delete) session.backspace();
    else if (key.leftArrow) session.left();
    else if (key.rightArrow) session.right();
    else if (key.ctrl && input.length === 1) session.type(String.fromCharCode(input.toLowerCase().charCodeAt(0) - 96));
    else if (key.escape || key.meta) { /* not used */ }
    else if (input) session.type(input);
  });
  const items = session.lines.map((text, i) => ({ text, i }));
  return (
    <Box flexDirection="column">
      <Static items={items}>{item => <Text key={item.i}>{item.text === '' ? ' ' : item.text}</Text>}</Static>
      {session.partial ? <Text>{session.partial}</Text> : null}
      {session.pager.length ? <Text inverse>---(more)---</Text>
        : session.confirm !== undefined ? <Text>{session.confirm}<Line text={session.input} cursor={session.cursor} /></Text>
        : session.running ? null
        : <>
            {session.banner ? <Text>{session.banner}</Text> : null}
            <Text>{session.prompt}{session.secretPrompt ? null : <Line text={session.input} cursor={session.cursor} />}</Text>
          </>}
      <Text dimColor wrap="truncate">{statusText(session, width)}</Text>
    </Box>
  );
}
