/**
 * `tmaml eval <run> [--checkpoint it|latest] [--tasks N | --task '<json>'] [--inner-steps K]
 *                   [--episodes E] [--seed S] [--record] [--json]`: a thin shell over `evaluateRun`
 * (src/pipelines/evaluateRun.ts); writes <run>/eval.json.
 */
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { parseJson } from '../base/json.js'
import { type Evaluation, evaluateRun } from '../pipelines/evaluateRun.js'
import { writeAtomic } from '../pipelines/runDir.js'
import { all, flagOptions, intFlag, parseFlagsWithPositionals, usageError } from './flags.js'

const help = `usage: tmaml eval <run folder> [options]

Adapts the run's saved meta-policy to tasks with 1..K inner steps, as training adapts (the run's
estimator, control variate and inner step size), and reports the return before adaptation and after
each step: mean ± std over all episodes, and per task. Writes <run>/eval.json.

options:
  --checkpoint IT     latest (default: checkpoint.json) or an iteration (a snapshot, snapshots/it-*.json)
  --tasks N           held-out tasks drawn from the run's evaluation stream (default: the run's evalTasks)
  --task JSON         one given task instead, e.g. '{"direction":-1}' (tmaml envs list shows the fields);
                      may be repeated
  --inner-steps K     inner steps, 1 to 10 (default: the run's innerSteps)
  --episodes E        episodes per task and step (default: the run's rolloutsPerTask)
  --seed S            seed of the evaluation's random streams (default: the run's seed + 1)
  --workers N         sampler threads (default 0: this thread)
  --record            also record the episodes' positions per frame: <run>/recordings/*.json
                      (the Recording format 'tmaml view' replays)
  --json              print eval.json on stdout

Exit code: 0 done, 1 the evaluation failed (the message says why), 2 bad usage.`

const table = (ev: Evaluation): string =>
  [
    `inner step  return (mean ± std over ${ev.steps[0]?.perTask.length ?? 0} task(s) x ${ev.episodes} episodes)  per task`,
    ...ev.steps.map(
      (s) =>
        `${String(s.innerStep).padStart(10)}  ${`${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}`.padEnd(44)}  ${s.perTask.map((t) => t.mean.toFixed(1)).join(' ')}`
    )
  ].join('\n')

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseFlagsWithPositionals(
    argv,
    {
      ...flagOptions('checkpoint tasks inner-steps episodes seed workers', 'record json'),
      task: { type: 'string', multiple: true }
    },
    help
  )
  if (E.isLeft(parsed)) return parsed.left
  const { values, positionals } = parsed.right
  if (positionals.length !== 1) return usageError('tmaml eval: give one run folder', help)
  const runDir = positionals[0]
  const read = all({
    tasks: values['tasks'] === undefined ? E.right(undefined) : intFlag('tasks', values['tasks'], 1, 1, 10_000),
    innerSteps:
      values['inner-steps'] === undefined
        ? E.right(undefined)
        : intFlag('inner-steps', values['inner-steps'], 1, 1, 10),
    episodes:
      values['episodes'] === undefined ? E.right(undefined) : intFlag('episodes', values['episodes'], 1, 1, 10_000),
    seed: values['seed'] === undefined ? E.right(undefined) : intFlag('seed', values['seed'], 0, 0),
    workers: intFlag('workers', values['workers'], 0, 0, 256),
    checkpoint:
      values['checkpoint'] === undefined || values['checkpoint'] === 'latest'
        ? E.right<string, number | 'latest'>('latest')
        : intFlag('checkpoint', values['checkpoint'], 0, 0)
  })
  if (E.isLeft(read))
    return usageError(read.left.replace('expected an integer', "expected 'latest' or an integer"), help)
  const taskTexts = (values['task'] as ReadonlyArray<string> | undefined) ?? []
  if (taskTexts.length > 0 && values['tasks'] !== undefined)
    return usageError('tmaml eval: give --tasks or --task, not both', help)
  const taskList: unknown[] = []
  for (const text of taskTexts) {
    const t = parseJson(text, '--task')
    if (E.isLeft(t)) return usageError(formatError(t.left), help)
    taskList.push(t.right)
  }
  const r = await evaluateRun(runDir, {
    checkpoint: read.right.checkpoint,
    ...(read.right.tasks === undefined ? {} : { tasks: read.right.tasks }),
    ...(taskList.length === 0 ? {} : { taskList }),
    ...(read.right.innerSteps === undefined ? {} : { innerSteps: read.right.innerSteps }),
    ...(read.right.episodes === undefined ? {} : { episodes: read.right.episodes }),
    ...(read.right.seed === undefined ? {} : { seed: read.right.seed }),
    workers: read.right.workers,
    record: values['record'] === true,
    onProgress: (line) => void process.stderr.write(`${line}\n`)
  })
  if (E.isLeft(r)) {
    console.error(`tmaml eval: ${formatError(r.left)}`)
    return r.left._tag === 'InvalidInput' || r.left._tag === 'DecodeError' ? 2 : 1
  }
  const file = path.join(runDir, 'eval.json')
  const w = writeAtomic(file, JSON.stringify(r.right, null, 2) + '\n')
  if (E.isLeft(w)) {
    console.error(`tmaml eval: ${formatError(w.left)}`)
    return 1
  }
  if (values['json'] === true) console.log(JSON.stringify(r.right))
  else console.log(table(r.right))
  process.stderr.write(`wrote ${file}\n`)
  return 0
}
