/**
 * Preloaded into a server under test with `NODE_OPTIONS=--import=<this file>` when the bench runs
 * with `--profile DIR` (`--cpu-prof` is not allowed in NODE_OPTIONS, and spawnServer passes no
 * execArgv). SIGUSR2 toggles the V8 CPU profiler: the load generator sends one when its
 * measurement window opens and one when it closes, so a profile covers exactly the window. Each
 * profile is written to `DIR/window-<pid>-<k>.cpuprofile`; the orchestrator renames it after the
 * run. Open it in Chrome DevTools (Performance) or speedscope.
 */
import { Session } from 'node:inspector';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let count = 0;
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 250 }));
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.start');
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `window-${process.pid}-${++count}.cpuprofile`);
      // Appears complete or not at all.
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
