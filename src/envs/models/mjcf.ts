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

/**
 * The root of a planar robot: slides along x and z and a hinge about y, free of the defaults
 * (`zRef`: the reference height of the z slide, when it is not 0).
 */
export const planarRoot = (indent: string, zRef?: string): string =>
  [
    ['rootx', 'slide', '1 0 0', ''],
    ['rootz', 'slide', '0 0 1', zRef === undefined ? '' : ` ref="${zRef}"`],
    ['rooty', 'hinge', '0 1 0', '']
  ]
    .map(
      ([name, type, axis, ref]) =>
        `${indent}<joint name="${name}" type="${type}" axis="${axis}" pos="0 0 0"${ref} armature="0" damping="0" limited="false" stiffness="0"/>`
    )
    .join('\n')

/** The parts of a robot's MJCF document that differ between robots; `mujocoXml` assembles them. */
export interface MjcfParts {
  readonly model: string
  /** Attributes of `<compiler>`. */
  readonly compiler: string
  /** The per-MjData arena, e.g. '64K' (`<size memory>`; see DESIGN.md on arena sizes). */
  readonly memory: string
  /** The `<option>` element, as written. */
  readonly option: string
  /** The element defaults, one `<default>` child each, e.g. 'joint armature="1" limited="true"'. */
  readonly defaults: ReadonlyArray<string>
  /** Attributes of the floor plane besides its name and type. */
  readonly floor: string
  /** The torso `<body>` element, indented as a child of `<worldbody>`, with everything it holds. */
  readonly torso: string
  /** The motors, one per [joint, gear]. */
  readonly motors: ReadonlyArray<readonly [string, number]>
}

/** A robot's MJCF document from its parts. */
export const mujocoXml = (m: MjcfParts): string =>
  [
    `<mujoco model="${m.model}">`,
    `  <compiler ${m.compiler}/>`,
    `  <size memory="${m.memory}"/>`,
    `  ${m.option}`,
    '  <default>',
    ...m.defaults.map((d) => `    <${d}/>`),
    '  </default>',
    '  <worldbody>',
    `    <geom name="floor" type="plane" ${m.floor}/>`,
    m.torso,
    '  </worldbody>',
    actuators(m.motors),
    '</mujoco>',
    ''
  ].join('\n')
