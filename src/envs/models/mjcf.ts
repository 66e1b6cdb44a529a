/**
 * MJCF fragments the robot models share.
 *
 * @packageDocumentation
 */

/** The `<actuator>` block: one motor per [joint, gear], named after its joint. */
export const actuators = (motors: ReadonlyArray<readonly [string, number]>): string =>
  [
    '  <actuator>',
    ...motors.map(([joint, gear]) => `    <motor name="${joint}" joint="${joint}" gear="${gear}"/>`),
    '  </actuator>'
  ].join('\n')

/** The same gear for every joint. */
export const geared = (gear: number, joints: ReadonlyArray<string>): ReadonlyArray<readonly [string, number]> =>
  joints.map((j) => [j, gear] as const)
