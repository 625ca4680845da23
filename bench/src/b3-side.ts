/**
 * One side of B3's export comparison (teams-bench.ts, `benchB3`): a B3 scenario in its own
 * process, with the OTLP export on when argv[2]'s JSON names an `endpoint`, off otherwise. One
 * export for all passes, as a daemon keeps one.
 *
 * Over IPC: `ready` once set up; on `pass` it runs the scenario once and reports the pass (its
 * spans sent before the pass's CPU is read); on `stop` it shuts the export down and exits.
 */
import { b3Pass, b3Scenario, type B3ScenarioName, otelExport } from './teams-bench.ts';

const { scenario: name, endpoint } = JSON.parse(process.argv[2]!) as { scenario: B3ScenarioName; endpoint?: string };
const scenario = b3Scenario(name);
const exp = endpoint ? await otelExport(endpoint, scenario.settings) : undefined;
process.on('message', (message) => {
  if (message === 'pass') void b3Pass(scenario, exp?.observers ?? [], exp?.flushTraces).then((pass) => process.send!(pass));
  else if (message === 'stop') void (exp?.stop() ?? Promise.resolve()).then(() => process.exit(0));
});
process.send!('ready');
