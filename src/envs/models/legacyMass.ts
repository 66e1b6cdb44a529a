/**
 * Capsule masses as the Gym v2/v3-era robots had them.
 *
 * Those robots were compiled by MuJoCo 1.5, which took a capsule's volume to be pi r^2 (L + r) (L the
 * cylinder length); MuJoCo 2.2 and later use the exact pi r^2 L + 4/3 pi r^3. Compiled by a current
 * MuJoCo, the same MJCF therefore gives every capsule-built body a few per cent more mass (HalfCheetah's
 * torso 6.25 kg instead of 6.36 kg). To keep the published robots' body masses, our models state each
 * capsule's mass explicitly with this formula; MuJoCo then derives the inertia from the capsule's shape.
 * Spheres are unaffected.
 *
 * @packageDocumentation
 */

/** Mass of a capsule of radius `r` and cylinder length `length` under MuJoCo 1.5's volume formula. */
export const legacyCapsuleMass = (r: number, length: number, density: number): number =>
  density * Math.PI * r * r * (length + r)

/** Length of the segment between two 3-D points given as MJCF `fromto` numbers. */
export const fromtoLength = (fromto: ReadonlyArray<number>): number =>
  Math.hypot(fromto[3] - fromto[0], fromto[4] - fromto[1], fromto[5] - fromto[2])

/** An MJCF `mass="..."` attribute for a capsule given by `fromto`, printed with 10 significant digits. */
export const capsuleMassAttr = (fromto: ReadonlyArray<number>, r: number, density: number): string =>
  `mass="${legacyCapsuleMass(r, fromtoLength(fromto), density).toPrecision(10)}"`

/** A `fromto="..."` attribute followed by the capsule's legacy `mass` attribute. */
export const capsule = (fromto: ReadonlyArray<number>, r: number, density: number): string =>
  `fromto="${fromto.join(' ')}" size="${r}" ${capsuleMassAttr(fromto, r, density)}`
