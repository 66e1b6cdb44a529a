// Which GEMM the addon is built with (src/native/blasFlags.mjs, read by binding.gyp and
// scripts/build-native.mjs): OpenBLAS when its headers are found, else the built-in one;
// TMAML_NATIVE_GEMM overrides.
import { describe, expect, it } from 'vitest'
import { chooseGemm } from '../../src/native/blasFlags.mjs'

describe('blasFlags', () => {
  describe('chooseGemm', () => {
    it('picks OpenBLAS when its headers are found and nothing is set', () => {
      expect(chooseGemm(undefined, true)).toEqual({ gemm: 'openblas' })
      expect(chooseGemm('auto', true)).toEqual({ gemm: 'openblas' })
    })

    it('picks the built-in GEMM when OpenBLAS is absent', () => {
      expect(chooseGemm(undefined, false)).toEqual({ gemm: 'builtin' })
      expect(chooseGemm('', false)).toEqual({ gemm: 'builtin' })
    })

    it('follows TMAML_NATIVE_GEMM whatever is installed', () => {
      expect(chooseGemm('builtin', true)).toEqual({ gemm: 'builtin' })
      expect(chooseGemm(' Builtin ', true)).toEqual({ gemm: 'builtin' })
      expect(chooseGemm('openblas', false)).toEqual({ gemm: 'openblas' })
    })

    it('rejects another value, naming the variable and the accepted values', () => {
      const c = chooseGemm('mkl', true)
      expect(c.error).toContain('TMAML_NATIVE_GEMM=mkl')
      expect(c.error).toContain('builtin, openblas, auto')
    })
  })
})
