/**
 * Ant, authored for tmaml-ts from the published facts of the Gym v2/v3-era robot: a torso sphere
 * (radius 0.25) on a free joint starting 0.75 m up, four legs of three capsules (radius 0.08) with a hip
 * hinge (+-30 deg about z) and an ankle hinge (30..70 deg, signs per leg), geom density 5, joint
 * armature 1 and damping 1, eight motors with gear 150 and control range [-1, 1], RK4 with a 0.01 s
 * timestep and frame skip 5 (0.05 s per env step). Bodies: world, torso, and per leg a fixed leg body,
 * a hip body and an ankle body (14 in all, so `cfrc_ext` has 14 x 6 = 84 entries).
 *
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`) so that the body masses equal the
 * published robot's.
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`) so that the body masses equal the
 * published robot's.
 *
 * @packageDocumentation
 */
import { capsule } from './legacyMass.js'
import { geared, mujocoXml } from './mjcf.js'

const leg = (name: string, dx: number, dy: number, hip: string, ankle: string, axis: string, range: string): string => `
      <body name="${name}" pos="0 0 0">
        <geom name="${name}_aux_geom" type="capsule" ${capsule([0, 0, 0, dx * 0.2, dy * 0.2, 0], 0.08, 5)}/>
        <body name="${name}_hip" pos="${dx * 0.2} ${dy * 0.2} 0">
          <joint name="${hip}" type="hinge" axis="0 0 1" pos="0 0 0" range="-30 30"/>
          <geom name="${name}_leg_geom" type="capsule" ${capsule([0, 0, 0, dx * 0.2, dy * 0.2, 0], 0.08, 5)}/>
          <body name="${name}_foot" pos="${dx * 0.2} ${dy * 0.2} 0">
            <joint name="${ankle}" type="hinge" axis="${axis}" pos="0 0 0" range="${range}"/>
            <geom name="${name}_ankle_geom" type="capsule" ${capsule([0, 0, 0, dx * 0.4, dy * 0.4, 0], 0.08, 5)}/>
          </body>
        </body>
      </body>`

/** The MJCF text. `nq = 15`, `nv = 14`, `nu = 8`, `nbody = 14`. */
export const antXml = mujocoXml({
  model: 'ant',
  compiler: 'angle="degree" inertiafromgeom="true"',
  memory: '256K',
  option: '<option integrator="RK4" timestep="0.01"/>',
  defaults: [
    'joint armature="1" damping="1" limited="true"',
    'geom conaffinity="0" condim="3" density="5.0" friction="1 0.5 0.5" margin="0.01"',
    'motor ctrllimited="true" ctrlrange="-1 1"'
  ],
  floor: 'conaffinity="1" condim="3" pos="0 0 0" size="40 40 40"',
  torso: `    <body name="torso" pos="0 0 0.75">
      <joint name="root" type="free" pos="0 0 0" armature="0" damping="0" limited="false" margin="0.01"/>
      <geom name="torso_geom" type="sphere" pos="0 0 0" size="0.25"/>${leg('front_left_leg', 1, 1, 'hip_1', 'ankle_1', '-1 1 0', '30 70')}${leg('front_right_leg', -1, 1, 'hip_2', 'ankle_2', '1 1 0', '-70 -30')}${leg('back_leg', -1, -1, 'hip_3', 'ankle_3', '-1 1 0', '-70 -30')}${leg('right_back_leg', 1, -1, 'hip_4', 'ankle_4', '1 1 0', '30 70')}
    </body>`,
  motors: geared(150, ['hip_4', 'ankle_4', 'hip_1', 'ankle_1', 'hip_2', 'ankle_2', 'hip_3', 'ankle_3'])
})
