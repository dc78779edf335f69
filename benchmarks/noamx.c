/* Run a benchmark as if the CPU had no AMX: refuses arch_prctl(ARCH_REQ_XCOMP_PERM, ...), the request Linux needs
 * before a process may use AMX tiles, so ONNX Runtime (MLAS) and PyTorch (oneDNN) fall back to AVX-512 / VNNI.
 * Everything else passes through to libc's syscall().
 *
 *   gcc -O2 -shared -fPIC -o noamx.so benchmarks/noamx.c -ldl
 *   LD_PRELOAD=$PWD/noamx.so .venv/bin/python benchmarks/bench_pipeline.py --no-warm
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#define ARCH_REQ_XCOMP_PERM 0x1023

long syscall(long number, ...) {
    va_list ap;
    long a[6];
    va_start(ap, number);
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_arch_prctl && a[0] == ARCH_REQ_XCOMP_PERM) {
        errno = EPERM;
        return -1;
    }
    static long (*real)(long, ...) = 0;
    if (!real) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
