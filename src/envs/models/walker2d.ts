/**
 * Walker2d, authored for tmaml-ts from the published facts of the Gym v2/v3-era robot: a planar biped
 * (root slide x, slide z with reference 1.25 so that `qpos[1]` is the torso height, hinge y), two legs of
 * thigh (0.45 m, radius 0.05), leg (0.5 m, radius 0.04) and foot (0.2 m, radius 0.06) capsules with hinge
 * ranges -150..0, -150..0 and -45..45 deg, density 1000, joint armature 0.01 and damping 0.1, six motors
 * with gear 100 and control range [-1, 1], friction 0.9 (left foot 1.9), RK4 with a 0.002 s timestep and
 * frame skip 4 (0.008 s per env step).
 *
 * The original file uses global coordinates, which MuJoCo 3 no longer reads; this one is written in
 * local coordinates with the same geometry (joint and geom positions are identical in the world frame).
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`) so that the body masses equal the
 * published robot's.
 *
 * @packageDocumentation
 */
import { capsule } from './legacyMass.js'
import { geared, mujocoXml, planarRoot } from './mjcf.js'

const leg = (side: string, footFriction: string): string => `
      <body name="thigh${side}" pos="0 0 -0.2">
        <joint name="thigh${side}_joint" type="hinge" axis="0 -1 0" pos="0 0 0" range="-150 0"/>
        <geom name="thigh${side}_geom" type="capsule" ${capsule([0, 0, 0, 0, 0, -0.45], 0.05, 1000)} friction="0.9"/>
        <body name="leg${side}" pos="0 0 -0.45">
          <joint name="leg${side}_joint" type="hinge" axis="0 -1 0" pos="0 0 0" range="-150 0"/>
          <geom name="leg${side}_geom" type="capsule" ${capsule([0, 0, 0, 0, 0, -0.5], 0.04, 1000)} friction="0.9"/>
          <body name="foot${side}" pos="0 0 -0.5">
            <joint name="foot${side}_joint" type="hinge" axis="0 -1 0" pos="0 0 0" range="-45 45"/>
            <geom name="foot${side}_geom" type="capsule" ${capsule([0, 0, 0, 0.2, 0, 0], 0.06, 1000)} friction="${footFriction}"/>
          </body>
        </body>
      </body>`

/** The MJCF text. `nq = 9`, `nv = 9`, `nu = 6`. */
export const walker2dXml = mujocoXml({
  model: 'walker2d',
  compiler: 'angle="degree" inertiafromgeom="true"',
  memory: '64K',
  option: '<option integrator="RK4" timestep="0.002"/>',
  defaults: [
    'joint armature="0.01" damping=".1" limited="true"',
    'geom conaffinity="0" condim="3" contype="1" density="1000" friction=".7 .1 .1"',
    'motor ctrllimited="true" ctrlrange="-1 1"'
  ],
  floor: 'conaffinity="1" condim="3" pos="0 0 0" size="40 40 40"',
  torso: `    <body name="torso" pos="0 0 1.25">
${planarRoot('      ', '1.25')}
      <geom name="torso_geom" type="capsule" ${capsule([0, 0, 0.2, 0, 0, -0.2], 0.05, 1000)} friction="0.9"/>${leg('', '0.9')}${leg('_left', '1.9')}
    </body>`,
  motors: geared(100, [
    'thigh_joint',
    'leg_joint',
    'foot_joint',
    'thigh_left_joint',
    'leg_left_joint',
    'foot_left_joint'
  ])
})
