/**
 * Fault injection for the test suite, honoured only when TMAML_TEST_HOOKS=1: TMAML_TEST_NAN =
 * 'rollouts@k' puts a NaN into iteration k's post-update rewards (before the checks that must catch
 * it); 'gradient@k' makes iteration k's outer objective NaN. Read once, at the edge.
 */
export interface NanHook {
  readonly where: 'rollouts' | 'gradient'
  readonly iteration: number
}

export const nanHook = (env: Readonly<Record<string, string | undefined>> = process.env): NanHook | null => {
  if (env['TMAML_TEST_HOOKS'] !== '1') return null
  const m = /^(rollouts|gradient)@(\d+)$/.exec(env['TMAML_TEST_NAN'] ?? '')
  return m === null ? null : { where: m[1] as NanHook['where'], iteration: Number(m[2]) }
}
