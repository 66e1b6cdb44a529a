/**
 * `tmaml doctor [--json] [--backend name]`: what this installation is and whether its derivatives
 * are right. Exit code 0 when every self-check passes, 1 when one fails, 2 on bad flags.
 */
import * as os from 'node:os'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { startBackend } from '../graph/backend.js'
import { runSelfCheck } from '../graph/selfCheck.js'
import { nativeStatus } from '../native/index.js'
import { parseFlags } from './flags.js'
import { backendChoices, backendDefault, controlVariateChoices } from './helpText.js'

const help = `usage: tmaml doctor [--json] [--backend B]

  --backend B   ${backendChoices}
                (${backendDefault})

Reports Node, the tfjs backend in use, and checks 1st-3rd derivatives of tanh, exp, log, the DiCE
magic box and a MAML meta-gradient against finite differences on that backend.
Exit code: 0 all checks pass, 1 a check failed, 2 bad usage.`

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const flags = parseFlags(argv, { json: { type: 'boolean' }, backend: { type: 'string' } }, help)
  if (E.isLeft(flags)) return flags.left
  const { json, backend } = flags.right
  const info = await startBackend(backend as string | undefined, process.env)
  if (E.isLeft(info)) {
    const msg = formatError(info.left)
    if (json === true)
      console.log(JSON.stringify({ node: process.version, backend: null, higherOrderOk: false, error: msg }))
    else console.error(`tmaml doctor: ${msg}`)
    return 1
  }
  const checks = runSelfCheck()
  const higherOrderOk = checks.every((c) => c.ok)
  const report = {
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    cpus: os.cpus().length,
    backend: info.right.active,
    backendRequested: info.right.requested,
    backendNotes: info.right.notes,
    native: nativeStatus(),
    higherOrderOk,
    checks
  }
  if (json === true) {
    console.log(JSON.stringify(report, null, 2))
  } else {
    console.log(`node      ${report.node} (${report.platform}, ${report.cpus} cpus)`)
    console.log(
      `backend   ${report.backend}${report.backendNotes.length > 0 ? ` (${report.backendNotes.join(', ')})` : ''}`
    )
    const n = report.native
    const gemm = n.gemm !== undefined ? `gemm ${n.gemm}: ${n.blas ?? '?'}` : undefined
    console.log(
      `native    ${n.active ? `active (${gemm ?? '?'})` : `inactive${n.reason !== undefined ? ` (${n.reason})` : ''}`}`
    )
    console.log('self-check (autodiff vs finite differences):')
    for (const c of checks)
      console.log(
        `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(20)} order ${c.order}  autodiff ${c.autodiff.toPrecision(6).padStart(12)}  reference ${c.reference.toPrecision(6).padStart(12)}`
      )
    console.log(higherOrderOk ? 'higher-order derivatives: ok' : 'higher-order derivatives: FAILED')
  }
  return higherOrderOk ? 0 : 1
}
