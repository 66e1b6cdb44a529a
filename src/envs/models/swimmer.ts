/**
 * Swimmer, authored for tmaml-ts from the published facts of the Gym v2/v3-era robot: three capsules
 * (1 m long, radius 0.1, density 1000) in a plane, root slide x, slide y and hinge z, two hinges of
 * range -100..100 deg with armature 0.1, two motors with gear 150 and control range [-1, 1], a viscous
 * medium (density 4000, viscosity 0.1), RK4 with a 0.01 s timestep and frame skip 4 (0.04 s per step).
 *
 * The original disables collisions with `option collision="predefined"` (an attribute MuJoCo 3 no
 * longer has) and no predefined pairs; `<flag contact="disable"/>` has the same effect here.
 *
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`): 34.5575 kg per segment, as in
 * the published robot.
 *
 * Capsule masses follow MuJoCo 1.5's volume rule (see `legacyMass.ts`) so that the body masses equal the
 * published robot's (34.5575 kg per segment).
 *
 * @packageDocumentation
 */
import { capsule } from './legacyMass.js'
import { geared, mujocoXml } from './mjcf.js'

/** The MJCF text. `nq = 5`, `nv = 5`, `nu = 2`. */
export const swimmerXml = mujocoXml({
  model: 'swimmer',
  compiler: 'angle="degree" inertiafromgeom="true"',
  memory: '32K',
  option: `<option density="4000" integrator="RK4" timestep="0.01" viscosity="0.1">
    <flag contact="disable"/>
  </option>`,
  defaults: [
    'geom conaffinity="1" condim="1" contype="1"',
    'joint armature="0.1"',
    'motor ctrllimited="true" ctrlrange="-1 1"'
  ],
  floor: 'conaffinity="1" condim="3" pos="0 0 -0.1" size="40 40 0.1"',
  torso: `    <body name="torso" pos="0 0 0">
      <joint name="slider1" type="slide" axis="1 0 0" pos="0 0 0"/>
      <joint name="slider2" type="slide" axis="0 1 0" pos="0 0 0"/>
      <joint name="free_body_rot" type="hinge" axis="0 0 1" pos="0 0 0"/>
      <geom name="frontbody" type="capsule" ${capsule([1.5, 0, 0, 0.5, 0, 0], 0.1, 1000)}/>
      <body name="mid" pos="0.5 0 0">
        <joint name="motor1_rot" type="hinge" axis="0 0 1" pos="0 0 0" limited="true" range="-100 100"/>
        <geom name="midbody" type="capsule" ${capsule([0, 0, 0, -1, 0, 0], 0.1, 1000)}/>
        <body name="back" pos="-1 0 0">
          <joint name="motor2_rot" type="hinge" axis="0 0 1" pos="0 0 0" limited="true" range="-100 100"/>
          <geom name="backbody" type="capsule" ${capsule([0, 0, 0, -1, 0, 0], 0.1, 1000)}/>
        </body>
      </body>
    </body>`,
  motors: geared(150, ['motor1_rot', 'motor2_rot'])
})
