/**
 * HalfCheetah, authored for tmaml-ts from the published facts of the Gym v2/v3-era robot: a planar
 * 9-DoF runner (root slide x, slide z, hinge y; thigh/shin/foot hinges on each leg), capsule radius
 * 0.046, total mass 14 kg (settotalmass), joint stiffness/damping/ranges and motor gears as in that
 * robot, timestep 0.01 s and frame skip 5 (0.05 s per env step).
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`) so that the body masses equal
 * the published robot's. The arena size also differs: `<size memory>` replaces `nstack` so that hundreds of MjData fit in one
 * wasm heap.
 *
 * @packageDocumentation
 */
import { mujocoXml, planarRoot } from './mjcf.js'

import { capsule, legacyCapsuleMass } from './legacyMass.js'

const r = 0.046

/** A capsule placed by `pos` and `axisangle`, of half-length `half`, with its legacy mass (density 1000). */
const limb = (pos: string, axisangle: string, half: number): string =>
  `pos="${pos}" axisangle="${axisangle}" size="${r} ${half}" mass="${legacyCapsuleMass(r, 2 * half, 1000).toPrecision(10)}"`

/** A leg segment: name, body position, hinge range, stiffness and damping, capsule (pos, axisangle, half-length). */
type Segment = readonly [string, string, string, number, number, readonly [string, string, number]]

/** Each segment a body nested in the previous one's, hinged about y, at `indent` and deeper. */
const chain = (indent: string, [s, ...rest]: ReadonlyArray<Segment>): string => {
  const [name, pos, range, stiffness, damping, [gpos, axisangle, half]] = s
  return [
    `${indent}<body name="${name}" pos="${pos}">`,
    `${indent}  <joint name="${name}" type="hinge" axis="0 1 0" pos="0 0 0" range="${range}" stiffness="${stiffness}" damping="${damping}"/>`,
    `${indent}  <geom name="${name}" type="capsule" ${limb(gpos, axisangle, half)}/>`,
    ...(rest.length > 0 ? [chain(`${indent}  `, rest)] : []),
    `${indent}</body>`
  ].join('\n')
}

/** The MJCF text. `nq = 9`, `nv = 9`, `nu = 6`; body masses (kg) 6.3603, 1.5352, 1.5809, 1.0692, 1.4256, 1.1789, 0.8499. */
export const halfCheetahXml = mujocoXml({
  model: 'halfcheetah',
  compiler: 'angle="radian" inertiafromgeom="true" settotalmass="14"',
  memory: '64K',
  option: '<option gravity="0 0 -9.81" timestep="0.01"/>',
  defaults: [
    'joint armature=".1" damping=".01" limited="true" solimplimit="0 .8 .03" solreflimit=".02 1" stiffness="8"',
    'geom conaffinity="0" condim="3" contype="1" friction=".4 .1 .1" solimp="0.0 0.8 0.01" solref="0.02 1"',
    'motor ctrllimited="true" ctrlrange="-1 1"'
  ],
  floor: 'conaffinity="1" condim="3" pos="0 0 0" size="40 40 40"',
  torso: `    <body name="torso" pos="0 0 .7">
${planarRoot('      ')}
      <geom name="torso" type="capsule" ${capsule([-0.5, 0, 0, 0.5, 0, 0], r, 1000)}/>
      <geom name="head" type="capsule" ${limb('.6 0 .1', '0 1 0 .87', 0.15)}/>
${chain('      ', [
  ['bthigh', '-.5 0 0', '-.52 1.05', 240, 6, ['.1 0 -.13', '0 1 0 -3.8', 0.145]],
  ['bshin', '.16 0 -.25', '-.785 .785', 180, 4.5, ['-.14 0 -.07', '0 1 0 -2.03', 0.15]],
  ['bfoot', '-.28 0 -.14', '-.4 .785', 120, 3, ['.03 0 -.097', '0 1 0 -.27', 0.094]]
])}
${chain('      ', [
  ['fthigh', '.5 0 0', '-1 .7', 180, 4.5, ['-.07 0 -.12', '0 1 0 .52', 0.133]],
  ['fshin', '-.14 0 -.24', '-1.2 .87', 120, 3, ['.065 0 -.09', '0 1 0 -.6', 0.106]],
  ['ffoot', '.13 0 -.18', '-.5 .5', 60, 1.5, ['.045 0 -.07', '0 1 0 -.6', 0.07]]
])}
    </body>`,
  motors: [
    ['bthigh', 120],
    ['bshin', 90],
    ['bfoot', 60],
    ['fthigh', 120],
    ['fshin', 60],
    ['ffoot', 30]
  ]
})
