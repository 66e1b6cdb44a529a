/**
 * Humanoid, authored for tmaml-ts from the published facts of the Gym v2/v3-era robot: a torso (upper
 * torso capsule, head sphere, upper-waist capsule) on a free joint 1.4 m up, lower waist (abdomen z and y
 * hinges), pelvis (abdomen x hinge), two legs (hip x/z/y, knee, foot sphere) and two arms (two shoulder
 * hinges, elbow, hand sphere): 14 bodies, 17 hinges, 17 motors with the robot's gears (100 for the
 * abdomen and hips x/z, 300 hip y, 200 knee, 25 arms) and control range [-0.4, 0.4], per-joint armature,
 * stiffness, damping and ranges as in that robot, all geoms colliding (condim 1, margin 0.001) with a
 * floor of friction 1, PGS solver with 50 iterations, RK4 with a 0.003 s timestep and frame skip 5.
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`) so that the body masses equal the
 * published robot's (torso 8.3221 kg, total 39.6 kg).
 *
 * The two fixed tendons of the original (hip-knee couplings) carry no stiffness, limit or actuator and
 * so have no effect on the dynamics; they are left out.
 *
 * @packageDocumentation
 */

import { capsule } from './legacyMass.js'
import { mujocoXml } from './mjcf.js'

/** A hinge with the robot's defaults overridden where the original overrides them. */
const hinge = (name: string, axis: string, range: string, extra: string, pos = '0 0 0'): string =>
  `<joint name="${name}" type="hinge" axis="${axis}" pos="${pos}" range="${range}" ${extra}/>`

const legXml = (side: 'right' | 'left', s: 1 | -1): string => {
  // The left leg mirrors the right one in y; its hip x and z axes are negated so that positive controls
  // mean the same motion on both sides.
  const ax = s === 1 ? '1 0 0' : '-1 0 0'
  const az = s === 1 ? '0 0 1' : '0 0 -1'
  return `
        <body name="${side}_thigh" pos="0 ${-0.1 * s} -0.04">
          ${hinge(`${side}_hip_x`, ax, '-25 5', 'armature="0.01" damping="5" stiffness="10"')}
          ${hinge(`${side}_hip_z`, az, '-60 35', 'armature="0.01" damping="5" stiffness="10"')}
          ${hinge(`${side}_hip_y`, '0 1 0', '-110 20', 'armature="0.008" damping="5" stiffness="20"')}
          <geom name="${side}_thigh1" type="capsule" ${capsule([0, 0, 0, 0, 0.01 * s, -0.34], 0.06, 1000)}/>
          <body name="${side}_shin" pos="0 ${0.01 * s} -0.403">
            ${hinge(`${side}_knee`, '0 -1 0', '-160 -2', 'armature="0.006"', '0 0 .02')}
            <geom name="${side}_shin1" type="capsule" ${capsule([0, 0, 0, 0, 0, -0.3], 0.049, 1000)}/>
            <body name="${side}_foot" pos="0 0 -0.45">
              <geom name="${side}_foot" type="sphere" pos="0 0 0.1" size="0.075"/>
            </body>
          </body>
        </body>`
}

const armXml = (side: 'right' | 'left', s: 1 | -1): string => {
  const sh1 = s === 1 ? '2 1 1' : '2 -1 1'
  const sh2 = s === 1 ? '0 -1 1' : '0 1 1'
  const elbow = s === 1 ? '0 -1 1' : '0 -1 -1'
  const range = s === 1 ? '-85 60' : '-60 85'
  const y = -s
  return `
      <body name="${side}_upper_arm" pos="0 ${0.17 * y} 0.06">
        ${hinge(`${side}_shoulder1`, sh1, range, 'armature="0.0068" stiffness="1"')}
        ${hinge(`${side}_shoulder2`, sh2, range, 'armature="0.0051" stiffness="1"')}
        <geom name="${side}_uarm1" type="capsule" ${capsule([0, 0, 0, 0.16, 0.16 * y, -0.16], 0.04, 1000)}/>
        <body name="${side}_lower_arm" pos=".18 ${0.18 * y} -.18">
          ${hinge(`${side}_elbow`, elbow, '-90 50', 'armature="0.0028" stiffness="0"')}
          <geom name="${side}_larm" type="capsule" ${capsule([0.01, -0.01 * y, 0.01, 0.17, -0.17 * y, 0.17], 0.031, 1000)}/>
          <geom name="${side}_hand" type="sphere" pos=".18 ${-0.18 * y} .18" size="0.04"/>
        </body>
      </body>`
}

/** The MJCF text. `nq = 24`, `nv = 23`, `nu = 17`, `nbody = 14`. */
export const humanoidXml = mujocoXml({
  model: 'humanoid',
  compiler: 'angle="degree" inertiafromgeom="true"',
  memory: '1M',
  option: '<option integrator="RK4" iterations="50" solver="PGS" timestep="0.003"/>',
  defaults: [
    'joint armature="1" damping="1" limited="true"',
    'geom conaffinity="1" condim="1" contype="1" margin="0.001"',
    'motor ctrllimited="true" ctrlrange="-.4 .4"'
  ],
  floor: 'condim="3" friction="1 .1 .1" pos="0 0 0" size="20 20 0.125"',
  torso: `    <body name="torso" pos="0 0 1.4">
      <joint name="root" type="free" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <geom name="torso1" type="capsule" ${capsule([0, -0.07, 0, 0, 0.07, 0], 0.07, 1000)}/>
      <geom name="head" type="sphere" pos="0 0 .19" size=".09"/>
      <geom name="uwaist" type="capsule" ${capsule([-0.01, -0.06, -0.12, -0.01, 0.06, -0.12], 0.06, 1000)}/>
      <body name="lwaist" pos="-.01 0 -0.260" quat="1.000 0 -0.002 0">
        <geom name="lwaist" type="capsule" ${capsule([0, -0.06, 0, 0, 0.06, 0], 0.06, 1000)}/>
        ${hinge('abdomen_z', '0 0 1', '-45 45', 'armature="0.02" damping="5" stiffness="20"', '0 0 0.065')}
        ${hinge('abdomen_y', '0 1 0', '-75 30', 'armature="0.02" damping="5" stiffness="10"', '0 0 0.065')}
        <body name="pelvis" pos="0 0 -0.165" quat="1.000 0 -0.002 0">
          ${hinge('abdomen_x', '1 0 0', '-35 35', 'armature="0.02" damping="5" stiffness="10"', '0 0 0.1')}
          <geom name="butt" type="capsule" ${capsule([-0.02, -0.07, 0, -0.02, 0.07, 0], 0.09, 1000)}/>${legXml('right', 1)}${legXml('left', -1)}
        </body>
      </body>${armXml('right', 1)}${armXml('left', -1)}
    </body>`,
  motors: [
    ['abdomen_y', 100],
    ['abdomen_z', 100],
    ['abdomen_x', 100],
    ['right_hip_x', 100],
    ['right_hip_z', 100],
    ['right_hip_y', 300],
    ['right_knee', 200],
    ['left_hip_x', 100],
    ['left_hip_z', 100],
    ['left_hip_y', 300],
    ['left_knee', 200],
    ['right_shoulder1', 25],
    ['right_shoulder2', 25],
    ['right_elbow', 25],
    ['left_shoulder1', 25],
    ['left_shoulder2', 25],
    ['left_elbow', 25]
  ]
})
