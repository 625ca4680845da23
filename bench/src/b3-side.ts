/**
 * One side of B3's export comparison (teams-bench.ts, `benchB3`): a B3 scenario in its own
 * process, with the OTLP export on when argv[2]'s JSON names an `endpoint`, off otherwise. One
 * export for all passes, as a daemon keeps one.
 *
 * Over IPC: `ready` once set up; on `pass` it runs the scenario once and reports the pass (its
 * spans sent before the pass's CPU is read); on `profile` it runs one pass under V8's sampling
 * profiler and reports its CPU and the samples in the export's code (`ExportShare`); on `stop` it shuts
 * the export down and exits.
 */
import { Session } from 'node:inspector/promises';
import { type CpuProfile, samplesOf } from './cpuprofile.ts';
import { b3Pass, b3Scenario, type B3ScenarioName, type ExportShare, otelExport } from './teams-bench.ts';

const { scenario: name, endpoint } = JSON.parse(process.argv[2]!) as { scenario: B3ScenarioName; endpoint?: string };
const scenario = b3Scenario(name);
const exp = endpoint ? await otelExport(endpoint, scenario.settings) : undefined;

/**
 * Code of the export: @tinyagi/otel's sources, the OpenTelemetry packages, their protobuf encoder,
 * and Node's HTTP client and sockets (the export is the only HTTP client of a B3 side: its runs are mock).
 */
const EXPORT_CODE = /\/packages\/otel\/|[/+]@opentelemetry[/+]|[/+]protobufjs[/+]|^node:(_http_|net$|_tls_)/;

/**
 * A pass under the profiler (1 ms samples): its CPU (user + system), the samples whose stack has a
 * frame of the export's code, and the garbage collector's (not split between export and
 * orchestrator). Sample time is wall time on the main thread: the export's code does not block,
 * so its samples are CPU, while SQLite's fsync waits would be counted too (hence CPU below).
 */
async function profiledPass(): Promise<ExportShare> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  const { cpuMs } = await b3Pass(scenario, exp?.observers ?? [], exp?.flushTraces);
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inExport = new Map<number, boolean>();
  const underExport = (id: number): boolean => {
    let known = inExport.get(id);
    if (known === undefined) {
      const parent = parents.get(id);
      known = EXPORT_CODE.test(byId.get(id)!.callFrame.url) || (parent !== undefined && underExport(parent));
      inExport.set(id, known);
    }
    return known;
  };
  let exportMs = 0;
  let gcMs = 0;
  for (const [node, ms] of samplesOf(profile)) {
    if (node.callFrame.functionName === '(garbage collector)') gcMs += ms;
    else if (underExport(node.id)) exportMs += ms;
  }
  return { cpuMs, exportMs, gcMs };
}

process.on('message', (message) => {
  if (message === 'pass') void b3Pass(scenario, exp?.observers ?? [], exp?.flushTraces).then((pass) => process.send!(pass));
  else if (message === 'profile') void profiledPass().then((share) => process.send!(share));
  else if (message === 'stop') void (exp?.stop() ?? Promise.resolve()).then(() => process.exit(0));
});
process.send!('ready');
