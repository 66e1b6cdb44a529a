/**
 * `tmaml train --redis URL`: the distributed sampler for a run, its keys named by the run folder.
 */
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type { TmamlError } from '../base/errors.js'
import { parseRedisTarget } from '../distributed/connection.js'
import { describeDistributedEvent, makeRedisSampler } from '../distributed/redisSampler.js'
import type { Sampler, SamplerEvent } from '../pipelines/sampler/types.js'

/**
 * A sampler on the Redis server at `url` for the run in `runDir`; `report` gets a line per event worth
 * telling (`describe` words the events the local sampler has too).
 */
export const startRedisSampler = async (
  url: string,
  runDir: string,
  report: (line: string | null) => void,
  describe: (e: SamplerEvent) => string | null
): Promise<E.Either<TmamlError, Sampler>> => {
  const target = parseRedisTarget(url)
  if (E.isLeft(target)) return target
  const run =
    path
      .basename(path.resolve(runDir))
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[^A-Za-z0-9]+/, '') || 'run'
  return makeRedisSampler({
    target: target.right,
    run: run.slice(0, 100),
    onEvent: (e) => report(describeDistributedEvent(e, describe))
  })
}
