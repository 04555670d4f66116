/*===- ganc_rt.h - the C ABI that JIT-compiled code calls ----------------===*
 *
 * Compiled step programs call back into the runtime only through these functions. They
 * are registered with the JIT by address (codegen/Jit.cpp), never looked up by name in
 * the process, and use C types only.
 *
 *===---------------------------------------------------------------------===*/
#ifndef GANC_RT_H
#define GANC_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A kernel: computes iterations [begin, end) of its outermost loop. */
typedef void (*ganc_rt_kernel_fn)(void *ctx, int64_t begin, int64_t end);

/* Runs kernel(ctx, b, e) over a partition of [0, n), in parallel on the TBB arena:
 * ranges of at most `grain` iterations through tbb::parallel_for; inside a region
 * (Threads.h), of one or more whole chunks of `grain` for each call, or one call over
 * [0, n) on one thread. Kernels make their iterations independent, so the result does
 * not depend on the partition or the number of threads. */
void ganc_rt_parallel_for(ganc_rt_kernel_fn kernel, void *ctx, int64_t n, int64_t grain);

#ifdef __cplusplus
}
#endif

#endif /* GANC_RT_H */
