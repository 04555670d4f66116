//===- FloatMode.h - the floating-point mode compiled code runs in -*- C++ -*-===//
//
// Compiled kernels run with denormal numbers flushed to zero, on input and on output
// (x86's DAZ and FTZ bits), as TensorFlow runs its CPU kernels. On Intel cores an
// arithmetic operation that meets a denormal takes a microcode assist of about a hundred
// cycles, and training makes denormals as a matter of course: Adam's first moment of a
// weight whose gradient is always zero (a border pixel of MNIST) shrinks by 0.9 a step
// and is denormal after some 800 steps, from which point the tutorial GAN's D step ran
// at half its speed. Codegen marks every function with the same mode
// ("denormal-fp-math"), so LLVM folds constants the way the hardware will compute.
//
// FlushDenormals sets the mode for its lifetime on the calling thread and then restores
// the thread's own, so code outside the kernels (the trainer, the evaluator, the host
// program) keeps IEEE arithmetic. The mode is per thread: every place that runs compiled
// code on a thread (Executable::run, each TBB chunk of ganc_rt_parallel_for) holds one.
//
//===----------------------------------------------------------------------===//
#pragma once

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define GANC_HAS_MXCSR 1
#endif

namespace ganc::rt {

class FlushDenormals {
public:
#ifdef GANC_HAS_MXCSR
  static constexpr unsigned kFlushToZero = 0x8000;     ///< FTZ: denormal results become 0
  static constexpr unsigned kDenormalsAreZero = 0x0040; ///< DAZ: denormal inputs read as 0
  FlushDenormals() : saved_(_mm_getcsr()) {
    const unsigned want = saved_ | kFlushToZero | kDenormalsAreZero;
    if (want != saved_)
      _mm_setcsr(want);
  }
  ~FlushDenormals() {
    if (_mm_getcsr() != saved_)
      _mm_setcsr(saved_);
  }

private:
  unsigned saved_;
#else
  // Other architectures keep IEEE denormals (their flush bits are not wired up yet).
  FlushDenormals() = default;
#endif
  FlushDenormals(const FlushDenormals &) = delete;
  FlushDenormals &operator=(const FlushDenormals &) = delete;
};

} // namespace ganc::rt
