/**
 * Kernels that tmaml-ts adds to tfjs. tfjs has no stop-gradient primitive; ours is a kernel whose
 * forward pass is the backend's own Identity and whose gradient is zero, so it is one tape node and
 * composes at every order.
 */
export const StopGradient = 'StopGradient'
