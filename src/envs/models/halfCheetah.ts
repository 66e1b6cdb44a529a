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
import { actuators } from './mjcf.js'

import { capsule, legacyCapsuleMass } from './legacyMass.js'

const r = 0.046

/** A capsule placed by `pos` and `axisangle`, of half-length `half`, with its legacy mass (density 1000). */
const limb = (pos: string, axisangle: string, half: number): string =>
  `pos="${pos}" axisangle="${axisangle}" size="${r} ${half}" mass="${legacyCapsuleMass(r, 2 * half, 1000).toPrecision(10)}"`

/** The MJCF text. `nq = 9`, `nv = 9`, `nu = 6`; body masses (kg) 6.3603, 1.5352, 1.5809, 1.0692, 1.4256, 1.1789, 0.8499. */
export const halfCheetahXml = `<mujoco model="halfcheetah">
  <compiler angle="radian" inertiafromgeom="true" settotalmass="14"/>
  <size memory="64K"/>
  <option gravity="0 0 -9.81" timestep="0.01"/>
  <default>
    <joint armature=".1" damping=".01" limited="true" solimplimit="0 .8 .03" solreflimit=".02 1" stiffness="8"/>
    <geom conaffinity="0" condim="3" contype="1" friction=".4 .1 .1" solimp="0.0 0.8 0.01" solref="0.02 1"/>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" conaffinity="1" condim="3" pos="0 0 0" size="40 40 40"/>
    <body name="torso" pos="0 0 .7">
      <joint name="rootx" type="slide" axis="1 0 0" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" pos="0 0 0" armature="0" damping="0" limited="false" stiffness="0"/>
      <geom name="torso" type="capsule" ${capsule([-0.5, 0, 0, 0.5, 0, 0], r, 1000)}/>
      <geom name="head" type="capsule" ${limb('.6 0 .1', '0 1 0 .87', 0.15)}/>
      <body name="bthigh" pos="-.5 0 0">
        <joint name="bthigh" type="hinge" axis="0 1 0" pos="0 0 0" range="-.52 1.05" stiffness="240" damping="6"/>
        <geom name="bthigh" type="capsule" ${limb('.1 0 -.13', '0 1 0 -3.8', 0.145)}/>
        <body name="bshin" pos=".16 0 -.25">
          <joint name="bshin" type="hinge" axis="0 1 0" pos="0 0 0" range="-.785 .785" stiffness="180" damping="4.5"/>
          <geom name="bshin" type="capsule" ${limb('-.14 0 -.07', '0 1 0 -2.03', 0.15)}/>
          <body name="bfoot" pos="-.28 0 -.14">
            <joint name="bfoot" type="hinge" axis="0 1 0" pos="0 0 0" range="-.4 .785" stiffness="120" damping="3"/>
            <geom name="bfoot" type="capsule" ${limb('.03 0 -.097', '0 1 0 -.27', 0.094)}/>
          </body>
        </body>
      </body>
      <body name="fthigh" pos=".5 0 0">
        <joint name="fthigh" type="hinge" axis="0 1 0" pos="0 0 0" range="-1 .7" stiffness="180" damping="4.5"/>
        <geom name="fthigh" type="capsule" ${limb('-.07 0 -.12', '0 1 0 .52', 0.133)}/>
        <body name="fshin" pos="-.14 0 -.24">
          <joint name="fshin" type="hinge" axis="0 1 0" pos="0 0 0" range="-1.2 .87" stiffness="120" damping="3"/>
          <geom name="fshin" type="capsule" ${limb('.065 0 -.09', '0 1 0 -.6', 0.106)}/>
          <body name="ffoot" pos=".13 0 -.18">
            <joint name="ffoot" type="hinge" axis="0 1 0" pos="0 0 0" range="-.5 .5" stiffness="60" damping="1.5"/>
            <geom name="ffoot" type="capsule" ${limb('.045 0 -.07', '0 1 0 -.6', 0.07)}/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
${actuators([
  ['bthigh', 120],
  ['bshin', 90],
  ['bfoot', 60],
  ['fthigh', 120],
  ['fshin', 60],
  ['ffoot', 30]
])}
</mujoco>
`
